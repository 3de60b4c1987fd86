// A readable digest of a trace for golden files: the control conversation, socket and middlebox
// events, drops and rejects, one summary line per data connection, the outcome, and a hash of the
// full JSON so that any difference at all (a nanosecond, a byte) changes the golden file.
#pragma once

#include <cstdint>
#include <string>

#include "sim/trace/trace.hpp"

namespace ftpsim::sim {

std::string trace_digest(const trace::Trace& t);
std::uint64_t fnv1a64(const std::string& bytes);

}  // namespace ftpsim::sim
