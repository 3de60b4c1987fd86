// The fault "link-down" (scenario `faults:`): packets arriving at a node over the link during
// [from, until) are lost. It wraps the node's own packet hook, if any (a router's pipeline, a host
// firewall), which sees every other packet as before. sim/run installs one on each end of the link.
#pragma once

#include <string>
#include <vector>

#include "sim/net/processor.hpp"
#include "trace/trace.hpp"

namespace ftpsim::net {

class LinkDown final : public PacketProcessor {
public:
    LinkDown(PacketProcessor* inner, int iface, std::string link, trace::TimeNs from, trace::TimeNs until);
    Decision prerouting(Packet& p, const HookContext& ctx, std::vector<mbox::MiddleboxNote>& notes) override;
    Decision postrouting(Packet& p, const HookContext& ctx, std::vector<mbox::MiddleboxNote>& notes) override;

private:
    PacketProcessor* inner_;  // the node's own hook, or nullptr
    int iface_;               // the node's interface on the link
    std::string link_;
    trace::TimeNs from_, until_;
};

}  // namespace ftpsim::net
