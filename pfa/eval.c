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
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_horizons = 1;
	cfg->horizon_s[0] = 900;
	cfg->thr[PFA_DET_PFA] = 0.5;
	cfg->thr[PFA_DET_THRESH] = 1.0;
	cfg->thr[PFA_DET_ZSCORE] = 4.0;
	cfg->fa_target = 0.5;
	cfg->refractory_s = 300;
	cfg->skip_s = 3600;
	cfg->recovery_s = 180;
}

/*
 * Samples of one link, in chunks so that growing never copies and never
 * wastes more than a chunk: per sample a u32 (seconds since the link's
 * first sample << 2 | failure state) and the scores (n_scores floats).
 * Failure state: 0 judged, 1 in failure, 2 recovering (set by finish).
 */
#define CHUNK_SHIFT 12
#define CHUNK (1u << CHUNK_SHIFT)
#define TF_MAX_DT ((1u << 30) - 1)

struct elink {
	int64_t first, last;
	size_t n;
	uint32_t **tf;
	float **sc;
	size_t n_chunks, chunk_cap;
};

struct onset {
	int64_t ts;
	uint32_t link;
	bool pre, planned;
};

struct pfa_eval {
	struct pfa_eval_cfg cfg;
	unsigned n_scores; /* n_horizons + 2 */
	struct elink *links;
	uint32_t n_links, links_cap;
	size_t n;
	struct onset *o;
	size_t no, ocap;
	bool marked; /* recovery samples marked */
};

struct pfa_eval *pfa_eval__new(const struct pfa_eval_cfg *cfg)
{
	struct pfa_eval *e;

	if (cfg->n_horizons < 1 || cfg->n_horizons > PFA_MAX_HORIZONS) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->cfg = *cfg;
	e->n_scores = cfg->n_horizons + 2;
	return e;
}

void pfa_eval__free(struct pfa_eval *e)
{
	if (!e)
		return;
	for (uint32_t l = 0; l < e->n_links; l++) {
		for (size_t c = 0; c < e->links[l].n_chunks; c++) {
			free(e->links[l].tf[c]);
			free(e->links[l].sc[c]);
		}
		free(e->links[l].tf);
		free(e->links[l].sc);
	}
	free(e->links);
	free(e->o);
	free(e);
}

size_t pfa_eval__bytes(const struct pfa_eval *e)
{
	size_t n = sizeof(*e) + e->links_cap * sizeof(struct elink) + e->ocap * sizeof(struct onset);

	for (uint32_t l = 0; l < e->n_links; l++)
		n += e->links[l].n_chunks * CHUNK * (4 + 4 * (size_t)e->n_scores) +
		     e->links[l].chunk_cap * 2 * sizeof(void *);
	return n;
}

static inline uint32_t *tf_at(const struct elink *k, size_t i)
{
	return &k->tf[i >> CHUNK_SHIFT][i & (CHUNK - 1)];
}

static inline float *sc_at(const struct pfa_eval *e, const struct elink *k, size_t i)
{
	return &k->sc[i >> CHUNK_SHIFT][(i & (CHUNK - 1)) * e->n_scores];
}

int pfa_eval__sample_h(struct pfa_eval *e, uint32_t link, int64_t ts, bool fail, const double *p,
		       double thresh, double z)
{
	struct elink *k;
	float *sc;

	if (link >= PFA_MAX_LINKS)
		return -EINVAL;
	if (link >= e->links_cap) {
		uint32_t nc = link + 1 > 2 * e->links_cap ? link + 1 : 2 * e->links_cap;
		struct elink *nl = realloc(e->links, nc * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		memset(nl + e->links_cap, 0, (nc - e->links_cap) * sizeof(*nl));
		e->links = nl;
		e->links_cap = nc;
	}
	if (link >= e->n_links)
		e->n_links = link + 1;
	k = &e->links[link];
	if (k->n && (ts < k->last || ts - k->first > TF_MAX_DT))
		return -EINVAL;
	if (k->n == k->n_chunks * CHUNK) {
		if (k->n_chunks == k->chunk_cap) {
			size_t nc = k->chunk_cap ? k->chunk_cap * 2 : 16;
			uint32_t **ntf = realloc(k->tf, nc * sizeof(*ntf));

			if (!ntf)
				return -ENOMEM;
			k->tf = ntf;
			float **nsc = realloc(k->sc, nc * sizeof(*nsc));

			if (!nsc)
				return -ENOMEM;
			k->sc = nsc;
			k->chunk_cap = nc;
		}
		k->tf[k->n_chunks] = malloc(CHUNK * sizeof(uint32_t));
		k->sc[k->n_chunks] = malloc(CHUNK * e->n_scores * sizeof(float));
		if (!k->tf[k->n_chunks] || !k->sc[k->n_chunks]) {
			free(k->tf[k->n_chunks]);
			free(k->sc[k->n_chunks]);
			return -ENOMEM;
		}
		k->n_chunks++;
	}
	if (!k->n)
		k->first = ts;
	k->last = ts;
	*tf_at(k, k->n) = (uint32_t)(ts - k->first) << 2 | (fail ? 1u : 0u);
	sc = sc_at(e, k, k->n);
	for (unsigned h = 0; h < e->cfg.n_horizons; h++)
		sc[h] = isnan(p[h]) ? 0.0f : (float)p[h];
	sc[e->cfg.n_horizons] = isnan(thresh) ? 0.0f : (float)thresh;
	sc[e->cfg.n_horizons + 1] = isnan(z) ? 0.0f : (float)z;
	k->n++;
	e->n++;
	e->marked = false;
	return 0;
}

int pfa_eval__sample(struct pfa_eval *e, uint32_t link, int64_t ts, bool fail,
		     const double score[PFA_NDET])
{
	if (e->cfg.n_horizons != 1)
		return -EINVAL;
	return pfa_eval__sample_h(e, link, ts, fail, &score[PFA_DET_PFA], score[PFA_DET_THRESH],
				  score[PFA_DET_ZSCORE]);
}

static int onset_add(struct pfa_eval *e, uint32_t link, int64_t ts, bool pre, bool planned)
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
	e->o[e->no++] = (struct onset){ .ts = ts, .link = link, .pre = pre, .planned = planned };
	return 0;
}

int pfa_eval__onset(struct pfa_eval *e, uint32_t link, int64_t ts, bool pre)
{
	return onset_add(e, link, ts, pre, false);
}

int pfa_eval__onset_planned(struct pfa_eval *e, uint32_t link, int64_t ts)
{
	return onset_add(e, link, ts, false, true);
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

/* Everything finish() needs for one horizon. */
struct ctx {
	const struct pfa_eval *e;
	const struct pfa_eval_cfg *cfg;
	uint32_t H;
	unsigned col[PFA_NDET]; /* score column of each detector */
	struct onset *o; /* sorted by link, ts */
	size_t no;
	size_t *ostart;
	uint32_t n_links;
};

static inline int64_t s_ts(const struct elink *k, size_t i)
{
	return k->first + (*tf_at(k, i) >> 2);
}

static inline unsigned s_fail(const struct elink *k, size_t i)
{
	return *tf_at(k, i) & 3;
}

static inline float s_score(const struct ctx *c, const struct elink *k, size_t i, unsigned d)
{
	return sc_at(c->e, k, i)[c->col[d]];
}

/* An onset in (ts, ts + H]? 1: one that is scored; 2: only planned ones; 0: none. */
static int onset_within(const struct ctx *c, uint32_t link, int64_t ts)
{
	int r = 0;

	for (size_t i = c->ostart[link]; i < c->ostart[link + 1]; i++)
		if (c->o[i].ts > ts && c->o[i].ts <= ts + c->H) {
			if (!c->o[i].planned)
				return 1;
			r = 2;
		}
	return r;
}

/* Judged: not failed or recovering, past the first hour, horizon inside the trace, not planned. */
static bool eligible(const struct ctx *c, uint32_t l, size_t i)
{
	const struct elink *k = &c->e->links[l];
	int64_t ts = s_ts(k, i);

	return !s_fail(k, i) && ts >= k->first + c->cfg->skip_s && ts + c->H <= k->last &&
	       onset_within(c, l, ts) != 2;
}

static bool onset_scored(const struct ctx *c, const struct onset *o)
{
	const struct elink *k = &c->e->links[o->link];

	return !o->planned && k->n && o->ts >= k->first + c->cfg->skip_s && o->ts <= k->last;
}

struct sweep {
	uint64_t alarms, tp, fp, predicted, predicted_pre;
	double *lead, *lead_pre;
	size_t nlead, nlead_pre;
};

/* Alarms and event detection for detector @d at threshold @thr. */
static void sweep(const struct ctx *c, unsigned d, double thr, struct sweep *w)
{
	const uint32_t H = c->H;

	w->alarms = w->tp = w->fp = w->predicted = w->predicted_pre = 0;
	w->nlead = w->nlead_pre = 0;
	for (uint32_t l = 0; l < c->n_links; l++) {
		const struct elink *k = &c->e->links[l];
		bool prev = false;
		int64_t refr = INT64_MIN, last = INT64_MIN / 2;

		for (size_t i = 0; i < k->n; i++) {
			int64_t ts = s_ts(k, i);
			bool above;

			if (s_fail(k, i) || ts < k->first + c->cfg->skip_s) {
				prev = false;
				continue;
			}
			above = s_score(c, k, i, d) >= thr;
			/*
			 * A rising edge raises an alarm (at most one per
			 * refractory period); an alarm that stays up is raised
			 * again every horizon, as an operator's pager would
			 * re-notify. Without that, a detector that alarms all
			 * the time would make almost no false alarms.
			 */
			if (above && ((!prev && ts >= refr) || ts >= last + H)) {
				refr = ts + c->cfg->refractory_s;
				last = ts;
				/*
				 * Alarms whose horizon runs past the trace, or
				 * holds only a planned failure, are not judged.
				 */
				if (ts + H <= k->last) {
					int within = onset_within(c, l, ts);

					if (within != 2) {
						w->alarms++;
						if (within)
							w->tp++;
						else
							w->fp++;
					}
				}
			}
			prev = above;
		}
		for (size_t q = c->ostart[l]; q < c->ostart[l + 1]; q++) {
			const struct onset *o = &c->o[q];
			size_t lo = 0, hi = k->n;

			if (!onset_scored(c, o))
				continue;
			/* First sample at or after onset - H. */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (s_ts(k, mid) < o->ts - (int64_t)H)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t i = lo; i < k->n && s_ts(k, i) < o->ts; i++) {
				if (s_fail(k, i) || s_score(c, k, i, d) < thr)
					continue;
				w->predicted++;
				if (w->lead)
					w->lead[w->nlead++] = (double)(o->ts - s_ts(k, i));
				if (o->pre) {
					w->predicted_pre++;
					if (w->lead_pre)
						w->lead_pre[w->nlead_pre++] = (double)(o->ts - s_ts(k, i));
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

/*
 * The minutes after a failure ends are recovery: smoothed inputs still
 * carry the failure, and every detector would alarm on it. They are judged
 * like the failure itself: not at all.
 */
static void mark_recovery(struct pfa_eval *e)
{
	if (e->marked)
		return;
	for (uint32_t l = 0; l < e->n_links; l++) {
		struct elink *k = &e->links[l];
		int64_t last_fail = INT64_MIN / 2;

		for (size_t i = 0; i < k->n; i++) {
			uint32_t *tf = tf_at(k, i);
			int64_t ts = s_ts(k, i);

			if ((*tf & 3) == 1)
				last_fail = ts;
			else if (ts - last_fail <= (int64_t)e->cfg.recovery_s)
				*tf = (*tf & ~3u) | 2;
			else
				*tf &= ~3u;
		}
	}
	e->marked = true;
}

int pfa_eval__finish(struct pfa_eval *e, struct pfa_eval_result *r)
{
	return pfa_eval__finish_h(e, 0, r);
}

int pfa_eval__finish_h(struct pfa_eval *e, unsigned h, struct pfa_eval_result *r)
{
	struct ctx c = { .e = e, .cfg = &e->cfg, .o = e->o, .no = e->no, .n_links = e->n_links };
	struct scored *sc = NULL;
	struct sweep w = { 0 };
	double *cand = NULL;
	uint8_t *y = NULL;
	size_t ne = 0;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (h >= e->cfg.n_horizons)
		return -EINVAL;
	c.H = e->cfg.horizon_s[h];
	c.col[PFA_DET_PFA] = h;
	c.col[PFA_DET_THRESH] = e->cfg.n_horizons;
	c.col[PFA_DET_ZSCORE] = e->cfg.n_horizons + 1;
	r->horizon_s = c.H;
	r->fa_target = e->cfg.fa_target;
	c.ostart = calloc(c.n_links + 2, sizeof(size_t));
	/* Labels per sample, in link order; scores of the judged samples. */
	y = calloc(e->n + 1, 1);
	sc = malloc((e->n + 1) * sizeof(*sc));
	w.lead = malloc((e->no + 1) * sizeof(double));
	w.lead_pre = malloc((e->no + 1) * sizeof(double));
	if (!c.ostart || !y || !sc || !w.lead || !w.lead_pre)
		goto out;

	mark_recovery(e);
	/* Onsets on links that never had a sample cannot be scored. */
	for (size_t i = 0; i < e->no; i++)
		if (e->o[i].link >= c.n_links || !e->links[e->o[i].link].n)
			e->o[i].link = c.n_links; /* sorts last, outside every link */
	if (e->no)
		qsort(e->o, e->no, sizeof(*e->o), cmp_onset);
	for (size_t i = 0, l = 0; l <= c.n_links; l++) {
		c.ostart[l] = i;
		while (i < e->no && e->o[i].link == l)
			i++;
	}
	c.ostart[c.n_links + 1] = e->no;

	/* y: 1 positive, 0 negative, 2 not judged; j runs over all samples in link order. */
	size_t j = 0;

	for (uint32_t l = 0; l < c.n_links; l++) {
		const struct elink *k = &e->links[l];

		for (size_t i = 0; i < k->n; i++, j++) {
			if (!eligible(&c, l, i)) {
				y[j] = 2;
				continue;
			}
			y[j] = onset_within(&c, l, s_ts(k, i)) == 1;
			r->positives += y[j];
			ne++;
		}
	}
	r->samples = e->n;
	r->eligible = ne;
	r->link_days = (double)ne / 86400.0;
	for (size_t q = 0; q < e->no; q++) {
		if (e->o[q].link >= c.n_links)
			continue;
		if (e->o[q].planned) {
			r->events_planned++;
		} else if (onset_scored(&c, &e->o[q])) {
			r->events++;
			r->events_pre += e->o[q].pre;
		}
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
		j = 0;
		for (uint32_t l = 0; l < c.n_links; l++) {
			const struct elink *k = &e->links[l];

			for (size_t i = 0; i < k->n; i++, j++) {
				float v;
				double p;

				if (y[j] == 2)
					continue;
				v = s_score(&c, k, i, d);
				p = d == PFA_DET_PFA ? v : v >= e->cfg.thr[d];
				bsum += (p - y[j]) * (p - y[j]);
				sc[n].score = v;
				sc[n].y = y[j];
				n++;
			}
		}
		rd->brier = n ? bsum / (double)n : NAN;

		/* Average precision; tied scores are one step of the curve. */
		qsort(sc, n, sizeof(*sc), cmp_scored_desc);
		for (size_t i = 0; i < n;) {
			size_t t = i;
			double dtp = 0;

			while (t < n && sc[t].score == sc[i].score) {
				dtp += sc[t].y;
				fp += !sc[t].y;
				t++;
			}
			tp += dtp;
			if (r->positives)
				ap += (tp / (tp + fp)) * (dtp / (double)r->positives);
			i = t;
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
	free(c.ostart);
	free(y);
	free(sc);
	free(w.lead);
	free(w.lead_pre);
	return err;
}
