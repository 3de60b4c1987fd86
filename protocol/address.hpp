// Addresses as FTP carries them: IPv4 and IPv6 hosts with a TCP port.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ftpsim::proto {

struct IpAddress {
    enum class Family : std::uint8_t { V4 = 1, V6 = 2 };
    Family family = Family::V4;
    std::array<std::uint8_t, 16> bytes{};  // V4 uses bytes[0..3]

    static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
    static IpAddress v4(std::uint32_t host_order);
    std::uint32_t v4_host_order() const;  // only for V4
    bool is_v4() const { return family == Family::V4; }
    bool is_unspecified() const;          // 0.0.0.0 or ::
    bool is_private() const;              // RFC 1918 / RFC 4193 / loopback / link-local
    std::string to_string() const;        // dotted quad, or RFC 5952 text for V6
    bool operator==(const IpAddress&) const = default;
    // Written out (family, then the bytes): a defaulted <=> needs std::array's, which the
    // browser build's libc++ 14 (Emscripten 3.1.6) does not have.
    std::strong_ordering operator<=>(const IpAddress& o) const {
        if (family != o.family) return family <=> o.family;
        for (std::size_t i = 0; i < bytes.size(); ++i)
            if (bytes[i] != o.bytes[i]) return bytes[i] <=> o.bytes[i];
        return std::strong_ordering::equal;
    }
};

// Parses "192.168.1.10" or an IPv6 text form. No allocation.
std::optional<IpAddress> parse_ip(std::string_view text);

struct HostPort {
    IpAddress addr;
    std::uint16_t port = 0;
    std::string to_string() const;  // "192.168.1.10:50069", "[2001:db8::1]:21"
    bool operator==(const HostPort&) const = default;
    std::strong_ordering operator<=>(const HostPort& o) const {
        if (const auto c = addr <=> o.addr; c != 0) return c;
        return port <=> o.port;
    }
};

}  // namespace ftpsim::proto
