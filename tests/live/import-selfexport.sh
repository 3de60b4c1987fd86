#!/usr/bin/env bash
# ftpsim import reads ftpsim's own pcap export: for each scenario, the FTP lines (commands and
# reply lines, in capture order) and the bytes of each data connection that the simulated trace
# shows on the client's link equal what `ftpsim import` finds in the pcap exported there.
# (SPSV scenarios are left out: the exporter synthesises the SPDT connection's bytes as file data.)
set -u
ftpsim=$1
here=$(cd "$(dirname "$0")" && pwd)
lib=$(cd "$here/../../scenarios" && pwd)
py=/usr/bin/python3
[[ -x $py ]] || { echo "FAIL: $py is missing (Debian's python3)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
for s in lecture-deck-passive-list lecture-deck-active-list curl-vsftpd-cnat-on-active curl-vsftpd-cnat-off-active \
         curl-vsftpd-snat21-off-pasv epsv-through-nat eprt-through-nat-with-alg default-data-port-lan \
         ftps-hides-port-from-alg lossy-link-retransmissions; do
  if ! "$ftpsim" run "$lib/$s.yaml" -q --no-verify --export "$work/$s.sim.json" --export "$work/$s.pcap" \
       --capture client >/dev/null; then
    echo "FAIL $s: ftpsim run failed"; fail=1; continue
  fi
  if ! "$ftpsim" import "$work/$s.pcap" --export "$work/$s.imp.json" 2>"$work/$s.err"; then
    echo "FAIL $s: ftpsim import failed: $(cat "$work/$s.err")"; fail=1; continue
  fi
  if out=$("$py" "$here/import_compare.py" capture "$work/$s.sim.json" "$work/$s.imp.json"); then
    echo "ok   $s: $(grep -c '"kind":"ftp-' "$work/$s.imp.json") FTP events equal the simulated client-side lines"
  else
    echo "FAIL $s:"; echo "$out"; fail=1
  fi
done
exit $fail
