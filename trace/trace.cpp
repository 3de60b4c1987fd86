#include "trace/trace.hpp"

#include <array>
#include <ostream>
#include <utility>

namespace ftpsim::trace {

const std::string& ColdString::empty_string() {
    static const std::string empty;
    return empty;
}

std::ostream& operator<<(std::ostream& os, const ColdString& s) { return os << s.str(); }
namespace {

// One table per enum: the value and its stable name (the JSON's spelling).
template <class E, std::size_t N>
using Names = std::array<std::pair<E, const char*>, N>;

template <class E, std::size_t N>
const char* name_of(const Names<E, N>& table, E v) {
    for (auto& [k, s] : table)
        if (k == v) return s;
    return "?";
}
template <class E, std::size_t N>
bool parse_name(const Names<E, N>& table, const std::string& s, E& out) {
    for (auto& [k, n] : table)
        if (s == n) {
            out = k;
            return true;
        }
    return false;
}

constexpr Names<EventKind, 8> kKinds{{
    {EventKind::Segment, "segment"},
    {EventKind::FtpCommand, "ftp-command"},
    {EventKind::FtpReply, "ftp-reply"},
    {EventKind::DataBytes, "data-bytes"},
    {EventKind::Middlebox, "middlebox"},
    {EventKind::Socket, "socket"},
    {EventKind::Timer, "timer"},
    {EventKind::Note, "note"},
}};
constexpr Names<Verdict, 4> kVerdicts{{
    {Verdict::None, "none"},
    {Verdict::Delivered, "delivered"},
    {Verdict::Dropped, "dropped"},
    {Verdict::Rejected, "rejected"},
}};
constexpr Names<Fact, static_cast<std::size_t>(Fact::Explain) + 1> kFacts{{
    {Fact::None, "none"},
    {Fact::NatMappingCreated, "nat-mapping-created"},
    {Fact::NatMappingReused, "nat-mapping-reused"},
    {Fact::NatMappingExpired, "nat-mapping-expired"},
    {Fact::NatInboundAdmitted, "nat-inbound-admitted"},
    {Fact::NatInboundFiltered, "nat-inbound-filtered"},
    {Fact::NatPoolExhausted, "nat-pool-exhausted"},
    {Fact::NatHairpinOff, "nat-hairpin-off"},
    {Fact::PortForward, "port-forward"},
    {Fact::FirewallVerdict, "firewall-verdict"},
    {Fact::ConntrackCreated, "conntrack-created"},
    {Fact::ConntrackExpired, "conntrack-expired"},
    {Fact::ConntrackInvalid, "conntrack-invalid"},
    {Fact::NoRoute, "no-route"},
    {Fact::ClosedPort, "closed-port"},
    {Fact::AlgLineIgnored, "alg-line-ignored"},
    {Fact::AlgLineRewritten, "alg-line-rewritten"},
    {Fact::AlgPartialLine, "alg-partial-line"},
    {Fact::AlgExpectationCreated, "alg-expectation-created"},
    {Fact::AlgExpectationUsed, "alg-expectation-used"},
    {Fact::AlgExpectationExpired, "alg-expectation-expired"},
    {Fact::AlgNoFreePort, "alg-no-free-port"},
    {Fact::SeqAdjust, "seq-adjust"},
    {Fact::Nat64Session, "nat64-session"},
    {Fact::Nat64Unsolicited, "nat64-unsolicited"},
    {Fact::Nat64Binding, "nat64-binding"},
    {Fact::Alg64Translated, "alg64-translated"},
    {Fact::Alg64Answered, "alg64-answered"},
    {Fact::Listen, "listen"},
    {Fact::ListenFailed, "listen-failed"},
    {Fact::StopListening, "stop-listening"},
    {Fact::Connect, "connect"},
    {Fact::Connected, "connected"},
    {Fact::Accepted, "accepted"},
    {Fact::ConnectFailed, "connect-failed"},
    {Fact::Reset, "reset"},
    {Fact::TimedOut, "timed-out"},
    {Fact::HalfOpenGaveUp, "half-open-gave-up"},
    {Fact::Closed, "closed"},
    {Fact::PeerClosed, "peer-closed"},
    {Fact::Aborted, "aborted"},
    {Fact::ClosedBeforeConnected, "closed-before-connected"},
    {Fact::SynRetransmit, "syn-retransmit"},
    {Fact::SynAckRetransmit, "syn-ack-retransmit"},
    {Fact::Retransmit, "retransmit"},
    {Fact::FastRetransmit, "fast-retransmit"},
    {Fact::ServerListening, "server-listening"},
    {Fact::FaultServerStop, "fault-server-stop"},
    {Fact::FaultServerBack, "fault-server-back"},
    {Fact::FaultDiskFull, "fault-disk-full"},
    {Fact::FaultDataCut, "fault-data-cut"},
    {Fact::ListenQueue, "listen-queue"},
    {Fact::PassiveClosed, "passive-closed"},
    {Fact::AttackerSniffed, "attacker-sniffed"},
    {Fact::AttackerStole, "attacker-stole"},
    {Fact::ClientGiveUp, "client-give-up"},
    {Fact::ClientFallBack, "client-fall-back"},
    {Fact::ClientRetry, "client-retry"},
    {Fact::ServerPassiveExhausted, "server-passive-exhausted"},
    {Fact::ServerRefusedAddress, "server-refused-address"},
    {Fact::ServerRefusedDataPeer, "server-refused-data-peer"},
    {Fact::ServerDiskFull, "server-disk-full"},
    {Fact::ServerUserLimit, "server-user-limit"},
    {Fact::ServerEarlyDataLimit, "server-early-data-limit"},
    {Fact::ServerCommandQueueLimit, "server-command-queue-limit"},
    {Fact::LinkLoss, "link-loss"},
    {Fact::LinkDown, "link-down"},
    {Fact::HostPortClosed, "host-port-closed"},
    {Fact::HostNoForward, "host-no-forward"},
    {Fact::TtlExceeded, "ttl-exceeded"},
    {Fact::ServeLimitRefused, "serve-limit-refused"},
    {Fact::ServeLoginFailed, "serve-login-failed"},
    {Fact::ServeTimeout, "serve-timeout"},
    {Fact::ServeDataStalled, "serve-data-stalled"},
    {Fact::ServeStoreFailed, "serve-store-failed"},
    {Fact::ServeAcceptPaused, "serve-accept-paused"},
    {Fact::ServeLineTooLong, "serve-line-too-long"},
    {Fact::CaptureGap, "capture-gap"},
    {Fact::Explain, "explain"},
}};
static_assert(kFacts.size() == static_cast<std::size_t>(Fact::Explain) + 1, "one name per Fact");
constexpr Names<Action, 5> kActions{{
    {Action::None, "none"},
    {Action::Accept, "accept"},
    {Action::Drop, "drop"},
    {Action::Reject, "reject"},
    {Action::Icmp, "icmp"},
}};
constexpr Names<AlgSkip, 6> kSkips{{
    {AlgSkip::None, "none"},
    {AlgSkip::ForeignAddress, "foreign-address"},
    {AlgSkip::PortNotInspected, "port-not-inspected"},
    {AlgSkip::Tls, "tls"},
    {AlgSkip::NotAtLineStart, "not-at-line-start"},
    {AlgSkip::FormNotHandled, "form-not-handled"},
}};
constexpr Names<SocketError, 7> kErrors{{
    {SocketError::None, "none"},
    {SocketError::Refused, "refused"},
    {SocketError::TimedOut, "timed-out"},
    {SocketError::Unreachable, "unreachable"},
    {SocketError::Reset, "reset"},
    {SocketError::PortInUse, "port-in-use"},
    {SocketError::NoFreePort, "no-free-port"},
}};
constexpr Names<Announce, 8> kAnnounces{{
    {Announce::None, "none"},
    {Announce::Port, "PORT"},
    {Announce::Eprt, "EPRT"},
    {Announce::Pasv227, "227"},
    {Announce::Epsv229, "229"},
    {Announce::Sock, "SOCK"},
    {Announce::Reply255, "255"},
    {Announce::Spsv, "SPSV"},
}};

}  // namespace

const char* to_string(EventKind k) { return name_of(kKinds, k); }
const char* to_string(Verdict k) { return name_of(kVerdicts, k); }
const char* to_string(Fact f) { return name_of(kFacts, f); }
const char* to_string(Action a) { return name_of(kActions, a); }
const char* to_string(AlgSkip s) { return name_of(kSkips, s); }
const char* to_string(SocketError e) { return name_of(kErrors, e); }
const char* to_string(Announce a) { return name_of(kAnnounces, a); }
bool parse_event_kind(const std::string& s, EventKind& out) { return parse_name(kKinds, s, out); }
bool parse_verdict(const std::string& s, Verdict& out) { return parse_name(kVerdicts, s, out); }
bool parse_fact(const std::string& s, Fact& out) { return parse_name(kFacts, s, out); }
bool parse_action(const std::string& s, Action& out) { return parse_name(kActions, s, out); }
bool parse_alg_skip(const std::string& s, AlgSkip& out) { return parse_name(kSkips, s, out); }
bool parse_socket_error(const std::string& s, SocketError& out) { return parse_name(kErrors, s, out); }
bool parse_announce(const std::string& s, Announce& out) { return parse_name(kAnnounces, s, out); }

std::vector<std::string> fact_names() {
    std::vector<std::string> out;
    for (std::size_t i = 0; i <= static_cast<std::size_t>(Fact::Explain); ++i)
        out.push_back(to_string(static_cast<Fact>(i)));
    return out;
}

Fix make_fix(std::string description, std::vector<std::string> sets, bool verified) {
    Fix f;
    f.description = std::move(description);
    for (const auto& x : sets) f.change += (f.change.empty() ? "" : " --set ") + x;
    f.sets = std::move(sets);
    f.verified = verified;
    return f;
}

}  // namespace ftpsim::trace
