// The FTP applications on the simulated TCP stacks. Each is thin: the session host
// (protocol/host.hpp) turns the sans-IO sessions' actions into calls on SimTransport and the
// sockets' callbacks into the sessions' inputs; an app adds only its node's policy (TLS
// records, a client's reconnects, a server's faults). The same sessions run in the SessionPair
// tests and on real sockets (live/).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/client.hpp"
#include "protocol/host.hpp"
#include "protocol/server.hpp"
#include "sim/net/network.hpp"
#include "sim/run/build.hpp"
#include "sim/net/tls.hpp"
#include "trace/trace.hpp"

namespace ftpsim::sim {

class HostedApp;

// The simulated TCP stack of one node as the session host's transport (protocol/host.hpp): the
// host's calls become Stack calls, and the node's socket callbacks reach the host through the
// app (each app below is the SocketHandler of its sockets).
class SimTransport final : public proto::Transport {
public:
    SimTransport(net::Network& net, net::SocketHandler* handler) : net_(net), handler_(handler) {}
    void attach(net::Stack& stack) { stack_ = &stack; }
    bool attached() const { return stack_ != nullptr; }
    void set_host(proto::SessionHost* host) { host_ = host; }
    // The app told after each timer of the session host (HostedApp::settle).
    void set_app(HostedApp* app) { app_ = app; }
    bool timer_pending() const { return timer_.has_value(); }
    net::Stack& stack() const { return *stack_; }

    proto::Time now() const override { return stack_->now(); }
    proto::ListenOutcome listen(const proto::IpAddress& addr, std::uint16_t lo, std::uint16_t hi,
                                const proto::SocketPurpose& purpose) override;
    void stop_listening(proto::ListenerHandle l) override { stack_->stop_listening(static_cast<net::ListenerId>(l)); }
    proto::ConnHandle connect(const proto::IpAddress& local, std::uint16_t local_port, const proto::HostPort& remote,
                              const proto::SocketPurpose& purpose) override;
    void send(proto::ConnHandle c, std::string_view bytes) override { stack_->send(conn(c), bytes); }
    std::uint64_t send_space(proto::ConnHandle c) const override { return stack_->send_space(conn(c)); }
    void close(proto::ConnHandle c) override { stack_->close(conn(c)); }
    void abort(proto::ConnHandle c) override { stack_->abort(conn(c)); }
    Ends ends(proto::ConnHandle c) const override;
    void file_data_from_now(proto::ConnHandle c) override { stack_->file_data_from_now(conn(c)); }
    void relabel_as_data(proto::ConnHandle c, proto::ConnHandle control) override {
        net_.label_connection(conn(c), "data", static_cast<int>(control));
    }
    void set_timer(proto::Time at) override;
    void explain(const proto::Explain& e) override;
    void queued_connection_reset(proto::ConnHandle c) override;
    void connection_queued(const proto::HostPort& remote, const proto::HostPort& local) override;

private:
    static net::ConnId conn(proto::ConnHandle c) { return static_cast<net::ConnId>(c); }
    net::Network& net_;
    net::SocketHandler* handler_;
    net::Stack* stack_ = nullptr;
    proto::SessionHost* host_ = nullptr;
    HostedApp* app_ = nullptr;
    std::optional<net::TimerId> timer_;
};

// Socket callbacks -> the session host (the one mapping every app below shares). After each,
// settle() lets an app see whether it is done.
class HostedApp : public net::SocketHandler {
public:
    void on_accept(net::Stack&, net::ListenerId l, net::ConnId c, const net::HostPort& local,
                   const net::HostPort& remote) override {
        host().on_accept(l, c, local, remote);
        settle();
    }
    void on_connected(net::Stack&, net::ConnId c) override { host().on_connected(c); settle(); }
    void on_refused(net::Stack&, net::ConnId c) override { host().on_refused(c); settle(); }
    void on_unreachable(net::Stack&, net::ConnId c) override { host().on_unreachable(c); settle(); }
    void on_timeout(net::Stack&, net::ConnId c) override { host().on_timeout(c); settle(); }
    void on_data(net::Stack&, net::ConnId c, std::string_view bytes) override { host().on_data(c, bytes); settle(); }
    void on_peer_closed(net::Stack&, net::ConnId c) override { host().on_peer_closed(c); settle(); }
    void on_reset(net::Stack&, net::ConnId c) override { host().on_reset(c); settle(); }
    void on_closed(net::Stack&, net::ConnId) override { settle(); }
    void on_drained(net::Stack&, net::ConnId c) override { host().on_drained(c); settle(); }
    void on_writable(net::Stack&, net::ConnId c) override { host().on_writable(c); settle(); }
    // Called after every callback and every timer of the app: a ClientApp that is done says so.
    virtual void settle() {}

protected:
    virtual proto::SessionHost& host() = 0;
};

class ServerApp final : public HostedApp {
public:
    ServerApp(net::Network& net, std::string node, proto::ServerConfig config, proto::Vfs vfs,
              std::uint64_t seed, proto::IpAddress listen_addr, std::uint16_t port);
    void start(net::Stack& stack);

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
    void model_listen_queue(bool on);

private:
    // The server's sessions behind TLS control channels (RFC 4217 records on the wire).
    class Sessions final : public proto::HostedServer {
    public:
        using HostedServer::HostedServer;
        void control_bytes(proto::Time now, proto::SessionId sid, std::string_view bytes) override {
            HostedServer::control_bytes(now, sid, tls(sid).incoming(bytes));
        }
        std::string control_out(proto::SessionId sid, std::string bytes) override { return tls(sid).outgoing(bytes); }
        void session_finished(proto::SessionId sid) override {
            tls_.erase(sid);
            HostedServer::session_finished(sid);
        }

    private:
        TlsControlChannel& tls(proto::SessionId sid) {
            return tls_.try_emplace(sid, TlsControlChannel::Side::Server).first->second;
        }
        std::map<proto::SessionId, TlsControlChannel> tls_;
    };
    proto::SessionHost& host() override { return host_; }

    std::string node_;
    SplitMix rng_;
    proto::FtpServer server_;
    proto::IpAddress listen_addr_;
    std::uint16_t port_;
    SimTransport transport_;
    Sessions sessions_{server_};
    proto::SessionHost host_;
};

// What one client (or one third-party client) achieved, for the trace's outcome.
struct ClientReport {
    std::string node;
    std::vector<trace::Transfer> transfers;
    bool all_ok = true;     // every user action succeeded and the script ran to its end
    std::vector<std::string> failures;
};

class ClientApp final : public HostedApp {
public:
    ClientApp(net::Network& net, std::string node, proto::ClientConfig config,
              proto::IpAddress local, proto::HostPort server, std::uint16_t local_port = 0,
              std::pair<std::uint16_t, std::uint16_t> data_ports = {0, 0});
    ~ClientApp() override { *alive_ = false; }
    ClientApp(const ClientApp&) = delete;
    ClientApp& operator=(const ClientApp&) = delete;
    void start(net::Stack& stack);
    ClientReport report() const;
    // Done: the session is over, no retry or timer of the session host is pending, and no socket
    // or listener of the app can call it again; its report() no longer changes and it may be
    // freed (after the event: Stack::after_event). `fn` is called once, from settle(), when the
    // app becomes done; rearm() lets it be called again (it was not done after all).
    bool done() const;
    void when_done(std::function<void(net::Stack&)> fn) { on_done_ = std::move(fn); }
    void rearm() { done_told_ = false; }
    void settle() override;
    const std::string& node() const { return node_; }
    void reset_data(net::Stack& s);  // fault: RST on every open data connection

private:
    // The client session with this client's policy for its control connection: TLS records,
    // reconnects (lftp net:max-retries) and the retry of a failed transfer.
    class Sessions final : public proto::HostedClient {
    public:
        Sessions(ClientApp& app, proto::ClientSession& session) : HostedClient(session), app_(app) {}
        void control_connected(proto::Time now, proto::SessionId sid, const proto::HostPort& local,
                               const proto::HostPort& remote) override;
        void control_bytes(proto::Time now, proto::SessionId sid, std::string_view bytes) override {
            HostedClient::control_bytes(now, sid, app_.tls_.incoming(bytes));
        }
        std::string control_out(proto::SessionId, std::string bytes) override { return app_.tls_.outgoing(bytes); }
        void control_ended(proto::Time now, proto::SessionId sid, proto::ControlEnd how) override;
        void settled(proto::Time now) override;

    private:
        ClientApp& app_;
    };
    proto::SessionHost& host() override { return host_; }
    // The control connection could not be made: a new one after the profile's reconnect
    // interval (lftp net:max-retries ...), if it has tries left. False: give up.
    bool retry_control(net::Stack& s);
    void control_failed(net::Stack& s, std::string why);
    // The session gave up on a transfer the profile retries (lftp): a new control connection,
    // resuming at that transfer, if net:max-retries allows.
    void retry_transfer(net::Stack& s);
    std::vector<proto::ActionResult> all_results() const;

    std::string node_;
    proto::ClientConfig config_;         // each retry starts a new session with it
    proto::ClientSession session_;
    unsigned tries_ = 1;                 // control connections tried so far
    bool control_retry_ = false;         // a reconnect (retry_control) is scheduled
    // The app's own timers (connect timeout, max time) may fire after it is freed: they hold
    // this flag, false once it is gone, and then do nothing (as they would for a finished session).
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::function<void(net::Stack&)> on_done_;
    bool done_told_ = false;
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
    net::ConnId control_ = -1;
    bool control_open_ = false;
    std::string control_failure_;
    TlsControlChannel tls_{TlsControlChannel::Side::Client};
    SimTransport transport_;
    Sessions sessions_{*this, session_};
    proto::SessionHost host_;
};

// Server-to-server (RFC 959 5.2, RFC 478, RFC 438): one client, two control connections.
class ThirdPartyApp final : public HostedApp {
public:
    ThirdPartyApp(net::Network& net, std::string node, proto::ThirdPartyConfig config,
                  proto::IpAddress local, proto::HostPort receiver, proto::HostPort sender);
    void start(net::Stack& stack);
    ClientReport report() const;

private:
    class Sessions final : public proto::HostedThirdParty {
    public:
        Sessions(ThirdPartyApp& app, proto::ThirdPartyClient& client) : HostedThirdParty(client), app_(app) {}
        void control_bytes(proto::Time now, proto::SessionId sid, std::string_view bytes) override {
            HostedThirdParty::control_bytes(now, sid, app_.tls_[sid].incoming(bytes));
        }
        std::string control_out(proto::SessionId sid, std::string bytes) override {
            return app_.tls_[sid].outgoing(bytes);
        }
        void control_ended(proto::Time now, proto::SessionId sid, proto::ControlEnd how) override;

    private:
        ThirdPartyApp& app_;
    };
    proto::SessionHost& host() override { return host_; }

    std::string node_;
    proto::ThirdPartyClient client_;
    proto::IpAddress local_;
    proto::HostPort servers_[2];
    TlsControlChannel tls_[2] = {TlsControlChannel{TlsControlChannel::Side::Client},
                                 TlsControlChannel{TlsControlChannel::Side::Client}};
    std::string failure_;
    SimTransport transport_;
    Sessions sessions_{*this, client_};
    proto::SessionHost host_;
};

}  // namespace ftpsim::sim
