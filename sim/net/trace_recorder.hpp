// Collects what the network did into a trace::Trace (the contract with viz/).
//
// Events are appended in the order the simulation produces them and sorted by time once, in
// finish(). A segment's event is recorded when its fate on the hop is known (arrival, loss or
// no route), so its time_ns (when it left) can be earlier than events recorded before it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"
#include "sim/net/topology.hpp"
#include "sim/trace/trace.hpp"

namespace ftpsim::net {

// One segment crossing one hop.
struct HopRecord {
    int from = -1, to = -1;          // node indices; to = -1 when it never left `from`
    TimeNs sent_ns = 0, arrive_ns = 0;
    const mbox::Packet* packet = nullptr;  // addresses after the hop's translations
    HostPort src, dst;               // addresses as the packet left `from`
    bool record_payload = true;
    trace::Verdict verdict = trace::Verdict::Delivered;
    std::string reason;
};

class TraceRecorder {
public:
    TraceRecorder(const Topology& topo, std::string scenario, std::string title, std::uint64_t seed);

    void segment(const HopRecord& hop);
    void socket(TimeNs t, int node, int conn, std::string text);
    void timer(TimeNs t, int node, int conn, std::string text);
    void note(TimeNs t, int node, std::string text);
    void middlebox(TimeNs t, int node, int conn, std::uint64_t packet, const mbox::MiddleboxNote& n);
    void model_note(std::string text);

    // A connection as its initiator sees it, then its responder's view when it accepts.
    void open_connection(int id, const std::string& purpose, int control_id, int initiator,
                         const HostPort& local, const HostPort& remote);
    void responder_view(int id, int responder, const HostPort& local, const HostPort& remote);
    void relabel_connection(int id, const std::string& purpose, int control_id);

    // Sorts the events by time (stable: recording order breaks ties) and numbers them.
    trace::Trace finish(trace::Outcome outcome);

    std::size_t size() const { return trace_.events.size(); }

private:
    trace::Endpoint endpoint(const HostPort& hp);
    const std::string& addr_text(const IpAddress& a);
    trace::Event& add(TimeNs t, trace::EventKind kind, int node, int conn);

    const Topology& topo_;
    trace::Trace trace_;
    std::unordered_map<std::uint32_t, std::string> v4_text_;
    std::unordered_map<int, std::size_t> conn_index_;
    std::string scratch_;
};

}  // namespace ftpsim::net
