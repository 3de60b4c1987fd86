#include "sim/run/build.hpp"

#include <algorithm>
#include <memory>
#include <cstdlib>
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
    if (n.kind == scenario::NodeKind::Router) {
        if (n.nat.enabled) return "nat";
        if (n.firewall.enabled) return "firewall";
        return "router";
    }
    return "host";
}

}  // namespace

mbox::Firewall build_firewall(const scenario::FirewallSpec& spec) {
    mbox::Firewall fw(spec.policy);
    for (const auto& r : spec.rules) {
        mbox::FirewallRule rule;
        rule.action = r.action;
        rule.direction = r.direction;
        rule.states = r.state;
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
            if (n.kind == scenario::NodeKind::Router) t.add_router(n.name, role);
            else t.add_host(n.name, role);
            if (n.local_ports) t.set_local_port_range(n.name, n.local_ports->lo, n.local_ports->hi);
            for (const auto& i : n.interfaces) {
                // clients.*.hosts: the interface towards the server holds the hosts' addresses.
                std::uint32_t count = 1;
                for (const auto& c : s.clients)
                    if (c.node == n.name && c.hosts > 1 && &scenario::client_interface(n, c.server.addr) == &i)
                        count = std::max(count, static_cast<std::uint32_t>(c.hosts));
                t.add_interface(n.name, i.name, i.address.to_string(), count);
            }
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
            if (n.gateway) t.add_route(n.name, n.gateway->is_v4() ? "0.0.0.0/0" : "::/0", n.gateway->to_string());
            for (const auto& r : n.routes) t.add_route(n.name, r.to.to_string(), r.via.to_string());
        }
        t.validate();
    } catch (const net::TopologyError& e) {
        throw scenario::ScenarioError(scenario::Mark{s.file, 1, 1}, std::string("the network cannot be built: ") + e.what());
    }
    return t;
}

std::unique_ptr<mbox::Nat64> build_nat64(const scenario::NodeSpec& n) {
    if (n.kind != scenario::NodeKind::Router || !n.nat64.enabled) return nullptr;
    mbox::Nat64Config c;
    c.name = n.name;
    c.prefix = {n.nat64.prefix.addr, n.nat64.prefix.prefix};
    c.ftp_alg.enabled = n.nat64.ftp_alg;
    c.ftp_alg.requires_algs = n.nat64.alg_requires_algs;
    for (const auto& i : n.interfaces)
        if (i.side == mbox::Realm::Outside && i.address.addr.is_v4()) {
            c.pool = i.address.addr;
            break;
        }
    return std::make_unique<mbox::Nat64>(c);
}

std::unique_ptr<mbox::Router> build_router(const scenario::NodeSpec& n) {
    if (n.kind != scenario::NodeKind::Router) return nullptr;
    using scenario::InputPolicy, scenario::InputReject;
    const bool input_default = n.input_policy == InputPolicy::Accept && n.input_reject == InputReject::None;
    bool any = n.nat.enabled || n.alg.enabled || !n.forwards.empty() || n.firewall.enabled || !input_default;
    if (!any) return nullptr;
    mbox::RouterConfig c;
    c.name = n.name;
    if (n.input_reject == InputReject::IcmpPortUnreachable) c.closed_port = mbox::ClosedPortPolicy::IcmpPortUnreachable;
    else if (n.input_reject == InputReject::None && n.input_policy == InputPolicy::Drop)
        c.closed_port = mbox::ClosedPortPolicy::Drop;
    for (const auto& i : n.interfaces)  // the loader gives every router interface its side
        c.interfaces.push_back({i.name, i.address.addr, i.address.prefix, i.side.value_or(mbox::Realm::Outside)});
    if (n.nat.enabled) {
        c.nat = n.nat.config;
        // On Linux the NAT's state is its conntrack entry: an idle established connection loses
        // its translation when the entry times out, so the NAT's timeouts apply to conntrack.
        c.conntrack.established = n.nat.config.timeouts.established;
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
        alg.forms.clear();
        for (const auto& f : n.alg.forms)
            alg.forms.push_back(f == "PORT"  ? mbox::FtpAddressForm::Port
                                : f == "EPRT" ? mbox::FtpAddressForm::Eprt
                                : f == "227"  ? mbox::FtpAddressForm::Pasv227
                                              : mbox::FtpAddressForm::Epsv229);
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
    // Timeouts as the daemons name them (vsftpd.conf, pyftpdlib's class attributes): seconds, or
    // a duration with its unit ("500ms").
    static const std::vector<std::pair<std::string, proto::Time proto::ServerProfile::*>> timeouts = {
        {"connect_timeout", &proto::ServerProfile::connect_timeout},
        {"accept_timeout", &proto::ServerProfile::accept_timeout},
        {"idle_session_timeout", &proto::ServerProfile::idle_session_timeout},
        {"data_connection_timeout", &proto::ServerProfile::data_connection_timeout},
        {"ActiveDTP.timeout", &proto::ServerProfile::connect_timeout},
        {"PassiveDTP.timeout", &proto::ServerProfile::accept_timeout},
        {"FTPHandler.timeout", &proto::ServerProfile::idle_session_timeout},
        {"DTPHandler.timeout", &proto::ServerProfile::data_connection_timeout},
    };
    for (const auto& [key, value] : s.options) {
        bool known = false;
        if (key == "users") {
            // Local accounts as "name:password" pairs, comma-separated (the seeds' u001:xyz).
            for (std::size_t at = 0; at <= value.size();) {
                std::size_t comma = value.find(',', at);
                if (comma == std::string::npos) comma = value.size();
                const std::string pair = value.substr(at, comma - at);
                const std::size_t colon = pair.find(':');
                if (colon == std::string::npos || colon == 0)
                    throw scenario::ScenarioError(s.mark, "servers." + s.node + ".options.users: expected "
                                                              "name:password pairs, found '" + pair + "'");
                c.users[pair.substr(0, colon)] = pair.substr(colon + 1);
                at = comma + 1;
            }
            continue;
        }
        if (key == "spsv_ids") {
            // The identifiers the server hands out, in order (a comma-separated list), so a
            // scenario can show a document's exchange (draft-rosenau's "xYab1234"); after the
            // list, random ones as usual.
            std::vector<std::string> ids;
            for (std::size_t at = 0; at <= value.size();) {
                std::size_t comma = value.find(',', at);
                if (comma == std::string::npos) comma = value.size();
                std::string id = value.substr(at, comma - at);
                if (!proto::is_valid_spsv_id(id))
                    throw scenario::ScenarioError(s.mark, "servers." + s.node + ".options.spsv_ids: '" + id +
                                                              "' is not an SPSV identifier (1 to 32 printable "
                                                              "characters, no parentheses or colons)");
                ids.push_back(std::move(id));
                at = comma + 1;
            }
            auto next = std::make_shared<std::size_t>(0);
            c.spsv_id_generator = [ids, next](const proto::RandomSource& random) {
                if (*next < ids.size()) return ids[(*next)++];
                return proto::default_spsv_id(random);
            };
            continue;
        }
        if (key == "ftp_data_port") {
            char* end = nullptr;
            const long port = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end || port < 1 || port > 65535)
                throw scenario::ScenarioError(s.mark, "servers." + s.node + ".options.ftp_data_port: expected a port "
                                                      "1-65535, found '" + value + "'");
            c.profile.ftp_data_port = static_cast<std::uint16_t>(port);
            continue;
        }
        for (const auto& [name, member] : timeouts) {
            if (name != key) continue;
            known = true;
            std::int64_t ns = 0;
            char* end = nullptr;
            const long secs = std::strtol(value.c_str(), &end, 10);
            if (!value.empty() && !*end && secs >= 0 && secs <= 86400) ns = secs * 1'000'000'000LL;
            else if (!scenario::parse_duration(value, ns) || ns < 0)
                throw scenario::ScenarioError(s.mark, "servers." + s.node + ".options." + key +
                                                          ": expected seconds (60) or a duration (500ms), found '" +
                                                          value + "'");
            c.profile.*member = ns;
        }
        if (known) continue;
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
            names.push_back("ftp_data_port");
            for (const auto& k : timeouts) names.push_back(k.first);
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

namespace {
// An option's value as its type reads it (proto::ClientOptionType); the error says what was expected.
proto::ClientOptionValue option_value(const scenario::ClientSpec& c, const std::string& key, const std::string& v,
                                      proto::ClientOptionType type) {
    using T = proto::ClientOptionType;
    proto::ClientOptionValue out;
    const auto fail = [&](const std::string& expected) {
        throw scenario::ScenarioError(c.mark, "clients." + c.node + ".options." + key + ": expected " + expected +
                                                  ", found '" + v + "'");
    };
    char* end = nullptr;
    switch (type) {
        case T::Seconds: {
            // seconds ("60", "0.5" as curl takes them) or a duration ("500ms")
            const double secs = std::strtod(v.c_str(), &end);
            std::int64_t ns = 0;
            if (!v.empty() && !*end && secs >= 0 && secs <= 86400) out.duration = static_cast<proto::Time>(secs * 1e9 + 0.5);
            else if (scenario::parse_duration(v, ns) && ns >= 0) out.duration = ns;
            else fail("seconds (60, 0.5) or a duration (500ms)");
            break;
        }
        case T::Flag:
            if (v == "true" || v == "yes" || v == "on" || v == "True") out.flag = true;
            else if (v == "false" || v == "no" || v == "off" || v == "False") out.flag = false;
            else fail("true or false");
            break;
        case T::Tries: {
            const long n = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end || n < 0 || n > 100000) fail("a number of tries (0 = unlimited, 1 = no retry)");
            out.tries = static_cast<unsigned>(n);
            break;
        }
        case T::Multiplier: {
            const double m = std::strtod(v.c_str(), &end);
            if (v.empty() || *end || m < 1 || m > 100) fail("a multiplier from 1 to 100");
            out.factor = m;
            break;
        }
    }
    return out;
}
}  // namespace

void apply_client_options(const scenario::ClientSpec& c, proto::ClientProfile& p) {
    // The options table is the client profiles' registry (proto::client_options()).
    for (const auto& [key, value] : c.options) {
        const proto::ClientOption* found = proto::find_client_option(key, c.profile);
        if (!found) {
            std::vector<std::string> names;
            for (const auto& o : proto::client_options())
                if (c.profile == o.profile) names.emplace_back(o.name);
            std::string all;
            for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
            const std::string near = scenario::nearest_key(key, names);
            throw scenario::ScenarioError(c.mark, "clients." + c.node + ".options: unknown option '" + key + "' for " +
                                                      c.profile + (near.empty() ? (all.empty() ? std::string(" (it has none)") : "; expected one of " + all)
                                                                                : " (did you mean '" + near + "'?)"));
        }
        if (c.profile != found->profile)
            throw scenario::ScenarioError(c.mark, "clients." + c.node + ".options." + key + ": an option of " +
                                                      std::string(found->profile) + ", but the client's profile is " + c.profile);
        found->apply(p, option_value(c, key, value, found->type));
    }
}

proto::DataMode build_mode(scenario::ClientMode mode) {
    using M = scenario::ClientMode;
    switch (mode) {
        case M::Port: return proto::DataMode::Port;
        case M::Eprt: return proto::DataMode::Eprt;
        case M::Pasv: return proto::DataMode::Pasv;
        case M::Epsv: return proto::DataMode::Epsv;
        case M::EpsvAll: return proto::DataMode::EpsvAll;
        case M::Spsv: return proto::DataMode::Spsv;
        case M::Default: return proto::DataMode::Default;
        case M::Rfc438: return proto::DataMode::Lstn;
        case M::Fxp:
        case M::Rfc478: break;
    }
    return proto::DataMode::Auto;
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
