// Recording a real FTP session (live mode, or a capture being imported) into ftpsim's trace.
//
// A live trace is a command-level trace: it has no Segment events (the sockets API does not
// show TCP segments), only what the endpoints see: connections opened and closed (Socket events),
// FTP commands and replies (FtpCommand / FtpReply, exactly as written, CRLF removed) and the bytes
// of each data connection (one DataBytes event per direction and connection, summed, stamped with
// the time of its first byte). The ladder layout draws such traces directly (viz/layout.cpp), so
// the exporters, the text ladder and the GUI work on real sessions as on simulated ones.
//
// `ftpsim serve`, `ftpsim get|put|ls` and `ftpsim import` all build their traces with this
// class, so a session recorded live and the same session imported from a capture produce the
// same events in the same order (the test in tests/live compares their ladders).
//
// Times are nanoseconds since the recording's origin (the first event is at 0). The recorder
// keeps the call order for events with the same time.
//
// Typed facts (issue #14): socket events and the live server's own decisions carry a
// trace::Fact and its fields; their text is trace::sentence(e) (trace/render.hpp), never a
// sentence written here. FTP lines are recorded as written.
//
// Streaming (`ftpsim serve --trace`): after stream_to(), events are written to the file as they
// become final instead of being kept: memory holds the nodes, connections and transfers, the
// data runs still open (one event each) and the events of held connections (see hold()), not
// the events. The file is a valid trace JSON once finish_stream() has written its end; its
// events are in the order written (seq = that order), each with its own time: a data run's
// DataBytes event is written when its connection closes, stamped with its first byte's time,
// so times are not monotonic in the file (readers order by time, then seq).
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace.hpp"

namespace ftpsim::live {

// The live server's refusals and timeouts, as typed facts (trace::Fact::Serve*).
enum class RefusalKind : std::uint8_t { PerAddress, Unauthenticated, MaxClients, DescriptorLimit };
enum class TimeoutKind : std::uint8_t { Idle, Login };
// The sentences for the log (the same trace::sentence as in the trace).
std::string render_refusal(RefusalKind kind, const std::string& addr, std::size_t count, std::size_t limit,
                           const std::string& detail);
std::string render_timeout(TimeoutKind kind, std::int64_t limit_ns);

class Recorder {
public:
    // `name` goes to trace.scenario ("live" or "import:FILE"), `title` to trace.title.
    Recorder(std::string name, std::string title);

    // The two lanes: by convention "client" (role client) and "server" (role server), kind "host",
    // each with its address as seen on the wire. Call before recording events.
    void add_node(const std::string& name, const std::string& role, const std::string& address);

    // A connection is established (after the handshake). `initiator` connected to `responder`;
    // endpoints as the initiator sees them (local = initiator's address:port, remote = the
    // responder's). On one machine (no NAT) the responder sees the mirror image, which is what
    // is stored for it. purpose: "control" or "data"; control_id: for a data connection, the
    // control connection it serves. Records a Socket event "connect A:p -> B:q" on the initiator
    // and returns the connection id (0, 1, 2, ... in call order).
    int open_connection(trace::TimeNs t, const std::string& purpose, const std::string& initiator,
                        const std::string& responder, const trace::Endpoint& initiator_local,
                        const trace::Endpoint& initiator_remote, int control_id = -1, bool hold = false);

    // A command line sent on control connection `conn` by its initiator (the client), without the
    // CRLF. Also used for the SPDT line of a single-port data connection.
    void command(trace::TimeNs t, int conn, std::string_view line);
    // A complete reply (one line, or a multi-line reply with its lines joined by "\n", CRLFs
    // removed) sent by the responder of control connection `conn`.
    void reply(trace::TimeNs t, int conn, std::string_view text);
    // `n` bytes of file or listing data sent on data connection `conn` by node `from`. Successive
    // calls for the same connection and direction add up into one DataBytes event.
    void data(trace::TimeNs t, int conn, const std::string& from, std::uint64_t n);
    // The connection was closed by `by` (FIN) or reset (RST) -> Socket event "close" / "reset".
    void close(trace::TimeNs t, int conn, const std::string& by, bool reset = false);
    // A connection attempt that failed (refused, timed out, unreachable): Socket event on `node`
    // (Fact::ConnectFailed, src = local if known, dst = remote, timeout_ns = the time waited).
    void connect_failed(trace::TimeNs t, const std::string& node, const trace::Endpoint& local,
                        const trace::Endpoint& remote, trace::SocketError error, trace::TimeNs waited = 0);
    // A listening socket (Fact::Listen, src = the local address) and a listen that failed
    // (Fact::ListenFailed, src = the address asked for, error = port-in-use or no-free-port).
    void listen(trace::TimeNs t, const std::string& node, const trace::Endpoint& local);
    void listen_failed(trace::TimeNs t, const std::string& node, const trace::Endpoint& local, trace::SocketError error);

    // The live server's decisions (Fact::Serve*; see trace/trace.hpp for the fields).
    void refusal(trace::TimeNs t, RefusalKind kind, const std::string& addr, std::size_t count,
                 std::size_t limit, const std::string& detail);
    void login_failed(trace::TimeNs t, const std::string& node, int fails, int max_fails,
                      std::int64_t delay_ns, bool closing);
    void timeout(trace::TimeNs t, TimeoutKind kind, std::int64_t limit_ns);
    void data_stalled(trace::TimeNs t, std::int64_t limit_ns);
    // staging: the upload's staging file (else the target `name`); err: the errno.
    void store_failed(trace::TimeNs t, bool staging, const std::string& name, int err);
    void line_too_long(trace::TimeNs t, const std::string& node, std::size_t limit);
    // An explanation line of the protocol core (Note event, Fact::Explain unless the line is
    // a decision with a fact of its own) on `node`.
    void note(trace::TimeNs t, const std::string& node, const std::string& text,
              trace::Fact fact = trace::Fact::Explain);

    // Additions for `ftpsim import` (additive; live recordings do not need them):
    // another address of an existing node (a capture may show several clients' addresses).
    void add_address(const std::string& node, const std::string& address);
    // One captured TCP segment on connection `conn`, sent by `from` (the connection's initiator
    // or responder) with the addresses, flags ("S", "SA", "PA", "FA", "R" ...), sequence and
    // acknowledgement numbers and payload length seen at the capture point. `payload` is kept
    // for control connections (the ladder labels the segment with its FTP line), empty for data.
    // A trace with Segment events is drawn from them (packet level), not from the FTP events.
    void segment(trace::TimeNs t, int conn, const std::string& from, const trace::Endpoint& src,
                 const trace::Endpoint& dst, std::string flags, std::uint32_t tcp_seq,
                 std::uint32_t tcp_ack, std::uint32_t len, std::string payload);
    // SPSV (draft-rosenau): a connection accepted as a control connection turns out to be a data
    // connection when its first line is "SPDT <id>". It becomes a data connection of
    // `control_id`, its initiator becomes that control connection's initiator (events already
    // recorded on it move to that node's lane), and its former initiator's node is removed if
    // nothing else names it. `ftpsim import` draws such a connection the same way.
    void adopt_as_data(int conn, int control_id);
    // A typed event recorded as given (time_ns, kind, from, conn, fact and its fields, and its
    // text rendered by the caller with trace::sentence). `ftpsim import` records its capture gaps and failed
    // connection attempts this way, as the simulator records its own.
    void event(trace::Event e);
    const trace::Connection& connection(int id) const { return trace_.connections.at(static_cast<std::size_t>(id)); }

    void add_transfer(const trace::Transfer& tr);
    void add_model_note(const std::string& text);

    // The trace: events sorted by (time, call order) with seq = index, outcome.ok = every
    // transfer ok (false when there was none). The recorder can keep recording afterwards.
    // Not with stream_to(): the events are in the file.
    trace::Trace finish() const;

    // Streaming (see above). stream_to: opens `path` and writes the start; an error message if
    // it cannot. hold(conn), or open_connection(..., hold = true) from its first event: keep that connection's events until settle(conn) (a control
    // connection that may still turn out to be an SPSV data connection: adopt_as_data rewrites
    // its events); settle(-1) does nothing. finish_stream: writes every event left and the rest
    // of the trace; an error message if any write failed.
    std::optional<std::string> stream_to(const std::string& path);
    void hold(int conn);
    void settle(int conn);
    std::optional<std::string> finish_stream();
    bool streaming() const { return out_ != nullptr; }
    std::uint64_t events_written() const { return written_; }
    std::size_t events_kept() const { return trace_.events.size(); }

private:
    std::unique_ptr<std::ofstream> out_;
    std::string out_path_;
    bool out_failed_ = false;
    std::uint64_t written_ = 0;
    std::set<int> held_;
    void flush_ready(bool all = false);
    void write_event(trace::Event e);
    trace::Event& add_fact(trace::TimeNs t, trace::EventKind kind, const std::string& from, int conn, trace::Fact f);
    void render(trace::Event& e);
    // command() and reply(): a line on control connection `conn`, delivered as written (the
    // sockets API shows no middlebox), from the initiator (FtpCommand) or the responder (FtpReply).
    void control_line(trace::TimeNs t, int conn, trace::EventKind kind, std::string_view text);
    trace::Trace trace_;
    struct DataRun {
        int conn;
        std::string from;
        std::size_t event;
        std::uint64_t total;  // bytes of the run (payload_len is 32-bit)
    };
    std::vector<DataRun> data_runs_;
    std::uint64_t next_packet_ = 1;
    trace::Event& add(trace::TimeNs t, trace::EventKind kind, const std::string& from, int conn);
    std::uint64_t next_seq_ = 0;
};

}  // namespace ftpsim::live
