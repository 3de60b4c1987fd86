// The FTP64 ALG (RFC 6384) line by line, and inside the NAT64 translator packet by packet.
// RFC 6384's full text was not available: the expected lines are those of its abstract's rules
// with Jool's wording (docs/middleboxes.md, "FTP64 ALG", says which rule comes from where).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/mbox/alg64.hpp"
#include "sim/mbox/nat64.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

HostPort ep(const char* text) { return *parse_endpoint(text); }
IpAddress ip(const char* text) { return *proto::parse_ip(text); }

const IpAddress kClient = ip("2001:db8:1::10");
const IpAddress kServer = ip("198.51.100.10");

Ftp64AlgConfig on() {
    Ftp64AlgConfig c;
    c.enabled = true;
    return c;
}

// A binder that hands out 203.0.113.1 with the client's port, and remembers what it bound.
struct Binder {
    std::vector<HostPort> bound;
    Ftp64Binder fn() {
        return [this](const HostPort& v6) -> std::optional<HostPort> {
            bound.push_back(v6);
            return HostPort{ip("203.0.113.1"), v6.port};
        };
    }
};

Ftp64Line client(Ftp64State& st, const char* line, Ftp64AlgConfig cfg = on()) {
    Binder b;
    return ftp64_client_line(st, cfg, line, kClient, b.fn());
}

}  // namespace

TEST_CASE("FTP64 ALG: EPSV and EPSV 2 go to the IPv4 server as PASV") {
    for (const char* line : {"EPSV", "epsv", "EPSV 2"}) {
        CAPTURE(line);
        Ftp64State st;
        const Ftp64Line r = client(st, line);
        CHECK(r.kind == Ftp64Line::Kind::Translate);
        CHECK(r.rule == Ftp64Rule::EpsvToPasv);
        CHECK(r.line == "PASV");
        CHECK(st.sent_epsv);
    }
}

TEST_CASE("FTP64 ALG: the 227 answering a translated EPSV becomes a 229 with its port") {
    Ftp64State st;
    client(st, "EPSV");
    const Ftp64Line r = ftp64_server_line(st, "227 Entering Passive Mode (198,51,100,10,117,54).", kServer);
    CHECK(r.kind == Ftp64Line::Kind::Translate);
    CHECK(r.rule == Ftp64Rule::Reply227To229);
    CHECK(r.line == "229 Entering Extended Passive Mode (|||30006|)");  // 117*256+54
    CHECK_FALSE(st.sent_epsv);
    // The next 227 (a PASV of the client's own) is not an EPSV's: it passes unchanged.
    CHECK(ftp64_server_line(st, "227 Entering Passive Mode (198,51,100,10,117,55).", kServer).kind ==
          Ftp64Line::Kind::Copy);
}

TEST_CASE("FTP64 ALG: a 227 naming another host than the server becomes 425 (Jool)") {
    Ftp64State st;
    client(st, "EPSV");
    const Ftp64Line r = ftp64_server_line(st, "227 Entering Passive Mode (10,0,0,5,117,54).", kServer);
    CHECK(r.kind == Ftp64Line::Kind::Translate);
    CHECK(r.rule == Ftp64Rule::Reply227To425);
    CHECK(r.line == "425 Can't open data connection");
}

TEST_CASE("FTP64 ALG: EPSV with another protocol gets 522, EPSV ALL gets 504, from the ALG itself") {
    Ftp64State st;
    Ftp64Line r = client(st, "EPSV 1");
    CHECK(r.kind == Ftp64Line::Kind::Answer);
    CHECK(r.rule == Ftp64Rule::EpsvProtocol);
    CHECK(r.line == "522 Network protocol not supported");
    r = client(st, "EPSV ALL");
    CHECK(r.kind == Ftp64Line::Kind::Answer);
    CHECK(r.rule == Ftp64Rule::EpsvAll);
    CHECK(r.line == "504 Command not implemented for that parameter");
    CHECK_FALSE(st.sent_epsv);
}

TEST_CASE("FTP64 ALG: EPRT |2| with the client's own address becomes PORT on a bound pool endpoint") {
    Ftp64State st;
    Binder b;
    const Ftp64Line r = ftp64_client_line(st, on(), "EPRT |2|2001:db8:1::10|40001|", kClient, b.fn());
    CHECK(r.kind == Ftp64Line::Kind::Translate);
    CHECK(r.rule == Ftp64Rule::EprtToPort);
    CHECK(r.line == "PORT 203,0,113,1,156,65");  // 40001 = 156*256+65
    REQUIRE(b.bound.size() == 1);
    CHECK(b.bound[0] == ep("[2001:db8:1::10]:40001"));
    CHECK(r.bound_v4 == ep("203.0.113.1:40001"));
}

TEST_CASE("FTP64 ALG: an EPRT naming another address, PORT and PASV pass unchanged") {
    Ftp64State st;
    Binder b;
    for (const char* line : {"EPRT |2|2001:db8:1::99|40001|", "EPRT |1|198.51.100.7|40001|", "PORT 10,0,0,1,4,1",
                             "PASV", "RETR /pub/file.bin"}) {
        CAPTURE(line);
        CHECK(ftp64_client_line(st, on(), line, kClient, b.fn()).kind == Ftp64Line::Kind::Copy);
    }
    CHECK(b.bound.empty());
}

TEST_CASE("FTP64 ALG: ALGS is answered by the ALG, with alg_requires_algs it translates only after ENABLE64") {
    Ftp64AlgConfig cfg = on();
    cfg.requires_algs = true;
    Ftp64State st;
    CHECK(client(st, "EPSV", cfg).kind == Ftp64Line::Kind::Copy);  // not enabled yet: passed on
    Ftp64Line r = client(st, "ALGS STATUS64", cfg);
    CHECK(r.kind == Ftp64Line::Kind::Answer);
    CHECK(r.rule == Ftp64Rule::Algs);
    CHECK(r.line == "216 NONE FTP ALG disabled.");
    CHECK(client(st, "ALGS ENABLE64", cfg).line == "216 EPSVEPRT FTP ALG enabled.");
    CHECK(client(st, "EPSV", cfg).line == "PASV");
    st.sent_epsv = false;
    CHECK(client(st, "ALGS DISABLE64", cfg).line == "216 NONE FTP ALG disabled.");
    CHECK(client(st, "EPSV", cfg).kind == Ftp64Line::Kind::Copy);
    // Without the option it translates from the start, and STATUS64 says so.
    Ftp64State plain;
    CHECK(client(plain, "algs status64").line == "216 EPSVEPRT FTP ALG enabled.");
    // An argument it does not know goes to the server (our choice).
    CHECK(client(plain, "ALGS FOO").kind == Ftp64Line::Kind::Copy);
}

TEST_CASE("FTP64 ALG: a server rejection resets the pending EPSV, after AUTH succeeds it reads nothing") {
    Ftp64State st;
    client(st, "EPSV");
    CHECK(ftp64_server_line(st, "500 Unknown command.", kServer).kind == Ftp64Line::Kind::Copy);
    CHECK_FALSE(st.sent_epsv);
    CHECK(ftp64_server_line(st, "227 Entering Passive Mode (198,51,100,10,117,54).", kServer).kind ==
          Ftp64Line::Kind::Copy);

    client(st, "AUTH TLS");
    CHECK(st.sent_auth);
    ftp64_server_line(st, "234 Proceed with negotiation.", kServer);
    CHECK(st.transparent);
    CHECK(client(st, "EPSV").kind == Ftp64Line::Kind::Copy);
    CHECK(client(st, "ALGS STATUS64").kind == Ftp64Line::Kind::Copy);

    Ftp64State refused;
    client(refused, "AUTH TLS");
    ftp64_server_line(refused, "530 Please login with USER and PASS.", kServer);
    CHECK_FALSE(refused.transparent);
    CHECK_FALSE(refused.sent_auth);
}

// ---- Inside the translator: segments, sequence numbers, the ALG's own replies ----------------

namespace {

Nat64 translator_with_alg(bool alg = true) {
    Nat64Config c;
    c.name = "nat64";
    c.prefix = nat64_well_known_prefix();
    c.pool = ip("203.0.113.1");
    c.ftp_alg.enabled = alg;
    return Nat64(c);
}

// The control connection [2001:db8:1::10]:40000 -> [64:ff9b::c633:640a]:21, established, after
// the server's greeting (server seq 5000..5020, client seq 1000).
void open_control(Nat64& n) {
    std::vector<MiddleboxNote> notes;
    Packet syn = make_packet(ep("[2001:db8:1::10]:40000"), ep("[64:ff9b::c633:640a]:21"), kSyn, 999);
    REQUIRE(n.process(syn, notes) == Verdict::Forward);
    Packet synack = make_packet(ep("198.51.100.10:21"), ep("203.0.113.1:40000"), kSyn | kAck, 4999, 1000);
    REQUIRE(n.process(synack, notes) == Verdict::Forward);
    Packet hello = make_packet(ep("198.51.100.10:21"), ep("203.0.113.1:40000"), kPsh | kAck, 5000, 1000,
                               "220 (vsFTPd 3.0.3)\r\n");
    REQUIRE(n.process(hello, notes) == Verdict::Forward);
    CHECK(hello.seq == 5000);
}

Packet from_client(const char* payload, std::uint32_t seq, std::uint32_t ack) {
    return make_packet(ep("[2001:db8:1::10]:40000"), ep("[64:ff9b::c633:640a]:21"), kPsh | kAck, seq, ack, payload);
}

Packet from_server(const char* payload, std::uint32_t seq, std::uint32_t ack) {
    return make_packet(ep("198.51.100.10:21"), ep("203.0.113.1:40000"), kPsh | kAck, seq, ack, payload);
}

}  // namespace

TEST_CASE("NAT64 + FTP64 ALG: EPSV 2 -> PASV, 227 -> 229, with the sequence numbers adjusted both ways") {
    Nat64 n = translator_with_alg();
    open_control(n);
    std::vector<MiddleboxNote> notes;
    std::vector<Packet> answers;
    Packet epsv = from_client("EPSV 2\r\n", 1000, 5020);
    REQUIRE(n.process(epsv, notes, &answers) == Verdict::Forward);
    CHECK(epsv.payload == "PASV\r\n");
    CHECK(epsv.seq == 1000);
    CHECK(answers.empty());
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].fact.fact == trace::Fact::Alg64Translated);
    CHECK(notes[0].fact.state == "epsv-to-pasv");
    CHECK(notes[0].sentence() == "nat64: FTP64 ALG: \"EPSV 2\" sent on as \"PASV\"");
    CHECK(notes[1].fact.fact == trace::Fact::SeqAdjust);
    CHECK(notes[1].fact.seq_delta == -2);

    // The server acknowledges the 6 bytes it got: the client sees its 8 acknowledged.
    notes.clear();
    const std::string reply227 = "227 Entering Passive Mode (198,51,100,10,117,54).\r\n";
    Packet r = from_server(reply227.c_str(), 5020, 1006);
    REQUIRE(n.process(r, notes, &answers) == Verdict::Forward);
    CHECK(r.payload == "229 Entering Extended Passive Mode (|||30006|)\r\n");
    CHECK(r.ack == 1008);
    CHECK(r.seq == 5020);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].fact.state == "227-to-229");
    CHECK(notes[0].fact.line_before == "227 Entering Passive Mode (198,51,100,10,117,54).");
    CHECK(notes[1].fact.seq_delta == -3);  // 51 bytes became 48

    // The client's next command moves down by 2, its acknowledgement of the reply up by 3.
    Packet retr = from_client("RETR f\r\n", 1008, 5020 + 48);
    REQUIRE(n.process(retr, notes, &answers) == Verdict::Forward);
    CHECK(retr.seq == 1006);
    CHECK(retr.ack == 5020 + 51);
}

TEST_CASE("NAT64 + FTP64 ALG: EPRT -> PORT binds the client's endpoint, the server's data connection reaches it") {
    Nat64 n = translator_with_alg();
    open_control(n);
    std::vector<MiddleboxNote> notes;
    Packet eprt = from_client("EPRT |2|2001:db8:1::10|40001|\r\n", 1000, 5020);
    REQUIRE(n.process(eprt, notes) == Verdict::Forward);
    CHECK(eprt.payload == "PORT 203,0,113,1,156,65\r\n");
    REQUIRE(n.bindings().size() == 1);
    CHECK(n.bindings()[0].v4 == ep("203.0.113.1:40001"));
    bool bound = false;
    for (const auto& note : notes) bound = bound || note.fact.fact == trace::Fact::Nat64Binding;
    CHECK(bound);

    notes.clear();
    Packet syn = make_packet(ep("198.51.100.10:20"), ep("203.0.113.1:40001"), kSyn, 7000);
    REQUIRE(n.process(syn, notes) == Verdict::Forward);
    CHECK(syn.src == ep("[64:ff9b::c633:640a]:20"));
    CHECK(syn.dst == ep("[2001:db8:1::10]:40001"));
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].fact.fact == trace::Fact::Nat64Session);

    // Another port on the pool address is still unsolicited.
    notes.clear();
    Packet other = make_packet(ep("198.51.100.10:20"), ep("203.0.113.1:40002"), kSyn, 7000);
    CHECK(n.process(other, notes) == Verdict::Drop);
}

TEST_CASE("NAT64 + FTP64 ALG: ALGS STATUS64 is answered by the translator in the server's name") {
    Nat64 n = translator_with_alg();
    open_control(n);
    std::vector<MiddleboxNote> notes;
    std::vector<Packet> answers;
    Packet algs = from_client("ALGS STATUS64\r\n", 1000, 5020);  // 15 bytes
    REQUIRE(n.process(algs, notes, &answers) == Verdict::Forward);
    CHECK(algs.payload.empty());  // not forwarded: a bare ACK reaches the server
    CHECK_FALSE(algs.has(kPsh));
    REQUIRE(answers.size() == 1);
    const Packet& a = answers[0];
    CHECK(a.src == ep("[64:ff9b::c633:640a]:21"));
    CHECK(a.dst == ep("[2001:db8:1::10]:40000"));
    CHECK(a.payload == "216 EPSVEPRT FTP ALG enabled.\r\n");  // 31 bytes
    CHECK(a.seq == 5020);
    CHECK(a.ack == 1015);
    bool answered = false;
    for (const auto& note : notes) answered = answered || note.fact.fact == trace::Fact::Alg64Answered;
    CHECK(answered);

    // The server never saw those bytes: the client's next command moves down by 15, its
    // acknowledgement of the server's stream (which now holds the ALG's 31 bytes) down by 31.
    Packet noop = from_client("NOOP\r\n", 1015, 5020 + 31);
    REQUIRE(n.process(noop, notes, &answers) == Verdict::Forward);
    CHECK(noop.seq == 1000);
    CHECK(noop.ack == 5020);
    // The server's reply moves up by 31 on its way to the client.
    Packet ok = from_server("200 NOOP ok.\r\n", 5020, 1006);
    REQUIRE(n.process(ok, notes, &answers) == Verdict::Forward);
    CHECK(ok.seq == 5020 + 31);
    CHECK(ok.ack == 1021);
}

TEST_CASE("NAT64 + FTP64 ALG: two ALG replies in a row, the server silent between them, both count") {
    Nat64 n = translator_with_alg();
    open_control(n);
    std::vector<MiddleboxNote> notes;
    std::vector<Packet> answers;
    Packet first = from_client("ALGS STATUS64\r\n", 1000, 5020);
    REQUIRE(n.process(first, notes, &answers) == Verdict::Forward);
    Packet second = from_client("ALGS ENABLE64\r\n", 1015, 5020 + 31);
    REQUIRE(n.process(second, notes, &answers) == Verdict::Forward);
    REQUIRE(answers.size() == 2);
    CHECK(answers[1].seq == 5020 + 31);  // right after the first reply
    CHECK(answers[1].ack == 1030);
    Packet pasv = from_client("PASV\r\n", 1030, 5020 + 62);
    REQUIRE(n.process(pasv, notes, &answers) == Verdict::Forward);
    CHECK(pasv.seq == 1000);
    CHECK(pasv.ack == 5020);
    Packet reply = from_server("227 Entering Passive Mode (198,51,100,10,117,54).\r\n", 5020, 1006);
    REQUIRE(n.process(reply, notes, &answers) == Verdict::Forward);
    CHECK(reply.seq == 5020 + 62);
    CHECK(reply.ack == 1036);
}

TEST_CASE("NAT64 without the FTP64 ALG: EPSV and EPRT pass unchanged") {
    Nat64 n = translator_with_alg(false);
    open_control(n);
    std::vector<MiddleboxNote> notes;
    std::vector<Packet> answers;
    Packet epsv = from_client("EPSV\r\n", 1000, 5020);
    REQUIRE(n.process(epsv, notes, &answers) == Verdict::Forward);
    CHECK(epsv.payload == "EPSV\r\n");
    Packet algs = from_client("ALGS STATUS64\r\n", 1006, 5020);
    REQUIRE(n.process(algs, notes, &answers) == Verdict::Forward);
    CHECK(algs.payload == "ALGS STATUS64\r\n");
    CHECK(answers.empty());
    CHECK(notes.empty());
}
