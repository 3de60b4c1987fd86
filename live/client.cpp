#include "live/client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "live/host_transport.hpp"
#include "live/recorder.hpp"
#include "live/sockets.hpp"
#include "protocol/client.hpp"
#include "protocol/host.hpp"
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

// Where get and ls write (-o): "-" is standard output; anything else is a file name in a folder
// that exists, of a kind check_output_kind takes.
std::optional<ArgError> check_local_output(const std::string& path) {
    if (path == "-") return std::nullopt;
    if (is_directory(path)) return ArgError{"-o " + path + ": is a directory (expected a file name)"};
    if (!is_directory(dir_name(path)))
        return ArgError{"-o " + path + ": the folder " + dir_name(path) + " does not exist"};
    return check_output_kind(path);
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
            if (auto e = check_local_output(r.local)) return *e;
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
            if (auto e = check_local_output(r.local)) return *e;
            break;
        }
    }
    return r;
}

// ---- The driver ----------------------------------------------------------------------------

namespace {

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

// An upload's local file as the session host sends it: read with pread in chunks as the data
// connection takes them. A read error ends it early and is kept for the result.
class LocalFileSource final : public proto::ContentSource {
public:
    LocalFileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
    std::uint64_t size() const override { return size_; }
    std::string read(std::uint64_t offset, std::size_t max) const override {
        if (offset >= size_) return {};
        std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(max, size_ - offset)), '\0');
        std::size_t got = 0;
        while (got < out.size()) {
            const ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) err_ = errno;
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        if (got < out.size() && err_ == 0) err_ = EIO;  // the file shrank: the upload is short
        out.resize(got);
        return out;
    }
    int error() const { return err_; }

private:
    int fd_;
    std::uint64_t size_;
    mutable int err_ = 0;
};

class Driver final : private LiveHooks {
public:
    explicit Driver(const ClientRequest& r)
        : req_(r),
          session_(make_config(r)),
          recorder_("live", title(r)),
          transport_(loop_, *this, transport_options(r)),
          hosted_(*this),
          host_(transport_, hosted_) {
        transport_.attach(host_);
    }

    ClientOutcome run();

private:
    // The session as the host drives it, with the checks and the log of the control dialogue.
    struct Hosted final : proto::HostedClient {
        Driver& d;
        explicit Hosted(Driver& driver) : HostedClient(driver.session_), d(driver) {}
        void control_bytes(proto::Time now, proto::SessionId sid, std::string_view bytes) override {
            if (d.control_in(bytes)) HostedClient::control_bytes(now, sid, bytes);
        }
        std::string control_out(proto::SessionId, std::string bytes) override {
            d.record_sent_lines(bytes);
            return bytes;
        }
    };
    // A data connection, for the trace and the log.
    struct DataRec {
        int rec = -1;                 // recorder connection id
        proto::ReplyReader spdt;      // the SPSV handshake's replies, for the trace
    };
    // Where a download (or a listing) goes: the output, as it arrives.
    struct Sink final : proto::ContentSink {
        Driver& d;
        std::uint64_t n = 0;
        explicit Sink(Driver& driver) : d(driver) {}
        bool write(std::string_view bytes) override {
            n += bytes.size();
            return d.deliver(bytes.data(), bytes.size());
        }
        std::uint64_t size() const override { return n; }
    };

    static LiveTransportOptions transport_options(const ClientRequest& r) {
        LiveTransportOptions o;
        o.connect_timeout_ns = r.timeout_ns;
        o.settle_before_control = true;  // the server connected before it sent the reply that follows
        o.control_read_rounds = 1;       // one read per readiness: data sockets get their turn between replies
        return o;
    }

    proto::ClientConfig make_config(const ClientRequest& r, bool ipv6 = false) {
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
            case ClientOp::Put: c.script.push_back(proto::put(r.remote_path, r.upload_size)); break;
            case ClientOp::Ls: c.script.push_back(proto::ls(r.remote_path)); break;
        }
        c.script.push_back(proto::quit());
        // The data path: the upload is read from the local file, a download or listing goes to
        // the output as it arrives; the session sees counts only.
        c.explicit_data_path = true;
        c.upload_source = [this](const proto::UserAction&) -> std::shared_ptr<const proto::ContentSource> {
            log("* Sending " + req_.local + " (" + std::to_string(req_.upload_size) + " bytes)");
            upload_ = std::make_shared<LocalFileSource>(source_, req_.upload_size);
            return upload_;
        };
        c.download_sink = [this](const proto::UserAction&) -> std::shared_ptr<proto::ContentSink> {
            return std::make_shared<Sink>(*this);
        };
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
    bool control_in(std::string_view bytes);
    void record_sent_lines(const std::string& bytes);
    bool check_reply_limits(const char* p, std::size_t n);
    bool deliver(const char* p, std::size_t n);
    std::string escape_listing(const char* p, std::size_t n);
    void on_inactivity_timer();
    bool transfer_succeeded() const {
        for (const auto& res : session_.results())
            if (!proto::transfer_verb(res.action).empty()) return res.ok;
        return false;
    }

    // LiveHooks: what the sockets did.
    void control_connected(ConnId c, const HostPort& local, const HostPort& remote) override;
    bool connect_failed(const HostPort& remote, ConnectStatus s, int err, std::int64_t elapsed_ns, bool data) override;
    void connecting(const HostPort& remote, bool data) override;
    void listened(const HostPort& local) override;
    void listen_failed(const HostPort& wanted, int err, const std::string& message) override;
    void data_opened(ConnId c, ConnId, bool we_connected, const HostPort& local, const HostPort& remote) override;
    void data_in(ConnId c, std::size_t n) override;
    void data_out(ConnId c, std::size_t n) override;
    void data_text_in(ConnId c, std::string_view bytes) override;
    void data_text_out(ConnId c, std::string_view bytes) override;
    void ended(ConnId c, bool data, bool us, bool reset, int err) override;
    void explained(const proto::Explain& e) override;
    void note(const std::string& text) override;
    void gone(ConnId c, bool data) override;

    const ClientRequest& req_;
    proto::ClientSession session_;
    Recorder recorder_;
    EventLoop loop_;
    LiveTransport transport_;
    Hosted hosted_;
    proto::SessionHost host_;
    std::int64_t origin_ = EventLoop::now_ns();
    std::int64_t last_activity_ = origin_;
    EventLoop::TimerId inactivity_timer_ = 0;

    std::vector<HostPort> addresses_;
    std::size_t next_address_ = 0;
    std::string connect_errors_;
    ConnId control_ = -1;
    bool control_open_ = false;     // connected, not yet gone
    bool control_connected_ = false;
    bool control_closing_ = false;
    int control_rec_ = -1;
    HostPort control_local_, control_remote_;
    proto::ReplyReader reply_log_;  // the replies again, for the trace and -v
    std::string last_reply_;        // the last line of the last reply, for a failure message
    std::size_t reply_line_len_ = 0;  // bytes of the reply line in progress
    std::string data_reset_;        // "the data connection was reset ..." when it was, mid-transfer

    std::map<ConnId, DataRec> data_;

    int sink_ = -1;                 // get/ls: where the data goes
    std::string part_path_;         // the temporary file, renamed to the target on success
    bool pending_cr_ = false;       // ls to stdout: a CR held until we know whether LF follows
    int source_ = -1;               // put: the file
    std::shared_ptr<LocalFileSource> upload_;
    std::uint64_t bytes_ = 0;
    bool sink_failed_ = false;

    bool done_ = false;
    bool quit_unanswered_ = false;  // timed out waiting for 221 after a successful transfer
    std::string failure_;           // a local failure (timeout, connection, disk)
};

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
        control_remote_ = remote;
        activity();
        control_ = host_.connect_control(proto::HostedClient::kControl, IpAddress{}, 0, remote);
        return;
    }
    fail("could not connect to " + req_.url.authority() + ": " +
         (connect_errors_.empty() ? std::string("no address") : connect_errors_));
}

void Driver::connecting(const HostPort& remote, bool data) {
    if (!data || remote.addr == control_remote_.addr) return;
    // A profile that trusts the 227 address (lftp, classic, textbook, FileZilla when it
    // looks routable) connects wherever the server says: never silently.
    const std::string what = "the server's reply names " + remote.addr.to_string() +
                             ", not the control connection's peer " + control_remote_.addr.to_string() + "; the " +
                             std::string(req_.profile->name) + " profile trusts that address and " +
                             (req_.op == ClientOp::Put ? "uploads to " : "downloads from ") + remote.to_string() +
                             " (curl and ftplib would use " + control_remote_.addr.to_string() + ")";
    recorder_.note(now(), "client", what);
    warn(what);
}

bool Driver::connect_failed(const HostPort& remote, ConnectStatus s, int err, std::int64_t elapsed_ns, bool data) {
    if (!data) {
        // The control connection: the next address, if there is one.
        if (elapsed_ns > 0 || s != ConnectStatus::Other) recorder_.connect_failed(now(), "client", {}, endpoint(remote), socket_error(s));
        const std::string what = std::string(to_string(s)) + " (" + errno_text(err) + ")";
        connect_errors_ += (connect_errors_.empty() ? "" : "; ") + remote.to_string() + ": " + what;
        control_ = -1;
        try_next_address();
        return true;
    }
    if (s == ConnectStatus::TimedOut) {
        recorder_.connect_failed(now(), "client", {}, endpoint(remote), trace::SocketError::TimedOut, req_.timeout_ns);
        log("* The data connection to " + remote.to_string() + " timed out");
    } else {
        recorder_.connect_failed(now(), "client", {}, endpoint(remote), socket_error(s));
        log("* The data connection to " + remote.to_string() + " failed: " + errno_text(err));
    }
    return false;
}

void Driver::control_connected(ConnId, const HostPort& local, const HostPort& remote) {
    activity();
    control_open_ = true;
    control_connected_ = true;
    control_local_ = local;
    control_remote_ = remote;
    log("* Connected to " + control_remote_.to_string() + " from " + control_local_.to_string());
    recorder_.add_node("client", "client", control_local_.addr.to_string());
    recorder_.add_node("server", "server", control_remote_.addr.to_string());
    control_rec_ = recorder_.open_connection(now(), "control", "client", "server", endpoint(control_local_),
                                             endpoint(control_remote_));
    if (!control_remote_.addr.is_v4()) {
        proto::ClientConfig v6 = make_config(req_, true);
        if (v6.mode != req_.mode)
            log(std::string("* IPv6: ") + (v6.mode == proto::DataMode::Eprt ? "EPRT instead of PORT" : "EPSV instead of PASV") +
                " (PORT and PASV carry IPv4 addresses only)");
        session_ = proto::ClientSession(std::move(v6));  // the host's HostedClient points at it
    }
}

// Control bytes from the server, before the session sees them: the limits, the trace, -v.
// Bytes alone are not progress: only a whole reply is (a server trickling a line that never
// ends must not hold the client past --timeout).
bool Driver::control_in(std::string_view bytes) {
    if (done_) return false;
    const proto::Time t = now();
    if (!check_reply_limits(bytes.data(), bytes.size())) return false;
    reply_log_.feed(bytes);
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
        return false;
    }
    return true;
}

void Driver::listened(const HostPort& local) {
    recorder_.listen(now(), "client", endpoint(local));
    log("* Listening on " + local.to_string());
}

void Driver::listen_failed(const HostPort& wanted, int err, const std::string& message) {
    recorder_.listen_failed(now(), "client", endpoint(wanted),
                            err == EADDRINUSE ? trace::SocketError::PortInUse : trace::SocketError::NoFreePort);
    log("* " + message);
}

void Driver::data_opened(ConnId c, ConnId, bool we_connected, const HostPort& local, const HostPort& remote) {
    activity();
    DataRec& d = data_[c];
    if (we_connected) {
        d.rec = recorder_.open_connection(now(), "data", "client", "server", endpoint(local), endpoint(remote),
                                          control_rec_);
        log("* Data connection " + local.to_string() + " -> " + remote.to_string());
    } else {
        // The server initiated it: its endpoints as the server sees them (the mirror image here).
        d.rec = recorder_.open_connection(now(), "data", "server", "client", endpoint(remote), endpoint(local),
                                          control_rec_);
    }
}

void Driver::data_in(ConnId c, std::size_t n) {
    activity();
    auto it = data_.find(c);
    if (it != data_.end()) recorder_.data(now(), it->second.rec, "server", n);
    bytes_ += n;
}

void Driver::data_out(ConnId c, std::size_t n) {
    activity();
    auto it = data_.find(c);
    if (it != data_.end()) recorder_.data(now(), it->second.rec, "client", n);
    bytes_ += n;
}

// SPSV: the server's replies on the data connection before "200 DATA", and our SPDT line.
void Driver::data_text_in(ConnId c, std::string_view bytes) {
    activity();
    auto it = data_.find(c);
    if (it == data_.end()) return;
    it->second.spdt.feed(bytes);
    while (auto reply = it->second.spdt.next()) {
        std::string text = reply->raw;
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        recorder_.reply(now(), it->second.rec, text);
        log("< " + text + "   (on the data connection)");
    }
}

void Driver::data_text_out(ConnId c, std::string_view bytes) {
    auto it = data_.find(c);
    if (it == data_.end()) return;
    std::string line(bytes);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    recorder_.command(now(), it->second.rec, line);
    log("> " + line + "   (on the data connection)");
}

void Driver::ended(ConnId c, bool data, bool us, bool reset, int err) {
    if (!data) {
        if (c != control_ || control_rec_ < 0) return;
        if (us) {
            recorder_.close(now(), control_rec_, "client", reset);
        } else {
            recorder_.close(now(), control_rec_, "server", reset);
            log(reset ? "* The control connection was reset: " + errno_text(err) : "* The server closed the control connection");
        }
        control_rec_ = -1;
        control_connected_ = false;
        return;
    }
    auto it = data_.find(c);
    if (it == data_.end() || it->second.rec < 0) return;
    recorder_.close(now(), it->second.rec, us ? "client" : "server", reset);
    it->second.rec = -1;
    if (us) return;
    log(reset ? "* The data connection was reset: " + errno_text(err) : "* The server closed the data connection");
    if (reset && data_reset_.empty()) {
        if (req_.op == ClientOp::Put)
            data_reset_ = "the data connection was reset by the server (" + errno_text(err) + ") after " +
                          std::to_string(bytes_) + " of " + std::to_string(req_.upload_size) +
                          " bytes: the upload is incomplete";
        else
            data_reset_ = "the data connection was reset by the server (" + errno_text(err) + ") after " +
                          std::to_string(bytes_) + " bytes: the " +
                          (req_.op == ClientOp::Ls ? std::string("listing") : std::string("file")) + " is incomplete";
    }
}

void Driver::note(const std::string& text) { log("* " + text); }

void Driver::explained(const proto::Explain& e) {
    recorder_.note(now(), "client", e.text);
    log("* " + e.text);
}

void Driver::gone(ConnId c, bool data) {
    if (data) data_.erase(c);
    else if (c == control_) control_open_ = false;
}

// File or listing bytes that arrived: straight to the output, never kept.
bool Driver::deliver(const char* p, std::size_t n) {
    if (sink_ < 0 || sink_failed_ || n == 0) return true;
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
        return false;
    }
    return true;
}

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
        if (control_open_ && !control_closing_) {
            control_closing_ = true;
            transport_.close(control_);
        }
        return !control_open_;
    });

    if (upload_ && upload_->error() && failure_.empty())
        failure_ = "reading " + req_.local + " failed: " + std::strerror(upload_->error());

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
    for (auto& [id, d] : data_)
        if (d.rec >= 0) recorder_.close(now(), d.rec, "client", true);
    data_.clear();
    if (control_open_ && control_rec_ >= 0) {
        recorder_.close(now(), control_rec_, "client", true);
        control_rec_ = -1;
    }
    transport_.shutdown_all();

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
