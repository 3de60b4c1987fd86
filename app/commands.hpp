// The ftpsim subcommands. main.cpp parses the command line (CLI11 lives only there) and calls
// these; each returns the process exit status: 0 ok, 1 a check or a run failed, 2 bad input.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ftpsim::app {

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitBadInput = 2;

struct ViewFlags {
    std::string view = "per-hop";        // per-hop | end-to-end
    std::string time = "compressed";     // compressed | to-scale (scale: the older word, still taken)
    bool fold_handshakes = false;
    bool fold_data = false;              // one arrow per run of data segments
    bool hide_sockets = false;           // no socket events (listen, connect, accept, closed)
    bool hide_notes = false;             // no explanation notes
    std::string capture = "client";      // client | server | NODE-NODE (pcap capture point)
    std::string color = "auto";          // auto | always | never
    bool explain = false;                // text ladder: reply codes explained, data ports decoded
    // Slides: which part of the ladder (LayoutOptions' selection) and how the SVG looks.
    std::string steps;                   // "5-20"
    std::string from, to;                // "0.010s"
    bool skip_login = false;
    std::vector<std::string> hide_lanes;
    std::string connections;             // "control,data,signalling"
    double font_size = 0;                // SVG label size in px (0: the exporter's default)
    bool legend = true;                  // SVG legend (--no-legend leaves it out)
};

struct RunFlags {
    std::string file;                    // empty: the built-in default scenario
    std::vector<std::string> sets;
    std::vector<std::string> exports;
    ViewFlags view;
    bool quiet = false;                  // no ladder, only the outcome and diagnosis
    bool no_verify = false;              // do not verify the proposed fixes
    std::vector<std::string> compare;    // --compare KEY=VALUE: a second run with these, side by side
};

struct CheckFlags {
    std::vector<std::string> paths;      // files or folders; empty: the scenario library
    std::vector<std::string> sets;
    bool verbose = false;
};

struct SweepFlags {
    std::string file;
    std::vector<std::string> sets;
    std::vector<std::string> vary;       // "clients.client.mode=port,pasv,epsv"
    std::string format = "text";         // text | csv | json | md
    int jobs = 1;
    std::string shard;                   // "K/N": only cells with index % N == K-1
    std::string progress = "auto";       // auto | always | never
};

// ftpsim sweep merge SHARD.json...: the shards of one sweep joined into what one run prints.
struct SweepMergeFlags {
    std::vector<std::string> files;
    std::string format = "text";         // text | csv | json | md
};

struct ListFlags {
    std::string dir;
    std::string what = "scenarios";  // scenarios | profiles | exporters | nat | keys
};

// Live mode, the client: ftpsim get URL [-o FILE] | put FILE URL | ls URL (docs/live.md).
struct LiveClientFlags {
    std::string op;                      // get | put | ls
    std::string url;
    std::string local;                   // get/ls: -o FILE; put: the FILE to upload
    std::string mode;                    // "" = the profile's default
    std::string profile = "curl";
    std::string user, password;
    bool user_set = false, password_set = false;
    std::string trace;
    double timeout = 30;
    double max_time = 0;                 // --max-time: the whole session (0 = no limit)
    bool verbose = false;
};

// ftpsim import FILE: a capture (pcap/pcapng) or a trace JSON, drawn like a run (docs/live.md).
struct ImportFlags {
    std::string file;
    std::vector<std::string> exports;
    ViewFlags view;
    std::vector<int> control_ports;      // besides 21 and any server greeting with 220
    bool segments = false;               // also one Segment event per captured TCP segment
};

// Live mode, the server: ftpsim serve [--listen ADDR:PORT] --root DIR ... (docs/live.md).
struct ServeFlags {
    std::string listen = "127.0.0.1:2121";
    std::string root;
    std::string profile = "vsftpd";
    std::string passive_ports;           // "A-B"; "" = the profile's (any unprivileged port)
    std::string users;                   // users file: "NAME PASSWORD [rw|ro]" per line
    bool no_anonymous = false;
    bool writable = false;               // anonymous users may write
    int max_clients = 64;                // logged-in sessions
    int max_unauthenticated = 32;        // connections not logged in yet
    int max_per_address = 16;            // connections from one address
    double login_timeout = 60;           // seconds to log in
    double login_fail_delay = -1;        // seconds; < 0: the profile's
    int max_login_fails = -1;            // < 0: the profile's; 0: no limit
    double idle_timeout = 300;           // seconds
    double data_timeout = 60;            // seconds without progress on a data connection
    std::string max_transfer;            // bytes (suffixes K, M, G); "" = no limit
    std::string trace;
    bool once = false;
    bool verbose = false;
};

int cmd_list(const ListFlags& f);
int cmd_serve(const ServeFlags& f);
int cmd_import(const ImportFlags& f);
int cmd_live_client(const LiveClientFlags& f);
int cmd_run(const RunFlags& f);
int cmd_check(const CheckFlags& f);
int cmd_sweep(const SweepFlags& f);
int cmd_sweep_merge(const SweepMergeFlags& f);
int cmd_gui(int argc, char** argv);

// Shared helpers.
// The scenario library (app/library.cpp): --library, $FTPSIM_LIBRARY, a build tree's marker file
// next to the binary, or the installed library relative to the binary; LibraryNotFound (exit 2)
// when none exists.
struct LibraryNotFound : std::runtime_error {
    using std::runtime_error::runtime_error;
};
void set_library_override(const std::string& dir);  // --library DIR
std::string library_dir();
extern const char* const kDefaultScenarioYaml;
extern const char* const kDefaultScenarioName;

}  // namespace ftpsim::app
