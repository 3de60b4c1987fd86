// The ladder as a Mermaid sequenceDiagram.
#include <fmt/format.h>

#include "viz/detail.hpp"
#include "viz/export.hpp"

namespace ftpsim::viz {
namespace {

// Mermaid ends a statement at ';' and at a newline, starts entities with '#', and sanitises
// '<...>' as HTML: its entity codes (#59; #35; #lt; #gt;) keep the characters.
std::string mmd_text(std::string_view s) {
    static constexpr detail::Escape kEscapes[] = {
        {';', "#59;"}, {'#', "#35;"}, {'<', "#lt;"}, {'>', "#gt;"}, {'\n', "<br/>"}, {'\r', ""}};
    return detail::escape_text(s, kEscapes);
}

}  // namespace

std::string to_mermaid(const Diagram& d) {
    fmt::memory_buffer b;
    b.reserve(1024 + d.items.size() * 80);
    auto out = fmt::appender(b);  // writes straight into the buffer (a back_inserter copies via a temporary)
    fmt::format_to(out, "sequenceDiagram\n");
    if (!d.title.empty()) fmt::format_to(out, "    title {}\n", mmd_text(d.title));
    for (std::size_t i = 0; i < d.lanes.size(); ++i) {
        const Lane& l = d.lanes[i];
        const std::string addr = lane_address(l);
        fmt::format_to(out, "    participant {} as {}{}{}\n", detail::lane_id(static_cast<int>(i)), mmd_text(l.name),
                       addr.empty() ? "" : "<br/>", mmd_text(addr));
    }
    for (const Item& it : d.items) {
        switch (it.kind) {
        case ItemKind::Break:
            fmt::format_to(out, "    Note over {},{}: {}\n", detail::lane_id(0),
                           detail::lane_id(static_cast<int>(d.lanes.size()) - 1), mmd_text("... " + it.text + " ..."));
            break;
        case ItemKind::Note:
            if (it.lane_lo == it.lane_hi)
                fmt::format_to(out, "    Note over {}: {}\n", detail::lane_id(it.lane_lo), mmd_text(it.text));
            else
                fmt::format_to(out, "    Note over {},{}: {}\n", detail::lane_id(it.lane_lo), detail::lane_id(it.lane_hi),
                               mmd_text(it.text));
            break;
        case ItemKind::Arrow: {
            const bool dashed = it.style == Style::Handshake;
            const char* arrow = it.end != End::Arrow ? (dashed ? "--x" : "-x") : (dashed ? "-->>" : "->>");
            fmt::format_to(out, "    {}{}{}: {}\n", detail::lane_id(it.from_lane), arrow, detail::lane_id(it.to_lane),
                           mmd_text(detail::arrow_caption(it, false)));
            break;
        }
        }
    }
    return fmt::to_string(b);
}

}  // namespace ftpsim::viz
