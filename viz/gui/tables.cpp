#include "viz/gui/tables.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace ftpsim::gui {

std::string endpoint_text(const trace::Endpoint& e) {
    if (e.addr.empty()) return "-";
    const bool v6 = e.addr.find(':') != std::string::npos;
    std::string host = v6 ? "[" + e.addr + "]" : e.addr;
    return e.port ? host + ":" + std::to_string(e.port) : e.addr;
}

namespace {

bool is_middlebox(const trace::Trace& t, const std::string& name) {
    for (const auto& n : t.nodes)
        if (n.name == name) return n.kind != "host";
    return false;
}

// Which node applied a translation seen on a hop: the receiving middlebox if there is one (the
// addresses "after" are what it forwards), else the sending one.
std::string translator(const trace::Trace& t, const trace::Event& e) {
    if (is_middlebox(t, e.to)) return e.to;
    if (is_middlebox(t, e.from)) return e.from;
    return e.to.empty() ? e.from : e.to;
}

bool contains(const std::string& s, const char* what) {
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower.find(what) != std::string::npos;
}

}  // namespace

TablesAt tables_at(const trace::Trace& t, std::size_t upto) {
    TablesAt out;
    const std::size_t end = upto >= t.events.size() ? t.events.size() : upto + 1;
    std::map<std::string, std::size_t> nat_index;  // key: node|inside|outside
    std::map<int, std::size_t> ct_index;

    auto add_nat = [&](const std::string& node, const trace::Endpoint& inside, const trace::Endpoint& outside,
                       const trace::Endpoint& peer, const char* kind, const trace::Event& e) {
        const std::string key = node + "|" + endpoint_text(inside) + "|" + endpoint_text(outside);
        if (nat_index.count(key)) return;
        nat_index[key] = out.nat.size();
        out.nat.push_back({node, endpoint_text(inside), endpoint_text(outside), endpoint_text(peer), kind, e.conn,
                           e.time_ns});
    };

    for (std::size_t i = 0; i < end; ++i) {
        const auto& e = t.events[i];
        if (e.kind == trace::EventKind::Segment) {
            // A rewritten source is a source NAT; a rewritten destination, a DNAT (or port forward).
            // Replies undo a mapping already listed, so only the first direction seen is recorded.
            if (!e.src_after.addr.empty() && !(e.src_after == e.src))
                add_nat(translator(t, e), e.src, e.src_after, e.dst_after, "SNAT", e);
            if (!e.dst_after.addr.empty() && !(e.dst_after == e.dst)) {
                const std::string node = translator(t, e);
                const std::string rkey = node + "|" + endpoint_text(e.dst_after) + "|" + endpoint_text(e.dst);
                if (!nat_index.count(rkey)) add_nat(node, e.dst_after, e.dst, e.src, "DNAT", e);
            }
            if (e.conn >= 0) {
                auto it = ct_index.find(e.conn);
                if (it == ct_index.end()) {
                    ct_index[e.conn] = out.conntrack.size();
                    ConntrackRow row;
                    row.conn = e.conn;
                    for (const auto& c : t.connections)
                        if (c.id == e.conn) row.purpose = c.purpose;
                    row.tuple = endpoint_text(e.src) + " -> " + endpoint_text(e.dst);
                    out.conntrack.push_back(row);
                    it = ct_index.find(e.conn);
                }
                auto& row = out.conntrack[it->second];
                row.last_ns = e.time_ns;
                const auto& f = e.flags;
                const bool syn = f.find('S') != std::string::npos, ack = f.find('A') != std::string::npos;
                if (f.find('R') != std::string::npos) row.state = "CLOSED (reset)";
                else if (f.find('F') != std::string::npos) row.state = row.state.rfind("FIN", 0) == 0 ? "CLOSING" : "FIN_WAIT";
                else if (syn && ack) row.state = "SYN_RECV";
                else if (syn) row.state = "SYN_SENT";
                else if (ack && (row.state == "SYN_RECV" || row.state.empty())) row.state = "ESTABLISHED";
                else if (ack && row.state == "CLOSING") row.state = "CLOSED";
                if (e.verdict == trace::Verdict::Dropped && syn && !ack) row.state = "SYN_SENT (unanswered)";
            }
        }
        if (e.kind == trace::EventKind::Socket && e.conn >= 0 && ct_index.count(e.conn) &&
            (contains(e.text, "timed out") || contains(e.text, "refused")))
            out.conntrack[ct_index[e.conn]].state = "FAILED";
        if (e.kind == trace::EventKind::Middlebox && contains(e.text, "expect") && !contains(e.text, "matched"))
            out.expectations.push_back({e.from, e.text, e.reason, e.time_ns, true, false});
        if (e.verdict == trace::Verdict::Dropped || e.verdict == trace::Verdict::Rejected) {
            const std::string where = e.to.empty() ? e.from : e.to;
            std::string what = (e.verdict == trace::Verdict::Dropped ? "dropped " : "rejected ") +
                               (e.flags.empty() ? std::string(trace::to_string(e.kind)) : e.flags) + " " +
                               endpoint_text(e.src) + " -> " + endpoint_text(e.dst);
            out.hits.push_back({where, what, e.reason, e.time_ns, false, true});
        } else if (e.kind == trace::EventKind::Middlebox &&
                   (contains(e.text, "drop") || contains(e.text, "reject") || contains(e.text, "rule"))) {
            out.hits.push_back({e.from, e.text, e.reason, e.time_ns, false, true});
        }
    }
    return out;
}

}  // namespace ftpsim::gui
