// The single-threaded engine: the model's processes (scheduler.hpp) run by a discrete-event loop
// with no SimGrid call, in the order SimGrid 3.32's maestro runs the same processes as actors,
// so that both engines give byte-identical traces (tests/run/test_engines.cpp).
//
// What it reproduces of SimGrid (measured with small SimGrid programs, and by the test):
//   - Rounds. At one instant, the processes ready to run form a list; each runs until its next
//     simcall (a semaphore release, an acquire, a sleep), then the maestro handles the simcalls
//     in list order. A release hands the semaphore to its waiter, which joins the next list
//     before the releasing process (the releaser runs on afterwards); a release with no waiter
//     raises the count, and a later acquire returns at once.
//   - Wake-up order. Timed waits (sleep_until, acquire_timeout) that end at the same instant
//     wake in the order: earlier instant of creation first; among waits created at the same
//     instant, the one created last first.
//   - A process's code runs one step at a time (the applications' start, a timer fired, a
//     packet delivered); the semaphores a step posts are released when the step has ended
//     (both engines: engine_simgrid.cpp defers them too, since a release in the middle of a
//     step would let other actors run between its two halves), one per round, and the process
//     goes on with its next step only after them.
//   - The run ends when the scheduler process ends (the others are daemons); the processes
//     already in the current list still run (they see Runtime::stopping).
#include <cstdint>
#include <deque>
#include <queue>
#include <vector>

#include "sim/net/runtime.hpp"

namespace ftpsim::net {

namespace {

class SingleScheduler final : public Scheduler {
public:
    explicit SingleScheduler(Runtime& rt) : rt_(rt) {}

    TimeNs now() const override { return now_; }
    void post_scheduler() override { release(sched_proc()); }
    void post_wire(int d) override { release(d); }
    void run() override;

private:
    struct Call {
        enum Kind : std::uint8_t { Release, Acquire, AcquireTimeout, Sleep, Exit } kind = Exit;
        int target = -1;  // Release
        TimeNs at = 0;    // AcquireTimeout, Sleep
    };
    struct Proc {
        std::deque<Call> calls;      // simcalls issued by its code, not yet handled
        bool started = false;
        bool mid_loop = false;       // stopped after releasing (not waiting): resumes its loop
        bool blocked = false;        // waits on its semaphore
        bool timed = false;          // has a live timed wait
        std::uint64_t timed_id = 0;  // which heap entry is live
        int count = 0;               // its semaphore's value
        bool done = false;
    };
    struct Wake {
        TimeNs at;
        std::uint64_t batch;  // the instant of creation (counted)
        std::uint64_t seq;    // creation order
        int proc;
        std::uint64_t id;
        // std::priority_queue pops the greatest: the earliest instant, then the earliest batch,
        // then the latest created.
        bool operator<(const Wake& o) const {
            if (at != o.at) return at > o.at;
            if (batch != o.batch) return batch > o.batch;
            return seq < o.seq;
        }
    };

    int sched_proc() const { return static_cast<int>(procs_.size()) - 1; }
    void release(int target);
    void run_code(int p);
    void handle(int p, std::vector<int>& next);
    void wait_until(int p, TimeNs at);

    Runtime& rt_;
    TimeNs now_ = 0;
    std::vector<Proc> procs_;  // the wire processes (one per link direction), then the scheduler
    std::priority_queue<Wake> wakes_;
    std::uint64_t batch_ = 0, seq_ = 0, next_id_ = 1;
    int current_ = -1;  // the process whose code runs
};

void SingleScheduler::release(int target) {
    if (current_ >= 0) {
        procs_[static_cast<std::size_t>(current_)].calls.push_back(Call{Call::Release, target, 0});
        return;
    }
    Proc& t = procs_[static_cast<std::size_t>(target)];  // not from a process: cannot happen in a run
    ++t.count;
}

void SingleScheduler::wait_until(int p, TimeNs at) {
    Proc& pr = procs_[static_cast<std::size_t>(p)];
    pr.timed = true;
    pr.timed_id = next_id_++;
    wakes_.push(Wake{at, batch_, seq_++, p, pr.timed_id});
}

// Runs p's code from where it stopped up to its next wait (or its end), or up to the end of a
// step that posted semaphores: each release suspends the releasing actor until the woken one
// has run, so the rest of its loop (the next due timer) waits for the releases to be handled.
void SingleScheduler::run_code(int p) {
    Proc& pr = procs_[static_cast<std::size_t>(p)];
    current_ = p;
    TimeNs until = 0;
    const bool resumed = pr.mid_loop;
    pr.mid_loop = false;
    if (p == sched_proc()) {
        if (!pr.started) {
            pr.started = true;
            rt_.start_apps();
            if (!pr.calls.empty()) {
                pr.mid_loop = true;
                current_ = -1;
                return;
            }
        } else if (!resumed) {
            rt_.sched_waiting = false;  // back from acquire_timeout
        }
        while (true) {
            Runtime::Step s = rt_.scheduler_step(until);
            if (s == Runtime::Step::Again) {
                if (pr.calls.empty()) continue;
                pr.mid_loop = true;
                break;
            }
            if (s == Runtime::Step::Stop) {
                rt_.stopping = true;
                pr.calls.push_back(Call{Call::Exit, -1, 0});
                break;
            }
            rt_.sched_waiting = true;
            rt_.sched_wake_posted = false;
            pr.calls.push_back(Call{Call::AcquireTimeout, -1, until});
            break;
        }
    } else {
        pr.started = true;
        while (true) {
            Runtime::Step s = rt_.wire_step(p, until);
            if (s == Runtime::Step::Again) {
                if (pr.calls.empty()) continue;
                pr.mid_loop = true;
                break;
            }
            pr.calls.push_back(s == Runtime::Step::Wait ? Call{Call::Sleep, -1, until} : Call{Call::Acquire, -1, 0});
            break;
        }
    }
    current_ = -1;
}

// The maestro handles p's next simcall.
void SingleScheduler::handle(int p, std::vector<int>& next) {
    Proc& pr = procs_[static_cast<std::size_t>(p)];
    Call c = pr.calls.front();
    pr.calls.pop_front();
    switch (c.kind) {
    case Call::Release: {
        Proc& t = procs_[static_cast<std::size_t>(c.target)];
        if (t.blocked) {
            t.blocked = false;
            t.timed = false;  // its timeout, if any, is cancelled
            next.push_back(c.target);
        } else {
            ++t.count;
        }
        next.push_back(p);
        break;
    }
    case Call::Acquire:
    case Call::AcquireTimeout:
        if (pr.count > 0) {
            --pr.count;
            next.push_back(p);
        } else {
            pr.blocked = true;
            if (c.kind == Call::AcquireTimeout) wait_until(p, c.at);
        }
        break;
    case Call::Sleep: wait_until(p, c.at); break;
    case Call::Exit: pr.done = true; break;
    }
}

void SingleScheduler::run() {
    const bool wires = rt_.cfg.link_model == LinkModel::Scheduled;
    procs_.resize((wires ? rt_.dirs.size() : 0) + 1);
    // At time 0 every process runs, in the order SimGrid's actors were created.
    std::vector<int> list;
    for (std::size_t i = 0; i < procs_.size(); ++i) list.push_back(static_cast<int>(i));
    std::vector<int> next;
    Proc& sched = procs_.back();
    while (true) {
        while (!list.empty()) {
            for (int p : list)
                if (procs_[static_cast<std::size_t>(p)].calls.empty()) run_code(p);
            if (sched.done || (!sched.calls.empty() && sched.calls.front().kind == Call::Exit)) {
                sched.done = true;
                rt_.stats.end_ns = now_;
                return;
            }
            next.clear();
            for (int p : list) handle(p, next);
            list.swap(next);
        }
        // Nothing runnable at this instant: the next timed wake-ups.
        while (!wakes_.empty()) {
            const Wake& w = wakes_.top();
            const Proc& pr = procs_[static_cast<std::size_t>(w.proc)];
            if (pr.timed && pr.timed_id == w.id) break;
            wakes_.pop();  // cancelled
        }
        if (wakes_.empty()) break;  // nothing will ever happen (the scheduler always has a timeout)
        now_ = wakes_.top().at;
        ++batch_;
        while (!wakes_.empty() && wakes_.top().at == now_) {
            Wake w = wakes_.top();
            wakes_.pop();
            Proc& pr = procs_[static_cast<std::size_t>(w.proc)];
            if (!pr.timed || pr.timed_id != w.id) continue;
            pr.timed = false;
            pr.blocked = false;  // an acquire_timeout that timed out
            list.push_back(w.proc);
        }
    }
    rt_.stopping = true;
    rt_.stats.end_ns = now_;
}

}  // namespace

std::unique_ptr<Scheduler> make_single_scheduler(Runtime& rt) { return std::make_unique<SingleScheduler>(rt); }

}  // namespace ftpsim::net
