#include "live/client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "live/recorder.hpp"
#include "live/sockets.hpp"
#include "protocol/client.hpp"
#include "trace/json.hpp"

namespace ftpsim::live {

const char* to_string(ClientOp op) {
    switch (op) {
        case ClientOp::Get: return "get";
        case ClientOp::Put: return "put";
        case ClientOp::Ls: return "ls";
    }
    return "?";
}

std::string printable(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

// ---- Checking the arguments ----------------------------------------------------------------

namespace {

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool is_directory(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// What -o names, followed through links: a regular file or nothing (written to a temporary
// file in its folder, renamed over it on success), a character device or a FIFO (written to
// directly: /dev/null, /dev/stdout, a pipe), anything else refused.
std::optional<ArgError> check_output_kind(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return std::nullopt;
    const char* what = S_ISBLK(st.st_mode) ? "a block device" : S_ISSOCK(st.st_mode) ? "a socket" : "not a regular file";
    return ArgError{"-o " + path + ": is " + std::string(what) +
                    " (expected a regular file, a character device such as /dev/null, or a FIFO)"};
}

}  // namespace

std::variant<ClientRequest, ArgError> check_client_args(const ClientArgs& args) {
    ClientRequest r;
    r.op = args.op;
    auto parsed = parse_ftp_url(args.url);
    if (auto* e = std::get_if<UrlError>(&parsed)) return ArgError{e->message};
    r.url = std::get<FtpUrl>(std::move(parsed));

    if (args.mode.empty()) {
        r.mode = proto::DataMode::Auto;
    } else {
        static constexpr std::string_view kModes[] = {"port", "eprt", "pasv", "epsv", "spsv"};
        bool known = false;
        for (auto m : kModes) known = known || m == args.mode;
        if (!known)
            return ArgError{"--mode: unknown data connection mode '" + args.mode +
                            "' (expected port, eprt, pasv, epsv or spsv)"};
        r.mode = *proto::parse_data_mode(args.mode);
    }

    r.profile = proto::find_client_profile(args.profile);
    if (!r.profile) {
        std::string names;
        for (const auto& p : proto::client_profiles()) names += (names.empty() ? "" : ", ") + std::string(p.name);
        return ArgError{"--profile: unknown client profile '" + args.profile + "' (expected one of " + names + ")"};
    }

    if (!std::isfinite(args.timeout_s) || args.timeout_s <= 0 || args.timeout_s > 86400)
        return ArgError{"--timeout: expected a number of seconds in (0, 86400]"};
    r.timeout_ns = static_cast<std::int64_t>(std::llround(args.timeout_s * 1e9));
    if (!std::isfinite(args.max_time_s) || args.max_time_s < 0 || args.max_time_s > 864000)
        return ArgError{"--max-time: expected a number of seconds in [0, 864000] (0 = no limit)"};
    r.max_time_ns = static_cast<std::int64_t>(std::llround(args.max_time_s * 1e9));

    if (args.user) r.user = *args.user;
    else if (r.url.user) r.user = *r.url.user;
    if (args.password) r.password = *args.password;
    else if (r.url.password) r.password = *r.url.password;
    for (const std::string* s : {&r.user, &r.password})
        if (s->find_first_of("\r\n") != std::string::npos)
            return ArgError{"--user/--password: a CR or LF would end the FTP command early"};
    if (r.user.empty()) return ArgError{"--user: the user name is empty"};

    r.trace = args.trace;
    if (!r.trace.empty() && !is_directory(dir_name(r.trace)))
        return ArgError{"--trace " + r.trace + ": the folder " + dir_name(r.trace) + " does not exist"};
    r.verbose = args.verbose;

    switch (args.op) {
        case ClientOp::Get: {
            if (r.url.path_is_directory)
                return ArgError{"URL " + args.url + ": names a directory, not a file (use 'ftpsim ls' to list it)"};
            r.remote_path = r.url.path;
            r.local = args.local.empty() ? r.url.file_name() : args.local;
            if (r.local != "-") {
                if (is_directory(r.local))
                    return ArgError{"-o " + r.local + ": is a directory (expected a file name)"};
                if (!is_directory(dir_name(r.local)))
                    return ArgError{"-o " + r.local + ": the folder " + dir_name(r.local) + " does not exist"};
                if (auto e = check_output_kind(r.local)) return *e;
            }
            break;
        }
        case ClientOp::Put: {
            if (args.local.empty()) return ArgError{"put: expected the local FILE to upload before the URL"};
            struct stat st{};
            if (::stat(args.local.c_str(), &st) != 0)
                return ArgError{"FILE " + args.local + ": " + std::strerror(errno)};
            if (!S_ISREG(st.st_mode)) return ArgError{"FILE " + args.local + ": not a regular file"};
            if (::access(args.local.c_str(), R_OK) != 0)
                return ArgError{"FILE " + args.local + ": " + std::strerror(errno)};
            r.local = args.local;
            r.upload_size = static_cast<std::uint64_t>(st.st_size);
            // Like curl -T: a URL that names a directory gets the file's own name.
            r.remote_path = r.url.path_is_directory ? r.url.path + base_name(args.local) : r.url.path;
            break;
        }
        case ClientOp::Ls: {
            r.remote_path = r.url.path;
            r.local = args.local.empty() ? "-" : args.local;
            if (r.local != "-") {
                if (is_directory(r.local))
                    return ArgError{"-o " + r.local + ": is a directory (expected a file name)"};
                if (!is_directory(dir_name(r.local)))
                    return ArgError{"-o " + r.local + ": the folder " + dir_name(r.local) + " does not exist"};
                if (auto e = check_output_kind(r.local)) return *e;
            }
            break;
        }
    }
    return r;
}

// ---- The driver ----------------------------------------------------------------------------

namespace {

constexpr std::size_t kChunk = 64 * 1024;

trace::Endpoint endpoint(const HostPort& hp) { return {hp.addr.to_string(), hp.port}; }

// The trace's error kind of a failed connect.
trace::SocketError socket_error(ConnectStatus s) {
    switch (s) {
    case ConnectStatus::Refused: return trace::SocketError::Refused;
    case ConnectStatus::TimedOut: return trace::SocketError::TimedOut;
    default: return trace::SocketError::Unreachable;
    }
}

// Writes all of [p, p+n) to a blocking descriptor (a file or stdout).
bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

class Driver {
public:
    explicit Driver(const ClientRequest& r)
        : req_(r), session_(make_config(r)), recorder_("live", title(r)) {}

    ClientOutcome run();

private:
    struct DataConn {
        Fd fd;
        bool connecting = false;
        EventLoop::TimerId connect_timer = 0;
        int rec = -1;                 // recorder connection id
        HostPort local, remote;
        std::string out;              // bytes queued for the socket
        std::size_t out_pos = 0;
        bool upload = false;          // the file is being streamed into it
        bool close_requested = false; // close once `out` (and the upload) is written
        bool reading = true;
        proto::ReplyReader spdt;      // the SPSV handshake's replies, for the trace
    };

    static proto::ClientConfig make_config(const ClientRequest& r, bool ipv6 = false) {
        proto::ClientConfig c;
        c.profile = *r.profile;
        c.mode = r.mode;
        if (ipv6) {
            // PORT and PASV carry IPv4 addresses only (RFC 2428): over IPv6 real clients (curl,
            // lftp, ftplib) use EPRT and EPSV, and never fall back to PORT or PASV.
            const proto::DataMode m = r.mode == proto::DataMode::Auto ? r.profile->default_mode : r.mode;
            if (m == proto::DataMode::Port) c.mode = proto::DataMode::Eprt;
            if (m == proto::DataMode::Pasv) c.mode = proto::DataMode::Epsv;
            c.profile.epsv_falls_back_to_pasv = false;
            c.profile.epsv_connect_falls_back_to_pasv = false;
            c.profile.eprt_falls_back_to_port = false;
        }
        c.script.push_back(proto::login(r.user, r.password));
        switch (r.op) {
            case ClientOp::Get: c.script.push_back(proto::get(r.remote_path)); break;
            // 0 bytes: the driver streams the file itself (see client.hpp).
            case ClientOp::Put: c.script.push_back(proto::put(r.remote_path, 0)); break;
            case ClientOp::Ls: c.script.push_back(proto::ls(r.remote_path)); break;
        }
        c.script.push_back(proto::quit());
        return c;
    }
    static std::string title(const ClientRequest& r) {
        return std::string("ftpsim ") + to_string(r.op) + " ftp://" + r.url.authority() + "/" + r.url.path +
               " (" + std::string(r.profile->name) + ", mode " + proto::to_string(r.mode) + ")";
    }

    proto::Time now() const { return EventLoop::now_ns() - origin_; }
    void activity() { last_activity_ = EventLoop::now_ns(); }
    void log(const std::string& line) {
        if (req_.verbose) std::fprintf(stderr, "%s\n", printable(line).c_str());
    }
    void warn(const std::string& line) {
        std::fprintf(stderr, "ftpsim %s: warning: %s\n", to_string(req_.op), printable(line).c_str());
    }
    void fail(std::string why) {
        if (failure_.empty()) failure_ = std::move(why);
        done_ = true;
    }

    std::string open_sink();  // "" or why the output cannot be written

    // control connection
    bool resolve();
    void try_next_address();
    void on_control_connect_done();
    void on_control_readable();
    void settle_data_sockets();
    void flush_control();
    void close_control(bool abort);
    void record_sent_lines(const std::string& bytes);
    bool check_reply_limits(const char* p, std::size_t n);

    // data connections
    void do_listen(const proto::Listen& a);
    void on_accept(proto::DataId id);
    void do_connect(const proto::Connect& a);
    void on_data_connect_done(proto::DataId id);
    void on_data_readable(proto::DataId id);
    void on_data_writable(proto::DataId id);
    void close_data(proto::DataId id, bool abort);
    void data_event(const proto::DataEvent& e);
    void deliver(proto::DataId id, const char* p, std::size_t n);
    std::string escape_listing(const char* p, std::size_t n);

    void pump();
    void arm_timers();
    void on_inactivity_timer();
    bool transfer_succeeded() const {
        for (const auto& res : session_.results())
            if (!proto::transfer_verb(res.action).empty()) return res.ok;
        return false;
    }

    const ClientRequest& req_;
    proto::ClientSession session_;
    Recorder recorder_;
    EventLoop loop_;
    std::int64_t origin_ = EventLoop::now_ns();
    std::int64_t last_activity_ = origin_;
    EventLoop::TimerId session_timer_ = 0;
    std::int64_t session_timer_at_ = 0;
    EventLoop::TimerId inactivity_timer_ = 0;

    std::vector<HostPort> addresses_;
    std::size_t next_address_ = 0;
    std::string connect_errors_;
    Fd control_;
    bool control_connected_ = false;
    bool control_closing_ = false;
    bool control_abort_ = false;
    int control_rec_ = -1;
    HostPort control_local_, control_remote_;
    std::string control_out_;
    proto::ReplyReader reply_log_;  // the replies again, for the trace and -v
    std::string last_reply_;        // the last line of the last reply, for a failure message
    std::size_t reply_line_len_ = 0;  // bytes of the reply line in progress
    std::string data_reset_;        // "the data connection was reset ..." when it was, mid-transfer

    std::map<proto::DataId, Listener> listeners_;
    std::map<proto::DataId, std::unique_ptr<DataConn>> data_;

    int sink_ = -1;                 // get/ls: where the data goes
    std::string part_path_;         // the temporary file, renamed to the target on success
    bool pending_cr_ = false;       // ls to stdout: a CR held until we know whether LF follows
    int source_ = -1;               // put: the file
    std::uint64_t bytes_ = 0;
    bool sink_failed_ = false;
    std::vector<char> read_buffer_ = std::vector<char>(kChunk);

    bool done_ = false;
    bool quit_unanswered_ = false;  // timed out waiting for 221 after a successful transfer
    std::string failure_;           // a local failure (timeout, connection, disk)
};

// The output: a character device or FIFO is written to directly (never replaced); anything else
// goes to a new temporary file in the target's folder, created with O_EXCL | O_NOFOLLOW under an
// unpredictable name (a planted file or link of that name makes the open fail instead of
// redirecting the download), and renamed over the target only when the transfer succeeded.
std::string Driver::open_sink() {
    const std::string& target = req_.local;
    struct stat st{};
    if (::stat(target.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        // O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of hanging.
        int fd = ::open(target.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            const int e = errno;
            return "cannot write " + target + ": " + std::strerror(e) +
                   (e == ENXIO ? " (a FIFO that nobody reads)" : "");
        }
        struct stat now_st{};
        if (::fstat(fd, &now_st) != 0 || !(S_ISCHR(now_st.st_mode) || S_ISFIFO(now_st.st_mode))) {
            ::close(fd);
            return "cannot write " + target + ": it changed from a device or FIFO while it was opened";
        }
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        sink_ = fd;
        return {};
    }
    const std::string dir = dir_name(target);
    const std::string base = base_name(target);
    for (int attempt = 0; attempt < 16; ++attempt) {
        unsigned char rnd[8];
        if (::getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd))
            return std::string("cannot make a temporary file name: ") + std::strerror(errno);
        char hex[17];
        for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
        std::string path = (dir == "." && target.find('/') == std::string::npos ? std::string() : dir + "/") +
                           "." + base + "." + hex + ".part";
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            sink_ = fd;
            part_path_ = path;
            return {};
        }
        if (errno != EEXIST) return "cannot write a temporary file in " + dir + ": " + std::strerror(errno);
    }
    return "cannot write a temporary file in " + dir + ": every name tried exists";
}

bool Driver::resolve() {
    const FtpUrl& u = req_.url;
    if (auto ip = proto::parse_ip(u.host)) {
        addresses_.push_back({*ip, u.port});
        return true;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(u.host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
        fail("could not resolve the host '" + u.host + "': " + ::gai_strerror(rc));
        return false;
    }
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (auto hp = from_sockaddr(ai->ai_addr, ai->ai_addrlen)) {
            hp->port = u.port;
            bool seen = false;
            for (const auto& a : addresses_) seen = seen || a == *hp;
            if (!seen) addresses_.push_back(*hp);
        }
    }
    ::freeaddrinfo(res);
    if (addresses_.empty()) {
        fail("the host '" + u.host + "' has no IPv4 or IPv6 address");
        return false;
    }
    return true;
}

// Tries the resolved addresses in order until one accepts the control connection.
void Driver::try_next_address() {
    while (next_address_ < addresses_.size()) {
        const HostPort remote = addresses_[next_address_++];
        log("* Connecting to " + remote.to_string());
        auto c = connect_tcp(remote);
        if (auto* e = std::get_if<NetError>(&c)) {
            connect_errors_ += (connect_errors_.empty() ? "" : "; ") + e->message;
            continue;
        }
        control_ = std::move(std::get<Connecting>(c).fd);
        control_remote_ = remote;
        activity();
        loop_.watch(control_.get(), nullptr, [this] { on_control_connect_done(); });
        return;
    }
    fail("could not connect to " + req_.url.authority() + ": " +
         (connect_errors_.empty() ? std::string("no address") : connect_errors_));
}

void Driver::on_control_connect_done() {
    int err = 0;
    ConnectStatus s = connect_result(control_.get(), &err);
    if (s == ConnectStatus::InProgress) return;
    loop_.unwatch(control_.get());
    if (s != ConnectStatus::Ok) {
        std::string what = std::string(to_string(s)) + " (" + errno_text(err) + ")";
        recorder_.connect_failed(now(), "client", {}, endpoint(control_remote_), socket_error(s));
        connect_errors_ += (connect_errors_.empty() ? "" : "; ") + control_remote_.to_string() + ": " + what;
        control_.close();
        try_next_address();
        return;
    }
    activity();
    control_connected_ = true;
    control_local_ = local_endpoint(control_.get()).value_or(HostPort{});
    if (auto peer = peer_endpoint(control_.get())) control_remote_ = *peer;
    log("* Connected to " + control_remote_.to_string() + " from " + control_local_.to_string());
    recorder_.add_node("client", "client", control_local_.addr.to_string());
    recorder_.add_node("server", "server", control_remote_.addr.to_string());
    control_rec_ = recorder_.open_connection(now(), "control", "client", "server", endpoint(control_local_),
                                             endpoint(control_remote_));
    loop_.watch(control_.get(), [this] { on_control_readable(); }, nullptr);
    if (!control_remote_.addr.is_v4()) {
        proto::ClientConfig v6 = make_config(req_, true);
        if (v6.mode != req_.mode)
            log(std::string("* IPv6: ") + (v6.mode == proto::DataMode::Eprt ? "EPRT instead of PORT" : "EPSV instead of PASV") +
                " (PORT and PASV carry IPv4 addresses only)");
        session_ = proto::ClientSession(std::move(v6));
    }
    session_.on_connected(control_local_, control_remote_, now());
    pump();
}

// Before a reply reaches the session, the data connections the kernel has already completed
// do: the server connects (and its ACK arrives) before it sends the 150 or 226 that follows, so
// the session sees the same order as the wire, not the order poll() happens to report.
void Driver::settle_data_sockets() {
    std::vector<proto::DataId> ids;
    for (const auto& [id, l] : listeners_) ids.push_back(id);
    for (auto id : ids) on_accept(id);
    ids.clear();
    for (const auto& [id, c] : data_)
        if (c->connecting) ids.push_back(id);
    for (auto id : ids) on_data_connect_done(id);
}

void Driver::on_control_readable() {
    char buf[16 * 1024];
    {  // one read per readiness: the data sockets get their turn between replies
        IoResult r = read_some(control_.get(), buf, sizeof buf);
        if (r.n > 0) {
            // Bytes alone are not progress: only a whole reply is (a server trickling a line
            // that never ends must not hold the client past --timeout).
            settle_data_sockets();
            if (!control_.valid()) return;
            const proto::Time t = now();
            if (!check_reply_limits(buf, r.n)) return;
            reply_log_.feed(std::string_view(buf, r.n));
            while (auto reply = reply_log_.next()) {
                activity();
                std::string text = reply->raw;
                while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
                std::string joined;
                for (std::size_t i = 0; i < text.size(); ++i) {
                    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
                    joined += text[i];
                }
                recorder_.reply(t, control_rec_, joined);
                last_reply_ = joined.substr(joined.rfind('\n') == std::string::npos ? 0 : joined.rfind('\n') + 1);
                if (req_.verbose) {
                    std::size_t start = 0;
                    while (start <= joined.size()) {
                        auto nl = joined.find('\n', start);
                        log("< " + joined.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
                        if (nl == std::string::npos) break;
                        start = nl + 1;
                    }
                }
            }
            if (reply_log_.buffered() > kMaxReplyBytes) {
                const std::string why = "the server's reply passed " + std::to_string(kMaxReplyBytes) +
                                        " bytes without its last line (the limit for one reply)";
                recorder_.note(now(), "client", why);
                fail(why);
                return;
            }
            session_.receive_control(std::string_view(buf, r.n), t);
            pump();
            return;
        }
        if (r.would_block) return;
        // EOF or an error: the server closed (or reset) the control connection.
        settle_data_sockets();
        if (!control_.valid()) return;
        loop_.unwatch(control_.get());
        const bool reset = !r.eof;
        recorder_.close(now(), control_rec_, "server", reset);
        log(reset ? "* The control connection was reset: " + errno_text(r.err) : "* The server closed the control connection");
        control_.close();
        control_connected_ = false;
        session_.on_control_closed(now());
        pump();
        return;
    }
}

// The longest reply line is kMaxReplyLine bytes with its LF: a longer one is an error of the
// server, reported as such (not dropped, not a timeout later).
bool Driver::check_reply_limits(const char* p, std::size_t n) {
    const char* end = p + n;
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        const std::size_t len = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1
                                   : static_cast<std::size_t>(end - p);
        reply_line_len_ += len;
        if (reply_line_len_ > kMaxReplyLine) {
            const std::string why = "the server sent a reply line longer than " + std::to_string(kMaxReplyLine) +
                                    " bytes (the limit for one line, as in vsftpd)";
            recorder_.note(now(), "client", why);
            fail(why);
            return false;
        }
        if (nl) reply_line_len_ = 0;
        p += len;
    }
    return true;
}

void Driver::record_sent_lines(const std::string& bytes) {
    std::size_t start = 0;
    while (start < bytes.size()) {
        auto end = bytes.find("\r\n", start);
        std::string line = bytes.substr(start, end == std::string::npos ? std::string::npos : end - start);
        recorder_.command(now(), control_rec_, line);
        if (req_.verbose) log("> " + (line.rfind("PASS ", 0) == 0 ? std::string("PASS ****") : line));
        if (end == std::string::npos) break;
        start = end + 2;
    }
}

void Driver::flush_control() {
    while (control_.valid() && !control_out_.empty()) {
        IoResult w = write_some(control_.get(), control_out_.data(), control_out_.size());
        if (w.n > 0) {
            control_out_.erase(0, w.n);
            continue;
        }
        if (w.would_block) {
            loop_.set_writable(control_.get(), [this] { flush_control(); });
            return;
        }
        // The server is gone; the reader will see it.
        control_out_.clear();
        break;
    }
    if (control_.valid()) loop_.set_writable(control_.get(), nullptr);
    if (control_closing_ && control_.valid()) {
        loop_.unwatch(control_.get());
        recorder_.close(now(), control_rec_, "client", control_abort_);
        if (control_abort_) control_.reset();
        else control_.close();
        control_connected_ = false;
    }
}

void Driver::close_control(bool abort) {
    if (!control_.valid() || control_closing_) return;
    control_closing_ = true;
    control_abort_ = abort;
    if (abort) control_out_.clear();
    flush_control();
}

// ---- data connections

void Driver::data_event(const proto::DataEvent& e) {
    session_.on_data_event(e, now());
}

void Driver::do_listen(const proto::Listen& a) {
    const IpAddress addr = a.addr.is_unspecified() ? control_local_.addr : a.addr;
    auto l = listen_tcp(addr, a.port_lo, a.port_hi, 0, 1);
    if (auto* e = std::get_if<NetError>(&l)) {
        recorder_.listen_failed(now(), "client", endpoint(HostPort{addr, a.port_lo}),
                                e->err == EADDRINUSE ? trace::SocketError::PortInUse : trace::SocketError::NoFreePort);
        log("* " + e->message);
        data_event(proto::DataListenFailed{a.id});
        return;
    }
    Listener listener = std::get<Listener>(std::move(l));
    const HostPort local = listener.local;
    const int fd = listener.fd.get();
    listeners_[a.id] = std::move(listener);
    recorder_.listen(now(), "client", endpoint(local));
    log("* Listening on " + local.to_string());
    const proto::DataId id = a.id;
    loop_.watch(fd, [this, id] { on_accept(id); }, nullptr);
    data_event(proto::DataListening{id, local});
}

void Driver::on_accept(proto::DataId id) {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    int err = 0;
    auto acc = accept_tcp(it->second.fd.get(), &err);
    if (!acc) {
        if (err) log("* accept on " + it->second.local.to_string() + " failed: " + errno_text(err));
        return;
    }
    activity();
    auto conn = std::make_unique<DataConn>();
    conn->fd = std::move(acc->fd);
    conn->local = acc->local;
    conn->remote = acc->remote;
    // The server initiated it: its endpoints as the server sees them (the mirror image here).
    conn->rec = recorder_.open_connection(now(), "data", "server", "client", endpoint(acc->remote),
                                          endpoint(acc->local), control_rec_);
    const int fd = conn->fd.get();
    data_[id] = std::move(conn);
    loop_.watch(fd, [this, id] { on_data_readable(id); }, nullptr);
    data_event(proto::DataConnected{id, acc->local, acc->remote});
    pump();
}

void Driver::do_connect(const proto::Connect& a) {
    if (a.remote.addr != control_remote_.addr) {
        // A profile that trusts the 227 address (lftp, classic, textbook, FileZilla when it
        // looks routable) connects wherever the server says: never silently.
        const std::string what = "the server's reply names " + a.remote.addr.to_string() +
                                 ", not the control connection's peer " + control_remote_.addr.to_string() +
                                 "; the " + std::string(req_.profile->name) + " profile trusts that address and " +
                                 (req_.op == ClientOp::Put ? "uploads to " : "downloads from ") +
                                 a.remote.to_string() + " (curl and ftplib would use " +
                                 control_remote_.addr.to_string() + ")";
        recorder_.note(now(), "client", what);
        warn(what);
    }
    std::optional<HostPort> local;
    if (a.local_port) local = HostPort{control_local_.addr, *a.local_port};
    auto c = connect_tcp(a.remote, local);
    const proto::DataId id = a.id;
    if (auto* e = std::get_if<NetError>(&c)) {
        recorder_.connect_failed(now(), "client", {}, endpoint(a.remote),
                                 e->err == ECONNREFUSED ? trace::SocketError::Refused : trace::SocketError::Unreachable);
        log("* " + e->message);
        data_event(proto::DataRefused{id});
        return;
    }
    auto conn = std::make_unique<DataConn>();
    conn->fd = std::move(std::get<Connecting>(c).fd);
    conn->connecting = true;
    conn->remote = a.remote;
    conn->connect_timer = loop_.add_timer(EventLoop::now_ns() + req_.timeout_ns, [this, id] {
        auto it = data_.find(id);
        if (it == data_.end() || !it->second->connecting) return;
        recorder_.connect_failed(now(), "client", {}, endpoint(it->second->remote), trace::SocketError::TimedOut,
                                 req_.timeout_ns);
        log("* The data connection to " + it->second->remote.to_string() + " timed out");
        loop_.unwatch(it->second->fd.get());
        data_.erase(it);
        data_event(proto::DataTimedOut{id});
        pump();
    });
    const int fd = conn->fd.get();
    data_[id] = std::move(conn);
    loop_.watch(fd, nullptr, [this, id] { on_data_connect_done(id); });
}

void Driver::on_data_connect_done(proto::DataId id) {
    auto it = data_.find(id);
    if (it == data_.end()) return;
    DataConn& c = *it->second;
    int err = 0;
    ConnectStatus s = connect_result(c.fd.get(), &err);
    if (s == ConnectStatus::InProgress) return;
    loop_.cancel_timer(c.connect_timer);
    if (s != ConnectStatus::Ok) {
        recorder_.connect_failed(now(), "client", {}, endpoint(c.remote), socket_error(s));
        log("* The data connection to " + c.remote.to_string() + " failed: " + errno_text(err));
        loop_.unwatch(c.fd.get());
        data_.erase(it);
        data_event(s == ConnectStatus::TimedOut ? proto::DataEvent{proto::DataTimedOut{id}}
                                                : proto::DataEvent{proto::DataRefused{id}});
        pump();
        return;
    }
    activity();
    c.connecting = false;
    c.local = local_endpoint(c.fd.get()).value_or(HostPort{});
    if (auto peer = peer_endpoint(c.fd.get())) c.remote = *peer;
    c.rec = recorder_.open_connection(now(), "data", "client", "server", endpoint(c.local), endpoint(c.remote),
                                      control_rec_);
    log("* Data connection " + c.local.to_string() + " -> " + c.remote.to_string());
    loop_.watch(c.fd.get(), [this, id] { on_data_readable(id); }, nullptr);
    data_event(proto::DataConnected{id, c.local, c.remote});
    pump();
}

// A listing shown on stdout: control characters escaped (a server must not drive the terminal)
// except TAB, LF and the CR of a CRLF.
std::string Driver::escape_listing(const char* p, std::size_t n) {
    std::string out;
    out.reserve(n + 8);
    for (std::size_t i = 0; i < n; ++i) {
        const char c = p[i];
        if (pending_cr_) {
            pending_cr_ = false;
            out += c == '\n' ? std::string("\r") : printable("\r");
        }
        if (c == '\r') pending_cr_ = true;
        else if (c == '\n') out += c;
        else out += printable(std::string_view(&c, 1));
    }
    return out;
}

// File or listing bytes that arrived: straight to the sink, not through the session.
void Driver::deliver(proto::DataId id, const char* p, std::size_t n) {
    auto it = data_.find(id);
    if (it == data_.end() || n == 0) return;
    recorder_.data(now(), it->second->rec, "server", n);
    bytes_ += n;
    if (sink_ < 0 || sink_failed_) return;
    std::string escaped;
    if (req_.op == ClientOp::Ls && sink_ == STDOUT_FILENO) {
        escaped = escape_listing(p, n);
        p = escaped.data();
        n = escaped.size();
    }
    if (!write_all(sink_, p, n)) {
        sink_failed_ = true;
        fail("writing " + (req_.local == "-" ? std::string("to stdout") : req_.local) + " failed: " +
             std::strerror(errno));
    }
}

void Driver::on_data_readable(proto::DataId id) {
    std::vector<char>& buf = read_buffer_;
    for (int rounds = 0; rounds < 16; ++rounds) {
        auto it = data_.find(id);
        if (it == data_.end()) return;
        DataConn& c = *it->second;
        IoResult r = read_some(c.fd.get(), buf.data(), buf.size());
        if (r.n > 0) {
            activity();
            if (session_.data_state() == proto::DataState::SpdtHandshake) {
                // SPSV: the server's replies on the data connection come before "200 DATA". The
                // session gets them byte by byte until it declares the connection open, so
                // what follows in the same read is file data and goes to the sink.
                std::size_t i = 0;
                while (i < r.n && session_.data_state() == proto::DataState::SpdtHandshake) {
                    c.spdt.feed(std::string_view(&buf[i], 1));
                    while (auto reply = c.spdt.next()) {
                        std::string text = reply->raw;
                        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
                        recorder_.reply(now(), c.rec, text);
                        log("< " + text + "   (on the data connection)");
                    }
                    data_event(proto::DataBytes{id, std::string(1, buf[i])});
                    ++i;
                }
                if (i < r.n) deliver(id, buf.data() + i, r.n - i);
                pump();
            } else {
                deliver(id, buf.data(), r.n);
            }
            if (done_) return;
            continue;
        }
        if (r.would_block) return;
        // The server closed the data connection (the end of the file) or reset it.
        loop_.set_readable(c.fd.get(), nullptr);
        c.reading = false;
        const bool reset = !r.eof;
        recorder_.close(now(), c.rec, "server", reset);
        log(reset ? "* The data connection was reset: " + errno_text(r.err) : "* The server closed the data connection");
        if (reset) {
            if (data_reset_.empty())
                data_reset_ = "the data connection was reset by the server (" + errno_text(r.err) + ") after " +
                              std::to_string(bytes_) + " bytes: the " +
                              (req_.op == ClientOp::Ls ? std::string("listing") : std::string("file")) + " is incomplete";
            loop_.unwatch(c.fd.get());
            data_.erase(it);
            data_event(proto::DataReset{id});
        } else {
            data_event(proto::DataClosed{id});
        }
        pump();
        return;
    }
}

void Driver::on_data_writable(proto::DataId id) {
    for (;;) {
        auto it = data_.find(id);
        if (it == data_.end()) return;
        DataConn& c = *it->second;
        if (c.out_pos == c.out.size() && c.upload && source_ >= 0) {
            c.out.resize(kChunk);
            ssize_t n;
            do n = ::read(source_, c.out.data(), kChunk);
            while (n < 0 && errno == EINTR);
            if (n < 0) {
                fail("reading " + req_.local + " failed: " + std::strerror(errno));
                return;
            }
            c.out.resize(static_cast<std::size_t>(n));
            c.out_pos = 0;
            if (n == 0) c.upload = false;  // the end of the file
        }
        if (c.out_pos < c.out.size()) {
            IoResult w = write_some(c.fd.get(), c.out.data() + c.out_pos, c.out.size() - c.out_pos);
            if (w.n > 0) {
                activity();
                c.out_pos += w.n;
                if (c.upload || c.close_requested) {
                    // File bytes (the SPDT line is recorded as a command instead).
                    recorder_.data(now(), c.rec, "client", w.n);
                    bytes_ += w.n;
                }
                continue;
            }
            if (w.would_block) {
                loop_.set_writable(c.fd.get(), [this, id] { on_data_writable(id); });
                return;
            }
            // The server reset the connection: its reply on the control connection says why.
            if (data_reset_.empty())
                data_reset_ = "the data connection was reset by the server (" + errno_text(w.err) + ") after " +
                              std::to_string(bytes_) + " of " + std::to_string(req_.upload_size) +
                              " bytes: the upload is incomplete";
            recorder_.close(now(), c.rec, "server", true);
            log("* Writing to the data connection failed: " + errno_text(w.err));
            loop_.unwatch(c.fd.get());
            data_.erase(it);
            data_event(proto::DataReset{id});
            pump();
            return;
        }
        loop_.set_writable(c.fd.get(), nullptr);
        if (c.close_requested && !c.upload) {
            loop_.unwatch(c.fd.get());
            recorder_.close(now(), c.rec, "client", false);
            c.fd.close();
            data_.erase(it);
        }
        return;
    }
}

void Driver::close_data(proto::DataId id, bool abort) {
    auto it = data_.find(id);
    if (it == data_.end()) return;
    DataConn& c = *it->second;
    if (c.connecting) loop_.cancel_timer(c.connect_timer);
    if (abort || c.connecting) {
        loop_.unwatch(c.fd.get());
        if (!c.connecting) recorder_.close(now(), c.rec, "client", true);
        c.fd.reset();
        data_.erase(it);
        return;
    }
    c.close_requested = true;
    if (c.reading) {
        // We close first (an upload, or a failure): stop reading; the sink is done with it.
        loop_.set_readable(c.fd.get(), nullptr);
        c.reading = false;
    }
    on_data_writable(id);
}

void Driver::pump() {
    while (auto action = session_.poll_action()) {
        std::visit(
            [&](auto&& a) {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, proto::SendControl>) {
                    if (!control_.valid() || control_closing_) return;
                    record_sent_lines(a.bytes);
                    control_out_ += a.bytes;
                    flush_control();
                } else if constexpr (std::is_same_v<T, proto::Listen>) {
                    do_listen(a);
                } else if constexpr (std::is_same_v<T, proto::StopListening>) {
                    if (auto it = listeners_.find(a.id); it != listeners_.end()) {
                        loop_.unwatch(it->second.fd.get());
                        listeners_.erase(it);
                    }
                } else if constexpr (std::is_same_v<T, proto::Connect>) {
                    do_connect(a);
                } else if constexpr (std::is_same_v<T, proto::SendData>) {
                    auto it = data_.find(a.id);
                    if (it == data_.end()) return;
                    // Only the SPDT line: uploads are streamed from the file (0 bytes to the session).
                    std::string line = a.bytes;
                    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
                    recorder_.command(now(), it->second->rec, line);
                    log("> " + line + "   (on the data connection)");
                    it->second->out += a.bytes;
                    on_data_writable(a.id);
                } else if constexpr (std::is_same_v<T, proto::CloseData>) {
                    auto it = data_.find(a.id);
                    // The session's "upload done" close (see client.hpp): the server's 1yz came and
                    // the connection is open, so the file goes out first, then the FIN.
                    if (it != data_.end() && !a.abort && req_.op == ClientOp::Put && !it->second->connecting &&
                        session_.control_state() == proto::ControlState::AwaitCompletion && source_ >= 0 &&
                        !it->second->close_requested) {
                        log("* Sending " + req_.local + " (" + std::to_string(req_.upload_size) + " bytes)");
                        it->second->upload = true;
                    }
                    close_data(a.id, a.abort);
                } else if constexpr (std::is_same_v<T, proto::CloseControl>) {
                    close_control(a.abort);
                } else if constexpr (std::is_same_v<T, proto::Explain>) {
                    recorder_.note(now(), "client", a.text);
                    log("* " + a.text);
                }
            },
            *action);
    }
    arm_timers();
}

void Driver::arm_timers() {
    const proto::Time expiry = session_.next_expiry();
    const std::int64_t at = expiry == proto::kNever ? 0 : origin_ + expiry;
    if (at == session_timer_at_) return;
    if (session_timer_) loop_.cancel_timer(session_timer_);
    session_timer_ = 0;
    session_timer_at_ = at;
    if (at == 0) return;
    session_timer_ = loop_.add_timer(at, [this] {
        session_timer_ = 0;
        session_timer_at_ = 0;
        session_.on_timer(now());
        pump();
    });
}

void Driver::on_inactivity_timer() {
    inactivity_timer_ = 0;
    const std::int64_t due = last_activity_ + req_.timeout_ns;
    if (EventLoop::now_ns() < due) {
        inactivity_timer_ = loop_.add_timer(due, [this] { on_inactivity_timer(); });
        return;
    }
    // The transfer is done and only the 221 to QUIT is missing: like curl, that is not a failure.
    if (session_.control_state() == proto::ControlState::AwaitQuitReply && transfer_succeeded()) {
        log("* No reply to QUIT; the transfer itself succeeded");
        quit_unanswered_ = true;
        done_ = true;
        return;
    }
    const double s = static_cast<double>(req_.timeout_ns) / 1e9;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", s);
    std::string waiting = control_connected_ ? std::string(proto::to_string(session_.control_state())) + ", data " +
                                                   proto::to_string(session_.data_state())
                                             : "connecting to " + control_remote_.to_string();
    recorder_.note(now(), "client", std::string("timed out: nothing happened for ") + secs + " s");
    fail(std::string("timed out: nothing happened for ") + secs + " s (--timeout; the client was in state " +
         waiting + ")");
}

ClientOutcome Driver::run() {
    ClientOutcome out;
    // The local file first: a bad path is the user's, found before any network traffic.
    if (req_.op == ClientOp::Put) {
        source_ = ::open(req_.local.c_str(), O_RDONLY | O_CLOEXEC);
        if (source_ < 0) {
            out.exit_code = 1;
            out.message = "cannot open " + req_.local + ": " + std::strerror(errno);
            return out;
        }
    } else if (req_.local == "-") {
        sink_ = STDOUT_FILENO;
    } else if (std::string why = open_sink(); !why.empty()) {
        out.exit_code = 1;
        out.message = why;
        return out;
    }
    if (req_.max_time_ns > 0)
        loop_.add_timer(origin_ + req_.max_time_ns, [this] {
            char secs[32];
            std::snprintf(secs, sizeof secs, "%g", static_cast<double>(req_.max_time_ns) / 1e9);
            recorder_.note(now(), "client", std::string("gave up: the session took longer than ") + secs + " s");
            fail(std::string("gave up: the session took longer than ") + secs + " s (--max-time)");
        });

    if (resolve()) try_next_address();
    inactivity_timer_ = loop_.add_timer(last_activity_ + req_.timeout_ns, [this] { on_inactivity_timer(); });
    loop_.run_until([this] {
        if (done_) return true;
        // Finished: the session is done, every data socket is closed and so is the control
        // connection (closed by the session after 221, or here if it left it open).
        if (!session_.finished() || !data_.empty()) return false;
        if (control_.valid() && !control_closing_) close_control(false);
        return !control_.valid();
    });

    // Results: the login, the transfer, QUIT.
    const auto& results = session_.results();
    const proto::ActionResult* transfer = nullptr;
    const proto::ActionResult* failed = nullptr;
    for (const auto& res : results) {
        if (!proto::transfer_verb(res.action).empty()) transfer = &res;
        if (!res.ok && !failed) failed = &res;
    }
    if (!failed && !session_.finished() && failure_.empty() && !quit_unanswered_)
        failure_ = "the session ended before it was finished";
    if (!failed && !transfer && failure_.empty())
        failure_ = last_reply_.empty() ? "the transfer never started (the server sent no reply)"
                                       : "the transfer never started; the server's last reply: " + last_reply_;

    if (transfer) out.reply = transfer->reply_code;
    out.bytes = bytes_;
    const bool ok = failure_.empty() && data_reset_.empty() && !failed && transfer && transfer->ok;
    out.exit_code = ok ? 0 : 1;
    if (!ok) {
        if (!failure_.empty()) {
            out.message = failure_;
        } else if (!data_reset_.empty()) {
            // Whatever the server then said (a 226 included): the bytes did not all arrive.
            out.message = data_reset_;
            if (transfer && transfer->reply_code)
                out.message += " (the server's reply: " + std::to_string(transfer->reply_code) + " " +
                               transfer->reply_text + ")";
        } else if (failed) {
            // "RETR nope -> 550 No such file or directory." and the reason when it says more.
            std::string reply;  // "550 No such file or directory."
            if (failed->failed_reply)
                reply = std::to_string(failed->failed_reply) + " " + failed->failed_reply_text;
            else if (failed->reply_code)
                reply = std::to_string(failed->reply_code) + " " + failed->reply_text;
            if (reply.empty())
                out.message = proto::to_string(failed->action) + " failed";
            else if (failed->failed_reply)
                out.message = (failed->failed_command.rfind("PASS ", 0) == 0 ? std::string("PASS ****")
                                                                             : failed->failed_command) +
                              " -> " + reply;
            else
                out.message = proto::to_string(failed->action) + " -> " + reply;
            if (!failed->failure.empty() && (reply.empty() || failed->failure.find(reply) == std::string::npos))
                out.message += " (" + failed->failure + ")";
        }
    }

    // Close whatever is still open (a timeout, a failure).
    for (auto& [id, c] : data_) {
        loop_.unwatch(c->fd.get());
        if (!c->connecting) recorder_.close(now(), c->rec, "client", true);
        c->fd.reset();
    }
    data_.clear();
    listeners_.clear();
    if (control_.valid()) {
        recorder_.close(now(), control_rec_, "client", true);
        control_.reset();
    }

    // The output file: renamed into place on success, removed on failure (an existing file of
    // that name is left as it was).
    if (source_ >= 0) ::close(source_);
    if (pending_cr_ && sink_ == STDOUT_FILENO) write_all(sink_, "\\x0d", 4);  // a listing's last byte was a CR
    if (sink_ >= 0 && sink_ != STDOUT_FILENO) {
        if (!part_path_.empty() && out.exit_code == 0) {
            // The temporary file was created 0600; the finished file gets the usual 0666 - umask.
            const mode_t mask = ::umask(0);
            ::umask(mask);
            ::fchmod(sink_, 0666 & ~mask);
        }
        if (::close(sink_) != 0 && ok) {
            out.exit_code = 1;
            out.message = "writing " + (part_path_.empty() ? req_.local : part_path_) + " failed: " + std::strerror(errno);
        }
        if (!part_path_.empty()) {
            if (out.exit_code == 0) {
                if (::rename(part_path_.c_str(), req_.local.c_str()) != 0) {
                    out.exit_code = 1;
                    out.message = "renaming " + part_path_ + " to " + req_.local + " failed: " + std::strerror(errno);
                }
            }
            if (out.exit_code != 0) ::unlink(part_path_.c_str());
        }
    }

    if (transfer) {
        trace::Transfer t;
        t.client = "client";
        t.command = proto::transfer_verb(transfer->action);
        t.path = proto::transfer_path(transfer->action);
        t.ok = transfer->ok && out.exit_code == 0;
        t.reply = transfer->reply_code ? transfer->reply_code : transfer->failed_reply;
        t.bytes = bytes_;
        recorder_.add_transfer(t);
    }
    recorder_.add_model_note("live session recorded by the client (ftpsim " + std::string(to_string(req_.op)) +
                             "): commands, replies and data byte counts as the client's sockets saw them");
    out.trace = recorder_.finish();
    if (!req_.trace.empty()) {
        std::ofstream f(req_.trace, std::ios::binary | std::ios::trunc);
        f << trace::to_json(out.trace);
        if (!f.good()) {
            out.exit_code = 1;
            out.message += (out.message.empty() ? "" : "; ") + std::string("writing the trace ") + req_.trace + " failed";
        }
    }
    return out;
}

}  // namespace

ClientOutcome run_client(const ClientRequest& request) {
    Driver d(request);
    return d.run();
}

}  // namespace ftpsim::live
