#include "live/transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace ftpsim::live {

namespace {
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::int64_t kDrainPollNs = 1'000'000;  // SIOCOUTQ is checked every millisecond
}  // namespace

bool FileSource::fill(std::string& out, std::size_t max) {
    if (remaining_ == 0 || !file_.valid()) return false;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, remaining_));
    const std::size_t at = out.size();
    out.resize(at + want);
    ssize_t n;
    do n = ::pread(file_.get(), out.data() + at, want, static_cast<off_t>(offset_));
    while (n < 0 && errno == EINTR);
    if (n <= 0) {  // the file shrank or failed: what was read is what is sent
        if (n < 0) err_ = errno;
        out.resize(at);
        remaining_ = 0;
        return false;
    }
    out.resize(at + static_cast<std::size_t>(n));
    offset_ += static_cast<std::uint64_t>(n);
    remaining_ -= static_cast<std::uint64_t>(n);
    return remaining_ > 0;
}

Sockets::~Sockets() { close_all(true); }

Sockets::Conn* Sockets::conn(ConnId c) {
    auto it = conns_.find(c);
    return it == conns_.end() ? nullptr : it->second.get();
}

std::variant<Sockets::Listening, NetError> Sockets::listen(const IpAddress& addr, std::uint16_t lo,
                                                               std::uint16_t hi, TransportHandler* handler,
                                                               std::uint16_t start, int backlog, ConnOptions opts) {
    auto r = listen_tcp(addr, lo, hi, start, backlog);
    if (auto* e = std::get_if<NetError>(&r)) return *e;
    const ListenerId id = next_listener_++;
    ListenerState st;
    st.listener = std::move(std::get<Listener>(r));
    st.handler = handler;
    st.opts = opts;
    const int fd = st.listener.fd.get();
    const HostPort local = st.listener.local;
    listeners_[id] = std::move(st);
    loop_.watch(fd, [this, id] { on_listener(id); }, nullptr);
    return Listening{id, local};
}

void Sockets::stop_listening(ListenerId l) {
    auto it = listeners_.find(l);
    if (it == listeners_.end()) return;
    loop_.unwatch(it->second.listener.fd.get());
    listeners_.erase(it);
}

void Sockets::pause_listener(ListenerId l, bool paused) {
    auto it = listeners_.find(l);
    if (it == listeners_.end() || it->second.paused == paused) return;
    it->second.paused = paused;
    loop_.set_readable(it->second.listener.fd.get(), paused ? EventLoop::Callback{} : [this, l] { on_listener(l); });
}

void Sockets::on_listener(ListenerId l) {
    for (int i = 0; i < 64; ++i) {
        auto it = listeners_.find(l);
        if (it == listeners_.end() || it->second.paused) return;
        int err = 0;
        auto a = accept_tcp(it->second.listener.fd.get(), &err);
        if (!a) {
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
                it->second.handler->on_accept_error(l, err);
            return;
        }
        TransportHandler* h = it->second.handler;
        const ConnId c = adopt(std::move(a->fd), h, it->second.opts, a->local, a->remote);
        h->on_accept(l, c, a->local, a->remote);
    }
}

ConnId Sockets::adopt(Fd fd, TransportHandler* h, ConnOptions opts, HostPort local, HostPort remote) {
    const ConnId c = next_conn_++;
    auto k = std::make_unique<Conn>();
    k->fd = std::move(fd);
    k->handler = h;
    k->opts = opts;
    k->local = local;
    k->remote = remote;
    k->last_progress = EventLoop::now_ns();
    k->started = k->last_progress;
    const int f = k->fd.get();
    conns_[c] = std::move(k);
    loop_.watch(f, nullptr, nullptr);
    rewatch(c);
    return c;
}

std::variant<ConnId, NetError> Sockets::connect(const HostPort& remote, std::optional<HostPort> local,
                                                  std::int64_t timeout_ns, TransportHandler* handler,
                                                  ConnOptions opts) {
    auto r = connect_tcp(remote, local);
    if (auto* e = std::get_if<NetError>(&r)) return *e;
    const ConnId c = next_conn_++;
    auto k = std::make_unique<Conn>();
    k->fd = std::move(std::get<Connecting>(r).fd);
    k->handler = handler;
    k->opts = opts;
    k->remote = remote;
    k->connecting = true;
    k->started = k->last_progress = EventLoop::now_ns();
    const int f = k->fd.get();
    k->connect_timer = loop_.add_timer(k->started + timeout_ns, [this, c] {
        Conn* kk = conn(c);
        if (!kk || !kk->connecting) return;
        kk->connect_timer = 0;
        TransportHandler* h = kk->handler;
        const std::int64_t elapsed = EventLoop::now_ns() - kk->started;
        forget(c, true);
        h->on_connect_failed(c, ConnectStatus::TimedOut, ETIMEDOUT, elapsed);
    });
    conns_[c] = std::move(k);
    loop_.watch(f, nullptr, [this, c] { on_connect_ready(c); });
    return c;
}

void Sockets::on_connect_ready(ConnId c) {
    Conn* k = conn(c);
    if (!k || !k->connecting) return;
    int err = 0;
    const ConnectStatus st = connect_result(k->fd.get(), &err);
    if (st == ConnectStatus::InProgress) return;
    if (k->connect_timer) loop_.cancel_timer(k->connect_timer);
    k->connect_timer = 0;
    k->connecting = false;
    TransportHandler* h = k->handler;
    if (st != ConnectStatus::Ok) {
        const std::int64_t elapsed = EventLoop::now_ns() - k->started;
        forget(c, false);
        h->on_connect_failed(c, st, err, elapsed);
        return;
    }
    k->local = local_endpoint(k->fd.get()).value_or(HostPort{});
    if (auto peer = peer_endpoint(k->fd.get())) k->remote = *peer;
    k->last_progress = EventLoop::now_ns();
    rewatch(c);
    h->on_connected(c);
}

void Sockets::settle() {
    std::vector<ListenerId> ls;
    for (const auto& [l, st] : listeners_)
        if (!st.paused) ls.push_back(l);
    for (ListenerId l : ls) on_listener(l);
    std::vector<ConnId> cs;
    for (const auto& [c, k] : conns_)
        if (k->connecting) cs.push_back(c);
    for (ConnId c : cs) on_connect_ready(c);
}

// Readable while reading is wanted; writable while something is queued (or the FIN waits).
void Sockets::rewatch(ConnId c) {
    Conn* k = conn(c);
    if (!k || k->connecting) return;
    const int f = k->fd.get();
    const bool want_read = !k->read_paused && !k->read_done;
    const bool want_write =
        !k->write_paused && (k->buf_off < k->buf.size() || !k->queue.empty() || (k->fin_requested && !k->fin_sent));
    loop_.set_readable(f, want_read ? EventLoop::Callback([this, c] { on_readable(c); }) : EventLoop::Callback{});
    loop_.set_writable(f, want_write ? EventLoop::Callback([this, c] { on_writable(c); }) : EventLoop::Callback{});
}

void Sockets::on_readable(ConnId c) {
    Conn* k = conn(c);
    if (!k) return;
    const std::size_t chunk = k->opts.read_chunk;
    const int rounds = k->opts.read_rounds;
    std::vector<char> buf(chunk);
    for (int round = 0; round < rounds; ++round) {
        k = conn(c);
        if (!k || k->read_paused || k->read_done || k->connecting) return;
        IoResult r = read_some(k->fd.get(), buf.data(), buf.size());
        if (r.would_block) return;
        TransportHandler* h = k->handler;
        if (r.err) {
            forget(c, true);
            h->on_reset(c, r.err);
            return;
        }
        if (r.eof) {
            k->read_done = true;
            rewatch(c);
            h->on_peer_closed(c);
            return;
        }
        k->received += r.n;
        k->last_progress = EventLoop::now_ns();
        h->on_data(c, std::string_view(buf.data(), r.n));
    }
}

void Sockets::send(ConnId c, std::string bytes) {
    Conn* k = conn(c);
    if (!k || bytes.empty() || k->fin_requested) return;
    k->queued += bytes.size();
    k->queue.emplace_back(std::move(bytes));
    rewatch(c);
}

void Sockets::send(ConnId c, std::unique_ptr<ByteSource> source) {
    Conn* k = conn(c);
    if (!k || !source || k->fin_requested) return;
    k->queue.emplace_back(std::move(source));
    rewatch(c);
}

std::size_t Sockets::queued_bytes(ConnId c) const {
    auto it = conns_.find(c);
    return it == conns_.end() ? 0 : it->second->queued;
}

bool Sockets::sending(ConnId c) const {
    auto it = conns_.find(c);
    if (it == conns_.end()) return false;
    const Conn& k = *it->second;
    return k.buf_off < k.buf.size() || !k.queue.empty();
}

// Fills `buf` from the queue; false when there is nothing more to send.
bool Sockets::refill(Conn& k) {
    while (k.buf_off >= k.buf.size()) {
        k.buf.clear();
        k.buf_off = 0;
        if (k.queue.empty()) return false;
        auto& front = k.queue.front();
        if (auto* s = std::get_if<std::string>(&front)) {
            k.buf = std::move(*s);
            k.queue.pop_front();
            continue;
        }
        auto& src = std::get<std::unique_ptr<ByteSource>>(front);
        if (!src->fill(k.buf, kChunk)) k.queue.pop_front();  // the rest is in buf
    }
    return true;
}

void Sockets::on_writable(ConnId c) {
    for (int round = 0; round < 16; ++round) {
        Conn* k = conn(c);
        if (!k || k->connecting || k->write_paused) return;
        // A costly source (a listing: a stat per entry) fills once per round of the loop.
        const bool costly = k->buf_off >= k->buf.size() && !k->queue.empty() &&
                            std::holds_alternative<std::unique_ptr<ByteSource>>(k->queue.front()) &&
                            std::get<std::unique_ptr<ByteSource>>(k->queue.front())->costly();
        if (costly && round > 0) return rewatch(c);
        if (!refill(*k)) break;
        IoResult r = write_some(k->fd.get(), k->buf.data() + k->buf_off, k->buf.size() - k->buf_off);
        if (r.would_block) return rewatch(c);
        TransportHandler* h = k->handler;
        if (r.err) {
            forget(c, true);
            h->on_reset(c, r.err);
            return;
        }
        k->buf_off += r.n;
        k->sent += r.n;
        k->queued = k->queued > r.n ? k->queued - r.n : 0;
        k->wrote = true;
        k->last_progress = EventLoop::now_ns();
        h->on_sent(c, r.n);
    }
    Conn* k = conn(c);
    if (!k) return;
    if (k->buf_off < k->buf.size() || !k->queue.empty()) return rewatch(c);  // more next round
    if (k->fin_requested && !k->fin_sent) return send_fin(c);
    rewatch(c);
    if (k->wrote) {
        k->wrote = false;
        k->handler->on_empty(c);
    }
}

void Sockets::close(ConnId c) {
    Conn* k = conn(c);
    if (!k || k->fin_requested) return;
    if (k->connecting) return abort(c);
    k->fin_requested = true;
    rewatch(c);
}

void Sockets::close_and_release(ConnId c) {
    Conn* k = conn(c);
    if (!k) return;
    k->release_after_fin = true;
    if (k->fin_sent) return release(c);
    close(c);
}

void Sockets::send_fin(ConnId c) {
    Conn* k = conn(c);
    if (!k) return;
    k->fin_sent = true;
    k->handler->on_fin_sent(c);
    k = conn(c);
    if (!k) return;
    if (k->release_after_fin) return release(c);
    shutdown_write(k->fd.get());
    rewatch(c);
    check_drained(c);
}

void Sockets::check_drained(ConnId c) {
    Conn* k = conn(c);
    if (!k) return;
    k->drain_timer = 0;
    if (unsent_bytes(k->fd.get()) == 0) return k->handler->on_drained(c);
    k->drain_timer = loop_.add_timer(EventLoop::now_ns() + kDrainPollNs, [this, c] { check_drained(c); });
}

void Sockets::flush(ConnId c) { on_writable(c); }

void Sockets::abort(ConnId c) { forget(c, true); }

void Sockets::release(ConnId c) { forget(c, false); }

void Sockets::forget(ConnId c, bool reset) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    Conn& k = *it->second;
    if (k.connect_timer) loop_.cancel_timer(k.connect_timer);
    if (k.drain_timer) loop_.cancel_timer(k.drain_timer);
    loop_.unwatch(k.fd.get());
    if (reset) k.fd.reset();
    else k.fd.close();
    conns_.erase(it);
}

void Sockets::pause_reading(ConnId c, bool paused) {
    Conn* k = conn(c);
    if (!k) return;
    k->read_paused = paused;
    rewatch(c);
}

void Sockets::pause_writing(ConnId c, bool paused) {
    Conn* k = conn(c);
    if (!k) return;
    k->write_paused = paused;
    rewatch(c);
}

void Sockets::set_handler(ConnId c, TransportHandler* handler) {
    if (Conn* k = conn(c)) k->handler = handler;
}

std::optional<Sockets::Info> Sockets::info(ConnId c) const {
    auto it = conns_.find(c);
    if (it == conns_.end()) return std::nullopt;
    const Conn& k = *it->second;
    return Info{k.local, k.remote, k.connecting, k.fin_sent, k.last_progress, k.sent, k.received};
}

void Sockets::close_all(bool reset) {
    std::vector<ConnId> cs;
    for (const auto& [c, k] : conns_) cs.push_back(c);
    for (ConnId c : cs) forget(c, reset);
    for (auto& [l, st] : listeners_) loop_.unwatch(st.listener.fd.get());
    listeners_.clear();
}

}  // namespace ftpsim::live
