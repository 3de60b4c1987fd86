// The FTP application-level gateway, after Linux's nf_conntrack_ftp (finding the address in
// PORT, EPRT, 227 and 229 and creating the expectation) and nf_nat_ftp (rewriting it when the
// control connection is NATed, with nf_conntrack_seqadj fixing the sequence numbers).
//
// Like the kernel it does not reassemble the TCP stream: it looks only at a packet that starts
// right after a '\n' it has seen in the same direction, and only at the start of that packet.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

// The four lines that carry a data-connection address (enum nf_ct_ftp_type).
enum class FtpAddressForm : std::uint8_t { Port, Eprt, Pasv227, Epsv229 };
const char* to_string(FtpAddressForm f);  // "PORT", "EPRT", "227", "229"

enum class AlgMatchStatus : std::uint8_t {
    None,     // no address line at the start of this packet
    Partial,  // it starts like one but the address is cut off or malformed: the kernel drops it
    Found,
};

struct AlgMatch {
    FtpAddressForm form = FtpAddressForm::Port;
    std::size_t offset = 0;  // the address text inside the payload (what a rewrite replaces)
    std::size_t length = 0;
    HostPort announced;      // for 229 the address is the sender's (it is not in the text)
};

// nf_conntrack_ftp's find_pattern over its search table: for the client the packet must start
// with "PORT" or "EPRT" (case-insensitive), for the server with "227 " or "229 ". `sender` is the
// sending endpoint's own address: it fills the address that 229 does not carry and picks the
// EPRT family the connection uses.
AlgMatchStatus match_ftp_line(std::string_view data, bool from_client, const IpAddress& sender,
                              AlgMatch& out);

// What nf_nat_ftp writes in place of the matched text.
std::string format_ftp_address(FtpAddressForm form, const HostPort& hp);

struct FtpAlgConfig {
    std::vector<std::uint16_t> ports{21};  // control connections to these server ports only
    bool loose = false;                    // nf_conntrack_ftp's `loose` module parameter
    // The address lines it handles. Linux's helper reads all four; the in-depth article's Linksys
    // BEFSRx1 rewrites the client's PORT only and leaves the server's 227 alone.
    std::vector<FtpAddressForm> forms{FtpAddressForm::Port, FtpAddressForm::Eprt, FtpAddressForm::Pasv227,
                                      FtpAddressForm::Epsv229};
    TimeNs expectation_timeout = 300 * trace::kNsPerSec;  // ftp_exp_policy.timeout
};

// An expected data connection: from `src` (any port) to `dst` as it will arrive at the router,
// forwarded to `forward_to` (differs from `dst` when the announcement was rewritten).
struct AlgExpectation {
    int id = 0;
    int master = 0;  // the control connection's ConntrackEntry
    FtpAddressForm form = FtpAddressForm::Port;
    IpAddress src;
    HostPort dst;
    HostPort forward_to;
    TimeNs created = 0;
    TimeNs expires = 0;
    int nat_mapping = -1;  // the NatMapping reserved for the rewritten port, if any
    std::string to_string() const;  // "203.0.113.10:* -> 203.0.113.1:50069 => 192.168.1.10:50069"
};

enum class AlgVerdict : std::uint8_t { Accept, Drop };

// The trace's name for an address form, and an expectation as a typed fact (the fact's kind
// is left for the caller: created, used or expired).
trace::Announce announce_form(FtpAddressForm f);
trace::Event expectation_fact(const AlgExpectation& e);

class FtpAlg {
public:
    // Chooses the port written into a rewritten announcement. Arguments: where the data
    // connection finally goes (the sender's real endpoint), the rewritten address, the port
    // wanted. Returns the port and the NatMapping id reserved for it (-1 for none), or nullopt.
    using PortChooser = std::function<std::optional<std::pair<std::uint16_t, int>>(
        const HostPort& internal, const IpAddress& external, std::uint16_t wanted)>;

    explicit FtpAlg(FtpAlgConfig config = {}) : config_(std::move(config)) {}
    const FtpAlgConfig& config() const { return config_; }

    // True when a control connection to server port `port` gets this helper.
    bool inspects_port(std::uint16_t port) const;
    bool handles(FtpAddressForm form) const;

    // nf_conntrack_ftp's help(): inspects one packet of a helped control connection, may rewrite
    // its payload (when the connection is NATed) and records the expectation.
    AlgVerdict help(ConntrackEntry& ct, CtDirection dir, Packet& p, TimeNs now,
                    const PortChooser& choose, std::vector<MiddleboxNote>& notes);

    // The expectation a new connection fulfils, removed from the table (it is used once).
    std::optional<AlgExpectation> take_expectation(const Packet& p, TimeNs now);
    // The first port from `wanted` up that no other control connection's expectation holds.
    std::optional<std::uint16_t> free_port(const IpAddress& dst, std::uint16_t wanted, int master) const;

    std::vector<AlgExpectation> expire(TimeNs now);
    void forget_master(int master);
    std::vector<AlgExpectation> expectations(TimeNs now) const;

private:
    AlgVerdict announce(ConntrackEntry& ct, CtDirection dir, Packet& p, const AlgMatch& m, TimeNs now,
                        const PortChooser& choose, std::vector<MiddleboxNote>& notes);
    void rewrite(ConntrackEntry& ct, CtDirection dir, Packet& p, const AlgMatch& m, const HostPort& announced,
                 std::vector<MiddleboxNote>& notes);
    bool expect(AlgExpectation e, std::vector<MiddleboxNote>& notes);

    FtpAlgConfig config_;
    // By id (creation order, which every scan keeps). Few at a time: an expectation lives from
    // the announcement to its data connection, at most expectation_timeout.
    std::map<int, AlgExpectation> expectations_;
    // No expectation expires before this (a lower bound: process() calls expire() per packet,
    // which returns at once until then).
    TimeNs next_expiry_ = std::numeric_limits<TimeNs>::max();
    int next_id_ = 1;
};

}  // namespace ftpsim::mbox
