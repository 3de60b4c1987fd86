// The teaching app's model, apart from any window: the backend, the chosen scenario and its
// knobs, the trace and its diagram, the view settings and the playback position. The ImGui
// panels (ui.hpp) and the scripted input both act through it, and tests drive it directly.
#pragma once

#include "viz/diagram.hpp"
#include "viz/gui/backend.hpp"
#include "viz/gui/ladder_canvas.hpp"
#include "viz/gui/script.hpp"
#include "viz/gui/tables.hpp"

#include <memory>
#include <string>
#include <vector>

namespace ftpsim::gui {

class GuiState {
public:
    explicit GuiState(std::shared_ptr<GuiBackend> backend);

    // ---- scenario and knobs ------------------------------------------------------------
    const std::vector<ScenarioInfo>& library() const { return library_; }
    const std::string& scenario() const { return knobs_.scenario; }
    bool select_scenario(const std::string& id);  // false: not in the library
    const Knobs& knobs() const { return knobs_; }
    bool set_knob(const std::string& name, const std::string& value);  // re-simulates on success
    bool apply_fix(std::size_t index);  // the n-th fix of the diagnosis, 0-based, over all diagnoses
    std::vector<trace::Fix> fixes() const;
    void resimulate();

    // ---- trace and diagram -------------------------------------------------------------
    const trace::Trace& trace() const { return trace_; }
    const viz::Diagram& diagram() const { return diagram_; }
    const viz::LayoutOptions& layout_options() const { return layout_; }
    void set_layout(const viz::LayoutOptions& o);
    void set_trace(trace::Trace t);  // shows a trace directly (no backend run)
    std::uint64_t revision() const { return revision_; }  // bumps on every new diagram

    // ---- playback ----------------------------------------------------------------------
    // The steps are the trace events the diagram draws, in diagram order.
    const std::vector<std::size_t>& steps() const { return steps_; }
    std::size_t step() const { return step_; }  // index into steps()
    std::size_t current_event() const;          // SIZE_MAX when there are no steps
    std::size_t current_item() const;           // the diagram item of the current step
    void go_to_step(std::size_t index);         // clamped to the last step
    void next() { go_to_step(step_ + 1); }
    void prev() { go_to_step(step_ > 0 ? step_ - 1 : 0); }
    bool playing = false;
    float speed = 2.0f;  // steps per second
    void advance(float seconds);  // while playing
    bool step_changed_since_last_frame = false;

    // The middlebox tables at the current step (cached until the step or the trace changes).
    const TablesAt& tables() const;

    // What the current step means, for the explanation panel (several lines).
    std::string explanation() const;
    std::string step_title() const;

    // Writes the current trace in the format its extension names (.svg .puml .mmd .msc .txt
    // .json .pcap) with the current view's layout; false with `status` saying why.
    bool export_file(const std::string& path);

    // ---- view --------------------------------------------------------------------------
    View view;                // canvas rect, zoom, pan, theme, scale (the UI fills the rect)
    float ui_scale = 1.25f;   // the projector scale; the app rebuilds the font when it changes
    float base_font_px = 18;  // font size at scale 1
    bool fonts_dirty = true;  // the app must rebuild the font atlas before the next frame
    bool fit_pending = true;  // fit the zoom to the canvas on the next frame
    float zoom_from = 0;      // > 0: the zoom changed from this; the UI keeps the canvas centre in place
    bool sidebar = true;
    std::string show_section;  // scroll the side panel to this section on the next frame (`show`)
    std::string status;       // last message for the status line (export done, bad knob, ...)

    // ---- scripted input ----------------------------------------------------------------
    // Runs one command; returns false with `error` set when it cannot. screenshot, hover, wait,
    // expect and quit are the app's, so they return true here and the app handles them. `set
    // knob` and `fix` act on the model directly here (for headless tests of the model); the app
    // carries them out by clicking the widgets instead (driver.hpp).
    bool run_command(const ScriptCommand& c, std::string& error);
    // `expect ...`: false with `error` saying what differs (the outcome, a knob, the step).
    bool check(const ScriptCommand& c, std::string& error) const;

private:
    std::shared_ptr<GuiBackend> backend_;
    std::vector<ScenarioInfo> library_;
    Knobs knobs_;
    trace::Trace trace_;
    viz::LayoutOptions layout_;
    viz::Diagram diagram_;
    std::vector<std::size_t> steps_;
    std::vector<std::size_t> step_items_;  // the first diagram item of each step
    std::size_t step_ = 0;
    float play_accum_ = 0;
    std::uint64_t revision_ = 0;
    mutable TablesAt tables_;
    mutable std::uint64_t tables_revision_ = 0;
    mutable std::size_t tables_event_ = SIZE_MAX;

    void relayout();
};

}  // namespace ftpsim::gui
