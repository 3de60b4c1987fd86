// The FTP wire codecs: every input split at every byte, random garbage, zero allocations,
// round-trips, and the examples of the seed documents (RFC 959, RFC 2428, draft-rosenau, RFC 438).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "protocol/codec.hpp"

// ---- Counting global allocator --------------------------------------------------------------
// This file replaces the global operator new for the whole test binary. It behaves exactly like
// the default one (malloc, std::bad_alloc on failure); it only counts, and only the "zero heap
// allocations" test below reads the count.
namespace {
std::atomic<std::size_t> g_heap_allocations{0};

void* counted_allocation(std::size_t size) {
    g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted_allocation(size); }
void* operator new[](std::size_t size) { return counted_allocation(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace ftpsim::proto;

namespace {

struct Expected {
    ParseStatus status;
    ParseError error = ParseError::None;
    std::size_t consumed = 0;
};

void check_result(const ParseResult& r, const Expected& e, const std::string& input) {
    INFO("input: ", input);
    CHECK(r.status == e.status);
    CHECK(r.error == e.error);
    CHECK(r.consumed == e.consumed);
}

bool same(const ParseResult& a, const ParseResult& b) {
    return a.status == b.status && a.error == b.error && a.consumed == b.consumed;
}

bool same(const CommandView& a, const CommandView& b) {
    return a.verb == b.verb && a.arg == b.arg && a.has_arg == b.has_arg;
}

bool same(const ReplyView& a, const ReplyView& b) {
    return a.code == b.code && a.first_text == b.first_text && a.last_text == b.last_text &&
           a.raw == b.raw && a.multiline == b.multiline;
}

// The picohttpparser discipline: every proper prefix of one item gives NeedMore and consumes
// nothing; the whole gives the result; bytes after the item do not change it.
template <typename View, typename Parse>
ParseResult check_every_split(const std::string& input, std::size_t max_line, Parse parse,
                              View& whole_view) {
    INFO("input: ", input);
    for (std::size_t i = 0; i < input.size(); ++i) {
        View view{};
        ParseResult r = parse(std::string_view(input).substr(0, i), view, max_line);
        CHECK_MESSAGE(r.status == ParseStatus::NeedMore, "prefix of ", i, " bytes");
        CHECK(r.consumed == 0);
    }
    ParseResult whole = parse(input, whole_view, max_line);
    std::string longer = input + "NOOP\r\n";
    View longer_view{};
    ParseResult with_more = parse(longer, longer_view, max_line);
    CHECK(same(whole, with_more));
    if (whole.status == ParseStatus::Ok) CHECK(same(whole_view, longer_view));
    CHECK(whole.consumed <= input.size());
    return whole;
}

ParseResult command_every_split(const std::string& input, CommandView& view,
                                std::size_t max_line = kDefaultMaxLine) {
    return check_every_split(input, max_line, parse_command, view);
}

ParseResult reply_every_split(const std::string& input, ReplyView& view,
                              std::size_t max_line = kDefaultMaxLine) {
    return check_every_split(input, max_line, parse_reply, view);
}

HostPort hp(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    return {IpAddress::v4(a, b, c, d), port};
}

// A deterministic PRNG (SplitMix64): the garbage is the same on every run and every machine.
struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

}  // namespace

// ---- Commands ----------------------------------------------------------------------------------

TEST_CASE("codec: commands split at every byte") {
    struct Valid {
        std::string input;
        std::string verb, arg;
        bool has_arg;
    };
    const Valid valid[] = {
        {"PORT 12,34,56,78,65,43\r\n", "PORT", "12,34,56,78,65,43", true},
        {"PASV\r\n", "PASV", "", false},
        {"pasv\n", "pasv", "", false},  // bare LF, as vsftpd accepts
        {"RETR my file.txt\r\n", "RETR", "my file.txt", true},
        {"RETR  two spaces\r\n", "RETR", " two spaces", true},
        {"NOOP \r\n", "NOOP", "", true},
        {"EPRT |2|1080::8:800:200C:417A|5282|\r\n", "EPRT", "|2|1080::8:800:200C:417A|5282|", true},
        {"SPDT xYab1234\r\n", "SPDT", "xYab1234", true},
        {"SOCK SITE2,1234\r\n", "SOCK", "SITE2,1234", true},
        {"LSTN R\r\n", "LSTN", "R", true},
        {"STOR caf\xc3\xa9\r\n", "STOR", "caf\xc3\xa9", true},  // UTF-8 path (RFC 2640)
        {"\xff\xf4\xff\xf2" "ABOR\r\n", "ABOR", "", false},      // IAC IP IAC DM ABOR
        {"\xff\xfb\x01QUIT\r\n", "QUIT", "", false},             // IAC WILL ECHO QUIT
        {"USER a\xff\xff" "b\r\n", "USER", "a\xff\xff" "b", true},  // IAC IAC kept in the arg
        {"MKD a\tb\r\n", "MKD", "a\tb", true},
        {"NOOP\r\r\n", "NOOP", "", false},  // vsftpd strips every trailing CR
    };
    for (const Valid& v : valid) {
        CommandView view;
        ParseResult r = command_every_split(v.input, view);
        check_result(r, {ParseStatus::Ok, ParseError::None, v.input.size()}, v.input);
        CHECK(view.verb == v.verb);
        CHECK(view.arg == v.arg);
        CHECK(view.has_arg == v.has_arg);
    }

    struct Invalid {
        std::string input;
        ParseError error;
    };
    const Invalid invalid[] = {
        {"\r\n", ParseError::EmptyLine},
        {"\n", ParseError::EmptyLine},
        {"\xff\xf1\r\n", ParseError::EmptyLine},  // IAC NOP only
        {" \r\n", ParseError::BadVerb},
        {" NOOP\r\n", ParseError::BadVerb},
        {"PO RT 1,2\r\n", ParseError::BadVerb},  // verb "PO" is fine; see next test
        {"P0RT 1,2,3,4,5,6\r\n", ParseError::BadVerb},
        {"NO-OP\r\n", ParseError::BadVerb},
        {"ABCDEFGHIJKLMNOPQ\r\n", ParseError::BadVerb},  // 17 letters
        {"\t\r\n", ParseError::BadVerb},
        {"RETR a\rb\r\n", ParseError::BadCharacter},
    };
    for (const Invalid& v : invalid) {
        const std::string& input = v.input;
        CommandView view;
        ParseResult r = command_every_split(input, view);
        if (input == "PO RT 1,2\r\n") {  // a two-letter verb is syntactically a verb
            CHECK(r.status == ParseStatus::Ok);
            CHECK(view.verb == "PO");
            continue;
        }
        check_result(r, {ParseStatus::Error, v.error, input.size()}, input);
    }
}

TEST_CASE("codec: NUL inside a command line is refused") {
    // String literals with \0 stop at the NUL, so these are built with explicit lengths.
    const std::string inputs[] = {std::string("RETR a\0b\r\n", 10), std::string("\0\r\n", 3),
                                  std::string("NO\0OP\r\n", 7)};
    for (const std::string& input : inputs) {
        CommandView view;
        ParseResult r = command_every_split(input, view);
        check_result(r, {ParseStatus::Error, ParseError::BadCharacter, input.size()}, input);
    }
}

TEST_CASE("codec: line length limit") {
    const std::size_t max_line = 16;
    CommandView view;
    std::string fits = "RETR 1234567890\n";  // 16 bytes with its LF
    REQUIRE(fits.size() == max_line);
    check_result(command_every_split(fits, view, max_line),
                 {ParseStatus::Ok, ParseError::None, fits.size()}, fits);

    std::string too_long = "RETR 1234567890\r\n";  // 17 bytes: no LF within the first 16
    check_result(parse_command(too_long, view, max_line), {ParseStatus::Error, ParseError::LineTooLong, 0},
                 too_long);
    std::string no_end(max_line, 'A');
    for (std::size_t i = 0; i < no_end.size(); ++i) {
        CHECK(parse_command(std::string_view(no_end).substr(0, i), view, max_line).status ==
              ParseStatus::NeedMore);
    }
    check_result(parse_command(no_end, view, max_line), {ParseStatus::Error, ParseError::LineTooLong, 0},
                 no_end);

    // vsftpd's limit: 4096 bytes including the line end.
    std::string longest = "RETR " + std::string(kDefaultMaxLine - 7, 'x') + "\r\n";
    CHECK(parse_command(longest, view).status == ParseStatus::Ok);
    std::string over = "RETR " + std::string(kDefaultMaxLine - 6, 'x') + "\r\n";
    CHECK(parse_command(over, view).error == ParseError::LineTooLong);

    ReplyView reply;
    std::string long_middle = "211-a\r\n" + std::string(40, 'm') + "\r\n211 b\r\n";
    check_result(parse_reply(long_middle, reply, max_line), {ParseStatus::Error, ParseError::LineTooLong, 0},
                 long_middle);
}

TEST_CASE("codec: a stream of commands fed in chunks") {
    const std::string stream =
        "USER anonymous\r\nPASS guest\nSYST\r\nPORT 192,168,1,10,195,149\r\nRETR f\r\nQUIT\r\n";
    const std::vector<std::string> verbs = {"USER", "PASS", "SYST", "PORT", "RETR", "QUIT"};
    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        std::string buffer;
        std::vector<std::string> seen;
        for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
            buffer += stream.substr(pos, chunk);
            while (true) {
                CommandView view;
                ParseResult r = parse_command(buffer, view);
                if (r.status != ParseStatus::Ok) {
                    REQUIRE(r.status == ParseStatus::NeedMore);
                    break;
                }
                seen.emplace_back(view.verb);
                buffer.erase(0, r.consumed);
            }
        }
        CHECK(seen == verbs);
        CHECK(buffer.empty());
    }
}

// ---- Replies -----------------------------------------------------------------------------------

TEST_CASE("codec: replies split at every byte") {
    struct Valid {
        std::string input;
        int code;
        std::string first, last;
        bool multiline;
    };
    const Valid valid[] = {
        {"220 (vsFTPd 3.0.3)\r\n", 220, "(vsFTPd 3.0.3)", "(vsFTPd 3.0.3)", false},
        {"227 Entering Passive Mode (123,45,67,89,158,26)\r\n", 227,
         "Entering Passive Mode (123,45,67,89,158,26)", "Entering Passive Mode (123,45,67,89,158,26)",
         false},
        {"200 \r\n", 200, "", "", false},
        {"200\r\n", 200, "", "", false},
        {"331 Please specify the password.\n", 331, "Please specify the password.",
         "Please specify the password.", false},
        {"255 SOCK 1234\r\n", 255, "SOCK 1234", "SOCK 1234", false},
        {"000 1973 dialect\r\n", 0, "1973 dialect", "1973 dialect", false},
        // RFC 959 4.2's own example
        {"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n",
         123, "First line", "The last line", true},
        // Intermediate lines that start with another code, with '-', or with the same code and '-'
        {"211-Features:\r\n EPRT\r\n211-not the end\r\n500 not the end either\r\n"
         "211x nor this\r\n211\r\n 211 indented\r\n211 End\r\n",
         211, "Features:", "End", true},
        {"214-\r\n214 \r\n", 214, "", "", true},
        {"150-a\n150 b\n", 150, "a", "b", true},
    };
    for (const Valid& v : valid) {
        ReplyView view;
        ParseResult r = reply_every_split(v.input, view);
        check_result(r, {ParseStatus::Ok, ParseError::None, v.input.size()}, v.input);
        CHECK(view.code == v.code);
        CHECK(view.first_text == v.first);
        CHECK(view.last_text == v.last);
        CHECK(view.multiline == v.multiline);
        CHECK(view.raw == v.input);
    }

    struct Invalid {
        std::string input;  // ends with the offending line: the error consumes all of it
        ParseError error;
    };
    const Invalid invalid[] = {
        {"\r\n", ParseError::BadReplyCode},
        {"22 ok\r\n", ParseError::BadReplyCode},
        {"2200 ok\r\n", ParseError::BadReplyCode},
        {"22a ok\r\n", ParseError::BadReplyCode},
        {" 220 ok\r\n", ParseError::BadReplyCode},
        {"220_ok\r\n", ParseError::BadReplyCode},
        {"hello\r\n", ParseError::BadReplyCode},
        {"220 a\rb\r\n", ParseError::BadCharacter},
        {"211-a\r\nb\rc\r\n", ParseError::BadCharacter},
        {std::string("211-a\r\nb\0c\r\n", 12), ParseError::BadCharacter},
    };
    for (const Invalid& v : invalid) {
        ReplyView view;
        ParseResult r = reply_every_split(v.input, view);
        check_result(r, {ParseStatus::Error, v.error, v.input.size()}, v.input);
    }
}

TEST_CASE("codec: a multi-line reply is not complete until its last line") {
    const std::string reply = "230-Welcome\r\n230-More\r\n230 Login successful.\r\n";
    ReplyView view;
    for (std::size_t i = 0; i < reply.size(); ++i) {
        CHECK(parse_reply(std::string_view(reply).substr(0, i), view).status == ParseStatus::NeedMore);
    }
    const std::string with_next = reply + "200 next\r\n";
    REQUIRE(parse_reply(with_next, view).consumed == reply.size());
    CHECK(view.last_text == "Login successful.");
}

TEST_CASE("codec: a stream of replies fed in chunks") {
    const std::string stream =
        "220 (vsFTPd 3.0.3)\r\n331 Please specify the password.\r\n230-Welcome\r\n230 Login successful.\r\n"
        "227 Entering Passive Mode (192,168,150,90,195,149).\n150 Here comes the directory listing.\r\n"
        "226 Directory send OK.\r\n";
    const std::vector<int> codes = {220, 331, 230, 227, 150, 226};
    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        std::string buffer;
        std::vector<int> seen;
        for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
            buffer += stream.substr(pos, chunk);
            while (true) {
                ReplyView view;
                ParseResult r = parse_reply(buffer, view);
                if (r.status != ParseStatus::Ok) {
                    REQUIRE(r.status == ParseStatus::NeedMore);
                    break;
                }
                seen.push_back(view.code);
                buffer.erase(0, r.consumed);
            }
        }
        CHECK(seen == codes);
        CHECK(buffer.empty());
    }
}

// ---- Robustness --------------------------------------------------------------------------------

namespace {

// Random bytes biased towards the ones the parsers care about.
std::string garbage(SplitMix64& rng) {
    static const std::string interesting = "0123456789,.|()-: \t\r\n\r\n" "ABCPORTEPSVSOCK";
    std::size_t length = rng.below(8) == 0 ? rng.below(9000) : rng.below(80);
    std::string out(length, '\0');
    for (char& c : out) {
        switch (rng.below(4)) {
            case 0: c = static_cast<char>(rng.below(256)); break;  // any byte: NUL, 8-bit, ...
            default: c = interesting[rng.below(interesting.size())]; break;
        }
    }
    return out;
}

// A valid item with a few bytes changed.
std::string mutated(SplitMix64& rng) {
    static const std::string seeds[] = {
        "PORT 12,34,56,78,65,43\r\n", "EPRT |1|132.235.1.2|6275|\r\n",
        "123-First line\r\n234 x\r\n123 end\r\n", "227 Entering Passive Mode (123,45,67,89,158,26)\r\n",
        "229 Entering Extended Passive Mode (|||6446|)\r\n", "SOCK SITE2,1234\r\n"};
    std::string s = seeds[rng.below(6)];
    for (std::size_t k = rng.below(4); k > 0; --k) s[rng.below(s.size())] = static_cast<char>(rng.below(256));
    return s;
}

bool within(std::string_view part, std::string_view whole) {
    return part.empty() ||
           (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void exercise_everything(std::string_view in, std::size_t max_line) {
    CommandView command;
    ParseResult r = parse_command(in, command, max_line);
    REQUIRE(r.consumed <= in.size());
    if (r.status == ParseStatus::Ok) {
        REQUIRE(r.consumed > 0);
        REQUIRE(within(command.verb, in.substr(0, r.consumed)));
        REQUIRE(within(command.arg, in.substr(0, r.consumed)));
    }
    if (r.status == ParseStatus::NeedMore) REQUIRE(r.consumed == 0);

    ReplyView reply;
    r = parse_reply(in, reply, max_line);
    REQUIRE(r.consumed <= in.size());
    if (r.status == ParseStatus::Ok) {
        REQUIRE(reply.raw.size() == r.consumed);
        REQUIRE(within(reply.first_text, reply.raw));
        REQUIRE(within(reply.last_text, reply.raw));
        REQUIRE((reply.code >= 0 && reply.code <= 999));
    }
    if (r.status == ParseStatus::NeedMore) REQUIRE(r.consumed == 0);

    // The argument parsers: whatever they accept must format and parse back to the same value.
    if (auto p = parse_port_arg(in)) REQUIRE(parse_port_arg(format_port_arg(*p)) == p);
    if (auto p = parse_227_text(in)) REQUIRE(parse_227_text(format_227(*p)) == p);
    if (auto p = parse_eprt_arg(in)) REQUIRE(parse_eprt_arg(format_eprt_arg(*p)) == p);
    if (auto p = parse_229_text(in)) REQUIRE(parse_229_text(format_229(*p)) == p);
    if (auto id = parse_spsv_227_text(in)) {
        REQUIRE(within(*id, in));
        REQUIRE(is_valid_spsv_id(*id));
    }
    if (auto s = parse_sock_arg(in)) REQUIRE(within(s->host, in));
    if (auto s = parse_255_text(in)) REQUIRE(parse_255_text(format_255(*s)) == s);
    if (auto ip = parse_ip(in)) REQUIRE(parse_ip(ip->to_string()) == ip);
    (void)parse_epsv_arg(in);
    (void)parse_eprt(in);
}

}  // namespace

TEST_CASE("codec: random garbage never crashes nor over-consumes") {
    SplitMix64 rng{20260101};
    for (int n = 0; n < 40000; ++n) {
        std::string input = (n % 3 == 0) ? mutated(rng) : garbage(rng);
        INFO("case ", n);
        std::size_t max_line = (n % 2) ? 512 : kDefaultMaxLine;
        exercise_everything(input, max_line);
        // A prefix of anything is NeedMore or the same answer as the whole for its first item.
        std::size_t cut = input.empty() ? 0 : rng.below(input.size());
        std::string_view prefix = std::string_view(input).substr(0, cut);
        CommandView a, b;
        ParseResult whole = parse_command(input, a, max_line);
        ParseResult part = parse_command(prefix, b, max_line);
        if (part.status != ParseStatus::NeedMore) {
            REQUIRE(same(part, whole));
            if (whole.status == ParseStatus::Ok) REQUIRE(same(a, b));
        }
        ReplyView c, d;
        whole = parse_reply(input, c, max_line);
        part = parse_reply(prefix, d, max_line);
        if (part.status != ParseStatus::NeedMore) {
            REQUIRE(same(part, whole));
            if (whole.status == ParseStatus::Ok) REQUIRE(same(c, d));
        }
    }
}

TEST_CASE("codec: parsing allocates nothing") {
    const std::string commands = "USER anonymous\r\nPORT 12,34,56,78,65,43\r\nEPRT |2|1080::8:800:200C:417A|5282|\r\n";
    const std::string replies =
        "123-First line\r\n234 x\r\n123 end\r\n227 Entering Passive Mode (123,45,67,89,158,26)\r\n";
    const std::string texts[] = {"Entering PASV mode (192,168,150,90,195,149)",
                                 "Entering Extended Passive Mode (|||6446|)",
                                 "Entering single-port mode (xYab1234)", "SOCK 1234", "SITE2,1234",
                                 "|1|132.235.1.2|6275|", "ALL", "fd12:3456::1", "192.168.1.10"};
    SplitMix64 rng{7};
    std::vector<std::string> noise;
    for (int n = 0; n < 200; ++n) noise.push_back(garbage(rng));

    std::size_t before = g_heap_allocations.load();
    std::size_t ok = 0;
    for (int round = 0; round < 10; ++round) {
        CommandView command;
        ReplyView reply;
        for (std::string_view in = commands; !in.empty();) {
            ParseResult r = parse_command(in, command);
            if (r.status != ParseStatus::Ok) break;
            ok += 1;
            in.remove_prefix(r.consumed);
        }
        for (std::string_view in = replies; !in.empty();) {
            ParseResult r = parse_reply(in, reply);
            if (r.status != ParseStatus::Ok) break;
            ok += 1;
            in.remove_prefix(r.consumed);
        }
        for (const std::string& t : texts) {
            ok += parse_port_arg(t).has_value() + parse_227_text(t).has_value() +
                  parse_eprt_arg(t).has_value() + parse_229_text(t).has_value() +
                  parse_spsv_227_text(t).has_value() + parse_sock_arg(t).has_value() +
                  parse_255_text(t).has_value() + parse_ip(t).has_value() +
                  (parse_epsv_arg(t) == EpsvArg::All) + is_valid_spsv_id(t) + iequals(t, "all");
        }
        for (const std::string& t : noise) {
            ok += parse_command(t, command).consumed + parse_reply(t, reply).consumed;
            ok += parse_227_text(t).has_value() + parse_ip(t).has_value() +
                  (parse_eprt(t).status == EprtStatus::Ok);
        }
    }
    std::size_t after = g_heap_allocations.load();
    CHECK(ok > 0);
    CHECK(after - before == 0);

    // The counter does count: formatting a long line allocates.
    std::string formatted = format_reply(227, std::string(100, 'x'));
    CHECK(g_heap_allocations.load() > after);
}

// ---- PORT and 227 ------------------------------------------------------------------------------

TEST_CASE("codec: PORT arguments") {
    CommandView view;
    std::string line = "PORT 12,34,56,78,65,43\r\n";
    REQUIRE(command_every_split(line, view).status == ParseStatus::Ok);
    auto port = parse_port_arg(view.arg);
    REQUIRE(port);
    CHECK(*port == hp(12, 34, 56, 78, 16683));  // the lecture's example: 65*256+43

    CHECK(parse_port_arg("192,168,1,10,195,149") == hp(192, 168, 1, 10, 50069));
    CHECK(parse_port_arg("0,0,0,0,0,0") == hp(0, 0, 0, 0, 0));
    CHECK(parse_port_arg("255,255,255,255,255,255") == hp(255, 255, 255, 255, 65535));
    CHECK(parse_port_arg(" 1, 2 ,3,4,5 ,6 ") == hp(1, 2, 3, 4, 1286));  // spaces, as atoi() allows
    CHECK(parse_port_arg("001,002,003,004,005,006") == hp(1, 2, 3, 4, 1286));

    for (const char* bad : {"", "1,2,3", "1,2,3,4,5", "1,2,3,4,5,6,7", "256,0,0,1,0,1",
                            "1,2,3,4,256,0", "1,2,3,4,0,256", "1,2,3,4,5,", ",1,2,3,4,5",
                            "1,,2,3,4,5", "1.2.3.4.5.6", "1,2,3,4,5,6x", "(1,2,3,4,5,6)",
                            "-1,2,3,4,5,6", "1,2,3,4,5,0006", "1;2;3;4;5;6", "a,b,c,d,e,f",
                            "1 2,3,4,5,6"}) {
        CHECK_MESSAGE(!parse_port_arg(bad), bad);
    }
}

TEST_CASE("codec: 227 texts are scanned like clients do") {
    CHECK(parse_227_text("Entering Passive Mode (123,45,67,89,158,26)") == hp(123, 45, 67, 89, 40474));
    CHECK(parse_227_text("Entering PASV mode (192,168,150,90,195,149)") == hp(192, 168, 150, 90, 50069));
    CHECK(parse_227_text("Entering Passive Mode (192,168,150,90,195,149).") ==
          hp(192, 168, 150, 90, 50069));
    CHECK(parse_227_text("Entering Passive Mode 192,168,150,90,195,149") ==
          hp(192, 168, 150, 90, 50069));  // no parentheses (RFC 1123 4.1.2.6 allows it)
    CHECK(parse_227_text("=192,168,150,90,195,149") == hp(192, 168, 150, 90, 50069));
    CHECK(parse_227_text("Mode 2 (10, 0, 0, 1, 4, 1)") == hp(10, 0, 0, 1, 1025));
    // The first number of the text is not part of the group; the scan moves on.
    CHECK(parse_227_text("1 Passive (10,0,0,1,4,1)") == hp(10, 0, 0, 1, 1025));

    for (const char* bad : {"", "Entering Passive Mode", "Entering Passive Mode (1,2,3,4,5)",
                            "Entering Passive Mode (256,1,1,1,1,1)",
                            "Entering Passive Mode (1,2,3,4,5,1000)",
                            "Entering Passive Mode (1,2,3,4,5,-6)", "(|||6446|)",
                            "Entering single-port mode (xYab1234)"}) {
        CHECK_MESSAGE(!parse_227_text(bad), bad);
    }

    // The whole reply line, from the wire.
    ReplyView view;
    std::string line = "227 Entering Passive Mode (123,45,67,89,158,26)\r\n";
    REQUIRE(reply_every_split(line, view).status == ParseStatus::Ok);
    CHECK(view.code == 227);
    CHECK(parse_227_text(view.first_text) == hp(123, 45, 67, 89, 40474));
}

TEST_CASE("codec: PORT and 227 round-trips") {
    CHECK(format_port_arg(hp(192, 168, 1, 10, 50069)) == "192,168,1,10,195,149");
    CHECK(format_227(hp(192, 168, 1, 10, 50069)) == "Entering Passive Mode (192,168,1,10,195,149).");
    CHECK(format_reply(227, format_227(hp(123, 45, 67, 89, 40474), "Entering PASV mode")) ==
          "227 Entering PASV mode (123,45,67,89,158,26).\r\n");
    SplitMix64 rng{99};
    for (int n = 0; n < 2000; ++n) {
        HostPort h = {IpAddress::v4(static_cast<std::uint32_t>(rng.next())),
                      static_cast<std::uint16_t>(rng.next())};
        CHECK(parse_port_arg(format_port_arg(h)) == h);
        CHECK(parse_227_text(format_227(h)) == h);
    }
}

// ---- EPRT, 229, EPSV ---------------------------------------------------------------------------

TEST_CASE("codec: EPRT arguments (RFC 2428 section 2)") {
    CHECK(parse_eprt_arg("|1|132.235.1.2|6275|") == HostPort{*parse_ip("132.235.1.2"), 6275});
    CHECK(parse_eprt_arg("|2|1080::8:800:200C:417A|5282|") ==
          HostPort{*parse_ip("1080::8:800:200c:417a"), 5282});
    CHECK(parse_eprt_arg("!1!132.235.1.2!6275!") == HostPort{*parse_ip("132.235.1.2"), 6275});
    CHECK(parse_eprt_arg("~2~::1~21~") == HostPort{*parse_ip("::1"), 21});
    CHECK(parse_eprt_arg("|1|1.2.3.4|0|") == HostPort{*parse_ip("1.2.3.4"), 0});
    CHECK(parse_eprt_arg("|1|1.2.3.4|65535|") == HostPort{*parse_ip("1.2.3.4"), 65535});

    for (const char* bad : {"", "|", "||||", "|1|132.235.1.2|6275", "1|132.235.1.2|6275|",
                            "|1|132.235.1.2|6275|x", " |1|132.235.1.2|6275|", "|1|132.235.1.2|6275| ",
                            "|1|132.235.1.2||", "|1||6275|", "|1|132.235.1.2|65536|",
                            "|1|132.235.1.2|-1|", "|1|132.235.1.2| 6275|", "|1|::1|6275|",
                            "|2|132.235.1.2|6275|", "|1|132.235.1|6275|", "|1|132.235.1.2|6275|7|",
                            "\x7f" "1\x7f" "1.2.3.4\x7f" "5\x7f", " 1 1.2.3.4 5 ", "|x|1.2.3.4|5|",
                            "||1.2.3.4|5|"}) {
        CHECK_MESSAGE(parse_eprt(bad).status == EprtStatus::Malformed, bad);
        CHECK_MESSAGE(!parse_eprt_arg(bad), bad);
    }

    // A well-formed EPRT naming another network protocol: 522, not 501 (RFC 2428 section 2).
    EprtResult r = parse_eprt("|3|some-address|6275|");
    CHECK(r.status == EprtStatus::UnsupportedProtocol);
    CHECK(r.protocol == "3");
    CHECK(parse_eprt("|1|132.235.1.2|6275|").protocol == "1");

    CommandView view;
    std::string line = "EPRT |2|1080::8:800:200C:417A|5282|\r\n";
    REQUIRE(command_every_split(line, view).status == ParseStatus::Ok);
    CHECK(parse_eprt_arg(view.arg)->port == 5282);
}

TEST_CASE("codec: 229 texts") {
    CHECK(parse_229_text("Entering Extended Passive Mode (|||6446|)") == 6446);
    CHECK(parse_229_text("Entering Extended Passive Mode (|||6446|).") == 6446);  // vsftpd's dot
    CHECK(parse_229_text("Extended (!!!1!)") == 1);
    CHECK(parse_229_text("(x) then (|||21|)") == 21);
    for (const char* bad : {"", "Entering Extended Passive Mode", "(|||6446)", "(||6446|)",
                            "(|1|1.2.3.4|6446|)", "(|||65536|)", "(|||-1|)", "(|||a|)", "(|||6446|",
                            "|||6446|", "(| | |6446|)", "(123,45,67,89,158,26)"}) {
        CHECK_MESSAGE(!parse_229_text(bad), bad);
    }
    CHECK(format_229(6446) == "Entering Extended Passive Mode (|||6446|)");
    ReplyView view;
    std::string line = "229 Entering Extended Passive Mode (|||6446|)\r\n";
    REQUIRE(reply_every_split(line, view).status == ParseStatus::Ok);
    CHECK(parse_229_text(view.first_text) == 6446);
}

TEST_CASE("codec: EPRT and 229 round-trips") {
    SplitMix64 rng{2428};
    for (int n = 0; n < 2000; ++n) {
        HostPort h;
        if (n % 2) {
            h.addr.family = IpAddress::Family::V6;
            for (auto& b : h.addr.bytes) b = (rng.below(3) == 0) ? static_cast<std::uint8_t>(rng.next()) : 0;
        } else {
            h.addr = IpAddress::v4(static_cast<std::uint32_t>(rng.next()));
        }
        h.port = static_cast<std::uint16_t>(rng.next());
        char delim = static_cast<char>(33 + rng.below(94));
        if (delim == ':' || delim == '.' || (delim >= '0' && delim <= '9') ||
            (delim >= 'a' && delim <= 'f') || (delim >= 'A' && delim <= 'F'))
            delim = '|';  // a delimiter that occurs in the address text cannot delimit it
        std::string arg = format_eprt_arg(h, delim);
        INFO(arg);
        CHECK(parse_eprt_arg(arg) == h);
        CHECK(parse_229_text(format_229(h.port)) == h.port);
    }
    CHECK(format_eprt_arg({*parse_ip("132.235.1.2"), 6275}) == "|1|132.235.1.2|6275|");
    CHECK(format_eprt_arg({*parse_ip("1080::8:800:200C:417A"), 5282}) == "|2|1080::8:800:200c:417a|5282|");
}

TEST_CASE("codec: EPSV arguments") {
    CHECK(parse_epsv_arg("") == EpsvArg::None);
    CHECK(parse_epsv_arg(" ") == EpsvArg::None);
    CHECK(parse_epsv_arg("1") == EpsvArg::V4);
    CHECK(parse_epsv_arg("2") == EpsvArg::V6);
    CHECK(parse_epsv_arg("ALL") == EpsvArg::All);
    CHECK(parse_epsv_arg("all") == EpsvArg::All);
    CHECK(parse_epsv_arg(" aLl ") == EpsvArg::All);
    CHECK(parse_epsv_arg("3") == EpsvArg::UnknownFamily);
    CHECK(parse_epsv_arg("0") == EpsvArg::UnknownFamily);
    CHECK(parse_epsv_arg("12") == EpsvArg::UnknownFamily);
    CHECK(parse_epsv_arg("ALLL") == EpsvArg::Invalid);
    CHECK(parse_epsv_arg("1 2") == EpsvArg::Invalid);
    CHECK(parse_epsv_arg("x") == EpsvArg::Invalid);
    CHECK(parse_epsv_arg("-1") == EpsvArg::Invalid);
}

// ---- SPSV (draft-rosenau-ftp-single-port-05) ---------------------------------------------------

TEST_CASE("codec: SPSV identifiers and their 227 reply") {
    CHECK(is_valid_spsv_id("xYab1234"));
    CHECK(is_valid_spsv_id("12345"));
    CHECK(is_valid_spsv_id("!"));
    CHECK(is_valid_spsv_id("~"));
    CHECK(is_valid_spsv_id(std::string(32, 'a')));
    CHECK(!is_valid_spsv_id(std::string(33, 'a')));
    CHECK(!is_valid_spsv_id(""));
    for (const char* bad : {"a b", "a(b", "a)b", "a:b", "a\x7f", "caf\xc3\xa9", "a\tb"}) {
        CHECK_MESSAGE(!is_valid_spsv_id(bad), bad);
    }

    ReplyView view;
    std::string line = "227 Entering single-port mode (xYab1234)\r\n";
    REQUIRE(reply_every_split(line, view).status == ParseStatus::Ok);
    auto id = parse_spsv_227_text(view.first_text);
    REQUIRE(id);
    CHECK(*id == "xYab1234");
    CHECK(*parse_spsv_227_text("Entering single-port mode (12345)") == "12345");
    CHECK(*parse_spsv_227_text("ok (xYab1234).") == "xYab1234");
    for (const char* bad : {"", "Entering single-port mode", "Entering single-port mode ()",
                            "Entering single-port mode (a b)", "Entering single-port mode (a:b)",
                            "Entering single-port mode (xYab1234",
                            "Entering single-port mode (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)"}) {
        CHECK_MESSAGE(!parse_spsv_227_text(bad), bad);
    }
    CHECK(format_spsv_227("xYab1234") == "Entering single-port mode (xYab1234)");
    CHECK(parse_spsv_227_text(format_spsv_227("AbC:d")) == std::nullopt);  // case kept, ':' refused
    CHECK(*parse_spsv_227_text(format_spsv_227("AbCd")) == "AbCd");

    CommandView command;
    std::string spdt = "SPDT xYab1234\r\n";
    REQUIRE(command_every_split(spdt, command).status == ParseStatus::Ok);
    CHECK(is_valid_spsv_id(command.arg));
}

// ---- The 1973 dialect ----------------------------------------------------------------------------

TEST_CASE("codec: RFC 438 SOCK and the 255 reply") {
    auto sock = parse_sock_arg("SITE2,1234");  // RFC 438's "SOCK SITE2,X" with X = 1234
    REQUIRE(sock);
    CHECK(sock->host == "SITE2");
    CHECK(sock->socket == 1234);
    auto dotted = parse_sock_arg(" 10.0.0.5 , 4294967295 ");
    REQUIRE(dotted);
    CHECK(dotted->host == "10.0.0.5");
    CHECK(dotted->socket == 4294967295u);
    for (const char* bad : {"", "SITE2", "SITE2,", ",1234", "SITE2,X", "SITE2,4294967296",
                            "SITE 2,1234", "SITE2,12 34", "SITE2,-1"}) {
        CHECK_MESSAGE(!parse_sock_arg(bad), bad);
    }

    CHECK(parse_255_text("SOCK 1234") == 1234u);
    CHECK(parse_255_text("sock   77 ") == 77u);
    CHECK(format_255(1234) == "SOCK 1234");
    CHECK(parse_255_text(format_255(4294967295u)) == 4294967295u);
    for (const char* bad : {"", "SOCK", "SOCK ", "SOCKET 12", "SOCK12", "SOCK x", "1234", "SOCK 1 2"}) {
        CHECK_MESSAGE(!parse_255_text(bad), bad);
    }

    ReplyView view;
    std::string line = format_reply(255, format_255(1234));
    CHECK(line == "255 SOCK 1234\r\n");
    REQUIRE(reply_every_split(line, view).status == ParseStatus::Ok);
    CHECK(parse_255_text(view.first_text) == 1234u);

    CommandView command;
    std::string lstn = "LSTN R\r\n";
    REQUIRE(command_every_split(lstn, command).status == ParseStatus::Ok);
    CHECK(command.verb == "LSTN");
}

// ---- Formatting helpers ------------------------------------------------------------------------

TEST_CASE("codec: formatting whole lines") {
    CHECK(format_command("PASV") == "PASV\r\n");
    CHECK(format_command("PORT", "1,2,3,4,5,6") == "PORT 1,2,3,4,5,6\r\n");
    CHECK(format_reply(200, "PORT command successful. Consider using PASV.") ==
          "200 PORT command successful. Consider using PASV.\r\n");
    CHECK(format_reply(0, "x") == "000 x\r\n");

    std::string multi = format_multiline_reply(211, "Features:", {" EPRT", "211 not the end", "EPSV"}, "End");
    CHECK(multi == "211-Features:\r\n EPRT\r\n 211 not the end\r\nEPSV\r\n211 End\r\n");
    ReplyView view;
    REQUIRE(reply_every_split(multi, view).status == ParseStatus::Ok);
    CHECK(view.raw == multi);
    CHECK(view.first_text == "Features:");
    CHECK(view.last_text == "End");
}
