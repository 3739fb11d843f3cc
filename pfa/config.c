// SPDX-License-Identifier: GPL-2.0-only
/*
 * The failure definition and horizons as text, so replay and the
 * controller read the same file. No I/O: the parser takes a buffer.
 *
 *	# what counts as a failure
 *	link-down   = yes
 *	probe-loss  = 50% for 30s
 *	rtt-p90     = 5x for 60s
 *	routes-drop = 60%
 *	clear       = 60s
 *	horizons    = 5m 15m 30m
 *
 * One key per line, '#' starts a comment. A clause set to "off" (or a
 * threshold of 0) is disabled. Durations are seconds, or take a unit: s, m,
 * min, h. Every error names its line and what was expected.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/pfa.h"

/* Longest line: a comment may be long, a setting never is. */
#define CFG_LINE_MAX 512

enum key { K_LINK_DOWN, K_PROBE_LOSS, K_RTT, K_ROUTES, K_CLEAR, K_HORIZONS, K_N };

static const char *const key_names[K_N] = {
	[K_LINK_DOWN] = "link-down", [K_PROBE_LOSS] = "probe-loss", [K_RTT] = "rtt-p90",
	[K_ROUTES] = "routes-drop", [K_CLEAR] = "clear",	   [K_HORIZONS] = "horizons",
};

static const char *const key_forms[K_N] = {
	[K_LINK_DOWN] = "yes or no",
	[K_PROBE_LOSS] = "PCT% for DURATION (e.g. 50% for 30s) or off",
	[K_RTT] = "Kx for DURATION (e.g. 5x for 60s) or off",
	[K_ROUTES] = "PCT% (e.g. 60%) or off",
	[K_CLEAR] = "a DURATION (e.g. 60s)",
	[K_HORIZONS] = "1 to 4 DURATIONs of 5 to 30 minutes (e.g. 5m 15m 30m)",
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A number; *p moves past it. -1 if none, or not finite. */
static int num(char **p, double *v)
{
	char *end;

	if (!isdigit((unsigned char)**p) && **p != '.')
		return -1;
	errno = 0;
	*v = strtod(*p, &end);
	if (end == *p || errno || !isfinite(*v))
		return -1;
	*p = end;
	return 0;
}

/* A duration: a number of seconds with an optional unit; whole seconds, <= 1 day. */
static int duration(char **p, uint32_t *s)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "min", 60 }, { "s", 1 }, { "m", 60 }, { "h", 3600 } };
	double v, mult = 1;

	if (num(p, &v))
		return -1;
	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].unit);

		if (!strncmp(*p, units[i].unit, n) && !isalpha((unsigned char)(*p)[n])) {
			mult = units[i].mult;
			*p += n;
			break;
		}
	}
	v *= mult;
	if (v < 0 || v > 86400 || v != floor(v))
		return -1;
	*s = (uint32_t)v;
	return 0;
}

static bool word(char **p, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(*p, w, n) || isalnum((unsigned char)(*p)[n]))
		return false;
	*p += n;
	return true;
}

/* "X<suffix> for DURATION"; @suffix is "%" or "x". */
static int threshold_for(char **p, const char *suffix, double *v, uint32_t *s)
{
	if (num(p, v))
		return -1;
	*p = skip_ws(*p);
	if (strncmp(*p, suffix, 1))
		return -1;
	*p = skip_ws(*p + 1);
	if (!word(p, "for"))
		return -1;
	*p = skip_ws(*p);
	return duration(p, s);
}

/* One value of @k into @cfg; -1 if it is not of the key's form. */
static int value(struct pfa_config *cfg, enum key k, char *p)
{
	struct pfa_failure_def *fd = &cfg->fail;
	double v;

	switch (k) {
	case K_LINK_DOWN:
		if (word(&p, "yes") || word(&p, "on") || word(&p, "true"))
			fd->link_down = true;
		else if (word(&p, "no") || word(&p, "off") || word(&p, "false"))
			fd->link_down = false;
		else
			return -1;
		break;
	case K_PROBE_LOSS:
		if (word(&p, "off"))
			fd->probe_loss_pct = 0;
		else if (threshold_for(&p, "%", &fd->probe_loss_pct, &fd->probe_loss_s))
			return -1;
		break;
	case K_RTT:
		if (word(&p, "off"))
			fd->rtt_k = 0;
		else if (threshold_for(&p, "x", &fd->rtt_k, &fd->rtt_s))
			return -1;
		break;
	case K_ROUTES:
		if (word(&p, "off")) {
			fd->routes_drop_pct = 0;
			break;
		}
		if (num(&p, &v))
			return -1;
		p = skip_ws(p);
		if (*p != '%')
			return -1;
		p++;
		fd->routes_drop_pct = v;
		break;
	case K_CLEAR:
		if (duration(&p, &fd->clear_s))
			return -1;
		break;
	case K_HORIZONS:
		cfg->n_horizons = 0;
		for (;;) {
			uint32_t h;

			p = skip_ws(p);
			if (!*p)
				break;
			if (cfg->n_horizons == PFA_MAX_HORIZONS || duration(&p, &h))
				return -1;
			cfg->horizon_s[cfg->n_horizons++] = h;
			p = skip_ws(p);
			if (*p == ',')
				p++;
		}
		if (!cfg->n_horizons)
			return -1;
		break;
	default:
		return -1;
	}
	return *skip_ws(p) ? -1 : 0;
}

int pfa_config__parse(struct pfa_config *out, const char *buf, size_t len, char *err,
		      size_t errlen)
{
	struct pfa_config cfg = *out;
	unsigned seen[K_N] = { 0 };
	char line[CFG_LINE_MAX];
	const char *why;
	unsigned ln = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = (nl ? (size_t)(nl - buf) : len) - pos;
		char *p, *key, *eq;
		enum key k;

		ln++;
		if (memchr(buf + pos, '\0', n)) {
			fail(err, errlen, "line %u: NUL byte: not a text file", ln);
			return -EINVAL;
		}
		if (n >= sizeof(line)) {
			fail(err, errlen, "line %u: longer than %d bytes", ln, CFG_LINE_MAX - 1);
			return -EINVAL;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		line[strcspn(line, "#\r")] = '\0';
		p = skip_ws(line);
		if (!*p)
			continue;
		key = p;
		while (*p && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		eq = skip_ws(p);
		if (*eq != '=') {
			fail(err, errlen, "line %u: expected KEY = VALUE", ln);
			return -EINVAL;
		}
		*p = '\0';
		for (k = 0; k < K_N; k++)
			if (!strcmp(key, key_names[k]))
				break;
		if (k == K_N) {
			fail(err, errlen,
			     "line %u: unknown key '%.40s' (known: link-down, probe-loss, rtt-p90, "
			     "routes-drop, clear, horizons)", ln, key);
			return -EINVAL;
		}
		if (seen[k]) {
			fail(err, errlen, "line %u: %s given again (first on line %u)", ln,
			     key_names[k], seen[k]);
			return -EINVAL;
		}
		seen[k] = ln;
		/* Trailing blanks are not part of the value. */
		p = skip_ws(eq + 1);
		for (size_t e = strlen(p); e && (p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
			p[e - 1] = '\0';
		if (value(&cfg, k, p)) {
			fail(err, errlen, "line %u: %s = '%.60s': expected %s", ln, key_names[k], p,
			     key_forms[k]);
			return -EINVAL;
		}
		if (pfa_config__check(&cfg, &why)) {
			fail(err, errlen, "line %u: %s: out of range: need %s", ln, key_names[k], why);
			return -EINVAL;
		}
	}
	*out = cfg;
	return 0;
}
