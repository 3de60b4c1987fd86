// Live mode's transport: TCP connections on real sockets, named by ids, over one poll() loop
// (live/sockets.hpp EventLoop). It is to live mode what the simulated stack (sim/net/network.hpp
// net::Stack) is to the simulator: listen / connect / send / close / abort by id, and callbacks
// for what happened (accepted, connected, refused, bytes, the peer's FIN, a reset, drained). The
// session host (the one adapter from a session's actions to a transport) drives either.
//
// What only real sockets need is here too, once for the server and the client:
//   - What a connection sends is a queue of items: bytes, or a ByteSource that produces them as
//     the socket accepts them (a file read from disk in 64 KiB chunks, a directory listing read
//     as it goes). A slow peer costs one chunk, never the file.
//   - close() sends our FIN once the queue is written; "drained" is the kernel's send queue being
//     empty after it (SIOCOUTQ, checked every millisecond): every byte and the FIN acknowledged,
//     like a blocking close() returning.
//   - A connect has a deadline (timed out), an immediate failure is reported too (refused,
//     unreachable), never thrown.
//   - Per connection: the time of its last progress (a byte read or written), for deadlines;
//     reading and writing can be paused (a failed login's delay, a listener at the descriptor
//     limit).
//   - settle(): finish the connects and accepts the kernel has already completed, so a caller
//     can feed events in the wire's order before it reads a reply (poll() reports ready
//     descriptors in no particular order).
//
// Callbacks run from the loop (and from settle() and flush()), never inside listen, connect,
// send, close, abort or release; they may call any method, including on the connection they are
// about.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "live/sockets.hpp"

namespace ftpsim::live {

using ConnId = std::int64_t;
using ListenerId = std::int64_t;

// Bytes produced as the socket accepts them: a file from disk, a directory listing.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Appends at most about `max` bytes to `out`; false when the source has nothing more (what
    // it appended this time still goes out).
    virtual bool fill(std::string& out, std::size_t max) = 0;
    // Each fill is expensive (a listing stats every entry): one fill per round of the loop, so
    // other connections are served in between.
    virtual bool costly() const { return false; }
};

// A regular file from `offset`, `remaining` bytes (read with pread: the descriptor may be
// shared). A file that shrinks or fails ends the source early: what was read is what is sent.
class FileSource final : public ByteSource {
public:
    FileSource(Fd file, std::uint64_t offset, std::uint64_t remaining)
        : file_(std::move(file)), offset_(offset), remaining_(remaining) {}
    bool fill(std::string& out, std::size_t max) override;
    std::uint64_t remaining() const { return remaining_; }
    int error() const { return err_; }  // the errno of a failed read (0: none)
    Fd release_file() { return std::move(file_); }

private:
    Fd file_;
    std::uint64_t offset_ = 0, remaining_ = 0;
    int err_ = 0;
};

// What happened to a connection, reported by the transport.
class TransportHandler {
public:
    virtual ~TransportHandler() = default;
    // A connection to listener `l` was accepted; `c` is readable from now on.
    virtual void on_accept(ListenerId, ConnId, const HostPort& /*local*/, const HostPort& /*remote*/) {}
    // accept() failed with something other than "nothing pending" (EMFILE, ENFILE, ...).
    virtual void on_accept_error(ListenerId, int /*err*/) {}
    virtual void on_connected(ConnId) {}
    // Our connect failed (Refused, TimedOut, Unreachable, Other) after `elapsed_ns`; the
    // connection is forgotten.
    virtual void on_connect_failed(ConnId, ConnectStatus, int /*err*/, std::int64_t /*elapsed_ns*/) {}
    virtual void on_data(ConnId, std::string_view) {}
    // The peer's FIN: nothing more will be read (we may still write).
    virtual void on_peer_closed(ConnId) {}
    // A read or write failed (ECONNRESET, EPIPE, ...): the connection is forgotten.
    virtual void on_reset(ConnId, int /*err*/) {}
    // Our FIN went out (after the queue), just now.
    virtual void on_fin_sent(ConnId) {}
    // Our FIN went out after the queue and the kernel's send queue is empty.
    virtual void on_drained(ConnId) {}
    // `n` bytes of the queue were written (after a write, for progress and byte counts).
    virtual void on_sent(ConnId, std::size_t /*n*/) {}
    // Everything queued has been written (called once after writes emptied the queue).
    virtual void on_empty(ConnId) {}
};

struct ConnOptions {
    std::size_t read_chunk = 64 * 1024;  // bytes per read()
    int read_rounds = 4;                 // reads per readiness (1: let other sockets in between)
};

class Sockets {
public:
    explicit Sockets(EventLoop& loop) : loop_(loop) {}
    ~Sockets();
    Sockets(const Sockets&) = delete;
    Sockets& operator=(const Sockets&) = delete;

    EventLoop& loop() { return loop_; }

    // Listens on `addr` and a port from [lo, hi] (see listen_tcp); accepted connections report
    // to `handler` and get `opts`.
    struct Listening {
        ListenerId id = -1;
        HostPort local;
    };
    std::variant<Listening, NetError> listen(const IpAddress& addr, std::uint16_t lo, std::uint16_t hi,
                                             TransportHandler* handler, std::uint16_t start = 0,
                                             int backlog = 128, ConnOptions opts = {});
    void stop_listening(ListenerId l);
    // Leave the listener out of poll() (at the descriptor limit), or take it back.
    void pause_listener(ListenerId l, bool paused);
    bool has_listener(ListenerId l) const { return listeners_.count(l) != 0; }

    // A non-blocking connect; the outcome arrives as on_connected or on_connect_failed (after
    // `timeout_ns`: TimedOut). An immediate failure (a bind that fails, no route) is returned.
    std::variant<ConnId, NetError> connect(const HostPort& remote, std::optional<HostPort> local,
                                           std::int64_t timeout_ns, TransportHandler* handler,
                                           ConnOptions opts = {});

    // Queue bytes / a source; written as the socket accepts them (from the loop: no callback
    // runs inside these calls, nor inside close(); flush() writes now and may call back).
    void send(ConnId c, std::string bytes);
    void send(ConnId c, std::unique_ptr<ByteSource> source);
    void flush(ConnId c);
    // Something is queued, not yet written.
    bool sending(ConnId c) const;
    // Bytes queued as bytes, not yet written (a source counts 0).
    std::size_t queued_bytes(ConnId c) const;
    // An id no connection has (for a connect that failed at once, reported later).
    ConnId reserve_id() { return next_conn_++; }

    // FIN once the queue is written; the connection stays readable (half-close) and reports
    // on_drained when everything is acknowledged.
    void close(ConnId c);
    // FIN once the queue is written, then the descriptor is closed and the connection forgotten:
    // no more callbacks.
    void close_and_release(ConnId c);
    // RST now (queued bytes dropped); forgotten, no more callbacks.
    void abort(ConnId c);
    // Close the descriptor now (orderly) and forget it; no more callbacks.
    void release(ConnId c);

    // Stop or resume reading (a reader that is done, a connection on hold).
    void pause_reading(ConnId c, bool paused);
    // Stop or resume writing (a connection on hold keeps its queue).
    void pause_writing(ConnId c, bool paused);
    // Another handler for the connection's callbacks (SPSV: a control connection becomes a
    // data connection).
    void set_handler(ConnId c, TransportHandler* handler);

    struct Info {
        HostPort local, remote;
        bool connecting = false;
        bool fin_sent = false;
        std::int64_t last_progress = 0;  // EventLoop::now_ns() of the last byte moved (or the start)
        std::uint64_t bytes_sent = 0, bytes_received = 0;
    };
    std::optional<Info> info(ConnId c) const;
    bool exists(ConnId c) const { return conns_.count(c) != 0; }
    std::size_t connections() const { return conns_.size(); }

    // Finish what the kernel has already done: accepts pending on every listener, connects
    // that completed. Their callbacks run now.
    void settle();

    // Every connection and listener closed (reset when `reset`), without callbacks.
    void close_all(bool reset);

private:
    struct Conn {
        Fd fd;
        TransportHandler* handler = nullptr;
        ConnOptions opts;
        bool connecting = false;
        EventLoop::TimerId connect_timer = 0;
        std::int64_t started = 0;
        HostPort local, remote;
        std::deque<std::variant<std::string, std::unique_ptr<ByteSource>>> queue;
        std::string buf;
        std::size_t buf_off = 0;
        bool fin_requested = false, fin_sent = false, release_after_fin = false;
        bool read_paused = false, write_paused = false, read_done = false;
        EventLoop::TimerId drain_timer = 0;
        std::int64_t last_progress = 0;
        std::uint64_t sent = 0, received = 0;
        std::size_t queued = 0;      // bytes in `queue` strings and `buf` not yet written
        bool wrote = false;          // written since the last on_empty
    };
    struct ListenerState {
        Listener listener;
        TransportHandler* handler = nullptr;
        ConnOptions opts;
        bool paused = false;
    };

    Conn* conn(ConnId c);
    ConnId adopt(Fd fd, TransportHandler* h, ConnOptions opts, HostPort local, HostPort remote);
    void rewatch(ConnId c);
    void on_listener(ListenerId l);
    void on_connect_ready(ConnId c);
    void on_readable(ConnId c);
    void on_writable(ConnId c);
    bool refill(Conn& k);
    void send_fin(ConnId c);
    void check_drained(ConnId c);
    void forget(ConnId c, bool reset);

    EventLoop& loop_;
    std::map<ConnId, std::unique_ptr<Conn>> conns_;
    std::map<ListenerId, ListenerState> listeners_;
    ConnId next_conn_ = 1;
    ListenerId next_listener_ = 1;
};

}  // namespace ftpsim::live
