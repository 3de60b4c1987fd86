#include "protocol/server_states.hpp"

#include <array>
#include <utility>

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
    ServerTransition{S::AwaitAcct, E::UserNeedsPass, S::AwaitPass},  // USER starts the login again
    ServerTransition{S::AwaitAcct, E::UserLoggedIn, S::LoggedIn},
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
    ServerTransition{S::AwaitAcct, E::SpdtOk, S::DataChannel},
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
    ServerTransition{S::Closed, E::ConnectionLost, S::Closed},  // the peer's close after our 221/421
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

using P = DataPhase;
using D = DataPhaseEvent;

constexpr std::uint8_t kStopWaiting = kStopListening | kForgetIdentifier;

constexpr std::array kDataTransitions{
    // Setting up: a listener (or SPSV's identifier), or an active connect at the transfer.
    DataPhaseTransition{P::Idle, D::Listen, P::Listening, kListen},
    DataPhaseTransition{P::Idle, D::AwaitSpdt, P::Listening, kNoEffect},
    DataPhaseTransition{P::Listening, D::ListenReady, P::Listening, kNoEffect},
    DataPhaseTransition{P::Listening, D::ListenRetry, P::Listening, kListen},
    DataPhaseTransition{P::Listening, D::ListenFailed, P::Failed, kNoEffect},
    DataPhaseTransition{P::Idle, D::Connect, P::Connecting, kConnect},
    // The connection comes up, or does not.
    DataPhaseTransition{P::Listening, D::Connected, P::Open, kStopListening},
    DataPhaseTransition{P::Connecting, D::Connected, P::Open, kNoEffect},
    DataPhaseTransition{P::Listening, D::ConnectFailed, P::Failed, kNoEffect},
    DataPhaseTransition{P::Connecting, D::ConnectFailed, P::Failed, kNoEffect},
    // A foreign peer: refused at accept (pyftpdlib keeps listening) or at the transfer (vsftpd).
    DataPhaseTransition{P::Listening, D::RefusePeer, P::Listening, kResetData},
    DataPhaseTransition{P::Open, D::RefusePeer, P::Failed, kResetData},
    // Data flows; a sending transfer closes first and waits for the acknowledgement.
    DataPhaseTransition{P::Open, D::Bytes, P::Open, kNoEffect},
    DataPhaseTransition{P::Draining, D::Bytes, P::Draining, kNoEffect},  // a download's peer talks: ignored
    DataPhaseTransition{P::Open, D::Stored, P::Open, kNoEffect},
    DataPhaseTransition{P::Draining, D::Sent, P::Draining, kNoEffect},
    DataPhaseTransition{P::Open, D::SentAll, P::Draining, kCloseData},
    DataPhaseTransition{P::Draining, D::Drained, P::Idle, kNoEffect},
    DataPhaseTransition{P::Draining, D::PeerClosed, P::Idle, kNoEffect},
    DataPhaseTransition{P::Draining, D::Reset, P::Failed, kNoEffect},
    // The peer closes (this side closes too) or resets.
    DataPhaseTransition{P::Open, D::PeerClosed, P::Failed, kCloseData},
    DataPhaseTransition{P::Open, D::Reset, P::Failed, kNoEffect},
    DataPhaseTransition{P::Failed, D::PeerClosed, P::Failed, kNoEffect},
    DataPhaseTransition{P::Failed, D::Reset, P::Failed, kNoEffect},
    // The server cuts the connection; ABOR before the connection came also closes the listener.
    DataPhaseTransition{P::Connecting, D::Abort, P::Idle, kResetData},
    DataPhaseTransition{P::Open, D::Abort, P::Idle, kResetData},
    DataPhaseTransition{P::Draining, D::Abort, P::Idle, kResetData},
    DataPhaseTransition{P::Listening, D::Abort, P::Idle, kStopWaiting},
    DataPhaseTransition{P::Idle, D::Abort, P::Idle, kNoEffect},
    DataPhaseTransition{P::Failed, D::Abort, P::Idle, kNoEffect},
    // The plan is over: whatever is still open goes.
    DataPhaseTransition{P::Listening, D::Drop, P::Idle, kStopWaiting},
    DataPhaseTransition{P::Connecting, D::Drop, P::Idle, kResetData},
    DataPhaseTransition{P::Open, D::Drop, P::Idle, kCloseData},
    DataPhaseTransition{P::Draining, D::Drop, P::Idle, kNoEffect},
    DataPhaseTransition{P::Failed, D::Drop, P::Idle, kNoEffect},
    DataPhaseTransition{P::Idle, D::Drop, P::Idle, kNoEffect},
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
    if (const auto* t = find_transition(kTransitions, from, event)) return t->to;
    return std::nullopt;
}

std::span<const CommandGateRow> server_command_gates() { return kGates; }

Gate command_gate(ServerState state, CommandGroup group) {
    for (const auto& row : kGates)
        if (row.state == state && row.group == group) return row.gate;
    return Gate::Ignore;  // DataChannel and Closed: the bytes are not commands
}

std::string render_server_state_diagram() {
    MermaidStateDiagram d;
    d.entry(to_string(S::AwaitUser), "220 greeting")
        .entry(to_string(S::SpsvOnly), "220 only SPSV connections allowed")
        .rows(kTransitions)
        .exit(to_string(S::Closed));
    return d.text();
}

// ---- The data connection ----------------------------------------------------------------------

const char* to_string(DataPhase p) {
    switch (p) {
        case P::Idle: return "Idle";
        case P::Listening: return "Listening";
        case P::Connecting: return "Connecting";
        case P::Open: return "Open";
        case P::Draining: return "Draining";
        case P::Failed: return "Failed";
    }
    return "?";
}

const char* to_string(DataPhaseEvent e) {
    switch (e) {
        case D::Listen: return "PASV/EPSV/LSTN";
        case D::ListenRetry: return "port in use, next port";
        case D::AwaitSpdt: return "SPSV";
        case D::Connect: return "transfer, active";
        case D::SentAll: return "all sent";
        case D::RefusePeer: return "foreign peer";
        case D::Abort: return "abort";
        case D::Drop: return "drop";
        case D::ListenReady: return "DataListening";
        case D::ListenFailed: return "DataListenFailed";
        case D::Connected: return "DataConnected";
        case D::ConnectFailed: return "refused/timed out";
        case D::Bytes: return "DataBytes";
        case D::Stored: return "DataStored";
        case D::Sent: return "DataSent";
        case D::PeerClosed: return "DataClosed";
        case D::Reset: return "DataReset";
        case D::Drained: return "DataDrained";
    }
    return "?";
}

std::string effects_string(std::uint8_t effects) {
    static constexpr std::pair<std::uint8_t, const char*> kNames[] = {
        {kListen, "listen"},         {kConnect, "connect"},  {kStopListening, "stop listening"},
        {kForgetIdentifier, "forget SPSV id"}, {kCloseData, "close"}, {kResetData, "reset"}};
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if ((effects & bit) == 0) continue;
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

std::span<const DataPhaseTransition> server_data_transitions() { return kDataTransitions; }

std::optional<DataPhaseTransition> next_data_phase(DataPhase from, DataPhaseEvent event) {
    if (const auto* t = find_transition(kDataTransitions, from, event)) return *t;
    return std::nullopt;
}

std::string render_server_data_diagram() {
    // An arrow says what the step does to the connection after its event: "all sent / close".
    const auto label = [](const DataPhaseTransition& t) {
        std::string text = to_string(t.event);
        if (t.effects != kNoEffect) text += " / " + effects_string(t.effects);
        return text;
    };
    MermaidStateDiagram d;
    d.entry(to_string(P::Idle), "session start").rows(kDataTransitions, label);
    return d.text();
}

}  // namespace ftpsim::proto
