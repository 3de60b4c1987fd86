#include "sim/mbox/router.hpp"

namespace ftpsim::mbox {

std::string format_duration(TimeNs ns) {
    const std::int64_t s = ns / trace::kNsPerSec;
    if (s < 60) return std::to_string(s) + " s";
    std::string out;
    auto part = [&](std::int64_t n, const char* unit) {
        if (n == 0) return;
        if (!out.empty()) out += ' ';
        out += std::to_string(n);
        out += unit;
    };
    part(s / 3600, " h");
    part((s % 3600) / 60, " min");
    part(s % 60, " s");
    return out;
}

// The decisions taken for a connection's first packet, before its conntrack entry exists.
struct Router::NewFlow {
    int in_iface = -1;
    HostPort src, dst;          // after translation
    bool related = false;
    int master = -1;
    int mapping = -1;           // the NatMapping the connection uses
    bool inside_is_reply = false;
    bool hairpin = false;
};

Router::Router(RouterConfig config) : config_(std::move(config)) {
    conntrack_.timeouts = config_.conntrack;
    for (const auto& f : config_.forwards) forwarder_.add(f);
    if (config_.nat) {
        IpAddress external;
        for (const auto& i : config_.interfaces)
            if (i.realm == Realm::Outside) {
                external = i.address;
                break;
            }
        nat_ = std::make_unique<Nat>(*config_.nat, external);
        for (const auto& f : config_.forwards) nat_->exclude_ports(f.external_lo, f.external_hi);
    }
    firewall_ = config_.firewall;
    if (config_.alg) alg_ = std::make_unique<FtpAlg>(*config_.alg);
}

MiddleboxNote Router::note(NoteKind kind, std::string text) const {
    return {kind, config_.name + ": " + std::move(text), {}, {}};
}

Verdict Router::drop(std::vector<MiddleboxNote>& notes, NoteKind kind, std::string text,
                     std::string reason) const {
    MiddleboxNote n = note(kind, std::move(text));
    n.verdict = trace::Verdict::Dropped;
    n.reason = std::move(reason);
    notes.push_back(std::move(n));
    return Verdict::Drop;
}

Realm Router::realm(int iface) const {
    if (iface < 0 || iface >= static_cast<int>(config_.interfaces.size())) return Realm::Outside;
    return config_.interfaces[static_cast<std::size_t>(iface)].realm;
}

FwDirection Router::direction(int in_iface, int out_iface) const {
    const Realm from = realm(in_iface), to = realm(out_iface);
    if (from == Realm::Inside) return to == Realm::Inside ? FwDirection::Internal : FwDirection::Outbound;
    return to == Realm::Inside ? FwDirection::Inbound : FwDirection::Any;
}

bool Router::is_own_address(const IpAddress& addr) const {
    for (const auto& i : config_.interfaces)
        if (i.address == addr) return true;
    return false;
}

bool Router::is_outside_address(const IpAddress& addr) const {
    for (const auto& i : config_.interfaces)
        if (i.address == addr && i.realm == Realm::Outside) return true;
    return false;
}

void Router::forget(int conntrack_id) {
    conntrack_.erase(conntrack_id);
    if (alg_) alg_->forget_master(conntrack_id);  // nf_ct_remove_expectations with the master
}

int Router::route(const IpAddress& addr) const {
    int best = -1, best_len = -1, fallback = -1;
    for (std::size_t k = 0; k < config_.interfaces.size(); ++k) {
        const auto& i = config_.interfaces[k];
        if (fallback < 0 && i.realm == Realm::Outside) fallback = static_cast<int>(k);
        if (Prefix{i.address, i.prefix_len}.contains(addr) && i.prefix_len > best_len) {
            best = static_cast<int>(k);
            best_len = i.prefix_len;
        }
    }
    return best >= 0 ? best : fallback;
}

// ", port kept" or ", port 20 remapped: mapping 3 holds it" (RFC 4787 port preservation).
static std::string port_choice_text(const NatMapping& m) {
    if (m.wanted_port == 0) return " (no port preservation: next port of the pool)";
    if (m.port_preserved) return " (port " + std::to_string(m.wanted_port) + " kept: port preservation)";
    return " (port " + std::to_string(m.wanted_port) + " remapped: " +
           (m.clash_with ? "mapping " + std::to_string(m.clash_with) + " holds it" : std::string("not free in the pool")) + ")";
}

// ---- expiry ------------------------------------------------------------------------------------

void Router::expire(TimeNs now, std::vector<MiddleboxNote>& notes) {
    if (nat_) {
        for (const auto& m : nat_->expire(now)) {
            notes.push_back(note(NoteKind::Nat, "NAT mapping " + m.internal.to_string() + " -> " +
                                                    m.external.to_string() + " expired after " +
                                                    format_duration(nat_->timeout_of(m)) + " idle (" +
                                                    (m.established() ? "established" : "transitory") + ")"));
            // The translation is gone with the mapping: its connections are forgotten too.
            for (const auto& e : conntrack_.entries())
                if (e.nat_mapping == m.id) forget(e.id);
        }
    }
    for (const auto& e : conntrack_.expire(now)) {
        notes.push_back(note(NoteKind::Conntrack, "conntrack entry " + e.original.to_string() + " expired"));
        if (alg_) alg_->forget_master(e.id);  // nf_ct_remove_expectations with the master
    }
    if (alg_)
        for (const auto& e : alg_->expire(now))
            notes.push_back({NoteKind::Alg, "ALG: expectation " + e.to_string() + " expired unused", {}, {}});
}

// ---- the pipeline ------------------------------------------------------------------------------

bool RouterResult::has_note(std::string_view fragment) const {
    for (const auto& n : notes)
        if (n.text.find(fragment) != std::string::npos) return true;
    return false;
}

RouterResult Router::process(Packet pkt, int in_iface, TimeNs now) {
    RouterResult r;
    r.verdict = process(pkt, in_iface, r.out_iface, now, r.notes);
    r.packet = std::move(pkt);
    return r;
}

Verdict Router::process(Packet& pkt, int in_iface, int& out_iface, TimeNs now,
                        std::vector<MiddleboxNote>& notes) {
    out_iface = -1;
    expire(now, notes);
    if (pkt.icmp != Icmp::None) return icmp_error(pkt, out_iface);
    CtDirection dir = CtDirection::Original;
    ConntrackEntry* ct = conntrack_.find(pkt, dir);
    if (ct && ct->closing && dir == CtDirection::Original && pkt.is_syn_only()) {
        // A SYN reusing the tuple of a closed connection starts a new one (as in TIME_WAIT).
        forget(ct->id);
        ct = nullptr;
    }
    if (ct) return forward(*ct, dir, pkt, in_iface, out_iface, now, notes, false);
    if (pkt.has(kRst) || pkt.has(kFin)) {
        // nf_conntrack_tcp: a RST or FIN cannot open a connection; the packet is INVALID and,
        // with nothing to translate it by, goes no further.
        return drop(notes, NoteKind::Conntrack, "dropped " + describe(pkt) + " " +
                                                    FlowTuple{pkt.src, pkt.dst}.to_string() +
                                                    ": it belongs to no known connection",
                    "conntrack: invalid (no connection)");
    }
    return process_new(pkt, in_iface, out_iface, now, notes);
}

Verdict Router::process_new(Packet& pkt, int in_iface, int& out_iface, TimeNs now,
                            std::vector<MiddleboxNote>& notes) {
    NewFlow f{in_iface, pkt.src, pkt.dst};
    if (auto v = destination_nat(f, pkt, in_iface, out_iface, now, notes)) return *v;
    out_iface = route(f.dst.addr);
    if (out_iface < 0 || is_own_address(f.dst.addr))
        return drop(notes, NoteKind::Route, "dropped " + describe(pkt) + " to " + f.dst.to_string() + ": no route",
                    "no route to " + f.dst.to_string());
    f.hairpin = realm(in_iface) == Realm::Inside && realm(out_iface) == Realm::Inside &&
                is_own_address(pkt.dst.addr);

    FilterInput in{&pkt, pkt.src, f.dst, in_iface, out_iface, direction(in_iface, out_iface),
                   f.related ? kCtRelated : kCtNew};
    if (auto v = filter(in, pkt, in_iface, out_iface, notes)) return *v;
    if (!source_nat(f, pkt, now, notes)) return Verdict::Drop;

    ConntrackEntry& ct = conntrack_.add({pkt.src, pkt.dst}, {f.dst, f.src}, now);
    ct.conn = pkt.conn;
    ct.related = f.related;
    ct.master = f.master;
    ct.nat_mapping = f.mapping;
    ct.nat_inside_is_reply = f.inside_is_reply;
    // The helper is chosen by the real server port (the reply tuple's source), as
    // __nf_ct_helper_find does: a forward of 2121 to 21 is helped on the port-21 list.
    ct.ftp_helper = alg_ && !f.related && alg_->inspects_port(f.dst.port);
    return forward(ct, CtDirection::Original, pkt, in_iface, out_iface, now, notes, true);
}

// An ICMP error about a connection this router translates goes to the real sender, with the quoted
// segment translated back (nf_nat_icmp_reply_translation); one about no known connection is only
// routed. ICMP errors are RELATED traffic: the firewall does not judge them (simplification).
Verdict Router::icmp_error(Packet& pkt, int& out_iface) {
    Packet answer;  // the direction of the answering traffic: from the quoted destination
    answer.src = pkt.quoted_dst;
    answer.dst = pkt.quoted_src;
    CtDirection dir = CtDirection::Original;
    if (const ConntrackEntry* ct = conntrack_.find(answer, dir)) {
        const FlowTuple back = ct->translated(dir);
        pkt.dst = {back.dst.addr, 0};
        pkt.quoted_src = back.dst;
        pkt.quoted_dst = back.src;
    }
    out_iface = route(pkt.dst.addr);
    return out_iface < 0 || is_own_address(pkt.dst.addr) ? Verdict::Drop : Verdict::Forward;
}

// PREROUTING for a new connection: an ALG expectation, a port forward, or an inbound NAT mapping
// decides where a packet addressed to the router really goes. A verdict when it goes no further.
std::optional<Verdict> Router::destination_nat(NewFlow& f, Packet& pkt, int in_iface, int& out_iface,
                                               TimeNs now, std::vector<MiddleboxNote>& notes) {
    if (expected(f, pkt, now, notes) || !is_own_address(pkt.dst.addr)) return std::nullopt;
    if (realm(in_iface) == Realm::Inside && nat_ && !nat_->config().hairpinning)
        return drop(notes, NoteKind::Nat, "dropped " + describe(pkt) + " to its own public address " +
                                              pkt.dst.to_string() + ": hairpinning is off",
                    "NAT hairpinning off");
    const PortForward* fw = is_outside_address(pkt.dst.addr) ? forwarder_.match(pkt.dst.port) : nullptr;
    if (fw) {
        f.dst = fw->target(pkt.dst.port);
        notes.push_back(note(NoteKind::PortForward, "port forward " + pkt.dst.to_string() + " -> " +
                                                        f.dst.to_string() + " (" + fw->to_string() + ")"));
        return std::nullopt;
    }
    if (!nat_) return closed_port(pkt, in_iface, out_iface, notes, "no-port-forward");
    return inbound_mapping(f, pkt, in_iface, out_iface, now, notes);
}

// The ALG expected this connection: it is related, and goes where the announcement meant.
bool Router::expected(NewFlow& f, const Packet& pkt, TimeNs now, std::vector<MiddleboxNote>& notes) {
    auto e = alg_ ? alg_->take_expectation(pkt, now) : std::nullopt;
    if (!e) return false;
    f.related = true;
    f.master = e->master;
    f.dst = e->forward_to;
    if (e->nat_mapping >= 0) {
        f.mapping = e->nat_mapping;
        f.inside_is_reply = true;
    }
    notes.push_back({NoteKind::Alg, "ALG: " + describe(pkt) + " " + FlowTuple{pkt.src, pkt.dst}.to_string() +
                                        " is the expected " + to_string(e->form) + " data connection (related)" +
                                        (f.dst == pkt.dst ? "" : ", forwarded to " + f.dst.to_string()),
                     {}, {}});
    return true;
}

// An unsolicited packet to the public address: the mapping that owns the port, if its filtering
// lets this sender in.
std::optional<Verdict> Router::inbound_mapping(NewFlow& f, Packet& pkt, int in_iface, int& out_iface,
                                               TimeNs now, std::vector<MiddleboxNote>& notes) {
    // Hairpinning: the filter judges the sender by its own public endpoint (RFC 4787 REQ-9).
    HostPort remote = pkt.src;
    if (realm(in_iface) == Realm::Inside) {
        bool created = false;
        if (NatMapping* own = nat_->map_outbound(pkt.src, pkt.dst, now, created)) remote = own->external;
    }
    NatMapping* m = nullptr;
    const std::string filtering = to_string(nat_->config().filtering);
    switch (nat_->admit_inbound(pkt.dst, remote, m)) {
    case Nat::Admission::NoMapping:
        return closed_port(pkt, in_iface, out_iface, notes, "no-nat-mapping");
    case Nat::Admission::Filtered:
        return drop(notes, NoteKind::Nat, "dropped " + describe(pkt) + " from " + remote.to_string() + " to " +
                                              pkt.dst.to_string() + ": " + filtering + " filtering, " +
                                              m->internal.to_string() + " never sent to it",
                    "NAT filtering (" + filtering + ")");
    case Nat::Admission::Admitted: break;
    }
    f.dst = m->internal;
    f.mapping = m->id;
    f.inside_is_reply = true;
    notes.push_back(note(NoteKind::Nat, "NAT admitted " + describe(pkt) + " from " + remote.to_string() + " to " +
                                            pkt.dst.to_string() + " -> " + f.dst.to_string() + " (" + filtering +
                                            " filtering)"));
    return std::nullopt;
}

const char* to_string(ClosedPortPolicy p) {
    switch (p) {
    case ClosedPortPolicy::Reset: return "accept (the router's TCP answers RST)";
    case ClosedPortPolicy::Drop: return "drop";
    case ClosedPortPolicy::IcmpPortUnreachable: return "reject with icmp port-unreachable";
    }
    return "?";
}

// The INPUT chain's answer to a packet for the router's own closed port (ClosedPortPolicy).
Verdict Router::closed_port(Packet& pkt, int in_iface, int& out_iface, std::vector<MiddleboxNote>& notes,
                            const std::string& why) const {
    trace::Event f;
    f.fact = trace::Fact::ClosedPort;
    f.from = config_.name;
    f.src = {pkt.src.addr.to_string(), pkt.src.port};
    f.dst = {pkt.dst.addr.to_string(), pkt.dst.port};
    f.flags = flags_string(pkt.flags);
    f.payload_len = static_cast<std::uint32_t>(pkt.payload.size());
    f.state = why;
    // Nothing answers a RST, whatever the policy (RFC 793; nft's reject skips it too).
    ClosedPortPolicy policy = pkt.has(kRst) ? ClosedPortPolicy::Drop : config_.closed_port;
    switch (policy) {
    case ClosedPortPolicy::Drop: f.action = trace::Action::Drop; f.verdict = trace::Verdict::Dropped; break;
    case ClosedPortPolicy::Reset: f.action = trace::Action::Reject; f.verdict = trace::Verdict::Rejected; break;
    case ClosedPortPolicy::IcmpPortUnreachable: f.action = trace::Action::Icmp; f.verdict = trace::Verdict::Rejected; break;
    }
    notes.push_back(make_note(NoteKind::Nat, std::move(f)));
    if (policy == ClosedPortPolicy::Drop) return Verdict::Drop;
    out_iface = in_iface;
    if (policy == ClosedPortPolicy::IcmpPortUnreachable) return Verdict::RejectIcmp;
    pkt = make_reset(pkt);
    return Verdict::Reject;
}

// POSTROUTING for a new connection from the inside: masquerade behind the outside address.
bool Router::source_nat(NewFlow& f, const Packet& pkt, TimeNs now, std::vector<MiddleboxNote>& notes) {
    const int out = route(f.dst.addr);
    // Masquerade is IPv4 only (no NAT66); IPv6 is routed untranslated.
    if (!nat_ || realm(f.in_iface) != Realm::Inside || !pkt.src.addr.is_v4()) return true;
    if (realm(out) != Realm::Outside && !f.hairpin) return true;
    bool created = false;
    NatMapping* m = nat_->map_outbound(pkt.src, f.dst, now, created);
    if (!m) {
        drop(notes, NoteKind::Nat, "dropped " + describe(pkt) + " from " + pkt.src.to_string() +
                                       ": NAT port pool exhausted",
             "NAT port pool exhausted");
        return false;
    }
    f.src = m->external;
    if (!f.related || f.mapping < 0) {
        f.mapping = m->id;
        f.inside_is_reply = false;
    }
    notes.push_back(note(NoteKind::Nat, std::string(created ? "NAT mapped " : "NAT reused mapping ") +
                                            m->internal.to_string() + " -> " + m->external.to_string() +
                                            (created ? port_choice_text(*m)
                                                     : std::string(" (") + to_string(nat_->config().mapping) +
                                                           " mapping)")));
    return true;
}

std::optional<Verdict> Router::filter(const FilterInput& in, Packet& pkt, int in_iface, int& out_iface,
                                      std::vector<MiddleboxNote>& notes) {
    if (!firewall_) return std::nullopt;
    const FirewallDecision d = firewall_->evaluate(in);
    const std::string what = describe(pkt) + " to " + in.dst.to_string();
    if (d.action == FwAction::Accept) {
        if (in.state != kCtEstablished)  // one note per new connection, not per packet
            notes.push_back(note(NoteKind::Firewall, "accepted " + what + " (" + ct_states_string(in.state) +
                                                         "), " + d.reason));
        return std::nullopt;
    }
    if (d.action == FwAction::Drop) return drop(notes, NoteKind::Firewall, "dropped " + what + ", " + d.reason, d.reason);
    MiddleboxNote n = note(NoteKind::Firewall, "rejected " + what + " with a TCP reset, " + d.reason);
    n.verdict = trace::Verdict::Rejected;
    n.reason = d.reason;
    notes.push_back(std::move(n));
    pkt = make_reset(pkt);
    out_iface = in_iface;
    return Verdict::Reject;
}

Verdict Router::forward(ConntrackEntry& ct, CtDirection dir, Packet& pkt, int in_iface, int& out_iface,
                        TimeNs now, std::vector<MiddleboxNote>& notes, bool already_filtered) {
    const FlowTuple out = ct.translated(dir);
    out_iface = route(out.dst.addr);
    if (!already_filtered) {
        const FlowTuple view = ct.filter_view(dir);
        FilterInput in{&pkt, view.src, view.dst, in_iface, out_iface, direction(in_iface, out_iface),
                       ct.state_for(dir)};
        if (auto v = filter(in, pkt, in_iface, out_iface, notes)) return *v;
    }
    if (ct.ftp_helper && alg_ &&
        alg_->help(ct, dir, pkt, now, port_chooser(ct, now, notes), notes) == AlgVerdict::Drop)
        return Verdict::Drop;
    apply_seqadj(ct, dir, pkt);
    pkt.src = out.src;
    pkt.dst = out.dst;
    conntrack_.update(ct, dir, pkt, now);
    touch_mapping(ct, dir, pkt, now);
    return Verdict::Forward;
}

// nf_nat_ftp's port choice: a port the router's outside address can give the data connection.
FtpAlg::PortChooser Router::port_chooser(const ConntrackEntry& ct, TimeNs now,
                                         std::vector<MiddleboxNote>& notes) {
    return [this, &ct, now, &notes](const HostPort& internal, const IpAddress& external,
                                    std::uint16_t wanted) -> std::optional<std::pair<std::uint16_t, int>> {
        for (const auto& f : forwarder_.forwards())  // already forwarded there: keep the port
            if (f.covers(wanted) && f.target(wanted) == internal) return std::pair{wanted, -1};
        if (nat_ && external == nat_->external_address()) {
            for (const auto& m : nat_->mappings())
                if (m.internal == internal) return std::pair{m.external.port, m.id};
            NatMapping* m = nat_->reserve(internal, wanted, now, "ALG expectation");
            if (!m) return std::nullopt;
            notes.push_back(note(NoteKind::Nat, "NAT mapped " + m->internal.to_string() + " -> " +
                                                    m->external.to_string() + " for the ALG's expectation" +
                                                    port_choice_text(*m)));
            return std::pair{m->external.port, m->id};
        }
        auto port = alg_->free_port(external, wanted, ct.id);
        if (!port) return std::nullopt;
        return std::pair{*port, -1};
    };
}

void Router::touch_mapping(const ConntrackEntry& ct, CtDirection dir, const Packet& translated, TimeNs now) {
    if (!nat_ || ct.nat_mapping < 0) return;
    NatMapping* m = nat_->find(ct.nat_mapping);
    if (!m) return;
    const CtDirection inside_sends = ct.nat_inside_is_reply ? CtDirection::Reply : CtDirection::Original;
    nat_->touch(*m, dir != inside_sends, translated.flags, translated.dst, now);
}

RouterSnapshot Router::snapshot(TimeNs now) const {
    RouterSnapshot s;
    s.at = now;
    if (nat_)
        for (const auto& m : nat_->mappings())
            if (!nat_->expired(m, now)) s.nat.push_back(m);
    if (alg_) s.expectations = alg_->expectations(now);
    for (const auto& e : conntrack_.entries())
        if (!conntrack_.expired(e, now)) s.conntrack.push_back(e);
    if (firewall_) {
        int n = 1;
        for (const auto& r : firewall_->rules()) s.firewall.push_back({n++, r.to_string(), r.hits});
        s.firewall.push_back({n, std::string("default ") + to_string(firewall_->policy()), firewall_->policy_hits()});
    }
    s.forwards = forwarder_.forwards();
    return s;
}

}  // namespace ftpsim::mbox
