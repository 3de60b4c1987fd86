// The seed documents' examples, reproduced on the server side: the lecture deck's passive LIST,
// draft-rosenau sections 4 and 5, RFC 438's LSTN/SOCK and RFC 478's SOCK/PASV.
#include <doctest/doctest.h>

#include "protocol/codec.hpp"
#include "test_server_support.hpp"

namespace ftpsim::proto::test {

namespace {

void set_text(ServerProfile& p, Reply r, std::string text) {
    p.replies[static_cast<std::size_t>(r)] = std::move(text);
}

// The deck's wording ("Entering PASV mode", "password required", ...) as profile texts.
ServerProfile lecture_deck_profile() {
    ServerProfile p = rfc959_profile();
    set_text(p, Reply::Greeting, "220 FTP server ready");
    set_text(p, Reply::UserOk, "331 password required");
    set_text(p, Reply::LoginOk, "230 user {0} logged in");
    set_text(p, Reply::Pasv, "227 Entering PASV mode ({0})");
    set_text(p, Reply::ListMark, "150 Opening ASCII mode data connection for file list");
    set_text(p, Reply::ListOk, "226 File transfer complete");
    set_text(p, Reply::Quit, "221 Goodbye");
    p.pasv_min_port = 1024;
    p.pasv_max_port = 65535;
    return p;
}

}  // namespace

TEST_CASE("lecture deck: passive LIST, byte for byte") {
    const HostPort server = hp("192.168.150.90", 21), client = hp("192.168.150.10", 1120);
    Vfs vfs;
    vfs.add_file("/notes.txt", 120);
    Driver d(config_with(lecture_deck_profile()), vfs, scripted_random({50069 - 1024}), server,
             client);
    CHECK(d.greeting() == "220 FTP server ready\r\n");
    CHECK(d.reply("USER alice") == "331 password required\r\n");
    CHECK(d.reply("PASS secret") == "230 user alice logged in\r\n");

    auto pasv = d.cmd("PASV");
    CHECK(control_text(pasv) == "227 Entering PASV mode (192,168,150,90,195,149)\r\n");
    auto listens = only<Listen>(pasv);
    REQUIRE(listens.size() == 1);
    CHECK(listens[0].port_lo == 50069);
    CHECK(listens[0].port_hi == 50069);
    CHECK(listens[0].addr == server.addr);
    const DataId id = listens[0].id;

    // LIST: 150 first (RFC 959 / the deck), then the client's active open to port 50069.
    CHECK(d.reply("LIST") == "150 Opening ASCII mode data connection for file list\r\n");
    CHECK(d.session->state() == ServerState::Transfer);
    auto after = without_explain(d.data(DataConnected{id, hp("192.168.150.90", 50069),
                                                      hp("192.168.150.10", 1121)}));
    REQUIRE(after.size() == 3);
    CHECK(std::get<StopListening>(after[0]).id == id);
    CHECK(std::get<SendData>(after[1]).bytes == render_listing(d.vfs, "/", ListingKind::Long,
                                                               d.config.profile.listing));
    CHECK(std::get<CloseData>(after[2]).abort == false);  // the server closes the data connection
    CHECK(d.session->state() == ServerState::Transfer);
    // The listing and the FIN have arrived (acknowledged): now the 226.
    CHECK(control_text(d.data(DataDrained{id})) == "226 File transfer complete\r\n");
    CHECK(d.session->state() == ServerState::LoggedIn);

    auto quit = d.cmd("QUIT");
    CHECK(control_text(quit) == "221 Goodbye\r\n");
    CHECK(only<CloseControl>(quit).size() == 1);
    CHECK(d.session->state() == ServerState::Closed);
}

namespace {

ServerConfig rosenau_config() {
    ServerProfile p = rfc959_profile();
    set_text(p, Reply::Greeting, "220 FTP server ready");
    set_text(p, Reply::UserOk, "331 Enter password");
    set_text(p, Reply::LoginOk, "230 You are logged in");
    set_text(p, Reply::RetrMark, "150 Transmitting data");
    set_text(p, Reply::TransferOk, "226 Data transferred");
    ServerConfig c = config_with(p);
    c.spsv_id_generator = [](const RandomSource&) { return std::string("xYab1234"); };
    return c;
}

const HostPort kServer = hp("10.0.0.5", 21);
const HostPort kClient1 = hp("192.0.2.7", 40001);
const HostPort kClient2 = hp("192.0.2.7", 40002);

std::string control_of(const std::vector<ServerAction>& actions, SessionId s) {
    return control_text(of_session(actions, s));
}

}  // namespace

TEST_CASE("draft-rosenau section 4: SPSV, SPDT on a second connection, RETR") {
    Vfs vfs;
    vfs.put_file("/example.file", "contents of example.file");
    FtpServer server(rosenau_config(), vfs, scripted_random({}));
    const SessionId one = server.accept(0, kServer, kClient1);
    CHECK(control_of(server.take_actions(), one) == "220 FTP server ready\r\n");
    server.receive_control(0, one, "USER u001\r\n");
    CHECK(control_of(server.take_actions(), one) == "331 Enter password\r\n");
    server.receive_control(0, one, "PASS xyz\r\n");
    CHECK(control_of(server.take_actions(), one) == "230 You are logged in\r\n");
    server.receive_control(0, one, "SPSV\r\n");
    auto spsv = server.take_actions();
    CHECK(control_of(spsv, one) == "227 Entering single-port mode (xYab1234)\r\n");
    CHECK(only<Listen>(of_session(spsv, one)).empty());  // no second port: that is the point
    CHECK(server.pending_spsv_ids() == 1);

    // The data connection ("---2-->") is a new connection to port 21.
    const SessionId two = server.accept(0, kServer, kClient2);
    CHECK(control_of(server.take_actions(), two) == "220 FTP server ready\r\n");
    server.receive_control(0, two, "SPDT xYab1234\r\n");
    auto spdt = server.take_actions();
    CHECK(control_of(spdt, two) == "200 DATA\r\n");
    std::optional<BecomeDataConnection> became;
    for (const auto& a : spdt)
        if (const auto* b = std::get_if<BecomeDataConnection>(&a.what)) became = *b;
    REQUIRE(became);
    CHECK(became->owner == one);
    CHECK(server.session(two)->state() == ServerState::DataChannel);
    CHECK(server.pending_spsv_ids() == 0);  // one use only

    server.receive_control(0, one, "RETR example.file\r\n");
    auto retr = without_explain(of_session(server.take_actions(), one));
    REQUIRE(retr.size() == 3);
    CHECK(std::get<SendControl>(retr[0]).bytes == "150 Transmitting data\r\n");
    CHECK(std::get<SendData>(retr[1]).id == became->id);
    CHECK(std::get<SendData>(retr[1]).bytes == "contents of example.file");  // no CRLF added
    CHECK(std::get<CloseData>(retr[2]).id == became->id);
    server.receive_data(0, one, DataDrained{became->id});
    CHECK(control_of(server.take_actions(), one) == "226 Data transferred\r\n");
}

TEST_CASE("draft-rosenau: a used or wrong identifier gets 504 and the connection is dropped") {
    FtpServer server(rosenau_config(), Vfs{}, scripted_random({}));
    const SessionId one = server.accept(0, kServer, kClient1);
    server.receive_control(0, one, "USER u001\r\nPASS xyz\r\nSPSV\r\n");
    const SessionId two = server.accept(0, kServer, kClient2);
    server.receive_control(0, two, "SPDT xYab1234\r\n");
    const SessionId three = server.accept(0, kServer, hp("192.0.2.7", 40003));
    server.take_actions();
    server.receive_control(0, three, "SPDT xYab1234\r\n");
    auto again = of_session(server.take_actions(), three);
    CHECK(control_text(again) == "504 Invalid identifier.\r\n");
    CHECK(only<CloseControl>(again).size() == 1);
    CHECK(server.session(three)->state() == ServerState::Closed);
}

TEST_CASE("draft-rosenau: data after 200 DATA reaches the owner as its data connection") {
    FtpServer server(rosenau_config(), Vfs{}, scripted_random({}));
    const SessionId one = server.accept(0, kServer, kClient1);
    server.receive_control(0, one, "USER u001\r\nPASS xyz\r\nSPSV\r\nSTOR up.bin\r\n");
    const SessionId two = server.accept(0, kServer, kClient2);
    server.receive_control(0, two, "SPDT xYab1234\r\n");
    server.receive_control(0, two, "uploaded bytes");
    server.control_closed(0, two);
    auto actions = server.take_actions();
    CHECK(control_of(actions, one).find("226 Data transferred\r\n") != std::string::npos);
    CHECK(server.vfs().read("/up.bin") == "uploaded bytes");
}

TEST_CASE("draft-rosenau section 5: only SPSV connections allowed when the server is full") {
    ServerConfig c = rosenau_config();
    c.max_users = 1;
    FtpServer server(c, Vfs{}, scripted_random({}));
    const SessionId one = server.accept(0, kServer, kClient1);
    server.receive_control(0, one, "USER u001\r\nPASS xyz\r\nSPSV\r\n");
    server.take_actions();

    const SessionId user = server.accept(0, kServer, hp("192.0.2.8", 5000));
    CHECK(control_of(server.take_actions(), user) ==
          "220 Too many users; only SPSV connections allowed\r\n");
    server.receive_control(0, user, "USER u001\r\n");
    auto refused = of_session(server.take_actions(), user);
    CHECK(control_text(refused) == "421 Too many users connected. Try later.\r\n");
    CHECK(only<CloseControl>(refused).size() == 1);

    const SessionId data = server.accept(0, kServer, kClient2);
    CHECK(control_of(server.take_actions(), data) ==
          "220 Too many users; only SPSV connections allowed\r\n");
    server.receive_control(0, data, "SPDT xYab1234\r\n");
    CHECK(control_of(server.take_actions(), data) == "200 DATA\r\n");

    // Nothing pending any more: a plain refusal.
    const SessionId late = server.accept(0, kServer, hp("192.0.2.9", 5001));
    auto late_actions = of_session(server.take_actions(), late);
    CHECK(control_text(late_actions) == "421 Too many users connected. Try later.\r\n");
    CHECK(only<CloseControl>(late_actions).size() == 1);
}

TEST_CASE("draft-rosenau: SPDT is accepted instead of PASS (proxies)") {
    FtpServer server(rosenau_config(), Vfs{}, scripted_random({}));
    const SessionId one = server.accept(0, kServer, kClient1);
    server.receive_control(0, one, "USER u001\r\nPASS xyz\r\nSPSV\r\n");
    const SessionId two = server.accept(0, kServer, kClient2);
    server.receive_control(0, two, "USER u001\r\nSPDT xYab1234\r\n");
    auto actions = server.take_actions();
    CHECK(control_of(actions, two) == "220 FTP server ready\r\n331 Enter password\r\n200 DATA\r\n");
}

TEST_CASE("default SPSV identifiers come from the random source and are valid") {
    ServerConfig c = config_with(rfc959_profile());
    FtpServer server(c, Vfs{}, scripted_random({123456789, 987654321}));
    const SessionId one = server.accept(0, kServer, kClient1);
    server.receive_control(0, one, "USER alice\r\nPASS secret\r\nSPSV\r\n");
    const std::string text = control_text(of_session(server.take_actions(), one));
    const std::string reply_text = text.substr(text.find("227 ") + 4);
    const auto id = parse_spsv_227_text(reply_text);
    REQUIRE(id);
    CHECK(*id == default_spsv_id(scripted_random({123456789})));
    CHECK(is_valid_spsv_id(*id));
}

// RFC 438: the RSEXEC example. SITE2 listens (LSTN R), SITE1 is told where to connect (SOCK),
// SITE2 is told whom to accept (SOCK), then RETR on SITE1 and APPE on SITE2.
TEST_CASE("RFC 438: LSTN, SOCK, RETR and APPE between two servers") {
    const HostPort site1 = hp("10.1.0.1", 21), site2 = hp("10.2.0.2", 21);
    const HostPort user = hp("10.9.0.9", 3000);
    ServerConfig c = config_with(rfc959_profile());
    c.host_names = {{"SITE1", site1.addr}, {"SITE2", site2.addr}};
    c.profile.pasv_min_port = 5000;
    c.profile.pasv_max_port = 5999;
    Vfs v1, v2;
    v1.put_file("/PROG1.PL1", "PUT SKIP LIST('HELLO');\n");
    v2.put_file("/PROG2.PL1", "/* old */\n");
    Driver s1(c, v1, scripted_random({}), site1, user);
    Driver s2(c, v2, scripted_random({17}), site2, hp("10.9.0.9", 3001));
    s1.take();
    s2.take();
    s1.login();
    s2.login();

    auto lstn = s2.cmd("LSTN R");
    CHECK(control_text(lstn) == "255 SOCK 5017\r\n");
    REQUIRE(only<Listen>(lstn).size() == 1);
    const DataId listen_id = only<Listen>(lstn)[0].id;

    CHECK(s1.reply("SOCK SITE2,5017") == "255 SOCK 20\r\n");  // Y: SITE1's data socket
    CHECK(s2.reply("SOCK SITE1,20") == "255 SOCK 5017\r\n");

    auto retr = s1.cmd("RETR PROG1.PL1");
    CHECK(control_text(retr) == "150 File status okay; about to open data connection.\r\n");
    auto connects = only<Connect>(retr);
    REQUIRE(connects.size() == 1);
    CHECK(connects[0].remote == hp("10.2.0.2", 5017));
    CHECK(connects[0].local_port == std::optional<std::uint16_t>(20));

    CHECK(s2.reply("APPE PROG2.PL1") == "150 File status okay; about to open data connection.\r\n");

    auto sent = s1.data(DataConnected{connects[0].id, hp("10.1.0.1", 20), hp("10.2.0.2", 5017)});
    CHECK(only<SendData>(sent).at(0).bytes == "PUT SKIP LIST('HELLO');\n");
    CHECK(control_text(sent).empty());
    CHECK(control_text(s1.data(DataDrained{connects[0].id})) == "226 Closing data connection.\r\n");

    s2.data(DataConnected{listen_id, hp("10.2.0.2", 5017), hp("10.1.0.1", 20)});
    s2.data(DataBytes{listen_id, "PUT SKIP LIST('HELLO');\n"});
    CHECK(control_text(s2.data(DataClosed{listen_id})) == "226 Closing data connection.\r\n");
    CHECK(s2.vfs.read("/PROG2.PL1") == "/* old */\nPUT SKIP LIST('HELLO');\n");
}

TEST_CASE("RFC 438: after LSTN, SOCK refuses a connection from another socket") {
    ServerConfig c = config_with(rfc959_profile());
    c.profile.pasv_min_port = 5000;
    c.profile.pasv_max_port = 5000;
    Driver s(c, Vfs{}, scripted_random({}), hp("10.2.0.2", 21), hp("10.9.0.9", 3001));
    s.take();
    s.login();
    const DataId id = only<Listen>(s.cmd("LSTN R")).at(0).id;
    s.cmd("SOCK 10.1.0.1,20");
    s.cmd("STOR x");
    auto refused = s.data(DataConnected{id, hp("10.2.0.2", 5000), hp("10.66.0.1", 20)});
    CHECK(only<CloseData>(refused).at(0).abort);
    CHECK(control_text(refused) == "425 Can't open data connection.\r\n");
    CHECK(s.reply("LSTN X") == "501 Syntax error in parameters or arguments.\r\n");
}

// RFC 478: A tells B "SOCK HOST-C,Sc" and "PASV", C "SOCK HOST-B,Sb"; then STOR to B, RTRV to C.
TEST_CASE("RFC 478: SOCK and PASV, STOR and RTRV for a server-to-server transfer") {
    const HostPort b = hp("10.2.0.2", 21), c_host = hp("10.3.0.3", 21);
    ServerConfig cfg = config_with(rfc959_profile());
    cfg.host_names = {{"HOST-B", b.addr}, {"HOST-C", c_host.addr}};
    Vfs vb, vc;
    vc.put_file("/report", "third-party data");
    Driver sb(cfg, vb, scripted_random({}), b, hp("10.9.0.9", 3001));
    Driver sc(cfg, vc, scripted_random({}), c_host, hp("10.9.0.9", 3002));
    sb.take();
    sc.take();
    sb.login();
    sc.login();

    // RFC 478's table: both SOCKs first, naming the data sockets "as specified by the protocol"
    // (each server's L-1 = 20), then PASV to B, acknowledged plainly: no 227, no address.
    CHECK(sb.reply("SOCK HOST-C,20") == "255 SOCK 20\r\n");
    CHECK(sc.reply("SOCK HOST-B,20") == "255 SOCK 20\r\n");
    auto pasv = sb.cmd("PASV");
    CHECK(control_text(pasv) == "200 Command okay.\r\n");
    const auto listen = only<Listen>(pasv).at(0);
    CHECK(listen.port_lo == 20);  // B listens on its own data socket
    CHECK(listen.port_hi == 20);
    const DataId bid = listen.id;

    CHECK(sb.reply("STOR report") == "150 File status okay; about to open data connection.\r\n");
    auto rtrv = sc.cmd("RTRV report");
    auto connect = only<Connect>(rtrv).at(0);
    CHECK(connect.remote == hp("10.2.0.2", 20));
    CHECK(connect.local_port == std::optional<std::uint16_t>(20));

    // A connection from anyone else than C's socket 20 is refused (note 3 of RFC 478).
    auto stranger = sb.data(DataConnected{bid, hp("10.2.0.2", 20), hp("10.3.0.3", 4444)});
    CHECK(control_text(stranger) == "425 Can't open data connection.\r\n");
    CHECK(sb.session->state() == ServerState::LoggedIn);

    // Again, properly.
    sb.cmd("SOCK HOST-C,20");
    const DataId bid2 = only<Listen>(sb.cmd("PASV")).at(0).id;
    sb.cmd("STOR report");
    sb.data(DataConnected{bid2, hp("10.2.0.2", 20), hp("10.3.0.3", 20)});
    auto out = sc.data(DataConnected{connect.id, hp("10.3.0.3", 20), hp("10.2.0.2", 20)});
    sb.data(DataBytes{bid2, only<SendData>(out).at(0).bytes});
    auto closed = sb.data(DataClosed{bid2});
    CHECK(control_text(closed) == "226 Closing data connection.\r\n");
    CHECK(only<CloseData>(closed).size() == 1);  // B closes its end too
    CHECK(sb.vfs.read("/report") == "third-party data");
}

}  // namespace ftpsim::proto::test
