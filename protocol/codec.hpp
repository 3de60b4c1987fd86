// FTP wire codecs: allocation-free and incremental, in the style of picohttpparser.
//
// Every parser takes the bytes received so far and returns how many it consumed, or NeedMore
// (feed more bytes and call again with the whole unconsumed buffer), or Error with a reason.
// Results are views into the caller's buffer: nothing is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/address.hpp"

namespace ftpsim::proto {

enum class ParseStatus : std::uint8_t { Ok, NeedMore, Error };

enum class ParseError : std::uint8_t {
    None,
    LineTooLong,     // no line end within the limit
    EmptyLine,       // CRLF alone
    BadVerb,         // verb not 1-4 (or more) letters
    BadReplyCode,    // reply does not start with three digits and SP or '-'
    BadMultiline,    // multi-line reply ended with a different code
    BadCharacter,    // NUL or other forbidden byte inside a line
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
struct CommandView {
    std::string_view verb;  // as sent (case preserved); compare with iequals()
    std::string_view arg;   // everything after the first SP, CR/LF stripped; empty if none
    bool has_arg = false;
};
ParseResult parse_command(std::string_view in, CommandView& out,
                          std::size_t max_line = kDefaultMaxLine);

// ---- Replies -------------------------------------------------------------------------------
// Single line "123 text" CRLF, or multi-line "123-first" CRLF ... "123 last" CRLF (RFC 959 4.2).
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
// PORT h1,h2,h3,h4,p1,p2 argument (RFC 959): port = p1*256+p2.
std::optional<HostPort> parse_port_arg(std::string_view arg);
std::string format_port_arg(const HostPort& hp);  // "192,168,1,10,195,149"

// 227 reply text: the six numbers anywhere in the text, as clients scan it
// ("Entering Passive Mode (192,168,150,90,195,149)." or without parentheses).
std::optional<HostPort> parse_227_text(std::string_view text);
std::string format_227(const HostPort& hp, std::string_view prefix = "Entering Passive Mode");

// EPRT |af|addr|port| (RFC 2428), any delimiter in 33-126.
std::optional<HostPort> parse_eprt_arg(std::string_view arg);
std::string format_eprt_arg(const HostPort& hp, char delim = '|');

// 229 reply text "Entering Extended Passive Mode (|||6446|)": the port only.
std::optional<std::uint16_t> parse_229_text(std::string_view text);
std::string format_229(std::uint16_t port);

// EPSV argument: empty, "1", "2" or "ALL" (case-insensitive).
enum class EpsvArg : std::uint8_t { None, V4, V6, All, Invalid, UnknownFamily };
EpsvArg parse_epsv_arg(std::string_view arg);

// SPSV identifier (draft-rosenau 3.1): 1-32 chars in 33..126, no '(' ')' ':'; case-sensitive.
bool is_valid_spsv_id(std::string_view id);
// The identifier inside "227 <text> (identifier)".
std::optional<std::string_view> parse_spsv_227_text(std::string_view text);

// ---- The 1973 dialect (RFC 438, RFC 478) -----------------------------------------------------
// SOCK host,socket: host is a name or dotted address, socket a decimal number.
struct SockArg {
    std::string_view host;
    std::uint32_t socket = 0;
};
std::optional<SockArg> parse_sock_arg(std::string_view arg);
// The 255 "FTP server data socket" reply text: "SOCK <socket>".
std::optional<std::uint32_t> parse_255_text(std::string_view text);
std::string format_255(std::uint32_t socket);

// ---- Helpers -------------------------------------------------------------------------------
bool iequals(std::string_view a, std::string_view b);

}  // namespace ftpsim::proto
