#!/usr/bin/env bash
# Configures and builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DFTPSIM_SANITIZE=ON, Debug, the project's own compiler: g++) in build-asan and runs ctest.
#
#   tools/sanitize.sh                     every test (all layers, GUI tests too when the GUI builds)
#   tools/sanitize.sh protocol scenario   only these layers' test executables and ctest labels
#                                         (protocol, mbox, sim, viz, scenario, gui)
#
# Environment: BUILD (default build-asan), JOBS (build and ctest parallelism, default 2),
# GUI (ON/OFF, default ON), CTEST_ARGS (extra ctest arguments, e.g. "--timeout 300").
# Exit status: 0 when every test passed, 1 when a test failed (ctest's list of failures is
# printed, the sanitizer reports are in $BUILD/Testing/Temporary/LastTest.log), 2 when the build
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-asan}
JOBS=${JOBS:-2}
GUI=${GUI:-ON}
LAYERS=("$@")

# Leaks are errors; UB stops the test with a stack; SimGrid's own allocations at exit are not ours.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[[ -f tools/lsan.supp ]] && export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tools/lsan.supp}

mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DFTPSIM_SANITIZE=ON -DFTPSIM_TESTS=ON \
  -DFTPSIM_BENCH=OFF -DFTPSIM_GUI="$GUI" >"$BUILD/configure.log" 2>&1 || {
  tail -30 "$BUILD/configure.log" >&2; echo "sanitize.sh: configure failed" >&2; exit 2; }

targets=()
labels=""
for layer in "${LAYERS[@]}"; do
  targets+=("test_$layer")
  labels+="${labels:+|}^$layer\$"
done
if [[ ${#targets[@]} -gt 0 ]]; then
  cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}" >"$BUILD/build.log" 2>&1
else
  cmake --build "$BUILD" -j"$JOBS" >"$BUILD/build.log" 2>&1
fi || { grep -E 'error|Error' "$BUILD/build.log" | head -30 >&2; echo "sanitize.sh: build failed ($BUILD/build.log)" >&2; exit 2; }

ctest_args=(--test-dir "$BUILD" -j"$JOBS" --output-on-failure --no-tests=error)
[[ -n $labels ]] && ctest_args+=(-L "$labels")
# shellcheck disable=SC2206
ctest_args+=(${CTEST_ARGS:-})
ctest "${ctest_args[@]}" >"$BUILD/ctest.log" 2>&1
rc=$?
grep -E 'tests passed|tests failed|Total Test time' "$BUILD/ctest.log"
if [[ $rc != 0 ]]; then
  sed -n '/The following tests FAILED/,$p' "$BUILD/ctest.log"
  echo "sanitizer reports: grep -n 'ERROR: AddressSanitizer\|runtime error\|LeakSanitizer' $BUILD/ctest.log"
  exit 1
fi
exit 0
