// The Router pipeline's own rules: routing, conntrack pick-up and reuse, where forwards apply.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/mbox/router.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

HostPort ep(const char* text) { return *parse_endpoint(text); }
IpAddress ip(const char* text) { return *proto::parse_ip(text); }

constexpr int kLan = 0, kWan = 1;

RouterConfig home() {
    RouterConfig c;
    c.name = "home-router";
    c.interfaces = {{"lan", ip("192.168.1.1"), 24, Realm::Inside}, {"wan", ip("203.0.113.1"), 24, Realm::Outside}};
    c.nat = NatConfig::port_restricted();
    return c;
}

Verdict run(Router& r, Packet& p, int in, int& out, TimeNs now = 0) {
    std::vector<MiddleboxNote> notes;
    return r.process(p, in, out, now, notes);
}

}  // namespace

TEST_CASE("router: routes by the longest connected prefix, else out of the first outside interface") {
    Router r(home());
    CHECK(r.route(ip("192.168.1.77")) == kLan);
    CHECK(r.route(ip("203.0.113.10")) == kWan);
    CHECK(r.route(ip("198.51.100.7")) == kWan);  // default route
    CHECK(r.is_own_address(ip("203.0.113.1")));
    CHECK_FALSE(r.is_own_address(ip("203.0.113.10")));
}

TEST_CASE("router: a RST or FIN of no known connection is invalid and goes nowhere") {
    Router r(home());
    int out = -1;
    Packet rst = make_packet(ep("192.168.1.10:5000"), ep("203.0.113.10:80"), kRst, 1);
    std::vector<MiddleboxNote> notes;
    CHECK(r.process(rst, kLan, out, 0, notes) == Verdict::Drop);
    CHECK(notes.back().reason == "conntrack: invalid (no connection)");
    CHECK(r.snapshot(0).nat.empty());  // no mapping was made for it
}

TEST_CASE("router: a SYN reusing a closed connection's tuple starts a new connection") {
    Router r(home());
    int out = -1;
    Packet syn = make_packet(ep("192.168.1.10:5000"), ep("203.0.113.10:80"), kSyn, 1);
    REQUIRE(run(r, syn, kLan, out) == Verdict::Forward);
    Packet sa = make_packet(ep("203.0.113.10:80"), ep("203.0.113.1:5000"), kSyn | kAck, 9, 2);
    REQUIRE(run(r, sa, kWan, out) == Verdict::Forward);
    Packet fin = make_packet(ep("192.168.1.10:5000"), ep("203.0.113.10:80"), kFin | kAck, 2, 10);
    REQUIRE(run(r, fin, kLan, out) == Verdict::Forward);
    REQUIRE(r.snapshot(0).conntrack.front().closing);
    Packet again = make_packet(ep("192.168.1.10:5000"), ep("203.0.113.10:80"), kSyn, 500);
    REQUIRE(run(r, again, kLan, out) == Verdict::Forward);
    auto ct = r.snapshot(0).conntrack;
    REQUIRE(ct.size() == 1);
    CHECK_FALSE(ct[0].closing);
    CHECK_FALSE(ct[0].seen_reply);
}

TEST_CASE("router: port forwards apply to the outside address only") {
    RouterConfig c = home();
    c.forwards.push_back({2121, 2121, ip("192.168.1.20"), 21});
    Router r(c);
    int out = -1;
    Packet to_inside_addr = make_packet(ep("203.0.113.10:4000"), ep("192.168.1.1:2121"), kSyn, 1);
    CHECK(run(r, to_inside_addr, kWan, out) == Verdict::Reject);  // the router's closed port
    Packet to_outside_addr = make_packet(ep("203.0.113.10:4000"), ep("203.0.113.1:2121"), kSyn, 1);
    CHECK(run(r, to_outside_addr, kWan, out) == Verdict::Forward);
    CHECK(to_outside_addr.dst == ep("192.168.1.20:21"));
}

TEST_CASE("router: hairpinning through a port forward") {
    RouterConfig c = home();
    c.nat = NatConfig::port_restricted();
    c.nat->hairpinning = true;
    c.forwards.push_back({21, 21, ip("192.168.1.20"), 21});
    Router r(c);
    int out = -1;
    Packet syn = make_packet(ep("192.168.1.10:5000"), ep("203.0.113.1:21"), kSyn, 1);
    REQUIRE(run(r, syn, kLan, out) == Verdict::Forward);
    CHECK(out == kLan);
    CHECK(syn.dst == ep("192.168.1.20:21"));
    CHECK(syn.src == ep("203.0.113.1:5000"));  // so the server's answer comes back through us
    Packet sa = make_packet(ep("192.168.1.20:21"), ep("203.0.113.1:5000"), kSyn | kAck, 7, 2);
    REQUIRE(run(r, sa, kLan, out) == Verdict::Forward);
    CHECK(sa.src == ep("203.0.113.1:21"));
    CHECK(sa.dst == ep("192.168.1.10:5000"));
}

TEST_CASE("router: IPv6 is routed untranslated") {
    RouterConfig c = home();
    c.interfaces.push_back({"lan6", ip("2001:db8:1::1"), 64, Realm::Inside});
    c.interfaces.push_back({"wan6", ip("2001:db8:ff::1"), 64, Realm::Outside});
    Router r(c);
    int out = -1;
    Packet syn = make_packet(ep("[2001:db8:1::10]:5000"), ep("[2001:db8:ff::10]:21"), kSyn, 1);
    REQUIRE(run(r, syn, 2, out) == Verdict::Forward);
    CHECK(out == 3);
    CHECK(syn.src == ep("[2001:db8:1::10]:5000"));
}

TEST_CASE("router: format_duration") {
    CHECK(format_duration(30 * trace::kNsPerSec) == "30 s");
    CHECK(format_duration(240 * trace::kNsPerSec) == "4 min");
    CHECK(format_duration((2 * 3600 + 4 * 60) * trace::kNsPerSec) == "2 h 4 min");
    CHECK(format_duration(3601 * trace::kNsPerSec) == "1 h 1 s");
}
