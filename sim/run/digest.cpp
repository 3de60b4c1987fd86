#include "sim/run/digest.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>

#include "sim/run/build.hpp"
#include "sim/run/diagnose.hpp"
#include "sim/trace/json.hpp"

namespace ftpsim::sim {

std::uint64_t fnv1a64(const std::string& bytes) { return hash_name(bytes); }

namespace {
std::string at(trace::TimeNs ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, ns / trace::kNsPerSec, ns % trace::kNsPerSec);
    return buf;
}
}  // namespace

std::string trace_digest(const trace::Trace& t) {
    std::string out = "scenario " + t.scenario + " seed " + std::to_string(t.seed) + "\n";
    for (const auto& l : control_lines(t))
        out += at(l.time_ns) + " " + l.from + " -> " + l.to + " [conn " + std::to_string(l.conn) + "] " + l.text + "\n";
    struct DataSummary {
        std::uint64_t segments = 0, bytes = 0;
        trace::TimeNs first = -1, last = 0;
    };
    std::map<int, DataSummary> data;
    std::map<int, std::string> purpose;
    for (const auto& c : t.connections) purpose[c.id] = c.purpose;
    for (const auto& e : t.events) {
        switch (e.kind) {
            case trace::EventKind::Socket:
            case trace::EventKind::Middlebox:
            case trace::EventKind::Note:
                out += at(e.time_ns) + " " + e.from + " " + trace::to_string(e.kind) + ": " + e.text + "\n";
                break;
            case trace::EventKind::Segment: {
                if (e.verdict == trace::Verdict::Dropped || e.verdict == trace::Verdict::Rejected)
                    out += at(e.time_ns) + " " + e.from + " -> " + e.to + " " + e.flags + " " + e.src.addr + ":" +
                           std::to_string(e.src.port) + " > " + e.dst.addr + ":" + std::to_string(e.dst.port) + " " +
                           trace::to_string(e.verdict) + ": " + e.reason + "\n";
                if (purpose[e.conn] == "data" && e.payload_len > 0) {
                    auto& d = data[e.conn];
                    ++d.segments;
                    d.bytes += e.payload_len;
                    if (d.first < 0) d.first = e.time_ns;
                    d.last = e.arrive_ns;
                }
                break;
            }
            default: break;
        }
    }
    for (const auto& [conn, d] : data)
        out += "data conn " + std::to_string(conn) + ": " + std::to_string(d.segments) + " segment-hops, " +
               std::to_string(d.bytes) + " payload bytes over all hops, " + at(d.first) + " .. " + at(d.last) + "\n";
    out += std::string("outcome ") + (t.outcome.ok ? "ok" : "failed") +
           (t.outcome.limit_reached.empty() ? "" : " (" + t.outcome.limit_reached + ")") + "\n";
    for (const auto& tr : t.outcome.transfers)
        out += "  transfer " + tr.client + " " + tr.command + " " + tr.path + " " + (tr.ok ? "ok" : "failed") +
               " reply " + std::to_string(tr.reply) + " bytes " + std::to_string(tr.bytes) + "\n";
    for (const auto& d : t.outcome.diagnosis) {
        out += "  what: " + d.what + "\n  why: " + d.cause + "\n";
        for (const auto& f : d.fixes) out += "  fix: " + f.description + " [" + f.change + "]\n";
    }
    char hash[32];
    std::snprintf(hash, sizeof hash, "%016" PRIx64, fnv1a64(trace::to_json(t)));
    out += "events " + std::to_string(t.events.size()) + ", json fnv1a64 " + hash + "\n";
    return out;
}

}  // namespace ftpsim::sim
