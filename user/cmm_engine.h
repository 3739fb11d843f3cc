/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller's decisions, free of I/O so that tests drive them with a
 * fake clock: per-POP inputs (risk, failed, unknown) in, per-hostname
 * transitions out. A transition carries the journal rows (one per action)
 * that the caller writes (and fsyncs) before it acts; the engine's state
 * has already moved when step() returns, and the caller persists it in the
 * same transaction as the journal rows.
 *
 * State machine (docs/controller.md): NORMAL -> AT_RISK -> STAGED, back to
 * NORMAL on exit (hysteresis + dwell); any -> FAILED_OVER on a real failure
 * of the primary; FAILED_OVER -> RECOVERING after healthy-dwell; RECOVERING
 * -> NORMAL when the re-sync is done. Unknown data never moves anything.
 */
#ifndef PRESAGE_CMM_ENGINE_H
#define PRESAGE_CMM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmm_config.h"

enum cmm_state {
	CMM_NORMAL = 0,
	CMM_AT_RISK,
	CMM_STAGED,
	CMM_FAILED_OVER,
	CMM_RECOVERING,
	CMM_NSTATES,
};

const char *cmm_state_name(enum cmm_state s);
/* -1 if not a state name. */
int cmm_state_from_name(const char *s);

enum cmm_action {
	CMM_ACT_NONE = 0,
	CMM_ACT_MIRROR_ORDER,	/* order target to pull the hot set from the primary */
	CMM_ACT_DNS_STEER,	/* name -> target's addresses, flag */
	CMM_ACT_DNS_RESTORE,	/* name -> primary's addresses, flag removed */
	CMM_ACT_PRIMARY_OFF,	/* primary's store: host not primary */
	CMM_ACT_PRIMARY_ON,	/* primary's store: host primary (resync pending) */
	CMM_ACT_RESYNC_ORDER,	/* order the primary to pull the host from serving */
	CMM_NACTS,
};

const char *cmm_action_name(enum cmm_action a);
int cmm_action_from_name(const char *s);

/* What the controller knows about one POP at one instant. */
struct cmm_pop_input {
	bool known;		/* fresh data (not stale, agent answering) */
	bool failed;		/* real failure (all links down, routes gone, probe loss) */
	double risk;		/* sum of traffic share x P(fail within horizon) */
	char why[256];		/* the numbers behind risk/failed, for reasons */
};

#define CMM_MAX_ACTS 3

struct cmm_decision {
	int host;
	enum cmm_state from, to;
	int pop;		/* the primary */
	int target;		/* the POP acted toward (-1 none) */
	int nacts;
	enum cmm_action act[CMM_MAX_ACTS];
	int act_pop[CMM_MAX_ACTS];	/* the POP each action is aimed at */
	char reason[512];
};

struct cmm_host_state {
	enum cmm_state state;
	int64_t since_ms;
	int serving;		/* POP whose addresses DNS gives now */
	int target;		/* B while AT_RISK/STAGED/FAILED_OVER/RECOVERING, else -1 */
	int64_t last_journal_id;
	/* timers, not persisted (a restart restarts them: conservative) */
	int64_t enter_since_ms;	/* risk >= enter since (0: not) */
	int64_t exit_since_ms;	/* risk <= exit since */
	int64_t healthy_since_ms;
	int64_t stage_started_ms;
	int stage_tries;
	bool job_done;		/* the current mirror job (stage or re-sync) is done */
};

struct cmm_engine {
	const struct cmm_config *cfg;
	struct cmm_pop_input pops[CMM_MAX_POPS];
	struct cmm_host_state hosts[CMM_MAX_HOSTS];
};

/* Every hostname NORMAL, serving its primary, since @now_ms; every POP unknown. */
void cmm_engine__init(struct cmm_engine *e, const struct cmm_config *cfg, int64_t now_ms);
/* Restore one hostname's persisted state (restart). */
void cmm_engine__restore(struct cmm_engine *e, int host, enum cmm_state st, int64_t since_ms,
			 int serving, int target, int64_t last_journal_id);
void cmm_engine__set_pop(struct cmm_engine *e, int pop, const struct cmm_pop_input *in);
/* The mirror job of @host's current state finished and was verified. */
void cmm_engine__job_done(struct cmm_engine *e, int host);
/*
 * Step every hostname at @now_ms; fills up to @max decisions and returns
 * how many. At most one transition per hostname per step.
 */
size_t cmm_engine__step(struct cmm_engine *e, int64_t now_ms, struct cmm_decision *out,
			size_t max);
/*
 * The healthy POP to send @host to instead of its primary: known, not
 * failed, residency allows it; lowest risk (every risk at or below exit counts as 0), then linked to the primary,
 * then cheapest link. -1 if none.
 */
int cmm_engine__pick_target(const struct cmm_engine *e, int host);

/* One fresh interconnect of a POP, as cmm_pop_assess sees it. */
struct cmm_ic_view {
	const char *name;
	int link_up;		/* 1, 0, -1 unknown */
	double routes;		/* NaN: not reported */
	double probe_loss;	/* NaN: no probes */
	double p;		/* P(fail within horizon); 0 without a prediction */
	bool have_p;
	double bytes;		/* rx+tx over the last minute */
	const char *top[2];	/* the two largest contributions, for reasons */
	double top_c[2];
};

/* What a POP's failure rules remember between polls. */
struct cmm_pop_track {
	double routes_hi[30];	/* 10-s bucket maxima of the routes: the 5-minute high */
	int64_t routes_bucket;
	int64_t loss_since_ms;	/* probe loss >= probe-loss-fail since (0: not) */
};

/*
 * Risk and real failure of one known POP at @now from its fresh
 * interconnects (docs/controller.md, "What cmmd does each poll"): failed
 * when every one is down, when the routes fell by routes-fail from their
 * 5-minute high, or when the lowest probe loss stayed >= probe-loss-fail
 * for probe-loss-for. Fills @out (known = true) with the numbers in why.
 */
void cmm_pop_assess(const struct cmm_config *c, struct cmm_pop_track *t,
		    const struct cmm_ic_view *v, size_t n, int64_t now, struct cmm_pop_input *out);
/* An unknown POP: forget the sustained-loss timer. */
void cmm_pop_track__unknown(struct cmm_pop_track *t);

/* One interconnect's contribution to a POP's risk. */
struct cmm_link_risk {
	double p;		/* P(fail within horizon) */
	double bytes;		/* rx+tx over the last minute */
};
/* Sum of share x p; shares by bytes, equal when there was no traffic. */
double cmm_pop_risk(const struct cmm_link_risk *l, size_t n);

#endif
