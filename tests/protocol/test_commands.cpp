// The verb table (protocol/commands.hpp): each command's transfer direction, argument form and
// dialect, read by the server, the client script, live mode and the pcap import.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "protocol/client_script.hpp"
#include "protocol/commands.hpp"

using namespace ftpsim::proto;

TEST_CASE("verb table: names are unique and each verb maps back to its row") {
    std::set<std::string> names;
    for (const auto& v : known_verbs()) {
        CAPTURE(v.name);
        CHECK(names.insert(std::string(v.name)).second);
        CHECK(&verb_info(v.verb) == &v);
        CHECK(&verb_info(v.name) == &v);
    }
    CHECK(verb_info("retr").verb == Verb::RETR);  // case-insensitive
    CHECK(verb_info("XMKD").verb == Verb::MKD);   // RFC 775's X-variants
    CHECK(verb_info("WHAT").verb == Verb::Unknown);
    CHECK_FALSE(verb_info("WHAT").needs_data_connection());
}

TEST_CASE("verb table: the transfer commands and their directions") {
    std::map<std::string, Transfer> transfers;
    for (const auto& v : known_verbs())
        if (v.needs_data_connection()) transfers[std::string(v.name)] = v.transfer;
    CHECK(transfers == std::map<std::string, Transfer>{{"APPE", Transfer::Upload},    {"LIST", Transfer::Listing},
                                                       {"MLSD", Transfer::Listing},   {"NLST", Transfer::Listing},
                                                       {"RETR", Transfer::Download},  {"RTRV", Transfer::Download},
                                                       {"STOR", Transfer::Upload},    {"STOU", Transfer::Upload}});
    CHECK(verb_info("RTRV").dialect == Dialect::Rfc478);
    CHECK(verb_info("SPSV").dialect == Dialect::DraftRosenau);
    CHECK(std::string(to_string(Transfer::Download)) == "download");
}

TEST_CASE("the client script takes its raw transfer commands from the verb table") {
    for (const auto& v : known_verbs()) {
        CAPTURE(v.name);
        const std::string line = std::string(v.name) + " /pub/file";
        CHECK(raw_transfer_verb(line) == (v.needs_data_connection() ? std::string(v.name) : std::string()));
    }
    CHECK(raw_transfer_verb("  rtrv PROG1.PL1") == "RTRV");
}
