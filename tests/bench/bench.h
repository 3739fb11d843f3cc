/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared helpers of the benchmark programs. */
#ifndef PRESAGE_BENCH_H
#define PRESAGE_BENCH_H

#include <stdlib.h>

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of @n values; sorts @v in place. */
static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
