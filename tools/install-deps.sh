#!/usr/bin/env bash
# Installs the Debian 12 packages ftpsim needs, only those that are missing.
#   tools/install-deps.sh           build + run dependencies
#   tools/install-deps.sh --test    also the test tools (validators, Xvfb, tshark, real FTP peers,
#                                   the Debian packaging tools, the fuzz build's clang, munge and
#                                   Slurm for the batch-system test)
set -euo pipefail

build_pkgs=(cmake g++ make pkg-config libsimgrid-dev libimgui-dev libglfw3-dev doctest-dev libjemalloc-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev nlohmann-json3-dev libstb-dev libpcap-dev
  fonts-dejavu-core)
test_pkgs=(xvfb xauth tshark plantuml mscgen librsvg2-bin libxml2-utils
  vsftpd lftp curl python3-pyftpdlib python3-jsonschema nftables iptables conntrack iproute2 tcpdump tayga
  clang libclang-rt-14-dev dpkg-dev file binutils munge slurmctld slurmd slurm-client)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
  want+=("${test_pkgs[@]}")
  # The Mermaid validator needs node and npm; a machine that has them from elsewhere (e.g.
  # NodeSource) keeps its own, since Debian's npm would conflict with it.
  command -v npm >/dev/null || want+=(nodejs npm)
fi

# The Mermaid validator (tests/viz/mermaid: mermaid + jsdom) and the browser test's driver
# (tests/web: playwright-core, which drives Debian's chromium) from the npm registry, pinned by
# their package-lock.json; then the browser build's own dependencies (tools/web-deps.sh:
# emscripten, chromium, the ImGui and yaml-cpp source packages). Without them those tests fail
# and say how to install them.
mermaid_deps() {
  local dir here
  here="$(dirname "$0")"
  [[ "${1:-}" == "--test" ]] || return 0
  for dir in "$here/../tests/viz/mermaid" "$here/../tests/web"; do
    if [[ -f "$dir/package-lock.json" && ! -d "$dir/node_modules" ]] && command -v npm >/dev/null; then
      echo "install-deps: npm ci in ${dir#"$here/../"}"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        echo "install-deps: npm ci failed in $dir; its tests will fail" >&2
    fi
  done
  "$here/web-deps.sh" || echo "install-deps: tools/web-deps.sh failed; the browser-build tests will fail" >&2
}

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  mermaid_deps "${1:-}"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
# tshark asks whether non-root users may capture; answer before it asks.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
mermaid_deps "${1:-}"
echo "install-deps: done"
