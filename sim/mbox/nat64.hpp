// Stateful NAT64 (RFC 6146): IPv6-only hosts reach IPv4 hosts through an IPv6 prefix that embeds
// the IPv4 address (RFC 6052), the client having learnt the synthesized address from DNS64
// (RFC 6147, assumed: the scenario gives the client the synthesized address).
//
// A plain class, tested without SimGrid (tests/mbox/nat64_test.cpp). docs/middleboxes.md, "NAT64",
// says what it does and what it leaves out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/mbox/alg64.hpp"
#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"
#include "sim/mbox/router.hpp"

namespace ftpsim::mbox {

struct Nat64Config {
    std::string name = "nat64";  // prefixes its notes
    // The IPv6 prefix that stands for the IPv4 Internet: the well-known 64:ff9b::/96 (RFC 6052
    // section 2.1) or a network-specific one. Only /96 is modelled (the IPv4 address is the last
    // 32 bits; the other RFC 6052 lengths put it around the u-octet).
    Prefix prefix{};
    IpAddress pool;  // the IPv4 transport address the sessions use (one address)
    Ftp64AlgConfig ftp_alg;  // the FTP64 ALG (RFC 6384), off by default
};

// A BIB entry with its session (RFC 6146 section 3.1: the binding of an IPv6 endpoint to an IPv4
// one, and the connection that uses it).
struct Nat64Session {
    int id = 0;
    HostPort v6_src, v6_dst;  // the IPv6 side: client endpoint, synthesized server endpoint
    HostPort v4_src, v4_dst;  // the IPv4 side: pool endpoint, server endpoint
    bool from_v4 = false;     // opened by the IPv4 side (a server's connection to an FTP64 binding)
};

// A binding without a session yet: the FTP64 ALG's for an EPRT it turned into PORT (Jool's
// bibdb_add). The server's data connection to `v4` opens a session to `v6`.
struct Nat64Binding {
    int id = 0;
    HostPort v6;  // the client's announced endpoint
    HostPort v4;  // the pool endpoint written into PORT
};

// The well-known prefix 64:ff9b::/96.
Prefix nat64_well_known_prefix();
// 64:ff9b::c633:640a for 198.51.100.10 with a /96 prefix.
IpAddress nat64_synthesize(const Prefix& prefix, const IpAddress& v4);
// The IPv4 address embedded in `v6` when it is inside the /96 prefix.
std::optional<IpAddress> nat64_extract(const Prefix& prefix, const IpAddress& v6);

class Nat64 {
public:
    explicit Nat64(Nat64Config config);

    // One packet arriving at the translator. IPv6 to the prefix: translated to IPv4 (a new
    // session on a SYN); IPv4 to the pool address: translated back through its session, or
    // dropped when none matches (RFC 6146 3.5.2.2: unsolicited inbound is not admitted) unless
    // it is a SYN to an FTP64 ALG's binding. Any other packet is left alone (routed as it is).
    // Forward or Drop. With the FTP64 ALG on, a control connection's segment may be rewritten,
    // and the ALG's own replies to the client are added to `answers` (sent by the translator in
    // the server's name, already numbered for the client).
    Verdict process(Packet& pkt, std::vector<MiddleboxNote>& notes, std::vector<Packet>* answers = nullptr);

    const std::vector<Nat64Session>& sessions() const { return sessions_; }
    const std::vector<Nat64Binding>& bindings() const { return bindings_; }
    const Nat64Config& config() const { return config_; }

private:
    trace::Event fact(trace::Fact f, const Packet& pkt) const;
    std::optional<std::uint16_t> pool_port(const HostPort& v6_src) const;
    std::optional<HostPort> bind(const HostPort& v6, std::vector<MiddleboxNote>& notes);
    Ftp64Control* control(const Nat64Session& s);
    void add_session(const Nat64Session& s);
    void add_binding(const Nat64Binding& b);
    bool port_taken(std::uint32_t port) const { return used_[port >> 6] >> (port & 63) & 1; }
    void outbound_alg(const Nat64Session& s, Packet& pkt, std::vector<MiddleboxNote>& notes, std::vector<Packet>* answers);

    Nat64Config config_;
    // Sessions and bindings are only ever added. The indexes below answer what a scan of them in
    // creation order answered (the first match), in O(1) per packet: each key keeps the position
    // of the first session or binding that had it.
    std::vector<Nat64Session> sessions_;
    std::vector<Nat64Binding> bindings_;
    using EndpointPairIndex = std::unordered_map<std::pair<HostPort, HostPort>, std::size_t, HostPortPairHash>;
    using EndpointIndex = std::unordered_map<HostPort, std::size_t, HostPortHash>;
    EndpointPairIndex session_by_v6_;    // (v6_src, v6_dst)
    EndpointPairIndex session_by_v4_;    // (v4_dst, v4_src): the IPv4 side as a reply arrives
    EndpointIndex session_by_v6_src_;    // v6_src
    EndpointIndex binding_by_v6_;        // v6
    EndpointIndex binding_by_v4_;        // v4
    // Bit p set: a session's pool port or a binding's is p.
    std::vector<std::uint64_t> used_ = std::vector<std::uint64_t>(65536 / 64);
    std::map<int, Ftp64Control> controls_;  // the FTP64 ALG's control connections, by session id
    int next_id_ = 1;
};

}  // namespace ftpsim::mbox
