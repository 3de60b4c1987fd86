#!/usr/bin/env python3
"""Writes hostile captures for `ftpsim import` (issue #17 items 17 and 18), raw-IP pcap.

usage: make-hostile-pcap.py KIND OUT.pcap N
  multiline  a control connection whose server sends "220-..." and then N segments of
             "220-more" lines, never the last line (an unterminated multi-line reply)
  hole       a PASV session whose data connection's first segment is missing from the capture,
             followed by N segments of 1460 bytes (all held behind the hole until the end)
"""
import struct
import sys

kind, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
CLI, SRV = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
f = open(out, "wb")
f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
t = [0]


def pkt(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 6, 0, src, dst)
    frame = ip + tcp + payload
    t[0] += 1000
    f.write(struct.pack("<IIII", t[0] // 1000000, t[0] % 1000000, len(frame), len(frame)))
    f.write(frame)


SYN, ACK, PSH, FIN = 2, 16, 8, 1


def handshake(cport, sport, cseq, sseq):
    pkt(CLI, SRV, cport, sport, cseq, 0, SYN)
    pkt(SRV, CLI, sport, cport, sseq, cseq + 1, SYN | ACK)
    pkt(CLI, SRV, cport, sport, cseq + 1, sseq + 1, ACK)


cs, ss = 1000, 5000  # control sequence numbers (next byte), client and server
handshake(40000, 21, cs, ss)
cs, ss = cs + 1, ss + 1


def server_says(text):
    global ss
    pkt(SRV, CLI, 21, 40000, ss, cs, PSH | ACK, text)
    ss += len(text)


def client_says(text):
    global cs
    pkt(CLI, SRV, 40000, 21, cs, ss, PSH | ACK, text)
    cs += len(text)


if kind == "multiline":
    server_says(b"220-welcome\r\n")
    for _ in range(n):
        server_says(b"220-more of the same, never the end\r\n")
else:
    server_says(b"220 ready\r\n")
    client_says(b"USER anonymous\r\n")
    server_says(b"230 ok\r\n")
    client_says(b"PASV\r\n")
    server_says(b"227 Entering Passive Mode (10,0,0,2,195,80).\r\n")
    client_says(b"RETR big\r\n")
    ds = 90000
    handshake(40001, 50000, 7000, ds)
    ds += 1
    server_says(b"150 here it comes\r\n")
    block = bytes(range(256)) * 5 + bytes(180)  # 1460 bytes
    ds += len(block)  # the first segment is not in the capture: a hole at the start
    for _ in range(n):
        pkt(SRV, CLI, 50000, 40001, ds, 7001, ACK, block)
        ds += len(block)
    pkt(SRV, CLI, 50000, 40001, ds, 7001, FIN | ACK)
    server_says(b"226 done\r\n")
f.close()
