// Running a scenario: the builder that turns a Scenario into a network, middleboxes and FTP
// sessions (ns-3's "helper"), runs it, and returns the trace with its outcome and diagnosis.
#pragma once

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/trace/trace.hpp"

namespace ftpsim::sim {

struct RunOptions {
    bool diagnose = true;        // fill trace.outcome.diagnosis when the run failed
    bool verify_fixes = true;    // re-run the scenario with each proposed fix, keep those that work
    bool record_segments = true; // one event per segment per hop (off: faster, for sweeps)
};

// A run is a pure function of (scenario, seed): the same input gives a byte-identical trace.
// Throws scenario::ScenarioError for a scenario the network cannot be built from (no route, ...).
trace::Trace run(const scenario::Scenario& s, const RunOptions& o = {});

// Differences between what the scenario expects and what happened; empty when it matches.
std::vector<std::string> check_expectation(const scenario::Scenario& s, const trace::Outcome& got);

}  // namespace ftpsim::sim
