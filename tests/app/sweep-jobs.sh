#!/usr/bin/env bash
# `ftpsim sweep --jobs N` prints byte for byte what --jobs 1 prints, in every format and with
# --shard, and stops on bad input with the message a serial run gives (docs/sweep.md).
set -u
ftpsim=$1
src=$2
scenario="$src/scenarios/matrix/which-mode-works-where.yaml"
vary=(--vary clients.client.mode=port,eprt,pasv,epsv,spsv,default
      --vary nodes.home-router.nat.type=full-cone,restricted,port-restricted,symmetric
      --vary nodes.home-router.alg.enabled=false,true --vary nodes.server-fw.firewall.enabled=false,true
      --vary seed=1,2)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
n=0
same() {  # same NAME ARGS...: --jobs 1, 2 and 3 exit 0 with the same standard output
  local name=$1; shift
  n=$((n + 1))
  for j in 1 2 3; do
    "$ftpsim" sweep "$@" --jobs $j --progress never >"$out/$name.$j" 2>"$out/$name.$j.err"
    local status=$?
    if [[ $status -ne 0 ]]; then
      echo "FAIL $name --jobs $j: status $status: $(cat "$out/$name.$j.err")"
      fail=1
    fi
  done
  for j in 2 3; do
    if ! cmp -s "$out/$name.1" "$out/$name.$j"; then
      echo "FAIL $name: --jobs $j prints other bytes than --jobs 1"
      diff "$out/$name.1" "$out/$name.$j" | head -5
      fail=1
    fi
  done
  if [[ ! -s "$out/$name.1" ]]; then
    echo "FAIL $name: no output"
    fail=1
  fi
}
for format in text csv json md; do
  same "$format" "$scenario" "${vary[@]}" --format "$format"
done
same shard-json "$scenario" "${vary[@]}" --shard 2/3 --format json
same shard-csv "$scenario" "${vary[@]}" --shard 3/3 --format csv
same shard-md "$scenario" "${vary[@]}" --shard 7/200 --format md  # one cell
same shard-none "$scenario" --vary seed=1,2 --shard 3/3 --format csv  # no cell: the header only
# 192 rows with a result each, 96 of them ok (the README's table twice)
[[ $(grep -c ',ok$' "$out/csv.1") -eq 96 && $(wc -l <"$out/csv.1") -eq 193 ]] ||
  { echo "FAIL csv: expected 192 rows, 96 ok"; fail=1; }

stops() {  # stops EXPECTED-STDERR ARGS...: --jobs 1, 2 and 3 exit 2 with exactly this message, 5 times
  local want=$1; shift
  n=$((n + 1))
  for i in 1 2 3 4 5; do
    for j in 1 2 3; do
      got=$("$ftpsim" sweep "$@" --jobs $j --progress never 2>&1 >/dev/null)
      status=$?
      if [[ $status -ne 2 || "$got" != "$want" ]]; then
        echo "FAIL ftpsim sweep $* --jobs $j (try $i): status $status, stderr: $got"
        fail=1
        return
      fi
    done
  done
}
# Two bad values in two dimensions: the first in --vary order, whichever worker loads it.
stops "--set nodes.home-router.nat.type=weird:1:28: nodes.home-router.nat.type: expected one of full-cone, restricted, port-restricted, symmetric, custom, found 'weird'" \
  "$scenario" --vary clients.client.mode=port,pasv --vary nodes.home-router.nat.type=full-cone,weird \
  --vary nodes.home-router.alg.enabled=true,maybe
# Each value is valid alone; one combination is refused (cells are run before it).
stops "$scenario:52:5: clients.client: 120000 clients so far (count x hosts included), expected at most 100000 in a scenario" \
  "$scenario" --vary clients.client.count=10,6000 --vary clients.client.hosts=20 --vary seed=1,2,3
echo "$n checks"
exit $fail
