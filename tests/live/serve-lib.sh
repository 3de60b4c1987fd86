# Shared helpers of the serve-*.sh tests (sourced, not run).
# start_server NAME ARGS...: starts `ftpsim serve --listen ADDR:0 ARGS` in the background, waits
# for its "listening on" line and sets NAME_PID and NAME_PORT. The port is the kernel's choice
# (--listen ...:0), so parallel tests never collide.

fail() { echo "FAIL: $*" >&2; exit 1; }

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || fail "the test needs '$tool' (tools/install-deps.sh --test installs it)"
    done
}

PY=/usr/bin/python3
[ -x "$PY" ] || fail "the test needs Debian's /usr/bin/python3 (ftplib)"

start_server() {
    local name=$1 listen=$2
    shift 2
    local out="$TMP/$name.out" err="$TMP/$name.err"
    "$FTPSIM" serve --listen "$listen" "$@" >"$out" 2>"$err" &
    local pid=$!
    local i port=""
    for i in $(seq 1 200); do
        port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\), root.*/\1/p' "$out" | head -1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; fail "$name: ftpsim serve exited before listening"; }
        sleep 0.1
    done
    [ -n "$port" ] || { kill "$pid"; fail "$name: no 'listening on' line within 20 s"; }
    eval "${name}_PID=$pid; ${name}_PORT=$port"
}

stop_server() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null
    local i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "ftpsim serve (pid $pid) did not stop within 10 s of SIGTERM"
    fi
    wait "$pid"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
