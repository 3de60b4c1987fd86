#!/usr/bin/python3
"""Comparisons for the `ftpsim import` script tests (tests/live/import-*.sh).

  import_compare.py capture SIM.json IMPORTED.json
      The FTP dialogue (commands and reply lines, interleaved in capture order) and the byte
      count of each data connection that the simulated trace SIM.json shows on the client's
      link must equal what `ftpsim import` found in the pcap exported at that capture point.

  import_compare.py ladder A.txt B.txt
      Two text ladders (`--export x.txt --time compressed`) draw the same lanes and the same
      rows (arrows with their lanes, labels and ports): the time column and the addresses row
      are ignored (export them with --hide-notes --hide-sockets to compare arrows only).

Exit 0 when equal; 1 with a diff on stdout otherwise; 2 on bad usage.
"""
import json
import re
import sys


def capture_view(sim):
    nodes = {n["name"]: n for n in sim["nodes"]}
    client = next(n["name"] for n in sim["nodes"] if n["role"] == "client")
    purpose = {c["id"]: c["purpose"] for c in sim["connections"]}
    seen = []   # (time at the capture point, seq, direction, conn, payload, payload_len)
    for e in sim["events"]:
        if e["kind"] != "segment":
            continue
        if e["from"] == client:
            seen.append((e["time_ns"], e["seq"], "C", e["conn"], e.get("payload", ""), e["payload_len"]))
        elif e["to"] == client and e["verdict"] == "delivered":
            seen.append((e["arrive_ns"], e["seq"], "S", e["conn"], e.get("payload", ""), e["payload_len"]))
    seen.sort()
    tcp_seq = {e["seq"]: e["tcp_seq"] for e in sim["events"] if e["kind"] == "segment"}
    lines, data, buf, counted = [], {}, {}, set()
    for _, seq, d, conn, payload, n in seen:
        if purpose.get(conn) == "data":
            # A retransmission crosses the capture point again: count each byte range once.
            if n:
                counted.add((conn, d, tcp_seq[seq], n))
            continue
        key = (conn, d)
        buf[key] = buf.get(key, "") + payload
        while "\n" in buf[key]:
            line, buf[key] = buf[key].split("\n", 1)
            lines.append(d + ": " + line.rstrip("\r"))
    ranges = {}
    for conn, d, start, n in counted:
        ranges.setdefault((conn, d), []).append((start, start + n))  # no wrap in the simulator's ISNs
    for (conn, d), rs in ranges.items():
        rs.sort()
        total, end = 0, None
        for a, b in rs:
            if end is None or a >= end:
                total += b - a
                end = b
            elif b > end:
                total += b - end
                end = b
        data[conn] = data.get(conn, 0) + total
    return lines, sorted(data.values())


def imported_view(imp):
    lines, data = [], {}
    for e in imp["events"]:
        if e["kind"] == "ftp-command":
            lines.append("C: " + e["text"])
        elif e["kind"] == "ftp-reply":
            lines.extend("S: " + l for l in e["text"].split("\n"))
        elif e["kind"] == "data-bytes":
            data[e["conn"]] = data.get(e["conn"], 0) + e["payload_len"]
    return lines, sorted(data.values())


def ladder_arrows(path):
    """The lane names, their addresses and every row of a text ladder below them, without the time
    column (a live recording and a capture keep different clocks)."""
    rows = [r for r in open(path, encoding="utf-8").read().split("\n") if r.strip()]
    out = []
    for row in rows[1:]:                       # rows[0]: the title
        row = re.sub(r"^\s*time \([a-z/]+\)\s", "", row)  # the addresses row's time heading
        row = re.sub(r"^\s*[0-9]+\.[0-9]+ (ms|s|us|ns)\s", "", row)
        out.append(re.sub(r"\s+", " ", row.strip()))
    return out


def diff(a, b, what):
    if a == b:
        return 0
    print(what + " differ:")
    n = max(len(a), len(b))
    for i in range(n):
        x = a[i] if i < len(a) else "(none)"
        y = b[i] if i < len(b) else "(none)"
        print(("   " if x == y else "!! ") + repr(x) + "  |  " + repr(y))
    return 1


def main(argv):
    if len(argv) != 4 or argv[1] not in ("capture", "ladder"):
        print(__doc__)
        return 2
    if argv[1] == "capture":
        with open(argv[2], encoding="utf-8") as f:
            sim = json.load(f)
        with open(argv[3], encoding="utf-8") as f:
            imp = json.load(f)
        sl, sd = capture_view(sim)
        il, idata = imported_view(imp)
        if not sl:
            print("the simulated trace shows no FTP line on the client's link")
            return 1
        return diff(sl, il, "FTP lines (simulated | imported)") | diff(sd, idata, "data bytes per connection")
    a, b = ladder_arrows(argv[2]), ladder_arrows(argv[3])
    if not a:
        print("no arrow in " + argv[2])
        return 1
    return diff(a, b, "arrows (" + argv[2] + " | " + argv[3] + ")")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
