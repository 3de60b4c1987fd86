#!/usr/bin/env bash
# Builds the teaching app for the browser (issue #21): the same simulator and app compiled to
# WebAssembly with Debian's Emscripten. The site is DIR/site (default build-web/site): static
# files (index.html, ftpsim.js, ftpsim.wasm with the scenario library and fonts inside) that any
# static file server serves, no special headers needed:
#   tools/build-web.sh && python3 -m http.server -d build-web/site 8000   # then open localhost:8000
# DIR/node/ftpsim-run.js is the same engine for Node.js (the engine-equality test).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-web}
if ! command -v emcmake >/dev/null || [[ ! -f .deps/web/imgui/imgui.cpp ]]; then
  tools/web-deps.sh  # installs emscripten and unpacks the source packages (as root)
fi
emcmake cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j"${FTPSIM_WEB_JOBS:-2}"
echo "build-web: the site is $out/site (serve it: python3 -m http.server -d $out/site 8000)"
