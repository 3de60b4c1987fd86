#include "sim/run/build.hpp"

#include <stdexcept>

#include "protocol/codec.hpp"
#include "sim/scenario/loader.hpp"

namespace ftpsim::sim {

std::uint64_t hash_name(const std::string& s) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across platforms and runs
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

namespace {

const scenario::Interface* iface_facing(const scenario::NodeSpec& n, const scenario::NodeSpec& peer) {
    for (const auto& i : n.interfaces)
        for (const auto& j : peer.interfaces)
            if (i.address.prefix == j.address.prefix && i.address.contains(j.address.addr)) return &i;
    return nullptr;
}

std::string role_of(const scenario::Scenario& s, const scenario::NodeSpec& n) {
    for (const auto& sv : s.servers)
        if (sv.node == n.name) return "server";
    for (const auto& c : s.clients)
        if (c.node == n.name) return "client";
    if (n.kind == "router") {
        if (n.nat.enabled) return "nat";
        if (n.firewall.enabled) return "firewall";
        return "router";
    }
    return "host";
}

mbox::NatBehaviour behaviour(scenario::NatBehaviour b) {
    switch (b) {
        case scenario::NatBehaviour::EndpointIndependent: return mbox::NatBehaviour::EndpointIndependent;
        case scenario::NatBehaviour::AddressDependent: return mbox::NatBehaviour::AddressDependent;
        default: return mbox::NatBehaviour::AddressAndPortDependent;
    }
}

mbox::FwAction action_of(const std::string& a) {
    if (a == "drop") return mbox::FwAction::Drop;
    if (a == "reject") return mbox::FwAction::Reject;
    return mbox::FwAction::Accept;
}

}  // namespace

mbox::Firewall build_firewall(const scenario::FirewallSpec& spec) {
    mbox::Firewall fw(action_of(spec.policy));
    for (const auto& r : spec.rules) {
        mbox::FirewallRule rule;
        rule.action = action_of(r.action);
        rule.direction = r.direction == "in"    ? mbox::FwDirection::Inbound
                         : r.direction == "out" ? mbox::FwDirection::Outbound
                                                : mbox::FwDirection::Any;
        if (r.state == "new") rule.states = mbox::kCtNew;
        if (r.state == "established") rule.states = mbox::kCtEstablished;
        if (r.state == "related") rule.states = mbox::kCtRelated;
        if (r.src) rule.src = mbox::Prefix{r.src->addr, r.src->prefix};
        if (r.dst) rule.dst = mbox::Prefix{r.dst->addr, r.dst->prefix};
        if (r.sport) rule.sport = mbox::PortRange{r.sport->lo, r.sport->hi};
        if (r.dport) rule.dport = mbox::PortRange{r.dport->lo, r.dport->hi};
        rule.comment = r.comment;
        fw.add(rule);
    }
    return fw;
}

net::Topology build_topology(const scenario::Scenario& s) {
    net::Topology t;
    try {
        for (const auto& n : s.nodes) {
            std::string role = role_of(s, n);
            if (n.kind == "router") t.add_router(n.name, role);
            else t.add_host(n.name, role);
            if (n.local_ports) t.set_local_port_range(n.name, n.local_ports->lo, n.local_ports->hi);
            for (const auto& i : n.interfaces) t.add_interface(n.name, i.name, i.address.to_string());
        }
        for (const auto& l : s.links) {
            const auto& a = *s.node(l.a);
            const auto& b = *s.node(l.b);
            const auto* ia = iface_facing(a, b);
            const auto* ib = iface_facing(b, a);
            t.add_link(l.a + "-" + l.b, l.a, ia->name, l.b, ib->name, l.latency_ns, l.bandwidth_bps,
                       l.loss);
        }
        for (const auto& n : s.nodes) {
            if (n.gateway) t.add_route(n.name, "0.0.0.0/0", n.gateway->to_string());
            for (const auto& r : n.routes) t.add_route(n.name, r.to.to_string(), r.via.to_string());
        }
        t.validate();
    } catch (const net::TopologyError& e) {
        throw scenario::ScenarioError(scenario::Mark{s.file, 1, 1}, std::string("the network cannot be built: ") + e.what());
    }
    return t;
}

std::unique_ptr<mbox::Router> build_router(const scenario::NodeSpec& n) {
    if (n.kind != "router") return nullptr;
    const bool input_default = n.input_policy == "accept" && n.input_reject.empty();
    bool any = n.nat.enabled || n.alg.enabled || !n.forwards.empty() || n.firewall.enabled || !input_default;
    if (!any) return nullptr;
    mbox::RouterConfig c;
    c.name = n.name;
    if (n.input_reject == "icmp port-unreachable") c.closed_port = mbox::ClosedPortPolicy::IcmpPortUnreachable;
    else if (n.input_reject.empty() && n.input_policy == "drop") c.closed_port = mbox::ClosedPortPolicy::Drop;
    for (const auto& i : n.interfaces)
        c.interfaces.push_back({i.name, i.address.addr, i.address.prefix,
                                i.side == "inside" ? mbox::Realm::Inside : mbox::Realm::Outside});
    if (n.nat.enabled) {
        mbox::NatConfig nat;
        nat.mapping = behaviour(n.nat.mapping);
        nat.filtering = behaviour(n.nat.filtering);
        nat.port_preservation = n.nat.port_preservation;
        if (n.nat.ports) {
            nat.port_min = n.nat.ports->lo;
            nat.port_max = n.nat.ports->hi;
        }
        nat.timeouts.established = n.nat.timeout_established_ns;
        nat.timeouts.transitory = n.nat.timeout_transitory_ns;
        nat.hairpinning = n.nat.hairpin;
        c.nat = nat;
        // On Linux the NAT's state is its conntrack entry: an idle established connection loses
        // its translation when the entry times out, so the NAT's timeouts apply to conntrack.
        c.conntrack.established = n.nat.timeout_established_ns;
    }
    for (const auto& f : n.forwards) {
        mbox::PortForward pf;
        pf.external_lo = f.external.lo;
        pf.external_hi = f.external.hi;
        pf.internal_addr = f.to;
        pf.internal_lo = f.to_port ? f.to_port : f.external.lo;
        c.forwards.push_back(pf);
    }
    if (n.firewall.enabled) c.firewall = build_firewall(n.firewall);
    if (n.alg.enabled) {
        mbox::FtpAlgConfig alg;
        alg.ports = n.alg.ports;
        alg.loose = n.alg.loose;
        c.alg = alg;
    }
    return std::make_unique<mbox::Router>(std::move(c));
}

proto::Vfs build_vfs(const scenario::ServerSpec& s) {
    proto::Vfs vfs;
    for (const auto& f : s.files) {
        // Parent directories first, so a listing of /pub shows the file.
        for (std::size_t p = f.path.find('/', 1); p != std::string::npos; p = f.path.find('/', p + 1))
            if (!vfs.find(f.path.substr(0, p))) vfs.add_dir(f.path.substr(0, p));
        vfs.add_file(f.path, f.size);
    }
    vfs.set_quota(s.disk_quota);
    return vfs;
}

namespace {
bool option_bool(const scenario::ServerSpec& s, const std::string& key, bool& out) {
    auto it = s.options.find(key);
    if (it == s.options.end()) return false;
    const std::string& v = it->second;
    if (v == "true" || v == "yes" || v == "on" || v == "YES") out = true;
    else if (v == "false" || v == "no" || v == "off" || v == "NO") out = false;
    else
        throw scenario::ScenarioError(s.mark, "servers." + s.node + ".options." + key +
                                                  ": expected true or false, found '" + v + "'");
    return true;
}
}  // namespace

proto::ServerConfig build_server_config(const scenario::ServerSpec& s) {
    proto::ServerConfig c;
    auto profile = proto::server_profile_by_name(s.profile);
    c.profile = *profile;  // the loader accepts only known names
    if (s.passive_ports) {
        c.profile.pasv_min_port = s.passive_ports->lo;
        c.profile.pasv_max_port = s.passive_ports->hi;
    }
    if (s.pasv_address) c.profile.pasv_address = s.pasv_address;
    if (s.max_clients) c.max_users = static_cast<std::size_t>(*s.max_clients);
    c.await_listen = true;  // PASV is answered once the listener is bound, so busy ports are retried
    for (const auto& [name, text] : s.replies)
        if (auto err = proto::override_reply(c.profile, name, text))
            throw scenario::ScenarioError(s.mark, "servers." + s.node + ".replies." + name + ": " + *err);
    static const std::vector<std::pair<std::string, bool proto::ServerProfile::*>> knobs = {
        {"port_promiscuous", &proto::ServerProfile::port_promiscuous},
        {"pasv_promiscuous", &proto::ServerProfile::pasv_promiscuous},
        {"permit_foreign_addresses", nullptr},
        {"connect_from_port_20", &proto::ServerProfile::connect_from_port_20},
        {"default_data_port", &proto::ServerProfile::default_data_port},
        {"refuse_privileged_ports", &proto::ServerProfile::refuse_privileged_ports},
        {"supports_spsv", &proto::ServerProfile::supports_spsv},
        {"supports_tls", &proto::ServerProfile::supports_tls},
        {"supports_ccc", &proto::ServerProfile::supports_ccc},
    };
    for (const auto& [key, value] : s.options) {
        (void)value;
        bool known = false;
        for (const auto& [name, member] : knobs) {
            if (name != key) continue;
            known = true;
            bool v = false;
            option_bool(s, key, v);
            if (member) c.profile.*member = v;
            else c.profile.port_promiscuous = c.profile.pasv_promiscuous = v;  // pyftpdlib's one knob
        }
        if (!known) {
            std::vector<std::string> names;
            for (const auto& k : knobs) names.push_back(k.first);
            std::string near = scenario::nearest_key(key, names);
            std::string all;
            for (const auto& k : names) all += (all.empty() ? "" : ", ") + k;
            throw scenario::ScenarioError(
                s.mark, "servers." + s.node + ".options: unknown option '" + key + "'" +
                            (near.empty() ? "; expected one of " + all : " (did you mean '" + near + "'?)"));
        }
    }
    return c;
}

proto::DataMode build_mode(const std::string& mode) {
    if (mode == "default") return proto::DataMode::Default;
    if (mode == "rfc438") return proto::DataMode::Lstn;
    auto m = proto::parse_data_mode(mode);
    return m ? *m : proto::DataMode::Auto;
}

proto::ClientScript build_script(const scenario::ClientSpec& c) {
    proto::ClientScript out;
    for (const auto& line : c.script) {
        auto sp = line.find(' ');
        std::string verb = line.substr(0, sp);
        std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
        if (verb == "login" && rest.empty()) {
            out.push_back(proto::login(c.user, c.password));
            continue;
        }
        std::string text = line;
        if (verb == "mkdir") text = "raw MKD " + rest;
        if (verb == "delete") text = "raw DELE " + rest;
        if (verb == "size") text = "raw SIZE " + rest;
        if (verb == "noop") text = "raw NOOP";
        if (verb == "nlst") text = "ls " + rest;
        if (verb == "rename") {
            auto sp2 = rest.find(' ');
            out.push_back(proto::raw("RNFR " + rest.substr(0, sp2)));
            out.push_back(proto::raw("RNTO " + (sp2 == std::string::npos ? "" : rest.substr(sp2 + 1))));
            continue;
        }
        auto parsed = proto::parse_client_script(text);
        if (auto* err = std::get_if<proto::ScriptError>(&parsed))
            throw scenario::ScenarioError(c.mark, "clients." + c.node + ".script: '" + line + "': " + err->message);
        for (auto& a : std::get<proto::ClientScript>(parsed)) out.push_back(a);
    }
    return out;
}

proto::IpAddress source_address(const scenario::NodeSpec& n, const proto::IpAddress& dest) {
    for (const auto& i : n.interfaces)
        if (i.address.contains(dest)) return i.address.addr;
    if (n.gateway)
        for (const auto& i : n.interfaces)
            if (i.address.contains(*n.gateway)) return i.address.addr;
    return n.interfaces.front().address.addr;
}

}  // namespace ftpsim::sim
