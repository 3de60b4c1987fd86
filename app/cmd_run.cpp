#include <cstdio>
#include <filesystem>
#include <fstream>
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
std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

// `ftpsim run ID --compare KEY=VALUE`: the scenario as given (with its --set values) and again
// with the --compare values on top; both outcomes printed, each .svg export holds both ladders
// side by side with a heading naming the values.
int cmd_run_compare(const RunFlags& f, const scenario::Scenario& a) {
    for (const auto& p : f.exports)
        if (viz::format_from_path(p) != viz::Format::Svg) {
            print_error("--export " + p + ": --compare writes .svg exports only (both ladders side by side)");
            return kExitBadInput;
        }
    std::vector<std::string> sets_b = f.sets;
    sets_b.insert(sets_b.end(), f.compare.begin(), f.compare.end());
    scenario::Scenario b;
    try {
        b = f.file.empty() ? scenario::load_string(kDefaultScenarioYaml, std::string(kDefaultScenarioName) + ".yaml", sets_b)
                           : scenario::load_file(resolve_scenario(f.file), sets_b);
    } catch (const scenario::ScenarioError& e) {
        print_error(std::string("--compare: ") + e.what());
        return kExitBadInput;
    }
    sim::RunOptions ro;
    ro.verify_fixes = !f.no_verify;
    trace::Trace ta, tb;
    try {
        ta = sim::run(a, ro);
        tb = sim::run(b, ro);
    } catch (const scenario::ScenarioError& e) {
        print_error(e.what());
        return kExitBadInput;
    }
    viz::ExportOptions eo;
    if (std::string err = export_options(f.view, ta, eo); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    const std::string head_a = f.sets.empty() ? "as written" : joined(f.sets);
    std::vector<std::string> named_b;  // the --set values the --compare ones do not replace, then those
    for (const auto& x : f.sets) {
        const auto key = x.substr(0, x.find('='));
        bool replaced = false;
        for (const auto& c : f.compare) replaced = replaced || c.substr(0, c.find('=')) == key;
        if (!replaced) named_b.push_back(x);
    }
    named_b.insert(named_b.end(), f.compare.begin(), f.compare.end());
    const std::string head_b = joined(named_b);
    const bool colour = colour_wanted(f.view.color);
    std::cout << a.title << "\n\n";
    std::cout << "== " << head_a << "\n" << outcome_text(ta, colour) << "\n";
    std::cout << "== " << head_b << "\n" << outcome_text(tb, colour);
    if (f.exports.empty()) return kExitOk;
    std::string svg;
    try {
        svg = viz::side_by_side_svg({{head_a, viz::to_svg(viz::layout(ta, eo.layout), eo.svg)},
                                     {head_b, viz::to_svg(viz::layout(tb, eo.layout), eo.svg)}},
                                    eo.svg.font_size);
    } catch (const viz::ExportError& e) {
        print_error(std::string("--compare: ") + e.what());
        return kExitBadInput;
    }
    for (const auto& p : f.exports) {
        std::ofstream out(p, std::ios::binary);
        out.write(svg.data(), static_cast<std::streamsize>(svg.size()));
        if (!out) {
            print_error("--export " + p + ": cannot write the file");
            return kExitBadInput;
        }
    }
    return kExitOk;
}
}  // namespace

int cmd_run(const RunFlags& f) {
    scenario::Scenario s;
    try {
        s = f.file.empty() ? scenario::load_string(kDefaultScenarioYaml,
                                                   std::string(kDefaultScenarioName) + ".yaml", f.sets)
                           : scenario::load_file(resolve_scenario(f.file), f.sets);
    } catch (const scenario::ScenarioError& e) {
        print_error(e.what());
        return kExitBadInput;
    }
    for (const auto& p : f.exports)
        if (!viz::find_exporter(p)) {
            print_error("--export " + p + ": unknown file extension; expected " + viz::export_extensions());
            return kExitBadInput;
        }

    if (!f.compare.empty()) return cmd_run_compare(f, s);

    sim::RunOptions ro;
    ro.verify_fixes = !f.no_verify;
    trace::Trace t;
    try {
        t = sim::run(s, ro);
    } catch (const scenario::ScenarioError& e) {
        print_error(e.what());
        return kExitBadInput;
    }

    viz::ExportOptions eo;
    if (std::string err = export_options(f.view, t, eo); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    bool colour = colour_wanted(f.view.color);
    std::cout << s.title << "\n";
    if (!s.description.empty()) std::cout << s.description << "\n";
    std::cout << "\n";
    bool text_refused = false;
    if (!f.quiet) text_refused = !print_ladder(t, eo, colour, "run", " (or use --quiet)");
    std::cout << outcome_text(t, colour);
    for (const auto& n : t.model_notes) std::cout << "Model: " << n << "\n";
    if (std::string err = write_exports(f.exports, t, eo); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    return text_refused ? kExitBadInput : kExitOk;
}

}  // namespace ftpsim::app
