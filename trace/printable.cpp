#include "trace/printable.hpp"

#include <cstdint>

namespace ftpsim::trace {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void hex_byte(std::string& out, unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
}

void hex_code_point(std::string& out, std::uint32_t cp) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
}

// Characters that are valid UTF-8 yet act on a terminal or on the order of what is shown.
bool unprintable_code_point(std::uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// The length of the valid UTF-8 sequence at text[i] (2 to 4) and its code point, or 0 when the
// byte there does not start one (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t& cp) {
    const auto lead = static_cast<unsigned char>(text[i]);
    struct Lead { unsigned char first, last; std::size_t len; std::uint32_t bits, min; };
    static constexpr Lead kLeads[] = {{0xc2, 0xdf, 2, 0x1f, 0x80}, {0xe0, 0xef, 3, 0x0f, 0x800},
                                      {0xf0, 0xf4, 4, 0x07, 0x10000}};
    const Lead* form = nullptr;
    for (const Lead& l : kLeads)
        if (lead >= l.first && lead <= l.last) form = &l;
    if (form == nullptr) return 0;
    const std::size_t len = form->len;
    const std::uint32_t min = form->min;
    cp = lead & form->bits;
    if (text.size() - i < len) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto c = static_cast<unsigned char>(text[i + k]);
        if ((c & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (c & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

}  // namespace

std::string escape_unprintable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            hex_byte(out, c);
            ++i;
            continue;
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        std::uint32_t cp = 0;
        const std::size_t len = utf8_sequence(text, i, cp);
        if (len == 0) {
            hex_byte(out, c);
            ++i;
        } else {
            if (unprintable_code_point(cp)) hex_code_point(out, cp);
            else out.append(text.substr(i, len));
            i += len;
        }
    }
    return out;
}

}  // namespace ftpsim::trace
