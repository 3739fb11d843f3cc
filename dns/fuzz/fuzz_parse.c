// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the message parser. Whatever parses must render, and
 * the rendering must parse back to an equal message (round trip), so the
 * parser and the renderer agree on every field they keep.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dns/dns.h"

#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int FUZZ_ENTRY(const uint8_t *data, size_t size);

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MSG_MAX];
	struct dns_msg *a = NULL, *b = NULL;
	size_t len;
	int err;

	if (dns_msg__parse(data, size, &a))
		return 0;
	/* the OPT reader walks options by their own lengths: bounds under ASan */
	{
		struct dns_opt o;

		err = dns_msg__opt(a, &o);
		if (err && err != -ENOENT && err != -DNS_E_OPT_FORMAT)
			abort();
		(void)dns_err_from_reply(a);
	}
	err = dns_msg__render(a, out, sizeof(out), &len);
	/* decompressing names in RDATA can outgrow 64 KiB; that is not a bug */
	if (err == -DNS_E_TOO_BIG)
		goto out;
	if (err) {
		fprintf(stderr, "render failed after a good parse: %s\n", dns_strerror(err));
		abort();
	}
	err = dns_msg__parse(out, len, &b);
	if (err) {
		fprintf(stderr, "rendered message does not parse: %s\n", dns_strerror(err));
		abort();
	}
	if (!dns_msg__equal(a, b)) {
		fprintf(stderr, "round trip changed the message\n");
		abort();
	}
out:
	dns_msg__free(a);
	dns_msg__free(b);
	return 0;
}
