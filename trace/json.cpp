// The trace <-> JSON codec. nlohmann-json is kept to this one translation unit (it is heavy).
#include "trace/json.hpp"

#include "trace/render.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace ftpsim::trace {
namespace {

using ojson = nlohmann::ordered_json;
using njson = nlohmann::json;

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and out-of-range code points are not UTF-8.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

std::string to_hex(std::string_view s) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() * 2);
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

// A string field: "<key>" when it is UTF-8 text, "<key>_hex" when it holds arbitrary bytes.
void put_bytes(ojson& j, const char* key, const std::string& value) {
    if (valid_utf8(value)) j[key] = value;
    else j[std::string(key) + "_hex"] = to_hex(value);
}

ojson endpoint_json(const Endpoint& e) {
    ojson j = ojson::object();
    j["addr"] = e.addr;
    j["port"] = e.port;
    return j;
}

ojson node_json(const Node& n) {
    ojson j = ojson::object();
    j["name"] = n.name;
    j["kind"] = n.kind;
    j["role"] = n.role;
    j["addresses"] = n.addresses;
    return j;
}

ojson link_json(const Link& l) {
    ojson j = ojson::object();
    j["name"] = l.name;
    j["a"] = l.a;
    j["b"] = l.b;
    j["latency_ns"] = l.latency_ns;
    j["bandwidth_bps"] = l.bandwidth_bps;
    j["loss"] = l.loss;
    return j;
}

ojson connection_json(const Connection& c) {
    ojson j = ojson::object();
    j["id"] = c.id;
    j["purpose"] = c.purpose;
    j["initiator"] = c.initiator;
    j["responder"] = c.responder;
    j["initiator_local"] = endpoint_json(c.initiator_local);
    j["initiator_remote"] = endpoint_json(c.initiator_remote);
    j["responder_local"] = endpoint_json(c.responder_local);
    j["responder_remote"] = endpoint_json(c.responder_remote);
    j["control_id"] = c.control_id;
    return j;
}

ojson event_json(const Event& e) {
    ojson j = ojson::object();
    j["seq"] = e.seq;
    j["time_ns"] = e.time_ns;
    j["arrive_ns"] = e.arrive_ns;
    j["kind"] = to_string(e.kind);
    j["from"] = e.from;
    j["to"] = e.to;
    j["conn"] = e.conn;
    j["packet"] = e.packet;
    j["src"] = endpoint_json(e.src);
    j["dst"] = endpoint_json(e.dst);
    j["src_after"] = endpoint_json(e.src_after);
    j["dst_after"] = endpoint_json(e.dst_after);
    j["flags"] = e.flags;
    j["tcp_seq"] = e.tcp_seq;
    j["tcp_ack"] = e.tcp_ack;
    j["payload_len"] = e.payload_len;
    put_bytes(j, "payload", e.payload);
    if (e.control_text) j["control_text"] = true;  // only when set: older traces stay as they were
    put_bytes(j, "text", text(e));  // rendered here when the event stores none
    j["verdict"] = to_string(e.verdict);
    put_bytes(j, "reason", e.reason.str());
    // Version 2's typed facts: written only when set, so a segment stays one short line.
    if (e.fact != Fact::None) j["fact"] = to_string(e.fact);
    if (e.action != Action::None) j["action"] = to_string(e.action);
    if (e.error != SocketError::None) j["error"] = to_string(e.error);
    if (e.alg_skip != AlgSkip::None) j["alg_skip"] = to_string(e.alg_skip);
    if (e.form != Announce::None) j["form"] = to_string(e.form);
    if (e.entry != -1) j["entry"] = e.entry;
    if (e.rule != -1) j["rule"] = e.rule;
    if (e.attempt != 0) j["attempt"] = e.attempt;
    if (e.seq_delta != 0) j["seq_delta"] = e.seq_delta;
    if (e.timeout_ns != 0) j["timeout_ns"] = e.timeout_ns;
    if (!e.policy.empty()) j["policy"] = e.policy.str();
    if (!e.state.empty()) put_bytes(j, "state", e.state.str());
    if (!e.rule_text.empty()) j["rule_text"] = e.rule_text.str();
    if (!e.line_before.empty()) put_bytes(j, "line_before", e.line_before.str());
    if (!e.line_after.empty()) put_bytes(j, "line_after", e.line_after.str());
    if (!e.quoted_src.addr.empty()) j["quoted_src"] = endpoint_json(e.quoted_src);
    if (!e.quoted_dst.addr.empty()) j["quoted_dst"] = endpoint_json(e.quoted_dst);
    if (!e.ftp.empty()) {
        ojson lines = ojson::array();
        for (const auto& l : e.ftp) {
            ojson lj = ojson::object();
            lj["command"] = l.command;
            if (l.command) put_bytes(lj, "verb", l.verb);
            else {
                lj["code"] = l.code;
                lj["final"] = l.final_line;
            }
            if (l.announce != Announce::None) {
                lj["announce"] = to_string(l.announce);
                lj["announced"] = endpoint_json(l.announced);
                if (l.socket) lj["socket"] = l.socket;
            }
            put_bytes(lj, "line", l.line);
            lines.push_back(std::move(lj));
        }
        j["ftp"] = std::move(lines);
    }
    return j;
}

ojson transfer_json(const Transfer& t) {
    ojson j = ojson::object();
    j["client"] = t.client;
    j["command"] = t.command;
    j["path"] = t.path;
    j["ok"] = t.ok;
    j["reply"] = t.reply;
    j["bytes"] = t.bytes;
    return j;
}

ojson diagnosis_json(const Diagnosis& d) {
    ojson j = ojson::object();
    j["kind"] = d.kind;
    j["what"] = d.what;
    j["cause"] = d.cause;
    ojson fixes = ojson::array();
    for (const auto& f : d.fixes) {
        ojson fj = ojson::object();
        fj["description"] = f.description;
        fj["sets"] = f.sets;
        fj["change"] = f.change;
        fj["verified"] = f.verified;
        fixes.push_back(std::move(fj));
    }
    j["fixes"] = std::move(fixes);
    j["evidence"] = d.evidence;
    return j;
}

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::strict); }

// An array written one element per line, indented by two spaces.
template <class T, class F>
void write_array(std::string& out, const char* key, const std::vector<T>& items, F&& to_j,
                 bool last = false) {
    out += "  \"";
    out += key;
    out += "\": [";
    if (items.empty()) {
        out += "]";
    } else {
        out += "\n";
        for (std::size_t i = 0; i < items.size(); ++i) {
            out += "    ";
            out += dump(to_j(items[i]));
            out += i + 1 < items.size() ? ",\n" : "\n";
        }
        out += "  ]";
    }
    out += last ? "\n" : ",\n";
}

void write_scalar(std::string& out, const char* key, const ojson& value) {
    out += "  \"";
    out += key;
    out += "\": ";
    out += dump(value);
    out += ",\n";
}

// ---------------------------------------------------------------------------------------------
// Reading: a cursor that knows its JSON path, so every error says where it is.

[[noreturn]] void fail_at(const std::string& path, const std::string& what) {
    throw JsonError("trace JSON: " + (path.empty() ? std::string("top level") : path) + ": " + what);
}

const char* type_name(const njson& j) { return j.type_name(); }

class Reader {
public:
    Reader(const njson& j, std::string path) : j_(j), path_(std::move(path)) {
        if (!j_.is_object()) fail_at(path_, std::string("expected an object, found ") + type_name(j_));
    }

    const njson* find(const char* key) const {
        auto it = j_.find(key);
        return it == j_.end() ? nullptr : &*it;
    }
    std::string path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

    template <class Int>
    void integer(const char* key, Int& out) const {
        const njson* v = find(key);
        if (!v) return;
        if (!v->is_number_integer())
            fail_at(path_of(key), std::string("expected an integer, found ") + type_name(*v));
        if constexpr (std::is_signed_v<Int>) {
            if (v->is_number_unsigned()) {
                const auto u = v->get<std::uint64_t>();
                if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
                    fail_at(path_of(key), "integer out of range");
                out = static_cast<Int>(u);
                return;
            }
            const auto s = v->get<std::int64_t>();
            if (s < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
                s > static_cast<std::int64_t>(std::numeric_limits<Int>::max()))
                fail_at(path_of(key), "integer out of range");
            out = static_cast<Int>(s);
        } else {
            if (!v->is_number_unsigned()) fail_at(path_of(key), "expected a non-negative integer");
            const auto u = v->get<std::uint64_t>();
            if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
                fail_at(path_of(key), "integer out of range");
            out = static_cast<Int>(u);
        }
    }
    void number(const char* key, double& out) const {
        const njson* v = find(key);
        if (!v) return;
        if (!v->is_number()) fail_at(path_of(key), std::string("expected a number, found ") + type_name(*v));
        out = v->get<double>();
    }
    void boolean(const char* key, bool& out) const {
        const njson* v = find(key);
        if (!v) return;
        if (!v->is_boolean()) fail_at(path_of(key), std::string("expected true or false, found ") + type_name(*v));
        out = v->get<bool>();
    }
    void string(const char* key, std::string& out) const {
        const njson* v = find(key);
        if (!v) return;
        if (!v->is_string()) fail_at(path_of(key), std::string("expected a string, found ") + type_name(*v));
        out = v->get<std::string>();
    }
    // The counterpart of put_bytes: "<key>" or "<key>_hex".
    void bytes(const char* key, std::string& out) const {
        string(key, out);
        const std::string hex_key = std::string(key) + "_hex";
        const njson* v = find(hex_key.c_str());
        if (!v) return;
        if (!v->is_string()) fail_at(path_of(hex_key), std::string("expected a string, found ") + type_name(*v));
        const auto& h = v->get_ref<const std::string&>();
        if (h.size() % 2) fail_at(path_of(hex_key), "odd number of hex digits");
        out.clear();
        out.reserve(h.size() / 2);
        auto digit = [&](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            fail_at(path_of(hex_key), std::string("not a hex digit: '") + c + "'");
        };
        for (std::size_t i = 0; i < h.size(); i += 2)
            out.push_back(static_cast<char>(digit(h[i]) * 16 + digit(h[i + 1])));
    }
    void strings(const char* key, std::vector<std::string>& out) const {
        const njson* v = find(key);
        if (!v) return;
        if (!v->is_array()) fail_at(path_of(key), std::string("expected an array, found ") + type_name(*v));
        out.clear();
        for (std::size_t i = 0; i < v->size(); ++i) {
            const auto& s = (*v)[i];
            if (!s.is_string())
                fail_at(path_of(key) + "[" + std::to_string(i) + "]",
                        std::string("expected a string, found ") + type_name(s));
            out.push_back(s.get<std::string>());
        }
    }
    template <class T, class F>
    void objects(const char* key, std::vector<T>& out, F&& read_one) const {
        const njson* v = find(key);
        if (!v) return;
        if (!v->is_array()) fail_at(path_of(key), std::string("expected an array, found ") + type_name(*v));
        out.clear();
        out.reserve(v->size());
        for (std::size_t i = 0; i < v->size(); ++i) {
            Reader r((*v)[i], path_of(key) + "[" + std::to_string(i) + "]");
            out.push_back(read_one(r));
        }
    }
    Reader child(const char* key) const {
        const njson* v = find(key);
        static const njson kEmpty = njson::object();
        return Reader(v ? *v : kEmpty, path_of(key));
    }
    bool has(const char* key) const { return find(key) != nullptr; }
    const std::string& path() const { return path_; }

private:
    const njson& j_;
    std::string path_;
};

Endpoint read_endpoint(const Reader& r) {
    Endpoint e;
    r.string("addr", e.addr);
    r.integer("port", e.port);
    return e;
}

Event read_event(const Reader& r) {
    Event e;
    r.integer("seq", e.seq);
    r.integer("time_ns", e.time_ns);
    r.integer("arrive_ns", e.arrive_ns);
    std::string kind = to_string(e.kind);
    r.string("kind", kind);
    if (!parse_event_kind(kind, e.kind)) fail_at(r.path_of("kind"), "unknown event kind \"" + kind + "\"");
    r.string("from", e.from);
    r.string("to", e.to);
    r.integer("conn", e.conn);
    r.integer("packet", e.packet);
    if (r.has("src")) e.src = read_endpoint(r.child("src"));
    if (r.has("dst")) e.dst = read_endpoint(r.child("dst"));
    if (r.has("src_after")) e.src_after = read_endpoint(r.child("src_after"));
    if (r.has("dst_after")) e.dst_after = read_endpoint(r.child("dst_after"));
    r.string("flags", e.flags);
    r.integer("tcp_seq", e.tcp_seq);
    r.integer("tcp_ack", e.tcp_ack);
    r.integer("payload_len", e.payload_len);
    r.bytes("payload", e.payload);
    r.boolean("control_text", e.control_text);
    r.bytes("text", e.text);
    std::string verdict = to_string(e.verdict);
    r.string("verdict", verdict);
    if (!parse_verdict(verdict, e.verdict)) fail_at(r.path_of("verdict"), "unknown verdict \"" + verdict + "\"");
    auto cold = [](ColdString& field, auto read) {
        std::string v;
        read(v);
        field = std::move(v);
    };
    cold(e.reason, [&](std::string& v) { r.bytes("reason", v); });
    auto enum_field = [&r](const char* key, auto& out, auto parse, const char* what) {
        std::string name;
        r.string(key, name);
        if (!r.has(key)) return;
        if (!parse(name, out)) fail_at(r.path_of(key), std::string("unknown ") + what + " \"" + name + "\"");
    };
    enum_field("fact", e.fact, [](const std::string& n, Fact& o) { return parse_fact(n, o); }, "fact");
    enum_field("action", e.action, [](const std::string& n, Action& o) { return parse_action(n, o); }, "action");
    enum_field("error", e.error, [](const std::string& n, SocketError& o) { return parse_socket_error(n, o); },
               "socket error");
    enum_field("alg_skip", e.alg_skip, [](const std::string& n, AlgSkip& o) { return parse_alg_skip(n, o); },
               "ALG skip reason");
    enum_field("form", e.form, [](const std::string& n, Announce& o) { return parse_announce(n, o); }, "form");
    r.integer("entry", e.entry);
    r.integer("rule", e.rule);
    r.integer("attempt", e.attempt);
    r.integer("seq_delta", e.seq_delta);
    r.integer("timeout_ns", e.timeout_ns);
    cold(e.policy, [&](std::string& v) { r.string("policy", v); });
    cold(e.state, [&](std::string& v) { r.bytes("state", v); });
    cold(e.rule_text, [&](std::string& v) { r.string("rule_text", v); });
    cold(e.line_before, [&](std::string& v) { r.bytes("line_before", v); });
    cold(e.line_after, [&](std::string& v) { r.bytes("line_after", v); });
    if (r.has("quoted_src")) e.quoted_src = read_endpoint(r.child("quoted_src"));
    if (r.has("quoted_dst")) e.quoted_dst = read_endpoint(r.child("quoted_dst"));
    r.objects("ftp", e.ftp, [](const Reader& x) {
        FtpLine l;
        x.boolean("command", l.command);
        x.bytes("verb", l.verb);
        x.integer("code", l.code);
        x.boolean("final", l.final_line);
        std::string a = to_string(l.announce);
        x.string("announce", a);
        if (!parse_announce(a, l.announce)) fail_at(x.path_of("announce"), "unknown announcement \"" + a + "\"");
        if (x.has("announced")) l.announced = read_endpoint(x.child("announced"));
        x.integer("socket", l.socket);
        x.bytes("line", l.line);
        return l;
    });
    // A sentence the fields render is not stored (trace/render.hpp): the event equals the recorded one.
    if (!e.text.empty() && rendered(e) && e.text == sentence(e)) e.text.clear();
    return e;
}

std::string line_col(std::string_view text, std::size_t byte) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
        if (text[i] == '\n') { ++line; col = 1; }
        else ++col;
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace

std::string to_json(const Trace& t) {
    std::string out;
    out.reserve(512 + t.events.size() * 420);
    out += "{\n";
    write_scalar(out, "format", "ftpsim-trace");
    write_scalar(out, "version", kJsonFormatVersion);
    write_scalar(out, "scenario", t.scenario);
    write_scalar(out, "title", t.title);
    write_scalar(out, "seed", t.seed);
    write_scalar(out, "model_notes", t.model_notes);
    write_array(out, "nodes", t.nodes, node_json);
    write_array(out, "links", t.links, link_json);
    write_array(out, "connections", t.connections, connection_json);
    write_array(out, "events", t.events, event_json);
    out += "  \"outcome\": {\n";
    out += "    \"ok\": ";
    out += t.outcome.ok ? "true" : "false";
    out += ",\n";
    // Nested arrays inside "outcome" reuse write_array with two more spaces of indent.
    auto nested = [&](const char* key, const auto& items, auto&& fn, bool last) {
        std::string block;
        write_array(block, key, items, fn, last);
        std::size_t pos = 0;
        while (pos < block.size()) {
            const std::size_t eol = block.find('\n', pos);
            out += "  ";
            out.append(block, pos, eol - pos + 1);
            pos = eol + 1;
        }
    };
    nested("transfers", t.outcome.transfers, transfer_json, false);
    nested("diagnosis", t.outcome.diagnosis, diagnosis_json, false);
    out += "    \"limit_reached\": ";
    out += dump(t.outcome.limit_reached);
    out += "\n  }\n}\n";
    return out;
}

Trace from_json(std::string_view text) {
    njson j;
    try {
        j = njson::parse(text.begin(), text.end());
    } catch (const njson::parse_error& e) {
        // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line
        // 1, column 2: ..."; keep the part after the position and give our own position.
        std::string what = e.what();
        const auto colon = what.find(": ");
        if (colon != std::string::npos) what = what.substr(colon + 2);
        throw JsonError("trace JSON: invalid JSON at " + line_col(text, e.byte ? e.byte - 1 : 0) + ": " + what);
    } catch (const njson::out_of_range&) {
        // A number too large for any field (nlohmann: "number overflow parsing '999...'").
        throw JsonError("trace JSON: a number out of range (over 64 bits or not finite)");
    }
    Reader r(j, "");
    std::string format;
    r.string("format", format);
    if (format != "ftpsim-trace")
        fail_at("format", "expected \"ftpsim-trace\", found \"" + format + "\" (is this an ftpsim trace?)");
    int version = 0;
    r.integer("version", version);
    if (version < 1 || version > kJsonFormatVersion)
        fail_at("version", "unsupported version " + std::to_string(version) + " (this build reads 1 to " +
                               std::to_string(kJsonFormatVersion) + ")");
    Trace t;
    r.string("scenario", t.scenario);
    r.string("title", t.title);
    r.integer("seed", t.seed);
    r.strings("model_notes", t.model_notes);
    r.objects("nodes", t.nodes, [](const Reader& n) {
        Node node;
        n.string("name", node.name);
        n.string("kind", node.kind);
        n.string("role", node.role);
        n.strings("addresses", node.addresses);
        return node;
    });
    r.objects("links", t.links, [](const Reader& l) {
        Link link;
        l.string("name", link.name);
        l.string("a", link.a);
        l.string("b", link.b);
        l.integer("latency_ns", link.latency_ns);
        l.number("bandwidth_bps", link.bandwidth_bps);
        l.number("loss", link.loss);
        return link;
    });
    r.objects("connections", t.connections, [](const Reader& c) {
        Connection conn;
        c.integer("id", conn.id);
        c.string("purpose", conn.purpose);
        c.string("initiator", conn.initiator);
        c.string("responder", conn.responder);
        if (c.has("initiator_local")) conn.initiator_local = read_endpoint(c.child("initiator_local"));
        if (c.has("initiator_remote")) conn.initiator_remote = read_endpoint(c.child("initiator_remote"));
        if (c.has("responder_local")) conn.responder_local = read_endpoint(c.child("responder_local"));
        if (c.has("responder_remote")) conn.responder_remote = read_endpoint(c.child("responder_remote"));
        c.integer("control_id", conn.control_id);
        return conn;
    });
    r.objects("events", t.events, read_event);
    if (r.has("outcome")) {
        const Reader o = r.child("outcome");
        o.boolean("ok", t.outcome.ok);
        o.objects("transfers", t.outcome.transfers, [](const Reader& x) {
            Transfer tr;
            x.string("client", tr.client);
            x.string("command", tr.command);
            x.string("path", tr.path);
            x.boolean("ok", tr.ok);
            x.integer("reply", tr.reply);
            x.integer("bytes", tr.bytes);
            return tr;
        });
        o.objects("diagnosis", t.outcome.diagnosis, [](const Reader& x) {
            Diagnosis d;
            x.string("kind", d.kind);
            x.string("what", d.what);
            x.string("cause", d.cause);
            x.objects("fixes", d.fixes, [](const Reader& f) {
                Fix fix;
                f.string("description", fix.description);
                f.strings("sets", fix.sets);
                f.string("change", fix.change);
                f.boolean("verified", fix.verified);
                return fix;
            });
            if (const njson* ev = x.find("evidence")) {
                if (!ev->is_array()) fail_at(x.path_of("evidence"), "expected an array of event indices");
                for (std::size_t i = 0; i < ev->size(); ++i) {
                    if (!(*ev)[i].is_number_unsigned())
                        fail_at(x.path_of("evidence") + "[" + std::to_string(i) + "]", "expected an event index");
                    d.evidence.push_back((*ev)[i].get<std::uint64_t>());
                }
            }
            return d;
        });
        o.string("limit_reached", t.outcome.limit_reached);
    }
    return t;
}

}  // namespace ftpsim::trace
