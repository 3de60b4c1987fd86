// The NAT and conntrack tables answer lookups through indexes and expire entries through a
// deadline heap (sim/mbox/nat.hpp, conntrack.hpp). These tests drive them with a long
// deterministic mix of operations and compare every answer with a plain scan of the table in
// creation order, which is what the indexes replace.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>  // std::mt19937_64: fully specified, the same sequence everywhere
#include <vector>

#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/nat.hpp"

using namespace ftpsim;
using namespace ftpsim::mbox;

namespace {

constexpr TimeNs kSec = trace::kNsPerSec;

HostPort host(std::uint32_t addr, std::uint16_t port) { return {proto::IpAddress::v4(addr), port}; }

std::vector<int> ids(const std::vector<NatMapping>& v) {
    std::vector<int> out;
    for (const auto& m : v) out.push_back(m.id);
    return out;
}
std::vector<int> ids(const std::vector<ConntrackEntry>& v) {
    std::vector<int> out;
    for (const auto& e : v) out.push_back(e.id);
    return out;
}

void check_nat_against_scan(NatBehaviour mapping) {
    NatConfig cfg = NatConfig::port_restricted();
    cfg.mapping = mapping;
    cfg.port_min = 40000;
    cfg.port_max = 40300;  // small pool: exhaustion and reuse of freed ports happen
    cfg.timeouts.established = 50 * kSec;
    cfg.timeouts.transitory = 7 * kSec;
    Nat nat(cfg, proto::IpAddress::v4(0xCB007101));
    std::mt19937_64 rng(42 + static_cast<int>(mapping));
    TimeNs now = 0;
    int created_total = 0, reused_total = 0, expired_total = 0;
    for (int step = 0; step < 6000; ++step) {
        now += static_cast<TimeNs>(rng() % (2 * kSec));
        // Expiry: the heap's answer equals a scan for mappings idle beyond their timeout.
        std::vector<int> due;
        for (const auto& m : nat.mappings())
            if (nat.expired(m, now)) due.push_back(m.id);
        const auto gone = nat.expire(now);
        REQUIRE(ids(gone) == due);
        expired_total += static_cast<int>(gone.size());

        const HostPort internal = host(0xC0A80100 + rng() % 6, static_cast<std::uint16_t>(50000 + rng() % 40));
        const HostPort remote = host(0xCB007100 + rng() % 3, static_cast<std::uint16_t>(20 + rng() % 3));
        // The mapping a scan in creation order would reuse.
        const NatMapping* expect = nullptr;
        for (const auto& m : nat.mappings()) {
            // RFC 4787: the key a mapping is reused by (ALG reservations have the empty key).
            const HostPort key = mapping == NatBehaviour::EndpointIndependent ? HostPort{}
                                 : mapping == NatBehaviour::AddressDependent ? HostPort{remote.addr, 0}
                                                                              : remote;
            if (m.internal == internal && m.remote_key == key) {
                expect = nat.find(m.id);
                break;
            }
        }
        bool created = false;
        NatMapping* got = nat.map_outbound(internal, remote, now, created);
        if (expect) {
            REQUIRE(got == expect);
            CHECK_FALSE(created);
            ++reused_total;
        } else if (got) {
            CHECK(created);
            ++created_total;
        }
        if (got) {
            // find_external: the lowest-id mapping owning the port (a scan would find it first).
            CHECK(nat.find_external(got->external.port) == got);
            CHECK_FALSE(nat.port_free(got->external.port));
            const std::uint8_t flags = rng() % 9 == 0 ? kFin : (rng() % 2 ? kAck : kSyn);
            nat.touch(*got, rng() % 2 == 0, flags, remote, now);
        }
        if (step % 500 == 0) {
            // An ALG reservation takes a port too.
            if (NatMapping* r = nat.reserve(internal, static_cast<std::uint16_t>(40000 + rng() % 300), now,
                                            "ALG expectation"))
                CHECK(nat.find_external(r->external.port) == r);
        }
    }
    // The run exercised every path.
    CHECK(created_total > 100);
    CHECK(reused_total > 10);
    CHECK(expired_total > 100);
}

}  // namespace

TEST_CASE("NAT index and deadline heap give the answers of a scan in creation order") {
    SUBCASE("endpoint-independent mapping") { check_nat_against_scan(NatBehaviour::EndpointIndependent); }
    SUBCASE("address-dependent mapping") { check_nat_against_scan(NatBehaviour::AddressDependent); }
    SUBCASE("address-and-port-dependent mapping") { check_nat_against_scan(NatBehaviour::AddressAndPortDependent); }
}

TEST_CASE("Conntrack index and deadline heap give the answers of a scan in id order") {
    Conntrack ct;
    ct.timeouts.established = 40 * kSec;
    ct.timeouts.unreplied = 5 * kSec;
    ct.timeouts.closing = 3 * kSec;
    std::mt19937_64 rng(7);
    TimeNs now = 0;
    int found_total = 0, expired_total = 0;
    for (int step = 0; step < 6000; ++step) {
        now += static_cast<TimeNs>(rng() % kSec);
        std::vector<int> due;
        for (const auto& e : ct.entries())
            if (ct.expired(e, now)) due.push_back(e.id);
        const auto gone = ct.expire(now);
        REQUIRE(ids(gone) == due);
        expired_total += static_cast<int>(gone.size());

        const HostPort a = host(0xC0A80100 + rng() % 4, static_cast<std::uint16_t>(50000 + rng() % 30));
        const HostPort b = host(0xCB007100 + rng() % 2, 21);
        Packet p = make_packet(rng() % 2 ? a : b, rng() % 2 ? b : a,
                               rng() % 7 == 0 ? kFin : kAck, 1);
        // A scan in id order: original before reply within an entry.
        const ConntrackEntry* expect = nullptr;
        CtDirection expect_dir = CtDirection::Original;
        for (const auto& e : ct.entries()) {
            if (e.original == FlowTuple{p.src, p.dst}) { expect = ct.get(e.id); expect_dir = CtDirection::Original; break; }
            if (e.reply == FlowTuple{p.src, p.dst}) { expect = ct.get(e.id); expect_dir = CtDirection::Reply; break; }
        }
        CtDirection dir = CtDirection::Original;
        ConntrackEntry* got = ct.find(p, dir);
        REQUIRE(got == expect);
        if (got) {
            CHECK(dir == expect_dir);
            ct.update(*got, dir, p, now);
            ++found_total;
            if (rng() % 50 == 0) ct.erase(got->id);
        } else {
            // Sometimes a translated reply tuple, so that tuples overlap between entries.
            const FlowTuple orig{p.src, p.dst};
            const FlowTuple reply = rng() % 3 == 0 ? FlowTuple{p.dst, host(0xCB007101, static_cast<std::uint16_t>(40000 + rng() % 20))}
                                                         : orig.inverse();
            ct.add(orig, reply, now);
        }
    }
    CHECK(found_total > 1000);
    CHECK(expired_total > 100);
}
