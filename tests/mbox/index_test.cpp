// The NAT and conntrack tables answer lookups through indexes and expire entries through a
// deadline heap (sim/mbox/nat.hpp, conntrack.hpp). These tests drive them with a long
// deterministic mix of operations and compare every answer with a plain scan of the table in
// creation order, which is what the indexes replace.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>  // std::mt19937_64: fully specified, the same sequence everywhere
#include <vector>

#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/nat.hpp"
#include "sim/mbox/nat64.hpp"

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
        // The tables list mappings in creation order.
        const auto all = nat.mappings();
        CHECK(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; }));
        // find_internal: the first mapping of the endpoint in creation order (the ALG's choice).
        const NatMapping* first_of_internal = nullptr;
        for (const auto& m : all)
            if (m.internal == internal) {
                first_of_internal = nat.find(m.id);
                break;
            }
        CHECK(nat.find_internal(internal) == first_of_internal);
        // find_external and port_free on a random port of (and around) the pool, held or not.
        const auto probe = static_cast<std::uint16_t>(39995 + rng() % 310);
        const NatMapping* holder = nullptr;
        for (const auto& m : all)
            if (m.external.port == probe) {
                holder = nat.find(m.id);
                break;
            }
        CHECK(nat.find_external(probe) == holder);
        CHECK(nat.port_free(probe) == (!holder && probe >= 40000 && probe <= 40300));
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
        const auto all = ct.entries();
        CHECK(std::is_sorted(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.id < y.id; }));
        CHECK(all.size() == ct.size());
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

// The pool's used ports are a bitmap that allocate_port skips a word at a time: it must pick the
// port a scan round the pool picks (the wanted port, else the next free one after it, wrapping;
// without port preservation, the next free one after the previous allocation).
TEST_CASE("NAT port allocation through the bitmap picks the port of a scan round the pool") {
    for (bool preserve : {true, false}) {
        CAPTURE(preserve);
        NatConfig cfg = NatConfig::port_restricted();
        cfg.port_preservation = preserve;
        cfg.port_min = 40000;
        cfg.port_max = 40300;
        cfg.timeouts.transitory = 50 * kSec;
        Nat nat(cfg, proto::IpAddress::v4(0xCB007101));
        std::mt19937_64 rng(11);
        const std::uint32_t lo = 40000, hi = 40300, size = hi - lo + 1;
        std::uint32_t cursor = lo;
        int exhausted = 0, moved = 0;
        for (int i = 0; i < 6000; ++i) {
            const TimeNs now = static_cast<TimeNs>(i) * kSec / 8;  // ~400 live mappings for 301 ports
            nat.expire(now);
            const auto wanted = static_cast<std::uint16_t>(39990 + rng() % 330);  // some outside the pool
            std::optional<std::uint16_t> expect;
            if (preserve && nat.port_free(wanted)) {
                expect = wanted;
            } else {
                const std::uint32_t start = preserve ? (wanted >= lo && wanted <= hi ? wanted : lo) : cursor;
                for (std::uint32_t k = 0; k < size && !expect; ++k) {
                    const auto p = static_cast<std::uint16_t>(lo + (start - lo + k) % size);
                    if (nat.port_free(p)) expect = p;
                }
            }
            bool created = false;
            NatMapping* m = nat.map_outbound(host(0x0A000000u + static_cast<std::uint32_t>(i), wanted),
                                             host(0xC6336401, 21), now, created);
            if (!expect) {
                CHECK(m == nullptr);
                ++exhausted;
                continue;
            }
            REQUIRE(m != nullptr);
            CHECK(created);
            CHECK(m->external.port == *expect);
            moved += m->external.port != wanted;
            if (!preserve) cursor = *expect == hi ? lo : *expect + 1u;
        }
        CHECK(exhausted > 0);  // the pool ran out at times
        CHECK(moved > 100);    // and clashes were searched
    }
}

// NAT64 sessions are found through hash indexes (sim/mbox/nat64.hpp): many clients, port clashes
// and replies, each answer compared with a scan of the sessions in creation order.
TEST_CASE("NAT64 session indexes give the answers of a scan in creation order") {
    Nat64Config cfg;
    cfg.prefix = nat64_well_known_prefix();
    cfg.pool = proto::IpAddress::v4(0xCB007101);
    Nat64 n(cfg);
    std::mt19937_64 rng(5);
    auto v6 = [](std::uint32_t low) {
        proto::IpAddress a = *proto::parse_ip("2001:db8:1::");
        a.bytes[12] = static_cast<std::uint8_t>(low >> 24);
        a.bytes[13] = static_cast<std::uint8_t>(low >> 16);
        a.bytes[14] = static_cast<std::uint8_t>(low >> 8);
        a.bytes[15] = static_cast<std::uint8_t>(low);
        return a;
    };
    int created = 0, reused = 0, replies = 0, unsolicited = 0;
    for (int step = 0; step < 4000; ++step) {
        std::vector<MiddleboxNote> notes;
        if (rng() % 3 != 0 || n.sessions().empty()) {
            // Outbound: 40 clients on 20 ports each (the same port numbers clash in the pool).
            const HostPort src{v6(static_cast<std::uint32_t>(rng() % 40)), static_cast<std::uint16_t>(50000 + rng() % 20)};
            const proto::IpAddress server = proto::IpAddress::v4(0xC6336400 + static_cast<std::uint32_t>(rng() % 3));
            const HostPort dst{nat64_synthesize(cfg.prefix, server), 21};
            const Nat64Session* expect = nullptr;
            std::optional<std::uint16_t> own_port;  // the pool port the client already has
            for (const auto& s : n.sessions()) {
                if (!own_port && s.v6_src == src) own_port = s.v4_src.port;
                if (s.v6_src == src && s.v6_dst == dst) {
                    expect = &s;
                    break;
                }
            }
            const std::size_t before = n.sessions().size();
            Packet p = make_packet(src, dst, expect ? kAck : kSyn, 1);
            const HostPort want_src = expect ? expect->v4_src : HostPort{};
            REQUIRE(n.process(p, notes) == Verdict::Forward);
            if (expect) {
                CHECK(p.src == want_src);
                CHECK(n.sessions().size() == before);
                ++reused;
            } else {
                REQUIRE(n.sessions().size() == before + 1);
                const Nat64Session& made = n.sessions().back();
                CHECK(p.src == made.v4_src);
                CHECK(p.dst == HostPort{server, 21});
                if (own_port) {
                    CHECK(made.v4_src.port == *own_port);  // endpoint-independent: the same pool port
                } else {
                    // A new endpoint: its own port when no earlier session holds it, else the next free.
                    std::uint32_t port = src.port;
                    auto taken = [&](std::uint32_t q) {
                        for (std::size_t k = 0; k + 1 < n.sessions().size(); ++k)
                            if (n.sessions()[k].v4_src.port == q) return true;
                        return false;
                    };
                    while (taken(port)) ++port;
                    CHECK(made.v4_src.port == port);
                }
                ++created;
            }
        } else {
            // Inbound: a reply on a random session, or on a pool port/server pair nobody opened.
            const auto& sessions = n.sessions();
            const Nat64Session s = sessions[rng() % sessions.size()];
            const bool stray = rng() % 4 == 0;
            const HostPort from = stray ? HostPort{s.v4_dst.addr, 22} : s.v4_dst;
            const Nat64Session* expect = nullptr;
            for (const auto& t : sessions)
                if (t.v4_dst == from && t.v4_src == s.v4_src) {
                    expect = &t;
                    break;
                }
            const HostPort want_dst = expect ? expect->v6_src : HostPort{};
            Packet p = make_packet(from, s.v4_src, kAck, 1);
            const Verdict v = n.process(p, notes);
            if (expect) {
                CHECK(v == Verdict::Forward);
                CHECK(p.dst == want_dst);
                ++replies;
            } else {
                CHECK(v == Verdict::Drop);
                ++unsolicited;
            }
        }
    }
    CHECK(created > 300);
    CHECK(reused > 300);
    CHECK(replies > 300);
    CHECK(unsolicited > 50);
}
