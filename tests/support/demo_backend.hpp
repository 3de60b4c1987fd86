// Built-in teaching examples generated in code (no simulator): active and passive FTP through a
// home NAT, with the ALG and the client's mode as knobs. Hand-made but consistent traces for the
// GUI's headless tests (they need no simulator). Moved here from viz/gui/backend.cpp: only tests
// use them; `ftpsim gui` runs the simulator (app/gui_backend.cpp).
#pragma once

#include <memory>

#include "viz/gui/backend.hpp"

namespace ftpsim::gui {

std::unique_ptr<GuiBackend> make_demo_backend();

}  // namespace ftpsim::gui
