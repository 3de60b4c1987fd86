// The single-threaded engine against SimGrid (sim/net/scheduler.hpp) where their order matters:
// many things at the same nanosecond (segments reaching one router from several links at once,
// an application timer due when a segment arrives, a time limit at an arrival), with and
// without loss. The same run through both engines must give the same trace, event for event,
// and the applications the same callbacks at the same times in the same order.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/net/network.hpp"

using namespace ftpsim;
using namespace ftpsim::net;
using trace::kNsPerMs;
using trace::kNsPerSec;

namespace {

IpAddress ip(const std::string& s) { return *proto::parse_ip(s); }

// A router with `hosts` hosts h0..hN-1 (10.0.i.2/24), every link 5 ms at 10 Mbit/s.
Topology star(int hosts, double loss) {
    Topology t;
    t.add_router("r");
    for (int i = 0; i < hosts; ++i) {
        const std::string h = "h" + std::to_string(i), net = "10.0." + std::to_string(i);
        t.add_host(h, "host");
        t.add_interface(h, "eth0", net + ".2/24");
        t.add_interface("r", "eth" + std::to_string(i), net + ".1/24");
        t.add_link("l" + std::to_string(i), h, "eth0", "r", "eth" + std::to_string(i), 5 * kNsPerMs, 10e6, loss);
        t.add_route(h, "0.0.0.0/0", net + ".1");
    }
    return t;
}

// Every callback, with its node's time, in the order the engine ran them.
struct Log : SocketHandler {
    std::vector<std::string>* out = nullptr;
    std::string name;
    std::string reply;  // written on accept (server) or on connected (client), then closed
    void put(Stack& s, const std::string& what, ConnId c) {
        out->push_back(std::to_string(s.now()) + " " + name + " " + what + " " + std::to_string(c));
    }
    void on_accept(Stack& s, ListenerId, ConnId c, const HostPort&, const HostPort&) override {
        put(s, "accept", c);
        s.send(c, reply);
        s.close(c);
    }
    void on_connected(Stack& s, ConnId c) override {
        put(s, "connected", c);
        s.send(c, reply);
    }
    void on_refused(Stack& s, ConnId c) override { put(s, "refused", c); }
    void on_timeout(Stack& s, ConnId c) override { put(s, "timeout", c); }
    void on_data(Stack& s, ConnId c, std::string_view b) override { put(s, "data " + std::to_string(b.size()), c); }
    void on_peer_closed(Stack& s, ConnId c) override {
        put(s, "peer_closed", c);
        s.close(c);
    }
    void on_reset(Stack& s, ConnId c) override { put(s, "reset", c); }
    void on_closed(Stack& s, ConnId c) override { put(s, "closed", c); }
    void on_drained(Stack& s, ConnId c) override { put(s, "drained", c); }
};

struct Result {
    trace::Trace trace;
    std::vector<std::string> log;
};

// h0 serves port 21; h1.. connect at time 0 (their SYNs reach the router at the same instant),
// and again on a timer due exactly when the first SYN reaches h0 (10.064 ms: 2 x (5 ms + 32 us)),
// when h0 also stops and restarts listening.
Result run_star(EngineKind engine, int hosts, double loss, std::uint64_t seed, TimeNs limit, std::uint64_t events,
                std::uint64_t window = 0) {
    NetConfig cfg;
    cfg.seed = seed;
    cfg.engine = engine;
    cfg.tcp.send_window = window;
    Network net(star(hosts, loss), cfg);
    Result r;
    std::vector<Log> apps(static_cast<std::size_t>(2 * hosts));
    for (std::size_t i = 0; i < apps.size(); ++i) {
        apps[i].out = &r.log;
        apps[i].name = "app" + std::to_string(i);
        apps[i].reply = std::string(3000 + 1000 * i, static_cast<char>('a' + i));
    }
    const TimeNs syn_at_h0 = 2 * (5 * kNsPerMs + 32'000);
    net.on_start("h0", [&](Stack& s) {
        ListenerId l = s.listen(IpAddress{}, 21, 21, &apps[0]).id;
        s.schedule(syn_at_h0, [&s, &apps, l] {
            s.note("timer at the SYN's arrival");
            s.stop_listening(l);
            s.listen(IpAddress{}, 21, 21, &apps[0]);
        });
    });
    for (int i = 1; i < hosts; ++i) {
        net.on_start("h" + std::to_string(i), [&, i](Stack& s) {
            s.connect(IpAddress{}, 0, {ip("10.0.0.2"), 21}, &apps[static_cast<std::size_t>(i)]);
            s.schedule(syn_at_h0, [&, i] {
                s.connect(IpAddress{}, 0, {ip("10.0.0.2"), 21}, &apps[static_cast<std::size_t>(hosts + i)]);
            });
        });
    }
    r.trace = net.run(limit, events);
    return r;
}

void same(const Result& a, const Result& b) {
    CHECK(a.log == b.log);
    REQUIRE(a.trace.events.size() == b.trace.events.size());
    for (std::size_t i = 0; i < a.trace.events.size(); ++i) {
        INFO("event " << i);
        CHECK(a.trace.events[i] == b.trace.events[i]);
        if (!(a.trace.events[i] == b.trace.events[i])) break;
    }
    CHECK(a.trace == b.trace);
}

}  // namespace

TEST_CASE("engines: simultaneous segments and a timer due at an arrival, same trace through both") {
    Result sg = run_star(EngineKind::SimGrid, 4, 0, 1, 60 * kNsPerSec, 1'000'000);
    Result single = run_star(EngineKind::Single, 4, 0, 1, 60 * kNsPerSec, 1'000'000);
    same(sg, single);
    // The run really has ties: segments from several links reach the router at one instant.
    int syn_ties = 0;
    for (const auto& e : sg.trace.events)
        if (e.kind == trace::EventKind::Segment && e.to == "r" && e.flags == "S" && e.arrive_ns == 5 * kNsPerMs + 32'000)
            ++syn_ties;
    CHECK(syn_ties == 3);
    CHECK(sg.log.size() > 30);
}

TEST_CASE("engines: loss, retransmissions and a send window, same trace through both") {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        CAPTURE(seed);
        Result sg = run_star(EngineKind::SimGrid, 5, 0.08, seed, 120 * kNsPerSec, 1'000'000, seed % 2 ? 2920 : 0);
        Result single = run_star(EngineKind::Single, 5, 0.08, seed, 120 * kNsPerSec, 1'000'000, seed % 2 ? 2920 : 0);
        same(sg, single);
    }
}

TEST_CASE("engines: a time limit at an arrival instant and an event limit stop both alike") {
    for (TimeNs limit : {TimeNs{10'064'000}, TimeNs{15'096'000}, TimeNs{40 * kNsPerMs}}) {
        CAPTURE(limit);
        Result sg = run_star(EngineKind::SimGrid, 4, 0, 3, limit, 1'000'000);
        Result single = run_star(EngineKind::Single, 4, 0, 3, limit, 1'000'000);
        CHECK(sg.trace.outcome.limit_reached.find("time limit") == 0);
        same(sg, single);
    }
    for (std::uint64_t events : {1u, 7u, 50u}) {
        CAPTURE(events);
        Result sg = run_star(EngineKind::SimGrid, 4, 0, 3, 60 * kNsPerSec, events);
        Result single = run_star(EngineKind::Single, 4, 0, 3, 60 * kNsPerSec, events);
        CHECK(sg.trace.outcome.limit_reached == "event limit " + std::to_string(events));
        same(sg, single);
    }
}

TEST_CASE("engines: the single engine runs LinkModel::Scheduled only") {
    NetConfig cfg;
    cfg.engine = EngineKind::Single;
    cfg.link_model = LinkModel::SimGridComm;
    Network net(star(2, 0), cfg);
    CHECK_THROWS_AS(net.run(kNsPerSec, 100), std::invalid_argument);
}
