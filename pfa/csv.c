// SPDX-License-Identifier: GPL-2.0-only
/* Health trace CSV reader; see csv.h for the contract. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/csv.h"

enum col {
	C_IGNORE = 0,
	C_TS,
	C_LINK,
	C_RTT,
	C_RTT_P50,
	C_RTT_P90,
	C_RTT_P99,
	C_RTT_COUNT,
	C_LOSS,
	C_RETRANS_IN,
	C_RETRANS_OUT,
	C_PROBE_RTT,
	C_PROBE_LOSS,
	C_RX,
	C_TX,
	C_CAP,
	C_UTIL,
	C_ROUTES,
	C_ANN,
	C_WD,
	C_LINK_UP,
	C_MAINT_IN,
	N_COL,
};

static const char *const col_names[N_COL] = {
	[C_TS] = "ts",
	[C_LINK] = "link",
	[C_RTT] = "rtt_ms",
	[C_RTT_P50] = "rtt_p50_ms",
	[C_RTT_P90] = "rtt_p90_ms",
	[C_RTT_P99] = "rtt_p99_ms",
	[C_RTT_COUNT] = "rtt_count",
	[C_LOSS] = "loss",
	[C_RETRANS_IN] = "retrans_in",
	[C_RETRANS_OUT] = "retrans_out",
	[C_PROBE_RTT] = "probe_rtt_ms",
	[C_PROBE_LOSS] = "probe_loss",
	[C_RX] = "rx_bps",
	[C_TX] = "tx_bps",
	[C_CAP] = "capacity_bps",
	[C_UTIL] = "utilization",
	[C_ROUTES] = "routes",
	[C_ANN] = "announcements",
	[C_WD] = "withdrawals",
	[C_LINK_UP] = "link_up",
	[C_MAINT_IN] = "maint_in",
};

/* Sanity bound on timestamps: year 2286. Beyond is a broken clock or input. */
#define PFA_TS_MAX 9999999999LL

struct pfa_csv {
	pfa_csv_row_fn row;
	pfa_csv_err_fn err;
	void *ctx;
	bool have_header;
	bool overflow; /* the current line is too long: skip to its end */
	int fatal;
	unsigned n_cols;
	uint8_t cols[PFA_CSV_COLS_MAX];
	size_t len;
	char line[PFA_CSV_LINE_MAX + 1];
	struct pfa_csv_stats st;
};

struct pfa_csv *pfa_csv__new(pfa_csv_row_fn row, pfa_csv_err_fn err, void *ctx)
{
	struct pfa_csv *c;

	if (!row) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->row = row;
	c->err = err;
	c->ctx = ctx;
	return c;
}

void pfa_csv__free(struct pfa_csv *c)
{
	free(c);
}

void pfa_csv__stats(const struct pfa_csv *c, struct pfa_csv_stats *st)
{
	*st = c->st;
}

static void report(struct pfa_csv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct pfa_csv *c, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (!c->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->err(c->ctx, c->st.lines, msg);
}

/* Split @s at commas in place; returns the number of fields (max @max + 1). */
static unsigned split(char *s, char **f, unsigned max)
{
	unsigned n = 0;

	f[n++] = s;
	for (; *s; s++) {
		if (*s != ',')
			continue;
		*s = '\0';
		if (n > max)
			return n;
		f[n++] = s + 1;
	}
	return n;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int parse_header(struct pfa_csv *c, char *line)
{
	char *f[PFA_CSV_COLS_MAX + 1];
	bool seen[N_COL] = { false };
	unsigned n = split(line, f, PFA_CSV_COLS_MAX);

	if (n > PFA_CSV_COLS_MAX) {
		report(c, "header has more than %d columns", PFA_CSV_COLS_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		char *name = trim(f[i]);
		unsigned k;

		c->cols[i] = C_IGNORE;
		for (k = 1; k < N_COL; k++)
			if (!strcmp(name, col_names[k]))
				break;
		if (k == N_COL) {
			report(c, "unknown column '%.40s' ignored", name);
			continue;
		}
		if (seen[k]) {
			report(c, "column '%s' appears twice", name);
			return -EINVAL;
		}
		seen[k] = true;
		c->cols[i] = (uint8_t)k;
	}
	if (!seen[C_TS] || !seen[C_LINK]) {
		report(c, "header must name the columns ts and link");
		return -EINVAL;
	}
	c->n_cols = n;
	c->have_header = true;
	return 0;
}

/* A non-negative finite number, the whole field; NAN if empty. */
static int parse_num(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s) {
		*out = NAN;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno == ERANGE)
		return -EINVAL;
	if (!isfinite(v))
		return -EDOM;
	if (v < 0)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_row(struct pfa_csv *c, char *line)
{
	char *f[PFA_CSV_COLS_MAX + 1];
	struct pfa_sample s;
	unsigned n = split(line, f, PFA_CSV_COLS_MAX);
	bool have_ts = false;

	if (n != c->n_cols) {
		report(c, "%u fields, the header has %u: line skipped", n, c->n_cols);
		return -EINVAL;
	}
	pfa_sample__init(&s);
	for (unsigned i = 0; i < n; i++) {
		char *v = trim(f[i]);
		double d = NAN, *dst = NULL, max = INFINITY;
		int err;

		switch (c->cols[i]) {
		case C_IGNORE:
			continue;
		case C_LINK:
			if (!*v || strlen(v) >= PFA_LINK_NAME_MAX) {
				report(c, "link name empty or longer than %d bytes: line skipped",
				       PFA_LINK_NAME_MAX - 1);
				return -EINVAL;
			}
			strcpy(s.link, v);
			continue;
		case C_TS: {
			char *end;
			long long t;

			errno = 0;
			t = strtoll(v, &end, 10);
			if (!*v || *end || errno || t <= 0 || t > PFA_TS_MAX) {
				report(c, "ts '%.32s' is not a Unix time in seconds: line skipped", v);
				return -EINVAL;
			}
			s.ts = t;
			have_ts = true;
			continue;
		}
		case C_RTT:
		case C_RTT_P90:
			dst = &s.rtt_p90_ms;
			break;
		case C_RTT_P50:
			dst = &s.rtt_p50_ms;
			break;
		case C_RTT_P99:
			dst = &s.rtt_p99_ms;
			break;
		case C_RTT_COUNT:
			dst = &s.rtt_count;
			break;
		case C_LOSS:
		case C_RETRANS_OUT:
			dst = &s.retrans_out;
			max = 1;
			break;
		case C_RETRANS_IN:
			dst = &s.retrans_in;
			max = 1;
			break;
		case C_PROBE_RTT:
			dst = &s.probe_rtt_ms;
			break;
		case C_PROBE_LOSS:
			dst = &s.probe_loss;
			max = 1;
			break;
		case C_RX:
			dst = &s.rx_bps;
			break;
		case C_TX:
			dst = &s.tx_bps;
			break;
		case C_CAP:
			dst = &s.capacity_bps;
			break;
		case C_UTIL:
			dst = &s.utilization;
			max = 10;
			break;
		case C_ROUTES:
			dst = &s.routes;
			break;
		case C_ANN:
			dst = &s.announcements;
			break;
		case C_WD:
			dst = &s.withdrawals;
			break;
		case C_MAINT_IN:
			dst = &s.maint_in_s;
			break;
		case C_LINK_UP:
			err = parse_num(v, &d);
			if (!err && !isnan(d) && d != 0 && d != 1)
				err = -ERANGE;
			if (err) {
				c->st.bad_fields++;
				report(c, "link_up '%.32s' is not 0 or 1: value dropped", v);
			} else if (!isnan(d)) {
				s.link_up = (int)d;
			}
			continue;
		default:
			continue;
		}
		err = parse_num(v, &d);
		if (!err && d > max)
			err = -ERANGE;
		if (err) {
			c->st.bad_fields++;
			report(c, "%s '%.32s' is %s: value dropped", col_names[c->cols[i]], v,
			       err == -EDOM ? "not finite" :
			       err == -ERANGE ? "out of range" : "not a number");
			continue;
		}
		*dst = d;
	}
	if (!have_ts)
		return -EINVAL;
	c->st.rows++;
	return c->row(c->ctx, &s, c->st.lines);
}

static int end_line(struct pfa_csv *c)
{
	char *line = c->line;
	int ret = 0;

	c->st.lines++;
	c->line[c->len] = '\0';
	if (c->len && line[c->len - 1] == '\r')
		line[c->len - 1] = '\0';
	if (c->overflow) {
		report(c, "line longer than %d bytes: skipped", PFA_CSV_LINE_MAX);
		c->st.bad_lines++;
	} else if (!line[0] || line[0] == '#') {
		/* Blank lines and comments are allowed anywhere. */
	} else if (!c->have_header) {
		ret = parse_header(c, line);
		if (ret)
			c->fatal = ret;
	} else {
		ret = parse_row(c, line);
		if (ret == -EINVAL) {
			c->st.bad_lines++;
			ret = 0;
		}
	}
	c->len = 0;
	c->overflow = false;
	return ret;
}

int pfa_csv__feed(struct pfa_csv *c, const char *buf, size_t len)
{
	while (len && !c->fatal) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		int ret;

		if (!c->overflow) {
			if (c->len + n > PFA_CSV_LINE_MAX) {
				c->overflow = true;
			} else {
				memcpy(c->line + c->len, buf, n);
				c->len += n;
			}
		}
		if (!nl)
			return 0;
		buf += n + 1;
		len -= n + 1;
		ret = end_line(c);
		if (ret)
			return ret;
	}
	return c->fatal;
}

int pfa_csv__finish(struct pfa_csv *c)
{
	if (c->fatal)
		return c->fatal;
	if (c->len || c->overflow)
		return end_line(c);
	if (!c->have_header) {
		report(c, "no header line");
		return -EINVAL;
	}
	return 0;
}

const char pfa_csv_header[] = "ts,link,rtt_ms,loss,probe_loss,rx_bps,tx_bps,capacity_bps,routes,"
			      "withdrawals,link_up,announcements,maint_in";

/* %.6g, or nothing for a missing value. */
static char *fmt_num(char *p, const char *end, double v)
{
	int n;

	if (p >= end)
		return p;
	n = isnan(v) ? 0 : snprintf(p, (size_t)(end - p), "%.6g", v);
	if (n < 0 || n >= end - p)
		return (char *)end;
	p += n;
	if (p < end)
		*p++ = ',';
	return p;
}

int pfa_sample__to_csv(const struct pfa_sample *s, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;
	int n;

	n = snprintf(p, len, "%lld,%s,", (long long)s->ts, s->link);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	p += n;
	p = fmt_num(p, end, s->rtt_p90_ms);
	p = fmt_num(p, end, s->retrans_out);
	p = fmt_num(p, end, s->probe_loss);
	p = fmt_num(p, end, s->rx_bps);
	p = fmt_num(p, end, s->tx_bps);
	p = fmt_num(p, end, s->capacity_bps);
	p = fmt_num(p, end, s->routes);
	p = fmt_num(p, end, s->withdrawals);
	p = fmt_num(p, end, s->link_up < 0 ? NAN : (double)s->link_up);
	p = fmt_num(p, end, s->announcements);
	p = fmt_num(p, end, s->maint_in_s);
	if (p >= end)
		return -ENOSPC;
	p[-1] = '\n';
	*p = '\0';
	return (int)(p - buf);
}
