#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes the seed corpora (committed): mirror/fuzz/make-seeds.py
# Protocol seeds are hand-built frames; delta seeds come from `rdiff`.
import hashlib, os, struct, subprocess, tempfile
here = os.path.dirname(os.path.abspath(__file__))
P = os.path.join(here, "corpus-proto"); D = os.path.join(here, "corpus-delta")
os.makedirs(P, exist_ok=True); os.makedirs(D, exist_ok=True)

def frame(t, payload): return struct.pack(">BI", t, len(payload)) + payload
def entry(path, size, ver=1):
    p = path.encode()
    return struct.pack(">H", len(p)) + p + struct.pack(">QqI", size, 123, ver) + hashlib.sha256(p).digest()
order = (b"presage-order 1\nid ab12\nsource popA\nsource_addr 10.99.1.1:7443\ndestination popB\n"
         b"expires 1900000000\nbwlimit 0\nhost h.test\nitem x.test/a/b\nsig " + b"A" * 86 + b"==\n")
seeds = {
    "hello": frame(1, b"\x01" + order),
    "manifest": frame(3, entry("h.test/a", 10) + entry("h.test/d/b", 1 << 40, 7)) + frame(4, b""),
    "get": frame(5, b"\x01" + struct.pack(">H", 8) + b"h.test/a") + frame(6, b"RS\x016" + b"\0" * 8) + frame(7, b""),
    "data": frame(8, b"x" * 100) + frame(9, struct.pack(">Q", 100) + b"\0" * 32),
    "err": frame(10, struct.pack(">H", 9) + b"SHA-256 mismatch"),
    "bad-path": frame(3, entry("h.test/../../etc/passwd", 1)),
    "bad-len": struct.pack(">BI", 8, 0xffffffff) + b"xx",
    "bye": frame(11, b""),
    # command channel (presage-mirrord run)
    "job": frame(14, b"\x04job1" + bytes([3]) + b"\0\0" + struct.pack(">9Q", 7, 3, 1, 2, 0, 1 << 20, 4096, 9, 8)
                 + struct.pack(">3d", 1.5, 2.0, 0.5) + b"\x01" + struct.pack(">H", 4) + b"done"),
    "hot": frame(17, struct.pack(">I", 200) + b"h.test"),
    "hot-items": frame(18, struct.pack(">H", 8) + b"h.test/a" + struct.pack(">Qd", 10, 2.5) + b"\0" * 32) + frame(19, b""),
}
for name, data in seeds.items():
    for chunk in (0, 6, 255):
        open(os.path.join(P, "%s-%d" % (name, chunk)), "wb").write(bytes([chunk]) + data)

with tempfile.TemporaryDirectory() as t:
    basis = bytes((i * 131 + (i >> 7)) & 0xff for i in range(8192))
    new = basis[:1000] + b"changed" * 50 + basis[3000:] + b"tail"
    open(f"{t}/basis", "wb").write(basis); open(f"{t}/new", "wb").write(new)
    for h in ("blake2", "md4"):
        subprocess.run(["rdiff", "-H", h, "-b", "1024", "signature", f"{t}/basis", f"{t}/sig-{h}"], check=True)
        sig = open(f"{t}/sig-{h}", "rb").read()
        for c in (0, 20):
            open(os.path.join(D, "sig-%s-%d" % (h, c)), "wb").write(bytes([c]) + sig)
    subprocess.run(["rdiff", "delta", f"{t}/sig-blake2", f"{t}/new", f"{t}/delta"], check=True)
    delta = open(f"{t}/delta", "rb").read()
    for c in (1, 41, 255):
        open(os.path.join(D, "delta-%d" % c), "wb").write(bytes([c]) + delta)
    open(os.path.join(D, "delta-truncated"), "wb").write(b"\x01" + delta[: len(delta) // 2])
    open(os.path.join(D, "sig-truncated"), "wb").write(b"\x00" + sig[:30])
