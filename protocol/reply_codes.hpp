// FTP reply codes explained, for learners: the lecture deck's reading of the two first digits
// (first digit 1-5: preliminary, completion, intermediate, transient negative, permanent
// negative; second digit 0-5: syntax, information, connections, authentication, unspecified,
// file system) and each code's meaning in the RFC that defines it (RFC 959 4.2.2, RFC 2428 for
// EPSV/EPRT, RFC 2228/4217 for AUTH). The GUI's hover and narration, the SVG export's tooltips
// and `ftpsim run --explain` all read this one registry.
//
// Also the decoded endpoint of a line that announces a data port (PORT, EPRT, 227, 229), worked
// out as the lecture deck does: "= 192.168.150.90 port 195 x 256 + 149 = 50069".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ftpsim::proto {

struct ReplyExplanation {
    int code = 0;
    std::string_view first_digit;   // "Positive Completion reply: a new command can be sent"
    std::string_view second_digit;  // "control or data connection"
    std::string_view meaning;       // the defining RFC's text for the code; empty when none defines it
    std::string_view source;        // "RFC 959", "RFC 2428", ...; empty with meaning
};

// nullopt when `code` is not a reply code (first digit 1-5, second digit 0-5).
std::optional<ReplyExplanation> explain_reply(int code);

// One or two sentences: "227: Positive Completion reply: a new command can be sent; x2z: control
// or data connection. RFC 959: Entering Passive Mode (h1,h2,h3,h4,p1,p2)." Empty for a non-code.
std::string reply_explanation_text(int code);

// The reply code a reply line starts with ("227 Entering ..." or "150-..."), if it is one.
std::optional<int> reply_code_of(std::string_view line);

// For a PORT or EPRT command or a 227 or 229 reply line: the endpoint it announces, worked out
// ("= 192.168.150.90 port 195 x 256 + 149 = 50069", "= 203.0.113.78 port 6275", "= port 6446 on
// the server's address"); empty for any other line or one that does not parse.
std::string decoded_endpoint(std::string_view ftp_line);

}  // namespace ftpsim::proto
