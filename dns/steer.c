// SPDX-License-Identifier: GPL-2.0-only
/*
 * Steering records: a steered name's A/AAAA set and its mirroring flag, a
 * TXT record at _presage.<name> of "key=value" strings. Both change in one
 * UPDATE whose prerequisite is the flag as we last read it: if another
 * writer changed the flag in between, the server refuses (NXRRSET or
 * YXRRSET) and nothing changes, so two controllers cannot interleave.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "log.h"

#define FLAG_LABEL "_presage"
#define FLAG_RD_MAX 4096

int dns_flag_encode(const struct dns_flag_field *f, size_t n, uint8_t *rd, size_t cap,
		    uint16_t *len)
{
	size_t o = 0;

	if (n == 0)
		return -DNS_E_FLAG_FORMAT;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(f[i].key), vl = strlen(f[i].val);

		/* a key with '=' or nothing in it could not be read back */
		if (!kl || strchr(f[i].key, '=') || kl + 1 + vl > 255)
			return -DNS_E_FLAG_FORMAT;
		if (o + 1 + kl + 1 + vl > cap || o + 1 + kl + 1 + vl > 0xffff)
			return -DNS_E_TOO_BIG;
		rd[o++] = (uint8_t)(kl + 1 + vl);
		memcpy(rd + o, f[i].key, kl);
		o += kl;
		rd[o++] = '=';
		memcpy(rd + o, f[i].val, vl);
		o += vl;
	}
	*len = (uint16_t)o;
	return 0;
}

int dns_flag_decode(const uint8_t *rd, uint16_t len, struct dns_flag_field *f, size_t max,
		    size_t *n)
{
	size_t i = 0;

	*n = 0;
	while (i < len) {
		size_t sl = rd[i++], kl;
		const uint8_t *eq;

		if (sl > (size_t)len - i)
			return -DNS_E_FLAG_FORMAT;
		eq = memchr(rd + i, '=', sl);
		if (!eq || eq == rd + i || *n == max)
			return -DNS_E_FLAG_FORMAT;
		kl = (size_t)(eq - (rd + i));
		if (kl >= sizeof(f->key) || sl - kl - 1 >= sizeof(f->val))
			return -DNS_E_FLAG_FORMAT;
		memcpy(f[*n].key, rd + i, kl);
		f[*n].key[kl] = 0;
		memcpy(f[*n].val, eq + 1, sl - kl - 1);
		f[*n].val[sl - kl - 1] = 0;
		(*n)++;
		i += sl;
	}
	return 0;
}

/* RRs of @type owned by @name in the answer section of @r. */
static size_t collect(const struct dns_msg *r, const struct dns_name *name, uint16_t type,
		      const struct dns_rr **out, size_t max)
{
	size_t n = 0;

	for (int i = 0; r && i < r->n[DNS_SEC_AN]; i++) {
		const struct dns_rr *rr = &r->rr[DNS_SEC_AN][i];

		if (rr->type == type && rr->class == DNS_C_IN && dns_name_equal(&rr->name, name) &&
		    n < max)
			out[n++] = rr;
	}
	return n;
}

/* A query whose NXDOMAIN is just "nothing there". */
static int query_rrset(struct dns_client *c, const struct dns_name *name, uint16_t type,
		       struct dns_msg **r)
{
	int err = dns_client__query(c, name, type, r);

	if (err == dns_err_from_rcode(DNS_RCODE_NXDOMAIN))
		err = 0;
	if (err) {
		dns_msg__free(*r);
		*r = NULL;
	}
	return err;
}

static int flag_name(const struct dns_steer *s, struct dns_name *fn)
{
	*fn = s->name;
	return dns_name_prepend(fn, FLAG_LABEL);
}

static int ensure_zone(struct dns_client *c, struct dns_steer *s)
{
	if (s->zone.len > 1)
		return 0;
	return dns_client__find_zone(c, &s->name, &s->zone);
}

int dns_steer__show(struct dns_client *c, struct dns_steer *s)
{
	static const uint16_t atypes[] = { DNS_T_A, DNS_T_AAAA };
	const struct dns_rr *rrs[DNS_STEER_ADDRS_MAX];
	struct dns_msg *r = NULL;
	struct dns_name fn;
	size_t n;
	int err;

	if ((err = ensure_zone(c, s)) || (err = flag_name(s, &fn)))
		return err;
	s->naddr = 0;
	s->nflag = 0;
	s->flag_present = false;
	for (size_t t = 0; t < 2; t++) {
		if ((err = query_rrset(c, &s->name, atypes[t], &r)))
			return err;
		n = collect(r, &s->name, atypes[t], rrs, DNS_STEER_ADDRS_MAX - s->naddr);
		for (size_t i = 0; i < n; i++) {
			dns_rdata_to_text(atypes[t], rrs[i]->rdata, rrs[i]->rdlen,
					  s->addrs[s->naddr], sizeof(s->addrs[0]));
			s->ttl = rrs[i]->ttl;
			s->naddr++;
		}
		dns_msg__free(r);
		r = NULL;
	}
	if ((err = query_rrset(c, &fn, DNS_T_TXT, &r)))
		return err;
	n = collect(r, &fn, DNS_T_TXT, rrs, 1);
	if (n) {
		s->flag_present = true;
		err = dns_flag_decode(rrs[0]->rdata, rrs[0]->rdlen, s->flag, DNS_FLAG_FIELDS_MAX,
				      &s->nflag);
	}
	dns_msg__free(r);
	r = NULL;
	if (err)
		return err;
	if ((err = query_rrset(c, &s->zone, DNS_T_SOA, &r)))
		return err;
	n = collect(r, &s->zone, DNS_T_SOA, rrs, 1);
	err = n ? dns_soa_serial(rrs[0]->rdata, rrs[0]->rdlen, &s->serial) : -DNS_E_NO_ZONE;
	dns_msg__free(r);
	return err;
}

/*
 * Build the compare-and-set UPDATE: prerequisites pin the flag as it is
 * now; @set false clears instead of replacing. The flag RRset is always
 * deleted, and re-added only when s->nflag > 0, so a set without flag
 * fields removes the flag in the same message as it replaces the addresses.
 */
static int build(struct dns_client *c, const struct dns_steer *s, bool set, struct dns_msg **out)
{
	const struct dns_rr *cur[8];
	struct dns_msg *r = NULL, *m;
	struct dns_name fn;
	uint8_t flagrd[FLAG_RD_MAX];
	uint16_t flaglen = 0;
	size_t ncur;
	int err;

	*out = NULL;
	if ((err = flag_name(s, &fn)))
		return err;
	/* set with no flag fields: the name goes back to its primary, the flag goes */
	if (set && s->nflag &&
	    (err = dns_flag_encode(s->flag, s->nflag, flagrd, sizeof(flagrd), &flaglen)))
		return err;
	if ((err = query_rrset(c, &fn, DNS_T_TXT, &r)))
		return err;
	m = dns_update__new(0, &s->zone);
	if (!m) {
		err = -ENOMEM;
		goto out;
	}
	ncur = collect(r, &fn, DNS_T_TXT, cur, 8);
	if (ncur == 0) {
		struct dns_op op = { .kind = DNS_PRE_NXRRSET, .name = fn, .type = DNS_T_TXT };

		err = dns_update__add_op(m, &op);
	}
	/* value-dependent: the whole RRset must be exactly what we read (RFC 2136 3.2.3) */
	for (size_t i = 0; i < ncur && !err; i++) {
		struct dns_op op = { .kind = DNS_PRE_YXRRSET_VAL, .name = fn, .type = DNS_T_TXT,
				     .rdata = cur[i]->rdata, .rdlen = cur[i]->rdlen };

		err = dns_update__add_op(m, &op);
	}
	if (err)
		goto out;
	{
		struct dns_op ops[] = {
			{ .kind = DNS_UPD_DEL_RRSET, .name = s->name, .type = DNS_T_A },
			{ .kind = DNS_UPD_DEL_RRSET, .name = s->name, .type = DNS_T_AAAA },
			{ .kind = DNS_UPD_DEL_RRSET, .name = fn, .type = DNS_T_TXT },
		};

		for (size_t i = 0; i < 3 && !err; i++)
			err = dns_update__add_op(m, &ops[i]);
	}
	for (size_t i = 0; set && i < s->naddr && !err; i++) {
		uint8_t rd[16];
		struct dns_op op = { .kind = DNS_UPD_ADD, .name = s->name, .ttl = s->ttl, .rdata = rd };

		op.type = strchr(s->addrs[i], ':') ? DNS_T_AAAA : DNS_T_A;
		err = dns_rdata_from_text(op.type, s->addrs[i], rd, sizeof(rd), &op.rdlen);
		if (!err)
			err = dns_update__add_op(m, &op);
	}
	if (set && s->nflag && !err) {
		struct dns_op op = { .kind = DNS_UPD_ADD, .name = fn, .type = DNS_T_TXT, .ttl = s->ttl,
				     .rdata = flagrd, .rdlen = flaglen };

		err = dns_update__add_op(m, &op);
	}
out:
	dns_msg__free(r);
	if (err)
		dns_msg__free(m);
	else
		*out = m;
	return err;
}

/* Read-your-write: the server must now show exactly @want. */
static int confirm(struct dns_client *c, const struct dns_steer *want, struct dns_steer *got)
{
	int err;

	memset(got, 0, sizeof(*got));
	got->name = want->name;
	got->zone = want->zone;
	if ((err = dns_steer__show(c, got)))
		return err;
	if (got->naddr != want->naddr || got->nflag != want->nflag ||
	    got->flag_present != (want->nflag > 0)) {
		pr_warn("dns: read-your-write: server shows %zu addresses and %zu flag fields, we wrote %zu and %zu\n",
			got->naddr, got->nflag, want->naddr, want->nflag);
		return -DNS_E_VERIFY;
	}
	for (size_t i = 0; i < want->naddr; i++) {
		bool found = false;

		for (size_t j = 0; j < got->naddr && !found; j++)
			found = !strcmp(want->addrs[i], got->addrs[j]);
		if (!found) {
			pr_warn("dns: read-your-write: %s missing on the server\n", want->addrs[i]);
			return -DNS_E_VERIFY;
		}
	}
	if (want->naddr && got->ttl != want->ttl)
		return -DNS_E_VERIFY;
	for (size_t i = 0; i < want->nflag; i++)
		if (strcmp(want->flag[i].key, got->flag[i].key) ||
		    strcmp(want->flag[i].val, got->flag[i].val))
			return -DNS_E_VERIFY;
	return 0;
}

/* Canonical text for addresses, duplicates removed: the server keeps a set. */
static int normalize(struct dns_steer *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->naddr; i++) {
		uint8_t rd[16];
		uint16_t l;
		int t = strchr(s->addrs[i], ':') ? DNS_T_AAAA : DNS_T_A;
		char txt[48];
		bool dup = false;

		if (dns_rdata_from_text(t, s->addrs[i], rd, sizeof(rd), &l))
			return -DNS_E_BAD_RDATA;
		dns_rdata_to_text(t, rd, l, txt, sizeof(txt));
		for (size_t j = 0; j < n && !dup; j++)
			dup = !strcmp(s->addrs[j], txt);
		if (!dup)
			strcpy(s->addrs[n++], txt);
	}
	s->naddr = n;
	return 0;
}

static int apply(struct dns_client *c, struct dns_steer *s, bool set)
{
	struct dns_steer got;
	struct dns_msg *m = NULL, *resp = NULL;
	int err;

	if ((err = ensure_zone(c, s)))
		return err;
	if (set && (err = normalize(s)))
		return err;
	if ((err = build(c, s, set, &m)))
		return err;
	err = dns_client__send(c, m, &resp);
	dns_msg__free(m);
	dns_msg__free(resp);
	if (err)
		return err;
	if (!set) {
		s->naddr = 0;
		s->nflag = 0;
	}
	err = confirm(c, s, &got);
	s->serial = got.serial;
	s->flag_present = got.flag_present;
	return err;
}

int dns_steer__set(struct dns_client *c, struct dns_steer *s)
{
	return apply(c, s, true);
}

int dns_steer__clear(struct dns_client *c, struct dns_steer *s)
{
	return apply(c, s, false);
}
