#include "sim/mbox/host_firewall.hpp"

namespace ftpsim::mbox {

Verdict HostFirewall::filter(const Packet& p, int in_iface, int out_iface, FwDirection dir,
                             std::vector<MiddleboxNote>& notes) {
    // An ICMP error about one of this host's connections is RELATED: let it through.
    if (p.icmp != Icmp::None && flows_.count(Flow{p.quoted_src, p.quoted_dst})) return Verdict::Forward;
    Flow flow{p.src, p.dst}, back{p.dst, p.src};
    bool known = flows_.count(flow) || flows_.count(back);
    FilterInput in{&p, p.src, p.dst, in_iface, out_iface, dir, known ? kCtEstablished : kCtNew};
    auto d = fw_.evaluate(in);
    if (d.action == FwAction::Accept) {
        flows_.insert(flow);
        return Verdict::Forward;
    }
    bool drop = d.action == FwAction::Drop;
    trace::Event e;
    e.from = node_;
    e.fact = trace::Fact::FirewallVerdict;
    e.action = drop ? trace::Action::Drop : trace::Action::Reject;
    e.verdict = drop ? trace::Verdict::Dropped : trace::Verdict::Rejected;
    e.flags = flags_string(p.flags);
    e.payload_len = static_cast<std::uint32_t>(p.payload.size());
    e.src = {p.src.addr.to_string(), p.src.port};
    e.dst = {p.dst.addr.to_string(), p.dst.port};
    e.rule = d.rule;
    e.rule_text = d.by_policy ? std::string("default ") + to_string(fw_.policy())
                              : fw_.rules()[static_cast<std::size_t>(d.rule - 1)].to_string();
    e.state = ct_states_string(in.state);
    notes.push_back(make_note(NoteKind::Firewall, std::move(e)));
    return drop ? Verdict::Drop : Verdict::Reject;
}

}  // namespace ftpsim::mbox
