/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller's actions, one per journal row, each idempotent so that a
 * row re-applied after a restart does nothing twice:
 *   dns-steer / dns-restore  RFC 2136 through dns_steer__set; the flag TXT
 *                            carries seq=<journal id>, compared before writing
 *   mirror-order / resync    signed order (id = journal id) to the
 *                            destination's presage-mirrord; a known id only
 *                            returns the job's status
 *   primary-off / -on        signed flag command to the primary's mirrord
 */
#ifndef PRESAGE_CMM_ACT_H
#define PRESAGE_CMM_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmm_config.h"
#include "cmm_db.h"
#include "dns/dns.h"
#include "mirror/ctl.h"

struct cmm_act {
	const struct cmm_config *cfg;
	struct dns_client *dns;
	struct dns_key key;
	struct dns_name zone;
	struct mirror_ctl_cfg ctl;
	bool mirror_ok;		/* tls-* and order-key set: mirror actions possible */
	unsigned long dns_updates; /* UPDATEs sent (not skipped) */
	unsigned long dns_skipped; /* rows found already applied on the server */
};

/* What a mirror action started; order_id empty when nothing was ordered. */
struct cmm_order_ref {
	char order_id[65];
	int src, dest;		/* POP indexes */
	char **paths;		/* the planned items ("host/path"); NULL: the whole host */
	size_t npaths;
	bool done;		/* finished already (or nothing to do) */
	uint64_t items, bytes;
	double cost;
};

int cmm_act__init(struct cmm_act *a, const struct cmm_config *c, char *err, size_t errlen);
void cmm_act__fini(struct cmm_act *a);

/*
 * Apply journal row @r for hostname index @host. 0 (done, @detail says what
 * was done or why nothing was needed) or a negative code (@detail says why).
 */
int cmm_act__apply(struct cmm_act *a, const struct cmm_journal_row *r, int host,
		   struct cmm_order_ref *ord, char *detail, size_t dlen);

/* Free the planned paths (the struct may be reused). */
void cmm_order_ref__clear(struct cmm_order_ref *o);

/*
 * The contract's "verified": every planned item (every item of @src's
 * manifest of the host when @o->paths is NULL) is in @o->dest's manifest
 * with the same SHA-256. 1 verified, 0 not (@detail says which item), or a
 * negative code when a manifest cannot be read.
 */
int cmm_act__verify(struct cmm_act *a, int host, const struct cmm_order_ref *o, char *detail,
		    size_t dlen);

/* Status of a mirror job: 1 done, 0 still running, negative failed/unknown (@detail). */
int cmm_act__job_status(struct cmm_act *a, int dest, const char *order_id, char *detail,
			size_t dlen);

/*
 * The planner's plan for POP @src now: its mirrord's hot set (of @host, or
 * of every host when @host < 0), the config's topology (only the link to
 * @dst when @dst >= 0). Free with cmm_act__plan_free.
 */
int cmm_act__plan(struct cmm_act *a, int src, int host, int dst, struct mirror_plan *plan,
		  struct mirror_plan_req *req, char *detail, size_t dlen);
void cmm_act__plan_free(struct mirror_plan *plan);

/* What the server holds for @host (for /v1/dns). */
int cmm_act__dns_show(struct cmm_act *a, int host, struct dns_steer *s);

#endif
