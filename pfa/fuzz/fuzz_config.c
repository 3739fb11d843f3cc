// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the failure definition parser. Whatever it accepts must
 * be a configuration a model can be built from, and a refusal must leave
 * the configuration as it was and say on which line.
 */
#include <stdlib.h>
#include <string.h>

#include "pfa/pfa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfa_config cfg, before;
	struct pfa_model *m;
	char err[256] = "";

	pfa_config__defaults(&cfg);
	before = cfg;
	if (pfa_config__parse(&cfg, (const char *)data, size, err, sizeof(err))) {
		if (memcmp(&cfg, &before, sizeof(cfg)) || strncmp(err, "line ", 5))
			abort();
		return 0;
	}
	if (pfa_config__check(&cfg, NULL))
		abort();
	m = pfa_model__new(&cfg);
	if (!m)
		abort();
	pfa_model__free(m);
	return 0;
}
