#!/usr/bin/env bash
# Every library scenario (scenarios/ and scenarios/rig/) gives the same JSON trace in the browser's
# engine as natively: the WebAssembly build of the simulator (single-threaded engine, libc++,
# Emscripten; DIR/node/ftpsim-run.js, the code the page runs) under Node.js against
# `ftpsim run --export x.json` (SimGrid engine, libstdc++, g++), byte for byte.
#   engine-equal.sh FTPSIM WEB_BUILD_DIR SOURCE_DIR
set -uo pipefail
ftpsim=$1 web=$2 src=$3
runner=$web/node/ftpsim-run.js
[[ -f $runner ]] || { echo "no $runner: the fixture test 'web: the site builds' makes it"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t files < <(find "$src/scenarios" -name '*.yaml' | sort)
compare() {
  local f=$1 tmp=$2 ftpsim=$3 runner=$4 id
  id=$(echo "$f" | md5sum | cut -c1-12)
  FTPSIM_ENGINE=simgrid "$ftpsim" run "$f" --export "$tmp/$id.native.json" >/dev/null 2>&1
  node "$runner" "$f" >"$tmp/$id.wasm.json" 2>"$tmp/$id.err"
  if [[ ! -s $tmp/$id.native.json ]]; then echo "FAIL $f: the native run wrote no JSON"; return 1; fi
  if ! cmp -s "$tmp/$id.native.json" "$tmp/$id.wasm.json"; then
    echo "FAIL $f: the traces differ ($(tail -c 300 "$tmp/$id.err"))"
    diff <(tr ',' '\n' <"$tmp/$id.native.json") <(tr ',' '\n' <"$tmp/$id.wasm.json") | head -8
    return 1
  fi
  echo "same $f"
}
export -f compare
printf '%s\n' "${files[@]}" | xargs -P "${FTPSIM_WEB_JOBS:-2}" -I{} bash -c 'compare "$@"' _ {} "$tmp" "$ftpsim" "$runner" >"$tmp/results.txt"
same=$(grep -c '^same ' "$tmp/results.txt")
failed=$(grep -c '^FAIL ' "$tmp/results.txt")
grep -A8 '^FAIL ' "$tmp/results.txt" | head -60
echo "engine-equal: ${#files[@]} library scenarios, $same identical, $failed different"
[[ $failed -eq 0 && $same -eq ${#files[@]} ]]
