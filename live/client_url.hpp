// ftp:// URLs for the live client (`ftpsim get|put|ls URL`).
//
//   ftp://[USER[:PASSWORD]@]HOST[:PORT][/PATH]
//
// HOST is a name (resolved with getaddrinfo when the client connects), a dotted IPv4 address or
// an IPv6 address in brackets ("[::1]", RFC 3986). PORT defaults to 21. USER, PASSWORD and PATH
// are percent-decoded ("%40" -> "@"). The scheme is case-insensitive.
//
// The path, like curl's: "ftp://host/dir/file" names "dir/file" relative to the directory the
// login lands in; "ftp://host//srv/file" (an encoded leading slash, "%2F" works too) names the
// absolute "/srv/file". The client sends it in one command ("RETR dir/file"), without curl's
// CWD per path component. "ftp://host" and "ftp://host/" name the login directory itself.
//
// Parsing never throws; a malformed URL gives a message that says what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace ftpsim::live {

struct FtpUrl {
    std::optional<std::string> user;      // decoded; nullopt when the URL names none
    std::optional<std::string> password;  // decoded; nullopt when the URL has no ":PASS"
    std::string host;                     // without brackets: "::1", "127.0.0.1", "example.org"
    bool host_is_ipv6_literal = false;
    std::uint16_t port = 21;
    std::string path;                     // decoded, without the separating slash ("" = none)
    bool path_is_directory = false;       // "" or ending in '/': names a directory, not a file

    // The last component of the path ("dir/file.bin" -> "file.bin"; "" for a directory).
    std::string file_name() const;
    // "host:port" for messages, with brackets for IPv6 ("[::1]:2121").
    std::string authority() const;
};

struct UrlError {
    std::string message;  // "bad URL 'x': expected ftp://[user[:password]@]host[:port]/path"
};

std::variant<FtpUrl, UrlError> parse_ftp_url(std::string_view text);

}  // namespace ftpsim::live
