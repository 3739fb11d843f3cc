// SPDX-License-Identifier: GPL-2.0-only
/*
 * `presage replay`: run a recorded (or synthetic) health trace through PFA
 * and the two baselines, write the probability of every sample, and print
 * how each would have done (see pfa/eval.h for the metrics).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "pfa/csv.h"
#include "pfa/eval.h"

/* Problems of one kind printed before the rest are only counted. */
#define REPORT_MAX 20

struct ev {
	int64_t ts;
	char link[PFA_LINK_NAME_MAX];
	bool pre;
};

struct replay {
	const char *path;
	struct pfa_model *m;
	struct pfa_base *base;
	struct pfa_eval *eval;
	FILE *out;
	bool out_json;
	struct ev *ev;
	size_t n_ev, next_ev;
	uint64_t n_reported, n_dup, n_old, n_other, n_samples, n_onsets, n_maint;
	int64_t first_ts, last_ts;
	int err;
};

static void csv_problem(void *ctx, uint64_t line, const char *msg)
{
	struct replay *r = ctx;

	if (++r->n_reported <= REPORT_MAX)
		pr_warn("%s:%llu: %s", r->path, (unsigned long long)line, msg);
	else if (r->n_reported == REPORT_MAX + 1)
		pr_warn("%s: more problems; only counted from here on", r->path);
}

static void write_pred(struct replay *r, const struct pfa_sample *s, const struct pfa_output *o)
{
	const struct pfa_config *cfg = pfa_model__config(r->m);

	if (r->out_json) {
		fprintf(r->out, "{\"ts\":%lld,\"link\":\"%s\",\"in_failure\":%s,\"pred\":[",
			(long long)s->ts, s->link, o->in_failure ? "true" : "false");
		for (unsigned h = 0; h < o->n_pred; h++) {
			const struct pfa_pred *p = &o->pred[h];

			fprintf(r->out, "%s{\"horizon_s\":%u,\"p\":%.6g,\"why\":[", h ? "," : "",
				p->horizon_s, p->p);
			for (unsigned k = 0; k < PFA_TOP_K && p->top[k].feature; k++)
				fprintf(r->out, "%s{\"feature\":\"%s\",\"value\":%.4g,\"contribution\":%.4g}",
					k ? "," : "", pfa_feature__name(p->top[k].feature),
					p->top[k].value, p->top[k].contribution);
			fputs("]}", r->out);
		}
		fputs("]}\n", r->out);
		return;
	}
	fprintf(r->out, "%lld,%s,%d", (long long)s->ts, s->link, o->in_failure);
	for (unsigned h = 0; h < cfg->n_horizons; h++) {
		const struct pfa_pred *p = &o->pred[h];

		fprintf(r->out, ",%.6g", p->p);
		for (unsigned k = 0; k < PFA_TOP_K; k++) {
			if (p->top[k].feature)
				fprintf(r->out, ",%s,%.4g", pfa_feature__name(p->top[k].feature),
					p->top[k].contribution);
			else
				fputs(",,", r->out);
		}
	}
	fputc('\n', r->out);
}

static int replay_row(void *ctx, const struct pfa_sample *s, uint64_t line)
{
	struct replay *r = ctx;
	struct pfa_output o;
	double p[PFA_MAX_HORIZONS], thresh, z;
	int err;

	/* Failures from the event file reach the model when the trace gets there. */
	while (r->next_ev < r->n_ev && r->ev[r->next_ev].ts <= s->ts) {
		struct ev *e = &r->ev[r->next_ev++];

		err = pfa_model__label_failure(r->m, e->link, e->ts);
		if (err && err != -ENOENT)
			return err;
	}
	err = pfa_model__observe(r->m, s, &o);
	if (err == -EEXIST || err == -ERANGE) {
		if (err == -EEXIST)
			r->n_dup++;
		else
			r->n_old++;
		if (++r->n_reported <= REPORT_MAX)
			pr_warn("%s:%llu: %s timestamp %lld of link %s: sample ignored", r->path,
				(unsigned long long)line, err == -EEXIST ? "duplicate" : "out-of-order",
				(long long)s->ts, s->link);
		return 0;
	}
	if (err == -EINVAL) {
		r->n_other++;
		return 0;
	}
	if (err) {
		pr_err("%s:%llu: %s", r->path, (unsigned long long)line, strerror(-err));
		return err;
	}
	r->n_samples++;
	if (!r->first_ts || s->ts < r->first_ts)
		r->first_ts = s->ts;
	if (s->ts > r->last_ts)
		r->last_ts = s->ts;
	if (o.onset && !r->ev) {
		r->n_onsets++;
		err = o.planned ? pfa_eval__onset_planned(r->eval, o.link_id, o.onset_ts) :
				  pfa_eval__onset(r->eval, o.link_id, o.onset_ts, true);
		if (err)
			return err;
	}
	for (unsigned h = 0; h < o.n_pred; h++)
		p[h] = o.pred[h].p;
	err = pfa_base__observe(r->base, o.link_id, s, &thresh, &z);
	if (!err)
		err = pfa_eval__sample_h(r->eval, o.link_id, s->ts, o.in_failure, p, thresh, z);
	if (err)
		return err;
	if (r->out)
		write_pred(r, s, &o);
	return 0;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return strcmp(x->link, y->link);
}

/* ts,link[,kind[,precursor]] with an optional header line. */
static int read_events(struct replay *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;
	unsigned long long ln = 0;

	if (!f) {
		pr_err("replay: cannot open events file %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *ts_s, *link, *kind, *pre, *end, *save = NULL;
		long long ts;

		ln++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#' || (ln == 1 && !strncmp(line, "ts,", 3)))
			continue;
		ts_s = strtok_r(line, ",", &save);
		link = strtok_r(NULL, ",", &save);
		kind = strtok_r(NULL, ",", &save);
		pre = strtok_r(NULL, ",", &save);
		errno = 0;
		ts = ts_s ? strtoll(ts_s, &end, 10) : 0;
		if (!ts_s || *end || errno || ts <= 0 || !link || !link[0] ||
		    strlen(link) >= PFA_LINK_NAME_MAX) {
			pr_warn("%s:%llu: not ts,link[,kind[,precursor]]: line skipped", path, ln);
			continue;
		}
		if (r->n_ev == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct ev *ne = realloc(r->ev, nc * sizeof(*ne));

			if (!ne) {
				fclose(f);
				return -ENOMEM;
			}
			r->ev = ne;
			cap = nc;
		}
		memset(&r->ev[r->n_ev], 0, sizeof(r->ev[0]));
		r->ev[r->n_ev].ts = ts;
		strcpy(r->ev[r->n_ev].link, link);
		/* A cut has no precursor by definition; else trust the column. */
		r->ev[r->n_ev].pre = pre ? strcmp(pre, "0") != 0 : !(kind && !strcmp(kind, "cut"));
		r->n_ev++;
	}
	fclose(f);
	if (r->n_ev)
		qsort(r->ev, r->n_ev, sizeof(*r->ev), cmp_ev);
	else if (!r->ev)
		r->ev = malloc(1); /* an empty file still means "no derived failures" */
	return r->ev ? 0 : -ENOMEM;
}

/* link,start,end (Unix seconds) with an optional header line; into the model's calendar. */
static int read_maintenance(struct replay *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned long long ln = 0;

	if (!f) {
		pr_err("replay: cannot open maintenance file %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *link, *a, *b, *end1 = NULL, *end2 = NULL, *save = NULL;
		long long start = 0, stop = 0;
		int err;

		ln++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#' || (ln == 1 && !strncmp(line, "link,", 5)))
			continue;
		link = strtok_r(line, ",", &save);
		a = strtok_r(NULL, ",", &save);
		b = strtok_r(NULL, ",", &save);
		errno = 0;
		if (a)
			start = strtoll(a, &end1, 10);
		if (b)
			stop = strtoll(b, &end2, 10);
		if (!link || !a || !b || *end1 || *end2 || errno || strtok_r(NULL, ",", &save)) {
			pr_warn("%s:%llu: not link,start,end (Unix seconds): line skipped", path, ln);
			continue;
		}
		err = pfa_model__maintenance_add(r->m, link, start, stop);
		if (err == -EINVAL) {
			pr_warn("%s:%llu: need a link name of 1 to %d bytes and 0 < start < end: "
				"line skipped", path, ln, PFA_LINK_NAME_MAX - 1);
			continue;
		}
		if (err == -EEXIST) {
			pr_warn("%s:%llu: the same window again: line skipped", path, ln);
			continue;
		}
		if (err) {
			pr_err("%s:%llu: %s (at most %d windows)", path, ln, strerror(-err),
			       PFA_MAINT_MAX);
			fclose(f);
			return err;
		}
		r->n_maint++;
	}
	fclose(f);
	return 0;
}

/* The failure definition file: errors name their line; replay stops on one. */
static int read_failure_config(struct pfa_config *cfg, const char *path)
{
	char *buf = NULL, msg[256];
	size_t len = 0;
	int err = read_file_all(path, 1 << 20, &buf, &len);

	if (err) {
		pr_err("replay: cannot read failure definition %s: %s", path, strerror(-err));
		return err;
	}
	err = pfa_config__parse(cfg, buf, len, msg, sizeof(msg));
	free(buf);
	if (err)
		pr_err("replay: %s:%s (see docs/pfa.md, \"Failure definition\")", path, msg + 5);
	return err;
}

static void replay_usage(FILE *f)
{
	fprintf(f,
		"Usage: presage replay [OPTIONS] TRACE.csv\n"
		"Run a health trace through PFA and two baselines (static threshold rule,\n"
		"EWMA z-score), print how each would have predicted the failures.\n"
		"TRACE.csv: header line, columns ts,link,rtt_ms,loss,probe_loss,rx_bps,tx_bps,\n"
		"capacity_bps,routes,withdrawals,link_up (any but ts and link may be absent);\n"
		"'-' reads standard input.\n\n"
		"  -e, --events FILE     failure onsets ts,link[,kind[,precursor]]; default:\n"
		"                        failures derived from the failure definition\n"
		"  -H, --horizon S       horizon in seconds, 300..1800, repeatable (max 4);\n"
		"                        each is evaluated (default 900)\n"
		"  -M, --maintenance FILE  planned windows link,start,end (Unix seconds):\n"
		"                        the maintenance feature, and failures inside them\n"
		"                        are planned (they train, but are not scored)\n"
		"  -o, --out FILE        probability per sample: CSV, or JSON lines with -j\n"
		"  -m, --model FILE      start from this model state; a corrupt or foreign\n"
		"                        file is refused and the defaults are used\n"
		"  -s, --save FILE       save the model state afterwards (atomic)\n"
		"      --no-learn        keep the weights fixed\n"
		"      --threshold P     PFA alarm probability (default 0.5)\n"
		"      --fa-target N     false alarms per link-day at which recalls are\n"
		"                        compared (default 0.5)\n"
		"      --eval-memory     print the bytes the evaluation holds (standard error)\n"
		"Failure definition (also used to label predictions for learning); options\n"
		"apply in order, so a flag after --failure-config overrides the file:\n"
		"  -F, --failure-config FILE  link-down, probe-loss, rtt-p90, routes-drop,\n"
		"                        clear, horizons (format in docs/pfa.md)\n"
		"      --fail-probe-loss PCT:SECS  probe loss >= PCT %% for SECS (default 50:30)\n"
		"      --fail-rtt K:SECS           RTT p90 >= K x baseline for SECS (default 5:60)\n"
		"      --fail-routes PCT           routes fall by PCT %% (default 60)\n"
		"      --fail-clear SECS           clear this long to end a failure (default 60)\n"
		"      --no-fail-down              link down alone is not a failure\n"
		"  -j, --json            summary (and --out) as JSON\n"
		"  -h, --help            this help\n");
}

static int parse_pair(const char *s, double *a, double *b)
{
	char *end;

	errno = 0;
	*a = strtod(s, &end);
	if (end == s || *end != ':' || errno)
		return -EINVAL;
	s = end + 1;
	*b = strtod(s, &end);
	if (end == s || *end || errno || !(*a >= 0) || !(*b >= 0) || *b > 3600)
		return -EINVAL;
	return 0;
}

/* JSON has no NaN: an undefined figure (no alarms, no events) is -1. */
static double json_num(double v)
{
	return isnan(v) ? -1 : v;
}

static void fmt_s(char *buf, size_t len, double s)
{
	if (isnan(s))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1fmin", s / 60);
}

static void json_horizon(struct replay *r, unsigned h, const struct pfa_eval_result *res,
			 const struct pfa_eval_cfg *ec, FILE *f)
{
	struct pfa_calib cal;

	pfa_model__calibration(r->m, h, &cal);
	fprintf(f, "\"failures\":%llu,\"failures_with_precursor\":%llu,\"failures_planned\":%llu,"
		"\"source\":\"%s\",\"horizon_s\":%u,\"link_days\":%.3f,\"fa_target\":%g,\"detectors\":{",
		(unsigned long long)res->events, (unsigned long long)res->events_pre,
		(unsigned long long)res->events_planned, r->ev ? "events" : "definition",
		res->horizon_s, res->link_days, ec->fa_target);
	for (unsigned d = 0; d < PFA_NDET; d++) {
		const struct pfa_eval_det *x = &res->det[d];

		fprintf(f, "%s\"%s\":{\"recall\":%.4f,\"precision\":%.4f,\"false_alarms_per_day\":%.4f,"
			"\"recall_precursor\":%.4f,\"lead_median_s\":%.0f,\"lead_p10_s\":%.0f,\"lead_precursor_median_s\":%.0f,"
			"\"brier\":%.5f,\"pr_auc\":%.4f,\"recall_at_fa_target\":%.4f,"
			"\"threshold_at_fa_target\":%.4g,\"alarms\":%llu}",
			d ? "," : "", pfa_det__name(d), json_num(x->recall), json_num(x->precision),
			json_num(x->fa_per_day), json_num(x->recall_pre), json_num(x->lead_med),
			json_num(x->lead_p10), json_num(x->lead_pre_med), json_num(x->brier),
			json_num(x->pr_auc), json_num(x->recall_at_fa), json_num(x->thr_at_fa),
			(unsigned long long)x->alarms);
	}
	fprintf(f, "},\"calibration\":{\"labelled\":%llu,\"brier\":%.5f,\"promotions\":%llu}",
		(unsigned long long)cal.n, json_num(cal.brier), (unsigned long long)cal.promotions);
}

static void text_horizon(struct replay *r, unsigned h, const struct pfa_eval_result *res,
			 const struct pfa_eval_cfg *ec, FILE *f)
{
	struct pfa_calib cal;
	double w[PFA_NFEAT];

	pfa_model__calibration(r->m, h, &cal);
	fprintf(f, "failures  %llu scored (%llu with a precursor), from %s; horizon %u s; "
		"%.2f link-days scored", (unsigned long long)res->events,
		(unsigned long long)res->events_pre,
		r->ev ? "the events file" : "the failure definition", res->horizon_s, res->link_days);
	if (res->events_planned)
		fprintf(f, "; %llu planned (in a maintenance window), not scored",
			(unsigned long long)res->events_planned);
	fprintf(f, "\n\n%-10s %7s %7s %7s %7s %8s %8s %9s %8s %7s %s\n", "detector", "recall",
		"rec pre", "prec", "FA/day", "lead p50", "lead p10", "lead pre", "Brier", "PR-AUC",
		"recall@FA");
	for (unsigned d = 0; d < PFA_NDET; d++) {
		const struct pfa_eval_det *x = &res->det[d];
		char l50[16], l10[16], lpre[16];

		fmt_s(l50, sizeof(l50), x->lead_med);
		fmt_s(l10, sizeof(l10), x->lead_p10);
		fmt_s(lpre, sizeof(lpre), x->lead_pre_med);
		fprintf(f, "%-10s %7.3f %7.3f %7.3f %7.2f %8s %8s %9s %8.5f %7.4f %.3f (FA %.2f/day)\n",
			pfa_det__name(d), x->recall, x->recall_pre, x->precision, x->fa_per_day, l50,
			l10, lpre, x->brier, x->pr_auc, x->recall_at_fa, x->fa_at_fa);
	}
	fprintf(f, "\nrec pre: recall of failures with a precursor; lead pre: their median lead\n"
		"recall@FA: recall with each detector's threshold set to make at most %.2f false "
		"alarms per link-day\n", ec->fa_target);
	fprintf(f, "calibration (PFA, %u s, labelled online): %llu predictions, %llu positive, "
		"Brier %.5f; weights replaced by the challenger %llu times\n", res->horizon_s,
		(unsigned long long)cal.n, (unsigned long long)cal.positives, cal.brier,
		(unsigned long long)cal.promotions);
	pfa_model__get_weights(r->m, h, w);
	fprintf(f, "weights after replay:");
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		fprintf(f, "%s %s %.3f", i % 6 ? "" : "\n ", pfa_feature__name(i), w[i]);
	fprintf(f, "\n  bin      n    mean p  observed\n");
	for (unsigned b = 0; b < PFA_CALIB_BINS; b++)
		if (cal.bin_n[b])
			fprintf(f, "  %.1f-%.1f %7llu %8.4f %8.4f\n", b / 10.0, (b + 1) / 10.0,
				(unsigned long long)cal.bin_n[b], cal.bin_p[b], cal.bin_y[b]);
}

/* One block per horizon; JSON keeps the first horizon's figures at the top level. */
static void print_summary(struct replay *r, const struct pfa_csv_stats *st,
			  const struct pfa_eval_result *res, const struct pfa_eval_cfg *ec, FILE *f)
{
	if (cli_json) {
		fprintf(f, "{\"trace\":{\"lines\":%llu,\"samples\":%llu,\"links\":%u,\"bad_lines\":%llu,"
			"\"bad_values\":%llu,\"duplicates\":%llu,\"out_of_order\":%llu,"
			"\"maintenance_windows\":%llu},",
			(unsigned long long)st->lines, (unsigned long long)r->n_samples,
			pfa_model__n_links(r->m), (unsigned long long)st->bad_lines,
			(unsigned long long)st->bad_fields, (unsigned long long)r->n_dup,
			(unsigned long long)r->n_old, (unsigned long long)r->n_maint);
		json_horizon(r, 0, &res[0], ec, f);
		fprintf(f, ",\"horizons\":[");
		for (unsigned h = 0; h < ec->n_horizons; h++) {
			fprintf(f, "%s{", h ? "," : "");
			json_horizon(r, h, &res[h], ec, f);
			fputc('}', f);
		}
		fprintf(f, "]}\n");
		return;
	}
	fprintf(f, "trace     %s: %llu lines, %llu samples, %u links; skipped: %llu bad lines, "
		"%llu duplicate and %llu out-of-order timestamps; %llu bad values dropped\n",
		r->path, (unsigned long long)st->lines, (unsigned long long)r->n_samples,
		pfa_model__n_links(r->m), (unsigned long long)st->bad_lines,
		(unsigned long long)r->n_dup, (unsigned long long)r->n_old,
		(unsigned long long)st->bad_fields);
	for (unsigned h = 0; h < ec->n_horizons; h++) {
		if (h)
			fputc('\n', f);
		text_horizon(r, h, &res[h], ec, f);
	}
}

static int cmd_replay(int argc, char **argv)
{
	enum { O_NO_LEARN = 256, O_THR, O_FA, O_F_PROBE, O_F_RTT, O_F_ROUTES, O_F_CLEAR, O_F_DOWN,
	       O_EVAL_MEM };
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "horizon", required_argument, NULL, 'H' },
		{ "out", required_argument, NULL, 'o' },
		{ "model", required_argument, NULL, 'm' },
		{ "save", required_argument, NULL, 's' },
		{ "no-learn", no_argument, NULL, O_NO_LEARN },
		{ "threshold", required_argument, NULL, O_THR },
		{ "fa-target", required_argument, NULL, O_FA },
		{ "fail-probe-loss", required_argument, NULL, O_F_PROBE },
		{ "fail-rtt", required_argument, NULL, O_F_RTT },
		{ "fail-routes", required_argument, NULL, O_F_ROUTES },
		{ "fail-clear", required_argument, NULL, O_F_CLEAR },
		{ "no-fail-down", no_argument, NULL, O_F_DOWN },
		{ "failure-config", required_argument, NULL, 'F' },
		{ "maintenance", required_argument, NULL, 'M' },
		{ "eval-memory", no_argument, NULL, O_EVAL_MEM },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *ev_path = NULL, *out_path = NULL, *model_path = NULL, *save_path = NULL, *why;
	const char *maint_path = NULL;
	struct replay r = { 0 };
	struct pfa_eval_cfg ec;
	struct pfa_eval_result res[PFA_MAX_HORIZONS];
	struct pfa_csv_stats st;
	struct pfa_config cfg;
	struct pfa_csv *csv = NULL;
	FILE *in = NULL;
	char buf[65536];
	double a, b;
	int c, err, ret = 1;
	bool horizons_given = false, eval_mem = false;

	pfa_config__defaults(&cfg);
	pfa_eval_cfg__defaults(&ec);
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:H:o:m:s:F:M:jh", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'e':
			ev_path = optarg;
			break;
		case 'H':
			if (!horizons_given)
				cfg.n_horizons = 0;
			horizons_given = true;
			if (cfg.n_horizons == PFA_MAX_HORIZONS) {
				pr_err("replay: at most %d horizons", PFA_MAX_HORIZONS);
				return 2;
			}
			cfg.horizon_s[cfg.n_horizons++] = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || end == optarg)
				goto bad;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'F':
			if (read_failure_config(&cfg, optarg))
				return 2;
			break;
		case 'M':
			maint_path = optarg;
			break;
		case O_EVAL_MEM:
			eval_mem = true;
			break;
		case 'm':
			model_path = optarg;
			break;
		case 's':
			save_path = optarg;
			break;
		case O_NO_LEARN:
			cfg.learn = false;
			break;
		case O_THR:
			ec.thr[PFA_DET_PFA] = strtod(optarg, &end);
			if (*end || !(ec.thr[PFA_DET_PFA] > 0 && ec.thr[PFA_DET_PFA] < 1))
				goto bad;
			break;
		case O_FA:
			ec.fa_target = strtod(optarg, &end);
			if (*end || !(ec.fa_target >= 0 && ec.fa_target < 1e6))
				goto bad;
			break;
		case O_F_PROBE:
			if (parse_pair(optarg, &a, &b))
				goto bad;
			cfg.fail.probe_loss_pct = a;
			cfg.fail.probe_loss_s = (uint32_t)b;
			break;
		case O_F_RTT:
			if (parse_pair(optarg, &a, &b))
				goto bad;
			cfg.fail.rtt_k = a;
			cfg.fail.rtt_s = (uint32_t)b;
			break;
		case O_F_ROUTES:
			cfg.fail.routes_drop_pct = strtod(optarg, &end);
			if (*end || end == optarg)
				goto bad;
			break;
		case O_F_CLEAR:
			cfg.fail.clear_s = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || end == optarg)
				goto bad;
			break;
		case O_F_DOWN:
			cfg.fail.link_down = false;
			break;
		case 'j':
			cli_json = true;
			break;
		case 'h':
			replay_usage(stdout);
			return 0;
		default:
			replay_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		pr_err("replay: one trace file expected (see presage replay --help)");
		return 2;
	}
	r.path = argv[optind];
	if (pfa_config__check(&cfg, &why)) {
		pr_err("replay: bad configuration: need %s", why);
		return 2;
	}
	ec.n_horizons = cfg.n_horizons;
	memcpy(ec.horizon_s, cfg.horizon_s, sizeof(ec.horizon_s));
	if (ev_path) {
		/* Known failures label the predictions; the definition still says when a link is failed. */
		cfg.auto_label = false;
		err = read_events(&r, ev_path);
		if (err)
			goto out;
	}
	r.m = pfa_model__new(&cfg);
	r.base = pfa_base__new();
	r.eval = pfa_eval__new(&ec);
	if (!r.m || !r.base || !r.eval) {
		pr_err("replay: out of memory");
		goto out;
	}
	if (maint_path && read_maintenance(&r, maint_path))
		goto out;
	if (model_path) {
		err = pfa_model__load(r.m, model_path);
		if (err)
			pr_warn("replay: model state %s refused (%s); starting from the default weights",
				model_path, pfa_strerror(err));
	}
	if (out_path) {
		r.out_json = cli_json;
		r.out = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
		if (!r.out) {
			pr_err("replay: cannot create %s: %s", out_path, strerror(errno));
			goto out;
		}
		if (!r.out_json) {
			fprintf(r.out, "ts,link,in_failure");
			for (unsigned h = 0; h < cfg.n_horizons; h++) {
				fprintf(r.out, ",p_%u", cfg.horizon_s[h]);
				for (unsigned k = 1; k <= PFA_TOP_K; k++)
					fprintf(r.out, ",why%u_%u,contrib%u_%u", k, cfg.horizon_s[h], k,
						cfg.horizon_s[h]);
			}
			fputc('\n', r.out);
		}
	}
	in = strcmp(r.path, "-") ? fopen(r.path, "r") : stdin;
	if (!in) {
		pr_err("replay: cannot open trace %s: %s", r.path, strerror(errno));
		goto out;
	}
	csv = pfa_csv__new(replay_row, csv_problem, &r);
	if (!csv) {
		pr_err("replay: out of memory");
		goto out;
	}
	for (;;) {
		size_t n = fread(buf, 1, sizeof(buf), in);

		if (n) {
			err = pfa_csv__feed(csv, buf, n);
			if (err)
				break;
		}
		if (n < sizeof(buf)) {
			if (ferror(in)) {
				pr_err("replay: reading %s: %s", r.path, strerror(errno));
				goto out;
			}
			err = pfa_csv__finish(csv);
			break;
		}
	}
	if (err == -EINVAL) {
		pr_err("replay: %s has no usable header (it needs at least the columns ts and link)",
		       r.path);
		goto out;
	}
	if (err) {
		pr_err("replay: %s: %s", r.path, strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < r.n_ev; i++) {
		int id = pfa_model__link_id(r.m, r.ev[i].link);

		if (id < 0)
			continue;
		/* A failure inside a planned window is no surprise: not scored. */
		if (pfa_model__planned(r.m, r.ev[i].link, r.ev[i].ts))
			err = pfa_eval__onset_planned(r.eval, (uint32_t)id, r.ev[i].ts);
		else
			err = pfa_eval__onset(r.eval, (uint32_t)id, r.ev[i].ts, r.ev[i].pre);
		if (err)
			goto out;
	}
	/* For the memory figure in docs/pfa.md: what the evaluation holds. */
	if (eval_mem)
		fprintf(stderr, "evaluation memory: %zu bytes for %llu samples\n",
			pfa_eval__bytes(r.eval), (unsigned long long)r.n_samples);
	for (unsigned h = 0; h < cfg.n_horizons; h++) {
		err = pfa_eval__finish_h(r.eval, h, &res[h]);
		if (err) {
			pr_err("replay: evaluation: %s", strerror(-err));
			goto out;
		}
	}
	pfa_csv__stats(csv, &st);
	if (r.out && r.out != stdout) {
		if (fclose(r.out)) {
			r.out = NULL;
			pr_err("replay: writing %s: %s", out_path, strerror(errno));
			goto out;
		}
		r.out = NULL;
	}
	/* With predictions on standard output, the summary goes to standard error. */
	print_summary(&r, &st, res, &ec, r.out == stdout ? stderr : stdout);
	if (save_path) {
		err = pfa_model__save(r.m, save_path);
		if (err) {
			pr_err("replay: saving model state to %s: %s", save_path, pfa_strerror(err));
			goto out;
		}
	}
	ret = 0;
out:
	if (r.out && r.out != stdout)
		fclose(r.out);
	if (in && in != stdin)
		fclose(in);
	pfa_csv__free(csv);
	pfa_eval__free(r.eval);
	pfa_base__free(r.base);
	pfa_model__free(r.m);
	free(r.ev);
	return ret;
bad:
	pr_err("replay: bad option value '%s' (see presage replay --help)", optarg);
	return 2;
}

CLI_COMMAND(replay, "replay", "replay a health trace through PFA and compare with baselines",
	    cmd_replay);
