/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Health samples: what the agent makes of the data plane's counters every
 * tick. Counters are read with batch look-ups, summed over CPUs and turned
 * into rates against the previous read; the RTT histogram's per-tick delta
 * gives the quantiles.
 */
#ifndef PRESAGE_HEALTH_H
#define PRESAGE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "presage.h"

/* Counters of one link summed over CPUs, at one instant. */
struct link_reading {
	struct link_stats st;
	uint64_t hist_count, hist_sum_ns, win_min_ns, win_max_ns;
	uint64_t buckets[HIST_BUCKETS];
};

/* One interconnect over one tick. Rates are per second over dt_s. */
struct health_sample {
	char link[32];
	char ifname[16];
	char state[16];			/* attached, missing, failed */
	uint64_t ts_ms;			/* Unix time of the read, ms */
	double dt_s;
	uint64_t capacity_bps;
	double rx_bps, tx_bps, rx_pps, tx_pps, utilization;
	uint64_t rtt_samples;
	double rtt_min_ms, rtt_mean_ms, rtt_p50_ms, rtt_p90_ms, rtt_p99_ms, rtt_max_ms; /* NaN: none */
	uint64_t rx_data, rx_retrans, tx_data, tx_retrans;
	double rx_retrans_rate, tx_retrans_rate;	/* NaN when no data moved */
	uint64_t malformed;		/* bad L2/L3/L4 + IPv6 chains past the bound */
	uint64_t non_ip, fragments, rtt_asym;
	uint64_t flows_created, flow_insert_fail;
	/* Whole flow table (shared by all links). */
	uint64_t flows_live, flows_max;
	double flow_pressure;

	/* Active probes over the tick (probe.h). A probe is "lost" in the tick
	 * its deadline passes without a reply; a late reply is not a sample. */
	bool probes_configured;
	uint64_t probe_sent, probe_lost, probe_replies;
	double probe_loss;			/* lost / (lost + replies); NaN: none settled */
	double probe_rtt_min_ms, probe_rtt_avg_ms, probe_rtt_p90_ms, probe_rtt_max_ms; /* NaN: none */

	/* Link state from netlink (nlmon.h), as of the end of the tick. */
	int carrier;				/* 1 up, 0 down, -1 unknown */
	char operstate[16];			/* "up", "down", "lowerlayerdown", ... or "unknown" */
	uint64_t link_changes;			/* carrier/operstate changes during the tick */

	/* Routes from the configured routing protocols, attributed by next hop. */
	bool routes_known;			/* false until the first dump is done */
	uint64_t routes;			/* current count */
	uint64_t routes_announced, routes_withdrawn;	/* during the tick */
	uint64_t withdraw_burst_max;		/* largest burst that ended or ran in the tick */
};

/* Version of the JSON sample's schema ("schema" field); bump on a change
 * that is not a pure addition. */
#define HEALTH_SCHEMA "presage.health/1"

/* Everything not measured starts as "none" (NaN, -1, "unknown"). */
void health_sample_init(struct health_sample *s);

/*
 * Read @n link ids' counters with batch look-ups into @out (indexed like
 * @ids). Window extremes are taken from CPUs whose window is @gen.
 */
int health_read(int stats_fd, int hist_fd, const int *ids, int n, uint64_t gen,
		struct link_reading *out);
/* Count live entries of the flow table with batch look-ups. */
int health_count_flows(int flows_fd, uint64_t *count);

/* Quantile @q (0..1) of a bucket delta array holding @count samples, in ns. */
double hist_quantile_ns(const uint64_t *buckets, uint64_t count, double q);

/* Fill a sample from two readings @dt_s apart. */
void health_compute(struct health_sample *s, const struct link_reading *prev,
		    const struct link_reading *cur, double dt_s, uint64_t capacity_bps);

void health_print_header(FILE *f);
void health_print_row(FILE *f, const struct health_sample *s);
/* One JSON object per sample (schema in README, "Health sample"). */
struct json_writer;
void health_json(struct json_writer *w, const struct health_sample *s);

#endif
