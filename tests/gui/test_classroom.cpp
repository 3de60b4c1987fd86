// The classroom (issue #16): presentation mode's FTP lines on the draw list (never cut, at least
// 24 px high at 1280x720, the decoded endpoint under PORT/227), progressive reveal (nothing after
// the current step is drawn), the challenge's score, navigation to the first failure, and the
// reply-code registry. Headless (ImGui's core, no window); the library traces come from
// `ftpsim run ... --export x.json`.
#include "tests/gui/headless.hpp"
#include "tests/support/demo_backend.hpp"
#include "protocol/reply_codes.hpp"
#include "trace/json.hpp"
#include "viz/gui/narration.hpp"
#include "viz/gui/script.hpp"
#include "viz/gui/state.hpp"
#include "viz/gui/ui.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

using namespace ftpsim;
using ftpsim::gui::testing::HeadlessImGui;

namespace {

bool run_script(gui::GuiState& s, const std::string& text, std::string& error) {
    std::vector<gui::ScriptCommand> cmds;
    if (!gui::parse_script(text, cmds, error)) return false;
    for (const auto& c : cmds) {
        if (c.verb == "expect") {
            if (!s.check(c, error)) return false;
            continue;
        }
        if (!s.run_command(c, error)) return false;
    }
    return true;
}

// A library scenario's trace, simulated by the ftpsim binary and read back from its JSON export.
trace::Trace library_trace(const std::string& id, const std::string& extra = {}) {
    static std::map<std::string, trace::Trace> cache;
    const std::string key = id + extra;
    if (auto f = cache.find(key); f != cache.end()) return f->second;
    const auto json = std::filesystem::temp_directory_path() / ("ftpsim-classroom-" + std::to_string(getpid()) + "-" + id + ".json");
    const std::string cmd = std::string("'") + FTPSIM_BINARY + "' run '" + FTPSIM_SOURCE_DIR + "/scenarios/" + id + ".yaml' -q " +
                            extra + " --export '" + json.string() + "' >/dev/null 2>&1";
    const int rc = std::system(cmd.c_str());
    REQUIRE_MESSAGE(WIFEXITED(rc), cmd);
    std::ifstream in(json);
    std::stringstream text;
    text << in.rdbuf();
    std::filesystem::remove(json);
    REQUIRE_MESSAGE(!text.str().empty(), "no trace from: ", cmd);
    auto t = trace::from_json(text.str());
    t.scenario = id;
    cache[key] = t;
    return t;
}

std::shared_ptr<gui::GuiBackend> fixed(const trace::Trace& t) {
    auto b = std::make_shared<gui::FixedTraceBackend>();
    b->add(t);
    return b;
}

// The app's font in presentation mode for a window `h` pixels high (GuiState::set_present).
float present_font_px(float h) { return std::ceil(std::clamp(h / 28.0f, 24.0f, 44.0f)); }

void frames(gui::GuiState& s, gui::UiContext& ctx, int n = 2) {
    for (int i = 0; i < n; ++i) {
        ImGui::NewFrame();
        gui::draw_ui(s, ctx);
        ImGui::Render();
    }
}

std::size_t vertices_in_rect(ImVec2 a, ImVec2 b) {
    std::size_t n = 0;
    const ImDrawData* dd = ImGui::GetDrawData();
    for (int l = 0; l < dd->CmdListsCount; ++l)
        n += gui::testing::vertices_in(*dd->CmdLists[l], a, b);
    return n;
}

struct Checked {
    std::size_t labels = 0, decoded = 0, steps = 0;
    std::vector<std::string> decodes;
};

// Steps through the whole trace in presentation mode at w x h and checks every FTP line label
// the canvas draws: whole (the text drawn is the line), at least 24 px high, inside the canvas,
// really on the draw list, and with its decoded endpoint under it when it announces one.
Checked check_presentation(gui::GuiState& s, float w, float h) {
    HeadlessImGui im(w, h, present_font_px(h));
    s.fonts_dirty = false;
    gui::UiContext ctx;
    s.set_present(true, h);
    s.fonts_dirty = false;  // headless: the atlas is built at the presentation size already
    s.reveal = gui::Reveal::All;
    Checked c;
    frames(s, ctx);
    for (std::size_t step = 0; step < s.steps().size(); ++step) {
        s.go_to_step(step);
        frames(s, ctx);
        ++c.steps;
        const auto& st = ctx.last_stats;
        std::size_t ftp_drawn = 0;
        for (std::size_t i : st.drawn_items)
            if (gui::is_ftp_line(s.diagram().items[i])) ++ftp_drawn;
        CHECK(st.ftp_labels.size() == ftp_drawn);  // every FTP line drawn has its label
        // and no FTP line is covered by another one's label or the lines under its arrow
        auto overlap = [](ImVec2 a0, ImVec2 a1, ImVec2 b0, ImVec2 b1) {
            return a0.x < b1.x - 1 && b0.x < a1.x - 1 && a0.y < b1.y - 1 && b0.y < a1.y - 1;
        };
        for (std::size_t i = 0; i < st.ftp_labels.size(); ++i)
            for (std::size_t j = 0; j < st.ftp_labels.size(); ++j) {
                if (i == j) continue;
                const auto &x = st.ftp_labels[i], &y = st.ftp_labels[j];
                CAPTURE(x.full);
                CAPTURE(y.full);
                if (i < j) CHECK_FALSE(overlap(x.min, x.max, y.min, y.max));
                if (y.under_max.x > y.under_min.x) CHECK_FALSE(overlap(x.min, x.max, y.under_min, y.under_max));
            }
        for (const auto& l : st.ftp_labels) {
            CAPTURE(w);
            CAPTURE(h);
            CAPTURE(l.full);
            CHECK_FALSE(l.skipped);
            // wrapped lines are joined by one space, so the whole line is there, unshortened
            CHECK(l.shown == l.full);
            CHECK(l.size >= 24.0f);
            CHECK(l.min.x >= s.view.canvas_min.x - 0.5f);
            CHECK(l.max.x <= s.view.canvas_max.x + 0.5f);
            CHECK(vertices_in_rect(l.min, l.max) >= 4 * l.shown.size() / 2);  // the glyphs are on the draw list
            const std::string sent = s.diagram().items[l.item].label;
            if (!proto::decoded_endpoint(sent).empty()) {
                CHECK(l.decoded.rfind(proto::decoded_endpoint(sent), 0) == 0);
                c.decodes.push_back(l.decoded);
                ++c.decoded;
            }
            ++c.labels;
        }
    }
    s.set_present(false, h);
    return c;
}

}  // namespace

TEST_CASE("reply codes: the lecture deck's digits and RFC 959's meaning; decoded data ports") {
    const auto e = proto::explain_reply(227);
    REQUIRE(e);
    CHECK(e->first_digit.find("a new command can be sent") != std::string_view::npos);
    CHECK(e->second_digit == "control or data connection");
    CHECK(e->meaning == "Entering Passive Mode (h1,h2,h3,h4,p1,p2).");
    CHECK(e->source == "RFC 959");
    CHECK(proto::reply_explanation_text(425).find("Transient Negative reply: try again; x2z: control or data connection. RFC 959: "
                                                  "Can't open data connection.") != std::string::npos);
    CHECK(proto::explain_reply(530)->second_digit == "authentication");
    CHECK(proto::explain_reply(229)->source == "RFC 2428");
    CHECK_FALSE(proto::explain_reply(260));  // the second digit is 0 to 5
    CHECK_FALSE(proto::explain_reply(99));
    REQUIRE(proto::explain_reply(249));
    CHECK(proto::explain_reply(249)->meaning.empty());
    CHECK_FALSE(proto::explain_reply(299));  // a valid code nobody defined: digits only
    CHECK(proto::reply_code_of("150-Here it comes") == 150);
    CHECK_FALSE(proto::reply_code_of("PORT 1,2,3,4,5,6"));

    CHECK(proto::decoded_endpoint("227 Entering Passive Mode (192,168,150,90,195,149).") ==
          "= 192.168.150.90 port 195 x 256 + 149 = 50069");
    CHECK(proto::decoded_endpoint("PORT 192,168,1,100,4,97") == "= 192.168.1.100 port 4 x 256 + 97 = 1121");
    CHECK(proto::decoded_endpoint("EPRT |1|203.0.113.78|1121|") == "= 203.0.113.78 port 1121");
    CHECK(proto::decoded_endpoint("229 Entering Extended Passive Mode (|||6446|)") == "= port 6446 on the server's address");
    CHECK(proto::decoded_endpoint("PORT 1,2,3") == "");
    CHECK(proto::decoded_endpoint("200 PORT command successful") == "");
}

TEST_CASE("presentation mode: every FTP line whole, >= 24 px, with its decoded endpoint, at three projector sizes") {
    struct Case {
        std::string id;
        const char* view;
    };
    const std::vector<Case> cases{{"lecture-deck-passive-list", "end-to-end"},
                                  {"lecture-deck-passive-list", "per-hop"},
                                  {"home-router-alg-active-port-21", "per-hop"},
                                  {"home-router-alg-active-port-21", "end-to-end"},
                                  {"curl-vsftpd-cnat-off-active", "per-hop"}};
    bool deck_227 = false;
    for (const auto& c : cases) {
        CAPTURE(c.id);
        CAPTURE(c.view);
        gui::GuiState s(fixed(library_trace(c.id)));
        std::string error;
        REQUIRE(run_script(s, std::string("view ") + c.view, error));
        for (const auto& [w, h] : std::vector<std::pair<float, float>>{{1024, 768}, {1280, 720}, {1920, 1080}}) {
            const Checked r = check_presentation(s, w, h);
            CHECK(r.labels > 10);
            CHECK(r.decoded >= 1);
            for (const auto& d : r.decodes)
                if (d == "= 192.168.150.90 port 195 x 256 + 149 = 50069") deck_227 = true;
        }
    }
    CHECK(deck_227);  // the lecture deck's own worked example
}

TEST_CASE("progressive reveal: a scripted session draws nothing after the current step; ghosted shows it faded") {
    HeadlessImGui im(1280, 720, 26);
    gui::GuiState s(fixed(library_trace("lecture-deck-passive-list")));
    s.fonts_dirty = false;
    gui::UiContext ctx;
    std::string error;
    REQUIRE(run_script(s, "present on; first", error));
    s.fonts_dirty = false;
    CHECK(s.present);
    CHECK(s.reveal == gui::Reveal::Hide);
    frames(s, ctx);
    const auto& steps = s.item_steps();
    std::size_t checked = 0;
    for (std::size_t n = 0; n + 1 < s.steps().size(); ++n) {
        frames(s, ctx);
        {
            // the view follows the current step: its item is on the canvas
            const auto g = gui::canvas_geometry(s.diagram(), s.view);
            const auto& cur = s.diagram().items[s.current_item()];
            CHECK(g.y(cur.top()) >= s.view.canvas_min.y);
            CHECK(g.y(cur.bottom()) <= s.view.canvas_max.y);
        }
        // scrolled so that the canvas below the current step shows
        gui::scroll_to(s.diagram(), s.view, s.diagram().items[s.current_item()].top(), 0.3f);
        frames(s, ctx, 1);
        const auto& st = ctx.last_stats;
        for (std::size_t i : st.drawn_items) REQUIRE(steps[i] <= s.step());
        CHECK(st.future_ghosted == 0);
        // below the lowest item of the steps so far (and its labels), the canvas is empty
        const auto g = gui::canvas_geometry(s.diagram(), s.view);
        double bottom = 0;
        for (std::size_t i = 0; i < s.diagram().items.size(); ++i)
            if (steps[i] <= s.step()) bottom = std::max(bottom, s.diagram().items[i].bottom());
        const float below = g.y(bottom) + 3.2f * 26.0f;  // the decoded line under the last arrow
        if (below < s.view.canvas_max.y - 4) {
            // (inside the child window's rounded border)
            const ImVec2 a{s.view.canvas_min.x + 4, below}, b{s.view.canvas_max.x - 4, s.view.canvas_max.y - 4};
            const std::size_t n = vertices_in_rect(a, b);
            if (n) {
                const ImDrawData* dd = ImGui::GetDrawData();
                for (int l = 0; l < dd->CmdListsCount; ++l)
                    for (const ImDrawVert& v : dd->CmdLists[l]->VtxBuffer)
                        if (v.pos.x >= a.x && v.pos.x <= b.x && v.pos.y >= a.y && v.pos.y <= b.y)
                            MESSAGE("list ", l, " vertex ", v.pos.x, ",", v.pos.y, " colour ", v.col, " canvas ", s.view.canvas_min.x, ",",
                                    s.view.canvas_min.y, " - ", s.view.canvas_max.x, ",", s.view.canvas_max.y);
            }
            CHECK(n == 0);
            ++checked;
        }
        REQUIRE(run_script(s, "next", error));
    }
    CHECK(checked > 20);
    // the toggle: later steps drawn faded
    REQUIRE(run_script(s, "step 4; reveal ghost", error));
    frames(s, ctx);
    CHECK(ctx.last_stats.future_ghosted > 0);
    REQUIRE(run_script(s, "reveal all", error));
    frames(s, ctx);
    CHECK(ctx.last_stats.future_ghosted == 0);
    CHECK(ctx.last_stats.future_hidden == 0);
}

TEST_CASE("challenge: the class answers right and wrong, the score says so, and the reply is revealed") {
    auto s = gui::GuiState(std::shared_ptr<gui::GuiBackend>(gui::make_demo_backend()));
    std::string error;
    // active mode through the NAT without its ALG (the demo's default): re-simulated with the ALG on
    // and in passive mode for the other answers
    REQUIRE(run_script(s, "challenge on; first; expect score 0/0", error));
    CHECK(s.reveal == gui::Reveal::Hide);  // the answer must not be on the screen already
    auto advance_to_question = [&] {
        for (int i = 0; i < 1000 && !s.pending(); ++i)
            if (!s.next() && !s.pending()) return false;
        return s.pending().has_value();
    };
    REQUIRE(advance_to_question());
    const std::size_t held = s.step();
    const gui::Question q1 = *s.pending();
    CHECK(q1.answers.size() >= 3);
    CHECK(q1.answers.size() <= 4);
    CHECK(q1.step == held + 1);
    CHECK_FALSE(s.next());  // held until the class answers
    CHECK(s.step() == held);
    REQUIRE(run_script(s, "expect question yes; answer " + std::to_string(q1.correct + 1) + "; expect score 1/1", error));
    CHECK(s.step() == q1.step);  // revealed
    CHECK(s.feedback().rfind("Right", 0) == 0);
    CHECK(s.diagram().items[s.current_item()].label == q1.answers[q1.correct]);

    REQUIRE(advance_to_question());
    const gui::Question q2 = *s.pending();
    const std::size_t wrong = q2.correct == 0 ? 2 : 1;
    REQUIRE(run_script(s, "answer " + std::to_string(wrong) + "; expect score 1/2; expect question no", error));
    CHECK(s.feedback().find(q2.answers[q2.correct]) != std::string::npos);
    CHECK(s.step() == q2.step);
    CHECK_FALSE(run_script(s, "expect score 2/2", error));
    CHECK(error.find("the score is 1/2") != std::string::npos);
    CHECK_FALSE(run_script(s, "answer 1", error));  // nothing is asked now
    CHECK(error.find("no question") != std::string::npos);

    // the data connection's fate: asked once, and the demo's server SYN dies at the NAT
    bool data_question = false;
    for (int i = 0; i < 2000 && s.step() + 1 < s.steps().size(); ++i) {
        if (!s.next()) {
            REQUIRE(s.pending());
            if (s.pending()->key.rfind("data:", 0) == 0) {
                data_question = true;
                CHECK(s.pending()->answers[s.pending()->correct].find("dropped") != std::string::npos);
            }
            s.answer(s.pending()->correct + 1);
        }
    }
    CHECK(data_question);
    CHECK(s.score_right() == s.score_asked() - 1);
}

TEST_CASE("challenge: answers come from re-simulations with other knob values") {
    auto s = gui::GuiState(std::shared_ptr<gui::GuiBackend>(gui::make_demo_backend()));
    s.set_challenge(true);
    // the reply to PORT: the demo's server accepts it here; 500/425 are the other answers offered
    bool found = false;
    for (std::size_t i = 0; i < s.steps().size() && !found; ++i) {
        const auto q = s.question_for(i);
        if (!q || q->prompt.find("PORT") == std::string::npos) continue;
        found = true;
        std::set<std::string> codes;
        for (const auto& a : q->answers) codes.insert(a.substr(0, 3));
        CHECK(codes.size() == q->answers.size());
        CHECK(codes.count("500"));
        CHECK(codes.count(q->answers[q->correct].substr(0, 3)));
    }
    CHECK(found);
}

TEST_CASE("navigation: next/previous FTP line, the next decision, and Last at the first failure") {
    auto s = gui::GuiState(std::shared_ptr<gui::GuiBackend>(gui::make_demo_backend()));
    REQUIRE_FALSE(s.trace().outcome.ok);
    std::string error;
    REQUIRE(run_script(s, "first; next-ftp", error));
    CHECK(gui::is_ftp_line(s.diagram().items[s.current_item()]));
    const std::size_t first_ftp = s.step();
    REQUIRE(run_script(s, "next-ftp; prev-ftp", error));
    CHECK(s.step() == first_ftp);
    REQUIRE(run_script(s, "first; next-decision", error));
    CHECK(gui::is_middlebox_decision(s.diagram().items[s.current_item()]));
    REQUIRE(run_script(s, "failure", error));
    const std::size_t f = s.step();
    // the first thing that went wrong: the server's SYN to the private address, dropped
    CHECK(s.trace().events[s.current_event()].verdict == trace::Verdict::Dropped);
    for (std::size_t i = 0; i < f; ++i) {
        s.go_to_step(i);
        CHECK_FALSE(gui::went_wrong(s.trace(), s.diagram().items[s.current_item()]));
    }
    REQUIRE(run_script(s, "first; last", error));
    CHECK(s.step() == f);  // Last on a failed run: where it went wrong
    CHECK(s.explanation().find("dropped") != std::string::npos);
    CHECK(s.explanation().find("Why:") == std::string::npos);
    // once fixed, Last is the last step
    REQUIRE(run_script(s, "set knob clients.client.mode=pasv; last", error));
    REQUIRE(s.trace().outcome.ok);
    CHECK(s.step() + 1 == s.steps().size());
}

TEST_CASE("narration: replies explained by their code, PORT decoded, in the deck's words") {
    gui::GuiState s(fixed(library_trace("lecture-deck-passive-list")));
    std::string error;
    REQUIRE(run_script(s, "view end-to-end", error));
    bool saw_227 = false, saw_pasv = false;
    for (std::size_t i = 0; i < s.steps().size(); ++i) {
        s.go_to_step(i);
        const auto& it = s.diagram().items[s.current_item()];
        const std::string x = s.explanation();
        if (gui::is_ftp_reply(it) && it.label.rfind("227", 0) == 0) {
            saw_227 = true;
            CHECK(x.find("on the control connection") != std::string::npos);
            CHECK(x.find("RFC 959: Entering Passive Mode") != std::string::npos);
            CHECK(x.find("192.168.150.90 port 195 x 256 + 149 = 50069") != std::string::npos);
        }
        if (it.label == "PASV") {
            saw_pasv = true;
            CHECK(x.find("data port") != std::string::npos);
        }
    }
    CHECK(saw_227);
    CHECK(saw_pasv);
}

TEST_CASE("the run's title says which knobs changed from the scenario") {
    auto s = gui::GuiState(std::shared_ptr<gui::GuiBackend>(gui::make_demo_backend()));
    const std::string before = s.run_title();
    CHECK(before == s.trace().title);
    std::string error;
    REQUIRE(run_script(s, "set knob clients.client.mode=pasv", error));
    CHECK(s.run_title().find("Changed from") == 0);
    CHECK(s.run_title().find("= pasv") != std::string::npos);
}

TEST_CASE("classroom script verbs are checked before anything runs") {
    std::vector<gui::ScriptCommand> cmds;
    std::string error;
    CHECK(gui::parse_script("present on; reveal ghost; challenge on; answer 2; expect score 1/2; failure; next-ftp", cmds, error));
    CHECK_FALSE(gui::parse_script("present maybe", cmds, error));
    CHECK(error.find("present on|off") != std::string::npos);
    CHECK_FALSE(gui::parse_script("reveal some", cmds, error));
    CHECK_FALSE(gui::parse_script("answer two", cmds, error));
    CHECK_FALSE(gui::parse_script("expect score 12", cmds, error));
}

TEST_CASE("a knob a fix adds gets a human label and says where it came from") {
    CHECK(gui::knob_label("nodes.linksys.alg.ports") == "linksys: FTP ALG ports");
    CHECK(gui::knob_label("nodes.router.alg.enabled") == "router: FTP ALG");
    CHECK(gui::knob_label("servers.server.passive_ports") == "server: passive ports");
    CHECK(gui::knob_label("clients.client.mode") == "client: mode");
    gui::Knobs k;
    k.open_ended = true;
    REQUIRE(k.apply("nodes.linksys.alg.ports=21,2121"));
    REQUIRE(k.find("nodes.linksys.alg.ports"));
    CHECK(k.find("nodes.linksys.alg.ports")->label == "linksys: FTP ALG ports");
    CHECK(k.find("nodes.linksys.alg.ports")->help.find("nodes.linksys.alg.ports") != std::string::npos);
}

TEST_CASE("the diagnosis' evidence: 'see step N' goes to the step that draws the event") {
    trace::Trace t = library_trace("curl-vsftpd-cnat-off-active");
    REQUIRE(!t.outcome.diagnosis.empty());
    {
        // the simulator's diagnosis names its evidence, and each names a step
        gui::GuiState real(fixed(t));
        std::size_t n = 0;
        for (const auto& d : t.outcome.diagnosis) n += d.evidence.size();
        CHECK(n > 0);
        CHECK(real.evidence_steps().size() == n);
    }
    // the evidence as the typed diagnosis records it: the `seq` of the events a finding rests on
    std::uint64_t refused = 0;
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.payload.rfind("500", 0) == 0) {
            refused = e.seq;
            break;
        }
    REQUIRE(refused != 0);
    t.outcome.diagnosis[0].evidence = {refused};
    gui::GuiState s(fixed(t));
    const auto ev = s.evidence_steps();
    REQUIRE(ev.size() == 1);
    std::string error;
    REQUIRE(run_script(s, "first; evidence 1", error));
    CHECK(s.step() == ev[0]);
    CHECK(s.trace().events[s.current_event()].seq == refused);
    CHECK(s.diagram().items[s.current_item()].label.rfind("500", 0) == 0);
    CHECK_FALSE(run_script(s, "evidence 2", error));
    CHECK(error.find("1 evidence step") != std::string::npos);
}

// ---- what a class sees on a projector ------------------------------------------------------

namespace {

// The current step's item on screen: its top and bottom, and the ladder area below the headers.
struct StepOnScreen {
    float top = 0, bottom = 0, area_top = 0, area_bottom = 0;
};
StepOnScreen step_on_screen(const gui::GuiState& s) {
    const auto g = gui::canvas_geometry(s.diagram(), s.view);
    const auto& it = s.diagram().items[s.current_item()];
    return {g.y(it.top()), g.y(it.bottom()), s.view.canvas_min.y + g.header_h, s.view.canvas_max.y};
}

// A backend with one scenario whose free-text knobs are written as std::to_string writes a
// double; it records the knob values each run was asked for.
struct PrintedDoubleBackend : gui::GuiBackend {
    trace::Trace t;
    std::vector<gui::Knobs> runs;
    std::vector<gui::ScenarioInfo> library() override { return {{"lossy", "A lossy link", "Test", ""}}; }
    gui::Knobs knobs(const std::string& id) override {
        gui::Knobs k;
        k.scenario = id;
        k.knobs.push_back({"links.0.loss", "client - router: loss", {}, std::to_string(0.0), "Probability"});
        k.knobs.push_back({"links.1.loss", "router - server: loss", {}, std::to_string(0.02), "Probability"});
        k.knobs.push_back({"links.0.latency", "client - router: latency", {}, "20ms", ""});
        return k;
    }
    trace::Trace simulate(const gui::Knobs& k) override {
        runs.push_back(k);
        return t;
    }
};

}  // namespace

TEST_CASE("step 1 is at the top of the ladder, with no empty band above it, at three sizes in both modes") {
    const trace::Trace t = library_trace("home-router-alg-active-port-2121-fails");
    for (const bool present : {false, true})
        for (const auto& [w, h] : std::vector<std::pair<float, float>>{{1024, 768}, {1280, 720}, {1920, 1080}}) {
            CAPTURE(present);
            CAPTURE(w);
            HeadlessImGui im(w, h, present ? present_font_px(h) : 22.5f);
            gui::GuiState s(fixed(t));
            s.fonts_dirty = false;
            gui::UiContext ctx;
            if (present) s.set_present(true, h);
            s.fonts_dirty = false;
            std::string error;
            REQUIRE(run_script(s, "first", error));
            frames(s, ctx, 3);
            StepOnScreen at = step_on_screen(s);
            // the first event's row is in the top part of the ladder area, not halfway down
            CHECK(at.top >= at.area_top);
            CHECK(at.top - at.area_top <= (at.area_bottom - at.area_top) * 0.25f);
            CHECK(s.view.pan.y <= 0.0f);
            // stepping on and back to the start: still no band above the first row
            for (int i = 0; i < 30; ++i) {
                REQUIRE(run_script(s, "next", error));
                frames(s, ctx, 1);
                at = step_on_screen(s);
                CHECK(at.top >= at.area_top - 1);
                CHECK(at.bottom <= at.area_bottom + 1);
                CHECK(s.view.pan.y <= 0.0f);
            }
            REQUIRE(run_script(s, "first", error));
            frames(s, ctx, 2);
            at = step_on_screen(s);
            CHECK(at.top - at.area_top <= (at.area_bottom - at.area_top) * 0.25f);
        }
}

TEST_CASE("knob values read as numbers: 0.000000 is shown as 0, a loss probability as a percentage") {
    CHECK(gui::tidy_number("0.000000") == "0");
    CHECK(gui::tidy_number("0.020000") == "0.02");
    CHECK(gui::tidy_number("-1.50") == "-1.5");
    CHECK(gui::tidy_number("-0.000") == "0");
    CHECK(gui::tidy_number("12") == "12");
    CHECK(gui::tidy_number("100.") == "100.");  // not a plain decimal: unchanged
    CHECK(gui::tidy_number("20ms") == "20ms");
    CHECK(gui::tidy_number("1.0e-3") == "1.0e-3");
    CHECK(gui::tidy_number("") == "");
    CHECK(gui::tidy_number(".5") == ".5");
    gui::Knob loss{"links.0.loss", "loss", {}, "0.000000", ""};
    CHECK(gui::knob_value_note(loss) == "= 0 %");
    loss.value = "0.02";
    CHECK(gui::knob_value_note(loss) == "= 2 %");
    loss.value = "0.005";
    CHECK(gui::knob_value_note(loss) == "= 0.5 %");
    loss.value = "lots";
    CHECK(gui::knob_value_note(loss) == "");
    loss.value = "2";  // not a probability
    CHECK(gui::knob_value_note(loss) == "");
    CHECK(gui::knob_value_note({"links.0.latency", "latency", {}, "20ms", ""}) == "");
    CHECK(gui::knob_value_note({"nodes.r.lossy", "", {}, "0.5", ""}) == "");

    // the app's knobs are the tidied values; the backend still gets its own spelling back for an
    // unchanged knob, so nothing counts as changed and the run's title does not say so
    auto b = std::make_shared<PrintedDoubleBackend>();
    b->t = library_trace("lossy-link-retransmissions");
    gui::GuiState s(b);
    CHECK(s.knobs().get("links.0.loss") == "0");
    CHECK(s.knobs().get("links.1.loss") == "0.02");
    CHECK(s.knobs().get("links.0.latency") == "20ms");
    REQUIRE(!b->runs.empty());
    CHECK(b->runs.back().get("links.0.loss") == "0.000000");
    CHECK(b->runs.back().get("links.1.loss") == "0.020000");
    CHECK(s.run_title().find("Changed from") == std::string::npos);
    REQUIRE(s.set_knob("links.0.loss", "0.05"));
    CHECK(b->runs.back().get("links.0.loss") == "0.05");
    CHECK(b->runs.back().get("links.1.loss") == "0.020000");
    CHECK(s.run_title().find("loss = 0.05") != std::string::npos);
}

TEST_CASE("FTP lines are whole and never cover a port number, in presentation mode and in the usual view") {
    for (const std::string id : {"home-router-alg-active-port-2121-fails", "nat64-no-alg-eprt", "lecture-deck-active-list",
                                 "curl-vsftpd-cnat-off-active"}) {
        gui::GuiState s(fixed(library_trace(id)));
        for (const bool present : {true, false})
            for (const auto& [w, h] : std::vector<std::pair<float, float>>{{1024, 768}, {1280, 720}, {1920, 1080}}) {
                HeadlessImGui im(w, h, present ? present_font_px(h) : 22.5f);
                s.fonts_dirty = false;
                gui::UiContext ctx;
                if (present) s.set_present(true, h);
                s.fonts_dirty = false;
                s.fit_pending = true;
                s.reveal = gui::Reveal::All;
                std::size_t ports_checked = 0, lines_checked = 0, announcements = 0, whole = 0;
                for (std::size_t step = 0; step < s.steps().size(); ++step) {
                    s.go_to_step(step);
                    frames(s, ctx, 1);
                    for (const auto& l : ctx.last_stats.ftp_labels) {
                        CAPTURE(id);
                        CAPTURE(present);
                        CAPTURE(w);
                        CAPTURE(l.full);
                        // drawn, and whole where it carries the lesson's numbers (a line that
                        // would cover a data connection's port number keeps to its lifelines)
                        CHECK_FALSE(l.skipped);
                        if (!present && !proto::decoded_endpoint(s.diagram().items[l.item].label).empty()) {
                            CHECK(l.shown == l.full);
                            ++announcements;
                        }
                        if (l.shown == l.full) ++whole;
                        ++lines_checked;
                        for (const auto& p : ctx.last_stats.ports) {
                            // its own arrow's port numbers (every other one: the layout test below)
                            if (p.item != l.item) continue;
                            CAPTURE(p.port);
                            CHECK_FALSE((l.min.x < p.max.x - 1 && p.min.x < l.max.x - 1 && l.min.y < p.max.y - 1 && p.min.y < l.max.y - 1));
                            ++ports_checked;
                        }
                    }
                }
                CHECK(lines_checked > 20);
                CHECK(ports_checked > 20);
                if (!present) CHECK(announcements > 0);
                CHECK(whole >= lines_checked * 9 / 10);
                if (present) s.set_present(false, h);
            }
    }
}

TEST_CASE("sentences wrap at spaces only: an address or a PORT argument is never cut in two") {
    HeadlessImGui im(1024, 768, 22);
    ImFont* f = im.font();
    const std::string text = "The addresses change on this hop: 203.0.113.10:21 -> 203.0.113.1:53004 becomes 203.0.113.10:21 -> "
                             "192.168.1.10:53004.\nWhat will the server answer to PORT 192,168,1,100,4,97?";
    std::vector<std::string> words;
    for (const float width : {120.0f, 250.0f, 400.0f, 2000.0f}) {
        CAPTURE(width);
        const std::string w = gui::wrap_at_spaces(text, width, f, 22);
        // the same words in the same order: only spaces became line breaks
        std::string back = w;
        std::size_t breaks = 0;
        for (std::size_t i = 0; i < back.size(); ++i)
            if (back[i] == '\n' && text[i] == ' ') {
                back[i] = ' ';
                ++breaks;
            }
        CHECK(back == text);
        if (width < 400) CHECK(breaks > 0);
        // no line wider than asked, unless it is one word
        std::istringstream lines(w);
        for (std::string line; std::getline(lines, line);) {
            CAPTURE(line);
            if (line.find(' ') != std::string::npos) CHECK(f->CalcTextSizeA(22, FLT_MAX, 0, line.c_str()).x <= width);
        }
        CHECK(w.find("203.0.113.1:53004") != std::string::npos);
        CHECK(w.find("192,168,1,100,4,97?") != std::string::npos);
    }
    CHECK(gui::wrap_at_spaces("", 100, f, 22) == "");
    CHECK(gui::wrap_at_spaces("a\n\nb", 100, f, 22) == "a\n\nb");
}

TEST_CASE("a long title wraps in the window instead of running off its edge") {
    const trace::Trace t = library_trace("curl-vsftpd-cnat-off-active");
    for (const auto& [w, h] : std::vector<std::pair<float, float>>{{1024, 768}, {1920, 1080}}) {
        CAPTURE(w);
        const float px = present_font_px(h);
        HeadlessImGui im(w, h, px);
        gui::GuiState s(fixed(t));
        s.fonts_dirty = false;
        gui::UiContext ctx;
        s.set_present(true, h);
        s.fonts_dirty = false;
        frames(s, ctx, 2);
        const float title_band = s.view.canvas_min.y;
        const float title_w = ImGui::GetFont()->CalcTextSizeA(px, FLT_MAX, 0, s.run_title().c_str()).x;
        if (title_w > w * 0.75f) CHECK(title_band >= 2.0f * px);  // two lines of it above the ladder
        else CHECK(title_band < 2.0f * px);
    }
}

// ---- nothing the lesson is about is covered, nothing runs off the canvas -------------------

namespace {

struct LayoutFindings {
    std::size_t texts = 0, notes = 0, overlaps = 0, outside = 0, announcements = 0;
};

// Steps through the whole trace at w x h and checks what the canvas reports drawing: no text on
// the rows (FTP line, port number, label, the lines under an arrow, note box) overlaps another,
// and every note box lies inside the canvas with its text inside the box.
LayoutFindings check_layout(gui::GuiState& s, bool present, float w, float h, const std::string& what) {
    HeadlessImGui im(w, h, present ? present_font_px(h) : 22.5f);
    s.fonts_dirty = false;
    gui::UiContext ctx;
    if (present) s.set_present(true, h);
    s.fonts_dirty = false;
    s.fit_pending = true;
    s.reveal = gui::Reveal::All;
    LayoutFindings f;
    const std::string where = what + " " + std::to_string(static_cast<int>(w)) + "x" + std::to_string(static_cast<int>(h)) +
                              (present ? " present" : "");
    using Kind = gui::LadderStats::TextKind;
    auto name = [](Kind k) -> std::string {
        switch (k) {
        case Kind::FtpLine: return "FTP line";
        case Kind::Label: return "label";
        case Kind::Port: return "port";
        case Kind::Under: return "under an arrow";
        case Kind::Note: return "note";
        case Kind::Mark: return "mark";
        case Kind::Header: return "header";
        }
        return "?";
    };
    for (std::size_t step = 0; step < s.steps().size(); ++step) {
        s.go_to_step(step);
        frames(s, ctx, 1);
        const auto& st = ctx.last_stats;
        const auto& v = s.view;
        const float top = v.canvas_min.y + gui::canvas_geometry(s.diagram(), v).header_h;
        for (std::size_t i = 0; i < st.texts.size(); ++i) {
            const auto& a = st.texts[i];
            if (a.max.y < top || a.min.y > v.canvas_max.y) continue;  // scrolled out of sight
            ++f.texts;
            for (std::size_t j = i + 1; j < st.texts.size(); ++j) {
                const auto& b = st.texts[j];
                if (b.max.y < top || b.min.y > v.canvas_max.y) continue;
                const bool hit = a.min.x < b.max.x - 1 && b.min.x < a.max.x - 1 && a.min.y < b.max.y - 1 && b.min.y < a.max.y - 1;
                if (!hit) continue;
                ++f.overlaps;
                if (f.overlaps <= 8)
                    MESSAGE(where, " step ", step + 1, ": ", name(a.kind), " of \"",
                            s.diagram().items[a.item].label, s.diagram().items[a.item].text, "\" overlaps ", name(b.kind), " of \"",
                            s.diagram().items[b.item].label, s.diagram().items[b.item].text, "\"");
            }
        }
        // the lanes' names and addresses: whole, inside their header boxes (set smaller, not cut)
        for (const auto& t : st.texts) {
            if (t.kind != Kind::Header) continue;
            REQUIRE(t.item < st.lane_boxes.size());
            const auto& [b0, b1] = st.lane_boxes[t.item];
            const bool inside = t.min.x >= b0.x - 0.5f && t.max.x <= b1.x + 0.5f && t.min.y >= b0.y - 0.5f && t.max.y <= b1.y + 0.5f;
            if (!inside) {
                ++f.outside;
                if (f.outside <= 4)
                    MESSAGE(where, ": a header text of lane ", s.diagram().lanes[t.item].name, " runs out of its box: ", t.min.x, "..",
                            t.max.x, " box ", b0.x, "..", b1.x);
            }
            CHECK(t.max.y - t.min.y >= (present ? 14.0f : 11.0f));
        }
        // every FTP line is whole, as sent and as received (an ALG's rewrite): wrapped, never
        // shortened; count those that announce a data port
        for (const auto& l : st.ftp_labels) {
            const auto& it = s.diagram().items[l.item];
            if (!proto::decoded_endpoint(it.label).empty() || !proto::decoded_endpoint(it.label_after).empty()) ++f.announcements;
            CAPTURE(where);
            CAPTURE(l.full);
            CAPTURE(l.size);
            CAPTURE(v.canvas_max.x - v.canvas_min.x);
            CHECK_FALSE(l.skipped);
            CHECK(l.shown == l.full);
        }
        for (const auto& n : st.notes) {
            if (n.max.y < top || n.min.y > v.canvas_max.y) continue;
            ++f.notes;
            const bool inside = n.min.x >= v.canvas_min.x - 0.5f && n.max.x <= v.canvas_max.x + 0.5f && n.text_w <= n.max.x - n.min.x + 0.5f;
            if (!inside) {
                ++f.outside;
                if (f.outside <= 4)
                    MESSAGE(where, " step ", step + 1, ": note \"", n.shown, "\" box ",
                            n.min.x, "..", n.max.x, " text ", n.text_w, " canvas ", v.canvas_min.x, "..", v.canvas_max.x);
            }
            // whole, only wrapped at spaces
            auto flat = [](std::string t) {
                std::replace(t.begin(), t.end(), '\n', ' ');
                return t;
            };
            CHECK(flat(n.shown) == flat(s.diagram().items[n.item].text));
            CHECK(n.size >= (present ? 20.0f : 16.0f));        // still readable
        }
    }
    if (present) s.set_present(false, h);
    return f;
}

}  // namespace

TEST_CASE("no label covers another or a port number, and note boxes fit the canvas, at three projector sizes") {
    struct Case {
        std::string id;
        std::string view;
        bool announces = true;  // a PORT, EPRT, 227 or 229 line (SPSV's reply has no address)
    };
    // the default scenario (the lecture deck), NAT with the ALG, passive behind a NAT, SPSV, FXP
    const std::vector<Case> cases{{"lecture-deck-active-list", "per-hop"},
                                  {"home-router-alg-active-port-21", "per-hop"},
                                  {"home-router-alg-active-port-21", "end-to-end"},
                                  {"curl-vsftpd-snat21-on-pasv", "per-hop"},
                                  {"curl-vsftpd-snat21-on-pasv", "end-to-end"},
                                  {"spsv-through-port-21-forward", "per-hop", false},
                                  {"fxp-allowed-promiscuous", "end-to-end"}};
    for (const auto& c : cases) {
        gui::GuiState s(fixed(library_trace(c.id)));
        std::string error;
        REQUIRE(run_script(s, "view " + c.view, error));
        for (const bool present : {false, true})
            for (const auto& [w, h] : std::vector<std::pair<float, float>>{{1024, 768}, {1280, 720}, {1920, 1080}}) {
                CAPTURE(c.id);
                CAPTURE(c.view);
                CAPTURE(present);
                CAPTURE(w);
                const LayoutFindings f = check_layout(s, present, w, h, c.id + " " + c.view);
                CHECK(f.texts > 50);
                if (c.announces) CHECK(f.announcements > 0);
                CHECK(f.overlaps == 0);
                CHECK(f.outside == 0);
            }
    }
}
