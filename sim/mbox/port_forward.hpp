// Port forwarding (destination NAT): an external port, or a range, to an internal address:port.
// A range maps onto a range of the same length, keeping the offset (30000-30009 -> 30000-30009,
// or 2100-2109 -> 21000-21009), like iptables DNAT --to-destination addr:lo-hi on a port range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

struct PortForward {
    std::uint16_t external_lo = 0, external_hi = 0;  // inclusive; lo == hi for one port
    IpAddress internal_addr;
    std::uint16_t internal_lo = 0;                   // the port external_lo goes to
    std::uint64_t hits = 0;                          // new connections forwarded

    bool covers(std::uint16_t port) const { return port >= external_lo && port <= external_hi; }
    HostPort target(std::uint16_t external_port) const;
    std::string to_string() const;  // "tcp 30000-30009 -> 192.168.2.10:30000-30009"
};

class PortForwarder {
public:
    void add(PortForward f) { forwards_.push_back(f); }
    // The first forward covering `port`, counting the hit.
    const PortForward* match(std::uint16_t port);
    const std::vector<PortForward>& forwards() const { return forwards_; }
    bool empty() const { return forwards_.empty(); }

private:
    std::vector<PortForward> forwards_;
};

}  // namespace ftpsim::mbox
