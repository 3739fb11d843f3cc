/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A malloc'd, NUL-terminated buffer that refuses to grow past a limit: what
 * an HTTP answer is read into (the controller's polls, the CLI's requests).
 */
#ifndef PRESAGE_CAPBUF_H
#define PRESAGE_CAPBUF_H

#include <stdbool.h>
#include <stddef.h>

struct capbuf {
	char *p;	/* NULL until the first byte */
	size_t len;
	size_t max;	/* set by the user: more is refused */
	bool too_big;	/* something was refused */
};

/*
 * libcurl's CURLOPT_WRITEFUNCTION with a struct capbuf as CURLOPT_WRITEDATA:
 * appends, or returns 0 (curl then fails the transfer with
 * CURLE_WRITE_ERROR) past b->max (too_big set) or out of memory.
 */
size_t capbuf_curl_write(char *ptr, size_t size, size_t nmemb, void *b);

#endif
