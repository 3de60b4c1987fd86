// The FTP applications on the simulated TCP stacks: each turns the sans-IO sessions' actions
// into socket calls and the sockets' callbacks into the sessions' inputs. The same sessions run
// in the SessionPair tests and (later) on real sockets.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/client.hpp"
#include "protocol/server.hpp"
#include "sim/net/network.hpp"
#include "sim/run/build.hpp"
#include "sim/run/tls.hpp"
#include "sim/trace/trace.hpp"

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

    net::Network& net_;
    std::string node_;
    proto::ClientSession session_;
    proto::IpAddress local_;
    proto::HostPort server_;
    std::uint16_t local_port_;
    std::pair<std::uint16_t, std::uint16_t> data_ports_;  // active mode: where to listen (0,0: ephemeral)
    net::ConnId control_ = -1;
    bool control_open_ = false;
    std::string control_failure_;
    std::map<proto::DataId, net::ConnId> data_conn_;
    std::map<net::ConnId, proto::DataId> data_of_conn_;
    std::map<proto::DataId, net::ListenerId> listener_of_;
    std::map<net::ListenerId, proto::DataId> data_of_listener_;
    TlsControlChannel tls_{TlsControlChannel::Side::Client};
    SessionTimer timer_;
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

    net::Network& net_;
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
