// The live server's failed-login policy comes from the server profile's fields (the registry in
// protocol/server_profile.cpp), not from the profile's name; the command line overrides it.
#include <doctest/doctest.h>

#include "live/server.hpp"
#include "protocol/server_profile.hpp"

using namespace ftpsim;

TEST_CASE("login policy: each registry profile's failed-login fields, overridden by the flags") {
    constexpr std::int64_t kSecond = 1'000'000'000;
    live::ServeOptions none;  // no --login-fail-delay, no --max-login-fails
    const auto vsftpd = *proto::server_profile_by_name("vsftpd");
    const auto pyftpdlib = *proto::server_profile_by_name("pyftpdlib");
    const auto rfc959 = *proto::server_profile_by_name("rfc959");
    CHECK(live::login_policy_for(vsftpd, none).delay_ns == 3 * kSecond);
    CHECK(live::login_policy_for(vsftpd, none).max_fails == 3);
    CHECK(live::login_policy_for(pyftpdlib, none).delay_ns == 3 * kSecond);
    CHECK(live::login_policy_for(pyftpdlib, none).max_fails == 3);
    CHECK(live::login_policy_for(rfc959, none).delay_ns == 0);
    CHECK(live::login_policy_for(rfc959, none).max_fails == 0);

    // A profile is a value: a changed field changes the policy whatever the profile is called.
    auto renamed = rfc959;
    renamed.name = "vsftpd";
    CHECK(live::login_policy_for(renamed, none).max_fails == 0);
    renamed.max_login_fails = 5;
    renamed.failed_login_delay = kSecond / 2;
    CHECK(live::login_policy_for(renamed, none).max_fails == 5);
    CHECK(live::login_policy_for(renamed, none).delay_ns == kSecond / 2);

    live::ServeOptions flags;
    flags.login_fail_delay_ns = 0;
    flags.max_login_fails = 10;
    CHECK(live::login_policy_for(vsftpd, flags).delay_ns == 0);
    CHECK(live::login_policy_for(vsftpd, flags).max_fails == 10);
    for (const auto& entry : proto::server_profiles()) {
        const auto p = entry.make();
        CAPTURE(entry.name);
        CHECK(live::login_policy_for(p, none).delay_ns == p.failed_login_delay);
        CHECK(live::login_policy_for(p, none).max_fails == p.max_login_fails);
    }
}
