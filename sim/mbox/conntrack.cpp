#include "sim/mbox/conntrack.hpp"

namespace ftpsim::mbox {

std::string FlowTuple::to_string() const { return src.to_string() + " -> " + dst.to_string(); }

std::string ct_states_string(std::uint8_t states) {
    std::string s;
    auto add = [&](std::uint8_t bit, const char* name) {
        if (!(states & bit)) return;
        if (!s.empty()) s += ',';
        s += name;
    };
    add(kCtNew, "new");
    add(kCtEstablished, "established");
    add(kCtRelated, "related");
    return s;
}

ConntrackEntry* Conntrack::find(const Packet& p, CtDirection& dir) {
    const FlowTuple t{p.src, p.dst};
    for (auto& [id, e] : entries_) {
        if (e.original == t) {
            dir = CtDirection::Original;
            return &e;
        }
        if (e.reply == t) {
            dir = CtDirection::Reply;
            return &e;
        }
    }
    return nullptr;
}

ConntrackEntry* Conntrack::get(int id) {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
}

ConntrackEntry& Conntrack::add(const FlowTuple& original, const FlowTuple& reply, TimeNs now) {
    ConntrackEntry e;
    e.id = next_id_++;
    e.original = original;
    e.reply = reply;
    e.created = e.last_seen = now;
    return entries_[e.id] = e;
}

void Conntrack::update(ConntrackEntry& e, CtDirection dir, const Packet& p, TimeNs now) {
    e.last_seen = now;
    ++e.packets[index(dir)];
    if (dir == CtDirection::Reply) e.seen_reply = true;
    if (p.flags & (kFin | kRst)) e.closing = true;
}

bool Conntrack::expired(const ConntrackEntry& e, TimeNs now) const {
    TimeNs timeout = e.closing ? timeouts.closing
                     : e.seen_reply ? timeouts.established
                                    : timeouts.unreplied;
    return now - e.last_seen >= timeout;
}

std::vector<ConntrackEntry> Conntrack::expire(TimeNs now) {
    std::vector<ConntrackEntry> gone;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (expired(it->second, now)) {
            gone.push_back(it->second);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

std::vector<ConntrackEntry> Conntrack::entries() const {
    std::vector<ConntrackEntry> out;
    for (const auto& [id, e] : entries_) out.push_back(e);
    return out;
}

void record_seqadj(ConntrackEntry& e, CtDirection dir, std::uint32_t seq, std::int32_t delta) {
    if (delta == 0) return;
    SeqAdjust& way = e.seqadj[index(dir)];
    // A retransmitted rewrite at or before the last correction must not count twice.
    if (way.offset_before == way.offset_after || seq_before(way.correction_pos, seq)) {
        way.correction_pos = seq;
        way.offset_before = way.offset_after;
        way.offset_after += delta;
    }
}

void apply_seqadj(const ConntrackEntry& e, CtDirection dir, Packet& p) {
    const SeqAdjust& this_way = e.seqadj[index(dir)];
    const SeqAdjust& other_way = e.seqadj[index(opposite(dir))];
    if (this_way.active()) {
        std::int32_t off = seq_after(p.seq, this_way.correction_pos) ? this_way.offset_after
                                                                      : this_way.offset_before;
        p.seq += static_cast<std::uint32_t>(off);
    }
    if (other_way.active() && p.has(kAck)) {
        // The peer acknowledges bytes numbered in the rewritten stream: map them back.
        std::int32_t off = seq_after(p.ack - static_cast<std::uint32_t>(other_way.offset_before),
                                     other_way.correction_pos)
                               ? other_way.offset_after
                               : other_way.offset_before;
        p.ack -= static_cast<std::uint32_t>(off);
    }
}

}  // namespace ftpsim::mbox
