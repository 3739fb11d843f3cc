// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the health trace CSV reader, fed the input in two
 * pieces split where the first byte says (the reader must not care where
 * buffers end), every row then going through a fresh model, so odd values
 * that pass the reader are exercised in the model too.
 */
#include <stddef.h>
#include <stdint.h>

#include "pfa/csv.h"

static int fuzz_row(void *ctx, const struct pfa_sample *s, uint64_t line)
{
	struct pfa_output out;

	pfa_model__observe(ctx, s, &out);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfa_config cfg;
	struct pfa_model *m;
	struct pfa_csv *c;
	size_t cut;

	pfa_config__defaults(&cfg);
	cfg.warmup_s = 0;
	m = pfa_model__new(&cfg);
	c = m ? pfa_csv__new(fuzz_row, NULL, m) : NULL;
	if (!c)
		goto out;
	cut = size ? data[0] % (size + 1) : 0;
	if (!pfa_csv__feed(c, (const char *)data, cut))
		if (!pfa_csv__feed(c, (const char *)data + cut, size - cut))
			pfa_csv__finish(c);
out:
	pfa_csv__free(c);
	pfa_model__free(m);
	return 0;
}
