// `ftpsim serve`: the protocol core's FtpServer on real sockets (docs/live.md).
//
// One poll() loop is the session host's transport (live/host_transport.hpp, protocol/host.hpp):
// the host drives an FtpServer (protocol/server.hpp) exactly as the simulator does; every
// accepted control connection becomes a ServerSession. The file system is a real directory
// confined to its root (live/disk_vfs.hpp). Files and listings are sources read from disk as the
// data socket accepts them; an upload is a sink spooled to an unnamed staging file as it arrives
// and stored atomically (a new file beside the target, renamed over it on success) when the
// session stores it. No client can hold the others up: a command line must be complete
// within the idle timeout, connections are limited per address, before login and after login,
// a failed login's reply waits on a timer, the listener pauses at the descriptor limit, and the
// trace is streamed to its file (docs/live.md, docs/reliability.md).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "live/sockets.hpp"
#include "protocol/server_profile.hpp"

namespace ftpsim::live {

struct UserEntry {
    std::string password;
    bool writable = true;
};

struct ServeOptions {
    HostPort listen{proto::IpAddress::v4(127, 0, 0, 1), 2121};
    std::string root;
    std::string profile = "vsftpd";                  // vsftpd | pyftpdlib | rfc959
    // The profile's reply texts replaced by name, as a scenario's `servers.X.replies` does
    // ({"login-incorrect", "530 Wrong password."}; proto::override_reply checks each). Only the
    // wording changes: the server decides from the session's facts, never from the text.
    std::vector<std::pair<std::string, std::string>> replies;
    std::optional<std::pair<std::uint16_t, std::uint16_t>> passive_ports;
    std::map<std::string, UserEntry> users;          // from --users FILE
    bool anonymous = true;                           // "anonymous"/"ftp" may log in
    bool anonymous_writable = false;                 // --writable
    std::size_t max_clients = 64;                    // logged-in sessions; one more gets 421
    std::size_t max_unauthenticated = 32;            // connections not logged in yet; more get 421
    std::size_t max_per_address = 16;                // connections from one source address
    std::int64_t login_timeout_ns = 60'000'000'000;  // not logged in after this long: 421 and close
    // Failed logins (PASS answered 530): the reply waits this long (the connection is not read
    // meanwhile; other clients are served), and the connection is closed after that many.
    // Negative: the profile's (proto::ServerProfile::failed_login_delay, max_login_fails).
    std::int64_t login_fail_delay_ns = -1;
    int max_login_fails = -1;
    std::int64_t idle_timeout_ns = 300'000'000'000;  // no command for this long: 421 and close
    std::int64_t data_timeout_ns = 60'000'000'000;   // a data connection without progress: reset
    std::int64_t connect_timeout_ns = 10'000'000'000;// an active data connection's connect
    std::uint64_t max_transfer = 0;                  // bytes per file transfer; 0 = no limit
    std::string trace_file;                          // --trace FILE.json
    bool once = false;                               // exit after the first session ends
    bool verbose = false;                            // log connections and explanations
};

// The failed-login policy a server applies: its profile's (proto::ServerProfile's
// failed_login_delay and max_login_fails), or the command line's where it names one.
struct LoginPolicy {
    std::int64_t delay_ns = 0;
    int max_fails = 0;  // 0 = no limit
};
LoginPolicy login_policy_for(const proto::ServerProfile& profile, const ServeOptions& options);

// Reads a users file: one user per line, "NAME PASSWORD [rw|ro]" separated by blanks; empty
// lines and lines starting with '#' are ignored. Returns an error "FILE:LINE: what is wrong".
std::optional<std::string> read_users_file(const std::string& path,
                                           std::map<std::string, UserEntry>& out);

class LiveServer {
public:
    explicit LiveServer(ServeOptions options, std::ostream& log);
    ~LiveServer();
    LiveServer(const LiveServer&) = delete;
    LiveServer& operator=(const LiveServer&) = delete;

    // Opens the root and the listening socket; an error message if either fails (bad root, the
    // address in use, an unknown profile).
    std::optional<std::string> start();
    HostPort local() const;        // the listening address (the real port when 0 was asked)
    // After start(): a warning when the profile connects to any address PORT/EPRT names.
    std::optional<std::string> bounce_warning() const;
    // Runs until stop() (from a callback or the signal pipe), or with `once` until the first
    // session has ended. Then every session gets the profile's 421 and is closed.
    void run();
    void stop();
    // How many entries the server's connection and session maps hold (the FtpServer's sessions
    // included), as of its last periodic sweep (4 a second); safe to call from another thread.
    // Bounded by what is open.
    std::size_t tracked_entries() const;
    // How many sessions the protocol core's FtpServer holds, as of the same sweep: the open
    // control connections' (an SPSV data connection's session is freed at its hand-over).
    std::size_t sessions_held() const;
    // SIGINT/SIGTERM stop run() (installs handlers that write to a self-pipe).
    void stop_on_signals();
    // Writes the trace (if --trace was given); an error message if it cannot.
    std::optional<std::string> write_trace();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// The whole command: start, print "listening on ADDR:PORT", run, write the trace.
// Returns the exit status (0, or 2 with a message on `err` for bad input / a failed start).
int serve(const ServeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ftpsim::live
