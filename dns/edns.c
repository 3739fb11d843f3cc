// SPDX-License-Identifier: GPL-2.0-only
/*
 * EDNS(0) (RFC 6891): the OPT pseudo-RR that presage appends to its queries
 * and updates (UDP payload size 1232, the DNS Flag Day 2020 value that fits
 * a 1280-byte IPv6 MTU without fragmentation), and the OPT of a reply.
 */
#include <errno.h>
#include <string.h>

#include "dns/dns.h"

int dns_msg__opt(const struct dns_msg *m, struct dns_opt *o)
{
	const struct dns_rr *opt = NULL;

	for (int s = 0; s < DNS_SEC_N; s++)
		for (int i = 0; i < m->n[s]; i++) {
			const struct dns_rr *r = &m->rr[s][i];

			if (r->type != DNS_T_OPT)
				continue;
			/* RFC 6891 6.1.1: one OPT, in the additional section, owned by the root */
			if (s != DNS_SEC_AR || opt || r->name.len != 1)
				return -DNS_E_OPT_FORMAT;
			opt = r;
		}
	if (!opt)
		return -ENOENT;
	/* options: 2-byte code, 2-byte length, that many bytes, to the exact end */
	for (size_t p = 0; p < opt->rdlen;) {
		size_t olen;

		if (opt->rdlen - p < 4)
			return -DNS_E_OPT_FORMAT;
		olen = (size_t)(opt->rdata[p + 2] << 8 | opt->rdata[p + 3]);
		if (olen > opt->rdlen - p - 4)
			return -DNS_E_OPT_FORMAT;
		p += 4 + olen;
	}
	memset(o, 0, sizeof(*o));
	o->udp_size = opt->class;
	o->ext_rcode = (uint8_t)(opt->ttl >> 24);
	o->version = (uint8_t)(opt->ttl >> 16);
	o->flags = (uint16_t)opt->ttl;
	o->rdlen = opt->rdlen;
	return 0;
}

int dns_opt_append(uint8_t *buf, size_t *len, size_t cap, uint16_t udp_size)
{
	uint16_t ar;
	uint8_t *p;

	if (*len < DNS_HDR_LEN)
		return -DNS_E_SHORT_HEADER;
	if (cap - *len < DNS_OPT_LEN)
		return -DNS_E_TOO_BIG;
	ar = (uint16_t)(buf[10] << 8 | buf[11]);
	if (ar == 0xffff)
		return -DNS_E_TOO_BIG;
	ar++;
	p = buf + *len;
	p[0] = 0; /* root owner */
	p[1] = DNS_T_OPT >> 8;
	p[2] = DNS_T_OPT & 0xff;
	p[3] = (uint8_t)(udp_size >> 8); /* CLASS: our UDP payload size */
	p[4] = (uint8_t)udp_size;
	memset(p + 5, 0, 6); /* TTL: extended RCODE 0, version 0, DO clear; RDLENGTH 0 */
	*len += DNS_OPT_LEN;
	buf[10] = (uint8_t)(ar >> 8);
	buf[11] = (uint8_t)ar;
	return 0;
}
