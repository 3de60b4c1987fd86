// The FTP commands ftpsim knows, as one table: each verb's argument form, the session group the
// server's state table gates it by, its transfer direction (none, download, upload, listing: a
// transfer needs a data connection) and the document that defines it.
//
// The server (dispatch, which profile enables it), the client script (which raw lines are
// transfers), live mode (which commands move file bytes, which way) and the pcap import (which
// commands a data connection belongs to) all read this table, so a new command is a row here
// (docs/design.md, "How to add a command").
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/server_states.hpp"

namespace ftpsim::proto {

enum class Verb : std::uint8_t {
    USER, PASS, ACCT, SYST, FEAT, OPTS, TYPE, MODE, STRU, PWD, CWD, CDUP, MKD, RMD, DELE, RNFR,
    RNTO, SIZE, MDTM, LIST, NLST, MLSD, RETR, STOR, STOU, APPE, REST, ABOR, NOOP, HELP, STAT, QUIT,
    PORT, PASV, EPRT, EPSV, SPSV, SPDT, AUTH, PBSZ, PROT, CCC, LSTN, SOCK, RTRV, ALLO, REIN, SMNT,
    SITE, Unknown,
};

enum class ArgRule : std::uint8_t { None, Optional, Required };

// Which way file bytes move on the data connection the command opens.
enum class Transfer : std::uint8_t {
    None,      // no data connection
    Download,  // server -> client: a file (RETR, RTRV)
    Upload,    // client -> server: a file (STOR, STOU, APPE)
    Listing,   // server -> client: a directory listing (LIST, NLST, MLSD)
};
const char* to_string(Transfer t);  // "none", "download", "upload", "listing"

// The document that defines the command; a server profile enables a dialect as a whole.
enum class Dialect : std::uint8_t {
    Rfc959,        // the base protocol (RFC 775's X-variants map onto it)
    Rfc2389,       // FEAT, OPTS
    Rfc2428,       // EPRT, EPSV
    Rfc3659,       // SIZE, MDTM, MLSD (REST STREAM)
    Rfc4217,       // AUTH TLS, PBSZ, PROT, CCC
    DraftRosenau,  // SPSV, SPDT (draft-rosenau-ftp-single-port-05)
    Rfc438,        // LSTN, SOCK (1973)
    Rfc478,        // RTRV (1973)
};
const char* to_string(Dialect d);  // "RFC 959", ...

struct VerbInfo {
    std::string_view name;
    Verb verb;
    CommandGroup group;
    ArgRule arg;
    Transfer transfer = Transfer::None;
    Dialect dialect = Dialect::Rfc959;

    bool needs_data_connection() const { return transfer != Transfer::None; }
};

// The verb of a command name (case-insensitive; X-variants XPWD XCWD XCUP XMKD XRMD map too);
// Verb::Unknown (transfer None) for another name.
const VerbInfo& verb_info(std::string_view name);
const VerbInfo& verb_info(Verb v);
std::span<const VerbInfo> known_verbs();

}  // namespace ftpsim::proto
