#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "seed_traces.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"

using namespace ftpsim;
using namespace ftpsim::viz;

namespace {
std::size_t count_segments(const trace::Trace& t) {
    return static_cast<std::size_t>(std::count_if(t.events.begin(), t.events.end(),
                                                  [](const trace::Event& e) { return e.kind == trace::EventKind::Segment; }));
}
std::size_t count_packets(const trace::Trace& t) {
    std::set<std::uint64_t> p;
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment) p.insert(e.packet);
    return p.size();
}
std::vector<const Item*> arrows(const Diagram& d) {
    std::vector<const Item*> out;
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Arrow) out.push_back(&it);
    return out;
}
const Item* find_label(const Diagram& d, const std::string& label) {
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Arrow && it.label == label) return &it;
    return nullptr;
}
// Fixture: the seed traces carry no parsed FTP facts; give the first hop of the segment that
// carries `line` its FtpLine, as the simulator records it.
void mark_line(trace::Trace& t, const std::string& line, bool command, trace::Announce a = trace::Announce::None) {
    for (auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.text == line) {
            trace::FtpLine l;
            l.command = command;
            l.announce = a;
            l.line = line;
            e.ftp.push_back(l);
            return;
        }
    FAIL("no segment carries " << line);
}
}  // namespace

TEST_CASE("layout: lanes are client, middleboxes, server with their addresses") {
    const Diagram d = layout(testing::active_nat_fail());
    REQUIRE(d.lanes.size() == 3);
    CHECK(d.lanes[0].name == "client");
    CHECK(d.lanes[1].name == "home-router");
    CHECK(d.lanes[1].middlebox);
    CHECK(d.lanes[1].addresses == std::vector<std::string>{"192.168.1.1", "203.0.113.1"});
    CHECK(d.lanes[2].name == "server");
    LayoutOptions e2e;
    e2e.view = View::EndToEnd;
    const Diagram d2 = layout(testing::active_nat_fail(), e2e);
    REQUIRE(d2.lanes.size() == 2);
    CHECK(d2.lanes[0].name == "client");
    CHECK(d2.lanes[1].name == "server");
}

TEST_CASE("layout: per hop draws one arrow per segment hop, end to end one per packet") {
    for (const auto& t : {testing::lecture_passive_list(), testing::active_nat_fail(), testing::active_nat_alg_ok()}) {
        CAPTURE(t.scenario);
        CHECK(arrows(layout(t)).size() == count_segments(t));
        LayoutOptions o;
        o.view = View::EndToEnd;
        CHECK(arrows(layout(t, o)).size() == count_packets(t));
    }
}

TEST_CASE("layout: the lecture's PASV ladder has its ports at both ends and control/data styles") {
    LayoutOptions o;
    o.view = View::EndToEnd;
    const Diagram d = layout(testing::lecture_passive_list(), o);
    const Item* user = find_label(d, "USER student");
    REQUIRE(user);
    CHECK(user->from_lane == 0);
    CHECK(user->to_lane == 1);
    CHECK(user->from_port == 1120);
    CHECK(user->to_port == 21);
    CHECK(user->style == Style::Control);
    const Item* pasv = find_label(d, "227 Entering PASV mode (192,168,150,90,195,149)");
    REQUIRE(pasv);
    CHECK(pasv->from_lane == 1);
    CHECK(pasv->to_lane == 0);
    const Item* data = find_label(d, "DATA 117 B");
    REQUIRE(data);
    CHECK(data->style == Style::Data);
    CHECK(data->from_port == 50069);
    CHECK(data->to_port == 1121);
    CHECK(d.has_data);
    CHECK(d.has_control);
    CHECK_FALSE(d.has_drops);
}

TEST_CASE("layout: a packet dropped at the client ends in a cross and end to end it merges its hops") {
    LayoutOptions o;
    o.view = View::EndToEnd;
    const Diagram d = layout(testing::active_nat_fail(), o);
    int crosses = 0;
    for (const Item* a : arrows(d))
        if (a->end == End::Cross) {
            ++crosses;
            CHECK(a->label == "SYN");
            CHECK(a->from_lane == 1);
            CHECK(a->to_lane == 0);
            CHECK(a->to_pos == 0.0);
            CHECK(a->from_port == 20);
            CHECK(a->to_port == 50069);
            CHECK(a->t1 - a->t0 == 21 * trace::kNsPerMs + 20'000);  // both hops and the forwarding delay
            CHECK(a->text.find("client firewall") != std::string::npos);
        }
    CHECK(crosses == 2);
    CHECK(d.has_drops);
    // The ALG changed the PORT line on the way: the merged arrow says what the server received.
    const Item* port = find_label(d, "PORT 192,168,1,10,195,149");
    REQUIRE(port);
    CHECK(port->label_after == "PORT 203,0,113,1,195,149");
}

TEST_CASE("layout: middlebox decisions are notes on the middlebox lane, or between the hosts end to end") {
    const Diagram d = layout(testing::active_nat_fail());
    int alg = 0;
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Note && it.note_kind == NoteKind::Middlebox) {
            CHECK(it.lane_lo == 1);
            CHECK(it.lane_hi == 1);
            alg += it.text.rfind("ALG: rewrote PORT", 0) == 0;
        }
    CHECK(alg == 1);
    LayoutOptions o;
    o.view = View::EndToEnd;
    for (const auto& it : layout(testing::active_nat_fail(), o).items)
        if (it.kind == ItemKind::Note && it.note_kind == NoteKind::Middlebox) {
            CHECK(it.lane_lo == 0);
            CHECK(it.lane_hi == 1);
        }
}

TEST_CASE("layout: folded handshakes show one TCP connect and hide SYN-ACK and pure ACKs") {
    LayoutOptions o;
    o.view = View::EndToEnd;
    o.fold_handshakes = true;
    const Diagram d = layout(testing::lecture_passive_list(), o);
    int connects = 0;
    for (const Item* a : arrows(d)) {
        CHECK(a->label != "SYN, ACK");
        CHECK(a->label != "ACK");
        connects += a->label == "TCP connect";
    }
    CHECK(connects == 2);  // control and data
    // A dropped SYN stays visible when folded.
    const Diagram f = layout(testing::active_nat_fail(), o);
    int dropped = 0;
    for (const Item* a : arrows(f)) dropped += a->end == End::Cross && a->label == "TCP connect";
    CHECK(dropped == 2);
}

TEST_CASE("layout: a rejected SYN shows the RST coming back") {
    const Diagram d = layout(testing::rejected_syn());
    const Item* syn = nullptr;
    const Item* rst = nullptr;
    for (const Item* a : arrows(d)) {
        if (a->end == End::Rejected) syn = a;
        if (a->label == "RST") rst = a;
    }
    REQUIRE(syn);
    REQUIRE(rst);
    CHECK(d.has_rejects);
    CHECK(syn->from_lane == 0);
    CHECK(syn->to_lane == 1);
    CHECK(rst->synthesized);
    CHECK(rst->from_lane == 1);
    CHECK(rst->to_lane == 0);
    CHECK(rst->t0 == syn->t1);
    CHECK(rst->top() >= syn->top());
}

TEST_CASE("layout: compressed gives one row per item, to scale gives y = time") {
    LayoutOptions c;
    c.time = TimeScale::Compressed;
    const Diagram d = layout(testing::lecture_passive_list(), c);
    for (std::size_t i = 1; i < d.items.size(); ++i) CHECK(d.items[i].y0 >= d.items[i - 1].y0 + c.row_height - 1e-9);

    LayoutOptions s;
    s.time = TimeScale::ToScale;
    s.view = View::EndToEnd;
    const Diagram ds = layout(testing::lecture_passive_list(), s);
    const Item* user = find_label(ds, "USER student");
    REQUIRE(user);
    CHECK(user->y1 - user->y0 == doctest::Approx(10 * s.units_per_ms));  // the 10 ms link
    CHECK_FALSE(ds.ticks.empty());
}

TEST_CASE("layout: to scale cuts idle gaps with a break and keeps latencies exact") {
    LayoutOptions s;
    s.time = TimeScale::ToScale;
    const Diagram d = layout(testing::active_nat_fail(), s);
    int breaks = 0;
    for (const auto& it : d.items) breaks += it.kind == ItemKind::Break;
    CHECK(breaks >= 1);
    CHECK(d.height < 3000);  // 3.3 s uncut would be about 20000 units
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Arrow)
            CHECK(it.y1 - it.y0 == doctest::Approx(static_cast<double>(it.t1 - it.t0) / 1e6 * s.units_per_ms));
    s.max_gap_ns = 0;
    const Diagram uncut = layout(testing::active_nat_fail(), s);
    CHECK(uncut.height > 19000);
}

TEST_CASE("layout: visible() returns exactly the items that intersect the range") {
    for (auto time : {TimeScale::Compressed, TimeScale::ToScale}) {
        LayoutOptions o;
        o.time = time;
        const Diagram d = layout(testing::active_nat_alg_ok(), o);
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> y(-50, d.height + 50);
        for (int k = 0; k < 300; ++k) {
            double a = y(rng), b = y(rng);
            if (a > b) std::swap(a, b);
            std::vector<std::uint32_t> expect;
            for (std::uint32_t i = 0; i < d.items.size(); ++i)
                if (d.items[i].bottom() >= a && d.items[i].top() <= b) expect.push_back(i);
            CHECK(d.visible(a, b) == expect);
        }
        for (std::size_t i = 1; i < d.items.size(); ++i) CHECK(d.items[i - 1].top() <= d.items[i].top());
    }
}

TEST_CASE("layout: a command-level trace (no segments) draws its FTP lines") {
    trace::Trace t;
    t.nodes = {{"client", "host", "client", {"10.0.0.1"}}, {"server", "host", "server", {"10.0.0.2"}}};
    trace::Event e;
    e.kind = trace::EventKind::FtpCommand;
    e.from = "client";
    e.to = "server";
    e.text = "NOOP";
    e.time_ns = 0;
    e.arrive_ns = 5;
    e.verdict = trace::Verdict::Delivered;
    t.events.push_back(e);
    const Diagram d = layout(t);
    REQUIRE(arrows(d).size() == 1);
    CHECK(arrows(d)[0]->label == "NOOP");
}

TEST_CASE("layout: time formats") {
    CHECK(format_time(0) == "0.000 ms");
    CHECK(format_time(12'345'678) == "12.345 ms");
    CHECK(format_time(3'000'000'000) == "3.000 s");
    CHECK(format_time_short(20 * trace::kNsPerMs) == "20 ms");
    CHECK(format_time_short(1'500'000'000) == "1.5 s");
    CHECK(format_time_short(250'000) == "250 us");
    CHECK(flags_words("SA") == "SYN, ACK");
    CHECK(flags_words("FA") == "FIN, ACK");
    CHECK(flags_words("R") == "RST");
}

TEST_CASE("layout: a segment that never left its sender is a short stub ending in a cross") {
    trace::Trace t;
    t.nodes = {{"client", "host", "client", {"10.0.0.1"}}, {"server", "host", "server", {"10.0.0.2"}}};
    trace::Event e;
    e.kind = trace::EventKind::Segment;
    e.from = "server";
    e.flags = std::string(1, 'S');  // not = "S": GCC 12 warns falsely (-Wrestrict) here
    e.src = {"10.0.0.2", 20};
    e.dst = {"10.0.0.1", 50069};
    e.verdict = trace::Verdict::Dropped;
    e.reason = "no route to 10.0.0.1 on server";
    e.packet = 1;
    t.events.push_back(e);
    for (auto view : {View::PerHop, View::EndToEnd}) {
        LayoutOptions o;
        o.view = view;
        const Diagram d = layout(t, o);
        REQUIRE(arrows(d).size() == 1);
        const Item& a = *arrows(d)[0];
        CHECK(a.end == End::Cross);
        CHECK(a.from_pos == 1.0);
        CHECK(a.to_pos == doctest::Approx(0.7));
        CHECK(a.to_lane == 0);
    }
}

// ---- Folding bulk data (LayoutOptions::fold_data) ----------------------------------------------

namespace {
std::vector<const trace::Event*> data_hops(const trace::Trace& t, const std::string& from) {
    std::vector<const trace::Event*> out;
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.conn == 1 && e.payload_len > 0 && e.from == from) out.push_back(&e);
    return out;
}
std::vector<const Item*> folded(const Diagram& d) {
    std::vector<const Item*> out;
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Arrow && it.folded_segments > 0) out.push_back(&it);
    return out;
}
const Item* item_of_event(const Diagram& d, std::size_t event) {
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Arrow && it.event == event) return &it;
    return nullptr;
}

std::vector<std::string> labels(const Diagram& d) {
    std::vector<std::string> out;
    for (const auto& it : d.items) out.push_back(it.kind == ItemKind::Arrow ? it.label : "note: " + it.text);
    return out;
}
}  // namespace

TEST_CASE("layout: fold_data folds runs with the ACKs coming back, ended by a note, an FTP line or a drop") {
    const trace::Trace t = testing::split_data_runs();
    LayoutOptions o;
    o.fold_data = true;
    const Diagram d = layout(t, o);
    CHECK(labels(d) == std::vector<std::string>{
                           "DATA 4000 B in 4 segments, 4 ACKs back", "note: half-way",
                           "DATA 1500 B in 3 segments, 3 ACKs back", "226 Transfer complete",
                           "DATA 200 B in 2 segments", "DATA 100 B", "DATA 100 B"});
    REQUIRE(d.items.size() == 7);
    const Item& run = d.items[0];
    CHECK(run.folded_segments == 4);
    CHECK(run.folded_bytes == 4000);
    CHECK(run.folded_acks == 4);
    CHECK(run.from_lane == 1);
    CHECK(run.to_lane == 0);
    CHECK(run.from_port == 30000);
    CHECK(run.to_port == 1025);
    CHECK(run.style == Style::Data);
    CHECK(run.t0 == 10'000'000);
    CHECK(run.t1 == 14'000'000);   // the fourth segment left at 13 ms and arrived 1 ms later
    CHECK(d.items[4].folded_segments == 2);
    CHECK(d.items[4].folded_acks == 0);
    CHECK(d.items[5].end == End::Cross);
    CHECK(d.items[5].folded_segments == 0);
    CHECK(d.items[6].folded_segments == 0);
    // Compressed: one row each, from the top.
    for (std::size_t i = 0; i < d.items.size(); ++i) {
        CAPTURE(i);
        if (d.items[i].kind == ItemKind::Arrow) CHECK(d.items[i].y1 == d.items[i].y0 + o.slant * o.row_height);
    }
    CHECK(d.items[0].y0 == 0.5 * o.row_height);
    CHECK(d.items[1].y0 == 1.5 * o.row_height);
    // With folded handshakes the ACKs are hidden already: not counted.
    o.fold_handshakes = true;
    CHECK(labels(layout(t, o)) == std::vector<std::string>{
                                      "DATA 4000 B in 4 segments", "note: half-way", "DATA 1500 B in 3 segments",
                                      "226 Transfer complete", "DATA 200 B in 2 segments", "DATA 100 B", "DATA 100 B"});
    // End to end is the same here (no middlebox).
    o.fold_handshakes = false;
    o.view = View::EndToEnd;
    CHECK(labels(layout(t, o)) == labels(d));
}

TEST_CASE("layout: fold_data to scale spans from the first departure to the last arrival") {
    const trace::Trace t = testing::split_data_runs();
    LayoutOptions o;
    o.time = TimeScale::ToScale;
    o.max_gap_ns = 0;  // no cut gaps: y = top + (t - 10 ms) * 6 units/ms
    o.fold_data = true;
    const Diagram d = layout(t, o);
    const auto f = folded(d);
    REQUIRE(f.size() == 3);
    CHECK(f[0]->y0 == 25);
    CHECK(f[0]->y1 == doctest::Approx(25 + 4 * 6).epsilon(1e-12));      // 10 ms -> 14 ms
    CHECK(f[1]->y0 == doctest::Approx(25 + 10 * 6).epsilon(1e-12));     // 20 ms -> 23 ms
    CHECK(f[1]->y1 == doctest::Approx(25 + 13 * 6).epsilon(1e-12));
    CHECK(f[2]->y0 == doctest::Approx(25 + 20 * 6).epsilon(1e-12));     // 30 ms -> 32 ms
    CHECK(f[2]->y1 == doctest::Approx(25 + 22 * 6).epsilon(1e-12));
}

TEST_CASE("layout: fold_data per hop folds each hop's run (ALG-ok seed: 1460 + 1460 + 80 B)") {
    const trace::Trace t = testing::active_nat_alg_ok();
    const auto from_server = data_hops(t, "server");
    const auto from_router = data_hops(t, "home-router");
    REQUIRE(from_server.size() == 3);
    REQUIRE(from_router.size() == 3);
    LayoutOptions o;
    const Diagram plain = layout(t, o);
    o.fold_data = true;
    const Diagram d = layout(t, o);
    CHECK_FALSE(d.auto_folded);
    // The server's FIN follows its third segment on the first hop before any ACK comes back, so
    // each hop's run is its 3 data arrows; the client's ACK stays an arrow of its own.
    CHECK(d.items.size() == plain.items.size() - 4);
    const auto f = folded(d);
    REQUIRE(f.size() == 2);
    for (const Item* it : f) {
        CHECK(it->label == "DATA 3000 B in 3 segments");
        CHECK(it->folded_segments == 3);
        CHECK(it->folded_bytes == 3000);
        CHECK(it->folded_acks == 0);
        CHECK(it->from_port == 20);
        CHECK(it->to_port == 50069);
    }
    CHECK(f[0]->from_lane == 2);
    CHECK(f[0]->to_lane == 1);
    CHECK(f[0]->t0 == from_server[0]->time_ns);
    CHECK(f[0]->t1 == from_server[2]->arrive_ns);
    CHECK(f[1]->from_lane == 1);
    CHECK(f[1]->to_lane == 0);
    CHECK(f[1]->t0 == from_router[0]->time_ns);
    CHECK(f[1]->t1 == from_router[2]->arrive_ns);
    // Compressed: each folded arrow takes its first data arrow's row; rows after a run move up
    // by the rows folded away (two per hop).
    const Item* p0 = item_of_event(plain, f[0]->event);
    const Item* p1 = item_of_event(plain, f[1]->event);
    REQUIRE(p0);
    REQUIRE(p1);
    CHECK(f[0]->y0 == p0->y0);
    CHECK(f[1]->y0 == p1->y0 - 2 * o.row_height);
    CHECK(d.height == plain.height - 4 * o.row_height);
}

TEST_CASE("layout: fold_data leaves traces without runs unchanged") {
    // The lecture's listing is one segment; the other seeds carry no file data.
    for (const auto& t : {testing::lecture_passive_list(), testing::active_nat_fail(), testing::rejected_syn()}) {
        CAPTURE(t.scenario);
        LayoutOptions o;
        const Diagram plain = layout(t, o);
        o.fold_data = true;
        const Diagram d = layout(t, o);
        REQUIRE(d.items.size() == plain.items.size());
        for (std::size_t i = 0; i < d.items.size(); ++i) {
            CHECK(d.items[i].label == plain.items[i].label);
            CHECK(d.items[i].y0 == plain.items[i].y0);
        }
    }
}

TEST_CASE("layout: fold_data_above folds a large diagram and says so in a note at the top") {
    const trace::Trace t = testing::active_nat_alg_ok();
    LayoutOptions o;
    const std::size_t n = layout(t, o).items.size();
    o.fold_data_above = n;  // not above: unchanged
    Diagram d = layout(t, o);
    CHECK_FALSE(d.auto_folded);
    CHECK(d.items.size() == n);
    o.fold_data_above = n - 1;
    d = layout(t, o);
    CHECK(d.auto_folded);
    CHECK(d.unfolded_items == n);
    REQUIRE(d.items.size() == n - 4 + 1);
    CHECK(d.items[0].kind == ItemKind::Note);
    CHECK(d.items[0].lane_lo == 0);
    CHECK(d.items[0].lane_hi == 2);
    CHECK(d.items[0].text.rfind("Bulk data folded: unfolded, this ladder has " + std::to_string(n) + " items (over " +
                                std::to_string(n - 1) + ")", 0) == 0);
    CHECK(folded(d).size() == 2);
}

// ---- Selection for slides (LayoutOptions: connections, hidden lanes, steps, time, login) ------

TEST_CASE("layout selection: a step range keeps exactly those items, in order") {
    const trace::Trace t = testing::lecture_passive_list();
    const Diagram full = layout(t);
    REQUIRE(full.items.size() > 20);
    LayoutOptions o;
    REQUIRE(parse_step_range("5-20", o).empty());
    const Diagram d = layout(t, o);
    REQUIRE(d.items.size() == 16);
    for (std::size_t i = 0; i < d.items.size(); ++i) {
        CHECK(d.items[i].event == full.items[i + 4].event);
        CHECK(d.items[i].label == full.items[i + 4].label);
        CHECK(d.items[i].kind == full.items[i + 4].kind);
    }
    // Re-laid out from the top: the first kept item is where the full ladder's first one is.
    CHECK(d.items.front().y0 == full.items.front().y0);
    CHECK(d.height < full.height);
    LayoutOptions tail;
    REQUIRE(parse_step_range("20-", tail).empty());
    CHECK(layout(t, tail).items.size() == full.items.size() - 19);
    LayoutOptions bad;
    CHECK_FALSE(parse_step_range("20-5", bad).empty());
    CHECK_FALSE(parse_step_range("0-5", bad).empty());
    CHECK_FALSE(parse_step_range("x", bad).empty());
    CHECK_FALSE(parse_step_range("-", bad).empty());
}

TEST_CASE("layout selection: a time range keeps the items leaving inside it") {
    const trace::Trace t = testing::lecture_passive_list();
    const Diagram full = layout(t);
    LayoutOptions o;
    REQUIRE(parse_time("0.010s", o.time_from).empty());
    REQUIRE(parse_time("50ms", o.time_to).empty());
    CHECK(o.time_from == 10 * trace::kNsPerMs);
    CHECK(o.time_to == 50 * trace::kNsPerMs);
    std::vector<std::size_t> want;
    for (const auto& it : full.items)
        if (it.t0 >= o.time_from && it.t0 <= o.time_to) want.push_back(it.event);
    REQUIRE(!want.empty());
    REQUIRE(want.size() < full.items.size());
    const Diagram d = layout(t, o);
    std::vector<std::size_t> got;
    for (const auto& it : d.items) got.push_back(it.event);
    CHECK(got == want);
    trace::TimeNs x = 0;
    CHECK(parse_time("250us", x).empty());
    CHECK(x == 250'000);
    CHECK_FALSE(parse_time("5", x).empty());
    CHECK_FALSE(parse_time("5 parsecs", x).empty());
}

TEST_CASE("layout selection: --skip-login starts at the PASV command whose reply announces") {
    trace::Trace t = testing::lecture_passive_list();
    mark_line(t, "USER student", true);
    mark_line(t, "PASS secret", true);
    mark_line(t, "PASV", true);
    mark_line(t, "227 Entering PASV mode (192,168,150,90,195,149)", false, trace::Announce::Pasv227);
    for (View v : {View::PerHop, View::EndToEnd}) {
        LayoutOptions o;
        o.view = v;
        o.skip_login = true;
        const Diagram d = layout(t, o);
        REQUIRE(!d.items.empty());
        CHECK(d.items.front().kind == ItemKind::Arrow);
        CHECK(d.items.front().label == "PASV");
        CHECK(find_label(d, "USER student") == nullptr);
        CHECK(find_label(d, "LIST") != nullptr);
    }
}

TEST_CASE("layout selection: --skip-login starts at the PORT command in an active session") {
    LayoutOptions o;
    o.skip_login = true;
    trace::Trace t = testing::active_nat_fail();
    mark_line(t, "USER anonymous", true);
    mark_line(t, "PORT 192,168,1,10,195,149", true, trace::Announce::Port);
    const Diagram d = layout(t, o);
    REQUIRE(!d.items.empty());
    CHECK(d.items.front().label == "PORT 192,168,1,10,195,149");
    CHECK(find_label(d, "USER anonymous") == nullptr);
    CHECK(d.items.front().from_lane == 0);  // the first hop, from the client
}

TEST_CASE("layout selection: connections shown") {
    const trace::Trace t = testing::lecture_passive_list();
    LayoutOptions o;
    REQUIRE(parse_connections("control", o).empty());
    const Diagram d = layout(t, o);
    std::size_t n = 0;
    for (const auto* a : arrows(d)) {
        CHECK(a->style == Style::Control);
        ++n;
    }
    CHECK(n > 0);
    std::size_t want = 0;
    const Diagram full = layout(t);  // arrows() points into it: it must outlive the loop
    for (const auto* a : arrows(full))
        if (a->style == Style::Control) ++want;
    CHECK(n == want);
    LayoutOptions nos;
    REQUIRE(parse_connections("control,data", nos).empty());
    const Diagram without = layout(t, nos);
    for (const auto* a : arrows(without)) CHECK(a->style != Style::Handshake);
    CHECK_FALSE(parse_connections("control,video", nos).empty());
}

TEST_CASE("layout selection: a hidden router's two hops become one arrow") {
    const trace::Trace t = testing::active_nat_fail();
    const Diagram full = layout(t);
    LayoutOptions o;
    o.hidden_lanes = {"home-router"};
    const Diagram d = layout(t, o);
    REQUIRE(d.lanes.size() == 2);
    CHECK(d.lanes[0].name == "client");
    CHECK(d.lanes[1].name == "server");
    // Every packet that crossed the router is now one arrow from client to server (or back).
    std::size_t from_router = 0;
    for (const auto* a : arrows(full))
        if (a->from_lane == 1) ++from_router;
    std::size_t n = 0;
    for (const auto* a : arrows(d)) {
        CHECK(a->from_lane >= 0);
        CHECK(a->from_lane <= 1);
        CHECK(a->to_lane >= 0);
        CHECK(a->to_lane <= 1);
        CHECK(a->from_lane != a->to_lane);
        if (a->end == End::Arrow) CHECK(a->to_pos == static_cast<double>(a->to_lane));
        ++n;
    }
    CHECK(n == arrows(full).size() - from_router);
    // The SYN the client's firewall drops still ends in a cross; the PORT line keeps the ALG's
    // rewrite as its translation and reaches the server.
    std::size_t crosses_full = 0, crosses = 0;
    for (const auto* a : arrows(full)) crosses_full += a->end == End::Cross;
    for (const auto* a : arrows(d)) crosses += a->end == End::Cross;
    CHECK(crosses == crosses_full);
    CHECK(crosses > 0);
    const Item* user = find_label(d, "USER anonymous");
    if (!user) user = find_label(d, "USER student");
    if (user) {
        CHECK(user->from_lane == 0);
        CHECK(user->to_lane == 1);
    }
    for (const auto& it : d.items)
        if (it.kind == ItemKind::Note) {
            CHECK(it.lane_lo >= 0);
            CHECK(it.lane_hi <= 1);
        }
}

TEST_CASE("svg for slides: the font size is applied and the legend says what colours and styles mean") {
    const Diagram d = layout(testing::active_nat_fail());
    SvgOptions big;
    big.font_size = 23;
    const std::string s = to_svg(d, big);
    CHECK(s.find("font-size=\"23\"") != std::string::npos);
    CHECK(to_svg(d).find("font-size=\"23\"") == std::string::npos);
    CHECK(s.find(">control connection</text>") != std::string::npos);
    CHECK(s.find(">TCP signalling (SYN, ACK, FIN, RST)</text>") != std::string::npos);
    CHECK(s.find(">dropped</text>") != std::string::npos);
    SvgOptions bare;
    bare.legend = false;
    const std::string n = to_svg(d, bare);
    CHECK(n.find(">control connection</text>") == std::string::npos);
    CHECK(n.find(">dropped</text>") == std::string::npos);
    // A hidden lane's header is gone from the SVG.
    LayoutOptions o;
    o.hidden_lanes = {"home-router"};
    CHECK(to_svg(d).find(">home-router<") != std::string::npos);
    CHECK(to_svg(layout(testing::active_nat_fail(), o)).find(">home-router<") == std::string::npos);
}

TEST_CASE("svg side by side: both panes, placed next to each other, under their headings") {
    const std::string a = to_svg(layout(testing::active_nat_fail()));
    const std::string b = to_svg(layout(testing::active_nat_alg_ok()));
    const std::string s = side_by_side_svg({{"alg=false", a}, {"alg=true & more", b}}, 17);
    CHECK(s.rfind("<?xml", 0) == 0);
    CHECK(s.find(">alg=false</text>") != std::string::npos);
    CHECK(s.find(">alg=true &amp; more</text>") != std::string::npos);
    // The second pane starts after the first one's width and the 40 px gap.
    const auto w_at = a.find(" width=\"") + 8;
    const double wa = std::stod(a.substr(w_at, a.find('"', w_at) - w_at));
    CHECK(s.find("<svg x=\"0\" y=\"") != std::string::npos);
    const auto second = s.find("<svg x=\"", s.find("<svg x=\"0\"") + 1);
    REQUIRE(second != std::string::npos);
    CHECK(std::stod(s.substr(second + 8)) == doctest::Approx(wa + 40));
    // Each pane's content is there whole: both titles, and one xml declaration only.
    CHECK(s.find(layout(testing::active_nat_fail()).title) != std::string::npos);
    CHECK(s.find("<?xml", 1) == std::string::npos);
    CHECK(std::count(s.begin(), s.end(), '\n') >= std::count(a.begin(), a.end(), '\n'));
}
