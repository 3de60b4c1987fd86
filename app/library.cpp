// Where ftpsim finds its scenario library (docs: README.md "Installing"). Never a source path
// compiled into the binary: the library is found, in this order,
//   1. --library DIR (set_library_override),
//   2. the environment variable FTPSIM_LIBRARY,
//   3. a build tree's marker file next to the binary (ftpsim-library-path, written by the build:
//      one line, the source's scenarios/ folder relative to the binary's folder; never installed),
//   4. the installed library relative to the binary (FTPSIM_LIBRARY_RELATIVE, from GNUInstallDirs:
//      ../share/ftpsim/scenarios from bin/ by default),
// and a missing one is reported (exit 2) with the places looked at.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "app/commands.hpp"

#ifndef FTPSIM_LIBRARY_RELATIVE
#define FTPSIM_LIBRARY_RELATIVE "../share/ftpsim/scenarios"
#endif

namespace fs = std::filesystem;

namespace ftpsim::app {

namespace {

std::optional<std::string>& override_dir() {
    static std::optional<std::string> dir;
    return dir;
}

// The folder of the running executable (Linux: /proc/self/exe), "" when it cannot be read.
fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    return exe.parent_path();
}

}  // namespace

void set_library_override(const std::string& dir) { override_dir() = dir; }

std::string library_dir() {
    if (override_dir()) {
        if (!fs::is_directory(*override_dir()))
            throw LibraryNotFound("--library " + *override_dir() + ": no such folder");
        return *override_dir();
    }
    if (const char* env = std::getenv("FTPSIM_LIBRARY"); env && *env) {
        if (!fs::is_directory(env)) throw LibraryNotFound(std::string("FTPSIM_LIBRARY=") + env + ": no such folder");
        return env;
    }
    const fs::path bin = executable_dir();
    std::string looked;
    if (!bin.empty()) {
        const fs::path marker = bin / "ftpsim-library-path";
        if (std::ifstream in(marker); in) {
            std::string rel;
            std::getline(in, rel);
            const fs::path dir = (bin / rel).lexically_normal();
            if (!rel.empty() && fs::is_directory(dir)) return dir.string();
            looked.append(" ").append(dir.string()).append(" (from ").append(marker.string()).append("),");
        }
        const fs::path installed = (bin / FTPSIM_LIBRARY_RELATIVE).lexically_normal();
        if (fs::is_directory(installed)) return installed.string();
        looked.append(" ").append(installed.string());
    } else {
        looked = " (the executable's folder is unknown: /proc/self/exe unreadable)";
    }
    throw LibraryNotFound("no scenario library found; looked at" + looked +
                          "; name one with --library DIR or FTPSIM_LIBRARY=DIR");
}

}  // namespace ftpsim::app
