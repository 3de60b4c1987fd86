#include "protocol/commands.hpp"

#include <array>

#include "protocol/codec.hpp"

namespace ftpsim::proto {

namespace {

using G = CommandGroup;
using A = ArgRule;
using T = Transfer;
using D = Dialect;

constexpr std::array kVerbs{
    VerbInfo{"USER", Verb::USER, G::Login, A::Required},
    VerbInfo{"PASS", Verb::PASS, G::Login, A::Optional},
    VerbInfo{"ACCT", Verb::ACCT, G::Login, A::Required},
    VerbInfo{"SYST", Verb::SYST, G::Session, A::None},
    VerbInfo{"FEAT", Verb::FEAT, G::Session, A::None, T::None, D::Rfc2389},
    VerbInfo{"OPTS", Verb::OPTS, G::Session, A::Required, T::None, D::Rfc2389},
    VerbInfo{"TYPE", Verb::TYPE, G::Other, A::Required},
    VerbInfo{"MODE", Verb::MODE, G::Other, A::Required},
    VerbInfo{"STRU", Verb::STRU, G::Other, A::Required},
    VerbInfo{"PWD", Verb::PWD, G::Other, A::None},
    VerbInfo{"CWD", Verb::CWD, G::Other, A::Required},
    VerbInfo{"CDUP", Verb::CDUP, G::Other, A::None},
    VerbInfo{"MKD", Verb::MKD, G::Other, A::Required},
    VerbInfo{"RMD", Verb::RMD, G::Other, A::Required},
    VerbInfo{"DELE", Verb::DELE, G::Other, A::Required},
    VerbInfo{"RNFR", Verb::RNFR, G::Other, A::Required},
    VerbInfo{"RNTO", Verb::RNTO, G::Rnto, A::Required},
    VerbInfo{"SIZE", Verb::SIZE, G::Other, A::Required, T::None, D::Rfc3659},
    VerbInfo{"MDTM", Verb::MDTM, G::Other, A::Required, T::None, D::Rfc3659},
    VerbInfo{"LIST", Verb::LIST, G::Other, A::Optional, T::Listing},
    VerbInfo{"NLST", Verb::NLST, G::Other, A::Optional, T::Listing},
    VerbInfo{"MLSD", Verb::MLSD, G::Other, A::Optional, T::Listing, D::Rfc3659},
    VerbInfo{"RETR", Verb::RETR, G::Other, A::Required, T::Download},
    VerbInfo{"STOR", Verb::STOR, G::Other, A::Required, T::Upload},
    VerbInfo{"STOU", Verb::STOU, G::Other, A::Optional, T::Upload},
    VerbInfo{"APPE", Verb::APPE, G::Other, A::Required, T::Upload},
    VerbInfo{"REST", Verb::REST, G::Other, A::Required},
    VerbInfo{"ABOR", Verb::ABOR, G::Abor, A::None},
    VerbInfo{"NOOP", Verb::NOOP, G::Session, A::None},
    VerbInfo{"HELP", Verb::HELP, G::Session, A::Optional},
    VerbInfo{"STAT", Verb::STAT, G::Session, A::Optional},
    VerbInfo{"QUIT", Verb::QUIT, G::Session, A::None},
    VerbInfo{"PORT", Verb::PORT, G::Other, A::Required},
    VerbInfo{"PASV", Verb::PASV, G::Other, A::None},
    VerbInfo{"EPRT", Verb::EPRT, G::Other, A::Required, T::None, D::Rfc2428},
    VerbInfo{"EPSV", Verb::EPSV, G::Other, A::Optional, T::None, D::Rfc2428},
    VerbInfo{"SPSV", Verb::SPSV, G::Other, A::None, T::None, D::DraftRosenau},
    VerbInfo{"SPDT", Verb::SPDT, G::Spdt, A::Required, T::None, D::DraftRosenau},
    VerbInfo{"AUTH", Verb::AUTH, G::Session, A::Required, T::None, D::Rfc4217},
    VerbInfo{"PBSZ", Verb::PBSZ, G::Session, A::Required, T::None, D::Rfc4217},
    VerbInfo{"PROT", Verb::PROT, G::Session, A::Required, T::None, D::Rfc4217},
    VerbInfo{"CCC", Verb::CCC, G::Session, A::None, T::None, D::Rfc4217},
    VerbInfo{"LSTN", Verb::LSTN, G::Other, A::Required, T::None, D::Rfc438},
    VerbInfo{"SOCK", Verb::SOCK, G::Other, A::Required, T::None, D::Rfc438},
    VerbInfo{"RTRV", Verb::RTRV, G::Other, A::Required, T::Download, D::Rfc478},
    VerbInfo{"ALLO", Verb::ALLO, G::Other, A::Optional},
    VerbInfo{"REIN", Verb::REIN, G::Other, A::None},
    VerbInfo{"SMNT", Verb::SMNT, G::Other, A::Required},
    VerbInfo{"SITE", Verb::SITE, G::Other, A::Required},
};

constexpr VerbInfo kUnknown{"", Verb::Unknown, G::Other, A::Optional};

// RFC 959 calls the X-variants (RFC 775) the same commands.
std::string_view strip_x_variant(std::string_view name) {
    static constexpr std::array kX{"XPWD", "XCWD", "XCUP", "XMKD", "XRMD"};
    for (std::string_view x : kX)
        if (iequals(name, x)) return name.substr(1);
    return name;
}

}  // namespace

const char* to_string(Transfer t) {
    switch (t) {
        case Transfer::None: return "none";
        case Transfer::Download: return "download";
        case Transfer::Upload: return "upload";
        case Transfer::Listing: return "listing";
    }
    return "?";
}

const char* to_string(Dialect d) {
    switch (d) {
        case Dialect::Rfc959: return "RFC 959";
        case Dialect::Rfc2389: return "RFC 2389";
        case Dialect::Rfc2428: return "RFC 2428";
        case Dialect::Rfc3659: return "RFC 3659";
        case Dialect::Rfc4217: return "RFC 4217";
        case Dialect::DraftRosenau: return "draft-rosenau-ftp-single-port";
        case Dialect::Rfc438: return "RFC 438";
        case Dialect::Rfc478: return "RFC 478";
    }
    return "?";
}

const VerbInfo& verb_info(std::string_view name) {
    name = strip_x_variant(name);
    for (const auto& v : kVerbs)
        if (iequals(v.name, name)) return v;
    return kUnknown;
}

std::span<const VerbInfo> known_verbs() { return kVerbs; }

const VerbInfo& verb_info(Verb verb) {
    for (const auto& v : kVerbs)
        if (v.verb == verb) return v;
    return kUnknown;
}

}  // namespace ftpsim::proto
