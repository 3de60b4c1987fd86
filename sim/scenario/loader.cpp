#include "sim/scenario/loader.hpp"
#include "protocol/number.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "protocol/client_profile.hpp"
#include "protocol/codec.hpp"
#include "protocol/server_profile.hpp"
#include "trace/printable.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace ftpsim::scenario {

// A message quotes the file's values and names the file: control characters (a "\e" or "\0"
// escape in a quoted YAML string, a raw byte in a --set value or a file name) are shown as
// escapes, so that printing the message can neither cut it nor drive the terminal.
ScenarioError::ScenarioError(Mark mark, const std::string& message)
    : std::runtime_error(trace::escape_unprintable(mark.file) + ":" + std::to_string(mark.line) + ":" +
                         std::to_string(mark.column) + ": " + trace::escape_unprintable(message)),
      mark_(std::move(mark)),
      message_(trace::escape_unprintable(message)) {}

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
    auto [p, ec] = proto::parse_double(text.data(), text.data() + i, number);
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
    double probability() const {
        std::string s = scalar("a probability");
        double v = -1;
        bool pct = !s.empty() && s.back() == '%';
        std::string_view num(s.data(), s.size() - (pct ? 1 : 0));
        auto [p, ec] = proto::parse_double(num.data(), num.data() + num.size(), v);
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

// The format as one table per section: each key with its type, default, meaning and allowed
// values, and how it is read into the typed scenario. The loader reads a section by walking its
// table; scenarios/README.md's key reference is rendered from the same tables (a test keeps the
// two equal); --set paths and the GUI's knobs are checked against them. A new key is one row
// (docs/design.md, "How to add a scenario key").
template <class S>
struct Key {
    std::string_view name;
    std::string_view type;     // as the reference writes it; "" = the allowed values
    std::string_view fallback; // the default, as the reference writes it
    std::string_view meaning;
    std::vector<std::string> allowed;  // the words a choice accepts (one_of)
    void (*read)(const Value&, S&);
    bool required = false;
};

template <class E>
std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& c : choices<E>()) out.emplace_back(c.name);
    return out;
}

template <class E>
E choice(const Value& v) {
    const std::string s = v.one_of(names<E>());
    for (const auto& c : choices<E>())
        if (c.name == s) return c.value;
    return choices<E>().front().value;
}

template <class S, std::size_t N>
void read_keys(Map& m, const Key<S> (&keys)[N], S& s) {
    for (const auto& k : keys) {
        if (k.required) k.read(m.need(std::string(k.name)), s);
        else if (auto x = m.get(std::string(k.name))) k.read(*x, s);
    }
    m.done();
}

std::vector<std::string> nat_preset_names() {
    std::vector<std::string> out;
    for (const auto& p : mbox::nat_presets()) out.emplace_back(p.name);
    out.emplace_back("custom");
    return out;
}

std::vector<std::string> behaviour_names() {
    std::vector<std::string> out;
    for (auto b : mbox::nat_behaviours()) out.emplace_back(mbox::to_string(b));
    return out;
}

mbox::NatBehaviour behaviour(const Value& v) {
    const std::string s = v.one_of(behaviour_names());
    for (auto b : mbox::nat_behaviours())
        if (s == mbox::to_string(b)) return b;
    return mbox::NatBehaviour::AddressAndPortDependent;
}

std::vector<std::string> client_profile_names() {
    std::vector<std::string> out;
    for (const auto& p : proto::client_profiles()) out.emplace_back(p.name);
    return out;
}

// clients.NODE.options in the reference: the client profiles' option table (proto::client_options()),
// program by program.
const std::string& client_options_meaning() {
    static const std::string text = [] {
        std::string out = "the program's own options under its own names (an option of another program is an "
                          "error); timeouts in seconds (`5`, `0.5`) or as a duration.";
        std::string_view program;
        for (const auto& o : proto::client_options()) {
            out += o.profile != program ? std::string(program.empty() ? " " : "; ") + std::string(o.profile) + ": " : ", ";
            program = o.profile;
            out += "`" + std::string(o.name) + "` (" + std::string(o.meaning) + ")";
        }
        return out + ". See docs/client.md";
    }();
    return text;
}

std::vector<std::string> server_profile_names() {
    std::vector<std::string> out;
    for (const auto& p : proto::server_profiles()) out.emplace_back(p.name);
    return out;
}

void set_preset(NatSpec& nat, const std::string& name) {
    nat.type = name;
    if (const auto* p = mbox::find_nat_preset(name)) {
        nat.config.mapping = p->mapping;
        nat.config.filtering = p->filtering;
    }
}

const Key<Limits> kLimitKeys[] = {
    {"time", "duration", "`3600s`", "the run stops at this simulated time and reports it", {},
     [](const Value& v, Limits& l) { l.time_ns = v.duration(); }},
    {"events", "integer", "`5000000`", "the run stops after this many trace events and reports it", {},
     [](const Value& v, Limits& l) { l.events = static_cast<std::uint64_t>(v.integer(1, INT64_MAX)); }},
    {"memory", "size, 16MiB to 64GiB", "`1GiB`",
     "the run stops when the process's resident size passes this (\"Stopped: memory budget ...\", checked every "
     "16384 events)",
     {},
     [](const Value& v, Limits& l) {
         l.memory_bytes = v.size();
         if (l.memory_bytes < (16u << 20) || l.memory_bytes > (64ull << 30))
             v.expected("a memory budget from 16MiB to 64GiB");
     }},
};

const Key<TcpSpec> kTcpKeys[] = {
    {"mss", "integer", "`1460`", "payload bytes per TCP segment", {},
     [](const Value& v, TcpSpec& t) { t.mss = static_cast<std::uint32_t>(v.integer(100, 65495)); }},
    {"header_bytes", "integer", "`40`",
     "IPv4 + TCP header bytes each segment costs on the wire (0: count payload only)", {},
     [](const Value& v, TcpSpec& t) { t.header_bytes = static_cast<std::uint32_t>(v.integer(0, 120)); }},
    {"window", "size", "`65535`",
     "bytes a connection may have in flight (TCP without window scaling); `0`: unlimited", {},
     [](const Value& v, TcpSpec& t) { t.window = v.size(); }},
    {"connect_timeout", "duration", "none",
     "give up a connect after this long (else Linux's 6 SYN retries, about 127 s)", {},
     [](const Value& v, TcpSpec& t) { t.connect_timeout_ns = v.duration(); }},
    {"syn_retries", "integer", "`6`",
     "SYN retransmissions before a connect times out (Linux `tcp_syn_retries`)", {},
     [](const Value& v, TcpSpec& t) { t.syn_retries = static_cast<int>(v.integer(0, 20)); }},
};

const Key<NatSpec> kNatKeys[] = {
    {"enabled", "boolean", "`true`", "", {}, [](const Value& v, NatSpec& n) { n.enabled = v.boolean(); }},
    {"type", "preset name or `custom`", "`port-restricted`", "", nat_preset_names(),
     [](const Value& v, NatSpec& n) { set_preset(n, v.one_of(nat_preset_names())); }},
    {"mapping", "", "from `type`", "RFC 4787 section 4.1", behaviour_names(),
     [](const Value& v, NatSpec& n) { n.config.mapping = behaviour(v), n.type = "custom"; }},
    {"filtering", "same three", "from `type`", "RFC 4787 section 5", behaviour_names(),
     [](const Value& v, NatSpec& n) { n.config.filtering = behaviour(v), n.type = "custom"; }},
    {"port_preservation", "boolean", "`true`",
     "keep the inside source port when no other mapping holds it (Linux's masquerade/SNAT; port 20 stays 20); on "
     "a clash, the next free port of the port's class (1-511, 600-1023, 1024-65535) or of `ports`. The NAT note "
     "says \"(port N kept)\" or \"(port N remapped: not free)\". `false`: every mapping takes the next port of the "
     "pool",
     {}, [](const Value& v, NatSpec& n) { n.config.port_preservation = v.boolean(); }},
    {"ports", "port range", "none",
     "an external port pool, like iptables `--to-ports`: a port outside it is always remapped into it; when it "
     "runs out, new flows are dropped. None: any port may be kept",
     {},
     [](const Value& v, NatSpec& n) {
         const PortRange r = v.port_range();
         n.config.port_min = r.lo;
         n.config.port_max = r.hi;
     }},
    {"timeout_established", "duration", "`7440s`",
     "idle timeout of an established TCP mapping (RFC 5382: 2 h 4 min)", {},
     [](const Value& v, NatSpec& n) { n.config.timeouts.established = v.duration(); }},
    {"timeout_transitory", "duration", "`240s`",
     "idle timeout of a mapping in handshake or closing (RFC 5382: 4 min)", {},
     [](const Value& v, NatSpec& n) { n.config.timeouts.transitory = v.duration(); }},
    {"hairpin", "boolean", "`false`", "an inside host may reach another through the outside address", {},
     [](const Value& v, NatSpec& n) { n.config.hairpinning = v.boolean(); }},
};

NatSpec read_nat(const Value& v) {
    NatSpec nat;
    nat.mark = v.mark();
    if (v.node().IsScalar()) {  // "nat: port-restricted" or "nat: off"
        std::string s = v.scalar();
        if (s == "off" || s == "false") return nat;
        nat.enabled = true;
        set_preset(nat, v.one_of(nat_preset_names()));
        return nat;
    }
    Map m(v);
    nat.enabled = true;
    set_preset(nat, "port-restricted");
    read_keys(m, kNatKeys, nat);
    return nat;
}

const std::vector<std::string> kAlgForms = {"PORT", "EPRT", "227", "229"};

const Key<AlgSpec> kAlgKeys[] = {
    {"enabled", "boolean", "`true` when the mapping is present", "", {},
     [](const Value& v, AlgSpec& a) { a.enabled = v.boolean(); }},
    {"ports", "list of ports", "`[21]`", "the control ports it inspects (a home router's \"port 21 only\")", {},
     [](const Value& v, AlgSpec& a) {
         a.ports.clear();
         for (const auto& p : v.list("ports")) a.ports.push_back(p.port());
     }},
    {"loose", "boolean", "`false`",
     "like Linux's `nf_conntrack_ftp loose=1`: accept an announced address that is not the sender's own", {},
     [](const Value& v, AlgSpec& a) { a.loose = v.boolean(); }},
    {"forms", "list of `PORT`, `EPRT`, `227`, `229`", "all four",
     "the address lines it handles; the others pass untouched (with a note). Linux's helper: all four. The "
     "in-depth article's Linksys: `[PORT]` (it fixes a client's PORT, never a server's 227)",
     kAlgForms,
     [](const Value& v, AlgSpec& a) {
         a.forms.clear();
         for (const auto& f : v.list("forms")) {
             std::string form = f.one_of(kAlgForms);
             if (std::find(a.forms.begin(), a.forms.end(), form) == a.forms.end()) a.forms.push_back(form);
         }
     }},
};

const Key<Nat64Spec> kNat64Keys[] = {
    {"enabled", "boolean", "`true` when the mapping is present", "", {},
     [](const Value& v, Nat64Spec& n) { n.enabled = v.boolean(); }},
    {"prefix", "IPv6 /96 prefix", "`64:ff9b::/96`",
     "the prefix that embeds IPv4 addresses (RFC 6052; only /96 is modelled; DNS64 assumed)", {},
     [](const Value& x, Nat64Spec& n) {
         n.prefix = x.cidr();
         if (n.prefix.addr.is_v4() || n.prefix.prefix != 96)
             x.expected("an IPv6 /96 prefix like 64:ff9b::/96 (only /96 is modelled)");
     }},
    {"ftp_alg", "boolean", "`false`",
     "the FTP64 ALG (RFC 6384) on control connections to port 21: EPSV becomes PASV and the 227 a 229, an IPv6 "
     "EPRT becomes PORT with a translator binding; it answers `ALGS` and refuses `EPSV ALL` itself (below)",
     {}, [](const Value& v, Nat64Spec& n) { n.ftp_alg = v.boolean(); }},
    {"alg_requires_algs", "boolean", "`false`",
     "the FTP64 ALG translates only after the client sent `ALGS ENABLE64` (RFC 6384 section 11)", {},
     [](const Value& v, Nat64Spec& n) { n.alg_requires_algs = v.boolean(); }},
};

Nat64Spec read_nat64(const Value& v) {
    Nat64Spec n;
    n.mark = v.mark();
    n.prefix = Cidr{*proto::parse_ip("64:ff9b::"), 96};
    if (v.node().IsScalar()) {  // "nat64: on"
        n.enabled = v.boolean();
        return n;
    }
    Map m(v);
    n.enabled = true;
    read_keys(m, kNat64Keys, n);
    return n;
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
    read_keys(m, kAlgKeys, alg);
    return alg;
}

const Key<ForwardSpec> kForwardKeys[] = {
    {"port", "port or port range", "required", "the external port(s) on the router's outside address", {},
     [](const Value& v, ForwardSpec& f) { f.external = v.port_range(); }, true},
    {"to", "address, or address:port for a single port", "required", "the inside host; a range keeps its ports", {},
     [](const Value& to, ForwardSpec& f) {
         std::string s = to.scalar("an address or address:port");
         if (s.find(':') != std::string::npos && s.find('.') != std::string::npos) {
             auto hp = to.host_port();
             f.to = hp.addr;
             f.to_port = hp.port;
             if (f.external.lo != f.external.hi)
                 to.fail(to.path() + ": a port range forwards to an address only (ports are kept), found '" + s + "'");
         } else {
             f.to = to.address();
         }
     },
     true},
};

const Key<FirewallRule> kRuleKeys[] = {
    {"action", "", "required", "`reject` answers a TCP SYN with a RST", names<mbox::FwAction>(),
     [](const Value& v, FirewallRule& r) { r.action = choice<mbox::FwAction>(v); }, true},
    {"direction", "", "`any`", "`in`: arriving from an outside interface (or, on a host, to the host)",
     names<mbox::FwDirection>(), [](const Value& v, FirewallRule& r) { r.direction = choice<mbox::FwDirection>(v); }},
    {"state", "", "`any`", "connection tracking state; `related` is a data connection an ALG expects",
     names<mbox::CtState>(), [](const Value& v, FirewallRule& r) { r.state = choice<mbox::CtState>(v); }},
    {"src", "cidr", "any", "", {}, [](const Value& v, FirewallRule& r) { r.src = v.cidr(); }},
    {"dst", "cidr", "any", "", {}, [](const Value& v, FirewallRule& r) { r.dst = v.cidr(); }},
    {"sport", "port range", "any", "", {}, [](const Value& v, FirewallRule& r) { r.sport = v.port_range(); }},
    {"dport", "port range", "any", "", {}, [](const Value& v, FirewallRule& r) { r.dport = v.port_range(); }},
    {"comment", "text", "`\"\"`", "shown in the trace when the rule decides", {},
     [](const Value& v, FirewallRule& r) { r.comment = v.str(); }},
};

FirewallRule read_rule(const Value& v) {
    Map m(v);
    FirewallRule r;
    r.mark = v.mark();
    read_keys(m, kRuleKeys, r);
    return r;
}

const Key<FirewallSpec> kFirewallKeys[] = {
    {"enabled", "boolean", "`true`", "", {}, [](const Value& v, FirewallSpec& f) { f.enabled = v.boolean(); }},
    {"policy", "", "`accept`", "what happens when no rule matches", names<mbox::FwAction>(),
     [](const Value& v, FirewallSpec& f) { f.policy = choice<mbox::FwAction>(v); }},
    {"rules", "list of rules", "`[]`", "checked in order; the first match decides", {},
     [](const Value& v, FirewallSpec& f) {
         for (const auto& r : v.list("rules")) f.rules.push_back(read_rule(r));
     }},
};

FirewallSpec read_firewall(const Value& v) {
    Map m(v);
    FirewallSpec fw;
    fw.mark = v.mark();
    fw.enabled = true;
    read_keys(m, kFirewallKeys, fw);
    return fw;
}

const Key<Interface> kInterfaceKeys[] = {
    {"name", "text", "`ethN`", "the interface's name in the trace", {},
     [](const Value& v, Interface& i) { i.name = v.str(); }},
    {"address", "cidr", "required", "address and network", {},
     [](const Value& v, Interface& i) { i.address = v.cidr(); }, true},
    {"side", "", "private address: `inside`, else `outside`", "routers: NAT translates from inside to outside",
     names<mbox::Realm>(), [](const Value& v, Interface& i) { i.side = choice<mbox::Realm>(v); }},
};

Interface read_interface(const Value& v, std::size_t index, bool router) {
    Interface i;
    i.mark = v.mark();
    if (v.node().IsScalar()) {  // "- 192.168.1.10/24"
        i.address = v.cidr();
    } else {
        Map m(v);
        read_keys(m, kInterfaceKeys, i);
    }
    if (i.name.empty()) i.name = "eth" + std::to_string(index);
    if (router && !i.side) i.side = i.address.addr.is_private() ? mbox::Realm::Inside : mbox::Realm::Outside;
    return i;
}

Route read_route(const Value& v) {
    Map m(v);
    Route r;
    r.mark = v.mark();
    Value to = m.need("to");
    r.via = m.need("via").address();
    // "default" is 0.0.0.0/0 or ::/0, in the family of the next hop.
    proto::IpAddress any_v6;
    any_v6.family = proto::IpAddress::Family::V6;
    r.to = to.scalar() == "default" ? Cidr{r.via.is_v4() ? proto::IpAddress::v4(0u) : any_v6, 0} : to.cidr();
    m.done();
    return r;
}

const Key<NodeSpec> kInputKeys[] = {
    {"policy", "", "`accept`",
     "`accept`: the packet reaches the router's own TCP, whose closed port answers RST (Linux with no input "
     "filter; the snat21-off-pasv capture). `drop`: silence; the sender retransmits its SYN until its connect "
     "times out",
     names<InputPolicy>(), [](const Value& v, NodeSpec& n) { n.input_policy = choice<InputPolicy>(v); }},
    {"reject", "", "none",
     "a last rule `reject with tcp reset` (a RST, whatever the policy) or `reject with icmp type "
     "port-unreachable`: an ICMP destination unreachable that Linux's TCP turns into ECONNREFUSED on a connect "
     "in progress",
     names<InputReject>(), [](const Value& v, NodeSpec& n) { n.input_reject = choice<InputReject>(v); }},
};

// A key only a router has: on a host it is an error that says how to fix it.
bool router_only(const Value& v, const NodeSpec& n) {
    if (n.kind != NodeKind::Router) {
        const std::string key = v.path().substr(v.path().rfind('.') + 1);
        v.fail(v.path() + ": only a router has '" + key + "' (node '" + n.name +
               "' is a host; add 'kind: router')");
    }
    return true;
}

const Key<NodeSpec> kNodeKeys[] = {
    {"kind", "", "`host`", "a router forwards packets and may have `nat`, `alg`, `forwards`; a host runs servers "
                           "and clients",
     names<NodeKind>(), [](const Value& v, NodeSpec& n) { n.kind = choice<NodeKind>(v); }},
    {"interfaces", "list of cidr, or of `{name, address, side}`", "required",
     "the node's addresses; a plain `192.168.1.10/24` is an interface named `eth0`, `eth1`, ...", {},
     [](const Value& v, NodeSpec& n) {
         std::size_t idx = 0;
         for (const auto& i : v.list("interfaces"))
             n.interfaces.push_back(read_interface(i, idx++, n.kind == NodeKind::Router));
     },
     true},
    {"gateway", "address", "none", "default route; must be on one of the node's networks", {},
     [](const Value& v, NodeSpec& n) { n.gateway = v.address(); }},
    {"routes", "list of `{to: cidr or default, via: address}`", "`[]`",
     "static routes; `via` must be on one of the node's networks", {},
     [](const Value& v, NodeSpec& n) {
         for (const auto& r : v.list("routes")) n.routes.push_back(read_route(r));
     }},
    {"nat", "preset name, `off`, or mapping (below)", "off",
     "source NAT (masquerade) from inside to outside interfaces", {},
     [](const Value& v, NodeSpec& n) { router_only(v, n), n.nat = read_nat(v); }},
    {"alg", "boolean or mapping (below)", "off", "the FTP application-level gateway", {},
     [](const Value& v, NodeSpec& n) { router_only(v, n), n.alg = read_alg(v); }},
    {"nat64", "boolean or mapping (below)", "off",
     "stateful NAT64 (RFC 6146): IPv6 inside, IPv4 outside (its IPv4 address is the pool), optionally with the FTP64 "
     "ALG (RFC 6384)",
     {}, [](const Value& v, NodeSpec& n) { router_only(v, n), n.nat64 = read_nat64(v); }},
    {"forwards", "list of forwards (below)", "`[]`", "port forwarding (DNAT) from the outside address", {},
     [](const Value& v, NodeSpec& n) {
         router_only(v, n);
         for (const auto& f : v.list("forwards")) {
             Map m(f);
             ForwardSpec fw;
             fw.mark = f.mark();
             read_keys(m, kForwardKeys, fw);
             n.forwards.push_back(fw);
         }
     }},
    {"firewall", "mapping (below)", "none", "a stateful packet filter; on a host it filters that host's own traffic",
     {}, [](const Value& v, NodeSpec& n) { n.firewall = read_firewall(v); }},
    {"input", "mapping (below)", "`{policy: accept}`",
     "routers: what answers a connection to one of the router's own ports that nothing forwards or maps", {},
     [](const Value& v, NodeSpec& n) {  // nftables: chain input { policy drop; reject with ... }
         router_only(v, n);
         Map in(v);
         read_keys(in, kInputKeys, n);
     }},
    {"ip_local_port_range", "port range", "`32768-60999`",
     "the host's ephemeral ports (Linux `net.ipv4.ip_local_port_range`): port-0 connects and listeners take ports "
     "from it (docs/network-model.md, \"Ports\")",
     {}, [](const Value& v, NodeSpec& n) { n.local_ports = v.port_range(); }},
};

NodeSpec read_node(const std::string& name, const Value& v) {
    Map m(v);
    NodeSpec n;
    n.name = name;
    n.mark = v.mark();
    read_keys(m, kNodeKeys, n);
    return n;
}

const Key<LinkSpec> kLinkKeys[] = {
    {"between", "list of two node names", "required",
     "the two ends; they must have addresses on a common network", {},
     [](const Value& v, LinkSpec& l) {
         auto ends = v.list("two node names");
         if (ends.size() != 2) v.expected("a list of exactly two node names");
         l.a = ends[0].str();
         l.b = ends[1].str();
     },
     true},
    {"latency", "duration", "`1ms`", "one-way propagation delay", {},
     [](const Value& v, LinkSpec& l) { l.latency_ns = v.duration(); }},
    {"bandwidth", "bandwidth", "`100Mbit/s`", "serialisation rate in each direction", {},
     [](const Value& v, LinkSpec& l) { l.bandwidth_bps = v.bandwidth(); }},
    {"loss", "probability", "`0`", "chance that a packet is lost on this link (decided by the seed)", {},
     [](const Value& v, LinkSpec& l) { l.loss = v.probability(); }},
};

LinkSpec read_link(const Value& v) {
    Map m(v);
    LinkSpec l;
    l.mark = v.mark();
    read_keys(m, kLinkKeys, l);
    return l;
}

const Key<ServerSpec> kServerKeys[] = {
    {"profile", "", "`vsftpd`", "behaviour profile (replies, foreign-address checks); see docs/server.md",
     server_profile_names(), [](const Value& v, ServerSpec& s) { s.profile = v.one_of(server_profile_names()); }},
    {"port", "port", "`21`", "the control port", {}, [](const Value& v, ServerSpec& s) { s.port = v.port(); }},
    {"passive_ports", "port range", "the profile's",
     "where PASV/EPSV listen (vsftpd `pasv_min_port`/`pasv_max_port`)", {},
     [](const Value& v, ServerSpec& s) { s.passive_ports = v.port_range(); }},
    {"pasv_address", "address", "the control connection's local address",
     "the address announced in 227 (vsftpd `pasv_address`, pyftpdlib `masquerade_address`)", {},
     [](const Value& v, ServerSpec& s) { s.pasv_address = v.address(); }},
    {"disk_quota", "size", "unlimited", "STOR beyond it gets 452", {},
     [](const Value& v, ServerSpec& s) { s.disk_quota = v.size(); }},
    {"max_clients", "integer", "unlimited",
     "more control connections get 421 (or draft-rosenau's SPSV-only greeting)", {},
     [](const Value& v, ServerSpec& s) { s.max_clients = static_cast<int>(v.integer(1, 100000)); }},
    {"options", "mapping", "`{}`",
     "the profile's other knobs by name (e.g. `port_promiscuous: true`, `pasv_promiscuous: true`, "
     "`connect_from_port_20: false`, `permit_foreign_addresses: true`), and these, named as the daemons name "
     "them: `ftp_data_port` (port; the source port of active connections with `connect_from_port_20`, vsftpd 20, "
     "rfc959 the control port - 1), timeouts in seconds (`60`) or as a duration (`500ms`): `connect_timeout` / "
     "pyftpdlib `ActiveDTP.timeout` (vsftpd 60 s then \"425 Failed to establish connection.\", pyftpdlib 30 s "
     "then \"421 Active data channel timed out.\"), `accept_timeout` / `PassiveDTP.timeout` (60 s / 30 s), "
     "`idle_session_timeout` / `FTPHandler.timeout` (300 s / 300 s, then 421), `data_connection_timeout` / "
     "`DTPHandler.timeout` (300 s / 300 s: an upload with no bytes for that long ends the session; rfc959: none "
     "of these timeouts), `users` (`\"u001:xyz,other:pw\"`: local accounts), `spsv_ids` (`\"xYab1234\"`: the "
     "SPSV identifiers handed out first, in order, then random ones)",
     {},
     [](const Value& v, ServerSpec& s) {
         for (auto& [k, val] : Map(v).entries()) s.options[k] = val.scalar("a value");
     }},
    {"replies", "mapping name -> text", "the profile's",
     "override reply texts, e.g. `greeting: \"220 FTP server ready\"`; names are listed in docs/server.md", {},
     [](const Value& v, ServerSpec& s) {
         for (auto& [k, val] : Map(v).entries()) s.replies[k] = val.scalar("a reply text");
     }},
    {"files", "mapping path -> size", "`{}`", "the files the server holds; content is deterministic", {},
     [](const Value& v, ServerSpec& s) {
         for (auto& [path, size] : Map(v).entries()) {
             if (path.empty() || path.front() != '/')
                 size.fail(size.path() + ": a file path must start with '/', found '" + path + "'");
             s.files.push_back({path, size.size(), size.mark()});  // its range: validate()
         }
     }},
};

ServerSpec read_server(const std::string& node, const Value& v) {
    Map m(v);
    ServerSpec s;
    s.node = node;
    s.mark = v.mark();
    read_keys(m, kServerKeys, s);
    return s;
}

const std::vector<std::string> kScriptSteps = {"login", "ls", "nlst", "get", "put", "append",
                                               "cwd", "pwd", "quit", "raw", "mkdir", "delete",
                                               "rename", "size", "noop", "wait"};

void check_script_line(const Value& v) {
    std::string line = v.scalar("a script step like 'get /pub/file'");
    std::string verb = line.substr(0, line.find(' '));
    if (std::find(kScriptSteps.begin(), kScriptSteps.end(), verb) == kScriptSteps.end()) {
        std::string near = nearest_key(verb, kScriptSteps);
        v.fail(v.path() + ": unknown script step '" + verb + "'; expected one of " + join(kScriptSteps) +
               (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
}

const Key<ClientSpec> kClientKeys[] = {
    {"profile", "", "`classic`",
     "behaviour profile; see docs/client.md (`textbook`: the lecture figures' client, USER/PASS then only what the "
     "transfer needs)",
     client_profile_names(), [](const Value& v, ClientSpec& c) { c.profile = v.one_of(client_profile_names()); }},
    {"mode", "", "`pasv`",
     "how data connections are made; `default` sends neither PORT nor PASV (RFC 959 3.2); `fxp`, `rfc438`, "
     "`rfc478` are server-to-server transfers between `server` and `second_server`",
     names<ClientMode>(), [](const Value& v, ClientSpec& c) { c.mode = choice<ClientMode>(v); }},
    {"server", "address:port", "required", "where the control connection goes", {},
     [](const Value& v, ClientSpec& c) { c.server = v.host_port(); }, true},
    {"second_server", "address:port", "none", "server-to-server modes: the other server", {},
     [](const Value& v, ClientSpec& c) { c.second_server = v.host_port(); }},
    {"user", "text", "`anonymous`", "", {}, [](const Value& v, ClientSpec& c) { c.user = v.str(); }},
    {"password", "text", "`ftp@example.com`", "", {}, [](const Value& v, ClientSpec& c) { c.password = v.str(); }},
    {"script", "list of steps (quote a step that contains a comma: `\"raw PORT 1,2,3,4,5,6\"`)", "`[login, quit]`",
     "`login`, `ls [path]`, `nlst [path]`, `get PATH`, `put PATH SIZE`, `append PATH SIZE` (server-to-server "
     "modes: `get SRC [DST]`, `append SRC [DST]`, one path per server, as RFC 438's `RETR PROG1.PL1` / `APPE "
     "PROG2.PL1`), `cwd PATH`, `pwd`, `mkdir PATH`, `delete PATH`, `rename FROM TO`, `size PATH`, `noop`, `raw "
     "LINE`, `wait DURATION`, `quit`",
     {},
     [](const Value& v, ClientSpec& c) {
         for (const auto& step : v.list("script steps")) {
             check_script_line(step);
             c.script.push_back(step.str());
             c.script_marks.push_back(step.mark());
         }
     }},
    {"control_port", "port", "ephemeral", "the control connection's local port (the lecture deck's \"Port 1120\")",
     {}, [](const Value& v, ClientSpec& c) { c.control_port = v.port(); }},
    {"data_ports", "port range", "ephemeral",
     "the client's data port(s): where it listens in active mode, and the local port of its passive connects (the "
     "deck's \"Port 1121\"); without it an active-mode listener binds port 0 as curl, ftplib and lftp do (a free "
     "ephemeral port, never the control connection's)",
     {}, [](const Value& v, ClientSpec& c) { c.data_ports = v.port_range(); }},
    {"announce_address", "address", "the control connection's local address",
     "active mode: the address PORT/EPRT announce, while the listener stays on the local address (the in-depth "
     "article's \"announce WAN IP\" remedy; curl `--ftp-port ADDRESS[:PORTS]`, FileZilla's external IP, lftp "
     "`ftp:port-ipv4`). With `data_ports` and a forward of those ports: article-port-announce-wan-ip-16683",
     {}, [](const Value& v, ClientSpec& c) { c.announce_address = v.address(); }},
    {"start", "duration", "`0s`", "when the client starts", {},
     [](const Value& v, ClientSpec& c) { c.start_ns = v.duration(); }},
    {"count", "integer, 1 to 10000", "`1`", "start this many identical clients on each host (load scenarios)", {},
     [](const Value& v, ClientSpec& c) { c.count = static_cast<int>(v.integer(1, kMaxClientsPerHost)); }},
    {"hosts", "integer, 1 to 10000", "`1`",
     "how many client hosts the node stands for (load scenarios, e.g. many subscribers behind one carrier-grade "
     "NAT): host h has the address of the node's interface towards the server plus h (10.1.0.1, 10.1.0.2, ... "
     "within that interface's network, none of them another node's), its own ephemeral ports, and runs `count` "
     "clients. Simplified: the hosts share the node's lane and its link (as behind one switch), and the trace says "
     "so in its model notes",
     {}, [](const Value& v, ClientSpec& c) { c.hosts = static_cast<int>(v.integer(1, kMaxHosts)); }},
    {"host_interval", "duration", "`0s`",
     "host h starts its clients at `start` + h x `host_interval` (spreads the hosts' sessions over time, so a "
     "NAT's port pool is not held by all of them at once)",
     {}, [](const Value& v, ClientSpec& c) { c.host_interval_ns = v.duration(); }},
    {"options", "mapping", "`{}`", client_options_meaning(), {},
     [](const Value& v, ClientSpec& c) {
         for (auto& [k, val] : Map(v).entries()) c.options[k] = val.scalar("a value");
     }},
};

ClientSpec read_client(const std::string& node, const Value& v) {
    Map m(v);
    ClientSpec c;
    c.node = node;
    c.mark = v.mark();
    read_keys(m, kClientKeys, c);
    if (c.script.empty()) c.script = {"login", "quit"};
    if (is_server_to_server(c.mode) && !c.second_server)
        v.fail(v.path() + ": mode '" + std::string(name_of(c.mode)) +
               "' needs 'second_server' (the other server's address:port)");
    return c;
}

const Key<FaultSpec> kFaultKeys[] = {
    {"kind", "", "required", "", names<FaultKind>(), [](const Value& v, FaultSpec& f) { f.kind = choice<FaultKind>(v); },
     true},
    {"target", "text", "`\"\"`", "a link (`client-home-router`), a node, or a server", {},
     [](const Value& v, FaultSpec& f) { f.target = v.str(); }},
    {"at", "duration", "`0s`", "when it happens", {}, [](const Value& v, FaultSpec& f) { f.at_ns = v.duration(); }},
    {"duration", "duration", "`0s`", "how long it lasts (link-down, server-restart)", {},
     [](const Value& v, FaultSpec& f) { f.duration_ns = v.duration(); }},
};

FaultSpec read_fault(const Value& v) {
    Map m(v);
    FaultSpec f;
    f.mark = v.mark();
    read_keys(m, kFaultKeys, f);
    return f;
}

const Key<AttackerSpec> kAttackerKeys[] = {
    {"steal", "", "required",
     "`data`: connect to the passive port that a 227 or 229 reply announces (to the address the reply came from); "
     "`spdt`: connect to the control port and send `SPDT <id>`, then read what follows `200 DATA`",
     names<StealKind>(), [](const Value& v, AttackerSpec& a) { a.steal = choice<StealKind>(v); }, true},
    {"sniff", "node name", "none",
     "the node whose traffic the attacker reads (a mirror port on a router, a shared medium): every reply from a "
     "server's control port that arrives there is seen at once. Needed for `steal: data`",
     {}, [](const Value& v, AttackerSpec& a) { a.sniff = v.str(); }},
    {"delay", "duration", "`0s`", "with `sniff`: how long after the sniffed reply the attacker acts", {},
     [](const Value& v, AttackerSpec& a) { a.delay_ns = v.duration(); }},
    {"server", "address:port", "none",
     "`steal: spdt` without `sniff`: the control port to send SPDT to (needs `id`)", {},
     [](const Value& v, AttackerSpec& a) { a.server = v.host_port(); }},
    {"at", "duration", "`0s`", "`steal: spdt` without `sniff`: when", {},
     [](const Value& v, AttackerSpec& a) { a.at_ns = v.duration(); }},
    {"id", "SPSV identifier", "the sniffed one", "`steal: spdt`: the identifier to send (a guess)", {},
     [](const Value& v, AttackerSpec& a) {
         a.id = v.str();
         if (!proto::is_valid_spsv_id(*a.id))
             v.fail(v.path() + ": expected an SPSV identifier (1 to 32 printable characters, no spaces, "
                               "'(', ')' or ':'), found '" + *a.id + "'");
     }},
};

AttackerSpec read_attacker(const std::string& node, const Value& v) {
    Map m(v);
    AttackerSpec a;
    a.node = node;
    a.mark = v.mark();
    read_keys(m, kAttackerKeys, a);
    // Which keys were written (for the checks between them, at the key's own place).
    const auto delay = m.get("delay");
    const auto server = m.get("server");
    const auto at = m.get("at");
    const auto id = m.get("id");
    const std::string where = v.path() + ": ";
    if (a.steal == StealKind::Data && a.sniff.empty())
        v.fail(where + "'steal: data' needs 'sniff' (the node whose traffic shows the server's 227/229 reply)");
    if (a.steal == StealKind::Data && (server || id || at))
        (server ? *server : id ? *id : *at)
            .fail(where + "'server', 'id' and 'at' are for 'steal: spdt'; 'steal: data' connects to the port it sniffs");
    if (a.sniff.empty() && delay) delay->fail(where + "'delay' counts from the sniffed reply: it needs 'sniff'");
    if (!a.sniff.empty() && (server || at))
        (server ? *server : *at).fail(where + "with 'sniff' the attacker acts on what it sees; "
                                              "'server' and 'at' are for an attacker without 'sniff'");
    if (a.steal == StealKind::Spdt && a.sniff.empty() && (!server || !id))
        v.fail(where + "'steal: spdt' without 'sniff' needs 'server' (the control port) and 'id' (the identifier to try)");
    return a;
}

const Key<ExpectedTransfer> kExpectedTransferKeys[] = {
    {"command", "text", "not checked", "", {}, [](const Value& v, ExpectedTransfer& t) { t.command = v.str(); }},
    {"ok", "boolean", "not checked", "", {}, [](const Value& v, ExpectedTransfer& t) { t.ok = v.boolean(); }},
    {"reply", "integer", "not checked", "", {},
     [](const Value& v, ExpectedTransfer& t) {
         t.reply = static_cast<int>(v.integer(100, 599, "a reply code from 100 to 599"));
     }},
};

const Key<Expectation> kExpectKeys[] = {
    {"ok", "boolean", "not checked", "every client's transfer succeeded (attackers' attempts do not count)", {},
     [](const Value& v, Expectation& e) { e.ok = v.boolean(); }},
    {"transfers", "list of `{command, ok, reply}`", "not checked",
     "the transfers in order: command (`RETR`, `LIST`, ...), success, final reply code; then each attacker's "
     "`DATA`/`SPDT` attempt",
     {},
     [](const Value& v, Expectation& e) {
         for (const auto& t : v.list("transfers")) {
             Map tm(t);
             ExpectedTransfer et;
             et.mark = t.mark();
             read_keys(tm, kExpectedTransferKeys, et);
             e.transfers.push_back(et);
         }
     }},
    {"diagnosis_mentions", "list of text", "`[]`", "words the diagnosis must contain", {},
     [](const Value& v, Expectation& e) {
         for (const auto& w : v.list("words")) e.diagnosis_mentions.push_back(w.str());
     }},
    {"no_fix", "text", "`\"\"`",
     "for a failure that is the intended protection (a bounce attack refused): why no fix is offered; the "
     "diagnosis then says so instead of proposing changes",
     {}, [](const Value& v, Expectation& e) { e.no_fix = v.str(); }},
};

const Key<Scenario> kTopKeys[] = {
    {"title", "text", "required", "one line shown in `ftpsim list` and the GUI's library", {},
     [](const Value& v, Scenario& s) { s.title = v.str(); }, true},
    {"description", "text", "`\"\"`", "what the learner should see and why, a few sentences", {},
     [](const Value& v, Scenario& s) { s.description = v.str(); }},
    {"seed", "integer", "`1`",
     "seeds every random choice (passive ports, SPSV identifiers, loss); same seed, same trace", {},
     [](const Value& v, Scenario& s) { s.seed = static_cast<std::uint64_t>(v.integer(0, INT64_MAX)); }},
    {"limits", "mapping", "", "when a run stops (the keys `limits.*` below)", {},
     [](const Value& v, Scenario& s) {
         Map m(v);
         read_keys(m, kLimitKeys, s.limits);
     }},
    {"tcp", "mapping", "", "the TCP model's parameters (the keys `tcp.*` below)", {},
     [](const Value& v, Scenario& s) {
         Map m(v);
         read_keys(m, kTcpKeys, s.tcp);
     }},
    {"nodes", "mapping name -> node", "required", "the hosts and routers, in the order of the ladder's lanes", {},
     [](const Value& v, Scenario& s) {
         for (auto& [name, x] : Map(v).entries()) s.nodes.push_back(read_node(name, x));
     },
     true},
    {"links", "list of links", "required", "point-to-point links between nodes", {},
     [](const Value& v, Scenario& s) {
         for (const auto& l : v.list("links")) s.links.push_back(read_link(l));
     },
     true},
    {"servers", "mapping node name -> server", "`{}`", "FTP servers, keyed by the host they run on", {},
     [](const Value& v, Scenario& s) {
         for (auto& [name, x] : Map(v).entries()) s.servers.push_back(read_server(name, x));
     }},
    {"clients", "mapping node name -> client", "required", "FTP clients, keyed by the host they run on", {},
     [](const Value& v, Scenario& s) {
         for (auto& [name, x] : Map(v).entries()) s.clients.push_back(read_client(name, x));
     }},
    {"faults", "list of faults", "`[]`", "things that go wrong during the run", {},
     [](const Value& v, Scenario& s) {
         for (const auto& f : v.list("faults")) s.faults.push_back(read_fault(f));
     }},
    {"attackers", "mapping node name -> attacker", "`{}`",
     "third hosts that race the client for its data connection (security cases)", {},
     [](const Value& v, Scenario& s) {
         for (auto& [name, x] : Map(v).entries()) s.attackers.push_back(read_attacker(name, x));
     }},
    {"expect", "expectation", "none", "the outcome `ftpsim check` compares with", {},
     [](const Value& v, Scenario& s) {
         Map m(v);
         Expectation e;
         e.mark = v.mark();
         read_keys(m, kExpectKeys, e);
         s.expect = e;
     }},
};

Scenario read_scenario(const Context& ctx, const YAML::Node& root) {
    Map m(ctx, root, "");
    Scenario s;
    s.file = ctx.file;
    read_keys(m, kTopKeys, s);
    return s;
}

// The reference's view of one section's table.
template <class S, std::size_t N>
void describe_section(std::vector<KeyInfo>& out, std::string_view section, const Key<S> (&keys)[N]) {
    for (const auto& k : keys)
        out.push_back({std::string(section), std::string(k.name), std::string(k.type), std::string(k.fallback),
                       std::string(k.meaning), k.allowed, k.required});
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

std::uint64_t max_simulated_file(const Scenario& s) {
    if (s.tcp.window == 0) return s.limits.memory_bytes / 4;
    const std::uint64_t mss = s.tcp.mss ? s.tcp.mss : 1;
    return s.limits.events > UINT64_MAX / mss ? UINT64_MAX : s.limits.events * mss;
}

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
    {
        const std::uint64_t max = max_simulated_file(s);
        const std::string range = "expected a size from 0 to " + std::to_string(max) + " bytes (" +
                                  (s.tcp.window ? "limits.events x tcp.mss: each segment is at least one event"
                                                : "limits.memory / 4: with tcp.window 0 a file is in flight whole") +
                                  ")";
        for (const auto& sv : s.servers)
            for (const auto& f : sv.files)
                if (f.size > max)
                    fail_at(f.mark, "servers." + sv.node + ".files." + f.path + ": a file of " + std::to_string(f.size) +
                                        " bytes cannot be simulated, " + range);
        for (const auto& c : s.clients)
            for (std::size_t i = 0; i < c.script.size() && i < c.script_marks.size(); ++i) {
                const std::string& line = c.script[i];
                if (line.rfind("put ", 0) != 0 && line.rfind("append ", 0) != 0) continue;
                std::uint64_t size = 0;
                const std::string word = line.substr(line.rfind(' ') + 1);
                auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), size);
                if (ec == std::errc::result_out_of_range || (ec == std::errc() && size > max))
                    fail_at(c.script_marks[i], "clients." + c.node + ".script: an upload of " + word +
                                                   " bytes cannot be simulated, " + range);
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
        if (!n.nat64.enabled) continue;
        if (n.nat.enabled || n.alg.enabled || !n.forwards.empty() || n.firewall.enabled)
            fail_at(n.nat64.mark, "nodes." + n.name + ".nat64: a NAT64 router has no other middlebox here (nat, alg, "
                                  "forwards, firewall); put them on a router of their own");
        bool inside_v6 = false, outside_v4 = false;
        for (const auto& i : n.interfaces) {
            inside_v6 = inside_v6 || (i.side == mbox::Realm::Inside && !i.address.addr.is_v4());
            outside_v4 = outside_v4 || (i.side == mbox::Realm::Outside && i.address.addr.is_v4());
        }
        if (!inside_v6 || !outside_v4)
            fail_at(n.nat64.mark, "nodes." + n.name + ".nat64: needs an IPv6 interface with side: inside and an IPv4 "
                                  "interface with side: outside (its address is the IPv4 pool)");
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
        if (n->kind != NodeKind::Host) fail_at(m, std::string(what) + " '" + name + "' must run on a host, not a router");
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


// ---------------------------------------------------------------------------------------------
// The key reference (scenarios/README.md), rendered from the tables the loader reads with
// ---------------------------------------------------------------------------------------------

std::vector<KeyInfo> scenario_schema() {
    std::vector<KeyInfo> out;
    describe_section(out, "", kTopKeys);
    describe_section(out, "limits", kLimitKeys);
    describe_section(out, "tcp", kTcpKeys);
    describe_section(out, "nodes.NAME", kNodeKeys);
    describe_section(out, "nodes.NAME.interfaces[]", kInterfaceKeys);
    describe_section(out, "nodes.NAME.nat", kNatKeys);
    describe_section(out, "nodes.NAME.alg", kAlgKeys);
    describe_section(out, "nodes.NAME.nat64", kNat64Keys);
    describe_section(out, "nodes.NAME.input", kInputKeys);
    describe_section(out, "nodes.NAME.forwards[]", kForwardKeys);
    describe_section(out, "nodes.NAME.firewall", kFirewallKeys);
    describe_section(out, "nodes.NAME.firewall.rules[]", kRuleKeys);
    describe_section(out, "links[]", kLinkKeys);
    describe_section(out, "servers.NODE", kServerKeys);
    describe_section(out, "clients.NODE", kClientKeys);
    describe_section(out, "faults[]", kFaultKeys);
    describe_section(out, "attackers.NODE", kAttackerKeys);
    describe_section(out, "expect", kExpectKeys);
    describe_section(out, "expect.transfers[]", kExpectedTransferKeys);
    return out;
}

const KeyInfo* find_key(const std::vector<KeyInfo>& schema, std::string_view section, std::string_view key) {
    for (const auto& k : schema)
        if (k.section == section && k.key == key) return &k;
    return nullptr;
}

namespace {

constexpr std::string_view kKeysMarker = "<!-- keys: ";

std::string type_cell(const KeyInfo& k) {
    if (!k.type.empty()) return k.type;
    std::string out;
    for (std::size_t i = 0; i < k.allowed.size(); ++i)
        out += (i == 0 ? "" : k.allowed.size() == 2 ? " or " : ", ") + ("`" + k.allowed[i] + "`");
    return out;
}

// A section's rows; a nested section (tcp, interfaces[], rules[], servers.NODE) that has no table
// of its own in the document follows its key's row with dotted names (tcp.mss, rules[].action).
void table_rows(const std::vector<KeyInfo>& schema, const std::set<std::string>& own_tables,
                const std::string& section, const std::string& prefix, std::string& out) {
    for (const auto& k : schema) {
        if (k.section != section) continue;
        out += "| `" + prefix + k.key + "` | " + type_cell(k) + " | " + k.fallback + " | " + k.meaning + " |\n";
        const std::string sub = (section.empty() ? "" : section + ".") + k.key;
        for (const char* form : {"", "[]", ".NAME", ".NODE"}) {
            const std::string nested = sub + form;
            const bool exists = std::any_of(schema.begin(), schema.end(),
                                            [&](const KeyInfo& x) { return x.section == nested; });
            if (exists && !own_tables.count(nested))
                table_rows(schema, own_tables, nested, prefix + k.key + form + ".", out);
        }
    }
}

std::set<std::string> marked_sections(std::string_view doc) {
    std::set<std::string> out;
    for (std::size_t m = doc.find(kKeysMarker); m != std::string_view::npos; m = doc.find(kKeysMarker, m + 1)) {
        const std::size_t close = doc.find(" -->", m);
        if (close == std::string_view::npos) break;
        out.emplace(doc.substr(m + kKeysMarker.size(), close - m - kKeysMarker.size()));
    }
    return out;
}

}  // namespace

std::string render_key_table(std::string_view section, const std::set<std::string>& own_tables) {
    const auto schema = scenario_schema();
    std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
    table_rows(schema, own_tables, std::string(section), "", out);
    return out;
}

std::string regenerate_key_reference(std::string_view doc) {
    constexpr std::string_view kMarker = kKeysMarker;
    const std::set<std::string> own_tables = marked_sections(doc);
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const std::size_t m = doc.find(kMarker, pos);
        if (m == std::string_view::npos) break;
        const std::size_t close = doc.find(" -->", m);
        const std::size_t eol = doc.find('\n', close);
        if (close == std::string_view::npos || eol == std::string_view::npos) break;
        const std::string section(doc.substr(m + kMarker.size(), close - m - kMarker.size()));
        // The table runs from the line after the marker to the first blank line.
        std::size_t end = doc.find("\n\n", eol);
        end = end == std::string_view::npos ? doc.size() : end + 1;
        out.append(doc.substr(pos, eol + 1 - pos));
        out += render_key_table(section, own_tables);
        pos = end;
    }
    out.append(doc.substr(pos));
    return out;
}

}  // namespace ftpsim::scenario
