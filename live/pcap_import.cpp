// `ftpsim import`: a capture of an FTP session as an ftpsim trace (see pcap_import.hpp).
#include "live/pcap_import.hpp"

#include "trace/render.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "live/recorder.hpp"
#include "protocol/address.hpp"
#include "protocol/codec.hpp"
#include "protocol/commands.hpp"
#include "trace/json.hpp"

namespace ftpsim::live {
namespace {

using proto::HostPort;
using proto::IpAddress;
using trace::TimeNs;

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20;

std::string flags_text(std::uint8_t f) {
    // The simulator's spelling: "S", "SA", "A", "PA", "FA", "R", "RA".
    std::string s;
    if (f & kSyn) s += 'S';
    if (f & kFin) s += 'F';
    if (f & kRst) s += 'R';
    if (f & kPsh) s += 'P';
    if (f & kUrg) s += 'U';
    if (f & kAck) s += 'A';
    return s;
}

trace::Endpoint endpoint(const HostPort& hp) { return {hp.addr.to_string(), hp.port}; }

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
           static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// One decoded TCP segment.
struct Segment {
    TimeNs t = 0;
    HostPort src, dst;
    std::uint8_t flags = 0;
    std::uint32_t seq = 0, ack = 0;
    std::string_view payload;      // the captured payload bytes
    std::uint32_t wire_len = 0;    // payload length on the wire (> payload.size(): snaplen cut it)
};

// The link layer's header: returns the offset of the IP header, or -1 (not IP / unsupported).
int ip_offset(int dlt, const unsigned char* p, std::size_t n) {
    switch (dlt) {
    case DLT_EN10MB: {
        if (n < 14) return -1;
        std::size_t off = 12;
        std::uint16_t type = be16(p + off);
        while ((type == 0x8100 || type == 0x88a8) && n >= off + 6) {  // VLAN tags
            off += 4;
            type = be16(p + off);
        }
        return (type == 0x0800 || type == 0x86dd) ? static_cast<int>(off + 2) : -1;
    }
    case DLT_LINUX_SLL: {
        if (n < 16) return -1;
        const std::uint16_t type = be16(p + 14);
        return (type == 0x0800 || type == 0x86dd) ? 16 : -1;
    }
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2: {
        if (n < 20) return -1;
        const std::uint16_t type = be16(p);
        return (type == 0x0800 || type == 0x86dd) ? 20 : -1;
    }
#endif
    case DLT_NULL:
    case DLT_LOOP:
        // A 4-byte address family (host or network byte order): the IP version nibble decides.
        return n > 4 ? 4 : -1;
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        return 0;
    default:
        return -1;
    }
}

// IPv4 or IPv6 + TCP. Returns false for anything else (UDP, ICMP, a non-first fragment...).
bool decode_ip_tcp(const unsigned char* p, std::size_t n, Segment& s) {
    if (n < 1) return false;
    const int version = p[0] >> 4;
    const unsigned char* tcp = nullptr;
    std::size_t tcp_avail = 0;   // captured bytes from the TCP header on
    std::size_t tcp_wire = 0;    // TCP header + payload length on the wire
    if (version == 4) {
        if (n < 20) return false;
        const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
        const std::size_t total = be16(p + 2);
        if (ihl < 20 || n < ihl || total < ihl) return false;
        if (p[9] != 6) return false;
        const std::uint16_t frag = be16(p + 6);
        if ((frag & 0x1fff) != 0 || (frag & 0x2000) != 0) return false;  // fragments: not reassembled
        s.src.addr = IpAddress::v4(p[12], p[13], p[14], p[15]);
        s.dst.addr = IpAddress::v4(p[16], p[17], p[18], p[19]);
        tcp = p + ihl;
        tcp_avail = std::min(n, total) - ihl;
        tcp_wire = total - ihl;
    } else if (version == 6) {
        if (n < 40) return false;
        s.src.addr.family = s.dst.addr.family = IpAddress::Family::V6;
        std::memcpy(s.src.addr.bytes.data(), p + 8, 16);
        std::memcpy(s.dst.addr.bytes.data(), p + 24, 16);
        std::size_t wire = 40 + static_cast<std::size_t>(be16(p + 4));
        std::size_t off = 40;
        int next = p[6];
        // Hop-by-hop, routing and destination options headers; a fragment header is not followed.
        while (next == 0 || next == 43 || next == 60) {
            if (n < off + 8) return false;
            next = p[off];
            off += (static_cast<std::size_t>(p[off + 1]) + 1) * 8;
        }
        if (next != 6 || wire < off || n < off) return false;
        tcp = p + off;
        tcp_avail = std::min(n, wire) - off;
        tcp_wire = wire - off;
    } else {
        return false;
    }
    if (tcp_avail < 20) return false;
    const std::size_t doff = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    if (doff < 20 || doff > tcp_avail || doff > tcp_wire) return false;
    s.src.port = be16(tcp);
    s.dst.port = be16(tcp + 2);
    s.seq = be32(tcp + 4);
    s.ack = be32(tcp + 8);
    s.flags = tcp[13] & 0x3f;
    s.payload = std::string_view(reinterpret_cast<const char*>(tcp + doff), tcp_avail - doff);
    s.wire_len = static_cast<std::uint32_t>(tcp_wire - doff);
    return true;
}

bool supported_link(int dlt) {
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        return true;
    default:
        return false;
    }
}

enum class Kind { Unknown, Control, Data, Other };
enum class ExpectKind { Active, Passive, Default };

struct Expectation {
    int ctrl = -1;              // control flow index
    ExpectKind kind = ExpectKind::Passive;
    std::optional<IpAddress> addr;
    std::uint16_t port = 0;
    std::string how;            // "PORT", "EPRT", "227", "229", "default data port"
};

// One direction's byte stream, reassembled in sequence order.
struct Dir {
    bool init = false;
    std::uint32_t next32 = 0;        // sequence number of the next byte expected
    std::uint64_t next = 0;          // its offset in the stream
    // Out of order, by offset. A data connection's bytes are only counted, so its held segments
    // keep their length and not their bytes (a hole at its start costs no payload memory).
    struct Held {
        std::string bytes;       // empty when only counted
        std::uint64_t len = 0;
        TimeNs t = 0;
    };
    std::map<std::uint64_t, Held> held;
    bool fin = false, closed = false;
    // Bytes not yet interpreted (control lines, or a flow not yet classified), with the capture
    // time at which each chunk became contiguous: marks = (end offset in buf, time).
    std::string buf;
    std::vector<std::pair<std::size_t, TimeNs>> marks;
    std::uint64_t delivered = 0;
    // Control bytes: buf[0, scanned) holds no end of the line or reply in progress, so the next
    // segment's bytes are searched from there (an unterminated reply costs linear time, not
    // quadratic).
    std::size_t scanned = 0;
};

struct PendingSegment {
    TimeNs t;
    int dir;
    std::string flags;
    std::uint32_t seq, ack, len;
    std::string payload;
};

struct Flow {
    HostPort ini, res;                 // initiator (sent the SYN) and responder
    bool syn_seen = false, synack_seen = false, established = false, refused = false;
    int syns = 0;
    TimeNs t_first = 0, t_last_syn = 0, t_est = 0, t_last = 0;
    Kind kind = Kind::Unknown;
    int conn = -1;                     // recorder id once opened
    int ctrl = -1;                     // data flow: its control flow
    std::string how;                   // data flow: the announcement that matched
    std::string ini_node, res_node;
    Dir dir[2];                        // 0: initiator -> responder, 1: back
    // Control flows.
    bool tls = false;
    std::string last_verb;
    int transfer = -1;                 // index of the transfer waiting for its final reply
    std::set<std::string> spsv_ids;
    // Data flows.
    int data_transfer = -1;
    std::uint64_t unassigned = 0;      // bytes seen before a transfer command claimed the flow
    bool spdt = false, spdt_ok = false;  // a single-port data connection (SPDT), and its 200 seen
    std::vector<PendingSegment> pending;
};

class Importer {
public:
    Importer(std::string path, const ImportOptions& opt, ImportStats& st)
        : path_(std::move(path)), opt_(opt), st_(st), rec_("import:" + path_, "Capture " + path_) {}

    void segment(const Segment& s);
    trace::Trace finish();

private:
    bool is_control_port(std::uint16_t p) const {
        return std::find(opt_.control_ports.begin(), opt_.control_ports.end(), p) != opt_.control_ports.end();
    }
    int flow_for(const Segment& s, bool& fresh);
    void classify_new(int fi);
    void open(int fi);
    void deliver(int fi, int d, TimeNs t, std::string_view bytes);
    void deliver_count(int fi, int d, TimeNs t, std::uint64_t n);
    void gap(int fi, int d, TimeNs t, std::uint64_t n);
    void drain(int fi, int d, TimeNs t);
    void interpret(int fi, int d);
    void control_bytes(int fi, int d);
    void on_command(int fi, TimeNs t, std::string_view line);
    void on_reply(int fi, TimeNs t, int code, const std::string& text);
    void data_bytes(int fi, int d, TimeNs t, std::uint64_t n);
    void decide_unknown(int fi, bool at_end);
    void close_dir(int fi, int d, TimeNs t, bool reset);
    void record_segment(int fi, const PendingSegment& p);
    std::string node_of(const Flow& f, int d) const { return d == 0 ? f.ini_node : f.res_node; }
    static TimeNs time_of(const Dir& dir, std::size_t consumed);
    static void consume(Dir& dir, std::size_t n);
    static bool complete_item_buffered(Dir& dir, int d);
    static trace::Event connect_failed(const Flow& f, const std::string& who, TimeNs t, trace::SocketError error);

    std::string path_;
    const ImportOptions& opt_;
    ImportStats& st_;
    Recorder rec_;
    bool nodes_added_ = false;
    int clients_ = 0;
    std::map<std::pair<HostPort, HostPort>, int> index_;
    std::vector<std::unique_ptr<Flow>> flows_;
    std::vector<Expectation> expect_;
    std::vector<trace::Transfer> transfers_;
};

int Importer::flow_for(const Segment& s, bool& fresh) {
    auto key = s.src < s.dst ? std::make_pair(s.src, s.dst) : std::make_pair(s.dst, s.src);
    auto it = index_.find(key);
    if (it != index_.end()) {
        Flow& f = *flows_[static_cast<std::size_t>(it->second)];
        // A new SYN on a finished connection with the same ports: a new connection.
        const bool syn_only = (s.flags & kSyn) && !(s.flags & kAck);
        const bool finished = (f.dir[0].fin && f.dir[1].fin) || f.dir[0].closed || f.dir[1].closed;
        if (!(syn_only && finished)) {
            fresh = false;
            return it->second;
        }
    }
    auto f = std::make_unique<Flow>();
    // The SYN's sender is the initiator; without a SYN in the capture, the side on a control
    // port is the responder, else the sender of the first segment seen is taken as initiator.
    if (((s.flags & kSyn) && (s.flags & kAck)) || (!(s.flags & kSyn) && is_control_port(s.src.port) &&
                                                   !is_control_port(s.dst.port))) {
        f->ini = s.dst;
        f->res = s.src;
    } else {
        f->ini = s.src;
        f->res = s.dst;
    }
    f->t_first = s.t;
    flows_.push_back(std::move(f));
    const int fi = static_cast<int>(flows_.size()) - 1;
    index_[key] = fi;
    fresh = true;
    return fi;
}

// A new flow: a data connection announced on a control connection, or (decided later, at its
// first bytes) a control connection.
void Importer::classify_new(int fi) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    for (auto it = expect_.rbegin(); it != expect_.rend(); ++it) {
        const Flow& c = *flows_[static_cast<std::size_t>(it->ctrl)];
        bool match = false;
        switch (it->kind) {
        case ExpectKind::Active:
            match = f.res.port == it->port && ((it->addr && f.res.addr == *it->addr) || f.res.addr == c.ini.addr);
            break;
        case ExpectKind::Passive:
            match = f.res.port == it->port && ((it->addr && f.res.addr == *it->addr) || f.res.addr == c.res.addr);
            break;
        case ExpectKind::Default:
            match = f.res == c.ini && f.ini.addr == c.res.addr;
            break;
        }
        if (!match) continue;
        f.kind = Kind::Data;
        f.ctrl = it->ctrl;
        f.how = it->how;
        const bool server_connects = it->kind != ExpectKind::Passive;
        f.ini_node = server_connects ? "server" : c.ini_node;
        f.res_node = server_connects ? c.ini_node : "server";
        ++st_.data_connections;
        return;
    }
}

void Importer::open(int fi) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    if (f.conn >= 0) return;
    if (f.kind == Kind::Control) {
        // One client lane per control connection, named in the order they open, as `ftpsim serve`
        // names its sessions: client, client-2, client-3 ... (docs/live.md, "Import").
        ++clients_;
        f.ini_node = clients_ == 1 ? std::string("client") : "client-" + std::to_string(clients_);
        f.res_node = "server";
        rec_.add_node(f.ini_node, "client", f.ini.addr.to_string());
        if (!nodes_added_) {
            rec_.add_node("server", "server", f.res.addr.to_string());
            nodes_added_ = true;
        }
    }
    rec_.add_address(f.ini_node, f.ini.addr.to_string());
    rec_.add_address(f.res_node, f.res.addr.to_string());
    const TimeNs t = f.established ? f.t_est : f.t_first;
    const int ctrl_conn = f.ctrl >= 0 ? flows_[static_cast<std::size_t>(f.ctrl)]->conn : -1;
    f.conn = rec_.open_connection(t, f.kind == Kind::Control ? "control" : "data", f.ini_node, f.res_node,
                                  endpoint(f.ini), endpoint(f.res), ctrl_conn);
    if (f.kind == Kind::Control) {
        ++st_.control_connections;
        // RFC 959's default data connection: the server connects to the client's control port.
        expect_.push_back({fi, ExpectKind::Default, f.ini.addr, f.ini.port, "default data port"});
    } else if (f.kind == Kind::Data) {
        Flow& c = *flows_[static_cast<std::size_t>(f.ctrl)];
        if (c.transfer >= 0) f.data_transfer = c.transfer;
        if (!f.how.empty())
            rec_.note(t, f.ini_node, "data connection matched to control connection " + std::to_string(c.conn) +
                                         " by its " + f.how);
    }
    for (const auto& p : f.pending) record_segment(fi, p);
    f.pending.clear();
}

void Importer::record_segment(int fi, const PendingSegment& p) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    const HostPort& src = p.dir == 0 ? f.ini : f.res;
    const HostPort& dst = p.dir == 0 ? f.res : f.ini;
    rec_.segment(p.t, f.conn, node_of(f, p.dir), endpoint(src), endpoint(dst), p.flags, p.seq, p.ack, p.len,
                 f.kind == Kind::Control ? p.payload : std::string());
}

TimeNs Importer::time_of(const Dir& dir, std::size_t consumed) {
    for (const auto& m : dir.marks)
        if (m.first >= consumed) return m.second;
    return dir.marks.empty() ? 0 : dir.marks.back().second;
}

// A connection attempt the capture shows failing, as the simulator records one (Fact
// ConnectFailed): refused (the SYN answered by RST), or timed out (SYNs never answered in the
// capture; attempt = the SYNs seen, timeout_ns = the time from the first to the last).
trace::Event Importer::connect_failed(const Flow& f, const std::string& who, TimeNs t, trace::SocketError error) {
    trace::Event e;
    e.time_ns = t;
    e.kind = trace::EventKind::Socket;
    e.from = who;
    e.fact = trace::Fact::ConnectFailed;
    e.error = error;
    e.src = {f.ini.addr.to_string(), f.ini.port};
    e.dst = {f.res.addr.to_string(), f.res.port};
    if (error == trace::SocketError::TimedOut) {
        e.attempt = f.syns;
        e.timeout_ns = f.t_last_syn - f.t_first;
    }
    return e;
}

void Importer::consume(Dir& dir, std::size_t n) {
    dir.buf.erase(0, n);
    dir.scanned = 0;
    std::vector<std::pair<std::size_t, TimeNs>> kept;
    for (const auto& m : dir.marks)
        if (m.first > n) kept.emplace_back(m.first - n, m.second);
    dir.marks = std::move(kept);
}

void Importer::segment(const Segment& s) {
    ++st_.tcp_segments;
    bool fresh = false;
    const int fi = flow_for(s, fresh);
    Flow* f = flows_[static_cast<std::size_t>(fi)].get();
    const int d = s.src == f->ini ? 0 : 1;
    f->t_last = s.t;

    if ((s.flags & kSyn) && !(s.flags & kAck) && d == 0) {
        f->syn_seen = true;
        ++f->syns;
        f->t_last_syn = s.t;
    }
    if ((s.flags & kSyn) && (s.flags & kAck) && d == 1) f->synack_seen = true;
    if (!f->established && !(s.flags & kSyn) && (s.flags & kAck) && d == 0 && f->synack_seen) {
        f->established = true;
        f->t_est = s.t;
    }
    if (!f->established && !f->syn_seen && !(s.flags & kSyn) && !(s.flags & kRst)) {
        // Captured mid-connection: it is established from its first segment on.
        f->established = true;
        f->t_est = s.t;
    }
    if (fresh) classify_new(fi);

    if (opt_.segments && f->kind != Kind::Other) {
        PendingSegment p{s.t, d, flags_text(s.flags), s.seq, s.ack, s.wire_len,
                         std::string(s.payload)};
        if (f->conn >= 0) record_segment(fi, p);
        else f->pending.push_back(std::move(p));
    }

    // A RST answering the SYN: refused.
    if ((s.flags & kRst) && d == 1 && !f->established && f->syn_seen) {
        f->refused = true;
        if (f->kind == Kind::Data || is_control_port(f->res.port)) {
            const std::string who = f->kind == Kind::Data ? f->ini_node : "client";
            if (nodes_added_) rec_.event(connect_failed(*f, who, s.t, trace::SocketError::Refused));
        }
        return;
    }
    if (f->kind == Kind::Data && f->conn < 0 && f->established) open(fi);

    Dir& dir = f->dir[d];
    if (s.flags & kSyn) {
        if (!dir.init) {
            dir.init = true;
            dir.next32 = s.seq + 1;
            dir.next = 0;
        }
    }
    const std::uint32_t len = s.wire_len;
    if (len > 0) {
        if (!dir.init) {
            dir.init = true;
            dir.next32 = s.seq;
            dir.next = 0;
        }
        const auto rel = static_cast<std::int32_t>(s.seq - dir.next32);
        const std::int64_t start = static_cast<std::int64_t>(dir.next) + rel;
        const std::int64_t end = start + len;
        if (end > static_cast<std::int64_t>(dir.next)) {
            // Captured bytes, then (when the snapshot length cut the packet) a gap to the wire length.
            std::string bytes(s.payload);
            const std::uint64_t cut = len - s.payload.size();
            std::uint64_t off = start < 0 ? 0 : static_cast<std::uint64_t>(start);
            if (start < static_cast<std::int64_t>(dir.next)) {
                const auto skip = static_cast<std::size_t>(static_cast<std::int64_t>(dir.next) - start);
                bytes.erase(0, std::min(skip, bytes.size()));
                off = dir.next;
            }
            if (off == dir.next) {
                deliver(fi, d, s.t, bytes);
                f = flows_[static_cast<std::size_t>(fi)].get();
                if (cut) gap(fi, d, s.t, cut);
                drain(fi, d, s.t);
            } else {
                auto& slot = dir.held[off];
                if (bytes.size() > slot.len) {
                    const bool count_only = f->kind == Kind::Data && !f->spdt;
                    slot = {count_only ? std::string() : bytes, bytes.size(), s.t};
                }
                if (cut) st_.warnings.push_back("a held out-of-order segment was cut by the snapshot length");
            }
        }
    }
    if (s.flags & kFin) {
        // Segments held behind a hole stay held: a retransmission may still fill it after the FIN
        // (the capture shows what the capture point saw, in its order). finish() reports what
        // never came.
        if (!dir.fin) {
            dir.fin = true;
            close_dir(fi, d, s.t, false);
        }
    }
    if ((s.flags & kRst) && !dir.closed) {
        close_dir(fi, d, s.t, true);
    }
}

void Importer::drain(int fi, int d, TimeNs t) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    Dir& dir = f.dir[d];
    while (!dir.held.empty()) {
        auto h = dir.held.begin();
        if (h->first > dir.next) break;
        std::string bytes = std::move(h->second.bytes);
        const std::uint64_t len = h->second.len;
        const std::uint64_t off = h->first;
        dir.held.erase(h);
        if (off + len <= dir.next) continue;
        const std::uint64_t skip = dir.next - off;
        if (bytes.size() == len) {
            bytes.erase(0, static_cast<std::size_t>(skip));
            deliver(fi, d, t, bytes);
        } else {
            deliver_count(fi, d, t, len - skip);
        }
    }
}

void Importer::gap(int fi, int d, TimeNs t, std::uint64_t n) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    Dir& dir = f.dir[d];
    dir.next += n;
    dir.next32 += static_cast<std::uint32_t>(n);
    st_.missing_bytes += n;
    const HostPort& src = d == 0 ? f.ini : f.res;
    const HostPort& dst = d == 0 ? f.res : f.ini;
    trace::Event gap_event;
    gap_event.time_ns = t;
    gap_event.kind = trace::EventKind::Note;
    gap_event.from = node_of(f, d);
    gap_event.conn = f.conn;
    gap_event.fact = trace::Fact::CaptureGap;
    gap_event.src = {src.addr.to_string(), src.port};
    gap_event.dst = {dst.addr.to_string(), dst.port};
    gap_event.payload_len = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX));
    const std::string what = trace::sentence(gap_event);
    if (f.conn >= 0) rec_.event(std::move(gap_event));
    st_.warnings.push_back(what);
    if (f.kind == Kind::Control || f.kind == Kind::Unknown) {
        // A line cut by the gap cannot be read: drop the partial line.
        const auto lf = dir.buf.rfind('\n');
        if (lf == std::string::npos) consume(dir, dir.buf.size());
        else dir.buf.resize(lf + 1);
    }
}

void Importer::deliver(int fi, int d, TimeNs t, std::string_view bytes) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    Dir& dir = f.dir[d];
    dir.next += bytes.size();
    dir.next32 += static_cast<std::uint32_t>(bytes.size());
    dir.delivered += bytes.size();
    if (bytes.empty()) return;
    if (f.kind == Kind::Other) return;
    if (f.kind == Kind::Data && !f.spdt) {
        data_bytes(fi, d, t, bytes.size());
        return;
    }
    dir.buf.append(bytes);
    dir.marks.emplace_back(dir.buf.size(), t);
    interpret(fi, d);
}

// Held data-connection bytes that were only counted (see Dir::Held).
void Importer::deliver_count(int fi, int d, TimeNs t, std::uint64_t n) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    Dir& dir = f.dir[d];
    dir.next += n;
    dir.next32 += static_cast<std::uint32_t>(n);
    dir.delivered += n;
    if (n > 0 && f.kind == Kind::Data) data_bytes(fi, d, t, n);
}

void Importer::interpret(int fi, int d) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    if (f.kind == Kind::Unknown) decide_unknown(fi, false);
    if (f.kind == Kind::Unknown) return;
    if (f.kind == Kind::Other) {
        for (auto& x : f.dir) {
            x.buf.clear();
            x.marks.clear();
        }
        return;
    }
    if (f.conn < 0) open(fi);
    control_bytes(fi, 1 - d);  // bytes held while the flow was unclassified, in both directions
    control_bytes(fi, d);
    control_bytes(fi, 1 - d);  // SPDT: the client's data waits for the server's "200 DATA"
}

// An unclassified flow: a control connection if it is on a control port or its server greets
// with "220"; to the server of a control connection with SPSV identifiers pending, the client's
// first line decides (SPDT with one of them makes it that control connection's data connection).
void Importer::decide_unknown(int fi, bool at_end) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    bool spsv_target = false;
    for (const auto& c : flows_)
        if (c->kind == Kind::Control && !c->spsv_ids.empty() && c->res == f.res) spsv_target = true;
    const std::string& cbuf = f.dir[0].buf;
    if (spsv_target) {
        const auto lf = cbuf.find('\n');
        if (lf == std::string::npos && !at_end) return;
        proto::CommandView cv;
        auto r = proto::parse_command(cbuf, cv);
        if (r.status == proto::ParseStatus::Ok && proto::iequals(cv.verb, "SPDT")) {
            for (std::size_t ci = 0; ci < flows_.size(); ++ci) {
                Flow& c = *flows_[ci];
                if (c.kind != Kind::Control || c.res != f.res || !c.spsv_ids.count(std::string(cv.arg))) continue;
                c.spsv_ids.erase(std::string(cv.arg));
                f.kind = Kind::Data;
                f.spdt = true;
                f.ctrl = static_cast<int>(ci);
                f.how = "SPDT identifier " + std::string(cv.arg);
                f.ini_node = c.ini_node;
                f.res_node = "server";
                ++st_.data_connections;
                return;
            }
        }
    }
    if (is_control_port(f.res.port)) {
        f.kind = Kind::Control;
        return;
    }
    const std::string& sbuf = f.dir[1].buf;
    if (sbuf.size() >= 3 || at_end || !cbuf.empty()) {
        f.kind = sbuf.compare(0, 3, "220") == 0 ? Kind::Control : Kind::Other;
        if (f.kind == Kind::Other) ++st_.other_connections;
    }
}

void Importer::control_bytes(int fi, int d) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    Dir& dir = f.dir[d];
    if (f.conn < 0) return;
    while (!dir.buf.empty()) {
        if (f.tls) {
            consume(dir, dir.buf.size());
            return;
        }
        if (f.spdt && f.spdt_ok) {
            // The single-port data connection after its "200 DATA": the rest is data.
            const TimeNs t = time_of(dir, dir.buf.size());
            const std::size_t n = dir.buf.size();
            consume(dir, n);
            data_bytes(fi, d, t, n);
            return;
        }
        if (f.spdt && d == 0 && f.dir[0].delivered > 0 && !f.last_verb.empty()) {
            // After the SPDT line the client's bytes are data (a STOR): wait for the 200 first.
            return;
        }
        if (!complete_item_buffered(dir, d)) return;
        if (d == 0) {
            const auto lf = dir.buf.find('\n');
            if (lf == std::string::npos) return;
            const TimeNs t = time_of(dir, lf + 1);
            std::string line = dir.buf.substr(0, lf);
            while (!line.empty() && line.back() == '\r') line.pop_back();
            consume(dir, lf + 1);
            on_command(fi, t, line);
        } else {
            proto::ReplyView rv;
            auto r = proto::parse_reply(dir.buf, rv, std::numeric_limits<std::size_t>::max());
            if (r.status == proto::ParseStatus::NeedMore) return;
            std::string raw = dir.buf.substr(0, r.consumed);
            if (r.status == proto::ParseStatus::Error && r.consumed == 0) {
                const auto lf = dir.buf.find('\n');
                if (lf == std::string::npos) return;
                raw = dir.buf.substr(0, lf + 1);
            }
            const TimeNs t = time_of(dir, raw.size());
            consume(dir, raw.size());
            std::string text;
            for (char c : raw)
                if (c != '\r') text += c;
            while (!text.empty() && text.back() == '\n') text.pop_back();
            on_reply(fi, t, r.status == proto::ParseStatus::Ok ? rv.code : 0, text);
        }
    }
}

// Whether buf holds a whole command line (d = 0) or a whole reply (d = 1, a multi-line one up to
// its "<code> " line), searching only the bytes after `scanned`.
bool Importer::complete_item_buffered(Dir& dir, int d) {
    const std::string& b = dir.buf;
    const bool multiline = d == 1 && b.size() >= 4 && b[3] == '-' && std::isdigit(static_cast<unsigned char>(b[0])) &&
                           std::isdigit(static_cast<unsigned char>(b[1])) && std::isdigit(static_cast<unsigned char>(b[2]));
    if (!multiline) {
        const auto lf = b.find('\n', dir.scanned);
        if (lf != std::string::npos) return true;
        dir.scanned = b.size();
        return false;
    }
    // The first line's end, then a line starting with the same code and SP, then its LF.
    const std::string end_mark = "\n" + b.substr(0, 3) + " ";
    std::size_t from = dir.scanned;
    const auto pos = b.find(end_mark, from);
    if (pos != std::string::npos && b.find('\n', pos + 1) != std::string::npos) return true;
    dir.scanned = pos != std::string::npos ? pos : (b.size() >= end_mark.size() ? b.size() - end_mark.size() + 1 : 0);
    return false;
}

void Importer::on_command(int fi, TimeNs t, std::string_view line) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    if (line.empty()) return;
    rec_.command(t, f.conn, line);
    proto::CommandView cv;
    std::string with_end = std::string(line) + "\r\n";
    if (proto::parse_command(with_end, cv).status != proto::ParseStatus::Ok) return;
    std::string verb(cv.verb);
    for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    f.last_verb = verb;
    if (f.kind != Kind::Control) return;
    if (verb == "PORT") {
        if (auto hp = proto::parse_port_arg(cv.arg))
            expect_.push_back({fi, ExpectKind::Active, hp->addr, hp->port, "PORT " + std::string(cv.arg)});
    } else if (verb == "EPRT") {
        if (auto hp = proto::parse_eprt_arg(cv.arg))
            expect_.push_back({fi, ExpectKind::Active, hp->addr, hp->port, "EPRT " + std::string(cv.arg)});
    } else if (proto::verb_info(verb).needs_data_connection()) {  // RETR STOR LIST ... (the verb table)
        trace::Transfer tr;
        tr.client = f.ini_node;
        tr.command = verb;
        tr.path = std::string(cv.arg);
        transfers_.push_back(tr);
        f.transfer = static_cast<int>(transfers_.size()) - 1;
        // Data connections of this control connection opened before the command belong to it.
        for (auto& df : flows_)
            if (df->kind == Kind::Data && df->ctrl == fi && df->data_transfer < 0 && !(df->dir[0].fin && df->dir[1].fin)) {
                df->data_transfer = f.transfer;
                transfers_[static_cast<std::size_t>(f.transfer)].bytes += df->unassigned;
                df->unassigned = 0;
            }
    }
}

void Importer::on_reply(int fi, TimeNs t, int code, const std::string& text) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    rec_.reply(t, f.conn, text);
    if (f.spdt) {
        if (code == 200) f.spdt_ok = true;
        return;
    }
    if (code == 234 && f.last_verb == "AUTH") {
        f.tls = true;
        rec_.note(t, f.ini_node, "the control connection is protected by TLS from here on: its lines cannot be read from a capture");
        return;
    }
    if (code >= 200 && f.transfer >= 0) {
        auto& tr = transfers_[static_cast<std::size_t>(f.transfer)];
        tr.reply = code;
        tr.ok = code / 100 == 2;
        f.transfer = -1;
    }
    const std::string_view body = std::string_view(text).substr(std::min<std::size_t>(4, text.size()));
    if (code == 227) {
        if (f.last_verb == "SPSV") {
            if (auto id = proto::parse_spsv_227_text(body)) f.spsv_ids.insert(std::string(*id));
        } else if (auto hp = proto::parse_227_text(body)) {
            expect_.push_back({fi, ExpectKind::Passive, hp->addr, hp->port, "227 reply"});
        }
    } else if (code == 229) {
        if (auto port = proto::parse_229_text(body))
            expect_.push_back({fi, ExpectKind::Passive, std::nullopt, *port, "229 reply"});
    }
}

void Importer::data_bytes(int fi, int d, TimeNs t, std::uint64_t n) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    if (f.conn < 0) open(fi);
    rec_.data(t, f.conn, node_of(f, d), n);
    if (f.data_transfer >= 0) transfers_[static_cast<std::size_t>(f.data_transfer)].bytes += n;
    else f.unassigned += n;
}

void Importer::close_dir(int fi, int d, TimeNs t, bool reset) {
    Flow& f = *flows_[static_cast<std::size_t>(fi)];
    Dir& dir = f.dir[d];
    if (dir.closed) return;
    if (!reset) dir.fin = true;
    if (reset) dir.closed = true;
    if (f.kind == Kind::Unknown) decide_unknown(fi, true);
    if (f.kind == Kind::Control || f.kind == Kind::Data) {
        if (f.conn < 0) {
            if (!f.established) return;
            open(fi);
            interpret(fi, d);
        }
        rec_.close(t, f.conn, node_of(f, d), reset);
    }
}

trace::Trace Importer::finish() {
    // Bytes held behind a hole that never filled; flows never classified.
    for (std::size_t fi = 0; fi < flows_.size(); ++fi) {
        Flow& f = *flows_[fi];
        for (int d = 0; d < 2; ++d) {
            Dir& dir = f.dir[d];
            while (!dir.held.empty()) {
                auto h = dir.held.begin();
                if (h->first > dir.next) gap(static_cast<int>(fi), d, h->second.t, h->first - dir.next);
                drain(static_cast<int>(fi), d, h->second.t);
            }
        }
        if (f.kind == Kind::Unknown && (!f.dir[0].buf.empty() || !f.dir[1].buf.empty())) {
            decide_unknown(static_cast<int>(fi), true);
            if (f.kind != Kind::Unknown && f.kind != Kind::Other) interpret(static_cast<int>(fi), f.dir[1].buf.empty() ? 0 : 1);
        }
        if (f.kind == Kind::Data && f.conn < 0 && !f.refused && f.syn_seen && nodes_added_)
            rec_.event(connect_failed(f, f.ini_node, f.t_last_syn, trace::SocketError::TimedOut));
        if (f.kind == Kind::Unknown) ++st_.other_connections;
    }
    if (!nodes_added_)
        throw ImportError(path_ + ": no FTP control connection found (" + std::to_string(flows_.size()) +
                          " TCP connection" + (flows_.size() == 1 ? "" : "s") +
                          ", none to a control port or greeting with 220); if the server listens on another "
                          "port, name it with --control-port PORT");
    for (const auto& tr : transfers_) rec_.add_transfer(tr);
    rec_.add_model_note("Imported from a capture: events are what the capture point saw, timed by its clock; "
                        "one lane per end (client, server), middleboxes between them are not visible");
    if (st_.missing_bytes)
        rec_.add_model_note(std::to_string(st_.missing_bytes) + " bytes were missing from the capture (sequence gaps); "
                            "data counts include only captured bytes");
    trace::Trace t = rec_.finish();
    // The recording's origin: the first event is at 0.
    if (!t.events.empty()) {
        const TimeNs origin = t.events.front().time_ns;
        for (auto& e : t.events) {
            e.time_ns -= origin;
            e.arrive_ns -= origin;
        }
    }
    return t;
}

struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};

}  // namespace

trace::Trace import_pcap(const std::string& path, const ImportOptions& opt, ImportStats* stats) {
    ImportStats local;
    ImportStats& st = stats ? *stats : local;
    char err[PCAP_ERRBUF_SIZE] = {0};
    std::unique_ptr<pcap_t, PcapCloser> pc(
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err));
    if (!pc)
        throw ImportError(path + ": not a readable capture (libpcap: " + std::string(err) +
                          "); expected a pcap or pcapng file as tcpdump -w or Wireshark write it, or an ftpsim "
                          "trace JSON");
    const int dlt = pcap_datalink(pc.get());
    if (!supported_link(dlt)) {
        const char* name = pcap_datalink_val_to_name(dlt);
        throw ImportError(path + ": unsupported link type " + std::to_string(dlt) + " (" + (name ? name : "unknown") +
                          "); expected Ethernet, Linux cooked (SLL, SLL2), raw IP or BSD loopback");
    }
    Importer imp(path, opt, st);
    pcap_pkthdr* h = nullptr;
    const unsigned char* data = nullptr;
    int rc = 0;
    while ((rc = pcap_next_ex(pc.get(), &h, &data)) == 1) {
        ++st.packets;
        const int off = ip_offset(dlt, data, h->caplen);
        Segment s;
        if (off < 0 || !decode_ip_tcp(data + off, h->caplen - static_cast<std::size_t>(off), s)) {
            ++st.skipped;
            continue;
        }
        // Seconds since 1970 that fit in nanoseconds (int64: until 2262); beyond is a damaged file.
        if (h->ts.tv_sec < 0 || h->ts.tv_sec > 9'000'000'000LL)
            throw ImportError(path + ": packet " + std::to_string(st.packets) + " has the timestamp " +
                              std::to_string(static_cast<long long>(h->ts.tv_sec)) +
                              " s, out of range (expected 0 to 9000000000 s since 1970); the capture is damaged");
        s.t = static_cast<TimeNs>(h->ts.tv_sec) * trace::kNsPerSec + static_cast<TimeNs>(h->ts.tv_usec);
        imp.segment(s);
    }
    if (rc == PCAP_ERROR)
        throw ImportError(path + ": the capture is damaged after " + std::to_string(st.packets) +
                          " packets (libpcap: " + pcap_geterr(pc.get()) + "); expected a complete pcap file");
    if (st.packets == 0) throw ImportError(path + ": the capture holds no packets; expected a capture of an FTP session");
    if (st.tcp_segments == 0)
        throw ImportError(path + ": no TCP segment among the " + std::to_string(st.packets) +
                          " packets; expected a capture of an FTP session (IPv4 or IPv6 TCP)");
    trace::Trace t = imp.finish();
    // As for a trace JSON (import_file): a span that cannot be drawn to scale is refused.
    for (const auto& e : t.events)
        if (std::llabs(e.time_ns) > kMaxTraceTimeNs || std::llabs(e.arrive_ns) > kMaxTraceTimeNs)
            throw ImportError(path + ": the packets' timestamps span more than " + std::to_string(kMaxTraceTimeNs) +
                              " ns (about 3 years); the capture is damaged");
    return t;
}

trace::Trace import_file(const std::string& path, const ImportOptions& opt, ImportStats* stats) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ImportError(path + ": cannot open the file: " + std::strerror(errno));
    char c = 0;
    while (in.get(c) && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
    }
    if (in && c == '{') {
        in.seekg(0);
        std::ostringstream ss;
        ss << in.rdbuf();
        trace::Trace t;
        try {
            t = trace::from_json(ss.str());
        } catch (const trace::JsonError& e) {
            throw ImportError(path + ": not a valid ftpsim trace JSON: " + e.what());
        }
        // Times a recording or a run can produce: a trace spanning more than kMaxTraceTimeNs
        // cannot be drawn to scale (its time axis alone would not fit in memory).
        for (std::size_t i = 0; i < t.events.size(); ++i) {
            const auto& e = t.events[i];
            for (const trace::TimeNs v : {e.time_ns, e.arrive_ns})
                if (v < 0 || v > kMaxTraceTimeNs)
                    throw ImportError(path + ": not a valid ftpsim trace JSON: events[" + std::to_string(i) +
                                      "]: time " + std::to_string(v) + " ns is out of range (expected 0 to " +
                                      std::to_string(kMaxTraceTimeNs) + " ns, about 3 years)");
        }
        return t;
    }
    in.close();
    return import_pcap(path, opt, stats);
}

}  // namespace ftpsim::live
