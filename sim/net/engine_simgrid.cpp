// The SimGrid engine: the platform (one SimGrid host per node, one link per topology link), one
// actor per process of the model (scheduler.hpp), and LinkModel::SimGridComm's egress and
// receiver actors. The only file of sim/net that includes SimGrid.
#include <cmath>
#include <string>
#include <vector>

#include <simgrid/s4u.hpp>
#include <xbt/config.hpp>
#include <xbt/log.h>

#include "sim/net/runtime.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define FTPSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FTPSIM_ASAN 1
#endif
#endif
#ifndef FTPSIM_ASAN
#define FTPSIM_ASAN 0
#endif

namespace ftpsim::net {

namespace sg4 = simgrid::s4u;

void use_exact_network_model() {
    namespace cfg = simgrid::config;
    if (cfg::get_value<std::string>("network/model") != "CM02") sg4::Engine::set_config("network/model:CM02");
    if (cfg::get_value<bool>("network/crosstraffic")) sg4::Engine::set_config("network/crosstraffic:0");
    // KiB per actor: SimGridComm mode may run thousands of receiver actors.
    if (cfg::get_value<int>("contexts/stack-size") != 256) sg4::Engine::set_config("contexts/stack-size:256");
}

namespace {

class SimGridScheduler final : public Scheduler {
public:
    explicit SimGridScheduler(Runtime& rt) : rt_(rt) {}

    // SimGrid's double seconds become int64 nanoseconds here only (rounded to the nearest ns);
    // its clock is not reset between Engines of one process, so a run measures from its start.
    TimeNs now() const override {
        if (ended_) return end_;
        return static_cast<TimeNs>(std::llround((sg4::Engine::get_clock() - start_clock_) * 1e9));
    }
    // Deferred to the end of the step that posts (flush): a release suspends the releasing actor
    // until the woken one has run, so releasing in the middle of a step would let other actors
    // run between two halves of it. At a step's end, the order is the same in both engines.
    void post_scheduler() override { pending_.push_back(sched_wake_.get()); }
    void post_wire(int d) override { pending_.push_back(wake_[static_cast<std::size_t>(d)].get()); }
    void run() override;

private:
    double to_sim_time(TimeNs t) const { return start_clock_ + static_cast<double>(t) * 1e-9; }
    // Releases what the step that just ended posted, in order. Each release may run other
    // actors (their steps post and flush their own), so the list is taken first.
    void flush() {
        if (pending_.empty()) return;
        std::vector<sg4::Semaphore*> mine;
        mine.swap(pending_);
        for (sg4::Semaphore* s : mine) s->release();
    }
    void scheduler_loop();
    void delivery_loop(int d);
    void egress_loop(int d);
    void spawn_receiver(int node);
    void receiver_loop(int node, int k);

    Runtime& rt_;
    double start_clock_ = 0;
    bool ended_ = false;  // the Engine is gone: now() is the end of the run
    TimeNs end_ = 0;
    std::vector<sg4::Host*> hosts_;
    std::vector<sg4::SemaphorePtr> wake_;  // per link direction
    sg4::SemaphorePtr sched_wake_;
    std::vector<sg4::Semaphore*> pending_;  // posted by the running step
    // LinkModel::SimGridComm: receiver actors, each with its own mailbox: a comm starts only when
    // its receiver waits, so every packet on the wire needs a waiting receiver; a private mailbox
    // keeps the match O(1).
    std::vector<std::vector<sg4::Mailbox*>> receivers_;
    std::vector<std::vector<int>> idle_receivers_;
};

void SimGridScheduler::run() {
    Runtime& rt = rt_;
    char arg0[] = "ftpsim";
#if FTPSIM_ASAN
    // Under AddressSanitizer every actor runs on its own thread: Debian's SimGrid is built
    // without ASan's fiber annotations, so ASan cannot follow its raw context switches
    // (docs/reliability.md, "Sanitizer build"). Parsed by the first Engine of the process only.
    char arg1[] = "--log=root.thresh:critical";
    char arg2[] = "--cfg=contexts/factory:thread";
    char* argv[] = {arg0, arg1, arg2, nullptr};
    int argc = 3;
#else
    char* argv[] = {arg0, nullptr};
    int argc = 1;
#endif
    sg4::Engine engine(&argc, argv);
    xbt_log_control_set("root.thresh:critical");
    use_exact_network_model();
    start_clock_ = sg4::Engine::get_clock();

    // One SimGrid host per node, one SimGrid link per topology link, routes between neighbours
    // only: packets travel hop by hop, forwarded by the nodes.
    auto* zone = sg4::create_full_zone("ftpsim");
    for (auto& n : rt.nodes) hosts_.push_back(zone->create_host(n.spec->name, 1e9)->seal());
    for (const auto& l : rt.topo.links()) {
        auto* link = zone->create_link(l.name, l.bandwidth_bps)
                         ->set_latency(static_cast<double>(l.latency_ns) * 1e-9)
                         ->seal();
        zone->add_route(hosts_[static_cast<std::size_t>(l.a.node)]->get_netpoint(),
                        hosts_[static_cast<std::size_t>(l.b.node)]->get_netpoint(), nullptr, nullptr,
                        {sg4::LinkInRoute(link)}, true);
    }
    zone->seal();
    receivers_.resize(rt.nodes.size());
    idle_receivers_.resize(rt.nodes.size());

    for (std::size_t d = 0; d < rt.dirs.size(); ++d) {
        wake_.push_back(sg4::Semaphore::create(0));
        const std::string& link = rt.topo.links()[static_cast<std::size_t>(rt.dirs[d].link)].name;
        if (rt.cfg.link_model == LinkModel::Scheduled) {
            sg4::Actor::create("wire:" + link + (d % 2 ? ":ba" : ":ab"), hosts_[static_cast<std::size_t>(rt.dirs[d].to)],
                               [this, d] { delivery_loop(static_cast<int>(d)); });
            continue;
        }
        sg4::Actor::create("tx:" + link + (d % 2 ? ":ba" : ":ab"), hosts_[static_cast<std::size_t>(rt.dirs[d].from)],
                           [this, d] { egress_loop(static_cast<int>(d)); });
    }
    sched_wake_ = sg4::Semaphore::create(0);
    sg4::Actor::create("scheduler", hosts_.front(), [this] { scheduler_loop(); });

    engine.run();
    // The clock as the run ended, while the Engine still exists; SimGrid objects must go
    // before their Engine does.
    end_ = rt.stats.end_ns = now();
    ended_ = true;
    wake_.clear();
    sched_wake_ = nullptr;
}

// The only non-daemon actor: the applications' start functions, then the timers; the run ends
// with it.
void SimGridScheduler::scheduler_loop() {
    rt_.start_apps();
    flush();
    TimeNs until = 0;
    while (true) {
        Runtime::Step s = rt_.scheduler_step(until);
        flush();
        if (s == Runtime::Step::Stop) break;
        if (s == Runtime::Step::Again) continue;
        rt_.sched_waiting = true;
        rt_.sched_wake_posted = false;
        sched_wake_->acquire_timeout(std::max(0.0, to_sim_time(until) - sg4::Engine::get_clock()));
        rt_.sched_waiting = false;
    }
    rt_.stopping = true;
}

// LinkModel::Scheduled: one actor per link direction sleeps until its head packet's arrival.
void SimGridScheduler::delivery_loop(int d) {
    sg4::Actor::self()->daemonize();
    TimeNs until = 0;
    while (true) {
        Runtime::Step s = rt_.wire_step(d, until);
        flush();
        switch (s) {
        case Runtime::Step::Again: break;
        case Runtime::Step::Wait: sg4::this_actor::sleep_until(to_sim_time(until)); break;
        case Runtime::Step::Stop: wake_[static_cast<std::size_t>(d)]->acquire(); break;
        }
    }
}

// LinkModel::SimGridComm: one actor per link direction, FIFO store-and-forward. A packet
// occupies the transmitter for its serialisation time; then it propagates as a zero-size
// SimGrid communication over the link, which under CM02 without cross-traffic takes exactly the
// link's latency. The next packet starts serialising as soon as this one has, so packets
// pipeline on the link.
void SimGridScheduler::egress_loop(int d) {
    sg4::Actor::self()->daemonize();
    LinkDir& dir = rt_.dirs[static_cast<std::size_t>(d)];
    const std::uint32_t header = rt_.cfg.tcp.header_bytes;
    auto& idle = idle_receivers_[static_cast<std::size_t>(dir.to)];
    while (true) {
        if (dir.queue.empty()) {
            dir.idle = true;
            wake_[static_cast<std::size_t>(d)]->acquire();
            continue;
        }
        InFlight* p = dir.queue.front();
        dir.queue.pop_front();
        p->sent_ns = now();
        double wire_bits = 8.0 * static_cast<double>(header + p->pkt.payload.size());
        sg4::this_actor::sleep_for(wire_bits / dir.bandwidth_bps);
        p->lost = dir.loss > 0 && dir.rng.uniform() < dir.loss;
        if (idle.empty()) spawn_receiver(dir.to);
        int k = idle.back();
        idle.pop_back();
        receivers_[static_cast<std::size_t>(dir.to)][static_cast<std::size_t>(k)]->put_init(p, 0)->detach();
    }
}

void SimGridScheduler::spawn_receiver(int node) {
    const auto n = static_cast<std::size_t>(node);
    int k = static_cast<int>(receivers_[n].size());
    std::string name = "rx:" + rt_.nodes[n].spec->name + ":" + std::to_string(k);
    receivers_[n].push_back(sg4::Mailbox::by_name(name));
    idle_receivers_[n].push_back(k);
    ++rt_.stats.receiver_actors;
    sg4::Actor::create(name, hosts_[n], [this, node, k] { receiver_loop(node, k); });
}

void SimGridScheduler::receiver_loop(int node, int k) {
    sg4::Actor::self()->daemonize();
    const auto n = static_cast<std::size_t>(node);
    sg4::Mailbox* mailbox = receivers_[n][static_cast<std::size_t>(k)];
    while (true) {
        auto* p = mailbox->get<InFlight>();
        try {
            rt_.reach_far_end(p->dir, p);
        } catch (const std::exception& e) {
            rt_.fail(std::string("on ") + rt_.nodes[n].spec->name + ": " + e.what());
        }
        flush();
        idle_receivers_[n].push_back(k);
    }
}

}  // namespace

std::unique_ptr<Scheduler> make_simgrid_scheduler(Runtime& rt) { return std::make_unique<SimGridScheduler>(rt); }

}  // namespace ftpsim::net
