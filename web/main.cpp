// The browser build's entry point (placeholder while the engine part lands).
#include "viz/gui/app.hpp"
int main(int argc, char** argv) { return ftpsim::gui::main_from_args(argc, argv); }
