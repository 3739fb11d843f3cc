// SPDX-License-Identifier: GPL-2.0-only
/* PFA model core: features, score and explanation, failure definition, labels, state. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pfa/pfa_int.h"
#include "pfa/synth.h"

#define T0 1767225600

static struct pfa_model *model(unsigned n_h, const uint32_t *h)
{
	struct pfa_config cfg;

	pfa_config__defaults(&cfg);
	if (n_h) {
		cfg.n_horizons = n_h;
		memcpy(cfg.horizon_s, h, n_h * sizeof(*h));
	}
	return pfa_model__new(&cfg);
}

/* A quiet link: RTT around @rtt with a deterministic wobble. */
static void quiet(struct pfa_sample *s, const char *link, int64_t ts, double rtt)
{
	pfa_sample__init(s);
	snprintf(s->link, sizeof(s->link), "%s", link);
	s->ts = ts;
	s->rtt_p90_ms = rtt * (1 + 0.02 * sin((double)ts));
	s->retrans_out = 0.0002;
	s->probe_loss = 0;
	s->rx_bps = 3e9;
	s->tx_bps = 3e8;
	s->capacity_bps = 1e10;
	s->routes = 1000;
	s->withdrawals = 0;
	s->announcements = 0;
	s->link_up = 1;
}

static int feed_quiet(struct pfa_model *m, const char *link, int64_t from, int64_t to, double rtt)
{
	struct pfa_sample s;
	struct pfa_output o;
	int err;

	for (int64_t t = from; t < to; t++) {
		quiet(&s, link, t, rtt);
		err = pfa_model__observe(m, &s, &o);
		if (err)
			return err;
	}
	return 0;
}

static void test_config_check(void)
{
	struct pfa_config cfg;
	const char *why = NULL;

	pfa_config__defaults(&cfg);
	ASSERT_EQ(pfa_config__check(&cfg, &why), 0, "defaults are valid");
	cfg.horizon_s[0] = 120;
	ASSERT_EQ(pfa_config__check(&cfg, &why), -EINVAL, "horizon of 2 min refused");
	ASSERT_TRUE(why && strstr(why, "horizon"), "reason names the horizon");
	ASSERT_TRUE(pfa_model__new(&cfg) == NULL && errno == EINVAL, "new refuses bad config");
	pfa_config__defaults(&cfg);
	cfg.n_horizons = 5;
	ASSERT_EQ(pfa_config__check(&cfg, NULL), -EINVAL, "5 horizons refused");
	pfa_config__defaults(&cfg);
	cfg.fail.rtt_k = 0.5;
	ASSERT_EQ(pfa_config__check(&cfg, NULL), -EINVAL, "RTT factor below 1 refused");
}

static void test_baseline_robust_to_outliers(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;
	struct pfa_link *l;

	if (!ASSERT_TRUE(m, "model"))
		return;
	feed_quiet(m, "a", T0, T0 + 3600, 20);
	/* One 25x spike a minute for an hour: the baseline must not follow. */
	for (int64_t t = T0 + 3600; t < T0 + 7200; t++) {
		quiet(&s, "a", t, 20);
		if (t % 60 == 0)
			s.rtt_p90_ms = 500;
		pfa_model__observe(m, &s, &o);
	}
	l = m->links[0];
	ASSERT_NEAR(exp(l->rtt_mu), 20, 1.0, "baseline RTT stays at 20 ms");
	/* A sustained doubling is a level far above the baseline. */
	for (int64_t t = T0 + 7200; t < T0 + 7500; t++) {
		quiet(&s, "a", t, 40);
		pfa_model__observe(m, &s, &o);
	}
	ASSERT_TRUE(o.x[PFA_F_RTT_LEVEL] > 5, "RTT level feature sees a doubling");
	ASSERT_TRUE(o.x[PFA_F_RTT_TREND_5M] > 1, "5 min trend sees the rise");
	ASSERT_NEAR(exp(l->rtt_mu), 20, 4.0, "baseline moves slowly under a doubling");
	pfa_model__free(m);
}

static void test_probability_matches_contributions(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;
	double w[PFA_NFEAT], z, a;

	if (!ASSERT_TRUE(m, "model"))
		return;
	feed_quiet(m, "a", T0, T0 + 1800, 20);
	quiet(&s, "a", T0 + 1800, 60);
	s.probe_loss = 0.3;
	s.retrans_out = 0.05;
	s.withdrawals = 40;
	ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "observe");
	pfa_model__get_weights(m, 0, w);
	/* The Platt layer has learnt by now: fold it into the weights. */
	a = m->hz[0].champ.cal_a;
	z = w[0];
	for (unsigned i = 1; i < PFA_NFEAT; i++)
		z += w[i] * o.x[i];
	z = a * z + m->hz[0].champ.cal_b;
	ASSERT_TRUE(a != 1.0, "calibration layer has learnt");
	ASSERT_NEAR(o.pred[0].logit, z, 1e-9, "logit is a x weighted sum + b");
	ASSERT_NEAR(o.pred[0].p, 1 / (1 + exp(-z)), 1e-12, "p is the logistic of the logit");
	ASSERT_TRUE(o.pred[0].top[0].feature != 0, "a top contribution is given");
	for (unsigned k = 0; k < PFA_TOP_K; k++) {
		const struct pfa_contrib *c = &o.pred[0].top[k];

		if (!c->feature)
			break;
		ASSERT_NEAR(c->contribution, a * w[c->feature] * o.x[c->feature], 1e-4,
			    "contribution = a x weight x value");
		if (k)
			ASSERT_TRUE(fabsf(o.pred[0].top[k - 1].contribution) >= fabsf(c->contribution),
				    "sorted by magnitude");
	}
	for (unsigned i = 1; i < PFA_NFEAT; i++) {
		bool listed = false;

		for (unsigned k = 0; k < PFA_TOP_K; k++)
			listed |= o.pred[0].top[k].feature == i;
		if (!listed)
			ASSERT_TRUE(fabs(a * w[i] * o.x[i]) <= fabsf(o.pred[0].top[PFA_TOP_K - 1].contribution) + 1e-6,
				    "no unlisted feature contributes more");
	}
	pfa_model__free(m);
}

static void test_failure_link_down(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;
	int onsets = 0;

	if (!ASSERT_TRUE(m, "model"))
		return;
	feed_quiet(m, "a", T0, T0 + 100, 20);
	for (int64_t t = T0 + 100; t < T0 + 400; t++) {
		quiet(&s, "a", t, 20);
		if (t < T0 + 130)
			s.link_up = 0;
		pfa_model__observe(m, &s, &o);
		if (o.onset) {
			onsets++;
			ASSERT_EQ(o.onset_ts, T0 + 100, "onset at the first down second");
		}
		if (t == T0 + 120)
			ASSERT_TRUE(o.in_failure, "failed while down");
		if (t == T0 + 150)
			ASSERT_TRUE(o.in_failure, "still failed within clear_s");
		if (t == T0 + 250)
			ASSERT_TRUE(!o.in_failure && o.recovering, "clear after clear_s, recovering");
	}
	ASSERT_EQ(onsets, 1, "one onset");
	ASSERT_TRUE(!o.recovering, "recovery over after 3 minutes");
	pfa_model__free(m);
}

static void test_failure_probe_loss_sustained(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;
	int64_t seen = 0;

	if (!ASSERT_TRUE(m, "model"))
		return;
	feed_quiet(m, "a", T0, T0 + 100, 20);
	/* 20 s of 60 % loss is not enough (30 s needed); then 40 s is. */
	for (int64_t t = T0 + 100; t < T0 + 300; t++) {
		quiet(&s, "a", t, 20);
		if ((t >= T0 + 100 && t < T0 + 120) || (t >= T0 + 150 && t < T0 + 190))
			s.probe_loss = 0.6;
		pfa_model__observe(m, &s, &o);
		if (o.onset && !seen) {
			seen = t;
			ASSERT_EQ(o.onset_ts, T0 + 150, "onset when the sustained loss began");
		}
	}
	ASSERT_EQ(seen, T0 + 179, "recognised after 30 s");
	pfa_model__free(m);
}

static void test_failure_rtt_and_routes(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;
	int64_t rtt_onset = 0, route_onset = 0;

	if (!ASSERT_TRUE(m, "model"))
		return;
	feed_quiet(m, "a", T0, T0 + 1800, 20);
	feed_quiet(m, "b", T0, T0 + 1800, 20);
	for (int64_t t = T0 + 1800; t < T0 + 2000; t++) {
		quiet(&s, "a", t, t >= T0 + 1850 ? 130 : 20); /* 6.5 x baseline */
		pfa_model__observe(m, &s, &o);
		if (o.onset && !rtt_onset)
			rtt_onset = o.onset_ts;
		quiet(&s, "b", t, 20);
		if (t >= T0 + 1900)
			s.routes = 300; /* 70 % gone */
		pfa_model__observe(m, &s, &o);
		if (o.onset && !route_onset)
			route_onset = o.onset_ts;
	}
	ASSERT_EQ(rtt_onset, T0 + 1850, "RTT >= 5x baseline for 60 s fails from its start");
	ASSERT_EQ(route_onset, T0 + 1900, "routes down 70 % fail at once");
	pfa_model__free(m);
}

static void test_labels_teach_the_weights(void)
{
	uint32_t h = 300;
	struct pfa_model *m = model(1, &h);
	double w0[PFA_NFEAT], w1[PFA_NFEAT];
	struct pfa_calib cal;
	struct pfa_sample s;
	struct pfa_output o;
	double p_before = 0, p_after = 0;

	if (!ASSERT_TRUE(m, "model"))
		return;
	pfa_model__get_weights(m, 0, w0);
	feed_quiet(m, "a", T0, T0 + 3600, 20);
	/* Ten times: withdrawals for 4 minutes, then a failure; learn from it. */
	for (int k = 0; k < 10; k++) {
		int64_t t0 = T0 + 3600 + k * 3600;

		for (int64_t t = t0; t < t0 + 3600; t++) {
			quiet(&s, "a", t, 20);
			if (t >= t0 + 1000 && t < t0 + 1240)
				s.withdrawals = 8;
			if (t >= t0 + 1240 && t < t0 + 1300)
				s.link_up = 0;
			pfa_model__observe(m, &s, &o);
			if (t == t0 + 1200 && k == 0)
				p_before = o.pred[0].p;
			if (t == t0 + 1200 && k == 9)
				p_after = o.pred[0].p;
		}
	}
	pfa_model__get_weights(m, 0, w1);
	pfa_model__calibration(m, 0, &cal);
	ASSERT_TRUE(cal.n > 1000, "predictions were labelled");
	ASSERT_TRUE(cal.positives > 100, "some labelled positive");
	ASSERT_TRUE(w1[PFA_F_WITHDRAW_BURST] > w0[PFA_F_WITHDRAW_BURST],
		    "withdrawal weight grew");
	ASSERT_TRUE(p_after > p_before, "the precursor scores higher after learning");
	printf("  p at the precursor: first %.4f, tenth %.4f\n", p_before, p_after);
	pfa_model__free(m);
}

static void test_no_learning_keeps_weights(void)
{
	struct pfa_config cfg;
	struct pfa_model *m;
	double w0[PFA_NFEAT], w1[PFA_NFEAT];
	struct pfa_calib cal;

	pfa_config__defaults(&cfg);
	cfg.learn = false;
	m = pfa_model__new(&cfg);
	if (!ASSERT_TRUE(m, "model"))
		return;
	pfa_model__get_weights(m, 0, w0);
	feed_quiet(m, "a", T0, T0 + 4000, 20);
	pfa_model__get_weights(m, 0, w1);
	pfa_model__calibration(m, 0, &cal);
	ASSERT_TRUE(!memcmp(w0, w1, sizeof(w0)), "weights unchanged");
	ASSERT_TRUE(cal.n > 0, "calibration still tracked");
	pfa_model__free(m);
}

struct det_ctx {
	struct pfa_model *m;
	uint64_t hash;
	int err;
};

static int det_sample(void *ctx, const struct pfa_sample *s)
{
	struct det_ctx *d = ctx;
	struct pfa_output o;
	uint64_t bits;

	d->err |= pfa_model__observe(d->m, s, &o);
	memcpy(&bits, &o.pred[0].p, sizeof(bits));
	/* FNV-1a over the bits of every probability and contribution. */
	d->hash = (d->hash ^ bits) * 1099511628211ull;
	for (unsigned k = 0; k < PFA_TOP_K; k++) {
		uint32_t c;

		memcpy(&c, &o.pred[0].top[k].contribution, sizeof(c));
		d->hash = (d->hash ^ c ^ o.pred[0].top[k].feature) * 1099511628211ull;
	}
	return 0;
}

static void test_deterministic(void)
{
	struct pfa_synth_cfg sc;
	struct det_ctx a = { .hash = 14695981039346656037ull }, b = a;

	pfa_synth_cfg__defaults(&sc);
	sc.seed = 7;
	sc.n_links = 3;
	sc.duration_s = 6 * 3600;
	sc.fail_per_day = 6;
	a.m = model(0, NULL);
	b.m = model(0, NULL);
	if (!ASSERT_TRUE(a.m && b.m, "models"))
		return;
	ASSERT_EQ(pfa_synth__run(&sc, det_sample, NULL, &a), 0, "run a");
	ASSERT_EQ(pfa_synth__run(&sc, det_sample, NULL, &b), 0, "run b");
	ASSERT_EQ(a.err | b.err, 0, "observe");
	ASSERT_TRUE(a.hash == b.hash, "same input, same output bits");
	pfa_model__free(a.m);
	pfa_model__free(b.m);
}

static void test_duplicate_and_unsorted(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;

	if (!ASSERT_TRUE(m, "model"))
		return;
	quiet(&s, "a", T0 + 10, 20);
	ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "first");
	ASSERT_EQ(pfa_model__observe(m, &s, &o), -EEXIST, "duplicate refused");
	s.ts = T0 + 5;
	ASSERT_EQ(pfa_model__observe(m, &s, &o), -ERANGE, "older refused");
	s.ts = T0 + 11;
	ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "next second accepted");
	s.link[0] = '\0';
	ASSERT_EQ(pfa_model__observe(m, &s, &o), -EINVAL, "empty link refused");
	ASSERT_EQ(pfa_model__label_failure(m, "nope", T0), -ENOENT, "unknown link");
	pfa_model__free(m);
}

static void test_missing_values(void)
{
	struct pfa_model *m = model(0, NULL);
	struct pfa_sample s;
	struct pfa_output o;

	if (!ASSERT_TRUE(m, "model"))
		return;
	for (int64_t t = T0; t < T0 + 100; t++) {
		pfa_sample__init(&s);
		strcpy(s.link, "bare");
		s.ts = t;
		ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "sample with only ts and link");
	}
	ASSERT_TRUE(isfinite(o.pred[0].p) && o.pred[0].p > 0 && o.pred[0].p < 1, "p is finite");
	for (unsigned i = 0; i < PFA_NFEAT; i++)
		ASSERT_TRUE(isfinite(o.x[i]), "features finite");
	pfa_model__free(m);
}

static void test_horizons_and_maintenance(void)
{
	uint32_t h[3] = { 300, 900, 1800 };
	struct pfa_model *m = model(3, h);
	struct pfa_sample s;
	struct pfa_output o;

	if (!ASSERT_TRUE(m, "model"))
		return;
	feed_quiet(m, "a", T0, T0 + 1000, 20);
	quiet(&s, "a", T0 + 1000, 20);
	ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "observe");
	ASSERT_EQ(o.n_pred, 3, "three horizons");
	ASSERT_TRUE(o.pred[0].p < o.pred[1].p && o.pred[1].p < o.pred[2].p,
		    "a longer horizon is likelier to see a failure");
	quiet(&s, "a", T0 + 1001, 20);
	s.maint_in_s = 600;
	ASSERT_EQ(pfa_model__observe(m, &s, &o), 0, "observe");
	ASSERT_EQ(o.pred[0].top[0].feature == PFA_F_MAINT, 0, "5 min horizon: not within");
	ASSERT_EQ(o.pred[1].top[0].feature, PFA_F_MAINT, "15 min horizon: maintenance explains");
	ASSERT_TRUE(o.pred[1].p > 0.3, "planned maintenance within H is likely");
	pfa_model__free(m);
}

static void test_state_roundtrip(void)
{
	char dir[] = "/tmp/pfa-state-XXXXXX", path[64];
	struct pfa_model *a = model(0, NULL), *b = model(0, NULL);
	double wa[PFA_NFEAT], wb[PFA_NFEAT];
	struct pfa_calib ca, cb;

	if (!ASSERT_TRUE(a && b && mkdtemp(dir), "setup"))
		return;
	snprintf(path, sizeof(path), "%s/model", dir);
	pfa_model__get_weights(a, 0, wa);
	wa[PFA_F_LOSS] = 2.5;
	pfa_model__set_weights(a, 0, wa);
	feed_quiet(a, "a", T0, T0 + 3000, 20);
	ASSERT_EQ(pfa_model__save(a, path), 0, "save");
	ASSERT_EQ(pfa_model__load(b, path), 0, "load");
	pfa_model__get_weights(a, 0, wa);
	pfa_model__get_weights(b, 0, wb);
	ASSERT_TRUE(!memcmp(wa, wb, sizeof(wa)), "same weights");
	pfa_model__calibration(a, 0, &ca);
	pfa_model__calibration(b, 0, &cb);
	ASSERT_EQ(cb.n, ca.n, "same calibration counts");
	ASSERT_NEAR(cb.brier, ca.brier, 0, "same Brier");
	unlink(path);
	rmdir(dir);
	pfa_model__free(a);
	pfa_model__free(b);
}

static void test_state_keeps_links(void)
{
	struct pfa_model *a = model(0, NULL), *b = model(0, NULL);
	struct pfa_output oa, ob;
	struct pfa_sample s;
	void *buf = NULL;
	size_t len = 0;

	if (!ASSERT_TRUE(a && b, "models"))
		return;
	feed_quiet(a, "a", T0, T0 + 2000, 20);
	feed_quiet(a, "b", T0, T0 + 2000, 35);
	ASSERT_EQ(pfa_model__serialize(a, &buf, &len), 0, "serialize");
	ASSERT_EQ(pfa_model__deserialize(b, buf, len), 0, "deserialize into a fresh model");
	ASSERT_EQ(pfa_model__n_links(b), 2, "both links restored");
	ASSERT_EQ(pfa_model__link_id(b, "b"), 1, "same ids");
	/* The next sample scores the same as if the controller had not restarted. */
	quiet(&s, "b", T0 + 2000, 80);
	s.probe_loss = 0.2;
	ASSERT_EQ(pfa_model__observe(a, &s, &oa), 0, "observe a");
	ASSERT_EQ(pfa_model__observe(b, &s, &ob), 0, "observe b");
	ASSERT_TRUE(oa.pred[0].p == ob.pred[0].p, "same probability after restore");
	ASSERT_TRUE(ob.warm, "restored link is warm");
	quiet(&s, "b", T0 + 1999, 80);
	ASSERT_EQ(pfa_model__observe(b, &s, &ob), -ERANGE, "restored clock refuses the past");
	/* A link the model already tracks keeps its live state. */
	pfa_model__free(b);
	b = model(0, NULL);
	feed_quiet(b, "a", T0 + 5000, T0 + 5010, 20);
	ASSERT_EQ(pfa_model__deserialize(b, buf, len), 0, "deserialize into a live model");
	ASSERT_EQ(pfa_model__n_links(b), 2, "one live, one restored");
	ASSERT_EQ(pfa_model__link_id(b, "a"), 0, "live link first");
	quiet(&s, "a", T0 + 5010, 20);
	ASSERT_EQ(pfa_model__observe(b, &s, &ob), 0, "live clock kept");
	free(buf);
	pfa_model__free(a);
	pfa_model__free(b);
}

static void test_state_refuses_bad_files(void)
{
	uint32_t two[2] = { 300, 900 };
	struct pfa_model *m = model(0, NULL), *m2 = model(2, two);
	double w0[PFA_NFEAT], w1[PFA_NFEAT];
	uint8_t *buf = NULL, *bad;
	size_t len = 0;

	if (!ASSERT_TRUE(m && m2, "models"))
		return;
	ASSERT_EQ(pfa_model__serialize(m, (void **)&buf, &len), 0, "serialize");
	bad = malloc(len);
	if (!ASSERT_TRUE(bad, "alloc"))
		return;
	pfa_model__get_weights(m, 0, w0);

	memcpy(bad, buf, len);
	bad[len / 2] ^= 0x40;
	ASSERT_EQ(pfa_model__deserialize(m, bad, len), -PFA_ECRC, "flipped bit");
	ASSERT_EQ(pfa_model__deserialize(m, buf, len - 1), -PFA_ETRUNC, "truncated");
	ASSERT_EQ(pfa_model__deserialize(m, "hello world, not a model", 24), -PFA_EMAGIC,
		  "foreign file");
	memcpy(bad, buf, len);
	bad[8] = 99;
	ASSERT_EQ(pfa_model__deserialize(m, bad, len), -PFA_EVERSION, "other version");
	ASSERT_EQ(pfa_model__deserialize(m2, buf, len), -PFA_ESHAPE, "other horizons");
	ASSERT_EQ(pfa_model__deserialize(m, buf, 3), -PFA_EMAGIC, "three bytes");
	ASSERT_EQ(pfa_model__load(m, "/nonexistent/pfa-model"), -ENOENT, "missing file");
	ASSERT_TRUE(strstr(pfa_strerror(-PFA_ECRC), "corrupt") != NULL, "message says corrupt");
	pfa_model__get_weights(m, 0, w1);
	ASSERT_TRUE(!memcmp(w0, w1, sizeof(w0)), "a refused file changes nothing");
	ASSERT_EQ(pfa_model__deserialize(m, buf, len), 0, "the good one loads");
	free(bad);
	free(buf);
	pfa_model__free(m);
	pfa_model__free(m2);
}

int main(void)
{
	RUN(test_config_check);
	RUN(test_baseline_robust_to_outliers);
	RUN(test_probability_matches_contributions);
	RUN(test_failure_link_down);
	RUN(test_failure_probe_loss_sustained);
	RUN(test_failure_rtt_and_routes);
	RUN(test_labels_teach_the_weights);
	RUN(test_no_learning_keeps_weights);
	RUN(test_deterministic);
	RUN(test_duplicate_and_unsorted);
	RUN(test_missing_values);
	RUN(test_horizons_and_maintenance);
	RUN(test_state_roundtrip);
	RUN(test_state_keeps_links);
	RUN(test_state_refuses_bad_files);
	return harness_exit();
}
