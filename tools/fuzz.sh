#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan+UBSan) and runs each one for a given time.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     default: 30 s each, every target
#   tools/fuzz.sh 600                       the long run (10 min each)
#   JOBS=1 tools/fuzz.sh 20                 one target at a time (default: two, for 2 cores)
#   tools/fuzz.sh --replay [TARGET...]      run the saved reproducers in fuzz/crashers/ once
#
# Each target starts from its committed seed corpus fuzz/corpus/<t>/ and grows a working corpus
# in $BUILD/corpus/<t>/ (not committed; kept between runs). A crash, leak, UB report, invariant
# failure, timeout (> 10 s for one input) or out-of-memory stops that target, leaves the input in
# $BUILD/artifacts/<t>/ and makes the script exit 1. Logs: $BUILD/logs/<t>.log.
#
# Environment: BUILD (default build-fuzz), JOBS (default 2), CXX (default clang++).
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-fuzz}
JOBS=${JOBS:-2}
ALL=(fuzz_command fuzz_reply fuzz_address fuzz_server fuzz_client fuzz_scenario fuzz_import)

replay=0
if [[ ${1:-} == --replay ]]; then replay=1; shift; fi
SECONDS_EACH=30
if [[ $replay == 0 && ${1:-} =~ ^[0-9]+$ ]]; then SECONDS_EACH=$1; shift; fi
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL[@]}")
for i in "${!TARGETS[@]}"; do [[ ${TARGETS[$i]} == fuzz_* ]] || TARGETS[$i]=fuzz_${TARGETS[$i]}; done

# ---- build --------------------------------------------------------------------------------------
if ! command -v "${CXX:-clang++}" >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2
fi
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  CXX=${CXX:-clang++} cmake -S fuzz -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
fi
cmake --build "$BUILD" -j2 --target "${TARGETS[@]}" >"$BUILD/build.log" 2>&1 || {
  tail -30 "$BUILD/build.log" >&2; echo "fuzz.sh: build failed" >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/logs"

# ---- replay the saved reproducers -----------------------------------------------------------------
if [[ $replay == 1 ]]; then
  status=0
  for t in "${TARGETS[@]}"; do
    dir=fuzz/crashers/${t#fuzz_}
    files=$(find "$dir" -type f ! -name '*.md' 2>/dev/null | sort)
    [[ -z $files ]] && continue
    for f in $files; do
      if FTPSIM_FUZZ_NO_FILTER=1 "$BUILD/$t" -runs=1 "$f" >"$BUILD/logs/replay.log" 2>&1; then
        echo "fixed   $t $f"
      else
        echo "FAILS   $t $f"; status=1
      fi
    done
  done
  exit $status
fi

# ---- fuzz -----------------------------------------------------------------------------------------
run_one() {
  local t=$1 name=${1#fuzz_}
  local corpus=$BUILD/corpus/$name artifacts=$BUILD/artifacts/$name/
  mkdir -p "$corpus" "$artifacts"
  local extra=()
  case $name in
    scenario) extra=(-max_len=16384) ;;
    command|server|client) extra=(-dict=fuzz/dict/ftp.dict) ;;
  esac
  "$BUILD/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "${extra[@]}" \
    "$corpus" "fuzz/corpus/$name" >"$BUILD/logs/$name.log" 2>&1
  echo $? >"$BUILD/logs/$name.rc"
}

for t in "${TARGETS[@]}"; do
  [[ -x $BUILD/$t ]] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
  run_one "$t" &
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
done
wait

status=0
printf '%-14s %6s %12s %9s %6s %7s %8s  %s\n' target rc execs exec/s cov ft corpus result
for t in "${TARGETS[@]}"; do
  name=${t#fuzz_}; log=$BUILD/logs/$name.log; rc=$(cat "$BUILD/logs/$name.rc" 2>/dev/null || echo 99)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -o '[0-9]*$')
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*'); ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[kKMb]*' <<<"$last" | cut -d' ' -f2)
  result=ok
  if [[ $rc != 0 ]]; then
    status=1
    result="FAILED: $(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|==FUZZ INVARIANT==.*|runtime error: .*|ERROR: libFuzzer: [a-z-]+' "$log")"
    art=$(grep -o 'Test unit written to .*' "$log" | tail -1 | cut -d' ' -f5)
    [[ -n $art ]] && result+=" ($art)"
  fi
  printf '%-14s %6s %12s %9s %6s %7s %8s  %s\n' "$name" "$rc" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
exit $status
