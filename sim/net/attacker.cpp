#include "sim/net/attacker.hpp"

#include <cstdlib>

#include "protocol/codec.hpp"

namespace ftpsim::sim {

namespace {

trace::Endpoint ep(const proto::HostPort& hp) { return {hp.addr.to_string(), hp.port}; }

trace::Event fact(trace::Fact f, const proto::HostPort& a = {}, const proto::HostPort& b = {}) {
    trace::Event e;
    e.fact = f;
    if (!a.addr.is_unspecified() || a.port) e.src = ep(a);
    if (!b.addr.is_unspecified() || b.port) e.dst = ep(b);
    return e;
}

}  // namespace

AttackerApp::AttackerApp(AttackerConfig config) : config_(std::move(config)) {}

void AttackerApp::start(net::Stack& s) {
    stack_ = &s;
    if (!config_.sniff.empty() || !config_.server) return;
    // No sniffing: it guesses an identifier and tries it at a fixed time.
    auto go = [this] { attack(*config_.server, *config_.id); };
    if (config_.at_ns <= s.now()) go();
    else s.schedule(config_.at_ns, go);
}

void AttackerApp::sniffed(const std::string& line, const proto::HostPort& server) {
    if (acted_ || !stack_ || line.size() < 4) return;
    std::string_view text = std::string_view(line).substr(4);
    std::optional<proto::HostPort> target;
    std::string id;
    if (steals_data()) {
        // Like curl, it connects to the address the reply came from, at the announced port.
        if (line.rfind("227 ", 0) == 0) {
            if (auto hp = proto::parse_227_text(text)) target = proto::HostPort{server.addr, hp->port};
        } else if (line.rfind("229 ", 0) == 0) {
            if (auto port = proto::parse_229_text(text)) target = proto::HostPort{server.addr, *port};
        }
    } else if (line.rfind("227 ", 0) == 0 && !proto::parse_227_text(text)) {
        if (auto sniffed_id = proto::parse_spsv_227_text(text)) {
            target = server;
            id = config_.id.value_or(std::string(*sniffed_id));
        }
    }
    if (!target) return;
    acted_ = true;
    {
        trace::Event e = fact(trace::Fact::AttackerSniffed, server);
        e.line_before = line;
        e.state = config_.sniff;
        stack_->note(std::move(e));
    }
    auto go = [this, t = *target, id] { attack(t, id); };
    if (config_.delay_ns == 0) go();
    else stack_->schedule(stack_->now() + config_.delay_ns, go);
}

void AttackerApp::attack(const proto::HostPort& target, const std::string& id) {
    acted_ = true;
    target_ = target;
    id_ = id;
    net::SocketOptions o;
    o.purpose = steals_data() ? "data" : "control";
    o.record_payload = !steals_data();
    {
        trace::Event e = fact(trace::Fact::AttackerStole, {}, target);
        e.state = steals_data() ? "data" : "spdt";
        e.line_before = steals_data() ? std::string() : id;
        stack_->note(std::move(e));
    }
    conn_ = stack_->connect(config_.source_for ? config_.source_for(target.addr) : proto::IpAddress{}, 0, target, this, o);
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
    if (steals_data() || handed_over_) {
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

trace::Transfer AttackerApp::attempt() const {
    trace::Transfer t;
    t.client = config_.node;
    t.command = steals_data() ? "DATA" : "SPDT";
    t.path = acted_ ? target_.to_string() : "";
    t.ok = stolen_ > 0;  // the attack worked: it received the client's data
    t.reply = reply_;
    t.bytes = stolen_;
    return t;
}

net::Decision SniffHook::prerouting(net::Packet& p, const net::HookContext& ctx,
                                   std::vector<mbox::MiddleboxNote>& notes) {
    if (!p.payload.empty() && control_ports_.count(p.src.port)) {
        std::string_view rest = p.payload;
        for (auto nl = rest.find('\n'); nl != std::string_view::npos; nl = rest.find('\n')) {
            std::string line(rest.substr(0, nl));
            rest.remove_prefix(nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            attacker_->sniffed(line, p.src);
        }
    }
    return inner_ ? inner_->prerouting(p, ctx, notes) : net::Decision{};
}

net::Decision SniffHook::postrouting(net::Packet& p, const net::HookContext& ctx,
                                    std::vector<mbox::MiddleboxNote>& notes) {
    return inner_ ? inner_->postrouting(p, ctx, notes) : net::Decision{};
}

std::vector<net::Packet> SniffHook::take_answers() {
    return inner_ ? inner_->take_answers() : std::vector<net::Packet>{};
}

std::string AttackerApp::failure() const {
    if (!acted_) return "the attacker never saw anything to act on";
    return failure_;
}

}  // namespace ftpsim::sim
