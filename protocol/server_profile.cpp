#include "protocol/server_profile.hpp"

#include <array>

#include "protocol/codec.hpp"

namespace ftpsim::proto {

namespace {

using R = Reply;

struct ReplyName {
    Reply reply;
    std::string_view name;
};

// The enum names in kebab-case, in enum order (a static_assert keeps the two in step).
constexpr std::array kReplyNames{
    ReplyName{R::Greeting, "greeting"},
    ReplyName{R::TooManyUsers, "too-many-users"},
    ReplyName{R::SpsvOnlyGreeting, "spsv-only-greeting"},
    ReplyName{R::SpsvOnlyUser, "spsv-only-user"},
    ReplyName{R::UserOk, "user-ok"},
    ReplyName{R::LoginOk, "login-ok"},
    ReplyName{R::LoginIncorrect, "login-incorrect"},
    ReplyName{R::NeedUserFirst, "need-user-first"},
    ReplyName{R::NeedAccount, "need-account"},
    ReplyName{R::AlreadyLoggedIn, "already-logged-in"},
    ReplyName{R::CantChangeUser, "cant-change-user"},
    ReplyName{R::NotLoggedIn, "not-logged-in"},
    ReplyName{R::Unknown, "unknown"},
    ReplyName{R::NotImplemented, "not-implemented"},
    ReplyName{R::ArgMissing, "arg-missing"},
    ReplyName{R::ArgUnexpected, "arg-unexpected"},
    ReplyName{R::AcctOk, "acct-ok"},
    ReplyName{R::Syst, "syst"},
    ReplyName{R::OptsUtf8, "opts-utf8"},
    ReplyName{R::OptsBad, "opts-bad"},
    ReplyName{R::TypeBinary, "type-binary"},
    ReplyName{R::TypeAscii, "type-ascii"},
    ReplyName{R::TypeBad, "type-bad"},
    ReplyName{R::ModeOk, "mode-ok"},
    ReplyName{R::ModeBad, "mode-bad"},
    ReplyName{R::StruOk, "stru-ok"},
    ReplyName{R::StruBad, "stru-bad"},
    ReplyName{R::Pwd, "pwd"},
    ReplyName{R::CwdOk, "cwd-ok"},
    ReplyName{R::CwdFail, "cwd-fail"},
    ReplyName{R::MkdOk, "mkd-ok"},
    ReplyName{R::MkdFail, "mkd-fail"},
    ReplyName{R::RmdOk, "rmd-ok"},
    ReplyName{R::RmdFail, "rmd-fail"},
    ReplyName{R::DeleOk, "dele-ok"},
    ReplyName{R::DeleFail, "dele-fail"},
    ReplyName{R::RnfrOk, "rnfr-ok"},
    ReplyName{R::RnfrFail, "rnfr-fail"},
    ReplyName{R::RntoNeedRnfr, "rnto-need-rnfr"},
    ReplyName{R::RntoOk, "rnto-ok"},
    ReplyName{R::RntoFail, "rnto-fail"},
    ReplyName{R::SizeOk, "size-ok"},
    ReplyName{R::SizeFail, "size-fail"},
    ReplyName{R::MdtmOk, "mdtm-ok"},
    ReplyName{R::MdtmFail, "mdtm-fail"},
    ReplyName{R::Allo, "allo"},
    ReplyName{R::Pasv, "pasv"},
    ReplyName{R::Epsv, "epsv"},
    ReplyName{R::EpsvAllOk, "epsv-all-ok"},
    ReplyName{R::EpsvBadProtocol, "epsv-bad-protocol"},
    ReplyName{R::AfterEpsvAll, "after-epsv-all"},
    ReplyName{R::PortOk, "port-ok"},
    ReplyName{R::PortBad, "port-bad"},
    ReplyName{R::PortForeign, "port-foreign"},
    ReplyName{R::PortPrivileged, "port-privileged"},
    ReplyName{R::EprtOk, "eprt-ok"},
    ReplyName{R::EprtBad, "eprt-bad"},
    ReplyName{R::EprtBadProtocol, "eprt-bad-protocol"},
    ReplyName{R::ActiveEstablished, "active-established"},
    ReplyName{R::ActiveFailed, "active-failed"},
    ReplyName{R::Spsv, "spsv"},
    ReplyName{R::SpdtOk, "spdt-ok"},
    ReplyName{R::SpdtBad, "spdt-bad"},
    ReplyName{R::Lstn, "lstn"},
    ReplyName{R::LstnBad, "lstn-bad"},
    ReplyName{R::Sock, "sock"},
    ReplyName{R::SockBad, "sock-bad"},
    ReplyName{R::NoDataSetup, "no-data-setup"},
    ReplyName{R::DataFailed, "data-failed"},
    ReplyName{R::BadIpConnecting, "bad-ip-connecting"},
    ReplyName{R::AcceptTimeout, "accept-timeout"},
    ReplyName{R::RetrMark, "retr-mark"},
    ReplyName{R::ListMark, "list-mark"},
    ReplyName{R::StorMark, "stor-mark"},
    ReplyName{R::StouMark, "stou-mark"},
    ReplyName{R::AlreadyOpen, "already-open"},
    ReplyName{R::TransferOk, "transfer-ok"},
    ReplyName{R::ListOk, "list-ok"},
    ReplyName{R::StouOk, "stou-ok"},
    ReplyName{R::RetrFail, "retr-fail"},
    ReplyName{R::ListFail, "list-fail"},
    ReplyName{R::StorFail, "stor-fail"},
    ReplyName{R::SendNetFail, "send-net-fail"},
    ReplyName{R::RecvNetFail, "recv-net-fail"},
    ReplyName{R::DiskFull, "disk-full"},
    ReplyName{R::RestOk, "rest-ok"},
    ReplyName{R::RestBad, "rest-bad"},
    ReplyName{R::AborNone, "abor-none"},
    ReplyName{R::AborAborted, "abor-aborted"},
    ReplyName{R::AborOk, "abor-ok"},
    ReplyName{R::Noop, "noop"},
    ReplyName{R::Help, "help"},
    ReplyName{R::StatHead, "stat-head"},
    ReplyName{R::StatTail, "stat-tail"},
    ReplyName{R::Quit, "quit"},
    ReplyName{R::AuthOk, "auth-ok"},
    ReplyName{R::AuthBad, "auth-bad"},
    ReplyName{R::AuthAgain, "auth-again"},
    ReplyName{R::PbszOk, "pbsz-ok"},
    ReplyName{R::PbszNeedAuth, "pbsz-need-auth"},
    ReplyName{R::ProtOk, "prot-ok"},
    ReplyName{R::ProtNeedAuth, "prot-need-auth"},
    ReplyName{R::ProtNeedPbsz, "prot-need-pbsz"},
    ReplyName{R::ProtBad, "prot-bad"},
    ReplyName{R::CccOk, "ccc-ok"},
    ReplyName{R::CccBad, "ccc-bad"},
    ReplyName{R::BindFailed, "bind-failed"},
    ReplyName{R::HelperGone, "helper-gone"},
    ReplyName{R::ShuttingDown, "shutting-down"},
    ReplyName{R::ConnectTimeout, "connect-timeout"},
    ReplyName{R::IdleTimeout, "idle-timeout"},
    ReplyName{R::DataTimeout, "data-timeout"},
    ReplyName{R::PasvAck, "pasv-ack"},
};
static_assert(kReplyNames.size() == kReplyCount, "every Reply needs a name");

void set(ReplyTexts& t, R r, std::string text) { t[static_cast<std::size_t>(r)] = std::move(text); }

// RFC 959 section 4.2.2's own texts (and RFC 2228/2428/4217/1123 and the seeds for extensions).
ReplyTexts rfc959_texts() {
    ReplyTexts t;
    const std::string file_unavailable = "550 Requested action not taken. File unavailable.";
    const std::string okay = "200 Command okay.";
    const std::string syntax = "501 Syntax error in parameters or arguments.";
    const std::string not_for_param = "504 Command not implemented for that parameter.";
    const std::string action_ok = "250 Requested file action okay, completed.";
    const std::string closing = "226 Closing data connection.";
    const std::string cant_open = "425 Can't open data connection.";
    set(t, R::Greeting, "220 Service ready for new user.");
    set(t, R::TooManyUsers, "421 Too many users connected. Try later.");
    set(t, R::SpsvOnlyGreeting, "220 Too many users; only SPSV connections allowed");
    set(t, R::SpsvOnlyUser, "421 Too many users connected. Try later.");
    set(t, R::UserOk, "331 User name okay, need password.");
    set(t, R::LoginOk, "230 User logged in, proceed.");
    set(t, R::LoginIncorrect, "530 Not logged in.");
    set(t, R::NeedUserFirst, "503 Bad sequence of commands.");
    set(t, R::NeedAccount, "332 Need account for login.");
    set(t, R::AlreadyLoggedIn, "503 Bad sequence of commands.");
    set(t, R::CantChangeUser, "530 Not logged in.");
    set(t, R::NotLoggedIn, "530 Not logged in.");
    set(t, R::Unknown, "500 Syntax error, command unrecognized.");
    set(t, R::NotImplemented, "502 Command not implemented.");
    set(t, R::ArgMissing, syntax);
    set(t, R::ArgUnexpected, syntax);
    set(t, R::AcctOk, "230 User logged in, proceed.");
    set(t, R::Syst, "215 UNIX Type: L8");
    set(t, R::OptsUtf8, okay);
    set(t, R::OptsBad, syntax);
    set(t, R::TypeBinary, okay);
    set(t, R::TypeAscii, okay);
    set(t, R::TypeBad, not_for_param);
    set(t, R::ModeOk, okay);
    set(t, R::ModeBad, not_for_param);
    set(t, R::StruOk, okay);
    set(t, R::StruBad, not_for_param);
    set(t, R::Pwd, "257 \"{0}\" is current directory.");
    set(t, R::CwdOk, action_ok);
    set(t, R::CwdFail, file_unavailable);
    set(t, R::MkdOk, "257 \"{0}\" created.");
    set(t, R::MkdFail, file_unavailable);
    set(t, R::RmdOk, action_ok);
    set(t, R::RmdFail, file_unavailable);
    set(t, R::DeleOk, action_ok);
    set(t, R::DeleFail, file_unavailable);
    set(t, R::RnfrOk, "350 Requested file action pending further information.");
    set(t, R::RnfrFail, file_unavailable);
    set(t, R::RntoNeedRnfr, "503 Bad sequence of commands.");
    set(t, R::RntoOk, action_ok);
    set(t, R::RntoFail, "553 Requested action not taken. File name not allowed.");
    set(t, R::SizeOk, "213 {0}");
    set(t, R::SizeFail, file_unavailable);
    set(t, R::MdtmOk, "213 {0}");
    set(t, R::MdtmFail, file_unavailable);
    set(t, R::Allo, "202 Command not implemented, superfluous at this site.");
    set(t, R::Pasv, "227 Entering Passive Mode ({0}).");
    set(t, R::Epsv, "229 Entering Extended Passive Mode (|||{0}|)");
    set(t, R::EpsvAllOk, "200 EPSV ALL command successful.");
    set(t, R::EpsvBadProtocol, "522 Network protocol not supported, use (1)");
    set(t, R::AfterEpsvAll, "503 {0} not allowed after EPSV ALL.");
    set(t, R::PortOk, okay);
    set(t, R::PortBad, syntax);
    set(t, R::PortForeign, "500 Illegal {0} command.");
    set(t, R::PortPrivileged, "500 Illegal {0} command.");
    set(t, R::EprtOk, okay);
    set(t, R::EprtBad, syntax);
    set(t, R::EprtBadProtocol, "522 Network protocol not supported, use (1)");
    set(t, R::ActiveEstablished, okay);
    set(t, R::ActiveFailed, cant_open);
    set(t, R::Spsv, "227 Entering single-port mode ({0})");
    set(t, R::SpdtOk, "200 DATA");
    set(t, R::SpdtBad, "504 Invalid identifier.");
    set(t, R::Lstn, "255 {0}");
    set(t, R::LstnBad, syntax);
    set(t, R::Sock, "255 {0}");
    set(t, R::SockBad, syntax);
    set(t, R::NoDataSetup, cant_open);
    set(t, R::DataFailed, cant_open);
    set(t, R::BadIpConnecting, cant_open);
    set(t, R::AcceptTimeout, cant_open);
    set(t, R::RetrMark, "150 File status okay; about to open data connection.");
    set(t, R::ListMark, "150 File status okay; about to open data connection.");
    set(t, R::StorMark, "150 File status okay; about to open data connection.");
    set(t, R::StouMark, "150 FILE: {0}");
    set(t, R::AlreadyOpen, "125 Data connection already open; transfer starting.");
    set(t, R::TransferOk, closing);
    set(t, R::ListOk, closing);
    set(t, R::StouOk, closing);
    set(t, R::RetrFail, file_unavailable);
    set(t, R::ListFail, file_unavailable);
    set(t, R::StorFail, "553 Requested action not taken. File name not allowed.");
    set(t, R::SendNetFail, "426 Connection closed; transfer aborted.");
    set(t, R::RecvNetFail, "426 Connection closed; transfer aborted.");
    set(t, R::DiskFull, "452 Requested action not taken. Insufficient storage space in system.");
    set(t, R::RestOk, "350 Requested file action pending further information.");
    set(t, R::RestBad, syntax);
    set(t, R::AborNone, "225 Data connection open; no transfer in progress.");
    set(t, R::AborAborted, "426 Connection closed; transfer aborted.");
    set(t, R::AborOk, closing);
    set(t, R::Noop, okay);
    set(t, R::Help, "214-The following commands are recognized.\r\n{0}214 Help OK.");
    set(t, R::StatHead, "211-FTP server status:");
    set(t, R::StatTail, "211 End of status");
    set(t, R::Quit, "221 Service closing control connection.");
    set(t, R::AuthOk, "234 AUTH command OK; starting TLS negotiation.");
    set(t, R::AuthBad, "504 Unknown AUTH type.");
    set(t, R::AuthAgain, "503 Already using TLS.");
    set(t, R::PbszOk, "200 PBSZ=0");
    set(t, R::PbszNeedAuth, "503 PBSZ not allowed on insecure control connection.");
    set(t, R::ProtOk, "200 Protection level set to {0}.");
    set(t, R::ProtNeedAuth, "503 PROT not allowed on insecure control connection.");
    set(t, R::ProtNeedPbsz, "503 PBSZ required first.");
    set(t, R::ProtBad, "504 Protection level not supported.");
    set(t, R::CccOk, "200 CCC command successful; the control channel is in clear text again.");
    set(t, R::CccBad, "533 The control channel is not protected.");
    set(t, R::BindFailed, cant_open);
    set(t, R::HelperGone, "421 Service not available, closing control connection.");
    set(t, R::ShuttingDown, "421 Service not available, closing control connection.");
    set(t, R::ConnectTimeout, cant_open);
    set(t, R::IdleTimeout, "421 Service not available, closing control connection.");
    set(t, R::DataTimeout, "426 Connection closed; transfer aborted.");
    set(t, R::PasvAck, "200 Command okay.");
    return t;
}

// vsftpd 3.0.3: postlogin.c, prelogin.c, ftpdataio.c, ssl.c, features.c and the captures.
void apply_vsftpd_texts(ReplyTexts& t) {
    set(t, R::Greeting, "220 (vsFTPd 3.0.3)");
    set(t, R::TooManyUsers, "421 There are too many connected users, please try later.");
    set(t, R::UserOk, "331 Please specify the password.");
    set(t, R::LoginOk, "230 Login successful.");
    set(t, R::LoginIncorrect, "530 Login incorrect.");
    set(t, R::NeedUserFirst, "503 Login with USER first.");
    set(t, R::AlreadyLoggedIn, "230 Already logged in.");
    set(t, R::CantChangeUser, "530 Can't change from guest user.");
    set(t, R::NotLoggedIn, "530 Please login with USER and PASS.");
    set(t, R::Unknown, "500 Unknown command.");
    set(t, R::NotImplemented, "502 {0} not implemented.");
    set(t, R::OptsUtf8, "200 Always in UTF8 mode.");
    set(t, R::OptsBad, "501 Option not understood.");
    set(t, R::TypeBinary, "200 Switching to Binary mode.");
    set(t, R::TypeAscii, "200 Switching to ASCII mode.");
    set(t, R::TypeBad, "500 Unrecognised TYPE command.");
    set(t, R::ModeOk, "200 Mode set to S.");
    set(t, R::ModeBad, "504 Bad MODE command.");
    set(t, R::StruOk, "200 Structure set to F.");
    set(t, R::StruBad, "504 Bad STRU command.");
    set(t, R::Pwd, "257 \"{0}\" is the current directory");
    set(t, R::CwdOk, "250 Directory successfully changed.");
    set(t, R::CwdFail, "550 Failed to change directory.");
    set(t, R::MkdOk, "257 \"{0}\" created");
    set(t, R::MkdFail, "550 Create directory operation failed.");
    set(t, R::RmdOk, "250 Remove directory operation successful.");
    set(t, R::RmdFail, "550 Remove directory operation failed.");
    set(t, R::DeleOk, "250 Delete operation successful.");
    set(t, R::DeleFail, "550 Delete operation failed.");
    set(t, R::RnfrOk, "350 Ready for RNTO.");
    set(t, R::RnfrFail, "550 RNFR command failed.");
    set(t, R::RntoNeedRnfr, "503 RNFR required first.");
    set(t, R::RntoOk, "250 Rename successful.");
    set(t, R::RntoFail, "550 Rename failed.");
    set(t, R::SizeFail, "550 Could not get file size.");
    set(t, R::MdtmFail, "550 Could not get file modification time.");
    set(t, R::Allo, "202 ALLO command ignored.");
    set(t, R::EpsvAllOk, "200 EPSV ALL ok.");
    set(t, R::EpsvBadProtocol, "522 Bad network protocol.");
    set(t, R::AfterEpsvAll, "550 Permission denied.");
    set(t, R::PortOk, "200 PORT command successful. Consider using PASV.");
    set(t, R::PortBad, "500 Illegal PORT command.");
    set(t, R::EprtOk, "200 EPRT command successful. Consider using EPSV.");
    set(t, R::EprtBad, "500 Bad EPRT command.");
    set(t, R::EprtBadProtocol, "500 Bad EPRT protocol.");
    set(t, R::NoDataSetup, "425 Use PORT or PASV first.");
    set(t, R::DataFailed, "425 Failed to establish connection.");
    set(t, R::ActiveFailed, "425 Failed to establish connection.");
    set(t, R::BadIpConnecting, "425 Security: Bad IP connecting.");
    set(t, R::AcceptTimeout, "425 Failed to establish connection.");
    set(t, R::RetrMark, "150 Opening {0} mode data connection for {1} ({2} bytes).");
    set(t, R::ListMark, "150 Here comes the directory listing.");
    set(t, R::StorMark, "150 Ok to send data.");
    set(t, R::TransferOk, "226 Transfer complete.");
    set(t, R::ListOk, "226 Directory send OK.");
    set(t, R::StouOk, "226 Transfer complete.");
    set(t, R::RetrFail, "550 Failed to open file.");
    set(t, R::ListFail, "226 Transfer done (but failed to open directory).");
    set(t, R::StorFail, "553 Could not create file.");
    set(t, R::SendNetFail, "426 Failure writing network stream.");
    set(t, R::RecvNetFail, "426 Failure reading network stream.");
    set(t, R::DiskFull, "451 Failure writing to local file.");
    set(t, R::RestOk, "350 Restart position accepted ({0}).");
    set(t, R::AborNone, "225 No transfer to ABOR.");
    set(t, R::AborAborted, "426 Failure writing network stream.");
    set(t, R::AborOk, "226 ABOR successful.");
    set(t, R::Noop, "200 NOOP ok.");
    set(t, R::Help,
        "214-The following commands are recognized.\r\n"
        " ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n"
        " MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n"
        " RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n"
        " XPWD XRMD\r\n"
        "214 Help OK.");
    set(t, R::StatHead, "211-FTP server status:");
    set(t, R::StatTail, "211 End of status");
    set(t, R::Quit, "221 Goodbye.");
    set(t, R::AuthOk, "234 Proceed with negotiation.");
    set(t, R::AuthBad, "504 Unknown AUTH type.");
    set(t, R::AuthAgain, "500 Unknown command.");
    set(t, R::PbszOk, "200 PBSZ set to 0.");
    set(t, R::PbszNeedAuth, "503 PBSZ needs a secure connection.");
    set(t, R::ProtOk, "200 PROT now {0}.");
    set(t, R::ProtNeedAuth, "503 PROT needs a secure connection.");
    set(t, R::ProtNeedPbsz, "503 PBSZ needs a secure connection.");
    set(t, R::ProtBad, "504 PROT not recognized.");
    // utility.c die() -> bug(): "500 OOPS: " + the reason, then the process exits.
    set(t, R::BindFailed, "500 OOPS: vsf_sysutil_bind");
    set(t, R::HelperGone, "500 OOPS: priv_sock_get_cmd");  // privsock.c priv_sock_get_cmd
    // privops.c vsf_privop_get_ftp_port_sock: vsf_sysutil_connect_timeout(.., connect_timeout)
    // fails -> postlogin.c "Failed to establish connection."; postlogin.c/ftpdataio.c SIGALRM
    // handlers for idle_session_timeout and data_connection_timeout.
    set(t, R::ConnectTimeout, "425 Failed to establish connection.");
    set(t, R::IdleTimeout, "421 Timeout.");
    set(t, R::DataTimeout, "421 Data timeout. Reconnect. Sorry.");
}

// pyftpdlib 2.x: handlers/ftp/control.py, dispatchers.py, data.py, handlers/ftps/control.py.
void apply_pyftpdlib_texts(ReplyTexts& t) {
    set(t, R::Greeting, "220 pyftpdlib 2.2.1 ready.");
    set(t, R::TooManyUsers, "421 Too many connections. Service temporarily unavailable.");
    set(t, R::UserOk, "331 Username ok, send password.");
    set(t, R::LoginOk, "230 Login successful.");
    set(t, R::LoginIncorrect, "530 Authentication failed.");
    set(t, R::NeedUserFirst, "503 Login with USER first.");
    set(t, R::AlreadyLoggedIn, "503 User already authenticated.");
    set(t, R::NotLoggedIn, "530 Log in with USER and PASS first.");
    set(t, R::Unknown, "500 Command \"{0}\" not understood.");
    set(t, R::NotImplemented, "500 Command \"{0}\" not understood.");
    set(t, R::ArgMissing, "501 Syntax error: command needs an argument.");
    set(t, R::ArgUnexpected, "501 Syntax error: command does not accept arguments.");
    set(t, R::OptsUtf8, "200 Always in UTF8 mode.");
    set(t, R::OptsBad, "501 Invalid argument.");
    set(t, R::TypeBinary, "200 Type set to: Binary.");
    set(t, R::TypeAscii, "200 Type set to: ASCII.");
    set(t, R::TypeBad, "504 Unsupported type \"{0}\".");
    set(t, R::ModeOk, "200 Transfer mode set to: S");
    set(t, R::ModeBad, "504 Unimplemented MODE type.");
    set(t, R::StruOk, "200 File transfer structure set to: F.");
    set(t, R::StruBad, "504 Unimplemented STRU type.");
    set(t, R::Pwd, "257 \"{0}\" is the current directory.");
    set(t, R::CwdOk, "250 \"{0}\" is the current directory.");
    set(t, R::CwdFail, "550 No such file or directory.");
    set(t, R::MkdOk, "257 \"{0}\" directory created.");
    set(t, R::MkdFail, "550 File exists.");
    set(t, R::RmdOk, "250 Directory removed.");
    set(t, R::RmdFail, "550 No such file or directory.");
    set(t, R::DeleOk, "250 File removed.");
    set(t, R::DeleFail, "550 No such file or directory.");
    set(t, R::RnfrOk, "350 Ready for destination name.");
    set(t, R::RnfrFail, "550 No such file or directory.");
    set(t, R::RntoNeedRnfr, "503 Bad sequence of commands: use RNFR first.");
    set(t, R::RntoOk, "250 Renaming ok.");
    set(t, R::RntoFail, "550 No such file or directory.");
    set(t, R::SizeFail, "550 No such file or directory.");
    set(t, R::MdtmFail, "550 No such file or directory.");
    set(t, R::Allo, "202 No storage allocation necessary.");
    set(t, R::Pasv, "227 Entering passive mode ({0}).");
    set(t, R::Epsv, "229 Entering extended passive mode (|||{0}|).");
    set(t, R::EpsvAllOk, "220 Other commands other than EPSV are now disabled.");
    set(t, R::EpsvBadProtocol, "522 Network protocol not supported (use 1).");
    set(t, R::AfterEpsvAll, "501 {0} not allowed after EPSV ALL.");
    set(t, R::PortBad, "501 Invalid PORT format.");
    set(t, R::PortForeign, "501 Rejected data connection to foreign address {1}:{2}.");
    set(t, R::PortPrivileged, "501 PORT against the privileged port \"{2}\" refused.");
    set(t, R::EprtBad, "501 Invalid EPRT format.");
    set(t, R::EprtBadProtocol, "522 Network protocol not supported (use 1).");
    set(t, R::ActiveEstablished, "200 Active data connection established.");
    set(t, R::ActiveFailed, "425 Can't connect to specified address.");
    set(t, R::NoDataSetup, "425 Use PORT or PASV first.");
    set(t, R::DataFailed, "425 Can't connect to specified address.");
    set(t, R::BadIpConnecting, "425 Rejected data connection from foreign address {0}:{1}.");
    set(t, R::AcceptTimeout, "421 Passive data channel timed out.");
    set(t, R::RetrMark, "150 File status okay. About to open data connection.");
    set(t, R::ListMark, "150 File status okay. About to open data connection.");
    set(t, R::StorMark, "150 File status okay. About to open data connection.");
    set(t, R::AlreadyOpen, "125 Data connection already open. Transfer starting.");
    set(t, R::TransferOk, "226 Transfer complete.");
    set(t, R::ListOk, "226 Transfer complete.");
    set(t, R::StouOk, "226 Transfer complete.");
    set(t, R::RetrFail, "550 No such file or directory.");
    set(t, R::ListFail, "550 No such file or directory.");
    set(t, R::StorFail, "550 No such file or directory.");
    set(t, R::SendNetFail, "426 Connection reset by peer; transfer aborted.");
    set(t, R::RecvNetFail, "426 Connection reset by peer; transfer aborted.");
    set(t, R::DiskFull, "426 No space left on device; transfer aborted.");
    set(t, R::RestOk, "350 Restarting at position {0}.");
    set(t, R::RestBad, "501 Invalid parameter.");
    set(t, R::AborNone, "225 No transfer to abort.");
    set(t, R::AborAborted, "426 Transfer aborted via ABOR.");
    set(t, R::AborOk, "226 ABOR command successful.");
    set(t, R::Noop, "200 I successfully did nothing'.");
    set(t, R::Help,
        "214-The following commands are recognized:\r\n{0}214 Help command successful.");
    set(t, R::StatHead, "211-FTP server status:");
    set(t, R::StatTail, "211 End of status.");
    set(t, R::Quit, "221 Goodbye.");
    set(t, R::AuthOk, "234 AUTH {0} successful.");
    set(t, R::AuthBad, "502 Unrecognized encryption type (use TLS or SSL).");
    set(t, R::AuthAgain, "503 Already using TLS.");
    set(t, R::PbszOk, "200 PBSZ=0 successful.");
    set(t, R::PbszNeedAuth, "503 PBSZ not allowed on insecure control connection.");
    set(t, R::ProtOk, "200 Protection set to {0}");
    set(t, R::ProtNeedAuth, "503 PROT not allowed on insecure control connection.");
    set(t, R::ProtNeedPbsz, "503 You must issue the PBSZ command prior to PROT.");
    set(t, R::ProtBad, "502 Unrecognized PROT type (use C or P).");
    // handlers.py: ActiveDTP.handle_timeout, FTPHandler.handle_timeout, DTPHandler.handle_timeout.
    set(t, R::ConnectTimeout, "421 Active data channel timed out.");
    set(t, R::IdleTimeout, "421 Control connection timed out.");
    set(t, R::DataTimeout, "421 Data connection timed out.");
}

}  // namespace

std::string fill_reply(std::string_view tmpl, std::initializer_list<std::string_view> args) {
    std::string out;
    std::size_t next = 0;
    for (std::size_t i = 0; i < tmpl.size(); ++i) {
        const auto close = tmpl[i] == '{' ? tmpl.find('}', i) : std::string_view::npos;
        const auto inside = close == std::string_view::npos ? std::string_view{}
                                                             : tmpl.substr(i + 1, close - i - 1);
        const bool index_ok = inside.find_first_not_of("0123456789") == std::string_view::npos;
        if (close == std::string_view::npos || !index_ok) {
            out += tmpl[i];
            continue;
        }
        const std::size_t index = inside.empty() ? next++ : std::stoul(std::string(inside));
        if (index < args.size()) out += *(args.begin() + index);
        i = close;
    }
    return out;
}

std::string ServerProfile::reply(Reply r, std::initializer_list<std::string_view> args) const {
    return fill_reply(replies[static_cast<std::size_t>(r)], args);
}

const char* reply_name(Reply r) {
    const auto i = static_cast<std::size_t>(r);
    return i < kReplyNames.size() ? kReplyNames[i].name.data() : "";
}

std::optional<Reply> reply_by_name(std::string_view name) {
    for (const auto& n : kReplyNames)
        if (n.name == name) return n.reply;
    return std::nullopt;
}

std::span<const Reply> all_replies() {
    static const auto kAll = [] {
        std::array<Reply, kReplyCount> a{};
        for (std::size_t i = 0; i < kReplyCount; ++i) a[i] = kReplyNames[i].reply;
        return a;
    }();
    return kAll;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view reply_code(std::string_view text) {
    if (text.size() < 3 || !is_digit(text[0]) || !is_digit(text[1]) || !is_digit(text[2]))
        return {};
    return text.substr(0, 3);
}

}  // namespace

std::optional<std::string> check_reply_override(const ServerProfile& profile, Reply r,
                                                std::string_view text) {
    const std::string& fallback = profile.replies[static_cast<std::size_t>(r)];
    const std::string want(reply_code(fallback));
    auto error = [&](std::string_view why) {
        std::string e = "reply '";
        e.append(reply_name(r)).append("': ").append(why);
        e.append(" (the ").append(profile.name).append(" default is '").append(fallback);
        e.append("')");
        return std::optional<std::string>(std::move(e));
    };
    const std::string_view code = reply_code(text);
    std::string must = "the text must start with the reply code ";
    must.append(want);
    if (code.empty()) return error(must);
    if (code != want) {
        must.append(", the default's code, not ").append(code);
        return error(must);
    }
    const bool multi = fallback.find("\r\n") != std::string::npos;
    if (text.size() > 3 && text[3] != ' ' && !(multi && text[3] == '-'))
        return error("the code must be followed by a space");
    if (!multi || text.size() <= 3 || text[3] != '-') {
        if (text.find_first_of("\r\n") != std::string_view::npos)
            return error("a one-line reply cannot hold CR or LF");
        return std::nullopt;
    }
    // A multi-line reply (RFC 959 4.2): "<code>-first\r\n...\r\n<code> last".
    std::size_t pos = 0;
    std::string_view last;
    for (;;) {
        const auto eol = text.find("\r\n", pos);
        const std::string_view line =
            text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        if (line.find_first_of("\r\n") != std::string_view::npos)
            return error("the lines must be separated by CR LF");
        last = line;
        if (eol == std::string_view::npos) break;
        pos = eol + 2;
    }
    while (!last.empty() && last.front() == '{') {  // "{0}214 ...": the body's lines come first
        const auto close = last.find('}');
        if (close == std::string_view::npos) break;
        last.remove_prefix(close + 1);
    }
    if (last.size() < 4 || last.substr(0, 3) != want || last[3] != ' ') {
        std::string why = "a multi-line reply must end with a line that starts with '";
        why.append(want).append(" '");
        return error(why);
    }
    return std::nullopt;
}

std::optional<std::string> override_reply(ServerProfile& profile, std::string_view name,
                                          std::string_view text) {
    const auto r = reply_by_name(name);
    if (!r) {
        std::string known;
        for (const auto& n : kReplyNames) known.append(known.empty() ? "" : ", ").append(n.name);
        std::string e = "unknown reply name '";
        e.append(name).append("'; the names are: ").append(known);
        return e;
    }
    if (auto err = check_reply_override(profile, *r, text)) return err;
    profile.replies[static_cast<std::size_t>(*r)] = std::string(text);
    return std::nullopt;
}

namespace {

std::string table_cell(std::string_view text) {  // a Markdown code span in a table cell
    std::string out = "`";
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.compare(i, 2, "\r\n") == 0) {
            out += "\\r\\n";
            ++i;
        } else if (text[i] == '|') {
            out += "\\|";
        } else {
            out += text[i];
        }
    }
    out += '`';
    return out;
}

}  // namespace

std::string render_reply_table() {
    std::vector<ServerProfile> profiles;
    std::string out = "| name |", rule = "|---|";
    for (const auto& e : server_profiles()) {
        profiles.push_back(e.make());
        out.append(" ").append(e.name).append(" |");
        rule += "---|";
    }
    out += "\n" + rule + "\n";
    for (const auto& n : kReplyNames) {
        out.append("| `").append(n.name).append("` |");
        for (const auto& p : profiles)
            out.append(" ").append(table_cell(p.replies[static_cast<std::size_t>(n.reply)])).append(" |");
        out += '\n';
    }
    return out;
}

ServerProfile rfc959_profile() {
    ServerProfile p;
    p.name = "rfc959";
    p.replies = rfc959_texts();
    p.features = {"AUTH TLS", "EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;", "PASV",
                  "PBSZ", "PROT", "REST STREAM", "SIZE", "SPSV"};
    p.prelogin_verbs = {Verb::QUIT, Verb::NOOP, Verb::SYST, Verb::FEAT, Verb::OPTS, Verb::HELP,
                        Verb::STAT, Verb::AUTH, Verb::PBSZ, Verb::PROT, Verb::CCC};
    return p;
}

ServerProfile vsftpd_profile() {
    ServerProfile p = rfc959_profile();
    p.name = "vsftpd";
    apply_vsftpd_texts(p.replies);
    // features.c with ssl_enable=NO (the default).
    p.features = {"EPRT", "EPSV", "MDTM", "PASV", "REST STREAM", "SIZE", "TVFS", "UTF8"};
    p.feat_head = "Features:";
    p.feat_tail = "End";
    p.anonymous_without_password = true;  // the captures: USER anonymous -> 230 at once
    p.allow_user_change = false;
    p.acct_supported = false;
    p.prelogin_verbs = {Verb::QUIT, Verb::FEAT, Verb::OPTS, Verb::AUTH, Verb::PBSZ, Verb::PROT};
    p.prelogin_unknown_is_530 = true;
    p.check_arguments = false;
    p.failed_login_delay = 3'000'000'000;  // delay_failed_login 1 s + PAM's pam_faildelay
    p.max_login_fails = 3;                 // max_login_fails
    p.timing = DataTiming::ConnectThenMark;
    p.default_data_port = false;
    p.connect_from_port_20 = true;  // Debian's vsftpd.conf sets it (vsftpd.conf(5) default: NO)
    // vsftpd.conf(5) defaults: ftp_data_port 20, connect_timeout 60, accept_timeout 60,
    // idle_session_timeout 300, data_connection_timeout 300 (seconds).
    p.ftp_data_port = 20;
    p.connect_timeout = 60'000'000'000;
    p.accept_timeout = 60'000'000'000;
    p.idle_session_timeout = 300'000'000'000;
    p.data_connection_timeout = 300'000'000'000;
    p.port_promiscuous = false;
    p.pasv_promiscuous = false;
    p.refuse_privileged_ports = true;
    p.epsv_all_refuses_eprt = false;
    p.supports_spsv = false;
    p.supports_1973 = false;
    p.supports_tls = false;  // ssl_enable=NO
    p.supports_ccc = false;
    p.prot_requires_pbsz = false;
    p.supports_mlsd = false;
    p.ascii_by_default = false;
    p.list_missing_dir_sends_empty = true;
    p.promiscuous_port_binds_unprivileged = true;  // ftpdataio.c vsf_ftpdataio_get_port_fd
    p.pasv_bind_attempts = 9;                      // privops.c: while (--bind_retries), 10
    p.bind_failure_closes_session = true;          // die("vsf_sysutil_bind")
    p.announce_shutdown = false;                   // the processes just exit
    return p;
}

ServerProfile pyftpdlib_profile() {
    ServerProfile p = rfc959_profile();
    p.name = "pyftpdlib";
    apply_pyftpdlib_texts(p.replies);
    p.features = {"EPRT", "EPSV", "MDTM", "MFMT",
                  "MLST type*;perm*;size*;modify*;unique;unix.mode;unix.uid;unix.gid;",
                  "REST STREAM", "SIZE", "TVFS", "UTF8"};
    p.feat_head = "Features supported:";
    p.feat_tail = "End FEAT.";
    p.acct_supported = false;
    p.prelogin_verbs = {Verb::QUIT, Verb::NOOP, Verb::SYST, Verb::FEAT, Verb::HELP, Verb::STAT};
    p.timing = DataTiming::Eager;
    p.failed_login_delay = 3'000'000'000;  // FTPHandler.auth_failed_timeout = 3
    p.max_login_fails = 3;                 // FTPHandler.max_login_attempts = 3
    p.default_data_port = false;
    p.port_promiscuous = false;  // permit_foreign_addresses = False
    p.pasv_ipv6_address_text = true;
    p.pasv_promiscuous = false;
    p.refuse_privileged_ports = true;  // permit_privileged_ports = False
    p.reject_foreign_at_accept = true;
    // handlers.py class attributes: PassiveDTP.timeout 30, ActiveDTP.timeout 30 (its active
    // connection comes from an ephemeral port: connect((ip, port), (source_ip, 0))),
    // FTPHandler.timeout 300 (idle), DTPHandler.timeout 300 (a stalled transfer).
    p.accept_timeout = 30'000'000'000;
    p.connect_timeout = 30'000'000'000;
    p.idle_session_timeout = 300'000'000'000;
    p.data_connection_timeout = 300'000'000'000;
    p.pasv_fallback_to_any_port = true;  // PassiveDTP: bind((ip, 0)) after passive_ports
    p.supports_spsv = false;
    p.supports_1973 = false;
    p.supports_tls = false;  // FTPHandler; TLS_FTPHandler adds AUTH/PBSZ/PROT
    p.supports_ccc = false;
    p.listing.nlink_width = 3;
    p.listing.owner = "owner";
    p.listing.group = "group";
    return p;
}

namespace {
constexpr ServerProfileEntry kServerProfiles[] = {
    {"vsftpd", "vsftpd 3.0 (Debian's vsftpd.conf): refuses foreign data addresses, connects from port 20",
     vsftpd_profile},
    {"pyftpdlib", "pyftpdlib 1.5: refuses foreign data addresses (permit_foreign_addresses off)",
     pyftpdlib_profile},
    {"rfc959", "the RFC's literal behaviour: trusts every data address", rfc959_profile},
};
}  // namespace

std::span<const ServerProfileEntry> server_profiles() { return kServerProfiles; }

std::optional<ServerProfile> server_profile_by_name(std::string_view name) {
    for (const auto& e : kServerProfiles)
        if (e.name == name) return e.make();
    return std::nullopt;
}

bool refuses_foreign_data_addresses(const ServerProfile& profile) {
    return !profile.port_promiscuous || !profile.pasv_promiscuous;
}

}  // namespace ftpsim::proto
