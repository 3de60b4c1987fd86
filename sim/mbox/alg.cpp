#include "sim/mbox/alg.hpp"

#include <algorithm>

#include <array>
#include <cctype>

#include "protocol/codec.hpp"

namespace ftpsim::mbox {

const char* to_string(FtpAddressForm f) {
    switch (f) {
    case FtpAddressForm::Port: return "PORT";
    case FtpAddressForm::Eprt: return "EPRT";
    case FtpAddressForm::Pasv227: return "227";
    case FtpAddressForm::Epsv229: return "229";
    }
    return "?";
}

trace::Announce announce_form(FtpAddressForm f) {
    switch (f) {
    case FtpAddressForm::Port: return trace::Announce::Port;
    case FtpAddressForm::Eprt: return trace::Announce::Eprt;
    case FtpAddressForm::Pasv227: return trace::Announce::Pasv227;
    case FtpAddressForm::Epsv229: return trace::Announce::Epsv229;
    }
    return trace::Announce::None;
}

trace::Event expectation_fact(const AlgExpectation& e) {
    trace::Event f;
    f.kind = trace::EventKind::Middlebox;
    f.form = announce_form(e.form);
    f.src = {e.src.to_string(), 0};
    f.dst = {e.dst.addr.to_string(), e.dst.port};
    f.dst_after = {e.forward_to.addr.to_string(), e.forward_to.port};
    f.entry = e.id;
    f.timeout_ns = e.expires - e.created;
    return f;
}

namespace {

// ---- The kernel's number readers. Each returns the length it read, 0 for "no match". -------

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// try_number(): `count` decimal numbers separated by `sep`, ended by `term` (0: by any other
// character). Values are not range-checked, as in the kernel: 300 overflows into the next byte.
std::size_t read_numbers(std::string_view d, std::uint32_t* out, int count, char sep, char term) {
    for (int i = 0; i < count; ++i) out[i] = 0;
    int i = 0;
    for (std::size_t len = 0; len < d.size() && i < count; ++len) {
        char c = d[len];
        if (is_digit(c)) {
            out[i] = out[i] * 10 + static_cast<std::uint32_t>(c - '0');
        } else if (c == sep) {
            ++i;
        } else {
            // The line must end (at the terminator) exactly after the last number.
            return ((c == term || term == 0) && i == count - 1) ? len : 0;
        }
    }
    return 0;  // ran out of bytes: the line continues in a later packet
}

IpAddress v4_from(const std::uint32_t* n) {
    return IpAddress::v4((n[0] << 24) | (n[1] << 16) | (n[2] << 8) | n[3]);
}

// try_rfc959(): "h1,h2,h3,h4,p1,p2".
std::size_t read_rfc959(std::string_view d, char term, HostPort& out) {
    std::uint32_t n[6];
    std::size_t len = read_numbers(d, n, 6, ',', term);
    if (len == 0) return 0;
    out.addr = v4_from(n);
    out.port = static_cast<std::uint16_t>((n[4] << 8) | n[5]);
    return len;
}

// try_rfc1123(): RFC 1123 4.1.2.6 says a 227's numbers may come without parentheses, so scan
// for the first digit. `skipped` tells the caller where the numbers start.
std::size_t read_rfc1123(std::string_view d, HostPort& out, std::size_t& skipped) {
    std::size_t i = 0;
    while (i < d.size() && !is_digit(d[i])) ++i;
    if (i == d.size()) return 0;
    skipped = i;
    return read_rfc959(d.substr(i), 0, out);
}

// get_port(): digits up to `delim`; a zero port does not count. Returns the index after delim.
std::size_t read_port(std::string_view d, std::size_t start, char delim, std::uint16_t& port) {
    std::uint16_t p = 0;
    for (std::size_t i = start; i < d.size(); ++i) {
        if (d[i] == delim) {
            if (p == 0) return 0;
            port = p;
            return i + 1;
        }
        if (!is_digit(d[i])) return 0;
        p = static_cast<std::uint16_t>(p * 10 + (d[i] - '0'));
    }
    return 0;
}

bool valid_delimiter(char c) { return !is_digit(c) && c >= 33 && c <= 126; }

// try_eprt(): "|1|132.235.1.2|6275|" or "|2|3ffe::1|6275|"; the family must be the connection's.
std::size_t read_eprt(std::string_view d, const IpAddress& sender, HostPort& out) {
    if (d.size() <= 3) return 0;
    const char delim = d[0];
    if (!valid_delimiter(delim) || d[2] != delim) return 0;
    if (d[1] != (sender.is_v4() ? '1' : '2')) return 0;
    std::size_t len = 0;
    if (d[1] == '1') {
        std::uint32_t n[4];
        len = read_numbers(d.substr(3), n, 4, '.', delim);
        if (len) out.addr = v4_from(n);
    } else {
        auto end = d.find(delim, 3);
        auto ip = end == std::string_view::npos ? std::nullopt : proto::parse_ip(d.substr(3, end - 3));
        if (ip) {
            out.addr = *ip;
            len = end - 3;
        }
    }
    if (len == 0) return 0;
    return read_port(d, 3 + len + 1, delim, out.port);
}

// try_epsv_response(): "|||6446|".
std::size_t read_epsv(std::string_view d, HostPort& out) {
    if (d.size() <= 3) return 0;
    const char delim = d[0];
    if (!valid_delimiter(delim) || d[1] != delim || d[2] != delim) return 0;
    return read_port(d, 3, delim, out.port);
}

bool istarts_with(std::string_view data, std::string_view pattern, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (std::tolower(static_cast<unsigned char>(data[i])) !=
            std::tolower(static_cast<unsigned char>(pattern[i])))
            return false;
    return true;
}

struct FtpSearch {
    std::string_view pattern;
    char skip;  // skip up to and past this character before the numbers (0: none)
    char term;
    FtpAddressForm form;
};

// The kernel's search[][] table: what each direction may carry.
constexpr std::array<FtpSearch, 2> kClientSearch{{
    {"PORT", ' ', '\r', FtpAddressForm::Port},
    {"EPRT", ' ', '\r', FtpAddressForm::Eprt},
}};
constexpr std::array<FtpSearch, 2> kServerSearch{{
    {"227 ", 0, 0, FtpAddressForm::Pasv227},
    {"229 ", '(', ')', FtpAddressForm::Epsv229},
}};

std::size_t read_address(const FtpSearch& s, std::string_view d, const IpAddress& sender,
                         AlgMatch& out) {
    switch (s.form) {
    case FtpAddressForm::Port: return read_rfc959(d, s.term, out.announced);
    case FtpAddressForm::Eprt: return read_eprt(d, sender, out.announced);
    case FtpAddressForm::Epsv229: return read_epsv(d, out.announced);
    case FtpAddressForm::Pasv227: {
        std::size_t skipped = 0;
        std::size_t len = read_rfc1123(d, out.announced, skipped);
        out.offset += skipped;
        return len;
    }
    }
    return 0;
}

// find_pattern(): the pattern must open the packet; a packet that is a prefix of it, or whose
// address cannot be read to its end, is "partial".
AlgMatchStatus find_pattern(std::string_view d, const FtpSearch& s, const IpAddress& sender,
                            AlgMatch& out) {
    const std::size_t plen = s.pattern.size();
    if (d.size() <= plen)
        return istarts_with(d, s.pattern, d.size()) ? AlgMatchStatus::Partial : AlgMatchStatus::None;
    if (!istarts_with(d, s.pattern, plen)) return AlgMatchStatus::None;
    std::size_t i = plen;
    if (s.skip) {
        while (d[i] != s.skip) {
            if (i == d.size() - 1) return AlgMatchStatus::Partial;
            ++i;
        }
        ++i;
    }
    out = AlgMatch{};
    out.form = s.form;
    out.announced.addr = sender;
    out.offset = i;
    out.length = read_address(s, d.substr(i), sender, out);
    return out.length ? AlgMatchStatus::Found : AlgMatchStatus::Partial;
}

}  // namespace

AlgMatchStatus match_ftp_line(std::string_view data, bool from_client, const IpAddress& sender,
                              AlgMatch& out) {
    const auto& table = from_client ? kClientSearch : kServerSearch;
    for (const auto& s : table) {
        auto status = find_pattern(data, s, sender, out);
        if (status != AlgMatchStatus::None) {
            out.form = s.form;
            return status;
        }
    }
    return AlgMatchStatus::None;
}

std::string format_ftp_address(FtpAddressForm form, const HostPort& hp) {
    switch (form) {
    case FtpAddressForm::Port:
    case FtpAddressForm::Pasv227: return proto::format_port_arg(hp);
    case FtpAddressForm::Eprt:
        return std::string("|") + (hp.addr.is_v4() ? "1" : "2") + "|" + hp.addr.to_string() + "|" +
               std::to_string(hp.port) + "|";
    case FtpAddressForm::Epsv229: return "|||" + std::to_string(hp.port) + "|";
    }
    return {};
}

std::string AlgExpectation::to_string() const {
    std::string s = src.to_string() + ":* -> " + dst.to_string();
    if (!(forward_to == dst)) s += " => " + forward_to.to_string();
    return s;
}

bool FtpAlg::inspects_port(std::uint16_t port) const {
    for (auto p : config_.ports)
        if (p == port) return true;
    return false;
}

namespace {

bool at_line_start(const FtpLineState& st, std::uint32_t seq) {
    for (int i = 0; i < st.count; ++i)
        if (st.seq_after_nl[static_cast<std::size_t>(i)] == seq) return true;
    return false;
}

// update_nl_seq(): remember where the next line starts, replacing the older of the two kept.
void remember_line_start(FtpLineState& st, std::uint32_t seq) {
    if (at_line_start(st, seq)) return;
    if (st.count < 2) {
        st.seq_after_nl[static_cast<std::size_t>(st.count++)] = seq;
        return;
    }
    std::size_t oldest = seq_before(st.seq_after_nl[0], st.seq_after_nl[1]) ? 0 : 1;
    if (seq_after(seq, st.seq_after_nl[oldest])) st.seq_after_nl[oldest] = seq;
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\r' || c == '\n') break;
        out += (c >= 32 && c < 127) ? c : '.';
    }
    return out;
}

trace::Event alg_fact(trace::Fact f, FtpAddressForm form = FtpAddressForm::Port) {
    trace::Event e;
    e.kind = trace::EventKind::Middlebox;
    e.fact = f;
    e.form = announce_form(form);
    return e;
}

MiddleboxNote ignored_note(trace::AlgSkip why, std::string line = {}) {
    trace::Event e = alg_fact(trace::Fact::AlgLineIgnored);
    e.form = trace::Announce::None;
    e.alg_skip = why;
    e.line_before = std::move(line);
    return make_note(NoteKind::Alg, std::move(e));
}

MiddleboxNote tls_note() { return ignored_note(trace::AlgSkip::Tls); }

}  // namespace

bool FtpAlg::handles(FtpAddressForm form) const {
    return std::find(config_.forms.begin(), config_.forms.end(), form) != config_.forms.end();
}


AlgVerdict FtpAlg::help(ConntrackEntry& ct, CtDirection dir, Packet& p, TimeNs now,
                        const PortChooser& choose, std::vector<MiddleboxNote>& notes) {
    // Until there has been traffic both ways the kernel does not look (ctinfo not ESTABLISHED).
    if (p.payload.empty() || (dir == CtDirection::Original && !ct.seen_reply)) return AlgVerdict::Accept;
    const bool from_client = dir == CtDirection::Original;
    FtpLineState& lines = ct.ftp_lines[index(dir)];
    const bool ends_in_nl = p.payload.back() == '\n';
    const std::uint32_t next_line = p.seq + static_cast<std::uint32_t>(p.payload.size());
    auto finish = [&](AlgVerdict v) {
        if (ends_in_nl) remember_line_start(lines, next_line);
        return v;
    };

    AlgMatch m;
    const IpAddress sender = (from_client ? ct.original : ct.reply).src.addr;
    const auto status = match_ftp_line(p.payload, from_client, sender, m);
    if (!at_line_start(lines, p.seq)) {
        // No reassembly: a packet that does not begin right after a newline seen in this
        // direction (the first one, the rest of a split line, after TLS) is not read at all.
        if (looks_like_tls_record(p.payload)) notes.push_back(tls_note());
        else if (status != AlgMatchStatus::None)
            notes.push_back(ignored_note(trace::AlgSkip::NotAtLineStart, printable(p.payload)));
        return finish(AlgVerdict::Accept);
    }
    switch (status) {
    case AlgMatchStatus::None:
        if (looks_like_tls_record(p.payload)) notes.push_back(tls_note());
        return finish(AlgVerdict::Accept);
    case AlgMatchStatus::Partial:
        // nf_conntrack_ftp drops it ("partial matching") so that TCP sends it again; as in the
        // kernel the line start is not remembered.
        {
            trace::Event e = alg_fact(trace::Fact::AlgPartialLine, m.form);
            e.line_before = printable(p.payload);
            e.verdict = trace::Verdict::Dropped;
            notes.push_back(make_note(NoteKind::Alg, std::move(e)));
        }
        return AlgVerdict::Drop;
    case AlgMatchStatus::Found: break;
    }
    if (!handles(m.form)) {  // a Linksys-style helper: not a line it knows, passed on untouched
        trace::Event e = alg_fact(trace::Fact::AlgLineIgnored, m.form);
        e.alg_skip = trace::AlgSkip::FormNotHandled;
        e.line_before = p.payload.substr(m.offset, m.length);
        notes.push_back(make_note(NoteKind::Alg, std::move(e)));
        return finish(AlgVerdict::Accept);
    }
    if (announce(ct, dir, p, m, now, choose, notes) == AlgVerdict::Drop) return AlgVerdict::Drop;
    return finish(AlgVerdict::Accept);
}

// From a found announcement to the expectation, through nf_nat_ftp when the connection is NATed.
AlgVerdict FtpAlg::announce(ConntrackEntry& ct, CtDirection dir, Packet& p, const AlgMatch& m, TimeNs now,
                            const PortChooser& choose, std::vector<MiddleboxNote>& notes) {
    const bool from_client = dir == CtDirection::Original;
    const IpAddress sender = (from_client ? ct.original : ct.reply).src.addr;
    const FlowTuple& other = from_client ? ct.reply : ct.original;  // the kernel's "!dir" tuple
    IpAddress expect_addr = other.dst.addr;  // where the peer will connect to
    if (m.announced.addr.family == sender.family && !(m.announced.addr == sender)) {
        // Lets no one open holes towards third parties (DMZ hosts, the firewall itself).
        if (!config_.loose) {
            trace::Event e = alg_fact(trace::Fact::AlgLineIgnored, m.form);
            e.alg_skip = trace::AlgSkip::ForeignAddress;
            e.src = {sender.to_string(), 0};
            e.dst = {m.announced.addr.to_string(), m.announced.port};
            notes.push_back(make_note(NoteKind::Alg, std::move(e)));
            return AlgVerdict::Accept;
        }
        expect_addr = m.announced.addr;
    }
    AlgExpectation e;
    e.master = ct.id;
    e.form = m.form;
    e.src = other.src.addr;
    e.dst = {expect_addr, m.announced.port};
    e.forward_to = e.dst;
    e.created = now;
    e.expires = now + config_.expectation_timeout;
    if (ct.nat()) {
        // nf_nat_follow_master sends the data connection on to where the sender really listens.
        e.forward_to = {expect_addr == other.dst.addr ? sender : expect_addr, m.announced.port};
        auto chosen = choose(e.forward_to, other.dst.addr, m.announced.port);
        if (!chosen) {
            trace::Event x = alg_fact(trace::Fact::AlgNoFreePort, m.form);
            x.verdict = trace::Verdict::Dropped;
            x.src = {e.forward_to.addr.to_string(), e.forward_to.port};
            notes.push_back(make_note(NoteKind::Alg, std::move(x)));
            return AlgVerdict::Drop;
        }
        e.dst = {other.dst.addr, chosen->first};
        e.nat_mapping = chosen->second;
        rewrite(ct, dir, p, m, e.dst, notes);
    }
    expect(e, notes);
    return AlgVerdict::Accept;
}

// nf_nat_mangle_tcp_packet: replace the address text, and record the length change for seqadj.
void FtpAlg::rewrite(ConntrackEntry& ct, CtDirection dir, Packet& p, const AlgMatch& m, const HostPort& announced,
                     std::vector<MiddleboxNote>& notes) {
    std::string old_text = p.payload.substr(m.offset, m.length);
    std::string new_text = format_ftp_address(m.form, announced);
    if (new_text == old_text) return;
    p.payload.replace(m.offset, m.length, new_text);
    const auto delta = static_cast<std::int32_t>(new_text.size()) - static_cast<std::int32_t>(old_text.size());
    trace::Event e = alg_fact(trace::Fact::AlgLineRewritten, m.form);
    e.src = {m.announced.addr.to_string(), m.announced.port};
    e.dst = {announced.addr.to_string(), announced.port};
    e.line_before = std::move(old_text);
    e.line_after = std::move(new_text);
    notes.push_back(make_note(NoteKind::Alg, std::move(e)));
    if (delta == 0) return;
    record_seqadj(ct, dir, p.seq, delta);
    trace::Event adj = alg_fact(trace::Fact::SeqAdjust, m.form);
    adj.seq_delta = delta;
    adj.entry = ct.id;
    notes.push_back(make_note(NoteKind::Alg, std::move(adj)));
}

bool FtpAlg::expect(AlgExpectation e, std::vector<MiddleboxNote>& notes) {
    // ftp_exp_policy.max_expected = 1: a new announcement replaces the master's previous one.
    for (auto it = expectations_.begin(); it != expectations_.end();) {
        if (it->second.master == e.master) it = expectations_.erase(it);
        else ++it;
    }
    e.id = next_id_++;
    trace::Event f = expectation_fact(e);
    f.fact = trace::Fact::AlgExpectationCreated;
    notes.push_back(make_note(NoteKind::Alg, std::move(f)));
    next_expiry_ = std::min(next_expiry_, e.expires);
    expectations_[e.id] = e;
    return true;
}

std::optional<AlgExpectation> FtpAlg::take_expectation(const Packet& p, TimeNs now) {
    for (auto it = expectations_.begin(); it != expectations_.end(); ++it) {
        const AlgExpectation& e = it->second;
        if (now >= e.expires || !(e.src == p.src.addr) || !(e.dst == p.dst)) continue;
        AlgExpectation found = e;
        expectations_.erase(it);
        return found;
    }
    return std::nullopt;
}

std::optional<std::uint16_t> FtpAlg::free_port(const IpAddress& dst, std::uint16_t wanted, int master) const {
    for (std::uint32_t port = wanted; port != 0 && port <= 65535; ++port) {
        bool taken = false;
        for (const auto& [id, e] : expectations_)
            taken = taken || (e.master != master && e.dst.addr == dst && e.dst.port == port);
        if (!taken) return static_cast<std::uint16_t>(port);
    }
    return std::nullopt;
}

std::vector<AlgExpectation> FtpAlg::expire(TimeNs now) {
    std::vector<AlgExpectation> gone;
    if (now < next_expiry_) return gone;
    next_expiry_ = std::numeric_limits<TimeNs>::max();
    for (auto it = expectations_.begin(); it != expectations_.end();) {
        if (now >= it->second.expires) {
            gone.push_back(it->second);
            it = expectations_.erase(it);
        } else {
            next_expiry_ = std::min(next_expiry_, it->second.expires);
            ++it;
        }
    }
    return gone;
}

void FtpAlg::forget_master(int master) {
    for (auto it = expectations_.begin(); it != expectations_.end();) {
        if (it->second.master == master) it = expectations_.erase(it);
        else ++it;
    }
}

std::vector<AlgExpectation> FtpAlg::expectations(TimeNs now) const {
    std::vector<AlgExpectation> out;
    for (const auto& [id, e] : expectations_)
        if (now < e.expires) out.push_back(e);
    return out;
}

}  // namespace ftpsim::mbox
