// Running the real validators (xmllint, rsvg-convert, plantuml, mscgen, tshark, node) from tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "trace/trace.hpp"
#include "viz/export.hpp"

namespace ftpsim::testing {

struct RunResult {
    int status = -1;       // exit status; -1 when the command could not run
    std::string output;    // stdout and stderr together
};

RunResult run(const std::string& command);
bool have_tool(const std::string& name);
std::string shell_quote(const std::string& s);

// A fresh directory under the system temp dir, removed with its contents at the end of scope
// (kept when FTPSIM_KEEP_TMP is set, for looking at the files).
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& p, const std::string& bytes);
std::string read_file(const std::filesystem::path& p);

// Non-empty lines of a tool's output (tshark's "Running as user" banner left out).
std::vector<std::string> lines(const std::string& s);
// The control connection's lines as a capture at `at` shows them, "src dst line", in capture order;
// a TLS record (FTPS after AUTH TLS) is "src dst <TLS record>"; a retransmission (same ends,
// sequence number and bytes) is left out, as Wireshark does not decode it again.
std::vector<std::string> expected_ftp(const trace::Trace& t, const viz::CapturePoint& at);
// What tshark decodes as FTP in a pcap file, in the same "src dst line" form. `only` narrows the
// display filter ("ftp && (only)").
std::vector<std::string> tshark_ftp(const std::string& file, const std::string& extra_args = "",
                                    const std::string& only = "");
// A tshark display filter for the control connections' packets as a capture at `at` shows them
// (each one's two address:port ends), e.g. to leave out an SPSV data connection, which also uses
// port 21 and which tshark therefore decodes as FTP too.
std::string control_connections_filter(const trace::Trace& t, const viz::CapturePoint& at);
// How many frames of a pcap file match a tshark display filter.
std::size_t tshark_count(const std::string& file, const std::string& filter, const std::string& extra_args = "");

}  // namespace ftpsim::testing
