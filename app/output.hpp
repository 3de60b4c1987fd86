// Turning a trace into what the terminal shows and into export files.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/commands.hpp"
#include "trace/trace.hpp"
#include "viz/export.hpp"

namespace ftpsim::app {

// Builds the exporters' options from the command-line flags. Returns "" or an error message.
std::string export_options(const ViewFlags& v, const trace::Trace& t, viz::ExportOptions& out);
// Writes every --export file; returns "" or an error message (unknown extension, unwritable file).
std::string write_exports(const std::vector<std::string>& paths, const trace::Trace& t,
                          const viz::ExportOptions& o);
bool colour_wanted(const std::string& flag);
// Prints `message` and a line end on stderr, every control character and byte that is not text
// escaped (trace/printable.hpp): a diagnostic quotes what the user gave (a value, a file name, an
// argument, a capture's line), and what it quotes must not drive the terminal. Every diagnostic
// of the command line goes through here.
void print_error(std::string_view message);
// std::cerr for a layer that writes its diagnostics and log to a stream (live::serve): each line
// is printed as print_error prints it, when its line end arrives (a line still open at exit is
// printed then).
std::ostream& escaped_stderr();
std::string outcome_text(const trace::Trace& t, bool colour);
// Prints the text ladder and a blank line on stdout. A trace too large for the text ladder is
// refused as `--export x.txt` refuses it: "ftpsim COMMAND: why" and `hint` on stderr, and false
// (the outcome and the exports still follow; the caller's exit status says it).
bool print_ladder(const trace::Trace& t, const viz::ExportOptions& eo, bool colour, const char* command,
                  const char* hint = "");

}  // namespace ftpsim::app
