// The ladder as an mscgen message sequence chart.
#include <fmt/format.h>

#include "viz/detail.hpp"
#include "viz/export.hpp"

namespace ftpsim::viz {
namespace {

// A double-quoted mscgen string: backslash and quote escaped, line breaks as "\n". mscgen draws
// with a built-in font, so the captions stay ASCII.
std::string msc_text(std::string_view s) {
    static constexpr detail::Escape kEscapes[] = {{'\\', "\\\\"}, {'"', "\\\""}, {'\n', "\\n"}, {'\r', ""}};
    return detail::escape_text(s, kEscapes);
}

}  // namespace

std::string to_mscgen(const Diagram& d) {
    fmt::memory_buffer b;
    b.reserve(1024 + d.items.size() * 110);
    auto out = fmt::appender(b);  // writes straight into the buffer (a back_inserter copies via a temporary)
    fmt::format_to(out, "# {}\nmsc {{\n  hscale=\"{}\", arcgradient=\"{}\";\n", msc_text(d.title),
                   d.lanes.size() > 2 ? "1.6" : "2",
                   d.options.time == TimeScale::ToScale || d.options.slant > 0 ? 8 : 0);
    for (std::size_t i = 0; i < d.lanes.size(); ++i) {
        const Lane& l = d.lanes[i];
        const std::string addr = lane_address(l);
        fmt::format_to(out, "  {} [label=\"{}{}{}\"]{}\n", detail::lane_id(static_cast<int>(i)), msc_text(l.name),
                       addr.empty() ? "" : "\\n", msc_text(addr), i + 1 < d.lanes.size() ? "," : ";");
    }
    for (const Item& it : d.items) {
        switch (it.kind) {
        case ItemKind::Break:
            fmt::format_to(out, "  ... [label=\"{}\"];\n", msc_text(it.text));
            break;
        case ItemKind::Note: {
            const char* box = it.note_kind == NoteKind::Middlebox ? "abox" : it.note_kind == NoteKind::Note ? "note" : "rbox";
            const char* fill = detail::note_fill(it.note_kind);
            fmt::format_to(out, "  {} {} {} [label=\"{}\", textbgcolour=\"{}\"];\n", detail::lane_id(it.lane_lo), box,
                           detail::lane_id(it.lane_hi), msc_text(it.text), fill);
            break;
        }
        case ItemKind::Arrow: {
            const char* arc = it.end != End::Arrow ? "-x" : it.style == Style::Handshake ? ">>" : "=>";
            const char* c = it.end != End::Arrow ? "#d62828" : detail::arrow_colour(it);
            fmt::format_to(out, "  {} {} {} [label=\"{}\", linecolour=\"{}\", textcolour=\"{}\"];\n",
                           detail::lane_id(it.from_lane), arc, detail::lane_id(it.to_lane),
                           msc_text(detail::arrow_caption(it, true)), c, detail::arrow_colour(it));
            break;
        }
        }
    }
    fmt::format_to(out, "}}\n");
    return fmt::to_string(b);
}

}  // namespace ftpsim::viz
