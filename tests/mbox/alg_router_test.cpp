// The FTP ALG inside the router: expectations, rewrites, sequence adjustment, and the cases
// where it (like Linux's nf_conntrack_ftp) stays silent.
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

HostPort ep(const char* text) { return *parse_endpoint(text); }
IpAddress ip(const char* text) { return *proto::parse_ip(text); }

// A control connection through one router, with each end's own view of the sequence numbers,
// so that a test can check that both ends stay consistent across a rewrite.
struct FtpControl {
    Router& router;
    HostPort client;         // the client's own endpoint
    HostPort server_target;  // where the client sends (the server as the client sees it)
    int client_iface, server_iface;
    HostPort server_self;    // the server's own endpoint, learned from the SYN
    HostPort client_seen;    // the client as the server sees it
    std::uint32_t client_next = 1000, server_next = 5000;  // next sequence number each sends
    std::uint32_t client_rcv = 0, server_rcv = 0;          // next byte each expects

    void handshake() {
        RouterResult s = router.process(make_packet(client, server_target, kSyn, client_next - 1), client_iface);
        REQUIRE(s.verdict == Verdict::Forward);
        server_self = s.packet.dst;
        client_seen = s.packet.src;
        server_rcv = client_next;
        const Packet syn_ack = make_packet(server_self, client_seen, kSyn | kAck, server_next - 1, server_rcv);
        RouterResult sa = router.process(syn_ack, server_iface);
        REQUIRE(sa.verdict == Verdict::Forward);
        client_rcv = server_next;
        REQUIRE(router.process(make_packet(client, server_target, kAck, client_next, client_rcv), client_iface)
                    .verdict == Verdict::Forward);
    }
    RouterResult from_client(const std::string& bytes) {
        const Packet p = make_packet(client, server_target, kAck | kPsh, client_next, client_rcv, bytes);
        RouterResult h = router.process(p, client_iface);
        if (h.verdict != Verdict::Forward) return h;
        client_next += static_cast<std::uint32_t>(bytes.size());
        server_rcv = h.packet.seq + static_cast<std::uint32_t>(h.packet.payload.size());
        return h;
    }
    RouterResult from_server(const std::string& bytes) {
        const Packet p = make_packet(server_self, client_seen, kAck | kPsh, server_next, server_rcv, bytes);
        RouterResult h = router.process(p, server_iface);
        if (h.verdict != Verdict::Forward) return h;
        server_next += static_cast<std::uint32_t>(bytes.size());
        client_rcv = h.packet.seq + static_cast<std::uint32_t>(h.packet.payload.size());
        return h;
    }
    // The greeting and the login: the first packet each way is never inspected by the kernel.
    void login() {
        handshake();
        from_server("220 (vsFTPd 3.0.3)\r\n");
        from_client("USER anonymous\r\n");
        from_server("331 Please specify the password.\r\n");
        from_client("PASS guest\r\n");
        from_server("230 Login successful.\r\n");
    }
};

std::string tls_record(std::size_t body) {
    std::string r("\x17\x03\x03", 3);
    r += static_cast<char>(body >> 8);
    r += static_cast<char>(body & 0xff);
    for (std::size_t i = 0; i < body; ++i) r += static_cast<char>(0x80 + (i * 37) % 100);  // no '\n'
    return r;
}

// Client behind the home router's NAT, server public (the cnat-* captures).
constexpr int kLan = 0, kWan = 1;
RouterConfig home_router(std::optional<FtpAlgConfig> alg = FtpAlgConfig{}) {
    RouterConfig c;
    c.name = "home-router";
    c.interfaces = {{"lan", ip("192.168.1.1"), 24, Realm::Inside}, {"wan", ip("203.0.113.1"), 24, Realm::Outside}};
    c.nat = NatConfig::port_restricted();
    c.alg = alg;
    return c;
}
FtpControl client_behind_nat(Router& r, const char* server = "203.0.113.10:21") {
    return FtpControl{r, ep("192.168.1.10:50000"), ep(server), kLan, kWan, {}, {}};
}

// Server behind NAT with port 21 forwarded (the snat21-* captures).
RouterConfig server_router(std::optional<FtpAlgConfig> alg = FtpAlgConfig{}) {
    RouterConfig c;
    c.name = "server-router";
    c.interfaces = {{"lan", ip("192.168.2.1"), 24, Realm::Inside}, {"wan", ip("203.0.113.1"), 24, Realm::Outside}};
    c.nat = NatConfig::port_restricted();
    c.forwards.push_back({21, 21, ip("192.168.2.10"), 21});
    c.alg = alg;
    return c;
}
FtpControl client_to_forwarded_server(Router& r) {
    return FtpControl{r, ep("203.0.113.10:40000"), ep("203.0.113.1:21"), kWan, kLan, {}, {}};
}

}  // namespace

TEST_CASE("ALG: PORT from behind NAT is rewritten, mapped and expected; later sequence numbers follow") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.login();

    RouterResult port = c.from_client("PORT 192,168,1,10,195,149\r\n");
    REQUIRE(port.verdict == Verdict::Forward);
    CHECK(port.packet.payload == "PORT 203,0,113,1,195,149\r\n");
    const trace::Event* rewrote = fact_of(port, trace::Fact::AlgLineRewritten);
    REQUIRE(rewrote);
    CHECK(rewrote->form == trace::Announce::Port);
    CHECK(rewrote->line_before == "192,168,1,10,195,149");
    CHECK(rewrote->line_after == "203,0,113,1,195,149");
    const trace::Event* mapped = fact_of(port, trace::Fact::NatMappingCreated);
    REQUIRE(mapped);
    CHECK(mapped->from == "home-router");
    CHECK(mapped->src == tep("192.168.1.10:50069"));
    CHECK(mapped->src_after == tep("203.0.113.1:50069"));
    CHECK(mapped->state == "alg-expectation");
    const trace::Event* shorter = fact_of(port, trace::Fact::SeqAdjust);
    REQUIRE(shorter);
    CHECK(shorter->seq_delta == -1);

    auto snap = r.snapshot(0);
    REQUIRE(snap.expectations.size() == 1);
    CHECK(snap.expectations[0].src == ip("203.0.113.10"));
    CHECK(snap.expectations[0].dst == ep("203.0.113.1:50069"));
    CHECK(snap.expectations[0].forward_to == ep("192.168.1.10:50069"));
    CHECK(snap.expectations[0].form == FtpAddressForm::Port);

    // RFC 2663 7.1: the client's stream is one byte shorter from here on at the server...
    const std::uint32_t client_seq = c.client_next;
    RouterResult retr = c.from_client("RETR file.bin\r\n");
    CHECK(retr.packet.seq == client_seq - 1);
    // ...and the server's acknowledgements are moved back into the client's numbering.
    RouterResult reply = c.from_server("200 PORT command successful. Consider using PASV.\r\n");
    CHECK(reply.packet.ack == c.client_next);
    CHECK(reply.packet.seq == c.client_rcv - static_cast<std::uint32_t>(reply.packet.payload.size()));
    // A retransmission of a byte before the rewrite keeps its old offset (offset_before).
    RouterResult old = r.process(make_packet(c.client, c.server_target, kAck, 1000, c.client_rcv), kLan);
    CHECK(old.packet.seq == 1000);

    // The server's active data connection is the related, expected one.
    RouterResult data = r.process(make_packet(ep("203.0.113.10:20"), ep("203.0.113.1:50069"), kSyn, 7000), kWan);
    REQUIRE(data.verdict == Verdict::Forward);
    CHECK(data.out_iface == kLan);
    CHECK(data.packet.dst == ep("192.168.1.10:50069"));
    const trace::Event* used = fact_of(data, trace::Fact::AlgExpectationUsed);
    REQUIRE(used);
    CHECK(used->form == trace::Announce::Port);
    CHECK(used->dst_after == tep("192.168.1.10:50069"));
    CHECK(r.snapshot(0).expectations.empty());  // used once
    RouterResult data_back = r.process(make_packet(ep("192.168.1.10:50069"), ep("203.0.113.10:20"), kSyn | kAck, 1, 7001), kLan);
    REQUIRE(data_back.verdict == Verdict::Forward);
    CHECK(data_back.packet.src == ep("203.0.113.1:50069"));
}

TEST_CASE("ALG: a rewrite that lengthens the line shifts later sequence numbers forward (RFC 2663 7.1)") {
    RouterConfig cfg = home_router();
    cfg.interfaces[0] = {"lan", ip("10.0.0.1"), 24, Realm::Inside};
    Router r(cfg);
    FtpControl c{r, ep("10.0.0.2:50000"), ep("203.0.113.10:21"), kLan, kWan, {}, {}};
    c.login();
    RouterResult port = c.from_client("PORT 10,0,0,2,195,149\r\n");
    CHECK(port.packet.payload == "PORT 203,0,113,1,195,149\r\n");  // 3 bytes longer
    const std::uint32_t next = c.client_next;
    RouterResult type = c.from_client("TYPE I\r\n");
    CHECK(type.packet.seq == next + 3);
    RouterResult reply = c.from_server("200 Switching to Binary mode.\r\n");
    CHECK(reply.packet.ack == c.client_next);
    // A second rewrite accumulates.
    RouterResult port2 = c.from_client("PORT 10,0,0,2,195,150\r\n");
    CHECK(port2.packet.seq == c.client_next - 23 + 3);
    RouterResult type2 = c.from_client("TYPE A\r\n");
    CHECK(type2.packet.seq == c.client_next - 8 + 6);
    CHECK(c.from_server("200 Switching to ASCII mode.\r\n").packet.ack == c.client_next);
}

TEST_CASE("ALG: EPRT from behind NAT is rewritten") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.login();
    RouterResult eprt = c.from_client("EPRT |1|192.168.1.10|50069|\r\n");
    CHECK(eprt.packet.payload == "EPRT |1|203.0.113.1|50069|\r\n");
    const trace::Event* rewrote = fact_of(eprt, trace::Fact::AlgLineRewritten);
    REQUIRE(rewrote);
    CHECK(rewrote->form == trace::Announce::Eprt);
    CHECK(rewrote->line_before == "|1|192.168.1.10|50069|");
    CHECK(rewrote->line_after == "|1|203.0.113.1|50069|");
    REQUIRE(r.snapshot(0).expectations.size() == 1);
    CHECK(r.snapshot(0).expectations[0].dst == ep("203.0.113.1:50069"));
}

TEST_CASE("ALG: 227 from a server behind NAT is rewritten and the data connection forwarded") {
    Router r(server_router());
    FtpControl c = client_to_forwarded_server(r);
    c.login();
    CHECK(c.server_self == ep("192.168.2.10:21"));
    c.from_client("PASV\r\n");
    RouterResult pasv = c.from_server("227 Entering Passive Mode (192,168,2,10,117,48).\r\n");
    CHECK(pasv.packet.payload == "227 Entering Passive Mode (203,0,113,1,117,48).\r\n");
    const trace::Event* rewrote = fact_of(pasv, trace::Fact::AlgLineRewritten);
    REQUIRE(rewrote);
    CHECK(rewrote->form == trace::Announce::Pasv227);
    CHECK(rewrote->line_before == "192,168,2,10,117,48");
    CHECK(rewrote->line_after == "203,0,113,1,117,48");
    const trace::Event* mapped = fact_of(pasv, trace::Fact::NatMappingCreated);
    REQUIRE(mapped);
    CHECK(mapped->from == "server-router");
    CHECK(mapped->src == tep("192.168.2.10:30000"));
    CHECK(mapped->src_after == tep("203.0.113.1:30000"));

    // The server's stream shrank by one byte: the client's acknowledgement is moved forward.
    RouterResult retr = c.from_client("RETR file.bin\r\n");
    CHECK(retr.packet.ack == c.server_next);

    RouterResult data = r.process(make_packet(ep("203.0.113.10:40001"), ep("203.0.113.1:30000"), kSyn, 1), kWan);
    REQUIRE(data.verdict == Verdict::Forward);
    CHECK(data.packet.dst == ep("192.168.2.10:30000"));
    CHECK(data.out_iface == kLan);
}

TEST_CASE("ALG: without the helper the 227 leaks the private address and the data SYN meets RST") {
    Router r(server_router(std::nullopt));  // the snat21-off-pasv capture
    FtpControl c = client_to_forwarded_server(r);
    c.login();
    c.from_client("PASV\r\n");
    RouterResult pasv = c.from_server("227 Entering Passive Mode (192,168,2,10,117,48).\r\n");
    CHECK(pasv.packet.payload == "227 Entering Passive Mode (192,168,2,10,117,48).\r\n");
    // curl ignores the address and connects to the control connection's peer.
    RouterResult data = r.process(make_packet(ep("203.0.113.10:40001"), ep("203.0.113.1:30000"), kSyn, 1), kWan);
    CHECK(data.verdict == Verdict::Reject);
    CHECK(data.packet.has(kRst));
}

TEST_CASE("ALG: 229 carries no address; the expectation uses the server's, and a taken port is changed") {
    SUBCASE("port free: nothing to rewrite") {
        Router r(server_router());
        FtpControl c = client_to_forwarded_server(r);
        c.login();
        c.from_client("EPSV\r\n");
        RouterResult epsv = c.from_server("229 Entering Extended Passive Mode (|||30000|)\r\n");
        CHECK(epsv.packet.payload == "229 Entering Extended Passive Mode (|||30000|)\r\n");
        REQUIRE(r.snapshot(0).expectations.size() == 1);
        CHECK(r.snapshot(0).expectations[0].forward_to == ep("192.168.2.10:30000"));
        CHECK(r.process(make_packet(ep("203.0.113.10:40001"), ep("203.0.113.1:30000"), kSyn, 1), kWan).packet.dst ==
              ep("192.168.2.10:30000"));
    }
    SUBCASE("port taken on the public address: the next one is announced") {
        Router r(server_router());
        // Another inside host already holds 203.0.113.1:30000.
        r.process(make_packet(ep("192.168.2.20:30000"), ep("203.0.113.10:80"), kSyn, 1), kLan);
        FtpControl c = client_to_forwarded_server(r);
        c.login();
        c.from_client("EPSV\r\n");
        RouterResult epsv = c.from_server("229 Entering Extended Passive Mode (|||30000|)\r\n");
        CHECK(epsv.packet.payload == "229 Entering Extended Passive Mode (|||30001|)\r\n");
        const trace::Event* rewrote = fact_of(epsv, trace::Fact::AlgLineRewritten);
        REQUIRE(rewrote);
        CHECK(rewrote->form == trace::Announce::Epsv229);
        CHECK(rewrote->line_before == "|||30000|");
        CHECK(rewrote->line_after == "|||30001|");
        CHECK(r.process(make_packet(ep("203.0.113.10:40001"), ep("203.0.113.1:30001"), kSyn, 1), kWan).packet.dst ==
              ep("192.168.2.10:30000"));
    }
}

TEST_CASE("ALG: a related data connection passes a stateful firewall; without the ALG it is dropped") {
    for (bool with_alg : {true, false}) {
        CAPTURE(with_alg);
        RouterConfig cfg;
        cfg.name = "server-fw";
        cfg.interfaces = {{"out", ip("198.51.100.1"), 24, Realm::Outside}, {"dmz", ip("10.0.0.1"), 24, Realm::Inside}};
        Firewall fw(FwAction::Drop);
        FirewallRule related;
        related.states = kCtEstablished | kCtRelated;
        fw.add(related);
        FirewallRule ftp;
        ftp.dport = PortRange{21, 21};
        fw.add(ftp);
        cfg.firewall = fw;
        if (with_alg) cfg.alg = FtpAlgConfig{};
        Router r(cfg);
        FtpControl c{r, ep("198.51.100.7:40000"), ep("10.0.0.5:21"), 0, 1, {}, {}};
        c.login();
        c.from_client("PASV\r\n");
        RouterResult pasv = c.from_server("227 Entering Passive Mode (10,0,0,5,117,49).\r\n");
        CHECK(pasv.packet.payload == "227 Entering Passive Mode (10,0,0,5,117,49).\r\n");  // no NAT: no rewrite
        RouterResult data = r.process(make_packet(ep("198.51.100.7:40001"), ep("10.0.0.5:30001"), kSyn, 1), 0);
        if (with_alg) {
            CHECK(data.verdict == Verdict::Forward);
            const trace::Event* verdict = fact_of(data, trace::Fact::FirewallVerdict);
            REQUIRE(verdict);
            CHECK(verdict->from == "server-fw");
            CHECK(verdict->action == trace::Action::Accept);
            CHECK(verdict->flags == "S");
            CHECK(verdict->dst == tep("10.0.0.5:30001"));
            CHECK(verdict->state == "related");
            CHECK(verdict->rule == 1);
            // Its conntrack entry is created related: the state the firewall's rule 1 matched.
            const MiddleboxNote* created = nullptr;
            for (const auto& n : data.notes)
                if (n.fact.fact == trace::Fact::ConntrackCreated) created = &n;
            REQUIRE(created);
            CHECK(created->fact.state == "related");
            CHECK(created->fact.dst == trace::Endpoint{"10.0.0.5", 30001});
        } else {
            CHECK(data.verdict == Verdict::Drop);
            CHECK(data.notes.back().sentence() == "server-fw: dropped SYN to 10.0.0.5:30001, rule 3 (default drop)");
        }
    }
}

TEST_CASE("ALG: only control connections to its listed ports are inspected") {
    SUBCASE("server on 2121, ALG on 21 only: PORT passes untouched") {
        Router r(home_router());
        FtpControl c = client_behind_nat(r, "203.0.113.10:2121");
        c.login();
        RouterResult port = c.from_client("PORT 192,168,1,10,195,149\r\n");
        CHECK(port.packet.payload == "PORT 192,168,1,10,195,149\r\n");
        CHECK(r.snapshot(0).expectations.empty());
        CHECK(r.process(make_packet(ep("203.0.113.10:20"), ep("203.0.113.1:50069"), kSyn, 1), kWan).verdict !=
              Verdict::Forward);
    }
    SUBCASE("ALG on 21 and 2121: rewritten") {
        Router r(home_router(FtpAlgConfig{{21, 2121}}));
        FtpControl c = client_behind_nat(r, "203.0.113.10:2121");
        c.login();
        CHECK(c.from_client("PORT 192,168,1,10,195,149\r\n").packet.payload == "PORT 203,0,113,1,195,149\r\n");
    }
}

TEST_CASE("ALG: an announced address that is not the sender's own is ignored unless loose") {
    SUBCASE("behind NAT, loose=0: no rewrite, no expectation") {
        Router r(home_router());
        FtpControl c = client_behind_nat(r);
        c.login();
        RouterResult port = c.from_client("PORT 10,9,9,9,195,149\r\n");
        CHECK(port.packet.payload == "PORT 10,9,9,9,195,149\r\n");
        const trace::Event* ignored = fact_of(port, trace::Fact::AlgLineIgnored);
        REQUIRE(ignored);
        CHECK(ignored->alg_skip == trace::AlgSkip::ForeignAddress);
        CHECK(ignored->form == trace::Announce::Port);
        CHECK(ignored->dst.addr == "10.9.9.9");
        CHECK(ignored->src.addr == "192.168.1.10");
        CHECK(r.snapshot(0).expectations.empty());
    }
    for (bool loose : {false, true}) {
        CAPTURE(loose);
        RouterConfig cfg;
        cfg.name = "fw";
        cfg.interfaces = {{"out", ip("198.51.100.1"), 24, Realm::Outside}, {"dmz", ip("10.0.0.1"), 24, Realm::Inside}};
        FtpAlgConfig alg;
        alg.loose = loose;
        cfg.alg = alg;
        Router r(cfg);
        FtpControl c{r, ep("198.51.100.7:40000"), ep("10.0.0.5:21"), 0, 1, {}, {}};
        c.login();
        c.from_client("PORT 198,51,100,99,195,149\r\n");  // a third party's address (FXP-like)
        auto exp = r.snapshot(0).expectations;
        REQUIRE(exp.size() == (loose ? 1u : 0u));
        if (loose) CHECK(exp[0].dst == ep("198.51.100.99:50069"));
    }
}

TEST_CASE("ALG: blind to a TLS-protected control connection; after CCC it reads clear text again") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.handshake();
    c.from_server("220 (vsFTPd 3.0.3)\r\n");
    c.from_client("AUTH TLS\r\n");
    c.from_server("234 Proceed with negotiation.\r\n");
    c.from_client(std::string("\x16\x03\x01\x00\x30", 5) + std::string(0x30, 'h'));  // ClientHello
    c.from_server(std::string("\x16\x03\x03\x00\x40", 5) + std::string(0x40, 's'));

    // PORT inside a TLS record: nothing to read, nothing rewritten, nothing expected.
    const std::string hidden_port = tls_record(40);
    RouterResult port = c.from_client(hidden_port);
    CHECK(port.packet.payload == hidden_port);
    const trace::Event* ignored = fact_of(port, trace::Fact::AlgLineIgnored);
    REQUIRE(ignored);
    CHECK(ignored->alg_skip == trace::AlgSkip::Tls);
    CHECK(r.snapshot(0).expectations.empty());
    c.from_server(tls_record(30));  // 200 PORT command successful, encrypted
    c.from_client(tls_record(20));  // CCC
    c.from_server(tls_record(20));  // 200 CCC ok

    SUBCASE("the first clear line after TLS is not read: no newline was seen before it") {
        RouterResult first = c.from_client("PORT 192,168,1,10,195,149\r\n");
        CHECK(first.packet.payload == "PORT 192,168,1,10,195,149\r\n");
        const trace::Event* ignored = fact_of(first, trace::Fact::AlgLineIgnored);
        REQUIRE(ignored);
        CHECK(ignored->alg_skip == trace::AlgSkip::NotAtLineStart);
        CHECK(ignored->line_before == "PORT 192,168,1,10,195,149");
        c.from_server("200 PORT command successful.\r\n");
        RouterResult second = c.from_client("PORT 192,168,1,10,195,150\r\n");
        CHECK(second.packet.payload == "PORT 203,0,113,1,195,150\r\n");
    }
    SUBCASE("after one clear line the ALG is back") {
        c.from_client("TYPE I\r\n");
        c.from_server("200 Switching to Binary mode.\r\n");
        RouterResult p = c.from_client("PORT 192,168,1,10,195,149\r\n");
        CHECK(p.packet.payload == "PORT 203,0,113,1,195,149\r\n");
        CHECK(r.snapshot(0).expectations.size() == 1);
    }
}

TEST_CASE("ALG: a command split across packets is not reassembled") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.login();

    SUBCASE("a partial PORT is dropped; the retransmitted whole line is rewritten") {
        const std::uint32_t seq = c.client_next;
        RouterResult part = c.from_client("PORT 192,168,1,");
        CHECK(part.verdict == Verdict::Drop);
        REQUIRE(!part.notes.empty());
        CHECK(part.notes.back().reason == "ALG: partial PORT line");
        CHECK(part.notes.back().verdict == trace::Verdict::Dropped);
        CHECK(c.client_next == seq);  // not delivered: TCP sends it again
        RouterResult whole = c.from_client("PORT 192,168,1,10,195,149\r\n");
        CHECK(whole.packet.payload == "PORT 203,0,113,1,195,149\r\n");
    }
    SUBCASE("the rest of a split line is not read, the next line is") {
        c.from_client("NO");
        RouterResult rest = c.from_client("OP\r\n");
        CHECK(rest.verdict == Verdict::Forward);
        c.from_server("200 NOOP ok.\r\n");
        CHECK(c.from_client("PORT 192,168,1,10,195,149\r\n").packet.payload == "PORT 203,0,113,1,195,149\r\n");
    }
    SUBCASE("a PORT after another line in the same packet is missed") {
        RouterResult two = c.from_client("NOOP\r\nPORT 192,168,1,10,195,149\r\n");
        CHECK(two.packet.payload == "NOOP\r\nPORT 192,168,1,10,195,149\r\n");
        CHECK(r.snapshot(0).expectations.empty());
    }
}

TEST_CASE("ALG: expectations expire unused, one per control connection") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.login();
    c.from_client("PORT 192,168,1,10,195,149\r\n");
    c.from_server("200 PORT command successful.\r\n");
    c.from_client("PORT 192,168,1,10,195,150\r\n");  // replaces the first (max_expected = 1)
    auto exp = r.snapshot(0).expectations;
    REQUIRE(exp.size() == 1);
    CHECK(exp[0].dst.port == 50070);
    CHECK(r.snapshot(300 * trace::kNsPerSec).expectations.empty());
    std::vector<MiddleboxNote> notes;
    r.expire(300 * trace::kNsPerSec, notes);
    const trace::Event* expired = fact_of(notes, trace::Fact::AlgExpectationExpired);
    REQUIRE(expired);
    CHECK(expired->dst == tep("203.0.113.1:50070"));
}

TEST_CASE("ALG: the mapping reserved for an expectation admits no unsolicited packet, even behind a full cone") {
    RouterConfig cfg = home_router();
    cfg.nat = NatConfig::full_cone();  // endpoint-independent filtering: a masquerade mapping admits anyone
    Router r(cfg);
    FtpControl c = client_behind_nat(r);
    c.login();
    c.from_client("PORT 192,168,1,10,195,149\r\n");
    // The expected data connection uses the reserved mapping both ways (the inside's SYN-ACK is
    // outbound through it: the mapping has contacted the server's port 20).
    REQUIRE(r.process(make_packet(ep("203.0.113.10:20"), ep("203.0.113.1:50069"), kSyn, 7000), kWan).verdict ==
            Verdict::Forward);
    REQUIRE(r.process(make_packet(ep("192.168.1.10:50069"), ep("203.0.113.10:20"), kSyn | kAck, 1, 7001), kLan)
                .verdict == Verdict::Forward);
    const auto maps = r.nat()->mappings();
    const NatMapping* reserved = nullptr;
    for (const auto& m : maps)
        if (m.external.port == 50069) reserved = &m;
    REQUIRE(reserved);
    CHECK(reserved->reserved);
    CHECK(reserved->contacted.size() == 1);
    // Another host's SYN to that port: a full cone's masquerade mapping would admit it, the reserved one does not.
    RouterResult stranger = r.process(make_packet(ep("198.51.100.66:20"), ep("203.0.113.1:50069"), kSyn, 1), kWan);
    CHECK(stranger.verdict == Verdict::Drop);
    const trace::Event* filtered = fact_of(stranger, trace::Fact::NatInboundFiltered);
    REQUIRE(filtered);
    CHECK(filtered->entry == reserved->id);
    // While the control connection's own mapping (a masquerade one) admits that host.
    RouterResult to_control = r.process(make_packet(ep("198.51.100.66:20"), ep("203.0.113.1:50000"), kSyn, 1), kWan);
    CHECK(to_control.verdict == Verdict::Forward);
    CHECK(fact_of(to_control, trace::Fact::NatInboundAdmitted));
}

TEST_CASE("router: the snapshot shows NAT mappings, conntrack entries and expectations") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.login();
    c.from_client("PORT 192,168,1,10,195,149\r\n");
    auto snap = r.snapshot(0);
    REQUIRE(snap.nat.size() == 2);
    CHECK(snap.nat[0].internal == ep("192.168.1.10:50000"));
    CHECK(snap.nat[0].established());
    CHECK(snap.nat[1].internal == ep("192.168.1.10:50069"));
    CHECK(snap.nat[1].origin == "ALG expectation");
    CHECK(snap.nat[1].reserved);
    CHECK_FALSE(snap.nat[0].reserved);
    REQUIRE(snap.conntrack.size() == 1);
    CHECK(snap.conntrack[0].ftp_helper);
    CHECK(snap.conntrack[0].nat());
    CHECK(snap.conntrack[0].seqadj[0].offset_after == -1);
    CHECK(snap.expectations.size() == 1);
}

TEST_CASE("ALG: 227 from a public server to a client behind NAT: expected, not rewritten, masqueraded") {
    Router r(home_router());
    FtpControl c = client_behind_nat(r);
    c.login();
    c.from_client("PASV\r\n");
    RouterResult pasv = c.from_server("227 Entering Passive Mode (203,0,113,10,117,48).\r\n");
    CHECK(pasv.packet.payload == "227 Entering Passive Mode (203,0,113,10,117,48).\r\n");
    auto exp = r.snapshot(0).expectations;
    REQUIRE(exp.size() == 1);
    CHECK(exp[0].src == ip("192.168.1.10"));
    CHECK(exp[0].dst == ep("203.0.113.10:30000"));
    RouterResult data = r.process(make_packet(ep("192.168.1.10:50001"), ep("203.0.113.10:30000"), kSyn, 1), kLan);
    REQUIRE(data.verdict == Verdict::Forward);
    const trace::Event* used = fact_of(data, trace::Fact::AlgExpectationUsed);
    REQUIRE(used);
    CHECK(used->form == trace::Announce::Pasv227);
    CHECK(used->dst_after == tep("203.0.113.10:30000"));
    CHECK(data.packet.src == ep("203.0.113.1:50001"));
    CHECK(data.packet.dst == ep("203.0.113.10:30000"));
}
