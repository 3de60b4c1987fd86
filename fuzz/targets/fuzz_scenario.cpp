// The scenario loader on arbitrary text: load_string must return a Scenario or throw
// ScenarioError (with a file:line:col mark), never crash, hang or throw anything else
// (YAML::Exception, std::out_of_range, std::invalid_argument, ...). Lines "#set a.b=c" (YAML
// comments) are passed as --set overrides. The value parsers shared with
// the command line (parse_duration, parse_bandwidth, parse_size, nearest_key) get the first line.
#include <exception>
#include <string>
#include <typeinfo>
#include <vector>

#include "common.hpp"
#include "sim/scenario/loader.hpp"

using namespace ftpsim::scenario;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    const std::string_view first = in.substr(0, std::min<std::size_t>(in.find('\n'), 64));
    std::int64_t ns = 0;
    double bps = 0;
    std::uint64_t bytes = 0;
    (void)parse_duration(first, ns);
    (void)parse_bandwidth(first, bps);
    (void)parse_size(first, bytes);
    (void)nearest_key(first, {"latency", "bandwidth", "nodes", "links", "clients", "servers"});

    // "#set a.b=c" lines (YAML comments) become --set overrides.
    std::vector<std::string> sets;
    for (std::size_t pos = 0; (pos = in.find("#set ", pos)) != std::string_view::npos; pos += 5) {
        if (pos != 0 && in[pos - 1] != '\n') continue;
        const auto end = in.find('\n', pos);
        sets.emplace_back(in.substr(pos + 5, end == std::string_view::npos ? end : end - pos - 5));
    }
    try {
        Scenario s = load_string(in, "fuzz.yaml", sets);
        (void)s;
    } catch (const ScenarioError& e) {
        // Errors in the document name the file; errors in an override name "--set <override>".
        FUZZ_CHECK(e.mark().file == "fuzz.yaml" || e.mark().file.starts_with("--set"), e.what());
        FUZZ_CHECK(e.mark().line >= 0 && e.mark().column >= 0, e.what());
    } catch (const std::exception& e) {
        std::string detail = std::string(typeid(e).name()) + ": " + e.what();
        FUZZ_CHECK(!"load_string threw something other than ScenarioError", detail);
    } catch (...) {
        FUZZ_CHECK(!"load_string threw a non-std exception", "");
    }
    return 0;
}
