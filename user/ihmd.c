// SPDX-License-Identifier: GPL-2.0-only
/*
 * ihmd: the Interconnect Health Monitor agent. Loads and attaches presage's
 * data plane to every configured interconnect, and every tick turns the
 * counters into a health sample per interconnect, printed as a table or as
 * JSON lines. SIGTERM/SIGINT detach everything it attached; the maps stay
 * pinned so a restart continues the counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "api.h"
#include "config.h"
#include "dataplane.h"
#include "health.h"
#include "json.h"
#include "log.h"
#include "netns.h"
#include "nlmon.h"
#include "probe.h"
#include "store.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* Where nlmon's events go: the log, the health API's store, and in -j mode a JSON line on stdout. */
struct event_sink {
	const struct ihm_config *cfg;
	bool json;
	struct store *store;	/* for /v1/events */
};

/*
 * Runs on nlmon's thread. Sample lines are written under flockfile(stdout)
 * by the main thread, so an event line never lands inside one.
 */
static void on_nl_event(void *ctx, uint64_t ts_ms, const char *kind, int link_idx,
			const char *detail)
{
	const struct event_sink *es = ctx;
	const char *link = link_idx >= 0 && link_idx < es->cfg->nlinks ?
				   es->cfg->links[link_idx].name : NULL;

	pr_info("event %s%s%s: %s", kind, link ? " on " : "", link ? link : "", detail);
	store_event(es->store, ts_ms, kind, link, detail);
	if (es->json) {
		struct json_writer w;

		flockfile(stdout);
		json_init(&w, stdout);
		json_obj_open(&w, NULL);
		json_str(&w, "schema", "presage.event/1");
		json_u64(&w, "ts_ms", ts_ms);
		json_str(&w, "kind", kind);
		if (link)
			json_str(&w, "link", link);
		else
			json_null(&w, "link");
		json_str(&w, "detail", detail);
		json_obj_close(&w);
		fputc('\n', stdout);
		fflush(stdout);
		funlockfile(stdout);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ihmd -c CONFIG [options]\n"
		"The presage Interconnect Health Monitor agent.\n\n"
		"  -c, --config FILE   configuration (interconnects, tick, pin directory)\n"
		"  -n, --netns NAME    run in network namespace NAME (/var/run/netns/NAME);\n"
		"                      unlike 'ip netns exec' this keeps the host's bpffs, so\n"
		"                      the pinned maps outlive the agent\n"
		"  -j, --json          print samples as JSON lines instead of a table; events\n"
		"                      (link-up, link-down, withdrawal-burst, netlink-resync)\n"
		"                      go to the log and, with -j, to stdout as\n"
		"                      presage.event/1 lines of their own\n"
		"  -t, --tick DUR      override the config's tick (e.g. 500ms)\n"
		"      --count N       exit after N samples (default: run until SIGTERM)\n"
		"      --quiet         print no samples (logs only)\n"
		"      --check         parse the config, print what would be attached, exit\n"
		"      --cleanup       detach leftover presage programs from the configured\n"
		"                      interfaces and remove the pinned maps, then exit\n"
		"  -v, --verbose       more log output (twice: debug, with libbpf's messages)\n"
		"  -h, --help          this help\n\n"
		"The health API (GET /v1/health, /v1/history, /v1/events, /metrics) listens\n"
		"on the config's 'listen' address (default " CFG_DEFAULT_LISTEN ", 'off' to\n"
		"disable), in the --netns namespace; see docs/health-api.md.\n"
		"Maps are pinned under the config's pin-dir (default " PRESAGE_PIN_DIR "),\n"
		"e.g. bpftool map dump pinned " PRESAGE_PIN_DIR "/link_stats\n");
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *state_name(enum link_attach_state s)
{
	switch (s) {
	case LINK_ATTACHED: return "attached";
	case LINK_IFACE_MISSING: return "missing";
	case LINK_ATTACH_FAILED: return "failed";
	default: return "detached";
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "netns", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "tick", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'N' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "check", no_argument, NULL, 'C' },
		{ "cleanup", no_argument, NULL, 'X' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *cfg_path = NULL, *netns = NULL, *tick_arg = NULL;
	static struct ihm_config cfg;
	static struct link_reading prev[CFG_MAX_LINKS], cur[CFG_MAX_LINKS];
	static bool have_prev[CFG_MAX_LINKS];
	static struct health_sample samples[CFG_MAX_LINKS];
	struct health_sample s;
	struct store *store = NULL;
	struct api *api = NULL;
	bool json = false, quiet = false, check = false, cleanup = false;
	long count = -1, printed = 0;
	int verbose = 0, c, err, ret = 1;
	char errbuf[512];
	struct ihm_dp *dp = NULL;
	struct nlmon *nl = NULL;
	struct event_sink sink = { .cfg = &cfg };
	struct prober *prober = NULL;
	uint64_t gen, next_tick, last_read = 0;
	struct sigaction sa = { .sa_handler = on_signal };

	log_set_ident("ihmd");
	while ((c = getopt_long(argc, argv, "c:n:jt:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; break;
		case 'n': netns = optarg; break;
		case 'j': json = true; break;
		case 't': tick_arg = optarg; break;
		case 'N':
			count = strtol(optarg, NULL, 10);
			if (count <= 0) {
				pr_err("--count takes a positive number, not '%s'", optarg);
				return 2;
			}
			break;
		case 'q': quiet = true; break;
		case 'C': check = true; break;
		case 'X': cleanup = true; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (see ihmd --help)", argv[optind]);
		return 2;
	}
	if (!cfg_path) {
		pr_err("no config given: ihmd -c /etc/presage/ihmd.conf (see ihmd --help)");
		return 2;
	}
	log_set_level(verbose >= 2 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_set_timestamps(true);
	log_hook_libbpf();

	err = config_load(cfg_path, &cfg, errbuf, sizeof(errbuf));
	if (err) {
		pr_err("%s", errbuf);
		return 2;
	}
	if (tick_arg && (parse_duration(tick_arg, &cfg.tick_ns) || cfg.tick_ns < 10000000ULL)) {
		pr_err("--tick '%s' is not a duration of at least 10ms", tick_arg);
		return 2;
	}
	if (netns && netns_enter(netns))
		return 1;
	if (check) {
		for (int i = 0; i < cfg.nlinks; i++) {
			const struct link_conf *l = &cfg.links[i];

			printf("%s: interface %s (%s), capacity %llu bit/s%s%s", l->name, l->ifname,
			       if_nametoindex(l->ifname) ? "present" : "missing",
			       (unsigned long long)l->capacity_bps, l->peer[0] ? ", peer " : "",
			       l->peer);
			for (int k = 0; k < l->nprobes; k++)
				printf("%s%s", k ? " " : ", probes ", l->probes[k].text);
			putchar('\n');
		}
		printf("health API: %s%s\n", cfg.listen[0] ? cfg.listen : "off",
		       !cfg.listen[0] ? "" : !cfg.tls_cert[0] ? " (HTTP)" :
		       cfg.tls_client_ca[0] ? " (HTTPS, client certificate required)" : " (HTTPS)");
		return 0;
	}
	if (cleanup)
		return ihm_dp_cleanup(&cfg) ? 1 : 0;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The health API (in the agent's namespace). Without it the controller
	 * cannot see this agent, so a busy port or a bad certificate is fatal. */
	store = store_new(&cfg);
	if (!store) {
		pr_err("cannot keep %u samples of %d interconnect(s) in memory: %s; lower 'history'",
		       cfg.history, cfg.nlinks, strerror(errno));
		return 1;
	}
	if (cfg.listen[0] && !(api = api_start(&cfg, store)))
		goto out;
	dp = ihm_dp__open(&cfg);
	if (!dp)
		goto out;
	sink.json = json && !quiet;
	sink.store = store;
	nl = nlmon_start(&cfg, on_nl_event, &sink);
	if (!nl) {
		pr_err("cannot monitor links and routes over netlink; not starting without them");
		goto out;
	}
	if (ihm_dp__attach_all(dp) == 0)
		pr_warn("no interconnect could be attached yet; running, and attaching each one "
			"when its interface appears");
	prober = prober_start(&cfg);
	if (!prober)
		goto out;
	pr_info("started: %d interconnect(s), tick %.3fs, maps pinned in %s", cfg.nlinks,
		(double)cfg.tick_ns / 1e9, cfg.pin_dir);
	snprintf(errbuf, sizeof(errbuf), "pid %d, %d interconnect(s), tick %.3fs", (int)getpid(),
		 cfg.nlinks, (double)cfg.tick_ns / 1e9);
	store_event(store, 0, "agent-start", NULL, errbuf);

	/* A generation no earlier process used, so stale windows never match. */
	gen = now_ns(CLOCK_REALTIME);
	ihm_dp__set_tick_gen(dp, gen);
	if (!quiet && !json)
		health_print_header(stdout);
	next_tick = now_ns(CLOCK_MONOTONIC);
	while (!stop_sig) {
		int ids[CFG_MAX_LINKS], n = cfg.nlinks;
		uint64_t t_read, flows = 0;
		double dt;

		ihm_dp__recheck(dp);
		for (int i = 0; i < n; i++)
			ids[i] = ihm_dp__link_id(dp, i);
		t_read = now_ns(CLOCK_MONOTONIC);
		err = health_read(ihm_dp__stats_fd(dp), ihm_dp__hist_fd(dp), ids, n, gen, cur);
		ihm_dp__set_tick_gen(dp, ++gen);
		if (err)
			pr_warn("reading the maps failed: %s", strerror(-err));
		if (health_count_flows(ihm_dp__flows_fd(dp), &flows))
			flows = 0;
		dt = last_read ? (double)(t_read - last_read) / 1e9 : 0;
		last_read = t_read;

		if (!err && dt > 0) {
			struct json_writer w;
			uint64_t ts_ms = now_ns(CLOCK_REALTIME) / 1000000ULL;
			bool print_json = json && !quiet;

			/* One sample line at a time against nlmon's event lines. */
			flockfile(stdout);
			if (print_json) {
				json_init(&w, stdout);
				json_obj_open(&w, NULL);
				json_str(&w, "schema", HEALTH_SCHEMA);
				json_u64(&w, "ts_ms", ts_ms);
				json_arr_open(&w, "links");
			}
			for (int i = 0; i < n; i++) {
				const struct link_conf *lc = &cfg.links[i];

				health_sample_init(&s);
				snprintf(s.link, sizeof(s.link), "%s", lc->name);
				snprintf(s.ifname, sizeof(s.ifname), "%s", lc->ifname);
				snprintf(s.state, sizeof(s.state), "%s",
					 state_name(ihm_dp__link_state(dp, i)));
				s.ts_ms = ts_ms;
				health_compute(&s, have_prev[i] ? &prev[i] : &cur[i], &cur[i], dt,
					       lc->capacity_bps);
				prober_collect(prober, i, &s);
				s.flows_live = flows;
				s.flows_max = PRESAGE_MAX_FLOWS;
				s.flow_pressure = (double)flows / PRESAGE_MAX_FLOWS;
				nlmon_collect(nl, i, &s);
				samples[i] = s;
				if (print_json)
					health_json(&w, &s);
				else if (!quiet)
					health_print_row(stdout, &s);
			}
			if (print_json) {
				json_arr_close(&w);
				json_obj_close(&w);
				fputc('\n', stdout);
			}
			fflush(stdout);
			funlockfile(stdout);
			store_push(store, samples, cur, n);
			printed++;
		}
		for (int i = 0; i < n && !err; i++) {
			prev[i] = cur[i];
			have_prev[i] = true;
		}
		if (count > 0 && printed >= count)
			break;

		next_tick += cfg.tick_ns;
		{
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			struct timespec ts;

			/* After a stall, skip missed ticks instead of bursting. */
			while (next_tick <= now)
				next_tick += cfg.tick_ns;
			ts.tv_sec = next_tick / 1000000000ULL;
			ts.tv_nsec = next_tick % 1000000000ULL;
			while (!stop_sig &&
			       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
	}
	if (stop_sig)
		pr_info("received %s, detaching", strsignal(stop_sig));
	snprintf(errbuf, sizeof(errbuf), "%s", stop_sig ? strsignal(stop_sig) : "--count reached");
	/* In memory only: a client sees it only if it asks before the API stops. */
	store_event(store, 0, "agent-stop", NULL, errbuf);
	ret = 0;
out:
	nlmon_stop(nl);
	prober_stop(prober);
	/* After nlmon and the prober: their threads raise events into the store. */
	api_stop(api);
	store_free(store);
	ihm_dp__destroy(dp);
	if (!ret)
		pr_info("stopped; maps stay pinned in %s (remove with ihmd --cleanup)", cfg.pin_dir);
	return ret;
}
