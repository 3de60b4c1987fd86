#!/usr/bin/python3
"""Tests of the rig's analyser (tests/rig/analyse.py) that need neither root nor the simulator:
pcap reading (TCP and the ICMP error quoting a SYN), the reduction of one link to fields, the port
classes, the timing comparison, the simulated side read from typed trace facts, and the pending
list. Run: python3 tests/rig/test_analyse.py (exit 0 when every check passes)."""
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analyse as A  # noqa: E402


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def tcp_packet(src, sport, dst, dport, flags, payload=b"", seq=1):
    fl = sum(bit for ch, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16)) if ch in flags)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, fl, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, ip4(src), ip4(dst))
    return ip + tcp


def icmp_unreachable(router, quoted):
    """ICMP type 3 code 3 from `router`, quoting the IP header and 8 bytes of `quoted`."""
    body = struct.pack("!BBHI", 3, 3, 0, 0) + quoted[:28]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0, ip4(router), quoted[12:16])
    return ip + body


def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def tcp6_packet(src, sport, dst, dport, flags, payload=b"", seq=1):
    fl = sum(bit for ch, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16)) if ch in flags)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, fl, 65535, 0, 0) + payload
    return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, ip6(src), ip6(dst)) + tcp


def icmp6_unreachable(router, code, quoted):
    """ICMPv6 destination unreachable (type 1) from `router`, quoting `quoted` (IPv6 header + TCP)."""
    body = struct.pack("!BBHI", 1, code, 0, 0) + quoted[:48]
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, 64, ip6(router), quoted[8:24]) + body


def ether(packet, ethertype):
    return b"\x02" * 6 + b"\x04" * 6 + ethertype + packet


def write_pcap(path, packets, linktype=101):
    """packets: (time in s, raw IPv4 packet); link type 101 (raw IP), microseconds."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for t, p in packets:
            f.write(struct.pack("<IIII", int(t), int(round((t - int(t)) * 1e6)), len(p), len(p)) + p)


C, R = "203.0.113.10", "203.0.113.1"


def ctl(s):
    return s.sport == 21 or s.dport == 21


class Pcap(unittest.TestCase):
    def test_tcp_and_icmp_quoting_the_syn(self):
        syn = tcp_packet(C, 40000, R, 30005, "S")
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "wan.pcap")
            write_pcap(p, [(10.0, syn), (10.001, icmp_unreachable(R, syn))])
            segs = A.read_pcap(p)
        self.assertEqual([(s.src, s.sport, s.dst, s.dport, s.flags) for s in segs],
                         [(C, 40000, R, 30005, "S"), (C, 40000, R, 30005, "I3")])
        v = A.analyse(A.view(segs, C, ctl), C)
        self.assertEqual(v["first_fail"], "icmp port-unreachable")
        self.assertEqual(v["data"], ["eph>pasv icmp"])


class Pcap6(unittest.TestCase):
    """IPv6 in Ethernet frames (tcpdump on the router's veths): TCP with RFC 5952 addresses, EPRT |2|
    and 229 on the control connection, the ICMPv6 error quoting a SYN."""
    C6, S6 = "2001:db8:ff::10", "2001:db8:2::10"

    def test_control_lines_and_data_syn(self):
        pk = [tcp6_packet(self.C6, 40000, self.S6, 21, "S", seq=0), tcp6_packet(self.S6, 21, self.C6, 40000, "SA", seq=0),
              tcp6_packet(self.S6, 21, self.C6, 40000, "PA", b"220 hi\r\n"),
              tcp6_packet(self.C6, 40000, self.S6, 21, "PA", b"EPRT |2|2001:db8:ff::10|40002|\r\n"),
              tcp6_packet(self.S6, 21, self.C6, 40000, "PA", b"200 ok\r\n", seq=9),
              tcp6_packet(self.C6, 40000, self.S6, 21, "PA", b"EPSV\r\n", seq=33),
              tcp6_packet(self.S6, 21, self.C6, 40000, "PA", b"229 Entering (|||30004|)\r\n", seq=17),
              tcp6_packet(self.C6, 40010, self.S6, 30004, "S")]
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "wan.pcap")
            write_pcap(p, [(10.0 + i / 100, ether(x, b"\x86\xdd")) for i, x in enumerate(pk)], linktype=1)
            segs = A.read_pcap(p)
        self.assertEqual(segs[0].src, "2001:db8:ff::10")
        v = A.analyse(A.view(segs, self.C6, ctl), self.C6)
        self.assertEqual(v["codes"], [220, 200, 229])
        self.assertEqual(v["port_cmds"], ["EPRT [2001:db8:ff::10]:40002"])
        self.assertEqual(A.norm_addr("[2001:db8:ff::10]:40002"), "[2001:db8:ff::10]:other")
        self.assertEqual(v["pasv"], ["229 :30004"])
        self.assertEqual(v["data"], ["eph>pasv none"])
        self.assertEqual(v["first_fail"], "timeout")

    def test_icmp6_quoting_the_syn_by_code(self):
        syn = tcp6_packet(self.C6, 40000, self.S6, 30005, "S")
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "wan.pcap")
            write_pcap(p, [(1.0, syn), (1.001, icmp6_unreachable("2001:db8:ff::1", 1, syn))])
            segs = A.read_pcap(p)
        self.assertEqual([(s.src, s.sport, s.dst, s.dport, s.flags) for s in segs],
                         [(self.C6, 40000, self.S6, 30005, "S"), (self.C6, 40000, self.S6, 30005, "I6:1")])
        v = A.analyse(A.view(segs, self.C6, ctl), self.C6)
        self.assertEqual(v["first_fail"], "icmp admin-prohibited")
        self.assertEqual(v["data"], ["eph>pasv icmp"])
        self.assertEqual(A.icmp_kind("I6:4"), "icmp port-unreachable")

    def test_v6_scenarios(self):
        cell = {"id": "x", "client": "curl", "server": "vsftpd", "topo": "v6fws", "helper": "on",
                "mode": "epsv", "variant": ""}
        y = A.scenario_yaml(cell)
        self.assertIn('server: "[2001:db8:2::10]:21"', y)
        self.assertIn("alg: {enabled: true, ports: [21]}", y)
        self.assertIn("dst: 2001:db8:2::10/128, dport: 21", y)
        self.assertIn("options: {connect_timeout: 2s}", y)  # the vsftpd6 phase
        cell.update(topo="nat64", helper="off")
        y = A.scenario_yaml(cell)
        self.assertIn('server: "[2001:db8:64::cb00:710a]:21"', y)
        self.assertNotIn("connect_timeout", y)  # the plain IPv4 vsftpd phase


def seg(t, src, sport, dst, dport, flags, payload=b"", seq=1):
    return A.Seg(t, src, sport, dst, dport, seq, flags, payload)


class Reduce(unittest.TestCase):
    def session(self, t0, cport, lines_then_end):
        out = [seg(t0, C, cport, R, 21, "S", seq=0), seg(t0, R, 21, C, cport, "SA", seq=0)]
        seq = {True: 1, False: 1}  # each direction's next sequence number
        for t, src_is_client, text in lines_then_end:
            if text is None:
                out.append(seg(t, C, cport, R, 21, "FA", seq=seq[True]))
                continue
            a = (C, cport, R, 21) if src_is_client else (R, 21, C, cport)
            out.append(seg(t, *a, "PA", text.encode() + b"\r\n", seq[src_is_client]))
            seq[src_is_client] += len(text) + 2
        return out

    def test_reply_after_a_hole_waits_for_it(self):
        # a middlebox dropped the 227 (seq 9..): the 221 behind it never reaches the program,
        # until a retransmission carries both; a retransmitted 220 is read once
        segs = [seg(0.0, C, 40000, R, 21, "S", seq=0), seg(0.0, R, 21, C, 40000, "SA", seq=0),
                seg(0.01, R, 21, C, 40000, "PA", b"220 hi\r\n", 1), seg(0.02, R, 21, C, 40000, "PA", b"220 hi\r\n", 1),
                seg(0.03, R, 21, C, 40000, "PA", b"221 bye\r\n", 30)]
        v = A.analyse(A.view(segs, C, ctl), C)
        self.assertEqual(v["codes"], [220])
        segs.append(seg(0.5, R, 21, C, 40000, "PA", b"227 x (1,2,3,4,5,6)\r\n221 bye\r\n", 9))
        v = A.analyse(A.view(segs, C, ctl), C)
        self.assertEqual(v["codes"], [220, 227, 221])

    def test_timing_reconnects_and_codes(self):
        segs = self.session(0.0, 40000, [(0.01, False, "220 hi"), (0.02, True, "PASV"),
                                         (0.03, False, "227 Entering Passive Mode (203,0,113,1,117,53)."),
                                         (3.0, None, None)])
        segs += [seg(0.04, C, 40002, R, 30005, "S"), seg(1.04, C, 40002, R, 30005, "S")]  # retransmitted
        segs += self.session(3.0, 40004, [(3.01, False, "220 hi"), (6.1, None, None)])
        segs.sort(key=lambda s: s.ts)
        v = A.analyse(A.view(segs, C, ctl), C)
        self.assertEqual(v["codes"], [220, 227, 220])
        self.assertEqual(v["pasv"], ["227 203.0.113.1:30005"])
        self.assertEqual(v["data"], ["eph>pasv none"])  # one SYN, counted once
        self.assertEqual(v["first_fail"], "timeout")
        self.assertEqual([round(x, 2) for x in v["starts"]], [0.0, 3.0])
        self.assertAlmostEqual(v["end"], 6.1)

    def test_port_classes(self):
        ctl_ends = {(C, 32768), (R, 21)}
        self.assertEqual(A.port_class(R, 20, 21, ctl_ends), "20")
        self.assertEqual(A.port_class(R, 30009, 21, ctl_ends), "pasv")
        self.assertEqual(A.port_class(C, 32768, 21, ctl_ends), "ctl")  # the control connection's own port
        self.assertEqual(A.port_class(R, 32768, 21, ctl_ends), "eph")  # the same number on another host
        self.assertEqual(A.port_class(R, 1024, 21, ctl_ends), "1024")  # a NAT's remap stays visible
        self.assertEqual(A.port_class(R, 2120, 2121, ctl_ends), "2120")

    def test_timing_tolerance(self):
        r = {"starts": [0.0, 1.02], "end": 2.08}
        self.assertTrue(A.same_timing(r, {"starts": [0.0, 1.0], "end": 2.0}))
        self.assertFalse(A.same_timing(r, {"starts": [0.0, 0.0], "end": 2.0}))   # no reconnect interval
        self.assertFalse(A.same_timing(r, {"starts": [0.0], "end": 2.0}))        # no retry at all
        self.assertFalse(A.same_timing({"starts": [0.0], "end": 3.0}, {"starts": [0.0], "end": 127.0}))


class SimulatedSide(unittest.TestCase):
    def trace(self, events, ok=False):
        return {"connections": [{"id": 0, "purpose": "control"}], "events": events, "outcome": {"ok": ok}}

    def test_failure_kind_from_typed_socket_fact(self):
        ev = {"kind": "socket", "from": "client", "fact": "connect-failed", "error": "timed-out",
              "text": "connection refused"}  # the text is never read
        self.assertEqual(A.sim_kind(self.trace([ev]), dict(A.EMPTY_VIEW)), (False, "timeout"))
        ev["error"] = "refused"
        self.assertEqual(A.sim_kind(self.trace([ev]), dict(A.EMPTY_VIEW)), (False, "refused"))
        self.assertEqual(A.sim_kind(self.trace([{"kind": "socket", "from": "client", "text": "refused"}]),
                                    dict(A.EMPTY_VIEW)), (False, "failed"))

    def test_failure_kind_from_give_up_fact(self):
        give_up = {"kind": "note", "from": "client", "fact": "client-give-up", "timeout_ns": 5000000000,
                   "state": "max-time"}
        self.assertEqual(A.sim_kind(self.trace([give_up]), dict(A.EMPTY_VIEW)), (False, "timeout"))
        del give_up["timeout_ns"]  # a protocol decision (a 227 the client cannot read), no time limit
        self.assertEqual(A.sim_kind(self.trace([give_up]), dict(A.EMPTY_VIEW)), (False, "gave up"))

    def test_icmp_hop_keyed_by_the_quoted_syn(self):
        def segment(t, frm, to, src, dst, flags, **kw):
            e = {"kind": "segment", "from": frm, "to": to, "conn": 2, "time_ns": t, "flags": flags,
                 "src": {"addr": src[0], "port": src[1]}, "dst": {"addr": dst[0], "port": dst[1]}}
            e.update(kw)
            return e
        syn = segment(0, "client", "router", (C, 40000), (R, 30005), "S")
        icmp = segment(1000, "router", "client", (R, 0), (C, 0), "", action="icmp",
                       quoted_src={"addr": C, "port": 40000}, quoted_dst={"addr": R, "port": 30005})
        cell = {"topo": "snat21", "variant": "pasvaddr-icmp"}
        cv, sv = A.sim_views(cell, self.trace([syn, icmp]))
        self.assertEqual(cv["data"], ["eph>pasv icmp"])
        self.assertEqual(cv["first_fail"], "icmp port-unreachable")
        self.assertEqual(sv["data"], [])


class Lists(unittest.TestCase):
    def test_pending_names_every_piece(self):
        saved = A.PENDING
        try:
            A.PENDING = [(r"-retry", "piece one"), (r"-drop", "piece two"), (r"^ftplib-", "piece three")]
            self.assertEqual(A.pending_why("lftp-vsftpd-snat21-off-pasv-pasvaddr-drop-retry"),
                             "piece one; piece two")
            self.assertIsNone(A.pending_why("curl-vsftpd-snat21-off-pasv-pasvaddr"))
        finally:
            A.PENDING = saved

    def test_variant_tokens(self):
        self.assertEqual(A.ctl_port_of({"variant": "l2121"}), 2121)
        self.assertEqual(A.ctl_port_of({"variant": "pasvaddr-drop"}), 21)
        y = A.scenario_yaml({"id": "x", "client": "curl", "server": "vsftpd", "topo": "snat21", "helper": "off",
                             "mode": "port", "variant": "l2121"})
        self.assertIn('- {port: 2121, to: "192.168.2.10:2121"}', y)
        self.assertIn("server: 203.0.113.1:2121", y)
        self.assertIn("    port: 2121", y)


if __name__ == "__main__":
    unittest.main()
