// Scenario texts the benchmarks run (YAML, loaded with scenario::load_string like a library file).
#pragma once

#include <string>

namespace ftpsim::bench {

// Overhead: the library's home-router-alg-active-port-21 case (active FTP through a
// port-restricted NAT with its FTP ALG) plus a stateful firewall on the same router, so every
// packet crosses NAT + firewall + ALG. Trace recording stays on.
inline const char* kOverheadYaml = R"(title: "bench: NAT + firewall + ALG, active mode"
seed: 21
nodes:
  client:
    interfaces: [192.168.1.100/24]
    gateway: 192.168.1.1
  linksys:
    kind: router
    interfaces:
      - {name: lan, address: 192.168.1.1/24, side: inside}
      - {name: wan, address: 203.0.113.78/24, side: outside}
    gateway: 203.0.113.254
    nat: port-restricted
    alg: {enabled: true, ports: [21]}
    firewall:
      policy: accept
      rules:
        - {action: accept, direction: in, state: established}
        - {action: accept, direction: in, state: related}
        - {action: drop, direction: in, state: new}
  internet:
    kind: router
    interfaces:
      - {name: isp, address: 203.0.113.254/24}
      - {name: hosting, address: 198.51.100.254/24}
  server:
    interfaces: [198.51.100.89/24]
    gateway: 198.51.100.254
links:
  - {between: [client, linksys], latency: 1ms}
  - {between: [linksys, internet], latency: 8ms, bandwidth: 8Mbit/s}
  - {between: [internet, server], latency: 30ms, bandwidth: 100Mbit/s}
servers:
  server:
    profile: rfc959
    options: {connect_from_port_20: true}
    files:
      /pub/file.bin: 48KiB
clients:
  client:
    profile: classic
    mode: port
    server: 198.51.100.89:21
    script: [login, get /pub/file.bin, quit]
)";

// Scale: HOSTS client hosts behind one carrier-grade NAT (a port-restricted NAT with the large
// pool 1024-65535), COUNT clients on each, each login / get a small file / quit. The hosts start
// 10 s apart: a host's 1000 sessions hold about 2000 NAT mappings, which stay for RFC 5382's 4 min
// transitory timeout after their connections close, so about 32 hosts share the pool at a time.
inline const char* kScaleYaml = R"(title: "bench: many sessions from many hosts through one NAT"
seed: 5
limits: {time: 36000s, events: 1000000000, memory: 32GiB}
nodes:
  clients:
    interfaces: [10.1.0.1/16]
    gateway: 10.1.255.254
  nat:
    kind: router
    interfaces:
      - {name: lan, address: 10.1.255.254/16, side: inside}
      - {name: wan, address: 203.0.113.1/24, side: outside}
    gateway: 203.0.113.254
    nat: {type: port-restricted, ports: 1024-65535}
  internet:
    kind: router
    interfaces:
      - {name: isp, address: 203.0.113.254/24}
      - {name: hosting, address: 198.51.100.254/24}
  server:
    interfaces: [198.51.100.10/24]
    gateway: 198.51.100.254
links:
  - {between: [clients, nat], latency: 1ms, bandwidth: 1Gbit/s}
  - {between: [nat, internet], latency: 10ms, bandwidth: 1Gbit/s}
  - {between: [internet, server], latency: 10ms, bandwidth: 1Gbit/s}
servers:
  server:
    profile: vsftpd
    passive_ports: 10000-59999
    max_clients: 100000
    files:
      /pub/small.txt: 512
clients:
  clients:
    profile: classic
    mode: pasv
    count: COUNT
    hosts: HOSTS
    host_interval: 10s
    server: 198.51.100.10:21
    script: [login, get /pub/small.txt, quit]
)";

}  // namespace ftpsim::bench
