#include <cstdio>

#include "app/commands.hpp"

#ifdef FTPSIM_HAVE_GUI
#include "viz/gui/app.hpp"
#endif

namespace ftpsim::app {

int cmd_gui(int argc, char** argv) {
#ifdef FTPSIM_HAVE_GUI
    return gui::main_from_args(argc, argv);
#else
    (void)argc;
    (void)argv;
    std::fprintf(stderr, "ftpsim gui: this build has no GUI (configure with -DFTPSIM_GUI=ON)\n");
    return kExitBadInput;
#endif
}

}  // namespace ftpsim::app
