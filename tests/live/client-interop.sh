#!/usr/bin/env bash
# `ftpsim get | put | ls` against a real FTP server on loopback, in every data connection mode
# the server supports; every download and upload compared byte for byte by sha256sum.
#
#   client-interop.sh FTPSIM vsftpd|pyftpdlib|serve
#
#   vsftpd     Debian's /usr/sbin/vsftpd, standalone (listen=YES, background=NO), anonymous with
#              an upload folder; run as root. Modes: PORT, EPRT, PASV, EPSV.
#   pyftpdlib  /usr/bin/python3 -m pyftpdlib -w, on 127.0.0.1 and on [::1]. Same four modes
#              (EPRT and EPSV only on [::1]).
#              Neither server knows SPSV (both answer 500/502): that refusal is checked too.
#   serve      `ftpsim serve` (live mode's own server), the four modes, plus SPSV against a
#              second `ftpsim serve --profile rfc959` (its vsftpd profile refuses SPSV); and
#              EPRT/EPSV on a third one on [::1].
#
# Ports are picked at run time. The servers are killed and the work folder removed on every
# exit (trap). A missing tool is a failure with a message, not a skip.
set -u -o pipefail

FTPSIM=${1:?usage: client-interop.sh FTPSIM vsftpd|pyftpdlib|serve}
SERVER=${2:?usage: client-interop.sh FTPSIM vsftpd|pyftpdlib|serve}
PY=/usr/bin/python3

die() { echo "FAIL: $*" >&2; exit 1; }
for t in sha256sum timeout ss "$PY"; do command -v "$t" >/dev/null 2>&1 || die "$t is not installed (tools/install-deps.sh --test)"; done
[ -x "$FTPSIM" ] || die "$FTPSIM is not an executable"
case $SERVER in
  vsftpd) [ -x /usr/sbin/vsftpd ] || die "/usr/sbin/vsftpd is not installed (apt-get install vsftpd)"
          [ "$(id -u)" = 0 ] || die "vsftpd standalone needs root (it chroots the anonymous user)" ;;
  pyftpdlib) "$PY" -c 'import pyftpdlib' 2>/dev/null || die "pyftpdlib is missing (apt-get install python3-pyftpdlib)" ;;
  serve) ;;
  *) die "unknown server '$SERVER' (expected vsftpd, pyftpdlib or serve)" ;;
esac

WORK=$(mktemp -d /tmp/ftpsim-client-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {  # free_port ADDR -> a port nothing listens on right now
  "$PY" -c 'import socket,sys; f=socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s=socket.socket(f); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}
wait_listen() {  # wait_listen PORT PID
  for _ in $(seq 100); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# The served tree: a 3 MiB binary file (every byte value, deterministic) and a small text file.
ROOT=$WORK/root
mkdir -p "$ROOT/incoming" "$WORK/out" "$WORK/empty"
"$PY" -c 'import random,sys; r=random.Random(10); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(3*1024*1024+17)))' > "$ROOT/big.bin"
printf 'small file\r\nline two\n' > "$ROOT/small.txt"
chmod 755 "$WORK" "$ROOT"
chmod 644 "$ROOT/big.bin" "$ROOT/small.txt"

PORT=$(free_port 127.0.0.1)
HOST=127.0.0.1
V6PORT=
case $SERVER in
  vsftpd)
    chown ftp: "$ROOT/incoming" 2>/dev/null || chmod 777 "$ROOT/incoming"
    PASV_LO=$(free_port 127.0.0.1)
    [ "$PASV_LO" -gt 65000 ] && PASV_LO=40000
    cat > "$WORK/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
background=NO
seccomp_sandbox=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$ROOT
write_enable=YES
anon_upload_enable=YES
anon_umask=022
pasv_enable=YES
pasv_min_port=$PASV_LO
pasv_max_port=$((PASV_LO + 20))
port_enable=YES
connect_from_port_20=NO
dirmessage_enable=NO
xferlog_enable=NO
secure_chroot_dir=$WORK/empty
pam_service_name=vsftpd
ssl_enable=NO
EOF
    /usr/sbin/vsftpd "$WORK/vsftpd.conf" > "$WORK/server.log" 2>&1 &
    PIDS+=($!) ;;
  pyftpdlib)
    chmod 777 "$ROOT/incoming"
    "$PY" -m pyftpdlib -i 127.0.0.1 -p "$PORT" -d "$ROOT" -w > "$WORK/server.log" 2>&1 &
    PIDS+=($!)
    if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1",0))' 2>/dev/null; then
      V6PORT=$(free_port ::1)
      "$PY" -m pyftpdlib -i ::1 -p "$V6PORT" -d "$ROOT" -w > "$WORK/server6.log" 2>&1 &
      PIDS+=($!)
      wait_listen "$V6PORT" "${PIDS[-1]}" || { cat "$WORK/server6.log" >&2; die "pyftpdlib did not listen on [::1]:$V6PORT"; }
    else
      echo "note: no IPv6 loopback here; the [::1] cases are left out" >&2
    fi ;;
  serve)
    # ftpsim serve's flags (live/server, docs/live.md): a writable anonymous root. Its default
    # profile (vsftpd) refuses SPSV like the real one; the rfc959 profile speaks it: a second
    # server with that profile serves the spsv cases.
    chmod 777 "$ROOT/incoming"
    "$FTPSIM" serve --listen "127.0.0.1:$PORT" --root "$ROOT" --writable > "$WORK/server.log" 2>&1 &
    PIDS+=($!)
    SPSV_PORT=$(free_port 127.0.0.1)
    "$FTPSIM" serve --listen "127.0.0.1:$SPSV_PORT" --root "$ROOT" --writable --profile rfc959 > "$WORK/server-rfc959.log" 2>&1 &
    PIDS+=($!)
    wait_listen "$SPSV_PORT" "${PIDS[-1]}" || { cat "$WORK/server-rfc959.log" >&2; die "ftpsim serve --profile rfc959 did not listen on port $SPSV_PORT"; }
    if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1",0))' 2>/dev/null; then
      V6PORT=$(free_port ::1)
      "$FTPSIM" serve --listen "[::1]:$V6PORT" --root "$ROOT" --writable > "$WORK/server6.log" 2>&1 &
      PIDS+=($!)
      wait_listen "$V6PORT" "${PIDS[-1]}" || { cat "$WORK/server6.log" >&2; die "ftpsim serve did not listen on [::1]:$V6PORT"; }
    else
      echo "note: no IPv6 loopback here; the [::1] cases are left out" >&2
    fi ;;
esac
wait_listen "$PORT" "${PIDS[0]}" || { cat "$WORK/server.log" >&2; die "$SERVER did not listen on port $PORT"; }

FAILS=0
CHECKS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { CHECKS=$((CHECKS + 1)); }
sha() { sha256sum "$1" | cut -d' ' -f1; }
run() {  # run LOG ARGS... : ftpsim bounded in wall time (a hang is a failure, not a slow pass)
  local log=$1; shift
  timeout 120 "$FTPSIM" "$@" --timeout 20 > "$log.out" 2> "$log.err"
}

URL=ftp://$HOST:$PORT
MODES="port eprt pasv epsv"
[ "$SERVER" = serve ] && MODES="$MODES spsv"

for mode in $MODES; do
  tag=$SERVER-$mode
  URL=ftp://$HOST:$PORT
  [ "$mode" = spsv ] && URL=ftp://$HOST:$SPSV_PORT
  # ls: the listing names both files
  if run "$WORK/out/ls-$mode" ls "$URL/" --mode "$mode"; then
    grep -q 'big.bin' "$WORK/out/ls-$mode.out" && grep -q 'small.txt' "$WORK/out/ls-$mode.out" && ok ||
      fail "$tag ls: the listing lacks big.bin or small.txt: $(cat "$WORK/out/ls-$mode.out")"
  else
    fail "$tag ls exited $?: $(cat "$WORK/out/ls-$mode.err")"
  fi
  # get: both files, byte-identical
  for f in big.bin small.txt; do
    if run "$WORK/out/get-$mode-$f" get "$URL/$f" -o "$WORK/out/$mode-$f" --mode "$mode"; then
      [ "$(sha "$WORK/out/$mode-$f")" = "$(sha "$ROOT/$f")" ] && ok || fail "$tag get $f: checksum differs"
    else
      fail "$tag get $f exited $?: $(cat "$WORK/out/get-$mode-$f.err")"
    fi
  done
  # put: both files into incoming/, byte-identical on the server's disk
  for f in big.bin small.txt; do
    if run "$WORK/out/put-$mode-$f" put "$ROOT/$f" "$URL/incoming/$mode-$f" --mode "$mode"; then
      [ -f "$ROOT/incoming/$mode-$f" ] && [ "$(sha "$ROOT/incoming/$mode-$f")" = "$(sha "$ROOT/$f")" ] && ok ||
        fail "$tag put $f: the server's copy differs or is missing"
    else
      fail "$tag put $f exited $?: $(cat "$WORK/out/put-$mode-$f.err")"
    fi
  done
done

URL=ftp://$HOST:$PORT

# Every client profile with its own default mode (classic: PORT; curl: EPSV; the others: PASV).
for profile in curl ftplib lftp filezilla classic textbook; do
  if run "$WORK/out/profile-$profile" get "$URL/big.bin" -o "$WORK/out/profile-$profile.bin" --profile "$profile"; then
    [ "$(sha "$WORK/out/profile-$profile.bin")" = "$(sha "$ROOT/big.bin")" ] && ok || fail "$SERVER profile $profile: checksum differs"
  else
    fail "$SERVER profile $profile exited $?: $(cat "$WORK/out/profile-$profile.err")"
  fi
done

# A host name, resolved with getaddrinfo (every address is tried in turn).
if getent ahostsv4 localhost 2>/dev/null | grep -q '^127\.0\.0\.1'; then
  if run "$WORK/out/name" ls "ftp://localhost:$PORT/"; then
    grep -q 'small.txt' "$WORK/out/name.out" && ok || fail "$SERVER ls ftp://localhost: no small.txt"
  else
    fail "$SERVER ls ftp://localhost:$PORT/ exited $?: $(cat "$WORK/out/name.err")"
  fi
fi

# Bad arguments: exit 2 with a message naming the argument, before any connection.
for bad in "get ftp://$HOST:$PORT/small.txt --mode active|--mode: unknown data connection mode 'active'" \
           "get ftp:/$HOST/x|bad URL 'ftp:/$HOST/x'" \
           "ls ftp://$HOST:70000/|is not in 1-65535" \
           "get ftp://$HOST:$PORT/small.txt --profile wget|--profile: unknown client profile 'wget'" \
           "put $WORK/no-such-file ftp://$HOST:$PORT/x|FILE $WORK/no-such-file: No such file or directory"; do
  args=${bad%%|*}; want=${bad#*|}
  # shellcheck disable=SC2086
  timeout 60 "$FTPSIM" $args > "$WORK/out/bad.out" 2> "$WORK/out/bad.err"
  rc=$?
  if [ $rc = 2 ] && grep -qF -- "$want" "$WORK/out/bad.err"; then ok
  else fail "ftpsim $args: exit $rc (expected 2 and '$want'): $(cat "$WORK/out/bad.err")"; fi
done

# The URL's directory with a trailing slash: put keeps the file's own name.
if run "$WORK/out/put-dir" put "$ROOT/small.txt" "$URL/incoming/"; then
  [ "$(sha "$ROOT/incoming/small.txt")" = "$(sha "$ROOT/small.txt")" ] && ok || fail "$SERVER put to a folder URL: copy differs"
else
  fail "$SERVER put to a folder URL exited $?: $(cat "$WORK/out/put-dir.err")"
fi

# -v prints the dialogue; --trace records it (the transfer, its 226 and its byte count).
if run "$WORK/out/trace" get "$URL/small.txt" -o "$WORK/out/traced.txt" -v --trace "$WORK/out/trace.json"; then
  grep -q '^> RETR small.txt' "$WORK/out/trace.err" && grep -q '^< 226' "$WORK/out/trace.err" && ok ||
    fail "$SERVER -v: no '> RETR small.txt' / '< 226' in: $(cat "$WORK/out/trace.err")"
  # -v masks the password (the server may accept anonymous without one: then no PASS line at all)
  ! grep -q '^> PASS [^*]' "$WORK/out/trace.err" && ok || fail "$SERVER -v shows the password"
  "$PY" - "$WORK/out/trace.json" "$(stat -c %s "$ROOT/small.txt")" <<'EOF' && ok || fail "$SERVER --trace: the trace is not as expected"
import json, sys
t = json.load(open(sys.argv[1]))
size = int(sys.argv[2])
tr = t["outcome"]["transfers"]
assert len(tr) == 1 and tr[0]["command"] == "RETR" and tr[0]["reply"] == 226 and tr[0]["bytes"] == size, tr
assert t["outcome"]["ok"] is True
texts = [e.get("text", "") for e in t["events"]]
assert any(x.startswith("RETR small.txt") for x in texts), texts
assert [n["name"] for n in t["nodes"]] == ["client", "server"], t["nodes"]
EOF
else
  fail "$SERVER --trace run exited $?: $(cat "$WORK/out/trace.err")"
fi

# A missing file: exit 1, the server's 550 reply printed, no output file left behind.
run "$WORK/out/missing" get "$URL/no-such-file" -o "$WORK/out/missing.bin"
rc=$?
if [ $rc = 1 ] && grep -q '550' "$WORK/out/missing.err" && [ ! -e "$WORK/out/missing.bin" ] && [ ! -e "$WORK/out/missing.bin.part" ]; then ok
else fail "$SERVER missing file: exit $rc (expected 1 with the 550 reply, no file): $(cat "$WORK/out/missing.err")"; fi

# SPSV against a server that does not know it (vsftpd, pyftpdlib, serve's vsftpd profile): a
# clean failure (exit 1 with the reply), no hang, no output file.
run "$WORK/out/spsv" get "$URL/small.txt" -o "$WORK/out/spsv.txt" --mode spsv
rc=$?
if [ $rc = 1 ] && grep -Eq 'SPSV -> (500|502)' "$WORK/out/spsv.err" && [ ! -e "$WORK/out/spsv.txt" ]; then ok
else fail "$SERVER spsv refused: exit $rc (expected 1 with the 500/502 reply to SPSV): $(cat "$WORK/out/spsv.err")"; fi

# IPv6 (pyftpdlib or ftpsim serve on [::1]): EPRT and EPSV, a listing and a download.
if [ -n "$V6PORT" ]; then
  for mode in eprt epsv; do
    if run "$WORK/out/v6-$mode" get "ftp://[::1]:$V6PORT/big.bin" -o "$WORK/out/v6-$mode.bin" --mode "$mode"; then
      [ "$(sha "$WORK/out/v6-$mode.bin")" = "$(sha "$ROOT/big.bin")" ] && ok || fail "[::1] get $mode: checksum differs"
    else
      fail "[::1] get $mode exited $?: $(cat "$WORK/out/v6-$mode.err")"
    fi
    if run "$WORK/out/v6-ls-$mode" ls "ftp://[::1]:$V6PORT/" --mode "$mode"; then
      grep -q 'big.bin' "$WORK/out/v6-ls-$mode.out" && ok || fail "[::1] ls $mode: no big.bin"
    else
      fail "[::1] ls $mode exited $?: $(cat "$WORK/out/v6-ls-$mode.err")"
    fi
  done
fi

echo "$SERVER: $CHECKS checks passed, $FAILS failed"
if [ $FAILS -ne 0 ]; then
  echo "--- server log" >&2; tail -n 30 "$WORK/server.log" >&2; [ -n "${KEEP_LOGS:-}" ] && cp -r "$WORK/out" "$KEEP_LOGS"
  exit 1
fi
[ $CHECKS -gt 0 ] || die "no check ran"
exit 0
