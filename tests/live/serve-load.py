#!/usr/bin/python3
"""A bounded load test of ftpsim serve (called by serve-load.sh).

200 ftplib clients at once (PASV, PORT and EPSV in turn) each download load.bin and upload a file
of their own; every checksum must match and nothing may be lost. At the same time, hostile clients:
  long-line : a 10000-byte command line gets 500, and the same session then logs in (survives)
  escape    : ../../etc/passwd, /etc/passwd, a symlink to /etc and one to /etc/passwd: 550; a
              link inside the root works
  bounce    : PORT and EPRT to a third host: 500 (vsftpd's port_promiscuous=NO)
  stall     : PASV + RETR of a large file, never read: the server resets it after --data-timeout
              (426 on the control connection); the others go on
  idle      : connects and says nothing: 421 after --idle-timeout
Timeouts here only catch hangs; nothing is timed.
Usage: serve-load.py HOST PORT ROOT CLIENTS
"""
import ftplib
import hashlib
import io
import os
import socket
import sys
import threading
import traceback

host, port, root, nclients = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
TIMEOUT = 180
load = open(os.path.join(root, "load.bin"), "rb").read()
LOAD_SHA = hashlib.sha256(load).hexdigest()

results = {}
lock = threading.Lock()
start = threading.Barrier(nclients + 5, timeout=TIMEOUT)


def record(name, ok, detail=""):
    with lock:
        results[name] = (ok, detail)


def client(i):
    name = f"client-{i}"
    try:
        start.wait()
        ftp = ftplib.FTP(timeout=TIMEOUT)
        ftp.connect(host, port)
        ftp.login()
        mode = ("pasv", "port", "epsv")[i % 3]
        ftp.set_pasv(mode != "port")
        if mode == "epsv":
            ftp.af = socket.AF_INET6  # ftplib sends EPSV unless af is AF_INET
        buf = io.BytesIO()
        ftp.retrbinary("RETR load.bin", buf.write)
        got = hashlib.sha256(buf.getvalue()).hexdigest()
        if got != LOAD_SHA:
            return record(name, False, f"{mode}: download of {len(buf.getvalue())} bytes differs")
        mine = load[i:] + i.to_bytes(4, "big")  # a different file per client
        ftp.storbinary(f"STOR up/{name}.bin", io.BytesIO(mine))
        ftp.quit()
        on_disk = open(os.path.join(root, "up", f"{name}.bin"), "rb").read()
        if hashlib.sha256(on_disk).hexdigest() != hashlib.sha256(mine).hexdigest():
            return record(name, False, f"{mode}: upload stored {len(on_disk)} bytes, differs")
        record(name, True, mode)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        record(name, False, f"{type(e).__name__}: {e}")


def expect_perm(ftp, cmd, code):
    try:
        r = ftp.sendcmd(cmd)
    except ftplib.error_perm as e:
        r = str(e)
    if not r.startswith(code):
        raise AssertionError(f"{cmd!r} -> {r!r}, expected {code}")


def read_reply(f):
    line = f.readline()
    reply = line
    if len(line) > 3 and line[3:4] == b"-":
        while not (line[:3] == reply[:3] and line[3:4] == b" "):
            line = f.readline()
            if not line:
                break
    return reply.decode(errors="replace").strip()


def hostile_long_line():
    start.wait()
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    f = s.makefile("rb")
    assert read_reply(f).startswith("220")
    s.sendall(b"NOOP " + b"A" * 10000 + b"\r\n")
    r = read_reply(f)
    assert r.startswith("500"), f"long line -> {r!r}"
    s.sendall(b"USER anonymous\r\n")
    r = read_reply(f)
    assert r.startswith(("331", "230")), f"USER after the long line -> {r!r}"
    if r.startswith("331"):
        s.sendall(b"PASS x@\r\n")
        r = read_reply(f)
    assert r.startswith("230"), f"login after the long line -> {r!r}"
    s.sendall(b"QUIT\r\n")
    s.close()
    return "500, then the session logged in"


def hostile_escape():
    start.wait()
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect(host, port)
    ftp.login()
    for path in ("../../etc/passwd", "/etc/passwd", "../../../../../../etc/passwd", "etc-link/passwd",
                 "passwd-link", "outside-dir-link/x"):
        try:
            ftp.retrbinary("RETR " + path, lambda b: None)
            raise AssertionError(f"RETR {path} succeeded")
        except ftplib.error_perm as e:
            assert str(e).startswith("550"), f"RETR {path} -> {e}"
    expect_perm(ftp, "SIZE passwd-link", "550")
    expect_perm(ftp, "CWD etc-link", "550")
    ftp.sendcmd("CWD ../../..")
    assert ftp.pwd() == "/", ftp.pwd()
    names = ftp.nlst()
    assert "etc-link" not in names and "passwd-link" not in names, names
    buf = io.BytesIO()
    ftp.retrbinary("RETR inside-link", buf.write)
    assert hashlib.sha256(buf.getvalue()).hexdigest() == LOAD_SHA, "a link inside the root"
    ftp.quit()
    return "550 for 6 escapes, a link inside the root served"


def hostile_bounce():
    start.wait()
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect(host, port)
    ftp.login()
    expect_perm(ftp, "PORT 192,0,2,7,4,1", "500")
    expect_perm(ftp, "EPRT |1|192.0.2.7|1025|", "500")
    ftp.quit()
    return "PORT and EPRT to 192.0.2.7: 500"


def hostile_stall():
    start.wait()
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect(host, port)
    ftp.login()
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR huge.bin")  # connected; never read
    try:
        r = ftp.voidresp()
        raise AssertionError(f"expected 426, got {r!r}")
    except ftplib.error_temp as e:
        assert str(e).startswith("426"), f"stalled RETR -> {e}"
    conn.close()
    ftp.voidcmd("NOOP")  # the session goes on
    ftp.quit()
    return "426 after the data timeout, session alive"


def hostile_idle():
    start.wait()
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    f = s.makefile("rb")
    assert read_reply(f).startswith("220")
    r = read_reply(f)  # nothing sent: the server speaks first
    assert r.startswith("421"), f"idle -> {r!r}"
    assert f.read(1) == b"", "the connection stays open after 421"
    return "421 and closed"


def run_hostile(fn):
    try:
        record(fn.__name__, True, fn())
    except Exception as e:  # noqa: BLE001
        record(fn.__name__, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


threads = [threading.Thread(target=client, args=(i,)) for i in range(nclients)]
threads += [threading.Thread(target=run_hostile, args=(fn,)) for fn in
            (hostile_long_line, hostile_escape, hostile_bounce, hostile_stall, hostile_idle)]
for t in threads:
    t.start()
for t in threads:
    t.join(TIMEOUT * 3)
hung = [t.name for t in threads if t.is_alive()]

bad = {k: v for k, v in results.items() if not v[0]}
ok_clients = sum(1 for k, v in results.items() if k.startswith("client-") and v[0])
modes = {}
for k, v in results.items():
    if k.startswith("client-") and v[0]:
        modes[v[1]] = modes.get(v[1], 0) + 1
print(f"clients ok: {ok_clients}/{nclients} by mode {dict(sorted(modes.items()))}")
for k in ("hostile_long_line", "hostile_escape", "hostile_bounce", "hostile_stall", "hostile_idle"):
    ok, detail = results.get(k, (False, "no result"))
    print(f"{k}: {'ok' if ok else 'FAIL'}: {detail}")
for k, v in sorted(bad.items())[:20]:
    print(f"FAIL {k}: {v[1]}", file=sys.stderr)
if hung:
    print(f"FAIL: {len(hung)} threads hung", file=sys.stderr)
uploaded = len([n for n in os.listdir(os.path.join(root, "up")) if n.startswith("client-")])
print(f"files uploaded: {uploaded}")
sys.exit(0 if not bad and not hung and ok_clients == nclients and uploaded == nclients and len(results) == nclients + 5 else 1)
