// SPDX-License-Identifier: GPL-2.0-only
/* The controller's SQLite database; see cmm_db.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cmm_db.h"
#include "log.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS samples(ts INTEGER, pop TEXT, link TEXT, tier INTEGER,"
	" rtt_p50 REAL, rtt_p90 REAL, rtt_p99 REAL, probe_rtt REAL, probe_loss REAL,"
	" retrans_in REAL, retrans_out REAL, rx_bps REAL, tx_bps REAL, util REAL,"
	" routes REAL, announcements REAL, withdrawals REAL, link_up INTEGER,"
	" PRIMARY KEY(pop, link, tier, ts));"
	"CREATE TABLE IF NOT EXISTS predictions(ts INTEGER, pop TEXT, link TEXT, horizon_s INTEGER,"
	" p REAL, top TEXT, PRIMARY KEY(pop, link, horizon_s, ts));"
	"CREATE TABLE IF NOT EXISTS pop_risk(ts INTEGER, pop TEXT, risk REAL, failed INTEGER,"
	" unknown INTEGER, PRIMARY KEY(pop, ts));"
	"CREATE TABLE IF NOT EXISTS failures(id INTEGER PRIMARY KEY, pop TEXT, link TEXT,"
	" onset_ts INTEGER, end_ts INTEGER, reason TEXT);"
	"CREATE TABLE IF NOT EXISTS journal(id INTEGER PRIMARY KEY, ts_ms INTEGER, hostname TEXT,"
	" pop TEXT, from_state TEXT, to_state TEXT, action TEXT, target TEXT, reason TEXT,"
	" status TEXT, done_ts_ms INTEGER, detail TEXT);"
	"CREATE TABLE IF NOT EXISTS mirror_jobs(order_id TEXT PRIMARY KEY, journal_id INTEGER,"
	" hostname TEXT, source TEXT, dest TEXT, items INTEGER, bytes INTEGER, state TEXT,"
	" created_ms INTEGER, updated_ms INTEGER, cost REAL, needed INTEGER);"
	"CREATE TABLE IF NOT EXISTS hostnames(name TEXT PRIMARY KEY, state TEXT, since_ms INTEGER,"
	" primary_pop TEXT, serving_pop TEXT, target_pop TEXT, last_journal_id INTEGER);"
	/* pending rows are looked up every poll and on every /v1/status */
	"CREATE INDEX IF NOT EXISTS journal_status ON journal(status);";

static int db_err(struct cmm_db *d, const char *what)
{
	pr_err("database %s: %s: %s\n", d->path, what, sqlite3_errmsg(d->db));
	return -EIO;
}

static int exec(struct cmm_db *d, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		pr_err("database %s: %s: %s\n", d->path, sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int cmm_db__open(struct cmm_db *d, const char *path, char *err, size_t errlen)
{
	char *msg = NULL;

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				  SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 d->db ? sqlite3_errmsg(d->db) : "out of memory");
		sqlite3_close(d->db);
		d->db = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(d->db, 5000);
	if (sqlite3_exec(d->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 &msg) != SQLITE_OK ||
	    sqlite3_exec(d->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s (is it a cmmd database? move it away to start afresh)",
			 path, msg ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
		sqlite3_close(d->db);
		d->db = NULL;
		return -EIO;
	}
	return 0;
}

void cmm_db__close(struct cmm_db *d)
{
	if (d && d->db) {
		sqlite3_close(d->db);
		d->db = NULL;
	}
}

struct sqlite3 *cmm_db__handle(struct cmm_db *d)
{
	return d->db;
}

int cmm_db__begin(struct cmm_db *d)
{
	return exec(d, "BEGIN IMMEDIATE");
}

int cmm_db__commit(struct cmm_db *d)
{
	return exec(d, "COMMIT");
}

void cmm_db__rollback(struct cmm_db *d)
{
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prep(struct cmm_db *d, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(d->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(d, sql);
	return 0;
}

static int run(struct cmm_db *d, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(d, what);
	return 0;
}

static void bind_dbl(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

int cmm_db__journal_add(struct cmm_db *d, struct cmm_journal_row *r)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "INSERT INTO journal(ts_ms, hostname, pop, from_state, to_state, action, target, reason, status) VALUES(?,?,?,?,?,?,?,?,'pending')",
			&st)))
		return err;
	sqlite3_bind_int64(st, 1, r->ts_ms);
	sqlite3_bind_text(st, 2, r->hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->pop, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->from_state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->to_state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->reason, -1, SQLITE_STATIC);
	if ((err = run(d, st, "journal insert")))
		return err;
	r->id = sqlite3_last_insert_rowid(d->db);
	snprintf(r->status, sizeof(r->status), "pending");
	return 0;
}

int cmm_db__journal_mark(struct cmm_db *d, int64_t id, const char *status, int64_t ts_ms,
			 const char *detail)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "UPDATE journal SET status=?, done_ts_ms=?, detail=? WHERE id=?", &st)))
		return err;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	if (ts_ms)
		sqlite3_bind_int64(st, 2, ts_ms);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, detail ? detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	return run(d, st, "journal update");
}

int cmm_db__journal_supersede(struct cmm_db *d, const char *hostname)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "UPDATE journal SET status='failed', detail='superseded by a later decision; ' || coalesce(detail, '') WHERE hostname = ? AND status = 'pending'",
			&st)))
		return err;
	sqlite3_bind_text(st, 1, hostname, -1, SQLITE_STATIC);
	return run(d, st, "journal supersede");
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int cmm_db__journal_list(struct cmm_db *d, int64_t since, const char *status, size_t max,
			 struct cmm_journal_row **rows, size_t *n)
{
	sqlite3_stmt *st;
	struct cmm_journal_row *v = NULL;
	size_t cnt = 0;
	int rc, err;

	*rows = NULL;
	*n = 0;
	if ((err = prep(d, "SELECT id, ts_ms, hostname, pop, from_state, to_state, action, target, reason, status, done_ts_ms, detail FROM journal WHERE id > ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3",
			&st)))
		return err;
	sqlite3_bind_int64(st, 1, since);
	if (status)
		sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cmm_journal_row *r, *nv = realloc(v, (cnt + 1) * sizeof(*v));

		if (!nv) {
			free(v);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		v = nv;
		r = &v[cnt++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->ts_ms = sqlite3_column_int64(st, 1);
		col_text(st, 2, r->hostname, sizeof(r->hostname));
		col_text(st, 3, r->pop, sizeof(r->pop));
		col_text(st, 4, r->from_state, sizeof(r->from_state));
		col_text(st, 5, r->to_state, sizeof(r->to_state));
		col_text(st, 6, r->action, sizeof(r->action));
		col_text(st, 7, r->target, sizeof(r->target));
		col_text(st, 8, r->reason, sizeof(r->reason));
		col_text(st, 9, r->status, sizeof(r->status));
		r->done_ts_ms = sqlite3_column_int64(st, 10);
		col_text(st, 11, r->detail, sizeof(r->detail));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return db_err(d, "journal list");
	}
	*rows = v;
	*n = cnt;
	return 0;
}

int64_t cmm_db__journal_count(struct cmm_db *d, const char *status)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (prep(d, "SELECT count(*) FROM journal WHERE status = ?", &st))
		return -1;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int cmm_db__host_save(struct cmm_db *d, const char *name, const char *state, int64_t since_ms,
		      const char *primary, const char *serving, const char *target,
		      int64_t last_journal_id)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "INSERT OR REPLACE INTO hostnames VALUES(?,?,?,?,?,?,?)", &st)))
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since_ms);
	sqlite3_bind_text(st, 4, primary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, serving, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, target ? target : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, last_journal_id);
	return run(d, st, "hostname save");
}

int cmm_db__host_load(struct cmm_db *d, const char *name, char *state, size_t statelen,
		      int64_t *since_ms, char *serving, char *target, size_t poplen,
		      int64_t *last_journal_id)
{
	sqlite3_stmt *st;
	int rc, err;

	if ((err = prep(d, "SELECT state, since_ms, serving_pop, target_pop, last_journal_id FROM hostnames WHERE name = ?",
			&st)))
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_text(st, 0, state, statelen);
		*since_ms = sqlite3_column_int64(st, 1);
		col_text(st, 2, serving, poplen);
		col_text(st, 3, target, poplen);
		*last_journal_id = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_err(d, "hostname load");
}

int cmm_db__sample_add(struct cmm_db *d, const struct cmm_sample_row *s)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "INSERT OR REPLACE INTO samples VALUES(?,?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			&st)))
		return err;
	sqlite3_bind_int64(st, 1, s->ts);
	sqlite3_bind_text(st, 2, s->pop, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->link, -1, SQLITE_STATIC);
	bind_dbl(st, 4, s->rtt_p50);
	bind_dbl(st, 5, s->rtt_p90);
	bind_dbl(st, 6, s->rtt_p99);
	bind_dbl(st, 7, s->probe_rtt);
	bind_dbl(st, 8, s->probe_loss);
	bind_dbl(st, 9, s->retrans_in);
	bind_dbl(st, 10, s->retrans_out);
	bind_dbl(st, 11, s->rx_bps);
	bind_dbl(st, 12, s->tx_bps);
	bind_dbl(st, 13, s->util);
	bind_dbl(st, 14, s->routes);
	bind_dbl(st, 15, s->announcements);
	bind_dbl(st, 16, s->withdrawals);
	if (s->link_up < 0)
		sqlite3_bind_null(st, 17);
	else
		sqlite3_bind_int(st, 17, s->link_up);
	return run(d, st, "sample insert");
}

int cmm_db__prediction_add(struct cmm_db *d, int64_t ts, const char *pop, const char *link,
			   uint32_t horizon_s, double p, const char *top_json)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "INSERT OR REPLACE INTO predictions VALUES(?,?,?,?,?,?)", &st)))
		return err;
	sqlite3_bind_int64(st, 1, ts);
	sqlite3_bind_text(st, 2, pop, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, link, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)horizon_s);
	bind_dbl(st, 5, p);
	sqlite3_bind_text(st, 6, top_json, -1, SQLITE_STATIC);
	return run(d, st, "prediction insert");
}

int cmm_db__pop_risk_add(struct cmm_db *d, int64_t ts, const char *pop, double risk, bool failed,
			 bool unknown)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "INSERT OR REPLACE INTO pop_risk VALUES(?,?,?,?,?)", &st)))
		return err;
	sqlite3_bind_int64(st, 1, ts);
	sqlite3_bind_text(st, 2, pop, -1, SQLITE_STATIC);
	bind_dbl(st, 3, risk);
	sqlite3_bind_int(st, 4, failed);
	sqlite3_bind_int(st, 5, unknown);
	return run(d, st, "pop_risk insert");
}

int cmm_db__failure_find_open(struct cmm_db *d, const char *pop, const char *link, int64_t *id)
{
	sqlite3_stmt *st;
	int err, rc;

	if ((err = prep(d, "SELECT id FROM failures WHERE pop = ? AND link = ? AND end_ts IS NULL ORDER BY id DESC LIMIT 1",
			&st)))
		return err;
	sqlite3_bind_text(st, 1, pop, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, link, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int cmm_db__failure_open(struct cmm_db *d, const char *pop, const char *link, int64_t onset,
			 const char *reason, int64_t *id)
{
	sqlite3_stmt *st;
	int err;

	/* One open row per pop and link: after a restart the open one goes on. */
	if ((err = cmm_db__failure_find_open(d, pop, link, id)) != 0)
		return err < 0 ? err : 0;
	if ((err = prep(d, "INSERT INTO failures(pop, link, onset_ts, reason) VALUES(?,?,?,?)", &st)))
		return err;
	sqlite3_bind_text(st, 1, pop, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, link, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, onset);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	if ((err = run(d, st, "failure insert")))
		return err;
	*id = sqlite3_last_insert_rowid(d->db);
	return 0;
}

int cmm_db__failure_close(struct cmm_db *d, int64_t id, int64_t end_ts)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "UPDATE failures SET end_ts = ? WHERE id = ?", &st)))
		return err;
	sqlite3_bind_int64(st, 1, end_ts);
	sqlite3_bind_int64(st, 2, id);
	return run(d, st, "failure update");
}

int cmm_db__job_save(struct cmm_db *d, const char *order_id, int64_t journal_id,
		     const char *hostname, const char *source, const char *dest, int64_t items,
		     int64_t bytes, const char *state, int64_t now_ms, double cost)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "INSERT INTO mirror_jobs(order_id, journal_id, hostname, source, dest, items, bytes, state, created_ms, updated_ms, cost) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10) ON CONFLICT(order_id) DO UPDATE SET state=?8, updated_ms=?9, items=?6, bytes=?7",
			&st)))
		return err;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, journal_id);
	sqlite3_bind_text(st, 3, hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, dest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, items);
	sqlite3_bind_int64(st, 7, bytes);
	sqlite3_bind_text(st, 8, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, now_ms);
	bind_dbl(st, 10, cost);
	return run(d, st, "mirror job save");
}

int cmm_db__job_set_needed(struct cmm_db *d, const char *hostname, int needed)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prep(d, "UPDATE mirror_jobs SET needed = ? WHERE hostname = ? AND needed IS NULL",
			&st)))
		return err;
	sqlite3_bind_int(st, 1, needed);
	sqlite3_bind_text(st, 2, hostname, -1, SQLITE_STATIC);
	return run(d, st, "mirror job needed");
}

#define AVG_COLS                                                                                  \
	"avg(rtt_p50), avg(rtt_p90), avg(rtt_p99), avg(probe_rtt), avg(probe_loss),"             \
	" avg(retrans_in), avg(retrans_out), avg(rx_bps), avg(tx_bps), avg(util), avg(routes),"  \
	" sum(announcements), sum(withdrawals), min(link_up)"

int cmm_db__downsample(struct cmm_db *d, int64_t now)
{
	char sql[1024];
	int err;

	if ((err = cmm_db__begin(d)))
		return err;
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO samples SELECT (ts/10)*10, pop, link, 1, " AVG_COLS
		 " FROM samples WHERE tier = 0 AND ts < %lld GROUP BY pop, link, ts/10;"
		 "DELETE FROM samples WHERE tier = 0 AND ts < %lld;",
		 (long long)((now - 3600) / 10 * 10), (long long)((now - 3600) / 10 * 10));
	if ((err = exec(d, sql)))
		goto fail;
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO samples SELECT (ts/60)*60, pop, link, 2, " AVG_COLS
		 " FROM samples WHERE tier = 1 AND ts < %lld GROUP BY pop, link, ts/60;"
		 "DELETE FROM samples WHERE tier = 1 AND ts < %lld;"
		 "DELETE FROM samples WHERE tier = 2 AND ts < %lld;"
		 "DELETE FROM predictions WHERE ts < %lld; DELETE FROM pop_risk WHERE ts < %lld;",
		 (long long)((now - 86400) / 60 * 60), (long long)((now - 86400) / 60 * 60),
		 (long long)(now - 30 * 86400), (long long)(now - 86400),
		 (long long)(now - 86400));
	if ((err = exec(d, sql)))
		goto fail;
	return cmm_db__commit(d);
fail:
	cmm_db__rollback(d);
	return err;
}
