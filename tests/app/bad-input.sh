#!/usr/bin/env bash
# Every malformed scenario in tests/scenario/bad gets exactly its expected message on stderr and
# exit status 2 from `ftpsim run`; so do bad command-line values. Run from tests/scenario.
set -u
ftpsim=$1
fail=0
n=0
for f in bad/*.yaml; do
  n=$((n + 1))
  expect=$(cat "${f%.yaml}.expect")
  got=$("$ftpsim" run "$f" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne 2 || "$got" != "$expect" ]]; then
    echo "FAIL $f: status $status"
    echo "  expected: $expect"
    echo "  got:      $got"
    fail=1
  fi
done
check() {  # check EXPECTED-STDERR-PREFIX ARGS...
  local want=$1; shift
  n=$((n + 1))
  got=$("$ftpsim" "$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne 2 || "$got" != "$want"* ]]; then
    echo "FAIL ftpsim $*: status $status, stderr: $got"
    fail=1
  fi
}
check "--set nodes.home-router.alg.enabld=true:1:30: unknown key 'enabld' in nodes.home-router.alg (did you mean 'enabled'?)" \
  run base.yaml --set nodes.home-router.alg.enabld=true
check "--export out.docx: unknown file extension" run base.yaml --export out.docx
check "--capture nowhere: expected client, server, or a hop" run base.yaml --capture nowhere
check "--vary clients.client.mode: expected KEY=V1,V2" sweep base.yaml --vary clients.client.mode
check "--set clients.client.mode=passive:1:21: clients.client.mode: expected one of" \
  sweep base.yaml --vary clients.client.mode=passive
check "--shard 3/2: expected K/N" sweep base.yaml --vary clients.client.mode=pasv --shard 3/2
check "nonexistent.yaml:0:0: cannot open the scenario file" run nonexistent.yaml
check "ftpsim: " run base.yaml --no-such-flag
n=$((n + 1))  # a bad engine choice in the environment (docs/network-model.md, "Engines")
got=$(FTPSIM_ENGINE=fast "$ftpsim" run base.yaml 2>&1 >/dev/null)
status=$?
if [[ $status -ne 2 || "$got" != "ftpsim: FTPSIM_ENGINE=fast: expected simgrid or single" ]]; then
  echo "FAIL FTPSIM_ENGINE=fast: status $status, stderr: $got"
  fail=1
fi
echo "$((n)) bad inputs checked"
exit $fail
