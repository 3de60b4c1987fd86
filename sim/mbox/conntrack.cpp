#include "sim/mbox/conntrack.hpp"

#include <algorithm>
#include <iterator>

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

trace::Event created_fact(const ConntrackEntry& e) {
    trace::Event f;
    f.kind = trace::EventKind::Middlebox;
    f.fact = trace::Fact::ConntrackCreated;
    f.src = {e.original.src.addr.to_string(), e.original.src.port};
    f.dst = {e.original.dst.addr.to_string(), e.original.dst.port};
    f.entry = e.id;
    f.state = ct_states_string(e.state_for(CtDirection::Original));
    return f;
}

ConntrackEntry* Conntrack::find(const Packet& p, CtDirection& dir) {
    const auto [first, last] = by_tuple_.equal_range(FlowTuple{p.src, p.dst});
    if (first == last) return nullptr;
    TupleRef best = first->second;
    for (auto it = std::next(first); it != last; ++it)
        if (it->second.before(best)) best = it->second;
    dir = best.dir;
    return best.entry;
}

ConntrackEntry* Conntrack::get(int id) {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
}

void Conntrack::add_to_index(ConntrackEntry& e) {
    by_tuple_.emplace(e.original, TupleRef{e.id, CtDirection::Original, &e});
    by_tuple_.emplace(e.reply, TupleRef{e.id, CtDirection::Reply, &e});
}

void Conntrack::remove_from_index(const ConntrackEntry& e) {
    for (const FlowTuple* t : {&e.original, &e.reply}) {
        auto [it, last] = by_tuple_.equal_range(*t);
        while (it != last) it = it->second.id == e.id ? by_tuple_.erase(it) : std::next(it);
    }
}

TimeNs Conntrack::timeout_of(const ConntrackEntry& e) const {
    return e.closing ? timeouts.closing : e.seen_reply ? timeouts.established : timeouts.unreplied;
}

void Conntrack::push_deadline(const ConntrackEntry& e) { deadlines_.emplace(e.last_seen + timeout_of(e), e.id); }

ConntrackEntry& Conntrack::add(const FlowTuple& original, const FlowTuple& reply, TimeNs now) {
    ConntrackEntry e;
    e.id = next_id_++;
    e.original = original;
    e.reply = reply;
    e.created = e.last_seen = now;
    ConntrackEntry& stored = entries_.emplace(e.id, e).first->second;
    add_to_index(stored);
    push_deadline(stored);
    return stored;
}

void Conntrack::erase(int id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    remove_from_index(it->second);
    entries_.erase(it);
}

void Conntrack::update(ConntrackEntry& e, CtDirection dir, const Packet& p, TimeNs now) {
    const TimeNs before = timeout_of(e);
    e.last_seen = now;
    ++e.packets[index(dir)];
    if (dir == CtDirection::Reply) e.seen_reply = true;
    if (p.flags & (kFin | kRst)) e.closing = true;
    // The heap holds a deadline no later than each entry's real one; only a shorter timeout can
    // bring the real deadline before it.
    if (timeout_of(e) < before) push_deadline(e);
}

bool Conntrack::expired(const ConntrackEntry& e, TimeNs now) const {
    return now - e.last_seen >= timeout_of(e);
}

std::vector<ConntrackEntry> Conntrack::expire(TimeNs now) {
    std::vector<ConntrackEntry> gone;
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
        const int id = deadlines_.top().second;
        deadlines_.pop();
        auto it = entries_.find(id);
        if (it == entries_.end()) continue;  // erased meanwhile
        if (expired(it->second, now)) {
            gone.push_back(it->second);
            remove_from_index(it->second);
            entries_.erase(it);
        } else {
            push_deadline(it->second);
        }
    }
    std::sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return gone;
}

std::vector<ConntrackEntry> Conntrack::entries() const {
    std::vector<ConntrackEntry> out;
    out.reserve(entries_.size());
    for (const auto& [id, e] : entries_) out.push_back(e);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

void record_seqadj(ConntrackEntry& e, CtDirection dir, std::uint32_t seq, std::int32_t delta) {
    record_seqadj(e.seqadj, dir, seq, delta);
}

void record_seqadj(std::array<SeqAdjust, 2>& seqadj, CtDirection dir, std::uint32_t seq, std::int32_t delta) {
    if (delta == 0) return;
    SeqAdjust& way = seqadj[index(dir)];
    // A retransmitted rewrite at or before the last correction must not count twice.
    if (way.offset_before == way.offset_after || seq_before(way.correction_pos, seq)) {
        way.correction_pos = seq;
        way.offset_before = way.offset_after;
        way.offset_after += delta;
    }
}

void apply_seqadj(const ConntrackEntry& e, CtDirection dir, Packet& p) { apply_seqadj(e.seqadj, dir, p); }

void apply_seqadj(const std::array<SeqAdjust, 2>& seqadj, CtDirection dir, Packet& p) {
    const SeqAdjust& this_way = seqadj[index(dir)];
    const SeqAdjust& other_way = seqadj[index(opposite(dir))];
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
