// The network model: links, forwarding, timers and the processes an engine runs (scheduler.hpp).
// The sockets are in tcp.cpp, the TCP model in tcp_connection.cpp, the engines in
// engine_simgrid.cpp and engine_single.cpp.
#include "sim/net/network.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "sim/net/runtime.hpp"

namespace ftpsim::net {

namespace {

const char* kModelNotes[] = {
    "TCP: every data segment is acknowledged at once (no delayed ACK); an ACK rides on data the "
    "application writes in response to the same segment",
    "TCP: no TIME_WAIT, no window scaling or SACK; retransmission timeout per RFC 6298 (min 200 ms)",
};

// The header bytes a segment costs on the wire: TcpConfig::header_bytes counts IPv4's 20-byte
// header; an IPv6 header is 40 bytes (RFC 8200), so an IPv6 segment costs 20 more.
std::uint64_t wire_header_bytes(const TcpConfig& tcp, const mbox::Packet& p) {
    return tcp.header_bytes + (tcp.header_bytes && !p.src.addr.is_v4() ? 20u : 0u);
}

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

std::size_t ConnKeyHash::operator()(const ConnKey& k) const noexcept {
    std::uint64_t h = 1469598103934665603ULL;
    auto mixin = [&](const IpAddress& a) {
        for (std::size_t i = 0; i < (a.is_v4() ? 4u : 16u); ++i) h = (h ^ a.bytes[i]) * 1099511628211ULL;
    };
    mixin(k.laddr);
    mixin(k.raddr);
    h = (h ^ k.lport) * 1099511628211ULL;
    h = (h ^ k.rport) * 1099511628211ULL;
    return static_cast<std::size_t>(h ^ (h >> 29));
}

// ---------------------------------------------------------------------------------------------
// Setup

Runtime::Runtime(Topology t, NetConfig c)
    : topo(std::move(t)), cfg(std::move(c)), rec(topo, cfg.scenario, cfg.title, cfg.seed, cfg.record_segments),
      isn_rng(mix_seed(cfg.seed, 0x15e)) {
    topo.validate();
    nodes.resize(topo.nodes().size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        nodes[i].index = static_cast<int>(i);
        nodes[i].spec = &topo.nodes()[i];
        nodes[i].stack.reset(new Stack(this, static_cast<int>(i)));
        nodes[i].iface_dir.assign(nodes[i].spec->interfaces.size(), -1);
        const NodeSpec& spec = *nodes[i].spec;
        nodes[i].port_lo = spec.local_port_lo ? spec.local_port_lo : cfg.tcp.ephemeral_first;
        nodes[i].port_hi = spec.local_port_lo ? spec.local_port_hi : cfg.tcp.ephemeral_last;
        nodes[i].port_secret = mix_seed(cfg.seed, 0x9000 + i);
        nodes[i].port_rng = SplitMix64(mix_seed(cfg.seed, 0xa000 + i));
    }
    for (std::size_t l = 0; l < topo.links().size(); ++l) {
        const LinkSpec& ls = topo.links()[l];
        for (int d = 0; d < 2; ++d) {
            LinkDir dir;
            dir.link = static_cast<int>(l);
            const LinkEnd& from = d == 0 ? ls.a : ls.b;
            const LinkEnd& to = d == 0 ? ls.b : ls.a;
            dir.from = from.node;
            dir.to = to.node;
            dir.to_iface = to.iface;
            dir.bandwidth_bps = ls.bandwidth_bps;
            dir.latency_ns = ls.latency_ns;
            dir.loss = ls.loss;
            dir.rng = SplitMix64(mix_seed(cfg.seed, 0x1000 + 2 * l + static_cast<std::uint64_t>(d)));
            nodes[static_cast<std::size_t>(from.node)].iface_dir[static_cast<std::size_t>(from.iface)] =
                static_cast<int>(dirs.size());
            dirs.push_back(std::move(dir));
        }
    }
    build_routes();
    const TcpConfig& tcp = cfg.tcp;
    rec.model_note("TCP: no congestion control; " +
                   (tcp.send_window ? "at most " + std::to_string(tcp.send_window) + " bytes in flight per connection"
                                  : std::string("the send window is unlimited")));
    for (const char* n : kModelNotes) rec.model_note(n);
    rec.model_note(
        "ports: a port-0 connect() starts at a per-destination offset and tries even ports first, a port-0 "
        "listen() starts at a random odd port (Linux __inet_hash_connect / inet_csk_find_open_port), both "
        "from the host's ip_local_port_range, with a secret and random numbers drawn from the seed; unlike "
        "Linux, a connect() never shares a local port with another socket of the host");
    bool any_v6 = false;
    for (const auto& n : topo.nodes())
        for (const auto& i : n.interfaces) any_v6 = any_v6 || !i.addr.is_v4();
    rec.model_note("links: store-and-forward, each segment costs (payload + " + std::to_string(tcp.header_bytes) +
                   " header bytes) * 8 / bandwidth, then the latency" +
                   (any_v6 && tcp.header_bytes ? std::string(" (an IPv6 segment: 20 bytes more, its 40-byte header)")
                                               : std::string()));
}

void Runtime::build_routes() {
    for (auto& n : nodes) {
        const auto& ifs = n.spec->interfaces;
        for (std::size_t i = 0; i < ifs.size(); ++i)
            if (ifs[i].link >= 0)
                n.routes.push_back(RouteEntry{network_of(ifs[i].addr, ifs[i].prefix), static_cast<int>(i),
                                              n.iface_dir[i], true});
        for (const auto& r : n.spec->routes) {
            // validate() guaranteed that `via` is a neighbour's address: find the interface.
            for (std::size_t i = 0; i < ifs.size(); ++i) {
                int d = n.iface_dir[i];
                if (d < 0) continue;
                const LinkDir& ld = dirs[static_cast<std::size_t>(d)];
                const auto& peer = topo.nodes()[static_cast<std::size_t>(ld.to)].interfaces[static_cast<std::size_t>(ld.to_iface)];
                if (peer.addr == r.via) {
                    n.routes.push_back(RouteEntry{network_of(r.dest.addr, r.dest.len), static_cast<int>(i), d, false});
                    break;
                }
            }
        }
        std::stable_sort(n.routes.begin(), n.routes.end(),
                         [](const RouteEntry& a, const RouteEntry& b) { return a.dest.len > b.dest.len; });
    }
}

Network::Network(Topology topo, NetConfig cfg) : rt_(std::make_unique<Runtime>(std::move(topo), std::move(cfg))) {}
Network::~Network() = default;

void Network::set_processor(const std::string& node, PacketProcessor* processor) {
    int i = rt_->topo.node_index(node);
    if (i < 0) throw TopologyError("set_processor: unknown node '" + node + "'");
    rt_->nodes[static_cast<std::size_t>(i)].processor = processor;
}

void Network::on_start(const std::string& node, std::function<void(Stack&)> fn) {
    int i = rt_->topo.node_index(node);
    if (i < 0) throw TopologyError("on_start: unknown node '" + node + "'");
    rt_->nodes[static_cast<std::size_t>(i)].starts.push_back(std::move(fn));
}

void Network::label_connection(ConnId c, const std::string& purpose, int control_conn) {
    rt_->rec.relabel_connection(rt_->trace_id_of(c), purpose, rt_->trace_id_of(control_conn));
}

EngineKind engine_from_environment() {
    const char* v = std::getenv("FTPSIM_ENGINE");
#ifdef FTPSIM_WEB
    if (!v || !*v) return EngineKind::Single;  // the browser build has no SimGrid (web/web.cmake)
#else
    if (!v || !*v) return EngineKind::SimGrid;
#endif
    const std::string_view name(v);
    if (name == "simgrid") return EngineKind::SimGrid;
    if (name == "single") return EngineKind::Single;
    throw std::invalid_argument("FTPSIM_ENGINE=" + std::string(name) + ": expected simgrid or single");
}

void Network::set_memory_budget(std::uint64_t bytes) { memory_budget_ = bytes; }

const RunStats& Network::stats() const { return rt_->stats; }
const Topology& Network::topology() const { return rt_->topo; }

// ---------------------------------------------------------------------------------------------
// The run

trace::Trace Network::run(TimeNs limit_time, std::uint64_t limit_events) {
    Runtime& rt = *rt_;
    if (rt.ran) throw std::logic_error("Network::run: a Network runs once");
    rt.ran = true;
    rt.limit_ns = limit_time;
    rt.limit_events = limit_events;
    rt.limit_memory = memory_budget_;
    auto wall0 = std::chrono::steady_clock::now();
    double cpu0 = cpu_now();

    EngineKind kind = rt.cfg.engine;
    if (kind == EngineKind::Default) {
        // The environment's choice applies where it can: SimGridComm needs SimGrid.
        kind = engine_from_environment();
        if (rt.cfg.link_model != LinkModel::Scheduled) kind = EngineKind::SimGrid;
    }
    if (kind == EngineKind::Single && rt.cfg.link_model != LinkModel::Scheduled)
        throw std::invalid_argument("the single-threaded engine runs LinkModel::Scheduled only");
#ifdef FTPSIM_WEB
    if (kind != EngineKind::Single)
        throw std::invalid_argument("the browser build runs the single-threaded engine only (LinkModel::Scheduled)");
    rt.sched = make_single_scheduler(rt);
#else
    rt.sched = kind == EngineKind::Single ? make_single_scheduler(rt) : make_simgrid_scheduler(rt);
#endif
    rt.sched->run();  // sets stats.end_ns
    rt.stats.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    rt.stats.cpu_seconds = cpu_now() - cpu0;
    rt.reap_conns();
    rt.stats.sockets = rt.conns.size();
    rt.stats.sockets_live = rt.live_conns;
    if (!rt.error.empty()) throw std::runtime_error(rt.error);
    trace::Outcome outcome;
    outcome.limit_reached = rt.limit_reached;
    return rt.rec.finish(std::move(outcome));
}

void Runtime::fail(const std::string& what) {
    if (error.empty()) error = what;
    stopping = true;
    maybe_wake_scheduler();
}

void Runtime::start_apps() {
    try {
        for (auto& n : nodes)
            for (auto& fn : n.starts) fn(*n.stack);
        reap_conns();
    } catch (const std::exception& e) {
        fail(std::string("application start: ") + e.what());
    }
}

// One pass of the scheduler process's loop: it fires timers and ends the run when nothing is
// left to happen (no packet in flight, no timer armed) or a limit is reached.
Runtime::Step Runtime::scheduler_step(TimeNs& until) {
    if (stopping || quiescent()) return Step::Stop;
    TimeNs now = now_ns();
    if (now >= limit_ns) {
        limit_reached = "time limit " + std::to_string(limit_ns) + " ns";
        return Step::Stop;
    }
    if (!timers.empty() && timers.top().at <= now) {
        TimerEntry e = timers.top();
        timers.pop();
        try {
            fire(e);
            reap_conns();
        } catch (const std::exception& ex) {
            fail(std::string("timer: ") + ex.what());
        }
        return Step::Again;
    }
    sched_until = timers.empty() ? limit_ns : std::min(timers.top().at, limit_ns);
    until = sched_until;
    return Step::Wait;
}

void Runtime::maybe_wake_scheduler() {
    if (sched_waiting && !sched_wake_posted) {
        sched_wake_posted = true;
        sched->post_scheduler();
    }
}

void Runtime::push_timer(TimeNs at, TimerKind kind, std::uint64_t ref) {
    timers.push(TimerEntry{at, timer_order++, kind, ref});
    if (at < sched_until) maybe_wake_scheduler();
}

void Runtime::fire(const TimerEntry& e) {
    switch (e.kind) {
    case TimerKind::App: {
        auto it = app_timers.find(e.ref);
        if (it == app_timers.end()) return;  // cancelled
        auto fn = std::move(it->second);
        app_timers.erase(it);
        --live_timers;
        ++stats.events;
        fn();
        break;
    }
    case TimerKind::Conn: {
        TcpConn* c = conn(static_cast<ConnId>(e.ref));
        if (!c || c->heap_at != e.at) return;  // superseded entry
        c->heap_at = -1;
        const TimeNs deadline = c->tcp.deadline();
        if (deadline < 0) return;
        if (deadline > e.at) {  // the deadline moved later: re-queue lazily
            c->heap_at = deadline;
            push_timer(deadline, TimerKind::Conn, e.ref);
            return;
        }
        c->armed = false;
        --live_timers;
        ++stats.events;
        c->tcp.on_timer(now_ns());
        break;
    }
    case TimerKind::Local: {
        auto* p = reinterpret_cast<InFlight*>(e.ref);
        --live_timers;
        ++in_flight;  // arrive() accounts for it as a packet
        p->dir = -1;
        arrive(p->hop_from, p);
        break;
    }
    }
    check_limits();
}

// The event limit, and the memory budget: the process's resident size (/proc/self/statm) every
// 16384 events, so a run that grows (a long transfer with a tiny window, thousands of
// connections) stops with limit_reached instead of exhausting memory (docs/reliability.md).
bool Runtime::check_limits() {
    if (!limit_reached.empty()) return true;
    if (limit_events && stats.events >= limit_events) {
        limit_reached = "event limit " + std::to_string(limit_events);
        stopping = true;
        return true;
    }
    if (limit_memory && stats.events >= next_memory_check) {
        next_memory_check = stats.events + 16384;
#ifdef __EMSCRIPTEN__
        // WebAssembly (the browser build): the linear memory, which only grows; /proc there is the
        // host's (Node.js) or absent.
        const auto bytes = static_cast<std::uint64_t>(__builtin_wasm_memory_size(0)) * 65536u;
#else
        // "size resident shared ...", in pages; read with plain syscalls (fopen's buffer and
        // fscanf cost more than the read itself, once per run at least).
        std::uint64_t resident = 0;
        if (const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC); fd >= 0) {
            char buf[128];
            const ssize_t n = ::read(fd, buf, sizeof buf - 1);
            ::close(fd);
            if (n > 0) {
                const char* end = buf + n;
                const char* q = std::find(static_cast<const char*>(buf), end, ' ');
                if (q != end && std::from_chars(q + 1, end, resident).ec != std::errc()) resident = 0;
            }
        }
        const auto bytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
#endif
        if (bytes > limit_memory) {
            limit_reached = "memory budget " + std::to_string(limit_memory >> 20) + " MiB (limits.memory; " +
                            std::to_string(bytes >> 20) + " MiB in use after " + std::to_string(stats.events) +
                            " events)";
            stopping = true;
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Packets

InFlight* Runtime::alloc_packet() {
    InFlight* p;
    if (!free_packets.empty()) {
        p = free_packets.back();
        free_packets.pop_back();
        // A recycled packet starts blank but keeps its payload buffer. The senders set only
        // the TCP fields: a packet that had carried an ICMP error made the next TCP segment one
        // (after the second ICMP of a session the control connection's ACK and FIN went out as
        // ICMP errors, window 0, and were dropped).
        std::string buffer = std::move(p->pkt.payload);
        buffer.clear();
        p->pkt = mbox::Packet{};
        p->pkt.payload = std::move(buffer);
    } else {
        p = &packet_store.emplace_back();
    }
    p->pkt.id = next_packet_id++;
    p->hops = 0;
    p->lost = false;
    p->record_payload = true;
    p->event = InFlight::kNoEvent;
    return p;
}

void Runtime::free_packet(InFlight* p) { free_packets.push_back(p); }

bool Runtime::is_local(int node, const IpAddress& a) const {
    for (const auto& i : nodes[static_cast<std::size_t>(node)].spec->interfaces)
        if (i.has(a)) return true;
    return false;
}

HopRecord Runtime::hop_record(const InFlight* p, int to) const {
    HopRecord h;
    h.from = p->hop_from;
    h.to = to;
    h.sent_ns = p->sent_ns;
    h.arrive_ns = now_ns();
    h.packet = &p->pkt;
    h.src = p->wire_src;
    h.dst = p->wire_dst;
    h.record_payload = p->record_payload;
    return h;
}

// The hop's Segment event: finishes the one arrive() began before `to`'s processor ran (so its
// payload and seq/ack are the packet as it left `from`), or records it whole.
void Runtime::record_hop(InFlight* p, int to, trace::Verdict v, std::string reason, trace::Fact fact) {
    if (!cfg.record_segments) return;
    HopRecord h = hop_record(p, to);
    h.verdict = v;
    h.reason = std::move(reason);
    h.fact = fact;
    if (p->event != InFlight::kNoEvent) {
        rec.finish_segment(p->event, h);
        p->event = InFlight::kNoEvent;
    } else {
        rec.segment(h);
    }
}

void Runtime::transmit(int node, InFlight* p) {
    ++stats.segments;
    p->hop_from = node;
    p->sent_ns = now_ns();
    p->wire_src = p->pkt.src;
    p->wire_dst = p->pkt.dst;
    if (is_local(node, p->pkt.dst.addr)) {  // to itself: delivered at once, without a link
        ++live_timers;
        push_timer(now_ns(), TimerKind::Local, reinterpret_cast<std::uint64_t>(p));
        return;
    }
    ++in_flight;
    forward(node, p, -1, true);
}

// Routing, postrouting and the hand-over to the link. `in_flight` counts p on entry.
void Runtime::forward(int node, InFlight* p, int in_iface, bool originated) {
    NodeRt& n = nodes[static_cast<std::size_t>(node)];
    auto drop = [&](trace::Verdict v, std::string reason, trace::Fact fact) {
        if (originated) {  // it never left: a segment event on the sender's lane only
            p->sent_ns = now_ns();
            record_hop(p, -1, v, std::move(reason), fact);
        } else {
            record_hop(p, node, v, std::move(reason), fact);
        }
        free_packet(p);
        --in_flight;
    };
    if (!originated && n.spec->kind == NodeKind::Host)
        return drop(trace::Verdict::Dropped, n.spec->name + " is a host and does not forward packets for " +
                                                 p->pkt.dst.addr.to_string(), trace::Fact::HostNoForward);
    if (++p->hops > 64) return drop(trace::Verdict::Dropped, "TTL exceeded (routing loop?)", trace::Fact::TtlExceeded);
    const RouteEntry* route = nullptr;
    for (const auto& r : n.routes)
        if (r.dest.contains(p->pkt.dst.addr)) {
            route = &r;
            break;
        }
    if (!route)
        return drop(trace::Verdict::Dropped, "no route to " + p->pkt.dst.addr.to_string() + " on " + n.spec->name,
                    trace::Fact::NoRoute);
    LinkDir& dir = dirs[static_cast<std::size_t>(route->dir)];
    if (route->connected &&
        !topo.nodes()[static_cast<std::size_t>(dir.to)].interfaces[static_cast<std::size_t>(dir.to_iface)].has(p->pkt.dst.addr))
        return drop(trace::Verdict::Dropped, "no route: no host has " + p->pkt.dst.addr.to_string() + " on link " +
                                                 topo.links()[static_cast<std::size_t>(dir.link)].name,
                    trace::Fact::NoRoute);
    if (n.processor) {
        notes.clear();
        HookContext ctx{node, in_iface, route->iface, now_ns()};
        Decision d = n.processor->postrouting(p->pkt, ctx, notes);
        for (const auto& note : notes) rec.middlebox(ctx.now, node, p->pkt.conn, p->pkt.id, note);
        if (d.fate != Fate::Accept) {
            send_reject(node, p->pkt, d.fate);
            return drop(d.fate == Fate::Drop ? trace::Verdict::Dropped : trace::Verdict::Rejected, d.reason, d.fact);
        }
    }
    if (!originated) {
        record_hop(p, node, trace::Verdict::Delivered, {});
        p->hop_from = node;
        p->wire_src = p->pkt.src;
        p->wire_dst = p->pkt.dst;
    }
    enqueue(route->dir, p);
}

std::uint64_t Runtime::wire_bytes(const Packet& p) const { return wire_header_bytes(cfg.tcp, p) + p.payload.size(); }

void Runtime::enqueue(int d, InFlight* p) {
    LinkDir& dir = dirs[static_cast<std::size_t>(d)];
    p->dir = d;
    if (cfg.link_model == LinkModel::Scheduled) {
        // Store-and-forward FIFO: serialisation starts when the transmitter is free.
        const double bits = 8.0 * static_cast<double>(wire_bytes(p->pkt));
        const auto ser = static_cast<TimeNs>(std::llround(bits * 1e9 / dir.bandwidth_bps));
        p->sent_ns = std::max(now_ns(), dir.free_at);
        dir.free_at = p->sent_ns + ser;
        p->arrive_at = dir.free_at + dir.latency_ns;
        p->lost = dir.loss > 0 && dir.rng.uniform() < dir.loss;
    }
    dir.queue.push_back(p);
    if (dir.idle) {
        dir.idle = false;
        sched->post_wire(d);
    }
}

// LinkModel::Scheduled: packets reach the far end in the order they left (constant latency),
// so one process sleeping until the head's arrival serves the whole link direction.
Runtime::Step Runtime::wire_step(int d, TimeNs& until) {
    LinkDir& dir = dirs[static_cast<std::size_t>(d)];
    if (dir.queue.empty()) {
        dir.idle = true;
        return Step::Stop;
    }
    InFlight* p = dir.queue.front();
    if (now_ns() < p->arrive_at) {
        until = p->arrive_at;
        return Step::Wait;
    }
    dir.queue.pop_front();
    try {
        reach_far_end(d, p);
    } catch (const std::exception& e) {
        fail(std::string("on ") + nodes[static_cast<std::size_t>(dir.to)].spec->name + ": " + e.what());
    }
    return Step::Again;
}

// The packet has crossed link direction d: lost on the way, or handed to the next node.
void Runtime::reach_far_end(int d, InFlight* p) {
    if (!p->lost) {
        arrive(dirs[static_cast<std::size_t>(d)].to, p);
        return reap_conns();
    }
    const LinkDir& dir = dirs[static_cast<std::size_t>(d)];
    record_hop(p, dir.to, trace::Verdict::Dropped, "loss on link " + topo.links()[static_cast<std::size_t>(dir.link)].name,
               trace::Fact::LinkLoss);
    free_packet(p);
    --in_flight;
    if (quiescent()) maybe_wake_scheduler();
}

// A packet reached `node`: prerouting hooks, then local delivery or forwarding.
void Runtime::arrive(int node, InFlight* p) {
    if (stopping) {
        free_packet(p);
        --in_flight;
        return;
    }
    ++stats.hops;
    ++stats.events;
    NodeRt& n = nodes[static_cast<std::size_t>(node)];
    int in_iface = p->dir >= 0 ? dirs[static_cast<std::size_t>(p->dir)].to_iface : -1;
    bool from_link = p->dir >= 0;
    if (from_link && n.processor) {
        // The processor may rewrite the payload (an ALG) and seq/ack (its sequence adjustment):
        // the hop's event takes them now, as the packet left the previous node; the rewritten
        // packet shows on the next hop's event.
        if (cfg.record_segments) p->event = rec.begin_segment(hop_record(p, node));
        notes.clear();
        HookContext ctx{node, in_iface, -1, now_ns()};
        Decision d = n.processor->prerouting(p->pkt, ctx, notes);
        for (const auto& note : notes) rec.middlebox(ctx.now, node, p->pkt.conn, p->pkt.id, note);
        for (auto& a : n.processor->take_answers()) {  // sent after this packet's own hop is decided
            InFlight* q = alloc_packet();
            const std::uint64_t id = q->pkt.id;
            q->pkt = std::move(a);
            q->pkt.id = id;
            transmit(node, q);
        }
        if (d.fate != Fate::Accept) {
            record_hop(p, node, d.fate == Fate::Drop ? trace::Verdict::Dropped : trace::Verdict::Rejected, d.reason,
                       d.fact);
            send_reject(node, p->pkt, d.fate);
            free_packet(p);
            --in_flight;
            if (quiescent()) maybe_wake_scheduler();
            return;
        }
    }
    if (is_local(node, p->pkt.dst.addr)) {
        std::string reason;
        trace::Verdict v = tcp_input(node, p, reason);
        record_hop(p, node, v, std::move(reason),
                   v == trace::Verdict::Rejected ? trace::Fact::HostPortClosed : trace::Fact::None);
        free_packet(p);
        --in_flight;
    } else {
        forward(node, p, in_iface, false);
    }
    if (limit_reached.empty() && check_limits()) maybe_wake_scheduler();
    if (quiescent()) maybe_wake_scheduler();
}

// A REJECT: the node answers in the name of the original destination with a RST, or with an ICMP
// port unreachable from its own address (never for a RST or another ICMP error).
void Runtime::send_reject(int node, const Packet& offending, Fate fate) {
    if (fate == Fate::Drop || offending.has(mbox::kRst) || offending.icmp != mbox::Icmp::None) return;
    if (fate == Fate::Reject) return send_rst_for(node, offending, offending.conn);
    InFlight* p = alloc_packet();
    const std::uint64_t id = p->pkt.id;
    p->pkt = mbox::make_icmp_port_unreachable(offending.dst.addr, offending);
    p->pkt.id = id;  // its own packet id in the trace
    transmit(node, p);
}

// ---------------------------------------------------------------------------------------------
// Stack: timers and notes (the socket calls are in tcp.cpp)

const std::string& Stack::node_name() const { return rt_->nodes[static_cast<std::size_t>(node_)].spec->name; }

TimeNs Stack::now() const { return rt_->now_ns(); }

TimerId Stack::schedule(TimeNs at, std::function<void()> fn) {
    TimerId id = rt_->next_timer_id++;
    rt_->app_timers.emplace(id, std::move(fn));
    ++rt_->live_timers;
    rt_->push_timer(std::max(at, rt_->now_ns()), TimerKind::App, id);
    return id;
}

void Stack::cancel(TimerId id) {
    if (rt_->app_timers.erase(id)) {
        --rt_->live_timers;
    }
}

void Stack::note(const std::string& text) { rt_->rec.note(rt_->now_ns(), node_, text); }
void Stack::note(trace::Event fact) {
    rt_->rec.fact(rt_->now_ns(), trace::EventKind::Note, node_, fact.conn, std::move(fact));
}

}  // namespace ftpsim::net
