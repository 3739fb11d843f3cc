// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns-race: a test tool (not installed) that makes a second writer change
 * the mirroring flag between dns_steer__set()'s read of the flag and its
 * UPDATE, deterministically: it is linked with -Wl,--wrap=dns_client__send,
 * so the UPDATE that steer.c sends passes through __wrap_dns_client__send()
 * below, which first has another client write the flag. (Queries are sent
 * inside client.c and are not wrapped.) The compare-and-set must then fail
 * with NXRRSET or YXRRSET and change nothing; the JSON line says what came
 * back. tests/t-dns-lib.inc runs it against BIND and Knot.
 *
 *   dns-race ADDR PORT KEYFILE NAME ADDR2 RIVAL_FLAG|-
 *
 * Steers NAME to ADDR2 with no flag (back to the primary) while the rival
 * sets the flag TXT to RIVAL_FLAG (one "key=value" string), or deletes it
 * with "-".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int __real_dns_client__send(struct dns_client *c, const struct dns_msg *req,
			    struct dns_msg **resp);
int __wrap_dns_client__send(struct dns_client *c, const struct dns_msg *req,
			    struct dns_msg **resp);

static struct dns_client *rival;
static struct dns_name flag_name;
static const char *rival_flag;
static int rival_err = 1; /* 1: the rival has not written */

int __wrap_dns_client__send(struct dns_client *c, const struct dns_msg *req,
			    struct dns_msg **resp)
{
	if (rival_err == 1 && dns_msg_opcode(req) == DNS_OP_UPDATE) {
		struct dns_msg *m = dns_update__new(0, &req->rr[DNS_SEC_ZONE][0].name), *r = NULL;
		struct dns_op del = { .kind = DNS_UPD_DEL_RRSET, .name = flag_name,
				      .type = DNS_T_TXT };
		uint8_t rd[256];
		struct dns_op add = { .kind = DNS_UPD_ADD, .name = flag_name, .type = DNS_T_TXT,
				      .ttl = 30, .rdata = rd };

		rival_err = m ? dns_update__add_op(m, &del) : -ENOMEM;
		if (!rival_err && strcmp(rival_flag, "-")) {
			rival_err = dns_rdata_from_text(DNS_T_TXT, rival_flag, rd, sizeof(rd),
							&add.rdlen);
			if (!rival_err)
				rival_err = dns_update__add_op(m, &add);
		}
		if (!rival_err)
			rival_err = __real_dns_client__send(rival, m, &r);
		dns_msg__free(r);
		dns_msg__free(m);
	}
	return __real_dns_client__send(c, req, resp);
}

int main(int argc, char **argv)
{
	struct dns_client_opts o = { 0 };
	struct dns_client *c;
	struct dns_steer s = { 0 };
	struct dns_key k;
	char b[16];
	int err, rc;

	if (argc != 7) {
		fprintf(stderr, "usage: dns-race ADDR PORT KEYFILE NAME ADDR2 RIVAL_FLAG|-\n");
		return 2;
	}
	if ((err = dns_key_read_file(&k, argv[3], NULL))) {
		fprintf(stderr, "dns-race: key %s: %s\n", argv[3], dns_strerror(err));
		return 1;
	}
	if (dns_name_from_text(&s.name, argv[4]) || strlen(argv[5]) >= sizeof(s.addrs[0])) {
		fprintf(stderr, "dns-race: bad name or address\n");
		return 2;
	}
	flag_name = s.name;
	dns_name_prepend(&flag_name, "_presage");
	rival_flag = argv[6];
	o.server = argv[1];
	o.port = (uint16_t)atoi(argv[2]);
	o.key = &k;
	o.timeout_ms = 1000;
	o.retries = 1;
	c = dns_client__new(&o);
	rival = dns_client__new(&o);
	if (!c || !rival) {
		fprintf(stderr, "dns-race: bad server address %s\n", argv[1]);
		return 1;
	}
	s.ttl = 30;
	strcpy(s.addrs[0], argv[5]);
	s.naddr = 1;
	s.nflag = 0; /* back to the primary: the flag goes */
	err = dns_steer__set(c, &s);
	rc = dns_client__last_rcode(c);
	printf("{\"code\":%d,\"rcode\":\"%s\",\"rival\":%d,\"message\":\"%s\"}\n", err,
	       rc >= 0 ? dns_rcode_name(rc, b) : "NONE", rival_err, err ? dns_strerror(err) : "applied");
	dns_client__free(rival);
	dns_client__free(c);
	return 0;
}
