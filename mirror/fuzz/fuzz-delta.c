// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: librsync streams as an agent receives them. Byte 0: bit 0
 * picks the stream (0 signature, as a source loads it; 1 delta, as a
 * destination patches it against a fixed 8 KiB basis); the other bits pick
 * the chunk size. The rest is the stream.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "mirror/mirror.h"

int mirror_fuzz_delta(const uint8_t *data, size_t size);

static int basis_fd = -1, null_fd = -1;

static void setup(void)
{
	uint8_t b[8192];

	if (basis_fd >= 0)
		return;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 131 + (i >> 7));
	basis_fd = memfd_create("basis", 0);
	if (write(basis_fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		abort();
	null_fd = open("/dev/null", O_WRONLY);
	mirror_delta_log_init();
	/* librsync reports every corrupt input; that is the point here. */
	log_set_level(LOG_LVL_ERR);
}

int mirror_fuzz_delta(const uint8_t *data, size_t size)
{
	size_t chunk, off = 1;
	int err = 0;

	if (size < 1)
		return 0;
	setup();
	chunk = ((size_t)(data[0] >> 1) + 1) * 3;
	if (!(data[0] & 1)) {
		struct mirror_sigload *l = mirror_sigload__new();
		struct rs_signature *sig;

		while (!err && off < size) {
			size_t n = size - off < chunk ? size - off : chunk;

			err = mirror_sigload__feed(l, data + off, n);
			off += n;
		}
		if (!err)
			mirror_sigload__finish(l, &sig);
		mirror_sigload__free(l);
	} else {
		struct mirror_patch *p = mirror_patch__new(basis_fd, null_fd);
		uint8_t sha[32];
		uint64_t out;

		while (!err && off < size) {
			size_t n = size - off < chunk ? size - off : chunk;

			err = mirror_patch__feed(p, data + off, n);
			off += n;
		}
		if (!err)
			mirror_patch__finish(p, sha, &out);
		mirror_patch__free(p);
	}
	return 0;
}

#ifdef MIRROR_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return mirror_fuzz_delta(data, size);
}
#endif
