// The scenario loader: every malformed file gets its exact file:line:column message.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/scenario/loader.hpp"
#include "trace/printable.hpp"

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

// A message quotes what the user gave; what it quotes must not drive the terminal it is printed
// on (an ESC sequence clears the screen or sets the window title, a C1 byte is a CSI on many
// terminals, a bidi control reorders the line): shown escaped, printable UTF-8 kept.
TEST_CASE("escape_unprintable: control bytes, C1 controls and bytes that are not UTF-8 are shown escaped") {
    using ftpsim::trace::escape_unprintable;
    CHECK(escape_unprintable("\x1b[2J\x1b]0;title\x07") == "\\x1b[2J\\x1b]0;title\\x07");
    CHECK(escape_unprintable("a\tb\nc\rd\x7f") == "a\\x09b\\x0ac\\x0dd\\x7f");
    CHECK(escape_unprintable(std::string("po\0rt", 5)) == "po\\x00rt");
    CHECK(escape_unprintable("\x88\x9b" "31m") == "\\x88\\x9b31m");              // raw C1 bytes
    CHECK(escape_unprintable("\xc2\x9b" "31m\xc2\x85") == "\\u009b31m\\u0085");   // C1 as UTF-8
    CHECK(escape_unprintable("\xe2\x80\xae" "txt.exe\xe2\x81\xa6\xe2\x80\xa8\xe2\x80\x8f") ==
          "\\u202etxt.exe\\u2066\\u2028\\u200f");
    CHECK(escape_unprintable("caf\xe9") == "caf\\xe9");                            // Latin-1
    CHECK(escape_unprintable("\xc0\xaf") == "\\xc0\\xaf");                          // overlong '/'
    CHECK(escape_unprintable("\xed\xa0\x80") == "\\xed\\xa0\\x80");                 // a surrogate
    CHECK(escape_unprintable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");        // past U+10FFFF
    CHECK(escape_unprintable("\xe2\x86" "A\xe2\x86") == "\\xe2\\x86A\\xe2\\x86");   // truncated
    // Printable text, in any script, and the backslash stay as they are.
    const std::string printable = "caf\xc3\xa9 \xe2\x86\x92 \xe4\xb8\xad \xf0\x9f\x98\x80 \xe2\x80\x94 \\x41 ~";
    CHECK(escape_unprintable(printable) == printable);
    // Escaping twice changes nothing: a message built from an escaped one stays readable.
    const std::string once = escape_unprintable("\x1b\x9b\xc2\x9b\xe2\x80\xae ok");
    CHECK(escape_unprintable(once) == once);
}

TEST_CASE("a scenario error quotes values, --set arguments and file names with their control bytes escaped") {
    using ftpsim::trace::escape_unprintable;
    const auto clean = [](const std::string& m) {
        return escape_unprintable(m) == m && m.find('\x1b') == std::string::npos;
    };
    // ESC, a C1 control and a bidi control from a quoted YAML string's escapes.
    std::string yaml = slurp(kDir / "base.yaml") + "\n";
    const std::string mode = "    mode: port\n";
    REQUIRE(yaml.find(mode) != std::string::npos);
    yaml.replace(yaml.find(mode), mode.size(), "    mode: \"\\e[2Jpasv\\x88\\u202e\"\n");
    try {
        load_string(yaml, "ctl.yaml");
        FAIL("loaded");
    } catch (const ScenarioError& e) {
        CHECK(std::string(e.what()) ==
              "ctl.yaml:29:11: clients.client.mode: expected one of port, eprt, pasv, epsv, epsv-all, spsv, default, "
              "fxp, rfc438, rfc478, found '\\x1b[2Jpasv\\u0088\\u202e'");
        CHECK(clean(e.message()));
    }
    // Raw bytes in a --set argument: named in the location, the value never printed raw.
    const std::string set_error = error_of("base.yaml", {"clients.client.mode=\x9b" "31m\x1b]0;x\x07"});
    CHECK(set_error.rfind("--set clients.client.mode=\\x9b31m\\x1b]0;x\\x07:1:21: ", 0) == 0);
    CHECK(clean(set_error));
    const std::string valid_utf8 = error_of("base.yaml", {"clients.client.mode=\xc2\x9b" "2J"});
    CHECK(valid_utf8.find("found '\\u009b2J'") != std::string::npos);
    CHECK(clean(valid_utf8));
    // A file name with an escape sequence.
    try {
        load_file("/nonexistent/\x1b[2J\x9b.yaml");
        FAIL("loaded");
    } catch (const ScenarioError& e) {
        CHECK(std::string(e.what()).rfind("/nonexistent/\\x1b[2J\\x9b.yaml:0:0: cannot open the scenario file", 0) == 0);
    }
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
