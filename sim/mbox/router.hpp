// A router's middlebox pipeline: per packet, in Linux's netfilter order
//   PREROUTING  conntrack lookup, ALG expectations, port forwarding (DNAT), inbound NAT mappings
//   FORWARD     the firewall, with the conntrack state
//   helper      the FTP ALG on control connections (may rewrite the payload)
//   POSTROUTING source NAT (masquerade) of new connections from the inside, sequence adjustment
// The network layer (sim/net) calls process() for each packet that reaches the router.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/mbox/alg.hpp"
#include "sim/mbox/conntrack.hpp"
#include "sim/mbox/firewall.hpp"
#include "sim/mbox/nat.hpp"
#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"
#include "sim/mbox/port_forward.hpp"

namespace ftpsim::mbox {

enum class Realm : std::uint8_t { Inside, Outside };

struct RouterInterface {
    std::string name;  // "lan", "wan"
    IpAddress address;
    int prefix_len = 24;
    Realm realm = Realm::Inside;
};

// What a router does with a connection to one of its own ports that nothing forwards or maps.
enum class ClosedPortPolicy : std::uint8_t {
    Reset,  // INPUT policy accept: the router's own TCP answers RST (the snat21-off-pasv capture)
    Drop,   // INPUT policy drop: silence, the sender retransmits its SYN until it gives up
    IcmpPortUnreachable,  // `reject with icmp port-unreachable`: the sender's connect() fails at once
                          // (Linux: ECONNREFUSED for an ICMP port unreachable on a SYN)
};
const char* to_string(ClosedPortPolicy p);  // "accept (RST)", "drop", "reject with icmp port-unreachable"

struct RouterConfig {
    std::string name = "router";            // prefixes its notes: "home-router: NAT mapped ..."
    std::vector<RouterInterface> interfaces;  // indices are the iface numbers of process()
    std::optional<NatConfig> nat;           // masquerade inside -> outside on the first outside address
    std::vector<PortForward> forwards;      // DNAT of the router's outside address
    std::optional<Firewall> firewall;       // FORWARD filter; none = accept all
    std::optional<FtpAlgConfig> alg;        // FTP helper; none = off
    ConntrackTimeouts conntrack;
    // A packet for the router's own address that nothing forwards or maps meets the router's
    // INPUT chain (nftables: `policy accept|drop`, `reject with tcp reset|icmp port-unreachable`).
    ClosedPortPolicy closed_port = ClosedPortPolicy::Reset;
};

enum class Verdict : std::uint8_t {
    Forward,     // send `pkt` (translated) out of out_iface
    Drop,        // discard it
    Reject,      // `pkt` now holds the RST to send back out of out_iface (the arrival interface)
    RejectIcmp,  // answer the (unchanged) `pkt` with ICMP port unreachable out of out_iface
};

// The whole outcome of one packet, for callers that prefer a value to out-parameters.
struct RouterResult {
    Verdict verdict = Verdict::Drop;
    Packet packet;       // translated (Forward) or the RST (Reject)
    int out_iface = -1;
    std::vector<MiddleboxNote> notes;
};

struct RouterSnapshot {
    TimeNs at = 0;
    std::vector<NatMapping> nat;
    std::vector<AlgExpectation> expectations;
    std::vector<ConntrackEntry> conntrack;
    struct RuleHits {
        int number = 0;
        std::string text;
        std::uint64_t hits = 0;
    };
    std::vector<RuleHits> firewall;  // the rules in order, then the default policy
    std::vector<PortForward> forwards;
};

class Router {
public:
    explicit Router(RouterConfig config);

    // Runs the pipeline on `pkt`, which arrived on `in_iface` at `now`. On Forward, `pkt` holds
    // the translated packet and `out_iface` where it goes. Every decision is appended to `notes`.
    Verdict process(Packet& pkt, int in_iface, int& out_iface, TimeNs now,
                    std::vector<MiddleboxNote>& notes);

    RouterResult process(Packet pkt, int in_iface, TimeNs now = 0);

    // Drops state idle past its timeout; process() calls it first, the GUI may call it too.
    void expire(TimeNs now, std::vector<MiddleboxNote>& notes);

    // The tables as the GUI shows them at `now` (entries that would have expired by then omitted).
    RouterSnapshot snapshot(TimeNs now) const;

    const std::string& name() const { return config_.name; }
    const RouterConfig& config() const { return config_; }
    const Nat* nat() const { return nat_.get(); }
    const Firewall* firewall() const { return firewall_ ? &*firewall_ : nullptr; }
    const FtpAlg* alg() const { return alg_.get(); }

    // The interface a packet to `addr` leaves by: the longest matching connected prefix, else
    // the first outside interface (the default route). -1 when there is none.
    int route(const IpAddress& addr) const;
    bool is_own_address(const IpAddress& addr) const;

private:
    struct NewFlow;  // the decisions taken for a connection's first packet
    Verdict process_new(Packet& pkt, int in_iface, int& out_iface, TimeNs now,
                        std::vector<MiddleboxNote>& notes);
    Verdict forward(ConntrackEntry& ct, CtDirection dir, Packet& pkt, int in_iface, int& out_iface,
                    TimeNs now, std::vector<MiddleboxNote>& notes, bool already_filtered);
    void forget(int conntrack_id);
    bool is_outside_address(const IpAddress& addr) const;
    std::optional<Verdict> destination_nat(NewFlow& f, Packet& pkt, int in_iface, int& out_iface,
                                           TimeNs now, std::vector<MiddleboxNote>& notes);
    bool expected(NewFlow& f, const Packet& pkt, TimeNs now, std::vector<MiddleboxNote>& notes);
    std::optional<Verdict> inbound_mapping(NewFlow& f, Packet& pkt, int in_iface, int& out_iface, TimeNs now,
                                           std::vector<MiddleboxNote>& notes);
    Verdict icmp_error(Packet& pkt, int& out_iface);
    Verdict closed_port(Packet& pkt, int in_iface, int& out_iface, std::vector<MiddleboxNote>& notes,
                        const char* why) const;
    bool source_nat(NewFlow& f, const Packet& pkt, TimeNs now, std::vector<MiddleboxNote>& notes);
    std::optional<Verdict> filter(const FilterInput& in, Packet& pkt, int in_iface, int& out_iface,
                                  std::vector<MiddleboxNote>& notes);
    FtpAlg::PortChooser port_chooser(const ConntrackEntry& ct, TimeNs now,
                                     std::vector<MiddleboxNote>& notes);
    void unhelped_line(const ConntrackEntry& ct, CtDirection dir, const Packet& pkt,
                       std::vector<MiddleboxNote>& notes) const;
    void touch_mapping(const ConntrackEntry& ct, CtDirection dir, const Packet& translated, TimeNs now);
    FwDirection direction(int in_iface, int out_iface) const;
    Realm realm(int iface) const;
    // A fact on this router, about `pkt` when given (its flags, length and addresses as src/dst).
    trace::Event fact(trace::Fact f, const Packet* pkt = nullptr) const;
    // Records a fact that drops the packet.
    Verdict drop(std::vector<MiddleboxNote>& notes, NoteKind kind, trace::Event fact) const;

    RouterConfig config_;
    Conntrack conntrack_;
    // The conntrack entries made with each NAT mapping (ids; some may be gone already), so that
    // a mapping's expiry forgets its connections without a scan of every entry.
    std::unordered_map<int, std::vector<int>> ct_by_mapping_;
    std::unique_ptr<Nat> nat_;
    PortForwarder forwarder_;
    std::optional<Firewall> firewall_;
    std::unique_ptr<FtpAlg> alg_;
};

// "4 min", "2 h 4 min", "30 s": durations in notes.
std::string format_duration(TimeNs ns);

}  // namespace ftpsim::mbox
