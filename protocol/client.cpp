#include "protocol/client.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "protocol/codec.hpp"

namespace ftpsim::proto {

// ---- The transition tables --------------------------------------------------------------------

namespace {

using C = ControlState;
using D = DataState;
using E = ClientEvent;

// RFC 959 5.4: the greeting, then command -> final reply, transfer command -> 1yz -> 2yz.
constexpr std::array kControlTransitions{
    ControlTransition{C::Connecting, E::Connected, C::AwaitGreeting},
    ControlTransition{C::AwaitGreeting, E::Reply1yz, C::AwaitGreeting},  // 120, then 220
    ControlTransition{C::AwaitGreeting, E::Reply2yz, C::Ready},
    ControlTransition{C::AwaitGreeting, E::ReplyNegative, C::Ready},     // 421: the script ends
    ControlTransition{C::Ready, E::SendCommand, C::AwaitReply},
    ControlTransition{C::Ready, E::SendTransferCommand, C::AwaitPreliminary},
    ControlTransition{C::Ready, E::SendQuit, C::AwaitQuitReply},
    ControlTransition{C::Ready, E::Stall, C::Stalled},                   // curl: PORT on IPv6
    ControlTransition{C::AwaitReply, E::Reply1yz, C::AwaitReply},
    ControlTransition{C::AwaitReply, E::Reply2yz, C::Ready},
    ControlTransition{C::AwaitReply, E::Reply3yz, C::Ready},
    ControlTransition{C::AwaitReply, E::ReplyNegative, C::Ready},
    ControlTransition{C::AwaitPreliminary, E::Reply1yz, C::AwaitCompletion},
    ControlTransition{C::AwaitPreliminary, E::Reply2yz, C::Ready},       // done without 1yz
    ControlTransition{C::AwaitPreliminary, E::Reply3yz, C::Ready},       // treated as a failure
    ControlTransition{C::AwaitPreliminary, E::ReplyNegative, C::Ready},
    ControlTransition{C::AwaitCompletion, E::Reply2yz, C::Ready},
    ControlTransition{C::AwaitCompletion, E::ReplyNegative, C::Ready},
    ControlTransition{C::AwaitQuitReply, E::Reply2yz, C::Closed},
    ControlTransition{C::AwaitQuitReply, E::ReplyNegative, C::Closed},
    ControlTransition{C::Stalled, E::ReplyNegative, C::Ready},           // the server's 421
    // The client may hang up at any point (curl after a failed data connection).
    ControlTransition{C::AwaitGreeting, E::Abandon, C::Closed},
    ControlTransition{C::Ready, E::Abandon, C::Closed},
    ControlTransition{C::AwaitReply, E::Abandon, C::Closed},
    ControlTransition{C::AwaitPreliminary, E::Abandon, C::Closed},
    ControlTransition{C::AwaitCompletion, E::Abandon, C::Closed},
    ControlTransition{C::AwaitQuitReply, E::Abandon, C::Closed},
    ControlTransition{C::Stalled, E::Abandon, C::Closed},
    ControlTransition{C::AwaitGreeting, E::ConnectionLost, C::Closed},
    ControlTransition{C::Ready, E::ConnectionLost, C::Closed},
    ControlTransition{C::AwaitReply, E::ConnectionLost, C::Closed},
    ControlTransition{C::AwaitPreliminary, E::ConnectionLost, C::Closed},
    ControlTransition{C::AwaitCompletion, E::ConnectionLost, C::Closed},
    ControlTransition{C::AwaitQuitReply, E::ConnectionLost, C::Closed},
    ControlTransition{C::Stalled, E::ConnectionLost, C::Closed},
};

// The data connection: the client listens (PORT, EPRT, SOCK, RFC 959's default) or connects
// (PASV, EPSV, LSTN, SPSV with its SPDT handshake on the server's control port).
constexpr std::array kDataTransitions{
    DataTransition{D::NoData, E::RequestListen, D::ListenRequested},
    DataTransition{D::ListenRequested, E::ListenReady, D::Listening},
    DataTransition{D::ListenRequested, E::ListenFailed, D::NoData},
    DataTransition{D::ListenRequested, E::StopListening, D::NoData},
    DataTransition{D::Listening, E::DataConnected, D::Open},
    DataTransition{D::Listening, E::StopListening, D::NoData},
    DataTransition{D::NoData, E::RequestConnect, D::ConnectRequested},
    DataTransition{D::ConnectRequested, E::DataConnected, D::Open},
    DataTransition{D::ConnectRequested, E::SinglePortConnected, D::SpdtHandshake},
    DataTransition{D::ConnectRequested, E::ConnectFailed, D::NoData},
    DataTransition{D::ConnectRequested, E::CloseData, D::NoData},
    DataTransition{D::SpdtHandshake, E::SpdtAccepted, D::Open},
    DataTransition{D::SpdtHandshake, E::ConnectFailed, D::NoData},
    DataTransition{D::SpdtHandshake, E::PeerClosed, D::NoData},
    DataTransition{D::SpdtHandshake, E::CloseData, D::NoData},
    DataTransition{D::SpdtHandshake, E::DataReset, D::NoData},
    DataTransition{D::Open, E::PeerClosed, D::NoData},
    DataTransition{D::Open, E::CloseData, D::NoData},
    DataTransition{D::Open, E::DataReset, D::NoData},
};

bool is_data_event(ClientEvent e) { return e >= E::RequestListen; }

ClientEvent reply_event(int code) {
    switch (code / 100) {
        case 1: return E::Reply1yz;
        case 2: return E::Reply2yz;
        case 3: return E::Reply3yz;
        default: return E::ReplyNegative;
    }
}

bool positive(int code) { return code >= 100 && code < 400; }

// A command line goes out only when a server's parser (ours: parse_command) reads it back as one
// command: no CR, LF or NUL, which would end it early or be refused (RFC 959 4.1.3's <string>
// excludes them), a verb of ASCII letters, and a line within the limit. Paths and raw lines come
// from the user, so this is checked. Returns why the line cannot be sent, or None.
ParseError unsendable(std::string_view line) {
    if (line.empty()) return ParseError::EmptyLine;
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return ParseError::BadCharacter;
    const std::string wire = std::string(line) + "\r\n";
    CommandView view;
    const ParseResult r = parse_command(wire, view);
    if (r.status == ParseStatus::Ok && r.consumed == wire.size()) return ParseError::None;
    return r.status == ParseStatus::Error ? r.error : ParseError::LineTooLong;
}

std::string unsendable_reason(ParseError e) {
    if (e == ParseError::BadCharacter) return "the command holds CR, LF or NUL and cannot be sent";
    return std::string("the command cannot be sent: ") + to_string(e);
}

}  // namespace

const char* to_string(ControlState s) {
    switch (s) {
        case C::Connecting: return "Connecting";
        case C::AwaitGreeting: return "AwaitGreeting";
        case C::Ready: return "Ready";
        case C::AwaitReply: return "AwaitReply";
        case C::AwaitPreliminary: return "AwaitPreliminary";
        case C::AwaitCompletion: return "AwaitCompletion";
        case C::AwaitQuitReply: return "AwaitQuitReply";
        case C::Stalled: return "Stalled";
        case C::Closed: return "Closed";
    }
    return "?";
}

const char* to_string(DataState s) {
    switch (s) {
        case D::NoData: return "NoData";
        case D::ListenRequested: return "ListenRequested";
        case D::Listening: return "Listening";
        case D::ConnectRequested: return "ConnectRequested";
        case D::SpdtHandshake: return "SpdtHandshake";
        case D::Open: return "Open";
    }
    return "?";
}

const char* to_string(ClientEvent e) {
    switch (e) {
        case E::Connected: return "connected";
        case E::SendCommand: return "send command";
        case E::SendTransferCommand: return "send RETR/STOR/APPE/LIST";
        case E::SendQuit: return "send QUIT";
        case E::Reply1yz: return "reply 1yz";
        case E::Reply2yz: return "reply 2yz";
        case E::Reply3yz: return "reply 3yz";
        case E::ReplyNegative: return "reply 4yz/5yz";
        case E::Abandon: return "close without QUIT";
        case E::ConnectionLost: return "connection lost";
        case E::Stall: return "nothing to send (PORT on IPv6)";
        case E::RequestListen: return "Listen";
        case E::ListenReady: return "DataListening";
        case E::ListenFailed: return "DataListenFailed";
        case E::RequestConnect: return "Connect";
        case E::DataConnected: return "DataConnected";
        case E::SinglePortConnected: return "DataConnected (SPSV)";
        case E::SpdtAccepted: return "200 DATA";
        case E::ConnectFailed: return "refused / timed out / 504";
        case E::StopListening: return "StopListening";
        case E::PeerClosed: return "DataClosed";
        case E::CloseData: return "CloseData";
        case E::DataReset: return "DataReset";
    }
    return "?";
}

std::span<const ControlTransition> client_control_transitions() { return kControlTransitions; }
std::span<const DataTransition> client_data_transitions() { return kDataTransitions; }

std::optional<ControlState> next_control_state(ControlState from, ClientEvent event) {
    if (const auto* t = find_transition(kControlTransitions, from, event)) return t->to;
    return std::nullopt;
}

std::optional<DataState> next_data_state(DataState from, ClientEvent event) {
    if (const auto* t = find_transition(kDataTransitions, from, event)) return t->to;
    return std::nullopt;
}

std::string render_client_state_diagram() {
    MermaidStateDiagram d;
    d.open("control", "control connection")
        .entry(to_string(C::Connecting))
        .rows(kControlTransitions)
        .exit(to_string(C::Closed))
        .close();
    d.open("data", "data connection").entry(to_string(D::NoData)).rows(kDataTransitions).close();
    return d.text();
}

// ---- ReplyReader ------------------------------------------------------------------------------

std::optional<ServerReply> ReplyReader::next(std::string* error) {
    for (;;) {
        ReplyView view;
        const ParseResult r = parse_reply(buffer_, view);
        if (r.status == ParseStatus::NeedMore) return std::nullopt;
        if (r.status == ParseStatus::Ok) {
            ServerReply reply{view.code,
                              std::string(view.multiline ? view.last_text : view.first_text),
                              std::string(view.raw)};
            buffer_.erase(0, r.consumed);
            return reply;
        }
        // Drop the offending line so one bad line does not wedge the session.
        if (error != nullptr) *error = std::string("unparsable reply: ") + to_string(r.error);
        const auto nl = buffer_.find('\n');
        buffer_.erase(0, nl == std::string::npos ? buffer_.size() : nl + 1);
    }
}

// ---- ClientSession: construction, inputs, outputs ---------------------------------------------

ClientSession::ClientSession(ClientConfig config)
    : config_(std::move(config)),
      mode_(config_.mode == DataMode::Auto ? config_.profile.default_mode : config_.mode) {
    if (config_.profile.assumes_ascii_default) current_type_ = 'A';
    resume_known_ = config_.resume_at.has_value();
    // Endpoints known at construction mean the control connection is already up.
    if (config_.control) {
        control_ends_ = *config_.control;
        fire(E::Connected);
    }
}

void ClientSession::on_connected(HostPort local, HostPort remote, Time now) {
    now_ = now;
    control_ends_ = {local, remote};
    fire(E::Connected);
    if (config_.profile.reply_timeout > 0) reply_deadline_ = now_ + config_.profile.reply_timeout;
}

void ClientSession::receive_control(std::string_view bytes, Time now) {
    now_ = now;
    // The socket timeout runs per read: any bytes start it again.
    if (config_.profile.reply_timeout > 0 && !bytes.empty()) reply_deadline_ = now_ + config_.profile.reply_timeout;
    replies_.feed(bytes);
    std::string error;
    while (auto reply = replies_.next(&error)) {
        if (!error.empty()) protocol_error(std::exchange(error, {}));
        on_reply(*reply);
    }
    if (!error.empty()) protocol_error(error);
}

void ClientSession::on_control_closed(Time now) {
    now_ = now;
    if (control_ == C::Closed) return;
    if (control_ != C::AwaitQuitReply && action_) {
        result_.ok = false;
        if (result_.failure.empty()) result_.failure = "the server closed the control connection";
    }
    fire(E::ConnectionLost);
    release_data();
    if (action_) finish_action();
    steps_.clear();
    stop_script_ = true;
}

std::optional<Action> ClientSession::poll_action() {
    if (actions_.empty()) return std::nullopt;
    Action a = std::move(actions_.front());
    actions_.pop_front();
    return a;
}

std::vector<Action> ClientSession::take_actions() {
    std::vector<Action> out(std::make_move_iterator(actions_.begin()), std::make_move_iterator(actions_.end()));
    actions_.clear();
    return out;
}

bool ClientSession::finished() const {
    if (control_ == C::Closed) return true;
    return control_ == C::Ready && !action_ && steps_.empty() && data_.state == D::NoData &&
           (stop_script_ || next_action_ >= config_.script.size());
}

Time ClientSession::next_expiry() const {
    return std::min({accept_deadline_, connect_deadline_, wait_deadline_,
                     awaiting_reply() ? reply_deadline_ : kNever});
}

// The states in which the client reads the control connection and nothing else (the reply
// timeout's reach). Not AwaitCompletion: the transfer's own data connection is read then.
bool ClientSession::awaiting_reply() const {
    return control_ == C::AwaitGreeting || control_ == C::AwaitReply || control_ == C::AwaitPreliminary ||
           control_ == C::AwaitQuitReply;
}

// profile.reply_timeout passed without a reply (the textbook client's socket timeout): it gives
// up, writes QUIT and closes at once; it does not read the answer (Python's socket file cannot be
// read after a timeout, and ftplib's "with" block swallows that error).
void ClientSession::on_reply_timeout() {
    const Time t = config_.profile.reply_timeout;
    reply_deadline_ = kNever;
    const bool quitting = control_ == C::AwaitQuitReply;
    std::string what = "the greeting";
    if (in_flight_) {
        const std::string& line = in_flight_->sent.empty() ? in_flight_->command : in_flight_->sent;
        what = "the reply to " + line.substr(0, line.find(' '));
    } else if (control_ != C::AwaitGreeting) {
        what = "a reply";
    }
    const std::string why = what + " did not come within " + std::to_string(t / 1'000'000'000) +
                            " s (the client's timeout)";
    emit(Explain{"the client gives up: " + why +
                     (quitting ? std::string("; it closes the connection")
                               : std::string("; it writes QUIT and closes without reading the answer")),
                 ExplainKind::GiveUp, t});
    if (action_) {
        result_.ok = false;
        if (result_.failure.empty()) result_.failure = why;
    }
    steps_.clear();
    release_data();
    if (action_) finish_action();
    stop_script_ = true;
    in_flight_.reset();
    if (!quitting) {
        last_sent_ = "QUIT";
        emit(SendControl{"QUIT\r\n"});
    }
    if (fire(E::Abandon)) emit(CloseControl{});
}

void ClientSession::on_timer(Time now) {
    now_ = now;
    if (now >= wait_deadline_) {
        // The "wait" action is over: advance() finishes it and starts the next one.
        wait_deadline_ = kNever;
        explain("the wait is over");
    }
    if (now >= connect_deadline_) {
        connect_deadline_ = kNever;
        if (data_.state == D::ConnectRequested) {
            emit(CloseData{data_.id, true});
            const std::string why = "the data connection to " + data_.target.to_string() + " was not up within " +
                                    std::to_string(config_.profile.connect_timeout / 1'000'000'000) +
                                    " s (the client's connect timeout)";
            emit(Explain{why, ExplainKind::Other, config_.profile.connect_timeout});
            if (fire(E::ConnectFailed)) on_data_failure(why);
        }
    }
    if (awaiting_reply() && now >= reply_deadline_) on_reply_timeout();
    if (now >= accept_deadline_) {
        accept_deadline_ = kNever;
        if (data_.state == D::Listening)
            on_data_failure("the server did not connect to " + data_.listening.to_string() +
                            " within the accept timeout");
    }
    advance();
}

void ClientSession::protocol_error(std::string text) {
    explain("protocol error: " + text);
    protocol_errors_.push_back(std::move(text));
}

bool ClientSession::fire(ClientEvent event) {
    if (is_data_event(event)) {
        if (auto next = next_data_state(data_.state, event)) {
            data_.state = *next;
            return true;
        }
        protocol_error(std::string("data connection: ") + to_string(event) + " in " +
                       to_string(data_.state));
        return false;
    }
    if (auto next = next_control_state(control_, event)) {
        control_ = *next;
        return true;
    }
    protocol_error(std::string("control connection: ") + to_string(event) + " in " +
                   to_string(control_));
    return false;
}

// ---- The script, one user action at a time ------------------------------------------------------

void ClientSession::advance() {
    while (control_ == C::Ready && !waiting_for_data() && wait_deadline_ == kNever) {
        if (steps_.empty()) {
            if (action_) finish_action();
            if (!start_next_action()) return;
            continue;
        }
        Step step = std::move(steps_.front());
        steps_.pop_front();
        execute(std::move(step));
    }
}

bool ClientSession::waiting_for_data() const {
    switch (data_.state) {
        case D::ListenRequested:
        case D::ConnectRequested:
        case D::SpdtHandshake: return true;
        default: return transfer_sent_ && !transfer_data_done();
    }
}

// The transfer is over on the data side when its connection is closed (or never came).
bool ClientSession::transfer_data_done() const { return data_.state == D::NoData; }

bool ClientSession::start_next_action() {
    if (stop_script_ || next_action_ >= config_.script.size()) return false;
    // A resumed session (lftp's retry of a failed transfer) logs in again and goes on at the
    // failed action; what came between was done on the earlier connection.
    if (config_.resume_at)
        while (next_action_ < *config_.resume_at && next_action_ < config_.script.size() &&
               config_.script[next_action_].kind != UserAction::Kind::Login)
            ++next_action_;
    if (next_action_ >= config_.script.size()) return false;
    const UserAction& action = config_.script[next_action_++];
    action_ = action;
    result_ = ActionResult{};
    result_.action = action;
    result_.ok = true;
    switched_mode_ = false;
    connect_budget_end_ = kNever;
    using K = UserAction::Kind;
    switch (action.kind) {
        case K::Login: plan_login(action); break;
        case K::List:
        case K::Get:
        case K::Put:
        case K::Append: plan_transfer(action, mode_); break;
        case K::Cwd: steps_.push_back({Step::Kind::Command, "CWD " + action.path, true}); break;
        case K::Pwd: steps_.push_back({Step::Kind::Command, "PWD", true}); break;
        case K::Raw:
            if (!raw_transfer_verb(action.path).empty()) {
                // A transfer verb typed by hand: sent as-is, awaited as a transfer (1yz, then
                // the final reply), with no PORT/PASV and no data connection of the client's.
                upload_ = upload_sent_ = false;
                preliminary_seen_ = final_seen_ = false;
                raw_transfer_ = true;
                steps_.push_back({Step::Kind::Transfer, action.path, false, true});
                break;
            }
            steps_.push_back({Step::Kind::Command, action.path, false});
            break;
        case K::Wait:
            if (action.duration > 0) {
                wait_deadline_ = action.duration > kNever - now_ ? kNever - 1 : now_ + action.duration;
                explain("the client waits " + format_wait_duration(action.duration));
            }
            break;
        case K::Quit: steps_.push_back({Step::Kind::Quit, "QUIT", true}); break;
    }
    return true;
}

void ClientSession::plan_login(const UserAction& action) {
    // lftp asks for the server's features before it logs in (211, or 500 where unknown).
    if (config_.profile.feat_before_login) steps_.push_back({Step::Kind::Command, "FEAT", false});
    steps_.push_back({Step::Kind::Login, "USER " + action.path, true});
    if (config_.profile.syst_after_login) steps_.push_back({Step::Kind::Command, "SYST", false});
    if (config_.profile.pwd_after_login && !config_.resume_at)
        steps_.push_back({Step::Kind::Command, "PWD", false});
    // RFC 2428 section 4: after "EPSV ALL" the server refuses PORT, PASV, EPRT.
    if (mode_ == DataMode::EpsvAll) steps_.push_back({Step::Kind::Command, "EPSV ALL", true});
}

namespace {

std::string data_setup_verb(DataMode mode, bool upload) {
    if (mode == DataMode::Lstn) return upload ? "LSTN R" : "LSTN S";  // the server's direction
    if (mode == DataMode::Auto) return "PASV";
    return std::string(data_setup_command(mode));
}

bool is_active_verb(const std::string& verb) {
    return verb.empty() || verb == "PORT" || verb == "EPRT" || verb == "SOCK";
}

std::string transfer_command(const UserAction& action) {
    using K = UserAction::Kind;
    switch (action.kind) {
        case K::List: return action.path.empty() ? "LIST" : "LIST " + action.path;
        case K::Get: return "RETR " + action.path;
        case K::Put: return "STOR " + action.path;
        case K::Append: return "APPE " + action.path;
        default: return {};
    }
}

// Deterministic upload content: the same script always moves the same bytes.
std::string upload_bytes(std::uint64_t size) {
    std::string bytes(size, '\0');
    for (std::uint64_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
    return bytes;
}

}  // namespace

void ClientSession::plan_transfer(const UserAction& action, DataMode mode) {
    using K = UserAction::Kind;
    const bool upload = action.kind == K::Put || action.kind == K::Append;
    const char type = action.kind == K::List ? 'A' : 'I';
    std::deque<Step> type_and_size;
    if (config_.profile.type_policy == TypePolicy::EveryTransfer || current_type_ != type) {
        type_and_size.push_back({Step::Kind::Command, std::string("TYPE ") + type, true});
        current_type_ = type;
    }
    // A resumed transfer (lftp's retry) already knows the file's size and date.
    const bool known = std::exchange(resume_known_, false);
    if (action.kind == K::Get && config_.profile.size_before_retr && !known)
        type_and_size.push_back({Step::Kind::Command, "SIZE " + action.path, false});
    if (action.kind == K::Get && config_.profile.mdtm_before_retr && !known)
        type_and_size.push_back({Step::Kind::Command, "MDTM " + action.path, false});
    // On IPv6: EPRT for PORT, and EPSV for PASV where the profile says so (client_profile.hpp).
    mode = mode_on_family(config_.profile, mode, !control_ends_.local.addr.is_v4());
    const Step setup{Step::Kind::DataSetup, data_setup_verb(mode, upload), true};
    if (config_.profile.data_setup_before_type) steps_.push_back(setup);
    for (auto& s : type_and_size) steps_.push_back(std::move(s));
    if (!config_.profile.data_setup_before_type) steps_.push_back(setup);
    steps_.push_back({Step::Kind::Transfer, transfer_command(action), true});
    upload_ = upload;
    upload_sent_ = false;
    raw_transfer_ = false;
    preliminary_seen_ = final_seen_ = false;
    data_reset_ = false;
}

void ClientSession::execute(Step step) {
    switch (step.kind) {
        case Step::Kind::Login:
        case Step::Kind::Command: send_command(step, E::SendCommand); return;
        case Step::Kind::Quit: send_command(step, E::SendQuit); return;
        case Step::Kind::Transfer:
            transfer_sent_ = true;
            preliminary_seen_ = final_seen_ = data_reset_ = false;
            send_command(step, E::SendTransferCommand);
            if (data_.state == D::Listening && config_.profile.accept_timeout > 0)
                accept_deadline_ = now_ + config_.profile.accept_timeout;
            return;
        case Step::Kind::DataSetup:
            data_.setup_verb = step.command;
            if (!is_active_verb(step.command)) {
                send_command(step, E::SendCommand);
                return;
            }
            if (data_.state == D::NoData) {
                // Listen first: PORT must announce the port the listener got.
                request_listen();
                steps_.push_front(std::move(step));
                return;
            }
            announce_listener(step);
            return;
    }
}

// `line` is what goes on the wire when it is more than the step's verb (PORT h1,...,p2).
void ClientSession::send_command(const Step& step, ClientEvent event, const std::string& line) {
    const std::string& text = line.empty() ? step.command : line;
    if (const ParseError why = unsendable(text); why != ParseError::None) {
        // The caller's mistake (h11's LocalProtocolError): nothing goes on the wire.
        protocol_errors_.push_back(std::string("refused to send a command: ") + to_string(why));
        fail_action(unsendable_reason(why), FailurePolicy::Continue);
        return;
    }
    if (!fire(event)) return;
    in_flight_ = step;
    in_flight_->sent = text;
    last_sent_ = text;
    if (config_.profile.reply_timeout > 0) reply_deadline_ = now_ + config_.profile.reply_timeout;
    emit(SendControl{text + "\r\n"});
}

void ClientSession::finish_action() {
    if (listing_) result_.received = std::exchange(listing_, nullptr)->text();
    download_.reset();
    results_.push_back(std::move(result_));
    result_ = {};
    action_.reset();
    transfer_sent_ = false;
    raw_transfer_ = false;
    accept_deadline_ = kNever;
    wait_deadline_ = kNever;
}

// A failure caused by a reply: that reply is kept as the one that ended the action.
void ClientSession::fail_on_reply(const Step& step, const ServerReply& reply, std::string why,
                                  FailurePolicy policy) {
    if (action_) {
        result_.failed_reply = reply.code;
        result_.failed_reply_text = reply.text;
        result_.failed_command = step.sent.empty() ? step.command : step.sent;
    }
    fail_action(std::move(why), policy);
}

void ClientSession::fail_action(std::string why, FailurePolicy policy) {
    explain(ExplainKind::GiveUp, "the client gives up: " + why + " (" + std::string(config_.profile.name) + ": " +
            to_string(policy) + ")");
    if (action_) {
        result_.ok = false;
        if (result_.failure.empty()) result_.failure = std::move(why);
    }
    steps_.clear();
    release_data();
    if (action_) finish_action();
    switch (policy) {
        case FailurePolicy::Continue: break;
        case FailurePolicy::Quit:
            stop_script_ = true;
            steps_.push_back({Step::Kind::Quit, "QUIT", true});
            break;
        case FailurePolicy::Abandon:
            stop_script_ = true;
            if (fire(E::Abandon)) emit(CloseControl{});
            break;
    }
}

// ---- Replies ------------------------------------------------------------------------------------

void ClientSession::on_reply(const ServerReply& reply) {
    const ControlState before = control_;
    if (!fire(reply_event(reply.code))) return;
    if (before == C::AwaitGreeting) {
        on_greeting(reply);
    } else if (before == C::AwaitQuitReply) {
        in_flight_.reset();
        emit(CloseControl{});
        if (action_) {
            result_.reply_code = reply.code;
            result_.reply_text = reply.text;
            finish_action();
        }
    } else if (in_flight_) {
        const Step step = *in_flight_;
        if (control_ == C::Ready) in_flight_.reset();
        on_step_reply(step, reply);
    }
    if (reply.code == 421 && control_ != C::Closed) on_service_closing(reply);
    advance();
}

// RFC 959 4.2: 421 means the server is closing the control connection; QUIT would be pointless.
void ClientSession::on_service_closing(const ServerReply& reply) {
    if (action_) {
        result_.ok = false;
        if (result_.failure.empty())
            result_.failure = "the server is closing the session: 421 " + reply.text;
        if (result_.failed_reply == 0) {
            result_.failed_reply = reply.code;
            result_.failed_reply_text = reply.text;
            result_.failed_command = last_sent_;
        }
        finish_action();
    }
    steps_.clear();
    stop_script_ = true;
    release_data();
    if (fire(E::Abandon)) emit(CloseControl{});
}

void ClientSession::on_greeting(const ServerReply& reply) {
    if (control_ == C::AwaitGreeting) return;  // 120: the real greeting follows
    if (!positive(reply.code) && reply.code != 421) {
        // 421 "Too many users" (draft-rosenau 5): nothing can be done on this connection.
        stop_script_ = true;
        explain("the server refused the session: " + std::to_string(reply.code) + " " + reply.text);
        if (fire(E::Abandon)) emit(CloseControl{});
    }
}

void ClientSession::on_step_reply(const Step& step, const ServerReply& reply) {
    // A transfer's reply_code is its transfer command's final reply, never PORT's or SIZE's.
    const bool transfer_action = action_ && !transfer_verb(*action_).empty();
    if (reply.code / 100 != 1 && (!transfer_action || step.kind == Step::Kind::Transfer)) {
        result_.reply_code = reply.code;
        result_.reply_text = reply.text;
    }
    track_security(step, reply);
    switch (step.kind) {
        case Step::Kind::Login: on_login_reply(step, reply); return;
        case Step::Kind::DataSetup: on_data_setup_reply(step, reply); return;
        case Step::Kind::Transfer: on_transfer_reply(step, reply); return;
        case Step::Kind::Command:
            if (reply.code / 100 == 1) return;
            if (step.must_succeed && !positive(reply.code))
                fail_on_reply(step, reply,
                              step.command + " refused: " + std::to_string(reply.code) + " " +
                                  reply.text,
                              config_.profile.on_negative_reply);
            return;
        case Step::Kind::Quit: return;
    }
}

// RFC 4217: the control channel is TLS from the 234 to AUTH until the 200 to CCC; PROT P
// protects the data connections, PROT C clears them. The server flips at the same replies.
void ClientSession::track_security(const Step& step, const ServerReply& reply) {
    std::string line = step.command;
    for (char& c : line)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const auto space = line.find(' ');
    const std::string verb = line.substr(0, space);
    const std::string arg = space == std::string::npos ? std::string{} : line.substr(space + 1);
    if (verb == "AUTH" && reply.code == 234 && !control_encrypted_) {
        control_encrypted_ = true;
        explain("234: from here on the control connection carries TLS records (RFC 4217); "
                "a middlebox can no longer read PORT, 227 or 229");
    } else if (verb == "CCC" && reply.code == 200 && control_encrypted_) {
        control_encrypted_ = false;
        explain("200 to CCC: the control connection is clear text again (RFC 4217 12.3)");
    } else if (verb == "PROT" && reply.code / 100 == 2) {
        data_protected_ = arg != "C";
        explain(data_protected_ ? "PROT " + arg + " accepted: data connections are TLS-protected"
                                : std::string("PROT C accepted: data connections are clear"));
    }
}

void ClientSession::on_login_reply(const Step& step, const ServerReply& reply) {
    if (reply.code == 331) {
        // RFC 959 5.4: USER -> 331 -> PASS.
        std::string password = action_ ? action_->password : std::string{};
        if (password.empty()) password = config_.profile.anonymous_password;
        steps_.push_front({Step::Kind::Command, "PASS " + password, true});
        return;
    }
    if (reply.code / 100 != 2)
        fail_on_reply(step, reply,
                      "login refused: " + std::to_string(reply.code) + " " + reply.text,
                      config_.profile.on_negative_reply);
}

void ClientSession::on_data_setup_reply(const Step& step, const ServerReply& reply) {
    const std::string& verb = step.command;
    if (!positive(reply.code) || reply.code / 100 == 3) {
        if (fall_back(verb, true)) return;
        release_data();
        if (verb == "EPRT" && config_.profile.eprt_falls_back_to_port &&
            config_.profile.port_fallback_stalls_on_ipv6 && !control_ends_.local.addr.is_v4()) {
            stall(step, reply);
            return;
        }
        if (config_.profile.on_data_command_refused == FailurePolicy::Abandon)
            request_transfer_retry(verb, true);
        fail_on_reply(step, reply,
                      verb + " refused: " + std::to_string(reply.code) + " " + reply.text,
                      config_.profile.on_data_command_refused);
        return;
    }
    if (reply.code / 100 == 1) return;
    if (is_active_verb(verb)) return;  // the listener is announced; the transfer command follows
    std::optional<HostPort> target;
    if (verb == "PASV") {
        if (auto announced = parse_227_text(reply.text)) target = pasv_target(*announced);
    } else if (verb == "EPSV") {
        // RFC 2428: the 229 reply carries only the port; the host is the control peer.
        if (auto port = parse_229_text(reply.text))
            target = HostPort{control_ends_.remote.addr, *port};
    } else if (verb == "SPSV") {
        if (auto id = parse_spsv_227_text(reply.text)) {
            data_.spdt_id = std::string(*id);
            connect_to(control_ends_.remote, true);
            return;
        }
    } else if (verb.starts_with("LSTN")) {
        // RFC 438: the 255 reply names the socket the server listens on.
        if (auto socket = parse_255_text(reply.text); socket && *socket <= 0xffff)
            target = HostPort{control_ends_.remote.addr, static_cast<std::uint16_t>(*socket)};
    }
    if (!target) {
        release_data();
        fail_on_reply(step, reply,
                      "cannot read the address in \"" + std::to_string(reply.code) + " " +
                          reply.text + "\"",
                      config_.profile.on_negative_reply);
        return;
    }
    connect_to(*target, false);
}

void ClientSession::on_transfer_reply(const Step& step, const ServerReply& reply) {
    // A 1yz may come before the server connects (RFC 959's order): keep waiting then.
    if (reply.code / 100 != 1) accept_deadline_ = kNever;
    if (reply.code / 100 == 1) {
        preliminary_seen_ = true;
        maybe_upload();
        return;
    }
    final_seen_ = true;
    if (reply.code / 100 == 2) {
        // A 2yz does not make a broken transfer good: curl (CURLE_RECV_ERROR) and ftplib (the
        // socket error) fail when the data connection was reset, or when the server announced
        // the transfer (1yz) but no data connection ever opened.
        const bool never_opened = preliminary_seen_ && !step.raw &&
                                  (data_.state == D::ListenRequested || data_.state == D::Listening ||
                                   data_.state == D::ConnectRequested || data_.state == D::SpdtHandshake);
        // Normally advance() now waits for the server to close the data connection. A
        // connection the transfer never used (no 1yz, or the server never connected) would
        // never close: the client closes it.
        if (!preliminary_seen_ || data_.state != D::Open) release_data();
        if (!step.raw && (data_reset_ || never_opened)) {
            fail_action(std::string(data_reset_ ? "the data connection was reset"
                                                : "no data connection was opened") +
                            ", although the server answered " + std::to_string(reply.code) + " " + reply.text,
                        config_.profile.on_data_failure);
        }
        return;
    }
    // A raw transfer line only reports: the user typed it, the profile's policy is not asked.
    if (step.raw) {
        fail_on_reply(step, reply,
                      step.command + " failed: " + std::to_string(reply.code) + " " + reply.text,
                      FailurePolicy::Continue);
        return;
    }
    // 425 "Can't open data connection": the server could not reach the client's listener.
    if (reply.code == 425 && config_.profile.switch_mode_on_data_failure && !switched_mode_) {
        release_data();
        transfer_sent_ = false;
        fall_back(data_.setup_verb, false);
        return;
    }
    fail_on_reply(step, reply,
                  step.command + " failed: " + std::to_string(reply.code) + " " + reply.text,
                  config_.profile.on_negative_reply);
}

// curl 7.88 after a refused EPRT on an IPv6 control connection (ftp.c ftp_state_use_port): it
// goes on to PORT, skips it since PORT cannot carry an IPv6 address, and sends nothing, yet waits
// for PORT's reply. The action has failed on the EPRT's reply; no QUIT follows. --max-time (exit
// 28), the server's 421 or a lost connection end the session. Measured by the rig.
void ClientSession::stall(const Step& step, const ServerReply& reply) {
    explain(std::string(config_.profile.name) + " would fall back from EPRT to PORT, but PORT cannot carry an "
            "IPv6 address: it sends nothing and waits for a reply that will not come (no QUIT)");
    if (action_) {
        result_.ok = false;
        if (result_.failure.empty())
            result_.failure = "EPRT refused: " + std::to_string(reply.code) + " " + reply.text +
                              "; no PORT on IPv6, the client stalls";
        result_.failed_reply = reply.code;
        result_.failed_reply_text = reply.text;
        result_.failed_command = step.sent.empty() ? step.command : step.sent;
    }
    steps_.clear();
    stop_script_ = true;
    fire(E::Stall);
}

// The profile's fallbacks. True when a new plan replaced the failed one.
bool ClientSession::fall_back(const std::string& failed_verb, bool reply_refused) {
    const ClientProfile& p = config_.profile;
    // On IPv6 there is nothing to fall back to: PASV and PORT cannot carry the address.
    const bool extended_only = p.extended_on_ipv6 && !control_ends_.local.addr.is_v4();
    if (failed_verb == "EPSV" && mode_ != DataMode::EpsvAll && !extended_only &&
        (reply_refused ? p.epsv_falls_back_to_pasv : p.epsv_connect_falls_back_to_pasv)) {
        explain(ExplainKind::FallBack, std::string(p.name) + " falls back from EPSV to PASV");
        steps_.push_front({Step::Kind::DataSetup, "PASV", true});
        return true;
    }
    if (failed_verb == "EPRT" && reply_refused && p.eprt_falls_back_to_port && control_ends_.local.addr.is_v4()) {
        explain(ExplainKind::FallBack, std::string(p.name) + " falls back from EPRT to PORT");
        steps_.push_front({Step::Kind::DataSetup, "PORT", true});
        return true;
    }
    if (!reply_refused && p.switch_mode_on_data_failure && !switched_mode_ && action_) {
        switched_mode_ = true;
        const DataMode other = is_active_verb(failed_verb) ? DataMode::Pasv : DataMode::Port;
        explain(ExplainKind::Retry, std::string(p.name) + " retries the transfer in " + to_string(other) + " mode");
        steps_.clear();
        plan_transfer(*action_, other);
        return true;
    }
    return false;
}

// ---- The data connection ----------------------------------------------------------------------

void ClientSession::request_listen() {
    if (!fire(E::RequestListen)) return;
    data_.id = next_data_id_++;
    Listen listen{data_.id, control_ends_.local.addr, 0, 0};
    if (data_.setup_verb.empty()) {
        // RFC 959 3.2: with no PORT the server connects to the user's control port U.
        listen.port_lo = listen.port_hi = control_ends_.local.port;
    }
    emit(listen);
}

void ClientSession::announce_listener(const Step& step) {
    const HostPort listening{control_ends_.local.addr, data_.listening.port};
    const HostPort announced{step.command.empty() ? listening.addr
                                                  : config_.announce_address.value_or(listening.addr),
                             listening.port};
    if (step.command.empty()) {
        explain("no PORT: the client listens on its own control port " + announced.to_string() +
                " and the server will connect from its port 20 (RFC 959 3.2)");
        return;
    }
    std::string line = step.command + " ";
    if (step.command == "PORT") line += format_port_arg(announced);
    else if (step.command == "EPRT") line += format_eprt_arg(announced);
    else line += announced.addr.to_string() + "," + std::to_string(announced.port);  // SOCK
    explain("the client listens on " + listening.to_string() + " and announces " +
            (announced == listening ? std::string("it") : announced.to_string() + " (its configured address)") +
            " with " + step.command);
    send_command(step, E::SendCommand, line);
}

HostPort ClientSession::pasv_target(const HostPort& announced) {
    const HostPort peer{control_ends_.remote.addr, announced.port};
    const auto& a = announced.addr;
    const auto& c = control_ends_.remote.addr;
    const std::string who(config_.profile.name);
    switch (config_.profile.pasv_address) {
        case PasvAddressPolicy::Trust:
            explain(who + " trusts the 227 address and connects to " + announced.to_string());
            return announced;
        case PasvAddressPolicy::UseControlPeer:
            if (a != c)
                explain(who + " ignores the 227 address " + a.to_string() +
                        " and connects to the control peer " + peer.to_string());
            return peer;
        case PasvAddressPolicy::FixPrivate:
            if (a.is_unspecified() || a.is_private() != c.is_private()) {
                explain(who + " replaces the 227 address " + a.to_string() +
                        " with the control peer's (ftp:fix-pasv-address): " + peer.to_string());
                return peer;
            }
            return announced;
        case PasvAddressPolicy::SubstituteUnroutable:
            if (a.is_unspecified() || (a.is_private() && !c.is_private())) {
                explain(who + " substitutes the unroutable 227 address " + a.to_string() +
                        " with the server's address " + peer.to_string());
                return peer;
            }
            return announced;
    }
    return announced;
}

void ClientSession::connect_to(HostPort target, bool single_port) {
    if (!fire(E::RequestConnect)) return;
    data_.id = next_data_id_++;
    data_.target = target;
    data_.spdt_id = single_port ? data_.spdt_id : std::string{};
    data_.spdt_replies = {};
    const ClientProfile& p = config_.profile;
    if (p.connect_timeout > 0 && p.connect_timeout_shared) {
        if (connect_budget_end_ == kNever) connect_budget_end_ = now_ + p.connect_timeout;
        if (now_ >= connect_budget_end_) {
            // curl: the connect budget was spent on the EPSV connection; no SYN is sent.
            emit(Explain{std::string(p.name) + "'s connect timeout (" +
                             std::to_string(p.connect_timeout / 1'000'000'000) +
                             " s) is one budget for the transfer's data connections, and the earlier one spent it",
                         ExplainKind::Other, p.connect_timeout});
            const std::string why = "the data connection to " + target.to_string() +
                                    " was not tried: the connect timeout is spent";
            if (fire(E::ConnectFailed)) on_data_failure(why);
            return;
        }
    }
    if (single_port)
        explain("the client opens a second connection to the control port " +
                target.to_string() + " and will send SPDT " + data_.spdt_id);
    else
        explain("the client opens the data connection to " + target.to_string() + " (" +
                data_.setup_verb + ")");
    emit(Connect{data_.id, target, std::nullopt, single_port});
    connect_deadline_ = p.connect_timeout == 0 ? kNever
                        : p.connect_timeout_shared ? connect_budget_end_
                                                   : now_ + p.connect_timeout;
}

void ClientSession::on_data_event(const DataEvent& event, Time now) {
    now_ = now;
    std::visit(
        [this](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if (e.id != data_.id || data_.state == D::NoData) {
                // Late news about a connection this side already closed is normal (the
                // peer's FIN after ours); an id never handed out is not.
                if (e.id == 0 || e.id >= next_data_id_)
                    protocol_error("data event for an unknown connection " + std::to_string(e.id));
                return;
            }
            if constexpr (std::is_same_v<T, DataListening>) {
                if (fire(E::ListenReady)) data_.listening = e.local;
            } else if constexpr (std::is_same_v<T, DataListenFailed>) {
                if (fire(E::ListenFailed)) on_data_failure("no free port to listen on");
            } else if constexpr (std::is_same_v<T, DataConnected>) {
                on_data_connected(e);
            } else if constexpr (std::is_same_v<T, DataRefused>) {
                data_refused_ = true;
                if (fire(E::ConnectFailed))
                    on_data_failure("the data connection to " + data_.target.to_string() +
                                    " was refused");
            } else if constexpr (std::is_same_v<T, DataTimedOut>) {
                if (fire(E::ConnectFailed))
                    on_data_failure("the data connection to " + data_.target.to_string() +
                                    " timed out");
            } else if constexpr (std::is_same_v<T, DataBytes>) {
                on_data_bytes(e);
            } else if constexpr (std::is_same_v<T, DataStored>) {
                if (data_.state == D::Open) result_.bytes_received += e.bytes;
            } else if constexpr (std::is_same_v<T, DataClosed>) {
                const bool handshake = data_.state == D::SpdtHandshake;
                if (fire(E::PeerClosed)) emit(CloseData{data_.id, false});
                if (handshake) on_data_failure("the server closed the SPDT connection");
            } else if constexpr (std::is_same_v<T, DataReset>) {
                if (fire(E::DataReset) && transfer_sent_) data_reset_ = true;
            }  // DataDrained: the client waits for the server's reply, not for its own ACKs
        },
        event);
    advance();
}

void ClientSession::on_data_connected(const DataConnected& e) {
    connect_deadline_ = kNever;
    const bool accepted = data_.state == D::Listening;
    const bool single_port = !data_.spdt_id.empty() && data_.state == D::ConnectRequested;
    if (!fire(single_port ? E::SinglePortConnected : E::DataConnected)) return;
    if (accepted) {
        accept_deadline_ = kNever;
        // One connection per listener: close it now, as curl and ftplib do after accept().
        emit(StopListening{data_.id});
        explain("the server connected from " + e.remote.to_string() + " to " +
                e.local.to_string());
    }
    maybe_upload();
    maybe_receive();
}

void ClientSession::on_data_bytes(const DataBytes& e) {
    if (data_.state != D::SpdtHandshake) {
        if (data_.state == D::Open) {
            result_.received += e.bytes;
            result_.bytes_received += e.bytes.size();
        }
        return;
    }
    data_.spdt_replies.feed(e.bytes);
    std::string error;
    while (data_.state == D::SpdtHandshake) {
        auto reply = data_.spdt_replies.next(&error);
        if (!error.empty()) protocol_error(std::exchange(error, {}));
        if (!reply) return;
        on_spdt_reply(*reply);
    }
    // Bytes after "200 DATA" in the same segment are already file data.
    if (data_.state != D::Open) return;
    const std::string rest = data_.spdt_replies.take_buffer();
    result_.bytes_received += rest.size();
    if (download_) download_->write(rest);
    else if (listing_) listing_->write(rest);
    else result_.received += rest;
}

// draft-rosenau 3.2: greeting, "SPDT id", then exactly "200 DATA"; 504 for a bad identifier.
void ClientSession::on_spdt_reply(const ServerReply& reply) {
    if (reply.code == 220) {
        emit(SendData{data_.id, "SPDT " + data_.spdt_id + "\r\n"});
        return;
    }
    if (reply.code == 200) {
        fire(E::SpdtAccepted);
        explain("\"200 DATA\": the second connection is the data connection now");
        maybe_receive();
        return;
    }
    if (reply.code / 100 == 1) return;
    if (fire(E::ConnectFailed)) emit(CloseData{data_.id, false});
    on_data_failure("SPDT refused: " + std::to_string(reply.code) + " " + reply.text);
}

void ClientSession::on_data_failure(std::string why) {
    explain(why);
    const std::string verb = data_.setup_verb;
    release_data();
    if (transfer_sent_) {
        // The transfer command is out: its reply (425/426) ends the action.
        result_.failure = why;
        if (config_.profile.on_data_failure == FailurePolicy::Abandon)
            fail_action(std::move(why), FailurePolicy::Abandon);
        return;
    }
    const bool refused = std::exchange(data_refused_, false);
    if (fall_back(verb, false)) return;
    if (config_.profile.on_data_failure == FailurePolicy::Abandon) request_transfer_retry(verb, refused);
    fail_action(std::move(why), config_.profile.on_data_failure);
}

// lftp: the failed transfer is tried again on a new control connection (the caller decides
// whether tries are left). ftp:auto-passive-mode turns a refusal into the other mode; a timeout
// keeps the mode.
void ClientSession::request_transfer_retry(const std::string& failed_verb, bool refused) {
    const ClientProfile& p = config_.profile;
    if (!p.retries_failed_transfer || !action_ || transfer_verb(*action_).empty() || next_action_ == 0) return;
    TransferRetry r;
    r.action_index = next_action_ - 1;
    r.mode = mode_;
    if (p.auto_passive_mode && refused) {
        r.mode = is_active_verb(failed_verb) ? DataMode::Pasv : DataMode::Port;
        r.switched = true;
    }
    explain(ExplainKind::Retry, std::string(p.name) + " retries the transfer on a new control connection while net:max-retries allows" +
                                    (r.switched ? ", in " + std::string(to_string(r.mode)) + " mode (ftp:auto-passive-mode)"
                                                : std::string(refused ? "" : ", in the same mode (a timeout does not switch it)")));
    transfer_retry_ = r;
}

void ClientSession::maybe_upload() {
    if (!upload_ || upload_sent_ || !preliminary_seen_ || data_.state != D::Open) return;
    upload_sent_ = true;
    std::uint64_t size = action_ ? action_->size : 0;
    if (config_.explicit_data_path) {
        auto source = config_.upload_source && action_ ? config_.upload_source(*action_) : upload_pattern_source(size);
        size = source ? source->size() : 0;
        if (size > 0) emit(SendFile{data_.id, std::move(source), 0});
    } else if (size > 0) {
        emit(SendData{data_.id, upload_bytes(size)});
    }
    result_.bytes_sent = size;
    // The end of the file is the end of the connection (stream mode, RFC 959 3.4.1).
    fire(E::CloseData);
    emit(CloseData{data_.id, false});
}

// A download's data connection is open: its bytes go into the destination (a listing into
// text the result keeps), and the session sees only their count (DataStored).
void ClientSession::maybe_receive() {
    if (!config_.explicit_data_path || upload_ || raw_transfer_ || data_.state != D::Open || !action_) return;
    if (download_ || listing_) return;
    std::shared_ptr<ContentSink> sink;
    // A listing is text the result keeps, unless the caller streams it (live mode: to stdout).
    if (action_->kind == UserAction::Kind::List && !config_.download_sink) {
        listing_ = std::make_shared<TextSink>();
        sink = listing_;
    } else {
        download_ = config_.download_sink ? config_.download_sink(*action_) : counting_sink();
        sink = download_;
    }
    emit(ReceiveInto{data_.id, std::move(sink)});
}

// Closes whatever the data side holds; used on failures.
void ClientSession::release_data() {
    switch (data_.state) {
        case D::ListenRequested:
        case D::Listening:
            if (fire(E::StopListening)) emit(StopListening{data_.id});
            break;
        case D::ConnectRequested:  // a connect still in progress is cancelled with a reset
        case D::SpdtHandshake:
        case D::Open: {
            const bool abort = data_.state == D::ConnectRequested;
            if (fire(E::CloseData)) emit(CloseData{data_.id, abort});
            break;
        }
        case D::NoData: break;
    }
    accept_deadline_ = kNever;
}

}  // namespace ftpsim::proto

// ---- ThirdPartyClient -------------------------------------------------------------------------

namespace ftpsim::proto {

const char* to_string(ThirdPartyDialect d) {
    switch (d) {
        case ThirdPartyDialect::Rfc959: return "rfc959";
        case ThirdPartyDialect::Rfc478: return "rfc478";
        case ThirdPartyDialect::Rfc438: return "rfc438";
    }
    return "?";
}

ThirdPartyClient::ThirdPartyClient(ThirdPartyConfig config) : config_(std::move(config)) {
    channels_[kReceiver].server = config_.receiver;
    channels_[kSender].server = config_.sender;
    plan();
}

void ThirdPartyClient::plan() {
    using K = Step::Kind;
    const auto& r = config_.receiver;
    const auto& s = config_.sender;
    // The hosts are filled in when the command goes out: on_connected may name them later.
    const std::string sock_r = "SOCK {receiver},", sock_s = "SOCK {sender},";
    const std::string stor = "STOR " + config_.destination_path;
    steps_.push_back({kReceiver, K::Login, "USER " + r.user});
    steps_.push_back({kSender, K::Login, "USER " + s.user});
    switch (config_.dialect) {
        case ThirdPartyDialect::Rfc959:  // RFC 959 section 5.2, the figure of the two servers
            steps_.push_back({kReceiver, K::Command, "TYPE I"});
            steps_.push_back({kSender, K::Command, "TYPE I"});
            steps_.push_back({kReceiver, K::Command, "PASV", Capture::Address227});
            steps_.push_back({kSender, K::Command, "PORT {pasv}"});
            steps_.push_back({kReceiver, K::Transfer, stor});
            steps_.push_back({kSender, K::Transfer, "RETR " + config_.source_path});
            break;
        case ThirdPartyDialect::Rfc478:  // "SOCK HOST-C SKT-Sc", "PASV", "STOR" | "RTRV"
            // RFC 478's table: both SOCKs first, each naming the other server's data socket
            // "as specified by the protocol" (the user knows Sb and Sc without asking), then
            // PASV to B, acknowledged plainly, then STOR at B and RTRV at C.
            steps_.push_back({kReceiver, K::Command, sock_s + std::to_string(s.data_socket)});
            steps_.push_back({kSender, K::Command, sock_r + std::to_string(r.data_socket)});
            steps_.push_back({kReceiver, K::Command, "PASV"});
            steps_.push_back({kReceiver, K::Transfer, stor});
            steps_.push_back({kSender, K::Transfer, "RTRV " + config_.source_path});
            break;
        case ThirdPartyDialect::Rfc438:  // LSTN R (X), SOCK SITE2,X (Y), SOCK SITE1,Y
            steps_.push_back({kReceiver, K::Command, "LSTN R", Capture::Socket255});
            steps_.push_back({kSender, K::Command, sock_r + "{socket0}", Capture::Socket255});
            steps_.push_back({kReceiver, K::Command, sock_s + "{socket1}"});
            // The receiver listens only once its transfer command arrives (RFC 438 b), so it
            // goes first; the sender's RETR then connects to a socket that is listening.
            steps_.push_back({kReceiver, K::Transfer, "APPE " + config_.destination_path});
            steps_.push_back({kSender, K::Transfer, "RETR " + config_.source_path});
            break;
    }
    steps_.push_back({kReceiver, K::Quit, "QUIT"});
    steps_.push_back({kSender, K::Quit, "QUIT"});
    // The outcome's two transfers: the receiver's first, then the sender's.
    for (ControlId c : {kReceiver, kSender})
        for (const Step& step : steps_)
            if (step.kind == K::Transfer && step.control == c) {
                const auto space = step.command.find(' ');
                ThirdPartyTransfer t;
                t.control = c;
                t.command = step.command.substr(0, space);
                if (space != std::string::npos) t.path = step.command.substr(space + 1);
                transfers_.push_back(std::move(t));
            }
}

void ThirdPartyClient::on_connected(ControlId control, HostPort local, HostPort remote, Time) {
    channels_[control].server.control = {local, remote};
    fire(control, E::Connected);
}

void ThirdPartyClient::receive_control(ControlId control, std::string_view bytes, Time) {
    Channel& ch = channels_[control];
    ch.replies.feed(bytes);
    std::string error;
    while (auto reply = ch.replies.next(&error)) on_reply(control, *reply);
    if (!error.empty()) protocol_errors_.push_back(error);
}

void ThirdPartyClient::on_control_closed(ControlId control, Time) {
    Channel& ch = channels_[control];
    if (ch.state == C::Closed) return;
    const bool expected = ch.state == C::AwaitQuitReply;
    fire(control, E::ConnectionLost);
    if (!expected) fail("server " + std::to_string(control) + " closed its control connection");
    advance();
}

std::optional<RoutedAction> ThirdPartyClient::poll_action() {
    if (actions_.empty()) return std::nullopt;
    RoutedAction a = std::move(actions_.front());
    actions_.pop_front();
    return a;
}

bool ThirdPartyClient::finished() const {
    for (const auto& ch : channels_)
        if (ch.state != C::Closed && !(ch.state == C::Ready && steps_.empty())) return false;
    return true;
}

bool ThirdPartyClient::fire(ControlId control, ClientEvent event) {
    Channel& ch = channels_[control];
    if (auto next = next_control_state(ch.state, event)) {
        ch.state = *next;
        return true;
    }
    protocol_errors_.push_back("control " + std::to_string(control) + ": " + to_string(event) +
                               " in " + to_string(ch.state));
    return false;
}

void ThirdPartyClient::advance() {
    while (!steps_.empty()) {
        const Step& step = steps_.front();
        if (channels_[step.control].state != C::Ready) return;
        // Setup commands run one at a time: each may need the previous one's reply ({pasv}).
        // The two transfer commands overlap: the receiver's STOR waits for the sender's data.
        for (const auto& ch : channels_)
            if (ch.in_flight && ch.in_flight->kind != Step::Kind::Transfer &&
                ch.in_flight->kind != Step::Kind::Quit)
                return;
        Step next = std::move(steps_.front());
        steps_.pop_front();
        execute(std::move(next));
    }
}

std::string ThirdPartyClient::expand(std::string command) const {
    auto replace = [&command](const std::string& key, const std::string& value) {
        if (const auto at = command.find(key); at != std::string::npos)
            command.replace(at, key.size(), value);
    };
    replace("{receiver}", channels_[kReceiver].server.control.remote.addr.to_string());
    replace("{sender}", channels_[kSender].server.control.remote.addr.to_string());
    if (pasv_address_) replace("{pasv}", format_port_arg(*pasv_address_));
    replace("{pasvport}", pasv_address_ ? std::to_string(pasv_address_->port)
                                        : std::to_string(config_.receiver.data_socket));
    for (std::size_t i = 0; i < sockets_.size(); ++i)
        replace("{socket" + std::to_string(i) + "}", std::to_string(sockets_[i]));
    return command;
}

void ThirdPartyClient::execute(Step step) {
    using K = Step::Kind;
    const ClientEvent event = step.kind == K::Transfer ? E::SendTransferCommand
                              : step.kind == K::Quit   ? E::SendQuit
                                                       : E::SendCommand;
    step.command = expand(std::move(step.command));
    if (const ParseError why = unsendable(step.command); why != ParseError::None) {
        fail(unsendable_reason(why));
        return;
    }
    if (!fire(step.control, event)) return;
    emit(step.control, SendControl{step.command + "\r\n"});
    channels_[step.control].in_flight = std::move(step);
}

void ThirdPartyClient::on_reply(ControlId control, const ServerReply& reply) {
    Channel& ch = channels_[control];
    const ControlState before = ch.state;
    if (!fire(control, reply_event(reply.code))) return;
    if (before == C::AwaitGreeting) {
        if (!positive(reply.code)) fail("server " + std::to_string(control) + " refused: " + reply.raw);
    } else if (before == C::AwaitQuitReply) {
        ch.in_flight.reset();
        emit(control, CloseControl{});
    } else if (ch.in_flight) {
        const Step step = *ch.in_flight;
        if (ch.state == C::Ready) ch.in_flight.reset();
        if (reply.code / 100 != 1) {
            using K = Step::Kind;
            const bool ok = step.kind == K::Login ? reply.code / 100 == 2 || reply.code == 331
                                                  : reply.code / 100 == 2;
            if (!ok) {
                if (step.kind == K::Transfer) record_transfer(control, reply);
                fail(step.command + " refused: " + std::to_string(reply.code) + " " + reply.text);
            } else if (step.kind == K::Login && reply.code == 331) {
                steps_.push_front({control, K::Command, "PASS " + ch.server.password});
            } else if (step.kind == K::Transfer) {
                ++transfers_ok_;
                record_transfer(control, reply);
            } else if (step.capture == Capture::Address227) {
                pasv_address_ = parse_227_text(reply.text);
                if (!pasv_address_) fail("cannot read the address in " + reply.text);
                else
                    emit(control, Explain{"the user passes the receiver's data address " +
                                          pasv_address_->to_string() +
                                          " to the sender with PORT: the sender will connect there"});
            } else if (step.capture == Capture::OptionalAddress227) {
                pasv_address_ = parse_227_text(reply.text);
            } else if (step.capture == Capture::Socket255) {
                const auto socket = parse_255_text(reply.text);
                if (!socket) fail("cannot read the socket in " + reply.text);
                else sockets_.push_back(*socket);
            }
        }
    }
    advance();
}

void ThirdPartyClient::record_transfer(ControlId control, const ServerReply& reply) {
    for (auto& t : transfers_)
        if (t.control == control) {
            t.ok = reply.code / 100 == 2;
            t.reply_code = reply.code;
            t.reply_text = reply.text;
        }
}

void ThirdPartyClient::fail(std::string why) {
    if (failure_.empty()) failure_ = std::move(why);
    steps_.clear();
    for (ControlId c : {kReceiver, kSender}) {
        const ControlState s = channels_[c].state;
        if (s != C::Closed && s != C::Connecting && s != C::AwaitQuitReply)
            steps_.push_back({c, Step::Kind::Quit, "QUIT"});
    }
}

}  // namespace ftpsim::proto
