// Live mode's socket layer: small non-blocking TCP helpers (IPv4 and IPv6) and a poll()-based
// event loop. Used by `ftpsim serve` (live/server.cpp) and `ftpsim get|put|ls` (live/client*.cpp).
//
// Conventions:
//   - Every socket made here is non-blocking and close-on-exec. An `Fd` owns its descriptor and
//     closes it when destroyed; `.release()` hands the number over.
//   - Functions that can fail return an error as a `NetError` (errno + a readable message naming
//     the address) instead of throwing; nothing here throws except std::bad_alloc.
//   - Addresses are protocol::HostPort / IpAddress (protocol/address.hpp), so what a session's
//     Listen/Connect actions name maps directly onto sockets.
//   - Time is CLOCK_MONOTONIC in nanoseconds (EventLoop::now_ns()), the same unit as proto::Time.
//
// A typical non-blocking connect:
//   auto c = live::connect_tcp(remote);                 // in progress (or failed at once)
//   loop.watch(c.fd.get(), nullptr, [&] {               // writable = the handshake finished
//       ConnectStatus s = live::connect_result(fd);     // Ok, Refused, TimedOut, Unreachable, ...
//   });
//   loop.add_timer(EventLoop::now_ns() + 10'000'000'000, [&] { /* give up: TimedOut */ });
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "protocol/address.hpp"

namespace ftpsim::live {

using proto::HostPort;
using proto::IpAddress;

// ---- Errors and descriptors ------------------------------------------------------------------

struct NetError {
    int err = 0;            // errno
    std::string message;    // "bind 127.0.0.1:2121: Address already in use"
};

// An owned file descriptor (-1 = none). Move-only.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    bool valid() const { return fd_ >= 0; }
    void close();   // orderly close (FIN after the queued bytes)
    void reset();   // SO_LINGER {1, 0} then close: the peer gets a RST, queued bytes are dropped

private:
    int fd_ = -1;
};

// ---- Addresses -----------------------------------------------------------------------------

struct SockAddr {
    sockaddr_storage storage{};
    socklen_t len = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SockAddr to_sockaddr(const HostPort& hp);
// AF_INET / AF_INET6 only; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes plain IPv4.
std::optional<HostPort> from_sockaddr(const sockaddr* sa, socklen_t len);

// "127.0.0.1:2121", "[::1]:2121", "::1" needs brackets when a port follows. A missing port
// (":" absent) takes `default_port`; nullopt when the text is not an address (no name lookup).
std::optional<HostPort> parse_host_port(std::string_view text, std::optional<std::uint16_t> default_port = {});

// The endpoints of a connected (or bound) socket; nullopt if the call fails.
std::optional<HostPort> local_endpoint(int fd);
std::optional<HostPort> peer_endpoint(int fd);

// ---- Sockets -------------------------------------------------------------------------------

struct Listener {
    Fd fd;
    HostPort local;  // the bound address and port
};

// Listen on `addr` with a port from [lo, hi], trying them in order starting at `start` (clamped
// into the range; ports before it are tried last), so callers can spread their choice. lo = hi = 0
// asks the kernel for an ephemeral port. SO_REUSEADDR is set; an IPv6 socket is IPV6_V6ONLY.
// Fails with EADDRINUSE when every port in the range is taken.
std::variant<Listener, NetError> listen_tcp(const IpAddress& addr, std::uint16_t lo = 0,
                                            std::uint16_t hi = 0, std::uint16_t start = 0,
                                            int backlog = 128);

// Accept one pending connection (non-blocking). nullopt when none is pending (EAGAIN) or the
// attempt failed (the error, if any, in *err; ECONNABORTED etc. are not fatal to the listener).
struct Accepted {
    Fd fd;
    HostPort local, remote;
};
std::optional<Accepted> accept_tcp(int listen_fd, int* err = nullptr);

// Start a non-blocking connect to `remote`, optionally binding `local` first (an unspecified
// address with a port binds only the port, e.g. port 20). On success the connection is in
// progress (or already complete): wait for writability, then call connect_result().
struct Connecting {
    Fd fd;
};
std::variant<Connecting, NetError> connect_tcp(const HostPort& remote,
                                               std::optional<HostPort> local = {});

enum class ConnectStatus : std::uint8_t {
    Ok,
    InProgress,   // not finished yet
    Refused,      // ECONNREFUSED: a RST answered the SYN
    TimedOut,     // ETIMEDOUT (the kernel gave up; callers usually time out earlier themselves)
    Unreachable,  // ENETUNREACH / EHOSTUNREACH
    Other,
};
// Reads SO_ERROR. `*err` receives the errno when it is not Ok.
ConnectStatus connect_result(int fd, int* err = nullptr);
const char* to_string(ConnectStatus s);

// Non-blocking I/O. n > 0 bytes moved; eof = the peer closed (read only); would_block = EAGAIN;
// err != 0 = an error (ECONNRESET, EPIPE...). MSG_NOSIGNAL is used: no SIGPIPE.
struct IoResult {
    std::size_t n = 0;
    bool eof = false;
    bool would_block = false;
    int err = 0;
};
IoResult read_some(int fd, char* buf, std::size_t len);
IoResult write_some(int fd, const char* buf, std::size_t len);
// shutdown(SHUT_WR): send our FIN, keep reading.
void shutdown_write(int fd);
// Bytes still in the kernel's send queue, not yet acknowledged by the peer (SIOCOUTQ). 0 means
// everything written has been delivered.
std::size_t unsent_bytes(int fd);

std::string errno_text(int err);

// ---- The event loop ------------------------------------------------------------------------

// Single-threaded poll() loop. Register a descriptor with callbacks for readable and writable
// (an empty std::function = not interested); timers fire once at a monotonic time.
// Callbacks may watch/unwatch any descriptor and add/cancel timers, including their own.
class EventLoop {
public:
    using Callback = std::function<void()>;
    using TimerId = std::uint64_t;

    static std::int64_t now_ns();  // CLOCK_MONOTONIC

    // Register (or replace) the callbacks of `fd`. POLLERR/POLLHUP call on_readable if set,
    // else on_writable, so a reader sees the error from read().
    void watch(int fd, Callback on_readable, Callback on_writable);
    void set_readable(int fd, Callback on_readable);   // fd must be watched
    void set_writable(int fd, Callback on_writable);
    void unwatch(int fd);
    bool watching(int fd) const { return watches_.count(fd) != 0; }
    std::size_t watched() const { return watches_.size(); }

    TimerId add_timer(std::int64_t at_ns, Callback cb);
    void cancel_timer(TimerId id);

    // One poll() round: waits at most until the next timer or `max_wait_ns` (-1 = no limit),
    // dispatches ready descriptors and due timers. Returns false when poll() failed with
    // something other than EINTR.
    bool run_once(std::int64_t max_wait_ns = -1);
    // Rounds until `done()` is true (checked before each round) or stop() was called.
    void run_until(const std::function<bool()>& done);
    void stop() { stopped_ = true; }  // from a callback or another thread; ends run_until's round
    bool stopped() const { return stopped_; }

private:
    struct Watch {
        Callback on_readable, on_writable;
        std::uint64_t generation = 0;
    };
    std::map<int, Watch> watches_;
    std::map<std::pair<std::int64_t, TimerId>, Callback> timers_;
    std::map<TimerId, std::int64_t> timer_at_;
    TimerId next_timer_ = 1;
    std::uint64_t next_generation_ = 1;
    std::atomic<bool> stopped_{false};  // stop() may come from another thread (a test's)
};

}  // namespace ftpsim::live
