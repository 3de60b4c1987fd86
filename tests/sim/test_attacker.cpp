// The attacker model (sim/net/attacker.hpp) with its tap: the sniff hook reads a server's replies
// where they cross a node, hands them to the attacker and leaves the node's own hook in charge.
#include <doctest/doctest.h>

#include <string>

#include "sim/net/attacker.hpp"
#include "sim/net/network.hpp"

using namespace ftpsim;
using namespace ftpsim::net;
using trace::kNsPerMs;
using trace::kNsPerSec;

namespace {

IpAddress ip(const char* s) { return *proto::parse_ip(s); }

// client 10.0.1.2 and attacker 10.0.3.2 --- router --- server 10.0.2.2
Topology three_arms() {
    Topology t;
    t.add_host("client", "client");
    t.add_router("router");
    t.add_host("server", "server");
    t.add_host("attacker", "attacker");
    t.add_interface("client", "eth0", "10.0.1.2/24");
    t.add_interface("router", "eth0", "10.0.1.1/24");
    t.add_interface("router", "eth1", "10.0.2.1/24");
    t.add_interface("router", "eth2", "10.0.3.1/24");
    t.add_interface("server", "eth0", "10.0.2.2/24");
    t.add_interface("attacker", "eth0", "10.0.3.2/24");
    t.add_link("l1", "client", "eth0", "router", "eth0", kNsPerMs, 1e9);
    t.add_link("l2", "router", "eth1", "server", "eth0", kNsPerMs, 1e9);
    t.add_link("l3", "router", "eth2", "attacker", "eth0", kNsPerMs, 1e9);
    t.add_route("client", "0.0.0.0/0", "10.0.1.1");
    t.add_route("server", "0.0.0.0/0", "10.0.2.1");
    t.add_route("attacker", "0.0.0.0/0", "10.0.3.1");
    return t;
}

// Writes `text` to every connection it accepts.
struct Writer : SocketHandler {
    std::string text;
    int accepted = 0;
    void on_accept(Stack& s, ListenerId, ConnId c, const HostPort&, const HostPort&) override {
        ++accepted;
        s.send(c, text);
    }
};

struct Idle : SocketHandler {};

// The node's own hook under the tap: counts what it is asked.
struct Counting : PacketProcessor {
    int pre = 0, post = 0;
    Decision prerouting(Packet&, const HookContext&, std::vector<mbox::MiddleboxNote>&) override {
        ++pre;
        return {};
    }
    Decision postrouting(Packet&, const HookContext&, std::vector<mbox::MiddleboxNote>&) override {
        ++post;
        return {};
    }
};

}  // namespace

TEST_CASE("attacker: the sniff hook hands a sniffed 227 to the attacker, which steals the passive port") {
    Network net(three_arms());
    Writer control, data;
    control.text = "227 Entering Passive Mode (10,0,2,2,117,48).\r\n";  // port 30000
    data.text = "secret";
    Idle client;
    sim::AttackerConfig cfg;
    cfg.node = "attacker";
    cfg.steal = sim::AttackerConfig::Steal::Data;
    cfg.sniff = "router";
    cfg.delay_ns = 5 * kNsPerMs;
    cfg.source_for = [](const IpAddress&) { return ip("10.0.3.2"); };
    sim::AttackerApp attacker(cfg);
    Counting inner;
    sim::SniffHook tap(&inner, &attacker, {21});
    net.set_processor("router", &tap);
    net.on_start("server", [&](Stack& s) {
        REQUIRE(s.listen(ip("10.0.2.2"), 21, 21, &control));
        REQUIRE(s.listen(ip("10.0.2.2"), 30000, 30000, &data, {"data", -1, false}));
    });
    net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 21}, &client); });
    net.on_start("attacker", [&](Stack& s) { attacker.start(s); });
    trace::Trace t = net.run(10 * kNsPerSec, 100000);

    CHECK(data.accepted == 1);
    const trace::Transfer a = attacker.attempt();
    CHECK(a.command == "DATA");
    CHECK(a.path == "10.0.2.2:30000");  // the reply's source address, the announced port
    CHECK(a.ok);
    CHECK(a.bytes == 6);
    CHECK(attacker.failure().empty());
    // The sniffed reply and the theft are facts; the theft comes `delay` after the sniff.
    const trace::Event *sniffed = nullptr, *stole = nullptr;
    for (const auto& e : t.events) {
        if (e.fact == trace::Fact::AttackerSniffed) sniffed = &e;
        if (e.fact == trace::Fact::AttackerStole) stole = &e;
    }
    REQUIRE(sniffed);
    REQUIRE(stole);
    CHECK(sniffed->state == "router");
    CHECK(stole->time_ns - sniffed->time_ns == 5 * kNsPerMs);
    // Every packet the router saw still went through its own hook.
    CHECK(inner.pre > 0);
    CHECK(inner.post > 0);
}

TEST_CASE("attacker: a reply from a port that is not a server's control port is not read") {
    Network net(three_arms());
    Writer control, data;
    control.text = "227 Entering Passive Mode (10,0,2,2,117,48).\r\n";
    data.text = "secret";
    Idle client;
    sim::AttackerConfig cfg;
    cfg.node = "attacker";
    cfg.sniff = "router";
    cfg.source_for = [](const IpAddress&) { return ip("10.0.3.2"); };
    sim::AttackerApp attacker(cfg);
    sim::SniffHook tap(nullptr, &attacker, {2121});  // the server's control port is 21
    net.set_processor("router", &tap);
    net.on_start("server", [&](Stack& s) {
        REQUIRE(s.listen(ip("10.0.2.2"), 21, 21, &control));
        REQUIRE(s.listen(ip("10.0.2.2"), 30000, 30000, &data, {"data", -1, false}));
    });
    net.on_start("client", [&](Stack& s) { s.connect(ip("10.0.1.2"), 0, {ip("10.0.2.2"), 21}, &client); });
    net.on_start("attacker", [&](Stack& s) { attacker.start(s); });
    net.run(10 * kNsPerSec, 100000);
    CHECK(data.accepted == 0);
    CHECK_FALSE(attacker.attempt().ok);
    CHECK(attacker.failure() == "the attacker never saw anything to act on");
}
