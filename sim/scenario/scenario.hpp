// A scenario: what the learner describes in YAML (scenarios/README.md documents every key).
// Plain data; the loader (loader.hpp) fills it and validates it, the builder in sim/net turns it
// into a network and sessions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/address.hpp"
#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/firewall.hpp"
#include "sim/mbox/nat.hpp"
#include "sim/mbox/router.hpp"

namespace ftpsim::scenario {

// Where a value came from, for error messages after loading (semantic checks).
struct Mark {
    std::string file;
    int line = 0;    // 1-based; 0 = unknown
    int column = 0;  // 1-based
};

// A closed set of words in the format, each standing for one typed value. The loader reads the
// word once and hands the enum downstream; the schema (loader.hpp) lists the words as the key's
// allowed values, so the loader, --set, the GUI's knobs and scenarios/README.md name the same ones.
template <class E>
struct Choice {
    E value;
    std::string_view name;
};
template <class E>
std::span<const Choice<E>> choices();  // specialised below for each enum of the format
template <class E>
std::string_view name_of(E value) {
    for (const auto& c : choices<E>())
        if (c.value == value) return c.name;
    return "?";
}

enum class NodeKind { Host, Router };
template <>
inline std::span<const Choice<NodeKind>> choices<NodeKind>() {
    static constexpr Choice<NodeKind> kNames[] = {{NodeKind::Host, "host"}, {NodeKind::Router, "router"}};
    return kNames;
}

// How a client makes its data connections (clients.NODE.mode).
enum class ClientMode { Port, Eprt, Pasv, Epsv, EpsvAll, Spsv, Default, Fxp, Rfc438, Rfc478 };
template <>
inline std::span<const Choice<ClientMode>> choices<ClientMode>() {
    static constexpr Choice<ClientMode> kNames[] = {
        {ClientMode::Port, "port"},       {ClientMode::Eprt, "eprt"},     {ClientMode::Pasv, "pasv"},
        {ClientMode::Epsv, "epsv"},       {ClientMode::EpsvAll, "epsv-all"}, {ClientMode::Spsv, "spsv"},
        {ClientMode::Default, "default"}, {ClientMode::Fxp, "fxp"},       {ClientMode::Rfc438, "rfc438"},
        {ClientMode::Rfc478, "rfc478"}};
    return kNames;
}
// fxp, rfc438, rfc478: the client drives a transfer between two servers.
inline bool is_server_to_server(ClientMode m) {
    return m == ClientMode::Fxp || m == ClientMode::Rfc438 || m == ClientMode::Rfc478;
}

enum class FaultKind { LinkDown, Reset, ServerRestart, DiskFull };
template <>
inline std::span<const Choice<FaultKind>> choices<FaultKind>() {
    static constexpr Choice<FaultKind> kNames[] = {{FaultKind::LinkDown, "link-down"},
                                                   {FaultKind::Reset, "reset"},
                                                   {FaultKind::ServerRestart, "server-restart"},
                                                   {FaultKind::DiskFull, "disk-full"}};
    return kNames;
}

// The firewall's words (nodes.NAME.firewall): the model's own values (sim/mbox/firewall.hpp).
template <>
inline std::span<const Choice<mbox::FwAction>> choices<mbox::FwAction>() {
    static constexpr Choice<mbox::FwAction> kNames[] = {
        {mbox::FwAction::Accept, "accept"}, {mbox::FwAction::Drop, "drop"}, {mbox::FwAction::Reject, "reject"}};
    return kNames;
}
// in: from an outside to an inside interface (on a host: to the host); out: the other way.
template <>
inline std::span<const Choice<mbox::FwDirection>> choices<mbox::FwDirection>() {
    static constexpr Choice<mbox::FwDirection> kNames[] = {
        {mbox::FwDirection::Inbound, "in"}, {mbox::FwDirection::Outbound, "out"}, {mbox::FwDirection::Any, "any"}};
    return kNames;
}
template <>
inline std::span<const Choice<mbox::CtState>> choices<mbox::CtState>() {
    static constexpr Choice<mbox::CtState> kNames[] = {{mbox::kCtNew, "new"},
                                                       {mbox::kCtEstablished, "established"},
                                                       {mbox::kCtRelated, "related"},
                                                       {mbox::kCtAny, "any"}};
    return kNames;
}
// A router interface's realm: NAT translates from inside to outside.
template <>
inline std::span<const Choice<mbox::Realm>> choices<mbox::Realm>() {
    static constexpr Choice<mbox::Realm> kNames[] = {{mbox::Realm::Inside, "inside"}, {mbox::Realm::Outside, "outside"}};
    return kNames;
}

// A router's INPUT chain for its own ports that nothing forwards (nftables words).
enum class InputPolicy { Accept, Drop };
template <>
inline std::span<const Choice<InputPolicy>> choices<InputPolicy>() {
    static constexpr Choice<InputPolicy> kNames[] = {{InputPolicy::Accept, "accept"}, {InputPolicy::Drop, "drop"}};
    return kNames;
}
enum class InputReject { None, TcpReset, IcmpPortUnreachable };  // None: no last reject rule
template <>
inline std::span<const Choice<InputReject>> choices<InputReject>() {
    static constexpr Choice<InputReject> kNames[] = {{InputReject::TcpReset, "tcp reset"},
                                                     {InputReject::IcmpPortUnreachable, "icmp port-unreachable"}};
    return kNames;
}

// What an attacker steals (attackers[].steal).
enum class StealKind { Data, Spdt };
template <>
inline std::span<const Choice<StealKind>> choices<StealKind>() {
    static constexpr Choice<StealKind> kNames[] = {{StealKind::Data, "data"}, {StealKind::Spdt, "spdt"}};
    return kNames;
}

struct PortRange {
    std::uint16_t lo = 0, hi = 0;
    bool contains(std::uint16_t p) const { return p >= lo && p <= hi; }
    bool operator==(const PortRange&) const = default;
};

struct Cidr {
    proto::IpAddress addr;
    int prefix = 32;
    bool contains(const proto::IpAddress& a) const;
    std::string to_string() const;
};

struct Interface {
    std::string name;        // "eth0" by default, "lan"/"wan" on routers
    Cidr address;
    std::optional<mbox::Realm> side;  // routers: inside (private realm) or outside; hosts: unset
    Mark mark;
};

struct Route {
    Cidr to;
    proto::IpAddress via;
    Mark mark;
};

// Source NAT on a router: the model's own configuration (sim/mbox/nat.hpp: its defaults, its
// presets) and the preset it was written as.
struct NatSpec {
    bool enabled = false;
    std::string type;                 // a preset's name (mbox::nat_presets()) or "custom"
    mbox::NatConfig config;           // mapping, filtering, port pool, timeouts, hairpinning
    Mark mark;
};

struct AlgSpec {
    bool enabled = false;
    std::vector<std::uint16_t> ports{21};
    bool loose = false;
    // The address lines it handles: PORT, EPRT, 227, 229 (Linux's helper: all four; the article's
    // Linksys: [PORT]).
    std::vector<std::string> forms{"PORT", "EPRT", "227", "229"};
    Mark mark;
};

// Stateful NAT64 (RFC 6146) on a router: IPv6 inside, IPv4 outside (sim/mbox/nat64.hpp).
struct Nat64Spec {
    bool enabled = false;
    Cidr prefix{};                    // default 64:ff9b::/96 (RFC 6052's well-known prefix)
    bool ftp_alg = false;             // the FTP64 ALG (RFC 6384, sim/mbox/alg64.hpp)
    bool alg_requires_algs = false;   // it translates only after the client's "ALGS ENABLE64"
    Mark mark;
};

struct ForwardSpec {
    PortRange external;
    proto::IpAddress to;
    std::uint16_t to_port = 0;        // 0: same port (ranges map offset by offset)
    Mark mark;
};

struct FirewallRule {
    mbox::FwAction action = mbox::FwAction::Accept;
    mbox::FwDirection direction = mbox::FwDirection::Any;  // Inbound: from an outside to an inside interface
    mbox::CtState state = mbox::kCtAny;
    std::optional<Cidr> src, dst;
    std::optional<PortRange> sport, dport;
    std::string comment;
    Mark mark;
};

struct FirewallSpec {
    bool enabled = false;
    mbox::FwAction policy = mbox::FwAction::Accept;  // the default when no rule matches
    std::vector<FirewallRule> rules;
    Mark mark;
};

struct NodeSpec {
    std::string name;
    NodeKind kind = NodeKind::Host;
    std::vector<Interface> interfaces;
    std::optional<proto::IpAddress> gateway;
    std::vector<Route> routes;
    NatSpec nat;
    AlgSpec alg;
    Nat64Spec nat64;
    std::vector<ForwardSpec> forwards;
    FirewallSpec firewall;
    std::optional<PortRange> local_ports;  // ip_local_port_range (default 32768-60999)
    // A router's INPUT chain for its own ports that nothing forwards (nftables words):
    InputPolicy input_policy = InputPolicy::Accept;  // accept (the router's TCP answers RST) | drop
    InputReject input_reject = InputReject::None;    // a last rule
    Mark mark;
};

struct LinkSpec {
    std::string a, b;                 // node names
    std::int64_t latency_ns = 1'000'000;   // 1 ms
    double bandwidth_bps = 100e6;          // 100 Mbit/s
    double loss = 0;
    Mark mark;
};

struct FileSpec {
    std::string path;
    std::uint64_t size = 0;
    Mark mark;  // the size
};

struct ServerSpec {
    std::string node;
    std::string profile = "vsftpd";   // a name from proto::server_profiles()
    std::uint16_t port = 21;
    std::optional<PortRange> passive_ports;
    std::optional<proto::IpAddress> pasv_address;  // vsftpd pasv_address / pyftpdlib masquerade_address
    std::map<std::string, std::string> options;    // profile knobs by name, validated by the builder
    std::map<std::string, std::string> replies;    // reply texts by name (e.g. pasv), validated by the builder
    std::vector<FileSpec> files;
    std::optional<std::uint64_t> disk_quota;       // bytes; STOR beyond it gets 452
    std::optional<int> max_clients;
    Mark mark;
};

struct ClientSpec {
    std::string node;
    std::string profile = "classic";  // a name from proto::client_profiles()
    ClientMode mode = ClientMode::Pasv;
    proto::HostPort server;           // the control connection's destination
    std::optional<proto::HostPort> second_server;  // server-to-server: the other server
    std::string user = "anonymous";
    std::string password = "ftp@example.com";
    std::vector<std::string> script;  // "login", "ls /pub", "get /pub/f", "put /up/f 1000", ...
    std::vector<Mark> script_marks;   // where each step is (a put's size is checked against the run's limits)
    std::uint16_t control_port = 0;   // the control connection's local port (0: ephemeral)
    std::optional<PortRange> data_ports;  // active mode: the ports the client listens on
    std::optional<proto::IpAddress> announce_address;  // active mode: the address PORT/EPRT announce
    std::int64_t start_ns = 0;
    int count = 1;                    // how many identical clients to start per host (load scenarios)
    // How many hosts the client node stands for (load scenarios): host h (0-based) has the
    // address of the node's interface towards the server plus h, its own ephemeral ports, and
    // runs `count` clients; the hosts share the node's lane and its link.
    int hosts = 1;
    std::int64_t host_interval_ns = 0;  // host h starts its clients at start + h x host_interval
    // The program's own options, named as it names them (curl connect-timeout, ftplib timeout,
    // lftp net:timeout ...), validated by the builder against the profile.
    std::map<std::string, std::string> options;
    Mark mark;
};

struct FaultSpec {
    FaultKind kind = FaultKind::LinkDown;
    std::string target;               // link "a-b", node name, ...
    std::int64_t at_ns = 0;
    std::int64_t duration_ns = 0;
    Mark mark;
};

// An eavesdropping third host that races the client for its data connection (security cases).
struct AttackerSpec {
    std::string node;                 // the attacker's host
    StealKind steal = StealKind::Data;  // data: connect to the passive port a 227/229 announces;
                                      // spdt: connect to the control port and send SPDT <id>
    std::string sniff;                // the node whose traffic the attacker reads ("" = none)
    std::int64_t delay_ns = 0;        // with sniff: how long after the sniffed reply it acts
    std::optional<proto::HostPort> server;  // without sniff: the control port for SPDT
    std::int64_t at_ns = 0;           // without sniff: when it acts
    std::optional<std::string> id;    // spdt: the identifier to send (default: the sniffed one)
    Mark mark;
};

struct ExpectedTransfer {
    std::optional<std::string> command;
    std::optional<bool> ok;
    std::optional<int> reply;
    Mark mark;
};

struct Expectation {
    std::optional<bool> ok;
    std::vector<ExpectedTransfer> transfers;
    std::vector<std::string> diagnosis_mentions;  // words the diagnosis must contain
    std::string no_fix;               // why no fix is offered (the failure is the protection)
    Mark mark;
};

struct TcpSpec {
    std::uint32_t mss = 1460;
    std::uint32_t header_bytes = 40;      // IPv4 + TCP header bytes counted on the wire per segment
    std::uint64_t window = 65535;         // bytes in flight per connection (no window scaling); 0: unlimited
    std::int64_t connect_timeout_ns = 0;  // 0: Linux's SYN retries decide (about 127 s)
    int syn_retries = 6;
};

struct Limits {
    std::int64_t time_ns = 3600LL * 1'000'000'000;
    std::uint64_t events = 5'000'000;
    std::uint64_t memory_bytes = 1ull << 30;  // the run stops when the process grows past this
};

struct Scenario {
    std::string name;                 // the file's stem
    std::string file;
    std::string source;               // the YAML text as loaded (before the overrides)
    std::vector<std::string> sets;    // the --set overrides applied to it
    std::string title;
    std::string description;
    std::uint64_t seed = 1;
    Limits limits;
    TcpSpec tcp;
    std::vector<NodeSpec> nodes;      // in document order: the ladder's lane order
    std::vector<LinkSpec> links;
    std::vector<ServerSpec> servers;
    std::vector<ClientSpec> clients;
    std::vector<FaultSpec> faults;
    std::vector<AttackerSpec> attackers;
    std::optional<Expectation> expect;

    const NodeSpec* node(const std::string& n) const;
};

}  // namespace ftpsim::scenario
