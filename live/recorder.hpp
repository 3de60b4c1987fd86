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
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/trace/trace.hpp"

namespace ftpsim::live {

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
                        const trace::Endpoint& initiator_remote, int control_id = -1);

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
    // A connection attempt that failed (refused, timed out, unreachable): Socket event on `node`.
    void socket_event(trace::TimeNs t, const std::string& node, const std::string& text);
    // An explanation line (Note event) on `node`.
    void note(trace::TimeNs t, const std::string& node, const std::string& text);

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
    trace::Trace finish() const;

private:
    trace::Trace trace_;
    struct DataRun {
        int conn;
        std::string from;
        std::size_t event;
    };
    std::vector<DataRun> data_runs_;
    std::vector<std::uint64_t> data_totals_;  // bytes per data run (payload_len is 32-bit)
    std::uint64_t next_packet_ = 1;
    trace::Event& add(trace::TimeNs t, trace::EventKind kind, const std::string& from, int conn);
    std::uint64_t next_seq_ = 0;
};

}  // namespace ftpsim::live
