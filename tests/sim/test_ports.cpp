// Ephemeral ports as Linux hands them out: connect() from a per-destination offset, even ports
// first (__inet_hash_connect); bind()/listen() on port 0 from a random odd port
// (inet_csk_find_open_port); never a port a socket of the same host uses; per-host ranges.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "sim/net/network.hpp"

using namespace ftpsim;
using namespace ftpsim::net;
using trace::kNsPerSec;

namespace {

IpAddress ip(const char* s) { return *proto::parse_ip(s); }

// client 10.0.0.1 -- server 10.0.0.2 on one link.
Topology lan(std::uint16_t lo = 0, std::uint16_t hi = 0) {
    Topology t;
    t.add_host("client", "client");
    t.add_host("server", "server");
    t.add_interface("client", "eth0", "10.0.0.1/24");
    t.add_interface("server", "eth0", "10.0.0.2/24");
    t.add_link("l", "client", "eth0", "server", "eth0", 1'000'000, 1e9);
    if (lo) t.set_local_port_range("client", lo, hi);
    return t;
}

struct Quiet : SocketHandler {};

struct Ports {
    std::vector<std::uint16_t> connects;   // local ports of the client's connects, in order
    std::vector<std::uint16_t> listens;    // ports its port-0 listeners got
    std::vector<std::string> errors;
};

// `n` connects to server:21 and, after each, a port-0 listener, all open at once.
Ports run(std::uint64_t seed, int n, std::uint16_t lo = 0, std::uint16_t hi = 0) {
    NetConfig cfg;
    cfg.seed = seed;
    Network net(lan(lo, hi), cfg);
    static Quiet h;
    Ports out;
    net.on_start("server", [&](Stack& s) { REQUIRE(s.listen(ip("10.0.0.2"), 21, 21, &h)); });
    net.on_start("client", [&](Stack& s) {
        for (int i = 0; i < n; ++i) {
            try {
                ConnId c = s.connect(ip("10.0.0.1"), 0, {ip("10.0.0.2"), 21}, &h);
                out.connects.push_back(s.info(c).local.port);
            } catch (const std::runtime_error& e) {
                out.errors.push_back(e.what());
            }
            auto r = s.listen(ip("10.0.0.1"), 0, 0, &h);
            if (r) out.listens.push_back(r.port);
            else out.errors.push_back(r.error);
        }
    });
    net.run(10 * kNsPerSec, 1'000'000);
    return out;
}

}  // namespace

TEST_CASE("ports: connect() and port-0 listeners never share a port on one host") {
    Ports p = run(7, 200);
    REQUIRE(p.connects.size() == 200);
    REQUIRE(p.listens.size() == 200);
    std::set<std::uint16_t> all(p.connects.begin(), p.connects.end());
    all.insert(p.listens.begin(), p.listens.end());
    CHECK(all.size() == 400);
    for (auto port : all) {
        CHECK(port >= 32768);
        CHECK(port <= 60999);
    }
    for (auto port : p.connects) CHECK(port % 2 == 0);  // connect() takes the range's parity first
    for (auto port : p.listens) CHECK(port % 2 == 1);   // bind(0) the other one
}

TEST_CASE("ports: successive connects to one destination walk up from its offset") {
    Ports p = run(7, 5);
    REQUIRE(p.connects.size() == 5);
    for (std::size_t i = 1; i < p.connects.size(); ++i) {
        // table_perturb grows by 2 + a random even number below 16 when no port was skipped.
        const int step = p.connects[i] - p.connects[i - 1];
        CHECK(step >= 2);
        CHECK(step <= 16);
        CHECK(step % 2 == 0);
    }
}

TEST_CASE("ports: the seed drives the choice; the same seed gives the same ports") {
    Ports a = run(7, 3), b = run(7, 3), c = run(8, 3);
    CHECK(a.connects == b.connects);
    CHECK(a.listens == b.listens);
    CHECK(a.connects != c.connects);
    CHECK(a.listens != c.listens);
}

TEST_CASE("ports: a host's ip_local_port_range bounds its ports, and running out is an error") {
    Ports p = run(3, 3, 40000, 40003);  // four ports: two connects and two listeners fit
    CHECK(p.connects == std::vector<std::uint16_t>{40000, 40002});
    CHECK(p.listens == std::vector<std::uint16_t>{40001, 40003});
    REQUIRE(p.errors.size() == 2);
    CHECK(p.errors[0] == "connect: no free ephemeral port on client");
    CHECK(p.errors[1] == "no free port in 40000-40003 on 10.0.0.1");
    CHECK_THROWS_AS(lan(500, 400), TopologyError);
}
