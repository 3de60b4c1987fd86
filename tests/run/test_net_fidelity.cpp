// Issue 15 (items 4, 5, 8): the library scenarios of NAT port preservation, a router's policy for
// unforwarded ports and the in-depth article's cases, run through the simulator and checked on
// the trace's fields (connection endpoints, verdicts, the FTP lines as sent).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim;

namespace {

trace::Trace run_library(const std::string& name) {
    auto s = scenario::load_file(std::string(FTPSIM_SOURCE_DIR) + "/scenarios/" + name + ".yaml");
    sim::RunOptions o;
    o.verify_fixes = false;
    return sim::run(s, o);
}

const trace::Connection* connection(const trace::Trace& t, const std::string& initiator, const std::string& purpose,
                                    int nth = 0) {
    for (const auto& c : t.connections)
        if (c.initiator == initiator && c.purpose == purpose && nth-- == 0) return &c;
    return nullptr;
}

}  // namespace

TEST_CASE("masquerade keeps vsftpd's source port 20 when it is free") {
    auto t = run_library("masquerade-keeps-source-port-20");
    CHECK(t.outcome.ok);
    const auto* data = connection(t, "server", "data");
    REQUIRE(data);
    CHECK(data->initiator_local == trace::Endpoint{"192.168.2.10", 20});
    // The client sees the router's public address and the same port.
    CHECK(data->responder_remote == trace::Endpoint{"203.0.113.1", 20});
}

TEST_CASE("masquerade remaps a source port only when another mapping holds it") {
    auto t = run_library("masquerade-remaps-port-on-clash");
    CHECK(t.outcome.ok);
    const auto* alice = connection(t, "alice", "control");
    const auto* bob = connection(t, "bob", "control");
    REQUIRE(alice);
    REQUIRE(bob);
    CHECK(alice->initiator_local.port == 40000);
    CHECK(bob->initiator_local.port == 40000);
    CHECK(alice->responder_remote == trace::Endpoint{"203.0.113.1", 40000});
    CHECK(bob->responder_remote == trace::Endpoint{"203.0.113.1", 40001});
}

namespace {

// The data connection the client opened (passive mode) and its hops at the router.
struct ClosedPortRun {
    trace::Trace t;
    const trace::Connection* data = nullptr;
    std::vector<const trace::Event*> syns_at_router;    // the data SYNs' client -> router hops
    std::vector<const trace::Event*> answers;           // router -> client packets about it
};

ClosedPortRun closed_port_run(const std::string& name) {
    ClosedPortRun r;
    r.t = run_library(name);
    r.data = connection(r.t, "client", "data");
    REQUIRE(r.data);
    for (const auto& e : r.t.events) {
        if (e.kind != trace::EventKind::Segment || e.conn != r.data->id) continue;
        if (e.from == "client" && e.to == "router" && e.flags == "S") r.syns_at_router.push_back(&e);
        if (e.from == "router" && e.to == "client") r.answers.push_back(&e);
    }
    return r;
}

}  // namespace

TEST_CASE("router INPUT policy: accept answers RST, drop is silent, reject answers RST or ICMP") {
    auto accept = closed_port_run("router-input-accept-closed-port-rst");
    auto drop = closed_port_run("router-input-drop-closed-port-times-out");
    auto icmp = closed_port_run("router-input-reject-icmp-closed-port");
    auto reset = closed_port_run("router-input-reject-tcp-reset-closed-port");
    for (auto* r : {&accept, &drop, &icmp, &reset}) {
        CHECK_FALSE(r->t.outcome.ok);
        REQUIRE(r->t.outcome.transfers.size() == 1);
        CHECK(r->t.outcome.transfers[0].reply == 0);  // curl gives up before RETR
        REQUIRE(!r->syns_at_router.empty());
        CHECK(r->syns_at_router.front()->dst.addr == "203.0.113.1");
    }
    // accept and `reject with tcp reset`: one SYN, rejected, and a RST back one hop later.
    for (auto* r : {&accept, &reset}) {
        CHECK(r->syns_at_router.size() == 1);
        CHECK(r->syns_at_router[0]->verdict == trace::Verdict::Rejected);
        REQUIRE(r->answers.size() == 1);
        CHECK(r->answers[0]->flags == "RA");
        CHECK(r->answers[0]->src == r->syns_at_router[0]->dst);
    }
    // drop: the SYN and its six retransmissions (1, 2, 4, 8, 16, 32 s apart), no answer.
    REQUIRE(drop.syns_at_router.size() == 7);
    for (const auto* e : drop.syns_at_router) CHECK(e->verdict == trace::Verdict::Dropped);
    CHECK(drop.syns_at_router.back()->time_ns - drop.syns_at_router.front()->time_ns == 63 * trace::kNsPerSec);
    CHECK(drop.answers.empty());
    // reject with icmp port-unreachable: an ICMP from the router's address quoting the SYN,
    // arriving when the RST would.
    CHECK(icmp.syns_at_router.size() == 1);
    CHECK(icmp.syns_at_router[0]->verdict == trace::Verdict::Rejected);
    REQUIRE(icmp.answers.size() == 1);
    const trace::Event& m = *icmp.answers[0];
    CHECK(m.action == trace::Action::Icmp);
    CHECK(m.flags.empty());
    CHECK(m.src == trace::Endpoint{"203.0.113.1", 0});
    CHECK(m.dst == trace::Endpoint{"203.0.113.10", 0});
    CHECK(m.quoted_src == icmp.data->initiator_local);
    CHECK(m.quoted_dst == icmp.syns_at_router[0]->dst);
    CHECK(m.verdict == trace::Verdict::Delivered);
    CHECK(m.arrive_ns == reset.answers[0]->arrive_ns);
}
