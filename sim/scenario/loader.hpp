// Loading and validating scenario files. Every error names the file, line and column and says
// what was expected and what was found; the command line turns it into exit status 2.
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace ftpsim::scenario {

class ScenarioError : public std::runtime_error {
public:
    ScenarioError(Mark mark, const std::string& message);
    const Mark& mark() const { return mark_; }
    const std::string& message() const { return message_; }  // without the location

private:
    Mark mark_;
    std::string message_;
};

// What the loader accepts, so that a scenario that cannot be simulated within memory is refused
// before it runs (docs/reliability.md, "Limits"); each message names its range.
constexpr std::size_t kMaxScenarioBytes = 4u << 20;          // the YAML file
constexpr std::size_t kMaxNodes = 1000;
constexpr std::size_t kMaxLinks = 2000;
constexpr std::size_t kMaxClients = 1000;                    // clients in all, their counts included
constexpr std::size_t kMaxServers = 1000;

// `sets` are "a.b.c=value" overrides applied to the document before validation, so they are
// validated exactly like the file's own values. A list of named items is addressed by name
// (nodes.home-router.alg.enabled=true), other lists by index (links.0.latency=20ms).
Scenario load_file(const std::string& path, const std::vector<std::string>& sets = {});
Scenario load_string(std::string_view yaml, const std::string& file_name,
                     const std::vector<std::string>& sets = {});

// Semantic checks that need the whole scenario (addresses on their links' networks, gateways
// directly reachable, servers and clients on hosts that exist). load_* call it.
void validate(const Scenario& s);

// The largest file a run of `s` can move (servers.*.files, put/append sizes), docs/reliability.md
// "Simulated file sizes": contents are generated on demand and stream through a send buffer of
// 2 windows + 1 MSS, so memory does not bound the size; the event limit does (each segment is
// at least one event: limits.events x tcp.mss). With tcp.window 0 the whole file is written and
// in flight at once (about 4 bytes of memory per byte): limits.memory / 4.
std::uint64_t max_simulated_file(const Scenario& s);

// Value parsers shared with the command line (--vary values); they return false on bad input.
bool parse_duration(std::string_view text, std::int64_t& ns);
bool parse_bandwidth(std::string_view text, double& bps);
bool parse_size(std::string_view text, std::uint64_t& bytes);

// The format's schema: every key the loader reads, section by section, with what the reference
// (scenarios/README.md) says about it. Sections are written as paths with placeholders:
// "" (the top level), "tcp", "nodes.NAME", "nodes.NAME.nat", "links[]", "clients.NODE", ...
struct KeyInfo {
    std::string section;
    std::string key;
    std::string type;                  // as the reference writes it; "" = one of `allowed`
    std::string fallback;              // the default, as the reference writes it
    std::string meaning;
    std::vector<std::string> allowed;  // the words a choice accepts
    bool required = false;
};
std::vector<KeyInfo> scenario_schema();
const KeyInfo* find_key(const std::vector<KeyInfo>& schema, std::string_view section, std::string_view key);
// A section's reference table (Markdown): its keys, then the keys of each nested section that
// has no table of its own (`own_tables`) with dotted names. regenerate_key_reference renders
// again each table that follows a line "<!-- keys: SECTION -->" (the test that keeps
// scenarios/README.md equal to the schema uses it).
std::string render_key_table(std::string_view section, const std::set<std::string>& own_tables = {});
std::string regenerate_key_reference(std::string_view doc);

// The known key closest to `key` (edit distance), or "" when none is close.
std::string nearest_key(std::string_view key, const std::vector<std::string>& known);

}  // namespace ftpsim::scenario
