// The FTP applications on the simulated TCP stacks: each turns the sans-IO sessions' actions
// into socket calls and the sockets' callbacks into the sessions' inputs. The same sessions run
// in the SessionPair tests and (later) on real sockets.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/client.hpp"
#include "protocol/server.hpp"
#include "sim/net/network.hpp"
#include "sim/run/build.hpp"
#include "sim/net/tls.hpp"
#include "trace/trace.hpp"

namespace ftpsim::sim {

// Re-arms one stack timer for a session's next expiry.
class SessionTimer {
public:
    template <class Fn>
    void arm(net::Stack& stack, proto::Time at, Fn fn) {
        if (at == armed_) return;
        if (id_) stack.cancel(*id_);
        id_.reset();
        armed_ = at;
        if (at == proto::kNever) return;
        id_ = stack.schedule(std::max(at, stack.now()), [this, fn] {
            id_.reset();
            armed_ = proto::kNever;
            fn();
        });
    }

private:
    std::optional<net::TimerId> id_;
    proto::Time armed_ = proto::kNever;
};

class ServerApp final : public net::SocketHandler {
public:
    ServerApp(net::Network& net, std::string node, proto::ServerConfig config, proto::Vfs vfs,
              std::uint64_t seed, proto::IpAddress listen_addr, std::uint16_t port);
    void start(net::Stack& stack);

    void on_accept(net::Stack&, net::ListenerId, net::ConnId, const net::HostPort&, const net::HostPort&) override;
    void on_connected(net::Stack&, net::ConnId) override;
    void on_refused(net::Stack&, net::ConnId) override;
    void on_timeout(net::Stack&, net::ConnId) override;
    void on_data(net::Stack&, net::ConnId, std::string_view) override;
    void on_peer_closed(net::Stack&, net::ConnId) override;
    void on_reset(net::Stack&, net::ConnId) override;
    void on_drained(net::Stack&, net::ConnId) override;

    const std::string& node() const { return node_; }
    // Faults (scenario `faults`): a restart (421 to everyone, nothing accepted until restart()),
    // and a full disk (the quota becomes what is used now).
    void shutdown(net::Stack& s);
    void restart(net::Stack& s);
    void fill_disk(net::Stack& s);
    std::string start_error;  // the control port could not be bound
    // Model the kernel's accept queue on passive ports (set when a scenario has attackers): the
    // listening socket stays open until the transfer's data connection is closed, as vsftpd
    // closes it only after the transfer (pasv_cleanup); connections that arrive meanwhile wait
    // in the queue and are reset then. Profiles that answer a foreign connection at accept
    // (pyftpdlib) close the listener at once. Off: the listener closes at the first accept
    // (indistinguishable while only the client connects).
    void model_listen_queue(bool on) { listen_queue_ = on; }

private:
    using DataKey = std::pair<proto::SessionId, proto::DataId>;
    void data_event(net::Stack& s, net::ConnId c, const proto::DataEvent& e);
    void pump(net::Stack& s);
    void apply(net::Stack& s, proto::SessionId sid, const proto::Action& a);

    net::Network& net_;
    std::string node_;
    SplitMix rng_;
    proto::FtpServer server_;
    proto::IpAddress listen_addr_;
    std::uint16_t port_;
    net::ListenerId control_listener_ = -1;
    std::map<net::ConnId, proto::SessionId> session_of_conn_;
    std::map<proto::SessionId, net::ConnId> conn_of_session_;
    std::map<DataKey, net::ConnId> data_conn_;
    std::map<net::ConnId, DataKey> data_of_conn_;
    std::map<DataKey, net::ListenerId> listener_of_;
    std::map<net::ListenerId, DataKey> data_of_listener_;
    std::map<proto::SessionId, TlsControlChannel> tls_;
    bool listen_queue_ = false;
    std::set<net::ConnId> opened_;  // data connections whose handshake completed
    std::map<DataKey, net::ListenerId> lingering_;          // passive listeners kept open
    std::map<net::ListenerId, std::vector<net::ConnId>> queued_;  // connections waiting in them
    void close_lingering(net::Stack& s, const DataKey& key);
    SessionTimer timer_;
    TlsControlChannel& tls(proto::SessionId sid) {
        return tls_.try_emplace(sid, TlsControlChannel::Side::Server).first->second;
    }
};

// What one client (or one third-party client) achieved, for the trace's outcome.
struct ClientReport {
    std::string node;
    std::vector<trace::Transfer> transfers;
    bool all_ok = true;     // every user action succeeded and the script ran to its end
    std::vector<std::string> failures;
};

class ClientApp final : public net::SocketHandler {
public:
    ClientApp(net::Network& net, std::string node, proto::ClientConfig config,
              proto::IpAddress local, proto::HostPort server, std::uint16_t local_port = 0,
              std::pair<std::uint16_t, std::uint16_t> data_ports = {0, 0});
    void start(net::Stack& stack);
    ClientReport report() const;
    const std::string& node() const { return node_; }
    void reset_data(net::Stack& s);  // fault: RST on every open data connection
    void on_unreachable(net::Stack&, net::ConnId) override;

    void on_accept(net::Stack&, net::ListenerId, net::ConnId, const net::HostPort&, const net::HostPort&) override;
    void on_connected(net::Stack&, net::ConnId) override;
    void on_refused(net::Stack&, net::ConnId) override;
    void on_timeout(net::Stack&, net::ConnId) override;
    void on_data(net::Stack&, net::ConnId, std::string_view) override;
    void on_peer_closed(net::Stack&, net::ConnId) override;
    void on_reset(net::Stack&, net::ConnId) override;

private:
    void data_event(net::Stack& s, net::ConnId c, const proto::DataEvent& e);
    void pump(net::Stack& s);
    // The control connection could not be made: a new one after the profile's reconnect
    // interval (lftp net:max-retries ...), if it has tries left. False: give up.
    bool retry_control(net::Stack& s);
    void control_failed(net::Stack& s, std::string why);
    // The session gave up on a transfer the profile retries (lftp): a new control connection,
    // resuming at that transfer, if net:max-retries allows.
    void retry_transfer(net::Stack& s);
    std::vector<proto::ActionResult> all_results() const;

    [[maybe_unused]] net::Network& net_;  // unused so far (clang: -Wunused-private-field)
    std::string node_;
    proto::ClientConfig config_;         // each retry starts a new session with it
    proto::ClientSession session_;
    unsigned tries_ = 1;                 // control connections tried so far
    proto::Time interval_ = 0;           // the next reconnect interval (0: the base)
    proto::Time try_start_ = 0;          // when the current control connection was started
    bool retry_scheduled_ = false;       // a transfer retry waits for its reconnect time
    // Results of earlier control connections' actions before the resumed one; the current
    // session's first skip_ results are its repeated logins.
    std::vector<proto::ActionResult> carried_;
    std::size_t skip_ = 0;
    proto::IpAddress local_;
    proto::HostPort server_;
    std::uint16_t local_port_;
    std::pair<std::uint16_t, std::uint16_t> data_ports_;  // active mode: where to listen (0,0: ephemeral)
    net::ConnId control_ = -1;
    bool control_open_ = false;
    std::string control_failure_;
    std::map<proto::DataId, net::ConnId> data_conn_;
    std::map<net::ConnId, proto::DataId> data_of_conn_;
    std::set<net::ConnId> spdt_handshake_;  // SPSV connections before "200 DATA"
    std::map<proto::DataId, net::ListenerId> listener_of_;
    std::map<net::ListenerId, proto::DataId> data_of_listener_;
    TlsControlChannel tls_{TlsControlChannel::Side::Client};
    SessionTimer timer_;
};

// A third host that races the client for its data connection (scenario key `attackers`). It
// reads the server's replies where they pass a node (a mirror port on a router, or a shared
// medium) and, `delay` after it sees the announcement, either connects to the passive port a
// 227/229 names (steal: data) or opens a connection to the control port and sends SPDT with the
// identifier a single-port 227 carries (steal: spdt). Without a sniffed reply it can send SPDT
// with an identifier it guesses, at a fixed time. It acts once, then reads whatever it is sent.
class AttackerApp final : public net::SocketHandler {
public:
    AttackerApp(scenario::AttackerSpec spec, scenario::NodeSpec node);
    void start(net::Stack& stack);
    // A reply line from the server's control endpoint `server`, seen on the sniffed node.
    void sniffed(const std::string& line, const proto::HostPort& server);
    ClientReport report() const;
    const scenario::AttackerSpec& spec() const { return spec_; }

    void on_connected(net::Stack&, net::ConnId) override;
    void on_refused(net::Stack&, net::ConnId) override;
    void on_timeout(net::Stack&, net::ConnId) override;
    void on_data(net::Stack&, net::ConnId, std::string_view) override;
    void on_peer_closed(net::Stack&, net::ConnId) override;
    void on_reset(net::Stack&, net::ConnId) override;

private:
    void attack(const proto::HostPort& target, const std::string& id);

    scenario::AttackerSpec spec_;
    scenario::NodeSpec node_;
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

// Server-to-server (RFC 959 5.2, RFC 478, RFC 438): one client, two control connections.
class ThirdPartyApp final : public net::SocketHandler {
public:
    ThirdPartyApp(net::Network& net, std::string node, proto::ThirdPartyConfig config,
                  proto::IpAddress local, proto::HostPort receiver, proto::HostPort sender);
    void start(net::Stack& stack);
    ClientReport report() const;

    void on_connected(net::Stack&, net::ConnId) override;
    void on_refused(net::Stack&, net::ConnId) override;
    void on_timeout(net::Stack&, net::ConnId) override;
    void on_data(net::Stack&, net::ConnId, std::string_view) override;
    void on_peer_closed(net::Stack&, net::ConnId) override;
    void on_reset(net::Stack&, net::ConnId) override;

private:
    int control_of(net::ConnId c) const;
    void pump(net::Stack& s);

    [[maybe_unused]] net::Network& net_;  // unused so far (clang: -Wunused-private-field)
    std::string node_;
    proto::ThirdPartyClient client_;
    proto::IpAddress local_;
    proto::HostPort servers_[2];
    net::ConnId conns_[2] = {-1, -1};
    TlsControlChannel tls_[2] = {TlsControlChannel{TlsControlChannel::Side::Client},
                                 TlsControlChannel{TlsControlChannel::Side::Client}};
    std::string failure_;
};

}  // namespace ftpsim::sim
