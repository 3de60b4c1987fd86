// The exporter table (viz/export.hpp): the one list the CLI, its help and the GUI's menu read.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "viz/export.hpp"

using namespace ftpsim::viz;

TEST_CASE("exporter table: each extension names one exporter, and choosing by path goes through it") {
    std::set<std::string> names, extensions;
    for (const auto& x : exporters()) {
        CAPTURE(x.name);
        CHECK(names.insert(std::string(x.name)).second);
        CHECK_FALSE(x.label.empty());
        REQUIRE_FALSE(x.extensions.empty());
        for (auto e : x.extensions) {
            CHECK(extensions.insert(std::string(e)).second);
            CHECK(find_exporter("out/ladder." + std::string(e)) == &x);
            CHECK(export_extensions().find("." + std::string(e)) != std::string::npos);
        }
        if (x.format) {
            CHECK(format_from_path(std::string("a.") + std::string(x.extensions.front())) == x.format);
            CHECK(std::string(format_name(*x.format)) == x.name);
        }
    }
    CHECK(names == std::set<std::string>{"svg", "plantuml", "mermaid", "mscgen", "text", "json", "pcap"});
    CHECK(find_exporter("a.PUML") == find_exporter("a.puml"));
    CHECK(find_exporter("a.docx") == nullptr);
    CHECK(export_extensions() == ".svg .puml .plantuml .mmd .mermaid .msc .txt .text .json .pcap");
}
