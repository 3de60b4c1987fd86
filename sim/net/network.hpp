// The packet-level network on SimGrid: a Topology, a TCP model on every node, a socket-like
// event-driven API for the applications, and a trace of everything that happened.
//
//   Network net(topo, {.seed = 7});
//   net.on_start("client", [&](Stack& s) { s.connect(client_addr, 0, {server_addr, 21}, &app); });
//   trace::Trace t = net.run(60 * trace::kNsPerSec, 1'000'000);
//
// Everything an application does runs inside a process of the engine (SimGrid actors, or the
// single-threaded engine: NetConfig::engine); the calls below never block (a run is
// single-threaded and cooperative). See docs/network-model.md for the
// model, its timing formulas and its simplifications.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sim/net/processor.hpp"
#include "sim/net/tcp_connection.hpp"
#include "sim/net/topology.hpp"
#include "trace/trace.hpp"

namespace ftpsim::net {

using ConnId = int;        // unique within a run; also the trace's connection id on the initiator side
using ListenerId = int;
using TimerId = std::uint64_t;

// How a link direction delays packets; both give the same trace (tests/sim checks it).
enum class LinkModel {
    // The link's FIFO transmitter is computed in integer nanoseconds (a segment starts
    // serialising when the previous one has finished); one actor per link direction sleeps until
    // each packet's arrival. One SimGrid activity per hop: the fast default.
    Scheduled,
    // An egress actor per link direction sleeps the serialisation time, then the packet crosses
    // the SimGrid link as a zero-size communication that takes exactly the link's latency under
    // CM02 without cross-traffic, to a receiver actor of the next node. Two activities per hop.
    SimGridComm,
};

// The engine that runs the model (sim/net/scheduler.hpp); both give byte-identical traces.
enum class EngineKind {
    Default,  // the environment's FTPSIM_ENGINE (simgrid or single), else SimGrid
    SimGrid,  // SimGrid actors: the reference, and the only engine for LinkModel::SimGridComm
    Single,   // a single-threaded discrete-event loop without SimGrid (LinkModel::Scheduled only)
};
// FTPSIM_ENGINE=simgrid|single (unset or empty: SimGrid); any other value throws
// std::invalid_argument naming the accepted values.
EngineKind engine_from_environment();

struct NetConfig {
    std::uint64_t seed = 1;
    LinkModel link_model = LinkModel::Scheduled;
    EngineKind engine = EngineKind::Default;
    TcpConfig tcp;
    bool record_segments = true;          // one trace event per segment per hop (off: benchmarks)
    std::string scenario;                 // copied into the trace
    std::string title;
};

class Stack;

// Callbacks of one socket. Every callback receives the node's Stack so it can act at once.
// Defaults do nothing. A handler must outlive the run.
class SocketHandler {
public:
    virtual ~SocketHandler() = default;
    // A connection to a listener completed its handshake (the final ACK arrived).
    virtual void on_accept(Stack&, ListenerId, ConnId, const HostPort& /*local*/, const HostPort& /*remote*/) {}
    virtual void on_connected(Stack&, ConnId) {}      // our SYN was answered by a SYN-ACK
    virtual void on_refused(Stack&, ConnId) {}        // our SYN was answered by a RST
    // connect() found no route to the destination on this node, so no SYN left (Linux's connect()
    // failing with ENETUNREACH). Called right after connect() returns, at the same simulated time.
    // By default it is handled as a refusal.
    virtual void on_unreachable(Stack& s, ConnId c) { on_refused(s, c); }
    virtual void on_timeout(Stack&, ConnId) {}        // connect (or retransmission) gave up
    virtual void on_data(Stack&, ConnId, std::string_view /*bytes*/) {}
    virtual void on_peer_closed(Stack&, ConnId) {}    // the peer's FIN arrived (in order)
    virtual void on_reset(Stack&, ConnId) {}          // a RST ended an open connection
    virtual void on_closed(Stack&, ConnId) {}         // both FINs sent and acknowledged
    // Everything written on the connection, and our FIN if we closed, is acknowledged by the peer
    // (an ACK brought it up to date; fired again after later writes are acknowledged).
    virtual void on_drained(Stack&, ConnId) {}
    // Acknowledged bytes left the send buffer: Stack::send_space() may have grown (the session
    // host writes the next chunk of a file then). After every segment whose ACK acknowledged
    // something new, once its data is delivered and before the connection sends (so a refill
    // leaves in the same flush, as one big write would), when the application has written.
    virtual void on_writable(Stack&, ConnId) {}
};

struct SocketOptions {
    std::string purpose = "control";      // the trace's connection purpose: "control" or "data"
    int control_conn = -1;                // for a data connection, the control connection it serves
    bool record_payload = true;           // put the payload bytes in the trace (false for file data)
};

struct ListenResult {
    ListenerId id = -1;
    std::uint16_t port = 0;               // the bound port (the first free one of the range)
    std::string error;                    // "port 21 in use on 10.0.0.2"
    explicit operator bool() const { return id >= 0; }
};

struct ConnInfo {
    HostPort local, remote;
    bool open = false;                    // handshake done and not yet closed or reset
    std::uint64_t bytes_sent = 0;         // written by the application
    std::uint64_t bytes_received = 0;     // delivered to the application
};

// A node's TCP/IP stack, as the applications on it see it.
class Stack {
public:
    const std::string& node_name() const;
    TimeNs now() const;  // simulated time since the start of the run

    // Listens on addr (unspecified = every address of the node) and the first free port of
    // [port_lo, port_hi]; fails when none is free.
    ListenResult listen(const IpAddress& addr, std::uint16_t port_lo, std::uint16_t port_hi,
                        SocketHandler* handler, const SocketOptions& opts = {});
    void stop_listening(ListenerId id);

    // Sends a SYN to `remote` from local:local_port (port 0 = an ephemeral port). The outcome
    // arrives as on_connected, on_refused or on_timeout; when this node has no route to `remote`,
    // no SYN is sent and on_unreachable follows at once (still after connect() has returned).
    ConnId connect(const IpAddress& local, std::uint16_t local_port, const HostPort& remote,
                   SocketHandler* handler, const SocketOptions& opts = {});
    // Queues bytes and sends what the window allows; returns how many it took (all of them,
    // or 0 on a closed or closing connection).
    std::size_t send(ConnId c, std::string_view bytes);
    // How many more bytes send() should be given now so that the written-but-unsent part of
    // the buffer stays within 2 send windows + 1 MSS: the window can always be filled, and a
    // file is never buffered whole. UINT64_MAX without a window (send_window 0: the model
    // puts everything in flight at once).
    std::uint64_t send_space(ConnId c) const;
    // What c carried so far is control text, recorded in the trace; what is written from now on
    // is file data, not recorded (SPSV: the connection's "220", "SPDT id" and "200 DATA", then the
    // file). A segment never holds bytes of both.
    void file_data_from_now(ConnId c);
    void close(ConnId c);   // FIN after the queued bytes (half-close: data may still arrive)
    void abort(ConnId c);   // RST now; no further callbacks for c
    ConnInfo info(ConnId c) const;

    // Calls fn at simulated time `at` (>= now) on this node. Returns an id for cancel().
    TimerId schedule(TimeNs at, std::function<void()> fn);
    void cancel(TimerId id);
    // After the current event (a packet's arrival, a timer), once every callback on the stack has
    // returned: where an application may free a handler whose callback is running.
    void after_event(std::function<void()> fn);
    // How many listeners and sockets that can still call `h` exist: open listeners, and sockets
    // not yet finished (closed by both ends, reset, refused, timed out or aborted). 0: no
    // callback will ever reach h again.
    std::size_t handler_refs(const SocketHandler* h) const;
    void note(const std::string& text);  // a Note event on this node's lane
    // A typed note (fact and fields, docs/trace.md); its text is rendered by trace::sentence.
    void note(trace::Event fact);

private:
    friend struct Runtime;
    Stack(struct Runtime* rt, int node) : rt_(rt), node_(node) {}
    struct Runtime* rt_;
    int node_;
};

struct RunStats {
    std::uint64_t hops = 0;          // packet arrivals at a node (one per segment per hop)
    std::uint64_t segments = 0;      // segments sent by the TCP stacks
    std::uint64_t events = 0;        // hops + timers fired
    std::uint64_t receiver_actors = 0;
    double wall_seconds = 0;
    double cpu_seconds = 0;          // process CPU time of the run (the machine may be shared)
    TimeNs end_ns = 0;               // simulated time at the end of the run
    std::uint64_t sockets = 0;       // connections made in the run (connect and accept)
    // Of those, the ones still held at the end: not finished (open or closing; the model has no
    // TIME_WAIT). A finished one is freed after the event that finished it.
    std::uint64_t sockets_live = 0;
};

class Network {
public:
    explicit Network(Topology topo, NetConfig cfg = {});  // throws TopologyError
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    // Routers without a processor only route. Not owned; must outlive the run.
    void set_processor(const std::string& node, PacketProcessor* processor);
    // Runs fn on `node` at time 0 of the run (start listening, connect, schedule timers).
    void on_start(const std::string& node, std::function<void(Stack&)> fn);
    void label_connection(ConnId c, const std::string& purpose, int control_conn);

    // One SimGrid engine per call; a Network runs once. Stops when nothing is left to happen,
    // at limit_time of simulated time, or after limit_events events (then the outcome's
    // limit_reached says which). Throws std::runtime_error when an application threw.
    trace::Trace run(TimeNs limit_time, std::uint64_t limit_events);
    // The run also stops (limit_reached) when the process's resident size passes this (0 = none).
    void set_memory_budget(std::uint64_t bytes);

    const RunStats& stats() const;
    const Topology& topology() const;

private:
    std::unique_ptr<struct Runtime> rt_;
    std::uint64_t memory_budget_ = 0;
};

// Sets SimGrid's network model to CM02 without cross-traffic, so that a zero-size message over a
// link takes exactly its latency (STACK.md). Call it after creating an Engine and before building
// its platform; Network::run does. SimGrid accepts the model only from the first Engine of a
// process: any other Engine created earlier in the same process must call this too.
void use_exact_network_model();

}  // namespace ftpsim::net
