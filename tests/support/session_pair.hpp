// SessionPair: ftpsim's client and server sessions joined by an in-memory link (h11's test idea).
//
// No network and no SimGrid: the link delivers each side's SendControl bytes to the other side
// (optionally in small chunks, to exercise incremental parsing), turns Listen/Connect into
// DataListening/DataConnected (or DataRefused/DataTimedOut) on both sides, moves SendData bytes,
// passes closes on (and then tells the closer DataDrained: its bytes and FIN have arrived), and
// records the control transcript and every action. Deliveries are FIFO and each takes `step`
// nanoseconds of simulated time; when nothing is in flight the link jumps to the earliest timer.
// Everything is deterministic: ports come from counters, randomness from a seeded splitmix64.
//
// Addresses: each node has its own address (what its sockets see locally) and the address the
// others reach it at (`seen_as`; different when a NAT sits in front of it). A Connect to an
// address no node is seen at times out (the SYN goes nowhere); to a node's port with no listener,
// or one the node's `reachable` predicate closes (a router that forwards only port 21), it is
// refused. A Connect to a server's control port opens a new control session there (SPSV).
//
// ThreePartySession is the same link with a ThirdPartyClient and two servers (RFC 959 5.2).
//
// Header-only: tests/support is not a build target of its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/actions.hpp"
#include "protocol/client.hpp"
#include "protocol/server.hpp"
#include "protocol/vfs.hpp"

namespace ftpsim::testing {

using namespace ftpsim::proto;

// A deterministic RandomSource (splitmix64), as the simulator seeds one from the scenario.
inline RandomSource seeded_random(std::uint64_t seed) {
    auto state = std::make_shared<std::uint64_t>(seed);
    return [state] {
        std::uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    };
}

enum class ConnectFate : std::uint8_t { Route, Refuse, TimeOut };

struct NodeAddress {
    IpAddress own;                      // what the node's own sockets see
    std::optional<IpAddress> seen_as;   // what the other nodes connect to (default: own)
    std::function<bool(std::uint16_t)> reachable;  // ports open from outside (default: all)
    std::uint16_t first_port = 50000;   // the node's ephemeral port counter starts here

    IpAddress public_addr() const { return seen_as.value_or(own); }
};

struct LinkOptions {
    std::size_t chunk = 0;         // split control bytes into chunks of this size (0: whole)
    Time step = 1'000'000;         // each delivery takes 1 ms
    std::uint64_t seed = 1;
    std::size_t max_steps = 200000;
    // Overrides the routing decision for a Connect from node `from` (0 = the client).
    std::function<ConnectFate(int from, const HostPort& target)> fate;
};

struct TranscriptLine {
    Time time = 0;
    int from = 0, to = 0;   // node numbers: 0 the client, 1 and 2 the servers
    bool control = true;    // false: an SPSV connection before it became a data connection
    std::string text;       // one line without CRLF
};

// ---- The link -----------------------------------------------------------------------------------

class Link {
public:
    struct End {
        int node = 0;
        bool control = true;
        std::uint32_t session = 0;  // server: the SessionId; client: the ControlId
        DataId id = 0;              // data ends only
        bool operator==(const End&) const = default;
    };

    Link(std::vector<NodeAddress> nodes, std::vector<const char*> names, LinkOptions options)
        : nodes_(std::move(nodes)), names_(std::move(names)), options_(std::move(options)) {
        for (const auto& n : nodes_) next_port_.push_back(n.first_port);
    }
    virtual ~Link() = default;

    // Runs until nothing is in flight, no action is pending and no timer runs.
    std::size_t run() {
        std::size_t steps = 0;
        for (; steps < options_.max_steps; ++steps) {
            collect();
            if (!queue_.empty()) {
                now_ += options_.step;
                auto delivery = std::move(queue_.front());
                queue_.pop_front();
                delivery();
                continue;
            }
            const Time t = next_expiry();
            if (t == kNever) break;
            now_ = std::max(now_, t);
            fire_timers(now_);
        }
        return steps;
    }

    Time now() const { return now_; }
    const std::vector<TranscriptLine>& transcript() const { return transcript_; }
    // "C: USER anonymous" / "S: 230 ..." (pair) or "C->A: PASV" / "A: 227 ..." (three parties).
    std::vector<std::string> control_lines() const { return lines(true); }
    // The SPSV second connection's lines before "200 DATA" made it a data connection.
    std::vector<std::string> handshake_lines() const { return lines(false); }
    const std::vector<std::string>& explanations() const { return explanations_; }
    std::uint16_t listening_port_of(int node, std::uint32_t session, DataId id) const {
        for (const auto& l : listeners_)
            if (l.end == End{node, false, session, id}) return l.local.port;
        return 0;
    }
    std::size_t open_connections() const { return pipes_.size(); }

protected:
    // Parties, implemented by SessionPair / ThreePartySession.
    virtual void collect() = 0;
    virtual Time next_expiry() const = 0;
    virtual void fire_timers(Time now) = 0;
    virtual void deliver_bytes(const End& to, std::string bytes) = 0;
    virtual void deliver_event(const End& to, const DataEvent& event) = 0;
    virtual void deliver_control_closed(const End& to) = 0;
    virtual std::uint32_t accept_control(int node, HostPort local, HostPort remote) = 0;
    virtual bool is_server_control_port(int node, std::uint16_t port) const = 0;

    void open_control(End a, End b) { pipes_.push_back({a, b}); }

    // One action of a party, carried out by the link.
    void handle(const End& control_end, std::uint32_t session, const Action& action) {
        const int node = control_end.node;
        std::visit(
            [&](const auto& a) {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, SendControl>) {
                    send(control_end, a.bytes);
                } else if constexpr (std::is_same_v<T, Listen>) {
                    listen(End{node, false, session, a.id}, a);
                } else if constexpr (std::is_same_v<T, StopListening>) {
                    std::erase_if(listeners_, [&](const Listener& l) {
                        return l.end == End{node, false, session, a.id};
                    });
                } else if constexpr (std::is_same_v<T, Connect>) {
                    connect(End{node, false, session, a.id}, a);
                } else if constexpr (std::is_same_v<T, SendData>) {
                    send(End{node, false, session, a.id}, a.bytes);
                } else if constexpr (std::is_same_v<T, CloseData>) {
                    close(End{node, false, session, a.id}, a.abort);
                } else if constexpr (std::is_same_v<T, CloseControl>) {
                    close(control_end, a.abort);
                } else if constexpr (std::is_same_v<T, Explain>) {
                    explanations_.push_back(std::string(names_[node]) + ": " + a.text);
                }
            },
            action);
    }

    // SPSV: the server's control connection `session` became data connection `id` of `owner`.
    void become_data(int node, std::uint32_t session, std::uint32_t owner, DataId id) {
        for (auto& p : pipes_)
            for (End* e : {&p.a, &p.b})
                if (*e == End{node, true, session, 0}) *e = End{node, false, owner, id};
    }

    void later(std::function<void()> f) { queue_.push_back(std::move(f)); }

    Time now_ = 0;
    std::vector<NodeAddress> nodes_;
    std::vector<const char*> names_;
    LinkOptions options_;

private:
    struct Pipe {
        End a, b;
    };
    struct Listener {
        End end;
        HostPort local;
    };

    Pipe* pipe_of(const End& e) {
        for (auto& p : pipes_)
            if (p.a == e || p.b == e) return &p;
        return nullptr;
    }
    static const End& other(const Pipe& p, const End& e) { return p.a == e ? p.b : p.a; }

    std::uint16_t ephemeral(int node) { return next_port_[node]++; }

    void send(const End& from, const std::string& bytes) {
        Pipe* p = pipe_of(from);
        if (p == nullptr) return;  // the connection is gone: the bytes are lost
        const End to = other(*p, from);
        const bool carries_lines = from.control || to.control;
        if (carries_lines) record(from.node, to.node, from.control && to.control, bytes);
        // Only lines are split: the parsers under test are the line parsers.
        const std::size_t n = options_.chunk == 0 || !carries_lines ? bytes.size() : options_.chunk;
        for (std::size_t at = 0; at < bytes.size(); at += n) {
            std::string piece = bytes.substr(at, n);
            later([this, to, piece] { deliver_to(to, piece); });
        }
    }

    // The end may have been re-labelled (SPSV hand-over) since the bytes were queued.
    void deliver_to(const End& to, std::string bytes) { deliver_bytes(to, std::move(bytes)); }

    void record(int from, int to, bool control, const std::string& bytes) {
        std::size_t start = 0;
        while (start < bytes.size()) {
            auto end = bytes.find("\r\n", start);
            if (end == std::string::npos) end = bytes.size();
            transcript_.push_back({now_, from, to, control, bytes.substr(start, end - start)});
            start = end + 2;
        }
    }

    std::vector<std::string> lines(bool control) const {
        std::vector<std::string> out;
        const bool three = names_.size() > 2;
        for (const auto& l : transcript_) {
            if (l.control != control) continue;
            std::string who = names_[l.from];
            if (three && l.from == 0) who += std::string("->") + names_[l.to];
            out.push_back(who + ": " + l.text);
        }
        return out;
    }

    void listen(const End& end, const Listen& l) {
        const IpAddress addr = nodes_[end.node].own;
        std::optional<std::uint16_t> port;
        if (l.port_lo == 0 && l.port_hi == 0) {
            port = ephemeral(end.node);
        } else {
            for (std::uint32_t p = l.port_lo; p <= l.port_hi && !port; ++p)
                if (!listening_on(end.node, static_cast<std::uint16_t>(p)))
                    port = static_cast<std::uint16_t>(p);
        }
        if (!port) {
            later([this, end] { deliver_event(end, DataListenFailed{end.id}); });
            return;
        }
        listeners_.push_back({end, {addr, *port}});
        const HostPort local{addr, *port};
        later([this, end, local] { deliver_event(end, DataListening{end.id, local}); });
    }

    bool listening_on(int node, std::uint16_t port) const {
        return std::any_of(listeners_.begin(), listeners_.end(), [&](const Listener& l) {
            return l.end.node == node && l.local.port == port;
        });
    }

    std::optional<int> node_seen_at(const IpAddress& addr, int except) const {
        for (int n = 0; n < static_cast<int>(nodes_.size()); ++n)
            if (n != except && nodes_[n].public_addr() == addr) return n;
        return std::nullopt;
    }

    void connect(const End& from, const Connect& c) {
        const HostPort local{nodes_[from.node].own,
                           c.local_port ? *c.local_port : ephemeral(from.node)};
        const HostPort seen_from{nodes_[from.node].public_addr(), local.port};
        ConnectFate fate = options_.fate ? options_.fate(from.node, c.remote) : ConnectFate::Route;
        const auto to_node = node_seen_at(c.remote.addr, from.node);
        if (fate == ConnectFate::Route && !to_node) fate = ConnectFate::TimeOut;
        if (fate == ConnectFate::Route) {
            const auto& reach = nodes_[*to_node].reachable;
            if (reach && !reach(c.remote.port)) fate = ConnectFate::Refuse;
        }
        if (fate == ConnectFate::Route && is_server_control_port(*to_node, c.remote.port)) {
            const HostPort server_local{nodes_[*to_node].own, c.remote.port};
            later([this, from, local, c, to = *to_node, server_local, seen_from] {
                const auto sid = accept_control(to, server_local, seen_from);
                pipes_.push_back({from, End{to, true, sid, 0}});
                deliver_event(from, DataConnected{from.id, local, c.remote});
            });
            return;
        }
        const Listener* target = nullptr;
        if (fate == ConnectFate::Route)
            for (const auto& l : listeners_)
                if (l.end.node == *to_node && l.local.port == c.remote.port) target = &l;
        if (target == nullptr && fate == ConnectFate::Route) fate = ConnectFate::Refuse;
        if (fate == ConnectFate::Refuse) {
            later([this, from] { deliver_event(from, DataRefused{from.id}); });
            return;
        }
        if (fate == ConnectFate::TimeOut) {
            later([this, from] { deliver_event(from, DataTimedOut{from.id}); });
            return;
        }
        const Listener l = *target;
        pipes_.push_back({from, l.end});
        later([this, from, local, c] { deliver_event(from, DataConnected{from.id, local, c.remote}); });
        later([this, l, seen_from] { deliver_event(l.end, DataConnected{l.end.id, l.local, seen_from}); });
    }

    void close(const End& from, bool abort) {
        Pipe* p = pipe_of(from);
        if (p == nullptr) return;
        const End to = other(*p, from);
        std::erase_if(pipes_, [&](const Pipe& q) { return q.a == from || q.b == from; });
        if (to.control) {
            later([this, to] { deliver_control_closed(to); });
        } else if (abort) {
            later([this, to] { deliver_event(to, DataReset{to.id}); });
        } else {
            later([this, to] { deliver_event(to, DataClosed{to.id}); });
        }
        // After the bytes and the FIN have reached the peer, the closer learns they have left
        // (TCP's ACK): a sending server answers 226 only now.
        if (!abort && !from.control)
            later([this, from] { deliver_event(from, DataDrained{from.id}); });
    }

    std::deque<std::function<void()>> queue_;
    std::vector<Pipe> pipes_;
    std::vector<Listener> listeners_;
    std::vector<std::uint16_t> next_port_;
    std::vector<TranscriptLine> transcript_;
    std::vector<std::string> explanations_;
};

// ---- One client, one server -------------------------------------------------------------------

struct PairConfig {
    ClientConfig client;
    ServerConfig server;
    Vfs vfs;
    NodeAddress client_address{IpAddress::v4(192, 168, 1, 10), std::nullopt, {}, 50000};
    NodeAddress server_address{IpAddress::v4(203, 0, 113, 10), std::nullopt, {}, 40000};
    std::uint16_t client_control_port = 36932;
    std::uint16_t server_control_port = 21;
    LinkOptions link;
};

class SessionPair : public Link {
public:
    explicit SessionPair(PairConfig config)
        : Link({config.client_address, config.server_address}, {"C", "S"}, config.link),
          control_port_(config.server_control_port),
          server_(std::move(config.server), std::move(config.vfs), seeded_random(config.link.seed)) {
        const HostPort client_local{nodes_[0].own, config.client_control_port};
        const HostPort server_seen{nodes_[1].public_addr(), control_port_};
        config.client.control.reset();
        client_ = std::make_unique<ClientSession>(std::move(config.client));
        client_->on_connected(client_local, server_seen, now_);
        session_ = server_.accept(now_, {nodes_[1].own, control_port_},
                                  {nodes_[0].public_addr(), config.client_control_port});
        open_control(End{0, true, 0, 0}, End{1, true, session_, 0});
    }

    ClientSession& client() { return *client_; }
    FtpServer& server() { return server_; }
    SessionId session() const { return session_; }
    const std::vector<Action>& client_actions() const { return client_actions_; }
    const std::vector<ServerAction>& server_actions() const { return server_actions_; }
    bool idle() const { return client_->finished(); }

protected:
    void collect() override {
        while (auto a = client_->poll_action()) {
            client_actions_.push_back(*a);
            handle(End{0, true, 0, 0}, 0, *a);
        }
        for (auto& sa : server_.take_actions()) {
            server_actions_.push_back(sa);
            if (auto* a = std::get_if<Action>(&sa.what)) {
                handle(End{1, true, sa.session, 0}, sa.session, *a);
            } else {
                const auto& b = std::get<BecomeDataConnection>(sa.what);
                become_data(1, sa.session, b.owner, b.id);
            }
        }
    }
    Time next_expiry() const override { return std::min(client_->next_expiry(), server_.next_expiry()); }
    void fire_timers(Time now) override {
        if (client_->next_expiry() <= now) client_->on_timer(now);
        if (server_.next_expiry() <= now) server_.on_timer(now);
    }
    void deliver_bytes(const End& to, std::string bytes) override {
        if (to.node == 0) {
            if (to.control) client_->receive_control(bytes, now_);
            else client_->on_data_event(DataBytes{to.id, std::move(bytes)}, now_);
        } else if (to.control) {
            server_.receive_control(now_, to.session, bytes);
        } else {
            server_.receive_data(now_, to.session, DataBytes{to.id, std::move(bytes)});
        }
    }
    void deliver_event(const End& to, const DataEvent& event) override {
        if (to.node == 0) client_->on_data_event(event, now_);
        else if (to.control && std::holds_alternative<DataClosed>(event)) server_.control_closed(now_, to.session);
        else server_.receive_data(now_, to.session, event);
    }
    void deliver_control_closed(const End& to) override {
        if (to.node == 0) {
            if (to.control) client_->on_control_closed(now_);
            else client_->on_data_event(DataClosed{to.id}, now_);
        } else {
            server_.control_closed(now_, to.session);
        }
    }
    std::uint32_t accept_control(int, HostPort local, HostPort remote) override {
        return server_.accept(now_, local, remote);
    }
    bool is_server_control_port(int node, std::uint16_t port) const override {
        return node == 1 && port == control_port_;
    }

private:
    std::uint16_t control_port_;
    FtpServer server_;
    std::unique_ptr<ClientSession> client_;
    SessionId session_ = 0;
    std::vector<Action> client_actions_;
    std::vector<ServerAction> server_actions_;
};

// ---- One client, two servers (server-to-server transfer) ---------------------------------------

struct ThreePartyConfig {
    ThirdPartyConfig client;  // its ControlEndpoints are filled in by the link
    ServerConfig receiver_server, sender_server;
    Vfs receiver_vfs, sender_vfs;
    NodeAddress client_address{IpAddress::v4(192, 168, 1, 10), std::nullopt, {}, 50000};
    NodeAddress receiver_address{IpAddress::v4(198, 51, 100, 1), std::nullopt, {}, 40000};
    NodeAddress sender_address{IpAddress::v4(203, 0, 113, 10), std::nullopt, {}, 45000};
    std::uint16_t control_port = 21;
    LinkOptions link;
};

class ThreePartySession : public Link {
public:
    explicit ThreePartySession(ThreePartyConfig config)
        : Link({config.client_address, config.receiver_address, config.sender_address},
               {"C", "A", "B"}, config.link),
          control_port_(config.control_port),
          receiver_(std::move(config.receiver_server), std::move(config.receiver_vfs),
                    seeded_random(config.link.seed)),
          sender_(std::move(config.sender_server), std::move(config.sender_vfs),
                  seeded_random(config.link.seed + 1)) {
        client_ = std::make_unique<ThirdPartyClient>(std::move(config.client));
        for (ControlId c : {ThirdPartyClient::kReceiver, ThirdPartyClient::kSender}) {
            const int node = c + 1;
            const HostPort local{nodes_[0].own, static_cast<std::uint16_t>(36000 + c)};
            const HostPort server{nodes_[node].public_addr(), control_port_};
            client_->on_connected(c, local, server, now_);
            sessions_[c] = server_of(node).accept(now_, {nodes_[node].own, control_port_},
                                                  {nodes_[0].public_addr(), local.port});
            open_control(End{0, true, c, 0}, End{node, true, sessions_[c], 0});
        }
    }

    ThirdPartyClient& client() { return *client_; }
    FtpServer& receiver() { return receiver_; }
    FtpServer& sender() { return sender_; }
    const std::vector<RoutedAction>& client_actions() const { return client_actions_; }
    const std::vector<ServerAction>& server_actions(int node) const { return server_actions_[node - 1]; }

protected:
    FtpServer& server_of(int node) { return node == 1 ? receiver_ : sender_; }
    const FtpServer& server_of(int node) const { return node == 1 ? receiver_ : sender_; }

    void collect() override {
        while (auto a = client_->poll_action()) {
            client_actions_.push_back(*a);
            handle(End{0, true, a->control, 0}, a->control, a->action);
        }
        for (int node : {1, 2}) {
            for (auto& sa : server_of(node).take_actions()) {
                server_actions_[node - 1].push_back(sa);
                if (auto* a = std::get_if<Action>(&sa.what)) handle(End{node, true, sa.session, 0}, sa.session, *a);
            }
        }
    }
    Time next_expiry() const override {
        return std::min(receiver_.next_expiry(), sender_.next_expiry());
    }
    void fire_timers(Time now) override {
        for (int node : {1, 2})
            if (server_of(node).next_expiry() <= now) server_of(node).on_timer(now);
    }
    void deliver_bytes(const End& to, std::string bytes) override {
        if (to.node == 0) {
            client_->receive_control(static_cast<ControlId>(to.session), bytes, now_);
        } else if (to.control) {
            server_of(to.node).receive_control(now_, to.session, bytes);
        } else {
            server_of(to.node).receive_data(now_, to.session, DataBytes{to.id, std::move(bytes)});
        }
    }
    void deliver_event(const End& to, const DataEvent& event) override {
        if (to.node != 0) server_of(to.node).receive_data(now_, to.session, event);
    }
    void deliver_control_closed(const End& to) override {
        if (to.node == 0) client_->on_control_closed(static_cast<ControlId>(to.session), now_);
        else server_of(to.node).control_closed(now_, to.session);
    }
    std::uint32_t accept_control(int node, HostPort local, HostPort remote) override {
        return server_of(node).accept(now_, local, remote);
    }
    bool is_server_control_port(int node, std::uint16_t port) const override {
        return node != 0 && port == control_port_;
    }

private:
    std::uint16_t control_port_;
    FtpServer receiver_, sender_;
    std::unique_ptr<ThirdPartyClient> client_;
    SessionId sessions_[2] = {0, 0};
    std::vector<RoutedAction> client_actions_;
    std::vector<ServerAction> server_actions_[2];
};

}  // namespace ftpsim::testing
