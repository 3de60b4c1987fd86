// The session host (issue #22 item 1): the one place that turns sessions' actions into calls on
// a transport and the transport's events back into session inputs. It owns every id map that
// the drivers used to keep each for itself: session <-> control connection, (session, data id)
// <-> data connection and listener, which data connections completed their handshake, passive
// listeners kept open after the accept (lingering) and the connections queued in them, and the
// file being streamed on each data connection.
//
// Sans-IO like the sessions: no sockets, clock or SimGrid here. Two transports implement
// Transport: the simulated TCP stacks (sim/run/apps.cpp) and live mode's poll loop (live/).
//
//   transport event -> SessionHost::on_xxx(...) -> session input -> pump(): the sessions'
//   actions -> Transport calls (listen, connect, send, close, ...)
//
// The host never reads a file whole: SendFile is pulled from its ContentSource in chunks of at
// most Transport::send_space() bytes, again at on_writable(); ReceiveInto's sink takes what
// on_data() brings. The sessions see counts (DataSent, DataStored), never the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/actions.hpp"
#include "protocol/address.hpp"

namespace ftpsim::proto {

class ClientSession;
class FtpServer;
class ThirdPartyClient;

using ConnHandle = std::int64_t;      // a transport's connection (socket); < 0: none
using ListenerHandle = std::int64_t;  // a transport's listening socket; < 0: none

// What a socket is for (the simulated stack records it in the trace).
struct SocketPurpose {
    bool data = false;              // a data connection (else a control connection)
    ConnHandle control = -1;        // data: the control connection it serves
    bool record_payload = true;     // false: file bytes, kept out of the trace
};

struct ListenOutcome {
    ListenerHandle id = -1;         // < 0: no free port in the range
    std::uint16_t port = 0;         // the bound port
    std::string error;              // why it failed ("port 21 in use on 10.0.0.2")
    explicit operator bool() const { return id >= 0; }
};

// A TCP stack as the host uses it. Every outcome of connect() and every arrival comes back as a
// SessionHost::on_xxx call (possibly from inside the call that caused it: the host copes).
class Transport {
public:
    virtual ~Transport() = default;
    virtual Time now() const = 0;
    // addr unspecified = every address; the first free port of [lo, hi] (0, 0: any ephemeral).
    virtual ListenOutcome listen(const IpAddress& addr, std::uint16_t lo, std::uint16_t hi,
                                 const SocketPurpose& purpose) = 0;
    virtual void stop_listening(ListenerHandle l) = 0;
    virtual ConnHandle connect(const IpAddress& local, std::uint16_t local_port, const HostPort& remote,
                               const SocketPurpose& purpose) = 0;
    virtual void send(ConnHandle c, std::string_view bytes) = 0;
    // How many more bytes send() should be given now on c (a bounded send buffer); the host
    // writes no more and waits for SessionHost::on_writable(c). UINT64_MAX: no bound.
    virtual std::uint64_t send_space(ConnHandle c) const = 0;
    virtual void close(ConnHandle c) = 0;   // FIN after what was sent
    virtual void abort(ConnHandle c) = 0;   // RST now; no further events for c
    struct Ends {
        HostPort local, remote;
        bool open = false;                  // handshake done, not closed or reset
    };
    virtual Ends ends(ConnHandle c) const = 0;
    // What c carried so far was control text (SPSV's "220", "SPDT id", "200 DATA"); what
    // follows is file data.
    virtual void file_data_from_now(ConnHandle c) = 0;
    // SPSV: the control connection c carries data of control connection `control` from now on.
    virtual void relabel_as_data(ConnHandle c, ConnHandle control) = 0;
    // The host wants on_timer() at `at` (kNever: no timer). Replaces the previous request.
    virtual void set_timer(Time at) = 0;
    // A session's narration (the simulator records it as a typed trace fact).
    virtual void explain(const Explain& e) = 0;
    // A connection that waited in a lingering listener's queue is reset as the listener closes.
    virtual void queued_connection_reset(ConnHandle) {}
    // A connection arrived in a lingering listener's queue.
    virtual void connection_queued(const HostPort& /*remote*/, const HostPort& /*local*/) {}
};

// How a control connection ended without a close by the peer.
enum class ControlEnd : std::uint8_t { PeerClosed, Refused, Unreachable, TimedOut, Reset };

// The sessions one host drives, behind one face: a server host (many sessions, one per control
// connection), one client session, or a third-party client (two control connections).
class HostedSessions {
public:
    virtual ~HostedSessions() = default;
    virtual std::optional<SessionAction> poll_action() = 0;
    // A server: a connection on the control port. nullopt: not accepted (a client).
    virtual std::optional<SessionId> accept(Time, const HostPort& /*local*/, const HostPort& /*remote*/) {
        return std::nullopt;
    }
    virtual void control_connected(Time, SessionId, const HostPort& /*local*/, const HostPort& /*remote*/) {}
    virtual void control_bytes(Time, SessionId, std::string_view bytes) = 0;
    // What goes out on the control connection (a TLS model wraps it); identity by default.
    virtual std::string control_out(SessionId, std::string bytes) { return bytes; }
    virtual void control_ended(Time, SessionId, ControlEnd how) = 0;
    virtual void data_event(Time, SessionId, const DataEvent&) = 0;
    virtual Time next_expiry() const = 0;
    virtual void on_timer(Time) = 0;
    // Called at the end of every SessionHost::pump(), when no action is left: the caller's
    // policy that looks at the settled sessions (a client's retry on a new connection).
    virtual void settled(Time) {}
    // The host holds nothing more of session sid (no control connection, data connection or
    // listener): no transport event for it will come. A server frees its closed session then.
    virtual void session_finished(SessionId) {}
};

// The three session kinds as HostedSessions (the caller may derive to add policy: TLS, retries).
class HostedServer : public HostedSessions {
public:
    explicit HostedServer(FtpServer& server) : server_(server) {}
    std::optional<SessionAction> poll_action() override;
    std::optional<SessionId> accept(Time, const HostPort& local, const HostPort& remote) override;
    void control_bytes(Time, SessionId, std::string_view bytes) override;
    void control_ended(Time, SessionId, ControlEnd) override;
    void data_event(Time, SessionId, const DataEvent&) override;
    Time next_expiry() const override;
    void on_timer(Time) override;
    void session_finished(SessionId sid) override;
    FtpServer& server() { return server_; }

private:
    FtpServer& server_;
};

class HostedClient : public HostedSessions {
public:
    static constexpr SessionId kControl = 0;
    explicit HostedClient(ClientSession& session) : session_(&session) {}
    // A retry replaces the session (lftp's new control connection).
    void replace(ClientSession& session) { session_ = &session; }
    std::optional<SessionAction> poll_action() override;
    void control_connected(Time, SessionId, const HostPort& local, const HostPort& remote) override;
    void control_bytes(Time, SessionId, std::string_view bytes) override;
    void control_ended(Time, SessionId, ControlEnd) override;
    void data_event(Time, SessionId, const DataEvent&) override;
    Time next_expiry() const override;
    void on_timer(Time) override;
    ClientSession& session() { return *session_; }

private:
    ClientSession* session_;
};

class HostedThirdParty : public HostedSessions {
public:
    explicit HostedThirdParty(ThirdPartyClient& client) : client_(client) {}
    std::optional<SessionAction> poll_action() override;  // session = ControlId
    void control_connected(Time, SessionId, const HostPort& local, const HostPort& remote) override;
    void control_bytes(Time, SessionId, std::string_view bytes) override;
    void control_ended(Time, SessionId, ControlEnd) override;
    void data_event(Time, SessionId, const DataEvent&) override {}  // it has no data connection
    Time next_expiry() const override { return kNever; }
    void on_timer(Time) override {}

private:
    ThirdPartyClient& client_;
};

struct HostOptions {
    // Client: active mode listens in [lo, hi] when the session asks for any port, and a
    // passive connect binds lo (the lecture deck's pinned "Port 1121"); 0,0: ephemeral.
    std::pair<std::uint16_t, std::uint16_t> data_ports{0, 0};
    // Server (a model of the kernel's accept queue, set when attackers race the client): a
    // passive listener stays open after its accept until the transfer's data connection
    // closes; connections that arrive meanwhile wait in its queue and are reset then.
    bool linger_passive_listeners = false;
    // Server: an established data connection that times out is lost like a reset (the next
    // write fails with ETIMEDOUT: "426 Failure writing network stream."); else DataTimedOut.
    bool open_timeout_is_reset = false;
    // The address a data connection is made from when the session has no control connection.
    IpAddress fallback_local;
};

class SessionHost {
public:
    SessionHost(Transport& transport, HostedSessions& sessions, HostOptions options = {});

    // ---- wiring
    // A server's control port.
    ListenOutcome listen_control(const IpAddress& addr, std::uint16_t port);
    void stop_listening_control();
    // A client's control connection for session `sid`.
    ConnHandle connect_control(SessionId sid, const IpAddress& local, std::uint16_t local_port,
                               const HostPort& remote);

    // ---- transport events
    void on_accept(ListenerHandle l, ConnHandle c, const HostPort& local, const HostPort& remote);
    void on_connected(ConnHandle c);
    void on_refused(ConnHandle c);
    void on_unreachable(ConnHandle c);
    void on_timeout(ConnHandle c);
    void on_data(ConnHandle c, std::string_view bytes);
    void on_peer_closed(ConnHandle c);
    void on_reset(ConnHandle c);
    void on_drained(ConnHandle c);
    void on_writable(ConnHandle c);
    void on_timer();
    // The transport let go of c (its descriptor is closed; live mode releases a connection once
    // its FIN is acknowledged, without waiting for the peer's): no further event for c comes.
    void on_released(ConnHandle c);

    // Carries out the sessions' queued actions and re-arms the timer; call after feeding the
    // sessions directly (a fault, a start). The on_xxx events call it themselves.
    void pump();

    // ---- faults and retries
    // The server stops: every data listener closes (lingering ones reset their queue).
    void stop_all_listeners();
    // RST on every open data connection; each session hears DataReset. `before` sees each
    // connection's ends just before its RST (the simulator notes the fault there).
    void reset_data_connections(const std::function<void(const Transport::Ends&)>& before = {});
    // Aborts every open data connection and stops every data listener, silently (curl's
    // --max-time).
    void abort_all_data();
    // Forget every data connection and listener (a client's retry on a new control connection).
    void forget_data();
    std::optional<ConnHandle> control_of(SessionId sid) const;
    HostOptions& options() { return opt_; }
    bool is_control(ConnHandle c) const { return session_of_conn_.count(c) != 0; }
    // How many entries the id maps hold (issue #17: memory stays bounded per connection). A
    // connection's entries go when it is finished: reset or aborted, or closed by both ends
    // (for a data connection we closed: also drained); a session's when its control
    // connection is. 0 when nothing is open, listening or queued.
    std::size_t tracked() const;

private:
    using DataKey = std::pair<SessionId, DataId>;
    struct Outgoing {                       // what waits to be written on one data connection
        std::string text;                   // SendData
        std::shared_ptr<const ContentSource> source;  // SendFile
        std::uint64_t offset = 0, end = 0, sent = 0;
        bool close = false;                 // CloseData (FIN) after it
    };
    struct DataConn {
        DataKey key;
        bool opened = false;                // its handshake completed
        bool single_port = false;           // SPSV: control text until the first file action
        std::shared_ptr<ContentSink> sink;  // ReceiveInto
        std::deque<Outgoing> out;
        bool closed = false;                // we sent our FIN (close())
        bool drained = false;               // ... and it was acknowledged (on_drained after it)
        bool peer_closed = false;           // the peer's FIN arrived
    };

    void apply(SessionId sid, const Action& a);
    void become_data(SessionId sid, const BecomeDataConnection& b);
    void data_event(const DataKey& key, const DataEvent& e);
    void feed(ConnHandle c);                // writes what the connection takes now
    void close_lingering(const DataKey& key);
    // Forget a finished connection's entries (no further transport event reaches a session).
    void finished(ConnHandle c) { finished_.push_back(c); }  // forgotten at the end of pump()
    void data_finished_if_done(ConnHandle c);
    void control_finished_if_done(ConnHandle c);
    void forget_conn(ConnHandle c);
    bool holds_session(SessionId sid) const;  // a control or data connection or listener of sid
    void close_data(ConnHandle c);          // t_.close and note it
    ConnHandle data_conn(const DataKey& key) const;
    IpAddress control_local(SessionId sid) const;

    Transport& t_;
    HostedSessions& sessions_;
    HostOptions opt_;
    ListenerHandle control_listener_ = -1;
    std::map<ConnHandle, SessionId> session_of_conn_;
    std::map<SessionId, ConnHandle> conn_of_session_;
    std::map<SessionId, Transport::Ends> control_ends_;
    std::map<DataKey, ConnHandle> data_conn_;
    std::map<ConnHandle, DataConn> data_of_conn_;
    std::map<DataKey, ListenerHandle> listener_of_;
    std::map<ListenerHandle, DataKey> data_of_listener_;
    std::map<DataKey, ListenerHandle> lingering_;
    std::map<ListenerHandle, std::vector<ConnHandle>> queued_;
    std::set<SessionId> closing_control_;  // CloseControl done: nothing more is sent
    std::set<ConnHandle> control_gone_;    // the peer closed the control connection
    std::vector<ConnHandle> finished_;     // connections to forget once the pump is done
    std::vector<SessionId> handed_over_;   // SPSV sessions whose connection became data: released then
    Time timer_at_ = kNever;
    bool pumping_ = false;
    bool again_ = false;
};

}  // namespace ftpsim::proto
