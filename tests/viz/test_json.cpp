#include <doctest/doctest.h>

#include "seed_traces.hpp"
#include "sim/trace/json.hpp"

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
    CHECK(j.rfind("{\n  \"format\": \"ftpsim-trace\",\n  \"version\": 1,\n", 0) == 0);
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
