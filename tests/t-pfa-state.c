// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA model state across a restart: pending predictions, failure timers and
 * the maintenance calendar are saved, so a model stopped half-way and
 * restored from its file ends bit for bit where an uninterrupted one ends;
 * version 1 files still load.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "harness.h"
#include "pfa/pfa_int.h"
#include "pfa/synth.h"

#define FNV_OFF 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * FNV_PRIME;
	return h;
}

struct run {
	struct pfa_model *m; /* the model being fed */
	int64_t cut_ts; /* first second of the second half */
	bool second; /* hash only the second half */
	uint64_t hash, n_hashed, onsets, planned;
	int err;
};

/* Every bit of every output: probabilities, contributions, features, flags. */
static int feed(void *ctx, const struct pfa_sample *s)
{
	struct run *r = ctx;
	struct pfa_output o;

	if ((s->ts >= r->cut_ts) != r->second)
		return 0;
	memset(&o, 0, sizeof(o));
	r->err |= pfa_model__observe(r->m, s, &o);
	r->onsets += o.onset;
	r->planned += o.planned;
	r->hash = mix(r->hash, &o.in_failure, 1);
	r->hash = mix(r->hash, &o.onset, 1);
	r->hash = mix(r->hash, &o.onset_ts, sizeof(o.onset_ts));
	r->hash = mix(r->hash, o.x, sizeof(o.x));
	for (unsigned h = 0; h < o.n_pred; h++) {
		r->hash = mix(r->hash, &o.pred[h].p, sizeof(o.pred[h].p));
		for (unsigned k = 0; k < PFA_TOP_K; k++) {
			r->hash = mix(r->hash, &o.pred[h].top[k].feature, 1);
			r->hash = mix(r->hash, &o.pred[h].top[k].contribution, sizeof(float));
		}
	}
	r->n_hashed++;
	return 0;
}

static struct pfa_model *new_model(void)
{
	struct pfa_config cfg;

	pfa_config__defaults(&cfg);
	cfg.n_horizons = 2;
	cfg.horizon_s[0] = 300;
	cfg.horizon_s[1] = 1200;
	/* Low enough that the trace's congestion starts RTT timers. */
	cfg.fail.rtt_k = 1.5;
	return pfa_model__new(&cfg);
}

/* A calendar with a window that spans the restart and one after it. */
static int add_calendar(struct pfa_model *m, int64_t t0)
{
	int err = pfa_model__maintenance_add(m, "ix1", t0 + 5 * 3600 + 600, t0 + 5 * 3600 + 1800);

	return err ? err : pfa_model__maintenance_add(m, "ix2", t0 + 3 * 3600 - 300, t0 + 3 * 3600 + 900);
}

static unsigned pending(const struct pfa_model *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n_links; i++)
		for (unsigned h = 0; h < m->cfg.n_horizons; h++)
			n += m->links[i]->pend_n[h];
	return n;
}

/* Cut points where a link holds state only a version 2 file keeps. */
struct finder {
	struct pfa_model *m;
	int64_t after, probe_cut, rtt_cut, clear_cut, timer_cut;
	int err;
};

static int find_cuts(void *ctx, const struct pfa_sample *s)
{
	struct finder *f = ctx;
	struct pfa_output o;

	f->err |= pfa_model__observe(f->m, s, &o);
	if (s->ts < f->after)
		return 0;
	/*
	 * A failure confirmed after its condition held a while: cut while its
	 * timer ran, and a restore that lost the timer would move the onset.
	 */
	if (!f->timer_cut && o.onset && o.onset_ts <= s->ts - 20 && o.onset_ts > f->after)
		f->timer_cut = o.onset_ts + 10;
	/* Cutting after this second leaves the state as it is now. */
	for (unsigned i = 0; i < f->m->n_links; i++) {
		const struct pfa_link *l = f->m->links[i];

		if (l->last_ts != s->ts)
			continue;
		if (!f->probe_cut && l->probe_bad_since)
			f->probe_cut = s->ts + 1;
		if (!f->rtt_cut && l->rtt_bad_since)
			f->rtt_cut = s->ts + 1;
		if (!f->clear_cut && l->in_failure && l->clear_since)
			f->clear_cut = s->ts + 1;
	}
	return 0;
}

/* Stop at @cut, save, restore in a fresh model, go on; compare with one run. */
static void restart_at(const struct pfa_synth_cfg *sc, int64_t cut, const char *what)
{
	struct run whole = { .hash = FNV_OFF, .cut_ts = cut }, first = whole, rest = whole, w1;
	void *sa = NULL, *sb = NULL, *mid = NULL;
	size_t la = 0, lb = 0, lmid = 0;

	whole.m = new_model();
	first.m = new_model();
	rest.m = new_model();
	if (!ASSERT_TRUE(whole.m && first.m && rest.m, "models"))
		return;
	printf("  restart at %+lld s (%s)\n", (long long)(cut - sc->start_ts), what);
	ASSERT_EQ(add_calendar(whole.m, sc->start_ts), 0, "calendar");
	ASSERT_EQ(add_calendar(first.m, sc->start_ts), 0, "calendar");
	whole.second = rest.second = true;
	w1 = whole;
	w1.second = false;
	ASSERT_EQ(pfa_synth__run(sc, feed, NULL, &w1), 0, "whole, first half");
	ASSERT_EQ(pfa_synth__run(sc, feed, NULL, &whole), 0, "whole, second half");
	ASSERT_EQ(pfa_synth__run(sc, feed, NULL, &first), 0, "first half");
	ASSERT_TRUE(pending(first.m) > 100, "predictions are pending at the cut");
	ASSERT_EQ(pfa_model__serialize(first.m, &mid, &lmid), 0, "serialize at the cut");
	ASSERT_EQ(pfa_model__deserialize(rest.m, mid, lmid), 0, "restore into a fresh model");
	ASSERT_EQ(pending(rest.m), pending(first.m), "pending predictions restored");
	ASSERT_EQ(pfa_model__n_maintenance(rest.m), 2, "calendar restored");
	ASSERT_EQ(pfa_synth__run(sc, feed, NULL, &rest), 0, "second half after the restart");
	ASSERT_EQ(w1.err | whole.err | first.err | rest.err, 0, "observe");
	ASSERT_TRUE(whole.n_hashed > 1000 && whole.n_hashed == rest.n_hashed, "same samples");
	ASSERT_TRUE(whole.hash == rest.hash, "second half: same outputs, bit for bit");
	for (unsigned h = 0; h < 2; h++) {
		double wa[PFA_NFEAT], wb[PFA_NFEAT];
		struct pfa_calib ca, cb;

		pfa_model__get_weights(whole.m, h, wa);
		pfa_model__get_weights(rest.m, h, wb);
		ASSERT_TRUE(!memcmp(wa, wb, sizeof(wa)), "same weights");
		pfa_model__calibration(whole.m, h, &ca);
		pfa_model__calibration(rest.m, h, &cb);
		ASSERT_EQ(cb.n, ca.n, "same number of labelled predictions");
		ASSERT_TRUE(!memcmp(&ca.brier, &cb.brier, sizeof(ca.brier)), "same Brier bits");
		ASSERT_TRUE(!memcmp(ca.bin_n, cb.bin_n, sizeof(ca.bin_n)), "same reliability bins");
	}
	ASSERT_EQ(pfa_model__serialize(whole.m, &sa, &la), 0, "serialize whole");
	ASSERT_EQ(pfa_model__serialize(rest.m, &sb, &lb), 0, "serialize restored");
	ASSERT_TRUE(la == lb && !memcmp(sa, sb, la), "same final state, byte for byte");
	free(sa);
	free(sb);
	free(mid);
	pfa_model__free(whole.m);
	pfa_model__free(first.m);
	pfa_model__free(rest.m);
}

static void test_restart_is_bit_identical(void)
{
	struct pfa_synth_cfg sc;
	struct finder f = { 0 };
	struct run whole = { .hash = FNV_OFF }, half = whole;
	void *mid = NULL;
	size_t lmid = 0;

	pfa_synth_cfg__defaults(&sc);
	sc.seed = 13; /* not a tuning or acceptance seed */
	sc.n_links = 4;
	sc.duration_s = 6 * 3600;
	sc.fail_per_day = 12;
	f.m = new_model();
	if (!ASSERT_TRUE(f.m, "model"))
		return;
	f.after = sc.start_ts + 2 * 3600;
	ASSERT_EQ(pfa_synth__run(&sc, find_cuts, NULL, &f), 0, "find cut points");
	pfa_model__free(f.m);
	/* Inside ix2's planned window, in the middle of every horizon. */
	restart_at(&sc, sc.start_ts + 3 * 3600 + 17, "inside a planned window");
	if (ASSERT_TRUE(f.probe_cut, "a probe loss timer runs at some point"))
		restart_at(&sc, f.probe_cut, "probe loss timer running");
	if (ASSERT_TRUE(f.rtt_cut, "an RTT timer runs at some point"))
		restart_at(&sc, f.rtt_cut, "RTT timer running");
	if (ASSERT_TRUE(f.timer_cut, "a sustained condition becomes a failure at some point"))
		restart_at(&sc, f.timer_cut, "a failure's timer running");
	if (ASSERT_TRUE(f.clear_cut, "a failure clears at some point"))
		restart_at(&sc, f.clear_cut, "a failure clearing");

	/*
	 * The control: without its pending predictions (dropped here as a
	 * version 1 file would), the restored model labels fewer, so the
	 * comparison above can fail.
	 */
	whole.m = new_model();
	half.m = new_model();
	if (!ASSERT_TRUE(whole.m && half.m, "models"))
		return;
	whole.cut_ts = half.cut_ts = sc.start_ts + 3 * 3600;
	ASSERT_EQ(pfa_synth__run(&sc, feed, NULL, &whole), 0, "first half");
	ASSERT_EQ(pfa_model__serialize(whole.m, &mid, &lmid), 0, "serialize");
	ASSERT_EQ(pfa_model__deserialize(half.m, mid, lmid), 0, "restore");
	for (unsigned i = 0; i < half.m->n_links; i++)
		for (unsigned h = 0; h < 2; h++)
			half.m->links[i]->pend_n[h] = 0;
	whole.second = half.second = true;
	ASSERT_EQ(pfa_synth__run(&sc, feed, NULL, &whole), 0, "second half");
	ASSERT_EQ(pfa_synth__run(&sc, feed, NULL, &half), 0, "second half without pending");
	{
		struct pfa_calib ca, cc;

		pfa_model__calibration(whole.m, 1, &ca);
		pfa_model__calibration(half.m, 1, &cc);
		ASSERT_TRUE(cc.n < ca.n, "without pending predictions fewer are labelled");
	}
	free(mid);
	pfa_model__free(whole.m);
	pfa_model__free(half.m);
}

/* tests/t-pfa-state-v1.bin: written by the version 1 code (presage replay -H 300 -H 900 --save). */
static void test_version1_file_loads(void)
{
	const char *root = getenv("PRESAGE_ROOT");
	char path[4096], *buf = NULL;
	struct pfa_config cfg;
	struct pfa_model *m, *m2;
	struct pfa_sample s;
	struct pfa_output o;
	void *v2 = NULL;
	size_t len = 0, l2 = 0;
	int id;

	snprintf(path, sizeof(path), "%s/tests/t-pfa-state-v1.bin", root ? root : ".");
	pfa_config__defaults(&cfg);
	cfg.n_horizons = 2;
	cfg.horizon_s[0] = 300;
	cfg.horizon_s[1] = 900;
	m = pfa_model__new(&cfg);
	m2 = pfa_model__new(&cfg);
	if (!ASSERT_TRUE(m && m2, "models") || !ASSERT_EQ(read_file_all(path, 1 << 20, &buf, &len), 0, path))
		return;
	ASSERT_EQ(buf[8], 1, "the fixture is a version 1 file");
	ASSERT_EQ(pfa_model__load(m, path), 0, "version 1 loads");
	ASSERT_EQ(pfa_model__n_links(m), 3, "its three links");
	ASSERT_EQ(pending(m), 0, "no pending predictions in version 1");
	id = pfa_model__link_id(m, "ix0");
	ASSERT_TRUE(id >= 0, "ix0 restored");
	pfa_sample__init(&s);
	strcpy(s.link, "ix0");
	s.ts = m->links[id >= 0 ? id : 0]->last_ts + 1;
	s.rtt_p90_ms = 20;
	ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "the restored link goes on");
	ASSERT_TRUE(o.warm, "and is warm");
	/* Saved again, it is a version 2 file that loads the same. */
	ASSERT_EQ(pfa_model__serialize(m, &v2, &l2), 0, "serialize");
	ASSERT_EQ(((uint8_t *)v2)[8], 2, "written as version 2");
	ASSERT_EQ(pfa_model__deserialize(m2, v2, l2), 0, "version 2 loads");
	ASSERT_EQ(pfa_model__n_links(m2), 3, "same links");
	buf[len / 2] ^= 1;
	ASSERT_EQ(pfa_model__deserialize(m2, buf, len), -PFA_ECRC, "a corrupt version 1 file is refused");
	free(v2);
	free(buf);
	pfa_model__free(m);
	pfa_model__free(m2);
}

/* Lengths and counts inside a version 2 file that lie are refused, never read past. */
static void test_version2_refuses_lies(void)
{
	struct pfa_model *a = new_model(), *b = new_model();
	struct pfa_sample s;
	struct pfa_output o;
	uint8_t *buf = NULL, *bad;
	size_t len = 0;

	if (!ASSERT_TRUE(a && b, "models"))
		return;
	pfa_model__maintenance_add(a, "l", 1767300000, 1767303600);
	for (int64_t t = 1767225600; t < 1767225600 + 1500; t++) {
		pfa_sample__init(&s);
		strcpy(s.link, "l");
		s.ts = t;
		s.rtt_p90_ms = 20;
		pfa_model__observe(a, &s, &o);
	}
	ASSERT_EQ(pfa_model__serialize(a, (void **)&buf, &len), 0, "serialize");
	bad = malloc(len + 8);
	if (!ASSERT_TRUE(bad, "alloc"))
		return;
	ASSERT_EQ(pfa_model__deserialize(b, buf, len - 1), -PFA_ETRUNC, "truncated");
	memcpy(bad, buf, len);
	memset(bad + len, 0, 8);
	ASSERT_EQ(pfa_model__deserialize(b, bad, len + 8), -PFA_ECRC, "trailing bytes");
	memcpy(bad, buf, len);
	memset(bad + 24, 0xff, 4); /* n_maint */
	ASSERT_EQ(pfa_model__deserialize(b, bad, len), -PFA_EVALUE, "absurd calendar size");
	for (size_t i = 8; i < len - 4; i += 7) {
		uint32_t crc = 0xffffffffu;

		memcpy(bad, buf, len);
		bad[i] ^= 0x5a;
		/* Fix the CRC so the decoder itself must catch (or accept) the change. */
		for (size_t k = 0; k < len - 4; k++) {
			crc ^= bad[k];
			for (int j = 0; j < 8; j++)
				crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
		}
		crc = ~crc;
		for (int j = 0; j < 4; j++)
			bad[len - 4 + j] = (uint8_t)(crc >> (8 * j));
		pfa_model__free(b);
		b = new_model();
		pfa_model__deserialize(b, bad, len);
	}
	ASSERT_EQ(pfa_model__deserialize(a, buf, len), 0, "the good one loads");
	free(bad);
	free(buf);
	pfa_model__free(a);
	pfa_model__free(b);
}

int main(void)
{
	RUN(test_restart_is_bit_identical);
	RUN(test_version1_file_loads);
	RUN(test_version2_refuses_lies);
	return harness_exit();
}
