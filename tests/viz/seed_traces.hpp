// Hand-built traces shaped like the simulator's output, for the viz tests and golden exports.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "trace/trace.hpp"

namespace ftpsim::testing {

using trace::TimeNs;

// Records the events of TCP connections crossing a path of nodes, one Segment per hop, with
// sequence numbers, per-hop addresses (translations included) and packet ids.
class TraceBuilder {
public:
    TraceBuilder(std::string scenario, std::string title);

    void node(std::string name, std::string kind, std::string role, std::vector<std::string> addresses);
    void link(std::string a, std::string b, double latency_ms);

    // A connection from path.front() to path.back(); wire[i] is (src, dst) on hop i going forward.
    int connection(std::string purpose, std::vector<std::string> path,
                   std::vector<std::pair<trace::Endpoint, trace::Endpoint>> wire, int control_id = -1);

    struct Seg {
        Seg(std::string f, std::string p = {}) : flags(std::move(f)), payload(std::move(p)) {}
        std::string flags;
        std::string payload;                  // exact bytes (control lines, listings)
        std::uint32_t file_len = 0;           // file data: length only, bytes not recorded
        std::map<int, std::string> rewrite;   // forward hop index -> payload from that hop on
        int stop_hop = -1;                    // the hop whose `to` drops/rejects it (-1: delivered)
        trace::Verdict verdict = trace::Verdict::Delivered;
        std::string reason;
    };
    // Sends from the initiator (forward) or the responder; returns when it reached the far end
    // (or died).
    TimeNs send(int conn, bool forward, const Seg& s, TimeNs at);
    TimeNs handshake(int conn, TimeNs at);
    // An FTP line on a control connection: the segment plus the FtpCommand / FtpReply event.
    TimeNs line(int conn, bool forward, const std::string& text, TimeNs at, std::map<int, std::string> rewrite = {});
    void event(trace::EventKind kind, std::string node, std::string text, TimeNs at, int conn = -1);

    trace::Trace finish();  // sorts by time and numbers the events

    trace::Trace t;

private:
    struct Conn {
        std::vector<std::string> path;
        std::vector<std::pair<trace::Endpoint, trace::Endpoint>> wire;
        std::uint32_t next[2] = {0, 0};       // next sequence number: [0] forward, [1] reverse
        std::int64_t delta = 0;               // ALG length change on hops >= delta_hop, forward
        int delta_hop = 0;
    };
    TimeNs latency(const std::string& a, const std::string& b) const;
    std::vector<Conn> conns_;
    std::uint64_t next_packet_ = 1;
};

trace::Trace lecture_passive_list();   // the deck's PASV + LIST ladder, end to end
trace::Trace active_nat_fail();        // PORT behind a NAT router with ALG; client firewall drops the SYN
trace::Trace active_nat_alg_ok();      // the same without the client firewall: RETR succeeds
trace::Trace rejected_syn();           // a PASV data SYN rejected by the server's firewall (no RST recorded)
trace::Trace split_data_runs();        // file data in runs split by a note, a reply and a lost segment

}  // namespace ftpsim::testing
