#include "viz/gui/backend.hpp"

#include <cctype>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace ftpsim::gui {

using trace::Endpoint;
using trace::Event;
using trace::EventKind;
using trace::TimeNs;
using trace::Verdict;

// ---------------------------------------------------------------------------------------------
// Knobs

const Knob* Knobs::find(const std::string& name) const {
    for (const auto& k : knobs)
        if (k.name == name) return &k;
    return nullptr;
}

std::string Knobs::get(const std::string& name, const std::string& fallback) const {
    const Knob* k = find(name);
    return k ? k->value : fallback;
}

bool Knobs::set(const std::string& name, const std::string& value) {
    for (auto& k : knobs) {
        if (k.name != name) continue;
        if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), value) == k.choices.end())
            return false;
        k.value = value;
        return true;
    }
    return false;
}

std::string knob_label(const std::string& key) {
    std::vector<std::string> parts;
    for (std::size_t start = 0; start <= key.size();) {
        const std::size_t dot = std::min(key.find('.', start), key.size());
        parts.push_back(key.substr(start, dot - start));
        start = dot + 1;
    }
    std::string owner;
    std::size_t first = 0;
    if (parts.size() >= 3 && (parts[0] == "nodes" || parts[0] == "clients" || parts[0] == "servers" || parts[0] == "links")) {
        owner = parts[1];
        first = 2;
    }
    std::string rest;
    for (std::size_t i = first; i < parts.size(); ++i) {
        std::string w = parts[i];
        if (w == "enabled" && i > first) continue;  // "alg.enabled": the ALG (on or off)
        if (w == "alg") w = "FTP ALG";
        else if (w == "nat") w = "NAT";
        else if (w == "pasv" || w == "epsv" || w == "eprt") {
            for (auto& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        } else
            std::replace_if(w.begin(), w.end(), [](char c) { return c == '_' || c == '-'; }, ' ');
        rest += (rest.empty() ? "" : " ") + w;
    }
    return owner.empty() ? rest : owner + ": " + rest;
}

std::string tidy_number(const std::string& text) {
    std::size_t i = text.empty() || text[0] != '-' ? 0 : 1;
    const std::size_t int_begin = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == int_begin || i == text.size() || text[i] != '.') return text;  // no fraction to tidy
    const std::size_t dot = i++;
    const std::size_t frac_begin = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i != text.size() || i == frac_begin) return text;  // not only digits after the point
    std::size_t end = text.size();
    while (end > dot + 1 && text[end - 1] == '0') --end;
    if (end == dot + 1) end = dot;  // nothing left after the point
    std::string out = text.substr(0, end);
    if (out == "-0") out = "0";
    return out;
}

std::string knob_value_note(const Knob& k) {
    if (!k.choices.empty()) return {};
    const auto dot = k.name.rfind('.');
    if (k.name.compare(dot == std::string::npos ? 0 : dot + 1, std::string::npos, "loss") != 0) return {};
    const std::string v = tidy_number(k.value);
    char* end = nullptr;
    const double p = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !(p >= 0.0 && p <= 1.0)) return {};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", p * 100.0);
    return "= " + tidy_number(buf) + " %";
}

bool Knobs::apply(const std::string& assignment) {
    const std::string sep = " --set ";
    if (auto p = assignment.find(sep); p != std::string::npos)
        return apply(assignment.substr(0, p)) && apply(assignment.substr(p + sep.size()));
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    auto trim = [](std::string s) {
        auto b = s.find_first_not_of(" \t");
        auto e = s.find_last_not_of(" \t");
        return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
    };
    std::string name = trim(assignment.substr(0, eq)), value = trim(assignment.substr(eq + 1));
    if (set(name, value)) return true;
    if (!open_ended || find(name)) return false;
    knobs.push_back(Knob{name, knob_label(name), {}, value, "Set by a fix of the diagnosis (the scenario key " + name + ")."});
    return true;
}

// ---------------------------------------------------------------------------------------------
// FixedTraceBackend

void FixedTraceBackend::add(trace::Trace t) { traces_.push_back(std::move(t)); }

std::vector<ScenarioInfo> FixedTraceBackend::library() {
    std::vector<ScenarioInfo> out;
    for (const auto& t : traces_)
        out.push_back({t.scenario, t.title.empty() ? t.scenario : t.title, "Trace file",
                       "A recorded trace (no knobs: the simulator is not attached)."});
    return out;
}

Knobs FixedTraceBackend::knobs(const std::string& scenario) { return Knobs{scenario, {}}; }

trace::Trace FixedTraceBackend::simulate(const Knobs& knobs) {
    for (const auto& t : traces_)
        if (t.scenario == knobs.scenario) return t;
    return traces_.empty() ? trace::Trace{} : traces_.front();
}

trace::Trace make_long_trace(std::size_t n) {
    constexpr TimeNs kMs = trace::kNsPerMs;
    trace::Trace t;
    t.scenario = "long-download";
    t.title = "A long passive download (synthetic)";
    t.nodes = {{"client", "host", "client", {"192.168.1.10"}},
               {"home-router", "router", "nat", {"192.168.1.1", "203.0.113.1"}},
               {"server", "host", "server", {"203.0.113.20"}}};
    t.links = {{"lan", "client", "home-router", kMs, 100e6, 0}, {"wan", "home-router", "server", 10 * kMs, 20e6, 0}};
    trace::Connection c;
    c.id = 1;
    c.purpose = "data";
    c.initiator = "client";
    c.responder = "server";
    c.initiator_local = {"192.168.1.10", 50001};
    c.initiator_remote = {"203.0.113.20", 30000};
    c.responder_local = {"203.0.113.20", 30000};
    c.responder_remote = {"203.0.113.1", 50001};
    t.connections.push_back(c);
    t.events.reserve(n);
    const Endpoint cli{"192.168.1.10", 50001}, nat{"203.0.113.1", 50001}, srv{"203.0.113.20", 30000};
    for (std::size_t i = 0; i < n; ++i) {
        Event e;
        e.seq = i;
        e.kind = EventKind::Segment;
        e.time_ns = static_cast<TimeNs>(i) * 100'000;  // one segment every 0.1 ms
        const bool data = (i % 3) != 2;                // two data segments, one ack
        const bool second_hop = (i / 3) % 2;
        e.packet = i / 2 + 1;
        if (data) {
            e.from = second_hop ? "home-router" : "server";
            e.to = second_hop ? "client" : "home-router";
            e.src = srv;
            e.dst = second_hop ? cli : nat;
            e.src_after = srv;
            e.dst_after = cli;
            e.flags = "A";
            e.payload_len = 1460;
            e.text = "1460 bytes";
        } else {
            e.from = second_hop ? "home-router" : "client";
            e.to = second_hop ? "server" : "home-router";
            e.src = second_hop ? nat : cli;
            e.dst = srv;
            e.src_after = nat;
            e.dst_after = srv;
            e.flags = "A";
            e.text = "ACK";
        }
        e.arrive_ns = e.time_ns + (e.from == "client" || e.to == "client" ? kMs : 10 * kMs);
        e.conn = 1;
        e.verdict = Verdict::Delivered;
        t.events.push_back(std::move(e));
    }
    t.outcome.ok = true;
    return t;
}

}  // namespace ftpsim::gui
