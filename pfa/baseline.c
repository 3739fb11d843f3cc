// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two detectors PFA is compared with (see eval.h). They are written
 * the way an operator would write them, not tuned to lose: both see
 * smoothed values, as a dashboard or an alert rule would.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/eval.h"

/* Static rule thresholds. */
#define TH_RTT_MS 150.0
#define TH_LOSS 0.01
#define TH_PROBE 0.05
#define TH_UTIL 0.90

enum { M_RTT, M_LOSS, M_PROBE, M_UTIL, M_WD, N_M };

struct base_link {
	bool init[N_M];
	double fast[N_M]; /* 30 s (z-score) averages */
	double mu[N_M], var[N_M]; /* 1 h mean and variance of the averages */
	double m60[N_M]; /* 60 s averages (threshold rule) */
	int64_t last_ts;
};

struct pfa_base {
	struct base_link *l;
	uint32_t n;
};

/* The smallest sigma per metric: below it, z is noise on a flat line. */
static const double sigma_floor[N_M] = { 0.03, 2e-4, 0.01, 0.01, 0.2 };

struct pfa_base *pfa_base__new(void)
{
	return calloc(1, sizeof(struct pfa_base));
}

void pfa_base__free(struct pfa_base *b)
{
	if (!b)
		return;
	free(b->l);
	free(b);
}

int pfa_base__observe(struct pfa_base *b, uint32_t id, const struct pfa_sample *s, double *th,
		      double *zs)
{
	double v[N_M], a30, a60, a3600, score = 0, zmax = 0;
	struct base_link *l;
	int64_t dt;

	if (id >= PFA_MAX_LINKS)
		return -EINVAL;
	if (id >= b->n) {
		uint32_t n = id + 16;
		struct base_link *nl = realloc(b->l, n * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		memset(nl + b->n, 0, (n - b->n) * sizeof(*nl));
		b->l = nl;
		b->n = n;
	}
	l = &b->l[id];
	dt = l->last_ts && s->ts > l->last_ts ? s->ts - l->last_ts : 1;
	l->last_ts = s->ts;
	a30 = 1 - exp(-(double)dt / 30);
	a60 = 1 - exp(-(double)dt / 60);
	a3600 = 1 - exp(-(double)dt / 3600);

	v[M_RTT] = s->rtt_p90_ms > 0 ? s->rtt_p90_ms : s->rtt_p50_ms > 0 ? s->rtt_p50_ms : NAN;
	v[M_LOSS] = s->retrans_out;
	if (!isnan(s->retrans_in) && !(v[M_LOSS] >= s->retrans_in))
		v[M_LOSS] = s->retrans_in;
	v[M_PROBE] = s->probe_loss;
	v[M_UTIL] = s->utilization;
	if (isnan(v[M_UTIL]) && s->capacity_bps > 0 && !isnan(s->rx_bps))
		v[M_UTIL] = fmax(s->rx_bps, isnan(s->tx_bps) ? 0 : s->tx_bps) / s->capacity_bps;
	v[M_WD] = s->withdrawals;

	for (unsigned k = 0; k < N_M; k++) {
		double x = v[k], z, sd;

		if (isnan(x))
			continue;
		if (k == M_RTT)
			x = log(x);
		if (!l->init[k]) {
			l->init[k] = true;
			l->fast[k] = l->mu[k] = x;
			l->m60[k] = v[k];
			l->var[k] = 0;
		}
		l->fast[k] += a30 * (x - l->fast[k]);
		l->m60[k] += a60 * (v[k] - l->m60[k]);
		sd = sqrt(l->var[k]);
		if (sd < sigma_floor[k])
			sd = sigma_floor[k];
		z = (l->fast[k] - l->mu[k]) / sd;
		if (z > zmax)
			zmax = z;
		/* Plain EWMA mean and variance, as textbooks and dashboards have them. */
		{
			double d = l->fast[k] - l->mu[k];

			l->mu[k] += a3600 * d;
			l->var[k] = (1 - a3600) * (l->var[k] + a3600 * d * d);
		}
	}
	if (l->init[M_RTT])
		score = fmax(score, l->m60[M_RTT] / TH_RTT_MS);
	if (l->init[M_LOSS])
		score = fmax(score, l->m60[M_LOSS] / TH_LOSS);
	if (l->init[M_PROBE])
		score = fmax(score, l->m60[M_PROBE] / TH_PROBE);
	if (l->init[M_UTIL])
		score = fmax(score, l->m60[M_UTIL] / TH_UTIL);
	*th = score;
	*zs = zmax;
	return 0;
}
