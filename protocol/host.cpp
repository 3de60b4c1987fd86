#include "protocol/host.hpp"

#include <algorithm>
#include <type_traits>

#include "protocol/client.hpp"
#include "protocol/server.hpp"

namespace ftpsim::proto {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

// ---- the session kinds -----------------------------------------------------------------------

std::optional<SessionAction> HostedServer::poll_action() { return server_.poll_action(); }

std::optional<SessionId> HostedServer::accept(Time now, const HostPort& local, const HostPort& remote) {
    return server_.accept(now, local, remote);
}

void HostedServer::control_bytes(Time now, SessionId sid, std::string_view bytes) {
    server_.receive_control(now, sid, bytes);
}

void HostedServer::control_ended(Time now, SessionId sid, ControlEnd) { server_.control_closed(now, sid); }

void HostedServer::data_event(Time now, SessionId sid, const DataEvent& e) { server_.receive_data(now, sid, e); }

Time HostedServer::next_expiry() const { return server_.next_expiry(); }

void HostedServer::on_timer(Time now) { server_.on_timer(now); }

void HostedServer::session_finished(SessionId sid) { server_.release(sid); }

std::optional<SessionAction> HostedClient::poll_action() {
    auto a = session_->poll_action();
    if (!a) return std::nullopt;
    return SessionAction{kControl, std::move(*a)};
}

void HostedClient::control_connected(Time now, SessionId, const HostPort& local, const HostPort& remote) {
    session_->on_connected(local, remote, now);
}

void HostedClient::control_bytes(Time now, SessionId, std::string_view bytes) {
    session_->receive_control(bytes, now);
}

void HostedClient::control_ended(Time now, SessionId, ControlEnd) { session_->on_control_closed(now); }

void HostedClient::data_event(Time now, SessionId, const DataEvent& e) {
    // The client waits for the server's reply, not for its own ACKs.
    if (std::holds_alternative<DataDrained>(e)) return;
    session_->on_data_event(e, now);
}

Time HostedClient::next_expiry() const { return session_->next_expiry(); }

void HostedClient::on_timer(Time now) { session_->on_timer(now); }

std::optional<SessionAction> HostedThirdParty::poll_action() {
    auto ra = client_.poll_action();
    if (!ra) return std::nullopt;
    return SessionAction{ra->control, std::move(ra->action)};
}

void HostedThirdParty::control_connected(Time now, SessionId sid, const HostPort& local, const HostPort& remote) {
    client_.on_connected(static_cast<ControlId>(sid), local, remote, now);
}

void HostedThirdParty::control_bytes(Time now, SessionId sid, std::string_view bytes) {
    client_.receive_control(static_cast<ControlId>(sid), bytes, now);
}

void HostedThirdParty::control_ended(Time now, SessionId sid, ControlEnd) {
    client_.on_control_closed(static_cast<ControlId>(sid), now);
}

// ---- the host --------------------------------------------------------------------------------

SessionHost::SessionHost(Transport& transport, HostedSessions& sessions, HostOptions options)
    : t_(transport), sessions_(sessions), opt_(std::move(options)) {}

ListenOutcome SessionHost::listen_control(const IpAddress& addr, std::uint16_t port) {
    auto r = t_.listen(addr, port, port, SocketPurpose{});
    control_listener_ = r.id;
    return r;
}

void SessionHost::stop_listening_control() {
    if (control_listener_ >= 0) t_.stop_listening(control_listener_);
    control_listener_ = -1;
}

ConnHandle SessionHost::connect_control(SessionId sid, const IpAddress& local, std::uint16_t local_port,
                                        const HostPort& remote) {
    if (auto old = conn_of_session_.find(sid); old != conn_of_session_.end()) {
        session_of_conn_.erase(old->second);
        control_gone_.erase(old->second);
    }
    control_ends_.erase(sid);
    closing_control_.erase(sid);
    const ConnHandle c = t_.connect(local, local_port, remote, SocketPurpose{});
    session_of_conn_[c] = sid;
    conn_of_session_[sid] = c;
    return c;
}

std::optional<ConnHandle> SessionHost::control_of(SessionId sid) const {
    auto it = conn_of_session_.find(sid);
    if (it == conn_of_session_.end()) return std::nullopt;
    return it->second;
}

ConnHandle SessionHost::data_conn(const DataKey& key) const {
    auto it = data_conn_.find(key);
    return it == data_conn_.end() ? -1 : it->second;
}

IpAddress SessionHost::control_local(SessionId sid) const {
    if (auto it = control_ends_.find(sid); it != control_ends_.end()) return it->second.local.addr;
    if (auto c = control_of(sid)) return t_.ends(*c).local.addr;
    return opt_.fallback_local;
}

// ---- transport events

void SessionHost::on_accept(ListenerHandle l, ConnHandle c, const HostPort& local, const HostPort& remote) {
    if (l == control_listener_) {
        if (auto sid = sessions_.accept(t_.now(), local, remote)) {
            session_of_conn_[c] = *sid;
            conn_of_session_[*sid] = c;
            control_ends_[*sid] = Transport::Ends{local, remote, true};
        }
    } else if (auto q = queued_.find(l); q != queued_.end()) {
        q->second.push_back(c);
        t_.connection_queued(remote, local);
        return;
    } else if (auto it = data_of_listener_.find(l); it != data_of_listener_.end()) {
        const DataKey key = it->second;
        data_conn_[key] = c;
        DataConn& d = data_of_conn_[c];
        d.key = key;
        d.opened = true;
        sessions_.data_event(t_.now(), key.first, DataConnected{key.second, local, remote});
    } else {
        return;
    }
    pump();
}

void SessionHost::data_event(const DataKey& key, const DataEvent& e) {
    sessions_.data_event(t_.now(), key.first, e);
    pump();
}

void SessionHost::on_connected(ConnHandle c) {
    const auto ends = t_.ends(c);
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        control_ends_[sc->second] = ends;
        sessions_.control_connected(t_.now(), sc->second, ends.local, ends.remote);
        pump();
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        it->second.opened = true;
        data_event(it->second.key, DataConnected{it->second.key.second, ends.local, ends.remote});
    }
}

void SessionHost::on_refused(ConnHandle c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        finished(c);  // no further event: the session's entries go after it reacted
        sessions_.control_ended(t_.now(), sc->second, ControlEnd::Refused);
        pump();
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        finished(c);
        data_event(it->second.key, DataRefused{it->second.key.second});
    }
}

void SessionHost::on_unreachable(ConnHandle c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        finished(c);  // no further event: the session's entries go after it reacted
        sessions_.control_ended(t_.now(), sc->second, ControlEnd::Unreachable);
        pump();
    } else {
        on_refused(c);  // a data connection: no route is handled as a refusal
    }
}

void SessionHost::on_timeout(ConnHandle c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        finished(c);  // no further event: the session's entries go after it reacted
        sessions_.control_ended(t_.now(), sc->second, ControlEnd::TimedOut);
        pump();
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        const DataId id = it->second.key.second;
        finished(c);  // the transport gave up on it
        if (it->second.opened && opt_.open_timeout_is_reset) data_event(it->second.key, DataReset{id});
        else data_event(it->second.key, DataTimedOut{id});
    }
}

void SessionHost::on_data(ConnHandle c, std::string_view bytes) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        sessions_.control_bytes(t_.now(), sc->second, bytes);
        pump();
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        const DataKey key = it->second.key;
        if (auto sink = it->second.sink) {
            const bool ok = sink->write(bytes);
            data_event(key, DataStored{key.second, bytes.size(), !ok});
        } else {
            data_event(key, DataBytes{key.second, std::string(bytes)});
        }
    }
}

void SessionHost::on_peer_closed(ConnHandle c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        control_gone_.insert(c);
        control_finished_if_done(c);
        sessions_.control_ended(t_.now(), sc->second, ControlEnd::PeerClosed);
        pump();
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        it->second.sink.reset();  // the peer sends nothing more: the sink is the session's now
        it->second.peer_closed = true;
        data_finished_if_done(c);
        data_event(it->second.key, DataClosed{it->second.key.second});
    }
}

void SessionHost::on_reset(ConnHandle c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        finished(c);  // no further event: the session's entries go after it reacted
        sessions_.control_ended(t_.now(), sc->second, ControlEnd::Reset);
        pump();
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        it->second.out.clear();
        it->second.sink.reset();  // nothing more arrives: the sink's resources go (live: a staging file)
        finished(c);
        data_event(it->second.key, DataReset{it->second.key.second});
    }
}

void SessionHost::on_drained(ConnHandle c) {
    if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        if (it->second.closed) it->second.drained = true;  // our FIN is acknowledged
        data_finished_if_done(c);
        data_event(it->second.key, DataDrained{it->second.key.second});
    }
}

void SessionHost::on_released(ConnHandle c) {
    if (session_of_conn_.count(c) || data_of_conn_.count(c)) {
        finished(c);
        pump();
    }
}

void SessionHost::on_writable(ConnHandle c) {
    if (data_of_conn_.count(c)) feed(c);
    pump();
}

void SessionHost::on_timer() {
    timer_at_ = kNever;
    sessions_.on_timer(t_.now());
    pump();
}

// ---- actions

void SessionHost::pump() {
    if (pumping_) return;  // an event during an action: the loop below picks up its actions
    pumping_ = true;
    while (auto sa = sessions_.poll_action()) {
        if (auto* hand = std::get_if<BecomeDataConnection>(&sa->what)) become_data(sa->session, *hand);
        else apply(sa->session, std::get<Action>(sa->what));
    }
    pumping_ = false;
    const Time next = sessions_.next_expiry();
    if (next != timer_at_) {
        timer_at_ = next;
        t_.set_timer(next);
    }
    sessions_.settled(t_.now());
    if (pumping_) return;
    for (ConnHandle c : std::exchange(finished_, {})) forget_conn(c);
    // A handed-over SPSV session is done as a session (its connection is now its owner's data
    // connection): released here, after the pump, as the live server releases it at the hand-over.
    for (SessionId sid : std::exchange(handed_over_, {}))
        if (!holds_session(sid)) sessions_.session_finished(sid);
}

// SPSV: this control connection now carries the owner's data (draft-rosenau 3.2).
void SessionHost::become_data(SessionId sid, const BecomeDataConnection& b) {
    auto it = conn_of_session_.find(sid);
    if (it == conn_of_session_.end()) return;
    const ConnHandle c = it->second;
    session_of_conn_.erase(c);
    conn_of_session_.erase(it);
    control_ends_.erase(sid);
    closing_control_.erase(sid);
    control_gone_.erase(c);
    const DataKey key{b.owner, b.id};
    data_conn_[key] = c;
    DataConn& d = data_of_conn_[c];
    d.key = key;
    d.opened = true;
    t_.file_data_from_now(c);  // "220", "SPDT id" and "200 DATA" were control text
    auto owner = control_of(b.owner);
    t_.relabel_as_data(c, owner ? *owner : -1);
    handed_over_.push_back(sid);
}

void SessionHost::apply(SessionId sid, const Action& action) {
    const auto control = control_of(sid);
    std::visit(
        Overloaded{
            [&](const SendControl& a) {
                if (control && !closing_control_.count(sid)) t_.send(*control, sessions_.control_out(sid, a.bytes));
            },
            [&](const Listen& a) {
                const IpAddress addr = a.addr.is_unspecified() ? control_local(sid) : a.addr;
                std::uint16_t lo = a.port_lo, hi = a.port_hi;
                if (lo == 0 && hi == 0 && opt_.data_ports.first) lo = opt_.data_ports.first, hi = opt_.data_ports.second;
                auto r = t_.listen(addr, lo, hi, SocketPurpose{true, control.value_or(-1), false});
                if (!r) {
                    sessions_.data_event(t_.now(), sid, DataListenFailed{a.id});
                    return;
                }
                listener_of_[{sid, a.id}] = r.id;
                data_of_listener_[r.id] = {sid, a.id};
                sessions_.data_event(t_.now(), sid, DataListening{a.id, {addr, r.port}});
            },
            [&](const StopListening& a) {
                auto it = listener_of_.find({sid, a.id});
                if (it == listener_of_.end()) return;
                if (opt_.linger_passive_listeners && data_conn_.count({sid, a.id})) {
                    lingering_[{sid, a.id}] = it->second;
                    queued_[it->second];
                } else {
                    t_.stop_listening(it->second);
                }
                data_of_listener_.erase(it->second);
                listener_of_.erase(it);
            },
            [&](const Connect& a) {
                // A pinned data port (the lecture deck's "Port 1121") is used for passive connects too.
                const std::uint16_t port = a.local_port.value_or(opt_.data_ports.first);
                SocketPurpose p{true, control.value_or(-1), false};
                p.record_payload = a.single_port;  // the SPDT handshake is control text
                const ConnHandle c = t_.connect(control_local(sid), port, a.remote, p);
                data_conn_[{sid, a.id}] = c;
                DataConn& d = data_of_conn_[c];
                d = DataConn{};
                d.key = {sid, a.id};
                d.single_port = a.single_port;
            },
            [&](const SendData& a) {
                const ConnHandle c = data_conn({sid, a.id});
                if (c < 0) return;
                Outgoing o;
                o.text = a.bytes;
                data_of_conn_[c].out.push_back(std::move(o));
                feed(c);
            },
            [&](const SendFile& a) {
                const ConnHandle c = data_conn({sid, a.id});
                if (c < 0 || !a.source) return;
                DataConn& d = data_of_conn_[c];
                if (std::exchange(d.single_port, false)) t_.file_data_from_now(c);
                Outgoing o;
                o.source = a.source;
                o.offset = std::min(a.offset, a.source->size());
                o.end = a.source->size();
                d.out.push_back(std::move(o));
                feed(c);
            },
            [&](const ReceiveInto& a) {
                const ConnHandle c = data_conn({sid, a.id});
                if (c < 0) return;
                DataConn& d = data_of_conn_[c];
                if (std::exchange(d.single_port, false)) t_.file_data_from_now(c);
                d.sink = a.sink;
            },
            [&](const CloseData& a) {
                const ConnHandle c = data_conn({sid, a.id});
                if (c >= 0) {
                    DataConn& d = data_of_conn_[c];
                    if (a.abort) {
                        d.out.clear();
                        d.sink.reset();
                        t_.abort(c);
                        finished(c);  // no further event for c
                    } else if (!d.out.empty()) {
                        d.out.back().close = true;  // after the file's last byte
                    } else {
                        close_data(c);
                    }
                }
                close_lingering({sid, a.id});
            },
            [&](const CloseControl& a) {
                if (!control || closing_control_.count(sid)) return;
                closing_control_.insert(sid);
                a.abort ? t_.abort(*control) : t_.close(*control);
                if (a.abort) finished(*control);
                else control_finished_if_done(*control);
            },
            [&](const Explain& a) { t_.explain(a); },
        },
        action);
}

// Writes what c takes now: protocol text at once, a file in chunks of what the transport's send
// buffer has room for (the rest at on_writable), then the close that waited for it.
void SessionHost::feed(ConnHandle c) {
    auto it = data_of_conn_.find(c);
    if (it == data_of_conn_.end()) return;
    DataConn& d = it->second;
    while (!d.out.empty()) {
        Outgoing& o = d.out.front();
        if (!o.text.empty()) t_.send(c, std::exchange(o.text, {}));
        while (o.source && o.offset < o.end) {
            const std::uint64_t space = t_.send_space(c);
            if (space == 0) return;  // on_writable brings us back
            const std::uint64_t n = std::min(space, o.end - o.offset);
            const std::string chunk = o.source->read(o.offset, static_cast<std::size_t>(n));
            if (chunk.empty()) {  // the source ended early: send what there was
                o.end = o.offset;
                break;
            }
            t_.send(c, chunk);
            o.offset += chunk.size();
            o.sent += chunk.size();
        }
        const bool close = o.close;
        const bool file = o.source != nullptr;
        const std::uint64_t sent = o.sent;
        const DataKey key = d.key;
        d.out.pop_front();
        if (close) close_data(c);
        if (file) sessions_.data_event(t_.now(), key.first, DataSent{key.second, sent});
        it = data_of_conn_.find(c);  // the session may have reacted
        if (it == data_of_conn_.end()) return;
    }
}

// The transfer is over: the passive listener closes, and the kernel resets every connection
// still waiting in its queue.
void SessionHost::close_lingering(const DataKey& key) {
    auto it = lingering_.find(key);
    if (it == lingering_.end()) return;
    const ListenerHandle l = it->second;
    lingering_.erase(it);
    t_.stop_listening(l);
    for (ConnHandle q : queued_[l]) t_.queued_connection_reset(q);
    queued_.erase(l);
}

// ---- faults and retries

void SessionHost::stop_all_listeners() {
    stop_listening_control();
    for (const auto& [l, key] : data_of_listener_) t_.stop_listening(l);
    data_of_listener_.clear();
    listener_of_.clear();
    for (const auto& [key, l] : std::map<DataKey, ListenerHandle>(lingering_)) close_lingering(key);
}

void SessionHost::reset_data_connections(const std::function<void(const Transport::Ends&)>& before) {
    for (const auto& [key, c] : std::map<DataKey, ConnHandle>(data_conn_)) {
        const auto ends = t_.ends(c);
        if (!ends.open) continue;
        if (before) before(ends);
        t_.abort(c);
        if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) it->second.out.clear();
        finished(c);
        sessions_.data_event(t_.now(), key.first, DataReset{key.second});
    }
    pump();
}

void SessionHost::abort_all_data() {
    for (const auto& [key, c] : std::map<DataKey, ConnHandle>(data_conn_))
        if (t_.ends(c).open) t_.abort(c);
    for (const auto& [key, l] : std::map<DataKey, ListenerHandle>(listener_of_)) t_.stop_listening(l);
    data_conn_.clear();  // no further event for any of them
    data_of_conn_.clear();
    listener_of_.clear();
    data_of_listener_.clear();
}

void SessionHost::forget_data() {
    for (const auto& [key, l] : listener_of_) t_.stop_listening(l);
    data_conn_.clear();
    data_of_conn_.clear();
    listener_of_.clear();
    data_of_listener_.clear();
}

}  // namespace ftpsim::proto

namespace ftpsim::proto {

// ---- forgetting (issue #17: the maps hold only what is open, listening or queued)

void SessionHost::close_data(ConnHandle c) {
    t_.close(c);
    if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        it->second.closed = true;
        it->second.drained = false;  // a drain before our FIN does not count
    }
}

void SessionHost::data_finished_if_done(ConnHandle c) {
    auto it = data_of_conn_.find(c);
    if (it == data_of_conn_.end()) return;
    const DataConn& d = it->second;
    if (d.closed && d.drained && d.peer_closed && d.out.empty()) finished(c);
}

void SessionHost::control_finished_if_done(ConnHandle c) {
    auto it = session_of_conn_.find(c);
    if (it == session_of_conn_.end()) return;
    if (control_gone_.count(c) && closing_control_.count(it->second)) finished(c);
}

void SessionHost::forget_conn(ConnHandle c) {
    std::optional<SessionId> owner;
    if (auto it = session_of_conn_.find(c); it != session_of_conn_.end()) {
        const SessionId sid = it->second;
        owner = sid;
        session_of_conn_.erase(it);
        if (auto s = conn_of_session_.find(sid); s != conn_of_session_.end() && s->second == c) {
            conn_of_session_.erase(s);
            control_ends_.erase(sid);
            closing_control_.erase(sid);
        }
    }
    control_gone_.erase(c);
    if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        const DataKey key = it->second.key;
        owner = key.first;
        data_of_conn_.erase(it);
        if (auto k = data_conn_.find(key); k != data_conn_.end() && k->second == c) data_conn_.erase(k);
    }
    if (owner && !holds_session(*owner)) sessions_.session_finished(*owner);
}

bool SessionHost::holds_session(SessionId sid) const {
    if (conn_of_session_.count(sid)) return true;
    const DataKey first{sid, 0};
    auto held = [&](const auto& by_key) {
        auto it = by_key.lower_bound(first);
        return it != by_key.end() && it->first.first == sid;
    };
    return held(data_conn_) || held(listener_of_) || held(lingering_);
}

std::size_t SessionHost::tracked() const {
    std::size_t queued = 0;
    for (const auto& [l, q] : queued_) queued += 1 + q.size();
    return session_of_conn_.size() + conn_of_session_.size() + control_ends_.size() + data_conn_.size() +
           data_of_conn_.size() + listener_of_.size() + data_of_listener_.size() + lingering_.size() + queued +
           closing_control_.size() + control_gone_.size() + finished_.size();
}

}  // namespace ftpsim::proto
