#!/usr/bin/python3
"""ftplib against ftpsim serve in every mode ftplib supports (called by serve-interop.sh).

  PASV : set_pasv(True) on IPv4        PORT : set_pasv(False) on IPv4
  EPSV : IPv4 with ftp.af = AF_INET6 (ftplib then sends EPSV and connects to the control peer)
  EPRT, EPSV on IPv6 (::1): set_pasv(False) / set_pasv(True)
Each mode: LIST, NLST, MLSD, RETR and STOR of a 3 MB binary file and a small one (sha256), and
the file commands SIZE, MDTM, MKD, RNFR/RNTO, DELE, RMD on the disk.
Usage: serve-ftplib.py ROOT HOST4 PORT4 HOST6 PORT6
"""
import ftplib
import hashlib
import io
import os
import socket
import sys

root, host4, port4, host6, port6 = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])


def sha(data):
    return hashlib.sha256(data).hexdigest()


def fail(msg):
    print("FAIL ftplib: " + msg, file=sys.stderr)
    sys.exit(1)


big = open(os.path.join(root, "big.bin"), "rb").read()
small = open(os.path.join(root, "small.txt"), "rb").read()


class Logged(ftplib.FTP):
    """Remembers the commands sent, to check which mode was used."""

    def __init__(self):
        super().__init__(timeout=30)
        self.sent = []

    def putcmd(self, line):
        self.sent.append(line.split(" ")[0].upper())
        super().putcmd(line)


def run(mode, host, port, setup, expect_cmd):
    ftp = Logged()
    ftp.connect(host, port)
    ftp.login()  # anonymous
    setup(ftp)
    lines = []
    ftp.retrlines("LIST", lines.append)
    if not any(l.endswith(" big.bin") for l in lines):
        fail(f"{mode}: LIST has no big.bin: {lines}")
    names = ftp.nlst()
    if "big.bin" not in names or "small.txt" not in names:
        fail(f"{mode}: NLST {names}")
    if host == host6:  # the rfc959 profile has MLSD; vsftpd (the IPv4 server's profile) has not
        facts = dict(ftp.mlsd())
        if facts.get("big.bin", {}).get("size") != str(len(big)):
            fail(f"{mode}: MLSD size of big.bin {facts.get('big.bin')}")
    else:
        try:
            ftp.sendcmd("MLSD")
            fail(f"{mode}: the vsftpd profile answered MLSD")
        except ftplib.error_perm as e:
            if not str(e).startswith("500"):
                fail(f"{mode}: MLSD -> {e}, expected vsftpd's 500")
    for name, want in (("big.bin", big), ("small.txt", small)):
        buf = io.BytesIO()
        ftp.retrbinary("RETR " + name, buf.write)
        if sha(buf.getvalue()) != sha(want):
            fail(f"{mode}: RETR {name}: {len(buf.getvalue())} bytes, sha differs")
        up = f"up/ftplib-{mode}-{name}"
        ftp.storbinary("STOR " + up, io.BytesIO(want))
        got = open(os.path.join(root, up), "rb").read()
        if sha(got) != sha(want):
            fail(f"{mode}: STOR {up}: {len(got)} bytes on disk, sha differs")
    if ftp.size("big.bin") != len(big):
        fail(f"{mode}: SIZE")
    mdtm = ftp.sendcmd("MDTM big.bin")
    if not mdtm.startswith("213 ") or len(mdtm) != 18:
        fail(f"{mode}: MDTM {mdtm!r}")
    d = f"dir-{mode}"
    ftp.mkd(d)
    if not os.path.isdir(os.path.join(root, d)):
        fail(f"{mode}: MKD made no directory")
    ftp.storbinary(f"STOR {d}/a.txt", io.BytesIO(b"abc"))
    ftp.rename(f"{d}/a.txt", f"{d}/b.txt")
    if not os.path.exists(os.path.join(root, d, "b.txt")) or os.path.exists(os.path.join(root, d, "a.txt")):
        fail(f"{mode}: RNFR/RNTO")
    ftp.delete(f"{d}/b.txt")
    ftp.rmd(d)
    if os.path.exists(os.path.join(root, d)):
        fail(f"{mode}: DELE/RMD left {d}")
    ftp.quit()
    if expect_cmd not in ftp.sent:
        fail(f"{mode}: expected {expect_cmd} among the commands sent {sorted(set(ftp.sent))}")
    print(f"ok ftplib {mode} ({expect_cmd})")


def pasv(ftp):
    ftp.set_pasv(True)


def port(ftp):
    ftp.set_pasv(False)


def epsv_on_v4(ftp):
    ftp.set_pasv(True)
    ftp.af = socket.AF_INET6  # ftplib's makepasv() sends EPSV for any family but AF_INET


run("pasv", host4, port4, pasv, "PASV")
run("port", host4, port4, port, "PORT")
run("epsv", host4, port4, epsv_on_v4, "EPSV")
run("eprt6", host6, port6, port, "EPRT")
run("epsv6", host6, port6, pasv, "EPSV")


def spsv_on_control_port(host, port):
    """draft-rosenau single-port mode with the rfc959 profile: SPSV on one control connection,
    SPDT <id> on a second connection to the same port, which then carries the data."""
    ctl = Logged()
    ctl.connect(host, port)
    ctl.login()
    ctl.voidcmd("TYPE I")
    r = ctl.sendcmd("SPSV")
    if not r.startswith("227") or "(" not in r:
        fail(f"SPSV -> {r!r}")
    ident = r[r.index("(") + 1:r.index(")")]
    data = socket.create_connection((host, port), timeout=30)
    f = data.makefile("rb")
    greeting = f.readline()
    if not greeting.startswith(b"220"):
        fail(f"SPDT connection greeting {greeting!r}")
    data.sendall(b"SPDT " + ident.encode() + b"\r\n")
    line = f.readline()
    if line != b"200 DATA\r\n":
        fail(f"SPDT {ident} -> {line!r}")
    ctl.putcmd("RETR big.bin")
    mark = ctl.getresp()
    if not mark.startswith(("150", "125")):
        fail(f"RETR over SPSV -> {mark!r}")
    got = f.read()
    data.close()
    final = ctl.getresp()
    if not final.startswith("226") or sha(got) != sha(big):
        fail(f"SPSV download: {len(got)} bytes, final {final!r}")
    # A wrong identifier: 504 and the connection closes.
    bad = socket.create_connection((host, port), timeout=30)
    bf = bad.makefile("rb")
    bf.readline()
    bad.sendall(b"SPDT nosuchid\r\n")
    line = bf.readline()
    if not line.startswith(b"504"):
        fail(f"SPDT with a wrong identifier -> {line!r}")
    bad.close()
    ctl.quit()
    print("ok SPSV/SPDT on the control port (rfc959 profile): 3 MB download, 504 for a wrong id")


spsv_on_control_port(host6, port6)
print("ok ftplib: 5 modes + SPSV")
