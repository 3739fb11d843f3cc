/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller daemon's state, shared by its loop (cmmd.c) and its API
 * (cmm_api.c). The loop changes it under @lock; API handlers read it under
 * the same lock.
 */
#ifndef PRESAGE_CMMD_H
#define PRESAGE_CMMD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmm_act.h"
#include "cmm_config.h"
#include "cmm_db.h"
#include "cmm_engine.h"
#include "cmm_poll.h"
#include "pfa/pfa.h"

#define CMMD_SCHEMA "presage.ctl/1"

struct cmmd_link {
	char name[32];
	bool have_out;
	struct pfa_output out;
	double bytes_min;	/* rx+tx bytes, decayed over ~1 min */
	int64_t last_obs_ts;	/* last second fed to the model */
	int64_t failure_id;	/* open failures row of this link (PFA's definition), 0 none */
	struct cmm_ic last;
	/*
	 * The agent's last link-up/link-down event for it (ev_ts_ms 0: none):
	 * newer than @last, it says whether the link is up until a sample
	 * taken after it arrives.
	 */
	int64_t ev_ts_ms;
	bool ev_up;
};

struct cmmd_pop {
	bool unknown, failed;
	double risk;
	char why[256];
	int nlinks;
	struct cmmd_link links[CMM_MAX_IC];
	struct cmm_pop_track track;
	int64_t failure_id;	/* open failures row, 0 none */
	uint64_t polls_ok, polls_failed;
	uint64_t link_events;	/* link-up/link-down events from its agent */
};

struct cmmd_host {
	struct cmm_order_ref ord;	/* the mirror job the state waits for */
	bool waiting;
};

struct cmmd {
	struct cmm_config cfg;
	struct cmm_db db;
	struct cmm_engine eng;
	struct cmm_act act;
	struct pfa_model *pfa;
	struct cmm_poller *poller;
	struct cmm_watcher *watcher;
	int wake_fd;		/* eventfd: an agent event wants an assessment now */
	struct cmm_agent_poll agents[CMM_MAX_POPS];
	struct cmmd_pop pops[CMM_MAX_POPS];
	struct cmmd_host hosts[CMM_MAX_HOSTS];
	pthread_mutex_t lock;
	int64_t started_ms, now_ms;
	uint64_t act_ok[CMM_NACTS], act_failed[CMM_NACTS];
	uint64_t decisions;
	/* Rows whose action failed: when each is due again (back-off per row). */
	struct cmmd_retry {
		int64_t id, due_ms;
		int tries;
	} retry[64];
};

struct cmm_api;
/* Serve the API on the control socket (mode 0600) and on cfg.listen. NULL on error (logged). */
struct cmm_api *cmm_api__start(struct cmmd *d);
void cmm_api__stop(struct cmm_api *a);

const char *cmmd_pop_state(const struct cmmd *d, int pop);

#endif
