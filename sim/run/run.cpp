#include "sim/run/run.hpp"

#include <algorithm>
#include <cctype>

#include <map>
#include <memory>
#include <set>
#include <utility>

#include "sim/mbox/firewall.hpp"
#include "sim/mbox/host_firewall.hpp"
#include "sim/net/link_down.hpp"
#include "sim/net/network.hpp"
#include "sim/net/attacker.hpp"
#include "sim/run/apps.hpp"
#include "sim/run/build.hpp"
#include "sim/run/diagnose.hpp"
#include "sim/scenario/loader.hpp"

namespace ftpsim::sim {

mbox::Firewall build_firewall(const scenario::FirewallSpec& spec);  // build.cpp

namespace {

// A router's middlebox pipeline as the network's packet hook. mbox::Router does PREROUTING,
// FORWARD and POSTROUTING in one call, so all of it runs at the prerouting hook; the network then
// routes the translated packet.
class RouterHook final : public net::PacketProcessor {
public:
    explicit RouterHook(std::unique_ptr<mbox::Router> r) : router_(std::move(r)) {}
    net::Decision prerouting(net::Packet& p, const net::HookContext& ctx,
                             std::vector<mbox::MiddleboxNote>& notes) override {
        // The packet as it arrived, for a reject's answer, without a copy of its payload (the
        // common verdict is Forward): its header fields, and the payload's length.
        std::string payload = std::exchange(p.payload, std::string());
        net::Packet original = p;
        p.payload = std::move(payload);
        const std::size_t original_len = p.payload.size();
        int out = -1;
        mbox::Verdict v = router_->process(p, ctx.in_iface, out, ctx.now, notes);
        if (v == mbox::Verdict::Forward) return {};
        std::string reason;
        trace::Fact fact = trace::Fact::None;
        for (const auto& n : notes)
            if (n.verdict != trace::Verdict::None) {
                reason = n.reason;
                fact = n.fact.fact;
            }
        if (v == mbox::Verdict::Reject || v == mbox::Verdict::RejectIcmp) {
            // The network answers with a RST from the original destination, or an ICMP; then the
            // packet goes no further. The answer reads the payload's length only (a RST's sequence
            // numbers), so an ALG's rewrite is cut back to the original length, not restored.
            payload = std::move(p.payload);
            p = std::move(original);
            p.payload = std::move(payload);
            p.payload.resize(original_len);
            return {v == mbox::Verdict::Reject ? net::Fate::Reject : net::Fate::RejectIcmp, reason, fact};
        }
        return {net::Fate::Drop, reason, fact};
    }
    const mbox::Router& router() const { return *router_; }

private:
    std::unique_ptr<mbox::Router> router_;
};

// A router's NAT64 as the network's packet hook: translated at PREROUTING, then routed in its new
// family.
class Nat64Hook final : public net::PacketProcessor {
public:
    explicit Nat64Hook(std::unique_ptr<mbox::Nat64> n) : nat64_(std::move(n)) {}
    // Its sessions as router tables: each IPv6 endpoint's binding (a NAT row) and each
    // connection's original tuple (a conntrack row), for the GUI's tables test.
    mbox::RouterSnapshot snapshot(trace::TimeNs at) const {
        mbox::RouterSnapshot snap;
        snap.at = at;
        for (const auto& s : nat64_->sessions()) {
            bool known = false;
            for (const auto& m : snap.nat) known = known || (m.internal == s.v6_src && m.external == s.v4_src);
            if (!known) {
                mbox::NatMapping m;
                m.id = s.id;
                m.internal = s.v6_src;
                m.external = s.v4_src;
                m.origin = "NAT64";
                snap.nat.push_back(m);
            }
            mbox::ConntrackEntry ct;
            ct.id = s.id;
            ct.original = {s.v6_src, s.v6_dst};
            ct.reply = {s.v4_dst, s.v4_src};
            if (s.from_v4) {  // its first packet came from the IPv4 side
                ct.original = {s.v4_dst, s.v4_src};
                ct.reply = {s.v6_src, s.v6_dst};
            }
            snap.conntrack.push_back(ct);
        }
        return snap;
    }
    net::Decision prerouting(net::Packet& p, const net::HookContext&, std::vector<mbox::MiddleboxNote>& notes) override {
        answers_.clear();
        if (nat64_->process(p, notes, &answers_) == mbox::Verdict::Forward) return {};
        net::Decision d{net::Fate::Drop, {}, trace::Fact::None};
        for (const auto& n : notes)
            if (n.verdict != trace::Verdict::None) {
                d.reason = n.reason;
                d.fact = n.fact.fact;
            }
        return d;
    }

    std::vector<net::Packet> take_answers() override { return std::exchange(answers_, {}); }

private:
    std::unique_ptr<mbox::Nat64> nat64_;
    std::vector<net::Packet> answers_;  // the FTP64 ALG's replies to the packet just processed
};

// A host's own packet filter (sim/mbox/host_firewall.hpp) as the node's packet hook: what the
// host receives at prerouting, what it sends itself at postrouting.
class HostFirewallHook final : public net::PacketProcessor {
public:
    explicit HostFirewallHook(mbox::HostFirewall fw) : fw_(std::move(fw)) {}
    net::Decision prerouting(net::Packet& p, const net::HookContext& ctx,
                             std::vector<mbox::MiddleboxNote>& notes) override {
        return decision(fw_.filter(p, ctx.in_iface, ctx.out_iface, mbox::FwDirection::Inbound, notes), notes);
    }
    net::Decision postrouting(net::Packet& p, const net::HookContext& ctx,
                              std::vector<mbox::MiddleboxNote>& notes) override {
        if (ctx.in_iface >= 0) return {};  // forwarded, not ours
        return decision(fw_.filter(p, ctx.in_iface, ctx.out_iface, mbox::FwDirection::Outbound, notes), notes);
    }

private:
    net::Decision decision(mbox::Verdict v, const std::vector<mbox::MiddleboxNote>& notes) const {
        if (v == mbox::Verdict::Forward) return {};
        return {v == mbox::Verdict::Drop ? net::Fate::Drop : net::Fate::Reject, fw_.node() + ": " + notes.back().reason,
                trace::Fact::FirewallVerdict};
    }

    mbox::HostFirewall fw_;
};

proto::ThirdPartyConfig third_party_config(const scenario::ClientSpec& c) {
    proto::ThirdPartyConfig tp;
    tp.dialect = c.mode == scenario::ClientMode::Rfc438   ? proto::ThirdPartyDialect::Rfc438
                 : c.mode == scenario::ClientMode::Rfc478 ? proto::ThirdPartyDialect::Rfc478
                                      : proto::ThirdPartyDialect::Rfc959;
    tp.receiver.user = tp.sender.user = c.user;
    tp.receiver.password = tp.sender.password = c.password;
    // The script's first get/append names the file: "get /src" copies /src to the same path,
    // "append PROG1.PL1 PROG2.PL1" names one path per server (RFC 438: RETR PROG1.PL1 at site 1,
    // APPE PROG2.PL1 at site 2). A number after the path is a size, not a path.
    for (const auto& step : c.script) {
        if (step.rfind("get ", 0) == 0 || step.rfind("append ", 0) == 0) {
            std::string rest = step.substr(step.find(' ') + 1);
            const auto sp = rest.find(' ');
            tp.source_path = tp.destination_path = rest.substr(0, sp);
            if (sp != std::string::npos) {
                std::string second = rest.substr(sp + 1);
                second = second.substr(0, second.find(' '));
                if (!second.empty() && !std::isdigit(static_cast<unsigned char>(second[0])))
                    tp.destination_path = second;
            }
            break;
        }
    }
    return tp;
}

struct Apps {
    std::vector<std::unique_ptr<ServerApp>> servers;
    // A client is freed once done (ClientApp::done): its slot becomes null and its report is kept
    // in `finished` (its transfers in finished_transfers), so a run holds the clients under way,
    // not every client it ran.
    std::vector<std::unique_ptr<ClientApp>> clients;
    struct Finished {  // a freed client's report (its slot in `clients` is null)
        bool all_ok = true;
        std::size_t first = 0, count = 0;  // its transfers in finished_transfers
    };
    std::vector<Finished> finished;
    std::vector<trace::Transfer> finished_transfers;
    std::vector<std::unique_ptr<ThirdPartyApp>> third_party;
    std::vector<std::unique_ptr<AttackerApp>> attackers;
};

// After the event in which client `index` became done: keep its report, free it.
void free_client(Apps& apps, std::size_t index) {
    auto& app = apps.clients[index];
    if (!app) return;
    if (!app->done()) {  // something later in that event gave it more to do
        app->rearm();
        return;
    }
    ClientReport r = app->report();
    Apps::Finished& f = apps.finished[index];
    f.all_ok = r.all_ok;
    f.first = apps.finished_transfers.size();
    f.count = r.transfers.size();
    for (auto& tr : r.transfers) apps.finished_transfers.push_back(std::move(tr));
    app.reset();
}

void add_attackers(net::Network& net, const scenario::Scenario& s, Apps& apps,
                   std::vector<std::unique_ptr<net::PacketProcessor>>& hooks,
                   std::map<std::string, net::PacketProcessor*>& hook_of) {
    std::set<std::uint16_t> control_ports;
    for (const auto& sv : s.servers) control_ports.insert(sv.port);
    for (const auto& a : s.attackers) {
        AttackerConfig cfg;
        cfg.node = a.node;
        cfg.steal = a.steal == scenario::StealKind::Data ? AttackerConfig::Steal::Data : AttackerConfig::Steal::Spdt;
        cfg.sniff = a.sniff;
        cfg.delay_ns = a.delay_ns;
        cfg.server = a.server;
        cfg.at_ns = a.at_ns;
        cfg.id = a.id;
        cfg.source_for = [node = *s.node(a.node)](const proto::IpAddress& dest) { return source_address(node, dest); };
        auto app = std::make_unique<AttackerApp>(std::move(cfg));
        AttackerApp* raw = app.get();
        net.on_start(a.node, [raw](net::Stack& st) { raw->start(st); });
        if (!a.sniff.empty()) {
            auto it = hook_of.find(a.sniff);
            hooks.push_back(std::make_unique<SniffHook>(it == hook_of.end() ? nullptr : it->second, raw, control_ports));
            hook_of[a.sniff] = hooks.back().get();
            net.set_processor(a.sniff, hooks.back().get());
        }
        apps.attackers.push_back(std::move(app));
    }
}

void add_server(net::Network& net, const scenario::Scenario& s, const scenario::ServerSpec& sv, Apps& apps) {
    const auto* node = s.node(sv.node);
    // A host with an IPv6 address listens on :: (vsftpd listen_ipv6=YES, pyftpdlib on "::"): one
    // dual-stack socket that takes both families (Linux bindv6only=0). Else on 0.0.0.0.
    proto::IpAddress any;
    for (const auto& i : node->interfaces)
        if (!i.address.addr.is_v4()) any.family = proto::IpAddress::Family::V6;
    auto app = std::make_unique<ServerApp>(net, sv.node, build_server_config(sv), build_vfs(sv),
                                           s.seed ^ hash_name(sv.node), any, sv.port);
    // Only an attacker ever makes a second connection to a passive port.
    app->model_listen_queue(!s.attackers.empty());
    ServerApp* raw = app.get();
    net.on_start(sv.node, [raw](net::Stack& st) { raw->start(st); });
    apps.servers.push_back(std::move(app));
}

void add_client(net::Network& net, const scenario::Scenario& s, const scenario::ClientSpec& c, Apps& apps) {
    const auto* node = s.node(c.node);
    const proto::IpAddress first = source_address(*node, c.server.addr);
    bool third_party = scenario::is_server_to_server(c.mode);
    for (int h = 0; h < std::max(c.hosts, 1); ++h)
    for (int k = 0; k < c.count; ++k) {
        // clients.*.hosts: host h has the h-th address from the first (the loader checked the range).
        const proto::IpAddress local =
            h == 0 ? first : proto::IpAddress::v4(first.v4_host_order() + static_cast<std::uint32_t>(h));
        std::function<void(net::Stack&)> starter;
        if (third_party) {
            auto app = std::make_unique<ThirdPartyApp>(net, c.node, third_party_config(c), local,
                                                       *c.second_server, c.server);
            ThirdPartyApp* raw = app.get();
            starter = [raw](net::Stack& st) { raw->start(st); };
            apps.third_party.push_back(std::move(app));
        } else {
            proto::ClientConfig cc;
            cc.profile = *proto::find_client_profile(c.profile);
            apply_client_options(c, cc.profile);
            cc.mode = build_mode(c.mode);
            cc.script = build_script(c);
            cc.announce_address = c.announce_address;
            std::pair<std::uint16_t, std::uint16_t> data_ports{0, 0};
            if (c.data_ports) data_ports = {c.data_ports->lo, c.data_ports->hi};
            auto app = std::make_unique<ClientApp>(net, c.node, std::move(cc), local, c.server,
                                                   k == 0 ? c.control_port : 0, data_ports);
            ClientApp* raw = app.get();
            starter = [raw](net::Stack& st) { raw->start(st); };
            const std::size_t index = apps.clients.size();
            raw->when_done([&apps, index](net::Stack& st) {
                st.after_event([&apps, index] { free_client(apps, index); });
            });
            apps.clients.push_back(std::move(app));
            apps.finished.emplace_back();
        }
        const std::int64_t at = c.start_ns + h * c.host_interval_ns;
        net.on_start(c.node, [starter, at](net::Stack& st) {
            if (at <= st.now()) starter(st);
            else st.schedule(at, [starter, &st] { starter(st); });
        });
    }
}

// hook_of: each node's packet hook, so a fault can wrap it.
void schedule_faults(net::Network& net, const scenario::Scenario& s, Apps& apps,
                     std::vector<std::unique_ptr<net::PacketProcessor>>& hooks,
                     std::map<std::string, net::PacketProcessor*>& hook_of) {
    for (const auto& f : s.faults) {
        if (f.kind == scenario::FaultKind::LinkDown) {
            const auto& topo = net.topology();
            bool found = false;
            for (const auto& l : topo.links()) {
                if (l.name != f.target) continue;
                found = true;
                for (const auto& end : {l.a, l.b}) {
                    const std::string& node = topo.nodes()[static_cast<std::size_t>(end.node)].name;
                    auto it = hook_of.find(node);
                    hooks.push_back(std::make_unique<net::LinkDown>(it == hook_of.end() ? nullptr : it->second,
                                                                   end.iface, l.name, f.at_ns, f.at_ns + f.duration_ns));
                    hook_of[node] = hooks.back().get();
                    net.set_processor(node, hooks.back().get());
                }
            }
            if (!found) {
                std::string names;
                for (const auto& l : topo.links()) names += (names.empty() ? "" : ", ") + l.name;
                throw scenario::ScenarioError(f.mark, "faults: no link named '" + f.target + "'; the links are " + names);
            }
            continue;
        }
        bool found = false;
        for (auto& sv : apps.servers) {
            if (sv->node() != f.target) continue;
            found = true;
            ServerApp* app = sv.get();
            if (f.kind == scenario::FaultKind::ServerRestart)
                net.on_start(f.target, [app, at = f.at_ns, back = f.at_ns + f.duration_ns](net::Stack& st) {
                    st.schedule(at, [app, &st] { app->shutdown(st); });
                    st.schedule(back, [app, &st] { app->restart(st); });
                });
            else if (f.kind == scenario::FaultKind::DiskFull)
                net.on_start(f.target, [app, at = f.at_ns](net::Stack& st) {
                    st.schedule(at, [app, &st] { app->fill_disk(st); });
                });
            else found = false;
        }
        for (std::size_t i = 0; i < apps.clients.size(); ++i) {
            if (apps.clients[i]->node() != f.target || f.kind != scenario::FaultKind::Reset) continue;
            found = true;
            // By index: a client done by then is freed (it has no data connection left to cut).
            net.on_start(f.target, [&apps, i, at = f.at_ns](net::Stack& st) {
                st.schedule(at, [&apps, i, &st] {
                    if (apps.clients[i]) apps.clients[i]->reset_data(st);
                });
            });
        }
        if (!found)
            throw scenario::ScenarioError(
                f.mark, "faults: a '" + std::string(scenario::name_of(f.kind)) + "' fault needs a target " +
                            (f.kind == scenario::FaultKind::Reset ? std::string("client node") : std::string("server node")) +
                            ", found '" + f.target + "'");
    }
}

void fill_outcome(const Apps& apps, trace::Trace& t) {
    bool ok = true;
    for (std::size_t i = 0; i < apps.clients.size(); ++i) {
        if (!apps.clients[i]) {
            const Apps::Finished& f = apps.finished[i];
            ok = ok && f.all_ok;
            for (std::size_t k = 0; k < f.count; ++k) t.outcome.transfers.push_back(apps.finished_transfers[f.first + k]);
            continue;
        }
        ClientReport r = apps.clients[i]->report();
        ok = ok && r.all_ok;
        for (auto& tr : r.transfers) t.outcome.transfers.push_back(tr);
    }
    for (const auto& c : apps.third_party) {
        ClientReport r = c->report();
        ok = ok && r.all_ok;
        for (auto& tr : r.transfers) t.outcome.transfers.push_back(tr);
    }
    for (const auto& tr : t.outcome.transfers) ok = ok && tr.ok;
    t.outcome.ok = ok && t.outcome.limit_reached.empty();
    // The attackers' attempts are listed after the clients' transfers (ok: the attacker received
    // data); they do not count towards the outcome, which is the legitimate clients'.
    for (const auto& a : apps.attackers) t.outcome.transfers.push_back(a->attempt());
}

// The simulation proper; the Network (and its SimGrid engine) is gone when it returns, so the
// diagnosis can run the scenario again.
trace::Trace simulate(const scenario::Scenario& s, const RunOptions& o,
                      std::vector<std::pair<std::string, mbox::RouterSnapshot>>* router_tables = nullptr) {
    net::NetConfig cfg;
    cfg.seed = s.seed;
    cfg.scenario = s.name;
    cfg.title = s.title;
    cfg.record_segments = o.record_segments;
    cfg.tcp.mss = s.tcp.mss;
    cfg.tcp.header_bytes = s.tcp.header_bytes;
    cfg.tcp.send_window = s.tcp.window;
    cfg.tcp.connect_timeout_ns = s.tcp.connect_timeout_ns;
    cfg.tcp.syn_retries = s.tcp.syn_retries;
    net::Network net(build_topology(s), cfg);

    std::map<std::string, net::PacketProcessor*> hook_of;
    std::vector<std::unique_ptr<net::PacketProcessor>> hooks;
    std::vector<std::pair<std::string, const RouterHook*>> routers;
    std::vector<std::pair<std::string, const Nat64Hook*>> nat64s;
    for (const auto& n : s.nodes) {
        if (auto r = build_router(n)) {
            hooks.push_back(std::make_unique<RouterHook>(std::move(r)));
            routers.emplace_back(n.name, static_cast<const RouterHook*>(hooks.back().get()));
            net.set_processor(n.name, hooks.back().get());
            hook_of[n.name] = hooks.back().get();
        } else if (auto n64 = build_nat64(n)) {
            hooks.push_back(std::make_unique<Nat64Hook>(std::move(n64)));
            nat64s.emplace_back(n.name, static_cast<const Nat64Hook*>(hooks.back().get()));
            net.set_processor(n.name, hooks.back().get());
            hook_of[n.name] = hooks.back().get();
        } else if (n.kind == scenario::NodeKind::Host && n.firewall.enabled) {
            hooks.push_back(std::make_unique<HostFirewallHook>(mbox::HostFirewall(n.name, build_firewall(n.firewall))));
            net.set_processor(n.name, hooks.back().get());
            hook_of[n.name] = hooks.back().get();
        }
    }
    Apps apps;
    for (const auto& sv : s.servers) add_server(net, s, sv, apps);
    for (const auto& c : s.clients) add_client(net, s, c, apps);
    schedule_faults(net, s, apps, hooks, hook_of);
    add_attackers(net, s, apps, hooks, hook_of);

    net.set_memory_budget(s.limits.memory_bytes);
    trace::Trace t = net.run(s.limits.time_ns, s.limits.events);
    bool nat = false, icmp = false;
    for (const auto& n : s.nodes) {
        nat = nat || n.nat.enabled;
        icmp = icmp || n.input_reject == scenario::InputReject::IcmpPortUnreachable;
    }
    if (nat)
        t.model_notes.push_back(
            "NAT: a source port is kept when no mapping holds it and a clash takes the next free port of its class "
            "(Linux counts clashes per whole tuple and starts at a random offset)");
    if (std::any_of(s.nodes.begin(), s.nodes.end(), [](const scenario::NodeSpec& n) { return n.nat64.enabled; }))
        t.model_notes.push_back(
            "NAT64: a /96 prefix only, one IPv4 pool address, endpoint-independent mapping keeping the port when free, "
            "inbound only through a session the IPv6 side opened; sessions do not expire within a run; ICMP is not "
            "translated");
    if (std::any_of(s.nodes.begin(), s.nodes.end(), [](const scenario::NodeSpec& n) { return n.nat64.enabled && n.nat64.ftp_alg; }))
        t.model_notes.push_back(
            "FTP64 ALG: modelled from RFC 6384's abstract (its full text was not available), Jool's implementation "
            "(EPSV->PASV, 227->229 or 425, EPRT->PORT with a binding, its 216/504/522 replies) and the A10 Thunder's "
            "options; our choices: it reads only segments made of whole lines, an unknown ALGS argument is passed on, "
            "a binding admits the data connection from any IPv4 host and lasts the run, its replies are not "
            "retransmitted");
    for (const auto& c : s.clients)
        if (c.hosts > 1) {
            t.model_notes.push_back("clients." + c.node + ".hosts: " + std::to_string(c.hosts) +
                                    " hosts with consecutive addresses, each with its own ephemeral ports and " +
                                    std::to_string(c.count) + " client(s), share node " + c.node +
                                    " (one lane) and its links, as behind one switch");
            break;
        }
    if (icmp)
        t.model_notes.push_back(
            "ICMP: only the port unreachable of a router's reject rule; its quote names the TCP segment's endpoints "
            "and sequence number; routers pass it without filtering");
    if (std::any_of(t.events.begin(), t.events.end(), [](const trace::Event& e) {
            return e.fact == trace::Fact::ClientRetry && e.state == "retry-transfer";
        }))
        t.model_notes.push_back(
            "lftp's retry of a failed transfer: the wait is always net:reconnect-interval-base after the previous "
            "try's start (no multiplier), and of the script's actions before it only the logins are repeated");
    t.scenario = s.name;
    t.title = s.title;
    t.seed = s.seed;
    fill_outcome(apps, t);
    if (router_tables) {
        const trace::TimeNs end = t.events.empty() ? 0 : t.events.back().time_ns;
        for (const auto& [name, hook] : routers) router_tables->emplace_back(name, hook->router().snapshot(end));
        for (const auto& [name, hook] : nat64s) router_tables->emplace_back(name, hook->snapshot(end));
    }
    return t;
}

}  // namespace

trace::Trace run_with_router_tables(const scenario::Scenario& s,
                                    std::vector<std::pair<std::string, mbox::RouterSnapshot>>& tables) {
    tables.clear();
    return simulate(s, RunOptions{}, &tables);
}

trace::Trace run(const scenario::Scenario& s, const RunOptions& o) {
    trace::Trace t = simulate(s, o);
    if (o.diagnose && !t.outcome.ok) diagnose(s, t, o.verify_fixes);
    if (o.diagnose) review_security(s, t, o.verify_fixes);
    return t;
}

}  // namespace ftpsim::sim
