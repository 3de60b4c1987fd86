#include "sim/run/diagnose.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "protocol/client_profile.hpp"
#include "protocol/codec.hpp"
#include "protocol/server_profile.hpp"
#include "sim/run/build.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

namespace ftpsim::sim {

// The typed lines of the control connections (trace::Event::ftp, filled on the sender's hop).
std::vector<ControlLine> control_lines(const trace::Trace& t) {
    std::map<int, const trace::Connection*> conns;
    for (const auto& c : t.connections) conns[c.id] = &c;
    std::vector<ControlLine> out;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment || e.ftp.empty()) continue;
        auto it = conns.find(e.conn);
        for (const auto& l : e.ftp) {
            std::string to = e.to;
            if (it != conns.end()) to = l.command ? it->second->responder : it->second->initiator;
            out.push_back({e.time_ns, e.conn, e.from, to, l.line, l.command, e.seq, l});
        }
    }
    return out;
}

namespace {

bool is_v6_text(const std::string& addr) { return addr.find(':') != std::string::npos; }

bool has_nat64(const scenario::Scenario& s) {
    for (const auto& n : s.nodes)
        if (n.nat64.enabled) return true;
    return false;
}

bool has_ftp64_alg(const scenario::Scenario& s) {
    for (const auto& n : s.nodes)
        if (n.nat64.enabled && n.nat64.ftp_alg) return true;
    return false;
}

// "192.168.1.10:50069", "[2001:db8::10]:20" (RFC 5952 text in brackets, as in a URL).
std::string port_text(const trace::Endpoint& e) {
    const bool v6 = e.addr.find(':') != std::string::npos;
    return (v6 ? "[" + e.addr + "]" : e.addr) + ":" + std::to_string(e.port);
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

// "1 s", "2.5 s", "1 min 30 s": simulated times in a diagnosis.
std::string seconds_text(trace::TimeNs ns) {
    std::int64_t ms = ns / 1'000'000;
    std::int64_t sec = ms / 1000;
    std::string frac = ms % 1000 ? "." + std::to_string(1000 + ms % 1000).substr(1) : "";
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (sec >= 60 && frac.empty())
        return std::to_string(sec / 60) + " min" + (sec % 60 ? " " + std::to_string(sec % 60) + " s" : "");
    return std::to_string(sec) + frac + " s";
}

const scenario::FaultSpec* fault_of_kind(const scenario::Scenario& s, scenario::FaultKind kind) {
    for (const auto& f : s.faults)
        if (f.kind == kind) return &f;
    return nullptr;
}

bool is_attacker(const scenario::Scenario& s, const std::string& node) {
    return std::any_of(s.attackers.begin(), s.attackers.end(), [&](const auto& a) { return a.node == node; });
}

std::vector<std::string> nat_routers(const scenario::Scenario& s) {
    std::vector<std::string> out;
    for (const auto& n : s.nodes)
        if (n.kind == scenario::NodeKind::Router && (n.nat.enabled || !n.forwards.empty())) out.push_back(n.name);
    return out;
}

// ---- What the trace says, indexed once (typed fields only) ------------------------------------

using trace::Event;
using trace::Fact;

struct Context {
    const scenario::Scenario& s;
    const trace::Trace& t;
    std::map<int, const trace::Connection*> conns;
    std::vector<ControlLine> lines;

    Context(const scenario::Scenario& sc, const trace::Trace& tr) : s(sc), t(tr), lines(control_lines(tr)) {
        for (const auto& c : t.connections) conns[c.id] = &c;
    }
    const trace::Connection* conn(int id) const {
        auto it = conns.find(id);
        return it == conns.end() ? nullptr : it->second;
    }
    bool is_data(int id) const { return conn(id) && conn(id)->purpose == "data"; }
    bool is_control(int id) const { return conn(id) && conn(id)->purpose == "control"; }

    template <class Pred>
    const Event* first(Pred p) const {
        for (const auto& e : t.events)
            if (p(e)) return &e;
        return nullptr;
    }
    const Event* first_fact(Fact f) const {
        return first([f](const Event& e) { return e.fact == f; });
    }
    // The middlebox event that decided a segment's fate (same packet, a verdict, on that node).
    const Event* decision_of(const Event& seg) const {
        return first([&](const Event& e) {
            return e.kind == trace::EventKind::Middlebox && e.packet == seg.packet && e.from == seg.to &&
                   e.verdict != trace::Verdict::None;
        });
    }
    // The last data-address announcement on control connection `control` before time `before`.
    const ControlLine* announce_before(int control, trace::TimeNs before) const {
        const ControlLine* out = nullptr;
        for (const auto& l : lines)
            if (l.conn == control && l.time_ns <= before && l.ftp.announce != trace::Announce::None) out = &l;
        return out;
    }
    // The first failing final reply (the codes a transfer or a session fails with).
    const ControlLine* failed_reply() const {
        static const std::set<int> kCodes = {421, 425, 426, 451, 452, 550, 552, 553};
        for (const auto& l : lines)
            if (!l.from_client && l.ftp.final_line && kCodes.count(l.ftp.code)) return &l;
        return nullptr;
    }
    // The first SYN of a data connection that was dropped or rejected.
    const Event* blocked_data_syn() const {
        return first([&](const Event& e) {
            return e.kind == trace::EventKind::Segment && e.flags == "S" && is_data(e.conn) &&
                   (e.verdict == trace::Verdict::Dropped || e.verdict == trace::Verdict::Rejected);
        });
    }
};

// What a rule found: the events it rests on, and the ones its explanation names.
struct Match {
    std::vector<const Event*> evidence;
    const ControlLine* line = nullptr;      // the reply (or refused command) the finding is about
    const ControlLine* announce = nullptr;  // the announcement (PORT/EPRT/227/229) involved
    const Event* event = nullptr;           // the main event (a SYN, an expiry, a fault)
    const Event* decided = nullptr;         // the middlebox event that decided `event`'s fate
    std::string kind;                       // when one rule has several kinds (set by match)
};

// A finding that rests on one event: it is the main event and the first evidence.
Match about(const Event* e) {
    Match m;
    m.event = e;
    m.evidence.push_back(e);
    return m;
}

// Categories of candidate fixes: a rule offers only those that address its cause.
enum FixCategory : unsigned {
    kFixAlg = 1u << 0,
    kFixNatPool = 1u << 1,
    kFixNatTimeout = 1u << 2,
    kFixMode = 1u << 3,
    kFixClient = 1u << 4,
    kFixForward = 1u << 5,
    kFixServerPolicy = 1u << 6,
    kFixPassiveRange = 1u << 7,
    kFixUsers = 1u << 8,
    kFixDisk = 1u << 9,
    kFixFault = 1u << 10,
    kFixFirewall = 1u << 11,
    kFixTls = 1u << 12,
    kFixAny = ~0u,
};

using Matcher = std::optional<Match> (*)(const Context&);
using Explainer = void (*)(const Context&, const Match&, trace::Diagnosis&);

struct Rule {
    const char* kind;    // the finding's stable kind (a matcher may refine it)
    const char* when;    // when the rule applies, in one line
    Matcher match;
    Explainer explain;
    unsigned fixes;      // the FixCategory set its candidate fixes come from
};

// The data connection's SYN that never got through, with what decided its fate.
std::optional<Match> data_syn(const Context& c) {
    const Event* syn = c.blocked_data_syn();
    if (!syn) return std::nullopt;
    Match m;
    m.event = syn;
    m.decided = c.decision_of(*syn);
    m.evidence.push_back(syn);
    if (m.decided) m.evidence.push_back(m.decided);
    if (const auto* d = c.conn(syn->conn)) m.announce = c.announce_before(d->control_id, syn->time_ns);
    return m;
}

bool private_destination(const Event& syn) {
    auto a = proto::parse_ip(syn.dst.addr);
    return a && a->is_private();
}

// True when the data connection was opened by its control connection's client (passive mode).
bool client_opened(const Context& c, const Event& syn) {
    const auto* d = c.conn(syn.conn);
    const auto* ctl = d ? c.conn(d->control_id) : nullptr;
    return d && ctl && d->initiator == ctl->initiator;
}

std::string syn_text(const Event& e) {
    const std::string dst = port_text(e.dst);
    return "its SYN from " + port_text(e.src) + " to " + dst +
           (e.verdict == trace::Verdict::Dropped ? " was dropped at " + e.to : " was refused with a RST by " + e.to) +
           (e.reason.empty() ? "" : " (" + e.reason + ")");
}

std::string announce_text(const Match& m, const char* otherwise) {
    return m.announce ? quote(m.announce->text) : std::string(otherwise);
}

void add_line(Match& m, const ControlLine* l, const Context& c) {
    if (!l) return;
    for (const auto& e : c.t.events)
        if (e.seq == l->seq) m.evidence.push_back(&e);
}

// ---- The rules, in the order they are tried: the first that matches explains the failure. ----

const std::vector<Rule>& rules() {
    static const std::vector<Rule> kRules = {
        {"server-restart", "a server-restart fault stopped the FTP server",
         [](const Context& c) -> std::optional<Match> {
             const Event* stop = c.first_fact(Fact::FaultServerStop);
             if (!stop || !fault_of_kind(c.s, scenario::FaultKind::ServerRestart)) return std::nullopt;
             Match m;
             m.event = stop;
             m.evidence.push_back(stop);
             if (const auto* r = c.failed_reply(); r && r->ftp.code == 421) {
                 m.line = r;
                 add_line(m, r, c);
             }
             return m;
         },
         [](const Context& c, const Match& m, trace::Diagnosis& d) {
             const auto* f = fault_of_kind(c.s, scenario::FaultKind::ServerRestart);
             std::string profile = "the server";
             std::uint16_t port = 21;
             for (const auto& sv : c.s.servers)
                 if (sv.node == f->target) profile = sv.profile, port = sv.port;
             const bool said_421 = m.line != nullptr;
             d.what = "The FTP server " + f->target + " restarted: it stopped at " + seconds_text(f->at_ns) +
                      " and was back at " + seconds_text(f->at_ns + f->duration_ns) + ". " +
                      (said_421 ? "Its sessions got " + quote(m.line->text) + " and were closed"
                                : "Its sessions were closed without a reply") +
                      ", and the transfer under way was cut off.";
             d.cause = "A restart ends every session: the server process " +
                       std::string(said_421 ? "announces it with 421 (RFC 959: service not available, closing "
                                              "control connection) and "
                                            : "(" + profile + ", like any daemon that is stopped) sends no 421: the kernel ") +
                       "closes the control connections and cuts the data connections, so a download stops half "
                       "way. While the server is down nothing listens on port " +
                       std::to_string(port) +
                       ": a new connection is refused at once with a RST (\"connection refused\"), not timed out. "
                       "Once it is back, connections and logins work again; a client must reconnect, log in again "
                       "and start the transfer again (or resume it with REST).";
         },
         kFixFault},

        {"link-down", "a link-down fault lost packets",
         [](const Context& c) -> std::optional<Match> {
             const Event* lost = c.first_fact(Fact::LinkDown);
             if (!lost || !fault_of_kind(c.s, scenario::FaultKind::LinkDown)) return std::nullopt;
             Match m;
             m.event = lost;
             m.evidence.push_back(lost);
             if (const Event* gave_up = c.first_fact(Fact::TimedOut)) {
                 m.decided = gave_up;
                 m.evidence.push_back(gave_up);
             }
             return m;
         },
         [](const Context& c, const Match& m, trace::Diagnosis& d) {
             const auto* f = fault_of_kind(c.s, scenario::FaultKind::LinkDown);
             d.what = "The link " + f->target + " was down from " + seconds_text(f->at_ns) + " to " +
                      seconds_text(f->at_ns + f->duration_ns) + " (" + seconds_text(f->duration_ns) +
                      "): every packet sent over it was lost" +
                      (m.decided ? ", and at " + seconds_text(m.decided->time_ns) + " " + m.decided->from +
                                       "'s TCP gave up: " + trace::text(*m.decided)
                                 : std::string()) +
                      ".";
             d.cause = "TCP does not know why the ACKs stop: it resends the oldest unacknowledged segment each "
                       "time its retransmission timer expires and doubles the timer (RFC 6298), up to 2 minutes. "
                       "An outage shorter than its patience only costs time; this one was longer: after 15 "
                       "retransmissions without an ACK (Linux tcp_retries2, about 15 minutes) the sender dropped "
                       "the connection without telling the peer, which it could not reach anyway. The side that "
                       "only receives (the client downloading) has nothing unacknowledged, so its TCP sends nothing "
                       "and notices nothing: without TCP keepalives or an application timeout (curl --max-time or "
                       "--speed-time) it waits for the rest of the file forever, even after the link is back.";
         },
         kFixFault},

        {"nat-pool-exhausted", "a NAT had no public port left for a new connection",
         [](const Context& c) -> std::optional<Match> {
             // The NAT's own decision (the dropped segment carries the same fact, without a sentence).
             const Event* e = c.first([](const Event& x) {
                 return x.kind == trace::EventKind::Middlebox && x.fact == Fact::NatPoolExhausted;
             });
             if (!e) return std::nullopt;
             return about(e);
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The NAT ran out of public ports: " + trace::text(*m.event) + ".";
             d.cause = "Every connection from the inside needs its own public port on the NAT (a symmetric NAT "
                       "even needs one per destination). With many clients, or many data connections, the NAT's "
                       "port pool is used up and new connections are dropped until old mappings expire.";
         },
         kFixNatPool | kFixMode},

        {"passive-ports-exhausted", "the server found no free port in its passive range",
         [](const Context& c) -> std::optional<Match> {
             const Event* e = c.first_fact(Fact::ServerPassiveExhausted);
             if (!e) return std::nullopt;
             return about(e);
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The server ran out of passive ports: " + trace::text(*m.event) + ".";
             d.cause = "Each passive data connection needs a listening port from the server's passive range "
                       "(vsftpd pasv_min_port..pasv_max_port). When more clients wait for a data connection than "
                       "the range has ports, the server cannot answer PASV/EPSV and the transfer fails.";
         },
         kFixPassiveRange | kFixUsers | kFixMode},

        {"eprt-ipv6-to-ipv4-server", "an IPv6 client's EPRT |2| reached an IPv4 server through NAT64 and was refused",
         [](const Context& c) -> std::optional<Match> {
             if (!has_nat64(c.s)) return std::nullopt;
             for (std::size_t i = 0; i < c.lines.size(); ++i) {
                 const ControlLine& l = c.lines[i];
                 if (!l.from_client || l.ftp.verb != "EPRT" || !is_v6_text(l.ftp.announced.addr)) continue;
                 for (std::size_t j = i + 1; j < c.lines.size(); ++j) {
                     const ControlLine& r = c.lines[j];
                     if (r.from_client || r.conn != l.conn || !r.ftp.final_line) continue;
                     if (r.ftp.code < 400) break;
                     Match m;
                     m.announce = &l;
                     m.line = &r;
                     add_line(m, &l, c);
                     add_line(m, &r, c);
                     if (m.evidence.empty()) return std::nullopt;
                     m.event = m.evidence.front();
                     return m;
                 }
             }
             return std::nullopt;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The server refused the data-connection address: it answered " + quote(m.line->text) + " to " +
                      quote(m.announce->text) + ".";
             d.cause = "The client has only IPv6 and announced an IPv6 address with EPRT |2|. The NAT64 translator "
                       "passed the line unchanged to an IPv4-only server, which cannot connect to an IPv6 address "
                       "(and the translator admits no connection that nothing on the IPv6 side opened). Active mode "
                       "through NAT64 needs an FTP64 ALG (RFC 6384) that rewrites EPRT to the translator's IPv4 "
                       "address; extended passive mode (EPSV) needs nothing.";
         },
         kFixMode | kFixAlg},

        {"ftp64-alg-refused", "the FTP64 ALG on the NAT64 translator refused a client's command itself",
         [](const Context& c) -> std::optional<Match> {
             for (const auto& e : c.t.events)
                 if (e.fact == Fact::Alg64Answered && e.state != "algs") return about(&e);
             return std::nullopt;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The FTP64 ALG on " + m.event->from + " answered " + quote(m.event->line_before) + " itself with " +
                      quote(m.event->line_after) + "; the server never saw the command.";
             d.cause = m.event->state == "epsv-all"
                           ? "EPSV ALL (RFC 2428) promises that no PORT, PASV or EPRT follows, but the ALG turns "
                             "every EPSV into PASV for the IPv4 server, so it cannot let the promise through and "
                             "refuses it (504, as Jool does). Plain EPSV works through the ALG."
                           : "The ALG translates EPSV only for IPv6 (protocol 2); it refuses any other protocol "
                             "number itself (522, as Jool does).";
         },
         kFixMode},

        {"pasv-on-ipv6", "the client sent PASV on an IPv6 control connection; the 227 gave it no usable address",
         [](const Context& c) -> std::optional<Match> {
             for (std::size_t i = 0; i < c.lines.size(); ++i) {
                 const ControlLine& l = c.lines[i];
                 if (!l.from_client || l.ftp.verb != "PASV") continue;
                 const Event* sent = nullptr;
                 for (const auto& e : c.t.events)
                     if (e.seq == l.seq) sent = &e;
                 if (!sent || !is_v6_text(sent->src.addr)) continue;
                 for (std::size_t j = i + 1; j < c.lines.size(); ++j) {
                     const ControlLine& r = c.lines[j];
                     if (r.from_client || r.conn != l.conn || !r.ftp.final_line) continue;
                     if (r.ftp.code != 227) break;
                     Match m;
                     m.announce = &r;
                     add_line(m, &l, c);
                     add_line(m, &r, c);
                     if (m.evidence.empty()) return std::nullopt;
                     m.event = m.evidence.front();
                     return m;
                 }
             }
             return std::nullopt;
         },
         [](const Context& c, const Match& m, trace::Diagnosis& d) {
             d.what = "The client sent PASV on an IPv6 control connection and got " + quote(m.announce->text) +
                      ": no address it can connect to.";
             const auto& a = m.announce->ftp;
             if (has_nat64(c.s) && a.announce == trace::Announce::Pasv227 && !a.announced.addr.empty() &&
                 a.announced.addr != "0.0.0.0")
                 d.cause = "The server is IPv4-only behind a NAT64 translator: its 227 names its IPv4 address " +
                           a.announced.addr +
                           ", which the IPv6-only client has no route to. " +
                           (has_ftp64_alg(c.s)
                                ? std::string("The FTP64 ALG (RFC 6384) translates EPSV and the 227 answering it, "
                                              "never a client's own PASV; EPSV gets a 229 the client can use.")
                                : std::string("Without an FTP64 ALG (RFC 6384) nothing rewrites the reply; EPSV's "
                                              "229 carries only a port and passes the translator unchanged."));
             else
                 d.cause = "A 227 reply has room only for an IPv4 address (RFC 959). On IPv6 the server answers "
                           "with a placeholder (vsftpd: 0,0,0,0) or with text no client can parse (pyftpdlib). "
                           "RFC 2428's EPSV is the passive command for IPv6; curl, ftplib and lftp always use it "
                           "there.";
         },
         kFixMode | kFixClient},

        {"port-refused-foreign-address", "the server refused a PORT/EPRT naming another host than its peer",
         [](const Context& c) -> std::optional<Match> {
             const Event* e = c.first_fact(Fact::ServerRefusedAddress);
             if (!e) return std::nullopt;
             Match m = about(e);
             for (const auto& l : c.lines) {
                 if (l.time_ns < e->time_ns) {
                     if (l.from_client && l.to == e->from && l.ftp.announce != trace::Announce::None) m.announce = &l;
                     continue;
                 }
                 if (!l.from_client && l.from == e->from && l.ftp.final_line && l.ftp.code >= 400) {
                     m.line = &l;
                     break;
                 }
             }
             add_line(m, m.announce, c);
             add_line(m, m.line, c);
             return m;
         },
         [](const Context& c, const Match& m, trace::Diagnosis& d) {
             d.what = "The server refused the data-connection address: it answered " +
                      (m.line ? quote(m.line->text) : std::string("with an error")) +
                      (m.announce ? " to " + quote(m.announce->text) : "") + ".";
             bool fxp = false;
             for (const auto& cl : c.s.clients) fxp = fxp || cl.mode == scenario::ClientMode::Fxp;
             std::string nats;
             for (const auto& r : nat_routers(c.s)) nats += (nats.empty() ? "" : ", ") + r;
             if (fxp)
                 d.cause = "In a server-to-server transfer the client's PORT names the other server, not the "
                           "client. vsftpd and pyftpdlib refuse a PORT to any address other than the control "
                           "connection's peer (vsftpd port_promiscuous=NO), because a server that obeys it can be "
                           "used to attack third hosts (the FTP bounce attack, RFC 2577).";
             else if (!nats.empty())
                 d.cause = "The client wrote its own private address into the command, but the server sees the "
                           "control connection coming from the NAT's public address (" + nats +
                           " translated the packets' source address, not the address written inside the FTP "
                           "command). The server refuses a data address that differs from the control connection's "
                           "peer, which also protects against the FTP bounce attack (RFC 2577).";
             else
                 d.cause = "The announced address is not the address the control connection comes from. The "
                           "server refuses to connect anywhere else, because that would let anyone use it to "
                           "attack a third host (the FTP bounce attack, RFC 2577).";
         },
         kFixAlg | kFixMode | kFixClient | kFixServerPolicy | kFixForward},

        {"spsv-identifier-stolen", "an attacker's SPDT with a sniffed identifier got 200",
         [](const Context& c) -> std::optional<Match> {
             for (const auto& a : c.s.attackers)
                 for (const auto& tr : c.t.outcome.transfers)
                     if (tr.client == a.node && tr.command == "SPDT" && tr.reply == 200) {
                         Match m;
                         if (const Event* e = c.first_fact(Fact::AttackerStole)) m.evidence.push_back(e);
                         return m;
                     }
             return std::nullopt;
         },
         [](const Context& c, const Match&, trace::Diagnosis& d) {
             const auto& a = c.s.attackers.front();
             d.what = "The attacker " + a.node + " sent SPDT with the identifier it read on " + a.sniff +
                      " before the client did and got \"200 DATA\": the client's data connection is now hers. "
                      "The client's own SPDT got 504 and it gave up the transfer.";
             d.cause = "An SPSV identifier is a bearer token: the first SPDT that names it gets the data "
                       "connection, and it is good for one use only (draft-rosenau 3.1), so the rightful owner is "
                       "refused. It crosses the control connection in clear text, so an eavesdropper who is faster "
                       "than the client takes the connection: a client that went on with its transfer command "
                       "would hand it the data.";
         },
         kFixTls | kFixServerPolicy},

        {"data-connection-from-attacker-refused", "the server refused an attacker's data connection",
         [](const Context& c) -> std::optional<Match> {
             const Event* e = c.first_fact(Fact::ServerRefusedDataPeer);
             if (!e || c.s.attackers.empty()) return std::nullopt;
             Match m;
             m.event = e;
             m.evidence.push_back(e);
             if (const Event* st = c.first_fact(Fact::AttackerStole)) m.evidence.push_back(st);
             m.line = c.failed_reply();
             add_line(m, m.line, c);
             return m;
         },
         [](const Context& c, const Match& m, trace::Diagnosis& d) {
             const auto& a = c.s.attackers.front();
             d.what = "The attacker " + a.node + " connected to the passive port before the client did; the "
                      "server refused its connection" +
                      (m.line ? " with " + quote(m.line->text) : std::string()) +
                      ", and the client's transfer failed too.";
             d.cause = "The server announced its passive port in the 227 reply, in clear text; " + a.node +
                       " read it on " + a.sniff + " and connected first. vsftpd (pasv_promiscuous=NO) compares a "
                       "data connection's address with the control connection's and refuses a stranger, so "
                       "nothing was stolen. But it takes only one connection per transfer: the first one in the "
                       "listen queue, the attacker's. It answers the transfer command with the 425, closes the "
                       "passive port and the client's own connection, which waited in the queue, is reset. The "
                       "check protects the data, not the transfer: an eavesdropper can still make it fail "
                       "(denial of service).";
         },
         kFixTls | kFixMode},

        {"data-connection-from-foreign-address", "the server refused a data connection from another address",
         [](const Context& c) -> std::optional<Match> {
             const Event* e = c.first_fact(Fact::ServerRefusedDataPeer);
             if (!e) return std::nullopt;
             Match m = about(e);
             m.line = c.failed_reply();
             add_line(m, m.line, c);
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "A data connection arrived from an unexpected address and the server refused it" +
                      (m.line ? ": " + quote(m.line->text) : std::string()) + ".";
             d.cause = "The server accepts a data connection only from the control connection's peer (vsftpd "
                       "pasv_promiscuous=NO). The connection came from another address: another server "
                       "(server-to-server transfer), a NAT that translated it differently, or a third host trying "
                       "to steal the data.";
         },
         kFixServerPolicy | kFixMode | kFixAlg},

        {"data-connection-stolen", "an attacker received the client's data",
         [](const Context& c) -> std::optional<Match> {
             for (const auto& tr : c.t.outcome.transfers)
                 if (is_attacker(c.s, tr.client) && tr.command == "DATA" && tr.bytes > 0) {
                     Match m;
                     if (const Event* e = c.first_fact(Fact::AttackerStole)) m.evidence.push_back(e);
                     return m;
                 }
             return std::nullopt;
         },
         [](const Context& c, const Match&, trace::Diagnosis& d) {
             const auto& a = c.s.attackers.front();
             d.what = "The attacker " + a.node + " connected to the passive port before the client and the server "
                      "gave it the data connection: the client's transfer did not complete.";
             d.cause = "A server that accepts the data connection from any address (vsftpd pasv_promiscuous=YES) "
                       "hands it to whoever connects first; the 227 reply announced the port in clear text.";
         },
         kFixTls | kFixServerPolicy},

        {"data-connection-firewalled", "a firewall rule dropped or rejected the data connection's SYN",
         [](const Context& c) -> std::optional<Match> {
             auto m = data_syn(c);
             if (!m || m->event->fact != Fact::FirewallVerdict) return std::nullopt;
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The data connection never opened: " + syn_text(*m.event) + ".";
             d.cause = "A firewall on the way filters new incoming connections. FTP's data connection is a "
                       "second, separate TCP connection, so a filter that only lets in the control connection (and "
                       "connections it has been told to expect) stops it.";
         },
         kFixFirewall | kFixMode | kFixAlg},

        {"passive-port-not-forwarded", "nothing listens where the data connection's SYN went: it got a RST",
         [](const Context& c) -> std::optional<Match> {
             auto m = data_syn(c);
             if (!m || m->event->verdict != trace::Verdict::Rejected) return std::nullopt;
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             const Event& e = *m.event;
             d.what = "The data connection never opened: " + syn_text(e) + ".";
             d.cause = "Nothing accepts connections on " + port_text(e.dst) +
                       ": the router forwards only some ports to the server (typically 21), so the server's "
                       "passive data port is closed from the outside. The server announced " +
                       announce_text(m, "its port") + ", a port the router does not forward.";
         },
         kFixForward | kFixAlg | kFixMode | kFixClient | kFixServerPolicy},

        {"alg-port-not-inspected", "the data connection failed and an ALG left the announcement alone: "
                                   "the control port is not in its list",
         [](const Context& c) -> std::optional<Match> {
             auto m = data_syn(c);
             if (!m || !m->announce) return std::nullopt;
             const auto* d = c.conn(m->event->conn);
             // Only an ALG in front of the announcing host could have translated its address: the
             // line it skipped came from the very address the announcement names.
             const Event* skipped = c.first([&](const Event& e) {
                 return e.fact == Fact::AlgLineIgnored && e.alg_skip == trace::AlgSkip::PortNotInspected && d &&
                        e.conn == d->control_id && e.time_ns <= m->event->time_ns &&
                        e.src.addr == m->announce->ftp.announced.addr;
             });
             if (!skipped) return std::nullopt;
             m->decided = skipped;
             m->evidence.push_back(skipped);
             add_line(*m, m->announce, c);
             return m;
         },
         [](const Context& c, const Match& m, trace::Diagnosis& d) {
             d.what = "The data connection never opened: " + syn_text(*m.event) + ".";
             d.cause = std::string(client_opened(c, *m.event)
                                       ? "The client connects to the private address the server announced in "
                                       : "The server connects to the private address the client announced in ") +
                       announce_text(m, "its announcement") + ". " + m.decided->from +
                       "'s FTP ALG, in front of the announcing host, would have rewritten it, but it inspects "
                       "control connections only on the ports in its list and this one goes to port " +
                       std::to_string(m.decided->dst.port) +
                       ": it left the line alone (no rewrite, no expectation), so the address means something only "
                       "inside that network.";
         },
         kFixAlg | kFixMode | kFixClient | kFixForward | kFixServerPolicy},

        {"pasv-private-address", "the client connected to the private address the server announced",
         [](const Context& c) -> std::optional<Match> {
             auto m = data_syn(c);
             if (!m || !private_destination(*m->event) || !client_opened(c, *m->event)) return std::nullopt;
             add_line(*m, m->announce, c);
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The data connection never opened: " + syn_text(*m.event) + ".";
             d.cause = "The client connects to the private address the server announced in " +
                       announce_text(m, "its 227 reply") +
                       ". That address exists only inside the server's network, so from the client's side there "
                       "is no route to it.";
         },
         kFixClient | kFixMode | kFixForward | kFixAlg | kFixServerPolicy},

        {"port-private-address", "the server connected to the private address the client announced",
         [](const Context& c) -> std::optional<Match> {
             auto m = data_syn(c);
             if (!m || !private_destination(*m->event) || client_opened(c, *m->event)) return std::nullopt;
             add_line(*m, m->announce, c);
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The data connection never opened: " + syn_text(*m.event) + ".";
             d.cause = "The server connects to the private address the client announced in " +
                       announce_text(m, "PORT") +
                       ". That address exists only inside the client's network: from the server's side it is "
                       "unreachable, and the NAT in front of the client has no mapping for it.";
         },
         kFixAlg | kFixMode},

        {"nat-filtering-blocks-data-connection", "a NAT let no mapping admit the data connection's SYN",
         [](const Context& c) -> std::optional<Match> { return data_syn(c); },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The data connection never opened: " + syn_text(*m.event) + ".";
             d.cause = "The connection was addressed to the NAT's public address, but the NAT has no mapping "
                       "that admits it: nothing inside opened that port towards this peer, and no FTP ALG read "
                       "the announcement to create one. A NAT lets in only what matches a mapping its filtering "
                       "allows.";
         },
         kFixAlg | kFixMode},

        {"disk-full", "the server answered 452/552: no room for the file",
         [](const Context& c) -> std::optional<Match> {
             const ControlLine* r = c.failed_reply();
             if (!r || (r->ftp.code != 452 && r->ftp.code != 552)) return std::nullopt;
             Match m;
             m.line = r;
             add_line(m, r, c);
             if (const Event* e = c.first_fact(Fact::ServerDiskFull)) m.evidence.push_back(e);
             if (const Event* e = c.first_fact(Fact::FaultDiskFull)) m.evidence.push_back(e);
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The server answered " + quote(m.line->text) + ".";
             d.cause = "The server has no room left for the file (its disk quota is reached).";
         },
         kFixDisk | kFixFault},

        {"nat-idle-expiry", "a NAT or conntrack entry expired, then the control connection's packets were dropped there",
         [](const Context& c) -> std::optional<Match> {
             for (const auto& x : c.t.events) {
                 if (x.fact != Fact::NatMappingExpired && x.fact != Fact::ConntrackExpired) continue;
                 const Event* drop = c.first([&](const Event& e) {
                     return e.kind == trace::EventKind::Segment && e.time_ns >= x.time_ns && e.to == x.from &&
                            c.is_control(e.conn) && e.verdict != trace::Verdict::Delivered;
                 });
                 if (!drop) continue;
                 Match m;
                 m.kind = x.fact == Fact::NatMappingExpired ? "nat-idle-expiry" : "conntrack-idle-expiry";
                 m.event = &x;
                 m.decided = drop;
                 m.evidence = {&x, drop};
                 return m;
             }
             return std::nullopt;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "A middlebox forgot the control connection while the data connection was busy: " +
                      trace::text(*m.event) + ".";
             d.cause = "During a long transfer the control connection carries nothing, so a NAT or firewall with "
                       "a short idle timeout drops its mapping. When the server finally sends 226, there is no "
                       "mapping left for it: the client never hears that the transfer completed.";
         },
         kFixNatTimeout},

        {"transfer-aborted", "the server answered 426: the data connection broke",
         [](const Context& c) -> std::optional<Match> {
             const ControlLine* r = c.failed_reply();
             if (!r || r->ftp.code != 426) return std::nullopt;
             Match m;
             m.line = r;
             add_line(m, r, c);
             if (const Event* e = c.first_fact(Fact::FaultDataCut)) m.evidence.push_back(e);
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The server answered " + quote(m.line->text) + ".";
             d.cause = "The data connection was closed or reset in the middle of the transfer, so the server "
                       "reports the transfer as aborted.";
         },
         kFixFault | kFixMode},

        {"too-many-users", "the server reached its user limit and answered 421",
         [](const Context& c) -> std::optional<Match> {
             const ControlLine* r = c.failed_reply();
             const Event* full = c.first_fact(Fact::ServerUserLimit);
             if (!r || r->ftp.code != 421 || !full) return std::nullopt;
             Match m;
             m.line = r;
             m.evidence.push_back(full);
             add_line(m, r, c);
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The server answered " + quote(m.line->text) + ".";
             d.cause = "The server refuses more users (too many connections).";
         },
         kFixUsers | kFixMode | kFixFault},

        {"server-failed-reply", "the server answered a transfer or session with a failure code",
         [](const Context& c) -> std::optional<Match> {
             const ControlLine* r = c.failed_reply();
             if (!r) return std::nullopt;
             Match m;
             m.line = r;
             add_line(m, r, c);
             switch (r->ftp.code) {
             case 425: m.kind = "data-connection-failed"; break;
             case 421: m.kind = "service-closing"; break;
             default: m.kind = "request-refused"; break;
             }
             return m;
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The server answered " + quote(m.line->text) + ".";
             switch (m.line->ftp.code) {
             case 425: d.cause = "The server could not open the data connection."; break;
             case 421: d.cause = "The server closed the control connection (RFC 959: service not available)."; break;
             default: d.cause = "The server refused the request."; break;
             }
         },
         kFixAny},

        {"control-connection-dropped", "a control-connection segment was dropped on the way",
         [](const Context& c) -> std::optional<Match> {
             const Event* e = c.first([&](const Event& x) {
                 return x.kind == trace::EventKind::Segment && c.is_control(x.conn) &&
                        x.verdict == trace::Verdict::Dropped;
             });
             if (!e) return std::nullopt;
             return about(e);
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             d.what = "The control connection's packets were dropped at " + m.event->to + " (" + m.event->reason + ").";
             d.cause = "Without a working control connection no command reaches the server.";
         },
         kFixAny},

        {"control-connection-failed", "the client could not open the control connection (refused, timed out, unreachable)",
         [](const Context& c) -> std::optional<Match> {
             const Event* e = c.first([&](const Event& x) {
                 return x.kind == trace::EventKind::Socket && x.fact == Fact::ConnectFailed && c.is_control(x.conn);
             });
             if (!e) return std::nullopt;
             return about(e);
         },
         [](const Context&, const Match& m, trace::Diagnosis& d) {
             const auto& e = *m.event;
             const std::string peer = port_text(e.dst);
             switch (e.error) {
             case trace::SocketError::Refused:
                 d.what = e.from + " could not open the control connection to " + peer + ": the connection was refused.";
                 d.cause = "Nothing listens at that address and port (the host or a router answered the SYN with a "
                           "reset or an ICMP port unreachable), so no FTP session can start.";
                 break;
             case trace::SocketError::TimedOut:
                 d.what = e.from + " could not open the control connection to " + peer + ": no answer to its SYNs.";
                 d.cause = "Something on the way drops the SYN silently (a firewall's drop, a router's INPUT policy "
                           "drop, or a host that is down), so the client waits until its connect timeout.";
                 break;
             default:
                 d.what = e.from + " could not open the control connection to " + peer + ".";
                 d.cause = "No route leads to the server, so no FTP session can start.";
                 break;
             }
         },
         kFixAny},

        {"run-limit-reached", "the simulation stopped at its time or event limit",
         [](const Context& c) -> std::optional<Match> {
             if (c.t.outcome.limit_reached.empty()) return std::nullopt;
             return Match{};
         },
         [](const Context& c, const Match&, trace::Diagnosis& d) {
             d.what = "The run stopped before the clients finished: " + c.t.outcome.limit_reached + ".";
             d.cause = "The session was still waiting when the simulation's limit was reached.";
         },
         kFixAny},

        {"transfer-incomplete", "none of the above: a transfer did not complete",
         [](const Context&) -> std::optional<Match> { return Match{}; },
         [](const Context&, const Match&, trace::Diagnosis& d) {
             d.what = "A transfer did not complete.";
             d.cause = "The clients' sessions ended without the replies they expected.";
         },
         kFixAny},
    };
    return kRules;
}

// The first rule that matches, as a finding (without fixes yet), and its fix categories.
std::pair<trace::Diagnosis, unsigned> explain(const scenario::Scenario& s, const trace::Trace& t) {
    const Context c(s, t);
    for (const auto& r : rules()) {
        auto m = r.match(c);
        if (!m) continue;
        trace::Diagnosis d;
        d.kind = m->kind.empty() ? r.kind : m->kind;
        r.explain(c, *m, d);
        std::set<std::uint64_t> seen;
        for (const Event* e : m->evidence)
            if (e && seen.insert(e->seq).second) d.evidence.push_back(e->seq);
        std::sort(d.evidence.begin(), d.evidence.end());
        return {d, r.fixes};
    }
    return {};
}

struct Candidate {
    std::string description;
    std::vector<std::string> sets;
    unsigned category = kFixAny;  // a FixCategory
};

std::string forwards_yaml(const scenario::NodeSpec& r, const std::string& extra) {
    std::string out = "[";
    for (const auto& f : r.forwards) {
        out += "{port: " + std::to_string(f.external.lo) +
               (f.external.hi != f.external.lo ? "-" + std::to_string(f.external.hi) : "") + ", to: " +
               f.to.to_string() + (f.to_port ? ":" + std::to_string(f.to_port) : "") + "}, ";
    }
    return out + extra + "]";
}

const scenario::Interface* outside_interface(const scenario::NodeSpec& r) {
    for (const auto& i : r.interfaces)
        if (i.side == mbox::Realm::Outside) return &i;
    return nullptr;
}

// The router whose port forwards lead to `server` (the server sits behind it).
const scenario::NodeSpec* router_forwarding_to(const scenario::Scenario& s, const scenario::NodeSpec& server) {
    for (const auto& n : s.nodes)
        for (const auto& f : n.forwards)
            for (const auto& i : server.interfaces)
                if (f.to == i.address.addr) return &n;
    return nullptr;
}

// vsftpd 3.0.3 cannot make active connections from port 20 with port_promiscuous on.
const std::string kPromiscuous = "{port_promiscuous: true, pasv_promiscuous: true, connect_from_port_20: false}";

// A script as a YAML flow list for --set, every step quoted (steps may contain commas).
std::string yaml_steps(const std::vector<std::string>& steps) {
    std::string out = "[";
    for (std::size_t i = 0; i < steps.size(); ++i) {
        out += i ? ", \"" : "\"";
        for (char ch : steps[i]) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += "\"";
    }
    return out + "]";
}

// Against an eavesdropper: FTPS. AUTH TLS before the login, PBSZ 0 and PROT P after it (RFC 4217),
// and TLS enabled on every server (vsftpd ssl_enable=YES). The 227 and the SPSV identifier then
// travel inside TLS records.
std::optional<Candidate> tls_candidate(const scenario::Scenario& s) {
    Candidate c{"Protect the control connection with TLS (AUTH TLS, then PBSZ 0 and PROT P after the login; "
                "vsftpd ssl_enable=YES): an eavesdropper can no longer read the 227 reply or the SPSV identifier",
                {}, kFixTls};
    for (const auto& sv : s.servers) c.sets.push_back("servers." + sv.node + ".options.supports_tls=true");
    for (const auto& cl : s.clients) {
        if (scenario::is_server_to_server(cl.mode)) continue;
        std::vector<std::string> steps;
        bool logged_in = false;
        for (const auto& step : cl.script) {
            if (step.rfind("raw AUTH", 0) == 0) return std::nullopt;  // already FTPS
            bool login = step == "login" || step.rfind("login ", 0) == 0;
            if (login && !logged_in) steps.push_back("raw AUTH TLS");
            steps.push_back(step);
            if (login && !logged_in) {
                steps.push_back("raw PBSZ 0");
                steps.push_back("raw PROT P");
                logged_in = true;
            }
        }
        if (!logged_in) return std::nullopt;
        c.sets.push_back("clients." + cl.node + ".script=" + yaml_steps(steps));
    }
    return c;
}

// The server's profile, as it comes, refuses foreign data addresses: the promiscuous options are
// a fix worth trying (a property of the profile, not its name).
bool refuses_foreign(const scenario::ServerSpec& sv) {
    const auto profile = proto::server_profile_by_name(sv.profile);
    return profile && proto::refuses_foreign_data_addresses(*profile);
}

std::vector<Candidate> candidates(const scenario::Scenario& s) {
    std::vector<Candidate> out;
    if (!s.attackers.empty())
        if (auto tls = tls_candidate(s)) out.push_back(*tls);
    // A server-to-server transfer needs both servers to accept the other's address.
    std::vector<std::string> all_promiscuous;
    for (const auto& sv : s.servers)
        if (refuses_foreign(sv)) all_promiscuous.push_back("servers." + sv.node + ".options=" + kPromiscuous);
    if (all_promiscuous.size() > 1)
        out.push_back({"Let the servers accept each other's address (vsftpd port_promiscuous and pasv_promiscuous, "
                       "as FXP needs; this also permits the bounce attack)",
                       all_promiscuous, kFixServerPolicy});
    if (!s.faults.empty())
        out.push_back({"Run it again without the fault: the transfer works when nothing breaks (after a reset, "
                       "a client that supports REST resumes where it stopped)",
                       {"faults=[]"}, kFixFault});
    std::set<std::uint16_t> server_ports;
    for (const auto& sv : s.servers) server_ports.insert(sv.port);
    for (const auto& n : s.nodes)
        if (n.kind == scenario::NodeKind::Router && n.nat64.enabled && !n.nat64.ftp_alg)
            out.push_back({"Turn on " + n.name + "'s FTP64 ALG (RFC 6384), so it turns EPRT into PORT on its IPv4 "
                           "address and EPSV's 227 into a 229",
                           {"nodes." + n.name + ".nat64.ftp_alg=true"}, kFixAlg});
    for (const auto& n : s.nodes) {
        if (n.kind != scenario::NodeKind::Router || !(n.nat.enabled || !n.forwards.empty())) continue;
        if (!n.alg.enabled) {
            out.push_back({"Turn on " + n.name + "'s FTP ALG, so it reads PORT/227 and opens the data connection's way",
                           {"nodes." + n.name + ".alg.enabled=true"}, kFixAlg});
        }
        std::string ports;
        bool missing = false;
        for (auto p : server_ports) {
            ports += (ports.empty() ? "" : ", ") + std::to_string(p);
            if (std::find(n.alg.ports.begin(), n.alg.ports.end(), p) == n.alg.ports.end()) missing = true;
        }
        if (missing)
            out.push_back({"Make " + n.name + "'s FTP ALG inspect the server's control port (" + ports + ")",
                           {"nodes." + n.name + ".alg.enabled=true", "nodes." + n.name + ".alg.ports=[" + ports + "]"},
                           kFixAlg});
        if (n.nat.enabled && n.nat.config.port_min != 0 && (n.nat.config.port_max - n.nat.config.port_min) < 1000)
            out.push_back({"Give " + n.name + "'s NAT a larger public port pool (1024-65535)",
                           {"nodes." + n.name + ".nat.ports=1024-65535"}, kFixNatPool});
        if (n.nat.enabled && n.nat.config.timeouts.established < mbox::NatTimeouts{}.established)
            out.push_back({"Give " + n.name + "'s NAT the RFC 5382 idle timeout for established connections (2 h 4 min)",
                           {"nodes." + n.name + ".nat.timeout_established=7440s"}, kFixNatTimeout});
    }
    // An IPv6 router filters without translating (no NAT66): its FTP helper only opens the way.
    for (const auto& n : s.nodes) {
        if (n.kind != scenario::NodeKind::Router || !n.firewall.enabled || n.alg.enabled || n.nat.enabled || !n.forwards.empty()) continue;
        bool v6 = false;
        for (const auto& i : n.interfaces) v6 = v6 || !i.address.addr.is_v4();
        if (v6)
            out.push_back({"Turn on " + n.name + "'s FTP conntrack helper, so it reads EPRT/229 and its firewall admits "
                           "the data connection as related",
                           {"nodes." + n.name + ".alg.enabled=true"}, kFixAlg});
    }
    for (const auto& c : s.clients) {
        bool third = scenario::is_server_to_server(c.mode);
        if (third) continue;
        // The fixes name the command the profile really sends in each mode on this control
        // connection's family (on IPv6: EPRT for PORT, and EPSV for PASV where the profile says so).
        const proto::ClientProfile* profile = proto::find_client_profile(c.profile);
        if (!profile) continue;  // the loader accepts only the registry's names
        const bool ipv6 = !c.server.addr.is_v4();
        struct ModeFix {
            scenario::ClientMode mode;
            const char* name;   // the mode in words
            const char* means;  // what it does ("" = nothing to add)
        };
        static const ModeFix modes[] = {
            {scenario::ClientMode::Pasv, "passive mode", "the client opens the data connection"},
            {scenario::ClientMode::Epsv, "extended passive mode",
             "the client opens the data connection to the control connection's address"},
            {scenario::ClientMode::Port, "active mode", "the server opens the data connection"},
            {scenario::ClientMode::Eprt, "extended active mode", ""},
            {scenario::ClientMode::Spsv, "single-port mode", "the data connection goes to the control port"},
        };
        for (const auto& m : modes) {
            if (m.mode == c.mode) continue;
            const proto::DataMode asked = build_mode(m.mode);
            const std::string sent(proto::data_setup_command(proto::mode_on_family(*profile, asked, ipv6)));
            std::string words = std::string("Use ") + m.name + " (" + sent;
            if (sent != proto::data_setup_command(asked)) words += ", which " + std::string(profile->name) + " sends for it on IPv6";
            words += ")";
            if (*m.means) words += std::string(": ") + m.means;
            out.push_back({words, {"clients." + c.node + ".mode=" + std::string(scenario::name_of(m.mode))}, kFixMode});
        }
        // curl ignores the 227's address (ftp-skip-pasv-ip) and, on IPv6, passives with EPSV.
        const proto::ClientProfile* curl = proto::find_client_profile("curl");
        if (curl && profile != curl) {
            const proto::DataMode mode = build_mode(c.mode);
            const std::string own(proto::data_setup_command(proto::mode_on_family(*profile, mode, ipv6)));
            const std::string curls(proto::data_setup_command(proto::mode_on_family(*curl, mode, ipv6)));
            if (own != curls)
                out.push_back({"Use a client that sends " + curls + " on IPv6 where " + std::string(profile->name) +
                                   " sends " + own + " (curl)",
                               {"clients." + c.node + ".profile=curl"}, kFixClient});
            else if (profile->pasv_address == proto::PasvAddressPolicy::Trust)
                out.push_back({"Use a client that ignores the address in 227 and connects to the control connection's "
                               "peer (curl)",
                               {"clients." + c.node + ".profile=curl"}, kFixClient});
        }
    }
    for (const auto& sv : s.servers) {
        const auto* node = s.node(sv.node);
        const auto* r = router_forwarding_to(s, *node);
        if (r) {
            const auto* out_if = outside_interface(*r);
            scenario::PortRange range = sv.passive_ports.value_or(scenario::PortRange{30000, 30009});
            std::string rs = std::to_string(range.lo) + "-" + std::to_string(range.hi);
            if (out_if)
                out.push_back({"Forward the passive range " + rs + " on " + r->name + " to the server and announce " +
                                   r->name + "'s public address (vsftpd pasv_address)",
                               {"servers." + sv.node + ".passive_ports=" + rs,
                                "servers." + sv.node + ".pasv_address=" + out_if->address.addr.to_string(),
                                "nodes." + r->name + ".forwards=" +
                                    forwards_yaml(*r, "{port: " + rs + ", to: " + node->interfaces.front().address.addr.to_string() + "}")},
                               kFixForward});
        }
        if (refuses_foreign(sv)) {
            out.push_back({"Let " + sv.node + " accept data addresses other than the control peer's "
                           "(port_promiscuous and pasv_promiscuous; this also permits the bounce attack)",
                           {"servers." + sv.node + ".options=" + kPromiscuous}, kFixServerPolicy});
        }
        if (sv.passive_ports && sv.passive_ports->hi - sv.passive_ports->lo < 100) {
            std::string wide = std::to_string(sv.passive_ports->lo) + "-" +
                               std::to_string(std::min<int>(65535, sv.passive_ports->lo + 999));
            out.push_back({"Give " + sv.node + " a wider passive port range (" + wide + ")",
                           {"servers." + sv.node + ".passive_ports=" + wide}, kFixPassiveRange});
        }
        if (sv.max_clients)
            out.push_back({"Raise " + sv.node + "'s user limit", {"servers." + sv.node + ".max_clients=1000"}, kFixUsers});
        if (sv.disk_quota)
            out.push_back({"Give " + sv.node + " more disk space", {"servers." + sv.node + ".disk_quota=1GiB"}, kFixDisk});
    }
    for (const auto& n : s.nodes)
        if (n.firewall.enabled)
            out.push_back({"Turn off " + n.name + "'s firewall (or add a rule that admits the data connection)",
                           {"nodes." + n.name + ".firewall.enabled=false"}, kFixFirewall});
    return out;
}

bool works_with(const scenario::Scenario& s, const std::vector<std::string>& extra) {
    auto sets = s.sets;
    sets.insert(sets.end(), extra.begin(), extra.end());
    try {
        scenario::Scenario changed = scenario::load_string(s.source, s.file, sets);
        RunOptions o;
        o.diagnose = false;
        o.verify_fixes = false;
        o.record_segments = false;
        trace::Trace t = run(changed, o);
        // With an attacker, a change that lets the client finish by handing the data to the
        // attacker (a promiscuous server) is no fix.
        bool attacker_got_data = std::any_of(t.outcome.transfers.begin(), t.outcome.transfers.end(),
                                             [&](const trace::Transfer& tr) {
                                                 return is_attacker(changed, tr.client) && tr.bytes > 0;
                                             });
        return t.outcome.ok && !attacker_got_data;
    } catch (const std::exception&) {
        return false;  // a candidate the scenario cannot take is simply not a fix
    }
}

// What an attacker achieved (its entry in the outcome: DATA or SPDT, ok = it received data).
const trace::Transfer* attack_result(const trace::Outcome& o, const std::string& node) {
    for (const auto& tr : o.transfers)
        if (tr.client == node && (tr.command == "DATA" || tr.command == "SPDT")) return &tr;
    return nullptr;
}

// Re-runs the scenario with `sets` and tells whether the attacker then receives nothing.
bool attack_fails_with(const scenario::Scenario& s, const std::string& attacker, const std::vector<std::string>& extra) {
    auto sets = s.sets;
    sets.insert(sets.end(), extra.begin(), extra.end());
    try {
        RunOptions o;
        o.diagnose = false;
        o.verify_fixes = false;
        o.record_segments = false;
        trace::Trace again = run(scenario::load_string(s.source, s.file, sets), o);
        const trace::Transfer* r = attack_result(again.outcome, attacker);
        return r && r->bytes == 0;
    } catch (const std::exception&) {
        return false;
    }
}

void add_tls_fix(const scenario::Scenario& s, const std::string& attacker, trace::Diagnosis& d, bool verify) {
    auto tls = tls_candidate(s);
    if (!tls) return;
    if (!verify || (!s.source.empty() && attack_fails_with(s, attacker, tls->sets)))
        d.fixes.push_back(trace::make_fix(tls->description, tls->sets, verify));
}

// The security cases with a third host (scenario `attackers`): a stolen data connection, an
// SPDT with a wrong or replayed identifier.
void review_attackers(const scenario::Scenario& s, trace::Trace& t, bool verify) {
    for (const auto& a : s.attackers) {
        const trace::Transfer* r = attack_result(t.outcome, a.node);
        if (!r || r->path.empty()) continue;  // it never acted
        trace::Diagnosis d;
        if (r->command == "DATA" && r->bytes > 0) {
            d.kind = "security-data-connection-stolen";
            d.what = "Security: the attacker " + a.node + " connected to the passive port " + r->path +
                     " before the client and received " + std::to_string(r->bytes) + " bytes of the client's data.";
            d.cause = "PASV opens a port that anyone can connect to, and the 227 reply that announces it crosses the "
                      "network in clear text (an eavesdropper on " + a.sniff + " read it; scanning the passive range "
                      "works too). A server that accepts the data connection from any address (vsftpd "
                      "pasv_promiscuous=YES) gives a download to whoever connects first, or stores what a stranger "
                      "uploads: \"port stealing\" (RFC 2577 section 5). vsftpd's default checks that the data "
                      "connection comes from the control connection's address.";
            for (const auto& sv : s.servers) {
                std::vector<std::string> fix = {"servers." + sv.node + ".options.pasv_promiscuous=false"};
                bool works = !verify || (!s.source.empty() && attack_fails_with(s, a.node, fix));
                if (works)
                    d.fixes.push_back(trace::make_fix("Accept data connections only from the control "
                                                      "connection's address (vsftpd pasv_promiscuous=NO, its default)",
                                                      fix, verify));
            }
            add_tls_fix(s, a.node, d, verify);
        } else if (r->command == "SPDT" && r->bytes > 0) {
            d.kind = "security-spsv-identifier-stolen";
            d.what = "Security: the attacker " + a.node + " sent SPDT with the identifier it read and received " +
                     std::to_string(r->bytes) + " bytes of the client's data.";
            d.cause = "An SPSV identifier is a bearer token: whoever sends SPDT with it first gets the data "
                      "connection (draft-rosenau 3.1). It crosses the control connection in clear text, so an "
                      "eavesdropper who is faster than the client takes the transfer.";
            add_tls_fix(s, a.node, d, verify);
        } else if (r->command == "SPDT" && r->reply == 504) {
            d.kind = a.id ? "security-spdt-guess-refused" : "security-spdt-replay-refused";
            d.what = "Security: the attacker " + a.node + " sent SPDT " + (a.id ? *a.id : std::string("<sniffed id>")) +
                     " to " + r->path + " and got 504; the server closed its connection and the client's transfer "
                     "was not affected.";
            if (a.id)
                d.cause = "The identifier was a guess and names no pending SPSV. The server answers 504 and drops the "
                          "connection (draft-rosenau 3.2), so every guess costs a new connection, and an identifier "
                          "of 8 letters and digits has 62^8 (about 2 x 10^14) values: guessing is hopeless.";
            else
                d.cause = "The identifier was genuine, read from the server's 227 reply, but the client's own data "
                          "connection had already used it. An SPSV identifier is good for one SPDT only "
                          "(draft-rosenau 3.1): a replay gets 504 and the connection is dropped. The danger is the "
                          "other order: an eavesdropper faster than the client takes its data connection (and the "
                          "client's own SPDT is refused), because the identifier crosses the control connection in "
                          "clear text.";
        } else {
            continue;  // a refused data connection: the failing client's diagnosis explains it
        }
        for (const auto& e : t.events)
            if (e.fact == trace::Fact::AttackerSniffed || e.fact == trace::Fact::AttackerStole) d.evidence.push_back(e.seq);
        t.outcome.diagnosis.push_back(d);
    }
}

}  // namespace

void review_security(const scenario::Scenario& s, trace::Trace& t, bool verify) {
    std::map<int, const trace::Connection*> conns;
    for (const auto& c : t.connections) conns[c.id] = &c;
    std::set<std::pair<std::string, std::string>> logged_in;  // (client node, server node)
    for (const auto& c : t.connections)
        if (c.purpose == "control") logged_in.insert({c.initiator, c.responder});
    std::set<std::string> servers;
    for (const auto& sv : s.servers) servers.insert(sv.node);
    for (const auto& c : t.connections) {
        if (c.purpose != "data" || !servers.count(c.initiator)) continue;
        auto ctl = conns.find(c.control_id);
        if (ctl == conns.end()) continue;
        const std::string& client = ctl->second->initiator;
        // No responder: the connection reached no host (e.g. a private address announced from
        // behind a NAT): that is the NAT failure the client's diagnosis explains, not a bounce.
        if (c.responder.empty() || c.responder == client || logged_in.count({client, c.responder})) continue;
        trace::Diagnosis d;
        d.kind = "security-bounce-attack";
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Segment && e.conn == c.id && e.flags == "S") {
                d.evidence.push_back(e.seq);
                break;
            }
        d.what = "Security: " + c.initiator + " opened a data connection to " + port_text(c.initiator_remote) + " (" + c.responder + "), a host its client " + client +
                 " never logged in to.";
        d.cause = "This is the FTP bounce attack (RFC 2577): PORT can name any address, and a server that obeys "
                  "connects wherever it is told and sends a file there. An attacker uses it to reach hosts and "
                  "ports behind firewalls (port 25 here: mail that seems to come from the FTP server) or to scan "
                  "ports. Servers should refuse a PORT whose address is not the control connection's peer.";
        std::vector<std::string> fix = {"servers." + c.initiator + ".profile=vsftpd"};
        bool works = false;
        if (verify && !s.source.empty()) {
            auto sets = s.sets;
            sets.insert(sets.end(), fix.begin(), fix.end());
            try {
                RunOptions o;
                o.diagnose = false;
                o.verify_fixes = false;
                trace::Trace again = run(scenario::load_string(s.source, s.file, sets), o);
                works = std::none_of(again.connections.begin(), again.connections.end(), [&](const trace::Connection& x) {
                    return x.purpose == "data" && x.responder == c.responder;
                });
            } catch (const std::exception&) {
                works = false;
            }
        }
        if (works || !verify)
            d.fixes.push_back(
                trace::make_fix("Refuse foreign PORT addresses, as vsftpd does (port_promiscuous=NO)", fix, verify));
        t.outcome.diagnosis.push_back(d);
        break;
    }
    review_attackers(s, t, verify);
}

std::vector<trace::Fix> fix_candidates(const scenario::Scenario& s) {
    std::vector<trace::Fix> out;
    for (const auto& c : candidates(s)) out.push_back(trace::make_fix(c.description, c.sets, false));
    return out;
}

void diagnose(const scenario::Scenario& s, trace::Trace& t, bool verify) {
    auto [d, categories] = explain(s, t);
    if (s.expect && !s.expect->no_fix.empty()) {
        d.cause += " The scenario declares no fix: " + s.expect->no_fix;
        t.outcome.diagnosis.push_back(d);
        return;
    }
    constexpr std::size_t kMaxFixes = 4;
    for (const auto& c : candidates(s)) {
        if (d.fixes.size() >= kMaxFixes) break;
        if (!(c.category & categories)) continue;  // it does not address this rule's cause
        if (verify && (s.source.empty() || !works_with(s, c.sets))) continue;
        d.fixes.push_back(trace::make_fix(c.description, c.sets, verify));
    }
    t.outcome.diagnosis.push_back(d);
}

}  // namespace ftpsim::sim
