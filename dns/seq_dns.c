// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns-seq: a test tool (not installed) that sends N signed UPDATEs, one A
 * record each, through ONE dns_client, and prints as one JSON line what the
 * client counted (messages per transport, TCP connections opened and
 * reopened, EDNS fallbacks). tests/t-dns-*.sh compare the connection count
 * with the client ports the server logged, and check every record with dig.
 *
 *   dns-seq ADDR PORT KEYFILE ZONE PREFIX N [tcp] [no-edns] [pause=MS]
 *
 * Record i is PREFIX-i.ZONE A 192.0.2.(i % 250 + 1). pause=MS sleeps MS
 * milliseconds after the first half of the messages (to outlast the server's
 * TCP idle timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: dns-seq ADDR PORT KEYFILE ZONE PREFIX N [tcp] [no-edns] [pause=MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct dns_client_opts o = { 0 };
	const struct dns_client_stats *st;
	struct dns_client *c;
	struct dns_name zone;
	struct dns_key k;
	long pause_ms = 0;
	int n, i, err = 0;
	char *end;

	if (argc < 7)
		return usage();
	for (i = 7; i < argc; i++) {
		if (!strcmp(argv[i], "tcp"))
			o.tcp_only = true;
		else if (!strcmp(argv[i], "no-edns"))
			o.no_edns = true;
		else if (strncmp(argv[i], "pause=", 6) ||
			 (pause_ms = strtol(argv[i] + 6, &end, 10)) < 0 || *end || end == argv[i] + 6)
			return usage();
	}
	n = (int)strtol(argv[6], &end, 10);
	if (*end || n <= 0 || dns_name_from_text(&zone, argv[4]))
		return usage();
	if ((err = dns_key_read_file(&k, argv[3], NULL))) {
		fprintf(stderr, "dns-seq: key %s: %s\n", argv[3], dns_strerror(err));
		return 1;
	}
	o.server = argv[1];
	o.port = (uint16_t)atoi(argv[2]);
	o.key = &k;
	o.timeout_ms = 1000;
	o.retries = 1;
	c = dns_client__new(&o);
	if (!c) {
		fprintf(stderr, "dns-seq: bad server address %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < n && !err; i++) {
		uint8_t rd[4] = { 192, 0, 2, (uint8_t)(i % 250 + 1) };
		struct dns_op op = { .kind = DNS_UPD_ADD, .type = DNS_T_A, .ttl = 30, .rdata = rd,
				     .rdlen = 4 };
		struct dns_msg *m, *resp = NULL;
		char name[300];

		if (pause_ms && i == n / 2) {
			struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
		snprintf(name, sizeof(name), "%s-%d.%s", argv[5], i, argv[4]);
		m = dns_update__new(0, &zone);
		if (!m || (err = dns_name_from_text(&op.name, name)) ||
		    (err = dns_update__add_op(m, &op)))
			err = err ? err : -ENOMEM;
		else
			err = dns_client__send(c, m, &resp);
		dns_msg__free(resp);
		dns_msg__free(m);
	}
	st = dns_client__stats(c);
	printf("{\"ok\":%s,\"code\":%d,\"message\":\"%s\",\"sent\":%d,\"udp_sent\":%u,\"tcp_sent\":%u,"
	       "\"connects\":%u,\"reconnects\":%u,\"retries\":%u,\"edns_sent\":%u,"
	       "\"edns_replies\":%u,\"edns_fallbacks\":%u}\n",
	       err ? "false" : "true", err, err ? dns_strerror(err) : "applied", i, st->udp_sent,
	       st->tcp_sent, st->connects, st->reconnects, st->retries, st->edns_sent,
	       st->edns_replies, st->edns_fallbacks);
	dns_client__free(c);
	return err ? 1 : 0;
}
