// Recording a real FTP session into ftpsim's trace (see recorder.hpp).
#include "live/recorder.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>

#include "trace/json.hpp"
#include "trace/render.hpp"

namespace ftpsim::live {
namespace {

std::string errno_name(int err) {
    const char* n = ::strerrorname_np(err);
    return n ? n : "E" + std::to_string(err);
}

trace::Event refusal_event(RefusalKind kind, const std::string& addr, std::size_t count, std::size_t limit,
                           const std::string& detail) {
    trace::Event e;
    e.kind = trace::EventKind::Note;
    if (kind == RefusalKind::DescriptorLimit) {
        e.fact = trace::Fact::ServeAcceptPaused;
        e.state = detail;
        e.rule_text = detail;
        return e;
    }
    e.fact = trace::Fact::ServeLimitRefused;
    e.state = kind == RefusalKind::PerAddress ? "per-address" : kind == RefusalKind::Unauthenticated ? "unauthenticated" : "max-clients";
    e.src.addr = addr;
    e.entry = static_cast<int>(std::min<std::size_t>(count, std::numeric_limits<int>::max()));
    e.attempt = static_cast<int>(std::min<std::size_t>(limit, std::numeric_limits<int>::max()));
    return e;
}

trace::Event timeout_event(TimeoutKind kind, std::int64_t limit_ns) {
    trace::Event e;
    e.kind = trace::EventKind::Note;
    e.fact = trace::Fact::ServeTimeout;
    e.state = kind == TimeoutKind::Login ? "login" : "idle";
    e.timeout_ns = limit_ns;
    return e;
}

}  // namespace

std::string render_refusal(RefusalKind kind, const std::string& addr, std::size_t count, std::size_t limit,
                           const std::string& detail) {
    return trace::sentence(refusal_event(kind, addr, count, limit, detail));
}

std::string render_timeout(TimeoutKind kind, std::int64_t limit_ns) { return trace::sentence(timeout_event(kind, limit_ns)); }

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

trace::Event& Recorder::add_fact(trace::TimeNs t, trace::EventKind kind, const std::string& from, int conn,
                                trace::Fact f) {
    trace::Event& e = add(t, kind, from, conn);
    e.fact = f;
    return e;
}

// A rendered fact stores no sentence: trace::text(e) renders it at the edge (trace/render.hpp).
void Recorder::render(trace::Event& e) {
    if (trace::rendered(e)) e.text.clear();
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
                              const trace::Endpoint& initiator_remote, int control_id, bool hold) {
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
    if (hold && streaming()) held_.insert(c.id);
    trace::Event& e = add_fact(t, trace::EventKind::Socket, initiator, c.id, trace::Fact::Connect);
    e.src = initiator_local;
    e.dst = initiator_remote;
    render(e);
    flush_ready();
    return c.id;
}

void Recorder::command(trace::TimeNs t, int conn, std::string_view line) {
    control_line(t, conn, trace::EventKind::FtpCommand, line);
}

void Recorder::reply(trace::TimeNs t, int conn, std::string_view text) {
    control_line(t, conn, trace::EventKind::FtpReply, text);
}

void Recorder::control_line(trace::TimeNs t, int conn, trace::EventKind kind, std::string_view text) {
    const trace::Connection& c = connection(conn);
    const bool command = kind == trace::EventKind::FtpCommand;  // the initiator's; a reply is the responder's
    trace::Event& e = add(t, kind, command ? c.initiator : c.responder, conn);
    e.to = command ? c.responder : c.initiator;
    e.src = e.src_after = command ? c.initiator_local : c.responder_local;
    e.dst = e.dst_after = command ? c.initiator_remote : c.responder_remote;
    e.text = std::string(text);
    e.verdict = trace::Verdict::Delivered;
    flush_ready();
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
        data_runs_.push_back({conn, from, trace_.events.size() - 1, 0});
    }
    std::uint64_t& total = data_runs_[run].total;
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
    trace::Event& e = add_fact(t, trace::EventKind::Socket, by, conn, reset ? trace::Fact::Aborted : trace::Fact::Closed);
    e.src = local;
    e.dst = remote;
    render(e);
    if (streaming()) {  // the connection's data runs are final now; so are its held events
        std::erase_if(data_runs_, [&](const DataRun& r) { return r.conn == conn; });
        held_.erase(conn);
    }
    flush_ready();
}

void Recorder::connect_failed(trace::TimeNs t, const std::string& node, const trace::Endpoint& local,
                              const trace::Endpoint& remote, trace::SocketError error, trace::TimeNs waited) {
    trace::Event& e = add_fact(t, trace::EventKind::Socket, node, -1, trace::Fact::ConnectFailed);
    e.src = local;
    e.dst = remote;
    e.error = error;
    e.timeout_ns = waited;
    render(e);
    flush_ready();
}

void Recorder::listen(trace::TimeNs t, const std::string& node, const trace::Endpoint& local) {
    trace::Event& e = add_fact(t, trace::EventKind::Socket, node, -1, trace::Fact::Listen);
    e.src = local;
    render(e);
    flush_ready();
}

void Recorder::listen_failed(trace::TimeNs t, const std::string& node, const trace::Endpoint& local,
                             trace::SocketError error) {
    trace::Event& e = add_fact(t, trace::EventKind::Socket, node, -1, trace::Fact::ListenFailed);
    e.src = local;
    e.error = error;
    render(e);
    flush_ready();
}

void Recorder::note(trace::TimeNs t, const std::string& node, const std::string& text, trace::Fact fact) {
    add_fact(t, trace::EventKind::Note, node, -1, fact).text = text;
    flush_ready();
}

void Recorder::refusal(trace::TimeNs t, RefusalKind kind, const std::string& addr, std::size_t count,
                       std::size_t limit, const std::string& detail) {
    trace::Event proto = refusal_event(kind, addr, count, limit, detail);
    trace::Event& e = add_fact(t, trace::EventKind::Note, "server", -1, proto.fact);
    e.state = proto.state;
    e.rule_text = proto.rule_text;
    e.src = proto.src;
    e.entry = proto.entry;
    e.attempt = proto.attempt;
    render(e);
    flush_ready();
}

void Recorder::login_failed(trace::TimeNs t, const std::string& node, int fails, int max_fails,
                            std::int64_t delay_ns, bool closing) {
    trace::Event& e = add_fact(t, trace::EventKind::Note, node, -1, trace::Fact::ServeLoginFailed);
    e.attempt = fails;
    e.entry = max_fails;
    e.timeout_ns = delay_ns;
    if (closing) e.state = "close";
    render(e);
    flush_ready();
}

void Recorder::timeout(trace::TimeNs t, TimeoutKind kind, std::int64_t limit_ns) {
    trace::Event proto = timeout_event(kind, limit_ns);
    trace::Event& e = add_fact(t, trace::EventKind::Note, "server", -1, proto.fact);
    e.state = proto.state;
    e.timeout_ns = proto.timeout_ns;
    render(e);
    flush_ready();
}

void Recorder::data_stalled(trace::TimeNs t, std::int64_t limit_ns) {
    trace::Event& e = add_fact(t, trace::EventKind::Note, "server", -1, trace::Fact::ServeDataStalled);
    e.timeout_ns = limit_ns;
    render(e);
    flush_ready();
}

void Recorder::store_failed(trace::TimeNs t, bool staging, const std::string& name, int err) {
    trace::Event& e = add_fact(t, trace::EventKind::Note, "server", -1, trace::Fact::ServeStoreFailed);
    e.policy = staging ? "staging-file" : "target-file";
    e.state = errno_name(err);
    e.rule_text = std::strerror(err);
    e.line_before = name;
    render(e);
    flush_ready();
}

void Recorder::line_too_long(trace::TimeNs t, const std::string& node, std::size_t limit) {
    trace::Event& e = add_fact(t, trace::EventKind::Note, node, -1, trace::Fact::ServeLineTooLong);
    e.attempt = static_cast<int>(std::min<std::size_t>(limit, std::numeric_limits<int>::max()));
    render(e);
    flush_ready();
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
    flush_ready();
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

// ---- Streaming -------------------------------------------------------------------------------

namespace {

// One event as to_json writes it (one event per line, trace/json.hpp).
std::string event_line(const trace::Event& e) {
    trace::Trace one;
    one.events.push_back(e);
    const std::string json = trace::to_json(one);
    static const std::string kMarker = "  \"events\": [\n    ";
    const std::size_t at = json.find(kMarker);
    if (at == std::string::npos) throw std::logic_error("to_json: no events array");
    const std::size_t from = at + kMarker.size();
    return json.substr(from, json.find('\n', from) - from);
}

}  // namespace

std::optional<std::string> Recorder::stream_to(const std::string& path) {
    auto out = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
    if (!*out) return path + ": cannot write: " + std::strerror(errno);
    *out << "{\n  \"events\": [";
    if (!*out) return path + ": write failed";
    out_ = std::move(out);
    out_path_ = path;
    // Whatever was recorded before streaming goes out first.
    flush_ready();
    return std::nullopt;
}

void Recorder::hold(int conn) {
    if (streaming() && conn >= 0) held_.insert(conn);
}

void Recorder::settle(int conn) {
    if (conn < 0 || !held_.count(conn)) return;
    held_.erase(conn);
    flush_ready();
}

void Recorder::write_event(trace::Event e) {
    e.seq = written_;
    *out_ << (written_ == 0 ? "\n    " : ",\n    ") << event_line(e);
    ++written_;
    if (!*out_) out_failed_ = true;
}

void Recorder::flush_ready(bool all) {
    if (!streaming()) return;
    // A held connection with many events is let go (it is not an SPSV hand-over then).
    constexpr std::size_t kMaxHeld = 64;
    std::set<std::size_t> open_runs;
    for (const auto& r : data_runs_) open_runs.insert(r.event);
    std::map<std::size_t, std::size_t> moved;  // old index -> new index of what stays
    std::vector<trace::Event> keep;
    std::map<int, std::size_t> held_count;
    for (const auto& e : trace_.events)
        if (held_.count(e.conn)) ++held_count[e.conn];
    for (const auto& [conn, n] : held_count)
        if (n > kMaxHeld) held_.erase(conn);
    for (std::size_t i = 0; i < trace_.events.size(); ++i) {
        trace::Event& e = trace_.events[i];
        const bool ready = all || (!open_runs.count(i) && !held_.count(e.conn));
        if (ready) {
            write_event(std::move(e));
        } else {
            moved[i] = keep.size();
            keep.push_back(std::move(e));
        }
    }
    trace_.events = std::move(keep);
    if (all) {
        data_runs_.clear();
        held_.clear();
        return;
    }
    // The open runs' events moved: their indices follow (their totals stay with them).
    for (auto& r : data_runs_) r.event = moved.at(r.event);
}

std::optional<std::string> Recorder::finish_stream() {
    if (!streaming()) return std::nullopt;
    flush_ready(true);
    *out_ << (written_ == 0 ? "],\n" : "\n  ],\n");
    trace::Trace rest = trace_;
    rest.events.clear();
    rest.outcome.ok = !rest.outcome.transfers.empty() &&
                      std::all_of(rest.outcome.transfers.begin(), rest.outcome.transfers.end(),
                                  [](const trace::Transfer& x) { return x.ok; });
    std::string tail = trace::to_json(rest);
    // Without its opening brace and its (empty) events array: the events are above.
    if (tail.rfind("{\n", 0) == 0) tail.erase(0, 2);
    const std::string empty_events = "  \"events\": [],\n";
    if (const auto at = tail.find(empty_events); at != std::string::npos) tail.erase(at, empty_events.size());
    *out_ << tail;
    out_->flush();
    if (!*out_) out_failed_ = true;
    out_->close();
    if (out_->fail()) out_failed_ = true;
    out_.reset();
    if (out_failed_) return out_path_ + ": write failed (the trace is incomplete)";
    return std::nullopt;
}

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
