// The app's model, scripted input and panels with ImGui's core and no window, and the real
// window in screenshot mode under X (or Xvfb) when one is available.
#include "tests/gui/headless.hpp"
#include "tests/support/demo_backend.hpp"
#include "trace/json.hpp"
#include "viz/gui/app.hpp"
#include "viz/gui/driver.hpp"
#include "viz/gui/script.hpp"
#include "viz/gui/state.hpp"
#include "viz/gui/tables.hpp"
#include "viz/gui/ui.hpp"

#include <doctest/doctest.h>

#include "tests/support/png.hpp"
#include <stb_image.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cfloat>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>
#include <string>

using namespace ftpsim;
using ftpsim::gui::testing::HeadlessImGui;

namespace {

gui::GuiState demo_state() { return gui::GuiState(std::shared_ptr<gui::GuiBackend>(gui::make_demo_backend())); }

bool run_script(gui::GuiState& s, const std::string& text, std::string& error) {
    std::vector<gui::ScriptCommand> cmds;
    if (!gui::parse_script(text, cmds, error)) return false;
    for (const auto& c : cmds)
        if (!s.run_command(c, error)) return false;
    return true;
}

std::string temp_png(const char* name) {
    return (std::filesystem::temp_directory_path() / (std::string("ftpsim-gui-") + std::to_string(getpid()) + "-" + name))
        .string();
}

}  // namespace

TEST_CASE("scripts parse into commands and bad ones name the command and the problem") {
    std::vector<gui::ScriptCommand> cmds;
    std::string error;
    REQUIRE(gui::parse_script("step 5; set knob nodes.home-router.alg.enabled=true;\n screenshot x.png ;; quit", cmds, error));
    REQUIRE(cmds.size() == 4);
    CHECK(cmds[0].verb == "step");
    CHECK(cmds[0].args == std::vector<std::string>{"5"});
    CHECK(cmds[1].args == std::vector<std::string>{"knob", "nodes.home-router.alg.enabled=true"});
    CHECK(cmds[2].verb == "screenshot");
    CHECK(cmds[3].verb == "quit");

    cmds.clear();
    CHECK_FALSE(gui::parse_script("step 2; jump 3", cmds, error));
    CHECK(error.find("command 2") != std::string::npos);
    CHECK(error.find("unknown command \"jump\"") != std::string::npos);
    CHECK_FALSE(gui::parse_script("step five", cmds, error));
    CHECK(error.find("expected a number, found \"five\"") != std::string::npos);
    CHECK_FALSE(gui::parse_script("set alg on", cmds, error));
    CHECK(error.find("set knob NAME=VALUE") != std::string::npos);
    CHECK_FALSE(gui::parse_script("hover 10", cmds, error));
    CHECK(error.find("expected 2 argument(s), found 1") != std::string::npos);
}

TEST_CASE("knobs take only their choices, and a fix's change applies as name=value") {
    auto backend = gui::make_demo_backend();
    auto k = backend->knobs("demo-active-nat");
    CHECK(k.get("nodes.home-router.alg.enabled") == "false");
    CHECK_FALSE(k.set("nodes.home-router.alg.enabled", "maybe"));
    CHECK_FALSE(k.set("no.such.knob", "on"));
    CHECK(k.apply(" nodes.home-router.alg.enabled = true "));
    CHECK(k.get("nodes.home-router.alg.enabled") == "true");
    CHECK_FALSE(k.apply("nodes.home-router.alg.enabled"));
}

TEST_CASE("the demo failure is diagnosed, and applying a fix re-simulates into a success") {
    auto s = demo_state();
    REQUIRE(s.scenario() == "demo-active-nat");
    CHECK_FALSE(s.trace().outcome.ok);
    const auto fixes = s.fixes();
    REQUIRE(fixes.size() == 2);
    const auto before = s.revision();
    CHECK(s.apply_fix(0));
    CHECK(s.revision() > before);
    CHECK(s.knobs().get("nodes.home-router.alg.enabled") == "true");
    CHECK(s.trace().outcome.ok);
    CHECK(s.status.find("Applied") != std::string::npos);
    CHECK_FALSE(s.apply_fix(7));
}

TEST_CASE("scripted commands drive the state: knobs, steps, views, theme and scale") {
    auto s = demo_state();
    std::string error;
    REQUIRE(run_script(s, "set knob clients.client.mode=pasv; step 12", error));
    CHECK(s.knobs().get("clients.client.mode") == "pasv");
    CHECK(s.trace().outcome.ok);
    CHECK(s.step() == 11);
    const std::size_t event = s.current_event();
    // switching the view keeps the playback on the same trace event (or the one before it)
    REQUIRE(run_script(s, "view end-to-end; time to-scale", error));
    CHECK(s.layout_options().view == viz::View::EndToEnd);
    CHECK(s.layout_options().time == viz::TimeScale::ToScale);
    CHECK(s.current_event() <= event);
    CHECK(s.diagram().lanes.size() == 2);
    REQUIRE(run_script(s, "theme dark; scale 2; zoom 0.5; last", error));
    CHECK(s.view.theme == gui::ThemeKind::Dark);
    CHECK(s.ui_scale == 2.0f);
    CHECK(s.fonts_dirty);
    CHECK(s.view.zoom == 0.5f);
    CHECK(s.step() + 1 == s.steps().size());

    CHECK_FALSE(run_script(s, "set knob nodes.home-router.nat=full-cone", error));
    CHECK(error.find("no knob \"nodes.home-router.nat\"") != std::string::npos);
    CHECK_FALSE(run_script(s, "set knob clients.client.mode=sideways", error));
    CHECK(error.find("not a value") != std::string::npos);
    CHECK_FALSE(run_script(s, "scenario nowhere", error));
    CHECK_FALSE(run_script(s, "view sideways", error));
}

TEST_CASE("export writes the current trace in the format its extension names") {
    auto s = demo_state();
    std::string error;
    const std::string svg = temp_png("export.svg"), json = temp_png("export.json");
    REQUIRE(run_script(s, "view end-to-end; export " + svg + "; export " + json, error));
    CHECK(s.status == "Wrote " + json);
    std::ifstream in_svg(svg), in_json(json);
    std::stringstream svg_text, json_text;
    svg_text << in_svg.rdbuf();
    json_text << in_json.rdbuf();
    CHECK(svg_text.str().find("<svg") != std::string::npos);
    CHECK(trace::from_json(json_text.str()) == s.trace());  // lossless
    std::filesystem::remove(svg);
    std::filesystem::remove(json);
    CHECK_FALSE(run_script(s, "export notes.docx", error));
    CHECK(error.find("unknown format") != std::string::npos);
}

TEST_CASE("playback advances at its speed and stops at the last step") {
    auto s = demo_state();
    REQUIRE(s.steps().size() > 10);
    s.go_to_step(0);
    s.speed = 4;
    s.playing = true;
    s.advance(1.0f);  // four steps a second
    CHECK(s.step() == 4);
    s.advance(1000.0f);
    CHECK(s.step() + 1 == s.steps().size());
    CHECK_FALSE(s.playing);
    s.prev();
    CHECK(s.step() + 2 == s.steps().size());
    CHECK_FALSE(s.explanation().empty());
    CHECK(s.step_title().find("Step ") == 0);
}

TEST_CASE("the explanation of a dropped SYN says where it went and why it died") {
    auto s = demo_state();  // active, no ALG: the server's SYN to the private address dies
    bool found = false;
    for (std::size_t i = 0; i < s.steps().size() && !found; ++i) {
        s.go_to_step(i);
        const auto& e = s.trace().events[s.current_event()];
        if (e.verdict != trace::Verdict::Dropped) continue;
        found = true;
        const std::string x = s.explanation();
        CHECK(x.find("SYN") != std::string::npos);
        CHECK(x.find("192.168.1.10:50069") != std::string::npos);
        CHECK(x.find("DROPPED: no route") != std::string::npos);
        CHECK(x.find("It never arrives: dropped") != std::string::npos);  // narrated, no stale "Why:" note
        CHECK(x.find("Why: ") == std::string::npos);
    }
    CHECK(found);
}

TEST_CASE("the tables follow the playback position: NAT mappings, conntrack states, expectations") {
    auto backend = gui::make_demo_backend();
    auto k = backend->knobs("demo-active-nat");
    k.set("nodes.home-router.alg.enabled", "true");
    const auto t = backend->simulate(k);
    const auto start = gui::tables_at(t, 0);
    CHECK(start.nat.empty());
    CHECK(start.conntrack.empty());
    const auto end = gui::tables_at(t, SIZE_MAX);
    REQUIRE(!end.nat.empty());
    CHECK(end.nat[0].inside == "192.168.1.10:50000");
    CHECK(end.nat[0].outside == "203.0.113.1:50000");
    CHECK(end.nat[0].kind == "SNAT");
    CHECK(end.nat[0].node == "home-router");
    // the rows come from the router's typed facts: the control connection's mapping only (the
    // ALG's expectation forwards the data connection without a mapping of its own)
    CHECK(end.nat.size() == 1);
    CHECK(end.expectations.empty());  // used by the data connection
    bool waited = false;              // ... after it waited for it
    for (std::size_t i = 0; i < t.events.size() && !waited; ++i) {
        const auto at = gui::tables_at(t, i);
        if (at.expectations.size() != 1) continue;
        waited = true;
        CHECK(at.expectations[0].text == "203.0.113.20:* -> 203.0.113.1:50069 => 192.168.1.10:50069");
    }
    CHECK(waited);
    REQUIRE(end.conntrack.size() == 2);
    // after the 3-way handshake the control connection is established
    std::size_t after_handshake = 0;
    int acks = 0;
    for (std::size_t i = 0; i < t.events.size(); ++i)
        if (t.events[i].kind == trace::EventKind::Segment && t.events[i].flags == "A" && ++acks == 2) {
            after_handshake = i;
            break;
        }
    CHECK(gui::tables_at(t, after_handshake).conntrack.at(0).state == "ESTABLISHED");
    // the failing variant lists the dropped SYNs as hits
    k.set("nodes.home-router.alg.enabled", "false");
    const auto failing = gui::tables_at(backend->simulate(k), SIZE_MAX);
    CHECK(failing.hits.size() == 3);
    CHECK(failing.hits[0].reason.find("no route") != std::string::npos);
}

TEST_CASE("the tooltip details show each hop before and after translation") {
    auto s = demo_state();
    const auto& d = s.diagram();
    bool found = false;
    for (std::size_t i = 0; i < d.items.size() && !found; ++i) {
        const auto& it = d.items[i];
        if (it.kind != viz::ItemKind::Arrow || it.label != "SYN" || it.from_lane != 0) continue;
        found = true;
        const std::string x = gui::item_details(s.trace(), d, i);
        CHECK(x.find("hop 1: client -> home-router") != std::string::npos);
        CHECK(x.find("hop 2: home-router -> server") != std::string::npos);
        CHECK(x.find("sent:  192.168.1.10:50000 -> 203.0.113.20:21") != std::string::npos);
        CHECK(x.find("after: 203.0.113.1:50000 -> 203.0.113.20:21  (changed)") != std::string::npos);
    }
    CHECK(found);
}

TEST_CASE("the whole UI draws a frame headless, with the ladder culled to its canvas") {
    HeadlessImGui im(1280, 800, 22);
    auto s = demo_state();
    s.fonts_dirty = false;
    gui::UiContext ctx;
    for (int frame = 0; frame < 3; ++frame) {
        ImGui::NewFrame();
        gui::handle_shortcuts(s, ctx);
        gui::draw_ui(s, ctx);
        ImGui::Render();
    }
    const ImDrawData* dd = ImGui::GetDrawData();
    REQUIRE(dd);
    CHECK(dd->TotalVtxCount > 1000);
    CHECK(ctx.last_stats.drawn > 5);
    CHECK(ctx.last_stats.culled > 0);  // the demo is taller than the canvas at a legible zoom
    CHECK(s.view.canvas_max.x - s.view.canvas_min.x > 600);
    CHECK(s.view.canvas_max.y - s.view.canvas_min.y > 300);
    // hovering an arrow's middle finds it
    const auto g = gui::canvas_geometry(s.diagram(), s.view);
    std::size_t target = SIZE_MAX;
    for (std::size_t i = 0; i < s.diagram().items.size(); ++i) {
        const auto& it = s.diagram().items[i];
        if (it.kind == viz::ItemKind::Arrow && g.y(it.top()) > s.view.canvas_min.y + g.header_h + 30 &&
            g.y(it.bottom()) < s.view.canvas_max.y - 30) {
            target = i;
            break;
        }
    }
    REQUIRE(target != SIZE_MAX);
    const auto& it = s.diagram().items[target];
    ImGui::GetIO().MousePos = {(g.lane_x(it.from_pos) + g.lane_x(it.to_pos)) / 2, static_cast<float>(g.y((it.y0 + it.y1) / 2))};
    ImGui::NewFrame();
    gui::draw_ui(s, ctx);
    ImGui::Render();
    CHECK(ctx.last_hit.item == target);
}

TEST_CASE("an empty trace and an empty library draw without steps or crashes") {
    HeadlessImGui im;
    auto empty = std::make_shared<gui::FixedTraceBackend>();
    gui::GuiState s(empty);
    CHECK(s.library().empty());
    CHECK(s.steps().empty());
    CHECK(s.current_event() == SIZE_MAX);
    s.next();
    s.playing = true;
    s.advance(10);
    CHECK(s.explanation().empty());
    CHECK(s.step_title() == "No steps");
    CHECK(s.tables().nat.empty());
    trace::Trace t;
    t.scenario = "nothing";
    s.set_trace(t);
    s.fonts_dirty = false;
    gui::UiContext ctx;
    for (int frame = 0; frame < 2; ++frame) {
        ImGui::NewFrame();
        gui::handle_shortcuts(s, ctx);
        gui::draw_ui(s, ctx);
        ImGui::Render();
    }
    CHECK(ctx.last_stats.drawn == 0);
}

TEST_CASE("bad options and scripts are refused before any window opens") {
    gui::GuiOptions o;
    std::string error;
    bool help = false;
    CHECK(gui::parse_gui_args({"gui", "--screenshot", "a.png", "--frames", "5", "--scale", "2", "--size", "1024x768"}, o, error, help));
    CHECK(o.frames == 5);
    CHECK(o.scale == 2.0f);
    CHECK(o.width == 1024);
    CHECK_FALSE(gui::parse_gui_args({"gui", "--scale", "9"}, o, error, help));
    CHECK(error.find("--scale") != std::string::npos);
    CHECK_FALSE(gui::parse_gui_args({"gui", "--size", "big"}, o, error, help));
    CHECK_FALSE(gui::parse_gui_args({"gui", "--bogus"}, o, error, help));
    CHECK(error == "unknown option \"--bogus\"");
    CHECK(gui::parse_gui_args({"gui", "--help"}, o, error, help));
    CHECK(help);

    // `ftpsim gui --bogus` reaches main_from_args with the whole command line
    const char* argv[] = {"ftpsim", "gui", "--bogus"};
    CHECK(gui::main_from_args(3, const_cast<char**>(argv)) == 2);
    const char* help_argv[] = {"ftpsim", "gui", "--help"};
    CHECK(gui::main_from_args(3, const_cast<char**>(help_argv)) == 0);

    gui::GuiOptions bad;
    bad.backend = gui::make_demo_backend();
    bad.script = "step 1; fly";
    CHECK(gui::run_gui(bad) == 2);
    bad.script.clear();
    bad.scenario = "nowhere";
    CHECK(gui::run_gui(bad) == 2);
    bad.scenario.clear();
    bad.backend = nullptr;  // a backend wins over --trace
    bad.trace_files = {"/nonexistent/trace.json"};
    CHECK(gui::run_gui(bad) == 2);
    bad.trace_files.clear();  // neither a backend nor a trace: nothing to show
    CHECK(gui::run_gui(bad) == 2);
}

// ---- the real window ------------------------------------------------------------------------

namespace {

// With no X display, runs this test binary's own test case again under xvfb-run (the child finds
// a display and writes the PNG; the parent checks it). None: neither is available.
enum class Display { Here, Spawned, None };

// Under tools/sanitize.sh the processes that open a real window run without LeakSanitizer: Mesa's
// GL driver, loaded and unloaded by GLFW, leaves a few hundred bytes that LSan cannot attribute
// (an "<unknown module>", so no suppression can name it). Every other sanitizer check stays on,
// and the GUI's own code is leak-checked by the headless tests. Harmless without ASan.
// xvfb-run's own temporary directory for the X authority file: its clean-up has failed once
// under load (exit 5, "problem while cleaning up temporary directory") after the app had exited
// correctly. The tests give it a file of their own instead (-f), removed with the test's files.
std::string xvfb_auth(const std::string& beside) { return " -f '" + beside + ".xauth'"; }

constexpr const char* kNoLeakCheckInWindow = "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" ";

Display with_display(const char* test_case, const std::string& png, int& child_status) {
    const char* d = std::getenv("DISPLAY");
    if (d && *d) return Display::Here;
    const std::string xvfb = FTPSIM_XVFB_RUN;
    if (xvfb.empty() || access(xvfb.c_str(), X_OK) != 0) return Display::None;
    const std::string cmd = "FTPSIM_GUI_TEST_PNG='" + png + "' " + kNoLeakCheckInWindow + xvfb + xvfb_auth(png) +
                            " -a -s '-screen 0 1280x800x24' /proc/" + std::to_string(getpid()) +
                            "/exe --no-version --test-case='" + test_case + "' >/dev/null 2>&1";
    child_status = std::system(cmd.c_str());
    std::filesystem::remove(png + ".xauth");
    return Display::Spawned;
}

void check_png(const std::string& png, int w, int h) {
    int pw = 0, ph = 0, comp = 0;
    unsigned char* px = stbi_load(png.c_str(), &pw, &ph, &comp, 3);
    REQUIRE_MESSAGE(px, "no PNG at ", png);
    CHECK(pw == w);
    CHECK(ph == h);
    std::set<unsigned> colours;
    std::size_t blue = 0;  // the control connection's arrows (light theme: 20,80,200)
    for (int i = 0; i < pw * ph; ++i) {
        const unsigned char* p = px + i * 3;
        colours.insert(static_cast<unsigned>(p[0]) << 16 | static_cast<unsigned>(p[1]) << 8 | p[2]);
        blue += p[2] > 150 && p[0] < 80 && p[1] < 130;
    }
    stbi_image_free(px);
    CHECK(colours.size() > 50);  // not blank: text, arrows and panels
    CHECK(blue > 200);
}

}  // namespace

TEST_CASE("gui window: screenshot mode writes the last frame as a PNG") {
    const std::string png = std::getenv("FTPSIM_GUI_TEST_PNG") ? std::getenv("FTPSIM_GUI_TEST_PNG") : temp_png("shot.png");
    int child = 0;
    switch (with_display("gui window: screenshot mode*", png, child)) {
    case Display::None:
        FAIL("this test needs an X display: set DISPLAY or install xvfb-run (tools/install-deps.sh --test)");
        return;
    case Display::Spawned:
        CHECK(child == 0);
        break;
    case Display::Here: {
        gui::GuiOptions o;
        o.backend = gui::make_demo_backend();
        o.screenshot = png;
        o.frames = 3;
        o.step = 30;
        REQUIRE(gui::run_gui(o) == 0);
        if (std::getenv("FTPSIM_GUI_TEST_PNG")) return;  // the parent checks
        break;
    }
    }
    check_png(png, 1280, 800);
    std::filesystem::remove(png);
}

TEST_CASE("gui window: a script changes a knob, steps and takes screenshots") {
    const std::string png = std::getenv("FTPSIM_GUI_TEST_PNG") ? std::getenv("FTPSIM_GUI_TEST_PNG") : temp_png("script.png");
    int child = 0;
    switch (with_display("gui window: a script*", png, child)) {
    case Display::None:
        FAIL("this test needs an X display: set DISPLAY or install xvfb-run (tools/install-deps.sh --test)");
        return;
    case Display::Spawned:
        CHECK(child == 0);
        break;
    case Display::Here: {
        gui::GuiOptions o;
        o.backend = gui::make_demo_backend();
        o.width = 1024;
        o.height = 700;
        o.script = "set knob nodes.home-router.alg.enabled=true; view end-to-end; step 20; hover 600 400; wait 2; screenshot " + png +
                   "; quit";
        REQUIRE(gui::run_gui(o) == 0);
        if (std::getenv("FTPSIM_GUI_TEST_PNG")) return;
        break;
    }
    }
    check_png(png, 1024, 700);
    std::filesystem::remove(png);
}

// ---- scripted input through the widgets (headless) -------------------------------------------

namespace {

// The demo backend with a five-way mode knob (a drop-down list) and a free-text latency knob, so
// each kind of knob widget is clicked.
class WidgetsBackend final : public gui::GuiBackend {
public:
    std::vector<gui::ScenarioInfo> library() override { return demo_->library(); }
    gui::Knobs knobs(const std::string& id) override {
        auto k = demo_->knobs(id);
        k.knobs[0].choices = {"port", "eprt", "pasv", "epsv", "spsv"};
        k.knobs.push_back({"links.0.latency", "Latency", {}, "10ms", "one-way delay"});
        return k;
    }
    trace::Trace simulate(const gui::Knobs& k) override {
        auto d = demo_->knobs(k.scenario);
        const auto mode = k.get("clients.client.mode");
        d.set("clients.client.mode", mode == "pasv" || mode == "epsv" || mode == "spsv" ? "pasv" : "port");
        d.set("nodes.home-router.alg.enabled", k.get("nodes.home-router.alg.enabled"));
        return demo_->simulate(d);
    }

private:
    std::unique_ptr<gui::GuiBackend> demo_ = gui::make_demo_backend();
};

// Carries out one script command with the UiDriver over frames of the whole UI; "" when it
// worked, else the driver's error. `frames` counts the frames it took.
std::string drive(gui::GuiState& s, gui::UiContext& ctx, const std::string& command, int* frames = nullptr) {
    std::vector<gui::ScriptCommand> cmds;
    std::string error;
    REQUIRE(gui::parse_script(command, cmds, error));
    gui::UiDriver d;
    if (!d.start(cmds.at(0), s, error)) return error;
    int n = 0;
    for (; n < 100 && d.busy(); ++n) {
        d.before_frame(ImGui::GetIO(), ctx, ImVec2(-FLT_MAX, -FLT_MAX));
        ImGui::NewFrame();
        gui::draw_ui(s, ctx);
        ImGui::Render();
        if (!d.after_frame(s, ctx, error)) return error;
    }
    if (frames) *frames = n;
    return d.busy() ? "the driver never finished" : "";
}

}  // namespace

TEST_CASE("set knob and fix click the widgets: radio button, drop-down entry, text field, Apply") {
    HeadlessImGui im(1280, 800, 18);
    ImGuiIO& io = ImGui::GetIO();
    io.KeyMap[ImGuiKey_A] = 'A';  // what the GLFW backend maps (GLFW_KEY_A, GLFW_KEY_ENTER)
    io.KeyMap[ImGuiKey_Enter] = 257;
    gui::GuiState s(std::make_shared<WidgetsBackend>());
    s.fonts_dirty = false;
    gui::UiContext ctx;
    REQUIRE(s.scenario() == "demo-active-nat");
    REQUIRE_FALSE(s.trace().outcome.ok);

    // a radio button (two choices)
    int frames = 0;
    CHECK(drive(s, ctx, "set knob nodes.home-router.alg.enabled=true", &frames) == "");
    CHECK(s.knobs().get("nodes.home-router.alg.enabled") == "true");
    CHECK(s.trace().outcome.ok);
    CHECK(frames >= 5);  // locate, move, press, release, settle: a click, not an assignment
    CHECK(drive(s, ctx, "set knob nodes.home-router.alg.enabled=false") == "");
    CHECK_FALSE(s.trace().outcome.ok);

    // a drop-down list: open it, then pick the entry
    CHECK(drive(s, ctx, "set knob clients.client.mode=epsv") == "");
    CHECK(s.knobs().get("clients.client.mode") == "epsv");
    CHECK(s.trace().outcome.ok);
    CHECK(drive(s, ctx, "set knob clients.client.mode=port") == "");
    CHECK_FALSE(s.trace().outcome.ok);

    // a text field: click, select all, type, Enter
    CHECK(drive(s, ctx, "set knob links.0.latency=25ms") == "");
    CHECK(s.knobs().get("links.0.latency") == "25ms");

    // the diagnosis' first fix: its Apply button
    REQUIRE(!s.fixes().empty());
    const auto before = s.revision();
    CHECK(drive(s, ctx, "fix 1") == "");
    CHECK(s.revision() > before);
    CHECK(s.status.rfind("Applied", 0) == 0);
    CHECK(s.trace().outcome.ok);

    // bad commands are refused before any click
    CHECK(drive(s, ctx, "set knob clients.client.mode=sideways").find("not a value") != std::string::npos);
    CHECK(drive(s, ctx, "set knob no.such=1").find("no knob \"no.such\"") != std::string::npos);
    CHECK(drive(s, ctx, "fix 9").find("no fix 9") != std::string::npos);
}

TEST_CASE("set knob cannot reach a knob the user cannot see: with the side panel hidden it fails") {
    HeadlessImGui im(1280, 800, 18);
    gui::GuiState s(std::make_shared<WidgetsBackend>());
    s.fonts_dirty = false;
    s.sidebar = false;
    gui::UiContext ctx;
    const std::string error = drive(s, ctx, "set knob nodes.home-router.alg.enabled=true");
    CHECK(error.find("cannot find the widget \"knob:nodes.home-router.alg.enabled=true\"") != std::string::npos);
    CHECK(s.knobs().get("nodes.home-router.alg.enabled") == "false");  // nothing set behind the UI's back
}

TEST_CASE("expect checks the outcome, a knob and the step, and says what it found") {
    auto s = demo_state();
    std::vector<gui::ScriptCommand> cmds;
    std::string error;
    REQUIRE(gui::parse_script("expect outcome failed; expect outcome ok; expect knob nodes.home-router.alg.enabled=false; "
                              "expect step 1; expect step 2; expect knob nope=1",
                              cmds, error));
    REQUIRE(cmds.size() == 6);
    CHECK(s.check(cmds[0], error));
    CHECK_FALSE(s.check(cmds[1], error));
    CHECK(error.find("the outcome is failed") != std::string::npos);
    CHECK(s.check(cmds[2], error));
    CHECK(s.check(cmds[3], error));
    CHECK_FALSE(s.check(cmds[4], error));
    CHECK(error.find("the step is 1 of") != std::string::npos);
    CHECK_FALSE(s.check(cmds[5], error));
    CHECK(error.find("no knob \"nope\"") != std::string::npos);
    CHECK_FALSE(gui::parse_script("expect outcome maybe", cmds, error));
    CHECK(error.find("expect outcome ok|failed") != std::string::npos);
    CHECK_FALSE(gui::parse_script("expect knob novalue", cmds, error));
}

// ---- `ftpsim gui` on the simulator, in a real window under Xvfb ------------------------------

namespace {

using ftpsim::testing::Png;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs `ftpsim gui ARGS` under xvfb-run (or on DISPLAY); returns its exit status, stderr in `err`.
int run_ftpsim_gui(const std::string& args, std::string& err) {
    const std::string log = temp_png("gui-stderr.txt");
    const char* d = std::getenv("DISPLAY");
    const std::string xvfb = FTPSIM_XVFB_RUN;
    std::string cmd;
    if (d && *d) cmd = std::string(kNoLeakCheckInWindow) + "'" + FTPSIM_BINARY + "' gui " + args;
    else cmd = kNoLeakCheckInWindow + xvfb + xvfb_auth(log) + " -a -s '-screen 0 1280x800x24' '" + FTPSIM_BINARY + "' gui " + args;
    const int rc = std::system((cmd + " >/dev/null 2>'" + log + "'").c_str());
    err = read_text(log);
    std::filesystem::remove(log);
    std::filesystem::remove(log + ".xauth");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool have_display() {
    const char* d = std::getenv("DISPLAY");
    const std::string xvfb = FTPSIM_XVFB_RUN;
    return (d && *d) || (!xvfb.empty() && access(xvfb.c_str(), X_OK) == 0);
}

}  // namespace

TEST_CASE("gui window: on the simulator, clicking the ALG knob, the mode knob and a fix turns a NAT failure into a success") {
    if (!have_display())
        FAIL("this test needs an X display: set DISPLAY or install xvfb-run (tools/install-deps.sh --test)");
    const std::string failed = temp_png("sim-failed.png"), alg = temp_png("sim-alg.png"), pasv = temp_png("sim-pasv.png"),
                      fixed = temp_png("sim-fix.png");
    // Active mode behind a NAT without an FTP helper: vsftpd refuses the private PORT with 500.
    const std::string script =
        "expect outcome failed; expect knob nodes.router.alg.enabled=false; expect knob clients.client.mode=port;"
        "first; next; next; expect step 3; step 55; screenshot " + failed + ";"
        // the router's ALG knob (radio buttons)
        "set knob nodes.router.alg.enabled=true; expect knob nodes.router.alg.enabled=true; expect outcome ok;"
        "step 55; screenshot " + alg + ";"
        "set knob nodes.router.alg.enabled=false; expect outcome failed;"
        // the client's mode knob (a drop-down list)
        "set knob clients.client.mode=pasv; expect knob clients.client.mode=pasv; expect outcome ok;"
        "step 55; screenshot " + pasv + ";"
        "set knob clients.client.mode=port; expect outcome failed;"
        // the diagnosis' first fix (its Apply button)
        "fix 1; expect outcome ok; step 55; screenshot " + fixed + "; quit";
    std::string err;
    const int rc = run_ftpsim_gui("--scenario curl-vsftpd-cnat-off-active --script \"" + script + "\"", err);
    INFO("stderr:\n", err);
    REQUIRE(rc == 0);
    CHECK(err.find("expect outcome ok: yes") != std::string::npos);

    Png a, b, c, f;
    REQUIRE(a.load(failed));
    REQUIRE(b.load(alg));
    REQUIRE(c.load(pasv));
    REQUIRE(f.load(fixed));
    const auto& th = gui::theme(gui::ThemeKind::Light);
    const ImU32 red = gui::outcome_banner_colour(false, gui::ThemeKind::Light);
    const ImU32 green = gui::outcome_banner_colour(true, gui::ThemeKind::Light);
    // the outcome banner at the top left: red while it fails, green once it works
    const int top = 60, left = 700;
    CHECK(a.count(red, 0, 0, left, top) > 1500);
    CHECK(a.count(green, 0, 0, left, top) == 0);
    for (const Png* ok : {&b, &c, &f}) {
        CHECK(ok->count(green, 0, 0, left, top) > 500);
        CHECK(ok->count(red, 0, 0, left, top) == 0);
    }
    // the ladder (right of the side panel) at step 55 (the last step of the failed run): no data
    // connection while PORT is refused; the orange data connection's arrows once the ALG rewrites
    // PORT, in passive mode, and after the fix
    const std::size_t data_failed = a.count(th.data, 380, top, a.w, a.h - 150, 12);
    MESSAGE("orange data-connection pixels: failed ", data_failed, ", ALG ", b.count(th.data, 380, top, b.w, b.h - 150, 12),
            ", pasv ", c.count(th.data, 380, top, c.w, c.h - 150, 12), ", fix ", f.count(th.data, 380, top, f.w, f.h - 150, 12));
    for (const Png* ok : {&b, &c, &f}) CHECK(ok->count(th.data, 380, top, ok->w, ok->h - 150, 12) > 20 * (data_failed + 10));
    for (const auto& p : {failed, alg, pasv, fixed}) std::filesystem::remove(p);
}

TEST_CASE("gui window: a failed expect exits with status 3 and says what it found") {
    if (!have_display())
        FAIL("this test needs an X display: set DISPLAY or install xvfb-run (tools/install-deps.sh --test)");
    std::string err;
    INFO("stderr of the last ftpsim gui: " << err);
    CHECK(run_ftpsim_gui("--scenario curl-vsftpd-cnat-off-active --script \"expect outcome ok; quit\"", err) == 3);
    CHECK(err.find("expectation failed: \"expect outcome ok\": the outcome is failed; RETR /file.bin failed with reply 500") !=
          std::string::npos);
    CHECK(run_ftpsim_gui("--scenario curl-vsftpd-cnat-off-active --script \"set knob nodes.router.alg.enabled=maybe\"", err) == 2);
    CHECK(err.find("\"maybe\" is not a value of nodes.router.alg.enabled") != std::string::npos);
}
