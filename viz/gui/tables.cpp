#include "viz/gui/tables.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace ftpsim::gui {

std::string endpoint_text(const trace::Endpoint& e) {
    if (e.addr.empty()) return "-";
    const bool v6 = e.addr.find(':') != std::string::npos;
    std::string host = v6 ? "[" + e.addr + "]" : e.addr;
    return e.port ? host + ":" + std::to_string(e.port) : e.addr;
}

namespace {

// Linux's conntrack timeouts for unanswered and closing connections (sim/mbox/conntrack.hpp's
// defaults; scenarios change only the established one, which is days long or the NAT's).
constexpr trace::TimeNs kUnrepliedNs = 120 * trace::kNsPerSec;
constexpr trace::TimeNs kClosingNs = 120 * trace::kNsPerSec;

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

// The word starting at `from` (up to a space or the end).
std::string word_at(const std::string& s, std::size_t from) {
    if (from >= s.size()) return {};
    const auto end = s.find(' ', from);
    return s.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

// An expectation as the router prints it: "SRC:* -> DST[ => FWD]" (the fact's src is the
// expected peer with no port, dst the expected destination, dst_after where it is forwarded).
std::string expectation_text(const trace::Event& e) {
    std::string s = e.src.addr + ":* -> " + endpoint_text(e.dst);
    if (!e.dst_after.addr.empty() && !(e.dst_after == e.dst)) s += " => " + endpoint_text(e.dst_after);
    return s;
}

// The destination of an expectation's text "SRC:* -> DST[ => FWD]".
std::string expectation_dst(const std::string& text) {
    const auto arrow = text.find(" -> ");
    return arrow == std::string::npos ? std::string() : word_at(text, arrow + 4);
}

struct CtState {
    std::size_t row = 0;
    std::string src, dst;  // the original direction as it reached the router
    bool replied = false, closing = false;
};

}  // namespace

TablesAt tables_at(const trace::Trace& t, std::size_t upto) {
    TablesAt out;
    const std::size_t end = upto >= t.events.size() ? t.events.size() : upto + 1;
    const trace::TimeNs now = end ? t.events[end - 1].time_ns : 0;

    // Routers that note their NAT table changes (the simulator's): their NAT rows come from
    // the notes; other traces' rows are inferred from the translations on the hops.
    // Middleboxes that track connections: those that note a decision at all (a router with no NAT,
    // filter or ALG only forwards, and keeps no table).
    std::set<std::string> noting, tracking;
    for (const auto& e : t.events) {
        if (e.kind == trace::EventKind::Middlebox && is_middlebox(t, e.from)) tracking.insert(e.from);
        if (e.kind == trace::EventKind::Middlebox &&
            (e.fact == trace::Fact::NatMappingCreated || e.fact == trace::Fact::PortForward ||
             e.fact == trace::Fact::Nat64Session))
            noting.insert(e.from);
    }

    std::map<std::string, std::size_t> nat_index;  // key: node|inside|outside
    auto add_nat = [&](const std::string& node, const std::string& inside, const std::string& outside,
                       const std::string& peer, const std::string& kind, const trace::Event& e) {
        const std::string key = node + "|" + inside + "|" + outside;
        if (nat_index.count(key)) return;
        nat_index[key] = out.nat.size();
        out.nat.push_back({node, inside, outside, peer, kind, e.conn, e.time_ns});
    };
    auto remove_nat = [&](const std::string& node, const std::string& inside, const std::string& outside) {
        const auto it = nat_index.find(node + "|" + inside + "|" + outside);
        if (it == nat_index.end()) return;
        out.nat.erase(out.nat.begin() + static_cast<std::ptrdiff_t>(it->second));
        nat_index.clear();
        for (std::size_t i = 0; i < out.nat.size(); ++i)
            nat_index[out.nat[i].node + "|" + out.nat[i].inside + "|" + out.nat[i].outside] = i;
    };

    std::map<std::pair<std::string, int>, CtState> ct;  // (router, connection)
    std::vector<std::pair<std::string, int>> ct_order;  // creation order, for the rows
    std::map<std::pair<std::string, int>, std::size_t> expect_of;  // (router, control conn) -> row
    auto forget_ct = [&](const std::string& node, const std::string& src, const std::string& dst) {
        for (auto it = ct.begin(); it != ct.end();)
            if (it->first.first == node && ((!src.empty() && it->second.src == src) || (!dst.empty() && it->second.dst == dst)))
                it = ct.erase(it);
            else
                ++it;
    };
    auto remove_expectation = [&](std::size_t row) {
        out.expectations.erase(out.expectations.begin() + static_cast<std::ptrdiff_t>(row));
        for (auto it = expect_of.begin(); it != expect_of.end();) {
            if (it->second == row) it = expect_of.erase(it);
            else {
                if (it->second > row) --it->second;
                ++it;
            }
        }
    };

    for (std::size_t i = 0; i < end; ++i) {
        const auto& e = t.events[i];
        if (e.kind == trace::EventKind::Segment) {
            // hops into a middlebox that does not note its table: a rewritten source is a source
            // NAT; a rewritten destination a DNAT (or port forward). Replies undo a mapping
            // already listed, so only the first direction seen is recorded.
            const std::string node = translator(t, e);
            if (!noting.count(node)) {
                if (!e.src_after.addr.empty() && !(e.src_after == e.src))
                    add_nat(node, endpoint_text(e.src), endpoint_text(e.src_after), endpoint_text(e.dst_after), "SNAT", e);
                if (!e.dst_after.addr.empty() && !(e.dst_after == e.dst) &&
                    !nat_index.count(node + "|" + endpoint_text(e.dst_after) + "|" + endpoint_text(e.dst)))
                    add_nat(node, endpoint_text(e.dst_after), endpoint_text(e.dst), endpoint_text(e.src), "DNAT", e);
            }
            // connection tracking: each router tracks the connections it forwards
            if (e.conn >= 0 && tracking.count(e.to)) {
                const auto key = std::make_pair(e.to, e.conn);
                auto it = ct.find(key);
                const bool passed = e.verdict != trace::Verdict::Dropped && e.verdict != trace::Verdict::Rejected;
                if (it == ct.end() && passed) {
                    CtState st;
                    st.src = endpoint_text(e.src);
                    st.dst = endpoint_text(e.dst);
                    st.row = ct_order.size();
                    ct_order.push_back(key);
                    ConntrackRow row;
                    row.node = e.to;
                    row.conn = e.conn;
                    for (const auto& c : t.connections)
                        if (c.id == e.conn) row.purpose = c.purpose;
                    row.tuple = st.src + " -> " + st.dst;
                    out.conntrack.push_back(row);
                    it = ct.emplace(key, st).first;
                }
                if (it != ct.end()) {
                    auto& st = it->second;
                    auto& row = out.conntrack[st.row];
                    row.last_ns = e.time_ns;
                    const auto& f = e.flags;
                    const bool original = endpoint_text(e.src) == st.src && endpoint_text(e.dst) == st.dst;
                    if (!original && passed) st.replied = true;
                    const bool syn = f.find('S') != std::string::npos, ack = f.find('A') != std::string::npos;
                    if (f.find('R') != std::string::npos) {
                        row.state = "CLOSED (reset)";
                        st.closing = true;
                    } else if (f.find('F') != std::string::npos) {
                        row.state = row.state.rfind("FIN", 0) == 0 ? "CLOSING" : "FIN_WAIT";
                        st.closing = true;
                    } else if (syn && ack) row.state = "SYN_RECV";
                    else if (syn) row.state = "SYN_SENT";
                    else if (ack && (row.state == "SYN_RECV" || row.state.empty())) row.state = "ESTABLISHED";
                    else if (ack && row.state == "CLOSING") row.state = "CLOSED";
                    if (!passed && syn && !ack && !st.replied) row.state = "SYN_SENT (unanswered)";
                }
            }
        }
        if (e.kind == trace::EventKind::Middlebox) {
            // the routers' table changes, as typed facts (trace/trace.hpp)
            using F = trace::Fact;
            switch (e.fact) {
            case F::NatMappingCreated:
                add_nat(e.from, endpoint_text(e.src), endpoint_text(e.src_after), e.dst.addr.empty() ? "" : endpoint_text(e.dst),
                        e.state == "alg-expectation" ? "SNAT (for the ALG)" : "SNAT", e);
                break;
            case F::NatMappingExpired:
                remove_nat(e.from, endpoint_text(e.src), endpoint_text(e.src_after));
                forget_ct(e.from, endpoint_text(e.src), endpoint_text(e.src_after));  // its connections go with it
                break;
            case F::Nat64Session:  // the IPv6 endpoint's binding to the IPv4 pool (RFC 6146's BIB)
                add_nat(e.from, endpoint_text(e.src), endpoint_text(e.src_after), endpoint_text(e.dst_after),
                        "SNAT (NAT64)", e);
                break;
            case F::PortForward:
                add_nat(e.from, endpoint_text(e.dst_after), endpoint_text(e.dst), endpoint_text(e.src), "port forward", e);
                break;
            case F::ConntrackExpired: forget_ct(e.from, endpoint_text(e.src), ""); break;
            case F::AlgExpectationCreated: {
                // one per control connection: a new announcement replaces the old
                const auto key = std::make_pair(e.from, e.conn);
                if (auto old = expect_of.find(key); old != expect_of.end()) remove_expectation(old->second);
                expect_of[key] = out.expectations.size();
                out.expectations.push_back({e.from, expectation_text(e), e.reason, e.time_ns, true, false});
                break;
            }
            case F::AlgExpectationUsed:
                for (std::size_t r = 0; r < out.expectations.size(); ++r)
                    if (out.expectations[r].node == e.from && expectation_dst(out.expectations[r].text) == endpoint_text(e.dst)) {
                        remove_expectation(r);
                        break;
                    }
                break;
            case F::AlgExpectationExpired:
                for (std::size_t r = 0; r < out.expectations.size(); ++r)
                    if (out.expectations[r].node == e.from && out.expectations[r].text == expectation_text(e)) {
                        remove_expectation(r);
                        break;
                    }
                break;
            default: break;
            }
        }
        if (e.kind == trace::EventKind::Socket && e.conn >= 0 &&
            (e.fact == trace::Fact::ConnectFailed || e.fact == trace::Fact::TimedOut))
            for (auto& [key, st] : ct)
                if (key.second == e.conn) out.conntrack[st.row].state = "FAILED";
        if (e.verdict == trace::Verdict::Dropped || e.verdict == trace::Verdict::Rejected) {
            const std::string where = e.to.empty() ? e.from : e.to;
            std::string what = (e.verdict == trace::Verdict::Dropped ? "dropped " : "rejected ") +
                               (e.flags.empty() ? std::string(trace::to_string(e.kind)) : e.flags) + " " +
                               endpoint_text(e.src) + " -> " + endpoint_text(e.dst);
            out.hits.push_back({where, what, e.reason, e.time_ns, false, true});
        } else if (e.kind == trace::EventKind::Middlebox && e.fact == trace::Fact::FirewallVerdict) {
            out.hits.push_back({e.from, trace::text(e), e.reason, e.time_ns, false, true});  // a rule hit (accepts too)
        }
    }

    // the conntrack rows still held: forgotten ones go, and closing or unanswered ones idle past
    // their timeout are gone by `now`, as the router's own table shows them
    std::vector<ConntrackRow> rows;
    for (std::size_t i = 0; i < ct_order.size(); ++i) {
        const auto it = ct.find(ct_order[i]);
        if (it == ct.end() || it->second.row != i) continue;  // forgotten (and perhaps tracked anew later)
        const auto& row = out.conntrack[it->second.row];
        const trace::TimeNs timeout = it->second.closing ? kClosingNs : !it->second.replied ? kUnrepliedNs : -1;
        if (timeout >= 0 && now - row.last_ns >= timeout) continue;
        rows.push_back(row);
    }
    out.conntrack = std::move(rows);
    return out;
}

}  // namespace ftpsim::gui
