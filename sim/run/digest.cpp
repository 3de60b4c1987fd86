#include "sim/run/digest.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>

#include "sim/run/build.hpp"
#include "sim/run/diagnose.hpp"

namespace ftpsim::sim {

std::uint64_t fnv1a64(const std::string& bytes) { return hash_name(bytes); }

namespace {

std::string at(trace::TimeNs ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, ns / trace::kNsPerSec, ns % trace::kNsPerSec);
    return buf;
}

std::string endpoint(const trace::Endpoint& e) {
    const bool v6 = e.addr.find(':') != std::string::npos;
    return (v6 ? "[" + e.addr + "]" : e.addr) + ":" + std::to_string(e.port);
}

void section(std::string& out, const char* name) {
    out += "== ";
    out += name;
    out += "\n";
}

// An evidence event named by what it is, not by its index (indices move with any new event).
std::string evidence_name(const trace::Event& e) {
    std::string s = trace::to_string(e.kind);
    if (e.fact != trace::Fact::None) s += std::string(" ") + trace::to_string(e.fact);
    for (const auto& l : e.ftp) {
        s += l.command ? " " + l.verb : " " + std::to_string(l.code);
        break;
    }
    if (e.kind == trace::EventKind::Segment && e.verdict != trace::Verdict::Delivered)
        s += std::string(" ") + trace::to_string(e.verdict);
    return s + " @" + at(e.time_ns) + " " + e.from;
}

}  // namespace

std::string trace_digest(const trace::Trace& t) {
    std::string out = "scenario " + t.scenario + " seed " + std::to_string(t.seed) + "\n";

    section(out, "dialogue");
    for (const auto& l : control_lines(t)) {
        out += at(l.time_ns) + " " + l.from + " -> " + l.to + " [conn " + std::to_string(l.conn) + "] " + l.text;
        if (l.ftp.announce != trace::Announce::None)
            out += std::string("  {") + trace::to_string(l.ftp.announce) + " " + endpoint(l.ftp.announced) + "}";
        out += "\n";
    }

    section(out, "middlebox");
    std::map<std::string, std::string> by_fact;
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Middlebox) {
            // Most sentences name their router already ("home-router: NAT mapped ..."), the ALG's not.
            const std::string text = trace::text(e);
            const bool named = text.rfind(e.from + ": ", 0) == 0;
            by_fact[trace::to_string(e.fact)] +=
                "  " + at(e.time_ns) + " " + (named ? std::string() : e.from + ": ") + text + "\n";
        }
    for (const auto& [fact, lines] : by_fact) out += fact + "\n" + lines;

    section(out, "sockets");
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Socket || e.kind == trace::EventKind::Timer)
            out += at(e.time_ns) + " " + e.from + " " + trace::to_string(e.fact) + ": " + trace::text(e) + "\n";

    section(out, "applications");
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Note)
            out += at(e.time_ns) + " " + e.from + " " + trace::to_string(e.fact) + ": " + trace::text(e) + "\n";

    section(out, "drops");
    struct DataSummary {
        std::uint64_t segments = 0, bytes = 0;
        trace::TimeNs first = -1, last = 0;
    };
    std::map<int, DataSummary> data;
    std::map<int, std::string> purpose;
    for (const auto& c : t.connections) purpose[c.id] = c.purpose;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment) continue;
        if (e.verdict == trace::Verdict::Dropped || e.verdict == trace::Verdict::Rejected)
            out += at(e.time_ns) + " " + e.from + " -> " + e.to + " " + e.flags + " " + endpoint(e.src) + " > " +
                   endpoint(e.dst) + " " + trace::to_string(e.verdict) + " " + trace::to_string(e.fact) + ": " +
                   e.reason + "\n";
        if (purpose[e.conn] == "data" && e.payload_len > 0) {
            auto& d = data[e.conn];
            ++d.segments;
            d.bytes += e.payload_len;
            if (d.first < 0) d.first = e.time_ns;
            d.last = e.arrive_ns;
        }
    }

    section(out, "data");
    for (const auto& [conn, d] : data)
        out += "data conn " + std::to_string(conn) + ": " + std::to_string(d.segments) + " segment-hops, " +
               std::to_string(d.bytes) + " payload bytes over all hops, " + at(d.first) + " .. " + at(d.last) + "\n";

    section(out, "outcome");
    out += std::string("outcome ") + (t.outcome.ok ? "ok" : "failed") +
           (t.outcome.limit_reached.empty() ? "" : " (" + t.outcome.limit_reached + ")") + ", " +
           std::to_string(t.events.size()) + " events\n";
    for (const auto& tr : t.outcome.transfers)
        out += "  transfer " + tr.client + " " + tr.command + " " + tr.path + " " + (tr.ok ? "ok" : "failed") +
               " reply " + std::to_string(tr.reply) + " bytes " + std::to_string(tr.bytes) + "\n";
    for (const auto& d : t.outcome.diagnosis) {
        out += "  finding " + d.kind + "\n";
        for (auto seq : d.evidence)
            if (seq < t.events.size()) out += "    evidence " + evidence_name(t.events[seq]) + "\n";
        out += "    what: " + d.what + "\n    why: " + d.cause + "\n";
        for (const auto& f : d.fixes) {
            out += "    fix" + std::string(f.verified ? " (verified)" : "") + ": " + f.description + "\n";
            for (const auto& set : f.sets) out += "      --set " + set + "\n";
        }
    }
    return out;
}

}  // namespace ftpsim::sim
