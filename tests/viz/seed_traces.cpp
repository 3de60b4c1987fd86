#include "seed_traces.hpp"

#include <algorithm>

namespace ftpsim::testing {

using trace::Endpoint;
using trace::Event;
using trace::EventKind;
using trace::Verdict;

namespace {
constexpr TimeNs us(double v) { return static_cast<TimeNs>(v * 1000); }
constexpr TimeNs ms(double v) { return static_cast<TimeNs>(v * 1'000'000); }
constexpr TimeNs kForward = us(20);   // a router's forwarding delay
constexpr TimeNs kThink = us(150);    // a host's time to answer
}  // namespace

TraceBuilder::TraceBuilder(std::string scenario, std::string title) {
    t.scenario = std::move(scenario);
    t.title = std::move(title);
    t.seed = 1;
    t.model_notes = {"hand-built test trace"};
}

void TraceBuilder::node(std::string name, std::string kind, std::string role, std::vector<std::string> addresses) {
    t.nodes.push_back({std::move(name), std::move(kind), std::move(role), std::move(addresses)});
}

void TraceBuilder::link(std::string a, std::string b, double latency_ms) {
    t.links.push_back({a + "--" + b, a, b, ms(latency_ms), 100e6, 0});
}

TimeNs TraceBuilder::latency(const std::string& a, const std::string& b) const {
    for (const auto& l : t.links)
        if ((l.a == a && l.b == b) || (l.a == b && l.b == a)) return l.latency_ns;
    return ms(1);
}

int TraceBuilder::connection(std::string purpose, std::vector<std::string> path,
                             std::vector<std::pair<Endpoint, Endpoint>> wire, int control_id) {
    const int id = static_cast<int>(conns_.size());
    trace::Connection c;
    c.id = id;
    c.purpose = std::move(purpose);
    c.initiator = path.front();
    c.responder = path.back();
    c.initiator_local = wire.front().first;
    c.initiator_remote = wire.front().second;
    c.responder_local = wire.back().second;
    c.responder_remote = wire.back().first;
    c.control_id = control_id;
    t.connections.push_back(c);
    Conn st;
    st.path = std::move(path);
    st.wire = std::move(wire);
    // Deterministic initial sequence numbers, different per connection and direction.
    st.next[0] = 1000u + 7919u * static_cast<std::uint32_t>(id);
    st.next[1] = 50000u + 104729u * static_cast<std::uint32_t>(id);
    st.delta_hop = static_cast<int>(st.wire.size());
    conns_.push_back(std::move(st));
    return id;
}

TimeNs TraceBuilder::send(int conn, bool forward, const Seg& s, TimeNs at) {
    Conn& c = conns_[conn];
    const int hops = static_cast<int>(c.wire.size());
    const int d = forward ? 0 : 1;
    const bool has_ack = s.flags.find('A') != std::string::npos;
    const std::uint32_t seq = c.next[d];
    const std::uint32_t ack = has_ack ? c.next[1 - d] : 0;
    const std::uint64_t packet = next_packet_++;
    std::string payload = s.payload;
    const std::uint32_t len = s.payload.empty() ? s.file_len : static_cast<std::uint32_t>(s.payload.size());
    int rewrite_hop = -1;
    std::int64_t rewrite_delta = 0;
    TimeNs tt = at;
    for (int i = 0; i < hops; ++i) {
        const int k = forward ? i : hops - 1 - i;  // forward hop index
        Event e;
        e.kind = EventKind::Segment;
        e.from = forward ? c.path[k] : c.path[k + 1];
        e.to = forward ? c.path[k + 1] : c.path[k];
        e.conn = conn;
        e.packet = packet;
        e.time_ns = tt;
        e.arrive_ns = tt + latency(e.from, e.to);
        if (forward) {
            e.src = c.wire[k].first;
            e.dst = c.wire[k].second;
            const auto& next = k + 1 < hops ? c.wire[k + 1] : c.wire[k];
            e.src_after = next.first;
            e.dst_after = next.second;
        } else {
            e.src = c.wire[k].second;
            e.dst = c.wire[k].first;
            const auto& next = k > 0 ? c.wire[k - 1] : c.wire[k];
            e.src_after = next.second;
            e.dst_after = next.first;
        }
        if (forward) {
            if (auto r = s.rewrite.find(k); r != s.rewrite.end()) {
                rewrite_hop = k;
                rewrite_delta = static_cast<std::int64_t>(r->second.size()) - static_cast<std::int64_t>(payload.size());
                payload = r->second;
            }
        }
        const std::int64_t shift = k >= c.delta_hop ? c.delta : 0;
        e.flags = s.flags;
        e.tcp_seq = static_cast<std::uint32_t>(seq + (forward ? shift : 0));
        e.tcp_ack = has_ack ? static_cast<std::uint32_t>(ack + (forward ? 0 : shift)) : 0;
        e.payload = payload;
        e.payload_len = payload.empty() ? len : static_cast<std::uint32_t>(payload.size());
        if (!payload.empty()) e.text = payload.substr(0, payload.find("\r\n"));
        const bool stop = k == s.stop_hop;
        e.verdict = stop ? s.verdict : Verdict::Delivered;
        if (stop) e.reason = s.reason;
        t.events.push_back(e);
        tt = e.arrive_ns;
        if (stop) return tt;
        if (i + 1 < hops) tt += kForward;
    }
    std::uint32_t used = len;
    if (s.flags.find('S') != std::string::npos) ++used;
    if (s.flags.find('F') != std::string::npos) ++used;
    c.next[d] += used;
    if (rewrite_hop >= 0) {
        c.delta += rewrite_delta;
        c.delta_hop = rewrite_hop;
    }
    return tt;
}

TimeNs TraceBuilder::handshake(int conn, TimeNs at) {
    TimeNs t1 = send(conn, true, {"S"}, at);
    TimeNs t2 = send(conn, false, {"SA"}, t1 + us(50));
    return send(conn, true, {"A"}, t2 + us(50));
}

TimeNs TraceBuilder::line(int conn, bool forward, const std::string& text, TimeNs at,
                          std::map<int, std::string> rewrite) {
    Seg s{"PA", text + "\r\n"};
    for (auto& [k, v] : rewrite) s.rewrite[k] = v + "\r\n";
    const std::size_t first = t.events.size();
    const TimeNs arrive = send(conn, forward, s, at);
    Event e;
    e.kind = forward ? EventKind::FtpCommand : EventKind::FtpReply;
    e.from = t.events[first].from;
    e.to = t.events.back().to;
    e.conn = conn;
    e.time_ns = at;
    e.arrive_ns = arrive;
    e.src = t.events[first].src;
    e.dst = t.events.back().dst;
    e.text = text;
    e.verdict = Verdict::Delivered;
    t.events.push_back(e);
    return arrive;
}

void TraceBuilder::event(EventKind kind, std::string node, std::string text, TimeNs at, int conn) {
    Event e;
    e.kind = kind;
    e.from = std::move(node);
    e.text = std::move(text);
    e.time_ns = e.arrive_ns = at;
    e.conn = conn;
    t.events.push_back(std::move(e));
}

trace::Trace TraceBuilder::finish() {
    std::stable_sort(t.events.begin(), t.events.end(),
                     [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
    for (std::size_t i = 0; i < t.events.size(); ++i) t.events[i].seq = i;
    return t;
}

// ---------------------------------------------------------------------------------------------

namespace {

// Closes a connection: `first` (forward or not) sends FIN, the peer answers FIN, the first ACKs.
TimeNs close(TraceBuilder& b, int conn, bool first, TimeNs at) {
    TimeNs t1 = b.send(conn, first, {"FA"}, at);
    TimeNs t2 = b.send(conn, !first, {"FA"}, t1 + us(50));
    return b.send(conn, first, {"A"}, t2 + us(50));
}

}  // namespace

trace::Trace lecture_passive_list() {
    TraceBuilder b("lecture-passive-list", "Passive FTP: PASV and LIST (lecture deck)");
    b.node("client", "host", "client", {"192.168.1.10"});
    b.node("server", "host", "server", {"192.168.150.90"});
    b.link("client", "server", 10);
    const int ctl = b.connection("control", {"client", "server"},
                                 {{{"192.168.1.10", 1120}, {"192.168.150.90", 21}}});
    TimeNs t = 0;
    b.event(EventKind::Socket, "server", "listen 192.168.150.90:21 (passive open)", t);
    b.event(EventKind::Socket, "client", "connect 192.168.1.10:1120 -> 192.168.150.90:21 (active open)", t, ctl);
    t = b.handshake(ctl, t);
    t = b.line(ctl, false, "220 FTP server ready", t + kThink);
    t = b.line(ctl, true, "USER student", t + kThink);
    t = b.line(ctl, false, "331 password required", t + kThink);
    t = b.line(ctl, true, "PASS secret", t + kThink);
    t = b.line(ctl, false, "230 user student logged in", t + kThink);
    b.event(EventKind::Note, "client", "User is prompted for a command", t + us(10));
    t = b.line(ctl, true, "PASV", t + ms(2));
    b.event(EventKind::Socket, "server", "listen 192.168.150.90:50069 (passive open)", t + us(50));
    t = b.line(ctl, false, "227 Entering PASV mode (192,168,150,90,195,149)", t + kThink);
    const int data = b.connection("data", {"client", "server"},
                                  {{{"192.168.1.10", 1121}, {"192.168.150.90", 50069}}}, ctl);
    b.event(EventKind::Note, "client", "Client does an active open to port n5,n6 = 195*256+149 = 50069", t + us(10));
    b.event(EventKind::Socket, "client", "connect 192.168.1.10:1121 -> 192.168.150.90:50069", t + us(20), data);
    const TimeNs established = b.handshake(data, t + us(30));
    const TimeNs list_at = b.line(ctl, true, "LIST", t + us(60));
    TimeNs s = std::max(established, list_at) + kThink;
    s = b.line(ctl, false, "150 Opening ASCII mode data connection for file list", s);
    const std::string listing =
        "-rw-r--r--   1 ftp  ftp      1024 Mar 01 12:00 notes.txt\r\n"
        "-rw-r--r--   1 ftp  ftp    524288 Mar 01 12:00 slides.pdf\r\n";
    TraceBuilder::Seg dir{"PA", listing};
    const TimeNs got = b.send(data, false, dir, s + us(10));
    b.send(data, true, {"A"}, got + us(50));
    b.event(EventKind::Note, "server", "Server closes data connection first, then control connection", s + us(20));
    close(b, data, false, s + us(30));
    t = b.line(ctl, false, "226 File transfer complete", s + us(40));
    t = b.line(ctl, true, "QUIT", t + ms(2));
    t = b.line(ctl, false, "221 Goodbye", t + kThink);
    close(b, ctl, false, t - ms(10) + us(200));
    trace::Trace tr = b.finish();
    tr.outcome.ok = true;
    tr.outcome.transfers.push_back({"client", "LIST", "", true, 226, listing.size()});
    return tr;
}

namespace {

trace::Trace active_nat(bool client_firewall) {
    TraceBuilder b(client_firewall ? "active-nat-fail" : "active-nat-alg-ok",
                   client_firewall ? "Active FTP behind a NAT router: the data SYN is dropped"
                                   : "Active FTP behind a NAT router with its FTP ALG");
    b.node("client", "host", "client", {"192.168.1.10"});
    b.node("home-router", "router", "nat", {"192.168.1.1", "203.0.113.1"});
    b.node("server", "host", "server", {"198.51.100.21"});
    b.link("client", "home-router", 1);
    b.link("home-router", "server", 20);
    const int ctl = b.connection("control", {"client", "home-router", "server"},
                                 {{{"192.168.1.10", 1120}, {"198.51.100.21", 21}},
                                  {{"203.0.113.1", 1120}, {"198.51.100.21", 21}}});
    TimeNs t = 0;
    b.event(EventKind::Socket, "client", "connect 192.168.1.10:1120 -> 198.51.100.21:21", t, ctl);
    b.event(EventKind::Middlebox, "home-router", "NAT mapped 192.168.1.10:1120 -> 203.0.113.1:1120", ms(1), ctl);
    t = b.handshake(ctl, t);
    t = b.line(ctl, false, "220 FTP server ready", t + kThink);
    t = b.line(ctl, true, "USER anonymous", t + kThink);
    t = b.line(ctl, false, "331 Please specify the password.", t + kThink);
    t = b.line(ctl, true, "PASS guest", t + kThink);
    t = b.line(ctl, false, "230 Login successful.", t + kThink);
    b.event(EventKind::Socket, "client", "listen 192.168.1.10:50069", t + us(50));
    const TimeNs port_at = t + us(100);
    t = b.line(ctl, true, "PORT 192,168,1,10,195,149", port_at, {{1, "PORT 203,0,113,1,195,149"}});
    b.event(EventKind::Middlebox, "home-router",
            "ALG: rewrote PORT 192,168,1,10,195,149 -> PORT 203,0,113,1,195,149\n"
            "expect 198.51.100.21 -> 203.0.113.1:50069 => 192.168.1.10:50069",
            port_at + ms(1) + us(5), ctl);
    t = b.line(ctl, false, "200 PORT command successful. Consider using PASV.", t + kThink);
    t = b.line(ctl, true, "RETR notes.txt", t + kThink);
    const int data = b.connection("data", {"server", "home-router", "client"},
                                  {{{"198.51.100.21", 20}, {"203.0.113.1", 50069}},
                                   {{"198.51.100.21", 20}, {"192.168.1.10", 50069}}}, ctl);
    t += us(100);
    b.event(EventKind::Socket, "server", "connect 198.51.100.21:20 -> 203.0.113.1:50069 (active open)", t, data);
    b.event(EventKind::Middlebox, "home-router", "expectation matched: DNAT 203.0.113.1:50069 -> 192.168.1.10:50069",
            t + ms(20) + us(5), data);
    if (client_firewall) {
        TraceBuilder::Seg syn{"S"};
        syn.stop_hop = 1;
        syn.verdict = Verdict::Dropped;
        syn.reason = "client firewall: dropped SYN to 192.168.1.10:50069 (no rule allows it, default drop)";
        b.send(data, true, syn, t);
        b.event(EventKind::Timer, "server", "SYN retransmission (1 s)", t + ms(1000), data);
        b.send(data, true, syn, t + ms(1000));
        b.event(EventKind::Timer, "server", "connect timeout (3 s)", t + ms(3000), data);
        t = b.line(ctl, false, "425 Failed to establish connection.", t + ms(3000) + us(10));
        b.event(EventKind::Note, "client",
                "The router forwarded the SYN, but the client's own firewall dropped it", t + us(10));
    } else {
        // handshake() returns when the last ACK reached the client; the server sent it 21 ms before.
        const TimeNs srv = b.handshake(data, t) - ms(21) - us(20);
        t = b.line(ctl, false, "150 Opening BINARY mode data connection for notes.txt (3000 bytes).", srv + us(10));
        // The server sends the file right after the 150, one segment per 120 us (100 Mbit/s).
        TimeNs dep = srv + us(20), last = dep;
        for (std::uint32_t len : {1460u, 1460u, 80u}) {
            TraceBuilder::Seg s{len == 80u ? "PA" : "A"};
            s.file_len = len;
            last = b.send(data, true, s, dep);
            dep += us(120);
        }
        b.send(data, false, {"A"}, last + us(50));
        close(b, data, true, dep);
        t = b.line(ctl, false, "226 Transfer complete.", dep + us(20));
    }
    t = b.line(ctl, true, "QUIT", t + ms(2));
    t = b.line(ctl, false, "221 Goodbye.", t + kThink);
    close(b, ctl, false, t - ms(21) + us(100));
    trace::Trace tr = b.finish();
    tr.outcome.ok = !client_firewall;
    tr.outcome.transfers.push_back({"client", "RETR", "notes.txt", !client_firewall, client_firewall ? 425 : 226,
                                    client_firewall ? 0u : 3000u});
    if (client_firewall)
        tr.outcome.diagnosis.push_back(
            {"The server could not open the data connection (425).",
             "The router's ALG forwarded the server's SYN to 192.168.1.10:50069, but the client's firewall dropped it.",
             {{"Use passive mode", "client.mode=passive", true, {"client.mode=passive"}}},
             "data-connection-firewalled",
             {}});
    return tr;
}

}  // namespace

trace::Trace active_nat_fail() { return active_nat(true); }
trace::Trace active_nat_alg_ok() { return active_nat(false); }

trace::Trace rejected_syn() {
    TraceBuilder b("passive-rejected", "Passive FTP: the server's firewall rejects the data connection");
    b.node("client", "host", "client", {"192.168.1.10"});
    b.node("server-fw", "router", "firewall", {"198.51.100.1", "10.0.0.1"});
    b.node("server", "host", "server", {"10.0.0.5"});
    b.link("client", "server-fw", 15);
    b.link("server-fw", "server", 1);
    const int ctl = b.connection("control", {"client", "server-fw", "server"},
                                 {{{"192.168.1.10", 1120}, {"198.51.100.1", 21}},
                                  {{"192.168.1.10", 1120}, {"10.0.0.5", 21}}});
    TimeNs t = b.handshake(ctl, 0);
    t = b.line(ctl, true, "PASV", t + kThink);
    t = b.line(ctl, false, "227 Entering Passive Mode (198,51,100,1,117,49)", t + kThink);
    const int data = b.connection("data", {"client", "server-fw", "server"},
                                  {{{"192.168.1.10", 1121}, {"198.51.100.1", 30001}},
                                   {{"192.168.1.10", 1121}, {"10.0.0.5", 30001}}}, ctl);
    TraceBuilder::Seg syn{"S"};
    syn.stop_hop = 0;
    syn.verdict = Verdict::Rejected;
    syn.reason = "server-fw: rejected SYN to 198.51.100.1:30001, rule 3 (reject)";
    t = b.send(data, true, syn, t + kThink);
    b.event(EventKind::Middlebox, "server-fw", "rejected SYN to 198.51.100.1:30001 (rule 3): RST sent", t, data);
    b.event(EventKind::Socket, "client", "connect to 198.51.100.1:30001: connection refused", t + ms(15), data);
    trace::Trace tr = b.finish();
    tr.outcome.ok = false;
    return tr;
}

// Server -> client over one 1 ms link, the client ACKing every segment 0.1 ms after it arrived:
// 4 x 1000 B (10..13 ms), a note at 14.5 ms, 3 x 500 B (20..22 ms), 226 at 23.5 ms, 2 x 100 B
// (30, 31 ms), 100 B lost on the link (32 ms), 100 B (33 ms).
trace::Trace split_data_runs() {
    TraceBuilder b("split-data-runs", "Bulk data in runs");
    b.node("client", "host", "client", {"10.0.0.1"});
    b.node("server", "host", "server", {"10.0.0.2"});
    b.link("client", "server", 1);
    const int ctl = b.connection("control", {"client", "server"}, {{{"10.0.0.1", 1024}, {"10.0.0.2", 21}}});
    const int data = b.connection("data", {"client", "server"}, {{{"10.0.0.1", 1025}, {"10.0.0.2", 30000}}}, ctl);
    constexpr trace::TimeNs kMs = 1'000'000;
    auto burst = [&](trace::TimeNs at, int n, std::uint32_t len, bool acks) {
        for (int i = 0; i < n; ++i) {
            TraceBuilder::Seg s{"A"};
            s.file_len = len;
            const trace::TimeNs arrived = b.send(data, false, s, at + i * kMs);
            if (acks) b.send(data, true, {"A"}, arrived + kMs / 10);
        }
    };
    burst(10 * kMs, 4, 1000, true);
    b.event(trace::EventKind::Note, "client", "half-way", 14 * kMs + kMs / 2);
    burst(20 * kMs, 3, 500, true);
    b.line(ctl, false, "226 Transfer complete", 23 * kMs + kMs / 2);
    burst(30 * kMs, 2, 100, false);
    TraceBuilder::Seg lost{"A"};
    lost.file_len = 100;
    lost.stop_hop = 0;
    lost.verdict = trace::Verdict::Dropped;
    lost.reason = "link loss";
    b.send(data, false, lost, 32 * kMs);
    burst(33 * kMs, 1, 100, false);
    return b.finish();
}

}  // namespace ftpsim::testing
