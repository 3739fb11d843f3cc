#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Summaries of the agent's JSON lines over a time window, for tests.

  agentstat.py FILE LINK T0_MS T1_MS FIELD
FIELD: rtt_p50_median (median of per-tick p50 over ticks with samples),
       rtt_samples, tx_retrans_rate, rx_retrans_rate (pooled over the window),
       tx_data, ticks
"""
import json
import statistics
import sys

path, link, t0, t1, field = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = []
with open(path) as f:
    for line in f:
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if "links" not in d:
            continue  # an event line (presage.event/1), not a sample
        if not (t0 <= d["ts_ms"] <= t1):
            continue
        for l in d["links"]:
            if l["link"] == link:
                rows.append(l)
if field == "ticks":
    print(len(rows))
elif field == "rtt_p50_median":
    v = [r["rtt"]["p50_ms"] for r in rows if r["rtt"]["samples"] > 0]
    print(statistics.median(v) if v else "nan")
elif field == "rtt_samples":
    print(sum(r["rtt"]["samples"] for r in rows))
elif field in ("tx_retrans_rate", "rx_retrans_rate"):
    d = "tx" if field.startswith("tx") else "rx"
    data = sum(r["tcp"][d + "_data_segments"] for r in rows)
    rt = sum(r["tcp"][d + "_retransmissions"] for r in rows)
    print(rt / data if data else "nan")
elif field == "tx_data":
    print(sum(r["tcp"]["tx_data_segments"] for r in rows))
else:
    sys.exit("unknown field " + field)
