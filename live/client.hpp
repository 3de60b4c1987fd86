// Live mode, the client: `ftpsim get|put|ls URL` on real sockets.
//
// The FTP dialogue is the shared sans-IO proto::ClientSession (the one the simulator runs, with
// the same profiles and modes); this file only executes its actions on real sockets with the
// live/sockets.hpp event loop, the way sim/run/apps.cpp ClientApp executes them on the simulated
// TCP: SendControl -> the control socket, Listen -> a listening socket (DataListening with the
// bound port), Connect -> a non-blocking connect (DataConnected / DataRefused / DataTimedOut),
// SendData / CloseData -> the data socket.
//
// Files are streamed, never held in memory: a download is written to disk (or stdout) as it
// arrives, without handing the bytes to the session (it keeps a received copy only of what it
// is fed; it is fed only the SPSV handshake bytes); an upload is read from disk in 64 KiB chunks
// when the data socket is writable. The session is told the upload has 0 bytes, so it never
// builds its synthetic upload content; its "upload done" CloseData (sent once the data
// connection is open and the server's 1yz came) is the driver's cue to stream the file and then
// close. docs/live.md ("Client") says what the command line does with this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "live/client_url.hpp"
#include "protocol/client_profile.hpp"
#include "trace/trace.hpp"

namespace ftpsim::live {

enum class ClientOp : std::uint8_t { Get, Put, Ls };
const char* to_string(ClientOp op);

// What the user typed, before checking (the command line fills this in).
struct ClientArgs {
    ClientOp op = ClientOp::Get;
    std::string url;
    std::string local;           // get: -o FILE ("-" = stdout; "" = the URL's file name);
                                 // put: the file to upload; ls: -o FILE ("" or "-" = stdout)
    std::string mode;            // port | eprt | pasv | epsv | spsv; "" = the profile's default
    std::string profile = "curl";
    std::optional<std::string> user;      // --user (overrides the URL's)
    std::optional<std::string> password;  // --password (overrides the URL's)
    std::string trace;           // --trace FILE.json ("" = none)
    double timeout_s = 30;       // --timeout: the longest wait for the server
    double max_time_s = 0;       // --max-time: the whole session's deadline (0 = none)
    bool verbose = false;        // -v: the dialogue on stderr
};

// A checked request: everything the session needs.
struct ClientRequest {
    ClientOp op = ClientOp::Get;
    FtpUrl url;
    std::string remote_path;     // the argument of RETR/STOR/LIST ("" = LIST without argument)
    std::string local;           // get/ls: the output file, "-" = stdout; put: the input file
    std::uint64_t upload_size = 0;
    proto::DataMode mode = proto::DataMode::Auto;
    const proto::ClientProfile* profile = nullptr;
    std::string user = "anonymous";
    std::string password;        // "" = the profile's anonymous password
    std::string trace;
    std::int64_t timeout_ns = 30'000'000'000;
    std::int64_t max_time_ns = 0;  // 0 = no overall deadline
    bool verbose = false;
};

// Limits on what the server sends on the control connection (docs/live.md "Limits").
constexpr std::size_t kMaxReplyLine = 4096;          // one reply line, its LF included
constexpr std::size_t kMaxReplyBytes = 1024 * 1024;  // one (multi-line) reply, all its lines

// Control characters (C0 but TAB, and DEL) as \xNN: what the server sent, made safe to print.
std::string printable(std::string_view text);

struct ArgError {
    std::string message;         // names the argument and what was expected
};

// Checks the arguments: the URL, the mode, the profile, the timeout, the files (put: the input
// file is a readable regular file; get: the output's folder exists). No network access.
std::variant<ClientRequest, ArgError> check_client_args(const ClientArgs& args);

struct ClientOutcome {
    int exit_code = 0;           // 0 ok; 1 the transfer (or the connection, or the login) failed
    std::string message;         // why it failed: the failed command and the server's reply
    std::uint64_t bytes = 0;     // bytes moved on the data connection
    int reply = 0;               // the final reply to the transfer command (0 = none)
    trace::Trace trace;          // the session as the client saw it (live/recorder.hpp)
};

// Runs the session. Progress (-v) and errors go to stderr; a listing or "-o -" to stdout.
// Writes the trace to request.trace when set (a write failure is reported, exit code 1).
ClientOutcome run_client(const ClientRequest& request);

}  // namespace ftpsim::live
