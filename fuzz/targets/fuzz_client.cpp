// A ClientSession (each profile, each data mode, several scripts) driven by arbitrary reply
// bytes, data-connection events, timer expiries and a close, decoded from the input:
//
//   byte 0: profile (index into client_profiles(), modulo their number)
//   byte 1: data mode (DataMode value modulo 10: Auto, Default, Port, Eprt, Pasv, Epsv,
//           EpsvAll, Spsv, Lstn, Sock)
//   byte 2: script (index into kScripts modulo its size; the last entry means: the script is
//           the next length-prefixed chunk, parsed with parse_client_script)
//   then records: op = one byte; kind = op & 15, sel = op >> 4
//     0-3  reply bytes: length byte + bytes
//     4    DataListening (port: 2 bytes)   5 DataConnected (port: 2 bytes)
//     6    DataListenFailed 7 DataRefused 8 DataTimedOut
//     9    DataBytes: length byte + bytes  10 DataClosed 11 DataReset
//     12   time passes: 1 byte x 250 ms, then on_timer if the timer expired
//     13   the server closes the control connection
//     14, 15 one well-formed reply from a table (1 byte index)
//   A data event goes to a data connection the client asked for (Listen / Connect), chosen by
//   sel (0 = the newest); sel 15 picks an id nobody asked for.
//
// Invariants checked besides ASan/UBSan: no exception escapes; every line the client writes on
// the control connection parses as a command (parse_command Ok: no bare CR, NUL or empty line);
// each input yields a bounded number of actions (no runaway loop).
#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "common.hpp"
#include "protocol/client.hpp"

using namespace ftpsim::proto;
using ftpsim::fuzz::Reader;

namespace {

const std::array<const char*, 40> kReplies = {
    "220 (vsFTPd 3.0.3)", "331 Please specify the password.", "230 Login successful.",
    "257 \"/\" is the current directory", "215 UNIX Type: L8", "200 Switching to Binary mode.",
    "200 Switching to ASCII mode.", "213 65536", "227 Entering Passive Mode (10,0,0,5,117,49).",
    "227 Entering Passive Mode (192,168,150,90,195,149).", "229 Entering Extended Passive Mode (|||30007|)",
    "200 PORT command successful. Consider using PASV.", "200 EPRT command successful. Consider using EPSV.",
    "150 Opening BINARY mode data connection for file.bin (65536 bytes).",
    "150 Here comes the directory listing.", "150 Ok to send data.", "226 Transfer complete.",
    "226 Directory send OK.", "221 Goodbye.", "425 Failed to establish connection.",
    "425 Security: Bad IP connecting.", "500 Illegal PORT command.", "500 Unknown command.",
    "502 Command not implemented.", "522 Bad network protocol.", "530 Please login with USER and PASS.",
    "550 Failed to open file.", "250 Directory successfully changed.", "227 Entering single-port mode (xYab1234)",
    "200 DATA", "504 Invalid identifier", "255 SOCK 1234", "200 EPSV ALL ok.", "421 Timeout.",
    "211-Features:\r\n EPRT\r\n EPSV\r\n211 End", "120 Service ready in 5 minutes.",
    "220 Too many users; only SPSV connections allowed", "332 Need account for login.",
    "350 Ready for RNTO.", "451 Local error.",
};

const std::array<const char*, 8> kScripts = {
    "login anonymous\nget file.bin\nquit\n",  // the captures: curl fetching file.bin
    "login anonymous\nls\nget file.bin\nquit\n",
    "login alice secret\nput up.bin 1000\nappend up.bin 10\nquit\n",
    "login anonymous\ncwd /pub\npwd\nls /pub\nget readme.txt\nraw NOOP\nquit\n",
    "login u001 xyz\nget a\nget b\nput c 5\nquit\n",
    "get file.bin\n",
    "login anonymous\nraw SITE CHMOD 777 x\nls\n",
    "",  // the script comes from the input
};

void check_commands(std::string& out) {
    while (!out.empty()) {
        CommandView cmd;
        const ParseResult r = parse_command(out, cmd);
        FUZZ_CHECK(r.status != ParseStatus::Error, out);
        if (r.status == ParseStatus::NeedMore) break;
        out.erase(0, r.consumed);
    }
    FUZZ_CHECK(out.empty(), out);  // whole lines only
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    const auto profiles = client_profiles();
    ClientConfig config;
    config.profile = profiles[in.u8() % profiles.size()];
    config.mode = static_cast<DataMode>(in.u8() % 10);
    const unsigned script = in.u8() % kScripts.size();
    std::string script_text = script + 1 == kScripts.size() ? std::string(in.chunk()) : kScripts[script];
    auto parsed = parse_client_script(script_text);
    if (auto* s = std::get_if<ClientScript>(&parsed)) {
        config.script = std::move(*s);
    } else {
        const auto& err = std::get<ScriptError>(parsed);
        FUZZ_CHECK(err.line >= 1 && err.column >= 1, script_text);
        (void)err.message;
        config.script = {login("anonymous"), ls(), quit()};
    }
    for (const auto& a : config.script) (void)to_string(a);

    const HostPort local{IpAddress::v4(192, 168, 1, 10), 50000};
    const HostPort remote{IpAddress::v4(10, 0, 0, 5), 21};
    ClientSession client(std::move(config));
    Time now = 0;
    std::vector<DataId> ids;
    std::string out;

    auto drain = [&] {
        for (int guard = 0;; ++guard) {
            FUZZ_CHECK(guard < 100000, "runaway: more than 100000 actions for one input");
            auto a = client.poll_action();
            if (!a) break;
            if (const auto* sc = std::get_if<SendControl>(&*a)) {
                out += sc->bytes;
                check_commands(out);
            } else if (const auto* l = std::get_if<Listen>(&*a)) {
                ids.push_back(l->id);
            } else if (const auto* c = std::get_if<Connect>(&*a)) {
                ids.push_back(c->id);
            }
        }
        (void)client.finished();
        (void)client.control_state();
        (void)client.data_state();
    };

    client.on_connected(local, remote, now);
    drain();
    int steps = 0;
    while (!in.empty() && ++steps < 2000) {
        const std::uint8_t op = in.u8();
        const unsigned kind = op & 15, sel = op >> 4;
        now += 1'000'000;
        auto data_id = [&]() -> DataId {
            if (sel == 15 || ids.empty()) return 1000 + sel;
            return ids[ids.size() - 1 - sel % ids.size()];
        };
        switch (kind) {
            case 0: case 1: case 2: case 3:
                client.receive_control(in.chunk(), now);
                break;
            case 14: case 15:
                client.receive_control(std::string(kReplies[in.u8() % kReplies.size()]) + "\r\n", now);
                break;
            case 4: client.on_data_event(DataListening{data_id(), {local.addr, in.u16()}}, now); break;
            case 5:
                client.on_data_event(DataConnected{data_id(), {local.addr, 50001}, {remote.addr, in.u16()}},
                                     now);
                break;
            case 6: client.on_data_event(DataListenFailed{data_id()}, now); break;
            case 7: client.on_data_event(DataRefused{data_id()}, now); break;
            case 8: client.on_data_event(DataTimedOut{data_id()}, now); break;
            case 9: client.on_data_event(DataBytes{data_id(), std::string(in.chunk())}, now); break;
            case 10: client.on_data_event(DataClosed{data_id()}, now); break;
            case 11: client.on_data_event(DataReset{data_id()}, now); break;
            case 12:
                now += static_cast<Time>(in.u8()) * 250'000'000;
                if (client.next_expiry() <= now) client.on_timer(now);
                break;
            case 13: client.on_control_closed(now); break;
        }
        drain();
    }
    for (const auto& r : client.results()) (void)r.failure.size();
    return 0;
}
