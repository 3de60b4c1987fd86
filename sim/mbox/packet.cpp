#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

std::uint32_t Packet::seq_len() const {
    return static_cast<std::uint32_t>(payload.size()) + (has(kSyn) ? 1u : 0u) + (has(kFin) ? 1u : 0u);
}

Packet make_packet(const HostPort& src, const HostPort& dst, std::uint8_t flags, std::uint32_t seq,
                   std::uint32_t ack, std::string payload) {
    Packet p;
    p.src = src;
    p.dst = dst;
    p.flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload = std::move(payload);
    return p;
}

std::optional<HostPort> parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    std::uint32_t port = 0;
    for (char c : text.substr(colon + 1)) {
        if (c < '0' || c > '9') return std::nullopt;
        port = port * 10 + static_cast<std::uint32_t>(c - '0');
        if (port > 65535) return std::nullopt;
    }
    auto addr = proto::parse_ip(host);
    if (!addr) return std::nullopt;
    return HostPort{*addr, static_cast<std::uint16_t>(port)};
}

std::string flags_string(std::uint8_t flags) {
    std::string s;
    if (flags & kSyn) s += 'S';
    if (flags & kFin) s += 'F';
    if (flags & kRst) s += 'R';
    if (flags & kPsh) s += 'P';
    if (flags & kAck) s += 'A';
    return s;
}

Packet make_icmp_port_unreachable(const IpAddress& from, const Packet& offending) {
    Packet k;
    k.conn = offending.conn;
    k.icmp = Icmp::PortUnreachable;
    k.src = {from, 0};
    k.dst = {offending.src.addr, 0};
    k.quoted_src = offending.src;
    k.quoted_dst = offending.dst;
    k.seq = offending.seq;
    k.window = 0;
    return k;
}

std::string describe(const Packet& p) {
    if (p.icmp == Icmp::PortUnreachable) return "ICMP port unreachable";
    if (p.has(kRst)) return "RST";
    if (p.has(kSyn)) return p.has(kAck) ? "SYN-ACK" : "SYN";
    if (p.has(kFin)) return "FIN";
    if (!p.payload.empty()) return "data";
    return "ACK";
}

bool looks_like_tls_record(std::string_view payload) {
    if (payload.size() < 2) return false;
    auto type = static_cast<unsigned char>(payload[0]);
    return type >= 20 && type <= 23 && static_cast<unsigned char>(payload[1]) == 3;
}

bool Prefix::contains(const IpAddress& a) const {
    if (a.family != addr.family) return false;
    int bits = len;
    for (std::size_t i = 0; bits > 0 && i < addr.bytes.size(); ++i, bits -= 8) {
        std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
        if ((a.bytes[i] & mask) != (addr.bytes[i] & mask)) return false;
    }
    return true;
}

std::string Prefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

}  // namespace ftpsim::mbox
