// The one place where an event's typed fields become the sentence a user reads.
//
// The simulator fills an event's fields (trace/trace.hpp, enum Fact); the sentence is rendered at
// the edge: an event whose sentence comes from its fields (rendered(e)) stores no text, and every
// writer and display (JSON, text, SVG, Mermaid, the GUI, the digest) shows text(e). Readers that
// decide anything (the diagnosis, the GUI's tables, the rig's analyser) read the fields.
#pragma once

#include <string>

#include "trace/trace.hpp"

namespace ftpsim::trace {

// The sentence for an event. An event without a typed fact (fact == None: a segment, an older
// trace, a free-form note) and the protocol core's narration (Explain and the client/server
// decisions) keep their recorded text. Which facts are rendered and how is one switch in
// render.cpp, read by both sentence() and rendered(); a Fact without a case there does not compile.
std::string sentence(const Event& e);

// rendered(e) and text(e), the sentence to show: trace/trace.hpp (next to Event).

// The short cause of a dropped or rejected packet, for e.reason ("no route to 10.0.0.9:21",
// "rule 3 (default drop)"). Empty when the event decided no packet's fate.
std::string reason(const Event& e);

// "192.168.1.10:50069", "[2001:db8::1]:21", "192.168.1.10:*" (port 0), "" (no address).
std::string endpoint_text(const Endpoint& e);
// "45 s", "4 min", "2 h 4 min": a NAT or conntrack timeout.
std::string duration_text(TimeNs ns);
// "1 s", "200 ms", "1500 us": a TCP timer.
std::string timer_text(TimeNs ns);
// "SYN", "SYN-ACK", "RST", "FIN", "data", "ACK": a packet as a middlebox note names it, from the
// event's flags and payload length.
std::string packet_word(const Event& e);

}  // namespace ftpsim::trace
