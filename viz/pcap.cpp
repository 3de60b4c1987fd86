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

// An ICMPv6 destination unreachable (type 1), code 4 (port unreachable), RFC 4443 section 3.1,
// quoting the offending segment's IPv6 header and first 8 bytes of its TCP header (ports and
// sequence number; Linux quotes as much as fits in the minimum MTU, the model keeps what the trace
// holds, as for IPv4).
void write_icmp6_frame(std::string& out, const Event& e, trace::TimeNs ts, const Ip& src, const Ip& dst,
                       const Ip& qsrc, const Ip& qdst) {
    constexpr std::size_t kIcmpLen = 8 + 40 + 8, kFrameLen = 14 + 40 + kIcmpLen;
    const auto t = ts < 0 ? 0 : static_cast<std::uint64_t>(ts);
    put32le(out, static_cast<std::uint32_t>(t / 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(t % 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(kFrameLen));
    put32le(out, static_cast<std::uint32_t>(kFrameLen));
    const auto dmac = mac_of(e.to), smac = mac_of(e.from);
    out.append(reinterpret_cast<const char*>(dmac.data()), 6);
    out.append(reinterpret_cast<const char*>(smac.data()), 6);
    put16be(out, 0x86DD);
    auto ip6_header = [&](std::size_t payload, std::uint8_t next, const Ip& a, const Ip& b) {
        put32be(out, 0x60000000u);
        put16be(out, static_cast<std::uint16_t>(payload));
        out.push_back(static_cast<char>(next));
        out.push_back(64);
        out.append(reinterpret_cast<const char*>(a.b.data()), 16);
        out.append(reinterpret_cast<const char*>(b.b.data()), 16);
    };
    ip6_header(kIcmpLen, 58, src, dst);
    const std::size_t icmp_at = out.size();
    out.push_back(1);  // destination unreachable
    out.push_back(4);  // port unreachable
    put16be(out, 0);
    put32be(out, 0);
    ip6_header(20, 6, qsrc, qdst);  // the quoted SYN: a 20-byte TCP header
    put16be(out, e.quoted_src.port);
    put16be(out, e.quoted_dst.port);
    put32be(out, e.tcp_seq);
    std::uint32_t pseudo = sum16(reinterpret_cast<const char*>(src.b.data()), 16);
    pseudo = sum16(reinterpret_cast<const char*>(dst.b.data()), 16, pseudo);
    pseudo += static_cast<std::uint32_t>(kIcmpLen) + 58;
    set16be(out, icmp_at + 2, fold(sum16(out.data() + icmp_at, kIcmpLen, pseudo)));
}

// An ICMP destination unreachable, code 3 (port), quoting the offending TCP segment's IPv4 header
// and first 8 bytes (ports and sequence number), as RFC 792 and Linux's icmp_send write it.
void write_icmp_frame(std::string& out, const Event& e, trace::TimeNs ts, IpCache& ips) {
    const Ip& src = ips.get(e.src.addr);
    const Ip& dst = ips.get(e.dst.addr);
    const Ip& qsrc = ips.get(e.quoted_src.addr);
    const Ip& qdst = ips.get(e.quoted_dst.addr);
    if (src.v6 != dst.v6 || qsrc.v6 != qdst.v6 || src.v6 != qsrc.v6)
        throw ExportError("pcap: event " + std::to_string(e.seq) + " mixes IPv4 and IPv6");
    if (src.v6) return write_icmp6_frame(out, e, ts, src, dst, qsrc, qdst);
    constexpr std::size_t kIcmpLen = 8 + 20 + 8, kIpLen = 20 + kIcmpLen, kFrameLen = 14 + kIpLen;
    const auto t = ts < 0 ? 0 : static_cast<std::uint64_t>(ts);
    put32le(out, static_cast<std::uint32_t>(t / 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(t % 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(kFrameLen));
    put32le(out, static_cast<std::uint32_t>(kFrameLen));
    const auto dmac = mac_of(e.to), smac = mac_of(e.from);
    out.append(reinterpret_cast<const char*>(dmac.data()), 6);
    out.append(reinterpret_cast<const char*>(smac.data()), 6);
    put16be(out, 0x0800);
    auto ip_header = [&](std::size_t total, std::uint16_t id, std::uint8_t proto, const Ip& a, const Ip& b) {
        const std::size_t at = out.size();
        out.push_back(0x45);
        out.push_back(proto == 1 ? static_cast<char>(0xc0) : 0);  // ICMP errors go out as internetwork control
        put16be(out, static_cast<std::uint16_t>(total));
        put16be(out, id);
        put16be(out, proto == 1 ? 0 : 0x4000);
        out.push_back(64);
        out.push_back(static_cast<char>(proto));
        put16be(out, 0);
        out.append(reinterpret_cast<const char*>(a.b.data()), 4);
        out.append(reinterpret_cast<const char*>(b.b.data()), 4);
        set16be(out, at + 10, fold(sum16(out.data() + at, 20)));
    };
    ip_header(kIpLen, static_cast<std::uint16_t>(e.packet & 0xffff), 1, src, dst);
    const std::size_t icmp_at = out.size();
    out.push_back(3);  // destination unreachable
    out.push_back(3);  // port unreachable
    put16be(out, 0);
    put32be(out, 0);
    ip_header(40, 0, 6, qsrc, qdst);  // the quoted SYN: 20 + 20 bytes long
    put16be(out, e.quoted_src.port);
    put16be(out, e.quoted_dst.port);
    put32be(out, e.tcp_seq);
    set16be(out, icmp_at + 2, fold(sum16(out.data() + icmp_at, kIcmpLen)));
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
    const std::size_t ip_hdr = src.v6 ? 40 : 20;
    const std::size_t tcp_len = 20 + plen;
    const std::size_t frame_len = 14 + ip_hdr + tcp_len;

    // Record header: seconds, nanoseconds, captured length, original length.
    const auto t = ts < 0 ? 0 : static_cast<std::uint64_t>(ts);
    put32le(out, static_cast<std::uint32_t>(t / 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(t % 1'000'000'000ull));
    put32le(out, static_cast<std::uint32_t>(frame_len));
    put32le(out, static_cast<std::uint32_t>(frame_len));

    const std::size_t start = out.size();
    const auto dmac = mac_of(e.to), smac = mac_of(e.from);
    out.append(reinterpret_cast<const char*>(dmac.data()), 6);
    out.append(reinterpret_cast<const char*>(smac.data()), 6);
    put16be(out, src.v6 ? 0x86DD : 0x0800);

    const std::size_t ip_at = out.size();
    std::uint32_t pseudo = 0;
    if (!src.v6) {
        out.push_back(0x45);
        out.push_back(0);
        put16be(out, static_cast<std::uint16_t>(ip_hdr + tcp_len));
        put16be(out, static_cast<std::uint16_t>(e.packet & 0xffff));  // IP ID: the same on every hop
        put16be(out, 0x4000);                                          // don't fragment
        out.push_back(64);
        out.push_back(6);
        put16be(out, 0);
        out.append(reinterpret_cast<const char*>(src.b.data()), 4);
        out.append(reinterpret_cast<const char*>(dst.b.data()), 4);
        set16be(out, ip_at + 10, fold(sum16(out.data() + ip_at, 20)));
        pseudo = sum16(reinterpret_cast<const char*>(src.b.data()), 4);
        pseudo = sum16(reinterpret_cast<const char*>(dst.b.data()), 4, pseudo);
        pseudo += 6 + static_cast<std::uint32_t>(tcp_len);
    } else {
        put32be(out, 0x60000000u);
        put16be(out, static_cast<std::uint16_t>(tcp_len));
        out.push_back(6);
        out.push_back(64);
        out.append(reinterpret_cast<const char*>(src.b.data()), 16);
        out.append(reinterpret_cast<const char*>(dst.b.data()), 16);
        pseudo = sum16(reinterpret_cast<const char*>(src.b.data()), 16);
        pseudo = sum16(reinterpret_cast<const char*>(dst.b.data()), 16, pseudo);
        pseudo += 6 + static_cast<std::uint32_t>(tcp_len);
    }

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
    set16be(out, tcp_at + 16, fold(sum16(out.data() + tcp_at, tcp_len, pseudo)));
    (void)start;
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
