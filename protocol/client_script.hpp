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
//   quit
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ftpsim::proto {

struct UserAction {
    enum class Kind : std::uint8_t { Login, List, Get, Put, Append, Cwd, Pwd, Raw, Quit };
    Kind kind = Kind::Quit;
    std::string path;           // login: the user name; raw: the whole command line
    std::string password;       // login only; empty = the profile's anonymous password
    std::uint64_t size = 0;     // put/append: how many bytes the user uploads

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
UserAction quit();

// True for the actions that open a data connection.
bool needs_data_connection(UserAction::Kind kind);

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
