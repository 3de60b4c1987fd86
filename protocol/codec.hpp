// FTP wire codecs: allocation-free and incremental, in the style of picohttpparser.
//
// Every parser takes the bytes received so far and returns how many it consumed, or NeedMore
// (feed more bytes and call again with the whole unconsumed buffer), or Error with a reason.
// Results are views into the caller's buffer: nothing is allocated.
//
// Lines: a line ends at LF; the CRs just before the LF are stripped (vsftpd accepts a bare LF and
// strips trailing CRs, so CRLF, LF and CRCRLF all end a line). A CR elsewhere is BadCharacter.
// A line is at most max_line bytes including its line end (vsftpd's limit is 4096 too).
// A result is decided only once the whole line (or whole reply) is present, so a prefix of any
// input gives NeedMore until its last line end arrives (or the line limit is passed).
// On Error, `consumed` is the length of the offending line (or whole reply) when its end was seen,
// so the caller can skip it and go on as servers do after a 500; it is 0 for LineTooLong, where
// no line end was seen (vsftpd answers "500 Input line too long." and closes the connection).
// See docs/malformed-input.md for the reply a server gives to each kind of malformed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/address.hpp"

namespace ftpsim::proto {

enum class ParseStatus : std::uint8_t { Ok, NeedMore, Error };

enum class ParseError : std::uint8_t {
    None,
    LineTooLong,     // no line end within the limit
    EmptyLine,       // CRLF alone (or Telnet commands alone)
    BadVerb,         // verb not 1 to kMaxVerb ASCII letters
    BadReplyCode,    // reply line is not "ddd", "ddd SP text" or "ddd-text"
    BadMultiline,    // not produced by parse_reply: RFC 959 4.2 lets an intermediate line start
                     // with any code, so only "<same code> SP" ends a reply; kept for callers
    BadCharacter,    // NUL, or a CR that is not just before the LF, inside a line
};

const char* to_string(ParseError e);

struct ParseResult {
    ParseStatus status = ParseStatus::NeedMore;
    std::size_t consumed = 0;  // bytes of the input that form the parsed item (incl. CRLF)
    ParseError error = ParseError::None;
};

constexpr std::size_t kDefaultMaxLine = 4096;

// ---- Commands ------------------------------------------------------------------------------
// "VERB" [SP argument] CRLF. A bare LF also ends a line (servers accept it; see docs).
// The verb is 1 to kMaxVerb ASCII letters (RFC 959 verbs have 3 or 4; the session, not the codec,
// decides whether it knows the verb). Telnet: leading IAC sequences (IAC IP, IAC DM, IAC WILL x,
// ...) before the verb are skipped, because clients send "IAC IP IAC DM ABOR" for an urgent ABOR
// (RFC 959 4.1.3). IAC inside the argument is not decoded (vsftpd does not either).
// Errors: EmptyLine for a line with nothing in it (vsftpd and ProFTPD ignore it without a reply),
// BadVerb, BadCharacter, LineTooLong.
constexpr std::size_t kMaxVerb = 16;
struct CommandView {
    std::string_view verb;  // as sent (case preserved); compare with iequals()
    std::string_view arg;   // everything after the first SP, CR/LF stripped; empty if none
    bool has_arg = false;
};
ParseResult parse_command(std::string_view in, CommandView& out,
                          std::size_t max_line = kDefaultMaxLine);

// ---- Replies -------------------------------------------------------------------------------
// Single line "123 text" CRLF, or multi-line "123-first" CRLF ... "123 last" CRLF (RFC 959 4.2).
// Any three digits are a code (the 1973 dialect has 0yz and 9yz codes). "123" alone on a line is
// taken as a single-line reply with empty text, as clients (ftplib) take it. Intermediate lines of
// a multi-line reply may hold anything, including "456-..." or "456 ..." (another code); only a
// line that starts with the same code followed by SP ends the reply.
struct ReplyView {
    int code = 0;
    std::string_view first_text;  // text of the first line (after "123-" / "123 ")
    std::string_view last_text;   // text of the last line
    std::string_view raw;         // the whole reply including every CRLF
    bool multiline = false;
};
ParseResult parse_reply(std::string_view in, ReplyView& out,
                        std::size_t max_line = kDefaultMaxLine);

// ---- Data-connection addresses ----------------------------------------------------------------
// PORT h1,h2,h3,h4,p1,p2 argument (RFC 959): port = p1*256+p2. Exactly six decimal numbers, each
// 0-255, with optional spaces around each (as atoi() in vsftpd and int() in pyftpdlib allow).
// Whether the address and port are acceptable (foreign host, port < 1024) is the session's policy.
std::optional<HostPort> parse_port_arg(std::string_view arg);
std::string format_port_arg(const HostPort& hp);  // "192,168,1,10,195,149"

// 227 reply text: the six numbers anywhere in the text, as clients scan it
// ("Entering Passive Mode (192,168,150,90,195,149)." or without parentheses: RFC 1123 4.1.2.6
// tells clients to scan for the first digit, not to expect the parentheses).
std::optional<HostPort> parse_227_text(std::string_view text);
// The reply text without "227 " and CRLF: "Entering Passive Mode (192,168,1,10,195,149)."
// (wrap it with format_reply(227, ...)).
std::string format_227(const HostPort& hp, std::string_view prefix = "Entering Passive Mode");

// EPRT |af|addr|port| (RFC 2428), any delimiter in 33-126. af 1 takes a dotted quad, af 2 an
// IPv6 text; no spaces anywhere (vsftpd refuses them too). parse_eprt tells a malformed argument
// (501) from a well-formed one naming another network protocol (522, RFC 2428 section 2).
enum class EprtStatus : std::uint8_t { Ok, Malformed, UnsupportedProtocol };
struct EprtResult {
    EprtStatus status = EprtStatus::Malformed;
    HostPort hp;                 // valid when Ok
    std::string_view protocol;   // the af field as sent (when not Malformed)
};
EprtResult parse_eprt(std::string_view arg);
std::optional<HostPort> parse_eprt_arg(std::string_view arg);  // Ok only
std::string format_eprt_arg(const HostPort& hp, char delim = '|');

// 229 reply text "Entering Extended Passive Mode (|||6446|)": the port only. The text is scanned
// for "(" d d d port d ")" with any delimiter d in 33-126; RFC 2428 3 requires the first two
// fields to be empty, so "(|1|1.2.3.4|21|)" is refused.
std::optional<std::uint16_t> parse_229_text(std::string_view text);
std::string format_229(std::uint16_t port);  // text only, RFC 2428's wording

// EPSV argument: empty, "1", "2" or "ALL" (case-insensitive); surrounding spaces are ignored.
// UnknownFamily: a number other than 1 or 2 (RFC 2428: 522); Invalid: anything else (501).
enum class EpsvArg : std::uint8_t { None, V4, V6, All, Invalid, UnknownFamily };
EpsvArg parse_epsv_arg(std::string_view arg);

// SPSV identifier (draft-rosenau 3.1): 1-32 chars in 33..126, no '(' ')' ':'; case-sensitive.
bool is_valid_spsv_id(std::string_view id);
// The identifier inside "227 <text> (identifier)". The draft forbids parentheses in the text, so
// the first "(" opens the identifier; what follows the ")" is ignored.
std::optional<std::string_view> parse_spsv_227_text(std::string_view text);
std::string format_spsv_227(std::string_view id,
                            std::string_view prefix = "Entering single-port mode");

// ---- The 1973 dialect (RFC 438, RFC 478) -----------------------------------------------------
// SOCK host,socket: host is a name or dotted address, socket a decimal number (RFC 438's
// "SOCK SITE2,X"). Spaces around either part are ignored.
struct SockArg {
    std::string_view host;
    std::uint32_t socket = 0;
};
std::optional<SockArg> parse_sock_arg(std::string_view arg);
// The 255 "FTP server data socket" reply text: "SOCK <socket>", the RFC 354-era form
// "255 SOCK nnnn" (not checked against RFC 354's own text: see docs/malformed-input.md). The
// keyword is matched case-insensitively, the socket is decimal, surrounding spaces are ignored.
std::optional<std::uint32_t> parse_255_text(std::string_view text);
std::string format_255(std::uint32_t socket);  // text only: "SOCK 1234"

// ---- Helpers -------------------------------------------------------------------------------
bool iequals(std::string_view a, std::string_view b);
// Whole lines for sending: "PORT 1,2,3,4,5,6\r\n" ("NOOP\r\n" when arg is empty), "227 text\r\n".
std::string format_command(std::string_view verb, std::string_view arg = {});
std::string format_reply(int code, std::string_view text);
// A multi-line reply: "211-first\r\n", each middle line as given, "211 last\r\n". A middle line
// that begins with "211 " is indented by one space so that it does not end the reply early.
std::string format_multiline_reply(int code, std::string_view first,
                                   std::initializer_list<std::string_view> middle,
                                   std::string_view last);

}  // namespace ftpsim::proto
