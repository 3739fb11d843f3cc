// SPDX-License-Identifier: GPL-2.0-only
/* See capbuf.h. */
#include <stdlib.h>
#include <string.h>

#include "capbuf.h"

size_t capbuf_curl_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct capbuf *b = arg;
	size_t n = size * nmemb;
	char *np;

	if (b->len + n > b->max) {
		b->too_big = true;
		return 0;
	}
	np = realloc(b->p, b->len + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, ptr, n);
	b->p = np;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}
