#include "live/host_transport.hpp"

#include <cerrno>
#include <vector>

namespace ftpsim::live {

LiveTransport::LiveTransport(EventLoop& loop, LiveHooks& hooks, LiveTransportOptions options)
    : loop_(loop), t_(loop), hooks_(hooks), opt_(options) {}

LiveTransport::~LiveTransport() {
    if (timer_) loop_.cancel_timer(timer_);
}

bool LiveTransport::is_data(ConnId c) const {
    auto it = conns_.find(c);
    return it != conns_.end() && it->second.purpose.data;
}

std::optional<ConnId> LiveTransport::control_of_data(ConnId c) const {
    auto it = conns_.find(c);
    if (it == conns_.end() || !it->second.purpose.data) return std::nullopt;
    return it->second.purpose.control;
}

IpAddress LiveTransport::local_of(const proto::SocketPurpose& p) const {
    if (p.control >= 0)
        if (auto i = t_.info(p.control)) return i->local.addr;
    return IpAddress{};
}

proto::ListenOutcome LiveTransport::listen(const IpAddress& addr, std::uint16_t lo, std::uint16_t hi,
                                           const proto::SocketPurpose& purpose) {
    IpAddress at = addr;
    if (at.is_unspecified() && purpose.data) {
        const IpAddress own = local_of(purpose);
        if (!own.is_unspecified() || own.is_v4() != at.is_v4()) at = own;
    }
    ConnOptions copts;
    if (!purpose.data) copts.read_rounds = opt_.control_read_rounds;
    auto r = t_.listen(at, lo, hi, this, lo, purpose.data ? 4 : 511, copts);
    proto::ListenOutcome out;
    if (auto* e = std::get_if<NetError>(&r)) {
        hooks_.listen_failed(HostPort{at, lo}, e->err, e->message);
        out.error = e->message;
        return out;
    }
    const auto& l = std::get<Sockets::Listening>(r);
    listeners_[l.id] = purpose;
    if (!purpose.data) control_listener_ = l.id;
    else hooks_.listened(l.local);
    out.id = l.id;
    out.port = l.local.port;
    return out;
}

void LiveTransport::stop_listening(proto::ListenerHandle l) {
    t_.stop_listening(l);
    listeners_.erase(l);
}

proto::ConnHandle LiveTransport::connect(const IpAddress& local, std::uint16_t local_port, const HostPort& remote,
                                         const proto::SocketPurpose& purpose) {
    hooks_.connecting(remote, purpose.data);
    std::optional<HostPort> bind;
    if (local_port != 0) {
        IpAddress a = local.is_unspecified() ? local_of(purpose) : local;
        bind = HostPort{a, local_port};
    }
    ConnOptions copts;
    if (!purpose.data) copts.read_rounds = opt_.control_read_rounds;
    auto r = t_.connect(remote, bind, opt_.connect_timeout_ns, this, copts);
    if (std::holds_alternative<NetError>(r) && bind) {
        // Port 20 (connect_from_port_20) needs root and a free port: an ephemeral one instead.
        hooks_.note(std::get<NetError>(r).message + ": connecting from an ephemeral port instead");
        r = t_.connect(remote, std::nullopt, opt_.connect_timeout_ns, this, copts);
    }
    ConnState st;
    st.purpose = purpose;
    st.we_connected = true;
    st.file_data = purpose.data && !purpose.record_payload;
    if (auto* e = std::get_if<NetError>(&r)) {
        // Failed at once (no route, refused before any SYN): reported from the loop, like a
        // failure that takes a round trip.
        const ConnId id = t_.reserve_id();
        const ConnectStatus s = e->err == ECONNREFUSED                           ? ConnectStatus::Refused
                                : e->err == ENETUNREACH || e->err == EHOSTUNREACH ? ConnectStatus::Unreachable
                                                                                 : ConnectStatus::Other;
        const int err = e->err;
        conns_[id] = st;
        loop_.add_timer(EventLoop::now_ns(), [this, id, s, err, remote] {
            auto it = conns_.find(id);
            if (it == conns_.end()) return;
            const bool data = it->second.purpose.data;
            forget(id);
            if (hooks_.connect_failed(remote, s, err, 0, data)) return;
            if (!host_) return;
            if (s == ConnectStatus::Refused) host_->on_refused(id);
            else if (s == ConnectStatus::Unreachable) host_->on_unreachable(id);
            else host_->on_timeout(id);
        });
        return id;
    }
    const ConnId id = std::get<ConnId>(r);
    conns_[id] = st;
    remotes_[id] = remote;
    return id;
}

void LiveTransport::send(proto::ConnHandle c, std::string_view bytes) {
    auto it = conns_.find(c);
    if (it == conns_.end() || bytes.empty()) return;
    if (it->second.purpose.data && !it->second.file_data) hooks_.data_text_out(c, bytes);
    t_.send(c, std::string(bytes));
    if (it->second.purpose.data && !it->second.file_data) text_out_[c] += bytes.size();
}

// One chunk at a time: the host pulls the next one when this one is written (on_empty), so a
// costly source (a listing stats every entry) produces one chunk per round of the loop.
std::uint64_t LiveTransport::send_space(proto::ConnHandle c) const {
    return t_.queued_bytes(c) == 0 ? opt_.send_window : 0;
}

void LiveTransport::close(proto::ConnHandle c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    if (!t_.exists(c)) return;
    if (t_.info(c)->connecting) return abort(c);
    if (it->second.purpose.data) t_.close(c);
    else release_control(c);
}

void LiveTransport::abort(proto::ConnHandle c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    const auto i = t_.info(c);
    if (i && !i->connecting) hooks_.ended(c, it->second.purpose.data, true, true, 0);
    t_.abort(c);
    forget(c);
}

proto::Transport::Ends LiveTransport::ends(proto::ConnHandle c) const {
    Ends e;
    if (auto i = t_.info(c)) {
        e.local = i->local;
        e.remote = i->remote;
        auto it = conns_.find(c);
        e.open = !i->connecting && it != conns_.end() && !it->second.peer_fin && !i->fin_sent;
    }
    return e;
}

void LiveTransport::file_data_from_now(proto::ConnHandle c) {
    if (auto it = conns_.find(c); it != conns_.end()) it->second.file_data = true;
}

void LiveTransport::relabel_as_data(proto::ConnHandle c, proto::ConnHandle control) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    it->second.purpose.data = true;
    it->second.purpose.control = control;
    it->second.purpose.record_payload = true;  // file_data_from_now() came just before
    // What it still has queued ("200 DATA") was control text, not file data.
    if (const std::size_t q = t_.queued_bytes(c)) text_out_[c] += q;
    hooks_.relabeled(c, control);
}

void LiveTransport::set_timer(proto::Time at) {
    if (at == timer_at_) return;
    if (timer_) loop_.cancel_timer(timer_);
    timer_ = 0;
    timer_at_ = at;
    if (at == proto::kNever) return;
    timer_ = loop_.add_timer(at, [this] {
        timer_ = 0;
        timer_at_ = proto::kNever;
        if (host_) host_->on_timer();
    });
}

void LiveTransport::explain(const proto::Explain& e) { hooks_.explained(e); }

// ---- events from the sockets --------------------------------------------------------------------

void LiveTransport::on_accept(ListenerId l, ConnId c, const HostPort& local, const HostPort& remote) {
    auto lit = listeners_.find(l);
    if (lit == listeners_.end()) return t_.abort(c);
    ConnState st;
    st.purpose = lit->second;
    st.file_data = st.purpose.data && !st.purpose.record_payload;
    conns_[c] = st;
    if (!st.purpose.data) {
        if (!hooks_.admit(c, local, remote)) {
            conns_.erase(c);
            return t_.close_and_release(c);
        }
    } else {
        hooks_.data_opened(c, st.purpose.control, false, local, remote);
    }
    if (host_) host_->on_accept(l, c, local, remote);
}

void LiveTransport::on_accept_error(ListenerId l, int err) { hooks_.accept_failed(l, err); }

void LiveTransport::on_connected(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    remotes_.erase(c);
    const auto i = t_.info(c);
    if (it->second.purpose.data) hooks_.data_opened(c, it->second.purpose.control, true, i->local, i->remote);
    else hooks_.control_connected(c, i->local, i->remote);
    if (host_) host_->on_connected(c);
}

void LiveTransport::on_connect_failed(ConnId c, ConnectStatus s, int err, std::int64_t elapsed_ns) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    const bool data = it->second.purpose.data;
    forget(c);
    HostPort remote;
    if (auto r = remotes_.find(c); r != remotes_.end()) {
        remote = r->second;
        remotes_.erase(r);
    }
    if (hooks_.connect_failed(remote, s, err, elapsed_ns, data)) return;
    if (!host_) return;
    if (s == ConnectStatus::Refused) host_->on_refused(c);
    else if (s == ConnectStatus::Unreachable) host_->on_unreachable(c);
    else host_->on_timeout(c);
}

void LiveTransport::on_data(ConnId c, std::string_view bytes) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    if (!it->second.purpose.data) {
        if (opt_.settle_before_control) {
            t_.settle();
            if (!conns_.count(c)) return;
        }
        if (host_) host_->on_data(c, bytes);
        return;
    }
    // An SPSV data connection: control text first ("220 ...", "200 DATA"), then the file. The
    // host hears it a byte at a time until it says the file begins, so the split is exact.
    std::size_t i = 0;
    while (i < bytes.size()) {
        it = conns_.find(c);
        if (it == conns_.end()) return;
        if (it->second.file_data) {
            hooks_.data_in(c, bytes.size() - i);
            if (host_) host_->on_data(c, bytes.substr(i));
            return;
        }
        hooks_.data_text_in(c, bytes.substr(i, 1));
        if (host_) host_->on_data(c, bytes.substr(i, 1));
        ++i;
    }
}

void LiveTransport::on_peer_closed(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    it->second.peer_fin = true;
    const bool data = it->second.purpose.data;
    hooks_.ended(c, data, false, false, 0);
    if (host_) host_->on_peer_closed(c);
    // A control connection the peer closed is closed here too once its replies are written.
    if (!data && conns_.count(c)) release_control(c);
    maybe_release(c);
}

void LiveTransport::on_reset(ConnId c, int err) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    const bool data = it->second.purpose.data;
    hooks_.ended(c, data, false, true, err);
    forget(c);
    if (host_) host_->on_reset(c);
}

void LiveTransport::on_fin_sent(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    it->second.fin_sent = true;
    const bool releasing = it->second.releasing;
    if (!it->second.peer_fin || it->second.purpose.data) hooks_.ended(c, it->second.purpose.data, true, false, 0);
    if (releasing) {
        forget(c);  // the socket is closed right after this
        if (host_) host_->on_released(c);
    }
}

void LiveTransport::release_control(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    it->second.releasing = true;
    t_.close_and_release(c);
}

void LiveTransport::on_drained(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    const bool data = it->second.purpose.data;
    if (host_) host_->on_drained(c);
    // Everything we sent is acknowledged: like a blocking close() returning, the descriptor goes.
    if (data && conns_.count(c)) {
        t_.release(c);
        forget(c);
        if (host_) host_->on_released(c);
    }
}

void LiveTransport::on_sent(ConnId c, std::size_t n) {
    auto it = conns_.find(c);
    if (it == conns_.end() || !it->second.purpose.data) return;
    std::size_t text = 0;
    if (auto t = text_out_.find(c); t != text_out_.end()) {
        text = std::min(n, t->second);
        t->second -= text;
        if (t->second == 0) text_out_.erase(t);
    }
    if (n > text) hooks_.data_out(c, n - text);
}

void LiveTransport::on_empty(ConnId c) {
    if (host_ && conns_.count(c)) host_->on_writable(c);
}

void LiveTransport::maybe_release(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end() || !it->second.peer_fin || !it->second.fin_sent) return;
    if (t_.sending(c)) return;
    t_.release(c);
    forget(c);
    if (host_) host_->on_released(c);
}

void LiveTransport::forget(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    const bool data = it->second.purpose.data;
    conns_.erase(it);
    text_out_.erase(c);
    remotes_.erase(c);
    hooks_.gone(c, data);
}

void LiveTransport::shutdown_all() {
    std::vector<ConnId> cs;
    for (const auto& [c, st] : conns_) cs.push_back(c);
    for (ConnId c : cs) {
        auto it = conns_.find(c);
        if (it == conns_.end()) continue;
        const bool data = it->second.purpose.data;
        if (!data && t_.exists(c)) {
            t_.pause_writing(c, false);
            t_.flush(c);
        }
        if (t_.exists(c)) {
            if (data) t_.abort(c);
            else t_.release(c);
        }
        forget(c);
    }
    t_.close_all(true);
    listeners_.clear();
}

// ---- for the live server / client ------------------------------------------------------------

void LiveTransport::reset_now(ConnId c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    const bool data = it->second.purpose.data;
    hooks_.ended(c, data, true, true, 0);
    t_.abort(c);
    forget(c);
    if (host_) host_->on_reset(c);
}

void LiveTransport::end_control(ConnId c, const std::string& last) {
    if (!conns_.count(c)) return;
    if (!last.empty()) t_.send(c, last);
    t_.pause_writing(c, false);
    t_.pause_reading(c, true);
    if (host_) host_->on_peer_closed(c);  // the session ends; its data connections go
    if (conns_.count(c)) release_control(c);
}

void LiveTransport::hold(ConnId c, bool held) {
    t_.pause_reading(c, held);
    t_.pause_writing(c, held);
    if (!held) t_.flush(c);  // what waited goes out now, before anything new is read
}

std::vector<ConnId> LiveTransport::idle_data(std::int64_t before) const {
    std::vector<ConnId> out;
    for (const auto& [c, st] : conns_)
        if (st.purpose.data)
            if (auto i = t_.info(c); i && !i->connecting && i->last_progress < before) out.push_back(c);
    return out;
}

std::int64_t LiveTransport::last_progress(ConnId c) const {
    auto i = t_.info(c);
    return i ? i->last_progress : 0;
}

}  // namespace ftpsim::live
