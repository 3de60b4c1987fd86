// One TCP connection as a sans-IO state machine: segments in, segments and a deadline out, the
// time passed in. No SimGrid, no clock, no addresses, no trace: the network (runtime.hpp) owns
// the sockets, ports and routing and turns what a connection emits into packets, trace facts and
// application callbacks; tests/tcp drives it directly, without an engine.
//
//   struct Out : TcpOutput { ... };          // collects segments, events and the deadline
//   TcpConnection c(cfg, out);
//   c.open_active(0, iss);                   // -> segment S, timer_armed(1 s)
//   c.on_segment(t, {kSyn | kAck, ...});     // -> Established, segment A, Connected
//   c.write(t, "USER anonymous\r\n");        // -> segment PA
//   c.on_timer(deadline);                    // when the deadline passes: retransmission
//
// Output is synchronous: the connection calls its TcpOutput while it handles an input, in the
// order things happen, and the output may call back into the connection (an application that
// writes its reply inside the Data event: the reply carries the ACK). docs/network-model.md
// ("TCP") describes the behaviour; every rule there is implemented here.
//
// The send buffer: write() copies bytes into the connection, which keeps them until they are
// acknowledged. With a send window, send_space() says how much more to write so that the
// written-but-unsent part stays within 2 windows + 1 MSS (the window can always be filled, a file
// is never buffered whole); without one, everything goes in flight at once and it is unbounded.
// After every segment whose ACK acknowledged something new, once its data is delivered and
// before the connection sends, it emits TcpEventKind::Writable (Stack: SocketHandler::on_writable)
// if the application has written: a data path feeding a file in chunks refills there, and the
// refill leaves in the same flush, so segments are those of one big write.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace ftpsim::net {

using TimeNs = std::int64_t;

struct TcpConfig {
    std::uint32_t mss = 1460;             // payload bytes per segment
    std::uint32_t header_bytes = 40;      // IPv4 (20) + TCP (20) header counted on the wire
    TimeNs initial_rto_ns = 1'000'000'000;        // SYN and data RTO before any RTT sample (Linux: 1 s)
    int syn_retries = 6;                  // Linux tcp_syn_retries: 1+2+4+...+64 = 127 s
    int synack_retries = 5;               // Linux tcp_synack_retries
    TimeNs connect_timeout_ns = 0;        // > 0: give up connecting after this long, whatever syn_retries says
    TimeNs min_rto_ns = 200'000'000;      // Linux TCP_RTO_MIN
    TimeNs max_rto_ns = 120'000'000'000;  // Linux TCP_RTO_MAX
    int data_retries = 15;                // Linux tcp_retries2: then the connection times out
    std::uint64_t send_window = 0;        // bytes in flight per connection; 0 = unlimited (the default model)
    std::uint16_t ephemeral_first = 32768;  // Linux ip_local_port_range
    std::uint16_t ephemeral_last = 60999;
};

// TCP header flag bits, the wire's values (the same as mbox::TcpFlag).
namespace tcpflag {
constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

// A segment as the connection sends or receives it: no addresses (the socket layer adds them).
struct TcpSegment {
    std::uint8_t flags = 0;
    std::uint32_t seq = 0;      // wire sequence number
    std::uint32_t ack = 0;      // 0 unless kAck
    std::string_view payload;   // on output: valid only during TcpOutput::segment
    bool file_data = false;     // output: the payload is file data (after file_data_from_now)

    bool has(std::uint8_t f) const { return (flags & f) == f; }
    bool is_syn_only() const { return has(tcpflag::kSyn) && !has(tcpflag::kAck); }
    std::uint32_t seq_len() const {
        return static_cast<std::uint32_t>(payload.size()) + (has(tcpflag::kSyn) ? 1u : 0u) +
               (has(tcpflag::kFin) ? 1u : 0u);
    }
};

// The RST a host sends for a segment that no connection takes (RFC 793 "Reset Generation"):
// seq = its ACK if it had one, else RST+ACK acknowledging it.
TcpSegment reset_for(const TcpSegment& offending);

enum class TcpState { Closed, SynSent, SynRcvd, Open };

enum class TcpEventKind {
    Established,       // SYN-SENT: the SYN-ACK arrived; the ACK follows, then Connected
    Connected,         // the application may write (after the handshake's ACK left)
    Accepted,          // SYN-RCVD: the final ACK arrived (the same segment may carry data)
    Data,              // bytes delivered in order (`data`)
    PeerClosed,        // the peer's FIN arrived in order
    Drained,           // everything written, and our FIN if closed, is acknowledged
    Writable,          // an ACK acknowledged new data (the application has written): send_space() may have grown
    SynRetransmit,     // `attempt`, `timeout_ns` = the RTO that expired
    SynAckRetransmit,  // `attempt`, `timeout_ns`
    Retransmit,        // RTO expiry on data or FIN: `attempt`, `timeout_ns`, `seq` (wire)
    FastRetransmit,    // third duplicate ACK
    // Each of the following ends the connection: it is Closed (timer disarmed, buffers freed)
    // when the event is emitted.
    Refused,           // SYN-SENT: a RST answered our SYN
    ConnectTimedOut,   // SYN-SENT: `attempt` = SYNs retransmitted, `timeout_ns` = time since open
    HalfOpenReset,     // SYN-RCVD: a RST arrived (the application never saw the connection)
    HalfOpenGaveUp,    // SYN-RCVD: synack_retries exhausted
    Reset,             // open: a RST arrived
    TimedOut,          // open: data_retries exhausted (`attempt` = data_retries)
    Closed,            // both FINs sent and acknowledged
};

struct TcpEvent {
    TcpEventKind kind{};
    int attempt = 0;
    TimeNs timeout_ns = 0;
    std::uint32_t seq = 0;
    std::string_view data;  // Data: valid only during TcpOutput::event
};

// What a connection emits, called synchronously while it handles an input.
class TcpOutput {
public:
    virtual ~TcpOutput() = default;
    virtual void segment(const TcpSegment& s) = 0;
    virtual void event(const TcpEvent& e) = 0;
    // The retransmission/connect timer is due at `at` (re-armed: a later or earlier deadline
    // replaces the previous one); on_timer must be called once it has passed.
    virtual void timer_armed(TimeNs at) = 0;
    virtual void timer_disarmed() = 0;
};

class TcpConnection {
public:
    TcpConnection(const TcpConfig& cfg, TcpOutput& out) : cfg_(&cfg), out_(&out) {}

    // Active open: SYN-SENT with initial sequence number `iss`; sends the SYN and arms the
    // timer unless send_syn is false (no route: the socket layer reports it).
    void open_active(TimeNs now, std::uint32_t iss, bool send_syn = true);
    // Passive open on a SYN with sequence number `peer_isn`: SYN-RCVD, sends the SYN-ACK.
    void open_passive(TimeNs now, std::uint32_t iss, std::uint32_t peer_isn);

    void on_segment(TimeNs now, const TcpSegment& s);
    // The armed deadline has passed (call at or after deadline(); the timer is disarmed on entry).
    void on_timer(TimeNs now);

    // Queues bytes (an open or connecting connection that has not closed); returns how many it
    // took (all of them, or 0). Sends what the window allows.
    std::size_t write(TimeNs now, std::string_view bytes);
    // How much more to write now: 2 send windows + 1 MSS minus the written-but-unsent bytes
    // (UINT64_MAX without a send window, 0 once closed or closing).
    std::uint64_t send_space() const;
    // Bytes written from now on are file data: TcpSegment::file_data, and no segment carries
    // bytes from both sides of the boundary.
    void file_data_from_now();
    // FIN after the queued bytes (an open connection only).
    void close(TimeNs now);
    // RST now (unless still in SYN-SENT), then release().
    void abort();
    // Forgets the connection at once: Closed, timer disarmed, buffers freed; no output but
    // timer_disarmed.
    void release();

    TcpState state() const { return state_; }
    bool is_open() const { return state_ == TcpState::Open; }
    bool close_requested() const { return close_requested_; }
    TimeNs deadline() const { return rto_deadline_; }   // -1 when no timer is armed
    TimeNs rto() const { return rto_; }
    TimeNs srtt() const { return srtt_; }
    TimeNs rttvar() const { return rttvar_; }
    std::uint32_t iss() const { return iss_; }
    std::uint64_t bytes_written() const { return app_len_; }
    std::uint64_t bytes_received() const { return bytes_received_; }
    std::uint64_t bytes_unacked() const;       // written, not yet acknowledged
    std::uint64_t buffered_bytes() const { return buf_.size(); }

private:
    void send(std::uint8_t flags, std::uint64_t off, std::uint64_t data_off, std::uint32_t len);
    void emit(TcpEventKind k, int attempt = 0, TimeNs timeout = 0, std::uint32_t seq = 0);
    void arm(TimeNs deadline);
    void disarm();
    void flush(TimeNs now);
    void retransmit();
    void handle_ack(TimeNs now, const TcpSegment& s);
    void accept_payload(std::uint64_t off, std::string_view data, bool fin);
    void maybe_closed();
    void end(TcpEventKind k, int attempt = 0, TimeNs timeout = 0);
    void rtt_sample(TimeNs r);

    const TcpConfig* cfg_;
    TcpOutput* out_;
    TcpState state_ = TcpState::Closed;
    TimeNs connect_started_ = 0;

    // Sender. Sequence numbers are 64-bit offsets from the ISN (0 is the SYN, data byte i is at
    // 1+i, the FIN follows the last byte); the wire carries isn + offset mod 2^32.
    std::uint32_t iss_ = 0;
    std::uint64_t snd_una_ = 0, snd_nxt_ = 0;
    std::string buf_;               // unacknowledged and unsent bytes, from data offset buf_base_
    std::uint64_t buf_base_ = 0;
    std::uint64_t app_len_ = 0;     // bytes written by the application
    std::uint64_t record_until_ = UINT64_MAX;
    bool close_requested_ = false, fin_sent_ = false, fin_acked_ = false;
    int dupacks_ = 0;
    bool in_recovery_ = false;
    std::uint64_t recover_ = 0;

    // Retransmission timer (RFC 6298) and the one segment being timed (Karn).
    TimeNs rto_ = 0, srtt_ = 0, rttvar_ = 0;
    bool have_rtt_ = false;
    int retries_ = 0;
    TimeNs rto_deadline_ = -1;
    bool timing_ = false;
    std::uint64_t timed_off_ = 0;
    TimeNs timed_at_ = 0;

    // Receiver.
    std::uint32_t irs_ = 0;
    std::uint64_t rcv_nxt_ = 0;
    std::map<std::uint64_t, std::string> out_of_order_;
    std::uint64_t peer_fin_off_ = UINT64_MAX;
    bool fin_rcvd_ = false;
    bool ack_pending_ = false;
    std::uint64_t bytes_received_ = 0;
};

}  // namespace ftpsim::net
