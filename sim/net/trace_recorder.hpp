// Collects what the network did into a trace::Trace (the contract with viz/).
//
// Events are appended in the order the simulation produces them and sorted by time once, in
// finish(). A segment's event is recorded when it reaches the far end of the hop (its verdict is
// filled in once known: after the receiving node's hooks), or when it is lost or has no route,
// so its time_ns (when it left) can be earlier than events recorded before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"
#include "sim/net/topology.hpp"
#include "trace/ftp_line.hpp"
#include "trace/trace.hpp"

namespace ftpsim::net {

// Memory for the recorder's chunks straight from the kernel (mmap/munmap) where there is one, so a
// chunk freed by finish() leaves the process at once. From malloc, a freed chunk stays in the heap
// (glibc raises its mmap threshold after the first large free), and the trace's peak held every
// event twice: once in the chunks, once in the final vector (issue #20). One freed chunk stays
// mapped for the next run (a small run would otherwise pay a mapping and its page faults).
// Elsewhere (the browser build) it is std::allocator.
void* chunk_pages(std::size_t bytes);
void free_chunk_pages(void* p, std::size_t bytes) noexcept;
template <class T>
struct ChunkAllocator {
    using value_type = T;
    ChunkAllocator() = default;
    template <class U>
    ChunkAllocator(const ChunkAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(chunk_pages(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { free_chunk_pages(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const ChunkAllocator<U>&) const noexcept { return true; }
};

// One segment crossing one hop.
struct HopRecord {
    int from = -1, to = -1;          // node indices; to = -1 when it never left `from`
    TimeNs sent_ns = 0, arrive_ns = 0;
    // begin_segment: the packet as it left `from` (flags, seq/ack, payload);
    // finish_segment: after `to`'s translations (src_after/dst_after)
    const mbox::Packet* packet = nullptr;
    HostPort src, dst;               // addresses as the packet left `from`
    bool record_payload = true;
    trace::Verdict verdict = trace::Verdict::Delivered;
    std::string reason;
    trace::Fact fact = trace::Fact::None;  // why it was dropped or rejected (LinkLoss, ...)
};

class TraceRecorder {
public:
    // record_lines: segments with payload will be recorded (NetConfig::record_segments), so the
    // control connections' FTP lines are read from them; without, no line state is kept.
    TraceRecorder(const Topology& topo, std::string scenario, std::string title, std::uint64_t seed,
                  bool record_lines = true);

    // A hop's Segment event. When `to` may rewrite the packet (its processor runs before the
    // verdict is known), begin_segment takes the packet as it arrived, i.e. as it left `from`
    // (flags, seq/ack, payload: the event's own copy, no extra one), and finish_segment adds the
    // verdict and the addresses after `to`'s translations. segment() does both at once.
    std::size_t begin_segment(const HopRecord& hop);
    void finish_segment(std::size_t index, const HopRecord& hop);
    void segment(const HopRecord& hop) { finish_segment(begin_segment(hop), hop); }
    // A typed fact on `node` (docs/trace.md): `e` carries the fact and its fields; the recorder
    // sets its kind, time, node and connection; its sentence is rendered at the edge (trace::text).
    void fact(TimeNs t, trace::EventKind kind, int node, int conn, trace::Event e);
    // Free text, without a typed fact (fact None): kept for callers that have no fact yet.
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
    // The payloads recorded on connection id are control text on a data connection (SPSV:
    // the stack records no payload after "200 DATA"); applied to its segments by finish().
    void mark_control_text(int id);

    // Sorts the events by time (stable: recording order breaks ties) and numbers them.
    trace::Trace finish(trace::Outcome outcome);

    std::size_t size() const { return count_; }

private:
    trace::Endpoint endpoint(const HostPort& hp);
    const std::string& addr_text(const IpAddress& a);
    trace::Event& add(TimeNs t, trace::EventKind kind, int node, int conn);

    const Topology& topo_;
    trace::Trace trace_;  // everything but the events, which finish() moves in
    // The events while recording, in chunks that never move: no reallocation holds the old and the
    // new copy at once (a vector doubling held up to 3x the events at its peak), and finish()
    // moves them into the trace one chunk at a time, freeing each as it goes.
    static constexpr std::size_t kChunk = 1024;
    using Chunk = std::vector<trace::Event, ChunkAllocator<trace::Event>>;
    std::vector<Chunk> chunks_;
    std::size_t count_ = 0;
    trace::Event& event_at(std::size_t i) { return chunks_[i / kChunk][i % kChunk]; }
    template <class... A>
    trace::Event& append(A&&... a) {
        if (count_ % kChunk == 0) {
            chunks_.emplace_back();
            chunks_.back().reserve(kChunk);
        }
        ++count_;
        return chunks_.back().emplace_back(std::forward<A>(a)...);
    }
    std::unordered_map<std::uint32_t, std::string> v4_text_;
    // Each connection's index in trace_.connections, by its (dense, never reused) id.
    static constexpr std::size_t kNoConnection = static_cast<std::size_t>(-1);
    std::vector<std::size_t> conn_index_;
    std::size_t connection_index(int id) const {
        return id >= 0 && static_cast<std::size_t>(id) < conn_index_.size() ? conn_index_[static_cast<std::size_t>(id)]
                                                                            : kNoConnection;
    }
    bool record_lines_ = true;
    std::set<int> control_text_conns_;  // mark_control_text
    // Control connections' lines, per connection and direction (0: from the initiator), read on
    // the first hop of each segment (as the sender wrote it).
    struct ConnEnds {
        int initiator = -1, responder = -1;
        trace::FtpLineSplitter lines[2];
    };
    std::unordered_map<int, ConnEnds> ends_;
    void read_lines(trace::Event& e, const HopRecord& hop);
    std::string scratch_;
};

}  // namespace ftpsim::net
