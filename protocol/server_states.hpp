// The server session's states and transitions, as data (h11's _state.py style).
//
// One table holds every legal (state, event) -> next-state step; an event that is not in the table
// for the current state is illegal: it changes nothing and is a protocol error
// (ServerSession::protocol_errors(), as in the client). A second table says, for each state and
// command group, whether a command is handled, refused as out of sequence (503) or refused because
// nobody is logged in (530). The docs' state diagram is rendered from the first table
// (render_server_state_diagram), and a test checks docs/server.md contains that rendering.
//
// The steps follow RFC 959 section 5.4's command-reply sequences: USER -> 331 -> PASS -> 230
// (or 332 -> ACCT -> 230), RNFR -> 350 -> RNTO, a transfer command -> 1yz -> 2yz, plus the SPDT
// switch of draft-rosenau (the connection becomes a data connection).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/state_table.hpp"

namespace ftpsim::proto {

enum class ServerState : std::uint8_t {
    AwaitUser,     // greeting sent; USER expected
    AwaitPass,     // 331 sent; PASS expected
    AwaitAcct,     // 332 sent; ACCT expected
    LoggedIn,      // 230 sent; any command
    AwaitRnto,     // 350 to RNFR sent; RNTO expected next (RFC 959 5.4)
    Transfer,      // a transfer command was accepted; 226/4yz pending
    SpsvOnly,      // over the user limit with an SPSV pending: only SPDT is served (draft-rosenau 5)
    DataChannel,   // after "200 DATA": this connection is a data connection now (draft-rosenau 3.2)
    Closed,        // 221 sent, 421 sent, or the connection went away
};

enum class ServerEvent : std::uint8_t {
    UserNeedsPass,     // USER -> 331
    UserLoggedIn,      // USER -> 230 (e.g. vsftpd's anonymous login without a password)
    PassOk,            // PASS -> 230
    PassNeedsAcct,     // PASS -> 332
    AcctOk,            // ACCT -> 230
    LoginFailed,       // PASS/ACCT -> 530
    RnfrOk,            // RNFR -> 350
    RenameDone,        // RNTO -> 250 or 5yz: the pair is over
    RenameAbandoned,   // another command arrived after RNFR
    TransferStarted,   // RETR/STOR/LIST/... accepted
    TransferEnded,     // 226, 425, 426, 451, 452 ...
    SpdtOk,            // SPDT -> "200 DATA"
    Quit,              // QUIT -> 221
    Refused,           // 421 (too many users) or 504 (SPDT, wrong identifier); connection dropped
    ConnectionLost,    // the peer closed or reset the control connection
};

const char* to_string(ServerState s);
const char* to_string(ServerEvent e);

using ServerTransition = Transition<ServerState, ServerEvent>;

// The table itself, in the order the diagram draws it.
std::span<const ServerTransition> server_transitions();

// The next state, or nullopt when the event is illegal in `from` (the caller keeps its state).
std::optional<ServerState> next_server_state(ServerState from, ServerEvent event);

// ---- Command gates --------------------------------------------------------------------------
// Commands grouped by what they need (RFC 959 5.4 and each server's pre-login rules).
enum class CommandGroup : std::uint8_t {
    Login,        // USER PASS ACCT
    Session,      // QUIT NOOP SYST FEAT OPTS HELP STAT AUTH PBSZ PROT CCC (profile decides pre-login)
    Spdt,         // SPDT (draft-rosenau: instead of USER, instead of or after PASS)
    Rnto,         // RNTO
    Abor,         // ABOR
    Other,        // everything that needs a logged-in user
};

enum class Gate : std::uint8_t {
    Handle,       // run the command
    NeedLogin,    // 530
    BadSequence,  // 503
    Defer,        // leave it in the buffer until the transfer is over (RFC 959: commands queue)
    Ignore,       // the connection carries data now; not a command
};

struct CommandGateRow {
    ServerState state;
    CommandGroup group;
    Gate gate;
};

std::span<const CommandGateRow> server_command_gates();
Gate command_gate(ServerState state, CommandGroup group);

// The transition table as a Mermaid stateDiagram-v2 (the text docs/server.md embeds).
std::string render_server_state_diagram();

// ---- The data connection ----------------------------------------------------------------------
// A session has at most one data connection (or listener) at a time, set up by PORT/PASV/EPRT/
// EPSV/SPSV/LSTN/SOCK and used by the next transfer. Its phase changes only by a row of
// server_data_transitions(), which also names what the step does to the connection (listen,
// connect, stop listening, close, reset). An event the table does not allow in the current phase
// is a protocol error: the phase stays and nothing is sent (ServerSession::protocol_errors()).
// docs/server.md draws the table (render_server_data_diagram), and a test keeps the two equal.
enum class DataPhase : std::uint8_t {
    Idle,        // nothing open: no plan yet, or an active plan (PORT/EPRT/SOCK) not yet connected
    Listening,   // waiting for the peer's connection: a listener (PASV/EPSV/LSTN) or SPSV's SPDT
    Connecting,  // the server connects to the active plan's address
    Open,        // the data connection is up
    Draining,    // a sending transfer wrote everything and closed (FIN); its 226 waits for
                 // DataDrained (or the peer's close), a reset before that gives 426
    Failed,      // refused, timed out, closed or reset early; the transfer gets its 425/426
};

enum class DataPhaseEvent : std::uint8_t {
    // The session's own steps.
    Listen,         // PASV EPSV LSTN (SOCK then PASV): listen on a port
    ListenRetry,    // the port was in use: listen on the next one (await_listen)
    AwaitSpdt,      // SPSV: the connection will come to the control port and name itself by SPDT
    Connect,        // a transfer with an active plan (PORT EPRT SOCK, or RFC 959's default port)
    SentAll,        // a sending transfer wrote the whole file: close our end
    RefusePeer,     // the connection comes from someone else than the client: reset it
    Abort,          // ABOR, a full disk, a stalled upload, the connect timeout, a shutdown
    Drop,           // the plan is over: a new PORT/PASV, the transfer's end, the session's end
    // The caller's data events (actions.hpp).
    ListenReady,    // DataListening
    ListenFailed,   // DataListenFailed and no port left to try
    Connected,      // DataConnected (or SPDT's connection handed over)
    ConnectFailed,  // DataRefused, DataTimedOut, or the announced port could not be bound
    Bytes,          // DataBytes
    Stored,         // DataStored: an upload's bytes went into its sink (ReceiveInto)
    Sent,           // DataSent: a SendFile's bytes went out (the 226 still waits for DataDrained)
    PeerClosed,     // DataClosed: the peer's FIN
    Reset,          // DataReset
    Drained,        // DataDrained: our bytes and FIN are acknowledged
};

// What a step does to the connection besides changing the phase (bits; the arguments come from
// the session's data plan).
enum DataEffect : std::uint8_t {
    kNoEffect = 0,
    kListen = 1u << 0,            // Listen on the plan's port
    kConnect = 1u << 1,           // Connect to the plan's address (from its port)
    kStopListening = 1u << 2,     // StopListening (a passive listener)
    kForgetIdentifier = 1u << 3,  // withdraw SPSV's pending identifier
    kCloseData = 1u << 4,         // CloseData: FIN
    kResetData = 1u << 5,         // CloseData abort: RST
};

const char* to_string(DataPhase p);
const char* to_string(DataPhaseEvent e);
std::string effects_string(std::uint8_t effects);  // "stop listening, forget SPSV id"; "" for none

struct DataPhaseTransition {
    DataPhase from;
    DataPhaseEvent event;
    DataPhase to;
    std::uint8_t effects;  // DataEffect bits
};

// The table itself, in the order the diagram draws it.
std::span<const DataPhaseTransition> server_data_transitions();

// The step for `event` in `from`, or nullopt when the table does not allow it.
std::optional<DataPhaseTransition> next_data_phase(DataPhase from, DataPhaseEvent event);

// The data table as a Mermaid stateDiagram-v2 (the text docs/server.md embeds).
std::string render_server_data_diagram();

}  // namespace ftpsim::proto
