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

std::optional<Format> format_from_path(std::string_view path) {
    const auto dot = path.rfind('.');
    const auto slash = path.find_last_of("/\\");
    std::string_view ext = path;
    if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) ext = path.substr(dot + 1);
    std::string e(ext);
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (e == "svg") return Format::Svg;
    if (e == "puml" || e == "plantuml") return Format::PlantUml;
    if (e == "mmd" || e == "mermaid") return Format::Mermaid;
    if (e == "msc") return Format::Mscgen;
    if (e == "txt" || e == "text") return Format::Text;
    if (e == "json") return Format::Json;
    if (e == "pcap") return Format::Pcap;
    return std::nullopt;
}

const char* format_name(Format f) {
    switch (f) {
    case Format::Svg: return "svg";
    case Format::PlantUml: return "plantuml";
    case Format::Mermaid: return "mermaid";
    case Format::Mscgen: return "mscgen";
    case Format::Text: return "text";
    case Format::Json: return "json";
    case Format::Pcap: return "pcap";
    }
    return "?";
}

std::string export_trace(const trace::Trace& t, Format f, const ExportOptions& o) {
    switch (f) {
    case Format::Json: return trace::to_json(t);
    case Format::Pcap: return to_pcap(t, o.pcap);
    default: break;
    }
    LayoutOptions lo = o.layout;
    if ((f == Format::PlantUml || f == Format::Mermaid || f == Format::Mscgen) && lo.fold_data_above == 0)
        lo.fold_data_above = o.text_diagram_fold_above;
    const Diagram d = layout(t, lo);
    switch (f) {
    case Format::Svg: return to_svg(d, o.svg);
    case Format::PlantUml: return to_plantuml(d);
    case Format::Mermaid: return to_mermaid(d);
    case Format::Mscgen: return to_mscgen(d);
    case Format::Text: return to_text(d, o.text);
    default: break;
    }
    throw ExportError("unknown export format");
}

std::string export_for_path(const trace::Trace& t, std::string_view path, const ExportOptions& o) {
    const auto f = format_from_path(path);
    if (!f)
        throw ExportError("cannot tell the export format from \"" + std::string(path) +
                          "\": use .svg, .puml, .plantuml, .mmd, .msc, .txt, .json or .pcap");
    return export_trace(t, *f, o);
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

}  // namespace ftpsim::viz::detail
