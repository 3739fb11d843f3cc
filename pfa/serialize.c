// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA model state as bytes: a fixed little-endian layout so a file moves
 * between hosts, a version, the shape it was made for, and a CRC-32 over
 * everything, so a torn, corrupt or foreign file is refused before any
 * weight is touched.
 *
 *   "PFAMODEL" u32 version u32 n_feat u32 n_horizons
 *   per horizon: u32 horizon_s, f64 w[n_feat], f64 prior[n_feat],
 *                f64 g2[n_feat], f64 a, f64 b, f64 g2_a, f64 g2_b,
 *                u64 n_updates, calibration
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

#define HDR_BYTES (8 + 4 * 3)
#define CAL_BYTES (8 * 4 + PFA_CALIB_BINS * 8 * 3)
#define HZ_BYTES (4 + PFA_NFEAT * 8 * 3 + 4 * 8 + 8 + CAL_BYTES)

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
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			put_f64(&b, hz->w[i]);
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			put_f64(&b, hz->prior[i]);
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			put_f64(&b, hz->g2[i]);
		put_f64(&b, hz->cal_a);
		put_f64(&b, hz->cal_b);
		put_f64(&b, hz->cal_g2[0]);
		put_f64(&b, hz->cal_g2[1]);
		put_u64(&b, hz->n_updates);
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

static bool weight_ok(double w)
{
	return isfinite(w) && fabs(w) <= PFA_W_MAX;
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
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			hz[h].w[i] = get_f64(&b);
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			hz[h].prior[i] = get_f64(&b);
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			hz[h].g2[i] = get_f64(&b);
		for (unsigned i = 0; i < PFA_NFEAT; i++)
			if (!weight_ok(hz[h].w[i]) || !weight_ok(hz[h].prior[i]) ||
			    !(hz[h].g2[i] >= 0) || !isfinite(hz[h].g2[i]))
				return -PFA_EVALUE;
		hz[h].cal_a = get_f64(&b);
		hz[h].cal_b = get_f64(&b);
		hz[h].cal_g2[0] = get_f64(&b);
		hz[h].cal_g2[1] = get_f64(&b);
		if (!isfinite(hz[h].cal_a) || fabs(hz[h].cal_a) > PFA_A_MAX ||
		    !weight_ok(hz[h].cal_b) || !(hz[h].cal_g2[0] >= 0) || !(hz[h].cal_g2[1] >= 0) ||
		    !isfinite(hz[h].cal_g2[0]) || !isfinite(hz[h].cal_g2[1]))
			return -PFA_EVALUE;
		hz[h].n_updates = get_u64(&b);
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
