// ftpsim get | put | ls: live mode's client (live/client.hpp, docs/live.md "Client").
#include <cstdio>

#include "app/commands.hpp"
#include "app/output.hpp"
#include "live/client.hpp"

namespace ftpsim::app {

int cmd_live_client(const LiveClientFlags& f) {
    live::ClientArgs args;
    args.op = f.op == "put" ? live::ClientOp::Put : f.op == "ls" ? live::ClientOp::Ls : live::ClientOp::Get;
    args.url = f.url;
    args.local = f.local;
    args.mode = f.mode;
    args.profile = f.profile;
    if (f.user_set) args.user = f.user;
    if (f.password_set) args.password = f.password;
    args.trace = f.trace;
    args.timeout_s = f.timeout;
    args.max_time_s = f.max_time;
    args.verbose = f.verbose;

    auto checked = live::check_client_args(args);
    if (auto* e = std::get_if<live::ArgError>(&checked)) {
        print_error("ftpsim " + f.op + ": " + e->message);
        return kExitBadInput;
    }
    const auto& request = std::get<live::ClientRequest>(checked);
    live::ClientOutcome out = live::run_client(request);
    if (out.exit_code != 0) {
        // The message may quote the server: print_error escapes its control characters.
        print_error("ftpsim " + f.op + ": " + out.message);
        return kExitMismatch;
    }
    if (request.verbose)
        std::fprintf(stderr, "* %s: %llu bytes, final reply %d\n", f.op.c_str(),
                     static_cast<unsigned long long>(out.bytes), out.reply);
    return kExitOk;
}

}  // namespace ftpsim::app
