// The teaching app's panels, drawn with ImGui between NewFrame() and Render(). Needs no window:
// the app (app.cpp) supplies one, the tests run it on ImGui's core alone.
#pragma once

#include "viz/gui/state.hpp"
#include "viz/gui/theme.hpp"

#include <imgui.h>

#include <functional>
#include <string>

namespace ftpsim::gui {

// Where a named widget was drawn in the last frame. Scripted input (driver.hpp) asks for one by
// name and then clicks it with the mouse as a user would. Names: "knob:NAME=VALUE" (a knob's
// radio button, or an entry of its open drop-down list), "knob:NAME" (its drop-down box or text
// field), "fix:N" (the diagnosis' N-th Apply button, 0-based).
struct WidgetProbe {
    std::string id;        // the widget sought; empty: none
    bool found = false;    // drawn in the last frame
    bool visible = false;  // wholly inside its window's visible area (else the panel scrolls to it)
    ImVec2 min{0, 0}, max{0, 0};
};

struct UiContext {
    WidgetProbe probe;                                       // see WidgetProbe; draw_ui fills it
    ImFont* mono = nullptr;                                  // packet details; nullptr: the default font
    std::function<void(const std::string&)> screenshot;      // write the next frame to this PNG
    // results of the last frame, for tests and the status line
    LadderStats last_stats;
    LadderHit last_hit;
};

// The whole app window: toolbar, sidebar (scenarios and knobs, diagnosis, tables, export), the
// ladder canvas with tooltips, and the playback bar with the current step's explanation.
void draw_ui(GuiState& s, UiContext& ctx);

// Keyboard shortcuts (see docs/gui.md); call once per frame before draw_ui.
void handle_shortcuts(GuiState& s, UiContext& ctx);

// The outcome as a filled banner ("OK" in green, "FAILED: RETR got 500" in red) at the cursor,
// followed by SameLine; nothing for a trace with no outcome. Its fill colour, for tests that
// look for it in a screenshot:
void outcome_banner(const GuiState& s);
ImU32 outcome_banner_colour(bool ok, ThemeKind k);

// The tooltip text for an item: the packet on every hop, before and after each translation.
std::string item_details(const trace::Trace& t, const viz::Diagram& d, std::size_t item);

}  // namespace ftpsim::gui
