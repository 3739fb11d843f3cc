/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /metrics: the store's snapshot in the Prometheus text exposition format
 * 0.0.4. Counters come from the data plane's cumulative counters (so they
 * continue across agent restarts, and reset only with the pinned maps) or
 * from the store's sums of per-tick deltas (probes, routes, link changes:
 * those reset when the agent restarts, which Prometheus' rate() handles).
 * The RTT is a real histogram, presage_rtt_seconds, aggregated from the data
 * plane's log-linear buckets; see docs/health-api.md.
 */
#ifndef PRESAGE_METRICS_H
#define PRESAGE_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "presage.h"
#include "store.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Upper bounds (le) of presage_rtt_seconds in ns, +Inf not included. */
#define METRICS_RTT_BOUNDS 16
extern const uint64_t metrics_rtt_bounds_ns[METRICS_RTT_BOUNDS];

/*
 * Cumulative counts of the coarse buckets from the data plane's buckets: a
 * sample counts towards le=L when its whole fine bucket lies at or below L,
 * so every count is exact about "<= L" and at most one fine bucket (6.25 %)
 * of samples near L is put in the next bound. out[METRICS_RTT_BOUNDS] is the
 * +Inf bucket, the sum of all fine buckets.
 */
void metrics_rtt_buckets(const uint64_t *fine, uint64_t out[METRICS_RTT_BOUNDS + 1]);

/* Write a label value with Prometheus' escapes (\\, \", \n). */
void metrics_label_value(FILE *f, const char *s);

/* The whole exposition. */
void metrics_write(FILE *f, const struct store_snapshot *sn, const char *version,
		   const char *hostname);

#endif
