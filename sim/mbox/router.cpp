#include "sim/mbox/router.hpp"

#include <algorithm>

namespace ftpsim::mbox {

std::string format_duration(TimeNs ns) { return trace::duration_text(ns); }

namespace {
trace::Endpoint ep(const HostPort& hp) { return {hp.addr.to_string(), hp.port}; }
}  // namespace

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

trace::Event Router::fact(trace::Fact f, const Packet* pkt) const {
    trace::Event e;
    e.kind = trace::EventKind::Middlebox;
    e.from = config_.name;
    e.fact = f;
    if (pkt) {
        e.flags = flags_string(pkt->flags);
        e.payload_len = static_cast<std::uint32_t>(pkt->payload.size());
        e.src = ep(pkt->src);
        e.dst = ep(pkt->dst);
    }
    return e;
}

Verdict Router::drop(std::vector<MiddleboxNote>& notes, NoteKind kind, trace::Event f) const {
    f.verdict = trace::Verdict::Dropped;
    notes.push_back(make_note(kind, std::move(f)));
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

// ---- expiry ------------------------------------------------------------------------------------

void Router::expire(TimeNs now, std::vector<MiddleboxNote>& notes) {
    if (nat_) {
        for (const auto& m : nat_->expire(now)) {
            trace::Event e = fact(trace::Fact::NatMappingExpired);
            e.src = ep(m.internal);
            e.src_after = ep(m.external);
            e.entry = m.id;
            e.timeout_ns = nat_->timeout_of(m);
            e.state = m.established() ? "established" : "transitory";
            notes.push_back(make_note(NoteKind::Nat, std::move(e)));
            // The translation is gone with the mapping: its connections are forgotten too (in id
            // order, as a scan of the table finds them).
            if (auto it = ct_by_mapping_.find(m.id); it != ct_by_mapping_.end()) {
                std::vector<int> ids = std::move(it->second);
                ct_by_mapping_.erase(it);
                std::sort(ids.begin(), ids.end());
                for (int id : ids)
                    if (const ConntrackEntry* ct = conntrack_.get(id); ct && ct->nat_mapping == m.id) forget(id);
            }
        }
    }
    for (const auto& e : conntrack_.expire(now)) {
        trace::Event f = fact(trace::Fact::ConntrackExpired);
        f.src = ep(e.original.src);
        f.dst = ep(e.original.dst);
        f.entry = e.id;
        notes.push_back(make_note(NoteKind::Conntrack, std::move(f)));
        if (alg_) alg_->forget_master(e.id);  // nf_ct_remove_expectations with the master
    }
    if (alg_)
        for (const auto& e : alg_->expire(now)) {
            trace::Event f = expectation_fact(e);
            f.from = config_.name;
            f.fact = trace::Fact::AlgExpectationExpired;
            notes.push_back(make_note(NoteKind::Alg, std::move(f)));
        }
}

// ---- the pipeline ------------------------------------------------------------------------------

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
        return drop(notes, NoteKind::Conntrack, fact(trace::Fact::ConntrackInvalid, &pkt));
    }
    return process_new(pkt, in_iface, out_iface, now, notes);
}

Verdict Router::process_new(Packet& pkt, int in_iface, int& out_iface, TimeNs now,
                            std::vector<MiddleboxNote>& notes) {
    NewFlow f{in_iface, pkt.src, pkt.dst};
    if (auto v = destination_nat(f, pkt, in_iface, out_iface, now, notes)) return *v;
    out_iface = route(f.dst.addr);
    if (out_iface < 0 || is_own_address(f.dst.addr)) {
        trace::Event e = fact(trace::Fact::NoRoute, &pkt);
        e.dst_after = ep(f.dst);
        return drop(notes, NoteKind::Route, std::move(e));
    }
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
    ct.nat_mapping_ptr = nat_ && f.mapping >= 0 ? nat_->find(f.mapping) : nullptr;
    if (f.mapping >= 0) ct_by_mapping_[f.mapping].push_back(ct.id);
    ct.nat_inside_is_reply = f.inside_is_reply;
    // The helper is chosen by the real server port (the reply tuple's source), as
    // __nf_ct_helper_find does: a forward of 2121 to 21 is helped on the port-21 list.
    ct.ftp_helper = alg_ && !f.related && alg_->inspects_port(f.dst.port);
    // Recorded where a stateful filter reads the table (its rules match new, established and
    // related): elsewhere the NAT's and the ALG's facts already say what the entry holds.
    if (firewall_) {
        trace::Event e = created_fact(ct);
        e.from = config_.name;
        e.flags = flags_string(pkt.flags);
        e.payload_len = static_cast<std::uint32_t>(pkt.payload.size());
        notes.push_back(make_note(NoteKind::Conntrack, std::move(e)));
    }
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
        return drop(notes, NoteKind::Nat, fact(trace::Fact::NatHairpinOff, &pkt));
    const PortForward* fw = is_outside_address(pkt.dst.addr) ? forwarder_.match(pkt.dst.port) : nullptr;
    if (fw) {
        f.dst = fw->target(pkt.dst.port);
        trace::Event e = fact(trace::Fact::PortForward, &pkt);
        e.dst_after = ep(f.dst);
        e.rule_text = fw->to_string();
        notes.push_back(make_note(NoteKind::PortForward, std::move(e)));
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
    trace::Event x = fact(trace::Fact::AlgExpectationUsed, &pkt);
    x.dst_after = ep(f.dst);
    x.form = announce_form(e->form);
    x.entry = e->id;
    notes.push_back(make_note(NoteKind::Alg, std::move(x)));
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
    const auto admission = nat_->admit_inbound(pkt.dst, remote, m);
    if (admission == Nat::Admission::NoMapping)
        return closed_port(pkt, in_iface, out_iface, notes, "no-nat-mapping");
    trace::Event e = fact(admission == Nat::Admission::Filtered ? trace::Fact::NatInboundFiltered
                                                                : trace::Fact::NatInboundAdmitted,
                          &pkt);
    e.src = ep(remote);
    e.dst_after = ep(m->internal);
    e.entry = m->id;
    e.policy = to_string(nat_->config().filtering);
    if (admission == Nat::Admission::Filtered) return drop(notes, NoteKind::Nat, std::move(e));
    f.dst = m->internal;
    f.mapping = m->id;
    f.inside_is_reply = true;
    notes.push_back(make_note(NoteKind::Nat, std::move(e)));
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
                            const char* why) const {
    trace::Event e = fact(trace::Fact::ClosedPort, &pkt);
    e.state = why;
    // Nothing answers a RST, whatever the policy (RFC 793; nft's reject skips it too).
    const ClosedPortPolicy policy = pkt.has(kRst) ? ClosedPortPolicy::Drop : config_.closed_port;
    if (policy == ClosedPortPolicy::Drop) {
        e.action = trace::Action::Drop;
        return drop(notes, NoteKind::Nat, std::move(e));
    }
    e.action = policy == ClosedPortPolicy::Reset ? trace::Action::Reject : trace::Action::Icmp;
    e.verdict = trace::Verdict::Rejected;
    notes.push_back(make_note(NoteKind::Nat, std::move(e)));
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
        drop(notes, NoteKind::Nat, fact(trace::Fact::NatPoolExhausted, &pkt));
        return false;
    }
    f.src = m->external;
    if (!f.related || f.mapping < 0) {
        f.mapping = m->id;
        f.inside_is_reply = false;
    }
    trace::Event e = fact(created ? trace::Fact::NatMappingCreated : trace::Fact::NatMappingReused, &pkt);
    e.src = ep(m->internal);
    e.dst = ep(f.dst);
    e.src_after = ep(m->external);
    e.dst_after = e.dst;
    e.entry = m->id;
    e.policy = to_string(nat_->config().mapping);
    notes.push_back(make_note(NoteKind::Nat, std::move(e)));
    return true;
}

std::optional<Verdict> Router::filter(const FilterInput& in, Packet& pkt, int in_iface, int& out_iface,
                                      std::vector<MiddleboxNote>& notes) {
    if (!firewall_) return std::nullopt;
    const FirewallDecision d = firewall_->evaluate(in);
    // One note per new connection, not per packet.
    if (d.action == FwAction::Accept && in.state == kCtEstablished) return std::nullopt;
    trace::Event e = fact(trace::Fact::FirewallVerdict, &pkt);
    e.src = ep(in.src);
    e.dst = ep(in.dst);
    e.rule = d.rule;
    e.rule_text = d.by_policy ? std::string("default ") + to_string(firewall_->policy())
                              : firewall_->rules()[static_cast<std::size_t>(d.rule - 1)].to_string();
    e.state = ct_states_string(in.state);
    if (d.action == FwAction::Accept) {
        e.action = trace::Action::Accept;
        notes.push_back(make_note(NoteKind::Firewall, std::move(e)));
        return std::nullopt;
    }
    if (d.action == FwAction::Drop) {
        e.action = trace::Action::Drop;
        return drop(notes, NoteKind::Firewall, std::move(e));
    }
    e.action = trace::Action::Reject;
    e.verdict = trace::Verdict::Rejected;
    notes.push_back(make_note(NoteKind::Firewall, std::move(e)));
    pkt = make_reset(pkt);
    out_iface = in_iface;
    return Verdict::Reject;
}

Verdict Router::forward(ConntrackEntry& ct, CtDirection dir, Packet& pkt, int in_iface, int& out_iface,
                        TimeNs now, std::vector<MiddleboxNote>& notes, bool already_filtered) {
    const FlowTuple out = ct.translated(dir);
    // The route of a direction's translated destination never changes (the interfaces are
    // fixed): looked up on its first packet, kept in the entry.
    int& cached = ct.out_iface[index(dir)];
    if (cached < 0) cached = route(out.dst.addr);
    out_iface = cached;
    if (!already_filtered) {
        const FlowTuple view = ct.filter_view(dir);
        FilterInput in{&pkt, view.src, view.dst, in_iface, out_iface, direction(in_iface, out_iface),
                       ct.state_for(dir)};
        if (auto v = filter(in, pkt, in_iface, out_iface, notes)) return *v;
    }
    if (ct.ftp_helper && alg_ &&
        alg_->help(ct, dir, pkt, now, port_chooser(ct, now, notes), notes) == AlgVerdict::Drop)
        return Verdict::Drop;
    if (alg_ && !ct.ftp_helper && !ct.related && !pkt.payload.empty()) unhelped_line(ct, dir, pkt, notes);
    apply_seqadj(ct, dir, pkt);
    pkt.src = out.src;
    pkt.dst = out.dst;
    conntrack_.update(ct, dir, pkt, now);
    touch_mapping(ct, dir, pkt, now);
    return Verdict::Forward;
}

// An announcement on a control connection the ALG does not help (its server port is not in the
// ALG's list): the line passes untouched, and the trace says why.
void Router::unhelped_line(const ConntrackEntry& ct, CtDirection dir, const Packet& pkt,
                           std::vector<MiddleboxNote>& notes) const {
    const bool from_client = dir == CtDirection::Original;
    const IpAddress sender = (from_client ? ct.original : ct.reply).src.addr;
    AlgMatch m;
    if (match_ftp_line(pkt.payload, from_client, sender, m) != AlgMatchStatus::Found) return;
    trace::Event e = fact(trace::Fact::AlgLineIgnored, &pkt);
    e.alg_skip = trace::AlgSkip::PortNotInspected;
    e.form = announce_form(m.form);
    e.dst = ep(ct.reply.src);  // the server's own control endpoint
    std::string line = pkt.payload.substr(0, pkt.payload.find_first_of("\r\n"));
    for (char& c : line)
        if (c < 32 || c > 126) c = '.';
    e.line_before = std::move(line);
    notes.push_back(make_note(NoteKind::Alg, std::move(e)));
}

// nf_nat_ftp's port choice: a port the router's outside address can give the data connection.
FtpAlg::PortChooser Router::port_chooser(const ConntrackEntry& ct, TimeNs now,
                                         std::vector<MiddleboxNote>& notes) {
    return [this, &ct, now, &notes](const HostPort& internal, const IpAddress& external,
                                    std::uint16_t wanted) -> std::optional<std::pair<std::uint16_t, int>> {
        for (const auto& f : forwarder_.forwards())  // already forwarded there: keep the port
            if (f.covers(wanted) && f.target(wanted) == internal) return std::pair{wanted, -1};
        if (nat_ && external == nat_->external_address()) {
            if (const NatMapping* held = nat_->find_internal(internal)) return std::pair{held->external.port, held->id};
            NatMapping* m = nat_->reserve(internal, wanted, now, "ALG expectation");
            if (!m) return std::nullopt;
            trace::Event e = fact(trace::Fact::NatMappingCreated);
            e.src = ep(m->internal);
            e.src_after = ep(m->external);
            e.entry = m->id;
            e.policy = to_string(nat_->config().mapping);
            e.state = "alg-expectation";
            notes.push_back(make_note(NoteKind::Nat, std::move(e)));
            return std::pair{m->external.port, m->id};
        }
        auto port = alg_->free_port(external, wanted, ct.id);
        if (!port) return std::nullopt;
        return std::pair{*port, -1};
    };
}

void Router::touch_mapping(const ConntrackEntry& ct, CtDirection dir, const Packet& translated, TimeNs now) {
    if (!nat_ || ct.nat_mapping < 0) return;
    NatMapping* m = ct.nat_mapping_ptr;
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
