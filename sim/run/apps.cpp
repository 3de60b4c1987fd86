#include "sim/run/apps.hpp"

#include <variant>

#include "protocol/codec.hpp"

namespace ftpsim::sim {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

net::SocketOptions data_socket(net::ConnId control) {
    net::SocketOptions o;
    o.purpose = "data";
    o.control_conn = control;
    o.record_payload = false;  // file bytes stay out of the trace; exporters synthesise them
    return o;
}

trace::Endpoint ep(const proto::HostPort& hp) { return {hp.addr.to_string(), hp.port}; }

// A typed note (trace::Fact and its fields; the recorder renders the sentence).
trace::Event fact(trace::Fact f, const proto::HostPort& a = {}, const proto::HostPort& b = {}) {
    trace::Event e;
    e.fact = f;
    if (!a.addr.is_unspecified() || a.port) e.src = ep(a);
    if (!b.addr.is_unspecified() || b.port) e.dst = ep(b);
    return e;
}

// The protocol core's narration, with the kind of decision it explains.
trace::Event explain_fact(const proto::Explain& a) {
    trace::Event e;
    switch (a.kind) {
    case proto::ExplainKind::Other: e.fact = trace::Fact::Explain; break;
    case proto::ExplainKind::GiveUp: e.fact = trace::Fact::ClientGiveUp; break;
    case proto::ExplainKind::FallBack: e.fact = trace::Fact::ClientFallBack; break;
    case proto::ExplainKind::Retry: e.fact = trace::Fact::ClientRetry; break;
    case proto::ExplainKind::PassiveExhausted: e.fact = trace::Fact::ServerPassiveExhausted; break;
    case proto::ExplainKind::RefusedAddress: e.fact = trace::Fact::ServerRefusedAddress; break;
    case proto::ExplainKind::RefusedDataPeer: e.fact = trace::Fact::ServerRefusedDataPeer; break;
    case proto::ExplainKind::DiskFull: e.fact = trace::Fact::ServerDiskFull; break;
    case proto::ExplainKind::UserLimit: e.fact = trace::Fact::ServerUserLimit; break;
    }
    e.text = a.text;
    e.timeout_ns = a.timeout_ns;
    return e;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

ServerApp::ServerApp(net::Network& net, std::string node, proto::ServerConfig config, proto::Vfs vfs,
                     std::uint64_t seed, proto::IpAddress listen_addr, std::uint16_t port)
    : net_(net),
      node_(std::move(node)),
      rng_(seed),
      server_(std::move(config), std::move(vfs), [this] { return rng_.next(); }),
      listen_addr_(listen_addr),
      port_(port) {}

void ServerApp::start(net::Stack& s) {
    net::SocketOptions o;
    o.purpose = "control";
    auto r = s.listen(listen_addr_, port_, port_, this, o);
    if (!r) start_error = r.error;
    control_listener_ = r.id;
    s.note(fact(trace::Fact::ServerListening, proto::HostPort{listen_addr_, port_}));
}

// The server process stops: its sessions end as the profile says (421 or a plain close), and its
// listening sockets close with it, so until restart() a new connection is refused with a RST
// (ECONNREFUSED), as for a stopped daemon.
void ServerApp::shutdown(net::Stack& s) {
    s.note(fact(trace::Fact::FaultServerStop, proto::HostPort{listen_addr_, port_}));
    server_.shutdown(s.now());
    pump(s);
    if (control_listener_ >= 0) s.stop_listening(control_listener_);
    control_listener_ = -1;
    for (const auto& [l, key] : data_of_listener_) s.stop_listening(l);
    data_of_listener_.clear();
    listener_of_.clear();
    for (const auto& [key, l] : std::map<DataKey, net::ListenerId>(lingering_)) close_lingering(s, key);
}

void ServerApp::restart(net::Stack& s) {
    s.note(fact(trace::Fact::FaultServerBack, proto::HostPort{listen_addr_, port_}));
    server_.restart(s.now());
    net::SocketOptions o;
    o.purpose = "control";
    auto r = s.listen(listen_addr_, port_, port_, this, o);
    control_listener_ = r.id;
    pump(s);
}

void ServerApp::fill_disk(net::Stack& s) {
    s.note(fact(trace::Fact::FaultDiskFull));
    server_.vfs().set_quota(server_.vfs().used());
}

void ServerApp::on_accept(net::Stack& s, net::ListenerId l, net::ConnId c, const net::HostPort& local,
                          const net::HostPort& remote) {
    if (l == control_listener_) {
        proto::SessionId sid = server_.accept(s.now(), local, remote);
        session_of_conn_[c] = sid;
        conn_of_session_[sid] = c;
    } else if (auto q = queued_.find(l); q != queued_.end()) {
        q->second.push_back(c);
        s.note(fact(trace::Fact::ListenQueue, remote, local));
        return;
    } else if (auto it = data_of_listener_.find(l); it != data_of_listener_.end()) {
        DataKey key = it->second;
        data_conn_[key] = c;
        data_of_conn_[c] = key;
        opened_.insert(c);
        server_.receive_data(s.now(), key.first, proto::DataConnected{key.second, local, remote});
    }
    pump(s);
}

void ServerApp::data_event(net::Stack& s, net::ConnId c, const proto::DataEvent& e) {
    auto it = data_of_conn_.find(c);
    if (it == data_of_conn_.end()) return;
    server_.receive_data(s.now(), it->second.first, e);
    pump(s);
}

void ServerApp::on_connected(net::Stack& s, net::ConnId c) {
    auto it = data_of_conn_.find(c);
    if (it == data_of_conn_.end()) return;
    opened_.insert(c);
    auto info = s.info(c);
    data_event(s, c, proto::DataConnected{it->second.second, info.local, info.remote});
}

void ServerApp::on_refused(net::Stack& s, net::ConnId c) {
    if (auto it = data_of_conn_.find(c); it != data_of_conn_.end())
        data_event(s, c, proto::DataRefused{it->second.second});
}

void ServerApp::on_timeout(net::Stack& s, net::ConnId c) {
    if (auto it = data_of_conn_.find(c); it != data_of_conn_.end() && opened_.count(c))
        // An established data connection that times out (no ACK after the retransmissions) makes
        // the server's next write fail with ETIMEDOUT: to the session it is lost like a reset
        // (vsftpd: "426 Failure writing network stream.").
        data_event(s, c, proto::DataReset{it->second.second});
    else if (it != data_of_conn_.end())
        data_event(s, c, proto::DataTimedOut{it->second.second});
    else if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        server_.control_closed(s.now(), sc->second);
        pump(s);
    }
}

void ServerApp::on_data(net::Stack& s, net::ConnId c, std::string_view bytes) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        server_.receive_control(s.now(), sc->second, tls(sc->second).incoming(bytes));
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataBytes{it->second.second, std::string(bytes)});
    }
}

void ServerApp::on_peer_closed(net::Stack& s, net::ConnId c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        server_.control_closed(s.now(), sc->second);
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataClosed{it->second.second});
    }
}

void ServerApp::on_reset(net::Stack& s, net::ConnId c) {
    if (auto sc = session_of_conn_.find(c); sc != session_of_conn_.end()) {
        server_.control_closed(s.now(), sc->second);
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataReset{it->second.second});
    }
}

// The file's bytes and the FIN are acknowledged: a sending session answers 226 now.
void ServerApp::on_drained(net::Stack& s, net::ConnId c) {
    if (auto it = data_of_conn_.find(c); it != data_of_conn_.end())
        data_event(s, c, proto::DataDrained{it->second.second});
}

void ServerApp::apply(net::Stack& s, proto::SessionId sid, const proto::Action& action) {
    auto control = [&]() -> net::ConnId {
        auto it = conn_of_session_.find(sid);
        return it == conn_of_session_.end() ? -1 : it->second;
    };
    auto data = [&](proto::DataId id) -> net::ConnId {
        auto it = data_conn_.find({sid, id});
        return it == data_conn_.end() ? -1 : it->second;
    };
    std::visit(
        Overloaded{
            [&](const proto::SendControl& a) {
                if (control() >= 0) s.send(control(), tls(sid).outgoing(a.bytes));
            },
            [&](const proto::Listen& a) {
                auto* session = server_.session(sid);
                proto::IpAddress addr = a.addr.is_unspecified() && session ? session->control_local().addr : a.addr;
                auto r = s.listen(addr, a.port_lo, a.port_hi, this, data_socket(control()));
                if (!r) {
                    server_.receive_data(s.now(), sid, proto::DataListenFailed{a.id});
                    return;
                }
                listener_of_[{sid, a.id}] = r.id;
                data_of_listener_[r.id] = {sid, a.id};
                server_.receive_data(s.now(), sid, proto::DataListening{a.id, {addr, r.port}});
            },
            [&](const proto::StopListening& a) {
                if (auto it = listener_of_.find({sid, a.id}); it != listener_of_.end()) {
                    bool linger = listen_queue_ && data_conn_.count({sid, a.id}) &&
                                  !server_.config().profile.reject_foreign_at_accept;
                    if (linger) {
                        lingering_[{sid, a.id}] = it->second;
                        queued_[it->second];
                    } else {
                        s.stop_listening(it->second);
                    }
                    data_of_listener_.erase(it->second);
                    listener_of_.erase(it);
                }
            },
            [&](const proto::Connect& a) {
                auto* session = server_.session(sid);
                proto::IpAddress local = session ? session->control_local().addr : listen_addr_;
                net::ConnId c = s.connect(local, a.local_port.value_or(0), a.remote, this, data_socket(control()));
                data_conn_[{sid, a.id}] = c;
                data_of_conn_[c] = {sid, a.id};
            },
            [&](const proto::SendData& a) {
                if (data(a.id) >= 0) s.send(data(a.id), a.bytes);
            },
            [&](const proto::CloseData& a) {
                net::ConnId c = data(a.id);
                if (c >= 0) a.abort ? s.abort(c) : s.close(c);
                close_lingering(s, {sid, a.id});
            },
            [&](const proto::CloseControl& a) {
                if (control() < 0) return;
                a.abort ? s.abort(control()) : s.close(control());
            },
            [&](const proto::Explain& a) { s.note(explain_fact(a)); },
        },
        action);
}

// The transfer is over: the passive listener closes, and the kernel resets every connection
// still waiting in its queue.
void ServerApp::close_lingering(net::Stack& s, const DataKey& key) {
    auto it = lingering_.find(key);
    if (it == lingering_.end()) return;
    net::ListenerId l = it->second;
    lingering_.erase(it);
    s.stop_listening(l);
    for (net::ConnId q : queued_[l]) {
        auto info = s.info(q);
        s.note(fact(trace::Fact::PassiveClosed, info.remote, info.local));
        s.abort(q);
    }
    queued_.erase(l);
}

void ServerApp::pump(net::Stack& s) {
    for (;;) {
        auto actions = server_.take_actions();
        if (actions.empty()) break;
        for (const auto& sa : actions) {
            if (auto* hand = std::get_if<proto::BecomeDataConnection>(&sa.what)) {
                // SPSV: this control connection now carries the owner's data (draft-rosenau 3.2).
                net::ConnId c = conn_of_session_[sa.session];
                session_of_conn_.erase(c);
                conn_of_session_.erase(sa.session);
                data_conn_[{hand->owner, hand->id}] = c;
                data_of_conn_[c] = {hand->owner, hand->id};
                opened_.insert(c);
                s.file_data_from_now(c);  // "220", "SPDT id" and "200 DATA" were control text
                net_.label_connection(c, "data", conn_of_session_.count(hand->owner) ? conn_of_session_[hand->owner] : -1);
                continue;
            }
            apply(s, sa.session, std::get<proto::Action>(sa.what));
        }
    }
    timer_.arm(s, server_.next_expiry(), [this, &s] {
        server_.on_timer(s.now());
        pump(s);
    });
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

ClientApp::ClientApp(net::Network& net, std::string node, proto::ClientConfig config,
                     proto::IpAddress local, proto::HostPort server, std::uint16_t local_port,
                     std::pair<std::uint16_t, std::uint16_t> data_ports)
    : net_(net), node_(std::move(node)), config_(std::move(config)), session_(config_), local_(local), server_(server),
      local_port_(local_port), data_ports_(data_ports) {}

void ClientApp::start(net::Stack& s) {
    net::SocketOptions o;
    o.purpose = "control";
    control_ = s.connect(local_, local_port_, server_, this, o);
    try_start_ = s.now();
    const auto& profile = session_.profile();
    const auto secs = [](proto::Time t) { return std::to_string(t / 1'000'000'000) + " s"; };
    if (profile.connect_timeout > 0) {
        // curl --connect-timeout, ftplib timeout, lftp net:timeout: the client stops waiting
        // for its control connection before TCP gives up.
        s.schedule(s.now() + profile.connect_timeout, [this, &s, secs, t = profile.connect_timeout, try_no = tries_] {
            if (try_no != tries_ || control_open_ || !control_failure_.empty() || session_.finished()) return;
            trace::Event e = fact(trace::Fact::ClientGiveUp, {}, server_);
            e.timeout_ns = t;
            e.state = "connect-timeout";
            e.text = "the client gives up connecting to " + server_.to_string() + " after " + secs(t) + " (" +
                     std::string(session_.profile().name) + " connect timeout)";
            s.note(std::move(e));
            s.close(control_);
            control_failed(s, "the control connection to " + server_.to_string() + " was not up within " + secs(t) +
                                  " (the client's connect timeout)");
        });
    }
    if (profile.max_time > 0 && tries_ == 1) {
        // curl --max-time: the whole operation has this long; then curl closes its connections.
        s.schedule(s.now() + profile.max_time, [this, &s, secs, t = profile.max_time] {
            if (session_.finished()) return;
            trace::Event e = fact(trace::Fact::ClientGiveUp, {}, server_);
            e.timeout_ns = t;
            e.state = "max-time";
            e.text = "the client gives up: --max-time " + secs(t) + " reached (curl exits with 28)";
            s.note(std::move(e));
            for (auto [id, c] : std::map<proto::DataId, net::ConnId>(data_conn_))
                if (s.info(c).open) s.abort(c);
            for (auto [id, l] : std::map<proto::DataId, net::ListenerId>(listener_of_)) s.stop_listening(l);
            if (control_failure_.empty()) control_failure_ = "the operation did not finish within " + secs(t) + " (max-time)";
            if (control_open_) {
                control_open_ = false;
                s.close(control_);
            }
            session_.on_control_closed(s.now());
            pump(s);
        });
    }
}

void ClientApp::on_accept(net::Stack& s, net::ListenerId l, net::ConnId c, const net::HostPort& local,
                          const net::HostPort& remote) {
    auto it = data_of_listener_.find(l);
    if (it == data_of_listener_.end()) return;
    data_conn_[it->second] = c;
    data_of_conn_[c] = it->second;
    session_.on_data_event(proto::DataConnected{it->second, local, remote}, s.now());
    pump(s);
}

void ClientApp::data_event(net::Stack& s, net::ConnId c, const proto::DataEvent& e) {
    if (!data_of_conn_.count(c)) return;
    session_.on_data_event(e, s.now());
    // SPSV: once "200 DATA" is in, what the client writes on the connection is file data.
    if (spdt_handshake_.count(c) && session_.data_state() != proto::DataState::SpdtHandshake &&
        session_.data_state() != proto::DataState::ConnectRequested) {
        spdt_handshake_.erase(c);
        s.file_data_from_now(c);
    }
    pump(s);
}

void ClientApp::on_connected(net::Stack& s, net::ConnId c) {
    auto info = s.info(c);
    if (c == control_) {
        control_open_ = true;
        session_.on_connected(info.local, info.remote, s.now());
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataConnected{it->second, info.local, info.remote});
    }
}

void ClientApp::control_failed(net::Stack& s, std::string why) {
    control_failure_ = std::move(why);
    if (retry_control(s)) return;
    session_.on_control_closed(s.now());
    pump(s);
}

bool ClientApp::retry_control(net::Stack& s) {
    const auto& p = config_.profile;
    if (p.max_tries <= 1 || tries_ >= p.max_tries) return false;
    const proto::Time wait = interval_ ? interval_ : p.reconnect_interval_base;
    interval_ = static_cast<proto::Time>(static_cast<double>(wait) * p.reconnect_interval_multiplier);
    if (p.reconnect_interval_max > 0 && interval_ >= p.reconnect_interval_max) interval_ = p.reconnect_interval_base;
    ++tries_;
    trace::Event e = fact(trace::Fact::ClientRetry, {}, server_);
    e.attempt = static_cast<int>(tries_);
    e.timeout_ns = wait;
    e.state = "reconnect";
    e.text = control_failure_ + ": " + std::string(p.name) + " reconnects in " +
             std::to_string(wait / 1'000'000'000) + " s, on a new control connection (try " + std::to_string(tries_) +
             " of net:max-retries " + std::to_string(p.max_tries) + ")";
    s.note(std::move(e));
    s.schedule(s.now() + wait, [this, &s] {
        session_ = proto::ClientSession(config_);
        control_open_ = false;
        control_failure_.clear();
        start(s);
    });
    return true;
}

std::vector<proto::ActionResult> ClientApp::all_results() const {
    std::vector<proto::ActionResult> all = carried_;
    const auto& now = session_.results();
    for (std::size_t i = std::min(skip_, now.size()); i < now.size(); ++i) all.push_back(now[i]);
    return all;
}

void ClientApp::retry_transfer(net::Stack& s) {
    const auto& p = config_.profile;
    const proto::TransferRetry r = *session_.transfer_retry();
    if (p.max_tries <= 1 || tries_ >= p.max_tries) return;
    retry_scheduled_ = true;
    ++tries_;
    // lftp's reconnect timer runs from the previous try's start: at once when that is past.
    const proto::Time at = std::max(s.now(), try_start_ + p.reconnect_interval_base);
    trace::Event e = fact(trace::Fact::ClientRetry, {}, server_);
    e.attempt = static_cast<int>(tries_);
    e.timeout_ns = at - s.now();
    e.state = "retry-transfer";
    const auto ms = [](proto::Time t) { return std::to_string(t / 1'000'000) + " ms"; };
    e.text = std::string(p.name) + " retries the failed transfer on a new control connection in " + ms(at - s.now()) +
             " (net:reconnect-interval-base after the previous try's start; try " + std::to_string(tries_) +
             " of net:max-retries " + std::to_string(p.max_tries) + ")" +
             (r.switched ? std::string(", in ") + proto::to_string(r.mode) + " mode (ftp:auto-passive-mode)" : "");
    s.note(std::move(e));
    s.schedule(at, [this, &s, r] {
        auto all = all_results();
        if (all.size() > r.action_index) all.resize(r.action_index);
        carried_ = std::move(all);
        skip_ = 0;
        for (std::size_t i = 0; i < r.action_index && i < config_.script.size(); ++i)
            if (config_.script[i].kind == proto::UserAction::Kind::Login) ++skip_;
        config_.mode = r.mode;
        config_.resume_at = r.action_index;
        session_ = proto::ClientSession(config_);
        for (auto [id, l] : listener_of_) s.stop_listening(l);
        data_conn_.clear();
        data_of_conn_.clear();
        listener_of_.clear();
        data_of_listener_.clear();
        spdt_handshake_.clear();
        control_open_ = false;
        control_failure_.clear();
        retry_scheduled_ = false;
        start(s);
    });
}

void ClientApp::on_refused(net::Stack& s, net::ConnId c) {
    if (c == control_) {
        control_failed(s, "the control connection to " + server_.to_string() + " was refused");
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataRefused{it->second});
    }
}

void ClientApp::on_unreachable(net::Stack& s, net::ConnId c) {
    if (c != control_) return on_refused(s, c);
    control_failed(s, "the control connection to " + server_.to_string() + " failed: no route (network unreachable)");
}

void ClientApp::on_timeout(net::Stack& s, net::ConnId c) {
    if (c == control_) {
        if (!control_open_) return control_failed(s, "the control connection to " + server_.to_string() + " timed out");
        control_failure_ = "the control connection to " + server_.to_string() + " timed out";
        session_.on_control_closed(s.now());
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataTimedOut{it->second});
    }
}

void ClientApp::on_data(net::Stack& s, net::ConnId c, std::string_view bytes) {
    if (c == control_) {
        session_.receive_control(tls_.incoming(bytes), s.now());
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataBytes{it->second, std::string(bytes)});
    }
}

void ClientApp::on_peer_closed(net::Stack& s, net::ConnId c) {
    if (c == control_) {
        session_.on_control_closed(s.now());
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataClosed{it->second});
    }
}

void ClientApp::on_reset(net::Stack& s, net::ConnId c) {
    if (c == control_) {
        control_failure_ = "the control connection was reset";
        session_.on_control_closed(s.now());
        pump(s);
    } else if (auto it = data_of_conn_.find(c); it != data_of_conn_.end()) {
        data_event(s, c, proto::DataReset{it->second});
    }
}

void ClientApp::pump(net::Stack& s) {
    while (auto action = session_.poll_action()) {
        std::visit(
            Overloaded{
                [&](const proto::SendControl& a) {
                    if (control_open_) s.send(control_, tls_.outgoing(a.bytes));
                },
                [&](const proto::Listen& a) {
                    proto::IpAddress addr = a.addr.is_unspecified() ? s.info(control_).local.addr : a.addr;
                    std::uint16_t lo = a.port_lo, hi = a.port_hi;
                    if (lo == 0 && hi == 0 && data_ports_.first) lo = data_ports_.first, hi = data_ports_.second;
                    auto r = s.listen(addr, lo, hi, this, data_socket(control_));
                    if (!r) {
                        session_.on_data_event(proto::DataListenFailed{a.id}, s.now());
                        return;
                    }
                    listener_of_[a.id] = r.id;
                    data_of_listener_[r.id] = a.id;
                    session_.on_data_event(proto::DataListening{a.id, {addr, r.port}}, s.now());
                },
                [&](const proto::StopListening& a) {
                    if (auto it = listener_of_.find(a.id); it != listener_of_.end()) {
                        s.stop_listening(it->second);
                        data_of_listener_.erase(it->second);
                        listener_of_.erase(it);
                    }
                },
                [&](const proto::Connect& a) {
                    // A pinned data port (the lecture deck's "Port 1121") is used for passive connects too.
                    std::uint16_t port = a.local_port.value_or(data_ports_.first);
                    net::SocketOptions o = data_socket(control_);
                    o.record_payload = a.single_port;  // the SPDT handshake is control text
                    net::ConnId c = s.connect(s.info(control_).local.addr, port, a.remote, this, o);
                    if (a.single_port) spdt_handshake_.insert(c);
                    data_conn_[a.id] = c;
                    data_of_conn_[c] = a.id;
                },
                [&](const proto::SendData& a) {
                    if (auto it = data_conn_.find(a.id); it != data_conn_.end()) s.send(it->second, a.bytes);
                },
                [&](const proto::CloseData& a) {
                    if (auto it = data_conn_.find(a.id); it != data_conn_.end())
                        a.abort ? s.abort(it->second) : s.close(it->second);
                },
                [&](const proto::CloseControl& a) {
                    if (!control_open_) return;
                    control_open_ = false;
                    a.abort ? s.abort(control_) : s.close(control_);
                },
                [&](const proto::Explain& a) { s.note(explain_fact(a)); },
            },
            *action);
    }
    if (!retry_scheduled_ && session_.transfer_retry() && session_.finished()) retry_transfer(s);
    timer_.arm(s, session_.next_expiry(), [this, &s] {
        session_.on_timer(s.now());
        pump(s);
    });
}

void ClientApp::reset_data(net::Stack& s) {
    for (auto [id, c] : std::map<proto::DataId, net::ConnId>(data_conn_)) {
        if (!s.info(c).open) continue;
        s.note(fact(trace::Fact::FaultDataCut, s.info(c).local, s.info(c).remote));
        s.abort(c);
        session_.on_data_event(proto::DataReset{id}, s.now());
    }
    pump(s);
}

ClientReport ClientApp::report() const {
    ClientReport r;
    r.node = node_;
    const auto results = all_results();
    for (const auto& res : results) {
        if (!res.ok) {
            r.all_ok = false;
            r.failures.push_back(res.failure.empty() ? to_string(res.action) + " failed" : res.failure);
        }
        // ls/get/put/append and raw transfer lines ("raw RETR /x"); reply_code is the final
        // reply to the transfer command itself (0 if it was never sent).
        std::string cmd = proto::transfer_verb(res.action);
        if (cmd.empty()) continue;
        trace::Transfer t;
        t.client = node_;
        t.command = std::move(cmd);
        t.path = proto::transfer_path(res.action);
        t.ok = res.ok;
        // The final reply to the transfer command; when it never got that far, the reply that
        // ended it (the 500 to PORT), so the outcome says why.
        t.reply = res.reply_code ? res.reply_code : res.failed_reply;
        t.bytes = res.received.empty() ? res.bytes_sent : res.received.size();
        r.transfers.push_back(t);
    }
    // A client still waiting when the run ended (a reply that never came: "226 never arrives")
    // has not succeeded; its transfer under way is listed as failed with no final reply.
    if (!session_.finished()) {
        r.all_ok = false;
        r.failures.push_back("the client was still waiting for the server when the run ended");
        if (const auto& a = session_.current_action()) {
            std::string cmd = proto::transfer_verb(*a);
            if (!cmd.empty()) {
                trace::Transfer t;
                t.client = node_;
                t.command = std::move(cmd);
                t.path = proto::transfer_path(*a);
                r.transfers.push_back(t);
            }
        }
    }
    if (!control_failure_.empty() && results.empty()) {
        r.all_ok = false;
        r.failures.push_back(control_failure_);
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// Server-to-server
// ---------------------------------------------------------------------------------------------

ThirdPartyApp::ThirdPartyApp(net::Network& net, std::string node, proto::ThirdPartyConfig config,
                             proto::IpAddress local, proto::HostPort receiver, proto::HostPort sender)
    : net_(net), node_(std::move(node)), client_(std::move(config)), local_(local), servers_{receiver, sender} {}

void ThirdPartyApp::start(net::Stack& s) {
    net::SocketOptions o;
    o.purpose = "control";
    for (int i = 0; i < 2; ++i) conns_[i] = s.connect(local_, 0, servers_[i], this, o);
}

int ThirdPartyApp::control_of(net::ConnId c) const { return c == conns_[0] ? 0 : c == conns_[1] ? 1 : -1; }

void ThirdPartyApp::on_connected(net::Stack& s, net::ConnId c) {
    int k = control_of(c);
    if (k < 0) return;
    auto info = s.info(c);
    client_.on_connected(static_cast<proto::ControlId>(k), info.local, info.remote, s.now());
    pump(s);
}

void ThirdPartyApp::on_refused(net::Stack& s, net::ConnId c) {
    int k = control_of(c);
    if (k < 0) return;
    failure_ = "the control connection to " + servers_[k].to_string() + " was refused";
    client_.on_control_closed(static_cast<proto::ControlId>(k), s.now());
    pump(s);
}

void ThirdPartyApp::on_timeout(net::Stack& s, net::ConnId c) {
    int k = control_of(c);
    if (k < 0) return;
    failure_ = "the control connection to " + servers_[k].to_string() + " timed out";
    client_.on_control_closed(static_cast<proto::ControlId>(k), s.now());
    pump(s);
}

void ThirdPartyApp::on_data(net::Stack& s, net::ConnId c, std::string_view bytes) {
    int k = control_of(c);
    if (k < 0) return;
    client_.receive_control(static_cast<proto::ControlId>(k), tls_[k].incoming(bytes), s.now());
    pump(s);
}

void ThirdPartyApp::on_peer_closed(net::Stack& s, net::ConnId c) {
    int k = control_of(c);
    if (k < 0) return;
    client_.on_control_closed(static_cast<proto::ControlId>(k), s.now());
    pump(s);
}

void ThirdPartyApp::on_reset(net::Stack& s, net::ConnId c) { on_peer_closed(s, c); }

void ThirdPartyApp::pump(net::Stack& s) {
    while (auto ra = client_.poll_action()) {
        net::ConnId c = conns_[ra->control];
        std::visit(Overloaded{
                       [&](const proto::SendControl& a) { s.send(c, tls_[ra->control].outgoing(a.bytes)); },
                       [&](const proto::CloseControl& a) { a.abort ? s.abort(c) : s.close(c); },
                       [&](const proto::Explain& a) { s.note(explain_fact(a)); },
                       [&](const auto&) {},  // a third-party client has no data connection
                   },
                   ra->action);
    }
}

ClientReport ThirdPartyApp::report() const {
    ClientReport r;
    r.node = node_;
    r.all_ok = client_.succeeded();
    // The receiver's transfer command first (STOR/APPE), then the sender's (RETR/RTRV).
    for (const auto& pt : client_.transfers()) {
        trace::Transfer t;
        t.client = node_;
        t.command = pt.command;
        t.path = pt.path;
        t.ok = pt.ok;
        t.reply = pt.reply_code;
        r.transfers.push_back(t);
        if (!pt.ok) r.all_ok = false;
    }
    if (!r.all_ok) {
        std::string why = !client_.failure().empty() ? client_.failure() : failure_;
        r.failures.push_back(why.empty() ? "the server-to-server transfer did not complete" : why);
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// Attacker
// ---------------------------------------------------------------------------------------------

AttackerApp::AttackerApp(scenario::AttackerSpec spec, scenario::NodeSpec node)
    : spec_(std::move(spec)), node_(std::move(node)) {}

void AttackerApp::start(net::Stack& s) {
    stack_ = &s;
    if (!spec_.sniff.empty() || !spec_.server) return;
    // No sniffing: it guesses an identifier and tries it at a fixed time.
    auto go = [this] { attack(*spec_.server, *spec_.id); };
    if (spec_.at_ns <= s.now()) go();
    else s.schedule(spec_.at_ns, go);
}

void AttackerApp::sniffed(const std::string& line, const proto::HostPort& server) {
    if (acted_ || !stack_ || line.size() < 4) return;
    std::string_view text = std::string_view(line).substr(4);
    std::optional<proto::HostPort> target;
    std::string id;
    if (spec_.steal == "data") {
        // Like curl, it connects to the address the reply came from, at the announced port.
        if (line.rfind("227 ", 0) == 0) {
            if (auto hp = proto::parse_227_text(text)) target = proto::HostPort{server.addr, hp->port};
        } else if (line.rfind("229 ", 0) == 0) {
            if (auto port = proto::parse_229_text(text)) target = proto::HostPort{server.addr, *port};
        }
    } else if (line.rfind("227 ", 0) == 0 && !proto::parse_227_text(text)) {
        if (auto sniffed_id = proto::parse_spsv_227_text(text)) {
            target = server;
            id = spec_.id.value_or(std::string(*sniffed_id));
        }
    }
    if (!target) return;
    acted_ = true;
    {
        trace::Event e = fact(trace::Fact::AttackerSniffed, server);
        e.line_before = line;
        e.state = spec_.sniff;
        stack_->note(std::move(e));
    }
    auto go = [this, t = *target, id] { attack(t, id); };
    if (spec_.delay_ns == 0) go();
    else stack_->schedule(stack_->now() + spec_.delay_ns, go);
}

void AttackerApp::attack(const proto::HostPort& target, const std::string& id) {
    acted_ = true;
    target_ = target;
    id_ = id;
    net::SocketOptions o;
    o.purpose = spec_.steal == "data" ? "data" : "control";
    o.record_payload = spec_.steal != "data";
    {
        trace::Event e = fact(trace::Fact::AttackerStole, {}, target);
        e.state = spec_.steal == "data" ? "data" : "spdt";
        e.line_before = spec_.steal == "data" ? std::string() : id;
        stack_->note(std::move(e));
    }
    conn_ = stack_->connect(source_address(node_, target.addr), 0, target, this, o);
}

void AttackerApp::on_connected(net::Stack&, net::ConnId) {}

void AttackerApp::on_refused(net::Stack&, net::ConnId c) {
    if (c == conn_) failure_ = "the connection to " + target_.to_string() + " was refused";
}

void AttackerApp::on_timeout(net::Stack&, net::ConnId c) {
    if (c == conn_) failure_ = "the connection to " + target_.to_string() + " timed out";
}

void AttackerApp::on_data(net::Stack& s, net::ConnId c, std::string_view bytes) {
    if (c != conn_) return;
    if (spec_.steal == "data" || handed_over_) {
        stolen_ += bytes.size();
        return;
    }
    lines_ += bytes;
    for (auto nl = lines_.find('\n'); nl != std::string::npos && !handed_over_; nl = lines_.find('\n')) {
        std::string line = lines_.substr(0, nl);
        lines_.erase(0, nl + 1);
        if (line.size() < 4 || line[3] != ' ') continue;  // a multi-line reply's inner lines
        int code = std::atoi(line.substr(0, 3).c_str());
        if (!greeted_) {
            greeted_ = true;
            if (code == 220) s.send(c, proto::format_command("SPDT", id_));
            continue;
        }
        reply_ = code;
        if (code == 200) {
            handed_over_ = true;  // what follows is the client's data
            s.file_data_from_now(c);
            stolen_ += lines_.size();
            lines_.clear();
        }
    }
}

void AttackerApp::on_peer_closed(net::Stack& s, net::ConnId c) {
    if (c == conn_) s.close(c);
}

void AttackerApp::on_reset(net::Stack&, net::ConnId c) {
    if (c == conn_ && failure_.empty()) failure_ = "the connection to " + target_.to_string() + " was reset";
}

ClientReport AttackerApp::report() const {
    ClientReport r;
    r.node = spec_.node;
    trace::Transfer t;
    t.client = spec_.node;
    t.command = spec_.steal == "data" ? "DATA" : "SPDT";
    t.path = acted_ ? target_.to_string() : "";
    t.ok = stolen_ > 0;  // the attack worked: it received the client's data
    t.reply = reply_;
    t.bytes = stolen_;
    r.transfers.push_back(t);
    r.all_ok = t.ok;
    if (!acted_) r.failures.push_back("the attacker never saw anything to act on");
    else if (!failure_.empty()) r.failures.push_back(failure_);
    return r;
}

}  // namespace ftpsim::sim
