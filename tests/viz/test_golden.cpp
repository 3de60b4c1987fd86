// Golden exports of the hand-built seed traces, compared byte for byte.
// Regenerate after an intended change with: UPDATE_GOLDEN=1 ./test_viz -tc='golden*'
// and review the diff (git diff tests/viz/golden) before committing.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "seed_traces.hpp"
#include "tools.hpp"
#include "viz/export.hpp"

using namespace ftpsim;
using namespace ftpsim::viz;

namespace {

const std::filesystem::path kGolden = std::filesystem::path(FTPSIM_SOURCE_DIR) / "tests/viz/golden";

void check_golden(const std::string& name, const std::string& actual) {
    const auto file = kGolden / name;
    if (std::getenv("UPDATE_GOLDEN")) {
        std::filesystem::create_directories(kGolden);
        testing::write_file(file, actual);
        MESSAGE("updated " << file.string());
        return;
    }
    REQUIRE_MESSAGE(std::filesystem::exists(file), file.string() << " is missing: run with UPDATE_GOLDEN=1");
    const std::string expected = testing::read_file(file);
    if (expected == actual) return;
    // Say where they part, not just that they differ.
    std::size_t at = 0;
    while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
    std::size_t line = 1;
    for (std::size_t i = 0; i < at; ++i) line += expected[i] == '\n';
    FAIL_CHECK(name << " differs from the golden file at byte " << at << " (line " << line
                    << "); regenerate with UPDATE_GOLDEN=1 if the change is intended");
}

void golden_set(const trace::Trace& t) {
    const std::string& n = t.scenario;
    check_golden(n + ".json", export_for_path(t, "x.json"));
    ExportOptions hop;
    check_golden(n + ".hop.txt", export_for_path(t, "x.txt", hop));
    check_golden(n + ".hop.svg", export_for_path(t, "x.svg", hop));
    check_golden(n + ".hop.puml", export_for_path(t, "x.puml", hop));
    check_golden(n + ".hop.mmd", export_for_path(t, "x.mmd", hop));
    check_golden(n + ".hop.msc", export_for_path(t, "x.msc", hop));
    ExportOptions e2e;
    e2e.layout.view = View::EndToEnd;
    e2e.layout.fold_handshakes = true;
    check_golden(n + ".e2e-fold.txt", export_for_path(t, "x.txt", e2e));
    check_golden(n + ".e2e-fold.svg", export_for_path(t, "x.svg", e2e));
    ExportOptions scale = e2e;
    scale.layout.time = TimeScale::ToScale;
    check_golden(n + ".e2e-fold-scale.svg", export_for_path(t, "x.svg", scale));
    ExportOptions client;
    check_golden(n + ".client.pcap", export_for_path(t, "x.pcap", client));
    ExportOptions server;
    server.pcap.at = CapturePoint::server_side();
    check_golden(n + ".server.pcap", export_for_path(t, "x.pcap", server));
}

}  // namespace

TEST_CASE("golden: lecture-passive-list") { golden_set(testing::lecture_passive_list()); }
TEST_CASE("golden: active-nat-fail") { golden_set(testing::active_nat_fail()); }
TEST_CASE("golden: active-nat-alg-ok") { golden_set(testing::active_nat_alg_ok()); }
TEST_CASE("golden: passive-rejected") { golden_set(testing::rejected_syn()); }

// Folded data (LayoutOptions::fold_data): runs split by a note, a reply and a lost segment, and a
// per-hop ladder through a NAT router.
TEST_CASE("golden: folded data") {
    for (const auto& t : {testing::split_data_runs(), testing::active_nat_alg_ok()}) {
        const std::string& n = t.scenario;
        ExportOptions hop;
        hop.layout.fold_data = true;
        check_golden(n + ".hop-fold-data.txt", export_for_path(t, "x.txt", hop));
        check_golden(n + ".hop-fold-data.svg", export_for_path(t, "x.svg", hop));
        check_golden(n + ".hop-fold-data.puml", export_for_path(t, "x.puml", hop));
        ExportOptions scale = hop;
        scale.layout.view = View::EndToEnd;
        scale.layout.time = TimeScale::ToScale;
        check_golden(n + ".e2e-fold-data-scale.svg", export_for_path(t, "x.svg", scale));
    }
}
