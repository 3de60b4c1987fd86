// Simulated file contents (protocol/vfs.hpp generated_content): lines "<path> line <n>\n", any
// byte range of them. Checked against the byte-by-byte definition.
#include <doctest/doctest.h>

#include <string>

#include "protocol/vfs.hpp"

namespace {

std::string reference(const std::string& path, std::uint64_t offset, std::uint64_t size) {
    std::string all;
    for (std::uint64_t line = 1; all.size() < offset + size; ++line) all += path + " line " + std::to_string(line) + "\n";
    return all.substr(offset, size);
}

}  // namespace

TEST_CASE("generated file contents: any range is the slice of the numbered lines") {
    const std::string path = "/pub/file.bin";
    CHECK(ftpsim::proto::generated_content(path, 0, 41) == "/pub/file.bin line 1\n/pub/file.bin line 2");
    for (std::uint64_t offset : {0ull, 1ull, 20ull, 21ull, 22ull, 999ull, 4096ull, 65535ull})
        for (std::uint64_t size : {0ull, 1ull, 20ull, 21ull, 1460ull, 7000ull}) {
            CAPTURE(offset);
            CAPTURE(size);
            CHECK(ftpsim::proto::generated_content(path, offset, size) == reference(path, offset, size));
        }
    CHECK(ftpsim::proto::generated_content(path, 100000, 1460).size() == 1460);
}
