/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offline evaluation of PFA against the two detectors an operator would
 * otherwise use, on the same trace:
 *
 *   threshold  static rule on 1-minute averages: RTT p90 >= 150 ms, loss
 *              >= 1 %, probe loss >= 5 %, utilization >= 90 % (score: the
 *              largest value / threshold ratio; alarm at 1)
 *   zscore     EWMA z-score (1 h mean and variance) of the 30 s averages
 *              of log RTT, loss, probe loss, utilization and withdrawals
 *              (score: the largest z; alarm at 4)
 *
 * Metrics, per detector, for horizon H: event recall (a failure counts as
 * predicted if the detector was alarming at some point in the H before
 * it), precision of alarms (an alarm is a rising edge, at most one per
 * link per 5 minutes, true if a failure follows within H), false alarms per
 * link-day (the failure itself and the recovery_s after it are not judged),
 * lead time (median, 10th percentile), Brier score, PR-AUC
 * (average precision over samples), and recall at a common false-alarm
 * rate (each detector's threshold moved until it makes no more false
 * alarms than the target).
 */
#ifndef PRESAGE_PFA_EVAL_H
#define PRESAGE_PFA_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pfa/pfa.h"

enum pfa_det {
	PFA_DET_PFA,
	PFA_DET_THRESH,
	PFA_DET_ZSCORE,
	PFA_NDET,
};

const char *pfa_det__name(unsigned d);

/* Per-link state of the two baseline detectors. */
struct pfa_base;
struct pfa_base *pfa_base__new(void);
void pfa_base__free(struct pfa_base *b);
/* Scores of both baselines for @s of link @link_id. 0, -ENOMEM. */
int pfa_base__observe(struct pfa_base *b, uint32_t link_id, const struct pfa_sample *s,
		      double *thresh_score, double *z_score);

struct pfa_eval_cfg {
	/* Horizons evaluated, each with its own PFA probability per sample. */
	unsigned n_horizons;
	uint32_t horizon_s[PFA_MAX_HORIZONS];
	double thr[PFA_NDET]; /* native alarm thresholds */
	double fa_target; /* false alarms per link-day for the matched comparison */
	uint32_t refractory_s;
	uint32_t skip_s; /* ignore each link's first seconds (baselines settle) */
	uint32_t recovery_s; /* after a failure ends, not judged either */
};

void pfa_eval_cfg__defaults(struct pfa_eval_cfg *cfg);

struct pfa_eval_det {
	uint64_t alarms, true_alarms, false_alarms;
	uint64_t predicted, predicted_pre; /* events with an alarm in the H before */
	double recall, recall_pre, precision, fa_per_day;
	double lead_med, lead_p10, lead_pre_med; /* seconds; NaN if none */
	double brier, pr_auc;
	double thr_at_fa, recall_at_fa, fa_at_fa;
};

struct pfa_eval_result {
	uint32_t horizon_s;
	uint64_t samples, eligible, positives;
	uint64_t events, events_pre; /* scored failures; with a precursor */
	uint64_t events_planned; /* in a planned window: not scored */
	double link_days;
	double fa_target;
	struct pfa_eval_det det[PFA_NDET];
};

/*
 * Samples are kept per link, 4 bytes of time and failure state plus a
 * float per score (PFA's for every horizon, then the two baselines): 16
 * bytes a sample with one horizon. Samples of a link must come in time
 * order (as the model accepts them).
 */
struct pfa_eval;
struct pfa_eval *pfa_eval__new(const struct pfa_eval_cfg *cfg);
void pfa_eval__free(struct pfa_eval *e);
/*
 * One sample's scores: PFA's probability for every horizon of the config
 * (@p), then the two baselines'. 0, -ENOMEM, -EINVAL (link id too large,
 * ts older than the link's previous sample or more than 30 years after
 * its first).
 */
int pfa_eval__sample_h(struct pfa_eval *e, uint32_t link_id, int64_t ts, bool in_failure,
		       const double *p, double thresh_score, double z_score);
/* Same for one horizon: score[PFA_DET_PFA] is PFA's probability. */
int pfa_eval__sample(struct pfa_eval *e, uint32_t link_id, int64_t ts, bool in_failure,
		     const double score[PFA_NDET]);
/* A failure began on @link_id at @ts. */
int pfa_eval__onset(struct pfa_eval *e, uint32_t link_id, int64_t ts, bool precursor);
/*
 * A failure began at @ts inside a planned maintenance window: it is not
 * scored, and samples and alarms whose horizon holds it (and no other
 * failure) are not judged.
 */
int pfa_eval__onset_planned(struct pfa_eval *e, uint32_t link_id, int64_t ts);
/* Results for horizon index @h of the config (pfa_eval__finish: the first). */
int pfa_eval__finish_h(struct pfa_eval *e, unsigned h, struct pfa_eval_result *r);
int pfa_eval__finish(struct pfa_eval *e, struct pfa_eval_result *r);
/* Bytes the evaluation holds now (for the memory figure). */
size_t pfa_eval__bytes(const struct pfa_eval *e);

#endif
