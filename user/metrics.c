// SPDX-License-Identifier: GPL-2.0-only
#include <math.h>
#include <string.h>

#include "metrics.h"

/* 100 us to 10 s in 1-2.5-5 steps: interconnect RTTs run from well below a
 * millisecond (a metro peer) to seconds (a bufferbloated transit). */
const uint64_t metrics_rtt_bounds_ns[METRICS_RTT_BOUNDS] = {
	100000ULL,    250000ULL,    500000ULL,    1000000ULL,   2500000ULL,   5000000ULL,
	10000000ULL,  25000000ULL,  50000000ULL,  100000000ULL, 250000000ULL, 500000000ULL,
	1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL,
};

void metrics_rtt_buckets(const uint64_t *fine, uint64_t out[METRICS_RTT_BOUNDS + 1])
{
	memset(out, 0, (METRICS_RTT_BOUNDS + 1) * sizeof(*out));
	for (uint32_t b = 0; b < HIST_BUCKETS; b++) {
		if (!fine[b])
			continue;
		out[METRICS_RTT_BOUNDS] += fine[b];
		/* The last fine bucket is open above: it only counts towards +Inf. */
		if (b + 1 >= HIST_BUCKETS)
			continue;
		for (int k = 0; k < METRICS_RTT_BOUNDS; k++)
			if (hist_bucket_low(b + 1) - 1 <= metrics_rtt_bounds_ns[k])
				out[k] += fine[b];
	}
}

void metrics_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", f); break;
		case '"': fputs("\\\"", f); break;
		case '\n': fputs("\\n", f); break;
		default: fputc(*s, f);
		}
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	/* Help texts are our own constants: no backslash or newline to escape. */
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{link="..",interface=".."[,k="v"]} */
static void series(FILE *f, const char *name, const struct store_link *l, const char *k,
		   const char *v)
{
	fprintf(f, "%s{link=\"", name);
	metrics_label_value(f, l->name);
	fputs("\",interface=\"", f);
	metrics_label_value(f, l->ifname);
	if (k) {
		fprintf(f, "\",%s=\"", k);
		metrics_label_value(f, v);
	}
	fputs("\"} ", f);
}

static void val_u64(FILE *f, uint64_t v)
{
	fprintf(f, "%llu\n", (unsigned long long)v);
}

static void val_dbl(FILE *f, double v)
{
	fprintf(f, "%.15g\n", v);
}

/* One counter family over every link, from a reading's field. */
#define COUNTER_RX_TX(name, help, rxf, txf)                                                       \
	do {                                                                                       \
		family(f, name, "counter", help);                                                  \
		for (int i = 0; i < sn->nlinks; i++) {                                             \
			series(f, name, &sn->links[i], "direction", "rx");                         \
			val_u64(f, sn->readings[i].st.rxf);                                        \
			series(f, name, &sn->links[i], "direction", "tx");                         \
			val_u64(f, sn->readings[i].st.txf);                                        \
		}                                                                                  \
	} while (0)

#define COUNTER(name, help, expr)                                                                  \
	do {                                                                                       \
		family(f, name, "counter", help);                                                  \
		for (int i = 0; i < sn->nlinks; i++) {                                             \
			const struct link_reading *r = &sn->readings[i];                           \
			(void)r;                                                                   \
			series(f, name, &sn->links[i], NULL, NULL);                                \
			val_u64(f, (expr));                                                        \
		}                                                                                  \
	} while (0)

static void write_rtt_histogram(FILE *f, const struct store_snapshot *sn)
{
	const char *name = "presage_rtt_seconds";

	family(f, name, "histogram",
	       "TCP round-trip time from the router to the remote side, measured by the data plane "
	       "(timestamps and handshakes), since the maps were created");
	for (int i = 0; i < sn->nlinks; i++) {
		uint64_t cum[METRICS_RTT_BOUNDS + 1];
		char le[32];

		metrics_rtt_buckets(sn->readings[i].buckets, cum);
		for (int k = 0; k <= METRICS_RTT_BOUNDS; k++) {
			if (k < METRICS_RTT_BOUNDS)
				snprintf(le, sizeof(le), "%g", (double)metrics_rtt_bounds_ns[k] / 1e9);
			else
				snprintf(le, sizeof(le), "+Inf");
			series(f, "presage_rtt_seconds_bucket", &sn->links[i], "le", le);
			val_u64(f, cum[k]);
		}
		series(f, "presage_rtt_seconds_sum", &sn->links[i], NULL, NULL);
		val_dbl(f, (double)sn->readings[i].hist_sum_ns / 1e9);
		/* _count is the +Inf bucket: per-CPU count and buckets are read at
		 * slightly different instants, and the two must agree. */
		series(f, "presage_rtt_seconds_count", &sn->links[i], NULL, NULL);
		val_u64(f, cum[METRICS_RTT_BOUNDS]);
	}
}

/* A gauge from the latest samples, skipping NaN and links where @ok is false. */
#define GAUGE(name, help, ok, expr)                                                                \
	do {                                                                                       \
		family(f, name, "gauge", help);                                                    \
		for (int i = 0; i < sn->nlinks; i++) {                                             \
			const struct health_sample *s = &sn->latest[i];                            \
			double v_ = (double)(expr);                                                \
			if (!s->link[0] || !(ok) || isnan(v_))                                     \
				continue;                                                          \
			series(f, name, &sn->links[i], NULL, NULL);                                \
			val_dbl(f, v_);                                                            \
		}                                                                                  \
	} while (0)

/* A counter from the store's per-link totals, only where @ok. */
#define TOTAL(name, help, ok, field)                                                               \
	do {                                                                                       \
		family(f, name, "counter", help);                                                  \
		for (int i = 0; i < sn->nlinks; i++) {                                             \
			const struct health_sample *s = &sn->latest[i];                            \
			(void)s;                                                                   \
			if (!(ok))                                                                 \
				continue;                                                          \
			series(f, name, &sn->links[i], NULL, NULL);                                \
			val_u64(f, sn->totals[i].field);                                           \
		}                                                                                  \
	} while (0)

void metrics_write(FILE *f, const struct store_snapshot *sn, const char *version,
		   const char *hostname)
{
	family(f, "presage_agent_info", "gauge", "The agent's version and host name (always 1)");
	fputs("presage_agent_info{version=\"", f);
	metrics_label_value(f, version);
	fputs("\",hostname=\"", f);
	metrics_label_value(f, hostname);
	fputs("\"} 1\n", f);
	family(f, "presage_agent_start_time_seconds", "gauge", "When the agent started, Unix time");
	fprintf(f, "presage_agent_start_time_seconds %.3f\n", (double)sn->started_ms / 1e3);
	family(f, "presage_ticks_total", "counter", "Ticks whose samples reached the store");
	fprintf(f, "presage_ticks_total %llu\n", (unsigned long long)sn->ticks);
	family(f, "presage_events_total", "counter", "Events raised (see /v1/events)");
	fprintf(f, "presage_events_total %llu\n", (unsigned long long)sn->events);
	if (!sn->have_tick || sn->nlinks == 0)
		return;

	family(f, "presage_last_tick_timestamp_seconds", "gauge",
	       "Unix time of the latest tick's read");
	fprintf(f, "presage_last_tick_timestamp_seconds %.3f\n", (double)sn->latest[0].ts_ms / 1e3);
	family(f, "presage_flows_live", "gauge", "TCP flows in the flow table (shared by all links)");
	fprintf(f, "presage_flows_live %llu\n", (unsigned long long)sn->latest[0].flows_live);
	family(f, "presage_flows_max", "gauge", "Size of the flow table");
	fprintf(f, "presage_flows_max %llu\n", (unsigned long long)sn->latest[0].flows_max);

	GAUGE("presage_link_attached", "1 when the data plane is attached to the interface", 1,
	      !strcmp(s->state, "attached"));
	GAUGE("presage_link_capacity_bytes_per_second",
	      "Configured capacity of the interconnect (the config's bit/s over 8)",
	      s->capacity_bps > 0, (double)s->capacity_bps / 8);
	COUNTER_RX_TX("presage_bytes_total", "Bytes seen on the wire (rx: arrived, tx: left)",
		      rx_bytes, tx_bytes);
	COUNTER_RX_TX("presage_packets_total", "Packets seen on the wire (rx: arrived, tx: left)",
		      rx_packets, tx_packets);
	COUNTER_RX_TX("presage_tcp_data_segments_total", "TCP segments carrying payload",
		      rx_tcp_data, tx_tcp_data);
	COUNTER_RX_TX("presage_tcp_retransmitted_segments_total",
		      "TCP data segments starting below the flow's highest sequence seen",
		      rx_tcp_retrans, tx_tcp_retrans);
	COUNTER("presage_malformed_packets_total",
		"Truncated or inconsistent L2/L3/L4 headers and IPv6 extension chains past the bound",
		r->st.bad_l2 + r->st.bad_l3 + r->st.bad_l4 + r->st.ipv6_ext_overflow);
	COUNTER("presage_non_ip_packets_total", "Packets that are neither IPv4 nor IPv6",
		r->st.non_ip);
	COUNTER("presage_ip_fragments_total", "IP fragments (counted, not parsed past L3)",
		r->st.ip_frag);
	COUNTER("presage_rtt_asymmetric_samples_total",
		"RTT samples whose reply came back by another link", r->st.rtt_asym);
	COUNTER("presage_flows_created_total", "Inserts into the flow table", r->st.flows_created);
	COUNTER("presage_flow_insert_failures_total", "Flow table inserts the kernel refused",
		r->st.flow_insert_fail);
	write_rtt_histogram(f, sn);

	family(f, "presage_throughput_bytes_per_second", "gauge", "Wire rate over the latest tick");
	for (int i = 0; i < sn->nlinks; i++) {
		if (!sn->latest[i].link[0])
			continue;
		series(f, "presage_throughput_bytes_per_second", &sn->links[i], "direction", "rx");
		val_dbl(f, sn->latest[i].rx_bps / 8);
		series(f, "presage_throughput_bytes_per_second", &sn->links[i], "direction", "tx");
		val_dbl(f, sn->latest[i].tx_bps / 8);
	}
	GAUGE("presage_utilization_ratio",
	      "Higher of rx and tx rate over capacity, latest tick (absent without a capacity)", 1,
	      s->utilization);

	GAUGE("presage_carrier", "Carrier from netlink at the end of the latest tick (1 up, 0 down)",
	      s->carrier >= 0, s->carrier);
	TOTAL("presage_link_changes_total",
	      "Carrier and operstate changes seen since the agent started", s->carrier >= 0,
	      link_changes);

	GAUGE("presage_routes", "Routes of the configured protocols through the link", s->routes_known,
	      s->routes);
	TOTAL("presage_routes_announced_total", "Routes announced since the agent started",
	      s->routes_known, routes_announced);
	TOTAL("presage_routes_withdrawn_total", "Routes withdrawn since the agent started",
	      s->routes_known, routes_withdrawn);

	TOTAL("presage_probe_sent_total", "ICMP echo probes sent since the agent started",
	      sn->links[i].nprobes > 0, probe_sent);
	TOTAL("presage_probe_replies_total", "ICMP echo probes answered in time since the agent started",
	      sn->links[i].nprobes > 0, probe_replies);
	TOTAL("presage_probe_lost_total", "ICMP echo probes unanswered at their deadline since the agent started",
	      sn->links[i].nprobes > 0, probe_lost);
	GAUGE("presage_probe_rtt_seconds", "Mean probe RTT over the latest tick",
	      s->probes_configured, s->probe_rtt_avg_ms / 1e3);
	GAUGE("presage_probe_loss_ratio", "Probe loss over the latest tick", s->probes_configured,
	      s->probe_loss);
}
