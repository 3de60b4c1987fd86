// A script of user actions: what the person at the keyboard asks the FTP client to do.
//
// The client session turns each action into FTP commands according to its profile (curl sends
// "PWD" after logging in and "SIZE" before "RETR"; ftplib sends "TYPE I" before every binary
// transfer...). The script itself says nothing about commands: it is the user's intent.
//
// Text form (scenarios, the command line), one action a line, '#' starts a comment:
//   login anonymous ftp@example.com
//   ls /pub
//   get file.bin
//   put upload.bin 65536
//   append log.txt 100
//   cwd /pub
//   pwd
//   raw NOOP
//   raw RETR /file     (a transfer verb: sent as-is, no data setup of the client's own)
//   wait 10s
//   quit
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ftpsim::proto {

struct UserAction {
    enum class Kind : std::uint8_t { Login, List, Get, Put, Append, Cwd, Pwd, Raw, Wait, Quit };
    Kind kind = Kind::Quit;
    std::string path;           // login: the user name; raw: the whole command line
    std::string password;       // login only; empty = the profile's anonymous password
    std::uint64_t size = 0;     // put/append: how many bytes the user uploads
    std::int64_t duration = 0;  // wait: how long the client does nothing, in nanoseconds

    bool operator==(const UserAction&) const = default;
};

using ClientScript = std::vector<UserAction>;

// Builders, so a test reads like the session it drives.
UserAction login(std::string user, std::string password = {});
UserAction ls(std::string path = {});
UserAction get(std::string path);
UserAction put(std::string path, std::uint64_t size);
UserAction append(std::string path, std::uint64_t size);
UserAction cwd(std::string path);
UserAction pwd();
UserAction raw(std::string command_line);
UserAction wait(std::int64_t nanoseconds);
UserAction quit();

// True for the actions that open a data connection.
bool needs_data_connection(UserAction::Kind kind);

// A transfer command's verb (RETR STOR STOU APPE LIST NLST MLSD RTRV) at the start of a raw
// line, upper-cased; "" when the line holds another command. Such a raw line is sent as-is and
// awaited as a transfer (1yz, then the final reply), with no data setup of the client's own.
std::string raw_transfer_verb(std::string_view command_line);

// The transfer command an action sends, for the outcome: "LIST", "RETR", "STOR", "APPE", or a
// raw transfer line's verb; "" for the other actions. transfer_path: its argument ("" if none).
std::string transfer_verb(const UserAction& action);
std::string transfer_path(const UserAction& action);

// "10s", "250ms", "2m", "1h", "500us", "100ns" -> nanoseconds; nullopt when malformed.
std::optional<std::int64_t> parse_wait_duration(std::string_view text);
std::string format_wait_duration(std::int64_t nanoseconds);  // the shortest exact form

const char* to_string(UserAction::Kind kind);
std::string to_string(const UserAction& action);  // the text form of one line

struct ScriptError {
    std::size_t line = 0;    // 1-based
    std::size_t column = 0;  // 1-based
    std::string message;     // "expected a size in bytes, found 'abc'"
};

// Parses the text form above. An unknown verb or a bad argument is a ScriptError naming the
// line and column, never an exception.
std::variant<ClientScript, ScriptError> parse_client_script(std::string_view text);

}  // namespace ftpsim::proto
