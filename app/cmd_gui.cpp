#include <cstdio>

#include "app/commands.hpp"

#ifdef FTPSIM_HAVE_GUI
#include "viz/gui/app.hpp"
#endif

namespace ftpsim::app {

#ifdef FTPSIM_HAVE_GUI
std::shared_ptr<gui::GuiBackend> make_sim_backend();  // gui_backend.cpp
#endif

int cmd_gui(int argc, char** argv) {
#ifdef FTPSIM_HAVE_GUI
    return gui::main_from_args(argc, argv, make_sim_backend());
#else
    (void)argc;
    (void)argv;
    std::fprintf(stderr, "ftpsim gui: this build has no GUI (configure with -DFTPSIM_GUI=ON)\n");
    return kExitBadInput;
#endif
}

}  // namespace ftpsim::app
