// Faults and knobs: vsftpd's port_promiscuous + connect_from_port_20 trap, reply names and
// overrides, the server restart (shutdown/restart), passive port range exhaustion.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "test_server_support.hpp"

namespace ftpsim::proto::test {

namespace {

const HostPort kServer = hp("192.168.150.90", 21);
const HostPort kClient = hp("192.168.150.10", 40000);

Vfs small_vfs() {
    Vfs v;
    v.add_file("/file.bin", 100);
    return v;
}

bool closes_control(const std::vector<Action>& actions) { return !only<CloseControl>(actions).empty(); }

bool explains(const std::vector<Action>& actions, std::string_view words) {
    for (const auto& e : only<Explain>(actions))
        if (e.text.find(words) != std::string::npos) return true;
    return false;
}

}  // namespace

// ---- Task: vsftpd port_promiscuous=YES with connect_from_port_20=YES ---------------------------

TEST_CASE("vsftpd: port_promiscuous with connect_from_port_20 kills the session at the transfer") {
    ServerProfile p = vsftpd_profile();
    p.port_promiscuous = true;  // connect_from_port_20 stays YES (Debian)
    Driver d(config_with(p), small_vfs(), scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    CHECK(d.reply("PORT 192,168,150,10,156,65") ==
          "200 PORT command successful. Consider using PASV.\r\n");
    auto retr = d.cmd("RETR file.bin");
    CHECK(only<Connect>(retr).empty());
    CHECK(control_text(retr) == "500 OOPS: vsf_sysutil_bind\r\n500 OOPS: priv_sock_get_cmd\r\n");
    CHECK(closes_control(retr));
    CHECK(explains(retr, "port_promiscuous"));
    CHECK(d.session->state() == ServerState::Closed);
    // A missing file is still refused first (the file is opened before the data connection).
    Driver d2(config_with(p), small_vfs(), scripted_random({}), kServer, kClient);
    d2.take();
    d2.login();
    d2.cmd("PORT 192,168,150,10,156,65");
    CHECK(d2.reply("RETR nothing") == "550 Failed to open file.\r\n");
    // A PORT to a foreign address is accepted too, and fails the same way.
    d2.cmd("PORT 10,0,0,1,156,65");
    CHECK(closes_control(d2.cmd("LIST")));
}

TEST_CASE("vsftpd: port_promiscuous without connect_from_port_20 connects normally") {
    ServerProfile p = vsftpd_profile();
    p.port_promiscuous = true;
    p.connect_from_port_20 = false;
    Driver d(config_with(p), small_vfs(), scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    CHECK(d.reply("PORT 10,0,0,1,156,65") ==
          "200 PORT command successful. Consider using PASV.\r\n");  // the bounce is allowed
    auto retr = d.cmd("RETR file.bin");
    REQUIRE(only<Connect>(retr).size() == 1);
    CHECK(only<Connect>(retr)[0].remote == hp("10.0.0.1", 40001));
    CHECK_FALSE(only<Connect>(retr)[0].local_port.has_value());
    CHECK_FALSE(closes_control(retr));
}

TEST_CASE("vsftpd: connect_from_port_20 without port_promiscuous uses the helper (port 20)") {
    Driver d(config_with(vsftpd_profile()), small_vfs(), scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    d.cmd("PORT 192,168,150,10,156,65");
    auto retr = d.cmd("RETR file.bin");
    REQUIRE(only<Connect>(retr).size() == 1);
    CHECK(only<Connect>(retr)[0].local_port == std::optional<std::uint16_t>(20));
}

// ---- Task: reply names -------------------------------------------------------------------------

TEST_CASE("reply names: kebab-case enum names, both ways, all distinct") {
    CHECK(std::string(reply_name(Reply::Greeting)) == "greeting");
    CHECK(std::string(reply_name(Reply::UserOk)) == "user-ok");
    CHECK(std::string(reply_name(Reply::LoginOk)) == "login-ok");
    CHECK(std::string(reply_name(Reply::Pasv)) == "pasv");
    CHECK(std::string(reply_name(Reply::ListMark)) == "list-mark");
    CHECK(std::string(reply_name(Reply::ListOk)) == "list-ok");
    CHECK(std::string(reply_name(Reply::TransferOk)) == "transfer-ok");
    CHECK(std::string(reply_name(Reply::Quit)) == "quit");
    CHECK(std::string(reply_name(Reply::EpsvAllOk)) == "epsv-all-ok");
    CHECK(reply_by_name("transfer-ok") == Reply::TransferOk);
    CHECK_FALSE(reply_by_name("TransferOk").has_value());
    CHECK_FALSE(reply_by_name("nonsense").has_value());
    REQUIRE(all_replies().size() == kReplyCount);
    std::set<std::string> seen;
    for (Reply r : all_replies()) {
        CHECK(reply_by_name(reply_name(r)) == r);
        CHECK(seen.insert(reply_name(r)).second);
    }
}

TEST_CASE("reply overrides: same code as the default, one line or a proper multi-line reply") {
    ServerProfile p = rfc959_profile();
    CHECK_FALSE(check_reply_override(p, Reply::Greeting, "220 FTP server ready").has_value());
    CHECK_FALSE(check_reply_override(p, Reply::Greeting, "220").has_value());
    const auto wrong = check_reply_override(p, Reply::LoginOk, "220 user alice logged in");
    REQUIRE(wrong.has_value());
    CHECK(wrong->find("230") != std::string::npos);
    CHECK(wrong->find("login-ok") != std::string::npos);
    CHECK(check_reply_override(p, Reply::Greeting, "FTP server ready").has_value());
    CHECK(check_reply_override(p, Reply::Greeting, "220FTP").has_value());
    CHECK(check_reply_override(p, Reply::Greeting, "220 a\r\n220 b").has_value());  // one-line
    CHECK_FALSE(check_reply_override(p, Reply::Help, "214-Help\r\n{0}214 OK").has_value());
    CHECK(check_reply_override(p, Reply::Help, "214-Help\r\n{0}").has_value());
    // The code is the profile's: pyftpdlib's accept timeout is a 421, vsftpd's a 425.
    CHECK_FALSE(check_reply_override(pyftpdlib_profile(), Reply::AcceptTimeout, "421 x").has_value());
    CHECK(check_reply_override(vsftpd_profile(), Reply::AcceptTimeout, "421 x").has_value());
    const auto unknown = override_reply(p, "greting", "220 x");
    REQUIRE(unknown.has_value());
    CHECK(unknown->find("greeting") != std::string::npos);
}

TEST_CASE("reply overrides: the lecture deck's transcript, reply for reply") {
    ServerProfile p = rfc959_profile();
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"greeting", "220 FTP server ready"},
             {"user-ok", "331 password required"},
             {"login-ok", "230 user {0} logged in"},
             {"pasv", "227 Entering PASV mode ({})"},
             {"list-mark", "150 Opening ASCII mode data connection for file list"},
             {"list-ok", "226 File transfer complete"},
             {"quit", "221 Goodbye"}})
        REQUIRE_FALSE(override_reply(p, name, text).has_value());
    ServerConfig c = config_with(p);
    c.users = {{"u001", "xyz"}};
    Driver d(std::move(c), Vfs{}, scripted_random({50069 - 1024}), kServer, kClient);
    CHECK(d.greeting() == "220 FTP server ready\r\n");
    CHECK(d.reply("USER u001") == "331 password required\r\n");
    CHECK(d.reply("PASS xyz") == "230 user u001 logged in\r\n");
    auto pasv = d.cmd("PASV");
    CHECK(control_text(pasv) == "227 Entering PASV mode (192,168,150,90,195,149)\r\n");
    const DataId id = only<Listen>(pasv).at(0).id;
    CHECK(control_text(d.cmd("LIST")) == "150 Opening ASCII mode data connection for file list\r\n");
    auto up = d.data(DataConnected{id, hp("192.168.150.90", 50069), hp("192.168.150.10", 40001)});
    CHECK(control_text(up).empty());
    CHECK(control_text(d.data(DataDrained{id})) == "226 File transfer complete\r\n");
    CHECK(d.reply("QUIT") == "221 Goodbye\r\n");
}

TEST_CASE("docs/server.md holds exactly the reply table rendered from the profiles") {
    std::ifstream in(FTPSIM_SOURCE_DIR "/docs/server.md");
    REQUIRE(in.good());
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string table = render_reply_table();
    INFO("paste this table into docs/server.md:\n" << table);
    CHECK(buf.str().find(table) != std::string::npos);
}

// ---- Task: server restart ----------------------------------------------------------------------

TEST_CASE("shutdown: rfc959 says 421 and closes; nothing is accepted until restart") {
    FtpServer server(config_with(rfc959_profile()), small_vfs(), scripted_random({}));
    const SessionId a = server.accept(0, kServer, kClient);
    server.receive_control(0, a, "USER alice\r\nPASS secret\r\nPASV\r\n");
    server.take_actions();
    server.shutdown(5);
    auto out = of_session(server.take_actions(), a);
    CHECK(control_text(out) == "421 Service not available, closing control connection.\r\n");
    CHECK(only<StopListening>(out).size() == 1);
    CHECK(closes_control(out));
    CHECK(server.session(a)->state() == ServerState::Closed);
    CHECK_FALSE(server.running());
    const SessionId b = server.accept(6, kServer, hp("192.168.150.10", 40002));
    auto refused = of_session(server.take_actions(), b);
    CHECK(control_text(refused).empty());
    REQUIRE(only<CloseControl>(refused).size() == 1);
    CHECK(only<CloseControl>(refused)[0].abort);
    server.restart(10);
    CHECK(server.running());
    CHECK(server.session(a) == nullptr);  // closed sessions are forgotten
    const SessionId c = server.accept(11, kServer, hp("192.168.150.10", 40003));
    CHECK(control_text(of_session(server.take_actions(), c)) == "220 Service ready for new user.\r\n");
}

TEST_CASE("shutdown: vsftpd just drops the connections; a running transfer is reset") {
    FtpServer server(config_with(vsftpd_profile()), small_vfs(), scripted_random({}));
    const SessionId a = server.accept(0, kServer, kClient);
    server.receive_control(0, a, "USER alice\r\nPASS secret\r\nPORT 192,168,150,10,156,65\r\nSTOR up\r\n");
    auto before = of_session(server.take_actions(), a);
    const DataId id = only<Connect>(before).at(0).id;
    server.receive_data(1, a, DataConnected{id, hp("192.168.150.90", 20), hp("192.168.150.10", 40001)});
    server.take_actions();
    server.shutdown(2);
    auto out = of_session(server.take_actions(), a);
    CHECK(control_text(out).empty());
    REQUIRE(only<CloseData>(out).size() == 1);
    CHECK(only<CloseData>(out)[0].abort);
    CHECK(closes_control(out));
    // Late events for the dead session change nothing.
    server.receive_control(3, a, "NOOP\r\n");
    CHECK(server.take_actions().empty());
}

// ---- Task: passive port range exhaustion -------------------------------------------------------

namespace {

ServerConfig awaiting(ServerProfile p, std::uint16_t lo, std::uint16_t hi) {
    p.pasv_min_port = lo;
    p.pasv_max_port = hi;
    ServerConfig c = config_with(std::move(p));
    c.await_listen = true;
    return c;
}

}  // namespace

TEST_CASE("await_listen: the 227 waits for DataListening; a busy port is retried") {
    Driver d(awaiting(rfc959_profile(), 50000, 50009), small_vfs(), scripted_random({3, 0}),
             kServer, kClient);
    d.take();
    d.login();
    auto pasv = d.cmd("PASV");
    CHECK(control_text(pasv).empty());
    const Listen first = only<Listen>(pasv).at(0);
    CHECK(first.port_lo == 50003);
    auto retry = d.data(DataListenFailed{first.id});
    CHECK(control_text(retry).empty());
    REQUIRE(only<Listen>(retry).size() == 1);
    CHECK(only<Listen>(retry)[0].port_lo == 50000);  // the first untried port (random 0)
    auto ok = d.data(DataListening{first.id, hp("192.168.150.90", 50000)});
    CHECK(control_text(ok) == "227 Entering Passive Mode (192,168,150,90,195,80).\r\n");
}

TEST_CASE("exhaustion: rfc959 tries every port once, then 425 and an Explain") {
    Driver d(awaiting(rfc959_profile(), 50000, 50002), small_vfs(), scripted_random({}), kServer,
             kClient);
    d.take();
    d.login();
    std::vector<Action> last = d.cmd("EPSV");
    std::set<std::uint16_t> ports;
    for (int i = 0; i < 3; ++i) {
        const auto l = only<Listen>(last);
        REQUIRE(l.size() == 1);
        ports.insert(l[0].port_lo);
        last = d.data(DataListenFailed{l[0].id});
    }
    CHECK(ports.size() == 3);
    CHECK(control_text(last) == "425 Can't open data connection.\r\n");
    CHECK(explains(last, "passive port range 50000-50002 is exhausted"));
    CHECK_FALSE(closes_control(last));
    CHECK(d.reply("NOOP") == "200 Command okay.\r\n");
}

TEST_CASE("exhaustion: vsftpd gives up after 9 random ports and its session dies") {
    Driver d(awaiting(vsftpd_profile(), 30000, 30009), small_vfs(), scripted_random({}), kServer,
             kClient);
    d.take();
    d.login();
    std::vector<Action> last = d.cmd("PASV");
    int listens = 0;
    while (!only<Listen>(last).empty()) {
        ++listens;
        last = d.data(DataListenFailed{only<Listen>(last)[0].id});
    }
    CHECK(listens == 9);
    CHECK(control_text(last) == "500 OOPS: vsf_sysutil_bind\r\n");
    CHECK(closes_control(last));
    CHECK(explains(last, "passive port range 30000-30009 is exhausted"));
    CHECK(d.session->state() == ServerState::Closed);
}

TEST_CASE("exhaustion: pyftpdlib falls back to a kernel-assigned port outside the range") {
    Driver d(awaiting(pyftpdlib_profile(), 60000, 60001), small_vfs(), scripted_random({}),
             kServer, kClient);
    d.take();
    d.login();
    std::vector<Action> last = d.cmd("PASV");
    last = d.data(DataListenFailed{only<Listen>(last).at(0).id});
    last = d.data(DataListenFailed{only<Listen>(last).at(0).id});
    const auto any = only<Listen>(last);
    REQUIRE(any.size() == 1);
    CHECK(any[0].port_lo == 0);
    CHECK(any[0].port_hi == 0);
    CHECK(explains(last, "passive port range 60000-60001 is exhausted"));
    auto ok = d.data(DataListening{any[0].id, hp("192.168.150.90", 41000)});
    CHECK(control_text(ok) == "227 Entering passive mode (192,168,150,90,160,40).\r\n");
}

TEST_CASE("exhaustion without await_listen: the reply went out; vsftpd dies, rfc959 fails later") {
    ServerProfile v = vsftpd_profile();
    Driver d(config_with(v), small_vfs(), scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    auto pasv = d.cmd("PASV");
    CHECK(control_text(pasv).find("227 ") == 0);
    auto dead = d.data(DataListenFailed{only<Listen>(pasv).at(0).id});
    CHECK(control_text(dead) == "500 OOPS: vsf_sysutil_bind\r\n");
    CHECK(closes_control(dead));
    CHECK(explains(dead, "is exhausted"));

    Driver r(config_with(rfc959_profile()), small_vfs(), scripted_random({}), kServer, kClient);
    r.take();
    r.login();
    auto pasv2 = r.cmd("PASV");
    auto failed = r.data(DataListenFailed{only<Listen>(pasv2).at(0).id});
    CHECK(control_text(failed).empty());
    CHECK(explains(failed, "is exhausted"));
    CHECK(r.reply("RETR file.bin").find("425 ") != std::string::npos);
}

}  // namespace ftpsim::proto::test
