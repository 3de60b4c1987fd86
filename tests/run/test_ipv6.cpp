// IPv6 end to end and through NAT64, run from the library's scenarios: the wire cost of an IPv6
// header, RFC 5952 text in the trace, the dual-stack listener, the extended commands the
// profiles send on IPv6, and the translator's sessions.
#include <doctest/doctest.h>

#include <string>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim;

namespace {

trace::Trace run_library(const std::string& id, const std::vector<std::string>& sets = {}) {
    auto s = scenario::load_file(std::string(FTPSIM_SOURCE_DIR) + "/scenarios/" + id + ".yaml", sets);
    sim::RunOptions o;
    o.verify_fixes = false;
    return sim::run(s, o);
}

const trace::Event* first_segment(const trace::Trace& t, const std::string& from, const std::string& flags) {
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.from == from && e.flags == flags) return &e;
    return nullptr;
}

bool sent_line(const trace::Trace& t, const std::string& from, const std::string& prefix) {
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.from == from)
            for (const auto& l : e.ftp)
                if (l.line.rfind(prefix, 0) == 0) return true;
    return false;
}

}  // namespace

TEST_CASE("ipv6: a segment costs its 40-byte IPv6 header on the wire; addresses are RFC 5952 text") {
    const trace::Trace t = run_library("ipv6-end-to-end-passive");
    const trace::Event* syn = first_segment(t, "client", "S");
    REQUIRE(syn);
    CHECK(syn->src.addr == "2001:db8:1::10");
    CHECK(syn->dst == trace::Endpoint{"2001:db8:2::10", 21});
    // client-router: 1 ms at the default 100 Mbit/s; a bare SYN is 20 (TCP) + 40 (IPv6) bytes:
    // 60 * 8 / 1e8 s = 4800 ns (IPv4's 40 bytes would be 3200 ns).
    CHECK(syn->arrive_ns - syn->time_ns == 1'000'000 + 4'800);
    // router-server: 10 ms at 20 Mbit/s: 60 * 8 / 2e7 s = 24 us.
    const trace::Event* syn2 = first_segment(t, "router", "S");
    REQUIRE(syn2);
    CHECK(syn2->arrive_ns - syn2->time_ns == 10'000'000 + 24'000);
    CHECK(syn2->time_ns == syn->arrive_ns);
    // vsftpd listen_ipv6=YES: one socket on [::].
    bool listening = false;
    for (const auto& e : t.events)
        if (e.fact == trace::Fact::Listen && e.from == "server" && e.src == trace::Endpoint{"::", 21}) listening = true;
    CHECK(listening);
    // curl asked for passive mode sends EPSV on IPv6, never PASV.
    CHECK(sent_line(t, "client", "EPSV"));
    CHECK_FALSE(sent_line(t, "client", "PASV"));
    CHECK(t.outcome.ok);
}

TEST_CASE("ipv6: active mode is EPRT |2| with every profile; only classic sends PASV on IPv6") {
    for (const char* profile : {"curl", "ftplib", "lftp", "filezilla", "classic"}) {
        CAPTURE(profile);
        const trace::Trace t = run_library("ipv6-end-to-end-active", {std::string("clients.client.profile=") + profile});
        CHECK(sent_line(t, "client", "EPRT |2|2001:db8:1::10|"));
        CHECK_FALSE(sent_line(t, "client", "PORT"));
        CHECK(t.outcome.ok);
    }
    for (const char* profile : {"curl", "ftplib", "lftp", "filezilla"}) {
        CAPTURE(profile);
        const trace::Trace t = run_library("ipv6-end-to-end-passive", {std::string("clients.client.profile=") + profile});
        CHECK(sent_line(t, "client", "EPSV"));
        CHECK_FALSE(sent_line(t, "client", "PASV"));
    }
    const trace::Trace classic = run_library("ipv6-end-to-end-passive", {"clients.client.profile=classic"});
    CHECK(sent_line(classic, "client", "PASV"));
    // vsftpd's handle_pasv on IPv6: no IPv4 address to announce.
    CHECK(sent_line(classic, "server", "227 Entering Passive Mode (0,0,0,0,"));
    CHECK_FALSE(classic.outcome.ok);
}

TEST_CASE("nat64: the IPv6 SYN leaves the translator as IPv4, 20 bytes cheaper, through one session") {
    const trace::Trace t = run_library("nat64-no-alg-epsv");
    const trace::Event* syn6 = first_segment(t, "client", "S");
    const trace::Event* syn4 = first_segment(t, "nat64", "S");
    REQUIRE(syn6);
    REQUIRE(syn4);
    CHECK(syn6->dst == trace::Endpoint{"64:ff9b::c633:640a", 21});
    CHECK(syn4->src == trace::Endpoint{"203.0.113.1", syn6->src.port});  // the port is kept
    CHECK(syn4->dst == trace::Endpoint{"198.51.100.10", 21});
    CHECK(syn4->packet == syn6->packet);
    // nat64-internet: 8 ms at 20 Mbit/s; an IPv4 SYN is 40 bytes: 16 us.
    CHECK(syn4->arrive_ns - syn4->time_ns == 8'000'000 + 16'000);
    int sessions = 0;
    for (const auto& e : t.events)
        if (e.fact == trace::Fact::Nat64Session) {
            ++sessions;
            CHECK(e.from == "nat64");
            CHECK(e.src_after.addr == "203.0.113.1");
            CHECK(e.dst_after.addr == "198.51.100.10");
        }
    CHECK(sessions == 2);  // the control connection and the EPSV data connection
    CHECK(t.outcome.ok);
}
