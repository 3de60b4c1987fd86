#include "viz/gui/state.hpp"

#include "protocol/reply_codes.hpp"
#include "viz/export.hpp"
#include "viz/gui/narration.hpp"
#include "viz/gui/tables.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

namespace ftpsim::gui {

GuiState::GuiState(std::shared_ptr<GuiBackend> backend) : backend_(std::move(backend)) {
    if (!backend_) backend_ = std::make_shared<FixedTraceBackend>();  // an empty library
    library_ = backend_->library();
    if (!library_.empty()) select_scenario(library_.front().id);
}

bool GuiState::select_scenario(const std::string& id) {
    const bool known = std::any_of(library_.begin(), library_.end(), [&](const auto& s) { return s.id == id; });
    if (!known) return false;
    backend_defaults_ = backend_->knobs(id);
    knobs_ = backend_defaults_;
    for (auto& k : knobs_.knobs)
        if (k.choices.empty()) k.value = tidy_number(k.value);  // "0.000000" is shown as "0"
    default_knobs_ = knobs_;
    asked_.clear();
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
    // the fix's overrides, one --set each (older traces: the one string, split at ';' and ',')
    std::vector<std::string> sets = all[index].sets;
    if (sets.empty()) {
        std::string change = all[index].change;
        std::replace(change.begin(), change.end(), ',', ';');
        std::size_t start = 0;
        while (start <= change.size()) {
            const auto end = std::min(change.find(';', start), change.size());
            sets.push_back(change.substr(start, end - start));
            start = end + 1;
        }
    }
    for (const auto& one : sets)
        if (one.find_first_not_of(" \t") != std::string::npos && !k.apply(one)) {
            status = "Cannot apply \"" + all[index].change + "\": this scenario has no such knob";
            return false;
        }
    for (auto& kn : k.knobs)
        if (!knobs_.find(kn.name)) kn.help = "Added by the fix \"" + all[index].description + "\" (the scenario key " + kn.name + ").";
    knobs_ = k;
    resimulate();
    status = "Applied: " + all[index].description;
    return true;
}

Knobs GuiState::for_backend(const Knobs& k) const {
    Knobs out = k;
    for (auto& kn : out.knobs)
        if (const Knob* d = backend_defaults_.find(kn.name); d && kn.choices.empty() && kn.value == tidy_number(d->value))
            kn.value = d->value;
    return out;
}

void GuiState::resimulate() {
#ifdef __EMSCRIPTEN__
    // The browser build says how long a knob change took to re-simulate and lay out (the page's
    // console; bench/web-knob.mjs reads it). Wall time: for the benchmark only.
    const auto t0 = std::chrono::steady_clock::now();
    set_trace(backend_->simulate(for_backend(knobs_)));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("ftpsim: re-simulated %s in %.1f ms\n", knobs_.scenario.c_str(), ms);
#else
    set_trace(backend_->simulate(for_backend(knobs_)));
#endif
}

void GuiState::set_trace(trace::Trace t) {
    trace_ = std::move(t);
    pending_.reset();
    alt_traces_.clear();
    alt_revision_ = 0;
    relayout();
}

bool GuiState::give_rows_room(const View& v) {
    char key[256];
    std::snprintf(key, sizeof key, "%p %.3f %.3f %.3f %.3f %.3f %.3f %d %d %d", static_cast<const void*>(v.font), v.font_size, v.scale,
                  v.canvas_max.x - v.canvas_min.x, v.zoom, v.lane_spacing, v.min_ftp_px, v.present, v.decode_endpoints, v.ports);
    if (room_key_ == key) return false;
    room_key_ = key;
    // back to the rows as laid out, then as tall as this canvas needs
    for (std::size_t i = 0; i < diagram_.items.size() && i < base_y_.size(); ++i) {
        diagram_.items[i].y0 = base_y_[i].first;
        diagram_.items[i].y1 = base_y_[i].second;
    }
    for (std::size_t i = 0; i < diagram_.ticks.size() && i < base_ticks_.size(); ++i) diagram_.ticks[i].y = base_ticks_[i];
    diagram_.max_bottom = base_max_bottom_;
    diagram_.height = base_height_;
    apply_room(diagram_, room_for_labels(diagram_, v));
    return true;
}

void GuiState::set_layout(const viz::LayoutOptions& o) {
    layout_ = o;
    relayout();
}

void GuiState::relayout() {
    // keep the playback position on the same trace event across re-layouts
    const std::size_t old_event = current_event();
    diagram_ = viz::layout(trace_, layout_);
    base_y_.clear();
    for (const auto& it : diagram_.items) base_y_.emplace_back(it.y0, it.y1);
    base_ticks_.clear();
    for (const auto& t : diagram_.ticks) base_ticks_.push_back(t.y);
    base_max_bottom_ = diagram_.max_bottom;
    base_height_ = diagram_.height;
    room_key_.clear();
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
    item_steps_.assign(diagram_.items.size(), 0);
    {
        std::unordered_map<std::size_t, std::uint32_t> step_of;
        for (std::size_t i = 0; i < steps_.size(); ++i) step_of.emplace(steps_[i], static_cast<std::uint32_t>(i));
        std::uint32_t last = 0;
        for (std::size_t i = 0; i < diagram_.items.size(); ++i) {
            const auto f = step_of.find(diagram_.items[i].event);
            if (f != step_of.end() && diagram_.items[i].kind != viz::ItemKind::Break) last = f->second;
            item_steps_[i] = last;
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
        if (step_ + 1 >= steps_.size() || !next()) {
            playing = false;  // the end, or a question for the class
            play_accum_ = 0;
            break;
        }
    }
}

bool GuiState::next() {
    if (pending_ || steps_.empty() || step_ + 1 >= steps_.size()) return false;
    const std::size_t target = step_ + 1;
    if (challenge_) {
        auto q = question_for(target);
        if (q && !asked_.count(q->key)) {
            pending_ = std::move(q);
            playing = false;
            return false;
        }
    }
    go_to_step(target);
    return true;
}

// ---- navigation ------------------------------------------------------------------------------

std::size_t GuiState::next_ftp_step() const {
    for (std::size_t s = step_ + 1; s < steps_.size(); ++s)
        if (is_ftp_line(diagram_.items[step_items_[s]])) return s;
    return SIZE_MAX;
}

std::size_t GuiState::prev_ftp_step() const {
    for (std::size_t s = std::min(step_, steps_.size()); s-- > 0;)
        if (is_ftp_line(diagram_.items[step_items_[s]])) return s;
    return SIZE_MAX;
}

std::size_t GuiState::next_decision_step() const {
    for (std::size_t s = step_ + 1; s < steps_.size(); ++s)
        if (is_middlebox_decision(diagram_.items[step_items_[s]])) return s;
    return SIZE_MAX;
}

std::size_t GuiState::failure_step() const {
    // a packet that died comes first: it is the cause; a negative reply is often its consequence
    std::size_t reply = SIZE_MAX;
    for (std::size_t s = 0; s < steps_.size(); ++s) {
        const auto& it = diagram_.items[step_items_[s]];
        if (!went_wrong(trace_, it)) continue;
        if (is_ftp_reply(it)) {
            if (reply == SIZE_MAX) reply = s;
            continue;
        }
        return s;
    }
    return reply;
}

std::size_t GuiState::step_of_seq(std::uint64_t seq) const {
    // the step drawing that event, else the first step after it
    std::size_t best = SIZE_MAX;
    for (std::size_t s = 0; s < steps_.size(); ++s) {
        const auto& e = trace_.events[steps_[s]];
        if (e.seq == seq) return s;
        if (e.seq > seq && (best == SIZE_MAX || trace_.events[steps_[best]].seq > e.seq)) best = s;
    }
    return best;
}

std::vector<std::size_t> GuiState::evidence_steps() const {
    std::vector<std::size_t> out;
    for (const auto& d : trace_.outcome.diagnosis)
        for (auto seq : d.evidence)
            if (const std::size_t s = step_of_seq(seq); s != SIZE_MAX) out.push_back(s);
    return out;
}

std::size_t GuiState::last_step() const {
    if (steps_.empty()) return 0;
    if (!trace_.outcome.ok) {
        // the first thing that went wrong among the failed transfer's causes: the first drop or
        // refusal, else the first negative reply
        if (const std::size_t f = failure_step(); f != SIZE_MAX) return f;
    }
    return steps_.size() - 1;
}

// ---- presentation ----------------------------------------------------------------------------

void GuiState::set_present(bool on, float display_h) {
    if (on == present) return;
    auto o = layout_;
    if (on) {
        saved_scale_ = ui_scale;
        saved_sidebar_ = sidebar;
        saved_fold_ = o.fold_handshakes;
        saved_slant_ = o.slant;
        saved_reveal_ = reveal;
        const float px = std::clamp(display_h / 28.0f, 24.0f, 44.0f);
        ui_scale = std::clamp(std::ceil(px) / base_font_px, 0.5f, 4.0f);
        sidebar = false;
        overlay = false;
        o.fold_handshakes = true;
        o.slant = 0.2;
        o.under_line_height = o.row_height / 2.7;  // a row is 2.7 text lines high (ui.cpp): one more per line under it
        if (reveal == Reveal::All) reveal = Reveal::Hide;
    } else {
        ui_scale = saved_scale_ > 0 ? saved_scale_ : ui_scale;
        sidebar = saved_sidebar_;
        o.fold_handshakes = saved_fold_;
        o.slant = saved_slant_;
        o.under_line_height = 0;
        reveal = saved_reveal_;
        overlay = false;
    }
    present = on;
    fonts_dirty = true;
    fit_pending = true;
    set_layout(o);
}

// ---- challenge -------------------------------------------------------------------------------

void GuiState::set_challenge(bool on) {
    challenge_ = on;
    pending_.reset();
    if (on) {
        // the answer must not already be on the screen
        if (reveal == Reveal::All) reveal = Reveal::Hide;
        ensure_alternatives();
    }
}

void GuiState::ensure_alternatives() {
    if (alt_revision_ == revision_ && alt_revision_ != 0) return;
    alt_traces_.clear();
    // every other value of each knob with a few choices: what the class might expect instead
    constexpr std::size_t kMaxRuns = 4;
    for (const auto& k : knobs_.knobs) {
        if (k.choices.size() < 2 || k.choices.size() > 6) continue;
        for (const auto& c : k.choices) {
            if (c == k.value || alt_traces_.size() >= kMaxRuns) continue;
            Knobs alt = knobs_;
            if (!alt.set(k.name, c)) continue;
            alt_traces_.push_back(backend_->simulate(for_backend(alt)));
        }
    }
    alt_revision_ = revision_;
}

namespace {

std::string verb_word(const std::string& line) {
    std::string v;
    for (char c : line) {
        if (c == ' ') break;
        v += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return v;
}

// Replies a class might expect to each command (RFC 959 4.2 and 5.4), besides the real one.
std::vector<int> plausible_replies(const std::string& verb) {
    if (verb == "PORT" || verb == "EPRT") return {200, 500, 425, 501};
    if (verb == "PASV") return {227, 500, 425, 502};
    if (verb == "EPSV") return {229, 500, 522, 425};
    if (verb == "LIST" || verb == "NLST" || verb == "RETR") return {150, 425, 550, 226};
    if (verb == "STOR" || verb == "APPE") return {150, 425, 553, 452};
    if (verb == "USER") return {331, 230, 530};
    if (verb == "PASS") return {230, 530, 331};
    if (verb == "TYPE") return {200, 504, 500};
    if (verb == "SYST") return {215, 502, 500};
    if (verb == "QUIT") return {221, 500, 421};
    if (verb == "CWD") return {250, 550, 530};
    if (verb.empty()) return {220, 421, 120};  // the greeting
    return {200, 500, 502, 421};
}

std::string reply_choice(int code) {
    const auto e = proto::explain_reply(code);
    std::string m = e && !e->meaning.empty() ? std::string(e->meaning) : std::string();
    if (!m.empty() && m.back() == '.') m.pop_back();
    return std::to_string(code) + " " + m;
}

}  // namespace

std::optional<Question> GuiState::question_for(std::size_t s) {
    if (s >= steps_.size()) return std::nullopt;
    const viz::Item& it = diagram_.items[step_items_[s]];
    Question q;
    q.step = s;
    if (is_ftp_reply(it)) {
        // the command it answers: the latest command line drawn before it
        std::string command;
        std::size_t cmd_step = SIZE_MAX;
        for (std::size_t k = s; k-- > 0;) {
            const auto& c = diagram_.items[step_items_[k]];
            if (is_ftp_line(c) && !is_ftp_reply(c)) {
                command = c.label;
                cmd_step = k;
                break;
            }
        }
        q.key = "reply:" + std::to_string(cmd_step) + ":" + it.label;
        // the reply's first hop asks; its later hops repeat it
        for (std::size_t k = (cmd_step == SIZE_MAX ? 0 : cmd_step + 1); k < s; ++k)
            if (diagram_.items[step_items_[k]].label == it.label) return std::nullopt;
        const int code = *proto::reply_code_of(it.label);
        const std::string who = lane_phrase(diagram_, it.from_lane);
        q.prompt = command.empty() ? "What will " + who + " say first, when the control connection opens?"
                                   : "What will " + who + " answer to " + command + "?";
        std::vector<std::string> wrong;
        std::set<int> codes{code};
        // what the same command got in re-simulations with other knob values
        const std::string verb = verb_word(command);
        if (!verb.empty()) {
            ensure_alternatives();
            // which occurrence of this verb it is in the dialogue; what followed it in the others
            std::size_t nth = 0;
            const auto t_reply = it.event < trace_.events.size() ? trace_.events[it.event].time_ns : 0;
            for (const auto& l : ftp_dialogue(trace_))
                if (!l.reply && verb_word(l.line) == verb && l.time_ns < t_reply) ++nth;
            for (const auto& alt : alt_traces_) {
                std::size_t seen = 0;
                bool after = false;
                for (const auto& l : ftp_dialogue(alt)) {
                    if (!l.reply && verb_word(l.line) == verb) after = (++seen == nth);
                    else if (after && l.reply) {
                        if (auto c = proto::reply_code_of(l.line); c && codes.insert(*c).second) wrong.push_back(l.line);
                        break;
                    }
                }
            }
        }
        for (int c : plausible_replies(verb))
            if (wrong.size() < 3 && codes.insert(c).second) wrong.push_back(reply_choice(c));
        while (wrong.size() > 3) wrong.pop_back();
        std::size_t h = 0;
        for (char c : q.key) h = h * 31 + static_cast<unsigned char>(c);
        q.correct = h % (wrong.size() + 1);
        q.answers = wrong;
        q.answers.insert(q.answers.begin() + static_cast<std::ptrdiff_t>(q.correct), it.label);
        return q;
    }
    // a data connection's first packet: will it open?
    if (it.kind == viz::ItemKind::Arrow && it.purpose == viz::Purpose::Data && it.conn >= 0 &&
        (it.label == "SYN" || it.label == "TCP connect")) {
        q.key = "data:" + std::to_string(it.conn);
        for (std::size_t k = 0; k < s; ++k)
            if (diagram_.items[step_items_[k]].conn == it.conn) return std::nullopt;
        bool opened = false, dropped = false;
        for (const auto& o : diagram_.items) {
            if (o.conn != it.conn || o.kind != viz::ItemKind::Arrow) continue;
            if ((o.style == viz::Style::Data || o.label == "SYN, ACK" || o.label == "TCP connect") && o.end == viz::End::Arrow &&
                o.to_lane == it.from_lane)
                opened = true;
            if (o.style == viz::Style::Data && o.end == viz::End::Arrow) opened = true;
            if (o.end == viz::End::Cross) dropped = true;
        }
        q.prompt = "Will the data connection from " + lane_phrase(diagram_, it.from_lane) + " open?";
        q.answers = {"Yes: it opens and the data flows", "No: the SYN is dropped on the way",
                     "No: it is refused (RST)"};
        q.correct = opened ? 0 : dropped ? 1 : 2;
        return q;
    }
    return std::nullopt;
}

bool GuiState::answer(std::size_t n) {
    if (!pending_ || n < 1 || n > pending_->answers.size()) return false;
    const Question q = *pending_;
    pending_.reset();
    ++score_asked_;
    const bool right = n - 1 == q.correct;
    if (right) ++score_right_;
    feedback_ = (right ? "Right: " : "No, it is: ") + q.answers[q.correct];
    asked_.insert(q.key);
    go_to_step(q.step);
    return true;
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
    std::string out = narrate(trace_, diagram_, current_item());
    const auto& e = trace_.events[ev];
    using K = trace::EventKind;
    if (e.kind == K::Segment || e.kind == K::FtpCommand || e.kind == K::FtpReply || e.kind == K::DataBytes) {
        out += "\n" + e.from + " -> " + e.to + ":  " + endpoint_text(e.src) + " -> " + endpoint_text(e.dst);
        if ((!e.src_after.addr.empty() && !(e.src_after == e.src)) ||
            (!e.dst_after.addr.empty() && !(e.dst_after == e.dst)))
            out += ";  translated to " + endpoint_text(e.src_after) + " -> " + endpoint_text(e.dst_after);
        if (e.verdict == trace::Verdict::Dropped) out += "\n  DROPPED: " + e.reason;
        if (e.verdict == trace::Verdict::Rejected) out += "\n  REJECTED: " + e.reason;
    }
    return out;
}

std::string GuiState::run_title() const {
    std::string title = trace_.title.empty() ? knobs_.scenario : trace_.title;
    std::string changed;
    for (const auto& k : knobs_.knobs) {
        const Knob* d = default_knobs_.find(k.name);
        if (d && d->value == k.value) continue;
        changed += (changed.empty() ? "" : ", ") + (k.label.empty() ? k.name : k.label) + " = " + k.value;
    }
    if (!changed.empty()) title = "Changed from \"" + title + "\": " + changed;
    return title;
}

bool GuiState::export_file(const std::string& path) {
    if (!viz::find_exporter(path)) {
        status = path + ": unknown format (use " + viz::export_extensions() + ")";
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
#ifdef __EMSCRIPTEN__
    offer_download(path);  // in the browser the file is the page's: hand it to the user
#endif
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
        go_to_step(last_step());
    } else if (c.verb == "failure") {
        const std::size_t f = failure_step();
        if (f == SIZE_MAX) return fail("nothing went wrong in this run");
        go_to_step(f);
    } else if (c.verb == "next-ftp" || c.verb == "prev-ftp" || c.verb == "next-decision") {
        const std::size_t t = c.verb == "next-ftp" ? next_ftp_step() : c.verb == "prev-ftp" ? prev_ftp_step() : next_decision_step();
        if (t != SIZE_MAX) go_to_step(t);
    } else if (c.verb == "evidence") {
        const auto ev = evidence_steps();
        const int n = static_cast<int>(number(a[0]));
        if (n < 1 || static_cast<std::size_t>(n) > ev.size())
            return fail("the diagnosis has " + std::to_string(ev.size()) + " evidence step(s)");
        go_to_step(ev[static_cast<std::size_t>(n - 1)]);
    } else if (c.verb == "next-question") {
        if (!challenge_) return fail("the challenge is off (challenge on)");
        while (!pending_ && next()) {
        }
        if (!pending_) return fail("no question after this step");
    } else if (c.verb == "present") {
        set_present(a[0] == "on", display_h);
    } else if (c.verb == "reveal") {
        reveal = a[0] == "all" ? Reveal::All : a[0] == "ghost" ? Reveal::Ghost : Reveal::Hide;
    } else if (c.verb == "challenge") {
        set_challenge(a[0] == "on");
    } else if (c.verb == "answer") {
        if (!pending_) return fail("no question is waiting for an answer (use next to reach one)");
        const int n = static_cast<int>(number(a[0]));
        if (n < 1 || !answer(static_cast<std::size_t>(n)))
            return fail("expected an answer from 1 to " + std::to_string(pending_->answers.size()));
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
        if (present) overlay = true;
        else sidebar = true;
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
    } else if (what == "score") {
        got = std::to_string(score_right_) + "/" + std::to_string(score_asked_);
    } else if (what == "question") {
        got = pending_ ? "yes" : "no";
    }
    if (got == want) return true;
    error = "\"" + c.text + "\": the " + what + " is " + got + (what == "step" ? " of " + std::to_string(steps_.size()) : "");
    if (what == "outcome")
        for (const auto& t : trace_.outcome.transfers)
            error += "; " + t.command + " " + t.path + " " + (t.ok ? "ok" : "failed") + " with reply " + std::to_string(t.reply);
    return false;
}

}  // namespace ftpsim::gui
