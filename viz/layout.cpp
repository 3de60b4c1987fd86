// trace -> Diagram. One pass over the events builds the items in time order; a second pass gives
// them their y (to scale, or one row each). Linear in the trace apart from one sort.
#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "viz/diagram.hpp"

#include "protocol/reply_codes.hpp"

namespace ftpsim::viz {
namespace {

using trace::Event;
using trace::EventKind;
using trace::Verdict;

bool has_flag(const std::string& flags, char f) { return flags.find(f) != std::string::npos; }

bool is_pure_ack(const Event& e) { return e.flags == "A" && e.payload_len == 0; }

// The nodes in drawing order: clients on the left, middleboxes in the middle in the trace's order,
// servers (and other hosts) on the right, as in the lecture's figures.
std::vector<Lane> all_lanes(const trace::Trace& t) {
    std::vector<Lane> lanes;
    std::vector<Lane> mid, right;
    std::unordered_set<std::string> seen;
    auto add = [&](const trace::Node& n) {
        Lane l{n.name, n.role, n.kind, n.addresses, n.kind != "host"};
        seen.insert(n.name);
        if (n.role == "client") lanes.push_back(std::move(l));
        else if (l.middlebox) mid.push_back(std::move(l));
        else right.push_back(std::move(l));
    };
    for (const auto& n : t.nodes) add(n);
    // Nodes an event names but the node list lacks still get a lane, so nothing is lost.
    for (const auto& e : t.events)
        for (const std::string* name : {&e.from, &e.to})
            if (!name->empty() && !seen.count(*name)) add(trace::Node{*name, "host", "", {}});
    lanes.insert(lanes.end(), mid.begin(), mid.end());
    lanes.insert(lanes.end(), right.begin(), right.end());
    return lanes;
}

struct LaneMap {
    std::vector<Lane> lanes;                         // the lanes drawn
    std::unordered_map<std::string, double> pos;     // every node -> its x (a middlebox in the
                                                     // end-to-end view sits between its hosts)
    std::vector<int> endpoint_lanes;                 // lanes an arrow may start or end on

    double x(const std::string& node) const {
        auto it = pos.find(node);
        return it == pos.end() ? 0.0 : it->second;
    }
    // The lane an arrow at x travelling in direction dir (+1 right, -1 left) is heading for.
    int lane_towards(double x, int dir) const {
        const int n = static_cast<int>(lanes.size());
        if (n == 0) return -1;
        int i = dir > 0 ? static_cast<int>(std::ceil(x - 1e-9)) : static_cast<int>(std::floor(x + 1e-9));
        return std::clamp(i, 0, n - 1);
    }
    int lane_behind(double x, int dir) const { return lane_towards(x, -dir); }
};

LaneMap make_lanes(const trace::Trace& t, View view) {
    LaneMap m;
    std::vector<Lane> full = all_lanes(t);
    if (view == View::PerHop) {
        for (std::size_t i = 0; i < full.size(); ++i) m.pos[full[i].name] = static_cast<double>(i);
        m.lanes = std::move(full);
        return m;
    }
    // End to end: hosts keep a lane; a middlebox sits at the fraction of the way between the hosts
    // around it, so a packet it drops ends in a cross between them.
    std::vector<int> host_index(full.size(), -1);
    for (std::size_t i = 0; i < full.size(); ++i)
        if (!full[i].middlebox) {
            host_index[i] = static_cast<int>(m.lanes.size());
            m.lanes.push_back(full[i]);
        }
    const int n = static_cast<int>(full.size());
    for (int i = 0; i < n; ++i) {
        if (host_index[i] >= 0) { m.pos[full[i].name] = host_index[i]; continue; }
        int p = i - 1, q = i + 1;
        while (p >= 0 && host_index[p] < 0) --p;
        while (q < n && host_index[q] < 0) ++q;
        double x;
        if (p >= 0 && q < n) x = host_index[p] + double(i - p) / double(q - p);
        else if (p >= 0) x = host_index[p] + 0.5;
        else if (q < n) x = host_index[q] - 0.5;
        else x = 0;
        m.pos[full[i].name] = x;
    }
    return m;
}

Purpose purpose_of(const std::string& p) {
    if (p == "control") return Purpose::Control;
    if (p == "data") return Purpose::Data;
    return Purpose::None;
}

std::string_view first_line(std::string_view s, std::size_t& more_lines) {
    more_lines = 0;
    std::size_t eol = s.find('\n');
    std::string_view line = s.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (eol != std::string_view::npos && eol + 1 < s.size()) {
        ++more_lines;
        eol = s.find('\n', eol + 1);
    }
    return line;
}

// Folds runs of data segments (LayoutOptions::fold_data). `items` are the raw arrows and notes in
// time order, lanes resolved; returns them with each run of >= 2 data segments merged into its
// first arrow and the pure ACKs absorbed into it removed.
std::vector<Item> fold_data_runs(const trace::Trace& t, std::vector<Item> items) {
    struct Run {
        std::size_t head;                  // the run's first data arrow
        std::vector<std::size_t> absorbed; // its other data arrows and the ACKs coming back
        std::uint32_t segments = 1, acks = 0;
        std::uint64_t bytes = 0;
        trace::TimeNs t1 = 0;
    };
    std::vector<Run> open;                 // a handful at a time: linear scans are fine
    std::vector<char> removed(items.size(), 0);
    auto close = [&](std::size_t r) {
        Run& run = open[r];
        if (run.segments >= 2) {
            Item& head = items[run.head];
            head.folded_segments = run.segments;
            head.folded_acks = run.acks;
            head.folded_bytes = run.bytes;
            head.label = folded_label(run.bytes, run.segments, run.acks);
            head.label_after.clear();
            head.t1 = std::max(head.t1, run.t1);
            for (std::size_t i : run.absorbed) removed[i] = 1;
        }
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(r));
    };
    auto close_conn = [&](int conn) {
        for (std::size_t r = open.size(); r-- > 0;)
            if (items[open[r].head].conn == conn) close(r);
    };
    auto close_all = [&]() {
        while (!open.empty()) close(open.size() - 1);
    };
    auto segment_of = [&](const Item& it) -> const Event* {
        if (it.kind != ItemKind::Arrow || it.synthesized || it.event >= t.events.size()) return nullptr;
        const Event& e = t.events[it.event];
        return e.kind == EventKind::Segment ? &e : nullptr;
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
        const Item& it = items[i];
        const Event* e = segment_of(it);
        if (e && it.end == End::Arrow && it.purpose == Purpose::Data) {
            const bool data = e->payload_len > 0 && !e->control_text && !has_flag(e->flags, 'S') && !has_flag(e->flags, 'F') &&
                              !has_flag(e->flags, 'R');
            const bool ack = is_pure_ack(*e);
            std::size_t r = 0;
            for (; r < open.size(); ++r) {
                const Item& h = items[open[r].head];
                if (h.conn != it.conn) continue;
                if (data && h.from_lane == it.from_lane && h.to_lane == it.to_lane) break;
                if (ack && h.from_lane == it.to_lane && h.to_lane == it.from_lane) break;
            }
            if (r < open.size()) {
                Run& run = open[r];
                run.absorbed.push_back(i);
                if (data) {
                    ++run.segments;
                    run.bytes += e->payload_len;
                    run.t1 = std::max(run.t1, it.t1);
                } else {
                    ++run.acks;
                }
                continue;
            }
            if (data) {
                // A new run; another direction's run of this connection on the same hop ends.
                for (std::size_t q = open.size(); q-- > 0;) {
                    const Item& h = items[open[q].head];
                    if (h.conn == it.conn && h.from_lane == it.to_lane && h.to_lane == it.from_lane) close(q);
                }
                Run run;
                run.head = i;
                run.bytes = e->payload_len;
                run.t1 = it.t1;
                open.push_back(std::move(run));
                continue;
            }
        }
        // Anything else drawn between a run's segments ends it, so the order of the rows stays
        // true; only another data connection's arrows (a concurrent transfer) leave it open.
        if (it.kind == ItemKind::Arrow && it.purpose == Purpose::Data) close_conn(it.conn);
        else close_all();
    }
    close_all();
    std::vector<Item> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
        if (!removed[i]) out.push_back(std::move(items[i]));
    return out;
}


// Forms whose line is the announcing command itself; the others are replies to a command.
bool announcing_command(trace::Announce a) {
    return a == trace::Announce::Port || a == trace::Announce::Eprt || a == trace::Announce::Sock;
}

// LayoutOptions' selection: connections, hidden lanes, steps, time range, login skipped. `items`
// are in drawing order and have no y yet; the lanes of `lm` are reduced to the ones shown.
// keep_first: the first item is the auto-fold note, kept whatever the selection.
void select_items(const trace::Trace& t, const LayoutOptions& opt, LaneMap& lm, std::vector<Item>& items,
                  bool keep_first) {
    const bool conns = opt.show_control && opt.show_data && opt.show_signalling;
    const bool ranges = opt.step_first || opt.step_last || opt.time_from >= 0 || opt.time_to >= 0 || opt.skip_login;
    if (conns && opt.hidden_lanes.empty() && !ranges) return;
    std::vector<Item> pinned;
    if (keep_first && !items.empty()) {
        pinned.push_back(std::move(items.front()));
        items.erase(items.begin());
    }
    std::vector<Item> out;
    out.reserve(items.size());
    // Connections.
    for (Item& it : items) {
        if (it.kind == ItemKind::Arrow &&
            ((it.style == Style::Control && !opt.show_control) || (it.style == Style::Data && !opt.show_data) ||
             (it.style == Style::Handshake && !opt.show_signalling)))
            continue;
        out.push_back(std::move(it));
    }
    items.swap(out);
    out.clear();
    // Hidden lanes.
    const int n = static_cast<int>(lm.lanes.size());
    std::vector<bool> hidden(static_cast<std::size_t>(n), false);
    bool any_hidden = false;
    for (int i = 0; i < n; ++i)
        for (const auto& h : opt.hidden_lanes)
            if (lm.lanes[static_cast<std::size_t>(i)].name == h) hidden[static_cast<std::size_t>(i)] = any_hidden = true;
    if (any_hidden && std::count(hidden.begin(), hidden.end(), false) > 0) {
        // New x of every old lane: the shown ones are renumbered, a hidden one sits between its
        // shown neighbours (or on the edge one).
        std::vector<double> nx(static_cast<std::size_t>(n), 0);
        std::vector<int> new_index(static_cast<std::size_t>(n), -1);
        int k = 0;
        for (int i = 0; i < n; ++i)
            if (!hidden[static_cast<std::size_t>(i)]) new_index[static_cast<std::size_t>(i)] = k++;
        for (int i = 0; i < n; ++i) {
            if (!hidden[static_cast<std::size_t>(i)]) { nx[static_cast<std::size_t>(i)] = new_index[static_cast<std::size_t>(i)]; continue; }
            int lo = i - 1, hi = i + 1;
            while (lo >= 0 && hidden[static_cast<std::size_t>(lo)]) --lo;
            while (hi < n && hidden[static_cast<std::size_t>(hi)]) ++hi;
            if (lo < 0) nx[static_cast<std::size_t>(i)] = new_index[static_cast<std::size_t>(hi)];
            else if (hi >= n) nx[static_cast<std::size_t>(i)] = new_index[static_cast<std::size_t>(lo)];
            else {
                const double a = new_index[static_cast<std::size_t>(lo)], b = new_index[static_cast<std::size_t>(hi)];
                nx[static_cast<std::size_t>(i)] = a + (b - a) * (i - lo) / static_cast<double>(hi - lo);
            }
        }
        auto map_x = [&](double p) {
            if (p <= 0) return nx.front() + p;
            if (p >= n - 1) return nx.back() + (p - (n - 1));
            const int a = static_cast<int>(std::floor(p));
            const double f = p - a;
            return nx[static_cast<std::size_t>(a)] + f * (nx[static_cast<std::size_t>(a) + 1] - nx[static_cast<std::size_t>(a)]);
        };
        auto shown = [&](int lane) { return lane >= 0 && lane < n && !hidden[static_cast<std::size_t>(lane)]; };
        // The hop of a packet that leaves a lane: (packet, lane) -> item.
        std::unordered_map<std::uint64_t, std::size_t> hop_from;
        for (std::size_t i = 0; i < items.size(); ++i)
            if (items[i].kind == ItemKind::Arrow && items[i].packet != 0 && items[i].from_lane >= 0)
                hop_from.emplace(items[i].packet * 64 + static_cast<std::uint64_t>(items[i].from_lane), i);
        for (std::size_t i = 0; i < items.size(); ++i) {
            Item& it = items[i];
            if (it.kind == ItemKind::Arrow) {
                if (it.from_lane >= 0 && !shown(it.from_lane)) continue;  // the hop leaving a hidden lane
                // Towards a hidden lane: take on the fate of the packet's next hops until it
                // reaches a lane shown; a packet that stopped at the hidden lane dies there.
                while (it.to_lane >= 0 && !shown(it.to_lane)) {
                    auto next = it.end == End::Arrow && it.packet != 0
                                    ? hop_from.find(it.packet * 64 + static_cast<std::uint64_t>(it.to_lane))
                                    : hop_from.end();
                    if (next == hop_from.end()) {
                        if (it.end == End::Arrow) it.end = End::Cross;
                        const int dir = it.to_lane > it.from_lane ? 1 : -1;
                        int j = it.to_lane;
                        while (j >= 0 && j < n && hidden[static_cast<std::size_t>(j)]) j += dir;
                        it.to_lane = j >= 0 && j < n ? j : it.from_lane;
                        break;
                    }
                    const Item& h = items[next->second];
                    it.to_lane = h.to_lane;
                    it.to_pos = h.to_pos;
                    it.end = h.end;
                    it.t1 = h.t1;
                    if (!h.text.empty()) it.text = h.text;
                    if (!h.translation.empty())
                        it.translation = it.translation.empty() ? h.translation : it.translation + "; " + h.translation;
                }
                it.from_pos = map_x(it.from_pos);
                // Delivered: onto its (maybe new) lane; died: where it died, mapped.
                it.to_pos = it.end == End::Arrow && it.to_lane >= 0 ? nx[static_cast<std::size_t>(it.to_lane)] : map_x(it.to_pos);
                if (it.from_lane >= 0) it.from_lane = new_index[static_cast<std::size_t>(it.from_lane)];
                if (it.to_lane >= 0) it.to_lane = new_index[static_cast<std::size_t>(it.to_lane)];
            } else if (it.kind == ItemKind::Note) {
                int lo = it.lane_lo, hi = it.lane_hi;
                while (lo <= hi && !shown(lo)) ++lo;
                while (hi >= lo && !shown(hi)) --hi;
                if (lo > hi) continue;
                it.lane_lo = new_index[static_cast<std::size_t>(lo)];
                it.lane_hi = new_index[static_cast<std::size_t>(hi)];
            }
            out.push_back(std::move(it));
        }
        items.swap(out);
        out.clear();
        std::vector<Lane> lanes;
        for (int i = 0; i < n; ++i)
            if (!hidden[static_cast<std::size_t>(i)]) lanes.push_back(std::move(lm.lanes[static_cast<std::size_t>(i)]));
        lm.lanes = std::move(lanes);
    }
    // Steps (1-based over what is left) and the time range.
    std::size_t start = 0;
    if (opt.skip_login) {
        for (std::size_t i = 0; i < items.size(); ++i) {
            const Item& it = items[i];
            if (it.kind != ItemKind::Arrow || it.event >= t.events.size()) continue;
            const auto& ftp = t.events[it.event].ftp;
            auto a = std::find_if(ftp.begin(), ftp.end(), [](const trace::FtpLine& l) { return l.announce != trace::Announce::None; });
            if (a == ftp.end()) continue;
            std::size_t at = i;
            if (!announcing_command(a->announce)) {  // a reply: back to the command it answers
                for (std::size_t j = i; j-- > 0;) {
                    const Item& c = items[j];
                    if (c.kind != ItemKind::Arrow || c.conn != it.conn || c.event >= t.events.size()) continue;
                    const auto& cf = t.events[c.event].ftp;
                    if (std::any_of(cf.begin(), cf.end(), [](const trace::FtpLine& l) { return l.command; })) { at = j; break; }
                }
            }
            // The first hop of that packet.
            for (std::size_t j = 0; j < at; ++j)
                if (items[j].kind == ItemKind::Arrow && items[j].packet != 0 && items[j].packet == items[at].packet) { at = j; break; }
            start = at;
            break;
        }
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::size_t step = i + 1;
        if (opt.step_first && step < opt.step_first) continue;
        if (opt.step_last && step > opt.step_last) continue;
        if (opt.time_from >= 0 && items[i].t0 < opt.time_from) continue;
        if (opt.time_to >= 0 && items[i].t0 > opt.time_to) continue;
        if (i < start) continue;
        out.push_back(std::move(items[i]));
    }
    items.swap(out);
    if (!pinned.empty()) items.insert(items.begin(), std::move(pinned.front()));
}

}  // namespace

std::string folded_label(std::uint64_t bytes, std::uint32_t segments, std::uint32_t acks) {
    std::string s = fmt::format("DATA {} B in {} segments", bytes, segments);
    if (acks == 1) s += ", 1 ACK back";
    else if (acks > 1) s += fmt::format(", {} ACKs back", acks);
    return s;
}

std::string format_time(trace::TimeNs t) {
    const bool neg = t < 0;
    const auto a = static_cast<std::uint64_t>(neg ? -t : t);
    if (a < static_cast<std::uint64_t>(trace::kNsPerSec))
        return fmt::format("{}{}.{:03} ms", neg ? "-" : "", a / 1'000'000, (a / 1000) % 1000);
    return fmt::format("{}{}.{:03} s", neg ? "-" : "", a / 1'000'000'000, (a / 1'000'000) % 1000);
}

std::string flags_words(const std::string& flags) {
    static constexpr std::pair<char, const char*> kWords[] = {
        {'S', "SYN"}, {'F', "FIN"}, {'R', "RST"}, {'P', "PSH"}, {'A', "ACK"}, {'U', "URG"}};
    std::string out;
    for (auto [c, w] : kWords)
        if (has_flag(flags, c)) {
            if (!out.empty()) out += ", ";
            out += w;
        }
    return out;
}

namespace {
// A payload that is not text (a TLS record, binary data): no control byte but CR, LF and TAB.
bool is_binary(const std::string& p) {
    for (unsigned char c : p)
        if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f) return true;
    return false;
}

// A data connection's segment carries file bytes unless the trace kept its payload: the control
// text an SPSV connection opens with ("220 ...", "SPDT id", "200 DATA", draft-rosenau 3.2).
bool is_file_data(const Event& e, Purpose purpose) {
    return purpose == Purpose::Data && e.payload_len > 0 && !e.control_text;
}
}  // namespace

std::string segment_label(const Event& e, Purpose purpose) {
    if (e.action == trace::Action::Icmp) return "ICMP port unreachable";
    if (e.payload_len == 0) return flags_words(e.flags);
    std::string label;
    if (is_file_data(e, purpose)) {
        label = fmt::format("DATA {} B", e.payload_len);
    } else if (is_binary(e.payload)) {
        // FTPS: what a middlebox sees after AUTH TLS (RFC 4217) is records, not FTP lines.
        const auto c = static_cast<unsigned char>(e.payload[0]);
        label = (c >= 20 && c <= 23 && e.payload.size() > 1 && e.payload[1] == 3)
                    ? fmt::format("TLS record, {} B", e.payload_len)
                    : fmt::format("binary, {} B", e.payload_len);
    } else if (!e.payload.empty()) {
        std::size_t more = 0;
        label = std::string(first_line(e.payload, more));
        if (more) label += fmt::format(" (+{} lines)", more);
    } else if (!e.text.empty()) {
        std::size_t more = 0;
        label = std::string(first_line(e.text, more));
    } else {
        label = fmt::format("{} B", e.payload_len);
    }
    if (has_flag(e.flags, 'F')) label += ", FIN";
    return label;
}

std::pair<std::size_t, std::size_t> Diagram::visible_range(double y0, double y1) const {
    const auto first = static_cast<std::size_t>(
        std::lower_bound(max_bottom.begin(), max_bottom.end(), y0) - max_bottom.begin());
    const auto last = static_cast<std::size_t>(
        std::partition_point(items.begin(), items.end(), [&](const Item& it) { return it.top() <= y1; }) -
        items.begin());
    return {first, std::max(first, last)};
}

std::vector<std::uint32_t> Diagram::visible(double y0, double y1) const {
    std::vector<std::uint32_t> out;
    const auto [first, last] = visible_range(y0, y1);
    for (std::size_t i = first; i < last; ++i)
        if (items[i].bottom() >= y0) out.push_back(static_cast<std::uint32_t>(i));
    return out;
}

Diagram layout(const trace::Trace& t, const LayoutOptions& opt) {
    Diagram d;
    d.title = t.title.empty() ? t.scenario : t.title;
    d.options = opt;
    LaneMap lm = make_lanes(t, opt.view);

    std::unordered_map<int, const trace::Connection*> conns;
    for (const auto& c : t.connections) conns[c.id] = &c;
    auto purpose = [&](int id) {
        auto it = conns.find(id);
        return it == conns.end() ? Purpose::None : purpose_of(it->second->purpose);
    };

    // Events in (time, seq) order; the simulator already writes them so, this keeps layout total.
    std::vector<std::size_t> order(t.events.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (!std::is_sorted(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const auto& x = t.events[a]; const auto& y = t.events[b];
            return x.time_ns != y.time_ns ? x.time_ns < y.time_ns : x.seq < y.seq;
        }))
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const auto& x = t.events[a]; const auto& y = t.events[b];
            return x.time_ns != y.time_ns ? x.time_ns < y.time_ns : x.seq < y.seq;
        });

    bool any_segment = false;
    // RSTs the trace already holds, so a Rejected verdict does not get a second, synthesized one.
    std::unordered_set<std::string> rst_seen;
    auto rst_key = [](int conn, const std::string& to) { return std::to_string(conn) + '\n' + to; };
    for (const auto& e : t.events)
        if (e.kind == EventKind::Segment) {
            any_segment = true;
            if (has_flag(e.flags, 'R')) rst_seen.insert(rst_key(e.conn, e.to));
        }

    // Which node owns an address: a segment that never left its sender (no route; `to` empty)
    // is drawn as a stub pointing at the node it was meant for.
    std::unordered_map<std::string, std::string> owner;
    for (const auto& n : t.nodes)
        for (const auto& a : n.addresses) owner.emplace(a, n.name);
    auto to_x = [&](const Event& e) {
        if (!e.to.empty()) return lm.x(e.to);
        const double from = lm.x(e.from);
        double dir = from < 0.5 ? 1.0 : -1.0;
        if (auto o = owner.find(e.dst.addr); o != owner.end() && o->second != e.from)
            dir = lm.x(o->second) >= from ? 1.0 : -1.0;
        return from + 0.3 * dir;
    };

    std::vector<Item> items;
    items.reserve(t.events.size());
    std::unordered_map<std::uint64_t, std::size_t> packet_item;  // end to end: packet -> its arrow

    auto arrow_from_event = [&](const Event& e, std::size_t idx, Purpose p) {
        Item it;
        it.kind = ItemKind::Arrow;
        it.t0 = e.time_ns;
        it.t1 = std::max(e.arrive_ns, e.time_ns);
        it.event = idx;
        it.conn = e.conn;
        it.packet = e.packet;
        it.purpose = p;
        it.from_pos = lm.x(e.from);
        it.to_pos = to_x(e);
        it.from_port = e.src.port;
        it.to_port = e.dst.port;
        return it;
    };
    // Where a hop's packet ends: at `to`, or half-way when the link lost it.
    auto finish = [&](Item& it, const Event& e, double to_x) {
        it.to_pos = to_x;
        it.end = e.verdict == Verdict::Dropped ? End::Cross
                 : e.verdict == Verdict::Rejected ? End::Rejected : End::Arrow;
        if (e.verdict == Verdict::Dropped && e.reason.find("loss") != std::string::npos) {
            const double from_x = opt.view == View::PerHop ? it.from_pos : lm.x(e.from);
            it.to_pos = (from_x + to_x) / 2;
        }
        if (e.verdict == Verdict::Dropped || e.verdict == Verdict::Rejected) it.text = e.reason;
    };

    auto add_note = [&](const Event& e, std::size_t idx, NoteKind k) {
        Item it;
        it.kind = ItemKind::Note;
        it.note_kind = k;
        it.t0 = it.t1 = e.time_ns;
        it.event = idx;
        it.conn = e.conn;
        it.text = trace::text(e);
        if (e.from.empty() || lm.lanes.empty()) {
            it.lane_lo = 0;
            it.lane_hi = static_cast<int>(lm.lanes.size()) - 1;
        } else {
            const double x = lm.x(e.from);
            it.lane_lo = static_cast<int>(std::floor(x + 1e-9));
            it.lane_hi = static_cast<int>(std::ceil(x - 1e-9));
        }
        items.push_back(std::move(it));
    };

    std::unordered_map<std::uint64_t, std::pair<trace::Endpoint, trace::Endpoint>> hop_addresses;  // per packet: the last hop's
    for (std::size_t idx : order) {
        const Event& e = t.events[idx];
        switch (e.kind) {
        case EventKind::Segment: {
            const Purpose p = purpose(e.conn);
            // the addresses this hop carries against the previous hop's of the same packet
            std::string translation;
            if (e.packet != 0) {
                auto [prev, fresh] = hop_addresses.try_emplace(e.packet, e.src, e.dst);
                if (!fresh) {
                    auto ep = [](const trace::Endpoint& x) {
                        const bool v6 = x.addr.find(':') != std::string::npos;
                        return (v6 ? "[" + x.addr + "]" : x.addr) + ":" + std::to_string(x.port);
                    };
                    if (!(prev->second.first == e.src)) translation = ep(prev->second.first) + " -> " + ep(e.src);
                    if (!(prev->second.second == e.dst))
                        translation += (translation.empty() ? "" : ", ") + ep(prev->second.second) + " -> " + ep(e.dst);
                    prev->second = {e.src, e.dst};
                }
            }
            const bool syn_only = has_flag(e.flags, 'S') && !has_flag(e.flags, 'A');
            if (opt.fold_handshakes && e.verdict == Verdict::Delivered &&
                ((has_flag(e.flags, 'S') && has_flag(e.flags, 'A')) || is_pure_ack(e)))
                break;
            std::string label = segment_label(e, p);
            if (opt.fold_handshakes && syn_only) label = "TCP connect";
            const Style style = e.payload_len == 0 ? Style::Handshake
                                : is_file_data(e, p) ? Style::Data : Style::Control;

            if (opt.view == View::EndToEnd && e.packet != 0) {
                auto found = packet_item.find(e.packet);
                if (found != packet_item.end()) {
                    // A later hop of a packet already drawn: extend its arrow.
                    Item& it = items[found->second];
                    it.t1 = std::max(e.arrive_ns, it.t1);
                    it.to_port = e.dst.port;
                    finish(it, e, to_x(e));
                    if (label != it.label) it.label_after = label;
                    else it.label_after.clear();
                    break;
                }
            }
            Item it = arrow_from_event(e, idx, p);
            it.style = style;
            it.label = std::move(label);
            if (opt.view == View::PerHop) it.translation = std::move(translation);
            finish(it, e, to_x(e));
            if (opt.view == View::EndToEnd && e.packet != 0) packet_item[e.packet] = items.size();
            items.push_back(std::move(it));
            break;
        }
        case EventKind::FtpCommand:
        case EventKind::FtpReply:
        case EventKind::DataBytes: {
            // Drawn only for traces recorded without segments (a command-level trace); otherwise
            // the segments carry these lines already.
            if (any_segment) break;
            const Purpose p = e.kind == EventKind::DataBytes ? Purpose::Data : Purpose::Control;
            Item it = arrow_from_event(e, idx, p);
            it.style = p == Purpose::Data ? Style::Data : Style::Control;
            std::size_t more = 0;
            it.label = e.kind == EventKind::DataBytes && e.text.empty()
                           ? fmt::format("DATA {} B", e.payload_len)
                           : std::string(first_line(e.text, more));
            finish(it, e, to_x(e));
            items.push_back(std::move(it));
            break;
        }
        case EventKind::Middlebox:
            if (opt.show_middlebox) add_note(e, idx, NoteKind::Middlebox);
            break;
        case EventKind::Socket:
            if (opt.show_socket_events) add_note(e, idx, NoteKind::Socket);
            break;
        case EventKind::Timer:
            if (opt.show_timers) add_note(e, idx, NoteKind::Timer);
            break;
        case EventKind::Note:
            if (opt.show_notes) add_note(e, idx, NoteKind::Note);
            break;
        }
    }

    // Resolve the lanes each arrow names, and draw the RST of a bare Rejected verdict.
    const std::size_t n_raw = items.size();
    for (std::size_t i = 0; i < n_raw; ++i) {
        Item& it = items[i];
        if (it.kind != ItemKind::Arrow) continue;
        const int dir = it.to_pos >= it.from_pos ? 1 : -1;
        it.from_lane = lm.lane_behind(it.from_pos, dir);
        it.to_lane = lm.lane_towards(it.to_pos, dir);
        if (it.end == End::Rejected) {
            // it.event is the arrow's first hop: its sender is who the RST goes back to.
            if (it.event < t.events.size() && !rst_seen.count(rst_key(it.conn, t.events[it.event].from))) {
                Item rst;
                rst.kind = ItemKind::Arrow;
                rst.synthesized = true;
                rst.style = Style::Handshake;
                rst.purpose = it.purpose;
                rst.conn = it.conn;
                rst.label = "RST";
                rst.from_pos = it.to_pos;
                rst.to_pos = it.from_pos;
                rst.from_lane = it.to_lane;
                rst.to_lane = it.from_lane;
                rst.from_port = it.to_port;
                rst.to_port = it.from_port;
                rst.t0 = it.t1;
                rst.t1 = it.t1 + (it.t1 - it.t0);
                rst.event = it.event;
                items.push_back(std::move(rst));
            }
        }
    }
    // Synthesized RSTs go after their cause in time order.
    if (items.size() != n_raw)
        std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.t0 < b.t0; });

    const bool auto_fold = !opt.fold_data && opt.fold_data_above > 0 && items.size() > opt.fold_data_above;
    if (opt.fold_data || auto_fold) {
        const std::size_t unfolded = items.size();
        items = fold_data_runs(t, std::move(items));
        if (auto_fold) {
            d.auto_folded = true;
            d.unfolded_items = unfolded;
            Item note;
            note.kind = ItemKind::Note;
            note.note_kind = NoteKind::Note;
            note.lane_lo = 0;
            note.lane_hi = static_cast<int>(lm.lanes.size()) - 1;
            note.t0 = note.t1 = items.empty() ? 0 : items.front().t0;
            note.text = fmt::format(
                "Bulk data folded: unfolded, this ladder has {} items (over {}).\n"
                "Each \"DATA ... in N segments\" arrow stands for a run of data segments\n"
                "and the ACKs coming back; export SVG or text to see every segment.",
                unfolded, opt.fold_data_above);
            items.insert(items.begin(), std::move(note));
        }
    }

    select_items(t, opt, lm, items, d.auto_folded);

    auto note_lines = [](const std::string& s) {
        return 1 + static_cast<int>(std::count(s.begin(), s.end(), '\n'));
    };
    const double top = opt.row_height * 0.5;

    if (opt.time == TimeScale::Compressed) {
        double y = top;
        for (Item& it : items) {
            // One mark per distinct time: rows that happen at the same instant share the first's.
            if (d.ticks.empty() || d.ticks.back().t != it.t0) d.ticks.push_back({y, it.t0});
            it.y0 = y;
            if (it.kind == ItemKind::Arrow) {
                it.y1 = y + opt.slant * opt.row_height;
                y += opt.row_height;
                if (opt.under_line_height > 0) {
                    int under = it.translation.empty() ? 0 : 1;
                    if (it.style == Style::Control && (!proto::decoded_endpoint(it.label).empty() ||
                                                       (!it.label_after.empty() && !proto::decoded_endpoint(it.label_after).empty())))
                        ++under;
                    y += under * opt.under_line_height;
                }
            } else {
                const double h = note_lines(it.text) * opt.note_line_height + 8;
                it.y1 = y + h;
                y += std::max(opt.row_height, h + 24);
            }
        }
    } else {
        // Idle gaps (nothing in flight for longer than max_gap_ns) are cut to gap_height.
        struct Cut { trace::TimeNs at; trace::TimeNs removed_before_and_here; };
        std::vector<Cut> cuts;
        std::vector<Item> breaks;
        const double ns_per_unit = 1e6 / opt.units_per_ms;
        const auto gap_ns = static_cast<trace::TimeNs>(opt.gap_height * ns_per_unit);
        const trace::TimeNs t_start = items.empty() ? 0 : items.front().t0;
        trace::TimeNs busy_until = t_start, removed = 0;
        for (const Item& it : items) {
            if (opt.max_gap_ns > 0 && it.t0 - busy_until > opt.max_gap_ns) {
                Item br;
                br.kind = ItemKind::Break;
                br.t0 = busy_until;
                br.t1 = it.t0;
                br.text = format_time(it.t0 - busy_until) + " later";
                removed += (it.t0 - busy_until) - gap_ns;
                cuts.push_back({it.t0, removed});
                breaks.push_back(std::move(br));
            }
            busy_until = std::max(busy_until, it.t1);
        }
        auto y_of = [&](trace::TimeNs tt) {
            // The total cut before tt: cuts are sorted by `at`.
            auto c = std::upper_bound(cuts.begin(), cuts.end(), tt,
                                      [](trace::TimeNs v, const Cut& cut) { return v < cut.at; });
            const trace::TimeNs rem = c == cuts.begin() ? 0 : std::prev(c)->removed_before_and_here;
            return top + static_cast<double>(tt - t_start - rem) / ns_per_unit;
        };
        std::unordered_map<int, double> note_free;  // lane -> first y a new note may use
        for (Item& it : items) {
            it.y0 = y_of(it.t0);
            if (it.kind == ItemKind::Arrow) {
                it.y1 = y_of(it.t1);
            } else {
                double& free = note_free[it.lane_lo];
                it.y0 = std::max(it.y0, free);
                it.y1 = it.y0 + note_lines(it.text) * opt.note_line_height + 8;
                free = it.y1 + 4;
            }
        }
        for (Item& br : breaks) {
            br.y1 = y_of(br.t1);
            br.y0 = br.y1 - opt.gap_height;
            items.push_back(std::move(br));
        }
        // Axis marks at a round step that leaves about 80 units between marks.
        if (!items.empty()) {
            static constexpr trace::TimeNs kSteps[] = {
                100'000, 200'000, 500'000, 1'000'000, 2'000'000, 5'000'000, 10'000'000, 20'000'000,
                50'000'000, 100'000'000, 200'000'000, 500'000'000, 1'000'000'000, 2'000'000'000,
                5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000};
            trace::TimeNs step = kSteps[std::size(kSteps) - 1];
            for (auto s : kSteps)
                if (static_cast<double>(s) / ns_per_unit >= 80) { step = s; break; }
            trace::TimeNs t_end = t_start;
            for (const Item& it : items) t_end = std::max(t_end, it.t1);
            std::size_t ci = 0;
            for (trace::TimeNs tt = t_start; tt <= t_end;) {
                // Skip the marks inside a cut gap.
                while (ci < breaks.size() && breaks[ci].t1 <= tt) ++ci;
                if (ci < breaks.size() && tt > breaks[ci].t0 && tt < breaks[ci].t1) {
                    tt = t_start + ((breaks[ci].t1 - t_start) / step + 1) * step;
                    continue;
                }
                d.ticks.push_back({y_of(tt), tt});
                d.round_ticks = true;
                tt += step;
            }
        }
    }

    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.top() < b.top(); });
    d.items = std::move(items);
    d.max_bottom.reserve(d.items.size());
    double mb = 0;
    for (const Item& it : d.items) {
        mb = std::max(mb, it.bottom());
        d.max_bottom.push_back(mb);
        if (it.kind == ItemKind::Arrow) {
            if (it.purpose == Purpose::Data || it.style == Style::Data) d.has_data = true;
            else d.has_control = true;
            if (it.end == End::Cross) d.has_drops = true;
            if (it.end == End::Rejected) d.has_rejects = true;
        }
    }
    d.height = mb + top;
    d.lanes = std::move(lm.lanes);
    return d;
}

}  // namespace ftpsim::viz

namespace ftpsim::viz {

std::string format_time_short(trace::TimeNs t) {
    const bool neg = t < 0;
    auto a = static_cast<std::uint64_t>(neg ? -t : t);
    if (a == 0) return "0";
    const char* unit = "ns";
    std::uint64_t scale = 1;
    if (a >= 1'000'000'000) { unit = "s"; scale = 1'000'000'000; }
    else if (a >= 1'000'000) { unit = "ms"; scale = 1'000'000; }
    else if (a >= 1'000) { unit = "us"; scale = 1'000; }
    std::string frac;
    std::uint64_t rest = a % scale;
    for (std::uint64_t digit = scale / 10; rest && digit; digit /= 10) {
        frac += static_cast<char>('0' + rest / digit);
        rest %= digit;
    }
    return fmt::format("{}{}{}{} {}", neg ? "-" : "", a / scale, frac.empty() ? "" : ".", frac, unit);
}

namespace {
bool parse_count(std::string_view s, std::size_t& out) {
    if (s.empty() || s.size() > 9) return false;
    std::size_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::size_t>(c - '0');
    }
    out = v;
    return v > 0;
}
}  // namespace

std::string parse_step_range(std::string_view s, LayoutOptions& o) {
    const std::string expected = "expected a step range such as 5-20, 5- or -20 (steps count from 1), found \"" +
                                 std::string(s) + "\"";
    std::size_t a = 0, b = 0;
    const auto dash = s.find('-');
    if (dash == std::string_view::npos) {
        if (!parse_count(s, a)) return expected;
        o.step_first = o.step_last = a;
        return "";
    }
    const auto l = s.substr(0, dash), r = s.substr(dash + 1);
    if ((l.empty() && r.empty()) || (!l.empty() && !parse_count(l, a)) || (!r.empty() && !parse_count(r, b)))
        return expected;
    if (a && b && b < a) return "the range ends before it starts: \"" + std::string(s) + "\"";
    o.step_first = a;
    o.step_last = b;
    return "";
}

std::string parse_time(std::string_view s, trace::TimeNs& out) {
    const std::string expected = "expected a time with its unit such as 0.010s, 10ms, 250us or 1500ns, found \"" +
                                 std::string(s) + "\"";
    std::size_t i = 0;
    std::uint64_t whole = 0, frac = 0, frac_div = 1;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (whole > 1'000'000'000ULL) return expected;
        whole = whole * 10 + static_cast<std::uint64_t>(s[i++] - '0');
        digits = true;
    }
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (frac_div < 1'000'000'000ULL) {
                frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
                frac_div *= 10;
            }
            ++i;
            digits = true;
        }
    }
    if (!digits) return expected;
    const auto unit = s.substr(i);
    std::uint64_t mult = 0;
    if (unit == "s") mult = 1'000'000'000ULL;
    else if (unit == "ms") mult = 1'000'000ULL;
    else if (unit == "us") mult = 1'000ULL;
    else if (unit == "ns") mult = 1;
    else return expected;
    if (whole > 100'000ULL * 1'000'000'000ULL / mult) return "time too large: \"" + std::string(s) + "\"";
    out = static_cast<trace::TimeNs>(whole * mult + frac * mult / frac_div);
    return "";
}

std::string parse_connections(std::string_view s, LayoutOptions& o) {
    bool c = false, d = false, g = false;
    std::size_t at = 0;
    while (at <= s.size()) {
        auto comma = s.find(',', at);
        if (comma == std::string_view::npos) comma = s.size();
        const auto w = s.substr(at, comma - at);
        if (w == "control") c = true;
        else if (w == "data") d = true;
        else if (w == "signalling" || w == "signaling") g = true;
        else return "expected a comma-separated list of control, data and signalling, found \"" + std::string(w) + "\"";
        at = comma + 1;
    }
    o.show_control = c;
    o.show_data = d;
    o.show_signalling = g;
    return "";
}

}  // namespace ftpsim::viz
