// A third host that races the client for its data connection (scenario key `attackers`; a
// model, no scenario types: sim/run builds its AttackerConfig). It reads the server's replies
// where they pass a node (a mirror port on a router, or a shared medium) and, `delay` after it
// sees the announcement, either connects to the passive port a 227/229 names (steal: data) or
// opens a connection to the control port and sends SPDT with the identifier a single-port 227
// carries (steal: spdt). Without a sniffed reply it can send SPDT with an identifier it
// guesses, at a fixed time. It acts once, then reads whatever it is sent.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/address.hpp"
#include "sim/net/network.hpp"
#include "sim/net/processor.hpp"
#include "trace/trace.hpp"

namespace ftpsim::sim {

struct AttackerConfig {
    enum class Steal : std::uint8_t { Data, Spdt };
    std::string node;                       // the attacker's host
    Steal steal = Steal::Data;
    std::string sniff;                      // the node whose traffic it reads ("" = none: it guesses)
    std::int64_t delay_ns = 0;              // with sniff: how long after the sniffed reply it acts
    std::optional<proto::HostPort> server;  // without sniff: the control port for SPDT
    std::int64_t at_ns = 0;                 // without sniff: when it acts
    std::optional<std::string> id;          // spdt: the identifier to send (default: the sniffed one)
    // The node's own address for a connection to `dest` (its routing).
    std::function<proto::IpAddress(const proto::IpAddress& dest)> source_for;
};

class AttackerApp final : public net::SocketHandler {
public:
    explicit AttackerApp(AttackerConfig config);
    void start(net::Stack& stack);
    // A reply line from the server's control endpoint `server`, seen on the sniffed node.
    void sniffed(const std::string& line, const proto::HostPort& server);
    // Its attempt for the outcome: DATA or SPDT, ok = it received the client's data.
    trace::Transfer attempt() const;
    // Why it achieved nothing ("" when it acted and nothing went wrong).
    std::string failure() const;
    const AttackerConfig& config() const { return config_; }

    void on_connected(net::Stack&, net::ConnId) override;
    void on_refused(net::Stack&, net::ConnId) override;
    void on_timeout(net::Stack&, net::ConnId) override;
    void on_data(net::Stack&, net::ConnId, std::string_view) override;
    void on_peer_closed(net::Stack&, net::ConnId) override;
    void on_reset(net::Stack&, net::ConnId) override;

private:
    void attack(const proto::HostPort& target, const std::string& id);
    bool steals_data() const { return config_.steal == AttackerConfig::Steal::Data; }

    AttackerConfig config_;
    net::Stack* stack_ = nullptr;
    bool acted_ = false;
    net::ConnId conn_ = -1;
    proto::HostPort target_;
    std::string id_;            // spdt: the identifier sent
    std::string lines_;         // spdt: control bytes not yet split into lines
    bool greeted_ = false, handed_over_ = false;
    int reply_ = 0;             // spdt: the reply to SPDT
    std::uint64_t stolen_ = 0;  // data bytes received
    std::string failure_;
};

// An attacker's tap on a node: every segment arriving there from a server's control port is read
// line by line, and the replies are passed to the attacker (as a mirror port or a shared medium
// would show them). Wraps the node's own hook, if any (nullptr: none).
class SniffHook final : public net::PacketProcessor {
public:
    SniffHook(net::PacketProcessor* inner, AttackerApp* attacker, std::set<std::uint16_t> control_ports)
        : inner_(inner), attacker_(attacker), control_ports_(std::move(control_ports)) {}
    net::Decision prerouting(net::Packet& p, const net::HookContext& ctx,
                             std::vector<mbox::MiddleboxNote>& notes) override;
    net::Decision postrouting(net::Packet& p, const net::HookContext& ctx,
                              std::vector<mbox::MiddleboxNote>& notes) override;
    // The wrapped hook's own packets (an FTP64 ALG's replies) go out unchanged.
    std::vector<net::Packet> take_answers() override;

private:
    net::PacketProcessor* inner_;
    AttackerApp* attacker_;
    std::set<std::uint16_t> control_ports_;
};

}  // namespace ftpsim::sim
