// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA model state as bytes: a fixed little-endian layout so a file moves
 * between hosts, a version, the shape it was made for, and a CRC-32 over
 * everything, so a torn, corrupt or foreign file is refused before any
 * weight is touched.
 *
 *   "PFAMODEL" u32 version u32 n_feat u32 n_horizons u32 n_links
 *   per horizon: u32 horizon_s, champion, challenger (each: f64 w[n_feat],
 *                prior[n_feat], g2[n_feat], a, b, g2_a, g2_b, brier_ew,
 *                u64 n_updates), u64 promotions, u64 challenger's failures,
 *                calibration
 *   per link (n_links from the header): its baselines and averages, failure
 *                state and recent onsets, so a restarted controller does
 *                not relearn every link; pending predictions are not kept
 *   u32 crc32 (of all bytes before it)
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/pfa_int.h"

#define PFA_MAGIC "PFAMODEL"
#define PFA_VERSION 1

static uint32_t crc32_le(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

struct wbuf {
	uint8_t *p;
	size_t len;
};

static void put_u32(struct wbuf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(struct wbuf *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_f64(struct wbuf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put_u64(b, v);
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
};

/* Callers check the total length first; these never read past it. */
static uint32_t get_u32(struct rbuf *b)
{
	uint32_t v = 0;

	for (int i = 0; i < 4 && b->off < b->len; i++)
		v |= (uint32_t)b->p[b->off++] << (8 * i);
	return v;
}

static uint64_t get_u64(struct rbuf *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && b->off < b->len; i++)
		v |= (uint64_t)b->p[b->off++] << (8 * i);
	return v;
}

static double get_f64(struct rbuf *b)
{
	uint64_t v = get_u64(b);
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

/* One learner: w, prior, g2, then a, b, g2_a, g2_b, recent Brier, updates. */
#define LEARNER_BYTES (PFA_NFEAT * 8 * 3 + 5 * 8 + 8)

static void put_learner(struct wbuf *b, const struct pfa_learner *l)
{
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		put_f64(b, l->w[i]);
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		put_f64(b, l->prior[i]);
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		put_f64(b, l->g2[i]);
	put_f64(b, l->cal_a);
	put_f64(b, l->cal_b);
	put_f64(b, l->cal_g2[0]);
	put_f64(b, l->cal_g2[1]);
	put_f64(b, l->brier_ew);
	put_u64(b, l->n_updates);
}

static bool weight_ok(double w)
{
	return isfinite(w) && fabs(w) <= PFA_W_MAX;
}

static bool sum_ok(double g)
{
	return isfinite(g) && g >= 0;
}

/* -1 if any value is out of what a learner can hold. */
static int get_learner(struct rbuf *b, struct pfa_learner *l)
{
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		l->w[i] = get_f64(b);
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		l->prior[i] = get_f64(b);
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		l->g2[i] = get_f64(b);
	l->cal_a = get_f64(b);
	l->cal_b = get_f64(b);
	l->cal_g2[0] = get_f64(b);
	l->cal_g2[1] = get_f64(b);
	l->brier_ew = get_f64(b);
	l->n_updates = get_u64(b);
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		if (!weight_ok(l->w[i]) || !weight_ok(l->prior[i]) || !sum_ok(l->g2[i]))
			return -1;
	if (!isfinite(l->cal_a) || fabs(l->cal_a) > PFA_A_MAX || !weight_ok(l->cal_b) ||
	    !sum_ok(l->cal_g2[0]) || !sum_ok(l->cal_g2[1]) || !sum_ok(l->brier_ew) ||
	    l->brier_ew > 1)
		return -1;
	return 0;
}

#define HDR_BYTES (8 + 4 * 4)

/* The averages of a link, in file order. */
#define LINK_F64S 20
#define LINK_BYTES (PFA_LINK_NAME_MAX + 5 * 8 + 4 + 4 + LINK_F64S * 8 + 4 + PFA_ONSETS * 8)

static double *link_f64(struct pfa_link *l, unsigned i)
{
	double *const f[LINK_F64S] = {
		&l->rtt_mu,	 &l->rtt_var,	  &l->f10,	   &l->f60,	    &l->f300,
		&l->dev,	 &l->loss30,	  &l->loss300,	   &l->probe30,	    &l->util60,
		&l->util600,	 &l->churn60,	  &l->churn_base,  &l->wd30,	    &l->wd_base,
		&l->routes10,	 &l->routes_base, &l->recent_fail, &l->flap,	    &l->missing60,
	};

	return f[i];
}

static void put_link(struct wbuf *b, const struct pfa_link *cl)
{
	/* link_f64 hands out pointers; nothing is written through them here. */
	struct pfa_link *l = (struct pfa_link *)cl;

	memset(b->p + b->len, 0, PFA_LINK_NAME_MAX);
	memcpy(b->p + b->len, l->name, strnlen(l->name, PFA_LINK_NAME_MAX - 1));
	b->len += PFA_LINK_NAME_MAX;
	put_u64(b, (uint64_t)l->first_ts);
	put_u64(b, (uint64_t)l->last_ts);
	put_u64(b, (uint64_t)l->next_train_ts);
	put_u64(b, (uint64_t)l->clear_since);
	put_u64(b, (uint64_t)l->fail_end_ts);
	put_u32(b, (uint32_t)l->last_up);
	put_u32(b, (uint32_t)l->rtt_init | (uint32_t)l->loss_init << 1 | (uint32_t)l->util_init << 2 |
			   (uint32_t)l->routes_init << 3 | (uint32_t)l->in_failure << 4);
	for (unsigned i = 0; i < LINK_F64S; i++)
		put_f64(b, *link_f64(l, i));
	put_u32(b, l->n_onsets);
	for (unsigned i = 0; i < PFA_ONSETS; i++)
		put_u64(b, i < l->n_onsets ? (uint64_t)l->onsets[i] : 0);
}

/* Decode one link record into @l (no table, no pending rings); -1 if invalid. */
static int get_link(struct rbuf *b, struct pfa_link *l)
{
	uint32_t flags;

	memset(l, 0, sizeof(*l));
	memcpy(l->name, b->p + b->off, PFA_LINK_NAME_MAX);
	b->off += PFA_LINK_NAME_MAX;
	if (!l->name[0] || l->name[PFA_LINK_NAME_MAX - 1])
		return -1;
	l->first_ts = (int64_t)get_u64(b);
	l->last_ts = (int64_t)get_u64(b);
	l->next_train_ts = (int64_t)get_u64(b);
	l->clear_since = (int64_t)get_u64(b);
	l->fail_end_ts = (int64_t)get_u64(b);
	l->last_up = (int32_t)get_u32(b);
	flags = get_u32(b);
	l->rtt_init = flags & 1;
	l->loss_init = flags & 2;
	l->util_init = flags & 4;
	l->routes_init = flags & 8;
	l->in_failure = flags & 16;
	for (unsigned i = 0; i < LINK_F64S; i++)
		*link_f64(l, i) = get_f64(b);
	l->n_onsets = get_u32(b);
	for (unsigned i = 0; i < PFA_ONSETS; i++)
		l->onsets[i] = (int64_t)get_u64(b);
	if (flags >> 5 || l->last_up < -1 || l->last_up > 1 || l->n_onsets > PFA_ONSETS ||
	    l->first_ts <= 0 || l->last_ts < l->first_ts - 1)
		return -1;
	for (unsigned i = 0; i < LINK_F64S; i++)
		if (!isfinite(*link_f64(l, i)))
			return -1;
	if (l->rtt_var < 0)
		return -1;
	l->maint_in = NAN;
	return 0;
}
#define CAL_BYTES (8 * 4 + PFA_CALIB_BINS * 8 * 3)
#define HZ_BYTES (4 + 2 * LEARNER_BYTES + 2 * 8 + CAL_BYTES)

static size_t state_bytes(unsigned n_horizons, unsigned n_links)
{
	return HDR_BYTES + n_horizons * HZ_BYTES + (size_t)n_links * LINK_BYTES + 4;
}

int pfa_model__serialize(const struct pfa_model *m, void **out, size_t *outlen)
{
	size_t total = state_bytes(m->cfg.n_horizons, m->n_links);
	struct wbuf b = { .p = malloc(total) };

	if (!b.p)
		return -ENOMEM;
	memcpy(b.p, PFA_MAGIC, 8);
	b.len = 8;
	put_u32(&b, PFA_VERSION);
	put_u32(&b, PFA_NFEAT);
	put_u32(&b, m->cfg.n_horizons);
	put_u32(&b, m->n_links);
	for (unsigned h = 0; h < m->cfg.n_horizons; h++) {
		const struct pfa_horizon *hz = &m->hz[h];
		const struct pfa_calib_acc *c = &hz->cal;

		put_u32(&b, hz->horizon_s);
		put_learner(&b, &hz->champ);
		put_learner(&b, &hz->chall);
		put_u64(&b, hz->promotions);
		put_u64(&b, hz->chall_pos);
		put_u64(&b, c->n);
		put_u64(&b, c->pos);
		put_f64(&b, c->brier_sum);
		put_f64(&b, c->brier_recent);
		for (unsigned i = 0; i < PFA_CALIB_BINS; i++) {
			put_u64(&b, c->bin_n[i]);
			put_f64(&b, c->bin_p[i]);
			put_f64(&b, c->bin_y[i]);
		}
	}
	for (unsigned i = 0; i < m->n_links; i++)
		put_link(&b, m->links[i]);
	put_u32(&b, crc32_le(b.p, b.len));
	*out = b.p;
	*outlen = b.len;
	return 0;
}

int pfa_model__deserialize(struct pfa_model *m, const void *buf, size_t len)
{
	struct rbuf b = { .p = buf, .len = len };
	struct pfa_horizon hz[PFA_MAX_HORIZONS];
	uint32_t version, nfeat, nh, nl, crc;
	struct pfa_link *links = NULL;
	int err = 0;

	if (len < 8 || memcmp(buf, PFA_MAGIC, 8))
		return -PFA_EMAGIC;
	if (len < HDR_BYTES)
		return -PFA_ETRUNC;
	b.off = 8;
	version = get_u32(&b);
	if (version != PFA_VERSION)
		return -PFA_EVERSION;
	nfeat = get_u32(&b);
	nh = get_u32(&b);
	nl = get_u32(&b);
	if (nfeat != PFA_NFEAT || nh != m->cfg.n_horizons)
		return -PFA_ESHAPE;
	if (nl > PFA_MAX_LINKS)
		return -PFA_EVALUE;
	if (len < state_bytes(nh, nl))
		return -PFA_ETRUNC;
	if (len > state_bytes(nh, nl))
		return -PFA_ECRC;
	b.off = len - 4;
	crc = get_u32(&b);
	if (crc != crc32_le(buf, len - 4))
		return -PFA_ECRC;

	/* Decode into a copy; the model changes only when all of it is good. */
	b.off = HDR_BYTES;
	memcpy(hz, m->hz, sizeof(hz));
	for (unsigned h = 0; h < nh; h++) {
		struct pfa_calib_acc *c = &hz[h].cal;

		if (get_u32(&b) != hz[h].horizon_s)
			return -PFA_ESHAPE;
		if (get_learner(&b, &hz[h].champ) || get_learner(&b, &hz[h].chall))
			return -PFA_EVALUE;
		hz[h].promotions = get_u64(&b);
		hz[h].chall_pos = get_u64(&b);
		c->n = get_u64(&b);
		c->pos = get_u64(&b);
		c->brier_sum = get_f64(&b);
		c->brier_recent = get_f64(&b);
		for (unsigned i = 0; i < PFA_CALIB_BINS; i++) {
			c->bin_n[i] = get_u64(&b);
			c->bin_p[i] = get_f64(&b);
			c->bin_y[i] = get_f64(&b);
		}
	}
	if (nl) {
		links = calloc(nl, sizeof(*links));
		if (!links)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < nl; i++) {
		if (get_link(&b, &links[i])) {
			err = -PFA_EVALUE;
			goto out;
		}
	}
	/* Room for every link first, so adding them cannot fail half-way. */
	if (m->n_links + nl > PFA_MAX_LINKS) {
		err = -ENOSPC;
		goto out;
	}
	memcpy(m->hz, hz, sizeof(hz));
	/*
	 * Links the model already tracks keep their live state; the others
	 * resume from the file (a duplicate name in the file: the first wins).
	 */
	for (unsigned i = 0; i < nl; i++) {
		struct pfa_link *l;
		unsigned slot;
		int e;

		if (pfa_link__find(m, links[i].name, &slot))
			continue;
		l = pfa_link__add(m, links[i].name, slot, &e);
		if (!l) {
			/* Weights are in; a link that cannot be restored starts afresh. */
			err = e;
			goto out;
		}
		{
			struct pfa_pending *pend[PFA_MAX_HORIZONS];
			uint32_t id = l->id;

			memcpy(pend, l->pend, sizeof(pend));
			*l = links[i];
			l->id = id;
			memcpy(l->pend, pend, sizeof(pend));
		}
	}
out:
	free(links);
	return err;
}
