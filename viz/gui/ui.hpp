// The teaching app's panels, drawn with ImGui between NewFrame() and Render(). Needs no window:
// the app (app.cpp) supplies one, the tests run it on ImGui's core alone.
#pragma once

#include "viz/gui/state.hpp"

#include <imgui.h>

#include <functional>
#include <string>

namespace ftpsim::gui {

struct UiContext {
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

// The tooltip text for an item: the packet on every hop, before and after each translation.
std::string item_details(const trace::Trace& t, const viz::Diagram& d, std::size_t item);

}  // namespace ftpsim::gui
