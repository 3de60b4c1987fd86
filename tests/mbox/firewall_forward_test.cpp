// Port forwarding (DNAT) and the stateful firewall, through the Router pipeline.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/mbox/router.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

HostPort ep(const char* text) { return *parse_endpoint(text); }
IpAddress ip(const char* text) { return *proto::parse_ip(text); }

Packet syn(const char* src, const char* dst) { return make_packet(ep(src), ep(dst), kSyn, 100); }

// The server side of the captures: 192.168.2.0/24 behind 203.0.113.1.
constexpr int kLan = 0, kWan = 1;
RouterConfig server_router() {
    RouterConfig c;
    c.name = "server-router";
    c.interfaces = {{"lan", ip("192.168.2.1"), 24, Realm::Inside}, {"wan", ip("203.0.113.1"), 24, Realm::Outside}};
    c.nat = NatConfig::port_restricted();
    return c;
}

// A firewall in front of a DMZ, no NAT: 198.51.100.0/24 outside, 10.0.0.0/24 inside.
constexpr int kOut = 0, kDmz = 1;
RouterConfig server_fw(Firewall fw) {
    RouterConfig c;
    c.name = "server-fw";
    c.interfaces = {{"out", ip("198.51.100.1"), 24, Realm::Outside}, {"dmz", ip("10.0.0.1"), 24, Realm::Inside}};
    c.firewall = std::move(fw);
    return c;
}

FirewallRule accept_established_related() {
    FirewallRule r;
    r.states = kCtEstablished | kCtRelated;
    return r;
}

FirewallRule to_port(std::uint16_t port, FwAction action) {
    FirewallRule r;
    r.dport = PortRange{port, port};
    r.action = action;
    return r;
}

}  // namespace

TEST_CASE("port forward: one port to another, with replies translated back") {
    RouterConfig c = server_router();
    c.forwards.push_back({2121, 2121, ip("192.168.2.10"), 21});
    Router r(c);
    RouterResult in = r.process(syn("203.0.113.10:40000", "203.0.113.1:2121"), kWan);
    REQUIRE(in.verdict == Verdict::Forward);
    CHECK(in.out_iface == kLan);
    CHECK(in.packet.dst == ep("192.168.2.10:21"));
    CHECK(in.packet.src == ep("203.0.113.10:40000"));
    CHECK(in.notes.front().sentence() == "server-router: port forward 203.0.113.1:2121 -> 192.168.2.10:21 (tcp 2121 -> 192.168.2.10:21)");

    RouterResult back = r.process(make_packet(ep("192.168.2.10:21"), ep("203.0.113.10:40000"), kSyn | kAck, 5, 101), kLan);
    REQUIRE(back.verdict == Verdict::Forward);
    CHECK(back.out_iface == kWan);
    CHECK(back.packet.src == ep("203.0.113.1:2121"));
    CHECK(r.snapshot(0).forwards.front().hits == 1);
}

TEST_CASE("port forward: a range maps onto a range keeping the offset") {
    RouterConfig c = server_router();
    c.forwards.push_back({2100, 2109, ip("192.168.2.10"), 21000});
    c.forwards.push_back({30000, 30009, ip("192.168.2.10"), 30000});
    Router r(c);
    CHECK(r.process(syn("203.0.113.10:40000", "203.0.113.1:2100"), kWan).packet.dst == ep("192.168.2.10:21000"));
    CHECK(r.process(syn("203.0.113.10:40001", "203.0.113.1:2105"), kWan).packet.dst == ep("192.168.2.10:21005"));
    CHECK(r.process(syn("203.0.113.10:40002", "203.0.113.1:2109"), kWan).packet.dst == ep("192.168.2.10:21009"));
    CHECK(r.process(syn("203.0.113.10:40003", "203.0.113.1:30007"), kWan).packet.dst == ep("192.168.2.10:30007"));
    CHECK(r.process(syn("203.0.113.10:40004", "203.0.113.1:2110"), kWan).verdict == Verdict::Reject);  // not forwarded
    RouterResult back = r.process(make_packet(ep("192.168.2.10:21005"), ep("203.0.113.10:40001"), kSyn | kAck, 5, 101), kLan);
    CHECK(back.packet.src == ep("203.0.113.1:2105"));
}

TEST_CASE("port forward: forwarded ports are kept out of the NAT pool") {
    RouterConfig c = server_router();
    c.forwards.push_back({5000, 5000, ip("192.168.2.10"), 21});
    Router r(c);
    CHECK(r.process(syn("192.168.2.20:5000", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:5001"));
}

TEST_CASE("port forward: applied before the firewall, which sees the internal address") {
    RouterConfig c = server_router();
    c.forwards.push_back({21, 21, ip("192.168.2.10"), 21});
    Firewall fw(FwAction::Drop);
    FirewallRule r;
    r.dst = Prefix{ip("192.168.2.10"), 32};
    r.dport = PortRange{21, 21};
    fw.add(r);
    c.firewall = fw;
    Router router(c);
    CHECK(router.process(syn("203.0.113.10:40000", "203.0.113.1:21"), kWan).verdict == Verdict::Forward);
}

TEST_CASE("firewall: the default policy drops, and the note names the rule") {
    Firewall fw(FwAction::Drop);
    fw.add(accept_established_related());
    fw.add(to_port(21, FwAction::Accept));
    Router r(server_fw(fw));
    RouterResult h = r.process(syn("198.51.100.7:40000", "10.0.0.5:30001"), kOut);
    CHECK(h.verdict == Verdict::Drop);
    REQUIRE(h.notes.size() == 1);
    CHECK(h.notes[0].sentence() == "server-fw: dropped SYN to 10.0.0.5:30001, rule 3 (default drop)");
    CHECK(h.notes[0].reason == "rule 3 (default drop)");
    CHECK(h.notes[0].verdict == trace::Verdict::Dropped);
    CHECK(h.notes[0].kind == NoteKind::Firewall);
}

TEST_CASE("firewall: stateful, new then established, with hit counters") {
    Firewall fw(FwAction::Drop);
    fw.add(accept_established_related());
    fw.add(to_port(21, FwAction::Accept));
    Router r(server_fw(fw));
    RouterResult s = r.process(syn("198.51.100.7:40000", "10.0.0.5:21"), kOut);
    REQUIRE(s.verdict == Verdict::Forward);
    CHECK(s.out_iface == kDmz);
    CHECK(s.notes[0].sentence() == "server-fw: accepted SYN to 10.0.0.5:21 (new), rule 2 (accept tcp dport 21)");
    RouterResult sa = r.process(make_packet(ep("10.0.0.5:21"), ep("198.51.100.7:40000"), kSyn | kAck, 5, 101), kDmz);
    CHECK(sa.verdict == Verdict::Forward);
    CHECK(sa.out_iface == kOut);
    CHECK(r.process(make_packet(ep("198.51.100.7:40000"), ep("10.0.0.5:21"), kAck, 101, 6), kOut).verdict ==
          Verdict::Forward);
    // The server cannot open a new connection out: nothing allows it.
    CHECK(r.process(syn("10.0.0.5:20", "198.51.100.7:50000"), kDmz).verdict == Verdict::Drop);

    auto snap = r.snapshot(0);
    REQUIRE(snap.firewall.size() == 3);
    CHECK(snap.firewall[0].hits == 2);  // SYN-ACK and ACK
    CHECK(snap.firewall[1].hits == 1);  // the SYN
    CHECK(snap.firewall[2].hits == 1);  // the server's SYN out
    CHECK(snap.firewall[2].text == "default drop");
    REQUIRE(snap.conntrack.size() == 1);
    CHECK(snap.conntrack[0].seen_reply);
}

TEST_CASE("conntrack: a router with a firewall records each new entry as a typed fact") {
    Firewall fw(FwAction::Drop);
    fw.add(accept_established_related());
    fw.add(to_port(21, FwAction::Accept));
    Router r(server_fw(fw));
    RouterResult s = r.process(syn("198.51.100.7:40000", "10.0.0.5:21"), kOut);
    REQUIRE(s.verdict == Verdict::Forward);
    REQUIRE(s.notes.size() == 2);  // the firewall's verdict, then the entry it admitted
    const MiddleboxNote& n = s.notes[1];
    CHECK(n.kind == NoteKind::Conntrack);
    CHECK(n.verdict == trace::Verdict::None);
    CHECK(n.fact.fact == trace::Fact::ConntrackCreated);
    CHECK(n.fact.from == "server-fw");
    CHECK(n.fact.src == trace::Endpoint{"198.51.100.7", 40000});
    CHECK(n.fact.dst == trace::Endpoint{"10.0.0.5", 21});
    CHECK(n.fact.state == "new");
    CHECK(n.fact.flags == "S");
    REQUIRE(r.snapshot(0).conntrack.size() == 1);
    CHECK(n.fact.entry == r.snapshot(0).conntrack[0].id);
    // The reply belongs to the entry: no new one.
    RouterResult sa = r.process(make_packet(ep("10.0.0.5:21"), ep("198.51.100.7:40000"), kSyn | kAck, 5, 101), kDmz);
    for (const auto& x : sa.notes) CHECK(x.fact.fact != trace::Fact::ConntrackCreated);
    // A dropped SYN makes no entry.
    RouterResult dropped = r.process(syn("198.51.100.7:40001", "10.0.0.5:30001"), kOut);
    REQUIRE(dropped.verdict == Verdict::Drop);
    for (const auto& x : dropped.notes) CHECK(x.fact.fact != trace::Fact::ConntrackCreated);
}

TEST_CASE("conntrack: a router without a firewall keeps its entries out of the trace") {
    RouterConfig c = server_router();
    c.forwards.push_back({2121, 2121, ip("192.168.2.10"), 21});
    Router r(c);
    RouterResult in = r.process(syn("203.0.113.10:40000", "203.0.113.1:2121"), kWan);
    REQUIRE(in.verdict == Verdict::Forward);
    for (const auto& x : in.notes) CHECK(x.fact.fact != trace::Fact::ConntrackCreated);
    CHECK(r.snapshot(0).conntrack.size() == 1);  // the entry exists all the same
}

TEST_CASE("firewall: rule order decides, and reject answers with a TCP reset") {
    Firewall fw(FwAction::Accept);
    FirewallRule reject = to_port(21, FwAction::Reject);
    reject.src = Prefix{ip("198.51.100.0"), 24};
    fw.add(reject);
    fw.add(to_port(21, FwAction::Accept));
    Router r(server_fw(fw));

    RouterResult h = r.process(syn("198.51.100.7:40000", "10.0.0.5:21"), kOut);
    CHECK(h.verdict == Verdict::Reject);
    CHECK(h.out_iface == kOut);  // back where it came from
    CHECK(h.packet.flags == (kRst | kAck));
    CHECK(h.packet.src == ep("10.0.0.5:21"));
    CHECK(h.packet.dst == ep("198.51.100.7:40000"));
    CHECK(h.packet.seq == 0);
    CHECK(h.packet.ack == 101);  // the SYN's sequence number + 1
    CHECK(h.notes[0].verdict == trace::Verdict::Rejected);
    CHECK(h.notes[0].sentence() == "server-fw: rejected SYN to 10.0.0.5:21 with a TCP reset, rule 1 (reject tcp from 198.51.100.0/24 dport 21)");

    // From elsewhere the first rule does not match and the second accepts.
    CHECK(r.process(syn("192.0.2.9:40000", "10.0.0.5:21"), kOut).verdict == Verdict::Forward);
    auto snap = r.snapshot(0);
    CHECK(snap.firewall[0].hits == 1);
    CHECK(snap.firewall[1].hits == 1);
}

TEST_CASE("firewall: drop versus reject of the same packet") {
    for (FwAction action : {FwAction::Drop, FwAction::Reject}) {
        Firewall fw(action);
        Router r(server_fw(fw));
        RouterResult h = r.process(syn("198.51.100.7:40000", "10.0.0.5:30001"), kOut);
        CHECK(h.verdict == (action == FwAction::Drop ? Verdict::Drop : Verdict::Reject));
        CHECK(h.packet.has(kRst) == (action == FwAction::Reject));
    }
}

TEST_CASE("firewall: a reset for a segment carrying an ACK takes its sequence number from it") {
    Packet p = make_packet(ep("198.51.100.7:40000"), ep("10.0.0.5:21"), kAck | kPsh, 500, 777, "NOOP\r\n");
    Packet rst = make_reset(p);
    CHECK(rst.flags == kRst);
    CHECK(rst.seq == 777);
}

TEST_CASE("firewall: matches on direction, interfaces, source port and TCP flags") {
    FirewallRule r;
    r.direction = FwDirection::Inbound;
    r.in_iface = kOut;
    r.sport = PortRange{40000, 40999};
    r.flags_mask = kSyn | kAck;
    r.flags_comp = kSyn;
    Packet p = syn("198.51.100.7:40000", "10.0.0.5:21");
    FilterInput in{&p, p.src, p.dst, kOut, kDmz, FwDirection::Inbound, kCtNew};
    CHECK(rule_matches(r, in));
    in.direction = FwDirection::Outbound;
    CHECK_FALSE(rule_matches(r, in));
    in.direction = FwDirection::Inbound;
    p.flags = kSyn | kAck;
    CHECK_FALSE(rule_matches(r, in));
    p.flags = kSyn;
    in.src.port = 50000;
    CHECK_FALSE(rule_matches(r, in));
    CHECK(r.to_string() == "accept inbound in 0 tcp sport 40000-40999 flags S/SA");
}
