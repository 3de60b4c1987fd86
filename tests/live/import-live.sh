#!/usr/bin/env bash
# A live session recorded by `ftpsim serve --trace` and the same session captured by tcpdump and
# read by `ftpsim import` draw the same ladder: same lanes, and in compressed time the same rows
# (arrows with their lanes, labels and ports). Two curl sessions: PASV and PORT, each a LIST and a
# RETR. Then an SPSV download (`ftpsim get --mode spsv` against `serve --profile rfc959`): the
# import must find the SPDT data connection on the control port and its bytes.
# Runs in a private network namespace (its own loopback), so no other test's traffic is captured
# and the fixed ports cannot collide. Needs root, ip, tcpdump, curl, /usr/bin/python3.
set -u
ftpsim=$1
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
for tool in ip tcpdump curl cmp; do
  command -v "$tool" >/dev/null 2>&1 || fail "the test needs '$tool' (tools/install-deps.sh --test installs it)"
done
[[ -x /usr/bin/python3 ]] || fail "the test needs Debian's /usr/bin/python3"
[[ $(id -u) -eq 0 ]] || fail "the test needs root (a network namespace and tcpdump)"

ns=ftpsim-import-$$
work=$(mktemp -d)
serve_pid="" dump_pid=""
cleanup() {
  [[ -n $serve_pid ]] && kill -KILL "$serve_pid" 2>/dev/null
  [[ -n $dump_pid ]] && kill -KILL "$dump_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns" || fail "cannot create network namespace $ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

mkdir -p "$work/root"
head -c 300000 /dev/urandom > "$work/root/file.bin"
echo "a small file" > "$work/root/small.txt"

stop() {  # stop PID SIGNAL: bounded, so a hang fails the test instead of blocking it
  kill "-$2" "$1" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && fail "pid $1 did not stop within 10 s of SIG$2"
  wait "$1"
}
# start NAME SERVE-ARGS...: serve (trace NAME.json) and tcpdump (NAME.pcap) in the namespace.
# `ip netns exec` execs its command, so $! is the process itself.
start() {
  local name=$1; shift
  ip netns exec "$ns" "$ftpsim" serve --listen 127.0.0.1:2121 --root "$work/root" --trace "$work/$name.json" "$@" \
    >"$work/$name.serve.out" 2>"$work/$name.serve.err" &
  serve_pid=$!
  ip netns exec "$ns" tcpdump -i lo -U -w "$work/$name.pcap" 'tcp' 2>"$work/$name.tcpdump.err" &
  dump_pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/$name.serve.out" 2>/dev/null && grep -q "listening on" "$work/$name.tcpdump.err" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening on" "$work/$name.serve.out" || fail "ftpsim serve did not start: $(cat "$work/$name.serve.err")"
  grep -q "listening on" "$work/$name.tcpdump.err" || fail "tcpdump did not start: $(cat "$work/$name.tcpdump.err")"
}
# finish NAME: stops serve (which writes the trace), waits for the capture, stops tcpdump.
finish() {
  local name=$1
  sleep 0.3   # the last FINs
  stop "$serve_pid" TERM; serve_pid=""
  # tcpdump stops at once on SIGINT and drops what it has not read yet: wait until the capture
  # file has stopped growing (a busy machine delays it), at most 20 s.
  local last=-1 size
  for _ in $(seq 1 40); do
    size=$(stat -c %s "$work/$name.pcap")
    [[ $size -eq $last ]] && break
    last=$size
    sleep 0.5
  done
  stop "$dump_pid" INT; dump_pid=""
  [[ -s $work/$name.json ]] || fail "ftpsim serve wrote no trace"
}
view=(--time compressed --hide-notes --hide-sockets --color never)

# ---- PASV and PORT with curl: the live trace and the capture draw the same ladder ----
start live --passive-ports 30000-30009
url=ftp://127.0.0.1:2121
in_ns curl -sS --max-time 20 --ftp-pasv --disable-epsv "$url/" -o "$work/list-pasv.txt" "$url/file.bin" -o "$work/pasv.bin" \
  || fail "curl PASV session failed"
in_ns curl -sS --max-time 20 -P 127.0.0.1 --disable-eprt "$url/" -o "$work/list-port.txt" "$url/file.bin" -o "$work/port.bin" \
  || fail "curl PORT session failed"
cmp -s "$work/pasv.bin" "$work/root/file.bin" || fail "PASV download differs"
cmp -s "$work/port.bin" "$work/root/file.bin" || fail "PORT download differs"
finish live

"$ftpsim" import "$work/live.json" --export "$work/live.txt" "${view[@]}" || fail "ftpsim import live.json failed"
"$ftpsim" import "$work/live.pcap" --export "$work/imported.json" --export "$work/cap.txt" "${view[@]}" \
  || fail "ftpsim import live.pcap failed"
# The imported trace as JSON draws the same as the capture it came from.
"$ftpsim" import "$work/imported.json" --export "$work/imported.txt" "${view[@]}" || fail "ftpsim import imported.json failed"
cmp -s "$work/cap.txt" "$work/imported.txt" || fail "the imported JSON draws differently from its capture"
for want in "PASV" "PORT 127,0,0,1," "LIST" "RETR file.bin" "DATA 300000 B"; do
  grep -qF -- "$want" "$work/cap.txt" || fail "the imported ladder lacks '$want'"
done
if out=$(/usr/bin/python3 "$here/import_compare.py" ladder "$work/live.txt" "$work/cap.txt"); then
  echo "ok: live recording and capture draw the same ladder ($(grep -c -- '-->\|<--' "$work/cap.txt") arrows)"
else
  echo "$out"
  fail "the live recording and the capture draw different ladders"
fi

# ---- SPSV: the data connection is a second connection to port 2121, named by SPDT ----
start spsv --profile rfc959
in_ns "$ftpsim" get ftp://127.0.0.1:2121/file.bin -o "$work/spsv.bin" --mode spsv --profile classic --timeout 20 \
  || fail "ftpsim get --mode spsv failed"
cmp -s "$work/spsv.bin" "$work/root/file.bin" || fail "SPSV download differs"
finish spsv
"$ftpsim" import "$work/spsv.pcap" --export "$work/spsv-imported.json" --export "$work/spsv-cap.txt" "${view[@]}" \
  || fail "ftpsim import spsv.pcap failed"
/usr/bin/python3 - "$work/spsv-imported.json" <<'PY' || fail "the SPSV capture was not imported as one session with an SPDT data connection"
import json, sys
t = json.load(open(sys.argv[1]))
conns = t["connections"]
assert [c["purpose"] for c in conns] == ["control", "data"], conns
assert conns[1]["control_id"] == 0 and conns[1]["initiator"] == "client", conns[1]
assert conns[1]["initiator_remote"]["port"] == 2121, conns[1]
lines = [(e["conn"], e["text"]) for e in t["events"] if e["kind"] in ("ftp-command", "ftp-reply")]
spdt = [x for x in lines if x[0] == 1]
assert len(spdt) == 3 and spdt[1][1].startswith("SPDT ") and spdt[2][1] == "200 DATA", spdt
data = [e for e in t["events"] if e["kind"] == "data-bytes"]
assert len(data) == 1 and data[0]["conn"] == 1 and data[0]["payload_len"] == 300000, data
assert [n["name"] for n in t["nodes"]] == ["client", "server"], t["nodes"]
print("ok: SPSV capture: one session, the SPDT connection is its data connection (300000 bytes)")
PY
"$ftpsim" import "$work/spsv.json" --export "$work/spsv-live.txt" "${view[@]}" || fail "ftpsim import spsv.json failed"
if out=$(/usr/bin/python3 "$here/import_compare.py" ladder "$work/spsv-live.txt" "$work/spsv-cap.txt"); then
  echo "ok: SPSV: live recording and capture draw the same ladder"
else
  echo "$out"
  fail "SPSV: the live recording and the capture draw different ladders"
fi
