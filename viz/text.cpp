// The plain-text ladder: lanes as columns, arrows as ---->, for terminals and READMEs.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "viz/export.hpp"

#include <set>

#include "protocol/reply_codes.hpp"

namespace ftpsim::viz {
namespace {

constexpr const char* kReset = "\x1b[0m";

const char* colour_of(const Item& it) {
    if (it.kind == ItemKind::Note || it.kind == ItemKind::Break) return "\x1b[33m";
    if (it.end == End::Cross || it.end == End::Rejected) return "\x1b[31m";
    if (it.style == Style::Handshake) return "\x1b[90m";
    return it.purpose == Purpose::Data || it.style == Style::Data ? "\x1b[32m" : "\x1b[34m";
}

std::string port_text(std::uint16_t p) { return p ? std::to_string(p) : std::string(); }

}  // namespace

std::string to_text(const Diagram& d, const TextOptions& o) {
    const int lanes = static_cast<int>(d.lanes.size());
    // Lane spacing: wide enough for the longest arrow label between adjacent lanes, within limits.
    std::size_t longest = 0;
    for (const Item& it : d.items)
        if (it.kind == ItemKind::Arrow) {
            const int span = std::max(1, std::abs(it.to_lane - it.from_lane));
            longest = std::max(longest, (it.label.size() + 16) / static_cast<std::size_t>(span));
        }
    int gap = std::clamp(static_cast<int>(longest), o.lane_gap_min, o.lane_gap_max);
    for (const Lane& l : d.lanes)
        gap = std::max(gap, static_cast<int>(std::max(l.name.size(), lane_address(l).size())) + 3);
    gap = std::min(gap, std::max(o.lane_gap_max, o.lane_gap_min));
    const int time_w = o.times ? 13 : 0;
    int half_header = 0;
    for (const Lane& l : d.lanes)
        half_header = std::max(half_header, static_cast<int>(std::max(l.name.size(), lane_address(l).size())) / 2);
    const int left = time_w + 2 + half_header;
    const int width = left + (lanes > 0 ? (lanes - 1) * gap : 0) + 2;
    auto col = [&](double pos) { return left + static_cast<int>(std::lround(pos * gap)); };
    // Lanes x rows: a ladder of thousands of sessions would be gigabytes of spaces. Refused past
    // kMaxTextLadderBytes (the SVG and JSON exports stay proportional to the events).
    const std::uint64_t estimate = (static_cast<std::uint64_t>(d.items.size()) * 2 + 4) * static_cast<std::uint64_t>(width + 1);
    if (estimate > kMaxTextLadderBytes)
        throw ExportError("the text ladder would be about " + std::to_string(estimate >> 20) + " MiB (" +
                          std::to_string(lanes) + " lanes x " + std::to_string(d.items.size()) +
                          " rows), over the limit of " + std::to_string(kMaxTextLadderBytes >> 20) +
                          " MiB for text; export .svg or .json instead");

    std::string out;
    out.reserve(d.items.size() * static_cast<std::size_t>(width + 16) * 2 + 1024);
    auto blank = [&]() {
        std::string line(static_cast<std::size_t>(width), ' ');
        for (int i = 0; i < lanes; ++i) line[static_cast<std::size_t>(col(i))] = '|';
        return line;
    };
    auto put = [](std::string& line, int at, const std::string& s) {
        if (at < 0) at = 0;
        if (static_cast<std::size_t>(at) + s.size() > line.size()) line.resize(static_cast<std::size_t>(at) + s.size(), ' ');
        line.replace(static_cast<std::size_t>(at), s.size(), s);
    };
    auto emit = [&](std::string line, int c0 = -1, int c1 = -1, const char* colour = nullptr) {
        while (!line.empty() && line.back() == ' ') line.pop_back();
        if (colour && o.ansi_colour && c0 >= 0 && c1 > c0 && static_cast<std::size_t>(c0) < line.size()) {
            c1 = std::min<int>(c1, static_cast<int>(line.size()));
            line.insert(static_cast<std::size_t>(c1), kReset);
            line.insert(static_cast<std::size_t>(c0), colour);
        }
        out += line;
        out += '\n';
    };

    if (!d.title.empty()) { out += d.title; out += "\n\n"; }
    // Headers: name, then address, centred on the lifeline.
    for (int row = 0; row < 2; ++row) {
        std::string line(static_cast<std::size_t>(width), ' ');
        if (row == 1 && o.times) put(line, 0, "  time (ms/s)");
        for (int i = 0; i < lanes; ++i) {
            const std::string s = row == 0 ? d.lanes[i].name : lane_address(d.lanes[i]);
            put(line, col(i) - static_cast<int>(s.size()) / 2, s);
        }
        emit(line);
    }
    emit(blank());

    std::set<std::uint64_t> explained;  // packets whose FTP line is explained already (--explain)
    for (const Item& it : d.items) {
        std::string line = blank();
        if (o.times && it.kind != ItemKind::Break) put(line, 0, fmt::format("{:>12}", format_time(it.t0)));
        if (it.kind == ItemKind::Break) {
            std::string dots(static_cast<std::size_t>(width), ' ');
            put(dots, left - 1, fmt::format("~ ~ ~  {}  ~ ~ ~", it.text));
            emit(dots, 0, static_cast<int>(dots.size()), colour_of(it));
            continue;
        }
        if (it.kind == ItemKind::Note) {
            std::size_t start = 0;
            bool first = true;
            while (start <= it.text.size()) {
                const std::size_t eol = it.text.find('\n', start);
                const std::string part = it.text.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
                std::string l = first ? line : blank();
                const int c = col(it.lane_lo) - (it.lane_lo == it.lane_hi ? 0 : 0);
                const std::string s = (first ? "* " : "  ") + part;
                put(l, c, s);
                emit(l, c, c + static_cast<int>(s.size()), colour_of(it));
                first = false;
                if (eol == std::string::npos) break;
                start = eol + 1;
            }
            continue;
        }
        // An arrow: ports at both ends, the label inside when it fits, above it otherwise.
        const int a = col(it.from_pos), b = col(it.to_pos);
        const bool right = b >= a;
        const int lo = std::min(a, b), hi = std::max(a, b);
        const bool dead = it.end != End::Arrow;
        const std::string lport = port_text(right ? it.from_port : (dead ? 0 : it.to_port));
        const std::string rport = port_text(right ? (dead ? 0 : it.to_port) : it.from_port);
        std::string body;
        body += lport.empty() ? "" : lport + " ";
        std::string shaft;
        const int inner = hi - lo - 1 - static_cast<int>(body.size()) - static_cast<int>(rport.empty() ? 0 : rport.size() + 1);
        std::string label = it.label;
        if (it.end == End::Rejected) label += " (rejected)";
        const bool inside = static_cast<int>(label.size()) + 6 <= inner;
        shaft.assign(static_cast<std::size_t>(std::max(inner, 2)), '-');
        if (inside) {
            const std::size_t at = (shaft.size() - label.size() - 2) / 2;
            shaft.replace(at, label.size() + 2, " " + label + " ");
        }
        const char head = dead ? 'X' : (right ? '>' : '<');
        if (right) shaft.back() = head;
        else shaft.front() = head;
        body += shaft;
        if (!rport.empty()) body += " " + rport;
        if (!inside) {
            std::string above = blank();
            if (o.times) put(above, 0, fmt::format("{:>12}", format_time(it.t0)));
            put(above, lo + 2, label);
            emit(above, lo + 2, lo + 2 + static_cast<int>(label.size()), colour_of(it));
            put(line, 0, std::string(static_cast<std::size_t>(time_w), ' '));
        }
        put(line, lo + 1, body);
        emit(line, lo + 1, lo + 1 + static_cast<int>(body.size()), colour_of(it));
        // What a middlebox made of the line, and why a packet died, on lines of their own.
        for (const std::string* extra : {&it.label_after, dead ? &it.text : nullptr}) {
            if (!extra || extra->empty()) continue;
            std::string l = blank();
            const std::string s = (extra == &it.label_after ? "  (received as: " : "  (") + *extra + ")";
            put(l, lo + 1, s);
            emit(l, lo + 1, lo + 1 + static_cast<int>(s.size()), colour_of(it));
        }
        if (o.explain && it.style == Style::Control && !it.label.empty() && explained.insert(it.packet ? it.packet : ~it.event).second) {
            std::vector<std::string> notes;
            if (std::string dec = proto::decoded_endpoint(it.label); !dec.empty()) notes.push_back(dec);
            if (auto code = proto::reply_code_of(it.label)) notes.push_back(proto::reply_explanation_text(*code));
            for (const auto& n : notes) {
                std::string l = blank();
                const std::string s = "  " + n;
                put(l, lo + 1, s);
                emit(l, lo + 1, lo + 1 + static_cast<int>(s.size()), nullptr);
            }
        }
    }
    emit(blank());
    return out;
}

}  // namespace ftpsim::viz
