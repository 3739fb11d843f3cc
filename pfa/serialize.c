// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA model state as bytes: a fixed little-endian layout so a file moves
 * between hosts, a version, the shape it was made for, and a CRC-32 over
 * everything, so a torn, corrupt or foreign file is refused before any
 * weight is touched.
 *
 *   "PFAMODEL" u32 version u32 n_feat u32 n_horizons u32 n_links
 *   version 2: u32 n_maint u64 total bytes (the file has a variable length)
 *   per horizon: u32 horizon_s, champion, challenger (each: f64 w[n_feat],
 *                prior[n_feat], g2[n_feat], a, b, g2_a, g2_b, brier_ew,
 *                u64 n_updates), u64 promotions, u64 challenger's failures,
 *                calibration
 *   per link (n_links from the header): its baselines and averages, failure
 *                state and recent onsets, so a restarted controller does
 *                not relearn every link; version 2 adds the failure
 *                timers (i64 probe_bad_since, rtt_bad_since; the restart
 *                flag) and, per horizon, u32 n then n pending predictions
 *                (i64 ts, f64 p, f32 x[n_feat]), oldest first
 *   version 2, per maintenance window: char link[32], i64 start, i64 end
 *   u32 crc32 (of all bytes before it)
 *
 * Version 1 files still load: their links resume without pending
 * predictions (learning pauses for one horizon, as it did then) and
 * without a calendar.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/pfa_int.h"

#define PFA_MAGIC "PFAMODEL"
#define PFA_VERSION 2

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
	bool over; /* a read went past the end: the counts inside lie */
};

/* These never read past the end; a short read sets b->over and yields zeros. */
static uint32_t get_u32(struct rbuf *b)
{
	uint32_t v = 0;

	if (b->len - b->off < 4) {
		b->over = true;
		b->off = b->len;
		return 0;
	}
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)b->p[b->off++] << (8 * i);
	return v;
}

static uint64_t get_u64(struct rbuf *b)
{
	uint64_t v = 0;

	if (b->len - b->off < 8) {
		b->over = true;
		b->off = b->len;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b->p[b->off++] << (8 * i);
	return v;
}

static float get_f32(struct rbuf *b)
{
	uint32_t v = get_u32(b);
	float f;

	memcpy(&f, &v, sizeof(f));
	return f;
}

static void put_f32(struct wbuf *b, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof(v));
	put_u32(b, v);
}

static bool get_bytes(struct rbuf *b, void *dst, size_t n)
{
	if (b->len - b->off < n) {
		b->over = true;
		b->off = b->len;
		memset(dst, 0, n);
		return false;
	}
	memcpy(dst, b->p + b->off, n);
	b->off += n;
	return true;
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
#define HDR2_BYTES (HDR_BYTES + 4 + 8)

/* The averages of a link, in file order. */
#define LINK_F64S 20
#define LINK_BYTES (PFA_LINK_NAME_MAX + 5 * 8 + 4 + 4 + LINK_F64S * 8 + 4 + PFA_ONSETS * 8)
/* Version 2: two failure timers, and per horizon a count of pending predictions. */
#define LINK2_BYTES(nh) (LINK_BYTES + 2 * 8 + (nh) * 4)
#define PEND_BYTES (8 + 8 + PFA_NFEAT * 4)
#define MAINT_BYTES (PFA_LINK_NAME_MAX + 2 * 8)

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

static void put_link(struct wbuf *b, const struct pfa_model *m, const struct pfa_link *cl)
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
			   (uint32_t)l->routes_init << 3 | (uint32_t)l->in_failure << 4 |
			   (uint32_t)l->restart << 5);
	for (unsigned i = 0; i < LINK_F64S; i++)
		put_f64(b, *link_f64(l, i));
	put_u32(b, l->n_onsets);
	for (unsigned i = 0; i < PFA_ONSETS; i++)
		put_u64(b, i < l->n_onsets ? (uint64_t)l->onsets[i] : 0);
	put_u64(b, (uint64_t)l->probe_bad_since);
	put_u64(b, (uint64_t)l->rtt_bad_since);
	for (unsigned h = 0; h < m->cfg.n_horizons; h++) {
		put_u32(b, l->pend_n[h]);
		for (unsigned k = 0; k < l->pend_n[h]; k++) {
			const struct pfa_pending *e =
				&l->pend[h][(l->pend_head[h] + k) % m->hz[h].pend_cap];

			put_u64(b, (uint64_t)e->ts);
			put_f64(b, e->p);
			for (unsigned i = 0; i < PFA_NFEAT; i++)
				put_f32(b, e->x[i]);
		}
	}
}

/*
 * Decode one link record into @l (no table; pending predictions of
 * version 2 into @pend[h], which holds @cap[h], keeping the newest if the
 * file has more); -1 if invalid.
 */
static int get_link(struct rbuf *b, uint32_t version, unsigned nh, const size_t *cap,
		    struct pfa_pending *const *pend, struct pfa_link *l)
{
	uint32_t flags;

	memset(l, 0, sizeof(*l));
	if (!get_bytes(b, l->name, PFA_LINK_NAME_MAX))
		return -1;
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
	l->restart = flags & 32;
	for (unsigned i = 0; i < LINK_F64S; i++)
		*link_f64(l, i) = get_f64(b);
	l->n_onsets = get_u32(b);
	for (unsigned i = 0; i < PFA_ONSETS; i++)
		l->onsets[i] = (int64_t)get_u64(b);
	if (flags >> (version >= 2 ? 6 : 5) || l->last_up < -1 || l->last_up > 1 ||
	    l->n_onsets > PFA_ONSETS || l->first_ts <= 0 || l->last_ts < l->first_ts - 1)
		return -1;
	for (unsigned i = 0; i < LINK_F64S; i++)
		if (!isfinite(*link_f64(l, i)))
			return -1;
	if (l->rtt_var < 0)
		return -1;
	l->maint_in = NAN;
	if (version < 2)
		return b->over ? -1 : 0;
	l->probe_bad_since = (int64_t)get_u64(b);
	l->rtt_bad_since = (int64_t)get_u64(b);
	if (l->probe_bad_since < 0 || l->probe_bad_since > l->last_ts || l->rtt_bad_since < 0 ||
	    l->rtt_bad_since > l->last_ts)
		return -1;
	for (unsigned h = 0; h < nh; h++) {
		uint32_t n = get_u32(b);
		int64_t prev = 0;

		/* Every entry takes PEND_BYTES: a count beyond the bytes left is a lie. */
		if (n > (b->len - b->off) / PEND_BYTES)
			return -1;
		for (uint32_t k = 0; k < n; k++) {
			struct pfa_pending e;

			e.ts = (int64_t)get_u64(b);
			e.p = get_f64(b);
			for (unsigned i = 0; i < PFA_NFEAT; i++)
				e.x[i] = get_f32(b);
			if (e.ts <= prev || e.ts > l->last_ts || !(e.p >= 0 && e.p <= 1))
				return -1;
			for (unsigned i = 0; i < PFA_NFEAT; i++)
				if (!isfinite(e.x[i]))
					return -1;
			prev = e.ts;
			/* A ring of this model smaller than the file's keeps the newest. */
			if (l->pend_n[h] == cap[h]) {
				l->pend_head[h] = (l->pend_head[h] + 1) % cap[h];
				l->pend_n[h]--;
			}
			pend[h][(l->pend_head[h] + l->pend_n[h]) % cap[h]] = e;
			l->pend_n[h]++;
		}
	}
	return b->over ? -1 : 0;
}
#define CAL_BYTES (8 * 4 + PFA_CALIB_BINS * 8 * 3)
#define HZ_BYTES (4 + 2 * LEARNER_BYTES + 2 * 8 + CAL_BYTES)

/* Size of a version 1 file (fixed by its header). */
static size_t state_bytes_v1(unsigned n_horizons, unsigned n_links)
{
	return HDR_BYTES + n_horizons * HZ_BYTES + (size_t)n_links * LINK_BYTES + 4;
}

static size_t state_bytes(const struct pfa_model *m)
{
	size_t n = HDR2_BYTES + m->cfg.n_horizons * HZ_BYTES +
		   (size_t)m->n_links * LINK2_BYTES(m->cfg.n_horizons) +
		   (size_t)m->n_maint * MAINT_BYTES + 4;

	for (unsigned i = 0; i < m->n_links; i++)
		for (unsigned h = 0; h < m->cfg.n_horizons; h++)
			n += (size_t)m->links[i]->pend_n[h] * PEND_BYTES;
	return n;
}

size_t pfa_state__max_bytes(const struct pfa_model *m)
{
	size_t link = LINK2_BYTES(m->cfg.n_horizons);

	for (unsigned h = 0; h < m->cfg.n_horizons; h++)
		link += m->hz[h].pend_cap * PEND_BYTES;
	return HDR2_BYTES + m->cfg.n_horizons * HZ_BYTES + (size_t)PFA_MAX_LINKS * link +
	       (size_t)PFA_MAINT_MAX * MAINT_BYTES + 4;
}

int pfa_model__serialize(const struct pfa_model *m, void **out, size_t *outlen)
{
	size_t total = state_bytes(m);
	struct wbuf b = { .p = malloc(total) };

	if (!b.p)
		return -ENOMEM;
	memcpy(b.p, PFA_MAGIC, 8);
	b.len = 8;
	put_u32(&b, PFA_VERSION);
	put_u32(&b, PFA_NFEAT);
	put_u32(&b, m->cfg.n_horizons);
	put_u32(&b, m->n_links);
	put_u32(&b, m->n_maint);
	put_u64(&b, total);
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
		put_link(&b, m, m->links[i]);
	for (unsigned i = 0; i < m->n_maint; i++) {
		memset(b.p + b.len, 0, PFA_LINK_NAME_MAX);
		memcpy(b.p + b.len, m->maint[i].link, strnlen(m->maint[i].link, PFA_LINK_NAME_MAX - 1));
		b.len += PFA_LINK_NAME_MAX;
		put_u64(&b, (uint64_t)m->maint[i].start);
		put_u64(&b, (uint64_t)m->maint[i].end);
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
	struct pfa_pending *tpend = NULL, *pend[PFA_MAX_HORIZONS];
	uint32_t version, nfeat, nh, nl, nw = 0, crc;
	size_t cap[PFA_MAX_HORIZONS], per_link = 0, hdr = HDR_BYTES;
	struct pfa_link *links = NULL;
	struct pfa_maint *win = NULL;
	int err = 0;

	if (len < 8 || memcmp(buf, PFA_MAGIC, 8))
		return -PFA_EMAGIC;
	if (len < HDR_BYTES)
		return -PFA_ETRUNC;
	b.off = 8;
	version = get_u32(&b);
	if (version != 1 && version != PFA_VERSION)
		return -PFA_EVERSION;
	nfeat = get_u32(&b);
	nh = get_u32(&b);
	nl = get_u32(&b);
	if (nfeat != PFA_NFEAT || nh != m->cfg.n_horizons)
		return -PFA_ESHAPE;
	if (nl > PFA_MAX_LINKS)
		return -PFA_EVALUE;
	if (version == 1) {
		if (len < state_bytes_v1(nh, nl))
			return -PFA_ETRUNC;
		if (len > state_bytes_v1(nh, nl))
			return -PFA_ECRC;
	} else {
		uint64_t total;

		if (len < HDR2_BYTES)
			return -PFA_ETRUNC;
		nw = get_u32(&b);
		total = get_u64(&b);
		hdr = HDR2_BYTES;
		if (nw > PFA_MAINT_MAX)
			return -PFA_EVALUE;
		if (len < total)
			return -PFA_ETRUNC;
		if (len > total)
			return -PFA_ECRC;
	}
	b.off = len - 4;
	crc = get_u32(&b);
	if (crc != crc32_le(buf, len - 4))
		return -PFA_ECRC;

	/* Decode into a copy; the model changes only when all of it is good. */
	b.off = hdr;
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
	for (unsigned h = 0; h < nh; h++) {
		cap[h] = m->hz[h].pend_cap;
		per_link += cap[h];
	}
	if (nl) {
		links = calloc(nl, sizeof(*links));
		tpend = version >= 2 ? calloc((size_t)nl * per_link, sizeof(*tpend)) : NULL;
		if (!links || (version >= 2 && !tpend)) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (unsigned i = 0; i < nl; i++) {
		size_t off = (size_t)i * per_link;

		for (unsigned h = 0; h < nh; h++) {
			pend[h] = tpend ? tpend + off : NULL;
			off += cap[h];
		}
		if (get_link(&b, version, nh, cap, pend, &links[i])) {
			err = -PFA_EVALUE;
			goto out;
		}
	}
	if (nw) {
		win = calloc(nw, sizeof(*win));
		if (!win) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (unsigned i = 0; i < nw; i++) {
		get_bytes(&b, win[i].link, PFA_LINK_NAME_MAX);
		win[i].start = (int64_t)get_u64(&b);
		win[i].end = (int64_t)get_u64(&b);
		if (!win[i].link[0] || win[i].link[PFA_LINK_NAME_MAX - 1] || win[i].start <= 0 ||
		    win[i].end <= win[i].start) {
			err = -PFA_EVALUE;
			goto out;
		}
	}
	if (b.over || b.off != len - 4) {
		err = -PFA_EVALUE;
		goto out;
	}
	/* Room for every link and window first, so adding them cannot fail half-way. */
	if (m->n_links + nl > PFA_MAX_LINKS || m->n_maint + nw > PFA_MAINT_MAX) {
		err = -ENOSPC;
		goto out;
	}
	if (m->n_maint + nw > m->maint_cap) {
		struct pfa_maint *nm = realloc(m->maint, (m->n_maint + nw) * sizeof(*nm));

		if (!nm) {
			err = -ENOMEM;
			goto out;
		}
		m->maint = nm;
		m->maint_cap = m->n_maint + nw;
	}
	memcpy(m->hz, hz, sizeof(hz));
	/* Cannot fail: room was made; a window the model already has is kept once. */
	for (unsigned i = 0; i < nw; i++)
		pfa_model__maintenance_add(m, win[i].link, win[i].start, win[i].end);
	/*
	 * Links the model already tracks keep their live state; the others
	 * resume from the file (a duplicate name in the file: the first wins).
	 */
	for (unsigned i = 0; i < nl; i++) {
		struct pfa_pending *lp[PFA_MAX_HORIZONS];
		size_t off = (size_t)i * per_link;
		struct pfa_link *l;
		unsigned slot;
		uint32_t id;
		int e;

		if (pfa_link__find(m, links[i].name, &slot))
			continue;
		l = pfa_link__add(m, links[i].name, slot, &e);
		if (!l) {
			/* Weights are in; a link that cannot be restored starts afresh. */
			err = e;
			goto out;
		}
		id = l->id;
		memcpy(lp, l->pend, sizeof(lp));
		*l = links[i];
		l->id = id;
		memcpy(l->pend, lp, sizeof(lp));
		for (unsigned h = 0; h < nh; h++) {
			if (tpend)
				memcpy(l->pend[h], tpend + off, cap[h] * sizeof(*tpend));
			off += cap[h];
		}
	}
out:
	free(win);
	free(tpend);
	free(links);
	return err;
}
