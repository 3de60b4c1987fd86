// ftpsim_bench: performance measured as ratios in one run (bench/README.md).
//
// Every measurement runs in its own forked child, so SimGrid's per-process state (one network
// model per process), the peak RSS and the allocation counter start clean, and each child
// reports "key value" lines through a pipe. Ratios compare two things timed side by side in the
// same child, alternating repetitions, so a shared, loaded machine slows both alike.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "bench/scenarios.hpp"
#include "protocol/codec.hpp"
#include "sim/net/network.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/gui/headless.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"
#include "viz/gui/backend.hpp"
#include "viz/gui/ladder_canvas.hpp"

// ---- Allocation counter: every operator new in this binary goes through here -------------------
static std::atomic<std::uint64_t> g_allocs{0};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace sg4 = simgrid::s4u;
using namespace ftpsim;
using namespace ftpsim::bench;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double cpu_seconds_self() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

long maxrss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;  // KiB on Linux
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string loadavg() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

// ---- Children -------------------------------------------------------------------------------------

using Results = std::map<std::string, double>;

// What a child reports: "key value" lines written to the pipe.
struct Report {
    FILE* out;
    void operator()(const std::string& key, double value) const {
        std::fprintf(out, "%s %.17g\n", key.c_str(), value);
        std::fflush(out);
    }
};

// Runs fn in a forked child and returns what it reported; "failed" = 1 when it crashed or threw.
// FTPSIM_BENCH_INLINE=1 runs it in this process instead (for heaptrack or perf, which follow no
// fork; the figures then include what earlier measurements left behind).
Results in_child(const std::function<void(const Report&)>& fn) {
    std::fflush(stdout);
    std::fflush(stderr);
    if (const char* inl = std::getenv("FTPSIM_BENCH_INLINE"); inl && *inl == '1') {
        std::FILE* tmp = std::tmpfile();
        Results r;
        if (!tmp) return {{"failed", 1}};
        try {
            fn(Report{tmp});
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench: %s\n", e.what());
            r["failed"] = 1;
        }
        std::rewind(tmp);
        char key[256];
        double v = 0;
        while (std::fscanf(tmp, "%255s %lg", key, &v) == 2) r[key] = v;
        std::fclose(tmp);
        return r;
    }
    int p[2];
    if (pipe(p) != 0) return {{"failed", 1}};
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        FILE* out = fdopen(p[1], "w");
        int rc = 0;
        try {
            fn(Report{out});
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench child: %s\n", e.what());
            rc = 1;
        }
        std::fclose(out);
        std::fflush(stdout);
        _exit(rc);
    }
    close(p[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    Results r;
    std::istringstream in(text);
    std::string key;
    double v = 0;
    while (in >> key >> v) r[key] = v;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r["failed"] = 1;
    return r;
}

// ---- Options ------------------------------------------------------------------------------------

struct Options {
    bool quick = false;
    int reps = 5;                       // alternating repetitions of each side of a ratio
    long pingpong_messages = 20'000;    // raw SimGrid messages per repetition
    int max_full_runs = 30;             // full-stack runs per repetition (at most)
    int sessions = 1'000;               // scale: sessions per client host
    std::vector<int> hosts = {1, 10, 100};  // scale: the sizes, as numbers of hosts (1k, 10k, 100k)
    int sweep_seeds = 32;               // a round sweeps the 96-cell matrix x this many seeds
    int sweep_rounds = 9;               // --jobs 1 / --jobs 2 alternations
    int knob_iterations = 30;
    int knob_aged_runs = 300;           // then this many more runs in the same process
    std::size_t corpus_bytes = 8u << 20;
    std::size_t render_small = 1'000, render_large = 100'000;
    int frames = 200;
    std::string only;                   // run one section: overhead|scale|sweep|parse|render
    std::string source_dir = FTPSIM_SOURCE_DIR;
    std::string ftpsim = FTPSIM_BINARY;  // the ftpsim the sweep section runs
};

// ---- 1. Simulator overhead ------------------------------------------------------------------------

// Raw SimGrid: two actors on two hosts joined by one link exchange `messages` mailbox messages
// (ping-pong: each put waits for the previous get). Same network config as the simulator's runs.
double raw_pingpong_seconds(long messages) {
    auto t0 = Clock::now();
    int argc = 1;
    char arg0[] = "ftpsim_bench";
    char* argv[] = {arg0, nullptr};
    sg4::Engine engine(&argc, argv);
    xbt_log_control_set("root.thresh:critical");
    net::use_exact_network_model();
    auto* zone = sg4::create_full_zone("pingpong");
    auto* a = zone->create_host("a", 1e9)->seal();
    auto* b = zone->create_host("b", 1e9)->seal();
    auto* link = zone->create_link("ab", 100e6)->set_latency(1e-3)->seal();
    zone->add_route(a->get_netpoint(), b->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(link)}, true);
    zone->seal();
    static int token = 0;
    const long rounds = messages / 2;
    sg4::Actor::create("ping", a, [rounds] {
        auto* mine = sg4::Mailbox::by_name("ping");
        auto* peer = sg4::Mailbox::by_name("pong");
        for (long i = 0; i < rounds; ++i) {
            peer->put(&token, 100);
            (void)mine->get<int>();
        }
    });
    sg4::Actor::create("pong", b, [rounds] {
        auto* mine = sg4::Mailbox::by_name("pong");
        auto* peer = sg4::Mailbox::by_name("ping");
        for (long i = 0; i < rounds; ++i) {
            (void)mine->get<int>();
            peer->put(&token, 100);
        }
    });
    engine.run();
    return seconds_since(t0);
}

// One repetition in a fresh process: the raw ping-pong (the process's first Engine, so it sets
// the model), then full-stack runs for about as long. Fresh per repetition because every Engine
// a process creates leaves SimGrid slower for the next ones (see the knob figures).
void overhead_rep(const Options& o, const scenario::Scenario& s, const Report& report) {
    sim::RunOptions ro;  // trace recording on (record_segments = true), as the GUI runs it
    const double raw = raw_pingpong_seconds(o.pingpong_messages);
    report("raw_per_msg", raw / static_cast<double>(o.pingpong_messages / 2 * 2));
    std::uint64_t run_hops = 0, hops = 0, events = 0;
    bool ok = true;
    int runs = 0;
    auto t0 = Clock::now();
    do {
        trace::Trace t = sim::run(s, ro);
        ok = ok && t.outcome.ok;
        hops = 0;
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.verdict == trace::Verdict::Delivered) ++hops;
        run_hops += hops;
        events = t.events.size();
        ++runs;
    } while ((seconds_since(t0) < raw && runs < o.max_full_runs) || runs < 3);
    report("full_per_hop", seconds_since(t0) / static_cast<double>(run_hops));
    report("ok", ok ? 1 : 0);
    report("hops", static_cast<double>(hops));
    report("events", static_cast<double>(events));
    report("runs", runs);
}

Results bench_overhead(const Options& o) {
    const auto s = scenario::load_string(kOverheadYaml, "bench-overhead");
    std::vector<double> full, raw;
    Results out;
    for (int r = 0; r < o.reps; ++r) {
        Results one = in_child([&](const Report& rep) { overhead_rep(o, s, rep); });
        if (one.count("failed")) return one;
        full.push_back(one["full_per_hop"]);
        raw.push_back(one["raw_per_msg"]);
        out["overhead.ok"] = one["ok"];
        out["overhead.hops_per_run"] = one["hops"];
        out["overhead.events_per_run"] = one["events"];
        out["overhead.runs"] = one["runs"];
    }
    out["overhead.full_ns_per_hop"] = median(full) * 1e9;
    out["overhead.raw_ns_per_msg"] = median(raw) * 1e9;
    out["overhead.ratio"] = median(full) / median(raw);
    return out;
}

// ---- 2. Scale ----------------------------------------------------------------------------------

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
}

// One size: `hosts` hosts with `count` sessions each, in this (forked) process.
void bench_scale(int count, int hosts, const Report& report) {
    std::string yaml = replace_all(kScaleYaml, "COUNT", std::to_string(count));
    yaml = replace_all(yaml, "HOSTS", std::to_string(hosts));
    const auto s = scenario::load_string(yaml, "bench-scale");
    const int sessions = count * hosts;
    sim::RunOptions ro;
    ro.record_segments = false;
    ro.diagnose = false;
    ro.verify_fixes = false;
    const long rss0 = maxrss_kib();
    const double cpu0 = cpu_seconds_self();
    auto t0 = Clock::now();
    trace::Trace t = sim::run(s, ro);
    const double wall = seconds_since(t0);
    const double cpu = cpu_seconds_self() - cpu0;
    const long rss1 = maxrss_kib();
    std::size_t ok_transfers = 0;
    for (const auto& tr : t.outcome.transfers) ok_transfers += tr.ok ? 1 : 0;
    report("sessions", sessions);
    report("transfers_ok", static_cast<double>(ok_transfers));
    report("wall_s", wall);
    report("cpu_s", cpu);
    report("cpu_us_per_session", cpu / sessions * 1e6);
    report("sim_s", t.events.empty() ? 0 : static_cast<double>(t.events.back().time_ns) * 1e-9);
    report("rss_delta_kib", static_cast<double>(rss1 - rss0));
    report("kib_per_session", static_cast<double>(rss1 - rss0) / sessions);
    report("trace_events", static_cast<double>(t.events.size()));
    report("events_per_s", static_cast<double>(t.events.size()) / wall);
    report("limit_reached", t.outcome.limit_reached.empty() ? 0 : 1);
}

// ---- 3. Sweep --------------------------------------------------------------------------------------

// What users run: the ftpsim binary (FTPSIM_BINARY, from CMake) sweeping the README's 96-cell
// matrix, `--jobs 1` against `--jobs 2`. A 96-cell sweep is about 0.1 s of work, too little for
// a stable ratio (fork, start-up and scheduling jitter dominate), so a round sweeps the matrix
// x N seeds (--vary seed=1..N: each cell a full simulation; the results do not depend on it).
const char* const kSweepScenario = "scenarios/matrix/which-mode-works-where.yaml";
const std::vector<std::string> kSweepVary = {
    "clients.client.mode=port,eprt,pasv,epsv,spsv,default",
    "nodes.home-router.nat.type=full-cone,restricted,port-restricted,symmetric",
    "nodes.home-router.alg.enabled=false,true",
    "nodes.server-fw.firewall.enabled=false,true",
};

struct CommandRun {
    double wall = 0;  // fork to wait4
    double cpu = 0;   // user + system of the process and the workers it reaped (wait4's rusage)
    int status = -1;  // exit status; 128 + signal when killed
    std::string out;  // standard output
};

// Runs `bin args...` with standard output in a temporary file and standard error passed through.
CommandRun run_command(const std::string& bin, const std::vector<std::string>& args) {
    CommandRun r;
    std::FILE* out = std::tmpfile();
    if (!out) return r;
    std::fflush(stdout);
    std::fflush(stderr);
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(out), STDOUT_FILENO);
        std::vector<char*> argv{const_cast<char*>(bin.c_str())};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        std::fprintf(stderr, "bench: cannot run %s: %s\n", bin.c_str(), std::strerror(errno));
        _exit(127);
    }
    int st = 0;
    rusage ru{};
    if (pid > 0 && wait4(pid, &st, 0, &ru) == pid) {
        r.wall = seconds_since(t0);
        r.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::rewind(out);
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) r.out.append(buf, n);
    std::fclose(out);
    return r;
}

std::vector<std::string> sweep_args(const Options& o, int seeds, int jobs, const std::string& format) {
    std::vector<std::string> a = {"sweep", o.source_dir + "/" + kSweepScenario};
    for (const auto& v : kSweepVary) a.insert(a.end(), {"--vary", v});
    if (seeds > 0) {
        std::string list = "seed=";
        for (int s = 1; s <= seeds; ++s) list += (s > 1 ? "," : "") + std::to_string(s);
        a.insert(a.end(), {"--vary", list});
    }
    a.insert(a.end(), {"--jobs", std::to_string(jobs), "--format", format, "--progress", "never"});
    return a;
}

struct SweepRound {
    std::string format;
    CommandRun serial, parallel;
    bool identical = false;  // same exit status 0 and the same bytes on standard output
};

struct SweepFigures {
    std::vector<SweepRound> rounds;  // the long sweep: 96 cells x seeds
    std::vector<SweepRound> plain;   // the README's command as written: 96 cells
    std::vector<CommandRun> one;     // a sweep of one cell: what every command costs
};

// Rounds of --jobs 1 and --jobs 2, alternating which goes first (a trend in the machine's load
// then slows both sides alike), each round in the next format so the byte-for-byte comparison
// covers csv, json, text and md.
std::vector<SweepRound> sweep_rounds(const Options& o, int seeds, int rounds) {
    static const char* formats[] = {"csv", "json", "text", "md"};
    std::vector<SweepRound> out;
    for (int i = 0; i < rounds; ++i) {
        SweepRound r;
        r.format = formats[i % 4];
        if (i % 2 == 0) {
            r.serial = run_command(o.ftpsim, sweep_args(o, seeds, 1, r.format));
            r.parallel = run_command(o.ftpsim, sweep_args(o, seeds, 2, r.format));
        } else {
            r.parallel = run_command(o.ftpsim, sweep_args(o, seeds, 2, r.format));
            r.serial = run_command(o.ftpsim, sweep_args(o, seeds, 1, r.format));
        }
        r.identical = r.serial.status == 0 && r.parallel.status == 0 && r.serial.out == r.parallel.out;
        out.push_back(std::move(r));
    }
    return out;
}

SweepFigures bench_sweep(const Options& o) {
    SweepFigures f;
    f.rounds = sweep_rounds(o, o.sweep_seeds, o.sweep_rounds);
    f.plain = sweep_rounds(o, 0, o.sweep_rounds);
    for (int i = 0; i < std::max(1, std::min(3, o.sweep_rounds)); ++i)
        f.one.push_back(run_command(o.ftpsim, {"sweep", o.source_dir + "/" + kSweepScenario, "--vary",
                                                "clients.client.mode=pasv", "--jobs", "1", "--format", "csv",
                                                "--progress", "never"}));
    return f;
}

// Working cells in a CSV sweep: rows whose result (the last field) is "ok".
int working_cells(const std::string& csv) {
    int ok = 0;
    std::istringstream in(csv);
    for (std::string line; std::getline(in, line);)
        if (line.size() >= 3 && line.compare(line.size() - 3, 3, ",ok") == 0) ++ok;
    return ok;
}

// The knob change -> new trace, in a child (a library scenario read from scenarios/).
Results bench_knob(const Options& o) {
    return in_child([&](const Report& rep) {
        std::ifstream f(o.source_dir + "/scenarios/home-router-alg-active-port-21.yaml");
        std::stringstream ss;
        ss << f.rdbuf();
        const std::string yaml = ss.str();
        std::vector<double> ms_ok, ms_fail;
        for (int i = 0; i < o.knob_iterations + 1; ++i) {
            // a knob that keeps the session working (the latency of the first link)
            auto t0 = Clock::now();
            auto s = scenario::load_string(yaml, "home-router-alg-active-port-21",
                                           {std::string("links.0.latency=") + (i % 2 ? "2ms" : "1ms")});
            trace::Trace t = sim::run(s);
            if (i > 0) ms_ok.push_back(seconds_since(t0) * 1e3);  // the first warms the caches
            rep("events", static_cast<double>(t.events.size()));
        }
        for (int i = 0; i < std::max(3, o.knob_iterations / 5); ++i) {
            // a knob that breaks it: diagnosis and verified fixes re-run the scenario
            auto t0 = Clock::now();
            auto s = scenario::load_string(yaml, "home-router-alg-active-port-21", {"nodes.linksys.alg.enabled=false"});
            trace::Trace t = sim::run(s);
            ms_fail.push_back(seconds_since(t0) * 1e3);
        }
        // the same knob change after many runs in the same process (a long GUI session)
        for (int i = 0; i < o.knob_aged_runs; ++i) (void)sim::run(scenario::load_string(yaml, "aged", {}));
        std::vector<double> ms_aged;
        for (int i = 0; i < 10; ++i) {
            auto t0 = Clock::now();
            auto s = scenario::load_string(yaml, "home-router-alg-active-port-21",
                                           {std::string("links.0.latency=") + (i % 2 ? "2ms" : "1ms")});
            trace::Trace t = sim::run(s);
            ms_aged.push_back(seconds_since(t0) * 1e3);
        }
        rep("ms_aged", median(ms_aged));
        rep("aged_runs", o.knob_aged_runs + o.knob_iterations + 1 + std::max(3, o.knob_iterations / 5));
        rep("ms", median(ms_ok));
        rep("ms_min", *std::min_element(ms_ok.begin(), ms_ok.end()));
        rep("ms_failing", median(ms_fail));
    });
}

// ---- 4. Parsing --------------------------------------------------------------------------------------

std::string make_corpus(std::size_t bytes) {
    static const char* replies[] = {
        "220 (vsFTPd 3.0.3)\r\n",
        "331 Please specify the password.\r\n",
        "230 Login successful.\r\n",
        "200 Switching to Binary mode.\r\n",
        "227 Entering Passive Mode (198,51,100,20,117,49).\r\n",
        "229 Entering Extended Passive Mode (|||30001|)\r\n",
        "200 PORT command successful. Consider using PASV.\r\n",
        "150 Opening BINARY mode data connection for /pub/file.bin (16384 bytes).\r\n",
        "226 Transfer complete.\r\n",
        "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n",
        "250 Directory successfully changed.\r\n",
        "257 \"/pub\" is the current directory\r\n",
        "421 Timeout.\r\n",
        "221 Goodbye.\r\n",
    };
    std::string c;
    c.reserve(bytes + 256);
    for (std::size_t i = 0; c.size() < bytes; ++i) c += replies[i % (sizeof replies / sizeof *replies)];
    return c;
}

void bench_parse(const Options& o, const Report& report) {
    const std::string corpus = make_corpus(o.corpus_bytes);
    const std::string_view all(corpus);
    std::vector<double> parse_s, scan_s;
    std::uint64_t replies = 0, allocs = 0, checksum = 0;
    bool error = false;
    for (int r = 0; r < o.reps * 2; ++r) {
        // plain memchr line scan
        auto t0 = Clock::now();
        std::uint64_t lines = 0;
        for (const char* p = corpus.data(), *end = p + corpus.size(); p < end;) {
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
            if (!nl) break;
            p = static_cast<const char*>(nl) + 1;
            ++lines;
        }
        scan_s.push_back(seconds_since(t0));
        checksum += lines;
        // the reply parser
        const std::uint64_t a0 = g_allocs.load();
        t0 = Clock::now();
        std::uint64_t n = 0;
        for (std::size_t pos = 0; pos < all.size();) {
            proto::ReplyView rv;
            const auto res = proto::parse_reply(all.substr(pos), rv);
            if (res.status != proto::ParseStatus::Ok) {
                error = true;
                break;
            }
            checksum += static_cast<std::uint64_t>(rv.code);
            pos += res.consumed;
            ++n;
        }
        const double took = seconds_since(t0);
        allocs = g_allocs.load() - a0;
        parse_s.push_back(took);
        replies = n;
    }
    const double mb = static_cast<double>(corpus.size()) / 1e6;
    const double parse_mbps = mb / *std::min_element(parse_s.begin(), parse_s.end());
    const double scan_mbps = mb / *std::min_element(scan_s.begin(), scan_s.end());
    report("parse.error", error ? 1 : 0);
    report("parse.corpus_mb", mb);
    report("parse.replies", static_cast<double>(replies));
    report("parse.parser_mb_s", parse_mbps);
    report("parse.memchr_mb_s", scan_mbps);
    report("parse.ratio", parse_mbps / scan_mbps);
    report("parse.allocs_per_reply", replies ? static_cast<double>(allocs) / static_cast<double>(replies) : -1);
    report("parse.checksum", static_cast<double>(checksum % 1000));
}

// ---- 5. Rendering -------------------------------------------------------------------------------------

void bench_render(const Options& o, const Report& report) {
    gui::testing::HeadlessImGui im(1280, 800);
    const trace::Trace small_t = gui::make_long_trace(o.render_small);
    const trace::Trace large_t = gui::make_long_trace(o.render_large);
    const auto small = viz::layout(small_t);
    const auto large = viz::layout(large_t);
    auto view_for = [&](const viz::Diagram& d) {
        gui::View v;
        v.canvas_min = {0, 0};
        v.canvas_max = {1280, 800};
        v.font = im.font();
        v.zoom = 1.0f;
        gui::scroll_to(d, v, d.height * 0.5);  // the middle of the trace: the search has work to do
        return v;
    };
    im.frame([](ImDrawList*) {});  // the font atlas is ready after a frame
    const gui::View vs = view_for(small), vl = view_for(large);
    std::vector<double> fs, fl;
    gui::LadderStats ss, sl;
    int vtx_small = 0, vtx_large = 0;
    for (int i = 0; i < o.frames + 10; ++i) {
        auto t0 = Clock::now();
        vtx_small = im.frame([&](ImDrawList* l) { ss = gui::draw_ladder(l, small, vs); }).VtxBuffer.Size;
        const double a = seconds_since(t0);
        t0 = Clock::now();
        vtx_large = im.frame([&](ImDrawList* l) { sl = gui::draw_ladder(l, large, vl); }).VtxBuffer.Size;
        const double b = seconds_since(t0);
        if (i >= 10) fs.push_back(a), fl.push_back(b);  // 10 warm-up frames
    }
    report("render.small_items", static_cast<double>(small.items.size()));
    report("render.large_items", static_cast<double>(large.items.size()));
    report("render.large_events", static_cast<double>(large_t.events.size()));
    report("render.small_us", median(fs) * 1e6);
    report("render.large_us", median(fl) * 1e6);
    report("render.ratio", median(fl) / median(fs));
    report("render.small_drawn", static_cast<double>(ss.drawn + ss.fold_marks));
    report("render.large_drawn", static_cast<double>(sl.drawn + sl.fold_marks));
    report("render.small_vtx", vtx_small);
    report("render.large_vtx", vtx_large);

    // exports of the large trace
    auto t0 = Clock::now();
    const auto d = viz::layout(large_t);
    report("export.layout_ms", seconds_since(t0) * 1e3);
    t0 = Clock::now();
    const std::string svg = viz::to_svg(d);
    report("export.svg_ms", seconds_since(t0) * 1e3);
    report("export.svg_mb", static_cast<double>(svg.size()) / 1e6);
    t0 = Clock::now();
    const std::string pcap = viz::to_pcap(large_t);
    report("export.pcap_ms", seconds_since(t0) * 1e3);
    report("export.pcap_mb", static_cast<double>(pcap.size()) / 1e6);
}

// ---- Output ----------------------------------------------------------------------------------------

void row(const char* what, const std::string& value, const char* target, int met /* 1 met, 0 missed, -1 none */) {
    std::printf("  %-58s %16s   %-10s %s\n", what, value.c_str(), target,
                met < 0 ? "" : met ? "met" : "MISSED");
}

std::string fmt(double v, const char* f = "%.2f") {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

int usage() {
    std::fprintf(stderr,
                 "usage: ftpsim_bench [--quick] [--only overhead|scale|sweep|parse|render] [--reps N]\n"
                 "                    [--sessions N] [--hosts H1,H2,H3] [--pingpong N] [--full-runs N] [--aged-runs N] [--seeds N] [--rounds N] [--corpus-mb N]\n"
                 "                    [--render-events SMALL,LARGE] [--frames N] [--knob-iterations N] [--ftpsim PATH]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(usage());
            }
            return args[++i];
        };
        if (a == "--quick") {
            o.quick = true;
            o.reps = 1;
            o.pingpong_messages = 2'000;
            o.max_full_runs = 3;
            o.knob_aged_runs = 3;
            o.sessions = 20;
            o.hosts = {1, 2, 4};
            o.sweep_seeds = 1;
            o.sweep_rounds = 1;
            o.knob_iterations = 2;
            o.corpus_bytes = 64u << 10;
            o.render_small = 200;
            o.render_large = 2'000;
            o.frames = 5;
        } else if (a == "--only") o.only = next();
        else if (a == "--reps") o.reps = std::max(1, std::atoi(next().c_str()));
        else if (a == "--sessions") o.sessions = std::max(1, std::atoi(next().c_str()));
        else if (a == "--hosts") {
            o.hosts.clear();
            std::stringstream ss(next());
            for (std::string item; std::getline(ss, item, ',');) o.hosts.push_back(std::max(1, std::atoi(item.c_str())));
            if (o.hosts.empty()) return usage();
        }
        else if (a == "--full-runs") o.max_full_runs = std::max(3, std::atoi(next().c_str()));
        else if (a == "--aged-runs") o.knob_aged_runs = std::max(0, std::atoi(next().c_str()));
        else if (a == "--pingpong") o.pingpong_messages = std::max(2L, std::atol(next().c_str()));
        else if (a == "--seeds") o.sweep_seeds = std::max(1, std::atoi(next().c_str()));
        else if (a == "--rounds") o.sweep_rounds = std::max(1, std::atoi(next().c_str()));
        else if (a == "--corpus-mb") o.corpus_bytes = static_cast<std::size_t>(std::atof(next().c_str()) * (1 << 20));
        else if (a == "--frames") o.frames = std::max(1, std::atoi(next().c_str()));
        else if (a == "--knob-iterations") o.knob_iterations = std::max(1, std::atoi(next().c_str()));
        else if (a == "--render-events") {
            std::string v = next();
            auto comma = v.find(',');
            if (comma == std::string::npos) return usage();
            o.render_small = std::strtoul(v.substr(0, comma).c_str(), nullptr, 10);
            o.render_large = std::strtoul(v.substr(comma + 1).c_str(), nullptr, 10);
        } else if (a == "--source-dir") o.source_dir = next();
        else if (a == "--ftpsim") o.ftpsim = next();
        else if (a == "-h" || a == "--help") return usage(), 0;
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return usage();
        }
    }
    auto want = [&](const char* s) { return o.only.empty() || o.only == s; };

    const std::string load_start = loadavg();
    std::printf("ftpsim_bench%s: nproc %ld, %s, load average %s\n", o.quick ? " --quick" : "",
                sysconf(_SC_NPROCESSORS_ONLN), cpu_model().c_str(), load_start.c_str());
    std::printf("  %-58s %16s   %-10s %s\n", "measurement", "value", "target", "");
    int failures = 0;
    auto check_child = [&](const Results& r, const char* name) {
        if (r.count("failed")) {
            std::printf("  %s: the measurement failed (see stderr)\n", name);
            ++failures;
            return false;
        }
        return true;
    };

    if (want("overhead")) {
        Results r = bench_overhead(o);
        std::printf("1. Simulator overhead (delivered message = one segment arriving at the next node (a hop);\n"
                    "   raw = one SimGrid mailbox message of a ping-pong; same CM02 config, same process)\n");
        if (check_child(r, "overhead")) {
            row("full stack: wall per delivered hop (NAT+firewall+ALG, trace)", fmt(r["overhead.full_ns_per_hop"], "%.0f ns"), "", -1);
            row("raw SimGrid ping-pong: wall per message", fmt(r["overhead.raw_ns_per_msg"], "%.0f ns"), "", -1);
            row("  (hops per run / trace events per run / outcome ok)",
                fmt(r["overhead.hops_per_run"], "%.0f") + " / " + fmt(r["overhead.events_per_run"], "%.0f") + " / " +
                    (r["overhead.ok"] ? "yes" : "no"), "", -1);
            row("RATIO full / raw", fmt(r["overhead.ratio"]), "<= 1.5", r["overhead.ratio"] <= 1.5);
        }
    }
    if (want("scale")) {
        std::printf("2. Scale: sessions from H hosts (%d each, 10 s apart) behind one NAT with the pool 1024-65535\n"
                    "   (login, get 512 B, quit; no segment events); cost per session = CPU time / sessions\n",
                    o.sessions);
        std::vector<Results> sizes;
        for (int h : o.hosts) {
            // A size under 50,000 sessions runs in 3 children (1 with --quick) and reports the
            // median CPU per session and its range: on a loaded machine one short child's CPU
            // time varies by +-20% (caches shared with other processes); the largest size runs once.
            const int runs = o.quick || o.sessions * h >= 50'000 ? 1 : 3;
            std::vector<Results> rs;
            for (int i = 0; i < runs; ++i) {
                rs.push_back(in_child([&](const Report& rep) { bench_scale(o.sessions, h, rep); }));
                if (rs.back().count("failed")) break;
            }
            std::sort(rs.begin(), rs.end(),
                      [](Results& a, Results& b) { return a["cpu_us_per_session"] < b["cpu_us_per_session"]; });
            Results r = rs[rs.size() / 2];
            for (auto& x : rs)
                if (x.count("failed")) r = x;  // check_child reports it
            char what[96];
            std::snprintf(what, sizeof what, "%d sessions (%d host%s): cpu per session (wall, transfers ok)",
                          o.sessions * h, h, h == 1 ? "" : "s");
            if (!check_child(r, "scale")) break;
            std::string range;
            if (rs.size() > 1)
                range = "; median of " + std::to_string(rs.size()) + ": " + fmt(rs.front()["cpu_us_per_session"], "%.0f") +
                        "-" + fmt(rs.back()["cpu_us_per_session"], "%.0f us");
            row(what, fmt(r["cpu_us_per_session"], "%.0f us") + " (" + fmt(r["wall_s"], "%.1f s") + ", " +
                          fmt(r["transfers_ok"], "%.0f") + range + ")", "", -1);
            std::snprintf(what, sizeof what, "  peak memory per session; trace events; simulated time");
            row(what, fmt(r["kib_per_session"], "%.1f KiB") + "; " + fmt(r["trace_events"], "%.0f") + "; " +
                          fmt(r["sim_s"], "%.0f s"), "", -1);
            if (r["transfers_ok"] != r["sessions"] || r["limit_reached"] > 0) {
                std::printf("  scale: not every session succeeded\n");
                ++failures;
            }
            sizes.push_back(r);
        }
        if (sizes.size() == o.hosts.size() && sizes.size() >= 2) {
            Results& first = sizes.front();
            Results& last = sizes.back();
            char what[96];
            std::snprintf(what, sizeof what, "RATIO cpu per session, %.0f / %.0f sessions", last["sessions"], first["sessions"]);
            const double ratio = last["cpu_us_per_session"] / first["cpu_us_per_session"];
            row(what, fmt(ratio), "<= 1.3", ratio <= 1.3);
            std::snprintf(what, sizeof what, "peak memory per session at %.0f sessions", last["sessions"]);
            row(what, fmt(last["kib_per_session"], "%.1f KiB"), "<= 32 KiB", last["kib_per_session"] <= 32);
        }
    }
    if (want("sweep")) {
        SweepFigures sw = bench_sweep(o);
        Results knob = bench_knob(o);
        const int cells = 96 * o.sweep_seeds;
        std::printf("3. Sweep: `ftpsim sweep` of the README's 96 cells (mode{port,eprt,pasv,epsv,spsv,default}\n"
                    "   x NAT{full-cone,restricted,port-restricted,symmetric} x ALG{off,on} x server firewall{off,on})\n"
                    "   x seed{1..%d} = %d cells; %d round(s) of --jobs 1 vs --jobs 2, alternating; the binary:\n"
                    "   %s\n",
                    o.sweep_seeds, cells, o.sweep_rounds, o.ftpsim.c_str());
        std::vector<double> serial, parallel, serial_cpu, parallel_cpu, speedup, cores1, cores2;
        int identical = 0, failed_runs = 0;
        auto sides = [&](const std::vector<SweepRound>& rounds) {
            serial.clear(), parallel.clear(), serial_cpu.clear(), parallel_cpu.clear();
            speedup.clear(), cores1.clear(), cores2.clear();
            for (const auto& r : rounds) {
                identical += r.identical;
                failed_runs += (r.serial.status != 0) + (r.parallel.status != 0);
                serial.push_back(r.serial.wall), parallel.push_back(r.parallel.wall);
                serial_cpu.push_back(r.serial.cpu), parallel_cpu.push_back(r.parallel.cpu);
                speedup.push_back(r.serial.wall / std::max(1e-9, r.parallel.wall));
                cores1.push_back(r.serial.cpu / std::max(1e-9, r.serial.wall));
                cores2.push_back(r.parallel.cpu / std::max(1e-9, r.parallel.wall));
            }
        };
        sides(sw.plain);
        const double plain_speedup = median(speedup), plain_serial = median(serial), plain_cpu = median(serial_cpu),
                     plain_cores = median(cores2);
        sides(sw.rounds);  // the long sweep's figures stay in the vectors
        const int runs = 2 * static_cast<int>(sw.rounds.size() + sw.plain.size());
        for (const auto& r : sw.one) failed_runs += r.status != 0;
        if (failed_runs > 0) {
            std::printf("  sweep: %d of %d ftpsim sweep runs failed (see stderr)\n", failed_runs,
                        runs + static_cast<int>(sw.one.size()));
            ++failures;
        }
        const int ok = sw.rounds.empty() || sw.rounds[0].format != "csv" ? -1 : working_cells(sw.rounds[0].serial.out);
        row("working cells (--jobs 1, csv)", fmt(ok, "%.0f") + " / " + std::to_string(cells), "", -1);
        row("output, --jobs 2 vs 1: identical bytes (csv/json/text/md)",
            std::to_string(identical) + " / " + std::to_string(runs / 2) + " rounds", "all", identical == runs / 2);
        if (identical != runs / 2) ++failures;
        const double s1 = median(serial), s2 = median(parallel), c1 = median(cores1), c2 = median(cores2);
        row("cells per second per core (--jobs 1 wall)", fmt(cells / s1, "%.0f"), "", -1);
        row("  (--jobs 1: wall / cpu; cores obtained = cpu / wall)",
            fmt(s1, "%.2f s") + " / " + fmt(median(serial_cpu), "%.2f s") + "; " + fmt(c1), "", -1);
        row("  (--jobs 2: wall / cpu; cores obtained)",
            fmt(s2, "%.2f s") + " / " + fmt(median(parallel_cpu), "%.2f s") + "; " + fmt(c2), "", -1);
        row("  (cpu of --jobs 2 / --jobs 1: work the workers add)", fmt(median(parallel_cpu) / median(serial_cpu)), "", -1);
        std::string each;
        for (double x : speedup) each += (each.empty() ? "" : " ") + fmt(x);
        row("  (speed-up of each round)", each, "", -1);
        // The target holds when two cores were obtained: the 2-job runs got >= 1.8 cores and the
        // 1-job runs a whole one (on a loaded machine the scheduler gives two processes more of
        // it than one, and the ratio says nothing about the code).
        const bool two_cores = c2 >= 1.8 && c1 >= 0.9;
        const double sp = median(speedup);
        row("speed-up with 2 jobs (when two cores were obtained)", fmt(sp), ">= 1.8", two_cores ? sp >= 1.8 : -1);
        if (!two_cores)
            std::printf("  (not judged: two cores were not obtained; cores obtained %.2f with --jobs 2 (>= 1.8 needed),\n"
                        "   %.2f with --jobs 1 (>= 0.9 needed))\n", c2, c1);
        std::vector<double> one_cpu, one_wall;
        for (const auto& r : sw.one) one_cpu.push_back(r.cpu), one_wall.push_back(r.wall);
        row("96 cells alone (the README's command): speed-up; cores", fmt(plain_speedup) + "; " + fmt(plain_cores), "", -1);
        // Amdahl: what a command costs whatever its cells (start-up: the dynamic linker binds
        // libsimgrid and ns-3) is serial, so a sweep of 0.1 s cannot reach 1.8.
        const double fixed = median(one_cpu), bound = plain_cpu / (fixed + (plain_cpu - fixed) / 2);
        row("  (--jobs 1 wall / cpu; cpu of a 1-cell sweep; its bound)",
            fmt(plain_serial, "%.2f s") + " / " + fmt(plain_cpu, "%.2f s") + "; " + fmt(fixed * 1e3, "%.0f ms") + "; " +
                fmt(bound), "", -1);
        if (check_child(knob, "knob")) {
            row("knob change -> new trace (load_string --set + run)", fmt(knob["ms"], "%.2f ms"), "< 5 ms", knob["ms"] < 5);
            row("  (fastest; a breaking knob with diagnosis + verified fixes)",
                fmt(knob["ms_min"], "%.2f ms") + "; " + fmt(knob["ms_failing"], "%.1f ms"), "", -1);
            char what[96];
            std::snprintf(what, sizeof what, "  (the same after %.0f earlier runs in the process)", knob["aged_runs"]);
            row(what, fmt(knob["ms_aged"], "%.2f ms"), "", -1);
        }
    }
    if (want("parse")) {
        Results r = in_child([&](const Report& rep) { bench_parse(o, rep); });
        std::printf("4. Parsing: parse_reply over a %.1f MB corpus of server replies vs a memchr line scan\n",
                    r["parse.corpus_mb"]);
        if (check_child(r, "parse")) {
            if (r["parse.error"] > 0) std::printf("  parse_reply refused part of the corpus!\n"), ++failures;
            row("parse_reply throughput", fmt(r["parse.parser_mb_s"], "%.0f MB/s"), "", -1);
            row("memchr line scan throughput", fmt(r["parse.memchr_mb_s"], "%.0f MB/s"), "", -1);
            row("RATIO parser / memchr", fmt(r["parse.ratio"]), ">= 0.3", r["parse.ratio"] >= 0.3);
            row("heap allocations per parsed reply", fmt(r["parse.allocs_per_reply"], "%.3f"), "0",
                r["parse.allocs_per_reply"] == 0);
        }
    }
    if (want("render")) {
        Results r = in_child([&](const Report& rep) { bench_render(o, rep); });
        std::printf("5. Rendering: headless ImGui frame with draw_ladder at zoom 1, scrolled to the middle\n");
        if (check_child(r, "render")) {
            row("frame at small trace (items drawn / vertices)",
                fmt(r["render.small_us"], "%.0f us") + " (" + fmt(r["render.small_drawn"], "%.0f") + "/" +
                    fmt(r["render.small_vtx"], "%.0f") + ")", "", -1);
            row("frame at large trace (items drawn / vertices)",
                fmt(r["render.large_us"], "%.0f us") + " (" + fmt(r["render.large_drawn"], "%.0f") + "/" +
                    fmt(r["render.large_vtx"], "%.0f") + ")", "", -1);
            row("  (layout items: small / large)",
                fmt(r["render.small_items"], "%.0f") + " / " + fmt(r["render.large_items"], "%.0f"), "", -1);
            row("RATIO frame large / small", fmt(r["render.ratio"]), "<= 2", r["render.ratio"] <= 2);
            char what[96];
            std::snprintf(what, sizeof what, "layout of the %.0f-event trace", r["render.large_events"]);
            row(what, fmt(r["export.layout_ms"], "%.0f ms"), "", -1);
            row("SVG export (to_svg of that layout)", fmt(r["export.svg_ms"], "%.0f ms") + fmt(r["export.svg_mb"], " %.1f MB"), "", -1);
            row("pcap export (to_pcap, client side)", fmt(r["export.pcap_ms"], "%.0f ms") + fmt(r["export.pcap_mb"], " %.1f MB"), "", -1);
        }
    }
    std::printf("load average at the end: %s\n", loadavg().c_str());
    return failures ? 1 : 0;
}
