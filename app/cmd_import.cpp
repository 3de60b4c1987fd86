// `ftpsim import FILE`: a capture (pcap/pcapng) or a trace JSON (e.g. `ftpsim serve --trace`)
// drawn and exported like a simulated run (docs/live.md, "Import").
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "app/commands.hpp"
#include "app/output.hpp"
#include "live/pcap_import.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"

namespace ftpsim::app {

int cmd_import(const ImportFlags& f) {
    for (const auto& p : f.exports)
        if (!viz::find_exporter(p)) {
            print_error("--export " + p + ": unknown file extension; expected " + viz::export_extensions());
            return kExitBadInput;
        }
    live::ImportOptions io;
    io.segments = f.segments;
    for (int p : f.control_ports) {
        if (p < 1 || p > 65535) {
            print_error("--control-port " + std::to_string(p) + ": expected a TCP port number from 1 to 65535");
            return kExitBadInput;
        }
        io.control_ports.push_back(static_cast<std::uint16_t>(p));
    }
    live::ImportStats st;
    trace::Trace t;
    try {
        t = live::import_file(f.file, io, &st);
    } catch (const live::ImportError& e) {
        print_error(e.what());
        return kExitBadInput;
    }

    // A command-level trace (a live recording, an import without --segments) has no packets.
    const bool has_segments = std::any_of(t.events.begin(), t.events.end(), [](const trace::Event& e) {
        return e.kind == trace::EventKind::Segment;
    });
    for (const auto& p : f.exports)
        if (!has_segments && p.size() >= 5 && p.compare(p.size() - 5, 5, ".pcap") == 0) {
            print_error("--export " + p +
                        ": this trace has no TCP segments to write (a live recording, or an import "
                        "without --segments, is command-level); import the capture with --segments");
            return kExitBadInput;
        }

    viz::ExportOptions eo;
    if (std::string err = export_options(f.view, t, eo); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    const bool colour = colour_wanted(f.view.color);
    bool text_refused = false;
    if (f.exports.empty()) {
        if (st.packets)
            std::cout << st.packets << " packets, " << st.control_connections << " control and "
                      << st.data_connections << " data connection" << (st.data_connections == 1 ? "" : "s")
                      << (st.other_connections ? ", " + std::to_string(st.other_connections) + " other TCP connections (not drawn)" : "")
                      << (st.missing_bytes ? ", " + std::to_string(st.missing_bytes) + " bytes missing from the capture" : "")
                      << "\n";
        std::cout << "\n";
        text_refused = !print_ladder(t, eo, colour, "import");
        std::cout << outcome_text(t, colour);
        for (const auto& n : t.model_notes) std::cout << "Model: " << n << "\n";
    }
    for (const auto& w : st.warnings) print_error("ftpsim import: " + f.file + ": " + w);
    if (std::string err = write_exports(f.exports, t, eo); !err.empty()) {
        print_error(err);
        return kExitBadInput;
    }
    return text_refused ? kExitBadInput : kExitOk;
}

}  // namespace ftpsim::app
