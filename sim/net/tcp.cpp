// The TCP model: handshake, RST, SYN backoff, MSS segmentation, cumulative ACKs, RFC 6298
// retransmission timer, fast retransmit, half-close. See docs/network-model.md.
#include <algorithm>
#include <stdexcept>

#include "sim/net/runtime.hpp"

namespace ftpsim::net {

using mbox::kRst;

namespace {

// A socket or timer fact about a connection (src = local, dst = remote).
trace::Event conn_fact(trace::Fact f, const HostPort& local, const HostPort& remote) {
    trace::Event e;
    e.fact = f;
    e.src = {local.addr.to_string(), local.port};
    if (remote.port || !remote.addr.is_unspecified()) e.dst = {remote.addr.to_string(), remote.port};
    return e;
}

}  // namespace

TcpConn* Runtime::conn(ConnId id) {
    if (id < 0 || static_cast<std::size_t>(id) >= conns.size()) return nullptr;
    return conns[static_cast<std::size_t>(id)].get();
}

const TcpConn* Runtime::conn(ConnId id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= conns.size()) return nullptr;
    return conns[static_cast<std::size_t>(id)].get();
}

std::uint64_t Runtime::port_key(const IpAddress& a, std::uint16_t port) {
    std::uint64_t h = 0;
    if (a.is_v4()) {
        h = a.v4_host_order();
    } else {
        for (auto b : a.bytes) h = (h ^ b) * 1099511628211ULL;
        h = (h & 0xffffffffffULL) | (1ULL << 40);
    }
    return (h << 16) | port;
}

void Runtime::bind_port(NodeRt& n, const IpAddress& a, std::uint16_t port) { ++n.port_users[port_key(a, port)]; }

void Runtime::unbind_port(NodeRt& n, const IpAddress& a, std::uint16_t port) {
    auto it = n.port_users.find(port_key(a, port));
    if (it != n.port_users.end() && --it->second == 0) n.port_users.erase(it);
}

bool Runtime::port_taken(const NodeRt& n, const IpAddress& a, std::uint16_t port) const {
    if (n.port_users.count(port_key(a, port)) || n.port_users.count(port_key(IpAddress{}, port))) return true;
    if (!a.is_unspecified()) return false;
    for (const auto& i : n.spec->interfaces)  // a wildcard bind clashes with every address's sockets
        if (n.port_users.count(port_key(i.addr, port))) return true;
    return false;
}

namespace {

// Linux's [low, high] as its loops see it: high exclusive, the count of ports made even.
std::uint32_t port_span(const NodeRt& n) {
    std::uint32_t remaining = n.port_hi - n.port_lo + 1;
    return remaining > 1 ? remaining & ~1U : remaining;
}

std::uint64_t endpoint_hash(std::uint64_t h, const IpAddress& a) {
    for (std::size_t i = 0; i < (a.is_v4() ? 4u : 16u); ++i) h = (h ^ a.bytes[i]) * 1099511628211ULL;
    return h;
}

}  // namespace

// __inet_hash_connect: a per-destination offset (a keyed hash of source address, destination
// address and port) plus that destination's perturbation, which grows after each connect by the
// ports skipped + 2, or by a random even number below 16 when fewer were skipped. Ports of the
// range's parity first (Linux leaves the odd ones to bind(0)), then the others.
std::uint16_t Runtime::connect_port(NodeRt& n, const IpAddress& local, const HostPort& remote) {
    const std::uint32_t remaining = port_span(n);
    std::uint64_t h = endpoint_hash(endpoint_hash(1469598103934665603ULL ^ n.port_secret, local), remote.addr);
    h = mix_seed((h ^ remote.port) * 1099511628211ULL, n.port_secret);
    std::uint32_t& perturb = n.port_perturb[static_cast<std::uint32_t>(h & 0xff)];
    std::uint32_t offset = static_cast<std::uint32_t>((perturb + (h >> 32)) % remaining) & ~1U;
    for (int parity = 0; parity < 2; ++parity, ++offset) {
        std::uint32_t port = n.port_lo + offset;
        for (std::uint32_t i = 0; i < remaining; i += 2, port += 2) {
            if (port >= n.port_lo + remaining) port -= remaining;
            if (port_taken(n, local, static_cast<std::uint16_t>(port))) continue;
            perturb += std::max<std::uint32_t>(i, static_cast<std::uint32_t>(n.port_rng.next() % 8) * 2) + 2;
            return static_cast<std::uint16_t>(port);
        }
    }
    return 0;
}

// inet_csk_find_open_port: a random odd offset into the range, every other port upwards, then the
// other parity.
std::uint16_t Runtime::bind_any_port(NodeRt& n, const IpAddress& local) {
    const std::uint32_t remaining = port_span(n);
    std::uint32_t offset = static_cast<std::uint32_t>(n.port_rng.next() % remaining);
    if (remaining > 1) offset |= 1U;
    for (int parity = 0; parity < 2; ++parity, --offset) {
        std::uint32_t port = n.port_lo + offset;
        for (std::uint32_t i = 0; i < remaining; i += 2, port += 2) {
            if (port >= n.port_lo + remaining) port -= remaining;
            if (!port_taken(n, local, static_cast<std::uint16_t>(port))) return static_cast<std::uint16_t>(port);
        }
        if (remaining <= 1) break;
    }
    return 0;
}

std::string Runtime::conn_label(const TcpConn& c) const { return c.local.to_string() + " -> " + c.remote.to_string(); }

// ---------------------------------------------------------------------------------------------
// A connection's output: packets, trace facts, callbacks, its timer

void TcpConn::segment(const TcpSegment& s) {
    InFlight* p = rt->alloc_packet();
    Packet& k = p->pkt;
    k.conn = trace_id;
    k.src = local;
    k.dst = remote;
    k.flags = s.flags;
    k.seq = s.seq;
    k.ack = s.ack;
    if (!s.payload.empty()) k.payload.assign(s.payload);
    p->record_payload = opts.record_payload && !s.file_data;
    rt->transmit(node, p);
}

void TcpConn::timer_armed(TimeNs at) {
    if (!armed) {
        armed = true;
        ++rt->live_timers;
    }
    if (heap_at < 0 || at < heap_at) {
        heap_at = at;
        rt->push_timer(at, TimerKind::Conn, static_cast<std::uint64_t>(id));
    }
}

void TcpConn::timer_disarmed() {
    if (armed) {
        armed = false;
        --rt->live_timers;
    }
}

void TcpConn::event(const TcpEvent& e) {
    Runtime& r = *rt;
    const TimeNs now = r.now_ns();
    auto fact = [&](trace::EventKind kind, trace::Event ev) { r.rec.fact(now, kind, node, trace_id, std::move(ev)); };
    auto socket_fact = [&](trace::Fact f) { fact(trace::EventKind::Socket, conn_fact(f, local, remote)); };
    Stack& s = r.stack_of(node);
    switch (e.kind) {
    case TcpEventKind::Established: return socket_fact(trace::Fact::Connected);
    case TcpEventKind::Connected:
        if (handler) handler->on_connected(s, id);
        return;
    case TcpEventKind::Accepted:
        socket_fact(trace::Fact::Accepted);
        if (handler) handler->on_accept(s, listener, id, local, remote);
        return;
    case TcpEventKind::Data:
        if (handler) handler->on_data(s, id, e.data);
        return;
    case TcpEventKind::PeerClosed:
        socket_fact(trace::Fact::PeerClosed);
        if (handler) handler->on_peer_closed(s, id);
        return;
    case TcpEventKind::Drained:
        if (handler) handler->on_drained(s, id);
        return;
    case TcpEventKind::Writable:
        if (handler) handler->on_writable(s, id);
        return;
    case TcpEventKind::SynRetransmit:
    case TcpEventKind::SynAckRetransmit:
    case TcpEventKind::Retransmit: {
        trace::Event ev = conn_fact(e.kind == TcpEventKind::SynRetransmit      ? trace::Fact::SynRetransmit
                                    : e.kind == TcpEventKind::SynAckRetransmit ? trace::Fact::SynAckRetransmit
                                                                               : trace::Fact::Retransmit,
                                    local, remote);
        ev.attempt = e.attempt;
        ev.timeout_ns = e.timeout_ns;
        if (e.kind == TcpEventKind::Retransmit) ev.tcp_seq = e.seq;
        return fact(trace::EventKind::Timer, std::move(ev));
    }
    case TcpEventKind::FastRetransmit:
        return fact(trace::EventKind::Timer, conn_fact(trace::Fact::FastRetransmit, local, remote));
    case TcpEventKind::Refused: {
        trace::Event ev = conn_fact(trace::Fact::ConnectFailed, local, remote);
        ev.error = trace::SocketError::Refused;
        fact(trace::EventKind::Socket, std::move(ev));
        r.finish_conn(*this);
        if (handler) handler->on_refused(s, id);
        return;
    }
    case TcpEventKind::ConnectTimedOut: {
        trace::Event ev = conn_fact(trace::Fact::ConnectFailed, local, remote);
        ev.error = trace::SocketError::TimedOut;
        ev.timeout_ns = e.timeout_ns;
        ev.attempt = e.attempt;
        fact(trace::EventKind::Socket, std::move(ev));
        r.finish_conn(*this);
        if (handler) handler->on_timeout(s, id);
        return;
    }
    case TcpEventKind::HalfOpenReset: return r.finish_conn(*this);
    case TcpEventKind::HalfOpenGaveUp:
        socket_fact(trace::Fact::HalfOpenGaveUp);
        return r.finish_conn(*this);
    case TcpEventKind::Reset: {
        trace::Event ev = conn_fact(trace::Fact::Reset, local, remote);
        ev.error = trace::SocketError::Reset;
        fact(trace::EventKind::Socket, std::move(ev));
        r.finish_conn(*this);
        if (handler) handler->on_reset(s, id);
        return;
    }
    case TcpEventKind::TimedOut: {
        trace::Event ev = conn_fact(trace::Fact::TimedOut, local, remote);
        ev.error = trace::SocketError::TimedOut;
        ev.attempt = e.attempt;
        fact(trace::EventKind::Socket, std::move(ev));
        r.finish_conn(*this);
        if (handler) handler->on_timeout(s, id);
        return;
    }
    case TcpEventKind::Closed:
        socket_fact(trace::Fact::Closed);
        r.finish_conn(*this);
        if (handler) handler->on_closed(s, id);
        return;
    }
}

void Runtime::send_rst_for(int node, const Packet& in, int conn_trace_id) {
    InFlight* p = alloc_packet();
    Packet& k = p->pkt;
    k.conn = conn_trace_id;
    k.src = in.dst;
    k.dst = in.src;
    TcpSegment seg;
    seg.flags = in.flags;
    seg.seq = in.seq;
    seg.ack = in.ack;
    seg.payload = in.payload;
    TcpSegment r = reset_for(seg);
    k.flags = r.flags;
    k.seq = r.seq;
    k.ack = r.ack;
    transmit(node, p);
}

// Takes c out of its node's tables (its port is free again) and forgets its TCP state; the
// socket itself is freed once the current event is over (reap_conns).
void Runtime::finish_conn(TcpConn& c) {
    c.tcp.release();
    if (!c.registered) return;
    c.registered = false;
    release_handler(c.handler);
    finished_conns.push_back(c.id);
    NodeRt& n = nodes[static_cast<std::size_t>(c.node)];
    n.conns.erase(ConnKey{c.local.addr, c.remote.addr, c.local.port, c.remote.port});
    unbind_port(n, c.local.addr, c.local.port);
}

void Runtime::reap_conns() {
    for (ConnId id : finished_conns) {
        auto& slot = conns[static_cast<std::size_t>(id)];
        if (!slot) continue;
        slot.reset();
        --live_conns;
    }
    finished_conns.clear();
    // Then what the applications deferred to the end of the event (Stack::after_event); each may
    // defer more, which runs in this same pass.
    for (std::size_t i = 0; i < after_event.size(); ++i) {
        auto fn = std::move(after_event[i]);
        fn();
    }
    after_event.clear();
}

void Runtime::hold_handler(const SocketHandler* h) {
    if (h) ++handler_refs[h];
}

void Runtime::release_handler(const SocketHandler* h) {
    if (!h) return;
    auto it = handler_refs.find(h);
    if (it != handler_refs.end() && --it->second == 0) handler_refs.erase(it);
}

std::size_t Stack::handler_refs(const SocketHandler* h) const {
    auto it = rt_->handler_refs.find(h);
    return it == rt_->handler_refs.end() ? 0 : it->second;
}

void Stack::after_event(std::function<void()> fn) { rt_->after_event.push_back(std::move(fn)); }

TcpConn& Runtime::add_conn(std::unique_ptr<TcpConn> owned, int trace_id) {
    TcpConn& c = *owned;
    c.id = static_cast<ConnId>(conns.size());
    c.trace_id = trace_id == kOwnTraceId ? c.id : trace_id;
    conns.push_back(std::move(owned));
    trace_ids.push_back(c.trace_id);
    ++live_conns;
    return c;
}

trace::Verdict Runtime::tcp_input(int node, InFlight* p, std::string& reason) {
    NodeRt& n = nodes[static_cast<std::size_t>(node)];
    const Packet& k = p->pkt;
    if (k.icmp != mbox::Icmp::None) {
        // Linux tcp_v4_err: a port unreachable (ECONNREFUSED, fatal) ends a connection still in
        // SYN-SENT at once: connect() fails with "Connection refused". An open connection only
        // keeps it as a soft error (no IP_RECVERR): nothing happens here.
        auto q = n.conns.find(ConnKey{k.quoted_src.addr, k.quoted_dst.addr, k.quoted_src.port, k.quoted_dst.port});
        if (q == n.conns.end()) return trace::Verdict::Delivered;
        TcpConn& c = *conns[static_cast<std::size_t>(q->second)];
        if (c.tcp.state() != TcpState::SynSent) return trace::Verdict::Delivered;
        rec.socket(now_ns(), node, c.trace_id,
                   "connect " + conn_label(c) + " failed: ICMP port unreachable from " + k.src.addr.to_string() +
                       " (connection refused)");
        finish_conn(c);
        if (c.handler) c.handler->on_refused(stack_of(node), c.id);
        return trace::Verdict::Delivered;
    }
    auto it = n.conns.find(ConnKey{k.dst.addr, k.src.addr, k.dst.port, k.src.port});
    if (it == n.conns.end()) {
        if (k.has(kRst)) return trace::Verdict::Delivered;
        if (k.is_syn_only()) {
            const Listener* best = nullptr;
            ListenerId best_id = -1;
            for (ListenerId id : n.listeners) {
                const Listener& l = listeners[static_cast<std::size_t>(id)];
                if (!l.open || l.port != k.dst.port) continue;
                if (l.addr == k.dst.addr || (l.addr.is_unspecified() && !best)) {
                    best = &l;
                    best_id = id;
                }
            }
            if (!best) {
                send_rst_for(node, k, k.conn);
                reason = "RST: port closed (" + k.dst.to_string() + ")";
                return trace::Verdict::Rejected;
            }
            TcpConn& c = add_conn(std::make_unique<TcpConn>(*this, cfg.tcp), k.conn);
            c.node = node;
            c.listener = best_id;
            c.handler = best->handler;
            c.opts = best->opts;
            c.local = k.dst;
            c.remote = k.src;
            const auto iss = static_cast<std::uint32_t>(isn_rng.next());
            n.conns.emplace(ConnKey{c.local.addr, c.remote.addr, c.local.port, c.remote.port}, c.id);
            c.registered = true;
            hold_handler(c.handler);
            bind_port(n, c.local.addr, c.local.port);
            rec.responder_view(c.trace_id, node, c.local, c.remote);
            c.tcp.open_passive(now_ns(), iss, k.seq);
            return trace::Verdict::Delivered;
        }
        send_rst_for(node, k, k.conn);
        reason = "RST: no connection " + k.dst.to_string() + " <- " + k.src.to_string();
        return trace::Verdict::Rejected;
    }

    TcpConn& c = *conns[static_cast<std::size_t>(it->second)];
    TcpSegment seg;
    seg.flags = k.flags;
    seg.seq = k.seq;
    seg.ack = k.ack;
    seg.payload = k.payload;
    c.tcp.on_segment(now_ns(), seg);
    return trace::Verdict::Delivered;
}

// ---------------------------------------------------------------------------------------------
// The socket API

ListenResult Stack::listen(const IpAddress& addr, std::uint16_t port_lo, std::uint16_t port_hi, SocketHandler* handler,
                           const SocketOptions& opts) {
    Runtime& rt = *rt_;
    NodeRt& n = rt.nodes[static_cast<std::size_t>(node_)];
    ListenResult res;
    if (!addr.is_unspecified() && !rt.is_local(node_, addr)) {
        res.error = addr.to_string() + " is not an address of " + n.spec->name;
        return res;
    }
    std::uint32_t lo = port_lo, hi = port_hi;
    if (lo == 0 && hi == 0) {
        // bind() to port 0 then listen(), as curl, ftplib and lftp make their active-mode listener:
        // an ephemeral port no socket of this host uses.
        lo = hi = rt.bind_any_port(n, addr);
        if (lo == 0) {
            res.error = "no free port in " + std::to_string(n.port_lo) + "-" + std::to_string(n.port_hi) + " on " +
                        addr.to_string();
            rt.rec.socket(rt.now_ns(), node_, -1, "listen failed: " + res.error);
            return res;
        }
    }
    // Like servers' SO_REUSEADDR: only another listener makes a port busy, not connections
    // still using it (an accepted data connection, an outgoing connection from that port).
    auto in_use = [&](std::uint16_t port) {
        for (ListenerId id : n.listeners) {
            const Listener& l = rt.listeners[static_cast<std::size_t>(id)];
            if (l.open && l.port == port && (l.addr == addr || l.addr.is_unspecified() || addr.is_unspecified()))
                return true;
        }
        return false;
    };
    for (std::uint32_t port = lo; port <= hi && port <= 65535; ++port) {
        auto p = static_cast<std::uint16_t>(port);
        if (p == 0 || in_use(p)) continue;
        res.id = static_cast<ListenerId>(rt.listeners.size());
        res.port = p;
        rt.listeners.push_back(Listener{addr, p, handler, opts, true});
        rt.hold_handler(handler);
        n.listeners.push_back(res.id);
        rt.bind_port(n, addr, p);
        rt.rec.fact(rt.now_ns(), trace::EventKind::Socket, node_, -1, conn_fact(trace::Fact::Listen, HostPort{addr, p}, HostPort{}));
        return res;
    }
    res.error = lo == hi ? "port " + std::to_string(lo) + " in use on " + addr.to_string()
                         : "no free port in " + std::to_string(lo) + "-" + std::to_string(hi) + " on " + addr.to_string();
    {
        trace::Event e = conn_fact(trace::Fact::ListenFailed, HostPort{addr, static_cast<std::uint16_t>(lo)}, HostPort{});
        e.dst.port = static_cast<std::uint16_t>(hi);
        e.error = lo == hi ? trace::SocketError::PortInUse : trace::SocketError::NoFreePort;
        rt.rec.fact(rt.now_ns(), trace::EventKind::Socket, node_, -1, std::move(e));
    }
    return res;
}

void Stack::stop_listening(ListenerId id) {
    Runtime& rt = *rt_;
    if (id < 0 || static_cast<std::size_t>(id) >= rt.listeners.size()) return;
    Listener& l = rt.listeners[static_cast<std::size_t>(id)];
    if (!l.open) return;
    l.open = false;
    rt.release_handler(l.handler);
    NodeRt& n = rt.nodes[static_cast<std::size_t>(node_)];
    rt.unbind_port(n, l.addr, l.port);
    std::erase(n.listeners, id);
    rt.rec.fact(rt.now_ns(), trace::EventKind::Socket, node_, -1, conn_fact(trace::Fact::StopListening, HostPort{l.addr, l.port}, HostPort{}));
}

ConnId Stack::connect(const IpAddress& local, std::uint16_t local_port, const HostPort& remote, SocketHandler* handler,
                      const SocketOptions& opts) {
    Runtime& rt = *rt_;
    NodeRt& n = rt.nodes[static_cast<std::size_t>(node_)];
    const RouteEntry* route = nullptr;
    for (const auto& r : n.routes)
        if (r.dest.contains(remote.addr)) {
            route = &r;
            break;
        }
    // Like Linux's connect() failing with ENETUNREACH: with no route on this node, no SYN leaves.
    // The unspecified address (0.0.0.0, ::) means this host on Linux (ip_route_output_key_hash_rcu
    // turns daddr 0 into the loopback, tcp_v6_connect :: into ::1): the SYN goes over lo and, with
    // nothing listening there, the connect is refused at once (ECONNREFUSED). The model has no
    // loopback interface: no SYN on any link and the refusal comes at once (this_host below).
    const bool this_host = remote.addr.is_unspecified();
    const bool unreachable = this_host || (!route && !rt.is_local(node_, remote.addr));
    IpAddress src = local;
    if (src.is_unspecified()) {  // source address selection: the interface of the route
        src = n.spec->interfaces.empty() ? IpAddress{} : n.spec->interfaces.front().addr;
        if (route) src = n.spec->interfaces[static_cast<std::size_t>(route->iface)].addr;
    } else if (!rt.is_local(node_, src)) {
        throw std::invalid_argument("connect: " + src.to_string() + " is not an address of " + n.spec->name);
    }
    std::uint16_t port = local_port ? local_port : rt.connect_port(n, src, remote);
    if (port == 0) throw std::runtime_error("connect: no free ephemeral port on " + n.spec->name);
    ConnKey key{src, remote.addr, port, remote.port};
    if (n.conns.count(key))
        throw std::runtime_error("connect: " + HostPort{src, port}.to_string() + " -> " + remote.to_string() +
                                 " already exists on " + n.spec->name);
    TcpConn& c = rt.add_conn(std::make_unique<TcpConn>(rt, rt.cfg.tcp), Runtime::kOwnTraceId);
    c.node = node_;
    c.handler = handler;
    c.opts = opts;
    c.local = HostPort{src, port};
    c.remote = remote;
    const auto iss = static_cast<std::uint32_t>(rt.isn_rng.next());
    const TimeNs now = rt.now_ns();
    n.conns.emplace(key, c.id);
    c.registered = true;
    rt.hold_handler(handler);
    rt.bind_port(n, src, port);
    // The control connection may be the accepting side's socket: the trace knows it by the
    // initiator's id.
    rt.rec.open_connection(c.id, opts.purpose, rt.trace_id_of(opts.control_conn), node_, c.local, c.remote);
    if (unreachable) {
        // The handler learns it from a zero-delay timer: connect() must return the id first.
        c.unreachable = true;
        c.tcp.open_active(now, iss, false);
        trace::Event e = conn_fact(trace::Fact::ConnectFailed, c.local, remote);
        e.error = this_host ? trace::SocketError::Refused : trace::SocketError::Unreachable;
        rt.rec.fact(now, trace::EventKind::Socket, node_, c.id, std::move(e));
        // On Linux a listener of this host's own on that port would take the connection over lo;
        // the model refuses it anyway (no loopback interface), and says so.
        if (this_host)
            for (ListenerId l : n.listeners)
                if (rt.listeners[static_cast<std::size_t>(l)].port == remote.port)
                    rt.rec.model_note(n.spec->name + " connects to " + remote.to_string() +
                                      ": Linux would reach its own listener on that port over the loopback "
                                      "interface; the model has none and refuses the connect");
        // One nanosecond later, not at once: a timer due now may run in the scheduler actor before
        // connect() has returned to the application, which would not know the id yet.
        schedule(now + 1, [&rt, id = c.id] { rt.connect_unreachable(id); });
        return c.id;
    }
    rt.rec.fact(now, trace::EventKind::Socket, node_, c.id, conn_fact(trace::Fact::Connect, c.local, c.remote));
    c.tcp.open_active(now, iss);
    return c.id;
}

// The timer connect() set when it found no route, or a connect to this host (the unspecified
// address: refused), unless the application closed the socket.
void Runtime::connect_unreachable(ConnId id) {
    TcpConn* c = conn(id);
    if (!c || !c->unreachable || c->tcp.state() != TcpState::SynSent) return;
    finish_conn(*c);
    if (!c->handler) return;
    if (c->remote.addr.is_unspecified()) c->handler->on_refused(stack_of(c->node), c->id);
    else c->handler->on_unreachable(stack_of(c->node), c->id);
}

std::size_t Stack::send(ConnId id, std::string_view bytes) {
    TcpConn* c = rt_->conn(id);
    if (!c) return 0;
    return c->tcp.write(rt_->now_ns(), bytes);
}

std::uint64_t Stack::send_space(ConnId id) const {
    const TcpConn* c = rt_->conn(id);
    return c ? c->tcp.send_space() : 0;
}

void Stack::file_data_from_now(ConnId id) {
    TcpConn* c = rt_->conn(id);
    if (!c) return;
    c->tcp.file_data_from_now();
    rt_->rec.mark_control_text(c->trace_id);
}

void Stack::close(ConnId id) {
    TcpConn* c = rt_->conn(id);
    if (!c || c->tcp.state() == TcpState::Closed || c->tcp.close_requested()) return;
    if (!c->tcp.is_open()) {  // not connected yet: forget it, like close() on a connecting socket
        if (!c->unreachable)
            rt_->rec.fact(rt_->now_ns(), trace::EventKind::Socket, node_, c->trace_id,
                          conn_fact(trace::Fact::ClosedBeforeConnected, c->local, c->remote));
        rt_->finish_conn(*c);
        return;
    }
    c->tcp.close(rt_->now_ns());
}

void Stack::abort(ConnId id) {
    TcpConn* c = rt_->conn(id);
    if (!c || c->tcp.state() == TcpState::Closed) return;
    if (!c->unreachable)
        rt_->rec.fact(rt_->now_ns(), trace::EventKind::Socket, node_, c->trace_id, conn_fact(trace::Fact::Aborted, c->local, c->remote));
    c->tcp.abort();
    rt_->finish_conn(*c);
}

ConnInfo Stack::info(ConnId id) const {
    const TcpConn* c = rt_->conn(id);
    ConnInfo i;
    if (!c) return i;
    i.local = c->local;
    i.remote = c->remote;
    i.open = c->tcp.is_open();
    i.bytes_sent = c->tcp.bytes_written();
    i.bytes_received = c->tcp.bytes_received();
    return i;
}

}  // namespace ftpsim::net
