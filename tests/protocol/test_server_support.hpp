// Helpers for the server tests: a scripted random source and a driver that feeds one
// ServerSession and collects what it says.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "protocol/server.hpp"

namespace ftpsim::proto::test {

// Returns the given values in order, then zeros. Copies share the position.
inline RandomSource scripted_random(std::vector<std::uint64_t> values) {
    auto state = std::make_shared<std::pair<std::vector<std::uint64_t>, std::size_t>>(
        std::move(values), 0);
    return [state] {
        auto& [v, i] = *state;
        return i < v.size() ? v[i++] : 0;
    };
}

inline HostPort hp(const char* ip, std::uint16_t port) { return {*parse_ip(ip), port}; }

template <class T>
std::vector<T> only(const std::vector<Action>& actions) {
    std::vector<T> out;
    for (const auto& a : actions)
        if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
    return out;
}

inline std::string control_text(const std::vector<Action>& actions) {
    std::string out;
    for (const auto& s : only<SendControl>(actions)) out += s.bytes;
    return out;
}

// Actions without the Explain lines, for exact order checks.
inline std::vector<Action> without_explain(const std::vector<Action>& actions) {
    std::vector<Action> out;
    for (const auto& a : actions)
        if (!std::holds_alternative<Explain>(a)) out.push_back(a);
    return out;
}

inline std::vector<Action> of_session(const std::vector<ServerAction>& actions, SessionId s) {
    std::vector<Action> out;
    for (const auto& a : actions)
        if (a.session == s)
            if (const Action* act = std::get_if<Action>(&a.what)) out.push_back(*act);
    return out;
}

// One session, driven directly. The session points at the config and the file system, so they
// live on the heap and a Driver may be moved.
struct Driver {
    std::unique_ptr<ServerConfig> config_storage;
    std::unique_ptr<Vfs> vfs_storage;
    ServerConfig& config;
    Vfs& vfs;
    std::unique_ptr<ServerSession> session;
    Time now = 0;

    Driver(ServerConfig c, Vfs v, RandomSource random, HostPort local, HostPort remote)
        : config_storage(std::make_unique<ServerConfig>(std::move(c))),
          vfs_storage(std::make_unique<Vfs>(std::move(v))),
          config(*config_storage),
          vfs(*vfs_storage) {
        session = std::make_unique<ServerSession>(config, vfs, std::move(random), 1, local, remote);
        session->start(now);
    }
    std::vector<Action> take() { return session->take_actions(); }
    std::string greeting() { return control_text(take()); }
    // Send one command line, return everything the session did.
    std::vector<Action> cmd(const std::string& line) {
        session->receive_control(now, line + "\r\n");
        return take();
    }
    std::string reply(const std::string& line) { return control_text(cmd(line)); }
    std::vector<Action> data(const DataEvent& e) {
        session->receive_data(now, e);
        return take();
    }
    void login(const std::string& user = "alice", const std::string& pass = "secret") {
        cmd("USER " + user);
        cmd("PASS " + pass);
        REQUIRE(session->state() == ServerState::LoggedIn);
    }
};

inline ServerConfig config_with(ServerProfile profile) {
    ServerConfig c;
    c.profile = std::move(profile);
    c.users = {{"alice", "secret"}, {"u001", "xyz"}};
    return c;
}

}  // namespace ftpsim::proto::test
