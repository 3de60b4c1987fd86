#include "sim/mbox/nat.hpp"

#include <algorithm>

namespace ftpsim::mbox {

const char* to_string(NatBehaviour b) {
    switch (b) {
    case NatBehaviour::EndpointIndependent: return "endpoint-independent";
    case NatBehaviour::AddressDependent: return "address-dependent";
    case NatBehaviour::AddressAndPortDependent: return "address-and-port-dependent";
    }
    return "?";
}

const char* to_string(NoteKind k) {
    switch (k) {
    case NoteKind::Conntrack: return "conntrack";
    case NoteKind::Nat: return "nat";
    case NoteKind::PortForward: return "port-forward";
    case NoteKind::Firewall: return "firewall";
    case NoteKind::Alg: return "alg";
    case NoteKind::Route: return "route";
    }
    return "?";
}

static NatConfig preset(NatBehaviour mapping, NatBehaviour filtering) {
    NatConfig c;
    c.mapping = mapping;
    c.filtering = filtering;
    return c;
}

NatConfig NatConfig::full_cone() {
    return preset(NatBehaviour::EndpointIndependent, NatBehaviour::EndpointIndependent);
}
NatConfig NatConfig::restricted_cone() {
    return preset(NatBehaviour::EndpointIndependent, NatBehaviour::AddressDependent);
}
NatConfig NatConfig::port_restricted() {
    return preset(NatBehaviour::EndpointIndependent, NatBehaviour::AddressAndPortDependent);
}
NatConfig NatConfig::symmetric() {
    return preset(NatBehaviour::AddressAndPortDependent, NatBehaviour::AddressAndPortDependent);
}

bool filter_admits(NatBehaviour behaviour, const std::vector<HostPort>& contacted,
                   const HostPort& remote) {
    return std::any_of(contacted.begin(), contacted.end(), [&](const HostPort& c) {
        switch (behaviour) {
        case NatBehaviour::EndpointIndependent: return true;
        case NatBehaviour::AddressDependent: return c.addr == remote.addr;
        case NatBehaviour::AddressAndPortDependent: return c == remote;
        }
        return false;
    });
}

Nat::Nat(NatConfig config, IpAddress external_address)
    : config_(config), external_(external_address), cursor_(config.port_min) {}

HostPort Nat::remote_key(const HostPort& remote) const {
    switch (config_.mapping) {
    case NatBehaviour::EndpointIndependent: return {};
    case NatBehaviour::AddressDependent: return {remote.addr, 0};
    case NatBehaviour::AddressAndPortDependent: return remote;
    }
    return remote;
}

bool Nat::reusable(const NatMapping& m, const HostPort& internal, const HostPort& remote) const {
    // ALG reservations belong to one announced data port; masquerade flows reuse them only when
    // the internal endpoint matches, as any mapping.
    return m.internal == internal && m.remote_key == remote_key(remote);
}

NatMapping* Nat::map_outbound(const HostPort& internal, const HostPort& remote, TimeNs now,
                              bool& created) {
    created = false;
    for (auto& [id, m] : mappings_)
        if (reusable(m, internal, remote)) return &m;
    auto port = allocate_port(internal.port, config_.port_preservation);
    if (!port) return nullptr;
    created = true;
    return &add(internal, *port, remote, now, "masquerade");
}

NatMapping* Nat::reserve(const HostPort& internal, std::uint16_t wanted, TimeNs now,
                         std::string origin) {
    // The kernel (nf_nat_exp_find_port) tries the announced port first, then others.
    auto port = allocate_port(wanted, true);
    if (!port) return nullptr;
    NatMapping& m = add(internal, *port, {}, now, std::move(origin));
    m.remote_key = {};  // any remote may use it: the expectation does the admitting
    return &m;
}

NatMapping& Nat::add(const HostPort& internal, std::uint16_t port, const HostPort& remote,
                     TimeNs now, std::string origin) {
    NatMapping m;
    m.id = next_id_++;
    m.internal = internal;
    m.external = {external_, port};
    m.remote_key = remote_key(remote);
    m.origin = std::move(origin);
    m.created = m.last_used = now;
    return mappings_[m.id] = m;
}

bool Nat::port_free(std::uint16_t port) const {
    if (port < config_.port_min || port > config_.port_max) return false;
    for (auto [lo, hi] : excluded_)
        if (port >= lo && port <= hi) return false;
    for (const auto& [id, m] : mappings_)
        if (m.external.port == port) return false;
    return true;
}

// Deterministic: the wanted port if free (port preservation), else the next free port after it;
// without preservation, the next free port after the previous allocation. Wraps once round the pool.
std::optional<std::uint16_t> Nat::allocate_port(std::uint16_t wanted, bool try_wanted) {
    const std::uint32_t size = std::uint32_t(config_.port_max) - config_.port_min + 1;
    std::uint32_t start = cursor_;
    if (try_wanted && wanted >= config_.port_min && wanted <= config_.port_max) start = wanted;
    for (std::uint32_t i = 0; i < size; ++i) {
        auto port = static_cast<std::uint16_t>(config_.port_min + (start - config_.port_min + i) % size);
        if (!port_free(port)) continue;
        if (!try_wanted)
            cursor_ = port == config_.port_max ? config_.port_min : static_cast<std::uint16_t>(port + 1);
        return port;
    }
    return std::nullopt;
}

Nat::Admission Nat::admit_inbound(const HostPort& external, const HostPort& remote,
                                  NatMapping*& mapping) {
    mapping = external.addr == external_ ? find_external(external.port) : nullptr;
    if (!mapping) return Admission::NoMapping;
    if (mapping->origin != "masquerade") return Admission::Filtered;  // only its expectation admits
    return filter_admits(config_.filtering, mapping->contacted, remote) ? Admission::Admitted
                                                                         : Admission::Filtered;
}

void Nat::touch(NatMapping& m, bool inbound, std::uint8_t tcp_flags, const HostPort& remote,
                TimeNs now) {
    m.last_used = now;
    if (!inbound && std::find(m.contacted.begin(), m.contacted.end(), remote) == m.contacted.end())
        m.contacted.push_back(remote);
    (inbound ? m.seen_inbound : m.seen_outbound) = true;
    if (tcp_flags & (kFin | kRst)) m.closing = true;
    else if (tcp_flags & kSyn && !(tcp_flags & kAck) && !inbound) m.closing = false;  // a new flow reuses it
}

TimeNs Nat::timeout_of(const NatMapping& m) const {
    return m.established() ? config_.timeouts.established : config_.timeouts.transitory;
}

bool Nat::expired(const NatMapping& m, TimeNs now) const { return now - m.last_used >= timeout_of(m); }

std::vector<NatMapping> Nat::expire(TimeNs now) {
    std::vector<NatMapping> gone;
    for (auto it = mappings_.begin(); it != mappings_.end();) {
        if (expired(it->second, now)) {
            gone.push_back(it->second);
            it = mappings_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

NatMapping* Nat::find(int id) {
    auto it = mappings_.find(id);
    return it == mappings_.end() ? nullptr : &it->second;
}

NatMapping* Nat::find_external(std::uint16_t port) {
    for (auto& [id, m] : mappings_)
        if (m.external.port == port) return &m;
    return nullptr;
}

std::vector<NatMapping> Nat::mappings() const {
    std::vector<NatMapping> out;
    for (const auto& [id, m] : mappings_) out.push_back(m);
    return out;
}

}  // namespace ftpsim::mbox
