// The FTP client session (user-PI and user-DTP of RFC 959), sans-IO.
//
// A ClientSession runs a script of user actions (client_script.hpp) against one server, the way
// one real client does (client_profile.hpp), over a data-connection mode (DataMode). Like the
// server session it never touches a socket, a clock or a random source:
//
//   inputs : on_connected (the control connection's two ends), receive_control (reply bytes, any
//            split), on_data_event (DataListening, DataConnected, DataRefused, DataBytes, ...),
//            on_timer(now) when next_expiry() has passed. Every input carries the current time.
//   outputs: poll_action() drains SendControl, Listen, StopListening, Connect, SendData,
//            CloseData, CloseControl and Explain actions in order.
//
// The client needs no randomness: the ports it listens on are chosen by whoever executes its
// Listen action (port 0 = any ephemeral port), and reported back with DataListening.
//
// State is two explicit machines whose legal steps are tables (h11's _state.py): the control
// connection's dialogue (ControlState) and the data connection (DataState). An event that is
// not in the table changes nothing and is recorded as a protocol error. docs/client.md draws
// both tables (render_client_state_diagram).
//
// ThirdPartyClient, at the end, is the server-to-server user of RFC 959 section 5.2 (and of
// RFC 478 and RFC 438): one client with two control connections and no data connection.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/actions.hpp"
#include "protocol/address.hpp"
#include "protocol/client_profile.hpp"
#include "protocol/client_script.hpp"
#include "protocol/state_table.hpp"

namespace ftpsim::proto {

// ---- States and the transition tables -------------------------------------------------------

enum class ControlState : std::uint8_t {
    Connecting,        // no control connection yet
    AwaitGreeting,     // connected; the server speaks first (220, or 120 then 220)
    Ready,             // nothing outstanding: the next command may be sent
    AwaitReply,        // a command was sent; its final reply is pending
    AwaitPreliminary,  // a transfer command was sent; 1yz (or an early final reply) pending
    AwaitCompletion,   // 1yz received; the transfer's 2yz/4yz/5yz pending
    AwaitQuitReply,    // QUIT sent; 221 pending
    Stalled,           // nothing sent, yet a reply awaited (curl's PORT fallback on IPv6): only
                       // the server's 421, a lost connection or the client's own time limit end it
    Closed,
};

enum class DataState : std::uint8_t {
    NoData,            // no data connection and no listener
    ListenRequested,   // Listen emitted; DataListening pending (active modes)
    Listening,         // bound; waiting for the server's connection
    ConnectRequested,  // Connect emitted; DataConnected / DataRefused / DataTimedOut pending
    SpdtHandshake,     // SPSV: connected to the control port; 220, SPDT, "200 DATA" pending
    Open,              // the data connection carries data
};

enum class ClientEvent : std::uint8_t {
    // control connection
    Connected,            // on_connected
    SendCommand,          // a command ended by one final reply
    SendTransferCommand,  // RETR STOR APPE LIST ...: 1yz, then 2yz
    SendQuit,
    Reply1yz,
    Reply2yz,
    Reply3yz,
    ReplyNegative,        // 4yz or 5yz
    Abandon,              // the client closes without QUIT
    ConnectionLost,       // the server closed or reset the control connection
    Stall,                // the client waits for a reply to a command it did not send
    // data connection
    RequestListen,
    ListenReady,          // DataListening
    ListenFailed,
    RequestConnect,
    DataConnected,        // the handshake completed (either direction)
    SinglePortConnected,  // SPSV: connected to the server's control port
    SpdtAccepted,         // "200 DATA"
    ConnectFailed,        // refused, timed out, or 504 to SPDT
    StopListening,        // the listener is closed
    PeerClosed,           // FIN received (the client closes its side too)
    CloseData,            // the client closes (after an upload)
    DataReset,
};

const char* to_string(ControlState s);
const char* to_string(DataState s);
const char* to_string(ClientEvent e);

using ControlTransition = Transition<ControlState, ClientEvent>;
using DataTransition = Transition<DataState, ClientEvent>;

std::span<const ControlTransition> client_control_transitions();
std::span<const DataTransition> client_data_transitions();
std::optional<ControlState> next_control_state(ControlState from, ClientEvent event);
std::optional<DataState> next_data_state(DataState from, ClientEvent event);

// Both tables as one Mermaid stateDiagram-v2 (the text docs/client.md embeds).
std::string render_client_state_diagram();

// ---- Replies on the control connection ------------------------------------------------------

struct ServerReply {
    int code = 0;
    std::string text;  // the last line's text (the first line's for a one-line reply)
    std::string raw;   // every byte of it, CRLFs included
};

// Collects control bytes split anywhere and hands out complete replies (single or multi-line).
class ReplyReader {
public:
    void feed(std::string_view bytes) { buffer_ += bytes; }
    // The next complete reply; nullopt when more bytes are needed. Garbage is dropped and
    // reported through `error`.
    std::optional<ServerReply> next(std::string* error = nullptr);
    // What is left, for a connection that stops carrying replies (SPSV after "200 DATA").
    std::string take_buffer() { return std::exchange(buffer_, {}); }
    // Bytes fed but not yet part of a reply (a reply in progress): for a caller's size limit.
    std::size_t buffered() const { return buffer_.size(); }

private:
    std::string buffer_;
};

// ---- The client session ---------------------------------------------------------------------

struct ControlEndpoints {
    HostPort local;   // the client's end (what PORT/EPRT announce)
    HostPort remote;  // the server as the client reaches it (the "control peer")
};

struct ClientConfig {
    ClientProfile profile = curl_profile();
    DataMode mode = DataMode::Auto;
    ClientScript script;
    // Known at construction (the session starts in AwaitGreeting), or given by on_connected.
    std::optional<ControlEndpoints> control;
    // Active mode: announce this address in PORT/EPRT instead of the control connection's local
    // one (the in-depth article's "announce WAN IP" remedy; curl --ftp-port ADDRESS, FileZilla's
    // "external IP address", lftp ftp:port-ipv4). The listener stays on the local address.
    std::optional<IpAddress> announce_address;
    // A retry of a failed transfer on a new control connection (lftp): the script's actions
    // before this index are not run again, except its logins; the session already knows the
    // home directory (no PWD after login) and the retried transfer's size and date (no SIZE,
    // MDTM).
    std::optional<std::size_t> resume_at;
    // The data path of issue #22 (see ServerConfig::explicit_data_path): uploads go out as
    // SendFile from `upload_source`, downloads come in through ReceiveInto into `download_sink`
    // (a listing into a TextSink the session reads, or into `download_sink` when it is set),
    // counted by DataStored.
    bool explicit_data_path = false;
    // What put/append send (default: upload_pattern_source(action.size)).
    std::function<std::shared_ptr<const ContentSource>(const UserAction&)> upload_source{};
    // Where get puts the file, and ls its listing (default: counting_sink(); ls: a TextSink).
    std::function<std::shared_ptr<ContentSink>(const UserAction&)> download_sink{};
};

// A failed transfer the profile retries on a new control connection (lftp).
struct TransferRetry {
    std::size_t action_index = 0;  // the script's action to resume at
    DataMode mode = DataMode::Auto;  // the data mode of the retry (ftp:auto-passive-mode)
    bool switched = false;           // the mode was switched
};

struct ActionResult {
    UserAction action;
    bool ok = false;
    // A transfer (ls, get, put, append, a raw transfer line): the final reply to the transfer
    // command itself (RETR, STOR, LIST, APPE, ...), 0 when that command was never sent or its
    // final reply never came (PORT refused: the 500 belongs to PORT, see failed_reply).
    // Any other action: the last final reply it got (0: it ended without one).
    int reply_code = 0;
    std::string reply_text;
    std::string received;        // ls (and get without explicit_data_path): what came over the data connection
    std::uint64_t bytes_received = 0;  // get / ls: how many bytes came over the data connection
    std::uint64_t bytes_sent = 0;  // put / append
    std::string failure;         // why it failed, in the learner's words
    // The reply that ended a failed action, whichever command it answered ("PORT ...", 500);
    // 0 when it succeeded or failed without a reply (a refused data connection, a local error).
    int failed_reply = 0;
    std::string failed_reply_text;
    std::string failed_command;  // the command line that reply answered
};

class ClientSession {
public:
    explicit ClientSession(ClientConfig config);

    // ---- inputs
    void on_connected(HostPort local, HostPort remote, Time now);
    void receive_control(std::string_view bytes, Time now);
    void on_control_closed(Time now);
    void on_data_event(const DataEvent& event, Time now);
    Time next_expiry() const;  // kNever when no timer runs
    void on_timer(Time now);

    // ---- outputs
    // The next action (nullopt: none); take_actions() hands out all of them at once.
    std::optional<Action> poll_action();
    std::vector<Action> take_actions();
    bool has_actions() const { return !actions_.empty(); }

    // ---- observation
    ControlState control_state() const { return control_; }
    DataState data_state() const { return data_.state; }
    DataMode mode() const { return mode_; }  // Auto resolved to the profile's default
    // RFC 4217: true from the 234 reply to "AUTH TLS" (or TLS-C, SSL, TLS-P) until the 200
    // reply to "CCC": the client's next bytes on the control connection are TLS records.
    // Mirrors ServerSession::control_encrypted(), which flips at the same two replies.
    bool control_encrypted() const { return control_encrypted_; }
    // RFC 4217: true after "PROT P" got 200 (until "PROT C" gets 200): data connections are TLS.
    bool data_protected() const { return data_protected_; }
    const ClientProfile& profile() const { return config_.profile; }
    bool finished() const;  // closed, or the script is done and nothing is outstanding
    // The user action under way (its result is not in results() yet), if any.
    const std::optional<UserAction>& current_action() const { return action_; }
    const std::vector<ActionResult>& results() const { return results_; }
    const std::vector<std::string>& protocol_errors() const { return protocol_errors_; }
    // Set when a transfer failed in a way the profile retries (retries_failed_transfer) and the
    // session closed the control connection: the caller may start a new session at this action.
    const std::optional<TransferRetry>& transfer_retry() const { return transfer_retry_; }

private:
    struct Step {
        enum class Kind : std::uint8_t { Login, Command, DataSetup, Transfer, Quit };
        // A constructor, not aggregate initialisation: `sent` is filled in when the line goes out
        // (-Wmissing-field-initializers warned at every {kind, command, ...}).
        Step() = default;
        Step(Kind k, std::string c, bool must = true, bool is_raw = false)
            : kind(k), command(std::move(c)), must_succeed(must), raw(is_raw) {}
        Kind kind = Kind::Command;
        std::string command;        // the line without CRLF; DataSetup: the verb ("" = default)
        bool must_succeed = true;   // SIZE, SYST, PWD after login, raw lines may fail harmlessly
        bool raw = false;           // Transfer: a raw line, no data connection of the client's
        std::string sent;           // the line as it went on the wire (PORT h1,...,p2)
    };
    struct DataChannel {
        DataId id = 0;
        DataState state = DataState::NoData;
        std::string setup_verb;   // the command that set it up: PORT, EPSV, SPSV, LSTN S ...
        HostPort listening;       // active: the bound address
        HostPort target;          // passive: where the client connects
        std::string spdt_id;      // SPSV identifier
        ReplyReader spdt_replies; // SPSV: the replies on the data connection before "200 DATA"
    };

    // state machines
    bool fire(ClientEvent event);  // control or data table; false (and a recorded error) if illegal

    // script and steps
    void advance();
    bool waiting_for_data() const;
    bool start_next_action();
    void plan_login(const UserAction& action);
    void plan_transfer(const UserAction& action, DataMode mode);
    void execute(Step step);
    void send_command(const Step& step, ClientEvent event, const std::string& line = {});
    void finish_action();
    void fail_action(std::string why, FailurePolicy policy);
    void fail_on_reply(const Step& step, const ServerReply& reply, std::string why,
                       FailurePolicy policy);
    void stall(const Step& step, const ServerReply& reply);
    bool awaiting_reply() const;  // the client waits for a reply and for nothing else
    void on_reply_timeout();

    // replies
    void on_reply(const ServerReply& reply);
    void on_greeting(const ServerReply& reply);
    void on_service_closing(const ServerReply& reply);
    void on_step_reply(const Step& step, const ServerReply& reply);
    void on_login_reply(const Step& step, const ServerReply& reply);
    void on_data_setup_reply(const Step& step, const ServerReply& reply);
    void on_transfer_reply(const Step& step, const ServerReply& reply);
    void track_security(const Step& step, const ServerReply& reply);
    bool fall_back(const std::string& failed_verb, bool reply_refused);

    // data connection
    void request_listen();
    void announce_listener(const Step& step);
    void connect_to(HostPort target, bool single_port);
    HostPort pasv_target(const HostPort& announced);
    void on_data_connected(const DataConnected& event);
    void on_data_bytes(const DataBytes& event);
    void on_spdt_reply(const ServerReply& reply);
    void on_data_failure(std::string why);
    void request_transfer_retry(const std::string& failed_verb, bool refused);
    void maybe_upload();
    void maybe_receive();
    void release_data();
    bool transfer_data_done() const;

    void emit(Action action) { actions_.push_back(std::move(action)); }
    void explain(std::string text) { emit(Explain{std::move(text)}); }
    void explain(ExplainKind kind, std::string text) { emit(Explain{std::move(text), kind}); }
    void protocol_error(std::string text);

    ClientConfig config_;
    DataMode mode_;
    ControlEndpoints control_ends_{};
    ControlState control_ = ControlState::Connecting;
    DataChannel data_;
    DataId next_data_id_ = 1;
    ReplyReader replies_;
    std::deque<Action> actions_;

    std::size_t next_action_ = 0;
    std::optional<UserAction> action_;   // the user action being carried out
    ActionResult result_;
    std::deque<Step> steps_;
    std::optional<Step> in_flight_;      // the command whose reply is pending
    std::string last_sent_;              // the last command line sent
    bool stop_script_ = false;
    bool switched_mode_ = false;         // FileZilla's one fallback per transfer happened
    std::optional<char> current_type_;   // last TYPE sent ('A' or 'I')

    bool transfer_sent_ = false;
    bool preliminary_seen_ = false;
    bool data_reset_ = false;      // the transfer's data connection was reset (a 2yz does not mend it)
    bool final_seen_ = false;
    bool upload_ = false;
    bool upload_sent_ = false;
    std::shared_ptr<ContentSink> download_;  // explicit_data_path: where get's bytes go
    std::shared_ptr<TextSink> listing_;      // explicit_data_path: ls's listing
    bool raw_transfer_ = false;          // the current transfer is a raw line
    Time now_ = 0;
    Time accept_deadline_ = kNever;
    Time connect_deadline_ = kNever;     // a passive data connection's connect_timeout
    Time connect_budget_end_ = kNever;   // connect_timeout_shared: the transfer's budget ends
    Time wait_deadline_ = kNever;        // a "wait" action runs until then
    Time reply_deadline_ = kNever;       // profile.reply_timeout after the last command or reply bytes
    bool control_encrypted_ = false;
    bool data_protected_ = false;

    std::vector<ActionResult> results_;
    std::vector<std::string> protocol_errors_;
    std::optional<TransferRetry> transfer_retry_;
    bool resume_known_ = false;          // resumed: skip SIZE and MDTM of the first transfer
    bool data_refused_ = false;          // the last data connection failure was a refusal
};

// ---- Server-to-server transfer ----------------------------------------------------------------

using ControlId = std::uint8_t;  // which control connection an action concerns

struct RoutedAction {
    ControlId control = 0;
    Action action;
};

enum class ThirdPartyDialect : std::uint8_t {
    Rfc959,  // PASV to the receiver, PORT <its address> to the sender, STOR and RETR (5.2)
    Rfc478,  // SOCK to each, PASV to the receiver, STOR and RTRV (1973)
    Rfc438,  // LSTN R to the receiver (255 X), SOCK receiver,X to the sender (255 Y),
             // SOCK sender,Y to the receiver, APPE and RETR (1973)
};
const char* to_string(ThirdPartyDialect d);

struct ThirdPartyServer {
    ControlEndpoints control;            // this control connection, as the client sees it
    std::string user = "anonymous";
    std::string password = "guest@";
    std::uint32_t data_socket = 20;      // RFC 478: the data socket "as specified by the protocol"
};

// One of the two transfer commands, for the outcome.
struct ThirdPartyTransfer {
    ControlId control = 0;       // ThirdPartyClient::kReceiver or kSender
    std::string command;         // the verb: STOR or APPE (receiver), RETR or RTRV (sender)
    std::string path;
    bool ok = false;             // its final reply was 2yz
    int reply_code = 0;          // its final reply, 0 if it was never sent or got none
    std::string reply_text;
};

struct ThirdPartyConfig {
    ThirdPartyDialect dialect = ThirdPartyDialect::Rfc959;
    ThirdPartyServer receiver;           // control 0 ("A" in RFC 959 5.2): listens and stores
    ThirdPartyServer sender;             // control 1 ("B"): connects and retrieves
    std::string source_path = "file";      // on the sender
    std::string destination_path = "file"; // on the receiver
};

class ThirdPartyClient {
public:
    static constexpr ControlId kReceiver = 0;
    static constexpr ControlId kSender = 1;

    explicit ThirdPartyClient(ThirdPartyConfig config);

    void on_connected(ControlId control, HostPort local, HostPort remote, Time now);
    void receive_control(ControlId control, std::string_view bytes, Time now);
    void on_control_closed(ControlId control, Time now);

    std::optional<RoutedAction> poll_action();

    ControlState control_state(ControlId control) const { return channels_[control].state; }
    bool finished() const;
    bool succeeded() const { return finished() && failure_.empty() && transfers_ok_ == 2; }
    const std::string& failure() const { return failure_; }
    const std::vector<std::string>& protocol_errors() const { return protocol_errors_; }
    // The two transfer commands, the receiver's first, then the sender's.
    const std::vector<ThirdPartyTransfer>& transfers() const { return transfers_; }

private:
    enum class Capture : std::uint8_t { None, Address227, OptionalAddress227, Socket255 };
    struct Step {
        ControlId control = 0;
        enum class Kind : std::uint8_t { Login, Command, Transfer, Quit } kind = Kind::Command;
        std::string command;  // may hold {pasv}, {pasvport} (the 227 address), {socket0}, {socket1},
                              // {receiver}, {sender} (the servers' addresses)
        Capture capture = Capture::None;
    };
    struct Channel {
        ControlState state = ControlState::Connecting;
        ReplyReader replies;
        std::optional<Step> in_flight;
        ThirdPartyServer server;
    };

    void plan();
    void advance();
    void execute(Step step);
    void on_reply(ControlId control, const ServerReply& reply);
    bool fire(ControlId control, ClientEvent event);
    void fail(std::string why);
    void record_transfer(ControlId control, const ServerReply& reply);
    std::string expand(std::string command) const;
    void emit(ControlId control, Action action) { actions_.push_back({control, std::move(action)}); }

    ThirdPartyConfig config_;
    Channel channels_[2];
    std::deque<Step> steps_;
    std::deque<RoutedAction> actions_;
    std::optional<HostPort> pasv_address_;
    std::vector<std::uint32_t> sockets_;  // 255 replies, in order
    int transfers_ok_ = 0;
    std::vector<ThirdPartyTransfer> transfers_;
    std::string failure_;
    std::vector<std::string> protocol_errors_;
};

}  // namespace ftpsim::proto
