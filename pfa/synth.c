// SPDX-License-Identifier: GPL-2.0-only
/* Synthetic health traces; see synth.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/synth.h"

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, 1), 53 bits. */
static double unif(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double unif_ab(struct rng *r, double a, double b)
{
	return a + (b - a) * unif(r);
}

static double gauss(struct rng *r)
{
	double u = unif(r), v = unif(r);

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static double expo(struct rng *r, double mean)
{
	return -mean * log(1.0 - unif(r));
}

static double poisson(struct rng *r, double lambda)
{
	double l, p = 1.0;
	int k = 0;

	if (lambda <= 0)
		return 0;
	if (lambda > 30)
		return fmax(0, round(lambda + sqrt(lambda) * gauss(r)));
	l = exp(-lambda);
	do {
		k++;
		p *= unif(r);
	} while (p > l);
	return k - 1;
}

static const char *const kind_names[PFA_SK_N] = {
	[PFA_SK_CONGESTION] = "congestion", [PFA_SK_LOSS_RAMP] = "loss_ramp",
	[PFA_SK_BGP] = "bgp",		    [PFA_SK_CUT] = "cut",
	[PFA_SK_FLAP] = "flap",		    [PFA_SK_MAINT] = "maintenance",
};

const char *pfa_synth_kind__name(unsigned k)
{
	return k < PFA_SK_N ? kind_names[k] : "unknown";
}

void pfa_synth__link_name(unsigned i, char *buf, unsigned len)
{
	snprintf(buf, len, "ix%u", i);
}

void pfa_synth_cfg__defaults(struct pfa_synth_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->n_links = 4;
	cfg->start_ts = 1767225600; /* 2026-01-01T00:00:00Z */
	cfg->duration_s = 86400;
	cfg->fail_per_day = 1.0;
	cfg->benign_per_day = 2.0;
	cfg->missing = 0.01;
	cfg->quiet_s = 3600;
}

/* Benign episodes: they look like the start of something, and end well. */
enum {
	B_MILD_CONGESTION = PFA_SK_N,
	B_NEAR_MISS,
	B_LOSS_BLIP,
	B_CHURN_BURST,
	B_RTT_SHIFT,
	B_N,
};

struct episode {
	int64_t start; /* precursor (or benign episode) starts */
	int64_t onset; /* failure begins (failures only) */
	int64_t end; /* failure or episode ends */
	int64_t announce; /* maintenance: known from then on */
	uint8_t kind;
	bool precursor;
	double sev;
};

struct slink {
	char name[PFA_LINK_NAME_MAX];
	double base_rtt, cap, u_mean, u_amp, phase, routes_base, churn, loss_base;
	double ar, shift;
	bool was_down;
	struct episode *ep;
	unsigned n_ep, cur;
};

static int add_ep(struct slink *l, unsigned *cap, const struct episode *e)
{
	if (l->n_ep == *cap) {
		unsigned nc = *cap ? *cap * 2 : 16;
		struct episode *ne = realloc(l->ep, nc * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		l->ep = ne;
		*cap = nc;
	}
	l->ep[l->n_ep++] = *e;
	return 0;
}

static int schedule(const struct pfa_synth_cfg *cfg, struct rng *r, struct slink *l)
{
	double rate = cfg->fail_per_day + cfg->benign_per_day;
	int64_t t = cfg->start_ts + cfg->quiet_s, stop = cfg->start_ts + cfg->duration_s;
	unsigned cap = 0;
	int err;

	if (rate <= 0)
		return 0;
	for (;;) {
		struct episode e = { 0 };
		double u;

		t += (int64_t)expo(r, 86400.0 / rate);
		if (t >= stop)
			return 0;
		e.sev = unif_ab(r, 0.6, 1.2);
		if (unif(r) * rate < cfg->fail_per_day) {
			/* Failure mix: most have precursors, some do not. */
			u = unif(r);
			e.kind = u < 0.25 ? PFA_SK_CONGESTION :
				 u < 0.47 ? PFA_SK_LOSS_RAMP :
				 u < 0.67 ? PFA_SK_BGP :
				 u < 0.85 ? PFA_SK_CUT :
				 u < 0.95 ? PFA_SK_FLAP : PFA_SK_MAINT;
			e.start = t;
			e.precursor = true;
			switch (e.kind) {
			case PFA_SK_CONGESTION:
			case PFA_SK_LOSS_RAMP:
				e.onset = t + (int64_t)unif_ab(r, 600, 1500);
				break;
			case PFA_SK_BGP:
				e.onset = t + (int64_t)unif_ab(r, 420, 1200);
				break;
			case PFA_SK_MAINT:
				e.onset = t;
				e.announce = t - (int64_t)unif_ab(r, 1800, 6 * 3600);
				break;
			default:
				e.onset = t;
				e.precursor = false;
			}
			if (e.kind == PFA_SK_FLAP) {
				/* A burst of short outages; after the first, flapping is the sign. */
				unsigned n = 3 + (unsigned)(unif(r) * 4);
				int64_t s = e.onset;

				for (unsigned i = 0; i < n; i++) {
					e.start = e.onset = s;
					e.end = s + (int64_t)unif_ab(r, 4, 40);
					e.precursor = i > 0;
					err = add_ep(l, &cap, &e);
					if (err)
						return err;
					s = e.end + (int64_t)unif_ab(r, 120, 420);
				}
				t = s;
				continue;
			}
			e.end = e.onset + (int64_t)(e.kind == PFA_SK_MAINT ? unif_ab(r, 900, 3600) :
						    unif_ab(r, 60, 1200));
		} else {
			u = unif(r);
			e.kind = u < 0.3 ? B_MILD_CONGESTION :
				 u < 0.5 ? B_NEAR_MISS :
				 u < 0.7 ? B_LOSS_BLIP :
				 u < 0.9 ? B_CHURN_BURST : B_RTT_SHIFT;
			e.start = e.onset = t;
			e.end = t + (int64_t)(e.kind == B_MILD_CONGESTION ? unif_ab(r, 1200, 3000) :
					      e.kind == B_NEAR_MISS ? unif_ab(r, 900, 1800) :
					      e.kind == B_LOSS_BLIP ? unif_ab(r, 120, 480) :
					      e.kind == B_CHURN_BURST ? unif_ab(r, 60, 300) : 1);
			e.onset = 0;
		}
		err = add_ep(l, &cap, &e);
		if (err)
			return err;
		/* Room to recover before the next episode. */
		t = e.end + 1200;
	}
}

static int emit_events(const struct pfa_synth_cfg *cfg, struct slink *links, pfa_synth_event_fn ev,
		       void *ctx)
{
	unsigned *pos = calloc(cfg->n_links, sizeof(*pos));
	int ret = 0;

	if (!pos)
		return -ENOMEM;
	/* Merge the per-link lists by onset (ties: lower link first). */
	for (;;) {
		struct pfa_synth_event e;
		unsigned best = cfg->n_links;
		int64_t bt = INT64_MAX;

		for (unsigned i = 0; i < cfg->n_links; i++) {
			struct slink *l = &links[i];

			while (pos[i] < l->n_ep && l->ep[pos[i]].kind >= PFA_SK_N)
				pos[i]++;
			if (pos[i] < l->n_ep && l->ep[pos[i]].onset < bt) {
				bt = l->ep[pos[i]].onset;
				best = i;
			}
		}
		if (best == cfg->n_links)
			break;
		const struct episode *p = &links[best].ep[pos[best]++];

		e = (struct pfa_synth_event){ .ts = p->onset, .link = best, .kind = p->kind,
					      .precursor = p->precursor };
		ret = ev(ctx, &e, links[best].name);
		if (ret)
			break;
	}
	free(pos);
	return ret;
}

static void gen_sample(const struct pfa_synth_cfg *cfg, struct rng *r, struct slink *l, int64_t t,
		       struct pfa_sample *s)
{
	double util, q, loss, probe_p, wd, ann, routes, sd = 0.05, rtt, lost = 0;
	struct episode *e;
	bool down = false;

	pfa_sample__init(s);
	memcpy(s->link, l->name, sizeof(s->link));
	s->ts = t;

	while (l->cur < l->n_ep && l->ep[l->cur].end < t)
		l->cur++;
	e = l->cur < l->n_ep ? &l->ep[l->cur] : NULL;

	l->ar = 0.998 * l->ar + 0.004 * gauss(r);
	util = l->u_mean + l->u_amp * sin(2 * M_PI * ((double)t + l->phase) / 86400.0) + l->ar;
	util = fmin(fmax(util, 0.02), 0.9);
	q = 0.08 * util * util / (1.0 - util);
	loss = l->loss_base * exp(0.5 * gauss(r));
	probe_p = 0.002;
	wd = ann = l->churn * 0.5;
	routes = l->routes_base;

	if (e && t >= e->start) {
		double f = e->onset > e->start ? (double)(t - e->start) / (double)(e->onset - e->start)
					       : 1.0;
		double g = e->end > e->start ? (double)(t - e->start) / (double)(e->end - e->start) : 1;
		double b = sin(M_PI * fmin(g, 1.0)), sev = e->sev;

		if (e->kind < PFA_SK_N && t >= e->onset) {
			down = true;
		} else {
			switch (e->kind) {
			case PFA_SK_CONGESTION:
				util += (0.99 - util) * pow(f, 1.5);
				q += 2.2 * sev * f * f;
				loss += 0.03 * sev * f * f;
				probe_p += 0.15 * sev * f * f;
				break;
			case PFA_SK_LOSS_RAMP:
				loss += 0.05 * sev * f * f;
				probe_p += 0.25 * sev * f * f;
				sd *= 1 + 3 * f;
				q += 0.3 * f;
				break;
			case PFA_SK_BGP:
				wd += 25 * sev * f * f;
				ann += 6 * f;
				routes *= 1 - 0.35 * sev * f;
				q += 0.2 * f;
				break;
			case B_MILD_CONGESTION:
				util += (0.93 - util) * b;
				q += 0.7 * sev * b;
				loss += 0.004 * b;
				probe_p += 0.03 * b;
				break;
			case B_NEAR_MISS:
				util += (0.97 - util) * b;
				q += 1.3 * sev * b * b;
				loss += 0.012 * sev * b * b;
				probe_p += 0.06 * b * b;
				break;
			case B_LOSS_BLIP:
				loss += 0.02 * sev * b;
				probe_p += 0.06 * b;
				break;
			case B_CHURN_BURST:
				wd += 12 * sev * b;
				ann += 12 * sev * b;
				routes *= 1 - 0.1 * b;
				break;
			case B_RTT_SHIFT:
				/* A reroute: the link's normal moves for good. */
				l->shift = unif_ab(r, 0.7, 1.6);
				e->kind = B_N; /* applied once */
				break;
			default:
				break;
			}
		}
	}
	for (unsigned i = l->cur; i < l->n_ep && i < l->cur + 8; i++)
		if (l->ep[i].kind == PFA_SK_MAINT && t >= l->ep[i].announce && t < l->ep[i].start)
			s->maint_in_s = (double)(l->ep[i].start - t);
		else if (l->ep[i].kind == PFA_SK_MAINT && t >= l->ep[i].start && t < l->ep[i].end)
			s->maint_in_s = 0;

	util = fmin(util, 1.0);
	s->capacity_bps = l->cap;
	if (down) {
		s->link_up = 0;
		s->rtt_count = 0;
		s->probe_loss = 1;
		s->rx_bps = s->tx_bps = 0;
		s->routes = 0;
		s->withdrawals = l->was_down ? 0 : l->routes_base;
		s->announcements = 0;
		l->was_down = true;
		return;
	}
	s->link_up = 1;
	rtt = l->base_rtt * l->shift * (1 + q) * exp(sd * gauss(r));
	s->rtt_count = floor(50 + 400 * util);
	s->rtt_p90_ms = rtt;
	s->rtt_p50_ms = rtt * 0.8;
	s->retrans_out = fmin(loss, 1.0);
	for (int i = 0; i < 10; i++)
		lost += unif(r) < probe_p;
	s->probe_loss = lost / 10;
	s->rx_bps = util * l->cap * (1 + 0.02 * gauss(r));
	s->tx_bps = s->rx_bps * 0.1;
	if (s->rx_bps < 0)
		s->rx_bps = 0;
	s->withdrawals = poisson(r, wd);
	s->announcements = poisson(r, ann) + (l->was_down ? l->routes_base : 0);
	s->routes = round(routes);
	l->was_down = false;
	if (unif(r) < cfg->missing) {
		s->rtt_p90_ms = s->rtt_p50_ms = NAN;
		s->rtt_count = 0;
	}
	if (unif(r) < cfg->missing / 2)
		s->probe_loss = NAN;
}

int pfa_synth__run(const struct pfa_synth_cfg *cfg, pfa_synth_sample_fn fn, pfa_synth_event_fn ev,
		   void *ctx)
{
	struct slink *links;
	struct rng r;
	int ret = 0;

	if (!cfg->n_links || cfg->n_links > PFA_MAX_LINKS || cfg->start_ts <= 0 ||
	    !(cfg->missing >= 0 && cfg->missing < 1) || !(cfg->fail_per_day >= 0) ||
	    !(cfg->benign_per_day >= 0) || cfg->fail_per_day + cfg->benign_per_day > 200)
		return -EINVAL;
	links = calloc(cfg->n_links, sizeof(*links));
	if (!links)
		return -ENOMEM;
	rng_seed(&r, cfg->seed);
	for (unsigned i = 0; i < cfg->n_links; i++) {
		struct slink *l = &links[i];

		pfa_synth__link_name(i, l->name, sizeof(l->name));
		l->base_rtt = exp(unif_ab(&r, log(5), log(80)));
		l->cap = unif(&r) < 0.5 ? 10e9 : 100e9;
		l->u_mean = unif_ab(&r, 0.3, 0.5);
		l->u_amp = unif_ab(&r, 0.1, 0.25);
		l->phase = unif_ab(&r, 0, 86400);
		l->routes_base = round(exp(unif_ab(&r, log(1000), log(900000))));
		l->churn = unif_ab(&r, 0.05, 0.5);
		l->loss_base = exp(unif_ab(&r, log(1e-4), log(1e-3)));
		l->shift = 1;
		ret = schedule(cfg, &r, l);
		if (ret)
			goto out;
	}
	if (ev) {
		ret = emit_events(cfg, links, ev, ctx);
		if (ret)
			goto out;
	}
	for (int64_t t = cfg->start_ts; t < cfg->start_ts + cfg->duration_s; t++) {
		for (unsigned i = 0; i < cfg->n_links; i++) {
			struct pfa_sample s;

			gen_sample(cfg, &r, &links[i], t, &s);
			/* A tick the agent did not report at all. */
			if (unif(&r) < cfg->missing / 5)
				continue;
			if (fn) {
				ret = fn(ctx, &s);
				if (ret)
					goto out;
			}
		}
	}
out:
	for (unsigned i = 0; i < cfg->n_links; i++)
		free(links[i].ep);
	free(links);
	return ret;
}
