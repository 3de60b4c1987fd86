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
// `text` and `reason` are rendered from `fact` when the note is made (make_note): for display
// and for tests of the wording, never to be parsed. `verdict` is Dropped or Rejected only on the
// note that decided the packet's fate.
struct MiddleboxNote {
    NoteKind kind = NoteKind::Conntrack;
    std::string text;  // "home-router: NAT mapped 192.168.1.10:50069 -> 203.0.113.1:50069"
    trace::Verdict verdict = trace::Verdict::None;
    std::string reason;
    trace::Event fact;
};

// A note from its fact: verdict from fact.verdict, text and reason rendered.
inline MiddleboxNote make_note(NoteKind kind, trace::Event fact) {
    fact.kind = trace::EventKind::Middlebox;
    MiddleboxNote n;
    n.kind = kind;
    n.verdict = fact.verdict;
    n.text = trace::sentence(fact);
    n.reason = trace::reason(fact);
    n.fact = std::move(fact);
    return n;
}

const char* to_string(NoteKind k);

}  // namespace ftpsim::mbox
