// The teaching library end to end: every scenario meets its expected outcome, matches its golden
// trace, runs deterministically, and every failure comes with a cause and a verified fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/run/digest.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "trace/json.hpp"
#include "viz/export.hpp"
#include "tests/support/files.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;

namespace {

const fs::path kSource = FTPSIM_SOURCE_DIR;

std::vector<fs::path> library() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(kSource / "scenarios"))
        if (e.path().extension() == ".yaml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

using ftpsim::testing::slurp;

}  // namespace

TEST_CASE("every library scenario meets its expected outcome") {
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        sim::RunOptions o;
        o.verify_fixes = false;
        auto t = sim::run(s, o);
        auto diffs = sim::check_expectation(s, t.outcome);
        std::string all;
        for (const auto& d : diffs) all += d + "; ";
        CHECK_MESSAGE(diffs.empty(), all);
    }
}

TEST_CASE("every library scenario matches its golden trace") {
    bool update = std::getenv("UPDATE_GOLDEN") != nullptr;
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        std::string got = sim::trace_digest(sim::run(s));
        fs::path golden = kSource / "tests" / "golden" / (f.stem().string() + ".txt");
        if (update) {
            std::ofstream(golden, std::ios::binary) << got;
            continue;
        }
        REQUIRE_MESSAGE(fs::exists(golden), "no golden trace; run with UPDATE_GOLDEN=1");
        CHECK(got == slurp(golden));
    }
}

TEST_CASE("the same scenario and seed give byte-identical JSON, SVG and pcap") {
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        sim::RunOptions o;
        o.verify_fixes = false;
        auto a = sim::run(s, o);
        auto b = sim::run(s, o);
        CHECK(trace::to_json(a) == trace::to_json(b));
        CHECK(viz::export_trace(a, viz::Format::Svg) == viz::export_trace(b, viz::Format::Svg));
        CHECK(viz::export_trace(a, viz::Format::Pcap) == viz::export_trace(b, viz::Format::Pcap));
    }
}

TEST_CASE("the diagnosis of every failing library scenario names its cause and a verified fix") {
    int failing = 0;
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        auto t = sim::run(s);
        if (t.outcome.ok) {
            // A run that works is only diagnosed for a security problem (the bounce attack).
            for (const auto& d : t.outcome.diagnosis) CHECK(d.what.rfind("Security:", 0) == 0);
            continue;
        }
        ++failing;
        REQUIRE(!t.outcome.diagnosis.empty());
        const auto& d = t.outcome.diagnosis.front();
        CHECK(!d.what.empty());
        CHECK(!d.cause.empty());
        bool verified = std::any_of(d.fixes.begin(), d.fixes.end(), [](const auto& x) { return x.verified; });
        if (s.expect && !s.expect->no_fix.empty())
            CHECK(d.fixes.empty());  // a refused attack: nothing to "fix"
        else
            CHECK_MESSAGE(verified, d.what);
        // A verified fix really works: apply it and run again.
        for (const auto& fix : d.fixes) {
            auto sets = s.sets;
            sets.insert(sets.end(), fix.sets.begin(), fix.sets.end());
            auto fixed = scenario::load_file(f.string(), sets);
            sim::RunOptions o;
            o.diagnose = false;
            CHECK_MESSAGE(sim::run(fixed, o).outcome.ok, fix.change);
        }
    }
    MESSAGE(failing << " failing scenarios diagnosed");
}

namespace {

// What the diagnosis of each failing library scenario must say: its kind, and a fact or reply
// code that must be among its evidence (checked by field, never by text).
struct ExpectedFinding {
    const char* scenario;
    const char* kind;
    trace::Fact fact;  // an evidence event with this fact (None: see code / verdict)
    int code;          // or: an evidence segment carrying a reply line with this code
    trace::Verdict verdict;  // or: an evidence segment with this verdict
};

constexpr auto kNone = trace::Fact::None;
constexpr auto kAny = trace::Verdict::None;

const ExpectedFinding kFindings[] = {
    {"both-behind-home-routers-port-2121-active", "alg-port-not-inspected", trace::Fact::AlgLineIgnored, 0, trace::Verdict::Dropped},
    {"both-behind-home-routers-port-2121-passive", "alg-port-not-inspected", trace::Fact::AlgLineIgnored, 227, kAny},
    {"bounce-attack-rfc959-obeys", "security-bounce-attack", kNone, 0, kAny},
    {"bounce-attack-vsftpd-refuses", "port-refused-foreign-address", trace::Fact::ServerRefusedAddress, 500, kAny},
    {"client-firewall-blocks-active", "data-connection-firewalled", trace::Fact::FirewallVerdict, 0, kAny},
    {"curl-vsftpd-cnat-off-active", "port-refused-foreign-address", trace::Fact::ServerRefusedAddress, 500, kAny},
    {"curl-vsftpd-snat21-off-pasv", "passive-port-not-forwarded", trace::Fact::ClosedPort, 0, trace::Verdict::Rejected},
    {"data-connection-reset-mid-transfer", "transfer-aborted", trace::Fact::FaultDataCut, 426, kAny},
    {"data-connection-stolen-pasv-promiscuous", "data-connection-stolen", trace::Fact::AttackerStole, 0, kAny},
    {"data-connection-stolen-vsftpd-refuses", "data-connection-from-attacker-refused",
     trace::Fact::ServerRefusedDataPeer, 425, kAny},
    {"disk-full-on-stor", "disk-full", trace::Fact::ServerDiskFull, 452, kAny},
    {"eprt-through-nat-no-alg", "port-refused-foreign-address", trace::Fact::ServerRefusedAddress, 500, kAny},
    {"ftps-hides-port-from-alg", "port-private-address", kNone, 0, trace::Verdict::Dropped},
    {"fxp-refused-by-vsftpd", "port-refused-foreign-address", trace::Fact::ServerRefusedAddress, 500, kAny},
    {"home-router-alg-active-port-2121-fails", "alg-port-not-inspected", trace::Fact::AlgLineIgnored, 0, trace::Verdict::Dropped},
    {"home-router-server-pasv-private-address", "pasv-private-address", kNone, 227, kAny},
    {"link-down-long-outage-times-out", "link-down", trace::Fact::LinkDown, 0, kAny},
    {"nat-idle-timeout-long-transfer", "nat-idle-expiry", trace::Fact::NatMappingExpired, 0, kAny},
    {"nat-port-restricted-default-data-port", "nat-filtering-blocks-data-connection", trace::Fact::NatInboundFiltered,
     0, kAny},
    {"nat-symmetric-default-data-port", "nat-filtering-blocks-data-connection", trace::Fact::NatInboundFiltered, 0,
     kAny},
    {"passive-port-range-exhaustion", "passive-ports-exhausted", trace::Fact::ServerPassiveExhausted, 0, kAny},
    {"server-restart-mid-transfer", "server-restart", trace::Fact::FaultServerStop, 0, kAny},
    {"spdt-reused-identifier", "security-spdt-replay-refused", trace::Fact::AttackerSniffed, 0, kAny},
    {"spdt-wrong-identifier", "security-spdt-guess-refused", trace::Fact::AttackerStole, 0, kAny},
    {"spsv-too-many-users", "too-many-users", trace::Fact::ServerUserLimit, 421, kAny},
    {"vsftpd-no-pasv-address-forwarded-range", "pasv-private-address", kNone, 227, kAny},
    {"curl-connect-timeout-passive", "data-connection-firewalled", trace::Fact::FirewallVerdict, 0, trace::Verdict::Dropped},
    {"ipv6-firewall-no-helper-active", "data-connection-firewalled", trace::Fact::FirewallVerdict, 0, trace::Verdict::Dropped},
    {"ipv6-pasv-pyftpdlib-address-text", "pasv-on-ipv6", kNone, 227, kAny},
    {"nat64-no-alg-pasv", "pasv-on-ipv6", kNone, 227, kAny},
    {"nat64-no-alg-eprt", "eprt-ipv6-to-ipv4-server", kNone, 500, kAny},
    {"nat64-alg-pasv", "pasv-on-ipv6", kNone, 227, kAny},
    {"nat64-alg-epsv-all", "ftp64-alg-refused", trace::Fact::Alg64Answered, 0, kAny},
    {"pyftpdlib-active-connect-timeout", "data-connection-firewalled", trace::Fact::FirewallVerdict, 0, trace::Verdict::Dropped},
    {"draft-rosenau-section-5", "too-many-users", trace::Fact::ServerUserLimit, 421, kAny},
    {"ftplib-timeout-control-connect", "control-connection-dropped", kNone, 0, trace::Verdict::Dropped},
    {"vsftpd-idle-session-timeout", "service-closing", kNone, 421, kAny},
    {"lftp-reconnects-refused-server", "control-connection-failed", trace::Fact::ConnectFailed, 0, kAny},
    {"router-input-accept-closed-port-rst", "passive-port-not-forwarded", trace::Fact::ClosedPort, 0, trace::Verdict::Rejected},
    {"router-input-drop-closed-port-times-out", "nat-filtering-blocks-data-connection", trace::Fact::ClosedPort, 0, trace::Verdict::Dropped},
    {"router-input-reject-icmp-closed-port", "passive-port-not-forwarded", trace::Fact::ClosedPort, 0, trace::Verdict::Rejected},
    {"router-input-reject-tcp-reset-closed-port", "passive-port-not-forwarded", trace::Fact::ClosedPort, 0, trace::Verdict::Rejected},
};

const ExpectedFinding* expected_finding(const std::string& stem) {
    for (const auto& f : kFindings)
        if (stem == f.scenario) return &f;
    return nullptr;
}

// The evidence names real events, and among them the one the finding must rest on.
void check_evidence(const trace::Trace& t, const trace::Diagnosis& d, const ExpectedFinding& x) {
    REQUIRE(!d.evidence.empty());
    bool fact = x.fact == kNone, code = x.code == 0, verdict = x.verdict == kAny;
    for (auto seq : d.evidence) {
        REQUIRE(seq < t.events.size());
        const auto& e = t.events[seq];
        CHECK(e.seq == seq);
        fact = fact || e.fact == x.fact;
        verdict = verdict || (e.kind == trace::EventKind::Segment && e.verdict == x.verdict);
        for (const auto& l : e.ftp) code = code || l.code == x.code;
    }
    CHECK_MESSAGE(fact, "no evidence event with fact " << trace::to_string(x.fact));
    CHECK_MESSAGE(code, "no evidence line with reply code " << x.code);
    CHECK_MESSAGE(verdict, "no evidence segment " << trace::to_string(x.verdict));
}

}  // namespace

TEST_CASE("the diagnosis of every failing library scenario has the expected kind and evidence") {
    int checked = 0;
    for (const auto& f : library()) {
        const std::string stem = f.stem().string();
        CAPTURE(stem);
        auto s = scenario::load_file(f.string());
        sim::RunOptions o;
        o.verify_fixes = false;
        auto t = sim::run(s, o);
        const ExpectedFinding* x = expected_finding(stem);
        if (t.outcome.diagnosis.empty()) {
            CHECK_MESSAGE(!x, "expected a finding " << (x ? x->kind : ""));
            continue;
        }
        REQUIRE_MESSAGE(x, "a new finding " << t.outcome.diagnosis.front().kind << ": add it to kFindings");
        const auto& d = t.outcome.diagnosis.front();
        CHECK(d.kind == x->kind);
        check_evidence(t, d, *x);
        ++checked;
    }
    CHECK(checked == static_cast<int>(std::size(kFindings)));
}

// The three wrong answers of issue #14, with the right ones.
TEST_CASE("diagnosis: a full disk after a long NAT idle is diagnosed as the disk, not the NAT") {
    const char* yaml = R"(title: "Disk full after a long idle wait behind a NAT"
seed: 14
limits: {time: 900s}
nodes:
  client: {interfaces: [192.168.1.10/24], gateway: 192.168.1.1}
  home-router:
    kind: router
    interfaces:
      - {name: lan, address: 192.168.1.1/24, side: inside}
      - {name: wan, address: 203.0.113.1/24, side: outside}
    gateway: 203.0.113.254
    nat: {type: port-restricted, timeout_established: 240s}
  internet:
    kind: router
    interfaces: [{name: isp, address: 203.0.113.254/24}, {name: hosting, address: 198.51.100.254/24}]
  server: {interfaces: [198.51.100.10/24], gateway: 198.51.100.254}
links:
  - {between: [client, home-router], latency: 1ms}
  - {between: [home-router, internet], latency: 10ms}
  - {between: [internet, server], latency: 10ms}
servers:
  server: {profile: rfc959, disk_quota: 32KiB, files: {/pub/readme.txt: 1KiB}}
clients:
  client:
    profile: classic
    mode: pasv
    server: 198.51.100.10:21
    script: [login, get /pub/readme.txt, wait 400s, put /pub/upload.bin 65536, quit]
)";
    auto s = scenario::load_string(yaml, "disk-full-after-nat-idle.yaml");
    sim::RunOptions o;
    o.verify_fixes = false;
    auto t = sim::run(s, o);
    REQUIRE(!t.outcome.ok);
    // The NAT did forget the idle mapping during the wait...
    CHECK(std::any_of(t.events.begin(), t.events.end(),
                      [](const trace::Event& e) { return e.fact == trace::Fact::NatMappingExpired; }));
    REQUIRE(!t.outcome.diagnosis.empty());
    const auto& d = t.outcome.diagnosis.front();
    // ...but the failure is the disk: the finding names it and says nothing about the NAT.
    CHECK(d.kind == "disk-full");
    CHECK(d.what.find("452") != std::string::npos);
    CHECK(d.what.find("NAT") == std::string::npos);
    CHECK(d.cause.find("NAT") == std::string::npos);
    check_evidence(t, d, {"", "disk-full", trace::Fact::ServerDiskFull, 452, kAny});
    for (const auto& fix : d.fixes)
        for (const auto& set : fix.sets) CHECK(set.find(".nat.") == std::string::npos);
}

TEST_CASE("diagnosis: a foreign PORT refused with reworded reply text is still diagnosed by kind") {
    auto s = scenario::load_file((kSource / "scenarios" / "curl-vsftpd-cnat-off-active.yaml").string(),
                                 {"servers.server.replies.port-foreign=\"500 Refused, not your address.\""});
    sim::RunOptions o;
    o.verify_fixes = false;
    auto t = sim::run(s, o);
    REQUIRE(!t.outcome.diagnosis.empty());
    const auto& d = t.outcome.diagnosis.front();
    CHECK(d.kind == "port-refused-foreign-address");
    CHECK(d.what.find("500 Refused, not your address.") != std::string::npos);
    CHECK(d.what.find("PORT 192,168,1,10,") != std::string::npos);
    check_evidence(t, d, {"", "", trace::Fact::ServerRefusedAddress, 500, kAny});
}

TEST_CASE("diagnosis: both behind home routers, passive: the client connects to the server's private 227 address") {
    auto s = scenario::load_file((kSource / "scenarios" / "both-behind-home-routers-port-2121-passive.yaml").string());
    sim::RunOptions o;
    o.verify_fixes = false;
    auto t = sim::run(s, o);
    REQUIRE(!t.outcome.diagnosis.empty());
    const auto& d = t.outcome.diagnosis.front();
    // The server-side ALG skipped the 227 (port 2121 is not in its list): the finding says so.
    CHECK(d.kind == "alg-port-not-inspected");
    CHECK(d.cause.rfind("The client connects to the private address the server announced in \"227 ", 0) == 0);
    CHECK(d.cause.find("The server connects") == std::string::npos);
    check_evidence(t, d, {"", "", trace::Fact::AlgLineIgnored, 227, trace::Verdict::Dropped});
}
