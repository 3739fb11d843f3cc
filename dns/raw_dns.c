// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns-raw: a test tool (not installed) that sends one deliberately wrong
 * request to a real server through dns_client__send_wire() and prints, as
 * one JSON line, what reached the caller: the code, the RCODE, the server's
 * TSIG error and dns_strerror()'s message. tests/t-dns-*.sh use it to make
 * BIND and Knot answer FORMERR and NOTIMP, which presage's normal API cannot
 * provoke because it only sends well-formed RFC 2136 messages.
 *
 *   dns-raw ADDR PORT KEYFILE|- ZONE CASE
 *
 * CASE:
 *   opcode=N        a QUERY-shaped request (ZONE SOA) with opcode N
 *   prereq-ttl      UPDATE whose prerequisite has class ANY and TTL 300
 *                   (RFC 2136 3.2.1: FORMERR)
 *   two-zones       UPDATE with two RRs in the zone section (3.1.1: FORMERR)
 *   zone-type-a     UPDATE whose zone section has type A, not SOA (3.1.1)
 *   garbage         ANCOUNT says one record more than the message holds
 *   two-opt         QUERY ZONE SOA with two OPT records (RFC 6891 6.1.1:
 *                   FORMERR without an OPT), to exercise the EDNS fallback:
 *                   the client sends it again without its OPTs
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static int usage(void)
{
	fprintf(stderr, "usage: dns-raw ADDR PORT KEYFILE|- ZONE opcode=N|prereq-ttl|two-zones|"
			"zone-type-a|garbage|two-opt\n");
	return 2;
}

/* Build the request for @kase into @buf; 0 or a negative code. */
static int build(const char *kase, const struct dns_name *zone, uint8_t *buf, size_t cap,
		 size_t *len)
{
	struct dns_msg *m = NULL;
	struct dns_name other;
	int err = -EINVAL;

	if (!strncmp(kase, "opcode=", 7)) {
		m = dns_msg__new(0, atoi(kase + 7));
		if (m)
			err = dns_msg__add_rr(m, DNS_SEC_QD, zone, DNS_T_SOA, DNS_C_IN, 0, NULL, 0);
	} else if (!strcmp(kase, "prereq-ttl")) {
		m = dns_update__new(0, zone);
		if (m)
			err = dns_msg__add_rr(m, DNS_SEC_PREREQ, zone, DNS_T_A, DNS_C_ANY, 300, NULL,
					      0);
	} else if (!strcmp(kase, "two-zones")) {
		m = dns_update__new(0, zone);
		other = *zone;
		if (m && !(err = dns_name_prepend(&other, "sub")))
			err = dns_msg__add_rr(m, DNS_SEC_ZONE, &other, DNS_T_SOA, DNS_C_IN, 0, NULL,
					      0);
	} else if (!strcmp(kase, "zone-type-a")) {
		m = dns_msg__new(0, DNS_OP_UPDATE);
		if (m)
			err = dns_msg__add_rr(m, DNS_SEC_ZONE, zone, DNS_T_A, DNS_C_IN, 0, NULL, 0);
	} else if (!strcmp(kase, "two-opt")) {
		static const struct dns_name root = { .len = 1 };

		m = dns_msg__new(0, DNS_OP_QUERY);
		err = m ? dns_msg__add_rr(m, DNS_SEC_QD, zone, DNS_T_SOA, DNS_C_IN, 0, NULL, 0) : -ENOMEM;
		for (int i = 0; i < 2 && !err; i++)
			err = dns_msg__add_rr(m, DNS_SEC_AR, &root, DNS_T_OPT, DNS_EDNS_UDP, 0, NULL, 0);
	} else if (!strcmp(kase, "garbage")) {
		m = dns_update__new(0, zone);
		err = m ? 0 : -ENOMEM;
	}
	if (!err)
		err = dns_msg__render(m, buf, cap, len);
	/* one answer/prerequisite record more than there are bytes for */
	if (!err && !strcmp(kase, "garbage"))
		buf[7] = (uint8_t)(buf[7] + 1);
	dns_msg__free(m);
	return err;
}

int main(int argc, char **argv)
{
	struct dns_client_opts o = { 0 };
	struct dns_client *c;
	struct dns_msg *resp = NULL;
	struct dns_name zone;
	struct dns_key k;
	static uint8_t buf[DNS_MSG_MAX];
	size_t len;
	char b[16];
	int err, rc, te;

	if (argc != 6)
		return usage();
	if (strcmp(argv[3], "-")) {
		if ((err = dns_key_read_file(&k, argv[3], NULL))) {
			fprintf(stderr, "dns-raw: key %s: %s\n", argv[3], dns_strerror(err));
			return 1;
		}
		o.key = &k;
	}
	if (dns_name_from_text(&zone, argv[4]) || build(argv[5], &zone, buf, sizeof(buf), &len))
		return usage();
	o.server = argv[1];
	o.port = (uint16_t)atoi(argv[2]);
	o.timeout_ms = 500;
	o.retries = 1;
	c = dns_client__new(&o);
	if (!c) {
		fprintf(stderr, "dns-raw: bad server address %s\n", argv[1]);
		return 1;
	}
	err = dns_client__send_wire(c, buf, len, &resp);
	rc = dns_client__last_rcode(c);
	te = dns_client__last_tsig_error(c);
	printf("{\"code\":%d,\"rcode\":", err);
	json_str(rc >= 0 ? dns_rcode_name(rc, b) : "NONE");
	printf(",\"tsig_error\":");
	json_str(te ? dns_rcode_name(te, b) : "NONE");
	printf(",\"signed\":%s,\"edns_sent\":%u,\"edns_fallbacks\":%u,\"answers\":%d,\"message\":",
	       resp && resp->has_tsig ? "true" : "false", dns_client__stats(c)->edns_sent,
	       dns_client__stats(c)->edns_fallbacks, resp ? resp->n[DNS_SEC_AN] : 0);
	json_str(err ? dns_strerror(err) : "NOERROR");
	printf("}\n");
	dns_msg__free(resp);
	dns_client__free(c);
	return 0;
}
