// The trace: the contract between sim/ and viz/ (see docs/design.md, "The trace").
//
// Plain data with no SimGrid include, so the exporters and the GUI build and test without a
// simulation. Times are integer nanoseconds of simulated time, so that the same scenario and
// seed give byte-identical traces and exact assertions (a 10 ms link shows 10000000 ns).
//
// Changes here are additive (format version: trace/json.hpp; fields: docs/trace.md): add fields with defaults, never rename or remove one without
// updating every reader (sim/, viz/, the JSON codec and the golden traces).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ftpsim::trace {

using TimeNs = std::int64_t;

constexpr TimeNs kNsPerMs = 1'000'000;
constexpr TimeNs kNsPerSec = 1'000'000'000;

// An address:port as one side of a connection sees it. addr is the textual address
// ("192.168.1.10", "2001:db8::1"); port 0 means "no port" (e.g. an ICMP-like note).
struct Endpoint {
    std::string addr;
    std::uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
};

// A string field that most events leave empty (a policy, a rule's text, an ALG's line, a drop's
// reason): one pointer when empty, the string on the heap when set, so that a plain segment event
// stays small (issue #20: the trace's cost per event). It reads as a `const std::string&` and
// compares, concatenates and prints like one; an empty string is stored as nothing.
class ColdString {
public:
    ColdString() = default;
    ColdString(const ColdString& o) : s_(o.s_ ? std::make_unique<std::string>(*o.s_) : nullptr) {}
    ColdString(ColdString&&) noexcept = default;
    ColdString& operator=(const ColdString& o) { return *this = o.str(); }
    ColdString& operator=(ColdString&&) noexcept = default;
    ColdString& operator=(std::string v) {
        if (v.empty()) s_.reset();
        else if (s_) *s_ = std::move(v);
        else s_ = std::make_unique<std::string>(std::move(v));
        return *this;
    }
    ColdString& operator=(std::string_view v) { return *this = std::string(v); }
    ColdString& operator=(const char* v) { return *this = std::string(v); }

    const std::string& str() const { return s_ ? *s_ : empty_string(); }
    operator const std::string&() const { return str(); }
    bool empty() const { return !s_; }
    std::size_t size() const { return s_ ? s_->size() : 0; }
    const char* c_str() const { return str().c_str(); }
    std::size_t find(std::string_view what, std::size_t pos = 0) const { return str().find(what, pos); }

    bool operator==(const ColdString& o) const { return str() == o.str(); }
    friend bool operator==(const ColdString& a, std::string_view b) { return a.str() == b; }

private:
    static const std::string& empty_string();
    std::unique_ptr<std::string> s_;
};
inline std::string operator+(const std::string& a, const ColdString& b) { return a + b.str(); }
inline std::string operator+(std::string&& a, const ColdString& b) { return std::move(a += b.str()); }
inline std::string operator+(const char* a, const ColdString& b) { return a + b.str(); }
inline std::string operator+(const ColdString& a, const std::string& b) { return a.str() + b; }
inline std::string operator+(const ColdString& a, const char* b) { return a.str() + b; }
std::ostream& operator<<(std::ostream& os, const ColdString& s);

struct Node {
    std::string name;                    // "client", "home-router", "server"
    std::string kind;                    // "host" or "router"
    std::string role;                    // "client", "server", "nat", "firewall", "router", ...
    std::vector<std::string> addresses;  // its interface addresses, in interface order
    bool operator==(const Node&) const = default;
};

struct Link {
    std::string name;
    std::string a, b;           // node names
    TimeNs latency_ns = 0;      // one-way propagation delay
    double bandwidth_bps = 0;   // bits per second
    double loss = 0;            // probability in [0,1] that a packet is lost on this link
    bool operator==(const Link&) const = default;
};

// A TCP connection, with its endpoints as each side sees them (they differ across a NAT).
struct Connection {
    int id = -1;
    std::string purpose;        // "control" or "data"
    std::string initiator;      // node that sent the SYN
    std::string responder;      // node the SYN was addressed to (after any DNAT: the real peer)
    Endpoint initiator_local;   // as the initiator sees itself
    Endpoint initiator_remote;  // as the initiator sees its peer
    Endpoint responder_local;   // as the responder sees itself
    Endpoint responder_remote;  // as the responder sees its peer
    int control_id = -1;        // for a data connection: the control connection it serves
    bool operator==(const Connection&) const = default;
};

enum class EventKind : std::uint8_t {
    Segment,     // a TCP segment crossing one hop
    FtpCommand,  // a command line as the sender wrote it (client -> server)
    FtpReply,    // a reply as the sender wrote it (server -> client)
    DataBytes,   // file or listing bytes moved on a data connection (a summary per transfer)
    Middlebox,   // a NAT, firewall, port forward or ALG decision, on the middlebox's lane
    Socket,      // a stack event: listen, connect, accept, refused, timed out, closed
    Timer,       // a timer fired (retransmission, connect timeout, mapping expiry)
    Note,        // an explanation line for the learner
};

enum class Verdict : std::uint8_t {
    None,       // not a packet (notes, socket events)
    Delivered,  // reached the next hop (or its final destination)
    Dropped,    // silently discarded (loss, DROP rule, no route, no mapping)
    Rejected,   // refused: a RST or a REJECT came back
};

// ---- Typed facts (JSON format version 2; docs/trace.md) -----------------------------------------
//
// Every event says what happened as fields; its sentence is rendered from them by trace::sentence()
// (trace/render.hpp) at the edge: text(e) below, which every writer and display uses. Nothing may
// decide anything by reading `text` or `reason`: read `fact` and the fields it documents.

// What an event records, beyond its EventKind. One list for every kind of event, so that a
// reader switches on one field; the names in to_string() are the JSON's and stable.
enum class Fact : std::uint8_t {
    None,  // an event without a typed fact (a segment, a free-form note, an old trace)

    // Middlebox decisions (EventKind::Middlebox; `from` is the router). src/dst are the
    // packet's or the entry's addresses before the decision, src_after/dst_after after it.
    NatMappingCreated,    // src -> src_after: internal -> external; `entry` = mapping id
    NatMappingReused,     // same fields; `policy` = the NAT's mapping behaviour
    NatMappingExpired,    // src -> src_after; timeout_ns = idle timeout; state = established|transitory
    NatInboundAdmitted,   // src = remote, dst = public endpoint, dst_after = internal; policy = filtering
    NatInboundFiltered,   // verdict dropped; src = remote, dst = public, dst_after = the mapping's internal
    NatPoolExhausted,     // verdict dropped; src = the inside sender
    NatHairpinOff,        // verdict dropped; dst = the router's own public endpoint
    PortForward,          // dst -> dst_after; rule_text = the forward ("2121 -> 192.168.1.20:21")
    FirewallVerdict,      // action accept|drop|reject; rule = the matching rule, 1-based (the
                          // default policy is the number after the last rule, rule_text
                          // "default drop"); state = the conntrack state(s) judged ("new")
    ConntrackCreated,     // src -> dst: the original tuple; entry = conntrack id
    ConntrackExpired,     // src -> dst: the original tuple; entry; timeout_ns
    ConntrackInvalid,     // verdict dropped: a RST/FIN of no known connection
    NoRoute,              // verdict dropped; dst = the unreachable destination
    ClosedPort,           // nothing behind the router's own address:port: action reject (RST),
                          // drop, or icmp (ICMP port unreachable); state = why ("no-port-forward",
                          // "no-nat-mapping")
    AlgLineIgnored,       // alg_skip says why; form; line_before = the line (printable)
    AlgLineRewritten,     // form; line_before -> line_after (address text only: "PORT a,b,.." )
    AlgPartialLine,       // verdict dropped; form; line_before
    AlgExpectationCreated,  // form; src = expected peer (port 0), dst = expected destination,
                            // dst_after = forwarded to; timeout_ns; entry = expectation id
    AlgExpectationUsed,     // src/dst = the new connection; dst_after = forwarded to; form
    AlgExpectationExpired,  // as created
    AlgNoFreePort,          // verdict dropped; form
    SeqAdjust,              // seq_delta: later sequence numbers of this direction move by it
    Nat64Session,           // a NAT64 session (RFC 6146): src -> dst on the IPv6 side become
                            // src_after -> dst_after on the IPv4 side; entry = session id
    Nat64Unsolicited,       // verdict dropped; src -> dst matches no NAT64 session
    Nat64Binding,           // the FTP64 ALG bound an IPv6 endpoint for an inbound data connection
                            // (EPRT -> PORT): src = the IPv6 endpoint, src_after = the IPv4 pool
                            // endpoint; entry = binding id
    Alg64Translated,        // the FTP64 ALG (RFC 6384) sent a line on in another form: line_before ->
                            // line_after (whole lines without CRLF); state = the rule
                            // ("epsv-to-pasv", "227-to-229", "227-to-425", "eprt-to-port")
    Alg64Answered,          // the FTP64 ALG answered a client command itself (not forwarded):
                            // line_before = the command, line_after = its reply; state = the rule
                            // ("algs", "epsv-all", "epsv-protocol")

    // Socket events (EventKind::Socket; `from` is the host). src = local, dst = remote.
    Listen,               // src = the listening address
    ListenFailed,         // src = address (port 0 when a range); error = port-in-use | no-free-port
    StopListening,
    Connect,              // active open: SYN sent
    Connected,            // SYN-ACK received
    Accepted,             // passive open completed
    ConnectFailed,        // error = refused | timed-out | unreachable; timeout_ns = time waited
    Reset,                // error = reset: the peer's RST on an open connection
    TimedOut,             // error = timed-out: no ACK after `attempt` retransmissions
    HalfOpenGaveUp,       // SYN-ACK never acknowledged
    Closed,               // both FINs exchanged
    PeerClosed,           // the peer's FIN arrived
    Aborted,              // the application reset the connection (RST sent)
    ClosedBeforeConnected,

    // Timers (EventKind::Timer). attempt = retransmission number; timeout_ns = the RTO.
    SynRetransmit,
    SynAckRetransmit,
    Retransmit,           // seq = tcp_seq resent from
    FastRetransmit,

    // Notes (EventKind::Note): the applications' decisions and the scenario's faults.
    ServerListening,      // src = control endpoint
    FaultServerStop,      // src.port = the control port
    FaultServerBack,
    FaultDiskFull,
    FaultDataCut,         // src/dst = the data connection's endpoints
    ListenQueue,          // src = remote, dst = local: a connection waits in the listen queue
    PassiveClosed,        // src = remote, dst = local: a passive port closes
    AttackerSniffed,      // the attacker read an FTP line (line_before)
    AttackerStole,        // the attacker connected first (state = "data" | "spdt")
    ClientGiveUp,         // a client's or server's decision explained by the protocol core
    ClientFallBack,       //   (text = the core's sentence; detail in `state`)
    ClientRetry,
    ServerPassiveExhausted,  // the server found no free passive port
    ServerRefusedAddress,    // the server refused PORT/EPRT to a foreign address
    ServerRefusedDataPeer,   // the server refused a data connection from a foreign address
    ServerDiskFull,          // the server found the disk full (quota reached)
    ServerUserLimit,         // the server has reached its user limit (refuses or only takes SPDT)
    ServerEarlyDataLimit,    // a data connection sent more than the server keeps before the transfer
                             //   command (kMaxEarlyDataBytes): the server reset it
    ServerCommandQueueLimit, // more command bytes waited for a transfer than the server keeps
                             //   (kMaxQueuedCommandBytes): the server ended the session

    // A Segment's drop or reject, when no middlebox event decided it (a middlebox's decision is
    // its own event with the same `packet` and a verdict; the segment then has that fact too).
    LinkLoss,             // lost on the link (its loss probability)
    LinkDown,             // lost: the link is down (fault)
    HostPortClosed,       // a host answered with RST: no socket for it
    HostNoForward,        // a host received a packet for another address
    TtlExceeded,          // a routing loop

    // The live server's own decisions (`ftpsim serve`, live/server.cpp; EventKind::Note on the
    // server's lane unless said otherwise).
    ServeLimitRefused,    // a connection refused by a limit: state = per-address | unauthenticated |
                          // max-clients; src.addr = the client's address; entry = connections
                          // counted; attempt = the limit
    ServeLoginFailed,     // on the client's lane: attempt = failed logins so far; entry = the
                          // limit (0: none); timeout_ns = the reply's delay; state = "close" when
                          // the connection is closed after this reply
    ServeTimeout,         // state = idle | login; timeout_ns = the limit
    ServeDataStalled,     // a data connection without progress is reset; timeout_ns = the limit
    ServeStoreFailed,     // an upload not stored: policy = staging-file | target-file; state = the
                          // errno name ("ENOSPC"); rule_text = the system's message;
                          // line_before = the file's name (target-file)
    ServeAcceptPaused,    // accept() failed at the descriptor limit: state = the errno name;
                          // rule_text = the system's message
    ServeLineTooLong,     // a command line over `attempt` bytes, answered 500 and dropped up to its
                          //   LF (the protocol core's rule; `ftpsim serve` records it on the
                          //   client's lane, the simulator on the server's)

    // `ftpsim import` (EventKind::Note on the sender's lane): bytes the capture never saw.
    CaptureGap,           // src -> dst: the direction; payload_len = the bytes missing

    Explain,              // any other line of the protocol core's narration (text only)
};

// A verdict's action, for firewall rules and closed ports.
enum class Action : std::uint8_t { None, Accept, Drop, Reject, Icmp };

// Why an FTP ALG left a line alone.
enum class AlgSkip : std::uint8_t {
    None,
    ForeignAddress,    // the line announces another host than its sender (loose=0)
    PortNotInspected,  // the control connection's server port is not in the ALG's list
    Tls,               // a TLS record: nothing readable
    NotAtLineStart,    // the packet does not start right after a line end (no reassembly)
    FormNotHandled,    // a line the helper does not handle (`form`; the article's Linksys: 227)
};

// A socket operation's error.
enum class SocketError : std::uint8_t { None, Refused, TimedOut, Unreachable, Reset, PortInUse, NoFreePort };

// The lines that announce a data-connection endpoint.
enum class Announce : std::uint8_t {
    None,
    Port,     // PORT h1,h2,h3,h4,p1,p2
    Eprt,     // EPRT |1|addr|port|
    Pasv227,  // 227 ... (h1,h2,h3,h4,p1,p2)
    Epsv229,  // 229 ... (|||port|): announced.addr empty, the control peer's
    Sock,     // SOCK (RFC 1973-era socket numbers): socket
    Reply255, // 255 SOCK n: socket
    Spsv,     // 227 with an SPSV identifier: no endpoint
};

// One control-connection line, parsed, as its sender wrote it (on the first hop of the segment
// that completes it; an ALG's rewrite is its own AlgLineRewritten event).
struct FtpLine {
    bool command = false;      // true: client -> server; false: server -> client
    std::string verb;          // a command's verb, upper-case ("PORT", "RETR")
    int code = 0;              // a reply line's code (0: a continuation line without one)
    bool final_line = true;    // a reply: false on "123-" lines of a multi-line reply
    Announce announce = Announce::None;
    Endpoint announced;        // the endpoint parsed from PORT/EPRT/227/229 (229: port only)
    std::uint32_t socket = 0;  // SOCK / 255: the socket number
    std::string line;          // the line without CRLF (exact bytes)
    bool operator==(const FtpLine&) const = default;
};

// sizeof(Event) is bounded in tests/viz/test_trace_size.cpp: the hot fields of a segment inline, in
// an order without padding holes; the fields few events use are ColdStrings (issue #20).
struct Event {
    std::uint64_t seq = 0;      // position in the trace; events are sorted by (time_ns, seq)
    TimeNs time_ns = 0;         // when it happened (for a segment: when it left `from`)
    TimeNs arrive_ns = 0;       // for a segment: when it reached `to` (or was dropped there)
    std::uint64_t packet = 0;   // packet id shared by every hop of one segment (0: not a packet)
    int conn = -1;              // connection id, -1 when none
    EventKind kind = EventKind::Note;
    Verdict verdict = Verdict::None;
    // The payload is FTP control text on a data connection: an SPSV connection's "220 ...",
    // "SPDT id" and "200 DATA" before the file (draft-rosenau 3.2), drawn as control lines.
    bool control_text = false;
    // Typed facts (format version 2). Which fields a fact uses is listed at enum Fact and in
    // docs/trace.md; the others keep their defaults (and are not written to JSON).
    Fact fact = Fact::None;
    std::string from;           // node the event happens on, or the hop's sending node
    std::string to;             // the hop's receiving node (segments, FTP lines); empty otherwise

    // Addresses as the packet left `from` and after the translations applied on this hop.
    Endpoint src, dst;
    Endpoint src_after, dst_after;

    // TCP header, for segments.
    std::string flags;          // "S", "SA", "A", "PA", "FA", "R", "RA" ...
    std::uint32_t tcp_seq = 0;
    std::uint32_t tcp_ack = 0;
    std::uint32_t payload_len = 0;
    std::int32_t seq_delta = 0;         // SeqAdjust
    std::string payload;        // exact payload bytes for control connections and listings;
                                // empty for file data (exporters synthesise file bytes)

    // The FTP line, or the note, as recorded. Empty when the sentence is rendered from the fields
    // (rendered(e)): show text(e), never `text` directly.
    std::string text;
    ColdString reason;          // why dropped/rejected, or which rule/mapping applied (rendered)

    Action action = Action::None;       // FirewallVerdict, ClosedPort
    SocketError error = SocketError::None;
    AlgSkip alg_skip = AlgSkip::None;
    Announce form = Announce::None;     // ALG facts: the line's form (Port, Eprt, Pasv227, Epsv229)
    int entry = -1;                     // the table entry: NAT mapping, conntrack or expectation id
    int rule = -1;                      // FirewallVerdict: rule number, 1-based (see Fact)
    int attempt = 0;                    // timers: retransmission number; TimedOut: retransmissions
    TimeNs timeout_ns = 0;              // idle/expectation timeout, RTO, or time waited
    ColdString policy;                  // NAT mapping or filtering behaviour ("address-dependent")
    ColdString state;                   // "established"/"transitory", conntrack states, a detail
    ColdString rule_text;               // the rule or forward as configured
    ColdString line_before, line_after;  // ALG: the address text before and after
    std::vector<FtpLine> ftp;           // Segment: the control lines this segment completes
    // Segment with action Icmp: the packet is an ICMP port unreachable, not a TCP segment (src/dst
    // carry addresses, port 0; flags empty); it quotes the TCP segment it answers (RFC 792), with
    // that segment's endpoints as they were on this hop and its sequence number in tcp_seq.
    Endpoint quoted_src, quoted_dst;
    bool operator==(const Event&) const = default;
};

struct Transfer {
    std::string client;         // client node name
    std::string command;        // "RETR", "STOR", "LIST", "APPE", ...
    std::string path;
    bool ok = false;
    int reply = 0;              // final reply code (226, 425, 500, ...), 0 if none arrived
    std::uint64_t bytes = 0;    // bytes moved on the data connection
    bool operator==(const Transfer&) const = default;
};

struct Fix {
    std::string description;    // "Turn on the router's FTP ALG"
    std::string change;         // display only: `sets` joined with " --set " (never split it)
    bool verified = false;      // re-running the scenario with the change succeeded
    std::vector<std::string> sets;  // the scenario overrides that apply it, one --set each:
                                    // {"nodes.home.alg.enabled=true", "nodes.home.alg.ports=[21]"}
    bool operator==(const Fix&) const = default;
};

// A fix from its overrides (fills `change` for display). Use it rather than brace-initialising.
Fix make_fix(std::string description, std::vector<std::string> sets, bool verified);

struct Diagnosis {
    std::string what;           // what happened, in a learner's words (rendered)
    std::string cause;          // why (rendered)
    std::vector<Fix> fixes;
    std::string kind;           // stable machine-readable finding: "disk-full", "nat-idle-expiry"
                                // (the list: docs/trace.md, "Diagnosis kinds")
    std::vector<std::uint64_t> evidence;  // the `seq` of the events the finding rests on
    bool operator==(const Diagnosis&) const = default;
};

struct Outcome {
    bool ok = false;            // every transfer succeeded
    std::vector<Transfer> transfers;
    std::vector<Diagnosis> diagnosis;
    std::string limit_reached;  // non-empty when the run stopped at a time or event limit
    bool operator==(const Outcome&) const = default;
};

struct Trace {
    std::string scenario;
    std::string title;
    std::uint64_t seed = 0;
    std::vector<std::string> model_notes;  // simplifications in force ("TCP: no congestion control")
    std::vector<Node> nodes;
    std::vector<Link> links;
    std::vector<Connection> connections;
    std::vector<Event> events;
    Outcome outcome;
    bool operator==(const Trace&) const = default;
};

// Whether e's sentence is rendered from its fields: a typed fact other than the protocol core's
// narration (Explain, the client/server decisions) and the segment facts, on an event that is not a
// Segment (a segment's label is its own). Such an event is recorded with an empty `text`.
bool rendered(const Event& e);
// The sentence to show for e: its recorded text, or trace::sentence(e) (trace/render.hpp) when it
// is rendered and stores none. Every writer and display reads this, never `text` directly.
std::string text(const Event& e);

const char* to_string(EventKind k);
const char* to_string(Verdict v);
const char* to_string(Fact f);         // "nat-mapping-created", ...
const char* to_string(Action a);       // "accept", "drop", "reject", "icmp"
const char* to_string(AlgSkip s);      // "foreign-address", ...
const char* to_string(SocketError e);  // "refused", "timed-out", ...
const char* to_string(Announce a);     // "PORT", "EPRT", "227", "229", "SOCK", "255", "SPSV"
bool parse_event_kind(const std::string& s, EventKind& out);
bool parse_verdict(const std::string& s, Verdict& out);
bool parse_fact(const std::string& s, Fact& out);
bool parse_action(const std::string& s, Action& out);
bool parse_alg_skip(const std::string& s, AlgSkip& out);
bool parse_socket_error(const std::string& s, SocketError& out);
bool parse_announce(const std::string& s, Announce& out);

// Every name of an enum, in declaration order (the JSON Schema and the tests use them).
std::vector<std::string> fact_names();

}  // namespace ftpsim::trace
