// SPDX-License-Identifier: GPL-2.0-only
/* Agent polling; see cmm_poll.h. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "capbuf.h"
#include "cmm_poll.h"
#include "jsonread.h"
#include "log.h"

#define BODY_MAX (4u << 20)

static int link_up_of(json_object *l)
{
	json_object *ls = jobj(l, "link_state"), *carrier = jget(ls, "carrier");
	const char *st = jstr(l, "state"), *os = jstr(ls, "operstate");

	if (st && (!strcmp(st, "missing") || !strcmp(st, "detached")))
		return 0;
	if (carrier && json_object_is_type(carrier, json_type_boolean))
		return json_object_get_boolean(carrier) ? 1 : 0;
	if (os) {
		if (!strcmp(os, "up"))
			return 1;
		if (!strcmp(os, "down") || !strcmp(os, "lowerlayerdown") || !strcmp(os, "notpresent"))
			return 0;
	}
	return -1;
}

/* Parse @json as a document of @schema; NULL with the reason in @err. */
static json_object *parse_doc(const char *json, size_t len, const char *schema, char *err,
			      size_t errlen)
{
	char why[200];
	json_object *root = jdoc_parse(json, len, why, sizeof(why));

	if (!root) {
		snprintf(err, errlen, "not JSON: %s", why);
		return NULL;
	}
	if (jdoc_schema(root, schema, err, errlen)) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

int cmm_health_parse(const char *json, size_t len, struct cmm_agent_poll *out)
{
	json_object *root, *links;
	int n;

	root = parse_doc(json, len, "presage.health/1", out->error, sizeof(out->error));
	if (!root)
		return -EINVAL;
	links = jarr(root, "links");
	if (!links) {
		snprintf(out->error, sizeof(out->error), "no \"links\" array");
		json_object_put(root);
		return -EINVAL;
	}
	out->sample_ts_ms = isfinite(jdbl(root, "ts_ms")) ? (int64_t)jdbl(root, "ts_ms") : 0;
	n = (int)json_object_array_length(links);
	out->nic = 0;
	for (int i = 0; i < n && out->nic < CMM_MAX_IC; i++) {
		json_object *l = json_object_array_get_idx(links, i), *rtt, *tcp, *pr, *rt;
		struct cmm_ic *ic = &out->ic[out->nic];
		const char *name = jstr(l, "link");

		if (!name)
			continue;
		memset(ic, 0, sizeof(*ic));
		snprintf(ic->name, sizeof(ic->name), "%s", name);
		ic->ts_ms = isfinite(jdbl(l, "ts_ms")) ? (int64_t)jdbl(l, "ts_ms") : out->sample_ts_ms;
		ic->interval_s = jdbl(l, "interval_s");
		ic->capacity_bps = jdbl(l, "capacity_bps");
		ic->rx_bps = jdbl(l, "rx_bps");
		ic->tx_bps = jdbl(l, "tx_bps");
		ic->util = jdbl(l, "utilization");
		rtt = jobj(l, "rtt");
		ic->rtt_count = jdbl(rtt, "samples");
		ic->rtt_min = jdbl(rtt, "min_ms");
		ic->rtt_p50 = jdbl(rtt, "p50_ms");
		ic->rtt_p90 = jdbl(rtt, "p90_ms");
		ic->rtt_p99 = jdbl(rtt, "p99_ms");
		ic->rtt_max = jdbl(rtt, "max_ms");
		tcp = jobj(l, "tcp");
		ic->retrans_in = jdbl(tcp, "rx_retrans_rate");
		ic->retrans_out = jdbl(tcp, "tx_retrans_rate");
		pr = jobj(l, "probe");
		ic->probe_rtt = jdbl(pr, "rtt_avg_ms");
		ic->probe_loss = jdbl(pr, "loss");
		rt = jobj(l, "routes");
		ic->routes = jdbl(rt, "count");
		ic->announced = jdbl(rt, "announced");
		ic->withdrawn = jdbl(rt, "withdrawn");
		ic->link_up = link_up_of(l);
		out->nic++;
	}
	json_object_put(root);
	return 0;
}

struct xfer {
	CURL *h;
	struct capbuf body;	/* the answer */
	char errbuf[CURL_ERROR_SIZE];
};

struct cmm_poller {
	const struct cmm_config *cfg;
	CURLM *multi;
	struct xfer x[CMM_MAX_POPS];
};

struct cmm_poller *cmm_poller__new(const struct cmm_config *c)
{
	struct cmm_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = c;
	p->multi = curl_multi_init();
	if (!p->multi) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

/* Why a transfer that ended with @res failed, for a log line or an error field. */
static const char *xfer_why(const struct xfer *x, CURLcode res)
{
	if (x->body.too_big)
		return "answer larger than 4 MiB";
	return x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
}

/* The handle and the answer buffer of @x (off any multi handle already). */
static void xfer_free(struct xfer *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	free(x->body.p);
}

void cmm_poller__free(struct cmm_poller *p)
{
	if (!p)
		return;
	for (int i = 0; i < CMM_MAX_POPS; i++)
		xfer_free(&p->x[i]);
	curl_multi_cleanup(p->multi);
	free(p);
}

/* @x->h ready for GET @path from agent @i's API, TLS as configured. */
static void easy_setup(const struct cmm_config *c, struct xfer *x, int i, const char *path,
		       long timeout_ms)
{
	char url[256];
	bool tls = c->tls_cert[0] || c->tls_ca[0];

	if (!x->h)
		x->h = curl_easy_init();
	else
		curl_easy_reset(x->h);
	x->body.len = 0;
	x->body.too_big = false;
	x->body.max = BODY_MAX;
	x->errbuf[0] = '\0';
	snprintf(url, sizeof(url), "%s://%s%s", tls ? "https" : "http", c->pops[i].agent, path);
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, capbuf_curl_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, &x->body);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->poll_ms);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->h, CURLOPT_PROXY, "");
	if (tls) {
		if (c->tls_ca[0])
			curl_easy_setopt(x->h, CURLOPT_CAINFO, c->tls_ca);
		if (c->tls_cert[0]) {
			curl_easy_setopt(x->h, CURLOPT_SSLCERT, c->tls_cert);
			curl_easy_setopt(x->h, CURLOPT_SSLKEY, c->tls_key);
		}
		/*
		 * Agents are named by address in the config and their certificates
		 * by POP: the chain to the deployment CA is what authenticates them
		 * (as mirror/tls.c does for content agents), not the host name.
		 */
		curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(x->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	}
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, (void *)(intptr_t)i);
}

static void setup(struct cmm_poller *p, int i)
{
	easy_setup(p->cfg, &p->x[i], i, "/v1/health", (long)p->cfg->poll_ms);
	curl_multi_add_handle(p->multi, p->x[i].h);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cmm_poller__poll(struct cmm_poller *p, struct cmm_agent_poll *out, int64_t now_ms)
{
	const struct cmm_config *c = p->cfg;
	int running = 0, left;
	int64_t deadline = mono_ms() + (int64_t)c->poll_ms + 500;
	CURLMsg *msg;

	for (int i = 0; i < c->npops; i++)
		setup(p, i);
	do {
		if (curl_multi_perform(p->multi, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(p->multi, NULL, 0, 100, NULL);
	} while (running && mono_ms() < deadline);
	while ((msg = curl_multi_info_read(p->multi, &left))) {
		long code = 0;
		intptr_t i;
		struct cmm_agent_poll *a;
		struct xfer *x;
		struct cmm_agent_poll tmp;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&i);
		a = &out[i];
		x = &p->x[i];
		a->polled_ms = now_ms;
		if (msg->data.result != CURLE_OK) {
			a->ok = false;
			snprintf(a->error, sizeof(a->error), "%s: %s", c->pops[i].agent,
				 xfer_why(x, msg->data.result));
			continue;
		}
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200) {
			a->ok = false;
			snprintf(a->error, sizeof(a->error), "%s: HTTP %ld", c->pops[i].agent, code);
			continue;
		}
		memset(&tmp, 0, sizeof(tmp));
		if (cmm_health_parse(x->body.p ? x->body.p : "", x->body.len, &tmp)) {
			a->ok = false;
			snprintf(a->error, sizeof(a->error), "%s: %.200s", c->pops[i].agent, tmp.error);
			continue;
		}
		tmp.ok = true;
		tmp.polled_ms = now_ms;
		*a = tmp;
	}
	/* Whatever is still running timed out: take it off, say so. */
	for (int i = 0; i < c->npops; i++) {
		curl_multi_remove_handle(p->multi, p->x[i].h);
		if (out[i].polled_ms != now_ms) {
			out[i].ok = false;
			out[i].polled_ms = now_ms;
			snprintf(out[i].error, sizeof(out[i].error), "%s: no answer within %llu ms",
				 c->pops[i].agent, (unsigned long long)c->poll_ms);
		}
	}
}

/* ---- events: one long poll per agent ------------------------------------- */

/* A non-negative integer member, or -1. */
static int64_t id_of(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v) >= 0 ? json_object_get_int64(v) : -1;
}

int cmm_events_parse(const char *json, size_t len, struct cmm_events_doc *out)
{
	json_object *root, *v, *evs;
	size_t n;

	memset(out, 0, sizeof(*out));
	root = parse_doc(json, len, "presage.events/1", out->error, sizeof(out->error));
	if (!root)
		return -EINVAL;
	out->started_ms = id_of(jobj(root, "agent"), "started_ms");
	out->last_id = id_of(root, "last_id");
	if (out->started_ms < 0 || out->last_id < 0) {
		snprintf(out->error, sizeof(out->error), "no %s",
			 out->started_ms < 0 ? "agent.started_ms" : "last_id");
		goto bad;
	}
	v = jget(root, "missed");
	out->missed = v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	evs = jarr(root, "events");
	if (!evs) {
		snprintf(out->error, sizeof(out->error), "no \"events\" array");
		goto bad;
	}
	n = json_object_array_length(evs);
	/* The newest CMM_EVENTS_MAX: link state needs only the last word on each link. */
	for (size_t k = n > CMM_EVENTS_MAX ? n - CMM_EVENTS_MAX : 0; k < n; k++) {
		json_object *e = json_object_array_get_idx(evs, k);
		struct cmm_agent_event *ev = &out->ev[out->n];
		const char *kind = jstr(e, "kind"), *link = jstr(e, "link"), *detail = jstr(e, "detail");

		ev->id = id_of(e, "id");
		ev->ts_ms = id_of(e, "ts_ms");
		if (!json_object_is_type(e, json_type_object) || ev->id <= 0 || ev->ts_ms < 0 || !kind) {
			snprintf(out->error, sizeof(out->error),
				 "event %zu: an object with id, ts_ms and kind expected", k);
			goto bad;
		}
		if (ev->id > out->last_id) {
			snprintf(out->error, sizeof(out->error), "event id %lld above last_id %lld",
				 (long long)ev->id, (long long)out->last_id);
			goto bad;
		}
		snprintf(ev->kind, sizeof(ev->kind), "%s", kind);
		snprintf(ev->link, sizeof(ev->link), "%s", link ? link : "");
		snprintf(ev->detail, sizeof(ev->detail), "%s", detail ? detail : "");
		out->n++;
	}
	json_object_put(root);
	return 0;
bad:
	json_object_put(root);
	return -EINVAL;
}

/* How long one long poll may wait at the agent (its maximum is 60 s). */
#define WATCH_WAIT_MS 20000

struct watch {
	struct xfer x;
	bool busy;		/* a request is out */
	bool primed;		/* @after and @started_ms hold the agent's sequence */
	int64_t after;		/* the last event id seen */
	int64_t started_ms;	/* agent.started_ms of that sequence */
	int64_t due_ms;		/* monotonic: when to ask again */
	int64_t sent_ms;	/* monotonic: when the request went out */
	int fails;
	bool warned;		/* this run of failures has had its warning */
	struct cmm_events_doc doc;
};

struct cmm_watcher {
	const struct cmm_config *cfg;
	CURLM *multi;
	pthread_t thr;
	atomic_bool stop;
	cmm_event_fn fn;
	void *arg;
	struct watch w[CMM_MAX_POPS];
};

/*
 * @answered: the agent answered, but not with events (an HTTP error, a bad
 * document): worth a warning, unlike a broken connection, which the health
 * poll reports already.
 */
static void watch_failed(struct cmm_watcher *wr, int i, bool answered, const char *why)
{
	struct watch *w = &wr->w[i];
	int64_t backoff = 500LL << (w->fails < 5 ? w->fails : 5);

	if (answered && !w->warned) {
		w->warned = true;
		pr_warn("events %s: %s: link events wait for the next poll until this is fixed\n",
			wr->cfg->pops[i].name, why);
	} else if (!w->fails) {
		pr_debug("events %s: %s (the health poll still runs; retrying)\n",
			 wr->cfg->pops[i].name, why);
	}
	w->fails++;
	/* After a break the ids may have restarted with the agent: learn them again. */
	w->primed = false;
	w->due_ms = mono_ms() + (backoff > 10000 ? 10000 : backoff);
}

static void watch_done(struct cmm_watcher *wr, int i, CURLcode res)
{
	struct watch *w = &wr->w[i];
	struct xfer *x = &w->x;
	char why[CURL_ERROR_SIZE + 64];
	long code = 0;

	if (res != CURLE_OK) {
		watch_failed(wr, i, false, xfer_why(x, res));
		return;
	}
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		snprintf(why, sizeof(why), "HTTP %ld", code);
		watch_failed(wr, i, true, why);
		return;
	}
	if (cmm_events_parse(x->body.p ? x->body.p : "", x->body.len, &w->doc)) {
		snprintf(why, sizeof(why), "%.200s", w->doc.error);
		watch_failed(wr, i, true, why);
		return;
	}
	if (w->warned)
		pr_info("events %s: the agent's events read again\n", wr->cfg->pops[i].name);
	else if (w->fails)
		pr_debug("events %s: watching again\n", wr->cfg->pops[i].name);
	w->fails = 0;
	w->warned = false;
	w->due_ms = 0;
	if (!w->primed || w->doc.started_ms != w->started_ms) {
		/*
		 * First contact, or a restarted agent (ids begin again at 1): what
		 * happened before is in the samples; only what comes next is news.
		 */
		w->primed = true;
		w->started_ms = w->doc.started_ms;
		w->after = w->doc.last_id;
		pr_debug("events %s: watching after id %lld\n", wr->cfg->pops[i].name,
			 (long long)w->after);
		return;
	}
	if (w->doc.missed)
		pr_warn("events %s: some events dropped from the agent's ring before they were read\n",
			wr->cfg->pops[i].name);
	for (size_t k = 0; k < w->doc.n; k++) {
		if (w->doc.ev[k].id <= w->after)
			continue;
		wr->fn(wr->arg, i, &w->doc.ev[k]);
		w->after = w->doc.ev[k].id;
	}
	if (w->doc.last_id > w->after)
		w->after = w->doc.last_id;
	/*
	 * Nothing new, and long before the wait was up: this agent does not
	 * hold long polls. Ask it once a second, not in a busy loop.
	 */
	if (!w->doc.n && mono_ms() - w->sent_ms < WATCH_WAIT_MS / 2)
		w->due_ms = mono_ms() + 1000;
}

static void *watch_thread(void *arg)
{
	struct cmm_watcher *wr = arg;
	const struct cmm_config *c = wr->cfg;

	while (!atomic_load(&wr->stop)) {
		int64_t now = mono_ms(), next = now + 1000;
		int running, left;
		CURLMsg *msg;

		for (int i = 0; i < c->npops; i++) {
			struct watch *w = &wr->w[i];
			char path[96];

			if (w->busy || now < w->due_ms)
				continue;
			if (w->primed)
				snprintf(path, sizeof(path), "/v1/events?after=%lld&wait=%d",
					 (long long)w->after, WATCH_WAIT_MS);
			else
				snprintf(path, sizeof(path), "/v1/events?after=%lld", (long long)INT64_MAX / 2);
			easy_setup(c, &w->x, i, path,
				   w->primed ? WATCH_WAIT_MS + (long)c->poll_ms + 5000 : (long)c->poll_ms);
			curl_multi_add_handle(wr->multi, w->x.h);
			w->busy = true;
			w->sent_ms = now;
		}
		curl_multi_perform(wr->multi, &running);
		while ((msg = curl_multi_info_read(wr->multi, &left))) {
			intptr_t i;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&i);
			curl_multi_remove_handle(wr->multi, msg->easy_handle);
			wr->w[i].busy = false;
			watch_done(wr, (int)i, msg->data.result);
		}
		/* Sleep until the first idle watch is due: at once for one just answered. */
		for (int i = 0; i < c->npops; i++)
			if (!wr->w[i].busy && wr->w[i].due_ms < next)
				next = wr->w[i].due_ms;
		now = mono_ms();
		if (next > now)
			curl_multi_poll(wr->multi, NULL, 0, (int)(next - now), NULL);
	}
	return NULL;
}

struct cmm_watcher *cmm_watcher__start(const struct cmm_config *c, cmm_event_fn fn, void *arg)
{
	struct cmm_watcher *wr = calloc(1, sizeof(*wr));
	int err;

	if (!wr)
		return NULL;
	wr->cfg = c;
	wr->fn = fn;
	wr->arg = arg;
	wr->multi = curl_multi_init();
	if (!wr->multi) {
		free(wr);
		errno = ENOMEM;
		return NULL;
	}
	if ((err = pthread_create(&wr->thr, NULL, watch_thread, wr))) {
		curl_multi_cleanup(wr->multi);
		free(wr);
		errno = err;
		return NULL;
	}
	return wr;
}

void cmm_watcher__stop(struct cmm_watcher *wr)
{
	if (!wr)
		return;
	atomic_store(&wr->stop, true);
	curl_multi_wakeup(wr->multi);
	pthread_join(wr->thr, NULL);
	for (int i = 0; i < CMM_MAX_POPS; i++) {
		if (wr->w[i].busy)
			curl_multi_remove_handle(wr->multi, wr->w[i].x.h);
		xfer_free(&wr->w[i].x);
	}
	curl_multi_cleanup(wr->multi);
	free(wr);
}
