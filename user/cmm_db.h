/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller's database (state-dir/cmmd.db): SQLite in WAL mode with
 * synchronous=FULL, so a journal row is on disk when its commit returns.
 * Schema: docs/controller.md, "Database".
 */
#ifndef PRESAGE_CMM_DB_H
#define PRESAGE_CMM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

struct cmm_db {
	struct sqlite3 *db;
	char path[512];
};

struct cmm_journal_row {
	int64_t id;
	int64_t ts_ms;
	char hostname[254];
	char pop[64];
	char from_state[16], to_state[16];
	char action[16];
	char target[64];
	char reason[512];
	char status[8];		/* pending | done | failed */
	int64_t done_ts_ms;
	char detail[256];
};

struct cmm_sample_row {
	int64_t ts;
	const char *pop, *link;
	double rtt_p50, rtt_p90, rtt_p99, probe_rtt, probe_loss, retrans_in, retrans_out;
	double rx_bps, tx_bps, util, routes, announcements, withdrawals;
	int link_up;
};

/* Open (creating the schema); 0 or a negative errno, with a message in @err. */
int cmm_db__open(struct cmm_db *d, const char *path, char *err, size_t errlen);
void cmm_db__close(struct cmm_db *d);

int cmm_db__begin(struct cmm_db *d);
int cmm_db__commit(struct cmm_db *d);
void cmm_db__rollback(struct cmm_db *d);

/* Insert a journal row (status pending); its id into r->id. */
int cmm_db__journal_add(struct cmm_db *d, struct cmm_journal_row *r);
int cmm_db__journal_mark(struct cmm_db *d, int64_t id, const char *status, int64_t ts_ms,
			 const char *detail);
/* Every row of @hostname still pending becomes failed ("superseded ..."). */
int cmm_db__journal_supersede(struct cmm_db *d, const char *hostname);
/* Rows with id > @since (status filter when not NULL), oldest first, at most @max. Caller frees. */
int cmm_db__journal_list(struct cmm_db *d, int64_t since, const char *status, size_t max,
			 struct cmm_journal_row **rows, size_t *n);
int64_t cmm_db__journal_count(struct cmm_db *d, const char *status);

int cmm_db__host_save(struct cmm_db *d, const char *name, const char *state, int64_t since_ms,
		      const char *primary, const char *serving, const char *target,
		      int64_t last_journal_id);
/* 1 found, 0 not, negative on error. */
int cmm_db__host_load(struct cmm_db *d, const char *name, char *state, size_t statelen,
		      int64_t *since_ms, char *serving, char *target, size_t poplen,
		      int64_t *last_journal_id);

int cmm_db__sample_add(struct cmm_db *d, const struct cmm_sample_row *s);
int cmm_db__prediction_add(struct cmm_db *d, int64_t ts, const char *pop, const char *link,
			   uint32_t horizon_s, double p, const char *top_json);
int cmm_db__pop_risk_add(struct cmm_db *d, int64_t ts, const char *pop, double risk, bool failed,
			 bool unknown);
/* 1 and the id of the open failures row of @pop/@link, 0 if none, or negative. */
int cmm_db__failure_find_open(struct cmm_db *d, const char *pop, const char *link, int64_t *id);
/* Opens a failures row, or returns the one of @pop/@link still open (restart). */
int cmm_db__failure_open(struct cmm_db *d, const char *pop, const char *link, int64_t onset,
			 const char *reason, int64_t *id);
int cmm_db__failure_close(struct cmm_db *d, int64_t id, int64_t end_ts);

int cmm_db__job_save(struct cmm_db *d, const char *order_id, int64_t journal_id,
		     const char *hostname, const char *source, const char *dest, int64_t items,
		     int64_t bytes, const char *state, int64_t now_ms, double cost);
int cmm_db__job_set_needed(struct cmm_db *d, const char *hostname, int needed);

/* 1 s rows older than 1 h into 10 s means, 10 s rows older than 1 day into 60 s means, 60 s rows kept 30 days. */
int cmm_db__downsample(struct cmm_db *d, int64_t now);

/* Run @sql with one optional integer/text parameter and write every row as JSON objects into @f (keys = column names). */
struct sqlite3 *cmm_db__handle(struct cmm_db *d);

#endif
