#include <string>

#include "sim/run/run.hpp"

namespace ftpsim::sim {
namespace {
std::string yes_no(bool b) { return b ? "ok" : "failed"; }
}  // namespace

std::vector<std::string> check_expectation(const scenario::Scenario& s, const trace::Outcome& got) {
    std::vector<std::string> diffs;
    if (!s.expect) return diffs;
    const auto& e = *s.expect;
    if (e.ok && *e.ok != got.ok)
        diffs.push_back("expected the run to have " + yes_no(*e.ok) + ", but it " + yes_no(got.ok));
    if (!e.transfers.empty() && e.transfers.size() != got.transfers.size())
        diffs.push_back("expected " + std::to_string(e.transfers.size()) + " transfers, found " +
                        std::to_string(got.transfers.size()));
    for (std::size_t i = 0; i < e.transfers.size() && i < got.transfers.size(); ++i) {
        const auto& want = e.transfers[i];
        const auto& have = got.transfers[i];
        std::string which = "transfer " + std::to_string(i + 1) + " (" + have.command +
                            (have.path.empty() ? "" : " " + have.path) + ")";
        if (want.command && *want.command != have.command)
            diffs.push_back(which + ": expected command " + *want.command);
        if (want.ok && *want.ok != have.ok)
            diffs.push_back(which + ": expected " + yes_no(*want.ok) + ", but it " + yes_no(have.ok));
        if (want.reply && *want.reply != have.reply)
            diffs.push_back(which + ": expected final reply " + std::to_string(*want.reply) +
                            ", got " + (have.reply ? std::to_string(have.reply) : "none"));
    }
    std::string all;
    for (const auto& d : got.diagnosis) all += d.what + " " + d.cause + " ";
    for (const auto& w : e.diagnosis_mentions)
        if (all.find(w) == std::string::npos)
            diffs.push_back("expected the diagnosis to mention '" + w + "'");
    return diffs;
}

}  // namespace ftpsim::sim
