// `ftpsim import` on arbitrary bytes: the capture and trace campaign of issue #17 as a target.
// import_file must return a trace or throw ImportError (a capture: pcap/pcapng parsing,
// reassembly, FTP parsing; a JSON object: trace::from_json and its range checks), never crash,
// hang or throw anything else. A trace it returns must survive the JSON round trip, and its
// layout and text ladder must be built (or the text refused with ExportError, the size limit).
#include <sys/mman.h>
#include <unistd.h>

#include <exception>
#include <string>
#include <typeinfo>

#include "common.hpp"
#include "live/pcap_import.hpp"
#include "trace/json.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"

using namespace ftpsim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // import_file reads a path: the input in an anonymous memory file.
    static const int fd = ::memfd_create("fuzz-import", 0);
    if (fd < 0) return 0;
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
    const std::string path = "/proc/self/fd/" + std::to_string(fd);

    trace::Trace t;
    try {
        live::ImportOptions opt;
        opt.segments = size % 2 == 1;  // both the command-level and the packet-level trace
        t = live::import_file(path, opt);
    } catch (const live::ImportError& e) {
        FUZZ_CHECK(std::string(e.what()).rfind(path, 0) == 0, e.what());  // names the file
        return 0;
    } catch (const std::exception& e) {
        FUZZ_CHECK(!"import_file threw something other than ImportError",
                   std::string(typeid(e).name()) + ": " + e.what());
    }
    // What was imported is a valid trace: written and read back, it is the same.
    const std::string json = trace::to_json(t);
    try {
        const trace::Trace back = trace::from_json(json);
        FUZZ_CHECK(trace::to_json(back) == json, "JSON round trip differs");
    } catch (const std::exception& e) {
        FUZZ_CHECK(!"the imported trace does not read back", e.what());
    }
    try {
        const viz::Diagram d = viz::layout(t, viz::LayoutOptions{});
        (void)viz::to_text(d, viz::TextOptions{});
    } catch (const viz::ExportError&) {
        // the text ladder's size limit: refused with a message
    }
    return 0;
}
