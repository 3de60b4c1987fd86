#include "viz/gui/narration.hpp"

#include "protocol/reply_codes.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace ftpsim::gui {

namespace {

std::string spaced(std::string s) {
    std::replace(s.begin(), s.end(), '-', ' ');
    std::replace(s.begin(), s.end(), '_', ' ');
    return s;
}

bool contains(const std::string& s, const char* w) { return s.find(w) != std::string::npos; }

std::string capital(std::string s) {
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
}

std::string verb_of(const std::string& line) {
    std::string v;
    for (char c : line) {
        if (c == ' ') break;
        v += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return v;
}

std::string endpoint(const trace::Endpoint& e) {
    if (e.addr.empty()) return {};
    const bool v6 = e.addr.find(':') != std::string::npos;
    return (v6 ? "[" + e.addr + "]" : e.addr) + ":" + std::to_string(e.port);
}

std::string connection_words(const viz::Item& it) {
    switch (it.purpose) {
    case viz::Purpose::Control: return "the control connection";
    case viz::Purpose::Data: return "the data connection";
    default: return "a TCP connection";
    }
}

// What the command asks for, in the deck's words.
std::string command_gloss(const std::string& verb) {
    if (verb == "USER") return "It sends the user name.";
    if (verb == "PASS") return "It sends the password.";
    if (verb == "SYST") return "It asks which operating system the server runs.";
    if (verb == "TYPE") return "It chooses the file type (A: ASCII, I: image/binary).";
    if (verb == "PORT" || verb == "EPRT")
        return "Active mode: the client has opened a data port and listens on it; the server must make an active "
               "open to it.";
    if (verb == "PASV" || verb == "EPSV" || verb == "SPSV")
        return "Passive mode: it asks the server which data port to connect to.";
    if (verb == "LIST" || verb == "NLST") return "It asks for a file list, sent over the data connection.";
    if (verb == "RETR") return "It asks to retrieve (get) a file over the data connection.";
    if (verb == "STOR" || verb == "APPE") return "It asks to store (put) a file over the data connection.";
    if (verb == "QUIT") return "It logs off.";
    if (verb == "AUTH") return "It asks to protect the control connection with TLS.";
    return {};
}

}  // namespace

std::string lane_phrase(const viz::Diagram& d, int lane) {
    if (lane < 0 || static_cast<std::size_t>(lane) >= d.lanes.size()) return "a node";
    const auto& l = d.lanes[static_cast<std::size_t>(lane)];
    if (l.role == "client" || l.role == "server") return l.name == l.role ? "the " + l.role : "the " + l.role + " (" + l.name + ")";
    std::string name = spaced(l.name);
    if (!contains(name, "router") && !contains(name, "nat") && !contains(name, "firewall") && !contains(name, "NAT"))
        name += l.role.empty() ? "" : " " + (l.role == "nat" ? std::string("NAT router") : l.role);
    return "the " + name;
}

std::vector<FtpLine> ftp_dialogue(const trace::Trace& t) {
    std::vector<FtpLine> out;
    std::vector<int> control;
    for (const auto& c : t.connections)
        if (c.purpose == "control") control.push_back(c.id);
    std::set<std::uint64_t> seen;
    bool segments = false;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment) continue;
        segments = true;
        if (e.payload.empty() || std::find(control.begin(), control.end(), e.conn) == control.end()) continue;
        if (e.packet && !seen.insert(e.packet).second) continue;  // a later hop of the same segment
        std::size_t start = 0;
        while (start < e.payload.size()) {
            std::size_t end = e.payload.find('\n', start);
            if (end == std::string::npos) end = e.payload.size();
            std::string line = e.payload.substr(start, end - start);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) out.push_back({e.time_ns, e.from, line, proto::reply_code_of(line).has_value()});
            start = end + 1;
        }
    }
    if (!segments)
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::FtpCommand || e.kind == trace::EventKind::FtpReply)
                out.push_back({e.time_ns, e.from, e.text.substr(0, e.text.find_first_of("\r\n")), e.kind == trace::EventKind::FtpReply});
    return out;
}

bool is_ftp_line(const viz::Item& it) {
    return it.kind == viz::ItemKind::Arrow && it.style == viz::Style::Control && !it.label.empty();
}

bool is_ftp_reply(const viz::Item& it) { return is_ftp_line(it) && proto::reply_code_of(it.label).has_value(); }

bool is_middlebox_decision(const viz::Item& it) {
    return it.kind == viz::ItemKind::Note && it.note_kind == viz::NoteKind::Middlebox;
}

bool went_wrong(const trace::Trace& t, const viz::Item& it) {
    if (it.kind == viz::ItemKind::Arrow && (it.end == viz::End::Cross || it.end == viz::End::Rejected)) return true;
    if (it.event < t.events.size()) {
        const auto v = t.events[it.event].verdict;
        if (v == trace::Verdict::Dropped || v == trace::Verdict::Rejected) return true;
    }
    if (is_ftp_reply(it)) return *proto::reply_code_of(it.label) >= 400;
    return false;
}

std::string narrate(const trace::Trace& t, const viz::Diagram& d, std::size_t index) {
    if (index >= d.items.size()) return {};
    const viz::Item& it = d.items[index];
    const trace::Event* e = it.event < t.events.size() ? &t.events[it.event] : nullptr;
    std::string out;
    if (it.kind == viz::ItemKind::Break) return "Nothing happens for " + it.label + ".";
    if (it.kind == viz::ItemKind::Note) {
        const std::string who = e ? e->from : std::string();
        int lane = -1;
        for (std::size_t i = 0; i < d.lanes.size(); ++i)
            if (d.lanes[i].name == who) lane = static_cast<int>(i);
        std::string text = it.text;
        std::replace(text.begin(), text.end(), '\n', ' ');
        switch (it.note_kind) {
        case viz::NoteKind::Middlebox: out = capital(lane_phrase(d, lane)) + " decides: " + text + "."; break;
        case viz::NoteKind::Socket: out = "On " + lane_phrase(d, lane) + ": " + text + "."; break;
        case viz::NoteKind::Timer: out = "A timer fires on " + lane_phrase(d, lane) + ": " + text + "."; break;
        case viz::NoteKind::Note: out = text; break;
        }
        if (e && !e->reason.empty() && it.note_kind != viz::NoteKind::Note) out += " (" + e->reason + ")";
        return out;
    }
    // an arrow
    const std::string from = lane_phrase(d, it.from_lane), to = lane_phrase(d, it.to_lane);
    const bool end_to_end = d.options.view == viz::View::EndToEnd;
    if (is_ftp_line(it)) {
        if (auto code = proto::reply_code_of(it.label)) {
            out = capital(from) + " answers \"" + it.label + "\" on the control connection. " +
                  proto::reply_explanation_text(*code);
        } else {
            const std::string verb = verb_of(it.label);
            out = capital(from) + " sends \"" + it.label + "\" to " + to + " on the control connection.";
            if (const std::string g = command_gloss(verb); !g.empty()) out += " " + g;
        }
        if (const std::string dec = proto::decoded_endpoint(it.label); !dec.empty())
            out += " The data port announced: " + dec.substr(2) + ".";
        if (!it.label_after.empty())
            out += " On the way a middlebox rewrote it to \"" + it.label_after + "\"" +
                   (proto::decoded_endpoint(it.label_after).empty() ? std::string(".")
                                                                     : " (" + proto::decoded_endpoint(it.label_after).substr(2) + ").");
    } else if (it.style == viz::Style::Data) {
        out = capital(from) + " sends " + it.label + " to " + to + " on the data connection.";
    } else {
        const std::string& l = it.label;
        const std::string conn = connection_words(it);
        if (l == "SYN" || l == "TCP connect")
            out = capital(from) + " makes an active open of " + conn + " to " + to + " (SYN).";
        else if (l == "SYN, ACK")
            out = capital(from) + " accepts " + conn + " (passive open: SYN, ACK back).";
        else if (l.rfind("FIN", 0) == 0)
            out = capital(from) + " closes its side of " + conn + " (FIN).";
        else if (l.rfind("RST", 0) == 0)
            out = capital(from) + " refuses or resets " + conn + " (RST).";
        else if (l == "ACK")
            out = capital(from) + " acknowledges on " + conn + " (ACK).";
        else
            out = capital(from) + " sends " + l + " to " + to + " on " + conn + ".";
    }
    if (e && !end_to_end) {
        const bool src_changed = !e->src_after.addr.empty() && !(e->src_after == e->src);
        const bool dst_changed = !e->dst_after.addr.empty() && !(e->dst_after == e->dst);
        if (src_changed || dst_changed)
            out += " The addresses change on this hop: " + endpoint(e->src) + " -> " + endpoint(e->dst) + " becomes " +
                   endpoint(e->src_after) + " -> " + endpoint(e->dst_after) + ".";
    }
    if (it.end == viz::End::Cross)
        out += " It never arrives: dropped" + (e && !e->reason.empty() ? " (" + e->reason + ")" : std::string()) + ".";
    else if (it.end == viz::End::Rejected)
        out += " It is refused" + (e && !e->reason.empty() ? " (" + e->reason + ")" : std::string()) + ".";
    return out;
}

}  // namespace ftpsim::gui
