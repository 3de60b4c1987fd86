#!/usr/bin/env bash
# Compiles every source of the main build with clang++ -fsyntax-only (the GCC build's flags and
# -Wall -Wextra -Wpedantic, from BUILD/compile_commands.json) and lists clang's warnings. Clang's
# warnings come from its front end, so no object code is needed: about a third of a build's time.
# CI builds with g++ and -Werror (CI=true); the fuzz build (tools/fuzz.sh) compiles protocol/ and
# sim/scenario/ with clang, -Wall -Wextra and (CI=true) -Werror. Clang over the whole tree is
# this script, by hand.
#
#   tools/clang-warnings.sh [BUILD]      default BUILD=build (configured: cmake -S . -B build)
# Exit status: 0 no warning, 1 warnings (printed), 2 no compile_commands.json or clang++.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[[ -f $build/compile_commands.json ]] || { echo "clang-warnings: no $build/compile_commands.json (cmake -S . -B $build)" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "clang-warnings: clang++ not found (apt-get install clang)" >&2; exit 2; }
log=$build/clang-warnings.log
python3 - "$build/compile_commands.json" <<'PY' | xargs -0 -P "${JOBS:-2}" -n 1 sh -c >"$log" 2>&1
import json, shlex, sys
for c in json.load(open(sys.argv[1])):
    args = shlex.split(c["command"])
    while "ccache" in args[0]:
        args = args[1:]
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c":
            out.append(a)
    cmd = "cd %s && clang++ -fsyntax-only %s" % (shlex.quote(c["directory"]), " ".join(map(shlex.quote, out)))
    sys.stdout.write(cmd + "\0")
PY
n=$(grep -c 'warning:' "$log")
grep -A3 'warning:' "$log"
echo "clang-warnings: $n warnings ($log)"
[[ $n == 0 ]]
