// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage status | pops | links | predict | events | history, and the
 * controller forms of `mirror plan|list` and `dns show` (lib/cli_ctl.h):
 * GET the controller's JSON API (docs/controller.md "API") over its control
 * socket, and print it as aligned tables for people, or with -j as the
 * controller's own documents, one per line (as `ip -j` does).
 *
 * The socket's answers are input like any other: every field is looked up
 * by type, a missing or mistyped one prints as "-", and a document that does
 * not parse is reported with the byte where it broke (ctl_client.c, which
 * also does the HTTP; the tables are table.c's).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "cli_ctl.h"
#include "ctl_client.h"
#include "jsonread.h"
#include "numparse.h"
#include "table.h"

#define FOLLOW_INTERVAL_US 1000000

/* ---- command-line options ------------------------------------------------ */

enum {
	OPT_SOCKET = 0x100,
	OPT_EXPLAIN = 1 << 0,
	OPT_SINCE = 1 << 1,
	OPT_FOLLOW = 1 << 2,
};

struct args {
	const char *name; /* "status", "mirror plan", ... for messages */
	const char *sock;
	bool json;
	const char *explain;
	const char *since;
	bool follow;
	int npos;
	char **pos;
};

/*
 * Parse the options every controller command shares (--socket, -j, --help)
 * and those in `allowed`. Returns 0, or the exit status to return at once:
 * 0 after --help, 2 after a usage error.
 */
static int parse_args(struct args *a, int argc, char **argv, unsigned allowed, const char *usage)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, OPT_SOCKET},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"explain", required_argument, NULL, 'e'},
	    {"since", required_argument, NULL, 's'},
	    {"follow", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	const char *env = getenv("PRESAGE_SOCKET");
	int c;

	a->json = cli_json;
	a->sock = cli_socket ? cli_socket : env && *env ? env : CTL_SOCKET_DEFAULT;
	optind = 0; /* glibc: full re-initialisation (the dispatcher may have used getopt) */
	opterr = 0;
	for (;;) {
		int li = -1;
		char shortname[3] = {'-', 0, 0};

		c = getopt_long(argc, argv, ":jhe:s:f", opts, &li);
		if (c == -1)
			break;
		switch (c) {
		case OPT_SOCKET:
			if (!*optarg) {
				fprintf(stderr, "presage %s: --socket needs a path\n", a->name);
				return 2;
			}
			a->sock = optarg;
			continue;
		case 'j':
			a->json = true;
			continue;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'e':
			if (!(allowed & OPT_EXPLAIN))
				break;
			a->explain = optarg;
			continue;
		case 's':
			if (!(allowed & OPT_SINCE))
				break;
			a->since = optarg;
			continue;
		case 'f':
			if (!(allowed & OPT_FOLLOW))
				break;
			a->follow = true;
			continue;
		case ':':
			fprintf(stderr, "presage %s: %s needs a value (see presage %s --help)\n",
				a->name, argv[optind - 1], a->name);
			return 2;
		default:
			/* getopt's own '?' has no option index: the word itself */
			fprintf(stderr, "presage %s: unknown option '%s' (see presage %s --help)\n",
				a->name, argv[optind - 1], a->name);
			return 2;
		}
		/* An option we know, but not this command's. */
		shortname[1] = (char)c;
		fprintf(stderr, "presage %s: unknown option '%s%s' (see presage %s --help)\n",
			a->name, li >= 0 ? "--" : "", li >= 0 ? opts[li].name : shortname, a->name);
		return 2;
	}
	a->npos = argc - optind;
	a->pos = argv + optind;
	return -1;
}

static int too_many(const struct args *a, int max)
{
	if (a->npos <= max)
		return 0;
	fprintf(stderr, "presage %s: unexpected argument '%s' (see presage %s --help)\n", a->name,
		a->pos[max], a->name);
	return 2;
}

/* ---- typed look-ups ------------------------------------------------------ */

static bool jnum(struct json_object *o, const char *key, double *out)
{
	*out = jdbl(o, key);
	return isfinite(*out);
}

static size_t jlen(struct json_object *arr)
{
	return arr ? json_object_array_length(arr) : 0;
}

/* A bool, or a 0/1 number (SQLite has no booleans): 1 true, 0 false, -1 absent. */
static int jbool(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (v && json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (v && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v) != 0;
	return -1;
}

/* ---- cells ------------------------------------------------------------------ */

#define CELL 128

/* A string field; control characters from the socket do not reach the terminal. */
static const char *c_str(char *buf, struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);
	const char *s;
	size_t i;

	if (!v || json_object_is_type(v, json_type_null))
		return "-";
	s = json_object_is_type(v, json_type_string)
		? json_object_get_string(v)
		: json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (!*s)
		return "-";
	for (i = 0; s[i] && i < CELL - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static const char *hhmmss(char *buf, double t)
{
	time_t s = (time_t)floor(t);
	struct tm tm;

	if (!localtime_r(&s, &tm) || !strftime(buf, CELL, "%H:%M:%S", &tm))
		return "-";
	return buf;
}

/* Unix seconds (float) as local HH:MM:SS. */
static const char *c_time(char *buf, struct json_object *o, const char *key)
{
	double t;

	return jnum(o, key, &t) ? hhmmss(buf, t) : "-";
}

static const char *c_time_ms(char *buf, struct json_object *o, const char *key)
{
	double t;

	return jnum(o, key, &t) ? hhmmss(buf, t / 1000) : "-";
}

/* A number: kind 'f' fixed, '+' fixed with sign, 'g' shortest; then unit. */
static const char *c_num(char *buf, struct json_object *o, const char *key, char kind, int prec,
			 const char *unit)
{
	double v;

	if (!jnum(o, key, &v))
		return "-";
	snprintf(buf, CELL,
		 kind == 'g'   ? "%.*g%s"
		 : kind == '+' ? "%+.*f%s"
			       : "%.*f%s",
		 prec, v, unit);
	return buf;
}

/* A fraction as a percentage: 0.031 -> 3.1%. */
static const char *c_pct(char *buf, struct json_object *o, const char *key)
{
	double v;

	if (!jnum(o, key, &v))
		return "-";
	snprintf(buf, CELL, "%.1f%%", v * 100);
	return buf;
}

/* A quantity with a decimal SI prefix (powers of 1000, as cmmd.conf's sizes). */
static const char *si(char *buf, double v, const char *unit)
{
	static const char *const pfx[] = {"", "k", "M", "G", "T", "P"};
	int i = 0;

	while (fabs(v) >= 999.95 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, CELL, i ? "%.1f%s%s" : "%.0f%s%s", v, pfx[i], unit);
	return buf;
}

static const char *c_si(char *buf, struct json_object *o, const char *key, const char *unit)
{
	double v;

	return jnum(o, key, &v) ? si(buf, v, unit) : "-";
}

static const char *c_age(char *buf, struct json_object *o, const char *key)
{
	double v;

	if (!jnum(o, key, &v))
		return "-";
	snprintf(buf, CELL, v < 100 ? "%.1fs" : "%.0fs", v);
	return buf;
}

static const char *c_bool(struct json_object *o, const char *key, const char *yes, const char *no)
{
	int b = jbool(o, key);

	return b < 0 ? "-" : b ? yes : no;
}

/* An array of strings (or a comma list string) as "a,b,c". */
static const char *c_list(char *buf, struct json_object *o, const char *key)
{
	struct json_object *arr = jarr(o, key);
	size_t n = jlen(arr), len = 0;
	char tmp[CELL];

	if (!arr)
		return c_str(buf, o, key);
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < CELL - 1; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct json_object *wrap = json_object_new_object();

		/* Reuse c_str's sanitising through a one-key wrapper. */
		json_object_object_add(wrap, "v", json_object_get(e));
		len += snprintf(buf + len, CELL - len, "%s%s", i ? "," : "", c_str(tmp, wrap, "v"));
		json_object_put(wrap);
	}
	return buf[0] ? buf : "-";
}

/* ---- status, pops ------------------------------------------------------------ */

/*
 * The common start of a command without arguments: options, GET @path, and
 * with -j the document as it came. Returns an exit code, or -1 when the
 * caller goes on to print *doc as a table (and frees it).
 */
static int fetch_doc(struct args *a, int argc, char **argv, const char *usage, const char *path,
		     struct json_object **doc)
{
	int rc = parse_args(a, argc, argv, 0, usage);

	if (rc >= 0)
		return rc;
	if ((rc = too_many(a, 0)))
		return rc;
	if (ctl_get(a->sock, path, doc))
		return 1;
	if (a->json) {
		ctl_print_doc(*doc);
		json_object_put(*doc);
		return 0;
	}
	return -1;
}

/* The options every controller command takes, for its --help. */
#define CTL_OPTS_USAGE                                                                             \
	"  --socket PATH  control socket (default $PRESAGE_SOCKET, else " CTL_SOCKET_DEFAULT ")\n" \
	"  -j, --json     the controller's JSON document, on one line\n"

static const char status_usage[] =
    "Usage: presage status [--socket PATH] [-j]\n"
    "The controller at a glance: its POPs (state, risk, agent) and hostnames\n"
    "(state, primary, serving POP). GET /v1/status.\n"
    CTL_OPTS_USAGE;

static const char *c_agent(char *buf, struct json_object *pop)
{
	struct json_object *ag = jget(pop, "agent");
	int up = jbool(ag, "reachable");

	if (up < 0)
		return "-";
	snprintf(buf, CELL, "%s", up ? "ok" : "unreachable");
	return buf;
}

static int print_hostnames(struct json_object *arr)
{
	char b[8][CELL];
	struct tbl t;

	tbl_init(&t, "HOSTNAME STATE PRIMARY SERVING TARGET SINCE ADDRESSES");
	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *h = json_object_array_get_idx(arr, i);

		tbl_add(&t, c_str(b[0], h, "name"));
		tbl_add(&t, c_str(b[1], h, "state"));
		tbl_add(&t, c_str(b[2], h, "primary"));
		tbl_add(&t, c_str(b[3], h, "serving"));
		tbl_add(&t, c_str(b[4], h, "target"));
		tbl_add(&t, c_time(b[5], h, "since"));
		tbl_add(&t, c_list(b[6], h, "addresses"));
	}
	return tbl_print(&t, false);
}

static int cmd_status(int argc, char **argv)
{
	struct args a = {.name = "status"};
	struct json_object *doc, *pops;
	char b[10][CELL];
	struct tbl t;
	int rc;

	rc = fetch_doc(&a, argc, argv, status_usage, "/v1/status", &doc);
	if (rc >= 0)
		return rc;
	printf("controller %s, started %s, now %s, journal pending %s\n",
	       c_str(b[0], doc, "version"), c_time(b[1], doc, "started"), c_time(b[2], doc, "now"),
	       c_num(b[3], doc, "journal_pending", 'f', 0, ""));
	putchar('\n');
	pops = jarr(doc, "pops");
	tbl_init(&t, "POP REGION STATE >RISK AGENT >AGE WHY ERROR");
	for (size_t i = 0; i < jlen(pops); i++) {
		struct json_object *p = json_object_array_get_idx(pops, i);
		struct json_object *ag = jget(p, "agent");

		tbl_add(&t, c_str(b[0], p, "name"));
		tbl_add(&t, c_str(b[1], p, "region"));
		tbl_add(&t, c_str(b[2], p, "state"));
		tbl_add(&t, c_num(b[3], p, "risk", 'f', 2, ""));
		tbl_add(&t, c_agent(b[4], p));
		tbl_add(&t, c_age(b[5], ag, "age_s"));
		tbl_add(&t, c_str(b[7], p, "why"));
		tbl_add(&t, c_str(b[6], ag, "error"));
	}
	rc = tbl_print(&t, false);
	putchar('\n');
	rc = rc ?: print_hostnames(jarr(doc, "hostnames"));
	json_object_put(doc);
	return rc ? 1 : 0;
}

static const char pops_usage[] =
    "Usage: presage pops [--socket PATH] [-j]\n"
    "The controller's POPs: state, risk, agent, addresses, interconnects and the\n"
    "planner's capacity (disk free, bandwidth headroom, storage cost per GB).\n"
    "GET /v1/pops.\n"
    CTL_OPTS_USAGE;

static int cmd_pops(int argc, char **argv)
{
	struct args a = {.name = "pops"};
	struct json_object *doc, *pops;
	char b[10][CELL];
	struct tbl t;
	int rc;

	rc = fetch_doc(&a, argc, argv, pops_usage, "/v1/pops", &doc);
	if (rc >= 0)
		return rc;
	pops = jarr(doc, "pops");
	tbl_init(&t, "POP REGION STATE >RISK AGENT >FREE >BW >COST/GB ADDRESSES LINKS");
	for (size_t i = 0; i < jlen(pops); i++) {
		struct json_object *p = json_object_array_get_idx(pops, i);

		tbl_add(&t, c_str(b[0], p, "name"));
		tbl_add(&t, c_str(b[1], p, "region"));
		tbl_add(&t, c_str(b[2], p, "state"));
		tbl_add(&t, c_num(b[3], p, "risk", 'f', 2, ""));
		tbl_add(&t, c_agent(b[4], p));
		tbl_add(&t, c_si(b[5], p, "free", "B"));
		tbl_add(&t, c_si(b[6], p, "bw", "B/s"));
		tbl_add(&t, c_num(b[7], p, "storage_cost", 'g', 4, ""));
		tbl_add(&t, c_list(b[8], p, "addresses"));
		tbl_add(&t, c_list(b[9], p, "links"));
	}
	rc = tbl_print(&t, false);
	json_object_put(doc);
	return rc ? 1 : 0;
}

/* ---- links, predict ------------------------------------------------------------ */

static const char links_usage[] =
    "Usage: presage links [--socket PATH] [-j]\n"
    "Every interconnect's latest health and prediction: link state, RTT p90,\n"
    "probe RTT and loss, retransmissions, traffic, utilisation, routes,\n"
    "withdrawals, P(failure within the horizon). GET /v1/links.\n"
    CTL_OPTS_USAGE;

static const char *c_link(char *buf, struct json_object *o)
{
	char p[CELL], l[CELL];

	snprintf(buf, CELL, "%s/%s", c_str(p, o, "pop"), c_str(l, o, "link"));
	return buf;
}

static int cmd_links(int argc, char **argv)
{
	struct args a = {.name = "links"};
	struct json_object *doc, *links;
	char b[16][CELL];
	struct tbl t;
	int rc;

	rc = fetch_doc(&a, argc, argv, links_usage, "/v1/links", &doc);
	if (rc >= 0)
		return rc;
	links = jarr(doc, "links");
	tbl_init(&t,
		 "LINK STATE >RTT_P90 >PROBE_RTT >LOSS >RETRANS >RX >TX >UTIL >ROUTES >WDRAW >P "
		 ">HORIZON >AGE FLAGS");
	for (size_t i = 0; i < jlen(links); i++) {
		struct json_object *l = json_object_array_get_idx(links, i);
		int stale = jbool(l, "stale") > 0, fail = jbool(l, "in_failure") > 0;

		tbl_add(&t, c_link(b[0], l));
		tbl_add(&t, c_bool(l, "link_up", "up", "down"));
		tbl_add(&t, c_num(b[1], l, "rtt_p90_ms", 'f', 1, "ms"));
		tbl_add(&t, c_num(b[2], l, "probe_rtt_ms", 'f', 1, "ms"));
		tbl_add(&t, c_pct(b[3], l, "probe_loss"));
		tbl_add(&t, c_pct(b[4], l, "retrans_out"));
		tbl_add(&t, c_si(b[5], l, "rx_bps", "bit/s"));
		tbl_add(&t, c_si(b[6], l, "tx_bps", "bit/s"));
		tbl_add(&t, c_pct(b[7], l, "util"));
		tbl_add(&t, c_num(b[8], l, "routes", 'f', 0, ""));
		tbl_add(&t, c_num(b[9], l, "withdrawals", 'f', 0, ""));
		tbl_add(&t, c_num(b[10], l, "p", 'f', 2, ""));
		tbl_add(&t, c_num(b[11], l, "horizon_s", 'f', 0, "s"));
		tbl_add(&t, c_age(b[12], l, "age_s"));
		snprintf(b[13], CELL, "%s%s%s", stale ? "stale" : "", stale && fail ? "," : "",
			 fail ? "in-failure" : "");
		tbl_add(&t, b[13]);
	}
	rc = tbl_print(&t, false);
	json_object_put(doc);
	return rc ? 1 : 0;
}

static const char predict_usage[] =
    "Usage: presage predict [--explain POP/LINK] [--socket PATH] [-j]\n"
    "P(failure within the horizon) per interconnect, with the features that\n"
    "contributed most. GET /v1/predict.\n"
    "  --explain POP/LINK  every feature of that link's latest prediction: value,\n"
    "                      weight and contribution to the logit, largest first\n"
    "  --socket PATH       control socket (default $PRESAGE_SOCKET, else " CTL_SOCKET_DEFAULT ")\n"
    "  -j, --json          the controller's JSON document, on one line\n";

/* "feature(+1.20) feature(-0.30)" from a top[] array, or from the JSON text
 * of the database's predictions.top column. */
static const char *c_top(char *buf, struct json_object *o, const char *key, size_t max)
{
	struct json_object *top = jarr(o, key), *parsed = NULL;
	const char *text = jstr(o, key);
	size_t len = 0;
	char f[CELL];

	if (!top && text) {
		parsed = json_tokener_parse(text);
		if (!parsed || !json_object_is_type(parsed, json_type_array)) {
			json_object_put(parsed);
			return c_str(buf, o, key);
		}
		top = parsed;
	}

	buf[0] = '\0';
	for (size_t i = 0; i < jlen(top) && i < max && len < CELL - 1; i++) {
		struct json_object *e = json_object_array_get_idx(top, i);
		double c;

		if (jnum(e, "contribution", &c))
			len += snprintf(buf + len, CELL - len, "%s%s(%+.2f)", i ? " " : "",
					c_str(f, e, "feature"), c);
		else
			len += snprintf(buf + len, CELL - len, "%s%s", i ? " " : "",
					c_str(f, e, "feature"));
	}
	json_object_put(parsed);
	return buf[0] ? buf : "-";
}

static int by_contribution(const void *x, const void *y)
{
	struct json_object *a = *(struct json_object *const *)x,
			   *b = *(struct json_object *const *)y;
	double ca = 0, cb = 0;

	jnum(a, "contribution", &ca);
	jnum(b, "contribution", &cb);
	return fabs(cb) > fabs(ca) ? 1 : fabs(cb) < fabs(ca) ? -1 : 0;
}

static int explain(struct json_object *doc, const char *want)
{
	struct json_object *links = jarr(doc, "links"), *l = NULL, *feats, **v;
	char b[8][CELL];
	struct tbl t;
	size_t n;
	int rc;

	for (size_t i = 0; i < jlen(links) && !l; i++) {
		struct json_object *e = json_object_array_get_idx(links, i);

		if (!strcmp(c_link(b[0], e), want))
			l = e;
	}
	if (!l) {
		fprintf(stderr, "presage predict: the controller's answer has no link %s\n", want);
		return 1;
	}
	printf("%s  p %s  logit %s  horizon %s  warm %s  in-failure %s\n", want,
	       c_num(b[0], l, "p", 'f', 2, ""), c_num(b[1], l, "logit", '+', 2, ""),
	       c_num(b[2], doc, "horizon_s", 'f', 0, "s"), c_bool(l, "warm", "yes", "no"),
	       c_bool(l, "in_failure", "yes", "no"));
	/* "features" lives on the link; accept it beside "links" too. */
	feats = jarr(l, "features") ?: jarr(doc, "features");
	n = jlen(feats);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		fprintf(stderr, "presage: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_object_array_get_idx(feats, i);
	qsort(v, n, sizeof(*v), by_contribution);
	tbl_init(&t, "FEATURE >VALUE >WEIGHT >CONTRIBUTION");
	for (size_t i = 0; i < n; i++) {
		tbl_add(&t, c_str(b[3], v[i], "feature"));
		tbl_add(&t, c_num(b[4], v[i], "value", 'g', 4, ""));
		tbl_add(&t, c_num(b[5], v[i], "weight", 'g', 4, ""));
		tbl_add(&t, c_num(b[6], v[i], "contribution", '+', 3, ""));
	}
	free(v);
	rc = tbl_print(&t, false);
	return rc ? 1 : 0;
}

static int cmd_predict(int argc, char **argv)
{
	struct args a = {.name = "predict"};
	struct json_object *doc, *links;
	char path[1024] = "/v1/predict", b[8][CELL];
	struct tbl t;
	int rc;

	rc = parse_args(&a, argc, argv, OPT_EXPLAIN, predict_usage);
	if (rc >= 0)
		return rc;
	if ((rc = too_many(&a, 0)))
		return rc;
	if (a.explain && !strchr(a.explain, '/')) {
		fprintf(stderr, "presage predict: --explain wants POP/LINK, got '%s'\n", a.explain);
		return 2;
	}
	if (a.explain && ctl_path_add(path, sizeof(path), "link", a.explain)) {
		fprintf(stderr, "presage predict: link name too long\n");
		return 2;
	}
	if (ctl_get(a.sock, path, &doc))
		return 1;
	if (a.json) {
		ctl_print_doc(doc);
		json_object_put(doc);
		return 0;
	}
	if (a.explain) {
		rc = explain(doc, a.explain);
		json_object_put(doc);
		return rc;
	}
	printf("horizon %s\n", c_num(b[0], doc, "horizon_s", 'f', 0, "s"));
	links = jarr(doc, "links");
	tbl_init(&t, "LINK >P >LOGIT WARM FAILING TOP");
	for (size_t i = 0; i < jlen(links); i++) {
		struct json_object *l = json_object_array_get_idx(links, i);

		tbl_add(&t, c_link(b[0], l));
		tbl_add(&t, c_num(b[1], l, "p", 'f', 2, ""));
		tbl_add(&t, c_num(b[2], l, "logit", '+', 2, ""));
		tbl_add(&t, c_bool(l, "warm", "yes", "no"));
		tbl_add(&t, c_bool(l, "in_failure", "yes", "no"));
		tbl_add(&t, c_top(b[3], l, "top", 3));
	}
	rc = tbl_print(&t, false);
	json_object_put(doc);
	return rc ? 1 : 0;
}

/* ---- events ------------------------------------------------------------------ */

static const char events_usage[] =
    "Usage: presage events [--since ID] [--follow] [--socket PATH] [-j]\n"
    "The controller's journal: every decision, oldest first (at most 1000 per\n"
    "answer). GET /v1/events?since=ID.\n"
    "  --since ID     only rows with id > ID\n"
    "  --follow       keep asking every second and print new rows as they come\n"
    "                 (with -j: each answer that has new rows, one per line);\n"
    "                 waits for the controller while it restarts; Ctrl-C ends\n"
    CTL_OPTS_USAGE;

/* The journal rows of an events document. */
static struct json_object *event_rows(struct json_object *doc)
{
	return jarr(doc, "events") ?: jarr(doc, "journal");
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static int cmd_events(int argc, char **argv)
{
	struct args a = {.name = "events"};
	uint64_t since = 0;
	bool header = true, seen = false, gone = false;
	int rc, err;

	rc = parse_args(&a, argc, argv, OPT_SINCE | OPT_FOLLOW, events_usage);
	if (rc >= 0)
		return rc;
	if ((rc = too_many(&a, 0)))
		return rc;
	if (a.since && parse_u64(a.since, 0, INT64_MAX, &since)) {
		fprintf(stderr, "presage events: --since wants a journal id (a number), got '%s'\n",
			a.since);
		return 2;
	}
	if (a.follow) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	do {
		struct json_object *doc, *rows;
		char path[64], b[10][CELL];
		struct tbl t;
		size_t n;

		snprintf(path, sizeof(path), "/v1/events?since=%" PRIu64, since);
		err = ctl_get_ex(a.sock, path, gone ? CTL_QUIET_UNREACHABLE : 0, &doc);
		if (err == -CTL_E_UNREACHABLE && a.follow && seen) {
			/* Following across a restart of cmmd (upgrade, crash
			 * recovery): the journal goes on from `since`. */
			if (!gone)
				fprintf(stderr, "presage events: waiting for the controller at %s\n",
					a.sock);
			gone = true;
			if (!stop)
				usleep(FOLLOW_INTERVAL_US);
			continue;
		}
		if (err)
			return stop ? 0 : 1;
		if (gone)
			fprintf(stderr, "presage events: the controller at %s answers again\n", a.sock);
		seen = true;
		gone = false;
		rows = event_rows(doc);
		n = jlen(rows);
		for (size_t i = 0; i < n; i++) {
			double id;

			if (jnum(json_object_array_get_idx(rows, i), "id", &id) && id > since)
				since = (uint64_t)id;
		}
		if (a.json) {
			if (!a.follow || n)
				ctl_print_doc(doc);
		} else if (!a.follow || n || header) {
			tbl_init(&t,
				 ">ID TIME HOSTNAME POP TRANSITION ACTION TARGET STATUS REASON");
			for (size_t i = 0; i < n; i++) {
				struct json_object *r = json_object_array_get_idx(rows, i);

				tbl_add(&t, c_num(b[0], r, "id", 'f', 0, ""));
				tbl_add(&t, c_time_ms(b[1], r, "ts_ms"));
				tbl_add(&t, c_str(b[2], r, "hostname"));
				tbl_add(&t, c_str(b[3], r, "pop"));
				snprintf(b[4], CELL, "%s->", c_str(b[8], r, "from_state"));
				strncat(b[4], c_str(b[8], r, "to_state"), CELL - strlen(b[4]) - 1);
				tbl_add(&t, b[4]);
				tbl_add(&t, c_str(b[5], r, "action"));
				tbl_add(&t, c_str(b[6], r, "target"));
				tbl_add(&t, c_str(b[7], r, "status"));
				tbl_add(&t, c_str(b[9], r, "reason"));
			}
			/* Following, columns cannot know the rows to come:
			 * one header, then each batch aligned on its own. */
			if (tbl_print(&t, !header)) {
				json_object_put(doc);
				return 1;
			}
			header = false;
		}
		json_object_put(doc);
		if (a.follow && !stop)
			usleep(FOLLOW_INTERVAL_US);
	} while (a.follow && !stop);
	return 0;
}

/* ---- history ------------------------------------------------------------------ */

static const char history_usage[] =
    "Usage: presage history POP/LINK [--since T] [--socket PATH] [-j]\n"
    "One interconnect's stored samples and predictions (docs/controller.md\n"
    "\"Database\"). GET /v1/history?link=POP/LINK&since=T.\n"
    "  --since T      from T: Unix seconds, or an age such as 90s, 10m, 2h, 1d\n"
    CTL_OPTS_USAGE;

/* T as Unix seconds, or an age (30s, 10m, 2h, 1d) before now. */
static int parse_since(const char *s, double *out)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v))
		return -EINVAL;
	if (!*end) {
		*out = v;
		return 0;
	}
	if (end[1])
		return -EINVAL;
	switch (*end) {
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return -EINVAL;
	}
	*out = (double)time(NULL) - v;
	return 0;
}

static int cmd_history(int argc, char **argv)
{
	struct args a = {.name = "history"};
	struct json_object *doc, *rows;
	char path[1024] = "/v1/history", b[16][CELL];
	struct tbl t;
	double since;
	int rc;

	rc = parse_args(&a, argc, argv, OPT_SINCE, history_usage);
	if (rc >= 0)
		return rc;
	if (a.npos < 1) {
		fprintf(stderr, "presage history: which link? (presage history POP/LINK)\n");
		return 2;
	}
	if ((rc = too_many(&a, 1)))
		return rc;
	if (!strchr(a.pos[0], '/')) {
		fprintf(stderr, "presage history: wants POP/LINK, got '%s'\n", a.pos[0]);
		return 2;
	}
	if (a.since && parse_since(a.since, &since)) {
		fprintf(
		    stderr,
		    "presage history: --since wants Unix seconds or an age like 10m, got '%s'\n",
		    a.since);
		return 2;
	}
	rc = ctl_path_add(path, sizeof(path), "link", a.pos[0]);
	if (!rc && a.since) {
		/* whole seconds: cmmd takes a whole number */
		snprintf(b[0], CELL, "%.0f", floor(since));
		rc = ctl_path_add(path, sizeof(path), "since", b[0]);
	}
	if (rc) {
		fprintf(stderr, "presage history: link name too long\n");
		return 2;
	}
	if (ctl_get(a.sock, path, &doc))
		return 1;
	if (a.json) {
		ctl_print_doc(doc);
		json_object_put(doc);
		return 0;
	}
	rows = jarr(doc, "samples");
	printf("%s: %zu samples\n", a.pos[0], jlen(rows));
	tbl_init(
	    &t,
	    "TIME >TIER STATE >RTT_P50 >RTT_P90 >RTT_P99 >PROBE_RTT >LOSS >RETRANS >RX >TX >UTIL "
	    ">ROUTES >WDRAW");
	for (size_t i = 0; i < jlen(rows); i++) {
		struct json_object *s = json_object_array_get_idx(rows, i);

		tbl_add(&t, c_time(b[0], s, "ts"));
		tbl_add(&t, c_num(b[1], s, "tier", 'f', 0, ""));
		tbl_add(&t, c_bool(s, "link_up", "up", "down"));
		tbl_add(&t, c_num(b[2], s, "rtt_p50", 'f', 1, "ms"));
		tbl_add(&t, c_num(b[3], s, "rtt_p90", 'f', 1, "ms"));
		tbl_add(&t, c_num(b[4], s, "rtt_p99", 'f', 1, "ms"));
		tbl_add(&t, c_num(b[5], s, "probe_rtt", 'f', 1, "ms"));
		tbl_add(&t, c_pct(b[6], s, "probe_loss"));
		tbl_add(&t, c_pct(b[7], s, "retrans_out"));
		tbl_add(&t, c_si(b[8], s, "rx_bps", "bit/s"));
		tbl_add(&t, c_si(b[9], s, "tx_bps", "bit/s"));
		tbl_add(&t, c_pct(b[10], s, "util"));
		tbl_add(&t, c_num(b[11], s, "routes", 'f', 0, ""));
		tbl_add(&t, c_num(b[12], s, "withdrawals", 'f', 0, ""));
	}
	rc = tbl_print(&t, false);
	rows = jarr(doc, "predictions");
	printf("\n%s: %zu predictions\n", a.pos[0], jlen(rows));
	tbl_init(&t, "TIME >HORIZON >P TOP");
	for (size_t i = 0; i < jlen(rows); i++) {
		struct json_object *p = json_object_array_get_idx(rows, i);

		tbl_add(&t, c_time(b[0], p, "ts"));
		tbl_add(&t, c_num(b[1], p, "horizon_s", 'f', 0, "s"));
		tbl_add(&t, c_num(b[2], p, "p", 'f', 2, ""));
		tbl_add(&t, c_top(b[3], p, "top", 3));
	}
	rc = tbl_print(&t, false) ?: rc;
	json_object_put(doc);
	return rc ? 1 : 0;
}

/* ---- mirror plan, mirror list, dns show (hooked by their dispatchers) ---------- */

static const char mirror_plan_usage[] =
    "Usage: presage mirror plan [POP] [--socket PATH] [-j]\n"
    "The plan the controller would make now for POP at risk: destination,\n"
    "candidates and items. GET /v1/mirror/plan[?pop=POP].\n"
    CTL_OPTS_USAGE
    "Offline: presage mirror plan --topology FILE --at-risk POP --items FILE\n";

static void print_plan(struct json_object *p)
{
	struct json_object *arr;
	char b[8][CELL];
	double bytes;

	printf("at-risk %s -> destination %s\n", c_str(b[0], p, "at_risk"),
	       c_str(b[1], p, "destination"));
	printf("covers %s of %s req/s, %s, cost %s, eta %s (lead %s)\n",
	       c_num(b[2], p, "rate", 'f', 2, ""), c_num(b[3], p, "total_rate", 'f', 2, ""),
	       jnum(p, "bytes", &bytes) ? si(b[4], bytes, "B") : "-",
	       c_num(b[5], p, "cost", 'f', 4, ""), c_num(b[6], p, "eta_s", 'f', 0, "s"),
	       c_num(b[7], p, "lead_s", 'f', 0, "s"));
	arr = jarr(p, "candidates");
	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *c = json_object_array_get_idx(arr, i);

		printf("  candidate %-12s %s\n", c_str(b[0], c, "pop"), c_str(b[1], c, "why"));
	}
	arr = jarr(p, "items");
	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *it = json_object_array_get_idx(arr, i);

		printf("  %s %-50s %s\n", jbool(it, "chosen") > 0 ? "+" : "-",
		       c_str(b[0], it, "path"), c_str(b[1], it, "why"));
	}
}

int ctl_cmd_mirror_plan(int argc, char **argv)
{
	struct args a = {.name = "mirror plan"};
	struct json_object *doc, *plans;
	char path[1024] = "/v1/mirror/plan";
	int rc;

	rc = parse_args(&a, argc, argv, 0, mirror_plan_usage);
	if (rc >= 0)
		return rc;
	if ((rc = too_many(&a, 1)))
		return rc;
	if (a.npos && ctl_path_add(path, sizeof(path), "pop", a.pos[0])) {
		fprintf(stderr, "presage mirror plan: POP name too long\n");
		return 2;
	}
	if (ctl_get(a.sock, path, &doc))
		return 1;
	if (a.json) {
		ctl_print_doc(doc);
	} else if ((plans = jarr(doc, "plans"))) {
		/* Without POP the controller may answer one plan per POP. */
		for (size_t i = 0; i < jlen(plans); i++) {
			if (i)
				putchar('\n');
			print_plan(json_object_array_get_idx(plans, i));
		}
	} else {
		print_plan(doc);
	}
	json_object_put(doc);
	return 0;
}

static const char mirror_list_usage[] =
    "Usage: presage mirror list [--socket PATH] [-j]\n"
    "The controller's mirror orders and their jobs: source, destination, items,\n"
    "bytes, state, cost, and whether a failure followed (needed) or it was a\n"
    "false positive. GET /v1/mirror/jobs.\n"
    CTL_OPTS_USAGE;

int ctl_cmd_mirror_list(int argc, char **argv)
{
	struct args a = {.name = "mirror list"};
	struct json_object *doc, *jobs;
	char b[12][CELL];
	struct tbl t;
	int rc;

	rc = fetch_doc(&a, argc, argv, mirror_list_usage, "/v1/mirror/jobs", &doc);
	if (rc >= 0)
		return rc;
	jobs = jarr(doc, "jobs");
	tbl_init(
	    &t,
	    "ORDER >JOURNAL HOSTNAME SOURCE DEST >ITEMS >BYTES STATE >COST NEEDED CREATED UPDATED");
	for (size_t i = 0; i < jlen(jobs); i++) {
		struct json_object *j = json_object_array_get_idx(jobs, i);

		tbl_add(&t, c_str(b[0], j, "order_id"));
		tbl_add(&t, c_num(b[1], j, "journal_id", 'f', 0, ""));
		tbl_add(&t, c_str(b[2], j, "hostname"));
		tbl_add(&t, c_str(b[3], j, "source"));
		tbl_add(&t, c_str(b[4], j, "dest"));
		tbl_add(&t, c_num(b[5], j, "items", 'f', 0, ""));
		tbl_add(&t, c_si(b[6], j, "bytes", "B"));
		tbl_add(&t, c_str(b[7], j, "state"));
		tbl_add(&t, c_num(b[8], j, "cost", 'g', 4, ""));
		tbl_add(&t, c_bool(j, "needed", "yes", "no"));
		tbl_add(&t, c_time_ms(b[9], j, "created_ms"));
		tbl_add(&t, c_time_ms(b[10], j, "updated_ms"));
	}
	rc = tbl_print(&t, false);
	json_object_put(doc);
	return rc ? 1 : 0;
}

static const char dns_show_usage[] =
    "Usage: presage dns show [NAME] [--socket PATH] [-j]\n"
    "What the controller wants each steered name to resolve to, what the\n"
    "authoritative server has, its presage flag (TXT) and serial.\n"
    "GET /v1/dns.\n"
    "  NAME           only this hostname\n"
    CTL_OPTS_USAGE
    "Offline: presage dns show NAME --server ADDR (asks the server itself)\n";

/* {"state":"staged","from":"popA"} -> "state=staged from=popA" */
static const char *c_flag(char *buf, struct json_object *o, const char *key)
{
	struct json_object *flag = jget(o, key);
	size_t len = 0;
	char v[CELL];

	if (!flag || !json_object_is_type(flag, json_type_object))
		return c_str(buf, o, key);
	buf[0] = '\0';
	json_object_object_foreach(flag, k, val)
	{
		struct json_object *wrap = json_object_new_object();

		(void)val;
		json_object_object_add(wrap, "v", json_object_get(val));
		if (len < CELL - 1)
			len += snprintf(buf + len, CELL - len, "%s%s=%s", len ? " " : "", k,
					c_str(v, wrap, "v"));
		json_object_put(wrap);
	}
	return buf[0] ? buf : "-";
}

int ctl_cmd_dns_show(int argc, char **argv)
{
	struct args a = {.name = "dns show"};
	struct json_object *doc, *hosts;
	char b[8][CELL];
	struct tbl t;
	int rc;

	rc = parse_args(&a, argc, argv, 0, dns_show_usage);
	if (rc >= 0)
		return rc;
	if ((rc = too_many(&a, 1)))
		return rc;
	if (ctl_get(a.sock, "/v1/dns", &doc))
		return 1;
	hosts = jarr(doc, "hostnames");
	if (a.npos) {
		/* Keep only NAME, in the table and in -j's document alike. */
		for (size_t i = jlen(hosts); i-- > 0;) {
			const char *name = jstr(json_object_array_get_idx(hosts, i), "name");

			if (!name || strcasecmp(name, a.pos[0]))
				json_object_array_del_idx(hosts, i, 1);
		}
		if (!jlen(hosts)) {
			fprintf(stderr, "presage dns show: the controller steers no hostname %s\n",
				a.pos[0]);
			json_object_put(doc);
			return 1;
		}
	}
	if (a.json) {
		ctl_print_doc(doc);
		json_object_put(doc);
		return 0;
	}
	tbl_init(&t, "HOSTNAME SYNC WANT HAVE >SERIAL FLAG ERROR");
	for (size_t i = 0; i < jlen(hosts); i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i);

		tbl_add(&t, c_str(b[0], h, "name"));
		tbl_add(&t, c_bool(h, "in_sync", "yes", "NO"));
		tbl_add(&t, c_list(b[1], h, "want"));
		tbl_add(&t, c_list(b[2], h, "have"));
		tbl_add(&t, c_num(b[3], h, "serial", 'f', 0, ""));
		tbl_add(&t, c_flag(b[4], h, "flag"));
		tbl_add(&t, c_str(b[5], h, "error"));
	}
	rc = tbl_print(&t, false);
	json_object_put(doc);
	return rc ? 1 : 0;
}

CLI_COMMAND(status, "status", "the controller at a glance: POPs and hostnames", cmd_status);
CLI_COMMAND(pops, "pops", "the controller's POPs: state, risk, capacity", cmd_pops);
CLI_COMMAND(links, "links", "every interconnect's latest health and P(failure)", cmd_links);
CLI_COMMAND(predict, "predict", "P(failure) per interconnect; --explain POP/LINK", cmd_predict);
CLI_COMMAND(events, "events", "the controller's decision journal; --follow", cmd_events);
CLI_COMMAND(history, "history", "one interconnect's stored samples and predictions", cmd_history);
