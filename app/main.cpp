// ftpsim: the command line. Parses arguments (CLI11 lives only in this file) and calls the layers.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/commands.hpp"

using namespace ftpsim::app;

namespace {

void add_view_flags(CLI::App* cmd, ViewFlags& v) {
    cmd->add_option("--view", v.view, "Ladder view: per-hop (middleboxes as lanes) or end-to-end")
        ->check(CLI::IsMember({"per-hop", "end-to-end"}));
    cmd->add_option("--time", v.time, "Time axis: compressed (one row per event) or scale (arrows slant with latency)")
        ->check(CLI::IsMember({"compressed", "scale"}));
    cmd->add_flag("--fold-handshakes", v.fold_handshakes, "Draw each TCP handshake as one arrow, hide pure ACKs");
    cmd->add_flag("--hide-sockets", v.hide_sockets, "Leave out socket events (listen, connect, accept, closed)");
    cmd->add_flag("--hide-notes", v.hide_notes, "Leave out the explanation notes");
    cmd->add_option("--capture", v.capture,
                    "pcap capture point: client, server, or a hop as NODE-NODE (e.g. home-router-server)");
    cmd->add_option("--color", v.color, "Colour the terminal ladder: auto, always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ftpsim: an FTP protocol simulator and visualiser.\n"
                 "Shows how FTP builds its data connections and why they break behind NAT,\n"
                 "firewalls and port forwarding. Without a subcommand, runs the default scenario."};
    app.require_subcommand(0, 1);
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
    list->add_option("--dir", list_flags.dir, "Scenario folder (default: the library)");
    list->footer("Example:\n  ftpsim list");

    RunFlags run_flags;
    auto* run = app.add_subcommand("run", "Simulate a scenario: print the ladder, the outcome and the diagnosis");
    run->add_option("file", run_flags.file, "Scenario file (default: the built-in default scenario)");
    run->add_option("--set", run_flags.sets, "Override a key: --set nodes.home-router.alg.enabled=true")
        ->take_all()->allow_extra_args(false);
    run->add_option("--export,-o", run_flags.exports,
                    "Write an export; the format comes from the extension: .svg .puml .mmd .msc .txt .json .pcap");
    run->add_flag("--quiet,-q", run_flags.quiet, "Print only the outcome and the diagnosis");
    run->add_flag("--no-verify", run_flags.no_verify, "Do not verify the proposed fixes by re-running");
    add_view_flags(run, run_flags.view);
    run->footer("Examples:\n"
                "  ftpsim run\n"
                "  ftpsim run scenarios/lecture-deck-passive-list.yaml --view end-to-end --fold-handshakes\n"
                "  ftpsim run FILE --set clients.client.mode=pasv --export out.svg --export out.pcap --capture server");

    CheckFlags check_flags;
    auto* check = app.add_subcommand("check", "Run scenarios against their expected outcomes (exit 1 on a mismatch)");
    check->add_option("paths", check_flags.paths, "Scenario files or folders (default: the library)");
    check->add_option("--set", check_flags.sets, "Override a key in every scenario")->take_all();
    check->add_flag("--verbose,-v", check_flags.verbose, "Print each scenario's outcome");
    check->footer("Example:\n  ftpsim check scenarios/");

    SweepFlags sweep_flags;
    auto* sweep = app.add_subcommand("sweep", "Vary knobs over a matrix and print which cells work");
    sweep->add_option("file", sweep_flags.file, "Scenario file")->required();
    sweep->add_option("--vary", sweep_flags.vary, "KEY=V1,V2,...; repeat for more dimensions")->required();
    sweep->add_option("--set", sweep_flags.sets, "Override a key in every cell");
    sweep->add_option("--format", sweep_flags.format, "text, csv, json or md")
        ->check(CLI::IsMember({"text", "csv", "json", "md"}));
    sweep->add_option("--jobs,-j", sweep_flags.jobs, "Worker processes")->check(CLI::Range(1, 256));
    sweep->add_option("--shard", sweep_flags.shard, "K/N: run only the K-th of N shards (batch array jobs)");
    sweep->add_option("--progress", sweep_flags.progress, "Progress bar: auto (on a TTY), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    sweep->footer("Example:\n"
                  "  ftpsim sweep scenarios/matrix-base.yaml --vary clients.client.mode=port,eprt,pasv,epsv \\\n"
                  "      --vary nodes.router.nat.type=full-cone,restricted,port-restricted,symmetric \\\n"
                  "      --vary nodes.router.alg.enabled=false,true --format md --jobs 2");

    auto* gui = app.add_subcommand("gui", "Open the teaching app (Dear ImGui)");
    gui->allow_extras();
    gui->prefix_command();

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "ftpsim: %s\nRun 'ftpsim --help' for the usage.\n", e.what());
        return kExitBadInput;
    }

    try {
        if (*list) return cmd_list(list_flags);
        if (*check) return cmd_check(check_flags);
        if (*sweep) return cmd_sweep(sweep_flags);
        if (*gui) return cmd_gui(argc, argv);
        return cmd_run(run_flags);  // "ftpsim" alone runs the default scenario
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ftpsim: internal error: %s\n", e.what());
        return 3;
    }
}
