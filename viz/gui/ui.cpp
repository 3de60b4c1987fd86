#include "viz/gui/ui.hpp"

#include "protocol/reply_codes.hpp"
#include "viz/export.hpp"
#include "viz/gui/narration.hpp"
#include "viz/gui/tables.hpp"
#include "viz/gui/theme.hpp"

#include <GLFW/glfw3.h>  // key codes only: the GLFW backend indexes io.KeysDown by them
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ftpsim::gui {

namespace {

constexpr float kZoomStep = 1.2f;

std::string connection_purpose(const trace::Trace& t, int conn) {
    for (const auto& c : t.connections)
        if (c.id == conn) return c.purpose;
    return {};
}

bool changed(const trace::Endpoint& before, const trace::Endpoint& after) {
    return !after.addr.empty() && !(after == before);
}

void zoom_at(GuiState& s, float factor, float screen_y) {
    const auto& d = s.diagram();
    const auto g = canvas_geometry(d, s.view);
    const double units = g.units(screen_y);
    s.view.zoom = std::clamp(s.view.zoom * factor, 1e-5f, 20.0f);
    const auto g2 = canvas_geometry(d, s.view);
    s.view.pan.y += screen_y - g2.y(units);
    s.fit_pending = false;
}

void zoom_centre(GuiState& s, float factor) {
    zoom_at(s, factor, (s.view.canvas_min.y + s.view.canvas_max.y) * 0.5f);
}

// The actions a button and a key share.
void change_scale(GuiState& s, float delta) {
    s.ui_scale = delta == 0 ? 1.25f : std::clamp(s.ui_scale + delta, 0.5f, 4.0f);
    s.fonts_dirty = true;  // the app rebuilds the font atlas at the new size
}
void toggle_theme(GuiState& s) {
    s.view.theme = s.view.theme == ThemeKind::Light ? ThemeKind::Dark : ThemeKind::Light;
    s.fonts_dirty = true;  // the style is re-applied with the fonts
}
void fit_all(GuiState& s) {
    s.view.zoom = fit_zoom(s.diagram(), s.view, 1e-5f);
    s.view.pan = {0, 0};
}
void toggle_view(GuiState& s, bool end_to_end_axis) {
    auto o = s.layout_options();
    if (end_to_end_axis) o.view = o.view == viz::View::PerHop ? viz::View::EndToEnd : viz::View::PerHop;
    else o.time = o.time == viz::TimeScale::Compressed ? viz::TimeScale::ToScale : viz::TimeScale::Compressed;
    s.set_layout(o);
}

// Keeps some of the diagram on screen whatever the pan.
void clamp_pan(GuiState& s) {
    const auto& d = s.diagram();
    View probe = s.view;
    probe.pan = {0, 0};
    const auto g = canvas_geometry(d, probe);
    const float content = static_cast<float>(d.height) * g.px_per_unit;
    const float visible = s.view.canvas_max.y - g.origin_y;
    const float min_y = std::min(0.0f, visible * 0.5f - content);
    s.view.pan.y = std::clamp(s.view.pan.y, min_y, visible * 0.5f);
    const float w = s.view.canvas_max.x - s.view.canvas_min.x;
    s.view.pan.x = std::clamp(s.view.pan.x, -w * 0.8f, w * 0.8f);
}

void ensure_step_visible(GuiState& s) {
    const std::size_t index = s.current_item();
    const auto& d = s.diagram();
    if (index >= d.items.size()) return;
    const auto& it = d.items[index];
    const auto g = canvas_geometry(d, s.view);
    const float top = s.view.canvas_min.y + g.header_h, bottom = s.view.canvas_max.y;
    const float y0 = g.y(it.top()), y1 = g.y(it.bottom());
    // with the later steps hidden the canvas below the current step is empty: keep it low, so
    // the steps that led to it stay in view above it
    const bool low = s.reveal != Reveal::All;
    const float margin = s.present ? std::max(s.view.font_size, s.view.min_ftp_px) * 3.0f : (bottom - top) * 0.15f;
    if (y0 < top + (bottom - top) * 0.1f || y1 > bottom - margin) {
        scroll_to(d, s.view, it.top(), low ? std::max(0.4f, 1.0f - (margin + (y1 - y0)) / (bottom - top)) : 0.4f);
        // Following the step never scrolls past either end of the diagram: its first rows stay
        // at the top of the canvas (no empty band above them on a tall window), and its last ones
        // do not rise far above the bottom (a drag can still move it anywhere clamp_pan allows).
        View probe = s.view;
        probe.pan.y = 0;
        const auto g0 = canvas_geometry(d, probe);
        const float content = static_cast<float>(d.height) * g0.px_per_unit;
        const float visible = bottom - g0.origin_y;
        s.view.pan.y = std::clamp(s.view.pan.y, std::min(0.0f, visible - content - margin), 0.0f);
    }
}

// Wrapped text (wrap_at_spaces) from the cursor to the right edge of the window's content.
void text_at_spaces(const std::string& text) {
    const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
    const float width = std::max(ImGui::GetFontSize() * 4, right - ImGui::GetCursorScreenPos().x);
    const std::string wrapped = wrap_at_spaces(text, width, ImGui::GetFont(), ImGui::GetFontSize());
    ImGui::TextUnformatted(wrapped.c_str(), wrapped.c_str() + wrapped.size());
}

void help_marker(const std::string& text) {
    if (text.empty()) return;
    ImGui::SameLine();
    ImGui::TextDisabled("(?)");
    if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
        ImGui::TextUnformatted(text.c_str());
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
    }
}

// Records the last widget's rectangle when scripted input looks for it (WidgetProbe), and
// scrolls its panel so that it is wholly visible, as a user would before clicking it.
void locate(UiContext& ctx, const std::string& id) {
    if (ctx.probe.id != id) return;
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    const ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 ca = dl->GetClipRectMin(), cb = dl->GetClipRectMax();
    ctx.probe.found = true;
    ctx.probe.min = a;
    ctx.probe.max = b;
    // wholly visible up and down, and its middle (where the click goes) inside left and right: a
    // selectable's rectangle reaches into the window's padding
    const float mid = (a.x + b.x) * 0.5f;
    ctx.probe.visible = ImGui::IsItemVisible() && a.y >= ca.y - 1 && b.y <= cb.y + 1 && mid >= ca.x && mid <= cb.x;
    if (!ctx.probe.visible) ImGui::SetScrollHereY(0.5f);
}
bool probing(const UiContext& ctx, const char* prefix) { return ctx.probe.id.rfind(prefix, 0) == 0; }

// ---- sidebar panels ------------------------------------------------------------------------

void scenario_panel(GuiState& s, UiContext& ctx) {
    const float rows = static_cast<float>(s.library().size()) + 2.0f;
    const float list_h = std::min(ImGui::GetTextLineHeightWithSpacing() * std::min(rows, 9.0f) + 4.0f,
                                  ImGui::GetContentRegionAvail().y * 0.45f);
    if (ImGui::BeginListBox("##library", ImVec2(-FLT_MIN, list_h))) {
        std::string category;
        for (const auto& sc : s.library()) {
            if (sc.category != category) {
                category = sc.category;
                ImGui::TextDisabled("%s", category.c_str());
            }
            const bool selected = sc.id == s.scenario();
            if (ImGui::Selectable(sc.title.c_str(), selected)) s.select_scenario(sc.id);
            if (ImGui::IsItemHovered() && !sc.description.empty()) {
                ImGui::BeginTooltip();
                ImGui::PushTextWrapPos(ImGui::GetFontSize() * 28);
                ImGui::TextUnformatted(sc.description.c_str());
                ImGui::PopTextWrapPos();
                ImGui::EndTooltip();
            }
        }
        ImGui::EndListBox();
    }
    ImGui::Spacing();
    ImGui::TextUnformatted("Knobs");
    ImGui::Separator();
    const Knobs& knobs = s.knobs();
    if (knobs.knobs.empty()) ImGui::TextDisabled("This scenario has no knobs.");
    for (const auto& k : knobs.knobs) {
        ImGui::PushID(k.name.c_str());
        ImGui::TextUnformatted(k.label.empty() ? k.name.c_str() : k.label.c_str());
        help_marker(k.help.empty() ? k.name : k.help + "\n(" + k.name + ")");
        ImGui::SetNextItemWidth(-FLT_MIN);
        if (!k.choices.empty()) {
            if (k.choices.size() <= 3) {
                // radio buttons: one click, and every choice is visible on the projector
                for (std::size_t i = 0; i < k.choices.size(); ++i) {
                    if (i) ImGui::SameLine();
                    const bool clicked = ImGui::RadioButton(k.choices[i].c_str(), k.value == k.choices[i]);
                    if (probing(ctx, "knob:")) locate(ctx, "knob:" + k.name + "=" + k.choices[i]);
                    if (clicked) {
                        const std::string name = k.name, value = k.choices[i];
                        s.set_knob(name, value);
                        ImGui::PopID();
                        return;  // the knobs were replaced
                    }
                }
            } else {
                const bool open = ImGui::BeginCombo("##v", k.value.c_str());
                if (probing(ctx, "knob:")) locate(ctx, "knob:" + k.name);
                if (!open) {
                    ImGui::PopID();
                    continue;
                }
                for (const auto& c : k.choices) {
                    const bool clicked = ImGui::Selectable(c.c_str(), c == k.value);
                    if (probing(ctx, "knob:")) locate(ctx, "knob:" + k.name + "=" + c);
                    if (clicked) {
                        const std::string name = k.name, value = c;
                        ImGui::EndCombo();
                        ImGui::PopID();
                        s.set_knob(name, value);
                        return;
                    }
                }
                ImGui::EndCombo();
            }
        } else {
            std::string value = tidy_number(k.value);
            const std::string note = knob_value_note(k);
            if (!note.empty()) ImGui::SetNextItemWidth(std::max(ImGui::GetFontSize() * 4, ImGui::GetContentRegionAvail().x -
                                                                 ImGui::CalcTextSize(note.c_str()).x - ImGui::GetStyle().ItemSpacing.x));
            const bool entered = ImGui::InputText("##v", &value, ImGuiInputTextFlags_EnterReturnsTrue);
            if (probing(ctx, "knob:")) locate(ctx, "knob:" + k.name);
            if (!note.empty()) {
                ImGui::SameLine();
                ImGui::AlignTextToFramePadding();
                ImGui::TextDisabled("%s", note.c_str());
            }
            if (entered) {
                const std::string name = k.name;
                ImGui::PopID();
                if (!s.set_knob(name, value)) s.status = "Bad value for " + name;
                return;
            }
        }
        ImGui::PopID();
    }
}

void diagnosis_panel(GuiState& s, UiContext& ctx) {
    const auto& o = s.trace().outcome;
    const auto& th = theme(s.view.theme);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(o.ok ? th.ok : th.drop));
    ImGui::TextUnformatted(o.ok ? "Outcome: every transfer succeeded" : "Outcome: FAILED");
    ImGui::PopStyleColor();
    for (const auto& t : o.transfers)
        ImGui::BulletText("%s %s: %s, reply %d, %llu bytes", t.command.c_str(), t.path.c_str(), t.ok ? "ok" : "failed",
                          t.reply, static_cast<unsigned long long>(t.bytes));
    if (!o.limit_reached.empty()) text_at_spaces("Stopped early: " + o.limit_reached);
    std::size_t fix_index = 0;
    for (const auto& d : o.diagnosis) {
        ImGui::Separator();
        text_at_spaces("What happened: " + d.what);
        ImGui::Spacing();
        text_at_spaces("Why: " + d.cause);
        // the events the finding rests on: "see step N" jumps there
        for (std::size_t k = 0; k < d.evidence.size(); ++k) {
            const std::size_t st = s.step_of_seq(d.evidence[k]);
            if (st == SIZE_MAX) continue;
            const std::string label = "see step " + std::to_string(st + 1) + "##ev" + std::to_string(fix_index) + "-" + std::to_string(k);
            if (k) ImGui::SameLine();
            if (ImGui::SmallButton(label.c_str())) s.go_to_step(st);
        }
        if (!d.fixes.empty()) ImGui::TextUnformatted("Fixes:");
        for (const auto& f : d.fixes) {
            ImGui::PushID(static_cast<int>(fix_index));
            const bool clicked = ImGui::Button("Apply");
            if (probing(ctx, "fix:")) locate(ctx, "fix:" + std::to_string(fix_index));
            if (clicked) {
                const std::size_t i = fix_index;
                ImGui::PopID();
                s.apply_fix(i);
                return;
            }
            ImGui::SameLine();
            text_at_spaces(f.description + (f.verified ? "  (verified)" : ""));
            if (ImGui::IsItemHovered() && !f.change.empty()) ImGui::SetTooltip("%s", f.change.c_str());
            ImGui::PopID();
            ++fix_index;
        }
    }
    if (o.diagnosis.empty() && !o.ok) ImGui::TextDisabled("No diagnosis in this trace.");
    if (!s.trace().model_notes.empty()) {
        ImGui::Separator();
        ImGui::TextDisabled("Model notes:");
        for (const auto& n : s.trace().model_notes) ImGui::BulletText("%s", n.c_str());
    }
}

void tables_panel(GuiState& s) {
    const TablesAt& tables = s.tables();
    ImGui::TextDisabled("At the current step (%s)", s.step_title().c_str());
    auto section = [](const char* title, std::size_t n) {
        ImGui::Spacing();
        ImGui::Text("%s (%zu)", title, n);
    };
    section("NAT mappings", tables.nat.size());
    for (const auto& r : tables.nat) {
        ImGui::BulletText("%s %s", r.node.c_str(), r.kind.c_str());
        ImGui::Indent();
        ImGui::Text("inside   %s", r.inside.c_str());
        ImGui::Text("outside  %s", r.outside.c_str());
        ImGui::Unindent();
    }
    section("Connection tracking", tables.conntrack.size());
    for (const auto& r : tables.conntrack) {
        ImGui::BulletText("%d %s  %s", r.conn, r.purpose.c_str(), r.state.c_str());
        ImGui::Indent();
        const auto arrow = r.tuple.find(" -> ");
        ImGui::TextUnformatted(r.tuple.substr(0, arrow).c_str());
        if (arrow != std::string::npos) ImGui::Text("-> %s", r.tuple.substr(arrow + 4).c_str());
        ImGui::Unindent();
    }
    section("ALG expectations", tables.expectations.size());
    for (const auto& r : tables.expectations) {
        ImGui::Bullet();
        text_at_spaces(r.node + ": " + r.text);
    }
    section("Drops, rejects and rule hits", tables.hits.size());
    for (const auto& r : tables.hits) {
        ImGui::Bullet();
        ImGui::TextWrapped("%s  %s: %s%s%s", viz::format_time(r.time_ns).c_str(), r.node.c_str(), r.text.c_str(),
                           r.reason.empty() ? "" : " - ", r.reason.c_str());
    }
}

struct ExportState {
    std::string dir = ".";
};

void export_panel(GuiState& s, UiContext& ctx) {
    static ExportState ex;
    ImGui::TextUnformatted("Folder");
    ImGui::SetNextItemWidth(-FLT_MIN);
    ImGui::InputText("##dir", &ex.dir);
    const std::string base = (ex.dir.empty() ? std::string(".") : ex.dir) + "/" +
                             (s.scenario().empty() ? std::string("trace") : s.scenario());
    const float w = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
    int n = 0;
    for (const auto& e : viz::exporters()) {  // one button per exporter (viz/export.cpp's table)
        if (n++ % 2) ImGui::SameLine();
        const std::string label(e.label);
        if (ImGui::Button(label.c_str(), ImVec2(w, 0))) s.export_file(base + "." + std::string(e.extensions.front()));
    }
    if (ImGui::Button("PNG of this window", ImVec2(-FLT_MIN, 0)) && ctx.screenshot) {
        ctx.screenshot(base + ".png");
        s.status = "Wrote " + base + ".png";
    }
    ImGui::TextDisabled("Files are named %s.<ext>", base.c_str());
}

// ---- the ladder ----------------------------------------------------------------------------

void tooltip(GuiState& s, UiContext& ctx, const LadderHit& hit) {
    ImGui::BeginTooltip();
    if (hit.item != SIZE_MAX) {
        const auto& th = theme(s.view.theme);
        if (ctx.mono) ImGui::PushFont(ctx.mono);
        std::istringstream lines(item_details(s.trace(), s.diagram(), hit.item));
        for (std::string line; std::getline(lines, line);) {
            const bool mark = line.find("(changed)") != std::string::npos;
            const bool bad = line.find("DROPPED") != std::string::npos || line.find("REJECTED") != std::string::npos;
            if (mark || bad) ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(bad ? th.drop : th.data));
            ImGui::TextUnformatted(line.c_str());
            if (mark || bad) ImGui::PopStyleColor();
        }
        if (ctx.mono) ImGui::PopFont();
        const auto& it = s.diagram().items[hit.item];
        if (is_ftp_line(it)) {
            ImGui::PushTextWrapPos(ImGui::GetFontSize() * 32);
            if (auto code = proto::reply_code_of(it.label)) ImGui::TextUnformatted(proto::reply_explanation_text(*code).c_str());
            if (auto dec = proto::decoded_endpoint(it.label); !dec.empty()) ImGui::Text("Data port: %s", dec.c_str() + 2);
            ImGui::PopTextWrapPos();
        }
        ImGui::TextDisabled("Click: make this the current step");
    } else if (hit.fold_count) {
        ImGui::Text("%zu items folded here: zoom in (mouse wheel or +) to see them", hit.fold_count);
    } else if (hit.lane >= 0) {
        const auto& l = s.diagram().lanes[static_cast<std::size_t>(hit.lane)];
        ImGui::Text("%s  (%s, %s)", l.name.c_str(), l.kind.c_str(), l.role.c_str());
        for (const auto& a : l.addresses) ImGui::BulletText("%s", a.c_str());
    }
    ImGui::EndTooltip();
}

void ladder_canvas(GuiState& s, UiContext& ctx, ImVec2 size) {
    ImGuiIO& io = ImGui::GetIO();
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    size.x = std::max(size.x, 50.0f);
    size.y = std::max(size.y, 50.0f);
    s.view.canvas_min = p0;
    s.view.canvas_max = {p0.x + size.x, p0.y + size.y};
    s.view.scale = s.ui_scale;
    s.view.font = ImGui::GetFont();
    s.view.font_size = ImGui::GetFontSize();
    s.view.present = s.present;
    s.view.decode_endpoints = s.present;
    s.view.item_steps = &s.item_steps();
    s.view.reveal_step = s.reveal == Reveal::All || s.steps().empty() ? SIZE_MAX : s.step();
    s.view.ghost_future = s.reveal == Reveal::Ghost;
    // The zoom the app picks for the mode on a long diagram. Presentation: rows tall enough for
    // an FTP line above its arrow and its decoded endpoint below. Else legible: a compressed row
    // leaves room for an arrow's label (about two text lines).
    const auto& lo = s.diagram().options;
    const bool rows = lo.time == viz::TimeScale::Compressed && lo.row_height > 0;
    const float row_zoom = s.present ? 2.7f * std::max(s.view.font_size, s.view.min_ftp_px) : 2.0f * s.view.font_size;
    const float legible = rows ? std::min(s.present ? 100.0f : 1.0f, row_zoom / (static_cast<float>(lo.row_height) * s.view.scale)) : 0.6f;
    {
        // and at that zoom, rows as tall as their labels need (no label over another, nor over
        // a port number): measured for this canvas, redone when its width or the font changes
        View at = s.view;
        at.zoom = legible;
        if (s.give_rows_room(at)) s.step_changed_since_last_frame = true;
    }
    if (s.fit_pending && s.present) {
        s.view.zoom = rows ? legible : std::max(0.6f, fit_zoom(s.diagram(), s.view));
        s.view.pan = {0, 0};
        s.fit_pending = false;
        s.step_changed_since_last_frame = true;  // follow the current step
    }
    if (s.fit_pending) {
        // a readable start: the whole diagram if it fits at a legible zoom, else its top
        s.view.zoom = std::clamp(fit_zoom(s.diagram(), s.view), legible, 1.0f);
        s.view.pan = {0, 0};
        s.fit_pending = false;
    }
    if (s.zoom_from > 0) {
        // a zoom set from outside (a script): keep what is at the canvas centre there
        View before = s.view;
        before.zoom = s.zoom_from;
        const float centre = (s.view.canvas_min.y + s.view.canvas_max.y) * 0.5f;
        const double units = canvas_geometry(s.diagram(), before).units(centre);
        s.view.pan.y += centre - canvas_geometry(s.diagram(), s.view).y(units);
        s.zoom_from = 0;
    }
    ImGui::InvisibleButton("ladder", size, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
    const bool hovered = ImGui::IsItemHovered();
    const bool active = ImGui::IsItemActive();
    if (active && (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f) || ImGui::IsMouseDragging(ImGuiMouseButton_Right, 2.0f))) {
        s.view.pan.x += io.MouseDelta.x;
        s.view.pan.y += io.MouseDelta.y;
    }
    if (hovered && io.MouseWheel != 0) {
        if (io.KeyShift) s.view.pan.y += io.MouseWheel * ImGui::GetFontSize() * 4;  // Shift+wheel scrolls
        else zoom_at(s, std::pow(kZoomStep, io.MouseWheel), io.MousePos.y);
    }
    if (s.step_changed_since_last_frame) {
        ensure_step_visible(s);
        s.step_changed_since_last_frame = false;
    }
    clamp_pan(s);
    ctx.last_hit = hovered ? hit_test(s.diagram(), s.view, io.MousePos) : LadderHit{};
    s.view.hovered_item = ctx.last_hit.item;
    s.view.current_event = s.current_event();
    s.view.current_item = s.current_item();
    ctx.last_stats = draw_ladder(ImGui::GetWindowDrawList(), s.diagram(), s.view);
    if (hovered && ctx.last_hit && !ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f)) tooltip(s, ctx, ctx.last_hit);
    // a click (not a drag) on an item makes it the current step
    if (hovered && ImGui::IsMouseReleased(ImGuiMouseButton_Left) && ctx.last_hit.item != SIZE_MAX &&
        io.MouseDragMaxDistanceSqr[0] < 16.0f) {
        const std::size_t ev = s.diagram().items[ctx.last_hit.item].event;
        const auto& steps = s.steps();
        const auto it = std::find(steps.begin(), steps.end(), ev);
        if (it != steps.end()) s.go_to_step(static_cast<std::size_t>(it - steps.begin()));
        s.step_changed_since_last_frame = false;  // it is on screen: do not scroll
    }
}

// Widths of widgets before they are drawn, so the toolbar can wrap instead of running off.
float radio_w(const char* label) {
    return ImGui::GetFrameHeight() + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::CalcTextSize(label).x;
}
float button_w(const char* label) { return ImGui::CalcTextSize(label).x + ImGui::GetStyle().FramePadding.x * 2; }

// Continues the line when `w` more pixels fit (after a gap), else starts a new one.
void flow(float w, float gap = -1.0f) {
    const float spacing = gap >= 0 ? gap : ImGui::GetStyle().ItemSpacing.x;
    const float right = ImGui::GetItemRectMax().x + spacing + w;
    if (right <= ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x) ImGui::SameLine(0, spacing);
}

const char* reveal_name(Reveal r) { return r == Reveal::All ? "Later: shown" : r == Reveal::Ghost ? "Later: faded" : "Later: hidden"; }
void cycle_reveal(GuiState& s) {
    s.reveal = s.reveal == Reveal::All ? Reveal::Hide : s.reveal == Reveal::Hide ? Reveal::Ghost : Reveal::All;
}
void toggle_present(GuiState& s) { s.set_present(!s.present, ImGui::GetIO().DisplaySize.y); }

// Presentation, progressive reveal and the challenge: in the toolbar and in presentation mode's bar.
void classroom_buttons(GuiState& s) {
    const float sp = ImGui::GetStyle().ItemSpacing.x, group_gap = ImGui::GetFontSize() * 1.2f;
    const char* present = s.present ? "Exit presentation" : "Present";
    flow(button_w(present) + button_w("Later: hidden") + button_w("Challenge: off") + 2 * sp, group_gap);
    if (ImGui::Button(present)) toggle_present(s);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Presentation mode for a projector: the ladder takes the screen, FTP lines are large and whole (F5)");
    ImGui::SameLine();
    if (ImGui::Button(reveal_name(s.reveal))) cycle_reveal(s);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("What the ladder shows after the current step: everything, faded, or nothing (R)");
    ImGui::SameLine();
    if (ImGui::Button(s.challenge() ? "Challenge: on" : "Challenge: off")) s.set_challenge(!s.challenge());
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Before each reply and each data connection is shown, the class chooses what will happen (Q; answer with 1-4)");
}

void toolbar(GuiState& s) {
    const float sp = ImGui::GetStyle().ItemSpacing.x, group_gap = ImGui::GetFontSize() * 1.2f;
    auto opts = s.layout_options();
    bool relayout = false;
    int view = opts.view == viz::View::PerHop ? 0 : 1;
    relayout |= ImGui::RadioButton("Per hop", &view, 0);
    ImGui::SameLine();
    relayout |= ImGui::RadioButton("End to end", &view, 1);
    flow(radio_w("Compressed") + sp + radio_w("To scale"), group_gap);
    int time = opts.time == viz::TimeScale::Compressed ? 0 : 1;
    relayout |= ImGui::RadioButton("Compressed", &time, 0);
    ImGui::SameLine();
    relayout |= ImGui::RadioButton("To scale", &time, 1);
    flow(radio_w("Fold handshakes"), group_gap);
    relayout |= ImGui::Checkbox("Fold handshakes", &opts.fold_handshakes);
    flow(radio_w("Fold data"), group_gap);
    relayout |= ImGui::Checkbox("Fold data", &opts.fold_data);
    if (relayout) {
        opts.view = view == 0 ? viz::View::PerHop : viz::View::EndToEnd;
        opts.time = time == 0 ? viz::TimeScale::Compressed : viz::TimeScale::ToScale;
        s.set_layout(opts);
    }
    flow(button_w(" - ") + button_w(" + ") + button_w("Fit") + ImGui::CalcTextSize("100%").x + 3 * sp, group_gap);
    if (ImGui::Button(" - ")) zoom_centre(s, 1 / kZoomStep);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Zoom out (-, mouse wheel)");
    ImGui::SameLine();
    ImGui::Text("%3.0f%%", s.view.zoom * 100);
    ImGui::SameLine();
    if (ImGui::Button(" + ")) zoom_centre(s, kZoomStep);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Zoom in (+, mouse wheel)");
    ImGui::SameLine();
    if (ImGui::Button("Fit")) fit_all(s);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The whole diagram (F)");
    flow(button_w("Light") + button_w("A-") + button_w("A+") + button_w(">>") + 3 * sp, group_gap);
    if (ImGui::Button(s.view.theme == ThemeKind::Light ? "Dark" : "Light")) toggle_theme(s);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Switch the theme (T)");
    ImGui::SameLine();
    if (ImGui::Button("A-")) change_scale(s, -0.25f);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Smaller text (Ctrl+-)");
    ImGui::SameLine();
    if (ImGui::Button("A+")) change_scale(s, 0.25f);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Larger text for a projector (Ctrl+=)");
    ImGui::SameLine();
    if (ImGui::Button(s.sidebar ? "<<" : ">>")) s.sidebar = !s.sidebar;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Show or hide the side panel (Tab)");
    classroom_buttons(s);
}

void go(GuiState& s, std::size_t step, const char* none) {
    if (step == SIZE_MAX) s.status = none;
    else s.go_to_step(step);
}

void navigation_buttons(GuiState& s) {
    const float sp = ImGui::GetStyle().ItemSpacing.x;
    flow(button_w("< FTP") + button_w("FTP >") + button_w("Decision >") + button_w("Failure") + 3 * sp);
    if (ImGui::Button("< FTP")) go(s, s.prev_ftp_step(), "No FTP line before this step");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The previous FTP line ([)");
    ImGui::SameLine();
    if (ImGui::Button("FTP >")) go(s, s.next_ftp_step(), "No FTP line after this step");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The next FTP line (])");
    ImGui::SameLine();
    if (ImGui::Button("Decision >")) go(s, s.next_decision_step(), "No middlebox decision after this step");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The next NAT, firewall or ALG decision (M)");
    ImGui::SameLine();
    if (ImGui::Button("Failure")) go(s, s.failure_step(), "Nothing went wrong in this run");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The first thing that went wrong: a packet dropped or refused, or a negative reply (G)");
}

// The question for the class, over the ladder's bottom, with numbered answers; then whether the
// class was right.
void challenge_window(GuiState& s, const View& canvas) {
    if (!s.challenge()) return;
    const auto& q = s.pending();
    if (!q && s.feedback().empty()) return;
    const float w = std::min(canvas.canvas_max.x - canvas.canvas_min.x - 20.0f, ImGui::GetFontSize() * 36);
    // at the top of the ladder, under the lane headers: the current step is kept low, and the
    // answer appears there
    const float top = canvas.canvas_min.y + canvas_geometry(s.diagram(), canvas).header_h + 6.0f;
    ImGui::SetNextWindowPos(ImVec2((canvas.canvas_min.x + canvas.canvas_max.x) * 0.5f, top), ImGuiCond_Always, ImVec2(0.5f, 0.0f));
    ImGui::SetNextWindowSizeConstraints(ImVec2(w, 0), ImVec2(w, FLT_MAX));
    ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
    bg.w = 1.0f;
    ImGui::PushStyleColor(ImGuiCol_WindowBg, bg);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 2.0f);
    ImGui::Begin("##challenge", nullptr,
                 ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_AlwaysAutoResize |
                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing);
    ImGui::PushTextWrapPos(0.0f);
    if (q) {
        text_at_spaces(q->prompt);
        ImGui::Spacing();
        for (std::size_t i = 0; i < q->answers.size(); ++i) {
            const std::string label = std::to_string(i + 1) + "   " + q->answers[i];
            if (ImGui::Button(label.c_str(), ImVec2(-FLT_MIN, 0))) {
                s.answer(i + 1);
                break;
            }
        }
    } else {
        const auto& th = theme(s.view.theme);
        const bool right = s.feedback().rfind("Right", 0) == 0;
        ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(right ? th.ok : th.drop));
        text_at_spaces(s.feedback());
        ImGui::PopStyleColor();
    }
    ImGui::TextDisabled("Score %d/%d", s.score_right(), s.score_asked());
    ImGui::PopTextWrapPos();
    ImGui::End();
    ImGui::PopStyleVar();
    ImGui::PopStyleColor();
}

void playback_bar(GuiState& s) {
    const float bw = ImGui::GetFontSize() * 2.2f;
    if (ImGui::Button("|<", ImVec2(bw, 0))) s.go_to_step(0);
    ImGui::SameLine();
    if (ImGui::Button("<", ImVec2(bw, 0))) s.prev();
    ImGui::SameLine();
    if (ImGui::Button(s.playing ? "Pause" : "Play", ImVec2(bw * 2, 0))) s.playing = !s.playing;
    ImGui::SameLine();
    if (ImGui::Button(">", ImVec2(bw, 0))) s.next();
    ImGui::SameLine();
    if (ImGui::Button(">|", ImVec2(bw, 0))) s.go_to_step(s.last_step());
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(s.trace().outcome.ok ? "The last step (End)" : "The first thing that went wrong (End)");
    navigation_buttons(s);
    flow(ImGui::GetFontSize() * 7);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
    ImGui::SliderFloat("##speed", &s.speed, 0.25f, 20.0f, "%.2g steps/s", ImGuiSliderFlags_Logarithmic);
    int step = static_cast<int>(s.step()) + 1;
    const int n = std::max<int>(1, static_cast<int>(s.steps().size()));
    flow(ImGui::GetFontSize() * 10);
    ImGui::SetNextItemWidth(-FLT_MIN);
    if (ImGui::SliderInt("##scrub", &step, 1, n, "step %d")) s.go_to_step(static_cast<std::size_t>(std::max(1, step) - 1));
    ImGui::TextUnformatted(s.step_title().c_str());
    text_at_spaces(s.explanation());
}

// The current step told in plain sentences (the first line of the explanation), for
// presentation mode's bottom strip.
void narration_strip(GuiState& s) {
    std::string x = s.explanation();
    const auto nl = x.find('\n');
    if (nl != std::string::npos) x.resize(nl);
    text_at_spaces(x);
}

}  // namespace

ImU32 outcome_banner_colour(bool ok, ThemeKind k) {
    if (ok) return theme(k).ok;
    return k == ThemeKind::Dark ? IM_COL32(190, 30, 40, 255) : theme(k).drop;  // white text stays legible
}

void outcome_banner(const GuiState& s) {
    const auto& o = s.trace().outcome;
    if (o.transfers.empty() && o.diagnosis.empty() && !o.ok) return;  // nothing was run (an empty trace)
    std::string text = o.ok ? "OK" : "FAILED";
    if (!o.ok)
        for (const auto& t : o.transfers)
            if (!t.ok) {
                text += ": " + t.command + (t.reply ? " got " + std::to_string(t.reply) : std::string(" got no reply"));
                break;
            }
    const ImVec2 pad(ImGui::GetFontSize() * 0.5f, ImGui::GetStyle().FramePadding.y);
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const ImVec2 q(p.x + ts.x + pad.x * 2, p.y + ts.y + pad.y * 2);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(p, q, outcome_banner_colour(o.ok, s.view.theme), ImGui::GetStyle().FrameRounding);
    dl->AddText(ImVec2(p.x + pad.x, p.y + pad.y), IM_COL32(255, 255, 255, 255), text.c_str());
    ImGui::Dummy(ImVec2(q.x - p.x, q.y - p.y));
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%s", o.ok ? "Every transfer succeeded" : "A transfer failed: the Diagnosis panel says why");
    ImGui::SameLine(0, ImGui::GetFontSize());
    ImGui::AlignTextToFramePadding();
}

std::string wrap_at_spaces(const std::string& text, float width, ImFont* font, float size) {
    auto w = [&](const std::string& s) { return font->CalcTextSizeA(size, FLT_MAX, 0.0f, s.c_str(), s.c_str() + s.size()).x; };
    std::string out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t nl = std::min(text.find('\n', start), text.size());
        const std::string para = text.substr(start, nl - start);
        std::string line;
        std::size_t i = 0;
        bool first_word = true;
        while (i <= para.size()) {
            const std::size_t sp = std::min(para.find(' ', i), para.size());
            const std::string word = para.substr(i, sp - i);
            const std::string joined = first_word ? word : line + " " + word;
            if (!first_word && !word.empty() && w(joined) > width) {
                out += line + "\n";
                line = word;
            } else {
                line = joined;
            }
            first_word = false;
            i = sp + 1;
        }
        out += line;
        if (nl < text.size()) out += "\n";
        start = nl + 1;
    }
    return out;
}

std::string item_details(const trace::Trace& t, const viz::Diagram& d, std::size_t index) {
    if (index >= d.items.size()) return {};
    const auto& it = d.items[index];
    std::ostringstream out;
    if (it.kind != viz::ItemKind::Arrow) {
        out << (it.kind == viz::ItemKind::Break ? it.label : it.text) << "\n";
        if (it.event < t.events.size()) {
            const auto& e = t.events[it.event];
            out << "at " << viz::format_time(e.time_ns) << " on " << e.from << "  (" << trace::to_string(e.kind) << ")\n";
            if (!e.reason.empty()) out << "reason: " << e.reason << "\n";
        }
        return out.str();
    }
    const std::string purpose = connection_purpose(t, it.conn);
    out << it.label;
    if (!purpose.empty()) out << "   [" << purpose << " connection " << it.conn << "]";
    out << "\n";
    // every hop of this packet, in order: the addresses as sent and after each translation
    std::vector<const trace::Event*> hops;
    if (it.packet != 0) {
        for (const auto& e : t.events)
            if (e.packet == it.packet && e.kind == trace::EventKind::Segment) hops.push_back(&e);
    } else if (it.event < t.events.size()) {
        hops.push_back(&t.events[it.event]);
    }
    int n = 0;
    for (const auto* e : hops) {
        out << "hop " << ++n << ": " << e->from << " -> " << e->to << "   " << viz::format_time(e->time_ns);
        if (e->arrive_ns) out << " -> " << viz::format_time(e->arrive_ns);
        out << "\n";
        out << "  sent:  " << endpoint_text(e->src) << " -> " << endpoint_text(e->dst) << "\n";
        if (changed(e->src, e->src_after) || changed(e->dst, e->dst_after))
            out << "  after: " << endpoint_text(e->src_after) << " -> " << endpoint_text(e->dst_after) << "  (changed)\n";
        if (!e->flags.empty() || e->payload_len)
            out << "  TCP " << viz::flags_words(e->flags) << "  seq " << e->tcp_seq << "  ack " << e->tcp_ack << "  len "
                << e->payload_len << "\n";
        if (!e->payload.empty()) {
            std::string line = e->payload.substr(0, e->payload.find('\r'));
            if (line.size() > 80) line = line.substr(0, 77) + "...";
            out << "  payload: \"" << line << "\"\n";
        }
        if (e->verdict == trace::Verdict::Dropped) out << "  DROPPED: " << e->reason << "\n";
        else if (e->verdict == trace::Verdict::Rejected) out << "  REJECTED: " << e->reason << "\n";
        else if (!e->reason.empty()) out << "  (" << e->reason << ")\n";
    }
    if (!it.label_after.empty()) out << "received as: " << it.label_after << "  (changed)\n";
    if (hops.empty() && !it.text.empty()) out << it.text << "\n";
    return out.str();
}

void handle_shortcuts(GuiState& s, UiContext& ctx) {
    ImGuiIO& io = ImGui::GetIO();
    if (io.WantTextInput) return;
    const bool ctrl = io.KeyCtrl;
    auto pressed = [](int key) { return ImGui::IsKeyPressed(key, true); };
    if (ctrl) {
        if (pressed(GLFW_KEY_EQUAL) || pressed(GLFW_KEY_KP_ADD)) change_scale(s, 0.25f);
        if (pressed(GLFW_KEY_MINUS) || pressed(GLFW_KEY_KP_SUBTRACT)) change_scale(s, -0.25f);
        if (pressed(GLFW_KEY_0)) change_scale(s, 0);
        if (pressed(GLFW_KEY_S) && ctx.screenshot) {
            const std::string path = "ftpsim-" + (s.scenario().empty() ? std::string("trace") : s.scenario()) + "-step" +
                                     std::to_string(s.step() + 1) + ".png";
            ctx.screenshot(path);
            s.status = "Wrote " + path;
        }
        return;
    }
    const float pan = ImGui::GetFontSize() * 3;
    if (pressed(GLFW_KEY_EQUAL) || pressed(GLFW_KEY_KP_ADD)) zoom_centre(s, kZoomStep);
    if (pressed(GLFW_KEY_MINUS) || pressed(GLFW_KEY_KP_SUBTRACT)) zoom_centre(s, 1 / kZoomStep);
    if (pressed(GLFW_KEY_UP)) s.view.pan.y += pan;
    if (pressed(GLFW_KEY_DOWN)) s.view.pan.y -= pan;
    if (pressed(GLFW_KEY_LEFT)) s.view.pan.x += pan;
    if (pressed(GLFW_KEY_RIGHT)) s.view.pan.x -= pan;
    if (pressed(GLFW_KEY_PAGE_UP)) s.view.pan.y += (s.view.canvas_max.y - s.view.canvas_min.y) * 0.8f;
    if (pressed(GLFW_KEY_PAGE_DOWN)) s.view.pan.y -= (s.view.canvas_max.y - s.view.canvas_min.y) * 0.8f;
    if (pressed(GLFW_KEY_SPACE)) s.playing = !s.playing;
    if (pressed(GLFW_KEY_PERIOD) || pressed(GLFW_KEY_N)) s.next();
    if (pressed(GLFW_KEY_COMMA) || pressed(GLFW_KEY_B)) s.prev();
    if (pressed(GLFW_KEY_HOME)) s.go_to_step(0);
    if (pressed(GLFW_KEY_END)) s.go_to_step(s.last_step());
    if (pressed(GLFW_KEY_F)) fit_all(s);
    if (pressed(GLFW_KEY_T)) toggle_theme(s);
    if (pressed(GLFW_KEY_V)) toggle_view(s, true);
    if (pressed(GLFW_KEY_C)) toggle_view(s, false);
    if (pressed(GLFW_KEY_TAB)) {
        if (s.present) s.overlay = !s.overlay;
        else s.sidebar = !s.sidebar;
    }
    if (pressed(GLFW_KEY_F5)) toggle_present(s);
    if (pressed(GLFW_KEY_ESCAPE) && s.present) toggle_present(s);
    if (pressed(GLFW_KEY_RIGHT_BRACKET)) go(s, s.next_ftp_step(), "No FTP line after this step");
    if (pressed(GLFW_KEY_LEFT_BRACKET)) go(s, s.prev_ftp_step(), "No FTP line before this step");
    if (pressed(GLFW_KEY_M)) go(s, s.next_decision_step(), "No middlebox decision after this step");
    if (pressed(GLFW_KEY_G)) go(s, s.failure_step(), "Nothing went wrong in this run");
    if (pressed(GLFW_KEY_R)) cycle_reveal(s);
    if (pressed(GLFW_KEY_Q)) s.set_challenge(!s.challenge());
    if (s.pending())
        for (int k = 0; k < 4; ++k)
            if (pressed(GLFW_KEY_1 + k)) s.answer(static_cast<std::size_t>(k + 1));
}

namespace {

void side_panel_contents(GuiState& s, UiContext& ctx) {
    // sections rather than tabs: their titles stay whole at a projector scale
    auto scroll_here = [&](const char* section) {
        if (s.show_section != section) return;
        ImGui::SetScrollHereY(0.0f);
        s.show_section.clear();
    };
    scroll_here("knobs");
    if (ImGui::CollapsingHeader("Scenario and knobs", ImGuiTreeNodeFlags_DefaultOpen)) scenario_panel(s, ctx);
    const bool failed = !s.trace().outcome.ok;
    if (failed) ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(theme(s.view.theme).drop));
    scroll_here("diagnosis");
    const bool open = ImGui::CollapsingHeader(failed ? "Diagnosis: failed###diag" : "Diagnosis: ok###diag",
                                              ImGuiTreeNodeFlags_DefaultOpen);
    if (failed) ImGui::PopStyleColor();
    if (open) diagnosis_panel(s, ctx);
    scroll_here("tables");
    if (ImGui::CollapsingHeader("NAT, conntrack, firewall", ImGuiTreeNodeFlags_DefaultOpen)) tables_panel(s);
    scroll_here("export");
    if (ImGui::CollapsingHeader("Export")) export_panel(s, ctx);
}

// Presentation mode: the title line, the ladder over the whole width, one bar of buttons and the
// narration below it; the side panel floats over the ladder's right side when asked for (Tab).
void present_layout(GuiState& s, UiContext& ctx) {
    const float line = ImGui::GetFrameHeightWithSpacing();
    // the buttons take one row on a wide screen, two on a narrow one; the narration two lines
    const float sp = ImGui::GetStyle().ItemSpacing.x;
    float buttons_w = ImGui::GetFontSize() * 2.0f * 4 + button_w("Pause") + button_w("< FTP") + button_w("FTP >") +
                      button_w("Decision >") + button_w("Failure") + ImGui::CalcTextSize("step 000/000").x +
                      button_w("Exit presentation") + button_w("Later: hidden") + button_w("Challenge: off") + button_w("Panel") +
                      16 * sp + ImGui::GetFontSize() * 3;
    const float rows = buttons_w > ImGui::GetContentRegionAvail().x ? 2.0f : 1.0f;
    // the narration at 85 % of the font: three lines of it
    const float bar_h = std::min(std::max(line * rows + ImGui::GetTextLineHeightWithSpacing() * 0.85f * 3.1f + ImGui::GetStyle().WindowPadding.y * 2,
                                          ctx.playback_content_h),
                                 ImGui::GetContentRegionAvail().y * 0.45f);
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
    ImGui::BeginChild("ladder", ImVec2(avail.x, std::max(100.0f, avail.y - bar_h)), true,
                      ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoMove);
    ImGui::PopStyleVar();
    ladder_canvas(s, ctx, ImGui::GetContentRegionAvail());
    ImGui::EndChild();
    ImGui::BeginChild("present-bar", ImVec2(avail.x, 0), true, ImGuiWindowFlags_NoScrollbar);
    const float bw = ImGui::GetFontSize() * 2.0f;
    if (ImGui::Button("|<", ImVec2(bw, 0))) s.go_to_step(0);
    ImGui::SameLine();
    if (ImGui::Button("<", ImVec2(bw, 0))) s.prev();
    ImGui::SameLine();
    if (ImGui::Button(s.playing ? "Pause" : "Play")) s.playing = !s.playing;
    ImGui::SameLine();
    if (ImGui::Button(">", ImVec2(bw, 0))) s.next();
    ImGui::SameLine();
    if (ImGui::Button(">|", ImVec2(bw, 0))) s.go_to_step(s.last_step());
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(s.trace().outcome.ok ? "The last step (End)" : "The first thing that went wrong (End)");
    navigation_buttons(s);
    const std::string step = s.steps().empty() ? std::string("no steps")
                                               : "step " + std::to_string(s.step() + 1) + "/" + std::to_string(s.steps().size());
    flow(ImGui::CalcTextSize(step.c_str()).x, ImGui::GetFontSize());
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(step.c_str());
    classroom_buttons(s);
    flow(button_w("Panel"));
    if (ImGui::Button("Panel")) s.overlay = !s.overlay;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The knobs, the diagnosis and the tables over the ladder (Tab)");
    ImGui::SetWindowFontScale(0.85f);
    narration_strip(s);
    ImGui::SetWindowFontScale(1.0f);
    ctx.playback_content_h = ImGui::GetCursorPosY() + ImGui::GetStyle().WindowPadding.y + 2.0f;
    ImGui::EndChild();

    if (s.overlay) {
        const View& v = s.view;
        const float w = std::min((v.canvas_max.x - v.canvas_min.x) * 0.4f, 420.0f * s.ui_scale);
        ImGui::SetNextWindowPos(ImVec2(v.canvas_max.x - w, v.canvas_min.y), ImGuiCond_Always);
        ImGui::SetNextWindowSize(ImVec2(w, v.canvas_max.y - v.canvas_min.y), ImGuiCond_Always);
        ImGui::SetNextWindowBgAlpha(0.95f);
        ImGui::Begin("Panel###overlay", &s.overlay,
                     ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                         ImGuiWindowFlags_NoSavedSettings);
        side_panel_contents(s, ctx);
        ImGui::End();
    }
}

}  // namespace

void draw_ui(GuiState& s, UiContext& ctx) {
    ImGuiIO& io = ImGui::GetIO();
    s.display_h = io.DisplaySize.y;
    s.advance(io.DeltaTime);
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(io.DisplaySize);
    const ImGuiWindowFlags root = ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                                  ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoBringToFrontOnFocus |
                                  ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse |
                                  ImGuiWindowFlags_NoSavedSettings;
    ImGui::Begin("ftpsim", nullptr, root);

    ctx.probe.found = ctx.probe.visible = false;
    // title line: the outcome banner (green OK / red FAILED, readable from the back of the room),
    // then the title of the run shown (the scenario's, and the knobs changed from it)
    outcome_banner(s);
    const std::string title = s.run_title();
    // wrapped, not cut at the window's edge: a long title is the scenario's lesson
    text_at_spaces(title);
    if (ImGui::IsItemHovered() && !s.trace().title.empty()) ImGui::SetTooltip("%s", s.trace().title.c_str());
    if (!s.status.empty()) {
        ImGui::SameLine(0, ImGui::GetFontSize() * 2);
        ImGui::TextDisabled("%s", s.status.c_str());
    }
    if (s.present) {
        present_layout(s, ctx);
        ImGui::End();
        challenge_window(s, s.view);
        return;
    }
    toolbar(s);

    const float avail_w = ImGui::GetContentRegionAvail().x;
    const float side_w = s.sidebar ? std::clamp(avail_w * 0.27f, 200.0f, 360.0f * s.ui_scale) : 0.0f;
    if (s.sidebar) {
        ImGui::BeginChild("sidebar", ImVec2(side_w, 0), true);
        side_panel_contents(s, ctx);
        ImGui::EndChild();
        ImGui::SameLine();
    }

    ImGui::BeginGroup();
    const float line = ImGui::GetFrameHeightWithSpacing();
    // room for the buttons and the explanation: as much as it took last frame, up to 45 % of the
    // height (then it scrolls)
    const float play_h = std::min(std::max(line + ImGui::GetTextLineHeightWithSpacing() * 5.6f + ImGui::GetStyle().WindowPadding.y * 2,
                                           ctx.playback_content_h),
                                  ImGui::GetContentRegionAvail().y * 0.45f);
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
    ImGui::BeginChild("ladder", ImVec2(avail.x, std::max(100.0f, avail.y - play_h)), true,
                      ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoMove);
    ImGui::PopStyleVar();
    ladder_canvas(s, ctx, ImGui::GetContentRegionAvail());
    ImGui::EndChild();
    ImGui::BeginChild("playback", ImVec2(avail.x, 0), true);
    playback_bar(s);
    ctx.playback_content_h = ImGui::GetCursorPosY() + ImGui::GetStyle().WindowPadding.y + 2.0f;
    ImGui::EndChild();
    ImGui::EndGroup();
    ImGui::End();
    challenge_window(s, s.view);
}

}  // namespace ftpsim::gui
