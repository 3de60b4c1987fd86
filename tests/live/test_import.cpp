// ftpsim import: real captures (curl 7.88 / vsftpd 3.0.3 through a Linux NAT, tests/data/captures,
// see its README) and the same captures rewritten with libpcap
// (reordered, retransmitted, cut, other link types, IPv6) to exercise the reassembly and decoding.
#include <doctest/doctest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "live/pcap_import.hpp"
#include "tests/support/captures.hpp"
#include "trace/json.hpp"
#include "viz/diagram.hpp"

using namespace ftpsim;
using trace::EventKind;

namespace {

std::string capture(const std::string& stem) {
    return std::string(FTPSIM_SOURCE_DIR) + "/tests/data/captures/curl-vsftpd-" + stem + ".pcap";
}

// A scratch folder per process (test cases run as parallel processes, and other build trees run
// them too), removed when the process ends.
struct ScratchDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("ftpsim-test-import-" + std::to_string(getpid()));
    ScratchDir() { std::filesystem::create_directories(path); }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

std::string tmp_path(const std::string& name) {
    static ScratchDir dir;
    return (dir.path / name).string();
}

// "C: USER anonymous" / "S: 230 Login successful." in trace order.
std::vector<std::string> dialogue(const trace::Trace& t) {
    std::vector<std::string> out;
    for (const auto& e : t.events) {
        if (e.kind == EventKind::FtpCommand) out.push_back("C: " + e.text);
        if (e.kind == EventKind::FtpReply) out.push_back("S: " + e.text);
    }
    return out;
}

std::vector<const trace::Event*> of_kind(const trace::Trace& t, EventKind k) {
    std::vector<const trace::Event*> out;
    for (const auto& e : t.events)
        if (e.kind == k) out.push_back(&e);
    return out;
}

const std::vector<std::string>& kRetrActive = testing::kCurlVsftpdActiveDownload;  // cnat-on-active

// The active download as seen on the client's link (cnat-on-active-cli), checked in full.
void check_cnat_on_active_cli(const trace::Trace& t, const std::string& client = "192.168.1.10",
                              const std::string& server = "203.0.113.10") {
    CHECK(dialogue(t) == kRetrActive);
    REQUIRE(t.nodes.size() == 2);
    CHECK(t.nodes[0].name == "client");
    CHECK(t.nodes[0].addresses == std::vector<std::string>{client});
    CHECK(t.nodes[1].name == "server");
    CHECK(t.nodes[1].addresses == std::vector<std::string>{server});
    REQUIRE(t.connections.size() == 2);
    const auto& c = t.connections[0];
    CHECK(c.purpose == "control");
    CHECK(c.initiator == "client");
    CHECK(c.initiator_local == trace::Endpoint{client, 36942});
    CHECK(c.initiator_remote == trace::Endpoint{server, 21});
    const auto& d = t.connections[1];
    CHECK(d.purpose == "data");
    CHECK(d.control_id == 0);
    CHECK(d.initiator == "server");  // active mode: the server connects, from port 20
    CHECK(d.initiator_local == trace::Endpoint{server, 20});
    CHECK(d.initiator_remote == trace::Endpoint{client, 60149});  // 234*256+245
    auto data = of_kind(t, EventKind::DataBytes);
    REQUIRE(data.size() == 1);
    CHECK(data[0]->conn == 1);
    CHECK(data[0]->from == "server");
    CHECK(data[0]->to == "client");
    CHECK(data[0]->payload_len == 65536);
    REQUIRE(t.outcome.transfers.size() == 1);
    CHECK(t.outcome.transfers[0].command == "RETR");
    CHECK(t.outcome.transfers[0].path == "file.bin");
    CHECK(t.outcome.transfers[0].reply == 226);
    CHECK(t.outcome.transfers[0].bytes == 65536);
    CHECK(t.outcome.ok);
    CHECK(t.events.front().time_ns == 0);
}

struct Frame {
    pcap_pkthdr h{};
    std::string bytes;
};

std::vector<Frame> read_frames(const std::string& path, int& dlt) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    REQUIRE_MESSAGE(p != nullptr, err);
    dlt = pcap_datalink(p);
    std::vector<Frame> out;
    pcap_pkthdr* h;
    const unsigned char* d;
    while (pcap_next_ex(p, &h, &d) == 1) out.push_back({*h, std::string(reinterpret_cast<const char*>(d), h->caplen)});
    pcap_close(p);
    return out;
}

void write_frames(const std::string& path, int dlt, const std::vector<Frame>& frames) {
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t* w = pcap_dump_open(dead, path.c_str());
    REQUIRE(w != nullptr);
    for (const auto& f : frames) {
        pcap_pkthdr h = f.h;
        h.caplen = static_cast<bpf_u_int32>(f.bytes.size());
        pcap_dump(reinterpret_cast<u_char*>(w), &h, reinterpret_cast<const u_char*>(f.bytes.data()));
    }
    pcap_dump_close(w);
    pcap_close(dead);
}

// Rewrites a capture: `edit` changes the Ethernet frames, `relink` each frame's link layer.
std::string rewrite(const std::string& stem, const std::string& out_name,
                    const std::function<void(std::vector<Frame>&)>& edit, int out_dlt = DLT_EN10MB,
                    const std::function<std::string(const std::string&)>& relink = {}) {
    int dlt = 0;
    auto frames = read_frames(capture(stem), dlt);
    REQUIRE(dlt == DLT_EN10MB);
    if (edit) edit(frames);
    if (relink)
        for (auto& f : frames) {
            const auto caplen_cut = f.h.len - f.h.caplen;
            f.bytes = relink(f.bytes);
            f.h.len = static_cast<bpf_u_int32>(f.bytes.size() + caplen_cut);
        }
    const std::string path = tmp_path(out_name);
    write_frames(path, out_dlt, frames);
    return path;
}

live::ImportError import_error(const std::string& path) {
    try {
        live::import_file(path, {});
    } catch (const live::ImportError& e) {
        return e;
    }
    FAIL("no ImportError for " << path);
    return live::ImportError("");
}

}  // namespace

TEST_CASE("import: active download through a NAT with the helper, client side (cnat-on-active-cli)") {
    live::ImportStats st;
    auto t = live::import_pcap(capture("cnat-on-active-cli"), {}, &st);
    check_cnat_on_active_cli(t);
    CHECK(st.packets == 41);
    CHECK(st.control_connections == 1);
    CHECK(st.data_connections == 1);
    CHECK(st.missing_bytes == 0);
    CHECK(t.scenario == "import:" + capture("cnat-on-active-cli"));
    // The connect of the control connection is the first event; it closes last.
    CHECK(t.events.front().kind == EventKind::Socket);
    CHECK(trace::text(t.events.front()) == "connect 192.168.1.10:36942 -> 203.0.113.10:21");
    CHECK(t.events.back().fact == trace::Fact::Closed);
    CHECK(trace::text(t.events.back()) == "closed 192.168.1.10:36942 -> 203.0.113.10:21");
    // Capture times (ns), relative to the first event, the handshake's last ACK at
    // 11:44:15.619990227; the 220 was captured at 11:44:15.621694512.
    auto replies = of_kind(t, EventKind::FtpReply);
    CHECK(replies[0]->time_ns == 1'704'285);
}

TEST_CASE("import: the same session on the server's link shows the helper's rewritten PORT (cnat-on-active-srv)") {
    auto t = live::import_pcap(capture("cnat-on-active-srv"), {});
    auto expected = kRetrActive;
    expected[5] = "C: PORT 203,0,113,1,234,245";
    CHECK(dialogue(t) == expected);
    REQUIRE(t.connections.size() == 2);
    CHECK(t.connections[0].initiator_local == trace::Endpoint{"203.0.113.1", 36942});
    CHECK(t.connections[1].initiator_local == trace::Endpoint{"203.0.113.10", 20});
    CHECK(t.connections[1].initiator_remote == trace::Endpoint{"203.0.113.1", 60149});
    auto data = of_kind(t, EventKind::DataBytes);
    REQUIRE(data.size() == 1);
    CHECK(data[0]->payload_len == 65536);
}

TEST_CASE("import: PORT refused without the helper: no data connection, no transfer (cnat-off-active-cli)") {
    auto t = live::import_pcap(capture("cnat-off-active-cli"), {});
    CHECK(dialogue(t) == testing::kCurlVsftpdPortRefused);
    CHECK(t.connections.size() == 1);
    CHECK(t.outcome.transfers.empty());
    CHECK_FALSE(t.outcome.ok);
}

TEST_CASE("import: EPSV on the server's link: the 229 port names the data connection (cnat-off-epsv-srv)") {
    auto t = live::import_pcap(capture("cnat-off-epsv-srv"), {});
    const auto dlg = dialogue(t);
    REQUIRE(dlg.size() == 16);
    CHECK(dlg[5] == "C: EPSV");
    CHECK(dlg[6] == "S: 229 Entering Extended Passive Mode (|||30007|)");
    CHECK(dlg[11] == "C: RETR file.bin");
    REQUIRE(t.connections.size() == 2);
    const auto& d = t.connections[1];
    CHECK(d.purpose == "data");
    CHECK(d.initiator == "client");
    CHECK(d.initiator_local == trace::Endpoint{"203.0.113.1", 39214});
    CHECK(d.initiator_remote == trace::Endpoint{"203.0.113.10", 30007});
    auto data = of_kind(t, EventKind::DataBytes);
    REQUIRE(data.size() == 1);
    CHECK(data[0]->from == "server");
    CHECK(data[0]->payload_len == 65536);
    CHECK(t.outcome.ok);
}

TEST_CASE("import: a 227 with the server's private address is matched by port on the control peer (snatfwd-off-pasv-cli)") {
    // curl ignores the announced 192.168.2.10 and connects to the control peer 203.0.113.1:30004;
    // the capture also starts after the control connection's handshake.
    auto t = live::import_pcap(capture("snatfwd-off-pasv-cli"), {});
    const auto dlg = dialogue(t);
    REQUIRE(dlg.size() == 16);
    CHECK(dlg[6] == "S: 227 Entering Passive Mode (192,168,2,10,117,52).");
    REQUIRE(t.connections.size() == 2);
    CHECK(t.connections[0].initiator_local == trace::Endpoint{"203.0.113.10", 46296});
    CHECK(t.connections[1].initiator == "client");
    CHECK(t.connections[1].initiator_local == trace::Endpoint{"203.0.113.10", 39648});
    CHECK(t.connections[1].initiator_remote == trace::Endpoint{"203.0.113.1", 30004});
    REQUIRE(t.outcome.transfers.size() == 1);
    CHECK(t.outcome.transfers[0].bytes == 65536);
}

TEST_CASE("import: PASV whose data connection never appears (snat21-off-pasv-srv)") {
    auto t = live::import_pcap(capture("snat21-off-pasv-srv"), {});
    CHECK(dialogue(t) == std::vector<std::string>{"S: 220 (vsFTPd 3.0.3)", "C: USER anonymous",
                                                  "S: 230 Login successful.", "C: PWD",
                                                  "S: 257 \"/\" is the current directory", "C: PASV",
                                                  "S: 227 Entering Passive Mode (192,168,2,10,117,55)."});
    CHECK(t.connections.size() == 1);
    CHECK(of_kind(t, EventKind::DataBytes).empty());
    // Both ends close the control connection (curl gave up).
    int closes = 0;
    for (const auto* e : of_kind(t, EventKind::Socket))
        if (e->fact == trace::Fact::Closed) ++closes;
    CHECK(closes == 2);
}

TEST_CASE("import: reordered and retransmitted segments give the same trace") {
    const std::string path = rewrite("cnat-on-active-cli", "reordered.pcap", [](std::vector<Frame>& f) {
        REQUIRE(f.size() == 41);
        // Frames 21, 23, 25, 27, 29 carry the data (7240, 7240, 14480, 21720, 14856 bytes).
        REQUIRE(f[25].h.len == 14480 + 66);
        std::swap(f[23], f[25]);         // the third segment before the second
        f.insert(f.begin() + 30, f[21]);  // the first one again (a retransmission)
        f.insert(f.begin() + 12, f[11]);  // a control segment twice (USER ... the PORT line)
    });
    live::ImportStats st;
    auto t = live::import_pcap(path, {}, &st);
    check_cnat_on_active_cli(t);
    CHECK(st.missing_bytes == 0);
    CHECK(st.packets == 43);
}

TEST_CASE("import: a segment missing from the capture is reported, not invented") {
    const std::string path = rewrite("cnat-on-active-cli", "lost.pcap", [](std::vector<Frame>& f) {
        f.erase(f.begin() + 25);  // 14480 bytes of data
    });
    live::ImportStats st;
    auto t = live::import_pcap(path, {}, &st);
    CHECK(dialogue(t) == kRetrActive);
    CHECK(st.missing_bytes == 14480);
    auto data = of_kind(t, EventKind::DataBytes);
    REQUIRE(data.size() == 1);
    CHECK(data[0]->payload_len == 65536 - 14480);
    CHECK(t.outcome.transfers[0].bytes == 65536 - 14480);
    bool noted = false;
    for (const auto* e : of_kind(t, EventKind::Note))
        if (trace::text(*e).find("14480 bytes from 203.0.113.10:20 to 192.168.1.10:60149 are missing") != std::string::npos)
            noted = true;
    CHECK(noted);
    REQUIRE(t.model_notes.size() == 2);
    CHECK(t.model_notes[1].find("14480 bytes were missing") != std::string::npos);
}

TEST_CASE("import: a packet cut by the snapshot length counts only its captured bytes") {
    const std::string path = rewrite("cnat-on-active-cli", "snaplen.pcap", [](std::vector<Frame>& f) {
        f[21].bytes.resize(66 + 100);  // Ethernet 14 + IPv4 20 + TCP 32, then 100 of 7240 bytes
    });
    live::ImportStats st;
    auto t = live::import_pcap(path, {}, &st);
    CHECK(st.missing_bytes == 7140);
    CHECK(of_kind(t, EventKind::DataBytes)[0]->payload_len == 65536 - 7140);
    CHECK(dialogue(t) == kRetrActive);
}

TEST_CASE("import: link types raw IP, Linux cooked SLL and SLL2, BSD loopback") {
    auto raw = rewrite("cnat-on-active-cli", "raw.pcap", {}, DLT_RAW, [](const std::string& b) { return b.substr(14); });
    check_cnat_on_active_cli(live::import_pcap(raw, {}));
    auto sll = rewrite("cnat-on-active-cli", "sll.pcap", {}, DLT_LINUX_SLL, [](const std::string& b) {
        std::string h(16, '\0');
        h[3] = 1;             // ARPHRD_ETHER
        h[5] = 6;             // address length
        h.replace(6, 6, b.substr(6, 6));
        h[14] = 0x08;         // IPv4
        return h + b.substr(14);
    });
    check_cnat_on_active_cli(live::import_pcap(sll, {}));
    auto sll2 = rewrite("cnat-on-active-cli", "sll2.pcap", {}, DLT_LINUX_SLL2, [](const std::string& b) {
        std::string h(20, '\0');
        h[0] = 0x08;          // IPv4
        h[9] = 1;             // ARPHRD_ETHER
        h[11] = 6;
        return h + b.substr(14);
    });
    check_cnat_on_active_cli(live::import_pcap(sll2, {}));
    auto null = rewrite("cnat-on-active-cli", "null.pcap", {}, DLT_NULL, [](const std::string& b) {
        return std::string("\x02\0\0\0", 4) + b.substr(14);  // AF_INET, little-endian
    });
    check_cnat_on_active_cli(live::import_pcap(null, {}));
}

TEST_CASE("import: IPv6 (the EPSV session with its addresses mapped into 2001:db8::/96)") {
    auto v6 = rewrite("cnat-off-epsv-srv", "v6.pcap", {}, DLT_EN10MB, [](const std::string& b) {
        const std::string ip4 = b.substr(14);
        const std::size_t ihl = static_cast<std::size_t>(ip4[0] & 0x0f) * 4;
        const std::size_t total = static_cast<unsigned char>(ip4[2]) << 8 | static_cast<unsigned char>(ip4[3]);
        const std::string tcp = ip4.substr(ihl);
        std::string h(40, '\0');
        h[0] = 0x60;
        const std::size_t plen = total - ihl;
        h[4] = static_cast<char>(plen >> 8);
        h[5] = static_cast<char>(plen & 0xff);
        h[6] = 6;
        h[7] = 64;
        const char prefix[12] = {0x20, 0x01, 0x0d, static_cast<char>(0xb8), 0, 0, 0, 0, 0, 0, 0, 0};
        h.replace(8, 12, prefix, 12);
        h.replace(20, 4, ip4.substr(12, 4));
        h.replace(24, 12, prefix, 12);
        h.replace(36, 4, ip4.substr(16, 4));
        std::string eth = b.substr(0, 12) + "\x86\xdd";
        return eth + h + tcp;
    });
    auto t = live::import_pcap(v6, {});
    REQUIRE(t.connections.size() == 2);
    CHECK(t.nodes[0].addresses == std::vector<std::string>{"2001:db8::cb00:7101"});
    CHECK(t.nodes[1].addresses == std::vector<std::string>{"2001:db8::cb00:710a"});
    CHECK(t.connections[1].initiator_remote == trace::Endpoint{"2001:db8::cb00:710a", 30007});
    CHECK(of_kind(t, EventKind::DataBytes)[0]->payload_len == 65536);
    CHECK(dialogue(t)[6] == "S: 229 Entering Extended Passive Mode (|||30007|)");
    CHECK(trace::text(t.events.front()) == "connect [2001:db8::cb00:7101]:36932 -> [2001:db8::cb00:710a]:21");
}

TEST_CASE("import: --segments adds one Segment event per captured TCP segment and draws them") {
    live::ImportOptions o;
    o.segments = true;
    auto t = live::import_pcap(capture("cnat-on-active-cli"), o);
    auto segs = of_kind(t, EventKind::Segment);
    CHECK(segs.size() == 41);
    CHECK(segs[0]->flags == "S");
    CHECK(segs[0]->from == "client");
    CHECK(segs[0]->to == "server");
    CHECK(segs[1]->flags == "SA");
    CHECK(segs[0]->tcp_seq + 1 == segs[1]->tcp_ack);
    // The commands and replies are still in the trace (the same events as without --segments).
    CHECK(dialogue(t) == kRetrActive);
    viz::LayoutOptions lo;
    lo.fold_handshakes = true;
    auto d = viz::layout(t, lo);
    std::vector<std::string> labels;
    for (const auto& it : d.items)
        if (it.kind == viz::ItemKind::Arrow) labels.push_back(it.label);
    CHECK(labels.front() == "TCP connect");
    CHECK(std::count(labels.begin(), labels.end(), "DATA 7240 B") == 2);
    CHECK(std::count(labels.begin(), labels.end(), "USER anonymous") == 1);
}

TEST_CASE("import: a control connection on another port is found by its 220 greeting or --control-port") {
    // Move the server's port 21 to 2121 in every frame (TCP checksums are not verified).
    auto moved = rewrite("cnat-off-active-cli", "port2121.pcap", [](std::vector<Frame>& frames) {
        for (auto& f : frames) {
            const std::size_t tcp = 14 + 20;
            for (std::size_t off : {tcp, tcp + 2}) {
                auto* p = reinterpret_cast<unsigned char*>(f.bytes.data() + off);
                if (p[0] == 0 && p[1] == 21) { p[0] = 2121 >> 8; p[1] = 2121 & 0xff; }
            }
        }
    });
    auto t = live::import_pcap(moved, {});
    CHECK(t.connections.size() == 1);
    CHECK(t.connections[0].initiator_remote.port == 2121);
    CHECK(dialogue(t).size() == 9);
    live::ImportOptions o;
    o.control_ports = {2121};
    CHECK(dialogue(live::import_pcap(moved, o)).size() == 9);
}

TEST_CASE("import: bad files are refused with the file name and what was expected") {
    const std::string text = tmp_path("notes.txt");
    std::ofstream(text) << "USER anonymous\r\nthis is not a capture\n";
    std::string msg = import_error(text).what();
    CHECK(msg.rfind(text + ": not a readable capture (libpcap: ", 0) == 0);
    CHECK(msg.find("expected a pcap or pcapng file") != std::string::npos);

    // A capture cut in the middle of a packet.
    std::ifstream in(capture("cnat-on-active-cli"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string cut = tmp_path("truncated.pcap");
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, 1000);
    msg = import_error(cut).what();
    CHECK(msg.rfind(cut + ": the capture is damaged after ", 0) == 0);
    CHECK(msg.find("expected a complete pcap file") != std::string::npos);

    // The captures are pcapng; the same frames as a classic pcap file, cut mid-packet.
    const std::string classic = rewrite("cnat-on-active-cli", "classic.pcap", {});
    std::ifstream cin(classic, std::ios::binary);
    std::string cbytes((std::istreambuf_iterator<char>(cin)), {});
    REQUIRE(cbytes.size() > 2000);
    const std::string ccut = tmp_path("classic-truncated.pcap");
    std::ofstream(ccut, std::ios::binary) << cbytes.substr(0, 2000);
    msg = import_error(ccut).what();
    CHECK(msg.rfind(ccut + ": the capture is damaged after ", 0) == 0);
    // The whole classic file imports like the pcapng one.
    check_cnat_on_active_cli(live::import_pcap(classic, {}));

    // Only the file header (a classic pcap with no packets).
    const std::string header_only = tmp_path("header-only.pcap");
    write_frames(header_only, DLT_EN10MB, {});
    CHECK(std::string(import_error(header_only).what()) ==
          header_only + ": the capture holds no packets; expected a capture of an FTP session");
    // The real empty capture (the client never saw anything: snat21-off-pasv-cli).
    CHECK(std::string(import_error(capture("snat21-off-pasv-cli")).what()) ==
          capture("snat21-off-pasv-cli") + ": the capture holds no packets; expected a capture of an FTP session");

    // TCP, but no FTP: only the data connection of a session.
    auto data_only = rewrite("cnat-on-active-cli", "data-only.pcap", [](std::vector<Frame>& f) {
        std::vector<Frame> keep;
        for (auto& x : f)
            if (x.bytes.find(std::string("\xea\xf5", 2)) != std::string::npos) keep.push_back(x);  // port 60149
        f = keep;
    });
    msg = import_error(data_only).what();
    CHECK(msg.rfind(data_only + ": no FTP control connection found (1 TCP connection, none to a control port or "
                                "greeting with 220)", 0) == 0);

    // A JSON file that is not a trace.
    const std::string bad_json = tmp_path("bad.json");
    std::ofstream(bad_json) << "{\"events\": 3}";
    msg = import_error(bad_json).what();
    CHECK(msg.rfind(bad_json + ": not a valid ftpsim trace JSON: ", 0) == 0);

    CHECK(std::string(import_error(tmp_path("does-not-exist.pcap")).what()) ==
          tmp_path("does-not-exist.pcap") + ": cannot open the file: No such file or directory");
}

TEST_CASE("import: a trace JSON is recognised by its content and loaded as it is") {
    auto t = live::import_pcap(capture("cnat-on-active-cli"), {});
    const std::string path = tmp_path("trace.data");  // the extension does not matter
    std::ofstream(path) << trace::to_json(t);
    auto back = live::import_file(path, {});
    CHECK(back == t);
}

TEST_CASE("import: the same capture gives a byte-identical trace") {
    auto a = trace::to_json(live::import_pcap(capture("cnat-off-epsv-srv"), {}));
    auto b = trace::to_json(live::import_pcap(capture("cnat-off-epsv-srv"), {}));
    CHECK(a == b);
}
