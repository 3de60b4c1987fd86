// Connection tracking, after Linux's nf_conntrack: one ConntrackEntry per TCP connection with
// its original tuple (as the first packet arrived) and its reply tuple (as replies will arrive,
// i.e. after NAT). Translating a packet is then just swapping in the other tuple, which is how
// NAT and reverse NAT stay consistent for the whole connection.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/mbox/note.hpp"
#include "sim/mbox/packet.hpp"

namespace ftpsim::mbox {

struct NatMapping;

struct FlowTuple {
    HostPort src, dst;
    bool operator==(const FlowTuple&) const = default;
    std::strong_ordering operator<=>(const FlowTuple& o) const {  // written out: see IpAddress
        if (const auto c = src <=> o.src; c != 0) return c;
        return dst <=> o.dst;
    }
    FlowTuple inverse() const { return {dst, src}; }
    std::string to_string() const;  // "192.168.1.10:50000 -> 203.0.113.10:21"
};
struct FlowTupleHash {
    std::size_t operator()(const FlowTuple& t) const noexcept {
        return static_cast<std::size_t>(hash_value(t.src, t.dst));
    }
};

enum class CtDirection : std::uint8_t { Original = 0, Reply = 1 };
inline int index(CtDirection d) { return static_cast<int>(d); }
inline CtDirection opposite(CtDirection d) {
    return d == CtDirection::Original ? CtDirection::Reply : CtDirection::Original;
}

// The state a firewall rule matches (iptables -m conntrack --ctstate), as bits.
enum CtState : std::uint8_t {
    kCtAny = 0,  // no bit: a rule that matches every state
    kCtNew = 1,
    kCtEstablished = 2,
    kCtRelated = 4,
};
std::string ct_states_string(std::uint8_t states);  // "new,established"

// nf_conntrack_seqadj: after a rewrite changed a packet's length at `correction_pos`, later
// packets of that direction move by `offset_after`, earlier ones (retransmissions) by
// `offset_before`; the other direction's acknowledgements move back by the same amounts.
struct SeqAdjust {
    std::uint32_t correction_pos = 0;
    std::int32_t offset_before = 0;
    std::int32_t offset_after = 0;
    bool active() const { return offset_before != 0 || offset_after != 0; }
};

// nf_ct_ftp_master: the sequence numbers just after a '\n', per direction (the kernel keeps 2).
// The FTP helper only looks at a packet that starts at one of them.
struct FtpLineState {
    std::array<std::uint32_t, 2> seq_after_nl{};
    int count = 0;
};

struct ConntrackEntry {
    int id = 0;
    int conn = -1;             // the trace's connection id, when the packet carried one
    FlowTuple original;        // as the first packet arrived at the router
    FlowTuple reply;           // as replies arrive at the router (after NAT)
    bool seen_reply = false;   // IPS_SEEN_REPLY: replies make later packets "established"
    bool related = false;      // created by an ALG expectation
    int master = -1;           // the control connection's entry, for related ones
    bool closing = false;      // FIN or RST seen
    bool ftp_helper = false;   // the FTP ALG inspects this connection
    std::array<FtpLineState, 2> ftp_lines{};
    std::array<SeqAdjust, 2> seqadj{};
    int nat_mapping = -1;      // the NatMapping it uses (source NAT of the inside endpoint)
    // That mapping's address, set by the router when it makes the entry: the mapping's expiry
    // forgets every entry made with it (Router::expire), so it never outlives the mapping. Not
    // to be read from a copy (a snapshot).
    NatMapping* nat_mapping_ptr = nullptr;
    bool nat_inside_is_reply = false;  // the inside endpoint sent the reply direction
    TimeNs created = 0;
    TimeNs last_seen = 0;
    std::array<std::uint64_t, 2> packets{};
    std::array<int, 2> out_iface{-1, -1};  // the router's route for each direction, once looked up

    bool nat() const { return !(reply == original.inverse()); }  // IPS_NAT_MASK
    // The state a packet in `dir` has, as iptables' conntrack match sees it.
    // Replies are always "established" (IP_CT_ESTABLISHED_REPLY); the originator's packets are
    // "new" (or "related") until a reply has been seen.
    CtState state_for(CtDirection dir) const {
        if (dir == CtDirection::Reply || seen_reply) return kCtEstablished;
        return related ? kCtRelated : kCtNew;
    }
    // The addresses a packet of `dir` leaves the router with.
    FlowTuple translated(CtDirection dir) const {
        return dir == CtDirection::Original ? reply.inverse() : original.inverse();
    }
    // The tuple a packet of `dir` has after PREROUTING's destination NAT (what FORWARD sees).
    FlowTuple filter_view(CtDirection dir) const {
        return dir == CtDirection::Original ? FlowTuple{original.src, reply.src}
                                            : FlowTuple{reply.src, original.src};
    }
};

// trace::Fact::ConntrackCreated for a new entry: its original tuple (src -> dst), its id (entry)
// and the state of its first packet (new, or related when an ALG expected it). The router adds
// its name and the packet.
trace::Event created_fact(const ConntrackEntry& e);

// Conntrack timeouts: Linux's TCP defaults (nf_conntrack_tcp_timeout_*), simplified to three.
struct ConntrackTimeouts {
    TimeNs established = 432000 * trace::kNsPerSec;  // 5 days
    TimeNs unreplied = 120 * trace::kNsPerSec;       // SYN_SENT
    TimeNs closing = 120 * trace::kNsPerSec;         // FIN_WAIT/TIME_WAIT
};

// Lookups cost O(1) per packet and expiry O(log n): entries sit in a hash table by id and are
// indexed by both tuples in another, and idle deadlines sit in a min-heap that is checked lazily
// (a popped deadline that has moved on because the entry saw more packets is pushed again with
// its new value). Results are the same as a scan of every entry in id order, which is what the
// tests and the golden traces pin down: where a tuple belongs to two entries the lowest id wins,
// expiry returns entries in id order and entries() lists them in id order.
class Conntrack {
public:
    ConntrackEntry* find(const Packet& p, CtDirection& dir);
    ConntrackEntry* get(int id);
    ConntrackEntry& add(const FlowTuple& original, const FlowTuple& reply, TimeNs now);
    // Records a packet of `dir`: counters, SEEN_REPLY, closing.
    void update(ConntrackEntry& e, CtDirection dir, const Packet& p, TimeNs now);
    std::vector<ConntrackEntry> expire(TimeNs now);
    bool expired(const ConntrackEntry& e, TimeNs now) const;
    void erase(int id);
    std::vector<ConntrackEntry> entries() const;
    std::size_t size() const { return entries_.size(); }
    ConntrackTimeouts timeouts;

private:
    TimeNs timeout_of(const ConntrackEntry& e) const;
    void add_to_index(ConntrackEntry& e);
    void remove_from_index(const ConntrackEntry& e);
    void push_deadline(const ConntrackEntry& e);

    std::unordered_map<int, ConntrackEntry> entries_;  // node-based: addresses stay valid
    // Both tuples of every entry -> (entry id, direction); a tuple may (rarely) belong to two
    // entries: the lowest id wins, original before reply, as the scan in id order did.
    // The entry's address rides along (entries_ is node-based) so that a packet's lookup touches
    // one table, not two: at 100k sessions each table lookup is a few cache misses.
    struct TupleRef {
        int id;
        CtDirection dir;
        ConntrackEntry* entry;
        bool before(const TupleRef& o) const { return id != o.id ? id < o.id : dir < o.dir; }
    };
    std::unordered_multimap<FlowTuple, TupleRef, FlowTupleHash> by_tuple_;
    using Deadline = std::pair<TimeNs, int>;  // (idle deadline, entry id)
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
    int next_id_ = 1;
};

// nf_ct_seq_adjust: moves seq (and ack) of a packet of `dir` by the recorded adjustments.
void apply_seqadj(const ConntrackEntry& e, CtDirection dir, Packet& p);
// The same on a pair of adjustments kept elsewhere (a NAT64 session's FTP64 ALG).
void apply_seqadj(const std::array<SeqAdjust, 2>& seqadj, CtDirection dir, Packet& p);
// nf_ct_seqadj_set: records a rewrite of `delta` bytes in the packet starting at `seq`.
void record_seqadj(ConntrackEntry& e, CtDirection dir, std::uint32_t seq, std::int32_t delta);
void record_seqadj(std::array<SeqAdjust, 2>& seqadj, CtDirection dir, std::uint32_t seq, std::int32_t delta);

}  // namespace ftpsim::mbox
