#include "protocol/client_profile.hpp"

#include <array>

namespace ftpsim::proto {

namespace {

constexpr Time kSecond = 1'000'000'000;

// Sources for every value: docs/client.md, section "Profiles".
constexpr std::array kProfiles{
    ClientProfile{
        .name = "curl",
        .description = "curl 7.88: EPSV then PASV, ignores the 227 address, EPRT then PORT",
        .default_mode = DataMode::Epsv,
        .anonymous_password = "ftp@example.com",
        .feat_before_login = false,
        .syst_after_login = false,
        .pwd_after_login = true,
        .type_policy = TypePolicy::WhenChanged,
        .data_setup_before_type = true,
        .size_before_retr = true,
        .mdtm_before_retr = false,
        .extended_on_ipv6 = true,
        .pasv_address = PasvAddressPolicy::UseControlPeer,
        .epsv_falls_back_to_pasv = true,
        .epsv_connect_falls_back_to_pasv = true,
        .eprt_falls_back_to_port = true,
        .port_fallback_stalls_on_ipv6 = true,  // the rig's nat64 eprt cells: exit 28 at --max-time
        .switch_mode_on_data_failure = false,
        .accept_timeout = 60 * kSecond,    // CURLOPT_ACCEPTTIMEOUT_MS default
        .connect_timeout = 300 * kSecond,  // --connect-timeout: DEFAULT_CONNECT_TIMEOUT (connect.h)
        .connect_timeout_shared = true,
        .on_negative_reply = FailurePolicy::Quit,
        .on_data_command_refused = FailurePolicy::Quit,
        .on_data_failure = FailurePolicy::Abandon,
    },
    ClientProfile{
        .name = "ftplib",
        .description = "Python ftplib: PASV, ignores the 227 address, TYPE before every transfer",
        .default_mode = DataMode::Pasv,
        .anonymous_password = "anonymous@",
        .feat_before_login = false,
        .syst_after_login = false,
        .pwd_after_login = false,
        .type_policy = TypePolicy::EveryTransfer,
        .data_setup_before_type = false,
        .size_before_retr = false,
        .mdtm_before_retr = false,
        .extended_on_ipv6 = true,
        .pasv_address = PasvAddressPolicy::UseControlPeer,
        .epsv_falls_back_to_pasv = false,
        .epsv_connect_falls_back_to_pasv = false,
        .eprt_falls_back_to_port = false,
        .switch_mode_on_data_failure = false,
        .accept_timeout = 0,
        .on_negative_reply = FailurePolicy::Quit,
        .on_data_command_refused = FailurePolicy::Quit,
        .on_data_failure = FailurePolicy::Quit,
    },
    ClientProfile{
        .name = "lftp",
        .description = "lftp 4.9: FEAT before USER, SIZE and MDTM, PASV, fixes a private 227 "
                       "address (ftp:fix-pasv-address)",
        .default_mode = DataMode::Pasv,
        .anonymous_password = "lftp@",
        .feat_before_login = true,
        .syst_after_login = false,
        .pwd_after_login = true,
        .type_policy = TypePolicy::WhenChanged,
        .data_setup_before_type = false,
        .size_before_retr = true,
        .mdtm_before_retr = true,
        .extended_on_ipv6 = true,
        .pasv_address = PasvAddressPolicy::FixPrivate,
        .epsv_falls_back_to_pasv = true,
        .epsv_connect_falls_back_to_pasv = false,
        .eprt_falls_back_to_port = true,
        .switch_mode_on_data_failure = false,
        .accept_timeout = 300 * kSecond,
        .connect_timeout = 300 * kSecond,  // net:timeout (300 s)
        .max_tries = 1000,                         // net:max-retries
        .reconnect_interval_base = 30 * kSecond,   // net:reconnect-interval-base
        .reconnect_interval_multiplier = 1.5,      // net:reconnect-interval-multiplier
        .reconnect_interval_max = 600 * kSecond,   // net:reconnect-interval-max
        .retries_failed_transfer = true,
        .auto_passive_mode = true,                 // ftp:auto-passive-mode
        .on_negative_reply = FailurePolicy::Continue,
        .on_data_command_refused = FailurePolicy::Abandon,
        .on_data_failure = FailurePolicy::Abandon,
    },
    ClientProfile{
        .name = "filezilla",
        .description = "FileZilla: PASV, substitutes an unroutable 227 address, falls back to "
                       "the other mode",
        .default_mode = DataMode::Pasv,
        .anonymous_password = "anonymous@example.com",
        .feat_before_login = false,
        .syst_after_login = false,
        .pwd_after_login = true,
        .type_policy = TypePolicy::WhenChanged,
        .data_setup_before_type = false,
        .size_before_retr = false,
        .mdtm_before_retr = false,
        .extended_on_ipv6 = true,
        .pasv_address = PasvAddressPolicy::SubstituteUnroutable,
        .epsv_falls_back_to_pasv = true,
        .epsv_connect_falls_back_to_pasv = false,
        .eprt_falls_back_to_port = true,
        .switch_mode_on_data_failure = true,
        .accept_timeout = 20 * kSecond,
        .on_negative_reply = FailurePolicy::Continue,
        .on_data_command_refused = FailurePolicy::Continue,
        .on_data_failure = FailurePolicy::Continue,
    },
    ClientProfile{
        .name = "classic",
        .description = "classic command-line ftp: PORT, trusts the 227 address as given",
        .default_mode = DataMode::Port,
        .anonymous_password = "guest@",
        .feat_before_login = false,
        .syst_after_login = true,
        .pwd_after_login = false,
        .type_policy = TypePolicy::WhenChanged,
        .data_setup_before_type = false,
        .size_before_retr = false,
        .mdtm_before_retr = false,
        .pasv_address = PasvAddressPolicy::Trust,
        .epsv_falls_back_to_pasv = false,
        .epsv_connect_falls_back_to_pasv = false,
        .eprt_falls_back_to_port = false,
        .switch_mode_on_data_failure = false,
        .accept_timeout = 0,
        .on_negative_reply = FailurePolicy::Continue,
        .on_data_command_refused = FailurePolicy::Continue,
        .on_data_failure = FailurePolicy::Continue,
    },
    ClientProfile{
        .name = "textbook",
        .description = "the lecture figures' client: USER, PASS, then only what the transfer needs "
                       "(no SYST, no PWD; TYPE only to leave RFC 959's default ASCII)",
        .default_mode = DataMode::Pasv,
        .anonymous_password = "guest@",
        .feat_before_login = false,
        .syst_after_login = false,
        .assumes_ascii_default = true,
        .pwd_after_login = false,
        .type_policy = TypePolicy::WhenChanged,
        .data_setup_before_type = false,
        .size_before_retr = false,
        .mdtm_before_retr = false,
        .pasv_address = PasvAddressPolicy::Trust,
        .epsv_falls_back_to_pasv = false,
        .epsv_connect_falls_back_to_pasv = false,
        .eprt_falls_back_to_port = false,
        .switch_mode_on_data_failure = false,
        .accept_timeout = 0,
        .on_negative_reply = FailurePolicy::Continue,
        .on_data_command_refused = FailurePolicy::Continue,
        .on_data_failure = FailurePolicy::Continue,
    },
};

using P = PasvAddressPolicy;
using V = ClientOptionValue;
using T = ClientOptionType;

// Sources: curl(1), Python's ftplib documentation, lftp(1); docs/client.md.
constexpr std::array kOptions{
    ClientOption{"curl", "connect-timeout", T::Seconds,
                 "default 300 s: control connection and passive data connections",
                 [](ClientProfile& p, const V& v) { p.connect_timeout = v.duration; }},
    ClientOption{"curl", "max-time", T::Seconds, "default none: the whole session",
                 [](ClientProfile& p, const V& v) { p.max_time = v.duration; }},
    ClientOption{"curl", "ftp-skip-pasv-ip", T::Flag, "default `true`: connect to the control peer, not the 227 address",
                 [](ClientProfile& p, const V& v) { p.pasv_address = v.flag ? P::UseControlPeer : P::Trust; }},
    ClientOption{"ftplib", "timeout", T::Seconds, "default none: connect and accept",
                 [](ClientProfile& p, const V& v) { p.connect_timeout = p.accept_timeout = v.duration; }},
    ClientOption{"ftplib", "trust_server_pasv_ipv4_address", T::Flag, "default `false`",
                 [](ClientProfile& p, const V& v) { p.pasv_address = v.flag ? P::Trust : P::UseControlPeer; }},
    // the rig's scripted client (Python's FTP(timeout=...)): connects, the wait for each reply,
    // and socket.create_connection(timeout=...) for the data connection
    ClientOption{"textbook", "timeout", T::Seconds, "default none: connect, accept and each reply",
                 [](ClientProfile& p, const V& v) { p.connect_timeout = p.accept_timeout = p.reply_timeout = v.duration; }},
    ClientOption{"lftp", "net:timeout", T::Seconds, "default 300 s: connect and accept",
                 [](ClientProfile& p, const V& v) { p.connect_timeout = p.accept_timeout = v.duration; }},
    ClientOption{"lftp", "ftp:fix-pasv-address", T::Flag, "default `true`",
                 [](ClientProfile& p, const V& v) { p.pasv_address = v.flag ? P::FixPrivate : P::Trust; }},
    ClientOption{"lftp", "net:max-retries", T::Tries,
                 "default 1000 tries in all; a retry is a new control connection when the control connection cannot "
                 "be made",
                 [](ClientProfile& p, const V& v) { p.max_tries = v.tries == 0 ? 100000u : v.tries; }},
    ClientOption{"lftp", "ftp:auto-passive-mode", T::Flag,
                 "default `true`: the retry after a refused PORT goes passive, after a refused passive connection active",
                 [](ClientProfile& p, const V& v) { p.auto_passive_mode = v.flag; }},
    ClientOption{"lftp", "net:reconnect-interval-base", T::Seconds, "default 30 s",
                 [](ClientProfile& p, const V& v) { p.reconnect_interval_base = v.duration; }},
    ClientOption{"lftp", "net:reconnect-interval-multiplier", T::Multiplier, "default 1.5",
                 [](ClientProfile& p, const V& v) { p.reconnect_interval_multiplier = v.factor; }},
    ClientOption{"lftp", "net:reconnect-interval-max", T::Seconds, "default 600 s",
                 [](ClientProfile& p, const V& v) { p.reconnect_interval_max = v.duration; }},
};

struct ModeName {
    DataMode mode;
    const char* name;
};

constexpr std::array kModeNames{
    ModeName{DataMode::Auto, "auto"},     ModeName{DataMode::Default, "default"},
    ModeName{DataMode::Port, "port"},     ModeName{DataMode::Eprt, "eprt"},
    ModeName{DataMode::Pasv, "pasv"},     ModeName{DataMode::Epsv, "epsv"},
    ModeName{DataMode::EpsvAll, "epsv-all"}, ModeName{DataMode::Spsv, "spsv"},
    ModeName{DataMode::Lstn, "lstn"},     ModeName{DataMode::Sock, "sock"},
};

}  // namespace

const char* to_string(DataMode mode) {
    for (const auto& m : kModeNames)
        if (m.mode == mode) return m.name;
    return "?";
}

std::optional<DataMode> parse_data_mode(std::string_view text) {
    for (const auto& m : kModeNames)
        if (text == m.name) return m.mode;
    return std::nullopt;
}

bool is_passive(DataMode mode) {
    return mode == DataMode::Pasv || mode == DataMode::Epsv || mode == DataMode::EpsvAll ||
           mode == DataMode::Spsv || mode == DataMode::Lstn;
}

std::string_view data_setup_command(DataMode mode) {
    switch (mode) {
        case DataMode::Port: return "PORT";
        case DataMode::Eprt: return "EPRT";
        case DataMode::Pasv: return "PASV";
        case DataMode::Epsv:
        case DataMode::EpsvAll: return "EPSV";
        case DataMode::Spsv: return "SPSV";
        case DataMode::Lstn: return "LSTN";
        case DataMode::Sock: return "SOCK";
        case DataMode::Default:
        case DataMode::Auto: break;
    }
    return "";
}

DataMode mode_on_family(const ClientProfile& profile, DataMode mode, bool ipv6) {
    if (!ipv6) return mode;
    if (mode == DataMode::Port) return DataMode::Eprt;
    if (mode == DataMode::Pasv && profile.extended_on_ipv6) return DataMode::Epsv;
    return mode;
}

const char* to_string(PasvAddressPolicy policy) {
    switch (policy) {
        case PasvAddressPolicy::Trust: return "trust";
        case PasvAddressPolicy::UseControlPeer: return "use-control-peer";
        case PasvAddressPolicy::FixPrivate: return "fix-private";
        case PasvAddressPolicy::SubstituteUnroutable: return "substitute-unroutable";
    }
    return "?";
}

const char* to_string(FailurePolicy policy) {
    switch (policy) {
        case FailurePolicy::Continue: return "continue";
        case FailurePolicy::Quit: return "quit";
        case FailurePolicy::Abandon: return "abandon";
    }
    return "?";
}

std::span<const ClientProfile> client_profiles() { return kProfiles; }

const ClientProfile* find_client_profile(std::string_view name) {
    for (const auto& p : kProfiles)
        if (p.name == name) return &p;
    return nullptr;
}

const ClientProfile& curl_profile() { return kProfiles[0]; }

std::span<const ClientOption> client_options() { return kOptions; }

const ClientOption* find_client_option(std::string_view name, std::string_view profile) {
    const ClientOption* found = nullptr;
    for (const auto& o : kOptions)  // ftplib and textbook both have "timeout": the profile's own first
        if (o.name == name && (!found || o.profile == profile)) found = &o;
    return found;
}

}  // namespace ftpsim::proto
