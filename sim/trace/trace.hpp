// The trace: the contract between sim/ and viz/ (see docs/design.md, "The trace").
//
// Plain data with no SimGrid include, so the exporters and the GUI build and test without a
// simulation. Times are integer nanoseconds of simulated time, so that the same scenario and
// seed give byte-identical traces and exact assertions (a 10 ms link shows 10000000 ns).
//
// Changes here are additive: add fields with defaults, never rename or remove one without
// updating every reader (sim/, viz/, the JSON codec and the golden traces).
#pragma once

#include <cstdint>
#include <string>
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

enum class EventKind {
    Segment,     // a TCP segment crossing one hop
    FtpCommand,  // a command line as the sender wrote it (client -> server)
    FtpReply,    // a reply as the sender wrote it (server -> client)
    DataBytes,   // file or listing bytes moved on a data connection (a summary per transfer)
    Middlebox,   // a NAT, firewall, port forward or ALG decision, on the middlebox's lane
    Socket,      // a stack event: listen, connect, accept, refused, timed out, closed
    Timer,       // a timer fired (retransmission, connect timeout, mapping expiry)
    Note,        // an explanation line for the learner
};

enum class Verdict {
    None,       // not a packet (notes, socket events)
    Delivered,  // reached the next hop (or its final destination)
    Dropped,    // silently discarded (loss, DROP rule, no route, no mapping)
    Rejected,   // refused: a RST or a REJECT came back
};

struct Event {
    std::uint64_t seq = 0;      // position in the trace; events are sorted by (time_ns, seq)
    TimeNs time_ns = 0;         // when it happened (for a segment: when it left `from`)
    TimeNs arrive_ns = 0;       // for a segment: when it reached `to` (or was dropped there)
    EventKind kind = EventKind::Note;
    std::string from;           // node the event happens on, or the hop's sending node
    std::string to;             // the hop's receiving node (segments, FTP lines); empty otherwise
    int conn = -1;              // connection id, -1 when none
    std::uint64_t packet = 0;   // packet id shared by every hop of one segment (0: not a packet)

    // Addresses as the packet left `from` and after the translations applied on this hop.
    Endpoint src, dst;
    Endpoint src_after, dst_after;

    // TCP header, for segments.
    std::string flags;          // "S", "SA", "A", "PA", "FA", "R", "RA" ...
    std::uint32_t tcp_seq = 0;
    std::uint32_t tcp_ack = 0;
    std::uint32_t payload_len = 0;
    std::string payload;        // exact payload bytes for control connections and listings;
                                // empty for file data (exporters synthesise file bytes)
    // The payload is FTP control text on a data connection: an SPSV connection's "220 ...",
    // "SPDT id" and "200 DATA" before the file (draft-rosenau 3.2), drawn as control lines.
    bool control_text = false;

    std::string text;           // the FTP line, the middlebox's description, or the note
    Verdict verdict = Verdict::None;
    std::string reason;         // why dropped/rejected, or which rule/mapping applied
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
    std::string change;         // the scenario override that applies it: "routers.home.alg=on"
    bool verified = false;      // re-running the scenario with the change succeeded
    bool operator==(const Fix&) const = default;
};

struct Diagnosis {
    std::string what;           // what happened, in a learner's words
    std::string cause;          // why
    std::vector<Fix> fixes;
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

const char* to_string(EventKind k);
const char* to_string(Verdict v);
bool parse_event_kind(const std::string& s, EventKind& out);
bool parse_verdict(const std::string& s, Verdict& out);

}  // namespace ftpsim::trace
