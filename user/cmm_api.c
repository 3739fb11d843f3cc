// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's read-only API (docs/controller.md, "API") and /metrics,
 * served by libmicrohttpd on the control socket (AF_UNIX, mode 0600) and,
 * when `listen` is set, on TCP. Handlers read the daemon's state under its
 * lock.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <sqlite3.h>

#include "cmmd.h"
#include "config.h"
#include "json.h"
#include "log.h"

#ifndef PRESAGE_VERSION
#define PRESAGE_VERSION "unknown"
#endif

struct cmm_api {
	struct cmmd *d;
	struct MHD_Daemon *unix_d, *tcp_d;
	char sock_path[108];
};

struct out {
	FILE *f;
	char *buf;
	size_t len;
	bool closed;
	struct json_writer w;
};

static int out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->closed = false;
	o->f = open_memstream(&o->buf, &o->len);
	if (!o->f)
		return -ENOMEM;
	json_init(&o->w, o->f);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *ctype,
			     char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_out(struct MHD_Connection *c, unsigned int status, struct out *o)
{
	fputc('\n', o->f);
	fclose(o->f);
	o->closed = true;
	return reply(c, status, "application/json", o->buf, o->len);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned int status, const char *fmt,
				   ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned int status, const char *fmt,
				   ...)
{
	struct out o;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (out_open(&o))
		return MHD_NO;
	json_obj_open(&o.w, NULL);
	json_str(&o.w, "schema", CMMD_SCHEMA);
	json_str(&o.w, "error", msg);
	json_obj_close(&o.w);
	return reply_out(c, status, &o);
}

const char *cmmd_pop_state(const struct cmmd *d, int pop)
{
	const struct cmmd_pop *p = &d->pops[pop];

	if (p->unknown)
		return "unknown";
	if (p->failed)
		return "failed";
	return p->risk >= d->cfg.enter ? "at-risk" : "ok";
}

static void pop_common(struct cmmd *d, struct json_writer *w, int i)
{
	const struct cmm_agent_poll *a = &d->agents[i];

	json_str(w, "name", d->cfg.pops[i].name);
	json_str(w, "region", d->cfg.pops[i].region);
	json_str(w, "state", cmmd_pop_state(d, i));
	json_dbl(w, "risk", d->pops[i].unknown ? NAN : d->pops[i].risk);
	json_str(w, "why", d->pops[i].why);
	json_obj_open(w, "agent");
	json_str(w, "address", d->cfg.pops[i].agent);
	json_bool(w, "reachable", a->ok);
	if (a->sample_ts_ms)
		json_dbl(w, "age_s", (double)(d->now_ms - a->sample_ts_ms) / 1000);
	else
		json_null(w, "age_s");
	if (a->ok)
		json_null(w, "error");
	else
		json_str(w, "error", a->error[0] ? a->error : "not polled yet");
	json_obj_close(w);
}

static void addresses(struct json_writer *w, const struct cmm_pop *p)
{
	json_arr_open(w, "addresses");
	for (int k = 0; k < p->naddr; k++)
		json_str(w, NULL, p->addrs[k]);
	json_arr_close(w);
}

static void host_obj(struct cmmd *d, struct json_writer *w, int i)
{
	const struct cmm_host_state *h = &d->eng.hosts[i];
	const struct cmm_config *c = &d->cfg;

	json_str(w, "name", c->hosts[i].name);
	json_str(w, "primary", c->pops[c->hosts[i].primary].name);
	json_str(w, "serving", c->pops[h->serving].name);
	json_str(w, "state", cmm_state_name(h->state));
	json_dbl(w, "since", (double)h->since_ms / 1000);
	if (h->target >= 0)
		json_str(w, "target", c->pops[h->target].name);
	else
		json_null(w, "target");
	json_i64(w, "last_journal_id", h->last_journal_id);
	addresses(w, &c->pops[h->serving]);
}

static enum MHD_Result h_status(struct cmmd *d, struct MHD_Connection *c, struct out *o)
{
	struct json_writer *w = &o->w;

	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_str(w, "version", PRESAGE_VERSION);
	json_dbl(w, "started", (double)d->started_ms / 1000);
	json_dbl(w, "now", (double)d->now_ms / 1000);
	json_arr_open(w, "pops");
	for (int i = 0; i < d->cfg.npops; i++) {
		json_obj_open(w, NULL);
		pop_common(d, w, i);
		json_obj_close(w);
	}
	json_arr_close(w);
	json_arr_open(w, "hostnames");
	for (int i = 0; i < d->cfg.nhosts; i++) {
		json_obj_open(w, NULL);
		host_obj(d, w, i);
		json_obj_close(w);
	}
	json_arr_close(w);
	json_i64(w, "journal_pending", cmm_db__journal_count(&d->db, "pending"));
	json_obj_close(w);
	return reply_out(c, 200, o);
}

static enum MHD_Result h_pops(struct cmmd *d, struct MHD_Connection *c, struct out *o)
{
	struct json_writer *w = &o->w;

	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_arr_open(w, "pops");
	for (int i = 0; i < d->cfg.npops; i++) {
		const struct cmm_pop *p = &d->cfg.pops[i];

		json_obj_open(w, NULL);
		pop_common(d, w, i);
		addresses(w, p);
		json_arr_open(w, "links");
		for (int k = 0; k < d->pops[i].nlinks; k++)
			json_str(w, NULL, d->pops[i].links[k].name);
		json_arr_close(w);
		json_u64(w, "free", p->free_bytes);
		json_dbl(w, "bw", p->bw_bps);
		json_dbl(w, "storage_cost", p->storage_cost);
		if (p->mirror[0])
			json_str(w, "mirror", p->mirror);
		else
			json_null(w, "mirror");
		json_obj_close(w);
	}
	json_arr_close(w);
	json_obj_close(w);
	return reply_out(c, 200, o);
}

static void nullable(struct json_writer *w, const char *k, double v)
{
	json_dbl(w, k, v); /* NaN -> null */
}

static enum MHD_Result h_links(struct cmmd *d, struct MHD_Connection *c, struct out *o)
{
	struct json_writer *w = &o->w;

	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_arr_open(w, "links");
	for (int i = 0; i < d->cfg.npops; i++) {
		for (int k = 0; k < d->pops[i].nlinks; k++) {
			const struct cmmd_link *l = &d->pops[i].links[k];
			double age = (double)(d->now_ms - l->last.ts_ms) / 1000;

			json_obj_open(w, NULL);
			json_str(w, "pop", d->cfg.pops[i].name);
			json_str(w, "link", l->name);
			json_dbl(w, "age_s", age);
			json_bool(w, "stale", age * 1000 > (double)d->cfg.stale_ms);
			if (l->last.link_up < 0)
				json_null(w, "link_up");
			else
				json_bool(w, "link_up", l->last.link_up);
			nullable(w, "rtt_p90_ms", l->last.rtt_p90);
			nullable(w, "probe_rtt_ms", l->last.probe_rtt);
			nullable(w, "probe_loss", l->last.probe_loss);
			nullable(w, "retrans_out", l->last.retrans_out);
			nullable(w, "rx_bps", l->last.rx_bps);
			nullable(w, "tx_bps", l->last.tx_bps);
			nullable(w, "util", l->last.util);
			nullable(w, "routes", l->last.routes);
			nullable(w, "withdrawals", l->last.withdrawn);
			nullable(w, "p", l->have_out ? l->out.pred[0].p : NAN);
			json_u64(w, "horizon_s", d->cfg.horizon_s);
			json_bool(w, "in_failure", l->have_out && l->out.in_failure);
			json_obj_close(w);
		}
	}
	json_arr_close(w);
	json_obj_close(w);
	return reply_out(c, 200, o);
}

/* "POP/LINK" to indexes; false if unknown. */
static bool find_link(struct cmmd *d, const char *name, int *pi, int *li)
{
	const char *slash = strchr(name, '/');

	if (!slash)
		return false;
	for (int i = 0; i < d->cfg.npops; i++) {
		if (strlen(d->cfg.pops[i].name) != (size_t)(slash - name) ||
		    strncmp(d->cfg.pops[i].name, name, (size_t)(slash - name)))
			continue;
		for (int k = 0; k < d->pops[i].nlinks; k++)
			if (!strcmp(d->pops[i].links[k].name, slash + 1)) {
				*pi = i;
				*li = k;
				return true;
			}
	}
	return false;
}

static enum MHD_Result h_predict(struct cmmd *d, struct MHD_Connection *c, struct out *o,
				 const char *one)
{
	struct json_writer *w = &o->w;
	int pi = -1, li = -1;

	if (one && !find_link(d, one, &pi, &li))
		return reply_error(c, 404, "no link '%s' (expected POP/LINK as in /v1/links)", one);
	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_u64(w, "horizon_s", d->cfg.horizon_s);
	json_arr_open(w, "links");
	for (int i = 0; i < d->cfg.npops; i++) {
		for (int k = 0; k < d->pops[i].nlinks; k++) {
			const struct cmmd_link *l = &d->pops[i].links[k];

			if (one && (i != pi || k != li))
				continue;
			json_obj_open(w, NULL);
			json_str(w, "pop", d->cfg.pops[i].name);
			json_str(w, "link", l->name);
			nullable(w, "p", l->have_out ? l->out.pred[0].p : NAN);
			nullable(w, "logit", l->have_out ? l->out.pred[0].logit : NAN);
			json_bool(w, "warm", l->have_out && l->out.warm);
			json_bool(w, "in_failure", l->have_out && l->out.in_failure);
			json_arr_open(w, "top");
			for (int t = 0; l->have_out && t < PFA_TOP_K; t++) {
				const struct pfa_contrib *pc = &l->out.pred[0].top[t];

				json_obj_open(w, NULL);
				json_str(w, "feature", pfa_feature__name(pc->feature));
				json_dbl(w, "value", pc->value);
				json_dbl(w, "contribution", pc->contribution);
				json_obj_close(w);
			}
			json_arr_close(w);
			if (one) {
				double wt[PFA_NFEAT];

				pfa_model__get_weights(d->pfa, 0, wt);
				json_arr_open(w, "features");
				for (int f = 0; l->have_out && f < PFA_NFEAT; f++) {
					json_obj_open(w, NULL);
					json_str(w, "feature", pfa_feature__name((unsigned)f));
					json_dbl(w, "value", l->out.x[f]);
					json_dbl(w, "weight", wt[f]);
					json_dbl(w, "contribution", wt[f] * l->out.x[f]);
					json_obj_close(w);
				}
				json_arr_close(w);
			}
			json_obj_close(w);
		}
	}
	json_arr_close(w);
	json_obj_close(w);
	return reply_out(c, 200, o);
}

/*
 * Every row of a query as a JSON object keyed by column name. Parameters:
 * the texts @t1, @t2 when not NULL, then the integer @i, in that order.
 */
static int sql_rows(struct cmmd *d, struct json_writer *w, const char *key, const char *sql,
		    const char *t1, const char *t2, int64_t i)
{
	sqlite3_stmt *st;
	int rc, arg = 1;

	if (sqlite3_prepare_v2(cmm_db__handle(&d->db), sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (t1)
		sqlite3_bind_text(st, arg++, t1, -1, SQLITE_STATIC);
	if (t2)
		sqlite3_bind_text(st, arg++, t2, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, arg, i);
	json_arr_open(w, key);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_obj_open(w, NULL);
		for (int k = 0; k < sqlite3_column_count(st); k++) {
			const char *name = sqlite3_column_name(st, k);

			switch (sqlite3_column_type(st, k)) {
			case SQLITE_INTEGER:
				json_i64(w, name, sqlite3_column_int64(st, k));
				break;
			case SQLITE_FLOAT:
				json_dbl(w, name, sqlite3_column_double(st, k));
				break;
			case SQLITE_NULL:
				json_null(w, name);
				break;
			default:
				json_str(w, name, (const char *)sqlite3_column_text(st, k));
			}
		}
		json_obj_close(w);
	}
	json_arr_close(w);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* A whole non-negative decimal number. */
static bool parse_i64(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!s || !*s)
		return false;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (*end || errno || x < 0 || *s == '+' || *s == '-' || *s == ' ')
		return false;
	*v = x;
	return true;
}

static enum MHD_Result h_events(struct cmmd *d, struct MHD_Connection *c, struct out *o,
				const char *since_s)
{
	struct json_writer *w = &o->w;
	int64_t since = 0;

	if (since_s && !parse_i64(since_s, &since))
		return reply_error(c, 400, "since '%s' is not a journal id (a whole number >= 0)",
				   since_s);
	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	if (sql_rows(d, w, "events", "SELECT * FROM journal WHERE id > ? ORDER BY id LIMIT 1000", NULL,
		     NULL, since))
		pr_warn("api: events query failed\n");
	json_obj_close(w);
	return reply_out(c, 200, o);
}

static enum MHD_Result h_jobs(struct cmmd *d, struct MHD_Connection *c, struct out *o)
{
	struct json_writer *w = &o->w;

	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	sql_rows(d, w, "jobs", "SELECT * FROM mirror_jobs WHERE created_ms >= ? ORDER BY created_ms",
		 NULL, NULL, 0);
	json_obj_close(w);
	return reply_out(c, 200, o);
}

static enum MHD_Result h_history(struct cmmd *d, struct MHD_Connection *c, struct out *o,
				 const char *link, const char *since_s)
{
	struct json_writer *w = &o->w;
	char pop[CMM_NAME_MAX], *slash;
	int64_t since = 0;
	int pi, li;

	if (!link)
		return reply_error(c, 400, "history needs ?link=POP/LINK");
	if (!find_link(d, link, &pi, &li))
		return reply_error(c, 404, "no link '%s' (expected POP/LINK as in /v1/links)", link);
	if (since_s && !parse_i64(since_s, &since))
		return reply_error(c, 400, "since '%s' is not Unix seconds", since_s);
	snprintf(pop, sizeof(pop), "%s", link);
	slash = strchr(pop, '/');
	*slash = '\0';
	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_str(w, "pop", pop);
	json_str(w, "link", slash + 1);
	/* every tier, oldest data (the 60 s means) first */
	sql_rows(d, w, "samples",
		 "SELECT * FROM samples WHERE pop = ? AND link = ? AND ts > ? ORDER BY tier DESC, ts",
		 pop, slash + 1, since);
	sql_rows(d, w, "predictions",
		 "SELECT * FROM predictions WHERE pop = ? AND link = ? AND ts > ? ORDER BY ts", pop,
		 slash + 1, since);
	json_obj_close(w);
	return reply_out(c, 200, o);
}

static enum MHD_Result h_dns(struct cmmd *d, struct MHD_Connection *c, struct out *o)
{
	struct json_writer *w = &o->w;

	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_arr_open(w, "hostnames");
	for (int i = 0; i < d->cfg.nhosts; i++) {
		const struct cmm_pop *want = &d->cfg.pops[d->eng.hosts[i].serving];
		struct dns_steer s;
		int err = cmm_act__dns_show(&d->act, i, &s);
		bool in_sync = false;

		json_obj_open(w, NULL);
		json_str(w, "name", d->cfg.hosts[i].name);
		json_arr_open(w, "want");
		for (int k = 0; k < want->naddr; k++)
			json_str(w, NULL, want->addrs[k]);
		json_arr_close(w);
		json_arr_open(w, "have");
		for (size_t k = 0; !err && k < s.naddr; k++)
			json_str(w, NULL, s.addrs[k]);
		json_arr_close(w);
		if (!err && s.flag_present) {
			json_obj_open(w, "flag");
			for (size_t k = 0; k < s.nflag; k++)
				json_str(w, s.flag[k].key, s.flag[k].val);
			json_obj_close(w);
		} else {
			json_null(w, "flag");
		}
		if (!err) {
			in_sync = s.naddr == (size_t)want->naddr;
			for (int k = 0; in_sync && k < want->naddr; k++) {
				bool f = false;

				for (size_t j = 0; j < s.naddr && !f; j++)
					f = !strcmp(s.addrs[j], want->addrs[k]);
				in_sync = f;
			}
			json_u64(w, "serial", s.serial);
			json_null(w, "error");
		} else {
			json_null(w, "serial");
			json_str(w, "error", dns_strerror(err));
		}
		json_bool(w, "in_sync", in_sync);
		json_obj_close(w);
	}
	json_arr_close(w);
	json_obj_close(w);
	return reply_out(c, 200, o);
}

static enum MHD_Result h_plan(struct cmmd *d, struct MHD_Connection *c, struct out *o,
			      const char *pop)
{
	struct json_writer *w = &o->w;
	struct mirror_plan p;
	struct mirror_plan_req req;
	char detail[256];
	int src = pop ? cmm_config_pop_index(&d->cfg, pop) : 0;
	int err;

	if (src < 0)
		return reply_error(c, 404, "no pop '%s' in the config", pop);
	err = cmm_act__plan(&d->act, src, -1, -1, &p, &req, detail, sizeof(detail));
	if (err)
		return reply_error(c, err == -ENOTCONN ? 409 : 502, "plan for %s: %s",
				   d->cfg.pops[src].name, detail);
	json_obj_open(w, NULL);
	json_str(w, "schema", CMMD_SCHEMA);
	json_str(w, "at_risk", req.at_risk);
	json_str(w, "destination", p.destination);
	json_dbl(w, "rate", p.rate);
	json_dbl(w, "total_rate", p.total_rate);
	json_u64(w, "bytes", p.bytes);
	json_dbl(w, "cost", p.cost);
	json_dbl(w, "eta_s", p.eta_s);
	json_dbl(w, "lead_s", req.lead_s);
	json_arr_open(w, "candidates");
	for (size_t i = 0; i < p.ncands; i++) {
		json_obj_open(w, NULL);
		json_str(w, "pop", p.cands[i].pop);
		json_bool(w, "eligible", p.cands[i].eligible);
		json_dbl(w, "rate", p.cands[i].rate);
		json_str(w, "why", p.cands[i].why);
		json_obj_close(w);
	}
	json_arr_close(w);
	json_arr_open(w, "items");
	for (size_t i = 0; i < p.nitems; i++) {
		json_obj_open(w, NULL);
		json_str(w, "path", p.items[i].path);
		json_bool(w, "chosen", p.items[i].chosen);
		json_str(w, "why", p.items[i].why ? p.items[i].why : "");
		json_obj_close(w);
	}
	json_arr_close(w);
	json_obj_close(w);
	cmm_act__plan_free(&p);
	return reply_out(c, 200, o);
}

static enum MHD_Result h_metrics(struct cmmd *d, struct MHD_Connection *c, struct out *o)
{
	FILE *f = o->f;
	const struct cmm_config *cf = &d->cfg;

	fprintf(f, "# HELP cmmd_pop_risk POP risk: sum of traffic share x P(fail within the horizon); NaN when unknown.\n"
		   "# TYPE cmmd_pop_risk gauge\n");
	for (int i = 0; i < cf->npops; i++)
		fprintf(f, "cmmd_pop_risk{pop=\"%s\"} %.6g\n", cf->pops[i].name,
			d->pops[i].unknown ? NAN : d->pops[i].risk);
	fprintf(f, "# HELP cmmd_pop_unknown 1 when the POP's data is stale or its agent does not answer.\n"
		   "# TYPE cmmd_pop_unknown gauge\n");
	for (int i = 0; i < cf->npops; i++)
		fprintf(f, "cmmd_pop_unknown{pop=\"%s\"} %d\n", cf->pops[i].name, d->pops[i].unknown);
	fprintf(f, "# HELP cmmd_pop_failed 1 while the POP has a real failure.\n"
		   "# TYPE cmmd_pop_failed gauge\n");
	for (int i = 0; i < cf->npops; i++)
		fprintf(f, "cmmd_pop_failed{pop=\"%s\"} %d\n", cf->pops[i].name, d->pops[i].failed);
	fprintf(f, "# HELP cmmd_agent_polls_total Polls of each POP's agent by result.\n"
		   "# TYPE cmmd_agent_polls_total counter\n");
	for (int i = 0; i < cf->npops; i++) {
		fprintf(f, "cmmd_agent_polls_total{pop=\"%s\",result=\"ok\"} %llu\n", cf->pops[i].name,
			(unsigned long long)d->pops[i].polls_ok);
		fprintf(f, "cmmd_agent_polls_total{pop=\"%s\",result=\"failed\"} %llu\n",
			cf->pops[i].name, (unsigned long long)d->pops[i].polls_failed);
	}
	fprintf(f, "# HELP cmmd_agent_link_events_total Link up/down events from each POP's agent (acted on at once).\n"
		   "# TYPE cmmd_agent_link_events_total counter\n");
	for (int i = 0; i < cf->npops; i++)
		fprintf(f, "cmmd_agent_link_events_total{pop=\"%s\"} %llu\n", cf->pops[i].name,
			(unsigned long long)d->pops[i].link_events);
	fprintf(f, "# HELP cmmd_link_failure_probability P(the interconnect fails within the horizon).\n"
		   "# TYPE cmmd_link_failure_probability gauge\n");
	for (int i = 0; i < cf->npops; i++)
		for (int k = 0; k < d->pops[i].nlinks; k++)
			if (d->pops[i].links[k].have_out)
				fprintf(f, "cmmd_link_failure_probability{pop=\"%s\",link=\"%s\"} %.6g\n",
					cf->pops[i].name, d->pops[i].links[k].name,
					d->pops[i].links[k].out.pred[0].p);
	fprintf(f, "# HELP cmmd_hostname_state 1 for the state each hostname is in.\n"
		   "# TYPE cmmd_hostname_state gauge\n");
	for (int i = 0; i < cf->nhosts; i++)
		for (int s = 0; s < CMM_NSTATES; s++)
			fprintf(f, "cmmd_hostname_state{hostname=\"%s\",state=\"%s\"} %d\n",
				cf->hosts[i].name, cmm_state_name(s), (int)d->eng.hosts[i].state == s);
	fprintf(f, "# HELP cmmd_actions_total Journaled actions applied, by action and result.\n"
		   "# TYPE cmmd_actions_total counter\n");
	for (int a = 0; a < CMM_NACTS; a++) {
		fprintf(f, "cmmd_actions_total{action=\"%s\",result=\"done\"} %llu\n",
			cmm_action_name(a), (unsigned long long)d->act_ok[a]);
		fprintf(f, "cmmd_actions_total{action=\"%s\",result=\"failed\"} %llu\n",
			cmm_action_name(a), (unsigned long long)d->act_failed[a]);
	}
	fprintf(f, "# HELP cmmd_dns_updates_total DNS UPDATEs sent.\n# TYPE cmmd_dns_updates_total counter\n"
		   "cmmd_dns_updates_total %lu\n",
		d->act.dns_updates);
	fprintf(f, "# HELP cmmd_dns_skipped_total Journal rows found already applied on the DNS server.\n"
		   "# TYPE cmmd_dns_skipped_total counter\ncmmd_dns_skipped_total %lu\n",
		d->act.dns_skipped);
	fprintf(f, "# HELP cmmd_journal_pending Journal rows not yet done.\n# TYPE cmmd_journal_pending gauge\n"
		   "cmmd_journal_pending %lld\n",
		(long long)cmm_db__journal_count(&d->db, "pending"));
	{
		struct pfa_calib cal;

		if (!pfa_model__calibration(d->pfa, 0, &cal)) {
			fprintf(f, "# HELP cmmd_pfa_labelled_predictions_total Predictions whose horizon passed and got their label.\n"
				   "# TYPE cmmd_pfa_labelled_predictions_total counter\n"
				   "cmmd_pfa_labelled_predictions_total{horizon_s=\"%u\"} %llu\n",
				cf->horizon_s, (unsigned long long)cal.n);
			fprintf(f, "# HELP cmmd_pfa_positive_predictions_total Of those, followed by a failure.\n"
				   "# TYPE cmmd_pfa_positive_predictions_total counter\n"
				   "cmmd_pfa_positive_predictions_total{horizon_s=\"%u\"} %llu\n",
				cf->horizon_s, (unsigned long long)cal.positives);
			fprintf(f, "# HELP cmmd_pfa_brier Mean squared error of the labelled predictions (calibration).\n"
				   "# TYPE cmmd_pfa_brier gauge\ncmmd_pfa_brier{horizon_s=\"%u\"} %.6g\n",
				cf->horizon_s, cal.n ? cal.brier : NAN);
		}
	}
	fprintf(f, "# HELP cmmd_decisions_total State machine transitions since start.\n"
		   "# TYPE cmmd_decisions_total counter\ncmmd_decisions_total %llu\n",
		(unsigned long long)d->decisions);
	fclose(f);
	o->closed = true;
	return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", o->buf, o->len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct cmm_api *api = cls;
	struct cmmd *d = api->d;
	struct out o;
	enum MHD_Result ret;
	const char *q;

	if (!*state) {
		*state = (void *)1; /* headers only on the first call */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed (GET, HEAD)",
				   method);
	if (*upload_size)
		return reply_error(c, 400, "a GET carries no body");
	if (out_open(&o))
		return MHD_NO;
	pthread_mutex_lock(&d->lock);
	if (!strcmp(url, "/v1/status"))
		ret = h_status(d, c, &o);
	else if (!strcmp(url, "/v1/pops"))
		ret = h_pops(d, c, &o);
	else if (!strcmp(url, "/v1/links"))
		ret = h_links(d, c, &o);
	else if (!strcmp(url, "/v1/predict"))
		ret = h_predict(d, c, &o,
				MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "link"));
	else if (!strcmp(url, "/v1/events"))
		ret = h_events(d, c, &o,
			       MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since"));
	else if (!strcmp(url, "/v1/mirror/jobs"))
		ret = h_jobs(d, c, &o);
	else if (!strcmp(url, "/v1/dns"))
		ret = h_dns(d, c, &o);
	else if (!strcmp(url, "/v1/history")) {
		q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
		ret = h_history(d, c, &o, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "link"),
				q);
	} else if (!strcmp(url, "/metrics"))
		ret = h_metrics(d, c, &o);
	else if (!strcmp(url, "/v1/mirror/plan"))
		ret = h_plan(d, c, &o, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pop"));
	else
		ret = reply_error(c, 404, "no such path '%.200s' (try /v1/status, /v1/pops, /v1/links, /v1/predict, /v1/events, /v1/mirror/plan, /v1/mirror/jobs, /v1/dns, /v1/history, /metrics)",
				  url);
	pthread_mutex_unlock(&d->lock);
	/* a handler that answered with an error left the stream unused */
	if (!o.closed) {
		fclose(o.f);
		free(o.buf);
	}
	(void)version;
	(void)upload;
	return ret;
}

static struct MHD_Daemon *start(struct cmm_api *api, int fd, const char *what)
{
	struct MHD_Daemon *m;

	m = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     on_request, api, MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!m) {
		pr_err("API: libmicrohttpd could not start on %s\n", what);
		close(fd);
	}
	return m;
}

struct cmm_api *cmm_api__start(struct cmmd *d)
{
	struct cmm_api *api = calloc(1, sizeof(*api));
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, err;

	if (!api)
		return NULL;
	api->d = d;
	snprintf(api->sock_path, sizeof(api->sock_path), "%s", d->cfg.control);
	if (!lstat(api->sock_path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("control %s exists and is not a socket: remove it or set another 'control' path\n",
			       api->sock_path);
			goto fail;
		}
		unlink(api->sock_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", api->sock_path);
	old = umask(0077); /* the socket is born 0600: no window where others can connect */
	err = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (err || chmod(api->sock_path, 0600) || listen(fd, 64)) {
		pr_err("control socket %s: %s (does its directory exist and is it writable?)\n",
		       api->sock_path, strerror(errno));
		close(fd);
		goto fail;
	}
	api->unix_d = start(api, fd, api->sock_path);
	if (!api->unix_d)
		goto fail;
	pr_info("API on unix:%s (mode 0600)\n", api->sock_path);
	if (d->cfg.listen[0]) {
		char host[64];
		uint16_t port;
		struct sockaddr_storage ss;
		socklen_t sl;
		int one = 1;

		/* The config parser checked the address. */
		listen_sockaddr(d->cfg.listen, host, sizeof(host), &port, &ss, &sl);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
			pr_err("API: cannot listen on %s: %s%s\n", d->cfg.listen, strerror(errno),
			       errno == EADDRINUSE ? " (another process has the port: set another 'listen' or 'listen off')" : "");
			close(fd);
			goto fail;
		}
		api->tcp_d = start(api, fd, d->cfg.listen);
		if (!api->tcp_d)
			goto fail;
		pr_info("API and /metrics on http://%s\n", d->cfg.listen);
	}
	return api;
fail:
	cmm_api__stop(api);
	return NULL;
}

void cmm_api__stop(struct cmm_api *a)
{
	if (!a)
		return;
	if (a->unix_d)
		MHD_stop_daemon(a->unix_d);
	if (a->tcp_d)
		MHD_stop_daemon(a->tcp_d);
	if (a->unix_d)
		unlink(a->sock_path);
	free(a);
}
