// The scenario schema: one table per section drives the loader and the key reference in
// scenarios/README.md. Regenerate the reference after adding a key with:
//   UPDATE_DOCS=1 build/tests/test_scenario -tc='scenarios/README.md*'
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "protocol/client_profile.hpp"
#include "protocol/server_profile.hpp"
#include "sim/mbox/nat.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim;
using namespace ftpsim::scenario;

namespace {
std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> allowed(std::string_view section, std::string_view key) {
    const auto schema = scenario_schema();
    const auto* k = find_key(schema, section, key);
    REQUIRE(k != nullptr);
    return k->allowed;
}
}  // namespace

TEST_CASE("scenarios/README.md holds exactly the key reference rendered from the schema") {
    const std::string path = FTPSIM_SOURCE_DIR "/scenarios/README.md";
    const std::string doc = read_all(path);
    const std::string regenerated = regenerate_key_reference(doc);
    if (std::getenv("UPDATE_DOCS") && regenerated != doc) std::ofstream(path, std::ios::binary) << regenerated;
    INFO("run UPDATE_DOCS=1 build/tests/test_scenario -tc='scenarios/README.md*' to regenerate");
    CHECK(regenerated == doc);
    // Every key of the schema has its row: under its section's marker, or nested (with a dotted
    // name) in the table of a section that has one.
    std::set<std::string> rows;
    for (std::size_t m = doc.find("<!-- keys: "); m != std::string::npos; m = doc.find("<!-- keys: ", m + 1)) {
        const std::string section = doc.substr(m + 11, doc.find(" -->", m) - m - 11);
        std::size_t line = doc.find('\n', m) + 1;
        while (line < doc.size() && doc.compare(line, 1, "|") == 0) {
            if (doc.compare(line, 3, "| `") == 0) {
                const std::size_t end = doc.find('`', line + 3);
                const std::string key = doc.substr(line + 3, end - line - 3);
                rows.insert(section.empty() ? key : section + "." + key);
            }
            line = doc.find('\n', line) + 1;
        }
    }
    std::set<std::string> keys;
    for (const auto& k : scenario_schema()) keys.insert(k.section.empty() ? k.key : k.section + "." + k.key);
    CHECK(rows == keys);
}

TEST_CASE("a choice's allowed values come from the layer that defines them") {
    std::vector<std::string> clients, servers, presets;
    for (const auto& p : proto::client_profiles()) clients.emplace_back(p.name);
    for (const auto& p : proto::server_profiles()) servers.emplace_back(p.name);
    for (const auto& p : mbox::nat_presets()) presets.emplace_back(p.name);
    presets.emplace_back("custom");
    CHECK(allowed("clients.NODE", "profile") == clients);
    CHECK(allowed("servers.NODE", "profile") == servers);
    CHECK(allowed("nodes.NAME.nat", "type") == presets);
    CHECK(allowed("clients.NODE", "mode") ==
          std::vector<std::string>{"port", "eprt", "pasv", "epsv", "epsv-all", "spsv", "default", "fxp", "rfc438",
                                   "rfc478"});
    CHECK(allowed("nodes.NAME", "kind") == std::vector<std::string>{"host", "router"});
    CHECK(allowed("faults[]", "kind") ==
          std::vector<std::string>{"link-down", "reset", "server-restart", "disk-full"});
}

TEST_CASE("the firewall's, an interface's and an attacker's words are the model's enums' names") {
    CHECK(allowed("nodes.NAME.firewall.rules[]", "action") == std::vector<std::string>{"accept", "drop", "reject"});
    CHECK(allowed("nodes.NAME.firewall", "policy") == std::vector<std::string>{"accept", "drop", "reject"});
    CHECK(allowed("nodes.NAME.firewall.rules[]", "direction") == std::vector<std::string>{"in", "out", "any"});
    CHECK(allowed("nodes.NAME.firewall.rules[]", "state") ==
          std::vector<std::string>{"new", "established", "related", "any"});
    CHECK(allowed("nodes.NAME.interfaces[]", "side") == std::vector<std::string>{"inside", "outside"});
    CHECK(allowed("nodes.NAME.input", "policy") == std::vector<std::string>{"accept", "drop"});
    CHECK(allowed("nodes.NAME.input", "reject") == std::vector<std::string>{"tcp reset", "icmp port-unreachable"});
    CHECK(allowed("attackers.NODE", "steal") == std::vector<std::string>{"data", "spdt"});
    CHECK(name_of(mbox::FwDirection::Inbound) == "in");
    CHECK(name_of(mbox::kCtRelated) == "related");
    CHECK(name_of(mbox::Realm::Outside) == "outside");
}

TEST_CASE("clients' options in the reference come from the client profiles' option table") {
    const auto schema = scenario_schema();
    const auto* k = find_key(schema, "clients.NODE", "options");
    REQUIRE(k != nullptr);
    std::set<std::string_view> programs;
    for (const auto& o : proto::client_options()) {
        CAPTURE(o.name);
        CHECK(proto::find_client_profile(o.profile) != nullptr);  // a registry profile's program
        CHECK(proto::find_client_option(o.name, o.profile) == &o);  // unique within a program
        CHECK(k->meaning.find("`" + std::string(o.name) + "` (" + std::string(o.meaning) + ")") != std::string::npos);
        programs.insert(o.profile);
    }
    for (auto program : programs) CHECK(k->meaning.find(std::string(program) + ": `") != std::string::npos);
}

TEST_CASE("every key of the schema is read by the loader (an unknown key lists the section's keys)") {
    // The unknown-key message names the keys the loader asked for: they are the schema's.
    const std::string base = read_all(FTPSIM_SOURCE_DIR "/tests/scenario/base.yaml");
    try {
        load_string(base, "base.yaml", {"tcp.zzzzzzzzzzzz=1"});
        FAIL("no error");
    } catch (const ScenarioError& e) {
        std::string keys;
        for (const auto& k : scenario_schema())
            if (k.section == "tcp") keys += (keys.empty() ? "" : ", ") + k.key;
        CHECK(e.message() == "unknown key 'zzzzzzzzzzzz' in tcp; expected one of: " + keys);
    }
}

TEST_CASE("the loader gives typed model values") {
    const std::string base = read_all(FTPSIM_SOURCE_DIR "/tests/scenario/base.yaml");
    Scenario s = load_string(base, "base.yaml",
                             {"nodes.home-router.nat={type: symmetric}", "faults=[{kind: disk-full, target: server}]",
                              "clients.client.mode=epsv-all"});
    const NodeSpec* r = s.node("home-router");
    REQUIRE(r != nullptr);
    CHECK(r->kind == NodeKind::Router);
    CHECK(r->nat.type == "symmetric");
    CHECK(r->nat.config.mapping == mbox::NatBehaviour::AddressAndPortDependent);
    CHECK(r->nat.config.filtering == mbox::NatBehaviour::AddressAndPortDependent);
    // One hairpin default: the model's.
    CHECK(r->nat.config.hairpinning == mbox::NatConfig{}.hairpinning);
    REQUIRE(s.faults.size() == 1);
    CHECK(s.faults[0].kind == FaultKind::DiskFull);
    CHECK(s.clients[0].mode == ClientMode::EpsvAll);
    CHECK(name_of(ClientMode::EpsvAll) == "epsv-all");
}
