// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: TSIG. Input is verified as a reply (must never crash,
 * whatever it claims), and, when it parses, signed as a request and
 * verified: our own signature must always verify.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int FUZZ_ENTRY(const uint8_t *data, size_t size);

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static struct dns_key k;
	static int init;
	static uint8_t buf[DNS_MSG_MAX];
	static const uint8_t req_mac[32] = { 1, 2, 3 };
	struct dns_msg *m = NULL, *s = NULL;
	size_t len = size;
	int err;

	if (!init) {
		if (dns_key_init(&k, "presage-key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"))
			abort();
		init = 1;
	}
	if (dns_msg__parse(data, size, &m))
		return 0;
	/* as a reply: any result but a crash is fine */
	dns_tsig_verify(m, data, size, &k, 1700000000, req_mac, sizeof(req_mac));
	/* a message that already has a TSIG cannot take a second one */
	if (!m->has_tsig && size <= sizeof(buf) - 512) {
		memcpy(buf, data, size);
		err = dns_tsig_sign(buf, &len, sizeof(buf), &k, 1700000000, 300, NULL, 0, 0, NULL, NULL);
		if (!err) {
			err = dns_msg__parse(buf, len, &s);
			if (!err)
				err = dns_tsig_verify(s, buf, len, &k, 1700000000, NULL, 0);
			if (err) {
				fprintf(stderr, "our own signature does not verify: %s\n", dns_strerror(err));
				abort();
			}
		}
	}
	dns_msg__free(m);
	dns_msg__free(s);
	return 0;
}
