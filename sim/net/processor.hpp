// What a node does to a packet besides routing: the hook where the middleboxes (port forwarding,
// firewall, FTP ALG, NAT) plug in. The network calls it on every packet a node receives, before
// and after the routing decision, like netfilter's PREROUTING and POSTROUTING hooks.
#pragma once

#include <string>
#include <vector>

#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"
#include "trace/trace.hpp"

namespace ftpsim::net {

using mbox::Packet;

enum class Fate {
    Accept,  // continue (routing, delivery)
    Drop,    // discard silently
    Reject,  // discard and answer the sender with a RST from the original destination
    RejectIcmp,  // discard and answer the sender with ICMP port unreachable from this node
};

struct Decision {
    Fate fate = Fate::Accept;
    std::string reason;  // for Drop/Reject: "server-fw: rule 3 (default drop)"
    trace::Fact fact = trace::Fact::None;  // the deciding fact (the segment's `fact`)
};

struct HookContext {
    int node = -1;             // the node's index in the Topology
    int in_iface = -1;         // interface the packet arrived on; -1 when the node sent it itself
    int out_iface = -1;        // postrouting only: the interface it will leave on
    trace::TimeNs now = 0;     // simulated time since the start of the run
};

class PacketProcessor {
public:
    virtual ~PacketProcessor() = default;
    // Before routing (DNAT/port forwarding, filtering, ALG). May rewrite the packet; a rewritten
    // destination is routed as such (possibly to this node itself).
    virtual Decision prerouting(Packet&, const HookContext&, std::vector<mbox::MiddleboxNote>&) { return {}; }
    // After routing chose the egress interface (source NAT).
    virtual Decision postrouting(Packet&, const HookContext&, std::vector<mbox::MiddleboxNote>&) { return {}; }
    // Segments the node sends itself after the packet prerouting just decided, whatever its fate:
    // an ALG answering a command in the peer's name (the FTP64 ALG's replies). Their
    // src/dst/seq/ack are final.
    virtual std::vector<Packet> take_answers() { return {}; }
};

// A plain router: routing only, no translation, no filtering.
class RoutingOnly final : public PacketProcessor {};

}  // namespace ftpsim::net
