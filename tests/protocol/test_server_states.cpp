// The transition table, the docs generated from it, and the in-memory file system.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "test_server_support.hpp"

namespace ftpsim::proto::test {

TEST_CASE("server states: legal steps follow RFC 959 5.4, illegal ones change nothing") {
    using S = ServerState;
    using E = ServerEvent;
    CHECK(next_server_state(S::AwaitUser, E::UserNeedsPass) == S::AwaitPass);
    CHECK(next_server_state(S::AwaitPass, E::PassNeedsAcct) == S::AwaitAcct);
    CHECK(next_server_state(S::AwaitAcct, E::AcctOk) == S::LoggedIn);
    CHECK(next_server_state(S::LoggedIn, E::RnfrOk) == S::AwaitRnto);
    CHECK(next_server_state(S::LoggedIn, E::TransferStarted) == S::Transfer);
    CHECK(next_server_state(S::SpsvOnly, E::SpdtOk) == S::DataChannel);
    CHECK_FALSE(next_server_state(S::AwaitUser, E::PassOk));       // PASS without USER
    CHECK_FALSE(next_server_state(S::LoggedIn, E::RenameDone));    // RNTO without RNFR
    CHECK_FALSE(next_server_state(S::Transfer, E::TransferStarted));
    CHECK_FALSE(next_server_state(S::Closed, E::Quit));
    // Every (state, event) appears at most once: the table is a function.
    std::set<std::pair<int, int>> seen;
    for (const auto& t : server_transitions())
        CHECK(seen.insert({static_cast<int>(t.from), static_cast<int>(t.event)}).second);
}

TEST_CASE("server gates: 530 before login, 503 for RNTO without RNFR, defer during a transfer") {
    CHECK(command_gate(ServerState::AwaitUser, CommandGroup::Other) == Gate::NeedLogin);
    CHECK(command_gate(ServerState::LoggedIn, CommandGroup::Rnto) == Gate::BadSequence);
    CHECK(command_gate(ServerState::AwaitRnto, CommandGroup::Rnto) == Gate::Handle);
    CHECK(command_gate(ServerState::Transfer, CommandGroup::Abor) == Gate::Handle);
    CHECK(command_gate(ServerState::Transfer, CommandGroup::Session) == Gate::Defer);
    CHECK(command_gate(ServerState::DataChannel, CommandGroup::Login) == Gate::Ignore);
}

TEST_CASE("docs/server.md holds exactly the state diagram rendered from the table") {
    std::ifstream in(FTPSIM_SOURCE_DIR "/docs/server.md");
    REQUIRE(in.good());
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string block = "```mermaid\n" + render_server_state_diagram() + "```\n";
    INFO("paste this block into docs/server.md:\n" << block);
    CHECK(buf.str().find(block) != std::string::npos);
}

TEST_CASE("the diagram names every transition") {
    const std::string text = render_server_state_diagram();
    CHECK(text.rfind("stateDiagram-v2\n", 0) == 0);
    CHECK(text.find("    AwaitUser --> AwaitPass : USER 331\n") != std::string::npos);
    CHECK(text.find("    SpsvOnly --> DataChannel : SPDT 200 DATA\n") != std::string::npos);
}

TEST_CASE("server states: USER after 332 starts the login again; the peer's close after QUIT is no error") {
    ServerConfig c = config_with(rfc959_profile());
    c.users_needing_account = {"alice"};
    Driver d(std::move(c), Vfs{}, scripted_random({}), hp("192.0.2.1", 21), hp("198.51.100.20", 50000));
    d.take();
    d.cmd("USER alice");
    CHECK(d.reply("PASS secret").rfind("332 ", 0) == 0);
    REQUIRE(d.session->state() == ServerState::AwaitAcct);
    CHECK(d.reply("USER u001").rfind("331 ", 0) == 0);
    CHECK(d.session->state() == ServerState::AwaitPass);  // the table follows the 331
    CHECK(d.reply("PASS xyz").rfind("230 ", 0) == 0);
    d.cmd("QUIT");
    REQUIRE(d.session->state() == ServerState::Closed);
    d.session->control_closed(d.now);
    CHECK(d.session->state() == ServerState::Closed);
    CHECK(d.session->protocol_errors().empty());
}

// ---- The data connection's table ------------------------------------------------------------

TEST_CASE("server data table: a function; every phase is reachable and can be aborted and dropped") {
    std::set<std::pair<int, int>> seen;
    std::set<DataPhase> reached{DataPhase::Idle};
    for (const auto& t : server_data_transitions()) {
        CHECK(seen.insert({static_cast<int>(t.from), static_cast<int>(t.event)}).second);
        reached.insert(t.to);
    }
    for (const DataPhase p : {DataPhase::Idle, DataPhase::Listening, DataPhase::Connecting, DataPhase::Open,
                              DataPhase::Draining, DataPhase::Failed}) {
        CAPTURE(to_string(p));
        CHECK(reached.count(p) == 1);
        REQUIRE(next_data_phase(p, DataPhaseEvent::Drop));
        CHECK(next_data_phase(p, DataPhaseEvent::Drop)->to == DataPhase::Idle);
        REQUIRE(next_data_phase(p, DataPhaseEvent::Abort));
        CHECK(next_data_phase(p, DataPhaseEvent::Abort)->to == DataPhase::Idle);
    }
    // What each step does to the connection.
    CHECK(next_data_phase(DataPhase::Idle, DataPhaseEvent::Listen)->effects == kListen);
    CHECK(next_data_phase(DataPhase::Idle, DataPhaseEvent::Connect)->effects == kConnect);
    CHECK(next_data_phase(DataPhase::Open, DataPhaseEvent::SentAll)->to == DataPhase::Draining);
    CHECK(next_data_phase(DataPhase::Open, DataPhaseEvent::Drop)->effects == kCloseData);
    CHECK(next_data_phase(DataPhase::Connecting, DataPhaseEvent::Drop)->effects == kResetData);
    CHECK(effects_string(kStopListening | kForgetIdentifier) == "stop listening, forget SPSV id");
    // Not allowed: a DataDrained before anything was sent, a second DataConnected, bytes on a listener.
    CHECK_FALSE(next_data_phase(DataPhase::Open, DataPhaseEvent::Drained));
    CHECK_FALSE(next_data_phase(DataPhase::Open, DataPhaseEvent::Connected));
    CHECK_FALSE(next_data_phase(DataPhase::Listening, DataPhaseEvent::Bytes));
}

TEST_CASE("docs/server.md holds exactly the data-connection diagram rendered from the table") {
    std::ifstream in(FTPSIM_SOURCE_DIR "/docs/server.md");
    REQUIRE(in.good());
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string block = "```mermaid\n" + render_server_data_diagram() + "```\n";
    INFO("paste this block into docs/server.md:\n" << block);
    CHECK(buf.str().find(block) != std::string::npos);
    CHECK(block.find("    Open --> Draining : all sent / close\n") != std::string::npos);
}

namespace {

const HostPort kLocal = hp("192.0.2.1", 21);
const HostPort kPeer = hp("198.51.100.20", 50000);

Driver passive_driver() {
    ServerConfig c = config_with(rfc959_profile());
    c.profile.pasv_min_port = c.profile.pasv_max_port = 40000;
    Vfs v;
    v.add_file("/readme.txt", 100);
    Driver d(std::move(c), std::move(v), scripted_random({}), kLocal, kPeer);
    d.take();
    d.login();
    return d;
}

}  // namespace

TEST_CASE("server data connection: a passive download walks Listening, Open, Draining, Idle") {
    Driver d = passive_driver();
    CHECK(d.session->data_phase() == DataPhase::Idle);
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    CHECK(d.session->data_phase() == DataPhase::Listening);
    auto up = d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    CHECK(only<StopListening>(up).size() == 1);
    CHECK(d.session->data_phase() == DataPhase::Open);
    auto retr = d.cmd("RETR readme.txt");
    REQUIRE(only<CloseData>(retr).size() == 1);
    CHECK_FALSE(only<CloseData>(retr)[0].abort);
    CHECK(d.session->data_phase() == DataPhase::Draining);
    CHECK(control_text(d.data(DataDrained{id})).find("226 ") == 0);
    CHECK(d.session->data_phase() == DataPhase::Idle);
    CHECK(d.session->protocol_errors().empty());
}

TEST_CASE("server data connection: an event the table does not allow is a protocol error and changes nothing") {
    Driver d = passive_driver();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    auto early = d.data(DataDrained{id});  // nothing was sent
    CHECK(d.session->data_phase() == DataPhase::Listening);
    CHECK(without_explain(early).empty());
    REQUIRE(d.session->protocol_errors().size() == 1);
    CHECK(d.session->protocol_errors()[0] == "data connection: DataDrained in Listening");
    REQUIRE(only<Explain>(early).size() == 1);
    CHECK(only<Explain>(early)[0].text == "protocol error: data connection: DataDrained in Listening");
    d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50001)});
    CHECK(d.session->data_phase() == DataPhase::Open);
    auto again = d.data(DataConnected{id, hp("192.0.2.1", 40000), hp("198.51.100.20", 50002)});
    CHECK(without_explain(again).empty());
    CHECK(d.session->data_phase() == DataPhase::Open);
    REQUIRE(d.session->protocol_errors().size() == 2);
    CHECK(d.session->protocol_errors()[1] == "data connection: DataConnected in Open");
    // An older connection's news is not an error: the session has let it go.
    d.cmd("PASV");
    CHECK(without_explain(d.data(DataClosed{id})).empty());
    CHECK(d.session->protocol_errors().size() == 2);
}

TEST_CASE("server data connection: ABOR before the passive connection arrives closes the listener") {
    Driver d = passive_driver();
    const DataId id = only<Listen>(d.cmd("PASV")).at(0).id;
    d.cmd("RETR readme.txt");  // rfc959: 150, then it waits for the connection
    CHECK(d.session->data_phase() == DataPhase::Listening);
    auto abor = d.cmd("ABOR");
    REQUIRE(only<StopListening>(abor).size() == 1);
    CHECK(only<StopListening>(abor)[0].id == id);
    CHECK(only<CloseData>(abor).empty());
    CHECK(control_text(abor).find("226 ") != std::string::npos);
    CHECK(d.session->data_phase() == DataPhase::Idle);
    CHECK(d.session->protocol_errors().empty());
}

// ---- Vfs -----------------------------------------------------------------------------------

TEST_CASE("vfs: paths resolve like a Unix shell's") {
    CHECK(Vfs::resolve("/pub", "file") == "/pub/file");
    CHECK(Vfs::resolve("/pub", "../etc/./x") == "/etc/x");
    CHECK(Vfs::resolve("/pub", "/abs//path/") == "/abs/path");
    CHECK(Vfs::resolve("/", "../..") == "/");
    CHECK(Vfs::base_name("/a/b.txt") == "b.txt");
}

TEST_CASE("vfs: generated content is deterministic and has the declared size") {
    Vfs v;
    v.add_file("/data/f.bin", 100);
    const std::string all = v.read("/data/f.bin");
    CHECK(all.size() == 100);
    CHECK(all.rfind("/data/f.bin line 1\n/data/f.bin line 2\n", 0) == 0);
    CHECK(v.read("/data/f.bin", 40) == all.substr(40));
    CHECK(v.read("/data/f.bin", 200).empty());
    CHECK(v.find("/data")->is_dir);  // parents appear
}

TEST_CASE("vfs: mkdir, rmdir, remove, rename, write, quota, unique names") {
    Vfs v;
    CHECK(v.mkdir("/d") == VfsStatus::Ok);
    CHECK(v.mkdir("/d") == VfsStatus::Exists);
    CHECK(v.mkdir("/x/y") == VfsStatus::NoParent);
    CHECK(v.write("/d/f", "abc", WriteMode::Replace) == VfsStatus::Ok);
    CHECK(v.rmdir("/d") == VfsStatus::NotEmpty);
    CHECK(v.remove("/d") == VfsStatus::IsDir);
    CHECK(v.rename("/d", "/e") == VfsStatus::Ok);
    CHECK(v.read("/e/f") == "abc");
    CHECK_FALSE(v.find("/d/f"));
    CHECK(v.write("/e/f", "de", WriteMode::Append) == VfsStatus::Ok);
    CHECK(v.read("/e/f") == "abcde");
    CHECK(v.write("/e/f", "Z", WriteMode::At, 7) == VfsStatus::Ok);
    CHECK(v.read("/e/f") == std::string("abcde\0\0Z", 8));
    v.set_quota(10);
    CHECK(v.write("/e/g", "123", WriteMode::Replace) == VfsStatus::QuotaExceeded);
    CHECK(v.write("/e/g", "12", WriteMode::Replace) == VfsStatus::Ok);
    CHECK(v.used() == 10);
    CHECK(v.unique_name("/e/f") == "/e/f.1");
    CHECK(v.unique_name("/e/new") == "/e/new");
    CHECK(v.remove("/e/f") == VfsStatus::Ok);
    CHECK(v.rmdir("/") == VfsStatus::NotFound);
}

TEST_CASE("vfs: listings in ls, NLST and MLSD form") {
    Vfs v;
    v.add_file("/a.txt", 5, Vfs::kDefaultMtime);
    v.add_file("/old.tar", 123456789, Vfs::kDefaultMtime - 400LL * 86400);
    v.add_dir("/sub");
    ListingStyle vs;  // vsftpd
    CHECK(render_listing(v, "/", ListingKind::Long, vs) ==
          "-rw-r--r--    1 0        0               5 Jan 01 00:00 a.txt\r\n"
          "-rw-r--r--    1 0        0        123456789 Nov 27  2022 old.tar\r\n"
          "drwxr-xr-x    2 0        0            4096 Jan 01 00:00 sub\r\n");
    ListingStyle py = pyftpdlib_profile().listing;
    CHECK(ls_line("a.txt", *v.find("/a.txt"), py) ==
          "-rw-r--r--   1 owner    group           5 Jan 01 00:00 a.txt\r\n");
    CHECK(render_listing(v, "/", ListingKind::NamesOnly, vs) == "a.txt\r\nold.tar\r\nsub\r\n");
    CHECK(render_listing(v, "/a.txt", ListingKind::Mlsd, vs) ==
          "type=file;size=5;modify=20240101000000; a.txt\r\n");
    CHECK(render_listing(v, "/missing", ListingKind::Long, vs).empty());
    CHECK(mdtm_time(0) == "19700101000000");
    CHECK(mdtm_time(951782400) == "20000229000000");  // a leap day
}

TEST_CASE("reply templates: sequential and numbered placeholders") {
    CHECK(fill_reply("150 Opening {0} mode for {1} ({2} bytes).", {"BINARY", "f", "3"}) ==
          "150 Opening BINARY mode for f (3 bytes).");
    CHECK(fill_reply("501 foreign {1}:{2}.", {"PORT", "10.0.0.1", "2000"}) ==
          "501 foreign 10.0.0.1:2000.");
    CHECK(fill_reply("227 ({}) {}", {"a", "b"}) == "227 (a) b");
    CHECK(fill_reply("211-x{y}\r\n211 End", {}) == "211-x{y}\r\n211 End");
    CHECK(verb_info("xpwd").verb == Verb::PWD);
    CHECK(verb_info("rtrv").verb == Verb::RTRV);
    CHECK(verb_info("BOGUS").verb == Verb::Unknown);
}

}  // namespace ftpsim::proto::test
