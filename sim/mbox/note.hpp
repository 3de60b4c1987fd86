// What a middlebox tells the trace about one decision: a typed fact (trace::Event's fact and
// fields, trace/trace.hpp), with its sentence rendered from the fields by trace::sentence.
#pragma once

#include <string>

#include "trace/render.hpp"
#include "trace/trace.hpp"

namespace ftpsim::mbox {

using trace::TimeNs;

// The table or stage that decided (the GUI groups by it).
enum class NoteKind { Conntrack, Nat, PortForward, Firewall, Alg, Route };

// One decision. `fact` holds what was decided (fact, action, addresses before/after, flags,
// timeout, rule, ...; its kind, time, node, conn and packet are filled in by the recorder).
// `verdict` is Dropped or Rejected only on the note that decided the packet's fate, and `reason`
// (rendered from `fact` by make_note) says why, for the hop's drop reason.
// The sentence is rendered at the edge, from the fact (sentence(), trace::text): make_note does
// not render one per note, since the router makes notes on the per-packet path and the recorder
// keeps the fact, not the text. `text` holds a sentence only for a note whose fact is not one
// trace::rendered() renders (a hand-written note with Fact::None); never to be parsed.
struct MiddleboxNote {
    NoteKind kind = NoteKind::Conntrack;
    std::string text;
    trace::Verdict verdict = trace::Verdict::None;
    std::string reason;
    trace::Event fact;

    // "home-router: NAT mapped 192.168.1.10:50069 -> 203.0.113.1:50069 (port 50069 kept)": for
    // display and for tests of the wording.
    std::string sentence() const { return text.empty() ? trace::sentence(fact) : text; }
};

// A note from its fact: verdict from fact.verdict, reason rendered; text only for a fact the
// trace does not render itself.
inline MiddleboxNote make_note(NoteKind kind, trace::Event fact) {
    fact.kind = trace::EventKind::Middlebox;
    MiddleboxNote n;
    n.kind = kind;
    n.verdict = fact.verdict;
    if (!trace::rendered(fact)) n.text = trace::sentence(fact);
    n.reason = trace::reason(fact);  // empty (no allocation) for a fact that decides nothing
    n.fact = std::move(fact);
    return n;
}

const char* to_string(NoteKind k);

}  // namespace ftpsim::mbox
