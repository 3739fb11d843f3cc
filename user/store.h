/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's memory of recent health: what the HTTP API serves.
 *
 *   - a ring of the last `history` ticks, each holding one sample per
 *     configured interconnect (so `history` samples per interconnect);
 *   - the latest cumulative data-plane readings (counters and the RTT
 *     histogram) for /metrics, and per-link sums of the per-tick probe,
 *     route and link-change figures, which only exist as deltas;
 *   - a ring of the last STORE_EVENTS events, each with an id that grows by
 *     one per event for the agent's lifetime, so a poller can resume.
 *
 * One mutex guards everything and is held only to copy in or out: the tick
 * copies its samples in, a request copies what it needs out and formats it
 * after the lock is dropped. Every function is safe from any thread.
 */
#ifndef PRESAGE_STORE_H
#define PRESAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "health.h"

/* Events kept in memory (older ones are dropped; ids tell a poller it missed some). */
#define STORE_EVENTS 1024
#define STORE_EVENT_KIND_MAX 24
#define STORE_EVENT_DETAIL_MAX 200

struct store;

struct store_event {
	uint64_t id;		/* 1, 2, 3, ... for the agent's lifetime */
	uint64_t ts_ms;		/* Unix time, ms */
	char kind[STORE_EVENT_KIND_MAX];	/* agent-start, link-down, withdrawal-burst, ... */
	char link[CFG_NAME_MAX];		/* "" when not about one interconnect */
	char detail[STORE_EVENT_DETAIL_MAX];
};

/* Per-link sums of figures that the samples carry as per-tick deltas. */
struct store_totals {
	uint64_t probe_sent, probe_lost, probe_replies;
	uint64_t routes_announced, routes_withdrawn;
	uint64_t link_changes;
};

/* Static facts about one configured interconnect. */
struct store_link {
	char name[CFG_NAME_MAX];
	char ifname[IF_NAMESIZE];
	uint64_t capacity_bps;
	int nprobes;
};

/* Everything /metrics needs, copied out in one go (store_snapshot). */
struct store_snapshot {
	int nlinks;
	uint64_t ticks;			/* store_push calls so far */
	uint64_t started_ms;		/* when the store was made (agent start) */
	uint64_t events;		/* events raised so far (= last id) */
	bool have_tick;			/* latest/readings/totals are filled */
	struct store_link *links;	/* nlinks each */
	struct health_sample *latest;
	struct link_reading *readings;
	struct store_totals *totals;
};

/* nlinks and history from @cfg. NULL and errno (ENOMEM, EINVAL) on failure. */
struct store *store_new(const struct ihm_config *cfg);
void store_free(struct store *st);

/*
 * One tick: @n samples in config order and the cumulative readings of the
 * same links (@r may be NULL). Copies. Extra samples beyond the configured
 * links are ignored.
 */
void store_push(struct store *st, const struct health_sample *s, const struct link_reading *r,
		int n);

/* Record an event; @link may be NULL, @detail may be NULL. Long strings are cut. */
void store_event(struct store *st, uint64_t ts_ms, const char *kind, const char *link,
		 const char *detail);

/*
 * @fn(@arg) runs after every store_event(), in the raising thread, outside
 * the store's lock (the API wakes its long polls with it). NULL: none.
 */
void store_set_event_hook(struct store *st, void (*fn)(void *arg), void *arg);
/* The newest event id raised (0: none yet). */
uint64_t store_last_event_id(struct store *st);

int store_nlinks(const struct store *st);
uint64_t store_started_ms(const struct store *st);
uint32_t store_history_size(const struct store *st);
/* Index of the link named @name, or -1. */
int store_link_index(const struct store *st, const char *name);

/* The latest tick's samples into @out (room for store_nlinks()); returns how many (0 before the first tick). */
int store_latest(struct store *st, struct health_sample *out, uint64_t *ts_ms);

/*
 * Samples with ts_ms > @since_ms, oldest first; only link @link unless it is
 * -1. *@out is malloc'd (free it). Returns the count or -ENOMEM.
 */
ssize_t store_history(struct store *st, uint64_t since_ms, int link, struct health_sample **out);

/*
 * Events with ts_ms > @since_ms and id > @after_id, oldest first, into a
 * malloc'd *@out. *@oldest_id is the oldest id still held (0: none), so a
 * poller whose after_id + 1 is below it knows it missed events; *@last_id
 * the newest id raised. Returns the count or -ENOMEM.
 */
ssize_t store_events(struct store *st, uint64_t since_ms, uint64_t after_id,
		     struct store_event **out, uint64_t *oldest_id, uint64_t *last_id);

/* A copy for /metrics; NULL and errno on failure. Free with store_snapshot_free. */
struct store_snapshot *store_snapshot(struct store *st);
void store_snapshot_free(struct store_snapshot *snap);

#endif
