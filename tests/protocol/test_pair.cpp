// The client and the server sessions against each other over SessionPair's in-memory link.
// Each test names the capture (tests/data/captures) or seed document (the project's source documents) it reproduces.
#include <doctest/doctest.h>

#include <algorithm>

#include "protocol/codec.hpp"
#include "tests/support/captures.hpp"
#include "tests/support/session_pair.hpp"

using namespace ftpsim::proto;
using namespace ftpsim::testing;

namespace {

PairConfig pair_config(const char* client, DataMode mode, const char* server,
                       ClientScript script) {
    PairConfig c;
    c.client = ClientConfig{*find_client_profile(client), mode, std::move(script), std::nullopt, std::nullopt, std::nullopt};
    c.server.profile = *server_profile_by_name(server);
    c.vfs.add_file("/file.bin", 65536);
    return c;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

template <typename T>
std::vector<T> client_actions_of(const SessionPair& pair) {
    std::vector<T> out;
    for (const auto& a : pair.client_actions())
        if (auto* t = std::get_if<T>(&a)) out.push_back(*t);
    return out;
}

template <typename T>
std::vector<T> server_actions_of(const SessionPair& pair) {
    std::vector<T> out;
    for (const auto& sa : pair.server_actions())
        if (auto* a = std::get_if<Action>(&sa.what))
            if (auto* t = std::get_if<T>(a)) out.push_back(*t);
    return out;
}

// The first command a mode sends to set up a download's data connection ("" = none).
std::string setup_command(DataMode mode) {
    switch (mode) {
        case DataMode::Default: return "";
        case DataMode::Port: return "PORT ";
        case DataMode::Eprt: return "EPRT ";
        case DataMode::Pasv: return "PASV";
        case DataMode::Epsv:
        case DataMode::EpsvAll: return "EPSV";
        case DataMode::Spsv: return "SPSV";
        case DataMode::Lstn: return "LSTN S";
        case DataMode::Sock: return "SOCK ";
        case DataMode::Auto: break;
    }
    return "?";
}

// What a server profile answers when it lacks the mode: nullopt when it serves it.
std::optional<int> refusal(const ServerProfile& server, DataMode mode) {
    if (mode == DataMode::Default && !server.default_data_port) return 425;
    if (mode == DataMode::Spsv && !server.supports_spsv) return 500;
    if ((mode == DataMode::Lstn || mode == DataMode::Sock) && !server.supports_1973) return 500;
    return std::nullopt;
}

const HostPort kVsftpdPublic{IpAddress::v4(203, 0, 113, 10), 21};

}  // namespace

TEST_CASE("pair: every mode x every client profile x every server profile") {
    const DataMode modes[] = {DataMode::Default, DataMode::Port,    DataMode::Eprt,
                              DataMode::Pasv,    DataMode::Epsv,    DataMode::EpsvAll,
                              DataMode::Spsv,    DataMode::Lstn,    DataMode::Sock};
    std::size_t cell = 0;
    for (const char* server : {"vsftpd", "pyftpdlib", "rfc959"}) {
        for (const auto& profile : client_profiles()) {
            for (const DataMode mode : modes) {
                const std::string name = std::string(server) + " x " + std::string(profile.name) +
                                         " x " + to_string(mode);
                CAPTURE(name);
                PairConfig config = pair_config(
                    std::string(profile.name).c_str(), mode, server,
                    {login("anonymous"), ls(), get("file.bin"), put("up.bin", 1000), quit()});
                config.link.chunk = ++cell % 5;  // whole replies, then 1..4-byte pieces
                SessionPair pair(std::move(config));
                pair.run();
                const auto& client = pair.client();
                const auto lines = pair.control_lines();
                CHECK(client.finished());
                CHECK(client.control_state() == ControlState::Closed);
                CHECK(client.protocol_errors().empty());
                CHECK(pair.server().protocol_errors().empty());
                CHECK(pair.open_connections() == 0);
                REQUIRE(client.results().size() >= 2);
                CHECK(client.results()[0].ok);

                // The mode's own command went out (the default mode sends none at all).
                const std::string setup = setup_command(mode);
                const bool sent_setup = std::any_of(lines.begin(), lines.end(), [&](const auto& l) {
                    return l.starts_with("C: " + setup);
                });
                const auto refused = refusal(pair.server().config().profile, mode);
                // FileZilla retries a refused transfer in the other mode, and then succeeds.
                const bool retried = refused == 425 && profile.switch_mode_on_data_failure;
                if (setup.empty() && !retried) {
                    for (const auto& l : lines) CHECK_FALSE(l.starts_with("C: PORT"));
                } else {
                    CHECK(sent_setup);
                }
                if (refused && !retried) {
                    // The listing fails with the server's answer; then each client profile
                    // does what it does after a failure (curl and ftplib quit).
                    const auto& listing = client.results()[1];
                    CHECK_FALSE(listing.ok);
                    CHECK(listing.failed_reply == *refused);
                    if (*refused == 425) {
                        CHECK(listing.reply_code == 425);  // LIST's own final reply
                        CHECK(lines.back().starts_with("S: 221"));
                    } else {
                        // The data setup was refused: LIST never went out.
                        CHECK(listing.reply_code == 0);
                        if (profile.on_data_command_refused == FailurePolicy::Abandon)
                            CHECK(lines.back().starts_with("S: 500"));  // lftp: no QUIT
                        else
                            CHECK(lines.back().starts_with("S: 221"));
                    }
                    continue;
                }
                REQUIRE(client.results().size() == 5);
                for (const auto& r : client.results()) {
                    CAPTURE(r.failure);
                    CHECK(r.ok);
                }
                CHECK(client.results()[2].received.size() == 65536);
                CHECK(client.results()[2].received ==
                      pair.server().vfs().read("/file.bin"));
                const VfsEntry* uploaded = pair.server().vfs().find("/up.bin");
                REQUIRE(uploaded != nullptr);
                CHECK(uploaded->size == 1000);
                CHECK(lines.back() == lines.back().substr(0, 3) + lines.back().substr(3));
                CHECK(lines.back().starts_with("S: 221"));

                if (retried) continue;
                // Who listens and who connects follows the mode.
                const bool passive = is_passive(mode);
                CHECK(client_actions_of<Connect>(pair).size() == (passive ? 3u : 0u));
                CHECK(client_actions_of<Listen>(pair).size() == (passive ? 0u : 3u));
                CHECK(server_actions_of<Connect>(pair).size() == (passive ? 0u : 3u));
                if (mode == DataMode::Spsv) {
                    CHECK(server_actions_of<Listen>(pair).empty());  // the control port serves
                    CHECK(has_line(pair.handshake_lines(), "S: 200 DATA"));
                }
            }
        }
    }
}

TEST_CASE("pair: curl-vsftpd-cnat-off-epsv, client behind a NAT, EPSV works") {
    PairConfig config = pair_config("curl", DataMode::Auto, "vsftpd",
                                    {login("anonymous"), get("file.bin"), quit()});
    config.client_address.seen_as = IpAddress::v4(203, 0, 113, 1);
    config.server.profile.pasv_min_port = config.server.profile.pasv_max_port = 30007;
    SessionPair pair(std::move(config));
    pair.run();
    CHECK(pair.control_lines() == kCurlVsftpdEpsvDownload);
    CHECK(pair.client().results()[1].ok);
}

TEST_CASE("pair: curl-vsftpd-cnat-off-active, vsftpd refuses a PORT to a foreign address") {
    PairConfig config = pair_config("curl", DataMode::Port, "vsftpd",
                                    {login("anonymous"), get("file.bin"), quit()});
    config.client_address.seen_as = IpAddress::v4(203, 0, 113, 1);  // the NAT, no FTP helper
    config.client_address.first_port = 57803;
    SessionPair pair(std::move(config));
    pair.run();
    CHECK(pair.control_lines() == kCurlVsftpdPortRefused);
    CHECK(server_actions_of<Connect>(pair).empty());
}

TEST_CASE("pair: a server behind a NAT announces its private address in 227") {
    // curl-vsftpd-snat21-*: server 192.168.2.10 reachable as 203.0.113.1.
    auto config_for = [](const char* client, bool forwarded_range) {
        PairConfig config = pair_config(client, DataMode::Pasv, "vsftpd",
                                        {login("anonymous"), get("file.bin"), quit()});
        config.client_address = {IpAddress::v4(203, 0, 113, 10), std::nullopt, {}, 54438};
        config.server_address.own = IpAddress::v4(192, 168, 2, 10);
        config.server_address.seen_as = IpAddress::v4(203, 0, 113, 1);
        config.server_address.reachable = [forwarded_range](std::uint16_t port) {
            return port == 21 || (forwarded_range && port >= 30000 && port <= 30009);
        };
        config.server.profile.pasv_min_port = config.server.profile.pasv_max_port = 30007;
        return config;
    };
    SUBCASE("only 21 forwarded: curl connects to the control peer and is refused "
            "(curl-vsftpd-snat21-off-pasv)") {
        SessionPair pair(config_for("curl", false));
        pair.run();
        const std::vector<std::string> capture{
            "S: 220 (vsFTPd 3.0.3)",
            "C: USER anonymous",
            "S: 230 Login successful.",
            "C: PWD",
            "S: 257 \"/\" is the current directory",
            "C: PASV",
            "S: 227 Entering Passive Mode (192,168,2,10,117,55).",
        };
        CHECK(pair.control_lines() == capture);
        const auto connects = client_actions_of<Connect>(pair);
        REQUIRE(connects.size() == 1);
        CHECK(connects[0].remote == HostPort{IpAddress::v4(203, 0, 113, 1), 30007});
        CHECK(pair.client().control_state() == ControlState::Closed);  // no QUIT: curl exit 7
    }
    SUBCASE("21 and the passive range forwarded: it works (curl-vsftpd-snatfwd-off-pasv)") {
        SessionPair pair(config_for("curl", true));
        pair.run();
        CHECK(pair.client().results()[1].ok);
        CHECK(has_line(pair.control_lines(), "S: 227 Entering Passive Mode (192,168,2,10,117,55)."));
    }
    SUBCASE("a classic client trusts 192.168.2.10: the SYN goes nowhere") {
        SessionPair pair(config_for("classic", true));
        pair.run();
        const auto& r = pair.client().results();
        REQUIRE(r.size() == 3);
        CHECK_FALSE(r[1].ok);
        CHECK(r[1].failure.find("timed out") != std::string::npos);
        CHECK(client_actions_of<Connect>(pair)[0].remote.addr == IpAddress::v4(192, 168, 2, 10));
        CHECK(pair.control_lines().back() == "S: 221 Goodbye.");  // it carries on, then quits
    }
    SUBCASE("lftp and FileZilla substitute the control peer's address") {
        for (const char* client : {"lftp", "filezilla", "ftplib"}) {
            CAPTURE(std::string(client));
            SessionPair pair(config_for(client, true));
            pair.run();
            CHECK(pair.client().results()[1].ok);
        }
    }
}

TEST_CASE("pair: the article's PORT 12,34,56,78,65,43 and 227 (123,45,67,89,158,26)") {
    SUBCASE("PORT: the client listens on 12.34.56.78:16683") {
        PairConfig config = pair_config("classic", DataMode::Port, "rfc959",
                                        {login("anonymous"), get("file.bin"), quit()});
        config.client_address = {IpAddress::v4(12, 34, 56, 78), std::nullopt, {}, 16683};
        SessionPair pair(std::move(config));
        pair.run();
        CHECK(has_line(pair.control_lines(), "C: PORT 12,34,56,78,65,43"));
        const auto connects = server_actions_of<Connect>(pair);
        REQUIRE(connects.size() == 1);
        CHECK(connects[0].remote == HostPort{IpAddress::v4(12, 34, 56, 78), 16683});
        CHECK(pair.client().results()[1].ok);
    }
    SUBCASE("PASV: the server listens on 123.45.67.89:40474") {
        PairConfig config = pair_config("classic", DataMode::Pasv, "rfc959",
                                        {login("anonymous"), get("file.bin"), quit()});
        config.server_address = {IpAddress::v4(123, 45, 67, 89), std::nullopt, {}, 40000};
        config.server.profile.pasv_min_port = config.server.profile.pasv_max_port = 40474;
        SessionPair pair(std::move(config));
        pair.run();
        const auto lines = pair.control_lines();
        CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
            return l.starts_with("S: 227 ") && l.find("(123,45,67,89,158,26)") != std::string::npos;
        }));
        CHECK(client_actions_of<Connect>(pair)[0].remote ==
              HostPort{IpAddress::v4(123, 45, 67, 89), 40474});
        CHECK(pair.client().results()[1].ok);
    }
}

TEST_CASE("pair: the lecture deck's passive LIST session") {
    // seeds/002: the client's ports 1120 (control) and 1121 (data); 227 (...,195,149) = 50069.
    PairConfig config = pair_config("classic", DataMode::Pasv, "rfc959",
                                    {login("username", "password"), ls(), quit()});
    config.client_address = {IpAddress::v4(192, 168, 150, 20), std::nullopt, {}, 1121};
    config.client_control_port = 1120;
    config.server_address = {IpAddress::v4(192, 168, 150, 90), std::nullopt, {}, 40000};
    config.server.users["username"] = "password";
    config.server.profile.pasv_min_port = config.server.profile.pasv_max_port = 50069;
    SessionPair pair(std::move(config));
    pair.run();
    const auto lines = pair.control_lines();
    CHECK(lines[1] == "C: USER username");
    CHECK(lines[2].starts_with("S: 331"));
    CHECK(lines[3] == "C: PASS password");
    CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
        return l.find("(192,168,150,90,195,149)") != std::string::npos;
    }));
    CHECK(has_line(lines, "C: LIST"));
    CHECK(lines.back().starts_with("S: 221"));
    const auto connects = client_actions_of<Connect>(pair);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == HostPort{IpAddress::v4(192, 168, 150, 90), 50069});
    CHECK(pair.client().results()[1].ok);
    // "Server closes data connection first": its CloseData precedes the 226.
    const auto& actions = pair.server_actions();
    std::size_t close_at = 0, done_at = 0;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const auto* a = std::get_if<Action>(&actions[i].what);
        if (a && std::holds_alternative<CloseData>(*a) && close_at == 0) close_at = i;
        if (a && std::holds_alternative<SendControl>(*a) &&
            std::get<SendControl>(*a).bytes.starts_with("226"))
            done_at = i;
    }
    CHECK(close_at < done_at);
}

TEST_CASE("pair: draft-rosenau section 4, SPSV and SPDT on the control port") {
    PairConfig config = pair_config("curl", DataMode::Spsv, "rfc959",
                                    {login("u001", "xyz"), get("example.file"), quit()});
    config.server.users["u001"] = "xyz";
    config.vfs.put_file("/example.file", "Contents of example.file");
    SessionPair pair(std::move(config));
    pair.run();
    const auto lines = pair.control_lines();
    CHECK(lines[1] == "C: USER u001");
    CHECK(lines[3] == "C: PASS xyz");
    const auto spsv = std::find_if(lines.begin(), lines.end(),
                                   [](const auto& l) { return l.starts_with("S: 227 "); });
    REQUIRE(spsv != lines.end());
    const std::string reply_text = spsv->substr(7);
    const auto id = parse_spsv_227_text(reply_text);  // a view into reply_text
    REQUIRE(id);
    const auto handshake = pair.handshake_lines();
    REQUIRE(handshake.size() == 3);
    CHECK(handshake[0].starts_with("S: 220"));
    CHECK(handshake[1] == "C: SPDT " + std::string(*id));
    CHECK(handshake[2] == "S: 200 DATA");
    CHECK(pair.client().results()[1].received == "Contents of example.file");
    CHECK(client_actions_of<Connect>(pair)[0].remote == kVsftpdPublic);
}

TEST_CASE("pair: draft-rosenau section 5, a full server still serves SPDT") {
    PairConfig config = pair_config("curl", DataMode::Spsv, "rfc959",
                                    {login("anonymous"), get("file.bin"), quit()});
    config.server.max_users = 1;
    SessionPair pair(std::move(config));
    pair.run();
    const auto handshake = pair.handshake_lines();
    REQUIRE(handshake.size() == 3);
    CHECK(handshake[0].find("only SPSV connections allowed") != std::string::npos);
    CHECK(handshake[2] == "S: 200 DATA");
    CHECK(pair.client().results()[1].ok);
}

TEST_CASE("pair: RFC 959 3.2's default data connection, from the server's port 20 to U") {
    PairConfig config = pair_config("classic", DataMode::Default, "rfc959",
                                    {login("anonymous"), get("file.bin"), quit()});
    SessionPair pair(std::move(config));
    pair.run();
    const auto listens = client_actions_of<Listen>(pair);
    REQUIRE(listens.size() == 1);
    CHECK(listens[0].port_lo == 36932);
    const auto connects = server_actions_of<Connect>(pair);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == HostPort{IpAddress::v4(192, 168, 1, 10), 36932});
    CHECK(connects[0].local_port == std::optional<std::uint16_t>(20));
    CHECK(pair.client().results()[1].ok);
}

TEST_CASE("pair: EPSV ALL, then EPSV for every transfer (RFC 2428 section 4)") {
    SessionPair pair(pair_config("ftplib", DataMode::EpsvAll, "vsftpd",
                                 {login("anonymous"), get("file.bin"), ls(), quit()}));
    pair.run();
    const auto lines = pair.control_lines();
    CHECK(has_line(lines, "C: EPSV ALL"));
    CHECK(std::count(lines.begin(), lines.end(), "C: EPSV") == 2);
    CHECK(std::none_of(lines.begin(), lines.end(),
                       [](const auto& l) { return l.starts_with("C: PASV"); }));
    for (const auto& r : pair.client().results()) CHECK(r.ok);
}

TEST_CASE("pair: FileZilla falls back to PORT when the passive connection is refused") {
    PairConfig config = pair_config("filezilla", DataMode::Pasv, "rfc959",
                                    {login("anonymous"), get("file.bin"), quit()});
    config.link.fate = [](int from, const HostPort&) {
        return from == 0 ? ConnectFate::Refuse : ConnectFate::Route;  // a client-side firewall
    };
    SessionPair pair(std::move(config));
    pair.run();
    const auto lines = pair.control_lines();
    CHECK(has_line(lines, "C: PASV"));
    CHECK(std::any_of(lines.begin(), lines.end(), [](const auto& l) { return l.starts_with("C: PORT "); }));
    CHECK(pair.client().results()[1].ok);
}

// ---- Server-to-server --------------------------------------------------------------------------

namespace {

ThreePartyConfig three_party(ThirdPartyDialect dialect, const char* server) {
    ThreePartyConfig c;
    c.client.dialect = dialect;
    c.client.source_path = "/file.bin";
    c.client.destination_path = "/copy.bin";
    c.receiver_server.profile = *server_profile_by_name(server);
    c.sender_server.profile = *server_profile_by_name(server);
    c.sender_vfs.add_file("/file.bin", 4096);
    c.receiver_vfs.add_file("/copy.bin", 0);  // APPE (RFC 438) appends to it
    return c;
}

std::vector<std::string> commands_to(const ThreePartySession& s, const char* server) {
    std::vector<std::string> out;
    const std::string prefix = std::string("C->") + server + ": ";
    for (const auto& l : s.control_lines())
        if (l.starts_with(prefix)) out.push_back(l.substr(prefix.size()));
    return out;
}

}  // namespace

TEST_CASE("three parties: RFC 959 5.2, PASV to A, PORT A's address to B, STOR and RETR") {
    ThreePartySession s(three_party(ThirdPartyDialect::Rfc959, "rfc959"));
    s.run();
    CHECK(s.client().succeeded());
    CHECK(commands_to(s, "A") == std::vector<std::string>{"USER anonymous", "PASS guest@",
                                                          "TYPE I", "PASV", "STOR /copy.bin",
                                                          "QUIT"});
    const auto to_b = commands_to(s, "B");
    REQUIRE(to_b.size() == 6);
    CHECK(to_b[3].starts_with("PORT 198,51,100,1,"));
    CHECK(to_b[4] == "RETR /file.bin");
    const VfsEntry* copy = s.receiver().vfs().find("/copy.bin");
    REQUIRE(copy != nullptr);
    CHECK(copy->size == 4096);
    CHECK(s.receiver().vfs().read("/copy.bin") == s.sender().vfs().read("/file.bin"));
    // The client itself opens no data connection.
    for (const auto& a : s.client_actions()) {
        CHECK_FALSE(std::holds_alternative<Connect>(a.action));
        CHECK_FALSE(std::holds_alternative<Listen>(a.action));
    }
}

TEST_CASE("three parties: vsftpd refuses the foreign PORT, so FXP fails") {
    ThreePartySession s(three_party(ThirdPartyDialect::Rfc959, "vsftpd"));
    s.run();
    CHECK_FALSE(s.client().succeeded());
    CHECK(s.client().failure().find("500") != std::string::npos);
    CHECK(s.client().finished());
}

TEST_CASE("three parties: RFC 478, SOCK to both, PASV to the receiver, STOR and RTRV") {
    ThreePartySession s(three_party(ThirdPartyDialect::Rfc478, "rfc959"));
    s.run();
    const auto to_a = commands_to(s, "A");
    const auto to_b = commands_to(s, "B");
    REQUIRE(to_a.size() >= 5);
    CHECK(to_a[2] == "SOCK 203.0.113.10,20");  // accept only the sender's data socket 20
    CHECK(to_a[3] == "PASV");
    CHECK(to_a[4] == "STOR /copy.bin");
    REQUIRE(to_b.size() >= 4);
    // RFC 478: the user knows B's data socket as the protocol specifies it (20); the PASV is
    // acknowledged plainly, with no 227.
    CHECK(to_b[2] == "SOCK 198.51.100.1,20");
    const auto lines = s.control_lines();
    CHECK(std::find(lines.begin(), lines.end(), "A: 200 Command okay.") != lines.end());
    CHECK(std::none_of(lines.begin(), lines.end(), [](const auto& l) { return l.starts_with("A: 227"); }));
    CHECK(to_b[3] == "RTRV /file.bin");
    CHECK(s.client().succeeded());
    const VfsEntry* copy = s.receiver().vfs().find("/copy.bin");
    REQUIRE(copy != nullptr);
    CHECK(copy->size == 4096);
}

TEST_CASE("three parties: RFC 438, LSTN R, SOCK with the 255 sockets, APPE and RETR") {
    ThreePartySession s(three_party(ThirdPartyDialect::Rfc438, "rfc959"));
    s.run();
    const auto lines = s.control_lines();
    const auto to_a = commands_to(s, "A");
    const auto to_b = commands_to(s, "B");
    REQUIRE(to_a.size() >= 5);
    CHECK(to_a[2] == "LSTN R");
    const auto lstn_reply = std::find_if(lines.begin(), lines.end(),
                                         [](const auto& l) { return l.starts_with("A: 255"); });
    REQUIRE(lstn_reply != lines.end());
    const auto x = parse_255_text(lstn_reply->substr(7));
    REQUIRE(x);
    REQUIRE(to_b.size() >= 4);
    CHECK(to_b[2] == "SOCK 198.51.100.1," + std::to_string(*x));
    CHECK(to_a[3].starts_with("SOCK 203.0.113.10,"));
    CHECK(to_a[4] == "APPE /copy.bin");
    CHECK(to_b[3] == "RETR /file.bin");
    CHECK(s.client().succeeded());
    CHECK(s.receiver().vfs().find("/copy.bin")->size == 4096);
}

// ---- lftp, reply codes, wait, raw transfers, TLS state --------------------------------------------

TEST_CASE("pair: lftp against vsftpd, FEAT (211) before USER, MDTM (213) after SIZE") {
    SessionPair pair(pair_config("lftp", DataMode::Pasv, "vsftpd",
                                 {login("anonymous"), get("file.bin"), quit()}));
    pair.run();
    const auto lines = pair.control_lines();
    REQUIRE(lines.size() >= 3);
    CHECK(lines[1] == "C: FEAT");
    CHECK(lines[2] == "S: 211-Features:");
    const auto user = std::find(lines.begin(), lines.end(), "C: USER anonymous");
    const auto size = std::find(lines.begin(), lines.end(), "C: SIZE file.bin");
    const auto mdtm = std::find(lines.begin(), lines.end(), "C: MDTM file.bin");
    const auto pasv = std::find(lines.begin(), lines.end(), "C: PASV");
    const auto retr = std::find(lines.begin(), lines.end(), "C: RETR file.bin");
    REQUIRE(mdtm != lines.end());
    CHECK(user < size);
    CHECK(size < mdtm);
    CHECK(mdtm < pasv);
    CHECK(pasv < retr);
    CHECK((mdtm + 1)->starts_with("S: 213 "));
    CHECK(lines.back() == "S: 221 Goodbye.");
    CHECK(pair.client().results()[1].ok);
    CHECK(pair.client().results()[1].reply_code == 226);
    CHECK(pair.client().protocol_errors().empty());
}

TEST_CASE("pair: lftp behind a NAT, 500 Illegal PORT command, no QUIT") {
    PairConfig config = pair_config("lftp", DataMode::Port, "vsftpd",
                                    {login("anonymous"), get("file.bin"), quit()});
    config.client_address.seen_as = IpAddress::v4(203, 0, 113, 1);
    SessionPair pair(std::move(config));
    pair.run();
    const auto lines = pair.control_lines();
    CHECK(lines.back() == "S: 500 Illegal PORT command.");
    CHECK_FALSE(has_line(lines, "C: QUIT"));
    CHECK(pair.client().control_state() == ControlState::Closed);
    CHECK(pair.open_connections() == 0);
    const auto& r = pair.client().results();
    REQUIRE(r.size() == 2);
    CHECK(r[1].reply_code == 0);  // RETR never went out
    CHECK(r[1].failed_reply == 500);
}

TEST_CASE("pair: lftp, the server cannot connect back, 425, then QUIT") {
    PairConfig config = pair_config("lftp", DataMode::Port, "rfc959",
                                    {login("anonymous"), get("file.bin"), quit()});
    config.link.fate = [](int from, const HostPort&) {
        return from == 0 ? ConnectFate::Route : ConnectFate::Refuse;
    };
    SessionPair pair(std::move(config));
    pair.run();
    const auto lines = pair.control_lines();
    REQUIRE(lines.size() >= 3);
    CHECK(lines[lines.size() - 3].starts_with("S: 425"));
    CHECK(lines[lines.size() - 2] == "C: QUIT");
    CHECK(pair.client().results()[1].reply_code == 425);
}

TEST_CASE("pair: the bounce attack with raw PORT and raw RETR") {
    const ClientScript script{login("anonymous"), raw("PORT 198,51,100,25,0,25"),
                              raw("RETR /incoming/mail.txt"), quit()};
    SUBCASE("vsftpd: 500 to PORT, then 425 Use PORT or PASV first.") {
        PairConfig config = pair_config("classic", DataMode::Default, "vsftpd", script);
        config.vfs.add_file("/incoming/mail.txt", 2048);
        SessionPair pair(std::move(config));
        pair.run();
        const auto lines = pair.control_lines();
        CHECK(has_line(lines, "S: 500 Illegal PORT command."));
        CHECK(has_line(lines, "C: RETR /incoming/mail.txt"));
        CHECK(has_line(lines, "S: 425 Use PORT or PASV first."));
        CHECK(lines.back() == "S: 221 Goodbye.");
        CHECK(client_actions_of<Listen>(pair).empty());
        CHECK(client_actions_of<Connect>(pair).empty());
        CHECK(server_actions_of<Connect>(pair).empty());
        const auto& r = pair.client().results();
        REQUIRE(r.size() == 4);
        CHECK_FALSE(r[2].ok);
        CHECK(r[2].reply_code == 425);
        CHECK(transfer_verb(r[2].action) == "RETR");
        CHECK(transfer_path(r[2].action) == "/incoming/mail.txt");
    }
    SUBCASE("a literal RFC 959 server connects to the third host") {
        PairConfig config = pair_config("classic", DataMode::Default, "rfc959", script);
        config.vfs.add_file("/incoming/mail.txt", 2048);
        std::vector<HostPort> targets;
        config.link.fate = [&targets](int from, const HostPort& target) {
            if (from != 0) targets.push_back(target);
            return from == 0 ? ConnectFate::Route : ConnectFate::Refuse;
        };
        SessionPair pair(std::move(config));
        pair.run();
        REQUIRE(targets.size() == 1);
        CHECK(targets[0] == HostPort{IpAddress::v4(198, 51, 100, 25), 25});
        CHECK(client_actions_of<Listen>(pair).empty());
        const auto& r = pair.client().results();
        REQUIRE(r.size() == 4);
        CHECK(r[1].reply_code == 200);
        CHECK(r[2].reply_code / 100 == 4);  // the mail host refused: 425
        CHECK(pair.client().control_state() == ControlState::Closed);
        CHECK(pair.client().protocol_errors().empty());
    }
}

TEST_CASE("pair: wait delays the next command by the given time") {
    SessionPair pair(pair_config("ftplib", DataMode::Pasv, "vsftpd",
                                 {login("anonymous"), wait(10'000'000'000), raw("NOOP"),
                                  quit()}));
    pair.run();
    Time logged_in = -1, noop = -1;
    for (const auto& l : pair.transcript()) {
        if (l.text.starts_with("230")) logged_in = l.time;
        if (l.text == "NOOP") noop = l.time;
    }
    REQUIRE(logged_in >= 0);
    REQUIRE(noop >= 0);
    CHECK(noop - logged_in >= 10'000'000'000);
    CHECK(noop - logged_in < 10'100'000'000);
    CHECK(pair.client().results()[1].ok);
    CHECK(pair.client().control_state() == ControlState::Closed);
}

TEST_CASE("pair: AUTH TLS, PROT P, CCC: client and server agree on the TLS state") {
    PairConfig config = pair_config("classic", DataMode::Pasv, "rfc959",
                                    {raw("AUTH TLS"), login("anonymous"), raw("PBSZ 0"),
                                     raw("PROT P")});
    SessionPair pair(std::move(config));
    pair.run();
    auto* server = pair.server().session(pair.session());
    REQUIRE(server != nullptr);
    CHECK(pair.client().control_encrypted());
    CHECK(server->control_encrypted());
    CHECK(pair.client().data_protected());
    CHECK(server->data_protected());

    PairConfig ccc = pair_config("classic", DataMode::Pasv, "rfc959",
                                 {raw("AUTH TLS"), login("anonymous"), raw("PBSZ 0"),
                                  raw("PROT P"), raw("CCC")});
    SessionPair after(std::move(ccc));
    after.run();
    auto* server2 = after.server().session(after.session());
    REQUIRE(server2 != nullptr);
    CHECK_FALSE(after.client().control_encrypted());
    CHECK(server2->control_encrypted() == after.client().control_encrypted());
    CHECK(after.client().data_protected());

    // vsftpd without ssl_enable refuses AUTH: nothing changes.
    SessionPair refused(pair_config("classic", DataMode::Pasv, "vsftpd",
                                    {raw("AUTH TLS"), login("anonymous")}));
    refused.run();
    CHECK_FALSE(refused.client().control_encrypted());
}

TEST_CASE("three parties: per-transfer results for the outcome") {
    ThreePartySession ok(three_party(ThirdPartyDialect::Rfc959, "rfc959"));
    ok.run();
    const auto& t = ok.client().transfers();
    REQUIRE(t.size() == 2);
    CHECK(t[0].command == "STOR");
    CHECK(t[0].path == "/copy.bin");
    CHECK(t[0].ok);
    CHECK(t[0].reply_code == 226);
    CHECK(t[1].command == "RETR");
    CHECK(t[1].path == "/file.bin");
    CHECK(t[1].ok);
    CHECK(t[1].reply_code == 226);

    ThreePartySession refused(three_party(ThirdPartyDialect::Rfc959, "vsftpd"));
    refused.run();
    for (const auto& tr : refused.client().transfers()) {
        CHECK_FALSE(tr.ok);
        CHECK(tr.reply_code == 0);  // the PORT was refused: neither STOR nor RETR went out
    }

    ThreePartySession rfc438(three_party(ThirdPartyDialect::Rfc438, "rfc959"));
    rfc438.run();
    REQUIRE(rfc438.client().transfers().size() == 2);
    CHECK(rfc438.client().transfers()[0].command == "APPE");
    CHECK(rfc438.client().transfers()[1].command == "RETR");
    CHECK(rfc438.client().transfers()[0].reply_code == 226);
}
