#include "protocol/server.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "protocol/codec.hpp"

namespace ftpsim::proto {

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

std::string quote_path(std::string_view path) {  // RFC 959 appendix II: double the quotes
    std::string out;
    for (char c : path) {
        out += c;
        if (c == '"') out += '"';
    }
    return out;
}

bool is_prelogin(ServerState s) {
    return s == ServerState::AwaitUser || s == ServerState::AwaitPass ||
           s == ServerState::AwaitAcct || s == ServerState::SpsvOnly;
}

std::string help_body() {  // the verbs, eight to a line, as servers print them
    std::string out;
    int n = 0;
    for (const auto& v : known_verbs()) {
        out += ' ';
        out += v.name;
        if (++n % 8 == 0) out += "\r\n";
    }
    if (n % 8 != 0) out += "\r\n";
    return out;
}

// LIST's options ("-la") come before the path; servers ignore them.
std::string_view strip_list_options(std::string_view arg) {
    while (!arg.empty() && arg.front() == '-') {
        auto space = arg.find(' ');
        arg = space == std::string_view::npos ? std::string_view{} : arg.substr(space + 1);
    }
    return arg;
}

}  // namespace

// ================================================================================================
// ServerSession: lifecycle and input
// ================================================================================================

ServerSession::ServerSession(const ServerConfig& config, Vfs& vfs, RandomSource random,
                             SessionId id, HostPort control_local, HostPort control_remote,
                             ServerContext* context)
    : config_(config),
      profile_(config.profile),
      vfs_(vfs),
      random_(std::move(random)),
      id_(id),
      control_local_(control_local),
      control_remote_(control_remote),
      context_(context),
      ascii_(config.profile.ascii_by_default) {}

namespace {
Time after(Time now, Time timeout) { return timeout > 0 ? now + timeout : kNever; }
}  // namespace

void ServerSession::start(Time now, bool spsv_only) {
    idle_deadline_ = after(now, profile_.idle_session_timeout);
    if (spsv_only) {
        state_ = ServerState::SpsvOnly;
        send_reply(Reply::SpsvOnlyGreeting);
        explain(ExplainKind::UserLimit, "the server is full, but an SPSV identifier is pending: it only accepts SPDT");
        return;
    }
    send_reply(Reply::Greeting);
}

void ServerSession::refuse(Time) {
    explain(ExplainKind::UserLimit, "the server has reached its user limit: it refuses the session with 421");
    send_reply(Reply::TooManyUsers);
    actions_.push_back(CloseControl{});
    step(ServerEvent::Refused);
}

void ServerSession::shutdown(Time now) {
    if (state_ == ServerState::Closed) return;
    if (state_ == ServerState::DataChannel) {  // the owner closes this connection as its data
        step(ServerEvent::ConnectionLost);
        return;
    }
    if (profile_.announce_shutdown) {
        if (transfer_) transfer_reply(Reply::ShuttingDown, {}, false);  // it ends the transfer
        else reply_to(std::nullopt, Reply::ShuttingDown);
    }
    explain(profile_.announce_shutdown
                ? "the server shuts down: it says 421 and closes the control and data connections"
                : "the server shuts down: it closes the control and data connections without a "
                  "reply (" + profile_.name + " sends no 421)");
    if (transfer_ && (data_.phase == DataPhase::Open || data_.phase == DataPhase::Draining))
        data_step(DataPhaseEvent::Abort);  // the transfer is cut off
    die(now, {});
}

void ServerSession::reject_while_down(Time) {
    explain("the FTP server is down (shut down, not restarted): the connection is reset");
    actions_.push_back(CloseControl{true});
    step(ServerEvent::ConnectionLost);
}

void ServerSession::die(Time, std::initializer_list<Reply> last_words) {
    // The first last word ends the transfer under way, else answers the command being handled
    // (or a PASV/PORT whose reply waited); the others answer nothing.
    bool first = true;
    for (Reply r : last_words) {
        if (first && transfer_) transfer_reply(r, {}, false);
        else if (first && data_.late_reply_to) reply_to(std::exchange(data_.late_reply_to, std::nullopt), r);
        else if (first) send_reply(r);
        else reply_to(std::nullopt, r);
        first = false;
    }
    answering_.reset();
    drop_data_plan();
    transfer_.reset();
    early_bytes_.clear();
    accept_deadline_ = connect_deadline_ = idle_deadline_ = data_deadline_ = kNever;
    actions_.push_back(CloseControl{});
    step(ServerEvent::ConnectionLost);
    if (context_) context_->forget_spsv_ids(id_);
}

bool ServerSession::is_user_session() const {
    return state_ != ServerState::DataChannel && state_ != ServerState::Closed &&
           state_ != ServerState::SpsvOnly;
}

std::vector<Action> ServerSession::take_actions() {
    std::vector<Action> out;
    out.swap(actions_);
    return out;
}

std::optional<Action> ServerSession::poll_action() {
    if (actions_.empty()) return std::nullopt;
    Action a = std::move(actions_.front());
    actions_.erase(actions_.begin());
    return a;
}

std::string ServerSession::take_unparsed_bytes() {
    std::string out;
    out.swap(inbuf_);
    return out;
}

void ServerSession::receive_control(Time now, std::string_view bytes) {
    if (state_ == ServerState::Closed || state_ == ServerState::DataChannel) return;
    while (!bytes.empty() && state_ != ServerState::Closed && state_ != ServerState::DataChannel) {
        if (discarding_) {  // the rest of an over-long line, up to and with its LF
            const auto lf = bytes.find('\n');
            if (lf == std::string_view::npos) return;
            bytes.remove_prefix(lf + 1);
            discarding_ = false;
            // The line's first bytes still wait behind a transfer: end them here, so that the
            // next line stays a line of its own.
            if (!inbuf_.empty()) inbuf_ += '\n';
            continue;
        }
        bytes.remove_prefix(take_line_piece(bytes));
        if (!deferred_ || state_ != ServerState::Transfer) process_buffer(now);
        if (inbuf_.size() > kMaxQueuedCommandBytes) return refuse_queued_commands(now);
    }
    // After SPDT the connection carries data: what came with "SPDT id" is kept as it is, for
    // take_unparsed_bytes().
    if (state_ == ServerState::DataChannel) inbuf_.append(bytes);
}

// Appends the next piece of `bytes` to inbuf_ and returns its length: up to and with the first
// LF, or what is there of an unfinished line, but never more than kDefaultMaxLine bytes for one
// line (codec.hpp counts the LF in): the first kDefaultMaxLine bytes of a longer line are kept
// for its 500 and the rest is dropped (discarding_).
std::size_t ServerSession::take_line_piece(std::string_view bytes) {
    const auto last_lf = inbuf_.rfind('\n');
    const std::size_t started = last_lf == std::string::npos ? inbuf_.size() : inbuf_.size() - last_lf - 1;
    const std::size_t room = started < kDefaultMaxLine ? kDefaultMaxLine - started : 0;
    const auto lf = bytes.substr(0, room).find('\n');
    std::size_t n = lf == std::string_view::npos ? std::min(room, bytes.size()) : lf + 1;
    inbuf_.append(bytes.substr(0, n));
    if (lf == std::string_view::npos && started + n >= kDefaultMaxLine) discarding_ = true;
    return n;
}

void ServerSession::process_buffer(Time now) {
    deferred_ = false;
    while (state_ != ServerState::Closed && state_ != ServerState::DataChannel) {
        CommandView cmd;
        const ParseResult r = parse_command(inbuf_, cmd);
        if (r.status == ParseStatus::NeedMore) return;
        if (r.status == ParseStatus::Error) {
            // A malformed or over-long line waits for the transfer like any command, so its 500
            // comes in its turn.
            if (command_gate(state_, CommandGroup::Other) == Gate::Defer) {
                deferred_ = true;
                return;
            }
            const auto eol = inbuf_.find('\n');
            const bool empty_line = r.error == ParseError::EmptyLine;
            // An over-long line is only its first kDefaultMaxLine bytes here (and the LF that
            // receive_control put after them if more lines follow).
            const std::size_t bad = eol == std::string::npos ? inbuf_.size() : eol + 1;
            inbuf_.erase(0, r.consumed ? r.consumed : bad);
            if (r.error == ParseError::LineTooLong)
                explain(ExplainKind::LineTooLong,
                        "a command line longer than " + std::to_string(kDefaultMaxLine) +
                            " bytes: the server answers 500 and drops the line up to its end");
            if (!empty_line) reply_to(Verb::Unknown, Reply::Unknown, {""});  // vsftpd ignores empty lines only
            continue;
        }
        const VerbInfo& info = verb_info(cmd.verb);
        if (command_gate(state_, info.group) == Gate::Defer) {  // after the transfer
            deferred_ = true;
            return;
        }
        const std::string verb = upper(cmd.verb);
        const std::string arg(cmd.arg);
        const bool has_arg = cmd.has_arg && !cmd.arg.empty();
        inbuf_.erase(0, r.consumed);
        // The command's replies answer it (send_reply): a nested process_buffer (the commands
        // that waited for a transfer that ends here) restores the outer one after.
        const auto outer = std::exchange(answering_, info.verb);
        const auto outer_arg = std::exchange(answering_arg_, std::string_view(arg));
        dispatch(now, verb, arg, has_arg);
        answering_ = outer;
        answering_arg_ = outer_arg;
    }
}

// More than kMaxQueuedCommandBytes wait for the transfer: the session ends (vsftpd would not be
// reading them at all; see server.hpp).
void ServerSession::refuse_queued_commands(Time now) {
    explain(ExplainKind::CommandQueueLimit,
            "more than " + std::to_string(kMaxQueuedCommandBytes) +
                " bytes of commands wait for the transfer to end: the server keeps no more, cuts "
                "the transfer off and closes the control connection");
    inbuf_.clear();
    discarding_ = deferred_ = false;
    if (transfer_ && (data_.phase == DataPhase::Open || data_.phase == DataPhase::Draining))
        data_step(DataPhaseEvent::Abort);
    die(now, {});
}

// A profile enables a command with its dialect (protocol/commands.hpp), and a few one by one.
bool ServerSession::verb_enabled(Verb v) const {
    switch (v) {
        case Verb::CCC: return profile_.supports_tls && profile_.supports_ccc;
        case Verb::MLSD: return profile_.supports_mlsd;
        case Verb::Unknown: return false;
        default: break;
    }
    switch (verb_info(v).dialect) {
        case Dialect::DraftRosenau: return profile_.supports_spsv && context_ != nullptr;
        case Dialect::Rfc438:
        case Dialect::Rfc478: return profile_.supports_1973;
        case Dialect::Rfc4217: return profile_.supports_tls;
        default: return true;
    }
}

bool ServerSession::verb_implemented(Verb v) const {
    if (v == Verb::ACCT) return profile_.acct_supported;
    return v != Verb::REIN && v != Verb::SMNT && v != Verb::SITE;
}

void ServerSession::dispatch(Time now, std::string_view verb, std::string_view arg, bool has_arg) {
    idle_deadline_ = after(now, profile_.idle_session_timeout);
    const VerbInfo& info = verb_info(verb);
    const bool prelogin = is_prelogin(state_);
    if (!verb_enabled(info.verb) || !verb_implemented(info.verb)) {
        if (prelogin && profile_.prelogin_unknown_is_530)
            send_reply(Reply::NotLoggedIn);
        else
            send_reply(verb_enabled(info.verb) ? Reply::NotImplemented : Reply::Unknown, {verb});
        return;
    }
    switch (command_gate(state_, info.group)) {
        case Gate::NeedLogin: send_reply(Reply::NotLoggedIn); return;
        case Gate::BadSequence: send_reply(Reply::RntoNeedRnfr); return;
        case Gate::Defer:
        case Gate::Ignore: return;
        case Gate::Handle: break;
    }
    if (prelogin && info.group == CommandGroup::Session &&
        std::find(profile_.prelogin_verbs.begin(), profile_.prelogin_verbs.end(), info.verb) ==
            profile_.prelogin_verbs.end()) {
        send_reply(Reply::NotLoggedIn);
        return;
    }
    if (!check_argument(info, verb, has_arg)) return;
    if (state_ == ServerState::AwaitRnto && info.verb != Verb::RNTO && info.verb != Verb::RNFR) {
        rename_from_.reset();  // RFC 959: RNTO must follow RNFR immediately
        step(ServerEvent::RenameAbandoned);
    }
    handle(now, info, arg);
}

bool ServerSession::check_argument(const VerbInfo& info, std::string_view verb, bool has_arg) {
    if (!profile_.check_arguments) return true;
    if (info.arg == ArgRule::Required && !has_arg) {
        send_reply(Reply::ArgMissing, {verb});
        return false;
    }
    if (info.arg == ArgRule::None && has_arg) {
        send_reply(Reply::ArgUnexpected, {verb});
        return false;
    }
    return true;
}

void ServerSession::handle(Time now, const VerbInfo& info, std::string_view arg) {
    switch (info.verb) {
        case Verb::USER: cmd_user(arg); break;
        case Verb::PASS: cmd_pass(arg); break;
        case Verb::ACCT: cmd_acct(arg); break;
        case Verb::OPTS: cmd_opts(arg); break;
        case Verb::TYPE: cmd_type(arg); break;
        case Verb::CWD: cmd_cwd(arg.empty() ? "/" : arg); break;
        case Verb::CDUP: cmd_cwd(".."); break;
        case Verb::MKD: cmd_mkd(arg); break;
        case Verb::RMD: cmd_rmd(arg); break;
        case Verb::DELE: cmd_dele(arg); break;
        case Verb::RNFR: cmd_rnfr(arg); break;
        case Verb::RNTO: cmd_rnto(arg); break;
        case Verb::SIZE: cmd_size(arg); break;
        case Verb::MDTM: cmd_mdtm(arg); break;
        case Verb::REST: cmd_rest(arg); break;
        case Verb::ABOR: cmd_abor(now); break;
        case Verb::FEAT: cmd_feat(); break;
        case Verb::HELP: cmd_help(); break;
        case Verb::STAT: cmd_stat(arg); break;
        case Verb::QUIT: cmd_quit(); break;
        case Verb::PORT: cmd_port(now, "PORT", arg); break;
        case Verb::EPRT: cmd_port(now, "EPRT", arg); break;
        case Verb::PASV: cmd_pasv(false, arg); break;
        case Verb::EPSV: cmd_pasv(true, arg); break;
        case Verb::SPSV: cmd_spsv(); break;
        case Verb::SPDT: cmd_spdt(arg); break;
        case Verb::LSTN: cmd_lstn(arg); break;
        case Verb::SOCK: cmd_sock(arg); break;
        case Verb::AUTH: cmd_auth(arg); break;
        case Verb::PBSZ: cmd_pbsz(); break;
        case Verb::PROT: cmd_prot(arg); break;
        case Verb::CCC: cmd_ccc(); break;
        case Verb::NLST: cmd_list(now, TransferKind::Nlst, arg); break;
        case Verb::MLSD: cmd_list(now, TransferKind::Mlsd, arg); break;
        case Verb::APPE: cmd_store(now, TransferKind::Appe, arg); break;
        case Verb::STOU: cmd_store(now, TransferKind::Stou, arg); break;
        default:
            // A transfer command goes by its direction in the verb table (RETR, RTRV: download;
            // STOR: upload; LIST: listing), so a new one needs no case of its own.
            switch (info.transfer) {
                case proto::Transfer::Download: cmd_retr(now, arg); break;
                case proto::Transfer::Upload: cmd_store(now, TransferKind::Stor, arg); break;
                case proto::Transfer::Listing: cmd_list(now, TransferKind::List, arg); break;
                case proto::Transfer::None: cmd_simple(info, arg); break;
            }
            break;
    }
}

// ================================================================================================
// Commands: login and session
// ================================================================================================

void ServerSession::cmd_user(std::string_view arg) {
    if (state_ == ServerState::SpsvOnly) {  // draft-rosenau 5: a real user is refused
        send_reply(Reply::SpsvOnlyUser);
        actions_.push_back(CloseControl{});
        step(ServerEvent::Refused);
        return;
    }
    if (state_ == ServerState::LoggedIn && !profile_.allow_user_change) {
        send_reply(Reply::CantChangeUser, {arg});
        return;
    }
    user_ = std::string(arg);
    anonymous_ = iequals(arg, "anonymous") || iequals(arg, "ftp");
    if (anonymous_ && config_.allow_anonymous && profile_.anonymous_without_password) {
        send_reply(Reply::LoginOk, {user_});
        step(ServerEvent::UserLoggedIn);
        return;
    }
    send_reply(Reply::UserOk, {user_});
    step(ServerEvent::UserNeedsPass);
}

void ServerSession::cmd_pass(std::string_view arg) {
    if (state_ == ServerState::LoggedIn || state_ == ServerState::AwaitRnto) {
        send_reply(Reply::AlreadyLoggedIn);
        return;
    }
    if (state_ != ServerState::AwaitPass) {
        send_reply(Reply::NeedUserFirst);
        return;
    }
    const auto it = config_.users.find(user_);
    const bool ok = (anonymous_ && config_.allow_anonymous) ||
                    (it != config_.users.end() && it->second == arg);
    if (!ok) {
        send_reply(Reply::LoginIncorrect);
        user_.clear();
        step(ServerEvent::LoginFailed);
        return;
    }
    if (config_.users_needing_account.count(user_) != 0 && profile_.acct_supported) {
        send_reply(Reply::NeedAccount);
        step(ServerEvent::PassNeedsAcct);
        return;
    }
    send_reply(Reply::LoginOk, {user_});
    step(ServerEvent::PassOk);
}

void ServerSession::cmd_acct(std::string_view) {
    if (state_ == ServerState::AwaitAcct) {
        send_reply(Reply::AcctOk, {user_});
        step(ServerEvent::AcctOk);
    } else if (is_prelogin(state_)) {
        send_reply(Reply::NeedUserFirst);
    } else {
        send_reply(Reply::AlreadyLoggedIn);
    }
}

void ServerSession::cmd_simple(const VerbInfo& info, std::string_view arg) {
    const std::string a = upper(arg);
    switch (info.verb) {
        case Verb::SYST: send_reply(Reply::Syst); break;
        case Verb::NOOP: send_reply(Reply::Noop); break;
        case Verb::PWD: send_reply(Reply::Pwd, {quote_path(cwd_)}); break;
        case Verb::ALLO: send_reply(Reply::Allo); break;
        case Verb::MODE: send_reply(a == "S" ? Reply::ModeOk : Reply::ModeBad, {arg}); break;
        case Verb::STRU: send_reply(a == "F" ? Reply::StruOk : Reply::StruBad, {arg}); break;
        default: send_reply(Reply::Unknown, {info.name}); break;
    }
}

void ServerSession::cmd_opts(std::string_view arg) {
    const std::string a = upper(arg);
    const bool utf8 = a == "UTF8 ON" || a == "UTF8";
    send_reply(utf8 && profile_.supports_utf8_opts ? Reply::OptsUtf8 : Reply::OptsBad, {arg});
}

void ServerSession::cmd_type(std::string_view arg) {
    const std::string a = upper(arg);
    if (a == "I" || a == "L8" || a == "L 8") {
        ascii_ = false;
        send_reply(Reply::TypeBinary);
    } else if (a == "A" || a == "A N") {
        ascii_ = true;
        send_reply(Reply::TypeAscii);
    } else {
        send_reply(Reply::TypeBad, {arg});
    }
}

void ServerSession::cmd_feat() {
    std::string text = "211-" + profile_.feat_head + "\r\n";
    for (const auto& f : profile_.features) text += " " + f + "\r\n";
    text += "211 " + profile_.feat_tail;
    send_composed(std::move(text), 211);
}

void ServerSession::cmd_help() { send_reply(Reply::Help, {help_body()}); }

void ServerSession::cmd_stat(std::string_view arg) {
    if (!arg.empty()) {  // STAT <path>: a listing over the control connection (RFC 959 4.1.3)
        const std::string path = resolve(strip_list_options(arg));
        std::string text = "213-Status follows:\r\n";
        text += render_listing(vfs_, path, ListingKind::Long, profile_.listing);
        send_composed(text + "213 End of status", 213);
        return;
    }
    std::string text = profile_.reply(Reply::StatHead) + "\r\n";
    text += "     Connected to " + control_remote_.addr.to_string() + "\r\n";
    text += "     Logged in as " + user_ + "\r\n";
    text += std::string("     TYPE: ") + (ascii_ ? "ASCII" : "BINARY") + "\r\n";
    text += std::string("     Control connection is ") +
            (control_tls_ ? "encrypted" : "plain text") + "\r\n";
    text += std::string("     Data connections will be ") +
            (prot_private_ ? "encrypted" : "plain text") + "\r\n";
    text += profile_.reply(Reply::StatTail);
    send_line(std::move(text), answer_facts(Reply::StatTail, code_of(Reply::StatTail)));
}

void ServerSession::cmd_quit() {
    send_reply(Reply::Quit);
    drop_data_plan();
    actions_.push_back(CloseControl{});
    step(ServerEvent::Quit);
    if (context_) context_->forget_spsv_ids(id_);
}

void ServerSession::control_closed(Time) {
    drop_data_plan();
    transfer_.reset();
    accept_deadline_ = kNever;
    step(ServerEvent::ConnectionLost);
    if (context_) context_->forget_spsv_ids(id_);
}

// ---- RFC 4217 (modelled: no cryptography, only who can read the control channel) -------------

void ServerSession::cmd_auth(std::string_view arg) {
    const std::string a = upper(arg);
    if (control_tls_) {
        send_reply(Reply::AuthAgain);
        return;
    }
    if (a != "TLS" && a != "TLS-C" && a != "SSL" && a != "TLS-P") {
        send_reply(Reply::AuthBad, {arg});
        return;
    }
    send_reply(Reply::AuthOk, {a});
    control_tls_ = true;
    explain("AUTH " + a + ": after this 234 reply the control channel is TLS-encrypted; "
            "middleboxes (an FTP ALG) can no longer read or rewrite PORT, 227 or 229");
}

void ServerSession::cmd_pbsz() {
    if (!control_tls_) return send_reply(Reply::PbszNeedAuth);
    pbsz_ = true;
    send_reply(Reply::PbszOk);
}

void ServerSession::cmd_prot(std::string_view arg) {
    const std::string a = upper(arg);
    if (!control_tls_) return send_reply(Reply::ProtNeedAuth);
    if (!pbsz_ && profile_.prot_requires_pbsz) return send_reply(Reply::ProtNeedPbsz);
    if (a != "C" && a != "P") return send_reply(Reply::ProtBad, {arg});
    prot_private_ = a == "P";
    send_reply(Reply::ProtOk, {prot_private_ ? "Private" : "Clear"});
}

void ServerSession::cmd_ccc() {
    if (!control_tls_) return send_reply(Reply::CccBad);
    send_reply(Reply::CccOk);
    control_tls_ = false;
    explain("CCC: the control channel is clear text again; an FTP ALG can read PORT/227 again");
}

// ================================================================================================
// Commands: the file system
// ================================================================================================

std::string ServerSession::resolve(std::string_view arg) const {
    return Vfs::resolve(cwd_, arg.empty() ? std::string_view(".") : arg);
}

void ServerSession::cmd_cwd(std::string_view arg) {
    const std::string path = resolve(arg);
    const VfsEntry* e = vfs_.find(path);
    if (!e || !e->is_dir) return send_reply(Reply::CwdFail, {arg});
    cwd_ = path;
    send_reply(Reply::CwdOk, {quote_path(path)});
}

void ServerSession::cmd_mkd(std::string_view arg) {
    const std::string path = resolve(arg);
    if (arg.empty() || vfs_.mkdir(path) != VfsStatus::Ok) return send_reply(Reply::MkdFail, {arg});
    send_reply(Reply::MkdOk, {quote_path(path)});
}

void ServerSession::cmd_rmd(std::string_view arg) {
    const bool ok = !arg.empty() && vfs_.rmdir(resolve(arg)) == VfsStatus::Ok;
    send_reply(ok ? Reply::RmdOk : Reply::RmdFail, {arg});
}

void ServerSession::cmd_dele(std::string_view arg) {
    const bool ok = !arg.empty() && vfs_.remove(resolve(arg)) == VfsStatus::Ok;
    send_reply(ok ? Reply::DeleOk : Reply::DeleFail, {arg});
}

void ServerSession::cmd_rnfr(std::string_view arg) {
    const std::string path = resolve(arg);
    if (arg.empty() || !vfs_.find(path)) return send_reply(Reply::RnfrFail, {arg});
    rename_from_ = path;
    send_reply(Reply::RnfrOk);
    step(ServerEvent::RnfrOk);
}

void ServerSession::cmd_rnto(std::string_view arg) {
    const bool ok = rename_from_ && !arg.empty() &&
                    vfs_.rename(*rename_from_, resolve(arg)) == VfsStatus::Ok;
    rename_from_.reset();
    send_reply(ok ? Reply::RntoOk : Reply::RntoFail, {arg});
    step(ServerEvent::RenameDone);
}

void ServerSession::cmd_size(std::string_view arg) {
    const VfsEntry* e = vfs_.find(resolve(arg));
    if (arg.empty() || !e || e->is_dir) return send_reply(Reply::SizeFail, {arg});
    send_reply(Reply::SizeOk, {std::to_string(e->size)});
}

void ServerSession::cmd_mdtm(std::string_view arg) {
    const VfsEntry* e = vfs_.find(resolve(arg));
    if (arg.empty() || !e || e->is_dir) return send_reply(Reply::MdtmFail, {arg});
    send_reply(Reply::MdtmOk, {mdtm_time(e->mtime)});
}

void ServerSession::cmd_rest(std::string_view arg) {
    std::uint64_t offset = 0;
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), offset);
    if (ec != std::errc{} || end != arg.data() + arg.size())
        return send_reply(Reply::RestBad, {arg});
    restart_ = offset;
    send_reply(Reply::RestOk, {std::to_string(offset)});
}

// ================================================================================================
// Commands: setting up the data connection
// ================================================================================================

bool ServerSession::epsv_all_refuses(std::string_view verb) {
    if (!epsv_all_) return false;
    if (verb == "EPRT" && !profile_.epsv_all_refuses_eprt) return false;
    send_reply(Reply::AfterEpsvAll, {verb});
    return true;
}

void ServerSession::cmd_port(Time now, std::string_view verb, std::string_view arg) {
    if (epsv_all_refuses(verb)) return;
    std::optional<HostPort> hp;
    if (verb == "PORT") {
        hp = parse_port_arg(arg);
        if (!hp) return send_reply(Reply::PortBad, {verb});
    } else {
        const EprtResult r = parse_eprt(arg);
        if (r.status == EprtStatus::UnsupportedProtocol) return send_reply(Reply::EprtBadProtocol);
        if (r.status != EprtStatus::Ok) return send_reply(Reply::EprtBad);
        // EPRT |2| on an IPv4 control connection: vsftpd "500 Bad EPRT protocol.", pyftpdlib and
        // RFC 2428 522 (handle_eprt's `!is_ipv6 && proto == 2`, ftp_EPRT's socket.family check).
        if (!r.hp.addr.is_v4() && control_local_.addr.is_v4()) return send_reply(Reply::EprtBadProtocol);
        hp = r.hp;
    }
    drop_data_plan();
    const std::string addr = hp->addr.to_string(), port = std::to_string(hp->port);
    if (!profile_.port_promiscuous && hp->addr != control_remote_.addr) {
        explain(ExplainKind::RefusedAddress, "the server refuses " + std::string(verb) + " to " + addr +
                ": it is not the address the control connection comes from (" +
                control_remote_.addr.to_string() + ")");
        return send_reply(Reply::PortForeign, {verb, addr, port});
    }
    if (profile_.refuse_privileged_ports && hp->port < 1024)
        return send_reply(Reply::PortPrivileged, {verb, addr, port});
    // vsftpd binds ftp_data_port (20) whatever port it listens on; RFC 959's L-1 otherwise.
    const auto from = profile_.connect_from_port_20
                          ? std::optional<std::uint16_t>(profile_.ftp_data_port
                                                             ? profile_.ftp_data_port
                                                             : control_local_.port - 1)
                          : std::nullopt;
    set_active(*hp, from);
    explain("the server will connect to " + hp->to_string() + " for the next transfer (" +
            std::string(verb) + ")");
    if (profile_.timing == DataTiming::Eager) {  // pyftpdlib connects now, answers when connected
        data_.announce_on_connect = true;
        data_.late_reply_to = std::exchange(answering_, std::nullopt);
        open_data(now);
        return;
    }
    send_reply(verb == "PORT" ? Reply::PortOk : Reply::EprtOk);
}

void ServerSession::set_active(HostPort target, std::optional<std::uint16_t> from_port) {
    drop_data_plan();
    data_.mode = DataMode::Active;
    data_.id = next_data_id_++;
    data_.target = target;
    data_.from_port = from_port;
}

std::pair<std::uint32_t, std::uint32_t> ServerSession::passive_range() const {
    std::uint32_t lo = profile_.pasv_min_port ? profile_.pasv_min_port : 1024;
    std::uint32_t hi = profile_.pasv_max_port ? profile_.pasv_max_port : 65535;
    if (lo > hi) std::swap(lo, hi);
    return {lo, hi};
}

std::uint16_t ServerSession::choose_passive_port() {
    const auto [lo, hi] = passive_range();
    const std::uint64_t r = random_ ? random_() : 0;
    return static_cast<std::uint16_t>(lo + r % (hi - lo + 1));
}

// After a failed listen: the next port to try, or nullopt when the profile gives up.
std::optional<std::uint16_t> ServerSession::next_passive_port() {
    if (profile_.pasv_bind_attempts != 0) {  // vsftpd: random ports, repeats possible
        if (data_.tried.size() >= profile_.pasv_bind_attempts) return std::nullopt;
        return choose_passive_port();
    }
    const auto range = passive_range();  // every port once, in random order (pyftpdlib)
    // Plain variables, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const auto lo = range.first, hi = range.second;
    std::vector<std::uint16_t> tried = data_.tried;
    std::sort(tried.begin(), tried.end());
    tried.erase(std::unique(tried.begin(), tried.end()), tried.end());
    const auto in_range = static_cast<std::uint32_t>(std::count_if(
        tried.begin(), tried.end(), [lo, hi](std::uint16_t p) { return p >= lo && p <= hi; }));
    const std::uint32_t free = hi - lo + 1 - in_range;
    if (free == 0) return std::nullopt;
    std::uint64_t k = (random_ ? random_() : 0) % free;
    for (std::uint32_t p = lo; p <= hi; ++p) {
        if (std::binary_search(tried.begin(), tried.end(), static_cast<std::uint16_t>(p))) continue;
        if (k-- == 0) return static_cast<std::uint16_t>(p);
    }
    return std::nullopt;
}

HostPort ServerSession::open_listener(std::optional<std::uint16_t> port) {
    drop_data_plan();
    data_.mode = DataMode::Passive;
    data_.id = next_data_id_++;
    data_.local_port = port ? *port : choose_passive_port();
    data_step(DataPhaseEvent::Listen);
    return {profile_.pasv_address.value_or(control_local_.addr), data_.local_port};
}

void ServerSession::cmd_pasv(bool extended, std::string_view arg) {
    if (extended) {
        const EpsvArg a = parse_epsv_arg(arg);
        if (a == EpsvArg::All) {
            epsv_all_ = true;
            explain("EPSV ALL: from now on the server refuses PORT, PASV and EPRT (RFC 2428)");
            return send_reply(Reply::EpsvAllOk);
        }
        // "EPSV 2" needs an IPv6 control connection; "EPSV 1" works on both (vsftpd's rule).
        const bool v6 = !control_local_.addr.is_v4();
        if (a == EpsvArg::Invalid || a == EpsvArg::UnknownFamily || (a == EpsvArg::V6 && !v6))
            return send_reply(Reply::EpsvBadProtocol);
    } else if (epsv_all_refuses("PASV")) {
        return;
    } else if (sock_peer_) {
        // RFC 478: after SOCK, PASV opens the server's own data socket (L-1, "as specified by
        // the protocol") for listening; the positive acknowledgement names no socket.
        const HostPort peer = *std::exchange(sock_peer_, std::nullopt);
        open_listener(static_cast<std::uint16_t>(control_local_.port - 1));
        data_.only_from = peer;
        if (config_.await_listen) {
            data_.announce = Announce::Pasv478;
            data_.late_reply_to = std::exchange(answering_, std::nullopt);
            return;
        }
        return announce_listener(Announce::Pasv478);
    }
    open_listener();
    if (sock_peer_) data_.only_from = std::exchange(sock_peer_, std::nullopt);  // RFC 478
    const Announce what = extended ? Announce::Epsv : Announce::Pasv;
    if (config_.await_listen) {
        data_.announce = what;  // on DataListening
        data_.late_reply_to = std::exchange(answering_, std::nullopt);
        return;
    }
    announce_listener(what);
}

void ServerSession::announce_listener(Announce what) {
    data_.announce = Announce::None;
    // The reply answers the PASV/EPSV/LSTN being handled, or the one whose reply waited.
    const std::optional<Verb> late = std::exchange(data_.late_reply_to, std::nullopt);
    auto send_reply = [&](Reply r, std::initializer_list<std::string_view> args = {}) {
        if (late) reply_to(late, r, args);
        else this->send_reply(r, args);
    };
    const HostPort announced{profile_.pasv_address.value_or(control_local_.addr), data_.local_port};
    if (what == Announce::Pasv478) {
        explain("PASV (RFC 478): the server listens on its data socket " + std::to_string(announced.port) +
                " and, at the transfer command, waits for the connection from " +
                (data_.only_from ? data_.only_from->to_string() : std::string("the SOCK peer")) +
                " instead of making one");
        return send_reply(Reply::PasvAck);
    }
    if (what == Announce::Lstn) {
        explain("LSTN " + std::string(1, data_.lstn) + ": the server listens on socket " +
                std::to_string(announced.port) +
                " and will wait for the connection at the transfer command (RFC 438)");
        return send_reply(Reply::Lstn, {format_255(announced.port)});
    }
    const bool extended = what == Announce::Epsv;
    explain("the server listens on " + HostPort{control_local_.addr, announced.port}.to_string() + " and announces " +
            (extended ? "the port in the 229 reply" : announced.to_string() + " in the 227 reply"));
    if (extended) return send_reply(Reply::Epsv, {std::to_string(announced.port)});
    // PASV cannot carry an IPv6 address; vsftpd announces 0,0,0,0 then (RFC 2428 wants EPSV),
    // pyftpdlib the address text with its dots (none) made commas.
    if (!announced.addr.is_v4() && profile_.pasv_ipv6_address_text)
        return send_reply(Reply::Pasv, {announced.addr.to_string() + "," + std::to_string(announced.port >> 8) +
                                        "," + std::to_string(announced.port & 0xff)});
    const HostPort v4{announced.addr.is_v4() ? announced.addr : IpAddress::v4(0, 0, 0, 0),
                      announced.port};
    send_reply(Reply::Pasv, {format_port_arg(v4)});
}

void ServerSession::on_listening(Time, DataId id, HostPort local) {
    if (id != data_.id || data_.mode != DataMode::Passive || data_.announce == Announce::None)
        return;
    if (local.port != 0) data_.local_port = local.port;
    announce_listener(data_.announce);
}

void ServerSession::on_listen_failed(Time now, DataId id) {
    if (id != data_.id || data_.mode != DataMode::Passive) return on_connect_failed(now, id);
    const auto [lo, hi] = passive_range();
    const std::string range = std::to_string(lo) + "-" + std::to_string(hi);
    const std::string exhausted = "the passive port range " + range + " is exhausted";
    if (data_.announce == Announce::None) {  // the reply (with the port) went out already
        if (profile_.bind_failure_closes_session) {
            explain(ExplainKind::PassiveExhausted, exhausted + ": the server cannot listen on port " +
                    std::to_string(data_.local_port) + " and its session dies (" +
                    profile_.name + " would say this instead of the passive reply)");
            data_step(DataPhaseEvent::ListenFailed);
            return die(now, {Reply::BindFailed});
        }
        explain(ExplainKind::PassiveExhausted, exhausted + ": the server cannot listen on the announced port " +
                std::to_string(data_.local_port) + "; the next transfer fails");
        return on_connect_failed(now, id);
    }
    if (!data_.any_port) {
        const std::uint16_t failed = data_.local_port;
        data_.tried.push_back(failed);
        if (const auto port = next_passive_port()) {
            data_.local_port = *port;
            explain("port " + std::to_string(failed) + " is in use: the server tries port " +
                    std::to_string(*port));
            data_step(DataPhaseEvent::ListenRetry);
            return;
        }
        if (profile_.pasv_fallback_to_any_port) {
            data_.any_port = true;
            explain(exhausted + " (every port is in use): the server listens on a port the "
                    "kernel picks, outside the range (\"Can't find a valid passive port in the "
                    "configured range. A random kernel-assigned port will be used.\"); a firewall "
                    "that opens only the range will block it");
            data_.local_port = 0;  // any port: DataListening names it
            data_step(DataPhaseEvent::ListenRetry);
            return;
        }
    }
    if (!data_step(DataPhaseEvent::ListenFailed)) return;
    const auto late = data_.late_reply_to;  // the PASV/EPSV/LSTN whose reply waited
    drop_data_plan();
    data_.late_reply_to = late;
    if (profile_.bind_failure_closes_session) {
        explain(ExplainKind::PassiveExhausted, exhausted + ": no free port after " +
                std::to_string(profile_.pasv_bind_attempts) +
                " random tries, the server gives up and its session dies");
        return die(now, {Reply::BindFailed});
    }
    explain(ExplainKind::PassiveExhausted, exhausted + ": every port is in use, the server cannot open a passive data "
            "connection");
    reply_to(std::exchange(data_.late_reply_to, std::nullopt), Reply::BindFailed);
}

void ServerSession::cmd_spsv() {
    if (epsv_all_refuses("SPSV")) return;
    drop_data_plan();
    data_.mode = DataMode::SinglePort;
    data_.id = next_data_id_++;
    data_step(DataPhaseEvent::AwaitSpdt);
    const std::string identifier = context_->issue_spsv_id(id_, data_.id);
    explain("SPSV: the data connection will arrive on the control port " +
            std::to_string(control_local_.port) + " and name itself with SPDT " + identifier);
    send_reply(Reply::Spsv, {identifier});
}

void ServerSession::cmd_spdt(std::string_view arg) {
    const auto claim = context_->claim_spsv_id(id_, arg);
    if (!claim) {
        explain("SPDT " + std::string(arg) + ": no pending SPSV has this identifier; 504 and drop");
        send_reply(Reply::SpdtBad, {arg});
        actions_.push_back(CloseControl{});
        step(ServerEvent::Refused);
        return;
    }
    send_reply(Reply::SpdtOk);  // exactly "200 DATA" CRLF (draft-rosenau 3.2)
    step(ServerEvent::SpdtOk);
    handed_over_ = claim;
    explain("SPDT: this connection is now the data connection of control session " +
            std::to_string(claim->owner));
}

void ServerSession::cmd_lstn(std::string_view arg) {
    const std::string a = upper(arg);
    if (a != "S" && a != "R") return send_reply(Reply::LstnBad, {arg});
    open_listener();
    data_.lstn = a[0];
    if (config_.await_listen) {
        data_.announce = Announce::Lstn;
        data_.late_reply_to = std::exchange(answering_, std::nullopt);
        return;
    }
    announce_listener(Announce::Lstn);
}

void ServerSession::cmd_sock(std::string_view arg) {
    const auto sock = parse_sock_arg(arg);
    std::optional<IpAddress> host = sock ? parse_ip(sock->host) : std::nullopt;
    if (sock && !host) {
        const auto it = config_.host_names.find(std::string(sock->host));
        if (it != config_.host_names.end()) host = it->second;
    }
    if (!sock || !host || sock->socket > 65535) return send_reply(Reply::SockBad, {arg});
    const HostPort peer{*host, static_cast<std::uint16_t>(sock->socket)};
    if (data_.mode == DataMode::Passive) {  // after LSTN: only this peer may connect (RFC 438 c)
        data_.only_from = peer;
        explain("SOCK after LSTN: the server accepts the data connection only from " +
                peer.to_string());
        return send_reply(Reply::Sock, {format_255(data_.local_port)});
    }
    const auto own = static_cast<std::uint16_t>(control_local_.port - 1);
    set_active(peer, own);
    sock_peer_ = peer;  // a later PASV restricts its listener to this peer (RFC 478)
    explain("SOCK: the server will connect from its socket " + std::to_string(own) + " to " +
            peer.to_string());
    send_reply(Reply::Sock, {format_255(own)});
}

// ================================================================================================
// Commands: transfers
// ================================================================================================

bool ServerSession::data_setup_ok() {
    if (data_.mode != DataMode::None || profile_.default_data_port) return true;
    send_reply(Reply::NoDataSetup);
    return false;
}

void ServerSession::cmd_retr(Time now, std::string_view arg) {
    if (!data_setup_ok()) return;
    const std::string path = resolve(arg);
    const VfsEntry* e = vfs_.find(path);
    if (arg.empty() || !e || e->is_dir) return send_reply(Reply::RetrFail, {arg});
    Transfer t;
    t.kind = TransferKind::Retr;
    t.path = path;
    t.offset = std::exchange(restart_, 0);
    if (config_.explicit_data_path) {
        t.payload = vfs_.open_read(path);
        t.payload_offset = t.offset;
    } else {
        t.payload = text_source(vfs_.read(path, t.offset));  // live/: its backend's token
    }
    t.mark = profile_.reply(Reply::RetrMark,
                            {ascii_ ? "ASCII" : "BINARY", arg, std::to_string(e->size)});
    t.mark_reply = Reply::RetrMark;
    begin_transfer(now, std::move(t));
}

void ServerSession::cmd_list(Time now, TransferKind kind, std::string_view arg) {
    if (!data_setup_ok()) return;
    const std::string path = resolve(strip_list_options(arg));
    Transfer t;
    t.kind = kind;
    t.path = path;
    t.mark = profile_.reply(Reply::ListMark);
    t.mark_reply = Reply::ListMark;
    t.final_reply = Reply::ListOk;
    if (!vfs_.find(path)) {
        if (!profile_.list_missing_dir_sends_empty) return send_reply(Reply::ListFail, {arg});
        t.final_reply = Reply::ListFail;  // vsftpd: an empty listing, then "226 Transfer done..."
    } else {
        const ListingKind lk = kind == TransferKind::List   ? ListingKind::Long
                               : kind == TransferKind::Nlst ? ListingKind::NamesOnly
                                                            : ListingKind::Mlsd;
        t.payload = vfs_.open_listing(path, lk, profile_.listing);
    }
    restart_ = 0;
    begin_transfer(now, std::move(t));
}

void ServerSession::cmd_store(Time now, TransferKind kind, std::string_view arg) {
    if (!data_setup_ok()) return;
    Transfer t;
    t.kind = kind;
    t.offset = std::exchange(restart_, 0);
    if (kind == TransferKind::Stou) {
        t.path = vfs_.unique_name(resolve(arg.empty() ? std::string_view("stou") : arg));
        t.mark = profile_.reply(Reply::StouMark, {Vfs::base_name(t.path)});
        t.mark_reply = Reply::StouMark;
        t.final_reply = Reply::StouOk;
    } else {
        t.path = resolve(arg);
        t.mark = profile_.reply(Reply::StorMark, {arg});
        t.mark_reply = Reply::StorMark;
    }
    t.upload = vfs_.open_upload();
    const VfsEntry* parent = vfs_.find(Vfs::resolve(t.path, ".."));
    const VfsEntry* existing = vfs_.find(t.path);
    if ((arg.empty() && kind != TransferKind::Stou) || !parent || !parent->is_dir ||
        (existing && existing->is_dir))
        return send_reply(Reply::StorFail, {arg});
    begin_transfer(now, std::move(t));
}

void ServerSession::cmd_abor(Time now) {
    if (!transfer_) return send_reply(Reply::AborNone);
    data_step(DataPhaseEvent::Abort);  // reset a connection, close a listener
    explain("ABOR: the server resets the data connection, answers 426 for the transfer and 226 "
            "for the ABOR");
    transfer_reply(Reply::AborAborted, {}, false);  // the transfer command's reply
    finish_transfer(now, Reply::AborOk, {}, false);  // ABOR's
}

// ================================================================================================
// Data connections and transfers
// ================================================================================================

bool ServerSession::is_incoming(TransferKind k) {
    return k == TransferKind::Stor || k == TransferKind::Appe || k == TransferKind::Stou;
}

void ServerSession::begin_transfer(Time now, Transfer t) {
    if (data_.mode == DataMode::None) {  // RFC 959 3.2: the default data port
        const auto own = static_cast<std::uint16_t>(control_local_.port - 1);
        set_active(control_remote_, own);
        explain("no PORT or PASV: the server connects from its port " + std::to_string(own) +
                " (L-1) to the client's control port " + control_remote_.to_string() +
                " (RFC 959 3.2)");
    }
    transfer_ = std::move(t);
    // The transfer command's final reply comes when the transfer ends (finish_transfer).
    transfer_->verb = answering_.value_or(Verb::RETR);
    transfer_->argument = std::string(answering_arg_);
    answering_.reset();
    step(ServerEvent::TransferStarted);
    const bool open = data_.phase == DataPhase::Open;
    switch (profile_.timing) {
        case DataTiming::MarkThenConnect: send_mark(); break;
        case DataTiming::ConnectThenMark: break;
        case DataTiming::Eager:
            if (open) reply_to(transfer_->verb, Reply::AlreadyOpen);
            else send_mark();
            transfer_->marked = true;
            break;
    }
    if (open) return data_ready(now);
    open_data(now);
}

void ServerSession::send_mark() {
    if (transfer_->marked) return;
    transfer_->marked = true;
    ReplyFacts f;
    f.reply = transfer_->mark_reply;
    f.code = code_of(transfer_->mark_reply);
    f.command = transfer_->verb;
    send_line(transfer_->mark, std::move(f));
}

void ServerSession::open_data(Time now) {
    switch (data_.phase) {
        case DataPhase::Idle:
            if (data_.mode != DataMode::Active) return finish_transfer(now, Reply::DataFailed);
            if (profile_.promiscuous_port_binds_unprivileged && profile_.port_promiscuous &&
                data_.from_port && *data_.from_port < 1024) {
                explain("with port_promiscuous=YES vsftpd makes the active data connection in "
                        "the unprivileged session process, which may not bind port " +
                        std::to_string(*data_.from_port) +
                        " (connect_from_port_20=YES): bind() fails with EACCES, the session "
                        "dies and its privileged helper follows; the control connection closes");
                drop_data_plan();
                return die(now, {Reply::BindFailed, Reply::HelperGone});
            }
            data_step(DataPhaseEvent::Connect);
            connect_deadline_ = after(now, profile_.connect_timeout);
            return;
        case DataPhase::Listening:
            if (transfer_) accept_deadline_ = now + profile_.accept_timeout;
            return;
        case DataPhase::Failed:
            if (transfer_) finish_transfer(now, Reply::DataFailed);
            return;
        case DataPhase::Connecting:
        case DataPhase::Open:
        case DataPhase::Draining: return;
    }
}

bool ServerSession::peer_allowed(const HostPort& remote) const {
    if (data_.only_from && remote != *data_.only_from) return false;
    if (data_.mode == DataMode::Active) return true;  // we chose the peer ourselves
    return profile_.pasv_promiscuous || remote.addr == control_remote_.addr;
}

void ServerSession::reject_peer(Time now) {
    const HostPort remote = data_.remote;
    data_step(DataPhaseEvent::RefusePeer);  // reset; a listener keeps listening (pyftpdlib)
    explain(ExplainKind::RefusedDataPeer, "the data connection comes from " + remote.to_string() + ", not from the client " +
            control_remote_.addr.to_string() + ": the server refuses it");
    const std::string addr = remote.addr.to_string(), port = std::to_string(remote.port);
    if (profile_.reject_foreign_at_accept)  // pyftpdlib: answer now (no command), keep listening
        return reply_to(std::nullopt, Reply::BadIpConnecting, {addr, port});
    if (transfer_) finish_transfer(now, Reply::BadIpConnecting, {addr, port});
}

void ServerSession::data_ready(Time now) {
    if (!peer_allowed(data_.remote)) return reject_peer(now);
    accept_deadline_ = kNever;
    send_mark();
    if (is_incoming(transfer_->kind)) {
        data_deadline_ = after(now, profile_.data_connection_timeout);
        if (config_.explicit_data_path) actions_.push_back(ReceiveInto{data_.id, transfer_->upload});
        if (!early_bytes_.empty()) on_bytes(now, data_.id, std::exchange(early_bytes_, {}));
        return;
    }
    // Like vsftpd: write() the whole file, close() the data socket, and only then the 226. The
    // caller reports DataDrained when the bytes and our FIN are acknowledged.
    const auto& p = transfer_->payload;
    if (p && transfer_->payload_offset < p->size()) {
        if (config_.explicit_data_path)
            actions_.push_back(SendFile{data_.id, p, transfer_->payload_offset});
        else
            actions_.push_back(SendData{data_.id, p->read(0, static_cast<std::size_t>(p->size()))});
    }
    data_step(DataPhaseEvent::SentAll);  // close our end (FIN)
}

void ServerSession::finish_sending(Time now) {
    finish_transfer(now, transfer_->final_reply, {Vfs::base_name(transfer_->path)});
}

void ServerSession::receive_data(Time now, const DataEvent& event) {
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, DataConnected>) on_connected(now, e.id, e.remote);
            else if constexpr (std::is_same_v<T, DataBytes>) on_bytes(now, e.id, e.bytes);
            else if constexpr (std::is_same_v<T, DataClosed>) on_closed(now, e.id, false);
            else if constexpr (std::is_same_v<T, DataReset>) on_closed(now, e.id, true);
            else if constexpr (std::is_same_v<T, DataDrained>) on_drained(now, e.id);
            else if constexpr (std::is_same_v<T, DataListening>) on_listening(now, e.id, e.local);
            else if constexpr (std::is_same_v<T, DataListenFailed>) on_listen_failed(now, e.id);
            else if constexpr (std::is_same_v<T, DataStored>) on_stored(now, e.id, e.bytes, e.failed);
            else if constexpr (std::is_same_v<T, DataSent>) {
                if (e.id == data_.id) data_step(DataPhaseEvent::Sent);  // the 226 waits for DataDrained
            }
            else on_connect_failed(now, e.id);  // refused, timed out
        },
        event);
}

void ServerSession::close_handed_over() {
    if (state_ != ServerState::DataChannel) return;
    inbuf_.clear();
    accept_deadline_ = connect_deadline_ = idle_deadline_ = data_deadline_ = kNever;
    step(ServerEvent::ConnectionLost);
}

void ServerSession::attach_single_port_data(Time now, DataId id, HostPort, HostPort remote) {
    if (data_.mode != DataMode::SinglePort || data_.id != id) return;
    on_connected(now, id, remote);
}

void ServerSession::on_connected(Time now, DataId id, HostPort remote) {
    if (id != data_.id) return;
    if (!next_data_phase(data_.phase, DataPhaseEvent::Connected)) {
        data_step(DataPhaseEvent::Connected);  // not allowed here: recorded as a protocol error
        return;
    }
    const bool accepted = data_.phase == DataPhase::Listening;
    connect_deadline_ = kNever;
    data_.remote = remote;
    if (accepted && profile_.reject_foreign_at_accept && !peer_allowed(remote))
        return reject_peer(now);
    data_step(DataPhaseEvent::Connected);  // a passive listener stops listening
    if (data_.announce_on_connect) {
        data_.announce_on_connect = false;
        reply_to(std::exchange(data_.late_reply_to, std::nullopt), Reply::ActiveEstablished);
    }
    if (transfer_) data_ready(now);
}

void ServerSession::on_connect_failed(Time now, DataId id) {
    if (id != data_.id || !data_step(DataPhaseEvent::ConnectFailed)) return;
    connect_deadline_ = kNever;
    if (data_.announce_on_connect) {  // pyftpdlib's PORT is answered only now
        const auto late = data_.late_reply_to;
        drop_data_plan();
        return reply_to(late, Reply::ActiveFailed);
    }
    if (transfer_) finish_transfer(now, Reply::DataFailed);
}

void ServerSession::on_bytes(Time now, DataId id, std::string bytes) {
    if (id != data_.id || !data_step(DataPhaseEvent::Bytes)) return;
    if (!transfer_) {  // kept for the transfer command to come, up to a bound (issue #17)
        if (early_bytes_.size() + bytes.size() > kMaxEarlyDataBytes) return refuse_early_data();
        early_bytes_ += bytes;
        return;
    }
    if (!is_incoming(transfer_->kind)) return;
    // Without explicit_data_path the bytes come here (live/); else only bytes that arrived
    // before the transfer existed (early_bytes_), into the upload's sink like the rest.
    transfer_->upload->write(bytes);
    upload_grew(now);
}

// More than kMaxEarlyDataBytes before the transfer command: a real server would stop reading and
// let TCP's window hold the peer; the model resets the connection instead, says why, and forgets
// the plan (the transfer command that may follow gets 425 like one without PORT/PASV).
void ServerSession::refuse_early_data() {
    explain(ExplainKind::EarlyDataLimit,
            "more than " + std::to_string(kMaxEarlyDataBytes) +
                " bytes arrived on the data connection before a transfer command: the server keeps no "
                "more and resets the connection");
    early_bytes_.clear();
    data_step(DataPhaseEvent::Abort);
    drop_data_plan();
}

void ServerSession::on_stored(Time now, DataId id, std::uint64_t, bool failed) {
    if (id != data_.id || !data_step(DataPhaseEvent::Stored)) return;
    if (!transfer_ || !is_incoming(transfer_->kind)) return;
    if (failed) {
        data_step(DataPhaseEvent::Abort);
        return finish_transfer(now, Reply::DiskFull);
    }
    upload_grew(now);
}

void ServerSession::upload_grew(Time now) {
    data_deadline_ = after(now, profile_.data_connection_timeout);
    if (!vfs_.fits(transfer_->path, projected_size())) {
        data_step(DataPhaseEvent::Abort);
        explain(ExplainKind::DiskFull, "the disk is full (quota " + std::to_string(vfs_.quota().value_or(0)) +
                " bytes): the server aborts the upload");
        finish_transfer(now, Reply::DiskFull);
    }
}

std::uint64_t ServerSession::projected_size() const {
    const VfsEntry* e = vfs_.find(transfer_->path);
    const std::uint64_t existing = e ? e->size : 0;
    const std::uint64_t received = transfer_->upload->size();
    if (transfer_->kind == TransferKind::Appe) return existing + received;
    if (transfer_->offset > 0) return std::max(existing, transfer_->offset + received);
    return received;
}

void ServerSession::on_closed(Time now, DataId id, bool reset) {
    if (id != data_.id) return;
    const DataPhase was = data_.phase;
    // The peer's FIN: this side closes its end too (the receiving server of a 1973 transfer, a
    // STOR's server), so every data connection is closed by both ends.
    if (!data_step(reset ? DataPhaseEvent::Reset : DataPhaseEvent::PeerClosed)) return;
    if (transfer_ && was == DataPhase::Draining) {  // our FIN went out; the 226 was still to come
        if (reset) return finish_transfer(now, Reply::SendNetFail);
        return finish_sending(now);  // the peer read everything and closed: the data has left
    }
    if (!transfer_ || was != DataPhase::Open) return;
    if (reset) {
        return finish_transfer(now, is_incoming(transfer_->kind) ? Reply::RecvNetFail
                                                                 : Reply::SendNetFail);
    }
    if (!is_incoming(transfer_->kind)) return finish_transfer(now, Reply::SendNetFail);
    store_received(now);
}

void ServerSession::on_drained(Time now, DataId id) {
    if (id != data_.id || !data_step(DataPhaseEvent::Drained)) return;
    finish_sending(now);  // Draining always has a transfer
}

void ServerSession::store_received(Time now) {
    const WriteMode mode = transfer_->kind == TransferKind::Appe ? WriteMode::Append
                           : transfer_->offset > 0               ? WriteMode::At
                                                                 : WriteMode::Replace;
    const VfsStatus st = vfs_.store(transfer_->path, *transfer_->upload, mode, transfer_->offset);
    if (st == VfsStatus::QuotaExceeded) return finish_transfer(now, Reply::DiskFull);
    if (st != VfsStatus::Ok) return finish_transfer(now, Reply::StorFail);
    finish_transfer(now, transfer_->final_reply, {Vfs::base_name(transfer_->path)});
}

void ServerSession::finish_transfer(Time now, Reply reply,
                                    std::initializer_list<std::string_view> args, bool ends_transfer) {
    if (ends_transfer && transfer_) transfer_reply(reply, args, reply == transfer_->final_reply);
    else send_reply(reply, args);
    transfer_.reset();
    early_bytes_.clear();
    accept_deadline_ = connect_deadline_ = data_deadline_ = kNever;
    idle_deadline_ = after(now, profile_.idle_session_timeout);
    drop_data_plan();
    step(ServerEvent::TransferEnded);
    process_buffer(now);  // the commands that waited for the transfer
}

void ServerSession::drop_data_plan() {
    data_step(DataPhaseEvent::Drop);  // stop listening, reset a connect, close an open connection
    data_ = DataPlan{};
}

bool ServerSession::data_step(DataPhaseEvent e) {
    const auto t = next_data_phase(data_.phase, e);
    if (!t) {
        protocol_error(std::string("data connection: ") + to_string(e) + " in " + to_string(data_.phase));
        return false;
    }
    data_.phase = t->to;
    const DataId id = data_.id;
    if (t->effects & kResetData) actions_.push_back(CloseData{id, true});
    if (t->effects & kCloseData) actions_.push_back(CloseData{id, false});
    if ((t->effects & kStopListening) && data_.mode == DataMode::Passive) actions_.push_back(StopListening{id});
    if ((t->effects & kForgetIdentifier) && data_.mode == DataMode::SinglePort && context_)
        context_->forget_spsv_ids(id_);
    if (t->effects & kListen)
        actions_.push_back(Listen{id, control_local_.addr, data_.local_port, data_.local_port});
    if (t->effects & kConnect) actions_.push_back(Connect{id, data_.target, data_.from_port});
    return true;
}

Time ServerSession::next_expiry() const {
    return std::min({accept_deadline_, connect_deadline_, idle_deadline_, data_deadline_});
}

void ServerSession::on_timer(Time now) {
    if (now >= connect_deadline_) {
        connect_deadline_ = kNever;
        if (data_.phase == DataPhase::Connecting) {
            actions_.push_back(Explain{"the active data connection to " + data_.target.to_string() + " is not up after " +
                                           std::to_string(profile_.connect_timeout / 1'000'000'000) +
                                           " s (connect_timeout): the server gives up",
                                       ExplainKind::Other, profile_.connect_timeout});
            data_step(DataPhaseEvent::Abort);
            const bool announce = data_.announce_on_connect;
            const auto late = data_.late_reply_to;
            drop_data_plan();
            if (announce) reply_to(late, Reply::ConnectTimeout);  // pyftpdlib: PORT's late answer
            else if (transfer_) finish_transfer(now, Reply::ConnectTimeout);
        }
    }
    if (now >= data_deadline_) {
        data_deadline_ = kNever;
        if (transfer_ && data_.phase == DataPhase::Open) {
            actions_.push_back(Explain{"no data arrived for " + std::to_string(profile_.data_connection_timeout / 1'000'000'000) +
                                           " s (data_connection_timeout): the server ends the session",
                                       ExplainKind::Other, profile_.data_connection_timeout});
            data_step(DataPhaseEvent::Abort);
            return die(now, {Reply::DataTimeout});
        }
    }
    if (now >= idle_deadline_) {
        idle_deadline_ = kNever;
        if (!transfer_ && state_ != ServerState::Closed && state_ != ServerState::DataChannel) {
            actions_.push_back(Explain{"no command for " + std::to_string(profile_.idle_session_timeout / 1'000'000'000) +
                                           " s (idle_session_timeout): the server ends the session",
                                       ExplainKind::Other, profile_.idle_session_timeout});
            return die(now, {Reply::IdleTimeout});
        }
    }
    if (now < accept_deadline_) return;
    accept_deadline_ = kNever;
    if (!transfer_ || data_.phase != DataPhase::Listening) return;
    explain("no data connection arrived in time: the server gives up waiting");
    finish_transfer(now, Reply::AcceptTimeout);
}

// ---- Output ------------------------------------------------------------------------------------

// A reply's code: the three digits its template starts with (check_reply_override keeps a
// profile's own text to its default's code).
int ServerSession::code_of(Reply r) const {
    const std::string& t = profile_.replies[static_cast<std::size_t>(r)];
    if (t.size() < 3) return 0;
    int code = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (t[i] < '0' || t[i] > '9') return 0;
        code = code * 10 + (t[i] - '0');
    }
    return code;
}

// The facts of a reply to the command being handled: its final reply ends it (a transfer
// command's: refused before its transfer began).
ReplyFacts ServerSession::answer_facts(std::optional<Reply> r, int code) {
    ReplyFacts f;
    f.reply = r;
    f.code = code;
    f.command = answering_;
    if (answering_ && code >= 200) {
        if (verb_info(*answering_).needs_data_connection())
            f.transfer = ReplyFacts::TransferEnd{std::string(answering_arg_), false};
        answering_.reset();
    }
    return f;
}

void ServerSession::send_reply(Reply r, std::initializer_list<std::string_view> args) {
    send_line(profile_.reply(r, args), answer_facts(r, code_of(r)));
}

void ServerSession::send_composed(std::string text, int code) {
    send_line(std::move(text), answer_facts(std::nullopt, code));
}

// A reply to `command` (nullopt: to none) that is not the one being handled: a reply that waited
// (PASV's on DataListening, pyftpdlib's PORT's on the connection) or one to no command.
void ServerSession::reply_to(std::optional<Verb> command, Reply r, std::initializer_list<std::string_view> args) {
    ReplyFacts f;
    f.reply = r;
    f.code = code_of(r);
    f.command = command;
    send_line(profile_.reply(r, args), std::move(f));
}

// The final reply of the transfer under way: it ends the transfer command.
void ServerSession::transfer_reply(Reply r, std::initializer_list<std::string_view> args, bool ok) {
    ReplyFacts f;
    f.reply = r;
    f.code = code_of(r);
    f.command = transfer_->verb;
    f.transfer = ReplyFacts::TransferEnd{transfer_->argument, ok};
    send_line(profile_.reply(r, args), std::move(f));
}

void ServerSession::send_line(std::string line, ReplyFacts facts) {
    actions_.push_back(SendControl{std::move(line) + "\r\n", std::move(facts)});
}

void ServerSession::explain(std::string text) { actions_.push_back(Explain{std::move(text)}); }
void ServerSession::explain(ExplainKind kind, std::string text) {
    actions_.push_back(Explain{std::move(text), kind});
}

void ServerSession::step(ServerEvent e) {
    // An event the table does not list for this state leaves the state alone (h11's rule) and
    // is a protocol error, as in the client.
    if (const auto next = next_server_state(state_, e)) state_ = *next;
    else protocol_error(std::string("control connection: ") + to_string(e) + " in " + to_string(state_));
}

void ServerSession::protocol_error(std::string text) {
    explain("protocol error: " + text);
    protocol_errors_.push_back(std::move(text));
}

// ================================================================================================
// FtpServer
// ================================================================================================

std::string default_spsv_id(const RandomSource& random) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::uint64_t v = random ? random() : 0;
    std::string id;
    for (int i = 0; i < 8; ++i) {
        id += kAlphabet[v % kAlphabet.size()];
        v /= kAlphabet.size();
    }
    return id;
}

FtpServer::FtpServer(ServerConfig config, Vfs vfs, RandomSource random)
    : config_(std::move(config)), vfs_(std::move(vfs)), random_(std::move(random)) {}

SessionId FtpServer::accept(Time now, HostPort control_local, HostPort control_remote) {
    const SessionId sid = next_session_++;
    // Sessions share the server's random source (a copy of a stateful generator would repeat it).
    RandomSource shared = [this] { return random_ ? random_() : 0; };
    auto s = std::make_unique<ServerSession>(config_, vfs_, std::move(shared), sid, control_local,
                                             control_remote, this);
    const bool full = config_.max_users != 0 && user_sessions() >= config_.max_users;
    if (!running_) s->reject_while_down(now);
    else if (!full) s->start(now);
    else if (!spsv_.empty()) s->start(now, true);
    else s->refuse(now);
    sessions_[sid] = std::move(s);
    collect(sid);
    return sid;
}

void FtpServer::shutdown(Time now) {
    if (!running_) return;
    running_ = false;
    spsv_.clear();
    hand_overs_.clear();
    for (auto& [sid, s] : sessions_) {
        s->shutdown(now);
        collect(sid);
    }
}

void FtpServer::restart(Time) {
    running_ = true;
    released_errors_.clear();  // closed sessions' errors go with them, as below
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (it->second->state() != ServerState::Closed) {
            ++it;
            continue;
        }
        if (auto k = known_.find(it->first); k != known_.end()) {
            if (k->second.expiry != kNever) by_expiry_.erase({k->second.expiry, it->first});
            if (k->second.user) --user_count_;
            known_.erase(k);
        }
        release_after_timer_.erase(it->first);
        it = sessions_.erase(it);
    }
}

void FtpServer::release(SessionId sid) {
    const auto it = sessions_.find(sid);
    if (it == sessions_.end()) return;
    ServerSession& s = *it->second;
    // A handed-over SPSV connection (draft-rosenau): its connection is its owner's data
    // connection, which the caller reports to the owner; as a session it is done.
    if (s.state() == ServerState::DataChannel) {
        s.close_handed_over();
        touch(sid);
    }
    if (s.state() != ServerState::Closed) return;
    // A timer still armed (a closed session's idle deadline): freed once it has run, as the
    // session's timer keeps the host's timer (and the run) going until then.
    if (s.next_expiry() != kNever || s.has_actions()) {
        release_after_timer_.insert(sid);
        return;
    }
    if (std::any_of(spsv_.begin(), spsv_.end(), [sid](const auto& kv) { return kv.second.owner == sid; }) ||
        std::any_of(hand_overs_.begin(), hand_overs_.end(),
                    [sid](const PendingHandOver& h) { return h.claimer == sid || h.claim.owner == sid; }))
        return;
    if (!s.protocol_errors().empty()) released_errors_[sid] = s.protocol_errors();
    if (auto k = known_.find(sid); k != known_.end()) {
        if (k->second.expiry != kNever) by_expiry_.erase({k->second.expiry, sid});
        if (k->second.user) --user_count_;
        known_.erase(k);
    }
    release_after_timer_.erase(sid);
    sessions_.erase(it);
}

ServerSession* FtpServer::session(SessionId s) {
    const auto it = sessions_.find(s);
    return it == sessions_.end() ? nullptr : it->second.get();
}

std::size_t FtpServer::user_sessions() const { return user_count_; }

void FtpServer::touch(SessionId sid) {
    const ServerSession* s = session(sid);
    if (!s) return;
    Known& k = known_[sid];
    const Time expiry = s->next_expiry();
    if (expiry != k.expiry) {
        if (k.expiry != kNever) by_expiry_.erase({k.expiry, sid});
        if (expiry != kNever) by_expiry_.insert({expiry, sid});
        k.expiry = expiry;
    }
    const bool user = s->is_user_session();
    if (user != k.user) {
        if (user) ++user_count_;
        else --user_count_;
        k.user = user;
    }
}

std::vector<std::string> FtpServer::protocol_errors() const {
    // In session order, the freed sessions' errors among the others'.
    std::map<SessionId, const std::vector<std::string>*> all;
    for (const auto& [id, errors] : released_errors_) all[id] = &errors;
    for (const auto& [id, s] : sessions_) all[id] = &s->protocol_errors();
    std::vector<std::string> out;
    for (const auto& [id, errors] : all)
        for (const auto& e : *errors) out.push_back("session " + std::to_string(id) + ": " + e);
    return out;
}

void FtpServer::receive_control(Time now, SessionId sid, std::string_view bytes) {
    ServerSession* s = session(sid);
    if (!s) return;
    if (const auto h = s->handed_over()) {  // the bytes belong to the owner's data connection
        receive_data(now, h->owner, DataBytes{h->id, std::string(bytes)});
        return;
    }
    s->receive_control(now, bytes);
    collect(sid);
    complete_hand_overs(now);
}

void FtpServer::receive_data(Time now, SessionId sid, const DataEvent& event) {
    ServerSession* s = session(sid);
    if (!s) return;
    s->receive_data(now, event);
    collect(sid);
}

void FtpServer::control_closed(Time now, SessionId sid) {
    ServerSession* s = session(sid);
    if (!s) return;
    if (const auto h = s->handed_over()) {
        s->control_closed(now);
        touch(sid);
        receive_data(now, h->owner, DataClosed{h->id});
        return;
    }
    s->control_closed(now);
    collect(sid);
}

Time FtpServer::next_expiry() const { return by_expiry_.empty() ? kNever : by_expiry_.begin()->first; }

void FtpServer::on_timer(Time now) {
    // The sessions whose timer is due, in session order (as a walk over every session would
    // visit them: their actions come out in that order).
    std::vector<SessionId> due;
    for (auto it = by_expiry_.begin(); it != by_expiry_.end() && it->first <= now; ++it) due.push_back(it->second);
    std::sort(due.begin(), due.end());
    for (SessionId sid : due) {
        ServerSession* s = session(sid);
        if (!s || s->next_expiry() > now) continue;
        s->on_timer(now);
        collect(sid);
    }
    for (SessionId sid : due)
        if (release_after_timer_.count(sid)) release(sid);
}

std::vector<ServerAction> FtpServer::take_actions() {
    std::vector<ServerAction> out(std::make_move_iterator(out_.begin()), std::make_move_iterator(out_.end()));
    out_.clear();
    return out;
}

std::optional<SessionAction> FtpServer::poll_action() {
    if (out_.empty()) return std::nullopt;
    SessionAction a = std::move(out_.front());
    out_.pop_front();
    return a;
}

void FtpServer::collect(SessionId sid) {
    for (auto& a : sessions_.at(sid)->take_actions()) {
        ServerAction sa;
        sa.session = sid;
        sa.what = std::move(a);
        out_.push_back(std::move(sa));
    }
    touch(sid);
}

void FtpServer::complete_hand_overs(Time now) {
    auto pending = std::exchange(hand_overs_, {});
    for (const auto& h : pending) {
        ServerSession* claimer = session(h.claimer);
        ServerSession* owner = session(h.claim.owner);
        ServerAction hand_over;
        hand_over.session = h.claimer;
        hand_over.what = BecomeDataConnection{h.claim.owner, h.claim.id};
        out_.push_back(std::move(hand_over));
        if (!owner || !claimer) continue;
        owner->attach_single_port_data(now, h.claim.id, claimer->control_local(),
                                       claimer->control_remote());
        if (std::string rest = claimer->take_unparsed_bytes(); !rest.empty())
            owner->receive_data(now, DataBytes{h.claim.id, std::move(rest)});
        touch(h.claimer);
        collect(h.claim.owner);
    }
}

std::string FtpServer::issue_spsv_id(SessionId owner, DataId id) {
    std::string identifier;
    for (int attempt = 0;; ++attempt) {
        identifier = config_.spsv_id_generator ? config_.spsv_id_generator(random_)
                                               : default_spsv_id(random_);
        if (attempt > 0) identifier += std::to_string(attempt);  // a generator that repeats itself
        if (is_valid_spsv_id(identifier) && spsv_.find(identifier) == spsv_.end()) break;
        if (attempt > 16) break;
    }
    forget_spsv_ids(owner);  // one pending identifier per session
    spsv_[identifier] = Claim{owner, id};
    return identifier;
}

std::optional<ServerContext::Claim> FtpServer::claim_spsv_id(SessionId claimer,
                                                             std::string_view identifier) {
    const auto it = spsv_.find(identifier);
    if (it == spsv_.end() || it->second.owner == claimer) return std::nullopt;
    const Claim claim = it->second;
    spsv_.erase(it);  // one use only (draft-rosenau 3.1)
    hand_overs_.push_back({claimer, claim});
    return claim;
}

void FtpServer::forget_spsv_ids(SessionId owner) {
    std::erase_if(spsv_, [owner](const auto& kv) { return kv.second.owner == owner; });
}

}  // namespace ftpsim::proto
