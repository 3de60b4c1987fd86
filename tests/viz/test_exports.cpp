// Each exporter's output checked by the real tool that reads that format.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <sstream>

#include "seed_traces.hpp"
#include "trace/json.hpp"
#include "tools.hpp"
#include "viz/export.hpp"

using namespace ftpsim;
using namespace ftpsim::viz;
using testing::have_tool;
using testing::run;
using testing::shell_quote;
using testing::TempDir;
using testing::write_file;
using testing::lines;
using testing::expected_ftp;
using testing::tshark_ftp;

namespace {

std::vector<trace::Trace> seeds() {
    return {testing::lecture_passive_list(), testing::active_nat_fail(), testing::active_nat_alg_ok(),
            testing::rejected_syn()};
}

struct Variant {
    std::string name;
    LayoutOptions opt;
};
std::vector<Variant> variants() {
    std::vector<Variant> v;
    for (auto view : {View::PerHop, View::EndToEnd})
        for (auto time : {TimeScale::Compressed, TimeScale::ToScale})
            for (bool fold : {false, true}) {
                LayoutOptions o;
                o.view = view;
                o.time = time;
                o.fold_handshakes = fold;
                v.push_back({std::string(view == View::PerHop ? "hop" : "e2e") + (time == TimeScale::ToScale ? "-scale" : "") +
                                 (fold ? "-fold" : ""),
                             o});
            }
    return v;
}

// A validator that is not installed fails the test (tools/install-deps.sh --test installs them).
#define REQUIRE_TOOL(name)                                                        \
    if (!have_tool(name)) {                                                       \
        FAIL(name " is not installed: run tools/install-deps.sh --test");         \
        return;                                                                   \
    }


}  // namespace

TEST_CASE("exports: the format follows the file extension") {
    CHECK(format_from_path("out/ladder.svg") == Format::Svg);
    CHECK(format_from_path("a.PUML") == Format::PlantUml);
    CHECK(format_from_path("a.plantuml") == Format::PlantUml);
    CHECK(format_from_path("a.mmd") == Format::Mermaid);
    CHECK(format_from_path("a.msc") == Format::Mscgen);
    CHECK(format_from_path("a.txt") == Format::Text);
    CHECK(format_from_path("trace.json") == Format::Json);
    CHECK(format_from_path("cap.pcap") == Format::Pcap);
    CHECK(format_from_path("pcap") == Format::Pcap);
    CHECK_FALSE(format_from_path("a.png"));
    CHECK_FALSE(format_from_path("dir.svg/file"));
    const auto t = testing::rejected_syn();
    CHECK_THROWS_AS(export_for_path(t, "x.docx"), ExportError);
    CHECK(export_for_path(t, "x.json") == trace::to_json(t));
    CHECK(export_for_path(t, "x.svg").rfind("<?xml", 0) == 0);
}

TEST_CASE("exports: SVG is self-contained, valid XML and renders with rsvg-convert") {
    REQUIRE_TOOL("xmllint");
    REQUIRE_TOOL("rsvg-convert");
    TempDir dir;
    for (const auto& t : seeds())
        for (const auto& v : variants()) {
            const std::string svg = to_svg(layout(t, v.opt));
            CAPTURE(t.scenario);
            CAPTURE(v.name);
            CHECK(svg.find("href") == std::string::npos);
            CHECK(svg.find("url(") == std::string::npos);
            CHECK(svg.find("@import") == std::string::npos);
            CHECK(svg.find("@font-face") == std::string::npos);
            const auto file = dir / (t.scenario + "-" + v.name + ".svg");
            write_file(file, svg);
            const auto x = run("xmllint --noout " + shell_quote(file.string()));
            CHECK_MESSAGE(x.status == 0, x.output);
            const auto png = file.string() + ".png";
            const auto r = run("rsvg-convert -o " + shell_quote(png) + " " + shell_quote(file.string()));
            CHECK_MESSAGE(r.status == 0, r.output);
            CHECK(std::filesystem::file_size(png) > 1000);
        }
}

TEST_CASE("exports: SVG shows what the lecture figure shows") {
    LayoutOptions o;
    o.view = View::EndToEnd;
    const std::string svg = to_svg(layout(testing::lecture_passive_list(), o));
    for (const char* s : {">client<", ">192.168.1.10<", ">server<", ">192.168.150.90<", ">1120<", ">1121<", ">21<",
                          ">50069<", ">USER student<", ">227 Entering PASV mode (192,168,150,90,195,149)<", ">time<",
                          "control connection", "data connection"})
        CHECK_MESSAGE(svg.find(s) != std::string::npos, s);
    const std::string fail = to_svg(layout(testing::active_nat_fail()));
    CHECK(fail.find(">dropped<") != std::string::npos);  // legend entry for the crosses
    CHECK(fail.find("ALG: rewrote PORT 192,168,1,10,195,149 -&gt; PORT 203,0,113,1,195,149") != std::string::npos);
}

TEST_CASE("exports: PlantUML renders without errors (one plantuml run for all diagrams)") {
    TempDir dir;
    std::vector<std::filesystem::path> files;
    for (const auto& t : seeds())
        for (const auto& v : variants()) {
            const std::string puml = to_plantuml(layout(t, v.opt));
            CHECK(puml.rfind("@startuml\n!pragma teoz true\n", 0) == 0);
            CHECK(puml.find("@enduml") != std::string::npos);
            files.push_back(dir / (t.scenario + "-" + v.name + ".puml"));
            write_file(files.back(), puml);
        }
    const std::string fail = to_plantuml(layout(testing::active_nat_fail()));
    CHECK(fail.find("participant \"home-router\\n192.168.1.1 / 203.0.113.1\" as L1") != std::string::npos);
    CHECK(fail.find("L1 -[#d9480f]->x L0 : SYN (dropped)") != std::string::npos);
    CHECK(fail.find("note over L1 #fff3bf\nALG: rewrote PORT") != std::string::npos);
    REQUIRE_TOOL("plantuml");
    const auto r = run("cd " + shell_quote(dir.path().string()) + " && plantuml -tsvg *.puml");
    CHECK_MESSAGE(r.output.find("rror") == std::string::npos, r.output);
    for (const auto& f : files) {
        auto svg = f;
        svg.replace_extension(".svg");
        CAPTURE(svg.string());
        REQUIRE(std::filesystem::exists(svg));
        const std::string text = testing::read_file(svg);
        CHECK(text.find("Syntax Error") == std::string::npos);
        CHECK(text.find("client") != std::string::npos);  // it drew our lanes, not an error page
    }
}

TEST_CASE("exports: mscgen renders every diagram") {
    TempDir dir;
    const std::string fail = to_mscgen(layout(testing::active_nat_fail()));
    CHECK(fail.find("msc {") != std::string::npos);
    CHECK(fail.find("L1 -x L0 [label=\"SYN (dropped)  [20 -> 50069]\"") != std::string::npos);
    CHECK(fail.find("L1 abox L1 [label=\"ALG: rewrote PORT") != std::string::npos);
    REQUIRE_TOOL("mscgen");
    for (const auto& t : seeds())
        for (const auto& v : variants()) {
            const auto file = dir / (t.scenario + "-" + v.name + ".msc");
            write_file(file, to_mscgen(layout(t, v.opt)));
            const auto png = file.string() + ".png";
            const auto r = run("mscgen -T png -i " + shell_quote(file.string()) + " -o " + shell_quote(png));
            CAPTURE(file.string());
            CHECK_MESSAGE(r.status == 0, r.output);
            CHECK(std::filesystem::exists(png));
        }
}

TEST_CASE("exports: Mermaid is a sequenceDiagram the real Mermaid parser accepts") {
    TempDir dir;
    std::string args;
    for (const auto& t : seeds())
        for (const auto& v : variants()) {
            const std::string mmd = to_mermaid(layout(t, v.opt));
            CHECK(mmd.rfind("sequenceDiagram\n", 0) == 0);
            const auto file = dir / (t.scenario + "-" + v.name + ".mmd");
            write_file(file, mmd);
            args += ' ';
            args += shell_quote(file.string());
        }
    const std::string fail = to_mermaid(layout(testing::active_nat_fail()));
    CHECK(fail.find("    participant L1 as home-router<br/>192.168.1.1 / 203.0.113.1\n") != std::string::npos);
    CHECK(fail.find("    L1--xL0: SYN (dropped)") != std::string::npos);
    CHECK(fail.find("    Note over L1: ALG: rewrote PORT") != std::string::npos);
    // Mermaid's own statement separators and entities never leak from labels.
    trace::Trace t = testing::rejected_syn();
    t.events.back().text = "a; b # c <d>";
    CHECK(to_mermaid(layout(t)).find("a#59; b #35; c #lt;d#gt;") != std::string::npos);

    const std::filesystem::path checker = std::filesystem::path(FTPSIM_SOURCE_DIR) / "tests/viz/mermaid";
    REQUIRE_TOOL("node");
    if (!std::filesystem::exists(checker / "node_modules/mermaid")) {
        FAIL("the Mermaid parser is not installed: run `npm ci` in tests/viz/mermaid (tools/install-deps.sh --test)");
        return;
    }
    const auto bad = dir / "bad.mmd";
    write_file(bad, "sequenceDiagram\n    L0->>>L1: x\n");
    const std::string node = "node " + shell_quote((checker / "check.mjs").string());
    const auto neg = run(node + " " + shell_quote(bad.string()));
    CHECK_MESSAGE(neg.status != 0, "the parser accepted a broken diagram: " << neg.output);
    const auto r = run(node + args);
    CHECK_MESSAGE(r.status == 0, r.output);
}

TEST_CASE("exports: the text ladder draws arrows, ports, drops and optional colour") {
    const Diagram d = layout(testing::active_nat_fail());
    const std::string plain = to_text(d);
    CHECK(plain.find("|1120 ------------------- USER anonymous -------------------> 21|") != std::string::npos);
    CHECK(plain.find("|1120 <--------------- 220 FTP server ready ----------------- 21|") != std::string::npos);
    CHECK(plain.find("|X-------------------------- SYN ---------------------------- 20|") != std::string::npos);
    CHECK(plain.find("* ALG: rewrote PORT") != std::string::npos);
    CHECK(plain.find("~ ~ ~") == std::string::npos);  // compressed: no breaks
    CHECK(plain.find('\x1b') == std::string::npos);
    TextOptions colour;
    colour.ansi_colour = true;
    const std::string ansi = to_text(d, colour);
    CHECK(ansi.find("\x1b[34m") != std::string::npos);
    CHECK(ansi.find("\x1b[31m") != std::string::npos);
    CHECK(ansi.find("\x1b[0m") != std::string::npos);
}

// ---- pcap ---------------------------------------------------------------------------------------

namespace {

// The FTP lines a capture at `at` must show, in capture order: "src dst line".

}  // namespace

TEST_CASE("exports: pcap frames decode in tshark as the trace's FTP conversation at each capture point") {
    REQUIRE_TOOL("tshark");
    TempDir dir;
    struct Case {
        trace::Trace t;
        CapturePoint at;
        std::string name;
    };
    std::vector<Case> cases;
    for (const auto& t : seeds()) {
        cases.push_back({t, CapturePoint::client_side(), t.scenario + "-client"});
        cases.push_back({t, CapturePoint::server_side(), t.scenario + "-server"});
    }
    cases.push_back({testing::active_nat_alg_ok(), CapturePoint::link("home-router", "server"), "alg-wan"});
    cases.push_back({testing::active_nat_alg_ok(), CapturePoint::link("client", "home-router"), "alg-lan"});
    for (const auto& c : cases) {
        CAPTURE(c.name);
        PcapOptions po;
        po.at = c.at;
        const auto file = (dir / (c.name + ".pcap")).string();
        write_file(file, to_pcap(c.t, po));
        const auto want = expected_ftp(c.t, c.at);
        REQUIRE_FALSE(want.empty());
        CHECK(tshark_ftp(file) == want);
        // Every checksum verifies.
        const auto bad = run("tshark -r " + shell_quote(file) +
                             " -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE"
                             " -Y 'ip.checksum.status != 1 || tcp.checksum.status != 1' -T fields -e frame.number");
        CHECK_MESSAGE(lines(bad.output).empty(), bad.output);
    }
    // The NAT rewrote the control connection: the client sees itself, the server sees the router.
    CHECK(expected_ftp(testing::active_nat_alg_ok(), CapturePoint::client_side())[5] ==
          "192.168.1.10 198.51.100.21 PORT 192,168,1,10,195,149");
    CHECK(expected_ftp(testing::active_nat_alg_ok(), CapturePoint::server_side())[5] ==
          "203.0.113.1 198.51.100.21 PORT 203,0,113,1,195,149");
}

TEST_CASE("exports: tshark ties the data connection to its PORT or 227 (ftp-data setup frame)") {
    REQUIRE_TOOL("tshark");
    TempDir dir;
    struct Case {
        trace::Trace t;
        CapturePoint at;
        std::string method, setup_line, data_dst;
    };
    const std::vector<Case> cases = {
        {testing::lecture_passive_list(), CapturePoint::client_side(), "PASV", "227", "192.168.1.10"},
        {testing::lecture_passive_list(), CapturePoint::server_side(), "PASV", "227", "192.168.1.10"},
        {testing::active_nat_alg_ok(), CapturePoint::client_side(), "PORT", "PORT", "192.168.1.10"},
        {testing::active_nat_alg_ok(), CapturePoint::server_side(), "PORT", "PORT", "203.0.113.1"},
    };
    int k = 0;
    for (const auto& c : cases) {
        CAPTURE(k);
        PcapOptions po;
        po.at = c.at;
        const auto file = (dir / ("d" + std::to_string(k++) + ".pcap")).string();
        write_file(file, to_pcap(c.t, po));
        const auto setup = lines(run("tshark -r " + shell_quote(file) +
                                     " -Y 'ftp.request.command == \"PORT\" || ftp.response.code == 227'"
                                     " -T fields -e frame.number").output);
        REQUIRE(setup.size() == 1);
        const auto data = lines(run("tshark -r " + shell_quote(file) +
                                    " -Y ftp-data -T fields -E separator=, -e ip.dst -e ftp-data.setup-frame"
                                    " -e ftp-data.setup-method").output);
        REQUIRE_FALSE(data.empty());
        for (const auto& l : data) CHECK(l == c.data_dst + "," + setup[0] + "," + c.method);
    }
}

TEST_CASE("exports: pcap synthesises file bytes deterministically and rejects unknown capture points") {
    std::string a, b;
    synthesize_file_bytes(1000, 100, a);
    synthesize_file_bytes(1000, 100, b);
    CHECK(a == b);
    CHECK(a.size() == 100);
    std::string c;
    synthesize_file_bytes(1010, 90, c);
    CHECK(c == a.substr(10));  // the bytes depend on the sequence number only
    const auto t = testing::active_nat_alg_ok();
    CHECK(to_pcap(t) == to_pcap(t));
    PcapOptions po;
    po.at = CapturePoint::link("client", "server");
    CHECK_THROWS_AS(to_pcap(t, po), ExportError);
    po.at = CapturePoint::client_side("nobody");
    CHECK_THROWS_AS(to_pcap(t, po), ExportError);
    // Header: nanosecond magic, Ethernet link type.
    const std::string p = to_pcap(t);
    REQUIRE(p.size() > 24);
    CHECK(static_cast<unsigned char>(p[0]) == 0x4d);
    CHECK(static_cast<unsigned char>(p[3]) == 0xa1);
    CHECK(p[20] == 1);
}

// ---- performance ----------------------------------------------------------------------------------

TEST_CASE("exports: a 100,000-event trace exports to SVG and pcap in well under a second each") {
    testing::TraceBuilder b("big", "100k events");
    b.node("client", "host", "client", {"192.168.1.10"});
    b.node("router", "router", "nat", {"192.168.1.1", "203.0.113.1"});
    b.node("server", "host", "server", {"198.51.100.21"});
    b.link("client", "router", 1);
    b.link("router", "server", 10);
    const int data = b.connection("data", {"server", "router", "client"},
                                  {{{"198.51.100.21", 20}, {"203.0.113.1", 50069}},
                                   {{"198.51.100.21", 20}, {"192.168.1.10", 50069}}});
    trace::TimeNs t = 0;
    for (int i = 0; i < 50'000; ++i) {
        testing::TraceBuilder::Seg s("A");
        s.file_len = 1460;
        b.send(data, true, s, t);
        t += 117'000;
    }
    const trace::Trace tr = b.finish();
    REQUIRE(tr.events.size() == 100'000);
    // CPU time, not wall time: the build machine is shared, and a busy neighbour would make a
    // wall-clock limit fail for reasons that have nothing to do with this code.
    using clock = std::chrono::steady_clock;
    auto secs = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
    auto cpu = [](std::clock_t c) { return static_cast<double>(std::clock() - c) / CLOCKS_PER_SEC; };

    auto w0 = clock::now();
    auto c0 = std::clock();
    const std::string svg = to_svg(layout(tr));
    const double svg_s = cpu(c0), svg_w = secs(clock::now() - w0);
    w0 = clock::now();
    c0 = std::clock();
    const std::string pcap = to_pcap(tr);
    const double pcap_s = cpu(c0), pcap_w = secs(clock::now() - w0);
    LayoutOptions scaled;
    scaled.time = TimeScale::ToScale;
    scaled.view = View::EndToEnd;
    c0 = std::clock();
    const std::string svg2 = to_svg(layout(tr, scaled));
    const double svg2_s = cpu(c0);
    MESSAGE("CPU: SVG " << svg_s << " s (wall " << svg_w << " s, " << svg.size() / 1e6 << " MB), to scale end to end "
                        << svg2_s << " s, pcap " << pcap_s << " s (wall " << pcap_w << " s, " << pcap.size() / 1e6 << " MB)");
    CHECK(pcap.size() > 100'000 * 1460u / 2);
#ifdef NDEBUG
    CHECK(svg_s < 1.0);
    CHECK(svg2_s < 1.0);
    CHECK(pcap_s < 1.0);
#endif
}

TEST_CASE("exports: pcap writes IPv6 frames that tshark decodes (EPSV)") {
    testing::TraceBuilder b("ipv6-epsv", "EPSV over IPv6");
    b.node("client", "host", "client", {"2001:db8:1::10"});
    b.node("server", "host", "server", {"2001:db8:2::21"});
    b.link("client", "server", 5);
    const int ctl = b.connection("control", {"client", "server"}, {{{"2001:db8:1::10", 40000}, {"2001:db8:2::21", 21}}});
    trace::TimeNs t = b.handshake(ctl, 0);
    t = b.line(ctl, false, "220 ready", t + 100'000);
    t = b.line(ctl, true, "EPSV", t + 100'000);
    t = b.line(ctl, false, "229 Entering Extended Passive Mode (|||50000|)", t + 100'000);
    const int data = b.connection("data", {"client", "server"}, {{{"2001:db8:1::10", 40001}, {"2001:db8:2::21", 50000}}}, ctl);
    t = b.handshake(data, t + 100'000);
    b.line(ctl, true, "RETR f", t);
    testing::TraceBuilder::Seg s("PA");
    s.file_len = 500;
    b.send(data, false, s, t + 5'200'000);
    const trace::Trace tr = b.finish();
    REQUIRE_TOOL("tshark");
    TempDir dir;
    const auto file = (dir / "v6.pcap").string();
    write_file(file, to_pcap(tr));
    const auto r = run("tshark -r " + shell_quote(file) +
                       " -o tcp.check_checksum:TRUE -Y 'ftp || ftp-data' -T fields -E separator=, -e ipv6.src"
                       " -e tcp.checksum.status -e ftp.request.command -e ftp.response.code -e ftp-data.setup-method");
    const auto got = lines(r.output);
    REQUIRE(got.size() == 5);
    CHECK(got[0] == "2001:db8:2::21,1,,220,");
    CHECK(got[1] == "2001:db8:1::10,1,EPSV,,");
    CHECK(got[2] == "2001:db8:2::21,1,,229,");
    CHECK(got[3] == "2001:db8:1::10,1,RETR,,");
    CHECK(got[4] == "2001:db8:2::21,1,,,EPASV");  // Wireshark's name for the EPSV method
}
