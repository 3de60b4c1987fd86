// What the GUI asks of the rest of ftpsim: the scenario library, a scenario's knobs, and a trace
// for a set of knob values. The simulator plugs in behind this interface, so the GUI never
// includes SimGrid and runs (and is tested) on traces from JSON files or built in code.
#pragma once

#include "trace/trace.hpp"

#include <memory>
#include <string>
#include <vector>

namespace ftpsim::gui {

struct ScenarioInfo {
    std::string id;           // "active-behind-nat"
    std::string title;        // "Active FTP from behind a home NAT"
    std::string category;     // "NAT", "Firewall", "History", ...
    std::string description;  // one or two sentences for the library panel
};

// One adjustable setting of a scenario. `choices` empty means free text (a number, a rule).
struct Knob {
    std::string name;                  // the override key: "routers.home.alg", "client.mode"
    std::string label;                 // "Home router FTP ALG"
    std::vector<std::string> choices;  // {"on", "off"}
    std::string value;
    std::string help;                  // tooltip
    bool operator==(const Knob&) const = default;
};

struct Knobs {
    std::string scenario;  // ScenarioInfo::id
    std::vector<Knob> knobs;
    // When true, apply() adds a free-text knob for a name it does not know (the simulator's
    // backend accepts any scenario key, so a diagnosis fix that sets several keys applies whole).
    bool open_ended = false;

    const Knob* find(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback = {}) const;
    // Sets a knob's value; false when the knob does not exist or the value is not a choice.
    bool set(const std::string& name, const std::string& value);
    // Applies "name=value", or several joined by " --set " (the form of trace::Fix::change);
    // false on a malformed or (unless open_ended) unknown one.
    bool apply(const std::string& assignment);
    bool operator==(const Knobs&) const = default;
};

// A human label for a scenario key a knob sets: "nodes.linksys.alg.ports" -> "linksys: FTP ALG
// ports", "clients.client.mode" -> "client: mode" (for knobs a fix adds, which have no label).
std::string knob_label(const std::string& key);

// A number as a class reads it: "0.000000" -> "0", "0.020000" -> "0.02", "-1.50" -> "-1.5". Text
// that is not a plain decimal number ("20ms", "1e-3", "port") comes back unchanged. The app shows
// free-text knobs' values through it (a backend may print a double with std::to_string).
std::string tidy_number(const std::string& text);
// What a knob's value means, shown beside its field: a loss probability as a percentage
// ("= 2 %" for 0.02); empty when there is nothing to add.
std::string knob_value_note(const Knob& k);

class GuiBackend {
public:
    virtual ~GuiBackend() = default;
    virtual std::vector<ScenarioInfo> library() = 0;
    // The knobs of a scenario with their default values.
    virtual Knobs knobs(const std::string& scenario) = 0;
    // Runs the scenario with these knob values. Must not throw for values knobs() offered;
    // a failure to run is reported as a trace whose outcome explains it.
    virtual trace::Trace simulate(const Knobs& knobs) = 0;
};

// A backend over fixed traces: each trace is one library entry with no knobs. Used for
// `--trace FILE.json` until the simulator is plugged in.
class FixedTraceBackend : public GuiBackend {
public:
    void add(trace::Trace t);
    std::vector<ScenarioInfo> library() override;
    Knobs knobs(const std::string& scenario) override;
    trace::Trace simulate(const Knobs& knobs) override;

private:
    std::vector<trace::Trace> traces_;
};

// A synthetic trace of `n` events (a long passive download) for the culling and speed tests.
trace::Trace make_long_trace(std::size_t n);

}  // namespace ftpsim::gui
