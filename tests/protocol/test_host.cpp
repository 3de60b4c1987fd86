// The session host (protocol/host.hpp) with a fake transport: no SimGrid, no sockets. The
// transport records every call; the tests play the network's part by calling the host's
// on_xxx events, and check the id maps, the chunked file path and the order of closes.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "protocol/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/content.hpp"
#include "protocol/host.hpp"
#include "protocol/server.hpp"
#include "test_server_support.hpp"

namespace ftpsim::proto::test {
namespace {

struct FakeTransport final : Transport {
    Time t = 0;
    std::vector<std::string> log;                 // "listen 30000", "connect 7", "close 2" ...
    std::map<ConnHandle, std::string> sent;       // bytes written per connection
    std::map<ConnHandle, std::uint64_t> room;     // send_space per connection (absent: unbounded)
    std::map<ConnHandle, Ends> conn_ends;
    ConnHandle next_conn = 100;
    ListenerHandle next_listener = 500;
    std::uint16_t next_port = 30000;
    Time timer = kNever;
    std::vector<std::string> explained;

    Time now() const override { return t; }
    ListenOutcome listen(const IpAddress&, std::uint16_t lo, std::uint16_t, const SocketPurpose& p) override {
        const std::uint16_t port = lo ? lo : next_port++;
        log.push_back(std::string(p.data ? "listen data " : "listen control ") + std::to_string(port));
        return ListenOutcome{next_listener++, port, {}};
    }
    void stop_listening(ListenerHandle l) override { log.push_back("stop_listening " + std::to_string(l)); }
    ConnHandle connect(const IpAddress&, std::uint16_t, const HostPort& remote, const SocketPurpose&) override {
        const ConnHandle c = next_conn++;
        log.push_back("connect " + std::to_string(c) + " " + remote.to_string());
        return c;
    }
    void send(ConnHandle c, std::string_view bytes) override {
        if (auto r = room.find(c); r != room.end()) {
            REQUIRE(bytes.size() <= r->second);  // the host never writes more than there is room for
            r->second -= bytes.size();
        }
        sent[c] += bytes;
        log.push_back("send " + std::to_string(c) + " " + std::to_string(bytes.size()));
    }
    std::uint64_t send_space(ConnHandle c) const override {
        auto r = room.find(c);
        return r == room.end() ? UINT64_MAX : r->second;
    }
    void close(ConnHandle c) override { log.push_back("close " + std::to_string(c)); }
    void abort(ConnHandle c) override { log.push_back("abort " + std::to_string(c)); }
    Ends ends(ConnHandle c) const override {
        auto it = conn_ends.find(c);
        return it == conn_ends.end() ? Ends{} : it->second;
    }
    void file_data_from_now(ConnHandle c) override { log.push_back("file_data_from_now " + std::to_string(c)); }
    void relabel_as_data(ConnHandle c, ConnHandle control) override {
        log.push_back("relabel " + std::to_string(c) + " for " + std::to_string(control));
    }
    void set_timer(Time at) override { timer = at; }
    void explain(const Explain& e) override {
        explained.push_back(e.text);
        kinds.push_back(e.kind);
    }
    std::vector<ExplainKind> kinds;

    std::size_t count(const std::string& prefix) const {
        std::size_t n = 0;
        for (const auto& l : log) n += l.rfind(prefix, 0) == 0;
        return n;
    }
    std::ptrdiff_t index_of(const std::string& entry) const {
        for (std::size_t i = 0; i < log.size(); ++i)
            if (log[i] == entry) return static_cast<std::ptrdiff_t>(i);
        return -1;
    }
};

const HostPort kServer = hp("203.0.113.10", 21);
const HostPort kClient = hp("198.51.100.7", 40000);
constexpr ConnHandle kControlConn = 1;
constexpr ConnHandle kDataConn = 2;

struct ServerHost {
    FakeTransport t;
    FtpServer server;
    HostedServer sessions{server};
    SessionHost host{t, sessions, [] {
                         HostOptions o;
                         o.open_timeout_is_reset = true;
                         return o;
                     }()};
    ListenerHandle control_listener = -1;

    explicit ServerHost(Vfs vfs)
        : server([] {
              ServerConfig c = config_with(vsftpd_profile());
              c.explicit_data_path = true;
              return c;
          }(),
                 std::move(vfs), scripted_random({})) {
        control_listener = host.listen_control(kServer.addr, 21).id;
        host.on_accept(control_listener, kControlConn, kServer, kClient);
    }
    void command(const std::string& line) { host.on_data(kControlConn, line + "\r\n"); }
    std::string control() const {
        auto it = t.sent.find(kControlConn);
        return it == t.sent.end() ? "" : it->second;
    }
    // Logged in, PASV answered: the passive listener's handle.
    ListenerHandle passive() {
        command("USER alice");
        command("PASS secret");
        command("TYPE I");
        command("PASV");
        REQUIRE(control().find("227 Entering Passive Mode") != std::string::npos);
        return 500 + 1;  // the fake's second listener (the first is the control port)
    }
};

}  // namespace

TEST_CASE("host: a server's control connection is mapped at accept and its actions go out on it") {
    ServerHost h(Vfs{});
    CHECK(h.t.log.front() == "listen control 21");
    CHECK(h.control() == "220 (vsFTPd 3.0.3)\r\n");
    CHECK(h.host.is_control(kControlConn));
    CHECK(h.host.control_of(1) == kControlConn);
    h.command("USER alice");
    CHECK(h.control().find("331 Please specify the password.\r\n") != std::string::npos);
    // The session's idle timer reaches the transport.
    CHECK(h.t.timer == h.server.next_expiry());
    CHECK(h.t.timer != kNever);
}

TEST_CASE("host: RETR streams the file in chunks the send buffer has room for; the FIN follows the last byte") {
    Vfs vfs;
    vfs.add_file("/pub/f.bin", 300'000);  // generated content
    const std::string expected = vfs.read("/pub/f.bin");
    ServerHost h(std::move(vfs));
    const ListenerHandle l = h.passive();
    h.t.room[kDataConn] = 65'536;
    h.command("RETR /pub/f.bin");
    h.host.on_accept(l, kDataConn, hp("203.0.113.10", 30000), hp("198.51.100.7", 40001));
    CHECK(h.control().find("150 Opening BINARY mode data connection for /pub/f.bin (300000 bytes).") !=
          std::string::npos);
    CHECK(h.t.sent[kDataConn].size() == 65'536);   // one buffer's worth, then it waits
    CHECK(h.t.index_of("close 2") == -1);          // the close waits for the file
    int rounds = 1;
    while (h.t.sent[kDataConn].size() < expected.size()) {
        h.t.room[kDataConn] = 65'536;  // the peer acknowledged a buffer's worth
        h.host.on_writable(kDataConn);
        REQUIRE(++rounds < 10);
    }
    CHECK(rounds == 5);  // 300000 bytes in 64 KiB chunks
    CHECK(h.t.sent[kDataConn] == expected);  // the generated content, byte for byte
    const auto closed = h.t.index_of("close 2");
    REQUIRE(closed >= 0);
    CHECK(h.t.log[static_cast<std::size_t>(closed) - 1] == "send 2 37856");  // right after the last chunk
    CHECK(h.control().find("226") == std::string::npos);  // 226 waits for the ACK of the FIN
    h.host.on_drained(kDataConn);
    CHECK(h.control().find("226 Transfer complete.\r\n") != std::string::npos);
}

TEST_CASE("host: without a bound the file goes out in one write (the simulator's unlimited window)") {
    Vfs vfs;
    vfs.add_file("/f", 5000);
    ServerHost h(std::move(vfs));
    const ListenerHandle l = h.passive();
    h.command("RETR /f");
    h.host.on_accept(l, kDataConn, hp("203.0.113.10", 30000), hp("198.51.100.7", 40001));
    CHECK(h.t.count("send 2 ") == 1);
    CHECK(h.t.sent[kDataConn].size() == 5000);
    CHECK(h.t.index_of("close 2") == h.t.index_of("send 2 5000") + 1);
}

TEST_CASE("host: STOR goes into the Vfs's upload sink; the session sees counts, a big upload is not kept") {
    ServerHost h(Vfs{});
    const ListenerHandle l = h.passive();
    h.command("STOR /up.bin");
    h.host.on_accept(l, kDataConn, hp("203.0.113.10", 30000), hp("198.51.100.7", 40001));
    // 1 MiB of what a simulated client uploads, in segments.
    const auto pattern = upload_pattern_source(1 << 20);
    for (std::uint64_t off = 0; off < pattern->size(); off += 1460)
        h.host.on_data(kDataConn, pattern->read(off, 1460));
    h.host.on_peer_closed(kDataConn);
    CHECK(h.control().find("226 Transfer complete.\r\n") != std::string::npos);
    CHECK(h.t.index_of("close 2") >= 0);  // the server closes its end after the client's FIN
    const VfsEntry* e = h.server.vfs().find("/up.bin");
    REQUIRE(e);
    CHECK(e->size == (1u << 20));
    // The stored file is the pattern, produced on demand (not 1 MiB kept in the sink).
    CHECK(h.server.vfs().open_read("/up.bin")->read((1 << 20) - 3, 10) == pattern->read((1 << 20) - 3, 10));
}

TEST_CASE("host: a reset data connection drops what waits to be written and the session answers 426") {
    Vfs vfs;
    vfs.add_file("/f", 200'000);
    ServerHost h(std::move(vfs));
    const ListenerHandle l = h.passive();
    h.t.room[kDataConn] = 10'000;
    h.command("RETR /f");
    h.host.on_accept(l, kDataConn, hp("203.0.113.10", 30000), hp("198.51.100.7", 40001));
    h.host.on_reset(kDataConn);
    h.t.room[kDataConn] = 1'000'000;
    h.host.on_writable(kDataConn);  // nothing left to feed
    CHECK(h.t.sent[kDataConn].size() == 10'000);
    CHECK(h.control().find("426") != std::string::npos);
}

TEST_CASE("host: a client's data connection, download counted into a sink, upload streamed from its source") {
    FakeTransport t;
    ClientConfig cfg;
    cfg.profile = curl_profile();
    cfg.mode = DataMode::Pasv;
    cfg.explicit_data_path = true;
    cfg.script = {login("anonymous", "x"), get("/f"), put("/up", 100'000), quit()};
    ClientSession session(cfg);
    HostedClient sessions(session);
    SessionHost host(t, sessions);
    const ConnHandle control = host.connect_control(HostedClient::kControl, kClient.addr, 0, kServer);
    t.conn_ends[control] = {kClient, kServer, true};
    host.on_connected(control);
    auto reply = [&](const std::string& line) { host.on_data(control, line + "\r\n"); };
    reply("220 hi");
    reply("331 pw");
    reply("230 in");
    // curl: PWD, then PASV, TYPE I, SIZE, RETR ... answer whatever it asks until it connects.
    auto last_command = [&] {
        const std::string& s = t.sent[control];
        const auto end = s.rfind("\r\n");
        const auto start = s.rfind("\r\n", end - 1);
        return s.substr(start == std::string::npos ? 0 : start + 2, end - (start == std::string::npos ? 0 : start + 2));
    };
    int port = 30000;
    auto answer = [&] {  // what a server would say to the last command
        const std::string cmd = last_command();
        if (cmd.rfind("PWD", 0) == 0) reply("257 \"/\"");
        else if (cmd.rfind("PASV", 0) == 0)
            reply("227 Entering Passive Mode (203,0,113,10," + std::to_string(port / 256) + "," +
                  std::to_string(port % 256) + ")");
        else if (cmd.rfind("SIZE", 0) == 0) reply("213 3000");
        else reply("200 ok");
    };
    auto answer_until = [&](const std::string& verb) {
        for (int i = 0; i < 10 && last_command().rfind(verb, 0) != 0; ++i) answer();
        return last_command();
    };
    answer_until("PASV");
    answer();
    REQUIRE(t.count("connect ") == 2);
    const ConnHandle data = 101;
    t.conn_ends[data] = {hp("198.51.100.7", 40002), hp("203.0.113.10", 30000), true};
    host.on_connected(data);
    CHECK(answer_until("RETR") == "RETR /f");
    reply("150 here it comes");
    host.on_data(data, std::string(1000, 'x'));
    host.on_data(data, std::string(2000, 'y'));
    host.on_peer_closed(data);
    reply("226 done");
    REQUIRE(session.results().size() >= 2);
    CHECK(session.results()[1].ok);
    CHECK(session.results()[1].bytes_received == 3000);
    CHECK(session.results()[1].received.empty());  // a get's bytes are not kept in the session

    // The upload: a new data connection, then STOR; the file goes out after the 150.
    port = 30001;
    answer_until("PASV");
    answer();
    REQUIRE(t.count("connect ") == 3);
    const ConnHandle up = 102;
    t.conn_ends[up] = {hp("198.51.100.7", 40003), hp("203.0.113.10", 30001), true};
    t.room[up] = 30'000;
    host.on_connected(up);
    CHECK(answer_until("STOR") == "STOR /up");
    CHECK(t.sent[up].empty());
    reply("150 send it");
    CHECK(t.sent[up].size() == 30'000);
    CHECK(t.index_of("close 102") == -1);
    while (t.sent[up].size() < 100'000) {
        t.room[up] = 30'000;
        host.on_writable(up);
    }
    CHECK(t.sent[up] == upload_pattern_source(100'000)->read(0, 100'000));
    CHECK(t.index_of("close 102") == t.index_of("send 102 10000") + 1);
    reply("226 stored");
    CHECK(session.results()[2].ok);
    CHECK(session.results()[2].bytes_sent == 100'000);
}

TEST_CASE("host: SPSV, a second control connection becomes the first session's data connection") {
    FakeTransport t;
    ServerConfig c = config_with(rfc959_profile());
    c.explicit_data_path = true;
    Vfs vfs;
    vfs.put_file("/example.file", "Contents of example.file");
    FtpServer server(c, std::move(vfs), scripted_random({}));
    HostedServer sessions(server);
    SessionHost host(t, sessions);
    const ListenerHandle l = host.listen_control(kServer.addr, 21).id;
    host.on_accept(l, kControlConn, kServer, kClient);
    for (const char* line : {"USER u001\r\n", "PASS xyz\r\n", "TYPE I\r\n", "SPSV\r\n"}) host.on_data(kControlConn, line);
    const std::string& control = t.sent[kControlConn];
    const auto at = control.find("227 ");
    REQUIRE(at != std::string::npos);
    const std::string reply = control.substr(at + 4, control.find("\r\n", at) - at - 4);
    const auto id = parse_spsv_227_text(reply);
    REQUIRE(id);
    // The client's second connection to the control port, and its SPDT.
    const ConnHandle second = 3;
    host.on_accept(l, second, kServer, hp("198.51.100.7", 40009));
    CHECK(t.sent[second].starts_with("220"));
    host.on_data(second, "SPDT " + std::string(*id) + "\r\n");
    CHECK(t.sent[second].ends_with("200 DATA\r\n"));
    CHECK_FALSE(host.is_control(second));
    CHECK(t.index_of("file_data_from_now 3") >= 0);
    CHECK(t.index_of("relabel 3 for 1") >= 0);
    // The second connection's session is done as a session once its connection is the owner's
    // data connection: only the owner's session is held (it was kept until the run's end).
    CHECK(server.sessions_held() == 1);
    // The first session's RETR goes out on it, after the handshake text.
    host.on_data(kControlConn, "RETR /example.file\r\n");
    CHECK(t.sent[second].ends_with("200 DATA\r\nContents of example.file"));
    CHECK(t.index_of("close 3") > t.index_of("send 3 24"));
    host.on_drained(second);
    CHECK(control.find("226") != std::string::npos);
    CHECK(server.sessions_held() == 1);
}

TEST_CASE("host: a long-running server forgets every finished connection and session (issue #17)") {
    FakeTransport t;
    ServerConfig c = config_with(vsftpd_profile());
    c.explicit_data_path = true;
    Vfs vfs;
    vfs.add_file("/f", 5000);
    FtpServer server(c, std::move(vfs), scripted_random({}));
    HostedServer sessions(server);
    SessionHost host(t, sessions);
    const ListenerHandle l = host.listen_control(kServer.addr, 21).id;
    CHECK(host.tracked() == 0);  // the control port is not a connection's entry
    ConnHandle next = 1;
    auto passive = [&](ConnHandle control) {
        host.on_data(control, "PASV\r\n");
        INFO(t.sent[control]);
        REQUIRE(t.sent[control].ends_with(").\r\n"));
        return t.next_listener - 1;
    };
    for (int i = 0; i < 200; ++i) {
        CAPTURE(i);
        const ConnHandle control = next++;
        const HostPort client = hp("198.51.100.7", static_cast<std::uint16_t>(10000 + i));
        host.on_accept(l, control, kServer, client);
        for (const char* line : {"USER alice\r\n", "PASS secret\r\n", "TYPE I\r\n"}) host.on_data(control, line);
        // A download: the server closes first, its FIN is acknowledged, then the client's FIN.
        ListenerHandle pl = passive(control);
        host.on_data(control, "RETR /f\r\n");
        const ConnHandle down = next++;
        host.on_accept(pl, down, hp("203.0.113.10", 30000), hp("198.51.100.7", 20000));
        REQUIRE(t.index_of("close " + std::to_string(down)) >= 0);
        CHECK(host.tracked() > 0);  // open: remembered
        host.on_drained(down);
        host.on_peer_closed(down);
        // An upload: the client's FIN first, then the server's close is acknowledged.
        pl = passive(control);
        host.on_data(control, "STOR /up" + std::to_string(i) + "\r\n");
        const ConnHandle up = next++;
        host.on_accept(pl, up, hp("203.0.113.10", 30001), hp("198.51.100.7", 20001));
        host.on_data(up, std::string(3000, 'u'));
        host.on_peer_closed(up);
        REQUIRE(t.index_of("close " + std::to_string(up)) >= 0);
        host.on_drained(up);
        if (i % 3 == 0) {
            // A passive listener left behind, then the client resets the control connection.
            passive(control);
            host.on_reset(control);
        } else if (i % 3 == 1) {
            // A transfer cut by a reset of its data connection, then QUIT.
            pl = passive(control);
            host.on_data(control, "RETR /f\r\n");
            const ConnHandle cut = next++;
            t.room[cut] = 100;
            host.on_accept(pl, cut, hp("203.0.113.10", 30002), hp("198.51.100.7", 20002));
            host.on_reset(cut);
            host.on_data(control, "QUIT\r\n");
            host.on_peer_closed(control);
        } else {
            // QUIT: the server says 221 and closes; the client's FIN follows.
            host.on_data(control, "QUIT\r\n");
            REQUIRE(t.sent[control].ends_with("221 Goodbye.\r\n"));
            host.on_peer_closed(control);
        }
        CHECK(host.tracked() == 0);
        // The server frees the closed session once its last timer (the idle timeout it armed
        // before the end) has run: nothing of it stays but a protocol error, if it had one.
        if (t.timer != kNever) {
            t.t = t.timer;
            host.on_timer();
        }
        CHECK(server.sessions_held() == 0);
        CHECK(server.user_sessions() == 0);
    }
    CHECK(server.protocol_errors().empty());
    CHECK(server.vfs().find("/up199"));
    // Still open: a session's entries stay until its connection ends.
    host.on_accept(l, next, kServer, kClient);
    CHECK(host.tracked() > 0);
    host.on_released(next);  // the transport let go of it (live mode after its FIN)
    CHECK(host.tracked() == 0);
}

TEST_CASE("host: a client forgets its data connections and its control connection once they end") {
    FakeTransport t;
    ClientConfig cfg;
    cfg.profile = curl_profile();
    cfg.mode = DataMode::Pasv;
    cfg.explicit_data_path = true;
    cfg.script = {login("anonymous", "x"), get("/f"), quit()};
    ClientSession session(cfg);
    HostedClient sessions(session);
    SessionHost host(t, sessions);
    const ConnHandle control = host.connect_control(HostedClient::kControl, kClient.addr, 0, kServer);
    t.conn_ends[control] = {kClient, kServer, true};
    host.on_connected(control);
    auto reply = [&](const std::string& line) { host.on_data(control, line + "\r\n"); };
    auto last_command = [&] {
        const std::string& s = t.sent[control];
        const auto end = s.rfind("\r\n");
        const auto start = s.rfind("\r\n", end - 1);
        return s.substr(start == std::string::npos ? 0 : start + 2, end - (start == std::string::npos ? 0 : start + 2));
    };
    reply("220 hi");
    reply("331 pw");
    reply("230 in");
    for (int i = 0; i < 10 && t.count("connect ") < 2; ++i) {
        const std::string cmd = last_command();
        if (cmd.rfind("PWD", 0) == 0) reply("257 \"/\"");
        else if (cmd.rfind("PASV", 0) == 0) reply("227 Entering Passive Mode (203,0,113,10,117,48)");
        else reply("200 ok");
    }
    REQUIRE(t.count("connect ") == 2);
    const ConnHandle data = 101;
    t.conn_ends[data] = {hp("198.51.100.7", 40002), hp("203.0.113.10", 30000), true};
    host.on_connected(data);
    for (int i = 0; i < 10 && last_command().rfind("RETR", 0) != 0; ++i)
        reply(last_command().rfind("SIZE", 0) == 0 ? "213 10" : "200 ok");
    reply("150 here");
    host.on_data(data, std::string(10, 'x'));
    host.on_peer_closed(data);
    REQUIRE(t.index_of("close 101") >= 0);
    host.on_drained(data);
    reply("226 done");
    REQUIRE(last_command() == "QUIT");
    reply("221 bye");
    host.on_peer_closed(control);
    REQUIRE(t.index_of("close " + std::to_string(control)) >= 0);
    CHECK(host.tracked() == 0);
}

TEST_CASE("host: bytes before STOR are kept up to 64 KiB and go into the upload; beyond, the connection is reset") {
    constexpr std::size_t kMax = ServerSession::kMaxEarlyDataBytes;
    static_assert(kMax == 64 * 1024);
    SUBCASE("at the bound: kept, and stored with what follows the STOR") {
        ServerHost h(Vfs{});
        const ListenerHandle l = h.passive();
        h.host.on_accept(l, kDataConn, hp("203.0.113.10", 30000), hp("198.51.100.7", 40001));
        h.host.on_data(kDataConn, std::string(kMax - 1000, 'a'));
        h.host.on_data(kDataConn, std::string(1000, 'b'));
        h.command("STOR /early.bin");
        h.host.on_data(kDataConn, "tail");
        h.host.on_peer_closed(kDataConn);
        CHECK(h.t.index_of("abort 2") == -1);
        CHECK(h.control().find("226 Transfer complete.\r\n") != std::string::npos);
        const VfsEntry* e = h.server.vfs().find("/early.bin");
        REQUIRE(e);
        CHECK(e->size == kMax + 4);  // the simulated Vfs counts an upload's bytes, it does not keep them
    }
    SUBCASE("one byte more: reset with a typed reason; the STOR that follows has no data connection") {
        ServerHost h(Vfs{});
        const ListenerHandle l = h.passive();
        h.host.on_accept(l, kDataConn, hp("203.0.113.10", 30000), hp("198.51.100.7", 40001));
        h.host.on_data(kDataConn, std::string(kMax, 'a'));
        CHECK(h.t.index_of("abort 2") == -1);
        h.host.on_data(kDataConn, "!");
        CHECK(h.t.index_of("abort 2") >= 0);
        REQUIRE_FALSE(h.t.kinds.empty());
        CHECK(h.t.kinds.back() == ExplainKind::EarlyDataLimit);
        CHECK(h.t.explained.back().find("65536 bytes") != std::string::npos);
        CHECK(h.host.tracked() == 3);  // the control connection's entries only: the data one is gone
        h.command("STOR /early.bin");
        CHECK(h.control().ends_with("425 Use PORT or PASV first.\r\n"));
        CHECK_FALSE(h.server.vfs().find("/early.bin"));
    }
}

// ---- content sources --------------------------------------------------------------------------

TEST_CASE("content: a generated file reads the same from any offset as produced whole, across line-number widths") {
    const std::string path = "/pub/f";
    const std::uint64_t size = 20'000;  // lines 1 .. about 1200: one to four digits
    const auto src = generated_source(path, size);
    std::string whole;
    for (int line = 1; whole.size() < size; ++line) whole += path + " line " + std::to_string(line) + "\n";
    whole.resize(size);
    CHECK(src->read(0, size) == whole);
    for (std::uint64_t off : {0ull, 1ull, 13ull, 14ull, 140ull, 141ull, 1700ull, 19'990ull})
        for (std::size_t n : {1u, 7u, 100u, 5000u})
            CHECK(src->read(off, n) == whole.substr(off, n));
    CHECK(src->read(size, 10).empty());
    CHECK(src->read(size - 3, 10).size() == 3);
}

TEST_CASE("content: a 1e15-byte generated file is read at its end without producing what precedes") {
    const auto src = generated_source("/big", 1'000'000'000'000'000ull);
    CHECK(src->size() == 1'000'000'000'000'000ull);
    const std::string tail = src->read(src->size() - 64, 1000);
    CHECK(tail.size() == 64);
    CHECK(tail.find(" line ") != std::string::npos);
    // Consistent with its neighbour: the last 64 bytes are the end of the last 100.
    CHECK(src->read(src->size() - 100, 100).substr(36) == tail);
}

TEST_CASE("content: a splice writes over the base, extends it, and pads a gap with NUL") {
    const auto base = text_source("abcdef");
    CHECK(spliced_source(base, 2, text_source("XY"))->read(0, 100) == "abXYef");
    CHECK(spliced_source(base, 5, text_source("XYZ"))->read(0, 100) == "abcdeXYZ");
    const auto gap = spliced_source(base, 8, text_source("Z"));
    CHECK(gap->size() == 9);
    CHECK(gap->read(0, 100) == std::string("abcdef\0\0Z", 9));
    CHECK(spliced_source(nullptr, 3, text_source("Q"))->read(0, 10) == std::string("\0\0\0Q", 4));
}

TEST_CASE("content: Vfs REST and APPE splice the upload into the file without materialising it") {
    Vfs vfs;
    vfs.add_file("/f", 10);
    const std::string before = vfs.read("/f");
    REQUIRE(vfs.write("/f", "ZZ", WriteMode::At, 4) == VfsStatus::Ok);
    CHECK(vfs.read("/f") == before.substr(0, 4) + "ZZ" + before.substr(6));
    REQUIRE(vfs.write("/f", "++", WriteMode::Append) == VfsStatus::Ok);
    CHECK(vfs.read("/f").substr(10) == "++");
    CHECK(vfs.find("/f")->size == 12);
}

}  // namespace ftpsim::proto::test
