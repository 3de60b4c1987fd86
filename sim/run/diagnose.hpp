// Diagnosis: a table of rules over the trace's typed facts (never its sentences). Reads a failed
// run's trace and says, in a learner's words, what happened, why, and
// which changes fix it. Every fix is a set of scenario overrides (--set); with verification on,
// the scenario is re-run with each candidate and only the ones that make it work are offered.
#pragma once

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "trace/trace.hpp"

namespace ftpsim::sim {

// One control-connection line, as its sender wrote it (the typed trace::FtpLine of a segment).
struct ControlLine {
    trace::TimeNs time_ns = 0;
    int conn = -1;
    std::string from;  // sending node
    std::string to;    // receiving node (the far end)
    std::string text;  // without CRLF (for display only)
    bool from_client = false;
    std::uint64_t seq = 0;  // the segment event that completed it
    trace::FtpLine ftp;     // direction, verb or code, the announced endpoint
};

// The control conversation of a trace, each line once, in time order.
std::vector<ControlLine> control_lines(const trace::Trace& t);

void diagnose(const scenario::Scenario& s, trace::Trace& t, bool verify);

// Every change the diagnosis may offer for `s`, in the order it tries them (a finding then keeps
// those that address its cause and, with verification, that work), unverified.
std::vector<trace::Fix> fix_candidates(const scenario::Scenario& s);

// Runs on every trace, failed or not: a server that opened a data connection to a host its
// client never logged in to (RFC 2577's bounce attack) gets a warning with its verified fix.
void review_security(const scenario::Scenario& s, trace::Trace& t, bool verify);

}  // namespace ftpsim::sim
