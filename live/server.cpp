#include "live/server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <ostream>
#include <random>
#include <sstream>
#include <variant>
#include <vector>

#include "live/disk_vfs.hpp"
#include "live/recorder.hpp"
#include "protocol/codec.hpp"
#include "protocol/server.hpp"
#include "trace/json.hpp"

namespace ftpsim::live {

using proto::DataId;
using proto::SessionId;

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kListChunk = 16 * 1024;  // a listing's chunk: about 250 entries, each a stat
constexpr std::int64_t kSecond = 1'000'000'000;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

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

// The reply code of a reply's first line; 0 when it has none.
int reply_code(std::string_view bytes) {
    if (bytes.size() < 3 || bytes[0] < '1' || bytes[0] > '5' || !std::isdigit(static_cast<unsigned char>(bytes[1])) ||
        !std::isdigit(static_cast<unsigned char>(bytes[2])))
        return 0;
    return (bytes[0] - '0') * 100 + (bytes[1] - '0') * 10 + (bytes[2] - '0');
}

}  // namespace

LoginPolicy login_policy_for(const std::string& profile) {
    if (profile == "vsftpd") return {3 * kSecond, 3};
    if (profile == "pyftpdlib") return {3 * kSecond, 3};
    return {};
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

struct LiveServer::Impl {
    using Key = std::pair<SessionId, DataId>;

    struct Control {
        SessionId sid = 0;
        Fd fd;
        HostPort local, remote;
        std::string out;
        std::size_t out_off = 0;
        bool close_after_flush = false;
        std::int64_t last_command = 0;
        std::size_t line_len = 0;      // bytes of the current line given to the session
        bool discarding = false;       // the rest of an over-long line is dropped
        std::string rx;                // incoming bytes for the trace's command lines
        int trace_conn = -1;
        std::string node;              // trace lane of this client
        // For the trace's transfers: the commands awaiting their final reply, in order.
        struct Pending {
            std::string verb, arg;
            std::uint64_t bytes_before = 0;
        };
        std::deque<Pending> awaiting;
        bool greeted = false;
        std::uint64_t data_bytes = 0;  // on this session's data connections, both directions
        std::int64_t connected_at = 0;
        bool authenticated = false;    // logged in (counts against --max-clients)
        bool login_refused = false;    // over --max-clients at login: ends after the 421
        int login_fails = 0;
        bool held = false;             // a failed login's reply is being delayed: not read, not written
        EventLoop::TimerId hold_timer = 0;
        std::int64_t hold_until = 0;
        std::string stash;             // lines received before a failed login's delay, fed after it
    };
    using Item = std::variant<std::string, DiskVfs::Stream, std::unique_ptr<DiskVfs::DirListing>>;
    struct Data {
        Key key;
        Fd fd;
        bool connecting = false;
        bool passive = false;
        EventLoop::TimerId connect_timer = 0;
        HostPort local, remote;
        std::deque<Item> queue;        // what the session asked to send, in order
        std::string buf;               // the chunk being written
        std::size_t buf_off = 0;
        bool close_after = false;      // CloseData{abort=false}: FIN once the queue is empty
        bool fin_sent = false;
        EventLoop::TimerId drain_timer = 0;
        std::int64_t last_progress = 0;
        std::int64_t started = 0;      // an active connect's start
        Fd spool;                      // an upload's bytes so far (O_TMPFILE), see spool()
        std::uint64_t spooled = 0;
        int spool_err = 0;             // why the staging file failed
        int trace_conn = -1;
        std::string initiator;         // trace lane names
        std::string peer_node;
    };

    ServeOptions opt;
    std::ostream& log;
    EventLoop loop;
    std::unique_ptr<proto::FtpServer> server;
    std::shared_ptr<DiskVfs> disk;
    Fd listen_fd;
    HostPort listen_local;
    std::map<SessionId, std::unique_ptr<Control>> controls;
    std::map<Key, std::unique_ptr<Data>> datas;
    std::map<Key, Listener> listeners;
    std::mt19937_64 rng{std::random_device{}()};
    EventLoop::TimerId session_timer = 0;
    proto::Time session_timer_at = proto::kNever;
    Fd sig_read, sig_write;
    bool stopping = false;
    bool had_session = false;
    std::uint64_t accepted = 0;
    proto::ServerProfile profile;
    LoginPolicy login_policy;
    bool accept_paused = false;        // at the descriptor limit: the listener is not polled
    EventLoop::TimerId accept_timer = 0;
    std::uint64_t refused = 0;         // connections refused by a limit

    Recorder recorder{"live", "ftpsim serve"};
    bool recording = false;
    std::int64_t origin = -1;

    Impl(ServeOptions o, std::ostream& l) : opt(std::move(o)), log(l) {}

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
    // Before each call into a session: who may write, whose stream tokens.
    void enter(SessionId sid) {
        disk->writable = writable_for(sid);
        disk->current_owner = sid;
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
        disk->stream_listings = true;
        proto::ServerConfig cfg;
        cfg.profile = *named;
        cfg.profile.listing.now = ::time(nullptr);
        if (opt.passive_ports) {
            cfg.profile.pasv_min_port = opt.passive_ports->first;
            cfg.profile.pasv_max_port = opt.passive_ports->second;
        }
        for (const auto& [name, u] : opt.users) cfg.users[name] = u.password;
        cfg.allow_anonymous = opt.anonymous;
        // The limits are the live server's (logged-in sessions, unauthenticated connections, per
        // address: see on_accept and check_login); the core counts every connection.
        cfg.max_users = 0;
        profile = cfg.profile;
        login_policy = login_policy_for(opt.profile);
        if (opt.login_fail_delay_ns >= 0) login_policy.delay_ns = opt.login_fail_delay_ns;
        if (opt.max_login_fails >= 0) login_policy.max_fails = opt.max_login_fails;
        cfg.await_listen = true;
        proto::Vfs vfs;
        vfs.set_backend(disk);
        auto rnd = [this] { return rng(); };
        server = std::make_unique<proto::FtpServer>(std::move(cfg), std::move(vfs), rnd);

        auto l = listen_tcp(opt.listen.addr, opt.listen.port, opt.listen.port, 0, 511);
        if (auto* e = std::get_if<NetError>(&l)) return "--listen " + opt.listen.to_string() + ": " + e->message;
        auto& lst = std::get<Listener>(l);
        listen_fd = std::move(lst.fd);
        listen_local = lst.local;
        loop.watch(listen_fd.get(), [this] { on_accept(); }, nullptr);
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
            if (!stopping) schedule_sweep();
        });
    }

    // ---- the server's actions -------------------------------------------------------------
    void pump() {
        for (;;) {
            auto actions = server->take_actions();
            if (actions.empty()) break;
            for (auto& sa : actions) {
                if (auto* hand = std::get_if<proto::BecomeDataConnection>(&sa.what)) {
                    become_data(sa.session, *hand);
                    continue;
                }
                apply(sa.session, std::get<proto::Action>(sa.what));
            }
        }
        disk->trim_cache();
        const proto::Time next = server->next_expiry();
        if (next != session_timer_at) {
            if (session_timer) loop.cancel_timer(session_timer);
            session_timer = 0;
            session_timer_at = next;
            if (next != proto::kNever) {
                session_timer = loop.add_timer(next, [this] {
                    session_timer = 0;
                    session_timer_at = proto::kNever;
                    disk->writable = false;
                    disk->current_owner = 0;
                    server->on_timer(now());
                    pump();
                });
            }
        }
    }

    void apply(SessionId sid, const proto::Action& action) {
        std::visit(Overloaded{
                       [&](const proto::SendControl& a) { send_control(sid, a.bytes); },
                       [&](const proto::Listen& a) { do_listen(sid, a); },
                       [&](const proto::StopListening& a) {
                           if (auto it = listeners.find({sid, a.id}); it != listeners.end()) {
                               loop.unwatch(it->second.fd.get());
                               listeners.erase(it);
                           }
                       },
                       [&](const proto::Connect& a) { do_connect(sid, a); },
                       [&](const proto::SendData& a) { send_data({sid, a.id}, a.bytes); },
                       [&](const proto::CloseData& a) { close_data({sid, a.id}, a.abort); },
                       [&](const proto::CloseControl& a) { close_control(sid, a.abort); },
                       // SendFile/ReceiveInto come only with ServerConfig::explicit_data_path
                       // (the session host, protocol/host.hpp), which live mode does not set yet.
                       [&](const proto::SendFile&) {}, [&](const proto::ReceiveInto&) {},
                       [&](const proto::Explain& a) {
                           say("  [" + std::to_string(sid) + "] " + a.text);
                           if (recording) recorder.note(t(), "server", a.text);
                       },
                   },
                   action);
    }

    // ---- control connections --------------------------------------------------------------
    void on_accept() {
        for (int i = 0; i < 64; ++i) {
            int err = 0;
            auto a = accept_tcp(listen_fd.get(), &err);
            if (!a) {
                if (err == EMFILE || err == ENFILE) pause_accepting(err);
                return;
            }
            if (stopping) {
                a->fd.reset();
                continue;
            }
            if (auto why = over_limit(a->remote)) {
                refuse(*a, *why);
                continue;
            }
            had_session = true;
            auto c = std::make_unique<Control>();
            c->fd = std::move(a->fd);
            c->local = a->local;
            c->remote = a->remote;
            c->last_command = now();
            c->connected_at = c->last_command;
            ++accepted;
            c->node = accepted == 1 ? std::string("client") : "client-" + std::to_string(accepted);
            const int fd = c->fd.get();
            const SessionId sid = server->accept(now(), a->local, a->remote);
            c->sid = sid;
            if (recording) {
                recorder.add_node(c->node, "client", c->remote.addr.to_string());
                // An SPSV data connection arrives as a control connection: its events wait
                // until its first command has been handled (adopt_as_data rewrites them).
                c->trace_conn = recorder.open_connection(t(), "control", c->node, "server", ep(c->remote),
                                                         ep(c->local), -1, profile.supports_spsv);
            }
            if (opt.verbose) log << "[" << sid << "] control connection from " << c->remote.to_string() << std::endl;
            controls[sid] = std::move(c);
            loop.watch(fd, [this, sid] { on_control_readable(sid); }, nullptr);
            pump();
        }
    }

    // At the descriptor limit (EMFILE/ENFILE) accept() fails at once while connections wait:
    // polling the listener would spin. It is left out of poll() for 100 ms at a time (the
    // waiting connections stay in the kernel's backlog) and taken back when descriptors free up.
    void pause_accepting(int err) {
        if (accept_paused) return;
        accept_paused = true;
        warn("accept: " + errno_text(err) + ": not accepting connections until descriptors free up");
        if (recording)
            recorder.refusal(t(), RefusalKind::DescriptorLimit, {}, 0, 0, errno_text(err));
        loop.set_readable(listen_fd.get(), nullptr);
        accept_timer = loop.add_timer(now() + kSecond / 10, [this] {
            accept_timer = 0;
            resume_accepting();
        });
    }
    void resume_accepting() {
        if (!accept_paused || !listen_fd.valid()) return;
        accept_paused = false;
        if (accept_timer) loop.cancel_timer(accept_timer);
        accept_timer = 0;
        loop.set_readable(listen_fd.get(), [this] { on_accept(); });
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

    // The profile's "too many users" reply, written once without waiting, then close.
    void refuse(Accepted& a, const OverLimit& why) {
        ++refused;
        const std::string line = profile.reply(proto::Reply::TooManyUsers) + "\r\n";
        [[maybe_unused]] auto r = write_some(a.fd.get(), line.data(), line.size());
        say("refused " + a.remote.to_string() + ": " + render_refusal(why.kind, a.remote.addr.to_string(), why.count, why.limit, ""));
        if (recording) recorder.refusal(t(), why.kind, a.remote.addr.to_string(), why.count, why.limit, "");
        a.fd.close();
    }

    // After each call into a session: a session that has just logged in counts against
    // --max-clients; over it, the profile's 421 and close.
    void check_login(SessionId sid) {
        Control* c = control(sid);
        if (!c) return;
        if (c->login_refused) return end_session(sid, "");
        if (!c->authenticated && authed(sid)) c->authenticated = true;
    }

    // The reply that logs a session in (230 to USER or PASS): over --max-clients it becomes the
    // profile's 421 instead, and the session ends after it (check_login).
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
        if (!last.empty()) send_control(sid, last);
        Control* c = control(sid);
        if (!c) return;
        if (recording && c->trace_conn >= 0) recorder.close(t(), c->trace_conn, "server", false);
        c->trace_conn = -1;
        server->control_closed(now(), sid);  // the session ends; its actions are dropped
        pump();
        close_control(sid, false);
    }

    Control* control(SessionId sid) {
        auto it = controls.find(sid);
        return it == controls.end() ? nullptr : it->second.get();
    }

    // The first command still waiting for its final reply ("" when none).
    static std::string front_verb(const Control& c) { return c.awaiting.empty() ? std::string() : c.awaiting.front().verb; }

    void send_control(SessionId sid, const std::string& session_bytes) {
        Control* c = control(sid);
        if (!c) return;
        std::string bytes = session_bytes;
        const int code = reply_code(bytes);
        const std::string verb = front_verb(*c);
        const bool final_reply = code >= 200 && c->greeted;
        if (final_reply && proto::verb_info(verb).transfer == proto::Transfer::Upload) {
            if (auto e = disk->take_error(sid); e && code >= 400) bytes = store_failure_reply(sid, bytes, *e);
        }
        if (disk->stream_listings) expand_inline_listing(bytes);  // STAT PATH
        const bool login_failed = final_reply && code == 530 && verb == "PASS";
        if (code == 230 && (verb == "USER" || verb == "PASS") && !c->authenticated && !c->login_refused &&
            login_over_limit(*c))
            bytes = profile.reply(proto::Reply::TooManyUsers) + "\r\n";
        if (recording && c->trace_conn >= 0) recorder.reply(t(), c->trace_conn, reply_text(bytes));
        note_reply(*c, bytes);
        c->out += bytes;
        if (login_failed) return failed_login(sid);
        flush_control(sid);
    }

    // A store failed with a system error: the reply says which (452 for a full disk, 552 for a
    // quota or file size limit, the profile's code otherwise), and the log says it too.
    std::string store_failure_reply(SessionId sid, const std::string& bytes, const DiskVfs::WriteError& e) {
        int code = reply_code(bytes);
        if (e.err == ENOSPC) code = 452;
        else if (e.err == EDQUOT || e.err == EFBIG) code = 552;
        std::string text = bytes.substr(4);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '.')) text.pop_back();
        if (text.find('\n') != std::string::npos) text = "Cannot store the file";  // a multi-line reply
        warn("[" + std::to_string(sid) + "] " + e.what + ": " + errno_text(e.err));
        if (recording) recorder.store_failed(t(), e.staging, e.name, e.err);
        return std::to_string(code) + " " + text + ": " + errno_text(e.err) + ".\r\n";
    }

    // STAT PATH: the listing goes over the control connection; it is rendered here in memory,
    // cut at kInlineListing bytes (with a line saying so).
    static constexpr std::size_t kInlineListing = 1 << 20;
    void expand_inline_listing(std::string& bytes) {
        auto l = disk->take_listing(bytes, proto::ListingKind::Long, profile.listing);
        if (!l) return;
        // The placeholder's line: from the LF before it to the CRLF after it.
        const std::size_t at = bytes.find('\x01');
        const std::size_t begin = bytes.rfind('\n', at) == std::string::npos ? 0 : bytes.rfind('\n', at) + 1;
        std::size_t end = bytes.find('\n', at);
        end = end == std::string::npos ? bytes.size() : end + 1;
        std::string listing;
        bool more = true;
        while (more && listing.size() < kInlineListing) more = l->next(listing, kInlineListing);
        if (more) listing += " (the listing is cut at " + std::to_string(kInlineListing) + " bytes: use LIST)\r\n";
        bytes.replace(begin, end - begin, listing);
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
        auto release = [this, sid, last] {
            Control* cc = control(sid);
            if (!cc) return;
            cc->held = false;
            cc->hold_timer = 0;
            if (last) {
                cc->stash.clear();
                return end_session(sid, "");
            }
            loop.set_readable(cc->fd.get(), [this, sid] { on_control_readable(sid); });
            flush_control(sid);
            if (!control(sid)) return;
            feed_lines(sid, std::exchange(control(sid)->stash, std::string()));
        };
        if (login_policy.delay_ns <= 0) return release();
        c->held = true;
        loop.set_readable(c->fd.get(), nullptr);
        loop.set_writable(c->fd.get(), nullptr);
        c->hold_until = now() + login_policy.delay_ns;
        c->hold_timer = loop.add_timer(c->hold_until, release);
    }

    void flush_control(SessionId sid) {
        Control* c = control(sid);
        if (!c || c->held) return;
        while (c->out_off < c->out.size()) {
            IoResult r = write_some(c->fd.get(), c->out.data() + c->out_off, c->out.size() - c->out_off);
            if (r.would_block) break;
            if (r.err) return control_lost(sid, true);
            c->out_off += r.n;
        }
        if (c->out_off == c->out.size()) {
            c->out.clear();
            c->out_off = 0;
            if (c->close_after_flush) return drop_control(sid, false);
            if (loop.watching(c->fd.get())) loop.set_writable(c->fd.get(), nullptr);
        } else {
            loop.set_writable(c->fd.get(), [this, sid] { flush_control(sid); });
        }
    }

    void on_control_readable(SessionId sid) {
        Control* c = control(sid);
        if (!c || c->held) return;
        char buf[16384];
        for (int round = 0; round < 4; ++round) {
            IoResult r = read_some(c->fd.get(), buf, sizeof buf);
            if (r.would_block) return;
            if (r.eof || r.err) return control_lost(sid, r.err != 0);
            feed_control(sid, std::string_view(buf, r.n));
            c = control(sid);
            if (!c || c->held) return;
        }
    }

    // Gives the session at most one over-long line's first kDefaultMaxLine + 1 bytes (it answers
    // 500 and drops them, see protocol/codec.hpp) and drops the rest of that line here.
    void feed_control(SessionId sid, std::string_view bytes) {
        Control* c = control(sid);
        std::string pass;
        pass.reserve(bytes.size());
        for (char ch : bytes) {
            if (c->discarding) {
                if (ch == '\n') {
                    c->discarding = false;
                    c->line_len = 0;
                    c->last_command = now();
                }
                continue;
            }
            pass += ch;
            if (ch == '\n') {
                c->line_len = 0;
                c->last_command = now();  // only a complete line is activity (no slowloris)
            } else if (++c->line_len > proto::kDefaultMaxLine) {
                c->discarding = true;
                if (recording && c->trace_conn >= 0) recorder.line_too_long(t(), c->node, proto::kDefaultMaxLine);
            }
        }
        feed_lines(sid, std::move(pass));
    }

    // One line at a time into the session; while a failed login's reply is delayed, the rest
    // waits in `stash` (so pipelined guesses are not answered faster than the policy allows).
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
            enter(sid);
            server->receive_control(now(), sid, chunk);
            pump();
            check_login(sid);
            if (recording) recorder.settle(conn);
        }
    }
    int c_trace_conn(SessionId sid) {
        Control* c = control(sid);
        return c ? c->trace_conn : -1;
    }

    // The command lines received, for the trace and to know which transfer is under way.
    void track_commands(Control& c, std::string_view bytes) {
        c.rx += bytes;
        std::size_t nl;
        while ((nl = c.rx.find('\n')) != std::string::npos) {
            std::string line = c.rx.substr(0, nl);
            while (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.size() > 256) line = line.substr(0, 256) + "... (" + std::to_string(line.size()) + " bytes)";
            if (recording && c.trace_conn >= 0) recorder.command(t(), c.trace_conn, line);
            const auto sp = line.find(' ');
            std::string verb = line.substr(0, sp);
            for (char& ch : verb) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            c.awaiting.push_back({verb, sp == std::string::npos ? std::string() : line.substr(sp + 1),
                                  c.data_bytes});
            c.rx.erase(0, nl + 1);
        }
        if (c.rx.size() > proto::kDefaultMaxLine) c.rx.clear();
    }

    // A final reply (not 1yz) ends the oldest command; a transfer command's becomes a Transfer.
    void note_reply(Control& c, std::string_view bytes) {
        if (bytes.size() < 3 || bytes[0] == '1') return;
        if (!c.greeted) {
            c.greeted = true;
            return;
        }
        if (c.awaiting.empty()) return;
        const Control::Pending p = c.awaiting.front();
        c.awaiting.pop_front();
        if (!recording || !proto::verb_info(p.verb).needs_data_connection()) return;  // the verb table
        trace::Transfer tr;
        tr.client = c.node;
        tr.command = p.verb;
        tr.path = p.arg;
        tr.reply = (bytes[0] - '0') * 100 + (bytes[1] - '0') * 10 + (bytes[2] - '0');
        tr.ok = bytes[0] == '2';
        tr.bytes = c.data_bytes - p.bytes_before;
        recorder.add_transfer(tr);
    }

    // The session's current (or next) transfer is an upload: its first transfer command still
    // waiting for the final reply is STOR, APPE or STOU.
    bool upload_under_way(SessionId sid) {
        Control* c = control(sid);
        if (!c) return false;
        for (const auto& p : c->awaiting) {
            const proto::Transfer t = proto::verb_info(p.verb).transfer;
            if (t != proto::Transfer::None) return t == proto::Transfer::Upload;
        }
        return false;
    }

    // Upload bytes go to an unnamed temporary file instead of the session's memory; the session
    // gets a token for them when the data connection closes (DiskVfs::write copies the file).
    // false: not an upload, or no temporary file (then the bytes go to the session as they are).
    enum class Spooled { No, Yes, Failed, OverLimit };
    Spooled spool(Data& d, const char* p, std::size_t n) {
        if (!d.spool.valid() && !upload_under_way(d.key.first)) return Spooled::No;
        if (!d.spool.valid()) {
            const std::string dir = staging_dir();
            int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
            if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                // No O_TMPFILE on this file system: a named file, unlinked at once.
                std::string tmpl = dir + "/ftpsim-upload-XXXXXX";
                fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
                if (fd >= 0) ::unlink(tmpl.c_str());
            }
            if (fd < 0) {
                d.spool_err = errno;
                return Spooled::Failed;
            }
            d.spool = Fd(fd);
        }
        std::size_t done = 0;
        while (done < n) {
            const ssize_t w = ::write(d.spool.get(), p + done, n - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                d.spool_err = w < 0 ? errno : ENOSPC;
                return Spooled::Failed;
            }
            done += static_cast<std::size_t>(w);
        }
        d.spooled += n;
        if (opt.max_transfer && d.spooled > opt.max_transfer) return Spooled::OverLimit;
        return Spooled::Yes;
    }

    // Where uploads are staged: $TMPDIR, else /tmp.
    static std::string staging_dir() {
        const char* dir = std::getenv("TMPDIR");
        return dir && *dir ? std::string(dir) : std::string("/tmp");
    }

    void count_data(const Key& key, std::uint64_t n) {
        if (Control* c = control(key.first)) c->data_bytes += n;
    }

    // The peer closed or reset the control connection.
    void control_lost(SessionId sid, bool reset) {
        Control* c = control(sid);
        if (!c) return;
        if (recording && c->trace_conn >= 0) recorder.close(t(), c->trace_conn, c->node, reset);
        c->trace_conn = -1;
        enter(sid);
        server->control_closed(now(), sid);
        pump();
        drop_control(sid, false);
    }

    // The session closes its control connection (after the queued bytes).
    void close_control(SessionId sid, bool abort) {
        Control* c = control(sid);
        if (!c) return;
        if (abort) return drop_control(sid, true);
        c->close_after_flush = true;
        flush_control(sid);
    }

    void drop_control(SessionId sid, bool reset) {
        auto it = controls.find(sid);
        if (it == controls.end()) return;
        Control& c = *it->second;
        if (recording && c.trace_conn >= 0) recorder.close(t(), c.trace_conn, "server", reset);
        if (c.hold_timer) loop.cancel_timer(c.hold_timer);
        loop.unwatch(c.fd.get());
        if (reset) c.fd.reset();
        else c.fd.close();
        say("[" + std::to_string(sid) + "] closed");
        controls.erase(it);
        // The session's data connections and listeners go with it.
        std::vector<Key> keys;
        for (const auto& [k, d] : datas)
            if (k.first == sid) keys.push_back(k);
        for (const auto& k : keys) drop_data(k, true);
        for (auto l = listeners.begin(); l != listeners.end();) {
            if (l->first.first == sid) {
                loop.unwatch(l->second.fd.get());
                l = listeners.erase(l);
            } else {
                ++l;
            }
        }
        disk->forget_streams(sid);
        // Closed sessions are forgotten (FtpServer::restart only erases closed sessions while
        // the server runs).
        if (!stopping) server->restart(now());
        resume_accepting();  // a descriptor is free again
        if (opt.once && controls.empty()) loop.stop();
    }

    // SPSV: this control connection is from now on data connection `id` of `owner`.
    void become_data(SessionId sid, const proto::BecomeDataConnection& hand) {
        auto it = controls.find(sid);
        if (it == controls.end()) return;
        std::unique_ptr<Control> c = std::move(it->second);
        controls.erase(it);
        loop.unwatch(c->fd.get());
        auto d = std::make_unique<Data>();
        d->key = {hand.owner, hand.id};
        d->fd = std::move(c->fd);
        d->local = c->local;
        d->remote = c->remote;
        d->passive = true;
        d->last_progress = now();
        d->trace_conn = c->trace_conn;
        Control* owner = control(hand.owner);
        if (owner) d->peer_node = owner->node;
        d->initiator = d->peer_node;
        // The trace: this connection was recorded as a new session's control connection; from
        // now on it is the owner's data connection, on the owner's lane (as `ftpsim import` draws it).
        if (recording && owner && d->trace_conn >= 0 && owner->trace_conn >= 0)
            recorder.adopt_as_data(d->trace_conn, owner->trace_conn);
        if (recording) recorder.settle(d->trace_conn);
        const int fd = d->fd.get();
        const Key key = d->key;
        datas[key] = std::move(d);
        watch_data(key, fd);
        if (!c->out.empty()) {  // the "200 DATA" still queued: it goes out first
            datas[key]->queue.emplace_back(c->out.substr(c->out_off));
            arm_write(key);
        }
    }

    // ---- data connections -----------------------------------------------------------------
    Data* data(const Key& k) {
        auto it = datas.find(k);
        return it == datas.end() ? nullptr : it->second.get();
    }

    void data_event(SessionId sid, const proto::DataEvent& e) {
        enter(sid);
        server->receive_data(now(), sid, e);
        pump();
    }

    void do_listen(SessionId sid, const proto::Listen& a) {
        Control* c = control(sid);
        proto::IpAddress addr = a.addr;
        if (addr.is_unspecified()) addr = c ? c->local.addr : listen_local.addr;
        std::uint16_t lo = a.port_lo, hi = a.port_hi;
        auto r = listen_tcp(addr, lo, hi, lo, 4);
        if (auto* e = std::get_if<NetError>(&r)) {
            say("[" + std::to_string(sid) + "] " + e->message);
            return data_event(sid, proto::DataListenFailed{a.id});
        }
        Listener l = std::move(std::get<Listener>(r));
        const Key key{sid, a.id};
        const int fd = l.fd.get();
        const HostPort local = l.local;
        if (auto old = listeners.find(key); old != listeners.end()) {
            loop.unwatch(old->second.fd.get());
            listeners.erase(old);
        }
        listeners[key] = std::move(l);
        loop.watch(fd, [this, key] { on_data_accept(key); }, nullptr);
        data_event(sid, proto::DataListening{a.id, local});
    }

    void on_data_accept(Key key) {
        auto it = listeners.find(key);
        if (it == listeners.end()) return;
        auto a = accept_tcp(it->second.fd.get());
        if (!a) return;
        if (datas.count(key)) {  // a second connection to a passive port in use: refused
            a->fd.reset();
            return;
        }
        auto d = std::make_unique<Data>();
        d->key = key;
        d->fd = std::move(a->fd);
        d->local = a->local;
        d->remote = a->remote;
        d->passive = true;
        d->last_progress = now();
        if (Control* c = control(key.first)) {
            d->peer_node = c->node;
            d->initiator = c->node;
            if (recording)
                d->trace_conn = recorder.open_connection(t(), "data", c->node, "server", ep(d->remote),
                                                         ep(d->local), c->trace_conn);
        }
        const int fd = d->fd.get();
        const HostPort local = d->local, remote = d->remote;
        datas[key] = std::move(d);
        watch_data(key, fd);
        data_event(key.first, proto::DataConnected{key.second, local, remote});
    }

    void do_connect(SessionId sid, const proto::Connect& a) {
        const Key key{sid, a.id};
        Control* c = control(sid);
        std::optional<HostPort> local;
        if (a.local_port && c) local = HostPort{c->local.addr, *a.local_port};
        auto r = connect_tcp(a.remote, local);
        if (std::holds_alternative<NetError>(r) && local) {
            say("[" + std::to_string(sid) + "] " + std::get<NetError>(r).message +
                ": connecting from an ephemeral port instead");
            r = connect_tcp(a.remote, std::nullopt);
        }
        if (auto* e = std::get_if<NetError>(&r)) {
            say("[" + std::to_string(sid) + "] " + e->message);
            if (recording)
                recorder.connect_failed(t(), "server", {}, ep(a.remote),
                                        e->err == ECONNREFUSED ? trace::SocketError::Refused
                                        : e->err == ENETUNREACH || e->err == EHOSTUNREACH ? trace::SocketError::Unreachable
                                                                                           : trace::SocketError::TimedOut);
            if (e->err == ECONNREFUSED) return data_event(sid, proto::DataRefused{a.id});
            return data_event(sid, proto::DataTimedOut{a.id});
        }
        auto d = std::make_unique<Data>();
        d->key = key;
        d->fd = std::move(std::get<Connecting>(r).fd);
        d->connecting = true;
        d->remote = a.remote;
        d->last_progress = now();
        d->started = d->last_progress;
        if (c) d->peer_node = c->node;
        d->initiator = "server";
        const int fd = d->fd.get();
        d->connect_timer = loop.add_timer(now() + opt.connect_timeout_ns, [this, key] {
            Data* dd = data(key);
            if (!dd || !dd->connecting) return;
            dd->connect_timer = 0;
            if (recording)
                recorder.connect_failed(t(), "server", {}, ep(dd->remote), trace::SocketError::TimedOut, opt.connect_timeout_ns);
            drop_data(key, true);
            data_event(key.first, proto::DataTimedOut{key.second});
        });
        datas[key] = std::move(d);
        loop.watch(fd, nullptr, [this, key] { on_connect_done(key); });
    }

    void on_connect_done(Key key) {
        Data* d = data(key);
        if (!d || !d->connecting) return;
        int err = 0;
        const ConnectStatus st = connect_result(d->fd.get(), &err);
        if (st == ConnectStatus::InProgress) return;
        if (d->connect_timer) loop.cancel_timer(d->connect_timer);
        d->connect_timer = 0;
        d->connecting = false;
        if (st != ConnectStatus::Ok) {
            const std::string what = "connect to " + d->remote.to_string() + ": " + to_string(st);
            say("[" + std::to_string(key.first) + "] " + what);
            if (recording)
                recorder.connect_failed(t(), "server", {}, ep(d->remote),
                                        st == ConnectStatus::Refused       ? trace::SocketError::Refused
                                        : st == ConnectStatus::Unreachable ? trace::SocketError::Unreachable
                                                                           : trace::SocketError::TimedOut,
                                        now() - d->started);
            drop_data(key, false);
            if (st == ConnectStatus::Refused) return data_event(key.first, proto::DataRefused{key.second});
            return data_event(key.first, proto::DataTimedOut{key.second});
        }
        d->local = local_endpoint(d->fd.get()).value_or(HostPort{});
        d->last_progress = now();
        if (recording) {
            Control* c = control(key.first);
            d->trace_conn = recorder.open_connection(t(), "data", "server", d->peer_node, ep(d->local),
                                                     ep(d->remote), c ? c->trace_conn : -1);
        }
        const HostPort local = d->local, remote = d->remote;
        watch_data(key, d->fd.get());
        data_event(key.first, proto::DataConnected{key.second, local, remote});
    }

    void watch_data(const Key& key, int fd) {
        loop.watch(fd, [this, key] { on_data_readable(key); }, nullptr);
    }

    void on_data_readable(Key key) {
        Data* d = data(key);
        if (!d) return;
        char buf[kChunk];
        for (int round = 0; round < 4; ++round) {
            IoResult r = read_some(d->fd.get(), buf, sizeof buf);
            if (r.would_block) return;
            if (r.err) {
                if (recording && d->trace_conn >= 0) recorder.close(t(), d->trace_conn, d->peer_node, true);
                d->trace_conn = -1;
                drop_data(key, true);
                return data_event(key.first, proto::DataReset{key.second});
            }
            if (r.eof) {
                if (recording && d->trace_conn >= 0) recorder.close(t(), d->trace_conn, d->peer_node, false);
                d->trace_conn = -1;
                if (d->spool.valid()) {  // the spooled upload, as a token, before the close
                    const std::string token = disk->add_spool(std::move(d->spool), d->spooled, key.first);
                    data_event(key.first, proto::DataBytes{key.second, token});
                }
                drop_data(key, false);
                return data_event(key.first, proto::DataClosed{key.second});
            }
            d->last_progress = now();
            if (recording && d->trace_conn >= 0) recorder.data(t(), d->trace_conn, d->peer_node, r.n);
            if (recording) count_data(key, r.n);
            const Spooled sp = spool(*d, buf, r.n);
            if (sp == Spooled::Failed) {  // the session answers as for a full disk, with the error
                disk->set_error(key.first, d->spool_err, "cannot write the upload's staging file in " + staging_dir(), true, "");
                disk->stage_failed_owner = key.first;
                data_event(key.first, proto::DataBytes{key.second, std::string(1, 'x')});
                disk->stage_failed_owner = 0;
                if (data(key)) {  // the session did not abort it (no transfer yet): reset
                    drop_data(key, true);
                    data_event(key.first, proto::DataReset{key.second});
                }
                return;
            }
            if (sp == Spooled::OverLimit) {  // the session's size check answers (disk full)
                disk->over_limit_owner = key.first;
                data_event(key.first, proto::DataBytes{key.second, std::string(1, 'x')});
                disk->over_limit_owner = 0;
            } else if (sp == Spooled::No) {
                data_event(key.first, proto::DataBytes{key.second, std::string(buf, r.n)});
            }
            d = data(key);
            if (!d) return;
        }
    }

    void send_data(const Key& key, const std::string& bytes) {
        Data* d = data(key);
        if (!d) return;
        if (auto s = disk->take_stream(bytes)) {
            if (!s->file.valid() || (opt.max_transfer && s->remaining > opt.max_transfer)) {
                say("[" + std::to_string(key.first) + "] " +
                    (s->file.valid() ? "the file is larger than --max-transfer: the data connection is reset"
                                     : "the file can no longer be opened: the data connection is reset"));
                if (recording && d->trace_conn >= 0) recorder.close(t(), d->trace_conn, "server", true);
                d->trace_conn = -1;
                drop_data(key, true);
                return data_event(key.first, proto::DataReset{key.second});
            }
            d->queue.emplace_back(std::move(*s));
        } else if (auto l = disk->take_listing(bytes, listing_kind(key.first), profile.listing)) {
            d->queue.emplace_back(std::move(l));
        } else {
            d->queue.emplace_back(bytes);
        }
        arm_write(key);
    }

    // The kind of listing the session's current transfer command asks for.
    proto::ListingKind listing_kind(SessionId sid) {
        if (Control* c = control(sid))
            for (const auto& p : c->awaiting) {
                if (p.verb == "NLST") return proto::ListingKind::NamesOnly;
                if (p.verb == "MLSD") return proto::ListingKind::Mlsd;
                if (p.verb == "LIST") return proto::ListingKind::Long;
            }
        return proto::ListingKind::Long;
    }

    void arm_write(const Key& key) {
        Data* d = data(key);
        if (!d || d->connecting) return;
        loop.set_writable(d->fd.get(), [this, key] { on_data_writable(key); });
        on_data_writable(key);
    }

    // Fills `buf` from the queue; false when there is nothing more to send.
    bool refill(Data& d) {
        while (d.buf_off >= d.buf.size()) {
            d.buf.clear();
            d.buf_off = 0;
            if (d.queue.empty()) return false;
            Item& front = d.queue.front();
            if (auto* s = std::get_if<std::string>(&front)) {
                d.buf = std::move(*s);
                d.queue.pop_front();
                continue;
            }
            if (auto* l = std::get_if<std::unique_ptr<DiskVfs::DirListing>>(&front)) {
                if (!(*l)->next(d.buf, kListChunk)) d.queue.pop_front();  // the rest is in buf
                continue;
            }
            auto& st = std::get<DiskVfs::Stream>(front);
            if (st.remaining == 0) {
                d.queue.pop_front();
                continue;
            }
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, st.remaining));
            d.buf.resize(want);
            ssize_t n;
            do n = ::pread(st.file.get(), d.buf.data(), want, static_cast<off_t>(st.offset));
            while (n < 0 && errno == EINTR);
            if (n <= 0) {  // the file shrank or failed: what was read is what is sent
                d.buf.clear();
                d.queue.pop_front();
                continue;
            }
            d.buf.resize(static_cast<std::size_t>(n));
            st.offset += static_cast<std::uint64_t>(n);
            st.remaining -= static_cast<std::uint64_t>(n);
        }
        return true;
    }

    void on_data_writable(Key key) {
        Data* d = data(key);
        if (!d || d->connecting) return;
        for (int round = 0; round < 16; ++round) {
            // A listing costs a stat per entry: one chunk per round of the loop, so a large
            // directory never holds the other sessions up for long.
            const bool listing = d->buf_off >= d->buf.size() && !d->queue.empty() &&
                                 std::holds_alternative<std::unique_ptr<DiskVfs::DirListing>>(d->queue.front());
            if (listing && round > 0) return;  // the writable callback stays armed
            if (!refill(*d)) break;
            IoResult r = write_some(d->fd.get(), d->buf.data() + d->buf_off, d->buf.size() - d->buf_off);
            if (r.would_block) return;  // the writable callback stays armed
            if (r.err) {
                if (recording && d->trace_conn >= 0) recorder.close(t(), d->trace_conn, d->peer_node, true);
                d->trace_conn = -1;
                drop_data(key, true);
                return data_event(key.first, proto::DataReset{key.second});
            }
            d->buf_off += r.n;
            d->last_progress = now();
            if (recording && d->trace_conn >= 0) recorder.data(t(), d->trace_conn, "server", r.n);
            if (recording) count_data(key, r.n);
        }
        if (d->buf_off < d->buf.size() || !d->queue.empty()) return;  // more next round
        loop.set_writable(d->fd.get(), nullptr);
        if (d->close_after && !d->fin_sent) send_fin(key);
    }

    void close_data(const Key& key, bool abort) {
        Data* d = data(key);
        if (!d) return;
        if (abort || d->connecting) {
            if (recording && d->trace_conn >= 0) recorder.close(t(), d->trace_conn, "server", true);
            d->trace_conn = -1;
            return drop_data(key, true);
        }
        d->close_after = true;
        if (d->buf_off >= d->buf.size() && d->queue.empty() && !d->fin_sent) send_fin(key);
    }

    // Everything written: our FIN, then DataDrained once the kernel's send queue is empty (the
    // peer acknowledged every byte and the FIN), like a blocking close() returning.
    void send_fin(const Key& key) {
        Data* d = data(key);
        if (!d) return;
        shutdown_write(d->fd.get());
        d->fin_sent = true;
        if (recording && d->trace_conn >= 0) recorder.close(t(), d->trace_conn, "server", false);
        d->trace_conn = -1;
        check_drained(key);
    }

    void check_drained(Key key) {
        Data* d = data(key);
        if (!d) return;
        d->drain_timer = 0;
        if (unsent_bytes(d->fd.get()) == 0) {
            drop_data(key, false);
            return data_event(key.first, proto::DataDrained{key.second});
        }
        d->drain_timer = loop.add_timer(now() + 1'000'000, [this, key] { check_drained(key); });
    }

    void drop_data(const Key& key, bool reset) {
        auto it = datas.find(key);
        if (it == datas.end()) return;
        Data& d = *it->second;
        if (d.connect_timer) loop.cancel_timer(d.connect_timer);
        if (d.drain_timer) loop.cancel_timer(d.drain_timer);
        loop.unwatch(d.fd.get());
        if (reset) d.fd.reset();
        else d.fd.close();
        datas.erase(it);
        resume_accepting();  // a descriptor is free again
    }

    // ---- timeouts -------------------------------------------------------------------------
    void sweep() {
        const std::int64_t n = now();
        std::vector<Key> stalled;
        for (const auto& [k, d] : datas)
            if (n - d->last_progress > (d->connecting ? opt.connect_timeout_ns + kSecond : opt.data_timeout_ns))
                stalled.push_back(k);
        for (const auto& k : stalled) {
            Data* d = data(k);
            if (!d) continue;
            say("[" + std::to_string(k.first) + "] data connection stalled: reset");
            if (recording) {
                recorder.data_stalled(t(), opt.data_timeout_ns);
                if (d->trace_conn >= 0) recorder.close(t(), d->trace_conn, "server", true);
            }
            drop_data(k, true);
            data_event(k.first, proto::DataReset{k.second});
        }
        // Idle: no complete command line for --idle-timeout (bytes of an unfinished line do
        // not count: a line must complete within the timeout), and no data progress; or not
        // logged in after --login-timeout.
        std::vector<std::pair<SessionId, TimeoutKind>> idle;
        for (const auto& [sid, c] : controls) {
            if (c->close_after_flush || c->held) continue;
            bool busy = false;
            for (const auto& [k, d] : datas)
                if (k.first == sid && n - d->last_progress < opt.idle_timeout_ns) busy = true;
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
        if (listen_fd.valid()) {
            loop.unwatch(listen_fd.get());
            listen_fd.close();
        }
        server->shutdown(now());
        pump();
        // One last attempt to write what is queued (the 421s), then close everything.
        std::vector<SessionId> sids;
        for (const auto& [sid, c] : controls) sids.push_back(sid);
        for (SessionId sid : sids) {
            flush_control(sid);
            drop_control(sid, false);
        }
        std::vector<Key> keys;
        for (const auto& [k, d] : datas) keys.push_back(k);
        for (const auto& k : keys) drop_data(k, true);
        for (auto& [k, l] : listeners) loop.unwatch(l.fd.get());
        listeners.clear();
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
