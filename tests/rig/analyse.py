#!/usr/bin/python3
"""The rig's analysis (called by run-rig.sh; Debian's /usr/bin/python3, standard library only).

  analyse.py scenarios --work DIR --out scenarios/rig   one ftpsim scenario per real cell
  analyse.py report --work DIR [--report docs/fidelity.md] [--no-sim]

The real side is read from the router's captures (DIR/pcap/{lan1,wan,lan2}.pcap, cut into cells by
the time windows in DIR/cells.tsv), the simulated side from ftpsim's JSON traces (DIR/sim/*.json).
Both are reduced by the same code to the same fields, seen on the same two links: the client's
link (what the client sent and received) and the server's link (what the server received).
"""
import argparse
import ipaddress
import json
import os
import re
import struct
import sys

FILE_SIZE = 65536
PASV_LO, PASV_HI = 30000, 30009
DATA_VERBS = {"PORT", "EPRT", "PASV", "EPSV", "RETR", "LIST", "NLST"}
TOPO = {  # client address, server address, interface on the client's side, on the server's side
    "cnat": ("192.168.1.10", "203.0.113.10", "lan1", "wan"),
    "snat21": ("203.0.113.10", "192.168.2.10", "wan", "lan2"),
    "snatfwd": ("203.0.113.10", "192.168.2.10", "wan", "lan2"),
    # IPv6 (issue 19): no NAT; a stateful inet firewall on the router
    "v6fwc": ("2001:db8:1::10", "2001:db8:ff::10", "lan1", "wan"),
    "v6fws": ("2001:db8:ff::10", "2001:db8:2::10", "wan", "lan2"),
    # an IPv6-only client, the IPv4-only server through tayga's NAT64 and the router's masquerade
    "nat64": ("2001:db8:1::10", "203.0.113.10", "lan1", "wan"),
}
TOPO_TEXT = {
    "cnat": "client 192.168.1.10 behind the router's masquerade (203.0.113.1), server 203.0.113.10",
    "snat21": "server 192.168.2.10 behind the router, only 21 forwarded from 203.0.113.1; client 203.0.113.10",
    "snatfwd": "server 192.168.2.10 behind the router, 21 and 30000-30009 forwarded from 203.0.113.1; "
               "client 203.0.113.10",
    "v6fwc": "client 2001:db8:1::10, server 2001:db8:ff::10, routed; the router's nftables inet forward chain "
             "admits new connections only from the client's LAN (replies and related connections pass)",
    "v6fws": "client 2001:db8:ff::10, server 2001:db8:2::10, routed; the router's nftables inet forward chain "
             "admits new connections only to the server's port 21 (replies and related connections pass)",
    "nat64": "IPv6-only client 2001:db8:1::10 to 2001:db8:64::cb00:710a (2001:db8:64::/96 + 203.0.113.10), "
             "the IPv4-only server 203.0.113.10, through tayga's NAT64 (pool 192.168.255.0/24) and the "
             "router's masquerade to 203.0.113.1; no ALG",
}
CELL_FIELDS = ["id", "phase", "server", "client", "topo", "helper", "mode", "variant", "t0", "t1", "rc", "size"]

# Disagreements that are model bugs, reported to the lead (they are NOT accepted: the test fails
# while they exist). Cell regex -> what is wrong. Filled in from the runs; see docs/fidelity.md.
# The rig found three model bugs, all fixed in the simulator since (the cells agree now):
# M1 lftp's dialogue (FEAT before USER, MDTM after SIZE, no QUIT after giving up); M2 a connect with
# no route now fails at once (ENETUNREACH) instead of retransmitting SYNs; M3 vsftpd with
# port_promiscuous=YES and connect_from_port_20=YES cannot bind port 20 ("500 OOPS").
MODEL_BUGS = []

# New cells whose real behaviour is measured but whose model piece has not landed yet: cell regex,
# the piece they wait for. Such a cell is run and reported ("pending") but does not fail the rig;
# it is NOT an accepted difference. When the piece lands, its cells must agree and the line goes.
# Their scenarios are written to tests/rig/pending/, not scenarios/rig/, so that the library's
# `ftpsim check` (which includes scenarios/rig) never holds an expectation the model does not meet.
PENDING = []


def pending_why(cell_id):
    whys = [why for rx, why in PENDING if re.search(rx, cell_id)]
    return "; ".join(whys) if whys else None


# Every scenario carries the real client's timeouts as the profile's options (curl connect-timeout
# and max-time, lftp net:timeout, ftplib's and the scripted textbook client's timeout). lftp's retry
# options (net:max-retries, net:reconnect-interval-base, ftp:auto-passive-mode) are written since
# the profile reads them.
CLIENT_OPTIONS_MODELLED = True
LFTP_RETRIES_MODELLED = True


def read_cells(work):
    cells = []
    with open(os.path.join(work, "cells.tsv")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(CELL_FIELDS):
                continue
            c = dict(zip(CELL_FIELDS, parts))
            c["t0"], c["t1"] = float(c["t0"]), float(c["t1"])
            c["rc"], c["size"] = int(c["rc"]), int(c["size"])
            cells.append(c)
    return cells


def read_accepted(work):
    out = []
    p = os.path.join(work, "accepted.tsv")
    if os.path.exists(p):
        for line in open(p):
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[0].strip() and not parts[0].startswith("#"):
                out.append((re.compile(parts[0]), parts[1], parts[2]))
    return out


# ---- pcap ---------------------------------------------------------------------------------------
class Seg:
    __slots__ = ("ts", "src", "sport", "dst", "dport", "seq", "flags", "payload")

    def __init__(self, ts, src, sport, dst, dport, seq, flags, payload):
        self.ts, self.src, self.sport, self.dst, self.dport = ts, src, sport, dst, dport
        self.seq, self.flags, self.payload = seq, flags, payload


def read_pcap(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        end, div = "<", 1e6
    elif magic == b"\x4d\x3c\xb2\xa1":
        end, div = "<", 1e9
    elif magic == b"\xa1\xb2\xc3\xd4":
        end, div = ">", 1e6
    elif magic == b"\xa1\xb2\x3c\x4d":
        end, div = ">", 1e9
    else:
        return []
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off, segs = 24, []
    while off + 16 <= len(data):
        ts_s, ts_f, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        if linktype == 1:
            if len(frame) < 34 or frame[12:14] not in (b"\x08\x00", b"\x86\xdd"):
                continue
            ip = frame[14:]
        elif linktype == 101:
            ip = frame
        else:
            continue
        if ip[0] >> 4 == 6:
            seg = ipv6_seg(ts_s + ts_f / div, ip)
            if seg:
                segs.append(seg)
            continue
        if ip[0] >> 4 != 4:
            continue
        ihl = (ip[0] & 15) * 4
        if ip[9] == 1:  # ICMP: destination unreachable quoting a TCP segment
            icmp = ip[ihl:]
            if len(icmp) >= 8 + 20 + 8 and icmp[0] == 3 and icmp[8 + 9] == 6:
                q = icmp[8:]
                qhl = (q[0] & 15) * 4
                qsport, qdport = struct.unpack("!HH", q[qhl:qhl + 4])
                # src/dst: the quoted segment's (the connection the error is about)
                segs.append(Seg(ts_s + ts_f / div, ".".join(map(str, q[12:16])), qsport,
                                ".".join(map(str, q[16:20])), qdport, 0, "I%d" % icmp[1], b""))
            continue
        if ip[9] != 6:
            continue
        tot = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:tot]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        fl = tcp[13]
        flags = "".join(ch for bit, ch in ((2, "S"), (16, "A"), (4, "R"), (1, "F"), (8, "P")) if fl & bit)
        segs.append(Seg(ts_s + ts_f / div, ".".join(map(str, ip[12:16])), sport,
                        ".".join(map(str, ip[16:20])), dport, seq, flags, bytes(tcp[doff:])))
    return segs


def v6(b):
    """16 bytes -> the address in RFC 5952's compressed form (as ftpsim prints it)."""
    return ipaddress.IPv6Address(bytes(b)).compressed


def tcp_seg(ts, src, dst, tcp):
    if len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", tcp[:8])
    doff = (tcp[12] >> 4) * 4
    fl = tcp[13]
    flags = "".join(ch for bit, ch in ((2, "S"), (16, "A"), (4, "R"), (1, "F"), (8, "P")) if fl & bit)
    return Seg(ts, src, sport, dst, dport, seq, flags, bytes(tcp[doff:]))


def ipv6_seg(ts, ip):
    """An IPv6 packet (no extension headers: the rig's traffic has none) -> a TCP Seg, or an
    ICMPv6 destination unreachable quoting a TCP segment as a Seg with flags "I6:<code>" (code 4 =
    port unreachable, 1 = administratively prohibited, 0 = no route), or None."""
    if len(ip) < 40:
        return None
    plen, nh = struct.unpack("!HB", ip[4:7])
    src, dst, body = v6(ip[8:24]), v6(ip[24:40]), ip[40:40 + plen]
    if nh == 6:
        return tcp_seg(ts, src, dst, body)
    if nh == 58 and len(body) >= 8 + 40 + 4 and body[0] == 1:
        q = body[8:]
        if q[6] != 6:
            return None
        qsport, qdport = struct.unpack("!HH", q[40:44])
        return Seg(ts, v6(q[8:24]), qsport, v6(q[24:40]), qdport, 0, "I6:%d" % body[1], b"")
    return None


# An ICMP error's kind, from its type and code: IPv4 destination unreachable code 3 ("I3"), ICMPv6
# destination unreachable (type 1) by code ("I6:<code>").
ICMP_KIND = {"I3": "icmp port-unreachable", "I6:4": "icmp port-unreachable", "I6:0": "icmp no-route",
             "I6:1": "icmp admin-prohibited", "I6:3": "icmp address-unreachable"}


def icmp_kind(flags):
    return ICMP_KIND.get(flags, "icmp unreachable")


# ---- one link's view, from packets (real or simulated) ------------------------------------------
def in_order(nxt, held, key, seq, payload):
    """TCP reassembly of one direction (key): the bytes of this segment and of held ones that are
    now next in sequence; a retransmission's old bytes are skipped, a segment after a hole is held.
    Without the SYN the first payload starts the sequence."""
    if key not in nxt:
        nxt[key] = seq
    held.setdefault(key, []).append((seq, payload))
    out = b""
    progress = True
    while progress:
        progress = False
        for i, (sq, pl) in enumerate(held[key]):
            off = (nxt[key] - sq) & 0xFFFFFFFF  # how far into this segment the next byte is
            if off >= 0x80000000:  # the segment starts after the next byte: a hole before it
                continue
            del held[key][i]
            if off < len(pl):
                out += pl[off:]
                nxt[key] = (sq + len(pl)) & 0xFFFFFFFF
            progress = True
            break
    return out


def view(segs, client_ip, is_control, ctl_port=21):
    """segs in order -> events (kind, value, time): ('cmd', line) ('rep', line) for control lines;
    ('csyn', key) ('cend', key) for a control connection's SYN and FIN/RST; ('syn', key) ('synack',
    key) ('rst', key) ('icmp', key) for data connections (icmp: a destination-unreachable quoting
    the segment with that key)."""
    events, buf, nxt, held = [], {}, {}, {}
    for s in segs:
        key = (s.src, s.sport, s.dst, s.dport)
        if s.flags.startswith("I"):
            events.append(("icmp", key, s.ts, icmp_kind(s.flags)))
            continue
        if is_control(s):
            if "S" in s.flags and "A" not in s.flags:
                events.append(("csyn", key, s.ts))
            if "S" in s.flags:
                nxt[key] = (s.seq + 1) & 0xFFFFFFFF
            if "F" in s.flags or "R" in s.flags:
                events.append(("cend", key, s.ts))
            if s.payload:
                # the bytes the receiving TCP hands to the program: in sequence order, once;
                # what comes after a hole (a segment a middlebox dropped) waits for it
                data = in_order(nxt, held, key, s.seq, s.payload)
                if not data:
                    continue
                b = buf.get(key, b"") + data
                *lines, rest = b.split(b"\r\n")
                buf[key] = rest
                if s.dport == ctl_port:
                    kind = "cmd"
                elif s.sport == ctl_port:
                    kind = "rep"
                else:
                    kind = "cmd" if s.src == client_ip else "rep"
                for ln in lines:
                    events.append((kind, ln.decode("latin-1"), s.ts))
        else:
            if "S" in s.flags and "A" not in s.flags:
                events.append(("syn", key, s.ts))
            elif "S" in s.flags:
                events.append(("synack", key, s.ts))
            elif "R" in s.flags:
                events.append(("rst", key, s.ts))
    return events


def parse_port_arg(verb, arg):
    try:
        if verb == "PORT":
            n = [int(x) for x in arg.strip().split(",")]
            return "%d.%d.%d.%d:%d" % (n[0], n[1], n[2], n[3], n[4] * 256 + n[5])
        if verb == "EPRT":
            d = arg.strip()[0]
            _, af, addr, port, _ = arg.strip().split(d)
            return ("[%s]:%s" if af == "2" else "%s:%s") % (addr, port)
    except (ValueError, IndexError):
        pass
    return "?" + arg


def parse_pasv_reply(code, text):
    if code == 227:
        m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", text)
        if m:
            n = [int(x) for x in m.groups()]
            return "%d.%d.%d.%d:%d" % (n[0], n[1], n[2], n[3], n[4] * 256 + n[5])
    if code == 229:
        m = re.search(r"\((.)\1\1(\d+)\1\)", text)
        if m:
            return ":" + m.group(2)
    return "?"


def norm_addr(a):
    """Ports are chosen at random: keep the address and whether the port is in the passive range."""
    if ":" not in a:
        return a
    host, port = a.rsplit(":", 1)
    try:
        p = int(port)
    except ValueError:
        return a
    return host + (":pasv-range" if PASV_LO <= p <= PASV_HI else ":other")


EPH_LO, EPH_HI = 32768, 60999  # Linux's default ip_local_port_range


def port_class(addr, p, ctl_port, ctl_ends):
    """A data connection's port as a class: 20 and the control port exactly, the passive range,
    'ctl' for the address:port a control connection already uses on this link (the same host's
    port, which Linux never hands out twice), Linux's ephemeral range, else the number (a
    remapped or pinned port)."""
    if p in (20, ctl_port):
        return str(p)
    if PASV_LO <= p <= PASV_HI:
        return "pasv"
    if (addr, p) in ctl_ends:
        return "ctl"
    if EPH_LO <= p <= EPH_HI:
        return "eph"
    return str(p)


ANSWER = {"synack": "ok", "rst": "rst", "icmp": "icmp"}


def analyse(events, client_ip, ctl_port=21):
    """-> dict(codes, port_cmds, pasv, first_fail, data, starts, end)"""
    codes, port_cmds, pasv, pending, fails = [], [], [], [], []
    syns, answer, order = {}, {}, []
    cstarts, cend, ctl_ports = {}, None, set()
    for i, ev in enumerate(events):
        if ev[0] == "csyn":
            cstarts.setdefault(ev[1], ev[2])
            ctl_ports.update(((ev[1][0], ev[1][1]), (ev[1][2], ev[1][3])))
        elif ev[0] == "cend":
            cend = ev[2]
        elif ev[0] == "cmd":
            verb, _, arg = ev[1].partition(" ")
            verb = verb.upper()
            pending.append(verb)
            if verb in ("PORT", "EPRT"):
                port_cmds.append(verb + " " + parse_port_arg(verb, arg))
        elif ev[0] == "rep":
            m = re.match(r"^(\d{3}) ", ev[1])
            if not m:
                continue
            code = int(m.group(1))
            codes.append(code)
            verb = pending[0] if pending else None
            if code >= 200 and pending:
                pending.pop(0)
            if code in (227, 229):
                pasv.append(str(code) + " " + parse_pasv_reply(code, ev[1]))
            if code >= 400 and verb in DATA_VERBS:
                fails.append((i, "reply %d" % code))
        elif ev[0] == "syn":
            key = ev[1]
            if key not in answer:
                answer[key] = None
                order.append(key)
            if key[0] == client_ip and key[3] != ctl_port and key not in syns:
                syns[key] = i
        elif ev[0] in ("synack", "rst", "icmp"):
            k = ev[1]
            # a SYN-ACK or RST travels back; an ICMP error quotes the SYN itself
            rev = k if ev[0] == "icmp" else (k[2], k[3], k[0], k[1])
            if rev in answer and answer[rev] is None:
                answer[rev] = ANSWER[ev[0]]
            if rev in syns and syns[rev] is not None:
                if ev[0] == "rst":
                    fails.append((i, "refused"))
                elif ev[0] == "icmp":
                    fails.append((i, ev[3]))
                syns[rev] = None
    for key, i in syns.items():
        if i is not None:
            fails.append((i, "timeout"))
    fails.sort()
    t0 = min(cstarts.values()) if cstarts else None
    data = ["%s>%s %s" % (port_class(k[0], k[1], ctl_port, ctl_ports), port_class(k[2], k[3], ctl_port, ctl_ports),
                          answer[k] or "none") for k in order]
    return {"codes": codes, "port_cmds": port_cmds, "pasv": pasv,
            "first_fail": fails[0][1] if fails else None, "data": data,
            "starts": sorted(t - t0 for t in cstarts.values()) if t0 is not None else [],
            "end": (cend - t0) if (t0 is not None and cend is not None) else None}


# ---- the real side ------------------------------------------------------------------------------
def tokens(cell):
    return set(cell["variant"].split("-")) if cell["variant"] else set()


def ctl_port_of(cell):
    return 2121 if "l2121" in tokens(cell) else 21


def real_views(cell, pcaps):
    cip, sip, cif, sif = TOPO[cell["topo"]]
    lo, hi = cell["t0"] - 0.01, cell["t1"] + 0.01
    cp = ctl_port_of(cell)

    def window(iface):
        return [s for s in pcaps[iface] if lo <= s.ts <= hi]

    def ctl(s):
        return s.sport == cp or s.dport == cp
    return (analyse(view(window(cif), cip, ctl, cp), cip, cp), analyse(view(window(sif), cip, ctl, cp), cip, cp))


# A real client's exit status when the captures show no failure (no SYN left the client, e.g. a
# connect with no route): curl's CURLE_COULDNT_CONNECT (7) and CURLE_OPERATION_TIMEDOUT (28),
# timeout(1)'s 124. Exit statuses only: the clients' messages are never searched.
EXIT_KIND = {("curl", 7): "refused", ("curl", 28): "timeout",
             # the scripted textbook client (run-rig.sh): its own exit statuses
             ("textbook", 3): "unreachable", ("textbook", 4): "refused", ("textbook", 5): "timeout",
             ("textbook", 7): "gave up"}


def real_kind(cell, cv, work):
    if cell["rc"] == 0 and cell["size"] == FILE_SIZE:
        return True, "ok"
    if cv["first_fail"]:
        return False, cv["first_fail"]
    if cell["rc"] == 124:
        return False, "timeout"
    kind = EXIT_KIND.get((cell["client"], cell["rc"]))
    if kind:
        return False, kind
    return False, "failed (exit %d)" % cell["rc"]


# ---- the simulated side -------------------------------------------------------------------------
def sim_views(cell, trace):
    cip, _, _, _ = TOPO[cell["topo"]]
    cp = ctl_port_of(cell)
    control = {c["id"] for c in trace.get("connections", []) if c.get("purpose") == "control"}

    def segs(node):
        out = []
        for e in trace.get("events", []):
            if e.get("kind") != "segment" or node not in (e.get("from"), e.get("to")):
                continue
            if e.get("action") == "icmp":
                # an ICMP port unreachable hop: keyed, as in a capture, by the segment it quotes
                q, d = e["quoted_src"], e["quoted_dst"]
                out.append(Seg(e.get("time_ns", 0) / 1e9, q["addr"], q["port"], d["addr"], d["port"], 0, "I3", b""))
                continue
            pl = e.get("payload") or ""
            if e.get("conn") not in control:
                pl = ""
            out.append(Seg(e.get("time_ns", 0) / 1e9, e["src"]["addr"], e["src"]["port"], e["dst"]["addr"],
                           e["dst"]["port"], e.get("tcp_seq", 0), e.get("flags", ""),
                           pl.encode("latin-1", "replace")))
        out.sort(key=lambda x: x.ts)
        return out

    conn_of = {}
    for e in trace.get("events", []):
        if e.get("kind") == "segment":
            conn_of[(e["src"]["addr"], e["src"]["port"], e["dst"]["addr"], e["dst"]["port"])] = e.get("conn")

    def ctl(s):
        return conn_of.get((s.src, s.sport, s.dst, s.dport)) in control

    # The real cell is captured until 0.15 s after the client exits (run-rig.sh's cell), and a
    # client exits right after closing its control connection: the simulated view ends the same
    # way, CELL_TAIL after the client's last control connection sent its FIN or RST. What the
    # network does later (a server's retransmission reaching the closed client minutes on) is seen
    # by neither side.
    closes = {}
    for e in trace.get("events", []):
        if (e.get("kind") == "segment" and e.get("from") == "client" and e.get("conn") in control
                and e.get("action") != "icmp" and ("F" in e.get("flags", "") or "R" in e.get("flags", ""))):
            closes.setdefault(e.get("conn"), e.get("time_ns", 0) / 1e9)
    cut = max(closes.values()) + CELL_TAIL if closes else None

    def cells_segs(node):
        return [x for x in segs(node) if cut is None or x.ts <= cut]
    return (analyse(view(cells_segs("client"), cip, ctl, cp), cip, cp),
            analyse(view(cells_segs("server"), cip, ctl, cp), cip, cp))


CELL_TAIL = 0.16  # run-rig.sh's cell: sleep 0.15 after the client exits, and the 0.01 s window margin


SOCKET_ERROR_KIND = {"refused": "refused", "timed-out": "timeout", "unreachable": "unreachable"}


def sim_kind(trace, cv):
    """The simulated result and first failure: from the outcome, the client's link, else the
    client's typed socket facts (connect-failed with its error)."""
    out = trace.get("outcome", {})
    if out.get("ok"):
        return True, "ok"
    if cv["first_fail"]:
        return False, cv["first_fail"]
    for e in trace.get("events", []):
        if e.get("kind") == "socket" and e.get("from") == "client" and e.get("fact") == "connect-failed":
            kind = SOCKET_ERROR_KIND.get(e.get("error", ""))
            if kind:
                return False, kind
    for e in trace.get("events", []):
        # the client gave up: on its own time limit (curl --max-time, lftp net:timeout, ftplib
        # timeout=; the fact carries timeout_ns), what curl's exit 28 says on the real side; else
        # a decision of the protocol core (e.g. a 227 it cannot read)
        if e.get("from") == "client" and e.get("fact") == "client-give-up":
            return False, "timeout" if e.get("timeout_ns") else "gave up"
    if out.get("limit_reached"):
        return False, "limit " + out["limit_reached"]
    return False, "failed"


# ---- scenarios ----------------------------------------------------------------------------------
VARIANT_TEXT = {  # variant token -> what the real cell configured (title and description)
    "pasvaddr": "pasv_address=203.0.113.1",
    "promisc": "port_promiscuous=YES connect_from_port_20=NO",
    "promisc20": "port_promiscuous=YES connect_from_port_20=YES",
    "l2121": "listen_port=2121 (data from ftp_data_port 20)",
    "ctimeout": "connect_timeout=2",
    "cfw": "the client's own firewall drops new inbound connections",
    "drop": "router INPUT policy drop",
    "reset": "router INPUT reject with tcp reset",
    "icmp": "router INPUT reject with icmp port-unreachable",
    "maxtime": "curl --connect-timeout 10 --max-time 4",
    "retry": "lftp net:max-retries 3",
    "noauto": "lftp ftp:auto-passive-mode off",
}


def client_options(cell):
    """The real client's timeouts (run-rig.sh's run_client), as the profile's options under the
    program's own names. lftp's net:max-retries, net:reconnect-interval-base and
    ftp:auto-passive-mode join them when the profile reads them (LFTP_RETRIES_MODELLED)."""
    t = tokens(cell)
    if cell["client"] == "curl":
        if "maxtime" in t:
            return {"connect-timeout": "10s", "max-time": "4s"}
        return {"connect-timeout": "3s", "max-time": "5s"}
    if cell["client"] == "lftp":
        o = {"net:timeout": "3s"}
        if LFTP_RETRIES_MODELLED:
            o.update({"net:max-retries": 3 if "retry" in t else 1, "net:reconnect-interval-base": "1s",
                      "ftp:auto-passive-mode": "no" if "noauto" in t else "yes"})
        return o
    if cell["client"] in ("ftplib", "textbook"):  # both are Python's FTP(timeout=3)
        return {"timeout": "3s"}
    return {}


def yaml_map(d):
    return "{" + ", ".join("%s: %s" % (json.dumps(k) if ":" in k else k, v) for k, v in d.items()) + "}"


IPV6_TOPOS = ("v6fwc", "v6fws", "nat64")


def scenario_yaml_v6(cell, real):
    """The IPv6 and NAT64 cells (run-rig.sh's v6fwc, v6fws, nat64)."""
    topo, helper, mode = cell["topo"], cell["helper"] == "on", cell["mode"]
    lines = ["title: %s" % json.dumps("Rig %s: %s %s, %s, helper %s, %s" % (
        cell["id"], cell["client"], mode.upper(), topo, cell["helper"], cell["server"]))]
    if topo == "nat64":
        router = "tayga's NAT64 (prefix 2001:db8:64::/96, pool 192.168.255.0/24) and nftables masquerade of " \
                 "the pool to 203.0.113.1, no ALG"
    else:
        router = "nftables inet forward chain (policy drop; ct state established,related accept; %s), " \
                 "Linux's FTP conntrack helper %s (nft ct helper, l3proto inet, on tcp dport 21)" % (
                     "iifname lan1 accept" if topo == "v6fwc" else "tcp dport 21 to 2001:db8:2::10 accept",
                     "on" if helper else "off")
    lines.append("description: %s" % json.dumps(
        "Generated by tests/rig/run-rig.sh for the real-stack comparison (docs/fidelity.md): %s. Router: %s. "
        "Real result: %s." % (TOPO_TEXT[topo], router, real or "(not run)")))
    lines.append("seed: 1")
    lines.append("nodes:")
    # the firewall: what the router's nftables forward chain lets in from the outside
    fw = ["    firewall:", "      policy: accept", "      rules:",
          '        - {action: accept, direction: in, state: established, comment: "ct state established"}',
          '        - {action: accept, direction: in, state: related, comment: "ct state related"}']
    if topo == "v6fws":
        fw.append('        - {action: accept, direction: in, state: new, dst: 2001:db8:2::10/128, dport: 21, '
                  'comment: "tcp dport 21 to the server"}')
    fw.append('        - {action: drop, direction: in, state: new, comment: "policy drop"}')
    if topo == "v6fwc":
        lines += ["  client:", "    interfaces: [2001:db8:1::10/64]", "    gateway: 2001:db8:1::1",
                  "  router:", "    kind: router", "    interfaces:",
                  "      - {name: lan1, address: 2001:db8:1::1/64, side: inside}",
                  "      - {name: wan, address: 2001:db8:ff::1/64, side: outside}",
                  "    alg: {enabled: %s, ports: [21]}" % ("true" if helper else "false")] + fw + [
                  "  server:", "    interfaces: [2001:db8:ff::10/64]", "    gateway: 2001:db8:ff::1"]
        server_addr = '"[2001:db8:ff::10]:21"'
    elif topo == "v6fws":
        lines += ["  client:", "    interfaces: [2001:db8:ff::10/64]", "    gateway: 2001:db8:ff::1",
                  "  router:", "    kind: router", "    interfaces:",
                  "      - {name: wan, address: 2001:db8:ff::1/64, side: outside}",
                  "      - {name: lan2, address: 2001:db8:2::1/64, side: inside}",
                  "    alg: {enabled: %s, ports: [21]}" % ("true" if helper else "false")] + fw + [
                  "  server:", "    interfaces: [2001:db8:2::10/64]", "    gateway: 2001:db8:2::1"]
        server_addr = '"[2001:db8:2::10]:21"'
    else:
        lines += NAT64_NODES
        server_addr = '"[2001:db8:64::cb00:710a]:21"'
    lines += ["links:", "  - {between: [client, router], latency: 1ms, bandwidth: 1Gbit/s}",
              "  - {between: [router, server], latency: 1ms, bandwidth: 1Gbit/s}",
              "servers:", "  server:", "    profile: %s" % cell["server"], "    passive_ports: 30000-30009"]
    if cell["server"] == "vsftpd" and topo != "nat64":
        lines.append("    options: {connect_timeout: 2s}")  # run-rig.sh's vsftpd6 phase
    lines += ["    files:", "      /file.bin: %d" % FILE_SIZE,
              "clients:", "  client:", "    profile: %s" % cell["client"], "    mode: %s" % mode,
              "    server: %s" % server_addr]
    copts = client_options(cell)
    if copts:
        lines.append("    options: %s" % yaml_map(copts))
    lines.append("    script: [login, get /file.bin, quit]")
    return "\n".join(lines) + "\n"


# The NAT64 cells' router: tayga (a stateless translator mapping each IPv6 client to a pool
# address) followed by the masquerade of the pool to 203.0.113.1 is, seen from outside, the
# stateful NAT64 of RFC 6146 with a network-specific prefix and one IPv4 address. Written in the
# simulator's NAT64 knobs (branch ipv6).
NAT64_NODES = [
    "  client:", "    interfaces: [2001:db8:1::10/64]", "    gateway: 2001:db8:1::1",
    "  router:", "    kind: router", "    interfaces:",
    "      - {name: lan1, address: 2001:db8:1::1/64, side: inside}",
    "      - {name: wan, address: 203.0.113.1/24, side: outside}",
    "    nat64: {prefix: 2001:db8:64::/96}",
    "  server:", "    interfaces: [203.0.113.10/24]",
]


def scenario_yaml(cell, real=None):
    topo, helper, mode = cell["topo"], cell["helper"] == "on", cell["mode"]
    if topo in IPV6_TOPOS:
        return scenario_yaml_v6(cell, real)
    t = tokens(cell)
    cp = ctl_port_of(cell)
    lines = []
    title = "Rig %s: %s %s, %s, helper %s, %s%s" % (
        cell["id"], cell["client"], mode.upper(), topo, cell["helper"], cell["server"],
        "".join(", " + VARIANT_TEXT[x] for x in cell["variant"].split("-") if x))
    lines.append("title: %s" % json.dumps(title))
    desc = ("Generated by tests/rig/run-rig.sh for the real-stack comparison (docs/fidelity.md): %s. "
            "Router: nftables masquerade of 192.168.1.0/24 and 192.168.2.0/24 to 203.0.113.1%s, "
            "Linux's FTP conntrack helper %s (nft ct helper on tcp dport %d). Real result: %s.") % (
        TOPO_TEXT[topo].replace(" 21 ", " %d " % cp),
        {"cnat": "", "snat21": ", DNAT of %d" % cp, "snatfwd": ", DNAT of %d and 30000-30009" % cp}[topo],
        "on" if helper else "off", cp, real or "(not run)")
    if "drop" in t and not CLIENT_OPTIONS_MODELLED:
        desc += (" The clients' own 3 s connect timeouts (curl --connect-timeout 3, lftp net:timeout 3, "
                 "ftplib timeout=3) are modelled as the scenario's tcp.connect_timeout.")
    lines.append("description: %s" % json.dumps(desc))
    lines.append("seed: 1")
    if "drop" in t and not CLIENT_OPTIONS_MODELLED:
        # until the profiles read the clients' own options: curl --connect-timeout 3, lftp
        # net:timeout 3 and ftplib timeout=3 as the scenario's connect timeout
        lines.append("tcp: {connect_timeout: 3s}")
    lines.append("nodes:")
    cfw = []
    if "cfw" in t:  # as run-rig.sh's client nft table: policy drop, ct state established,related accept
        cfw = ["    firewall:", "      policy: accept", "      rules:",
               "        - {action: accept, direction: in, state: established}",
               "        - {action: accept, direction: in, state: related}",
               "        - {action: drop, direction: in}"]
    router_input = []
    for pol in ("drop", "reset", "icmp"):
        if pol in t:
            # nftables' chain input { policy drop; } / { reject with tcp reset; } / { reject; }
            router_input = ["    input: %s" % {"drop": "{policy: drop}", "reset": '{reject: "tcp reset"}',
                                               "icmp": '{reject: "icmp port-unreachable"}'}[pol]]
    if topo == "cnat":
        lines += ["  client:", "    interfaces: [192.168.1.10/24]", "    gateway: 192.168.1.1"] + cfw + [
                  "  router:", "    kind: router", "    interfaces:",
                  "      - {name: lan1, address: 192.168.1.1/24, side: inside}",
                  "      - {name: wan, address: 203.0.113.1/24, side: outside}",
                  "    nat: port-restricted",
                  "    alg: {enabled: %s, ports: [%d]}" % ("true" if helper else "false", cp)] + router_input + [
                  "  server:", "    interfaces: [203.0.113.10/24]"]
        server_addr = "203.0.113.10:%d" % cp
    else:
        lines += ["  client:", "    interfaces: [203.0.113.10/24]"] + cfw + [
                  "  router:", "    kind: router", "    interfaces:",
                  "      - {name: wan, address: 203.0.113.1/24, side: outside}",
                  "      - {name: lan2, address: 192.168.2.1/24, side: inside}",
                  "    nat: port-restricted",
                  "    alg: {enabled: %s, ports: [%d]}" % ("true" if helper else "false", cp)] + router_input + [
                  "    forwards:", '      - {port: %d, to: "192.168.2.10:%d"}' % (cp, cp)]
        if topo == "snatfwd":
            lines.append("      - {port: 30000-30009, to: 192.168.2.10}")
        lines += ["  server:", "    interfaces: [192.168.2.10/24]", "    gateway: 192.168.2.1"]
        server_addr = "203.0.113.1:%d" % cp
    lines += ["links:", "  - {between: [client, router], latency: 1ms, bandwidth: 1Gbit/s}",
              "  - {between: [router, server], latency: 1ms, bandwidth: 1Gbit/s}",
              "servers:", "  server:", "    profile: %s" % cell["server"], "    passive_ports: 30000-30009"]
    if cp != 21:
        lines.append("    port: %d" % cp)
    if "pasvaddr" in t:
        lines.append("    pasv_address: 203.0.113.1")
    opts = {}
    if "promisc" in t:
        opts = {"port_promiscuous": "true", "connect_from_port_20": "false"}
    if "promisc20" in t:
        opts = {"port_promiscuous": "true", "connect_from_port_20": "true"}
    if "ctimeout" in t:
        opts["connect_timeout"] = "2s"
    if opts:
        lines.append("    options: %s" % yaml_map(opts))
    lines += ["    files:", "      /file.bin: %d" % FILE_SIZE,
              "clients:", "  client:", "    profile: %s" % cell["client"], "    mode: %s" % mode,
              "    server: %s" % server_addr]
    if CLIENT_OPTIONS_MODELLED:
        copts = client_options(cell)
        if copts:
            lines.append("    options: %s" % yaml_map(copts))
    lines.append("    script: [login, get /file.bin, quit]")
    return "\n".join(lines) + "\n"


def expect_yaml(ok, kind):
    s = "expect:\n  ok: %s\n" % ("true" if ok else "false")
    if ok:
        s += "  transfers: [{command: RETR, ok: true, reply: 226}]\n"
    elif kind.startswith("reply "):
        s += "  transfers: [{command: RETR, ok: false, reply: %s}]\n" % kind.split()[1]
    return s


# The cells of issue 15 item 10 say in their description what the real stacks did, in the terms
# that stay the same run to run (port classes, reply codes, whole seconds).
MEASURED_TOKENS = {"l2121", "ctimeout", "cfw", "drop", "reset", "icmp", "maxtime", "retry", "noauto"}


def measured_text(cv, sv):
    def conns(v):
        return ", ".join(v["data"]) if v["data"] else "none"
    t = "Measured: the client received replies %s; data connections (source>destination port " \
        "class, answer) on the client's link: %s, on the server's link: %s; " % (
            " ".join(map(str, cv["codes"])), conns(cv), conns(sv))
    if len(cv["starts"]) > 1:
        t += "the client reconnected %s s after its first SYN; " % ", ".join("%.0f" % x for x in cv["starts"][1:])
    if cv["end"] is not None:
        t += "its last control connection closed %.0f s after its first SYN" % cv["end"]
    return t


def cmd_scenarios(args):
    cells = read_cells(args.work)
    pcaps = {i: read_pcap(os.path.join(args.work, "pcap", i + ".pcap")) for i in ("lan1", "wan", "lan2")}
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.pending_out, exist_ok=True)
    for c in cells:
        cv, sv = real_views(c, pcaps)
        ok, kind = real_kind(c, cv, args.work)
        real = "works" if ok else "fails (%s)" % kind
        if tokens(c) & MEASURED_TOKENS:
            real += ". " + measured_text(cv, sv)
        text = scenario_yaml(c, real) + expect_yaml(ok, kind)
        name = c["id"] + ".yaml"
        dest, other = (args.pending_out, args.out) if pending_why(c["id"]) else (args.out, args.pending_out)
        if os.path.exists(os.path.join(other, name)):
            os.remove(os.path.join(other, name))
        with open(os.path.join(dest, name), "w") as f:
            f.write(text)
    return 0


# ---- report -------------------------------------------------------------------------------------
def fmt_list(xs):
    return ", ".join(xs) if xs else "-"


def fmt_data(v):
    return "%s; %s" % (fmt_list(v["cli"]["data"]), fmt_list(v["srv"]["data"]))


EMPTY_VIEW = {"codes": [], "port_cmds": [], "pasv": [], "first_fail": None, "data": [], "starts": [], "end": None}


def compare(r, s):
    """-> list of fields that differ"""
    diffs = []
    if r["ok"] != s["ok"]:
        diffs.append("result")
    if r["kind"] != s["kind"]:
        diffs.append("failure")
    if [p.split()[0] + " " + norm_addr(p.split()[1]) for p in r["srv"]["port_cmds"]] != \
       [p.split()[0] + " " + norm_addr(p.split()[1]) for p in s["srv"]["port_cmds"]]:
        diffs.append("server-saw-PORT")
    if [norm_addr(p) for p in r["cli"]["pasv"]] != [norm_addr(p) for p in s["cli"]["pasv"]]:
        diffs.append("client-saw-227/229")
    if r["cli"]["codes"] != s["cli"]["codes"]:
        diffs.append("reply-codes")
    if r["cli"]["data"] != s["cli"]["data"] or r["srv"]["data"] != s["srv"]["data"]:
        diffs.append("data-connections")
    if not same_timing(r["cli"], s["cli"]):
        diffs.append("timing")
    return diffs


TIME_TOLERANCE = 0.5  # seconds, or 10 % of the real value when that is more


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(TIME_TOLERANCE, 0.1 * abs(a))


def same_timing(r, s):
    """The control connections' start times and the last one's end, seen on the client's link."""
    return (len(r["starts"]) == len(s["starts"]) and all(close(a, b) for a, b in zip(r["starts"], s["starts"]))
            and close(r["end"], s["end"]))


def fmt_timing(v):
    starts = ", ".join("%.1f" % t for t in v["starts"][1:])
    return ("%s%s" % ("end %.1f" % v["end"] if v["end"] is not None else "open",
                      " (reconnects at %s)" % starts if starts else ""))


def cmd_report(args):
    cells = read_cells(args.work)
    accepted = read_accepted(args.work)
    pcaps = {i: read_pcap(os.path.join(args.work, "pcap", i + ".pcap")) for i in ("lan1", "wan", "lan2")}
    rows = []
    for c in cells:
        cv, sv = real_views(c, pcaps)
        ok, kind = real_kind(c, cv, args.work)
        real = {"ok": ok, "kind": kind, "cli": cv, "srv": sv}
        sim = None
        if not args.no_sim:
            p = os.path.join(args.work, "sim", c["id"] + ".json")
            try:
                trace = json.load(open(p))
                scv, ssv = sim_views(c, trace)
                sok, skind = sim_kind(trace, scv)
                sim = {"ok": sok, "kind": skind, "cli": scv, "srv": ssv}
            except (OSError, ValueError, KeyError) as e:
                err = ""
                try:
                    err = open(os.path.join(args.work, "sim", c["id"] + ".txt")).read().strip()[:200]
                except OSError:
                    pass
                sim = {"ok": None, "kind": "sim error: %s %s" % (type(e).__name__, err),
                       "cli": dict(EMPTY_VIEW), "srv": dict(EMPTY_VIEW)}
        diffs = compare(real, sim) if sim else []
        status, note = "agree", ""
        if diffs:
            status = "DISAGREE"
            acc = [(f, why) for rx, f, why in accepted if rx.search(c["id"])]
            left = [d for d in diffs if not any(f == d or f == "*" for f, _ in acc)]
            if not left:
                status, note = "accepted", "; ".join(sorted({why for _, why in acc}))
            else:
                whys = ["M%d" % (k + 1) for k, (rx, fields, why) in enumerate(MODEL_BUGS)
                        if re.search(rx, c["id"]) and set(left) <= fields]
                if whys:
                    status, note = "model bug", whys[0]
                elif pending_why(c["id"]):
                    status, note = "pending", pending_why(c["id"])
        rows.append((c, real, sim, diffs, status, note))

    # timings
    tim = {}
    try:
        for line in open(os.path.join(args.work, "timings.tsv")):
            k, a, b = line.split()
            tim[k] = float(b) - float(a)
    except (OSError, ValueError):
        pass

    n = len(rows)
    n_agree = sum(1 for r in rows if r[4] == "agree")
    n_acc = sum(1 for r in rows if r[4] == "accepted")
    n_bug = sum(1 for r in rows if r[4] == "model bug")
    n_pend = sum(1 for r in rows if r[4] == "pending")
    n_dis = n - n_agree - n_acc - n_pend
    n_codes_only = sum(1 for r in rows if r[3] == ["reply-codes"])
    out = []
    w = out.append
    w("# Fidelity: ftpsim against real stacks")
    w("")
    w("Generated by `tests/rig/run-rig.sh` (needs root and `ip netns`); do not edit "
      "by hand, rerun the rig. Each cell runs a real client against a real server in network namespaces "
      "through a Linux router (nftables masquerade of the two LANs to 203.0.113.1, DNAT port forwards, the "
      "kernel's FTP conntrack helper attached by `tcp dport 21 ct helper set \"ftp-std\"` or not), captures "
      "both sides of the router with tcpdump, and runs the matching scenario `scenarios/rig/<cell>.yaml` "
      "in ftpsim. Both sides are reduced by the same code (`tests/rig/analyse.py`) to the same fields on "
      "the same two links.")
    w("")
    w("Situations (addresses as in `shared/captures`):")
    w("")
    for t in ("cnat", "snat21", "snatfwd"):
        w("- **%s**: %s." % (t, TOPO_TEXT[t]))
    w("")
    w("IPv6 and NAT64 (issue 19; every namespace is dual-stack, IPv6 is routed without NAT, addresses "
      "without duplicate address detection):")
    w("")
    for t in ("v6fwc", "v6fws", "nat64"):
        w("- **%s**: %s." % (t, TOPO_TEXT[t]))
    w("")
    w("The IPv6 firewall is an nftables `inet` table: forward chain `policy drop`, `ct state "
      "established,related accept`, then the situation's rule for new connections; the helper is "
      "`ct helper ftp-std { type \"ftp\" protocol tcp; l3proto inet; }` attached by `tcp dport 21 ct helper "
      "set \"ftp-std\"` (nf_conntrack_ftp reads EPRT |2| and 229 on IPv6; measured with nftables 1.0.6: "
      "without `l3proto`, and in an `ip6` table, the cells come out the same). NAT64 is tayga (`tun-device "
      "nat64`, `prefix 2001:db8:64::/96`, `dynamic-pool 192.168.255.0/24`) with the router's masquerade "
      "of the pool to 203.0.113.1: a stateful NAT64 with a network-specific prefix. The well-known "
      "prefix 64:ff9b::/96 is not used: tayga refuses it for a non-global IPv4 address such as "
      "203.0.113.10 (RFC 6052 section 3.1) and answers with ICMPv6 unreachable. There is no real "
      "FTP64 ALG (RFC 6384) to compare with, so no cell has one.")
    w("")
    w("Real peers: vsftpd 3.0.3 (listen=YES, anonymous, pasv 30000-30009, connect_from_port_20=YES), "
      "pyftpdlib (`python3 -m pyftpdlib -r 30000-30009`); curl 7.88 (PORT `-P - --disable-eprt`, EPRT "
      "`-P -`, PASV `--disable-epsv`, EPSV default; `--connect-timeout 3 --max-time 5`), lftp 4.9.2 "
      "(`ftp:passive-mode`, `ftp:prefer-epsv`, `net:timeout 3`, `net:max-retries 1` (no retry), "
      "`net:reconnect-interval-base 1`, `ftp:auto-passive-mode yes`; it sends EPRT only on IPv6, so it "
      "has no EPRT cells), Python 3 ftplib (`timeout=3`; PORT/PASV, EPSV/EPRT only on IPv6). A 64 KiB file.")
    w("")
    w("On IPv6 the servers listen on their IPv6 address (vsftpd `listen=NO`, `listen_ipv6=YES`, "
      "`listen_address6`, and `connect_timeout=2` so that an active connection the firewall drops ends "
      "in 425 before the clients' 3 s timeouts; pyftpdlib `-i ADDRESS`). Every client sends EPRT |2| "
      "for its active modes and EPSV for its passive ones there (curl ignores `--disable-eprt` and "
      "`--disable-epsv` on IPv6, lftp sends EPSV with `ftp:prefer-epsv no`, ftplib chooses by address "
      "family), so the `port`/`pasv` cells show the same commands as `eprt`/`epsv`. No real client "
      "sends PASV on IPv6; the `textbook` cells use a scripted client (ftplib's socket code in "
      "`run-rig.sh`, as the simulator's `textbook` profile: USER, PASS if asked, TYPE I, PASV, a "
      "connect to the 227 address as given, RETR, QUIT; `timeout=3`) to show the servers' 227 on "
      "IPv6 and through NAT64.")
    w("")
    w("Variants (the cell name's last parts):")
    w("")
    w("- `pasvaddr`: `pasv_address=203.0.113.1` on the server behind the router.")
    w("- `promisc`: `port_promiscuous=YES` with `connect_from_port_20=NO`; `promisc20`: `port_promiscuous=YES` "
      "with `connect_from_port_20=YES`.")
    w("- `l2121`: vsftpd `listen_port=2121` (its active data connections still come from `ftp_data_port`, "
      "20); the helper is attached to `tcp dport 2121`, the router forwards 2121.")
    w("- `ctimeout`: vsftpd `connect_timeout=2`; `cfw`: the client's own nftables input chain, policy drop, "
      "`ct state established,related accept` (the server's active SYN is dropped).")
    w("- `drop`, `reset`, `icmp`: the router's INPUT chain for connections to its own address that "
      "nothing forwards: `policy drop`; `reject with tcp reset`; `reject with icmp type "
      "port-unreachable`. Without one of them the INPUT policy is accept and Linux answers a closed "
      "port with a RST (the `pasvaddr` cells).")
    w("- `maxtime`: curl `--connect-timeout 10 --max-time 4`; `retry`: lftp `net:max-retries 3` (two "
      "retries, each a new control connection); `noauto`: lftp `ftp:auto-passive-mode off`.")
    w("")
    w("Fields compared (all must match for a cell to agree):")
    w("")
    w("- **result**: the file arrived whole (real: client exit 0 and 65536 bytes; sim: `outcome.ok`).")
    w("- **failure**: the first thing that went wrong, seen on the client's link: `reply NNN` (a 4xx/5xx "
      "answer to PORT/EPRT/PASV/EPSV/RETR), `refused` (the client's data SYN answered by a RST), "
      "`icmp port-unreachable` (answered by ICMP or ICMPv6 code 4; other ICMPv6 codes by name: "
      "`icmp admin-prohibited`, `icmp no-route`, `icmp address-unreachable`), `timeout` (never "
      "answered). When the link shows none, the real client's exit status (curl 7, 28; the textbook "
      "script's 3 unreachable, 4 refused, 5 timeout, 7 gave up on a 227 it cannot read; timeout(1) 124) "
      "and the simulated client's typed `connect-failed` socket fact with its `error`, else its "
      "`client-give-up` fact (`timeout` when it carries the client's time limit, else `gave up`).")
    w("- **server saw**: PORT/EPRT as they arrived on the server's link; **client saw**: 227/229 as they "
      "arrived on the client's link. Compared by address and by whether the port is in 30000-30009 "
      "(ports are random).")
    w("- **codes**: every reply code the client received, in order (over all control connections).")
    w("- **data connections**: every data connection's SYN on the client's link and on the server's "
      "link, as `source>destination answer`: ports as classes (`20` exactly, `pasv` = 30000-30009, "
      "`ctl` = an address:port a control connection on that link already uses, `eph` = Linux's "
      "ip_local_port_range 32768-60999, else the number, e.g. a NAT's remap to 1024), answer `ok` "
      "(SYN-ACK), `rst`, `icmp` or `none`.")
    w("- **control connection timing**: on the client's link, when each control connection starts "
      "(retries: `reconnects at`) and when the last one ends (FIN/RST), in seconds from the first SYN; "
      "equal within 0.5 s or 10 %.")
    w("")
    w("Both sides are read the same way: control lines from the bytes on the wire (the capture's, the "
      "trace's segment payloads) as the receiving TCP hands them to the program (in sequence order, once; "
      "bytes after a segment a middlebox dropped wait for its retransmission), failures from packets; the "
      "trace's rendered text is never read. A real cell is captured until 0.15 s after its client exits; "
      "the simulated one is read until 0.16 s after the client's last control connection sent its FIN "
      "or RST (later packets, such as a server's retransmission minutes on, are in neither view).")
    w("")
    w("Refresh this page: `sudo tests/rig/run-rig.sh --ftpsim build/app/ftpsim --report docs/fidelity.md`; "
      "`ctest -L rig` runs the same cells and writes its report to `build/tests/rig/fidelity.md`; "
      "`--only REGEX` runs some cells, `--work DIR` keeps the captures "
      "(`DIR/pcap/{lan1,wan,lan2}.pcap`, readable with `tshark -r FILE -Y ftp`), client logs and traces.")
    w("")
    if tim:
        w("Last run: %d cells; real stacks %.1f s, simulator %.1f s, whole rig %.1f s." % (
            n, tim.get("real", 0), tim.get("sim", 0), tim.get("start", 0)))
        w("")
    w("**%d cells: %d agree, %d differ in an accepted, explained way, %d disagree, %d pending** (%d of the "
      "disagreements explained by a model bug reported below, %d unexplained; %d cells differ only in the "
      "sequence of reply codes, not in result, failure or addresses; pending: the real behaviour is "
      "measured, the model piece it needs has not landed, listed below)." % (
          n, n_agree, n_acc, n_dis, n_pend, n_bug, n_dis - n_bug, n_codes_only))
    w("")
    w("Addresses show the real run's values; when the simulator's differ after normalising the port "
      "(in the passive range or not), they follow after ` / `. The simulator's ports differ run to run "
      "from the real ones (seed 1 picks 30005; the real ones are random).")
    w("")
    w("| cell | real | sim | server saw (real / sim) | client saw (real / sim) | client reply codes (real / sim) "
      "| data connections: client link; server link (real / sim) | control connection, s (real / sim) | verdict |")
    w("|---|---|---|---|---|---|---|---|---|")
    for c, real, sim, diffs, status, note in rows:
        def side(x):
            return "works" if x["ok"] else x["kind"]
        if sim is None:
            w("| %s | %s | - | %s | %s | %s | %s | %s | not simulated |" % (
                c["id"], side(real), fmt_list(real["srv"]["port_cmds"]), fmt_list(real["cli"]["pasv"]),
                " ".join(map(str, real["cli"]["codes"])), fmt_data(real), fmt_timing(real["cli"])))
            continue
        verdict = status if not diffs else "%s%s: %s" % (status, " " + note if status == "model bug" else "",
                                                          ", ".join(diffs))
        srv = fmt_list(real["srv"]["port_cmds"])
        if "server-saw-PORT" in diffs:
            srv += " / " + fmt_list(sim["srv"]["port_cmds"])
        cli = fmt_list(real["cli"]["pasv"])
        if "client-saw-227/229" in diffs:
            cli += " / " + fmt_list(sim["cli"]["pasv"])
        codes = " ".join(map(str, real["cli"]["codes"]))
        if sim["cli"]["codes"] != real["cli"]["codes"]:
            codes += " / " + " ".join(map(str, sim["cli"]["codes"]))
        data = fmt_data(real)
        if "data-connections" in diffs:
            data += " / " + fmt_data(sim)
        tm = fmt_timing(real["cli"])
        if "timing" in diffs or tm != fmt_timing(sim["cli"]):
            tm += " / " + fmt_timing(sim["cli"])
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (c["id"], side(real), side(sim), srv, cli, codes,
                                                             data, tm, verdict))
    w("")
    dis = [r for r in rows if r[4] != "agree" and r[2] is not None]
    w("## Disagreements")
    w("")
    if not dis:
        w("None.")
    bycause = {}
    for c, real, sim, diffs, status, note in dis:
        bycause.setdefault(note or "", []).append((c, diffs, status))
    for note, cs in bycause.items():
        if note:
            continue
        for c, diffs, status in cs:
            w("- **%s** (%s: %s): not yet explained." % (c["id"], status, ", ".join(diffs)))
    for note, cs in bycause.items():
        if not note:
            continue
        label = {"model bug": "model bug %s (below)" % note, "pending": "pending, waits for " + note}.get(
            cs[0][2], "accepted: " + note)
        w("- %s: %s." % (", ".join("`%s` (%s)" % (c["id"], ", ".join(d)) for c, d, _ in cs), label))
    w("")
    if MODEL_BUGS:
        w("## Model bugs found by the rig")
        w("")
        w("Status of each: reported to the lead, not fixed here (the simulator is owned elsewhere); the "
          "rig test fails until it is fixed. When a fix lands, its cells agree and the entry is deleted "
          "from `MODEL_BUGS` in `tests/rig/analyse.py`.")
        w("")
        for k, (rx, fields, why) in enumerate(MODEL_BUGS):
            w("- **M%d** (cells matching `%s`; fields %s): %s" % (k + 1, rx, ", ".join(sorted(fields)), why))
        w("")
    if PENDING:
        w("## Pending cells (the list `PENDING` in `tests/rig/analyse.py`)")
        w("")
        w("Cells whose real behaviour is measured (the table above and the expectations in "
          "`tests/rig/pending/<cell>.yaml`) but whose model piece has not landed; they run and are "
          "reported but do not fail the rig, and they are not accepted differences. When the piece "
          "lands, the entry goes and the cell must agree.")
        w("")
        for rx, why in PENDING:
            ids = [r[0]["id"] for r in rows if re.search(rx, r[0]["id"])]
            w("- `%s` (%d cells): waits for %s." % (rx, len(ids), why))
        w("")
    if accepted:
        w("## Accepted differences (the table in `tests/rig/run-rig.sh`)")
        w("")
        for rx, f, why in accepted:
            w("- `%s` (%s): %s" % (rx.pattern, f, why))
        w("")
    text = "\n".join(out)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text)
    # a short summary on stdout
    for c, real, sim, diffs, status, note in rows:
        if status != "agree":
            print("%-48s %s %s" % (c["id"], status, ",".join(diffs)))
    print("rig: %d cells: %d agree, %d accepted, %d disagree, %d pending (not counted)" % (
        n, n_agree, n_acc, n_dis, n_pend))
    if args.no_sim:
        return 0
    return 0 if n_dis == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("scenarios")
    a.add_argument("--work", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--pending-out", required=True, help="where the pending cells' scenarios go")
    b = sub.add_parser("report")
    b.add_argument("--work", required=True)
    b.add_argument("--report")
    b.add_argument("--no-sim", action="store_true")
    b.add_argument("--cmdline", default="")
    args = ap.parse_args()
    return cmd_scenarios(args) if args.cmd == "scenarios" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
