#include "viz/gui/app.hpp"

#include "trace/json.hpp"
#include "trace/printable.hpp"
#include "viz/gui/driver.hpp"
#include "viz/gui/script.hpp"
#include "viz/gui/state.hpp"
#include "viz/gui/theme.hpp"
#include "viz/gui/ui.hpp"

#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#define GLFW_INCLUDE_NONE
#ifdef __EMSCRIPTEN__
#include <GLES3/gl3.h>
#include <emscripten.h>
#include <emscripten/html5.h>
#else
#include <GL/gl.h>
#endif
#include <GLFW/glfw3.h>
#include <stb_image_write.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>

namespace ftpsim::gui {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitExpectation = 3;  // a script's `expect` found something else

#ifndef FTPSIM_GUI_DEFAULT_FONT
#define FTPSIM_GUI_DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif
#ifndef FTPSIM_GUI_DEFAULT_MONO_FONT
#define FTPSIM_GUI_DEFAULT_MONO_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
#endif

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// Rebuilds the font atlas at the current scale (outside NewFrame/Render) and restyles.
ImFont* rebuild_fonts(const GuiOptions& o, GuiState& s, bool have_gl) {
    ImGuiIO& io = ImGui::GetIO();
    io.Fonts->Clear();
    const float px = std::round(s.base_font_px * s.ui_scale);
    const std::string font = o.font.empty() ? FTPSIM_GUI_DEFAULT_FONT : o.font;
    ImFont* main = file_exists(font) ? io.Fonts->AddFontFromFileTTF(font.c_str(), px) : nullptr;
    if (!main) {
        std::fprintf(stderr, "ftpsim gui: cannot load the font %s; using ImGui's built-in font\n", trace::escape_unprintable(font).c_str());
        ImFontConfig cfg;
        cfg.SizePixels = px;
        main = io.Fonts->AddFontDefault(&cfg);
    }
    ImFont* mono = file_exists(FTPSIM_GUI_DEFAULT_MONO_FONT)
                       ? io.Fonts->AddFontFromFileTTF(FTPSIM_GUI_DEFAULT_MONO_FONT, std::round(px * 0.9f))
                       : nullptr;
    io.Fonts->Build();
    if (have_gl) {
        ImGui_ImplOpenGL3_DestroyFontsTexture();
        ImGui_ImplOpenGL3_CreateFontsTexture();
    }
    apply_imgui_style(s.view.theme, s.ui_scale);
    s.fonts_dirty = false;
    return mono;
}

bool write_png(const std::string& path, int w, int h) {
    std::vector<unsigned char> px(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
#ifdef __EMSCRIPTEN__
    // WebGL 2 reads the default framebuffer as RGBA only: read that, keep RGB
    std::vector<unsigned char> rgba(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
    glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
    for (std::size_t i = 0, n = static_cast<std::size_t>(w) * static_cast<std::size_t>(h); i < n; ++i)
        for (std::size_t c = 0; c < 3; ++c) px[i * 3 + c] = rgba[i * 4 + c];
#else
    glReadPixels(0, 0, w, h, GL_RGB, GL_UNSIGNED_BYTE, px.data());
#endif
    // OpenGL's rows go bottom-up, PNG's top-down
    const std::size_t row = static_cast<std::size_t>(w) * 3;
    for (int y = 0; y < h / 2; ++y)
        std::swap_ranges(px.begin() + static_cast<std::ptrdiff_t>(y * row),
                         px.begin() + static_cast<std::ptrdiff_t>((y + 1) * row),
                         px.begin() + static_cast<std::ptrdiff_t>((h - 1 - y) * row));
    return stbi_write_png(path.c_str(), w, h, 3, px.data(), static_cast<int>(row)) != 0;
}


// One frame of the app: the script's next command, the UI, the screenshot. frame() returns false
// when the app is done (quit, window closed, script finished with a screenshot, or a failure).
struct FrameLoop {
    FrameLoop(const GuiOptions& options, std::unique_ptr<GuiState> st, std::deque<ScriptCommand> cmds, bool unattended_run, GLFWwindow* w)
        : o(options), owned_state(std::move(st)), state(*owned_state), script(std::move(cmds)), unattended(unattended_run), window(w) {
        ctx.screenshot = [this](const std::string& path) { capture_path = path; };
    }
    const GuiOptions o;  // a copy: in the browser the caller's frame is gone after the first frame
    std::unique_ptr<GuiState> owned_state;
    GuiState& state;
    std::deque<ScriptCommand> script;
    bool unattended;
    GLFWwindow* window;
    UiContext ctx;
    UiDriver driver;           // `set knob` and `fix` click the widgets
    std::string capture_path;  // write the frame being rendered to this file
    std::string error;
    int status = kExitOk;
    int wait_frames = 0;
    int frames_after_script = 0;
    bool have_hover = false;
    ImVec2 hover{0, 0};
    bool quit = false;
    long rendered_frames = 0;

    bool frame() {
        if (quit || glfwWindowShouldClose(window)) return false;
        ImGuiIO& io = ImGui::GetIO();
        glfwPollEvents();
        // the script: run commands until one asks for a frame of its own
        if (driver.busy()) {
            // the driver is clicking a widget: no new command until it is done
        } else if (wait_frames > 0) {
            --wait_frames;
        } else if (!script.empty()) {
            const ScriptCommand cmd = script.front();
            script.pop_front();
            if (cmd.verb == "screenshot") capture_path = cmd.args[0];
            else if (cmd.verb == "quit") quit = true;
            else if (cmd.verb == "wait") wait_frames = std::max(0, std::atoi(cmd.args[0].c_str()) - 1);
            else if (cmd.verb == "hover") {
                have_hover = true;
                hover = ImVec2(std::strtof(cmd.args[0].c_str(), nullptr), std::strtof(cmd.args[1].c_str(), nullptr));
            } else if (cmd.verb == "expect") {
                if (!state.check(cmd, error)) {
                    std::fprintf(stderr, "ftpsim gui: script: expectation failed: %s\n", trace::escape_unprintable(error).c_str());
                    status = kExitExpectation;
                    quit = true;
                } else {
                    std::fprintf(stderr, "ftpsim gui: script: %s: yes\n", trace::escape_unprintable(cmd.text).c_str());
                }
            } else if (cmd.verb == "set" || cmd.verb == "fix") {
                if (!driver.start(cmd, state, error)) {
                    std::fprintf(stderr, "ftpsim gui: script: %s\n", trace::escape_unprintable(error).c_str());
                    status = kExitBadInput;
                    quit = true;
                }
            } else if (!state.run_command(cmd, error)) {
                std::fprintf(stderr, "ftpsim gui: script: %s\n", trace::escape_unprintable(error).c_str());
                status = kExitBadInput;
                quit = true;
            }
            if (quit) return false;
        } else if (!o.screenshot.empty()) {
            if (++frames_after_script == o.frames) capture_path = o.screenshot;
            else if (frames_after_script > o.frames) return false;
        }  // else: a script with no --screenshot and no quit hands over to the user

        // the first time, ImGui_ImplOpenGL3_NewFrame creates the font texture itself
        if (state.fonts_dirty) ctx.mono = rebuild_fonts(o, state, rendered_frames > 0);
        ImGui_ImplOpenGL3_NewFrame();
        ImGui_ImplGlfw_NewFrame();
        if (unattended) {
            io.DeltaTime = 1.0f / 60.0f;  // scripted playback is the same on any machine
            const ImVec2 rest = have_hover ? hover : ImVec2(-FLT_MAX, -FLT_MAX);
            if (driver.busy()) {
                driver.before_frame(io, ctx, rest);
            } else {
                io.MousePos = rest;
                for (int b = 0; b < 3; ++b) io.MouseDown[b] = false;  // the X server's pointer takes no part
            }
        }
        ImGui::NewFrame();
        handle_shortcuts(state, ctx);
        draw_ui(state, ctx);
        ImGui::Render();
        int fw = 0, fh = 0;
        glfwGetFramebufferSize(window, &fw, &fh);
        glViewport(0, 0, fw, fh);
        const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
        glClearColor(bg.x, bg.y, bg.z, 1.0f);
        glClear(GL_COLOR_BUFFER_BIT);
        ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
        if (!capture_path.empty()) {
            if (!write_png(capture_path, fw, fh)) {
                std::fprintf(stderr, "ftpsim gui: cannot write %s\n", trace::escape_unprintable(capture_path).c_str());
                status = kExitRuntime;
                quit = true;
            } else if (unattended) {
                std::fprintf(stderr, "ftpsim gui: wrote %s (%dx%d)\n", trace::escape_unprintable(capture_path).c_str(), fw, fh);
            } else {
#ifdef __EMSCRIPTEN__
                offer_download(capture_path);  // "PNG of this window" in the browser
#endif
            }
            capture_path.clear();
        }
        if (driver.busy() && !driver.after_frame(state, ctx, error)) {
            std::fprintf(stderr, "ftpsim gui: script: %s\n", trace::escape_unprintable(error).c_str());
            status = kExitRuntime;
            quit = true;
        }
        glfwSwapBuffers(window);
        ++rendered_frames;
        return !quit;
    }
};

}  // namespace

void offer_download(const std::string& path) {
#ifdef __EMSCRIPTEN__
    EM_ASM(
        {
            const path = UTF8ToString($0);
            const data = FS.readFile(path);
            const a = document.createElement('a');
            a.href = URL.createObjectURL(new Blob([data]));
            a.download = path.split('/').pop();
            document.body.appendChild(a);
            a.click();
            a.remove();
        },
        path.c_str());
#else
    (void)path;
#endif
}

namespace {

void glfw_error(int code, const char* text) { std::fprintf(stderr, "ftpsim gui: GLFW error %d: %s\n", code, text); }

std::shared_ptr<GuiBackend> make_backend(const GuiOptions& o, std::string& error) {
    if (o.backend) return o.backend;
    if (o.trace_files.empty()) {
        error = "nothing to show: give --trace FILE.json (`ftpsim gui` attaches the simulator)";
        return nullptr;
    }
    auto b = std::make_shared<FixedTraceBackend>();
    for (const auto& path : o.trace_files) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            error = path + ": cannot open the trace file";
            return nullptr;
        }
        std::stringstream text;
        text << in.rdbuf();
        try {
            auto t = trace::from_json(text.str());
            if (t.scenario.empty()) t.scenario = path;
            b->add(std::move(t));
        } catch (const std::exception& e) {
            error = path + ": " + e.what();
            return nullptr;
        }
    }
    return b;
}

// Applies the options that describe the starting state; false with `error` on a bad one.
bool configure(const GuiOptions& o, GuiState& s, std::string& error) {
    if (!o.scenario.empty() && !s.select_scenario(o.scenario)) {
        error = "no scenario \"" + o.scenario + "\" in the library";
        return false;
    }
    for (const auto& set : o.sets) {
        const auto eq = set.find('=');
        if (eq == std::string::npos || !s.knobs().find(set.substr(0, eq))) {
            error = "--set " + set + ": no such knob in scenario " + s.scenario();
            return false;
        }
        if (!s.set_knob(set.substr(0, eq), set.substr(eq + 1))) {
            error = "--set " + set + ": not a value of this knob";
            return false;
        }
    }
    viz::LayoutOptions lo = s.layout_options();
    if (o.view == "per-hop") lo.view = viz::View::PerHop;
    else if (o.view == "end-to-end") lo.view = viz::View::EndToEnd;
    else return error = "--view: expected per-hop or end-to-end, found \"" + o.view + "\"", false;
    if (o.time == "compressed") lo.time = viz::TimeScale::Compressed;
    else if (o.time == "to-scale" || o.time == "scale") lo.time = viz::TimeScale::ToScale;
    else return error = "--time: expected compressed or to-scale, found \"" + o.time + "\"", false;
    lo.fold_handshakes = o.fold_handshakes;
    if (!o.steps.empty())
        if (auto e = viz::parse_step_range(o.steps, lo); !e.empty()) return error = "--steps: " + e, false;
    if (!o.from.empty())
        if (auto e = viz::parse_time(o.from, lo.time_from); !e.empty()) return error = "--from: " + e, false;
    if (!o.to.empty())
        if (auto e = viz::parse_time(o.to, lo.time_to); !e.empty()) return error = "--to: " + e, false;
    if (lo.time_from >= 0 && lo.time_to >= 0 && lo.time_to < lo.time_from)
        return error = "--to " + o.to + ": before --from " + o.from, false;
    lo.skip_login = o.skip_login;
    if (!o.connections.empty())
        if (auto e = viz::parse_connections(o.connections, lo); !e.empty()) return error = "--connections: " + e, false;
    for (const auto& h : o.hide_lanes) {
        bool known = false;
        std::string names;
        for (const auto& n : s.trace().nodes) {
            known = known || n.name == h;
            names += (names.empty() ? "" : ", ") + n.name;
        }
        if (!known) return error = "--hide-lane " + h + ": expected a node of the scenario (" + names + ")", false;
        lo.hidden_lanes.push_back(h);
    }
    s.set_layout(lo);
    if (o.theme == "light") s.view.theme = ThemeKind::Light;
    else if (o.theme == "dark") s.view.theme = ThemeKind::Dark;
    else return error = "--theme: expected light or dark, found \"" + o.theme + "\"", false;
    s.ui_scale = o.scale;
    s.base_font_px = o.font_px;
    if (o.zoom > 0) {
        s.view.zoom = o.zoom;
        s.fit_pending = false;
    }
    if (o.step > 0) s.go_to_step(static_cast<std::size_t>(o.step - 1));
    s.sidebar = o.sidebar;
    if (o.present) s.set_present(true, static_cast<float>(o.height));
    if (o.reveal == "all") s.reveal = Reveal::All;
    else if (o.reveal == "ghost") s.reveal = Reveal::Ghost;
    else if (o.reveal == "hide") s.reveal = Reveal::Hide;
    else if (!o.reveal.empty()) return error = "--reveal: expected all, ghost or hide, found \"" + o.reveal + "\"", false;
    if (o.challenge) s.set_challenge(true);
    return true;
}

}  // namespace

std::string gui_usage() {
    return "usage: ftpsim gui [ID] [options]\n"
           "  ID, --scenario ID      open this scenario of the library (ids as `ftpsim list` prints them)\n"
           "  --set NAME=VALUE       start with this knob value (repeatable)\n"
           "  --trace FILE.json      show a recorded trace instead (repeatable)\n"
           "  --view per-hop|end-to-end      --time compressed|to-scale      --fold-handshakes\n"
           "  --step N               the playback position (1-based)\n"
           "  --steps 5-20  --from 0.010s --to 0.050s  --skip-login  --hide-lane NAME  --connections control,data\n"
           "                         draw only a part of the ladder, as `ftpsim run` does (docs/exports.md)\n"
           "  --zoom F               vertical zoom (default: fit the diagram, kept legible)\n"
           "  --theme light|dark     --scale F (UI scale, default 1.25)     --font-size PX (at scale 1, default 18)\n"
           "  --font FILE.ttf        --size WxH (window, default 1280x800)  --no-sidebar\n"
           "  --present              presentation mode for a projector (F5): the ladder takes the screen, FTP lines\n"
           "                         whole and at least 24 px, data ports decoded, later steps hidden\n"
           "  --reveal all|ghost|hide  what the ladder shows after the current step\n"
           "  --challenge            ask the class before each reply and each data connection is shown\n"
           "  --screenshot FILE.png  render --frames N frames (default 3), write the last one, exit\n"
           "  --script \"CMD; CMD\"    scripted input, one command per frame: scenario ID, set knob NAME=VALUE,\n"
           "                         fix N, step N, next, prev, first, last, play, pause, speed S, zoom F,\n"
           "                         pan DX DY, fit, view V, time T, theme T, scale F, hover X Y, wait N,\n"
           "                         show knobs|diagnosis|tables|export, screenshot FILE.png, export FILE.EXT,\n"
           "                         expect outcome ok|failed, expect knob NAME=VALUE, expect step N, quit,\n"
           "                         present on|off, reveal all|ghost|hide, challenge on|off, next-question, answer N,\n"
           "                         failure, next-ftp, prev-ftp, next-decision, expect score K/M,\n"
           "                         expect question yes|no\n"
           "keys: F5 presentation, Space play, N/B next/previous step, ]/[ next/previous FTP line,\n"
           "      M next middlebox decision, G first failure, End last (a failed run: the failure),\n"
           "      R later steps shown/hidden/faded, Q challenge, 1-4 answer, Tab side panel\n"
           "examples:\n"
           "  ftpsim gui lecture-deck-passive-list --present\n"
           "  ftpsim gui home-router-alg-active-port-21 --present --challenge\n"
           "  ftpsim gui home-router-alg-active-port-21 --hide-lane linksys --skip-login --connections control,data\n"
           "  xvfb-run -a -s \"-screen 0 1280x720x24\" ftpsim gui lecture-deck-passive-list --present --size 1280x720 \\\n"
           "      --script \"next-ftp; next-ftp; screenshot deck.png; quit\"\n"
           "exit status: 0 ok, 1 no display or a failed write or click, 2 bad input, 3 an expect that failed\n";
}

bool parse_gui_args(const std::vector<std::string>& args, GuiOptions& o, std::string& error, bool& help) {
    help = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= args.size()) {
                error = a + ": expected a value";
                return false;
            }
            out = args[++i];
            return true;
        };
        auto number = [&](auto& out, double lo, double hi) {
            std::string v;
            if (!value(v)) return false;
            char* end = nullptr;
            const double d = std::strtod(v.c_str(), &end);
            if (v.empty() || *end || d < lo || d > hi) {
                error = a + ": expected a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                        ", found \"" + v + "\"";
                return false;
            }
            out = static_cast<std::remove_reference_t<decltype(out)>>(d);
            return true;
        };
        std::string v;
        if (a == "-h" || a == "--help") {
            help = true;
            return true;
        } else if (a == "--scenario") {
            if (!value(o.scenario)) return false;
        } else if (a == "--set") {
            if (!value(v)) return false;
            o.sets.push_back(v);
        } else if (a == "--trace") {
            if (!value(v)) return false;
            o.trace_files.push_back(v);
        } else if (a == "--view") {
            if (!value(o.view)) return false;
        } else if (a == "--time") {
            if (!value(o.time)) return false;
        } else if (a == "--fold-handshakes") {
            o.fold_handshakes = true;
        } else if (a == "--steps") {
            if (!value(o.steps)) return false;
        } else if (a == "--from") {
            if (!value(o.from)) return false;
        } else if (a == "--to") {
            if (!value(o.to)) return false;
        } else if (a == "--skip-login") {
            o.skip_login = true;
        } else if (a == "--hide-lane") {
            if (!value(v)) return false;
            o.hide_lanes.push_back(v);
        } else if (a == "--connections") {
            if (!value(o.connections)) return false;
        } else if (a == "--step") {
            if (!number(o.step, 0, 1e12)) return false;
        } else if (a == "--zoom") {
            if (!number(o.zoom, 1e-6, 100)) return false;
        } else if (a == "--theme") {
            if (!value(o.theme)) return false;
        } else if (a == "--scale") {
            if (!number(o.scale, 0.5, 4)) return false;
        } else if (a == "--font-size") {
            if (!number(o.font_px, 6, 96)) return false;
        } else if (a == "--font") {
            if (!value(o.font)) return false;
        } else if (a == "--size") {
            if (!value(v)) return false;
            int w = 0, h = 0;
            char x = 0;
            std::istringstream in(v);
            if (!(in >> w >> x >> h) || x != 'x' || w < 320 || h < 240 || w > 16384 || h > 16384) {
                error = "--size: expected WIDTHxHEIGHT such as 1280x800, found \"" + v + "\"";
                return false;
            }
            o.width = w;
            o.height = h;
        } else if (a == "--no-sidebar") {
            o.sidebar = false;
        } else if (a == "--present") {
            o.present = true;
        } else if (a == "--challenge") {
            o.challenge = true;
        } else if (a == "--reveal") {
            if (!value(o.reveal)) return false;
        } else if (!a.empty() && a[0] != '-' && o.scenario.empty()) {
            o.scenario = a;  // `ftpsim gui ID`
        } else if (a == "--screenshot") {
            if (!value(o.screenshot)) return false;
        } else if (a == "--frames") {
            if (!number(o.frames, 1, 100000)) return false;
        } else if (a == "--script") {
            if (!value(o.script)) return false;
        } else {
            error = !a.empty() && a[0] != '-' ? "one scenario id only, found a second: \"" + a + "\"" : "unknown option \"" + a + "\"";
            return false;
        }
    }
    return true;
}

int main_from_args(int argc, char** argv, std::shared_ptr<GuiBackend> backend) {
    std::vector<std::string> args(argv, argv + argc);
    if (args.empty()) args.push_back("gui");
    // `ftpsim gui ...` passes its whole command line: drop the subcommand's name
    if (args.size() > 1 && args[1] == "gui") args.erase(args.begin() + 1);
    GuiOptions o;
    std::string error;
    bool help = false;
    if (!parse_gui_args(args, o, error, help)) {
        std::fprintf(stderr, "ftpsim gui: %s\n%s", trace::escape_unprintable(error).c_str(), gui_usage().c_str());
        return kExitBadInput;
    }
    if (help) {
        std::fputs(gui_usage().c_str(), stdout);
        return kExitOk;
    }
    o.backend = std::move(backend);
    return run_gui(o);
}

int run_gui(const GuiOptions& o) {
    std::string error;
    auto backend = make_backend(o, error);
    if (!backend) {
        std::fprintf(stderr, "ftpsim gui: %s\n", error.c_str());
        return kExitBadInput;
    }
    auto owned_state = std::make_unique<GuiState>(backend);
    GuiState& state = *owned_state;
    if (!configure(o, state, error)) {
        std::fprintf(stderr, "ftpsim gui: %s\n", error.c_str());
        return kExitBadInput;
    }
    std::vector<ScriptCommand> script_cmds;
    if (!o.script.empty() && !parse_script(o.script, script_cmds, error)) {
        std::fprintf(stderr, "ftpsim gui: %s\n", error.c_str());
        return kExitBadInput;
    }
    std::deque<ScriptCommand> script(script_cmds.begin(), script_cmds.end());
    const bool unattended = !o.screenshot.empty() || !script.empty();

    glfwSetErrorCallback(glfw_error);
    if (!glfwInit()) {
        std::fprintf(stderr,
                     "ftpsim gui: cannot open a window (no display?). Set DISPLAY, or run headless with\n"
                     "  xvfb-run -a -s \"-screen 0 1280x800x24\" ftpsim gui --screenshot out.png\n");
        return kExitRuntime;
    }
#ifdef __EMSCRIPTEN__
    // WebGL 2 is OpenGL ES 3.0: GLSL ES 3.00
    const char* glsl = "#version 300 es";
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    GLFWwindow* window = glfwCreateWindow(o.width, o.height, "ftpsim", nullptr, nullptr);
#else
    // GL 3.0 + GLSL 130 runs almost everywhere; fall back to a 3.3 core profile (macOS-style drivers).
    const char* glsl = "#version 130";
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    GLFWwindow* window = glfwCreateWindow(o.width, o.height, "ftpsim", nullptr, nullptr);
    if (!window) {
        glsl = "#version 330 core";
        glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
        glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
        glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
        window = glfwCreateWindow(o.width, o.height, "ftpsim", nullptr, nullptr);
    }
#endif
    if (!window) {
        std::fprintf(stderr, "ftpsim gui: cannot create an OpenGL 3 window\n");
        glfwTerminate();
        return kExitRuntime;
    }
    glfwMakeContextCurrent(window);
    glfwSwapInterval(unattended ? 0 : 1);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // the layout is fixed; nothing to remember
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    ImGui_ImplOpenGL3_Init(glsl);

    // Everything one frame needs, so that the frame can run from a loop (native) or from the
    // browser's animation callback (the web build returns to the browser after each frame).
    auto run = std::make_unique<FrameLoop>(o, std::move(owned_state), std::move(script), unattended, window);
#ifdef __EMSCRIPTEN__
    FrameLoop* loop = run.release();  // lives as long as the page
    emscripten_set_main_loop_arg(
        [](void* arg) {
            auto* l = static_cast<FrameLoop*>(arg);
            if (!l->frame()) {
                emscripten_cancel_main_loop();
                std::fprintf(stderr, "ftpsim gui: finished with status %d\n", l->status);
                EM_ASM({ if (Module.onGuiExit) Module.onGuiExit($0); }, l->status);
            }
        },
        loop, 0, true);
    return kExitOk;  // not reached: simulate_infinite_loop
#else
    while (run->frame()) {
    }
    const int status = run->status;
    run.reset();
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window);
    glfwTerminate();
    return status;
#endif
}

}  // namespace ftpsim::gui
