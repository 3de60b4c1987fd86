// The diagnosis's fixes read the client profile's properties from the registry, never its name,
// and name the command the profile really sends (on IPv6: EPSV for PASV where the profile says
// so, EPRT for PORT).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "protocol/client_profile.hpp"
#include "sim/run/diagnose.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim;

namespace {

scenario::Scenario library(const std::string& id, const std::vector<std::string>& sets = {}) {
    return scenario::load_file(std::string(FTPSIM_SOURCE_DIR) + "/scenarios/" + id + ".yaml", sets);
}

// The fix whose sets include `set`, or nullptr.
const trace::Fix* fix_setting(const std::vector<trace::Fix>& fixes, const std::string& set) {
    for (const auto& f : fixes)
        if (std::find(f.sets.begin(), f.sets.end(), set) != f.sets.end()) return &f;
    return nullptr;
}

}  // namespace

TEST_CASE("diagnosis fixes: 'use curl' follows the profile's 227 policy in the registry, not its name") {
    int trusting = 0;
    for (const auto& p : proto::client_profiles()) {
        CAPTURE(p.name);
        const auto fixes = sim::fix_candidates(
            library("home-router-server-pasv-private-address", {"clients.client.profile=" + std::string(p.name)}));
        const trace::Fix* curl = fix_setting(fixes, "clients.client.profile=curl");
        const bool trusts = p.pasv_address == proto::PasvAddressPolicy::Trust && p.name != "curl";
        trusting += trusts;
        CHECK((curl != nullptr) == trusts);
        if (curl)
            CHECK(curl->description ==
                  "Use a client that ignores the address in 227 and connects to the control connection's peer (curl)");
    }
    CHECK(trusting >= 2);  // classic and textbook
}

TEST_CASE("diagnosis fixes: on IPv4 a mode's fix names the mode's own command") {
    const auto fixes = sim::fix_candidates(library("home-router-server-pasv-private-address"));
    const trace::Fix* port = fix_setting(fixes, "clients.client.mode=port");
    REQUIRE(port);
    CHECK(port->description == "Use active mode (PORT): the server opens the data connection");
    const trace::Fix* epsv = fix_setting(fixes, "clients.client.mode=epsv");
    REQUIRE(epsv);
    CHECK(epsv->description ==
          "Use extended passive mode (EPSV): the client opens the data connection to the control connection's address");
    CHECK_FALSE(fix_setting(fixes, "clients.client.mode=pasv"));  // its mode already
}

TEST_CASE("diagnosis fixes: on IPv6 the texts name EPSV and EPRT where the profile sends them") {
    // classic on IPv6 sends PASV as asked (no extended_on_ipv6) and EPRT for PORT; curl sends EPSV.
    const auto classic = sim::fix_candidates(library("ipv6-pasv-pyftpdlib-address-text"));
    const trace::Fix* curl = fix_setting(classic, "clients.client.profile=curl");
    REQUIRE(curl);
    CHECK(curl->description == "Use a client that sends EPSV on IPv6 where classic sends PASV (curl)");
    const trace::Fix* port = fix_setting(classic, "clients.client.mode=port");
    REQUIRE(port);
    CHECK(port->description ==
          "Use active mode (EPRT, which classic sends for it on IPv6): the server opens the data connection");

    // curl asked for passive mode on IPv6 sends EPSV: the fix says so, never PASV.
    const auto curl_fixes = sim::fix_candidates(library("nat64-no-alg-eprt"));
    const trace::Fix* pasv = fix_setting(curl_fixes, "clients.client.mode=pasv");
    REQUIRE(pasv);
    CHECK(pasv->description ==
          "Use passive mode (EPSV, which curl sends for it on IPv6): the client opens the data connection");
    for (const auto& f : curl_fixes) CHECK(f.description.find("(PASV") == std::string::npos);
    CHECK_FALSE(fix_setting(curl_fixes, "clients.client.profile=curl"));  // it is curl already
}

TEST_CASE("diagnosis fixes: the IPv6 finding offers curl for what it sends, verified by a re-run") {
    sim::RunOptions o;
    o.verify_fixes = true;
    const trace::Trace t = sim::run(library("ipv6-pasv-pyftpdlib-address-text"), o);
    REQUIRE(!t.outcome.diagnosis.empty());
    const auto& d = t.outcome.diagnosis.front();
    CHECK(d.kind == "pasv-on-ipv6");
    const trace::Fix* curl = fix_setting(d.fixes, "clients.client.profile=curl");
    REQUIRE(curl);
    CHECK(curl->verified);
    CHECK(curl->description == "Use a client that sends EPSV on IPv6 where classic sends PASV (curl)");
}
