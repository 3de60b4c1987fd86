// The scenario loader: every malformed file gets its exact file:line:column message.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/scenario/loader.hpp"

using namespace ftpsim::scenario;
namespace mbox = ftpsim::mbox;
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
    CHECK(s.nodes[1].interfaces[1].side == mbox::Realm::Outside);
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

TEST_CASE("firewall, interface side, router input and attacker words load as the model's enums") {
    std::string yaml = slurp(kDir / "base.yaml") + "\n";
    const std::string alg = "    alg: {enabled: false, ports: [21]}\n";
    REQUIRE(yaml.find(alg) != std::string::npos);
    yaml.replace(yaml.find(alg), alg.size(),
                 alg + "    firewall:\n"
                       "      policy: drop\n"
                       "      rules:\n"
                       "        - {action: accept, direction: out}\n"
                       "        - {action: reject, direction: in, state: related, dport: 20}\n"
                       "        - {action: accept, state: established}\n"
                       "    input: {policy: drop, reject: icmp port-unreachable}\n");
    const Scenario s = load_string(yaml, "typed.yaml");
    const NodeSpec& r = s.nodes[1];
    CHECK(r.interfaces[0].side == mbox::Realm::Inside);
    CHECK(r.interfaces[1].side == mbox::Realm::Outside);
    CHECK_FALSE(s.nodes[0].interfaces[0].side);  // a host has no side
    CHECK(r.firewall.policy == mbox::FwAction::Drop);
    REQUIRE(r.firewall.rules.size() == 3);
    CHECK(r.firewall.rules[0].action == mbox::FwAction::Accept);
    CHECK(r.firewall.rules[0].direction == mbox::FwDirection::Outbound);
    CHECK(r.firewall.rules[0].state == mbox::kCtAny);
    CHECK(r.firewall.rules[1].action == mbox::FwAction::Reject);
    CHECK(r.firewall.rules[1].direction == mbox::FwDirection::Inbound);
    CHECK(r.firewall.rules[1].state == mbox::kCtRelated);
    CHECK(r.firewall.rules[2].direction == mbox::FwDirection::Any);
    CHECK(r.firewall.rules[2].state == mbox::kCtEstablished);
    CHECK(r.input_policy == InputPolicy::Drop);
    CHECK(r.input_reject == InputReject::IcmpPortUnreachable);
    CHECK(s.nodes[0].input_reject == InputReject::None);
    const fs::path library = fs::path(FTPSIM_SOURCE_DIR) / "scenarios";
    CHECK(load_file((library / "spdt-wrong-identifier.yaml").string()).attackers.at(0).steal == StealKind::Spdt);
    CHECK(load_file((library / "data-connection-stolen-pasv-promiscuous.yaml").string()).attackers.at(0).steal ==
          StealKind::Data);
    // A router interface without `side` gets it from its address.
    std::string unsided = slurp(kDir / "base.yaml") + "\n";
    const std::string wan = "{name: wan, address: 203.0.113.1/24, side: outside}";
    unsided.replace(unsided.find(wan), wan.size(), "{name: wan, address: 203.0.113.1/24}");
    CHECK(load_string(unsided, "unsided.yaml").nodes[1].interfaces[1].side == mbox::Realm::Outside);
    // --set reads the same words into the same values.
    CHECK(load_string(yaml, "typed.yaml", {"nodes.home-router.firewall.rules.1.state=new"})
              .nodes[1].firewall.rules[1].state == mbox::kCtNew);
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
