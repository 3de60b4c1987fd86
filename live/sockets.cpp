#include "live/sockets.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ftpsim::live {

// ---- Fd ------------------------------------------------------------------------------------

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

Fd::~Fd() { close(); }

void Fd::close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void Fd::reset() {
    if (fd_ < 0) return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
}

std::string errno_text(int err) { return std::strerror(err); }

// ---- Addresses -----------------------------------------------------------------------------

SockAddr to_sockaddr(const HostPort& hp) {
    SockAddr s;
    if (hp.addr.is_v4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&s.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(hp.port);
        std::memcpy(&in->sin_addr, hp.addr.bytes.data(), 4);
        s.len = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(hp.port);
        std::memcpy(&in6->sin6_addr, hp.addr.bytes.data(), 16);
        s.len = sizeof(sockaddr_in6);
    }
    return s;
}

std::optional<HostPort> from_sockaddr(const sockaddr* sa, socklen_t len) {
    HostPort hp;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        hp.addr.family = IpAddress::Family::V4;
        std::memcpy(hp.addr.bytes.data(), &in->sin_addr, 4);
        hp.port = ntohs(in->sin_port);
        return hp;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        hp.port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            hp.addr.family = IpAddress::Family::V4;
            std::memcpy(hp.addr.bytes.data(), reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr) + 12, 4);
        } else {
            hp.addr.family = IpAddress::Family::V6;
            std::memcpy(hp.addr.bytes.data(), &in6->sin6_addr, 16);
        }
        return hp;
    }
    return std::nullopt;
}

std::optional<HostPort> parse_host_port(std::string_view text, std::optional<std::uint16_t> default_port) {
    std::string_view host = text, port;
    bool has_port = false;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon != std::string_view::npos && text.find(':') == colon) {  // exactly one ':' -> v4:port
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
            has_port = true;
        }
    }
    const auto ip = proto::parse_ip(host);
    if (!ip) return std::nullopt;
    HostPort hp{*ip, 0};
    if (has_port) {
        if (port.empty() || port.size() > 5) return std::nullopt;
        unsigned v = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v > 65535) return std::nullopt;
        hp.port = static_cast<std::uint16_t>(v);
    } else {
        if (!default_port) return std::nullopt;
        hp.port = *default_port;
    }
    return hp;
}

std::optional<HostPort> local_endpoint(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
    return from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

std::optional<HostPort> peer_endpoint(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
    return from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

// ---- Sockets -------------------------------------------------------------------------------

namespace {

int family_of(const IpAddress& a) { return a.is_v4() ? AF_INET : AF_INET6; }

Fd new_socket(const IpAddress& a, int* err) {
    const int fd = ::socket(family_of(a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) *err = errno;
    if (fd >= 0 && !a.is_v4()) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    return Fd(fd);
}

NetError make_error(const char* what, const std::string& where, int err) {
    return NetError{err, std::string(what) + " " + where + ": " + errno_text(err)};
}

}  // namespace

std::variant<Listener, NetError> listen_tcp(const IpAddress& addr, std::uint16_t lo,
                                            std::uint16_t hi, std::uint16_t start, int backlog) {
    if (hi < lo) std::swap(lo, hi);
    const std::uint32_t count = static_cast<std::uint32_t>(hi) - lo + 1;
    std::uint32_t first = 0;
    if (start >= lo && start <= hi) first = static_cast<std::uint32_t>(start) - lo;
    int last_err = EADDRINUSE;
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto port = static_cast<std::uint16_t>(lo + (first + i) % count);
        int err = 0;
        Fd fd = new_socket(addr, &err);
        if (!fd.valid()) return make_error("socket", addr.to_string(), err);
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        const SockAddr sa = to_sockaddr(HostPort{addr, port});
        if (::bind(fd.get(), sa.get(), sa.len) != 0) {
            last_err = errno;
            if (last_err == EADDRINUSE || last_err == EACCES) continue;
            return make_error("bind", HostPort{addr, port}.to_string(), last_err);
        }
        if (::listen(fd.get(), backlog) != 0) {
            last_err = errno;
            if (last_err == EADDRINUSE) continue;  // another socket listens on it (REUSEADDR)
            return make_error("listen", HostPort{addr, port}.to_string(), last_err);
        }
        auto local = local_endpoint(fd.get());
        if (!local) return make_error("getsockname", addr.to_string(), errno);
        return Listener{std::move(fd), *local};
    }
    const std::string where = lo == 0 && hi == 0 ? addr.to_string()
                              : lo == hi ? HostPort{addr, lo}.to_string()
                                         : addr.to_string() + " ports " + std::to_string(lo) + "-" +
                                               std::to_string(hi);
    return make_error("bind", where, last_err);
}

std::optional<Accepted> accept_tcp(int listen_fd, int* err) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (err) *err = (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : errno;
        return std::nullopt;
    }
    Accepted a;
    a.fd = Fd(fd);
    auto remote = from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    auto local = local_endpoint(fd);
    if (!remote || !local) {
        if (err) *err = ENOTCONN;
        return std::nullopt;
    }
    a.remote = *remote;
    a.local = *local;
    return a;
}

std::variant<Connecting, NetError> connect_tcp(const HostPort& remote, std::optional<HostPort> local) {
    int err = 0;
    Fd fd = new_socket(remote.addr, &err);
    if (!fd.valid()) return make_error("socket", remote.to_string(), err);
    if (local) {
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        HostPort l = *local;
        if (l.addr.family != remote.addr.family) l.addr = IpAddress{remote.addr.family, {}};
        const SockAddr sa = to_sockaddr(l);
        if (::bind(fd.get(), sa.get(), sa.len) != 0)
            return make_error("bind", l.to_string(), errno);
    }
    const SockAddr sa = to_sockaddr(remote);
    if (::connect(fd.get(), sa.get(), sa.len) != 0 && errno != EINPROGRESS)
        return make_error("connect", remote.to_string(), errno);
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Connecting{std::move(fd)};
}

ConnectStatus connect_result(int fd, int* err) {
    int e = 0;
    socklen_t len = sizeof e;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) e = errno;
    if (e == 0) {
        // SO_ERROR is 0 while still connecting too: check that we have a peer.
        if (!peer_endpoint(fd)) {
            if (errno == ENOTCONN) {
                if (err) *err = EINPROGRESS;
                return ConnectStatus::InProgress;
            }
        }
        if (err) *err = 0;
        return ConnectStatus::Ok;
    }
    if (err) *err = e;
    switch (e) {
        case EINPROGRESS:
        case EALREADY: return ConnectStatus::InProgress;
        case ECONNREFUSED: return ConnectStatus::Refused;
        case ETIMEDOUT: return ConnectStatus::TimedOut;
        case ENETUNREACH:
        case EHOSTUNREACH: return ConnectStatus::Unreachable;
        default: return ConnectStatus::Other;
    }
}

const char* to_string(ConnectStatus s) {
    switch (s) {
        case ConnectStatus::Ok: return "connected";
        case ConnectStatus::InProgress: return "in progress";
        case ConnectStatus::Refused: return "refused";
        case ConnectStatus::TimedOut: return "timed out";
        case ConnectStatus::Unreachable: return "unreachable";
        case ConnectStatus::Other: return "failed";
    }
    return "failed";
}

IoResult read_some(int fd, char* buf, std::size_t len) {
    IoResult r;
    for (;;) {
        const ssize_t n = ::recv(fd, buf, len, 0);
        if (n > 0) r.n = static_cast<std::size_t>(n);
        else if (n == 0) r.eof = true;
        else if (errno == EINTR) continue;
        else if (errno == EAGAIN || errno == EWOULDBLOCK) r.would_block = true;
        else r.err = errno;
        return r;
    }
}

IoResult write_some(int fd, const char* buf, std::size_t len) {
    IoResult r;
    for (;;) {
        const ssize_t n = ::send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) r.n = static_cast<std::size_t>(n);
        else if (errno == EINTR) continue;
        else if (errno == EAGAIN || errno == EWOULDBLOCK) r.would_block = true;
        else r.err = errno;
        return r;
    }
}

void shutdown_write(int fd) { ::shutdown(fd, SHUT_WR); }

std::size_t unsent_bytes(int fd) {
    int n = 0;
    if (::ioctl(fd, SIOCOUTQ, &n) != 0 || n < 0) return 0;
    return static_cast<std::size_t>(n);
}

// ---- EventLoop -----------------------------------------------------------------------------

std::int64_t EventLoop::now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void EventLoop::watch(int fd, Callback on_readable, Callback on_writable) {
    Watch& w = watches_[fd];
    w.on_readable = std::move(on_readable);
    w.on_writable = std::move(on_writable);
    w.generation = next_generation_++;
}

void EventLoop::set_readable(int fd, Callback on_readable) {
    auto it = watches_.find(fd);
    if (it != watches_.end()) it->second.on_readable = std::move(on_readable);
}

void EventLoop::set_writable(int fd, Callback on_writable) {
    auto it = watches_.find(fd);
    if (it != watches_.end()) it->second.on_writable = std::move(on_writable);
}

void EventLoop::unwatch(int fd) { watches_.erase(fd); }

EventLoop::TimerId EventLoop::add_timer(std::int64_t at_ns, Callback cb) {
    const TimerId id = next_timer_++;
    timers_.emplace(std::make_pair(at_ns, id), std::move(cb));
    timer_at_.emplace(id, at_ns);
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timer_at_.find(id);
    if (it == timer_at_.end()) return;
    timers_.erase(std::make_pair(it->second, id));
    timer_at_.erase(it);
}

bool EventLoop::run_once(std::int64_t max_wait_ns) {
    std::vector<pollfd> fds;
    std::vector<std::uint64_t> gens;
    fds.reserve(watches_.size());
    gens.reserve(watches_.size());
    for (const auto& [fd, w] : watches_) {
        short ev = 0;
        if (w.on_readable) ev |= POLLIN;
        if (w.on_writable) ev |= POLLOUT;
        if (ev == 0) continue;
        fds.push_back(pollfd{fd, ev, 0});
        gens.push_back(w.generation);
    }
    std::int64_t wait = max_wait_ns;
    if (!timers_.empty()) {
        const std::int64_t until = timers_.begin()->first.first - now_ns();
        const std::int64_t t = until < 0 ? 0 : until;
        if (wait < 0 || t < wait) wait = t;
    }
    int timeout_ms = -1;
    if (wait >= 0) timeout_ms = static_cast<int>(std::min<std::int64_t>((wait + 999'999) / 1'000'000, 1'000'000));
    const int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) return false;
    if (n > 0) {
        for (std::size_t i = 0; i < fds.size(); ++i) {
            const short re = fds[i].revents;
            if (re == 0) continue;
            const int fd = fds[i].fd;
            // Readable first, then writable; each looked up again: an earlier callback may have
            // unwatched or replaced this descriptor.
            const bool err = (re & (POLLERR | POLLHUP | POLLNVAL)) != 0;
            auto it = watches_.find(fd);
            if (it == watches_.end() || it->second.generation != gens[i]) continue;
            if ((re & POLLIN) || (err && it->second.on_readable)) {
                Callback cb = it->second.on_readable;
                if (cb) cb();
            }
            it = watches_.find(fd);
            if (it == watches_.end() || it->second.generation != gens[i]) continue;
            if ((re & POLLOUT) || (err && !it->second.on_readable)) {
                Callback cb = it->second.on_writable;
                if (cb) cb();
            }
        }
    }
    const std::int64_t now = now_ns();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
        auto node = timers_.extract(timers_.begin());
        timer_at_.erase(node.key().second);
        if (node.mapped()) node.mapped()();
    }
    return true;
}

void EventLoop::run_until(const std::function<bool()>& done) {
    while (!stopped_ && !(done && done())) {
        if (!run_once()) break;
    }
}

}  // namespace ftpsim::live
