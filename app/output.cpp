#include "app/output.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "trace/printable.hpp"
#include "viz/diagram.hpp"

namespace ftpsim::app {
namespace {

bool has_node(const trace::Trace& t, const std::string& n) {
    for (const auto& x : t.nodes)
        if (x.name == n) return true;
    return false;
}

// "home-router-server" -> {"home-router", "server"}: node names may contain '-', so try each split.
bool split_hop(const trace::Trace& t, const std::string& s, std::string& a, std::string& b) {
    for (std::size_t i = s.find('-'); i != std::string::npos; i = s.find('-', i + 1)) {
        a = s.substr(0, i);
        b = s.substr(i + 1);
        if (has_node(t, a) && has_node(t, b)) return true;
    }
    return false;
}

const char* kReset = "\x1b[0m";
const char* kGreen = "\x1b[32m";
const char* kRed = "\x1b[31m";
const char* kBold = "\x1b[1m";

}  // namespace

std::string export_options(const ViewFlags& v, const trace::Trace& t, viz::ExportOptions& o) {
    o.layout.view = v.view == "end-to-end" ? viz::View::EndToEnd : viz::View::PerHop;
    o.layout.time = v.time == "scale" || v.time == "to-scale" ? viz::TimeScale::ToScale : viz::TimeScale::Compressed;
    o.text.explain = v.explain;
    o.layout.fold_handshakes = v.fold_handshakes;
    o.layout.fold_data = v.fold_data;
    o.layout.show_socket_events = !v.hide_sockets;
    o.layout.show_notes = !v.hide_notes;
    if (!v.steps.empty())
        if (auto e = viz::parse_step_range(v.steps, o.layout); !e.empty()) return "--steps: " + e;
    if (!v.from.empty())
        if (auto e = viz::parse_time(v.from, o.layout.time_from); !e.empty()) return "--from: " + e;
    if (!v.to.empty())
        if (auto e = viz::parse_time(v.to, o.layout.time_to); !e.empty()) return "--to: " + e;
    if (o.layout.time_from >= 0 && o.layout.time_to >= 0 && o.layout.time_to < o.layout.time_from)
        return "--to " + v.to + ": before --from " + v.from;
    o.layout.skip_login = v.skip_login;
    if (!v.connections.empty())
        if (auto e = viz::parse_connections(v.connections, o.layout); !e.empty()) return "--connections: " + e;
    for (const auto& h : v.hide_lanes) {
        bool known = false;
        for (const auto& n : t.nodes) known = known || n.name == h;
        if (!known) {
            std::string names;
            for (const auto& n : t.nodes) names += (names.empty() ? "" : ", ") + n.name;
            return "--hide-lane " + h + ": expected a node of the scenario (" + names + ")";
        }
        o.layout.hidden_lanes.push_back(h);
    }
    if (v.font_size != 0) {
        if (!(v.font_size >= 6 && v.font_size <= 72)) return "--font-size: expected a size in px from 6 to 72";
        o.svg.font_size = v.font_size;
    }
    o.svg.legend = v.legend;
    if (v.capture == "client") {
        o.pcap.at = viz::CapturePoint::client_side();
    } else if (v.capture == "server") {
        o.pcap.at = viz::CapturePoint::server_side();
    } else {
        std::string a, b;
        if (!split_hop(t, v.capture, a, b)) {
            std::string names;
            for (const auto& n : t.nodes) names += (names.empty() ? "" : ", ") + n.name;
            return "--capture " + v.capture +
                   ": expected client, server, or a hop written NODE-NODE with nodes of the scenario (" +
                   names + ")";
        }
        o.pcap.at = viz::CapturePoint::link(a, b);
    }
    return "";
}

std::string write_exports(const std::vector<std::string>& paths, const trace::Trace& t,
                          const viz::ExportOptions& o) {
    for (const auto& p : paths) {
        std::string bytes;
        try {
            bytes = viz::export_for_path(t, p, o);
        } catch (const viz::ExportError& e) {
            return "--export " + p + ": " + e.what();
        }
        std::ofstream out(p, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) return "--export " + p + ": cannot write the file";
    }
    return "";
}

bool colour_wanted(const std::string& flag) {
    if (flag == "always") return true;
    if (flag == "never") return false;
    return isatty(STDOUT_FILENO) != 0;
}

void print_error(std::string_view message) {
    const std::string line = trace::escape_unprintable(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

namespace {
class EscapedLines : public std::streambuf {
public:
    ~EscapedLines() override {
        if (!line_.empty()) print_error(line_);
    }

protected:
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        put(traits_type::to_char_type(c));
        return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        for (std::streamsize i = 0; i < n; ++i) put(s[i]);
        return n;
    }
    int sync() override { return std::fflush(stderr) == 0 ? 0 : -1; }

private:
    void put(char c) {
        if (c != '\n') {
            line_ += c;
            return;
        }
        print_error(line_);
        line_.clear();
    }
    std::string line_;
};
}  // namespace

std::ostream& escaped_stderr() {
    static EscapedLines lines;
    static std::ostream out(&lines);
    return out;
}

bool print_ladder(const trace::Trace& t, const viz::ExportOptions& eo, bool colour, const char* command,
                  const char* hint) {
    viz::TextOptions to = eo.text;
    to.ansi_colour = colour;
    try {
        std::cout << viz::to_text(viz::layout(t, eo.layout), to) << "\n";
        return true;
    } catch (const viz::ExportError& e) {
        print_error(std::string("ftpsim ") + command + ": " + e.what() + hint);
        return false;
    }
}

std::string outcome_text(const trace::Trace& t, bool colour) {
    auto paint = [&](const char* c, const std::string& s) { return colour ? c + s + kReset : s; };
    std::string out;
    const auto& o = t.outcome;
    out += paint(kBold, "Outcome: ") +
           (o.ok ? paint(kGreen, "every transfer succeeded") : paint(kRed, "failed")) + "\n";
    for (const auto& tr : o.transfers) {
        out += "  " + tr.client + ": " + tr.command + (tr.path.empty() ? "" : " " + tr.path) + " -> " +
               (tr.ok ? paint(kGreen, "ok") : paint(kRed, "failed")) +
               (tr.reply ? ", reply " + std::to_string(tr.reply) : ", no final reply") + ", " +
               std::to_string(tr.bytes) + " bytes\n";
    }
    if (!o.limit_reached.empty()) out += paint(kRed, "  Stopped: " + o.limit_reached) + "\n";
    for (const auto& d : o.diagnosis) {
        out += '\n';  // not "\n" + paint(...): GCC 12 warns falsely (-Wrestrict) on that
        out += paint(kBold, "What happened: ") + d.what + "\n";
        out += paint(kBold, "Why: ") + d.cause + "\n";
        if (!d.evidence.empty()) {
            std::string steps;
            for (auto seq : d.evidence) {
                if (!steps.empty()) steps += ", ";
                steps += std::to_string(seq);
                if (seq < t.events.size()) {  // the ladder shows times: say when the step happened
                    char when[48];
                    std::snprintf(when, sizeof when, " at %.3f ms",
                                  static_cast<double>(t.events[seq].time_ns) / 1e6);
                    steps += when;
                }
            }
            out += "  (" + d.kind + ": see step" + (d.evidence.size() > 1 ? "s " : " ") + steps + ")\n";
        }
        for (const auto& f : d.fixes) {
            std::string sets;
            for (const auto& x : f.sets) {
                if (!sets.empty()) sets += ' ';
                sets += "--set ";
                sets += x;
            }
            out += "  fix" + std::string(f.verified ? " (verified)" : "") + ": " + f.description +
                   (sets.empty() ? "" : "  [" + sets + "]") + "\n";
        }
    }
    return out;
}

}  // namespace ftpsim::app
