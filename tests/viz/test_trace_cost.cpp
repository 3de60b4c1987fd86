// The trace's cost per event (issue #20): an event is small, and its sentence is rendered at the
// edge (trace::text) rather than stored, with every output the same as when it was stored.
#include <doctest/doctest.h>

#include "trace/json.hpp"
#include "trace/render.hpp"

using namespace ftpsim;

// A segment event is recorded for every hop of every packet: its size is most of a trace's memory
// (about 24 events per session at 100,000 sessions) and of the recorder's cost per hop. It was 728
// bytes with every field inline; the fields few events use are ColdStrings now. Raise this bound
// only with a reason: a new field that most events leave empty belongs in a ColdString.
static_assert(sizeof(trace::Event) <= 560, "trace::Event grew: keep rarely used fields out of line (ColdString)");

TEST_CASE("trace cost: a ColdString stores nothing when empty and reads like a string") {
    trace::ColdString a;
    CHECK(a.empty());
    CHECK(a == "");
    CHECK(a.str().empty());
    a = "address-dependent";
    CHECK(a == "address-dependent");
    CHECK(a.size() == 17u);
    CHECK("(" + a + ")" == "(address-dependent)");
    CHECK(a.find("dependent") == 8u);
    trace::ColdString b = a;  // a deep copy
    a = std::string();
    CHECK(a.empty());
    CHECK(b == "address-dependent");
    CHECK(!(a == b));
    a = std::string_view("address-dependent");
    CHECK(a == b);
    const std::string& s = b;
    CHECK(s == "address-dependent");
}

TEST_CASE("trace cost: a rendered fact stores no sentence; text() and JSON render it") {
    trace::Trace t;
    trace::Event e;
    e.kind = trace::EventKind::Middlebox;
    e.from = "home-router";
    e.fact = trace::Fact::NatMappingCreated;
    e.src = {"192.168.1.10", 50000};
    e.src_after = {"203.0.113.1", 50000};
    e.entry = 1;
    CHECK(trace::rendered(e));
    CHECK(e.text.empty());
    const std::string sentence = "home-router: NAT mapped 192.168.1.10:50000 -> 203.0.113.1:50000 (port 50000 kept)";
    CHECK(trace::text(e) == sentence);
    t.events.push_back(e);

    // The core's narration and free notes keep their recorded text.
    trace::Event narration;
    narration.fact = trace::Fact::ClientGiveUp;
    narration.text = "the client gives up";
    CHECK_FALSE(trace::rendered(narration));
    CHECK(trace::text(narration) == "the client gives up");
    t.events.push_back(narration);

    // A segment with a middlebox's fact keeps its own (empty) label: its sentence is the note's.
    trace::Event seg = e;
    seg.kind = trace::EventKind::Segment;
    seg.fact = trace::Fact::NatInboundFiltered;
    CHECK_FALSE(trace::rendered(seg));
    CHECK(trace::text(seg).empty());
    t.events.push_back(seg);

    const std::string json = trace::to_json(t);
    CHECK(json.find("\"text\":\"" + sentence + "\"") != std::string::npos);
    const trace::Trace back = trace::from_json(json);
    CHECK(back == t);  // the sentence read back is dropped again: it is the fields'
    CHECK(back.events[0].text.empty());
    CHECK(trace::to_json(back) == json);

    // A trace written with another wording keeps it, byte for byte.
    trace::Trace old = t;
    old.events[0].text = "home-router: an older wording";
    const std::string old_json = trace::to_json(old);
    CHECK(old_json.find("an older wording") != std::string::npos);
    const trace::Trace old_back = trace::from_json(old_json);
    CHECK(trace::text(old_back.events[0]) == "home-router: an older wording");
    CHECK(trace::to_json(old_back) == old_json);
}

// Every fact whose sentence is the recorded text must keep its text. rendered() and sentence()
// once listed those facts separately, and a fact added to one list only (server-command-queue-limit,
// found in the merge of session 5) lost its sentence in the trace; both now read one switch
// (trace/render.cpp), and this walk over every fact keeps them agreeing.
TEST_CASE("trace cost: a fact whose sentence is its recorded text is never rendered at the edge") {
    int facts = 0;
    for (unsigned u = 0; u < 256; ++u) {
        const auto f = static_cast<trace::Fact>(u);
        trace::Fact back{};
        if (!trace::parse_fact(trace::to_string(f), back) || back != f) continue;
        ++facts;
        trace::Event e;
        e.kind = trace::EventKind::Note;
        e.fact = f;
        e.text = "<recorded text>";
        INFO("fact ", trace::to_string(f));
        if (trace::sentence(e) == e.text) CHECK_FALSE(trace::rendered(e));
        else CHECK(trace::rendered(e));
    }
    CHECK(facts > 40);
}
