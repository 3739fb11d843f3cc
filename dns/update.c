// SPDX-License-Identifier: GPL-2.0-only
/*
 * RFC 2136 UPDATE messages. Each prerequisite and update kind is encoded
 * exactly as section 2.4 and 2.5 of the RFC tabulate (class, type, TTL,
 * RDATA), so the table lives in one switch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

struct dns_msg *dns_update__new(uint16_t id, const struct dns_name *zone)
{
	struct dns_msg *m = dns_msg__new(id, DNS_OP_UPDATE);

	if (!m)
		return NULL;
	if (dns_msg__add_rr(m, DNS_SEC_ZONE, zone, DNS_T_SOA, DNS_C_IN, 0, NULL, 0)) {
		dns_msg__free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

int dns_update__add_op(struct dns_msg *m, const struct dns_op *op)
{
	const struct dns_name *n = &op->name;

	switch (op->kind) {
	case DNS_PRE_YXRRSET: /* 2.4.1: class ANY, TTL 0, no RDATA */
		return dns_msg__add_rr(m, DNS_SEC_PREREQ, n, op->type, DNS_C_ANY, 0, NULL, 0);
	case DNS_PRE_YXRRSET_VAL: /* 2.4.2: class of the zone, TTL 0, the RDATA */
		return dns_msg__add_rr(m, DNS_SEC_PREREQ, n, op->type, DNS_C_IN, 0, op->rdata,
				       op->rdlen);
	case DNS_PRE_NXRRSET: /* 2.4.3: class NONE */
		return dns_msg__add_rr(m, DNS_SEC_PREREQ, n, op->type, DNS_C_NONE, 0, NULL, 0);
	case DNS_PRE_YXDOMAIN: /* 2.4.4: type ANY, class ANY */
		return dns_msg__add_rr(m, DNS_SEC_PREREQ, n, DNS_T_ANY, DNS_C_ANY, 0, NULL, 0);
	case DNS_PRE_NXDOMAIN: /* 2.4.5: type ANY, class NONE */
		return dns_msg__add_rr(m, DNS_SEC_PREREQ, n, DNS_T_ANY, DNS_C_NONE, 0, NULL, 0);
	case DNS_UPD_ADD: /* 2.5.1 */
		if (!op->rdlen)
			return -DNS_E_BAD_RDATA;
		return dns_msg__add_rr(m, DNS_SEC_UPDATE, n, op->type, DNS_C_IN, op->ttl, op->rdata,
				       op->rdlen);
	case DNS_UPD_DEL_RRSET: /* 2.5.2: class ANY, TTL 0, no RDATA */
		return dns_msg__add_rr(m, DNS_SEC_UPDATE, n, op->type, DNS_C_ANY, 0, NULL, 0);
	case DNS_UPD_DEL_NAME: /* 2.5.3: type ANY, class ANY */
		return dns_msg__add_rr(m, DNS_SEC_UPDATE, n, DNS_T_ANY, DNS_C_ANY, 0, NULL, 0);
	case DNS_UPD_DEL_RR: /* 2.5.4: class NONE, TTL 0, the RDATA */
		if (!op->rdlen)
			return -DNS_E_BAD_RDATA;
		return dns_msg__add_rr(m, DNS_SEC_UPDATE, n, op->type, DNS_C_NONE, 0, op->rdata,
				       op->rdlen);
	}
	return -EINVAL;
}

int dns_update__split(const struct dns_op *ops, size_t n, const struct dns_name *zones, size_t nz,
		      struct dns_msg ***out)
{
	struct dns_msg **msgs;
	int *zmsg, nmsg = 0, err = 0;

	*out = NULL;
	msgs = calloc(nz ? nz : 1, sizeof(*msgs));
	zmsg = malloc((nz ? nz : 1) * sizeof(*zmsg));
	if (!msgs || !zmsg) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t z = 0; z < nz; z++)
		zmsg[z] = -1;
	for (size_t i = 0; i < n; i++) {
		int best = -1;

		/* The deepest enclosing zone owns the name (a child zone cut wins). */
		for (size_t z = 0; z < nz; z++)
			if (dns_name_is_subdomain(&ops[i].name, &zones[z]) &&
			    (best < 0 || zones[z].len > zones[best].len))
				best = (int)z;
		if (best < 0) {
			err = -DNS_E_NO_ZONE;
			goto fail;
		}
		if (zmsg[best] < 0) {
			/* IDs are chosen by the client at send time. */
			msgs[nmsg] = dns_update__new(0, &zones[best]);
			if (!msgs[nmsg]) {
				err = -ENOMEM;
				goto fail;
			}
			zmsg[best] = nmsg++;
		}
		err = dns_update__add_op(msgs[zmsg[best]], &ops[i]);
		if (err)
			goto fail;
	}
	free(zmsg);
	*out = msgs;
	return nmsg;
fail:
	for (int i = 0; msgs && i < nmsg; i++)
		dns_msg__free(msgs[i]);
	free(msgs);
	free(zmsg);
	return err;
}
