// The packet-level network: exact timings, TCP behaviour, loss, determinism, scale.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sim/net/network.hpp"

using namespace ftpsim;
using namespace ftpsim::net;
using trace::kNsPerMs;
using trace::kNsPerSec;

namespace {

IpAddress ip(const char* s) { return *proto::parse_ip(s); }

// client 10.0.1.2 --l1-- router --l2-- server 10.0.2.2
Topology two_hop(TimeNs lat1, double bw1, TimeNs lat2, double bw2, double loss2 = 0) {
    Topology t;
    t.add_host("client", "client");
    t.add_router("router");
    t.add_host("server", "server");
    t.add_interface("client", "eth0", "10.0.1.2/24");
    t.add_interface("router", "eth0", "10.0.1.1/24");
    t.add_interface("router", "eth1", "10.0.2.1/24");
    t.add_interface("server", "eth0", "10.0.2.2/24");
    t.add_link("l1", "client", "eth0", "router", "eth0", lat1, bw1);
    t.add_link("l2", "router", "eth1", "server", "eth0", lat2, bw2, loss2);
    t.add_route("client", "0.0.0.0/0", "10.0.1.1");
    t.add_route("server", "0.0.0.0/0", "10.0.2.1");
    return t;
}

// Serialisation of a segment with `payload` bytes, in ns, when it is a whole number.
TimeNs ser(std::uint64_t payload, double bw) { return static_cast<TimeNs>((40 + payload) * 8 * 1e9 / bw); }

// Records every callback with its time.
struct Recorder : SocketHandler {
    struct Ev {
        std::string what;
        TimeNs t;
        ConnId c;
    };
    std::vector<Ev> evs;
    std::string data;
    std::string reply_on_connect;       // written as soon as connected
    std::string reply_on_accept;        // written by the acceptor
    std::uint64_t bytes = 0;
    TimeNs last_data = -1;
    bool close_on_peer_close = false;
    bool close_after_accept_write = false;

    TimeNs at(const std::string& w) const {
        for (const auto& e : evs)
            if (e.what == w) return e.t;
        return -1;
    }
    int count(const std::string& w) const {
        return static_cast<int>(std::count_if(evs.begin(), evs.end(), [&](const Ev& e) { return e.what == w; }));
    }
    void on_accept(Stack& s, ListenerId, ConnId c, const HostPort&, const HostPort&) override {
        evs.push_back({"accept", s.now(), c});
        if (!reply_on_accept.empty()) s.send(c, reply_on_accept);
        if (close_after_accept_write) s.close(c);
    }
    void on_connected(Stack& s, ConnId c) override {
        evs.push_back({"connected", s.now(), c});
        if (!reply_on_connect.empty()) s.send(c, reply_on_connect);
    }
    void on_refused(Stack& s, ConnId c) override { evs.push_back({"refused", s.now(), c}); }
    void on_timeout(Stack& s, ConnId c) override { evs.push_back({"timeout", s.now(), c}); }
    void on_data(Stack& s, ConnId c, std::string_view b) override {
        if (bytes == 0) evs.push_back({"data", s.now(), c});
        data.append(b);
        bytes += b.size();
        last_data = s.now();
    }
    void on_peer_closed(Stack& s, ConnId c) override {
        evs.push_back({"peer_closed", s.now(), c});
        if (close_on_peer_close) s.close(c);
    }
    void on_reset(Stack& s, ConnId c) override { evs.push_back({"reset", s.now(), c}); }
    void on_closed(Stack& s, ConnId c) override { evs.push_back({"closed", s.now(), c}); }
};

const trace::Event* find_segment(const trace::Trace& t, const std::string& from, const std::string& to,
                                 const std::string& flags) {
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.from == from && e.to == to && e.flags == flags) return &e;
    return nullptr;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
    return s;
}

}  // namespace

TEST_CASE("topology: validation names the problem") {
    SUBCASE("an address outside its link's network") {
        Topology t = two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9);
        Topology bad;
        bad.add_host("a");
        bad.add_host("b");
        bad.add_interface("a", "eth0", "10.0.0.1/24");
        bad.add_interface("b", "eth0", "10.0.1.2/24");
        bad.add_link("ab", "a", "eth0", "b", "eth0", kNsPerMs, 1e9);
        CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("outside the network"), TopologyError);
        CHECK_NOTHROW(t.validate());
    }
    SUBCASE("a route to a non-adjacent next hop") {
        Topology t = two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9);
        t.add_route("client", "10.9.0.0/16", "10.0.2.1");
        CHECK_THROWS_WITH_AS(t.validate(), doctest::Contains("not the address of a directly linked neighbour"),
                             TopologyError);
    }
    SUBCASE("duplicate addresses") {
        Topology t = two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9);
        t.add_host("twin");
        t.add_interface("twin", "eth0", "10.0.2.2/24");
        CHECK_THROWS_WITH_AS(t.validate(), doctest::Contains("duplicate address 10.0.2.2"), TopologyError);
        CHECK_THROWS_AS(Network{t}, TopologyError);
    }
    SUBCASE("bad names and values") {
        Topology t;
        t.add_host("a");
        CHECK_THROWS_AS(t.add_host("a"), TopologyError);
        CHECK_THROWS_AS(t.add_interface("a", "eth0", "10.0.0.1"), TopologyError);
        CHECK_THROWS_AS(t.add_interface("nope", "eth0", "10.0.0.1/24"), TopologyError);
        t.add_interface("a", "eth0", "10.0.0.1/24");
        CHECK_THROWS_AS(t.add_link("x", "a", "eth0", "a", "eth1", 0, 1e9), TopologyError);
    }
}

TEST_CASE("tcp: handshake and first data are exact to the nanosecond on a 2-hop path") {
    const double bw = 1e9;          // 40 B = 320 ns
    const TimeNs lat = 5 * kNsPerMs;
    NetConfig cfg;
    SUBCASE("scheduled links") { cfg.link_model = LinkModel::Scheduled; }
    SUBCASE("SimGrid communications") { cfg.link_model = LinkModel::SimGridComm; }
    Network net(two_hop(lat, bw, lat, bw), cfg);
    Recorder client, server;
    client.reply_on_connect = std::string(100, 'x');
    ConnId cid = -1;
    net.on_start("server", [&](Stack& s) { REQUIRE(s.listen(ip("10.0.2.2"), 21, 21, &server)); });
    net.on_start("client", [&](Stack& s) { cid = s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 21}, &client); });
    trace::Trace t = net.run(10 * kNsPerSec, 100000);

    const TimeNs hop40 = lat + ser(0, bw);
    const TimeNs r = 4 * hop40;  // SYN out and SYN-ACK back, two hops each
    CHECK(r == 20 * kNsPerMs + 1280);
    CHECK(client.at("connected") == r);                    // SYN-ACK back at t0 + r
    CHECK(server.at("accept") == r + 2 * hop40);           // the final ACK: t0 + 1.5r
    CHECK(server.at("accept") == r + r / 2);
    // The data segment leaves right behind the ACK: it waits for the ACK's serialisation on the
    // first link, then each hop costs its own serialisation plus the latency.
    CHECK(server.at("data") == r + ser(0, bw) + 2 * (ser(100, bw) + lat));
    CHECK(server.data == client.reply_on_connect);
    CHECK(t.outcome.limit_reached.empty());

    // The trace: the SYN's first hop, times relative to the run's start, packet ids shared.
    const trace::Event* syn1 = find_segment(t, "client", "router", "S");
    const trace::Event* syn2 = find_segment(t, "router", "server", "S");
    REQUIRE(syn1);
    REQUIRE(syn2);
    CHECK(syn1->time_ns == 0);
    CHECK(syn1->arrive_ns == hop40);
    CHECK(syn2->time_ns == hop40);
    CHECK(syn2->arrive_ns == 2 * hop40);
    CHECK(syn1->packet == syn2->packet);
    CHECK(syn1->verdict == trace::Verdict::Delivered);
    CHECK(syn1->src.addr == "10.0.1.2");
    // A connect()'s ephemeral port: in ip_local_port_range, of the range's (even) parity.
    CHECK(syn1->src.port >= 32768);
    CHECK(syn1->src.port <= 60999);
    CHECK(syn1->src.port % 2 == 0);
    CHECK(syn1->dst == trace::Endpoint{"10.0.2.2", 21});
    CHECK(syn1->conn == cid);
    REQUIRE(t.connections.size() == 1);
    CHECK(t.connections[0].initiator == "client");
    CHECK(t.connections[0].responder == "server");
    CHECK(t.connections[0].responder_local == trace::Endpoint{"10.0.2.2", 21});
    CHECK(t.nodes.size() == 3);
    CHECK(t.links.size() == 2);
    CHECK(t.links[0].latency_ns == lat);
    for (std::size_t i = 1; i < t.events.size(); ++i) CHECK(t.events[i - 1].time_ns <= t.events[i].time_ns);
}

TEST_CASE("tcp: a SYN to a closed port is answered by a RST (connection refused)") {
    const TimeNs lat = 3 * kNsPerMs;
    Network net(two_hop(lat, 1e9, lat, 1e9));
    Recorder client;
    net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 2121}, &client); });
    trace::Trace t = net.run(10 * kNsPerSec, 100000);
    CHECK(client.at("refused") == 4 * (lat + ser(0, 1e9)));
    CHECK(client.count("connected") == 0);
    const trace::Event* syn = find_segment(t, "router", "server", "S");
    REQUIRE(syn);
    CHECK(syn->verdict == trace::Verdict::Rejected);
    CHECK(syn->reason.find("RST: port closed") != std::string::npos);
    const trace::Event* rst = find_segment(t, "server", "router", "RA");
    REQUIRE(rst);
    CHECK(rst->verdict == trace::Verdict::Delivered);
}

namespace {
// A firewall that silently drops everything to one port: SYNs go unanswered.
struct DropPort : PacketProcessor {
    std::uint16_t port;
    explicit DropPort(std::uint16_t p) : port(p) {}
    Decision prerouting(Packet& p, const HookContext&, std::vector<mbox::MiddleboxNote>& notes) override {
        if (p.dst.port != port) return {};
        notes.push_back({mbox::NoteKind::Firewall, "router: dropped SYN", trace::Verdict::Dropped, "test rule", {}});
        return {Fate::Drop, "router: test rule (drop)"};
    }
};
}  // namespace

TEST_CASE("tcp: SYN retransmission backs off 1, 2, 4... s and the connect times out") {
    SUBCASE("Linux defaults: 6 retries, 127 s") {
        Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
        DropPort fw(21);
        net.set_processor("router", &fw);
        Recorder client;
        net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 21}, &client); });
        trace::Trace t = net.run(300 * kNsPerSec, 100000);
        std::vector<TimeNs> syns;
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.from == "client" && e.flags == "S") syns.push_back(e.time_ns);
        CHECK(syns == std::vector<TimeNs>{0, 1 * kNsPerSec, 3 * kNsPerSec, 7 * kNsPerSec, 15 * kNsPerSec,
                                          31 * kNsPerSec, 63 * kNsPerSec});
        CHECK(client.at("timeout") == 127 * kNsPerSec);
        int timers = 0, drops = 0;
        for (const auto& e : t.events) {
            if (e.kind == trace::EventKind::Timer && trace::text(e).find("SYN retransmission") != std::string::npos) ++timers;
            if (e.kind == trace::EventKind::Segment && e.verdict == trace::Verdict::Dropped &&
                e.reason == "router: test rule (drop)")
                ++drops;
        }
        CHECK(timers == 6);
        CHECK(drops == 7);
        CHECK(t.outcome.limit_reached.empty());
    }
    SUBCASE("a scenario's shorter connect timeout") {
        NetConfig cfg;
        cfg.tcp.connect_timeout_ns = 10 * kNsPerSec;
        Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9), cfg);
        DropPort fw(21);
        net.set_processor("router", &fw);
        Recorder client;
        net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 21}, &client); });
        trace::Trace t = net.run(300 * kNsPerSec, 100000);
        CHECK(client.at("timeout") == 10 * kNsPerSec);
        int syns = 0;
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.from == "client" && e.flags == "S") ++syns;
        CHECK(syns == 4);  // 0, 1, 3, 7 s
    }
}

TEST_CASE("link: a 10 MiB transfer over a 10 Mbit/s bottleneck takes size*8/bw plus headers") {
    const double fast = 1e9, slow = 10e6;
    const TimeNs lat1 = 1 * kNsPerMs, lat2 = 10 * kNsPerMs;
    const std::size_t size = 10 * 1024 * 1024;
    NetConfig cfg;
    SUBCASE("scheduled links") { cfg.link_model = LinkModel::Scheduled; }
    SUBCASE("SimGrid communications") { cfg.link_model = LinkModel::SimGridComm; }
    Network net(two_hop(lat1, fast, lat2, slow), cfg);
    Recorder client, server;
    std::string file(size, 'F');
    server.reply_on_accept = file;
    server.close_after_accept_write = true;
    client.close_on_peer_close = true;
    net.on_start("server", [&](Stack& s) { s.listen(ip("10.0.2.2"), 20, 20, &server, {"data", -1, false}); });
    net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 20}, &client); });
    trace::Trace t = net.run(100 * kNsPerSec, 10'000'000);
    REQUIRE(client.bytes == size);
    CHECK(client.data == file);

    // The server writes everything at accept: its 10 Mbit/s link is busy for the sum of the
    // segments' wire sizes, then the last segment crosses both latencies and the fast link.
    const std::uint64_t segments = (size + 1459) / 1460;
    const std::uint64_t last = size - (segments - 1) * 1460;
    const double wire_bits = 8.0 * static_cast<double>(size + 40 * segments);
    const TimeNs expected = server.at("accept") + static_cast<TimeNs>(wire_bits / slow * 1e9 + 0.5) + lat2 +
                            ser(last, fast) + lat1;
    MESSAGE("10 MiB: " << segments << " segments, last byte at " << client.last_data << " ns (expected " << expected
                       << "), " << net.stats().hops << " hops in " << net.stats().cpu_seconds << " s CPU ("
                       << static_cast<double>(net.stats().hops) / net.stats().cpu_seconds << " hops per CPU second)");
    CHECK(client.last_data == expected);
    const double pure = static_cast<double>(size) * 8 / slow * 1e9;
    CHECK(static_cast<double>(client.last_data - server.at("accept")) == doctest::Approx(pure).epsilon(0.01 + 40.0 / 1460));
    CHECK(client.count("closed") == 1);
    CHECK(server.count("closed") == 1);
    // File data is not copied into the trace, but its length is.
    const trace::Event* data = find_segment(t, "server", "router", "A");
    REQUIRE(data);
    CHECK(data->payload_len == 1460);
    CHECK(data->payload.empty());
}

namespace {
// client --(fast)-- r1 --(slow)-- r2 --(fast)-- s1, s2
Topology shared_bottleneck(double slow) {
    Topology t;
    t.add_host("client");
    t.add_router("r1");
    t.add_router("r2");
    t.add_host("s1");
    t.add_host("s2");
    t.add_interface("client", "eth0", "10.0.1.2/24");
    t.add_interface("r1", "eth0", "10.0.1.1/24");
    t.add_interface("r1", "eth1", "10.0.9.1/30");
    t.add_interface("r2", "eth0", "10.0.9.2/30");
    t.add_interface("r2", "eth1", "10.0.2.1/24");
    t.add_interface("r2", "eth2", "10.0.3.1/24");
    t.add_interface("s1", "eth0", "10.0.2.2/24");
    t.add_interface("s2", "eth0", "10.0.3.2/24");
    t.add_link("c-r1", "client", "eth0", "r1", "eth0", kNsPerMs, 1e9);
    t.add_link("r1-r2", "r1", "eth1", "r2", "eth0", 10 * kNsPerMs, slow);
    t.add_link("r2-s1", "r2", "eth1", "s1", "eth0", kNsPerMs, 1e9);
    t.add_link("r2-s2", "r2", "eth2", "s2", "eth0", kNsPerMs, 1e9);
    t.add_route("client", "0.0.0.0/0", "10.0.1.1");
    t.add_route("r1", "0.0.0.0/0", "10.0.9.2");
    t.add_route("r2", "10.0.1.0/24", "10.0.9.1");
    t.add_route("s1", "0.0.0.0/0", "10.0.2.1");
    t.add_route("s2", "0.0.0.0/0", "10.0.3.1");
    return t;
}
}  // namespace

TEST_CASE("link: two concurrent transfers share the bottleneck (each takes about twice as long)") {
    const double slow = 10e6;
    const std::size_t size = 2 * 1024 * 1024;
    Network net(shared_bottleneck(slow));
    Recorder client1, client2, s1, s2;
    s1.reply_on_accept = std::string(size, '1');
    s2.reply_on_accept = std::string(size, '2');
    net.on_start("s1", [&](Stack& s) { s.listen(IpAddress{}, 20, 20, &s1, {"data", -1, false}); });
    net.on_start("s2", [&](Stack& s) { s.listen(IpAddress{}, 20, 20, &s2, {"data", -1, false}); });
    net.on_start("client", [&](Stack& s) {
        s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 20}, &client1);
        s.connect(IpAddress{}, 0, {ip("10.0.3.2"), 20}, &client2);
    });
    net.run(100 * kNsPerSec, 10'000'000);
    REQUIRE(client1.bytes == size);
    REQUIRE(client2.bytes == size);
    const double alone = static_cast<double>(size) * 8 / slow * 1e9 * 1500 / 1460;
    const double d1 = static_cast<double>(client1.last_data - s1.at("accept"));
    const double d2 = static_cast<double>(client2.last_data - s2.at("accept"));
    MESSAGE("alone " << alone / 1e9 << " s, shared " << d1 / 1e9 << " s and " << d2 / 1e9 << " s");
    CHECK(d1 / alone == doctest::Approx(2.0).epsilon(0.03));
    CHECK(d2 / alone == doctest::Approx(2.0).epsilon(0.03));
}

TEST_CASE("tcp: a send window makes two transfers from one host interleave") {
    NetConfig cfg;
    cfg.tcp.send_window = 64 * 1024;
    const std::size_t size = 1024 * 1024;
    Network net(shared_bottleneck(10e6), cfg);
    Recorder c1, c2, server;
    net.on_start("s1", [&](Stack& s) {
        s.connect(IpAddress{}, 0, {ip("10.0.1.2"), 20}, &c1);
        s.connect(IpAddress{}, 0, {ip("10.0.1.2"), 21}, &c2);
    });
    c1.reply_on_connect = std::string(size, 'a');
    c2.reply_on_connect = std::string(size, 'b');
    Recorder r1, r2;
    net.on_start("client", [&](Stack& s) {
        s.listen(IpAddress{}, 20, 20, &r1);
        s.listen(IpAddress{}, 21, 21, &r2);
    });
    net.run(100 * kNsPerSec, 10'000'000);
    REQUIRE(r1.bytes == size);
    REQUIRE(r2.bytes == size);
    CHECK(r1.data == c1.reply_on_connect);
    const double ratio = static_cast<double>(r1.last_data) / static_cast<double>(r2.last_data);
    CHECK(ratio == doctest::Approx(1.0).epsilon(0.05));
}

namespace {
trace::Trace lossy_run(std::uint64_t seed, Recorder& client, Recorder& server, const std::string& file,
                       LinkModel model = LinkModel::Scheduled) {
    NetConfig cfg;
    cfg.seed = seed;
    cfg.link_model = model;
    Network net(two_hop(kNsPerMs, 1e9, 5 * kNsPerMs, 10e6, 0.02), cfg);
    server.reply_on_accept = file;
    server.close_after_accept_write = true;
    client.close_on_peer_close = true;
    net.on_start("server", [&](Stack& s) { s.listen(ip("10.0.2.2"), 21, 21, &server); });
    net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 21}, &client); });
    return net.run(600 * kNsPerSec, 10'000'000);
}
}  // namespace

TEST_CASE("tcp: loss is repaired by retransmission and runs are deterministic") {
    const std::string file = pattern(512 * 1024);
    Recorder c1, s1, c2, s2;
    trace::Trace t1 = lossy_run(42, c1, s1, file);
    trace::Trace t2 = lossy_run(42, c2, s2, file);
    CHECK(c1.data == file);  // every byte, in order, despite the losses
    CHECK(c1.count("closed") == 1);
    CHECK(s1.count("closed") == 1);
    int lost = 0;
    for (const auto& e : t1.events)
        if (e.kind == trace::EventKind::Segment && e.verdict == trace::Verdict::Dropped && e.reason == "loss on link l2")
            ++lost;
    MESSAGE(lost << " segments lost, " << t1.events.size() << " events");
    CHECK(lost > 5);
    CHECK(t1 == t2);  // same scenario and seed: the same trace, event for event

    Recorder c3, s3;
    trace::Trace t3 = lossy_run(43, c3, s3, file);
    CHECK(c3.data == file);
    CHECK_FALSE(t1 == t3);
}

TEST_CASE("link: the SimGrid-communication link model gives the same trace as the scheduled one") {
    const std::string file = pattern(256 * 1024);
    Recorder c1, s1, c2, s2;
    trace::Trace scheduled = lossy_run(7, c1, s1, file, LinkModel::Scheduled);
    trace::Trace comm = lossy_run(7, c2, s2, file, LinkModel::SimGridComm);
    CHECK(c2.data == file);
    REQUIRE(scheduled.events.size() == comm.events.size());
    for (std::size_t i = 0; i < comm.events.size(); ++i) {
        INFO("event " << i);
        CHECK(scheduled.events[i] == comm.events[i]);
        if (!(scheduled.events[i] == comm.events[i])) break;
    }
    CHECK(scheduled == comm);
}

TEST_CASE("tcp: FINs in the order the endpoints close (half-close), then both see closed") {
    const TimeNs lat = 2 * kNsPerMs;
    Network net(two_hop(lat, 1e9, lat, 1e9));
    struct Server : Recorder {
        void on_peer_closed(Stack& s, ConnId c) override {
            Recorder::on_peer_closed(s, c);
            s.send(c, "after your FIN: " + data);  // still allowed: only the client's half is closed
            s.close(c);
        }
    } server;
    struct Client : Recorder {
        void on_connected(Stack& s, ConnId c) override {
            Recorder::on_connected(s, c);
            s.send(c, "hello");
            s.close(c);
        }
    } client;
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
    trace::Trace t = net.run(10 * kNsPerSec, 100000);
    CHECK(server.data == "hello");
    CHECK(client.data == "after your FIN: hello");
    CHECK(client.count("closed") == 1);
    CHECK(server.count("closed") == 1);
    const trace::Event* fin1 = find_segment(t, "client", "router", "FA");
    const trace::Event* fin2 = find_segment(t, "server", "router", "FA");
    REQUIRE(fin1);
    REQUIRE(fin2);
    CHECK(fin1->time_ns < fin2->time_ns);
}

TEST_CASE("tcp: abort sends a RST and the peer sees a reset") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    struct Client : Recorder {
        void on_connected(Stack& s, ConnId c) override {
            Recorder::on_connected(s, c);
            s.abort(c);
        }
    } client;
    Recorder server;
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
    trace::Trace t = net.run(10 * kNsPerSec, 100000);
    CHECK(server.count("accept") == 1);
    CHECK(server.count("reset") == 1);
    CHECK(client.count("reset") == 0);
}

TEST_CASE("socket: listen reports a port in use and picks the first free port of a range") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    Recorder h;
    ListenResult a, b, c, d;
    net.on_start("server", [&](Stack& s) {
        a = s.listen(IpAddress{}, 21, 21, &h);
        b = s.listen(ip("10.0.2.2"), 21, 21, &h);
        c = s.listen(IpAddress{}, 30000, 30009, &h);
        d = s.listen(IpAddress{}, 30000, 30009, &h);
    });
    net.run(kNsPerSec, 1000);
    CHECK(a);
    CHECK_FALSE(b);
    CHECK(b.error.find("in use") != std::string::npos);
    CHECK(c.port == 30000);
    CHECK(d.port == 30001);
}

TEST_CASE("socket: a port whose listener stopped can be listened on again while its connection lives") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    struct Server : Recorder {
        ListenerId first = -1;
        ListenResult again;
        void on_accept(Stack& s, ListenerId l, ConnId c, const HostPort& lo, const HostPort& re) override {
            Recorder::on_accept(s, l, c, lo, re);
            s.stop_listening(first);
            again = s.listen(IpAddress{}, 30000, 30000, this);  // SO_REUSEADDR, as FTP servers set it
        }
    } server;
    Recorder client;
    net.on_start("server", [&](Stack& s) { server.first = s.listen(IpAddress{}, 30000, 30000, &server).id; });
    net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 30000}, &client); });
    net.run(kNsPerSec, 1000);
    CHECK(server.count("accept") == 1);
    CHECK(server.again);
    CHECK(server.again.port == 30000);
}

TEST_CASE("network: no route, timers and the limits") {
    SUBCASE("no route is a dropped segment with its reason") {
        Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
        Recorder client;
        net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("192.0.2.1"), 21}, &client); });
        trace::Trace t = net.run(2 * kNsPerSec, 100000);
        const trace::Event* syn = find_segment(t, "client", "router", "S");  // reached the router, died there
        REQUIRE(syn);
        CHECK(syn->verdict == trace::Verdict::Dropped);
        CHECK(syn->reason.find("no route to 192.0.2.1") == 0);
        CHECK(t.outcome.limit_reached.find("time limit") == 0);
    }
    SUBCASE("application timers fire at their time") {
        Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
        std::vector<TimeNs> fired;
        net.on_start("client", [&](Stack& s) {
            s.schedule(5 * kNsPerMs, [&] { fired.push_back(s.now()); });
            TimerId x = s.schedule(6 * kNsPerMs, [&] { fired.push_back(-1); });
            s.schedule(3 * kNsPerMs, [&, x] {
                fired.push_back(s.now());
                s.cancel(x);
            });
        });
        trace::Trace t = net.run(kNsPerSec, 1000);
        CHECK(fired == std::vector<TimeNs>{3 * kNsPerMs, 5 * kNsPerMs});
        CHECK(t.outcome.limit_reached.empty());
    }
    SUBCASE("an event limit stops a run that would go on") {
        Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
        Recorder client, server;
        server.reply_on_accept = std::string(1000000, 'x');
        net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
        net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
        trace::Trace t = net.run(100 * kNsPerSec, 500);
        CHECK(t.outcome.limit_reached == "event limit 500");
        CHECK(client.bytes < 1000000);
    }
}

TEST_CASE("network: 1000 concurrent connections through one router complete") {
    Network net(two_hop(2 * kNsPerMs, 1e9, 2 * kNsPerMs, 100e6));
    struct Server : SocketHandler {
        int accepted = 0, closed = 0;
        std::uint64_t bytes = 0;
        void on_accept(Stack&, ListenerId, ConnId, const HostPort&, const HostPort&) override { ++accepted; }
        void on_data(Stack&, ConnId, std::string_view b) override { bytes += b.size(); }
        void on_peer_closed(Stack& s, ConnId c) override { s.close(c); }
        void on_closed(Stack&, ConnId) override { ++closed; }
    } server;
    struct Client : SocketHandler {
        int connected = 0, closed = 0;
        void on_connected(Stack& s, ConnId c) override {
            ++connected;
            s.send(c, std::string(4000, 'q'));
            s.close(c);
        }
        void on_closed(Stack&, ConnId) override { ++closed; }
    } client;
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) {
        for (int i = 0; i < 1000; ++i) s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client);
    });
    trace::Trace t = net.run(100 * kNsPerSec, 10'000'000);
    MESSAGE("1000 connections: " << net.stats().hops << " hops in " << net.stats().cpu_seconds << " s CPU ("
                                 << static_cast<double>(net.stats().hops) / net.stats().cpu_seconds
                                 << " hops/s), " << net.stats().receiver_actors << " receiver actors, "
                                 << t.events.size() << " events, end " << net.stats().end_ns << " ns");
    CHECK(client.connected == 1000);
    CHECK(server.accepted == 1000);
    CHECK(server.bytes == 4000u * 1000u);
    CHECK(client.closed == 1000);
    CHECK(server.closed == 1000);
    CHECK(t.outcome.limit_reached.empty());
    // Every finished socket was freed: 1000 connected and 1000 accepted, none held at the end.
    CHECK(net.stats().sockets == 2000);
    CHECK(net.stats().sockets_live == 0);
}

TEST_CASE("network: a finished socket is freed; an open one is held, and ids are not reused") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    struct Server : Recorder {
        void on_peer_closed(Stack& s, ConnId c) override {
            Recorder::on_peer_closed(s, c);
            s.close(c);
        }
    } server;
    struct Client : Recorder {
        int n = 0;
        std::vector<ConnId> ids;
        ConnId kept = -1;
        Stack* stack = nullptr;
        void on_connected(Stack& s, ConnId c) override {
            Recorder::on_connected(s, c);
            if (c == kept) return;  // stays open to the end of the run
            if (c % 3 == 0) s.abort(c);  // a reset
            else s.close(c);            // FINs both ways
        }
    } client;
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) {
        client.stack = &s;
        for (int i = 0; i < 30; ++i) client.ids.push_back(s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client));
        client.kept = client.ids.back();
        client.ids.push_back(s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 2121}, &client));  // refused
    });
    net.run(60 * kNsPerSec, 1'000'000);
    CHECK(client.count("connected") == 30);
    CHECK(client.count("refused") == 1);
    CHECK(server.count("accept") == 30);
    // 31 connects and 30 accepts made 61 sockets with ids 0..60 (the first 31 are the client's).
    CHECK(net.stats().sockets == 61);
    for (std::size_t i = 0; i < client.ids.size(); ++i) CHECK(client.ids[i] == static_cast<ConnId>(i));
    // Held at the end: the open connection's two ends only.
    CHECK(net.stats().sockets_live == 2);
    // A freed socket reads as closed: the kept one is open, the others are not.
    CHECK(client.stack->info(client.kept).open);
    CHECK(client.stack->info(client.kept).local.port != 0);
    CHECK_FALSE(client.stack->info(client.ids[1]).open);
    CHECK(client.stack->send(client.ids[1], "late") == 0);
}

namespace {
// A firewall rule with REJECT: the router answers the SYN with a RST in the server's name.
struct RejectPort : PacketProcessor {
    Decision prerouting(Packet& p, const HookContext&, std::vector<mbox::MiddleboxNote>&) override {
        if (p.dst.port == 21) return {Fate::Reject, "router: rule 1 (reject)"};
        return {};
    }
};
}  // namespace

TEST_CASE("network: a processor's REJECT answers with a RST from the router") {
    const TimeNs lat = 4 * kNsPerMs;
    Network net(two_hop(lat, 1e9, lat, 1e9));
    RejectPort fw;
    net.set_processor("router", &fw);
    Recorder client, server;
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
    trace::Trace t = net.run(10 * kNsPerSec, 1000);
    CHECK(client.at("refused") == 2 * (lat + ser(0, 1e9)));  // one hop there, one back
    CHECK(server.count("accept") == 0);
    const trace::Event* syn = find_segment(t, "client", "router", "S");
    REQUIRE(syn);
    CHECK(syn->verdict == trace::Verdict::Rejected);
    CHECK(syn->reason == "router: rule 1 (reject)");
    const trace::Event* rst = find_segment(t, "router", "client", "RA");
    REQUIRE(rst);
    CHECK(rst->src.addr == "10.0.2.2");  // in the name of the original destination
}

namespace {
// A tiny FTP ALG: rewrites the client's "PORT 1" line to a longer one and, like seqadj, shifts
// the client's later sequence numbers and the server's acknowledgements by the difference.
struct RewritePort : PacketProcessor {
    IpAddress client;
    std::int32_t delta = 0;
    std::uint64_t rewritten_packet = 0;
    Decision prerouting(Packet& p, const HookContext&, std::vector<mbox::MiddleboxNote>& notes) override {
        if (p.src.addr == client) {
            if (p.payload == "PORT 1\r\n") {
                p.payload = "PORT 1,2,3\r\n";
                delta = 4;
                rewritten_packet = p.id;
                notes.push_back({mbox::NoteKind::Alg, "ALG: rewrote PORT 1 -> PORT 1,2,3", {}, {}, {}});
            } else {
                p.seq += static_cast<std::uint32_t>(delta);
            }
        } else if (p.has(mbox::kAck)) {
            p.ack -= static_cast<std::uint32_t>(delta);
        }
        return {};
    }
};

const trace::Event* find_hop(const trace::Trace& t, std::uint64_t packet, const std::string& from) {
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.packet == packet && e.from == from) return &e;
    return nullptr;
}
}  // namespace

TEST_CASE("network: a hop's event holds the packet as it left, a router's rewrite shows on the next hop") {
    for (LinkModel model : {LinkModel::Scheduled, LinkModel::SimGridComm}) {
        CAPTURE(static_cast<int>(model));
        NetConfig cfg;
        cfg.link_model = model;
        Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9), cfg);
        RewritePort alg;
        alg.client = ip("10.0.1.2");
        net.set_processor("router", &alg);
        Recorder client, server;
        client.reply_on_connect = "PORT 1\r\n";
        client.close_on_peer_close = true;
        server.reply_on_accept = "200 ok\r\n";
        server.close_after_accept_write = true;
        net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
        net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
        trace::Trace t = net.run(10 * kNsPerSec, 10000);
        CHECK(server.data == "PORT 1,2,3\r\n");
        CHECK(client.data == "200 ok\r\n");
        CHECK(client.count("closed") == 1);
        CHECK(server.count("closed") == 1);
        CHECK(t.events.size() > 0);

        // The PORT line: as the client sent it on client->router, rewritten on router->server.
        REQUIRE(alg.rewritten_packet != 0);
        const trace::Event* in = find_hop(t, alg.rewritten_packet, "client");
        const trace::Event* out = find_hop(t, alg.rewritten_packet, "router");
        REQUIRE(in);
        REQUIRE(out);
        CHECK(in->to == "router");
        CHECK(in->src.addr == "10.0.1.2");
        CHECK(in->payload == "PORT 1\r\n");
        CHECK(in->payload_len == 8);
        CHECK(in->verdict == trace::Verdict::Delivered);
        CHECK(out->to == "server");
        CHECK(out->payload == "PORT 1,2,3\r\n");
        CHECK(out->payload_len == 12);
        CHECK(out->tcp_seq == in->tcp_seq);
        const std::uint32_t line_seq = in->tcp_seq;

        // The server acknowledges the 12 bytes it got; the router shifts that back to the 8 the
        // client sent: each hop shows the ack as it left its sender.
        const trace::Event* ack_in = nullptr;  // server -> router
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.from == "server" && e.to == "router" && e.tcp_ack == line_seq + 12) {
                ack_in = &e;
                break;
            }
        REQUIRE(ack_in);
        const trace::Event* ack_out = find_hop(t, ack_in->packet, "router");
        REQUIRE(ack_out);
        CHECK(ack_out->tcp_ack == line_seq + 8);

        // The client's FIN comes after the line: seq line+8 as it left, line+12 after the router.
        const trace::Event* fin_in = find_segment(t, "client", "router", "FA");
        REQUIRE(fin_in);
        const trace::Event* fin_out = find_hop(t, fin_in->packet, "router");
        REQUIRE(fin_out);
        CHECK(fin_in->tcp_seq == line_seq + 8);
        CHECK(fin_out->tcp_seq == line_seq + 12);

    }
}

TEST_CASE("network: a connect with no route on the sending host fails at once (ENETUNREACH)") {
    // The server has no default route: it cannot reach the client's network.
    Topology topo = two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9);
    Topology t2;
    t2.add_host("client", "client");
    t2.add_router("router");
    t2.add_host("server", "server");
    t2.add_interface("client", "eth0", "10.0.1.2/24");
    t2.add_interface("router", "eth0", "10.0.1.1/24");
    t2.add_interface("router", "eth1", "10.0.2.1/24");
    t2.add_interface("server", "eth0", "10.0.2.2/24");
    t2.add_link("l1", "client", "eth0", "router", "eth0", kNsPerMs, 1e9);
    t2.add_link("l2", "router", "eth1", "server", "eth0", kNsPerMs, 1e9);
    t2.add_route("client", "0.0.0.0/0", "10.0.1.1");

    SUBCASE("on_refused by default, at the time of the connect, no SYN") {
        Network net(t2);
        Recorder server_app;
        ConnId id = -1;
        ConnInfo right_after;
        bool callback_before_return = false;
        net.on_start("server", [&](Stack& s) {
            s.schedule(5 * kNsPerMs, [&] {
                id = s.connect(IpAddress{}, 20, {ip("10.0.1.2"), 50000}, &server_app);
                right_after = s.info(id);
                callback_before_return = !server_app.evs.empty();
            });
        });
        trace::Trace t = net.run(200 * kNsPerSec, 100000);
        CHECK_FALSE(callback_before_return);  // the handler runs after connect() returned the id
        REQUIRE(server_app.evs.size() == 1);
        CHECK(server_app.evs[0].what == "refused");
        CHECK(server_app.evs[0].t == 5 * kNsPerMs + 1);  // delivered 1 ns later, after connect() returned
        CHECK(server_app.evs[0].c == id);
        CHECK_FALSE(right_after.open);
        CHECK(right_after.remote.to_string() == "10.0.1.2:50000");
        int segments = 0, timers = 0;
        bool failed = false;
        for (const auto& e : t.events) {
            if (e.kind == trace::EventKind::Segment) ++segments;
            if (e.kind == trace::EventKind::Timer) ++timers;
            if (e.kind == trace::EventKind::Socket && e.from == "server" && e.conn == id) {
                CHECK(trace::text(e) == "connect to 10.0.1.2:50000 failed: network unreachable (no route)");
                CHECK(e.time_ns == 5 * kNsPerMs);
                failed = true;
            }
        }
        CHECK(failed);
        CHECK(segments == 0);
        CHECK(timers == 0);
        CHECK(t.outcome.limit_reached.empty());
        CHECK(net.stats().end_ns == 5 * kNsPerMs + 1);
    }
    SUBCASE("a handler may tell it apart with on_unreachable; closing first cancels it") {
        struct Unreach : Recorder {
            void on_unreachable(Stack& s, ConnId c) override { evs.push_back({"unreachable", s.now(), c}); }
        } a, b;
        Network net(t2);
        net.on_start("server", [&](Stack& s) {
            s.connect(IpAddress{}, 0, {ip("10.0.1.2"), 50000}, &a);
            ConnId c = s.connect(IpAddress{}, 0, {ip("10.0.1.2"), 50001}, &b);
            s.close(c);
        });
        net.run(200 * kNsPerSec, 100000);
        REQUIRE(a.evs.size() == 1);
        CHECK(a.evs[0].what == "unreachable");
        CHECK(a.evs[0].t == 1);  // 1 ns after connect(), so the id is known
        CHECK(b.evs.empty());
    }
    SUBCASE("with a route on the host, a router without one still drops the SYN and the host retries") {
        NetConfig cfg;
        cfg.tcp.connect_timeout_ns = 10 * kNsPerSec;
        Network net(topo, cfg);
        Recorder client;
        net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("192.0.2.1"), 21}, &client); });
        trace::Trace t = net.run(200 * kNsPerSec, 100000);
        CHECK(client.at("timeout") == 10 * kNsPerSec);
        CHECK(client.count("refused") == 0);
        int syns = 0;
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.flags == "S") {
                ++syns;
                CHECK(e.to == "router");
                CHECK(e.reason == "no route to 192.0.2.1 on router");
            }
        CHECK(syns == 4);  // 0, 1, 3, 7 s
    }
}

TEST_CASE("network: a host can connect to itself without a link") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    Recorder client, server;
    client.reply_on_connect = "ping";
    net.on_start("server", [&](Stack& s) {
        s.listen(IpAddress{}, 21, 21, &server);
        s.connect(ip("10.0.2.2"), 0, {ip("10.0.2.2"), 21}, &client);
    });
    net.run(kNsPerSec, 1000);
    CHECK(client.at("connected") == 0);
    CHECK(server.at("accept") == 0);
    CHECK(server.data == "ping");
}

// tests/rig textbook-vsftpd-v6fws-*-pasv: vsftpd's 227 on IPv6 says 0,0,0,0; Linux connects to
// the unspecified address as to the host itself (the loopback), where nothing listens: refused at
// once, no SYN on any link.
TEST_CASE("network: a connect to 0.0.0.0 or :: is one to this host: refused at once, no SYN") {
    struct Unreach : Recorder {
        void on_unreachable(Stack& s, ConnId c) override { evs.push_back({"unreachable", s.now(), c}); }
    } v4, v6, shadowed;
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    ConnId id4 = -1;
    net.on_start("client", [&](Stack& s) {
        s.schedule(5 * kNsPerMs, [&] {
            id4 = s.connect(IpAddress{}, 0, {ip("0.0.0.0"), 30006}, &v4);
            s.connect(IpAddress{}, 0, {*proto::parse_ip("::"), 30006}, &v6);
        });
    });
    net.on_start("server", [&](Stack& s) {
        s.listen(IpAddress{}, 21, 21, &shadowed);
        s.connect(IpAddress{}, 0, {ip("0.0.0.0"), 21}, &shadowed);
    });
    trace::Trace t = net.run(kNsPerSec, 1000);
    REQUIRE(v4.evs.size() == 1);
    CHECK(v4.evs[0].what == "refused");  // ECONNREFUSED, not the no-route callback
    CHECK(v4.evs[0].t == 5 * kNsPerMs + 1);
    CHECK(v4.evs[0].c == id4);
    REQUIRE(v6.evs.size() == 1);
    CHECK(v6.evs[0].what == "refused");
    int segments = 0, refused = 0;
    for (const auto& e : t.events) {
        if (e.kind == trace::EventKind::Segment) ++segments;
        if (e.fact == trace::Fact::ConnectFailed) {
            CHECK(e.error == trace::SocketError::Refused);
            ++refused;
        }
    }
    CHECK(segments == 0);
    CHECK(refused == 3);
    // Linux would reach the server's own listener on 21 over lo; the model says it does not.
    REQUIRE(shadowed.count("refused") == 1);
    CHECK(shadowed.count("accept") == 0);
    const std::string note = "server connects to 0.0.0.0:21: Linux would reach its own listener on that port over "
                             "the loopback interface; the model has none and refuses the connect";
    CHECK(std::count(t.model_notes.begin(), t.model_notes.end(), note) == 1);
}

TEST_CASE("network: cost per hop without trace recording (informative)") {
    for (LinkModel model : {LinkModel::Scheduled, LinkModel::SimGridComm}) {
        NetConfig cfg;
        cfg.record_segments = false;
        cfg.link_model = model;
        Network net(two_hop(kNsPerMs, 1e9, 5 * kNsPerMs, 100e6), cfg);
        Recorder client, server;
        server.reply_on_accept = std::string(20 * 1024 * 1024, 'z');
        net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 20, 20, &server, {"data", -1, false}); });
        net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 20}, &client); });
        net.run(100 * kNsPerSec, 100'000'000);
        CHECK(client.bytes == 20u * 1024 * 1024);
        MESSAGE(std::string(model == LinkModel::Scheduled ? "scheduled" : "simgrid-comm")
                << ": " << net.stats().hops << " hops in " << net.stats().cpu_seconds << " s CPU = "
                << static_cast<double>(net.stats().hops) / net.stats().cpu_seconds << " hops per CPU second");
    }
}

namespace {
// A scripted FTP-like exchange, to check the timing contract the FTP layer relies on: a passive
// RETR's first data byte arrives 7 r after the control connect starts (8 r with TYPE).
struct MiniFtp : SocketHandler {
    Stack* server = nullptr;
    std::vector<std::string> commands;  // what the client sends, one per reply
    std::size_t next = 0;
    ConnId control = -1, data_conn = -1, server_control = -1;
    bool retr_seen = false, data_accepted = false;
    TimeNs first_data = -1;
    ListenerId data_listener = -1;

    void maybe_send_file(Stack& s) {
        if (retr_seen && data_accepted) s.send(data_conn, "file contents");
    }
    void on_accept(Stack& s, ListenerId l, ConnId c, const HostPort&, const HostPort&) override {
        if (l == data_listener) {
            data_conn = c;
            data_accepted = true;
            maybe_send_file(s);
        } else {
            server_control = c;
            s.send(c, "220 hello\r\n");
        }
    }
    void on_connected(Stack& s, ConnId c) override {
        if (c == data_conn) s.send(control, "RETR f\r\n");
    }
    void on_data(Stack& s, ConnId c, std::string_view bytes) override {
        if (c == control) {  // a reply: send the next command
            if (next < commands.size()) {
                s.send(control, commands[next++]);
            } else if (data_conn < 0 && bytes.substr(0, 3) == "227") {
                data_conn = s.connect(IpAddress{}, 0, {*proto::parse_ip("10.0.2.2"), 2000}, this);
            }
        } else if (c == server_control) {  // a command
            if (bytes.substr(0, 4) == "RETR") {
                retr_seen = true;
                maybe_send_file(s);
            } else if (bytes.substr(0, 4) == "PASV") {
                s.send(c, "227 Entering Passive Mode (10,0,2,2,7,208)\r\n");
            } else {
                s.send(c, "200 ok\r\n");
            }
        } else if (first_data < 0) {
            first_data = s.now();
        }
    }
};

TimeNs passive_retr_first_byte(bool with_type, TimeNs& r) {
    const TimeNs lat = 7 * kNsPerMs;
    const double ideal = 1e13;  // 40-140 B in < 0.5 ns: serialisation rounds to 0
    Network net(two_hop(lat, ideal, lat, ideal));
    r = 4 * lat;
    MiniFtp ftp;
    ftp.commands = {"USER a\r\n", "PASS b\r\n"};
    if (with_type) ftp.commands.push_back("TYPE I\r\n");
    ftp.commands.push_back("PASV\r\n");
    net.on_start("server", [&](Stack& s) {
        s.listen(IpAddress{}, 21, 21, &ftp);
        ftp.data_listener = s.listen(IpAddress{}, 2000, 2000, &ftp).id;
    });
    net.on_start("client", [&](Stack& s) { ftp.control = s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &ftp); });
    net.run(10 * kNsPerSec, 100000);
    return ftp.first_data;
}
}  // namespace

TEST_CASE("tcp: the FTP timing contract: first byte of a passive RETR at 7 r, 8 r with TYPE") {
    TimeNs r = 0;
    const TimeNs plain = passive_retr_first_byte(false, r);
    CHECK(plain == 7 * r);
    const TimeNs with_type = passive_retr_first_byte(true, r);
    CHECK(with_type == 8 * r);
}

TEST_CASE("network: an application's exception ends the run and is rethrown by run()") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    struct Throwing : Recorder {
        void on_accept(Stack&, ListenerId, ConnId, const HostPort&, const HostPort&) override {
            throw std::runtime_error("session bug");
        }
    } server;
    Recorder client;
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
    CHECK_THROWS_WITH_AS(net.run(10 * kNsPerSec, 1000), doctest::Contains("session bug"), std::runtime_error);
}

TEST_CASE("tcp: on_drained fires when everything written, and the FIN, is acknowledged") {
    const double bw = 10e6;  // a 1500-byte segment takes 1.2 ms: the data needs a while
    const TimeNs lat = 5 * kNsPerMs;
    Network net(two_hop(lat, bw, lat, bw));
    // Writes 1000 bytes at accept; once they are acknowledged, 100 KiB more and the FIN (a
    // writer that waits for its send buffer, then closes).
    struct Server : Recorder {
        std::vector<std::uint64_t> acked;  // bytes written when on_drained fired
        void on_drained(Stack& s, ConnId c) override {
            evs.push_back({"drained", s.now(), c});
            acked.push_back(s.info(c).bytes_sent);
            if (acked.size() == 1) {
                s.send(c, pattern(100 * 1024));
                s.close(c);
            }
        }
    } server;
    server.reply_on_accept = std::string(1000, 'x');
    struct Client : Recorder {
        void on_drained(Stack& s, ConnId c) override { evs.push_back({"drained", s.now(), c}); }
    } client;  // writes nothing and does not close: it never drains
    net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
    net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
    net.run(60 * kNsPerSec, 1'000'000);
    CHECK(client.bytes == 1000 + 100 * 1024);
    REQUIRE(server.count("drained") == 2);
    CHECK(server.acked == std::vector<std::uint64_t>{1000, 1000 + 100 * 1024});
    CHECK(client.count("drained") == 0);
    // The last drain is the ACK of our FIN: it leaves the client when the FIN arrives and comes
    // back over both hops (40 bytes each).
    const TimeNs fin_at_client = client.at("peer_closed");
    REQUIRE(fin_at_client > 0);
    CHECK(server.evs.back().what == "drained");
    CHECK(server.evs.back().t == fin_at_client + 2 * (lat + ser(0, bw)));
    CHECK(fin_at_client >= client.last_data);
    CHECK(server.at("drained") > server.at("accept"));
}

TEST_CASE("tcp: a file fed in chunks within send_space gives the trace of one big write") {
    // A server writes a 300 KiB file either at once or in chunks of at most 16 KiB as
    // send_space() allows, refilling in on_writable (as the session host's data path does), over
    // a send window.
    struct Server : SocketHandler {
        std::string file;
        bool chunked = false;
        std::size_t off = 0;
        int writable = 0;
        std::uint64_t max_unsent_room = 0;  // the largest send_space() seen
        void feed(Stack& s, ConnId c) {
            while (off < file.size()) {
                const std::uint64_t space = s.send_space(c);
                max_unsent_room = std::max(max_unsent_room, space);
                if (space == 0) return;
                const std::size_t n = std::min<std::size_t>({16384, file.size() - off, static_cast<std::size_t>(space)});
                off += s.send(c, std::string_view(file).substr(off, n));
            }
            s.close(c);
        }
        void on_accept(Stack& s, ListenerId, ConnId c, const HostPort&, const HostPort&) override {
            if (chunked) return feed(s, c);
            off = s.send(c, file);
            s.close(c);
        }
        void on_writable(Stack& s, ConnId c) override {
            ++writable;
            if (chunked) feed(s, c);
        }
    };
    auto run = [](bool chunked, Server& server, Recorder& client) {
        NetConfig cfg;
        cfg.tcp.send_window = 8 * 1460;
        Network net(two_hop(kNsPerMs, 10e6, 2 * kNsPerMs, 5e6), cfg);
        server.file = pattern(300 * 1024);
        server.chunked = chunked;
        client.close_on_peer_close = true;
        net.on_start("server", [&](Stack& s) { s.listen(IpAddress{}, 21, 21, &server); });
        net.on_start("client", [&](Stack& s) { s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client); });
        return net.run(60 * kNsPerSec, 10'000'000);
    };
    Server whole, chunks;
    Recorder c1, c2;
    trace::Trace a = run(false, whole, c1);
    trace::Trace b = run(true, chunks, c2);
    CHECK(c2.data == chunks.file);
    CHECK(chunks.writable > 20);
    CHECK(chunks.max_unsent_room == 2 * 8 * 1460 + 1460);
    CHECK(a == b);  // the same segments at the same times: chunking does not show on the wire
}

TEST_CASE("network: handler_refs counts what can still call a handler; after_event runs once the event is over") {
    Network net(two_hop(kNsPerMs, 1e9, kNsPerMs, 1e9));
    struct Server : Recorder {
        void on_peer_closed(Stack& s, ConnId c) override {
            Recorder::on_peer_closed(s, c);
            s.close(c);
        }
    } server;
    struct Client : Recorder {
        Stack* stack = nullptr;
        bool in_callback = false;
        std::vector<std::size_t> refs_after_close;  // handler_refs seen by after_event
        std::vector<bool> ran_inside;               // after_event ran inside a callback?
        void on_connected(Stack& s, ConnId c) override {
            Recorder::on_connected(s, c);
            s.close(c);
        }
        void on_closed(Stack& s, ConnId c) override {
            in_callback = true;
            Recorder::on_closed(s, c);
            s.after_event([this, &s] {
                ran_inside.push_back(in_callback);
                refs_after_close.push_back(s.handler_refs(this));
            });
            in_callback = false;
        }
    } client;
    std::size_t client_refs_at_start = 0, server_refs_at_start = 0;
    Stack* server_stack = nullptr;
    net.on_start("server", [&](Stack& s) {
        server_stack = &s;
        s.listen(IpAddress{}, 21, 21, &server);
        server_refs_at_start = s.handler_refs(&server);
    });
    net.on_start("client", [&](Stack& s) {
        client.stack = &s;
        for (int i = 0; i < 3; ++i) s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 21}, &client);
        s.connect(IpAddress{}, 0, {ip("10.0.2.2"), 2121}, &client);  // refused: finished by the RST
        client_refs_at_start = s.handler_refs(&client);
    });
    net.run(60 * kNsPerSec, 1'000'000);
    CHECK(server_refs_at_start == 1);  // the listener
    CHECK(client_refs_at_start == 4);  // four sockets connecting
    CHECK(client.count("closed") == 3);
    CHECK(client.count("refused") == 1);
    // Each close's deferred call ran after its callback had returned, with the closed socket no
    // longer counted; after the last one nothing can call the client.
    REQUIRE(client.ran_inside.size() == 3);
    for (bool inside : client.ran_inside) CHECK_FALSE(inside);
    REQUIRE(client.refs_after_close.size() == 3);
    CHECK(client.refs_after_close.back() == 0);
    CHECK(client.stack->handler_refs(&client) == 0);
    CHECK(server_stack->handler_refs(&server) == 1);  // still listening; its accepted sockets are done
    CHECK(client.stack->handler_refs(nullptr) == 0);
}
