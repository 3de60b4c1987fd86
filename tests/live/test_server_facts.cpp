// ftpsim serve decides from the facts its sessions report with each reply (proto::ReplyFacts:
// which reply, its code, the command it answers, the transfer it ends), never from the text it
// sends or the lines it receives: reworded replies, replies whose text names other codes and
// commands, and lines that are no command (an empty line gets no reply) change no decision. And
// an SPSV data connection's session (draft-rosenau's hand-over) is freed, so SPSV transfers do
// not grow the session table.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "live/client.hpp"
#include "live/server.hpp"
#include "protocol/server.hpp"
#include "trace/json.hpp"
#include "tests/support/files.hpp"

using namespace ftpsim;
using namespace ftpsim::live;
namespace fs = std::filesystem;

namespace {

using ftpsim::testing::slurp;

// A server on 127.0.0.1 (any port) in its own thread; the trace is written when it stops.
struct Served {
    fs::path base, root;
    std::ostringstream log;
    std::unique_ptr<LiveServer> server;
    std::thread thread;
    std::uint16_t port = 0;
    bool stopped = false;
    explicit Served(ServeOptions o) {
        char tmpl[] = "/tmp/ftpsim-facts-XXXXXX";
        base = ::mkdtemp(tmpl);
        root = base / "root";
        fs::create_directories(root);
        std::ofstream(root / "f.txt", std::ios::binary) << std::string(1000, 'x');
        o.listen = HostPort{IpAddress::v4(127, 0, 0, 1), 0};
        o.root = root.string();
        o.trace_file = (base / "trace.json").string();
        server = std::make_unique<LiveServer>(o, log);
        const auto err = server->start();
        REQUIRE_MESSAGE(!err, err.value_or(""));
        port = server->local().port;
        thread = std::thread([this] { server->run(); });
    }
    // Stops the server and reads its trace.
    trace::Trace stop() {
        server->stop();
        thread.join();
        stopped = true;
        REQUIRE_FALSE(server->write_trace());
        return trace::from_json(slurp(base / "trace.json"));
    }
    ~Served() {
        if (!stopped) {
            server->stop();
            thread.join();
        }
        fs::remove_all(base);
    }
};

// A blocking control connection with a 5 s receive timeout.
struct Conn {
    int fd = -1;
    std::string rx;
    explicit Conn(std::uint16_t port) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~Conn() {
        if (fd >= 0) ::close(fd);
    }
    void send(const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
    // The next reply (its final line "ddd ..."), or "" when the connection closed first.
    std::string reply() {
        for (;;) {
            std::size_t from = 0;
            for (std::size_t nl; (nl = rx.find('\n', from)) != std::string::npos; from = nl + 1) {
                if (nl - from >= 4 && rx[from + 3] == ' ') {
                    std::string r = rx.substr(0, nl + 1);
                    rx.erase(0, nl + 1);
                    return r;
                }
            }
            char buf[4096];
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) return "";
            rx.append(buf, static_cast<std::size_t>(n));
        }
    }
    // True when the server has closed the connection (EOF within the receive timeout).
    bool closed_by_server() {
        char buf[256];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n == 0) return true;
            if (n < 0) return false;
        }
    }
};

int code(const std::string& reply) { return reply.size() >= 3 ? std::atoi(reply.substr(0, 3).c_str()) : 0; }

// The port a 227 reply announces.
std::uint16_t pasv_port(const std::string& reply) {
    const auto open = reply.find('(');
    int h[6] = {};
    REQUIRE(open != std::string::npos);
    REQUIRE(std::sscanf(reply.c_str() + open + 1, "%d,%d,%d,%d,%d,%d", &h[0], &h[1], &h[2], &h[3], &h[4], &h[5]) == 6);
    return static_cast<std::uint16_t>(h[4] * 256 + h[5]);
}

ServeOptions reworded() {
    ServeOptions o;
    o.profile = "rfc959";
    o.users["bob"] = UserEntry{"secret", true};
    o.login_fail_delay_ns = 0;
    o.max_login_fails = 2;
    // Texts that name other codes and commands: none of it may count.
    o.replies = {
        {"login-incorrect", "530 Nope: RETR 226 and 230 are just words here"},
        {"user-ok", "331 530 Login incorrect (not really): send PASS"},
        {"login-ok", "230 530 RETR failed (not really): you are in"},
        {"transfer-ok", "226 530 Not logged in (not really): RETR done"},
        {"retr-fail", "550 226 Transfer complete (not really): no {} here"},
        {"retr-mark", "150 226 RETR complete (not really): sending {1}"},
    };
    return o;
}

}  // namespace

TEST_CASE("serve facts: a reworded 530 to PASS is a failed login, after an empty line too; a 331 or 230 naming 530 is not") {
    ServeOptions o = reworded();
    Served s(o);
    {
        Conn c(s.port);
        CHECK(code(c.reply()) == 220);
        c.send("USER bob\r\n");
        const std::string user_ok = c.reply();
        CHECK(user_ok == "331 530 Login incorrect (not really): send PASS\r\n");
        // An empty line is no command (no reply): the 530 after it still answers PASS.
        c.send("\r\nPASS wrong\r\n");
        CHECK(c.reply() == "530 Nope: RETR 226 and 230 are just words here\r\n");
        c.send("USER bob\r\n");
        CHECK(code(c.reply()) == 331);
        c.send("\r\n\r\nPASS wrong-again\r\n");
        CHECK(code(c.reply()) == 530);
        // The second failed login of --max-login-fails 2: the connection is closed after it.
        CHECK(c.closed_by_server());
    }
    {
        Conn c(s.port);
        CHECK(code(c.reply()) == 220);
        c.send("USER bob\r\n");
        CHECK(code(c.reply()) == 331);
        c.send("PASS secret\r\n");
        CHECK(c.reply() == "230 530 RETR failed (not really): you are in\r\n");
        c.send("NOOP\r\n");
        CHECK(code(c.reply()) == 200);  // logged in and still served
        c.send("QUIT\r\n");
        CHECK(code(c.reply()) == 221);
    }
    const trace::Trace t = s.stop();
    int failed = 0;
    for (const auto& e : t.events)
        if (e.fact == trace::Fact::ServeLoginFailed) ++failed;
    CHECK(failed == 2);
}

TEST_CASE("serve facts: the trace's transfers are the session's, whatever the replies say and with empty lines between") {
    ServeOptions o = reworded();
    Served s(o);
    {
        Conn c(s.port);
        CHECK(code(c.reply()) == 220);
        c.send("USER anonymous\r\n");
        CHECK(code(c.reply()) == 331);
        c.send("PASS x@y\r\n");
        CHECK(code(c.reply()) == 230);
        c.send("TYPE I\r\n");
        CHECK(code(c.reply()) == 200);
        // A refused RETR whose 550 text names 226.
        c.send("\r\nRETR missing.txt\r\n");
        CHECK(c.reply() == "550 226 Transfer complete (not really): no missing.txt here\r\n");
        c.send("PASV\r\n");
        const std::string pasv = c.reply();
        REQUIRE(code(pasv) == 227);
        const int data = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(pasv_port(pasv));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(data, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        c.send("\r\nRETR f.txt\r\n");
        CHECK(c.reply() == "150 226 RETR complete (not really): sending f.txt\r\n");
        std::string got;
        char buf[4096];
        for (ssize_t n; (n = ::read(data, buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
        ::close(data);
        CHECK(got.size() == 1000);
        CHECK(c.reply() == "226 530 Not logged in (not really): RETR done\r\n");
        c.send("QUIT\r\n");
        CHECK(code(c.reply()) == 221);
    }
    const trace::Trace t = s.stop();
    REQUIRE(t.outcome.transfers.size() == 2);
    CHECK(t.outcome.transfers[0].command == "RETR");
    CHECK(t.outcome.transfers[0].path == "missing.txt");
    CHECK(t.outcome.transfers[0].reply == 550);
    CHECK_FALSE(t.outcome.transfers[0].ok);
    CHECK(t.outcome.transfers[0].bytes == 0);
    CHECK(t.outcome.transfers[1].command == "RETR");
    CHECK(t.outcome.transfers[1].path == "f.txt");
    CHECK(t.outcome.transfers[1].reply == 226);
    CHECK(t.outcome.transfers[1].ok);
    CHECK(t.outcome.transfers[1].bytes == 1000);
}

TEST_CASE("serve facts: a reply override must keep its code") {
    ServeOptions o;
    o.profile = "rfc959";
    o.root = "/";
    o.listen = HostPort{IpAddress::v4(127, 0, 0, 1), 0};
    o.replies = {{"login-incorrect", "230 Welcome"}};
    std::ostringstream log;
    LiveServer server(o, log);
    const auto err = server.start();
    REQUIRE(err);
    CHECK(err->find("login-incorrect") != std::string::npos);
}

TEST_CASE("serve facts: SPSV transfers do not grow the session table (each hand-over's session is freed)") {
    ServeOptions o;
    o.profile = "rfc959";  // SPSV
    o.login_fail_delay_ns = 0;
    Served s(o);
    auto settled = [&](auto read) {
        std::size_t n = read();
        for (int i = 0; i < 100 && n > 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            n = read();
        }
        return n;
    };
    for (int i = 0; i < 40; ++i) {
        ClientArgs a;
        a.op = ClientOp::Get;
        a.url = "ftp://127.0.0.1:" + std::to_string(s.port) + "/f.txt";
        a.local = (s.base / "got.txt").string();
        a.mode = "spsv";
        a.profile = "classic";
        a.timeout_s = 10;
        auto r = check_client_args(a);
        REQUIRE(std::holds_alternative<ClientRequest>(r));
        const ClientOutcome out = run_client(std::get<ClientRequest>(r));
        REQUIRE(out.exit_code == 0);
        REQUIRE(out.bytes == 1000);
    }
    // Every session is gone once its connections are: the control connections' and the SPSV
    // data connections' (40 of them before the fix stayed DataChannel for good).
    CHECK(settled([&] { return s.server->sessions_held(); }) == 0);
    CHECK(settled([&] { return s.server->tracked_entries(); }) == 0);
}

TEST_CASE("serve facts: the session names the command each reply answers (a PASV that waits for its listen, ABOR, a line that is no command)") {
    using namespace ftpsim::proto;
    ServerConfig cfg;
    cfg.profile = rfc959_profile();
    cfg.await_listen = true;
    Vfs vfs;
    vfs.add_file("/f", 100000);
    FtpServer server(cfg, vfs, [] { return std::uint64_t{42}; });
    const HostPort local{IpAddress::v4(10, 0, 0, 2), 21}, remote{IpAddress::v4(10, 0, 0, 1), 5000};
    const SessionId sid = server.accept(0, local, remote);
    std::optional<DataId> listen;
    auto replies = [&] {
        std::vector<ReplyFacts> out;
        while (auto a = server.poll_action()) {
            const auto* act = std::get_if<Action>(&a->what);
            if (!act) continue;
            if (const auto* l = std::get_if<Listen>(act)) listen = l->id;
            if (const auto* s = std::get_if<SendControl>(act)) {
                REQUIRE(s->reply);
                out.push_back(*s->reply);
            }
        }
        return out;
    };
    auto r = replies();
    REQUIRE(r.size() == 1);
    CHECK(r[0].reply == Reply::Greeting);
    CHECK(r[0].code == 220);
    CHECK_FALSE(r[0].command);

    server.receive_control(1, sid, "USER anonymous\r\n\r\nPASS x\r\nFOO\r\n");
    r = replies();
    REQUIRE(r.size() == 3);  // the empty line gets none
    CHECK(r[0].command == Verb::USER);
    CHECK(r[1].command == Verb::PASS);
    CHECK(r[1].reply == Reply::LoginOk);
    CHECK(r[1].code == 230);
    CHECK(r[2].command == Verb::Unknown);
    CHECK(r[2].code == 500);

    server.receive_control(2, sid, "PASV\r\nNOOP\r\n");
    r = replies();
    REQUIRE(r.size() == 1);  // the 227 waits for the listen; NOOP is answered
    CHECK(r[0].command == Verb::NOOP);
    REQUIRE(listen);
    server.receive_data(3, sid, DataListening{*listen, HostPort{local.addr, 40000}});
    r = replies();
    REQUIRE(r.size() == 1);
    CHECK(r[0].reply == Reply::Pasv);
    CHECK(r[0].command == Verb::PASV);
    CHECK_FALSE(r[0].transfer);

    server.receive_control(4, sid, "RETR /f\r\n");
    r = replies();
    REQUIRE(r.size() == 1);
    CHECK(r[0].code == 150);
    CHECK(r[0].command == Verb::RETR);
    CHECK_FALSE(r[0].transfer);  // a mark ends nothing

    server.receive_control(5, sid, "ABOR\r\n");
    r = replies();
    REQUIRE(r.size() == 2);
    CHECK(r[0].code == 426);  // the transfer command's final reply
    CHECK(r[0].command == Verb::RETR);
    REQUIRE(r[0].transfer);
    CHECK(r[0].transfer->argument == "/f");
    CHECK_FALSE(r[0].transfer->ok);
    CHECK(r[1].code == 226);  // ABOR's
    CHECK(r[1].command == Verb::ABOR);
    CHECK_FALSE(r[1].transfer);
}
