#include "viz/gui/script.hpp"

#include <initializer_list>
#include <map>
#include <sstream>

namespace ftpsim::gui {

namespace {
// verb -> {min args, max args}
const std::map<std::string, std::pair<int, int>>& verbs() {
    static const std::map<std::string, std::pair<int, int>> v{
        {"scenario", {1, 1}}, {"set", {2, 2}},  {"fix", {1, 1}},   {"step", {1, 1}},   {"next", {0, 0}},
        {"prev", {0, 0}},     {"first", {0, 0}}, {"last", {0, 0}},  {"play", {0, 0}},   {"pause", {0, 0}},
        {"speed", {1, 1}},    {"zoom", {1, 1}},  {"pan", {2, 2}},   {"fit", {0, 0}},    {"view", {1, 1}},
        {"time", {1, 1}},     {"theme", {1, 1}}, {"scale", {1, 1}}, {"hover", {2, 2}},  {"wait", {1, 1}},
        {"screenshot", {1, 1}}, {"export", {1, 1}}, {"quit", {0, 0}},       {"expect", {2, 2}}, {"show", {1, 1}},
        {"failure", {0, 0}}, {"next-ftp", {0, 0}}, {"prev-ftp", {0, 0}}, {"next-decision", {0, 0}}, {"next-question", {0, 0}}, {"evidence", {1, 1}},
        {"present", {1, 1}}, {"reveal", {1, 1}}, {"challenge", {1, 1}}, {"answer", {1, 1}},
    };
    return v;
}

bool is_number(const std::string& s) {
    if (s.empty()) return false;
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    return end && *end == '\0';
}
}  // namespace

bool parse_script(const std::string& text, std::vector<ScriptCommand>& out, std::string& error) {
    std::string cur;
    std::vector<std::string> pieces;
    for (char c : text) {
        if (c == ';' || c == '\n') {
            pieces.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    pieces.push_back(cur);
    int index = 0;
    for (const auto& piece : pieces) {
        ++index;
        std::istringstream in(piece);
        ScriptCommand cmd;
        if (!(in >> cmd.verb)) continue;  // empty piece
        for (std::string w; in >> w;) cmd.args.push_back(w);
        auto b = piece.find_first_not_of(" \t"), e = piece.find_last_not_of(" \t\r");
        cmd.text = piece.substr(b, e - b + 1);
        auto it = verbs().find(cmd.verb);
        const std::string where = "script command " + std::to_string(index) + " (\"" + cmd.text + "\"): ";
        if (it == verbs().end()) {
            error = where + "unknown command \"" + cmd.verb + "\"";
            return false;
        }
        const int n = static_cast<int>(cmd.args.size());
        if (n < it->second.first || n > it->second.second) {
            error = where + "expected " + std::to_string(it->second.first) + " argument(s), found " + std::to_string(n);
            return false;
        }
        if (cmd.verb == "set") {
            if (cmd.args[0] != "knob" || cmd.args[1].find('=') == std::string::npos) {
                error = where + "expected \"set knob NAME=VALUE\"";
                return false;
            }
        }
        if (cmd.verb == "show" && cmd.args[0] != "knobs" && cmd.args[0] != "diagnosis" && cmd.args[0] != "tables" &&
            cmd.args[0] != "export") {
            error = where + "expected \"show knobs|diagnosis|tables|export\"";
            return false;
        }
        auto one_of = [&](std::initializer_list<const char*> words) {
            for (const char* w : words)
                if (cmd.args[0] == w) return true;
            std::string list;
            for (const char* w : words) list += (list.empty() ? "" : "|") + std::string(w);
            error = where + "expected \"" + cmd.verb + " " + list + "\"";
            return false;
        };
        if ((cmd.verb == "present" || cmd.verb == "challenge") && !one_of({"on", "off"})) return false;
        if (cmd.verb == "reveal" && !one_of({"all", "ghost", "hide"})) return false;
        if (cmd.verb == "expect") {
            const auto& what = cmd.args[0];
            const auto& v = cmd.args[1];
            const auto slash = v.find('/');
            const bool good = (what == "outcome" && (v == "ok" || v == "failed")) ||
                              (what == "knob" && v.find('=') != std::string::npos && v.front() != '=') ||
                              (what == "step" && is_number(v)) ||
                              (what == "score" && slash != std::string::npos && is_number(v.substr(0, slash)) &&
                               is_number(v.substr(slash + 1))) ||
                              (what == "question" && (v == "yes" || v == "no"));
            if (!good) {
                error = where +
                        "expected \"expect outcome ok|failed\", \"expect knob NAME=VALUE\", \"expect step N\", "
                        "\"expect score K/M\" or \"expect question yes|no\"";
                return false;
            }
        }
        for (const char* numeric : {"step", "fix", "speed", "zoom", "pan", "scale", "hover", "wait", "answer", "evidence"}) {
            if (cmd.verb != numeric) continue;
            for (const auto& a : cmd.args)
                if (!is_number(a)) {
                    error = where + "expected a number, found \"" + a + "\"";
                    return false;
                }
        }
        out.push_back(std::move(cmd));
    }
    return true;
}

}  // namespace ftpsim::gui
