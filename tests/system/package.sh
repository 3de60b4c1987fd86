#!/usr/bin/env bash
# The Debian package, end to end (ctest label system):
#   1. cpack builds build/ftpsim_*.deb from BUILD (the already built binary, the scenario library,
#      the docs), with its Depends from dpkg-shlibdeps;
#   2. every shared library the binary needs directly (readelf NEEDED, resolved by ldd) belongs to
#      a package that Depends names; apt resolves the package's dependencies
#      (`apt-get install --simulate ./ftpsim_*.deb`);
#   3. it is installed: by default into a scratch root (dpkg --root, leaving this machine alone);
#      with FTPSIM_PACKAGE_INSTALL=apt onto this machine (`apt-get install ./ftpsim_*.deb`, root);
#   4. from the installed files: `ftpsim run` (the built-in scenario), `ftpsim list` (finds the
#      installed library relative to the binary), `ftpsim check` (every scenario of the installed
#      library, subfolders included, against its expected outcome), FTPSIM_LIBRARY and --library;
#      the installed tree still works when moved elsewhere; the binary holds no path of the
#      source tree;
#   5. it is removed, and its files are gone.
# Usage: package.sh BUILD_DIR SOURCE_DIR WORK_DIR. Exit 0 ok, 1 failed, 77 skipped (no dpkg).
set -uo pipefail
build=$1 src=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps readelf ldd; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed (tools/install-deps.sh --test)"; exit 77; }
done
mode=${FTPSIM_PACKAGE_INSTALL:-root}
rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"

# ---- 1. build the package ---------------------------------------------------------------------
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/pkg/ftpsim_*.deb)
[[ -f ${debs[0]} && ${#debs[@]} == 1 ]] || { ls -l "$work/pkg"; fail "expected one ftpsim_*.deb"; }
deb=${debs[0]}
echo "package: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
dpkg-deb -c "$deb" >"$work/contents.txt"
for f in ./usr/bin/ftpsim ./usr/share/ftpsim/scenarios/lecture-deck-passive-list.yaml \
         ./usr/share/ftpsim/scenarios/README.md ./usr/share/doc/ftpsim/README.md \
         ./usr/share/doc/ftpsim/reliability.md; do
  grep -q " $f\$" "$work/contents.txt" || fail "the package lacks $f"
done
grep -q "ftpsim-library-path" "$work/contents.txt" && fail "the build tree's marker file was packaged"

# ---- 2. dependencies --------------------------------------------------------------------------
mkdir -p "$work/x" && dpkg-deb -x "$deb" "$work/x"
deps=" $(tr ',|' '  ' <<<"$depends" | sed 's/([^)]*)//g') "
missing=0
for lib in $(readelf -d "$work/x/usr/bin/ftpsim" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  path=$(ldd "$work/x/usr/bin/ftpsim" | awk -v l="$lib" '$1 == l { print $3 }')
  [[ -n $path ]] || { echo "  $lib: not found by ldd"; missing=1; continue; }
  real=$(readlink -f "$path")
  pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null)
  pkg=${pkg%%:*}
  if [[ -z $pkg ]]; then echo "  $lib ($path): no package owns it"; missing=1
  elif [[ $deps != *" $pkg "* ]]; then echo "  $lib: from $pkg, which Depends does not name"; missing=1
  fi
done
[[ $missing == 0 ]] || fail "Depends misses a library's package"
[[ $deps == *" fonts-dejavu-core "* ]] || fail "Depends lacks fonts-dejavu-core (the GUI's fonts)"
if command -v apt-get >/dev/null; then
  apt-get install --simulate -o Debug::NoLocking=1 "$deb" >"$work/apt-sim.log" 2>&1 ||
    { cat "$work/apt-sim.log"; fail "apt cannot resolve the package's dependencies"; }
  echo "apt-get install --simulate: ok"
fi

# ---- 3. install -------------------------------------------------------------------------------
if [[ $mode == apt ]]; then
  [[ $(id -u) == 0 ]] || fail "FTPSIM_PACKAGE_INSTALL=apt needs root"
  dpkg-query -W ftpsim >/dev/null 2>&1 && fail "a package ftpsim is already installed here; not touching it"
  root=/
  remove() { apt-get remove -y -qq -o DPkg::Lock::Timeout=300 ftpsim >"$work/remove.log" 2>&1; }
  trap 'remove' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$deb" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "apt-get install failed"; }
else
  root=$work/root
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" && touch "$root/var/lib/dpkg/status"
  force=(--force-depends --force-script-chrootless)
  [[ $(id -u) == 0 ]] || force+=(--force-not-root)
  remove() { dpkg --root="$root" "${force[@]}" --log=/dev/null -r ftpsim >"$work/remove.log" 2>&1; }
  dpkg --root="$root" "${force[@]}" --log=/dev/null -i "$deb" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "dpkg --root -i failed"; }
fi
ftpsim=$root/usr/bin/ftpsim
ftpsim=${ftpsim//\/\//\/}
lib=$root/usr/share/ftpsim/scenarios
lib=${lib//\/\//\/}
echo "installed (mode $mode) as $ftpsim"

# ---- 4. run from the installed files ----------------------------------------------------------
cd "$work" || fail "cd $work"
unset FTPSIM_LIBRARY
"$ftpsim" run >"$work/run.txt" 2>&1 || { cat "$work/run.txt"; fail "ftpsim run failed"; }
grep -q "226" "$work/run.txt" || { cat "$work/run.txt"; fail "ftpsim run: the default scenario's transfer (226) is missing"; }
"$ftpsim" list >"$work/list.txt" 2>&1 || { cat "$work/list.txt"; fail "ftpsim list failed"; }
top=$(find "$lib" -maxdepth 1 -name '*.yaml' | wc -l)
grep -qxF "$top scenarios in $lib" "$work/list.txt" || { tail -2 "$work/list.txt"; fail "ftpsim list: expected '$top scenarios in $lib'"; }
all=$(find "$lib" -name '*.yaml' | wc -l)
rig=$(find "$lib/rig" -name '*.yaml' | wc -l)
(( rig > 0 )) || fail "the installed library has no rig cells"
"$ftpsim" check >"$work/check.txt" 2>&1 || { grep -v '^PASS' "$work/check.txt"; fail "ftpsim check failed"; }
grep -qxF "$all passed, 0 failed" "$work/check.txt" || { tail -3 "$work/check.txt"; fail "ftpsim check: expected all $all scenarios (subfolders included) to pass"; }
[[ $(grep -c "^PASS $lib/rig/" "$work/check.txt") == "$rig" ]] || fail "ftpsim check did not check the $rig rig cells"
echo "ftpsim check: $all scenarios passed ($rig of them real-stack cells in rig/)"
matrix=$(find "$lib/matrix" -maxdepth 1 -name '*.yaml' | wc -l)
FTPSIM_LIBRARY=$lib/matrix "$ftpsim" list >"$work/env.txt" 2>&1 && grep -qxF "$matrix scenarios in $lib/matrix" "$work/env.txt" ||
  { cat "$work/env.txt"; fail "FTPSIM_LIBRARY is not used"; }
"$ftpsim" --library "$lib/matrix" list >"$work/opt.txt" 2>&1 && grep -qxF "$matrix scenarios in $lib/matrix" "$work/opt.txt" ||
  { cat "$work/opt.txt"; fail "--library is not used"; }
"$ftpsim" list --library "$lib/matrix" >"$work/opt.txt" 2>&1 && grep -qxF "$matrix scenarios in $lib/matrix" "$work/opt.txt" ||
  { cat "$work/opt.txt"; fail "--library after the subcommand is not used"; }
"$ftpsim" --library "$work/nowhere" list >"$work/bad.txt" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "nowhere: no such folder" "$work/bad.txt" || { cat "$work/bad.txt"; fail "--library to a missing folder: expected exit 2 and a message, got $rc"; }
# moved elsewhere, the installed tree still finds its library
mkdir -p "$work/moved/opt" && cp -a "$root/usr" "$work/moved/opt/ftpsim"
"$work/moved/opt/ftpsim/bin/ftpsim" list >"$work/moved.txt" 2>&1 &&
  grep -qxF "$top scenarios in $work/moved/opt/ftpsim/share/ftpsim/scenarios" "$work/moved.txt" ||
  { cat "$work/moved.txt"; fail "the moved installation does not find its library"; }
rm -rf "$work/moved"
# without a library, a clear message and exit 2
mkdir -p "$work/bare/bin" && cp "$ftpsim" "$work/bare/bin/"
"$work/bare/bin/ftpsim" list >"$work/bare.txt" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "no scenario library found" "$work/bare.txt" || { cat "$work/bare.txt"; fail "no library: expected exit 2 and a message, got $rc"; }
"$work/bare/bin/ftpsim" run >/dev/null 2>&1 || fail "ftpsim run needs no library (its default scenario is built in)"
grep -qF "$src" "$ftpsim" && fail "the installed binary holds the source path $src"
echo "run, list, check, FTPSIM_LIBRARY, --library, moved tree, no library: ok"

# ---- 5. remove --------------------------------------------------------------------------------
trap - EXIT
remove || { cat "$work/remove.log"; fail "removing the package failed"; }
[[ -e $ftpsim || -e $lib ]] && fail "files left after removal: $ftpsim $lib"
echo "removed"
rm -rf "$work/root" "$work/x" "$work/bare"
exit 0
