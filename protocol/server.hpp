// The server side of the FTP core, sans-IO (see actions.hpp for the contract).
//
//   FtpServer      one per server host: configuration, profile, file system, the SPSV identifier
//                  registry and the user limit. accept() makes a ServerSession for every control
//                  connection, because an SPSV data connection arrives on the control port and
//                  has to reach the session that issued its identifier.
//   ServerSession  one control connection: bytes, data events and the timer in; Actions out.
//
// The SPSV hand-over (draft-rosenau sections 3-5), in sans-IO terms:
//   1. Session A answers SPSV with "227 Entering single-port mode (<id>)"; the FtpServer records
//      <id> -> (A, data id d). A's data connection d has no listener: it will be a control
//      connection.
//   2. The client opens a second connection to the control port: the caller calls accept() and
//      gets session B, which greets.
//   3. B receives "SPDT <id>". The FtpServer claims <id> (one use only). B sends exactly
//      "200 DATA\r\n" and enters DataChannel. FtpServer::take_actions() then yields, for B,
//      BecomeDataConnection{owner = A, id = d}: from here on the caller treats B's TCP connection as
//      A's data connection d (A's SendData{d}/CloseData{d} go out on it). A receives
//      DataConnected{d, ...} with B's endpoints, so A carries on exactly as with an accepted
//      passive connection. Bytes and a close that the caller still reports for B are forwarded to
//      A as DataBytes{d} / DataClosed{d}.
//   A wrong identifier gets 504 and B's connection is closed.
#pragma once

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
#include <variant>
#include <vector>

#include "protocol/actions.hpp"
#include "protocol/address.hpp"
#include "protocol/server_profile.hpp"
#include "protocol/server_states.hpp"
#include "protocol/vfs.hpp"

namespace ftpsim::proto {

struct ServerConfig {
    ServerProfile profile = rfc959_profile();
    std::map<std::string, std::string> users;          // user -> password
    std::set<std::string> users_needing_account;       // PASS answers 332, then ACCT (RFC 959)
    bool allow_anonymous = true;                       // "anonymous" / "ftp", any password
    std::size_t max_users = 0;                         // 0 = no limit
    std::map<std::string, IpAddress> host_names;       // for SOCK HOST-C,... (RFC 438/478)
    // SPSV identifiers; the default draws 8 letters and digits from the RandomSource.
    std::function<std::string(const RandomSource&)> spsv_id_generator;
    // The caller answers every Listen with DataListening or DataListenFailed (the simulator does,
    // at once). Then PASV/EPSV/LSTN reply only once the listen succeeded, a failed port is
    // retried as the profile does (pasv_bind_attempts), and an exhausted passive range gets the
    // profile's answer instead of the 227. Off: the reply goes out with the Listen (the port is
    // assumed free) and a later DataListenFailed fails the next transfer.
    bool await_listen = false;
    // The data path of issue #22: RETR and listings go out as SendFile, uploads come in through
    // ReceiveInto (DataStored counts), and file contents never pass through the session. The
    // session host (host.hpp) sets it. Off (live/ until it runs on the session host): the file
    // goes out as one SendData and uploads arrive as DataBytes.
    bool explicit_data_path = false;
};

// What a session needs from the FtpServer that owns it (null for a stand-alone session:
// then SPSV/SPDT are not available).
class ServerContext {
public:
    virtual ~ServerContext() = default;
    virtual std::string issue_spsv_id(SessionId owner, DataId id) = 0;
    struct Claim {
        SessionId owner;
        DataId id;
    };
    virtual std::optional<Claim> claim_spsv_id(SessionId claimer, std::string_view identifier) = 0;
    virtual void forget_spsv_ids(SessionId owner) = 0;
};

class ServerSession {
public:
    // Bytes a data connection may send before its transfer command (STOR, APPE, ...; with SPSV
    // also what follows "SPDT id" in the same segment) that the session keeps for the transfer.
    // Beyond it the connection is reset (ExplainKind::EarlyDataLimit). docs/reliability.md.
    static constexpr std::size_t kMaxEarlyDataBytes = 64 * 1024;
    // Command bytes the session holds while they wait for a transfer to end (a client pipelining
    // commands during a RETR or STOR): the commands that wait and any line still arriving. One
    // byte more and the session ends (ExplainKind::CommandQueueLimit): the transfer is cut off
    // and the control connection closed, without a reply. A simplification of vsftpd, which does
    // not read the control connection during a transfer at all, so TCP's window holds the
    // client (docs/server.md, "Limits").
    static constexpr std::size_t kMaxQueuedCommandBytes = 64 * 1024;

    ServerSession(const ServerConfig& config, Vfs& vfs, RandomSource random, SessionId id,
                  HostPort control_local, HostPort control_remote,
                  ServerContext* context = nullptr);

    // Queue the greeting (or the over-the-limit greeting: SpsvOnly state).
    void start(Time now, bool spsv_only = false);
    // Over the limit with nothing pending: the 421 refusal and the close.
    void refuse(Time now);
    // The server goes down: the profile's 421 (unless it has none), data and control closed.
    void shutdown(Time now);
    // The server is down: the new connection is reset without a greeting.
    void reject_while_down(Time now);

    // Command bytes, in any pieces. A line longer than kDefaultMaxLine (protocol/codec.hpp, its LF
    // included) keeps its first kDefaultMaxLine bytes, is answered with the profile's 500 when its
    // turn comes (ExplainKind::LineTooLong) and the rest of it is dropped up to its LF; the next
    // line is read as usual. More than kMaxQueuedCommandBytes waiting: the session ends.
    void receive_control(Time now, std::string_view bytes);
    void receive_data(Time now, const DataEvent& event);
    void control_closed(Time now);
    // Called by the FtpServer when another connection claimed this session's SPSV identifier.
    void attach_single_port_data(Time now, DataId id, HostPort local, HostPort remote);
    // A handed-over SPSV connection (DataChannel) that its caller holds no more as a session (it
    // is its owner's data connection): Closed, with no timer left. Other states: no effect.
    void close_handed_over();

    Time next_expiry() const;
    void on_timer(Time now);

    // The next action (nullopt: none); take_actions() hands out all of them at once.
    std::optional<Action> poll_action();
    std::vector<Action> take_actions();
    bool has_actions() const { return !actions_.empty(); }
    // Bytes received after SPDT on this connection (they are data: the FtpServer forwards them).
    std::string take_unparsed_bytes();
    // Command bytes held: the commands waiting for a transfer and the line still arriving
    // (at most kMaxQueuedCommandBytes).
    std::size_t queued_command_bytes() const { return inbuf_.size(); }

    SessionId id() const { return id_; }
    ServerState state() const { return state_; }
    bool control_encrypted() const { return control_tls_; }
    bool data_protected() const { return prot_private_; }
    bool epsv_all() const { return epsv_all_; }
    const std::string& cwd() const { return cwd_; }
    const std::string& user() const { return user_; }
    HostPort control_local() const { return control_local_; }
    HostPort control_remote() const { return control_remote_; }
    // Events the state tables do not allow (the server's own, or the peer's), in order: "data
    // connection: DataDrained in Open". Each is also explained; none changed the state.
    const std::vector<std::string>& protocol_errors() const { return protocol_errors_; }
    DataPhase data_phase() const { return data_.phase; }
    // Set after SPDT: this connection is data connection `second` of session `first`.
    std::optional<ServerContext::Claim> handed_over() const { return handed_over_; }
    // Counts against the user limit (not a data channel, not closed).
    bool is_user_session() const;

private:
    enum class DataMode : std::uint8_t { None, Active, Passive, SinglePort };
    enum class TransferKind : std::uint8_t { Retr, Stor, Appe, Stou, List, Nlst, Mlsd };

    enum class Announce : std::uint8_t { None, Pasv, Epsv, Lstn, Pasv478 };

    struct DataPlan {                       // what PORT/PASV/EPRT/EPSV/SPSV/LSTN/SOCK set up
        DataMode mode = DataMode::None;
        DataId id = 0;
        HostPort target;                    // Active: where to connect
        std::uint16_t local_port = 0;       // Passive: the port listened on
        std::optional<std::uint16_t> from_port;
        std::optional<HostPort> only_from;  // SOCK after LSTN/PASV: the one acceptable peer
        DataPhase phase = DataPhase::Idle;  // changed by data_step() only (server_states.hpp)
        HostPort remote;                    // the peer once open
        bool announce_on_connect = false;   // pyftpdlib: PORT's 200 waits for the connection
        Announce announce = Announce::None; // await_listen: the reply waits for DataListening
        std::optional<Verb> late_reply_to;  // the command whose reply waits (either of the above)
        std::vector<std::uint16_t> tried;   // passive ports the caller could not listen on
        bool any_port = false;              // pyftpdlib's fallback: a kernel-assigned port
        char lstn = 'S';                    // LSTN S|R
    };

    struct Transfer {
        TransferKind kind = TransferKind::Retr;
        Verb verb = Verb::RETR;             // the transfer command (its final reply ends it)
        std::string argument;               // its argument as the client sent it
        std::string path;                   // absolute
        // What we send (RETR: the file from payload_offset; listings), and where what we
        // receive goes (STOR, APPE, STOU). Never the bytes themselves (issue #22).
        std::shared_ptr<const ContentSource> payload;
        std::uint64_t payload_offset = 0;
        std::shared_ptr<UploadSink> upload;
        std::uint64_t offset = 0;           // REST
        Reply final_reply = Reply::TransferOk;
        std::string mark;                   // the 1yz line
        Reply mark_reply = Reply::RetrMark; // ... which reply it is
        bool marked = false;
        bool sent = false;
    };

    // Input.
    std::size_t take_line_piece(std::string_view bytes);
    void process_buffer(Time now);
    void refuse_queued_commands(Time now);
    void dispatch(Time now, std::string_view verb, std::string_view arg, bool has_arg);
    void handle(Time now, const VerbInfo& info, std::string_view arg);
    bool verb_enabled(Verb v) const;
    bool verb_implemented(Verb v) const;
    bool check_argument(const VerbInfo& info, std::string_view verb, bool has_arg);

    // Commands.
    void cmd_user(std::string_view arg);
    void cmd_pass(std::string_view arg);
    void cmd_acct(std::string_view arg);
    void cmd_simple(const VerbInfo& info, std::string_view arg);
    void cmd_opts(std::string_view arg);
    void cmd_type(std::string_view arg);
    void cmd_cwd(std::string_view arg);
    void cmd_mkd(std::string_view arg);
    void cmd_rmd(std::string_view arg);
    void cmd_dele(std::string_view arg);
    void cmd_rnfr(std::string_view arg);
    void cmd_rnto(std::string_view arg);
    void cmd_size(std::string_view arg);
    void cmd_mdtm(std::string_view arg);
    void cmd_rest(std::string_view arg);
    void cmd_abor(Time now);
    void cmd_feat();
    void cmd_help();
    void cmd_stat(std::string_view arg);
    void cmd_quit();
    void cmd_port(Time now, std::string_view verb, std::string_view arg);
    void cmd_pasv(bool extended, std::string_view arg);
    void cmd_spsv();
    void cmd_spdt(std::string_view arg);
    void cmd_lstn(std::string_view arg);
    void cmd_sock(std::string_view arg);
    void cmd_auth(std::string_view arg);
    void cmd_pbsz();
    void cmd_prot(std::string_view arg);
    void cmd_ccc();
    void cmd_retr(Time now, std::string_view arg);
    void cmd_list(Time now, TransferKind kind, std::string_view arg);
    void cmd_store(Time now, TransferKind kind, std::string_view arg);

    // Data connections.
    bool epsv_all_refuses(std::string_view verb);
    void set_active(HostPort target, std::optional<std::uint16_t> from_port);
    HostPort open_listener(std::optional<std::uint16_t> port = std::nullopt);
    void announce_listener(Announce what);
    std::uint16_t choose_passive_port();
    std::pair<std::uint32_t, std::uint32_t> passive_range() const;
    std::optional<std::uint16_t> next_passive_port();
    void on_listening(Time now, DataId id, HostPort local);
    void on_listen_failed(Time now, DataId id);
    void die(Time now, std::initializer_list<Reply> last_words);
    void drop_data_plan();
    bool peer_allowed(const HostPort& remote) const;
    void reject_peer(Time now);
    void on_connected(Time now, DataId id, HostPort remote);
    void on_connect_failed(Time now, DataId id);
    void on_bytes(Time now, DataId id, std::string bytes);
    void refuse_early_data();
    void on_stored(Time now, DataId id, std::uint64_t bytes, bool failed);
    void on_closed(Time now, DataId id, bool reset);
    void on_drained(Time now, DataId id);
    // The data table's step for `e`: the new phase and its actions; false (and a protocol error)
    // when the table does not allow `e` in the current phase.
    bool data_step(DataPhaseEvent e);

    // Transfers.
    static bool is_incoming(TransferKind k);
    bool data_setup_ok();
    void send_mark();
    std::uint64_t projected_size() const;
    void begin_transfer(Time now, Transfer t);
    void open_data(Time now);
    void data_ready(Time now);
    // `ends_transfer` false: `reply` answers the command being handled (ABOR's 226), not the
    // transfer command.
    void finish_transfer(Time now, Reply reply, std::initializer_list<std::string_view> args = {},
                         bool ends_transfer = true);
    void finish_sending(Time now);
    void store_received(Time now);
    void upload_grew(Time now);

    // Output. Every reply goes out with its facts (ReplyFacts, actions.hpp): send_reply's answers
    // the command being handled (`answering_`), the others name what they answer.
    void send_reply(Reply r, std::initializer_list<std::string_view> args = {});
    void send_composed(std::string text, int code);  // FEAT's and STAT's replies
    void reply_to(std::optional<Verb> command, Reply r, std::initializer_list<std::string_view> args = {});
    void transfer_reply(Reply r, std::initializer_list<std::string_view> args, bool ok);
    ReplyFacts answer_facts(std::optional<Reply> r, int code);
    int code_of(Reply r) const;
    void send_line(std::string line, ReplyFacts facts);
    void explain(std::string text);
    void explain(ExplainKind kind, std::string text);
    void step(ServerEvent e);
    void protocol_error(std::string text);
    std::string resolve(std::string_view arg) const;

    const ServerConfig& config_;
    const ServerProfile& profile_;
    Vfs& vfs_;
    RandomSource random_;
    SessionId id_;
    HostPort control_local_, control_remote_;
    ServerContext* context_;

    ServerState state_ = ServerState::AwaitUser;
    std::string inbuf_;                     // command bytes not yet handled (<= kMaxQueuedCommandBytes)
    bool discarding_ = false;               // dropping the rest of an over-long line up to its LF
    bool deferred_ = false;                 // the first command in inbuf_ waits for the transfer
    // The command being handled, until its final reply (a command whose reply comes later hands
    // it on: to transfer_, or to data_.late_reply_to). Verb::Unknown: a line that is no command.
    std::optional<Verb> answering_;
    std::string_view answering_arg_;        // its argument (valid while it is being handled)
    std::vector<Action> actions_;
    std::string user_;
    bool anonymous_ = false;
    std::string cwd_ = "/";
    bool ascii_ = true;
    std::optional<std::string> rename_from_;
    std::uint64_t restart_ = 0;
    bool epsv_all_ = false;
    bool control_tls_ = false, pbsz_ = false, prot_private_ = false;
    DataPlan data_;
    std::optional<HostPort> sock_peer_;     // SOCK before PASV (RFC 478)
    std::optional<Transfer> transfer_;
    std::string early_bytes_;               // data that arrived before the STOR (<= kMaxEarlyDataBytes)
    DataId next_data_id_ = 1;
    Time accept_deadline_ = kNever;
    Time connect_deadline_ = kNever;   // profile.connect_timeout after an active connect
    Time idle_deadline_ = kNever;      // profile.idle_session_timeout after the last command
    Time data_deadline_ = kNever;      // profile.data_connection_timeout after the last bytes in
    std::optional<ServerContext::Claim> handed_over_;
    std::vector<std::string> protocol_errors_;
};

// ---- The server host ---------------------------------------------------------------------------
using ServerAction = SessionAction;

class FtpServer final : public ServerContext {
public:
    FtpServer(ServerConfig config, Vfs vfs, RandomSource random);
    // Sessions point into the server (config, file system, random source): it stays put.
    FtpServer(const FtpServer&) = delete;
    FtpServer& operator=(const FtpServer&) = delete;

    // A new control connection; the session's greeting is queued. While the server is down
    // (after shutdown(), before restart()) the connection is reset at once (CloseControl{abort}).
    SessionId accept(Time now, HostPort control_local, HostPort control_remote);
    // The server goes down (a restart, a crash): every session sends the profile's 421
    // ("421 Service not available, closing control connection."; vsftpd sends nothing) and
    // closes its data and control connections; pending SPSV identifiers are forgotten.
    void shutdown(Time now);
    // The server is back: accept() greets again. Closed sessions are forgotten.
    void restart(Time now);
    // The caller holds nothing more of session s (its control and data connections are gone):
    // a closed session is freed (its protocol errors are kept), and so is a handed-over SPSV
    // session (DataChannel: its connection is its owner's data connection, which the caller
    // reports to the owner), closed first; other sessions stay. Later calls for s are ignored,
    // as for a session that never existed.
    void release(SessionId s);
    std::size_t sessions_held() const { return sessions_.size(); }
    bool running() const { return running_; }
    void receive_control(Time now, SessionId s, std::string_view bytes);
    void receive_data(Time now, SessionId s, const DataEvent& event);
    void control_closed(Time now, SessionId s);
    Time next_expiry() const;
    void on_timer(Time now);

    // Every session's actions, in the order they arose: one at a time (as every session kind
    // hands them out), or all at once.
    std::optional<SessionAction> poll_action();
    std::vector<ServerAction> take_actions();

    ServerSession* session(SessionId s);
    const ServerConfig& config() const { return config_; }
    Vfs& vfs() { return vfs_; }
    std::size_t user_sessions() const;
    // Every session's protocol errors ("session 2: data connection: DataDrained in Open").
    std::vector<std::string> protocol_errors() const;
    std::size_t pending_spsv_ids() const { return spsv_.size(); }

    // ServerContext.
    std::string issue_spsv_id(SessionId owner, DataId id) override;
    std::optional<Claim> claim_spsv_id(SessionId claimer, std::string_view identifier) override;
    void forget_spsv_ids(SessionId owner) override;

private:
    void collect(SessionId s);
    // Brings the indexes below up to date with session s (after anything that may change it).
    void touch(SessionId s);
    void complete_hand_overs(Time now);

    ServerConfig config_;
    Vfs vfs_;
    RandomSource random_;
    std::map<SessionId, std::unique_ptr<ServerSession>> sessions_;
    std::map<SessionId, std::vector<std::string>> released_errors_;  // of freed sessions that had any
    std::set<SessionId> release_after_timer_;  // released by the caller, freed after their timer
    // Indexes kept by touch(), so that the time of the next timer and the number of user sessions
    // cost O(log n) instead of a walk over every session the server ever accepted: each session's
    // last known expiry and user-session flag, and the sessions ordered by expiry.
    struct Known {
        Time expiry = kNever;
        bool user = false;
    };
    std::map<SessionId, Known> known_;
    std::set<std::pair<Time, SessionId>> by_expiry_;
    std::size_t user_count_ = 0;
    std::map<std::string, Claim, std::less<>> spsv_;
    struct PendingHandOver {
        SessionId claimer;
        Claim claim;
    };
    std::vector<PendingHandOver> hand_overs_;
    std::deque<ServerAction> out_;
    SessionId next_session_ = 1;
    bool running_ = true;
};

// The default SPSV identifier: 8 characters [A-Za-z0-9] from the random source.
std::string default_spsv_id(const RandomSource& random);

}  // namespace ftpsim::proto
