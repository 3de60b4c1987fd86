#!/usr/bin/env bash
# Slides from the command line: `ftpsim run` exports an SVG with the selection options (a hidden
# router lane, the login skipped, a step range, the connections shown, the font size, the legend);
# the SVG is well-formed (xmllint), renders (rsvg-convert) and holds what was asked, and bad
# option values exit 2 with a message. Also runs the README's slide examples.
set -u
ftpsim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }

"$ftpsim" run home-router-alg-active-port-21 -q --hide-lane linksys --skip-login --connections control,data \
  --font-size 23 --legend -o "$dir/a.svg" >/dev/null || die "export status $?"
xmllint --noout "$dir/a.svg" || die "xmllint"
rsvg-convert "$dir/a.svg" -o "$dir/a.png" || die "rsvg-convert"
[[ -s "$dir/a.png" ]] || die "empty PNG"
grep -q 'font-size="23"' "$dir/a.svg" || die "font size 23 not applied"
grep -q '>control connection</text>' "$dir/a.svg" || die "no legend"
grep -q '>linksys<' "$dir/a.svg" && die "hidden lane linksys still drawn"
grep -q '>client<' "$dir/a.svg" || die "client lane missing"
grep -q '>USER ' "$dir/a.svg" && die "login not skipped"
grep -q '>PORT ' "$dir/a.svg" || die "PORT (the first announcement) missing"
grep -q '>SYN<' "$dir/a.svg" && die "signalling shown although --connections control,data"

# The full export has more arrows than a step range of it.
"$ftpsim" run lecture-deck-passive-list -q --steps 5-8 --no-legend -o "$dir/b.svg" >/dev/null || die "steps status $?"
xmllint --noout "$dir/b.svg" || die "xmllint steps"
grep -q '>control connection</text>' "$dir/b.svg" && die "--no-legend left a legend"
"$ftpsim" run lecture-deck-passive-list -q --from 0.010s --to 0.050s -o "$dir/c.svg" -o "$dir/c.txt" >/dev/null || die "time range status $?"
xmllint --noout "$dir/c.svg" || die "xmllint time range"

# The README's and --help's slide examples run.
( cd "$dir" &&
  "$ftpsim" run lecture-deck-passive-list -q --skip-login --fold-handshakes --font-size 22 -o slide.svg >/dev/null &&
  "$ftpsim" run lecture-deck-passive-list -q --steps 5-20 --connections control,data -o steps.svg >/dev/null &&
  "$ftpsim" run lecture-deck-passive-list -q --from 0.010s --to 0.050s --no-legend -o window.svg >/dev/null &&
  "$ftpsim" run home-router-alg-active-port-21 -q --hide-lane linksys --skip-login -o no-router.svg >/dev/null ) ||
  die "an example failed"

# Side by side: two runs of one scenario, a heading per pane naming the knob values.
"$ftpsim" run home-router-alg-active-port-21 --set nodes.linksys.alg.enabled=false \
  --compare nodes.linksys.alg.enabled=true --skip-login -o "$dir/cmp.svg" >"$dir/cmp.out" || die "compare status $?"
xmllint --noout "$dir/cmp.svg" || die "xmllint compare"
rsvg-convert "$dir/cmp.svg" -o "$dir/cmp.png" || die "rsvg-convert compare"
grep -q '>nodes.linksys.alg.enabled=false</text>' "$dir/cmp.svg" || die "no heading for the first pane"
grep -q '>nodes.linksys.alg.enabled=true</text>' "$dir/cmp.svg" || die "no heading for the second pane"
[[ $(grep -c '<svg ' "$dir/cmp.svg") -eq 3 ]] || die "expected an outer svg and two panes"
[[ $(grep -c '^Outcome:' "$dir/cmp.out") -eq 2 ]] || die "expected both outcomes printed"
grep -q '^Outcome: failed' "$dir/cmp.out" || die "the ALG-off run should fail"
grep -q '^Outcome: every transfer succeeded' "$dir/cmp.out" || die "the ALG-on run should succeed"
bad() {  # bad EXPECTED-STDERR-PREFIX ARGS...
  local want=$1; shift
  local got
  got=$(cd "$dir" && "$ftpsim" run lecture-deck-passive-list -q "$@" 2>&1 >/dev/null)
  local st=$?
  [[ $st -eq 2 && "$got" == "$want"* ]] || die "$*: status $st, stderr: $got"
}
bad "--steps: expected a step range" --steps x
bad "--steps: the range ends before it starts" --steps 9-3
bad "--from: expected a time with its unit" --from 10
bad "--to 1ms: before --from 2ms" --from 2ms --to 1ms
bad "--hide-lane nope: expected a node of the scenario (client, server)" --hide-lane nope
bad "--connections: expected a comma-separated list" --connections control,video
bad "--font-size: expected a size in px from 6 to 72" --font-size 500
bad "--export x.txt: --compare writes .svg exports only" --compare nodes.linksys.alg.enabled=true -o x.txt
exit $fail
