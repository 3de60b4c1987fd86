// Every library scenario's real trace through every exporter, checked by the tool that reads the
// format: xmllint + rsvg-convert (SVG), plantuml, mscgen, the Mermaid parser, tshark (pcap).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "tools.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;
using testing::have_tool;
using testing::run;
using testing::shell_quote;

namespace {

struct Case {
    std::string name;
    trace::Trace trace;
};

const std::vector<Case>& library_traces() {
    static const std::vector<Case> all = [] {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(fs::path(FTPSIM_SOURCE_DIR) / "scenarios"))
            if (e.path().extension() == ".yaml") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        std::vector<Case> out;
        for (const auto& f : files) {
            sim::RunOptions o;
            o.verify_fixes = false;
            out.push_back({f.stem().string(), sim::run(scenario::load_file(f.string()), o)});
        }
        return out;
    }();
    return all;
}

viz::LayoutOptions hop_folded() {
    viz::LayoutOptions o;
    o.fold_handshakes = true;
    return o;
}

#define REQUIRE_TOOL(name)                             \
    if (!have_tool(name)) {                            \
        MESSAGE("skipped: " name " is not installed"); \
        return;                                        \
    }

}  // namespace

TEST_CASE("library exports: every SVG is valid XML and renders with rsvg-convert") {
    REQUIRE_TOOL("xmllint");
    REQUIRE_TOOL("rsvg-convert");
    testing::TempDir dir;
    for (const auto& c : library_traces()) {
        CAPTURE(c.name);
        auto svg = dir / (c.name + ".svg");
        testing::write_file(svg, viz::to_svg(viz::layout(c.trace, hop_folded())));
        auto x = run("xmllint --noout " + shell_quote(svg.string()));
        CHECK_MESSAGE(x.status == 0, x.output);
        auto r = run("rsvg-convert -o " + shell_quote((dir / (c.name + ".png")).string()) + " " +
                     shell_quote(svg.string()));
        CHECK_MESSAGE(r.status == 0, r.output);
    }
}

TEST_CASE("library exports: every PlantUML diagram renders (one plantuml run)") {
    REQUIRE_TOOL("plantuml");
    testing::TempDir dir;
    for (const auto& c : library_traces())
        testing::write_file(dir / (c.name + ".puml"), viz::to_plantuml(viz::layout(c.trace, hop_folded())));
    auto r = run("cd " + shell_quote(dir.path().string()) + " && plantuml -tsvg *.puml");
    CHECK_MESSAGE(r.output.find("rror") == std::string::npos, r.output);
    for (const auto& c : library_traces()) {
        CAPTURE(c.name);
        auto svg = dir / (c.name + ".svg");
        REQUIRE(fs::exists(svg));
        CHECK(testing::read_file(svg).find("Syntax Error") == std::string::npos);
    }
}

TEST_CASE("library exports: every mscgen chart renders") {
    REQUIRE_TOOL("mscgen");
    testing::TempDir dir;
    for (const auto& c : library_traces()) {
        CAPTURE(c.name);
        auto msc = dir / (c.name + ".msc");
        testing::write_file(msc, viz::to_mscgen(viz::layout(c.trace, hop_folded())));
        auto r = run("mscgen -T png -i " + shell_quote(msc.string()) + " -o " + shell_quote(msc.string() + ".png"));
        CHECK_MESSAGE(r.status == 0, r.output);
    }
}

TEST_CASE("library exports: the Mermaid parser accepts every diagram") {
    const fs::path checker = fs::path(FTPSIM_SOURCE_DIR) / "tests/viz/mermaid";
    if (!fs::exists(checker / "node_modules/mermaid") || !have_tool("node")) {
        MESSAGE("skipped the Mermaid parser: run `npm ci` in tests/viz/mermaid to enable it");
        return;
    }
    testing::TempDir dir;
    std::string args;
    for (const auto& c : library_traces()) {
        auto f = dir / (c.name + ".mmd");
        testing::write_file(f, viz::to_mermaid(viz::layout(c.trace, hop_folded())));
        args += " " + shell_quote(f.string());
    }
    auto r = run("node " + shell_quote((checker / "check.mjs").string()) + args);
    CHECK_MESSAGE(r.status == 0, r.output);
}

TEST_CASE("library exports: tshark shows each pcap's FTP conversation as the trace has it") {
    REQUIRE_TOOL("tshark");
    testing::TempDir dir;
    for (const auto& c : library_traces()) {
        for (auto at : {viz::CapturePoint::client_side(), viz::CapturePoint::server_side()}) {
            std::string where = at.kind == viz::CapturePoint::Kind::ClientSide ? "client" : "server";
            CAPTURE(c.name + " at the " + where + " side");
            auto want = testing::expected_ftp(c.trace, at);
            // FTPS scenarios carry TLS records from AUTH on: tshark rightly sees no FTP there.
            bool tls = std::any_of(want.begin(), want.end(), [](const std::string& l) {
                return l.find("AUTH TLS") != std::string::npos;
            });
            if (want.empty() || tls) continue;
            viz::PcapOptions po;
            po.at = at;
            auto file = (dir / (c.name + "-" + where + ".pcap")).string();
            testing::write_file(file, viz::to_pcap(c.trace, po));
            CHECK(testing::tshark_ftp(file) == want);
        }
    }
}
