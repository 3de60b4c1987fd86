// The sans-IO contract of the FTP sessions (h11 / ngtcp2 style).
//
// A session never touches a socket, a clock or a random source. The caller (the simulator, the
// live-mode socket loop, or the SessionPair test helper) feeds it inputs and drains its queue of
// actions:
//
//   inputs : bytes received on the control connection; data-connection events; the current time
//            with every call; timer expiry (poll next_expiry(), call on_timer(now)).
//   outputs: Action values, in order: control bytes to send, a port to listen on, an address to
//            connect to, data bytes to send, connections to close, explanation lines.
//
// Data connections are named by a DataId that the session chooses; the caller reports every
// event about that connection with the same id.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/address.hpp"

namespace ftpsim::proto {

using Time = std::int64_t;  // simulated (or real) time in nanoseconds; always passed in
constexpr Time kNever = INT64_MAX;

using DataId = std::uint32_t;

// ---- Actions (session -> caller) -------------------------------------------------------------

struct SendControl {        // write these bytes on the control connection
    std::string bytes;
};
struct Listen {             // open a listening socket for data connection `id`
    DataId id = 0;
    IpAddress addr;         // local address to bind (unspecified = the control connection's)
    std::uint16_t port_lo = 0, port_hi = 0;  // a port from [lo, hi]; 0,0 = any ephemeral port
};
struct StopListening {
    DataId id = 0;
};
struct Connect {            // open data connection `id` to `remote`
    DataId id = 0;
    HostPort remote;
    std::optional<std::uint16_t> local_port;  // e.g. 20 (connect_from_port_20)
    // SPSV (draft-rosenau 3.2): the connection starts with control text ("220 ...", "SPDT id",
    // "200 DATA"); the file follows "200 DATA".
    bool single_port = false;
};
struct SendData {           // write bytes on data connection `id`
    DataId id = 0;
    std::string bytes;
};
struct CloseData {          // close data connection `id` (FIN), or reset it (RST) when abort
    DataId id = 0;
    bool abort = false;
};
struct CloseControl {       // close the control connection (after the queued bytes are sent)
    bool abort = false;
};
struct Explain {            // one line for the learner: "the client listens on ... and announces it with PORT"
    std::string text;
};

using Action = std::variant<SendControl, Listen, StopListening, Connect, SendData, CloseData,
                            CloseControl, Explain>;

// ---- Data-connection events (caller -> session) ---------------------------------------------

struct DataListening {      // the listen succeeded; this is the bound address
    DataId id = 0;
    HostPort local;
};
struct DataListenFailed {   // no free port in the range
    DataId id = 0;
};
struct DataConnected {      // handshake complete (either direction)
    DataId id = 0;
    HostPort local;
    HostPort remote;        // the peer as seen from here (after any NAT)
};
struct DataRefused {        // RST answered our SYN
    DataId id = 0;
};
struct DataTimedOut {       // our SYN was never answered within the connect timeout
    DataId id = 0;
};
struct DataBytes {
    DataId id = 0;
    std::string bytes;
};
struct DataClosed {         // the peer closed (FIN received)
    DataId id = 0;
};
struct DataReset {          // the connection was reset mid-way
    DataId id = 0;
};
// Every byte the session asked to send on data connection `id` has been delivered to the peer
// (acknowledged), and our FIN too if we closed. It stands for "the last write() and close() of
// the data socket have returned": a sending server's final 226 waits for it (docs/server.md).
// The client session ignores it.
struct DataDrained {
    DataId id = 0;
};

using DataEvent = std::variant<DataListening, DataListenFailed, DataConnected, DataRefused,
                               DataTimedOut, DataBytes, DataClosed, DataReset, DataDrained>;

// ---- Randomness, supplied by the caller --------------------------------------------------------
// Returns a uniformly distributed 64-bit value. The simulator seeds it from the scenario's seed.
using RandomSource = std::function<std::uint64_t()>;

}  // namespace ftpsim::proto
