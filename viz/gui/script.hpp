// Scripted input for the GUI: a test or a documentation build drives the app with commands
// instead of a mouse ("scenario demo-active-nat; set knob routers.home.alg=on; step 12;
// screenshot out.png"). One command runs per frame, so each one's effect is drawn before the
// next; `wait N` renders N more frames.
#pragma once

#include <string>
#include <vector>

namespace ftpsim::gui {

struct ScriptCommand {
    std::string verb;                // "step", "set", "screenshot", ...
    std::vector<std::string> args;   // the words after the verb
    std::string text;                // the command as written, for messages
};

// Splits on ';' and newlines, then on spaces. Verbs are checked by parse_script.
// Known verbs and their arguments:
//   scenario ID            pick a scenario from the library
//   set knob NAME=VALUE    change a knob (re-simulates)
//   fix N                  apply the diagnosis' fix number N (1-based)
//   step N | next | prev | first | last        move the playback position
//   play | pause | speed S                     playback (S steps per second)
//   zoom F | pan DX DY | fit                   the ladder view
//   view per-hop|end-to-end | time to-scale|compressed
//   theme light|dark | scale F                 appearance (scale: the projector scale)
//   hover X Y              put the mouse at window pixel (X, Y) (shows the tooltip)
//   show knobs|diagnosis|tables|export        scroll the side panel to that section
//   wait N                 render N frames
//   screenshot FILE.png    write the next frame to a PNG
//   export FILE.EXT        export the trace (.svg .puml .mmd .msc .txt .json .pcap)
//   expect outcome ok|failed | expect knob NAME=VALUE | expect step N
//                          check the app's state; the app exits with status 3 when it differs
//   quit
// In the app, `set knob` and `fix` click the widgets a user would click (driver.hpp).
bool parse_script(const std::string& text, std::vector<ScriptCommand>& out, std::string& error);

}  // namespace ftpsim::gui
