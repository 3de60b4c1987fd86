#include "viz/gui/theme.hpp"

namespace ftpsim::gui {

namespace {
constexpr ImU32 rgba(unsigned r, unsigned g, unsigned b, unsigned a = 255) { return IM_COL32(r, g, b, a); }

Theme make_light() {
    Theme t;
    t.kind = ThemeKind::Light;
    t.background = rgba(255, 255, 255);
    t.lane_header_fill = rgba(232, 238, 247);
    t.lane_header_border = rgba(90, 110, 140);
    t.lane_title = rgba(15, 25, 45);
    t.lane_subtitle = rgba(60, 70, 90);
    t.lifeline = rgba(120, 130, 145);
    t.middlebox_lifeline = rgba(150, 110, 40);
    t.control = rgba(20, 80, 200);    // blue
    t.data = rgba(210, 95, 0);        // orange: distinct from blue for colour-blind viewers too
    t.other = rgba(90, 90, 90);
    t.drop = rgba(215, 20, 30);
    t.ok = rgba(20, 140, 60);
    t.reject = rgba(160, 0, 120);
    t.label = rgba(10, 10, 10);
    t.label_bg = rgba(255, 255, 255, 225);
    t.port = rgba(60, 60, 60);
    t.note_fill = rgba(255, 246, 205);
    t.note_border = rgba(190, 150, 40);
    t.note_text = rgba(60, 40, 0);
    t.explain_fill = rgba(226, 240, 255);
    t.explain_border = rgba(80, 130, 200);
    t.socket_fill = rgba(240, 240, 243);
    t.socket_border = rgba(150, 150, 160);
    t.highlight = rgba(255, 214, 0, 110);
    t.hover = rgba(0, 150, 255, 60);
    t.fold_fill = rgba(150, 160, 180, 90);
    t.fold_text = rgba(20, 20, 20);
    t.time_text = rgba(110, 110, 120);
    t.grid = rgba(235, 237, 240);
    return t;
}

Theme make_dark() {
    Theme t;
    t.kind = ThemeKind::Dark;
    t.background = rgba(24, 26, 31);
    t.lane_header_fill = rgba(45, 55, 75);
    t.lane_header_border = rgba(120, 140, 170);
    t.lane_title = rgba(240, 244, 250);
    t.lane_subtitle = rgba(185, 195, 210);
    t.lifeline = rgba(120, 128, 140);
    t.middlebox_lifeline = rgba(200, 160, 80);
    t.control = rgba(100, 165, 255);
    t.data = rgba(255, 160, 60);
    t.other = rgba(170, 170, 170);
    t.drop = rgba(255, 80, 80);
    t.ok = rgba(40, 150, 75);
    t.reject = rgba(235, 100, 210);
    t.label = rgba(235, 235, 235);
    t.label_bg = rgba(24, 26, 31, 220);
    t.port = rgba(200, 200, 200);
    t.note_fill = rgba(70, 60, 25);
    t.note_border = rgba(200, 160, 60);
    t.note_text = rgba(255, 235, 180);
    t.explain_fill = rgba(30, 50, 80);
    t.explain_border = rgba(90, 140, 210);
    t.socket_fill = rgba(44, 47, 55);
    t.socket_border = rgba(110, 115, 130);
    t.highlight = rgba(255, 214, 0, 70);
    t.hover = rgba(80, 170, 255, 70);
    t.fold_fill = rgba(130, 140, 160, 80);
    t.fold_text = rgba(235, 235, 235);
    t.time_text = rgba(150, 150, 160);
    t.grid = rgba(36, 39, 46);
    return t;
}
}  // namespace

const Theme& theme(ThemeKind k) {
    static const Theme light = make_light();
    static const Theme dark = make_dark();
    return k == ThemeKind::Dark ? dark : light;
}

void apply_imgui_style(ThemeKind k, float scale) {
    ImGuiStyle style;
    if (k == ThemeKind::Dark) {
        ImGui::StyleColorsDark(&style);
    } else {
        ImGui::StyleColorsLight(&style);
        // More contrast than the stock light style: projectors wash out pale greys.
        style.Colors[ImGuiCol_WindowBg] = ImVec4(0.97f, 0.97f, 0.98f, 1.0f);
        style.Colors[ImGuiCol_Border] = ImVec4(0.55f, 0.58f, 0.63f, 0.80f);
        style.Colors[ImGuiCol_FrameBg] = ImVec4(0.90f, 0.92f, 0.95f, 1.0f);
        style.Colors[ImGuiCol_TitleBgActive] = ImVec4(0.72f, 0.80f, 0.92f, 1.0f);
        style.Colors[ImGuiCol_TitleBg] = ImVec4(0.84f, 0.87f, 0.92f, 1.0f);
        style.Colors[ImGuiCol_Text] = ImVec4(0.05f, 0.05f, 0.08f, 1.0f);
    }
    style.Colors[ImGuiCol_PopupBg].w = 1.0f;  // tooltips over the ladder: no text showing through
    style.WindowRounding = 4.0f;
    style.FrameRounding = 3.0f;
    style.GrabRounding = 3.0f;
    style.WindowBorderSize = 1.0f;
    style.FrameBorderSize = k == ThemeKind::Light ? 1.0f : 0.0f;
    style.ScaleAllSizes(scale);
    ImGui::GetStyle() = style;
}

}  // namespace ftpsim::gui
