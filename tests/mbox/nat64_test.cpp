// Stateful NAT64 (RFC 6146) with RFC 6052 address synthesis, without SimGrid.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/mbox/nat64.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

HostPort ep(const char* text) { return *parse_endpoint(text); }
IpAddress ip(const char* text) { return *proto::parse_ip(text); }

Nat64 translator() {
    Nat64Config c;
    c.name = "nat64";
    c.prefix = nat64_well_known_prefix();
    c.pool = ip("203.0.113.1");
    return Nat64(c);
}

Packet packet(const char* src, const char* dst, std::uint8_t flags) { return make_packet(ep(src), ep(dst), flags, 100); }

}  // namespace

TEST_CASE("NAT64: RFC 6052 section 2.4's example: 192.0.2.33 behind 64:ff9b::/96 is 64:ff9b::c000:221") {
    const Prefix wkp = nat64_well_known_prefix();
    CHECK(wkp.to_string() == "64:ff9b::/96");
    CHECK(nat64_synthesize(wkp, ip("192.0.2.33")).to_string() == "64:ff9b::c000:221");
    CHECK(nat64_extract(wkp, ip("64:ff9b::c000:221")) == ip("192.0.2.33"));
    CHECK(nat64_synthesize(wkp, ip("198.51.100.10")).to_string() == "64:ff9b::c633:640a");
    // Outside the prefix, or not IPv6: nothing embedded.
    CHECK_FALSE(nat64_extract(wkp, ip("2001:db8::c000:221")).has_value());
    CHECK_FALSE(nat64_extract(wkp, ip("192.0.2.33")).has_value());
    // A network-specific /96 prefix works the same way.
    const Prefix nsp{ip("2001:db8:64::"), 96};
    CHECK(nat64_synthesize(nsp, ip("192.0.2.33")).to_string() == "2001:db8:64::c000:221");
}

TEST_CASE("NAT64: a SYN to the prefix opens a session; both directions are translated through it") {
    Nat64 n = translator();
    std::vector<MiddleboxNote> notes;
    Packet syn = packet("[2001:db8:1::10]:40000", "[64:ff9b::c633:640a]:21", kSyn);
    REQUIRE(n.process(syn, notes) == Verdict::Forward);
    CHECK(syn.src == ep("203.0.113.1:40000"));  // the port is kept when free
    CHECK(syn.dst == ep("198.51.100.10:21"));
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].fact.fact == trace::Fact::Nat64Session);
    CHECK(notes[0].sentence() ==
          "nat64: NAT64 session [2001:db8:1::10]:40000 -> [64:ff9b::c633:640a]:21 as 203.0.113.1:40000 -> "
          "198.51.100.10:21");
    REQUIRE(n.sessions().size() == 1);

    notes.clear();
    Packet reply = packet("198.51.100.10:21", "203.0.113.1:40000", kSyn | kAck);
    REQUIRE(n.process(reply, notes) == Verdict::Forward);
    CHECK(reply.src == ep("[64:ff9b::c633:640a]:21"));
    CHECK(reply.dst == ep("[2001:db8:1::10]:40000"));
    CHECK(notes.empty());  // an established session's packets get no note

    Packet ack = packet("[2001:db8:1::10]:40000", "[64:ff9b::c633:640a]:21", kAck);
    REQUIRE(n.process(ack, notes) == Verdict::Forward);
    CHECK(ack.src == ep("203.0.113.1:40000"));
    CHECK(n.sessions().size() == 1);
}

TEST_CASE("NAT64: endpoint-independent mapping; a clash takes the next free port") {
    Nat64 n = translator();
    std::vector<MiddleboxNote> notes;
    Packet a = packet("[2001:db8:1::10]:40000", "[64:ff9b::c633:640a]:21", kSyn);
    Packet b = packet("[2001:db8:1::10]:40000", "[64:ff9b::c633:640a]:30001", kSyn);
    Packet c = packet("[2001:db8:1::11]:40000", "[64:ff9b::c633:640a]:21", kSyn);
    REQUIRE(n.process(a, notes) == Verdict::Forward);
    REQUIRE(n.process(b, notes) == Verdict::Forward);
    REQUIRE(n.process(c, notes) == Verdict::Forward);
    CHECK(b.src == ep("203.0.113.1:40000"));  // the same IPv6 endpoint keeps its pool port
    CHECK(c.src == ep("203.0.113.1:40001"));  // another endpoint with the same port: the next one
    CHECK(n.sessions().size() == 3);
}

TEST_CASE("NAT64: an inbound connection nobody on the IPv6 side opened is dropped") {
    Nat64 n = translator();
    std::vector<MiddleboxNote> notes;
    // The server's active-mode SYN to the pool address, as PORT/EPRT through the translator would
    // ask for: no session, dropped (RFC 6146 3.5.2.2).
    Packet syn = packet("198.51.100.10:20", "203.0.113.1:50000", kSyn);
    CHECK(n.process(syn, notes) == Verdict::Drop);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].fact.fact == trace::Fact::Nat64Unsolicited);
    CHECK(notes[0].verdict == trace::Verdict::Dropped);
    CHECK(notes[0].reason == "NAT64: no session");
    // A mid-connection segment toward the prefix with no session is dropped too.
    notes.clear();
    Packet stray = packet("[2001:db8:1::10]:40000", "[64:ff9b::c633:640a]:21", kAck);
    CHECK(n.process(stray, notes) == Verdict::Drop);
    CHECK(n.sessions().empty());
}

TEST_CASE("NAT64: traffic it does not translate is left to routing") {
    Nat64 n = translator();
    std::vector<MiddleboxNote> notes;
    Packet v6 = packet("[2001:db8:1::10]:40000", "[2001:db8:2::10]:21", kSyn);  // plain IPv6
    CHECK(n.process(v6, notes) == Verdict::Forward);
    CHECK(v6.dst == ep("[2001:db8:2::10]:21"));
    Packet v4 = packet("198.51.100.10:21", "198.51.100.20:21", kSyn);  // IPv4 not for the pool
    CHECK(n.process(v4, notes) == Verdict::Forward);
    CHECK(v4.dst == ep("198.51.100.20:21"));
    CHECK(notes.empty());
}
