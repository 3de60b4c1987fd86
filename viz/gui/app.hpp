// The teaching app's entry point: a GLFW window with an OpenGL 3 context running the ImGui
// panels of ui.hpp. `ftpsim gui` (app/) calls main_from_args or run_gui.
//
// Screenshot mode (--screenshot FILE.png --frames N) renders N frames with no interaction and
// writes the last one; under a headless X server:
//   xvfb-run -a -s "-screen 0 1280x800x24" ftpsim gui --screenshot out.png
#pragma once

#include "viz/gui/backend.hpp"

#include <memory>
#include <string>
#include <vector>

namespace ftpsim::gui {

struct GuiOptions {
    std::shared_ptr<GuiBackend> backend;   // nullptr: trace_files (one of the two is needed)
    std::vector<std::string> trace_files;  // --trace FILE.json (repeatable): show recorded traces
    std::string scenario;                  // --scenario ID: the library entry to open
    std::vector<std::string> sets;         // --set NAME=VALUE: knob values to start with

    int width = 1280, height = 800;        // --size WxH
    float scale = 1.25f;                   // --scale: UI scale (fonts, lines, spacing)
    float font_px = 18;                    // --font-size: at scale 1
    std::string font;                      // --font FILE.ttf (default DejaVu Sans)
    std::string theme = "light";           // --theme light|dark

    std::string view = "per-hop";          // --view per-hop|end-to-end
    std::string time = "compressed";       // --time compressed|to-scale
    bool fold_handshakes = false;          // --fold-handshakes
    // The selection for slides, the same words as `ftpsim run` (viz::LayoutOptions).
    std::string steps;                     // --steps 5-20
    std::string from, to;                  // --from 0.010s --to 0.050s
    bool skip_login = false;               // --skip-login
    std::vector<std::string> hide_lanes;   // --hide-lane NAME (repeatable)
    std::string connections;               // --connections control,data,signalling
    float zoom = 0;                        // --zoom F (0: fit)
    long step = 0;                         // --step N: the playback position (1-based; 0: first)
    bool sidebar = true;                   // --no-sidebar
    bool present = false;                  // --present: presentation mode from the start
    std::string reveal;                    // --reveal all|ghost|hide (empty: the mode's default)
    bool challenge = false;                // --challenge

    std::string screenshot;                // --screenshot FILE.png: render, write, exit
    int frames = 3;                        // --frames N: frames to render before the screenshot
    std::string script;                    // --script "cmd; cmd; ...": see script.hpp
};

// Runs the app; returns the process exit status (0 ok, 1 a runtime failure such as no display,
// an unwritable screenshot or a scripted click that did not take, 2 bad options or a script
// error, 3 a script's `expect` that found something else).
int run_gui(const GuiOptions& options);

// Parses the gui subcommand's arguments (argv[0] is the program or subcommand name and is
// skipped). Returns false with `error` set on a bad option; `help` is set for --help.
bool parse_gui_args(const std::vector<std::string>& args, GuiOptions& out, std::string& error, bool& help);
std::string gui_usage();

// parse_gui_args + run_gui; prints usage and errors on stderr. `backend` plugs in the simulator.
// Takes either the gui's own arguments (argv[0] then options) or the whole `ftpsim gui ...`
// command line (argv[1] == "gui" is skipped).
int main_from_args(int argc, char** argv, std::shared_ptr<GuiBackend> backend = nullptr);

}  // namespace ftpsim::gui
