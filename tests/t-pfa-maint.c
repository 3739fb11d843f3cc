// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA maintenance calendar (feature, planned failures) and the evaluation
 * of several horizons with planned failures left out.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "harness.h"
#include "pfa/eval.h"
#include "pfa/pfa.h"

#define T0 1767225600

static struct pfa_model *model2(void)
{
	struct pfa_config cfg;

	pfa_config__defaults(&cfg);
	cfg.n_horizons = 2;
	cfg.horizon_s[0] = 300;
	cfg.horizon_s[1] = 900;
	return pfa_model__new(&cfg);
}

static int observe(struct pfa_model *m, const char *link, int64_t ts, int up, struct pfa_output *o)
{
	struct pfa_sample s;

	pfa_sample__init(&s);
	strcpy(s.link, link);
	s.ts = ts;
	s.rtt_p90_ms = 20 * (1 + 0.02 * sin((double)ts));
	s.probe_loss = 0;
	s.link_up = up;
	return pfa_model__observe(m, &s, o);
}

static bool maint_on(const struct pfa_pred *p)
{
	for (unsigned k = 0; k < PFA_TOP_K; k++)
		if (p->top[k].feature == PFA_F_MAINT)
			return true;
	return false;
}

static void test_calendar_drives_the_feature(void)
{
	struct pfa_model *m = model2();
	struct pfa_output o;

	if (!ASSERT_TRUE(m, "model"))
		return;
	for (int64_t t = T0; t < T0 + 1000; t++)
		observe(m, "a", t, 1, &o);
	ASSERT_TRUE(!maint_on(&o.pred[0]) && !maint_on(&o.pred[1]), "nothing planned yet");
	ASSERT_EQ(pfa_model__maintenance_add(m, "a", T0 + 1600, T0 + 2200), 0, "add");
	ASSERT_EQ(pfa_model__maintenance_add(m, "a", T0 + 1600, T0 + 2200), -EEXIST, "same again");
	ASSERT_EQ(pfa_model__maintenance_add(m, "a", T0 + 1600, T0 + 1600), -EINVAL, "empty window");
	ASSERT_EQ(pfa_model__maintenance_add(m, "", T0 + 1600, T0 + 1700), -EINVAL, "no link");
	ASSERT_EQ(pfa_model__maintenance_add(m, "not-yet-seen", T0 + 10, T0 + 20), 0,
		  "a link not seen yet");
	ASSERT_EQ(observe(m, "a", T0 + 1000, 1, &o), 0, "observe");
	ASSERT_TRUE(!maint_on(&o.pred[0]), "600 s ahead: not within 5 min");
	ASSERT_TRUE(maint_on(&o.pred[1]) && o.pred[1].p > 0.3, "600 s ahead: within 15 min");
	ASSERT_EQ(observe(m, "a", T0 + 1400, 1, &o), 0, "observe");
	ASSERT_TRUE(maint_on(&o.pred[0]), "200 s ahead: within 5 min");
	ASSERT_EQ(observe(m, "a", T0 + 1700, 1, &o), 0, "observe");
	ASSERT_TRUE(maint_on(&o.pred[0]), "inside the window");
	ASSERT_TRUE(pfa_model__planned(m, "a", T0 + 1700), "planned inside");
	ASSERT_TRUE(!pfa_model__planned(m, "a", T0 + 2200), "end is exclusive");
	ASSERT_TRUE(!pfa_model__planned(m, "b", T0 + 1700), "other link");
	ASSERT_EQ(observe(m, "a", T0 + 2200, 1, &o), 0, "observe");
	ASSERT_TRUE(!maint_on(&o.pred[1]), "after the window: off");
	/* Cleared: the feature goes off at once. */
	ASSERT_EQ(pfa_model__maintenance_add(m, "a", T0 + 2500, T0 + 2600), 0, "add another");
	ASSERT_EQ(observe(m, "a", T0 + 2300, 1, &o), 0, "observe");
	ASSERT_TRUE(maint_on(&o.pred[1]), "next window ahead");
	ASSERT_EQ(pfa_model__maintenance_clear(m, "a"), 2, "two windows of a cleared");
	ASSERT_EQ(pfa_model__n_maintenance(m), 1, "the other link's kept");
	ASSERT_EQ(observe(m, "a", T0 + 2301, 1, &o), 0, "observe");
	ASSERT_TRUE(!maint_on(&o.pred[1]), "cleared: off");
	pfa_model__free(m);
}

static void test_failure_in_window_is_planned(void)
{
	struct pfa_model *m = model2();
	struct pfa_output o;
	int planned = -1, surprise = -1;

	if (!ASSERT_TRUE(m, "model"))
		return;
	ASSERT_EQ(pfa_model__maintenance_add(m, "a", T0 + 1000, T0 + 1300), 0, "add");
	for (int64_t t = T0; t < T0 + 3000; t++) {
		int up = !((t >= T0 + 1100 && t < T0 + 1200) || (t >= T0 + 2000 && t < T0 + 2100));

		ASSERT_EQ(observe(m, "a", t, up, &o), 0, "observe");
		if (o.onset && o.onset_ts == T0 + 1100)
			planned = o.planned;
		if (o.onset && o.onset_ts == T0 + 2000)
			surprise = o.planned;
	}
	ASSERT_EQ(planned, 1, "link down inside the window: a planned failure");
	ASSERT_EQ(surprise, 0, "link down outside: not planned");
	pfa_model__free(m);
}

/*
 * One link, 4 h; PFA's score for the 15 min horizon rises 10 min before
 * each failure, the 5 min one never does. Failure 1 is a surprise, failure
 * 2 planned.
 */
static void test_eval_every_horizon_and_planned(void)
{
	struct pfa_eval_cfg ec;
	struct pfa_eval_result r0, r1;
	struct pfa_eval *e;
	const int64_t f1 = T0 + 7200, f2 = T0 + 10800;

	pfa_eval_cfg__defaults(&ec);
	ec.n_horizons = 2;
	ec.horizon_s[0] = 300;
	ec.horizon_s[1] = 900;
	e = pfa_eval__new(&ec);
	if (!ASSERT_TRUE(e, "eval"))
		return;
	for (int64_t t = T0; t < T0 + 4 * 3600; t++) {
		bool fail = (t >= f1 && t < f1 + 120) || (t >= f2 && t < f2 + 120);
		bool warn = (t >= f1 - 600 && t < f1) || (t >= f2 - 600 && t < f2);
		double p[2] = { 0.01, warn ? 0.9 : 0.01 };

		if (pfa_eval__sample_h(e, 0, t, fail, p, 0.1, 0.1))
			break;
	}
	ASSERT_EQ(pfa_eval__sample_h(e, 0, T0, false, (double[2]){ 0, 0 }, 0, 0), -EINVAL,
		  "older sample refused");
	ASSERT_EQ(pfa_eval__onset(e, 0, f1, true), 0, "onset");
	ASSERT_EQ(pfa_eval__onset_planned(e, 0, f2), 0, "planned onset");
	ASSERT_EQ(pfa_eval__finish_h(e, 0, &r0), 0, "finish 300");
	ASSERT_EQ(pfa_eval__finish_h(e, 1, &r1), 0, "finish 900");
	ASSERT_EQ(pfa_eval__finish_h(e, 2, &r1) == -EINVAL, 1, "no third horizon");
	ASSERT_EQ(pfa_eval__finish_h(e, 1, &r1), 0, "finish 900 again");
	ASSERT_EQ(r0.horizon_s, 300, "first block");
	ASSERT_EQ(r1.horizon_s, 900, "second block");
	ASSERT_EQ(r1.events, 1, "the planned failure is not scored");
	ASSERT_EQ(r1.events_planned, 1, "but counted");
	ASSERT_NEAR(r1.det[PFA_DET_PFA].recall, 1, 0, "15 min: the surprise failure predicted");
	ASSERT_NEAR(r1.det[PFA_DET_PFA].lead_med, 600, 0, "lead 10 min");
	ASSERT_EQ(r1.det[PFA_DET_PFA].false_alarms, 0, "the alarm before the planned one is not false");
	ASSERT_EQ(r1.det[PFA_DET_PFA].alarms, 1, "nor counted at all");
	ASSERT_NEAR(r0.det[PFA_DET_PFA].recall, 0, 0, "5 min: its score never rose");
	ASSERT_TRUE(r1.positives == 900 && r0.positives == 300, "positives: H seconds before the surprise");
	ASSERT_TRUE(pfa_eval__bytes(e) < 20 * 4 * 3600 + 65536 * 16, "compact: no copy of 20 bytes a sample");
	pfa_eval__free(e);
}

int main(void)
{
	RUN(test_calendar_drives_the_feature);
	RUN(test_failure_in_window_is_planned);
	RUN(test_eval_every_horizon_and_planned);
	return harness_exit();
}
