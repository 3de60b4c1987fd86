# Shared helpers of the shell tests (sourced, not run):
#   . "$(dirname "$0")/../support/sh/common.sh"
# expect_bad_input reads the sourcing script's $ftpsim (the binary) and counts in its $n (checks
# run) and $fail (1 once a check failed).

# vmem_limit KB: caps this shell's address space (ulimit -v), usually a subshell's around one
# ftpsim run. ASan reserves terabytes of address space for its shadow memory, so under
# tools/sanitize.sh (FTPSIM_SANITIZED=1) the limit stays off; the normal run checks the memory bounds.
vmem_limit() { [ -n "${FTPSIM_SANITIZED:-}" ] || ulimit -v "$1"; }

# expect_bad_input EXPECTED-STDERR-PREFIX ARGS...: `$ftpsim ARGS` must exit 2 with a stderr that
# starts with the expected text; sets $got to that stderr.
expect_bad_input() {
  local want=$1 status
  shift
  n=$((n + 1))
  got=$("$ftpsim" "$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status -ne 2 || "$got" != "$want"* ]]; then
    echo "FAIL ftpsim $*: status $status, stderr: $got"
    fail=1
  fi
}

# only_printable TEXT: true when TEXT is valid UTF-8 without a control character: no C0 byte but
# the line feed, no DEL, no C1 control (U+0080-U+009F), no bidirectional control or line
# separator (U+200E, U+200F, U+2028-U+202E, U+2066-U+2069). What a diagnostic prints must pass.
only_printable() {
  local LC_ALL=C
  printf '%s' "$1" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 || return 1
  [[ $1 != *[$'\x01'-$'\x09'$'\x0b'-$'\x1f'$'\x7f']* ]] || return 1
  [[ $1 != *$'\xc2'[$'\x80'-$'\x9f']* ]] || return 1
  [[ $1 != *$'\xe2\x80'[$'\x8e'$'\x8f'$'\xa8'-$'\xae']* && $1 != *$'\xe2\x81'[$'\xa6'-$'\xa9']* ]]
}
