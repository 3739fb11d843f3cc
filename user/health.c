// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "health.h"
#include "json.h"

int health_read(int stats_fd, int hist_fd, const int *ids, int n, uint64_t gen,
		struct link_reading *out)
{
	int ncpu = libbpf_num_possible_cpus(), max_id = -1, err = 0;
	__u32 count, out_batch, *keys;
	struct link_stats *sv = NULL;
	struct rtt_hist *hv = NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (int i = 0; i < n; i++)
		if (ids[i] > max_id)
			max_id = ids[i];
	if (max_id < 0)
		return 0;
	count = max_id + 1;
	keys = calloc(count, sizeof(*keys));
	sv = calloc((size_t)count * ncpu, sizeof(*sv));
	hv = calloc((size_t)count * ncpu, sizeof(*hv));
	if (!keys || !sv || !hv) {
		err = -ENOMEM;
		goto out;
	}
	/* Arrays: one batch from the start covers ids 0..max_id. */
	err = bpf_map_lookup_batch(stats_fd, NULL, &out_batch, keys, sv, &count, &opts);
	if (err && err != -ENOENT)
		goto out;
	count = max_id + 1;
	err = bpf_map_lookup_batch(hist_fd, NULL, &out_batch, keys, hv, &count, &opts);
	if (err && err != -ENOENT)
		goto out;
	err = 0;
	for (int i = 0; i < n; i++) {
		struct link_reading *r = &out[i];
		__u64 *acc = (__u64 *)&r->st;

		memset(r, 0, sizeof(*r));
		for (int c = 0; c < ncpu; c++) {
			const __u64 *v = (const __u64 *)&sv[(size_t)ids[i] * ncpu + c];
			const struct rtt_hist *h = &hv[(size_t)ids[i] * ncpu + c];

			for (size_t f = 0; f < sizeof(r->st) / 8; f++)
				acc[f] += v[f];
			r->hist_count += h->count;
			r->hist_sum_ns += h->sum_ns;
			if (h->win_gen == gen && h->win_min_ns) {
				if (!r->win_min_ns || h->win_min_ns < r->win_min_ns)
					r->win_min_ns = h->win_min_ns;
				if (h->win_max_ns > r->win_max_ns)
					r->win_max_ns = h->win_max_ns;
			}
			for (int b = 0; b < HIST_BUCKETS; b++)
				r->buckets[b] += h->buckets[b];
		}
	}
out:
	free(keys);
	free(sv);
	free(hv);
	return err;
}

int health_count_flows(int flows_fd, uint64_t *total)
{
	enum { CHUNK = 8192 };
	struct flow_key *keys = malloc(CHUNK * sizeof(*keys));
	struct flow_state *vals = malloc(CHUNK * sizeof(*vals));
	struct flow_key in_batch, out_batch;
	void *in = NULL;
	__u32 count;
	int err = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	*total = 0;
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = CHUNK;
		err = bpf_map_lookup_batch(flows_fd, in, &out_batch, keys, vals, &count, &opts);
		*total += count;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err)
			break;
		in_batch = out_batch;
		in = &in_batch;
	}
out:
	free(keys);
	free(vals);
	return err;
}

double hist_quantile_ns(const uint64_t *buckets, uint64_t count, double q)
{
	double rank, seen = 0;

	if (!count)
		return NAN;
	rank = q * (double)count;
	for (int b = 0; b < HIST_BUCKETS; b++) {
		double lo, hi, frac;

		if (!buckets[b])
			continue;
		if (seen + (double)buckets[b] < rank) {
			seen += (double)buckets[b];
			continue;
		}
		/* Spread the bucket's samples evenly over its width. */
		lo = (double)hist_bucket_low(b);
		hi = b + 1 < HIST_BUCKETS ? (double)hist_bucket_low(b + 1) : lo * 1.0625;
		frac = (rank - seen) / (double)buckets[b];
		return lo + (hi - lo) * frac;
	}
	return (double)hist_bucket_low(HIST_BUCKETS - 1);
}

static double rate(uint64_t a, uint64_t b, double dt)
{
	return dt > 0 && b >= a ? (double)(b - a) / dt : 0;
}

void health_compute(struct health_sample *s, const struct link_reading *p,
		    const struct link_reading *c, double dt, uint64_t capacity_bps)
{
	uint64_t buckets[HIST_BUCKETS], n;
	double lo, hi;

	s->dt_s = dt;
	s->capacity_bps = capacity_bps;
	s->rx_bps = rate(p->st.rx_bytes, c->st.rx_bytes, dt) * 8;
	s->tx_bps = rate(p->st.tx_bytes, c->st.tx_bytes, dt) * 8;
	s->rx_pps = rate(p->st.rx_packets, c->st.rx_packets, dt);
	s->tx_pps = rate(p->st.tx_packets, c->st.tx_packets, dt);
	s->utilization = capacity_bps ? fmax(s->rx_bps, s->tx_bps) / (double)capacity_bps : NAN;

	n = c->hist_count - p->hist_count;
	s->rtt_samples = n;
	s->rtt_min_ms = s->rtt_max_ms = s->rtt_mean_ms = NAN;
	s->rtt_p50_ms = s->rtt_p90_ms = s->rtt_p99_ms = NAN;
	if (n) {
		for (int b = 0; b < HIST_BUCKETS; b++)
			buckets[b] = c->buckets[b] - p->buckets[b];
		/* The window extremes are exact; use them to clamp the bucket estimates. */
		lo = c->win_min_ns ? (double)c->win_min_ns : 0;
		hi = c->win_max_ns ? (double)c->win_max_ns : INFINITY;
		s->rtt_min_ms = c->win_min_ns ? lo / 1e6 : hist_quantile_ns(buckets, n, 0) / 1e6;
		s->rtt_max_ms = c->win_max_ns ? hi / 1e6 : hist_quantile_ns(buckets, n, 1) / 1e6;
		s->rtt_mean_ms = (double)(c->hist_sum_ns - p->hist_sum_ns) / (double)n / 1e6;
		s->rtt_p50_ms = fmin(fmax(hist_quantile_ns(buckets, n, 0.50), lo), hi) / 1e6;
		s->rtt_p90_ms = fmin(fmax(hist_quantile_ns(buckets, n, 0.90), lo), hi) / 1e6;
		s->rtt_p99_ms = fmin(fmax(hist_quantile_ns(buckets, n, 0.99), lo), hi) / 1e6;
	}
	s->rx_data = c->st.rx_tcp_data - p->st.rx_tcp_data;
	s->tx_data = c->st.tx_tcp_data - p->st.tx_tcp_data;
	s->rx_retrans = c->st.rx_tcp_retrans - p->st.rx_tcp_retrans;
	s->tx_retrans = c->st.tx_tcp_retrans - p->st.tx_tcp_retrans;
	s->rx_retrans_rate = s->rx_data ? (double)s->rx_retrans / (double)s->rx_data : NAN;
	s->tx_retrans_rate = s->tx_data ? (double)s->tx_retrans / (double)s->tx_data : NAN;
	s->malformed = (c->st.bad_l2 - p->st.bad_l2) + (c->st.bad_l3 - p->st.bad_l3) +
		       (c->st.bad_l4 - p->st.bad_l4) +
		       (c->st.ipv6_ext_overflow - p->st.ipv6_ext_overflow);
	s->non_ip = c->st.non_ip - p->st.non_ip;
	s->fragments = c->st.ip_frag - p->st.ip_frag;
	s->rtt_asym = c->st.rtt_asym - p->st.rtt_asym;
	s->flows_created = c->st.flows_created - p->st.flows_created;
	s->flow_insert_fail = c->st.flow_insert_fail - p->st.flow_insert_fail;
}

void health_sample_init(struct health_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->rtt_min_ms = s->rtt_mean_ms = s->rtt_p50_ms = s->rtt_p90_ms = s->rtt_p99_ms =
		s->rtt_max_ms = NAN;
	s->rx_retrans_rate = s->tx_retrans_rate = s->utilization = NAN;
	s->probe_loss = s->probe_rtt_min_ms = s->probe_rtt_avg_ms = s->probe_rtt_p90_ms =
		s->probe_rtt_max_ms = NAN;
	s->carrier = -1;
	snprintf(s->operstate, sizeof(s->operstate), "unknown");
}

void health_print_header(FILE *f)
{
	fprintf(f, "%-8s %-12s %-10s %9s %9s %5s %6s %7s %7s %7s %7s %7s %6s %6s %5s %6s\n",
		"time", "link", "iface", "rx Mb/s", "tx Mb/s", "util%", "rtt#", "min ms", "p50",
		"p90", "p99", "max", "rtx-in", "rtx-out", "bad", "flows%");
}

static void fmt_ms(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.2f", v);
}

static void fmt_pct(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.2f%%", v * 100);
}

/*
 * Link state, routes and probes get a line of their own under the link's
 * row, so the columns stay readable.
 */
static void print_detail_line(FILE *f, const struct health_sample *s)
{
	char loss[16], avg[16], p90[16], mx[16], routes[96] = "routes -", probe[128] = "";

	if (s->routes_known)
		snprintf(routes, sizeof(routes), "routes %llu (+%llu -%llu, burst %llu)",
			 (unsigned long long)s->routes, (unsigned long long)s->routes_announced,
			 (unsigned long long)s->routes_withdrawn,
			 (unsigned long long)s->withdraw_burst_max);
	if (s->probes_configured) {
		fmt_pct(loss, sizeof(loss), s->probe_loss);
		fmt_ms(avg, sizeof(avg), s->probe_rtt_avg_ms);
		fmt_ms(p90, sizeof(p90), s->probe_rtt_p90_ms);
		fmt_ms(mx, sizeof(mx), s->probe_rtt_max_ms);
		snprintf(probe, sizeof(probe), "  probes %llu/%llu lost %llu (%s) rtt avg/p90/max %s/%s/%s ms",
			 (unsigned long long)s->probe_replies, (unsigned long long)s->probe_sent,
			 (unsigned long long)s->probe_lost, loss, avg, p90, mx);
	}
	fprintf(f, "%-8s %-12s link %s  %s%s\n", "", "",
		s->carrier < 0 ? "?" : s->carrier ? "carrier" : "NO-CARRIER", routes, probe);
	if (s->link_changes)
		fprintf(f, "%-8s %-12s link state changed %llu time(s), now %s\n", "", "",
			(unsigned long long)s->link_changes, s->operstate);
}

void health_print_row(FILE *f, const struct health_sample *s)
{
	char mn[16], p50[16], p90[16], p99[16], mx[16], ri[16], ro[16], util[16], tm[16];
	time_t t = (time_t)(s->ts_ms / 1000);
	struct tm tmv;

	localtime_r(&t, &tmv);
	strftime(tm, sizeof(tm), "%H:%M:%S", &tmv);
	fmt_ms(mn, sizeof(mn), s->rtt_min_ms);
	fmt_ms(p50, sizeof(p50), s->rtt_p50_ms);
	fmt_ms(p90, sizeof(p90), s->rtt_p90_ms);
	fmt_ms(p99, sizeof(p99), s->rtt_p99_ms);
	fmt_ms(mx, sizeof(mx), s->rtt_max_ms);
	fmt_pct(ri, sizeof(ri), s->rx_retrans_rate);
	fmt_pct(ro, sizeof(ro), s->tx_retrans_rate);
	if (isnan(s->utilization))
		snprintf(util, sizeof(util), "-");
	else
		snprintf(util, sizeof(util), "%.1f", s->utilization * 100);
	if (strcmp(s->state, "attached")) {
		fprintf(f, "%-8s %-12s %-10s %s\n", tm, s->link, s->ifname, s->state);
		print_detail_line(f, s);
		return;
	}
	fprintf(f, "%-8s %-12s %-10s %9.3f %9.3f %5s %6llu %7s %7s %7s %7s %7s %6s %6s %5llu %5.1f%%\n",
		tm, s->link, s->ifname, s->rx_bps / 1e6, s->tx_bps / 1e6, util,
		(unsigned long long)s->rtt_samples, mn, p50, p90, p99, mx, ri, ro,
		(unsigned long long)s->malformed, s->flow_pressure * 100);
	print_detail_line(f, s);
}

void health_json(struct json_writer *w, const struct health_sample *s)
{
	json_obj_open(w, NULL);
	json_str(w, "link", s->link);
	json_str(w, "interface", s->ifname);
	json_str(w, "state", s->state);
	json_u64(w, "ts_ms", s->ts_ms);
	json_dbl(w, "interval_s", s->dt_s);
	json_u64(w, "capacity_bps", s->capacity_bps);
	json_dbl(w, "rx_bps", s->rx_bps);
	json_dbl(w, "tx_bps", s->tx_bps);
	json_dbl(w, "rx_pps", s->rx_pps);
	json_dbl(w, "tx_pps", s->tx_pps);
	json_dbl(w, "utilization", s->utilization);
	json_obj_open(w, "rtt");
	json_u64(w, "samples", s->rtt_samples);
	json_dbl(w, "min_ms", s->rtt_min_ms);
	json_dbl(w, "mean_ms", s->rtt_mean_ms);
	json_dbl(w, "p50_ms", s->rtt_p50_ms);
	json_dbl(w, "p90_ms", s->rtt_p90_ms);
	json_dbl(w, "p99_ms", s->rtt_p99_ms);
	json_dbl(w, "max_ms", s->rtt_max_ms);
	json_u64(w, "asymmetric", s->rtt_asym);
	json_obj_close(w);
	json_obj_open(w, "tcp");
	json_u64(w, "rx_data_segments", s->rx_data);
	json_u64(w, "rx_retransmissions", s->rx_retrans);
	json_dbl(w, "rx_retrans_rate", s->rx_retrans_rate);
	json_u64(w, "tx_data_segments", s->tx_data);
	json_u64(w, "tx_retransmissions", s->tx_retrans);
	json_dbl(w, "tx_retrans_rate", s->tx_retrans_rate);
	json_obj_close(w);
	json_u64(w, "malformed", s->malformed);
	json_u64(w, "non_ip", s->non_ip);
	json_u64(w, "fragments", s->fragments);
	json_obj_open(w, "flows");
	json_u64(w, "created", s->flows_created);
	json_u64(w, "insert_failures", s->flow_insert_fail);
	json_u64(w, "live", s->flows_live);
	json_u64(w, "max", s->flows_max);
	json_dbl(w, "pressure", s->flow_pressure);
	json_obj_close(w);
	if (s->probes_configured) {
		json_obj_open(w, "probe");
		json_u64(w, "sent", s->probe_sent);
		json_u64(w, "replies", s->probe_replies);
		json_u64(w, "lost", s->probe_lost);
		json_dbl(w, "loss", s->probe_loss);
		json_dbl(w, "rtt_min_ms", s->probe_rtt_min_ms);
		json_dbl(w, "rtt_avg_ms", s->probe_rtt_avg_ms);
		json_dbl(w, "rtt_p90_ms", s->probe_rtt_p90_ms);
		json_dbl(w, "rtt_max_ms", s->probe_rtt_max_ms);
		json_obj_close(w);
	} else {
		json_null(w, "probe");
	}
	json_obj_open(w, "link_state");
	if (s->carrier < 0)
		json_null(w, "carrier");
	else
		json_bool(w, "carrier", s->carrier == 1);
	json_str(w, "operstate", s->operstate);
	json_u64(w, "changes", s->link_changes);
	json_obj_close(w);
	if (s->routes_known) {
		json_obj_open(w, "routes");
		json_u64(w, "count", s->routes);
		json_u64(w, "announced", s->routes_announced);
		json_u64(w, "withdrawn", s->routes_withdrawn);
		json_u64(w, "withdraw_burst_max", s->withdraw_burst_max);
		json_obj_close(w);
	} else {
		json_null(w, "routes");
	}
	json_obj_close(w);
}
