// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmmd: the controller. Each poll: health from every agent, PFA per
 * interconnect, POP risk and real failures, each hostname's state machine;
 * every decision is journaled (SQLite, fsynced) before it is acted on. See
 * docs/controller.md.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>

#include <curl/curl.h>

#include "cmm_journal.h"
#include "cmmd.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

/*
 * Journal rows whose action failed are tried again after 3 s, then after
 * twice as long each time up to a minute: an unreachable server or agent
 * (a dead POP's mirrord) must not hold the loop every poll.
 */
#define CMMD_RETRY_MS 3000
#define CMMD_RETRY_MAX_MS 60000

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cmmd -c FILE [--foreground] [-v] [-j]\n"
		"       cmmd -c FILE --check [-j]\n"
		"\n"
		"The presage controller: polls every POP's agent, predicts interconnect\n"
		"failures (PFA), stages hot content and steers DNS; docs/controller.md.\n"
		"\n"
		"  -c, --config FILE   configuration (docs/controller.md, \"cmmd\")\n"
		"      --check         validate the configuration, print the topology, exit\n"
		"      --foreground    stay in the foreground (cmmd never forks; accepted for systemd units)\n"
		"  -j, --json          --check prints JSON\n"
		"  -v, --verbose       debug messages\n"
		"  -h, --help          this text\n");
}

/* ---- --check ------------------------------------------------------------- */

static void print_check(const struct cmm_config *c, bool json)
{
	if (json) {
		struct json_writer w;

		json_init(&w, stdout);
		json_obj_open(&w, NULL);
		json_str(&w, "schema", CMMD_SCHEMA);
		json_str(&w, "config", c->path);
		json_str(&w, "state_dir", c->state_dir);
		json_str(&w, "control", c->control);
		if (c->listen[0])
			json_str(&w, "listen", c->listen);
		else
			json_null(&w, "listen");
		json_u64(&w, "poll_interval_ms", c->poll_ms);
		json_u64(&w, "stale_after_ms", c->stale_ms);
		json_u64(&w, "horizon_s", c->horizon_s);
		json_dbl(&w, "enter", c->enter);
		json_dbl(&w, "exit", c->exit);
		json_u64(&w, "confirm_ms", c->confirm_ms);
		json_u64(&w, "dwell_ms", c->dwell_ms);
		json_u64(&w, "healthy_dwell_ms", c->healthy_dwell_ms);
		json_arr_open(&w, "pops");
		for (int i = 0; i < c->npops; i++) {
			json_obj_open(&w, NULL);
			json_str(&w, "name", c->pops[i].name);
			json_str(&w, "agent", c->pops[i].agent);
			json_str(&w, "mirror", c->pops[i].mirror);
			json_str(&w, "region", c->pops[i].region);
			json_arr_open(&w, "addresses");
			for (int k = 0; k < c->pops[i].naddr; k++)
				json_str(&w, NULL, c->pops[i].addrs[k]);
			json_arr_close(&w);
			json_u64(&w, "free", c->pops[i].free_bytes);
			json_dbl(&w, "bw", c->pops[i].bw_bps);
			json_dbl(&w, "storage_cost", c->pops[i].storage_cost);
			json_obj_close(&w);
		}
		json_arr_close(&w);
		json_arr_open(&w, "links");
		for (int i = 0; i < c->nlinks; i++) {
			json_obj_open(&w, NULL);
			json_str(&w, "a", c->pops[c->links[i].a].name);
			json_str(&w, "b", c->pops[c->links[i].b].name);
			json_dbl(&w, "cost", c->links[i].cost);
			json_obj_close(&w);
		}
		json_arr_close(&w);
		json_arr_open(&w, "hostnames");
		for (int i = 0; i < c->nhosts; i++) {
			json_obj_open(&w, NULL);
			json_str(&w, "name", c->hosts[i].name);
			json_str(&w, "primary", c->pops[c->hosts[i].primary].name);
			json_arr_open(&w, "regions");
			for (int k = 0; k < c->hosts[i].nregions; k++)
				json_str(&w, NULL, c->hosts[i].regions[k]);
			json_arr_close(&w);
			json_u64(&w, "ttl", c->hosts[i].ttl ? c->hosts[i].ttl : c->dns_ttl);
			json_obj_close(&w);
		}
		json_arr_close(&w);
		json_obj_close(&w);
		putchar('\n');
		return;
	}
	printf("%s: ok\n", c->path);
	printf("state-dir %s, control %s, listen %s\n", c->state_dir, c->control,
	       c->listen[0] ? c->listen : "off");
	printf("poll every %llu ms, stale after %llu ms; horizon %us, enter %.2f, exit %.2f, confirm %llu ms, dwell %llu ms\n",
	       (unsigned long long)c->poll_ms, (unsigned long long)c->stale_ms, c->horizon_s, c->enter,
	       c->exit, (unsigned long long)c->confirm_ms, (unsigned long long)c->dwell_ms);
	if (c->have_dns)
		printf("dns %s#%u zone %s key %s\n", c->dns_server, c->dns_port, c->dns_zone,
		       c->key_file);
	printf("%-12s %-22s %-22s %-8s %s\n", "pop", "agent", "mirror", "region", "addresses");
	for (int i = 0; i < c->npops; i++) {
		printf("%-12s %-22s %-22s %-8s", c->pops[i].name, c->pops[i].agent,
		       c->pops[i].mirror[0] ? c->pops[i].mirror : "-",
		       c->pops[i].region[0] ? c->pops[i].region : "-");
		for (int k = 0; k < c->pops[i].naddr; k++)
			printf(" %s", c->pops[i].addrs[k]);
		putchar('\n');
	}
	for (int i = 0; i < c->nlinks; i++)
		printf("link %s <-> %s cost %g/GB\n", c->pops[c->links[i].a].name,
		       c->pops[c->links[i].b].name, c->links[i].cost);
	for (int i = 0; i < c->nhosts; i++) {
		printf("hostname %s primary %s regions", c->hosts[i].name,
		       c->pops[c->hosts[i].primary].name);
		for (int k = 0; k < c->hosts[i].nregions; k++)
			printf("%s%s", k ? "," : " ", c->hosts[i].regions[k]);
		if (!c->hosts[i].nregions)
			printf(" any");
		putchar('\n');
	}
}

/* Every file the config names must be readable now, not at the first failure. */
static int check_files(const struct cmm_config *c, char *err, size_t errlen)
{
	const struct {
		const char *key, *path;
	} f[] = {
		{ "tls-ca", c->tls_ca },	 { "tls-cert", c->tls_cert },
		{ "tls-key", c->tls_key },	 { "order-key", c->order_key },
		{ "pfa config", c->pfa_config }, { "dns key-file", c->key_file },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].path[0] && access(f[i].path, R_OK)) {
			snprintf(err, errlen, "%s: %s %s: cannot read: %s", c->path, f[i].key, f[i].path,
				 strerror(errno));
			return -errno;
		}
	}
	if (c->have_dns) {
		struct dns_key k;
		int ret = dns_key_read_file(&k, c->key_file, c->key_name[0] ? c->key_name : NULL);

		if (ret) {
			snprintf(err, errlen, "%s: dns key-file %s%s%s: %s", c->path, c->key_file,
				 c->key_name[0] ? " key-name " : "", c->key_name, dns_strerror(ret));
			return ret;
		}
	}
	if (c->pfa_config[0]) {
		struct pfa_config pc;
		char *buf, msg[256];
		size_t len;
		int ret;

		pfa_config__defaults(&pc);
		if ((ret = read_file_all(c->pfa_config, 1 << 20, &buf, &len))) {
			snprintf(err, errlen, "%s: pfa config %s: %s", c->path, c->pfa_config,
				 strerror(-ret));
			return ret;
		}
		ret = pfa_config__parse(&pc, buf, len, msg, sizeof(msg));
		free(buf);
		if (ret) {
			snprintf(err, errlen, "%s: pfa config %s: %s", c->path, c->pfa_config, msg);
			return ret;
		}
	}
	return 0;
}

/* ---- per poll -------------------------------------------------------------- */

static struct cmmd_link *link_slot(struct cmmd_pop *p, const char *name)
{
	for (int k = 0; k < p->nlinks; k++)
		if (!strcmp(p->links[k].name, name))
			return &p->links[k];
	if (p->nlinks == CMM_MAX_IC)
		return NULL;
	memset(&p->links[p->nlinks], 0, sizeof(p->links[0]));
	snprintf(p->links[p->nlinks].name, sizeof(p->links[0].name), "%s", name);
	return &p->links[p->nlinks++];
}

static void top_json(const struct pfa_output *o, char *buf, size_t cap)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, cap - n, "[");
	for (int t = 0; t < PFA_TOP_K && n < cap; t++)
		n += (size_t)snprintf(buf + n, cap - n, "%s{\"feature\":\"%s\",\"value\":%.4g,\"contribution\":%.4g}",
				      t ? "," : "", pfa_feature__name(o->pred[0].top[t].feature),
				      isfinite(o->pred[0].top[t].value) ? o->pred[0].top[t].value : 0,
				      isfinite(o->pred[0].top[t].contribution) ? o->pred[0].top[t].contribution : 0);
	if (n < cap)
		snprintf(buf + n, cap - n, "]");
}

/* Feed new samples of POP @i to the model and the database. */
static void ingest(struct cmmd *d, int i)
{
	struct cmmd_pop *p = &d->pops[i];
	const struct cmm_agent_poll *a = &d->agents[i];
	const char *pop = d->cfg.pops[i].name;

	for (int k = 0; k < a->nic; k++) {
		const struct cmm_ic *ic = &a->ic[k];
		struct cmmd_link *l = link_slot(p, ic->name);
		struct pfa_sample s;
		struct cmm_sample_row row;
		int64_t ts = ic->ts_ms / 1000;
		double dt, bytes;
		char top[512];
		int err;

		if (!l || ic->ts_ms <= l->last.ts_ms)
			continue; /* nothing new */
		dt = l->last.ts_ms ? (double)(ic->ts_ms - l->last.ts_ms) / 1000 : 1;
		bytes = ((isfinite(ic->rx_bps) ? ic->rx_bps : 0) + (isfinite(ic->tx_bps) ? ic->tx_bps : 0)) / 8 *
			(isfinite(ic->interval_s) ? ic->interval_s : dt);
		/* ~1 minute of traffic, decayed: the share that weighs each link's p */
		l->bytes_min = l->bytes_min * exp(-dt / 60) + bytes;
		l->last = *ic;
		memset(&row, 0, sizeof(row));
		row.ts = ts;
		row.pop = pop;
		row.link = ic->name;
		row.rtt_p50 = ic->rtt_p50;
		row.rtt_p90 = ic->rtt_p90;
		row.rtt_p99 = ic->rtt_p99;
		row.probe_rtt = ic->probe_rtt;
		row.probe_loss = ic->probe_loss;
		row.retrans_in = ic->retrans_in;
		row.retrans_out = ic->retrans_out;
		row.rx_bps = ic->rx_bps;
		row.tx_bps = ic->tx_bps;
		row.util = ic->util;
		row.routes = ic->routes;
		row.announcements = ic->announced;
		row.withdrawals = ic->withdrawn;
		row.link_up = ic->link_up;
		cmm_db__sample_add(&d->db, &row);
		if (ts <= l->last_obs_ts)
			continue; /* the model takes one sample per link per second */
		pfa_sample__init(&s);
		s.ts = ts;
		snprintf(s.link, sizeof(s.link), "%s/%s", pop, ic->name);
		s.rtt_count = isfinite(ic->rtt_count) ? ic->rtt_count : 0;
		s.rtt_min_ms = ic->rtt_min;
		s.rtt_p50_ms = ic->rtt_p50;
		s.rtt_p90_ms = ic->rtt_p90;
		s.rtt_p99_ms = ic->rtt_p99;
		s.rtt_max_ms = ic->rtt_max;
		s.retrans_in = ic->retrans_in;
		s.retrans_out = ic->retrans_out;
		s.probe_rtt_ms = ic->probe_rtt;
		s.probe_loss = ic->probe_loss;
		s.rx_bps = ic->rx_bps;
		s.tx_bps = ic->tx_bps;
		s.capacity_bps = ic->capacity_bps > 0 ? ic->capacity_bps : NAN;
		s.utilization = ic->util;
		s.routes = ic->routes;
		s.announcements = ic->announced;
		s.withdrawals = ic->withdrawn;
		s.link_up = ic->link_up;
		err = pfa_model__observe(d->pfa, &s, &l->out);
		if (err) {
			if (err != -EEXIST && err != -ERANGE)
				pr_warn("pfa: %s: %s\n", s.link, pfa_strerror(err));
			continue;
		}
		l->have_out = true;
		l->last_obs_ts = ts;
		/* The link's own failures by the PFA failure definition, into `failures`. */
		if (l->out.onset && !l->failure_id) {
			char why[128];

			snprintf(why, sizeof(why), "%sPFA failure definition%s",
				 l->out.planned ? "planned: " : "",
				 l->last.link_up == 0 ? ": link down" : "");
			cmm_db__failure_open(&d->db, pop, ic->name, l->out.onset_ts, why, &l->failure_id);
		} else if (!l->out.in_failure && l->failure_id) {
			cmm_db__failure_close(&d->db, l->failure_id, ts);
			l->failure_id = 0;
		}
		top_json(&l->out, top, sizeof(top));
		cmm_db__prediction_add(&d->db, ts, pop, ic->name, l->out.pred[0].horizon_s,
				       l->out.pred[0].p, top);
	}
}

/* Risk, real failure and unknown for POP @i at @now; the numbers go into p->why. */
static void assess(struct cmmd *d, int i, int64_t now)
{
	const struct cmm_config *c = &d->cfg;
	struct cmmd_pop *p = &d->pops[i];
	const struct cmm_agent_poll *a = &d->agents[i];
	struct cmm_ic_view v[CMM_MAX_IC];
	struct cmm_pop_input in;
	bool was_failed = p->failed;
	size_t n = 0;

	p->unknown = !a->sample_ts_ms || now - a->sample_ts_ms > (int64_t)c->stale_ms;
	p->failed = false;
	p->risk = 0;
	if (p->unknown) {
		snprintf(p->why, sizeof(p->why), "unknown: %s",
			 a->ok ? "sample older than stale-after" : a->error);
		cmm_pop_track__unknown(&p->track);
		return;
	}
	for (int k = 0; k < p->nlinks; k++) {
		const struct cmmd_link *l = &p->links[k];
		const struct pfa_pred *pr = &l->out.pred[0];

		if (now - l->last.ts_ms > (int64_t)c->stale_ms)
			continue;
		v[n] = (struct cmm_ic_view){
			.name = l->name,
			/* an agent's link event newer than the sample has the last word */
			.link_up = l->ev_ts_ms > l->last.ts_ms ? l->ev_up : l->last.link_up, .routes = l->last.routes,
			.probe_loss = l->last.probe_loss, .p = l->have_out ? pr->p : 0,
			.have_p = l->have_out, .bytes = l->bytes_min,
			.top = { pfa_feature__name(pr->top[0].feature), pfa_feature__name(pr->top[1].feature) },
			.top_c = { pr->top[0].contribution, pr->top[1].contribution },
		};
		n++;
	}
	cmm_pop_assess(c, &p->track, v, n, now, &in);
	p->failed = in.failed;
	p->risk = in.risk;
	snprintf(p->why, sizeof(p->why), "%s", in.why);
	if (p->failed && !was_failed) {
		/* A real failure: the model learns it for every link of the POP. */
		for (int k = 0; k < p->nlinks; k++) {
			char name[PFA_LINK_NAME_MAX];

			snprintf(name, sizeof(name), "%s/%s", c->pops[i].name, p->links[k].name);
			pfa_model__label_failure(d->pfa, name, now / 1000);
		}
		cmm_db__failure_open(&d->db, c->pops[i].name, "*", now / 1000, p->why, &p->failure_id);
		pr_warn("pop %s failed: %s\n", c->pops[i].name, p->why);
	} else if (!p->failed && was_failed && p->failure_id) {
		cmm_db__failure_close(&d->db, p->failure_id, now / 1000);
		p->failure_id = 0;
		pr_info("pop %s: failure over\n", c->pops[i].name);
	}
}

/* The back-off slot of row @id (a new one, or the stalest, when it has none). */
static struct cmmd_retry *retry_slot(struct cmmd *d, int64_t id)
{
	struct cmmd_retry *free_slot = NULL, *oldest = &d->retry[0];
	size_t n = sizeof(d->retry) / sizeof(d->retry[0]);

	for (size_t k = 0; k < n; k++) {
		if (d->retry[k].id == id)
			return &d->retry[k];
		if (!d->retry[k].id && !free_slot)
			free_slot = &d->retry[k];
		if (d->retry[k].due_ms < oldest->due_ms)
			oldest = &d->retry[k];
	}
	if (!free_slot)
		free_slot = oldest;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->id = id;
	return free_slot;
}

static void retry_forget(struct cmmd *d, int64_t id)
{
	for (size_t k = 0; k < sizeof(d->retry) / sizeof(d->retry[0]); k++)
		if (d->retry[k].id == id)
			memset(&d->retry[k], 0, sizeof(d->retry[k]));
}

/* Apply one journal row and mark it; remember a mirror job the state waits for. */
static void apply_row(struct cmmd *d, struct cmm_journal_row *r, int host)
{
	struct cmm_order_ref ord;
	char detail[256];
	int act = cmm_action_from_name(r->action);
	int err = cmm_act__apply(&d->act, r, host, &ord, detail, sizeof(detail));

	if (act >= 0)
		(err ? d->act_failed : d->act_ok)[act]++;
	if (err) {
		/* Stays pending: retried until it succeeds or a later decision supersedes it. */
		struct cmmd_retry *rt = retry_slot(d, r->id);
		int64_t wait = CMMD_RETRY_MS;

		for (int k = 0; k < rt->tries && wait < CMMD_RETRY_MAX_MS; k++)
			wait *= 2;
		if (wait > CMMD_RETRY_MAX_MS)
			wait = CMMD_RETRY_MAX_MS;
		rt->tries++;
		rt->due_ms = now_ms() + wait;
		pr_warn("journal %lld %s %s -> %s: failed, retry in %llds: %s\n", (long long)r->id,
			r->hostname, r->action, r->target, (long long)(wait / 1000), detail);
	} else {
		retry_forget(d, r->id);
		pr_info("journal %lld %s %s: %s\n", (long long)r->id, r->hostname, r->action, detail);
	}
	cmm_db__journal_mark(&d->db, r->id, err ? "pending" : "done", err ? 0 : now_ms(), detail);
	if (!err && (act == CMM_ACT_MIRROR_ORDER || act == CMM_ACT_RESYNC_ORDER)) {
		cmm_order_ref__clear(&d->hosts[host].ord);
		d->hosts[host].ord = ord;
		/* An order is verified by check_jobs (even one the agent had done
		 * already); no order (nothing to mirror) lets the state move on. */
		d->hosts[host].waiting = ord.order_id[0] != '\0';
		if (ord.order_id[0])
			cmm_db__job_save(&d->db, ord.order_id, r->id, r->hostname,
					 act == CMM_ACT_MIRROR_ORDER ? r->pop : r->target,
					 d->cfg.pops[ord.dest].name, (int64_t)ord.items,
					 (int64_t)ord.bytes, ord.done ? "done" : "queued", now_ms(),
					 ord.cost);
		else
			cmm_engine__job_done(&d->eng, host);
	}
}

static int host_index(const struct cmmd *d, const char *name);

/* Rows whose action failed, oldest first, each when its back-off is over. */
static void retry_pending(struct cmmd *d, int64_t now)
{
	struct cmm_journal_row *rows;
	size_t n;

	if (cmm_db__journal_count(&d->db, "pending") <= 0 ||
	    cmm_db__journal_list(&d->db, 0, "pending", 1000, &rows, &n))
		return;
	for (size_t k = 0; k < n; k++) {
		int h = host_index(d, rows[k].hostname);

		if (h >= 0 && retry_slot(d, rows[k].id)->due_ms <= now)
			apply_row(d, &rows[k], h);
	}
	free(rows);
}

static int host_index(const struct cmmd *d, const char *name)
{
	for (int i = 0; i < d->cfg.nhosts; i++)
		if (!strcmp(d->cfg.hosts[i].name, name))
			return i;
	return -1;
}

/* Journal (one transaction, fsynced) then act. */
static void decide(struct cmmd *d, int64_t now)
{
	struct cmm_decision dec[CMM_MAX_HOSTS];
	size_t n = cmm_engine__step(&d->eng, now, dec, CMM_MAX_HOSTS);

	for (size_t k = 0; k < n; k++) {
		const struct cmm_decision *x = &dec[k];
		struct cmm_journal_row rows[CMM_MAX_ACTS];

		d->decisions++;
		pr_info("%s: %s -> %s: %s\n", d->cfg.hosts[x->host].name, cmm_state_name(x->from),
			cmm_state_name(x->to), x->reason);
		if (cmm_journal__write(&d->db, &d->eng, x, now, rows)) {
			/* Not journaled: not acted on. A restart reloads the last persisted state. */
			pr_err("%s: the journal could not be written: nothing done\n",
			       d->cfg.hosts[x->host].name);
			continue;
		}
		d->hosts[x->host].waiting = false;
		for (int a = 0; a < x->nacts; a++)
			apply_row(d, &rows[a], x->host);
	}
}

static void check_jobs(struct cmmd *d)
{
	for (int i = 0; i < d->cfg.nhosts; i++) {
		struct cmmd_host *h = &d->hosts[i];
		char detail[256];
		int st;

		if (!h->waiting || !h->ord.order_id[0] || h->ord.dest < 0)
			continue;
		st = cmm_act__job_status(&d->act, h->ord.dest, h->ord.order_id, detail, sizeof(detail));
		if (st == 0)
			continue;
		if (st > 0) {
			/* The agent says done; check it: the manifests must agree. */
			st = cmm_act__verify(&d->act, i, &h->ord, detail, sizeof(detail));
			if (st < 0) {
				pr_warn("%s: order %s: %s (asking again)\n", d->cfg.hosts[i].name,
					h->ord.order_id, detail);
				continue;
			}
			if (st == 0)
				st = -EIO;
		}
		h->waiting = false;
		cmm_db__job_save(&d->db, h->ord.order_id, 0, d->cfg.hosts[i].name, "",
				 d->cfg.pops[h->ord.dest].name, (int64_t)h->ord.items,
				 (int64_t)h->ord.bytes, st > 0 ? "verified" : "failed", now_ms(),
				 h->ord.cost);
		if (st > 0) {
			pr_info("%s: order %s: %s\n", d->cfg.hosts[i].name, h->ord.order_id, detail);
			cmm_engine__job_done(&d->eng, i);
		} else {
			pr_warn("%s: %s\n", d->cfg.hosts[i].name, detail);
		}
	}
}

/* ---- start-up and restart recovery ------------------------------------------ */

static void recover(struct cmmd *d)
{
	const struct cmm_config *c = &d->cfg;
	struct cmm_journal_row *rows;
	size_t n;

	/* A POP failed at the kill stays failed until seen healthy: no second onset. */
	for (int i = 0; i < c->npops; i++)
		if (cmm_db__failure_find_open(&d->db, c->pops[i].name, "*", &d->pops[i].failure_id) == 1)
			d->pops[i].failed = true;
	if (cmm_journal__recover(&d->db, &d->eng, &rows, &n))
		return;
	for (int i = 0; i < c->nhosts; i++)
		if (d->eng.hosts[i].state != CMM_NORMAL)
			pr_info("%s: restored %s, serving %s\n", c->hosts[i].name,
				cmm_state_name(d->eng.hosts[i].state),
				c->pops[d->eng.hosts[i].serving].name);
	/* Rows journaled but not marked done: apply again (each is idempotent). */
	for (size_t k = 0; k < n; k++) {
		int h = host_index(d, rows[k].hostname);

		if (h < 0) {
			cmm_db__journal_mark(&d->db, rows[k].id, "failed", now_ms(),
					     "hostname no longer in the config");
			continue;
		}
		pr_info("journal %lld (%s %s) was pending at restart: applying again\n",
			(long long)rows[k].id, rows[k].hostname, rows[k].action);
		apply_row(d, &rows[k], h);
	}
	free(rows);
	/* A stage or re-sync the state still waits for: ask its agent again. */
	for (int i = 0; i < c->nhosts; i++) {
		enum cmm_state st = d->eng.hosts[i].state;
		struct cmm_journal_row *all;
		size_t m;

		if ((st != CMM_AT_RISK && st != CMM_RECOVERING) || d->hosts[i].waiting ||
		    cmm_db__journal_list(&d->db, 0, NULL, 1000000, &all, &m))
			continue;
		for (size_t k = m; k-- > 0;) {
			if (strcmp(all[k].hostname, c->hosts[i].name) ||
			    (strcmp(all[k].action, "mirror-order") && strcmp(all[k].action, "resync-order")))
				continue;
			if (!strncmp(all[k].detail, "skipped", 7)) {
				cmm_engine__job_done(&d->eng, i);
			} else if (!strcmp(all[k].status, "done")) {
				snprintf(d->hosts[i].ord.order_id, sizeof(d->hosts[i].ord.order_id), "%lld",
					 (long long)all[k].id);
				bool stage = !strcmp(all[k].action, "mirror-order");

				/* a stage order pulls into its target from the primary, a re-sync the reverse */
				d->hosts[i].ord.dest = cmm_config_pop_index(c, stage ? all[k].target : all[k].pop);
				d->hosts[i].ord.src = cmm_config_pop_index(c, stage ? all[k].pop : all[k].target);
				d->hosts[i].waiting = d->hosts[i].ord.dest >= 0 && d->hosts[i].ord.src >= 0;
			}
			break;
		}
		free(all);
	}
}

/* ---- agent events ------------------------------------------------------- */

/*
 * From the watcher's thread: a link went down or came up at POP @i. Note it
 * on the link and wake the loop, which assesses every POP at once instead
 * of at its next poll (a link cut then costs milliseconds, not a poll).
 */
static void on_agent_event(void *arg, int i, const struct cmm_agent_event *ev)
{
	struct cmmd *d = arg;
	bool up = !strcmp(ev->kind, "link-up");
	struct cmmd_link *l;

	if ((!up && strcmp(ev->kind, "link-down")) || !ev->link[0]) {
		pr_debug("event %s: %s%s%s: %s\n", d->cfg.pops[i].name, ev->kind,
			 ev->link[0] ? " " : "", ev->link, ev->detail);
		return;
	}
	pthread_mutex_lock(&d->lock);
	l = link_slot(&d->pops[i], ev->link);
	if (l && ev->ts_ms >= l->ev_ts_ms) {
		l->ev_ts_ms = ev->ts_ms;
		l->ev_up = up;
	}
	d->pops[i].link_events++;
	pthread_mutex_unlock(&d->lock);
	pr_info("event %s/%s: %s (%s): assessing now\n", d->cfg.pops[i].name, ev->link, ev->kind,
		ev->detail);
	if (eventfd_write(d->wake_fd, 1))
		pr_warn("eventfd: %s\n", strerror(errno));
}

/* Sleep until @until (ms, CLOCK_REALTIME) or a signal; true if an event woke us first. */
static bool sleep_until(struct cmmd *d, int64_t until)
{
	while (!stop_sig) {
		int64_t left = until - now_ms();
		struct pollfd pfd = { .fd = d->wake_fd, .events = POLLIN };
		eventfd_t v;

		if (left <= 0)
			return false;
		/* slices: a signal between the check and poll() waits at most one */
		if (poll(&pfd, 1, left > 100 ? 100 : (int)left) > 0 && (pfd.revents & POLLIN)) {
			eventfd_read(d->wake_fd, &v);
			return true;
		}
	}
	return false;
}

static int load_pfa(struct cmmd *d, char *path, size_t cap)
{
	struct pfa_config pc;
	const char *why;
	int err;

	pfa_config__defaults(&pc);
	if (d->cfg.pfa_config[0]) {
		char *buf, msg[256];
		size_t len;

		if ((err = read_file_all(d->cfg.pfa_config, 1 << 20, &buf, &len))) {
			pr_err("pfa config %s: cannot read: %s\n", d->cfg.pfa_config, strerror(-err));
			return err;
		}
		err = pfa_config__parse(&pc, buf, len, msg, sizeof(msg));
		free(buf);
		if (err) {
			pr_err("pfa config %s: %s\n", d->cfg.pfa_config, msg);
			return err;
		}
	}
	/* One horizon: the one decisions use. */
	pc.n_horizons = 1;
	pc.horizon_s[0] = d->cfg.horizon_s;
	if (pfa_config__check(&pc, &why)) {
		pr_err("pfa: %s\n", why);
		return -EINVAL;
	}
	d->pfa = pfa_model__new(&pc);
	if (!d->pfa)
		return -errno;
	snprintf(path, cap, "%s/pfa.state", d->cfg.state_dir);
	err = pfa_model__load(d->pfa, path);
	if (err && err != -ENOENT)
		pr_warn("pfa state %s: %s: starting from the prior weights\n", path, pfa_strerror(err));
	else if (!err)
		pr_info("pfa state loaded from %s\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'F' },   { "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cmmd d;
	static struct cmm_agent_poll polled[CMM_MAX_POPS];
	struct cmm_api *api = NULL;
	const char *cfgpath = NULL;
	bool check = false, json = false;
	char err[1024], dbpath[CMM_PATH_MAX + 16], pfapath[CMM_PATH_MAX + 16];
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t last_save, last_down, next = 0;
	int opt, ret = 1, lockfd = -1;
	bool full = true;

	log_set_ident("cmmd");
	while ((opt = getopt_long(argc, argv, "c:jvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 'C': check = true; break;
		case 'F': break;
		case 'j': json = true; break;
		case 'v': log_set_level(LOG_LVL_DEBUG); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cfgpath || optind != argc) {
		fprintf(stderr, "cmmd: %s\n", cfgpath ? "unexpected arguments" : "-c FILE is required");
		usage(stderr);
		return 2;
	}
	if (cmm_config_load(cfgpath, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "cmmd: %s\n", err);
		return 1;
	}
	if (check_files(&d.cfg, err, sizeof(err))) {
		fprintf(stderr, "cmmd: %s\n", err);
		return 1;
	}
	if (check) {
		print_check(&d.cfg, json);
		return 0;
	}
	log_set_timestamps(true);
	if ((ret = mkdir_p(d.cfg.state_dir, 0700))) {
		pr_err("state-dir %s: cannot create: %s\n", d.cfg.state_dir, strerror(-ret));
		return 1;
	}
	ret = 1;
	/* One controller per state-dir: two would both act on every decision. */
	snprintf(dbpath, sizeof(dbpath), "%s/cmmd.lock", d.cfg.state_dir);
	lockfd = open(dbpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "?";
		ssize_t n = lockfd >= 0 ? pread(lockfd, pid, sizeof(pid) - 1, 0) : -1;

		if (n > 0)
			pid[strcspn(pid, "\n")] = '\0';
		pr_err("%s: %s\n", dbpath,
		       lockfd < 0 ? strerror(errno) : "another cmmd runs with this state-dir");
		if (lockfd >= 0)
			pr_err("it is pid %s; stop it first, or give this one its own state-dir\n", pid);
		return 1;
	}
	if (ftruncate(lockfd, 0) == 0)
		dprintf(lockfd, "%d\n", (int)getpid());
	snprintf(dbpath, sizeof(dbpath), "%s/cmmd.db", d.cfg.state_dir);
	if (cmm_db__open(&d.db, dbpath, err, sizeof(err))) {
		pr_err("%s\n", err);
		return 1;
	}
	pthread_mutex_init(&d.lock, NULL);
	d.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.wake_fd < 0) {
		pr_err("eventfd: %s\n", strerror(errno));
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (load_pfa(&d, pfapath, sizeof(pfapath)))
		goto out;
	if (cmm_act__init(&d.act, &d.cfg, err, sizeof(err))) {
		pr_err("%s\n", err);
		goto out;
	}
	d.poller = cmm_poller__new(&d.cfg);
	if (!d.poller)
		goto out;
	d.started_ms = d.now_ms = now_ms();
	cmm_engine__init(&d.eng, &d.cfg, d.now_ms);
	recover(&d);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	api = cmm_api__start(&d);
	if (!api)
		goto out;
	pr_info("started: %d pops, %d hostnames, poll every %llu ms, database %s\n", d.cfg.npops,
		d.cfg.nhosts, (unsigned long long)d.cfg.poll_ms, dbpath);
	last_save = last_down = d.started_ms;
	d.watcher = cmm_watcher__start(&d.cfg, on_agent_event, &d);
	if (!d.watcher)
		pr_warn("agent event watcher: %s: link events wait for the next poll\n", strerror(errno));
	/*
	 * A full pass polls every agent, then assesses and decides; it runs every
	 * poll-interval. An agent's link event wakes a short pass in between:
	 * assess and decide from the samples at hand and the event.
	 */
	while (!stop_sig) {
		int64_t t0 = now_ms();

		if (full) {
			/* Poll into a copy: API threads read d.agents under the lock meanwhile. */
			pthread_mutex_lock(&d.lock);
			memcpy(polled, d.agents, sizeof(polled));
			pthread_mutex_unlock(&d.lock);
			cmm_poller__poll(d.poller, polled, t0);
		}
		pthread_mutex_lock(&d.lock);
		if (full)
			memcpy(d.agents, polled, sizeof(polled));
		d.now_ms = now_ms();
		cmm_db__begin(&d.db);
		for (int i = 0; i < d.cfg.npops; i++) {
			struct cmm_pop_input in = { 0 };

			if (full && d.agents[i].ok) {
				d.pops[i].polls_ok++;
				ingest(&d, i);
			} else if (full) {
				d.pops[i].polls_failed++;
				pr_debug("poll %s: %s\n", d.cfg.pops[i].name, d.agents[i].error);
			}
			assess(&d, i, d.now_ms);
			cmm_db__pop_risk_add(&d.db, d.now_ms / 1000, d.cfg.pops[i].name, d.pops[i].risk,
					     d.pops[i].failed, d.pops[i].unknown);
			in.known = !d.pops[i].unknown;
			in.failed = d.pops[i].failed;
			in.risk = d.pops[i].risk;
			snprintf(in.why, sizeof(in.why), "%s", d.pops[i].why);
			cmm_engine__set_pop(&d.eng, i, &in);
		}
		cmm_db__commit(&d.db);
		if (full) {
			check_jobs(&d);
			retry_pending(&d, d.now_ms);
		}
		decide(&d, d.now_ms);
		if (d.now_ms - last_save >= 60000) {
			int e = pfa_model__save(d.pfa, pfapath);

			if (e)
				pr_warn("pfa state %s: %s\n", pfapath, pfa_strerror(e));
			last_save = d.now_ms;
		}
		if (d.now_ms - last_down >= 60000) {
			cmm_db__downsample(&d.db, d.now_ms / 1000);
			last_down = d.now_ms;
		}
		pthread_mutex_unlock(&d.lock);
		if (full)
			next = t0 + (int64_t)d.cfg.poll_ms;
		full = !sleep_until(&d, next) || now_ms() >= next;
	}
	pr_info("received %s: stopping\n", strsignal(stop_sig));
	ret = 0;
out:
	cmm_watcher__stop(d.watcher);
	cmm_api__stop(api);
	if (d.pfa && ret == 0) {
		int e = pfa_model__save(d.pfa, pfapath);

		if (e)
			pr_warn("pfa state %s: %s\n", pfapath, pfa_strerror(e));
	}
	cmm_poller__free(d.poller);
	for (int i = 0; i < CMM_MAX_HOSTS; i++)
		cmm_order_ref__clear(&d.hosts[i].ord);
	cmm_act__fini(&d.act);
	pfa_model__free(d.pfa);
	cmm_db__close(&d.db);
	curl_global_cleanup();
	if (d.wake_fd > 0)
		close(d.wake_fd);
	if (ret == 0)
		pr_info("stopped\n");
	return ret;
}
