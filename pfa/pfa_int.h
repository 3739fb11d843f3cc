/* SPDX-License-Identifier: GPL-2.0-only */
/* PFA internals shared by model.c and serialize.c; not for other parts. */
#ifndef PRESAGE_PFA_INT_H
#define PRESAGE_PFA_INT_H

#include "pfa/pfa.h"

/* Power of two, twice PFA_MAX_LINKS, so probing always finds a hole. */
#define PFA_HASH_SIZE 8192
/* Failure onsets remembered per link: enough for a flapping link's horizon. */
#define PFA_ONSETS 32
/* Weights beyond this are a bug or a corrupt file, not a model. */
#define PFA_W_MAX 50.0
/* Platt slope: beyond this the score is a step function. */
#define PFA_A_MAX 10.0
/* After a failure ends, its echo in the averages is not a precursor. */
#define PFA_RECOVERY_S 180
/*
 * Champion and challenger: the challenger takes over when its recent Brier
 * is below PFA_PROMOTE_RATIO of the champion's, after PFA_PROMOTE_MIN
 * labelled predictions with PFA_PROMOTE_POS failures among them: enough
 * that luck on a quiet day does not replace good weights.
 */
#define PFA_PROMOTE_RATIO 0.8
#define PFA_PROMOTE_MIN 20000
#define PFA_PROMOTE_POS 300
/* Recent Brier: exponential window of about this many labelled predictions. */
#define PFA_BRIER_WINDOW 20000.0
/* A challenger starts knowing only the base rate: about 0.3 % per 15 min. */
#define PFA_CHALL_BIAS (-5.8)

/* A prediction waiting for its horizon to pass. */
struct pfa_pending {
	int64_t ts;
	double p;
	float x[PFA_NFEAT];
};

struct pfa_link {
	char name[PFA_LINK_NAME_MAX];
	uint32_t id;
	int64_t first_ts, last_ts, next_train_ts;

	/* log RTT: baseline (robust) and fast averages for level and trend */
	bool rtt_init;
	double rtt_mu, rtt_var;
	double f10, f60, f300, dev;

	bool loss_init, util_init, routes_init;
	double loss30, loss300, probe30;
	double util60, util600;
	double churn60, churn_base, wd30, wd_base;
	double routes10, routes_base;
	double recent_fail, flap, missing60, maint_in;
	int last_up;

	/* failure definition state */
	bool in_failure;
	int64_t clear_since, probe_bad_since, rtt_bad_since, fail_end_ts;
	bool restart; /* short averages restart at the next sample */
	int64_t onsets[PFA_ONSETS];
	unsigned n_onsets;

	struct pfa_pending *pend[PFA_MAX_HORIZONS];
	unsigned pend_head[PFA_MAX_HORIZONS], pend_n[PFA_MAX_HORIZONS];

	/*
	 * The link's next planned window from the calendar, cached: looked up
	 * again only when the calendar changes (maint_gen) or the window ends.
	 * Derived state, not saved.
	 */
	uint64_t maint_gen;
	int64_t maint_start, maint_end; /* maint_end 0: none planned */
};

/* One planned maintenance window of the calendar. */
struct pfa_maint {
	char link[PFA_LINK_NAME_MAX];
	int64_t start, end; /* [start, end) */
};

struct pfa_calib_acc {
	uint64_t n, pos;
	double brier_sum, brier_recent;
	uint64_t bin_n[PFA_CALIB_BINS];
	double bin_p[PFA_CALIB_BINS], bin_y[PFA_CALIB_BINS];
};

/* One weight vector with its optimiser and Platt layer. */
struct pfa_learner {
	double w[PFA_NFEAT];
	double prior[PFA_NFEAT]; /* L2 pulls towards these */
	double g2[PFA_NFEAT]; /* AdaGrad accumulators */
	double cal_a, cal_b; /* Platt scaling of w . x */
	double cal_g2[2];
	double brier_ew; /* recent Brier, measured before each update */
	uint64_t n_updates;
};

struct pfa_horizon {
	uint32_t horizon_s;
	size_t pend_cap;
	struct pfa_learner champ; /* serves the predictions */
	struct pfa_learner chall; /* learns from scratch alongside */
	uint64_t promotions;
	uint64_t chall_pos; /* failures the challenger has seen */
	struct pfa_calib_acc cal;
};

struct pfa_model {
	struct pfa_config cfg;
	double a1[16]; /* EWMA steps for dt = 1 s, per time constant */
	struct pfa_horizon hz[PFA_MAX_HORIZONS];
	unsigned n_links;
	struct pfa_link *links[PFA_MAX_LINKS];
	int32_t hash[PFA_HASH_SIZE];
	/* Maintenance calendar, in the order added; gen counts changes. */
	struct pfa_maint *maint;
	unsigned n_maint, maint_cap;
	uint64_t maint_gen;
};

/* Link table (model.c): find by name (else the free hash slot), add at that slot. */
struct pfa_link *pfa_link__find(const struct pfa_model *m, const char *name, unsigned *slot);
struct pfa_link *pfa_link__add(struct pfa_model *m, const char *name, unsigned slot, int *err);
/* Bytes of the largest state file this model could have written (state.c's read limit). */
size_t pfa_state__max_bytes(const struct pfa_model *m);

#endif
