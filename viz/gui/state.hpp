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
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ftpsim::gui {

// What the ladder shows of the steps after the current one (progressive reveal).
enum class Reveal { All, Ghost, Hide };

// A challenge put to the class before the next FTP reply or a data connection's fate is
// revealed: 3 or 4 answers built from the trace and from re-simulations with other knob values.
struct Question {
    std::size_t step = 0;              // the step it reveals
    std::string prompt;                // "What will the server answer to PORT 192,168,1,100,4,97?"
    std::vector<std::string> answers;  // as shown, numbered from 1
    std::size_t correct = 0;           // index into answers
    std::string key;                   // identifies it, so each is asked once
};

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
    // Compressed rows as tall as their labels need on this canvas (room_for_labels at `v`, the
    // zoom the app picks for the mode); recomputed only when the font, the canvas' width, the
    // mode or the diagram changed. True when the rows moved.
    bool give_rows_room(const View& v);
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
    // The next step; with the challenge on, a step that answers an open question is held back
    // until the class has answered (pending() then holds the question). False when held.
    bool next();
    void prev() { go_to_step(step_ > 0 ? step_ - 1 : 0); }
    // The playback step of each diagram item (items of a step share its index).
    const std::vector<std::uint32_t>& item_steps() const { return item_steps_; }

    // ---- navigation (SIZE_MAX: there is none) -----------------------------------------
    std::size_t next_ftp_step() const;       // the next step that carries an FTP line
    std::size_t prev_ftp_step() const;
    std::size_t next_decision_step() const;  // the next middlebox decision
    std::size_t failure_step() const;        // the first thing that went wrong
    // The step that draws the trace event with this `seq` (or the first after it).
    std::size_t step_of_seq(std::uint64_t seq) const;
    // The diagnosis' evidence ("see step N"), as steps, in the order of its findings.
    std::vector<std::size_t> evidence_steps() const;
    // *Last*: the first thing that went wrong when the run failed, else the last step.
    std::size_t last_step() const;

    // ---- presentation ------------------------------------------------------------------
    bool present = false;         // presentation mode (set_present)
    Reveal reveal = Reveal::All;  // what the ladder shows after the current step
    // Turns presentation mode on or off for a window `display_h` pixels high: the font grows to
    // at least 24 px (display_h / 28, at most 44), handshakes fold, later steps are hidden, the
    // side panel becomes an overlay; off restores what it changed.
    void set_present(bool on, float display_h);
    bool overlay = false;         // presentation mode: the side panel floats over the ladder

    // ---- challenge ---------------------------------------------------------------------
    bool challenge() const { return challenge_; }
    void set_challenge(bool on);
    const std::optional<Question>& pending() const { return pending_; }
    // Answers the pending question (1-based); reveals its step. False: no question or bad index.
    bool answer(std::size_t n);
    int score_right() const { return score_right_; }
    int score_asked() const { return score_asked_; }
    const std::string& feedback() const { return feedback_; }  // "Right: ..." / "No: ..."
    // The question that step `s` would raise, if any (for tests and the UI).
    std::optional<Question> question_for(std::size_t s);
    bool playing = false;
    float speed = 2.0f;  // steps per second
    void advance(float seconds);  // while playing
    bool step_changed_since_last_frame = false;

    // The middlebox tables at the current step (cached until the step or the trace changes).
    const TablesAt& tables() const;

    // What the current step means, for the explanation panel: one or two plain sentences
    // (narration.hpp), then the addresses on a second line.
    std::string explanation() const;
    // The title of the current run: the scenario's, and the knobs changed from its defaults.
    std::string run_title() const;
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
    float display_h = 800;    // the window's height (the UI sets it each frame; `present on` uses it)
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
    // diagram_ as laid out, before give_rows_room moved its rows down
    std::vector<std::pair<double, double>> base_y_;
    std::vector<double> base_ticks_, base_max_bottom_;
    double base_height_ = 0;
    std::string room_key_;
    std::vector<std::size_t> steps_;
    std::vector<std::size_t> step_items_;  // the first diagram item of each step
    std::vector<std::uint32_t> item_steps_;  // the step of each item
    Knobs default_knobs_;                  // the scenario's knobs as it was opened (values tidied)
    Knobs backend_defaults_;               // the same as the backend gave them (values as it wrote them)
    // knobs_ as the backend wrote them: a value left at its tidied default goes back in the
    // backend's own spelling, so a tidied "0" is never sent as a change from "0.000000"
    Knobs for_backend(const Knobs& k) const;
    // presentation mode: what it changed
    float saved_scale_ = 0;
    bool saved_sidebar_ = true, saved_fold_ = false;
    double saved_slant_ = 0.45;
    Reveal saved_reveal_ = Reveal::All;
    // challenge
    bool challenge_ = false;
    std::optional<Question> pending_;
    std::set<std::string> asked_;
    int score_right_ = 0, score_asked_ = 0;
    std::string feedback_;
    std::uint64_t alt_revision_ = 0;
    std::vector<trace::Trace> alt_traces_;  // re-simulations with other knob values
    void ensure_alternatives();
    std::size_t step_ = 0;
    float play_accum_ = 0;
    std::uint64_t revision_ = 0;
    mutable TablesAt tables_;
    mutable std::uint64_t tables_revision_ = 0;
    mutable std::size_t tables_event_ = SIZE_MAX;

    void relayout();
};

// The browser build: offers a file the app wrote (an export, a PNG) as a download (app.cpp).
void offer_download(const std::string& path);

}  // namespace ftpsim::gui
