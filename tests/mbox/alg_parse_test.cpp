// The FTP ALG's parser, checked against what Linux's nf_conntrack_ftp finds (find_pattern and
// its number readers): only at the start of a packet, case-insensitive, no reassembly.
#include <doctest/doctest.h>

#include <string>

#include "sim/mbox/alg.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

HostPort ep(const char* text) { return *parse_endpoint(text); }
IpAddress ip(const char* text) { return *proto::parse_ip(text); }

AlgMatchStatus client(const std::string& data, AlgMatch& m, const char* sender = "192.168.1.10") {
    return match_ftp_line(data, true, ip(sender), m);
}
AlgMatchStatus server(const std::string& data, AlgMatch& m, const char* sender = "192.168.2.10") {
    return match_ftp_line(data, false, ip(sender), m);
}

std::string matched(const std::string& data, const AlgMatch& m) { return data.substr(m.offset, m.length); }

}  // namespace

TEST_CASE("ALG parse: PORT") {
    AlgMatch m;
    const std::string line = "PORT 192,168,1,10,195,149\r\n";
    REQUIRE(client(line, m) == AlgMatchStatus::Found);
    CHECK(m.form == FtpAddressForm::Port);
    CHECK(m.announced == ep("192.168.1.10:50069"));
    CHECK(matched(line, m) == "192,168,1,10,195,149");
    CHECK(client("port 10,0,0,2,4,1\r\n", m) == AlgMatchStatus::Found);  // strncasecmp
    CHECK(m.announced == ep("10.0.0.2:1025"));
}

TEST_CASE("ALG parse: EPRT, with any delimiter, in the connection's family only") {
    AlgMatch m;
    const std::string line = "EPRT |1|192.168.1.10|50069|\r\n";
    REQUIRE(client(line, m) == AlgMatchStatus::Found);
    CHECK(m.form == FtpAddressForm::Eprt);
    CHECK(m.announced == ep("192.168.1.10:50069"));
    CHECK(matched(line, m) == "|1|192.168.1.10|50069|");
    CHECK(client("EPRT !1!192.168.1.10!50069!\r\n", m) == AlgMatchStatus::Found);
    CHECK(m.announced == ep("192.168.1.10:50069"));
    // An IPv6 EPRT on an IPv4 connection cannot be read: the kernel calls that a partial match.
    CHECK(client("EPRT |2|2001:db8::1|50069|\r\n", m) == AlgMatchStatus::Partial);
    REQUIRE(client("EPRT |2|2001:db8::1|50069|\r\n", m, "2001:db8::1") == AlgMatchStatus::Found);
    CHECK(m.announced == ep("[2001:db8::1]:50069"));
}

TEST_CASE("ALG parse: 227, with or without parentheses (RFC 1123 4.1.2.6)") {
    AlgMatch m;
    const std::string line = "227 Entering Passive Mode (192,168,2,10,117,48).\r\n";
    REQUIRE(server(line, m) == AlgMatchStatus::Found);
    CHECK(m.form == FtpAddressForm::Pasv227);
    CHECK(m.announced == ep("192.168.2.10:30000"));
    CHECK(matched(line, m) == "192,168,2,10,117,48");
    const std::string bare = "227 Entering Passive Mode 192,168,2,10,117,48\r\n";
    REQUIRE(server(bare, m) == AlgMatchStatus::Found);
    CHECK(matched(bare, m) == "192,168,2,10,117,48");
}

TEST_CASE("ALG parse: 229 carries only the port; the address is the sender's") {
    AlgMatch m;
    const std::string line = "229 Entering Extended Passive Mode (|||30000|)\r\n";
    REQUIRE(server(line, m, "192.168.2.10") == AlgMatchStatus::Found);
    CHECK(m.form == FtpAddressForm::Epsv229);
    CHECK(m.announced == ep("192.168.2.10:30000"));
    CHECK(matched(line, m) == "|||30000|");
}

TEST_CASE("ALG parse: each side is searched for its own lines only") {
    AlgMatch m;
    CHECK(server("PORT 192,168,1,10,195,149\r\n", m) == AlgMatchStatus::None);
    CHECK(client("227 Entering Passive Mode (192,168,2,10,117,48).\r\n", m) == AlgMatchStatus::None);
    CHECK(client("PASV\r\n", m) == AlgMatchStatus::None);
    CHECK(client("EPSV\r\n", m) == AlgMatchStatus::None);
    CHECK(server("230 Login successful.\r\n", m) == AlgMatchStatus::None);
}

TEST_CASE("ALG parse: only the start of the packet is searched") {
    AlgMatch m;
    CHECK(client("NOOP\r\nPORT 192,168,1,10,195,149\r\n", m) == AlgMatchStatus::None);
    CHECK(server("150 Here comes the listing.\r\n227 Entering Passive Mode (1,2,3,4,5,6)\r\n", m) ==
          AlgMatchStatus::None);
}

TEST_CASE("ALG parse: a line cut short or malformed is a partial match (the kernel drops it)") {
    AlgMatch m;
    CHECK(client("PORT 192,168,1", m) == AlgMatchStatus::Partial);
    CHECK(client("PORT 192,168,1,10,195,149", m) == AlgMatchStatus::Partial);  // no CR yet
    CHECK(client("PO", m) == AlgMatchStatus::Partial);
    CHECK(client("EP", m) == AlgMatchStatus::Partial);
    CHECK(client("PORT", m) == AlgMatchStatus::Partial);
    CHECK(client("PORT 192,168,1,10,195,149\n", m) == AlgMatchStatus::Partial);  // term is '\r'
    CHECK(client("PORT 1,2,3,4,5,6,7\r\n", m) == AlgMatchStatus::Partial);
    CHECK(server("227 Entering Passive Mode.\r\n", m) == AlgMatchStatus::Partial);
    CHECK(server("229 Entering Extended Passive Mode (|||0|)\r\n", m) == AlgMatchStatus::Partial);
    CHECK(server("22", m) == AlgMatchStatus::Partial);
}

TEST_CASE("ALG parse: numbers are not range-checked, as in the kernel's try_number") {
    AlgMatch m;
    REQUIRE(client("PORT 300,168,1,10,195,149\r\n", m) == AlgMatchStatus::Found);
    CHECK(m.announced.addr == ip("44.168.1.10"));  // 300 << 24 overflows a 32-bit address
}

TEST_CASE("ALG format: what nf_nat_ftp writes back") {
    CHECK(format_ftp_address(FtpAddressForm::Port, ep("203.0.113.1:50069")) == "203,0,113,1,195,149");
    CHECK(format_ftp_address(FtpAddressForm::Pasv227, ep("203.0.113.1:30000")) == "203,0,113,1,117,48");
    CHECK(format_ftp_address(FtpAddressForm::Eprt, ep("203.0.113.1:50069")) == "|1|203.0.113.1|50069|");
    CHECK(format_ftp_address(FtpAddressForm::Epsv229, ep("203.0.113.1:30001")) == "|||30001|");
}

TEST_CASE("packet: TLS records are recognised by their header only") {
    CHECK(looks_like_tls_record(std::string("\x16\x03\x01\x02\x00", 5)));
    CHECK(looks_like_tls_record(std::string("\x17\x03\x03\x00\x20", 5)));
    CHECK_FALSE(looks_like_tls_record("PORT 1,2,3,4,5,6\r\n"));
    CHECK(flags_string(kSyn | kAck) == "SA");
    CHECK(flags_string(kPsh | kAck) == "PA");
    CHECK(flags_string(kFin | kAck) == "FA");
}
