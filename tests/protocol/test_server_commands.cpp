// Every command of the list, the transfer failures, TLS, and the queueing of commands during a
// transfer, on the rfc959 profile unless said otherwise.
#include <doctest/doctest.h>

#include "test_server_support.hpp"

namespace ftpsim::proto::test {

namespace {

const HostPort kServer = hp("192.0.2.1", 21);
const HostPort kClient = hp("198.51.100.20", 50000);

Vfs sample_vfs() {
    Vfs v;
    v.put_file("/readme.txt", "0123456789");
    v.add_dir("/pub");
    v.add_file("/pub/big.iso", 1000, Vfs::kDefaultMtime - 3600);
    return v;
}

Driver logged_in(ServerConfig c = config_with(rfc959_profile()), Vfs v = sample_vfs()) {
    c.profile.pasv_min_port = 40000;
    c.profile.pasv_max_port = 40000;
    Driver d(std::move(c), std::move(v), scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    return d;
}

// PASV and the client's connection, so the next transfer runs at once.
DataId passive_open(Driver& d) {
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    return id;
}

}  // namespace

TEST_CASE("rfc959: login with ACCT (USER 331, PASS 332, ACCT 230)") {
    ServerConfig c = config_with(rfc959_profile());
    c.users_needing_account = {"alice"};
    Driver d(c, Vfs{}, scripted_random({}), kServer, kClient);
    CHECK(d.greeting() == "220 Service ready for new user.\r\n");
    CHECK(d.reply("ACCT x") == "503 Bad sequence of commands.\r\n");
    CHECK(d.reply("USER alice") == "331 User name okay, need password.\r\n");
    CHECK(d.session->state() == ServerState::AwaitPass);
    CHECK(d.reply("PASS secret") == "332 Need account for login.\r\n");
    CHECK(d.session->state() == ServerState::AwaitAcct);
    CHECK(d.reply("PWD") == "530 Not logged in.\r\n");
    CHECK(d.reply("ACCT dept42") == "230 User logged in, proceed.\r\n");
    CHECK(d.session->state() == ServerState::LoggedIn);
}

TEST_CASE("rfc959: sequence errors, unknown, unimplemented and bad arguments") {
    Driver d(config_with(rfc959_profile()), sample_vfs(), scripted_random({}), kServer, kClient);
    d.take();
    CHECK(d.reply("PASS secret") == "503 Bad sequence of commands.\r\n");
    CHECK(d.session->state() == ServerState::AwaitUser);  // no state change
    CHECK(d.reply("RETR readme.txt") == "530 Not logged in.\r\n");
    CHECK(d.reply("RNTO x") == "530 Not logged in.\r\n");
    CHECK(d.reply("FOOBAR") == "500 Syntax error, command unrecognized.\r\n");
    CHECK(d.reply("USER alice") == "331 User name okay, need password.\r\n");
    CHECK(d.reply("PASS wrong") == "530 Not logged in.\r\n");
    CHECK(d.session->state() == ServerState::AwaitUser);
    d.login();
    CHECK(d.reply("RNTO x") == "503 Bad sequence of commands.\r\n");
    CHECK(d.reply("SITE CHMOD 644 x") == "502 Command not implemented.\r\n");
    CHECK(d.reply("REIN") == "502 Command not implemented.\r\n");
    CHECK(d.reply("SMNT /mnt") == "502 Command not implemented.\r\n");
    CHECK(d.reply("MKD") == "501 Syntax error in parameters or arguments.\r\n");
    CHECK(d.reply("TYPE X") == "504 Command not implemented for that parameter.\r\n");
    CHECK(d.reply("MODE B") == "504 Command not implemented for that parameter.\r\n");
    CHECK(d.reply("STRU R") == "504 Command not implemented for that parameter.\r\n");
    CHECK(d.reply("PORT 1,2,3") == "501 Syntax error in parameters or arguments.\r\n");
    CHECK(d.reply("EPRT |9|x|1|") == "522 Network protocol not supported, use (1)\r\n");
    CHECK(d.reply("EPRT garbage") == "501 Syntax error in parameters or arguments.\r\n");
    CHECK(d.reply("EPSV 2") == "522 Network protocol not supported, use (1)\r\n");
    CHECK(d.reply("REST abc") == "501 Syntax error in parameters or arguments.\r\n");
    CHECK(d.reply("OPTS MLST type;") == "501 Syntax error in parameters or arguments.\r\n");
    CHECK(d.reply("AUTH KERBEROS") == "504 Unknown AUTH type.\r\n");
    CHECK(d.reply("SPDT nothing") == "500 Syntax error, command unrecognized.\r\n");  // no FtpServer
}

TEST_CASE("rfc959: SPSV and SPDT need an FtpServer (a lone session does not know them)") {
    Driver d = logged_in();
    CHECK(d.reply("SPSV") == "500 Syntax error, command unrecognized.\r\n");
}

TEST_CASE("rfc959: the session and file-system commands") {
    Driver d = logged_in();
    CHECK(d.reply("SYST") == "215 UNIX Type: L8\r\n");
    CHECK(d.reply("NOOP") == "200 Command okay.\r\n");
    CHECK(d.reply("OPTS UTF8 ON") == "200 Command okay.\r\n");
    CHECK(d.reply("TYPE I") == "200 Command okay.\r\n");
    CHECK(d.reply("TYPE A") == "200 Command okay.\r\n");
    CHECK(d.reply("MODE S") == "200 Command okay.\r\n");
    CHECK(d.reply("STRU F") == "200 Command okay.\r\n");
    CHECK(d.reply("ALLO 100") == "202 Command not implemented, superfluous at this site.\r\n");
    CHECK(d.reply("FEAT").rfind("211-Extensions supported:\r\n AUTH TLS\r\n", 0) == 0);
    CHECK(d.reply("HELP").find(" USER PASS ACCT SYST FEAT OPTS TYPE MODE\r\n") != std::string::npos);
    CHECK(d.reply("PWD") == "257 \"/\" is current directory.\r\n");
    CHECK(d.reply("CWD pub") == "250 Requested file action okay, completed.\r\n");
    CHECK(d.session->cwd() == "/pub");
    CHECK(d.reply("CWD nowhere") == "550 Requested action not taken. File unavailable.\r\n");
    CHECK(d.reply("CDUP") == "250 Requested file action okay, completed.\r\n");
    CHECK(d.session->cwd() == "/");
    CHECK(d.reply("XPWD") == "257 \"/\" is current directory.\r\n");
    CHECK(d.reply("MKD new \"dir\"") == "257 \"/new \"\"dir\"\"\" created.\r\n");
    CHECK(d.reply("MKD pub") == "550 Requested action not taken. File unavailable.\r\n");
    CHECK(d.reply("RMD pub") == "550 Requested action not taken. File unavailable.\r\n");  // not empty
    CHECK(d.reply("RMD new \"dir\"") == "250 Requested file action okay, completed.\r\n");
    CHECK(d.reply("SIZE readme.txt") == "213 10\r\n");
    CHECK(d.reply("SIZE pub") == "550 Requested action not taken. File unavailable.\r\n");
    CHECK(d.reply("MDTM readme.txt") == "213 20240101000000\r\n");
    CHECK(d.reply("MDTM pub/big.iso") == "213 20231231230000\r\n");
    CHECK(d.reply("RNFR readme.txt") ==
          "350 Requested file action pending further information.\r\n");
    CHECK(d.session->state() == ServerState::AwaitRnto);
    CHECK(d.reply("RNTO pub/readme.old") == "250 Requested file action okay, completed.\r\n");
    CHECK(d.session->state() == ServerState::LoggedIn);
    CHECK(d.vfs.find("/pub/readme.old"));
    CHECK(d.reply("RNFR pub/readme.old") ==
          "350 Requested file action pending further information.\r\n");
    CHECK(d.reply("NOOP") == "200 Command okay.\r\n");  // RNTO must come next: the pair is over
    CHECK(d.reply("RNTO x") == "503 Bad sequence of commands.\r\n");
    CHECK(d.reply("DELE pub/readme.old") == "250 Requested file action okay, completed.\r\n");
    CHECK(d.reply("DELE pub/readme.old") == "550 Requested action not taken. File unavailable.\r\n");
    CHECK(d.reply("RNFR ghost") == "550 Requested action not taken. File unavailable.\r\n");
    const std::string stat = d.reply("STAT");
    CHECK(stat.rfind("211-FTP server status:\r\n", 0) == 0);
    CHECK(stat.find("     Logged in as alice\r\n") != std::string::npos);
    CHECK(d.reply("STAT pub") ==
          "213-Status follows:\r\n"
          "-rw-r--r--    1 0        0            1000 Dec 31 23:00 big.iso\r\n"
          "213 End of status\r\n");
}

TEST_CASE("rfc959: PORT, EPRT, EPSV and PASV set up the data connection") {
    Driver d = logged_in();
    CHECK(d.reply("PORT 198,51,100,20,195,80") == "200 Command okay.\r\n");
    CHECK(d.reply("EPRT |1|198.51.100.20|50001|") == "200 Command okay.\r\n");
    auto epsv = d.cmd("EPSV");
    CHECK(control_text(epsv) == "229 Entering Extended Passive Mode (|||40000|)\r\n");
    auto pasv = d.cmd("PASV");  // the EPSV listener is dropped for the new one
    CHECK(only<StopListening>(pasv).at(0).id == only<Listen>(epsv).at(0).id);
    CHECK(control_text(pasv) == "227 Entering Passive Mode (192,0,2,1,156,64).\r\n");
    CHECK(d.reply("EPSV 1") == "229 Entering Extended Passive Mode (|||40000|)\r\n");
    CHECK(d.reply("EPSV ALL") == "200 EPSV ALL command successful.\r\n");
    CHECK(d.session->epsv_all());
    CHECK(d.reply("PORT 198,51,100,20,195,80") == "503 PORT not allowed after EPSV ALL.\r\n");
    CHECK(d.reply("PASV") == "503 PASV not allowed after EPSV ALL.\r\n");
    CHECK(d.reply("EPRT |1|198.51.100.20|50001|") == "503 EPRT not allowed after EPSV ALL.\r\n");
    CHECK(d.reply("EPSV") == "229 Entering Extended Passive Mode (|||40000|)\r\n");
}

TEST_CASE("rfc959: RETR with REST, RTRV, NLST, MLSD") {
    Driver d = logged_in();
    DataId id = passive_open(d);
    CHECK(d.reply("REST 4") == "350 Requested file action pending further information.\r\n");
    auto retr = d.cmd("RETR readme.txt");
    CHECK(only<SendData>(retr).at(0).bytes == "456789");
    CHECK_FALSE(only<CloseData>(retr).at(0).abort);
    CHECK(control_text(retr) == "150 File status okay; about to open data connection.\r\n");
    // The 226 waits until the bytes and the FIN are acknowledged.
    CHECK(control_text(d.data(DataDrained{id})) == "226 Closing data connection.\r\n");
    id = passive_open(d);
    CHECK(only<SendData>(d.cmd("RTRV readme.txt")).at(0).bytes == "0123456789");  // RFC 478
    d.data(DataDrained{id});
    id = passive_open(d);
    CHECK(only<SendData>(d.cmd("NLST")).at(0).bytes == "pub\r\nreadme.txt\r\n");
    // The client's close (it read everything) ends the transfer as well.
    CHECK(control_text(d.data(DataClosed{id})) == "226 Closing data connection.\r\n");
    id = passive_open(d);
    CHECK(only<SendData>(d.cmd("MLSD pub")).at(0).bytes ==
          "type=file;size=1000;modify=20231231230000; big.iso\r\n");
    d.data(DataDrained{id});
    passive_open(d);
    CHECK(d.reply("RETR ghost") == "550 Requested action not taken. File unavailable.\r\n");
    CHECK(d.reply("LIST ghost") == "550 Requested action not taken. File unavailable.\r\n");
}

TEST_CASE("rfc959: STOR, APPE, STOU store what arrives") {
    Driver d = logged_in();
    DataId id = passive_open(d);
    CHECK(d.reply("STOR up.txt") == "150 File status okay; about to open data connection.\r\n");
    d.data(DataBytes{id, "abc"});
    d.data(DataBytes{id, "def"});
    CHECK(control_text(d.data(DataClosed{id})) == "226 Closing data connection.\r\n");
    CHECK(d.vfs.read("/up.txt") == "abcdef");

    id = passive_open(d);
    d.cmd("APPE up.txt");
    d.data(DataBytes{id, "ghi"});
    d.data(DataClosed{id});
    CHECK(d.vfs.read("/up.txt") == "abcdefghi");

    id = passive_open(d);
    d.cmd("REST 3");
    d.cmd("STOR up.txt");
    d.data(DataBytes{id, "XY"});
    d.data(DataClosed{id});
    CHECK(d.vfs.read("/up.txt") == "abcXYfghi");

    id = passive_open(d);
    CHECK(d.reply("STOU up.txt") == "150 FILE: up.txt.1\r\n");
    d.data(DataBytes{id, "unique"});
    d.data(DataClosed{id});
    CHECK(d.vfs.read("/up.txt.1") == "unique");

    passive_open(d);
    CHECK(d.reply("STOR nodir/x") == "553 Requested action not taken. File name not allowed.\r\n");
}

TEST_CASE("rfc959: a full disk answers 452 and resets the data connection") {
    Vfs v = sample_vfs();
    v.set_quota(v.used() + 5);
    Driver d = logged_in(config_with(rfc959_profile()), v);
    const DataId id = passive_open(d);
    d.cmd("STOR big.bin");
    CHECK(control_text(d.data(DataBytes{id, "1234"})).empty());
    auto full = d.data(DataBytes{id, "5678"});
    CHECK(only<CloseData>(full).at(0).abort);
    CHECK(control_text(full) ==
          "452 Requested action not taken. Insufficient storage space in system.\r\n");
    CHECK_FALSE(d.vfs.find("/big.bin"));
}

TEST_CASE("vsftpd: a full disk is its 451 write failure") {
    Vfs v;
    v.set_quota(3);
    ServerProfile p = vsftpd_profile();
    p.pasv_min_port = p.pasv_max_port = 40000;
    Driver d(config_with(p), v, scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    CHECK(d.reply("STOR x") == "150 Ok to send data.\r\n");
    CHECK(control_text(d.data(DataBytes{id, "toolong"})) == "451 Failure writing to local file.\r\n");
}

TEST_CASE("rfc959: a reset mid-transfer is 426") {
    Driver d = logged_in();
    DataId id = passive_open(d);
    d.cmd("STOR up.txt");
    d.data(DataBytes{id, "partial"});
    CHECK(control_text(d.data(DataReset{id})) == "426 Connection closed; transfer aborted.\r\n");
    CHECK(d.session->state() == ServerState::LoggedIn);
}

TEST_CASE("rfc959: a reset before the download has drained is 426, not 226") {
    Driver d = logged_in();
    const DataId id = passive_open(d);
    auto retr = d.cmd("RETR readme.txt");
    CHECK(only<SendData>(retr).size() == 1);
    CHECK(d.session->state() != ServerState::LoggedIn);  // still transferring
    CHECK(control_text(d.data(DataReset{id})) == "426 Connection closed; transfer aborted.\r\n");
    CHECK(d.session->state() == ServerState::LoggedIn);
    CHECK(control_text(d.data(DataDrained{id})).empty());  // stale news
}

TEST_CASE("vsftpd: a reset before the download has drained is its 426 write failure") {
    ServerProfile p = vsftpd_profile();
    p.pasv_min_port = p.pasv_max_port = 40000;
    Vfs v;
    v.add_file("/big.bin", 1 << 20);
    Driver d(config_with(p), v, scripted_random({}), kServer, kClient);
    d.take();
    d.login();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    CHECK(control_text(d.cmd("RETR big.bin")) ==
          "150 Opening BINARY mode data connection for big.bin (1048576 bytes).\r\n");
    CHECK(control_text(d.data(DataReset{id})) == "426 Failure writing network stream.\r\n");
}

TEST_CASE("rfc959: ABOR during a download that has not drained: 426, then 226") {
    Driver d = logged_in();
    const DataId id = passive_open(d);
    d.cmd("RETR readme.txt");
    auto abor = d.cmd("ABOR");
    REQUIRE(only<CloseData>(abor).size() == 1);
    CHECK(only<CloseData>(abor).at(0).abort);
    CHECK(control_text(abor) ==
          "426 Connection closed; transfer aborted.\r\n226 Closing data connection.\r\n");
    CHECK(control_text(d.data(DataDrained{id})).empty());
}

TEST_CASE("rfc959: ABOR during a transfer: 426, then 226") {
    Driver d = logged_in();
    const DataId id = passive_open(d);
    d.cmd("STOR up.txt");
    d.data(DataBytes{id, "partial"});
    auto abor = d.cmd("ABOR");
    CHECK(only<CloseData>(abor).at(0).abort);
    CHECK(control_text(abor) ==
          "426 Connection closed; transfer aborted.\r\n226 Closing data connection.\r\n");
    CHECK(d.reply("ABOR") == "225 Data connection open; no transfer in progress.\r\n");
}

TEST_CASE("commands sent during a transfer wait for its end (RFC 959: they queue)") {
    Driver d = logged_in();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    CHECK(d.reply("RETR readme.txt\r\nNOOP\r\nQUIT") ==
          "150 File status okay; about to open data connection.\r\n");
    auto up = d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    CHECK(control_text(up).empty());
    auto done = d.data(DataDrained{id});
    CHECK(control_text(done) ==
          "226 Closing data connection.\r\n200 Command okay.\r\n"
          "221 Service closing control connection.\r\n");
    CHECK(d.session->state() == ServerState::Closed);
}

TEST_CASE("a command split across segments is answered once it is complete") {
    Driver d(config_with(rfc959_profile()), Vfs{}, scripted_random({}), kServer, kClient);
    d.take();
    d.session->receive_control(0, "US");
    d.session->receive_control(0, "ER al");
    CHECK(control_text(d.take()).empty());
    d.session->receive_control(0, "ice\r\n");
    CHECK(control_text(d.take()) == "331 User name okay, need password.\r\n");
}

TEST_CASE("the accept timeout and a refused active connection are 425") {
    Driver d = logged_in();
    d.cmd("PASV");
    d.cmd("LIST");
    CHECK(d.session->next_expiry() == 60'000'000'000);
    d.session->on_timer(59'000'000'000);
    CHECK(control_text(d.take()).empty());
    d.session->on_timer(60'000'000'000);
    CHECK(control_text(d.take()) == "425 Can't open data connection.\r\n");
    CHECK(d.session->next_expiry() == kNever);

    d.cmd("PORT 198,51,100,20,195,80");
    const auto connect = only<Connect>(d.cmd("LIST")).at(0);
    CHECK(connect.local_port == std::nullopt);  // rfc959: any port for PORT
    CHECK(control_text(d.data(DataRefused{connect.id})) == "425 Can't open data connection.\r\n");
}

TEST_CASE("RFC 4217: AUTH TLS makes the control channel opaque; CCC makes it clear again") {
    Driver d(config_with(rfc959_profile()), Vfs{}, scripted_random({}), kServer, kClient);
    d.take();
    CHECK(d.reply("PBSZ 0") == "503 PBSZ not allowed on insecure control connection.\r\n");
    CHECK(d.reply("PROT P") == "503 PROT not allowed on insecure control connection.\r\n");
    CHECK(d.reply("CCC") == "533 The control channel is not protected.\r\n");
    auto auth = d.cmd("AUTH TLS");
    CHECK(control_text(auth) == "234 AUTH command OK; starting TLS negotiation.\r\n");
    CHECK(d.session->control_encrypted());
    REQUIRE(only<Explain>(auth).size() == 1);
    CHECK(only<Explain>(auth)[0].text.find("middleboxes") != std::string::npos);
    CHECK(d.reply("AUTH TLS") == "503 Already using TLS.\r\n");
    CHECK(d.reply("PROT P") == "503 PBSZ required first.\r\n");
    CHECK(d.reply("PBSZ 0") == "200 PBSZ=0\r\n");
    CHECK(d.reply("PROT X") == "504 Protection level not supported.\r\n");
    CHECK(d.reply("PROT P") == "200 Protection level set to Private.\r\n");
    CHECK(d.session->data_protected());
    d.login();
    CHECK(d.reply("CCC") ==
          "200 CCC command successful; the control channel is in clear text again.\r\n");
    CHECK_FALSE(d.session->control_encrypted());
}

TEST_CASE("vsftpd with ssl_enable=YES: its AUTH, PBSZ and PROT texts") {
    ServerProfile p = vsftpd_profile();
    p.supports_tls = true;
    Driver d(config_with(p), Vfs{}, scripted_random({}), kServer, kClient);
    d.take();
    CHECK(d.reply("PBSZ 0") == "503 PBSZ needs a secure connection.\r\n");
    CHECK(d.reply("AUTH TLS") == "234 Proceed with negotiation.\r\n");
    CHECK(d.reply("PROT P") == "200 PROT now Private.\r\n");  // vsftpd does not insist on PBSZ
    CHECK(d.reply("PBSZ 0") == "200 PBSZ set to 0.\r\n");
    CHECK(d.reply("CCC") == "530 Please login with USER and PASS.\r\n");  // no CCC in vsftpd
}


// ---- Limits on what a client sends on the control connection (issue #17, #22) -----------------
namespace {

const std::string kUnknown = "500 Syntax error, command unrecognized.\r\n";
const std::string kOkay = "200 Command okay.\r\n";

std::size_t count_kind(const std::vector<Action>& actions, ExplainKind kind) {
    std::size_t n = 0;
    for (const auto& e : only<Explain>(actions)) n += e.kind == kind;
    return n;
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

}  // namespace

TEST_CASE("a command line over 4096 bytes is answered 500 once, dropped up to its LF, and the next line is read") {
    Driver d = logged_in();
    SUBCASE("in one piece") {
        auto out = d.cmd("NOOP " + std::string(5000, 'x') + "\r\nNOOP");
        CHECK(control_text(out) == kUnknown + kOkay);
        CHECK(count_kind(out, ExplainKind::LineTooLong) == 1);
    }
    SUBCASE("in pieces: the 500 goes out at byte 4096, the rest of the line is never a command") {
        d.session->receive_control(0, std::string(4000, 'x'));
        CHECK(control_text(d.take()).empty());
        d.session->receive_control(0, std::string(96, 'x'));  // 4096 bytes and no LF: too long
        auto at_limit = d.take();
        CHECK(control_text(at_limit) == kUnknown);
        CHECK(count_kind(at_limit, ExplainKind::LineTooLong) == 1);
        // The rest of the line looks like a command; it is dropped with the line.
        d.session->receive_control(0, "DELE readme.txt");
        d.session->receive_control(0, "\r\nSIZE /readme.txt\r\n");
        CHECK(control_text(d.take()) == "213 10\r\n");
    }
    SUBCASE("one byte at a time") {
        const std::string line = "SIZE /" + std::string(4100, 'a') + "\r\nNOOP\r\n";
        std::vector<Action> out;
        for (char ch : line) {
            d.session->receive_control(0, std::string(1, ch));
            for (auto& a : d.take()) out.push_back(std::move(a));
        }
        CHECK(control_text(out) == kUnknown + kOkay);
        CHECK(count_kind(out, ExplainKind::LineTooLong) == 1);
    }
    SUBCASE("the limit counts the line end: 4096 bytes with CRLF are a command, 4097 are not") {
        const std::string arg(4096 - 7, 'a');  // "SIZE " + arg + CRLF = 4096 bytes
        CHECK(d.reply("SIZE " + arg) == "550 Requested action not taken. File unavailable.\r\n");
        CHECK(d.reply("SIZE a" + arg) == kUnknown);
        CHECK(d.reply("NOOP") == kOkay);
    }
    CHECK(d.session->state() == ServerState::LoggedIn);
    CHECK(d.session->queued_command_bytes() == 0);
    CHECK(d.session->protocol_errors().empty());
}

TEST_CASE("an over-long line waiting behind a transfer is answered in its turn, and the next line stays its own") {
    Driver d = logged_in();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.session->receive_control(0, "RETR readme.txt\r\n" + std::string(5000, 'x'));
    CHECK(control_text(d.take()) == "150 File status okay; about to open data connection.\r\n");
    // The line's first 4096 bytes wait; the rest is dropped; its LF ends it.
    CHECK(d.session->queued_command_bytes() == 4096);
    d.session->receive_control(0, std::string(3000, 'x') + "\r\nNOOP\r\n");
    CHECK(d.session->queued_command_bytes() == 4096 + 1 + 6);
    d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    auto done = d.data(DataDrained{id});
    CHECK(control_text(done) == "226 Closing data connection.\r\n" + kUnknown + kOkay);
    CHECK(count_kind(done, ExplainKind::LineTooLong) == 1);
    CHECK(d.session->queued_command_bytes() == 0);
}

TEST_CASE("commands pipelined during a transfer: 64 KiB wait and are answered, one byte more ends the session") {
    Driver d = logged_in();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    CHECK(control_text(d.cmd("RETR readme.txt")).rfind("150 ", 0) == 0);
    REQUIRE(ServerSession::kMaxQueuedCommandBytes == 65536);
    // 10922 NOOP lines (65532 bytes) and the start of another: exactly the limit.
    const std::string queued = repeat("NOOP\r\n", 10922) + "NOOP";
    REQUIRE(queued.size() == ServerSession::kMaxQueuedCommandBytes);
    SUBCASE("at the limit: every command is answered after the transfer, in order") {
        d.session->receive_control(0, queued);
        CHECK(d.take().empty());
        CHECK(d.session->queued_command_bytes() == 65536);
        d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
        auto done = d.data(DataDrained{id});
        CHECK(control_text(done) == "226 Closing data connection.\r\n" + repeat(kOkay, 10922));
        CHECK(d.reply("") == kOkay);  // the line that was still arriving
        CHECK(d.session->state() == ServerState::LoggedIn);
    }
    SUBCASE("one byte more, while the data connection is awaited: the session ends without a reply") {
        d.session->receive_control(0, queued);
        d.session->receive_control(0, "\r");
        auto out = d.take();
        CHECK(control_text(out).empty());
        CHECK(count_kind(out, ExplainKind::CommandQueueLimit) == 1);
        CHECK(only<StopListening>(out).size() == 1);
        CHECK(only<CloseControl>(out).size() == 1);
        CHECK(d.session->state() == ServerState::Closed);
        CHECK(d.session->queued_command_bytes() == 0);
        d.session->receive_control(0, "NOOP\r\n");  // nothing more is read
        CHECK(d.take().empty());
    }
    SUBCASE("in one piece with the transfer running: the data connection is reset") {
        d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
        d.session->receive_control(0, queued + "\r\n");
        auto out = d.take();
        CHECK(control_text(out).empty());
        CHECK(count_kind(out, ExplainKind::CommandQueueLimit) == 1);
        const auto closes = only<CloseData>(out);
        REQUIRE(closes.size() == 1);
        CHECK(closes[0].abort);
        CHECK(only<CloseControl>(out).size() == 1);
        CHECK(d.session->state() == ServerState::Closed);
    }
    CHECK(d.session->protocol_errors().empty());
}

}  // namespace ftpsim::proto::test
