// SPDX-License-Identifier: GPL-2.0-only
/* Hot content: log formats, follower (rotation, truncation), top-K accuracy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mirror/mirror.h"

static void test_logfmt(void)
{
	static const char combined[] =
		"10.0.0.1 - - [10/Oct/2023:13:55:36 -0700] \"GET /img/a%20b.png?x=1 HTTP/1.1\" 200 2326 \"-\" \"curl/8\"";
	static const char host[] =
		"Cdn.Example.com 10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] \"GET /v/1.ts HTTP/2.0\" 206 5 \"-\" \"x\"";
	struct mirror_logfmt *f;
	char key[1100];
	double t;
	int err;

	f = mirror_logfmt__new("combined", "site.test", &err);
	if (!ASSERT_TRUE(f != NULL, "combined"))
		return;
	ASSERT_EQ(mirror_logfmt__parse(f, combined, strlen(combined), key, sizeof(key), &t), 0, "parse");
	ASSERT_STREQ(key, "site.test/img/a b.png", "key (decoded, no query)");
	ASSERT_NEAR(t, 1696971336.0, 0.5, "time_local with zone");
	/* 404s, traversal and garbage are skipped. */
	{
		static const char *bad[] = {
			"10.0.0.1 - - [10/Oct/2023:13:55:36 -0700] \"GET /x HTTP/1.1\" 404 1 \"-\" \"-\"",
			"10.0.0.1 - - [10/Oct/2023:13:55:36 -0700] \"GET /../etc/passwd HTTP/1.1\" 200 1 \"-\" \"-\"",
			"10.0.0.1 - - [10/Oct/2023:13:55:36 -0700] \"GET /a%00b HTTP/1.1\" 200 1 \"-\" \"-\"",
			"garbage", "",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ASSERT_TRUE(mirror_logfmt__parse(f, bad[i], strlen(bad[i]), key, sizeof(key), &t) < 0,
				    bad[i]);
	}
	mirror_logfmt__free(f);
	f = mirror_logfmt__new("host", NULL, &err);
	ASSERT_EQ(mirror_logfmt__parse(f, host, strlen(host), key, sizeof(key), &t), 0, "host fmt");
	ASSERT_STREQ(key, "cdn.example.com/v/1.ts", "host key");
	mirror_logfmt__free(f);
	f = mirror_logfmt__new("$msec $host $status $request_uri", NULL, &err);
	if (ASSERT_TRUE(f != NULL, "custom")) {
		const char *l = "1700000000.123 h.test 200 /a/b?c";

		ASSERT_EQ(mirror_logfmt__parse(f, l, strlen(l), key, sizeof(key), &t), 0, "custom parse");
		ASSERT_STREQ(key, "h.test/a/b", "custom key");
		ASSERT_NEAR(t, 1700000000.123, 0.001, "msec");
	}
	mirror_logfmt__free(f);
	ASSERT_TRUE(mirror_logfmt__new("$remote_addr $status", NULL, &err) == NULL, "no path refused");
}

static int nlines;
static void count_line(void *arg, const char *line, size_t len)
{
	nlines++;
}

static void append(const char *path, const char *mode, int n)
{
	FILE *f = fopen(path, mode);

	for (int i = 0; i < n; i++)
		fprintf(f, "line %d\n", i);
	fclose(f);
}

static void test_follow_rotation(void)
{
	char path[128], old[140];
	struct mirror_follow *f;

	snprintf(path, sizeof(path), "/tmp/t-mirror-hot.%d.log", getpid());
	snprintf(old, sizeof(old), "%s.1", path);
	append(path, "w", 10);
	f = mirror_follow__new(path, true);
	mirror_follow__poll(f, count_line, NULL);
	ASSERT_EQ(nlines, 10, "initial");
	/* A partial line is held until its newline arrives. */
	{
		FILE *x = fopen(path, "a");

		fputs("partial", x);
		fclose(x);
	}
	mirror_follow__poll(f, count_line, NULL);
	ASSERT_EQ(nlines, 10, "partial held");
	append(path, "a", 1);
	mirror_follow__poll(f, count_line, NULL);
	ASSERT_EQ(nlines, 11, "partial completed");
	/* Rotation: lines written to the old file after the rename still count. */
	rename(path, old);
	append(old, "a", 3);
	append(path, "w", 5);
	mirror_follow__poll(f, count_line, NULL);
	ASSERT_EQ(nlines, 19, "rotation");
	/* Truncation (copytruncate). */
	truncate(path, 0);
	append(path, "a", 2);
	mirror_follow__poll(f, count_line, NULL);
	ASSERT_EQ(nlines, 21, "truncation");
	mirror_follow__free(f);
	unlink(path);
	unlink(old);
}

struct kc {
	const char *key;
	double c;
};

static int kc_cmp(const void *a, const void *b)
{
	const struct kc *x = a, *y = b;

	return x->c < y->c ? 1 : x->c > y->c ? -1 : strcmp(x->key, y->key);
}

/* Replay a Zipf-distributed log; compare top 100 with exact (decayed) counts. */
static void check_topk(double half_life)
{
	const int N = 300000, D = 50000;
	char **keys = calloc(D, sizeof(*keys));
	double *cdf = calloc(D, sizeof(*cdf)), sum = 0, t = 0;
	struct kc *exact = calloc(D, sizeof(*exact));
	struct mirror_topk *tk = mirror_topk__new(2000, half_life);
	struct mirror_hot top[100];
	size_t got;
	int agree = 0;

	srand(3);
	for (int i = 0; i < D; i++) {
		char k[64];

		snprintf(k, sizeof(k), "h.test/obj/%d", (i * 7919) % D);
		keys[i] = strdup(k);
		exact[i].key = keys[i];
		sum += 1.0 / pow(i + 1, 1.0);
		cdf[i] = sum;
	}
	for (int n = 0; n < N; n++) {
		double u = (double)rand() / RAND_MAX * sum;
		int lo = 0, hi = D - 1;

		while (lo < hi) {
			int mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* One hour of log; popularity drifts halfway through. */
		t = n * 3600.0 / N;
		if (n > N / 2)
			lo = (lo + 37) % D;
		mirror_topk__add(tk, keys[lo], t);
		exact[lo].c += half_life > 0 ? exp2((t - 3600.0) / half_life) : 1.0;
	}
	got = mirror_topk__top(tk, t, top, 100);
	qsort(exact, D, sizeof(*exact), kc_cmp);
	for (size_t i = 0; i < got; i++)
		for (int j = 0; j < 100; j++)
			if (!strcmp(top[i].key, exact[j].key)) {
				agree++;
				break;
			}
	printf("  top-100 agreement (half-life %.0f s): %d%%, rate of #1 %.3f req/s\n", half_life,
	       agree, top[0].rate);
	ASSERT_EQ(got, 100, "got 100");
	ASSERT_TRUE(agree >= 95, "top-100 agrees with exact counting on >= 95%");
	ASSERT_TRUE(top[0].rate > 0, "rate");
	for (int i = 0; i < D; i++)
		free(keys[i]);
	free(keys);
	free(cdf);
	free(exact);
	mirror_topk__free(tk);
}

static void test_topk_exact_agreement(void)
{
	check_topk(0);
}

static void test_topk_decayed_agreement(void)
{
	check_topk(600);
}

static void test_topk_bounded(void)
{
	struct mirror_topk *tk = mirror_topk__new(10, 0);
	struct mirror_hot top[20];
	char k[32];

	for (int i = 0; i < 100000; i++) {
		snprintf(k, sizeof(k), "h/%d", i % 3 == 0 ? 1 : i);
		mirror_topk__add(tk, k, i);
	}
	ASSERT_EQ(mirror_topk__top(tk, 100000, top, 20), 10, "k counters only");
	ASSERT_STREQ(top[0].key, "h/1", "heavy hitter kept");
	mirror_topk__free(tk);
}

int main(void)
{
	RUN(test_logfmt);
	RUN(test_follow_rotation);
	RUN(test_topk_bounded);
	RUN(test_topk_exact_agreement);
	RUN(test_topk_decayed_agreement);
	return harness_exit();
}
