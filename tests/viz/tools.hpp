// Running the real validators (xmllint, rsvg-convert, plantuml, mscgen, tshark, node) from tests.
#pragma once

#include <filesystem>
#include <string>

namespace ftpsim::testing {

struct RunResult {
    int status = -1;       // exit status; -1 when the command could not run
    std::string output;    // stdout and stderr together
};

RunResult run(const std::string& command);
bool have_tool(const std::string& name);
std::string shell_quote(const std::string& s);

// A fresh directory under the system temp dir, removed with its contents at the end of scope
// (kept when FTPSIM_KEEP_TMP is set, for looking at the files).
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& p, const std::string& bytes);
std::string read_file(const std::filesystem::path& p);

}  // namespace ftpsim::testing
