#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/ from
  - the source documents' transcripts (../shared/seeds/, written out below: RFC 478, RFC 438,
    the lecture deck, draft-rosenau-ftp-single-port-05),
  - the real captures' FTP lines (tshark on tests/data/captures/*.pcap; skipped when tshark or
    the captures are absent),
  - the scenario library (scenarios/*.yaml) and the loader's malformed cases
    (tests/scenario/bad/*.yaml) for the loader.
Files are named by the SHA-1 of their content (libFuzzer's convention), so re-running is
idempotent. Usage: fuzz/tools/make_corpus.py [repo root]
"""
import glob
import hashlib
import os
import shutil
import struct
import subprocess
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
CAPTURES = os.path.join(ROOT, "tests", "data", "captures")
OUT = os.path.join(ROOT, "fuzz", "corpus")

# ---- transcripts: lists of ("C", line) / ("S", line) -------------------------------------------
SEED_TRANSCRIPTS = {
    # lecture deck (seed 002): PASV and LIST
    "lecture-pasv": [
        ("S", "220 FTP server ready"), ("C", "USER anonymous"), ("S", "331 password required"),
        ("C", "PASS guest"), ("S", "230 user anonymous logged in"), ("C", "PASV"),
        ("S", "227 Entering PASV mode (192,168,150,90,195,149)"), ("C", "LIST"),
        ("S", "150 Opening ASCII mode data connection for file list"),
        ("S", "226 File transfer complete"), ("C", "QUIT"), ("S", "221 Goodbye"),
    ],
    # lecture deck (seed 002): active mode with PORT
    "lecture-port": [
        ("S", "220 FTP server ready"), ("C", "USER anonymous"), ("S", "331 password required"),
        ("C", "PASS guest"), ("S", "230 user logged in"), ("C", "SYST"), ("S", "215 UNIX Type: L8"),
        ("C", "TYPE I"), ("S", "200 Type set to I"), ("C", "PORT 192,168,150,80,14,178"),
        ("S", "200 PORT command successful"), ("C", "RETR file.bin"),
        ("S", "150 Opening BINARY mode data connection"), ("S", "226 Transfer complete"),
        ("C", "STOR up.bin"), ("S", "150 Ok to send data"), ("S", "226 Transfer complete"),
        ("C", "QUIT"), ("S", "221 Goodbye"),
    ],
    # RFC 478: SOCK + PASV, then STOR (the 1973 dialect, 255 replies)
    "rfc478-sock-pasv": [
        ("S", "220 FTP server ready"), ("C", "USER anonymous"), ("S", "331 password required"),
        ("C", "PASS guest"), ("S", "230 logged in"), ("C", "SOCK HOST-C,1234"),
        ("S", "200 SOCK ok"), ("C", "PASV"), ("S", "255 SOCK 30001"), ("C", "STOR file.bin"),
        ("S", "150 ok"), ("S", "226 ok"), ("C", "RTRV file.bin"), ("S", "150 ok"), ("S", "226 ok"),
    ],
    # RFC 438: LSTN R, SOCK SITE1,Y, APPE
    "rfc438-lstn": [
        ("S", "220 FTP server ready"), ("C", "USER anonymous"), ("S", "331 password required"),
        ("C", "PASS guest"), ("S", "230 logged in"), ("C", "LSTN R"), ("S", "255 SOCK 1234"),
        ("C", "SOCK 192.168.1.10,5678"), ("S", "200 ok"), ("C", "APPE PROG2.Pl1"),
        ("S", "150 ok"), ("S", "226 ok"), ("C", "LSTN S"), ("S", "255 SOCK 1236"),
        ("C", "RETR PROG1.PL1"), ("S", "150 ok"), ("S", "226 ok"),
    ],
    # draft-rosenau-ftp-single-port-05 section 4: SPSV / SPDT
    "rosenau-spsv": [
        ("S", "220 FTP server ready"), ("C", "USER u001"), ("S", "331 Enter password"),
        ("C", "PASS xyz"), ("S", "230 You are logged in"), ("C", "SPSV"),
        ("S", "227 Entering single-port mode (xYab1234)"), ("C", "RETR file.bin"),
        ("S", "150 Transmitting data"), ("S", "226 Data transferred"),
    ],
    "rosenau-second-connection": [
        ("S", "220 Too many users; only SPSV connections allowed"), ("C", "SPDT xYab1234"),
        ("S", "200 DATA"), ("C", "USER u001"), ("S", "421 Too many users connected. Try later."),
        ("S", "504 Invalid identifier"),
    ],
    # RFC 2428 / RFC 4217 / RFC 959 odds and ends the sessions know
    "extended": [
        ("S", "220 ready"), ("C", "AUTH TLS"), ("S", "234 Proceed with negotiation."),
        ("C", "PBSZ 0"), ("S", "200 PBSZ=0"), ("C", "PROT P"), ("S", "200 PROT now Private."),
        ("C", "USER anonymous"), ("S", "331 ok"), ("C", "PASS x"), ("S", "230 ok"),
        ("C", "FEAT"), ("S", "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n211 End"),
        ("C", "EPRT |1|192.168.1.10|50069|"), ("S", "200 EPRT command successful."),
        ("C", "EPRT |2|2001:db8::1|50069|"), ("S", "522 Bad network protocol (1)"),
        ("C", "EPSV ALL"), ("S", "200 EPSV ALL ok."), ("C", "EPSV"),
        ("S", "229 Entering Extended Passive Mode (|||30007|)"), ("C", "REST 100"),
        ("S", "350 Restart position accepted (100)."), ("C", "MLSD"), ("S", "150 ok"),
        ("S", "226 ok"), ("C", "RNFR a"), ("S", "350 Ready for RNTO."), ("C", "RNTO b"),
        ("S", "250 Rename successful."), ("C", "\xff\xf4\xff\xf2ABOR"), ("S", "225 No transfer to ABOR."),
        ("C", "CCC"), ("S", "200 CCC ok"), ("C", "STAT"), ("S", "211-Status\r\n211 End of status"),
        ("C", "QUIT"), ("S", "221 Goodbye."),
    ],
}


def capture_transcripts():
    out = {}
    if not shutil.which("tshark"):
        return out
    for pcap in sorted(glob.glob(os.path.join(CAPTURES, "*.pcap"))):
        stem = os.path.basename(pcap)[:-5]
        res = subprocess.run(
            ["tshark", "-r", pcap, "-Y", "ftp", "-T", "fields", "-e", "ftp.request.command",
             "-e", "ftp.request.arg", "-e", "ftp.response.code", "-e", "ftp.response.arg"],
            capture_output=True, text=True)
        lines = []
        for row in res.stdout.splitlines():
            f = (row.split("\t") + ["", "", "", ""])[:4]
            if f[0]:
                lines.append(("C", f[0] + (" " + f[1] if f[1] else "")))
            elif f[2]:
                code = f[2].split(",")[0]
                lines.append(("S", code + " " + f[3]))
        if lines:
            out[stem] = lines
    return out


# ---- writers -----------------------------------------------------------------------------------
def write(target, data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def chunk(b):
    b = b[:255]
    return bytes([len(b)]) + b


TRANSFER = ("RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD", "RTRV")


def server_input(lines, cfg, second=None):
    """fuzz_server: the client's lines as control records, with the data events a real caller
    would report (data connection up after a transfer command, bytes for uploads, the close)."""
    rec = bytearray([cfg])
    for who, line in lines:
        if who != "C":
            continue
        rec += bytes([0]) + chunk((line + "\r\n").encode("latin-1"))
        verb = line.split(" ")[0].upper().lstrip("\xff\xf4\xf2")
        if verb in TRANSFER:
            rec += bytes([5, 0, 0x75, 0x31])            # DataConnected, the client's address
            if verb in ("STOR", "APPE", "STOU"):
                rec += bytes([9]) + chunk(b"uploaded bytes\r\n")
                rec += bytes([10])                      # DataClosed (end of the upload)
        if verb in ("PORT", "EPRT"):
            rec += bytes([5, 0, 0x00, 0x14])
    if second:
        rec += bytes([13])                              # a second control connection
        for line in second:
            rec += bytes([0x10]) + chunk((line + "\r\n").encode("latin-1"))
        rec += bytes([0]) + chunk(b"RETR file.bin\r\n")
    rec += bytes([12, 255, 12, 255])                    # let timers expire
    return bytes(rec)


def client_input(lines, profile, mode, script):
    """fuzz_client: the server's replies as reply records, with the data events."""
    rec = bytearray([profile, mode, script])
    for who, line in lines:
        if who != "S":
            continue
        code = line[:3]
        if code in ("200",) and mode in (2, 3):
            rec += bytes([4, 0xC3, 0x95])                # DataListening before PORT's answer
        rec += bytes([0]) + chunk((line + "\r\n").encode("latin-1"))
        if code in ("227", "229", "255"):
            rec += bytes([5, 0x75, 0x37])                # DataConnected
        if code == "150":
            rec += bytes([5, 0x00, 0x14])
            rec += bytes([9]) + chunk(b"x" * 64)         # DataBytes
            rec += bytes([10])                           # DataClosed
    rec += bytes([12, 255, 13])
    return bytes(rec)


def main():
    if os.path.isdir(OUT):
        for t in ("command", "reply", "address", "server", "client"):
            shutil.rmtree(os.path.join(OUT, t), ignore_errors=True)
    transcripts = dict(SEED_TRANSCRIPTS)
    transcripts.update(capture_transcripts())

    # command / reply: whole transcripts, and single lines with odd line ends.
    for name, lines in transcripts.items():
        write("command", "".join(l + "\r\n" for w, l in lines if w == "C"))
        write("reply", "".join(l + "\r\n" for w, l in lines if w == "S"))
    for extra in ("NOOP\n", "NOOP\r\r\n", "\r\n", "\xff\xf4\xff\xf2ABOR\r\n", "USER a\rb\r\n",
                  "RETR \x00\r\n", "X" * 20 + "\r\n", "STOR " + "a" * 5000 + "\r\n"):
        write("command", extra)
    for extra in ("123\r\n", "211-a\r\n456 b\r\n211-c\r\n211 d\r\n", "099 1973\r\n",
                  "220-multi\n220 done\n", "2x0 bad\r\n", "220 " + "b" * 5000 + "\r\n"):
        write("reply", extra)

    # address: every argument and reply text that carries an address.
    seen = set()
    for lines in transcripts.values():
        for who, line in lines:
            verb, _, arg = line.partition(" ")
            if (who == "C" and verb.upper() in ("PORT", "EPRT", "EPSV", "SOCK", "SPDT")) or \
               (who == "S" and verb in ("227", "229", "255")):
                if arg not in seen:
                    seen.add(arg)
                    write("address", arg)
    for extra in ("1, 2 ,3,4 ,5, 6", "|2|::ffff:1.2.3.4|21|", "!1!10.0.0.1!65535!", "(|1|1.2.3.4|21|)",
                  "Entering Passive Mode 10,0,0,1,4,1", "SITE2 , 12", "sock 77", "ALL", "2",
                  "192.168.001.010", "2001:db8::1", "fe80::1%eth0", "xYab1234", "(a(b)c)"):
        write("address", extra)

    # server: the client side of each transcript, with each profile.
    for name, lines in transcripts.items():
        if name == "rosenau-second-connection":
            continue
        cfg = {"lecture-pasv": 0x00, "lecture-port": 0x01, "rfc478-sock-pasv": 0x00,
               "rfc438-lstn": 0x00, "extended": 0x03}.get(name, 0x01 | 0x20)
        second = None
        if name == "rosenau-spsv":
            cfg = 0x10 | 0x08                            # constant identifier, max_users 1
            second = ["SPDT xYab1234"]
        write("server", server_input(lines, cfg, second))
        if name.startswith("curl-") and name.endswith("-cli"):
            write("server", server_input(lines, 0x02))   # pyftpdlib
    # client: the server side, with the matching profile and mode.
    modes = {"active": 2, "epsv": 5, "pasv": 4}
    for name, lines in transcripts.items():
        if name.startswith("curl-"):
            mode = modes[name.split("-")[-2]]
            write("client", client_input(lines, 0, mode, 0))          # curl
            write("client", client_input(lines, 4, 4, 1))            # classic, PASV
        elif name == "rosenau-spsv":
            write("client", client_input(lines, 0, 7, 0))
        elif name.startswith("rfc4"):
            write("client", client_input(lines, 4, 8 if "lstn" in name else 9, 1))
        else:
            for profile in range(5):
                write("client", client_input(lines, profile, 0, 2))
    write("client", bytes([1, 0, 7]) + chunk(b"login bob pw\nget x\nput y 12\nls /\ncwd ..\npwd\nraw STAT\nquit\n")
          + bytes([0]) + chunk(b"220 hi\r\n"))

    # scenario: the library and the malformed cases.
    shutil.rmtree(os.path.join(OUT, "scenario"), ignore_errors=True)
    for y in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml")) +
                    glob.glob(os.path.join(ROOT, "tests", "scenario", "bad", "*.yaml")) +
                    glob.glob(os.path.join(ROOT, "tests", "scenario", "*.yaml"))):
        with open(y, "rb") as f:
            write("scenario", f.read())


if __name__ == "__main__":
    main()
