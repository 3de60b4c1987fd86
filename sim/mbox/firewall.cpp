#include "sim/mbox/firewall.hpp"

namespace ftpsim::mbox {

const char* to_string(FwAction a) {
    switch (a) {
    case FwAction::Accept: return "accept";
    case FwAction::Drop: return "drop";
    case FwAction::Reject: return "reject";
    }
    return "?";
}

static const char* to_string(FwDirection d) {
    switch (d) {
    case FwDirection::Any: return "";
    case FwDirection::Inbound: return "inbound";
    case FwDirection::Outbound: return "outbound";
    case FwDirection::Internal: return "internal";
    }
    return "";
}

std::string PortRange::to_string() const {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

std::string FirewallRule::to_string() const {
    if (!comment.empty()) return comment;
    std::string s = mbox::to_string(action);
    auto add = [&](const std::string& part) { s += " " + part; };
    if (direction != FwDirection::Any) add(mbox::to_string(direction));
    if (in_iface) add("in " + std::to_string(*in_iface));
    if (out_iface) add("out " + std::to_string(*out_iface));
    add("tcp");
    if (src) add("from " + src->to_string());
    if (sport) add("sport " + sport->to_string());
    if (dst) add("to " + dst->to_string());
    if (dport) add("dport " + dport->to_string());
    if (flags_mask) add("flags " + flags_string(flags_comp) + "/" + flags_string(flags_mask));
    if (states) add("ct state " + ct_states_string(states));
    return s;
}

bool rule_matches(const FirewallRule& r, const FilterInput& in) {
    if (r.direction != FwDirection::Any && r.direction != in.direction) return false;
    if (r.in_iface && *r.in_iface != in.in_iface) return false;
    if (r.out_iface && *r.out_iface != in.out_iface) return false;
    if (r.src && !r.src->contains(in.src.addr)) return false;
    if (r.dst && !r.dst->contains(in.dst.addr)) return false;
    if (r.sport && !r.sport->contains(in.src.port)) return false;
    if (r.dport && !r.dport->contains(in.dst.port)) return false;
    if (r.states && !(r.states & in.state)) return false;
    return (in.packet->flags & r.flags_mask) == r.flags_comp;
}

FirewallDecision Firewall::evaluate(const FilterInput& in) {
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        if (!rule_matches(rules_[i], in)) continue;
        ++rules_[i].hits;
        const int n = static_cast<int>(i + 1);
        return {rules_[i].action, n, false,
                "rule " + std::to_string(n) + " (" + rules_[i].to_string() + ")"};
    }
    ++policy_hits_;
    const int n = static_cast<int>(rules_.size() + 1);
    return {policy_, n, true, "rule " + std::to_string(n) + " (default " + to_string(policy_) + ")"};
}

Packet make_reset(const Packet& p) {
    Packet r;
    r.conn = p.conn;
    r.src = p.dst;
    r.dst = p.src;
    r.window = 0;
    if (p.has(kAck)) {  // RFC 793: a RST takes its sequence number from the offending ACK
        r.flags = kRst;
        r.seq = p.ack;
    } else {
        r.flags = kRst | kAck;
        r.ack = p.seq + p.seq_len();
    }
    return r;
}

}  // namespace ftpsim::mbox
