/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller's side of the command channel to a POP's content agent
 * (presage-mirrord run). Every call opens one TLS 1.3 connection with the
 * controller's client certificate, sends one command, reads one answer and
 * closes; calls are safe to repeat (idempotent on the agent's side).
 *
 * Returns 0, a negative errno, or a negative MIRROR_E* code (the agent's
 * refusals come back as the code it sent, with its message in @err).
 */
#ifndef PRESAGE_MIRROR_CTL_H
#define PRESAGE_MIRROR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mirror/agent.h"
#include "mirror/mirror.h"

struct mirror_ctl_cfg {
	const char *cert, *key, *ca; /* PEM: controller's chain, key, deployment CA */
	const char *order_key;	     /* Ed25519 private key (PEM) for orders and flag commands */
	int timeout_ms;		     /* per call; 0 = 5000 */
};

enum mirror_job_state {
	MIRROR_JOB_UNKNOWN = 0, /* the agent has no job by that id */
	MIRROR_JOB_QUEUED,
	MIRROR_JOB_RUNNING,
	MIRROR_JOB_DONE, /* every item installed and verified against the source manifest */
	MIRROR_JOB_FAILED,
};

const char *mirror_job_state_name(enum mirror_job_state s);

struct mirror_job_status {
	char id[65];
	enum mirror_job_state state;
	struct mirror_progress progress;
	int err;	/* when FAILED: the MIRROR_E* / errno code */
	char msg[256];	/* when FAILED: why */
};

/*
 * Give a signed order (text from mirror_order__sign) to its destination
 * agent at @addr ("host:port"). A new order id starts a background pull;
 * an id the agent already knows is not started again. Either way *st is
 * the job's status.
 */
int mirror_ctl_submit(const struct mirror_ctl_cfg *c, const char *addr, const char *order,
		      size_t order_len, struct mirror_job_status *st, char *err, size_t errlen);
int mirror_ctl_status(const struct mirror_ctl_cfg *c, const char *addr, const char *order_id,
		      struct mirror_job_status *st, char *err, size_t errlen);

/*
 * Mark @host primary or not primary in the store of @pop at @addr (signed
 * with c->order_key; see mirror_store__set_primary for what "on" means:
 * resync pending until the next full pull of the host). *now: the state
 * after the command.
 */
int mirror_ctl_set_primary(const struct mirror_ctl_cfg *c, const char *addr, const char *pop,
			   const char *host, bool primary, enum mirror_primary *now, char *err,
			   size_t errlen);

/* One hot item: live rate from the agent's access log, size and SHA-256 from its manifest. */
struct mirror_hot_item {
	char path[MIRROR_PATH_MAX]; /* host/path */
	uint64_t size;
	double rate; /* requests per second */
	uint8_t sha[32];
};

/* The @n hottest items of @host ("" or NULL: all hosts) at @addr. Caller frees *items. */
int mirror_ctl_hot(const struct mirror_ctl_cfg *c, const char *addr, const char *host, size_t n,
		   struct mirror_hot_item **items, size_t *nitems, char *err, size_t errlen);

/* The manifest entries of @host at @addr (caller clears @out). */
int mirror_ctl_manifest(const struct mirror_ctl_cfg *c, const char *addr, const char *host,
			struct mirror_manifest *out, char *err, size_t errlen);

/*
 * Additions beyond the first contract (additive only).
 *
 * Send a flag command already signed (mirror_flagcmd__sign) to @addr:
 * mirror_ctl_set_primary is mirror_flagcmd__sign + this. The operator CLI
 * uses it to choose the command's lifetime.
 */
int mirror_ctl_send_primary(const struct mirror_ctl_cfg *c, const char *addr, const char *cmd,
			    size_t cmd_len, enum mirror_primary *now, char *err, size_t errlen);
/* Job states by name ("queued", ...) and back; -1 for an unknown name. */
int mirror_job_state_parse(const char *name);

/*
 * Payload codecs of the command channel (proto.c); each checks every length
 * against the payload it indexes. put_* return -ENOSPC when @cap is short.
 *
 *   JOB:       u8 id length, id, u8 state, u16 wire error code, 9 x u64
 *              counters (items total/done/failed/skipped/deleted, bytes
 *              total/done, wire rx/tx), 3 x f64 as u64 bits (elapsed, rate,
 *              eta), u8 finished, u16 message length, message
 *   HOT:       u32 n, host (rest of the payload; empty = all hosts)
 *   HOT_ITEMS: per item: u16 path length, path, u64 size, f64 rate, sha256
 */
int mirror_wire_put_job(uint8_t *buf, size_t cap, const struct mirror_job_status *st, size_t *n);
int mirror_wire_get_job(const uint8_t *buf, size_t len, struct mirror_job_status *st);
int mirror_wire_put_hotreq(uint8_t *buf, size_t cap, uint32_t n, const char *host, size_t *len);
int mirror_wire_get_hotreq(const uint8_t *buf, size_t len, uint32_t *n, char *host, size_t cap);
int mirror_wire_put_hot(uint8_t *buf, size_t cap, const struct mirror_hot_item *it, size_t *n);
/* Decodes the item at *off and advances it. */
int mirror_wire_get_hot(const uint8_t *buf, size_t len, size_t *off, struct mirror_hot_item *it);

#endif
