// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"

struct store {
	pthread_mutex_t mu;
	int nlinks;
	uint32_t history;		/* ticks kept */
	struct store_link *links;
	uint64_t started_ms;

	/* Tick ring: slot t holds samples[t * nlinks .. + nlinks). */
	struct health_sample *ring;
	uint32_t head;			/* next slot to write */
	uint32_t filled;
	uint64_t ticks;

	struct link_reading *readings;	/* latest, nlinks */
	bool have_readings;
	struct store_totals *totals;	/* nlinks */

	struct store_event ev[STORE_EVENTS];
	uint32_t ev_head, ev_filled;
	uint64_t ev_last_id;
	void (*ev_hook)(void *arg);	/* called after each event, outside mu */
	void *ev_hook_arg;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct store *store_new(const struct ihm_config *cfg)
{
	struct store *st;
	size_t nslots;

	if (cfg->nlinks < 0 || cfg->nlinks > CFG_MAX_LINKS || cfg->history == 0) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->mu, NULL);
	st->nlinks = cfg->nlinks;
	st->history = cfg->history;
	st->started_ms = wall_ms();
	nslots = (size_t)cfg->history * (size_t)(cfg->nlinks ? cfg->nlinks : 1);
	st->links = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*st->links));
	st->ring = calloc(nslots, sizeof(*st->ring));
	st->readings = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*st->readings));
	st->totals = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*st->totals));
	if (!st->links || !st->ring || !st->readings || !st->totals) {
		store_free(st);
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < cfg->nlinks; i++) {
		snprintf(st->links[i].name, sizeof(st->links[i].name), "%s", cfg->links[i].name);
		snprintf(st->links[i].ifname, sizeof(st->links[i].ifname), "%s",
			 cfg->links[i].ifname);
		st->links[i].capacity_bps = cfg->links[i].capacity_bps;
		st->links[i].nprobes = cfg->links[i].nprobes;
	}
	return st;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	pthread_mutex_destroy(&st->mu);
	free(st->links);
	free(st->ring);
	free(st->readings);
	free(st->totals);
	free(st);
}

void store_push(struct store *st, const struct health_sample *s, const struct link_reading *r,
		int n)
{
	struct health_sample *slot;

	if (n > st->nlinks)
		n = st->nlinks;
	if (n <= 0)
		return;
	pthread_mutex_lock(&st->mu);
	slot = &st->ring[(size_t)st->head * st->nlinks];
	memcpy(slot, s, (size_t)n * sizeof(*s));
	/* A short tick leaves the rest of the slot marked unused. */
	for (int i = n; i < st->nlinks; i++)
		slot[i].link[0] = '\0';
	st->head = (st->head + 1) % st->history;
	if (st->filled < st->history)
		st->filled++;
	st->ticks++;
	for (int i = 0; i < n; i++) {
		struct store_totals *t = &st->totals[i];

		t->probe_sent += s[i].probe_sent;
		t->probe_lost += s[i].probe_lost;
		t->probe_replies += s[i].probe_replies;
		t->routes_announced += s[i].routes_announced;
		t->routes_withdrawn += s[i].routes_withdrawn;
		t->link_changes += s[i].link_changes;
	}
	if (r) {
		memcpy(st->readings, r, (size_t)n * sizeof(*r));
		st->have_readings = true;
	}
	pthread_mutex_unlock(&st->mu);
}

void store_event(struct store *st, uint64_t ts_ms, const char *kind, const char *link,
		 const char *detail)
{
	void (*hook)(void *arg);
	struct store_event *e;
	void *hook_arg;

	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	e = &st->ev[st->ev_head];
	memset(e, 0, sizeof(*e));
	e->id = ++st->ev_last_id;
	e->ts_ms = ts_ms ? ts_ms : wall_ms();
	snprintf(e->kind, sizeof(e->kind), "%s", kind ? kind : "unknown");
	snprintf(e->link, sizeof(e->link), "%s", link ? link : "");
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
	st->ev_head = (st->ev_head + 1) % STORE_EVENTS;
	if (st->ev_filled < STORE_EVENTS)
		st->ev_filled++;
	hook = st->ev_hook;
	hook_arg = st->ev_hook_arg;
	pthread_mutex_unlock(&st->mu);
	if (hook)
		hook(hook_arg);
	pr_debug("event %s%s%s%s%s", kind ? kind : "unknown", link ? " on " : "", link ? link : "",
		 detail && *detail ? ": " : "", detail ? detail : "");
}

void store_set_event_hook(struct store *st, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&st->mu);
	st->ev_hook = fn;
	st->ev_hook_arg = arg;
	pthread_mutex_unlock(&st->mu);
}

uint64_t store_last_event_id(struct store *st)
{
	uint64_t id;

	pthread_mutex_lock(&st->mu);
	id = st->ev_last_id;
	pthread_mutex_unlock(&st->mu);
	return id;
}

int store_nlinks(const struct store *st)
{
	return st->nlinks;
}

uint64_t store_started_ms(const struct store *st)
{
	return st->started_ms;
}

uint32_t store_history_size(const struct store *st)
{
	return st->history;
}

int store_link_index(const struct store *st, const char *name)
{
	for (int i = 0; i < st->nlinks; i++)
		if (!strcmp(st->links[i].name, name))
			return i;
	return -1;
}

/* Slot index of the k-th oldest filled tick. Caller holds the lock. */
static uint32_t slot_of(const struct store *st, uint32_t k)
{
	return (st->head + st->history - st->filled + k) % st->history;
}

int store_latest(struct store *st, struct health_sample *out, uint64_t *ts_ms)
{
	int n = 0;

	pthread_mutex_lock(&st->mu);
	if (st->filled) {
		const struct health_sample *slot =
			&st->ring[(size_t)slot_of(st, st->filled - 1) * st->nlinks];

		for (int i = 0; i < st->nlinks; i++)
			if (slot[i].link[0])
				out[n++] = slot[i];
	}
	if (ts_ms)
		*ts_ms = n ? out[0].ts_ms : 0;
	pthread_mutex_unlock(&st->mu);
	return n;
}

ssize_t store_history(struct store *st, uint64_t since_ms, int link, struct health_sample **out)
{
	size_t cap, n = 0;
	struct health_sample *buf;

	*out = NULL;
	pthread_mutex_lock(&st->mu);
	cap = (size_t)st->filled * (link >= 0 ? 1 : (size_t)st->nlinks);
	buf = malloc((cap ? cap : 1) * sizeof(*buf));
	if (!buf) {
		pthread_mutex_unlock(&st->mu);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < st->filled; k++) {
		const struct health_sample *slot = &st->ring[(size_t)slot_of(st, k) * st->nlinks];

		for (int i = 0; i < st->nlinks; i++) {
			if (link >= 0 && i != link)
				continue;
			if (slot[i].link[0] && slot[i].ts_ms > since_ms)
				buf[n++] = slot[i];
		}
	}
	pthread_mutex_unlock(&st->mu);
	*out = buf;
	return (ssize_t)n;
}

ssize_t store_events(struct store *st, uint64_t since_ms, uint64_t after_id,
		     struct store_event **out, uint64_t *oldest_id, uint64_t *last_id)
{
	struct store_event *buf;
	size_t n = 0;

	*out = NULL;
	buf = malloc(STORE_EVENTS * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&st->mu);
	for (uint32_t k = 0; k < st->ev_filled; k++) {
		const struct store_event *e =
			&st->ev[(st->ev_head + STORE_EVENTS - st->ev_filled + k) % STORE_EVENTS];

		if (e->ts_ms > since_ms && e->id > after_id)
			buf[n++] = *e;
	}
	*oldest_id = st->ev_filled ? st->ev_last_id - st->ev_filled + 1 : 0;
	*last_id = st->ev_last_id;
	pthread_mutex_unlock(&st->mu);
	*out = buf;
	return (ssize_t)n;
}

struct store_snapshot *store_snapshot(struct store *st)
{
	struct store_snapshot *sn = calloc(1, sizeof(*sn));
	size_t nl = st->nlinks ? (size_t)st->nlinks : 1;

	if (!sn)
		return NULL;
	sn->links = calloc(nl, sizeof(*sn->links));
	sn->latest = calloc(nl, sizeof(*sn->latest));
	sn->readings = calloc(nl, sizeof(*sn->readings));
	sn->totals = calloc(nl, sizeof(*sn->totals));
	if (!sn->links || !sn->latest || !sn->readings || !sn->totals) {
		store_snapshot_free(sn);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&st->mu);
	sn->nlinks = st->nlinks;
	sn->ticks = st->ticks;
	sn->started_ms = st->started_ms;
	sn->events = st->ev_last_id;
	memcpy(sn->links, st->links, (size_t)st->nlinks * sizeof(*sn->links));
	sn->have_tick = st->filled && st->have_readings;
	if (sn->have_tick) {
		memcpy(sn->latest, &st->ring[(size_t)slot_of(st, st->filled - 1) * st->nlinks],
		       (size_t)st->nlinks * sizeof(*sn->latest));
		memcpy(sn->readings, st->readings, (size_t)st->nlinks * sizeof(*sn->readings));
		memcpy(sn->totals, st->totals, (size_t)st->nlinks * sizeof(*sn->totals));
	}
	pthread_mutex_unlock(&st->mu);
	return sn;
}

void store_snapshot_free(struct store_snapshot *sn)
{
	if (!sn)
		return;
	free(sn->links);
	free(sn->latest);
	free(sn->readings);
	free(sn->totals);
	free(sn);
}
