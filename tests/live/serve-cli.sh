#!/bin/bash
# ftpsim serve's command line and lifecycle:
#  - bad flags exit 2 with a message naming the flag and what was expected (never a crash)
#  - --max-clients: one login too many gets 421
#  - --max-transfer: a larger download is cut (426), a larger upload refused (451, vsftpd profile)
#  - users file: a named user logs in, a wrong password gets 530, ro users cannot write;
#    anonymous is read-only without --writable
#  - SIGTERM stops the server cleanly (exit 0) and writes the --trace file; --once stops after
#    the first session
# Usage: serve-cli.sh PATH/TO/ftpsim
set -u
FTPSIM=${1:?usage: serve-cli.sh FTPSIM}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
. "$HERE/serve-lib.sh"
need timeout grep
cleanup() {
    for p in ${A_PID:-} ${B_PID:-} ${C_PID:-}; do kill -KILL "$p" 2>/dev/null; done
    [ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

ROOT=$TMP/root
mkdir -p "$ROOT"
head -c 100000 /dev/urandom >"$ROOT/f100k.bin"
echo small >"$ROOT/small.txt"
echo "not a dir" >"$TMP/file"

# ---- bad input: exit 2 and a message -----------------------------------------------------------
bad() {  # expected-message-part args...
    local want=$1
    shift
    timeout 10 "$FTPSIM" serve "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
    local rc=$?
    [ $rc -eq 2 ] || { cat "$TMP/bad.err"; fail "serve $*: exit $rc, expected 2"; }
    grep -qF -- "$want" "$TMP/bad.err" || { cat "$TMP/bad.err"; fail "serve $*: message lacks '$want'"; }
}
bad "--listen nonsense: expected ADDR:PORT" --listen nonsense --root "$ROOT"
bad "--listen 127.0.0.1:99999: expected ADDR:PORT" --listen 127.0.0.1:99999 --root "$ROOT"
bad "--listen localhost:21: expected ADDR:PORT with a numeric address" --listen localhost:21 --root "$ROOT"
bad "--root $TMP/missing: No such file or directory" --root "$TMP/missing"
bad "--root $TMP/file: not a directory" --root "$TMP/file"
bad "root is required" --listen 127.0.0.1:0
bad "--passive-ports 5000-4000: expected A-B" --root "$ROOT" --passive-ports 5000-4000
bad "--passive-ports abc: expected A-B" --root "$ROOT" --passive-ports abc
bad "--passive-ports 0-10: expected A-B" --root "$ROOT" --passive-ports 0-10
bad "--profile" --root "$ROOT" --profile bogus
bad "--max-transfer 12X: expected a positive number of bytes" --root "$ROOT" --max-transfer 12X
bad "--max-clients" --root "$ROOT" --max-clients 0
printf 'alice secret\nbob\n' >"$TMP/users.bad"
bad "$TMP/users.bad:2: expected \"NAME PASSWORD [rw|ro]\", got only a name" --root "$ROOT" --users "$TMP/users.bad"
bad "--no-anonymous needs --users FILE" --root "$ROOT" --no-anonymous
# The address in use: a second server on the first one's port.
start_server A 127.0.0.1:0 --root "$ROOT"
bad "--listen 127.0.0.1:$A_PORT: bind 127.0.0.1:$A_PORT: Address already in use" --listen "127.0.0.1:$A_PORT" --root "$ROOT"
stop_server "$A_PID"; A_PID=
echo "ok bad input: 15 cases exit 2 with their message"

# ---- limits, users, writability, SIGTERM + trace -------------------------------------------------
printf '# users\nalice secret rw\nbob pw ro\n' >"$TMP/users"
start_server B 127.0.0.1:0 --root "$ROOT" --max-clients 2 --max-transfer 50K --users "$TMP/users" \
    --trace "$TMP/trace.json"
timeout 120 "$PY" - 127.0.0.1 "$B_PORT" "$ROOT" <<'EOF' || fail "limits/users checks failed"
import ftplib, io, os, socket, sys
host, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def login(user="anonymous", pw="x@"):
    f = ftplib.FTP(timeout=30); f.connect(host, port); f.login(user, pw); return f
def refused(fn, code):
    try:
        fn()
    except (ftplib.error_perm, ftplib.error_temp) as e:
        assert str(e).startswith(code), f"{e!r}, expected {code}"
        return
    raise AssertionError(f"expected {code}")
# --max-clients 2 counts logged-in sessions: the third is greeted, its login gets 421 (not 230).
a, b = login(), login()
s = socket.create_connection((host, port), timeout=30)
rf = s.makefile("rb")
greeting = rf.readline().decode()
assert greeting.startswith("220"), greeting
s.sendall(b"USER anonymous\r\n")
r = rf.readline().decode()
assert r.startswith("421"), r
assert rf.readline() == b"", "the connection stays open after 421"
s.close(); b.quit()
# --max-transfer 50K: a 100 kB download is cut (426), a 100 kB upload refused (452).
def retr_cut():
    try:
        a.retrbinary("RETR f100k.bin", lambda d: None)
    except ConnectionResetError:  # the server resets the data connection, then says 426
        a.getresp()
refused(retr_cut, "426")
a.retrbinary("RETR small.txt", lambda d: None)     # a small one still works
a.quit()
# Users: alice (rw) uploads; bob (ro) and anonymous (no --writable) cannot; a bad password: 530.
al = login("alice", "secret")
def stor_cut():
    try:
        al.storbinary("STOR big.bin", io.BytesIO(os.urandom(100000)))
    except ConnectionResetError:  # the server may reset the data connection while we still send
        al.getresp()
refused(stor_cut, "451")  # vsftpd: "451 Failure writing to local file."
al.storbinary("STOR alice.txt", io.BytesIO(b"from alice"))
assert open(os.path.join(root, "alice.txt"), "rb").read() == b"from alice"
al.mkd("alice-dir"); al.rmd("alice-dir")
al.quit()
bo = login("bob", "pw")
refused(lambda: bo.storbinary("STOR bob.txt", io.BytesIO(b"x")), "5")
refused(lambda: bo.mkd("bob-dir"), "550")
refused(lambda: bo.delete("alice.txt"), "550")
bo.quit()
an = login()
refused(lambda: an.storbinary("STOR anon.txt", io.BytesIO(b"x")), "5")
an.quit()
assert not any(os.path.exists(os.path.join(root, n)) for n in ("bob.txt", "bob-dir", "anon.txt", "big.bin"))
refused(lambda: login("alice", "wrong"), "530")
print("ok limits and users: 421 over --max-clients, 426/451 over --max-transfer, rw/ro/anonymous, 530")
EOF
stop_server "$B_PID"
rc=$?
B_PID=
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc, expected 0"
grep -q 'ftpsim serve: stopped' "$TMP/B.out" || fail "SIGTERM: no 'stopped' line"
[ -s "$TMP/trace.json" ] || fail "SIGTERM: the trace was not written"
"$PY" - "$TMP/trace.json" <<'EOF' || fail "the trace is not what the sessions did"
import json, sys
t = json.load(open(sys.argv[1]))
texts = [e.get("text", "") for e in t["events"]]
for want in ("USER alice", "STOR alice.txt", "RETR f100k.bin", "421", "451", "426"):
    assert any(want in x for x in texts), f"no event with {want!r}"
names = [n["name"] for n in t["nodes"]]
assert "server" in names and "client" in names, names
print(f"ok trace: {len(t['events'])} events, {len(t['connections'])} connections, {len(names)} lanes")
EOF
echo "ok SIGTERM: exit 0, trace written"

# ---- --once ---------------------------------------------------------------------------------------
start_server C 127.0.0.1:0 --root "$ROOT" --once --trace "$TMP/once.json"
timeout 60 "$PY" -c "
import ftplib, sys
f = ftplib.FTP(timeout=30); f.connect('127.0.0.1', $C_PORT); f.login()
f.retrbinary('RETR small.txt', lambda d: None); f.quit()" || fail "--once: the session failed"
for i in $(seq 1 100); do kill -0 "$C_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$C_PID" 2>/dev/null && fail "--once: still running 10 s after the session ended"
wait "$C_PID"; rc=$?; C_PID=
[ $rc -eq 0 ] || fail "--once: exit $rc"
[ -s "$TMP/once.json" ] || fail "--once: no trace"
echo "ok --once: stopped after the session, trace written"
# Both traces validate against the trace's JSON Schema (docs/trace.schema.json).
"$PY" "$HERE/../schema/validate_traces.py" "$HERE/../../docs/trace.schema.json" "$TMP/trace.json" "$TMP/once.json" ||
    fail "serve --trace wrote a trace that does not validate against docs/trace.schema.json"
echo "ok serve --trace validates against the schema"
echo PASS
