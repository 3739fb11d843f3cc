// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the transfer protocol as a destination or source sees it.
 * Byte 0 picks the chunk size the parser is fed with (so resumption at
 * every boundary is exercised); the rest is the byte stream. Every complete
 * frame goes through the decoder its type selects.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mirror/ctl.h"
#include "mirror/mirror.h"

int mirror_fuzz_proto(const uint8_t *data, size_t size);

static void frame(const struct mirror_frame_parser *p)
{
	const uint8_t *b = p->payload;
	size_t len = p->len;

	switch (p->type) {
	case MIRROR_F_MANIFEST: {
		size_t off = 0;
		struct mirror_entry e;

		while (off < len && mirror_wire_get_entry(b, len, &off, &e) == 0)
			free(e.path);
		break;
	}
	case MIRROR_F_GET: {
		char path[MIRROR_PATH_MAX + 1];
		uint8_t mode;

		mirror_wire_get_get(b, len, &mode, path, sizeof(path));
		break;
	}
	case MIRROR_F_ERR: {
		char msg[64];
		int err;

		mirror_wire_get_err(b, len, &err, msg, sizeof(msg));
		break;
	}
	case MIRROR_F_HELLO: {
		struct mirror_order o;
		size_t signed_len;
		uint8_t sig[64];

		if (len >= 1 && mirror_order__parse(&o, (const char *)b + 1, len - 1, &signed_len,
						    sig) == 0) {
			mirror_order__covers(&o, "h.test/a");
			mirror_order__free(&o);
		}
		break;
	}
	case MIRROR_F_JOB: {
		struct mirror_job_status st;

		mirror_wire_get_job(b, len, &st);
		break;
	}
	case MIRROR_F_HOT: {
		char host[MIRROR_HOST_MAX + 1];
		uint32_t n;

		mirror_wire_get_hotreq(b, len, &n, host, sizeof(host));
		break;
	}
	case MIRROR_F_HOT_ITEMS: {
		struct mirror_hot_item it;
		size_t off = 0;

		while (off < len && mirror_wire_get_hot(b, len, &off, &it) == 0)
			;
		break;
	}
	default:
		break;
	}
}

int mirror_fuzz_proto(const uint8_t *data, size_t size)
{
	struct mirror_frame_parser p;
	size_t chunk, off = 1;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	/* 64 KiB cap: big enough for any seed, small enough to stay fast. */
	mirror_frame_parser__init(&p, 1 << 16);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, used = 0;
		int r = mirror_frame_parser__feed(&p, data + off, n, &used);

		off += used;
		if (r < 0)
			break;
		if (r == 1)
			frame(&p);
		else if (used == 0)
			break;
	}
	mirror_frame_parser__free(&p);
	return 0;
}

#ifdef MIRROR_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return mirror_fuzz_proto(data, size);
}
#endif
