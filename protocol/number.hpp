// Decimal text to double, as std::from_chars does it (no locale, no leading whitespace or '+').
// libc++ before 17 (the browser build's Emscripten 3.1.6 ships libc++ 14) declares the
// floating-point from_chars deleted; there the same grammar is read with strtod in the "C" locale
// that a WebAssembly program always runs in.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>
#include <system_error>

namespace ftpsim::proto {

inline std::from_chars_result parse_double(const char* first, const char* last, double& value) {
#if defined(_LIBCPP_VERSION) && _LIBCPP_VERSION < 170000
    if (first == last || *first == '+' || *first == ' ' || *first == '\t' || *first == '\n')
        return {first, std::errc::invalid_argument};
    const std::string text(first, last);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) return {first, std::errc::invalid_argument};
    // strtod also reads hex floats, "inf" and "nan", which from_chars (general format) does not
    for (const char* c = text.c_str(); c != end; ++c)
        if (*c == 'x' || *c == 'X' || *c == 'i' || *c == 'I' || *c == 'n' || *c == 'N') return {first, std::errc::invalid_argument};
    const char* stop = first + (end - text.c_str());
    if (errno == ERANGE) return {stop, std::errc::result_out_of_range};
    value = v;
    return {stop, std::errc()};
#else
    return std::from_chars(first, last, value);
#endif
}

}  // namespace ftpsim::proto
