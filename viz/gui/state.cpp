#include "viz/gui/state.hpp"

#include "viz/export.hpp"
#include "viz/gui/tables.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <unordered_set>

namespace ftpsim::gui {

GuiState::GuiState(std::shared_ptr<GuiBackend> backend) : backend_(std::move(backend)) {
    if (!backend_) backend_ = std::shared_ptr<GuiBackend>(make_demo_backend());
    library_ = backend_->library();
    if (!library_.empty()) select_scenario(library_.front().id);
}

bool GuiState::select_scenario(const std::string& id) {
    const bool known = std::any_of(library_.begin(), library_.end(), [&](const auto& s) { return s.id == id; });
    if (!known) return false;
    knobs_ = backend_->knobs(id);
    resimulate();
    fit_pending = true;
    return true;
}

bool GuiState::set_knob(const std::string& name, const std::string& value) {
    if (!knobs_.set(name, value)) return false;
    resimulate();
    return true;
}

std::vector<trace::Fix> GuiState::fixes() const {
    std::vector<trace::Fix> out;
    for (const auto& d : trace_.outcome.diagnosis) out.insert(out.end(), d.fixes.begin(), d.fixes.end());
    return out;
}

bool GuiState::apply_fix(std::size_t index) {
    const auto all = fixes();
    if (index >= all.size()) return false;
    Knobs k = knobs_;
    // a fix may name several changes separated by ';' or ','
    std::string change = all[index].change;
    std::replace(change.begin(), change.end(), ',', ';');
    std::size_t start = 0;
    while (start <= change.size()) {
        const auto end = std::min(change.find(';', start), change.size());
        const std::string one = change.substr(start, end - start);
        if (one.find_first_not_of(" \t") != std::string::npos && !k.apply(one)) {
            status = "Cannot apply \"" + all[index].change + "\": this scenario has no such knob";
            return false;
        }
        start = end + 1;
    }
    knobs_ = k;
    resimulate();
    status = "Applied: " + all[index].description;
    return true;
}

void GuiState::resimulate() {
    set_trace(backend_->simulate(knobs_));
}

void GuiState::set_trace(trace::Trace t) {
    trace_ = std::move(t);
    relayout();
}

void GuiState::set_layout(const viz::LayoutOptions& o) {
    layout_ = o;
    relayout();
}

void GuiState::relayout() {
    // keep the playback position on the same trace event across re-layouts
    const std::size_t old_event = current_event();
    diagram_ = viz::layout(trace_, layout_);
    steps_.clear();
    step_items_.clear();
    std::unordered_set<std::size_t> seen;
    for (std::size_t i = 0; i < diagram_.items.size(); ++i) {
        const auto& it = diagram_.items[i];
        if (it.kind != viz::ItemKind::Break && it.event != SIZE_MAX && seen.insert(it.event).second) {
            steps_.push_back(it.event);
            step_items_.push_back(i);
        }
    }
    step_ = 0;
    if (old_event != SIZE_MAX)
        for (std::size_t i = 0; i < steps_.size(); ++i)
            if (steps_[i] <= old_event) step_ = i;
    ++revision_;
    step_changed_since_last_frame = true;
}

std::size_t GuiState::current_event() const { return step_ < steps_.size() ? steps_[step_] : SIZE_MAX; }
std::size_t GuiState::current_item() const { return step_ < step_items_.size() ? step_items_[step_] : SIZE_MAX; }

void GuiState::go_to_step(std::size_t index) {
    if (steps_.empty()) return;
    const std::size_t s = std::min(index, steps_.size() - 1);
    if (s != step_) step_changed_since_last_frame = true;
    step_ = s;
}

void GuiState::advance(float seconds) {
    if (!playing || steps_.empty()) return;
    play_accum_ += seconds * speed;
    while (play_accum_ >= 1.0f) {
        play_accum_ -= 1.0f;
        if (step_ + 1 >= steps_.size()) {
            playing = false;
            play_accum_ = 0;
            break;
        }
        next();
    }
}

const TablesAt& GuiState::tables() const {
    const std::size_t ev = current_event();
    if (tables_revision_ != revision_ || tables_event_ != ev) {
        tables_ = tables_at(trace_, ev == SIZE_MAX ? trace_.events.size() : ev);
        tables_revision_ = revision_;
        tables_event_ = ev;
    }
    return tables_;
}

std::string GuiState::step_title() const {
    if (steps_.empty()) return "No steps";
    const auto& e = trace_.events[current_event()];
    return "Step " + std::to_string(step_ + 1) + " of " + std::to_string(steps_.size()) + "   at " +
           viz::format_time(e.time_ns);
}

std::string GuiState::explanation() const {
    const std::size_t ev = current_event();
    if (ev == SIZE_MAX || ev >= trace_.events.size()) return {};
    const auto& e = trace_.events[ev];
    std::string out;
    using K = trace::EventKind;
    if (e.kind == K::Segment || e.kind == K::FtpCommand || e.kind == K::FtpReply || e.kind == K::DataBytes) {
        std::string purpose;
        for (const auto& c : trace_.connections)
            if (c.id == e.conn) purpose = c.purpose;
        out += e.from + " -> " + e.to + ": ";
        std::string label = e.kind == K::Segment ? viz::segment_label(e, purpose == "data" ? viz::Purpose::Data
                                                                         : purpose == "control"
                                                                             ? viz::Purpose::Control
                                                                             : viz::Purpose::None)
                                                 : e.text;
        out += label;
        if (!purpose.empty()) out += "   (" + purpose + " connection " + std::to_string(e.conn) + ")";
        out += "\n";
        out += "  from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst);
        if ((!e.src_after.addr.empty() && !(e.src_after == e.src)) ||
            (!e.dst_after.addr.empty() && !(e.dst_after == e.dst)))
            out += ";  translated to " + endpoint_text(e.src_after) + " -> " + endpoint_text(e.dst_after);
        out += "\n";
        if (e.verdict == trace::Verdict::Dropped) out += "  DROPPED: " + e.reason + "\n";
        if (e.verdict == trace::Verdict::Rejected) out += "  REJECTED: " + e.reason + "\n";
    } else {
        out += e.from + ": " + e.text + "\n";
        if (!e.reason.empty()) out += "  (" + e.reason + ")\n";
    }
    // the learner's explanation in force: the latest note at or before this event
    if (e.kind != K::Note)
        for (std::size_t i = ev + 1; i-- > 0;)
            if (trace_.events[i].kind == K::Note) {
                out += "Why: " + trace_.events[i].text + "\n";
                break;
            }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

bool GuiState::export_file(const std::string& path) {
    if (!viz::format_from_path(path)) {
        status = path + ": unknown format (use .svg .puml .mmd .msc .txt .json or .pcap)";
        return false;
    }
    viz::ExportOptions opts;
    opts.layout = layout_;
    std::string bytes;
    try {
        bytes = viz::export_for_path(trace_, path, opts);
    } catch (const std::exception& e) {
        status = path + ": export failed: " + e.what();
        return false;
    }
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) {
        status = path + ": cannot write the file";
        return false;
    }
    status = "Wrote " + path;
    return true;
}

namespace {
float number(const std::string& s) { return std::strtof(s.c_str(), nullptr); }
}  // namespace

bool GuiState::run_command(const ScriptCommand& c, std::string& error) {
    const auto& a = c.args;
    auto fail = [&](const std::string& why) {
        error = "\"" + c.text + "\": " + why;
        return false;
    };
    if (c.verb == "scenario") {
        if (!select_scenario(a[0])) return fail("no scenario \"" + a[0] + "\" in the library");
    } else if (c.verb == "set") {
        const auto eq = a[1].find('=');
        const std::string name = a[1].substr(0, eq), value = a[1].substr(eq + 1);
        if (!knobs_.find(name)) return fail("no knob \"" + name + "\" in scenario " + knobs_.scenario);
        if (!set_knob(name, value)) return fail("\"" + value + "\" is not a value of " + name);
    } else if (c.verb == "fix") {
        const int n = static_cast<int>(number(a[0]));
        if (n < 1 || !apply_fix(static_cast<std::size_t>(n - 1))) return fail("no applicable fix " + a[0]);
    } else if (c.verb == "step") {
        const int n = static_cast<int>(number(a[0]));
        go_to_step(n <= 1 ? 0 : static_cast<std::size_t>(n - 1));
    } else if (c.verb == "next") {
        next();
    } else if (c.verb == "prev") {
        prev();
    } else if (c.verb == "first") {
        go_to_step(0);
    } else if (c.verb == "last") {
        go_to_step(steps_.empty() ? 0 : steps_.size() - 1);
    } else if (c.verb == "play") {
        playing = true;
    } else if (c.verb == "pause") {
        playing = false;
    } else if (c.verb == "speed") {
        speed = std::clamp(number(a[0]), 0.1f, 100.0f);
    } else if (c.verb == "zoom") {
        const float z = number(a[0]);
        if (z <= 0) return fail("the zoom must be positive");
        if (zoom_from <= 0) zoom_from = view.zoom;
        view.zoom = z;
        fit_pending = false;
    } else if (c.verb == "pan") {
        view.pan.x += number(a[0]);
        view.pan.y += number(a[1]);
    } else if (c.verb == "fit") {
        fit_pending = true;
    } else if (c.verb == "view") {
        auto o = layout_;
        if (a[0] == "per-hop") o.view = viz::View::PerHop;
        else if (a[0] == "end-to-end") o.view = viz::View::EndToEnd;
        else return fail("expected per-hop or end-to-end");
        set_layout(o);
        fit_pending = true;
    } else if (c.verb == "time") {
        auto o = layout_;
        if (a[0] == "to-scale" || a[0] == "scale") o.time = viz::TimeScale::ToScale;
        else if (a[0] == "compressed") o.time = viz::TimeScale::Compressed;
        else return fail("expected to-scale or compressed");
        set_layout(o);
        fit_pending = true;
    } else if (c.verb == "theme") {
        if (a[0] == "light") view.theme = ThemeKind::Light;
        else if (a[0] == "dark") view.theme = ThemeKind::Dark;
        else return fail("expected light or dark");
        fonts_dirty = true;  // the style is re-applied with the fonts
    } else if (c.verb == "scale") {
        const float s = number(a[0]);
        if (s < 0.5f || s > 4.0f) return fail("the scale must be between 0.5 and 4");
        ui_scale = s;
        fonts_dirty = true;
    } else if (c.verb == "show") {
        sidebar = true;
        show_section = a[0];
    } else if (c.verb == "export") {
        if (!export_file(a[0])) return fail(status);
    }
    // hover, wait, screenshot, quit: the window's business
    return true;
}

bool GuiState::check(const ScriptCommand& c, std::string& error) const {
    if (c.verb != "expect" || c.args.size() != 2) return true;
    const std::string& what = c.args[0];
    const std::string& want = c.args[1];
    std::string got;
    if (what == "outcome") {
        got = trace_.outcome.ok ? "ok" : "failed";
    } else if (what == "knob") {
        const auto eq = want.find('=');
        const std::string name = want.substr(0, eq);
        if (!knobs_.find(name)) {
            error = "\"" + c.text + "\": no knob \"" + name + "\" in scenario " + knobs_.scenario;
            return false;
        }
        got = name + "=" + knobs_.get(name);
    } else if (what == "step") {
        got = std::to_string(steps_.empty() ? 0 : step_ + 1);
    }
    if (got == want) return true;
    error = "\"" + c.text + "\": the " + what + " is " + got + (what == "step" ? " of " + std::to_string(steps_.size()) : "");
    if (what == "outcome")
        for (const auto& t : trace_.outcome.transfers)
            error += "; " + t.command + " " + t.path + " " + (t.ok ? "ok" : "failed") + " with reply " + std::to_string(t.reply);
    return false;
}

}  // namespace ftpsim::gui
