#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The three-POP lab's content and clients (stdlib only).

  lab3-client.py gen --store HOST=DIR ... --manifest FILE [--seed S]
      write the lab's content deterministically: for each HOST, files under
      DIR/HOST/ (sizes 2 KB .. 1 MB, log-uniform), and the manifest FILE with
      one line per item: "HOST/PATH SHA256 SIZE".
  lab3-client.py run --manifest FILE --log FILE [--workers N] [--pause S]
                     [--timeout S] [--zipf S] [--seed S]
      fetch forever: each request resolves its host name through the system
      resolver (no caching: getaddrinfo for every request), fetches one item
      chosen with a Zipf skew over that host's items, checks the body's
      SHA-256 against the manifest and logs one JSON line:
      {"t","host","path","addr","status","ok","wrong","ms","err"}
  lab3-client.py stats --log FILE [--since T] [-j]
      ok / failed / wrong per address (and per host) since Unix time T.

A request is ok when the status is 200 and the body's SHA-256 and size are
the manifest's; wrong when the status is 200 and the body differs; failed
otherwise (no address, connection error, timeout, any other status).
"""
import argparse
import hashlib
import http.client
import json
import math
import os
import random
import socket
import sys
import threading
import time

# Items per host in the lab (gen): www and img at popA, static at popC.
ITEMS = {"www.cdn.test": 90, "img.cdn.test": 40, "static.cdn.test": 20}
# How often clients ask for each host (run): www most.
HOST_WEIGHT = {"www.cdn.test": 3, "img.cdn.test": 2, "static.cdn.test": 1}
MIN_SIZE, MAX_SIZE = 2000, 1000000


def die(msg, code=2):
    print("lab3-client: " + msg, file=sys.stderr)
    sys.exit(code)


def gen(args):
    stores = {}
    for s in args.store:
        host, sep, d = s.partition("=")
        if not sep or not host or not d:
            die("--store takes HOST=DIR, got '%s'" % s)
        if host not in ITEMS:
            die("unknown host '%s' (expected one of %s)" % (host, ", ".join(sorted(ITEMS))))
        stores[host] = d
    lines = []
    for host in sorted(stores):
        # One generator per host, so a host's content does not depend on
        # which other hosts are generated.
        rng = random.Random("%s/%s" % (args.seed, host))
        base = os.path.join(stores[host], host)
        for i in range(ITEMS[host]):
            size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
            sub = ("assets", "img", "js", "video")[i % 4]
            ext = {"assets": "css", "img": "jpg", "js": "js", "video": "mp4"}[sub]
            path = "%s/item%03d.%s" % (sub, i, ext)
            body = rng.randbytes(size)
            full = os.path.join(base, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            tmp = full + ".tmp"
            with open(tmp, "wb") as f:
                f.write(body)
            os.rename(tmp, full)
            lines.append("%s/%s %s %d\n" % (host, path, hashlib.sha256(body).hexdigest(), size))
    tmp = args.manifest + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.rename(tmp, args.manifest)
    total = sum(int(l.split()[2]) for l in lines)
    print("lab3-client: %d items, %d bytes, manifest %s" % (len(lines), total, args.manifest))


def read_manifest(path):
    items = {}
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) != 3 or "/" not in parts[0] or len(parts[1]) != 64 or not parts[2].isdigit():
                    die("%s:%d: expected 'HOST/PATH SHA256 SIZE'" % (path, n))
                host, _, p = parts[0].partition("/")
                items.setdefault(host, []).append(("/" + p, parts[1], int(parts[2])))
    except OSError as e:
        die("cannot read the manifest %s: %s" % (path, e.strerror))
    if not items:
        die("the manifest %s lists no items" % path)
    return items


def fetch(host, path, timeout):
    """One request: returns (addr, status, body or None, err)."""
    try:
        ai = socket.getaddrinfo(host, 80, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as e:
        return "", 0, None, "resolve: %s" % e.strerror
    addr = ai[0][4][0]
    conn = http.client.HTTPConnection(addr, 80, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host, "Connection": "close"})
        r = conn.getresponse()
        body = r.read()
        return addr, r.status, body, ""
    except (OSError, http.client.HTTPException) as e:
        return addr, 0, None, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()


def run(args):
    items = read_manifest(args.manifest)
    hosts = sorted(items)
    hweights = [HOST_WEIGHT.get(h, 1) for h in hosts]
    # Zipf over each host's items in manifest order: item k has weight 1/k^s.
    cum = {}
    for h in hosts:
        w = [1.0 / (k + 1) ** args.zipf for k in range(len(items[h]))]
        cum[h] = w
    lock = threading.Lock()
    out = open(args.log, "a", buffering=1)
    stop = threading.Event()

    def worker(wid):
        rng = random.Random("%s/%d" % (args.seed, wid))
        while not stop.is_set():
            host = rng.choices(hosts, hweights)[0]
            path, sha, size = rng.choices(items[host], cum[host])[0]
            t0 = time.time()
            addr, status, body, err = fetch(host, path, args.timeout)
            ms = (time.time() - t0) * 1000.0
            ok = wrong = False
            if status == 200 and body is not None:
                if len(body) == size and hashlib.sha256(body).hexdigest() == sha:
                    ok = True
                else:
                    wrong = True
                    err = "body differs from the manifest (%d bytes, want %d)" % (len(body), size)
            elif status and not err:
                err = "HTTP %d" % status
            rec = {"t": round(t0, 3), "host": host, "path": path, "addr": addr, "status": status,
                   "ok": ok, "wrong": wrong, "ms": round(ms, 1), "err": err}
            with lock:
                out.write(json.dumps(rec) + "\n")
            if args.pause > 0:
                stop.wait(args.pause)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.workers)]
    for t in threads:
        t.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop.set()


def stats(args):
    per_addr, per_host = {}, {}
    tot = {"ok": 0, "failed": 0, "wrong": 0}
    first = last = None
    try:
        f = open(args.log)
    except OSError as e:
        die("cannot read %s: %s" % (args.log, e.strerror), 1)
    with f:
        for line in f:
            try:
                r = json.loads(line)
                t = float(r["t"])
            except (ValueError, KeyError, TypeError):
                continue  # a line being written right now
            if t < args.since:
                continue
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
            k = "ok" if r.get("ok") else "wrong" if r.get("wrong") else "failed"
            for d, key in ((per_addr, r.get("addr") or "-"), (per_host, r.get("host") or "-")):
                e = d.setdefault(key, {"ok": 0, "failed": 0, "wrong": 0})
                e[k] += 1
            tot[k] += 1
    n = sum(tot.values())
    doc = {"since": args.since, "first": first, "last": last, "requests": n, **tot,
           "failed_share": (tot["failed"] / n) if n else 0.0,
           "addrs": [dict(addr=a, **v) for a, v in sorted(per_addr.items())],
           "hosts": [dict(host=h, **v) for h, v in sorted(per_host.items())]}
    if args.json:
        print(json.dumps(doc))
        return
    print("requests %d since %s: ok %d, failed %d, wrong %d" % (n, args.since, tot["ok"], tot["failed"], tot["wrong"]))
    print("  %-16s %8s %8s %8s" % ("address", "ok", "failed", "wrong"))
    for a in doc["addrs"]:
        print("  %-16s %8d %8d %8d" % (a["addr"], a["ok"], a["failed"], a["wrong"]))
    print("  %-16s %8s %8s %8s" % ("host", "ok", "failed", "wrong"))
    for h in doc["hosts"]:
        print("  %-16s %8d %8d %8d" % (h["host"], h["ok"], h["failed"], h["wrong"]))


def main():
    p = argparse.ArgumentParser(prog="lab3-client.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write the content and the manifest")
    g.add_argument("--store", action="append", required=True, metavar="HOST=DIR")
    g.add_argument("--manifest", required=True)
    g.add_argument("--seed", default="presage-lab3")
    r = sub.add_parser("run", help="fetch forever, log JSON lines")
    r.add_argument("--manifest", required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--workers", type=int, default=4)
    r.add_argument("--pause", type=float, default=0.1, help="seconds between a worker's requests")
    r.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    r.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent over each host's items")
    r.add_argument("--seed", default="clients")
    s = sub.add_parser("stats", help="ok/failed/wrong per address since T")
    s.add_argument("--log", required=True)
    s.add_argument("--since", type=float, default=0.0, help="Unix time (seconds)")
    s.add_argument("-j", "--json", action="store_true")
    a = p.parse_args()
    if a.cmd == "run" and (a.workers < 1 or a.workers > 64 or a.timeout <= 0 or a.pause < 0):
        die("--workers takes 1..64, --timeout > 0, --pause >= 0")
    {"gen": gen, "run": run, "stats": stats}[a.cmd](a)


if __name__ == "__main__":
    main()
