// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA model state as bytes: a fixed little-endian layout so a file moves
 * between hosts, a version, the shape it was made for, and a CRC-32 over
 * everything, so a torn, corrupt or foreign file is refused before any
 * weight is touched.
 *
 *   "PFAMODEL" u32 version u32 n_feat u32 n_horizons
 *   per horizon: u32 horizon_s, champion, challenger (each: f64 w[n_feat],
 *                prior[n_feat], g2[n_feat], a, b, g2_a, g2_b, brier_ew,
 *                u64 n_updates), u64 promotions, u64 challenger's failures,
 *                calibration
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

#define HDR_BYTES (8 + 4 * 3)
#define CAL_BYTES (8 * 4 + PFA_CALIB_BINS * 8 * 3)
#define HZ_BYTES (4 + 2 * LEARNER_BYTES + 2 * 8 + CAL_BYTES)

static size_t state_bytes(unsigned n_horizons)
{
	return HDR_BYTES + n_horizons * HZ_BYTES + 4;
}

int pfa_model__serialize(const struct pfa_model *m, void **out, size_t *outlen)
{
	size_t total = state_bytes(m->cfg.n_horizons);
	struct wbuf b = { .p = malloc(total) };

	if (!b.p)
		return -ENOMEM;
	memcpy(b.p, PFA_MAGIC, 8);
	b.len = 8;
	put_u32(&b, PFA_VERSION);
	put_u32(&b, PFA_NFEAT);
	put_u32(&b, m->cfg.n_horizons);
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
	put_u32(&b, crc32_le(b.p, b.len));
	*out = b.p;
	*outlen = b.len;
	return 0;
}

int pfa_model__deserialize(struct pfa_model *m, const void *buf, size_t len)
{
	struct rbuf b = { .p = buf, .len = len };
	struct pfa_horizon hz[PFA_MAX_HORIZONS];
	uint32_t version, nfeat, nh, crc;

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
	if (nfeat != PFA_NFEAT || nh != m->cfg.n_horizons)
		return -PFA_ESHAPE;
	if (len < state_bytes(nh))
		return -PFA_ETRUNC;
	if (len > state_bytes(nh))
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
	memcpy(m->hz, hz, sizeof(hz));
	return 0;
}
