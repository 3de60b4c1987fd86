#!/bin/bash
# 200 concurrent ftplib clients against ftpsim serve, with hostile clients at the same time
# (serve-load.py says which). The server runs with --data-timeout 10 and --idle-timeout 30 so
# the stalled and the idle client are dealt with within the test; the time limits only catch hangs.
# Usage: serve-load.sh PATH/TO/ftpsim [CLIENTS]
set -u
FTPSIM=${1:?usage: serve-load.sh FTPSIM [CLIENTS]}
CLIENTS=${2:-200}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
. "$HERE/serve-lib.sh"
need timeout truncate
cleanup() {
    [ -n "${S_PID:-}" ] && kill -KILL "$S_PID" 2>/dev/null
    [ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ROOT=$TMP/root
mkdir -p "$ROOT/up"
head -c 262144 /dev/urandom >"$ROOT/load.bin"
truncate -s 64M "$ROOT/huge.bin"            # larger than the socket buffers: the stall shows
# Links that leave the root point at a decoy, never at system files: the server is writable.
mkdir -p "$TMP/decoy-etc"
echo "root:x:0:0::/root:/bin/sh" >"$TMP/decoy-etc/passwd"
ln -s "$TMP/decoy-etc" "$ROOT/etc-link"
ln -s "$TMP/decoy-etc/passwd" "$ROOT/passwd-link"
ln -s ../decoy-etc "$ROOT/outside-dir-link"
ln -s load.bin "$ROOT/inside-link"

start_server S 127.0.0.1:0 --root "$ROOT" --writable --profile vsftpd --max-clients 400 \
    --max-per-address 1000 --max-unauthenticated 1000 --data-timeout 10 --idle-timeout 30 -v
echo "server on 127.0.0.1:$S_PORT; $CLIENTS clients + 5 hostile"
timeout 500 "$PY" "$HERE/serve-load.py" 127.0.0.1 "$S_PORT" "$ROOT" "$CLIENTS"
rc=$?
kill -0 "$S_PID" 2>/dev/null || fail "ftpsim serve died during the load test"
stop_server "$S_PID"; S_PID=
grep -c 'control connection from' "$TMP/S.err" | sed 's/^/server sessions: /'
[ $rc -eq 0 ] || fail "serve-load.py failed (exit $rc)"
echo PASS
