// NAT after RFC 4787 (UDP behaviour requirements, which RFC 5382 applies to TCP).
//
// A NatMapping binds an internal endpoint to an external one. How mappings are reused (mapping
// behaviour) and which inbound packets a mapping admits (filtering behaviour) are independent
// knobs; the old "cone" names are presets of the two.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

// RFC 4787 section 4.1 (mapping) and 5 (filtering) use the same three dependencies.
enum class NatBehaviour : std::uint8_t {
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
};
const char* to_string(NatBehaviour b);  // "endpoint-independent", ...

// RFC 5382 REQ-5: an established connection's idle mapping lives at least 2 h 4 min; a
// transitory one (handshake not finished, or closing) may go after 4 min.
struct NatTimeouts {
    TimeNs established = (2 * 3600 + 4 * 60) * trace::kNsPerSec;
    TimeNs transitory = 4 * 60 * trace::kNsPerSec;
};

struct NatConfig {
    NatBehaviour mapping = NatBehaviour::EndpointIndependent;
    NatBehaviour filtering = NatBehaviour::AddressAndPortDependent;
    // Keep the internal port when no mapping holds it (RFC 4787 REQ-3 "port preservation", Linux's
    // SNAT/masquerade); on a clash, the next free port of the pool. false: every new mapping takes
    // the next port of the pool (iptables --random-fully without the randomness).
    bool port_preservation = true;
    // The external port pool, inclusive (iptables --to-ports). 0,0: none given, as a plain
    // masquerade rule: any port is kept when free, and a clash is remapped within the port's
    // class as Linux does (1-511, 600-1023 or 1024-65535).
    std::uint16_t port_min = 0;
    std::uint16_t port_max = 0;
    NatTimeouts timeouts;
    // RFC 4787 REQ-9 asks for it; a Linux masquerade rule alone does not hairpin (it needs a
    // DNAT and a second SNAT rule), so a home router without that setup drops such a packet.
    bool hairpinning = false;

    static NatConfig full_cone();        // EIM + EIF
    static NatConfig restricted_cone();  // EIM + ADF
    static NatConfig port_restricted();  // EIM + APDF (what Linux masquerade behaves like)
    static NatConfig symmetric();        // APDM + APDF
};

// The old names of RFC 4787's behaviours (section 3), as presets of mapping x filtering: the one
// list the scenario format (nodes.NAME.nat.type), the GUI and the docs take their names from.
// A new NAT behaviour is a row here (docs/design.md, "How to add a NAT behaviour").
struct NatPreset {
    const char* name;         // "full-cone", ...
    const char* description;  // one line for the docs and the GUI
    NatBehaviour mapping;
    NatBehaviour filtering;
    NatConfig config() const;  // NatConfig's defaults with this mapping and filtering
};
std::span<const NatPreset> nat_presets();
const NatPreset* find_nat_preset(std::string_view name);
std::span<const NatBehaviour> nat_behaviours();  // the three, for the format's mapping/filtering

struct NatMapping {
    int id = 0;
    HostPort internal;  // the inside endpoint, e.g. 192.168.1.10:50069
    HostPort external;  // its public face, e.g. 203.0.113.1:50069
    // For address(-and-port)-dependent mapping: the remote this mapping was made for (the port
    // is 0 when only the address counts). Unused for endpoint-independent mapping.
    HostPort remote_key;
    // Remote endpoints the internal endpoint has sent to through this mapping: filtering
    // admits inbound packets from these only (by address or address and port).
    std::vector<HostPort> contacted;
    std::string origin = "masquerade";  // or "ALG expectation": for display
    // Made by reserve() for an ALG's expectation: no unsolicited packet uses it (the expectation
    // admits its data connection); a masquerade mapping admits what its filtering allows.
    bool reserved = false;
    // How the external port was chosen: the internal (or, for the ALG, the announced) port kept,
    // or another one because `clash_with` (a mapping id) held it or it lay outside the pool
    // (clash_with 0).
    bool port_preserved = true;
    std::uint16_t wanted_port = 0;
    int clash_with = 0;
    TimeNs created = 0;
    TimeNs last_used = 0;
    // RFC 5382: "established" once packets have crossed both ways (the handshake is through),
    // transitory before that and again after a FIN or RST.
    bool seen_inbound = false;
    bool seen_outbound = false;
    bool closing = false;
    bool established() const { return seen_inbound && seen_outbound && !closing; }
};

class Nat {
public:
    Nat(NatConfig config, IpAddress external_address);

    const NatConfig& config() const { return config_; }
    const IpAddress& external_address() const { return external_; }

    // The mapping for an outbound packet from `internal` to `remote`: the existing one that the
    // mapping behaviour allows to reuse, or a new one. nullptr when the port pool is exhausted.
    NatMapping* map_outbound(const HostPort& internal, const HostPort& remote, TimeNs now,
                             bool& created);

    enum class Admission { Admitted, NoMapping, Filtered };
    // Whether an unsolicited inbound packet from `remote` to `external` passes a mapping's
    // filtering; `mapping` is set whenever a mapping owns that external endpoint.
    Admission admit_inbound(const HostPort& external, const HostPort& remote,
                            NatMapping*& mapping);

    // An explicit mapping for a data port announced through the ALG; tries `wanted` first.
    NatMapping* reserve(const HostPort& internal, std::uint16_t wanted, TimeNs now,
                        std::string origin);

    // Marks packets of a mapping: keeps it alive and tracks the state that picks its timeout.
    void touch(NatMapping& m, bool inbound, std::uint8_t tcp_flags, const HostPort& remote,
               TimeNs now);

    // Removes mappings idle beyond their timeout at `now` and returns them.
    std::vector<NatMapping> expire(TimeNs now);
    bool expired(const NatMapping& m, TimeNs now) const;
    TimeNs timeout_of(const NatMapping& m) const;

    // External ports the pool must not hand out (port forwards own them).
    void exclude_ports(std::uint16_t lo, std::uint16_t hi) { excluded_.emplace_back(lo, hi); }
    // No mapping or port forward holds `port`, and it is in the pool when one is given.
    bool port_free(std::uint16_t port) const;

    NatMapping* find(int id);
    NatMapping* find_external(std::uint16_t port);
    // The oldest mapping of `internal` (any remote key, ALG reservations included); nullptr when
    // it has none.
    NatMapping* find_internal(const HostPort& internal);
    std::vector<NatMapping> mappings() const;  // in creation order
    std::size_t size() const { return mappings_.size(); }

private:
    // Lookups by (internal, remote key), by internal endpoint and by external port are hash or
    // array lookups, O(1) per packet; expiry goes through a lazily checked min-heap of idle
    // deadlines, O(log n). They give the same answers as a scan of the mappings in creation order
    // (the lowest id wins); mappings() and expire() return mappings in id order.
    using Table = std::unordered_map<int, NatMapping>;
    void erase(Table::iterator it);
    void push_deadline(const NatMapping& m);
    HostPort remote_key(const HostPort& remote) const;
    std::optional<std::uint16_t> allocate_port(std::uint16_t wanted, bool try_wanted);
    std::pair<std::uint16_t, std::uint16_t> pool_for(std::uint16_t wanted) const;
    NatMapping& add(const HostPort& internal, std::uint16_t port, std::uint16_t wanted, const HostPort& remote,
                    TimeNs now, std::string origin);

    NatConfig config_;
    IpAddress external_;
    Table mappings_;  // by id; node-based: addresses stay valid
    std::unordered_multimap<std::pair<HostPort, HostPort>, int, HostPortPairHash> by_flow_;  // (internal, remote key)
    std::unordered_multimap<HostPort, int, HostPortHash> by_internal_;
    // External port -> the id of the mapping that holds it (0: none), sized on the first mapping.
    // A port has at most one mapping: add() only takes ports that port_free() found free.
    std::vector<int> by_port_;
    // Bit p set: a mapping holds port p. allocate_port skips 64 used ports per word instead of
    // walking a run of them (at tens of thousands of mappings a clash walked most of the pool).
    std::vector<std::uint64_t> used_ = std::vector<std::uint64_t>(65536 / 64);
    // The first port of [from, to] whose bit is clear; 0 when none (port 0 is never allocated).
    std::uint32_t next_unused(std::uint32_t from, std::uint32_t to) const;
    using Deadline = std::pair<TimeNs, int>;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
    std::vector<std::pair<std::uint16_t, std::uint16_t>> excluded_;
    std::uint16_t cursor_;  // where the next non-preserving allocation starts looking
    int next_id_ = 1;
};

// True when `remote` passes `behaviour`'s filter given the endpoints already contacted.
bool filter_admits(NatBehaviour behaviour, const std::vector<HostPort>& contacted,
                   const HostPort& remote);

}  // namespace ftpsim::mbox
