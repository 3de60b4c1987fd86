#include "sim/run/diagnose.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "protocol/codec.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

namespace ftpsim::sim {

std::vector<ControlLine> control_lines(const trace::Trace& t) {
    std::map<int, const trace::Connection*> conns;
    for (const auto& c : t.connections) conns[c.id] = &c;
    std::set<std::uint64_t> seen_packets;
    std::map<int, std::string> partial[2];  // per connection and direction: bytes without CRLF yet
    std::vector<ControlLine> out;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment || e.payload.empty()) continue;
        auto it = conns.find(e.conn);
        // Control connections, and a data connection's control text (SPSV: "220", "SPDT id",
        // "200 DATA" before the file; file bytes are never recorded).
        if (it == conns.end() || (it->second->purpose != "control" && !e.control_text)) continue;
        if (!seen_packets.insert(e.packet).second) continue;  // first hop only: as the sender wrote it
        const auto& c = *it->second;
        bool from_client = e.from == c.initiator;
        std::string& buf = partial[from_client ? 0 : 1][e.conn];
        buf += e.payload;
        for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
            std::string line = buf.substr(0, nl);
            buf.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            out.push_back({e.time_ns, e.conn, e.from, from_client ? c.responder : c.initiator, line, from_client});
        }
    }
    return out;
}

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

struct Evidence {
    std::optional<ControlLine> refused_announce;   // 500 Illegal PORT / 501 foreign address
    std::optional<ControlLine> announce;           // the PORT/EPRT/227/229 before the failure
    std::optional<ControlLine> bad_ip;             // 425 Security: Bad IP connecting
    std::optional<ControlLine> failed_reply;       // the first 4yz/5yz final reply of a transfer
    const trace::Event* data_drop = nullptr;       // a data connection's SYN dropped
    const trace::Event* data_reject = nullptr;     // a data connection's SYN answered by RST
    const trace::Event* control_drop = nullptr;    // a control-connection segment dropped
    std::string expired;                           // a middlebox note about an expired mapping
    std::string nat_exhausted;                     // "NAT port pool exhausted"
    std::string passive_exhausted;                 // the server ran out of passive ports
    std::string client_note;                       // a client's explanation of its failure
    const trace::Event* restart = nullptr;         // fault: the server stopped
    const trace::Event* link_down = nullptr;       // the first packet lost to a link-down fault
    const trace::Event* tcp_gave_up = nullptr;     // a connection timed out after retransmissions
};

Evidence gather(const trace::Trace& t) {
    Evidence ev;
    std::map<int, const trace::Connection*> conns;
    for (const auto& c : t.connections) conns[c.id] = &c;
    for (const auto& l : control_lines(t)) {
        std::string verb = l.text.substr(0, l.text.find(' '));
        for (auto& ch : verb) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (l.from_client && (verb == "PORT" || verb == "EPRT" || verb == "SOCK")) ev.announce = l;
        if (!l.from_client && (starts_with(l.text, "227 ") || starts_with(l.text, "229 ") ||
                               starts_with(l.text, "255 ")))
            ev.announce = l;
        if (!l.from_client && !ev.refused_announce &&
            (contains(l.text, "Illegal PORT") || contains(l.text, "Illegal EPRT") ||
             contains(l.text, "foreign address") || contains(l.text, "Rejected data connection to")))
            ev.refused_announce = l;
        if (!l.from_client && !ev.bad_ip && (contains(l.text, "Bad IP") || contains(l.text, "from foreign")))
            ev.bad_ip = l;
        if (!l.from_client && !ev.failed_reply && l.text.size() >= 3 &&
            (starts_with(l.text, "425") || starts_with(l.text, "426") || starts_with(l.text, "451") ||
             starts_with(l.text, "452") || starts_with(l.text, "421") || starts_with(l.text, "550") ||
             starts_with(l.text, "552") || starts_with(l.text, "553")))
            ev.failed_reply = l;
    }
    for (const auto& e : t.events) {
        if (e.kind == trace::EventKind::Note && !ev.restart && starts_with(e.text, "fault: the FTP server stops"))
            ev.restart = &e;
        if (e.kind == trace::EventKind::Segment && !ev.link_down && e.verdict == trace::Verdict::Dropped &&
            starts_with(e.reason, "link ") && contains(e.reason, " is down"))
            ev.link_down = &e;
        if (e.kind == trace::EventKind::Socket && !ev.tcp_gave_up && starts_with(e.text, "timed out") &&
            contains(e.text, "retransmissions"))
            ev.tcp_gave_up = &e;
        if (e.kind == trace::EventKind::Middlebox && !ev.expired.size() && contains(e.text, "expired"))
            ev.expired = e.text;
        if (e.kind == trace::EventKind::Middlebox && ev.nat_exhausted.empty() && contains(e.text, "port pool exhausted"))
            ev.nat_exhausted = e.text;
        if ((e.kind == trace::EventKind::Note || e.kind == trace::EventKind::Socket) && ev.passive_exhausted.empty() &&
            (contains(e.text, "passive port range") || contains(e.text, "no free port in")))
            ev.passive_exhausted = e.text;
        if (e.kind != trace::EventKind::Segment) continue;
        auto it = conns.find(e.conn);
        bool data = it != conns.end() && it->second->purpose == "data";
        bool syn = e.flags == "S";
        if (data && syn && e.verdict == trace::Verdict::Dropped && !ev.data_drop) ev.data_drop = &e;
        if (data && syn && e.verdict == trace::Verdict::Rejected && !ev.data_reject) ev.data_reject = &e;
        if (!data && it != conns.end() && e.verdict == trace::Verdict::Dropped && !ev.control_drop)
            ev.control_drop = &e;
    }
    return ev;
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

const scenario::FaultSpec* fault_of_kind(const scenario::Scenario& s, const std::string& kind) {
    for (const auto& f : s.faults)
        if (f.kind == kind) return &f;
    return nullptr;
}

bool is_attacker(const scenario::Scenario& s, const std::string& node) {
    return std::any_of(s.attackers.begin(), s.attackers.end(), [&](const auto& a) { return a.node == node; });
}

const scenario::NodeSpec* router_with_nat(const scenario::Scenario& s) {
    for (const auto& n : s.nodes)
        if (n.kind == "router" && n.nat.enabled) return &n;
    return nullptr;
}

std::vector<std::string> nat_routers(const scenario::Scenario& s) {
    std::vector<std::string> out;
    for (const auto& n : s.nodes)
        if (n.kind == "router" && (n.nat.enabled || !n.forwards.empty())) out.push_back(n.name);
    return out;
}

trace::Diagnosis explain(const scenario::Scenario& s, const trace::Trace& t, const Evidence& ev) {
    trace::Diagnosis d;
    std::string nats;
    for (const auto& r : nat_routers(s)) nats += (nats.empty() ? "" : ", ") + r;
    if (const auto* f = fault_of_kind(s, "server-restart"); f && ev.restart) {
        bool said_421 = ev.failed_reply && starts_with(ev.failed_reply->text, "421");
        std::string profile = "the server";
        std::uint16_t port = 21;
        for (const auto& sv : s.servers)
            if (sv.node == f->target) profile = sv.profile, port = sv.port;
        d.what = "The FTP server " + f->target + " restarted: it stopped at " + seconds_text(f->at_ns) +
                 " and was back at " + seconds_text(f->at_ns + f->duration_ns) + ". " +
                 (said_421 ? "Its sessions got " + quote(ev.failed_reply->text) + " and were closed"
                           : "Its sessions were closed without a reply") +
                 ", and the transfer under way was cut off.";
        d.cause = "A restart ends every session: the server process " +
                  std::string(said_421 ? "announces it with 421 (RFC 959: service not available, closing control "
                                         "connection) and "
                                       : "(" + profile + ", like any daemon that is stopped) sends no 421: the kernel ") +
                  "closes the control connections and cuts the data connections, so a download stops half "
                  "way. While the server is down nothing listens on port " +
                  std::to_string(port) +
                  ": a new connection is refused at once with a RST (\"connection refused\"), not timed out. Once "
                  "it is back, connections and logins work again; a client must reconnect, log in again and "
                  "start the transfer again (or resume it with REST).";
        return d;
    }
    if (const auto* f = fault_of_kind(s, "link-down"); f && ev.link_down) {
        d.what = "The link " + f->target + " was down from " + seconds_text(f->at_ns) + " to " +
                 seconds_text(f->at_ns + f->duration_ns) + " (" + seconds_text(f->duration_ns) +
                 "): every packet sent over it was lost" +
                 (ev.tcp_gave_up ? ", and at " + seconds_text(ev.tcp_gave_up->time_ns) + " " + ev.tcp_gave_up->from +
                                       "'s TCP gave up: " + ev.tcp_gave_up->text
                                 : std::string()) +
                 ".";
        d.cause = "TCP does not know why the ACKs stop: it resends the oldest unacknowledged segment each "
                  "time its retransmission timer expires and doubles the timer (RFC 6298), up to 2 minutes. An "
                  "outage shorter than its patience only costs time; this one was longer: after 15 "
                  "retransmissions without an ACK (Linux tcp_retries2, about 15 minutes) the sender dropped the "
                  "connection without telling the peer, which it could not reach anyway. The side that only "
                  "receives (the client downloading) has nothing unacknowledged, so its TCP sends nothing and "
                  "notices nothing: without TCP keepalives or an application timeout (curl --max-time or "
                  "--speed-time) it waits for the rest of the file forever, even after the link is back.";
        return d;
    }
    if (!ev.nat_exhausted.empty()) {
        d.what = "The NAT ran out of public ports: " + ev.nat_exhausted + ".";
        d.cause = "Every connection from the inside needs its own public port on the NAT (a symmetric NAT even "
                  "needs one per destination). With many clients, or many data connections, the NAT's port pool "
                  "is used up and new connections are dropped until old mappings expire.";
        return d;
    }
    if (!ev.passive_exhausted.empty()) {
        d.what = "The server ran out of passive ports: " + ev.passive_exhausted + ".";
        d.cause = "Each passive data connection needs a listening port from the server's passive range (vsftpd "
                  "pasv_min_port..pasv_max_port). When more clients wait for a data connection than the range has "
                  "ports, the server cannot answer PASV/EPSV and the transfer fails.";
        return d;
    }
    if (ev.refused_announce) {
        d.what = "The server refused the data-connection address: it answered " + quote(ev.refused_announce->text) +
                 (ev.announce && ev.announce->from_client ? " to " + quote(ev.announce->text) : "") + ".";
        bool fxp = false;
        for (const auto& c : s.clients) fxp = fxp || c.mode == "fxp";
        if (fxp)
            d.cause = "In a server-to-server transfer the client's PORT names the other server, not the client. "
                      "vsftpd and pyftpdlib refuse a PORT to any address other than the control connection's peer "
                      "(vsftpd port_promiscuous=NO), because a server that obeys it can be used to attack third hosts "
                      "(the FTP bounce attack, RFC 2577).";
        else if (!nats.empty())
            d.cause = "The client wrote its own private address into the command, but the server sees the control "
                      "connection coming from the NAT's public address (" + nats +
                      " translated the packets' source address, not the address written inside the FTP command). "
                      "The server refuses a data address that differs from the control connection's peer, which "
                      "also protects against the FTP bounce attack (RFC 2577).";
        else
            d.cause = "The announced address is not the address the control connection comes from. The server "
                      "refuses to connect anywhere else, because that would let anyone use it to attack a third "
                      "host (the FTP bounce attack, RFC 2577).";
        return d;
    }
    for (const auto& a : s.attackers) {
        for (const auto& tr : t.outcome.transfers) {
            if (tr.client != a.node || tr.command != "SPDT" || tr.reply != 200) continue;
            d.what = "The attacker " + a.node + " sent SPDT with the identifier it read on " + a.sniff +
                     " before the client did and got \"200 DATA\": the client's data connection is now hers. "
                     "The client's own SPDT got 504 and it gave up the transfer.";
            d.cause = "An SPSV identifier is a bearer token: the first SPDT that names it gets the data connection, "
                      "and it is good for one use only (draft-rosenau 3.1), so the rightful owner is refused. It "
                      "crosses the control connection in clear text, so an eavesdropper who is faster than the "
                      "client takes the connection: a client that went on with its transfer command would hand "
                      "it the data.";
            return d;
        }
    }
    if (ev.bad_ip && !s.attackers.empty()) {
        const auto& a = s.attackers.front();
        d.what = "The attacker " + a.node + " connected to the passive port before the client did; the server "
                 "refused its connection with " + quote(ev.bad_ip->text) + ", and the client's transfer failed too.";
        d.cause = "The server announced its passive port in the 227 reply, in clear text; " + a.node +
                  " read it on " + a.sniff + " and connected first. vsftpd (pasv_promiscuous=NO) compares a data "
                  "connection's address with the control connection's and refuses a stranger, so nothing was "
                  "stolen. But it takes only one connection per transfer: the first one in the listen queue, "
                  "the attacker's. It answers the transfer command with the 425, closes the passive port and "
                  "the client's own connection, which waited in the queue, is reset. The check protects the "
                  "data, not the transfer: an eavesdropper can still make it fail (denial of service).";
        return d;
    }
    if (ev.bad_ip) {
        d.what = "A data connection arrived from an unexpected address and the server refused it: " +
                 quote(ev.bad_ip->text) + ".";
        d.cause = "The server accepts a data connection only from the control connection's peer (vsftpd "
                  "pasv_promiscuous=NO). The connection came from another address: another server (server-to-server "
                  "transfer), a NAT that translated it differently, or a third host trying to steal the data.";
        return d;
    }
    if (ev.data_drop || ev.data_reject) {
        const trace::Event& e = ev.data_drop ? *ev.data_drop : *ev.data_reject;
        std::string dst = e.dst.addr + ":" + std::to_string(e.dst.port);
        d.what = "The data connection never opened: its SYN from " + e.src.addr + ":" + std::to_string(e.src.port) +
                 " to " + dst + (ev.data_drop ? " was dropped at " + e.to : " was refused with a RST by " + e.to) +
                 (e.reason.empty() ? "" : " (" + e.reason + ")") + ".";
        bool private_dst = false;
        if (auto a = proto::parse_ip(e.dst.addr)) private_dst = a->is_private();
        bool from_client_side = false;
        for (const auto& c : s.clients) from_client_side = from_client_side || c.node == e.from;
        if (contains(e.reason, "rule") || contains(e.reason, "firewall") || contains(e.reason, "-fw"))
            d.cause = "A firewall on the way filters new incoming connections. FTP's data connection is a second, "
                      "separate TCP connection, so a filter that only lets in the control connection (and "
                      "connections it has been told to expect) stops it.";
        else if (ev.data_reject)
            d.cause = "Nothing accepts connections on " + dst + ": the router forwards only some ports to the "
                      "server (typically 21), so the server's passive data port is closed from the outside. The "
                      "server announced " + (ev.announce ? quote(ev.announce->text) : std::string("its port")) +
                      ", a port the router does not forward.";
        else if (private_dst && !from_client_side)
            d.cause = "The server connects to the private address the client announced in " +
                      (ev.announce ? quote(ev.announce->text) : std::string("PORT")) +
                      ". That address exists only inside the client's network: from the server's side it is "
                      "unreachable, and the NAT in front of the client has no mapping for it.";
        else if (private_dst)
            d.cause = "The client connects to the private address the server announced in " +
                      (ev.announce ? quote(ev.announce->text) : std::string("its 227 reply")) +
                      ". That address exists only inside the server's network, so from the client's side there "
                      "is no route to it.";
        else
            d.cause = "The connection was addressed to the NAT's public address, but the NAT has no mapping that "
                      "admits it: nothing inside opened that port towards this peer, and no FTP ALG read the "
                      "announcement to create one. A NAT lets in only what matches a mapping its filtering allows.";
        return d;
    }
    if (!ev.expired.empty()) {
        d.what = "A middlebox forgot the control connection while the data connection was busy: " + ev.expired + ".";
        d.cause = "During a long transfer the control connection carries nothing, so a NAT or firewall with a "
                  "short idle timeout drops its mapping. When the server finally sends 226, there is no mapping "
                  "left for it: the client never hears that the transfer completed.";
        return d;
    }
    if (ev.failed_reply) {
        d.what = "The server answered " + quote(ev.failed_reply->text) + ".";
        const std::string& x = ev.failed_reply->text;
        if (starts_with(x, "452") || starts_with(x, "552"))
            d.cause = "The server has no room left for the file (its disk quota is reached).";
        else if (starts_with(x, "426"))
            d.cause = "The data connection was closed or reset in the middle of the transfer, so the server reports "
                      "the transfer as aborted.";
        else if (starts_with(x, "425"))
            d.cause = "The server could not open the data connection.";
        else if (starts_with(x, "421") && (contains(x, "users") || contains(x, "connections")))
            d.cause = "The server refuses more users (too many connections).";
        else if (starts_with(x, "421"))
            d.cause = "The server closed the control connection (RFC 959: service not available).";
        else
            d.cause = "The server refused the request.";
        return d;
    }
    if (ev.control_drop) {
        d.what = "The control connection's packets were dropped at " + ev.control_drop->to + " (" +
                 ev.control_drop->reason + ").";
        d.cause = "Without a working control connection no command reaches the server.";
        return d;
    }
    if (!t.outcome.limit_reached.empty()) {
        d.what = "The run stopped before the clients finished: " + t.outcome.limit_reached + ".";
        d.cause = "The session was still waiting when the simulation's limit was reached.";
        return d;
    }
    d.what = "A transfer did not complete.";
    d.cause = "The clients' sessions ended without the replies they expected.";
    return d;
}

struct Candidate {
    std::string description;
    std::vector<std::string> sets;
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
        if (i.side == "outside") return &i;
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
                {}};
    for (const auto& sv : s.servers) c.sets.push_back("servers." + sv.node + ".options.supports_tls=true");
    for (const auto& cl : s.clients) {
        if (cl.mode == "fxp" || cl.mode == "rfc438" || cl.mode == "rfc478") continue;
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

std::vector<Candidate> candidates(const scenario::Scenario& s) {
    std::vector<Candidate> out;
    if (!s.attackers.empty())
        if (auto tls = tls_candidate(s)) out.push_back(*tls);
    // A server-to-server transfer needs both servers to accept the other's address.
    std::vector<std::string> all_promiscuous;
    for (const auto& sv : s.servers)
        if (sv.profile != "rfc959") all_promiscuous.push_back("servers." + sv.node + ".options=" + kPromiscuous);
    if (all_promiscuous.size() > 1)
        out.push_back({"Let the servers accept each other's address (vsftpd port_promiscuous and pasv_promiscuous, "
                       "as FXP needs; this also permits the bounce attack)",
                       all_promiscuous});
    if (!s.faults.empty())
        out.push_back({"Run it again without the fault: the transfer works when nothing breaks (after a reset, "
                       "a client that supports REST resumes where it stopped)",
                       {"faults=[]"}});
    std::set<std::uint16_t> server_ports;
    for (const auto& sv : s.servers) server_ports.insert(sv.port);
    for (const auto& n : s.nodes) {
        if (n.kind != "router" || !(n.nat.enabled || !n.forwards.empty())) continue;
        if (!n.alg.enabled) {
            out.push_back({"Turn on " + n.name + "'s FTP ALG, so it reads PORT/227 and opens the data connection's way",
                           {"nodes." + n.name + ".alg.enabled=true"}});
        }
        std::string ports;
        bool missing = false;
        for (auto p : server_ports) {
            ports += (ports.empty() ? "" : ", ") + std::to_string(p);
            if (std::find(n.alg.ports.begin(), n.alg.ports.end(), p) == n.alg.ports.end()) missing = true;
        }
        if (missing)
            out.push_back({"Make " + n.name + "'s FTP ALG inspect the server's control port (" + ports + ")",
                           {"nodes." + n.name + ".alg.enabled=true", "nodes." + n.name + ".alg.ports=[" + ports + "]"}});
        if (n.nat.enabled && n.nat.ports && (n.nat.ports->hi - n.nat.ports->lo) < 1000)
            out.push_back({"Give " + n.name + "'s NAT a larger public port pool (1024-65535)",
                           {"nodes." + n.name + ".nat.ports=1024-65535"}});
        if (n.nat.enabled && n.nat.timeout_established_ns < 7440LL * 1'000'000'000)
            out.push_back({"Give " + n.name + "'s NAT the RFC 5382 idle timeout for established connections (2 h 4 min)",
                           {"nodes." + n.name + ".nat.timeout_established=7440s"}});
    }
    for (const auto& c : s.clients) {
        bool third = c.mode == "fxp" || c.mode == "rfc438" || c.mode == "rfc478";
        if (third) continue;
        static const std::vector<std::pair<std::string, std::string>> modes = {
            {"pasv", "passive mode (PASV): the client opens the data connection"},
            {"epsv", "extended passive mode (EPSV): the client opens the data connection to the control connection's address"},
            {"port", "active mode (PORT): the server opens the data connection"},
            {"eprt", "extended active mode (EPRT)"},
            {"spsv", "single-port mode (SPSV): the data connection goes to the control port"},
        };
        for (const auto& [m, words] : modes)
            if (m != c.mode) out.push_back({"Use " + words, {"clients." + c.node + ".mode=" + m}});
        if (c.profile == "classic")
            out.push_back({"Use a client that ignores the address in 227 and connects to the control connection's "
                           "peer (curl)",
                           {"clients." + c.node + ".profile=curl"}});
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
                                    forwards_yaml(*r, "{port: " + rs + ", to: " + node->interfaces.front().address.addr.to_string() + "}")}});
        }
        if (sv.profile != "rfc959") {
            out.push_back({"Let " + sv.node + " accept data addresses other than the control peer's "
                           "(port_promiscuous and pasv_promiscuous; this also permits the bounce attack)",
                           {"servers." + sv.node + ".options=" + kPromiscuous}});
        }
        if (sv.passive_ports && sv.passive_ports->hi - sv.passive_ports->lo < 100) {
            std::string wide = std::to_string(sv.passive_ports->lo) + "-" +
                               std::to_string(std::min<int>(65535, sv.passive_ports->lo + 999));
            out.push_back({"Give " + sv.node + " a wider passive port range (" + wide + ")",
                           {"servers." + sv.node + ".passive_ports=" + wide}});
        }
        if (sv.max_clients)
            out.push_back({"Raise " + sv.node + "'s user limit", {"servers." + sv.node + ".max_clients=1000"}});
        if (sv.disk_quota)
            out.push_back({"Give " + sv.node + " more disk space", {"servers." + sv.node + ".disk_quota=1GiB"}});
    }
    for (const auto& n : s.nodes)
        if (n.firewall.enabled)
            out.push_back({"Turn off " + n.name + "'s firewall (or add a rule that admits the data connection)",
                           {"nodes." + n.name + ".firewall.enabled=false"}});
    return out;
}

std::string join_sets(const std::vector<std::string>& sets) {
    std::string out;
    for (const auto& x : sets) out += (out.empty() ? "" : " --set ") + x;
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
        d.fixes.push_back({tls->description, join_sets(tls->sets), verify});
}

// The security cases with a third host (scenario `attackers`): a stolen data connection, an
// SPDT with a wrong or replayed identifier.
void review_attackers(const scenario::Scenario& s, trace::Trace& t, bool verify) {
    for (const auto& a : s.attackers) {
        const trace::Transfer* r = attack_result(t.outcome, a.node);
        if (!r || r->path.empty()) continue;  // it never acted
        trace::Diagnosis d;
        if (r->command == "DATA" && r->bytes > 0) {
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
                    d.fixes.push_back({"Accept data connections only from the control connection's address "
                                       "(vsftpd pasv_promiscuous=NO, its default)",
                                       fix.front(), verify});
            }
            add_tls_fix(s, a.node, d, verify);
        } else if (r->command == "SPDT" && r->bytes > 0) {
            d.what = "Security: the attacker " + a.node + " sent SPDT with the identifier it read and received " +
                     std::to_string(r->bytes) + " bytes of the client's data.";
            d.cause = "An SPSV identifier is a bearer token: whoever sends SPDT with it first gets the data "
                      "connection (draft-rosenau 3.1). It crosses the control connection in clear text, so an "
                      "eavesdropper who is faster than the client takes the transfer.";
            add_tls_fix(s, a.node, d, verify);
        } else if (r->command == "SPDT" && r->reply == 504) {
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
        d.what = "Security: " + c.initiator + " opened a data connection to " + c.initiator_remote.addr + ":" +
                 std::to_string(c.initiator_remote.port) + " (" + c.responder + "), a host its client " + client +
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
            d.fixes.push_back({"Refuse foreign PORT addresses, as vsftpd does (port_promiscuous=NO)", fix.front(), verify});
        t.outcome.diagnosis.push_back(d);
        break;
    }
    review_attackers(s, t, verify);
}

void diagnose(const scenario::Scenario& s, trace::Trace& t, bool verify) {
    Evidence ev = gather(t);
    trace::Diagnosis d = explain(s, t, ev);
    if (s.expect && !s.expect->no_fix.empty()) {
        d.cause += " This failure is the protection working: " + s.expect->no_fix;
        t.outcome.diagnosis.push_back(d);
        return;
    }
    constexpr std::size_t kMaxFixes = 4;
    for (const auto& c : candidates(s)) {
        if (d.fixes.size() >= kMaxFixes) break;
        if (verify && (s.source.empty() || !works_with(s, c.sets))) continue;
        d.fixes.push_back({c.description, join_sets(c.sets), verify});
    }
    t.outcome.diagnosis.push_back(d);
}

}  // namespace ftpsim::sim
