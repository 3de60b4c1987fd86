// The server session's states and transitions, as data (h11's _state.py style).
//
// One table holds every legal (state, event) -> next-state step; an event that is not in the table
// for the current state is illegal and changes nothing. A second table says, for each state and
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

struct ServerTransition {
    ServerState from;
    ServerEvent event;
    ServerState to;
};

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

}  // namespace ftpsim::proto
