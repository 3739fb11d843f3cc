/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * presage-mirrord run: the per-POP content agent with its command channel.
 * It serves the store to destinations exactly as mirror_serve() does, and on
 * the same port takes commands from the controller (see mirror/ctl.h for
 * the other side): submit a signed order (pulled in the background, one
 * at a time, journaled under <root>/.presage/jobs/<order-id>), job status,
 * signed primary flags, the live hot set and a host's manifest.
 */
#ifndef PRESAGE_MIRROR_RUN_H
#define PRESAGE_MIRROR_RUN_H

#include <signal.h>
#include <stddef.h>

#include "mirror/agent.h"

struct mirror_run_cfg {
	struct mirror_agent_cfg agent;	/* root, pop, region, policy, TLS, listen, ... */
	const char *controller_cn;	/* NULL: "controller" */
	const char *access_log;		/* NULL: HOT answers no items */
	const char *log_format;		/* NULL: "host" (see mirror_logfmt__new) */
	size_t hot_counters;		/* 0: 4096 */
	double half_life_s;		/* 0: 300; < 0: no decay */
};

/* Runs until *stop; then stops accepting, lets the running pull finish the
 * items in flight (the job stays journaled as running and resumes on the
 * next start) and returns 0, or a negative error from start-up. */
int mirror_run(const struct mirror_run_cfg *cfg, volatile sig_atomic_t *stop);

#endif
