// What a middlebox tells the trace about one decision.
#pragma once

#include <string>

#include "sim/trace/trace.hpp"

namespace ftpsim::mbox {

using trace::TimeNs;

enum class NoteKind { Conntrack, Nat, PortForward, Firewall, Alg, Route };

// One decision, in words for the learner. `verdict` is Dropped or Rejected only on the note that
// decided the packet's fate; `reason` is the short cause ("rule 3 (default drop)").
struct MiddleboxNote {
    NoteKind kind = NoteKind::Conntrack;
    std::string text;  // "home-router: NAT mapped 192.168.1.10:50069 -> 203.0.113.1:50069"
    trace::Verdict verdict = trace::Verdict::None;
    std::string reason;
};

const char* to_string(NoteKind k);

}  // namespace ftpsim::mbox
