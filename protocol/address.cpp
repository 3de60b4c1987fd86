#include "protocol/address.hpp"

#include <cstddef>

namespace ftpsim::proto {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One dotted-quad octet: 1-3 decimal digits, at most 255. A leading zero ("010") is refused, as
// inet_pton does, because some stacks read it as octal and the two readings name different hosts.
bool parse_octet(std::string_view text, std::uint8_t& out) {
    if (text.empty() || text.size() > 3) return false;
    if (text.size() > 1 && text[0] == '0') return false;
    unsigned value = 0;
    for (char c : text) {
        if (!is_digit(c)) return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255) return false;
    out = static_cast<std::uint8_t>(value);
    return true;
}

bool parse_dotted_quad(std::string_view text, std::uint8_t* out) {
    for (int i = 0; i < 4; ++i) {
        std::size_t dot = text.find('.');
        bool last = (i == 3);
        if (last != (dot == std::string_view::npos)) return false;  // too few or too many dots
        if (!parse_octet(text.substr(0, dot), out[i])) return false;
        if (!last) text.remove_prefix(dot + 1);
    }
    return true;
}

// Groups of an IPv6 text on one side of "::". Writes 16-bit groups to `groups`; an IPv4 tail is
// allowed only when `v4_tail_ok` (it must be the last thing in the address).
bool parse_v6_groups(std::string_view text, std::uint16_t* groups, int max_groups, int& count,
                     bool v4_tail_ok) {
    count = 0;
    if (text.empty()) return true;
    while (true) {
        std::size_t colon = text.find(':');
        std::string_view piece = text.substr(0, colon);
        bool last = (colon == std::string_view::npos);
        if (last && v4_tail_ok && piece.find('.') != std::string_view::npos) {
            std::uint8_t quad[4];
            if (count + 2 > max_groups || !parse_dotted_quad(piece, quad)) return false;
            groups[count++] = static_cast<std::uint16_t>(quad[0] << 8 | quad[1]);
            groups[count++] = static_cast<std::uint16_t>(quad[2] << 8 | quad[3]);
            return true;
        }
        if (piece.empty() || piece.size() > 4 || count >= max_groups) return false;
        unsigned value = 0;
        for (char c : piece) {
            int h = hex_value(c);
            if (h < 0) return false;
            value = value << 4 | static_cast<unsigned>(h);
        }
        groups[count++] = static_cast<std::uint16_t>(value);
        if (last) return true;
        text.remove_prefix(colon + 1);
    }
}

std::optional<IpAddress> parse_v6(std::string_view text) {
    std::uint16_t head[8], tail[8];
    int head_count = 0, tail_count = 0;
    std::size_t gap = text.find("::");
    if (gap == std::string_view::npos) {
        if (!parse_v6_groups(text, head, 8, head_count, true) || head_count != 8) return {};
    } else {
        std::string_view left = text.substr(0, gap), right = text.substr(gap + 2);
        if (right.find("::") != std::string_view::npos) return {};  // only one "::" is allowed
        if (!parse_v6_groups(left, head, 7, head_count, false)) return {};
        if (!parse_v6_groups(right, tail, 7 - head_count, tail_count, true)) return {};
    }
    IpAddress a;
    a.family = IpAddress::Family::V6;
    auto put = [&](int index, std::uint16_t g) {
        a.bytes[2 * index] = static_cast<std::uint8_t>(g >> 8);
        a.bytes[2 * index + 1] = static_cast<std::uint8_t>(g & 0xff);
    };
    for (int i = 0; i < head_count; ++i) put(i, head[i]);
    for (int i = 0; i < tail_count; ++i) put(8 - tail_count + i, tail[i]);
    return a;
}

std::uint16_t group(const IpAddress& a, int i) {
    return static_cast<std::uint16_t>(a.bytes[2 * i] << 8 | a.bytes[2 * i + 1]);
}

bool is_v4_mapped(const IpAddress& a) {
    for (int i = 0; i < 10; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

std::string dotted(const std::uint8_t* b) {
    return std::to_string(b[0]) + '.' + std::to_string(b[1]) + '.' + std::to_string(b[2]) + '.' +
           std::to_string(b[3]);
}

// RFC 5952 section 4.2: "::" replaces the longest run of two or more zero groups, the first one
// when two runs tie; a single zero group is written "0".
void longest_zero_run(const IpAddress& a, int& start, int& length) {
    start = -1;
    length = 0;
    for (int i = 0; i < 8;) {
        if (group(a, i) != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && group(a, j) == 0) ++j;
        if (j - i > length && j - i >= 2) {
            start = i;
            length = j - i;
        }
        i = j;
    }
}

std::string v6_text(const IpAddress& a) {
    // RFC 5952 section 5: IPv4-mapped addresses keep the dotted quad, "::ffff:192.0.2.1".
    if (is_v4_mapped(a)) return "::ffff:" + dotted(&a.bytes[12]);
    static constexpr char kHex[] = "0123456789abcdef";
    int run_start = 0, run_length = 0;
    longest_zero_run(a, run_start, run_length);
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == run_start) {
            out += "::";
            i += run_length - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::uint16_t g = group(a, i);
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {  // lowercase, no leading zeros (4.1, 4.3)
            int nibble = (g >> shift) & 0xf;
            if (nibble != 0 || started || shift == 0) {
                out += kHex[nibble];
                started = true;
            }
        }
    }
    return out;
}

bool v4_is_private(std::uint32_t a) {
    return (a >> 24) == 10                 // 10.0.0.0/8      RFC 1918
           || (a >> 20) == 0xac1           // 172.16.0.0/12   RFC 1918
           || (a >> 16) == 0xc0a8          // 192.168.0.0/16  RFC 1918
           || (a >> 24) == 127             // 127.0.0.0/8     loopback
           || (a >> 16) == 0xa9fe;         // 169.254.0.0/16  link-local
}

}  // namespace

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress ip;
    ip.family = Family::V4;
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
    return v4(static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
              static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order));
}

std::uint32_t IpAddress::v4_host_order() const {
    return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
           std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

bool IpAddress::is_unspecified() const {
    std::size_t n = is_v4() ? 4 : 16;
    for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] != 0) return false;
    return true;
}

bool IpAddress::is_private() const {
    if (is_v4()) return v4_is_private(v4_host_order());
    if (is_v4_mapped(*this)) {  // a dual-stack socket shows an IPv4 peer this way
        return v4_is_private(std::uint32_t{bytes[12]} << 24 | std::uint32_t{bytes[13]} << 16 |
                             std::uint32_t{bytes[14]} << 8 | std::uint32_t{bytes[15]});
    }
    bool loopback = true;  // ::1
    for (int i = 0; i < 15; ++i) loopback = loopback && bytes[i] == 0;
    loopback = loopback && bytes[15] == 1;
    bool link_local = bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;  // fe80::/10
    bool unique_local = (bytes[0] & 0xfe) == 0xfc;                    // fc00::/7, RFC 4193
    return loopback || link_local || unique_local;
}

std::string IpAddress::to_string() const {
    return is_v4() ? dotted(bytes.data()) : v6_text(*this);
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return parse_v6(text);
    IpAddress a;
    if (!parse_dotted_quad(text, a.bytes.data())) return {};
    return a;
}

std::string HostPort::to_string() const {
    std::string port_text = std::to_string(port);
    if (addr.is_v4()) return addr.to_string() + ':' + port_text;
    return '[' + addr.to_string() + "]:" + port_text;
}

}  // namespace ftpsim::proto
