// SPDX-License-Identifier: GPL-2.0-only
/* Health trace CSV reader: columns, bad lines and values, buffers split anywhere. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pfa/csv.h"
#include "pfa/synth.h"

#define MAXR 64

struct got {
	struct pfa_sample s[MAXR];
	uint64_t line[MAXR];
	unsigned n;
	char errs[16][200];
	uint64_t err_line[16];
	unsigned n_err;
};

static int on_row(void *ctx, const struct pfa_sample *s, uint64_t line)
{
	struct got *g = ctx;

	if (g->n < MAXR) {
		g->s[g->n] = *s;
		g->line[g->n++] = line;
	}
	return 0;
}

static void on_err(void *ctx, uint64_t line, const char *msg)
{
	struct got *g = ctx;

	if (g->n_err < 16) {
		snprintf(g->errs[g->n_err], sizeof(g->errs[0]), "%s", msg);
		g->err_line[g->n_err++] = line;
	}
}

/* Parse @text in pieces of @chunk bytes (0: all at once). */
static int parse(const char *text, size_t chunk, struct got *g)
{
	struct pfa_csv *c = pfa_csv__new(on_row, on_err, g);
	size_t len = strlen(text), off = 0;
	int err = 0;

	memset(g, 0, sizeof(*g));
	if (!c)
		return -ENOMEM;
	while (off < len && !err) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;

		err = pfa_csv__feed(c, text + off, n);
		off += n;
	}
	if (!err)
		err = pfa_csv__finish(c);
	pfa_csv__free(c);
	return err;
}

static bool has_err(const struct got *g, uint64_t line, const char *what)
{
	for (unsigned i = 0; i < g->n_err; i++)
		if (g->err_line[i] == line && strstr(g->errs[i], what))
			return true;
	return false;
}

static void test_columns_and_absent_ones(void)
{
	static struct got g;
	const char *t = "ts,link,rtt_ms,loss,probe_loss,rx_bps,tx_bps,capacity_bps,routes,withdrawals,link_up\n"
			"1767225600,ix0,20.5,0.001,0,1e9,1e8,1e10,1000,3,1\n"
			"1767225601,ix0,,0.002,0.1,1e9,1e8,1e10,999,0,0\n";

	ASSERT_EQ(parse(t, 0, &g), 0, "parse");
	ASSERT_EQ(g.n, 2, "two rows");
	ASSERT_EQ(g.s[0].ts, 1767225600, "ts");
	ASSERT_STREQ(g.s[0].link, "ix0", "link");
	ASSERT_NEAR(g.s[0].rtt_p90_ms, 20.5, 1e-12, "rtt_ms is the p90");
	ASSERT_NEAR(g.s[0].retrans_out, 0.001, 1e-12, "loss");
	ASSERT_NEAR(g.s[0].withdrawals, 3, 0, "withdrawals");
	ASSERT_EQ(g.s[0].link_up, 1, "link_up");
	ASSERT_TRUE(isnan(g.s[1].rtt_p90_ms), "empty rtt is missing");
	ASSERT_EQ(g.s[1].link_up, 0, "link down");
	ASSERT_EQ(g.line[1], 3, "line numbers count the header");

	t = "link,ts\nix9,1767225600\n";
	ASSERT_EQ(parse(t, 0, &g), 0, "only ts and link, other order");
	ASSERT_EQ(g.n, 1, "one row");
	ASSERT_TRUE(isnan(g.s[0].probe_loss) && g.s[0].link_up == -1, "absent columns missing");

	t = "ts,link,colour\n1767225600,a,blue\n";
	ASSERT_EQ(parse(t, 0, &g), 0, "unknown column");
	ASSERT_TRUE(has_err(&g, 1, "unknown column 'colour'"), "unknown column reported");
	ASSERT_EQ(g.n, 1, "row kept");
}

static void test_header_required(void)
{
	static struct got g;

	ASSERT_EQ(parse("rtt_ms,loss\n1,2\n", 0, &g), -EINVAL, "no ts/link");
	ASSERT_TRUE(has_err(&g, 1, "ts and link"), "says what is missing");
	ASSERT_EQ(parse("ts,link,ts\n", 0, &g), -EINVAL, "duplicate column");
	ASSERT_EQ(parse("", 0, &g), -EINVAL, "empty input");
}

static void test_malformed_lines_skipped_with_line_number(void)
{
	static struct got g;
	const char *t = "ts,link,loss\n"
			"1767225600,a,0.1\n"
			"1767225601,a\n" /* 3: too few fields */
			"x767225602,a,0.1\n" /* 4: bad ts */
			"1767225603,,0.1\n" /* 5: empty link */
			"1767225604,a,0.1,9\n" /* 6: too many */
			"-5,a,0.1\n" /* 7: negative ts */
			"1767225607,a,0.2\n";

	ASSERT_EQ(parse(t, 0, &g), 0, "parse");
	ASSERT_EQ(g.n, 2, "two good rows");
	ASSERT_EQ(g.s[1].ts, 1767225607, "reading went on");
	ASSERT_TRUE(has_err(&g, 3, "fields"), "line 3 reported");
	ASSERT_TRUE(has_err(&g, 4, "ts"), "line 4 reported");
	ASSERT_TRUE(has_err(&g, 5, "link"), "line 5 reported");
	ASSERT_TRUE(has_err(&g, 6, "fields"), "line 6 reported");
	ASSERT_TRUE(has_err(&g, 7, "ts"), "line 7 reported");
}

static void test_bad_values_dropped_per_field(void)
{
	static struct got g;
	const char *t = "ts,link,rtt_ms,loss,probe_loss,link_up,routes\n"
			"1767225600,a,nan,-0.1,1.5,2,inf\n"
			"1767225601,a,12abc,0.5,0.25,1,-3\n";

	ASSERT_EQ(parse(t, 0, &g), 0, "parse");
	ASSERT_EQ(g.n, 2, "rows kept");
	ASSERT_TRUE(isnan(g.s[0].rtt_p90_ms), "NaN dropped");
	ASSERT_TRUE(isnan(g.s[0].retrans_out), "negative dropped");
	ASSERT_TRUE(isnan(g.s[0].probe_loss), "loss above 1 dropped");
	ASSERT_EQ(g.s[0].link_up, -1, "link_up 2 dropped");
	ASSERT_TRUE(isnan(g.s[0].routes), "inf dropped");
	ASSERT_TRUE(isnan(g.s[1].rtt_p90_ms), "trailing garbage dropped");
	ASSERT_NEAR(g.s[1].retrans_out, 0.5, 0, "good value next to bad kept");
	ASSERT_TRUE(has_err(&g, 2, "rtt_ms 'nan' is not finite"), "NaN reported");
	ASSERT_TRUE(has_err(&g, 2, "loss '-0.1' is out of range"), "negative reported");
	ASSERT_TRUE(has_err(&g, 3, "routes '-3'"), "negative routes reported");
}

static void test_split_anywhere_same_result(void)
{
	static struct got whole, split;
	const char *t = "# comment\r\nts,link,rtt_ms,loss\r\n\r\n"
			"1767225600,a,20,0.001\r\n1767225601,b,21,0.002\r\n"
			"1767225602,a,22,0.003"; /* no final newline */

	ASSERT_EQ(parse(t, 0, &whole), 0, "whole");
	ASSERT_EQ(whole.n, 3, "three rows, CRLF, comment and blank line");
	ASSERT_NEAR(whole.s[2].retrans_out, 0.003, 1e-12, "last line without newline");
	for (size_t chunk = 1; chunk < 40; chunk += 3) {
		ASSERT_EQ(parse(t, chunk, &split), 0, "split");
		ASSERT_EQ(split.n, whole.n, "same rows");
		for (unsigned i = 0; i < split.n && i < whole.n; i++) {
			ASSERT_EQ(split.s[i].ts, whole.s[i].ts, "same ts");
			ASSERT_NEAR(split.s[i].rtt_p90_ms, whole.s[i].rtt_p90_ms, 0, "same rtt");
		}
	}
}

static void test_long_line_skipped(void)
{
	static struct got g;
	size_t n = PFA_CSV_LINE_MAX * 3;
	char *t = malloc(n + 200);

	if (!ASSERT_TRUE(t, "alloc"))
		return;
	strcpy(t, "ts,link\n1767225600,");
	memset(t + strlen(t), 'x', n);
	strcpy(t + strlen("ts,link\n1767225600,") + n, "\n1767225601,ok\n");
	ASSERT_EQ(parse(t, 100, &g), 0, "parse");
	ASSERT_EQ(g.n, 1, "the long line is skipped");
	ASSERT_STREQ(g.s[0].link, "ok", "the next one is read");
	ASSERT_TRUE(has_err(&g, 2, "longer than"), "reported on line 2");
	free(t);
}

static char synth_text[1 << 16];
static size_t synth_len;
static struct pfa_sample synth_first[8];
static unsigned synth_n;

static int to_text(void *ctx, const struct pfa_sample *s)
{
	int n = pfa_sample__to_csv(s, synth_text + synth_len, sizeof(synth_text) - synth_len);

	if (n < 0)
		return n;
	synth_len += (size_t)n;
	if (synth_n < 8)
		synth_first[synth_n++] = *s;
	return synth_n >= 8 ? 1 : 0;
}

static void test_writer_roundtrip(void)
{
	static struct got g;
	struct pfa_synth_cfg sc;

	pfa_synth_cfg__defaults(&sc);
	synth_len = (size_t)snprintf(synth_text, sizeof(synth_text), "%s\n", pfa_csv_header);
	ASSERT_EQ(pfa_synth__run(&sc, to_text, NULL, NULL), 1, "eight samples");
	ASSERT_EQ(parse(synth_text, 0, &g), 0, "parse");
	ASSERT_EQ(g.n, synth_n, "all rows back");
	for (unsigned i = 0; i < g.n && i < synth_n; i++) {
		ASSERT_STREQ(g.s[i].link, synth_first[i].link, "link");
		ASSERT_NEAR(g.s[i].rtt_p90_ms, synth_first[i].rtt_p90_ms,
			    1e-5 * synth_first[i].rtt_p90_ms, "rtt within %.6g");
		ASSERT_NEAR(g.s[i].routes, synth_first[i].routes, 0, "routes");
	}
	ASSERT_EQ(g.n_err, 0, "no complaints");
}

int main(void)
{
	RUN(test_columns_and_absent_ones);
	RUN(test_header_required);
	RUN(test_malformed_lines_skipped_with_line_number);
	RUN(test_bad_values_dropped_per_field);
	RUN(test_split_anywhere_same_result);
	RUN(test_long_line_skipped);
	RUN(test_writer_roundtrip);
	return harness_exit();
}
