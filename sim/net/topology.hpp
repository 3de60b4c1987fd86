// The network's shape as plain data: nodes (hosts and routers) with addressed interfaces,
// point-to-point links with latency, bandwidth and loss, and static routes.
//
// Built by the scenario loader or by hand in tests; validate() checks it and names the first
// problem. Network turns a valid Topology into a SimGrid platform (see docs/network-model.md).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/address.hpp"
#include "sim/mbox/packet.hpp"
#include "trace/trace.hpp"

namespace ftpsim::net {

using proto::HostPort;
using proto::IpAddress;
using trace::TimeNs;

// A topology that cannot be built: an address outside its link's network, a route whose next hop
// is not a neighbour, a duplicate address, an unknown name...
class TopologyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class NodeKind { Host, Router };

struct Interface {
    std::string name;      // "eth0"
    IpAddress addr;
    int prefix = 24;       // network length: 192.168.1.10/24
    int link = -1;         // index into Topology::links(), -1 while unconnected
    // IPv4 only: the interface also answers for the count - 1 addresses after addr (a client node
    // that stands for many hosts behind one switch: scenario key clients.*.hosts).
    std::uint32_t count = 1;
    bool has(const IpAddress& a) const {
        if (count <= 1 || !a.is_v4() || !addr.is_v4()) return a == addr;
        return a.v4_host_order() - addr.v4_host_order() < count;
    }
};

// `dest` via the neighbour whose address is `via` (0.0.0.0/0 is the default route).
struct StaticRoute {
    mbox::Prefix dest;
    IpAddress via;
};

struct NodeSpec {
    std::string name;
    NodeKind kind = NodeKind::Host;
    std::string role;      // "client", "server", "nat", "router"... (for the trace)
    std::vector<Interface> interfaces;
    std::vector<StaticRoute> routes;
    // The node's net.ipv4.ip_local_port_range; 0,0: the TcpConfig default (32768-60999).
    std::uint16_t local_port_lo = 0, local_port_hi = 0;
};

struct LinkEnd {
    int node = -1;
    int iface = -1;
};

struct LinkSpec {
    std::string name;
    LinkEnd a, b;
    TimeNs latency_ns = 0;        // one-way propagation delay
    double bandwidth_bps = 1e9;   // serialisation rate, bits per second
    double loss = 0;              // probability that a packet is lost, per packet and direction
};

class Topology {
public:
    // Each returns the new node's index. Names must be unique.
    int add_host(const std::string& name, const std::string& role = "host");
    int add_router(const std::string& name, const std::string& role = "router");
    // "192.168.1.10/24"; the interface name must be unique on its node.
    // count > 1 (IPv4): the interface holds the count consecutive addresses from the given one.
    void add_interface(const std::string& node, const std::string& iface, const std::string& cidr,
                       std::uint32_t count = 1);
    // Joins two interfaces ("node", "iface") with a link; returns its index.
    int add_link(const std::string& name, const std::string& node_a, const std::string& iface_a,
                 const std::string& node_b, const std::string& iface_b, TimeNs latency_ns,
                 double bandwidth_bps, double loss = 0);
    // "0.0.0.0/0" (default) or "10.0.0.0/8" via the neighbour address `via`.
    void add_route(const std::string& node, const std::string& dest_cidr, const std::string& via);
    // The node's ip_local_port_range (lo <= hi, lo > 0).
    void set_local_port_range(const std::string& node, std::uint16_t lo, std::uint16_t hi);

    // Throws TopologyError naming the first problem found.
    void validate() const;

    const std::vector<NodeSpec>& nodes() const { return nodes_; }
    const std::vector<LinkSpec>& links() const { return links_; }
    int node_index(const std::string& name) const;  // -1 when unknown
    // The node owning `addr` (-1 when none) and which of its interfaces.
    int owner_of(const IpAddress& addr, int* iface = nullptr) const;

    std::vector<trace::Node> trace_nodes() const;
    std::vector<trace::Link> trace_links() const;

private:
    int add_node(const std::string& name, NodeKind kind, const std::string& role);
    NodeSpec& node_named(const std::string& name);
    int iface_index(const NodeSpec& n, const std::string& iface) const;

    std::vector<NodeSpec> nodes_;
    std::vector<LinkSpec> links_;
};

IpAddress parse_ipv4_or_throw(const std::string& text);
mbox::Prefix parse_prefix_or_throw(const std::string& cidr);
// The network containing `addr` (host bits cleared).
mbox::Prefix network_of(const IpAddress& addr, int prefix);

}  // namespace ftpsim::net
