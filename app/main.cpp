// ftpsim: the command line. Parses arguments (CLI11 lives only in this file) and calls the layers.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/output.hpp"
#include "protocol/client_profile.hpp"
#include "protocol/server_profile.hpp"
#include "viz/export.hpp"
#include "sim/net/network.hpp"

using namespace ftpsim::app;

namespace {

// The help lists what the registries hold (protocol/client_profile.cpp, server_profile.cpp).
std::string client_profile_names() {
    std::string out;
    for (const auto& p : ftpsim::proto::client_profiles()) out += (out.empty() ? "" : ", ") + std::string(p.name);
    return out;
}
std::vector<std::string> server_profile_list() {
    std::vector<std::string> out;
    for (const auto& p : ftpsim::proto::server_profiles()) out.emplace_back(p.name);
    return out;
}
std::string server_profile_names() {
    std::string out;
    for (const auto& n : server_profile_list()) out += (out.empty() ? "" : ", ") + n;
    return out;
}

void add_view_flags(CLI::App* cmd, ViewFlags& v) {
    cmd->add_option("--view", v.view, "Ladder view: per-hop (middleboxes as lanes) or end-to-end")
        ->check(CLI::IsMember({"per-hop", "end-to-end"}));
    cmd->add_option("--time", v.time,
                    "Time axis: compressed (one row per event) or to-scale (arrows slant with latency; 'scale' also works)")
        ->check(CLI::IsMember({"compressed", "to-scale", "scale"}));
    cmd->add_flag("--explain", v.explain,
                  "Text ladder: under each FTP line, its reply code explained (the lecture deck's digits, the RFC's "
                  "meaning) and the data port it announces worked out");
    cmd->add_flag("--fold-handshakes", v.fold_handshakes, "Draw each TCP handshake as one arrow, hide pure ACKs");
    cmd->add_flag("--fold-data", v.fold_data,
                  "Draw each run of data segments (and the ACKs coming back) as one arrow "
                  "(PlantUML, Mermaid and mscgen fold above 2000 items anyway)");
    cmd->add_flag("--hide-sockets", v.hide_sockets, "Leave out socket events (listen, connect, accept, closed)");
    cmd->add_flag("--hide-notes", v.hide_notes, "Leave out the explanation notes");
    cmd->add_option("--steps", v.steps,
                    "Draw only these steps (the ladder's arrows and notes, counted from 1): 5-20, 5-, -20 or 7");
    cmd->add_option("--from", v.from, "Draw only what leaves at or after this time: 0.010s, 10ms, 250us");
    cmd->add_option("--to", v.to, "Draw only what leaves at or before this time: 0.050s, 50ms");
    cmd->add_flag("--skip-login", v.skip_login,
                  "Start at the command of the first data-connection announcement (PORT, EPRT, or PASV/EPSV)");
    cmd->add_option("--hide-lane", v.hide_lanes,
                    "Leave out this node's lane (repeatable); packets through a hidden router are drawn as one arrow")
        ->allow_extra_args(false);
    cmd->add_option("--connections", v.connections,
                    "Arrows shown: a comma-separated subset of control, data, signalling (default: all)");
    cmd->add_option("--font-size", v.font_size, "SVG: arrow label size in px (default 17; headers scale with it)");
    cmd->add_flag("--legend,!--no-legend", v.legend,
                  "SVG: a legend of the colours and arrow styles under the title (default: on)");
    cmd->add_option("--capture", v.capture,
                    "pcap capture point: client, server, or a hop as NODE-NODE (e.g. home-router-server)");
    cmd->add_option("--color", v.color, "Colour the terminal ladder: auto, always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
}

// get / put / ls share their flags (only one of them is parsed).
void add_live_client_flags(CLI::App* cmd, LiveClientFlags& f) {
    cmd->add_option("--mode", f.mode, "Data connection: port, eprt, pasv, epsv or spsv (default: the profile's; curl: EPSV, then PASV)");
    cmd->add_option("--profile", f.profile, "Client behaviour: " + client_profile_names());
    cmd->add_option("--user", f.user, "User name (default: the URL's, else anonymous)")
        ->each([&f](const std::string&) { f.user_set = true; });
    cmd->add_option("--password", f.password, "Password (default: the URL's, else the profile's anonymous password)")
        ->each([&f](const std::string&) { f.password_set = true; });
    cmd->add_option("--trace", f.trace, "Record the session as a trace (JSON, like run --export x.json)");
    cmd->add_option("--timeout", f.timeout, "Give up after this many seconds without progress: no whole reply, no data byte, no connection (default 30)");
    cmd->add_option("--max-time", f.max_time, "Give up when the whole session takes longer than this many seconds (default: no limit)");
    cmd->add_flag("-v,--verbose", f.verbose, "Print the dialogue (commands, replies, connections) on stderr");
}

// Output that could not be written (a full disk, a closed pipe, /dev/full) is a failure with a
// message, not a silent exit 0.
int finish_output(int status) {
    std::cout.flush();
    const bool failed = !std::cout.good() || std::fflush(stdout) != 0 || std::ferror(stdout);
    if (failed) {
        std::fprintf(stderr, "ftpsim: writing the output failed: %s\n", std::strerror(errno ? errno : EIO));
        return status == 0 ? 1 : status;
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ftpsim: an FTP protocol simulator and visualiser.\n"
                 "Shows how FTP builds its data connections and why they break behind NAT,\n"
                 "firewalls and port forwarding. Without a subcommand, runs the default scenario."};
    app.require_subcommand(0, 1);
    // Options of the top level may also follow the subcommand: `ftpsim check --library DIR`.
    app.fallthrough();
    app.add_option_function<std::string>(
           "--library", [](const std::string& dir) { set_library_override(dir); },
           "The scenario library's folder (default: $FTPSIM_LIBRARY, else the library installed beside "
           "the binary, ../share/ftpsim/scenarios, or in a build tree the source's scenarios/)")
        ->type_name("DIR");
    app.footer("Examples:\n"
               "  ftpsim run                                   the built-in default scenario\n"
               "  ftpsim list                                  the scenario library\n"
               "  ftpsim run scenarios/active-port-behind-nat-no-alg.yaml --set nodes.home-router.alg.enabled=true\n"
               "  ftpsim run FILE --export ladder.svg --export capture.pcap --capture server\n"
               "  ftpsim check scenarios/\n"
               "  ftpsim sweep FILE --vary clients.client.mode=port,pasv,epsv --format md\n"
               "Bad input (a malformed scenario, an unknown key) exits with status 2.");

    ListFlags list_flags;
    auto* list = app.add_subcommand("list", "List the scenario library with titles and expected outcomes");
    list->add_option("what", list_flags.what,
                     "What to list: scenarios (default), profiles, exporters, nat (NAT presets), keys (scenario keys)")
        ->check(CLI::IsMember({"scenarios", "profiles", "exporters", "nat", "keys"}));
    list->add_option("--dir", list_flags.dir, "Scenario folder (default: the library)");
    list->footer("Examples:\n  ftpsim list\n  ftpsim list profiles\n  ftpsim list keys");

    RunFlags run_flags;
    auto* run = app.add_subcommand("run", "Simulate a scenario: print the ladder, the outcome and the diagnosis");
    run->add_option("file", run_flags.file,
                    "Scenario file, or a library id as `ftpsim list` prints it (default: the built-in default scenario)");
    run->add_option("--set", run_flags.sets, "Override a key: --set nodes.home-router.alg.enabled=true")
        ->take_all()->allow_extra_args(false);
    run->add_option("--export,-o", run_flags.exports,
                    "Write an export; the format comes from the extension: " + ftpsim::viz::export_extensions());
    run->add_flag("--quiet,-q", run_flags.quiet, "Print only the outcome and the diagnosis");
    run->add_flag("--no-verify", run_flags.no_verify, "Do not verify the proposed fixes by re-running");
    run->add_option("--compare", run_flags.compare,
                    "Run again with this key set (repeatable) and export both ladders side by side in one SVG, "
                    "a heading per pane naming the values")
        ->allow_extra_args(false);
    add_view_flags(run, run_flags.view);
    run->footer("Examples:\n"
                "  ftpsim run\n"
                "  ftpsim run lecture-deck-passive-list --view end-to-end --fold-handshakes --explain\n"
                "  ftpsim run FILE --set clients.client.mode=pasv --export out.svg --export out.pcap --capture server\n"
                "Slides (one SVG per slide):\n"
                "  ftpsim run lecture-deck-passive-list -q --skip-login --fold-handshakes --font-size 22 -o slide.svg\n"
                "  ftpsim run lecture-deck-passive-list -q --steps 5-20 --connections control,data -o steps.svg\n"
                "  ftpsim run lecture-deck-passive-list -q --from 0.010s --to 0.050s --no-legend -o window.svg\n"
                "  ftpsim run home-router-alg-active-port-21 -q --hide-lane linksys --skip-login -o no-router.svg\n"
                "Side by side (two runs, one SVG):\n"
                "  ftpsim run home-router-alg-active-port-21 --set nodes.linksys.alg.enabled=false "
                "--compare nodes.linksys.alg.enabled=true -o alg-off-on.svg");

    CheckFlags check_flags;
    auto* check = app.add_subcommand("check", "Run scenarios against their expected outcomes (exit 1 on a mismatch)");
    check->add_option("paths", check_flags.paths, "Scenario files or folders (default: the library)");
    check->add_option("--set", check_flags.sets, "Override a key in every scenario")->take_all();
    check->add_flag("--verbose,-v", check_flags.verbose, "Print each scenario's outcome");
    check->footer("Example:\n  ftpsim check scenarios/");

    SweepFlags sweep_flags;
    auto* sweep = app.add_subcommand("sweep", "Vary knobs over a matrix and print which cells work");
    // Not ->required(): `ftpsim sweep merge` has neither (cmd_sweep checks them).
    sweep->add_option("file", sweep_flags.file, "Scenario file (required)");
    sweep->add_option("--vary", sweep_flags.vary, "KEY=V1,V2,...; repeat for more dimensions (required)");
    sweep->add_option("--set", sweep_flags.sets, "Override a key in every cell");
    sweep->add_option("--format", sweep_flags.format, "text, csv, json or md")
        ->check(CLI::IsMember({"text", "csv", "json", "md"}));
    sweep->add_option("--jobs,-j", sweep_flags.jobs, "Worker processes")->check(CLI::Range(1, 256));
    sweep->add_option("--shard", sweep_flags.shard,
                      "K/N: run only the K-th of N shards (batch array jobs); with --format json, a shard "
                      "document for `ftpsim sweep merge`");
    sweep->add_option("--progress", sweep_flags.progress, "Progress bar: auto (on a TTY), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    sweep->footer("Example:\n"
                  "  ftpsim sweep scenarios/matrix-base.yaml --vary clients.client.mode=port,eprt,pasv,epsv \\\n"
                  "      --vary nodes.router.nat.type=full-cone,restricted,port-restricted,symmetric \\\n"
                  "      --vary nodes.router.alg.enabled=false,true --format md --jobs 2\n"
                  "On a batch system (docs/sweep.md): task K of N runs\n"
                  "  ftpsim sweep FILE --vary ... --shard K/N --format json > shard-K.json\n"
                  "and at the end: ftpsim sweep merge shard-*.json --format md");
    SweepMergeFlags merge_flags;
    auto* merge = sweep->add_subcommand("merge", "Join the JSON of every shard of a sweep into what one run prints");
    merge->add_option("files", merge_flags.files, "The shards' JSON files (ftpsim sweep --shard K/N --format json)")
        ->required();
    merge->add_option("--format", merge_flags.format, "text, csv, json or md")
        ->check(CLI::IsMember({"text", "csv", "json", "md"}));

    LiveClientFlags client_flags;
    auto* get = app.add_subcommand("get", "Download a file from a real FTP server (live mode)");
    get->add_option("url", client_flags.url, "ftp://[user[:password]@]host[:port]/path")->required();
    get->add_option("-o,--output", client_flags.local, "Output file ('-' = stdout; default: the URL's file name)");
    add_live_client_flags(get, client_flags);
    get->footer("Example:\n  ftpsim get ftp://127.0.0.1:2121/file.bin -o file.bin --mode pasv -v");
    auto* put = app.add_subcommand("put", "Upload a file to a real FTP server (live mode)");
    put->add_option("file", client_flags.local, "The local file to upload")->required();
    put->add_option("url", client_flags.url, "ftp://host[:port]/path (a path ending in '/' gets the file's name)")->required();
    add_live_client_flags(put, client_flags);
    put->footer("Example:\n  ftpsim put report.pdf ftp://user:secret@192.0.2.7/incoming/ --mode eprt");
    auto* ls = app.add_subcommand("ls", "List a directory on a real FTP server (live mode)");
    ls->add_option("url", client_flags.url, "ftp://host[:port]/[directory]")->required();
    ls->add_option("-o,--output", client_flags.local, "Write the listing to a file (default: stdout)");
    add_live_client_flags(ls, client_flags);
    ls->footer("Example:\n  ftpsim ls ftp://[::1]:2121/pub/ --profile ftplib");

    ImportFlags import_flags;
    auto* import = app.add_subcommand("import", "Draw a captured FTP session (pcap/pcapng) or a trace JSON like a run");
    import->add_option("file", import_flags.file, "A capture (tcpdump -w, Wireshark) or a trace JSON (serve --trace)")
        ->required();
    import->add_option("--export,-o", import_flags.exports,
                       "Write an export; the format comes from the extension: " + ftpsim::viz::export_extensions());
    import->add_option("--control-port", import_flags.control_ports,
                       "A port the FTP server listens on besides 21 (repeatable; a 220 greeting is found anyway)");
    import->add_flag("--segments", import_flags.segments,
                     "Also record every captured TCP segment (a packet-level ladder)");
    add_view_flags(import, import_flags.view);
    import->footer("Examples:\n"
                   "  ftpsim import capture.pcap\n"
                   "  ftpsim import capture.pcap --segments --fold-handshakes --export ladder.svg\n"
                   "  ftpsim import live.json --export ladder.txt   (a trace written by serve --trace)");

    ServeFlags serve_flags;
    auto* serve = app.add_subcommand("serve", "Run a real FTP server on the protocol core (live mode)");
    serve->add_option("--listen", serve_flags.listen, "ADDR:PORT to listen on ([::1]:2121 for IPv6; default 127.0.0.1:2121)");
    serve->add_option("--root", serve_flags.root, "Directory to serve (the server is confined to it)")->required();
    serve->add_option("--profile", serve_flags.profile, "Server behaviour: " + server_profile_names())
        ->check(CLI::IsMember(server_profile_list()));
    serve->add_option("--passive-ports", serve_flags.passive_ports, "A-B: passive data ports (default: any unprivileged port)");
    serve->add_option("--users", serve_flags.users, "Users file: one \"NAME PASSWORD [rw|ro]\" per line");
    serve->add_flag("--no-anonymous", serve_flags.no_anonymous, "Refuse the anonymous login");
    serve->add_flag("--writable", serve_flags.writable, "Anonymous users may upload, delete, rename, MKD, RMD");
    serve->add_option("--max-clients", serve_flags.max_clients, "Logged-in sessions at once; one more gets 421 (default 64)")
        ->check(CLI::Range(1, 100000));
    serve->add_option("--max-unauthenticated", serve_flags.max_unauthenticated,
                      "Connections not logged in yet; one more gets 421 (default 32)")
        ->check(CLI::Range(1, 100000));
    serve->add_option("--max-per-address", serve_flags.max_per_address,
                      "Connections from one client address; one more gets 421 (default 16)")
        ->check(CLI::Range(1, 100000));
    serve->add_option("--login-timeout", serve_flags.login_timeout, "Seconds to log in before 421 and close (default 60)")
        ->check(CLI::PositiveNumber);
    serve->add_option("--login-fail-delay", serve_flags.login_fail_delay,
                      "Seconds a failed login's 530 waits (default: the profile's: vsftpd and pyftpdlib 3, rfc959 0)")
        ->check(CLI::Range(0.0, 3600.0));
    serve->add_option("--max-login-fails", serve_flags.max_login_fails,
                      "Failed logins before the connection is closed; 0 = no limit (default: the profile's: vsftpd and pyftpdlib 3, rfc959 0)")
        ->check(CLI::Range(0, 1000000));
    serve->add_option("--idle-timeout", serve_flags.idle_timeout, "Seconds without a command before 421 and close (default 300)")
        ->check(CLI::PositiveNumber);
    serve->add_option("--data-timeout", serve_flags.data_timeout, "Seconds without progress before a data connection is reset (default 60)")
        ->check(CLI::PositiveNumber);
    serve->add_option("--max-transfer", serve_flags.max_transfer, "Largest file sent or received, in bytes (K, M, G suffixes; default no limit)");
    serve->add_option("--trace", serve_flags.trace, "Record every session into a trace (JSON), written as it happens");
    serve->add_flag("--once", serve_flags.once, "Stop after the first session has ended");
    serve->add_flag("-v,--verbose", serve_flags.verbose, "Log connections and the protocol core's explanations on stderr");
    serve->footer("Examples:\n"
                  "  ftpsim serve --root /srv/ftp\n"
                  "  ftpsim serve --listen 0.0.0.0:2121 --root /srv/ftp --passive-ports 50000-50100 --users users.txt\n"
                  "  ftpsim serve --root . --once --trace session.json && ftpsim import session.json -o ladder.svg");

    auto* gui = app.add_subcommand("gui", "Open the teaching app (Dear ImGui)");
    gui->allow_extras();
    gui->prefix_command();
    gui->fallthrough(false);  // everything after "gui" is the GUI's, even what the top level knows
    gui->set_help_flag();  // `ftpsim gui --help` prints the GUI's own options (viz/gui/app.cpp)

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        print_error(std::string("ftpsim: ") + e.what());
        std::fprintf(stderr, "Run 'ftpsim --help' for the usage.\n");
        return kExitBadInput;
    }

    try {
        ftpsim::net::engine_from_environment();  // a bad FTPSIM_ENGINE is bad input, said before any run
    } catch (const std::invalid_argument& e) {
        print_error(std::string("ftpsim: ") + e.what());
        return kExitBadInput;
    }

    try {
        if (*list) return finish_output(cmd_list(list_flags));
        if (*check) return finish_output(cmd_check(check_flags));
        if (*merge) return finish_output(cmd_sweep_merge(merge_flags));
        if (*sweep) return finish_output(cmd_sweep(sweep_flags));
        if (*gui) {
            // The GUI parses its own arguments, from the word "gui" on (top-level options such as
            // --library were applied above).
            int at = 1;
            while (at < argc && std::string(argv[at]) != "gui") ++at;
            std::vector<char*> rest{argv[0]};
            rest.insert(rest.end(), argv + at, argv + argc);
            return finish_output(cmd_gui(static_cast<int>(rest.size()), rest.data()));
        }
        if (*serve) return finish_output(cmd_serve(serve_flags));
        if (*import) return finish_output(cmd_import(import_flags));
        if (*get || *put || *ls) {
            client_flags.op = *get ? "get" : *put ? "put" : "ls";
            return finish_output(cmd_live_client(client_flags));
        }
        return finish_output(cmd_run(run_flags));  // "ftpsim" alone runs the default scenario
    } catch (const LibraryNotFound& e) {
        print_error(std::string("ftpsim: ") + e.what());
        return kExitBadInput;
    } catch (const std::exception& e) {
        print_error(std::string("ftpsim: internal error: ") + e.what());
        return 3;
    }
}
