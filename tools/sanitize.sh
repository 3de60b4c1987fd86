#!/usr/bin/env bash
# Configures and builds ftpsim and its tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DFTPSIM_SANITIZE=ON, Debug, the project's own compiler: g++) in build-asan and runs ctest.
#
#   tools/sanitize.sh                     the tests that exercise our code: ctest labels unit,
#                                         integration, live and gui (every target but the external
#                                         validators' tests, GUI included); not external-tools
#                                         (the validators are not ours), system or rig
#   tools/sanitize.sh protocol scenario   only these ctest labels, building only what they need
#                                         (folder labels: test_<label> and test_<label>_*; kind
#                                         labels such as unit: every target; else ftpsim)
#
# Environment: BUILD (default build-asan), JOBS (build and ctest parallelism, default 2),
# GUI (ON/OFF, default ON), CTEST_ARGS (extra ctest arguments, e.g. "-E rig").
# Exit status: 0 when every test passed with no sanitizer report, 1 when a test failed or a
# sanitizer warned (the list and the first reports are printed; every test's full output is in
# $BUILD/Testing/Temporary/LastTest.log), 2 when configure or build failed.
#
# SimGrid: Debian's libsimgrid is built without ASan's fiber annotations, so under ASan the
# simulator runs each actor on its own thread (contexts/factory:thread, set in sim/net/network.cpp
# when compiled with -fsanitize=address). docs/reliability.md, "Sanitizer build", says why.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-asan}
JOBS=${JOBS:-2}
GUI=${GUI:-ON}
LAYERS=("$@")
[[ ${#LAYERS[@]} -eq 0 ]] && LAYERS=(unit integration live gui)
KINDS=" unit integration external-tools system live rig gui "

# Leaks are errors; UB stops the test with a stack; use-after-return is detected (fake stacks:
# sound because every SimGrid actor is a thread ASan knows, see above).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
# Tests that limit the address space (ulimit -v) leave it off under ASan (see tests/app/limits.sh).
export FTPSIM_SANITIZED=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[[ -f tools/lsan.supp ]] && export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tools/lsan.supp:print_suppressions=0}

t0=$SECONDS
mkdir -p "$BUILD"
tool_tests=OFF
for layer in "${LAYERS[@]}"; do [[ $layer == external-tools || $layer == exports ]] && tool_tests=ON; done
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DFTPSIM_SANITIZE=ON -DFTPSIM_TESTS=ON \
  -DFTPSIM_BENCH=OFF -DFTPSIM_GUI="$GUI" -DFTPSIM_TOOL_TESTS=$tool_tests -DFTPSIM_WERROR=OFF >"$BUILD/configure.log" 2>&1 || {
  tail -30 "$BUILD/configure.log" >&2; echo "sanitize.sh: configure failed ($BUILD/configure.log)" >&2; exit 2; }

targets=()
labels=""
all=0
known=$(cmake --build "$BUILD" --target help 2>/dev/null)
for layer in "${LAYERS[@]}"; do
  labels+="${labels:+|}^$layer\$"
  [[ $KINDS == *" $layer "* ]] && { all=1; continue; }
  [[ $layer == exports ]] && { targets+=(test_library_exports); continue; }
  found=$(sed -n "s/^\.\.\. \(test_${layer}\(_[a-z_]*\)\{0,1\}\)\$/\1/p" <<<"$known")
  if [[ -n $found ]]; then mapfile -t -O "${#targets[@]}" targets <<<"$found"; else targets+=(ftpsim); fi
done
if [[ $all == 1 ]]; then
  cmake --build "$BUILD" -j"$JOBS" >"$BUILD/build.log" 2>&1
else
  cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}" >"$BUILD/build.log" 2>&1
fi || { grep -E 'error|Error' "$BUILD/build.log" | head -30 >&2; echo "sanitize.sh: build failed ($BUILD/build.log)" >&2; exit 2; }
t1=$SECONDS

ctest_args=(--test-dir "$BUILD" -j"$JOBS" --output-on-failure --no-tests=error -L "$labels")
# shellcheck disable=SC2206
ctest_args+=(${CTEST_ARGS:-})
ctest "${ctest_args[@]}" >"$BUILD/ctest.log" 2>&1
rc=$?
t2=$SECONDS
grep -E 'tests passed|tests failed|Total Test time' "$BUILD/ctest.log"
echo "sanitize.sh: configure+build $((t1 - t0)) s, tests $((t2 - t1)) s (labels ${labels})"

# A sanitizer that warns without failing the test still fails this script: ASan's "False positive
# error reports may follow" means it lost track of a stack (e.g. raw SimGrid contexts came back).
log=$BUILD/Testing/Temporary/LastTest.log
warned=0
if [[ -f $log ]] && grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:\|False positive error reports may follow' "$log"; then
  warned=1
  echo "sanitize.sh: sanitizer reports in $log:"
  grep -n 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:\|WARNING: ASan\|SUMMARY:' "$log" | head -20
fi
if [[ $rc != 0 ]]; then
  sed -n '/The following tests FAILED/,$p' "$BUILD/ctest.log"
  echo "sanitize.sh: full output of every test: $log"
  exit 1
fi
[[ $warned == 1 ]] && exit 1
exit 0
