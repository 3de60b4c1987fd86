// The TCP model of one connection: handshake, RST, SYN backoff, MSS segmentation, cumulative
// ACKs, RFC 6298 retransmission timer, fast retransmit, half-close. See docs/network-model.md.
#include "sim/net/tcp_connection.hpp"

#include <algorithm>

namespace ftpsim::net {

using namespace tcpflag;

namespace {

// The offset a 32-bit wire number denotes, near a known offset (RFC 1982 arithmetic).
std::uint64_t unwrap(std::uint32_t base_wire, std::uint64_t near_off, std::uint32_t wire) {
    auto delta = static_cast<std::int32_t>(wire - (base_wire + static_cast<std::uint32_t>(near_off)));
    auto off = static_cast<std::int64_t>(near_off) + delta;
    return off < 0 ? 0 : static_cast<std::uint64_t>(off);
}

}  // namespace

TcpSegment reset_for(const TcpSegment& in) {
    TcpSegment r;
    if (in.has(kAck)) {
        r.flags = kRst;
        r.seq = in.ack;
    } else {
        r.flags = kRst | kAck;
        r.seq = 0;
        r.ack = in.seq + in.seq_len();
    }
    return r;
}

void TcpConnection::emit(TcpEventKind k, int attempt, TimeNs timeout, std::uint32_t seq) {
    TcpEvent e;
    e.kind = k;
    e.attempt = attempt;
    e.timeout_ns = timeout;
    e.seq = seq;
    out_->event(e);
}

void TcpConnection::arm(TimeNs deadline) {
    rto_deadline_ = deadline;
    out_->timer_armed(deadline);
}

void TcpConnection::disarm() {
    if (rto_deadline_ < 0) return;
    rto_deadline_ = -1;
    out_->timer_disarmed();
}

void TcpConnection::send(std::uint8_t flags, std::uint64_t off, std::uint64_t data_off, std::uint32_t len) {
    TcpSegment s;
    s.flags = flags;
    s.seq = iss_ + static_cast<std::uint32_t>(off);
    s.ack = (flags & kAck) ? irs_ + static_cast<std::uint32_t>(rcv_nxt_) : 0;
    if (len) s.payload = std::string_view(buf_).substr(static_cast<std::size_t>(data_off - buf_base_), len);
    s.file_data = len != 0 && data_off >= record_until_;
    if (flags & kAck) ack_pending_ = false;
    out_->segment(s);
}

void TcpConnection::open_active(TimeNs now, std::uint32_t iss, bool send_syn) {
    state_ = TcpState::SynSent;
    iss_ = iss;
    rto_ = cfg_->initial_rto_ns;
    connect_started_ = now;
    if (!send_syn) return;
    send(kSyn, 0, 0, 0);
    snd_nxt_ = 1;
    TimeNs deadline = now + rto_;
    if (cfg_->connect_timeout_ns > 0) deadline = std::min(deadline, now + cfg_->connect_timeout_ns);
    arm(deadline);
}

void TcpConnection::open_passive(TimeNs now, std::uint32_t iss, std::uint32_t peer_isn) {
    state_ = TcpState::SynRcvd;
    irs_ = peer_isn;
    rcv_nxt_ = 1;
    iss_ = iss;
    rto_ = cfg_->initial_rto_ns;
    connect_started_ = now;
    send(kSyn | kAck, 0, 0, 0);
    snd_nxt_ = 1;
    arm(now + rto_);
}

void TcpConnection::release() {
    if (state_ == TcpState::Closed) return;
    state_ = TcpState::Closed;
    disarm();
    std::string().swap(buf_);
    out_of_order_.clear();
}

void TcpConnection::end(TcpEventKind k, int attempt, TimeNs timeout) {
    release();
    emit(k, attempt, timeout);
}

std::uint64_t TcpConnection::bytes_unacked() const {
    if (snd_una_ == 0) return app_len_;
    return app_len_ - std::min(snd_una_ - 1, app_len_);
}

std::uint64_t TcpConnection::send_space() const {
    if (state_ == TcpState::Closed || close_requested_) return 0;
    const std::uint64_t window = cfg_->send_window;
    if (!window) return UINT64_MAX;
    const std::uint64_t sent = snd_nxt_ > 0 ? snd_nxt_ - 1 : 0;  // data offset of the next new byte
    const std::uint64_t unsent = app_len_ > sent ? app_len_ - sent : 0;
    const std::uint64_t target = 2 * window + cfg_->mss;
    return unsent >= target ? 0 : target - unsent;
}

std::size_t TcpConnection::write(TimeNs now, std::string_view bytes) {
    if (state_ == TcpState::Closed || close_requested_ || bytes.empty()) return 0;
    buf_.append(bytes);
    app_len_ += bytes.size();
    flush(now);
    return bytes.size();
}

void TcpConnection::file_data_from_now() {
    if (record_until_ == UINT64_MAX) record_until_ = app_len_;
}

void TcpConnection::close(TimeNs now) {
    if (state_ != TcpState::Open || close_requested_) return;
    close_requested_ = true;
    flush(now);
}

void TcpConnection::abort() {
    if (state_ == TcpState::Closed) return;
    if (state_ != TcpState::SynSent) send(kRst | kAck, snd_nxt_, 0, 0);
    release();
}

// Sends what the window allows, the FIN once everything is sent, and a pending ACK.
void TcpConnection::flush(TimeNs now) {
    if (state_ != TcpState::Open) return;
    const std::uint64_t window = cfg_->send_window;
    bool sent_new = false;
    while (!fin_sent_ && snd_nxt_ - 1 < app_len_) {
        std::uint64_t in_flight_bytes = snd_nxt_ - snd_una_;
        if (window && in_flight_bytes >= window) break;
        std::uint64_t data_off = snd_nxt_ - 1;
        std::uint64_t len = std::min<std::uint64_t>(cfg_->mss, app_len_ - data_off);
        if (window) len = std::min(len, window - in_flight_bytes);
        if (data_off < record_until_) len = std::min(len, record_until_ - data_off);
        std::uint8_t flags = kAck | (data_off + len == app_len_ ? kPsh : 0);
        send(flags, snd_nxt_, data_off, static_cast<std::uint32_t>(len));
        if (!timing_) {
            timing_ = true;
            timed_off_ = snd_nxt_ + len;
            timed_at_ = now;
        }
        snd_nxt_ += len;
        sent_new = true;
    }
    if (close_requested_ && !fin_sent_ && snd_nxt_ == 1 + app_len_) {
        send(kFin | kAck, snd_nxt_, 0, 0);
        fin_sent_ = true;
        snd_nxt_ += 1;
        sent_new = true;
    }
    if (sent_new && rto_deadline_ < 0) arm(now + rto_);
    if (ack_pending_) send(kAck, snd_nxt_, 0, 0);
}

// Resends the first unacknowledged segment (SYN, SYN-ACK, data or FIN).
void TcpConnection::retransmit() {
    timing_ = false;  // Karn: no RTT sample from a retransmitted segment
    if (state_ == TcpState::SynSent) return send(kSyn, 0, 0, 0);
    if (state_ == TcpState::SynRcvd) return send(kSyn | kAck, 0, 0, 0);
    if (snd_una_ >= snd_nxt_) return;
    std::uint64_t off = snd_una_;
    if (off - 1 < app_len_) {
        std::uint64_t data_off = off - 1;
        std::uint64_t len = std::min<std::uint64_t>({cfg_->mss, app_len_ - data_off, snd_nxt_ - off});
        if (data_off < record_until_) len = std::min(len, record_until_ - data_off);
        std::uint8_t flags = kAck | (data_off + len == app_len_ ? kPsh : 0);
        send(flags, off, data_off, static_cast<std::uint32_t>(len));
    } else {
        send(kFin | kAck, off, 0, 0);
    }
}

void TcpConnection::maybe_closed() {
    if (state_ == TcpState::Open && fin_sent_ && fin_acked_ && fin_rcvd_) end(TcpEventKind::Closed);
}

void TcpConnection::rtt_sample(TimeNs r) {
    if (!have_rtt_) {
        srtt_ = r;
        rttvar_ = r / 2;
        have_rtt_ = true;
    } else {
        TimeNs err = srtt_ > r ? srtt_ - r : r - srtt_;
        rttvar_ = (3 * rttvar_ + err) / 4;
        srtt_ = (7 * srtt_ + r) / 8;
    }
    rto_ = std::clamp(srtt_ + 4 * rttvar_, cfg_->min_rto_ns, cfg_->max_rto_ns);
}

void TcpConnection::handle_ack(TimeNs now, const TcpSegment& k) {
    if (!k.has(kAck)) return;
    std::uint64_t ack = unwrap(iss_, snd_una_, k.ack);
    if (ack > snd_nxt_) return;  // acknowledges something never sent
    if (ack > snd_una_) {
        if (timing_ && ack >= timed_off_) {
            rtt_sample(now - timed_at_);
            timing_ = false;
        }
        snd_una_ = ack;
        retries_ = 0;
        dupacks_ = 0;
        std::uint64_t acked_data = std::min(snd_una_ - 1, app_len_);
        std::uint64_t dead = acked_data - buf_base_;
        if (dead > 65536 && dead > buf_.size() / 2) {
            buf_.erase(0, static_cast<std::size_t>(dead));
            buf_base_ = acked_data;
        }
        if (fin_sent_ && snd_una_ == app_len_ + 2) fin_acked_ = true;
        if (in_recovery_) {
            if (snd_una_ >= recover_) {
                in_recovery_ = false;
            } else {
                retransmit();  // partial ACK: the next hole
            }
        }
        if (snd_una_ == snd_nxt_) {
            disarm();
        } else {
            arm(now + rto_);
        }
        // Everything the application wrote, and the FIN it asked for, is acknowledged.
        if (snd_una_ == app_len_ + 1 + (close_requested_ ? 1 : 0)) emit(TcpEventKind::Drained);
    } else if (ack == snd_una_ && snd_nxt_ > snd_una_ && k.payload.empty() && !k.has(kSyn) && !k.has(kFin)) {
        if (++dupacks_ == 3 && !in_recovery_) {
            in_recovery_ = true;
            recover_ = snd_nxt_;
            emit(TcpEventKind::FastRetransmit);
            retransmit();
        }
    }
}

void TcpConnection::accept_payload(std::uint64_t off, std::string_view data, bool fin) {
    ack_pending_ = true;
    if (fin) peer_fin_off_ = off + data.size();
    auto deliver = [&](std::uint64_t at, std::string_view bytes) {
        if (at + bytes.size() <= rcv_nxt_) return;
        bytes.remove_prefix(static_cast<std::size_t>(rcv_nxt_ - at));
        rcv_nxt_ += bytes.size();
        bytes_received_ += bytes.size();
        TcpEvent e;
        e.kind = TcpEventKind::Data;
        e.data = bytes;
        out_->event(e);
    };
    if (off > rcv_nxt_) {
        if (!data.empty()) {
            auto& slot = out_of_order_[off];
            if (slot.size() < data.size()) slot.assign(data);
        }
        return;
    }
    deliver(off, data);
    while (state_ == TcpState::Open && !out_of_order_.empty() && out_of_order_.begin()->first <= rcv_nxt_) {
        auto node = out_of_order_.extract(out_of_order_.begin());
        deliver(node.key(), node.mapped());
    }
    if (state_ == TcpState::Open && !fin_rcvd_ && peer_fin_off_ == rcv_nxt_) {
        rcv_nxt_ += 1;
        fin_rcvd_ = true;
        emit(TcpEventKind::PeerClosed);
    }
}

void TcpConnection::on_segment(TimeNs now, const TcpSegment& k) {
    if (state_ == TcpState::Closed) return;
    if (k.has(kRst)) {
        switch (state_) {
        case TcpState::SynSent: return end(TcpEventKind::Refused);
        case TcpState::SynRcvd: return end(TcpEventKind::HalfOpenReset);
        default: return end(TcpEventKind::Reset);
        }
    }

    if (state_ == TcpState::SynSent) {
        if (k.has(kSyn | kAck) && k.ack == iss_ + 1) {
            irs_ = k.seq;
            rcv_nxt_ = 1;
            snd_una_ = 1;
            if (retries_ == 0) rtt_sample(now - connect_started_);
            retries_ = 0;
            disarm();
            state_ = TcpState::Open;
            emit(TcpEventKind::Established);
            send(kAck, snd_nxt_, 0, 0);
            emit(TcpEventKind::Connected);
            flush(now);
        }
        return;
    }

    const std::uint64_t una_before = snd_una_;
    if (state_ == TcpState::SynRcvd) {
        if (k.is_syn_only()) {  // our SYN-ACK was lost or is late: answer again
            send(kSyn | kAck, 0, 0, 0);
            return;
        }
        if (!k.has(kAck) || k.ack != iss_ + 1) return;
        snd_una_ = 1;
        if (retries_ == 0) rtt_sample(now - connect_started_);
        retries_ = 0;
        disarm();
        state_ = TcpState::Open;
        emit(TcpEventKind::Accepted);
        if (state_ != TcpState::Open) return;
        // The same segment may carry data or a FIN: fall through (its ACK is handled).
    } else if (k.has(kSyn)) {  // a retransmitted SYN-ACK: our ACK was lost
        ack_pending_ = true;
        flush(now);
        return;
    } else {
        handle_ack(now, k);
    }
    if (state_ != TcpState::Open) return;
    if (!k.payload.empty() || k.has(kFin)) {
        std::uint64_t off = unwrap(irs_, rcv_nxt_, k.seq);
        accept_payload(off, k.payload, k.has(kFin));
    }
    if (state_ != TcpState::Open) return;
    // Room in the send buffer: the application refills it before the flush below sends.
    if (snd_una_ > una_before && app_len_ > 0) {
        emit(TcpEventKind::Writable);
        if (state_ != TcpState::Open) return;
    }
    flush(now);
    maybe_closed();
}

// The retransmission timer expired.
void TcpConnection::on_timer(TimeNs now) {
    rto_deadline_ = -1;
    ++retries_;
    const TcpConfig& t = *cfg_;
    if (state_ == TcpState::SynSent) {
        TimeNs give_up = t.connect_timeout_ns > 0 ? connect_started_ + t.connect_timeout_ns : -1;
        if (retries_ > t.syn_retries || (give_up >= 0 && now >= give_up))
            return end(TcpEventKind::ConnectTimedOut, retries_ - 1, now - connect_started_);
        emit(TcpEventKind::SynRetransmit, retries_, rto_);
        rto_ = std::min(2 * rto_, t.max_rto_ns);
        retransmit();
        TimeNs next = now + rto_;
        if (give_up >= 0) next = std::min(next, give_up);
        arm(next);
        return;
    }
    if (state_ == TcpState::SynRcvd) {
        if (retries_ > t.synack_retries) return end(TcpEventKind::HalfOpenGaveUp);
        emit(TcpEventKind::SynAckRetransmit, retries_, rto_);
        rto_ = std::min(2 * rto_, t.max_rto_ns);
        retransmit();
        arm(now + rto_);
        return;
    }
    if (state_ != TcpState::Open || snd_una_ >= snd_nxt_) return;
    if (retries_ > t.data_retries) return end(TcpEventKind::TimedOut, t.data_retries);
    emit(TcpEventKind::Retransmit, retries_, rto_, iss_ + static_cast<std::uint32_t>(snd_una_));
    rto_ = std::min(2 * rto_, t.max_rto_ns);
    in_recovery_ = true;
    recover_ = snd_nxt_;
    dupacks_ = 0;
    retransmit();
    arm(now + rto_);
}

}  // namespace ftpsim::net
