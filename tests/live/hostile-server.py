#!/usr/bin/env python3
"""A hostile (or just scripted) FTP server for one session, loopback only, for the client tests.

usage: hostile-server.py MODE PORTFILE [LOGFILE]
Listens on 127.0.0.1 (::1 for the ipv6 mode) on a free port, writes the port to PORTFILE, serves
one control connection and exits (at most 60 s in all). LOGFILE receives the commands it read.

Modes:
  normal        a well-behaved server: RETR of any file sends 100000 bytes, LIST two lines
  longline      the greeting is one 5000-byte line
  flood         the greeting never ends: bytes without LF as fast as the client reads
  trickle       the greeting never ends: one byte every 0.2 s
  multiline     an endless multi-line greeting, as fast as the client reads
  slowmulti     an endless multi-line greeting, one line every 0.3 s
  reset         RETR: 30000 bytes, then the data connection is reset (RST), then "226 done"
  escape        replies and the listing carry terminal escape sequences
  pasv-other    PASV answers with 127.0.0.2 (another host than the control peer) and serves there
  ipv6          on ::1; PASV and PORT are refused with 500 (as pure-ftpd does over IPv6)
"""
import os
import socket
import struct
import sys
import threading
import time

MODE = sys.argv[1]
PORTFILE = sys.argv[2]
LOGFILE = sys.argv[3] if len(sys.argv) > 3 else None
ESC = "\x1b"
FILE_SIZE = 100000
DEADLINE = time.monotonic() + 60

family = socket.AF_INET6 if MODE == "ipv6" else socket.AF_INET
host = "::1" if MODE == "ipv6" else "127.0.0.1"
lsock = socket.socket(family, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind((host, 0))
lsock.listen(4)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(lsock.getsockname()[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
lsock.settimeout(30)
try:
    ctrl, peer = lsock.accept()
except socket.timeout:
    sys.exit(0)
ctrl.settimeout(max(1, DEADLINE - time.monotonic()))
log = open(LOGFILE, "w") if LOGFILE else None


def send(text):
    try:
        ctrl.sendall(text.encode("latin-1"))
        return True
    except OSError:
        return False


def endless(chunk, pause):
    while time.monotonic() < DEADLINE:
        if not send(chunk):
            return
        if pause:
            time.sleep(pause)


if MODE == "longline":
    send("220 " + "x" * 5000 + "\r\n")
    time.sleep(5)
    sys.exit(0)
if MODE == "flood":
    send("220 ")
    endless("x" * 65536, 0)
    sys.exit(0)
if MODE == "trickle":
    send("220 ")
    endless("x", 0.2)
    sys.exit(0)
if MODE == "multiline":
    send("220-welcome\r\n")
    endless("220-more of the same\r\n" * 1000, 0)
    sys.exit(0)
if MODE == "slowmulti":
    send("220-welcome\r\n")
    endless("220-more\r\n", 0.3)
    sys.exit(0)

greeting = "220 hostile test server\r\n"
if MODE == "escape":
    greeting = "220-" + ESC + "]0;pwned" + "\x07" + ESC + "[2J\r\n220 hello" + ESC + "[31m red\r\n"
send(greeting)

data_listener = None   # passive: a listening socket
data_target = None     # active: where to connect
buf = b""


def open_data():
    if data_listener is not None:
        data_listener.settimeout(10)
        conn, _ = data_listener.accept()
        return conn
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(data_target)
    return s


def passive(bind_host):
    global data_listener
    data_listener = socket.socket(family, socket.SOCK_STREAM)
    data_listener.bind((bind_host, 0))
    data_listener.listen(1)
    return data_listener.getsockname()[1]


while time.monotonic() < DEADLINE:
    while b"\n" not in buf:
        try:
            chunk = ctrl.recv(4096)
        except OSError:
            chunk = b""
        if not chunk:
            sys.exit(0)
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    line = line.rstrip(b"\r").decode("latin-1")
    if log:
        log.write(line + "\n")
        log.flush()
    verb, _, arg = line.partition(" ")
    verb = verb.upper()
    if verb == "USER":
        send("331 Please specify the password.\r\n")
    elif verb == "PASS":
        send("230 Login successful.\r\n")
    elif verb == "PWD":
        send('257 "/" is the current directory\r\n')
    elif verb in ("TYPE", "MODE", "STRU", "OPTS"):
        send("200 OK.\r\n")
    elif verb == "SIZE":
        send("213 %d\r\n" % FILE_SIZE)
    elif verb == "MDTM":
        send("213 20240101000000\r\n")
    elif verb == "FEAT":
        send("211-Features:\r\n EPSV\r\n211 End\r\n")
    elif verb == "SYST":
        send("215 UNIX Type: L8\r\n")
    elif verb == "EPSV":
        port = passive(host)
        send("229 Entering Extended Passive Mode (|||%d|)\r\n" % port)
    elif verb == "PASV":
        if MODE == "ipv6":
            send("500 PASV is for IPv4.\r\n")
            continue
        bind_host = "127.0.0.2" if MODE == "pasv-other" else "127.0.0.1"
        port = passive(bind_host)
        send("227 Entering Passive Mode (%s,%d,%d).\r\n" % (bind_host.replace(".", ","), port >> 8, port & 255))
    elif verb == "PORT":
        if MODE == "ipv6":
            send("500 PORT is for IPv4.\r\n")
            continue
        n = [int(x) for x in arg.split(",")]
        data_target = ("%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5])
        data_listener = None
        send("200 PORT command successful.\r\n")
    elif verb == "EPRT":
        d = arg[0]
        parts = arg.split(d)
        data_target = (parts[2], int(parts[3]))
        data_listener = None
        send("200 EPRT command successful.\r\n")
    elif verb in ("RETR", "LIST", "NLST"):
        if MODE == "escape" and verb == "RETR":
            send("550 " + ESC + "[31mno such file" + ESC + "[0m\r\n")
            continue
        send("150 Here comes the data.\r\n")
        try:
            conn = open_data()
        except OSError:
            send("425 Failed to establish connection.\r\n")
            continue
        if verb == "RETR":
            payload = bytes((i * 7) & 255 for i in range(FILE_SIZE))
            if MODE == "reset":
                conn.sendall(payload[:30000])
                time.sleep(0.3)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                time.sleep(0.3)
                send("226 done\r\n")
                continue
            conn.sendall(payload)
        else:
            listing = "-rw-r--r-- 1 ftp ftp 100000 Jan 01 2024 file.bin\r\n"
            if MODE == "escape":
                listing += "-rw-r--r-- 1 ftp ftp 5 Jan 01 2024 " + ESC + "[2J" + ESC + "]0;x\x07evil\rspoof\r\n"
            listing += "drwxr-xr-x 2 ftp ftp 4096 Jan 01 2024 pub\r\n"
            conn.sendall(listing.encode("latin-1"))
        conn.close()
        send("226 Transfer complete.\r\n")
    elif verb == "STOR":
        send("150 Ok to send data.\r\n")
        conn = open_data()
        while conn.recv(65536):
            pass
        conn.close()
        send("226 Transfer complete.\r\n")
    elif verb == "QUIT":
        send("221 Goodbye.\r\n")
        break
    else:
        send("502 Command not implemented.\r\n")
ctrl.close()
