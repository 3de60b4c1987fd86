// The ladder as PlantUML (teoz engine: colours, lost messages "->x", spacing for time).
#include <cmath>

#include <fmt/format.h>

#include "viz/detail.hpp"
#include "viz/export.hpp"

namespace ftpsim::viz {
namespace {

// PlantUML reads "\n" in labels as a line break and "<b>", "<color:...>" and the like as markup;
// "~<" writes a plain "<" (checked against Debian 12's PlantUML 1.2020.02). A line that starts
// with a creole list, heading or table character gets a "~" so it stays plain text.
std::string puml_text(std::string_view s) {
    static constexpr detail::Escape kEscapes[] = {{'\\', "\\\\"}, {'<', "~<"}};
    const bool plain = s.empty() || std::string_view("*#=|-").find(s.front()) == std::string_view::npos;
    return (plain ? "" : "~") + detail::escape_text(s, kEscapes);
}

}  // namespace

std::string to_plantuml(const Diagram& d) {
    fmt::memory_buffer b;
    b.reserve(1024 + d.items.size() * 96);
    auto out = fmt::appender(b);  // writes straight into the buffer (a back_inserter copies via a temporary)
    fmt::format_to(out, "@startuml\n!pragma teoz true\n");
    fmt::format_to(out, "skinparam defaultFontSize 16\nskinparam defaultFontName \"DejaVu Sans\"\n"
                        "skinparam sequenceMessageAlign center\nskinparam responseMessageBelowArrow false\n"
                        "hide footbox\n");
    if (!d.title.empty()) fmt::format_to(out, "title {}\n", puml_text(d.title));
    for (std::size_t i = 0; i < d.lanes.size(); ++i) {
        const Lane& l = d.lanes[i];
        const std::string addr = lane_address(l);
        fmt::format_to(out, "participant \"{}{}{}\" as {}{}\n", puml_text(l.name), addr.empty() ? "" : "\\n",
                       puml_text(addr), detail::lane_id(static_cast<int>(i)), l.middlebox ? " #fff9db" : "");
    }
    const bool to_scale = d.options.time == TimeScale::ToScale;
    double last_y = d.items.empty() ? 0 : d.items.front().top();
    for (const Item& it : d.items) {
        // Drawn to scale, the idle time before an item becomes vertical space. (Slanted arrows,
        // teoz's "->(n)", need a newer PlantUML than Debian 12's 1.2020.02, which rejects them.)
        if (to_scale) {
            const double gap = it.top() - last_y - d.options.row_height;
            if (gap >= 8) fmt::format_to(out, "||{}||\n", static_cast<int>(std::min(gap, 400.0)));
            last_y = std::max(last_y, it.top());
        }
        switch (it.kind) {
        case ItemKind::Break:
            fmt::format_to(out, "... {} ...\n", puml_text(it.text));
            break;
        case ItemKind::Note: {
            const std::string lanes = it.lane_lo == it.lane_hi
                                          ? detail::lane_id(it.lane_lo)
                                          : detail::lane_id(it.lane_lo) + ", " + detail::lane_id(it.lane_hi);
            fmt::format_to(out, "note over {} {}\n", lanes, detail::note_fill(it.note_kind));
            std::size_t start = 0;
            while (true) {
                const auto eol = it.text.find('\n', start);
                fmt::format_to(out, "{}\n", puml_text(std::string_view(it.text).substr(start, eol == std::string::npos ? std::string::npos : eol - start)));
                if (eol == std::string::npos) break;
                start = eol + 1;
            }
            fmt::format_to(out, "end note\n");
            break;
        }
        case ItemKind::Arrow: {
            const bool dashed = it.style == Style::Handshake;
            std::string arrow = fmt::format("-[{}]{}>", detail::arrow_colour(it), dashed ? "-" : "");
            if (it.end != End::Arrow) arrow += "x";
            fmt::format_to(out, "{} {} {} : {}\n", detail::lane_id(it.from_lane), arrow, detail::lane_id(it.to_lane),
                           puml_text(detail::arrow_caption(it, false)));
            break;
        }
        }
    }
    fmt::format_to(out, "@enduml\n");
    return fmt::to_string(b);
}

}  // namespace ftpsim::viz
