// A readable digest of a trace for golden files (tests/golden/<scenario>.txt), one concept per
// section so that a change shows where it belongs:
//   == dialogue        the control lines as their senders wrote them (typed FtpLine)
//   == middlebox       the middleboxes' decisions, grouped by kind (trace::Fact), in time order
//   == sockets         socket and timer events
//   == applications    the applications' notes (faults, the protocol core's decisions)
//   == drops           every dropped or rejected segment with its cause
//   == data            one summary line per data connection
//   == outcome         the transfers, and each finding's kind, evidence (by fact) and fixes
// There is no hash of the whole trace: byte-identity is the determinism test's job.
#pragma once

#include <cstdint>
#include <string>

#include "trace/trace.hpp"

namespace ftpsim::sim {

std::string trace_digest(const trace::Trace& t);
std::uint64_t fnv1a64(const std::string& bytes);

}  // namespace ftpsim::sim
