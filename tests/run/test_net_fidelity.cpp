// Issue 15 (items 4, 5, 8): the library scenarios of NAT port preservation, a router's policy for
// unforwarded ports and the in-depth article's cases, run through the simulator and checked on
// the trace's fields (connection endpoints, verdicts, the FTP lines as sent).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "tools.hpp"
#include "viz/export.hpp"

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

namespace {

trace::Trace run_library_with(const std::string& name, const std::vector<std::string>& sets) {
    auto s = scenario::load_file(std::string(FTPSIM_SOURCE_DIR) + "/scenarios/" + name + ".yaml", sets);
    sim::RunOptions o;
    o.verify_fixes = false;
    o.diagnose = false;
    return sim::run(s, o);
}

// The payload of the control segment that starts with `prefix` on its hop from -> to.
std::string control_payload(const trace::Trace& t, const std::string& from, const std::string& to,
                            const std::string& prefix) {
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.from == from && e.to == to && e.payload.rfind(prefix, 0) == 0)
            return e.payload;
    return {};
}

}  // namespace

TEST_CASE("the article's PORT 12,34,56,78,65,43: the client announces its WAN address and 16683 is forwarded") {
    auto t = run_library("article-port-announce-wan-ip-16683");
    CHECK(t.outcome.ok);
    CHECK(control_payload(t, "internet", "server", "PORT") == "PORT 12,34,56,78,65,43\r\n");
    CHECK(control_payload(t, "client", "linksys", "PORT") == "PORT 12,34,56,78,65,43\r\n");  // written so
    const auto* data = connection(t, "server", "data");
    REQUIRE(data);
    CHECK(data->initiator_remote == trace::Endpoint{"12.34.56.78", 16683});
    CHECK(data->responder_local == trace::Endpoint{"192.168.1.100", 16683});
    // Without the forward the server's connect never reaches the client.
    auto unforwarded = run_library_with("article-port-announce-wan-ip-16683", {"nodes.linksys.forwards=[]"});
    CHECK_FALSE(unforwarded.outcome.ok);
}

TEST_CASE("the article's 227 (123,45,67,89,158,26): the server announces its WAN address and 40474 is forwarded") {
    auto t = run_library("article-pasv-forwarded-40474");
    CHECK(t.outcome.ok);
    CHECK(control_payload(t, "client-linksys", "client", "227") ==
          "227 Entering Passive Mode (123,45,67,89,158,26).\r\n");
    const auto* data = connection(t, "client", "data");
    REQUIRE(data);
    CHECK(data->initiator_remote == trace::Endpoint{"123.45.67.89", 40474});
    CHECK(data->responder_local == trace::Endpoint{"192.168.10.20", 40474});
}

TEST_CASE("the article's Linksys helper rewrites PORT only: a 227 passes untouched, a Linux helper rewrites it") {
    const std::vector<std::string> both_ports = {"nodes.server-linksys.alg.ports=[21,2121]",
                                                 "nodes.client-linksys.alg.ports=[21,2121]"};
    auto linksys = run_library_with("both-behind-home-routers-port-2121-passive", both_ports);
    CHECK(control_payload(linksys, "internet", "client-linksys", "227").find("(192,168,10,20,158,26)") !=
          std::string::npos);
    CHECK_FALSE(linksys.outcome.ok);
    auto sets = both_ports;
    sets.push_back("nodes.server-linksys.alg.forms=[PORT,EPRT,227,229]");
    auto linux_helper = run_library_with("both-behind-home-routers-port-2121-passive", sets);
    CHECK(control_payload(linux_helper, "internet", "client-linksys", "227").find("(198,51,100,89,158,26)") !=
          std::string::npos);
    CHECK(linux_helper.outcome.ok);
    // In active mode the client-side Linksys does rewrite PORT on a port it inspects.
    auto active = run_library_with("both-behind-home-routers-port-2121-active", both_ports);
    CHECK(control_payload(active, "client-linksys", "internet", "PORT").rfind("PORT 203,0,113,78,", 0) == 0);
}

TEST_CASE("pcap: the router's ICMP port unreachable is a real ICMP packet that tshark decodes, quoting the SYN") {
    if (!testing::have_tool("tshark")) {
        FAIL("tshark is not installed: run tools/install-deps.sh --test");
        return;
    }
    auto t = run_library("router-input-reject-icmp-closed-port");
    testing::TempDir dir;
    auto file = dir / "icmp.pcap";
    viz::PcapOptions o;
    o.at = viz::CapturePoint::client_side("client");
    testing::write_file(file, viz::to_pcap(t, o));
    const auto* data = connection(t, "client", "data");
    REQUIRE(data);
    const std::string quoted = "icmp.type == 3 && icmp.code == 3 && ip.src == 203.0.113.1 && tcp.srcport == " +
                               std::to_string(data->initiator_local.port) + " && tcp.dstport == " +
                               std::to_string(data->initiator_remote.port) + " && icmp.checksum.status == 1";
    CHECK(testing::tshark_count(file.string(), quoted) == 1);
}
