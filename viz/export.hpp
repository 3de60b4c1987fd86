// Exporters: a Diagram (or, for JSON and pcap, the Trace) as the text or bytes of a file.
// docs/exports.md describes each format, its options and its limits.
#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "trace/trace.hpp"
#include "viz/diagram.hpp"

namespace ftpsim::viz {

// ---- Ladder renderings of a Diagram -------------------------------------------------------------

struct SvgOptions {
    double lane_gap_min = 300;   // px between lifelines (widened to fit the longest label)
    double lane_gap_max = 560;
    double font_size = 17;       // arrow labels; headers are larger, port numbers smaller
    bool legend = true;
    bool time_axis = true;
};
std::string to_svg(const Diagram& d, const SvgOptions& o = {});
// Side by side: one SVG holding the given ladders (each as to_svg made it) next to each other,
// a heading over each pane (e.g. the knob values of that run). The panes keep their own size;
// their style classes are the same palette, so sharing one document changes nothing.
struct SvgPane {
    std::string heading;
    std::string svg;
};
std::string side_by_side_svg(const std::vector<SvgPane>& panes, double font_size = 17);

std::string to_plantuml(const Diagram& d);
std::string to_mermaid(const Diagram& d);
std::string to_mscgen(const Diagram& d);

struct TextOptions {
    bool ansi_colour = false;    // colour control, data and drops with ANSI escapes
    int lane_gap_min = 24;       // columns between lifelines
    int lane_gap_max = 64;
    bool times = true;           // a left column with each row's time
    // Under each FTP line (once per packet, not on every hop): what its reply code means (the
    // lecture deck's digits and the RFC's text) and the data port a PORT/EPRT/227/229 announces
    // (protocol/reply_codes.hpp). `ftpsim run --explain`.
    bool explain = false;
};
// Throws ExportError when the ladder would exceed kMaxTextLadderBytes (lanes x rows).
constexpr std::uint64_t kMaxTextLadderBytes = 64ull << 20;
std::string to_text(const Diagram& d, const TextOptions& o = {});

// ---- Trace exports ------------------------------------------------------------------------------

// Where a pcap is captured.
struct CapturePoint {
    enum class Kind { ClientSide, ServerSide, Link };
    Kind kind = Kind::ClientSide;
    std::string a, b;   // Link: the two nodes of the hop (either order). ClientSide/ServerSide: the
                        // host (empty: the first node whose role is client / server)
    static CapturePoint client_side(std::string node = {}) { return {Kind::ClientSide, std::move(node), {}}; }
    static CapturePoint server_side(std::string node = {}) { return {Kind::ServerSide, std::move(node), {}}; }
    static CapturePoint link(std::string a, std::string b) { return {Kind::Link, std::move(a), std::move(b)}; }
};

struct PcapOptions {
    CapturePoint at;
    trace::TimeNs epoch_ns = 0;  // added to trace times for the frame timestamps
};

class ExportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// libpcap's file format (nanosecond timestamps), Ethernet + IPv4/IPv6 + TCP with correct checksums.
// Throws ExportError when the capture point names no node or link of the trace.
std::string to_pcap(const trace::Trace& t, const PcapOptions& o = {});

// The deterministic stand-in for file bytes a trace does not hold (payload_len set, payload empty):
// depends only on the TCP sequence number, so a retransmission repeats the same bytes.
void synthesize_file_bytes(std::uint32_t tcp_seq, std::uint32_t len, std::string& out);

// ---- Choosing by file name ----------------------------------------------------------------------

enum class Format { Svg, PlantUml, Mermaid, Mscgen, Text, Json, Pcap };

struct ExportOptions;

// The exporters as one table: `ftpsim run --export` and `import --export` choose by the file's
// extension, their help and error messages list the extensions, and the GUI's export menu has a
// button per row. A new exporter is its renderer's file and a row in viz/export.cpp
// (docs/design.md, "How to add an exporter"); `format` names the built-in ones in code.
struct Exporter {
    std::string_view name;                        // "svg", "plantuml", ...
    std::string_view label;                       // the GUI's button: "SVG", "pcap (Wireshark)"
    std::span<const std::string_view> extensions; // without the dot, the first is the usual one
    std::string (*render)(const trace::Trace&, const ExportOptions&);
    std::optional<Format> format;
};
std::span<const Exporter> exporters();
// The exporter of a path's extension, or of a bare extension (case-insensitive); nullptr if none.
const Exporter* find_exporter(std::string_view path);
// ".svg .puml .plantuml .mmd .msc .txt .json .pcap": every extension, for help and messages.
std::string export_extensions(std::string_view separator = " ");

// ".svg" ".puml" ".plantuml" ".mmd" ".msc" ".txt" ".json" ".pcap" (case-insensitive), from a path
// or a bare extension; nullopt for anything else (or an exporter without a Format).
std::optional<Format> format_from_path(std::string_view path);
const char* format_name(Format f);

struct ExportOptions {
    LayoutOptions layout;
    // PlantUML, Mermaid and mscgen: when layout.fold_data is off and layout.fold_data_above is 0,
    // fold data anyway above this many items (0: never), with a note saying so. Those tools take
    // minutes on a long transfer's tens of thousands of arrows; SVG and text never fold unasked.
    std::size_t text_diagram_fold_above = 2000;
    SvgOptions svg;
    TextOptions text;
    PcapOptions pcap;
};

// Lays out the trace when the format needs it and renders it. Throws ExportError for an unknown
// extension.
std::string export_trace(const trace::Trace& t, Format f, const ExportOptions& o = {});
std::string export_for_path(const trace::Trace& t, std::string_view path, const ExportOptions& o = {});

// Shared by the exporters: the header text of a lane ("192.168.1.10", "192.168.1.1 / 203.0.113.1").
std::string lane_address(const Lane& l);

}  // namespace ftpsim::viz
