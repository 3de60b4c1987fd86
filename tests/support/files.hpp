// A file's bytes, whole (empty when it cannot be read): one copy for the tests that read a trace,
// a served file or a golden back.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace ftpsim::testing {

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace ftpsim::testing
