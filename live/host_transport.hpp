// Live mode's poll loop as the session host's second transport (protocol/host.hpp): the
// proto::Transport calls (listen, connect, send, close, abort, ...) become live/transport.hpp
// calls on real sockets, and what the sockets report goes back to the SessionHost. The host owns
// every id map and the data path (it pulls a SendFile's ContentSource in chunks of send_space(),
// and puts what a ReceiveInto connection brings into its sink); this file only moves bytes.
//
// What the live server and client do on top (the trace, limits, deadlines) they do through
// LiveHooks: every socket fact is reported there with the connection's purpose, before the host
// hears of it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "live/transport.hpp"
#include "protocol/host.hpp"

namespace ftpsim::live {

// What the live server / client want to know (for the trace, the log, policies). Defaults do
// nothing.
class LiveHooks {
public:
    virtual ~LiveHooks() = default;
    // A connection on the control port: false refuses it (the hook has written its refusal; the
    // connection is closed once that is written, and the host never hears of it).
    virtual bool admit(ConnId, const HostPort& /*local*/, const HostPort& /*remote*/) { return true; }
    virtual void accept_failed(ListenerId, int /*err*/) {}
    // A data connection is open (accepted, or our connect completed).
    virtual void data_opened(ConnId, ConnId /*control*/, bool /*we_connected*/, const HostPort& /*local*/,
                             const HostPort& /*remote*/) {}
    // A connect failed. True: the hook handles it (a client tries the next address) and the
    // host never hears of it.
    virtual bool connect_failed(const HostPort& /*remote*/, ConnectStatus, int /*err*/, std::int64_t /*elapsed_ns*/,
                                bool /*data*/) {
        return false;
    }
    // We are about to connect to `remote` (the client warns about a third host).
    virtual void connecting(const HostPort& /*remote*/, bool /*data*/) {}
    // Our control connection is open (the client).
    virtual void control_connected(ConnId, const HostPort& /*local*/, const HostPort& /*remote*/) {}
    virtual void listened(const HostPort& /*local*/) {}
    virtual void listen_failed(const HostPort& /*wanted*/, int /*err*/, const std::string& /*message*/) {}
    // Bytes read / written on a data connection (file data only: SPSV's control text is not).
    virtual void data_in(ConnId, std::size_t) {}
    virtual void data_out(ConnId, std::size_t) {}
    // Control text read on an SPSV data connection before the file (client: "200 DATA").
    virtual void data_text_in(ConnId, std::string_view) {}
    virtual void data_text_out(ConnId, std::string_view) {}
    // A connection ended: by `us` (our FIN or RST) or the peer; reset = RST / error.
    virtual void ended(ConnId, bool /*data*/, bool /*us*/, bool /*reset*/, int /*err*/) {}
    // SPSV (server): control connection c is now a data connection of `control`.
    virtual void relabeled(ConnId, ConnId /*control*/) {}
    virtual void explained(const proto::Explain&) {}
    // Something worth a log line (-v): a bind that failed and the ephemeral port used instead.
    virtual void note(const std::string&) {}
    // The connection is forgotten (its descriptor closed): nothing more will be reported.
    virtual void gone(ConnId, bool /*data*/) {}
};

struct LiveTransportOptions {
    std::int64_t connect_timeout_ns = 10'000'000'000;
    // Before control bytes reach the host, finish the data connects and accepts the kernel has
    // already completed (the client: the server connected before it sent the reply that follows).
    bool settle_before_control = false;
    // Read control connections one read per readiness (the client: the data sockets get their
    // turn between replies).
    int control_read_rounds = 4;
    std::size_t send_window = 64 * 1024;  // the most send_space() offers (when nothing is queued)
};

class LiveTransport final : public proto::Transport, private TransportHandler {
public:
    LiveTransport(EventLoop& loop, LiveHooks& hooks, LiveTransportOptions options = {});
    ~LiveTransport() override;
    void attach(proto::SessionHost& host) { host_ = &host; }
    Sockets& sockets() { return t_; }

    // proto::Transport
    proto::Time now() const override { return EventLoop::now_ns(); }
    proto::ListenOutcome listen(const IpAddress& addr, std::uint16_t lo, std::uint16_t hi,
                                const proto::SocketPurpose& purpose) override;
    void stop_listening(proto::ListenerHandle l) override;
    proto::ConnHandle connect(const IpAddress& local, std::uint16_t local_port, const HostPort& remote,
                              const proto::SocketPurpose& purpose) override;
    void send(proto::ConnHandle c, std::string_view bytes) override;
    std::uint64_t send_space(proto::ConnHandle c) const override;
    void close(proto::ConnHandle c) override;
    void abort(proto::ConnHandle c) override;
    Ends ends(proto::ConnHandle c) const override;
    void file_data_from_now(proto::ConnHandle c) override;
    void relabel_as_data(proto::ConnHandle c, proto::ConnHandle control) override;
    void set_timer(proto::Time at) override;
    void explain(const proto::Explain& e) override;

    // ---- for the live server / client
    // The control connection's local address (where a data listener or connect binds).
    void set_control_listener(ListenerId l) { control_listener_ = l; }
    bool is_data(ConnId c) const;
    std::optional<ConnId> control_of_data(ConnId c) const;
    // Abort a connection and tell the host it was reset (a stalled data connection).
    void reset_now(ConnId c);
    // The control connection ends: `last` is written first, then the connection closes; the host
    // hears the peer closed (the session ends).
    void end_control(ConnId c, const std::string& last);
    // Stop or resume a control connection (a failed login's delay): nothing read, nothing written.
    void hold(ConnId c, bool held);
    // Every control connection gets what is queued written now (a last 421) and is closed, every
    // data connection is reset, every listener closed; no callbacks.
    void shutdown_all();
    // Data connections (open, not connecting) that made no progress since `before`.
    std::vector<ConnId> idle_data(std::int64_t before) const;
    std::int64_t last_progress(ConnId c) const;

private:
    struct ConnState {
        proto::SocketPurpose purpose;
        bool we_connected = false;
        bool file_data = true;   // false: SPSV control text so far
        bool fin_sent = false, peer_fin = false;
        bool releasing = false;  // closed for good once our FIN is out (a control connection)
    };

    // live::TransportHandler
    void on_accept(ListenerId, ConnId, const HostPort& local, const HostPort& remote) override;
    void on_accept_error(ListenerId, int err) override;
    void on_connected(ConnId) override;
    void on_connect_failed(ConnId, ConnectStatus, int err, std::int64_t elapsed_ns) override;
    void on_data(ConnId, std::string_view) override;
    void on_peer_closed(ConnId) override;
    void on_reset(ConnId, int err) override;
    void on_drained(ConnId) override;
    void on_sent(ConnId, std::size_t n) override;
    void on_empty(ConnId) override;
    void on_fin_sent(ConnId) override;

    IpAddress local_of(const proto::SocketPurpose& p) const;
    void maybe_release(ConnId c);
    void release_control(ConnId c);
    void forget(ConnId c);  // our state and the hook; the caller closes the socket

    EventLoop& loop_;
    Sockets t_;
    LiveHooks& hooks_;
    LiveTransportOptions opt_;
    proto::SessionHost* host_ = nullptr;
    std::map<ConnId, ConnState> conns_;
    std::map<ListenerId, proto::SocketPurpose> listeners_;
    std::map<ConnId, std::size_t> text_out_;   // SPSV control text queued, not yet written
    std::map<ConnId, HostPort> remotes_;       // where a connect in progress goes
    ListenerId control_listener_ = -1;
    EventLoop::TimerId timer_ = 0;
    proto::Time timer_at_ = proto::kNever;
};

}  // namespace ftpsim::live
