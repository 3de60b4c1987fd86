// ftpsim serve: checks the flags (bad input -> a message naming the flag, exit 2) and runs the
// live server (live/server.hpp, docs/live.md).
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>

#include "app/commands.hpp"
#include "app/output.hpp"
#include "live/server.hpp"

namespace ftpsim::app {

namespace {

int bad(const std::string& msg) {
    print_error("ftpsim serve: " + msg);
    return kExitBadInput;
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (i == 0) return std::nullopt;
    const std::string suffix = text.substr(i);
    std::uint64_t mul = 1;
    if (suffix.empty()) mul = 1;
    else if (suffix == "K" || suffix == "k") mul = 1024;
    else if (suffix == "M" || suffix == "m") mul = 1024 * 1024;
    else if (suffix == "G" || suffix == "g") mul = 1024ULL * 1024 * 1024;
    else return std::nullopt;
    if (v > UINT64_MAX / mul) return std::nullopt;
    return v * mul;
}

std::optional<std::uint16_t> parse_port(const std::string& s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

}  // namespace

int cmd_serve(const ServeFlags& f) {
    live::ServeOptions o;
    auto listen = live::parse_host_port(f.listen);
    if (!listen)
        return bad("--listen " + f.listen + ": expected ADDR:PORT with a numeric address, e.g. 127.0.0.1:2121 or [::1]:2121");
    o.listen = *listen;

    struct stat st{};
    if (::stat(f.root.c_str(), &st) != 0) return bad("--root " + f.root + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) return bad("--root " + f.root + ": not a directory");
    o.root = f.root;
    o.profile = f.profile;

    if (!f.passive_ports.empty()) {
        const auto dash = f.passive_ports.find('-');
        const auto lo = dash == std::string::npos ? std::nullopt : parse_port(f.passive_ports.substr(0, dash));
        const auto hi = dash == std::string::npos ? std::nullopt : parse_port(f.passive_ports.substr(dash + 1));
        if (!lo || !hi || *lo > *hi)
            return bad("--passive-ports " + f.passive_ports + ": expected A-B with 1 <= A <= B <= 65535, e.g. 50000-50100");
        o.passive_ports = std::make_pair(*lo, *hi);
    }
    if (!f.users.empty()) {
        if (auto e = live::read_users_file(f.users, o.users)) return bad(*e);
    }
    o.anonymous = !f.no_anonymous;
    if (!o.anonymous && o.users.empty())
        return bad("--no-anonymous needs --users FILE (nobody could log in)");
    o.anonymous_writable = f.writable;
    o.max_clients = static_cast<std::size_t>(f.max_clients);
    o.max_unauthenticated = static_cast<std::size_t>(f.max_unauthenticated);
    o.max_per_address = static_cast<std::size_t>(f.max_per_address);
    if (!(f.login_timeout > 0) || !std::isfinite(f.login_timeout) || f.login_timeout > 1e6)
        return bad("--login-timeout: expected seconds between 0 and 1000000");
    o.login_timeout_ns = static_cast<std::int64_t>(f.login_timeout * 1e9);
    if (f.login_fail_delay >= 0) o.login_fail_delay_ns = static_cast<std::int64_t>(f.login_fail_delay * 1e9);
    o.max_login_fails = f.max_login_fails;
    if (!(f.idle_timeout > 0) || !std::isfinite(f.idle_timeout) || f.idle_timeout > 1e6)
        return bad("--idle-timeout: expected seconds between 0 and 1000000");
    if (!(f.data_timeout > 0) || !std::isfinite(f.data_timeout) || f.data_timeout > 1e6)
        return bad("--data-timeout: expected seconds between 0 and 1000000");
    o.idle_timeout_ns = static_cast<std::int64_t>(f.idle_timeout * 1e9);
    o.data_timeout_ns = static_cast<std::int64_t>(f.data_timeout * 1e9);
    if (!f.max_transfer.empty()) {
        auto v = parse_size(f.max_transfer);
        if (!v || *v == 0) return bad("--max-transfer " + f.max_transfer + ": expected a positive number of bytes, e.g. 1048576 or 100M");
        o.max_transfer = *v;
    }
    o.trace_file = f.trace;
    o.once = f.once;
    o.verbose = f.verbose;
    // Its log quotes clients' commands and its errors the flags: escaped line by line.
    return live::serve(o, std::cout, escaped_stderr());
}

}  // namespace ftpsim::app
