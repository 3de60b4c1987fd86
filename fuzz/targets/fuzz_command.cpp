// parse_command over arbitrary bytes, as a server's input loop calls it: parse, skip what was
// consumed, repeat until NeedMore. Checks the contract in protocol/codec.hpp:
//  - consumed never exceeds the input; Ok consumes a whole line ending in LF;
//  - the verb is 1..kMaxVerb ASCII letters, verb and arg are views into the input;
//  - Error consumes the offending line (0 only for LineTooLong, whose input must then hold no LF
//    within max_line bytes);
//  - a result is decided only when the whole line is present: every proper prefix of the first
//    item gives NeedMore;
//  - format_command(verb, arg) parses back to the same verb and arg.
#include <cctype>
#include <string>

#include "common.hpp"

using namespace ftpsim::proto;
using ftpsim::fuzz::within;

namespace {

void check_one(std::string_view in, std::size_t max_line) {
    std::string_view rest = in;
    bool first = true;
    while (!rest.empty()) {
        CommandView cmd;
        const ParseResult r = parse_command(rest, cmd, max_line);
        FUZZ_CHECK(r.consumed <= rest.size(), rest);
        if (r.status == ParseStatus::NeedMore) {
            FUZZ_CHECK(r.consumed == 0, rest);
            // NeedMore means no line end within the limit.
            const auto nl = rest.find('\n');
            FUZZ_CHECK(nl == std::string_view::npos || nl + 1 > max_line, rest);
            break;
        }
        if (r.status == ParseStatus::Ok) {
            FUZZ_CHECK(r.error == ParseError::None, rest);
            FUZZ_CHECK(r.consumed > 0 && r.consumed <= max_line, rest);
            FUZZ_CHECK(rest[r.consumed - 1] == '\n', rest);
            FUZZ_CHECK(rest.substr(0, r.consumed - 1).find('\n') == std::string_view::npos, rest);
            FUZZ_CHECK(!cmd.verb.empty() && cmd.verb.size() <= kMaxVerb, rest);
            for (char c : cmd.verb)
                FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'), rest);
            FUZZ_CHECK(within(cmd.verb, rest.substr(0, r.consumed)), rest);
            FUZZ_CHECK(within(cmd.arg, rest.substr(0, r.consumed)), rest);
            FUZZ_CHECK(cmd.has_arg || cmd.arg.empty(), rest);
            FUZZ_CHECK(cmd.arg.find('\n') == std::string_view::npos, rest);
            FUZZ_CHECK(cmd.arg.find('\r') == std::string_view::npos, rest);
            FUZZ_CHECK(cmd.arg.find('\0') == std::string_view::npos, rest);
            // Round trip through the formatter (an empty argument formats as no argument).
            const std::string line = format_command(cmd.verb, cmd.arg);
            CommandView again;
            const ParseResult r2 = parse_command(line, again, line.size() + 1);
            FUZZ_CHECK(r2.status == ParseStatus::Ok && r2.consumed == line.size(), line);
            FUZZ_CHECK(again.verb == cmd.verb && again.arg == cmd.arg, line);
        } else {
            FUZZ_CHECK(r.error != ParseError::None, rest);
            if (r.error == ParseError::LineTooLong) {
                FUZZ_CHECK(r.consumed == 0, rest);
                const auto nl = rest.find('\n');
                FUZZ_CHECK(nl == std::string_view::npos || nl + 1 > max_line, rest);
            } else {
                FUZZ_CHECK(r.consumed > 0 && r.consumed <= max_line, rest);
                FUZZ_CHECK(rest[r.consumed - 1] == '\n', rest);
            }
        }
        if (first && r.consumed > 0 && r.consumed <= 512) {
            // Decided only once the whole line is present.
            for (std::size_t n = 0; n < r.consumed; ++n) {
                CommandView partial;
                const ParseResult p = parse_command(rest.substr(0, n), partial, max_line);
                FUZZ_CHECK(p.status == ParseStatus::NeedMore, rest.substr(0, n));
            }
            first = false;
        }
        if (r.consumed == 0) break;  // LineTooLong: the caller closes the connection
        rest.remove_prefix(r.consumed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check_one(in, kDefaultMaxLine);
    check_one(in, 32);  // a small limit reaches LineTooLong with short inputs
    return 0;
}
