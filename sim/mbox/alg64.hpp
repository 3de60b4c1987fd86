// The FTP64 ALG (RFC 6384): an FTP application-level gateway on a NAT64 translator that lets an
// IPv6-only client use an IPv4-only server in every mode but the ones that cannot work.
//
// RFC 6384's full text was not available when this was written, only its abstract. The rules
// below follow, each as marked: the abstract (the ALG translates EPSV and EPRT for servers that
// lack them), Jool's implementation of RFC 6384 (NICMx/Jool, mod/common/alg/ftp: its state
// machine, its replies' wording), the A10 Thunder's NAT64 FTP ALG options (trans_eprt_to_port,
// trans_epsv_to_pasv) and our own choices. docs/middleboxes.md, "FTP64 ALG", lists them.
//
// Like the IPv4 ALG it does not reassemble the TCP stream: it reads a segment only when it is made
// of whole lines (ends with "\n"); anything else passes as it is.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

struct Ftp64AlgConfig {
    bool enabled = false;
    // Translate only after the client's "ALGS ENABLE64" (RFC 6384 section 11 allows it; Jool's
    // `ftp requires ALGS request` option).
    bool requires_algs = false;
    std::uint16_t port = 21;  // control connections to this IPv4 server port
};

// Which rule decided (the trace's `state` on alg64 facts, to_string()).
enum class Ftp64Rule : std::uint8_t {
    None,
    EpsvToPasv,     // "EPSV" or "EPSV 2" -> "PASV"                         (abstract, Jool, A10)
    Reply227To229,  // the 227 answering it -> "229 ... (|||port|)"        (abstract, Jool, A10)
    Reply227To425,  // a 227 naming another host than the server -> 425    (Jool)
    EprtToPort,     // "EPRT |2|client|port|" -> "PORT pool,p1,p2" + binding (abstract, Jool, A10)
    Algs,           // "ALGS STATUS64|ENABLE64|DISABLE64" answered with 216  (RFC 6384 s. 11, Jool)
    EpsvAll,        // "EPSV ALL" answered with 504                          (Jool)
    EpsvProtocol,   // "EPSV n", n != 2, answered with 522                   (Jool)
};
const char* to_string(Ftp64Rule r);  // "epsv-to-pasv", "227-to-229", ...

// Jool's struct ftp_state: one control connection's translation state.
struct Ftp64State {
    bool algs_enabled = false;   // "ALGS ENABLE64" seen (and no DISABLE64 since)
    bool algs_disabled = false;  // "ALGS DISABLE64" seen (and no ENABLE64 since)
    bool translating(const Ftp64AlgConfig& cfg) const { return cfg.requires_algs ? algs_enabled : !algs_disabled; }
    bool sent_epsv = false;     // an EPSV went out as PASV: its 227 is translated back
    bool sent_auth = false;     // AUTH went out: a positive reply makes the channel unreadable
    bool transparent = false;   // after AUTH succeeded: nothing is read any more
};

// What the ALG does with one whole line (without its CRLF).
struct Ftp64Line {
    enum class Kind : std::uint8_t { Copy, Translate, Answer } kind = Kind::Copy;
    Ftp64Rule rule = Ftp64Rule::None;
    std::string line;  // Translate: the line sent on instead; Answer: the ALG's own reply
    HostPort bound_v6;  // EprtToPort: the client's endpoint the binding leads to
    HostPort bound_v4;  // EprtToPort: the translator's IPv4 endpoint written into PORT
};

// The translator's part in EPRT -> PORT: binds the client's IPv6 endpoint to an IPv4 transport
// address of its pool (Jool: pool4_allocate_same_address + bibdb_add); nullopt when none is free.
using Ftp64Binder = std::function<std::optional<HostPort>(const HostPort& v6)>;

// A client's command line. `client` is the control connection's IPv6 source address.
Ftp64Line ftp64_client_line(Ftp64State& st, const Ftp64AlgConfig& cfg, std::string_view line, const IpAddress& client,
                            const Ftp64Binder& bind);
// A server's reply line. `server` is the control connection's IPv4 server address.
Ftp64Line ftp64_server_line(Ftp64State& st, std::string_view line, const IpAddress& server);

// One translated control connection: its state, its sequence adjustments (client -> server is
// CtDirection::Original) and where the server's byte stream has got to (for the ALG's replies).
struct Ftp64Control {
    Ftp64State state;
    std::array<SeqAdjust, 2> seqadj{};
    std::uint32_t server_next = 0;  // the server's next sequence number, in its own numbering
    bool server_seen = false;
};

// A client -> server segment (IPv6 addresses, before translation): rewrites its payload, records
// the sequence adjustment, and returns the bytes the ALG answers the client with ("" for none).
std::string ftp64_client_segment(Ftp64Control& c, const Ftp64AlgConfig& cfg, const std::string& node, Packet& p,
                                 const Ftp64Binder& bind, std::vector<MiddleboxNote>& notes);
// A server -> client segment (IPv4 addresses, before translation).
void ftp64_server_segment(Ftp64Control& c, const std::string& node, Packet& p, std::vector<MiddleboxNote>& notes);

}  // namespace ftpsim::mbox
