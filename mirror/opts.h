/* SPDX-License-Identifier: GPL-2.0-only */
/* Options and progress output shared by presage-mirrord and `presage mirror`. */
#ifndef PRESAGE_MIRROR_OPTS_H
#define PRESAGE_MIRROR_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "mirror/agent.h"

extern const char mirror_cfg_usage[];
/* 1 if @opt was an agent option (and @val consumed), 0 if not ours, -1 bad
 * (@why says how: "--parallel takes a whole number from 1 to 64, not 'x'"). */
int mirror_cfg_opt(struct mirror_agent_cfg *cfg, const char *opt, const char *val, char *why,
		   size_t whylen);
int mirror_cfg_check(const struct mirror_agent_cfg *cfg, bool server);
void mirror_progress_print(FILE *f, const struct mirror_progress *p, bool json, bool tty);

#endif
