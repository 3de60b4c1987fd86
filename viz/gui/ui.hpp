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
    // the height the playback bar's contents (buttons and the explanation, wrapped) took in the
    // last frame: the bar grows to it, so the explanation of a step is never cut off
    float playback_content_h = 0;
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

// `text` with line breaks put at spaces so that no line is wider than `width` pixels in `font` at
// `size` (a word wider than that stays whole on its own line); its own line breaks are kept.
// ImGui's wrapping also breaks after '.' and ',', which cuts an address (203.0.113.|1:53004) or a
// PORT argument (192,168,|1,100) in two: the panels' sentences go through this instead.
std::string wrap_at_spaces(const std::string& text, float width, ImFont* font, float size);

// The tooltip text for an item: the packet on every hop, before and after each translation.
std::string item_details(const trace::Trace& t, const viz::Diagram& d, std::size_t item);

}  // namespace ftpsim::gui
