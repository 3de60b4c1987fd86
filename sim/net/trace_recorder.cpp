#include "sim/net/trace_recorder.hpp"

#include <algorithm>
#include <mutex>
#include <new>
#include <utility>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#define FTPSIM_CHUNK_MMAP 1
#endif

#include "trace/render.hpp"

namespace ftpsim::net {

#ifdef FTPSIM_CHUNK_MMAP
namespace {
// One freed chunk kept mapped for the next run (any thread): a run of a few hundred events (the
// GUI's, a sweep cell's) would otherwise map a fresh chunk, fault in every page it touches and
// unmap it again, about a tenth of a small run's time. A large trace still frees every chunk
// but this one as finish() moves it.
std::mutex spare_mutex;
void* spare_chunk = nullptr;
std::size_t spare_bytes = 0;
}  // namespace
#endif

void* chunk_pages(std::size_t bytes) {
#ifdef FTPSIM_CHUNK_MMAP
    {
        std::lock_guard<std::mutex> lock(spare_mutex);
        if (spare_chunk && spare_bytes == bytes) return std::exchange(spare_chunk, nullptr);
    }
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
#else
    return ::operator new(bytes);
#endif
}

void free_chunk_pages(void* p, std::size_t bytes) noexcept {
#ifdef FTPSIM_CHUNK_MMAP
    {
        std::lock_guard<std::mutex> lock(spare_mutex);
        if (!spare_chunk) {
            spare_chunk = p;
            spare_bytes = bytes;
            return;
        }
    }
    ::munmap(p, bytes);
#else
    (void)bytes;
    ::operator delete(p);
#endif
}

TraceRecorder::TraceRecorder(const Topology& topo, std::string scenario, std::string title, std::uint64_t seed,
                             bool record_lines)
    : topo_(topo), record_lines_(record_lines) {
    trace_.scenario = std::move(scenario);
    trace_.title = std::move(title);
    trace_.seed = seed;
    trace_.nodes = topo.trace_nodes();
    trace_.links = topo.trace_links();
}

const std::string& TraceRecorder::addr_text(const IpAddress& a) {
    if (!a.is_v4()) {
        scratch_ = a.to_string();
        return scratch_;
    }
    auto [it, fresh] = v4_text_.try_emplace(a.v4_host_order());
    if (fresh) it->second = a.to_string();
    return it->second;
}

trace::Endpoint TraceRecorder::endpoint(const HostPort& hp) { return {addr_text(hp.addr), hp.port}; }

trace::Event& TraceRecorder::add(TimeNs t, trace::EventKind kind, int node, int conn) {
    trace::Event& e = append();
    e.time_ns = t;
    e.kind = kind;
    if (node >= 0) e.from = topo_.nodes()[static_cast<std::size_t>(node)].name;
    e.conn = conn;
    return e;
}

std::size_t TraceRecorder::begin_segment(const HopRecord& hop) {
    const mbox::Packet& p = *hop.packet;
    const std::size_t index = count_;
    trace::Event& e = add(hop.sent_ns, trace::EventKind::Segment, hop.from, p.conn);
    e.packet = p.id;
    e.src = endpoint(hop.src);
    e.dst = endpoint(hop.dst);
    e.flags = mbox::flags_string(p.flags);
    if (p.icmp == mbox::Icmp::PortUnreachable) {
        e.action = trace::Action::Icmp;
        e.quoted_src = endpoint(p.quoted_src);
        e.quoted_dst = endpoint(p.quoted_dst);
    }
    e.tcp_seq = p.seq;
    e.tcp_ack = p.ack;
    e.payload_len = static_cast<std::uint32_t>(p.payload.size());
    if (hop.record_payload) e.payload = p.payload;
    if (hop.record_payload && !p.payload.empty()) read_lines(e, hop);
    return index;
}

void TraceRecorder::read_lines(trace::Event& e, const HopRecord& hop) {
    auto it = ends_.find(e.conn);
    if (it == ends_.end()) return;
    const std::size_t c = connection_index(e.conn);
    if (c == kNoConnection || trace_.connections[c].purpose != "control") return;
    ConnEnds& ends = it->second;
    const bool command = hop.from == ends.initiator;
    if (!command && hop.from != ends.responder) return;  // a later hop: the sender's hop had them
    ends.lines[command ? 0 : 1].feed(hop.packet->seq, hop.packet->payload, command, e.ftp);
}

void TraceRecorder::finish_segment(std::size_t index, const HopRecord& hop) {
    const mbox::Packet& p = *hop.packet;
    trace::Event& e = event_at(index);
    e.arrive_ns = hop.arrive_ns;
    if (hop.to >= 0) e.to = topo_.nodes()[static_cast<std::size_t>(hop.to)].name;
    e.src_after = endpoint(p.src);
    e.dst_after = endpoint(p.dst);
    e.verdict = hop.verdict;
    e.reason = hop.reason;
    e.fact = hop.fact;
}

void TraceRecorder::fact(TimeNs t, trace::EventKind kind, int node, int conn, trace::Event e) {
    trace::Event& out = append(std::move(e));
    out.time_ns = t;
    out.kind = kind;
    if (node >= 0) out.from = topo_.nodes()[static_cast<std::size_t>(node)].name;
    out.conn = conn;
    if (trace::rendered(out) && !out.text.empty()) out.text = std::string();  // rendered at the edge
}

void TraceRecorder::socket(TimeNs t, int node, int conn, std::string text) {
    add(t, trace::EventKind::Socket, node, conn).text = std::move(text);
}

void TraceRecorder::timer(TimeNs t, int node, int conn, std::string text) {
    add(t, trace::EventKind::Timer, node, conn).text = std::move(text);
}

void TraceRecorder::note(TimeNs t, int node, std::string text) {
    add(t, trace::EventKind::Note, node, -1).text = std::move(text);
}

void TraceRecorder::middlebox(TimeNs t, int node, int conn, std::uint64_t packet, const mbox::MiddleboxNote& n) {
    trace::Event& e = append(n.fact);
    e.time_ns = t;
    e.kind = trace::EventKind::Middlebox;
    e.from = topo_.nodes()[static_cast<std::size_t>(node)].name;
    e.conn = conn;
    e.packet = packet;
    if (!trace::rendered(e)) e.text = n.text;  // a rendered fact's sentence: trace::text(e)
    e.verdict = n.verdict;
    e.reason = n.reason;
}

void TraceRecorder::model_note(std::string text) { trace_.model_notes.push_back(std::move(text)); }

void TraceRecorder::open_connection(int id, const std::string& purpose, int control_id, int initiator,
                                    const HostPort& local, const HostPort& remote) {
    if (id >= 0) {
        if (static_cast<std::size_t>(id) >= conn_index_.size()) conn_index_.resize(static_cast<std::size_t>(id) + 1, kNoConnection);
        conn_index_[static_cast<std::size_t>(id)] = trace_.connections.size();
    }
    trace::Connection& c = trace_.connections.emplace_back();
    c.id = id;
    c.purpose = purpose;
    c.control_id = control_id;
    c.initiator = topo_.nodes()[static_cast<std::size_t>(initiator)].name;
    c.initiator_local = endpoint(local);
    c.initiator_remote = endpoint(remote);
    if (record_lines_) ends_[id].initiator = initiator;
}

void TraceRecorder::responder_view(int id, int responder, const HostPort& local, const HostPort& remote) {
    const std::size_t index = connection_index(id);
    if (index == kNoConnection) return;
    trace::Connection& c = trace_.connections[index];
    c.responder = topo_.nodes()[static_cast<std::size_t>(responder)].name;
    if (record_lines_) ends_[id].responder = responder;
    c.responder_local = endpoint(local);
    c.responder_remote = endpoint(remote);
}

void TraceRecorder::relabel_connection(int id, const std::string& purpose, int control_id) {
    const std::size_t index = connection_index(id);
    if (index == kNoConnection) return;
    trace_.connections[index].purpose = purpose;
    trace_.connections[index].control_id = control_id;
}

void TraceRecorder::mark_control_text(int id) { control_text_conns_.insert(id); }

trace::Trace TraceRecorder::finish(trace::Outcome outcome) {
    // The chunks into one vector of exactly the events' size, each chunk freed once moved.
    std::vector<trace::Event>& events = trace_.events;
    events.clear();
    events.reserve(count_);
    for (auto& chunk : chunks_) {
        for (auto& e : chunk) events.push_back(std::move(e));
        Chunk().swap(chunk);
    }
    chunks_.clear();
    count_ = 0;
    // A stable sort by time through an index (an event is 700 bytes: a merge sort's buffer would
    // hold half of them again), applied in place by following the permutation's cycles.
    if (!std::is_sorted(events.begin(), events.end(),
                        [](const trace::Event& a, const trace::Event& b) { return a.time_ns < b.time_ns; })) {
        std::vector<std::pair<TimeNs, std::uint32_t>> order(events.size());
        for (std::size_t i = 0; i < events.size(); ++i) order[i] = {events[i].time_ns, static_cast<std::uint32_t>(i)};
        std::sort(order.begin(), order.end());  // (time, recording order): the stable order
        std::vector<bool> placed(events.size());
        for (std::size_t start = 0; start < events.size(); ++start) {
            if (placed[start]) continue;
            if (order[start].second == start) {
                placed[start] = true;
                continue;
            }
            trace::Event held = std::move(events[start]);
            std::size_t j = start;
            for (;;) {
                placed[j] = true;
                const std::size_t from = order[j].second;
                if (from == start) {
                    events[j] = std::move(held);
                    break;
                }
                events[j] = std::move(events[from]);
                j = from;
            }
        }
    }
    for (std::size_t i = 0; i < events.size(); ++i) events[i].seq = i;
    // On an SPSV connection only the control text before the file keeps its payload: mark it,
    // and read its lines (as for a control connection, on each segment's first hop) unless they
    // were read while the connection was still a control connection (an attacker's SPDT).
    for (int id : control_text_conns_) {
        auto it = ends_.find(id);
        bool read = false;
        for (const auto& e : trace_.events)
            if (e.kind == trace::EventKind::Segment && e.conn == id && !e.ftp.empty()) read = true;
        trace::FtpLineSplitter lines[2];
        for (auto& e : trace_.events) {
            if (e.kind != trace::EventKind::Segment || e.conn != id || e.payload.empty()) continue;
            e.control_text = true;
            if (read || it == ends_.end()) continue;
            const auto& nodes = topo_.nodes();
            const bool command = it->second.initiator >= 0 && e.from == nodes[static_cast<std::size_t>(it->second.initiator)].name;
            const bool reply = it->second.responder >= 0 && e.from == nodes[static_cast<std::size_t>(it->second.responder)].name;
            if (command || reply) lines[command ? 0 : 1].feed(e.tcp_seq, e.payload, command, e.ftp);
        }
    }
    trace_.outcome = std::move(outcome);
    return std::move(trace_);
}

}  // namespace ftpsim::net
