#!/usr/bin/env bash
# Every input of the fuzz corpora through the command line, under ulimit -v 2G: `ftpsim import`
# for fuzz/corpus/import and the crashers, `ftpsim run --quiet` for fuzz/corpus/scenario. None
# may exit 3 (internal error) or crash (a signal); a run that takes over 20 s is stopped and
# counted as a pass (the limits.time/limits.events of the scenario decide how long it runs).
set -u
. "$(dirname "$0")/../support/sh/common.sh" || exit 1  # vmem_limit
ftpsim=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
fail=0
n=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT
one() {  # one ARGS...
  n=$((n + 1))
  (vmem_limit 2000000; timeout 20 "$ftpsim" "$@" >/dev/null 2>"$err")
  local status=$?
  if [[ $status -eq 3 || ($status -gt 128 && $status -ne 124) ]]; then
    echo "FAIL ftpsim $*: status $status: $(head -c 300 "$err")"
    fail=1
  fi
}
for f in "$root"/fuzz/corpus/import/* "$root"/fuzz/crashers/import/*; do
  [[ -f $f && $(basename "$f") != README.md ]] && one import "$f"
done
for f in "$root"/fuzz/corpus/scenario/*; do
  [[ -f $f ]] && one run "$f" --quiet
done
echo "$n corpus inputs run"
exit $fail
