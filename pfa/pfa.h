/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PFA: predictive failure analysis of CDN interconnects.
 *
 * The library core has no I/O: health samples go in, one per interconnect
 * per tick, and P(the interconnect fails within H) comes out for each
 * configured horizon H, with the features that contributed most. The same
 * failure definition that labels the past (link down, sustained probe loss,
 * sustained RTT over k x baseline, routes gone) labels every prediction
 * once its horizon has passed, and the weights learn from those labels.
 *
 * Life cycle, as the controller uses it:
 *
 *	struct pfa_config cfg;
 *	pfa_config__defaults(&cfg);
 *	m = pfa_model__new(&cfg);
 *	pfa_model__load(m, path);          // optional; refuses foreign files
 *	for each sample: pfa_model__observe(m, &s, &out);
 *	pfa_model__label_failure(m, link, ts); // failures known from elsewhere
 *	pfa_model__save(m, path);
 *	pfa_model__free(m);
 *
 * Everything is deterministic: the same samples in the same order give the
 * same outputs, bit for bit (no clock, no random numbers, no hash seeds).
 */
#ifndef PRESAGE_PFA_H
#define PRESAGE_PFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PFA_LINK_NAME_MAX 32
/* Horizons that may run at once; each has its own weights. */
#define PFA_MAX_HORIZONS 4
#define PFA_HORIZON_MIN_S 300
#define PFA_HORIZON_MAX_S 1800
/* Contributions reported with each probability. */
#define PFA_TOP_K 3
/* Interconnects one model tracks; a POP has tens, a controller hundreds. */
#define PFA_MAX_LINKS 4096
/* Planned maintenance windows one model holds (ended ones are dropped first). */
#define PFA_MAINT_MAX 4096

/*
 * One health sample of one interconnect, as the agent produces it each
 * tick. A value that is missing is NaN (see pfa_sample__init), a missing
 * link state is -1. Rates are fractions (0..1), RTTs milliseconds.
 */
struct pfa_sample {
	int64_t ts; /* Unix seconds */
	char link[PFA_LINK_NAME_MAX];
	double rtt_count; /* RTT samples in the tick; 0 = no RTT this tick */
	double rtt_min_ms;
	double rtt_p50_ms;
	double rtt_p90_ms; /* the quantile the model and the failure definition use */
	double rtt_p99_ms;
	double rtt_max_ms;
	double retrans_in; /* retransmitted / data segments, ingress */
	double retrans_out; /* same, egress */
	double probe_rtt_ms;
	double probe_loss; /* ICMP probes lost / sent in the tick */
	double rx_bps;
	double tx_bps;
	double capacity_bps;
	double utilization; /* max(rx, tx) / capacity; computed if NaN */
	double routes; /* prefixes installed through the link */
	double announcements; /* in the tick */
	double withdrawals; /* in the tick */
	/* Seconds until planned maintenance starts (0 inside it), NaN if none. */
	double maint_in_s;
	int link_up; /* 1 up, 0 down, -1 unknown */
};

/* Set every value to missing; ts and link to zero. */
void pfa_sample__init(struct pfa_sample *s);

/* The features, in the order of the weight vector (index 0 is the bias). */
enum pfa_feature {
	PFA_F_BIAS = 0,
	PFA_F_RTT_LEVEL, /* z of log RTT p90 against the link's baseline */
	PFA_F_RTT_TREND_1M, /* slope of log RTT over ~1 min, in baseline sigmas */
	PFA_F_RTT_TREND_5M, /* slope over ~5 min */
	PFA_F_RTT_VOLATILITY, /* short-term jitter against the baseline's */
	PFA_F_LOSS, /* retransmission rate, log scale */
	PFA_F_LOSS_TREND, /* rising retransmissions */
	PFA_F_PROBE_LOSS,
	PFA_F_UTIL, /* utilization above 70 % */
	PFA_F_UTIL_TREND,
	PFA_F_CHURN, /* announcements + withdrawals against the link's usual */
	PFA_F_WITHDRAW_BURST,
	PFA_F_ROUTE_LOSS, /* routes below the link's baseline */
	PFA_F_RECENT_FAIL, /* failures in the last hours, decayed */
	PFA_F_FLAP, /* link state changes in the last minutes, decayed */
	PFA_F_MISSING, /* share of missing RTT/probe values */
	PFA_F_MAINT, /* maintenance planned within the horizon */
	PFA_NFEAT,
};

const char *pfa_feature__name(unsigned f);

/*
 * What counts as a failure. The same definition labels predictions for
 * learning and, in replay, the trace when no event file is given. A
 * sustained condition fails at the second it began, once it has held for
 * its duration; a failure ends when every condition has been clear for
 * clear_s seconds.
 */
struct pfa_failure_def {
	bool link_down;
	double probe_loss_pct; /* probe loss >= this ... (0 disables) */
	uint32_t probe_loss_s; /* ... for this many seconds */
	double rtt_k; /* RTT p90 >= k x baseline ... (0 disables) */
	uint32_t rtt_s; /* ... for this many seconds */
	double routes_drop_pct; /* routes fall by this % from baseline (0 disables) */
	uint32_t clear_s;
};

struct pfa_config {
	unsigned n_horizons;
	uint32_t horizon_s[PFA_MAX_HORIZONS];
	struct pfa_failure_def fail;
	/* Derive failures from the definition (else only label_failure). */
	bool auto_label;
	/* Learn from labelled predictions. */
	bool learn;
	double lr; /* AdaGrad base step */
	double l2; /* pull towards the prior weights */
	uint32_t train_every_s; /* one training example per link per this */
	uint32_t warmup_s; /* no learning from a link's first seconds */
};

void pfa_config__defaults(struct pfa_config *cfg);
/* 0 or -EINVAL with the reason in pfa_config__check's return. */
int pfa_config__check(const struct pfa_config *cfg, const char **why);

/*
 * Read the failure definition and horizons from text (pfa/config.c has
 * the format), over what @cfg holds: keys not in the text keep their
 * values. 0, or -EINVAL with "line N: what is wrong: expected what" in
 * @err, and @cfg unchanged. No I/O: the caller reads the file.
 */
int pfa_config__parse(struct pfa_config *cfg, const char *buf, size_t len, char *err,
		      size_t errlen);

struct pfa_contrib {
	uint8_t feature; /* enum pfa_feature */
	float value; /* the feature's value */
	float contribution; /* weight x value, in log-odds */
};

struct pfa_pred {
	uint32_t horizon_s;
	double p; /* P(failure within horizon_s) */
	double logit;
	struct pfa_contrib top[PFA_TOP_K]; /* largest |contribution| first */
};

struct pfa_output {
	int64_t ts;
	uint32_t link_id; /* stable index of the link in this model */
	bool warm; /* the link's baseline has settled */
	bool in_failure; /* the link is failed now: p is still given, not meaningful */
	bool recovering; /* failure ended less than 3 minutes ago */
	/* A failure was recognised at this sample; it began at onset_ts. */
	bool onset;
	/* That onset lies inside a planned maintenance window (see pfa_model__maintenance_add). */
	bool planned;
	int64_t onset_ts;
	unsigned n_pred;
	struct pfa_pred pred[PFA_MAX_HORIZONS];
	float x[PFA_NFEAT]; /* feature values (without the maintenance one) */
};

/* Calibration of one horizon over the labelled predictions so far. */
#define PFA_CALIB_BINS 10
struct pfa_calib {
	uint64_t n; /* labelled predictions */
	uint64_t positives;
	double brier; /* mean (p - y)^2 */
	double brier_recent; /* exponentially weighted, ~5000 predictions */
	uint64_t promotions; /* times a challenger replaced the weights */
	uint64_t bin_n[PFA_CALIB_BINS];
	double bin_p[PFA_CALIB_BINS]; /* mean predicted p per bin */
	double bin_y[PFA_CALIB_BINS]; /* observed failure rate per bin */
};

/* Domain errors, returned negated, below the errno range. */
enum pfa_err {
	PFA_EMAGIC = 4096 + 1, /* not a PFA model file */
	PFA_EVERSION, /* a PFA model file of another version */
	PFA_ESHAPE, /* features or horizons differ from this build/config */
	PFA_ECRC, /* checksum mismatch: corrupt */
	PFA_ETRUNC, /* shorter than its header says */
	PFA_EVALUE, /* a weight is NaN or absurd */
};

/* Text for a negative errno or a negated enum pfa_err. */
const char *pfa_strerror(int err);

struct pfa_model;

/* NULL with errno EINVAL (bad config) or ENOMEM. */
struct pfa_model *pfa_model__new(const struct pfa_config *cfg);
void pfa_model__free(struct pfa_model *m);
const struct pfa_config *pfa_model__config(const struct pfa_model *m);

/*
 * Feed one sample; fills @out. Returns 0, -EINVAL (empty link name,
 * ts <= 0), -ENOSPC (too many links), -EEXIST (the link already has a
 * sample at this second: the duplicate is ignored) or -ERANGE (older than
 * the link's last sample: ignored).
 */
int pfa_model__observe(struct pfa_model *m, const struct pfa_sample *s, struct pfa_output *out);

/*
 * A failure of @link began at @onset_ts (known from elsewhere: an
 * operator, an event file). Predictions made in the horizon before it are
 * labelled positive when they come due. 0, -ENOENT (unknown link), -EINVAL.
 */
int pfa_model__label_failure(struct pfa_model *m, const char *link, int64_t onset_ts);

/*
 * Planned maintenance calendar. @link is planned to be down in [@start,
 * @end) (Unix seconds). The link need not be known yet. From then on the
 * feature "maintenance" is on for every horizon that reaches @start (as
 * with a sample's maint_in_s, the nearer of the two counts), and a failure
 * whose onset lies in the window is *planned*: out.planned is set at its
 * onset, and pfa_model__planned says so for any time.
 *
 * A planned failure still labels the predictions before it positive and
 * trains the model: P is the probability that the link goes down, and the
 * maintenance feature, which carries it, stays calibrated only if it
 * learns. It is not a surprise: the controller should not page for it, and
 * replay does not score it (see docs/pfa.md).
 *
 * 0; -EINVAL (empty or too long link name, start <= 0, end <= start);
 * -EEXIST (the same window is already there); -ENOSPC (PFA_MAINT_MAX
 * windows, after dropping those that ended more than a horizon before the
 * newest sample); -ENOMEM.
 */
int pfa_model__maintenance_add(struct pfa_model *m, const char *link, int64_t start, int64_t end);
/* Remove every window of @link (NULL: of every link); returns how many. */
unsigned pfa_model__maintenance_clear(struct pfa_model *m, const char *link);
unsigned pfa_model__n_maintenance(const struct pfa_model *m);
/* Does a planned window of @link contain @ts? */
bool pfa_model__planned(const struct pfa_model *m, const char *link, int64_t ts);

/* Id of a link by name, or -ENOENT. */
int pfa_model__link_id(const struct pfa_model *m, const char *name);
/* Name of a link id, or NULL. */
const char *pfa_model__link_name(const struct pfa_model *m, uint32_t link_id);
unsigned pfa_model__n_links(const struct pfa_model *m);

/* Weights of horizon @h (PFA_NFEAT doubles). 0 or -EINVAL. */
int pfa_model__get_weights(const struct pfa_model *m, unsigned h, double *w);
int pfa_model__set_weights(struct pfa_model *m, unsigned h, const double *w);
/* The built-in prior weights (what a new model starts from). */
void pfa_weights__default(uint32_t horizon_s, double *w);

int pfa_model__calibration(const struct pfa_model *m, unsigned h, struct pfa_calib *c);
/* Forget calibration counts (e.g. to measure a period on its own). */
void pfa_model__reset_calibration(struct pfa_model *m);

/*
 * Model state (both learners of every horizon, calibration, every link's
 * baselines, averages, failure state and pending predictions, and the
 * maintenance calendar) as a versioned, checksummed byte string, and back:
 * a model restored from it continues bit for bit as if it had never
 * stopped. Version 1 files (without pending predictions, failure timers
 * and calendar) still load. Deserialize checks everything before it
 * changes the model: on error the model is left as it was (except -ENOMEM
 * while adding links: the weights are in, some links start afresh). Links
 * the model already tracks keep their live state; calendar windows are
 * added to the model's.
 */
int pfa_model__serialize(const struct pfa_model *m, void **buf, size_t *len);
int pfa_model__deserialize(struct pfa_model *m, const void *buf, size_t len);

/* Atomic save and checked load (pfa/state.c). */
int pfa_model__save(const struct pfa_model *m, const char *path);
int pfa_model__load(struct pfa_model *m, const char *path);

/* Bytes one tracked link costs (for the benchmark's memory figure). */
size_t pfa_model__link_bytes(const struct pfa_model *m);
/* Bytes of the model object without its links. */
size_t pfa_model__size(void);

#endif
