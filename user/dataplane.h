/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IHM data plane as the agent sees it: loads presage's BPF objects,
 * pins their maps under the configured bpffs directory (reusing them after a
 * restart, so counters continue), attaches XDP through libxdp (beside other
 * XDP programs) and tc egress through libbpf, and detaches cleanly.
 */
#ifndef PRESAGE_DATAPLANE_H
#define PRESAGE_DATAPLANE_H

#include <stdbool.h>
#include "config.h"
#include "presage.h"

/* tc filter identity: a restart replaces this exact filter, never adds one. */
#define PRESAGE_TC_HANDLE 0x5e5a
#define PRESAGE_TC_PRIO 1

struct ihm_dp;

/* Why a link is not attached, for status output. */
enum link_attach_state {
	LINK_DETACHED = 0,
	LINK_ATTACHED,
	LINK_IFACE_MISSING,
	LINK_ATTACH_FAILED,
};

/* Checks bpffs (mounting it if needed) and BTF, loads, pins. NULL + errno. */
struct ihm_dp *ihm_dp__open(const struct ihm_config *cfg);
/* Attach every configured link that has its interface; returns how many. */
int ihm_dp__attach_all(struct ihm_dp *dp);
/*
 * Look again at every link's interface: report interfaces that went away
 * (the kernel already dropped their programs) and attach those that came
 * (back). Called every tick.
 */
void ihm_dp__recheck(struct ihm_dp *dp);
void ihm_dp__destroy(struct ihm_dp *dp);	/* detaches, keeps the pins */

int ihm_dp__link_id(const struct ihm_dp *dp, int idx);
enum link_attach_state ihm_dp__link_state(const struct ihm_dp *dp, int idx);
int ihm_dp__link_ifindex(const struct ihm_dp *dp, int idx);
const char *ihm_dp__xdp_mode(const struct ihm_dp *dp, int idx);

int ihm_dp__stats_fd(const struct ihm_dp *dp);
int ihm_dp__hist_fd(const struct ihm_dp *dp);
int ihm_dp__flows_fd(const struct ihm_dp *dp);
/* Start a new RTT window: the programs restart per-tick min/max at @gen. */
int ihm_dp__set_tick_gen(struct ihm_dp *dp, __u64 gen);

/* Remove presage's pins under @pin_dir and its programs on @cfg's interfaces. */
int ihm_dp_cleanup(const struct ihm_config *cfg);

/* Make sure bpffs is mounted at /sys/fs/bpf (mounting it if not). */
int ensure_bpffs(void);

#endif
