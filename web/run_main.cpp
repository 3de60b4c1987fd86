// The browser build's engine under Node.js (issue #21's equality test, tests/web/engine_equal.sh):
//   node ftpsim-run.js SCENARIO.yaml [--set KEY=VALUE]...
// loads the scenario with the same loader, runs it on the single-threaded engine compiled to
// WebAssembly (the code the page runs) and prints the JSON trace, byte for byte what
// `ftpsim run SCENARIO.yaml --export out.json` writes natively.
#include <cstdio>
#include <string>
#include <vector>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "viz/export.hpp"

int main(int argc, char** argv) {
    std::string path;
    std::vector<std::string> sets;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--set" && i + 1 < argc) sets.push_back(argv[++i]);
        else if (path.empty()) path = a;
        else {
            std::fprintf(stderr, "usage: ftpsim-run SCENARIO.yaml [--set KEY=VALUE]...\n");
            return 2;
        }
    }
    if (path.empty()) {
        std::fprintf(stderr, "usage: ftpsim-run SCENARIO.yaml [--set KEY=VALUE]...\n");
        return 2;
    }
    try {
        const auto scenario = ftpsim::scenario::load_file(path, sets);
        const auto trace = ftpsim::sim::run(scenario);
        const std::string json = ftpsim::viz::export_for_path(trace, "trace.json");
        std::fwrite(json.data(), 1, json.size(), stdout);
        return 0;
    } catch (const ftpsim::scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ftpsim-run: %s\n", e.what());
        return 1;
    }
}
