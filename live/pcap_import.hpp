// `ftpsim import`: a trace built from a real capture of an FTP session (docs/live.md, "Import").
//
// Reads a capture with libpcap (pcap or pcapng; link types Ethernet, Linux cooked SLL and SLL2,
// raw IP, BSD loopback), IPv4 and IPv6, reassembles each TCP connection per direction in sequence
// order (retransmissions and overlaps dropped, out-of-order segments held until the gap fills,
// bytes that were never captured reported as a note, not invented), finds the FTP control
// connections (a port in `control_ports`, or a server that greets with 220), parses commands and
// replies with protocol/codec.hpp, matches data connections to their control connection by the
// PORT / EPRT / 227 / 229 announcements (and SPSV's SPDT line), and records it all with
// live::Recorder: the same events a live recording makes, so both draw the same ladder.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "trace/trace.hpp"

namespace ftpsim::live {

// Bad input: the message starts with the file name and says what was expected.
class ImportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ImportOptions {
    std::vector<std::uint16_t> control_ports{21};  // besides, any server that greets with "220"
    bool segments = false;  // also record one Segment event per captured TCP segment
};

// What the import found besides the trace (printed by `ftpsim import`).
struct ImportStats {
    std::uint64_t packets = 0;        // frames read
    std::uint64_t tcp_segments = 0;   // TCP segments decoded
    std::uint64_t skipped = 0;        // frames that are not IPv4/IPv6 TCP (ARP, UDP, fragments...)
    int control_connections = 0;
    int data_connections = 0;
    int other_connections = 0;        // TCP connections that are neither (not drawn)
    std::uint64_t missing_bytes = 0;  // sequence-space gaps never filled by the capture
    std::vector<std::string> warnings;
};

// Throws ImportError for a file that is not a capture, a truncated capture, an unsupported link
// type, a capture with no packets, or one without an FTP control connection.
trace::Trace import_pcap(const std::string& path, const ImportOptions& opt, ImportStats* stats = nullptr);

// The longest time a trace JSON may hold (time_ns, arrive_ns): 1e17 ns, about 3 years.
constexpr trace::TimeNs kMaxTraceTimeNs = 100'000'000'000'000'000;

// A file's content decides: a JSON object (a trace such as `ftpsim serve --trace` writes) is
// loaded with trace::from_json; anything else is read as a capture.
trace::Trace import_file(const std::string& path, const ImportOptions& opt, ImportStats* stats = nullptr);

}  // namespace ftpsim::live
