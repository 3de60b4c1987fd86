// Scripted input that goes through the widgets: `set knob NAME=VALUE` and `fix N` move the mouse
// to the knob's radio button (or open its drop-down list and pick the entry, or click its text
// field and type the value and Enter) or to the diagnosis' N-th Apply button, press and release
// it, and then check that the click did what it should. The panels' own click handlers change
// the state, exactly as for a user; nothing is set behind the UI's back.
//
// Frame by frame: before_frame() (after the platform backend's NewFrame, before ImGui::NewFrame)
// asks the panels for the widget (UiContext::probe) and sets the mouse and keys; after_frame()
// (after ImGui::Render) reads where the widget was and moves on. Needs only ImGui's core, so it
// runs headless in tests too.
#pragma once

#include "viz/gui/script.hpp"
#include "viz/gui/state.hpp"
#include "viz/gui/ui.hpp"

#include <imgui.h>

#include <string>
#include <vector>

namespace ftpsim::gui {

class UiDriver {
public:
    // Starts `cmd` ("set knob NAME=VALUE" or "fix N"); false with `error` when the scenario has no
    // such knob, the value is not one of its choices, or there is no fix N.
    bool start(const ScriptCommand& cmd, const GuiState& s, std::string& error);
    bool busy() const { return phase_ != Phase::Idle; }

    // Sets ctx.probe and the mouse button, position and keys for the coming frame. `rest` is
    // where the mouse is when the driver does not need it.
    void before_frame(ImGuiIO& io, UiContext& ctx, ImVec2 rest);
    // Reads the frame's result; false with `error` when the widget cannot be found or the click
    // did not change what it should have.
    bool after_frame(const GuiState& s, UiContext& ctx, std::string& error);

private:
    enum class Phase { Idle, Locate, Move, Press, Release, SelectAll, Type, Enter, Settle, Verify };
    Phase phase_ = Phase::Idle;
    ScriptCommand cmd_;
    std::vector<std::string> targets_;  // the widgets to click, in order
    std::size_t target_ = 0;
    bool type_text_ = false;            // a free-text knob: type the value after the click
    std::string name_, value_;          // set knob
    std::size_t fix_ = 0;               // fix (0-based)
    std::uint64_t revision_before_ = 0;
    int tries_ = 0;
    ImVec2 at_{0, 0};
};

}  // namespace ftpsim::gui
