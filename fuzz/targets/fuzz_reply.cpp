// parse_reply over arbitrary bytes, as a client's input loop calls it. Checks the contract in
// protocol/codec.hpp: consumed within the input and ending at LF, code in 0..999, raw is exactly
// the consumed bytes, the texts are views into raw, a multi-line reply's last line starts with
// "<code> ", every proper prefix of the first reply gives NeedMore, and format_reply /
// format_multiline_reply parse back to the same code and texts.
#include <string>

#include "common.hpp"

using namespace ftpsim::proto;
using ftpsim::fuzz::within;

namespace {

void check_one(std::string_view in, std::size_t max_line) {
    std::string_view rest = in;
    bool first = true;
    while (!rest.empty()) {
        ReplyView reply;
        const ParseResult r = parse_reply(rest, reply, max_line);
        FUZZ_CHECK(r.consumed <= rest.size(), rest);
        if (r.status == ParseStatus::NeedMore) {
            FUZZ_CHECK(r.consumed == 0, rest);
            break;
        }
        if (r.status == ParseStatus::Ok) {
            FUZZ_CHECK(r.error == ParseError::None, rest);
            FUZZ_CHECK(r.consumed > 0 && rest[r.consumed - 1] == '\n', rest);
            FUZZ_CHECK(reply.code >= 0 && reply.code <= 999, rest);
            FUZZ_CHECK(reply.raw == rest.substr(0, r.consumed), rest);
            FUZZ_CHECK(reply.raw.data() == rest.data(), rest);
            FUZZ_CHECK(within(reply.first_text, reply.raw), rest);
            FUZZ_CHECK(within(reply.last_text, reply.raw), rest);
            FUZZ_CHECK(reply.first_text.find('\n') == std::string_view::npos, rest);
            FUZZ_CHECK(reply.last_text.find('\n') == std::string_view::npos, rest);
            FUZZ_CHECK(reply.last_text.find('\r') == std::string_view::npos, rest);
            char code[4];
            std::snprintf(code, sizeof code, "%03d", reply.code);
            FUZZ_CHECK(reply.raw.substr(0, 3) == code, rest);
            if (reply.multiline) {
                FUZZ_CHECK(reply.raw[3] == '-', rest);
                // The last line starts with the code and SP.
                auto body = reply.raw.substr(0, reply.raw.size() - 1);
                auto start = body.rfind('\n');
                FUZZ_CHECK(start != std::string_view::npos, rest);
                auto last = body.substr(start + 1);
                FUZZ_CHECK(last.substr(0, 3) == code && last.size() >= 4 && last[3] == ' ', rest);
            } else {
                FUZZ_CHECK(reply.raw.substr(0, reply.raw.size() - 1).find('\n') ==
                               std::string_view::npos,
                           rest);
                // Round trip of a one-line reply.
                const std::string line = format_reply(reply.code, reply.last_text);
                ReplyView again;
                const ParseResult r2 = parse_reply(line, again, line.size() + 1);
                FUZZ_CHECK(r2.status == ParseStatus::Ok && r2.consumed == line.size(), line);
                FUZZ_CHECK(again.code == reply.code && again.last_text == reply.last_text, line);
            }
            if (reply.multiline) {
                // Round trip of a multi-line reply with the same first and last text.
                const std::string text = format_multiline_reply(reply.code, reply.first_text,
                                                                {reply.first_text, reply.last_text},
                                                                reply.last_text);
                ReplyView again;
                const ParseResult r2 = parse_reply(text, again, text.size() + 1);
                FUZZ_CHECK(r2.status == ParseStatus::Ok && r2.consumed == text.size(), text);
                FUZZ_CHECK(again.code == reply.code && again.multiline, text);
                FUZZ_CHECK(again.first_text == reply.first_text, text);
                FUZZ_CHECK(again.last_text == reply.last_text, text);
            }
        } else {
            FUZZ_CHECK(r.error != ParseError::None, rest);
            if (r.error == ParseError::LineTooLong) FUZZ_CHECK(r.consumed == 0, rest);
            else FUZZ_CHECK(r.consumed > 0 && rest[r.consumed - 1] == '\n', rest);
        }
        if (first && r.consumed > 0 && r.consumed <= 512) {
            for (std::size_t n = 0; n < r.consumed; ++n) {
                ReplyView partial;
                const ParseResult p = parse_reply(rest.substr(0, n), partial, max_line);
                FUZZ_CHECK(p.status == ParseStatus::NeedMore, rest.substr(0, n));
            }
            first = false;
        }
        if (r.consumed == 0) break;
        rest.remove_prefix(r.consumed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check_one(in, kDefaultMaxLine);
    check_one(in, 40);
    return 0;
}
