// Every library scenario's real trace through every exporter, checked by the tool that reads the
// format: xmllint + rsvg-convert (SVG), plantuml, mscgen, the Mermaid parser, tshark (pcap).
// ctest runs one scenario and one tool per test (tests/CMakeLists.txt: the environment variable
// FTPSIM_EXPORT_SCENARIO names the scenario, --test-case the tool); without the variable the
// executable checks the whole library.
#include <cstdlib>
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
        const char* only = std::getenv("FTPSIM_EXPORT_SCENARIO");
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(fs::path(FTPSIM_SOURCE_DIR) / "scenarios"))
            if (e.path().extension() == ".yaml" && (!only || *only == '\0' || e.path().stem() == only))
                files.push_back(e.path());
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

// The scenarios this run checks; a FTPSIM_EXPORT_SCENARIO that names no library scenario fails.
const std::vector<Case>& cases() {
    const auto& all = library_traces();
    const char* only = std::getenv("FTPSIM_EXPORT_SCENARIO");
    REQUIRE_MESSAGE(!all.empty(), "no library scenario named " << std::string(only ? only : "(any)") << " in "
                                                                 << FTPSIM_SOURCE_DIR << "/scenarios");
    return all;
}

viz::LayoutOptions hop_folded() {
    viz::LayoutOptions o;
    o.fold_handshakes = true;
    return o;
}

// PlantUML, Mermaid and mscgen get what `ftpsim run --export` writes: a long transfer's tens of
// thousands of data arrows folded (ExportOptions::text_diagram_fold_above), with a note saying so.
viz::Diagram text_diagram(const Case& c) {
    viz::LayoutOptions o = hop_folded();
    o.fold_data_above = viz::ExportOptions{}.text_diagram_fold_above;
    auto d = viz::layout(c.trace, o);
    if (d.auto_folded) MESSAGE(c.name << ": " << d.unfolded_items << " items folded to " << d.items.size());
    return d;
}

// A validator that is not installed fails the test (tools/install-deps.sh --test installs them).
#define REQUIRE_TOOL(name)                                                                          \
    if (!have_tool(name)) {                                                                         \
        FAIL(name " is not installed: run tools/install-deps.sh --test");                           \
        return;                                                                                     \
    }

}  // namespace

TEST_CASE("library exports: every SVG is valid XML and renders with rsvg-convert") {
    REQUIRE_TOOL("xmllint");
    REQUIRE_TOOL("rsvg-convert");
    testing::TempDir dir;
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto svg = dir / (c.name + ".svg");
        testing::write_file(svg, viz::to_svg(viz::layout(c.trace, hop_folded())));
        auto x = run("xmllint --noout " + shell_quote(svg.string()));
        CHECK_MESSAGE(x.status == 0, x.output);
        // librsvg renders at most 32767 px a side: a long transfer's ladder is drawn scaled down.
        std::string text = testing::read_file(svg);
        auto h = text.find("height=\"");
        bool tall = h != std::string::npos && std::stod(text.substr(h + 8)) > 32000;
        auto r = run("rsvg-convert " + std::string(tall ? "-a -h 32000 " : "") + "-o " +
                     shell_quote((dir / (c.name + ".png")).string()) + " " + shell_quote(svg.string()));
        CHECK_MESSAGE(r.status == 0, r.output);
    }
}

TEST_CASE("library exports: every PlantUML diagram renders (one plantuml run)") {
    REQUIRE_TOOL("plantuml");
    testing::TempDir dir;
    std::vector<std::string> done;
    for (const auto& c : cases()) {
        const auto d = text_diagram(c);
        testing::write_file(dir / (c.name + ".puml"), viz::to_plantuml(d));
        done.push_back(c.name);
    }
    auto r = run("cd " + shell_quote(dir.path().string()) + " && plantuml -tsvg *.puml");
    CHECK_MESSAGE(r.output.find("rror") == std::string::npos, r.output);
    for (const auto& name : done) {
        CAPTURE(name);
        auto svg = dir / (name + ".svg");
        REQUIRE(fs::exists(svg));
        CHECK(testing::read_file(svg).find("Syntax Error") == std::string::npos);
    }
}

TEST_CASE("library exports: every mscgen chart renders") {
    REQUIRE_TOOL("mscgen");
    testing::TempDir dir;
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        const auto d = text_diagram(c);
        auto msc = dir / (c.name + ".msc");
        testing::write_file(msc, viz::to_mscgen(d));
        auto r = run("mscgen -T png -i " + shell_quote(msc.string()) + " -o " + shell_quote(msc.string() + ".png"));
        CHECK_MESSAGE(r.status == 0, r.output);
    }
}

TEST_CASE("library exports: the Mermaid parser accepts every diagram") {
    const fs::path checker = fs::path(FTPSIM_SOURCE_DIR) / "tests/viz/mermaid";
    REQUIRE_TOOL("node");
    if (!fs::exists(checker / "node_modules/mermaid")) {
        FAIL("the Mermaid parser is not installed: run `npm ci` in tests/viz/mermaid (tools/install-deps.sh --test)");
        return;
    }
    testing::TempDir dir;
    std::string args;
    for (const auto& c : cases()) {
        const auto d = text_diagram(c);
        auto f = dir / (c.name + ".mmd");
        testing::write_file(f, viz::to_mermaid(d));
        args += ' ';  // not " " + ...: GCC 12 warns falsely (-Wrestrict) on that
        args += shell_quote(f.string());
    }
    auto r = run("node " + shell_quote((checker / "check.mjs").string()) + args);
    CHECK_MESSAGE(r.status == 0, r.output);
}

TEST_CASE("library exports: tshark shows each pcap's FTP conversation as the trace has it") {
    REQUIRE_TOOL("tshark");
    testing::TempDir dir;
    int compared = 0;
    for (const auto& c : cases()) {
        for (auto at : {viz::CapturePoint::client_side(), viz::CapturePoint::server_side()}) {
            std::string where = at.kind == viz::CapturePoint::Kind::ClientSide ? "client" : "server";
            CAPTURE(c.name + " at the " + where + " side");
            auto want = testing::expected_ftp(c.trace, at);
            // FTPS: after AUTH TLS and 234 the control connection carries TLS records (until CCC).
            const auto records = static_cast<std::size_t>(std::count_if(want.begin(), want.end(), [](const std::string& l) {
                return l.size() >= 12 && l.compare(l.size() - 12, 12, "<TLS record>") == 0;
            }));
            // SPSV: the data connection also goes to port 21, so tshark (rightly) decodes its
            // bytes as FTP too: the comparison is restricted to the control connections' packets.
            bool spsv = std::any_of(want.begin(), want.end(), [](const std::string& l) {
                return l.find("SPDT") != std::string::npos || l.find(" SPSV") != std::string::npos;
            });
            if (want.empty()) {
                MESSAGE(c.name << ": no FTP line at the " << where << " side");
                continue;
            }
            viz::PcapOptions po;
            po.at = at;
            auto file = (dir / (c.name + "-" + where + ".pcap")).string();
            testing::write_file(file, viz::to_pcap(c.trace, po));
            // tshark decodes FTP on port 21 only: tell it about other control ports (2121).
            std::string decode_as;
            for (const auto& conn : c.trace.connections)
                if (conn.purpose == "control" && conn.responder_local.port != 21)
                    decode_as += " -d tcp.port==" + std::to_string(conn.responder_local.port) + ",ftp" +
                                 " -d tcp.port==" + std::to_string(conn.initiator_remote.port) + ",ftp";
            const std::string only = spsv ? testing::control_connections_filter(c.trace, at) : "";
            if (records == 0) {
                CHECK(testing::tshark_ftp(file, decode_as, only) == want);
            } else {
                // tshark follows AUTH TLS + 234 and decodes what follows as TLS (after CCC it takes
                // the first plain line for an unknown record: Wireshark does not know CCC). With its
                // TLS dissector off it reads every control segment as FTP: the plain lines, before
                // and after TLS, and each record in its place, must be the trace's.
                CHECK(testing::tshark_ftp(file, decode_as + " --disable-protocol tls", only) == want);
                const std::string control = testing::control_connections_filter(c.trace, at);
                CHECK(testing::tshark_count(file, "tls.record && (" + control + ")", decode_as) == records);
            }
            ++compared;
        }
    }
    MESSAGE(compared << " captures compared line by line");
}
