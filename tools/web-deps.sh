#!/usr/bin/env bash
# The browser build's dependencies (issue #21), all from Debian 12:
#   - emscripten 3.1.6 (em++, emcmake; GLFW 3 and WebGL 2 through its own ports) and chromium for
#     the headless browser test (packages);
#   - Dear ImGui 1.86 and yaml-cpp 0.7.0 as Debian's SOURCE packages (their -dev packages are
#     native only): `apt-get source` unpacks them, with Debian's patches, into .deps/web/ inside
#     the checkout (git-ignored), where the web build (web/web.cmake) compiles them with em++.
# Nothing is downloaded at build time; this runs once, as root, from tools/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=.deps/web

pkgs=(emscripten chromium dpkg-dev xz-utils python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_src=0
[[ -f $deps/imgui/imgui.cpp && -f $deps/yaml-cpp/CMakeLists.txt ]] || need_src=1
if ((${#missing[@]} == 0 && need_src == 0)); then
  echo "web-deps: emscripten, chromium and the ImGui/yaml-cpp sources present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "web-deps: missing: ${missing[*]:-} $( ((need_src)) && echo 'ImGui/yaml-cpp sources')); run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# apt-get source needs a deb-src entry for the mirror the machine already uses.
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "web-deps: adding deb-src for bookworm (apt-get source)"
  cat > /etc/apt/sources.list.d/ftpsim-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
fi
if ((${#missing[@]})); then
  echo "web-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((need_src)); then
  echo "web-deps: apt-get source imgui yaml-cpp into $deps"
  rm -rf "$deps" && mkdir -p "$deps"
  (cd "$deps" && apt-get source -qq imgui=1.86+ds-1 yaml-cpp=0.7.0+dfsg-8 >/dev/null 2>&1 ||
     apt-get source -qq imgui yaml-cpp >/dev/null 2>&1)
  (cd "$deps" && mv imgui-1.86* imgui 2>/dev/null; mv yaml-cpp-0.7.0* yaml-cpp 2>/dev/null;
   rm -f ./*.tar.* ./*.dsc; true)
  [[ -f $deps/imgui/imgui.cpp && -f $deps/yaml-cpp/CMakeLists.txt ]] ||
    { echo "web-deps: apt-get source did not unpack imgui and yaml-cpp into $deps" >&2; exit 1; }
fi
echo "web-deps: done"
