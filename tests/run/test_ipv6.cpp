// IPv6 end to end and through NAT64, run from the library's scenarios: the wire cost of an IPv6
// header, RFC 5952 text in the trace, the dual-stack listener, the extended commands the
// profiles send on IPv6, and the translator's sessions.
#include <doctest/doctest.h>

#include <string>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "viz/export.hpp"

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

TEST_CASE("ipv6: a router's ICMP port unreachable to an IPv6 sender is an ICMPv6 frame in the pcap") {
    const trace::Trace t = run_library("ipv6-end-to-end-passive", {"nodes.router.input={reject: icmp port-unreachable}",
                                                                   "clients.client.server=\"[2001:db8:1::1]:21\""});
    CHECK_FALSE(t.outcome.ok);
    const std::string pcap = viz::to_pcap(t);  // captured at the client
    // Walk the records: exactly one ICMPv6 frame, type 1 code 4, a correct checksum.
    int icmp6 = 0;
    for (std::size_t at = 24; at + 16 <= pcap.size();) {
        auto u32 = [&](std::size_t i) {
            return static_cast<std::uint32_t>(static_cast<unsigned char>(pcap[i])) |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(pcap[i + 1])) << 8 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(pcap[i + 2])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(pcap[i + 3])) << 24;
        };
        const std::size_t len = u32(at + 8);
        const auto* f = reinterpret_cast<const unsigned char*>(pcap.data() + at + 16);
        at += 16 + len;
        if (len < 14 + 40 + 8 || f[12] != 0x86 || f[13] != 0xdd || f[14 + 6] != 58) continue;
        ++icmp6;
        const unsigned char* ip6 = f + 14;
        const unsigned char* icmp = ip6 + 40;
        const std::size_t icmp_len = static_cast<std::size_t>(ip6[4] << 8 | ip6[5]);
        CHECK(icmp_len == 56);
        CHECK(icmp[0] == 1);  // destination unreachable
        CHECK(icmp[1] == 4);  // port unreachable
        std::uint32_t sum = 0;
        for (int i = 8; i < 40; i += 2) sum += static_cast<std::uint32_t>(ip6[i] << 8 | ip6[i + 1]);
        sum += static_cast<std::uint32_t>(icmp_len) + 58;
        for (std::size_t i = 0; i + 1 < icmp_len; i += 2) sum += static_cast<std::uint32_t>(icmp[i] << 8 | icmp[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        CHECK(sum == 0xffff);  // RFC 4443 2.3: the checksum over the pseudo-header verifies
        // The quote: the SYN's IPv6 header (next header TCP) and its ports.
        const unsigned char* quote = icmp + 8;
        CHECK((quote[0] >> 4) == 6);
        CHECK(quote[6] == 6);
        CHECK((quote[40 + 2] << 8 | quote[40 + 3]) == 21);
    }
    CHECK(icmp6 == 1);
}
