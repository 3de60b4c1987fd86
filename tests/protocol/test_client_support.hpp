// A canned server for the client-alone tests: answers each command from a table, plays the data
// connection's far end, and records the control transcript ("C: USER anonymous", "S: 230 ...").
// The real server joins the client in tests/support/session_pair.hpp; this one only says what a
// real server said in the captures and the seeds, so each client test pins the client's bytes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "protocol/client.hpp"

namespace ftpsim::proto::testing {

// What the canned data connection's far end does.
// Reset: the connection opens, then is reset instead of carrying the download.
enum class DataOutcome { Connect, Refuse, TimeOut, Reset };

struct CannedServer {
    std::string greeting = "220 (vsFTPd 3.0.3)";
    // Full command line (without CRLF) or just its verb -> reply lines. A transfer command's
    // first line is its 1yz; the data moves between that line and the next.
    std::map<std::string, std::vector<std::string>> answers;
    std::string download = std::string(65536, 'x');  // what RETR and LIST send
    DataOutcome data = DataOutcome::Connect;
    std::uint16_t listen_port = 60149;               // the port the client's Listen gets
    HostPort data_peer{IpAddress::v4(203, 0, 113, 10), 20};  // the server's end of a data conn
    std::vector<std::string> data_lines;  // SPSV: what the server says on the data connection
};

struct Run {
    std::vector<std::string> transcript;  // control lines, "C: " or "S: "
    std::vector<Action> actions;          // every action the client emitted, in order
    std::string uploaded;                 // SendData bytes on the data connection
    std::vector<std::string> data_transcript;  // SPSV handshake lines on the data connection
};

inline std::vector<std::string> split_lines(const std::string& bytes) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < bytes.size()) {
        const auto end = bytes.find("\r\n", start);
        lines.push_back(bytes.substr(start, end - start));
        start = end == std::string::npos ? bytes.size() : end + 2;
    }
    return lines;
}

// Runs the client against the canned server until nothing moves.
inline Run run_canned(ClientSession& client, const CannedServer& server, Time now = 0) {
    Run run;
    std::vector<std::string> pending;  // server lines still to send
    pending.push_back(server.greeting);
    std::string last_command;
    bool data_open = false;
    DataId data_id = 0;
    auto reply = [&](const std::string& line) {
        run.transcript.push_back("S: " + line);
        client.receive_control(line + "\r\n", now);
    };
    auto deliver_download = [&] {
        if (!data_open) return;
        if (server.data == DataOutcome::Reset) {
            client.on_data_event(DataReset{data_id}, now);
            data_open = false;
            return;
        }
        client.on_data_event(DataBytes{data_id, server.download}, now);
        client.on_data_event(DataClosed{data_id}, now);
        data_open = false;
    };
    for (int guard = 0; guard < 10000; ++guard) {
        if (auto action = client.poll_action()) {
            run.actions.push_back(*action);
            if (auto* s = std::get_if<SendControl>(&*action)) {
                for (auto& line : split_lines(s->bytes)) {
                    run.transcript.push_back("C: " + line);
                    last_command = line;
                    const auto verb = line.substr(0, line.find(' '));
                    auto it = server.answers.find(line);
                    if (it == server.answers.end()) it = server.answers.find(verb);
                    if (it != server.answers.end())
                        pending.insert(pending.end(), it->second.begin(), it->second.end());
                }
            } else if (auto* l = std::get_if<Listen>(&*action)) {
                data_id = l->id;
                const std::uint16_t port = l->port_lo != 0 ? l->port_lo : server.listen_port;
                client.on_data_event(DataListening{l->id, {l->addr, port}}, now);
            } else if (auto* c = std::get_if<Connect>(&*action)) {
                data_id = c->id;
                if (server.data == DataOutcome::Refuse) client.on_data_event(DataRefused{c->id}, now);
                else if (server.data == DataOutcome::TimeOut) client.on_data_event(DataTimedOut{c->id}, now);
                else {
                    data_open = true;
                    client.on_data_event(DataConnected{c->id, {}, c->remote}, now);
                    // SPSV: the greeting now, the rest once the client has sent SPDT.
                    if (!server.data_lines.empty()) {
                        run.data_transcript.push_back("S: " + server.data_lines[0]);
                        client.on_data_event(DataBytes{c->id, server.data_lines[0] + "\r\n"}, now);
                    }
                }
            } else if (auto* d = std::get_if<SendData>(&*action)) {
                if (d->bytes.starts_with("SPDT")) {
                    run.data_transcript.push_back("C: " + d->bytes.substr(0, d->bytes.size() - 2));
                    for (std::size_t i = 1; i < server.data_lines.size(); ++i) {
                        run.data_transcript.push_back("S: " + server.data_lines[i]);
                        client.on_data_event(DataBytes{d->id, server.data_lines[i] + "\r\n"}, now);
                    }
                } else {
                    run.uploaded += d->bytes;
                }
            } else if (auto* cd = std::get_if<CloseData>(&*action)) {
                (void)cd;
                data_open = false;
            }
            continue;
        }
        if (pending.empty()) break;
        const std::string line = pending.front();
        pending.erase(pending.begin());
        const bool preliminary = line[0] == '1';
        const bool is_download = last_command.starts_with("RETR") || last_command.starts_with("LIST");
        // Active mode: the server connects to the client's listener before its 150 (vsftpd).
        if (preliminary && client.data_state() == DataState::Listening) {
            if (server.data == DataOutcome::Connect || server.data == DataOutcome::Reset) {
                data_open = true;
                client.on_data_event(DataConnected{data_id, {}, server.data_peer}, now);
            }
        }
        reply(line);
        if (preliminary && is_download) deliver_download();
    }
    return run;
}

template <typename T>
std::vector<T> actions_of(const Run& run) {
    std::vector<T> out;
    for (const auto& a : run.actions)
        if (auto* t = std::get_if<T>(&a)) out.push_back(*t);
    return out;
}

}  // namespace ftpsim::proto::testing
