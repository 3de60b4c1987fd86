#!/usr/bin/env bash
# Every malformed scenario in tests/scenario/bad gets exactly its expected message on stderr and
# exit status 2 from `ftpsim run`; so do bad command-line values. Run from tests/scenario.
set -u
. "$(dirname "$0")/../support/sh/common.sh" || exit 1  # expect_bad_input, only_printable
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
expect_bad_input "--set nodes.home-router.alg.enabld=true:1:30: unknown key 'enabld' in nodes.home-router.alg (did you mean 'enabled'?)" \
  run base.yaml --set nodes.home-router.alg.enabld=true
expect_bad_input "--export out.docx: unknown file extension" run base.yaml --export out.docx
expect_bad_input "--capture nowhere: expected client, server, or a hop" run base.yaml --capture nowhere
expect_bad_input "--vary clients.client.mode: expected KEY=V1,V2" sweep base.yaml --vary clients.client.mode
expect_bad_input "--set clients.client.mode=passive:1:21: clients.client.mode: expected one of" \
  sweep base.yaml --vary clients.client.mode=passive
expect_bad_input "--shard 3/2: expected K/N" sweep base.yaml --vary clients.client.mode=pasv --shard 3/2
# ftpsim sweep merge: shards of one sweep only, each once, none missing (docs/sweep.md).
shards=$(mktemp -d)
for k in 1 2 3; do
  "$ftpsim" sweep base.yaml --vary clients.client.mode=port,pasv,epsv --shard $k/3 --format json >"$shards/s$k.json"
done
"$ftpsim" sweep base.yaml --vary clients.client.mode=port,pasv --shard 1/3 --format json >"$shards/other.json"
echo '{"not": "a shard"}' >"$shards/junk.json"
expect_bad_input "$shards/s1.json: shards missing from the merge: 2/3" sweep merge "$shards/s1.json" "$shards/s3.json"
expect_bad_input "$shards/s1.json: shard 1/3 is also in $shards/s1.json" sweep merge "$shards/s1.json" "$shards/s1.json"
expect_bad_input "$shards/other.json: a shard of another sweep than $shards/s1.json" sweep merge "$shards/s1.json" "$shards/other.json"
expect_bad_input "$shards/junk.json: not a sweep shard" sweep merge "$shards/junk.json"
expect_bad_input "$shards/none.json: cannot open the shard file" sweep merge "$shards/none.json"
n=$((n + 1))
merged=$("$ftpsim" sweep merge "$shards/s3.json" "$shards/s1.json" "$shards/s2.json" --format csv)
single=$("$ftpsim" sweep base.yaml --vary clients.client.mode=port,pasv,epsv --format csv)
[[ "$merged" == "$single" ]] || { echo "FAIL sweep merge: $merged != $single"; fail=1; }
rm -rf "$shards"
# clients.*.hosts: the hosts' addresses stay inside the network and off other nodes' addresses.
expect_bad_input "base.yaml:28:5: clients.client.hosts: 300 hosts from 192.168.1.10 pass the end of the network 192.168.1.10/24" \
  run base.yaml --set clients.client.hosts=300
expect_bad_input "base.yaml:28:5: clients.client.hosts: 3 hosts from 192.168.1.10 to 192.168.1.12 include" \
  run base.yaml --set clients.client.hosts=3 --set nodes.home-router.interfaces.0.address=192.168.1.11/24
expect_bad_input "nonexistent.yaml:0:0: cannot open the scenario file" run nonexistent.yaml
expect_bad_input "ftpsim: " run base.yaml --no-such-flag
n=$((n + 1))  # a bad engine choice in the environment (docs/network-model.md, "Engines")
got=$(FTPSIM_ENGINE=fast "$ftpsim" run base.yaml 2>&1 >/dev/null)
status=$?
if [[ $status -ne 2 || "$got" != "ftpsim: FTPSIM_ENGINE=fast: expected simgrid or single" ]]; then
  echo "FAIL FTPSIM_ENGINE=fast: status $status, stderr: $got"
  fail=1
fi

# Control bytes in what a message quotes (a scenario's value, a client script line, a --set
# argument, a file name, a flag's value) are printed escaped: exit 2, the location, the escape,
# and no raw control byte, C1 control or byte that is not UTF-8 (they could drive the terminal).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
escaped() {  # escaped EXPECTED-STDERR-PREFIX EXPECTED-ESCAPE ARGS...
  local want=$1 escape=$2 status
  shift 2
  n=$((n + 1))
  got=$("$ftpsim" "$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne 2 || "$got" != "$want"* || "$got" != *"$escape"* ]] || ! only_printable "$got"; then
    echo "FAIL ftpsim $(printf '%q ' "$@"): status $status, stderr: $(printf '%q' "$got")"
    fail=1
  fi
}
sed 's|mode: port|mode: "\\e[2Jpasv\\x88\\u202e"|' base.yaml >"$work/value.yaml"
escaped "$work/value.yaml:29:11: clients.client.mode: expected one of" "found '\\x1b[2Jpasv\\u0088\\u202e'" \
  run "$work/value.yaml"
sed 's|script: \[login, get /pub/file.bin, quit\]|script: [login, "raw \\u009b2JX", quit]|' base.yaml >"$work/script.yaml"
escaped "$work/script.yaml:28:5: clients.client.script: 'raw \\u009b2JX': raw: expected an FTP verb" \
  "found '\\u009b2JX'" run "$work/script.yaml"
escaped "--set clients.client.mode=\\x9b31m\\x1b]0;x\\x07:1:21: a byte that is not UTF-8 (0x9b)" "" \
  run base.yaml --set $'clients.client.mode=\x9b31m\e]0;x\a'
escaped "--set clients.client.mode=\\u009b:1:21: clients.client.mode: expected one of" "found '\\u009b'" \
  sweep base.yaml --vary $'clients.client.mode=\xc2\x9b,pasv'
escaped "none\\x1b[2J\\x88.yaml:0:0: cannot open the scenario file" "" run $'none\e[2J\x88.yaml'
escaped "ftpsim: --view: \\x1b[31mred not in" "" run base.yaml --view $'\e[31mred'
escaped "--export x\\x1b[1m.docx: unknown file extension" "" run base.yaml --export $'x\e[1m.docx'
escaped "none\\x1b]0;t\\x07: no such file or folder" "" check $'none\e]0;t\a'
escaped "ftpsim: --library \\x1b[2Jlib: no such folder" "" --library $'\e[2Jlib' list
escaped "none\\x9b.pcap: cannot open the file" "" import $'none\x9b.pcap'
escaped "ftpsim get: --mode: unknown data connection mode '\\x1b[2J'" "" get ftp://127.0.0.1:1/x --mode $'\e[2J'
escaped "ftpsim serve: --root /none\\x1b[2J: No such file or directory" "" serve --root $'/none\e[2J'
escaped "ftpsim serve: --trace /none\\x1b[2J/t.json: cannot write" "" \
  serve --listen 127.0.0.1:0 --root . --trace $'/none\e[2J/t.json'
# Printable UTF-8 is quoted as it is.
escaped "--set clients.client.mode=café→:1:21: clients.client.mode: expected one of" "found 'café→'" \
  run base.yaml --set 'clients.client.mode=café→'
echo "$((n)) bad inputs checked"
exit $fail
