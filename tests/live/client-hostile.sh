#!/usr/bin/env bash
# ftpsim get | put | ls against hostile and scripted servers (tests/live/hostile-server.py) on
# loopback, and with hostile local output targets (issue #17 items 10-16). Every case is bounded in
# time (timeout) and memory (ulimit -v); it fails when the client hangs, grows without bound,
# writes through a device, FIFO or link, or reports a failure wrongly.
set -u
. "$(dirname "$0")/../support/sh/common.sh" || exit 1  # vmem_limit
ftpsim=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
fail=0
n=0
bad() { echo "FAIL: $*"; fail=1; }

# start MODE: runs the server in the background, sets $port (and $srvlog for its command log).
start() {
  rm -f port.txt
  srvlog=$work/commands-$1.log
  python3 "$here/hostile-server.py" "$1" port.txt "$srvlog" &
  server_pid=$!
  for _ in $(seq 100); do [[ -s port.txt ]] && break; sleep 0.05; done
  port=$(cat port.txt)
}
stop() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }

# client LIMIT_S ARGS...: runs ftpsim under a 1 GB address-space limit and LIMIT_S seconds; sets
# $status, $err (stderr), $secs (elapsed, whole seconds).
client() {
  local limit=$1; shift
  n=$((n + 1))
  local t0=$SECONDS
  err=$( (vmem_limit 1000000; timeout "$limit" "$ftpsim" "$@") 2>&1 >out.txt)
  status=$?
  secs=$((SECONDS - t0))
}

# ---- 12: reply limits and the deadline ------------------------------------------------------
start longline
client 20 get "ftp://127.0.0.1:$port/f" -o f1 --timeout 10
[[ $status -eq 1 && "$err" == *"reply line longer than 4096 bytes"* && $secs -lt 5 ]] ||
  bad "longline: status $status after ${secs}s: $err"
stop

start flood
client 20 get "ftp://127.0.0.1:$port/f" -o f1 --timeout 10
[[ $status -eq 1 && "$err" == *"reply line longer than 4096 bytes"* && $secs -lt 5 ]] ||
  bad "flood: status $status after ${secs}s: $err"
stop

start trickle
client 20 get "ftp://127.0.0.1:$port/f" -o f1 --timeout 2
[[ $status -eq 1 && "$err" == *"timed out"* && $secs -lt 6 ]] ||
  bad "trickle (a line that never ends, a byte every 0.2 s): status $status after ${secs}s: $err"
stop

start multiline
client 20 get "ftp://127.0.0.1:$port/f" -o f1 --timeout 10
[[ $status -eq 1 && "$err" == *"reply passed 1048576 bytes without its last line"* && $secs -lt 5 ]] ||
  bad "endless multi-line reply: status $status after ${secs}s: $err"
stop

start slowmulti
client 20 get "ftp://127.0.0.1:$port/f" -o f1 --timeout 2
[[ $status -eq 1 && "$err" == *"timed out"* && $secs -lt 6 ]] ||
  bad "slow endless multi-line reply: status $status after ${secs}s: $err"
stop

start trickle
client 20 get "ftp://127.0.0.1:$port/f" -o f1 --timeout 30 --max-time 2
[[ $status -eq 1 && "$err" == *"longer than 2 s (--max-time)"* && $secs -lt 6 ]] ||
  bad "--max-time: status $status after ${secs}s: $err"
stop
[[ ! -e f1 ]] || bad "a failed download left f1"

# ---- 13: a data connection reset mid-transfer -----------------------------------------------
start reset
client 20 get "ftp://127.0.0.1:$port/f" -o f2 --mode pasv
[[ $status -eq 1 && "$err" == *"data connection was reset by the server"* && "$err" == *"226 done"* ]] ||
  bad "reset data connection: status $status: $err"
[[ ! -e f2 ]] || bad "the reset download left f2"
stop

# ---- 14: IPv6 uses EPRT / EPSV --------------------------------------------------------------
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
  for mode in pasv port; do
    start ipv6
    client 20 get "ftp://[::1]:$port/f" -o f3 --mode $mode --profile ftplib
    want=$([[ $mode == pasv ]] && echo EPSV || echo EPRT)
    [[ $status -eq 0 ]] && grep -q "^$want" "$srvlog" && ! grep -q "^PASV\|^PORT" "$srvlog" ||
      bad "IPv6 --mode $mode: status $status, commands: $(tr '\n' ' ' <"$srvlog"): $err"
    [[ $(stat -c %s f3 2>/dev/null) == 100000 ]] || bad "IPv6 --mode $mode: f3 is not 100000 bytes"
    rm -f f3
    stop
  done
else
  echo "no IPv6 loopback: the IPv6 cases are skipped"
fi

# ---- 15: control characters from the server are escaped ---------------------------------------
start escape
client 20 get "ftp://127.0.0.1:$port/f" -o f4 -v
[[ $status -eq 1 && "$err" != *$'\e'* && "$err" != *$'\a'* && "$err" == *'550 \x1b[31mno such file'* ]] ||
  bad "escape (get -v): status $status, raw escape in stderr: $(printf %q "$err")"
stop
start escape
client 20 ls "ftp://127.0.0.1:$port/" -v
listing=$(cat out.txt)
[[ $status -eq 0 && "$listing" != *$'\e'* && "$err" != *$'\e'* && "$listing" == *'\x1b[2J\x1b]0;x\x07evil\x0dspoof'* ]] ||
  bad "escape (ls): status $status, listing: $(printf %q "$listing")"
stop

# ---- 16: a 227 naming another host than the control peer --------------------------------------
start pasv-other
client 20 get "ftp://127.0.0.1:$port/f" -o f5 --mode pasv --profile classic
[[ $status -eq 0 && "$err" == *"warning: the server's reply names 127.0.0.2, not the control connection's peer 127.0.0.1"* ]] ||
  bad "227 to another host: status $status: $err"
stop
start pasv-other
client 20 get "ftp://127.0.0.1:$port/f" -o f6 --mode pasv --profile curl
[[ "$err" != *"warning"* ]] || bad "curl uses the control peer, no warning expected: $err"
stop

# ---- 10: device nodes and FIFOs are written to, never replaced --------------------------------
ln -s /dev/null null-link
start normal
client 20 get "ftp://127.0.0.1:$port/f" -o null-link
[[ $status -eq 0 && -L null-link && -c /dev/null ]] || bad "-o a link to /dev/null: status $status: $err; $(ls -l null-link)"
stop
mkfifo fifo
timeout 20 cat fifo >from-fifo &
reader=$!
sleep 0.3
start normal
client 20 get "ftp://127.0.0.1:$port/f" -o fifo
wait $reader
[[ $status -eq 0 && -p fifo && $(stat -c %s from-fifo) == 100000 ]] ||
  bad "-o FIFO: status $status, fifo still a FIFO: $([[ -p fifo ]] && echo yes || echo no), read $(stat -c %s from-fifo): $err"
stop
client 10 get "ftp://127.0.0.1:1/f" -o fifo  # nobody reads it: refused at once, no connection
[[ $status -eq 1 && "$err" == *"a FIFO that nobody reads"* && -p fifo && $secs -lt 5 ]] ||
  bad "-o FIFO without a reader: status $status after ${secs}s: $err"

# ---- 11: no write through planted links; temporaries are unpredictable --------------------------
echo "precious" >victim
ln -s victim out.bin.part
start normal
client 20 get "ftp://127.0.0.1:$port/f" -o out.bin
[[ $status -eq 0 && $(cat victim) == precious && $(stat -c %s out.bin) == 100000 && -L out.bin.part ]] ||
  bad "planted out.bin.part link: status $status, victim now $(head -c 20 victim): $err"
leftover=$(ls -a | grep '\.part$' | grep -vx 'out.bin.part')
[[ -z "$leftover" ]] || bad "a temporary file was left behind: $leftover"
stop
ln -s victim listing-link
start normal
client 20 ls "ftp://127.0.0.1:$port/" -o listing-link
[[ $status -eq 0 && $(cat victim) == precious && ! -L listing-link && $(grep -c ftp listing-link) == 2 ]] ||
  bad "ls -o LINK: status $status, victim now $(head -c 20 victim), $(ls -l listing-link): $err"
stop

echo "$n client cases against hostile servers and targets"
exit $fail
