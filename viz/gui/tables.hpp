// The middlebox state at a moment of a trace, rebuilt from the trace's events: NAT mappings,
// connection tracking (with ALG expectations) and firewall hits. Until the simulator records
// snapshots of its tables, this is what the GUI's side panels show at the playback position.
#pragma once

#include "sim/trace/trace.hpp"

#include <string>
#include <vector>

namespace ftpsim::gui {

struct NatRow {
    std::string node;     // the translating middlebox
    std::string inside;   // "192.168.1.10:50069"
    std::string outside;  // "203.0.113.1:50069"
    std::string peer;     // the remote endpoint the mapping was made for
    std::string kind;     // "SNAT" (source rewritten) or "DNAT" (destination rewritten)
    int conn = -1;
    trace::TimeNs since_ns = 0;
};

struct ConntrackRow {
    int conn = -1;
    std::string purpose;  // control / data
    std::string tuple;    // "192.168.1.10:50000 -> 203.0.113.20:21"
    std::string state;    // SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSED, FAILED
    trace::TimeNs last_ns = 0;
};

struct MiddleboxLogRow {
    std::string node;
    std::string text;
    std::string reason;
    trace::TimeNs time_ns = 0;
    bool expectation = false;  // an ALG expectation ("expect ...")
    bool hit = false;          // a drop or a reject (a firewall or routing decision)
};

struct TablesAt {
    std::vector<NatRow> nat;
    std::vector<ConntrackRow> conntrack;
    std::vector<MiddleboxLogRow> expectations;  // ALG expectations created so far
    std::vector<MiddleboxLogRow> hits;          // drops and rejects so far
};

// The tables after events[0..upto] (inclusive); upto >= events.size() means the whole trace.
TablesAt tables_at(const trace::Trace& t, std::size_t upto);

std::string endpoint_text(const trace::Endpoint& e);

}  // namespace ftpsim::gui
