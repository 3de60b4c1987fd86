// Server behaviour profiles: a profile is data (knobs and reply texts), not a subclass.
//
//   vsftpd    vsftpd 3.0.3 as Debian ships it: texts from its source and the captures in
//             tests/data/captures; knobs from vsftpd.conf(5).
//   pyftpdlib pyftpdlib's FTPHandler defaults: texts from pyftpdlib/handlers.py.
//   rfc959    the RFC's own reply texts and literal behaviour: no foreign-address checks.
//
// Each reply is a template: "{}" is replaced by the arguments in order. A template that holds
// "\r\n" is a multi-line reply and is sent as written (plus the final CRLF).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/actions.hpp"
#include "protocol/address.hpp"
#include "protocol/commands.hpp"
#include "protocol/server_states.hpp"
#include "protocol/vfs.hpp"

namespace ftpsim::proto {

// The commands the server knows: protocol/commands.hpp.

// ---- Reply texts --------------------------------------------------------------------------------
enum class Reply : std::uint8_t {
    Greeting, TooManyUsers, SpsvOnlyGreeting, SpsvOnlyUser,
    UserOk, LoginOk, LoginIncorrect, NeedUserFirst, NeedAccount, AlreadyLoggedIn, CantChangeUser,
    NotLoggedIn, Unknown, NotImplemented, ArgMissing, ArgUnexpected, AcctOk,
    Syst, OptsUtf8, OptsBad, TypeBinary, TypeAscii, TypeBad, ModeOk, ModeBad, StruOk, StruBad,
    Pwd, CwdOk, CwdFail, MkdOk, MkdFail, RmdOk, RmdFail, DeleOk, DeleFail, RnfrOk, RnfrFail,
    RntoNeedRnfr, RntoOk, RntoFail, SizeOk, SizeFail, MdtmOk, MdtmFail, Allo,
    Pasv, Epsv, EpsvAllOk, EpsvBadProtocol, AfterEpsvAll, PortOk, PortBad, PortForeign,
    PortPrivileged, EprtOk, EprtBad, EprtBadProtocol, ActiveEstablished,
    ActiveFailed, Spsv, SpdtOk, SpdtBad, Lstn, LstnBad, Sock, SockBad,
    NoDataSetup, DataFailed, BadIpConnecting, AcceptTimeout,
    RetrMark, ListMark, StorMark, StouMark, AlreadyOpen, TransferOk, ListOk, StouOk, RetrFail,
    ListFail, StorFail, SendNetFail, RecvNetFail, DiskFull, RestOk, RestBad,
    AborNone, AborAborted, AborOk, Noop, Help, StatHead, StatTail, Quit,
    AuthOk, AuthBad, AuthAgain, PbszOk, PbszNeedAuth, ProtOk, ProtNeedAuth, ProtNeedPbsz,
    ProtBad, CccOk, CccBad,
    BindFailed,    // the data socket cannot be bound (vsftpd: "500 OOPS: vsf_sysutil_bind")
    HelperGone,    // vsftpd's privileged helper exits after its session process died
    ShuttingDown,  // FtpServer::shutdown: the 421 every session gets (if the profile says one)
    ConnectTimeout,  // the active data connection was not up within connect_timeout
    IdleTimeout,     // no command within idle_session_timeout: the session ends
    DataTimeout,     // a transfer stalled for data_connection_timeout: the session ends
    PasvAck,         // RFC 478: PASV after SOCK, acknowledged plainly (the socket is known)
    Count_,
};
constexpr std::size_t kReplyCount = static_cast<std::size_t>(Reply::Count_);

using ReplyTexts = std::array<std::string, kReplyCount>;

// The reply's name in a scenario (`servers.X.replies: {greeting: "220 FTP server ready"}`):
// the enum name in kebab-case (Greeting -> "greeting", UserOk -> "user-ok", ListMark ->
// "list-mark"). reply_by_name is exact (lower case); nullopt for an unknown name.
const char* reply_name(Reply r);
std::optional<Reply> reply_by_name(std::string_view name);
std::span<const Reply> all_replies();

// "{}" takes the next argument, "{N}" argument N; unused arguments are ignored, so a profile's
// text may leave out what another profile's text shows.
std::string fill_reply(std::string_view tmpl, std::initializer_list<std::string_view> args = {});

// ---- When the 1yz mark goes out (RFC 959 leaves it to the server) ------------------------------
enum class DataTiming : std::uint8_t {
    MarkThenConnect,  // RFC 959 / the lecture deck: 150, then the data connection opens
    ConnectThenMark,  // vsftpd: connect (or accept) first, 150 once the connection is up
    Eager,            // pyftpdlib: PORT connects at once (200 when connected); a transfer on an
                      // open connection says 125, otherwise 150 and waits
};

struct ServerProfile {
    std::string name;
    ReplyTexts replies;
    std::vector<std::string> features;       // FEAT lines, without the leading space
    std::vector<std::string> help_lines;     // HELP body lines as sent (leading space included)

    // Login.
    bool anonymous_without_password = false; // vsftpd no_anon_password
    bool allow_user_change = true;           // vsftpd refuses USER after login
    bool acct_supported = true;              // RFC 959 ACCT; vsftpd: 502
    std::vector<Verb> prelogin_verbs;        // Session-group verbs served before login
    bool prelogin_unknown_is_530 = false;    // vsftpd answers anything pre-login with 530
    bool check_arguments = true;             // 501 on a missing/unexpected argument
    // Failed logins (PASS answered 530) as `ftpsim serve` enforces them: the reply waits
    // failed_login_delay, and the connection is closed after max_login_fails of them (0 = no
    // limit). vsftpd: delay_failed_login plus PAM's failure delay, about 3 s, and
    // max_login_fails=3; pyftpdlib: auth_failed_timeout=3, max_login_attempts=3; rfc959: none.
    Time failed_login_delay = 0;
    int max_login_fails = 0;

    // Data connections.
    DataTiming timing = DataTiming::MarkThenConnect;
    bool default_data_port = true;           // RFC 959 3.2: connect from L-1 to U without PORT
    bool connect_from_port_20 = false;       // active connections from ftp_data_port
    // The source port of active connections with connect_from_port_20: vsftpd's ftp_data_port
    // (20, whatever port it listens on); 0 = RFC 959's L-1 (the control port minus one).
    std::uint16_t ftp_data_port = 0;
    bool port_promiscuous = true;            // PORT/EPRT to any address
    // vsftpd: with port_promiscuous the unprivileged session process binds the active data socket
    // itself (ftpdataio.c: `if (tunable_one_process_model || tunable_port_promiscuous)`), so
    // together with connect_from_port_20 the bind to port 20 fails (EACCES): the transfer gets
    // BindFailed, the helper HelperGone, and the control connection closes.
    bool promiscuous_port_binds_unprivileged = false;
    bool pasv_promiscuous = true;            // data connections from any address
    bool refuse_privileged_ports = false;    // PORT to a port below 1024 refused
    bool reject_foreign_at_accept = false;   // pyftpdlib answers a foreign connection at once
    bool epsv_all_refuses_eprt = true;       // vsftpd 3.0.3 forgets EPRT after EPSV ALL
    // PASV on an IPv6 control connection: vsftpd (postlogin.c handle_pasv) announces 0,0,0,0;
    // pyftpdlib 1.5.7 (PassiveDTP) writes the IPv6 address text with '.' replaced by ',', which
    // no client can parse: "227 Entering passive mode (2001:db8:2::10,117,49).".
    bool pasv_ipv6_address_text = false;
    std::uint16_t pasv_min_port = 0;         // 0,0 = any unprivileged port (1024-65535)
    std::uint16_t pasv_max_port = 0;
    std::optional<IpAddress> pasv_address;   // vsftpd pasv_address / pyftpdlib masquerade_address
    Time accept_timeout = 60'000'000'000;    // waiting for a passive connection during a transfer
    // Timeouts (0 = none: TCP's own give-up, or wait forever), each ending in its reply:
    Time connect_timeout = 0;          // an active connect not up in time: ConnectTimeout
    Time idle_session_timeout = 0;     // no command in time (not during a transfer): IdleTimeout
    Time data_connection_timeout = 0;  // an upload with no bytes in for this long: DataTimeout
    // When the passive listen fails (DataListenFailed: the port is in use), how the server
    // retries before it gives up:
    //   vsftpd    privops.c vsf_privop_pasv_listen: 9 random ports, then die("vsf_sysutil_bind")
    //   pyftpdlib PassiveDTP: every port of passive_ports once (random order), then a
    //             kernel-assigned port outside the range (and a warning in its log)
    //   rfc959    every port of the range once, then 425
    // 0 = every port of the range once. Retries need ServerConfig::await_listen.
    unsigned pasv_bind_attempts = 0;
    bool pasv_fallback_to_any_port = false;  // pyftpdlib: bind((ip, 0)) after the range
    bool bind_failure_closes_session = false;  // vsftpd: die() ends the session
    bool announce_shutdown = true;           // ShuttingDown on FtpServer::shutdown (vsftpd: none)

    // Extensions.
    bool supports_spsv = true;               // draft-rosenau SPSV/SPDT
    bool supports_1973 = true;               // RFC 438 LSTN, SOCK; RFC 478 RTRV
    bool supports_tls = true;                // RFC 4217 AUTH TLS, PBSZ, PROT, CCC
    bool supports_ccc = true;
    bool prot_requires_pbsz = true;          // RFC 4217 9: PBSZ before PROT (vsftpd does not ask)
    bool supports_mlsd = true;
    bool supports_utf8_opts = true;
    bool ascii_by_default = true;            // RFC 959: TYPE A until told otherwise
    bool list_missing_dir_sends_empty = false; // vsftpd: 150, empty listing, 226 "Transfer done..."

    std::string feat_head = "Extensions supported:";
    std::string feat_tail = "END";
    ListingStyle listing;

    std::string reply(Reply r, std::initializer_list<std::string_view> args = {}) const;
};

// A user's replacement text for reply `r`: nullopt if acceptable, else why not. It must start
// with the 3-digit code of the profile's default text for `r` followed by a space (or "-" and
// "\r\n"-separated lines when the default is a multi-line reply, whose last line starts with
// "<code> "), and hold no other CR or LF.
std::optional<std::string> check_reply_override(const ServerProfile& profile, Reply r,
                                                std::string_view text);
// Checks, then sets profile.replies[name]; the error names the reply (or lists the known names).
std::optional<std::string> override_reply(ServerProfile& profile, std::string_view name,
                                          std::string_view text);
// The table docs/server.md embeds: every reply name with its default text per profile.
std::string render_reply_table();

ServerProfile vsftpd_profile();
ServerProfile pyftpdlib_profile();
ServerProfile rfc959_profile();

// The built-in server profiles, in the order the docs, the CLI and the GUI list them: the one
// list the scenario loader, `ftpsim serve --profile`, `ftpsim list` and the GUI's knobs read.
// A new profile is a function in server_profile.cpp and a row in its table (docs/design.md,
// "How to add a client or server profile").
struct ServerProfileEntry {
    std::string_view name;
    std::string_view description;  // one line for the CLI help and the GUI
    ServerProfile (*make)();
};
std::span<const ServerProfileEntry> server_profiles();
// A profile of server_profiles() by name; nullopt for another name.
std::optional<ServerProfile> server_profile_by_name(std::string_view name);
// Whether the profile, as it comes, refuses data addresses other than the control peer's
// (PORT to a foreign address, or a passive connection from one): what the diagnosis offers to
// relax with port_promiscuous / pasv_promiscuous.
bool refuses_foreign_data_addresses(const ServerProfile& profile);

}  // namespace ftpsim::proto
