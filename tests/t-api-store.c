// SPDX-License-Identifier: GPL-2.0-only
/*
 * The health API's store and Prometheus formatting, without the network:
 * the tick ring's bound and order, since= filtering, event ids and the
 * "missed" mark, per-link totals, concurrent writers and readers, the coarse
 * RTT histogram against a brute-force count of the values themselves, and
 * label escaping.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "user/metrics.h"
#include "user/store.h"

static void cfg_two_links(struct ihm_config *cfg, uint32_t history)
{
	config_defaults(cfg);
	cfg->history = history;
	cfg->nlinks = 2;
	snprintf(cfg->links[0].name, sizeof(cfg->links[0].name), "a");
	snprintf(cfg->links[0].ifname, sizeof(cfg->links[0].ifname), "eth1");
	snprintf(cfg->links[1].name, sizeof(cfg->links[1].name), "b\"q\\x\ny");
	snprintf(cfg->links[1].ifname, sizeof(cfg->links[1].ifname), "eth2");
	cfg->links[1].nprobes = 1;
}

static void tick(struct store *st, uint64_t ts, uint64_t probes)
{
	struct health_sample s[2];
	struct link_reading r[2] = { 0 };

	for (int i = 0; i < 2; i++) {
		health_sample_init(&s[i]);
		snprintf(s[i].link, sizeof(s[i].link), "%s", i ? "b" : "a");
		s[i].ts_ms = ts;
		s[i].probes_configured = i == 1;
		s[i].probe_sent = probes;
		s[i].probe_lost = probes / 2;
		r[i].st.tx_bytes = ts * 10;
	}
	store_push(st, s, r, 2);
}

static void test_store_history_ring(void)
{
	static struct ihm_config cfg;
	struct health_sample *out, latest[2];
	struct store *st;
	uint64_t ts;
	ssize_t n;

	cfg_two_links(&cfg, 4);
	st = store_new(&cfg);
	ASSERT_TRUE(st != NULL, "store_new");
	ASSERT_EQ(store_latest(st, latest, &ts), 0, "latest before the first tick");
	n = store_history(st, 0, -1, &out);
	ASSERT_EQ(n, 0, "history before the first tick");
	free(out);
	for (uint64_t t = 1; t <= 10; t++)
		tick(st, 1000 * t, t);
	n = store_history(st, 0, -1, &out);
	ASSERT_EQ(n, 8, "4 ticks x 2 links kept");
	if (n == 8) {
		ASSERT_EQ(out[0].ts_ms, 7000, "oldest kept tick");
		ASSERT_STREQ(out[0].link, "a", "config order within a tick");
		ASSERT_STREQ(out[1].link, "b", "config order within a tick");
		ASSERT_EQ(out[7].ts_ms, 10000, "newest last");
	}
	free(out);
	n = store_history(st, 8000, 1, &out);
	ASSERT_EQ(n, 2, "since=8000, link b: ticks 9 and 10");
	if (n == 2)
		ASSERT_TRUE(out[0].ts_ms == 9000 && !strcmp(out[0].link, "b"), "first is tick 9 of b");
	free(out);
	n = store_history(st, 10000, -1, &out);
	ASSERT_EQ(n, 0, "nothing newer than the newest");
	free(out);
	ASSERT_EQ(store_latest(st, latest, &ts), 2, "latest has both links");
	ASSERT_EQ(ts, 10000, "latest ts");
	ASSERT_EQ(store_link_index(st, "b\"q\\x\ny"), 1, "link index by name");
	ASSERT_EQ(store_link_index(st, "zz"), -1, "unknown link");
	store_free(st);
}

static void test_store_events_ids_and_missed(void)
{
	static struct ihm_config cfg;
	struct store_event *e;
	uint64_t oldest, last;
	struct store *st;
	ssize_t n;

	cfg_two_links(&cfg, 4);
	st = store_new(&cfg);
	for (int i = 0; i < STORE_EVENTS + 10; i++)
		store_event(st, 5000 + i, "link-down", i % 2 ? "a" : NULL, "detail");
	n = store_events(st, 0, 0, &e, &oldest, &last);
	ASSERT_EQ(n, STORE_EVENTS, "ring bounded");
	ASSERT_EQ(last, STORE_EVENTS + 10, "last id counts every event");
	ASSERT_EQ(oldest, 11, "the 10 oldest rolled out");
	if (n > 0) {
		ASSERT_EQ(e[0].id, 11, "oldest first");
		ASSERT_EQ(e[n - 1].id, STORE_EVENTS + 10, "newest last");
	}
	free(e);
	n = store_events(st, 0, STORE_EVENTS + 5, &e, &oldest, &last);
	ASSERT_EQ(n, 5, "after=id resumes");
	free(e);
	n = store_events(st, 5000 + STORE_EVENTS + 8, 0, &e, &oldest, &last);
	ASSERT_EQ(n, 1, "since=ts");
	free(e);
	/* A long kind and detail are cut, not overflowed. */
	char big[1000];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	store_event(st, 1, big, big, big);
	n = store_events(st, 0, last, &e, &oldest, &last);
	ASSERT_EQ(n, 1, "one more");
	if (n == 1)
		ASSERT_EQ(strlen(e[0].detail), STORE_EVENT_DETAIL_MAX - 1, "detail cut");
	free(e);
	store_free(st);
}

static void test_store_totals_in_snapshot(void)
{
	static struct ihm_config cfg;
	struct store_snapshot *sn;
	struct store *st;

	cfg_two_links(&cfg, 3);
	st = store_new(&cfg);
	for (uint64_t t = 1; t <= 10; t++)
		tick(st, 1000 * t, t);
	sn = store_snapshot(st);
	ASSERT_TRUE(sn && sn->have_tick, "snapshot has a tick");
	if (sn) {
		ASSERT_EQ(sn->totals[1].probe_sent, 55, "probe sent summed over all ticks, not the ring");
		ASSERT_EQ(sn->totals[1].probe_lost, 0 + 1 + 1 + 2 + 2 + 3 + 3 + 4 + 4 + 5, "lost summed");
		ASSERT_EQ(sn->readings[0].st.tx_bytes, 100000, "latest reading");
		ASSERT_EQ(sn->ticks, 10, "ticks");
	}
	store_snapshot_free(sn);
	store_free(st);
}

/* Writers push and raise events while readers copy out: counts add up and
 * nothing tears (every copied sample is one whole tick's). */
struct conc {
	struct store *st;
	int errors;
};

static void *writer(void *p)
{
	struct conc *c = p;

	for (int i = 1; i <= 2000; i++) {
		tick(c->st, (uint64_t)i, (uint64_t)i);
		store_event(c->st, (uint64_t)i, "withdrawal-burst", "a", "x");
	}
	return NULL;
}

static void *reader(void *p)
{
	struct conc *c = p;

	for (int i = 0; i < 2000; i++) {
		struct health_sample *out;
		ssize_t n = store_history(c->st, 0, -1, &out);

		for (ssize_t k = 0; k + 1 < n; k += 2)
			if (out[k].ts_ms != out[k + 1].ts_ms || out[k].probe_sent != out[k].ts_ms)
				__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
		free(out);
	}
	return NULL;
}

static void test_store_concurrent(void)
{
	static struct ihm_config cfg;
	struct conc c = { 0 };
	pthread_t t[4];
	struct store_event *e;
	uint64_t oldest, last;

	cfg_two_links(&cfg, 50);
	c.st = store_new(&cfg);
	pthread_create(&t[0], NULL, writer, &c);
	pthread_create(&t[1], NULL, writer, &c);
	pthread_create(&t[2], NULL, reader, &c);
	pthread_create(&t[3], NULL, reader, &c);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(c.errors, 0, "torn samples seen by readers");
	store_events(c.st, 0, 0, &e, &oldest, &last);
	ASSERT_EQ(last, 4000, "every event got an id");
	free(e);
	store_free(c.st);
}

static void test_metrics_rtt_buckets_vs_values(void)
{
	static uint64_t fine[HIST_BUCKETS];
	uint64_t got[METRICS_RTT_BOUNDS + 1], want[METRICS_RTT_BOUNDS + 1] = { 0 };
	uint64_t v = 1;
	int n = 0;

	/* Values from 1 ns to ~20 s on a geometric grid, plus each bound itself. */
	for (int i = 0; i < 4000; i++, v = v + v / 97 + 1) {
		uint64_t x = v < 20000000000ULL ? v : 20000000000ULL;

		fine[hist_bucket(x)]++;
		n++;
		for (int k = 0; k < METRICS_RTT_BOUNDS; k++)
			want[k] += x <= metrics_rtt_bounds_ns[k];
	}
	for (int k = 0; k < METRICS_RTT_BOUNDS; k++) {
		fine[hist_bucket(metrics_rtt_bounds_ns[k])]++;
		n++;
		for (int j = 0; j < METRICS_RTT_BOUNDS; j++)
			want[j] += metrics_rtt_bounds_ns[k] <= metrics_rtt_bounds_ns[j];
	}
	metrics_rtt_buckets(fine, got);
	ASSERT_EQ(got[METRICS_RTT_BOUNDS], n, "+Inf holds every sample");
	for (int k = 0; k < METRICS_RTT_BOUNDS; k++) {
		char what[64];

		snprintf(what, sizeof(what), "le=%lluns never over-counts",
			 (unsigned long long)metrics_rtt_bounds_ns[k]);
		ASSERT_TRUE(got[k] <= want[k], what);
		/* Under-count at most the samples of one fine bucket (6.25 % wide) below L. */
		snprintf(what, sizeof(what), "le=%lluns within one fine bucket",
			 (unsigned long long)metrics_rtt_bounds_ns[k]);
		uint64_t slack = 0;
		for (uint64_t x = 1; x < 20000000000ULL; x = x + x / 97 + 1)
			slack += x <= metrics_rtt_bounds_ns[k] &&
				 x * 17 / 16 + 1 > metrics_rtt_bounds_ns[k];
		ASSERT_TRUE(want[k] - got[k] <= slack + 1, what);
		if (k)
			ASSERT_TRUE(got[k] >= got[k - 1], "cumulative");
	}
}

static void test_metrics_label_escaping(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	metrics_label_value(f, "a\"b\\c\nd");
	fclose(f);
	ASSERT_STREQ(buf, "a\\\"b\\\\c\\nd", "escaped");
	free(buf);
}

static void test_metrics_output_shape(void)
{
	static struct ihm_config cfg;
	struct store_snapshot *sn;
	struct store *st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cfg_two_links(&cfg, 3);
	st = store_new(&cfg);
	tick(st, 1000, 3);
	sn = store_snapshot(st);
	f = open_memstream(&buf, &len);
	metrics_write(f, sn, "v\"1", "host");
	fclose(f);
	ASSERT_TRUE(strstr(buf, "presage_agent_info{version=\"v\\\"1\",hostname=\"host\"} 1\n") != NULL,
		    "info with escaped version");
	ASSERT_TRUE(strstr(buf, "presage_bytes_total{link=\"b\\\"q\\\\x\\ny\",interface=\"eth2\",direction=\"tx\"} 10000\n") != NULL,
		    "escaped link label on a counter");
	ASSERT_TRUE(strstr(buf, "presage_probe_sent_total{link=\"b") != NULL, "probes for link with probes");
	ASSERT_TRUE(strstr(buf, "presage_probe_sent_total{link=\"a\"") == NULL, "no probe series without probes");
	ASSERT_TRUE(strstr(buf, "presage_routes{") == NULL, "no route gauge before routes are known");
	ASSERT_TRUE(len > 0 && buf[len - 1] == '\n', "ends with a newline");
	free(buf);
	store_snapshot_free(sn);
	store_free(st);
}

int main(void)
{
	RUN(test_store_history_ring);
	RUN(test_store_events_ids_and_missed);
	RUN(test_store_totals_in_snapshot);
	RUN(test_store_concurrent);
	RUN(test_metrics_rtt_buckets_vs_values);
	RUN(test_metrics_label_escaping);
	RUN(test_metrics_output_shape);
	return harness_exit();
}
