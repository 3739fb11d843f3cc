/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Polling the agents: GET /v1/health from every POP's ihmd at once
 * (libcurl multi; HTTPS with the controller's client certificate when
 * tls-* are set), parsed with json-c (format: docs/health-api.md). And
 * watching them: one long poll of /v1/events per agent, so a link going
 * down reaches the controller when it happens, not at its next poll.
 */
#ifndef PRESAGE_CMM_POLL_H
#define PRESAGE_CMM_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmm_config.h"

#define CMM_MAX_IC 32 /* interconnects per POP */

/* One interconnect's latest sample; missing values are NaN, link_up -1. */
struct cmm_ic {
	char name[32];
	int64_t ts_ms;
	double interval_s;
	double capacity_bps, rx_bps, tx_bps, util;
	double rtt_count, rtt_min, rtt_p50, rtt_p90, rtt_p99, rtt_max;
	double retrans_in, retrans_out;
	double probe_rtt, probe_loss;
	double routes, announced, withdrawn;
	int link_up;
};

struct cmm_agent_poll {
	bool ok;		/* the last poll answered with a valid document */
	char error[256];	/* why not */
	int64_t polled_ms;	/* when the last poll ended */
	int64_t sample_ts_ms;	/* "ts_ms" of the document (0: none yet) */
	int nic;
	struct cmm_ic ic[CMM_MAX_IC];
};

/* Parse a presage.health/1 document. 0 or -EINVAL with a reason in out->error. */
int cmm_health_parse(const char *json, size_t len, struct cmm_agent_poll *out);

struct cmm_poller;
struct cmm_poller *cmm_poller__new(const struct cmm_config *c);
void cmm_poller__free(struct cmm_poller *p);
/*
 * Poll every agent in parallel (timeout: poll-interval); fills out[i] for
 * pop i. A failed poll sets ok=false and error, and keeps the previous
 * sample (its age makes it stale).
 */
void cmm_poller__poll(struct cmm_poller *p, struct cmm_agent_poll *out, int64_t now_ms);

/* One event of an agent's /v1/events. */
struct cmm_agent_event {
	int64_t id, ts_ms;
	char kind[32];
	char link[32];		/* "" when the event names no interconnect */
	char detail[160];
};

#define CMM_EVENTS_MAX 256 /* kept from one answer: the newest */

struct cmm_events_doc {
	int64_t started_ms;	/* agent.started_ms: a new value is a restarted agent */
	int64_t last_id;
	bool missed;		/* events after the asked id were dropped by the agent */
	size_t n;
	struct cmm_agent_event ev[CMM_EVENTS_MAX];
	char error[256];
};

/* Parse a presage.events/1 document. 0 or -EINVAL with a reason in out->error. */
int cmm_events_parse(const char *json, size_t len, struct cmm_events_doc *out);

/*
 * Called from the watcher's thread for every event an agent raises after the
 * watcher first reached it (and again after each break or agent restart).
 */
typedef void (*cmm_event_fn)(void *arg, int pop, const struct cmm_agent_event *ev);

struct cmm_watcher;
/* Start the thread: one GET /v1/events?after=ID&wait=20000 open per agent. */
struct cmm_watcher *cmm_watcher__start(const struct cmm_config *c, cmm_event_fn fn, void *arg);
/* Stop and join the thread (no call of fn after it returns). */
void cmm_watcher__stop(struct cmm_watcher *w);

#endif
