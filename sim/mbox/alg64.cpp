#include "sim/mbox/alg64.hpp"

#include <cctype>

#include "sim/mbox/alg.hpp"

namespace ftpsim::mbox {

const char* to_string(Ftp64Rule r) {
    switch (r) {
    case Ftp64Rule::None: return "none";
    case Ftp64Rule::EpsvToPasv: return "epsv-to-pasv";
    case Ftp64Rule::Reply227To229: return "227-to-229";
    case Ftp64Rule::Reply227To425: return "227-to-425";
    case Ftp64Rule::EprtToPort: return "eprt-to-port";
    case Ftp64Rule::Algs: return "algs";
    case Ftp64Rule::EpsvAll: return "epsv-all";
    case Ftp64Rule::EpsvProtocol: return "epsv-protocol";
    }
    return "?";
}

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// "VERB arg": the verb upper-cased and the argument as written (trimmed).
void split_command(std::string_view line, std::string& verb, std::string_view& arg) {
    const auto sp = line.find(' ');
    verb = upper(line.substr(0, sp));
    arg = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp + 1));
}

Ftp64Line translate(Ftp64Rule rule, std::string line) {
    Ftp64Line out;
    out.kind = Ftp64Line::Kind::Translate;
    out.rule = rule;
    out.line = std::move(line);
    return out;
}

Ftp64Line answer(Ftp64Rule rule, std::string line) {
    Ftp64Line out;
    out.kind = Ftp64Line::Kind::Answer;
    out.rule = rule;
    out.line = std::move(line);
    return out;
}

// A reply line's code, or 0; `final_line` false on "227-" continuation openers.
int reply_code(std::string_view line, bool& final_line) {
    if (line.size() < 3) return 0;
    for (int i = 0; i < 3; ++i)
        if (!std::isdigit(static_cast<unsigned char>(line[static_cast<std::size_t>(i)]))) return 0;
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return 0;
    final_line = line.size() == 3 || line[3] == ' ';
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) out += (c >= 32 && c < 127) ? c : '.';
    return out;
}

MiddleboxNote line_note(trace::Fact f, const std::string& node, const Ftp64Line& r, std::string_view before) {
    trace::Event e;
    e.kind = trace::EventKind::Middlebox;
    e.from = node;
    e.fact = f;
    e.state = to_string(r.rule);
    e.line_before = printable(before);
    e.line_after = printable(r.line);
    if (r.rule == Ftp64Rule::EprtToPort) {
        e.src = {r.bound_v6.addr.to_string(), r.bound_v6.port};
        e.src_after = {r.bound_v4.addr.to_string(), r.bound_v4.port};
    }
    return make_note(NoteKind::Alg, std::move(e));
}

// Rewrites the segment's whole lines through `per_line`; returns the ALG's own replies.
template <typename PerLine>
std::string rewrite_lines(Packet& p, CtDirection dir, std::array<SeqAdjust, 2>& seqadj, const std::string& node,
                          std::vector<MiddleboxNote>& notes, PerLine per_line) {
    std::string out, answers;
    std::size_t pos = 0;
    while (pos < p.payload.size()) {
        const auto nl = p.payload.find('\n', pos);
        const std::string_view whole(p.payload.data() + pos, nl + 1 - pos);
        std::string_view line = whole.substr(0, whole.size() - 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const Ftp64Line r = per_line(line);
        switch (r.kind) {
        case Ftp64Line::Kind::Copy: out += whole; break;
        case Ftp64Line::Kind::Translate:
            out += r.line + "\r\n";
            notes.push_back(line_note(trace::Fact::Alg64Translated, node, r, line));
            break;
        case Ftp64Line::Kind::Answer:
            answers += r.line + "\r\n";
            notes.push_back(line_note(trace::Fact::Alg64Answered, node, r, line));
            break;
        }
        pos = nl + 1;
    }
    if (out == p.payload) return answers;
    const auto delta = static_cast<std::int32_t>(out.size()) - static_cast<std::int32_t>(p.payload.size());
    p.payload = std::move(out);
    if (p.payload.empty()) p.flags = static_cast<std::uint8_t>(p.flags & ~kPsh);
    if (delta != 0) {
        record_seqadj(seqadj, dir, p.seq, delta);
        trace::Event adj;
        adj.kind = trace::EventKind::Middlebox;
        adj.from = node;
        adj.fact = trace::Fact::SeqAdjust;
        adj.seq_delta = delta;
        notes.push_back(make_note(NoteKind::Alg, std::move(adj)));
    }
    return answers;
}

}  // namespace

Ftp64Line ftp64_client_line(Ftp64State& st, const Ftp64AlgConfig& cfg, std::string_view line, const IpAddress& client,
                            const Ftp64Binder& bind) {
    if (st.transparent) return {};
    std::string verb;
    std::string_view arg;
    split_command(line, verb, arg);
    if (verb == "ALGS") {
        // RFC 6384 section 11 and Jool: answered by the ALG, never forwarded. An unknown argument
        // is passed on to the server (our choice: the ALG answers only what it knows).
        const std::string a = upper(arg);
        if (a == "ENABLE64") st.algs_enabled = true, st.algs_disabled = false;
        else if (a == "DISABLE64") st.algs_enabled = false, st.algs_disabled = true;
        else if (a != "STATUS64") return {};
        return answer(Ftp64Rule::Algs,
                      st.translating(cfg) ? "216 EPSVEPRT FTP ALG enabled." : "216 NONE FTP ALG disabled.");
    }
    if (verb == "AUTH") {  // Jool: after a positive reply the channel is unreadable
        st.sent_auth = true;
        return {};
    }
    if (!st.translating(cfg)) return {};
    if (verb == "EPSV") {
        const std::string a = upper(arg);
        if (a == "ALL") return answer(Ftp64Rule::EpsvAll, "504 Command not implemented for that parameter");
        if (!a.empty() && a != "2") return answer(Ftp64Rule::EpsvProtocol, "522 Network protocol not supported");
        st.sent_epsv = true;
        return translate(Ftp64Rule::EpsvToPasv, "PASV");
    }
    if (verb == "EPRT") {
        AlgMatch m;
        const std::string text = std::string(line) + "\r\n";
        if (match_ftp_line(text, true, client, m) != AlgMatchStatus::Found || m.form != FtpAddressForm::Eprt ||
            !(m.announced.addr == client))
            return {};  // Jool: only the client's own address is translated
        const auto v4 = bind(m.announced);
        if (!v4) return {};  // no free pool port: passed on (our choice)
        Ftp64Line out = translate(Ftp64Rule::EprtToPort, "PORT " + format_ftp_address(FtpAddressForm::Port, *v4));
        out.bound_v6 = m.announced;
        out.bound_v4 = *v4;
        return out;
    }
    return {};  // PORT, PASV and the rest pass unchanged
}

Ftp64Line ftp64_server_line(Ftp64State& st, std::string_view line, const IpAddress& server) {
    if (st.transparent) return {};
    bool final_line = true;
    const int code = reply_code(line, final_line);
    if (code == 0 || !final_line || code < 200) return {};
    Ftp64Line out;
    if (code == 227 && st.sent_epsv) {
        AlgMatch m;
        const std::string text = std::string(line) + "\r\n";
        const bool read = match_ftp_line(text, false, server, m) == AlgMatchStatus::Found;
        if (read && m.announced.addr == server)
            out = translate(Ftp64Rule::Reply227To229,
                            "229 Entering Extended Passive Mode (|||" + std::to_string(m.announced.port) + "|)");
        else
            out = translate(Ftp64Rule::Reply227To425, "425 Can't open data connection");
    }
    // Jool's ftpsm_server_denied / ftpsm_server_finished: a final reply ends the pending
    // translation; a positive one to AUTH makes the channel unreadable from now on.
    if (st.sent_auth && code < 400) st.transparent = true;
    st.sent_auth = false;
    st.sent_epsv = false;
    return out;
}

std::string ftp64_client_segment(Ftp64Control& c, const Ftp64AlgConfig& cfg, const std::string& node, Packet& p,
                                 const Ftp64Binder& bind, std::vector<MiddleboxNote>& notes) {
    if (!cfg.enabled || p.payload.empty() || p.payload.back() != '\n' || c.state.transparent) return {};
    const IpAddress client = p.src.addr;
    return rewrite_lines(p, CtDirection::Original, c.seqadj, node, notes, [&](std::string_view line) {
        return ftp64_client_line(c.state, cfg, line, client, bind);
    });
}

void ftp64_server_segment(Ftp64Control& c, const std::string& node, Packet& p, std::vector<MiddleboxNote>& notes) {
    const std::uint32_t end = p.seq + p.seq_len();
    if (!c.server_seen || seq_after(end, c.server_next)) c.server_next = end;
    c.server_seen = true;
    if (p.payload.empty() || p.payload.back() != '\n' || c.state.transparent) return;
    const IpAddress server = p.src.addr;
    rewrite_lines(p, CtDirection::Reply, c.seqadj, node, notes,
                  [&](std::string_view line) { return ftp64_server_line(c.state, line, server); });
    if (c.state.transparent) {  // AUTH accepted: the rest is TLS, which no ALG can read
        trace::Event e;
        e.kind = trace::EventKind::Middlebox;
        e.from = node;
        e.fact = trace::Fact::AlgLineIgnored;
        e.alg_skip = trace::AlgSkip::Tls;
        notes.push_back(make_note(NoteKind::Alg, std::move(e)));
    }
}

}  // namespace ftpsim::mbox
