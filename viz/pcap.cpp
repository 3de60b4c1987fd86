// The trace as a capture file: libpcap's format with nanosecond timestamps, one Ethernet frame per
// segment seen at the capture point, with the addresses it had there.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

#include "viz/export.hpp"

namespace ftpsim::viz {
namespace {

using trace::Event;

void put16be(std::string& o, std::uint16_t v) {
    o.push_back(static_cast<char>(v >> 8));
    o.push_back(static_cast<char>(v & 0xff));
}
void put32be(std::string& o, std::uint32_t v) {
    put16be(o, static_cast<std::uint16_t>(v >> 16));
    put16be(o, static_cast<std::uint16_t>(v & 0xffff));
}
void put16le(std::string& o, std::uint16_t v) {
    o.push_back(static_cast<char>(v & 0xff));
    o.push_back(static_cast<char>(v >> 8));
}
void put32le(std::string& o, std::uint32_t v) {
    put16le(o, static_cast<std::uint16_t>(v & 0xffff));
    put16le(o, static_cast<std::uint16_t>(v >> 16));
}
void set16be(std::string& o, std::size_t at, std::uint16_t v) {
    o[at] = static_cast<char>(v >> 8);
    o[at + 1] = static_cast<char>(v & 0xff);
}

// The Internet checksum's running sum over big-endian 16-bit words.
std::uint32_t sum16(const char* p, std::size_t n, std::uint32_t acc = 0) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i + 1 < n; i += 2) acc += static_cast<std::uint32_t>(b[i] << 8 | b[i + 1]);
    if (n & 1) acc += static_cast<std::uint32_t>(b[n - 1] << 8);
    return acc;
}
std::uint16_t fold(std::uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc & 0xffff);
}

struct Ip {
    bool v6 = false;
    std::array<unsigned char, 16> b{};
};

Ip parse_ip(const std::string& text) {
    Ip ip;
    if (text.find(':') != std::string::npos) {
        ip.v6 = true;
        if (inet_pton(AF_INET6, text.c_str(), ip.b.data()) != 1)
            throw ExportError("pcap: not an IPv6 address: \"" + text + "\"");
    } else if (inet_pton(AF_INET, text.c_str(), ip.b.data()) != 1) {
        throw ExportError("pcap: not an IPv4 address: \"" + text + "\"");
    }
    return ip;
}

// A locally administered MAC address derived from the node's name (FNV-1a), the same in every run.
std::array<unsigned char, 6> mac_of(const std::string& node) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : node) { h ^= c; h *= 1099511628211ull; }
    return {0x02, 0x00, static_cast<unsigned char>(h >> 24), static_cast<unsigned char>(h >> 16),
            static_cast<unsigned char>(h >> 8), static_cast<unsigned char>(h)};
}

std::uint8_t tcp_flags(const std::string& f) {
    std::uint8_t v = 0;
    for (char c : f) switch (c) {
        case 'F': v |= 0x01; break;
        case 'S': v |= 0x02; break;
        case 'R': v |= 0x04; break;
        case 'P': v |= 0x08; break;
        case 'A': v |= 0x10; break;
        case 'U': v |= 0x20; break;
        case 'E': v |= 0x40; break;
        case 'C': v |= 0x80; break;
        default: break;
        }
    return v;
}

class IpCache {
public:
    const Ip& get(const std::string& s) {
        auto it = cache_.find(s);
        if (it != cache_.end()) return it->second;
        return cache_.emplace(s, parse_ip(s)).first->second;
    }
private:
    std::unordered_map<std::string, Ip> cache_;
};

constexpr std::uint32_t kSnapLen = 262144;
constexpr std::size_t kMaxPayload = 65535 - 60 - 20;  // fits an IPv4 datagram

// IP protocol numbers: TCP, and ICMP's for each family (ICMPv6 is 58).
constexpr std::uint8_t kTcp = 6;
std::uint8_t icmp_protocol(bool v6) { return v6 ? 58 : 1; }

std::size_t ip_header_len(bool v6) { return v6 ? 40 : 20; }
std::size_t address_len(bool v6) { return v6 ? 16 : 4; }

// The record header (seconds, nanoseconds, captured and original length) and the Ethernet header
// of one frame from e.from to e.to.
void put_frame_start(std::string& out, const Event& e, trace::TimeNs ts, std::size_t frame_len, bool v6) {
    const auto t = ts < 0 ? 0 : static_cast<std::uint64_t>(ts);
    put32le(out, static_cast<std::uint32_t>(t / 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(t % 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(frame_len));
    put32le(out, static_cast<std::uint32_t>(frame_len));
    const auto dmac = mac_of(e.to), smac = mac_of(e.from);
    out.append(reinterpret_cast<const char*>(dmac.data()), 6);
    out.append(reinterpret_cast<const char*>(smac.data()), 6);
    put16be(out, v6 ? 0x86DD : 0x0800);
}

// An IPv4 or IPv6 header (the family is src's) for `payload` bytes of protocol `proto`. IPv4's
// carries `id` (the packet's, the same on every hop), don't-fragment, and its checksum; an ICMP
// error goes out as internetwork control and may be fragmented, as Linux's icmp_send writes it.
void put_ip_header(std::string& out, const Ip& src, const Ip& dst, std::uint8_t proto, std::size_t payload,
                   std::uint16_t id) {
    const std::size_t alen = address_len(src.v6);
    const std::size_t at = out.size();
    if (src.v6) {
        put32be(out, 0x60000000u);
        put16be(out, static_cast<std::uint16_t>(payload));
        out.push_back(static_cast<char>(proto));
        out.push_back(64);
    } else {
        const bool icmp = proto == icmp_protocol(false);
        out.push_back(0x45);
        out.push_back(icmp ? static_cast<char>(0xc0) : 0);
        put16be(out, static_cast<std::uint16_t>(20 + payload));
        put16be(out, id);
        put16be(out, icmp ? 0 : 0x4000);
        out.push_back(64);
        out.push_back(static_cast<char>(proto));
        put16be(out, 0);
    }
    out.append(reinterpret_cast<const char*>(src.b.data()), alen);
    out.append(reinterpret_cast<const char*>(dst.b.data()), alen);
    if (!src.v6) set16be(out, at + 10, fold(sum16(out.data() + at, 20)));
}

// The pseudo-header's part of a TCP or ICMPv6 checksum (RFC 793, RFC 8200 section 8.1).
std::uint32_t pseudo_sum(const Ip& src, const Ip& dst, std::uint8_t proto, std::size_t len) {
    const std::size_t alen = address_len(src.v6);
    std::uint32_t acc = sum16(reinterpret_cast<const char*>(src.b.data()), alen);
    acc = sum16(reinterpret_cast<const char*>(dst.b.data()), alen, acc);
    return acc + proto + static_cast<std::uint32_t>(len);
}

// An ICMP destination unreachable, port unreachable (RFC 792: type 3 code 3; RFC 4443 section
// 3.1: type 1 code 4), quoting the offending TCP segment's IP header and first 8 bytes (ports and
// sequence number), as Linux's icmp_send writes it. Linux quotes as much as fits in the minimum
// MTU over IPv6; the model keeps what the trace holds, as for IPv4. ICMPv6's checksum covers the
// pseudo-header, ICMP's does not.
void write_icmp_frame(std::string& out, const Event& e, trace::TimeNs ts, IpCache& ips) {
    const Ip& src = ips.get(e.src.addr);
    const Ip& dst = ips.get(e.dst.addr);
    const Ip& qsrc = ips.get(e.quoted_src.addr);
    const Ip& qdst = ips.get(e.quoted_dst.addr);
    if (src.v6 != dst.v6 || qsrc.v6 != qdst.v6 || src.v6 != qsrc.v6)
        throw ExportError("pcap: event " + std::to_string(e.seq) + " mixes IPv4 and IPv6");
    const bool v6 = src.v6;
    const std::size_t icmp_len = 8 + ip_header_len(v6) + 8;
    put_frame_start(out, e, ts, 14 + ip_header_len(v6) + icmp_len, v6);
    put_ip_header(out, src, dst, icmp_protocol(v6), icmp_len, static_cast<std::uint16_t>(e.packet & 0xffff));
    const std::size_t icmp_at = out.size();
    out.push_back(v6 ? 1 : 3);  // destination unreachable
    out.push_back(v6 ? 4 : 3);  // port unreachable
    put16be(out, 0);
    put32be(out, 0);
    put_ip_header(out, qsrc, qdst, kTcp, 20, 0);  // the quoted SYN: a 20-byte TCP header
    put16be(out, e.quoted_src.port);
    put16be(out, e.quoted_dst.port);
    put32be(out, e.tcp_seq);
    const std::uint32_t pseudo = v6 ? pseudo_sum(src, dst, icmp_protocol(v6), icmp_len) : 0;
    set16be(out, icmp_at + 2, fold(sum16(out.data() + icmp_at, icmp_len, pseudo)));
}

void write_frame(std::string& out, const Event& e, trace::TimeNs ts, IpCache& ips, std::string& scratch) {
    if (e.action == trace::Action::Icmp) return write_icmp_frame(out, e, ts, ips);
    const Ip& src = ips.get(e.src.addr);
    const Ip& dst = ips.get(e.dst.addr);
    if (src.v6 != dst.v6) throw ExportError("pcap: event " + std::to_string(e.seq) + " mixes IPv4 and IPv6");
    const std::string* payload = &e.payload;
    if (e.payload.empty() && e.payload_len > 0) {
        scratch.clear();
        synthesize_file_bytes(e.tcp_seq, static_cast<std::uint32_t>(std::min<std::size_t>(e.payload_len, kMaxPayload)), scratch);
        payload = &scratch;
    }
    const std::size_t plen = std::min(payload->size(), kMaxPayload);
    const std::size_t tcp_len = 20 + plen;
    put_frame_start(out, e, ts, 14 + ip_header_len(src.v6) + tcp_len, src.v6);
    put_ip_header(out, src, dst, kTcp, tcp_len, static_cast<std::uint16_t>(e.packet & 0xffff));

    const std::size_t tcp_at = out.size();
    put16be(out, e.src.port);
    put16be(out, e.dst.port);
    put32be(out, e.tcp_seq);
    put32be(out, e.tcp_ack);
    out.push_back(static_cast<char>(5 << 4));
    out.push_back(static_cast<char>(tcp_flags(e.flags)));
    put16be(out, 65535);
    put16be(out, 0);
    put16be(out, 0);
    out.append(*payload, 0, plen);
    set16be(out, tcp_at + 16, fold(sum16(out.data() + tcp_at, tcp_len, pseudo_sum(src, dst, kTcp, tcp_len))));
}

std::string pick_node(const trace::Trace& t, const std::string& given, const char* role) {
    if (!given.empty()) {
        for (const auto& n : t.nodes)
            if (n.name == given) return given;
        throw ExportError("pcap: the capture point names node \"" + given + "\", which the trace does not have");
    }
    for (const auto& n : t.nodes)
        if (n.role == role) return n.name;
    throw ExportError(std::string("pcap: the trace has no node with role \"") + role + "\" to capture at");
}

}  // namespace

void synthesize_file_bytes(std::uint32_t tcp_seq, std::uint32_t len, std::string& out) {
    static constexpr char kPattern[] = "ftpsim synthetic file data 0123456789 abcdefghijklmnopqrstuvwxyz\n";
    constexpr std::uint32_t n = sizeof kPattern - 1;
    out.reserve(out.size() + len);
    std::uint32_t k = tcp_seq % n;
    for (std::uint32_t i = 0; i < len; ++i) {
        out.push_back(kPattern[k]);
        if (++k == n) k = 0;
    }
}

std::string to_pcap(const trace::Trace& t, const PcapOptions& o) {
    struct Frame { trace::TimeNs ts; std::uint32_t event; };
    std::vector<Frame> frames;
    frames.reserve(t.events.size());
    const CapturePoint& at = o.at;
    std::string node;
    if (at.kind == CapturePoint::Kind::Link) {
        bool known = false;
        for (const auto& l : t.links) known |= (l.a == at.a && l.b == at.b) || (l.a == at.b && l.b == at.a);
        for (const auto& e : t.events)
            if (!known && e.kind == trace::EventKind::Segment)
                known |= (e.from == at.a && e.to == at.b) || (e.from == at.b && e.to == at.a);
        if (!known) throw ExportError("pcap: the trace has no link between \"" + at.a + "\" and \"" + at.b + "\"");
    } else {
        node = pick_node(t, at.a, at.kind == CapturePoint::Kind::ClientSide ? "client" : "server");
    }
    for (std::size_t i = 0; i < t.events.size(); ++i) {
        const Event& e = t.events[i];
        // A segment that never left its sender (no route: `to` empty) was on no wire.
        if (e.kind != trace::EventKind::Segment || e.to.empty()) continue;
        const auto idx = static_cast<std::uint32_t>(i);
        if (at.kind == CapturePoint::Kind::Link) {
            if ((e.from == at.a && e.to == at.b) || (e.from == at.b && e.to == at.a)) frames.push_back({e.time_ns, idx});
        } else if (e.from == node) {
            frames.push_back({e.time_ns, idx});
        } else if (e.to == node) {
            frames.push_back({e.arrive_ns, idx});  // seen on the node's interface when it arrived
        }
    }
    std::stable_sort(frames.begin(), frames.end(), [](const Frame& a, const Frame& b) { return a.ts < b.ts; });

    std::string out;
    std::size_t bytes = 24;
    for (const Frame& f : frames) {
        const Event& e = t.events[f.event];
        bytes += 16 + 14 + 40 + 20 + std::min<std::size_t>(std::max<std::size_t>(e.payload.size(), e.payload_len), kMaxPayload);
    }
    out.reserve(bytes);
    put32le(out, 0xa1b23c4du);  // nanosecond-resolution pcap
    put16le(out, 2);
    put16le(out, 4);
    put32le(out, 0);
    put32le(out, 0);
    put32le(out, kSnapLen);
    put32le(out, 1);            // LINKTYPE_ETHERNET
    IpCache ips;
    std::string scratch;
    for (const Frame& f : frames) write_frame(out, t.events[f.event], f.ts + o.epoch_ns, ips, scratch);
    return out;
}

}  // namespace ftpsim::viz
