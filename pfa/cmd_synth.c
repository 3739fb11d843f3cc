// SPDX-License-Identifier: GPL-2.0-only
/* `presage synth`: write a seeded synthetic health trace and its failures. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "numparse.h"
#include "pfa/csv.h"
#include "pfa/synth.h"

struct synth_out {
	FILE *trace, *events;
};

static int synth_sample(void *ctx, const struct pfa_sample *s)
{
	struct synth_out *o = ctx;
	char line[512];
	int n = pfa_sample__to_csv(s, line, sizeof(line));

	if (n < 0)
		return n;
	return fwrite(line, 1, (size_t)n, o->trace) == (size_t)n ? 0 : -EIO;
}

static int synth_event(void *ctx, const struct pfa_synth_event *e, const char *link)
{
	struct synth_out *o = ctx;

	if (fprintf(o->events, "%lld,%s,%s,%d\n", (long long)e->ts, link,
		    pfa_synth_kind__name(e->kind), e->precursor) < 0)
		return -EIO;
	return 0;
}

static void synth_usage(FILE *f)
{
	fprintf(f,
		"Usage: presage synth [OPTIONS]\n"
		"Write a seeded synthetic health trace (CSV, the columns replay reads).\n\n"
		"  --seed N          generator seed (default 1); same seed, same trace\n"
		"  --links N         interconnects (default 4)\n"
		"  --days D          length in days, fractions allowed (default 1)\n"
		"  --start TS        first Unix second (default 1767225600)\n"
		"  --fail-rate R     failures per link and day (default 1)\n"
		"  --benign-rate R   precursor look-alikes that end well, per link-day (default 2)\n"
		"  --missing F       share of missing values, 0..0.5 (default 0.01)\n"
		"  -o, --out FILE    trace file (default: standard output)\n"
		"  -e, --events FILE failures: ts,link,kind,precursor (for replay --events)\n"
		"  -h, --help        this help\n");
}

static int cmd_synth(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "links", required_argument, NULL, 'l' },
		{ "days", required_argument, NULL, 'd' },
		{ "start", required_argument, NULL, 'S' },
		{ "fail-rate", required_argument, NULL, 'f' },
		{ "benign-rate", required_argument, NULL, 'b' },
		{ "missing", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ "events", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out_path = NULL, *ev_path = NULL;
	struct synth_out o = { .trace = stdout };
	struct pfa_synth_cfg cfg;
	double v;
	int c, err, ret = 1;

	pfa_synth_cfg__defaults(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:e:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_dbl(optarg, 0, 1e18, &v))
				goto bad;
			cfg.seed = (uint64_t)v;
			break;
		case 'l':
			if (parse_dbl(optarg, 1, 1024, &v))
				goto bad;
			cfg.n_links = (unsigned)v;
			break;
		case 'd':
			if (parse_dbl(optarg, 1.0 / 24, 60, &v))
				goto bad;
			cfg.duration_s = (uint32_t)(v * 86400);
			break;
		case 'S':
			if (parse_dbl(optarg, 1, 9999999999.0, &v))
				goto bad;
			cfg.start_ts = (int64_t)v;
			break;
		case 'f':
			if (parse_dbl(optarg, 0, 50, &cfg.fail_per_day))
				goto bad;
			break;
		case 'b':
			if (parse_dbl(optarg, 0, 50, &cfg.benign_per_day))
				goto bad;
			break;
		case 'm':
			if (parse_dbl(optarg, 0, 0.5, &cfg.missing))
				goto bad;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'e':
			ev_path = optarg;
			break;
		case 'j':
			/* Output is CSV either way; accepted for symmetry. */
			break;
		case 'h':
			synth_usage(stdout);
			return 0;
		default:
			synth_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("synth: unexpected argument '%s' (see presage synth --help)", argv[optind]);
		return 2;
	}
	if (out_path && strcmp(out_path, "-")) {
		o.trace = fopen(out_path, "w");
		if (!o.trace) {
			pr_err("synth: cannot create %s: %s", out_path, strerror(errno));
			return 1;
		}
	}
	if (ev_path) {
		o.events = fopen(ev_path, "w");
		if (!o.events) {
			pr_err("synth: cannot create %s: %s", ev_path, strerror(errno));
			goto out;
		}
		fprintf(o.events, "ts,link,kind,precursor\n");
	}
	fprintf(o.trace, "%s\n", pfa_csv_header);
	err = pfa_synth__run(&cfg, synth_sample, ev_path ? synth_event : NULL, &o);
	if (err) {
		pr_err("synth: %s", strerror(-err));
		goto out;
	}
	ret = 0;
out:
	if (o.events && fclose(o.events) && !ret) {
		pr_err("synth: writing %s: %s", ev_path, strerror(errno));
		ret = 1;
	}
	if (o.trace != stdout && fclose(o.trace) && !ret) {
		pr_err("synth: writing %s: %s", out_path, strerror(errno));
		ret = 1;
	}
	if (o.trace == stdout && fflush(stdout) && !ret)
		ret = 1;
	return ret;
bad:
	pr_err("synth: bad option value '%s' (see presage synth --help for ranges)", optarg);
	return 2;
}

CLI_COMMAND(synth, "synth", "write a seeded synthetic health trace for replay", cmd_synth);
