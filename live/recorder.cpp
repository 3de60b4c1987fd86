// Recording a real FTP session into ftpsim's trace (see recorder.hpp).
#include "live/recorder.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace ftpsim::live {
namespace {

std::string endpoint_text(const trace::Endpoint& e) {
    if (e.addr.find(':') != std::string::npos) return '[' + e.addr + "]:" + std::to_string(e.port);
    return e.addr + ':' + std::to_string(e.port);
}

}  // namespace

Recorder::Recorder(std::string name, std::string title) {
    trace_.scenario = std::move(name);
    trace_.title = std::move(title);
}

trace::Event& Recorder::add(trace::TimeNs t, trace::EventKind kind, const std::string& from, int conn) {
    trace::Event& e = trace_.events.emplace_back();
    e.seq = next_seq_++;
    e.time_ns = t;
    e.arrive_ns = t;
    e.kind = kind;
    e.from = from;
    e.conn = conn;
    return e;
}

void Recorder::add_node(const std::string& name, const std::string& role, const std::string& address) {
    for (auto& n : trace_.nodes)
        if (n.name == name) {
            n.role = role;
            if (!address.empty() && std::find(n.addresses.begin(), n.addresses.end(), address) == n.addresses.end())
                n.addresses.push_back(address);
            return;
        }
    trace::Node n;
    n.name = name;
    n.kind = "host";
    n.role = role;
    if (!address.empty()) n.addresses.push_back(address);
    trace_.nodes.push_back(std::move(n));
}

void Recorder::add_address(const std::string& node, const std::string& address) {
    for (auto& n : trace_.nodes)
        if (n.name == node) {
            if (!address.empty() && std::find(n.addresses.begin(), n.addresses.end(), address) == n.addresses.end())
                n.addresses.push_back(address);
            return;
        }
    throw std::invalid_argument("Recorder::add_address: no node named \"" + node + "\"");
}

int Recorder::open_connection(trace::TimeNs t, const std::string& purpose, const std::string& initiator,
                              const std::string& responder, const trace::Endpoint& initiator_local,
                              const trace::Endpoint& initiator_remote, int control_id) {
    trace::Connection c;
    c.id = static_cast<int>(trace_.connections.size());
    c.purpose = purpose;
    c.initiator = initiator;
    c.responder = responder;
    c.initiator_local = initiator_local;
    c.initiator_remote = initiator_remote;
    c.responder_local = initiator_remote;
    c.responder_remote = initiator_local;
    c.control_id = control_id;
    trace_.connections.push_back(c);
    add(t, trace::EventKind::Socket, initiator, c.id).text =
        "connect " + endpoint_text(initiator_local) + " -> " + endpoint_text(initiator_remote);
    return c.id;
}

void Recorder::command(trace::TimeNs t, int conn, std::string_view line) {
    const trace::Connection& c = connection(conn);
    trace::Event& e = add(t, trace::EventKind::FtpCommand, c.initiator, conn);
    e.to = c.responder;
    e.src = e.src_after = c.initiator_local;
    e.dst = e.dst_after = c.initiator_remote;
    e.text = std::string(line);
    e.verdict = trace::Verdict::Delivered;
}

void Recorder::reply(trace::TimeNs t, int conn, std::string_view text) {
    const trace::Connection& c = connection(conn);
    trace::Event& e = add(t, trace::EventKind::FtpReply, c.responder, conn);
    e.to = c.initiator;
    e.src = e.src_after = c.responder_local;
    e.dst = e.dst_after = c.responder_remote;
    e.text = std::string(text);
    e.verdict = trace::Verdict::Delivered;
}

void Recorder::data(trace::TimeNs t, int conn, const std::string& from, std::uint64_t n) {
    const trace::Connection& c = connection(conn);
    if (from != c.initiator && from != c.responder)
        throw std::invalid_argument("Recorder::data: \"" + from + "\" is not an end of connection " +
                                    std::to_string(conn));
    std::size_t run = data_runs_.size();
    for (std::size_t i = 0; i < data_runs_.size(); ++i)
        if (data_runs_[i].conn == conn && data_runs_[i].from == from) run = i;
    if (run == data_runs_.size()) {
        const bool by_initiator = from == c.initiator;
        trace::Event& e = add(t, trace::EventKind::DataBytes, from, conn);
        e.to = by_initiator ? c.responder : c.initiator;
        e.src = e.src_after = by_initiator ? c.initiator_local : c.responder_local;
        e.dst = e.dst_after = by_initiator ? c.initiator_remote : c.responder_remote;
        e.verdict = trace::Verdict::Delivered;
        data_runs_.push_back({conn, from, trace_.events.size() - 1});
        data_totals_.push_back(0);
    }
    std::uint64_t& total = data_totals_[run];
    total += n;
    trace::Event& e = trace_.events[data_runs_[run].event];
    constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();
    e.payload_len = static_cast<std::uint32_t>(std::min(total, kMax32));
    // The label is "DATA <payload_len> B"; a total beyond 32 bits is spelled out in the text.
    if (total > kMax32) e.text = "DATA " + std::to_string(total) + " B";
}

void Recorder::close(trace::TimeNs t, int conn, const std::string& by, bool reset) {
    const trace::Connection& c = connection(conn);
    const bool initiator = by == c.initiator;
    const trace::Endpoint& local = initiator ? c.initiator_local : c.responder_local;
    const trace::Endpoint& remote = initiator ? c.initiator_remote : c.responder_remote;
    add(t, trace::EventKind::Socket, by, conn).text =
        std::string(reset ? "reset " : "close ") + endpoint_text(local) + " -> " + endpoint_text(remote);
}

void Recorder::socket_event(trace::TimeNs t, const std::string& node, const std::string& text) {
    add(t, trace::EventKind::Socket, node, -1).text = text;
}

void Recorder::note(trace::TimeNs t, const std::string& node, const std::string& text) {
    add(t, trace::EventKind::Note, node, -1).text = text;
}

void Recorder::segment(trace::TimeNs t, int conn, const std::string& from, const trace::Endpoint& src,
                       const trace::Endpoint& dst, std::string flags, std::uint32_t tcp_seq,
                       std::uint32_t tcp_ack, std::uint32_t len, std::string payload) {
    const trace::Connection& c = connection(conn);
    trace::Event& e = add(t, trace::EventKind::Segment, from, conn);
    e.to = from == c.initiator ? c.responder : c.initiator;
    e.packet = next_packet_++;
    e.src = e.src_after = src;
    e.dst = e.dst_after = dst;
    e.flags = std::move(flags);
    e.tcp_seq = tcp_seq;
    e.tcp_ack = tcp_ack;
    e.payload_len = len;
    e.payload = std::move(payload);
    e.verdict = trace::Verdict::Delivered;
}

void Recorder::adopt_as_data(int conn, int control_id) {
    trace::Connection& c = trace_.connections.at(static_cast<std::size_t>(conn));
    const std::string node = connection(control_id).initiator;
    const std::string old = c.initiator;
    c.purpose = "data";
    c.control_id = control_id;
    c.initiator = node;
    for (auto& e : trace_.events) {
        if (e.conn != conn) continue;
        if (e.from == old) e.from = node;
        if (e.to == old) e.to = node;
    }
    for (auto& r : data_runs_)
        if (r.conn == conn && r.from == old) r.from = node;
    if (old == node) return;
    bool used = false;
    for (const auto& x : trace_.connections) used = used || x.initiator == old || x.responder == old;
    for (const auto& e : trace_.events) used = used || e.from == old || e.to == old;
    if (!used)
        std::erase_if(trace_.nodes, [&](const trace::Node& n) { return n.name == old; });
}

void Recorder::add_transfer(const trace::Transfer& tr) { trace_.outcome.transfers.push_back(tr); }

void Recorder::add_model_note(const std::string& text) { trace_.model_notes.push_back(text); }

void Recorder::event(trace::Event e) {
    e.seq = next_seq_++;
    if (e.arrive_ns < e.time_ns) e.arrive_ns = e.time_ns;
    trace_.events.push_back(std::move(e));
}

trace::Trace Recorder::finish() const {
    trace::Trace t = trace_;
    std::stable_sort(t.events.begin(), t.events.end(), [](const trace::Event& a, const trace::Event& b) {
        return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
    });
    for (std::size_t i = 0; i < t.events.size(); ++i) t.events[i].seq = i;
    t.outcome.ok = !t.outcome.transfers.empty() &&
                   std::all_of(t.outcome.transfers.begin(), t.outcome.transfers.end(),
                               [](const trace::Transfer& x) { return x.ok; });
    return t;
}

}  // namespace ftpsim::live
