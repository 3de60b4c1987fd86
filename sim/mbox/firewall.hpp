// A stateful packet filter in the style of an iptables FORWARD chain: ordered rules, first match
// wins, a default policy, per-rule hit counters. Stateful matching uses the router's conntrack
// (new / established / related, the last coming from FTP ALG expectations).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

enum class FwAction : std::uint8_t { Accept, Drop, Reject };  // Reject = REJECT --reject-with tcp-reset
const char* to_string(FwAction a);                             // "accept", "drop", "reject"

// Which way a packet crosses the router, from the realms of its interfaces.
enum class FwDirection : std::uint8_t { Any, Inbound, Outbound, Internal };
// Inbound: outside -> inside; Outbound: inside -> outside; Internal: inside -> inside (hairpin).

struct PortRange {
    std::uint16_t lo = 0, hi = 65535;
    bool contains(std::uint16_t p) const { return p >= lo && p <= hi; }
    std::string to_string() const;
};

struct FirewallRule {
    FwDirection direction = FwDirection::Any;
    std::optional<int> in_iface, out_iface;
    std::optional<Prefix> src, dst;
    std::optional<PortRange> sport, dport;
    std::uint8_t states = 0;      // CtState bits; 0 matches any state
    std::uint8_t flags_mask = 0;  // --tcp-flags mask comp: (flags & mask) == comp
    std::uint8_t flags_comp = 0;
    FwAction action = FwAction::Accept;
    std::string comment;          // shown in notes instead of the generated description
    std::uint64_t hits = 0;

    std::string to_string() const;  // "accept in ct state established,related", "drop tcp dport 21"
};

// The packet as the filter sees it: after destination NAT, before source NAT.
struct FilterInput {
    const Packet* packet = nullptr;
    HostPort src, dst;
    int in_iface = -1, out_iface = -1;
    FwDirection direction = FwDirection::Any;
    CtState state = kCtNew;
};

struct FirewallDecision {
    FwAction action = FwAction::Accept;
    int rule = 0;        // 1-based; rules.size()+1 is the default policy
    bool by_policy = false;
    std::string reason;  // "rule 3 (default drop)", "rule 1 (accept ct state established,related)"
};

class Firewall {
public:
    explicit Firewall(FwAction policy = FwAction::Accept) : policy_(policy) {}
    void add(FirewallRule r) { rules_.push_back(std::move(r)); }
    void set_policy(FwAction a) { policy_ = a; }
    FirewallDecision evaluate(const FilterInput& in);  // counts the hit
    const std::vector<FirewallRule>& rules() const { return rules_; }
    FwAction policy() const { return policy_; }
    std::uint64_t policy_hits() const { return policy_hits_; }

private:
    std::vector<FirewallRule> rules_;
    FwAction policy_;
    std::uint64_t policy_hits_ = 0;
};

bool rule_matches(const FirewallRule& r, const FilterInput& in);

// iptables REJECT --reject-with tcp-reset: the RST that answers `p`, from its destination.
Packet make_reset(const Packet& p);

}  // namespace ftpsim::mbox
