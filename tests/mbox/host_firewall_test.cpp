// A host's own packet filter (iptables INPUT/OUTPUT), without SimGrid.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/mbox/host_firewall.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

HostPort ep(const char* text) { return *parse_endpoint(text); }

// The client's firewall: outgoing connections and their replies only (a workstation's default).
HostFirewall client_firewall() {
    Firewall fw(FwAction::Drop);
    FirewallRule out;
    out.direction = FwDirection::Outbound;
    fw.add(out);
    FirewallRule back;
    back.direction = FwDirection::Inbound;
    back.states = kCtEstablished;
    fw.add(back);
    return HostFirewall("client", std::move(fw));
}

}  // namespace

TEST_CASE("host firewall: replies to the host's own connections pass, a new inbound SYN is dropped") {
    HostFirewall fw = client_firewall();
    std::vector<MiddleboxNote> notes;
    // The client connects out (passive mode): its SYN, then the server's SYN-ACK.
    CHECK(fw.filter(make_packet(ep("192.168.1.10:50000"), ep("203.0.113.10:21"), kSyn), -1, 0,
                    FwDirection::Outbound, notes) == Verdict::Forward);
    CHECK(fw.filter(make_packet(ep("203.0.113.10:21"), ep("192.168.1.10:50000"), kSyn | kAck), 0, -1,
                    FwDirection::Inbound, notes) == Verdict::Forward);
    CHECK(notes.empty());
    // Active mode: the server's data connection is new to the host: no FTP helper, never related.
    CHECK(fw.filter(make_packet(ep("203.0.113.10:20"), ep("192.168.1.10:50001"), kSyn), 0, -1,
                    FwDirection::Inbound, notes) == Verdict::Drop);
    REQUIRE(notes.size() == 1);
    const MiddleboxNote& n = notes[0];
    CHECK(n.kind == NoteKind::Firewall);
    CHECK(n.verdict == trace::Verdict::Dropped);
    CHECK(n.fact.fact == trace::Fact::FirewallVerdict);
    CHECK(n.fact.from == "client");
    CHECK(n.fact.rule == 3);  // the default policy: rules.size() + 1
    CHECK(n.fact.rule_text == "default drop");
    CHECK(n.fact.state == "new");
    CHECK(n.fact.dst.port == 50001);
}

TEST_CASE("host firewall: a reject rule rejects with its rule number") {
    Firewall rules(FwAction::Accept);
    FirewallRule closed;
    closed.dport = PortRange{2121, 2121};
    closed.action = FwAction::Reject;
    rules.add(closed);
    HostFirewall fw("server", std::move(rules));
    std::vector<MiddleboxNote> notes;
    CHECK(fw.filter(make_packet(ep("198.51.100.20:40000"), ep("203.0.113.10:2121"), kSyn), 0, -1,
                    FwDirection::Inbound, notes) == Verdict::Reject);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].verdict == trace::Verdict::Rejected);
    CHECK(notes[0].fact.rule == 1);
}

TEST_CASE("host firewall: an ICMP error about one of the host's connections is related, others are not") {
    HostFirewall fw = client_firewall();  // default drop
    std::vector<MiddleboxNote> notes;
    const Packet out = make_packet(ep("192.168.1.10:50000"), ep("203.0.113.10:2121"), kSyn);
    REQUIRE(fw.filter(out, -1, 0, FwDirection::Outbound, notes) == Verdict::Forward);
    const IpAddress router = *proto::parse_ip("203.0.113.1");
    CHECK(fw.filter(make_icmp_port_unreachable(router, out), 0, -1, FwDirection::Inbound, notes) == Verdict::Forward);
    CHECK(notes.empty());
    const Packet other = make_packet(ep("192.168.1.10:50002"), ep("203.0.113.10:2121"), kSyn);
    CHECK(fw.filter(make_icmp_port_unreachable(router, other), 0, -1, FwDirection::Inbound, notes) == Verdict::Drop);
    CHECK(notes.size() == 1);
}
