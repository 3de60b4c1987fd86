#!/usr/bin/env bash
# ftpsim import on bad input: exit status 2 and a message naming the file (or flag) and what was
# expected; never a crash. Also: a trace JSON is accepted and drawn.
set -u
. "$(dirname "$0")/../support/sh/common.sh" || exit 1  # vmem_limit, expect_bad_input
ftpsim=$1
here=$(cd "$(dirname "$0")" && pwd)
caps=$here/../data/captures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
n=0
printf 'USER anonymous\r\nnot a capture\n' > "$work/notes.txt"
head -c 1000 "$caps/curl-vsftpd-cnat-on-active-cli.pcap" > "$work/truncated.pcap"
: > "$work/empty.pcap"
printf '{"events": 3}' > "$work/bad.json"
expect_bad_input "$work/notes.txt: not a readable capture (libpcap: " import "$work/notes.txt"
expect_bad_input "$work/truncated.pcap: the capture is damaged after " import "$work/truncated.pcap"
expect_bad_input "$work/empty.pcap: not a readable capture (libpcap: " import "$work/empty.pcap"
expect_bad_input "$caps/curl-vsftpd-snat21-off-pasv-cli.pcap: the capture holds no packets; expected a capture of an FTP session" \
  import "$caps/curl-vsftpd-snat21-off-pasv-cli.pcap"
expect_bad_input "$work/bad.json: not a valid ftpsim trace JSON: " import "$work/bad.json"
expect_bad_input "$work/missing.pcap: cannot open the file: No such file or directory" import "$work/missing.pcap"
# Numbers out of range in a trace JSON: bad input, not an internal error (or a 2 GB time axis).
"$ftpsim" import "$caps/curl-vsftpd-cnat-on-active-cli.pcap" --export "$work/good.json" >/dev/null
python3 - "$work" <<'EOF'
import json, re, sys
w = sys.argv[1]
s = open(w + "/good.json").read()
open(w + "/huge-number.json", "w").write(re.sub(r'"time_ns": ?\d+', '"time_ns": ' + "9" * 5000, s, count=1))
d = json.loads(s)
d["events"][-1]["time_ns"] = 2**63 - 1
open(w + "/int64max.json", "w").write(json.dumps(d))
EOF
vmem_limit 2000000  # from here on: what ran out of memory at 2 GB is caught
expect_bad_input "$work/huge-number.json: not a valid ftpsim trace JSON: trace JSON: a number out of range" \
  import "$work/huge-number.json"
expect_bad_input "$work/int64max.json: not a valid ftpsim trace JSON: events[" import "$work/int64max.json" --time scale
expect_bad_input "--export out.docx: unknown file extension" import "$caps/curl-vsftpd-cnat-on-active-cli.pcap" --export out.docx
expect_bad_input "--control-port 70000: expected a TCP port number from 1 to 65535" \
  import "$caps/curl-vsftpd-cnat-on-active-cli.pcap" --control-port 70000
expect_bad_input "--export $work/x.pcap: this trace has no TCP segments to write" \
  import "$caps/curl-vsftpd-cnat-on-active-cli.pcap" --export "$work/x.pcap"
expect_bad_input "ftpsim: " import
expect_bad_input "ftpsim: " import "$caps/curl-vsftpd-cnat-on-active-cli.pcap" --view sideways
# The good path: a capture exported as JSON, then that JSON imported and exported as a text ladder.
n=$((n + 1))
if "$ftpsim" import "$caps/curl-vsftpd-cnat-on-active-cli.pcap" --export "$work/a.json" --export "$work/a.txt" \
   && "$ftpsim" import "$work/a.json" --export "$work/b.txt" && cmp -s "$work/a.txt" "$work/b.txt" \
   && grep -q "RETR file.bin" "$work/a.txt" && grep -q "DATA 65536 B" "$work/a.txt"; then
  :
else
  echo "FAIL: capture -> JSON -> ladder differs from capture -> ladder"; fail=1
fi
# --segments: the packet-level trace exports as pcap again, and that pcap imports to the same ladder.
n=$((n + 1))
cap=$caps/curl-vsftpd-cnat-on-active-cli.pcap
v=(--time compressed --hide-notes --hide-sockets --color never)
if "$ftpsim" import "$cap" --segments --export "$work/again.pcap" \
   && "$ftpsim" import "$cap" --export "$work/orig.txt" "${v[@]}" \
   && "$ftpsim" import "$work/again.pcap" --export "$work/again.txt" "${v[@]}" \
   && /usr/bin/python3 "$here/import_compare.py" ladder "$work/orig.txt" "$work/again.txt" >/dev/null; then
  :
else
  echo "FAIL: import --segments -> pcap -> import draws a different ladder"; fail=1
fi
echo "$n import inputs checked"
exit $fail
