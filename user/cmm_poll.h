/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Polling the agents: GET /v1/health from every POP's ihmd at once
 * (libcurl multi; HTTPS with the controller's client certificate when
 * tls-* are set), parsed with json-c (format: docs/health-api.md).
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

#endif
