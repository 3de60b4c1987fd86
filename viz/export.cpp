// Choosing an exporter by file name, and what the exporters share.
#include <algorithm>
#include <cctype>

#include "trace/json.hpp"
#include "viz/detail.hpp"
#include "viz/export.hpp"

namespace ftpsim::viz {

std::string lane_address(const Lane& l) {
    std::string s;
    for (const auto& a : l.addresses) {
        if (!s.empty()) s += " / ";
        s += a;
    }
    return s;
}

namespace {

// PlantUML, Mermaid and mscgen fold long data runs (their tools take minutes on a long transfer).
Diagram laid_out(const trace::Trace& t, const ExportOptions& o, bool text_tool) {
    LayoutOptions lo = o.layout;
    if (text_tool && lo.fold_data_above == 0) lo.fold_data_above = o.text_diagram_fold_above;
    return layout(t, lo);
}

constexpr std::string_view kSvgExt[] = {"svg"};
constexpr std::string_view kPlantUmlExt[] = {"puml", "plantuml"};
constexpr std::string_view kMermaidExt[] = {"mmd", "mermaid"};
constexpr std::string_view kMscgenExt[] = {"msc"};
constexpr std::string_view kTextExt[] = {"txt", "text"};
constexpr std::string_view kJsonExt[] = {"json"};
constexpr std::string_view kPcapExt[] = {"pcap"};

const Exporter kExporters[] = {
    {"svg", "SVG", kSvgExt,
     [](const trace::Trace& t, const ExportOptions& o) { return to_svg(laid_out(t, o, false), o.svg); }, Format::Svg},
    {"plantuml", "PlantUML", kPlantUmlExt,
     [](const trace::Trace& t, const ExportOptions& o) { return to_plantuml(laid_out(t, o, true)); },
     Format::PlantUml},
    {"mermaid", "Mermaid", kMermaidExt,
     [](const trace::Trace& t, const ExportOptions& o) { return to_mermaid(laid_out(t, o, true)); },
     Format::Mermaid},
    {"mscgen", "mscgen", kMscgenExt,
     [](const trace::Trace& t, const ExportOptions& o) { return to_mscgen(laid_out(t, o, true)); }, Format::Mscgen},
    {"text", "Text", kTextExt,
     [](const trace::Trace& t, const ExportOptions& o) { return to_text(laid_out(t, o, false), o.text); },
     Format::Text},
    {"json", "JSON trace", kJsonExt, [](const trace::Trace& t, const ExportOptions&) { return trace::to_json(t); },
     Format::Json},
    {"pcap", "pcap (Wireshark)", kPcapExt,
     [](const trace::Trace& t, const ExportOptions& o) { return to_pcap(t, o.pcap); }, Format::Pcap},
};

}  // namespace

std::span<const Exporter> exporters() { return kExporters; }

const Exporter* find_exporter(std::string_view path) {
    const auto dot = path.rfind('.');
    const auto slash = path.find_last_of("/\\");
    std::string_view ext = path;
    if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) ext = path.substr(dot + 1);
    std::string e(ext);
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& x : kExporters)
        for (auto known : x.extensions)
            if (e == known) return &x;
    return nullptr;
}

std::string export_extensions(std::string_view separator) {
    std::string out;
    for (const auto& x : kExporters)
        for (auto e : x.extensions) out.append(out.empty() ? "" : separator).append(".").append(e);
    return out;
}

std::optional<Format> format_from_path(std::string_view path) {
    const Exporter* x = find_exporter(path);
    return x ? x->format : std::nullopt;
}

const char* format_name(Format f) {
    for (const auto& x : kExporters)
        if (x.format == f) return x.name.data();
    return "?";
}

std::string export_trace(const trace::Trace& t, Format f, const ExportOptions& o) {
    for (const auto& x : kExporters)
        if (x.format == f) return x.render(t, o);
    throw ExportError("unknown export format");
}

std::string export_for_path(const trace::Trace& t, std::string_view path, const ExportOptions& o) {
    const Exporter* x = find_exporter(path);
    if (!x)
        throw ExportError("cannot tell the export format from \"" + std::string(path) + "\": use " +
                          export_extensions(", "));
    return x->render(t, o);
}

}  // namespace ftpsim::viz

namespace ftpsim::viz::detail {

std::string port_pair(const Item& it, bool ascii) {
    if (!it.from_port && !it.to_port) return {};
    auto p = [](std::uint16_t v) { return v ? std::to_string(v) : std::string("?"); };
    return p(it.from_port) + (ascii ? " -> " : " \u2192 ") + p(it.to_port);
}

std::string arrow_caption(const Item& it, bool ascii) {
    std::string s = it.label;
    if (it.end == End::Rejected) s += " (rejected)";
    if (it.end == End::Cross) s += " (dropped)";
    const std::string ports = port_pair(it, ascii);
    if (!ports.empty()) s += "  [" + ports + "]";
    if (!it.label_after.empty()) s += (ascii ? "  => " : "  \u21d2 ") + it.label_after;
    return s;
}

const char* arrow_colour(const Item& it) {
    if (it.purpose == Purpose::Data || it.style == Style::Data) return "#d9480f";
    if (it.purpose == Purpose::Control || it.style == Style::Control) return "#1c5bbf";
    return "#495057";
}

const char* note_fill(NoteKind k) {
    switch (k) {
    case NoteKind::Middlebox: return "#fff3bf";
    case NoteKind::Socket: return "#e7f0fb";
    case NoteKind::Timer: return "#f3e8fd";
    case NoteKind::Note: return "#f1f3f5";
    }
    return "#ffffff";
}

std::string lane_id(int i) {
    std::string id(1, 'L');  // not "L" + to_string(i): GCC 12 warns falsely (-Wrestrict) on that
    id += std::to_string(i);
    return id;
}

std::string escape_text(std::string_view s, std::span<const Escape> table) {
    std::string out;
    out.reserve(s.size() + 8);
    for (char c : s) {
        const auto e = std::find_if(table.begin(), table.end(), [c](const Escape& x) { return x.c == c; });
        if (e != table.end()) out += e->with;
        else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
        else out += c;
    }
    return out;
}

}  // namespace ftpsim::viz::detail
