#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checks the outcome of one scripts/scenario.sh run (tests/t-e2e.sh).

Reads what the run left in DIR (SCENARIO_OUT): scenario.marks (the time of
each phase), clients.jsonl (every client request), named.log (BIND's log:
each applied UPDATE), cmmd.db (the controller's database), notprimary.during
(A's not-primary flags seen while failed over), and the lab's cmmd.conf.
Prints PASS:/FAIL: lines (the test runner's format); exits 1 on any FAIL.
"""
import argparse
import collections
import json
import re
import sqlite3
import sys

failed = 0


def check(name, ok, detail=""):
    global failed
    if ok:
        print(f"PASS: {name}" + (f"  # {detail}" if detail else ""))
    else:
        failed += 1
        print(f"FAIL: {name}: {detail}")


def pop_addresses(conf):
    """POP name -> client-facing addresses, from the controller's config."""
    out, pop = {}, None
    for line in open(conf):
        w = line.split("#", 1)[0].split()
        if len(w) >= 2 and w[0] == "pop":
            pop = w[1]
            out[pop] = []
        elif w and w[0] == "}":
            pop = None
        elif pop and len(w) == 2 and w[0] == "address":
            out[pop].append(w[1])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--primary", default="popA")
    ap.add_argument("--hosts", default="www.cdn.test,img.cdn.test")
    ap.add_argument("--enter", type=float, default=0.6)
    ap.add_argument("--max-fail", type=float, default=0.01)
    a = ap.parse_args()
    hosts = a.hosts.split(",")
    d = a.dir
    marks = {}
    for line in open(f"{d}/scenario.marks"):
        k, v = line.split()
        marks.setdefault(k, float(v))
    for k in ("cut", "restore", "normal"):
        if k not in marks:
            check(f"scenario_reached_{k}", False, "the run did not get there")
            return 1
    cut, restore, normal = marks["cut"], marks["restore"], marks["normal"]
    addrs = pop_addresses(a.conf)
    a_addrs = set(addrs[a.primary])
    db = sqlite3.connect(f"file:{d}/cmmd.db?mode=ro", uri=True)
    db.row_factory = sqlite3.Row

    # 1. The prediction crossed the threshold before the cut.
    r = db.execute("SELECT max(risk) m, min(ts) t FROM pop_risk WHERE pop=? AND ts<? AND risk>=?",
                   (a.primary, cut, a.enter)).fetchone()
    check("probability_crossed_threshold_before_cut", r["m"] is not None,
          f"max risk of {a.primary} before the cut: {r['m']}, first at {r['t']} (cut {cut:.0f})"
          if r["m"] is not None else f"risk of {a.primary} never reached {a.enter} before the cut")

    # 2. Each hostname's hot set was verified at B before its DNS changed.
    steer = {}
    for h in hosts:
        j = db.execute("SELECT * FROM journal WHERE hostname=? AND action='dns-steer' AND to_state='STAGED' "
                       "AND status='done' ORDER BY id LIMIT 1", (h,)).fetchone()
        if not j:
            check(f"hot_set_verified_before_dns:{h}", False, "no DNS steer to a staged POP")
            continue
        steer[h] = j["target"]
        m = db.execute("SELECT * FROM mirror_jobs WHERE hostname=? AND dest=? AND state='verified' "
                       "AND updated_ms<=? ORDER BY updated_ms LIMIT 1",
                       (h, j["target"], j["done_ts_ms"])).fetchone()
        check(f"hot_set_verified_before_dns:{h}", m is not None and m["items"] > 0,
              f"order {m['order_id']}: {m['items']} items verified at {m['dest']} "
              f"{j['done_ts_ms'] - m['updated_ms']} ms before the DNS update" if m else
              f"no verified mirror job at {j['target']} before journal row {j['id']}")

    # Client requests, by phase.
    rows = [json.loads(line) for line in open(f"{d}/clients.jsonl") if line.strip()]
    wrong = [r for r in rows if r.get("wrong")]
    check("no_wrong_content", rows and not wrong,
          f"{len(rows)} requests, none with a wrong body" if not wrong else
          f"{len(wrong)} bodies did not match their SHA-256, e.g. {wrong[0]}")

    # 3. DNS answered B before the cut (clients fetched from B, and from it only, just before).
    for h in hosts:
        b = set(addrs.get(steer.get(h, ""), []))
        before = [r for r in rows if r["host"] == h and r["t"] < cut and r.get("addr") in b and r["ok"]]
        check(f"dns_answered_b_before_cut:{h}", b and before,
              f"{len(before)} requests served by {steer.get(h)} before the cut" if before else
              f"no request reached {steer.get(h)} ({sorted(b)}) before the cut")

    # 4. After the cut, fewer than 1 % of requests failed.
    end = marks.get("end", normal)
    after = [r for r in rows if cut <= r["t"] < end and r["host"] in hosts]
    bad = [r for r in after if not r["ok"]]
    why = collections.Counter((r.get("addr"), r.get("err") or r.get("status")) for r in bad)
    check("after_cut_under_1pct_failed", after and len(bad) < a.max_fail * len(after),
          f"{len(bad)} of {len(after)} requests failed from the cut to the end"
          + (f": {dict(why)}" if bad else ""))

    # 5. A's content was marked not primary while B served.
    seen = set(open(f"{d}/notprimary.during").read().split()) if \
        __import__("os").path.exists(f"{d}/notprimary.during") else set()
    check("a_not_primary_while_b_served", set(hosts) <= seen,
          f"flags at {a.primary} while failed over: {sorted(seen)}")
    served_a = [r for r in rows if restore > r["t"] >= marks.get("failed_over", cut) + 1
                and r.get("addr") in a_addrs and r["ok"]]
    check("a_served_nothing_while_failed_over", not served_a,
          f"{len(served_a)} requests answered by {a.primary} while it was not primary")

    # 6. Failback completed: every hostname NORMAL and served by A again.
    for h in hosts:
        st = db.execute("SELECT state, serving_pop FROM hostnames WHERE name=?", (h,)).fetchone()
        back = [r for r in rows if r["host"] == h and r["t"] >= normal and r.get("addr") in a_addrs and r["ok"]]
        check(f"failback_completed:{h}", st and st["state"] == "NORMAL" and st["serving_pop"] == a.primary
              and back, f"state {st and tuple(st)}, {len(back)} requests served by {a.primary} after failback")

    # 7. Every DNS change the journal made was applied exactly once (BIND's log).
    log = open(f"{d}/named.log", errors="replace").read()
    for h in hosts:
        n_log = len(re.findall(r"updating zone 'cdn\.test/IN': deleting rrset at '" + re.escape(h) + r"' A$",
                               log, re.M))
        n_j = db.execute("SELECT count(*) FROM journal WHERE hostname=? AND action IN ('dns-steer','dns-restore') "
                         "AND status='done'", (h,)).fetchone()[0]
        check(f"dns_changes_applied_once:{h}", n_log == n_j and n_j >= 3,
              f"{n_j} DNS changes in the journal, {n_log} UPDATEs applied by BIND")
    pend = db.execute("SELECT count(*) FROM journal WHERE status!='done'").fetchone()[0]
    check("journal_all_done", pend == 0, f"{pend} journal rows not done")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
