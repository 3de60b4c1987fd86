#include "sim/net/topology.hpp"

#include <algorithm>
#include <charconv>

namespace ftpsim::net {

IpAddress parse_ipv4_or_throw(const std::string& text) {
    auto a = proto::parse_ip(text);
    if (!a) throw TopologyError("'" + text + "' is not an IP address");
    return *a;
}

mbox::Prefix parse_prefix_or_throw(const std::string& cidr) {
    auto slash = cidr.find('/');
    if (slash == std::string::npos) throw TopologyError("'" + cidr + "' has no /prefix length");
    IpAddress addr = parse_ipv4_or_throw(cidr.substr(0, slash));
    int len = -1;
    const char* first = cidr.data() + slash + 1;
    const char* last = cidr.data() + cidr.size();
    auto [ptr, ec] = std::from_chars(first, last, len);
    int max = addr.is_v4() ? 32 : 128;
    if (ec != std::errc() || ptr != last || len < 0 || len > max)
        throw TopologyError("'" + cidr + "' has a bad prefix length (expected 0.." + std::to_string(max) + ")");
    return {addr, len};
}

mbox::Prefix network_of(const IpAddress& addr, int prefix) {
    IpAddress net = addr;
    int bits = prefix;
    for (auto& byte : net.bytes) {
        if (bits >= 8) {
            bits -= 8;
            continue;
        }
        byte &= bits <= 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - bits));
        bits = 0;
    }
    return {net, prefix};
}

int Topology::add_node(const std::string& name, NodeKind kind, const std::string& role) {
    if (name.empty()) throw TopologyError("a node needs a name");
    if (node_index(name) >= 0) throw TopologyError("duplicate node name '" + name + "'");
    nodes_.push_back(NodeSpec{name, kind, role, {}, {}});
    return static_cast<int>(nodes_.size()) - 1;
}

int Topology::add_host(const std::string& name, const std::string& role) {
    return add_node(name, NodeKind::Host, role);
}

int Topology::add_router(const std::string& name, const std::string& role) {
    return add_node(name, NodeKind::Router, role);
}

int Topology::node_index(const std::string& name) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].name == name) return static_cast<int>(i);
    return -1;
}

NodeSpec& Topology::node_named(const std::string& name) {
    int i = node_index(name);
    if (i < 0) throw TopologyError("unknown node '" + name + "'");
    return nodes_[static_cast<std::size_t>(i)];
}

int Topology::iface_index(const NodeSpec& n, const std::string& iface) const {
    for (std::size_t i = 0; i < n.interfaces.size(); ++i)
        if (n.interfaces[i].name == iface) return static_cast<int>(i);
    return -1;
}

void Topology::add_interface(const std::string& node, const std::string& iface, const std::string& cidr,
                             std::uint32_t count) {
    NodeSpec& n = node_named(node);
    if (iface_index(n, iface) >= 0)
        throw TopologyError("node '" + node + "' already has an interface '" + iface + "'");
    mbox::Prefix p = parse_prefix_or_throw(cidr);
    if (count > 1) {
        const mbox::Prefix net = network_of(p.addr, p.len);
        if (!p.addr.is_v4() || !net.contains(IpAddress::v4(p.addr.v4_host_order() + (count - 1))) ||
            p.addr.v4_host_order() + (count - 1) < p.addr.v4_host_order())
            throw TopologyError(node + "/" + iface + ": " + std::to_string(count) + " addresses from " +
                                p.addr.to_string() + " do not fit in " + cidr);
    }
    n.interfaces.push_back(Interface{iface, p.addr, p.len, -1, count < 1 ? 1u : count});
}

int Topology::add_link(const std::string& name, const std::string& node_a, const std::string& iface_a,
                       const std::string& node_b, const std::string& iface_b, TimeNs latency_ns,
                       double bandwidth_bps, double loss) {
    for (const auto& l : links_)
        if (l.name == name) throw TopologyError("duplicate link name '" + name + "'");
    if (latency_ns < 0) throw TopologyError("link '" + name + "': negative latency");
    if (!(bandwidth_bps > 0)) throw TopologyError("link '" + name + "': bandwidth must be positive");
    if (!(loss >= 0 && loss <= 1)) throw TopologyError("link '" + name + "': loss must be in [0, 1]");
    int link = static_cast<int>(links_.size());
    auto end = [&](const std::string& node, const std::string& iface) {
        int ni = node_index(node);
        if (ni < 0) throw TopologyError("link '" + name + "': unknown node '" + node + "'");
        NodeSpec& n = nodes_[static_cast<std::size_t>(ni)];
        int ii = iface_index(n, iface);
        if (ii < 0) throw TopologyError("link '" + name + "': node '" + node + "' has no interface '" + iface + "'");
        Interface& itf = n.interfaces[static_cast<std::size_t>(ii)];
        if (itf.link >= 0)
            throw TopologyError("link '" + name + "': " + node + "/" + iface + " is already on link '" +
                                links_[static_cast<std::size_t>(itf.link)].name + "'");
        return LinkEnd{ni, ii};
    };
    LinkEnd a = end(node_a, iface_a);
    LinkEnd b = end(node_b, iface_b);
    if (a.node == b.node) throw TopologyError("link '" + name + "' joins node '" + node_a + "' to itself");
    for (const auto& l : links_)
        if ((l.a.node == a.node && l.b.node == b.node) || (l.a.node == b.node && l.b.node == a.node))
            throw TopologyError("link '" + name + "': '" + node_a + "' and '" + node_b +
                                "' are already joined by link '" + l.name + "' (one link per pair)");
    nodes_[static_cast<std::size_t>(a.node)].interfaces[static_cast<std::size_t>(a.iface)].link = link;
    nodes_[static_cast<std::size_t>(b.node)].interfaces[static_cast<std::size_t>(b.iface)].link = link;
    links_.push_back(LinkSpec{name, a, b, latency_ns, bandwidth_bps, loss});
    return link;
}

void Topology::add_route(const std::string& node, const std::string& dest_cidr, const std::string& via) {
    NodeSpec& n = node_named(node);
    n.routes.push_back(StaticRoute{parse_prefix_or_throw(dest_cidr), parse_ipv4_or_throw(via)});
}

void Topology::set_local_port_range(const std::string& node, std::uint16_t lo, std::uint16_t hi) {
    if (lo == 0 || lo > hi)
        throw TopologyError("ip_local_port_range of " + node + ": expected 1 <= lo <= hi, found " +
                            std::to_string(lo) + "-" + std::to_string(hi));
    NodeSpec& n = node_named(node);
    n.local_port_lo = lo;
    n.local_port_hi = hi;
}

int Topology::owner_of(const IpAddress& addr, int* iface) const {
    for (std::size_t n = 0; n < nodes_.size(); ++n)
        for (std::size_t i = 0; i < nodes_[n].interfaces.size(); ++i)
            if (nodes_[n].interfaces[i].has(addr)) {
                if (iface) *iface = static_cast<int>(i);
                return static_cast<int>(n);
            }
    return -1;
}

void Topology::validate() const {
    // Duplicate addresses anywhere in the topology.
    for (std::size_t n = 0; n < nodes_.size(); ++n)
        for (const auto& itf : nodes_[n].interfaces) {
            if (itf.addr.is_unspecified())
                throw TopologyError(nodes_[n].name + "/" + itf.name + ": the unspecified address cannot be assigned");
            int other_if = -1;
            int other = owner_of(itf.addr, &other_if);
            if (other != static_cast<int>(n) ||
                &nodes_[static_cast<std::size_t>(other)].interfaces[static_cast<std::size_t>(other_if)] != &itf)
                throw TopologyError("duplicate address " + itf.addr.to_string() + " on " + nodes_[n].name + "/" +
                                    itf.name + " and " + nodes_[static_cast<std::size_t>(other)].name + "/" +
                                    nodes_[static_cast<std::size_t>(other)].interfaces[static_cast<std::size_t>(other_if)].name);
        }
    // An interface standing for many addresses holds none of another interface's.
    for (const auto& n : nodes_)
        for (const auto& itf : n.interfaces) {
            if (itf.count <= 1) continue;
            for (const auto& m : nodes_)
                for (const auto& other : m.interfaces)
                    if (&other != &itf && itf.has(other.addr))
                        throw TopologyError("duplicate address " + other.addr.to_string() + " on " + m.name + "/" +
                                            other.name + " and among the " + std::to_string(itf.count) +
                                            " addresses of " + n.name + "/" + itf.name);
        }
    // Both ends of a link in one network.
    for (const auto& l : links_) {
        const Interface& a = nodes_[static_cast<std::size_t>(l.a.node)].interfaces[static_cast<std::size_t>(l.a.iface)];
        const Interface& b = nodes_[static_cast<std::size_t>(l.b.node)].interfaces[static_cast<std::size_t>(l.b.iface)];
        auto net_a = network_of(a.addr, a.prefix);
        auto net_b = network_of(b.addr, b.prefix);
        if (!net_a.contains(b.addr) || !net_b.contains(a.addr))
            throw TopologyError("link '" + l.name + "': address " + b.addr.to_string() + "/" + std::to_string(b.prefix) +
                                " (" + nodes_[static_cast<std::size_t>(l.b.node)].name + ") is outside the network " +
                                net_a.to_string() + " of " + nodes_[static_cast<std::size_t>(l.a.node)].name + "/" + a.name);
    }
    // Routes: the next hop must be a neighbour's address on a link of this node.
    for (const auto& n : nodes_)
        for (const auto& r : n.routes) {
            bool adjacent = false;
            for (const auto& itf : n.interfaces) {
                if (itf.link < 0) continue;
                const LinkSpec& l = links_[static_cast<std::size_t>(itf.link)];
                const LinkEnd& peer = (&nodes_[static_cast<std::size_t>(l.a.node)] == &n) ? l.b : l.a;
                if (nodes_[static_cast<std::size_t>(peer.node)].interfaces[static_cast<std::size_t>(peer.iface)].addr == r.via)
                    adjacent = true;
            }
            if (!adjacent)
                throw TopologyError("node '" + n.name + "': route " + r.dest.to_string() + " via " + r.via.to_string() +
                                    ": the next hop is not the address of a directly linked neighbour");
        }
}

std::vector<trace::Node> Topology::trace_nodes() const {
    std::vector<trace::Node> out;
    for (const auto& n : nodes_) {
        trace::Node t{n.name, n.kind == NodeKind::Host ? "host" : "router", n.role, {}};
        for (const auto& i : n.interfaces) t.addresses.push_back(i.addr.to_string());
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<trace::Link> Topology::trace_links() const {
    std::vector<trace::Link> out;
    for (const auto& l : links_)
        out.push_back(trace::Link{l.name, nodes_[static_cast<std::size_t>(l.a.node)].name,
                                  nodes_[static_cast<std::size_t>(l.b.node)].name, l.latency_ns, l.bandwidth_bps, l.loss});
    return out;
}

}  // namespace ftpsim::net
