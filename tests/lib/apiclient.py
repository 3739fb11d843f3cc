#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Health API clients for tests/t-ihm-api.sh (stdlib only).

  apiclient.py hammer HOST PORT N          N requests in a row over fresh connections,
                                           cycling the endpoints; prints "ok N failed M"
  apiclient.py flood HOST PORT N HOLD      open N connections at once, hold HOLD s, close
  apiclient.py halfsend HOST PORT HOLD     send half a request, hold HOLD s
  apiclient.py garbage HOST PORT           send 64 KiB of random bytes; print the status line
  apiclient.py value FILE NAME LABELS      a series' value from a /metrics dump
                                           (LABELS: k=v,k=v exactly as in the series)
  apiclient.py monotonic OLD NEW           every counter and histogram series in NEW >= OLD
  apiclient.py histcheck FILE              presage_rtt_seconds: cumulative buckets, +Inf == _count
"""
import http.client
import json
import os
import re
import socket
import sys
import time

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    """{(name, ((k, v), ...)): value} and {family: type}."""
    vals, types = {}, {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# TYPE "):
                _, _, fam, typ = line.split(" ", 3)
                types[fam] = typ
                continue
            if not line or line.startswith("#"):
                continue
            m = SERIES.match(line)
            if not m:
                raise SystemExit(f"unparsable line: {line!r}")
            labels = tuple(LABEL.findall(m.group(3) or ""))
            vals[(m.group(1), labels)] = float(m.group(4))
    return vals, types


def family_of(name, types):
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[: -len(suf)]) == "histogram":
            return name[: -len(suf)]
    return name


def hammer(host, port, n):
    paths = ["/v1/health", "/metrics", "/v1/history?since=0", "/v1/events"]
    ok = failed = 0
    worst = 0.0
    for i in range(n):
        p = paths[i % len(paths)]
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection(host, port, timeout=15)
            c.request("GET", p)
            r = c.getresponse()
            body = r.read()
            c.close()
            good = r.status == 200 and body.endswith(b"\n")
            if good and p.startswith("/v1/"):
                json.loads(body)
            if good:
                ok += 1
            else:
                failed += 1
                print(f"# {p}: status {r.status}", file=sys.stderr)
        except Exception as e:  # noqa: BLE001 - any failure is a failed request
            failed += 1
            print(f"# {p}: {e}", file=sys.stderr)
        worst = max(worst, time.monotonic() - t0)
    print(f"ok {ok} failed {failed} slowest_ms {worst * 1000:.1f}")


def flood(host, port, n, hold):
    socks = []
    for _ in range(n):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, port))
            socks.append(s)
        except OSError:
            break
    time.sleep(hold)
    for s in socks:
        s.close()
    print(f"opened {len(socks)}")


def halfsend(host, port, hold):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Half: ")
    time.sleep(hold)
    s.close()


def garbage(host, port):
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(os.urandom(65536))
    except OSError:
        pass
    try:
        data = s.recv(200)
    except OSError:
        data = b""
    s.close()
    print(data.split(b"\r\n", 1)[0].decode("latin-1") or "(closed)")


def value(path, name, labels):
    vals, _ = parse(path)
    want = tuple(tuple(kv.split("=", 1)) for kv in labels.split(",")) if labels else ()
    v = vals.get((name, want))
    if v is None:
        raise SystemExit(f"no series {name}{{{labels}}} in {path}")
    print(int(v) if v == int(v) else v)


def monotonic(old, new):
    a, types = parse(old)
    b, _ = parse(new)
    bad = checked = 0
    for key, v in a.items():
        if types.get(family_of(key[0], types)) not in ("counter", "histogram"):
            continue
        checked += 1
        if key not in b:
            print(f"# {key} disappeared")
            bad += 1
        elif b[key] < v:
            print(f"# {key} went down: {v} -> {b[key]}")
            bad += 1
    print(f"checked {checked} bad {bad}")
    sys.exit(1 if bad or not checked else 0)


def histcheck(path):
    vals, _ = parse(path)
    per = {}
    for (name, labels), v in vals.items():
        if name == "presage_rtt_seconds_bucket":
            d = dict(labels)
            le = float("inf") if d["le"] == "+Inf" else float(d["le"])
            rest = tuple(kv for kv in labels if kv[0] != "le")
            per.setdefault(rest, []).append((le, v))
    bad = 0
    for rest, buckets in per.items():
        buckets.sort()
        counts = [c for _, c in buckets]
        if counts != sorted(counts):
            print(f"# {rest}: buckets not cumulative: {counts}")
            bad += 1
        if buckets[-1][0] != float("inf") or counts[-1] != vals.get(("presage_rtt_seconds_count", rest)):
            print(f"# {rest}: +Inf bucket {counts[-1]} != _count")
            bad += 1
        if ("presage_rtt_seconds_sum", rest) not in vals:
            print(f"# {rest}: no _sum")
            bad += 1
    print(f"histograms {len(per)} bad {bad}")
    sys.exit(1 if bad or not per else 0)


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        sys.exit(2)
    cmd = a[0]
    if cmd == "hammer":
        hammer(a[1], int(a[2]), int(a[3]))
    elif cmd == "flood":
        flood(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif cmd == "halfsend":
        halfsend(a[1], int(a[2]), float(a[3]))
    elif cmd == "garbage":
        garbage(a[1], int(a[2]))
    elif cmd == "value":
        value(a[1], a[2], a[3] if len(a) > 3 else "")
    elif cmd == "monotonic":
        monotonic(a[1], a[2])
    elif cmd == "histcheck":
        histcheck(a[1])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
