// The seeds' exchanges reproduced by running the simulator on the library's scenarios: the lines
// each connection carries, as the documents write them (draft-rosenau sections 4 and 5,
// RFC 438, RFC 478), and how the SPSV handshake shows in the ladder and in a pcap (tshark).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "sim/run/diagnose.hpp"
#include "sim/run/run.hpp"
#include "sim/scenario/loader.hpp"
#include "tools.hpp"
#include "viz/diagram.hpp"
#include "viz/export.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;

namespace {

trace::Trace run_library(const std::string& name, const std::vector<std::string>& sets = {}) {
    sim::RunOptions o;
    o.verify_fixes = false;
    const auto path = fs::path(FTPSIM_SOURCE_DIR) / "scenarios" / (name + ".yaml");
    return sim::run(scenario::load_file(path.string(), sets), o);
}

// "C: line" / "S: line" as the draft writes its exchanges, per connection id.
std::map<int, std::vector<std::string>> lines_by_connection(const trace::Trace& t) {
    std::map<int, std::vector<std::string>> out;
    for (const auto& l : sim::control_lines(t)) out[l.conn].push_back((l.from_client ? "C: " : "S: ") + l.text);
    return out;
}

const trace::Connection* connection(const trace::Trace& t, const std::string& purpose, int nth = 0) {
    for (const auto& c : t.connections)
        if (c.purpose == purpose && nth-- == 0) return &c;
    return nullptr;
}

// `want` appears in `have` in order (other lines may come between).
bool in_order(const std::vector<std::string>& have, const std::vector<std::string>& want) {
    auto it = have.begin();
    for (const auto& w : want) {
        it = std::find(it, have.end(), w);
        if (it == have.end()) return false;
        ++it;
    }
    return true;
}

}  // namespace

TEST_CASE("draft-rosenau section 4: the exchange on both connections, run by the simulator") {
    const auto t = run_library("draft-rosenau-section-4");
    REQUIRE(t.outcome.ok);
    const auto* control = connection(t, "control");
    const auto* data = connection(t, "data");
    REQUIRE(control);
    REQUIRE(data);
    CHECK(data->responder_local.port == 21);  // "---2-->" goes to the control port
    auto lines = lines_by_connection(t);
    // Connection 2, exactly as the draft writes it: then it is the data connection.
    CHECK(lines[data->id] == std::vector<std::string>{"S: 220 FTP server ready", "C: SPDT xYab1234", "S: 200 DATA"});
    // Connection 1: the draft's lines in its order (the classic client also sends SYST and TYPE I).
    CHECK(in_order(lines[control->id], {"S: 220 FTP server ready", "C: USER u001", "S: 331 Enter password",
                                        "C: PASS xyz", "S: 230 You are logged in", "C: SPSV",
                                        "S: 227 Entering single-port mode (xYab1234)", "C: RETR example.file",
                                        "S: 150 Transmitting data", "S: 226 Data transferred"}));
    // The file starts after "200 DATA": no segment mixes control text and file bytes, and the
    // file's 2000 bytes are all unrecorded file data.
    std::uint64_t file_bytes = 0;
    bool after_200 = false;
    std::set<std::uint64_t> seen;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment || e.conn != data->id || e.payload_len == 0) continue;
        if (!seen.insert(e.packet).second) continue;
        if (!e.payload.empty()) {
            CHECK(e.payload.size() == e.payload_len);
            CHECK_FALSE(after_200);  // no control text after the file began
            if (e.payload == "200 DATA\r\n") after_200 = true;
        } else {
            CHECK(after_200);
            file_bytes += e.payload_len;
        }
    }
    CHECK(file_bytes == 2000);
}

TEST_CASE("draft-rosenau section 5: only SPSV connections allowed, the SPDT and the USER branches") {
    const auto t = run_library("draft-rosenau-section-5");
    auto lines = lines_by_connection(t);
    const auto* data = connection(t, "data");
    REQUIRE(data);
    CHECK(lines[data->id] == std::vector<std::string>{"S: 220 Too many users; only SPSV connections allowed",
                                                     "C: SPDT xYz1234", "S: 200 DATA"});
    const trace::Connection* second = nullptr;
    for (const auto& c : t.connections)
        if (c.initiator == "second-user") second = &c;
    REQUIRE(second);
    CHECK(lines[second->id] == std::vector<std::string>{"S: 220 Too many users; only SPSV connections allowed",
                                                       "C: USER u001",
                                                       "S: 421 Too many users connected. Try later."});
    REQUIRE(t.outcome.transfers.size() == 1);
    CHECK(t.outcome.transfers[0].ok);
    CHECK(t.outcome.transfers[0].bytes == 2000);
}

TEST_CASE("SPSV: the ladder draws 220, SPDT and 200 DATA on the data connection as control lines") {
    const auto t = run_library("draft-rosenau-section-4");
    const auto* data = connection(t, "data");
    REQUIRE(data);
    for (auto view : {viz::View::PerHop, viz::View::EndToEnd}) {
        viz::LayoutOptions o;
        o.view = view;
        const auto d = viz::layout(t, o);
        std::vector<std::string> control, file;
        for (const auto& it : d.items) {
            if (it.kind != viz::ItemKind::Arrow || it.conn != data->id) continue;
            if (it.style == viz::Style::Control) control.push_back(it.label);
            if (it.style == viz::Style::Data) file.push_back(it.label);
        }
        CHECK(control == std::vector<std::string>{"220 FTP server ready", "SPDT xYab1234", "200 DATA"});
        CHECK(file == std::vector<std::string>{"DATA 1460 B", "DATA 540 B"});
    }
}

TEST_CASE("SPSV: tshark shows the SPDT request and the 200 DATA reply on the data stream of a pcap") {
    if (!testing::have_tool("tshark")) {
        FAIL("tshark is not installed: run tools/install-deps.sh --test");
        return;
    }
    const auto t = run_library("draft-rosenau-section-4");
    const auto* data = connection(t, "data");
    REQUIRE(data);
    testing::TempDir dir;
    for (auto at : {viz::CapturePoint::client_side(), viz::CapturePoint::server_side()}) {
        viz::PcapOptions po;
        po.at = at;
        const auto file = (dir / "spsv.pcap").string();
        testing::write_file(file, viz::to_pcap(t, po));
        const std::string stream = "tcp.port==" + std::to_string(data->initiator_local.port);
        const auto got = testing::tshark_ftp(file, "", stream);
        REQUIRE(got.size() >= 3);
        CHECK(got[0] == "192.168.20.10 192.168.20.20 220 FTP server ready");
        CHECK(got[1] == "192.168.20.20 192.168.20.10 SPDT xYab1234");
        CHECK(got[2] == "192.168.20.10 192.168.20.20 200 DATA");
        // and the first frame after it is file data, not an "SPDT"-less request made of file bytes
        CHECK(testing::tshark_count(file, stream + " && ftp.request.command == \"SPDT\"") == 1);
        CHECK(testing::tshark_count(file, stream + " && ftp.response.code == 200") == 1);
    }
}

namespace {

// The first segment of connection `conn` (its SYN): who sent it and from which port.
const trace::Event* first_segment(const trace::Trace& t, int conn) {
    for (const auto& e : t.events)
        if (e.kind == trace::EventKind::Segment && e.conn == conn) return &e;
    return nullptr;
}

// When the first line `text` went out (seconds), -1 if never.
double line_time(const trace::Trace& t, const std::string& text) {
    for (const auto& l : sim::control_lines(t))
        if (l.text == text) return static_cast<double>(l.time_ns) / 1e9;
    return -1;
}

// Each data connection's ends: true when both sent a FIN.
bool closed_by_both_ends(const trace::Trace& t, const trace::Connection& c) {
    bool from_initiator = false, from_responder = false;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment || e.conn != c.id || e.flags.find('F') == std::string::npos) continue;
        (e.from == c.initiator ? from_initiator : from_responder) = true;
    }
    return from_initiator && from_responder;
}

}  // namespace

TEST_CASE("RFC 438: LSTN R, SOCK SITE2,X, SOCK SITE1,Y, then RETR PROG1.PL1 and APPE PROG2.PL1") {
    const auto t = run_library("rfc438-server-to-server");
    REQUIRE(t.outcome.ok);
    auto lines = lines_by_connection(t);
    std::vector<std::string> site1, site2;
    for (const auto& c : t.connections) {
        if (c.purpose != "control") continue;
        (c.responder_local.addr == "203.0.113.10" ? site1 : site2) = lines[c.id];
    }
    // The RFC's table: to SITE2 "LSTN R" (X), to SITE1 "SOCK SITE2,X" (Y), to SITE2 "SOCK SITE1,Y",
    // then RETR PROG1.PL1 to SITE1 and APPE PROG2.PL1 to SITE2.
    std::string x, y;
    for (const auto& l : site2)
        if (l.rfind("S: 255 SOCK ", 0) == 0 && x.empty()) x = l.substr(12);
    for (const auto& l : site1)
        if (l.rfind("S: 255 SOCK ", 0) == 0) y = l.substr(12);
    REQUIRE_FALSE(x.empty());
    REQUIRE_FALSE(y.empty());
    CHECK(in_order(site2, {"C: LSTN R", "S: 255 SOCK " + x, "C: SOCK 203.0.113.10," + y, "C: APPE PROG2.PL1"}));
    CHECK(in_order(site1, {"C: SOCK 198.51.100.30," + x, "S: 255 SOCK " + y, "C: RETR PROG1.PL1"}));
    REQUIRE(t.outcome.transfers.size() == 2);
    CHECK(t.outcome.transfers[0].command == "APPE");
    CHECK(t.outcome.transfers[0].path == "PROG2.PL1");
    CHECK(t.outcome.transfers[1].command == "RETR");
    CHECK(t.outcome.transfers[1].path == "PROG1.PL1");
    for (const auto& c : t.connections)
        if (c.purpose == "data") CHECK(closed_by_both_ends(t, c));
}

TEST_CASE("RFC 478: both SOCKs first, PASV acknowledged plainly, STOR at B and RTRV at C") {
    const auto t = run_library("rfc478-server-to-server-pasv");
    REQUIRE(t.outcome.ok);
    auto lines = lines_by_connection(t);
    std::vector<std::string> b, c_lines;
    int c_conn = -1;
    for (const auto& c : t.connections) {
        if (c.purpose != "control") continue;
        if (c.responder_local.addr == "203.0.113.20") b = lines[c.id];
        else c_lines = lines[c.id], c_conn = c.id;
    }
    // The sockets are known "as specified by the protocol": each server's data socket is 20.
    CHECK(in_order(b, {"C: SOCK 198.51.100.40,20", "S: 255 SOCK 20", "C: PASV", "S: 200 Command okay.",
                       "C: STOR /report.txt"}));
    CHECK(in_order(c_lines, {"C: SOCK 203.0.113.20,20", "S: 255 SOCK 20", "C: RTRV /report.txt"}));
    for (const auto& l : b) CHECK(l.rfind("S: 227", 0) != 0);  // no 1985 "227 Entering Passive Mode"
    // Both SOCKs before the PASV.
    CHECK(line_time(t, "SOCK 203.0.113.20,20") < line_time(t, "PASV"));
    // C connects from its socket 20 to B's socket 20; both ends close it.
    const auto* data = connection(t, "data");
    REQUIRE(data);
    CHECK(data->initiator == "server-c");
    CHECK(data->initiator_local.port == 20);
    CHECK(data->responder_local.port == 20);
    CHECK(data->control_id == c_conn);  // the RTRV's server makes it
    CHECK(closed_by_both_ends(t, *data));
}

TEST_CASE("the lecture deck's active LIST: client ports 1216/1217 as its note says, the deck's replies") {
    const auto t = run_library("lecture-deck-active-list");
    REQUIRE(t.outcome.ok);
    const auto* control = connection(t, "control");
    const auto* data = connection(t, "data");
    REQUIRE(control);
    REQUIRE(data);
    CHECK(control->initiator_local.port == 1216);
    CHECK(data->initiator == "server");
    CHECK(data->initiator_local.port == 20);
    CHECK(data->responder_local.port == 1217);
    auto lines = lines_by_connection(t);
    CHECK(in_order(lines[control->id], {"S: 220 FTP server ready", "C: USER anonymous", "S: 331 password required",
                                        "C: PORT 192,168,150,10,4,193", "C: LIST",
                                        "S: 150 Opening ASCII mode data connection for file list",
                                        "S: 226 File transfer complete", "C: QUIT", "S: 221 Goodbye"}));
}

TEST_CASE("vsftpd on port 2121 connects from ftp_data_port 20, not from 2120") {
    const auto t = run_library("vsftpd-port-2121-active-data-from-port-20");
    REQUIRE(t.outcome.ok);
    const auto* data = connection(t, "data");
    REQUIRE(data);
    CHECK(data->initiator == "server");
    CHECK(data->initiator_local.port == 20);
    const auto moved = run_library("vsftpd-port-2121-active-data-from-port-20", {"servers.server.options.ftp_data_port=2020"});
    REQUIRE(connection(moved, "data"));
    CHECK(connection(moved, "data")->initiator_local.port == 2020);
}

TEST_CASE("vsftpd's connect_timeout: 425 Failed to establish connection. 60 s after the connect") {
    const auto t = run_library("client-firewall-blocks-active");
    const auto* data = connection(t, "data");
    REQUIRE(data);
    const auto* syn = first_segment(t, data->id);
    REQUIRE(syn);
    // The 425 leaves the server exactly connect_timeout after the first SYN.
    trace::TimeNs reply = -1;
    for (const auto& l : sim::control_lines(t))
        if (l.text == "425 Failed to establish connection.") reply = l.time_ns;
    CHECK(reply - syn->time_ns == 60 * trace::kNsPerSec);
    const auto shorter = run_library("client-firewall-blocks-active", {"servers.server.options.connect_timeout=5"});
    const auto* syn5 = first_segment(shorter, connection(shorter, "data")->id);
    trace::TimeNs reply5 = -1;
    for (const auto& l : sim::control_lines(shorter))
        if (l.text == "425 Failed to establish connection.") reply5 = l.time_ns;
    CHECK(reply5 - syn5->time_ns == 5 * trace::kNsPerSec);
}

TEST_CASE("pyftpdlib's ActiveDTP.timeout: the PORT is answered 421 after 30 s") {
    const auto t = run_library("pyftpdlib-active-connect-timeout");
    const auto* data = connection(t, "data");
    REQUIRE(data);
    CHECK(data->initiator == "server");
    CHECK(data->initiator_local.port != 20);  // an ephemeral port
    const auto* syn = first_segment(t, data->id);
    trace::TimeNs reply = -1;
    for (const auto& l : sim::control_lines(t))
        if (l.text == "421 Active data channel timed out.") reply = l.time_ns;
    CHECK(reply - syn->time_ns == 30 * trace::kNsPerSec);
}

TEST_CASE("vsftpd's idle_session_timeout: 421 Timeout. 300 s after the last command") {
    const auto t = run_library("vsftpd-idle-session-timeout");
    trace::TimeNs last_command = -1, timeout = -1;
    for (const auto& l : sim::control_lines(t)) {
        if (l.from_client && timeout < 0) last_command = l.time_ns;
        if (l.text == "421 Timeout.") timeout = l.time_ns;
    }
    REQUIRE(timeout > 0);
    // The command reached the server 1.00368 ms (latency and serialisation) after the client sent it.
    CHECK(timeout - last_command == 300 * trace::kNsPerSec + 1'003'680);
}

TEST_CASE("client options: curl connect-timeout and ftplib timeout give up when the option says") {
    const auto curl = run_library("curl-connect-timeout-passive");
    std::vector<const trace::Connection*> data;
    for (const auto& c : curl.connections)
        if (c.purpose == "data") data.push_back(&c);
    // EPSV's connection only: the PASV fallback finds curl's one connect budget spent.
    REQUIRE(data.size() == 1);
    // The client's last socket event on the connection (it closes the connecting socket), after
    // its first SYN.
    auto gave_up = [&](const trace::Trace& t, int conn) {
        const trace::Event* first = first_segment(t, conn);
        trace::TimeNs last = -1;
        for (const auto& e : t.events)
            if (e.kind == trace::EventKind::Socket && e.conn == conn && e.from == "client") last = e.time_ns;
        return last - first->time_ns;
    };
    CHECK(gave_up(curl, data[0]->id) == 5 * trace::kNsPerSec);
    bool pasv = false;
    for (const auto& l : sim::control_lines(curl)) pasv = pasv || (l.from_client && l.ftp.verb == "PASV");
    CHECK(pasv);  // the fallback was still asked for
    CHECK_FALSE(curl.outcome.ok);

    const auto ftplib = run_library("ftplib-timeout-control-connect");
    const auto* control = connection(ftplib, "control");
    REQUIRE(control);
    CHECK(gave_up(ftplib, control->id) == 10 * trace::kNsPerSec);
}

TEST_CASE("lftp net:max-retries: each retry is a new control connection, after the reconnect interval") {
    const auto t = run_library("lftp-reconnects-refused-server");
    std::vector<trace::TimeNs> syns;
    std::set<std::uint16_t> ports;
    for (const auto& c : t.connections) {
        if (c.purpose != "control") continue;
        syns.push_back(first_segment(t, c.id)->time_ns);
        ports.insert(c.initiator_local.port);
    }
    REQUIRE(syns.size() == 3);  // net:max-retries 3: three tries in all
    CHECK(ports.size() == 3);   // three connections
    // Each retry waits its interval after the RST (2 ms after the SYN): 5 s, then 5 x 1.5 = 7.5 s.
    int retries = 0;
    for (const auto& e : t.events)
        if (e.fact == trace::Fact::ClientRetry) {
            ++retries;
            CHECK(e.timeout_ns == (retries == 1 ? 5 * trace::kNsPerSec : 7'500'000'000));
        }
    CHECK(retries == 2);
    CHECK(syns[1] - syns[0] > 5 * trace::kNsPerSec);
    CHECK(syns[1] - syns[0] < 5 * trace::kNsPerSec + 10 * trace::kNsPerMs);
    CHECK(syns[2] - syns[1] > 7'500'000'000);
    CHECK(syns[2] - syns[1] < 7'500'000'000 + 10 * trace::kNsPerMs);
}
