// The ladder diagram: a trace laid out as lanes and rows, independent of any renderer.
//
// layout() is a pure function of (trace, options). Every exporter (SVG, PlantUML, Mermaid,
// mscgen, text) and the GUI draw the same Diagram, so they agree on what is shown.
//
// Coordinates: x is a lane position (lane i is at i; a drop between lanes 0 and 1 may end at
// 0.5); y grows downward in abstract units (a renderer may use them as pixels: a compressed row
// is LayoutOptions::row_height high).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace.hpp"

namespace ftpsim::viz {

enum class View {
    PerHop,    // every node is a lane; one arrow per hop; translations shown where they happen
    EndToEnd,  // client and server lanes only; one arrow per packet, merged across its hops
};

enum class TimeScale {
    ToScale,     // y = time: arrows slant with latency (long idle gaps can be cut, see max_gap_ns)
    Compressed,  // one row per item, in time order
};

struct LayoutOptions {
    View view = View::PerHop;
    TimeScale time = TimeScale::Compressed;
    bool fold_handshakes = false;  // one "TCP connect" arrow per SYN; SYN-ACK and pure ACKs hidden
    bool show_socket_events = true;
    bool show_timers = true;
    bool show_notes = true;          // Note events (the learner's explanations)
    bool show_middlebox = true;      // Middlebox events (NAT, firewall, ALG decisions)
    // Fold bulk data: a run of data segments of one connection in one direction (per hop, or end
    // to end) becomes one arrow "DATA 33580 B in 23 segments, 12 ACKs back"; the pure ACKs of that
    // connection coming back while the run lasts are absorbed into it (none with fold_handshakes,
    // which hides them already). Anything else drawn between its segments ends a run (FIN, RST, a
    // drop or reject, an FTP line, any note), except the arrows of another data connection; so
    // the rows keep their order. A run of one segment is drawn as it is. To scale, the arrow
    // spans from the first segment's departure to the last one's arrival.
    bool fold_data = false;
    // When fold_data is off and the unfolded diagram has more items than this (0: never), fold
    // anyway and say so in a note at the top (Diagram::auto_folded). The text-diagram exporters
    // use it: PlantUML, Mermaid and mscgen take minutes on tens of thousands of arrows.
    std::size_t fold_data_above = 0;

    // Compressed: the height of a row, and how far an arrow drops within its row (0: horizontal).
    double row_height = 50;
    double slant = 0.45;
    // Compressed: extra height per line drawn under an arrow (0: none, as the exporters draw): the
    // translation of a per-hop arrow, the decoded endpoint of a PORT/EPRT/227/229 line (the GUI's
    // presentation mode), so they stay clear of the next row's label.
    double under_line_height = 0;
    // ToScale: units per millisecond, and idle gaps (nothing in flight) longer than max_gap_ns
    // are cut to gap_height units with a break mark. max_gap_ns <= 0 keeps every gap.
    double units_per_ms = 6;
    trace::TimeNs max_gap_ns = 200 * trace::kNsPerMs;
    double gap_height = 40;
    double note_line_height = 22;    // a note's height per text line (ToScale stacks notes)

    // Selection (slides): which part of the ladder is drawn. Applied in this order, after folding:
    // the connections shown, the hidden lanes, then the items are numbered 1..N (the steps: the
    // arrows and notes in drawing order) and the ranges below keep a part of them.
    bool show_control = true;        // arrows of Style::Control (FTP lines)
    bool show_data = true;           // arrows of Style::Data (file and listing bytes)
    bool show_signalling = true;     // arrows of Style::Handshake (SYN, ACK, FIN, RST)
    // Lanes left out, by node name (unknown names are ignored; the CLI checks them). An arrow
    // towards a hidden lane is drawn on to the next lane shown in its direction and the hop that
    // leaves the hidden lane is dropped, so a packet's two hops through a hidden router become one
    // arrow; an arrow that died at or before the hidden lane ends between its neighbours. Notes
    // only on hidden lanes are dropped.
    std::vector<std::string> hidden_lanes;
    std::size_t step_first = 0, step_last = 0;   // 1-based, inclusive; 0: unbounded
    trace::TimeNs time_from = -1, time_to = -1;  // keep items leaving in [from, to]; -1: unbounded
    // Drop the login: start at the command of the first data-connection announcement (PORT,
    // EPRT, SOCK; or the PASV/EPSV/SPSV command whose reply announces). No announcement: keep all.
    bool skip_login = false;
};

enum class Purpose : std::uint8_t { None, Control, Data };

// The colour class of an arrow.
enum class Style : std::uint8_t {
    Control,    // an FTP command or reply on the control connection
    Data,       // file or listing bytes on the data connection
    Handshake,  // TCP signalling: SYN, SYN-ACK, pure ACK, FIN, RST (tinted by its connection)
};

enum class End : std::uint8_t {
    Arrow,     // delivered
    Cross,     // dropped: the arrow ends in a cross where the packet died
    Rejected,  // refused: a bar at the end; the RST that came back is its own arrow
};

enum class NoteKind : std::uint8_t { Middlebox, Socket, Timer, Note };

enum class ItemKind : std::uint8_t { Arrow, Note, Break };

struct Lane {
    std::string name;                    // node name
    std::string role;                    // "client", "server", "nat", ...
    std::string kind;                    // "host" or "router"
    std::vector<std::string> addresses;  // every interface address
    bool middlebox = false;
};

// One drawable thing. Arrows use from_*/to_*; notes span lanes [lane_lo, lane_hi]; a break is a
// cut idle gap (label "3.0 s later").
struct Item {
    ItemKind kind = ItemKind::Arrow;
    double y0 = 0, y1 = 0;               // arrow: start and end y; note/break: top and bottom
    double top() const { return y0 < y1 ? y0 : y1; }
    double bottom() const { return y0 < y1 ? y1 : y0; }

    // Arrows.
    int from_lane = -1, to_lane = -1;    // the lanes the packet goes from and towards
    double from_pos = 0, to_pos = 0;     // where it is drawn (to_pos != to_lane when it died early)
    Style style = Style::Control;
    Purpose purpose = Purpose::None;
    End end = End::Arrow;
    std::uint16_t from_port = 0, to_port = 0;  // at the two ends, as each end sees them
    std::string label;                   // the FTP line, "DATA 1460 B", "SYN", "TCP connect"
    std::string label_after;             // end to end: the line as received, when a middlebox changed it
    bool synthesized = false;            // not in the trace (a RST drawn for a bare Rejected verdict)
    // Per hop: where this hop's addresses differ from the previous hop's of the same packet (a
    // NAT translated it in between), "192.168.1.100:1121 -> 203.0.113.78:1121" (the source
    // before -> after; a changed destination the same way, after a comma). Empty otherwise.
    std::string translation;
    // A folded run of data (LayoutOptions::fold_data): how many data segments (>= 2), their
    // payload bytes (retransmissions included) and the pure ACKs absorbed; 0 for other arrows.
    std::uint32_t folded_segments = 0, folded_acks = 0;
    std::uint64_t folded_bytes = 0;

    // Notes.
    int lane_lo = -1, lane_hi = -1;
    NoteKind note_kind = NoteKind::Note;
    std::string text;                    // note text (may hold '\n'); reason of a drop/reject for arrows

    // Provenance.
    trace::TimeNs t0 = 0, t1 = 0;        // when it left / arrived (notes: t1 == t0)
    std::size_t event = SIZE_MAX;        // index in trace.events of the (first) event drawn
    int conn = -1;
    std::uint64_t packet = 0;
};

struct Tick {
    double y = 0;
    trace::TimeNs t = 0;
};

struct Diagram {
    std::string title;
    LayoutOptions options;
    std::vector<Lane> lanes;
    std::vector<Item> items;             // sorted by top()
    std::vector<Tick> ticks;             // time axis marks (ToScale), or one per row whose time
                                         // differs from the row before (Compressed); sorted by y
    bool round_ticks = false;            // ticks are at round times (ToScale): print them short
    double height = 0;                   // bottom of the last item
    bool has_control = false, has_data = false, has_drops = false, has_rejects = false;
    // Data was folded because the diagram was too large (LayoutOptions::fold_data_above); the
    // first item is then a note that says so, and unfolded_items is the count before folding.
    bool auto_folded = false;
    std::size_t unfolded_items = 0;

    // Indices of the items that intersect [y0, y1], in order: O(log n + k) with a binary search
    // over max_bottom (the running maximum of bottom(), which is sorted).
    std::vector<std::uint32_t> visible(double y0, double y1) const;
    // The first index that can intersect [y0, ...) and the end of the candidates up to y1; items in
    // between still need the bottom() >= y0 test. For renderers that iterate without allocating.
    std::pair<std::size_t, std::size_t> visible_range(double y0, double y1) const;

    std::vector<double> max_bottom;      // running max of items[i].bottom()
};

Diagram layout(const trace::Trace& trace, const LayoutOptions& options = {});

// The selection's option words, shared by `ftpsim run`/`import` and `ftpsim gui`. Each returns
// "" or what was expected (the caller prefixes the option's name).
// "5-20", "5-" (to the end), "-20" (from the first), "7" (one step); steps are 1-based.
std::string parse_step_range(std::string_view s, LayoutOptions& o);
// A time with its unit: "0.010s", "10ms", "250us", "1500ns" (a plain number is refused).
std::string parse_time(std::string_view s, trace::TimeNs& out);
// A comma-separated subset of control, data, signalling.
std::string parse_connections(std::string_view s, LayoutOptions& o);

// "12.345 ms", "3.000 s": times as the exporters print them.
std::string format_time(trace::TimeNs t);
// The shortest exact form: "20 ms", "1.5 s", "250 us" (for axis marks at round times).
std::string format_time_short(trace::TimeNs t);

// The label a segment gets in the diagram: the FTP line (without CRLF), "DATA 1460 B", or the
// flags spelled out ("SYN", "SYN, ACK", "FIN, ACK", "RST").
std::string segment_label(const trace::Event& e, Purpose purpose);
std::string flags_words(const std::string& flags);
// The label of a folded run: "DATA 33580 B in 23 segments", plus ", 12 ACKs back" when acks > 0.
std::string folded_label(std::uint64_t bytes, std::uint32_t segments, std::uint32_t acks);

}  // namespace ftpsim::viz
