// An FtpServer (one or more ServerSessions, SPSV hand-over included) driven by arbitrary control
// bytes, data-connection events, timer expiries, new connections and closes, all decoded from the
// input. Input format (see fuzz/README.md; fuzz/tools/make_corpus.py writes seeds in it):
//
//   byte 0: config   bits 0-1 profile (rfc959, vsftpd, pyftpdlib, rfc959), bit 2 anonymous off,
//                    bit 3 max_users = 1, bit 4 constant SPSV identifier "xYab1234",
//                    bit 5 pasv range 30000-30009 + pasv_address, bits 6-7 random seed
//   then records: op = one byte; kind = op & 15, sel = op >> 4 (session or data id selector)
//     0-3  control bytes: length byte + bytes, to session sel
//     4    DataListening   (port: 2 bytes)
//     5    DataConnected   (peer: 1 byte: even = the client's address, odd = a foreign one;
//                           port: 2 bytes)
//     6    DataListenFailed 7 DataRefused 8 DataTimedOut
//     9    DataBytes: length byte + bytes
//     10   DataClosed      11 DataReset
//     12   time passes: 1 byte x 250 ms, then on_timer if a timer expired
//     13   a new control connection (accept), at most 4
//     14   the client closes control connection sel
//     15   one well-formed command line from a table (1 byte index), to session sel
//   A data event goes to a data connection the session asked for (Listen / Connect), chosen by
//   sel (0 = the newest); sel 15 picks an id nobody asked for.
//
// Invariants checked besides ASan/UBSan: no exception escapes; everything a session writes on its
// control connection parses as FTP replies (parse_reply never says Error, and no reply is left
// half-written); a session that asked for its control connection to close writes nothing more.
#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"
#include "protocol/server.hpp"

using namespace ftpsim::proto;
using ftpsim::fuzz::Reader;

namespace {

const std::array<const char*, 64> kCommands = {
    "USER anonymous", "PASS guest@", "USER alice",   "PASS secret",     "USER u001",
    "PASS xyz",       "ACCT acct",   "SYST",         "FEAT",            "OPTS UTF8 ON",
    "TYPE I",         "TYPE A",      "MODE S",       "STRU F",          "PWD",
    "CWD /pub",       "CDUP",        "MKD newdir",   "RMD newdir",      "DELE file.bin",
    "RNFR file.bin",  "RNTO moved.bin", "SIZE file.bin", "MDTM file.bin", "LIST",
    "NLST",           "MLSD",        "RETR file.bin", "STOR up.bin",    "STOU",
    "APPE up.bin",    "REST 100",    "ABOR",         "NOOP",            "HELP",
    "STAT",           "QUIT",        "PORT 192,168,1,10,195,149", "PASV", "EPRT |1|192.168.1.10|50069|",
    "EPSV",           "EPSV ALL",    "EPSV 2",       "SPSV",            "SPDT xYab1234",
    "AUTH TLS",       "PBSZ 0",      "PROT P",       "CCC",             "LSTN R",
    "LSTN S",         "SOCK HOST-C,1234", "SOCK 192.168.1.10,50069", "RTRV file.bin", "PORT 198,51,100,7,0,21",
    "EPRT |2|2001:db8::1|50069|", "REST 0", "RETR /pub/readme.txt", "STOR /pub/x", "LIST /pub",
    "\xff\xf4\xff\xf2" "ABOR", "PROT C", "EPRT |3|x|1|", "TYPE L 8",
};

std::uint64_t g_rng = 1;

struct SessionInfo {
    HostPort local, remote;
    std::vector<DataId> data_ids;
    std::string out;          // control bytes not yet parsed as a whole reply
    bool closed = false;      // CloseControl emitted, or the client closed
    bool data_channel = false;  // became another session's data connection
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    const std::uint8_t cfg = in.u8();

    ServerConfig config;
    switch (cfg & 3) {
        case 1: config.profile = vsftpd_profile(); break;
        case 2: config.profile = pyftpdlib_profile(); break;
        default: config.profile = rfc959_profile(); break;
    }
    config.users = {{"alice", "secret"}, {"u001", "xyz"}};
    config.users_needing_account = {"alice"};
    config.allow_anonymous = !(cfg & 4);
    config.max_users = (cfg & 8) ? 1 : 0;
    config.host_names = {{"HOST-C", IpAddress::v4(198, 51, 100, 7)}};
    if (cfg & 16) config.spsv_id_generator = [](const RandomSource&) { return std::string("xYab1234"); };
    if (cfg & 32) {
        config.profile.pasv_min_port = 30000;
        config.profile.pasv_max_port = 30009;
        config.profile.pasv_address = IpAddress::v4(203, 0, 113, 1);
    }
    Vfs vfs;
    vfs.add_file("/file.bin", 65536);
    vfs.add_dir("/pub");
    vfs.put_file("/pub/readme.txt", "hello\r\n");
    vfs.set_quota(1 << 20);
    g_rng = 0x9E3779B97F4A7C15ull * ((cfg >> 6) + 1);
    RandomSource random = [] {
        g_rng ^= g_rng << 13;
        g_rng ^= g_rng >> 7;
        g_rng ^= g_rng << 17;
        return g_rng;
    };

    FtpServer server(std::move(config), std::move(vfs), std::move(random));
    std::map<SessionId, SessionInfo> sessions;
    std::vector<SessionId> order;
    Time now = 0;

    auto drain = [&] {
        for (auto& sa : server.take_actions()) {
            SessionInfo& info = sessions[sa.session];
            if (const auto* become = std::get_if<BecomeDataConnection>(&sa.what)) {
                (void)become;
                info.data_channel = true;
                continue;
            }
            const Action& a = std::get<Action>(sa.what);
            if (const auto* sc = std::get_if<SendControl>(&a)) {
                FUZZ_CHECK(!info.closed, sc->bytes);
                info.out += sc->bytes;
                while (!info.out.empty()) {
                    ReplyView r;
                    const ParseResult pr = parse_reply(info.out, r);
                    FUZZ_CHECK(pr.status != ParseStatus::Error, info.out);
                    if (pr.status == ParseStatus::NeedMore) break;
                    info.out.erase(0, pr.consumed);
                }
                FUZZ_CHECK(info.out.empty(), info.out);  // whole replies only
            } else if (const auto* l = std::get_if<Listen>(&a)) {
                info.data_ids.push_back(l->id);
            } else if (const auto* c = std::get_if<Connect>(&a)) {
                info.data_ids.push_back(c->id);
            } else if (std::holds_alternative<CloseControl>(a)) {
                info.closed = true;
            }
        }
    };
    auto accept = [&] {
        const auto n = static_cast<std::uint8_t>(order.size());
        HostPort local{IpAddress::v4(10, 0, 0, 5), 21};
        HostPort remote{IpAddress::v4(192, 168, 1, 10), static_cast<std::uint16_t>(50000 + n)};
        const SessionId sid = server.accept(now, local, remote);
        sessions[sid].local = local;
        sessions[sid].remote = remote;
        order.push_back(sid);
        drain();
    };
    auto pick = [&](unsigned sel) -> SessionId { return order[sel % order.size()]; };

    accept();
    int steps = 0;
    while (!in.empty() && ++steps < 2000) {
        const std::uint8_t op = in.u8();
        const unsigned kind = op & 15, sel = op >> 4;
        const SessionId sid = pick(sel);
        SessionInfo& info = sessions[sid];
        now += 1'000'000;  // 1 ms between inputs
        auto data_id = [&]() -> DataId {
            if (sel == 15 || info.data_ids.empty()) return 1000 + sel;
            return info.data_ids[info.data_ids.size() - 1 - sel % info.data_ids.size()];
        };
        switch (kind) {
            case 0: case 1: case 2: case 3: {
                const std::string_view bytes = in.chunk();
                if (!info.closed) server.receive_control(now, sid, bytes);
                break;
            }
            case 15: {
                const std::string line = std::string(kCommands[in.u8() % kCommands.size()]) + "\r\n";
                if (!info.closed) server.receive_control(now, sid, line);
                break;
            }
            case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: {
                if (info.closed) { (void)in.u8(); break; }
                const DataId id = data_id();
                DataEvent ev;
                switch (kind) {
                    case 4: ev = DataListening{id, {info.local.addr, in.u16()}}; break;
                    case 5: {
                        const bool foreign = in.u8() & 1;
                        const HostPort remote{foreign ? IpAddress::v4(198, 51, 100, 7) : info.remote.addr,
                                              in.u16()};
                        ev = DataConnected{id, {info.local.addr, 20}, remote};
                        break;
                    }
                    case 6: ev = DataListenFailed{id}; break;
                    case 7: ev = DataRefused{id}; break;
                    case 8: ev = DataTimedOut{id}; break;
                    case 9: ev = DataBytes{id, std::string(in.chunk())}; break;
                    case 10: ev = DataClosed{id}; break;
                    default: ev = DataReset{id}; break;
                }
                server.receive_data(now, sid, ev);
                break;
            }
            case 12: {
                now += static_cast<Time>(in.u8()) * 250'000'000;
                if (server.next_expiry() <= now) server.on_timer(now);
                break;
            }
            case 13:
                if (order.size() < 4) accept();
                break;
            case 14:
                if (!info.closed) {
                    info.closed = true;
                    server.control_closed(now, sid);
                }
                break;
        }
        drain();
    }
    // Let every timer run out.
    for (int i = 0; i < 8 && server.next_expiry() != kNever; ++i) {
        now = std::max(now, server.next_expiry());
        server.on_timer(now);
        drain();
    }
    return 0;
}
