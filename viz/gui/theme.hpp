// Colours and sizes of the ladder canvas and the ImGui style for the light and dark themes.
// Light is the default: it survives a classroom projector better than dark.
#pragma once

#include <imgui.h>

namespace ftpsim::gui {

enum class ThemeKind { Light, Dark };

struct Theme {
    ThemeKind kind = ThemeKind::Light;
    ImU32 background;
    ImU32 lane_header_fill;
    ImU32 lane_header_border;
    ImU32 lane_title;       // node name
    ImU32 lane_subtitle;    // addresses
    ImU32 lifeline;
    ImU32 middlebox_lifeline;
    ImU32 control;          // control-connection arrows
    ImU32 data;             // data-connection arrows
    ImU32 other;            // arrows with no connection
    ImU32 drop;             // the cross of a dropped packet; the FAILED banner
    ImU32 ok;               // the OK banner and outcome
    ImU32 reject;           // a rejected (RST) packet
    ImU32 label;            // arrow labels
    ImU32 label_bg;         // behind labels, so they stay readable over lifelines
    ImU32 port;             // port numbers at the arrow ends
    ImU32 note_fill;        // middlebox notes
    ImU32 note_border;
    ImU32 note_text;
    ImU32 explain_fill;     // learner's notes
    ImU32 explain_border;
    ImU32 socket_fill;      // socket and timer events
    ImU32 socket_border;
    ImU32 highlight;        // the current playback step
    ImU32 hover;            // the hovered item
    ImU32 fold_fill;        // Tracy-style "N items" marks
    ImU32 fold_text;
    ImU32 time_text;        // the time ruler
    ImU32 grid;
};

const Theme& theme(ThemeKind k);

// Sets ImGui's colours and sizes for a theme at a UI scale (spacing, rounding, scrollbar sizes).
void apply_imgui_style(ThemeKind k, float scale);

}  // namespace ftpsim::gui
