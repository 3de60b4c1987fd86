// ftpsim list and ftpsim check: the scenario library and its expected outcomes.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/commands.hpp"
#include "app/output.hpp"
#include "protocol/client_profile.hpp"
#include "protocol/server_profile.hpp"
#include "sim/mbox/nat.hpp"
#include "sim/run/run.hpp"
#include "trace/printable.hpp"
#include "viz/export.hpp"
#include "sim/scenario/loader.hpp"

namespace fs = std::filesystem;

namespace ftpsim::app {

namespace {

// Files named directly, and the .yaml files of folders (sorted; with `recursive`, those of their
// subfolders too, e.g. the library's matrix/ and rig/); "" when a path doesn't exist.
std::string collect(const std::vector<std::string>& paths, std::vector<std::string>& out, bool recursive) {
    for (const auto& p : paths) {
        if (fs::is_directory(p)) {
            std::vector<std::string> found;
            auto add = [&found](const fs::directory_entry& e) {
                if (e.is_regular_file() && e.path().extension() == ".yaml") found.push_back(e.path().string());
            };
            if (recursive)
                for (const auto& e : fs::recursive_directory_iterator(p)) add(e);
            else
                for (const auto& e : fs::directory_iterator(p)) add(e);
            std::sort(found.begin(), found.end());
            out.insert(out.end(), found.begin(), found.end());
        } else if (fs::exists(p)) {
            out.push_back(p);
        } else {
            return p + ": no such file or folder";
        }
    }
    return "";
}

std::string expected_summary(const scenario::Scenario& s) {
    if (!s.expect || !s.expect->ok) return "-";
    std::string out = *s.expect->ok ? "works" : "fails";
    for (const auto& t : s.expect->transfers)
        if (t.reply) out.append(" ").append(std::to_string(*t.reply));  // not " " + ...: GCC 12's false -Wrestrict
    return out;
}

}  // namespace

namespace {

// `ftpsim list profiles|exporters|nat|keys`: what the registries hold, one per line.
int list_registry(const std::string& what) {
    if (what == "profiles") {
        for (const auto& p : proto::client_profiles())
            std::cout << "client  " << p.name << "  " << p.description << "\n";
        for (const auto& p : proto::server_profiles())
            std::cout << "server  " << p.name << "  " << p.description << "\n";
    } else if (what == "exporters") {
        for (const auto& x : viz::exporters()) {
            std::string exts;
            for (auto e : x.extensions) exts += (exts.empty() ? "." : " .") + std::string(e);
            std::cout << x.name << "  " << exts << "  " << x.label << "\n";
        }
    } else if (what == "nat") {
        for (const auto& p : mbox::nat_presets()) std::cout << p.name << "  " << p.description << "\n";
    } else {  // keys
        for (const auto& k : scenario::scenario_schema()) {
            std::string allowed;
            for (const auto& a : k.allowed) allowed += (allowed.empty() ? "" : ", ") + a;
            std::cout << (k.section.empty() ? "" : k.section + ".") << k.key << "  "
                      << (k.type.empty() ? allowed : k.type) << "  " << (k.fallback.empty() ? "-" : k.fallback) << "\n";
        }
    }
    return kExitOk;
}

}  // namespace

int cmd_list(const ListFlags& f) {
    if (f.what != "scenarios") return list_registry(f.what);
    std::vector<std::string> files;
    const std::string dir = f.dir.empty() ? library_dir() : f.dir;
    if (std::string err = collect({dir}, files, false); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    std::size_t width = 4;
    std::vector<scenario::Scenario> all;
    for (const auto& file : files) {
        try {
            all.push_back(scenario::load_file(file));
        } catch (const scenario::ScenarioError& e) {
            print_error(e.what());
            return kExitBadInput;
        }
        width = std::max(width, all.back().name.size());
    }
    for (const auto& s : all) {
        std::string name = s.name;
        name.resize(width, ' ');
        std::string expect = expected_summary(s);
        expect.resize(std::max<std::size_t>(expect.size(), 14), ' ');
        std::cout << name << "  " << expect << "  " << s.title << "\n";
    }
    std::cout << all.size() << " scenarios in " << dir << "\n";
    return kExitOk;
}

int cmd_check(const CheckFlags& f) {
    std::vector<std::string> files;
    auto paths = f.paths.empty() ? std::vector<std::string>{library_dir()} : f.paths;
    if (std::string err = collect(paths, files, true); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    if (files.empty()) {  // nothing checked is not a pass
        std::string named;
        for (const auto& p : paths) named += (named.empty() ? "" : ", ") + p;
        print_error(named + ": no scenario files (*.yaml) to check");
        return kExitBadInput;
    }
    int passed = 0, failed = 0;
    for (const auto& file : files) {
        scenario::Scenario s;
        trace::Trace t;
        try {
            s = scenario::load_file(file, f.sets);
            t = sim::run(s);
        } catch (const scenario::ScenarioError& e) {
            print_error(e.what());
            return kExitBadInput;
        }
        auto diffs = sim::check_expectation(s, t.outcome);
        if (!s.expect) diffs.push_back("the scenario has no 'expect' section");
        // The verdicts name files and quote values: escaped like the diagnostics (print_error).
        std::cout << (diffs.empty() ? "PASS " : "FAIL ") << trace::escape_unprintable(file) << "\n";
        for (const auto& d : diffs) std::cout << "     " << trace::escape_unprintable(d) << "\n";
        if (f.verbose)
            for (const auto& tr : t.outcome.transfers)
                std::cout << "     " << tr.command << " " << tr.path << ": " << (tr.ok ? "ok" : "failed")
                          << ", reply " << tr.reply << ", " << tr.bytes << " bytes\n";
        (diffs.empty() ? passed : failed)++;
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed ? kExitMismatch : kExitOk;
}

}  // namespace ftpsim::app
