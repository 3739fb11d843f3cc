/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small harness for C tests, in the spirit of the kernel selftests'
 * ASSERT_EQ: every check names what it checks and prints expected vs got.
 * Each test function reports one line, "PASS: name" or "FAIL: name: ...",
 * which tests/run.sh counts.
 *
 *   static void test_foo(void) { ASSERT_EQ(foo(1), 2, "foo(1)"); }
 *   int main(void) { RUN(test_foo); return harness_exit(); }
 */
#ifndef PRESAGE_HARNESS_H
#define PRESAGE_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failed_total;
static int harness_cur_failed;

#define HFAIL(fmt, ...)                                                                            \
	do {                                                                                       \
		fprintf(stdout, "  %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);          \
		harness_cur_failed++;                                                              \
	} while (0)

#define ASSERT_TRUE(cond, what)                                                                    \
	({                                                                                         \
		int ___ok = !!(cond);                                                              \
		if (!___ok)                                                                        \
			HFAIL("%s: expected true: %s", what, #cond);                               \
		___ok;                                                                             \
	})

#define ASSERT_EQ(got, want, what)                                                                 \
	({                                                                                         \
		long long ___g = (long long)(got), ___w = (long long)(want);                       \
		int ___ok = ___g == ___w;                                                          \
		if (!___ok)                                                                        \
			HFAIL("%s: expected %lld, got %lld", what, ___w, ___g);                    \
		___ok;                                                                             \
	})

#define ASSERT_NEAR(got, want, tol, what)                                                          \
	({                                                                                         \
		double ___g = (double)(got), ___w = (double)(want);                                \
		int ___ok = ___g >= ___w - (tol) && ___g <= ___w + (tol);                          \
		if (!___ok)                                                                        \
			HFAIL("%s: expected %g +- %g, got %g", what, ___w, (double)(tol), ___g);   \
		___ok;                                                                             \
	})

#define ASSERT_STREQ(got, want, what)                                                              \
	({                                                                                         \
		const char *___g = (got), *___w = (want);                                          \
		int ___ok = ___g && ___w && !strcmp(___g, ___w);                                   \
		if (!___ok)                                                                        \
			HFAIL("%s: expected \"%s\", got \"%s\"", what, ___w ? ___w : "(null)",     \
			      ___g ? ___g : "(null)");                                             \
		___ok;                                                                             \
	})

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		harness_cur_failed = 0;                                                            \
		fn();                                                                              \
		fflush(stdout);                                                                    \
		if (harness_cur_failed) {                                                          \
			printf("FAIL: %s: %d check(s) failed\n", #fn, harness_cur_failed);         \
			harness_failed_total++;                                                    \
		} else {                                                                           \
			printf("PASS: %s\n", #fn);                                                 \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

/* Named sub-result (for table-driven tests). */
#define RESULT(name, failed_checks)                                                                \
	do {                                                                                       \
		if (failed_checks) {                                                               \
			printf("FAIL: %s\n", name);                                                \
			harness_failed_total++;                                                    \
		} else {                                                                           \
			printf("PASS: %s\n", name);                                                \
		}                                                                                  \
		fflush(stdout);                                                                    \
	} while (0)

static inline int harness_exit(void)
{
	return harness_failed_total ? 1 : 0;
}

#endif
