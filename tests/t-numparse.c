// SPDX-License-Identifier: GPL-2.0-only
/* user/lib/numparse: numbers are read whole, checked, and never wrap. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>

#include "harness.h"
#include "numparse.h"

static void test_dbl(void)
{
	static const struct {
		const char *s;
		int err;
		double v;
	} c[] = {
		{ "0", 0, 0 },	       { "2.5", 0, 2.5 },     { "1e1", 0, 10 }, { "-3", 0, -3 },
		{ "100", 0, 100 },     { "100.0001", -ERANGE }, { "-3.5", -ERANGE },
		{ "", -EINVAL },       { " 1", -EINVAL },     { "1 ", -EINVAL },  { "12x", -EINVAL },
		{ "x", -EINVAL },      { "nan", -EINVAL },    { "inf", -ERANGE }, { "1e999", -ERANGE },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double v = -42;
		int err = parse_dbl(c[i].s, -3, 100, &v);
		char what[64];

		snprintf(what, sizeof(what), "parse_dbl(\"%s\", -3, 100)", c[i].s);
		ASSERT_EQ(err, c[i].err, what);
		if (!c[i].err)
			ASSERT_TRUE(v == c[i].v, what);
		else
			ASSERT_TRUE(v == -42, "output untouched on error");
	}
	ASSERT_EQ(parse_dbl(NULL, 0, 1, &(double){ 0 }), -EINVAL, "NULL");
}

static void test_u64(void)
{
	static const struct {
		const char *s;
		uint64_t lo, hi;
		int err;
		uint64_t v;
	} c[] = {
		{ "1", 1, 64, 0, 1 },
		{ "64", 1, 64, 0, 64 },
		{ "0", 1, 64, -ERANGE },
		{ "65", 1, 64, -ERANGE },
		{ "007", 0, 10, 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE },
		{ "99999999999999999999999", 0, UINT64_MAX, -ERANGE },
		{ "-1", 0, UINT64_MAX, -EINVAL }, /* strtoull would give UINT64_MAX */
		{ "+1", 0, 10, -EINVAL },
		{ " 1", 0, 10, -EINVAL },
		{ "1.5", 0, 10, -EINVAL },
		{ "3x", 0, 10, -EINVAL }, /* atoi would give 3 */
		{ "", 0, 10, -EINVAL },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t v = 42;
		int err = parse_u64(c[i].s, c[i].lo, c[i].hi, &v);
		char what[96];

		snprintf(what, sizeof(what), "parse_u64(\"%s\", %" PRIu64 ", %" PRIu64 ")", c[i].s,
			 c[i].lo, c[i].hi);
		ASSERT_EQ(err, c[i].err, what);
		ASSERT_TRUE(c[i].err ? v == 42 : v == c[i].v, what);
	}
}

int main(void)
{
	RUN(test_dbl);
	RUN(test_u64);
	return harness_exit();
}
