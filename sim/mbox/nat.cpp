#include "sim/mbox/nat.hpp"

#include <algorithm>
#include <iterator>

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

namespace {
constexpr NatBehaviour kEI = NatBehaviour::EndpointIndependent;
constexpr NatBehaviour kAD = NatBehaviour::AddressDependent;
constexpr NatBehaviour kAPD = NatBehaviour::AddressAndPortDependent;

// RFC 4787 section 3 maps the old cone names onto mapping x filtering behaviours.
constexpr NatPreset kPresets[] = {
    {"full-cone", "endpoint-independent mapping and filtering", kEI, kEI},
    {"restricted", "endpoint-independent mapping, address-dependent filtering", kEI, kAD},
    {"port-restricted", "endpoint-independent mapping, address-and-port-dependent filtering", kEI, kAPD},
    {"symmetric", "address-and-port-dependent mapping and filtering", kAPD, kAPD},
};
constexpr NatBehaviour kBehaviours[] = {kEI, kAD, kAPD};
}  // namespace

NatConfig NatPreset::config() const {
    NatConfig c;
    c.mapping = mapping;
    c.filtering = filtering;
    return c;
}
std::span<const NatPreset> nat_presets() { return kPresets; }
const NatPreset* find_nat_preset(std::string_view name) {
    for (const auto& p : kPresets)
        if (name == p.name) return &p;
    return nullptr;
}
std::span<const NatBehaviour> nat_behaviours() { return kBehaviours; }

NatConfig NatConfig::full_cone() { return find_nat_preset("full-cone")->config(); }
NatConfig NatConfig::restricted_cone() { return find_nat_preset("restricted")->config(); }
NatConfig NatConfig::port_restricted() { return find_nat_preset("port-restricted")->config(); }
NatConfig NatConfig::symmetric() { return find_nat_preset("symmetric")->config(); }

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

namespace {
// The lowest id of a range of (key, id) entries: the mapping a scan in creation order finds first.
template <class It>
int lowest_id(It first, It last) {
    int best = first->second;
    for (; first != last; ++first) best = std::min(best, first->second);
    return best;
}
}  // namespace

Nat::Nat(NatConfig config, IpAddress external_address)
    : config_(config), external_(external_address), cursor_(config.port_min ? config.port_min : 1024) {}

HostPort Nat::remote_key(const HostPort& remote) const {
    switch (config_.mapping) {
    case NatBehaviour::EndpointIndependent: return {};
    case NatBehaviour::AddressDependent: return {remote.addr, 0};
    case NatBehaviour::AddressAndPortDependent: return remote;
    }
    return remote;
}

NatMapping* Nat::map_outbound(const HostPort& internal, const HostPort& remote, TimeNs now,
                              bool& created) {
    created = false;
    if (const auto [first, last] = by_flow_.equal_range({internal, remote_key(remote)}); first != last)
        return &mappings_.at(lowest_id(first, last));
    auto port = allocate_port(internal.port, config_.port_preservation);
    if (!port) return nullptr;
    created = true;
    return &add(internal, *port, config_.port_preservation ? internal.port : 0, remote, now, "masquerade");
}

NatMapping* Nat::reserve(const HostPort& internal, std::uint16_t wanted, TimeNs now,
                         std::string origin) {
    // The kernel (nf_nat_exp_find_port) tries the announced port first, then others.
    auto port = allocate_port(wanted, true);
    if (!port) return nullptr;
    // remote_key({}) is the empty key: any remote may use it, the expectation does the admitting.
    NatMapping& m = add(internal, *port, wanted, {}, now, std::move(origin));
    m.reserved = true;
    return &m;
}

NatMapping& Nat::add(const HostPort& internal, std::uint16_t port, std::uint16_t wanted, const HostPort& remote,
                     TimeNs now, std::string origin) {
    NatMapping m;
    m.id = next_id_++;
    m.wanted_port = wanted;
    m.port_preserved = wanted != 0 && port == wanted;
    if (wanted != 0 && port != wanted)
        if (const NatMapping* holder = find_external(wanted)) m.clash_with = holder->id;
    m.internal = internal;
    m.external = {external_, port};
    m.remote_key = remote_key(remote);
    m.origin = std::move(origin);
    m.created = m.last_used = now;
    const int id = m.id;
    NatMapping& stored = mappings_.emplace(id, std::move(m)).first->second;
    by_flow_.emplace(std::pair{stored.internal, stored.remote_key}, stored.id);
    by_internal_.emplace(stored.internal, stored.id);
    if (by_port_.empty()) by_port_.resize(65536);
    by_port_[stored.external.port] = stored.id;
    used_[stored.external.port >> 6] |= std::uint64_t{1} << (stored.external.port & 63);
    push_deadline(stored);
    return stored;
}

void Nat::push_deadline(const NatMapping& m) { deadlines_.emplace(m.last_used + timeout_of(m), m.id); }

void Nat::erase(Table::iterator it) {
    const NatMapping& m = it->second;
    auto drop = [&](auto& index, const auto& key) {
        auto [found, last] = index.equal_range(key);
        while (found != last) found = found->second == m.id ? index.erase(found) : std::next(found);
    };
    drop(by_flow_, std::pair{m.internal, m.remote_key});
    drop(by_internal_, m.internal);
    if (by_port_[m.external.port] == m.id) {
        by_port_[m.external.port] = 0;
        used_[m.external.port >> 6] &= ~(std::uint64_t{1} << (m.external.port & 63));
    }
    mappings_.erase(it);
}

bool Nat::port_free(std::uint16_t port) const {
    if (port == 0) return false;
    if (config_.port_min && (port < config_.port_min || port > config_.port_max)) return false;
    for (auto [lo, hi] : excluded_)
        if (port >= lo && port <= hi) return false;
    return !(used_[port >> 6] >> (port & 63) & 1);
}

// Where a port is looked for: the pool when one is given, else the class of the wanted port, as
// nf_nat_l4proto_unique_tuple without a range: below 512 stays below 512 (rsh and friends check
// it), 512-1023 stays privileged, the rest goes to 1024-65535.
std::pair<std::uint16_t, std::uint16_t> Nat::pool_for(std::uint16_t wanted) const {
    if (config_.port_min) return {config_.port_min, config_.port_max};
    if (wanted == 0 || wanted >= 1024) return {1024, 65535};
    return wanted < 512 ? std::pair<std::uint16_t, std::uint16_t>{1, 511} : std::pair<std::uint16_t, std::uint16_t>{600, 1023};
}

// Deterministic: the wanted port if free (port preservation), else the next free port after it in
// its pool; without preservation, the next free port after the previous allocation. Wraps once
// round the pool. (Linux starts a clash's search at a random offset; see docs/middleboxes.md.)
std::uint32_t Nat::next_unused(std::uint32_t from, std::uint32_t to) const {
    for (std::uint32_t w = from >> 6; from <= to && w <= (to >> 6); ++w) {
        std::uint64_t free_bits = ~used_[w];
        if (w == from >> 6) free_bits &= ~std::uint64_t{0} << (from & 63);
        if (w == to >> 6 && (to & 63) != 63) free_bits &= (std::uint64_t{1} << ((to & 63) + 1)) - 1;
        if (free_bits) return (w << 6) + static_cast<std::uint32_t>(__builtin_ctzll(free_bits));
    }
    return 0;
}

std::optional<std::uint16_t> Nat::allocate_port(std::uint16_t wanted, bool try_wanted) {
    if (try_wanted && port_free(wanted)) return wanted;
    const auto [lo, hi] = pool_for(try_wanted ? wanted : 0);
    std::uint32_t start = cursor_ >= lo && cursor_ <= hi ? cursor_ : lo;
    if (try_wanted && wanted >= lo && wanted <= hi) start = wanted;
    // The first free port from start to hi, then from lo to start - 1 (a scan round the pool,
    // skipping the used ports a word of the bitmap at a time).
    const std::pair<std::uint32_t, std::uint32_t> spans[] = {{start, hi}, {lo, start - 1}};
    for (const auto& [from, to] : spans) {
        if (to < from) continue;
        for (std::uint32_t p = next_unused(from, to); p != 0; p = p < to ? next_unused(p + 1, to) : 0) {
            const auto port = static_cast<std::uint16_t>(p);
            if (!port_free(port)) continue;
            if (!try_wanted) cursor_ = port == hi ? lo : static_cast<std::uint16_t>(port + 1);
            return port;
        }
    }
    return std::nullopt;
}

Nat::Admission Nat::admit_inbound(const HostPort& external, const HostPort& remote,
                                  NatMapping*& mapping) {
    mapping = external.addr == external_ ? find_external(external.port) : nullptr;
    if (!mapping) return Admission::NoMapping;
    if (mapping->reserved) return Admission::Filtered;  // only its expectation admits
    return filter_admits(config_.filtering, mapping->contacted, remote) ? Admission::Admitted
                                                                         : Admission::Filtered;
}

void Nat::touch(NatMapping& m, bool inbound, std::uint8_t tcp_flags, const HostPort& remote,
                TimeNs now) {
    const TimeNs before = timeout_of(m);
    m.last_used = now;
    if (!inbound && std::find(m.contacted.begin(), m.contacted.end(), remote) == m.contacted.end())
        m.contacted.push_back(remote);
    (inbound ? m.seen_inbound : m.seen_outbound) = true;
    if (tcp_flags & (kFin | kRst)) m.closing = true;
    else if (tcp_flags & kSyn && !(tcp_flags & kAck) && !inbound) m.closing = false;  // a new flow reuses it
    // The heap holds a deadline no later than the real one unless the timeout just got shorter.
    if (timeout_of(m) < before) push_deadline(m);
}

TimeNs Nat::timeout_of(const NatMapping& m) const {
    return m.established() ? config_.timeouts.established : config_.timeouts.transitory;
}

bool Nat::expired(const NatMapping& m, TimeNs now) const { return now - m.last_used >= timeout_of(m); }

std::vector<NatMapping> Nat::expire(TimeNs now) {
    std::vector<NatMapping> gone;
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
        const int id = deadlines_.top().second;
        deadlines_.pop();
        auto it = mappings_.find(id);
        if (it == mappings_.end()) continue;
        if (expired(it->second, now)) {
            gone.push_back(it->second);
            erase(it);
        } else {
            push_deadline(it->second);
        }
    }
    std::sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return gone;
}

NatMapping* Nat::find(int id) {
    auto it = mappings_.find(id);
    return it == mappings_.end() ? nullptr : &it->second;
}

NatMapping* Nat::find_external(std::uint16_t port) {
    const int id = by_port_.empty() ? 0 : by_port_[port];
    return id ? &mappings_.at(id) : nullptr;
}

NatMapping* Nat::find_internal(const HostPort& internal) {
    const auto [first, last] = by_internal_.equal_range(internal);
    return first == last ? nullptr : &mappings_.at(lowest_id(first, last));
}

std::vector<NatMapping> Nat::mappings() const {
    std::vector<NatMapping> out;
    out.reserve(mappings_.size());
    for (const auto& [id, m] : mappings_) out.push_back(m);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

}  // namespace ftpsim::mbox
