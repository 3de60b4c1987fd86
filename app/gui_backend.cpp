// The GUI's simulator: the scenario library as the GUI's library, the keys a learner flips as
// knobs (the same keys --set takes), and a run of the simulator for every knob change.
#ifdef FTPSIM_HAVE_GUI

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include "app/commands.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "viz/gui/app.hpp"
#include "viz/gui/backend.hpp"

namespace fs = std::filesystem;

namespace ftpsim::app {
namespace {

// A link delay in the largest unit that keeps it exact, in the scenario's own spelling
// (0.5 ms is "500us", not "0ms").
std::string exact_duration(std::int64_t ns) {
    if (ns == 0) return "0ms";
    for (const auto& [unit, suffix] : {std::pair<std::int64_t, const char*>{1'000'000'000, "s"},
                                       {1'000'000, "ms"}, {1'000, "us"}})
        if (ns % unit == 0) return std::to_string(ns / unit) + suffix;
    return std::to_string(ns) + "ns";
}

std::string category_of(const std::string& name) {
    static const std::vector<std::pair<std::string, std::string>> rules = {
        {"lecture", "1 Lecture deck"},     {"rfc4", "2 History (1973)"},     {"spsv", "3 Single port (SPSV)"},
        {"home-router", "4 Home routers"}, {"both-behind", "4 Home routers"}, {"curl-vsftpd", "5 Real captures"},
        {"nat-", "6 NAT types"},           {"eprt", "7 Extended (EPSV/EPRT)"}, {"epsv", "7 Extended (EPSV/EPRT)"},
        {"pasv", "8 Passive mode"},        {"ftps", "9 FTPS"},               {"fxp", "10 Server to server"},
        {"bounce", "11 Security"},         {"firewall", "12 Firewalls"},     {"default", "8 Passive mode"},
    };
    for (const auto& [key, cat] : rules)
        if (name.find(key) != std::string::npos) return cat;
    return "13 Faults and load";
}

std::string yes_no(bool b) { return b ? "true" : "false"; }

// A knob's choices are the schema's allowed values for its key (scenarios/README.md lists the
// same ones), so a new profile, mode or NAT preset appears here without an edit.
std::vector<std::string> allowed(std::string_view section, std::string_view key,
                                 bool (*keep)(const std::string&) = nullptr) {
    static const auto schema = scenario::scenario_schema();
    std::vector<std::string> out;
    if (const auto* k = scenario::find_key(schema, section, key))
        for (const auto& v : k->allowed)
            if (!keep || keep(v)) out.push_back(v);
    return out;
}

// The mode knob offers the modes of a single client session (server-to-server needs a second server).
bool one_session_mode(const std::string& name) {
    for (const auto& c : scenario::choices<scenario::ClientMode>())
        if (c.name == name) return !scenario::is_server_to_server(c.value);
    return false;
}
bool nat_preset(const std::string& name) { return name != "custom"; }

class SimBackend final : public gui::GuiBackend {
public:
    explicit SimBackend(std::string dir) : dir_(std::move(dir)) {
        for (const auto& e : fs::directory_iterator(dir_))
            if (e.path().extension() == ".yaml") files_[e.path().stem().string()] = e.path().string();
    }

    std::vector<gui::ScenarioInfo> library() override {
        std::vector<gui::ScenarioInfo> out;
        for (const auto& [name, file] : files_) {
            try {
                auto s = scenario::load_file(file);
                out.push_back({name, s.title, category_of(name), s.description});
            } catch (const scenario::ScenarioError&) {
                // A broken file stays out of the library; `ftpsim check` names its problem.
            }
        }
        std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
            return std::stoi(a.category) < std::stoi(b.category);
        });
        for (auto& i : out) i.category = i.category.substr(i.category.find(' ') + 1);
        return out;
    }

    gui::Knobs knobs(const std::string& id) override {
        gui::Knobs k;
        k.scenario = id;
        k.open_ended = true;
        auto it = files_.find(id);
        if (it == files_.end()) return k;
        scenario::Scenario s;
        try {
            s = scenario::load_file(it->second);
        } catch (const scenario::ScenarioError&) {
            return k;
        }
        for (const auto& c : s.clients) {
            k.knobs.push_back({"clients." + c.node + ".mode", c.node + ": data connection mode",
                               allowed("clients.NODE", "mode", one_session_mode), std::string(scenario::name_of(c.mode)),
                               "PORT/EPRT: the server connects (active); PASV/EPSV: the client connects (passive)"});
            k.knobs.push_back({"clients." + c.node + ".profile", c.node + ": client program",
                               allowed("clients.NODE", "profile"), c.profile,
                               "How the client behaves (which commands, what it trusts)"});
        }
        for (const auto& sv : s.servers)
            k.knobs.push_back({"servers." + sv.node + ".profile", sv.node + ": server program",
                               allowed("servers.NODE", "profile"), sv.profile,
                               "vsftpd and pyftpdlib refuse foreign data addresses; rfc959 trusts them"});
        for (const auto& n : s.nodes) {
            if (n.kind != scenario::NodeKind::Router) continue;
            if (n.nat.enabled)
                k.knobs.push_back({"nodes." + n.name + ".nat.type", n.name + ": NAT type",
                                   allowed("nodes.NAME.nat", "type", nat_preset),
                                   n.nat.type == "custom" ? "port-restricted" : n.nat.type, "RFC 4787 behaviour"});
            if (n.nat.enabled || !n.forwards.empty())
                k.knobs.push_back({"nodes." + n.name + ".alg.enabled", n.name + ": FTP ALG", {"false", "true"},
                                   yes_no(n.alg.enabled), "The router reads PORT/227 and opens the data connection's way"});
            if (n.firewall.enabled || !n.firewall.rules.empty())
                k.knobs.push_back({"nodes." + n.name + ".firewall.enabled", n.name + ": firewall", {"false", "true"},
                                   yes_no(n.firewall.enabled), "The router's packet filter"});
        }
        for (std::size_t i = 0; i < s.links.size(); ++i) {
            const auto& l = s.links[i];
            std::string base = "links." + std::to_string(i);
            k.knobs.push_back({base + ".latency", l.a + " - " + l.b + ": latency", {},
                               exact_duration(l.latency_ns), "One-way delay, e.g. 20ms"});
            k.knobs.push_back({base + ".loss", l.a + " - " + l.b + ": loss", {}, std::to_string(l.loss),
                               "Probability that a packet is lost, e.g. 0.02"});
        }
        defaults_[id] = k;
        return k;
    }

    trace::Trace simulate(const gui::Knobs& knobs) override {
        auto it = files_.find(knobs.scenario);
        trace::Trace failed;
        failed.scenario = knobs.scenario;
        auto finding = [&](std::string what, std::string cause) {
            trace::Diagnosis d;
            d.what = std::move(what);
            d.cause = std::move(cause);
            failed.outcome.diagnosis.push_back(std::move(d));
        };
        if (it == files_.end()) {
            finding("No such scenario: " + knobs.scenario, "");
            return failed;
        }
        if (!defaults_.count(knobs.scenario)) this->knobs(knobs.scenario);
        const auto& defaults = defaults_[knobs.scenario];
        std::vector<std::string> sets;
        for (const auto& kn : knobs.knobs) {
            const auto* d = defaults.find(kn.name);
            if (!d || d->value != kn.value) sets.push_back(kn.name + "=" + kn.value);
        }
        try {
            return sim::run(scenario::load_file(it->second, sets));
        } catch (const scenario::ScenarioError& e) {
            finding(std::string("The scenario cannot run with these settings: ") + e.what(),
                    "A knob has a value the scenario does not accept.");
            return failed;
        }
    }

private:
    std::string dir_;
    std::map<std::string, std::string> files_;
    std::map<std::string, gui::Knobs> defaults_;
};

}  // namespace

std::shared_ptr<gui::GuiBackend> make_sim_backend() { return std::make_shared<SimBackend>(library_dir()); }

}  // namespace ftpsim::app

#endif  // FTPSIM_HAVE_GUI
