#!/bin/bash
# ftpsim serve against real clients on loopback, in every mode each supports:
#   curl   : EPSV, PASV (--disable-epsv), EPRT (-P), PORT (-P --disable-eprt)
#   lftp   : EPSV (prefer-epsv), PASV, PORT (passive-mode off); EPRT on IPv6 (::1)
#   ftplib : PASV, PORT (set_pasv(False)), EPSV (af trick), EPRT and EPSV on IPv6 (::1);
#            SPSV/SPDT on the control port (rfc959 profile, a raw second connection)
# Each: a listing, a download and an upload of a 3 MB binary file and a small text file,
# compared byte for byte by sha256; the mode actually used is checked in the client's log.
# Usage: serve-interop.sh PATH/TO/ftpsim
set -u
FTPSIM=${1:?usage: serve-interop.sh FTPSIM}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
. "$HERE/serve-lib.sh"
need curl lftp sha256sum timeout
cleanup() {
    [ -n "${V4_PID:-}" ] && kill -KILL "$V4_PID" 2>/dev/null
    [ -n "${V6_PID:-}" ] && kill -KILL "$V6_PID" 2>/dev/null
    [ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

ROOT=$TMP/root
mkdir -p "$ROOT/up" "$ROOT/sub"
head -c 3000000 /dev/urandom >"$ROOT/big.bin"
printf 'hello from ftpsim serve\r\nsecond line\n' >"$ROOT/small.txt"
echo nested >"$ROOT/sub/nested.txt"
BIG=$(sha "$ROOT/big.bin")
SMALL=$(sha "$ROOT/small.txt")

start_server V4 127.0.0.1:0 --root "$ROOT" --writable --profile vsftpd
start_server V6 '[::1]:0' --root "$ROOT" --writable --profile rfc959
echo "servers: 127.0.0.1:$V4_PORT (vsftpd profile), [::1]:$V6_PORT (rfc959 profile)"

pass=0
check_file() {  # what expected-sha file
    local what=$1 want=$2 file=$3
    [ -f "$file" ] || fail "$what: $file missing"
    [ "$(sha "$file")" = "$want" ] || fail "$what: $file differs (sha256 $(sha "$file"), expected $want)"
    pass=$((pass + 1))
}
check_log() {  # what log pattern
    grep -qE -e "$3" "$2" || { cat "$2" >&2; fail "$1: the log does not show $3"; }
}

# ---- curl -------------------------------------------------------------------------------------
curl_mode() {
    local mode=$1 host=$2 port=$3
    shift 3
    local d=$TMP/curl-$mode log=$TMP/curl-$mode.log
    mkdir -p "$d"
    local url="ftp://$host:$port"
    timeout 60 curl -sS -v --max-time 30 "$@" "$url/" -o "$d/list" 2>"$log" || { cat "$log" >&2; fail "curl $mode: LIST failed"; }
    grep -q 'big.bin' "$d/list" || fail "curl $mode: big.bin not in the listing"
    timeout 60 curl -sS -v --max-time 30 "$@" "$url/big.bin" -o "$d/big.bin" 2>>"$log" || { cat "$log" >&2; fail "curl $mode: RETR failed"; }
    timeout 60 curl -sS -v --max-time 30 "$@" "$url/small.txt" -o "$d/small.txt" 2>>"$log" || fail "curl $mode: RETR small failed"
    timeout 60 curl -sS -v --max-time 30 "$@" -T "$ROOT/big.bin" "$url/up/curl-$mode.bin" 2>>"$log" || { cat "$log" >&2; fail "curl $mode: STOR failed"; }
    timeout 60 curl -sS -v --max-time 30 "$@" -T "$ROOT/small.txt" "$url/up/curl-$mode.txt" 2>>"$log" || fail "curl $mode: STOR small failed"
    check_file "curl $mode download" "$BIG" "$d/big.bin"
    check_file "curl $mode download" "$SMALL" "$d/small.txt"
    check_file "curl $mode upload" "$BIG" "$ROOT/up/curl-$mode.bin"
    check_file "curl $mode upload" "$SMALL" "$ROOT/up/curl-$mode.txt"
    echo "ok curl $mode"
}
curl_mode epsv 127.0.0.1 "$V4_PORT"
check_log "curl epsv" "$TMP/curl-epsv.log" '^> EPSV'
curl_mode pasv 127.0.0.1 "$V4_PORT" --disable-epsv
check_log "curl pasv" "$TMP/curl-pasv.log" '^> PASV'
! grep -q '^> EPSV' "$TMP/curl-pasv.log" || fail "curl pasv: EPSV was sent"
curl_mode eprt 127.0.0.1 "$V4_PORT" -P 127.0.0.1
check_log "curl eprt" "$TMP/curl-eprt.log" '^> EPRT \|1\|127\.0\.0\.1\|'
curl_mode port 127.0.0.1 "$V4_PORT" -P 127.0.0.1 --disable-eprt
check_log "curl port" "$TMP/curl-port.log" '^> PORT 127,0,0,1,'
curl_mode eprt6 '[::1]' "$V6_PORT" -P ::1
check_log "curl eprt6" "$TMP/curl-eprt6.log" '^> EPRT \|2\|::1\|'

# ---- lftp -------------------------------------------------------------------------------------
lftp_mode() {
    local mode=$1 host=$2 port=$3 settings=$4
    local d=$TMP/lftp-$mode log=$TMP/lftp-$mode.log
    mkdir -p "$d"
    timeout 90 lftp -d -c "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 20; set xfer:clobber on; \
        $settings; open -u anonymous,lftp@ -p $port $host; \
        cls -1 / > $d/list; get big.bin -o $d/big.bin; get small.txt -o $d/small.txt; \
        put $ROOT/big.bin -o up/lftp-$mode.bin; put $ROOT/small.txt -o up/lftp-$mode.txt" >"$log" 2>&1 \
        || { tail -30 "$log" >&2; fail "lftp $mode failed"; }
    grep -q 'big.bin' "$d/list" || fail "lftp $mode: big.bin not in the listing"
    check_file "lftp $mode download" "$BIG" "$d/big.bin"
    check_file "lftp $mode download" "$SMALL" "$d/small.txt"
    check_file "lftp $mode upload" "$BIG" "$ROOT/up/lftp-$mode.bin"
    check_file "lftp $mode upload" "$SMALL" "$ROOT/up/lftp-$mode.txt"
    echo "ok lftp $mode"
}
lftp_mode epsv 127.0.0.1 "$V4_PORT" "set ftp:passive-mode on; set ftp:prefer-epsv yes"
check_log "lftp epsv" "$TMP/lftp-epsv.log" '---> EPSV'
lftp_mode pasv 127.0.0.1 "$V4_PORT" "set ftp:passive-mode on; set ftp:prefer-epsv no"
check_log "lftp pasv" "$TMP/lftp-pasv.log" '---> PASV'
lftp_mode port 127.0.0.1 "$V4_PORT" "set ftp:passive-mode off; set ftp:port-range 40000-60000"
check_log "lftp port" "$TMP/lftp-port.log" '---> PORT 127,0,0,1,'
# lftp 4.9 announces the unspecified address (EPRT |2|::|p|), which vsftpd and pyftpdlib (and
# their profiles) refuse as a foreign address; the rfc959 profile accepts it (:: is this host).
lftp_mode eprt6 ::1 "$V6_PORT" "set ftp:passive-mode off"
check_log "lftp eprt6" "$TMP/lftp-eprt6.log" '---> EPRT \|2\|::\|'

# ---- ftplib -----------------------------------------------------------------------------------
timeout 180 "$PY" "$HERE/serve-ftplib.py" "$ROOT" 127.0.0.1 "$V4_PORT" ::1 "$V6_PORT" \
    || fail "ftplib checks failed"

stop_server "$V4_PID"; V4_PID=
stop_server "$V6_PID"; V6_PID=
echo "PASS: $pass curl/lftp file comparisons + ftplib"
