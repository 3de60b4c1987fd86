#include "sim/run/apps.hpp"

#include <algorithm>
#include <variant>

#include "protocol/codec.hpp"

namespace ftpsim::sim {

namespace {

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
    case proto::ExplainKind::EarlyDataLimit: e.fact = trace::Fact::ServerEarlyDataLimit; break;
    case proto::ExplainKind::CommandQueueLimit: e.fact = trace::Fact::ServerCommandQueueLimit; break;
    case proto::ExplainKind::LineTooLong:  // the fact `ftpsim serve` records too
        e.fact = trace::Fact::ServeLineTooLong;
        e.attempt = static_cast<int>(proto::kDefaultMaxLine);
        break;
    }
    e.text = a.text;
    e.timeout_ns = a.timeout_ns;
    return e;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The transport
// ---------------------------------------------------------------------------------------------

proto::ListenOutcome SimTransport::listen(const proto::IpAddress& addr, std::uint16_t lo, std::uint16_t hi,
                                          const proto::SocketPurpose& purpose) {
    net::SocketOptions o;
    if (purpose.data) o = data_socket(static_cast<net::ConnId>(purpose.control));
    auto r = stack_->listen(addr, lo, hi, handler_, o);
    return proto::ListenOutcome{r.id, r.port, r.error};
}

proto::ConnHandle SimTransport::connect(const proto::IpAddress& local, std::uint16_t local_port,
                                        const proto::HostPort& remote, const proto::SocketPurpose& purpose) {
    net::SocketOptions o;
    if (purpose.data) {
        o = data_socket(static_cast<net::ConnId>(purpose.control));
        o.record_payload = purpose.record_payload;
    }
    return stack_->connect(local, local_port, remote, handler_, o);
}

proto::Transport::Ends SimTransport::ends(proto::ConnHandle c) const {
    auto info = stack_->info(conn(c));
    return Ends{info.local, info.remote, info.open};
}

void SimTransport::set_timer(proto::Time at) {
    if (timer_) stack_->cancel(*timer_);
    timer_.reset();
    if (at == proto::kNever) return;
    timer_ = stack_->schedule(std::max(at, stack_->now()), [this] {
        timer_.reset();
        host_->on_timer();
        if (app_) app_->settle();
    });
}

void SimTransport::explain(const proto::Explain& e) { stack_->note(explain_fact(e)); }

void SimTransport::connection_queued(const proto::HostPort& remote, const proto::HostPort& local) {
    stack_->note(fact(trace::Fact::ListenQueue, remote, local));
}

void SimTransport::queued_connection_reset(proto::ConnHandle c) {
    auto info = stack_->info(conn(c));
    stack_->note(fact(trace::Fact::PassiveClosed, info.remote, info.local));
    stack_->abort(conn(c));
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

namespace {

proto::ServerConfig with_data_path(proto::ServerConfig c) {
    c.explicit_data_path = true;
    return c;
}

proto::ClientConfig with_data_path(proto::ClientConfig c) {
    c.explicit_data_path = true;
    return c;
}

}  // namespace

ServerApp::ServerApp(net::Network& net, std::string node, proto::ServerConfig config, proto::Vfs vfs,
                     std::uint64_t seed, proto::IpAddress listen_addr, std::uint16_t port)
    : node_(std::move(node)),
      rng_(seed),
      server_(with_data_path(std::move(config)), std::move(vfs), [this] { return rng_.next(); }),
      listen_addr_(listen_addr),
      port_(port),
      transport_(net, this),
      host_(transport_, sessions_, [&] {
          proto::HostOptions o;
          o.open_timeout_is_reset = true;  // the next write fails with ETIMEDOUT: 426
          o.fallback_local = listen_addr;
          return o;
      }()) {
    transport_.set_host(&host_);
}

void ServerApp::model_listen_queue(bool on) {
    host_.options().linger_passive_listeners = on && !server_.config().profile.reject_foreign_at_accept;
}

void ServerApp::start(net::Stack& s) {
    transport_.attach(s);
    auto r = host_.listen_control(listen_addr_, port_);
    if (!r) start_error = r.error;
    s.note(fact(trace::Fact::ServerListening, proto::HostPort{listen_addr_, port_}));
}

// The server process stops: its sessions end as the profile says (421 or a plain close), and its
// listening sockets close with it, so until restart() a new connection is refused with a RST
// (ECONNREFUSED), as for a stopped daemon.
void ServerApp::shutdown(net::Stack& s) {
    s.note(fact(trace::Fact::FaultServerStop, proto::HostPort{listen_addr_, port_}));
    server_.shutdown(s.now());
    host_.pump();
    host_.stop_all_listeners();
}

void ServerApp::restart(net::Stack& s) {
    s.note(fact(trace::Fact::FaultServerBack, proto::HostPort{listen_addr_, port_}));
    server_.restart(s.now());
    host_.listen_control(listen_addr_, port_);
    host_.pump();
}

void ServerApp::fill_disk(net::Stack& s) {
    s.note(fact(trace::Fact::FaultDiskFull));
    server_.vfs().set_quota(server_.vfs().used());
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

ClientApp::ClientApp(net::Network& net, std::string node, proto::ClientConfig config,
                     proto::IpAddress local, proto::HostPort server, std::uint16_t local_port,
                     std::pair<std::uint16_t, std::uint16_t> data_ports)
    : node_(std::move(node)),
      config_(with_data_path(std::move(config))),
      session_(config_),
      local_(local),
      server_(server),
      local_port_(local_port),
      transport_(net, this),
      host_(transport_, sessions_, [&] {
          proto::HostOptions o;
          o.data_ports = data_ports;
          o.fallback_local = local;
          return o;
      }()) {
    transport_.set_host(&host_);
    transport_.set_app(this);
}

bool ClientApp::done() const {
    return transport_.attached() && session_.finished() && !control_retry_ && !retry_scheduled_ &&
           !transport_.timer_pending() && transport_.stack().handler_refs(this) == 0;
}

void ClientApp::settle() {
    if (done_told_ || !on_done_ || !done()) return;
    done_told_ = true;
    on_done_(transport_.stack());
}

void ClientApp::start(net::Stack& s) {
    transport_.attach(s);
    control_ = static_cast<net::ConnId>(host_.connect_control(proto::HostedClient::kControl, local_, local_port_, server_));
    try_start_ = s.now();
    const auto& profile = session_.profile();
    const auto secs = [](proto::Time t) { return std::to_string(t / 1'000'000'000) + " s"; };
    if (profile.connect_timeout > 0) {
        // curl --connect-timeout, ftplib timeout, lftp net:timeout: the client stops waiting
        // for its control connection before TCP gives up.
        s.schedule(s.now() + profile.connect_timeout, [this, alive = alive_, &s, secs, t = profile.connect_timeout, try_no = tries_] {
            if (!*alive) return;
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
            host_.pump();
            settle();
        });
    }
    if (profile.max_time > 0 && tries_ == 1) {
        // curl --max-time: the whole operation has this long; then curl closes its connections.
        s.schedule(s.now() + profile.max_time, [this, alive = alive_, &s, secs, t = profile.max_time] {
            if (!*alive || session_.finished()) return;
            trace::Event e = fact(trace::Fact::ClientGiveUp, {}, server_);
            e.timeout_ns = t;
            e.state = "max-time";
            e.text = "the client gives up: --max-time " + secs(t) + " reached (curl exits with 28)";
            s.note(std::move(e));
            host_.abort_all_data();
            if (control_failure_.empty()) control_failure_ = "the operation did not finish within " + secs(t) + " (max-time)";
            if (control_open_) {
                control_open_ = false;
                s.close(control_);
            }
            session_.on_control_closed(s.now());
            host_.pump();
            settle();
        });
    }
}

void ClientApp::Sessions::control_connected(proto::Time now, proto::SessionId sid, const proto::HostPort& local,
                                            const proto::HostPort& remote) {
    app_.control_open_ = true;
    HostedClient::control_connected(now, sid, local, remote);
}

void ClientApp::Sessions::control_ended(proto::Time now, proto::SessionId sid, proto::ControlEnd how) {
    net::Stack& s = app_.transport_.stack();
    const std::string server = app_.server_.to_string();
    switch (how) {
    case proto::ControlEnd::Refused:
        return app_.control_failed(s, "the control connection to " + server + " was refused");
    case proto::ControlEnd::Unreachable:
        return app_.control_failed(s, "the control connection to " + server + " failed: no route (network unreachable)");
    case proto::ControlEnd::TimedOut:
        if (!app_.control_open_) return app_.control_failed(s, "the control connection to " + server + " timed out");
        app_.control_failure_ = "the control connection to " + server + " timed out";
        break;
    case proto::ControlEnd::Reset:
        app_.control_failure_ = "the control connection was reset";
        break;
    case proto::ControlEnd::PeerClosed:
        break;
    }
    HostedClient::control_ended(now, sid, how);
}

// The session gave up on a transfer the profile retries, and nothing is left to do on this
// control connection: a new one.
void ClientApp::Sessions::settled(proto::Time) {
    if (!app_.retry_scheduled_ && app_.session_.transfer_retry() && app_.session_.finished())
        app_.retry_transfer(app_.transport_.stack());
}

void ClientApp::control_failed(net::Stack& s, std::string why) {
    control_failure_ = std::move(why);
    if (retry_control(s)) return;
    session_.on_control_closed(s.now());
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
    control_retry_ = true;
    s.schedule(s.now() + wait, [this, &s] {
        control_retry_ = false;
        session_ = proto::ClientSession(config_);
        control_open_ = false;
        control_failure_.clear();
        start(s);
        settle();
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
        host_.forget_data();
        control_open_ = false;
        control_failure_.clear();
        retry_scheduled_ = false;
        start(s);
        settle();
    });
}

void ClientApp::reset_data(net::Stack& s) {
    host_.reset_data_connections([&s](const proto::Transport::Ends& ends) {
        s.note(fact(trace::Fact::FaultDataCut, ends.local, ends.remote));
    });
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
        t.bytes = res.bytes_received ? res.bytes_received : res.bytes_sent;
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
    : node_(std::move(node)),
      client_(std::move(config)),
      local_(local),
      servers_{receiver, sender},
      transport_(net, this),
      host_(transport_, sessions_) {
    transport_.set_host(&host_);
}

void ThirdPartyApp::start(net::Stack& s) {
    transport_.attach(s);
    for (proto::SessionId i = 0; i < 2; ++i) host_.connect_control(i, local_, 0, servers_[i]);
}

void ThirdPartyApp::Sessions::control_ended(proto::Time now, proto::SessionId sid, proto::ControlEnd how) {
    const std::string server = app_.servers_[sid].to_string();
    if (how == proto::ControlEnd::Refused || how == proto::ControlEnd::Unreachable)
        app_.failure_ = "the control connection to " + server + " was refused";
    else if (how == proto::ControlEnd::TimedOut)
        app_.failure_ = "the control connection to " + server + " timed out";
    HostedThirdParty::control_ended(now, sid, how);
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

}  // namespace ftpsim::sim
