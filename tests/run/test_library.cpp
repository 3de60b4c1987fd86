// The teaching library end to end: every scenario meets its expected outcome, matches its golden
// trace, runs deterministically, and every failure comes with a cause and a verified fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/run/digest.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "sim/trace/json.hpp"
#include "viz/export.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;

namespace {

const fs::path kSource = FTPSIM_SOURCE_DIR;

std::vector<fs::path> library() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(kSource / "scenarios"))
        if (e.path().extension() == ".yaml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("every library scenario meets its expected outcome") {
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        sim::RunOptions o;
        o.verify_fixes = false;
        auto t = sim::run(s, o);
        auto diffs = sim::check_expectation(s, t.outcome);
        std::string all;
        for (const auto& d : diffs) all += d + "; ";
        CHECK_MESSAGE(diffs.empty(), all);
    }
}

TEST_CASE("every library scenario matches its golden trace") {
    bool update = std::getenv("UPDATE_GOLDEN") != nullptr;
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        std::string got = sim::trace_digest(sim::run(s));
        fs::path golden = kSource / "tests" / "golden" / (f.stem().string() + ".txt");
        if (update) {
            std::ofstream(golden, std::ios::binary) << got;
            continue;
        }
        REQUIRE_MESSAGE(fs::exists(golden), "no golden trace; run with UPDATE_GOLDEN=1");
        CHECK(got == slurp(golden));
    }
}

TEST_CASE("the same scenario and seed give byte-identical JSON, SVG and pcap") {
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        sim::RunOptions o;
        o.verify_fixes = false;
        auto a = sim::run(s, o);
        auto b = sim::run(s, o);
        CHECK(trace::to_json(a) == trace::to_json(b));
        CHECK(viz::export_trace(a, viz::Format::Svg) == viz::export_trace(b, viz::Format::Svg));
        CHECK(viz::export_trace(a, viz::Format::Pcap) == viz::export_trace(b, viz::Format::Pcap));
    }
}

TEST_CASE("the diagnosis of every failing library scenario names its cause and a verified fix") {
    int failing = 0;
    for (const auto& f : library()) {
        CAPTURE(f.filename().string());
        auto s = scenario::load_file(f.string());
        auto t = sim::run(s);
        if (t.outcome.ok) {
            // A run that works is only diagnosed for a security problem (the bounce attack).
            for (const auto& d : t.outcome.diagnosis) CHECK(d.what.rfind("Security:", 0) == 0);
            continue;
        }
        ++failing;
        REQUIRE(!t.outcome.diagnosis.empty());
        const auto& d = t.outcome.diagnosis.front();
        CHECK(!d.what.empty());
        CHECK(!d.cause.empty());
        bool verified = std::any_of(d.fixes.begin(), d.fixes.end(), [](const auto& x) { return x.verified; });
        if (s.expect && !s.expect->no_fix.empty())
            CHECK(d.fixes.empty());  // a refused attack: nothing to "fix"
        else
            CHECK_MESSAGE(verified, d.what);
        // A verified fix really works: apply it and run again.
        for (const auto& fix : d.fixes) {
            auto sets = s.sets;
            std::string change = fix.change;
            for (std::size_t p; (p = change.find(" --set ")) != std::string::npos;) {
                sets.push_back(change.substr(0, p));
                change.erase(0, p + 7);
            }
            sets.push_back(change);
            auto fixed = scenario::load_file(f.string(), sets);
            sim::RunOptions o;
            o.diagnose = false;
            CHECK_MESSAGE(sim::run(fixed, o).outcome.ok, fix.change);
        }
    }
    MESSAGE(failing << " failing scenarios diagnosed");
}
