#include "live/server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <random>
#include <sstream>
#include <variant>
#include <vector>

#include "live/disk_content.hpp"
#include "live/disk_vfs.hpp"
#include "live/host_transport.hpp"
#include "live/recorder.hpp"
#include "protocol/codec.hpp"
#include "protocol/commands.hpp"
#include "protocol/host.hpp"
#include "protocol/server.hpp"
#include "trace/json.hpp"

namespace ftpsim::live {

using proto::DataId;
using proto::SessionId;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;


int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
    const int saved = errno;
    if (g_signal_pipe[1] >= 0) {
        const char c = 1;
        [[maybe_unused]] auto r = ::write(g_signal_pipe[1], &c, 1);
    }
    errno = saved;
}

// A reply as the recorder wants it: CRLFs removed, lines joined by "\n".
std::string reply_text(std::string_view bytes) {
    std::string out;
    std::size_t i = 0;
    while (i < bytes.size()) {
        std::size_t j = bytes.find('\n', i);
        if (j == std::string_view::npos) j = bytes.size();
        std::string_view line = bytes.substr(i, j - i);
        while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!out.empty()) out += '\n';
        out += line;
        i = j + 1;
    }
    return out;
}

trace::Endpoint ep(const HostPort& hp) { return trace::Endpoint{hp.addr.to_string(), hp.port}; }

}  // namespace

LoginPolicy login_policy_for(const proto::ServerProfile& profile, const ServeOptions& options) {
    LoginPolicy p{profile.failed_login_delay, profile.max_login_fails};
    if (options.login_fail_delay_ns >= 0) p.delay_ns = options.login_fail_delay_ns;
    if (options.max_login_fails >= 0) p.max_fails = options.max_login_fails;
    return p;
}

std::optional<std::string> read_users_file(const std::string& path,
                                           std::map<std::string, UserEntry>& out) {
    std::ifstream in(path);
    if (!in) return path + ": cannot open the users file: " + errno_text(errno);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::istringstream ls(line);
        std::string name, password, mode, extra;
        if (!(ls >> name) || name[0] == '#') continue;
        const std::string where = path + ":" + std::to_string(n) + ": ";
        if (!(ls >> password)) return where + "expected \"NAME PASSWORD [rw|ro]\", got only a name";
        UserEntry e{password, true};
        if (ls >> mode) {
            if (mode == "ro") e.writable = false;
            else if (mode != "rw") return where + "expected rw or ro after the password, got \"" + mode + "\"";
        }
        if (ls >> extra) return where + "unexpected \"" + extra + "\" after \"" + mode + "\"";
        if (name == "anonymous" || name == "ftp")
            return where + "\"" + name + "\" is the anonymous login; use --anonymous/--writable";
        if (out.count(name)) return where + "user \"" + name + "\" is listed twice";
        out[name] = e;
    }
    return std::nullopt;
}

// ================================================================================================

struct LiveServer::Impl final : LiveHooks {
    // The FtpServer as the session host sees it, with live mode's policies in between: one
    // command line at a time (the line limit, a failed login's delay), the replies as the trace
    // and the limits want them, the per-session writability, the transfer size limit.
    struct Sessions final : proto::HostedServer {
        Impl& s;
        Sessions(Impl& impl, proto::FtpServer& server) : HostedServer(server), s(impl) {}
        std::optional<proto::SessionAction> poll_action() override { return s.vet(HostedServer::poll_action()); }
        std::optional<SessionId> accept(proto::Time now, const HostPort& local, const HostPort& remote) override {
            auto sid = HostedServer::accept(now, local, remote);
            if (sid) s.session_accepted(*sid);
            return sid;
        }
        void control_bytes(proto::Time, SessionId sid, std::string_view bytes) override { s.feed_control(sid, bytes); }
        void feed_line(proto::Time now, SessionId sid, std::string_view line) {
            s.enter(sid);
            HostedServer::control_bytes(now, sid, line);
        }
        std::string control_out(SessionId sid, std::string bytes) override { return s.control_out(sid, std::move(bytes)); }
        void control_ended(proto::Time now, SessionId sid, proto::ControlEnd how) override {
            s.enter(sid);
            HostedServer::control_ended(now, sid, how);
        }
        void data_event(proto::Time now, SessionId sid, const proto::DataEvent& e) override {
            s.enter(sid);
            HostedServer::data_event(now, sid, e);
        }
        void on_timer(proto::Time now) override {
            s.disk->writable = false;
            s.disk->current_owner = 0;
            HostedServer::on_timer(now);
        }
        void settled(proto::Time) override { s.disk->trim_cache(); }
    };

    struct Control {
        SessionId sid = 0;
        ConnId conn = -1;
        HostPort local, remote;
        std::int64_t last_command = 0;
        std::string rx;                // incoming bytes for the trace's command lines
        bool rx_overlong = false;      // rx is skipping the rest of a line over kDefaultMaxLine
        int trace_conn = -1;
        std::string node;              // trace lane of this client
        std::uint64_t data_bytes = 0;  // on this session's data connections, both directions
        std::uint64_t transfer_from = 0;  // data_bytes when the last transfer command ended
        std::int64_t connected_at = 0;
        bool authenticated = false;    // logged in (counts against --max-clients)
        bool login_refused = false;    // over --max-clients at login: ends after the 421
        int login_fails = 0;
        bool held = false;             // a failed login's reply is being delayed: not read, not written
        EventLoop::TimerId hold_timer = 0;
        std::string stash;             // lines received before a failed login's delay, fed after it
    };
    struct DataRec {                   // a data connection, for the trace
        SessionId sid = 0;
        int trace_conn = -1;
        std::string peer_node;
    };

    ServeOptions opt;
    std::ostream& log;
    EventLoop loop;
    LiveTransport transport;
    std::unique_ptr<proto::FtpServer> server;
    std::unique_ptr<Sessions> sessions;
    std::unique_ptr<proto::SessionHost> host;
    std::shared_ptr<DiskVfs> disk;
    ListenerId control_listener = -1;
    HostPort listen_local;
    std::map<SessionId, std::unique_ptr<Control>> controls;
    std::map<ConnId, SessionId> session_of_conn;
    std::map<ConnId, DataRec> datas;
    ConnId admitted = -1;              // the connection accept() is about to make a session of
    // The facts of the reply the host is about to send (vet() sees the SendControl, then the
    // host hands its bytes to control_out()).
    SessionId reply_session = 0;
    std::optional<proto::ReplyFacts> reply_facts;
    std::mt19937_64 rng{std::random_device{}()};
    Fd sig_read, sig_write;
    bool stopping = false;
    bool had_session = false;
    std::uint64_t accepted = 0;
    proto::ServerProfile profile;
    LoginPolicy login_policy;
    bool accept_paused = false;        // at the descriptor limit: the listener is not polled
    EventLoop::TimerId accept_timer = 0;
    std::uint64_t refused = 0;         // connections refused by a limit
    // The id maps' size (the host's and the ones above), as of the last sweep: a long-running
    // server keeps entries only for what is open (issue #17). Read from other threads (tests).
    std::atomic<std::size_t> tracked_entries{0};
    std::atomic<std::size_t> sessions_held{0};

    Recorder recorder{"live", "ftpsim serve"};
    bool recording = false;
    std::int64_t origin = -1;

    static LiveTransportOptions transport_options(const ServeOptions& o) {
        LiveTransportOptions t;
        t.connect_timeout_ns = o.connect_timeout_ns;
        t.send_window = 64 * 1024;  // a chunk per loop round: a listing's stats never hold the loop long
        return t;
    }
    Impl(ServeOptions o, std::ostream& l) : opt(std::move(o)), log(l), transport(loop, *this, transport_options(opt)) {}

    // ---- helpers --------------------------------------------------------------------------
    static std::int64_t now() { return EventLoop::now_ns(); }
    trace::TimeNs t() {
        const std::int64_t n = now();
        if (origin < 0) origin = n;
        return n - origin;
    }
    void say(const std::string& s) {
        if (opt.verbose) log << s << std::endl;
    }
    // Errors the operator must see, with or without -v.
    void warn(const std::string& s) { log << "ftpsim serve: " << s << std::endl; }

    bool writable_for(SessionId sid) {
        proto::ServerSession* s = server->session(sid);
        if (!s || s->user().empty()) return false;
        const std::string& u = s->user();
        if (u == "anonymous" || u == "ftp") return opt.anonymous_writable;
        auto it = opt.users.find(u);
        return it != opt.users.end() && it->second.writable;
    }
    // Before each call into a session: who may write, whose upload errors.
    void enter(SessionId sid) {
        disk->writable = writable_for(sid);
        disk->current_owner = sid;
    }
    Control* control(SessionId sid) {
        auto it = controls.find(sid);
        return it == controls.end() ? nullptr : it->second.get();
    }
    Control* control_by_conn(ConnId c) {
        auto it = session_of_conn.find(c);
        return it == session_of_conn.end() ? nullptr : control(it->second);
    }

    // ---- start ----------------------------------------------------------------------------
    std::optional<std::string> start() {
        auto named = proto::server_profile_by_name(opt.profile);
        if (!named) return "--profile " + opt.profile + ": expected vsftpd, pyftpdlib or rfc959";
        try {
            disk = std::make_shared<DiskVfs>(opt.root);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        disk->max_transfer = opt.max_transfer;
        proto::ServerConfig cfg;
        cfg.profile = *named;
        cfg.profile.listing.now = ::time(nullptr);
        for (const auto& [name, text] : opt.replies)
            if (auto e = proto::override_reply(cfg.profile, name, text)) return "--profile " + opt.profile + ": " + *e;
        if (opt.passive_ports) {
            cfg.profile.pasv_min_port = opt.passive_ports->first;
            cfg.profile.pasv_max_port = opt.passive_ports->second;
        }
        for (const auto& [name, u] : opt.users) cfg.users[name] = u.password;
        cfg.allow_anonymous = opt.anonymous;
        // The limits are the live server's (logged-in sessions, unauthenticated connections, per
        // address: see admit and check_login); the core counts every connection.
        cfg.max_users = 0;
        profile = cfg.profile;
        login_policy = login_policy_for(cfg.profile, opt);
        cfg.await_listen = true;
        cfg.explicit_data_path = true;  // files and uploads stream through the host, not the session
        proto::Vfs vfs;
        vfs.set_backend(disk);
        auto rnd = [this] { return rng(); };
        server = std::make_unique<proto::FtpServer>(std::move(cfg), std::move(vfs), rnd);
        sessions = std::make_unique<Sessions>(*this, *server);
        host = std::make_unique<proto::SessionHost>(transport, *sessions);
        transport.attach(*host);

        auto l = host->listen_control(opt.listen.addr, opt.listen.port);
        if (!l) return "--listen " + opt.listen.to_string() + ": " + l.error;
        control_listener = l.id;
        listen_local = HostPort{opt.listen.addr, l.port};
        recording = !opt.trace_file.empty();
        if (recording) {
            recorder.add_node("server", "server", listen_local.addr.to_string());
            if (auto e = recorder.stream_to(opt.trace_file)) return "--trace " + *e;
        }
        // The periodic check of idle sessions and stalled data connections.
        schedule_sweep();
        return std::nullopt;
    }

    void schedule_sweep() {
        loop.add_timer(now() + kSecond / 4, [this] {
            sweep();
            sessions_held = server->sessions_held();
            tracked_entries = host->tracked() + controls.size() + session_of_conn.size() + datas.size() +
                              server->sessions_held();
            if (!stopping) schedule_sweep();
        });
    }

    // ---- what the sessions do (typed actions, before the host carries them out) ------------
    // A file larger than --max-transfer, or one that can no longer be opened, is not sent: the
    // data connection is reset and the session hears so (426).
    std::optional<proto::SessionAction> vet(std::optional<proto::SessionAction> sa) {
        if (!sa) return sa;
        auto* a = std::get_if<proto::Action>(&sa->what);
        if (auto* e = a ? std::get_if<proto::Explain>(a) : nullptr) noted(sa->session, *e);
        if (auto* r = a ? std::get_if<proto::SendControl>(a) : nullptr) {
            reply_session = sa->session;
            reply_facts = r->reply;
        }
        auto* f = a ? std::get_if<proto::SendFile>(a) : nullptr;
        if (!f || !f->source) return sa;
        const auto* disk_file = dynamic_cast<const DiskFileSource*>(f->source.get());
        const bool gone = disk_file && disk_file->failed();
        const std::uint64_t size = f->source->size();
        const bool too_big = opt.max_transfer && size != DiskListingSource::kUnknownSize &&
                             size > f->offset && size - f->offset > opt.max_transfer;
        if (!gone && !too_big) return sa;
        const SessionId sid = sa->session;
        const DataId id = f->id;
        say("[" + std::to_string(sid) + "] " +
            (too_big ? "the file is larger than --max-transfer: the data connection is reset"
                     : "the file can no longer be opened: the data connection is reset"));
        loop.add_timer(now(), [this, sid, id] {
            enter(sid);
            server->receive_data(now(), sid, proto::DataReset{id});
            host->pump();
        });
        return proto::SessionAction{sid, proto::Action{proto::CloseData{id, true}}};
    }

    // ---- control connections --------------------------------------------------------------
    bool admit(ConnId c, const HostPort&, const HostPort& remote) override {
        if (stopping) return false;
        if (auto why = over_limit(remote)) {
            refuse(c, remote, *why);
            return false;
        }
        admitted = c;
        return true;
    }

    void session_accepted(SessionId sid) {
        auto ends = transport.ends(admitted);
        had_session = true;
        auto c = std::make_unique<Control>();
        c->sid = sid;
        c->conn = admitted;
        c->local = ends.local;
        c->remote = ends.remote;
        c->last_command = now();
        c->connected_at = c->last_command;
        ++accepted;
        c->node = accepted == 1 ? std::string("client") : "client-" + std::to_string(accepted);
        if (recording) {
            recorder.add_node(c->node, "client", c->remote.addr.to_string());
            // An SPSV data connection arrives as a control connection: its events wait
            // until its first command has been handled (adopt_as_data rewrites them).
            c->trace_conn = recorder.open_connection(t(), "control", c->node, "server", ep(c->remote),
                                                     ep(c->local), -1, profile.supports_spsv);
        }
        if (opt.verbose) log << "[" << sid << "] control connection from " << c->remote.to_string() << std::endl;
        session_of_conn[admitted] = sid;
        controls[sid] = std::move(c);
    }

    // At the descriptor limit (EMFILE/ENFILE) accept() fails at once while connections wait:
    // polling the listener would spin. It is left out of poll() for 100 ms at a time (the
    // waiting connections stay in the kernel's backlog) and taken back when descriptors free up.
    void accept_failed(ListenerId, int err) override {
        if (accept_paused) return;
        accept_paused = true;
        warn("accept: " + errno_text(err) + ": not accepting connections until descriptors free up");
        if (recording) recorder.refusal(t(), RefusalKind::DescriptorLimit, {}, 0, 0, errno_text(err));
        transport.sockets().pause_listener(control_listener, true);
        accept_timer = loop.add_timer(now() + kSecond / 10, [this] {
            accept_timer = 0;
            resume_accepting();
        });
    }
    void resume_accepting() {
        if (!accept_paused || stopping) return;
        accept_paused = false;
        if (accept_timer) loop.cancel_timer(accept_timer);
        accept_timer = 0;
        transport.sockets().pause_listener(control_listener, false);
    }

    bool authed(SessionId sid) {
        proto::ServerSession* s = server->session(sid);
        if (!s) return false;
        const auto st = s->state();
        return st == proto::ServerState::LoggedIn || st == proto::ServerState::AwaitRnto ||
               st == proto::ServerState::Transfer;
    }

    // Whether a new connection from `remote` is over a limit: nullopt, or the refusal's kind
    // with the count and the limit.
    struct OverLimit {
        RefusalKind kind;
        std::size_t count, limit;
    };
    std::optional<OverLimit> over_limit(const HostPort& remote) {
        std::size_t same = 0, unauth = 0;
        for (const auto& [sid, c] : controls) {
            if (c->remote.addr == remote.addr) ++same;
            if (!c->authenticated) ++unauth;
        }
        if (opt.max_per_address && same >= opt.max_per_address)
            return OverLimit{RefusalKind::PerAddress, same, opt.max_per_address};
        if (opt.max_unauthenticated && unauth >= opt.max_unauthenticated)
            return OverLimit{RefusalKind::Unauthenticated, unauth, opt.max_unauthenticated};
        return std::nullopt;
    }

    // The profile's "too many users" reply, then close; no session is made.
    void refuse(ConnId c, const HostPort& remote, const OverLimit& why) {
        ++refused;
        transport.sockets().send(c, profile.reply(proto::Reply::TooManyUsers) + "\r\n");
        say("refused " + remote.to_string() + ": " +
            render_refusal(why.kind, remote.addr.to_string(), why.count, why.limit, ""));
        if (recording) recorder.refusal(t(), why.kind, remote.addr.to_string(), why.count, why.limit, "");
    }

    // After each command line: a session that has just logged in counts against --max-clients;
    // over it, the profile's 421 went out instead of the 230 and the session ends.
    void check_login(SessionId sid) {
        Control* c = control(sid);
        if (!c) return;
        if (c->login_refused) return end_session(sid, "");
        if (!c->authenticated && authed(sid)) c->authenticated = true;
    }

    // The reply that logs a session in: over --max-clients it becomes the profile's 421 instead,
    // and the session ends after it (check_login).
    bool login_over_limit(Control& c) {
        std::size_t logged_in = 0;
        for (const auto& [other, oc] : controls)
            if (oc->authenticated) ++logged_in;
        if (!opt.max_clients || logged_in < opt.max_clients) return false;
        ++refused;
        say("[" + std::to_string(c.sid) + "] " +
            render_refusal(RefusalKind::MaxClients, c.remote.addr.to_string(), logged_in, opt.max_clients, ""));
        if (recording) recorder.refusal(t(), RefusalKind::MaxClients, c.remote.addr.to_string(), logged_in, opt.max_clients, "");
        c.login_refused = true;
        return true;
    }

    // The server ends a session: `last` (a 421) goes out, the session is told, the connection
    // closes once the bytes are written.
    void end_session(SessionId sid, const std::string& last) {
        Control* c = control(sid);
        if (!c) return;
        if (recording && c->trace_conn >= 0) {
            if (!last.empty()) recorder.reply(t(), c->trace_conn, reply_text(last));
            recorder.close(t(), c->trace_conn, "server", false);
        }
        c->trace_conn = -1;
        if (c->hold_timer) loop.cancel_timer(c->hold_timer);
        c->hold_timer = 0;
        c->held = false;
        transport.end_control(c->conn, last);
    }

    // What a session sends on its control connection, on its way out. Every decision comes from
    // the reply's facts (proto::ReplyFacts: which reply, its code, the command it answers, the
    // transfer it ends), never from its text: a profile may word its replies any way.
    std::string control_out(SessionId sid, std::string bytes) {
        std::optional<proto::ReplyFacts> facts;
        if (reply_session == sid) facts = std::exchange(reply_facts, std::nullopt);
        Control* c = control(sid);
        if (!c) return bytes;
        const proto::ReplyFacts f = facts.value_or(proto::ReplyFacts{});
        // A store that failed with a system error (the disk, the staging directory): the reply
        // says which.
        if (f.code >= 400)
            if (auto e = disk->take_error(sid)) bytes = store_failure_reply(sid, f, *e);
        const bool login_failed = f.command == proto::Verb::PASS && f.reply == proto::Reply::LoginIncorrect;
        const bool logs_in = f.reply == proto::Reply::LoginOk || f.reply == proto::Reply::AcctOk;
        if (logs_in && !c->authenticated && !c->login_refused && authed(sid) && login_over_limit(*c))
            bytes = profile.reply(proto::Reply::TooManyUsers) + "\r\n";
        if (recording && c->trace_conn >= 0) recorder.reply(t(), c->trace_conn, reply_text(bytes));
        if (f.transfer) transfer_ended(*c, f);
        if (login_failed) failed_login(sid);
        return bytes;
    }

    // A store failed with a system error: the reply says which (452 for a full disk, 552 for a
    // quota or file size limit, the reply's own code otherwise), and the log says it too.
    std::string store_failure_reply(SessionId sid, const proto::ReplyFacts& f, const DiskVfs::WriteError& e) {
        int code = f.code;
        if (e.err == ENOSPC) code = 452;
        else if (e.err == EDQUOT || e.err == EFBIG) code = 552;
        warn("[" + std::to_string(sid) + "] " + e.what + ": " + errno_text(e.err));
        if (recording) recorder.store_failed(t(), e.staging, e.name, e.err);
        return std::to_string(code) + " Cannot store the file: " + errno_text(e.err) + ".\r\n";
    }

    // PASS answered 530: the reply waits login_policy.delay_ns on a timer while the connection
    // is neither read nor written (other clients are served meanwhile); after max_fails failures
    // the connection is closed once the reply is out (vsftpd's delay_failed_login and
    // max_login_fails, pyftpdlib's auth_failed_timeout and max_login_attempts).
    void failed_login(SessionId sid) {
        Control* c = control(sid);
        if (!c) return;
        ++c->login_fails;
        const bool last = login_policy.max_fails > 0 && c->login_fails >= login_policy.max_fails;
        if (recording)
            recorder.login_failed(t(), c->node, c->login_fails, login_policy.max_fails, login_policy.delay_ns, last);
        say("[" + std::to_string(sid) + "] failed login " + std::to_string(c->login_fails) +
            (last ? ": the connection is closed after the reply" : ""));
        c->held = true;
        transport.hold(c->conn, true);
        const std::int64_t until = now() + std::max<std::int64_t>(login_policy.delay_ns, 0);
        c->hold_timer = loop.add_timer(until, [this, sid, last] {
            Control* cc = control(sid);
            if (!cc) return;
            cc->held = false;
            cc->hold_timer = 0;
            if (last) {
                cc->stash.clear();
                return end_session(sid, "");
            }
            transport.hold(cc->conn, false);
            feed_lines(sid, std::exchange(cc->stash, std::string()));
        });
    }

    // The bytes go to the session as they come: it keeps a command line within kDefaultMaxLine
    // and its queue within kMaxQueuedCommandBytes (protocol/server.hpp). Only a complete line is
    // activity for the idle timeout (no slowloris).
    void feed_control(SessionId sid, std::string_view bytes) {
        Control* c = control(sid);
        if (!c) return;
        if (bytes.find('\n') != std::string_view::npos) c->last_command = now();
        feed_lines(sid, std::string(bytes));
    }

    // One line at a time into the session, its actions carried out before the next; while a
    // failed login's reply is delayed, the rest waits in `stash` (so pipelined guesses are not
    // answered faster than the policy allows).
    void feed_lines(SessionId sid, std::string pass) {
        std::size_t from = 0;
        while (from < pass.size()) {
            Control* c = control(sid);
            if (!c) return;
            if (c->held) {
                c->stash.append(pass, from);
                return;
            }
            std::size_t nl = pass.find('\n', from);
            nl = nl == std::string::npos ? pass.size() : nl + 1;
            const std::string_view chunk(pass.data() + from, nl - from);
            from = nl;
            track_commands(*c, chunk);
            const int conn = c->trace_conn;
            sessions->feed_line(now(), sid, chunk);
            host->pump();
            check_login(sid);
            if (recording) recorder.settle(conn);
        }
    }

    // The command lines received, as the trace's command events (recorded, never read for a
    // decision: what a line is, the session says). A line over kDefaultMaxLine is not a command:
    // the session answers it 500 and says so (ExplainKind::LineTooLong, see noted()); its bytes
    // are skipped here up to its LF.
    void track_commands(Control& c, std::string_view bytes) {
        if (!recording) return;
        if (c.rx_overlong) {
            const auto lf = bytes.find('\n');
            if (lf == std::string_view::npos) return;
            bytes.remove_prefix(lf + 1);
            c.rx_overlong = false;
        }
        c.rx += bytes;
        std::size_t nl;
        while ((nl = c.rx.find('\n')) != std::string::npos) {
            if (nl + 1 > proto::kDefaultMaxLine) {  // over-long, its end in this piece
                c.rx.erase(0, nl + 1);
                continue;
            }
            std::string line = c.rx.substr(0, nl);
            while (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.size() > 256) line = line.substr(0, 256) + "... (" + std::to_string(line.size()) + " bytes)";
            if (recording && c.trace_conn >= 0) recorder.command(t(), c.trace_conn, line);
            c.rx.erase(0, nl + 1);
        }
        if (c.rx.size() >= proto::kDefaultMaxLine) {  // over-long: skip up to its LF
            c.rx.clear();
            c.rx_overlong = true;
        }
    }

    // A decision of the protocol core about session `sid`, before the host carries it out. An
    // over-long command line (answered 500 next) is a typed fact on the client's lane.
    void noted(SessionId sid, const proto::Explain& e) {
        if (e.kind != proto::ExplainKind::LineTooLong) return;
        Control* c = control(sid);
        if (!c) return;
        if (recording && c->trace_conn >= 0) recorder.line_too_long(t(), c->node, proto::kDefaultMaxLine);
    }

    // The final reply of a transfer command (the session says so: ReplyFacts::transfer) is the
    // trace's Transfer; its bytes are what this session's data connections carried since the
    // previous one ended.
    void transfer_ended(Control& c, const proto::ReplyFacts& f) {
        const std::uint64_t bytes = c.data_bytes - c.transfer_from;
        c.transfer_from = c.data_bytes;
        if (!recording || !f.command) return;
        trace::Transfer tr;
        tr.client = c.node;
        tr.command = std::string(proto::verb_info(*f.command).name);
        tr.path = f.transfer->argument.size() > 256 ? f.transfer->argument.substr(0, 256) + "..." : f.transfer->argument;
        tr.reply = f.code;
        tr.ok = f.transfer->ok;
        tr.bytes = bytes;
        recorder.add_transfer(tr);
    }

    void count_data(SessionId sid, std::uint64_t n) {
        if (Control* c = control(sid)) c->data_bytes += n;
    }

    // ---- what the sockets did (LiveHooks) ----------------------------------------------------
    void data_opened(ConnId c, ConnId control_conn, bool we_connected, const HostPort& local,
                     const HostPort& remote) override {
        DataRec d;
        Control* ctl = control_by_conn(control_conn);
        if (ctl) {
            d.sid = ctl->sid;
            d.peer_node = ctl->node;
            if (recording) {
                d.trace_conn = we_connected
                                   ? recorder.open_connection(t(), "data", "server", ctl->node, ep(local), ep(remote),
                                                              ctl->trace_conn)
                                   : recorder.open_connection(t(), "data", ctl->node, "server", ep(remote), ep(local),
                                                              ctl->trace_conn);
            }
        }
        datas[c] = d;
    }

    bool connect_failed(const HostPort& remote, ConnectStatus st, int err, std::int64_t elapsed_ns, bool) override {
        say("connect to " + remote.to_string() + ": " + to_string(st) + (err ? " (" + errno_text(err) + ")" : ""));
        if (recording)
            recorder.connect_failed(t(), "server", {}, ep(remote),
                                    st == ConnectStatus::Refused       ? trace::SocketError::Refused
                                    : st == ConnectStatus::Unreachable ? trace::SocketError::Unreachable
                                                                       : trace::SocketError::TimedOut,
                                    elapsed_ns);
        return false;
    }

    void listen_failed(const HostPort&, int, const std::string& message) override { say(message); }
    void note(const std::string& text) override { say(text); }

    void data_in(ConnId c, std::size_t n) override {
        auto it = datas.find(c);
        if (it == datas.end()) return;
        if (recording && it->second.trace_conn >= 0) recorder.data(t(), it->second.trace_conn, it->second.peer_node, n);
        count_data(it->second.sid, n);
    }
    void data_out(ConnId c, std::size_t n) override {
        auto it = datas.find(c);
        if (it == datas.end()) return;
        if (recording && it->second.trace_conn >= 0) recorder.data(t(), it->second.trace_conn, "server", n);
        count_data(it->second.sid, n);
    }

    // A connection ended: its first close is the trace's (by us or by the peer).
    void ended(ConnId c, bool data, bool us, bool reset, int) override {
        if (data) {
            auto it = datas.find(c);
            if (it == datas.end()) return;
            if (recording && it->second.trace_conn >= 0)
                recorder.close(t(), it->second.trace_conn, us ? std::string("server") : it->second.peer_node, reset);
            it->second.trace_conn = -1;
            return;
        }
        Control* ctl = control_by_conn(c);
        if (!ctl) return;
        if (recording && ctl->trace_conn >= 0) recorder.close(t(), ctl->trace_conn, us ? "server" : ctl->node, reset);
        ctl->trace_conn = -1;
    }

    // SPSV: this control connection is from now on a data connection of another session, on
    // that session's lane (as `ftpsim import` draws it).
    void relabeled(ConnId c, ConnId owner_conn) override {
        auto it = session_of_conn.find(c);
        if (it == session_of_conn.end()) return;
        const SessionId sid = it->second;
        session_of_conn.erase(it);
        auto cit = controls.find(sid);
        if (cit == controls.end()) return;
        std::unique_ptr<Control> was = std::move(cit->second);
        controls.erase(cit);
        DataRec d;
        d.trace_conn = was->trace_conn;
        if (Control* owner = control_by_conn(owner_conn)) {
            d.sid = owner->sid;
            d.peer_node = owner->node;
            if (recording && d.trace_conn >= 0 && owner->trace_conn >= 0) recorder.adopt_as_data(d.trace_conn, owner->trace_conn);
        }
        if (recording) recorder.settle(d.trace_conn);
        if (was->hold_timer) loop.cancel_timer(was->hold_timer);
        datas[c] = d;
        // As a session it is done: the host reports its connection's events to the owner from now
        // on, so the FtpServer closes and frees it (from the loop: the host is mid-pump here).
        loop.add_timer(now(), [this, sid] { server->release(sid); });
    }

    void explained(const proto::Explain& e) override {
        say("  " + e.text);
        if (!recording) return;
        switch (e.kind) {
        case proto::ExplainKind::LineTooLong: return;  // recorded by noted(), on the client's lane
        case proto::ExplainKind::CommandQueueLimit:
            return recorder.note(t(), "server", e.text, trace::Fact::ServerCommandQueueLimit);
        default: return recorder.note(t(), "server", e.text);
        }
    }

    // A connection is gone: a data connection's record goes; a control connection's session is
    // forgotten once the host is done with it (from the loop).
    void gone(ConnId c, bool data) override {
        if (data) {
            datas.erase(c);
        } else if (auto it = session_of_conn.find(c); it != session_of_conn.end()) {
            const SessionId sid = it->second;
            session_of_conn.erase(it);
            loop.add_timer(now(), [this, sid] { forget_session(sid); });
        }
        resume_accepting();  // a descriptor is free again
    }

    void forget_session(SessionId sid) {
        auto it = controls.find(sid);
        if (it == controls.end()) return;
        if (it->second->hold_timer) loop.cancel_timer(it->second->hold_timer);
        if (recording && it->second->trace_conn >= 0) recorder.close(t(), it->second->trace_conn, "server", false);
        say("[" + std::to_string(sid) + "] closed");
        controls.erase(it);
        // Closed sessions are forgotten (FtpServer::restart only erases closed sessions while
        // the server runs).
        if (!stopping) server->restart(now());
        if (opt.once && controls.empty()) loop.stop();
    }

    // ---- timeouts -------------------------------------------------------------------------
    void sweep() {
        const std::int64_t n = now();
        for (ConnId c : transport.idle_data(n - opt.data_timeout_ns)) {
            auto it = datas.find(c);
            say("[" + std::to_string(it == datas.end() ? 0 : it->second.sid) + "] data connection stalled: reset");
            if (recording) recorder.data_stalled(t(), opt.data_timeout_ns);
            transport.reset_now(c);
        }
        // Idle: no complete command line for --idle-timeout (bytes of an unfinished line do
        // not count: a line must complete within the timeout), and no data progress; or not
        // logged in after --login-timeout.
        std::vector<std::pair<SessionId, TimeoutKind>> idle;
        for (const auto& [sid, c] : controls) {
            if (c->held || !transport.ends(c->conn).open) continue;
            bool busy = false;
            for (const auto& [dc, d] : datas)
                if (d.sid == sid && n - transport.last_progress(dc) < opt.idle_timeout_ns) busy = true;
            if (!busy && n - c->last_command > opt.idle_timeout_ns) idle.emplace_back(sid, TimeoutKind::Idle);
            else if (!c->authenticated && opt.login_timeout_ns > 0 && n - c->connected_at > opt.login_timeout_ns)
                idle.emplace_back(sid, TimeoutKind::Login);
        }
        for (const auto& [sid, kind] : idle) {
            const std::int64_t limit = kind == TimeoutKind::Idle ? opt.idle_timeout_ns : opt.login_timeout_ns;
            if (opt.verbose) log << "[" << sid << "] " << render_timeout(kind, limit) << ": 421 and close" << std::endl;
            if (recording) recorder.timeout(t(), kind, limit);
            end_session(sid, "421 Timeout.\r\n");
        }
    }

    // ---- stopping -------------------------------------------------------------------------
    void shutdown_all() {
        stopping = true;
        if (accept_timer) loop.cancel_timer(accept_timer);
        accept_timer = 0;
        host->stop_listening_control();
        server->shutdown(now());
        host->pump();
        // One last attempt to write what is queued (the 421s), then close everything.
        for (auto& [sid, c] : controls) {
            if (recording && c->trace_conn >= 0) recorder.close(t(), c->trace_conn, "server", false);
            c->trace_conn = -1;
        }
        transport.shutdown_all();
        controls.clear();
    }
};

// ================================================================================================

LiveServer::LiveServer(ServeOptions options, std::ostream& log)
    : impl_(std::make_unique<Impl>(std::move(options), log)) {}

LiveServer::~LiveServer() {
    if (g_signal_pipe[0] >= 0 && impl_->sig_read.get() == g_signal_pipe[0]) {
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        g_signal_pipe[0] = g_signal_pipe[1] = -1;
    }
}

std::optional<std::string> LiveServer::start() { return impl_->start(); }

HostPort LiveServer::local() const { return impl_->listen_local; }

std::optional<std::string> LiveServer::bounce_warning() const {
    if (!impl_->server || !impl_->profile.port_promiscuous) return std::nullopt;
    return "profile " + impl_->opt.profile +
           " allows bounce connections: PORT and EPRT may name any host and port (privileged ports "
           "included), and the server connects there (RFC 2577 \"FTP bounce\"); serve it on loopback or "
           "a network you trust, or use --profile vsftpd";
}

void LiveServer::run() {
    impl_->loop.run_until(nullptr);
    impl_->shutdown_all();
}

void LiveServer::stop() { impl_->loop.stop(); }

std::size_t LiveServer::tracked_entries() const { return impl_->tracked_entries.load(); }

std::size_t LiveServer::sessions_held() const { return impl_->sessions_held.load(); }

void LiveServer::stop_on_signals() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return;
    impl_->sig_read = Fd(p[0]);
    impl_->sig_write = Fd(p[1]);
    g_signal_pipe[0] = p[0];
    g_signal_pipe[1] = p[1];
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGXFSZ, SIG_IGN);  // past RLIMIT_FSIZE a write fails with EFBIG (the reply says so)
    Impl* impl = impl_.get();
    impl->loop.watch(p[0], [impl] {
        char buf[16];
        while (::read(impl->sig_read.get(), buf, sizeof buf) > 0) {}
        impl->say("signal: stopping");
        impl->loop.stop();
    }, nullptr);
}

std::optional<std::string> LiveServer::write_trace() {
    if (impl_->opt.trace_file.empty()) return std::nullopt;
    impl_->recorder.add_model_note(
        "recorded by ftpsim serve on real sockets: commands, replies and data byte counts as the "
        "server saw them (no TCP segments)");
    impl_->recorder.add_model_note(
        "written as it happened (--trace streams): a data connection's byte count is one event, "
        "written when the connection closed and stamped with its first byte's time");
    if (auto e = impl_->recorder.finish_stream()) return "--trace " + *e;
    return std::nullopt;
}

int serve(const ServeOptions& options, std::ostream& out, std::ostream& err) {
    LiveServer server(options, err);
    if (auto e = server.start()) {
        err << "ftpsim serve: " << *e << "\n";
        return 2;
    }
    server.stop_on_signals();
    if (auto w = server.bounce_warning()) err << "ftpsim serve: warning: " << *w << std::endl;
    out << "ftpsim serve: listening on " << server.local().to_string() << ", root " << options.root
        << ", profile " << options.profile << std::endl;
    server.run();
    if (auto e = server.write_trace()) {
        err << "ftpsim serve: " << *e << "\n";
        return 1;
    }
    if (!options.trace_file.empty()) out << "ftpsim serve: trace written to " << options.trace_file << std::endl;
    out << "ftpsim serve: stopped" << std::endl;
    return 0;
}

}  // namespace ftpsim::live
