#!/usr/bin/env bash
# Huge and malformed inputs (issue #17 items 18-23): each gets a clear message and exit status 2
# (or, for the run's memory budget, a "Stopped:" outcome), never exit 3 or a crash, under a 2 GB
# address-space limit and a time limit. Run from tests/scenario (base.yaml).
set -u
. "$(dirname "$0")/../support/sh/common.sh" || exit 1  # vmem_limit
ftpsim=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
n=0
# expect STATUS STDERR-SUBSTRING ARGS...: runs ftpsim under ulimit -v 2G and a 120 s timeout.
expect() {
  local want_status=$1 want=$2; shift 2
  n=$((n + 1))
  got=$( (vmem_limit 2000000; timeout 120 "$ftpsim" "$@") 2>&1 >"$work/stdout")
  status=$?
  if [[ $status -ne $want_status || "$got" != *"$want"* ]]; then
    echo "FAIL ftpsim $*: status $status (expected $want_status), stderr: ${got:0:400}"
    fail=1
  fi
}

# 20: non-UTF-8 text, and a raw NUL, at their line and column.
printf 'title: "caf\xe9"\nnodes: {}\n' >"$work/latin1.yaml"
expect 2 "latin1.yaml:1:12: a byte that is not UTF-8 (0xe9)" run "$work/latin1.yaml"
printf 'title: t\ndescription: d\nseed: 1\x00\n' >"$work/nul.yaml"
expect 2 "nul.yaml:3:8: a NUL byte" run "$work/nul.yaml"
expect 2 "--set title=x" run base.yaml --set "$(printf 'title=x\xff')"

# 23: messages.
expect 2 "limits.time: expected a duration from 0s to 1000000000s (about 31 years), found '1e18s'" \
  run base.yaml --set limits.time=1e18s
expect 2 "limits.time: expected a duration from 0s to 1000000000s" run base.yaml --set limits.time=99999999999999999999s
# A "\0" escape in a quoted value: the message goes on after it.
expect 2 "clients.client.mode: expected one of" run base.yaml --set 'clients.client.mode="po\0rt"'
[[ "$got" == *"found 'po\\x00rt'"* ]] || { echo "FAIL: the NUL cut the message: $got"; fail=1; }
expect 2 "$work:0:0: is a directory, not a scenario file" run "$work"
expect 2 "$work/none.yaml:0:0: cannot open the scenario file: No such file or directory" run "$work/none.yaml"
expect 2 "/dev/zero:0:0: the scenario file is larger than 4194304 bytes" run /dev/zero
mkdir "$work/empty"
expect 2 "$work/empty: no scenario files (*.yaml) to check" check "$work/empty"
expect 2 "--vary clients.client.mode=pasv: the key clients.client.mode is already varied" \
  sweep base.yaml --vary clients.client.mode=port --vary clients.client.mode=pasv
n=$((n + 1))
got=$( (vmem_limit 2000000; timeout 120 "$ftpsim" run base.yaml --quiet) 2>&1 >/dev/full)
status=$?
[[ $status -ne 0 && $status -ne 3 && "$got" == *"writing the output failed: No space left on device"* ]] ||
  { echo "FAIL: run > /dev/full: status $status: $got"; fail=1; }

# 21, 22: what cannot be simulated is refused before simulating, with the range.
sized() {  # sized SIZE: base.yaml with /pub/file.bin of SIZE, as $work/sized.yaml
  sed "s|/pub/file.bin: 64KiB|/pub/file.bin: $1|" base.yaml >"$work/sized.yaml"
}
# Contents are generated on demand: the event limit bounds a file, not memory (docs/reliability.md).
sized 1000000000000000
expect 2 "servers.server.files./pub/file.bin: a file of 1000000000000000 bytes cannot be simulated, expected a size from 0 to 7300000000 bytes (limits.events x tcp.mss" \
  run "$work/sized.yaml"
expect 2 "servers.server.files./pub/file.bin: a file of 1000000000000000 bytes cannot be simulated, expected a size from 0 to 268435456 bytes (limits.memory / 4" \
  run "$work/sized.yaml" --set tcp.window=0
expect 2 "clients.client.script: an upload of 99999999999999 bytes cannot be simulated, expected a size from 0 to 7300000000 bytes" \
  run base.yaml --set 'clients.client.script=[login, put /up 99999999999999, quit]'
expect 2 "clients.client.script: an upload of 99999999999999999999999 bytes cannot be simulated" \
  run base.yaml --set 'clients.client.script=[login, put /up 99999999999999999999999, quit]' 
sized 1e16
expect 2 "expected a size from 0 to 1000000000000000 bytes (1e15)" run "$work/sized.yaml"
expect 2 "clients.client.count: expected a whole number from 1 to 10000, found '16000'" \
  run base.yaml --set clients.client.count=16000
expect 2 "clients.client: 110000 clients so far (count x hosts included), expected at most 100000 in a scenario" \
  run base.yaml --set clients.client.count=10000 --set clients.client.hosts=11
python3 - "$work/nodes.yaml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("title: many nodes\nnodes:\n")
    for i in range(20000):
        f.write("  n%d: {interfaces: [10.%d.%d.1/24]}\n" % (i, i // 256, i % 256))
    f.write("links: []\nclients:\n  n0: {server: 10.0.1.1:21}\n")
EOF
expect 2 "nodes: 20000 nodes, expected 1 to 1000" run "$work/nodes.yaml"
expect 2 "limits.memory: expected a memory budget from 16MiB to 64GiB" run base.yaml --set limits.memory=1KiB

# 22: the memory budget stops a run that grows (a 200 MiB transfer with a 1-byte window).
n=$((n + 1))
sized 200MiB
out=$( (vmem_limit 2000000; timeout 300 "$ftpsim" run "$work/sized.yaml" --quiet --set clients.client.mode=pasv \
  --set tcp.window=1 --set limits.memory=64MiB \
  --set limits.events=100000000) 2>&1)
status=$?
[[ ($status -eq 0 || $status -eq 1) && "$out" == *"Stopped: memory budget 64 MiB (limits.memory;"* ]] ||
  { echo "FAIL: memory budget: status $status: ${out:0:600}"; fail=1; }

# 18: a text ladder of hundreds of lanes is refused with a message (the JSON export still works).
python3 - "$work/lanes.yaml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("title: 300 hosts\nnodes:\n  server: {interfaces: [10.0.0.10/24], gateway: 10.0.0.1}\n")
    f.write("  r:\n    kind: router\n    interfaces:\n      - {name: s, address: 10.0.0.1/24}\n")
    for i in range(300):
        f.write("      - {name: c%d, address: 10.%d.%d.1/24}\n" % (i, 1 + i // 200, i % 200))
    for i in range(300):
        f.write("  c%d: {interfaces: [10.%d.%d.10/24], gateway: 10.%d.%d.1}\n" % (i, 1 + i // 200, i % 200, 1 + i // 200, i % 200))
    f.write("links:\n  - {between: [server, r]}\n")
    for i in range(300):
        f.write("  - {between: [c%d, r]}\n" % i)
    f.write("servers:\n  server: {files: {/f: 1KiB}}\nclients:\n")
    for i in range(300):
        f.write("  c%d: {server: 10.0.0.10:21, mode: pasv, script: [login, get /f, quit]}\n" % i)
EOF
n=$((n + 1))
out=$( (vmem_limit 2000000; timeout 300 "$ftpsim" run "$work/lanes.yaml" --export "$work/lanes.json") 2>&1 >/dev/null)
status=$?
[[ $status -eq 2 && "$out" == *"the text ladder would be about"*"over the limit of 64 MiB for text"* && -s "$work/lanes.json" ]] ||
  { echo "FAIL: text ladder of 300 clients: status $status: ${out:0:400}"; fail=1; }
expect 2 "over the limit of 64 MiB for text; export .svg or .json instead" import "$work/lanes.json"
expect 2 "--export $work/lanes.txt: the text ladder would be about" import "$work/lanes.json" --export "$work/lanes.txt"

echo "$n huge or malformed inputs checked"
exit $fail
