// lftp's retries of a failed transfer on a new control connection (net:max-retries,
// net:reconnect-interval-base) and ftp:auto-passive-mode, curl's one connect budget, and the
// recycled-ICMP-packet bug, against the real stack's measurements
// (tests/rig, lftp 4.9.2 against vsftpd 3.0.3; docs/fidelity.md): the scenarios are written here,
// independent of the library.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/run/diagnose.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim;

namespace {

// The client behind a masquerading router (cnat), or the server behind it with only 21
// forwarded (snat21); vsftpd; lftp with net:timeout 3 s, net:max-retries 3 and
// net:reconnect-interval-base 1 s, as in the rig.
std::string yaml(bool server_behind, bool pasv_address_drop, const char* mode, const char* auto_passive) {
    std::string y = "title: \"lftp retries\"\nseed: 1\nnodes:\n";
    if (!server_behind) {
        y += "  client: {interfaces: [192.168.1.10/24], gateway: 192.168.1.1}\n"
             "  router:\n    kind: router\n    interfaces:\n"
             "      - {name: lan1, address: 192.168.1.1/24, side: inside}\n"
             "      - {name: wan, address: 203.0.113.1/24, side: outside}\n"
             "    nat: port-restricted\n    alg: {enabled: false, ports: [21]}\n"
             "  server: {interfaces: [203.0.113.10/24]}\n";
    } else {
        y += "  client: {interfaces: [203.0.113.10/24]}\n"
             "  router:\n    kind: router\n    interfaces:\n"
             "      - {name: wan, address: 203.0.113.1/24, side: outside}\n"
             "      - {name: lan2, address: 192.168.2.1/24, side: inside}\n"
             "    nat: port-restricted\n    alg: {enabled: false, ports: [21]}\n";
        if (pasv_address_drop) y += "    input: {policy: drop}\n";
        y += "    forwards:\n      - {port: 21, to: \"192.168.2.10:21\"}\n"
             "  server: {interfaces: [192.168.2.10/24], gateway: 192.168.2.1}\n";
    }
    y += "links:\n  - {between: [client, router], latency: 1ms, bandwidth: 1Gbit/s}\n"
         "  - {between: [router, server], latency: 1ms, bandwidth: 1Gbit/s}\n"
         "servers:\n  server:\n    profile: vsftpd\n    passive_ports: 30000-30009\n";
    if (pasv_address_drop) y += "    pasv_address: 203.0.113.1\n";
    y += "    files: {/file.bin: 65536}\nclients:\n  client:\n    profile: lftp\n";
    y += std::string("    mode: ") + mode + "\n";
    y += std::string("    server: ") + (server_behind ? "203.0.113.1:21" : "203.0.113.10:21") + "\n";
    y += std::string("    options: {\"net:timeout\": 3s, \"net:max-retries\": 3, \"net:reconnect-interval-base\": 1s, "
                     "\"ftp:auto-passive-mode\": ") + auto_passive + "}\n";
    y += "    script: [login, get /file.bin, quit]\n";
    return y;
}

struct Seen {
    std::vector<int> replies;              // the codes the client received, in order
    std::vector<std::string> setups;       // PORT/PASV as the client sent them (verb only)
    std::vector<trace::TimeNs> starts;     // each control connection's first SYN
    std::vector<int> retries;              // the ClientRetry notes' attempt numbers
    bool ok = false;
};

Seen run_cell(const std::string& text) {
    auto s = scenario::load_string(text, "lftp-retry.yaml");
    sim::RunOptions o;
    o.verify_fixes = false;
    const auto t = sim::run(s, o);
    Seen seen;
    seen.ok = t.outcome.ok;
    for (const auto& l : sim::control_lines(t)) {
        if (!l.from_client && l.ftp.code && l.ftp.final_line) {
            seen.replies.push_back(l.ftp.code);
        } else if (l.from_client && (l.ftp.verb == "PORT" || l.ftp.verb == "PASV")) {
            seen.setups.push_back(l.ftp.verb);
        }
    }
    for (const auto& c : t.connections) {
        if (c.purpose != "control") continue;
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.conn == c.id) {
                seen.starts.push_back(e.time_ns);
                break;
            }
    }
    for (const auto& e : t.events)
        if (e.fact == trace::Fact::ClientRetry && e.state == "retry-transfer") seen.retries.push_back(e.attempt);
    return seen;
}

}  // namespace

TEST_CASE("lftp: after 500 Illegal PORT it reconnects 1 s after the first try, in passive mode (ftp:auto-passive-mode)") {
    const Seen s = run_cell(yaml(false, false, "port", "yes"));
    CHECK(s.ok);
    // The retry logs in again but knows the home directory, size and date: no PWD, SIZE, MDTM.
    CHECK(s.replies == std::vector<int>{220, 211, 230, 257, 200, 213, 213, 500, 220, 211, 230, 200, 227, 150, 226, 221});
    CHECK(s.setups == std::vector<std::string>{"PORT", "PASV"});
    REQUIRE(s.starts.size() == 2);
    CHECK(s.starts[0] == 0);
    CHECK(s.starts[1] == trace::kNsPerSec);  // net:reconnect-interval-base after the first try's start
    CHECK(s.retries == std::vector<int>{2});
}

TEST_CASE("lftp: with ftp:auto-passive-mode off, PORT is refused on each of the 3 tries, at 0, 1 and 2 s") {
    const Seen s = run_cell(yaml(false, false, "port", "no"));
    CHECK_FALSE(s.ok);
    CHECK(s.replies == std::vector<int>{220, 211, 230, 257, 200, 213, 213, 500, 220, 211, 230, 200, 500, 220, 211, 230, 200, 500});
    CHECK(s.setups == std::vector<std::string>{"PORT", "PORT", "PORT"});
    REQUIRE(s.starts.size() == 3);
    CHECK(s.starts[1] == trace::kNsPerSec);
    CHECK(s.starts[2] == 2 * trace::kNsPerSec);
    CHECK(s.retries == std::vector<int>{2, 3});
}

TEST_CASE("lftp: after a refused passive connection it reconnects 1 s later in active mode") {
    const Seen s = run_cell(yaml(true, false, "pasv", "yes"));
    CHECK(s.ok);
    CHECK(s.replies == std::vector<int>{220, 211, 230, 257, 200, 213, 213, 227, 220, 211, 230, 200, 200, 150, 226, 221});
    CHECK(s.setups == std::vector<std::string>{"PASV", "PORT"});
    REQUIRE(s.starts.size() == 2);
    CHECK(s.starts[1] == trace::kNsPerSec);
    CHECK(s.retries == std::vector<int>{2});
}

TEST_CASE("lftp: after a timed-out passive connection it keeps passive and reconnects at once (3 s, 6 s)") {
    const Seen s = run_cell(yaml(true, true, "pasv", "yes"));
    CHECK_FALSE(s.ok);
    CHECK(s.replies == std::vector<int>{220, 211, 230, 257, 200, 213, 213, 227, 220, 211, 230, 200, 227, 220, 211, 230, 200, 227});
    CHECK(s.setups == std::vector<std::string>{"PASV", "PASV", "PASV"});
    REQUIRE(s.starts.size() == 3);
    // The data connection was given up net:timeout (3 s) after its SYN at 36.017 ms; the
    // reconnect interval from the try's start (1 s) is past: the next try starts at once.
    CHECK(s.starts[1] == 3'036'017'408);
    CHECK(s.starts[2] == 6'060'029'344);
    CHECK(s.retries == std::vector<int>{2, 3});
}

// A model bug found by the rig (curl-vsftpd-snat21-off-epsv-pasvaddr-icmp): the simulator recycles
// its packets, and one that had carried an ICMP error made the next TCP segment an ICMP error too.
// After curl's EPSV and then its PASV connection were both answered with ICMP port unreachable,
// the control connection's ACK and FIN went out as "ICMP" and the router dropped them.
TEST_CASE("two ICMP port unreachables in one session: the control connection's later segments stay TCP and it closes") {
    const char* text = R"(title: "curl EPSV then PASV, both answered with ICMP port unreachable"
seed: 1
nodes:
  client: {interfaces: [203.0.113.10/24]}
  router:
    kind: router
    interfaces:
      - {name: wan, address: 203.0.113.1/24, side: outside}
      - {name: lan2, address: 192.168.2.1/24, side: inside}
    nat: port-restricted
    alg: {enabled: false, ports: [21]}
    input: {reject: "icmp port-unreachable"}
    forwards: [{port: 21, to: "192.168.2.10:21"}]
  server: {interfaces: [192.168.2.10/24], gateway: 192.168.2.1}
links:
  - {between: [client, router], latency: 1ms, bandwidth: 1Gbit/s}
  - {between: [router, server], latency: 1ms, bandwidth: 1Gbit/s}
servers:
  server: {profile: vsftpd, passive_ports: 30000-30009, pasv_address: 203.0.113.1, files: {/file.bin: 65536}}
clients:
  client:
    profile: curl
    mode: epsv
    server: 203.0.113.1:21
    options: {connect-timeout: 3s, max-time: 5s}
    script: [login, get /file.bin, quit]
)";
    auto s = scenario::load_string(text, "two-icmp.yaml");
    sim::RunOptions o;
    o.verify_fixes = false;
    const auto t = sim::run(s, o);
    CHECK_FALSE(t.outcome.ok);
    int control = -1, icmp_data = 0;
    for (const auto& c : t.connections)
        if (c.purpose == "control") control = c.id;
    REQUIRE(control >= 0);
    trace::TimeNs client_fin = -1, server_fin_back = -1;  // the server's answer to the FIN
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment) continue;
        if (e.conn == control) {
            // Every segment of the control connection is TCP, and none is dropped.
            CHECK(e.verdict != trace::Verdict::Dropped);
            if (e.flags.find('F') != std::string::npos && e.from == "router" && e.to == "server" && client_fin < 0)
                client_fin = e.arrive_ns;
            if (client_fin > 0 && e.from == "router" && e.to == "client" && e.time_ns > client_fin)
                server_fin_back = e.arrive_ns;
        } else if (e.text.find("ICMP") != std::string::npos || e.flags.empty()) {
            ++icmp_data;
        }
    }
    CHECK(icmp_data >= 2);  // EPSV's and PASV's connections were each answered with an ICMP error
    CHECK(client_fin > 0);      // curl's FIN reached the server
    CHECK(client_fin == 30'012'912);  // curl's FIN reaches the server 2 ms after the ICMP (28.012 ms)
    CHECK(server_fin_back > 0);  // and the server's ACK of it came back
}

// curl's --connect-timeout is one budget for the transfer's data connections (rig cell
// curl-vsftpd-snat21-off-epsv-pasvaddr-drop: replies 220 230 257 229 227, one data connection,
// the control connection closed 3 s after the first SYN).
TEST_CASE("curl --connect-timeout: the PASV fallback after a timed-out EPSV connection finds the budget spent") {
    const char* text = R"(title: "curl EPSV, the data port dropped by the router"
seed: 1
nodes:
  client: {interfaces: [203.0.113.10/24]}
  router:
    kind: router
    interfaces:
      - {name: wan, address: 203.0.113.1/24, side: outside}
      - {name: lan2, address: 192.168.2.1/24, side: inside}
    nat: port-restricted
    alg: {enabled: false, ports: [21]}
    input: {policy: drop}
    forwards: [{port: 21, to: "192.168.2.10:21"}]
  server: {interfaces: [192.168.2.10/24], gateway: 192.168.2.1}
links:
  - {between: [client, router], latency: 1ms, bandwidth: 1Gbit/s}
  - {between: [router, server], latency: 1ms, bandwidth: 1Gbit/s}
servers:
  server: {profile: vsftpd, passive_ports: 30000-30009, pasv_address: 203.0.113.1, files: {/file.bin: 65536}}
clients:
  client:
    profile: curl
    mode: epsv
    server: 203.0.113.1:21
    options: {connect-timeout: 3s, max-time: 5s}
    script: [login, get /file.bin, quit]
)";
    auto s = scenario::load_string(text, "curl-budget.yaml");
    sim::RunOptions o;
    o.verify_fixes = false;
    const auto t = sim::run(s, o);
    CHECK_FALSE(t.outcome.ok);
    int data = 0, control = -1;
    for (const auto& c : t.connections) {
        if (c.purpose == "data") ++data;
        if (c.purpose == "control") control = c.id;
    }
    CHECK(data == 1);  // EPSV's; PASV's is never tried
    std::vector<int> replies;
    trace::TimeNs reply_227 = -1;
    for (const auto& l : sim::control_lines(t))
        if (!l.from_client && l.ftp.code && l.ftp.final_line) {
            replies.push_back(l.ftp.code);
            if (l.ftp.code == 227) reply_227 = l.time_ns;
        }
    CHECK(replies == std::vector<int>{220, 230, 257, 229, 227});
    trace::TimeNs fin = -1;
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.conn == control && e.from == "client" &&
            e.flags.find('F') != std::string::npos && fin < 0)
            fin = e.time_ns;
    // The EPSV connection gives up 3 s after its SYN (20.008 ms) and PASV goes out at once; the
    // 227 leaves the server at 3.022 s and curl's FIN follows as soon as it is in (3.023 s, then
    // the segment's turn on the link).
    CHECK(reply_227 == 3'022'009'568);
    CHECK(fin == 3'024'010'992);
}
