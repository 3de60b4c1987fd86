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
    if (auto it = session_by_v6_src_.find(v6_src); it != session_by_v6_src_.end())
        return sessions_[it->second].v4_src.port;
    if (auto it = binding_by_v6_.find(v6_src); it != binding_by_v6_.end()) return bindings_[it->second].v4.port;
    auto taken = [&](std::uint32_t port) { return port_taken(port); };
    if (!taken(v6_src.port)) return v6_src.port;
    for (std::uint32_t p = std::max<std::uint32_t>(1024, v6_src.port); p <= 65535; ++p)
        if (!taken(p)) return static_cast<std::uint16_t>(p);
    for (std::uint32_t p = 1024; p < v6_src.port && p <= 65535; ++p)
        if (!taken(p)) return static_cast<std::uint16_t>(p);
    return std::nullopt;
}

// The FTP64 ALG's EPRT -> PORT: the client's endpoint gets a pool endpoint (the same address
// as its sessions, Jool's pool4_allocate_same_address) and a binding the server may connect to.
std::optional<HostPort> Nat64::bind(const HostPort& v6, std::vector<MiddleboxNote>& notes) {
    if (auto it = binding_by_v6_.find(v6); it != binding_by_v6_.end()) return bindings_[it->second].v4;
    const auto port = pool_port(v6);
    if (!port) return std::nullopt;
    Nat64Binding b{next_id_++, v6, {config_.pool, *port}};
    trace::Event e;
    e.from = config_.name;
    e.fact = trace::Fact::Nat64Binding;
    e.src = ep(b.v6);
    e.src_after = ep(b.v4);
    e.entry = b.id;
    notes.push_back(make_note(NoteKind::Nat, std::move(e)));
    add_binding(b);
    return b.v4;
}

void Nat64::add_session(const Nat64Session& s) {
    const std::size_t at = sessions_.size();
    sessions_.push_back(s);
    session_by_v6_.try_emplace({s.v6_src, s.v6_dst}, at);
    session_by_v4_.try_emplace({s.v4_dst, s.v4_src}, at);
    session_by_v6_src_.try_emplace(s.v6_src, at);
    used_[s.v4_src.port >> 6] |= std::uint64_t{1} << (s.v4_src.port & 63);
}

void Nat64::add_binding(const Nat64Binding& b) {
    const std::size_t at = bindings_.size();
    bindings_.push_back(b);
    binding_by_v6_.try_emplace(b.v6, at);
    binding_by_v4_.try_emplace(b.v4, at);
    used_[b.v4.port >> 6] |= std::uint64_t{1} << (b.v4.port & 63);
}

Ftp64Control* Nat64::control(const Nat64Session& s) {
    if (!config_.ftp_alg.enabled || s.v4_dst.port != config_.ftp_alg.port) return nullptr;
    return &controls_[s.id];
}

// A client's segment on a control connection, still with its IPv6 addresses. The ALG's replies
// go back from the synthesized server endpoint, numbered after the server's last byte as the
// client sees it, acknowledging the whole segment; the server's later bytes move up by their length.
void Nat64::outbound_alg(const Nat64Session& s, Packet& pkt, std::vector<MiddleboxNote>& notes,
                         std::vector<Packet>* answers) {
    Ftp64Control* c = control(s);
    if (!c || !c->server_seen) return;  // nothing to answer in the server's name before it spoke
    const std::uint32_t client_next = pkt.seq + pkt.seq_len();
    const std::string reply = ftp64_client_segment(
        *c, config_.ftp_alg, config_.name, pkt, [&](const HostPort& v6) { return bind(v6, notes); }, notes);
    if (reply.empty()) return;
    Packet probe;
    probe.seq = c->server_next;
    apply_seqadj(c->seqadj, CtDirection::Reply, probe);
    Packet a = make_packet(s.v6_dst, s.v6_src, kPsh | kAck, probe.seq, client_next, reply);
    a.conn = pkt.conn;
    const auto delta = static_cast<std::int32_t>(reply.size());
    // Inserted just before the server's next byte; a second reply at the same place (the server
    // has said nothing since) adds to the same correction.
    SeqAdjust& way = c->seqadj[static_cast<std::size_t>(index(CtDirection::Reply))];
    if (way.active() && way.correction_pos == c->server_next - 1) way.offset_after += delta;
    else record_seqadj(c->seqadj, CtDirection::Reply, c->server_next - 1, delta);
    trace::Event adj;
    adj.from = config_.name;
    adj.fact = trace::Fact::SeqAdjust;
    adj.seq_delta = delta;
    notes.push_back(make_note(NoteKind::Alg, std::move(adj)));
    if (answers) answers->push_back(std::move(a));
}

Verdict Nat64::process(Packet& pkt, std::vector<MiddleboxNote>& notes, std::vector<Packet>* answers) {
    if (pkt.icmp != Icmp::None) return Verdict::Forward;  // ICMP is not translated (docs)
    if (!pkt.dst.addr.is_v4()) {
        const auto v4_dst = nat64_extract(config_.prefix, pkt.dst.addr);
        if (!v4_dst) return Verdict::Forward;  // plain IPv6, routed as it is
        if (auto it = session_by_v6_.find({pkt.src, pkt.dst}); it != session_by_v6_.end()) {
            const Nat64Session& s = sessions_[it->second];
            outbound_alg(s, pkt, notes, answers);
            pkt.src = s.v4_src;
            pkt.dst = s.v4_dst;
            if (Ftp64Control* c = control(s)) apply_seqadj(c->seqadj, CtDirection::Original, pkt);
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
        add_session(s);
        pkt.src = s.v4_src;
        pkt.dst = s.v4_dst;
        return Verdict::Forward;
    }
    if (pkt.dst.addr != config_.pool) return Verdict::Forward;
    if (auto it = session_by_v4_.find({pkt.src, pkt.dst}); it != session_by_v4_.end()) {
        const Nat64Session& s = sessions_[it->second];
        Ftp64Control* c = control(s);
        if (c) ftp64_server_segment(*c, config_.name, pkt, notes);
        pkt.src = s.v6_dst;
        pkt.dst = s.v6_src;
        if (c) apply_seqadj(c->seqadj, CtDirection::Reply, pkt);
        return Verdict::Forward;
    }
    if (pkt.is_syn_only())
        if (auto it = binding_by_v4_.find(pkt.dst); it != binding_by_v4_.end()) {
            const Nat64Binding& b = bindings_[it->second];
            // The server's data connection to an FTP64 ALG's binding (an EPRT it made PORT).
            // Admitted from any IPv4 host, as Jool's default endpoint-independent filtering does.
            HostPort server6{nat64_synthesize(config_.prefix, pkt.src.addr), pkt.src.port};
            Nat64Session s{next_id_++, b.v6, server6, b.v4, pkt.src, true};
            // Told as the other sessions are, from the IPv6 endpoint's side (its binding).
            trace::Event e = fact(trace::Fact::Nat64Session, pkt);
            e.src = ep(s.v6_src);
            e.dst = ep(s.v6_dst);
            e.src_after = ep(s.v4_src);
            e.dst_after = ep(s.v4_dst);
            e.entry = s.id;
            notes.push_back(make_note(NoteKind::Nat, std::move(e)));
            add_session(s);
            pkt.src = server6;
            pkt.dst = b.v6;
            return Verdict::Forward;
        }
    // RFC 6146 3.5.2.2: no session for it: an inbound connection nobody on the IPv6 side opened.
    trace::Event e = fact(trace::Fact::Nat64Unsolicited, pkt);
    e.verdict = trace::Verdict::Dropped;
    notes.push_back(make_note(NoteKind::Nat, std::move(e)));
    return Verdict::Drop;
}

}  // namespace ftpsim::mbox
