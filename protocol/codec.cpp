#include "protocol/codec.hpp"

namespace ftpsim::proto {

namespace {

constexpr unsigned char kIac = 255;  // Telnet "interpret as command" (RFC 854)
constexpr unsigned char kWill = 251, kDont = 254;  // WILL WONT DO DONT carry an option byte

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_printable(char c) { return c >= 33 && c <= 126; }  // RFC 2428 / draft-rosenau's range

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// A decimal number of 1..max_digits digits, at most `limit`. Leading zeros are fine here: FTP's
// number fields are decimal by definition (unlike a dotted quad, see address.cpp).
bool parse_decimal(std::string_view s, std::uint32_t limit, std::uint32_t& out,
                   std::size_t max_digits = 10) {
    if (s.empty() || s.size() > max_digits) return false;
    std::uint64_t value = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > limit) return false;
    out = static_cast<std::uint32_t>(value);
    return true;
}

// ---- Lines -------------------------------------------------------------------------------------

struct Line {
    ParseStatus status = ParseStatus::NeedMore;
    ParseError error = ParseError::None;
    std::string_view text;  // without the line end
    std::size_t length = 0; // with the line end
};

// Finds the line that starts at in[0]. NUL and a CR other than the one before LF are refused: in
// the Telnet NVT a lone CR must be followed by NUL or LF (RFC 854), and neither belongs in a verb,
// a path or a reply text that a simulator should pass on.
Line next_line(std::string_view in, std::size_t max_line) {
    Line line;
    std::size_t limit = in.size() < max_line ? in.size() : max_line;
    std::size_t lf = in.substr(0, limit).find('\n');
    if (lf == std::string_view::npos) {
        if (in.size() >= max_line) {
            line.status = ParseStatus::Error;
            line.error = ParseError::LineTooLong;
        }
        return line;
    }
    line.length = lf + 1;
    line.text = in.substr(0, lf);
    // vsftpd strips every CR before the LF, so "NOOP\r\r\n" is still NOOP there and here.
    while (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    line.status = ParseStatus::Ok;
    if (line.text.find('\0') != std::string_view::npos ||
        line.text.find('\r') != std::string_view::npos) {
        line.status = ParseStatus::Error;
        line.error = ParseError::BadCharacter;
    }
    return line;
}

ParseResult ok(std::size_t consumed) { return {ParseStatus::Ok, consumed, ParseError::None}; }
ParseResult need_more() { return {}; }
ParseResult error(ParseError e, std::size_t consumed) { return {ParseStatus::Error, consumed, e}; }
ParseResult from_line(const Line& line) {
    return line.status == ParseStatus::NeedMore ? need_more() : error(line.error, line.length);
}

// Skips Telnet commands at the start of a command line: IAC x, or IAC WILL/WONT/DO/DONT option.
std::string_view skip_telnet_commands(std::string_view s) {
    while (s.size() >= 2 && static_cast<unsigned char>(s[0]) == kIac &&
           static_cast<unsigned char>(s[1]) != kIac) {
        unsigned char command = static_cast<unsigned char>(s[1]);
        std::size_t length = (command >= kWill && command <= kDont) ? 3 : 2;
        s.remove_prefix(length < s.size() ? length : s.size());
    }
    return s;
}

// ---- Replies -----------------------------------------------------------------------------------

// "123 text", "123-text" or "123": the code and the separator (' ', '-' or '\0' for none).
bool split_reply_line(std::string_view text, int& code, char& separator, std::string_view& rest) {
    if (text.size() < 3 || !is_digit(text[0]) || !is_digit(text[1]) || !is_digit(text[2]))
        return false;
    code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
    if (text.size() == 3) {
        separator = '\0';
        rest = {};
        return true;
    }
    separator = text[3];
    rest = text.substr(4);
    return separator == ' ' || separator == '-';
}

bool ends_multiline(std::string_view text, std::string_view code_digits) {
    return text.size() >= 4 && text.substr(0, 3) == code_digits && text[3] == ' ';
}

// ---- Address tuples ----------------------------------------------------------------------------

// Six comma-separated numbers 0-255 starting at s[0], spaces allowed around each number. Returns
// the length read, or 0 when s does not start with such a group.
std::size_t read_six_numbers(std::string_view s, std::uint8_t (&out)[6]) {
    std::size_t pos = 0;
    for (int i = 0; i < 6; ++i) {
        while (pos < s.size() && is_space(s[pos])) ++pos;
        std::size_t start = pos;
        while (pos < s.size() && is_digit(s[pos])) ++pos;
        std::uint32_t value = 0;
        if (!parse_decimal(s.substr(start, pos - start), 255, value, 3)) return 0;
        out[i] = static_cast<std::uint8_t>(value);
        while (pos < s.size() && is_space(s[pos])) ++pos;
        if (i < 5) {
            if (pos >= s.size() || s[pos] != ',') return 0;
            ++pos;
        }
    }
    return pos;
}

HostPort host_port_of(const std::uint8_t (&n)[6]) {
    return {IpAddress::v4(n[0], n[1], n[2], n[3]), static_cast<std::uint16_t>(n[4] * 256 + n[5])};
}

std::string six_numbers(const HostPort& hp) {
    std::string out;
    for (int i = 0; i < 4; ++i) out += std::to_string(hp.addr.bytes[i]) + ',';
    return out + std::to_string(hp.port >> 8) + ',' + std::to_string(hp.port & 0xff);
}

// Splits "<d>a<d>b<d>c<d>" into a, b, c. False unless there are exactly three fields.
bool split_delimited(std::string_view s, std::string_view (&fields)[3]) {
    if (s.size() < 4 || !is_printable(s[0]) || s.back() != s[0]) return false;
    char d = s[0];
    s = s.substr(1, s.size() - 2);
    for (int i = 0; i < 3; ++i) {
        std::size_t next = s.find(d);
        if ((i < 2) == (next == std::string_view::npos)) return false;
        fields[i] = s.substr(0, next);
        if (i < 2) s.remove_prefix(next + 1);
    }
    return true;
}

}  // namespace

const char* to_string(ParseError e) {
    switch (e) {
        case ParseError::None: return "no error";
        case ParseError::LineTooLong: return "line too long";
        case ParseError::EmptyLine: return "empty line";
        case ParseError::BadVerb: return "malformed command verb";
        case ParseError::BadReplyCode: return "reply does not start with a three-digit code";
        case ParseError::BadMultiline: return "malformed multi-line reply";
        case ParseError::BadCharacter: return "forbidden character (NUL or lone CR) in line";
    }
    return "unknown error";
}

// ---- Commands ----------------------------------------------------------------------------------

ParseResult parse_command(std::string_view in, CommandView& out, std::size_t max_line) {
    Line line = next_line(in, max_line);
    if (line.status != ParseStatus::Ok) return from_line(line);
    std::string_view text = skip_telnet_commands(line.text);
    if (text.empty()) return error(ParseError::EmptyLine, line.length);
    std::size_t space = text.find(' ');
    std::string_view verb = text.substr(0, space);
    if (verb.empty() || verb.size() > kMaxVerb) return error(ParseError::BadVerb, line.length);
    for (char c : verb)
        if (!is_letter(c)) return error(ParseError::BadVerb, line.length);
    out.verb = verb;
    out.has_arg = (space != std::string_view::npos);
    out.arg = out.has_arg ? text.substr(space + 1) : std::string_view{};
    return ok(line.length);
}

// ---- Replies -----------------------------------------------------------------------------------

ParseResult parse_reply(std::string_view in, ReplyView& out, std::size_t max_line) {
    Line first = next_line(in, max_line);
    if (first.status != ParseStatus::Ok) return from_line(first);
    int code = 0;
    char separator = 0;
    std::string_view first_text;
    if (!split_reply_line(first.text, code, separator, first_text))
        return error(ParseError::BadReplyCode, first.length);
    std::size_t used = first.length;
    std::string_view last_text = first_text;
    if (separator == '-') {
        std::string_view code_digits = first.text.substr(0, 3);
        while (true) {
            Line line = next_line(in.substr(used), max_line);
            if (line.status == ParseStatus::NeedMore) return need_more();
            if (line.status == ParseStatus::Error)
                return error(line.error, line.error == ParseError::LineTooLong ? 0 : used + line.length);
            used += line.length;
            if (ends_multiline(line.text, code_digits)) {
                last_text = line.text.substr(4);
                break;
            }
        }
    }
    out.code = code;
    out.first_text = first_text;
    out.last_text = last_text;
    out.raw = in.substr(0, used);
    out.multiline = (separator == '-');
    return ok(used);
}

// ---- PORT and 227 ------------------------------------------------------------------------------

std::optional<HostPort> parse_port_arg(std::string_view arg) {
    std::uint8_t n[6];
    std::size_t used = read_six_numbers(arg, n);
    if (used == 0 || used != arg.size()) return {};
    return host_port_of(n);
}

std::string format_port_arg(const HostPort& hp) { return six_numbers(hp); }

// Clients scan the whole text for the first group of six numbers (ftplib with a regular
// expression, curl digit by digit), so parentheses are optional and the wording is free.
std::optional<HostPort> parse_227_text(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        bool starts_number = is_digit(text[i]) && (i == 0 || !is_digit(text[i - 1]));
        if (!starts_number) continue;
        std::uint8_t n[6];
        std::size_t used = read_six_numbers(text.substr(i), n);
        if (used != 0) return host_port_of(n);
    }
    return {};
}

std::string format_227(const HostPort& hp, std::string_view prefix) {
    return std::string(prefix) + " (" + six_numbers(hp) + ").";
}

// ---- EPRT and 229 ------------------------------------------------------------------------------

EprtResult parse_eprt(std::string_view arg) {
    EprtResult result;
    std::string_view fields[3];
    if (!split_delimited(arg, fields) || fields[0].empty()) return result;
    result.protocol = fields[0];
    std::uint32_t port = 0;
    bool port_ok = parse_decimal(fields[2], 65535, port, 5);
    if (fields[0] != "1" && fields[0] != "2") {
        for (char c : fields[0])
            if (!is_digit(c)) return {EprtStatus::Malformed, {}, {}};
        result.status = port_ok ? EprtStatus::UnsupportedProtocol : EprtStatus::Malformed;
        return result;
    }
    std::optional<IpAddress> addr = parse_ip(fields[1]);
    bool want_v4 = (fields[0] == "1");
    if (!addr || !port_ok || addr->is_v4() != want_v4) return {EprtStatus::Malformed, {}, {}};
    result.status = EprtStatus::Ok;
    result.hp = {*addr, static_cast<std::uint16_t>(port)};
    return result;
}

std::optional<HostPort> parse_eprt_arg(std::string_view arg) {
    EprtResult r = parse_eprt(arg);
    if (r.status != EprtStatus::Ok) return {};
    return r.hp;
}

std::string format_eprt_arg(const HostPort& hp, char delim) {
    std::string d(1, delim);
    return d + (hp.addr.is_v4() ? "1" : "2") + d + hp.addr.to_string() + d +
           std::to_string(hp.port) + d;
}

std::optional<std::uint16_t> parse_229_text(std::string_view text) {
    for (std::size_t open = text.find('('); open != std::string_view::npos;
         open = text.find('(', open + 1)) {
        std::size_t close = text.find(')', open);
        if (close == std::string_view::npos) return {};
        std::string_view fields[3];
        std::string_view inside = text.substr(open + 1, close - open - 1);
        std::uint32_t port = 0;
        if (split_delimited(inside, fields) && fields[0].empty() && fields[1].empty() &&
            parse_decimal(fields[2], 65535, port, 5))
            return static_cast<std::uint16_t>(port);
    }
    return {};
}

std::string format_229(std::uint16_t port) {
    return "Entering Extended Passive Mode (|||" + std::to_string(port) + "|)";
}

EpsvArg parse_epsv_arg(std::string_view arg) {
    arg = trim(arg);
    if (arg.empty()) return EpsvArg::None;
    if (iequals(arg, "ALL")) return EpsvArg::All;
    if (arg == "1") return EpsvArg::V4;
    if (arg == "2") return EpsvArg::V6;
    for (char c : arg)
        if (!is_digit(c)) return EpsvArg::Invalid;
    return EpsvArg::UnknownFamily;
}

// ---- SPSV (draft-rosenau-ftp-single-port-05, 3.1) ------------------------------------------------

bool is_valid_spsv_id(std::string_view id) {
    if (id.empty() || id.size() > 32) return false;
    for (char c : id)
        if (!is_printable(c) || c == '(' || c == ')' || c == ':') return false;
    return true;
}

std::optional<std::string_view> parse_spsv_227_text(std::string_view text) {
    std::size_t open = text.find('(');
    if (open == std::string_view::npos) return {};
    std::size_t close = text.find(')', open);
    if (close == std::string_view::npos) return {};
    std::string_view id = text.substr(open + 1, close - open - 1);
    if (!is_valid_spsv_id(id)) return {};
    return id;
}

std::string format_spsv_227(std::string_view id, std::string_view prefix) {
    return std::string(prefix) + " (" + std::string(id) + ")";
}

// ---- The 1973 dialect ----------------------------------------------------------------------------

std::optional<SockArg> parse_sock_arg(std::string_view arg) {
    std::size_t comma = arg.find(',');
    if (comma == std::string_view::npos) return {};
    std::string_view host = trim(arg.substr(0, comma));
    if (host.empty()) return {};
    for (char c : host)
        if (!is_printable(c)) return {};
    SockArg out;
    out.host = host;
    if (!parse_decimal(trim(arg.substr(comma + 1)), UINT32_MAX, out.socket)) return {};
    return out;
}

std::optional<std::uint32_t> parse_255_text(std::string_view text) {
    text = trim(text);
    if (text.size() < 5 || !iequals(text.substr(0, 4), "SOCK") || !is_space(text[4])) return {};
    std::uint32_t socket = 0;
    if (!parse_decimal(trim(text.substr(5)), UINT32_MAX, socket)) return {};
    return socket;
}

std::string format_255(std::uint32_t socket) { return "SOCK " + std::to_string(socket); }

// ---- Helpers -----------------------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_upper(a[i]) != to_upper(b[i])) return false;
    return true;
}

std::string format_command(std::string_view verb, std::string_view arg) {
    std::string out(verb);
    if (!arg.empty()) out.append(" ").append(arg);
    return out + "\r\n";
}

// Always three digits: the 1973 dialect has 0yz codes.
static std::string reply_code_digits(int code) {
    std::string digits = std::to_string(static_cast<unsigned>(code) % 1000);
    return std::string(3 - digits.size(), '0') + digits;
}

std::string format_reply(int code, std::string_view text) {
    return reply_code_digits(code) + ' ' + std::string(text) + "\r\n";
}

// RFC 959 4.2: a middle line that begins with the code and a space would end the reply early, so
// it is indented by one space, as the RFC suggests for lines that begin with digits.
std::string format_multiline_reply(int code, std::string_view first,
                                   std::initializer_list<std::string_view> middle,
                                   std::string_view last) {
    std::string digits = reply_code_digits(code);
    std::string out = digits + '-' + std::string(first) + "\r\n";
    for (std::string_view line : middle) {
        if (ends_multiline(line, digits)) out += ' ';
        out.append(line).append("\r\n");
    }
    return out + format_reply(code, last);
}

}  // namespace ftpsim::proto
