#include "tools.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <sstream>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ftpsim::testing {

RunResult run(const std::string& command) {
    RunResult r;
    const std::string full = "(" + command + ") 2>&1";
    FILE* p = popen(full.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

bool have_tool(const std::string& name) {
    return run("command -v " + shell_quote(name) + " >/dev/null").status == 0;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ftpsim-viz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    if (std::getenv("FTPSIM_KEEP_TMP")) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string l;
    while (std::getline(in, l))
        if (!l.empty() && l.rfind("Running as user", 0) != 0) out.push_back(l);
    return out;
}

namespace {

// A TLS record header (content type 20..23, major version 3): FTPS after AUTH TLS.
bool is_tls_record(std::string_view s) {
    return s.size() >= 2 && s[0] >= 20 && s[0] <= 23 && s[1] == 3;
}

// The host a client-side or server-side capture point stands for ("" for a link).
std::string capture_node(const trace::Trace& t, const viz::CapturePoint& at) {
    std::string node = at.a;
    if (at.kind != viz::CapturePoint::Kind::Link && node.empty())
        for (const auto& n : t.nodes)
            if (n.role == (at.kind == viz::CapturePoint::Kind::ClientSide ? "client" : "server")) { node = n.name; break; }
    return node;
}

// Whether the capture point sees segment hop e, and when (false for a hop it does not see).
bool seen_at(const trace::Event& e, const viz::CapturePoint& at, const std::string& node, trace::TimeNs& ts) {
    if (at.kind == viz::CapturePoint::Kind::Link) {
        if (!((e.from == at.a && e.to == at.b) || (e.from == at.b && e.to == at.a))) return false;
        ts = e.time_ns;
    } else if (e.from == node) {
        ts = e.time_ns;
    } else if (e.to == node) {
        ts = e.arrive_ns;
    } else {
        return false;
    }
    return true;
}

}  // namespace

std::size_t tshark_count(const std::string& file, const std::string& filter, const std::string& extra_args) {
    const auto r = run("tshark -r " + shell_quote(file) + " " + extra_args + " -Y " + shell_quote(filter) +
                       " -T fields -e frame.number");
    return lines(r.output).size();
}

std::string control_connections_filter(const trace::Trace& t, const viz::CapturePoint& at) {
    std::map<int, std::string> purpose;
    for (const auto& c : t.connections) purpose[c.id] = c.purpose;
    const std::string node = capture_node(t, at);
    std::set<std::string> terms;
    for (const auto& e : t.events) {
        trace::TimeNs ts;
        if (e.kind != trace::EventKind::Segment || purpose[e.conn] != "control" || e.to.empty() ||
            !seen_at(e, at, node, ts))
            continue;
        const char* ip = e.src.addr.find(':') != std::string::npos ? "ipv6" : "ip";
        auto end = [&](const char* dir, const trace::Endpoint& p) {
            return std::string(ip) + "." + dir + "==" + p.addr + " && tcp." + dir + "port==" + std::to_string(p.port);
        };
        terms.insert("(" + end("src", e.src) + " && " + end("dst", e.dst) + ")");
    }
    std::string out;
    for (const auto& term : terms) out += (out.empty() ? "" : " || ") + term;
    return out.empty() ? "frame.number==0" : out;
}

std::vector<std::string> expected_ftp(const trace::Trace& t, const viz::CapturePoint& at) {
    std::map<int, std::string> purpose;
    for (const auto& c : t.connections) purpose[c.id] = c.purpose;
    const std::string node = capture_node(t, at);
    std::vector<std::pair<trace::TimeNs, std::string>> seen;
    // Wireshark marks a retransmission (same ends, sequence number and bytes) and does not decode
    // its payload again: a line retransmitted 15 times shows once, also when a retransmission
    // carries more (the unacknowledged "426 ..." and a later "421 Timeout." in one segment).
    std::set<std::string> sent;
    for (const auto& e : t.events) {
        if (e.kind != trace::EventKind::Segment || e.payload.empty() || purpose[e.conn] != "control") continue;
        trace::TimeNs ts;
        if (!seen_at(e, at, node, ts)) continue;
        if (!sent.insert(e.src.addr + ':' + std::to_string(e.src.port) + ' ' + e.dst.addr + ':' +
                         std::to_string(e.dst.port) + ' ' + std::to_string(e.tcp_seq))
                 .second)
            continue;
        const std::string text = is_tls_record(e.payload) ? "<TLS record>" : e.payload.substr(0, e.payload.find("\r\n"));
        seen.push_back({ts, e.src.addr + " " + e.dst.addr + " " + text});
    }
    std::stable_sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& s : seen) out.push_back(s.second);
    return out;
}

// What tshark decodes as FTP, in the same "src dst line" form.
std::vector<std::string> tshark_ftp(const std::string& file, const std::string& extra_args,
                                    const std::string& only) {
    const std::string filter = only.empty() ? "ftp" : "ftp && (" + only + ")";
    const auto r = run("tshark -r " + shell_quote(file) + " " + extra_args + " -Y " + shell_quote(filter) +
                       " -T fields -E separator=/t -e ip.src -e ip.dst -e ftp.request.command"
                       " -e ftp.request.arg -e ftp.response.code -e ftp.response.arg -e ipv6.src -e ipv6.dst");
    std::vector<std::string> out;
    for (const auto& l : lines(r.output)) {
        std::vector<std::string> f;
        std::size_t start = 0;
        while (true) {
            const auto tab = l.find('\t', start);
            f.push_back(l.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
            if (tab == std::string::npos) break;
            start = tab + 1;
        }
        f.resize(8);
        if (f[0].empty() && f[1].empty()) {  // an IPv6 frame: its addresses are ipv6.src/dst
            f[0] = f[6];
            f[1] = f[7];
        }
        std::string line = !f[2].empty() ? f[2] + (f[3].empty() ? "" : " " + f[3])
                           : f[4].empty() ? f[5] : f[4] + (f[5].empty() ? "" : " " + f[5]);
        // A TLS record read as FTP (TLS dissector off): its fields stop at the first NUL byte.
        if (is_tls_record(line)) line = "<TLS record>";
        out.push_back(f[0] + " " + f[1] + " " + line);
    }
    return out;
}

}  // namespace ftpsim::testing
