// Internal to sim/net: the state of one run (nodes, link directions, TCP connections, timers)
// shared by network.cpp (forwarding, links, timers), tcp.cpp (sockets) and the engines that run
// it behind scheduler.hpp (engine_simgrid.cpp, engine_single.cpp). No SimGrid include.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/net/network.hpp"
#include "sim/net/rng.hpp"
#include "sim/net/scheduler.hpp"
#include "sim/net/tcp_connection.hpp"
#include "sim/net/trace_recorder.hpp"

namespace ftpsim::net {

// A packet on its way, with the bookkeeping of its current hop.
struct InFlight {
    Packet pkt;
    int hop_from = -1;        // node that put it on the link
    int dir = -1;             // link direction it travels
    TimeNs sent_ns = 0;       // when its serialisation started
    HostPort wire_src, wire_dst;  // addresses as it left hop_from
    TimeNs arrive_at = 0;     // LinkModel::Scheduled: when it reaches the far end
    bool lost = false;        // the link loses it: it is recorded, not delivered, at the far end
    int hops = 0;             // routing-loop guard (a TTL)
    bool record_payload = true;
    // The Segment event of the current hop, begun as the packet reached a node with a processor
    // (before it could rewrite payload or seq/ack); kNoEvent when none is pending.
    static constexpr std::size_t kNoEvent = static_cast<std::size_t>(-1);
    std::size_t event = kNoEvent;
};

// One direction of a link: a FIFO egress queue drained by one actor.
struct LinkDir {
    int link = -1;
    int from = -1, to = -1;   // nodes
    int to_iface = -1;
    double bandwidth_bps = 0;
    TimeNs latency_ns = 0;
    double loss = 0;
    SplitMix64 rng;
    std::deque<InFlight*> queue;  // SimGridComm: waiting to be serialised; Scheduled: on the wire
    TimeNs free_at = 0;           // Scheduled: when the transmitter finishes its last packet
    bool idle = false;            // its process waits on its semaphore (Scheduler::post_wire)
};

struct RouteEntry {
    mbox::Prefix dest;
    int iface = -1;
    int dir = -1;
    bool connected = false;   // the destination itself is the next hop
};

struct ConnKey {
    IpAddress laddr, raddr;
    std::uint16_t lport = 0, rport = 0;
    bool operator==(const ConnKey&) const = default;
};
struct ConnKeyHash {
    std::size_t operator()(const ConnKey& k) const noexcept;
};

struct Listener {
    IpAddress addr;           // unspecified = any address of the node
    std::uint16_t port = 0;
    SocketHandler* handler = nullptr;
    SocketOptions opts;
    bool open = false;
};

// A socket: the sans-IO TCP connection (tcp_connection.hpp) and what the network adds to it
// (node, addresses, handler, trace id, its entry in the timer heap). It is the connection's
// TcpOutput: segments become packets, events become trace facts and handler callbacks.
struct TcpConn final : TcpOutput {
    TcpConn(struct Runtime& r, const TcpConfig& cfg) : rt(&r), tcp(cfg, *this) {}
    struct Runtime* rt;
    ConnId id = -1;
    int node = -1;
    int trace_id = -1;
    ListenerId listener = -1;
    SocketHandler* handler = nullptr;
    SocketOptions opts;
    HostPort local, remote;
    bool unreachable = false;  // connect found no route: on_unreachable is due, no SYN was sent
    bool registered = false;   // in its node's connection table, its port bound
    bool armed = false;        // counted in Runtime::live_timers
    TimeNs heap_at = -1;       // time of this connection's live entry in the timer heap
    TcpConnection tcp;

    void segment(const TcpSegment& s) override;
    void event(const TcpEvent& e) override;
    void timer_armed(TimeNs at) override;
    void timer_disarmed() override;
};

struct NodeRt {
    int index = -1;
    const NodeSpec* spec = nullptr;
    PacketProcessor* processor = nullptr;
    std::vector<RouteEntry> routes;       // longest prefix first
    std::vector<int> iface_dir;           // outgoing link direction of each interface (-1: none)
    std::vector<std::function<void(Stack&)>> starts;
    std::unique_ptr<Stack> stack;

    std::unordered_map<ConnKey, ConnId, ConnKeyHash> conns;
    std::vector<ListenerId> listeners;
    std::unordered_map<std::uint64_t, int> port_users;  // (address, port) -> sockets bound
    // Ephemeral ports (tcp.cpp): the host's ip_local_port_range, the secret of connect()'s
    // per-destination offset (Linux: secure_ipv4_port_ephemeral's key), the random stream of
    // bind(0) and of connect()'s perturbation, and Linux's table_perturb.
    std::uint32_t port_lo = 0, port_hi = 0;
    std::uint64_t port_secret = 0;
    SplitMix64 port_rng;
    std::unordered_map<std::uint32_t, std::uint32_t> port_perturb;
};

enum class TimerKind : std::uint8_t { App, Conn, Local };

struct TimerEntry {
    TimeNs at = 0;
    std::uint64_t order = 0;  // FIFO among equal times
    TimerKind kind = TimerKind::App;
    std::uint64_t ref = 0;    // app timer id, connection id or InFlight*
    bool operator>(const TimerEntry& o) const { return at != o.at ? at > o.at : order > o.order; }
};

struct Runtime {
    Runtime(Topology t, NetConfig c);

    // --- configuration
    Topology topo;
    NetConfig cfg;
    TraceRecorder rec;
    RunStats stats;
    bool ran = false;

    // --- run state
    std::vector<NodeRt> nodes;
    std::vector<LinkDir> dirs;   // 2*link: a->b, 2*link+1: b->a
    // Every socket by ConnId (ids are never reused). A finished socket (finish_conn) is freed at
    // the end of the event that finished it (reap_conns): its slot becomes null and only its
    // trace id stays (trace_ids, 4 bytes), so a finished connection keeps 12 bytes here.
    std::vector<std::unique_ptr<TcpConn>> conns;
    std::vector<int> trace_ids;
    std::vector<ConnId> finished_conns;   // finished during the current event, freed after it
    // Stack::after_event: run by reap_conns, after the finished sockets are freed.
    std::vector<std::function<void()>> after_event;
    // Per handler, its open listeners and registered sockets (Stack::handler_refs).
    std::unordered_map<const SocketHandler*, std::size_t> handler_refs;
    void hold_handler(const SocketHandler* h);
    void release_handler(const SocketHandler* h);
    std::size_t live_conns = 0;           // sockets not yet freed
    std::vector<Listener> listeners;
    std::deque<InFlight> packet_store;
    std::vector<InFlight*> free_packets;
    std::uint64_t next_packet_id = 1;
    std::uint64_t in_flight = 0;
    SplitMix64 isn_rng;

    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers;
    std::uint64_t timer_order = 0;
    std::unordered_map<TimerId, std::function<void()>> app_timers;
    TimerId next_timer_id = 1;
    std::uint64_t live_timers = 0;   // app timers + armed connection timers + local deliveries

    std::unique_ptr<Scheduler> sched;
    bool sched_waiting = false;
    bool sched_wake_posted = false;
    TimeNs sched_until = -1;
    TimeNs limit_ns = 0;
    std::uint64_t limit_events = 0;
    std::uint64_t limit_memory = 0;        // resident bytes; 0 = no budget
    std::uint64_t next_memory_check = 0;   // stats.events at which to look again
    // Sets limit_reached when the event limit or the memory budget is passed; true then.
    bool check_limits();
    std::string limit_reached;
    std::string error;
    bool stopping = false;
    std::vector<mbox::MiddleboxNote> notes;  // scratch for the processors

    // --- time: the engine's clock (SimGrid's double seconds become ns in engine_simgrid.cpp only)
    TimeNs now_ns() const { return sched->now(); }

    // --- the processes the engines run (scheduler.hpp)
    enum class Step { Again, Wait, Stop };
    void start_apps();
    // The scheduler process: fires one due timer (Again), or says until when to wait (Wait;
    // sets sched_until), or ends the run (Stop).
    Step scheduler_step(TimeNs& until);
    // A wire process (LinkModel::Scheduled): delivered the head packet (Again), its head arrives
    // at `until` (Wait), or the direction is idle (Stop: wait on its semaphore; sets idle).
    Step wire_step(int d, TimeNs& until);

    // --- network.cpp
    void build_routes();
    InFlight* alloc_packet();
    void free_packet(InFlight* p);
    void transmit(int node, InFlight* p);        // a packet this node's stack originates
    void arrive(int node, InFlight* p);           // a packet reached `node` over a link
    void forward(int node, InFlight* p, int in_iface, bool originated);
    void enqueue(int dir, InFlight* p);
    // What a segment occupies on a link: its payload and the headers (TcpConfig::header_bytes).
    std::uint64_t wire_bytes(const Packet& p) const;
    void reach_far_end(int dir, InFlight* p);
    void fire(const TimerEntry& e);
    void push_timer(TimeNs at, TimerKind kind, std::uint64_t ref);
    void maybe_wake_scheduler();
    bool quiescent() const { return in_flight == 0 && live_timers == 0; }
    void fail(const std::string& what);
    bool is_local(int node, const IpAddress& a) const;
    HopRecord hop_record(const InFlight* p, int to) const;
    void record_hop(InFlight* p, int to, trace::Verdict v, std::string reason,
                    trace::Fact fact = trace::Fact::None);
    void send_reject(int node, const Packet& offending, Fate fate);

    // --- tcp.cpp
    Stack& stack_of(int node) { return *nodes[static_cast<std::size_t>(node)].stack; }
    trace::Verdict tcp_input(int node, InFlight* p, std::string& reason);
    void send_rst_for(int node, const Packet& in, int conn_trace_id);
    void finish_conn(TcpConn& c);
    // Frees the sockets finished during the event that just ended (no callback of theirs is on
    // the stack any more); the scheduler and the wire processes call it after each event.
    void reap_conns();
    // A new socket with the next ConnId; its trace id is trace_id, or its own id (kOwnTraceId).
    static constexpr int kOwnTraceId = INT32_MIN;
    TcpConn& add_conn(std::unique_ptr<TcpConn> owned, int trace_id);
    void connect_unreachable(ConnId id);
    // connect() to `remote` from port 0 (Linux __inet_hash_connect) and bind()/listen() on port 0
    // (inet_csk_find_open_port); 0 when every port of the range is taken.
    std::uint16_t connect_port(NodeRt& n, const IpAddress& local, const HostPort& remote);
    std::uint16_t bind_any_port(NodeRt& n, const IpAddress& local);
    bool port_taken(const NodeRt& n, const IpAddress& a, std::uint16_t port) const;
    static std::uint64_t port_key(const IpAddress& a, std::uint16_t port);
    void bind_port(NodeRt& n, const IpAddress& a, std::uint16_t port);
    void unbind_port(NodeRt& n, const IpAddress& a, std::uint16_t port);
    TcpConn* conn(ConnId id);
    // The trace's id of a socket: an accepted socket is known by its initiator's connection id.
    int trace_id_of(ConnId id) const {
        if (id < 0 || static_cast<std::size_t>(id) >= trace_ids.size()) return id;
        return trace_ids[static_cast<std::size_t>(id)];
    }
    const TcpConn* conn(ConnId id) const;
    std::string conn_label(const TcpConn& c) const;
};

}  // namespace ftpsim::net
