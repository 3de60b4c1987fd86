// live/transport: the poll-loop transport (connections by id on loopback): accept and connect,
// bytes both ways, a file streamed from disk, our FIN then "drained", the peer's FIN, a reset,
// a refused connect, paused reading, settle() before the loop runs, a costly source filled once
// per loop round.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "live/transport.hpp"

using namespace ftpsim;
using namespace ftpsim::live;

namespace {

const IpAddress kLoopback = IpAddress::v4(127, 0, 0, 1);

// Records every callback, in order.
struct Log : TransportHandler {
    std::vector<std::string> events;
    std::map<ConnId, std::string> data;
    ConnId accepted = 0, connected = 0, failed = 0, reset = 0, drained = 0, peer_closed = 0;
    ConnectStatus failure = ConnectStatus::Ok;
    std::uint64_t sent = 0;
    void on_accept(ListenerId, ConnId c, const HostPort&, const HostPort&) override {
        accepted = c;
        events.push_back("accept");
    }
    void on_connected(ConnId c) override {
        connected = c;
        events.push_back("connected");
    }
    void on_connect_failed(ConnId c, ConnectStatus s, int, std::int64_t) override {
        failed = c;
        failure = s;
        events.push_back("connect-failed");
    }
    void on_data(ConnId c, std::string_view b) override { data[c] += b; }
    void on_peer_closed(ConnId c) override {
        peer_closed = c;
        events.push_back("peer-closed");
    }
    void on_reset(ConnId c, int) override {
        reset = c;
        events.push_back("reset");
    }
    void on_drained(ConnId c) override {
        drained = c;
        events.push_back("drained");
    }
    void on_sent(ConnId, std::size_t n) override { sent += n; }
};

// Runs the loop until `done` or 5 s.
template <class F>
bool run(EventLoop& loop, F done) {
    const std::int64_t until = EventLoop::now_ns() + 5'000'000'000;
    while (!done()) {
        if (EventLoop::now_ns() > until) return false;
        loop.run_once(10'000'000);
    }
    return true;
}

struct Pair {
    EventLoop loop;
    Sockets t{loop};
    Log server, client;
    ListenerId l = 0;
    HostPort local;
    ConnId sc = 0, cc = 0;
    Pair() {
        auto r = t.listen(kLoopback, 0, 0, &server);
        REQUIRE(std::holds_alternative<Sockets::Listening>(r));
        l = std::get<Sockets::Listening>(r).id;
        local = std::get<Sockets::Listening>(r).local;
        auto c = t.connect(local, std::nullopt, 5'000'000'000, &client);
        REQUIRE(std::holds_alternative<ConnId>(c));
        cc = std::get<ConnId>(c);
        REQUIRE(run(loop, [&] { return server.accepted != 0 && client.connected != 0; }));
        sc = server.accepted;
    }
};

}  // namespace

TEST_CASE("transport: bytes both ways, our FIN then drained, the peer's FIN") {
    Pair p;
    CHECK(p.client.connected == p.cc);
    auto ci = p.t.info(p.cc);
    REQUIRE(ci);
    CHECK(ci->remote == p.local);
    CHECK(p.t.info(p.sc)->remote == ci->local);

    p.t.send(p.cc, "hello ");
    p.t.send(p.cc, "server");
    p.t.send(p.sc, "hello client");
    REQUIRE(run(p.loop, [&] { return p.server.data[p.sc] == "hello server" && p.client.data[p.cc] == "hello client"; }));
    CHECK(p.t.info(p.sc)->bytes_received == 12);
    CHECK(p.t.info(p.sc)->bytes_sent == 12);

    // The server closes after its queue: the client sees the FIN, the server "drained".
    p.t.send(p.sc, "bye");
    p.t.close(p.sc);
    REQUIRE(run(p.loop, [&] { return p.server.drained == p.sc && p.client.peer_closed == p.cc; }));
    CHECK(p.client.data[p.cc] == "hello clientbye");
    CHECK(p.t.info(p.sc)->fin_sent);
    // Half-closed: the client may still write, the server still reads.
    p.t.send(p.cc, "!");
    REQUIRE(run(p.loop, [&] { return p.server.data[p.sc] == "hello server!"; }));
    p.t.close_and_release(p.cc);
    REQUIRE(run(p.loop, [&] { return p.server.peer_closed == p.sc; }));
    CHECK_FALSE(p.t.exists(p.cc));
    p.t.release(p.sc);
    CHECK(p.t.connections() == 0);
}

TEST_CASE("transport: a file streams from disk in chunks, byte for byte") {
    Pair p;
    char tmpl[] = "/tmp/ftpsim-transport-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    std::string content;
    for (int i = 0; content.size() < 3 * 1024 * 1024 + 17; ++i) content += "line " + std::to_string(i) + "\n";
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::unlink(tmpl);
    // From offset 5, everything after it.
    p.t.send(p.sc, std::make_unique<FileSource>(Fd(fd), 5, content.size() - 5));
    p.t.close(p.sc);
    REQUIRE(run(p.loop, [&] { return p.client.peer_closed == p.cc && p.server.drained == p.sc; }));
    CHECK(p.client.data[p.cc].size() == content.size() - 5);
    CHECK(p.client.data[p.cc] == content.substr(5));
    CHECK(p.server.sent == content.size() - 5);
}

TEST_CASE("transport: a file that is shorter than announced ends the source, not the loop") {
    Pair p;
    char tmpl[] = "/tmp/ftpsim-transport-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(::write(fd, "short", 5) == 5);
    ::unlink(tmpl);
    p.t.send(p.sc, std::make_unique<FileSource>(Fd(fd), 0, 1000));
    p.t.send(p.sc, "+tail");
    p.t.close(p.sc);
    REQUIRE(run(p.loop, [&] { return p.client.peer_closed == p.cc; }));
    CHECK(p.client.data[p.cc] == "short+tail");
}

TEST_CASE("transport: abort resets the peer, and a refused connect is reported, not thrown") {
    Pair p;
    p.t.send(p.sc, "x");
    REQUIRE(run(p.loop, [&] { return p.client.data[p.cc] == "x"; }));
    p.t.abort(p.sc);
    CHECK_FALSE(p.t.exists(p.sc));
    REQUIRE(run(p.loop, [&] { return p.client.reset == p.cc; }));
    CHECK_FALSE(p.t.exists(p.cc));

    // A port nobody listens on: the listener's, once it is closed.
    const HostPort gone = p.local;
    p.t.stop_listening(p.l);
    auto c = p.t.connect(gone, std::nullopt, 5'000'000'000, &p.client);
    REQUIRE(std::holds_alternative<ConnId>(c));
    REQUIRE(run(p.loop, [&] { return p.client.failed == std::get<ConnId>(c); }));
    CHECK(p.client.failure == ConnectStatus::Refused);
    CHECK_FALSE(p.t.exists(std::get<ConnId>(c)));
}

TEST_CASE("transport: paused reading delivers nothing until resumed") {
    Pair p;
    p.t.pause_reading(p.sc, true);
    p.t.send(p.cc, "held");
    const std::int64_t until = EventLoop::now_ns() + 100'000'000;
    while (EventLoop::now_ns() < until) p.loop.run_once(10'000'000);
    CHECK(p.server.data[p.sc].empty());
    p.t.pause_reading(p.sc, false);
    REQUIRE(run(p.loop, [&] { return p.server.data[p.sc] == "held"; }));
}

TEST_CASE("transport: settle() accepts what the kernel already completed, before the loop runs") {
    EventLoop loop;
    Sockets t(loop);
    Log server, client;
    auto r = t.listen(kLoopback, 0, 0, &server);
    REQUIRE(std::holds_alternative<Sockets::Listening>(r));
    // A blocking connect from outside the transport: complete in the kernel when it returns.
    auto c = connect_tcp(std::get<Sockets::Listening>(r).local);
    REQUIRE(std::holds_alternative<Connecting>(c));
    const std::int64_t until = EventLoop::now_ns() + 2'000'000'000;
    while (server.accepted == 0 && EventLoop::now_ns() < until) t.settle();
    CHECK(server.accepted != 0);
    CHECK(server.events == std::vector<std::string>{"accept"});
}

namespace {
// A source that counts its fills and produces 10 chunks.
struct Counting : ByteSource {
    int* fills;
    explicit Counting(int* f) : fills(f) {}
    bool fill(std::string& out, std::size_t) override {
        ++*fills;
        out += std::string(100, 'a' + static_cast<char>(*fills % 26));
        return *fills < 10;
    }
    bool costly() const override { return true; }
};
}  // namespace

TEST_CASE("transport: a costly source is filled once per loop round") {
    Pair p;
    int fills = 0;
    p.t.send(p.sc, std::make_unique<Counting>(&fills));
    p.t.close(p.sc);
    int rounds = 0;
    while (fills < 10 && rounds < 1000) {
        const int before = fills;
        p.loop.run_once(10'000'000);
        CHECK(fills - before <= 1);
        ++rounds;
    }
    REQUIRE(run(p.loop, [&] { return p.client.peer_closed == p.cc; }));
    CHECK(p.client.data[p.cc].size() == 1000);
}
