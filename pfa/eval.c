// SPDX-License-Identifier: GPL-2.0-only
/* Evaluation of PFA and the baselines on one trace; see eval.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/eval.h"

static const char *const det_names[PFA_NDET] = { "pfa", "threshold", "zscore" };

const char *pfa_det__name(unsigned d)
{
	return d < PFA_NDET ? det_names[d] : "?";
}

void pfa_eval_cfg__defaults(struct pfa_eval_cfg *cfg)
{
	cfg->horizon_s = 900;
	cfg->thr[PFA_DET_PFA] = 0.5;
	cfg->thr[PFA_DET_THRESH] = 1.0;
	cfg->thr[PFA_DET_ZSCORE] = 4.0;
	cfg->fa_target = 0.5;
	cfg->refractory_s = 300;
	cfg->skip_s = 3600;
	cfg->recovery_s = 180;
}

/* 20 bytes a sample, so a week of tens of links fits in memory. */
struct esample {
	int64_t ts;
	uint32_t link;
	uint32_t fail;
	float score[PFA_NDET];
};

struct onset {
	int64_t ts;
	uint32_t link;
	bool pre;
};

struct pfa_eval {
	struct pfa_eval_cfg cfg;
	struct esample *s;
	size_t n, cap;
	struct onset *o;
	size_t no, ocap;
	uint32_t n_links;
};

struct pfa_eval *pfa_eval__new(const struct pfa_eval_cfg *cfg)
{
	struct pfa_eval *e = calloc(1, sizeof(*e));

	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->cfg = *cfg;
	return e;
}

void pfa_eval__free(struct pfa_eval *e)
{
	if (!e)
		return;
	free(e->s);
	free(e->o);
	free(e);
}

int pfa_eval__sample(struct pfa_eval *e, uint32_t link, int64_t ts, bool fail,
		     const double score[PFA_NDET])
{
	struct esample *s;

	if (link >= PFA_MAX_LINKS)
		return -EINVAL;
	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 65536;
		struct esample *ns = realloc(e->s, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		e->s = ns;
		e->cap = nc;
	}
	s = &e->s[e->n++];
	s->ts = ts;
	s->link = link;
	s->fail = fail;
	for (unsigned d = 0; d < PFA_NDET; d++)
		s->score[d] = isnan(score[d]) ? 0.0f : (float)score[d];
	if (link >= e->n_links)
		e->n_links = link + 1;
	return 0;
}

int pfa_eval__onset(struct pfa_eval *e, uint32_t link, int64_t ts, bool pre)
{
	if (link >= PFA_MAX_LINKS)
		return -EINVAL;
	if (e->no == e->ocap) {
		size_t nc = e->ocap ? e->ocap * 2 : 256;
		struct onset *no = realloc(e->o, nc * sizeof(*no));

		if (!no)
			return -ENOMEM;
		e->o = no;
		e->ocap = nc;
	}
	e->o[e->no++] = (struct onset){ .ts = ts, .link = link, .pre = pre };
	return 0;
}

static int cmp_onset(const void *a, const void *b)
{
	const struct onset *x = a, *y = b;

	if (x->link != y->link)
		return x->link < y->link ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Everything finish() needs, with samples grouped by link in time order. */
struct ctx {
	const struct pfa_eval_cfg *cfg;
	struct esample *s; /* by link, then ts */
	size_t n;
	size_t *lstart; /* samples of link l: [lstart[l], lstart[l + 1]) */
	int64_t *first, *last; /* per link */
	struct onset *o; /* sorted by link, ts */
	size_t no;
	size_t *ostart;
	uint32_t n_links;
	double link_days;
};

static bool onset_within(const struct ctx *c, uint32_t link, int64_t ts)
{
	/* Is there an onset in (ts, ts + H]? Onsets per link are few. */
	for (size_t i = c->ostart[link]; i < c->ostart[link + 1]; i++)
		if (c->o[i].ts > ts && c->o[i].ts <= ts + c->cfg->horizon_s)
			return true;
	return false;
}

static bool eligible(const struct ctx *c, const struct esample *s)
{
	return !s->fail && s->ts >= c->first[s->link] + c->cfg->skip_s &&
	       s->ts + c->cfg->horizon_s <= c->last[s->link];
}

static bool onset_scored(const struct ctx *c, const struct onset *o)
{
	return o->ts >= c->first[o->link] + c->cfg->skip_s && o->ts <= c->last[o->link];
}

struct sweep {
	uint64_t alarms, tp, fp, predicted, predicted_pre;
	double *lead, *lead_pre;
	size_t nlead, nlead_pre;
};

/* Alarms and event detection for detector @d at threshold @thr. */
static void sweep(const struct ctx *c, unsigned d, double thr, struct sweep *w)
{
	const uint32_t H = c->cfg->horizon_s;

	w->alarms = w->tp = w->fp = w->predicted = w->predicted_pre = 0;
	w->nlead = w->nlead_pre = 0;
	for (uint32_t l = 0; l < c->n_links; l++) {
		bool prev = false;
		int64_t refr = INT64_MIN, last = INT64_MIN / 2;

		for (size_t i = c->lstart[l]; i < c->lstart[l + 1]; i++) {
			const struct esample *s = &c->s[i];
			bool above;

			if (s->fail || s->ts < c->first[l] + c->cfg->skip_s) {
				prev = false;
				continue;
			}
			above = s->score[d] >= thr;
			/*
			 * A rising edge raises an alarm (at most one per
			 * refractory period); an alarm that stays up is raised
			 * again every horizon, as an operator's pager would
			 * re-notify. Without that, a detector that alarms all
			 * the time would make almost no false alarms.
			 */
			if (above && ((!prev && s->ts >= refr) || s->ts >= last + H)) {
				refr = s->ts + c->cfg->refractory_s;
				last = s->ts;
				/* Alarms whose horizon runs past the trace are not judged. */
				if (s->ts + H <= c->last[l]) {
					w->alarms++;
					if (onset_within(c, l, s->ts))
						w->tp++;
					else
						w->fp++;
				}
			}
			prev = above;
		}
		for (size_t k = c->ostart[l]; k < c->ostart[l + 1]; k++) {
			const struct onset *o = &c->o[k];
			size_t lo = c->lstart[l], hi = c->lstart[l + 1];

			if (!onset_scored(c, o))
				continue;
			/* First sample at or after onset - H. */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (c->s[mid].ts < o->ts - (int64_t)H)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t i = lo; i < c->lstart[l + 1] && c->s[i].ts < o->ts; i++) {
				if (c->s[i].fail || c->s[i].score[d] < thr)
					continue;
				w->predicted++;
				if (w->lead)
					w->lead[w->nlead++] = (double)(o->ts - c->s[i].ts);
				if (o->pre) {
					w->predicted_pre++;
					if (w->lead_pre)
						w->lead_pre[w->nlead_pre++] = (double)(o->ts - c->s[i].ts);
				}
				break;
			}
		}
	}
}

static double quantile(double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)floor(q * (double)(n - 1) + 0.5);
	return v[i];
}

/* 64 quantiles in the top 0.5 % of scores, 64 in the top 5 %, 32 below, one above all. */
#define PFA_EVAL_CANDS (64 + 64 + 32 + 2)

struct scored {
	float score;
	uint8_t y;
};

static int cmp_scored_desc(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	return x->score > y->score ? -1 : x->score < y->score;
}

int pfa_eval__finish(struct pfa_eval *e, struct pfa_eval_result *r)
{
	struct ctx c = { .cfg = &e->cfg, .n = e->n, .o = e->o, .no = e->no, .n_links = e->n_links };
	struct scored *sc = NULL;
	struct sweep w = { 0 };
	size_t *fill = NULL, ne = 0;
	double *cand = NULL;
	uint8_t *y = NULL;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	r->fa_target = e->cfg.fa_target;
	c.s = malloc((e->n ? e->n : 1) * sizeof(*c.s));
	c.lstart = calloc(c.n_links + 2, sizeof(size_t));
	c.ostart = calloc(c.n_links + 2, sizeof(size_t));
	fill = calloc(c.n_links + 2, sizeof(size_t));
	c.first = calloc(c.n_links + 1, sizeof(int64_t));
	c.last = calloc(c.n_links + 1, sizeof(int64_t));
	y = calloc(e->n + 1, 1);
	sc = malloc((e->n + 1) * sizeof(*sc));
	w.lead = malloc((e->no + 1) * sizeof(double));
	w.lead_pre = malloc((e->no + 1) * sizeof(double));
	if (!c.s || !c.lstart || !c.ostart || !fill || !c.first || !c.last || !y || !sc || !w.lead ||
	    !w.lead_pre)
		goto out;

	/* Group samples by link (counting sort, stable, so time order stays). */
	for (size_t i = 0; i < e->n; i++)
		c.lstart[e->s[i].link + 1]++;
	for (uint32_t l = 0; l < c.n_links; l++)
		c.lstart[l + 1] += c.lstart[l];
	memcpy(fill, c.lstart, (c.n_links + 1) * sizeof(size_t));
	for (size_t i = 0; i < e->n; i++)
		c.s[fill[e->s[i].link]++] = e->s[i];
	for (uint32_t l = 0; l < c.n_links; l++) {
		if (c.lstart[l] == c.lstart[l + 1])
			continue;
		c.first[l] = c.s[c.lstart[l]].ts;
		c.last[l] = c.s[c.lstart[l + 1] - 1].ts;
	}
	/*
	 * The minutes after a failure ends are recovery: smoothed inputs
	 * still carry the failure, and every detector would alarm on it.
	 * They are judged like the failure itself: not at all.
	 */
	for (uint32_t l = 0; l < c.n_links; l++) {
		int64_t last_fail = INT64_MIN / 2;

		for (size_t i = c.lstart[l]; i < c.lstart[l + 1]; i++) {
			if (c.s[i].fail)
				last_fail = c.s[i].ts;
			else if (c.s[i].ts - last_fail <= (int64_t)e->cfg.recovery_s)
				c.s[i].fail = 2;
		}
	}
	/* Onsets on links that never had a sample cannot be scored. */
	for (size_t i = 0; i < e->no; i++)
		if (e->o[i].link >= c.n_links)
			e->o[i].link = c.n_links; /* sorts last, outside every link */
	if (e->no)
		qsort(e->o, e->no, sizeof(*e->o), cmp_onset);
	for (size_t i = 0, l = 0; l <= c.n_links; l++) {
		c.ostart[l] = i;
		while (i < e->no && e->o[i].link == l)
			i++;
	}
	c.ostart[c.n_links + 1] = e->no;

	for (size_t i = 0; i < c.n; i++) {
		if (!eligible(&c, &c.s[i]))
			continue;
		y[i] = onset_within(&c, c.s[i].link, c.s[i].ts);
		r->positives += y[i];
		ne++;
	}
	r->samples = c.n;
	r->eligible = ne;
	r->link_days = (double)ne / 86400.0;
	for (uint32_t l = 0; l < c.n_links; l++)
		for (size_t k = c.ostart[l]; k < c.ostart[l + 1]; k++)
			if (onset_scored(&c, &c.o[k])) {
				r->events++;
				r->events_pre += c.o[k].pre;
			}

	for (unsigned d = 0; d < PFA_NDET; d++) {
		struct pfa_eval_det *rd = &r->det[d];
		double bsum = 0, ap = 0, tp = 0, fp = 0;
		size_t n = 0, ncand = 0;

		sweep(&c, d, e->cfg.thr[d], &w);
		rd->alarms = w.alarms;
		rd->true_alarms = w.tp;
		rd->false_alarms = w.fp;
		rd->predicted = w.predicted;
		rd->predicted_pre = w.predicted_pre;
		rd->recall = r->events ? (double)w.predicted / (double)r->events : NAN;
		rd->recall_pre = r->events_pre ? (double)w.predicted_pre / (double)r->events_pre : NAN;
		rd->precision = w.alarms ? (double)w.tp / (double)w.alarms : NAN;
		rd->fa_per_day = r->link_days > 0 ? (double)w.fp / r->link_days : NAN;
		rd->lead_med = quantile(w.lead, w.nlead, 0.5);
		rd->lead_p10 = quantile(w.lead, w.nlead, 0.1);
		rd->lead_pre_med = quantile(w.lead_pre, w.nlead_pre, 0.5);

		/*
		 * Brier: PFA's probability as it is; the baselines give no
		 * probability, so their alarm state (0 or 1) stands for one.
		 */
		for (size_t i = 0; i < c.n; i++) {
			double p;

			if (!eligible(&c, &c.s[i]))
				continue;
			p = d == PFA_DET_PFA ? c.s[i].score[d] : c.s[i].score[d] >= e->cfg.thr[d];
			bsum += (p - y[i]) * (p - y[i]);
			sc[n].score = c.s[i].score[d];
			sc[n].y = y[i];
			n++;
		}
		rd->brier = n ? bsum / (double)n : NAN;

		/* Average precision; tied scores are one step of the curve. */
		qsort(sc, n, sizeof(*sc), cmp_scored_desc);
		for (size_t i = 0; i < n;) {
			size_t j = i;
			double dtp = 0;

			while (j < n && sc[j].score == sc[i].score) {
				dtp += sc[j].y;
				fp += !sc[j].y;
				j++;
			}
			tp += dtp;
			if (r->positives)
				ap += (tp / (tp + fp)) * (dtp / (double)r->positives);
			i = j;
		}
		rd->pr_auc = r->positives ? ap : NAN;

		/*
		 * Recall at the common false-alarm rate: among thresholds at
		 * score quantiles (dense in the top 5 % and
		 * denser in the top 0.5 %), the one with the
		 * best recall that makes at most the target of false alarms.
		 * A full scan, not a search: false alarms are not monotonic
		 * in the threshold (a lower one merges alarms), and each
		 * detector deserves its best operating point.
		 */
		free(cand);
		cand = malloc(PFA_EVAL_CANDS * sizeof(double));
		if (!cand)
			goto out;
		for (unsigned k = 0; k < PFA_EVAL_CANDS - 1 && n; k++) {
			double frac = k < 64 ? 0.005 * k / 63.0 :
				      k < 128 ? 0.005 + 0.045 * (k - 63) / 64.0 :
				      0.05 + 0.95 * (k - 127) / 32.0;

			cand[ncand++] = sc[(size_t)(fmin(frac, 1.0) * (double)(n - 1))].score;
		}
		qsort(cand, ncand, sizeof(*cand), cmp_double);
		{
			size_t u = 0;

			for (size_t k = 0; k < ncand; k++)
				if (!u || cand[k] > cand[u - 1])
					cand[u++] = cand[k];
			ncand = u;
		}
		/* Above the top score nothing alarms: some threshold always fits. */
		if (ncand) {
			double top = nextafter(cand[ncand - 1], INFINITY);

			cand[ncand++] = top;
		}
		rd->thr_at_fa = NAN;
		rd->recall_at_fa = rd->fa_at_fa = NAN;
		for (size_t k = 0; k < ncand && r->link_days > 0; k++) {
			double fa, rec;

			sweep(&c, d, cand[k], &w);
			fa = (double)w.fp / r->link_days;
			rec = r->events ? (double)w.predicted / (double)r->events : 0;
			/* The whole curve, for tuning: PFA_EVAL_DEBUG=1 presage replay ... */
			if (getenv("PFA_EVAL_DEBUG"))
				fprintf(stderr, "%s thr %.4g fa %.3f recall %.3f\n", pfa_det__name(d),
					cand[k], fa, rec);
			if (fa > e->cfg.fa_target)
				continue;
			if (isnan(rd->recall_at_fa) || rec > rd->recall_at_fa ||
			    (rec == rd->recall_at_fa && fa < rd->fa_at_fa)) {
				rd->thr_at_fa = cand[k];
				rd->recall_at_fa = rec;
				rd->fa_at_fa = fa;
			}
		}
	}
	err = 0;
out:
	free(cand);
	free(c.s);
	free(c.lstart);
	free(c.ostart);
	free(fill);
	free(c.first);
	free(c.last);
	free(y);
	free(sc);
	free(w.lead);
	free(w.lead_pre);
	return err;
}
