// The TCP model: handshake, RST, SYN backoff, MSS segmentation, cumulative ACKs, RFC 6298
// retransmission timer, fast retransmit, half-close. See docs/network-model.md.
#include <algorithm>
#include <stdexcept>

#include "sim/net/runtime.hpp"

namespace ftpsim::net {

using mbox::kAck;
using mbox::kFin;
using mbox::kPsh;
using mbox::kRst;
using mbox::kSyn;

namespace {

// A socket or timer fact about a connection (src = local, dst = remote).
trace::Event conn_fact(trace::Fact f, const HostPort& local, const HostPort& remote) {
    trace::Event e;
    e.fact = f;
    e.src = {local.addr.to_string(), local.port};
    if (remote.port || !remote.addr.is_unspecified()) e.dst = {remote.addr.to_string(), remote.port};
    return e;
}

// The offset a 32-bit wire number denotes, near a known offset (RFC 1982 arithmetic).
std::uint64_t unwrap(std::uint32_t base_wire, std::uint64_t near_off, std::uint32_t wire) {
    auto delta = static_cast<std::int32_t>(wire - (base_wire + static_cast<std::uint32_t>(near_off)));
    auto off = static_cast<std::int64_t>(near_off) + delta;
    return off < 0 ? 0 : static_cast<std::uint64_t>(off);
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

void Runtime::arm_rto(TcpConn& c, TimeNs deadline) {
    if (c.rto_deadline < 0) ++live_timers;
    c.rto_deadline = deadline;
    if (c.heap_at < 0 || deadline < c.heap_at) {
        c.heap_at = deadline;
        push_timer(deadline, TimerKind::Conn, static_cast<std::uint64_t>(c.id));
    }
}

void Runtime::disarm_rto(TcpConn& c) {
    if (c.rto_deadline >= 0) --live_timers;
    c.rto_deadline = -1;
}

void Runtime::send_segment(TcpConn& c, std::uint8_t flags, std::uint64_t off, std::uint64_t data_off, std::uint32_t len) {
    InFlight* p = alloc_packet();
    Packet& k = p->pkt;
    k.conn = c.trace_id;
    k.src = c.local;
    k.dst = c.remote;
    k.flags = flags;
    k.seq = c.iss + static_cast<std::uint32_t>(off);
    k.ack = (flags & kAck) ? c.irs + static_cast<std::uint32_t>(c.rcv_nxt) : 0;
    if (len) k.payload.assign(c.buf, static_cast<std::size_t>(data_off - c.buf_base), len);
    p->record_payload = c.opts.record_payload && (len == 0 || data_off < c.record_until);
    if (flags & kAck) c.ack_pending = false;
    transmit(c.node, p);
}

void Runtime::send_rst_for(int node, const Packet& in, int conn_trace_id) {
    InFlight* p = alloc_packet();
    Packet& k = p->pkt;
    k.conn = conn_trace_id;
    k.src = in.dst;
    k.dst = in.src;
    if (in.has(kAck)) {
        k.flags = kRst;
        k.seq = in.ack;
    } else {
        k.flags = kRst | kAck;
        k.seq = 0;
        k.ack = in.seq + in.seq_len();
    }
    transmit(node, p);
}

// Sends what the window allows, the FIN once everything is sent, and a pending ACK.
void Runtime::flush(TcpConn& c) {
    if (c.state != TcpState::Open) return;
    const std::uint64_t window = cfg.tcp.send_window;
    bool sent_new = false;
    while (!c.fin_sent && c.snd_nxt - 1 < c.app_len) {
        std::uint64_t in_flight_bytes = c.snd_nxt - c.snd_una;
        if (window && in_flight_bytes >= window) break;
        std::uint64_t data_off = c.snd_nxt - 1;
        std::uint64_t len = std::min<std::uint64_t>(cfg.tcp.mss, c.app_len - data_off);
        if (window) len = std::min(len, window - in_flight_bytes);
        if (data_off < c.record_until) len = std::min(len, c.record_until - data_off);
        std::uint8_t flags = kAck | (data_off + len == c.app_len ? kPsh : 0);
        send_segment(c, flags, c.snd_nxt, data_off, static_cast<std::uint32_t>(len));
        if (!c.timing) {
            c.timing = true;
            c.timed_off = c.snd_nxt + len;
            c.timed_at = now_ns();
        }
        c.snd_nxt += len;
        sent_new = true;
    }
    if (c.close_requested && !c.fin_sent && c.snd_nxt == 1 + c.app_len) {
        send_segment(c, kFin | kAck, c.snd_nxt, 0, 0);
        c.fin_sent = true;
        c.snd_nxt += 1;
        sent_new = true;
    }
    if (sent_new && c.rto_deadline < 0) arm_rto(c, now_ns() + c.rto);
    if (c.ack_pending) send_segment(c, kAck, c.snd_nxt, 0, 0);
}

// Resends the first unacknowledged segment (SYN, SYN-ACK, data or FIN).
void Runtime::retransmit(TcpConn& c) {
    c.timing = false;  // Karn: no RTT sample from a retransmitted segment
    if (c.state == TcpState::SynSent) return send_segment(c, kSyn, 0, 0, 0);
    if (c.state == TcpState::SynRcvd) return send_segment(c, kSyn | kAck, 0, 0, 0);
    if (c.snd_una >= c.snd_nxt) return;
    std::uint64_t off = c.snd_una;
    if (off - 1 < c.app_len) {
        std::uint64_t data_off = off - 1;
        std::uint64_t len = std::min<std::uint64_t>({cfg.tcp.mss, c.app_len - data_off, c.snd_nxt - off});
        if (data_off < c.record_until) len = std::min(len, c.record_until - data_off);
        std::uint8_t flags = kAck | (data_off + len == c.app_len ? kPsh : 0);
        send_segment(c, flags, off, data_off, static_cast<std::uint32_t>(len));
    } else {
        send_segment(c, kFin | kAck, off, 0, 0);
    }
}

void Runtime::finish_conn(TcpConn& c) {
    if (c.state == TcpState::Closed) return;
    c.state = TcpState::Closed;
    disarm_rto(c);
    NodeRt& n = nodes[static_cast<std::size_t>(c.node)];
    n.conns.erase(ConnKey{c.local.addr, c.remote.addr, c.local.port, c.remote.port});
    unbind_port(n, c.local.addr, c.local.port);
    std::string().swap(c.buf);
    c.out_of_order.clear();
}

void Runtime::maybe_closed(TcpConn& c) {
    if (c.state == TcpState::Open && c.fin_sent && c.fin_acked && c.fin_rcvd) {
        rec.fact(now_ns(), trace::EventKind::Socket, c.node, c.trace_id, conn_fact(trace::Fact::Closed, c.local, c.remote));
        finish_conn(c);
        if (c.handler) c.handler->on_closed(stack_of(c.node), c.id);
    }
}

static void rtt_sample(TcpConn& c, TimeNs r, const TcpConfig& cfg) {
    if (!c.have_rtt) {
        c.srtt = r;
        c.rttvar = r / 2;
        c.have_rtt = true;
    } else {
        TimeNs err = c.srtt > r ? c.srtt - r : r - c.srtt;
        c.rttvar = (3 * c.rttvar + err) / 4;
        c.srtt = (7 * c.srtt + r) / 8;
    }
    c.rto = std::clamp(c.srtt + 4 * c.rttvar, cfg.min_rto_ns, cfg.max_rto_ns);
}

void Runtime::handle_ack(TcpConn& c, const Packet& k) {
    if (!k.has(kAck)) return;
    std::uint64_t ack = unwrap(c.iss, c.snd_una, k.ack);
    if (ack > c.snd_nxt) return;  // acknowledges something never sent
    if (ack > c.snd_una) {
        if (c.timing && ack >= c.timed_off) {
            rtt_sample(c, now_ns() - c.timed_at, cfg.tcp);
            c.timing = false;
        }
        c.snd_una = ack;
        c.retries = 0;
        c.dupacks = 0;
        std::uint64_t acked_data = std::min(c.snd_una - 1, c.app_len);
        std::uint64_t dead = acked_data - c.buf_base;
        if (dead > 65536 && dead > c.buf.size() / 2) {
            c.buf.erase(0, static_cast<std::size_t>(dead));
            c.buf_base = acked_data;
        }
        if (c.fin_sent && c.snd_una == c.app_len + 2) c.fin_acked = true;
        if (c.in_recovery) {
            if (c.snd_una >= c.recover) {
                c.in_recovery = false;
            } else {
                retransmit(c);  // partial ACK: the next hole
            }
        }
        if (c.snd_una == c.snd_nxt) {
            disarm_rto(c);
        } else {
            arm_rto(c, now_ns() + c.rto);
        }
        // Everything the application wrote, and the FIN it asked for, is acknowledged.
        if (c.handler && c.snd_una == c.app_len + 1 + (c.close_requested ? 1 : 0))
            c.handler->on_drained(stack_of(c.node), c.id);
    } else if (ack == c.snd_una && c.snd_nxt > c.snd_una && k.payload.empty() && !k.has(kSyn) && !k.has(kFin)) {
        if (++c.dupacks == 3 && !c.in_recovery) {
            c.in_recovery = true;
            c.recover = c.snd_nxt;
            rec.fact(now_ns(), trace::EventKind::Timer, c.node, c.trace_id, conn_fact(trace::Fact::FastRetransmit, c.local, c.remote));
            retransmit(c);
        }
    }
}

void Runtime::accept_payload(TcpConn& c, std::uint64_t off, std::string_view data, bool fin) {
    c.ack_pending = true;
    if (fin) c.peer_fin_off = off + data.size();
    auto deliver = [&](std::uint64_t at, std::string_view bytes) {
        if (at + bytes.size() <= c.rcv_nxt) return;
        bytes.remove_prefix(static_cast<std::size_t>(c.rcv_nxt - at));
        c.rcv_nxt += bytes.size();
        c.bytes_received += bytes.size();
        if (c.handler) c.handler->on_data(stack_of(c.node), c.id, bytes);
    };
    if (off > c.rcv_nxt) {
        if (!data.empty()) {
            auto& slot = c.out_of_order[off];
            if (slot.size() < data.size()) slot.assign(data);
        }
        return;
    }
    deliver(off, data);
    while (c.state == TcpState::Open && !c.out_of_order.empty() && c.out_of_order.begin()->first <= c.rcv_nxt) {
        auto node = c.out_of_order.extract(c.out_of_order.begin());
        deliver(node.key(), node.mapped());
    }
    if (c.state == TcpState::Open && !c.fin_rcvd && c.peer_fin_off == c.rcv_nxt) {
        c.rcv_nxt += 1;
        c.fin_rcvd = true;
        rec.fact(now_ns(), trace::EventKind::Socket, c.node, c.trace_id, conn_fact(trace::Fact::PeerClosed, c.local, c.remote));
        if (c.handler) c.handler->on_peer_closed(stack_of(c.node), c.id);
    }
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
        if (c.state != TcpState::SynSent) return trace::Verdict::Delivered;
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
            auto owned = std::make_unique<TcpConn>();
            TcpConn& c = *owned;
            c.id = static_cast<ConnId>(conns.size());
            conns.push_back(std::move(owned));
            c.node = node;
            c.trace_id = k.conn;
            c.listener = best_id;
            c.handler = best->handler;
            c.opts = best->opts;
            c.state = TcpState::SynRcvd;
            c.local = k.dst;
            c.remote = k.src;
            c.irs = k.seq;
            c.rcv_nxt = 1;
            c.iss = static_cast<std::uint32_t>(isn_rng.next());
            c.rto = cfg.tcp.initial_rto_ns;
            c.connect_started = now_ns();
            n.conns.emplace(ConnKey{c.local.addr, c.remote.addr, c.local.port, c.remote.port}, c.id);
            bind_port(n, c.local.addr, c.local.port);
            rec.responder_view(c.trace_id, node, c.local, c.remote);
            send_segment(c, kSyn | kAck, 0, 0, 0);
            c.snd_nxt = 1;
            arm_rto(c, now_ns() + c.rto);
            return trace::Verdict::Delivered;
        }
        send_rst_for(node, k, k.conn);
        reason = "RST: no connection " + k.dst.to_string() + " <- " + k.src.to_string();
        return trace::Verdict::Rejected;
    }

    TcpConn& c = *conns[static_cast<std::size_t>(it->second)];
    Stack& s = stack_of(node);
    if (k.has(kRst)) {
        TcpState was = c.state;
        if (was == TcpState::SynSent) {
            trace::Event e = conn_fact(trace::Fact::ConnectFailed, c.local, c.remote);
            e.error = trace::SocketError::Refused;
            rec.fact(now_ns(), trace::EventKind::Socket, node, c.trace_id, std::move(e));
            finish_conn(c);
            if (c.handler) c.handler->on_refused(s, c.id);
        } else if (was == TcpState::SynRcvd) {
            finish_conn(c);
        } else {
            trace::Event e = conn_fact(trace::Fact::Reset, c.local, c.remote);
            e.error = trace::SocketError::Reset;
            rec.fact(now_ns(), trace::EventKind::Socket, node, c.trace_id, std::move(e));
            finish_conn(c);
            if (c.handler) c.handler->on_reset(s, c.id);
        }
        return trace::Verdict::Delivered;
    }

    if (c.state == TcpState::SynSent) {
        if (k.has(kSyn | kAck) && k.ack == c.iss + 1) {
            c.irs = k.seq;
            c.rcv_nxt = 1;
            c.snd_una = 1;
            if (c.retries == 0) rtt_sample(c, now_ns() - c.connect_started, cfg.tcp);
            c.retries = 0;
            disarm_rto(c);
            c.state = TcpState::Open;
            rec.fact(now_ns(), trace::EventKind::Socket, node, c.trace_id, conn_fact(trace::Fact::Connected, c.local, c.remote));
            send_segment(c, kAck, c.snd_nxt, 0, 0);
            if (c.handler) c.handler->on_connected(s, c.id);
            flush(c);
        }
        return trace::Verdict::Delivered;
    }

    const std::uint64_t una_before = c.snd_una;
    if (c.state == TcpState::SynRcvd) {
        if (k.is_syn_only()) {  // our SYN-ACK was lost or is late: answer again
            send_segment(c, kSyn | kAck, 0, 0, 0);
            return trace::Verdict::Delivered;
        }
        if (!k.has(kAck) || k.ack != c.iss + 1) return trace::Verdict::Delivered;
        c.snd_una = 1;
        if (c.retries == 0) rtt_sample(c, now_ns() - c.connect_started, cfg.tcp);
        c.retries = 0;
        disarm_rto(c);
        c.state = TcpState::Open;
        rec.fact(now_ns(), trace::EventKind::Socket, node, c.trace_id, conn_fact(trace::Fact::Accepted, c.local, c.remote));
        if (c.handler) c.handler->on_accept(s, c.listener, c.id, c.local, c.remote);
        if (c.state != TcpState::Open) return trace::Verdict::Delivered;
        // The same segment may carry data or a FIN: fall through (its ACK is handled).
    } else if (k.has(kSyn)) {  // a retransmitted SYN-ACK: our ACK was lost
        c.ack_pending = true;
        flush(c);
        return trace::Verdict::Delivered;
    } else {
        handle_ack(c, k);
    }
    if (c.state != TcpState::Open) return trace::Verdict::Delivered;
    if (!k.payload.empty() || k.has(kFin)) {
        std::uint64_t off = unwrap(c.irs, c.rcv_nxt, k.seq);
        accept_payload(c, off, k.payload, k.has(kFin));
    }
    if (c.state != TcpState::Open) return trace::Verdict::Delivered;
    // Room in the send buffer: the application refills it before the flush below sends.
    if (c.handler && c.snd_una > una_before && c.app_len > 0) c.handler->on_writable(s, c.id);
    if (c.state != TcpState::Open) return trace::Verdict::Delivered;
    flush(c);
    maybe_closed(c);
    return trace::Verdict::Delivered;
}

// The retransmission timer of c expired.
void Runtime::conn_timer(ConnId id) {
    TcpConn& c = *conn(id);
    TimeNs now = now_ns();
    ++c.retries;
    const TcpConfig& t = cfg.tcp;
    if (c.state == TcpState::SynSent) {
        TimeNs give_up = t.connect_timeout_ns > 0 ? c.connect_started + t.connect_timeout_ns : -1;
        if (c.retries > t.syn_retries || (give_up >= 0 && now >= give_up)) {
            trace::Event e = conn_fact(trace::Fact::ConnectFailed, c.local, c.remote);
            e.error = trace::SocketError::TimedOut;
            e.timeout_ns = now - c.connect_started;
            e.attempt = c.retries - 1;
            rec.fact(now, trace::EventKind::Socket, c.node, c.trace_id, std::move(e));
            finish_conn(c);
            if (c.handler) c.handler->on_timeout(stack_of(c.node), c.id);
            return;
        }
        trace::Event e = conn_fact(trace::Fact::SynRetransmit, c.local, c.remote);
        e.attempt = c.retries;
        e.timeout_ns = c.rto;
        rec.fact(now, trace::EventKind::Timer, c.node, c.trace_id, std::move(e));
        c.rto = std::min(2 * c.rto, t.max_rto_ns);
        retransmit(c);
        TimeNs next = now + c.rto;
        if (give_up >= 0) next = std::min(next, give_up);
        arm_rto(c, next);
        return;
    }
    if (c.state == TcpState::SynRcvd) {
        if (c.retries > t.synack_retries) {
            rec.fact(now, trace::EventKind::Socket, c.node, c.trace_id, conn_fact(trace::Fact::HalfOpenGaveUp, c.local, c.remote));
            finish_conn(c);
            return;
        }
        trace::Event e = conn_fact(trace::Fact::SynAckRetransmit, c.local, c.remote);
        e.attempt = c.retries;
        e.timeout_ns = c.rto;
        rec.fact(now, trace::EventKind::Timer, c.node, c.trace_id, std::move(e));
        c.rto = std::min(2 * c.rto, t.max_rto_ns);
        retransmit(c);
        arm_rto(c, now + c.rto);
        return;
    }
    if (c.state != TcpState::Open || c.snd_una >= c.snd_nxt) return;
    if (c.retries > t.data_retries) {
        trace::Event e = conn_fact(trace::Fact::TimedOut, c.local, c.remote);
        e.error = trace::SocketError::TimedOut;
        e.attempt = t.data_retries;
        rec.fact(now, trace::EventKind::Socket, c.node, c.trace_id, std::move(e));
        finish_conn(c);
        if (c.handler) c.handler->on_timeout(stack_of(c.node), c.id);
        return;
    }
    {
        trace::Event e = conn_fact(trace::Fact::Retransmit, c.local, c.remote);
        e.attempt = c.retries;
        e.timeout_ns = c.rto;
        e.tcp_seq = c.iss + static_cast<std::uint32_t>(c.snd_una);
        rec.fact(now, trace::EventKind::Timer, c.node, c.trace_id, std::move(e));
    }
    c.rto = std::min(2 * c.rto, t.max_rto_ns);
    c.in_recovery = true;
    c.recover = c.snd_nxt;
    c.dupacks = 0;
    retransmit(c);
    arm_rto(c, now + c.rto);
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
    const bool unreachable = !route && !rt.is_local(node_, remote.addr);
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
    auto owned = std::make_unique<TcpConn>();
    TcpConn& c = *owned;
    c.id = static_cast<ConnId>(rt.conns.size());
    rt.conns.push_back(std::move(owned));
    c.node = node_;
    c.trace_id = c.id;
    c.handler = handler;
    c.opts = opts;
    c.state = TcpState::SynSent;
    c.local = HostPort{src, port};
    c.remote = remote;
    c.iss = static_cast<std::uint32_t>(rt.isn_rng.next());
    c.rto = rt.cfg.tcp.initial_rto_ns;
    c.connect_started = rt.now_ns();
    n.conns.emplace(key, c.id);
    rt.bind_port(n, src, port);
    // The control connection may be the accepting side's socket: the trace knows it by the
    // initiator's id.
    rt.rec.open_connection(c.id, opts.purpose, rt.trace_id_of(opts.control_conn), node_, c.local, c.remote);
    if (unreachable) {
        // The handler learns it from a zero-delay timer: connect() must return the id first.
        c.unreachable = true;
        trace::Event e = conn_fact(trace::Fact::ConnectFailed, c.local, remote);
        e.error = trace::SocketError::Unreachable;
        rt.rec.fact(c.connect_started, trace::EventKind::Socket, node_, c.id, std::move(e));
        // One nanosecond later, not at once: a timer due now may run in the scheduler actor before
        // connect() has returned to the application, which would not know the id yet.
        schedule(c.connect_started + 1, [&rt, id = c.id] { rt.connect_unreachable(id); });
        return c.id;
    }
    rt.rec.fact(c.connect_started, trace::EventKind::Socket, node_, c.id, conn_fact(trace::Fact::Connect, c.local, c.remote));
    rt.send_segment(c, kSyn, 0, 0, 0);
    c.snd_nxt = 1;
    TimeNs deadline = c.connect_started + c.rto;
    if (rt.cfg.tcp.connect_timeout_ns > 0) deadline = std::min(deadline, c.connect_started + rt.cfg.tcp.connect_timeout_ns);
    rt.arm_rto(c, deadline);
    return c.id;
}

// The timer connect() set when it found no route (unless the application closed the socket).
void Runtime::connect_unreachable(ConnId id) {
    TcpConn* c = conn(id);
    if (!c || !c->unreachable || c->state != TcpState::SynSent) return;
    finish_conn(*c);
    if (c->handler) c->handler->on_unreachable(stack_of(c->node), c->id);
}

void Stack::send(ConnId id, std::string_view bytes) {
    TcpConn* c = rt_->conn(id);
    if (!c || c->state == TcpState::Closed || c->close_requested || bytes.empty()) return;
    c->buf.append(bytes);
    c->app_len += bytes.size();
    rt_->flush(*c);
}

std::uint64_t Stack::send_space(ConnId id) const {
    const TcpConn* c = rt_->conn(id);
    if (!c) return 0;
    const std::uint64_t window = rt_->cfg.tcp.send_window;
    if (!window) return UINT64_MAX;
    const std::uint64_t sent = c->snd_nxt > 0 ? c->snd_nxt - 1 : 0;  // data offset of the next new byte
    const std::uint64_t unsent = c->app_len > sent ? c->app_len - sent : 0;
    const std::uint64_t target = 2 * window + rt_->cfg.tcp.mss;
    return unsent >= target ? 0 : target - unsent;
}

void Stack::file_data_from_now(ConnId id) {
    TcpConn* c = rt_->conn(id);
    if (!c) return;
    if (c->record_until == UINT64_MAX) c->record_until = c->app_len;
    rt_->rec.mark_control_text(c->trace_id);
}

void Stack::close(ConnId id) {
    TcpConn* c = rt_->conn(id);
    if (!c || c->state == TcpState::Closed || c->close_requested) return;
    if (c->state != TcpState::Open) {  // not connected yet: forget it, like close() on a connecting socket
        if (!c->unreachable)
            rt_->rec.fact(rt_->now_ns(), trace::EventKind::Socket, node_, c->trace_id,
                          conn_fact(trace::Fact::ClosedBeforeConnected, c->local, c->remote));
        rt_->finish_conn(*c);
        return;
    }
    c->close_requested = true;
    rt_->flush(*c);
}

void Stack::abort(ConnId id) {
    TcpConn* c = rt_->conn(id);
    if (!c || c->state == TcpState::Closed) return;
    if (!c->unreachable)
        rt_->rec.fact(rt_->now_ns(), trace::EventKind::Socket, node_, c->trace_id, conn_fact(trace::Fact::Aborted, c->local, c->remote));
    if (c->state != TcpState::SynSent) rt_->send_segment(*c, kRst | kAck, c->snd_nxt, 0, 0);
    rt_->finish_conn(*c);
}

ConnInfo Stack::info(ConnId id) const {
    const TcpConn* c = rt_->conn(id);
    ConnInfo i;
    if (!c) return i;
    i.local = c->local;
    i.remote = c->remote;
    i.open = c->state == TcpState::Open;
    i.bytes_sent = c->app_len;
    i.bytes_received = c->bytes_received;
    return i;
}

}  // namespace ftpsim::net
