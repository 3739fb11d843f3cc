// SPDX-License-Identifier: GPL-2.0-only
/*
 * PFA throughput on one core: samples per second through feature
 * extraction and scoring (pfa_model__observe), against a trivial pass
 * over the same samples measured in the same run, plus the baselines, and
 * the memory one interconnect costs. Prints a table; never fails on timing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfa/eval.h"
#include "pfa/synth.h"

#define LINKS 32
#define SPAN 10000 /* seconds of trace, replayed with shifted clocks */

static struct pfa_sample *samples;
static size_t n_samples;

static int collect(void *ctx, const struct pfa_sample *s)
{
	samples[n_samples++] = *s;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum { RUN_TRIVIAL, RUN_PFA, RUN_BASELINES };

/* Samples per second of @what over @passes passes of the trace. */
static double run(int what, unsigned n_h, unsigned passes, double *sink)
{
	uint32_t hs[3] = { 900, 300, 1800 };
	struct pfa_model *m = NULL;
	struct pfa_base *b = NULL;
	struct pfa_config cfg;
	struct pfa_output o;
	double t0, acc = 0;

	pfa_config__defaults(&cfg);
	cfg.n_horizons = n_h;
	memcpy(cfg.horizon_s, hs, sizeof(hs));
	if (what == RUN_PFA && !(m = pfa_model__new(&cfg)))
		return -1;
	if (what == RUN_BASELINES && !(b = pfa_base__new()))
		return -1;
	t0 = now();
	for (unsigned p = 0; p < passes; p++) {
		for (size_t i = 0; i < n_samples; i++) {
			struct pfa_sample s = samples[i];
			double th, z;

			s.ts += (int64_t)p * SPAN;
			switch (what) {
			case RUN_TRIVIAL:
				/* Touch what the model reads: the floor for any per-sample work. */
				acc += s.rtt_p90_ms + s.retrans_out + s.probe_loss + s.routes + s.link[2];
				break;
			case RUN_PFA:
				pfa_model__observe(m, &s, &o);
				acc += o.pred[0].p;
				break;
			default:
				pfa_base__observe(b, (uint32_t)(i % LINKS), &s, &th, &z);
				acc += th + z;
			}
		}
	}
	t0 = now() - t0;
	*sink += acc;
	pfa_model__free(m);
	pfa_base__free(b);
	return (double)n_samples * passes / t0;
}

int main(int argc, char **argv)
{
	struct pfa_synth_cfg sc;
	struct pfa_config cfg;
	struct pfa_model *m1, *m3;
	unsigned passes = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
	double sink = 0, base, r;

	pfa_synth_cfg__defaults(&sc);
	sc.seed = 42;
	sc.n_links = LINKS;
	sc.duration_s = SPAN;
	sc.fail_per_day = 4;
	samples = malloc(sizeof(*samples) * LINKS * SPAN);
	if (!samples || pfa_synth__run(&sc, collect, NULL, NULL)) {
		fprintf(stderr, "bench-pfa: cannot build the trace\n");
		return 1;
	}
	if (passes < 1)
		passes = 1;
	base = run(RUN_TRIVIAL, 1, passes * 4, &sink);
	printf("%zu samples (%u links x %u s, seed 42) x %u passes, one core\n", n_samples, LINKS,
	       SPAN, passes);
	printf("%-38s %14s %10s %12s\n", "what", "samples/s", "ns/sample", "vs trivial");
	printf("%-38s %14.0f %10.1f %11.2fx\n", "trivial pass over the samples", base, 1e9 / base, 1.0);
	r = run(RUN_PFA, 1, passes, &sink);
	printf("%-38s %14.0f %10.1f %11.2fx\n", "pfa observe, 1 horizon (15 min)", r, 1e9 / r,
	       base / r);
	r = run(RUN_PFA, 3, passes, &sink);
	printf("%-38s %14.0f %10.1f %11.2fx\n", "pfa observe, 3 horizons", r, 1e9 / r, base / r);
	r = run(RUN_BASELINES, 1, passes, &sink);
	printf("%-38s %14.0f %10.1f %11.2fx\n", "baselines (threshold + z-score)", r, 1e9 / r,
	       base / r);

	pfa_config__defaults(&cfg);
	m1 = pfa_model__new(&cfg);
	cfg.n_horizons = 3;
	cfg.horizon_s[1] = 300;
	cfg.horizon_s[2] = 1800;
	m3 = pfa_model__new(&cfg);
	if (m1 && m3)
		printf("memory per interconnect: %zu bytes with 1 horizon, %zu with 3 "
		       "(model itself: %zu bytes)\n",
		       pfa_model__link_bytes(m1), pfa_model__link_bytes(m3), pfa_model__size());
	pfa_model__free(m1);
	pfa_model__free(m3);
	free(samples);
	/* Keeps the compiler from dropping the loops. */
	return sink == 42.4242 ? 2 : 0;
}
