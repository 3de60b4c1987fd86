// Shared helpers for the libFuzzer targets: a byte reader for the structured inputs and an
// invariant check that aborts (so libFuzzer saves the input as a crash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/codec.hpp"

namespace ftpsim::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what, std::string_view detail) {
    std::fprintf(stderr, "\n==FUZZ INVARIANT== %s:%d: %s\n  detail: ", file, line, what);
    for (unsigned char c : detail) {
        if (c >= 32 && c < 127) std::fputc(c, stderr);
        else std::fprintf(stderr, "\\x%02x", c);
    }
    std::fputc('\n', stderr);
    std::abort();
}

#define FUZZ_CHECK(cond, detail)                                                 \
    do {                                                                         \
        if (!(cond)) ::ftpsim::fuzz::fail(__FILE__, __LINE__, #cond, (detail)); \
    } while (0)

// True when `part` lies inside `whole` (an empty view may point anywhere).
inline bool within(std::string_view part, std::string_view whole) {
    if (part.empty()) return true;
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Reads the structured inputs front to back; past the end it yields zeros / empty strings.
class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
    bool empty() const { return i_ >= n_; }
    std::uint8_t u8() { return i_ < n_ ? p_[i_++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
    // A length byte, then that many bytes (fewer at the end of the input).
    std::string_view chunk() {
        std::size_t len = u8();
        if (len > n_ - i_) len = n_ - i_;
        std::string_view out(reinterpret_cast<const char*>(p_ + i_), len);
        i_ += len;
        return out;
    }
    std::string_view rest() {
        std::string_view out(reinterpret_cast<const char*>(p_ + i_), n_ - i_);
        i_ = n_;
        return out;
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
    std::size_t i_ = 0;
};

// Splits control bytes into lines for the output checks (each ends with LF).
template <class F>
void for_each_line(std::string_view bytes, F&& f) {
    while (!bytes.empty()) {
        auto nl = bytes.find('\n');
        auto line = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl + 1);
        f(line);
        bytes.remove_prefix(line.size());
    }
}

}  // namespace ftpsim::fuzz
