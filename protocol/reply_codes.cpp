#include "protocol/reply_codes.hpp"

#include "protocol/codec.hpp"

#include <array>
#include <cctype>

namespace ftpsim::proto {

namespace {

// The lecture deck's table ("FTP Reply Codes"), with the RFC 959 names of the first digit.
constexpr std::array<std::string_view, 5> kFirst{
    "Positive Preliminary reply: wait for another reply before sending a new command",
    "Positive Completion reply: a new command can be sent",
    "Positive Intermediate reply: another command is awaited",
    "Transient Negative reply: try again",
    "Permanent Negative reply: do not retry",
};
constexpr std::array<std::string_view, 6> kSecond{
    "syntax",
    "information",
    "control or data connection",
    "authentication",
    "unspecified",
    "file status (file system)",
};

struct Known {
    int code;
    std::string_view meaning;
    std::string_view source;
};

// RFC 959 4.2.2 in full, then the codes later RFCs added and the simulated servers send.
constexpr Known kKnown[] = {
    {110, "Restart marker reply.", "RFC 959"},
    {120, "Service ready in nnn minutes.", "RFC 959"},
    {125, "Data connection already open; transfer starting.", "RFC 959"},
    {150, "File status okay; about to open data connection.", "RFC 959"},
    {200, "Command okay.", "RFC 959"},
    {202, "Command not implemented, superfluous at this site.", "RFC 959"},
    {211, "System status, or system help reply.", "RFC 959"},
    {212, "Directory status.", "RFC 959"},
    {213, "File status.", "RFC 959"},
    {214, "Help message.", "RFC 959"},
    {215, "NAME system type.", "RFC 959"},
    {216, "FTP64 ALG status: the translator's own answer to ALGS (\"216 EPSVEPRT FTP ALG enabled.\", "
          "\"216 NONE FTP ALG disabled.\").",
     "RFC 6384 section 11 (its full text was not available; wording as Jool sends it)"},
    {220, "Service ready for new user.", "RFC 959"},
    {221, "Service closing control connection.", "RFC 959"},
    {225, "Data connection open; no transfer in progress.", "RFC 959"},
    {226, "Closing data connection. Requested file action successful.", "RFC 959"},
    {227, "Entering Passive Mode (h1,h2,h3,h4,p1,p2).", "RFC 959"},
    {228, "Entering Long Passive Mode.", "RFC 1639"},
    {229, "Entering Extended Passive Mode (|||port|).", "RFC 2428"},
    {230, "User logged in, proceed.", "RFC 959"},
    {232, "User logged in, authorized by security data exchange.", "RFC 2228"},
    {234, "Security data exchange complete (AUTH accepted: TLS starts now).", "RFC 2228"},
    {235, "Security data exchange completed successfully.", "RFC 2228"},
    {250, "Requested file action okay, completed.", "RFC 959"},
    {255, "The server's data socket number (SOCK nnnn), the 1973 way to announce it.", "RFC 542"},
    {257, "\"PATHNAME\" created.", "RFC 959"},
    {331, "User name okay, need password.", "RFC 959"},
    {332, "Need account for login.", "RFC 959"},
    {334, "Security mechanism accepted; security data to follow.", "RFC 2228"},
    {335, "Security data is acceptable; more is required.", "RFC 2228"},
    {350, "Requested file action pending further information.", "RFC 959"},
    {421, "Service not available, closing control connection.", "RFC 959"},
    {425, "Can't open data connection.", "RFC 959"},
    {426, "Connection closed; transfer aborted.", "RFC 959"},
    {431, "Need some unavailable resource to process security.", "RFC 2228"},
    {450, "Requested file action not taken. File unavailable (e.g., file busy).", "RFC 959"},
    {451, "Requested action aborted: local error in processing.", "RFC 959"},
    {452, "Requested action not taken. Insufficient storage space in system.", "RFC 959"},
    {500, "Syntax error, command unrecognized.", "RFC 959"},
    {501, "Syntax error in parameters or arguments.", "RFC 959"},
    {502, "Command not implemented.", "RFC 959"},
    {503, "Bad sequence of commands.", "RFC 959"},
    {504, "Command not implemented for that parameter.", "RFC 959"},
    {521, "Data connection cannot be opened with this PROT setting.", "RFC 4217"},
    {522, "Network protocol not supported (use one of the protocols in parentheses).", "RFC 2428"},
    {530, "Not logged in.", "RFC 959"},
    {532, "Need account for storing files.", "RFC 959"},
    {533, "Command protection level denied for policy reasons.", "RFC 2228"},
    {534, "Request denied for policy reasons.", "RFC 2228"},
    {535, "Failed security check.", "RFC 2228"},
    {536, "Requested PROT level not supported by mechanism.", "RFC 2228"},
    {550, "Requested action not taken. File unavailable (e.g., file not found, no access).", "RFC 959"},
    {551, "Requested action aborted: page type unknown.", "RFC 959"},
    {552, "Requested file action aborted. Exceeded storage allocation (for current directory or dataset).", "RFC 959"},
    {553, "Requested action not taken. File name not allowed.", "RFC 959"},
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

bool iequals_prefix(std::string_view s, std::string_view verb) {
    if (s.size() < verb.size()) return false;
    for (std::size_t i = 0; i < verb.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(s[i])) != verb[i]) return false;
    return s.size() == verb.size() || s[verb.size()] == ' ';
}

std::string worked_port(const HostPort& hp) {
    const unsigned p = hp.port;
    return "= " + hp.addr.to_string() + " port " + std::to_string(p / 256) + " x 256 + " + std::to_string(p % 256) +
           " = " + std::to_string(p);
}

}  // namespace

std::optional<ReplyExplanation> explain_reply(int code) {
    const int first = code / 100, second = (code / 10) % 10;
    if (code < 100 || code > 599 || second > 5) return std::nullopt;
    ReplyExplanation e;
    e.code = code;
    e.first_digit = kFirst[static_cast<std::size_t>(first - 1)];
    e.second_digit = kSecond[static_cast<std::size_t>(second)];
    for (const auto& k : kKnown)
        if (k.code == code) {
            e.meaning = k.meaning;
            e.source = k.source;
        }
    return e;
}

std::string reply_explanation_text(int code) {
    const auto e = explain_reply(code);
    if (!e) return {};
    std::string out = std::to_string(code) + ": " + std::string(e->first_digit) + "; x" + std::to_string((code / 10) % 10) +
                      "z: " + std::string(e->second_digit) + ".";
    if (!e->meaning.empty()) {
        // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on " " + std::string(...).
        out.append(" ").append(e->source).append(": ").append(e->meaning);
    }
    return out;
}

std::optional<int> reply_code_of(std::string_view line) {
    if (line.size() < 3) return std::nullopt;
    for (int i = 0; i < 3; ++i)
        if (!std::isdigit(static_cast<unsigned char>(line[static_cast<std::size_t>(i)]))) return std::nullopt;
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-' && line[3] != '\r') return std::nullopt;
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!explain_reply(code)) return std::nullopt;
    return code;
}

std::string decoded_endpoint(std::string_view ftp_line) {
    const std::string_view line = trim(ftp_line);
    if (iequals_prefix(line, "PORT")) {
        if (auto hp = parse_port_arg(trim(line.substr(4)))) return worked_port(*hp);
    } else if (iequals_prefix(line, "EPRT")) {
        if (auto hp = parse_eprt_arg(trim(line.substr(4)))) return "= " + hp->addr.to_string() + " port " + std::to_string(hp->port);
    } else if (auto code = reply_code_of(line)) {
        if (*code == 227 && line.size() > 4) {
            if (auto hp = parse_227_text(line.substr(4))) return worked_port(*hp);
        } else if (*code == 229 && line.size() > 4) {
            if (auto port = parse_229_text(line.substr(4)))
                return "= port " + std::to_string(*port) + " on the server's address";
        }
    }
    return {};
}

}  // namespace ftpsim::proto
