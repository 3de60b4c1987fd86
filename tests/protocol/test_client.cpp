// The client session alone: canned replies in, command bytes and actions out.
// Every exchange here is from a real capture (tests/data/captures, curl 7.88 + vsftpd 3.0.3) or a
// seed document (the project's source documents, the "seeds"); the comment above each test names it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "protocol/client.hpp"
#include "tests/protocol/test_client_support.hpp"
#include "tests/support/captures.hpp"

using namespace ftpsim::proto;
using namespace ftpsim::proto::testing;

namespace {

const HostPort kClientLan{IpAddress::v4(192, 168, 1, 10), 36932};
const HostPort kServerPublic{IpAddress::v4(203, 0, 113, 10), 21};
const HostPort kRouterPublic{IpAddress::v4(203, 0, 113, 1), 21};
const HostPort kCurlHost{IpAddress::v4(203, 0, 113, 10), 46296};

ClientSession make_client(const char* profile, DataMode mode, ClientScript script,
                          HostPort local, HostPort remote) {
    ClientConfig config{*find_client_profile(profile), mode, std::move(script), std::nullopt, std::nullopt, std::nullopt};
    ClientSession client(std::move(config));
    client.on_connected(local, remote, 0);
    return client;
}

// vsftpd 3.0.3's replies in the captures (anonymous login needs no password there).
CannedServer vsftpd() {
    CannedServer s;
    s.answers = {
        {"USER", {"230 Login successful."}},
        {"PWD", {"257 \"/\" is the current directory"}},
        {"EPSV", {"229 Entering Extended Passive Mode (|||30007|)"}},
        {"TYPE I", {"200 Switching to Binary mode."}},
        {"TYPE A", {"200 Switching to ASCII mode."}},
        {"SIZE", {"213 65536"}},
        {"RETR", {"150 Opening BINARY mode data connection for file.bin (65536 bytes).",
                  "226 Transfer complete."}},
        {"PORT", {"200 PORT command successful. Consider using PASV."}},
        {"SYST", {"215 UNIX Type: L8"}},
        {"QUIT", {"221 Goodbye."}},
        // lftp's (features.c with ssl_enable=NO; MDTM in UTC).
        {"FEAT", {"211-Features:", " EPRT", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE",
                  " TVFS", "211 End"}},
        {"MDTM", {"213 20240101120000"}},
    };
    return s;
}

const ClientScript kCurlGet{login("anonymous"), get("file.bin"), quit()};

}  // namespace

TEST_CASE("curl EPSV download: the command sequence of curl-vsftpd-cnat-off-epsv") {
    auto client = make_client("curl", DataMode::Auto, kCurlGet, kClientLan, kServerPublic);
    const Run run = run_canned(client, vsftpd());
    CHECK(run.transcript == ftpsim::testing::kCurlVsftpdEpsvDownload);
    // curl connects to the control peer's address with the 229 port, before TYPE I.
    const auto connects = actions_of<Connect>(run);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == HostPort{kServerPublic.addr, 30007});
    CHECK(client.control_state() == ControlState::Closed);
    REQUIRE(client.results().size() == 3);
    CHECK(client.results()[1].ok);
    CHECK(client.results()[1].received.size() == 65536);
    CHECK(client.results()[1].reply_code == 226);
    CHECK(actions_of<CloseControl>(run).size() == 1);
    CHECK(client.protocol_errors().empty());
}

TEST_CASE("curl active download: PORT announces the control connection's local address "
          "(curl-vsftpd-cnat-on-active, client side)") {
    auto client = make_client("curl", DataMode::Port, kCurlGet,
                              {kClientLan.addr, 36942}, kServerPublic);
    const Run run = run_canned(client, vsftpd());
    CHECK(run.transcript == ftpsim::testing::kCurlVsftpdActiveDownload);
    const auto listens = actions_of<Listen>(run);
    REQUIRE(listens.size() == 1);
    CHECK(listens[0].addr == kClientLan.addr);
    CHECK(listens[0].port_lo == 0);  // any ephemeral port: the caller picked 60149
    CHECK(actions_of<StopListening>(run).size() == 1);  // closed after accept()
    CHECK(client.results()[1].ok);
}

TEST_CASE("curl: 500 Illegal PORT command ends in QUIT (curl-vsftpd-cnat-off-active)") {
    auto client = make_client("curl", DataMode::Port, kCurlGet,
                              {kClientLan.addr, 35656}, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["PORT"] = {"500 Illegal PORT command."};
    server.listen_port = 57803;
    const Run run = run_canned(client, server);
    CHECK(run.transcript == ftpsim::testing::kCurlVsftpdPortRefused);
    CHECK(actions_of<StopListening>(run).size() == 1);
    REQUIRE(client.results().size() == 2);
    CHECK_FALSE(client.results()[1].ok);
    // RETR was never sent: the transfer has no final reply; the 500 belongs to PORT.
    CHECK(client.results()[1].reply_code == 0);
    CHECK(client.results()[1].failed_reply == 500);
    CHECK(client.results()[1].failed_reply_text == "Illegal PORT command.");
    CHECK(client.results()[1].failed_command == "PORT 192,168,1,10,225,203");
}

TEST_CASE("curl PASV ignores the 227 address and connects to the control peer "
          "(curl-vsftpd-snatfwd-off-pasv)") {
    auto client = make_client("curl", DataMode::Pasv, kCurlGet, kCurlHost, kRouterPublic);
    CannedServer server = vsftpd();
    server.answers["PASV"] = {"227 Entering Passive Mode (192,168,2,10,117,52)."};
    const Run run = run_canned(client, server);
    CHECK(run.transcript[5] == "C: PASV");
    CHECK(run.transcript[7] == "C: TYPE I");
    const auto connects = actions_of<Connect>(run);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == HostPort{kRouterPublic.addr, 30004});
    CHECK(client.results()[1].ok);
}

TEST_CASE("curl gives up without QUIT when the PASV data connection is refused "
          "(curl-vsftpd-snat21-off-pasv)") {
    auto client = make_client("curl", DataMode::Pasv, kCurlGet, kCurlHost, kRouterPublic);
    CannedServer server = vsftpd();
    server.answers["PASV"] = {"227 Entering Passive Mode (192,168,2,10,117,55)."};
    server.data = DataOutcome::Refuse;
    const Run run = run_canned(client, server);
    const std::vector<std::string> capture{
        "S: 220 (vsFTPd 3.0.3)",
        "C: USER anonymous",
        "S: 230 Login successful.",
        "C: PWD",
        "S: 257 \"/\" is the current directory",
        "C: PASV",
        "S: 227 Entering Passive Mode (192,168,2,10,117,55).",
    };
    CHECK(run.transcript == capture);
    CHECK(actions_of<Connect>(run)[0].remote == HostPort{kRouterPublic.addr, 30007});
    CHECK(actions_of<CloseControl>(run).size() == 1);
    CHECK(client.control_state() == ControlState::Closed);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[1].failure.find("refused") != std::string::npos);
}

TEST_CASE("curl falls back from EPSV to PASV on a negative reply and on a failed connect") {
    SUBCASE("500 to EPSV") {
        auto client = make_client("curl", DataMode::Epsv, kCurlGet, kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["EPSV"] = {"500 'EPSV': command not understood."};
        server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,50)."};
        const Run run = run_canned(client, server);
        CHECK(run.transcript[5] == "C: EPSV");
        CHECK(run.transcript[7] == "C: PASV");
        CHECK(client.results()[1].ok);
    }
    SUBCASE("the EPSV connection times out") {
        auto client = make_client("curl", DataMode::Epsv, kCurlGet, kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,50)."};
        server.data = DataOutcome::TimeOut;
        const Run run = run_canned(client, server);
        REQUIRE(run.transcript.size() >= 9);
        CHECK(run.transcript[7] == "C: PASV");
        // The PASV connection times out too: curl hangs up.
        CHECK(actions_of<Connect>(run).size() == 2);
        CHECK(client.control_state() == ControlState::Closed);
    }
    SUBCASE("no fallback after EPSV ALL (RFC 2428 section 4)") {
        auto client = make_client("curl", DataMode::EpsvAll, kCurlGet, kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["EPSV ALL"] = {"200 EPSV ALL ok."};
        server.answers["EPSV"] = {"500 no."};
        const Run run = run_canned(client, server);
        CHECK(run.transcript[5] == "C: EPSV ALL");
        CHECK(run.transcript[7] == "C: EPSV");
        CHECK(run.transcript[9] == "C: QUIT");
    }
}

TEST_CASE("curl EPRT falls back to PORT on the same listener") {
    auto client = make_client("curl", DataMode::Eprt, kCurlGet, kClientLan, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["EPRT"] = {"500 Unknown command."};
    const Run run = run_canned(client, server);
    CHECK(run.transcript[5] == "C: EPRT |1|192.168.1.10|60149|");
    CHECK(run.transcript[7] == "C: PORT 192,168,1,10,234,245");
    CHECK(actions_of<Listen>(run).size() == 1);
    CHECK(client.results()[1].ok);
}

TEST_CASE("ftplib: USER/PASS, TYPE I before PASV, the control peer's address") {
    auto client = make_client("ftplib", DataMode::Auto,
                              {login("anonymous"), get("file.bin"), ls(), quit()}, kCurlHost,
                              kRouterPublic);
    CannedServer server = vsftpd();
    server.answers["USER"] = {"331 Please specify the password."};
    server.answers["PASS"] = {"230 Login successful."};
    server.answers["PASV"] = {"227 Entering Passive Mode (192,168,2,10,117,52)."};
    server.answers["LIST"] = {"150 Here comes the directory listing.", "226 Directory send OK."};
    const Run run = run_canned(client, server);
    const std::vector<std::string> expected{
        "S: 220 (vsFTPd 3.0.3)",
        "C: USER anonymous",
        "S: 331 Please specify the password.",
        "C: PASS anonymous@",
        "S: 230 Login successful.",
        "C: TYPE I",
        "S: 200 Switching to Binary mode.",
        "C: PASV",
        "S: 227 Entering Passive Mode (192,168,2,10,117,52).",
        "C: RETR file.bin",
        "S: 150 Opening BINARY mode data connection for file.bin (65536 bytes).",
        "S: 226 Transfer complete.",
        "C: TYPE A",
        "S: 200 Switching to ASCII mode.",
        "C: PASV",
        "S: 227 Entering Passive Mode (192,168,2,10,117,52).",
        "C: LIST",
        "S: 150 Here comes the directory listing.",
        "S: 226 Directory send OK.",
        "C: QUIT",
        "S: 221 Goodbye.",
    };
    CHECK(run.transcript == expected);
    for (const auto& c : actions_of<Connect>(run)) CHECK(c.remote.addr == kRouterPublic.addr);
}

TEST_CASE("the 227 address as each profile uses it") {
    // The server behind a NAT announces its private address; the control peer is public.
    struct Case {
        const char* profile;
        IpAddress control_peer;
        IpAddress expected;
    };
    const IpAddress announced = IpAddress::v4(192, 168, 2, 10);
    const IpAddress pub = kRouterPublic.addr;
    const IpAddress lan = IpAddress::v4(192, 168, 2, 1);
    const Case cases[] = {
        {"curl", pub, pub},          {"ftplib", pub, pub},
        {"lftp", pub, pub},          {"lftp", lan, announced},  // both private: trusted
        {"filezilla", pub, pub},     {"filezilla", lan, announced},
        {"classic", pub, announced}, {"curl", lan, lan},
    };
    for (const auto& c : cases) {
        const std::string profile = c.profile, peer = c.control_peer.to_string();
        CAPTURE(profile);
        CAPTURE(peer);
        auto client = make_client(c.profile, DataMode::Pasv, {login("u", "p"), get("f")},
                                  kCurlHost, {c.control_peer, 21});
        CannedServer server = vsftpd();
        server.answers["USER"] = {"230 ok"};
        server.answers["PASV"] = {"227 Entering Passive Mode (192,168,2,10,117,52)."};
        const Run run = run_canned(client, server);
        const auto connects = actions_of<Connect>(run);
        REQUIRE(connects.size() == 1);
        CHECK(connects[0].remote == HostPort{c.expected, 30004});
    }
}

TEST_CASE("filezilla falls back to active mode when the passive connection fails") {
    auto client = make_client("filezilla", DataMode::Auto, {login("u", "p"), get("f"), quit()},
                              kClientLan, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["USER"] = {"331 pw"};
    server.answers["PASS"] = {"230 ok"};
    server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,52)."};
    server.data = DataOutcome::Refuse;
    const Run run = run_canned(client, server);
    const std::vector<std::string> tail{
        "C: TYPE I", "S: 200 Switching to Binary mode.",
        "C: PASV", "S: 227 Entering Passive Mode (203,0,113,10,117,52).",
        "C: PORT 192,168,1,10,234,245", "S: 200 PORT command successful. Consider using PASV.",
        "C: RETR f",
    };
    REQUIRE(run.transcript.size() > 8 + tail.size());
    CHECK(std::vector<std::string>(run.transcript.begin() + 7,
                                   run.transcript.begin() + 7 + tail.size()) == tail);
}

TEST_CASE("classic: PORT by default, SYST after login; the article's PORT and 227") {
    SUBCASE("PORT 12,34,56,78,65,43 announces port 16683") {
        auto client = make_client("classic", DataMode::Auto, {login("u", "p"), get("f")},
                                  {IpAddress::v4(12, 34, 56, 78), 1025}, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["USER"] = {"331 pw"};
        server.answers["PASS"] = {"230 ok"};
        server.answers["SYST"] = {"215 UNIX Type: L8"};
        server.answers["PORT"] = {"200 PORT command successful."};
        server.listen_port = 16683;
        const Run run = run_canned(client, server);
        CHECK(run.transcript[5] == "C: SYST");
        CHECK(run.transcript[7] == "C: TYPE I");
        CHECK(run.transcript[9] == "C: PORT 12,34,56,78,65,43");
        CHECK(run.transcript[10] == "S: 200 PORT command successful.");
    }
    SUBCASE("227 Entering Passive Mode (123,45,67,89,158,26) is port 40474") {
        auto client = make_client("classic", DataMode::Pasv, {login("u", "p"), get("f")},
                                  kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["USER"] = {"230 ok"};
        server.answers["SYST"] = {"215 UNIX Type: L8"};
        server.answers["PASV"] = {"227 Entering Passive Mode (123,45,67,89,158,26)"};
        const Run run = run_canned(client, server);
        const auto connects = actions_of<Connect>(run);
        REQUIRE(connects.size() == 1);
        CHECK(connects[0].remote == HostPort{IpAddress::v4(123, 45, 67, 89), 40474});
    }
}

TEST_CASE("the lecture deck's passive LIST session") {
    // seeds/002: client port 1120/1121, server 21; 227 (192,168,150,90,195,149) = port 50069.
    const HostPort server_addr{IpAddress::v4(192, 168, 150, 90), 21};
    auto client = make_client("classic", DataMode::Pasv, {login("username", "password"), ls(), quit()},
                              {IpAddress::v4(192, 168, 150, 20), 1120}, server_addr);
    CannedServer server;
    server.greeting = "220 FTP server ready";
    server.answers = {
        {"USER", {"331 password required"}},
        {"PASS", {"220 user username logged in"}},  // sic: the deck's slide says 220
        {"SYST", {"215 UNIX Type: L8"}},
        {"TYPE", {"200 Type set to A"}},
        {"PASV", {"227 Entering PASV mode (192,168,150,90,195,149)"}},
        {"LIST", {"150 Opening ASCII mode data connection for file list",
                  "226 File transfer complete"}},
        {"QUIT", {"221 Goodbye"}},
    };
    server.download = "dir\r\n";
    const Run run = run_canned(client, server);
    const auto connects = actions_of<Connect>(run);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == HostPort{server_addr.addr, 50069});
    CHECK(run.transcript.back() == "S: 221 Goodbye");
    CHECK(client.results()[1].received == "dir\r\n");
    CHECK(client.control_state() == ControlState::Closed);
}

TEST_CASE("SPSV: draft-rosenau section 4's example transmission") {
    auto client = make_client("curl", DataMode::Spsv,
                              {login("u001", "xyz"), get("example.file")}, kClientLan,
                              kServerPublic);
    CannedServer server;
    server.greeting = "220 FTP server ready";
    server.answers = {
        {"USER", {"331 Enter password"}},
        {"PASS", {"230 You are logged in"}},
        {"PWD", {"257 \"/\""}},
        {"SPSV", {"227 Entering single-port mode (xYab1234)"}},
        {"TYPE", {"200 ok"}},
        {"SIZE", {"213 5"}},
        {"RETR", {"150 Transmitting data", "226 Data transferred"}},
    };
    server.data_lines = {"220 FTP server ready", "200 DATA"};
    server.download = "bytes";
    const Run run = run_canned(client, server);
    const auto connects = actions_of<Connect>(run);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == kServerPublic);  // the control port itself
    CHECK(run.data_transcript == std::vector<std::string>{"S: 220 FTP server ready",
                                                          "C: SPDT xYab1234", "S: 200 DATA"});
    CHECK(client.results()[1].ok);
    CHECK(client.results()[1].received == "bytes");
}

TEST_CASE("SPSV: draft-rosenau section 5, only SPSV connections allowed") {
    SUBCASE("the data connection is served") {
        auto client = make_client("curl", DataMode::Spsv, {login("u001", "xyz"), get("f")},
                                  kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["SPSV"] = {"227 Entering single-port mode (xYz1234)"};
        server.data_lines = {"220 Too many users; only SPSV connections allowed", "200 DATA"};
        const Run run = run_canned(client, server);
        CHECK(run.data_transcript[1] == "C: SPDT xYz1234");
        CHECK(client.results()[1].ok);
    }
    SUBCASE("a new user is refused with 421") {
        auto client = make_client("curl", DataMode::Spsv, {login("u001", "xyz"), get("f")},
                                  kClientLan, kServerPublic);
        CannedServer server;
        server.greeting = "220 Too many users; only SPSV connections allowed";
        server.answers = {{"USER", {"421 Too many users connected. Try later."}}};
        const Run run = run_canned(client, server);
        CHECK(run.transcript.back() == "S: 421 Too many users connected. Try later.");
        CHECK(client.control_state() == ControlState::Closed);
        CHECK_FALSE(client.results()[0].ok);
    }
    SUBCASE("504 to a bad identifier") {
        auto client = make_client("classic", DataMode::Spsv, {login("u", "p"), get("f"), pwd()},
                                  kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["SYST"] = {"215 UNIX"};
        server.answers["SPSV"] = {"227 Entering single-port mode (abc)"};
        server.data_lines = {"220 FTP server ready", "504 Bad identifier"};
        const Run run = run_canned(client, server);
        CHECK_FALSE(client.results()[1].ok);
        CHECK(run.transcript.back() == "S: 257 \"/\" is the current directory");  // continues
    }
}

TEST_CASE("RFC 959 3.2's default data connection: no PORT, the client listens on its port U") {
    auto client = make_client("classic", DataMode::Default, {login("u", "p"), get("f"), quit()},
                              {kClientLan.addr, 1121}, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["SYST"] = {"215 UNIX"};
    const Run run = run_canned(client, server);
    const auto listens = actions_of<Listen>(run);
    REQUIRE(listens.size() == 1);
    CHECK(listens[0].port_lo == 1121);
    CHECK(listens[0].port_hi == 1121);
    for (const auto& line : run.transcript) CHECK(line.find("PORT") == std::string::npos);
    CHECK(client.results()[1].ok);
}

TEST_CASE("the 1973 dialect on one server: LSTN (RFC 438) and SOCK") {
    SUBCASE("LSTN S: the 255 reply names the socket to connect to") {
        auto client = make_client("classic", DataMode::Lstn, {login("u", "p"), get("f")},
                                  kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["SYST"] = {"215 UNIX"};
        server.answers["LSTN S"] = {"255 SOCK 1234"};
        const Run run = run_canned(client, server);
        CHECK(std::find(run.transcript.begin(), run.transcript.end(), "C: LSTN S") != run.transcript.end());
        CHECK(actions_of<Connect>(run)[0].remote == HostPort{kServerPublic.addr, 1234});
        CHECK(client.results()[1].ok);
    }
    SUBCASE("SOCK host,socket announces the client's listener; LSTN R for an upload") {
        auto client = make_client("classic", DataMode::Sock, {login("u", "p"), get("f")},
                                  kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["SYST"] = {"215 UNIX"};
        server.answers["SOCK"] = {"255 SOCK 20"};
        const Run run = run_canned(client, server);
        CHECK(std::find(run.transcript.begin(), run.transcript.end(),
                        "C: SOCK 192.168.1.10,60149") != run.transcript.end());
        CHECK(client.results()[1].ok);
    }
}

TEST_CASE("put and append send the file on the data connection and close it") {
    auto client = make_client("ftplib", DataMode::Auto,
                              {login("u", "p"), put("up.bin", 1000), append("log", 10), quit()},
                              kClientLan, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,52)."};
    server.answers["STOR"] = {"150 Ok to send data.", "226 Transfer complete."};
    server.answers["APPE"] = {"150 Ok to send data.", "226 Transfer complete."};
    const Run run = run_canned(client, server);
    CHECK(run.uploaded.size() == 1010);
    CHECK(client.results()[1].bytes_sent == 1000);
    CHECK(client.results()[2].ok);
    CHECK(actions_of<CloseData>(run).size() == 2);
}

TEST_CASE("replies split at every byte, multi-line replies") {
    const std::string bytes =
        "220-Welcome\r\n220-to the server\r\n220 ready\r\n331 pw\r\n230-Motd\r\n 230 not the end\r\n230 ok\r\n";
    for (std::size_t split = 1; split < bytes.size(); ++split) {
        CAPTURE(split);
        auto client = make_client("ftplib", DataMode::Auto, {login("u", "p")}, kClientLan,
                                  kServerPublic);
        client.receive_control(bytes.substr(0, split), 0);
        client.receive_control(bytes.substr(split), 0);
        std::string sent;
        while (auto a = client.poll_action())
            if (auto* s = std::get_if<SendControl>(&*a)) sent += s->bytes;
        CHECK(sent == "USER u\r\nPASS p\r\n");
        CHECK(client.finished());
        CHECK(client.results().at(0).ok);
    }
}

TEST_CASE("an event the tables do not allow changes nothing and is recorded") {
    auto client = make_client("curl", DataMode::Auto, {login("u")}, kClientLan, kServerPublic);
    client.receive_control("220 hi\r\n", 0);
    REQUIRE(client.control_state() == ControlState::AwaitReply);
    client.on_data_event(DataConnected{77, {}, {}}, 0);  // no such data connection
    CHECK(client.protocol_errors().size() == 1);
    CHECK(client.data_state() == DataState::NoData);
    CHECK(next_control_state(ControlState::Ready, ClientEvent::Reply1yz) == std::nullopt);
    CHECK(next_data_state(DataState::NoData, ClientEvent::PeerClosed) == std::nullopt);
}

TEST_CASE("curl's accept timeout: the server never connects to the PORT listener") {
    auto client = make_client("curl", DataMode::Port, kCurlGet, kClientLan, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["RETR"] = {};  // the server neither connects nor replies
    server.data = DataOutcome::Refuse;
    const Run run = run_canned(client, server, 5);
    CHECK(client.next_expiry() == 5 + 60'000'000'000LL);
    client.on_timer(client.next_expiry() - 1);
    CHECK(client.control_state() == ControlState::AwaitPreliminary);
    client.on_timer(client.next_expiry());
    CHECK(client.control_state() == ControlState::Closed);
    CHECK(client.next_expiry() == kNever);
}

TEST_CASE("a 226 does not mend a reset data connection, nor one that never opened (curl, ftplib)") {
    SUBCASE("passive: the data connection is reset, then the server answers 226") {
        auto client = make_client("curl", DataMode::Epsv, kCurlGet, kCurlHost, kServerPublic);
        CannedServer server = vsftpd();
        server.data = DataOutcome::Reset;
        run_canned(client, server);
        REQUIRE(client.results().size() >= 2);
        CHECK_FALSE(client.results()[1].ok);
        CHECK(client.results()[1].reply_code == 226);
        CHECK(client.results()[1].received.empty());
        CHECK(client.results()[1].failure.find("reset") != std::string::npos);
    }
    SUBCASE("active: 150 and 226 arrive but the server never connected") {
        auto client = make_client("ftplib", DataMode::Port, kCurlGet, kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["USER"] = {"331 Please specify the password."};
        server.answers["PASS"] = {"230 Login successful."};
        server.data = DataOutcome::Refuse;  // nobody connects to the client's listener
        run_canned(client, server);
        REQUIRE(client.results().size() >= 2);
        CHECK_FALSE(client.results()[1].ok);
        CHECK(client.results()[1].reply_code == 226);
        CHECK(client.results()[1].failure.find("no data connection") != std::string::npos);
    }
    SUBCASE("the same sessions with a working data connection succeed") {
        auto client = make_client("curl", DataMode::Epsv, kCurlGet, kCurlHost, kServerPublic);
        run_canned(client, vsftpd());
        REQUIRE(client.results().size() >= 2);
        CHECK(client.results()[1].ok);
        CHECK(client.results()[1].received.size() == 65536);
    }
}

TEST_CASE("client script: text form and errors with line and column") {
    const auto parsed = parse_client_script(
        "# a session\nlogin anonymous ftp@example.com\nls /pub\nget file.bin\n"
        "put up.bin 65536\nraw SITE CHMOD 644 x\nquit\n");
    REQUIRE(std::holds_alternative<ClientScript>(parsed));
    const auto& script = std::get<ClientScript>(parsed);
    REQUIRE(script.size() == 6);
    CHECK(script[0] == login("anonymous", "ftp@example.com"));
    CHECK(script[3] == put("up.bin", 65536));
    CHECK(script[4] == raw("SITE CHMOD 644 x"));
    CHECK(to_string(script[3]) == "put up.bin 65536");

    const auto bad = parse_client_script("login u\nput f abc\n");
    REQUIRE(std::holds_alternative<ScriptError>(bad));
    CHECK(std::get<ScriptError>(bad).line == 2);
    CHECK(std::get<ScriptError>(bad).column == 7);
    const auto unknown = parse_client_script("  fetch x\n");
    CHECK(std::get<ScriptError>(unknown).column == 3);
}

TEST_CASE("profiles and modes by name") {
    for (const char* name : {"curl", "ftplib", "lftp", "filezilla", "classic"})
        CHECK(find_client_profile(name) != nullptr);
    CHECK(find_client_profile("wget") == nullptr);
    for (const char* name : {"auto", "default", "port", "eprt", "pasv", "epsv", "epsv-all",
                             "spsv", "lstn", "sock"}) {
        const auto mode = parse_data_mode(name);
        REQUIRE(mode);
        CHECK(std::string(to_string(*mode)) == name);
    }
}

TEST_CASE("docs/client.md holds the state diagram rendered from the tables") {
    std::ifstream in(std::string(FTPSIM_SOURCE_DIR) + "/docs/client.md");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    const std::string block = "```mermaid\n" + render_client_state_diagram() + "```\n";
    CHECK(text.str().find(block) != std::string::npos);
    // Every state appears in the diagram: the tables reach all of them.
    const std::string diagram = render_client_state_diagram();
    for (const auto& t : client_control_transitions())
        CHECK(diagram.find(to_string(t.to)) != std::string::npos);
}

TEST_CASE("every profile in every mode: the mode's command, who listens, who connects") {
    struct ModeCase {
        DataMode mode;
        const char* first_setup_line;  // nullptr: no command (RFC 959's default)
        bool client_connects;
    };
    const ModeCase modes[] = {
        {DataMode::Default, nullptr, false},
        {DataMode::Port, "C: PORT 192,168,1,10,234,245", false},
        {DataMode::Eprt, "C: EPRT |1|192.168.1.10|60149|", false},
        {DataMode::Pasv, "C: PASV", true},
        {DataMode::Epsv, "C: EPSV", true},
        {DataMode::EpsvAll, "C: EPSV", true},
        {DataMode::Spsv, "C: SPSV", true},
        {DataMode::Lstn, "C: LSTN S", true},
        {DataMode::Sock, "C: SOCK 192.168.1.10,60149", false},
    };
    for (const auto& profile : client_profiles()) {
        for (const auto& m : modes) {
            const std::string name = std::string(profile.name) + " x " + to_string(m.mode);
            CAPTURE(name);
            CannedServer server = vsftpd();
            server.answers["USER"] = {"331 Please specify the password."};
            server.answers["PASS"] = {"230 Login successful."};
            server.answers["EPSV ALL"] = {"200 EPSV ALL ok."};
            server.answers["EPRT"] = {"200 EPRT command successful."};
            server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,55)."};
            server.answers["SPSV"] = {"227 Entering single-port mode (abc123)"};
            server.answers["LSTN S"] = {"255 SOCK 30007"};
            server.answers["SOCK"] = {"255 SOCK 20"};
            if (m.mode == DataMode::Spsv) server.data_lines = {"220 ready", "200 DATA"};
            ClientSession client(ClientConfig{profile, m.mode, {login("anonymous"), get("file.bin"), quit()},
                                              ControlEndpoints{kClientLan, kServerPublic}, std::nullopt, std::nullopt});
            const Run run = run_canned(client, server);
            if (m.first_setup_line != nullptr)
                CHECK(std::find(run.transcript.begin(), run.transcript.end(),
                                std::string(m.first_setup_line)) != run.transcript.end());
            CHECK(actions_of<Connect>(run).size() == (m.client_connects ? 1u : 0u));
            CHECK(actions_of<Listen>(run).size() == (m.client_connects ? 0u : 1u));
            if (m.mode == DataMode::Default) CHECK(actions_of<Listen>(run)[0].port_lo == kClientLan.port);
            if (m.mode == DataMode::EpsvAll)
                CHECK(std::find(run.transcript.begin(), run.transcript.end(), "C: EPSV ALL") !=
                      run.transcript.end());
            CHECK(run.transcript.back() == "S: 221 Goodbye.");
            REQUIRE(client.results().size() == 3);
            CHECK(client.results()[1].ok);
            CHECK(client.results()[1].received == server.download);
            CHECK(client.protocol_errors().empty());
        }
    }
}

namespace {

// Drains a ThirdPartyClient: the lines it sent, as "0: LSTN R" / "1: RETR PROG1.PL1".
std::vector<std::string> drain_lines(ThirdPartyClient& client) {
    std::vector<std::string> out;
    while (auto a = client.poll_action())
        if (auto* s = std::get_if<SendControl>(&a->action))
            out.push_back(std::to_string(a->control) + ": " + s->bytes.substr(0, s->bytes.size() - 2));
    return out;
}

}  // namespace

TEST_CASE("ThirdPartyClient alone: RFC 438's example, SITE2 listens, SITE1 sends") {
    ThirdPartyConfig config;
    config.dialect = ThirdPartyDialect::Rfc438;
    config.source_path = "PROG1.PL1";
    config.destination_path = "PROG2.PL1";
    ThirdPartyClient client(config);
    const HostPort site2{IpAddress::v4(10, 0, 0, 2), 21}, site1{IpAddress::v4(10, 0, 0, 1), 21};
    client.on_connected(ThirdPartyClient::kReceiver, {kClientLan.addr, 4000}, site2, 0);
    client.on_connected(ThirdPartyClient::kSender, {kClientLan.addr, 4001}, site1, 0);
    auto reply = [&](ControlId c, const char* line) {
        client.receive_control(c, std::string(line) + "\r\n", 0);
        return drain_lines(client);
    };
    using V = std::vector<std::string>;
    CHECK(reply(0, "220 SITE2") == V{"0: USER anonymous"});
    CHECK(reply(1, "220 SITE1").empty());  // one setup command at a time
    CHECK(reply(0, "230 ok") == V{"1: USER anonymous"});
    CHECK(reply(1, "230 ok") == V{"0: LSTN R"});
    CHECK(reply(0, "255 SOCK 1234") == V{"1: SOCK 10.0.0.2,1234"});  // 1. and 2. of the RFC
    CHECK(reply(1, "255 SOCK 5678") == V{"0: SOCK 10.0.0.1,5678"});  // 3.
    CHECK(reply(0, "255 SOCK 1234") == V{"0: APPE PROG2.PL1", "1: RETR PROG1.PL1"});  // 4.
    CHECK(reply(1, "150 sending").empty());
    CHECK(reply(0, "150 receiving").empty());
    CHECK(reply(1, "226 sent") == V{});  // the receiver's transfer is still running
    CHECK(reply(0, "226 stored") == V{"0: QUIT", "1: QUIT"});
    reply(0, "221 bye");
    reply(1, "221 bye");
    CHECK(client.finished());
    CHECK(client.succeeded());
    CHECK(client.protocol_errors().empty());
}

TEST_CASE("ThirdPartyClient alone: a refused PORT ends both sessions with QUIT") {
    ThirdPartyClient client(ThirdPartyConfig{});
    client.on_connected(0, {kClientLan.addr, 4000}, {IpAddress::v4(198, 51, 100, 1), 21}, 0);
    client.on_connected(1, {kClientLan.addr, 4001}, kServerPublic, 0);
    client.receive_control(0, "220 a\r\n", 0);
    client.receive_control(1, "220 b\r\n", 0);
    client.receive_control(0, "230 ok\r\n", 0);
    client.receive_control(1, "230 ok\r\n", 0);
    client.receive_control(0, "200 ok\r\n", 0);
    client.receive_control(1, "200 ok\r\n", 0);
    client.receive_control(0, "227 Entering Passive Mode (198,51,100,1,117,48).\r\n", 0);
    auto lines = drain_lines(client);
    CHECK(lines.back() == "1: PORT 198,51,100,1,117,48");
    client.receive_control(1, "500 Illegal PORT command.\r\n", 0);
    CHECK(drain_lines(client) == std::vector<std::string>{"0: QUIT", "1: QUIT"});
    CHECK(client.failure() == "PORT 198,51,100,1,117,48 refused: 500 Illegal PORT command.");
}

TEST_CASE("120 then 220, and a garbage line, before the login") {
    auto client = make_client("ftplib", DataMode::Auto, {login("u", "p")}, kClientLan, kServerPublic);
    client.receive_control("120 Service ready in 1 minute.\r\n", 0);
    CHECK(client.control_state() == ControlState::AwaitGreeting);
    client.receive_control("hello?\r\n220 ready\r\n", 0);
    CHECK(client.control_state() == ControlState::AwaitReply);
    CHECK(client.protocol_errors().size() == 1);
}

TEST_CASE("a transfer answered 226 without 1yz closes the unused data connection") {
    auto client = make_client("ftplib", DataMode::Pasv, {login("u", "p"), ls("/empty"), pwd()},
                              kClientLan, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,55)."};
    server.answers["LIST"] = {"226 No files."};
    const Run run = run_canned(client, server);
    CHECK(actions_of<CloseData>(run).size() == 1);
    CHECK(run.transcript.back() == "S: 257 \"/\" is the current directory");
    CHECK(client.results()[1].ok);
    CHECK(client.finished());
}

TEST_CASE("a path holding CRLF is never sent: no command smuggling") {
    auto client = make_client("classic", DataMode::Pasv,
                              {login("u", "p"), get("a\r\nDELE important"), pwd()}, kClientLan,
                              kServerPublic);
    CannedServer server = vsftpd();
    server.answers["USER"] = {"230 ok"};
    server.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,55)."};
    const Run run = run_canned(client, server);
    for (const auto& line : run.transcript) CHECK(line.find("DELE") == std::string::npos);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[2].ok);  // classic carries on
    const auto parsed = parse_client_script("login u\nget a\x01" "b\n");
    REQUIRE(std::holds_alternative<ScriptError>(parsed));
    CHECK(std::get<ScriptError>(parsed).line == 2);
    CHECK(std::get<ScriptError>(parsed).column == 6);
}

// Found by fuzz_client: "raw \x88d .." went out as a line that the server's parser refuses.
TEST_CASE("client: a raw line the command parser would refuse is a script error, and never sent") {
    const auto bad_verb = parse_client_script("login u\nraw \x88" "d ..\n");
    REQUIRE(std::holds_alternative<ScriptError>(bad_verb));
    CHECK(std::get<ScriptError>(bad_verb).line == 2);
    CHECK(std::get<ScriptError>(bad_verb).column == 5);
    CHECK(std::get<ScriptError>(bad_verb).message.find("FTP verb") != std::string::npos);
    const auto tab = parse_client_script("raw NOOP\tx\n");
    REQUIRE(std::holds_alternative<ScriptError>(tab));
    CHECK(std::get<ScriptError>(tab).column == 9);
    const auto long_verb = parse_client_script("raw ABCDEFGHIJKLMNOPQ\n");  // 17 letters
    REQUIRE(std::holds_alternative<ScriptError>(long_verb));
    CHECK(std::get<ScriptError>(long_verb).column == 21);
    const auto long_line = parse_client_script("get " + std::string(3997, 'a') + "\n");
    REQUIRE(std::holds_alternative<ScriptError>(long_line));
    CHECK(std::get<ScriptError>(long_line).column == 4001);
    CHECK(std::holds_alternative<ClientScript>(parse_client_script("get " + std::string(3996, 'a') + "\n")));
    CHECK(std::holds_alternative<ClientScript>(parse_client_script("raw SITE CHMOD 777 x\nraw noop\n")));

    // A script built in code skips the parser: the session checks the line itself.
    auto client = make_client("classic", DataMode::Pasv, {login("u", "p"), raw("\x88" "d .."), pwd()},
                              kClientLan, kServerPublic);
    CannedServer server = vsftpd();
    server.answers["USER"] = {"230 ok"};
    const Run run = run_canned(client, server);
    for (const auto& line : run.transcript) CHECK(line.find("\x88") == std::string::npos);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[2].ok);
}

// ---- lftp 4.9.2 against vsftpd 3.0.3 (tests/rig, the real-stack comparison) --------------------

namespace {

CannedServer vsftpd_for_lftp() {
    CannedServer s = vsftpd();
    s.answers["PASV"] = {"227 Entering Passive Mode (203,0,113,10,117,52)."};
    return s;
}

const ClientScript kLftpGet{login("anonymous"), get("file.bin"), quit()};

}  // namespace

TEST_CASE("lftp: FEAT before USER, then SIZE and MDTM before the data setup and RETR") {
    auto client = make_client("lftp", DataMode::Auto, kLftpGet, kCurlHost, kServerPublic);
    const Run run = run_canned(client, vsftpd_for_lftp());
    const std::vector<std::string> expected{
        "S: 220 (vsFTPd 3.0.3)",
        "C: FEAT",
        "S: 211-Features:", "S:  EPRT", "S:  EPSV", "S:  MDTM", "S:  PASV", "S:  REST STREAM",
        "S:  SIZE", "S:  TVFS", "S: 211 End",
        "C: USER anonymous",
        "S: 230 Login successful.",
        "C: PWD",
        "S: 257 \"/\" is the current directory",
        "C: TYPE I",
        "S: 200 Switching to Binary mode.",
        "C: SIZE file.bin",
        "S: 213 65536",
        "C: MDTM file.bin",
        "S: 213 20240101120000",
        "C: PASV",
        "S: 227 Entering Passive Mode (203,0,113,10,117,52).",
        "C: RETR file.bin",
        "S: 150 Opening BINARY mode data connection for file.bin (65536 bytes).",
        "S: 226 Transfer complete.",
        "C: QUIT",
        "S: 221 Goodbye.",
    };
    CHECK(run.transcript == expected);
    REQUIRE(client.results().size() == 3);
    CHECK(client.results()[0].ok);
    CHECK(client.results()[0].reply_code == 257);  // the login's last step (PWD), not FEAT's
    CHECK(client.results()[1].ok);
    CHECK(client.results()[1].reply_code == 226);  // RETR's, not SIZE's or MDTM's 213
    CHECK(client.protocol_errors().empty());
}

TEST_CASE("lftp: a server without FEAT or MDTM changes nothing") {
    auto client = make_client("lftp", DataMode::Auto, kLftpGet, kCurlHost, kServerPublic);
    CannedServer server = vsftpd_for_lftp();
    server.answers["FEAT"] = {"500 Unknown command."};
    server.answers["MDTM"] = {"550 Could not get file modification time."};
    run_canned(client, server);
    for (const auto& r : client.results()) CHECK(r.ok);
}

TEST_CASE("lftp: 500 Illegal PORT command, closes the control connection without QUIT") {
    auto client = make_client("lftp", DataMode::Port, kLftpGet, kClientLan, kServerPublic);
    CannedServer server = vsftpd_for_lftp();
    server.answers["PORT"] = {"500 Illegal PORT command."};
    const Run run = run_canned(client, server);
    CHECK(run.transcript.back() == "S: 500 Illegal PORT command.");
    for (const auto& line : run.transcript) CHECK(line != "C: QUIT");
    CHECK(actions_of<CloseControl>(run).size() == 1);
    CHECK(client.control_state() == ControlState::Closed);
    REQUIRE(client.results().size() == 2);  // quit never ran
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[1].reply_code == 0);
    CHECK(client.results()[1].failed_reply == 500);
    CHECK(client.results()[1].failed_command.starts_with("PORT "));
}

TEST_CASE("lftp: a refused passive data connection, closes without QUIT") {
    auto client = make_client("lftp", DataMode::Pasv, kLftpGet, kCurlHost, kServerPublic);
    CannedServer server = vsftpd_for_lftp();
    server.data = DataOutcome::Refuse;
    const Run run = run_canned(client, server);
    CHECK(run.transcript.back() == "S: 227 Entering Passive Mode (203,0,113,10,117,52).");
    for (const auto& line : run.transcript) CHECK(line != "C: QUIT");
    CHECK(actions_of<CloseControl>(run).size() == 1);
    CHECK(client.control_state() == ControlState::Closed);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[1].reply_code == 0);
    CHECK(client.results()[1].failed_reply == 0);  // no reply ended it: the connect did
}

TEST_CASE("lftp: 425 to RETR, reported, then QUIT") {
    auto client = make_client("lftp", DataMode::Port, kLftpGet, kClientLan, kServerPublic);
    CannedServer server = vsftpd_for_lftp();
    server.answers["RETR"] = {"425 Failed to establish connection."};
    server.data = DataOutcome::Refuse;
    const Run run = run_canned(client, server);
    REQUIRE(run.transcript.size() >= 3);
    CHECK(run.transcript[run.transcript.size() - 3] == "S: 425 Failed to establish connection.");
    CHECK(run.transcript[run.transcript.size() - 2] == "C: QUIT");
    CHECK(client.results()[1].reply_code == 425);
    CHECK(client.results()[1].failed_reply == 425);
    CHECK(client.results()[1].failed_command == "RETR file.bin");
    CHECK(client.control_state() == ControlState::Closed);
}

// ---- wait ---------------------------------------------------------------------------------------

TEST_CASE("wait: the client does nothing for that long, on its timer") {
    constexpr Time kSecond = 1'000'000'000;
    const auto parsed = parse_client_script("login u p\nwait 10s\npwd\nwait 250ms\nquit\n");
    REQUIRE(std::holds_alternative<ClientScript>(parsed));
    const auto& script = std::get<ClientScript>(parsed);
    REQUIRE(script.size() == 5);
    CHECK(script[1] == wait(10 * kSecond));
    CHECK(script[3] == wait(250'000'000));
    CHECK(to_string(script[1]) == "wait 10s");
    CHECK(to_string(script[3]) == "wait 250ms");

    auto client = make_client("ftplib", DataMode::Auto, script, kClientLan, kServerPublic);
    auto sent = [&client] {
        std::vector<std::string> out;
        while (auto a = client.poll_action())
            if (auto* s = std::get_if<SendControl>(&*a)) out.push_back(s->bytes);
        return out;
    };
    using V = std::vector<std::string>;
    client.receive_control("220 hi\r\n", 100);
    CHECK(sent() == V{"USER u\r\n"});
    client.receive_control("331 pw\r\n", 200);
    CHECK(sent() == V{"PASS p\r\n"});
    client.receive_control("230 ok\r\n", 300);
    CHECK(sent().empty());
    CHECK(client.next_expiry() == 300 + 10 * kSecond);
    CHECK_FALSE(client.finished());
    client.on_timer(300 + 10 * kSecond - 1);
    CHECK(sent().empty());
    client.on_timer(300 + 10 * kSecond);
    CHECK(sent() == V{"PWD\r\n"});
    CHECK(client.next_expiry() == kNever);
    const Time t = 400 + 10 * kSecond;
    client.receive_control("257 \"/\"\r\n", t);
    CHECK(sent().empty());
    CHECK(client.next_expiry() == t + 250'000'000);
    client.on_timer(t + 250'000'000);
    CHECK(sent() == V{"QUIT\r\n"});
    REQUIRE(client.results().size() == 4);
    CHECK(client.results()[1].ok);
    CHECK(client.results()[1].reply_code == 0);

    for (const char* bad : {"wait 10\n", "wait x\n", "wait 10 s\n", "wait -1s\n", "wait\n"})
        CHECK(std::holds_alternative<ScriptError>(parse_client_script(bad)));
    CHECK(std::get<ScriptError>(parse_client_script("login u\nwait 3days\n")).column == 6);
    CHECK(parse_wait_duration("2m") == 120 * kSecond);
    CHECK(parse_wait_duration("5us") == 5000);
    CHECK(format_wait_duration(90 * kSecond) == "90s");
    CHECK(format_wait_duration(120 * kSecond) == "2m");
}

TEST_CASE("wait: a server that closes during the wait ends it") {
    auto client = make_client("ftplib", DataMode::Auto, {login("u", "p"), wait(5'000'000'000), pwd()},
                              kClientLan, kServerPublic);
    client.receive_control("220 hi\r\n230 ok\r\n", 0);
    CHECK(client.next_expiry() == 5'000'000'000);
    client.on_control_closed(1);
    CHECK(client.control_state() == ControlState::Closed);
    CHECK(client.next_expiry() == kNever);
    CHECK(client.finished());
    REQUIRE(client.results().size() == 2);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[1].failure == "the server closed the control connection");
}

// ---- raw transfer verbs ---------------------------------------------------------------------------

TEST_CASE("raw transfer verbs: sent as-is, no data setup, 1yz then the final reply") {
    CHECK(raw_transfer_verb("RETR /x") == "RETR");
    CHECK(raw_transfer_verb("  nlst") == "NLST");
    for (const char* v : {"STOR a", "STOU", "APPE a", "LIST", "MLSD /", "RTRV a"})
        CHECK_FALSE(raw_transfer_verb(v).empty());
    CHECK(raw_transfer_verb("RETRX a").empty());
    CHECK(raw_transfer_verb("SITE RETR").empty());
    CHECK(transfer_verb(raw("retr /incoming/mail.txt")) == "RETR");
    CHECK(transfer_path(raw("retr /incoming/mail.txt")) == "/incoming/mail.txt");
    CHECK(transfer_verb(raw("NOOP")).empty());
    CHECK(transfer_verb(get("f")) == "RETR");
    CHECK(transfer_path(ls()) == "");

    const ClientScript bounce{login("anonymous"), raw("PORT 198,51,100,25,0,25"),
                              raw("RETR /incoming/mail.txt"), quit()};
    SUBCASE("vsftpd: 500 to the PORT, 425 to the RETR (bounce-attack-vsftpd-refuses)") {
        for (DataMode mode : {DataMode::Default, DataMode::Port, DataMode::Pasv}) {
            auto client = make_client("classic", mode, bounce, kClientLan, kServerPublic);
            CannedServer server = vsftpd();
            server.answers["PORT"] = {"500 Illegal PORT command."};
            server.answers["RETR"] = {"425 Use PORT or PASV first."};
            const Run run = run_canned(client, server);
            const std::vector<std::string> expected{
                "S: 220 (vsFTPd 3.0.3)",
                "C: USER anonymous",
                "S: 230 Login successful.",
                "C: SYST",
                "S: 215 UNIX Type: L8",
                "C: PORT 198,51,100,25,0,25",
                "S: 500 Illegal PORT command.",
                "C: RETR /incoming/mail.txt",
                "S: 425 Use PORT or PASV first.",
                "C: QUIT",
                "S: 221 Goodbye.",
            };
            CHECK(run.transcript == expected);
            CHECK(actions_of<Listen>(run).empty());
            CHECK(actions_of<Connect>(run).empty());
            REQUIRE(client.results().size() == 4);
            CHECK(client.results()[1].ok);  // a raw line reports, it does not fail
            CHECK(client.results()[1].reply_code == 500);
            CHECK_FALSE(client.results()[2].ok);
            CHECK(client.results()[2].reply_code == 425);
            CHECK(client.results()[2].failed_reply == 425);
            CHECK(client.results()[3].ok);
            CHECK(client.protocol_errors().empty());
        }
    }
    SUBCASE("a literal RFC 959 server: 200, then 150 and 226 (bounce-attack-rfc959-obeys)") {
        auto client = make_client("curl", DataMode::Auto, bounce, kClientLan, kServerPublic);
        CannedServer server = vsftpd();
        server.answers["PORT"] = {"200 Command okay."};
        server.answers["RETR"] = {"150 File status okay; about to open data connection.",
                                  "226 Closing data connection."};
        const Run run = run_canned(client, server);
        CHECK(actions_of<Listen>(run).empty());
        CHECK(actions_of<Connect>(run).empty());
        CHECK(run.transcript[run.transcript.size() - 3] == "S: 226 Closing data connection.");
        CHECK(client.results()[2].ok);
        CHECK(client.results()[2].reply_code == 226);
        CHECK(client.results()[2].received.empty());  // the bytes went to the third host
        CHECK(client.control_state() == ControlState::Closed);
    }
}

// ---- AUTH TLS, PROT P, CCC ---------------------------------------------------------------------

TEST_CASE("RFC 4217: the control channel is encrypted from 234 to the 200 to CCC") {
    auto client = make_client("classic", DataMode::Pasv,
                              {raw("AUTH TLS"), login("u", "p"), raw("PBSZ 0"), raw("PROT P"),
                               raw("CCC"), raw("PROT C"), raw("AUTH TLS")},
                              kClientLan, kServerPublic);
    auto reply = [&client](const char* line) {
        client.receive_control(std::string(line) + "\r\n", 0);
        while (client.poll_action()) {}
    };
    reply("220 hi");
    CHECK_FALSE(client.control_encrypted());
    reply("234 Proceed with negotiation.");
    CHECK(client.control_encrypted());
    CHECK_FALSE(client.data_protected());
    reply("331 pw");
    reply("230 ok");
    reply("215 UNIX Type: L8");
    reply("200 PBSZ=0");
    CHECK_FALSE(client.data_protected());
    reply("200 Protection level set to P");
    CHECK(client.data_protected());
    CHECK(client.control_encrypted());
    reply("200 CCC ok");
    CHECK_FALSE(client.control_encrypted());
    CHECK(client.data_protected());  // CCC leaves the data channel's protection alone
    reply("200 Protection level set to C");
    CHECK_FALSE(client.data_protected());
    reply("504 Security mechanism not understood.");  // a refused AUTH changes nothing
    CHECK_FALSE(client.control_encrypted());
    CHECK(client.finished());
}

// ---- ThirdPartyClient's transfers ----------------------------------------------------------------

TEST_CASE("ThirdPartyClient: per-transfer results, receiver first") {
    SUBCASE("both succeed") {
        ThirdPartyConfig config;
        config.source_path = "/src";
        config.destination_path = "/dst";
        ThirdPartyClient client(config);
        REQUIRE(client.transfers().size() == 2);
        CHECK(client.transfers()[0].command == "STOR");
        CHECK(client.transfers()[0].path == "/dst");
        CHECK(client.transfers()[0].control == ThirdPartyClient::kReceiver);
        CHECK(client.transfers()[1].command == "RETR");
        CHECK(client.transfers()[1].path == "/src");
        CHECK(client.transfers()[1].reply_code == 0);
        client.on_connected(0, {kClientLan.addr, 4000}, {IpAddress::v4(198, 51, 100, 1), 21}, 0);
        client.on_connected(1, {kClientLan.addr, 4001}, kServerPublic, 0);
        for (const char* l : {"220 a", "230 ok", "200 ok"}) {
            client.receive_control(0, std::string(l) + "\r\n", 0);
            client.receive_control(1, std::string(l) + "\r\n", 0);
        }
        client.receive_control(0, "227 Entering Passive Mode (198,51,100,1,117,48).\r\n", 0);
        client.receive_control(1, "200 PORT ok\r\n", 0);
        client.receive_control(0, "150 ok\r\n", 0);
        client.receive_control(1, "150 ok\r\n", 0);
        client.receive_control(1, "226 sent\r\n", 0);
        client.receive_control(0, "226 stored\r\n", 0);
        for (const auto& t : client.transfers()) {
            CHECK(t.ok);
            CHECK(t.reply_code == 226);
        }
        CHECK(client.transfers()[0].reply_text == "stored");
    }
    SUBCASE("the sender's transfer fails, the receiver's never finishes") {
        ThirdPartyClient client(ThirdPartyConfig{});
        client.on_connected(0, {kClientLan.addr, 4000}, {IpAddress::v4(198, 51, 100, 1), 21}, 0);
        client.on_connected(1, {kClientLan.addr, 4001}, kServerPublic, 0);
        for (const char* l : {"220 a", "230 ok", "200 ok"}) {
            client.receive_control(0, std::string(l) + "\r\n", 0);
            client.receive_control(1, std::string(l) + "\r\n", 0);
        }
        client.receive_control(0, "227 Entering Passive Mode (198,51,100,1,117,48).\r\n", 0);
        client.receive_control(1, "200 PORT ok\r\n", 0);
        client.receive_control(1, "550 Failed to open file.\r\n", 0);
        CHECK_FALSE(client.transfers()[0].ok);
        CHECK(client.transfers()[0].reply_code == 0);
        CHECK_FALSE(client.transfers()[1].ok);
        CHECK(client.transfers()[1].reply_code == 550);
    }
    SUBCASE("a refused PORT: neither transfer command is sent") {
        ThirdPartyClient client(ThirdPartyConfig{});
        client.on_connected(0, {kClientLan.addr, 4000}, {IpAddress::v4(198, 51, 100, 1), 21}, 0);
        client.on_connected(1, {kClientLan.addr, 4001}, kServerPublic, 0);
        for (const char* l : {"220 a", "230 ok", "200 ok"}) {
            client.receive_control(0, std::string(l) + "\r\n", 0);
            client.receive_control(1, std::string(l) + "\r\n", 0);
        }
        client.receive_control(0, "227 Entering Passive Mode (198,51,100,1,117,48).\r\n", 0);
        client.receive_control(1, "500 Illegal PORT command.\r\n", 0);
        for (const auto& t : client.transfers()) {
            CHECK_FALSE(t.ok);
            CHECK(t.reply_code == 0);
        }
    }
}

// tests/rig curl-vsftpd-nat64-off-eprt (curl 7.88 through tayga to vsftpd): EPRT |2| refused, then
// nothing: no PORT (it cannot carry an IPv6 address), no QUIT; curl waits until --max-time.
TEST_CASE("curl on IPv6: a refused EPRT stalls the session, no PORT and no QUIT") {
    const HostPort local{*parse_ip("2001:db8:1::10"), 41000};
    const HostPort remote{*parse_ip("2001:db8:64::cb00:710a"), 21};
    auto client = make_client("curl", DataMode::Eprt, kCurlGet, local, remote);
    CannedServer server = vsftpd();
    server.answers["EPRT"] = {"500 Illegal EPRT command."};
    const Run run = run_canned(client, server);
    const std::vector<std::string> capture{
        "S: 220 (vsFTPd 3.0.3)",         "C: USER anonymous",
        "S: 230 Login successful.",      "C: PWD",
        "S: 257 \"/\" is the current directory", "C: EPRT |2|2001:db8:1::10|60149|",
        "S: 500 Illegal EPRT command.",
    };
    CHECK(run.transcript == capture);
    CHECK(client.control_state() == ControlState::Stalled);
    CHECK_FALSE(client.finished());
    CHECK(client.next_expiry() == kNever);  // curl's own --max-time ends it, not the session
    CHECK(actions_of<CloseControl>(run).empty());
    // --max-time: the host closes the connection; the transfer failed on the EPRT's 500.
    client.on_control_closed(5'000'000'000);
    CHECK(client.control_state() == ControlState::Closed);
    REQUIRE(client.results().size() == 2);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[1].failed_reply == 500);
    CHECK(client.results()[1].failed_command == "EPRT |2|2001:db8:1::10|60149|");
    CHECK(client.protocol_errors().empty());

    // The same on IPv4 falls back to PORT (the test above); a server's 421 ends a stall.
    auto again = make_client("curl", DataMode::Eprt, kCurlGet, local, remote);
    run_canned(again, server);
    REQUIRE(again.control_state() == ControlState::Stalled);
    again.receive_control("421 Timeout.\r\n", 300'000'000'000);
    CHECK(again.control_state() == ControlState::Closed);
    CHECK(again.results()[1].failed_reply == 500);
    CHECK(again.protocol_errors().empty());
}

// tests/rig textbook-pyftpdlib-v6fws-on-pasv: the FTP helper drops pyftpdlib's malformed 227 on
// IPv6; the scripted client (Python's FTP(timeout=3)) gives up 3 s after PASV, writes QUIT and
// closes without reading the answer.
TEST_CASE("textbook with a reply timeout: no reply to PASV, QUIT and close at once") {
    ClientProfile p = *find_client_profile("textbook");
    p.reply_timeout = 3'000'000'000;
    const HostPort local{*parse_ip("2001:db8:ff::10"), 41998};
    const HostPort remote{*parse_ip("2001:db8:2::10"), 21};
    ClientSession client(ClientConfig{p, DataMode::Pasv, kCurlGet, std::nullopt, std::nullopt, std::nullopt});
    client.on_connected(local, remote, 0);
    CHECK(client.next_expiry() == 3'000'000'000);  // the greeting, too
    CannedServer server = vsftpd();
    server.answers["PASV"] = {};  // never arrives
    const Run run = run_canned(client, server, 1'000'000);
    REQUIRE(run.transcript.back() == "C: PASV");
    CHECK(client.next_expiry() == 3'001'000'000);
    client.on_timer(3'000'999'999);
    CHECK(client.control_state() == ControlState::AwaitReply);
    client.on_timer(3'001'000'000);
    const auto actions = client.take_actions();
    REQUIRE(actions.size() == 3);
    const auto* why = std::get_if<Explain>(&actions[0]);
    REQUIRE(why);
    CHECK(why->kind == ExplainKind::GiveUp);
    CHECK(why->timeout_ns == 3'000'000'000);
    const auto* quit_line = std::get_if<SendControl>(&actions[1]);
    REQUIRE(quit_line);
    CHECK(quit_line->bytes == "QUIT\r\n");
    CHECK(std::holds_alternative<CloseControl>(actions[2]));
    CHECK(client.control_state() == ControlState::Closed);
    CHECK(client.finished());
    REQUIRE(client.results().size() == 2);
    CHECK_FALSE(client.results()[1].ok);
    CHECK(client.results()[1].failure == "the reply to PASV did not come within 3 s (the client's timeout)");

    // Each reply starts the timeout again; without the option there is none.
    ClientSession plain(ClientConfig{*find_client_profile("textbook"), DataMode::Pasv, kCurlGet,
                                     std::nullopt, std::nullopt, std::nullopt});
    plain.on_connected(local, remote, 0);
    run_canned(plain, server, 1'000'000);
    CHECK(plain.next_expiry() == kNever);
}
