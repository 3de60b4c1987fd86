// The browser build's entry point (issue #21): the teaching app of `ftpsim gui` with the simulator
// behind it, running on the single-threaded engine. The page (web/index.html) turns its URL
// (?scenario=ID&set=KEY=VALUE&step=N&script=...) into the same options `ftpsim gui` takes.
#include <memory>
#include <string>

#include "viz/gui/app.hpp"
#include "viz/gui/backend.hpp"

// The screenshot writer (the native build links Debian's libstb, the browser build compiles the
// header-only implementation here).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace ftpsim::app {
// The scenario library is embedded in the page's file system at /scenarios (web/web.cmake).
std::string library_dir() { return "/scenarios"; }
std::shared_ptr<gui::GuiBackend> make_sim_backend();
}  // namespace ftpsim::app

#include <emscripten.h>

int main(int argc, char** argv) {
    // The app's loop never returns here (it runs from the browser's animation callback); a return
    // is an early end (bad options, an unknown scenario): the page learns its status as when the
    // app's script quits.
    const int status = ftpsim::gui::main_from_args(argc, argv, ftpsim::app::make_sim_backend());
    EM_ASM({ if (Module.onGuiExit) Module.onGuiExit($0); }, status);
    return status;
}
