// IPv4/IPv6 text forms (RFC 4291 input, RFC 5952 output) and the private-address test.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "protocol/address.hpp"

using namespace ftpsim::proto;

namespace {

IpAddress v6(std::string_view text) {
    auto a = parse_ip(text);
    REQUIRE_MESSAGE(a.has_value(), text);
    REQUIRE(!a->is_v4());
    return *a;
}

std::string canonical(std::string_view text) { return v6(text).to_string(); }

}  // namespace

TEST_CASE("address: IPv4 dotted quad") {
    auto a = parse_ip("192.168.150.90");
    REQUIRE(a);
    CHECK(a->is_v4());
    CHECK(*a == IpAddress::v4(192, 168, 150, 90));
    CHECK(a->v4_host_order() == 0xC0A8965Au);
    CHECK(IpAddress::v4(0xC0A8965Au) == *a);
    CHECK(a->to_string() == "192.168.150.90");
    CHECK(parse_ip("0.0.0.0")->is_unspecified());
    CHECK(parse_ip("255.255.255.255")->to_string() == "255.255.255.255");

    for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "1..2.3",
                            "1.2.3.4.", ".1.2.3", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4x",
                            "1234.1.1.1", "a.b.c.d", "1,2,3,4"}) {
        CHECK_MESSAGE(!parse_ip(bad), bad);
    }
}

TEST_CASE("address: IPv6 parsing of every text form") {
    CHECK(v6("::").is_unspecified());
    CHECK(v6("::1").bytes[15] == 1);
    IpAddress full = v6("2001:0db8:0000:0000:0000:0000:0000:0001");
    CHECK(full == v6("2001:db8::1"));
    CHECK(full == v6("2001:DB8:0:0:0:0:0:1"));
    CHECK(v6("1080::8:800:200C:417A") == v6("1080:0:0:0:8:800:200c:417a"));
    CHECK(v6("::ffff:192.0.2.1") == v6("::ffff:c000:201"));
    CHECK(v6("1:2:3:4:5:6:7::") == v6("1:2:3:4:5:6:7:0"));
    CHECK(v6("::2:3:4:5:6:7:8") == v6("0:2:3:4:5:6:7:8"));
    CHECK(v6("64:ff9b::10.0.0.1").bytes[15] == 1);

    for (const char* bad : {":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3",
                            "12345::", "g::", "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::",
                            ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "1::2:3:4:5:6:7:8",
                            "::ffff:256.1.1.1", "fe80::1%eth0", "[::1]", " ::1"}) {
        CHECK_MESSAGE(!parse_ip(bad), bad);
    }
}

TEST_CASE("address: RFC 5952 canonical IPv6 text") {
    CHECK(canonical("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1");  // 4.1, 4.2.1
    CHECK(canonical("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");           // 4.2.2: one 0
    CHECK(canonical("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1");                     // 4.2.3 longest
    CHECK(canonical("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");               // 4.2.3 first tie
    CHECK(canonical("2001:DB8::ABCD") == "2001:db8::abcd");                         // 4.3 lowercase
    CHECK(canonical("1080::8:800:200C:417A") == "1080::8:800:200c:417a");
    CHECK(canonical("0:0:0:0:0:0:0:0") == "::");
    CHECK(canonical("0:0:0:0:0:0:0:1") == "::1");
    CHECK(canonical("1:0:0:0:0:0:0:0") == "1::");
    CHECK(canonical("::ffff:c000:0201") == "::ffff:192.0.2.1");                     // section 5
}

TEST_CASE("address: IPv6 to_string round-trips through parse_ip") {
    std::uint64_t state = 0x5eed;
    auto next = [&state] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(state >> 33);
    };
    for (int n = 0; n < 5000; ++n) {
        IpAddress a;
        a.family = IpAddress::Family::V6;
        for (int g = 0; g < 8; ++g) {
            // Mostly zero groups, so that runs of every length and position occur.
            std::uint32_t value = (next() % 3 == 0) ? next() & 0xffff : 0;
            a.bytes[2 * g] = static_cast<std::uint8_t>(value >> 8);
            a.bytes[2 * g + 1] = static_cast<std::uint8_t>(value);
        }
        std::string text = a.to_string();
        auto back = parse_ip(text);
        REQUIRE_MESSAGE(back.has_value(), text);
        CHECK_MESSAGE(*back == a, text);
        CHECK(text.find(":::") == std::string::npos);
        CHECK(back->to_string() == text);
    }
}

TEST_CASE("address: is_private covers RFC 1918, RFC 4193, loopback and link-local") {
    for (const char* yes : {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254",
                            "192.168.1.10", "127.0.0.1", "169.254.10.20", "::1", "fe80::1",
                            "febf::1", "fc00::1", "fd12:3456::1", "::ffff:192.168.1.1"}) {
        CHECK_MESSAGE(parse_ip(yes)->is_private(), yes);
    }
    for (const char* no : {"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0",
                           "192.167.1.1", "192.169.0.0", "203.0.113.1", "8.8.8.8", "169.253.1.1",
                           "2001:db8::1", "fec0::1", "fe00::1", "::", "::2", "::ffff:8.8.8.8"}) {
        CHECK_MESSAGE(!parse_ip(no)->is_private(), no);
    }
}

TEST_CASE("address: HostPort text") {
    CHECK(HostPort{IpAddress::v4(192, 168, 1, 10), 50069}.to_string() == "192.168.1.10:50069");
    CHECK(HostPort{*parse_ip("2001:db8::1"), 21}.to_string() == "[2001:db8::1]:21");
    CHECK(HostPort{IpAddress::v4(1, 2, 3, 4), 1} < HostPort{IpAddress::v4(1, 2, 3, 4), 2});
}
