/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Seeded synthetic health traces for tests and tuning: diurnal traffic,
 * congestion that builds over minutes, loss ramps, withdrawal bursts
 * before a failure, sudden cuts with no precursor, flapping links,
 * announced maintenance, and episodes that look like precursors but end
 * well (the false alarms a detector must learn to ignore), with noise and
 * missing values. The same seed gives the same trace, bit for bit
 * (xoshiro256** seeded through splitmix64; no libc rand()).
 */
#ifndef PRESAGE_PFA_SYNTH_H
#define PRESAGE_PFA_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "pfa/pfa.h"

struct pfa_synth_cfg {
	uint64_t seed;
	unsigned n_links;
	int64_t start_ts;
	uint32_t duration_s;
	double fail_per_day; /* failures per link and day */
	double benign_per_day; /* precursor look-alikes per link and day */
	double missing; /* share of missing values */
	uint32_t quiet_s; /* no episode in the first seconds (baselines settle) */
};

void pfa_synth_cfg__defaults(struct pfa_synth_cfg *cfg);

enum pfa_synth_kind {
	PFA_SK_CONGESTION,
	PFA_SK_LOSS_RAMP,
	PFA_SK_BGP,
	PFA_SK_CUT,
	PFA_SK_FLAP,
	PFA_SK_MAINT,
	PFA_SK_N,
};

const char *pfa_synth_kind__name(unsigned k);

/* A failure the generator put in the trace. */
struct pfa_synth_event {
	int64_t ts; /* onset */
	unsigned link;
	uint8_t kind;
	bool precursor; /* visible signs came before the onset */
};

typedef int (*pfa_synth_sample_fn)(void *ctx, const struct pfa_sample *s);
typedef int (*pfa_synth_event_fn)(void *ctx, const struct pfa_synth_event *e, const char *link);

/*
 * Generate: first every failure event (sorted by onset) through @ev, then
 * the samples, time-major (all links at t, then t + 1), through @fn.
 * Either callback may be NULL. A nonzero callback return stops and is
 * returned. 0, -EINVAL or -ENOMEM.
 */
int pfa_synth__run(const struct pfa_synth_cfg *cfg, pfa_synth_sample_fn fn, pfa_synth_event_fn ev,
		   void *ctx);

/* Name of link @i in synthetic traces ("ix0", "ix1", ...). */
void pfa_synth__link_name(unsigned i, char *buf, unsigned len);

#endif
