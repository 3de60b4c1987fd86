// The simulator's client apps are freed once done (sim/run/apps.hpp, ClientApp::done): a run of
// many sessions holds the clients under way, not every client it ran.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "protocol/client_profile.hpp"
#include "sim/net/network.hpp"
#include "sim/run/apps.hpp"
#include "sim/run/build.hpp"
#include "sim/run/digest.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim;

namespace {

// curl (connect timeout 300 s by default, max-time 100 s here) fetches a file and quits in well
// under a second; its two timers of its own stay armed long after.
std::string yaml(int count) {
    return "title: \"apps\"\nseed: 3\nlimits: {time: 1000s}\nnodes:\n"
           "  client: {interfaces: [192.168.70.10/24]}\n"
           "  server: {interfaces: [192.168.70.20/24]}\n"
           "links:\n  - {between: [client, server], latency: 1ms}\n"
           "servers:\n  server:\n    profile: vsftpd\n    files:\n      /pub/file.bin: 8KiB\n"
           "clients:\n  client:\n    profile: curl\n    mode: pasv\n    count: " +
           std::to_string(count) +
           "\n    options: {max-time: 100}\n    server: 192.168.70.20:21\n"
           "    script: [login, get /pub/file.bin, quit]\n";
}

}  // namespace

TEST_CASE("a client app is done once its session and its sockets are over; freed then, its timers find it gone") {
    auto s = scenario::load_string(yaml(1), "apps");
    net::Network net(sim::build_topology(s));
    const auto& sv = s.servers.front();
    sim::ServerApp server(net, sv.node, sim::build_server_config(sv), sim::build_vfs(sv), 1, proto::IpAddress{}, sv.port);
    net.on_start(sv.node, [&](net::Stack& st) { server.start(st); });
    const auto& c = s.clients.front();
    proto::ClientConfig cc;
    cc.profile = *proto::find_client_profile(c.profile);
    sim::apply_client_options(c, cc.profile);
    cc.mode = sim::build_mode(c.mode);
    cc.script = sim::build_script(c);
    auto app = std::make_unique<sim::ClientApp>(net, c.node, cc, sim::source_address(*s.node(c.node), c.server.addr),
                                                c.server);
    int told = 0;
    bool done_when_told = false;
    std::size_t refs_when_told = 99;
    net::TimeNs told_at = -1;
    sim::ClientReport report;
    app->when_done([&](net::Stack& st) {
        ++told;
        told_at = st.now();
        done_when_told = app->done();
        refs_when_told = st.handler_refs(app.get());
        st.after_event([&] {
            report = app->report();
            app.reset();
        });
    });
    net.on_start(c.node, [&](net::Stack& st) { app->start(st); });
    trace::Trace t = net.run(1000 * trace::kNsPerSec, 1'000'000);

    CHECK(told == 1);
    CHECK(done_when_told);
    CHECK(refs_when_told == 0);
    CHECK(app == nullptr);
    CHECK(report.all_ok);
    REQUIRE(report.transfers.size() == 1);
    CHECK(report.transfers[0].ok);
    CHECK(report.transfers[0].bytes == 8192);
    // Told after the client's last socket closed, within the first second.
    net::TimeNs last_client_close = -1;
    for (const auto& e : t.events)
        if (e.from == "client" && e.fact == trace::Fact::Closed) last_client_close = e.time_ns;
    CHECK(last_client_close > 0);
    CHECK(told_at >= last_client_close);
    CHECK(told_at < trace::kNsPerSec);
    // Its max-time (100 s) and connect-timeout (300 s) timers fired after it was freed and did
    // nothing: the run went on past them (the server's own timers end it a little later), with
    // no event after the first second.
    CHECK(net.stats().end_ns >= 300 * trace::kNsPerSec);
    CHECK(t.events.back().time_ns < trace::kNsPerSec);
}

TEST_CASE("freed clients keep their place in the outcome") {
    auto s = scenario::load_string(yaml(40), "apps");
    trace::Trace t = sim::run(s);
    CHECK(t.outcome.ok);
    REQUIRE(t.outcome.transfers.size() == 40);
    for (const auto& tr : t.outcome.transfers) {
        CHECK(tr.ok);
        CHECK(tr.command == "RETR");
        CHECK(tr.bytes == 8192);
    }
    // The same run again gives the same trace (freeing depends on the run only).
    CHECK(sim::trace_digest(sim::run(s)) == sim::trace_digest(t));
}
