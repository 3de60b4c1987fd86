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
