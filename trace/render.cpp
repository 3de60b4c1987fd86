#include "trace/render.hpp"

namespace ftpsim::trace {

std::string endpoint_text(const Endpoint& e) {
    if (e.addr.empty()) return {};
    const bool v6 = e.addr.find(':') != std::string::npos;
    std::string out = v6 ? "[" + e.addr + "]" : e.addr;
    out += ':';
    out += e.port ? std::to_string(e.port) : std::string("*");
    return out;
}

std::string duration_text(TimeNs ns) {
    const std::int64_t s = ns / kNsPerSec;
    if (s < 60) return std::to_string(s) + " s";
    std::string out;
    auto part = [&](std::int64_t n, const char* unit) {
        if (n == 0) return;
        if (!out.empty()) out += ' ';
        out += std::to_string(n);
        out += unit;
    };
    part(s / 3600, " h");
    part((s % 3600) / 60, " min");
    part(s % 60, " s");
    return out;
}

std::string timer_text(TimeNs ns) {
    if (ns % kNsPerSec == 0) return std::to_string(ns / kNsPerSec) + " s";
    if (ns % kNsPerMs == 0) return std::to_string(ns / kNsPerMs) + " ms";
    return std::to_string(ns / 1000) + " us";
}

std::string packet_word(const Event& e) {
    const auto has = [&](char c) { return e.flags.find(c) != std::string::npos; };
    if (has('R')) return "RST";
    if (has('S')) return has('A') ? "SYN-ACK" : "SYN";
    if (has('F')) return "FIN";
    if (e.payload_len > 0) return "data";
    return "ACK";
}

namespace {

std::string closed_port_why(const Event& e) {
    return e.state == "no-nat-mapping" ? "no NAT mapping or port forward" : "no port forward";
}

std::string expectation_text(const Event& e) {
    std::string s = endpoint_text({e.src.addr, 0}) + " -> " + endpoint_text(e.dst);
    if (!(e.dst_after == e.dst) && !e.dst_after.addr.empty()) s += " => " + endpoint_text(e.dst_after);
    return s;
}

std::string pair_text(const Event& e) { return endpoint_text(e.src) + " -> " + endpoint_text(e.dst); }

}  // namespace

std::string reason(const Event& e) {
    switch (e.fact) {
    case Fact::NatInboundFiltered: return "NAT filtering (" + e.policy + ")";
    case Fact::NatPoolExhausted: return "NAT port pool exhausted";
    case Fact::Nat64Unsolicited: return "NAT64: no session";
    case Fact::NatHairpinOff: return "NAT hairpinning off";
    case Fact::FirewallVerdict:
        return e.action == Action::Accept ? std::string() : "rule " + std::to_string(e.rule) + " (" + e.rule_text + ")";
    case Fact::ConntrackInvalid: return "conntrack: invalid (no connection)";
    case Fact::NoRoute: return "no route to " + endpoint_text(e.dst_after);
    case Fact::ClosedPort: return closed_port_why(e) + " for " + endpoint_text(e.dst);
    case Fact::AlgPartialLine: return std::string("ALG: partial ") + to_string(e.form) + " line";
    case Fact::AlgNoFreePort: return "ALG: all ports in use";
    default: return {};
    }
}

namespace {

std::string who(const Event& e) { return e.from + ": "; }
std::string form_of(const Event& e) { return to_string(e.form); }

// How a fact's sentence is made: the function that renders it from the event's fields, or
// kRecordedText when the recorded text is the sentence (no typed fact, the protocol core's own
// narration, a segment's drop). This switch is the one list of the narrated facts: rendered()
// and sentence() both read it. It has no default, so a Fact without a case does not compile.
using Renderer = std::string (*)(const Event&);
constexpr Renderer kRecordedText = nullptr;

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
Renderer renderer(Fact f) {
    switch (f) {
    case Fact::None: return kRecordedText;

    case Fact::NatMappingCreated:
        return [](const Event& e) -> std::string {
            // Port preservation (RFC 4787 REQ-3, Linux's masquerade): kept unless another mapping held it.
            return who(e) + "NAT mapped " + endpoint_text(e.src) + " -> " + endpoint_text(e.src_after) +
                   (e.state == "alg-expectation" ? " for the ALG's expectation" : "") + " (port " +
                   std::to_string(e.src.port) +
                   (e.src.port == e.src_after.port ? " kept)" : " remapped: not free)");
        };
    case Fact::NatMappingReused:
        return [](const Event& e) -> std::string {
            return who(e) + "NAT reused mapping " + endpoint_text(e.src) + " -> " + endpoint_text(e.src_after) + " (" +
                   e.policy + " mapping)";
        };
    case Fact::NatMappingExpired:
        return [](const Event& e) -> std::string {
            return who(e) + "NAT mapping " + endpoint_text(e.src) + " -> " + endpoint_text(e.src_after) +
                   " expired after " + duration_text(e.timeout_ns) + " idle (" + e.state + ")";
        };
    case Fact::NatInboundAdmitted:
        return [](const Event& e) -> std::string {
            return who(e) + "NAT admitted " + packet_word(e) + " from " + endpoint_text(e.src) + " to " +
                   endpoint_text(e.dst) + " -> " + endpoint_text(e.dst_after) + " (" + e.policy + " filtering)";
        };
    case Fact::NatInboundFiltered:
        return [](const Event& e) -> std::string {
            return who(e) + "dropped " + packet_word(e) + " from " + endpoint_text(e.src) + " to " +
                   endpoint_text(e.dst) + ": " + e.policy + " filtering, " + endpoint_text(e.dst_after) +
                   " never sent to it";
        };
    case Fact::NatPoolExhausted:
        return [](const Event& e) -> std::string {
            return who(e) + "dropped " + packet_word(e) + " from " + endpoint_text(e.src) + ": NAT port pool exhausted";
        };
    case Fact::NatHairpinOff:
        return [](const Event& e) -> std::string {
            return who(e) + "dropped " + packet_word(e) + " to its own public address " + endpoint_text(e.dst) +
                   ": hairpinning is off";
        };
    case Fact::Nat64Session:
        return [](const Event& e) -> std::string {
            return who(e) + "NAT64 session " + endpoint_text(e.src) + " -> " + endpoint_text(e.dst) + " as " +
                   endpoint_text(e.src_after) + " -> " + endpoint_text(e.dst_after);
        };
    case Fact::Nat64Unsolicited:
        return [](const Event& e) -> std::string {
            return who(e) + "dropped " + packet_word(e) + " from " + endpoint_text(e.src) + " to " +
                   endpoint_text(e.dst) + ": no NAT64 session (nothing on the IPv6 side opened it)";
        };
    case Fact::Nat64Binding:
        return [](const Event& e) -> std::string {
            return who(e) + "FTP64 ALG: binding " + endpoint_text(e.src) + " as " + endpoint_text(e.src_after) +
                   " for the server's data connection";
        };
    case Fact::Alg64Translated:
        return [](const Event& e) -> std::string {
            return who(e) + "FTP64 ALG: \"" + e.line_before + "\" sent on as \"" + e.line_after + "\"";
        };
    case Fact::Alg64Answered:
        return [](const Event& e) -> std::string {
            return who(e) + "FTP64 ALG: answers \"" + e.line_before + "\" itself with \"" + e.line_after +
                   "\" (not forwarded)";
        };
    case Fact::PortForward:
        return [](const Event& e) -> std::string {
            return who(e) + "port forward " + endpoint_text(e.dst) + " -> " + endpoint_text(e.dst_after) + " (" +
                   e.rule_text + ")";
        };
    case Fact::FirewallVerdict:
        return [](const Event& e) -> std::string {
            const std::string what = packet_word(e) + " to " + endpoint_text(e.dst);
            if (e.action == Action::Accept)
                return who(e) + "accepted " + what + " (" + e.state + "), rule " + std::to_string(e.rule) + " (" +
                       e.rule_text + ")";
            if (e.action == Action::Drop) return who(e) + "dropped " + what + ", " + reason(e);
            return who(e) + "rejected " + what + " with a TCP reset, " + reason(e);
        };
    case Fact::ConntrackCreated:
        return [](const Event& e) -> std::string {
            return who(e) + "conntrack entry " + pair_text(e) + " created (" + e.state + ")";
        };
    case Fact::ConntrackExpired:
        return [](const Event& e) -> std::string {
            return who(e) + "conntrack entry " + pair_text(e) + " expired";
        };
    case Fact::ConntrackInvalid:
        return [](const Event& e) -> std::string {
            return who(e) + "dropped " + packet_word(e) + " " + pair_text(e) + ": it belongs to no known connection";
        };
    case Fact::NoRoute:
        return [](const Event& e) -> std::string {
            return who(e) + "dropped " + packet_word(e) + " to " + endpoint_text(e.dst_after) + ": no route";
        };
    case Fact::ClosedPort:
        return [](const Event& e) -> std::string {
            const std::string what = packet_word(e) + " from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst);
            if (e.action == Action::Reject)
                return who(e) + "answered " + what + " with RST: " + closed_port_why(e) +
                       ", so the router's own closed port replies";
            if (e.action == Action::Icmp)
                return who(e) + "answered " + what + " with ICMP port unreachable: " + closed_port_why(e);
            return who(e) + "dropped " + what + ": " + closed_port_why(e);
        };

    case Fact::AlgLineIgnored:
        return [](const Event& e) -> std::string {
            switch (e.alg_skip) {
            case AlgSkip::Tls: return "ALG: cannot read the control connection (TLS record): nothing inspected";
            case AlgSkip::NotAtLineStart:
                return "ALG: did not inspect \"" + e.line_before +
                       "\": the packet does not start right after a line end it saw";
            case AlgSkip::ForeignAddress:
                return "ALG: " + form_of(e) + " announces " + e.dst.addr + ", not the sender's own " + e.src.addr +
                       ": no expectation, nothing rewritten (loose=0)";
            case AlgSkip::PortNotInspected:
                return "ALG: the control connection's server port " + std::to_string(e.dst.port) +
                       " is not inspected: \"" + e.line_before + "\" left alone";
            case AlgSkip::FormNotHandled:
                return "ALG: leaves " + form_of(e) + " " + e.line_before + " alone: this helper does not handle " +
                       form_of(e);
            case AlgSkip::None: break;
            }
            return "ALG: left \"" + e.line_before + "\" alone";
        };
    case Fact::AlgLineRewritten:
        return [](const Event& e) -> std::string {
            return "ALG: rewrote " + form_of(e) + " " + e.line_before + " -> " + form_of(e) + " " + e.line_after;
        };
    case Fact::AlgPartialLine:
        return [](const Event& e) -> std::string {
            return "ALG: dropped a packet with a partial " + form_of(e) + " line \"" + e.line_before + "\"";
        };
    case Fact::SeqAdjust:
        return [](const Event& e) -> std::string {
            const int size = e.seq_delta > 0 ? e.seq_delta : -e.seq_delta;
            return "ALG: the line is " + std::to_string(size) + (size == 1 ? " byte " : " bytes ") +
                   (e.seq_delta > 0 ? "longer" : "shorter") + ": later sequence numbers of this direction move by " +
                   (e.seq_delta > 0 ? "+" : "") + std::to_string(e.seq_delta) + ", the peer's acknowledgements back";
        };
    case Fact::AlgExpectationCreated:
        return [](const Event& e) -> std::string {
            return "ALG: expecting a data connection " + expectation_text(e);
        };
    case Fact::AlgExpectationUsed:
        return [](const Event& e) -> std::string {
            return "ALG: " + packet_word(e) + " " + pair_text(e) + " is the expected " + form_of(e) +
                   " data connection (related)" +
                   (e.dst_after == e.dst ? "" : ", forwarded to " + endpoint_text(e.dst_after));
        };
    case Fact::AlgExpectationExpired:
        return [](const Event& e) -> std::string {
            return "ALG: expectation " + expectation_text(e) + " expired unused";
        };
    case Fact::AlgNoFreePort:
        return [](const Event& e) -> std::string {
            return "ALG: no free port to announce for " + form_of(e);
        };

    case Fact::Listen: return [](const Event& e) -> std::string { return "listen " + endpoint_text(e.src); };
    case Fact::ListenFailed:
        return [](const Event& e) -> std::string {
            if (e.error == SocketError::PortInUse)
                return "listen failed: port " + std::to_string(e.src.port) + " in use on " + e.src.addr;
            return "listen failed: no free port in " + std::to_string(e.src.port) + "-" + std::to_string(e.dst.port) +
                   " on " + e.src.addr;
        };
    case Fact::StopListening:
        return [](const Event& e) -> std::string {
            return "stop listening " + endpoint_text(e.src);
        };
    case Fact::Connect: return [](const Event& e) -> std::string { return "connect " + pair_text(e); };
    case Fact::Connected: return [](const Event& e) -> std::string { return "connected " + pair_text(e); };
    case Fact::Accepted:
        return [](const Event& e) -> std::string {
            return "accept " + endpoint_text(e.src) + " <- " + endpoint_text(e.dst);
        };
    case Fact::ConnectFailed:
        return [](const Event& e) -> std::string {
            if (e.error == SocketError::Refused) return "connection refused by " + endpoint_text(e.dst);
            if (e.error == SocketError::Unreachable)
                return "connect to " + endpoint_text(e.dst) + " failed: network unreachable (no route)";
            return "connect to " + endpoint_text(e.dst) + " timed out after " + timer_text(e.timeout_ns);
        };
    case Fact::Reset: return [](const Event& e) -> std::string { return "reset by peer " + pair_text(e); };
    case Fact::TimedOut:
        return [](const Event& e) -> std::string {
            return "timed out " + pair_text(e) + " (no ACK after " + std::to_string(e.attempt) + " retransmissions)";
        };
    case Fact::HalfOpenGaveUp:
        return [](const Event& e) -> std::string {
            return "gave up on half-open " + pair_text(e);
        };
    case Fact::Closed: return [](const Event& e) -> std::string { return "closed " + pair_text(e); };
    case Fact::PeerClosed: return [](const Event& e) -> std::string { return "peer closed " + pair_text(e); };
    case Fact::Aborted: return [](const Event& e) -> std::string { return "abort (RST) " + pair_text(e); };
    case Fact::ClosedBeforeConnected:
        return [](const Event& e) -> std::string {
            return "closed before connected " + pair_text(e);
        };

    case Fact::SynRetransmit:
        return [](const Event& e) -> std::string {
            return "SYN retransmission #" + std::to_string(e.attempt) + " (RTO " + timer_text(e.timeout_ns) +
                   " expired)";
        };
    case Fact::SynAckRetransmit:
        return [](const Event& e) -> std::string {
            return "SYN-ACK retransmission #" + std::to_string(e.attempt);
        };
    case Fact::Retransmit:
        return [](const Event& e) -> std::string {
            return "retransmission timeout (" + timer_text(e.timeout_ns) + "): resending from seq " +
                   std::to_string(e.tcp_seq);
        };
    case Fact::FastRetransmit:
        return [](const Event&) -> std::string { return "fast retransmit after 3 duplicate ACKs"; };

    case Fact::ServerListening:
        return [](const Event& e) -> std::string {
            return "FTP server listening on " + endpoint_text(e.src);
        };
    case Fact::FaultServerStop:
        return [](const Event& e) -> std::string {
            return "fault: the FTP server stops (restart begins); port " + std::to_string(e.src.port) +
                   " is closed until it is back";
        };
    case Fact::FaultServerBack:
        return [](const Event& e) -> std::string {
            return "fault: the FTP server is back and listens on port " + std::to_string(e.src.port) + " again";
        };
    case Fact::FaultDiskFull: return [](const Event&) -> std::string { return "fault: the server's disk is full"; };
    case Fact::FaultDataCut:
        return [](const Event& e) -> std::string {
            return "fault: the data connection " + endpoint_text(e.src) + " <-> " + endpoint_text(e.dst) + " is reset";
        };
    case Fact::ListenQueue:
        return [](const Event& e) -> std::string {
            return "the connection from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst) +
                   " waits in the listen queue: the server takes one connection per transfer";
        };
    case Fact::PassiveClosed:
        return [](const Event& e) -> std::string {
            return "the passive port closes: the connection from " + endpoint_text(e.src) +
                   " that waited in its queue is reset";
        };
    case Fact::AttackerSniffed:
        return [](const Event& e) -> std::string {
            return "attacker " + e.from + " read \"" + e.line_before + "\" on " + e.state;
        };
    case Fact::AttackerStole:
        return [](const Event& e) -> std::string {
            if (e.state == "data")
                return "attacker " + e.from + " connects to the passive port " + endpoint_text(e.dst) +
                       " before the client does";
            return "attacker " + e.from + " connects to " + endpoint_text(e.dst) + " to send SPDT " + e.line_before;
        };

    case Fact::ServeLimitRefused:
        return [](const Event& e) -> std::string {
            if (e.state == "per-address")
                return "connection from " + e.src.addr + " refused: " + std::to_string(e.entry) +
                       " connections from that address already (limit " + std::to_string(e.attempt) + ")";
            if (e.state == "unauthenticated")
                return "connection from " + e.src.addr + " refused: " + std::to_string(e.entry) +
                       " connections not logged in yet (limit " + std::to_string(e.attempt) + ")";
            return "login from " + e.src.addr + " refused: " + std::to_string(e.entry) +
                   " sessions logged in already (limit " + std::to_string(e.attempt) + ")";
        };
    case Fact::ServeLoginFailed:
        return [](const Event& e) -> std::string {
            return "failed login #" + std::to_string(e.attempt) +
                   (e.timeout_ns > 0 ? ": the reply waits " + timer_text(e.timeout_ns) : std::string()) +
                   (e.state == "close" ? "; the connection is closed after it (limit " + std::to_string(e.entry) + ")"
                                       : std::string());
        };
    case Fact::ServeTimeout:
        return [](const Event& e) -> std::string {
            return (e.state == "login" ? "not logged in after " : "no complete command line for ") +
                   timer_text(e.timeout_ns) + ": the server closes the session";
        };
    case Fact::ServeDataStalled:
        return [](const Event& e) -> std::string {
            return "no progress on the data connection for " + timer_text(e.timeout_ns) + ": reset";
        };
    case Fact::ServeStoreFailed:
        return [](const Event& e) -> std::string {
            return (e.policy == "staging-file" ? std::string("the upload's staging file failed")
                                               : "storing " + e.line_before + " failed") +
                   ": " + e.rule_text + " (" + e.state + "); the file is left as it was";
        };
    case Fact::ServeAcceptPaused:
        return [](const Event& e) -> std::string {
            return "accept failed: " + e.rule_text + " (" + e.state + "); no new connections until descriptors free up";
        };
    case Fact::ServeLineTooLong:
        return [](const Event& e) -> std::string {
            return "a command line longer than " + std::to_string(e.attempt) + " bytes";
        };

    // The protocol core narrates its own decisions: the text is recorded with the kind.
    case Fact::ClientGiveUp:
    case Fact::ClientFallBack:
    case Fact::ClientRetry:
    case Fact::ServerPassiveExhausted:
    case Fact::ServerRefusedAddress:
    case Fact::ServerRefusedDataPeer:
    case Fact::ServerDiskFull:
    case Fact::ServerUserLimit:
    case Fact::ServerEarlyDataLimit:
    case Fact::ServerCommandQueueLimit:
    case Fact::Explain: return kRecordedText;
    case Fact::CaptureGap:
        return [](const Event& e) -> std::string {
            return std::to_string(e.payload_len) + " bytes from " + endpoint_text(e.src) + " to " +
                   endpoint_text(e.dst) + " are missing from the capture (a sequence gap); they are not invented";
        };
    // Segment facts: a segment's sentence is its own (the exporters draw it); reason() says why.
    case Fact::LinkLoss:
    case Fact::LinkDown:
    case Fact::HostPortClosed:
    case Fact::HostNoForward:
    case Fact::TtlExceeded: return kRecordedText;
    }
    return kRecordedText;  // a value outside the enum: the recorded text, as for no fact
}
#pragma GCC diagnostic pop

}  // namespace

bool rendered(const Event& e) { return e.kind != EventKind::Segment && renderer(e.fact) != kRecordedText; }

std::string text(const Event& e) { return e.text.empty() && rendered(e) ? sentence(e) : e.text; }

std::string sentence(const Event& e) {
    const Renderer render = renderer(e.fact);
    return render == kRecordedText ? e.text : render(e);
}

}  // namespace ftpsim::trace
