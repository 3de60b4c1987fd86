// FtpServer as a host: the user limit, timers across sessions, and inputs split anywhere.
#include <doctest/doctest.h>

#include "test_server_support.hpp"

namespace ftpsim::proto::test {

TEST_CASE("FtpServer: over max_users with nothing pending, vsftpd's 421 and the close") {
    ServerConfig c = config_with(vsftpd_profile());
    c.max_users = 1;
    FtpServer server(c, Vfs{}, scripted_random({}));
    const SessionId first = server.accept(0, hp("10.0.0.5", 21), hp("10.0.0.9", 1000));
    const SessionId second = server.accept(0, hp("10.0.0.5", 21), hp("10.0.0.9", 1001));
    auto actions = server.take_actions();
    CHECK(control_text(of_session(actions, first)) == "220 (vsFTPd 3.0.3)\r\n");
    auto refused = of_session(actions, second);
    CHECK(control_text(refused) == "421 There are too many connected users, please try later.\r\n");
    CHECK(only<CloseControl>(refused).size() == 1);
    CHECK(server.user_sessions() == 1);
    server.control_closed(0, first);
    CHECK(server.user_sessions() == 0);
    const SessionId third = server.accept(0, hp("10.0.0.5", 21), hp("10.0.0.9", 1002));
    CHECK(control_text(of_session(server.take_actions(), third)) == "220 (vsFTPd 3.0.3)\r\n");
}

TEST_CASE("FtpServer: the earliest session deadline is the server's, and fires there") {
    ServerConfig c = config_with(rfc959_profile());
    FtpServer server(c, Vfs{}, scripted_random({}));
    const SessionId a = server.accept(0, hp("10.0.0.5", 21), hp("10.0.0.9", 1000));
    const SessionId b = server.accept(0, hp("10.0.0.5", 21), hp("10.0.0.9", 1001));
    CHECK(server.next_expiry() == kNever);
    server.receive_control(5, a, "USER alice\r\nPASS secret\r\nPASV\r\nLIST\r\n");
    server.receive_control(7, b, "USER alice\r\nPASS secret\r\nPASV\r\nLIST\r\n");
    server.take_actions();
    CHECK(server.next_expiry() == 5 + 60'000'000'000);
    server.on_timer(5 + 60'000'000'000);
    auto fired = server.take_actions();
    CHECK(control_text(of_session(fired, a)) == "425 Can't open data connection.\r\n");
    CHECK(of_session(fired, b).empty());
    CHECK(server.next_expiry() == 7 + 60'000'000'000);
}

TEST_CASE("a command stream split at every byte gives the same replies") {
    const std::string stream =
        "USER anonymous\r\nPWD\r\nTYPE I\r\nSIZE file.bin\r\nMDTM file.bin\r\nNOOP\r\nQUIT\r\n";
    auto run = [&](std::size_t chunk) {
        Vfs v;
        v.add_file("/file.bin", 65536);
        Driver d(config_with(vsftpd_profile()), v, scripted_random({}), hp("203.0.113.10", 21),
                 hp("203.0.113.1", 36932));
        std::string out = d.greeting();
        for (std::size_t i = 0; i < stream.size(); i += chunk) {
            d.session->receive_control(0, stream.substr(i, chunk));
            out += control_text(d.take());
        }
        return out;
    };
    const std::string whole = run(stream.size());
    CHECK(whole ==
          "220 (vsFTPd 3.0.3)\r\n230 Login successful.\r\n257 \"/\" is the current directory\r\n"
          "200 Switching to Binary mode.\r\n213 65536\r\n213 20240101000000\r\n200 NOOP ok.\r\n"
          "221 Goodbye.\r\n");
    for (std::size_t chunk = 1; chunk < 8; ++chunk) {
        CAPTURE(chunk);
        CHECK(run(chunk) == whole);
    }
}

TEST_CASE("PASV on an IPv6 control connection announces 0,0,0,0; EPSV works") {
    ServerProfile p = vsftpd_profile();
    p.pasv_min_port = p.pasv_max_port = 30000;
    Driver d(config_with(p), Vfs{}, scripted_random({}), hp("2001:db8::1", 21),
             hp("2001:db8::2", 40000));
    d.take();
    d.cmd("USER anonymous");
    CHECK(d.reply("PASV") == "227 Entering Passive Mode (0,0,0,0,117,48).\r\n");
    CHECK(d.reply("EPSV 2") == "229 Entering Extended Passive Mode (|||30000|)\r\n");
    CHECK(d.reply("EPSV 3") == "522 Bad network protocol.\r\n");
}

}  // namespace ftpsim::proto::test
