#include <doctest/doctest.h>

#include "seed_traces.hpp"
#include "trace/json.hpp"
#include "trace/render.hpp"

using namespace ftpsim;
using trace::from_json;
using trace::JsonError;
using trace::to_json;

namespace {
std::vector<trace::Trace> seeds() {
    return {testing::lecture_passive_list(), testing::active_nat_fail(), testing::active_nat_alg_ok(),
            testing::rejected_syn()};
}
std::string error_of(const std::string& text) {
    try {
        from_json(text);
    } catch (const JsonError& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("json: every seed trace round-trips losslessly and byte-identically") {
    for (const auto& t : seeds()) {
        CAPTURE(t.scenario);
        const std::string a = to_json(t);
        const trace::Trace back = from_json(a);
        CHECK(back == t);
        CHECK(to_json(back) == a);
    }
}

TEST_CASE("json: equal traces give identical text and one changed field changes it") {
    auto t = testing::active_nat_fail();
    const std::string a = to_json(t);
    CHECK(a == to_json(testing::active_nat_fail()));
    t.events[3].arrive_ns += 1;
    CHECK(a != to_json(t));
}

TEST_CASE("json: extreme values, binary payloads and non-ASCII text survive") {
    trace::Trace t;
    t.scenario = "edge";
    t.seed = UINT64_MAX;
    t.links.push_back({"l", "a", "b", INT64_MAX, 1.0 / 3.0, 0.1});
    trace::Event e;
    e.kind = trace::EventKind::Segment;
    e.time_ns = -5;
    e.arrive_ns = INT64_MIN;
    e.packet = UINT64_MAX;
    e.tcp_seq = UINT32_MAX;
    e.payload = std::string("\x00\xff\xfe binary\r\n", 12);
    e.text = "r\xc3\xa9seau \xe2\x86\x92 \"quoted\" \\ back";
    e.reason = std::string("\xc3", 1);  // a truncated UTF-8 sequence
    e.verdict = trace::Verdict::Rejected;
    e.src = {"2001:db8::1", 65535};
    t.events.push_back(e);
    const std::string j = to_json(t);
    CHECK(j.find("\"payload_hex\"") != std::string::npos);
    CHECK(j.find("\"reason_hex\"") != std::string::npos);
    const trace::Trace back = from_json(j);
    CHECK(back == t);
    CHECK(back.links[0].bandwidth_bps == 1.0 / 3.0);
}

TEST_CASE("json: one event per line, keys in a fixed order") {
    const std::string j = to_json(testing::rejected_syn());
    CHECK(j.rfind("{\n  \"format\": \"ftpsim-trace\",\n  \"version\": 2,\n", 0) == 0);
    const auto at = j.find("\n    {\"seq\":0,\"time_ns\":0,\"arrive_ns\":");
    CHECK(at != std::string::npos);
    CHECK(j.back() == '\n');
}

TEST_CASE("json: missing keys take defaults, unknown keys are ignored") {
    const trace::Trace t = from_json(R"({"format":"ftpsim-trace","version":1,"events":[{"kind":"note","text":"hi","extra":1}]})");
    REQUIRE(t.events.size() == 1);
    CHECK(t.events[0].kind == trace::EventKind::Note);
    CHECK(t.events[0].text == "hi");
    CHECK(t.events[0].conn == -1);
    CHECK(t.nodes.empty());
}

TEST_CASE("json: malformed input gets an error saying where and what") {
    CHECK(error_of("{\n  \"format\": \"ftpsim-trace\",\n  \"version\": 1,\n  \"events\": [,]\n}").find("line 4, column 14") !=
          std::string::npos);
    CHECK(error_of("").find("invalid JSON") != std::string::npos);
    CHECK(error_of(R"({"format":"pcap"})").find("expected \"ftpsim-trace\"") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":9})").find("unsupported version 9") != std::string::npos);
    const std::string bad_type =
        error_of(R"({"format":"ftpsim-trace","version":1,"events":[{},{"time_ns":"soon"}]})");
    CHECK(bad_type.find("events[1].time_ns") != std::string::npos);
    CHECK(bad_type.find("expected an integer, found string") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":1,"events":[{"kind":"teleport"}]})")
              .find("events[0].kind: unknown event kind \"teleport\"") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":1,"events":[{"verdict":"maybe"}]})")
              .find("unknown verdict") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":1,"links":[{"latency_ns":1.5}]})")
              .find("links[0].latency_ns") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":1,"events":[{"src":{"port":70000}}]})")
              .find("events[0].src.port: integer out of range") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":1,"events":[{"payload_hex":"abc"}]})")
              .find("odd number of hex digits") != std::string::npos);
    CHECK(error_of(R"([1,2])").find("expected an object") != std::string::npos);
}

TEST_CASE("json: version 2's typed facts, a diagnosis' kind and evidence and a fix's sets round-trip") {
    trace::Trace t;
    t.scenario = "typed";
    trace::Event fw;
    fw.kind = trace::EventKind::Middlebox;
    fw.from = "server-fw";
    fw.fact = trace::Fact::FirewallVerdict;
    fw.action = trace::Action::Reject;
    fw.rule = 3;
    fw.rule_text = "default reject";
    fw.state = "new";
    fw.flags = "S";
    fw.dst = {"198.51.100.1", 30001};
    fw.verdict = trace::Verdict::Rejected;
    t.events.push_back(fw);
    trace::Event alg;
    alg.kind = trace::EventKind::Middlebox;
    alg.fact = trace::Fact::AlgLineRewritten;
    alg.form = trace::Announce::Port;
    alg.line_before = "192,168,1,10,195,149";
    alg.line_after = "203,0,113,1,195,149";
    alg.entry = 7;
    alg.seq_delta = -1;
    alg.timeout_ns = 300 * trace::kNsPerSec;
    alg.alg_skip = trace::AlgSkip::ForeignAddress;
    alg.policy = "address-dependent";
    t.events.push_back(alg);
    trace::Event sock;
    sock.kind = trace::EventKind::Socket;
    sock.fact = trace::Fact::ConnectFailed;
    sock.error = trace::SocketError::Refused;
    sock.attempt = 2;
    t.events.push_back(sock);
    trace::Event seg;
    seg.kind = trace::EventKind::Segment;
    trace::FtpLine cmd;
    cmd.command = true;
    cmd.verb = "PORT";
    cmd.announce = trace::Announce::Port;
    cmd.announced = {"192.168.1.10", 50069};
    cmd.line = "PORT 192,168,1,10,195,149";
    trace::FtpLine rep;
    rep.code = 227;
    rep.announce = trace::Announce::Pasv227;
    rep.announced = {"10.0.0.2", 30000};
    rep.line = "227 Entering (10,0,0,2,117,48)";
    trace::FtpLine sockline;
    sockline.code = 255;
    sockline.final_line = false;
    sockline.announce = trace::Announce::Reply255;
    sockline.socket = 1234;
    sockline.line = std::string("255 SOCK \xff", 10);  // a byte that is not UTF-8
    seg.ftp = {cmd, rep, sockline};
    t.events.push_back(seg);
    trace::Diagnosis d;
    d.kind = "port-refused-foreign-address";
    d.what = "w";
    d.evidence = {1, 3};
    d.fixes.push_back(trace::make_fix("Turn on the ALG", {"nodes.r.alg.enabled=true", "nodes.r.alg.ports=[21, 2121]"}, true));
    t.outcome.diagnosis.push_back(d);
    const std::string j = to_json(t);
    CHECK(j.find("\"fact\":\"firewall-verdict\",\"action\":\"reject\",\"rule\":3") != std::string::npos);
    CHECK(j.find("\"sets\":[\"nodes.r.alg.enabled=true\",\"nodes.r.alg.ports=[21, 2121]\"]") != std::string::npos);
    CHECK(j.find("\"evidence\":[1,3]") != std::string::npos);
    CHECK(t.outcome.diagnosis[0].fixes[0].change == "nodes.r.alg.enabled=true --set nodes.r.alg.ports=[21, 2121]");
    const trace::Trace back = from_json(j);
    CHECK(back == t);
    CHECK(to_json(back) == j);
    // Unset typed fields are not written: a segment without lines stays short.
    trace::Trace plain;
    plain.events.push_back(trace::Event{});
    CHECK(to_json(plain).find("\"fact\"") == std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":2,"events":[{"fact":"nat-teleported"}]})")
              .find("events[0].fact: unknown fact \"nat-teleported\"") != std::string::npos);
    CHECK(error_of(R"({"format":"ftpsim-trace","version":2,"outcome":{"diagnosis":[{"evidence":[-1]}]}})")
              .find("outcome.diagnosis[0].evidence[0]") != std::string::npos);
}

TEST_CASE("json: every fact name parses back to its value") {
    const auto names = trace::fact_names();
    CHECK(names.size() == static_cast<std::size_t>(trace::Fact::Explain) + 1);
    for (std::size_t i = 0; i < names.size(); ++i) {
        trace::Fact f{};
        REQUIRE(trace::parse_fact(names[i], f));
        CHECK(static_cast<std::size_t>(f) == i);
    }
}

TEST_CASE("render: a sentence is made from the fields") {
    trace::Event e;
    e.kind = trace::EventKind::Middlebox;
    e.from = "home-router";
    e.fact = trace::Fact::NatMappingExpired;
    e.src = {"192.168.1.10", 50000};
    e.src_after = {"203.0.113.1", 50000};
    e.timeout_ns = 240 * trace::kNsPerSec;
    e.state = "established";
    CHECK(trace::sentence(e) ==
          "home-router: NAT mapping 192.168.1.10:50000 -> 203.0.113.1:50000 expired after 4 min idle (established)");
    e.fact = trace::Fact::FirewallVerdict;
    e.action = trace::Action::Drop;
    e.flags = "S";
    e.dst = {"2001:db8::2", 21};
    e.rule = 2;
    e.rule_text = "default drop";
    CHECK(trace::sentence(e) == "home-router: dropped SYN to [2001:db8::2]:21, rule 2 (default drop)");
    CHECK(trace::reason(e) == "rule 2 (default drop)");
    trace::Event old;
    old.text = "an older trace's sentence";
    CHECK(trace::sentence(old) == old.text);
}
