#include "tests/support/demo_backend.hpp"

#include <algorithm>
#include <cstdio>

namespace ftpsim::gui {

using trace::Endpoint;
using trace::Event;
using trace::EventKind;
using trace::TimeNs;
using trace::Verdict;

namespace {

constexpr TimeNs kMs = trace::kNsPerMs;

// Builds hop-by-hop traces along the fixed path client - home-router - server.
class DemoBuilder {
public:
    trace::Trace t;
    TimeNs now = 0;
    std::uint64_t packet_ids = 0;

    static constexpr const char* kClient = "client";
    static constexpr const char* kRouter = "home-router";
    static constexpr const char* kServer = "server";
    const std::string client_ip = "192.168.1.10";
    const std::string router_lan = "192.168.1.1";
    const std::string router_wan = "203.0.113.1";
    const std::string server_ip = "203.0.113.20";
    const TimeNs lan_ns = 1 * kMs;
    const TimeNs wan_ns = 10 * kMs;

    DemoBuilder(std::string scenario, std::string title) {
        t.scenario = std::move(scenario);
        t.title = std::move(title);
        t.seed = 1;
        t.model_notes = {"Demo trace built in code by the GUI (the simulator is not attached)"};
        t.nodes = {{kClient, "host", "client", {client_ip}},
                   {kRouter, "router", "nat", {router_lan, router_wan}},
                   {kServer, "host", "server", {server_ip}}};
        t.links = {{"lan", kClient, kRouter, lan_ns, 100e6, 0}, {"wan", kRouter, kServer, wan_ns, 20e6, 0}};
    }

    int connection(const std::string& purpose, bool from_client, Endpoint ini_local, Endpoint ini_remote,
                   Endpoint resp_local, Endpoint resp_remote, int control) {
        trace::Connection c;
        c.id = static_cast<int>(t.connections.size()) + 1;
        c.purpose = purpose;
        c.initiator = from_client ? kClient : kServer;
        c.responder = from_client ? kServer : kClient;
        c.initiator_local = std::move(ini_local);
        c.initiator_remote = std::move(ini_remote);
        c.responder_local = std::move(resp_local);
        c.responder_remote = std::move(resp_remote);
        c.control_id = control;
        t.connections.push_back(c);
        return c.id;
    }

    Event& push(Event e) {
        e.seq = t.events.size();
        t.events.push_back(std::move(e));
        return t.events.back();
    }

    void note(const std::string& node, const std::string& text) {
        Event e;
        e.time_ns = now;
        e.kind = EventKind::Note;
        e.from = node;
        e.text = text;
        push(e);
    }

    // The typed fact of the event pushed last (what the simulator's routers and stacks record).
    void fact(trace::Fact f, Endpoint src = {}, Endpoint src_after = {}, Endpoint dst = {}, Endpoint dst_after = {}) {
        Event& e = t.events.back();
        e.fact = f;
        e.src = std::move(src);
        e.src_after = std::move(src_after);
        e.dst = std::move(dst);
        e.dst_after = std::move(dst_after);
    }

    void socket(const std::string& node, int conn, const std::string& text) {
        Event e;
        e.time_ns = now;
        e.kind = EventKind::Socket;
        e.from = node;
        e.conn = conn;
        e.text = text;
        push(e);
    }

    void middlebox(int conn, const std::string& text, const std::string& reason = {}) {
        Event e;
        e.time_ns = now;
        e.kind = EventKind::Middlebox;
        e.from = kRouter;
        e.conn = conn;
        e.text = text;
        e.reason = reason;
        push(e);
    }

    struct Hop {
        Hop(Endpoint s, Endpoint d, Endpoint sa, Endpoint da, Verdict v = Verdict::Delivered, std::string r = {})
            : src(std::move(s)), dst(std::move(d)), src_after(std::move(sa)), dst_after(std::move(da)), verdict(v),
              reason(std::move(r)) {}
        Endpoint src, dst, src_after, dst_after;
        Verdict verdict;
        std::string reason;
    };

    // One segment crossing the path. `hops` lists the addresses on each hop (1 or 2 entries);
    // the FTP line, if any, becomes its own event at the sender, as the trace contract says.
    void segment(bool from_client, int conn, const std::string& flags, const std::vector<Hop>& hops,
                 const std::string& payload = {}, std::uint32_t len = 0) {
        const std::uint64_t packet = ++packet_ids;
        const char* path_c2s[] = {kClient, kRouter, kServer};
        const char* path_s2c[] = {kServer, kRouter, kClient};
        const char** path = from_client ? path_c2s : path_s2c;
        const TimeNs lat[] = {from_client ? lan_ns : wan_ns, from_client ? wan_ns : lan_ns};
        TimeNs at = now;
        for (std::size_t i = 0; i < hops.size(); ++i) {
            Event e;
            e.kind = EventKind::Segment;
            e.time_ns = at;
            e.arrive_ns = at + lat[i] + static_cast<TimeNs>(len) * 8 * 1000 / 20;  // ~20 Mb/s
            e.from = path[i];
            e.to = path[i + 1];
            e.conn = conn;
            e.packet = packet;
            e.src = hops[i].src;
            e.dst = hops[i].dst;
            e.src_after = hops[i].src_after;
            e.dst_after = hops[i].dst_after;
            e.flags = flags;
            e.payload = payload;
            e.payload_len = len ? len : static_cast<std::uint32_t>(payload.size());
            e.verdict = hops[i].verdict;
            e.reason = hops[i].reason;
            e.text = payload.empty() ? flags : payload.substr(0, payload.find('\r'));
            push(e);
            at = e.arrive_ns + 50'000;  // forwarding delay
        }
        now = at;
    }
};

Endpoint ep(const std::string& a, std::uint16_t p) { return Endpoint{a, p}; }

// A request/response on an established control connection through the NAT.
struct ControlPath {
    DemoBuilder& b;
    int conn;
    Endpoint cli, nat, srv;

    void c2s(const std::string& flags, const std::string& line = {}) {
        if (!line.empty()) {
            Event e;
            e.time_ns = b.now;
            e.kind = EventKind::FtpCommand;
            e.from = DemoBuilder::kClient;
            e.to = DemoBuilder::kServer;
            e.conn = conn;
            e.src = cli;
            e.dst = srv;
            e.src_after = nat;
            e.dst_after = srv;
            e.text = line;
            b.push(e);
        }
        b.segment(true, conn, flags, {{cli, srv, nat, srv}, {nat, srv, nat, srv}}, line.empty() ? "" : line + "\r\n");
    }
    void s2c(const std::string& flags, const std::string& line = {}) {
        if (!line.empty()) {
            Event e;
            e.time_ns = b.now;
            e.kind = EventKind::FtpReply;
            e.from = DemoBuilder::kServer;
            e.to = DemoBuilder::kClient;
            e.conn = conn;
            e.src = srv;
            e.dst = nat;
            e.src_after = srv;
            e.dst_after = cli;
            e.text = line;
            b.push(e);
        }
        b.segment(false, conn, flags, {{srv, nat, srv, cli}, {srv, cli, srv, cli}}, line.empty() ? "" : line + "\r\n");
    }
};

trace::Trace build_demo(const Knobs& k) {
    const bool active = k.get("clients.client.mode", "port") == "port";
    const bool alg = k.get("nodes.home-router.alg.enabled", "false") == "true";
    DemoBuilder b(k.scenario, active ? "Active FTP from behind a home NAT" : "Passive FTP from behind a home NAT");
    const Endpoint cli = ep(b.client_ip, 50000), nat = ep(b.router_wan, 50000), srv = ep(b.server_ip, 21);

    b.note(DemoBuilder::kClient, "The client opens the control connection to the server's port 21.");
    const int ctl = b.connection("control", true, cli, srv, srv, nat, -1);
    b.socket(DemoBuilder::kClient, ctl, "connect 203.0.113.20:21 from 192.168.1.10:50000");
    b.middlebox(ctl, "NAT mapped 192.168.1.10:50000 -> 203.0.113.1:50000", "new outbound connection");
    b.fact(trace::Fact::NatMappingCreated, cli, nat, srv, srv);
    ControlPath cp{b, ctl, cli, nat, srv};
    cp.c2s("S");
    cp.s2c("SA");
    cp.c2s("A");
    b.socket(DemoBuilder::kServer, ctl, "accept 203.0.113.1:50000 on 203.0.113.20:21");
    cp.s2c("PA", "220 Welcome to the demo FTP server");
    cp.c2s("PA", "USER anonymous");
    cp.s2c("PA", "331 Please specify the password.");
    cp.c2s("PA", "PASS guest@");
    cp.s2c("PA", "230 Login successful.");

    bool ok = false;
    int final_reply = 0;
    if (active) {
        const Endpoint listen = ep(b.client_ip, 50069);
        b.note(DemoBuilder::kClient,
               "Active mode: the client listens on 192.168.1.10:50069 and announces it with PORT.");
        b.socket(DemoBuilder::kClient, -1, "listen 192.168.1.10:50069");
        const std::string port_line = "PORT 192,168,1,10,195,149";
        const std::string seen_line = alg ? "PORT 203,0,113,1,195,149" : port_line;
        if (alg) {
            b.middlebox(ctl, "ALG: rewrote PORT 192,168,1,10,195,149 -> PORT 203,0,113,1,195,149",
                        "FTP ALG on port 21");
            b.fact(trace::Fact::AlgLineRewritten);
            b.middlebox(ctl, "ALG: expect 203.0.113.20 -> 203.0.113.1:50069 (DNAT to 192.168.1.10:50069)",
                        "expectation for the announced data port");
            b.fact(trace::Fact::AlgExpectationCreated, ep(b.server_ip, 0), {}, ep(b.router_wan, 50069), listen);
        } else {
            b.note(DemoBuilder::kRouter, "The router has no FTP ALG: the private address in PORT passes unchanged.");
        }
        cp.c2s("PA", port_line);
        // the last hop carries what reached the server (rewritten by the ALG, or not)
        b.t.events.back().payload = seen_line + "\r\n";
        b.t.events.back().text = seen_line;
        cp.s2c("PA", "200 PORT command successful.");
        cp.c2s("PA", "LIST");
        cp.s2c("PA", "150 Here comes the directory listing.");
        const Endpoint srv20 = ep(b.server_ip, 20);
        if (alg) {
            const Endpoint wan_listen = ep(b.router_wan, 50069);
            const int data = b.connection("data", false, srv20, wan_listen, listen, srv20, ctl);
            b.note(DemoBuilder::kServer, "The server connects from port 20 to the announced 203.0.113.1:50069.");
            b.middlebox(data, "NAT: expectation matched, DNAT 203.0.113.1:50069 -> 192.168.1.10:50069",
                        "related to control connection 1");
            b.fact(trace::Fact::AlgExpectationUsed, srv20, srv20, wan_listen, listen);
            auto s2c = [&](const std::string& flags, const std::string& payload = {}, std::uint32_t len = 0) {
                b.segment(false, data, flags, {{srv20, wan_listen, srv20, listen}, {srv20, listen, srv20, listen}},
                          payload, len);
            };
            auto c2s = [&](const std::string& flags) {
                b.segment(true, data, flags, {{listen, srv20, wan_listen, srv20}, {wan_listen, srv20, wan_listen, srv20}});
            };
            s2c("S");
            c2s("SA");
            s2c("A");
            b.socket(DemoBuilder::kClient, data, "accept 203.0.113.20:20 on 192.168.1.10:50069");
            s2c("PA", "-rw-r--r-- 1 ftp ftp 1024 readme.txt\r\n");
            Event d;
            d.time_ns = b.now;
            d.kind = EventKind::DataBytes;
            d.from = DemoBuilder::kServer;
            d.to = DemoBuilder::kClient;
            d.conn = data;
            d.payload_len = 41;
            d.text = "41 bytes of listing";
            b.push(d);
            s2c("FA");
            c2s("FA");
            s2c("A");
            cp.s2c("PA", "226 Directory send OK.");
            ok = true;
            final_reply = 226;
        } else {
            const int data = b.connection("data", false, srv20, listen, listen, srv20, ctl);
            b.note(DemoBuilder::kServer,
                   "The server connects from port 20 to 192.168.1.10:50069, a private address it cannot reach.");
            for (int attempt = 0; attempt < 3; ++attempt) {
                b.segment(false, data, "S",
                          {{srv20, listen, srv20, listen, trace::Verdict::Dropped,
                            "no route to 192.168.1.10 (private address on the internet)"}});
                Event tm;
                tm.time_ns = b.now + (1000 << attempt) * kMs;
                tm.kind = EventKind::Timer;
                tm.from = DemoBuilder::kServer;
                tm.conn = data;
                tm.text = attempt < 2 ? "SYN retransmission timer" : "connect timeout";
                b.now = tm.time_ns;
                b.push(tm);
            }
            b.socket(DemoBuilder::kServer, data, "connect to 192.168.1.10:50069 timed out");
            b.fact(trace::Fact::ConnectFailed);
            b.t.events.back().error = trace::SocketError::TimedOut;
            cp.s2c("PA", "425 Failed to establish connection.");
            final_reply = 425;
        }
    } else {
        b.note(DemoBuilder::kClient, "Passive mode: the client asks the server to listen with PASV.");
        cp.c2s("PA", "PASV");
        const Endpoint pasv = ep(b.server_ip, 30000);
        b.socket(DemoBuilder::kServer, -1, "listen 203.0.113.20:30000");
        cp.s2c("PA", "227 Entering Passive Mode (203,0,113,20,117,48).");
        cp.c2s("PA", "LIST");
        const Endpoint dcli = ep(b.client_ip, 50001), dnat = ep(b.router_wan, 50001);
        const int data = b.connection("data", true, dcli, pasv, pasv, dnat, ctl);
        b.middlebox(data, "NAT mapped 192.168.1.10:50001 -> 203.0.113.1:50001", "new outbound connection");
        b.fact(trace::Fact::NatMappingCreated, dcli, dnat, pasv, pasv);
        auto c2s = [&](const std::string& flags) {
            b.segment(true, data, flags, {{dcli, pasv, dnat, pasv}, {dnat, pasv, dnat, pasv}});
        };
        auto s2c = [&](const std::string& flags, const std::string& payload = {}) {
            b.segment(false, data, flags, {{pasv, dnat, pasv, dcli}, {pasv, dcli, pasv, dcli}}, payload);
        };
        c2s("S");
        s2c("SA");
        c2s("A");
        cp.s2c("PA", "150 Here comes the directory listing.");
        s2c("PA", "-rw-r--r-- 1 ftp ftp 1024 readme.txt\r\n");
        s2c("FA");
        c2s("FA");
        s2c("A");
        cp.s2c("PA", "226 Directory send OK.");
        ok = true;
        final_reply = 226;
    }
    cp.c2s("PA", "QUIT");
    cp.s2c("PA", "221 Goodbye.");

    b.t.outcome.ok = ok;
    b.t.outcome.transfers.push_back({DemoBuilder::kClient, "LIST", "/", ok, final_reply, ok ? 41u : 0u});
    if (!ok) {
        trace::Diagnosis d;
        d.what = "The directory listing failed: the server could not open the data connection (425).";
        d.cause = "In active mode the server connects back to the address in PORT, 192.168.1.10, "
                  "a private address behind the home router. Without an FTP ALG nothing rewrites it, "
                  "so the server's SYN has nowhere to go.";
        d.fixes = {{"Turn on the home router's FTP ALG", "nodes.home-router.alg.enabled=true", true,
                    {"nodes.home-router.alg.enabled=true"}},
                   {"Use passive mode (the client connects out, which the NAT allows)", "clients.client.mode=pasv", true,
                    {"clients.client.mode=pasv"}}};
        d.kind = "port-private-address";
        b.t.outcome.diagnosis.push_back(d);
    }
    // events sorted by (time, seq), as the contract says
    std::stable_sort(b.t.events.begin(), b.t.events.end(),
                     [](const Event& x, const Event& y) { return x.time_ns < y.time_ns; });
    for (std::size_t i = 0; i < b.t.events.size(); ++i) b.t.events[i].seq = i;
    return b.t;
}

class DemoBackend : public GuiBackend {
public:
    std::vector<ScenarioInfo> library() override {
        return {{"demo-active-nat", "Active FTP behind a home NAT", "NAT",
                 "The client sends PORT with its private address; the server cannot connect back "
                 "unless the router's ALG rewrites it."},
                {"demo-passive-nat", "Passive FTP behind a home NAT", "NAT",
                 "The client connects out to the port the server announces in 227; the NAT maps it like any "
                 "outgoing connection."}};
    }
    Knobs knobs(const std::string& scenario) override {
        Knobs k;
        k.scenario = scenario;
        k.knobs = {{"clients.client.mode", "Client mode", {"port", "pasv"},
                    scenario == "demo-passive-nat" ? "pasv" : "port",
                    "port (active): the server connects to the client. pasv (passive): the client connects to "
                    "the server."},
                   {"nodes.home-router.alg.enabled", "Home router FTP ALG", {"true", "false"}, "false",
                    "The ALG rewrites the address in PORT and admits the server's data connection."}};
        return k;
    }
    trace::Trace simulate(const Knobs& k) override { return build_demo(k); }
};

}  // namespace

std::unique_ptr<GuiBackend> make_demo_backend() { return std::make_unique<DemoBackend>(); }

}  // namespace ftpsim::gui
