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

bool rendered(const Event& e) {
    if (e.kind == EventKind::Segment) return false;
    switch (e.fact) {
    case Fact::None:
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
    case Fact::Explain:
    case Fact::LinkLoss:
    case Fact::LinkDown:
    case Fact::HostPortClosed:
    case Fact::HostNoForward:
    case Fact::TtlExceeded: return false;
    default: return true;
    }
}

std::string text(const Event& e) { return e.text.empty() && rendered(e) ? sentence(e) : e.text; }

std::string sentence(const Event& e) {
    const std::string r = e.from + ": ";
    const std::string form = to_string(e.form);
    switch (e.fact) {
    case Fact::None: return e.text;

    case Fact::NatMappingCreated:
        // Port preservation (RFC 4787 REQ-3, Linux's masquerade): kept unless another mapping held it.
        return r + "NAT mapped " + endpoint_text(e.src) + " -> " + endpoint_text(e.src_after) +
               (e.state == "alg-expectation" ? " for the ALG's expectation" : "") + " (port " +
               std::to_string(e.src.port) +
               (e.src.port == e.src_after.port ? " kept)" : " remapped: not free)");
    case Fact::NatMappingReused:
        return r + "NAT reused mapping " + endpoint_text(e.src) + " -> " + endpoint_text(e.src_after) + " (" +
               e.policy + " mapping)";
    case Fact::NatMappingExpired:
        return r + "NAT mapping " + endpoint_text(e.src) + " -> " + endpoint_text(e.src_after) + " expired after " +
               duration_text(e.timeout_ns) + " idle (" + e.state + ")";
    case Fact::NatInboundAdmitted:
        return r + "NAT admitted " + packet_word(e) + " from " + endpoint_text(e.src) + " to " +
               endpoint_text(e.dst) + " -> " + endpoint_text(e.dst_after) + " (" + e.policy + " filtering)";
    case Fact::NatInboundFiltered:
        return r + "dropped " + packet_word(e) + " from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst) +
               ": " + e.policy + " filtering, " + endpoint_text(e.dst_after) + " never sent to it";
    case Fact::NatPoolExhausted:
        return r + "dropped " + packet_word(e) + " from " + endpoint_text(e.src) + ": NAT port pool exhausted";
    case Fact::NatHairpinOff:
        return r + "dropped " + packet_word(e) + " to its own public address " + endpoint_text(e.dst) +
               ": hairpinning is off";
    case Fact::Nat64Session:
        return r + "NAT64 session " + endpoint_text(e.src) + " -> " + endpoint_text(e.dst) + " as " +
               endpoint_text(e.src_after) + " -> " + endpoint_text(e.dst_after);
    case Fact::Nat64Unsolicited:
        return r + "dropped " + packet_word(e) + " from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst) +
               ": no NAT64 session (nothing on the IPv6 side opened it)";
    case Fact::Nat64Binding:
        return r + "FTP64 ALG: binding " + endpoint_text(e.src) + " as " + endpoint_text(e.src_after) +
               " for the server's data connection";
    case Fact::Alg64Translated: return r + "FTP64 ALG: \"" + e.line_before + "\" sent on as \"" + e.line_after + "\"";
    case Fact::Alg64Answered:
        return r + "FTP64 ALG: answers \"" + e.line_before + "\" itself with \"" + e.line_after + "\" (not forwarded)";
    case Fact::PortForward:
        return r + "port forward " + endpoint_text(e.dst) + " -> " + endpoint_text(e.dst_after) + " (" +
               e.rule_text + ")";
    case Fact::FirewallVerdict: {
        const std::string what = packet_word(e) + " to " + endpoint_text(e.dst);
        if (e.action == Action::Accept)
            return r + "accepted " + what + " (" + e.state + "), rule " + std::to_string(e.rule) + " (" +
                   e.rule_text + ")";
        if (e.action == Action::Drop) return r + "dropped " + what + ", " + reason(e);
        return r + "rejected " + what + " with a TCP reset, " + reason(e);
    }
    case Fact::ConntrackCreated: return r + "conntrack entry " + pair_text(e) + " created (" + e.state + ")";
    case Fact::ConntrackExpired: return r + "conntrack entry " + pair_text(e) + " expired";
    case Fact::ConntrackInvalid:
        return r + "dropped " + packet_word(e) + " " + pair_text(e) + ": it belongs to no known connection";
    case Fact::NoRoute:
        return r + "dropped " + packet_word(e) + " to " + endpoint_text(e.dst_after) + ": no route";
    case Fact::ClosedPort: {
        const std::string what = packet_word(e) + " from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst);
        if (e.action == Action::Reject)
            return r + "answered " + what + " with RST: " + closed_port_why(e) +
                   ", so the router's own closed port replies";
        if (e.action == Action::Icmp)
            return r + "answered " + what + " with ICMP port unreachable: " + closed_port_why(e);
        return r + "dropped " + what + ": " + closed_port_why(e);
    }

    case Fact::AlgLineIgnored:
        switch (e.alg_skip) {
        case AlgSkip::Tls: return "ALG: cannot read the control connection (TLS record): nothing inspected";
        case AlgSkip::NotAtLineStart:
            return "ALG: did not inspect \"" + e.line_before +
                   "\": the packet does not start right after a line end it saw";
        case AlgSkip::ForeignAddress:
            return "ALG: " + form + " announces " + e.dst.addr + ", not the sender's own " + e.src.addr +
                   ": no expectation, nothing rewritten (loose=0)";
        case AlgSkip::PortNotInspected:
            return "ALG: the control connection's server port " + std::to_string(e.dst.port) +
                   " is not inspected: \"" + e.line_before + "\" left alone";
        case AlgSkip::FormNotHandled:
            return "ALG: leaves " + form + " " + e.line_before + " alone: this helper does not handle " + form;
        case AlgSkip::None: break;
        }
        return "ALG: left \"" + e.line_before + "\" alone";
    case Fact::AlgLineRewritten: return "ALG: rewrote " + form + " " + e.line_before + " -> " + form + " " + e.line_after;
    case Fact::AlgPartialLine:
        return "ALG: dropped a packet with a partial " + form + " line \"" + e.line_before + "\"";
    case Fact::SeqAdjust: {
        const int size = e.seq_delta > 0 ? e.seq_delta : -e.seq_delta;
        return "ALG: the line is " + std::to_string(size) + (size == 1 ? " byte " : " bytes ") +
               (e.seq_delta > 0 ? "longer" : "shorter") + ": later sequence numbers of this direction move by " +
               (e.seq_delta > 0 ? "+" : "") + std::to_string(e.seq_delta) + ", the peer's acknowledgements back";
    }
    case Fact::AlgExpectationCreated: return "ALG: expecting a data connection " + expectation_text(e);
    case Fact::AlgExpectationUsed:
        return "ALG: " + packet_word(e) + " " + pair_text(e) + " is the expected " + form +
               " data connection (related)" +
               (e.dst_after == e.dst ? "" : ", forwarded to " + endpoint_text(e.dst_after));
    case Fact::AlgExpectationExpired: return "ALG: expectation " + expectation_text(e) + " expired unused";
    case Fact::AlgNoFreePort: return "ALG: no free port to announce for " + form;

    case Fact::Listen: return "listen " + endpoint_text(e.src);
    case Fact::ListenFailed:
        if (e.error == SocketError::PortInUse)
            return "listen failed: port " + std::to_string(e.src.port) + " in use on " + e.src.addr;
        return "listen failed: no free port in " + std::to_string(e.src.port) + "-" + std::to_string(e.dst.port) +
               " on " + e.src.addr;
    case Fact::StopListening: return "stop listening " + endpoint_text(e.src);
    case Fact::Connect: return "connect " + pair_text(e);
    case Fact::Connected: return "connected " + pair_text(e);
    case Fact::Accepted: return "accept " + endpoint_text(e.src) + " <- " + endpoint_text(e.dst);
    case Fact::ConnectFailed:
        if (e.error == SocketError::Refused) return "connection refused by " + endpoint_text(e.dst);
        if (e.error == SocketError::Unreachable)
            return "connect to " + endpoint_text(e.dst) + " failed: network unreachable (no route)";
        return "connect to " + endpoint_text(e.dst) + " timed out after " + timer_text(e.timeout_ns);
    case Fact::Reset: return "reset by peer " + pair_text(e);
    case Fact::TimedOut:
        return "timed out " + pair_text(e) + " (no ACK after " + std::to_string(e.attempt) + " retransmissions)";
    case Fact::HalfOpenGaveUp: return "gave up on half-open " + pair_text(e);
    case Fact::Closed: return "closed " + pair_text(e);
    case Fact::PeerClosed: return "peer closed " + pair_text(e);
    case Fact::Aborted: return "abort (RST) " + pair_text(e);
    case Fact::ClosedBeforeConnected: return "closed before connected " + pair_text(e);

    case Fact::SynRetransmit:
        return "SYN retransmission #" + std::to_string(e.attempt) + " (RTO " + timer_text(e.timeout_ns) + " expired)";
    case Fact::SynAckRetransmit: return "SYN-ACK retransmission #" + std::to_string(e.attempt);
    case Fact::Retransmit:
        return "retransmission timeout (" + timer_text(e.timeout_ns) + "): resending from seq " +
               std::to_string(e.tcp_seq);
    case Fact::FastRetransmit: return "fast retransmit after 3 duplicate ACKs";

    case Fact::ServerListening: return "FTP server listening on " + endpoint_text(e.src);
    case Fact::FaultServerStop:
        return "fault: the FTP server stops (restart begins); port " + std::to_string(e.src.port) +
               " is closed until it is back";
    case Fact::FaultServerBack:
        return "fault: the FTP server is back and listens on port " + std::to_string(e.src.port) + " again";
    case Fact::FaultDiskFull: return "fault: the server's disk is full";
    case Fact::FaultDataCut:
        return "fault: the data connection " + endpoint_text(e.src) + " <-> " + endpoint_text(e.dst) + " is reset";
    case Fact::ListenQueue:
        return "the connection from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst) +
               " waits in the listen queue: the server takes one connection per transfer";
    case Fact::PassiveClosed:
        return "the passive port closes: the connection from " + endpoint_text(e.src) +
               " that waited in its queue is reset";
    case Fact::AttackerSniffed:
        return "attacker " + e.from + " read \"" + e.line_before + "\" on " + e.state;
    case Fact::AttackerStole:
        return e.state == "data" ? "attacker " + e.from + " connects to the passive port " + endpoint_text(e.dst) +
                                       " before the client does"
                                 : "attacker " + e.from + " connects to " + endpoint_text(e.dst) + " to send SPDT " +
                                       e.line_before;

    case Fact::ServeLimitRefused:
        if (e.state == "per-address")
            return "connection from " + e.src.addr + " refused: " + std::to_string(e.entry) +
                   " connections from that address already (limit " + std::to_string(e.attempt) + ")";
        if (e.state == "unauthenticated")
            return "connection from " + e.src.addr + " refused: " + std::to_string(e.entry) +
                   " connections not logged in yet (limit " + std::to_string(e.attempt) + ")";
        return "login from " + e.src.addr + " refused: " + std::to_string(e.entry) +
               " sessions logged in already (limit " + std::to_string(e.attempt) + ")";
    case Fact::ServeLoginFailed:
        return "failed login #" + std::to_string(e.attempt) +
               (e.timeout_ns > 0 ? ": the reply waits " + timer_text(e.timeout_ns) : std::string()) +
               (e.state == "close" ? "; the connection is closed after it (limit " + std::to_string(e.entry) + ")"
                                   : std::string());
    case Fact::ServeTimeout:
        return (e.state == "login" ? "not logged in after " : "no complete command line for ") +
               timer_text(e.timeout_ns) + ": the server closes the session";
    case Fact::ServeDataStalled:
        return "no progress on the data connection for " + timer_text(e.timeout_ns) + ": reset";
    case Fact::ServeStoreFailed:
        return (e.policy == "staging-file" ? std::string("the upload's staging file failed")
                                           : "storing " + e.line_before + " failed") +
               ": " + e.rule_text + " (" + e.state + "); the file is left as it was";
    case Fact::ServeAcceptPaused:
        return "accept failed: " + e.rule_text + " (" + e.state + "); no new connections until descriptors free up";
    case Fact::ServeLineTooLong: return "a command line longer than " + std::to_string(e.attempt) + " bytes";

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
    case Fact::Explain: return e.text;
    case Fact::CaptureGap:
        return std::to_string(e.payload_len) + " bytes from " + endpoint_text(e.src) + " to " + endpoint_text(e.dst) +
               " are missing from the capture (a sequence gap); they are not invented";
    // Segment facts: a segment's sentence is its own (the exporters draw it); reason() says why.
    case Fact::LinkLoss:
    case Fact::LinkDown:
    case Fact::HostPortClosed:
    case Fact::HostNoForward:
    case Fact::TtlExceeded: return e.text;
    }
    return e.text;
}

}  // namespace ftpsim::trace
