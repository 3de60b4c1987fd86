#include "sim/scenario/loader.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "protocol/codec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>


namespace ftpsim::scenario {

namespace {
// A message quotes the file's values: NUL and other control characters (a "\0" escape in a
// quoted YAML string) are shown as \xNN, so printing the message cannot cut or garble it.
std::string escape_controls(const std::string& text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}
}  // namespace

ScenarioError::ScenarioError(Mark mark, const std::string& message)
    : std::runtime_error(escape_controls(mark.file) + ":" + std::to_string(mark.line) + ":" +
                         std::to_string(mark.column) + ": " + escape_controls(message)),
      mark_(std::move(mark)),
      message_(escape_controls(message)) {}

bool Cidr::contains(const proto::IpAddress& a) const {
    if (a.family != addr.family) return false;
    int bits = prefix;
    for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
        std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
        if ((a.bytes[i] & mask) != (addr.bytes[i] & mask)) return false;
    }
    return true;
}

std::string Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix); }

const NodeSpec* Scenario::node(const std::string& n) const {
    for (const auto& x : nodes)
        if (x.name == n) return &x;
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Value parsers
// ---------------------------------------------------------------------------------------------
namespace {

bool split_number_unit(std::string_view text, double& number, std::string_view& unit) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    std::size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        ++i;
    if (i == 0) return false;
    // An exponent ("1e18s"): read, so that a value out of range is reported as such.
    if (i + 1 < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        std::size_t j = i + 1;
        if (text[j] == '+' || text[j] == '-') ++j;
        if (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) {
            while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
            i = j;
        }
    }
    auto [p, ec] = std::from_chars(text.data(), text.data() + i, number);
    if (ec != std::errc() || p != text.data() + i || !std::isfinite(number)) return false;
    unit = text.substr(i);
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    return true;
}

struct Unit {
    std::string_view name;
    double factor;
};

bool scaled(std::string_view text, std::initializer_list<Unit> units, double& out) {
    double n = 0;
    std::string_view unit;
    if (!split_number_unit(text, n, unit)) return false;
    for (const auto& u : units)
        if (unit == u.name) {
            out = n * u.factor;
            return true;
        }
    return false;
}

}  // namespace

bool parse_duration(std::string_view text, std::int64_t& ns) {
    double v = 0;
    if (!scaled(text, {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"min", 60e9}, {"h", 3600e9}},
                v))
        return false;
    if (v > 1e18) return false;
    ns = static_cast<std::int64_t>(std::llround(v));
    return true;
}

bool parse_bandwidth(std::string_view text, double& bps) {
    if (!scaled(text,
                {{"bit/s", 1}, {"bps", 1}, {"kbit/s", 1e3}, {"kbps", 1e3}, {"Mbit/s", 1e6},
                 {"Mbps", 1e6}, {"Gbit/s", 1e9}, {"Gbps", 1e9}},
                bps))
        return false;
    return bps > 0;
}

bool parse_size(std::string_view text, std::uint64_t& bytes) {
    double v = 0;
    if (!scaled(text,
                {{"", 1}, {"B", 1}, {"kB", 1e3}, {"KiB", 1024}, {"MB", 1e6}, {"MiB", 1048576},
                 {"GB", 1e9}, {"GiB", 1073741824.0}},
                v))
        return false;
    if (v > 1e15 || v != std::floor(v)) return false;
    bytes = static_cast<std::uint64_t>(v);
    return true;
}

std::string nearest_key(std::string_view key, const std::vector<std::string>& known) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diag = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                std::size_t up = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
                diag = up;
            }
        }
        return row[b.size()];
    };
    std::string best;
    std::size_t best_d = std::max<std::size_t>(2, key.size() / 3) + 1;
    for (const auto& k : known) {
        std::size_t d = distance(key, k);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    return best;
}

// ---------------------------------------------------------------------------------------------
// The reader: walks the YAML tree, remembers which keys it asked for, reports the rest.
// ---------------------------------------------------------------------------------------------
namespace {

struct Override {
    std::string path;  // "nodes.home-router.alg.enabled"
    std::string text;  // the whole --set argument
};

class Context {
public:
    std::string file;
    std::vector<Override> overrides;

    Mark mark_of(const YAML::Node& n, const std::string& path) const {
        for (const auto& o : overrides)
            if (path == o.path || path.rfind(o.path + ".", 0) == 0)
                return Mark{"--set " + o.text, 1, static_cast<int>(o.path.size()) + 2};
        if (!n.IsDefined() || n.Mark().is_null()) return Mark{file, 0, 0};
        return Mark{file, n.Mark().line + 1, n.Mark().column + 1};
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& path,
                           const std::string& msg) const {
        throw ScenarioError(mark_of(n, path), msg);
    }
};

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "nothing";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
        default: return "an undefined value";
    }
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

class Value {
public:
    Value(const Context& ctx, YAML::Node node, std::string path)
        : ctx_(ctx), node_(std::move(node)), path_(std::move(path)) {}

    const YAML::Node& node() const { return node_; }
    const std::string& path() const { return path_; }
    const Context& ctx() const { return ctx_; }
    Mark mark() const { return ctx_.mark_of(node_, path_); }
    [[noreturn]] void fail(const std::string& msg) const { ctx_.fail(node_, path_, msg); }
    [[noreturn]] void expected(const std::string& what) const {
        fail(path_ + ": expected " + what + ", found " + describe(node_));
    }

    std::string scalar(const char* what = "a text") const {
        if (!node_.IsScalar()) expected(what);
        return node_.Scalar();
    }
    std::string str() const { return scalar(); }
    bool boolean() const {
        std::string s = scalar("true or false");
        if (s == "true" || s == "on" || s == "yes") return true;
        if (s == "false" || s == "off" || s == "no") return false;
        expected("true or false");
    }
    std::int64_t integer(std::int64_t lo, std::int64_t hi, const char* what = nullptr) const {
        std::string s = scalar("a whole number");
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        std::string range = what ? std::string(what)
                                 : "a whole number from " + std::to_string(lo) + " to " +
                                       std::to_string(hi);
        if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) expected(range);
        return v;
    }
    std::uint16_t port() const {
        return static_cast<std::uint16_t>(integer(1, 65535, "a port number from 1 to 65535"));
    }
    PortRange port_range() const {
        std::string s = scalar("a port or a port range like 30000-30009");
        auto dash = s.find('-');
        auto one = [&](std::string_view t, std::uint16_t& out) {
            unsigned v = 0;
            auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (ec != std::errc() || p != t.data() + t.size() || v < 1 || v > 65535) return false;
            out = static_cast<std::uint16_t>(v);
            return true;
        };
        PortRange r;
        std::string_view sv(s);
        bool ok = dash == std::string::npos
                      ? one(sv, r.lo) && (r.hi = r.lo, true)
                      : one(sv.substr(0, dash), r.lo) && one(sv.substr(dash + 1), r.hi) &&
                            r.lo <= r.hi;
        if (!ok) expected("a port (1-65535) or a port range like 30000-30009");
        return r;
    }
    std::int64_t duration() const {
        std::int64_t ns = 0;
        const std::string text = scalar("a duration");
        if (!parse_duration(text, ns) || ns < 0) {
            double v = 0;
            if (scaled(text, {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"min", 60e9}, {"h", 3600e9}}, v))
                expected("a duration from 0s to 1000000000s (about 31 years)");
            expected("a duration with a unit (e.g. 10ms, 1.5s, 2min)");
        }
        return ns;
    }
    double bandwidth() const {
        double bps = 0;
        if (!parse_bandwidth(scalar("a bandwidth"), bps))
            expected("a bandwidth with a unit (e.g. 10Mbit/s, 1Gbps)");
        return bps;
    }
    std::uint64_t size() const {
        std::uint64_t b = 0;
        const std::string text = scalar("a size");
        if (!parse_size(text, b)) {
            double v = 0;
            if (scaled(text, {{"", 1}, {"B", 1}, {"kB", 1e3}, {"KiB", 1024}, {"MB", 1e6}, {"MiB", 1048576},
                              {"GB", 1e9}, {"GiB", 1073741824.0}}, v) && v == std::floor(v))
                expected("a size from 0 to 1000000000000000 bytes (1e15)");
            expected("a size in bytes (e.g. 65536, 64KiB, 10MiB)");
        }
        return b;
    }
    // A file the simulator transfers: its bytes are held in memory while it moves (several
    // copies), so it is limited to kMaxSimulatedFile (docs/reliability.md).
    std::uint64_t file_size() const {
        const std::uint64_t b = size();
        if (b > kMaxSimulatedFile)
            expected("a simulated file size from 0 to 256MiB (" + std::to_string(kMaxSimulatedFile) +
                     " bytes: a transferred file is held in memory)");
        return b;
    }
    double probability() const {
        std::string s = scalar("a probability");
        double v = -1;
        bool pct = !s.empty() && s.back() == '%';
        std::string_view num(s.data(), s.size() - (pct ? 1 : 0));
        auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
        if (ec != std::errc() || p != num.data() + num.size()) v = -1;
        if (pct) v /= 100;
        if (!(v >= 0 && v <= 1)) expected("a probability from 0 to 1 (or a percentage like 2%)");
        return v;
    }
    proto::IpAddress address() const {
        auto a = proto::parse_ip(scalar("an IP address"));
        if (!a) expected("an IP address like 192.168.1.10");
        return *a;
    }
    Cidr cidr() const {
        std::string s = scalar("an address with a prefix length");
        auto slash = s.find('/');
        Cidr c;
        auto a = proto::parse_ip(std::string_view(s).substr(0, slash));
        int maxp = a && a->is_v4() ? 32 : 128;
        bool ok = a.has_value();
        if (ok && slash != std::string::npos) {
            std::string_view ps = std::string_view(s).substr(slash + 1);
            auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), c.prefix);
            ok = ec == std::errc() && p == ps.data() + ps.size() && c.prefix >= 0 &&
                 c.prefix <= maxp;
        } else {
            c.prefix = maxp;
        }
        if (!ok) expected("an address with a prefix length like 192.168.1.10/24");
        c.addr = *a;
        return c;
    }
    proto::HostPort host_port() const {
        std::string s = scalar("an address:port");
        auto colon = s.rfind(':');
        proto::HostPort hp;
        std::optional<proto::IpAddress> a;
        unsigned port = 0;
        bool ok = false;
        if (colon != std::string::npos) {
            std::string_view host = std::string_view(s).substr(0, colon);
            if (host.size() > 2 && host.front() == '[' && host.back() == ']')
                host = host.substr(1, host.size() - 2);
            a = proto::parse_ip(host);
            std::string_view ps = std::string_view(s).substr(colon + 1);
            auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
            ok = a && ec == std::errc() && p == ps.data() + ps.size() && port >= 1 && port <= 65535;
        }
        if (!ok) expected("an address:port like 203.0.113.10:21");
        hp.addr = *a;
        hp.port = static_cast<std::uint16_t>(port);
        return hp;
    }
    std::string one_of(const std::vector<std::string>& choices) const {
        std::string s = scalar("a text");
        if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
            std::string near = nearest_key(s, choices);
            fail(path_ + ": expected one of " + join(choices) + ", found '" + s + "'" +
                 (near.empty() ? "" : " (did you mean '" + near + "'?)"));
        }
        return s;
    }

    // Elements of a list (a single scalar counts as a list of one where `lenient`).
    std::vector<Value> list(const char* what) const {
        std::vector<Value> out;
        if (!node_.IsSequence()) expected(std::string("a list of ") + what);
        std::size_t i = 0;
        for (const auto& e : node_) out.emplace_back(ctx_, e, path_ + "." + std::to_string(i++));
        return out;
    }

protected:
    const Context& ctx_;
    YAML::Node node_;
    std::string path_;
};

class Map : public Value {
public:
    Map(const Context& ctx, const YAML::Node& node, const std::string& path)
        : Value(ctx, node, path) {
        if (!node.IsMap()) expected("a mapping of keys to values");
        check_duplicates();
    }
    Map(const Value& v) : Map(v.ctx(), v.node(), v.path()) {}

    // The value of `key`, or nullopt when absent. Every key asked for is a known key.
    std::optional<Value> get(const std::string& key) {
        known_.push_back(key);
        for (const auto& kv : node_)
            if (kv.first.Scalar() == key) return Value(ctx_, kv.second, sub(key));
        return std::nullopt;
    }
    Value need(const std::string& key) {
        auto v = get(key);
        if (!v) fail((path_.empty() ? "the scenario" : path_) + ": missing required key '" + key + "'");
        return *v;
    }
    // Entries of a mapping keyed by name, in document order.
    std::vector<std::pair<std::string, Value>> entries() const {
        std::vector<std::pair<std::string, Value>> out;
        for (const auto& kv : node_)
            out.emplace_back(kv.first.Scalar(), Value(ctx_, kv.second, sub(kv.first.Scalar())));
        return out;
    }
    // Reports the first key nobody asked for, with the nearest known one.
    void done() const {
        for (const auto& kv : node_) {
            const std::string& k = kv.first.Scalar();
            if (std::find(known_.begin(), known_.end(), k) != known_.end()) continue;
            std::string near = nearest_key(k, known_);
            ctx_.fail(kv.first, sub(k),
                      "unknown key '" + k + "' in " + (path_.empty() ? "the scenario" : path_) +
                          (near.empty() ? "; expected one of: " + join(known_)
                                        : " (did you mean '" + near + "'?)"));
        }
    }

private:
    std::string sub(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
    void check_duplicates() const {
        std::set<std::string> seen;
        for (const auto& kv : node_) {
            if (!kv.first.IsScalar()) ctx_.fail(kv.first, path_, "keys must be plain words");
            if (!seen.insert(kv.first.Scalar()).second)
                ctx_.fail(kv.first, sub(kv.first.Scalar()),
                          "duplicate key '" + kv.first.Scalar() + "'");
        }
    }
    std::vector<std::string> known_;
};

}  // namespace
}  // namespace ftpsim::scenario

// ---------------------------------------------------------------------------------------------
// The scenario's sections
// ---------------------------------------------------------------------------------------------
namespace ftpsim::scenario {
namespace {

const std::vector<std::string> kNatPresets = {"full-cone", "restricted", "port-restricted",
                                              "symmetric", "custom"};
const std::vector<std::string> kBehaviours = {"endpoint-independent", "address-dependent",
                                              "address-and-port-dependent"};

NatBehaviour behaviour(const Value& v) {
    std::string s = v.one_of(kBehaviours);
    if (s == "endpoint-independent") return NatBehaviour::EndpointIndependent;
    if (s == "address-dependent") return NatBehaviour::AddressDependent;
    return NatBehaviour::AddressAndPortDependent;
}

// RFC 4787 section 3 maps the old cone names onto mapping x filtering behaviours.
void apply_preset(NatSpec& nat, const std::string& preset) {
    using B = NatBehaviour;
    if (preset == "full-cone") nat.mapping = B::EndpointIndependent, nat.filtering = B::EndpointIndependent;
    if (preset == "restricted") nat.mapping = B::EndpointIndependent, nat.filtering = B::AddressDependent;
    if (preset == "port-restricted")
        nat.mapping = B::EndpointIndependent, nat.filtering = B::AddressAndPortDependent;
    if (preset == "symmetric")
        nat.mapping = B::AddressAndPortDependent, nat.filtering = B::AddressAndPortDependent;
}

NatSpec read_nat(const Value& v) {
    NatSpec nat;
    nat.mark = v.mark();
    if (v.node().IsScalar()) {  // "nat: port-restricted" or "nat: off"
        std::string s = v.scalar();
        if (s == "off" || s == "false") return nat;
        nat.enabled = true;
        nat.type = v.one_of(kNatPresets);
        apply_preset(nat, nat.type);
        return nat;
    }
    Map m(v);
    nat.enabled = true;
    if (auto x = m.get("enabled")) nat.enabled = x->boolean();
    nat.type = "port-restricted";
    if (auto x = m.get("type")) nat.type = x->one_of(kNatPresets);
    apply_preset(nat, nat.type);
    if (auto x = m.get("mapping")) nat.mapping = behaviour(*x), nat.type = "custom";
    if (auto x = m.get("filtering")) nat.filtering = behaviour(*x), nat.type = "custom";
    if (auto x = m.get("port_preservation")) nat.port_preservation = x->boolean();
    if (auto x = m.get("ports")) nat.ports = x->port_range();
    if (auto x = m.get("timeout_established")) nat.timeout_established_ns = x->duration();
    if (auto x = m.get("timeout_transitory")) nat.timeout_transitory_ns = x->duration();
    if (auto x = m.get("hairpin")) nat.hairpin = x->boolean();
    m.done();
    return nat;
}

AlgSpec read_alg(const Value& v) {
    AlgSpec alg;
    alg.mark = v.mark();
    if (v.node().IsScalar()) {  // "alg: on"
        alg.enabled = v.boolean();
        return alg;
    }
    Map m(v);
    alg.enabled = true;
    if (auto x = m.get("enabled")) alg.enabled = x->boolean();
    if (auto x = m.get("ports")) {
        alg.ports.clear();
        for (const auto& p : x->list("ports")) alg.ports.push_back(p.port());
    }
    if (auto x = m.get("loose")) alg.loose = x->boolean();
    if (auto x = m.get("forms")) {
        alg.forms.clear();
        for (const auto& f : x->list("forms")) {
            std::string form = f.one_of({"PORT", "EPRT", "227", "229"});
            if (std::find(alg.forms.begin(), alg.forms.end(), form) == alg.forms.end()) alg.forms.push_back(form);
        }
    }
    m.done();
    return alg;
}

ForwardSpec read_forward(const Value& v) {
    Map m(v);
    ForwardSpec f;
    f.mark = v.mark();
    f.external = m.need("port").port_range();
    Value to = m.need("to");
    std::string s = to.scalar("an address or address:port");
    if (s.find(':') != std::string::npos && s.find('.') != std::string::npos) {
        auto hp = to.host_port();
        f.to = hp.addr;
        f.to_port = hp.port;
        if (f.external.lo != f.external.hi)
            to.fail(to.path() + ": a port range forwards to an address only (ports are kept), found '" +
                    s + "'");
    } else {
        f.to = to.address();
    }
    m.done();
    return f;
}

FirewallRule read_rule(const Value& v) {
    Map m(v);
    FirewallRule r;
    r.mark = v.mark();
    r.action = m.need("action").one_of({"accept", "drop", "reject"});
    r.direction = "any";
    if (auto x = m.get("direction")) r.direction = x->one_of({"in", "out", "any"});
    r.state = "any";
    if (auto x = m.get("state")) r.state = x->one_of({"new", "established", "related", "any"});
    if (auto x = m.get("src")) r.src = x->cidr();
    if (auto x = m.get("dst")) r.dst = x->cidr();
    if (auto x = m.get("sport")) r.sport = x->port_range();
    if (auto x = m.get("dport")) r.dport = x->port_range();
    if (auto x = m.get("comment")) r.comment = x->str();
    m.done();
    return r;
}

FirewallSpec read_firewall(const Value& v) {
    Map m(v);
    FirewallSpec fw;
    fw.mark = v.mark();
    fw.enabled = true;
    if (auto x = m.get("enabled")) fw.enabled = x->boolean();
    if (auto x = m.get("policy")) fw.policy = x->one_of({"accept", "drop", "reject"});
    if (auto x = m.get("rules"))
        for (const auto& r : x->list("rules")) fw.rules.push_back(read_rule(r));
    m.done();
    return fw;
}

Interface read_interface(const Value& v, std::size_t index, bool router) {
    Interface i;
    i.mark = v.mark();
    if (v.node().IsScalar()) {  // "- 192.168.1.10/24"
        i.address = v.cidr();
    } else {
        Map m(v);
        if (auto x = m.get("name")) i.name = x->str();
        i.address = m.need("address").cidr();
        if (auto x = m.get("side")) i.side = x->one_of({"inside", "outside"});
        m.done();
    }
    if (i.name.empty()) i.name = "eth" + std::to_string(index);
    if (router && i.side.empty()) i.side = i.address.addr.is_private() ? "inside" : "outside";
    return i;
}

Route read_route(const Value& v) {
    Map m(v);
    Route r;
    r.mark = v.mark();
    Value to = m.need("to");
    r.to = to.scalar() == "default" ? Cidr{proto::IpAddress::v4(0u), 0} : to.cidr();
    r.via = m.need("via").address();
    m.done();
    return r;
}

NodeSpec read_node(const std::string& name, const Value& v) {
    Map m(v);
    NodeSpec n;
    n.name = name;
    n.mark = v.mark();
    if (auto x = m.get("kind")) n.kind = x->one_of({"host", "router"});
    bool router = n.kind == "router";
    std::size_t idx = 0;
    for (const auto& i : m.need("interfaces").list("interfaces"))
        n.interfaces.push_back(read_interface(i, idx++, router));
    if (auto x = m.get("gateway")) n.gateway = x->address();
    if (auto x = m.get("routes"))
        for (const auto& r : x->list("routes")) n.routes.push_back(read_route(r));
    auto router_only = [&](const char* key) {
        auto x = m.get(key);
        if (x && !router) x->fail(x->path() + ": only a router has '" + key + "' (node '" + name +
                                  "' is a host; add 'kind: router')");
        return x;
    };
    if (auto x = router_only("nat")) n.nat = read_nat(*x);
    if (auto x = router_only("alg")) n.alg = read_alg(*x);
    if (auto x = router_only("forwards"))
        for (const auto& f : x->list("forwards")) n.forwards.push_back(read_forward(f));
    if (auto x = m.get("firewall")) n.firewall = read_firewall(*x);
    if (auto x = router_only("input")) {  // nftables: chain input { policy drop; reject with ... }
        Map in(*x);
        if (auto y = in.get("policy")) n.input_policy = y->one_of({"accept", "drop"});
        if (auto y = in.get("reject")) n.input_reject = y->one_of({"tcp reset", "icmp port-unreachable"});
        in.done();
    }
    if (auto x = m.get("ip_local_port_range")) n.local_ports = x->port_range();
    m.done();
    return n;
}

LinkSpec read_link(const Value& v) {
    Map m(v);
    LinkSpec l;
    l.mark = v.mark();
    auto ends = m.need("between").list("two node names");
    if (ends.size() != 2) m.need("between").expected("a list of exactly two node names");
    l.a = ends[0].str();
    l.b = ends[1].str();
    if (auto x = m.get("latency")) l.latency_ns = x->duration();
    if (auto x = m.get("bandwidth")) l.bandwidth_bps = x->bandwidth();
    if (auto x = m.get("loss")) l.loss = x->probability();
    m.done();
    return l;
}

const std::vector<std::string> kServerProfiles = {"vsftpd", "pyftpdlib", "rfc959"};
const std::vector<std::string> kClientProfiles = {"curl", "ftplib", "lftp", "filezilla", "classic", "textbook"};
const std::vector<std::string> kModes = {"port", "eprt", "pasv", "epsv", "epsv-all", "spsv",
                                         "default", "fxp", "rfc438", "rfc478"};

ServerSpec read_server(const std::string& node, const Value& v) {
    Map m(v);
    ServerSpec s;
    s.node = node;
    s.mark = v.mark();
    if (auto x = m.get("profile")) s.profile = x->one_of(kServerProfiles);
    if (auto x = m.get("port")) s.port = x->port();
    if (auto x = m.get("passive_ports")) s.passive_ports = x->port_range();
    if (auto x = m.get("pasv_address")) s.pasv_address = x->address();
    if (auto x = m.get("disk_quota")) s.disk_quota = x->size();
    if (auto x = m.get("max_clients")) s.max_clients = static_cast<int>(x->integer(1, 100000));
    if (auto x = m.get("options"))
        for (auto& [k, val] : Map(*x).entries()) s.options[k] = val.scalar("a value");
    if (auto x = m.get("replies"))
        for (auto& [k, val] : Map(*x).entries()) s.replies[k] = val.scalar("a reply text");
    if (auto x = m.get("files"))
        for (auto& [path, size] : Map(*x).entries()) {
            if (path.empty() || path.front() != '/')
                size.fail(size.path() + ": a file path must start with '/', found '" + path + "'");
            s.files.push_back({path, size.file_size()});
        }
    m.done();
    return s;
}

void check_script_line(const Value& v) {
    static const std::vector<std::string> verbs = {"login", "ls", "nlst", "get", "put", "append",
                                                   "cwd", "pwd", "quit", "raw", "mkdir", "delete",
                                                   "rename", "size", "noop", "wait"};
    std::string line = v.scalar("a script step like 'get /pub/file'");
    std::string verb = line.substr(0, line.find(' '));
    if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end()) {
        std::string near = nearest_key(verb, verbs);
        v.fail(v.path() + ": unknown script step '" + verb + "'; expected one of " + join(verbs) +
               (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
}

ClientSpec read_client(const std::string& node, const Value& v) {
    Map m(v);
    ClientSpec c;
    c.node = node;
    c.mark = v.mark();
    if (auto x = m.get("profile")) c.profile = x->one_of(kClientProfiles);
    if (auto x = m.get("mode")) c.mode = x->one_of(kModes);
    c.server = m.need("server").host_port();
    if (auto x = m.get("second_server")) c.second_server = x->host_port();
    if (auto x = m.get("user")) c.user = x->str();
    if (auto x = m.get("password")) c.password = x->str();
    if (auto x = m.get("script"))
        for (const auto& step : x->list("script steps")) {
            check_script_line(step);
            c.script.push_back(step.str());
        }
    if (c.script.empty()) c.script = {"login", "quit"};
    if (auto x = m.get("control_port")) c.control_port = x->port();
    if (auto x = m.get("data_ports")) c.data_ports = x->port_range();
    if (auto x = m.get("announce_address")) c.announce_address = x->address();
    if (auto x = m.get("start")) c.start_ns = x->duration();
    if (auto x = m.get("count")) c.count = static_cast<int>(x->integer(1, kMaxClientsPerHost));
    if (auto x = m.get("hosts")) c.hosts = static_cast<int>(x->integer(1, kMaxHosts));
    if (auto x = m.get("host_interval")) c.host_interval_ns = x->duration();
    if (auto x = m.get("options"))
        for (auto& [k, val] : Map(*x).entries()) c.options[k] = val.scalar("a value");
    m.done();
    bool third_party = c.mode == "fxp" || c.mode == "rfc438" || c.mode == "rfc478";
    if (third_party && !c.second_server)
        v.fail(v.path() + ": mode '" + c.mode +
               "' needs 'second_server' (the other server's address:port)");
    return c;
}

FaultSpec read_fault(const Value& v) {
    Map m(v);
    FaultSpec f;
    f.mark = v.mark();
    f.kind = m.need("kind").one_of({"link-down", "reset", "server-restart", "disk-full"});
    if (auto x = m.get("target")) f.target = x->str();
    if (auto x = m.get("at")) f.at_ns = x->duration();
    if (auto x = m.get("duration")) f.duration_ns = x->duration();
    m.done();
    return f;
}

AttackerSpec read_attacker(const std::string& node, const Value& v) {
    Map m(v);
    AttackerSpec a;
    a.node = node;
    a.mark = v.mark();
    a.steal = m.need("steal").one_of({"data", "spdt"});
    if (auto x = m.get("sniff")) a.sniff = x->str();
    const auto delay = m.get("delay");
    if (delay) a.delay_ns = delay->duration();
    const auto server = m.get("server");
    if (server) a.server = server->host_port();
    const auto at = m.get("at");
    if (at) a.at_ns = at->duration();
    const auto id = m.get("id");
    if (id) {
        a.id = id->str();
        if (!proto::is_valid_spsv_id(*a.id))
            id->fail(id->path() + ": expected an SPSV identifier (1 to 32 printable characters, no spaces, "
                                  "'(', ')' or ':'), found '" + *a.id + "'");
    }
    m.done();
    const std::string where = v.path() + ": ";
    if (a.steal == "data" && a.sniff.empty())
        v.fail(where + "'steal: data' needs 'sniff' (the node whose traffic shows the server's 227/229 reply)");
    if (a.steal == "data" && (server || id || at))
        (server ? *server : id ? *id : *at)
            .fail(where + "'server', 'id' and 'at' are for 'steal: spdt'; 'steal: data' connects to the port it sniffs");
    if (a.sniff.empty() && delay) delay->fail(where + "'delay' counts from the sniffed reply: it needs 'sniff'");
    if (!a.sniff.empty() && (server || at))
        (server ? *server : *at).fail(where + "with 'sniff' the attacker acts on what it sees; "
                                              "'server' and 'at' are for an attacker without 'sniff'");
    if (a.steal == "spdt" && a.sniff.empty() && (!server || !id))
        v.fail(where + "'steal: spdt' without 'sniff' needs 'server' (the control port) and 'id' (the identifier to try)");
    return a;
}

Expectation read_expect(const Value& v) {
    Map m(v);
    Expectation e;
    e.mark = v.mark();
    if (auto x = m.get("ok")) e.ok = x->boolean();
    if (auto x = m.get("transfers"))
        for (const auto& t : x->list("transfers")) {
            Map tm(t);
            ExpectedTransfer et;
            et.mark = t.mark();
            if (auto y = tm.get("command")) et.command = y->str();
            if (auto y = tm.get("ok")) et.ok = y->boolean();
            if (auto y = tm.get("reply")) et.reply = static_cast<int>(y->integer(100, 599, "a reply code from 100 to 599"));
            tm.done();
            e.transfers.push_back(et);
        }
    if (auto x = m.get("diagnosis_mentions"))
        for (const auto& w : x->list("words")) e.diagnosis_mentions.push_back(w.str());
    if (auto x = m.get("no_fix")) e.no_fix = x->str();
    m.done();
    return e;
}

Scenario read_scenario(const Context& ctx, const YAML::Node& root) {
    Map m(ctx, root, "");
    Scenario s;
    s.file = ctx.file;
    s.title = m.need("title").str();
    if (auto x = m.get("description")) s.description = x->str();
    if (auto x = m.get("seed")) s.seed = static_cast<std::uint64_t>(x->integer(0, INT64_MAX));
    if (auto x = m.get("limits")) {
        Map lm(*x);
        if (auto y = lm.get("time")) s.limits.time_ns = y->duration();
        if (auto y = lm.get("events")) s.limits.events = static_cast<std::uint64_t>(y->integer(1, INT64_MAX));
        if (auto y = lm.get("memory")) {
            s.limits.memory_bytes = y->size();
            if (s.limits.memory_bytes < (16u << 20) || s.limits.memory_bytes > (64ull << 30))
                y->expected("a memory budget from 16MiB to 64GiB");
        }
        lm.done();
    }
    if (auto x = m.get("tcp")) {
        Map tm(*x);
        if (auto y = tm.get("mss")) s.tcp.mss = static_cast<std::uint32_t>(y->integer(100, 65495));
        if (auto y = tm.get("header_bytes")) s.tcp.header_bytes = static_cast<std::uint32_t>(y->integer(0, 120));
        if (auto y = tm.get("window")) s.tcp.window = y->size();
        if (auto y = tm.get("connect_timeout")) s.tcp.connect_timeout_ns = y->duration();
        if (auto y = tm.get("syn_retries")) s.tcp.syn_retries = static_cast<int>(y->integer(0, 20));
        tm.done();
    }
    for (auto& [name, v] : Map(m.need("nodes")).entries()) s.nodes.push_back(read_node(name, v));
    for (const auto& l : m.need("links").list("links")) s.links.push_back(read_link(l));
    if (auto x = m.get("servers"))
        for (auto& [name, v] : Map(*x).entries()) s.servers.push_back(read_server(name, v));
    if (auto x = m.get("clients"))
        for (auto& [name, v] : Map(*x).entries()) s.clients.push_back(read_client(name, v));
    if (auto x = m.get("faults"))
        for (const auto& f : x->list("faults")) s.faults.push_back(read_fault(f));
    if (auto x = m.get("attackers"))
        for (auto& [name, v] : Map(*x).entries()) s.attackers.push_back(read_attacker(name, v));
    if (auto x = m.get("expect")) s.expect = read_expect(*x);
    m.done();
    return s;
}

// ---- --set overrides ---------------------------------------------------------------------------

std::vector<std::string> split_path(const std::string& p) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : p) {
        if (c == '.') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

void apply_set(YAML::Node root, const std::string& arg, Context& ctx) {
    Mark where{"--set " + arg, 1, 1};
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ScenarioError(where, "expected --set key.path=value, found '" + arg + "'");
    std::string path = arg.substr(0, eq);
    YAML::Node value;
    try {
        value = YAML::Load(arg.substr(eq + 1));
    } catch (const YAML::Exception& e) {
        throw ScenarioError(Mark{where.file, 1, static_cast<int>(eq) + 2 + e.mark.column},
                            "the value is not valid YAML: " + e.msg);
    }
    auto parts = split_path(path);
    YAML::Node cur = root;
    std::string walked;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string& key = parts[i];
        if (key.empty())
            throw ScenarioError(where, "empty key in '" + path + "'");
        bool last = i + 1 == parts.size();
        if (cur.IsSequence()) {
            std::size_t idx = 0;
            auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), idx);
            if (ec != std::errc() || p != key.data() + key.size() || idx >= cur.size())
                throw ScenarioError(where, "'" + walked + "' is a list of " +
                                               std::to_string(cur.size()) +
                                               " items; expected an index from 0, found '" + key + "'");
            if (last) cur[idx] = value;
            else cur.reset(cur[idx]);
        } else if (cur.IsMap() || cur.IsNull()) {
            if (last) {
                cur[key] = value;
            } else {
                YAML::Node next = cur[key];
                if (!next.IsDefined() || next.IsNull()) cur[key] = YAML::Node(YAML::NodeType::Map);
                cur.reset(cur[key]);
            }
        } else {
            throw ScenarioError(where, "'" + walked + "' is a single value, it has no key '" + key + "'");
        }
        walked += (walked.empty() ? "" : ".") + key;
    }
    ctx.overrides.push_back({path, arg});
}

// Scenario files are UTF-8 text: a NUL or a byte sequence that is not UTF-8 is refused where it
// is (every export would otherwise carry it). Lines and columns count bytes from 1.
void check_text(std::string_view text, const std::string& file) {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t len = 1;
        if (c == 0) throw ScenarioError(Mark{file, line, col}, "a NUL byte; a scenario is UTF-8 text");
        if (c >= 0x80) {
            len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            bool ok = len != 0 && i + len <= text.size();
            for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
            if (ok && len == 3) {
                const auto c1 = static_cast<unsigned char>(text[i + 1]);
                ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
            }
            if (ok && len == 4) {
                const auto c1 = static_cast<unsigned char>(text[i + 1]);
                ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
            }
            if (!ok) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", c);
                throw ScenarioError(Mark{file, line, col},
                                    std::string("a byte that is not UTF-8 (") + hex + "); a scenario is UTF-8 text");
            }
        }
        if (c == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
        i += len;
    }
}

Scenario load(const std::string& text, const std::string& file, const std::vector<std::string>& sets) {
    Context ctx;
    ctx.file = file;
    if (text.size() > kMaxScenarioBytes)
        throw ScenarioError(Mark{file, 0, 0}, "the scenario is " + std::to_string(text.size()) +
                                                  " bytes, over the limit of " + std::to_string(kMaxScenarioBytes) +
                                                  " (4 MiB)");
    check_text(text, file);
    for (const auto& set : sets) check_text(set, "--set " + set);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        throw ScenarioError(Mark{file, e.mark.line + 1, e.mark.column + 1},
                            "YAML syntax error: " + e.msg);
    }
    if (!root.IsMap())
        throw ScenarioError(Mark{file, 1, 1}, "expected a scenario (a mapping with title, nodes, links, ...), found " +
                                                  describe(root));
    for (const auto& s : sets) apply_set(root, s, ctx);
    Scenario sc = read_scenario(ctx, root);
    validate(sc);
    return sc;
}

std::string stem_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    auto dot = base.rfind('.');
    return dot == std::string::npos ? base : base.substr(0, dot);
}

}  // namespace

Scenario load_string(std::string_view yaml, const std::string& file_name,
                     const std::vector<std::string>& sets) {
    Scenario s = load(std::string(yaml), file_name, sets);
    s.name = stem_of(file_name);
    s.source = std::string(yaml);
    s.sets = sets;
    return s;
}

Scenario load_file(const std::string& path, const std::vector<std::string>& sets) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0)
        throw ScenarioError(Mark{path, 0, 0}, std::string("cannot open the scenario file: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        throw ScenarioError(Mark{path, 0, 0}, "is a directory, not a scenario file (ftpsim check takes a folder)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ScenarioError(Mark{path, 0, 0}, std::string("cannot open the scenario file: ") + std::strerror(errno));
    // At most the limit and one byte more: /dev/zero or a huge file stops here, not in memory.
    // Read in 64 KiB pieces (zero-filling a 4 MiB buffer for every load was a third of a small
    // sweep cell's CPU).
    std::string text;
    char piece[65536];
    while (text.size() <= kMaxScenarioBytes) {
        in.read(piece, static_cast<std::streamsize>(std::min(sizeof piece, kMaxScenarioBytes + 1 - text.size())));
        if (in.gcount() <= 0) break;
        text.append(piece, static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad())
        throw ScenarioError(Mark{path, 0, 0}, std::string("cannot read the scenario file: ") + std::strerror(errno));
    if (text.size() > kMaxScenarioBytes)
        throw ScenarioError(Mark{path, 0, 0}, "the scenario file is larger than " + std::to_string(kMaxScenarioBytes) +
                                                  " bytes (4 MiB, the limit for a scenario)");
    return load_string(text, path, sets);
}

// ---------------------------------------------------------------------------------------------
// Semantic validation
// ---------------------------------------------------------------------------------------------
namespace {

[[noreturn]] void fail_at(const Mark& m, const std::string& msg) { throw ScenarioError(m, msg); }

std::string addresses_of(const NodeSpec& n) {
    std::vector<std::string> v;
    for (const auto& i : n.interfaces) v.push_back(i.address.to_string());
    return join(v);
}

const Interface* interface_on(const NodeSpec& n, const Cidr& net) {
    for (const auto& i : n.interfaces)
        if (net.contains(i.address.addr) && i.address.prefix == net.prefix) return &i;
    return nullptr;
}

}  // namespace

const Interface& client_interface(const NodeSpec& n, const proto::IpAddress& server) {
    for (const auto& i : n.interfaces)
        if (i.address.contains(server)) return i;
    if (n.gateway)
        for (const auto& i : n.interfaces)
            if (i.address.contains(*n.gateway)) return i;
    return n.interfaces.front();
}

void validate(const Scenario& s) {
    // What cannot be simulated within memory, before anything else (the ranges are in loader.hpp).
    if (s.nodes.size() > kMaxNodes)
        fail_at(s.nodes[kMaxNodes].mark, "nodes: " + std::to_string(s.nodes.size()) + " nodes, expected 1 to " +
                                             std::to_string(kMaxNodes));
    if (s.links.size() > kMaxLinks)
        fail_at(s.links[kMaxLinks].mark, "links: " + std::to_string(s.links.size()) + " links, expected at most " +
                                             std::to_string(kMaxLinks));
    if (s.servers.size() > kMaxServers)
        fail_at(s.servers[kMaxServers].mark, "servers: " + std::to_string(s.servers.size()) +
                                                 " servers, expected at most " + std::to_string(kMaxServers));
    {
        std::size_t clients = 0;
        for (const auto& c : s.clients) {
            if (c.count > kMaxClientsPerHost)
                fail_at(c.mark, "clients." + c.node + ": count " + std::to_string(c.count) + " clients on one host, expected at most " +
                                    std::to_string(kMaxClientsPerHost) + " per host (add hosts: for more)");
            clients += static_cast<std::size_t>(std::max(c.count, 1)) * static_cast<std::size_t>(std::max(c.hosts, 1));
            if (clients > kMaxClients)
                fail_at(c.mark, "clients." + c.node + ": " + std::to_string(clients) +
                                    " clients so far (count x hosts included), expected at most " +
                                    std::to_string(kMaxClients) + " in a scenario");
        }
    }
    std::set<std::string> names;
    std::map<proto::IpAddress, std::string> owners;
    for (const auto& n : s.nodes) {
        names.insert(n.name);
        if (n.interfaces.empty()) fail_at(n.mark, "nodes." + n.name + ": a node needs at least one interface");
        for (const auto& i : n.interfaces) {
            auto [it, fresh] = owners.emplace(i.address.addr, n.name);
            if (!fresh)
                fail_at(i.mark, "nodes." + n.name + ": address " + i.address.addr.to_string() +
                                    " is already used by node '" + it->second + "'");
        }
    }
    std::map<std::pair<std::string, std::string>, const LinkSpec*> iface_link;  // (node, iface) -> link
    for (const auto& l : s.links) {
        for (const auto* end : {&l.a, &l.b})
            if (!names.count(*end)) {
                std::vector<std::string> v(names.begin(), names.end());
                std::string near = nearest_key(*end, v);
                fail_at(l.mark, "link between " + l.a + " and " + l.b + ": no node named '" + *end +
                                    "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
            }
        if (l.a == l.b) fail_at(l.mark, "a link joins two different nodes, found " + l.a + " twice");
        const NodeSpec& a = *s.node(l.a);
        const NodeSpec& b = *s.node(l.b);
        bool shared = false;
        for (const auto& i : a.interfaces)
            if (interface_on(b, Cidr{i.address.addr, i.address.prefix})) shared = true;
        if (!shared)
            fail_at(l.mark, "link between " + l.a + " and " + l.b + ": their addresses are on no common network (" +
                                l.a + " has " + addresses_of(a) + "; " + l.b + " has " + addresses_of(b) + ")");
        for (const auto& [self, peer] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
            const Interface* i = nullptr;
            for (const auto& x : self->interfaces)
                if (interface_on(*peer, Cidr{x.address.addr, x.address.prefix})) i = &x;
            auto [it, fresh] = iface_link.emplace(std::pair{self->name, i->name}, &l);
            if (!fresh)
                fail_at(l.mark, "link between " + l.a + " and " + l.b + ": " + self->name + "'s interface " + i->name +
                                    " (" + i->address.to_string() + ") is already on the link between " +
                                    it->second->a + " and " + it->second->b +
                                    "; links are point-to-point: give " + self->name +
                                    " one interface per link, or put a router between the hosts");
        }
    }
    for (const auto& n : s.nodes) {
        auto directly_reachable = [&](const proto::IpAddress& gw) {
            for (const auto& i : n.interfaces)
                if (i.address.contains(gw)) return true;
            return false;
        };
        if (n.gateway && !directly_reachable(*n.gateway))
            fail_at(n.mark, "nodes." + n.name + ".gateway: " + n.gateway->to_string() +
                                " is not on any of the node's networks (" + addresses_of(n) + ")");
        for (const auto& r : n.routes)
            if (!directly_reachable(r.via))
                fail_at(r.mark, "nodes." + n.name + ".routes: next hop " + r.via.to_string() +
                                    " is not on any of the node's networks (" + addresses_of(n) + ")");
    }
    auto host_node = [&](const std::string& name, const Mark& m, const char* what) {
        const NodeSpec* n = s.node(name);
        if (!n) {
            std::vector<std::string> v(names.begin(), names.end());
            std::string near = nearest_key(name, v);
            fail_at(m, std::string(what) + " '" + name + "': no node of that name" +
                           (near.empty() ? "" : " (did you mean '" + near + "'?)"));
        }
        if (n->kind != "host") fail_at(m, std::string(what) + " '" + name + "' must run on a host, not a router");
        return n;
    };
    for (const auto& sv : s.servers) {
        host_node(sv.node, sv.mark, "server");
        if (sv.passive_ports && sv.passive_ports->contains(sv.port))
            fail_at(sv.mark, "servers." + sv.node + ": passive_ports " + std::to_string(sv.passive_ports->lo) +
                                 "-" + std::to_string(sv.passive_ports->hi) + " include the control port " +
                                 std::to_string(sv.port));
    }
    for (const auto& c : s.clients) {
        const NodeSpec* n = host_node(c.node, c.mark, "client");
        if (c.hosts <= 1) continue;
        if (c.host_interval_ns > 0 && c.hosts - 1 > (1'000'000'000'000'000'000LL - c.start_ns) / c.host_interval_ns)
            fail_at(c.mark, "clients." + c.node + ".host_interval: the last of " + std::to_string(c.hosts) +
                                " hosts would start after 1000000000s");
        // The hosts' addresses: the interface towards the server and the hosts - 1 after it.
        const Interface* i = &client_interface(*n, c.server.addr);
        const std::string what = "clients." + c.node + ".hosts: " + std::to_string(c.hosts) + " hosts from " +
                                 i->address.addr.to_string();
        if (!i->address.addr.is_v4()) fail_at(c.mark, what + ": several hosts need an IPv4 address");
        const std::uint32_t first = i->address.addr.v4_host_order();
        const std::uint32_t last = first + static_cast<std::uint32_t>(c.hosts - 1);
        const Cidr net{proto::IpAddress::v4(first), i->address.prefix};
        const std::uint32_t host_bits = i->address.prefix >= 32 ? 0 : 0xffffffffu >> i->address.prefix;
        if (last < first || !net.contains(proto::IpAddress::v4(last)) || (host_bits && (last & host_bits) == host_bits))
            fail_at(c.mark, what + " pass the end of the network " + i->address.to_string() + " (the last would be " +
                                proto::IpAddress::v4(last).to_string() + ")");
        for (const auto& other : s.nodes)
            for (const auto& j : other.interfaces)
                if (&j != i && j.address.addr.is_v4() && j.address.addr.v4_host_order() - first <= last - first)
                    fail_at(c.mark, what + " to " + proto::IpAddress::v4(last).to_string() + " include " +
                                        j.address.addr.to_string() + " of node '" + other.name + "'");
    }
    for (const auto& a : s.attackers) {
        host_node(a.node, a.mark, "attacker");
        for (const auto& c : s.clients)
            if (c.node == a.node)
                fail_at(a.mark, "attackers." + a.node + ": the host already runs a client; give the attacker its own host");
        for (const auto& sv : s.servers)
            if (sv.node == a.node)
                fail_at(a.mark, "attackers." + a.node + ": the host already runs a server; give the attacker its own host");
        if (!a.sniff.empty() && !s.node(a.sniff)) {
            std::vector<std::string> v(names.begin(), names.end());
            std::string near = nearest_key(a.sniff, v);
            fail_at(a.mark, "attackers." + a.node + ".sniff: no node named '" + a.sniff + "'" +
                                (near.empty() ? "" : " (did you mean '" + near + "'?)"));
        }
    }
    if (s.clients.empty()) fail_at(Mark{s.file, 1, 1}, "the scenario has no clients: add a 'clients' section");
}

}  // namespace ftpsim::scenario
