// The scenario loader: every malformed file gets its exact file:line:column message.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/scenario/loader.hpp"

using namespace ftpsim::scenario;
namespace fs = std::filesystem;

namespace {
const fs::path kDir = fs::path(FTPSIM_SOURCE_DIR) / "tests" / "scenario";

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// Loads relative to tests/scenario so the messages carry the short "bad/x.yaml" name.
std::string error_of(const std::string& rel, const std::vector<std::string>& sets = {}) {
    try {
        load_string(slurp(kDir / rel) + "\n", rel, sets);
    } catch (const ScenarioError& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST_CASE("the base scenario loads with every field in place") {
    Scenario s = load_file((kDir / "base.yaml").string());
    CHECK(s.name == "base");
    CHECK(s.title == "Active mode behind a home router");
    CHECK(s.seed == 7);
    REQUIRE(s.nodes.size() == 3);
    CHECK(s.nodes[0].name == "client");
    CHECK(s.nodes[1].kind == NodeKind::Router);
    CHECK(s.nodes[1].interfaces[1].side == "outside");
    CHECK(s.nodes[1].nat.enabled);
    CHECK(s.nodes[1].nat.config.mapping == ftpsim::mbox::NatBehaviour::EndpointIndependent);
    CHECK(s.nodes[1].nat.config.filtering == ftpsim::mbox::NatBehaviour::AddressAndPortDependent);
    CHECK_FALSE(s.nodes[1].alg.enabled);
    REQUIRE(s.links.size() == 2);
    CHECK(s.links[0].latency_ns == 5'000'000);
    CHECK(s.links[1].bandwidth_bps == doctest::Approx(10e6));
    REQUIRE(s.servers.size() == 1);
    CHECK(s.servers[0].files[0].size == 65536);
    CHECK(s.servers[0].passive_ports->lo == 30000);
    REQUIRE(s.clients.size() == 1);
    CHECK(s.clients[0].mode == ClientMode::Port);
    CHECK(s.clients[0].server.port == 21);
    CHECK(s.clients[0].script.size() == 3);
    REQUIRE(s.expect);
    CHECK(s.expect->transfers[0].reply == 500);
}

TEST_CASE("every malformed scenario gets its exact file:line:column message") {
    int checked = 0;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kDir / "bad"))
        if (e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::string rel = "bad/" + f.filename().string();
        fs::path expect_file = f;
        expect_file.replace_extension(".expect");
        REQUIRE_MESSAGE(fs::exists(expect_file), rel);
        CAPTURE(rel);
        CHECK(error_of(rel) == slurp(expect_file));
        ++checked;
    }
    CHECK(checked >= 30);
}

TEST_CASE("--set overrides are validated like the file's own values") {
    CHECK(load_file((kDir / "base.yaml").string(), {"nodes.home-router.alg.enabled=true"})
              .nodes[1].alg.enabled);
    CHECK(load_file((kDir / "base.yaml").string(), {"links.1.latency=40ms"}).links[1].latency_ns ==
          40'000'000);
    CHECK(error_of("base.yaml", {"nodes.home-router.alg.enabld=true"}) ==
          "--set nodes.home-router.alg.enabld=true:1:30: unknown key 'enabld' in nodes.home-router.alg (did you mean 'enabled'?)");
    CHECK(error_of("base.yaml", {"links.1.latency=fast"}) ==
          "--set links.1.latency=fast:1:17: links.1.latency: expected a duration with a unit (e.g. 10ms, 1.5s, 2min), found 'fast'");
    CHECK(error_of("base.yaml", {"links.5.latency=1ms"}) ==
          "--set links.5.latency=1ms:1:1: 'links' is a list of 2 items; expected an index from 0, found '5'");
    CHECK(error_of("base.yaml", {"seed"}) == "--set seed:1:1: expected --set key.path=value, found 'seed'");
}

TEST_CASE("value parsers") {
    std::int64_t ns = 0;
    CHECK((parse_duration("10ms", ns) && ns == 10'000'000));
    CHECK((parse_duration("1.5s", ns) && ns == 1'500'000'000));
    CHECK((parse_duration("250us", ns) && ns == 250'000));
    CHECK_FALSE(parse_duration("10", ns));
    CHECK_FALSE(parse_duration("ms", ns));
    double bps = 0;
    CHECK((parse_bandwidth("10Mbit/s", bps) && bps == 10e6));
    CHECK((parse_bandwidth("1Gbps", bps) && bps == 1e9));
    CHECK_FALSE(parse_bandwidth("0Mbps", bps));
    std::uint64_t b = 0;
    CHECK((parse_size("64KiB", b) && b == 65536));
    CHECK((parse_size("10MiB", b) && b == 10485760));
    CHECK((parse_size("1000", b) && b == 1000));
    CHECK_FALSE(parse_size("1.5", b));
    CHECK(nearest_key("gatway", {"gateway", "routes", "kind"}) == "gateway");
    CHECK(nearest_key("zzzzzz", {"gateway", "routes", "kind"}).empty());
}

TEST_CASE("every library scenario loads and says what it expects") {
    int n = 0;
    for (const auto& e : fs::directory_iterator(fs::path(FTPSIM_SOURCE_DIR) / "scenarios")) {
        if (e.path().extension() != ".yaml") continue;
        CAPTURE(e.path().string());
        Scenario s;
        CHECK_NOTHROW(s = load_file(e.path().string()));
        CHECK_FALSE(s.title.empty());
        CHECK_FALSE(s.description.empty());
        CHECK(s.expect.has_value());
        ++n;
    }
    MESSAGE(n << " library scenarios");
}
