// live::Recorder: the events a live recording (serve/get/put/ls) and an import make.
#include <doctest/doctest.h>

#include "live/recorder.hpp"
#include "trace/render.hpp"
#include <unistd.h>
#include <cerrno>
#include "trace/json.hpp"
#include "viz/diagram.hpp"

using namespace ftpsim;
using trace::EventKind;

namespace {

live::Recorder session() {
    live::Recorder r("live", "a session");
    r.add_node("client", "client", "127.0.0.1");
    r.add_node("server", "server", "127.0.0.1");
    return r;
}

}  // namespace

TEST_CASE("recorder: nodes, connection ids in call order, both views of each connection") {
    auto r = session();
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    const int d = r.open_connection(5, "data", "client", "server", {"127.0.0.1", 40002}, {"127.0.0.1", 30001}, c);
    CHECK(c == 0);
    CHECK(d == 1);
    auto t = r.finish();
    CHECK(t.scenario == "live");
    CHECK(t.title == "a session");
    REQUIRE(t.nodes.size() == 2);
    CHECK(t.nodes[0].name == "client");
    CHECK(t.nodes[0].role == "client");
    CHECK(t.nodes[0].kind == "host");
    CHECK(t.nodes[0].addresses == std::vector<std::string>{"127.0.0.1"});
    CHECK(t.nodes[1].role == "server");
    REQUIRE(t.connections.size() == 2);
    const auto& dc = t.connections[1];
    CHECK(dc.id == 1);
    CHECK(dc.purpose == "data");
    CHECK(dc.control_id == 0);
    CHECK(dc.initiator == "client");
    CHECK(dc.responder == "server");
    CHECK(dc.responder_local == trace::Endpoint{"127.0.0.1", 30001});
    CHECK(dc.responder_remote == trace::Endpoint{"127.0.0.1", 40002});
    CHECK(t.connections[0].control_id == -1);
    REQUIRE(t.events.size() == 2);
    CHECK(t.events[0].kind == EventKind::Socket);
    CHECK(t.events[0].from == "client");
    CHECK(t.events[0].conn == 0);
    CHECK(trace::text(t.events[0]) == "connect 127.0.0.1:40000 -> 127.0.0.1:2121");
    CHECK(t.events[1].time_ns == 5);
    CHECK(t.events[1].conn == 1);
}

TEST_CASE("recorder: commands go client -> server, replies back, with each side's ports") {
    auto r = session();
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    r.reply(10, c, "220 ready");
    r.command(20, c, "USER anonymous");
    r.reply(30, c, "211-Features:\n EPSV\n211 End");
    auto t = r.finish();
    REQUIRE(t.events.size() == 4);
    const auto& greet = t.events[1];
    CHECK(greet.kind == EventKind::FtpReply);
    CHECK(greet.from == "server");
    CHECK(greet.to == "client");
    CHECK(greet.src == trace::Endpoint{"127.0.0.1", 2121});
    CHECK(greet.dst == trace::Endpoint{"127.0.0.1", 40000});
    CHECK(greet.text == "220 ready");
    const auto& user = t.events[2];
    CHECK(user.kind == EventKind::FtpCommand);
    CHECK(user.from == "client");
    CHECK(user.to == "server");
    CHECK(user.src.port == 40000);
    CHECK(user.dst.port == 2121);
    CHECK(user.text == "USER anonymous");
    CHECK(t.events[3].text == "211-Features:\n EPSV\n211 End");
    // The ladder: three control arrows with the ports at their ends; a multi-line reply is
    // labelled with its first line.
    auto d = viz::layout(t, {});
    std::vector<std::string> labels;
    for (const auto& it : d.items)
        if (it.kind == viz::ItemKind::Arrow) labels.push_back(it.label);
    CHECK(labels == std::vector<std::string>{"220 ready", "USER anonymous", "211-Features:"});
}

TEST_CASE("recorder: data bytes add up per connection and direction, stamped with the first byte's time") {
    auto r = session();
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    const int d1 = r.open_connection(100, "data", "client", "server", {"127.0.0.1", 40002}, {"127.0.0.1", 30001}, c);
    const int d2 = r.open_connection(200, "data", "server", "client", {"127.0.0.1", 20}, {"127.0.0.1", 40004}, c);
    r.data(110, d1, "server", 1000);
    r.data(120, d1, "server", 500);
    r.data(130, d1, "client", 7);     // the other direction: its own event
    r.data(210, d2, "server", 65536);
    r.data(220, d1, "server", 1);     // later bytes of the first run still add to it
    auto t = r.finish();
    std::vector<const trace::Event*> data;
    for (const auto& e : t.events)
        if (e.kind == EventKind::DataBytes) data.push_back(&e);
    REQUIRE(data.size() == 3);
    CHECK(data[0]->time_ns == 110);
    CHECK(data[0]->conn == d1);
    CHECK(data[0]->from == "server");
    CHECK(data[0]->to == "client");
    CHECK(data[0]->payload_len == 1501);
    CHECK(data[0]->src == trace::Endpoint{"127.0.0.1", 30001});
    CHECK(data[0]->dst == trace::Endpoint{"127.0.0.1", 40002});
    CHECK(data[1]->time_ns == 130);
    CHECK(data[1]->from == "client");
    CHECK(data[1]->payload_len == 7);
    CHECK(data[2]->conn == d2);
    CHECK(data[2]->from == "server");   // the initiator of the active connection
    CHECK(data[2]->to == "client");
    CHECK(data[2]->src.port == 20);
    CHECK(data[2]->payload_len == 65536);
    auto d = viz::layout(t, {});
    bool found = false;
    for (const auto& it : d.items)
        if (it.kind == viz::ItemKind::Arrow && it.label == "DATA 1501 B") {
            found = true;
            CHECK(it.style == viz::Style::Data);
            CHECK(it.from_port == 30001);
            CHECK(it.to_port == 40002);
        }
    CHECK(found);
    CHECK_THROWS(r.data(300, d1, "router", 1));  // not an end of the connection
}

TEST_CASE("recorder: totals beyond 32 bits are spelled out in the label") {
    auto r = session();
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    const int d = r.open_connection(1, "data", "client", "server", {"127.0.0.1", 40002}, {"127.0.0.1", 30001}, c);
    r.data(2, d, "server", 3'000'000'000ull);
    r.data(3, d, "server", 3'000'000'000ull);
    auto t = r.finish();
    CHECK(t.events.back().payload_len == 0xffffffffu);
    CHECK(t.events.back().text == "DATA 6000000000 B");
}

TEST_CASE("recorder: finish() orders by time, keeps call order for equal times, numbers seq") {
    auto r = session();
    const int c = r.open_connection(50, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    r.note(10, "client", "late call, early time");
    r.command(50, c, "A");   // same time as the connect: after it (call order)
    r.reply(50, c, "200 B");
    r.close(40, c, "server");
    r.connect_failed(60, "client", {}, {"127.0.0.1", 1}, trace::SocketError::Refused);
    auto t = r.finish();
    REQUIRE(t.events.size() == 6);
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < t.events.size(); ++i) {
        CHECK(t.events[i].seq == i);
        texts.push_back(trace::text(t.events[i]));
    }
    CHECK(texts == std::vector<std::string>{"late call, early time", "closed 127.0.0.1:2121 -> 127.0.0.1:40000",
                                            "connect 127.0.0.1:40000 -> 127.0.0.1:2121", "A", "200 B",
                                            "connection refused by 127.0.0.1:1"});
    CHECK(t.events[5].fact == trace::Fact::ConnectFailed);
    CHECK(t.events[5].error == trace::SocketError::Refused);
    CHECK(t.events[0].kind == EventKind::Note);
    CHECK(t.events[1].kind == EventKind::Socket);
    CHECK(t.events[1].from == "server");
    // The recorder keeps recording after finish().
    r.close(70, c, "client", true);
    auto t2 = r.finish();
    REQUIRE(t2.events.size() == 7);
    CHECK(trace::text(t2.events.back()) == "abort (RST) 127.0.0.1:40000 -> 127.0.0.1:2121");
    CHECK(t2.events.back().fact == trace::Fact::Aborted);
    CHECK(t.events[1].fact == trace::Fact::Closed);
    CHECK(t.events[2].fact == trace::Fact::Connect);
    CHECK(t.events[2].src == trace::Endpoint{"127.0.0.1", 40000});
}

TEST_CASE("recorder: outcome.ok is true only when there are transfers and all succeeded") {
    auto r = session();
    CHECK_FALSE(r.finish().outcome.ok);
    r.add_transfer({"client", "RETR", "a", true, 226, 10});
    CHECK(r.finish().outcome.ok);
    r.add_transfer({"client", "STOR", "b", false, 553, 0});
    auto t = r.finish();
    CHECK_FALSE(t.outcome.ok);
    REQUIRE(t.outcome.transfers.size() == 2);
    CHECK(t.outcome.transfers[1].reply == 553);
    r.add_model_note("live: command level");
    CHECK(r.finish().model_notes == std::vector<std::string>{"live: command level"});
}

TEST_CASE("recorder: IPv6 endpoints are bracketed in socket texts") {
    live::Recorder r("live", "v6");
    r.add_node("client", "client", "::1");
    r.add_node("server", "server", "::1");
    r.open_connection(0, "control", "client", "server", {"::1", 40000}, {"::1", 21});
    CHECK(trace::text(r.finish().events[0]) == "connect [::1]:40000 -> [::1]:21");
}

TEST_CASE("recorder: segments get the connection's far end and distinct packet ids") {
    auto r = session();
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 21});
    r.segment(1, c, "client", {"127.0.0.1", 40000}, {"127.0.0.1", 21}, "S", 100, 0, 0, "");
    r.segment(2, c, "server", {"127.0.0.1", 21}, {"127.0.0.1", 40000}, "PA", 500, 101, 12, "220 ready\r\n");
    auto t = r.finish();
    REQUIRE(t.events.size() == 3);
    CHECK(t.events[1].kind == EventKind::Segment);
    CHECK(t.events[1].to == "server");
    CHECK(t.events[2].to == "client");
    CHECK(t.events[1].packet != t.events[2].packet);
    CHECK(t.events[2].flags == "PA");
    CHECK(t.events[2].tcp_ack == 101);
    CHECK(t.events[2].payload_len == 12);
    auto d = viz::layout(t, {});
    std::vector<std::string> labels;
    for (const auto& it : d.items)
        if (it.kind == viz::ItemKind::Arrow) labels.push_back(it.label);
    CHECK(labels == std::vector<std::string>{"SYN", "220 ready"});
}

TEST_CASE("recorder: the trace survives a JSON round trip") {
    auto r = session();
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    r.reply(10, c, "220 ready");
    r.command(20, c, "PASV");
    r.reply(30, c, "227 Entering Passive Mode (127,0,0,1,117,49).");
    const int d = r.open_connection(40, "data", "client", "server", {"127.0.0.1", 40002}, {"127.0.0.1", 30001}, c);
    r.data(50, d, "server", 4096);
    r.close(60, d, "server");
    r.add_transfer({"client", "RETR", "f", true, 226, 4096});
    r.add_model_note("live");
    const auto t = r.finish();
    const std::string j = trace::to_json(t);
    const auto back = trace::from_json(j);
    CHECK(back == t);
    CHECK(trace::to_json(back) == j);
}

TEST_CASE("recorder: an SPDT connection accepted as a control connection is adopted as data") {
    live::Recorder r("live", "spsv");
    r.add_node("server", "server", "127.0.0.1");
    r.add_node("client", "client", "127.0.0.1");
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    r.command(1, c, "SPSV");
    r.reply(2, c, "227 Entering single-port mode (abc)");
    r.add_node("client-2", "client", "127.0.0.1");
    const int d = r.open_connection(3, "control", "client-2", "server", {"127.0.0.1", 40002}, {"127.0.0.1", 2121});
    r.reply(4, d, "220 ready");
    r.command(5, d, "SPDT abc");
    r.adopt_as_data(d, c);
    r.reply(6, d, "200 DATA");
    r.data(7, d, "server", 100);
    r.data(8, d, "server", 23);
    auto t = r.finish();
    REQUIRE(t.nodes.size() == 2);  // client-2 is gone: nothing names it any more
    CHECK(t.nodes[1].name == "client");
    const auto& dc = t.connections[1];
    CHECK(dc.purpose == "data");
    CHECK(dc.control_id == c);
    CHECK(dc.initiator == "client");
    for (const auto& e : t.events) {
        CHECK(e.from != "client-2");
        CHECK(e.to != "client-2");
    }
    CHECK(t.events[4].text == "220 ready");
    CHECK(t.events[4].to == "client");
    CHECK(t.events[5].from == "client");
    CHECK(t.events.back().kind == EventKind::DataBytes);
    CHECK(t.events.back().payload_len == 123);
    CHECK(t.events.back().to == "client");
}

// ---- #17 item 5: the serve trace is streamed to its file --------------------------------------

#include <cstdio>
#include <fstream>
#include <sstream>

#include "trace/json.hpp"

TEST_CASE("recorder: streaming writes events as they happen, keeps only open runs, and the file is a trace") {
    char tmpl[] = "/tmp/ftpsim-stream-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    const std::string path = tmpl;
    live::Recorder r("live", "stream");
    r.add_node("server", "server", "127.0.0.1");
    r.add_node("client", "client", "127.0.0.1");
    REQUIRE_FALSE(r.stream_to(path));
    const int c = r.open_connection(0, "control", "client", "server", {"127.0.0.1", 40000}, {"127.0.0.1", 2121});
    r.reply(1, c, "220 ready");
    const int dconn = r.open_connection(2, "data", "client", "server", {"127.0.0.1", 40001}, {"127.0.0.1", 50000}, c);
    r.data(3, dconn, "server", 1000);  // a run that stays open while 100k commands pass
    std::size_t most_kept = 0;
    for (int i = 0; i < 50000; ++i) {
        r.command(10 + 2 * i, c, "NOOP");
        r.reply(11 + 2 * i, c, "200 NOOP ok.");
        most_kept = std::max(most_kept, r.events_kept());
    }
    CHECK(most_kept <= 2);  // the open run's event (and the one being added), not the NOOPs
    r.data(200000, dconn, "server", 500);
    r.close(200001, dconn, "server");
    // An SPSV-style held connection: its events wait and are rewritten by adopt_as_data.
    r.add_node("client-2", "client", "127.0.0.1");
    const int h = r.open_connection(200002, "control", "client-2", "server", {"127.0.0.1", 40002},
                                    {"127.0.0.1", 2121}, -1, true);
    r.command(200003, h, "SPDT abc");
    CHECK(r.events_kept() == 2);
    r.adopt_as_data(h, c);
    r.settle(h);
    CHECK(r.events_kept() == 0);
    r.refusal(200004, live::RefusalKind::PerAddress, "127.0.0.9", 16, 16, "");
    r.add_transfer({"client", "LIST", "/", true, 226, 1500});
    REQUIRE_FALSE(r.finish_stream());
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    ::unlink(path.c_str());
    const trace::Trace t = trace::from_json(ss.str());
    REQUIRE(t.events.size() == 3 + 1 + 100000 + 1 + 2 + 1);
    for (std::size_t i = 0; i < t.events.size(); ++i) CHECK(t.events[i].seq == i);
    // The data run: one event with the total, stamped with its first byte's time.
    std::size_t runs = 0;
    for (const auto& e : t.events)
        if (e.kind == EventKind::DataBytes) {
            ++runs;
            CHECK(e.payload_len == 1500);
            CHECK(e.time_ns == 3);
        }
    CHECK(runs == 1);
    // The adopted connection's events are on the owner's lane; client-2 is gone.
    for (const auto& e : t.events)
        if (e.conn == h) CHECK(e.from == "client");
    CHECK(t.nodes.size() == 2);
    CHECK(t.connections.at(static_cast<std::size_t>(h)).purpose == "data");
    CHECK(t.events.back().fact == trace::Fact::ServeLimitRefused);
    CHECK(trace::text(t.events.back()) ==
          "connection from 127.0.0.9 refused: 16 connections from that address already (limit 16)");
    CHECK(t.outcome.ok);
    REQUIRE(t.outcome.transfers.size() == 1);
}

TEST_CASE("recorder: the live server's decisions are typed facts, their text rendered from them") {
    auto r = session();
    r.login_failed(5, "client", 3, 3, 3'000'000'000, true);
    r.timeout(6, live::TimeoutKind::Idle, 5'000'000'000);
    r.store_failed(7, false, "keep.bin", ENOSPC);
    r.store_failed(8, true, "", ENOSPC);
    r.line_too_long(9, "client", 4096);
    r.connect_failed(10, "server", {}, {"127.0.0.1", 1}, trace::SocketError::Refused);
    const auto t = r.finish();
    REQUIRE(t.events.size() == 6);
    CHECK(t.events[0].fact == trace::Fact::ServeLoginFailed);
    CHECK(t.events[0].attempt == 3);
    CHECK(trace::text(t.events[0]) == "failed login #3: the reply waits 3 s; the connection is closed after it (limit 3)");
    CHECK(t.events[1].fact == trace::Fact::ServeTimeout);
    CHECK(trace::text(t.events[1]) == "no complete command line for 5 s: the server closes the session");
    CHECK(t.events[2].state == "ENOSPC");
    CHECK(trace::text(t.events[2]) == "storing keep.bin failed: No space left on device (ENOSPC); the file is left as it was");
    CHECK(t.events[3].policy == "staging-file");
    CHECK(trace::text(t.events[4]) == "a command line longer than 4096 bytes");
    CHECK(t.events[5].fact == trace::Fact::ConnectFailed);
    CHECK(t.events[5].error == trace::SocketError::Refused);
    for (const auto& e : t.events) {
        CHECK(e.text.empty());  // a rendered fact stores no sentence (trace/render.hpp)
        CHECK(trace::text(e) == trace::sentence(e));
    }
}
