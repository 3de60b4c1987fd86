// Running a scenario: the builder that turns a Scenario into a network, middleboxes and FTP
// sessions (ns-3's "helper"), runs it, and returns the trace with its outcome and diagnosis.
#pragma once

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "trace/trace.hpp"

namespace ftpsim::mbox {
struct RouterSnapshot;  // sim/mbox/router.hpp
}

namespace ftpsim::sim {

struct RunOptions {
    bool diagnose = true;        // fill trace.outcome.diagnosis when the run failed
    bool verify_fixes = true;    // re-run the scenario with each proposed fix, keep those that work
    bool record_segments = true; // one event per segment per hop (off: faster, for sweeps)
};

// A run is a pure function of (scenario, seed): the same input gives a byte-identical trace.
// Throws scenario::ScenarioError for a scenario the network cannot be built from (no route, ...).
trace::Trace run(const scenario::Scenario& s, const RunOptions& o = {});

// The simulation alone (no diagnosis), also returning each router's tables (NAT mappings,
// conntrack, ALG expectations, firewall hits) as they stand at the trace's last event, in the
// scenario's node order. Read-only, for tests that compare what the GUI rebuilds from the trace
// with the routers' real state.
trace::Trace run_with_router_tables(const scenario::Scenario& s,
                                    std::vector<std::pair<std::string, mbox::RouterSnapshot>>& tables);

// Differences between what the scenario expects and what happened; empty when it matches.
std::vector<std::string> check_expectation(const scenario::Scenario& s, const trace::Outcome& got);

}  // namespace ftpsim::sim
