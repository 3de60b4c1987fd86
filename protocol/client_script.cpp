#include "protocol/client_script.hpp"

#include "protocol/codec.hpp"
#include "protocol/commands.hpp"

#include <array>
#include <charconv>
#include <climits>
#include <cstdint>
#include <utility>

namespace ftpsim::proto {

UserAction login(std::string user, std::string password) {
    return {UserAction::Kind::Login, std::move(user), std::move(password), 0, 0};
}
UserAction ls(std::string path) { return {UserAction::Kind::List, std::move(path), {}, 0, 0}; }
UserAction get(std::string path) { return {UserAction::Kind::Get, std::move(path), {}, 0, 0}; }
UserAction put(std::string path, std::uint64_t size) {
    return {UserAction::Kind::Put, std::move(path), {}, size, 0};
}
UserAction append(std::string path, std::uint64_t size) {
    return {UserAction::Kind::Append, std::move(path), {}, size, 0};
}
UserAction cwd(std::string path) { return {UserAction::Kind::Cwd, std::move(path), {}, 0, 0}; }
UserAction pwd() { return {UserAction::Kind::Pwd, {}, {}, 0, 0}; }
UserAction raw(std::string command_line) {
    return {UserAction::Kind::Raw, std::move(command_line), {}, 0, 0};
}
UserAction wait(std::int64_t nanoseconds) {
    return {UserAction::Kind::Wait, {}, {}, 0, nanoseconds};
}
UserAction quit() { return {UserAction::Kind::Quit, {}, {}, 0, 0}; }

bool needs_data_connection(UserAction::Kind kind) {
    using K = UserAction::Kind;
    return kind == K::List || kind == K::Get || kind == K::Put || kind == K::Append;
}

std::string raw_transfer_verb(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string verb;
    for (; i < line.size() && line[i] != ' ' && line[i] != '\t'; ++i) {
        char c = line[i];
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        verb += c;
    }
    // The verb table knows which commands open a data connection (RETR STOR STOU APPE LIST NLST
    // MLSD RTRV ...).
    return verb_info(verb).needs_data_connection() ? verb : std::string{};
}

std::string transfer_verb(const UserAction& action) {
    using K = UserAction::Kind;
    switch (action.kind) {
        case K::List: return "LIST";
        case K::Get: return "RETR";
        case K::Put: return "STOR";
        case K::Append: return "APPE";
        case K::Raw: return raw_transfer_verb(action.path);
        default: return {};
    }
}

std::string transfer_path(const UserAction& action) {
    if (action.kind != UserAction::Kind::Raw)
        return needs_data_connection(action.kind) ? action.path : std::string{};
    if (raw_transfer_verb(action.path).empty()) return {};
    // Everything after the verb and the spaces that follow it.
    std::string_view line = action.path;
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    return std::string(line.substr(i));
}

namespace {

struct DurationUnit {
    const char* suffix;
    std::int64_t nanoseconds;
};
// Longest suffixes first where one ends another ("ms" before "s").
constexpr std::array kDurationUnits{
    DurationUnit{"ns", 1},
    DurationUnit{"us", 1'000},
    DurationUnit{"ms", 1'000'000},
    DurationUnit{"s", 1'000'000'000},
    DurationUnit{"m", 60'000'000'000},
    DurationUnit{"h", 3'600'000'000'000},
};

}  // namespace

std::optional<std::int64_t> parse_wait_duration(std::string_view text) {
    for (const auto& unit : kDurationUnits) {
        const std::string_view suffix = unit.suffix;
        if (!text.ends_with(suffix)) continue;
        const std::string_view digits = text.substr(0, text.size() - suffix.size());
        if (digits.empty()) return std::nullopt;
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc{} || end != digits.data() + digits.size() || value < 0)
            return std::nullopt;
        if (value > INT64_MAX / unit.nanoseconds) return std::nullopt;
        return value * unit.nanoseconds;
    }
    return std::nullopt;
}

std::string format_wait_duration(std::int64_t ns) {
    for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it)
        if (ns != 0 && ns % it->nanoseconds == 0)
            return std::to_string(ns / it->nanoseconds) + it->suffix;
    return std::to_string(ns / 1'000'000'000) + "s";  // 0 -> "0s"
}

namespace {

// Leaves room for the longest verb, a space and CRLF within kDefaultMaxLine.
constexpr std::size_t kMaxScriptLine = 4000;

struct StepWord {
    UserAction::Kind kind;
    const char* word;
};

constexpr std::array kVerbs{
    StepWord{UserAction::Kind::Login, "login"}, StepWord{UserAction::Kind::List, "ls"},
    StepWord{UserAction::Kind::Get, "get"},     StepWord{UserAction::Kind::Put, "put"},
    StepWord{UserAction::Kind::Append, "append"}, StepWord{UserAction::Kind::Cwd, "cwd"},
    StepWord{UserAction::Kind::Pwd, "pwd"},     StepWord{UserAction::Kind::Raw, "raw"},
    StepWord{UserAction::Kind::Wait, "wait"},   StepWord{UserAction::Kind::Quit, "quit"},
};

// One whitespace-separated word of a line, with where it starts (for error columns).
struct Word {
    std::string_view text;
    std::size_t column = 0;  // 1-based
};

std::vector<Word> split_words(std::string_view line) {
    std::vector<Word> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) words.push_back({line.substr(start, i - start), start + 1});
    }
    return words;
}

// Everything after the first word, for "raw" where spaces belong to the command.
std::string_view rest_after(std::string_view line, const Word& word) {
    std::size_t i = word.column - 1 + word.text.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    return line.substr(i);
}

struct ArgCount {
    std::size_t min, max;
};

ArgCount arg_count(UserAction::Kind kind) {
    using K = UserAction::Kind;
    switch (kind) {
        case K::Login: return {1, 2};
        case K::List: return {0, 1};
        case K::Get: case K::Cwd: case K::Wait: return {1, 1};
        case K::Put: case K::Append: return {2, 2};
        case K::Raw: return {1, 1000};
        case K::Pwd: case K::Quit: return {0, 0};
    }
    return {0, 0};
}

std::variant<UserAction, ScriptError> parse_line(std::string_view line, std::size_t line_no) {
    // A step becomes one FTP command line, which a server reads up to kDefaultMaxLine bytes.
    if (line.size() > kMaxScriptLine)
        return ScriptError{line_no, kMaxScriptLine + 1,
                           "expected a line of at most " + std::to_string(kMaxScriptLine) +
                               " characters (an FTP command line is at most " +
                               std::to_string(kDefaultMaxLine) + " bytes)"};
    // Control characters would end up inside an FTP command line.
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return ScriptError{line_no, i + 1,
                               "expected printable text, found control character " +
                                   std::to_string(c)};
    }
    const auto words = split_words(line);
    const Word& verb = words.front();
    const StepWord* info = nullptr;
    for (const auto& v : kVerbs)
        if (verb.text == v.word) info = &v;
    if (info == nullptr)
        return ScriptError{line_no, verb.column,
                           "expected one of login, ls, get, put, append, cwd, pwd, raw, wait, quit; "
                           "found '" + std::string(verb.text) + "'"};
    const auto [min, max] = arg_count(info->kind);
    const std::size_t args = words.size() - 1;
    if (args < min || args > max) {
        const std::size_t column = args > max ? words[max + 1].column : line.size() + 1;
        return ScriptError{line_no, column,
                           std::string(info->word) + " takes " + std::to_string(min) +
                               (min == max ? "" : " to " + std::to_string(max)) +
                               " argument(s), found " + std::to_string(args)};
    }
    UserAction action{info->kind, {}, {}, 0, 0};
    if (info->kind == UserAction::Kind::Raw) {
        action.path = std::string(rest_after(line, verb));
        // The first word is the FTP verb as a server's parser reads it (up to the first space):
        // 1 to kMaxVerb ASCII letters. Anything else would be refused as a malformed command line.
        const std::size_t start = line.size() - action.path.size();
        const std::string_view ftp_verb = std::string_view(action.path).substr(0, action.path.find(' '));
        for (std::size_t i = 0; i < ftp_verb.size(); ++i) {
            const char c = ftp_verb[i];
            const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            if (!letter || i == kMaxVerb)
                return ScriptError{line_no, start + i + 1,
                                   "raw: expected an FTP verb of 1 to " + std::to_string(kMaxVerb) +
                                       " ASCII letters, found '" + std::string(ftp_verb) + "'"};
        }
        return action;
    }
    if (info->kind == UserAction::Kind::Wait) {
        const auto& w = words[1];
        const auto duration = parse_wait_duration(w.text);
        if (!duration)
            return ScriptError{line_no, w.column,
                               "expected a duration such as 10s or 250ms, found '" +
                                   std::string(w.text) + "'"};
        action.duration = *duration;
        return action;
    }
    if (args >= 1) action.path = std::string(words[1].text);
    if (info->kind == UserAction::Kind::Login && args == 2) action.password = words[2].text;
    if (info->kind == UserAction::Kind::Put || info->kind == UserAction::Kind::Append) {
        const auto& w = words[2];
        auto [end, ec] = std::from_chars(w.text.data(), w.text.data() + w.text.size(), action.size);
        if (ec != std::errc{} || end != w.text.data() + w.text.size())
            return ScriptError{line_no, w.column,
                               "expected a size in bytes, found '" + std::string(w.text) + "'"};
    }
    return action;
}

}  // namespace

const char* to_string(UserAction::Kind kind) {
    for (const auto& v : kVerbs)
        if (v.kind == kind) return v.word;
    return "?";
}

std::string to_string(const UserAction& action) {
    std::string out = to_string(action.kind);
    for (const std::string* word : {&action.path, &action.password})
        if (!word->empty()) out.append(" ").append(*word);
    if (action.kind == UserAction::Kind::Put || action.kind == UserAction::Kind::Append)
        out.append(" ").append(std::to_string(action.size));
    if (action.kind == UserAction::Kind::Wait)
        out.append(" ").append(format_wait_duration(action.duration));
    return out;
}

std::variant<ClientScript, ScriptError> parse_client_script(std::string_view text) {
    ClientScript script;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.remove_suffix(1);
        if (split_words(line).empty()) continue;
        auto parsed = parse_line(line, line_no);
        if (auto* error = std::get_if<ScriptError>(&parsed)) return *error;
        script.push_back(std::get<UserAction>(std::move(parsed)));
    }
    return script;
}

}  // namespace ftpsim::proto
