// Internal to sim/net: the small interface between the network model (runtime.hpp) and the engine
// that runs it. The model is written as a few processes, each a loop of steps that never block:
//
//   - the scheduler process: runs the applications' start functions, then Runtime::scheduler_step
//     (fire one due timer, stop, or wait for the next timer with a wake-up semaphore);
//   - one wire process per link direction (LinkModel::Scheduled): Runtime::wire_step (deliver the
//     head packet once it has arrived, sleep until its arrival, or wait on the direction's
//     semaphore while the direction is idle).
//
// An engine gives them a clock, runs them, and implements the two wake-ups the model signals.
// Two engines exist (NetConfig::engine): SimGrid (engine_simgrid.cpp: one SimGrid actor per
// process, the reference, and the only one that runs LinkModel::SimGridComm) and a
// single-threaded discrete-event loop (engine_single.cpp: no SimGrid call, for a WebAssembly
// build) that runs the same processes in the order SimGrid's maestro does, so that both give
// byte-identical traces (tests/run/test_engines.cpp checks every library scenario).
#pragma once

#include <cstdint>
#include <memory>

namespace ftpsim::net {

using TimeNs = std::int64_t;
struct Runtime;

class Scheduler {
public:
    virtual ~Scheduler() = default;
    // Simulated time since the start of the run.
    virtual TimeNs now() const = 0;
    // Releases the scheduler process's semaphore (it waits on it with a timeout).
    virtual void post_scheduler() = 0;
    // Releases link direction d's semaphore (its wire process waits on it while idle).
    virtual void post_wire(int d) = 0;
    // Runs the processes until the scheduler process ends.
    virtual void run() = 0;
};

// The SimGrid engine (engine_simgrid.cpp); it sets Runtime::stats.receiver_actors.
std::unique_ptr<Scheduler> make_simgrid_scheduler(Runtime& rt);
// The single-threaded engine (engine_single.cpp); LinkModel::Scheduled only.
std::unique_ptr<Scheduler> make_single_scheduler(Runtime& rt);

}  // namespace ftpsim::net
