// A host's own packet filter (iptables INPUT/OUTPUT): ordered rules with connection state, on the
// packets a host receives and sends (not those it forwards). A plain class like the router's
// pipeline (sim/mbox/router.hpp); sim/run plugs it into the node's packet hooks.
// Simplification: a host firewall has no FTP helper, so no connection is ever "related".
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/mbox/firewall.hpp"
#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"
#include "sim/mbox/router.hpp"

namespace ftpsim::mbox {

class HostFirewall {
public:
    HostFirewall(std::string node, Firewall fw) : node_(std::move(node)), fw_(std::move(fw)) {}

    // One packet the host receives (dir Inbound) or sends (dir Outbound): Forward, Drop or Reject.
    // A Drop or Reject appends the note that decided it (its verdict set) to `notes`.
    Verdict filter(const Packet& p, int in_iface, int out_iface, FwDirection dir, std::vector<MiddleboxNote>& notes);

    const std::string& node() const { return node_; }

private:
    using Flow = std::pair<proto::HostPort, proto::HostPort>;

    std::string node_;
    Firewall fw_;
    std::set<Flow> flows_;  // the connections accepted so far, as first seen
};

}  // namespace ftpsim::mbox
