// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns-bench: send N signed UPDATEs of K A records each to a server and
 * report records/s and per-update latency (p50/p99). Driven by
 * scripts/bench-dns.sh, which runs nsupdate on the same changes.
 *
 *   dns-bench ADDR PORT KEYFILE ZONE NMSG PER_MSG PREFIX [verify]
 *
 * Like nsupdate, it sends updates only: no SOA lookup (the zone is given)
 * and no read-back. With "verify", each update is followed by one query per
 * written name checking the record is served, as `presage dns set` does
 * (which nsupdate does not do); latency then covers update + queries.
 * cpu_us is this process's user+system CPU per message (client cost alone).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dns/dns.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct dns_client_opts o = { 0 };
	struct dns_client *c;
	struct dns_key k;
	struct dns_name zone;
	double *lat, t0, total;
	int nmsg, per, err;

	struct rusage ru0, ru1;
	bool verify = argc == 9 && !strcmp(argv[8], "verify");

	if (argc != 8 && !verify) {
		fprintf(stderr, "usage: dns-bench ADDR PORT KEYFILE ZONE NMSG PER_MSG PREFIX [verify]\n");
		return 2;
	}
	if ((err = dns_key_read_file(&k, argv[3], NULL)) || dns_name_from_text(&zone, argv[4])) {
		fprintf(stderr, "dns-bench: key or zone: %s\n", dns_strerror(err));
		return 1;
	}
	nmsg = atoi(argv[5]);
	per = atoi(argv[6]);
	o.server = argv[1];
	o.port = (uint16_t)atoi(argv[2]);
	o.key = &k;
	o.timeout_ms = 2000;
	c = dns_client__new(&o);
	lat = calloc((size_t)nmsg, sizeof(*lat));
	if (nmsg <= 0 || per <= 0 || !c || !lat) {
		fprintf(stderr, "dns-bench: NMSG and PER_MSG must be positive\n");
		return 2;
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_s();
	for (int i = 0; i < nmsg; i++) {
		struct dns_msg *m = dns_update__new(0, &zone), *resp = NULL;
		double t1 = now_s();

		for (int j = 0; j < per; j++) {
			char name[300];
			uint8_t rd[4] = { 10, (uint8_t)(i >> 8), (uint8_t)i, (uint8_t)j };
			struct dns_op op = { .kind = DNS_UPD_ADD, .type = DNS_T_A, .ttl = 30,
					     .rdata = rd, .rdlen = 4 };

			snprintf(name, sizeof(name), "%s-%d-%d.%s", argv[7], i, j, argv[4]);
			dns_name_from_text(&op.name, name);
			dns_update__add_op(m, &op);
		}
		err = dns_client__send(c, m, &resp);
		dns_msg__free(resp);
		resp = NULL;
		/* read-your-write: every name we wrote must now be served */
		for (int j = 0; verify && !err && j < per; j++) {
			const struct dns_rr *rr = &m->rr[DNS_SEC_UPDATE][j];

			err = dns_client__query(c, &rr->name, DNS_T_A, &resp);
			if (!err && (resp->n[DNS_SEC_AN] != 1 || resp->rr[DNS_SEC_AN][0].rdlen != 4 ||
				     memcmp(resp->rr[DNS_SEC_AN][0].rdata, rr->rdata, 4)))
				err = -DNS_E_VERIFY;
			dns_msg__free(resp);
			resp = NULL;
		}
		lat[i] = now_s() - t1;
		dns_msg__free(m);
		if (err) {
			fprintf(stderr, "dns-bench: update %d: %s\n", i, dns_strerror(err));
			return 1;
		}
	}
	total = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	qsort(lat, (size_t)nmsg, sizeof(*lat), cmp);
	printf("records=%d secs=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f cpu_us=%.1f\n", nmsg * per,
	       total, nmsg * per / total, lat[nmsg / 2] * 1e3, lat[(nmsg * 99) / 100] * 1e3,
	       ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
		 ru0.ru_stime.tv_sec) * 1e6 +
		(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
		 ru0.ru_stime.tv_usec)) / nmsg);
	dns_client__free(c);
	free(lat);
	return 0;
}
