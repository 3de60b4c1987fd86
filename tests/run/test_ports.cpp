// Ephemeral ports as Linux hands them out (docs/network-model.md, "Ports"): in every library
// scenario an active-mode data port is a port its host does not already use, and the control
// connection's port is never the data port (RFC 959's default data port aside).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;

namespace {

const fs::path kSource = FTPSIM_SOURCE_DIR;

std::vector<fs::path> every_library_scenario() {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(kSource / "scenarios"))
        if (e.path().extension() == ".yaml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

struct Use {
    int conn = -1;
    std::uint16_t port = 0;
    trace::TimeNs first = 0, last = 0;  // the connection's first and last event
};

}  // namespace

TEST_CASE("no library scenario's active-mode data port is a port its host already uses") {
    int active_data = 0;
    for (const auto& f : every_library_scenario()) {
        CAPTURE(f.lexically_relative(kSource).string());
        auto s = scenario::load_file(f.string());
        // RFC 959 3.2's default data port is the control port by definition.
        std::set<std::string> default_mode_clients;
        for (const auto& c : s.clients)
            if (c.mode == scenario::ClientMode::Default) default_mode_clients.insert(c.node);
        sim::RunOptions o;
        o.verify_fixes = false;
        o.diagnose = false;
        auto t = sim::run(s, o);

        std::map<int, std::pair<trace::TimeNs, trace::TimeNs>> span;  // connection -> first, last event
        for (const auto& e : t.events) {
            if (e.conn < 0) continue;
            auto [it, fresh] = span.try_emplace(e.conn, e.time_ns, e.time_ns);
            if (!fresh) it->second.second = std::max(it->second.second, e.time_ns);
        }
        std::map<std::string, std::vector<Use>> uses;  // host -> its sockets' local ports
        for (const auto& c : t.connections) {
            auto sp = span.count(c.id) ? span[c.id] : std::pair<trace::TimeNs, trace::TimeNs>{0, 0};
            uses[c.initiator].push_back({c.id, c.initiator_local.port, sp.first, sp.second});
            if (!c.responder.empty() && c.responder_local.port)
                uses[c.responder].push_back({c.id, c.responder_local.port, sp.first, sp.second});
        }
        for (const auto& c : t.connections) {
            // Active mode: the data connection's responder is the client that listened for it.
            const bool client_listens = std::any_of(s.clients.begin(), s.clients.end(),
                                                    [&](const auto& k) { return k.node == c.responder; });
            if (c.purpose != "data" || !client_listens || default_mode_clients.count(c.responder)) continue;
            ++active_data;
            const auto sp = span[c.id];
            for (const auto& u : uses[c.responder]) {
                if (u.conn == c.id || u.port != c.responder_local.port) continue;
                const bool overlaps = u.first <= sp.second && sp.first <= u.last;
                CHECK_MESSAGE(!overlaps, c.responder << " listens for data connection " << c.id << " on port "
                                                     << c.responder_local.port << ", already used by connection "
                                                     << u.conn);
            }
            // The control connection it serves, whenever it ran.
            for (const auto& k : t.connections)
                if (k.id == c.control_id && k.initiator == c.responder)
                    CHECK_MESSAGE(k.initiator_local.port != c.responder_local.port,
                                  "the data port is the control connection's port " << k.initiator_local.port);
        }
    }
    CHECK(active_data > 20);  // the walk saw the library's active-mode transfers
}
