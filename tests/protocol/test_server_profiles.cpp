// The profiles: vsftpd as the captures show it, pyftpdlib's foreign-address rules, rfc959's
// literal behaviour (the bounce attack works).
#include <doctest/doctest.h>

#include "test_server_support.hpp"

namespace ftpsim::proto::test {

namespace {

// The captures' addresses: vsftpd on 203.0.113.10 sees curl behind NAT as 203.0.113.1.
const HostPort kVsftpd = hp("203.0.113.10", 21);
const HostPort kCurl = hp("203.0.113.1", 36932);

Vfs capture_vfs() {
    Vfs v;
    v.add_file("/file.bin", 65536);
    return v;
}

ServerProfile vsftpd_capture_profile() {
    ServerProfile p = vsftpd_profile();
    p.pasv_min_port = 30000;  // the captures' passive range
    p.pasv_max_port = 30009;
    return p;
}

}  // namespace

TEST_CASE("vsftpd: the EPSV capture, reply for reply") {
    Driver d(config_with(vsftpd_capture_profile()), capture_vfs(), scripted_random({7}), kVsftpd,
             kCurl);
    CHECK(d.greeting() == "220 (vsFTPd 3.0.3)\r\n");
    CHECK(d.reply("USER anonymous") == "230 Login successful.\r\n");
    CHECK(d.reply("PWD") == "257 \"/\" is the current directory\r\n");
    auto epsv = d.cmd("EPSV");
    CHECK(control_text(epsv) == "229 Entering Extended Passive Mode (|||30007|)\r\n");
    const DataId id = only<Listen>(epsv).at(0).id;
    // curl connects at once; vsftpd accepts at RETR.
    CHECK(control_text(d.data(DataConnected{id, hp("203.0.113.10", 30007), hp("203.0.113.1", 51000)})).empty());
    CHECK(d.reply("TYPE I") == "200 Switching to Binary mode.\r\n");
    CHECK(d.reply("SIZE file.bin") == "213 65536\r\n");
    auto retr = without_explain(d.cmd("RETR file.bin"));
    REQUIRE(retr.size() == 3);
    CHECK(std::get<SendControl>(retr[0]).bytes ==
          "150 Opening BINARY mode data connection for file.bin (65536 bytes).\r\n");
    CHECK(std::get<SendData>(retr[1]).bytes.size() == 65536);
    CHECK(std::get<SendData>(retr[1]).bytes == d.vfs.read("/file.bin"));
    CHECK(std::holds_alternative<CloseData>(retr[2]));
    // The 226 once the file and the FIN have left (vsftpd: after write() and close() return).
    CHECK(d.reply("NOOP").empty());  // queued behind the transfer
    CHECK(control_text(d.data(DataDrained{id})) == "226 Transfer complete.\r\n200 NOOP ok.\r\n");
    CHECK(d.reply("QUIT") == "221 Goodbye.\r\n");
}

TEST_CASE("vsftpd: the active capture: connect from port 20 first, then 150") {
    Driver d(config_with(vsftpd_capture_profile()), capture_vfs(), scripted_random({}), kVsftpd,
             hp("203.0.113.1", 36942));
    d.take();
    d.cmd("USER anonymous");
    CHECK(d.reply("PORT 203,0,113,1,234,245") ==
          "200 PORT command successful. Consider using PASV.\r\n");
    d.cmd("TYPE I");
    auto retr = d.cmd("RETR file.bin");
    CHECK(control_text(retr).empty());  // nothing until the connection is up
    auto connect = only<Connect>(retr).at(0);
    CHECK(connect.remote == hp("203.0.113.1", 60149));
    CHECK(connect.local_port == std::optional<std::uint16_t>(20));
    auto up = d.data(DataConnected{connect.id, hp("203.0.113.10", 20), hp("203.0.113.1", 60149)});
    CHECK(control_text(up) ==
          "150 Opening BINARY mode data connection for file.bin (65536 bytes).\r\n");
    CHECK(control_text(d.data(DataDrained{connect.id})) == "226 Transfer complete.\r\n");
}

TEST_CASE("vsftpd: the cnat-off-active capture: PORT to a foreign address") {
    Driver d(config_with(vsftpd_capture_profile()), capture_vfs(), scripted_random({}), kVsftpd,
             hp("203.0.113.1", 35656));
    d.take();
    CHECK(d.reply("USER anonymous") == "230 Login successful.\r\n");
    CHECK(d.reply("PWD") == "257 \"/\" is the current directory\r\n");
    CHECK(d.reply("PORT 192,168,1,10,225,203") == "500 Illegal PORT command.\r\n");
    CHECK(d.reply("EPRT |1|192.168.1.10|57803|") == "500 Illegal EPRT command.\r\n");
    CHECK(d.reply("PORT 203,0,113,1,0,25") == "500 Illegal PORT command.\r\n");  // privileged
    CHECK(d.reply("QUIT") == "221 Goodbye.\r\n");
}

TEST_CASE("vsftpd: pasv_promiscuous=NO refuses a data connection from another address") {
    Driver d(config_with(vsftpd_capture_profile()), capture_vfs(), scripted_random({2}), kVsftpd,
             kCurl);
    d.take();
    d.cmd("USER anonymous");
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.data(DataConnected{id, hp("203.0.113.10", 30002), hp("198.51.100.66", 40000)});
    auto retr = d.cmd("RETR file.bin");
    CHECK(only<CloseData>(retr).at(0).abort);
    CHECK(control_text(retr) == "425 Security: Bad IP connecting.\r\n");
    CHECK(d.session->state() == ServerState::LoggedIn);
}

TEST_CASE("vsftpd: pasv_address is announced instead of the local address") {
    ServerProfile p = vsftpd_capture_profile();
    p.pasv_address = *parse_ip("203.0.113.1");
    Driver d(config_with(p), capture_vfs(), scripted_random({4}), hp("192.168.2.10", 21),
             hp("203.0.113.10", 54492));
    d.take();
    d.cmd("USER anonymous");
    auto pasv = d.cmd("PASV");
    CHECK(control_text(pasv) == "227 Entering Passive Mode (203,0,113,1,117,52).\r\n");
    CHECK(only<Listen>(pasv).at(0).addr == *parse_ip("192.168.2.10"));  // bound locally
}

TEST_CASE("vsftpd: the snat21 capture's 227 (no pasv_address)") {
    Driver d(config_with(vsftpd_capture_profile()), capture_vfs(), scripted_random({4}),
             hp("192.168.2.10", 21), hp("203.0.113.10", 54492));
    d.take();
    d.cmd("USER anonymous");
    CHECK(d.reply("PASV") == "227 Entering Passive Mode (192,168,2,10,117,52).\r\n");
}

TEST_CASE("vsftpd: refusals and sequence errors in its own words") {
    Driver d(config_with(vsftpd_profile()), Vfs{}, scripted_random({}), kVsftpd, kCurl);
    d.take();
    CHECK(d.reply("PASS x") == "503 Login with USER first.\r\n");
    CHECK(d.reply("LIST") == "530 Please login with USER and PASS.\r\n");
    CHECK(d.reply("XYZZY") == "530 Please login with USER and PASS.\r\n");
    CHECK(d.reply("USER alice") == "331 Please specify the password.\r\n");
    CHECK(d.reply("PASS wrong") == "530 Login incorrect.\r\n");
    d.login();
    CHECK(d.reply("XYZZY") == "500 Unknown command.\r\n");
    CHECK(d.reply("SPSV") == "500 Unknown command.\r\n");
    CHECK(d.reply("LSTN R") == "500 Unknown command.\r\n");
    CHECK(d.reply("AUTH TLS") == "500 Unknown command.\r\n");  // ssl_enable=NO
    CHECK(d.reply("ACCT x") == "502 ACCT not implemented.\r\n");
    CHECK(d.reply("RNTO b") == "503 RNFR required first.\r\n");
    CHECK(d.reply("RETR nothing") == "425 Use PORT or PASV first.\r\n");
    CHECK(d.reply("MLSD") == "500 Unknown command.\r\n");
    CHECK(d.reply("PASS again") == "230 Already logged in.\r\n");
}

TEST_CASE("vsftpd: EPSV ALL refuses PORT and PASV but (3.0.3's quirk) not EPRT") {
    Driver d(config_with(vsftpd_profile()), Vfs{}, scripted_random({}), kVsftpd, kCurl);
    d.take();
    d.login();
    CHECK(d.reply("EPSV ALL") == "200 EPSV ALL ok.\r\n");
    CHECK(d.reply("PASV") == "550 Permission denied.\r\n");
    CHECK(d.reply("PORT 203,0,113,1,200,1") == "550 Permission denied.\r\n");
    CHECK(d.reply("EPRT |1|203.0.113.1|51201|") ==
          "200 EPRT command successful. Consider using EPSV.\r\n");
}

TEST_CASE("vsftpd: FEAT, SYST, HELP, NOOP as vsftpd prints them") {
    Driver d(config_with(vsftpd_profile()), Vfs{}, scripted_random({}), kVsftpd, kCurl);
    d.take();
    CHECK(d.reply("FEAT") ==
          "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n"
          " UTF8\r\n211 End\r\n");
    CHECK(d.reply("SYST") == "530 Please login with USER and PASS.\r\n");
    d.login();
    CHECK(d.reply("SYST") == "215 UNIX Type: L8\r\n");
    CHECK(d.reply("NOOP") == "200 NOOP ok.\r\n");
    const std::string help = d.reply("HELP");
    CHECK(help.rfind("214-The following commands are recognized.\r\n", 0) == 0);
    CHECK(help.find("214 Help OK.\r\n") != std::string::npos);
}

TEST_CASE("vsftpd: a listing in vsftpd's ls format") {
    Vfs v;
    v.add_file("/file.bin", 65536);
    v.add_dir("/pub");
    Driver d(config_with(vsftpd_capture_profile()), v, scripted_random({0}), kVsftpd, kCurl);
    d.take();
    d.cmd("USER anonymous");
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.cmd("LIST");
    auto up = d.data(DataConnected{id, hp("203.0.113.10", 30000), hp("203.0.113.1", 50000)});
    CHECK(only<SendData>(up).at(0).bytes ==
          "-rw-r--r--    1 0        0           65536 Jan 01 00:00 file.bin\r\n"
          "drwxr-xr-x    2 0        0            4096 Jan 01 00:00 pub\r\n");
    CHECK(control_text(up) == "150 Here comes the directory listing.\r\n");
    CHECK(control_text(d.data(DataDrained{id})) == "226 Directory send OK.\r\n");
}

// ---- pyftpdlib -----------------------------------------------------------------------------

TEST_CASE("pyftpdlib: permit_foreign_addresses=False refuses a PORT to a third host") {
    Driver d(config_with(pyftpdlib_profile()), Vfs{}, scripted_random({}), kVsftpd, kCurl);
    CHECK(d.greeting() == "220 pyftpdlib 2.2.1 ready.\r\n");
    d.login();
    CHECK(d.reply("PORT 10,9,9,9,7,208") ==
          "501 Rejected data connection to foreign address 10.9.9.9:2000.\r\n");
    CHECK(d.reply("PORT 203,0,113,1,0,21") ==
          "501 PORT against the privileged port \"21\" refused.\r\n");
    CHECK(d.reply("FOO") == "500 Command \"FOO\" not understood.\r\n");
    CHECK(d.reply("RETR") == "501 Syntax error: command needs an argument.\r\n");
    CHECK(d.reply("PWD x") == "501 Syntax error: command does not accept arguments.\r\n");
}

TEST_CASE("pyftpdlib: masquerade_address, a foreign passive connection refused, listening goes on") {
    ServerProfile p = pyftpdlib_profile();
    p.pasv_address = *parse_ip("198.51.100.1");  // masquerade_address
    p.pasv_min_port = 60000;                      // passive_ports = range(60000, 60010)
    p.pasv_max_port = 60009;
    Vfs v;
    v.put_file("/a.txt", "hello");
    Driver d(config_with(p), v, scripted_random({3}), hp("10.0.0.5", 21), kCurl);
    d.take();
    d.login();
    auto pasv = d.cmd("PASV");
    CHECK(control_text(pasv) == "227 Entering passive mode (198,51,100,1,234,99).\r\n");
    const DataId id = only<Listen>(pasv).at(0).id;
    auto foreign = d.data(DataConnected{id, hp("10.0.0.5", 60003), hp("192.0.2.99", 4242)});
    CHECK(only<CloseData>(foreign).at(0).abort);
    CHECK(control_text(foreign) ==
          "425 Rejected data connection from foreign address 192.0.2.99:4242.\r\n");
    CHECK(only<StopListening>(foreign).empty());
    // The client itself connects; pyftpdlib answers RETR with 125 on the open connection.
    d.data(DataConnected{id, hp("10.0.0.5", 60003), hp("203.0.113.1", 50001)});
    auto retr = d.cmd("RETR a.txt");
    CHECK(control_text(retr) == "125 Data connection already open. Transfer starting.\r\n");
    CHECK(only<SendData>(retr).at(0).bytes == "hello");
    CHECK(control_text(d.data(DataDrained{id})) == "226 Transfer complete.\r\n");
}

TEST_CASE("pyftpdlib: PORT connects at once and answers 200 when connected") {
    Vfs v;
    v.put_file("/a.txt", "hello");
    Driver d(config_with(pyftpdlib_profile()), v, scripted_random({}), kVsftpd, kCurl);
    d.take();
    d.login();
    auto port = d.cmd("PORT 203,0,113,1,200,10");
    CHECK(control_text(port).empty());
    auto connect = only<Connect>(port).at(0);
    CHECK(connect.remote == hp("203.0.113.1", 51210));
    CHECK(connect.local_port == std::nullopt);
    CHECK(control_text(d.data(DataConnected{connect.id, kVsftpd, connect.remote})) ==
          "200 Active data connection established.\r\n");
    CHECK(control_text(d.cmd("RETR a.txt")) ==
          "125 Data connection already open. Transfer starting.\r\n");
    CHECK(control_text(d.data(DataDrained{connect.id})) == "226 Transfer complete.\r\n");
    // A refused connect is the 425 answer to PORT itself.
    auto again = only<Connect>(d.cmd("PORT 203,0,113,1,200,11")).at(0);
    CHECK(control_text(d.data(DataRefused{again.id})) == "425 Can't connect to specified address.\r\n");
}

TEST_CASE("pyftpdlib: EPSV ALL and the passive timeout") {
    Driver d(config_with(pyftpdlib_profile()), Vfs{}, scripted_random({}), kVsftpd, kCurl);
    d.take();
    d.login();
    CHECK(d.reply("EPSV ALL") == "220 Other commands other than EPSV are now disabled.\r\n");
    CHECK(d.reply("PORT 203,0,113,1,200,10") == "501 PORT not allowed after EPSV ALL.\r\n");
    CHECK(d.reply("EPRT |1|203.0.113.1|51210|") == "501 EPRT not allowed after EPSV ALL.\r\n");
    CHECK(d.reply("PASV") == "501 PASV not allowed after EPSV ALL.\r\n");
    d.cmd("EPSV");
    CHECK(d.reply("LIST") == "150 File status okay. About to open data connection.\r\n");
    CHECK(d.session->next_expiry() == 30'000'000'000);
    d.session->on_timer(30'000'000'000);
    CHECK(control_text(d.take()) == "421 Passive data channel timed out.\r\n");
}

// ---- rfc959 --------------------------------------------------------------------------------

TEST_CASE("rfc959: PORT to anywhere is accepted: the bounce attack works") {
    Driver d(config_with(rfc959_profile()), capture_vfs(), scripted_random({}), kVsftpd, kCurl);
    d.take();
    d.login();
    CHECK(d.reply("PORT 10,0,0,99,0,25") == "200 Command okay.\r\n");
    auto retr = d.cmd("RETR file.bin");
    CHECK(control_text(retr) == "150 File status okay; about to open data connection.\r\n");
    CHECK(only<Connect>(retr).at(0).remote == hp("10.0.0.99", 25));
}

TEST_CASE("rfc959: without PORT or PASV the server connects from L-1 to the client's port U") {
    Driver d(config_with(rfc959_profile()), capture_vfs(), scripted_random({}), kVsftpd, kCurl);
    d.take();
    d.login();
    auto retr = d.cmd("RETR file.bin");
    auto connect = only<Connect>(retr).at(0);
    CHECK(connect.remote == kCurl);  // U: the client's control port
    CHECK(connect.local_port == std::optional<std::uint16_t>(20));
    CHECK(control_text(d.data(DataTimedOut{connect.id})) == "425 Can't open data connection.\r\n");
}

TEST_CASE("profiles by name, and every reply text is set") {
    for (const char* name : {"vsftpd", "pyftpdlib", "rfc959"}) {
        CAPTURE(name);
        auto p = server_profile_by_name(name);
        REQUIRE(p);
        CHECK(p->name == name);
        for (const auto& text : p->replies) {
            CHECK(text.size() >= 3);
        }
    }
    CHECK_FALSE(server_profile_by_name("wu-ftpd"));
}

}  // namespace ftpsim::proto::test
