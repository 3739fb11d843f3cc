// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage-mirrord: the per-POP content agent.
 *
 *   presage-mirrord serve ...   serve this POP's store to destinations
 *                               holding a controller-signed order
 *   presage-mirrord pull ...    execute a signed order as its destination
 *   presage-mirrord run ...     serve, and take the controller's commands
 *                               (orders, primary flags, hot set, manifest)
 *
 * A pull that is killed leaves nothing visible and no temporary files once
 * it runs again; running the same order again finishes the transfer
 * without moving the items already installed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "mirror/agent.h"
#include "mirror/opts.h"
#include "mirror/run.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: presage-mirrord serve --listen ADDR:PORT [AGENT OPTIONS]\n"
		   "       presage-mirrord pull --order FILE [--parallel N] [--bwlimit BYTES/S] [-j] [AGENT OPTIONS]\n"
		   "       presage-mirrord run --listen ADDR:PORT --region R --policy FILE [--controller-cn CN]\n"
		   "                 [--access-log FILE [--log-format host|combined|'NGINX LOG_FORMAT']\n"
		   "                 [--hot-counters K] [--half-life S]] [--parallel N] [--bwlimit BYTES/S] [AGENT OPTIONS]\n\n"
		   "run serves the store as serve does and, on the same port, takes commands from\n"
		   "the peer whose certificate CN is --controller-cn (default 'controller'): signed\n"
		   "orders (pulled in the background, journaled in ROOT/.presage/jobs/), job status,\n"
		   "signed primary flags, the hot set of --access-log, a host's manifest.\n\n"
		   "Agent options:\n%s"
		   "  -v                  more log output (repeat for debug)\n",
		   mirror_cfg_usage);
}

static void progress(void *arg, const struct mirror_progress *p)
{
	mirror_progress_print(stdout, p, *(bool *)arg, false);
}

int main(int argc, char **argv)
{
	struct mirror_agent_cfg cfg = { 0 };
	struct mirror_run_cfg rcfg = { 0 };
	const char *order_file = NULL;
	int verbose = 0, err, i;
	bool json = false;

	log_set_ident("presage-mirrord");
	log_set_timestamps(true);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 2; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		char why[160];
		int r = mirror_cfg_opt(&cfg, argv[i], val, why, sizeof(why));

		if (r == 1) {
			i++;
			continue;
		}
		if (r < 0) {
			fprintf(stderr, "presage-mirrord: %s\n", why);
			return 2;
		}
		if (!strcmp(argv[i], "--order") && val) {
			order_file = val;
			i++;
		} else if (!strcmp(argv[i], "--controller-cn") && val) {
			rcfg.controller_cn = val;
			i++;
		} else if (!strcmp(argv[i], "--access-log") && val) {
			rcfg.access_log = val;
			i++;
		} else if (!strcmp(argv[i], "--log-format") && val) {
			rcfg.log_format = val;
			i++;
		} else if (!strcmp(argv[i], "--hot-counters") && val) {
			char *end;

			rcfg.hot_counters = strtoul(val, &end, 10);
			if (*end || rcfg.hot_counters == 0 || rcfg.hot_counters > 1000000) {
				fprintf(stderr, "presage-mirrord: --hot-counters wants 1..1000000, not '%s'\n", val);
				return 2;
			}
			i++;
		} else if (!strcmp(argv[i], "--half-life") && val) {
			char *end;

			rcfg.half_life_s = strtod(val, &end);
			if (*end || rcfg.half_life_s < 0) {
				fprintf(stderr, "presage-mirrord: --half-life wants seconds >= 0 (0: no decay), not '%s'\n", val);
				return 2;
			}
			if (rcfg.half_life_s == 0)
				rcfg.half_life_s = -1;
			i++;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-v")) {
			verbose++;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "presage-mirrord: unknown option '%s' (see --help)\n", argv[i]);
			return 2;
		}
	}
	log_set_level(verbose > 1 ? LOG_LVL_DEBUG : verbose ? LOG_LVL_INFO : LOG_LVL_WARN);
	if (!strcmp(argv[1], "serve")) {
		struct sigaction sa = { .sa_handler = on_signal };

		if (mirror_cfg_check(&cfg, true))
			return 2;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		log_set_level(verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
		err = mirror_serve(&cfg, &stop);
		if (err)
			pr_err("serve: %s\n", mirror_strerror(err));
		return err ? 1 : 0;
	}
	if (!strcmp(argv[1], "run")) {
		struct sigaction sa = { .sa_handler = on_signal };

		if (mirror_cfg_check(&cfg, true))
			return 2;
		if (!cfg.region || !cfg.policy) {
			fprintf(stderr, "presage-mirrord: run needs --region and --policy (see --help)\n");
			return 2;
		}
		if (rcfg.log_format && !rcfg.access_log) {
			fprintf(stderr, "presage-mirrord: --log-format without --access-log\n");
			return 2;
		}
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		log_set_level(verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
		rcfg.agent = cfg;
		err = mirror_run(&rcfg, &stop);
		if (err)
			pr_err("run: %s\n", mirror_strerror(err));
		return err ? 1 : 0;
	}
	if (!strcmp(argv[1], "pull")) {
		struct mirror_progress res;
		char *order;
		size_t len;

		if (mirror_cfg_check(&cfg, false))
			return 2;
		if (!order_file) {
			fprintf(stderr, "presage-mirrord: pull needs --order FILE\n");
			return 2;
		}
		err = read_file_all(order_file, 64 << 20, &order, &len);
		if (err) {
			pr_err("cannot read order %s: %s\n", order_file, mirror_strerror(err));
			return 1;
		}
		err = mirror_pull(&cfg, order, len, progress, &json, &res);
		free(order);
		if (err) {
			pr_err("pull: %s\n", mirror_strerror(err));
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "presage-mirrord: unknown mode '%s' (serve, pull or run)\n", argv[1]);
	return 2;
}
