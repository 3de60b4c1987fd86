#include "live/client_url.hpp"

#include <cctype>

#include "protocol/address.hpp"

namespace ftpsim::live {

namespace {

constexpr std::string_view kForm = "ftp://[user[:password]@]host[:port][/path]";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decodes `in`; the error names the part of the URL (`what`).
std::optional<std::string> decode(std::string_view in, std::string_view what, std::string& error) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                error = "bad percent-encoding in the " + std::string(what) +
                        ": expected '%' followed by two hex digits";
                return std::nullopt;
            }
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        // A CR, LF or NUL would end the FTP command early and start another one.
        if (c == '\r' || c == '\n' || c == '\0') {
            error = "the " + std::string(what) + " contains a CR, LF or NUL character";
            return std::nullopt;
        }
        out += c;
    }
    return out;
}

bool valid_host_name(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
            return false;
    return true;
}

}  // namespace

std::string FtpUrl::file_name() const {
    if (path_is_directory) return {};
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string FtpUrl::authority() const {
    std::string h = host_is_ipv6_literal ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

std::variant<FtpUrl, UrlError> parse_ftp_url(std::string_view text) {
    auto fail = [&](std::string why) {
        return UrlError{"bad URL '" + std::string(text) + "': " + why + " (expected " +
                        std::string(kForm) + ")"};
    };
    for (char c : text)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            return fail("it contains a space or a control character (write it as %20 ...)");
    auto colon = text.find("://");
    if (colon == std::string_view::npos) return fail("no scheme");
    std::string scheme(text.substr(0, colon));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "ftp") return fail("the scheme is '" + scheme + "', only ftp:// is supported");
    std::string_view rest = text.substr(colon + 3);

    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (auto q = path.find_first_of("?#"); q != std::string_view::npos)
        return fail("a query or fragment ('?', '#') has no meaning in an ftp:// URL");

    FtpUrl url;
    std::string error;
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        auto sep = userinfo.find(':');
        auto user = decode(userinfo.substr(0, sep), "user name", error);
        if (!user) return fail(error);
        if (user->empty()) return fail("an empty user name before '@'");
        url.user = std::move(*user);
        if (sep != std::string_view::npos) {
            auto pass = decode(userinfo.substr(sep + 1), "password", error);
            if (!pass) return fail(error);
            url.password = std::move(*pass);
        }
    }

    std::string_view host, port;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return fail("'[' without ']' around the IPv6 address");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail("expected ':' and a port after ']'");
            port = after.substr(1);
            if (port.empty()) return fail("a ':' without a port number");
        }
        auto ip = proto::parse_ip(host);
        if (!ip || ip->is_v4()) {
            std::string why = "'";  // appended, not "'" + std::string(host): GCC 12 warns falsely (-Wrestrict)
            why.append(host).append("' is not an IPv6 address");
            return fail(why);
        }
        url.host_is_ipv6_literal = true;
    } else {
        auto sep = authority.find(':');
        host = authority.substr(0, sep);
        if (sep != std::string_view::npos) {
            port = authority.substr(sep + 1);
            if (port.empty()) return fail("a ':' without a port number");
            if (port.find(':') != std::string_view::npos)
                return fail("an IPv6 address must be written in brackets: ftp://[::1]:21/");
        }
        if (host.empty()) return fail("no host");
        if (!valid_host_name(host)) {
            std::string why = "'";  // built step by step: GCC 12 warns (-Wrestrict) on "'" + string
            why.append(host).append("' is not a host name or address");
            return fail(why);
        }
    }
    url.host = std::string(host);
    if (!port.empty()) {
        unsigned long value = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return fail("the port '" + std::string(port) + "' is not a number");
            value = value * 10 + static_cast<unsigned>(c - '0');
            if (value > 65535) break;
        }
        if (value < 1 || value > 65535)
            return fail("the port '" + std::string(port) + "' is not in 1-65535");
        url.port = static_cast<std::uint16_t>(value);
    }

    auto decoded = decode(path, "path", error);
    if (!decoded) return fail(error);
    url.path = std::move(*decoded);
    url.path_is_directory = url.path.empty() || url.path.back() == '/';
    return url;
}

}  // namespace ftpsim::live
