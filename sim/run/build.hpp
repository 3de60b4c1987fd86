// Turning a scenario into the models it describes (ns-3's "helper" role): the topology, each
// router's middlebox pipeline, the FTP server and client configurations. Plain functions; the
// simulation itself is in run.cpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "protocol/client.hpp"
#include "protocol/server.hpp"
#include "sim/mbox/router.hpp"
#include "sim/net/rng.hpp"
#include "sim/net/topology.hpp"
#include "sim/scenario/scenario.hpp"

namespace ftpsim::sim {

// Throws scenario::ScenarioError (with the scenario's marks) for what the loader could not see:
// a topology the network layer refuses.
net::Topology build_topology(const scenario::Scenario& s);

// The middlebox pipeline of a node with NAT, port forwards, an ALG or a firewall; null when the
// node only routes (or, for a host, has no firewall).
std::unique_ptr<mbox::Router> build_router(const scenario::NodeSpec& n);

proto::ServerConfig build_server_config(const scenario::ServerSpec& s);
proto::Vfs build_vfs(const scenario::ServerSpec& s);

// The client's script as user actions; the scenario's login step uses its user and password.
proto::ClientScript build_script(const scenario::ClientSpec& c);
proto::DataMode build_mode(scenario::ClientMode mode);
// clients.X.options: the program's own options (curl connect-timeout, max-time, ftp-skip-pasv-ip;
// ftplib timeout, trust_server_pasv_ipv4_address; lftp net:timeout, ftp:fix-pasv-address) set
// the profile's fields. Throws ScenarioError for an unknown option or another program's.
void apply_client_options(const scenario::ClientSpec& c, proto::ClientProfile& profile);

// The address a host uses to reach `dest`: the interface on the same network, else the one
// facing its gateway, else its first.
proto::IpAddress source_address(const scenario::NodeSpec& n, const proto::IpAddress& dest);

// Server randomness uses the network's deterministic generator, seeded per run and server.
using SplitMix = net::SplitMix64;
// FNV-1a 64: a stable hash of a name (seeds) or of a whole trace's JSON (golden digests).
std::uint64_t hash_name(const std::string& s);

}  // namespace ftpsim::sim
