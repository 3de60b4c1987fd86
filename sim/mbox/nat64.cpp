#include "sim/mbox/nat64.hpp"

namespace ftpsim::mbox {

namespace {
trace::Endpoint ep(const HostPort& hp) { return {hp.addr.to_string(), hp.port}; }
}  // namespace

Prefix nat64_well_known_prefix() {
    IpAddress a;
    a.family = IpAddress::Family::V6;
    a.bytes[0] = 0x00;
    a.bytes[1] = 0x64;
    a.bytes[2] = 0xff;
    a.bytes[3] = 0x9b;
    return {a, 96};
}

IpAddress nat64_synthesize(const Prefix& prefix, const IpAddress& v4) {
    IpAddress a = prefix.addr;
    for (int i = 0; i < 4; ++i) a.bytes[static_cast<std::size_t>(12 + i)] = v4.bytes[static_cast<std::size_t>(i)];
    return a;
}

std::optional<IpAddress> nat64_extract(const Prefix& prefix, const IpAddress& v6) {
    if (v6.is_v4() || prefix.addr.is_v4() || prefix.len != 96 || !prefix.contains(v6)) return std::nullopt;
    return IpAddress::v4(v6.bytes[12], v6.bytes[13], v6.bytes[14], v6.bytes[15]);
}

Nat64::Nat64(Nat64Config config) : config_(std::move(config)) {}

trace::Event Nat64::fact(trace::Fact f, const Packet& pkt) const {
    trace::Event e;
    e.kind = trace::EventKind::Middlebox;
    e.from = config_.name;
    e.fact = f;
    e.flags = flags_string(pkt.flags);
    e.payload_len = static_cast<std::uint32_t>(pkt.payload.size());
    e.src = ep(pkt.src);
    e.dst = ep(pkt.dst);
    return e;
}

// Endpoint-independent mapping (RFC 6146 3.5.1.1, REQ of RFC 4787): an IPv6 endpoint keeps its
// pool port for every destination; a new one keeps its own port number when no other endpoint
// holds it (as Linux's masquerade behind Tayga does), else takes the next free one above 1023.
std::optional<std::uint16_t> Nat64::pool_port(const HostPort& v6_src) const {
    for (const auto& s : sessions_)
        if (s.v6_src == v6_src) return s.v4_src.port;
    auto taken = [&](std::uint32_t port) {
        for (const auto& s : sessions_)
            if (s.v4_src.port == port) return true;
        return false;
    };
    if (!taken(v6_src.port)) return v6_src.port;
    for (std::uint32_t p = std::max<std::uint32_t>(1024, v6_src.port); p <= 65535; ++p)
        if (!taken(p)) return static_cast<std::uint16_t>(p);
    for (std::uint32_t p = 1024; p < v6_src.port && p <= 65535; ++p)
        if (!taken(p)) return static_cast<std::uint16_t>(p);
    return std::nullopt;
}

Verdict Nat64::process(Packet& pkt, std::vector<MiddleboxNote>& notes) {
    if (pkt.icmp != Icmp::None) return Verdict::Forward;  // ICMP is not translated (docs)
    if (!pkt.dst.addr.is_v4()) {
        const auto v4_dst = nat64_extract(config_.prefix, pkt.dst.addr);
        if (!v4_dst) return Verdict::Forward;  // plain IPv6, routed as it is
        for (const auto& s : sessions_)
            if (s.v6_src == pkt.src && s.v6_dst == pkt.dst) {
                pkt.src = s.v4_src;
                pkt.dst = s.v4_dst;
                return Verdict::Forward;
            }
        if (!pkt.is_syn_only()) {
            trace::Event e = fact(trace::Fact::Nat64Unsolicited, pkt);
            e.verdict = trace::Verdict::Dropped;
            notes.push_back(make_note(NoteKind::Nat, std::move(e)));
            return Verdict::Drop;
        }
        const auto port = pool_port(pkt.src);
        if (!port) {
            trace::Event e = fact(trace::Fact::NatPoolExhausted, pkt);
            e.verdict = trace::Verdict::Dropped;
            notes.push_back(make_note(NoteKind::Nat, std::move(e)));
            return Verdict::Drop;
        }
        Nat64Session s{next_id_++, pkt.src, pkt.dst, {config_.pool, *port}, {*v4_dst, pkt.dst.port}};
        trace::Event e = fact(trace::Fact::Nat64Session, pkt);
        e.src_after = ep(s.v4_src);
        e.dst_after = ep(s.v4_dst);
        e.entry = s.id;
        notes.push_back(make_note(NoteKind::Nat, std::move(e)));
        sessions_.push_back(s);
        pkt.src = s.v4_src;
        pkt.dst = s.v4_dst;
        return Verdict::Forward;
    }
    if (pkt.dst.addr != config_.pool) return Verdict::Forward;
    for (const auto& s : sessions_)
        if (s.v4_dst == pkt.src && s.v4_src == pkt.dst) {
            pkt.src = s.v6_dst;
            pkt.dst = s.v6_src;
            return Verdict::Forward;
        }
    // RFC 6146 3.5.2.2: no session for it: an inbound connection nobody on the IPv6 side opened.
    trace::Event e = fact(trace::Fact::Nat64Unsolicited, pkt);
    e.verdict = trace::Verdict::Dropped;
    notes.push_back(make_note(NoteKind::Nat, std::move(e)));
    return Verdict::Drop;
}

}  // namespace ftpsim::mbox
