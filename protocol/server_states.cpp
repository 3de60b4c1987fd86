#include "protocol/server_states.hpp"

#include <array>

namespace ftpsim::proto {

namespace {

using S = ServerState;
using E = ServerEvent;

constexpr std::array kTransitions{
    // Login: RFC 959 5.4, "USER -> 230 / 331 / 332", "PASS -> 230 / 332", "ACCT -> 230".
    ServerTransition{S::AwaitUser, E::UserNeedsPass, S::AwaitPass},
    ServerTransition{S::AwaitUser, E::UserLoggedIn, S::LoggedIn},
    ServerTransition{S::AwaitPass, E::UserNeedsPass, S::AwaitPass},
    ServerTransition{S::AwaitPass, E::UserLoggedIn, S::LoggedIn},
    ServerTransition{S::AwaitPass, E::PassOk, S::LoggedIn},
    ServerTransition{S::AwaitPass, E::PassNeedsAcct, S::AwaitAcct},
    ServerTransition{S::AwaitPass, E::LoginFailed, S::AwaitUser},
    ServerTransition{S::AwaitAcct, E::AcctOk, S::LoggedIn},
    ServerTransition{S::AwaitAcct, E::LoginFailed, S::AwaitUser},
    ServerTransition{S::LoggedIn, E::UserNeedsPass, S::AwaitPass},
    ServerTransition{S::LoggedIn, E::UserLoggedIn, S::LoggedIn},
    // Rename: "RNFR -> 350, then RNTO".
    ServerTransition{S::LoggedIn, E::RnfrOk, S::AwaitRnto},
    ServerTransition{S::AwaitRnto, E::RnfrOk, S::AwaitRnto},
    ServerTransition{S::AwaitRnto, E::RenameDone, S::LoggedIn},
    ServerTransition{S::AwaitRnto, E::RenameAbandoned, S::LoggedIn},
    // Transfers: "RETR/STOR/LIST... -> 125/150 -> 226/250/4yz".
    ServerTransition{S::LoggedIn, E::TransferStarted, S::Transfer},
    ServerTransition{S::Transfer, E::TransferEnded, S::LoggedIn},
    // draft-rosenau 3.2 and 5: SPDT instead of USER, instead of or after PASS.
    ServerTransition{S::AwaitUser, E::SpdtOk, S::DataChannel},
    ServerTransition{S::AwaitPass, E::SpdtOk, S::DataChannel},
    ServerTransition{S::LoggedIn, E::SpdtOk, S::DataChannel},
    ServerTransition{S::SpsvOnly, E::SpdtOk, S::DataChannel},
    ServerTransition{S::SpsvOnly, E::Refused, S::Closed},
    ServerTransition{S::AwaitUser, E::Refused, S::Closed},
    ServerTransition{S::AwaitPass, E::Refused, S::Closed},
    ServerTransition{S::AwaitAcct, E::Refused, S::Closed},
    ServerTransition{S::LoggedIn, E::Refused, S::Closed},
    // The end.
    ServerTransition{S::AwaitUser, E::Quit, S::Closed},
    ServerTransition{S::AwaitPass, E::Quit, S::Closed},
    ServerTransition{S::AwaitAcct, E::Quit, S::Closed},
    ServerTransition{S::LoggedIn, E::Quit, S::Closed},
    ServerTransition{S::AwaitRnto, E::Quit, S::Closed},
    ServerTransition{S::SpsvOnly, E::Quit, S::Closed},
    ServerTransition{S::AwaitUser, E::ConnectionLost, S::Closed},
    ServerTransition{S::AwaitPass, E::ConnectionLost, S::Closed},
    ServerTransition{S::AwaitAcct, E::ConnectionLost, S::Closed},
    ServerTransition{S::LoggedIn, E::ConnectionLost, S::Closed},
    ServerTransition{S::AwaitRnto, E::ConnectionLost, S::Closed},
    ServerTransition{S::Transfer, E::ConnectionLost, S::Closed},
    ServerTransition{S::SpsvOnly, E::ConnectionLost, S::Closed},
    ServerTransition{S::DataChannel, E::ConnectionLost, S::Closed},
};

using G = CommandGroup;
using K = Gate;

// Before login: Login, Session and SPDT run (the handler answers PASS-without-USER with 503);
// everything else is 530. During a transfer only ABOR runs; the rest waits in the buffer.
constexpr std::array kGates{
    CommandGateRow{S::AwaitUser, G::Login, K::Handle},
    CommandGateRow{S::AwaitUser, G::Session, K::Handle},
    CommandGateRow{S::AwaitUser, G::Spdt, K::Handle},
    CommandGateRow{S::AwaitUser, G::Rnto, K::NeedLogin},
    CommandGateRow{S::AwaitUser, G::Abor, K::NeedLogin},
    CommandGateRow{S::AwaitUser, G::Other, K::NeedLogin},
    CommandGateRow{S::AwaitPass, G::Login, K::Handle},
    CommandGateRow{S::AwaitPass, G::Session, K::Handle},
    CommandGateRow{S::AwaitPass, G::Spdt, K::Handle},
    CommandGateRow{S::AwaitPass, G::Rnto, K::NeedLogin},
    CommandGateRow{S::AwaitPass, G::Abor, K::NeedLogin},
    CommandGateRow{S::AwaitPass, G::Other, K::NeedLogin},
    CommandGateRow{S::AwaitAcct, G::Login, K::Handle},
    CommandGateRow{S::AwaitAcct, G::Session, K::Handle},
    CommandGateRow{S::AwaitAcct, G::Spdt, K::Handle},
    CommandGateRow{S::AwaitAcct, G::Rnto, K::NeedLogin},
    CommandGateRow{S::AwaitAcct, G::Abor, K::NeedLogin},
    CommandGateRow{S::AwaitAcct, G::Other, K::NeedLogin},
    CommandGateRow{S::LoggedIn, G::Login, K::Handle},
    CommandGateRow{S::LoggedIn, G::Session, K::Handle},
    CommandGateRow{S::LoggedIn, G::Spdt, K::Handle},
    CommandGateRow{S::LoggedIn, G::Rnto, K::BadSequence},
    CommandGateRow{S::LoggedIn, G::Abor, K::Handle},
    CommandGateRow{S::LoggedIn, G::Other, K::Handle},
    CommandGateRow{S::AwaitRnto, G::Login, K::Handle},
    CommandGateRow{S::AwaitRnto, G::Session, K::Handle},
    CommandGateRow{S::AwaitRnto, G::Spdt, K::Handle},
    CommandGateRow{S::AwaitRnto, G::Rnto, K::Handle},
    CommandGateRow{S::AwaitRnto, G::Abor, K::Handle},
    CommandGateRow{S::AwaitRnto, G::Other, K::Handle},
    CommandGateRow{S::Transfer, G::Login, K::Defer},
    CommandGateRow{S::Transfer, G::Session, K::Defer},
    CommandGateRow{S::Transfer, G::Spdt, K::Defer},
    CommandGateRow{S::Transfer, G::Rnto, K::Defer},
    CommandGateRow{S::Transfer, G::Abor, K::Handle},
    CommandGateRow{S::Transfer, G::Other, K::Defer},
    CommandGateRow{S::SpsvOnly, G::Login, K::Handle},
    CommandGateRow{S::SpsvOnly, G::Session, K::Handle},
    CommandGateRow{S::SpsvOnly, G::Spdt, K::Handle},
    CommandGateRow{S::SpsvOnly, G::Rnto, K::NeedLogin},
    CommandGateRow{S::SpsvOnly, G::Abor, K::NeedLogin},
    CommandGateRow{S::SpsvOnly, G::Other, K::NeedLogin},
};

}  // namespace

const char* to_string(ServerState s) {
    switch (s) {
        case S::AwaitUser: return "AwaitUser";
        case S::AwaitPass: return "AwaitPass";
        case S::AwaitAcct: return "AwaitAcct";
        case S::LoggedIn: return "LoggedIn";
        case S::AwaitRnto: return "AwaitRnto";
        case S::Transfer: return "Transfer";
        case S::SpsvOnly: return "SpsvOnly";
        case S::DataChannel: return "DataChannel";
        case S::Closed: return "Closed";
    }
    return "?";
}

const char* to_string(ServerEvent e) {
    switch (e) {
        case E::UserNeedsPass: return "USER 331";
        case E::UserLoggedIn: return "USER 230";
        case E::PassOk: return "PASS 230";
        case E::PassNeedsAcct: return "PASS 332";
        case E::AcctOk: return "ACCT 230";
        case E::LoginFailed: return "530";
        case E::RnfrOk: return "RNFR 350";
        case E::RenameDone: return "RNTO 250/5yz";
        case E::RenameAbandoned: return "other command";
        case E::TransferStarted: return "transfer 1yz";
        case E::TransferEnded: return "226/4yz";
        case E::SpdtOk: return "SPDT 200 DATA";
        case E::Quit: return "QUIT 221";
        case E::Refused: return "421 or 504, dropped";
        case E::ConnectionLost: return "connection closed";
    }
    return "?";
}

std::span<const ServerTransition> server_transitions() { return kTransitions; }

std::optional<ServerState> next_server_state(ServerState from, ServerEvent event) {
    for (const auto& t : kTransitions)
        if (t.from == from && t.event == event) return t.to;
    return std::nullopt;
}

std::span<const CommandGateRow> server_command_gates() { return kGates; }

Gate command_gate(ServerState state, CommandGroup group) {
    for (const auto& row : kGates)
        if (row.state == state && row.group == group) return row.gate;
    return Gate::Ignore;  // DataChannel and Closed: the bytes are not commands
}

std::string render_server_state_diagram() {
    std::string out = "stateDiagram-v2\n";
    out += "    [*] --> AwaitUser : 220 greeting\n";
    out += "    [*] --> SpsvOnly : 220 only SPSV connections allowed\n";
    for (const auto& t : kTransitions) {
        out += "    ";
        out += to_string(t.from);
        out += " --> ";
        out += to_string(t.to);
        out += " : ";
        out += to_string(t.event);
        out += '\n';
    }
    out += "    Closed --> [*]\n";
    return out;
}

}  // namespace ftpsim::proto
