// The sans-IO TCP connection (sim/net/tcp_connection.*) without any engine: the tests hand it
// segments and times and check, to the nanosecond, the segments, events and deadlines it gives
// back. A small two-endpoint harness below plays the wire (a fixed one-way delay, chosen losses).
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "sim/net/tcp_connection.hpp"

using namespace ftpsim::net;
using namespace ftpsim::net::tcpflag;

namespace {

constexpr TimeNs kMs = 1'000'000;
constexpr TimeNs kSec = 1'000'000'000;

struct Sent {
    std::uint8_t flags = 0;
    std::uint32_t seq = 0, ack = 0;
    std::string payload;
    bool file_data = false;
    TimeNs at = 0;
    TcpSegment seg() const {
        TcpSegment s;
        s.flags = flags;
        s.seq = seq;
        s.ack = ack;
        s.payload = payload;
        return s;
    }
};

// One endpoint: records what its connection emits.
struct End : TcpOutput {
    explicit End(const TcpConfig& cfg) : c(cfg, *this) {}
    TcpConnection c;
    TimeNs now = 0;
    std::vector<Sent> sent;
    std::vector<TcpEventKind> events;
    std::vector<TcpEvent> details;     // the non-Data events with their fields
    std::string received;
    std::vector<std::string> log;      // segments and events in emission order
    std::function<void(const TcpEvent&)> react;  // the application

    void segment(const TcpSegment& s) override {
        sent.push_back(Sent{s.flags, s.seq, s.ack, std::string(s.payload), s.file_data, now});
        log.push_back("seg " + flag_name(s.flags) + (s.payload.empty() ? "" : " " + std::to_string(s.payload.size())));
    }
    void event(const TcpEvent& e) override {
        events.push_back(e.kind);
        if (e.kind == TcpEventKind::Data)
            received.append(e.data);
        else
            details.push_back(e);
        log.push_back("ev " + std::to_string(static_cast<int>(e.kind)));
        if (react) react(e);
    }
    void timer_armed(TimeNs) override {}
    void timer_disarmed() override {}

    static std::string flag_name(std::uint8_t f) {
        std::string s;
        if (f & kSyn) s += "S";
        if (f & kFin) s += "F";
        if (f & kRst) s += "R";
        if (f & kPsh) s += "P";
        if (f & kAck) s += "A";
        return s;
    }
    bool has_event(TcpEventKind k) const { return std::find(events.begin(), events.end(), k) != events.end(); }
};

// Two endpoints joined by a wire with a fixed one-way delay; `drop` decides per segment (sender,
// index in its `sent`) whether the wire loses it. run() delivers segments and fires timers in
// time order until nothing is left or `until`.
struct Pair {
    explicit Pair(TcpConfig cfg = {}, TimeNs delay = 50 * kMs) : cfg(cfg), a(this->cfg), b(this->cfg), delay(delay) {}
    TcpConfig cfg;
    End a, b;
    TimeNs delay;
    std::function<bool(const End& from, std::size_t index)> drop = [](const End&, std::size_t) { return false; };
    std::size_t a_done = 0, b_done = 0;  // segments of a / b already put on the wire
    struct Flight {
        TimeNs at;
        bool to_b;
        Sent s;
    };
    std::vector<Flight> wire;
    bool b_opened = false;
    std::uint32_t b_iss = 9000;

    void pump() {
        for (; a_done < a.sent.size(); ++a_done)
            if (!drop(a, a_done)) wire.push_back({a.sent[a_done].at + delay, true, a.sent[a_done]});
        for (; b_done < b.sent.size(); ++b_done)
            if (!drop(b, b_done)) wire.push_back({b.sent[b_done].at + delay, false, b.sent[b_done]});
    }
    void run(TimeNs until = 1000 * kSec) {
        pump();
        while (true) {
            // Next happening: the earliest segment arrival or timer (arrivals first on a tie).
            TimeNs t = -1;
            int what = -1;  // 0 wire, 1 timer a, 2 timer b
            std::size_t wi = 0;
            for (std::size_t i = 0; i < wire.size(); ++i)
                if (t < 0 || wire[i].at < t) t = wire[i].at, what = 0, wi = i;
            if (a.c.deadline() >= 0 && (t < 0 || a.c.deadline() < t)) t = a.c.deadline(), what = 1;
            if (b.c.deadline() >= 0 && (t < 0 || b.c.deadline() < t)) t = b.c.deadline(), what = 2;
            if (t < 0 || t > until) return;
            if (what == 0) {
                Flight f = wire[wi];
                wire.erase(wire.begin() + static_cast<std::ptrdiff_t>(wi));
                End& to = f.to_b ? b : a;
                to.now = t;
                if (f.to_b && !b_opened && f.s.seg().is_syn_only()) {
                    b_opened = true;
                    b.c.open_passive(t, b_iss, f.s.seq);
                } else {
                    to.c.on_segment(t, f.s.seg());
                }
            } else {
                End& e = what == 1 ? a : b;
                e.now = t;
                e.c.on_timer(t);
            }
            pump();
        }
    }
    // a connects at 0 and the handshake completes (delay 50 ms: connected at 100, accepted at 150 ms).
    void connect() {
        a.now = 0;
        a.c.open_active(0, 1000);
        run(150 * kMs);
    }
};

std::vector<TimeNs> times_of(const End& e, std::uint8_t flags) {
    std::vector<TimeNs> out;
    for (const auto& s : e.sent)
        if (s.flags == flags) out.push_back(s.at);
    return out;
}

}  // namespace

TEST_CASE("handshake: SYN, SYN-ACK, ACK with the sequence numbers and the RTT sample") {
    Pair p;
    p.connect();
    REQUIRE(p.a.sent.size() == 2);
    CHECK(p.a.sent[0].flags == kSyn);
    CHECK(p.a.sent[0].seq == 1000);
    REQUIRE(p.b.sent.size() == 1);
    CHECK(p.b.sent[0].flags == (kSyn | kAck));
    CHECK(p.b.sent[0].seq == 9000);
    CHECK(p.b.sent[0].ack == 1001);
    CHECK(p.b.sent[0].at == 50 * kMs);
    CHECK(p.a.sent[1].flags == kAck);
    CHECK(p.a.sent[1].seq == 1001);
    CHECK(p.a.sent[1].ack == 9001);
    CHECK(p.a.sent[1].at == 100 * kMs);
    // The initiator: the fact, then the ACK leaves, then the application is told.
    CHECK(p.a.log == std::vector<std::string>{"seg S", "ev 0", "seg A", "ev 1"});
    CHECK(p.b.events == std::vector<TcpEventKind>{TcpEventKind::Accepted});
    CHECK(p.a.c.is_open());
    CHECK(p.b.c.is_open());
    CHECK(p.a.c.deadline() == -1);
    CHECK(p.b.c.deadline() == -1);
    // RFC 6298 first sample R = 100 ms: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 300 ms.
    CHECK(p.a.c.srtt() == 100 * kMs);
    CHECK(p.a.c.rttvar() == 50 * kMs);
    CHECK(p.a.c.rto() == 300 * kMs);
    CHECK(p.b.c.srtt() == 100 * kMs);  // SYN-ACK at 50 ms, ACK at 150 ms
}

TEST_CASE("a small RTT gives the 200 ms minimum RTO") {
    Pair p({}, 1 * kMs);
    p.a.c.open_active(0, 1);
    p.run();
    CHECK(p.a.c.srtt() == 2 * kMs);
    CHECK(p.a.c.rto() == 200 * kMs);
}

TEST_CASE("connection refused: the RST+ACK a closed port sends ends SYN-SENT") {
    TcpConfig cfg;
    End a(cfg);
    a.c.open_active(0, 4242);
    REQUIRE(a.sent.size() == 1);
    TcpSegment rst = reset_for(a.sent[0].seg());
    CHECK(rst.flags == (kRst | kAck));
    CHECK(rst.seq == 0);
    CHECK(rst.ack == 4243);
    a.now = 20 * kMs;
    a.c.on_segment(20 * kMs, rst);
    CHECK(a.events == std::vector<TcpEventKind>{TcpEventKind::Refused});
    CHECK(a.c.state() == TcpState::Closed);
    CHECK(a.c.deadline() == -1);
    // A segment that carries an ACK is reset with seq = that ACK and no ACK of its own.
    TcpSegment data;
    data.flags = kAck | kPsh;
    data.seq = 77;
    data.ack = 555;
    data.payload = "abc";
    TcpSegment r2 = reset_for(data);
    CHECK(r2.flags == kRst);
    CHECK(r2.seq == 555);
    CHECK(r2.ack == 0);
}

TEST_CASE("SYN retransmission: 1 s initial RTO doubling, connect fails at 127 s after 6 retries") {
    TcpConfig cfg;
    End a(cfg);
    a.c.open_active(0, 1);
    std::vector<TimeNs> deadlines;
    while (a.c.deadline() >= 0) {
        TimeNs t = a.c.deadline();
        deadlines.push_back(t);
        a.now = t;
        a.c.on_timer(t);
    }
    CHECK(times_of(a, kSyn) ==
          std::vector<TimeNs>{0, 1 * kSec, 3 * kSec, 7 * kSec, 15 * kSec, 31 * kSec, 63 * kSec});
    CHECK(deadlines.back() == 127 * kSec);
    REQUIRE(a.details.size() == 7);
    for (int i = 0; i < 6; ++i) {
        CHECK(a.details[static_cast<std::size_t>(i)].kind == TcpEventKind::SynRetransmit);
        CHECK(a.details[static_cast<std::size_t>(i)].attempt == i + 1);
        CHECK(a.details[static_cast<std::size_t>(i)].timeout_ns == (kSec << i));  // the RTO that expired
    }
    CHECK(a.details[6].kind == TcpEventKind::ConnectTimedOut);
    CHECK(a.details[6].attempt == 6);
    CHECK(a.details[6].timeout_ns == 127 * kSec);
    CHECK(a.c.state() == TcpState::Closed);
}

TEST_CASE("connect timeout: 10 s sends SYNs at 0, 1, 3, 7 s and gives up at 10 s") {
    TcpConfig cfg;
    cfg.connect_timeout_ns = 10 * kSec;
    End a(cfg);
    a.c.open_active(0, 1);
    while (a.c.deadline() >= 0) {
        TimeNs t = a.c.deadline();
        a.now = t;
        a.c.on_timer(t);
    }
    CHECK(times_of(a, kSyn) == std::vector<TimeNs>{0, 1 * kSec, 3 * kSec, 7 * kSec});
    REQUIRE(!a.details.empty());
    CHECK(a.details.back().kind == TcpEventKind::ConnectTimedOut);
    CHECK(a.details.back().timeout_ns == 10 * kSec);
    CHECK(a.details.back().attempt == 3);
}

TEST_CASE("a short connect timeout gives up before the first retransmission") {
    TcpConfig cfg;
    cfg.connect_timeout_ns = 300 * kMs;
    End a(cfg);
    a.c.open_active(5 * kMs, 1);
    CHECK(a.c.deadline() == 305 * kMs);
    a.c.on_timer(305 * kMs);
    CHECK(a.events == std::vector<TcpEventKind>{TcpEventKind::ConnectTimedOut});
    CHECK(times_of(a, kSyn).size() == 1);
}

TEST_CASE("SYN-ACK retransmission: 5 retries, then the half-open connection is given up") {
    TcpConfig cfg;
    End b(cfg);
    b.c.open_passive(0, 50, 700);
    while (b.c.deadline() >= 0) {
        TimeNs t = b.c.deadline();
        b.now = t;
        b.c.on_timer(t);
    }
    CHECK(times_of(b, kSyn | kAck) == std::vector<TimeNs>{0, 1 * kSec, 3 * kSec, 7 * kSec, 15 * kSec, 31 * kSec});
    REQUIRE(!b.details.empty());
    CHECK(b.details.back().kind == TcpEventKind::HalfOpenGaveUp);
    CHECK(b.c.state() == TcpState::Closed);
}

TEST_CASE("a lost SYN is retransmitted and the handshake then takes no RTT sample (Karn)") {
    Pair p;
    p.drop = [](const End& from, std::size_t i) { return from.sent[i].flags == kSyn && i == 0; };
    p.a.c.open_active(0, 1000);
    p.run(2 * kSec);
    CHECK(times_of(p.a, kSyn) == std::vector<TimeNs>{0, 1 * kSec});
    CHECK(p.a.c.is_open());
    CHECK(p.a.c.srtt() == 0);        // no sample from a retransmitted SYN
    CHECK(p.a.c.rto() == 2 * kSec);  // the backed-off RTO stays
}

TEST_CASE("duplicate SYN in SYN-RCVD gets the SYN-ACK again; a duplicate SYN-ACK gets an ACK") {
    TcpConfig cfg;
    End b(cfg);
    b.c.open_passive(0, 50, 700);
    TcpSegment syn;
    syn.flags = kSyn;
    syn.seq = 700;
    b.c.on_segment(10 * kMs, syn);
    REQUIRE(b.sent.size() == 2);
    CHECK(b.sent[1].flags == (kSyn | kAck));
    CHECK(b.sent[1].ack == 701);

    End a(cfg);
    a.c.open_active(0, 700);
    TcpSegment sa;
    sa.flags = kSyn | kAck;
    sa.seq = 50;
    sa.ack = 701;
    a.c.on_segment(20 * kMs, sa);
    a.c.on_segment(30 * kMs, sa);  // the first ACK was lost: answer again
    REQUIRE(a.sent.size() == 3);
    CHECK(a.sent[2].flags == kAck);
    CHECK(a.sent[2].ack == 51);
    CHECK(std::count(a.events.begin(), a.events.end(), TcpEventKind::Connected) == 1);
}

TEST_CASE("segmentation at the MSS, PSH on the segment that ends the bytes written") {
    Pair p;
    p.connect();
    p.a.now = 200 * kMs;
    CHECK(p.a.c.write(200 * kMs, std::string(4000, 'x')) == 4000);
    REQUIRE(p.a.sent.size() == 5);
    CHECK(p.a.sent[2].payload.size() == 1460);
    CHECK(p.a.sent[2].flags == kAck);
    CHECK(p.a.sent[2].seq == 1001);
    CHECK(p.a.sent[3].payload.size() == 1460);
    CHECK(p.a.sent[3].seq == 1001 + 1460);
    CHECK(p.a.sent[4].payload.size() == 1080);
    CHECK(p.a.sent[4].flags == (kAck | kPsh));
    CHECK(p.a.c.deadline() == 200 * kMs + 300 * kMs);  // RTO from the handshake's sample
    p.run();
    CHECK(p.b.received == std::string(4000, 'x'));
    CHECK(p.b.sent.size() == 4);  // SYN-ACK and one ACK per data segment (no delayed ACK)
    CHECK(p.b.sent.back().ack == 1001 + 4000);
    CHECK(p.a.has_event(TcpEventKind::Drained));
    CHECK(p.a.c.deadline() == -1);
}

TEST_CASE("a send window keeps at most that many bytes in flight, ACK-clocked") {
    TcpConfig cfg;
    cfg.send_window = 2000;
    Pair p(cfg);
    p.connect();
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, std::string(5000, 'y'));
    REQUIRE(p.a.sent.size() == 4);  // SYN, ACK, 1460, 540
    CHECK(p.a.sent[2].payload.size() == 1460);
    CHECK(p.a.sent[3].payload.size() == 540);
    p.run();
    CHECK(p.b.received.size() == 5000);
    // The rest left as ACKs came back: after the first ACK (at 300 ms) 1460 more bytes.
    REQUIRE(p.a.sent.size() >= 5);
    CHECK(p.a.sent[4].at == 300 * kMs);
    CHECK(p.a.sent[4].payload.size() == 1460);
}

TEST_CASE("file data: no segment spans the control text and the file data") {
    Pair p;
    p.a.c.open_active(0, 1000);
    // Written while connecting, so both wait in the buffer and leave together.
    CHECK(p.a.c.write(0, "200 DATA\r\n") == 10);
    p.a.c.file_data_from_now();
    CHECK(p.a.c.write(0, "file") == 4);
    CHECK(p.a.sent.size() == 1);
    p.run(100 * kMs);
    // Still two segments, split at the boundary; PSH on the one that ends the bytes written.
    REQUIRE(p.a.sent.size() == 4);
    CHECK(p.a.sent[2].payload == "200 DATA\r\n");
    CHECK(p.a.sent[2].flags == kAck);
    CHECK_FALSE(p.a.sent[2].file_data);
    CHECK(p.a.sent[3].payload == "file");
    CHECK(p.a.sent[3].flags == (kAck | kPsh));
    CHECK(p.a.sent[3].file_data);
}

TEST_CASE("data RTO per RFC 6298: expiry resends the first unacknowledged segment and doubles the RTO") {
    Pair p;
    p.connect();
    // Lose the first data segment.
    p.drop = [](const End& from, std::size_t i) { return from.sent[i].payload.size() == 1460 && i == 2; };
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, std::string(2000, 'z'));
    p.run(499 * kMs);
    CHECK(p.b.received.empty());  // the second segment waits out of order
    p.run();
    CHECK(p.b.received == std::string(2000, 'z'));
    // Retransmitted at 200 + 300 ms, once (the ACK for everything comes back at 600 ms).
    std::vector<TimeNs> first_seg;
    for (const auto& s : p.a.sent)
        if (s.seq == 1001 && s.payload.size() == 1460) first_seg.push_back(s.at);
    CHECK(first_seg == std::vector<TimeNs>{200 * kMs, 500 * kMs});
    REQUIRE(!p.a.details.empty());
    const TcpEvent* rt = nullptr;
    for (const auto& e : p.a.details)
        if (e.kind == TcpEventKind::Retransmit) rt = &e;
    REQUIRE(rt);
    CHECK(rt->attempt == 1);
    CHECK(rt->timeout_ns == 300 * kMs);
    CHECK(rt->seq == 1001);
    // Doubled to 600 ms, and no sample from the retransmission (Karn): the RTO stays doubled.
    CHECK(p.a.c.rto() == 600 * kMs);
}

TEST_CASE("RTT smoothing: SRTT and RTTVAR of a second sample, exact in ns") {
    Pair p;
    p.connect();  // first sample 100 ms
    p.delay = 40 * kMs;
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, "hello");
    p.run();
    // Second sample R' = 80 ms: RTTVAR = 3/4 * 50 + 1/4 * |100 - 80| = 42.5 ms,
    // SRTT = 7/8 * 100 + 1/8 * 80 = 97.5 ms, RTO = 97.5 + 4 * 42.5 = 267.5 ms.
    CHECK(p.a.c.rttvar() == 42'500'000);
    CHECK(p.a.c.srtt() == 97'500'000);
    CHECK(p.a.c.rto() == 267'500'000);
}

TEST_CASE("three duplicate ACKs: fast retransmit, then each partial ACK resends the next hole") {
    Pair p;
    p.connect();
    // Lose the 1st and 3rd of six data segments.
    p.drop = [](const End& from, std::size_t i) { return from.sent[i].payload.size() == 1460 && (i == 2 || i == 4); };
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, std::string(6 * 1460, 'd'));
    p.run();
    CHECK(p.b.received.size() == 6 * 1460);
    CHECK(p.a.has_event(TcpEventKind::FastRetransmit));
    CHECK_FALSE(p.a.has_event(TcpEventKind::Retransmit));  // recovered without an RTO expiry
    // The 4 segments after the loss give 4 duplicate ACKs at 300 ms; the third triggers the resend.
    std::vector<TimeNs> resent;
    for (std::size_t i = 8; i < p.a.sent.size(); ++i)
        if (!p.a.sent[i].payload.empty()) resent.push_back(p.a.sent[i].at);
    REQUIRE(resent.size() == 2);
    CHECK(resent[0] == 300 * kMs);  // fast retransmit of seq 1001
    CHECK(resent[1] == 400 * kMs);  // the partial ACK for it brings the second hole
    CHECK(p.a.sent[8].seq == 1001);
}

TEST_CASE("data retries exhausted: the open connection times out") {
    TcpConfig cfg;
    cfg.data_retries = 3;
    Pair p(cfg);
    p.connect();
    p.drop = [](const End& from, std::size_t i) { return !from.sent[i].payload.empty(); };
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, "lost");
    p.run();
    // RTO 300 ms doubling: resends at 500, 1100, 2300 ms; gives up at 4700 ms.
    std::vector<TimeNs> data;
    for (const auto& s : p.a.sent)
        if (!s.payload.empty()) data.push_back(s.at);
    CHECK(data == std::vector<TimeNs>{200 * kMs, 500 * kMs, 1100 * kMs, 2300 * kMs});
    REQUIRE(!p.a.details.empty());
    CHECK(p.a.details.back().kind == TcpEventKind::TimedOut);
    CHECK(p.a.details.back().attempt == 3);
    CHECK(p.a.c.state() == TcpState::Closed);
    CHECK(p.a.now == 4700 * kMs);
}

TEST_CASE("an ACK rides on the reply the application writes while handling the data") {
    Pair p;
    p.connect();
    p.b.react = [&](const TcpEvent& e) {
        if (e.kind == TcpEventKind::Data) p.b.c.write(p.b.now, "331 ok\r\n");
    };
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, "USER x\r\n");
    p.run();
    REQUIRE(p.b.sent.size() == 2);  // SYN-ACK, then the reply with the ACK, no bare ACK
    CHECK(p.b.sent[1].payload == "331 ok\r\n");
    CHECK(p.b.sent[1].ack == 1001 + 8);
    CHECK(p.a.received == "331 ok\r\n");
}

TEST_CASE("out-of-order segments wait for the hole and are delivered in order") {
    TcpConfig cfg;
    End b(cfg);
    b.c.open_passive(0, 50, 700);
    TcpSegment ack;
    ack.flags = kAck;
    ack.seq = 701;
    ack.ack = 51;
    b.c.on_segment(10 * kMs, ack);
    REQUIRE(b.c.is_open());
    TcpSegment s2 = ack;
    s2.seq = 701 + 3;
    s2.payload = "def";
    b.c.on_segment(11 * kMs, s2);
    CHECK(b.received.empty());
    CHECK(b.sent.back().ack == 701);  // a duplicate ACK for the hole
    TcpSegment s1 = ack;
    s1.payload = "abc";
    b.c.on_segment(12 * kMs, s1);
    CHECK(b.received == "abcdef");
    CHECK(b.sent.back().ack == 707);
    CHECK(b.c.bytes_received() == 6);
}

TEST_CASE("closing: FIN after the queued bytes, half-close, both sides closed in order") {
    Pair p;
    p.connect();
    p.a.now = 200 * kMs;
    p.a.c.write(200 * kMs, "bye");
    p.a.c.close(200 * kMs);
    REQUIRE(p.a.sent.size() == 4);
    CHECK(p.a.sent[2].payload == "bye");
    CHECK(p.a.sent[3].flags == (kFin | kAck));
    CHECK(p.a.sent[3].seq == 1001 + 3);
    CHECK(p.a.c.write(200 * kMs, "more") == 0);  // nothing after close
    p.run(300 * kMs);
    // B saw the data, then the FIN; it may still send (half-close).
    CHECK(p.b.received == "bye");
    CHECK(p.b.has_event(TcpEventKind::PeerClosed));
    CHECK(p.b.c.is_open());
    CHECK(p.a.has_event(TcpEventKind::Drained));  // data and FIN acknowledged at 300 ms
    p.b.now = 400 * kMs;
    p.b.c.write(400 * kMs, "late");
    p.b.c.close(400 * kMs);
    p.run();
    CHECK(p.a.received == "late");
    // A: closed when B's FIN arrives (its own FIN is acknowledged); B: when A's ACK of it arrives.
    CHECK(p.a.events.back() == TcpEventKind::Closed);
    CHECK(p.b.events.back() == TcpEventKind::Closed);
    CHECK(p.a.now == 450 * kMs);
    CHECK(p.b.now == 500 * kMs);
    auto idx = [](const End& e, TcpEventKind k) {
        return std::find(e.events.begin(), e.events.end(), k) - e.events.begin();
    };
    CHECK(idx(p.a, TcpEventKind::PeerClosed) < idx(p.a, TcpEventKind::Closed));
    CHECK(p.a.c.state() == TcpState::Closed);
    CHECK(p.b.c.state() == TcpState::Closed);
}

TEST_CASE("RST: on an open connection it resets; abort sends RST+ACK and says nothing more") {
    Pair p;
    p.connect();
    p.a.now = 200 * kMs;
    p.a.c.abort();
    REQUIRE(p.a.sent.size() == 3);
    CHECK(p.a.sent[2].flags == (kRst | kAck));
    CHECK(p.a.sent[2].seq == 1001);
    CHECK(p.a.c.state() == TcpState::Closed);
    CHECK(p.a.events == std::vector<TcpEventKind>{TcpEventKind::Established, TcpEventKind::Connected});
    p.run();
    CHECK(p.b.events.back() == TcpEventKind::Reset);
    CHECK(p.b.c.state() == TcpState::Closed);
    // A RST in SYN-RCVD ends the half-open connection quietly for the application.
    TcpConfig cfg;
    End b(cfg);
    b.c.open_passive(0, 50, 700);
    TcpSegment rst;
    rst.flags = kRst;
    rst.seq = 701;
    b.c.on_segment(5 * kMs, rst);
    CHECK(b.events == std::vector<TcpEventKind>{TcpEventKind::HalfOpenReset});
}

TEST_CASE("send space: 2 windows + 1 MSS of unsent bytes; Writable after each ACK of new data, before sending") {
    TcpConfig cfg;
    cfg.send_window = 2000;
    Pair p(cfg);
    p.connect();
    p.a.now = 200 * kMs;
    const std::uint64_t target = 2 * 2000 + 1460;
    CHECK(p.a.c.send_space() == target);
    CHECK(p.a.c.write(200 * kMs, std::string(3000, 'w')) == 3000);
    // 2000 in flight (1460 + 540), 1000 unsent.
    CHECK(p.a.c.send_space() == target - 1000);
    // The application refills inside Writable; the refill leaves in the same flush as the
    // window opened by the ACK (the log shows the event right before the segments).
    std::size_t rest = 7000, writable = 0;
    p.a.react = [&](const TcpEvent& e) {
        if (e.kind != TcpEventKind::Writable) return;
        ++writable;
        const std::size_t n = std::min<std::size_t>(rest, p.a.c.send_space());
        rest -= p.a.c.write(p.a.now, std::string(n, 'w'));
    };
    const std::size_t log_before = p.a.log.size();
    p.run(300 * kMs);
    CHECK(writable == 2);  // the ACKs of the 1460 and the 540 bytes, both at 300 ms
    REQUIRE(p.a.log.size() > log_before + 1);
    CHECK(p.a.log[log_before] == "ev " + std::to_string(static_cast<int>(TcpEventKind::Writable)));
    CHECK(p.a.log[log_before + 1].rfind("seg A", 0) == 0);
    p.run();
    CHECK(rest == 0);
    CHECK(p.b.received == std::string(10000, 'w'));
    CHECK(writable >= 5);
    // Without a window the model sends everything at once: no limit.
    Pair q;
    q.connect();
    CHECK(q.a.c.send_space() == UINT64_MAX);
    CHECK(q.a.c.write(200 * kMs, std::string(100000, 'u')) == 100000);
    q.a.c.close(200 * kMs);
    CHECK(q.a.c.send_space() == 0);  // closing: nothing more to write
}
