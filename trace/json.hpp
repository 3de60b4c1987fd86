// The trace's lossless JSON form (docs/exports.md, "JSON").
//
// to_json writes keys in a fixed order with fixed formatting (one node, link, connection or event
// per line), so equal traces give byte-identical text and a golden trace diffs line by line.
// from_json(to_json(t)) == t for every trace. Strings that are not valid UTF-8 (a binary payload)
// are written as "<key>_hex" instead of "<key>".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "trace/trace.hpp"

namespace ftpsim::trace {

// Malformed input: the message names where (line and column, or the JSON path such as
// "events[3].time_ns") and what was expected and found.
class JsonError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// 1: the first format. 2: typed facts on events (fact, action, error, ... ftp), a diagnosis'
// kind and evidence, a fix's sets (docs/trace.md). Version 1 traces still load (defaults).
constexpr int kJsonFormatVersion = 2;

std::string to_json(const Trace& trace);

// Missing keys take the field's default (traces written before a field was added still load);
// unknown keys are ignored. A wrong type, a bad enum name or invalid JSON throws JsonError.
Trace from_json(std::string_view text);

}  // namespace ftpsim::trace
