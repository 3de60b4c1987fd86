// NAT after RFC 4787 / RFC 5382, driven through the Router pipeline as sim/net will drive it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/mbox/router.hpp"
#include "tests/mbox/note_fields.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;
using ftpsim::mbox::test::fact_of;
using ftpsim::mbox::test::tep;

namespace {

constexpr int kLan = 0, kWan = 1;
constexpr TimeNs kSec = trace::kNsPerSec;

HostPort ep(const char* text) { return *parse_endpoint(text); }

RouterConfig home_config(NatConfig nat) {
    RouterConfig c;
    c.name = "home-router";
    c.interfaces = {{"lan", *proto::parse_ip("192.168.1.1"), 24, Realm::Inside},
                    {"wan", *proto::parse_ip("203.0.113.1"), 24, Realm::Outside}};
    c.nat = nat;
    return c;
}

Packet syn(const char* src, const char* dst) { return make_packet(ep(src), ep(dst), kSyn, 100); }

}  // namespace

TEST_CASE("NAT: outbound SYN is masqueraded with port preservation and the reply translated back") {
    Router r(home_config(NatConfig::port_restricted()));
    RouterResult out = r.process(syn("192.168.1.10:50069", "203.0.113.10:21"), kLan);
    REQUIRE(out.verdict == Verdict::Forward);
    CHECK(out.out_iface == kWan);
    CHECK(out.packet.src == ep("203.0.113.1:50069"));
    CHECK(out.packet.dst == ep("203.0.113.10:21"));
    const trace::Event* mapped = fact_of(out, trace::Fact::NatMappingCreated);
    REQUIRE(mapped);
    CHECK(mapped->from == "home-router");
    CHECK(mapped->src == tep("192.168.1.10:50069"));
    CHECK(mapped->src_after == tep("203.0.113.1:50069"));
    CHECK(mapped->entry == r.nat()->mappings().at(0).id);

    RouterResult back = r.process(make_packet(ep("203.0.113.10:21"), ep("203.0.113.1:50069"), kSyn | kAck, 900, 101), kWan);
    REQUIRE(back.verdict == Verdict::Forward);
    CHECK(back.out_iface == kLan);
    CHECK(back.packet.dst == ep("192.168.1.10:50069"));
    CHECK(back.packet.src == ep("203.0.113.10:21"));
}

TEST_CASE("NAT: the nine RFC 4787 mapping x filtering combinations") {
    const NatBehaviour all[] = {NatBehaviour::EndpointIndependent, NatBehaviour::AddressDependent,
                                NatBehaviour::AddressAndPortDependent};
    for (NatBehaviour mapping : all) {
        for (NatBehaviour filtering : all) {
            CAPTURE(to_string(mapping));
            CAPTURE(to_string(filtering));
            NatConfig cfg;
            cfg.mapping = mapping;
            cfg.filtering = filtering;

            // Mapping: which external endpoint later flows from the same internal endpoint get.
            Router m(home_config(cfg));
            HostPort e1 = m.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan).packet.src;
            HostPort e2 = m.process(syn("192.168.1.10:5000", "203.0.113.10:81"), kLan).packet.src;
            HostPort e3 = m.process(syn("192.168.1.10:5000", "203.0.113.20:80"), kLan).packet.src;
            CHECK(e1 == ep("203.0.113.1:5000"));
            CHECK((e2 == e1) == (mapping != NatBehaviour::AddressAndPortDependent));
            CHECK((e3 == e1) == (mapping == NatBehaviour::EndpointIndependent));
            CHECK((e3 == e2) == (mapping == NatBehaviour::EndpointIndependent));

            // Filtering: after one outbound flow, which unsolicited inbound SYNs get in.
            Router f(home_config(cfg));
            REQUIRE(f.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan).verdict == Verdict::Forward);
            RouterResult same_host_other_port = f.process(syn("203.0.113.10:8080", "203.0.113.1:5000"), kWan);
            RouterResult other_host = f.process(syn("203.0.113.20:80", "203.0.113.1:5000"), kWan);
            RouterResult the_reply = f.process(make_packet(ep("203.0.113.10:80"), ep("203.0.113.1:5000"), kSyn | kAck, 7, 101), kWan);

            CHECK(the_reply.verdict == Verdict::Forward);  // the flow itself always comes back
            CHECK((same_host_other_port.verdict == Verdict::Forward) ==
                  (filtering != NatBehaviour::AddressAndPortDependent));
            CHECK((other_host.verdict == Verdict::Forward) == (filtering == NatBehaviour::EndpointIndependent));
            if (other_host.verdict == Verdict::Forward) {
                CHECK(other_host.packet.dst == ep("192.168.1.10:5000"));
                CHECK(other_host.out_iface == kLan);
            } else {
                CHECK(other_host.notes.back().verdict == trace::Verdict::Dropped);
                CHECK(other_host.notes.back().reason == "NAT filtering (" + std::string(to_string(filtering)) + ")");
            }
        }
    }
}

TEST_CASE("NAT: presets carry the old cone names") {
    CHECK(NatConfig::full_cone().filtering == NatBehaviour::EndpointIndependent);
    CHECK(NatConfig::restricted_cone().filtering == NatBehaviour::AddressDependent);
    CHECK(NatConfig::port_restricted().filtering == NatBehaviour::AddressAndPortDependent);
    CHECK(NatConfig::port_restricted().mapping == NatBehaviour::EndpointIndependent);
    CHECK(NatConfig::symmetric().mapping == NatBehaviour::AddressAndPortDependent);
    CHECK(NatConfig::symmetric().filtering == NatBehaviour::AddressAndPortDependent);
}

TEST_CASE("NAT: port preservation takes the next free port when the port is taken") {
    Router r(home_config(NatConfig::port_restricted()));
    CHECK(r.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:5000"));
    CHECK(r.process(syn("192.168.1.11:5000", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:5001"));
    CHECK(r.process(syn("192.168.1.12:5000", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:5002"));
}

TEST_CASE("NAT: a masquerade keeps source port 20; a clash is remapped within the port's class, as Linux") {
    Router r(home_config(NatConfig::port_restricted()));
    RouterResult first = r.process(syn("192.168.1.10:20", "203.0.113.10:50000"), kLan);
    CHECK(first.packet.src == ep("203.0.113.1:20"));
    const trace::Event* kept = fact_of(first, trace::Fact::NatMappingCreated);
    REQUIRE(kept);
    CHECK(kept->src == tep("192.168.1.10:20"));
    CHECK(kept->src_after == tep("203.0.113.1:20"));  // the port kept
    // A second inside host's port 20 clashes: nf_nat_l4proto_unique_tuple keeps it below 512.
    RouterResult second = r.process(syn("192.168.1.11:20", "203.0.113.10:50000"), kLan);
    CHECK(second.packet.src == ep("203.0.113.1:21"));
    const trace::Event* remapped = fact_of(second, trace::Fact::NatMappingCreated);
    REQUIRE(remapped);
    CHECK(remapped->src == tep("192.168.1.11:20"));
    CHECK(remapped->src_after == tep("203.0.113.1:21"));  // port 20 was not free
    // 512-1023 stays in 600-1023, the rest in 1024-65535.
    CHECK(r.process(syn("192.168.1.10:700", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:700"));
    CHECK(r.process(syn("192.168.1.11:700", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:701"));
    CHECK(r.process(syn("192.168.1.10:1023", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:1023"));
    CHECK(r.process(syn("192.168.1.11:1023", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:600"));
    CHECK(r.process(syn("192.168.1.10:65535", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:65535"));
    CHECK(r.process(syn("192.168.1.11:65535", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:1024"));
    const auto maps = r.nat()->mappings();
    REQUIRE(maps.size() == 8);
    CHECK(maps[0].port_preserved);
    CHECK_FALSE(maps[1].port_preserved);
    CHECK(maps[1].wanted_port == 20);
    CHECK(maps[1].clash_with == maps[0].id);
}

TEST_CASE("NAT: with a port pool (--to-ports) a port outside it is remapped into it") {
    NatConfig cfg = NatConfig::port_restricted();
    cfg.port_min = 40000;
    cfg.port_max = 40009;
    Router r(home_config(cfg));
    CHECK(r.process(syn("192.168.1.10:40005", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:40005"));
    RouterResult out = r.process(syn("192.168.1.10:20", "203.0.113.10:80"), kLan);
    CHECK(out.packet.src == ep("203.0.113.1:40000"));
    const trace::Event* remapped = fact_of(out, trace::Fact::NatMappingCreated);
    REQUIRE(remapped);
    CHECK(remapped->src.port == 20);
    CHECK(remapped->src_after.port == 40000);
}

TEST_CASE("NAT: without port preservation ports are handed out in order from the pool") {
    NatConfig cfg = NatConfig::port_restricted();
    cfg.port_preservation = false;
    cfg.port_min = 40000;
    cfg.port_max = 40009;
    Router r(home_config(cfg));
    CHECK(r.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:40000"));
    CHECK(r.process(syn("192.168.1.10:5001", "203.0.113.10:80"), kLan).packet.src == ep("203.0.113.1:40001"));
}

TEST_CASE("NAT: an exhausted port pool drops the packet") {
    NatConfig cfg = NatConfig::port_restricted();
    cfg.port_min = 40000;
    cfg.port_max = 40001;
    Router r(home_config(cfg));
    CHECK(r.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan).verdict == Verdict::Forward);
    CHECK(r.process(syn("192.168.1.10:5001", "203.0.113.10:80"), kLan).verdict == Verdict::Forward);
    RouterResult third = r.process(syn("192.168.1.10:5002", "203.0.113.10:80"), kLan);
    CHECK(third.verdict == Verdict::Drop);
    REQUIRE(!third.notes.empty());
    CHECK(third.notes.back().reason == "NAT port pool exhausted");
    CHECK(third.notes.back().verdict == trace::Verdict::Dropped);
    // The same endpoint reuses its mapping (endpoint-independent): no new port needed.
    CHECK(r.process(syn("192.168.1.10:5000", "203.0.113.20:80"), kLan).verdict == Verdict::Forward);
}

TEST_CASE("NAT: an idle mapping expires after the transitory or established timeout") {
    NatConfig cfg = NatConfig::full_cone();
    Router r(home_config(cfg));

    SUBCASE("transitory: a SYN never answered is forgotten after 4 minutes") {
        r.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan, 0);
        CHECK(r.snapshot(4 * 60 * kSec - 1).nat.size() == 1);
        CHECK(r.snapshot(4 * 60 * kSec).nat.empty());
        RouterResult late = r.process(syn("203.0.113.20:80", "203.0.113.1:5000"), kWan, 4 * 60 * kSec);
        CHECK(late.verdict != Verdict::Forward);
        const trace::Event* expired = fact_of(late, trace::Fact::NatMappingExpired);
        REQUIRE(expired);
        CHECK(expired->src == tep("192.168.1.10:5000"));
        CHECK(expired->src_after == tep("203.0.113.1:5000"));
        CHECK(expired->timeout_ns == 4 * 60 * kSec);
        CHECK(expired->state == "transitory");
    }
    SUBCASE("established: 2 h 4 min idle, refreshed by traffic") {
        r.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan, 0);
        r.process(make_packet(ep("203.0.113.10:80"), ep("203.0.113.1:5000"), kSyn | kAck, 7, 101), kWan, 1 * kSec);
        r.process(make_packet(ep("192.168.1.10:5000"), ep("203.0.113.10:80"), kAck, 101, 8), kLan, 2 * kSec);
        const TimeNs two_h_four = (2 * 3600 + 4 * 60) * kSec;
        const Packet data = make_packet(ep("203.0.113.10:80"), ep("203.0.113.1:5000"), kAck | kPsh, 8, 101, "x");
        RouterResult in_time = r.process(data, kWan, 2 * kSec + two_h_four - 1);
        CHECK(in_time.verdict == Verdict::Forward);
        const TimeNs last = 2 * kSec + two_h_four - 1;
        CHECK(r.snapshot(last + two_h_four - 1).nat.size() == 1);
        const Packet more = make_packet(ep("203.0.113.10:80"), ep("203.0.113.1:5000"), kAck | kPsh, 9, 101, "y");
        RouterResult too_late = r.process(more, kWan, last + two_h_four);
        CHECK(too_late.verdict != Verdict::Forward);
        const trace::Event* expired = fact_of(too_late, trace::Fact::NatMappingExpired);
        REQUIRE(expired);
        CHECK(expired->timeout_ns == two_h_four);
        CHECK(expired->state == "established");
    }
    SUBCASE("timeouts are configurable") {
        NatConfig quick = NatConfig::full_cone();
        quick.timeouts.transitory = 30 * kSec;
        Router q(home_config(quick));
        q.process(syn("192.168.1.10:5000", "203.0.113.10:80"), kLan, 0);
        CHECK(q.snapshot(29 * kSec).nat.size() == 1);
        CHECK(q.snapshot(30 * kSec).nat.empty());
    }
}

TEST_CASE("NAT: an inbound SYN with no mapping reaches the router's closed port, or is dropped") {
    RouterConfig cfg = home_config(NatConfig::port_restricted());
    SUBCASE("Linux answers with RST") {
        Router r(cfg);
        RouterResult h = r.process(syn("203.0.113.10:40000", "203.0.113.1:30000"), kWan);
        CHECK(h.verdict == Verdict::Reject);
        CHECK(h.out_iface == kWan);
        CHECK(h.packet.has(kRst));
        CHECK(h.packet.src == ep("203.0.113.1:30000"));
        CHECK(h.packet.dst == ep("203.0.113.10:40000"));
        CHECK(h.packet.ack == 101);
        CHECK(h.notes.back().verdict == trace::Verdict::Rejected);
    }
    SUBCASE("a router that drops") {
        cfg.closed_port = ClosedPortPolicy::Drop;
        Router r(cfg);
        RouterResult h = r.process(syn("203.0.113.10:40000", "203.0.113.1:30000"), kWan);
        CHECK(h.verdict == Verdict::Drop);
        CHECK(h.notes.back().reason == "no NAT mapping or port forward for 203.0.113.1:30000");
        CHECK(h.notes.back().fact.fact == trace::Fact::ClosedPort);
        CHECK(h.notes.back().fact.action == trace::Action::Drop);
        CHECK(h.notes.back().verdict == trace::Verdict::Dropped);
    }
    SUBCASE("a router that rejects with ICMP port unreachable") {
        cfg.closed_port = ClosedPortPolicy::IcmpPortUnreachable;
        Router r(cfg);
        RouterResult h = r.process(syn("203.0.113.10:40000", "203.0.113.1:30000"), kWan);
        CHECK(h.verdict == Verdict::RejectIcmp);
        CHECK(h.out_iface == kWan);
        CHECK(h.packet.src == ep("203.0.113.10:40000"));  // the offending packet, for the ICMP's quote
        CHECK(h.notes.back().fact.action == trace::Action::Icmp);
        CHECK(h.notes.back().verdict == trace::Verdict::Rejected);
        const trace::Event& closed = h.notes.back().fact;
        CHECK(closed.fact == trace::Fact::ClosedPort);
        CHECK(closed.flags == "S");
        CHECK(closed.src == tep("203.0.113.10:40000"));
        CHECK(closed.dst == tep("203.0.113.1:30000"));
        // A RST to a closed port is never answered.
        CHECK(r.process(make_packet(ep("203.0.113.10:40000"), ep("203.0.113.1:30000"), kRst, 5), kWan).verdict ==
              Verdict::Drop);
    }
}

TEST_CASE("NAT: hairpinning") {
    NatConfig cfg = NatConfig::full_cone();
    CHECK_FALSE(cfg.hairpinning);  // the one default: off, like a Linux masquerade rule alone
    SUBCASE("on: an inside host reaches another through the public address, seen from its own public address") {
        cfg.hairpinning = true;
        Router r(home_config(cfg));
        r.process(syn("192.168.1.11:6000", "203.0.113.10:80"), kLan);  // B gets 203.0.113.1:6000
        RouterResult h = r.process(syn("192.168.1.10:5000", "203.0.113.1:6000"), kLan);
        REQUIRE(h.verdict == Verdict::Forward);
        CHECK(h.out_iface == kLan);
        CHECK(h.packet.dst == ep("192.168.1.11:6000"));
        CHECK(h.packet.src == ep("203.0.113.1:5000"));
        // B's answer goes back the same way.
        RouterResult back = r.process(make_packet(ep("192.168.1.11:6000"), ep("203.0.113.1:5000"), kSyn | kAck, 1, 101), kLan);
        REQUIRE(back.verdict == Verdict::Forward);
        CHECK(back.packet.src == ep("203.0.113.1:6000"));
        CHECK(back.packet.dst == ep("192.168.1.10:5000"));
    }
    SUBCASE("off: dropped") {
        cfg.hairpinning = false;
        Router r(home_config(cfg));
        r.process(syn("192.168.1.11:6000", "203.0.113.10:80"), kLan);
        RouterResult h = r.process(syn("192.168.1.10:5000", "203.0.113.1:6000"), kLan);
        CHECK(h.verdict == Verdict::Drop);
        CHECK(h.notes.back().reason == "NAT hairpinning off");
    }
}

TEST_CASE("NAT: an ICMP port unreachable about a masqueraded connection goes back to the inside host") {
    Router r(home_config(NatConfig::port_restricted()));
    RouterResult out = r.process(syn("192.168.1.10:50000", "198.51.100.7:30001"), kLan);
    REQUIRE(out.verdict == Verdict::Forward);
    const Packet icmp = make_icmp_port_unreachable(*proto::parse_ip("198.51.100.7"), out.packet);
    CHECK(icmp.quoted_src == ep("203.0.113.1:50000"));
    RouterResult back = r.process(icmp, kWan);
    REQUIRE(back.verdict == Verdict::Forward);
    CHECK(back.out_iface == kLan);
    CHECK(back.packet.icmp == Icmp::PortUnreachable);
    CHECK(back.packet.dst.addr == *proto::parse_ip("192.168.1.10"));
    CHECK(back.packet.quoted_src == ep("192.168.1.10:50000"));
    CHECK(back.packet.quoted_dst == ep("198.51.100.7:30001"));
    // One about no connection the router knows is only routed.
    const Packet stray = make_icmp_port_unreachable(*proto::parse_ip("198.51.100.7"),
                                                    make_packet(ep("203.0.113.9:1"), ep("198.51.100.7:2"), kSyn));
    CHECK(r.process(stray, kWan).verdict == Verdict::Forward);
}
