// SPDX-License-Identifier: GPL-2.0-only
/* Agent polling; see cmm_poll.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cmm_poll.h"
#include "log.h"

#define BODY_MAX (4u << 20)

static double num(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return NAN;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return NAN;
	return json_object_get_double(v);
}

static json_object *obj(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static int link_up_of(json_object *l)
{
	json_object *ls = obj(l, "link_state"), *v;
	const char *st = NULL;

	if (json_object_object_get_ex(l, "state", &v) && json_object_is_type(v, json_type_string))
		st = json_object_get_string(v);
	if (st && (!strcmp(st, "missing") || !strcmp(st, "detached")))
		return 0;
	if (ls && json_object_object_get_ex(ls, "carrier", &v) &&
	    json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? 1 : 0;
	if (ls && json_object_object_get_ex(ls, "operstate", &v) &&
	    json_object_is_type(v, json_type_string)) {
		const char *os = json_object_get_string(v);

		if (!strcmp(os, "up"))
			return 1;
		if (!strcmp(os, "down") || !strcmp(os, "lowerlayerdown") || !strcmp(os, "notpresent"))
			return 0;
	}
	return -1;
}

int cmm_health_parse(const char *json, size_t len, struct cmm_agent_poll *out)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root, *v, *links;
	int n;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(out->error, sizeof(out->error), "not JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_tokener_free(tok);
		json_object_put(root);
		return -EINVAL;
	}
	json_tokener_free(tok);
	if (!json_object_object_get_ex(root, "schema", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "presage.health/1")) {
		snprintf(out->error, sizeof(out->error), "not a presage.health/1 document (schema %s)",
			 v ? json_object_get_string(v) : "missing");
		json_object_put(root);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "links", &links) ||
	    !json_object_is_type(links, json_type_array)) {
		snprintf(out->error, sizeof(out->error), "no \"links\" array");
		json_object_put(root);
		return -EINVAL;
	}
	out->sample_ts_ms = isfinite(num(root, "ts_ms")) ? (int64_t)num(root, "ts_ms") : 0;
	n = (int)json_object_array_length(links);
	out->nic = 0;
	for (int i = 0; i < n && out->nic < CMM_MAX_IC; i++) {
		json_object *l = json_object_array_get_idx(links, i), *rtt, *tcp, *pr, *rt;
		struct cmm_ic *ic = &out->ic[out->nic];

		if (!json_object_is_type(l, json_type_object) ||
		    !json_object_object_get_ex(l, "link", &v) || !json_object_is_type(v, json_type_string))
			continue;
		memset(ic, 0, sizeof(*ic));
		snprintf(ic->name, sizeof(ic->name), "%s", json_object_get_string(v));
		ic->ts_ms = isfinite(num(l, "ts_ms")) ? (int64_t)num(l, "ts_ms") : out->sample_ts_ms;
		ic->interval_s = num(l, "interval_s");
		ic->capacity_bps = num(l, "capacity_bps");
		ic->rx_bps = num(l, "rx_bps");
		ic->tx_bps = num(l, "tx_bps");
		ic->util = num(l, "utilization");
		rtt = obj(l, "rtt");
		ic->rtt_count = num(rtt, "samples");
		ic->rtt_min = num(rtt, "min_ms");
		ic->rtt_p50 = num(rtt, "p50_ms");
		ic->rtt_p90 = num(rtt, "p90_ms");
		ic->rtt_p99 = num(rtt, "p99_ms");
		ic->rtt_max = num(rtt, "max_ms");
		tcp = obj(l, "tcp");
		ic->retrans_in = num(tcp, "rx_retrans_rate");
		ic->retrans_out = num(tcp, "tx_retrans_rate");
		pr = obj(l, "probe");
		ic->probe_rtt = num(pr, "rtt_avg_ms");
		ic->probe_loss = num(pr, "loss");
		rt = obj(l, "routes");
		ic->routes = num(rt, "count");
		ic->announced = num(rt, "announced");
		ic->withdrawn = num(rt, "withdrawn");
		ic->link_up = link_up_of(l);
		out->nic++;
	}
	json_object_put(root);
	return 0;
}

struct xfer {
	CURL *h;
	char *buf;
	size_t len;
	bool overflow;
	char errbuf[CURL_ERROR_SIZE];
};

struct cmm_poller {
	const struct cmm_config *cfg;
	CURLM *multi;
	struct xfer x[CMM_MAX_POPS];
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char *nb;

	if (x->len + n > BODY_MAX) {
		x->overflow = true;
		return 0;
	}
	nb = realloc(x->buf, x->len + n + 1);
	if (!nb)
		return 0;
	x->buf = nb;
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

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

void cmm_poller__free(struct cmm_poller *p)
{
	if (!p)
		return;
	for (int i = 0; i < CMM_MAX_POPS; i++) {
		if (p->x[i].h)
			curl_easy_cleanup(p->x[i].h);
		free(p->x[i].buf);
	}
	curl_multi_cleanup(p->multi);
	free(p);
}

static void setup(struct cmm_poller *p, int i)
{
	const struct cmm_config *c = p->cfg;
	struct xfer *x = &p->x[i];
	char url[256];
	bool tls = c->tls_cert[0] || c->tls_ca[0];

	if (!x->h)
		x->h = curl_easy_init();
	else
		curl_easy_reset(x->h);
	x->len = 0;
	x->overflow = false;
	x->errbuf[0] = '\0';
	snprintf(url, sizeof(url), "%s://%s/v1/health", tls ? "https" : "http", c->pops[i].agent);
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, (long)c->poll_ms);
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
	curl_multi_add_handle(p->multi, x->h);
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
				 x->overflow ? "answer larger than 4 MiB" :
				 x->errbuf[0] ? x->errbuf : curl_easy_strerror(msg->data.result));
			continue;
		}
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200) {
			a->ok = false;
			snprintf(a->error, sizeof(a->error), "%s: HTTP %ld", c->pops[i].agent, code);
			continue;
		}
		memset(&tmp, 0, sizeof(tmp));
		if (cmm_health_parse(x->buf ? x->buf : "", x->len, &tmp)) {
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
