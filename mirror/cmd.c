// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage mirror: the operator's view of mirroring.
 *
 *   presage mirror sign      controller side: write a signed transfer order
 *   presage mirror pull      execute an order as its destination, with progress
 *   presage mirror manifest  refresh and show a store's manifest
 *   presage mirror top       hot content from an access log (optionally followed)
 *   presage mirror plan      choose destination and items for an at-risk POP
 *   presage mirror primary   mark a host (not) primary on this POP
 *   presage mirror ctl       the controller's commands to a POP's agent
 *                            (presage-mirrord run), by hand
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_ctl.h"
#include "fsutil.h"
#include "log.h"
#include "mirror/agent.h"
#include "mirror/ctl.h"
#include "mirror/opts.h"
#include "numparse.h"

static bool json;

#define MIRROR_TTL_MAX 31536000	/* a signed order lives a year at most */
#define TOP_MAX 10000000		/* -n and --counters */

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/*
 * The value @v of option @opt of `presage mirror @cmd` as a number in
 * [@lo, @hi]; false after saying what was wrong with it.
 */
static bool opt_dbl(const char *cmd, const char *opt, const char *v, double lo, double hi,
		    double *out)
{
	if (!parse_dbl(v, lo, hi, out))
		return true;
	fprintf(stderr, "mirror %s: %s takes a number from %g to %g, not '%s'\n", cmd, opt, lo, hi,
		v);
	return false;
}

static bool opt_u64(const char *cmd, const char *opt, const char *v, uint64_t lo, uint64_t hi,
		    uint64_t *out)
{
	if (!parse_u64(v, lo, hi, out))
		return true;
	fprintf(stderr, "mirror %s: %s takes a whole number from %" PRIu64 " to %" PRIu64 ", not '%s'\n",
		cmd, opt, lo, hi, v);
	return false;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ---- sign ---------------------------------------------------------------- */

static int cmd_sign(int argc, char **argv)
{
	struct mirror_order o = { 0 };
	const char *key = NULL, *out = NULL;
	uint64_t ttl = 600;
	char *text;
	size_t len;
	int err;

	if (want_help(argc, argv)) {
		printf("Usage: presage mirror sign --key CONTROLLER.key --source POP --source-addr HOST:PORT\n"
		       "         --dest POP (--host NAME | --item HOST/PATH)... [--ttl SECONDS] [--bwlimit BYTES/S]\n"
		       "         [--id ID] [--keep] [-o FILE]\n"
		       "Writes an order signed with the controller's Ed25519 key. --keep: whole hosts\n"
		       "keep the items the source does not have (a re-sync from a partial copy).\n");
		return 0;
	}
	o.hosts = calloc((size_t)argc, sizeof(char *));
	o.items = calloc((size_t)argc, sizeof(char *));
	if (!o.hosts || !o.items)
		return 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--keep")) {
			o.keep = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "mirror sign: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--key"))
			key = v;
		else if (!strcmp(a, "-o"))
			out = v;
		else if (!strcmp(a, "--source"))
			snprintf(o.source, sizeof(o.source), "%s", v);
		else if (!strcmp(a, "--source-addr"))
			snprintf(o.source_addr, sizeof(o.source_addr), "%s", v);
		else if (!strcmp(a, "--dest"))
			snprintf(o.destination, sizeof(o.destination), "%s", v);
		else if (!strcmp(a, "--id"))
			snprintf(o.id, sizeof(o.id), "%s", v);
		else if (!strcmp(a, "--ttl")) {
			if (!opt_u64("sign", a, v, 1, MIRROR_TTL_MAX, &ttl))
				return 2;
		} else if (!strcmp(a, "--bwlimit")) {
			if (!opt_u64("sign", a, v, 0, UINT64_MAX, &o.bwlimit))
				return 2;
		} else if (!strcmp(a, "--host"))
			o.hosts[o.nhosts++] = (char *)v;
		else if (!strcmp(a, "--item"))
			o.items[o.nitems++] = (char *)v;
		else {
			fprintf(stderr, "mirror sign: unknown option %s\n", a);
			return 2;
		}
	}
	if (!key || !o.source[0] || !o.source_addr[0] || !o.destination[0] ||
	    (!o.nhosts && !o.nitems)) {
		fprintf(stderr, "mirror sign: need --key, --source, --source-addr, --dest and a --host or --item\n");
		return 2;
	}
	o.expires = (int64_t)time(NULL) + (int64_t)ttl;
	err = mirror_order__sign(&o, key, &text, &len);
	free(o.hosts);
	free(o.items);
	if (err) {
		fprintf(stderr, "mirror sign: %s\n", mirror_strerror(err));
		return 1;
	}
	if (out)
		err = write_file_atomic(out, text, len, 0644);
	else
		err = fwrite(text, 1, len, stdout) == len ? 0 : -EIO;
	free(text);
	if (err) {
		fprintf(stderr, "mirror sign: cannot write %s: %s\n", out ? out : "stdout",
			strerror(-err));
		return 1;
	}
	return 0;
}

/* ---- pull ----------------------------------------------------------------- */

static void pull_progress(void *arg, const struct mirror_progress *p)
{
	bool tty = isatty(STDOUT_FILENO);

	mirror_progress_print(stdout, p, json, tty);
	if (tty && p->finished)
		putchar('\n');
}

static int cmd_pull(int argc, char **argv)
{
	struct mirror_agent_cfg cfg = { 0 };
	struct mirror_progress res;
	const char *order_file = NULL;
	char *order;
	size_t len;
	int err;

	if (want_help(argc, argv)) {
		printf("Usage: presage mirror pull --order FILE [--parallel N] [--bwlimit BYTES/S] [AGENT OPTIONS]\n"
		       "Executes a signed order as its destination and shows progress as it goes.\n\n%s",
		       mirror_cfg_usage);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char why[160];
		int r = mirror_cfg_opt(&cfg, argv[i], v, why, sizeof(why));

		if (r == 1) {
			i++;
		} else if (r < 0) {
			fprintf(stderr, "mirror pull: %s\n", why);
			return 2;
		} else if (!strcmp(argv[i], "--order") && v) {
			order_file = v;
			i++;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "mirror pull: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (mirror_cfg_check(&cfg, false))
		return 2;
	if (!order_file) {
		fprintf(stderr, "mirror pull: need --order FILE\n");
		return 2;
	}
	err = read_file_all(order_file, 64 << 20, &order, &len);
	if (err) {
		fprintf(stderr, "mirror pull: cannot read %s: %s\n", order_file, strerror(-err));
		return 1;
	}
	err = mirror_pull(&cfg, order, len, pull_progress, NULL, &res);
	free(order);
	if (err) {
		fprintf(stderr, "mirror pull: %s\n", mirror_strerror(err));
		return 1;
	}
	return 0;
}

/* ---- manifest / primary ----------------------------------------------------- */

static int cmd_manifest(int argc, char **argv)
{
	struct mirror_store *s;
	struct mirror_manifest m;
	const char *root = argc > 2 && !strcmp(argv[1], "--root") ? argv[2] : NULL;
	int err;

	if (want_help(argc, argv) || !root) {
		printf("Usage: presage mirror manifest --root DIR [-j]\n"
		       "Rescans the store (rehashing changed files) and prints its manifest.\n");
		return root ? 0 : 2;
	}
	if (argc > 3 && (!strcmp(argv[3], "-j") || !strcmp(argv[3], "--json")))
		json = true;
	s = mirror_store__open(root, false, &err);
	if (!s) {
		fprintf(stderr, "mirror manifest: %s: %s\n", root, mirror_strerror(err));
		return 1;
	}
	err = mirror_store__refresh(s, NULL);
	if (!err)
		err = mirror_store__snapshot(s, &m);
	if (err) {
		fprintf(stderr, "mirror manifest: %s: %s\n", root, mirror_strerror(err));
		mirror_store__close(s);
		return 1;
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < m.n; i++) {
		char hex[65];

		mirror_hex(m.v[i].sha, 32, hex);
		if (json) {
			printf("%s{\"path\":", i ? "," : "");
			json_str(stdout, m.v[i].path);
			printf(",\"size\":%llu,\"version\":%u,\"sha256\":\"%s\"}",
			       (unsigned long long)m.v[i].size, m.v[i].version, hex);
		} else {
			printf("%s %12llu v%-4u %s\n", hex, (unsigned long long)m.v[i].size,
			       m.v[i].version, m.v[i].path);
		}
	}
	if (json)
		printf("]\n");
	mirror_manifest__clear(&m);
	mirror_store__close(s);
	return 0;
}

static int cmd_primary(int argc, char **argv)
{
	const char *root = NULL, *host = NULL, *set = NULL;
	struct mirror_store *s;
	enum mirror_primary st;
	int err;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--root"))
			root = argv[i + 1];
		else if (!strcmp(argv[i], "--host"))
			host = argv[i + 1];
		else if (!strcmp(argv[i], "--set"))
			set = argv[i + 1];
	}
	if (want_help(argc, argv) || !root || !host ||
	    (set && strcmp(set, "on") && strcmp(set, "off"))) {
		printf("Usage: presage mirror primary --root DIR --host NAME [--set on|off]\n"
		       "'off' makes the content server stop serving NAME here at once; 'on' takes\n"
		       "effect only after the next complete sync of NAME (resync pending).\n");
		return want_help(argc, argv) ? 0 : 2;
	}
	s = mirror_store__open(root, false, &err);
	if (!s) {
		fprintf(stderr, "mirror primary: %s: %s\n", root, mirror_strerror(err));
		return 1;
	}
	err = set ? mirror_store__set_primary(s, host, !strcmp(set, "on")) : 0;
	if (!err)
		err = mirror_store__primary(s, host, &st);
	mirror_store__close(s);
	if (err) {
		fprintf(stderr, "mirror primary: %s: %s\n", host, mirror_strerror(err));
		return 1;
	}
	{
		static const char *const name[] = { "primary", "not-primary", "resync-pending" };

		if (json || cli_json)
			printf("{\"host\":\"%s\",\"state\":\"%s\"}\n", host, name[st]);
		else
			printf("%s: %s\n", host, name[st]);
	}
	return 0;
}

/* ---- top --------------------------------------------------------------------- */

struct top_ctx {
	struct mirror_logfmt *fmt;
	struct mirror_topk *tk;
	double last_t;
	unsigned long lines, used;
};

static void top_line(void *arg, const char *line, size_t len)
{
	struct top_ctx *c = arg;
	char key[MIRROR_PATH_MAX + 1];
	double t;

	c->lines++;
	if (mirror_logfmt__parse(c->fmt, line, len, key, sizeof(key), &t))
		return;
	if (t <= 0)
		t = (double)time(NULL);
	if (t > c->last_t)
		c->last_t = t;
	mirror_topk__add(c->tk, key, c->last_t);
	c->used++;
}

static void top_print(struct top_ctx *c, size_t n)
{
	struct mirror_hot *h = calloc(n, sizeof(*h));
	size_t got;

	if (!h)
		return;
	got = mirror_topk__top(c->tk, c->last_t, h, n);
	if (json) {
		printf("{\"lines\":%lu,\"counted\":%lu,\"top\":[", c->lines, c->used);
		for (size_t i = 0; i < got; i++) {
			printf("%s{\"key\":", i ? "," : "");
			json_str(stdout, h[i].key);
			printf(",\"count\":%.2f,\"rate\":%.4f,\"error\":%.2f}", h[i].count, h[i].rate,
			       h[i].err);
		}
		printf("]}\n");
	} else {
		printf("%4s %12s %10s  %s\n", "rank", "count", "req/s", "host/path");
		for (size_t i = 0; i < got; i++)
			printf("%4zu %12.1f %10.3f  %s\n", i + 1, h[i].count, h[i].rate, h[i].key);
		printf("(%lu lines, %lu counted)\n", c->lines, c->used);
	}
	fflush(stdout);
	free(h);
}

static volatile sig_atomic_t top_stop;

static void on_int(int sig)
{
	top_stop = 1;
}

static int cmd_top(int argc, char **argv)
{
	const char *log = NULL, *fmt = "combined", *host = NULL;
	size_t n = 20, k = 4096;
	uint64_t u;
	double half_life = 300, interval = 2, duration = 0;
	bool follow = false;
	struct top_ctx c = { 0 };
	struct mirror_follow *f;
	int err = 0;

	if (want_help(argc, argv)) {
		printf("Usage: presage mirror top --log FILE [--format combined|host|'NGINX LOG_FORMAT']\n"
		       "         [--host NAME] [-n N] [--counters K] [--half-life SECONDS]\n"
		       "         [--follow [--interval S] [--duration S]] [-j]\n"
		       "Hottest host/path by decayed request count, with rates. --follow keeps\n"
		       "reading the log across rotation and truncation. --half-life 0: no decay.\n");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--follow")) {
			follow = true;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = true;
		} else if (!v) {
			fprintf(stderr, "mirror top: %s needs a value\n", a);
			return 2;
		} else {
			i++;
			if (!strcmp(a, "--log"))
				log = v;
			else if (!strcmp(a, "--format"))
				fmt = v;
			else if (!strcmp(a, "--host"))
				host = v;
			else if (!strcmp(a, "-n") || !strcmp(a, "--counters")) {
				if (!opt_u64("top", a, v, 1, TOP_MAX, &u))
					return 2;
				*(a[1] == 'n' ? &n : &k) = (size_t)u;
			} else if (!strcmp(a, "--half-life")) {
				if (!opt_dbl("top", a, v, 0, 1e9, &half_life))
					return 2;
			} else if (!strcmp(a, "--interval")) {
				if (!opt_dbl("top", a, v, 0.01, 3600, &interval))
					return 2;
			} else if (!strcmp(a, "--duration")) {
				if (!opt_dbl("top", a, v, 0, 1e9, &duration))
					return 2;
			} else {
				fprintf(stderr, "mirror top: unknown option %s\n", a);
				return 2;
			}
		}
	}
	if (!log || n == 0 || k < n) {
		fprintf(stderr, "mirror top: need --log FILE, and --counters >= -n\n");
		return 2;
	}
	c.fmt = mirror_logfmt__new(fmt, host, &err);
	if (!c.fmt) {
		fprintf(stderr, "mirror top: bad --format (it needs $request or $request_uri, and $host or --host)\n");
		return 2;
	}
	c.tk = mirror_topk__new(k, half_life);
	f = mirror_follow__new(log, true);
	if (!c.tk || !f) {
		err = -ENOMEM;
		goto out;
	}
	err = mirror_follow__poll(f, top_line, &c);
	if (err || !follow) {
		if (!err)
			top_print(&c, n);
		goto out;
	}
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	{
		time_t start = time(NULL);

		while (!top_stop && (duration <= 0 || time(NULL) - start < duration)) {
			usleep((useconds_t)(interval * 1e6));
			err = mirror_follow__poll(f, top_line, &c);
			if (err)
				break;
			top_print(&c, n);
		}
	}
out:
	if (err)
		fprintf(stderr, "mirror top: %s: %s\n", log, mirror_strerror(err));
	mirror_follow__free(f);
	mirror_topk__free(c.tk);
	mirror_logfmt__free(c.fmt);
	return err ? 1 : 0;
}

/* ---- plan -------------------------------------------------------------------- */

/* Is OPT (or OPT=...) among the arguments? */
static bool has_opt(int argc, char **argv, const char *opt)
{
	size_t n = strlen(opt);

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], opt, n) && (!argv[i][n] || argv[i][n] == '='))
			return true;
	return false;
}

static int cmd_plan(int argc, char **argv)
{
	const char *topo = NULL, *items_file = NULL;
	struct mirror_plan_req req = { .lead_s = 600 };
	struct mirror_plan_item *items = NULL;
	struct mirror_topology t;
	struct mirror_plan p;
	size_t n = 0, cap = 0, len;
	char *buf = NULL, *save = NULL;
	int err;

	/* Without --topology: the plan the controller would make now. */
	if (!has_opt(argc, argv, "--topology"))
		return ctl_cmd_mirror_plan(argc, argv);
	if (want_help(argc, argv)) {
		printf("Usage: presage mirror plan --topology FILE --at-risk POP --items FILE\n"
		       "         [--lead SECONDS] [--budget-cost X] [--budget-bytes N] [-j]\n"
		       "FILE lines: 'host/path size rate' (rate in requests/s, e.g. from\n"
		       "`presage mirror top`). Prints the chosen destination, the items, and why.\n");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "mirror plan: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--topology"))
			topo = v;
		else if (!strcmp(a, "--at-risk"))
			req.at_risk = v;
		else if (!strcmp(a, "--items"))
			items_file = v;
		else if (!strcmp(a, "--lead")) {
			if (!opt_dbl("plan", a, v, 0, 86400, &req.lead_s))
				return 2;
		} else if (!strcmp(a, "--budget-cost")) {
			if (!opt_dbl("plan", a, v, 0, 1e18, &req.budget_cost))
				return 2;
		} else if (!strcmp(a, "--budget-bytes")) {
			if (!opt_u64("plan", a, v, 0, UINT64_MAX, &req.budget_bytes))
				return 2;
		} else {
			fprintf(stderr, "mirror plan: unknown option %s\n", a);
			return 2;
		}
	}
	if (!topo || !req.at_risk || !items_file) {
		fprintf(stderr, "mirror plan: need --topology, --at-risk and --items\n");
		return 2;
	}
	err = mirror_topology__load(&t, topo);
	if (err)
		return 1;
	err = read_file_all(items_file, 256 << 20, &buf, &len);
	if (err) {
		fprintf(stderr, "mirror plan: cannot read %s: %s\n", items_file, strerror(-err));
		mirror_topology__free(&t);
		return 1;
	}
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char path[MIRROR_PATH_MAX + 1];
		unsigned long long size;
		double rate;

		if (line[0] == '#' || sscanf(line, "%1024s %llu %lf", path, &size, &rate) != 3)
			continue;
		if (mirror_path_check(path)) {
			fprintf(stderr, "mirror plan: skipping unsafe path %s\n", path);
			continue;
		}
		if (n == cap) {
			struct mirror_plan_item *ni;

			cap = cap ? cap * 2 : 256;
			ni = realloc(items, cap * sizeof(*ni));
			if (!ni) {
				err = -ENOMEM;
				goto out;
			}
			items = ni;
		}
		items[n].path = strdup(path);
		items[n].size = size;
		items[n].rate = rate;
		n++;
	}
	err = mirror_plan__make(&p, &t, &req, items, n);
	if (err) {
		fprintf(stderr, "mirror plan: %s (is %s in the topology?)\n", mirror_strerror(err),
			req.at_risk);
		goto out;
	}
	if (json) {
		printf("{\"at_risk\":\"%s\",\"destination\":\"%s\",\"rate\":%.3f,\"total_rate\":%.3f,"
		       "\"bytes\":%llu,\"cost\":%.4f,\"eta_s\":%.1f,\"lead_s\":%.1f,\"candidates\":[",
		       req.at_risk, p.destination, p.rate, p.total_rate,
		       (unsigned long long)p.bytes, p.cost, p.eta_s, req.lead_s);
		for (size_t i = 0; i < p.ncands; i++) {
			printf("%s{\"pop\":\"%s\",\"eligible\":%s,\"rate\":%.3f,\"why\":", i ? "," : "",
			       p.cands[i].pop, p.cands[i].eligible ? "true" : "false", p.cands[i].rate);
			json_str(stdout, p.cands[i].why);
			printf("}");
		}
		printf("],\"items\":[");
		for (size_t i = 0; i < p.nitems; i++) {
			printf("%s{\"path\":", i ? "," : "");
			json_str(stdout, p.items[i].path);
			printf(",\"chosen\":%s,\"why\":", p.items[i].chosen ? "true" : "false");
			json_str(stdout, p.items[i].why ? p.items[i].why : "");
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("at-risk %s -> destination %s\n", req.at_risk,
		       p.destination[0] ? p.destination : "(none)");
		printf("covers %.2f of %.2f req/s, %.1f MB, cost %.4f, eta %.0f s (lead %.0f s)\n",
		       p.rate, p.total_rate, p.bytes / 1e6, p.cost, p.eta_s, req.lead_s);
		for (size_t i = 0; i < p.ncands; i++)
			printf("  candidate %-12s %s\n", p.cands[i].pop, p.cands[i].why);
		for (size_t i = 0; i < p.nitems; i++)
			printf("  %s %-50s %s\n", p.items[i].chosen ? "+" : "-", p.items[i].path,
			       p.items[i].why ? p.items[i].why : "");
	}
	mirror_plan__free(&p);
out:
	for (size_t i = 0; i < n; i++)
		free(items[i].path);
	free(items);
	free(buf);
	mirror_topology__free(&t);
	return err ? 1 : 0;
}

/* ---- ctl ----------------------------------------------------------------------- */

static void ctl_usage(void)
{
	printf("Usage: presage mirror ctl COMMAND --addr HOST:PORT --cert FILE --key FILE --ca FILE\n"
	       "         [--order-key FILE] [--timeout MS] [-j] ARGS\n"
	       "Sends one command to a POP's agent (presage-mirrord run), as the controller\n"
	       "does; the certificate must be the controller's.\n\n"
	       "  submit --order FILE                   give the agent a signed order (its destination)\n"
	       "  status --id ORDER-ID                  the job of that order\n"
	       "  primary --pop POP --host NAME --set on|off [--ttl S]\n"
	       "                                        signed with --order-key (S: lifetime, default 60)\n"
	       "  hot [--host NAME] [-n N]              hottest items of the agent's access log (default 20)\n"
	       "  manifest --host NAME                  the agent's manifest entries of NAME\n");
}

static void print_job(const struct mirror_job_status *st)
{
	const struct mirror_progress *p = &st->progress;

	if (json) {
		printf("{\"id\":");
		json_str(stdout, st->id);
		printf(",\"state\":\"%s\",\"err\":%d,\"error\":", mirror_job_state_name(st->state),
		       st->err);
		json_str(stdout, st->err ? mirror_strerror(st->err) : "");
		printf(",\"msg\":");
		json_str(stdout, st->msg);
		printf(",\"items_total\":%llu,\"items_done\":%llu,\"items_skipped\":%llu,"
		       "\"items_failed\":%llu,\"items_deleted\":%llu,\"bytes_total\":%llu,"
		       "\"bytes_done\":%llu,\"wire_rx\":%llu,\"wire_tx\":%llu,\"rate_bps\":%.0f,"
		       "\"eta_s\":%.1f,\"elapsed_s\":%.2f,\"finished\":%s}\n",
		       (unsigned long long)p->items_total, (unsigned long long)p->items_done,
		       (unsigned long long)p->items_skipped, (unsigned long long)p->items_failed,
		       (unsigned long long)p->items_deleted, (unsigned long long)p->bytes_total,
		       (unsigned long long)p->bytes_done, (unsigned long long)p->wire_rx,
		       (unsigned long long)p->wire_tx, p->rate_bps, p->eta_s, p->elapsed_s,
		       p->finished ? "true" : "false");
	} else {
		printf("job %s: %s  items %llu/%llu (%llu current, %llu failed)  %.1f/%.1f MB%s%s\n",
		       st->id, mirror_job_state_name(st->state),
		       (unsigned long long)(p->items_done + p->items_skipped),
		       (unsigned long long)p->items_total, (unsigned long long)p->items_skipped,
		       (unsigned long long)p->items_failed, p->bytes_done / 1e6,
		       p->bytes_total / 1e6, st->msg[0] ? "  " : "", st->msg);
	}
}

static int cmd_ctl(int argc, char **argv)
{
	static const char *const pname[] = { "primary", "not-primary", "resync-pending" };
	struct mirror_ctl_cfg c = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL, *addr = NULL, *order = NULL, *id = NULL;
	const char *pop = NULL, *host = NULL, *set = NULL;
	long ttl = 0, n = 20;
	char err[512] = "";
	int r = 0;

	if (!sub || want_help(argc, argv)) {
		ctl_usage();
		return sub ? 0 : 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "mirror ctl: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--addr"))
			addr = v;
		else if (!strcmp(a, "--cert"))
			c.cert = v;
		else if (!strcmp(a, "--key"))
			c.key = v;
		else if (!strcmp(a, "--ca"))
			c.ca = v;
		else if (!strcmp(a, "--order-key"))
			c.order_key = v;
		else if (!strcmp(a, "--order"))
			order = v;
		else if (!strcmp(a, "--id"))
			id = v;
		else if (!strcmp(a, "--pop"))
			pop = v;
		else if (!strcmp(a, "--host"))
			host = v;
		else if (!strcmp(a, "--set"))
			set = v;
		else if (!strcmp(a, "--timeout") || !strcmp(a, "--ttl") || !strcmp(a, "-n")) {
			long x = strtol(v, &end, 10);

			if (*end || (strcmp(a, "--ttl") && x <= 0)) {
				fprintf(stderr, "mirror ctl: %s wants a number, not '%s'\n", a, v);
				return 2;
			}
			if (!strcmp(a, "--timeout"))
				c.timeout_ms = (int)x;
			else if (!strcmp(a, "--ttl"))
				ttl = x;
			else
				n = x;
		} else {
			fprintf(stderr, "mirror ctl: unknown option %s (see --help)\n", a);
			return 2;
		}
	}
	if (!addr || !c.cert || !c.key || !c.ca) {
		fprintf(stderr, "mirror ctl: need --addr, --cert, --key and --ca (see --help)\n");
		return 2;
	}
	if (!strcmp(sub, "submit")) {
		struct mirror_job_status st;
		char *text;
		size_t len;

		if (!order) {
			fprintf(stderr, "mirror ctl submit: need --order FILE\n");
			return 2;
		}
		r = read_file_all(order, 64 << 20, &text, &len);
		if (r) {
			fprintf(stderr, "mirror ctl submit: cannot read %s: %s\n", order, strerror(-r));
			return 1;
		}
		r = mirror_ctl_submit(&c, addr, text, len, &st, err, sizeof(err));
		free(text);
		if (!r)
			print_job(&st);
	} else if (!strcmp(sub, "status")) {
		struct mirror_job_status st;

		if (!id) {
			fprintf(stderr, "mirror ctl status: need --id ORDER-ID\n");
			return 2;
		}
		r = mirror_ctl_status(&c, addr, id, &st, err, sizeof(err));
		if (!r)
			print_job(&st);
	} else if (!strcmp(sub, "primary")) {
		struct mirror_flagcmd fc = { 0 };
		enum mirror_primary now;
		char *text;
		size_t len;

		if (!pop || !host || !set || (strcmp(set, "on") && strcmp(set, "off")) ||
		    !c.order_key) {
			fprintf(stderr, "mirror ctl primary: need --pop, --host, --set on|off and --order-key\n");
			return 2;
		}
		if (snprintf(fc.pop, sizeof(fc.pop), "%s", pop) >= (int)sizeof(fc.pop) ||
		    snprintf(fc.host, sizeof(fc.host), "%s", host) >= (int)sizeof(fc.host) ||
		    mirror_host_check(fc.host)) {
			fprintf(stderr, "mirror ctl primary: bad --pop or --host\n");
			return 2;
		}
		fc.primary = !strcmp(set, "on");
		if (!ttl) {
			/* What the controller calls. */
			r = mirror_ctl_set_primary(&c, addr, fc.pop, fc.host, fc.primary, &now, err,
						   sizeof(err));
		} else {
			fc.expires = (int64_t)time(NULL) + ttl;
			if (fc.expires <= 0)
				fc.expires = 1;
			r = mirror_flagcmd__sign(&fc, c.order_key, &text, &len);
			if (!r) {
				r = mirror_ctl_send_primary(&c, addr, text, len, &now, err,
							    sizeof(err));
				free(text);
			} else {
				snprintf(err, sizeof(err), "cannot sign with %s", c.order_key);
			}
		}
		if (!r && json)
			printf("{\"pop\":\"%s\",\"host\":\"%s\",\"state\":\"%s\"}\n", fc.pop, fc.host,
			       pname[now]);
		else if (!r)
			printf("%s at %s: %s\n", fc.host, fc.pop, pname[now]);
	} else if (!strcmp(sub, "hot")) {
		struct mirror_hot_item *it;
		size_t ni;

		r = mirror_ctl_hot(&c, addr, host, (size_t)n, &it, &ni, err, sizeof(err));
		if (!r) {
			if (json)
				printf("{\"items\":[");
			else
				printf("%4s %10s %12s  %-64s  %s\n", "rank", "req/s", "size", "sha256",
				       "host/path");
			for (size_t i = 0; i < ni; i++) {
				char hex[65];

				mirror_hex(it[i].sha, 32, hex);
				if (json) {
					printf("%s{\"path\":", i ? "," : "");
					json_str(stdout, it[i].path);
					printf(",\"size\":%llu,\"rate\":%.4f,\"sha256\":\"%s\"}",
					       (unsigned long long)it[i].size, it[i].rate, hex);
				} else {
					printf("%4zu %10.3f %12llu  %s  %s\n", i + 1, it[i].rate,
					       (unsigned long long)it[i].size, hex, it[i].path);
				}
			}
			if (json)
				printf("]}\n");
			free(it);
		}
	} else if (!strcmp(sub, "manifest")) {
		struct mirror_manifest m;

		if (!host) {
			fprintf(stderr, "mirror ctl manifest: need --host NAME\n");
			return 2;
		}
		r = mirror_ctl_manifest(&c, addr, host, &m, err, sizeof(err));
		if (!r) {
			if (json)
				printf("[");
			for (size_t i = 0; i < m.n; i++) {
				char hex[65];

				mirror_hex(m.v[i].sha, 32, hex);
				if (json) {
					printf("%s{\"path\":", i ? "," : "");
					json_str(stdout, m.v[i].path);
					printf(",\"size\":%llu,\"version\":%u,\"sha256\":\"%s\"}",
					       (unsigned long long)m.v[i].size, m.v[i].version, hex);
				} else {
					printf("%s %12llu v%-4u %s\n", hex,
					       (unsigned long long)m.v[i].size, m.v[i].version,
					       m.v[i].path);
				}
			}
			if (json)
				printf("]\n");
			mirror_manifest__clear(&m);
		}
	} else {
		fprintf(stderr, "mirror ctl: unknown command '%s' (submit, status, primary, hot, manifest)\n",
			sub);
		return 2;
	}
	if (r) {
		fprintf(stderr, "mirror ctl %s: %s [%s, code %d]\n", sub, err[0] ? err : addr,
			mirror_strerror(r), r);
		if (json) {
			printf("{\"error\":");
			json_str(stdout, mirror_strerror(r));
			printf(",\"code\":%d,\"message\":", r);
			json_str(stdout, err);
			printf("}\n");
		}
		return 1;
	}
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} subs[] = {
	{ "sign", cmd_sign, "write a signed transfer order (controller key)" },
	{ "pull", cmd_pull, "execute an order as its destination, showing progress" },
	{ "manifest", cmd_manifest, "rescan a store and print its manifest" },
	{ "top", cmd_top, "hottest content from an access log, with rates" },
	{ "plan", cmd_plan, "choose destination and items for an at-risk POP" },
	{ "list", ctl_cmd_mirror_list, "the controller's mirror orders and their jobs" },
	{ "primary", cmd_primary, "show or set whether this POP is primary for a host" },
	{ "ctl", cmd_ctl, "send the controller's commands to a POP's agent (mirrord run)" },
};

static int cmd_mirror(int argc, char **argv)
{
	json = cli_json;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("Usage: presage mirror SUBCOMMAND [ARGS...] (each takes --help)\n\n");
		for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			printf("  %-9s %s\n", subs[i].name, subs[i].summary);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "presage mirror: unknown subcommand '%s' (see presage mirror --help)\n",
		argv[1]);
	return 2;
}

CLI_COMMAND(mirror, "mirror", "content mirroring between POPs: sign, pull, top, plan, primary",
	    cmd_mirror);
