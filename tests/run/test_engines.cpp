// The two engines (sim/net/scheduler.hpp): every library scenario, the teaching library and the
// rig's, gives a byte-identical JSON trace through SimGrid and through the single-threaded
// engine that a WebAssembly build would use (docs/network-model.md, "Engines").
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "trace/json.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;

namespace {

const fs::path kSource = FTPSIM_SOURCE_DIR;

std::vector<fs::path> scenarios_in(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".yaml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// The run as `ftpsim run` makes it (diagnosis, and its fixes verified by re-running: those
// runs go through the same engine), exported as JSON.
std::string json_with(const char* engine, const scenario::Scenario& s) {
    ::setenv("FTPSIM_ENGINE", engine, 1);
    std::string out = trace::to_json(sim::run(s));
    ::unsetenv("FTPSIM_ENGINE");
    return out;
}

}  // namespace

TEST_CASE("every library scenario gives the same JSON trace through SimGrid and the single-threaded engine") {
    std::vector<fs::path> all = scenarios_in(kSource / "scenarios");
    const auto rig = scenarios_in(kSource / "scenarios" / "rig");
    all.insert(all.end(), rig.begin(), rig.end());
    REQUIRE(all.size() > 150);
    int compared = 0;
    for (const auto& f : all) {
        CAPTURE(f.string());
        auto s = scenario::load_file(f.string());
        const std::string simgrid = json_with("simgrid", s);
        const std::string single = json_with("single", s);
        REQUIRE(simgrid.size() > 100);
        CHECK(simgrid == single);
        ++compared;
    }
    MESSAGE(compared << " scenarios compared");
}
