// The middlebox state at a moment of a trace, rebuilt from the trace's events: NAT mappings,
// each router's connection tracking, ALG expectations and the drops and rejects so far. The GUI's
// side panel shows it at the playback position.
//
// A fold over the trace's typed facts (trace/trace.hpp), with no text read: NatMappingCreated
// / NatMappingExpired / PortForward for the NAT rows, AlgExpectationCreated / Used / Expired for
// the expectations, ConntrackExpired for forgotten connections; each router's conntrack entries
// are the connections it forwarded (the segments), their states from the TCP flags.
// tests/gui/test_tables_vs_router.cpp checks it against the routers' real tables at the end of
// every library run. Traces without these facts (hand-built or recorded ones) fall back to the
// translations seen on the hops for their NAT rows. Not rebuilt: entries that time out while no
// packet reaches the router (the router forgets them only when the next packet comes, as the
// trace shows), except closing and unanswered connections, which leave after Linux's 120 s.
#pragma once

#include "trace/trace.hpp"

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
    std::string node;     // the router that tracks it
    int conn = -1;
    std::string purpose;  // control / data
    std::string tuple;    // as the first packet reached the router: "192.168.1.10:50000 -> 203.0.113.20:21"
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
    std::vector<MiddleboxLogRow> expectations;  // ALG expectations waiting for their data connection
    std::vector<MiddleboxLogRow> hits;          // drops and rejects so far
};

// The tables after events[0..upto] (inclusive); upto >= events.size() means the whole trace.
TablesAt tables_at(const trace::Trace& t, std::size_t upto);

std::string endpoint_text(const trace::Endpoint& e);

}  // namespace ftpsim::gui
