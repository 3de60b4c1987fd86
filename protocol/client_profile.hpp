// Client behaviour profiles: what real FTP clients send and how they react, as plain data.
//
// A profile is a value, not a subclass: the client session reads its fields where the clients
// differ (which command opens the data connection first, whether the 227 address is trusted,
// what happens when the data connection cannot be made). docs/client.md gives the source of
// every field's value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/actions.hpp"

namespace ftpsim::proto {

// How the data connection is built (the mode the user picks; Auto = the profile's default).
enum class DataMode : std::uint8_t {
    Auto,      // the profile's own default
    Default,   // RFC 959 3.2: no PORT/PASV; the client listens on its control port U and the
               // server connects from its port L-1 (20)
    Port,      // PORT h1,h2,h3,h4,p1,p2 (RFC 959)
    Eprt,      // EPRT |1|addr|port| (RFC 2428), PORT fallback if the profile has one
    Pasv,      // PASV -> 227 (RFC 959)
    Epsv,      // EPSV -> 229 (RFC 2428), PASV fallback if the profile has one
    EpsvAll,   // "EPSV ALL" once after login, then EPSV for every transfer (RFC 2428 section 4)
    Spsv,      // SPSV -> 227 (identifier), SPDT on a second connection to the control port
               // (draft-rosenau-ftp-single-port-05)
    Lstn,      // 1973: "LSTN S|R" -> 255 socket; the client connects to it (RFC 438)
    Sock,      // 1973: the client listens and sends "SOCK host,socket" -> 255 (RFC 438 d)
};

const char* to_string(DataMode mode);
std::optional<DataMode> parse_data_mode(std::string_view text);  // "port", "epsv-all", ...
bool is_passive(DataMode mode);  // the client connects (PASV, EPSV, EPSV ALL, SPSV, LSTN)
// The command that sets up a data connection in `mode`: "PORT", "EPRT", "PASV", "EPSV" (also
// for EPSV ALL), "SPSV", "LSTN", "SOCK"; "" for Default (no command) and Auto.
std::string_view data_setup_command(DataMode mode);

// What the client does with the address in a 227 reply.
enum class PasvAddressPolicy : std::uint8_t {
    Trust,                 // connect to the announced address (old command-line clients)
    UseControlPeer,        // ignore it: connect to the control connection's peer (curl, ftplib)
    FixPrivate,            // lftp ftp:fix-pasv-address: use the control peer when the announced
                           // address is private/loopback and the peer is not (or the reverse)
    SubstituteUnroutable,  // FileZilla: an unroutable (private, 0.0.0.0) address while the
                           // control peer is routable is replaced by the control peer
};
const char* to_string(PasvAddressPolicy policy);

// What the client does after a failure of the current user action.
enum class FailurePolicy : std::uint8_t {
    Continue,  // report and go on with the next action (interactive clients, transfer queues)
    Quit,      // send QUIT and stop (curl after a negative reply; a Python "with FTP()" block)
    Abandon,   // close the control connection without QUIT (curl after a failed data connect)
};
const char* to_string(FailurePolicy policy);

// When "TYPE" is sent.
enum class TypePolicy : std::uint8_t {
    WhenChanged,     // only when the transfer needs another type than the last one sent
    EveryTransfer,   // before every transfer (ftplib's retrbinary/retrlines)
};

struct ClientProfile {
    std::string_view name;
    std::string_view description;       // one line for the docs and the GUI
    DataMode default_mode = DataMode::Pasv;

    // Login and per-transfer command sequence.
    std::string_view anonymous_password;  // sent when the script's login has no password
    bool feat_before_login = false;       // lftp: "FEAT" (211) before "USER"
    bool syst_after_login = false;        // BSD ftp: "Remote system type is UNIX."
    bool assumes_ascii_default = false;   // TYPE A is RFC 959's default: no TYPE before a listing
    bool pwd_after_login = false;         // curl, lftp, FileZilla learn the home directory
    TypePolicy type_policy = TypePolicy::WhenChanged;
    bool data_setup_before_type = false;  // curl: EPSV/PORT first, then TYPE, SIZE, RETR
    bool size_before_retr = false;        // curl, lftp: "SIZE file" before "RETR file"
    bool mdtm_before_retr = false;        // lftp: "MDTM file" after SIZE, before the data setup

    // Data connection.
    // On an IPv6 control connection PASV becomes EPSV, with no fallback to PASV (curl's ftp.c,
    // ftplib's makepasv when af is AF_INET6, lftp, FileZilla): a 227 cannot carry an IPv6
    // address. false: PASV is sent as the mode names it (a client that knows only RFC 959's
    // passive command). PORT always becomes EPRT |2| on IPv6, with no fallback to PORT.
    bool extended_on_ipv6 = false;
    PasvAddressPolicy pasv_address = PasvAddressPolicy::Trust;
    bool epsv_falls_back_to_pasv = false;        // on a negative reply to EPSV
    bool epsv_connect_falls_back_to_pasv = false;  // when the EPSV data connection fails
    bool eprt_falls_back_to_port = false;        // on a negative reply to EPRT
    // curl 7.88 on an IPv6 control connection: after EPRT is refused it moves on to PORT, skips it
    // (PORT cannot carry an IPv6 address) and sends nothing, yet waits for PORT's reply: no QUIT,
    // the session stalls until --max-time (exit 28) or the server's idle timeout (421). Measured
    // by the rig (docs/fidelity.md, the nat64 eprt cells).
    bool port_fallback_stalls_on_ipv6 = false;
    bool switch_mode_on_data_failure = false;    // FileZilla: passive <-> active, once
    Time accept_timeout = 0;                     // active mode: give up waiting for the
                                                 // server's connection (0 = wait forever)
    // Connecting (the control connection, and a passive data connection): give up after this,
    // 0 = when TCP gives up (curl --connect-timeout, ftplib timeout, lftp net:timeout).
    Time connect_timeout = 0;
    // curl: connect_timeout is one budget for the transfer's data connections, from its first
    // connect: after a failed EPSV connection the PASV fallback gets what is left, and none left
    // means curl gives up right after the 227 without a SYN.
    bool connect_timeout_shared = false;
    // The whole session (curl --max-time): the client gives up whatever it is doing (0 = none).
    Time max_time = 0;
    // A reply that does not come within this while the client waits for one (0 = wait for ever):
    // the textbook client's socket timeout (the rig's scripted client, Python's
    // FTP(timeout=...)). It gives up, writes QUIT and closes at once without reading the answer
    // (a Python socket file cannot be read after a timeout; ftplib's "with" block quits).
    Time reply_timeout = 0;
    // lftp's reconnects when the control connection cannot be made (refused, timed out,
    // unreachable): net:max-retries tries in all (1 = no retry; 0 here = the program does not
    // retry), waiting net:reconnect-interval-base, then that times
    // net:reconnect-interval-multiplier, back to the base once net:reconnect-interval-max is
    // reached. Each retry is a new control connection.
    unsigned max_tries = 0;
    Time reconnect_interval_base = 0;
    double reconnect_interval_multiplier = 1.5;
    Time reconnect_interval_max = 0;
    // lftp: a transfer whose data setup was refused (PORT 500) or whose data connection failed
    // (refused, timed out) is retried on a new control connection, within the same
    // net:max-retries, net:reconnect-interval-base after the previous try's start (at once when
    // that is past). The new session logs in again (FEAT, USER) but knows the home directory,
    // the size and the date: no PWD, SIZE, MDTM.
    bool retries_failed_transfer = false;
    // lftp ftp:auto-passive-mode: the retry switches to passive after a refused PORT, to active
    // after a refused passive connection; a timed-out connection keeps the mode.
    bool auto_passive_mode = false;

    // Failures.
    FailurePolicy on_negative_reply = FailurePolicy::Continue;
    // A negative reply to the data setup (PORT, EPRT, PASV, EPSV, SPSV, LSTN, SOCK) once every
    // fallback is used up: lftp disconnects without QUIT, the others as on_negative_reply.
    FailurePolicy on_data_command_refused = FailurePolicy::Continue;
    FailurePolicy on_data_failure = FailurePolicy::Continue;
};

// The mode a profile really uses on a control connection of the given family. On IPv6, PORT
// cannot carry the client's address: every client announces with EPRT |2|; a profile with
// extended_on_ipv6 also passives with EPSV only (RFC 2428); otherwise the mode as given.
DataMode mode_on_family(const ClientProfile& profile, DataMode mode, bool ipv6);

// The built-in profiles: curl, ftplib, lftp, filezilla, classic.
std::span<const ClientProfile> client_profiles();
const ClientProfile* find_client_profile(std::string_view name);
const ClientProfile& curl_profile();  // the default everywhere a profile is not named

// ---- The programs' own options (scenario key clients.NODE.options) -----------------------------
// Each profile's options under the program's own names (curl's command line, ftplib's FTP
// attributes, lftp's settings) and the fields they set, in one table next to the profiles: the
// builder reads a scenario's options through it (an option of another program is an error) and
// scenarios/README.md's key reference is rendered from it.
enum class ClientOptionType : std::uint8_t {
    Seconds,     // seconds ("60", "0.5") or a duration ("500ms"), at most a day
    Flag,        // true or false (yes/no, on/off)
    Tries,       // tries in all: 0 = unlimited, 1 = no retry (0 to 100000)
    Multiplier,  // a factor from 1 to 100
};
struct ClientOptionValue {  // the value, as its type reads it
    Time duration = 0;
    bool flag = false;
    unsigned tries = 0;
    double factor = 1;
};
struct ClientOption {
    std::string_view profile;  // the program: a name from client_profiles()
    std::string_view name;     // as the program names it
    ClientOptionType type;
    std::string_view meaning;  // its default and what it governs, for the key reference
    void (*apply)(ClientProfile&, const ClientOptionValue&);
};
std::span<const ClientOption> client_options();
// The option called `name` of `profile`, else of any profile (nullptr if none): an option of
// another program is reported as such by the caller.
const ClientOption* find_client_option(std::string_view name, std::string_view profile = {});

}  // namespace ftpsim::proto
