#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/commands.hpp"
#include "app/output.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"

namespace ftpsim::app {

namespace {
// `ftpsim run ID`: a library id (as `ftpsim list` prints it) names the library's file, unless a
// file of that name exists here.
std::string resolve_scenario(const std::string& arg) {
    if (arg.empty() || std::filesystem::exists(arg) || arg.find('/') != std::string::npos) return arg;
    const std::filesystem::path p = std::filesystem::path(library_dir()) / (arg + ".yaml");
    return std::filesystem::exists(p) ? p.string() : arg;
}
}  // namespace

int cmd_run(const RunFlags& f) {
    scenario::Scenario s;
    try {
        s = f.file.empty() ? scenario::load_string(kDefaultScenarioYaml,
                                                   std::string(kDefaultScenarioName) + ".yaml", f.sets)
                           : scenario::load_file(resolve_scenario(f.file), f.sets);
    } catch (const scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitBadInput;
    }
    for (const auto& p : f.exports)
        if (!viz::format_from_path(p)) {
            std::fprintf(stderr,
                         "--export %s: unknown file extension; expected .svg .puml .plantuml .mmd .msc "
                         ".txt .json or .pcap\n",
                         p.c_str());
            return kExitBadInput;
        }

    sim::RunOptions ro;
    ro.verify_fixes = !f.no_verify;
    trace::Trace t;
    try {
        t = sim::run(s, ro);
    } catch (const scenario::ScenarioError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitBadInput;
    }

    viz::ExportOptions eo;
    if (std::string err = export_options(f.view, t, eo); !err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return kExitBadInput;
    }
    bool colour = colour_wanted(f.view.color);
    std::cout << s.title << "\n";
    if (!s.description.empty()) std::cout << s.description << "\n";
    std::cout << "\n";
    bool text_refused = false;
    if (!f.quiet) {
        viz::TextOptions to = eo.text;
        to.ansi_colour = colour;
        try {
            std::cout << viz::to_text(viz::layout(t, eo.layout), to) << "\n";
        } catch (const viz::ExportError& e) {  // too large for text: say so, as for --export x.txt
            std::fprintf(stderr, "ftpsim run: %s (or use --quiet)\n", e.what());
            text_refused = true;  // the outcome and the exports still follow; the status says it
        }
    }
    std::cout << outcome_text(t, colour);
    for (const auto& n : t.model_notes) std::cout << "Model: " << n << "\n";
    if (std::string err = write_exports(f.exports, t, eo); !err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return kExitBadInput;
    }
    return text_refused ? kExitBadInput : kExitOk;
}

}  // namespace ftpsim::app
