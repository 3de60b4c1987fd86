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
# ftpsim sweep merge: shards of one sweep only, each once, none missing (docs/sweep.md).
shards=$(mktemp -d)
for k in 1 2 3; do
  "$ftpsim" sweep base.yaml --vary clients.client.mode=port,pasv,epsv --shard $k/3 --format json >"$shards/s$k.json"
done
"$ftpsim" sweep base.yaml --vary clients.client.mode=port,pasv --shard 1/3 --format json >"$shards/other.json"
echo '{"not": "a shard"}' >"$shards/junk.json"
check "$shards/s1.json: shards missing from the merge: 2/3" sweep merge "$shards/s1.json" "$shards/s3.json"
check "$shards/s1.json: shard 1/3 is also in $shards/s1.json" sweep merge "$shards/s1.json" "$shards/s1.json"
check "$shards/other.json: a shard of another sweep than $shards/s1.json" sweep merge "$shards/s1.json" "$shards/other.json"
check "$shards/junk.json: not a sweep shard" sweep merge "$shards/junk.json"
check "$shards/none.json: cannot open the shard file" sweep merge "$shards/none.json"
n=$((n + 1))
merged=$("$ftpsim" sweep merge "$shards/s3.json" "$shards/s1.json" "$shards/s2.json" --format csv)
single=$("$ftpsim" sweep base.yaml --vary clients.client.mode=port,pasv,epsv --format csv)
[[ "$merged" == "$single" ]] || { echo "FAIL sweep merge: $merged != $single"; fail=1; }
rm -rf "$shards"
# clients.*.hosts: the hosts' addresses stay inside the network and off other nodes' addresses.
check "base.yaml:28:5: clients.client.hosts: 300 hosts from 192.168.1.10 pass the end of the network 192.168.1.10/24" \
  run base.yaml --set clients.client.hosts=300
check "base.yaml:28:5: clients.client.hosts: 3 hosts from 192.168.1.10 to 192.168.1.12 include" \
  run base.yaml --set clients.client.hosts=3 --set nodes.home-router.interfaces.0.address=192.168.1.11/24
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
