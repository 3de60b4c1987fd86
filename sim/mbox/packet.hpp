// The plain TCP packet every layer of the simulator passes around.
//
// Deliberately small: it is copied at every hop. There is no "encrypted" marker on purpose: a
// middlebox sees only bytes, so a TLS-protected control connection is modelled by payloads that
// start with a TLS record header (0x16 0x03 handshake, 0x17 0x03 application data, ...), which
// the FTP ALG cannot parse, exactly like a real one.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/address.hpp"

namespace ftpsim::mbox {

using proto::HostPort;
using proto::IpAddress;

// TCP header flag bits, with the values they have on the wire.
enum TcpFlag : std::uint8_t {
    kFin = 0x01,
    kSyn = 0x02,
    kRst = 0x04,
    kPsh = 0x08,
    kAck = 0x10,
};

// An ICMP error instead of a TCP segment (only what a router's `reject with icmp` sends).
enum class Icmp : std::uint8_t {
    None,
    PortUnreachable,  // type 3 (destination unreachable), code 3 (port unreachable)
};

struct Packet {
    std::uint64_t id = 0;    // shared by every hop of one segment (the trace's packet id)
    int conn = -1;           // the trace's connection id, -1 when unknown
    HostPort src, dst;
    std::uint8_t flags = 0;  // TcpFlag bits
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint16_t window = 65535;
    std::string payload;
    // An ICMP error: src/dst carry addresses only (port 0), flags are 0, and the quote (RFC 792:
    // the offending datagram's IP header and first 8 bytes) names the TCP segment it answers as
    // it arrived where the error was made; seq is that segment's sequence number.
    Icmp icmp = Icmp::None;
    HostPort quoted_src, quoted_dst;

    bool has(std::uint8_t f) const { return icmp == Icmp::None && (flags & f) == f; }
    bool is_syn_only() const { return has(kSyn) && !has(kAck); }
    // Sequence space the segment occupies: payload plus one for SYN and one for FIN.
    std::uint32_t seq_len() const;
};

// The ICMP port unreachable a node at `from` sends back for `offending`.
Packet make_icmp_port_unreachable(const IpAddress& from, const Packet& offending);

// A packet with the fields most callers set.
Packet make_packet(const HostPort& src, const HostPort& dst, std::uint8_t flags, std::uint32_t seq = 0,
                   std::uint32_t ack = 0, std::string payload = {});

// "192.168.1.10:50069" or "[2001:db8::1]:21".
std::optional<HostPort> parse_endpoint(std::string_view text);

// "S", "SA", "A", "PA", "FA", "R", "RA": the trace's spelling (flags first, then A).
std::string flags_string(std::uint8_t flags);
// "SYN", "SYN-ACK", "RST", "FIN", "data", "ACK": how a packet is named in a middlebox's note.
std::string describe(const Packet& p);

// True when the payload starts with a TLS record header (content type 20..23, version major 3).
// Only used to explain to the learner why the ALG saw nothing; the ALG itself just fails to parse.
bool looks_like_tls_record(std::string_view payload);

// An address prefix such as 192.168.1.0/24 (or an IPv6 one), for routes and firewall rules.
struct Prefix {
    IpAddress addr;
    int len = 32;
    bool contains(const IpAddress& a) const;
    std::string to_string() const;
    static Prefix host(const IpAddress& a) { return {a, a.is_v4() ? 32 : 128}; }
};

// Hashes for the middleboxes' lookup tables (std::unordered_map keys). An endpoint's 16 address
// bytes, family and port are folded into 64 bits without loss for IPv4 (the address in the low
// half, port and family in the high half), then through splitmix64's finaliser (a bijection), so
// that addresses that differ in one byte or ports that differ by one land in unrelated buckets.
inline std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
inline std::uint64_t hash_value(const HostPort& hp) {
    std::uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, hp.addr.bytes.data(), 8);
    std::memcpy(&hi, hp.addr.bytes.data() + 8, 8);
    const std::uint64_t tail = std::uint64_t{hp.port} << 8 | static_cast<std::uint8_t>(hp.addr.family);
    return mix64(lo ^ (tail << 32) ^ hi * 0x9e3779b97f4a7c15ULL);
}
struct HostPortHash {
    std::size_t operator()(const HostPort& hp) const noexcept { return static_cast<std::size_t>(hash_value(hp)); }
};
// An ordered pair of endpoints: (a, b) and (b, a) hash apart.
inline std::uint64_t hash_value(const HostPort& a, const HostPort& b) {
    return hash_value(a) * 0x9e3779b97f4a7c15ULL + hash_value(b);
}
struct HostPortPairHash {
    std::size_t operator()(const std::pair<HostPort, HostPort>& p) const noexcept {
        return static_cast<std::size_t>(hash_value(p.first, p.second));
    }
};

// Modular comparisons of TCP sequence numbers (RFC 1982 style), as the kernel's before()/after().
inline bool seq_before(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
inline bool seq_after(std::uint32_t a, std::uint32_t b) { return seq_before(b, a); }

}  // namespace ftpsim::mbox
