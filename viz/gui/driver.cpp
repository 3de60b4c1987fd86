#include "viz/gui/driver.hpp"

#include <cfloat>
#include <cstdlib>

namespace ftpsim::gui {

namespace {
constexpr int kMaxLocateFrames = 8;  // frames to find a widget (the panel may need to scroll to it)

std::string shown(const std::string& value) { return value.empty() ? "(empty)" : "\"" + value + "\""; }

void press_key(ImGuiIO& io, ImGuiKey key, bool down) {
    const int index = io.KeyMap[key];
    if (index >= 0 && index < static_cast<int>(IM_ARRAYSIZE(io.KeysDown))) io.KeysDown[index] = down;
}
}  // namespace

bool UiDriver::start(const ScriptCommand& cmd, const GuiState& s, std::string& error) {
    cmd_ = cmd;
    targets_.clear();
    target_ = 0;
    type_text_ = false;
    tries_ = 0;
    revision_before_ = s.revision();
    auto fail = [&](const std::string& why) {
        error = "\"" + cmd.text + "\": " + why;
        phase_ = Phase::Idle;
        return false;
    };
    if (cmd.verb == "set") {
        const auto eq = cmd.args[1].find('=');
        name_ = cmd.args[1].substr(0, eq);
        value_ = cmd.args[1].substr(eq + 1);
        const Knob* k = s.knobs().find(name_);
        if (!k) return fail("no knob \"" + name_ + "\" in scenario " + s.knobs().scenario);
        if (!k->choices.empty()) {
            bool known = false;
            for (const auto& c : k->choices) known |= c == value_;
            if (!known) return fail("\"" + value_ + "\" is not a value of " + name_);
            // the same widgets scenario_panel draws: radio buttons up to three choices, else a drop-down
            if (k->choices.size() > 3) targets_.push_back("knob:" + name_);
            targets_.push_back("knob:" + name_ + "=" + value_);
        } else {
            targets_.push_back("knob:" + name_);
            type_text_ = true;
        }
    } else if (cmd.verb == "fix") {
        const int n = std::atoi(cmd.args[0].c_str());
        if (n < 1 || static_cast<std::size_t>(n) > s.fixes().size())
            return fail("no fix " + cmd.args[0] + " (the diagnosis offers " + std::to_string(s.fixes().size()) + ")");
        fix_ = static_cast<std::size_t>(n - 1);
        targets_.push_back("fix:" + std::to_string(fix_));
    } else {
        return fail("not a command that clicks a widget");
    }
    phase_ = Phase::Locate;
    return true;
}

void UiDriver::before_frame(ImGuiIO& io, UiContext& ctx, ImVec2 rest) {
    ctx.probe.id = phase_ == Phase::Locate ? targets_[target_] : std::string();
    io.MousePos = rest;
    for (int b = 0; b < 3; ++b) io.MouseDown[b] = false;
    io.KeyCtrl = false;
    press_key(io, ImGuiKey_A, false);
    press_key(io, ImGuiKey_Enter, false);
    switch (phase_) {
    case Phase::Move:
    case Phase::Release:
        io.MousePos = at_;
        break;
    case Phase::Press:
        io.MousePos = at_;
        io.MouseDown[0] = true;
        break;
    case Phase::SelectAll:  // Ctrl+A in the focused text field
        io.MousePos = at_;
        io.KeyCtrl = true;
        press_key(io, ImGuiKey_A, true);
        break;
    case Phase::Type:
        io.MousePos = at_;
        io.AddInputCharactersUTF8(value_.c_str());
        break;
    case Phase::Enter:
        io.MousePos = at_;
        press_key(io, ImGuiKey_Enter, true);
        break;
    default:
        break;
    }
}

bool UiDriver::after_frame(const GuiState& s, UiContext& ctx, std::string& error) {
    auto fail = [&](const std::string& why) {
        error = "\"" + cmd_.text + "\": " + why;
        phase_ = Phase::Idle;
        ctx.probe = {};
        return false;
    };
    switch (phase_) {
    case Phase::Idle:
        return true;
    case Phase::Locate:
        if (ctx.probe.found && ctx.probe.visible) {
            at_ = ImVec2((ctx.probe.min.x + ctx.probe.max.x) * 0.5f, (ctx.probe.min.y + ctx.probe.max.y) * 0.5f);
            ctx.probe = {};
            tries_ = 0;
            phase_ = Phase::Move;
        } else if (++tries_ > kMaxLocateFrames) {
            return fail(std::string("cannot find the widget \"") + targets_[target_] + "\" on screen" +
                        (ctx.probe.found ? " (it stays outside its panel's visible area)" : ""));
        }
        return true;
    case Phase::Move:
        phase_ = Phase::Press;
        return true;
    case Phase::Press:
        phase_ = Phase::Release;
        return true;
    case Phase::Release:
        if (++target_ < targets_.size()) phase_ = Phase::Locate;
        else phase_ = type_text_ ? Phase::SelectAll : Phase::Settle;
        return true;
    case Phase::SelectAll:
        phase_ = Phase::Type;
        return true;
    case Phase::Type:
        phase_ = Phase::Enter;
        return true;
    case Phase::Enter:
        phase_ = Phase::Settle;
        return true;
    case Phase::Settle:  // one frame with the button up and the mouse still there
        phase_ = Phase::Verify;
        return true;
    case Phase::Verify:
        phase_ = Phase::Idle;
        if (cmd_.verb == "set") {
            const std::string now = s.knobs().get(name_);
            if (now != value_)
                return fail("clicking the knob's widget left " + name_ + " at " + shown(now) + ", not " + shown(value_));
        } else if (s.revision() == revision_before_ || s.status.rfind("Applied", 0) != 0) {
            return fail("clicking Apply did not apply fix " + cmd_.args[0] + (s.status.empty() ? "" : ": " + s.status));
        }
        return true;
    }
    return true;
}

}  // namespace ftpsim::gui
