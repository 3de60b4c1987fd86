// The sans-IO contract of the FTP sessions (h11 / ngtcp2 style).
//
// A session never touches a socket, a clock or a random source. The caller (the simulator, the
// live-mode socket loop, or the SessionPair test helper) feeds it inputs and drains its queue of
// actions:
//
//   inputs : bytes received on the control connection; data-connection events; the current time
//            with every call; timer expiry (poll next_expiry(), call on_timer(now)).
//   outputs: Action values, in order: control bytes to send, a port to listen on, an address to
//            connect to, protocol text or a file to send on a data connection, where to put
//            what a data connection receives, connections to close, explanation lines. Every
//            session kind hands them out the same way: poll_action() returns the next one
//            (take_actions() all of them).
//
// Data connections are named by a DataId that the session chooses; the caller reports every
// event about that connection with the same id.
//
// The data path (issue #22): file contents never pass through a session. A session names the
// bytes (SendFile: a ContentSource) or their destination (ReceiveInto: a ContentSink); the
// caller -- the session host (host.hpp) -- streams them in chunks as the transport takes them
// and reports DataSent / DataStored with counts only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/address.hpp"
#include "protocol/content.hpp"

namespace ftpsim::proto {

using Time = std::int64_t;  // simulated (or real) time in nanoseconds; always passed in
constexpr Time kNever = INT64_MAX;

using DataId = std::uint32_t;
using SessionId = std::uint32_t;  // one control connection of a server, or of a client

// ---- Actions (session -> caller) -------------------------------------------------------------

enum class Reply : std::uint8_t;  // a server profile's reply (protocol/server_profile.hpp)
enum class Verb : std::uint8_t;   // a command (protocol/commands.hpp)

// A server's reply as facts. The bytes are the profile's wording of it, and a profile may word it
// any way (`servers.X.replies`): whoever decides something about a reply reads these fields,
// never the text (docs/server.md, "What a reply is").
struct ReplyFacts {
    std::optional<Reply> reply;      // the profile's reply; nullopt: FEAT's and STAT's, composed
    int code = 0;                    // its reply code (RFC 959 4.2)
    // The command it answers: nullopt for a reply to none (the greeting, a timeout's or a
    // shutdown's 421); Verb::Unknown for a line that is not a command the server knows. A
    // command's preliminary replies (1yz) carry it too; only its final reply ends it.
    std::optional<Verb> command;
    // Set on the final reply of a transfer command (RETR, STOR, LIST ...): refused at once, ended
    // by its data connection, aborted, or cut off by a timeout.
    struct TransferEnd {
        std::string argument;        // the command's argument as the client sent it
        bool ok = false;             // the transfer completed (the command's success reply)
    };
    std::optional<TransferEnd> transfer;
};

struct SendControl {        // write these bytes on the control connection
    std::string bytes;
    std::optional<ReplyFacts> reply = std::nullopt;  // a server's reply: what it is (a client's command: nullopt)
};
struct Listen {             // open a listening socket for data connection `id`
    DataId id = 0;
    IpAddress addr;         // local address to bind (unspecified = the control connection's)
    std::uint16_t port_lo = 0, port_hi = 0;  // a port from [lo, hi]; 0,0 = any ephemeral port
};
struct StopListening {
    DataId id = 0;
};
struct Connect {            // open data connection `id` to `remote`
    DataId id = 0;
    HostPort remote;
    std::optional<std::uint16_t> local_port;  // e.g. 20 (connect_from_port_20)
    // SPSV (draft-rosenau 3.2): the connection starts with control text ("220 ...", "SPDT id",
    // "200 DATA"); the file follows "200 DATA".
    bool single_port = false;
};
struct SendData {           // write protocol text on data connection `id` (SPSV's "SPDT id")
    DataId id = 0;
    std::string bytes;
};
// Send `source` from `offset` to its end on data connection `id`; the caller pulls it in chunks
// as the connection takes them, performs any later action on `id` (CloseData) only after the
// last chunk, and reports DataSent{id, n} then.
struct SendFile {
    DataId id = 0;
    std::shared_ptr<const ContentSource> source;
    std::uint64_t offset = 0;
};
// From now on the bytes data connection `id` receives go into `sink`; the caller reports each
// arrival as DataStored{id, n} (and DataBytes no more).
struct ReceiveInto {
    DataId id = 0;
    std::shared_ptr<ContentSink> sink;
};
struct CloseData {          // close data connection `id` (FIN), or reset it (RST) when abort
    DataId id = 0;
    bool abort = false;
};
struct CloseControl {       // close the control connection (after the queued bytes are sent)
    bool abort = false;
};
// What kind of decision an Explain narrates (the trace records it as a typed fact, so nothing
// downstream has to read the sentence).
enum class ExplainKind : std::uint8_t {
    Other,             // narration only
    GiveUp,            // the client abandons the action
    FallBack,          // the client falls back to another command (EPSV -> PASV, EPRT -> PORT)
    Retry,             // the client retries the transfer in the other mode
    PassiveExhausted,  // the server has no free passive port
    RefusedAddress,    // the server refuses a PORT/EPRT to a foreign address
    RefusedDataPeer,   // the server refuses a data connection from a foreign address
    DiskFull,          // the server's disk is full
    UserLimit,         // the server has reached its user limit
    EarlyDataLimit,    // too many bytes arrived on a data connection before its transfer command
    LineTooLong,       // a command line over kDefaultMaxLine bytes: answered 500, dropped to its LF
    CommandQueueLimit, // too many command bytes waited for a transfer: the server ends the session
};

struct Explain {            // one line for the learner: "the client listens on ... and announces it with PORT"
    std::string text;
    ExplainKind kind = ExplainKind::Other;
    Time timeout_ns = 0;    // a timeout that fired (connect_timeout, net:timeout ...): how long it was
};

using Action = std::variant<SendControl, Listen, StopListening, Connect, SendData, SendFile,
                            ReceiveInto, CloseData, CloseControl, Explain>;

// SPSV (server.hpp): this control connection is now data connection `id` of session `owner`.
struct BecomeDataConnection {
    SessionId owner = 0;
    DataId id = 0;
};

// An action of one of several sessions (a server's, a third-party client's two): whose
// connection it is about, and what.
struct SessionAction {
    SessionId session = 0;
    std::variant<Action, BecomeDataConnection> what;
};

// ---- Data-connection events (caller -> session) ---------------------------------------------

struct DataListening {      // the listen succeeded; this is the bound address
    DataId id = 0;
    HostPort local;
};
struct DataListenFailed {   // no free port in the range
    DataId id = 0;
};
struct DataConnected {      // handshake complete (either direction)
    DataId id = 0;
    HostPort local;
    HostPort remote;        // the peer as seen from here (after any NAT)
};
struct DataRefused {        // RST answered our SYN
    DataId id = 0;
};
struct DataTimedOut {       // our SYN was never answered within the connect timeout
    DataId id = 0;
};
struct DataBytes {          // protocol text received on a data connection (no ReceiveInto yet)
    DataId id = 0;
    std::string bytes;
};
struct DataStored {         // `bytes` more bytes went into the ReceiveInto sink of `id`
    DataId id = 0;
    std::uint64_t bytes = 0;
    bool failed = false;    // the sink refused them (its owner knows why: a full disk ...)
};
struct DataSent {           // the SendFile on `id` was handed to the transport: `bytes` bytes
    DataId id = 0;
    std::uint64_t bytes = 0;
};
struct DataClosed {         // the peer closed (FIN received)
    DataId id = 0;
};
struct DataReset {          // the connection was reset mid-way
    DataId id = 0;
};
// Every byte the session asked to send on data connection `id` has been delivered to the peer
// (acknowledged), and our FIN too if we closed. It stands for "the last write() and close() of
// the data socket have returned": a sending server's final 226 waits for it (docs/server.md).
// The client session ignores it.
struct DataDrained {
    DataId id = 0;
};

using DataEvent = std::variant<DataListening, DataListenFailed, DataConnected, DataRefused,
                               DataTimedOut, DataBytes, DataStored, DataSent, DataClosed, DataReset,
                               DataDrained>;

// ---- Randomness, supplied by the caller --------------------------------------------------------
// Returns a uniformly distributed 64-bit value. The simulator seeds it from the scenario's seed.
using RandomSource = std::function<std::uint64_t()>;

}  // namespace ftpsim::proto
