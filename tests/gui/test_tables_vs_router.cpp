// The GUI's middlebox tables are rebuilt from the trace (viz/gui/tables.cpp). Here they are
// compared with the simulated routers' real tables (mbox::Router::snapshot, read after the run
// through sim::run_with_router_tables) at the trace's last event, for library scenarios with a
// NAT, an FTP ALG, port forwards and a NAT mapping that expires mid-transfer.
#include "protocol/reply_codes.hpp"
#include "sim/mbox/router.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "viz/gui/narration.hpp"
#include "viz/gui/tables.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>

using namespace ftpsim;

namespace {

using Row = std::tuple<std::string, std::string, std::string>;  // node, first, second

struct Compared {
    std::set<Row> nat_real, nat_gui;
    std::set<Row> ct_real, ct_gui;
    std::set<Row> exp_real, exp_gui;
    std::size_t forwards_used = 0, forwards_covered = 0;
    std::size_t events = 0;
};

Compared compare(const std::string& name, const std::vector<std::string>& sets = {}) {
    const auto s = scenario::load_file(std::string(FTPSIM_SOURCE_DIR) + "/scenarios/" + name + ".yaml", sets);
    std::vector<std::pair<std::string, mbox::RouterSnapshot>> real;
    const trace::Trace t = sim::run_with_router_tables(s, real);
    const gui::TablesAt g = gui::tables_at(t, SIZE_MAX);
    Compared c;
    c.events = t.events.size();
    for (const auto& [node, snap] : real) {
        for (const auto& m : snap.nat) c.nat_real.insert({node, m.internal.to_string(), m.external.to_string()});
        for (const auto& e : snap.conntrack) c.ct_real.insert({node, e.original.to_string(), ""});
        for (const auto& e : snap.expectations) c.exp_real.insert({node, e.to_string(), ""});
    }
    for (const auto& r : g.nat) {
        if (r.kind.rfind("SNAT", 0) == 0) {
            c.nat_gui.insert({r.node, r.inside, r.outside});
            continue;
        }
        // a port forward row: one of the router's configured forwards covers it
        ++c.forwards_used;
        for (const auto& [node, snap] : real) {
            if (node != r.node) continue;
            const auto colon = r.outside.rfind(':');
            const auto port = static_cast<std::uint16_t>(std::stoi(r.outside.substr(colon + 1)));
            for (const auto& f : snap.forwards)
                if (f.covers(port) && f.target(port).to_string() == r.inside) {
                    ++c.forwards_covered;
                    break;
                }
        }
    }
    for (const auto& r : g.conntrack) c.ct_gui.insert({r.node, r.tuple, ""});
    for (const auto& r : g.expectations) c.exp_gui.insert({r.node, r.text, ""});
    return c;
}

std::string show(const std::set<Row>& rows) {
    std::string out;
    for (const auto& [a, b, c] : rows) out += "\n  " + a + " | " + b + (c.empty() ? "" : " | " + c);
    return out.empty() ? " (none)" : out;
}

void check_same(const std::string& name, const std::vector<std::string>& sets = {}) {
    CAPTURE(name);
    const Compared c = compare(name, sets);
    REQUIRE(c.events > 0);
    INFO("NAT real:", show(c.nat_real), "\nNAT gui:", show(c.nat_gui));
    CHECK(c.nat_real == c.nat_gui);
    INFO("conntrack real:", show(c.ct_real), "\nconntrack gui:", show(c.ct_gui));
    CHECK(c.ct_real == c.ct_gui);
    INFO("expectations real:", show(c.exp_real), "\nexpectations gui:", show(c.exp_gui));
    CHECK(c.exp_real == c.exp_gui);
    CHECK(c.forwards_covered == c.forwards_used);
}

}  // namespace

TEST_CASE("tables vs router: active mode through a NAT with the FTP ALG (the ALG's mapping, a used expectation)") {
    check_same("curl-vsftpd-cnat-on-active");
    const Compared c = compare("curl-vsftpd-cnat-on-active");
    CHECK(c.nat_real.size() == 2);  // the control connection's mapping and the one the ALG makes for the data port
    CHECK(c.ct_real.size() == 2);   // control and data connections
}

TEST_CASE("tables vs router: home router ALG on port 21, and on 2121 where it stays blind") {
    check_same("home-router-alg-active-port-21");
    check_same("home-router-alg-active-port-2121-fails");
}

TEST_CASE("tables vs router: EPRT with the ALG, and without it (nothing expected)") {
    check_same("eprt-through-nat-with-alg");
    check_same("eprt-through-nat-no-alg");
}

TEST_CASE("tables vs router: port forwards on the server's side (a passive range, SPSV on port 21)") {
    check_same("vsftpd-pasv-address-forwarded-range");
    check_same("spsv-through-port-21-forward");
}

TEST_CASE("tables vs router: a NAT mapping that expires during a long transfer") {
    check_same("nat-idle-timeout-long-transfer");
}

TEST_CASE("tables vs router: both sides behind home routers") {
    check_same("both-behind-home-routers-port-2121-active");
    check_same("both-behind-home-routers-port-2121-passive");
}

namespace {
std::vector<std::string> library_ids() {
    std::vector<std::string> ids;
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(FTPSIM_SOURCE_DIR) + "/scenarios")) {
        if (e.path().extension() != ".yaml") continue;
        if (e.path().parent_path().filename() == "rig") continue;  // the rig's captures, not the library
        auto rel = std::filesystem::relative(e.path(), std::string(FTPSIM_SOURCE_DIR) + "/scenarios");
        ids.push_back(rel.replace_extension().string());
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}
}  // namespace

TEST_CASE("reply codes: every reply in every library scenario's trace has an explanation from the registry") {
    std::set<int> codes;
    std::size_t replies = 0;
    for (const auto& id : library_ids()) {
        CAPTURE(id);
        const auto s = scenario::load_file(std::string(FTPSIM_SOURCE_DIR) + "/scenarios/" + id + ".yaml");
        const trace::Trace t = sim::run(s);
        for (const auto& l : gui::ftp_dialogue(t)) {
            if (!l.reply) continue;
            ++replies;
            const auto code = proto::reply_code_of(l.line);
            CAPTURE(l.line);
            REQUIRE(code);
            const auto x = proto::explain_reply(*code);
            REQUIRE(x);
            CHECK(!x->first_digit.empty());
            CHECK(!x->second_digit.empty());
            CHECK_MESSAGE(!x->meaning.empty(), "reply code ", *code, " has no RFC meaning in protocol/reply_codes.cpp");
            codes.insert(*code);
        }
    }
    MESSAGE(replies, " replies with ", codes.size(), " distinct codes");
    CHECK(codes.size() >= 15);
}

TEST_CASE("tables vs router: every library scenario") {
    for (const auto& id : library_ids()) check_same(id);
}
