// SPDX-License-Identifier: GPL-2.0-only
/* PFA failure definition file (pfa_config__parse): keys, units, errors with line numbers. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "pfa/pfa.h"

static int parse(struct pfa_config *cfg, const char *text, char *err, size_t errlen)
{
	return pfa_config__parse(cfg, text, strlen(text), err, errlen);
}

static void test_parse_every_key(void)
{
	struct pfa_config cfg;
	char err[256] = "";

	pfa_config__defaults(&cfg);
	ASSERT_EQ(parse(&cfg,
			"# failure definition\n"
			"link-down   = no\n"
			"\n"
			"probe-loss  = 20% for 45s   # stricter\n"
			"rtt-p90     = 3.5x for 2m\n"
			"routes-drop = 40 %\n"
			"clear       = 90\n"
			"horizons    = 5m, 15min 1800s\n",
			err, sizeof(err)), 0, err);
	ASSERT_EQ(cfg.fail.link_down, 0, "link-down");
	ASSERT_NEAR(cfg.fail.probe_loss_pct, 20, 0, "probe loss %");
	ASSERT_EQ(cfg.fail.probe_loss_s, 45, "probe loss seconds");
	ASSERT_NEAR(cfg.fail.rtt_k, 3.5, 0, "rtt k");
	ASSERT_EQ(cfg.fail.rtt_s, 120, "rtt seconds (2m)");
	ASSERT_NEAR(cfg.fail.routes_drop_pct, 40, 0, "routes drop");
	ASSERT_EQ(cfg.fail.clear_s, 90, "clear (bare seconds)");
	ASSERT_EQ(cfg.n_horizons, 3, "horizons");
	ASSERT_EQ(cfg.horizon_s[0], 300, "5m");
	ASSERT_EQ(cfg.horizon_s[1], 900, "15min");
	ASSERT_EQ(cfg.horizon_s[2], 1800, "1800s");
}

static void test_parse_off_and_partial(void)
{
	struct pfa_config cfg, def;
	char err[256] = "";

	pfa_config__defaults(&cfg);
	def = cfg;
	ASSERT_EQ(parse(&cfg, "probe-loss = off\r\nrtt-p90 = off\r\nroutes-drop = 0%", err, sizeof(err)), 0,
		  err);
	ASSERT_NEAR(cfg.fail.probe_loss_pct, 0, 0, "probe loss off");
	ASSERT_NEAR(cfg.fail.rtt_k, 0, 0, "rtt off");
	ASSERT_NEAR(cfg.fail.routes_drop_pct, 0, 0, "routes off (last line without newline)");
	ASSERT_EQ(cfg.fail.clear_s, def.fail.clear_s, "a key not given keeps its value");
	ASSERT_EQ(cfg.n_horizons, def.n_horizons, "horizons kept");
	ASSERT_EQ(parse(&cfg, "", err, sizeof(err)), 0, "empty file");
}

static void test_parse_errors_name_the_line(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "clear = 60s\nbogus = 1\n", "line 2: unknown key 'bogus'" },
		{ "\n\nprobe-loss = 50 for 30s\n", "line 3: probe-loss = '50 for 30s': expected PCT% for DURATION" },
		{ "rtt-p90 = 0.5x for 60s\n", "line 1: rtt-p90: out of range: need RTT factor k of 1 or more" },
		{ "horizons = 1m\n", "line 1: horizons: out of range: need each horizon between 300 and 1800" },
		{ "horizons = 5m 10m 15m 20m 25m\n", "line 1: horizons = '5m 10m 15m 20m 25m': expected 1 to 4" },
		{ "clear = 60s\nclear = 30s\n", "line 2: clear given again (first on line 1)" },
		{ "link-down maybe\n", "line 1: expected KEY = VALUE" },
		{ "link-down = maybe\n", "line 1: link-down = 'maybe': expected yes or no" },
		{ "clear = 5ms\n", "line 1: clear = '5ms': expected a DURATION" },
		{ "clear = 2h\n", "line 1: clear: out of range: need failure durations of at most 3600" },
		{ "routes-drop = 101%\n", "line 1: routes-drop: out of range" },
		{ "probe-loss = nan% for 30s\n", "line 1: probe-loss = 'nan% for 30s'" },
	};
	char err[256];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pfa_config cfg, before;

		pfa_config__defaults(&cfg);
		before = cfg;
		err[0] = '\0';
		ASSERT_EQ(parse(&cfg, bad[i].text, err, sizeof(err)), -EINVAL, bad[i].text);
		if (!ASSERT_TRUE(strstr(err, bad[i].want) != NULL, bad[i].text))
			printf("    message: %s\n    wanted:  %s\n", err, bad[i].want);
		ASSERT_TRUE(!memcmp(&cfg, &before, sizeof(cfg)), "a refused file changes nothing");
	}
	{
		struct pfa_config cfg;
		char nul[] = "clear = 60s\nx\0y = 1\n";

		pfa_config__defaults(&cfg);
		ASSERT_EQ(pfa_config__parse(&cfg, nul, sizeof(nul) - 1, err, sizeof(err)), -EINVAL, "NUL");
		ASSERT_TRUE(strstr(err, "line 2: NUL byte") != NULL, err);
	}
}

int main(void)
{
	RUN(test_parse_every_key);
	RUN(test_parse_off_and_partial);
	RUN(test_parse_errors_name_the_line);
	return harness_exit();
}
