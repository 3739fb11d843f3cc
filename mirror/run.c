// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage-mirrord run: the agent's side of the command channel.
 *
 * Jobs. A submitted order becomes a job, journaled before it is answered
 * as <root>/.presage/jobs/<order-id> (written atomically: temp, fsync,
 * rename, fsync of the directory):
 *
 *   presage-job 1
 *   seq <n>                  submission order, to resume in the same order
 *   state queued|running|done|failed
 *   err <wire code>          0 unless failed
 *   msg <text>               why it failed
 *   progress <9 counters>    items total/done/failed/skipped/deleted,
 *                            bytes total/done, wire rx/tx (when finished)
 *   order
 *   <the signed order, byte for byte>
 *
 * One worker thread runs the pulls, one at a time, oldest first. A job the
 * journal shows queued or running when the agent starts is queued again:
 * the same order pulled again skips every item already installed (by
 * checksum), so it resumes where it stopped. A known order id is never
 * started again; its status is the answer.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "mirror/ctl.h"
#include "mirror/run.h"

#define JOB_MAGIC "presage-job 1\n"
#define ORDER_MAX (64u << 20)
#define HOT_MAX_N 100000

struct job {
	struct mirror_job_status st;
	uint64_t seq;
	char *order;
	size_t order_len;
	struct job *next;
};

struct runner {
	const struct mirror_run_cfg *cfg;
	struct mirror_agent_cfg acfg;	/* cfg->agent with our abort flag */
	char jobdir[4096];
	struct mirror_store *store;	/* reader: flags, manifests */
	pthread_mutex_t lock;		/* jobs, journal */
	pthread_cond_t cond;
	struct job *jobs;
	uint64_t seq;
	volatile sig_atomic_t *stop;	/* SIGTERM: also aborts the running pull */
	pthread_t worker;
	bool worker_started;

	pthread_mutex_t hot_lock;	/* follower, counters */
	struct mirror_follow *follow;
	struct mirror_logfmt *fmt;
	struct mirror_topk *tk;
	double last_t;
};

/* Order ids name journal files: letters, digits, '-' and '_' only. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static struct job *job_find(struct runner *r, const char *id)
{
	for (struct job *j = r->jobs; j; j = j->next)
		if (!strcmp(j->st.id, id))
			return j;
	return NULL;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->order);
	free(j);
}

/* Appends @j keeping the list in seq order. */
static void job_insert(struct runner *r, struct job *j)
{
	struct job **pp = &r->jobs;

	while (*pp && (*pp)->seq <= j->seq)
		pp = &(*pp)->next;
	j->next = *pp;
	*pp = j;
	if (j->seq > r->seq)
		r->seq = j->seq;
}

/* Caller holds r->lock. */
static int job_journal(struct runner *r, const struct job *j)
{
	const struct mirror_progress *p = &j->st.progress;
	char path[4200], *buf, msg[256];
	size_t cap = j->order_len + 1024, len;
	int err;

	/* One line: no newline may end the message early. */
	snprintf(msg, sizeof(msg), "%s", j->st.msg);
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	len = (size_t)snprintf(buf, cap,
			       JOB_MAGIC "seq %" PRIu64 "\nstate %s\nerr %u\nmsg %s\n"
					 "progress %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
					 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
					 "\norder\n",
			       j->seq, mirror_job_state_name(j->st.state),
			       j->st.err ? mirror_err_to_wire(j->st.err) : 0, msg,
			       p->items_total, p->items_done, p->items_failed, p->items_skipped,
			       p->items_deleted, p->bytes_total, p->bytes_done, p->wire_rx, p->wire_tx);
	memcpy(buf + len, j->order, j->order_len);
	len += j->order_len;
	snprintf(path, sizeof(path), "%s/%s", r->jobdir, j->st.id);
	err = write_file_atomic(path, buf, len, 0600);
	free(buf);
	if (err)
		pr_err("mirror: cannot journal job %s in %s: %s\n", j->st.id, r->jobdir,
		       strerror(-err));
	return err;
}

/* Parses one journal file; NULL (with a warning) if it is not one. */
static struct job *job_load(const char *path, const char *id)
{
	struct job *j = NULL;
	char *buf = NULL, *line, *end;
	size_t len;
	int err;

	err = read_file_all(path, ORDER_MAX + 4096, &buf, &len);
	if (err) {
		pr_warn("mirror: cannot read job %s: %s\n", path, strerror(-err));
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j || len < strlen(JOB_MAGIC) || memcmp(buf, JOB_MAGIC, strlen(JOB_MAGIC)))
		goto bad;
	memcpy(j->st.id, id, strnlen(id, sizeof(j->st.id) - 1));	/* id_ok: <= 64 */
	line = buf + strlen(JOB_MAGIC);
	for (;;) {
		struct mirror_progress *p = &j->st.progress;
		char state[16];
		unsigned code;

		end = memchr(line, '\n', len - (size_t)(line - buf));
		if (!end)
			goto bad;
		*end = '\0';
		if (!strcmp(line, "order"))
			break;
		if (sscanf(line, "seq %" SCNu64, &j->seq) == 1) {
		} else if (sscanf(line, "state %15s", state) == 1) {
			int s = mirror_job_state_parse(state);

			if (s <= MIRROR_JOB_UNKNOWN)
				goto bad;
			j->st.state = (enum mirror_job_state)s;
		} else if (sscanf(line, "err %u", &code) == 1) {
			j->st.err = code ? mirror_err_from_wire((uint16_t)code) : 0;
		} else if (!strncmp(line, "msg ", 4)) {
			snprintf(j->st.msg, sizeof(j->st.msg), "%s", line + 4);
		} else if (sscanf(line,
				  "progress %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
				  " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
				  &p->items_total, &p->items_done, &p->items_failed,
				  &p->items_skipped, &p->items_deleted, &p->bytes_total,
				  &p->bytes_done, &p->wire_rx, &p->wire_tx) == 9) {
		} else {
			goto bad;
		}
		line = end + 1;
	}
	if (!j->st.state)
		goto bad;
	j->order_len = len - (size_t)(end + 1 - buf);
	j->order = malloc(j->order_len + 1);
	if (!j->order)
		goto bad;
	memcpy(j->order, end + 1, j->order_len);
	j->order[j->order_len] = '\0';
	j->st.progress.finished = j->st.state == MIRROR_JOB_DONE;
	free(buf);
	return j;
bad:
	pr_warn("mirror: %s is not a job journal: ignored\n", path);
	job_free(j);
	free(buf);
	return NULL;
}

static int journal_load(struct runner *r)
{
	DIR *d = opendir(r->jobdir);
	struct dirent *de;
	size_t resumed = 0, known = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[4400];
		struct job *j;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->jobdir, de->d_name);
		if (!id_ok(de->d_name)) {
			/* A temporary file of an interrupted journal write. */
			if (strstr(de->d_name, ".tmp."))
				unlink(path);
			continue;
		}
		j = job_load(path, de->d_name);
		if (!j)
			continue;
		if (j->st.state == MIRROR_JOB_RUNNING || j->st.state == MIRROR_JOB_QUEUED) {
			j->st.state = MIRROR_JOB_QUEUED;
			resumed++;
		}
		known++;
		job_insert(r, j);
	}
	closedir(d);
	if (known)
		pr_info("mirror: journal: %zu jobs, %zu to resume\n", known, resumed);
	return 0;
}

/* ---- worker --------------------------------------------------------------------- */

struct progress_ctx {
	struct runner *r;
	struct job *j;
};

static void on_progress(void *arg, const struct mirror_progress *p)
{
	struct progress_ctx *pc = arg;

	pthread_mutex_lock(&pc->r->lock);
	pc->j->st.progress = *p;
	pthread_mutex_unlock(&pc->r->lock);
}

static void *worker_main(void *arg)
{
	struct runner *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!*r->stop) {
		struct mirror_progress res = { 0 };
		struct progress_ctx pc = { .r = r };
		struct job *j;
		int err;

		for (j = r->jobs; j && j->st.state != MIRROR_JOB_QUEUED; j = j->next)
			;
		if (!j) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 500000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			continue;
		}
		j->st.state = MIRROR_JOB_RUNNING;
		memset(&j->st.progress, 0, sizeof(j->st.progress));
		job_journal(r, j);
		pc.j = j;
		pthread_mutex_unlock(&r->lock);

		pr_info("mirror: job %s: pulling\n", j->st.id);
		err = mirror_pull(&r->acfg, j->order, j->order_len, on_progress, &pc, &res);

		pthread_mutex_lock(&r->lock);
		j->st.progress = res;
		if (err == -ECANCELED && *r->stop) {
			/* Stays "running" in the journal: resumed on the next start. */
			pr_info("mirror: job %s: stopped, resumes on the next start\n", j->st.id);
			break;
		}
		if (err) {
			j->st.state = MIRROR_JOB_FAILED;
			j->st.err = err;
			snprintf(j->st.msg, sizeof(j->st.msg), "pull: %s (%" PRIu64 " of %" PRIu64
				 " items failed; see the agent's log)",
				 mirror_strerror(err), res.items_failed, res.items_total);
			pr_warn("mirror: job %s failed: %s\n", j->st.id, mirror_strerror(err));
		} else {
			j->st.state = MIRROR_JOB_DONE;
			pr_info("mirror: job %s done: %" PRIu64 " items moved, %" PRIu64
				" already current\n",
				j->st.id, res.items_done, res.items_skipped);
		}
		job_journal(r, j);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- commands --------------------------------------------------------------------- */

static int reply_job(struct mirror_reply *rep, const struct mirror_job_status *st)
{
	uint8_t buf[512];
	size_t n;
	int err;

	err = mirror_wire_put_job(buf, sizeof(buf), st, &n);
	if (!err)
		err = mirror_reply__frame(rep, MIRROR_F_JOB, buf, n);
	return err;
}

static int cmd_submit(struct runner *r, const uint8_t *p, size_t len, struct mirror_reply *rep,
		      char *msg, size_t msglen)
{
	const struct mirror_agent_cfg *ac = &r->acfg;
	struct mirror_order o;
	struct job *j;
	int err;

	/* Signature first, expiry later: a known id is answered even after
	 * its order expired (the controller asking again), a new one not. */
	err = mirror_order__verify(&o, (const char *)p, len, ac->order_pub, 0);
	if (err) {
		snprintf(msg, msglen, "order refused: %s", mirror_strerror(err));
		return err;
	}
	if (strcmp(o.destination, ac->pop)) {
		snprintf(msg, msglen, "order is for destination '%s', this is '%s'", o.destination,
			 ac->pop);
		err = -MIRROR_EWRONGPOP;
		goto out;
	}
	if (!id_ok(o.id)) {
		snprintf(msg, msglen, "order id '%s' is not 1 to 64 of [A-Za-z0-9_-]", o.id);
		err = -MIRROR_EORDER;
		goto out;
	}
	pthread_mutex_lock(&r->lock);
	j = job_find(r, o.id);
	if (j) {
		pr_info("mirror: order %s submitted again: job is %s, not started again\n", o.id,
			mirror_job_state_name(j->st.state));
		err = reply_job(rep, &j->st);
		goto unlock;
	}
	if (o.expires <= (int64_t)time(NULL)) {
		snprintf(msg, msglen, "order %s expired", o.id);
		err = -MIRROR_EEXPIRED;
		goto unlock;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		err = -ENOMEM;
		goto unlock;
	}
	snprintf(j->st.id, sizeof(j->st.id), "%s", o.id);
	j->st.state = MIRROR_JOB_QUEUED;
	j->seq = r->seq + 1;
	j->order = o.text;
	j->order_len = o.text_len;
	o.text = NULL;
	/* Journaled before it is answered: an accepted job survives a crash. */
	err = job_journal(r, j);
	if (err) {
		snprintf(msg, msglen, "cannot journal the job: %s", strerror(-err));
		job_free(j);
		goto unlock;
	}
	job_insert(r, j);
	pr_info("mirror: order %s from %s accepted: job queued\n", j->st.id, o.source);
	pthread_cond_signal(&r->cond);
	err = reply_job(rep, &j->st);
unlock:
	pthread_mutex_unlock(&r->lock);
out:
	mirror_order__free(&o);
	return err;
}

static int cmd_status(struct runner *r, const uint8_t *p, size_t len, struct mirror_reply *rep,
		      char *msg, size_t msglen)
{
	struct mirror_job_status st = { 0 };
	struct job *j;

	if (len == 0 || len > 64 || memchr(p, 0, len)) {
		snprintf(msg, msglen, "bad order id");
		return -MIRROR_EFRAME;
	}
	memcpy(st.id, p, len);
	pthread_mutex_lock(&r->lock);
	j = job_find(r, st.id);
	if (j)
		st = j->st;
	pthread_mutex_unlock(&r->lock);
	return reply_job(rep, &st);
}

static int cmd_primary(struct runner *r, const uint8_t *p, size_t len, struct mirror_reply *rep,
		       char *msg, size_t msglen)
{
	struct mirror_flagcmd fc;
	enum mirror_primary st;
	uint8_t b;
	int err;

	err = mirror_flagcmd__verify(&fc, (const char *)p, len, r->acfg.order_pub, time(NULL));
	if (err) {
		snprintf(msg, msglen, "flag command refused: %s", mirror_strerror(err));
		return err;
	}
	if (strcmp(fc.pop, r->acfg.pop)) {
		snprintf(msg, msglen, "flag command is for POP '%s', this is '%s'", fc.pop,
			 r->acfg.pop);
		return -MIRROR_EWRONGPOP;
	}
	err = mirror_store__set_primary(r->store, fc.host, fc.primary);
	if (!err)
		err = mirror_store__primary(r->store, fc.host, &st);
	if (err) {
		snprintf(msg, msglen, "cannot set the flag of %s: %s", fc.host, mirror_strerror(err));
		return err;
	}
	pr_info("mirror: host %s set %s by the controller\n", fc.host,
		fc.primary ? "primary (resync pending)" : "not primary");
	b = (uint8_t)st;
	return mirror_reply__frame(rep, MIRROR_F_PRIMARY_STATE, &b, 1);
}

static void hot_line(void *arg, const char *line, size_t len)
{
	struct runner *r = arg;
	char key[MIRROR_PATH_MAX + 1];
	double t;

	if (mirror_logfmt__parse(r->fmt, line, len, key, sizeof(key), &t))
		return;
	if (t <= 0)
		t = (double)time(NULL);
	if (t > r->last_t)
		r->last_t = t;
	mirror_topk__add(r->tk, key, r->last_t);
}

static int snapshot(struct runner *r, struct mirror_manifest *m)
{
	int err = mirror_store__refresh(r->store, NULL);

	return err ? err : mirror_store__snapshot(r->store, m);
}

static int cmd_hot(struct runner *r, const uint8_t *p, size_t len, struct mirror_reply *rep,
		   char *msg, size_t msglen)
{
	struct mirror_manifest m = { 0 };
	struct mirror_hot *h = NULL;
	char host[MIRROR_HOST_MAX + 1];
	uint8_t buf[65536 + MIRROR_PATH_MAX + 64];
	size_t hl, got = 0, sent = 0, blen = 0;
	uint32_t n;
	int err;

	err = mirror_wire_get_hotreq(p, len, &n, host, sizeof(host));
	if (err) {
		snprintf(msg, msglen, "malformed HOT request");
		return err;
	}
	hl = strlen(host);
	if (n > HOT_MAX_N)
		n = HOT_MAX_N;
	if (r->tk) {
		size_t k = r->cfg->hot_counters ? r->cfg->hot_counters : 4096;
		double now = (double)time(NULL);

		h = calloc(k, sizeof(*h));
		if (!h)
			return -ENOMEM;
		pthread_mutex_lock(&r->hot_lock);
		err = mirror_follow__poll(r->follow, hot_line, r);
		if (err)
			pr_warn("mirror: access log %s: %s\n", r->cfg->access_log,
				mirror_strerror(err));
		/* Rates now, so a quiet item cools down between log lines. */
		got = mirror_topk__top(r->tk, r->last_t > now ? r->last_t : now, h, k);
		/* Keys point into the counters: copy what is sent under the lock. */
		err = snapshot(r, &m);
		for (size_t i = 0; !err && i < got && sent < n; i++) {
			struct mirror_hot_item it = { 0 };
			const struct mirror_entry *e;
			size_t il;

			if (hl && (strncmp(h[i].key, host, hl) || h[i].key[hl] != '/'))
				continue;
			e = mirror_manifest__find(&m, h[i].key);
			if (!e)
				continue;	/* not in the store: nothing to mirror */
			snprintf(it.path, sizeof(it.path), "%s", h[i].key);
			it.size = e->size;
			it.rate = h[i].rate;
			memcpy(it.sha, e->sha, 32);
			err = mirror_wire_put_hot(buf + blen, sizeof(buf) - blen, &it, &il);
			if (err)
				break;
			blen += il;
			sent++;
			if (blen >= 65536) {
				err = mirror_reply__frame(rep, MIRROR_F_HOT_ITEMS, buf, blen);
				blen = 0;
			}
		}
		pthread_mutex_unlock(&r->hot_lock);
	}
	if (!err && blen)
		err = mirror_reply__frame(rep, MIRROR_F_HOT_ITEMS, buf, blen);
	if (!err)
		err = mirror_reply__frame(rep, MIRROR_F_HOT_END, NULL, 0);
	if (err)
		snprintf(msg, msglen, "hot set: %s", mirror_strerror(err));
	mirror_manifest__clear(&m);
	free(h);
	return err;
}

static int cmd_hostman(struct runner *r, const uint8_t *p, size_t len, struct mirror_reply *rep,
		       char *msg, size_t msglen)
{
	struct mirror_manifest m = { 0 };
	char host[MIRROR_HOST_MAX + 1];
	uint8_t *buf;
	size_t blen = 0;
	int err;

	if (len == 0 || len > MIRROR_HOST_MAX || memchr(p, 0, len)) {
		snprintf(msg, msglen, "bad host name");
		return -MIRROR_EFRAME;
	}
	memcpy(host, p, len);
	host[len] = '\0';
	if (mirror_host_check(host)) {
		snprintf(msg, msglen, "bad host name '%s'", host);
		return -MIRROR_EPATH;
	}
	buf = malloc(65536 + MIRROR_PATH_MAX + 64);
	if (!buf)
		return -ENOMEM;
	err = snapshot(r, &m);
	for (size_t i = 0; !err && i < m.n; i++) {
		size_t n;

		if (strncmp(m.v[i].path, host, len) || m.v[i].path[len] != '/')
			continue;
		err = mirror_wire_put_entry(buf + blen, MIRROR_PATH_MAX + 64, &m.v[i], &n);
		if (err)
			break;
		blen += n;
		if (blen >= 65536) {
			err = mirror_reply__frame(rep, MIRROR_F_MANIFEST, buf, blen);
			blen = 0;
		}
	}
	if (!err && blen)
		err = mirror_reply__frame(rep, MIRROR_F_MANIFEST, buf, blen);
	if (!err)
		err = mirror_reply__frame(rep, MIRROR_F_MANIFEST_END, NULL, 0);
	if (err)
		snprintf(msg, msglen, "manifest of %s: %s", host, mirror_strerror(err));
	free(buf);
	mirror_manifest__clear(&m);
	return err;
}

static int on_command(void *arg, uint8_t type, const uint8_t *p, size_t len,
		      struct mirror_reply *rep, char *msg, size_t msglen)
{
	struct runner *r = arg;

	switch (type) {
	case MIRROR_F_SUBMIT:
		return cmd_submit(r, p, len, rep, msg, msglen);
	case MIRROR_F_STATUS:
		return cmd_status(r, p, len, rep, msg, msglen);
	case MIRROR_F_PRIMARY:
		return cmd_primary(r, p, len, rep, msg, msglen);
	case MIRROR_F_HOT:
		return cmd_hot(r, p, len, rep, msg, msglen);
	case MIRROR_F_HOSTMAN:
		return cmd_hostman(r, p, len, rep, msg, msglen);
	default:
		snprintf(msg, msglen, "frame type %u is not a command", type);
		return -MIRROR_EPROTO;
	}
}

/* ---- life cycle ---------------------------------------------------------------------- */

int mirror_run(const struct mirror_run_cfg *cfg, volatile sig_atomic_t *stop)
{
	struct runner *r;
	struct mirror_cmd_hook hook;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = cfg;
	r->acfg = cfg->agent;
	r->stop = stop;
	r->acfg.abort = stop;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_mutex_init(&r->hot_lock, NULL);
	hook = (struct mirror_cmd_hook){
		.controller_cn = cfg->controller_cn ? cfg->controller_cn : "controller",
		.fn = on_command,
		.arg = r,
	};
	if (!cfg->agent.region || !cfg->agent.policy) {
		pr_err("mirror: run needs --region and --policy (residency of what it receives)\n");
		err = -MIRROR_ECONFIG;
		goto out;
	}
	r->store = mirror_store__open(cfg->agent.root, false, &err);
	if (!r->store) {
		pr_err("mirror: cannot open store %s: %s\n", cfg->agent.root, mirror_strerror(err));
		goto out;
	}
	snprintf(r->jobdir, sizeof(r->jobdir), "%s/.presage/jobs", cfg->agent.root);
	err = mkdir_p(r->jobdir, 0700);
	if (err) {
		pr_err("mirror: cannot create %s: %s\n", r->jobdir, strerror(-err));
		goto out;
	}
	err = journal_load(r);
	if (err) {
		pr_err("mirror: cannot read the job journal %s: %s\n", r->jobdir, strerror(-err));
		goto out;
	}
	if (cfg->access_log) {
		const char *spec = cfg->log_format ? cfg->log_format : "host";
		double hl = cfg->half_life_s ? cfg->half_life_s : 300;

		r->fmt = mirror_logfmt__new(spec, NULL, &err);
		if (!r->fmt) {
			pr_err("mirror: bad --log-format '%s' (it needs $request or $request_uri, and $host)\n",
			       spec);
			err = -MIRROR_ECONFIG;
			goto out;
		}
		r->tk = mirror_topk__new(cfg->hot_counters ? cfg->hot_counters : 4096, hl);
		r->follow = mirror_follow__new(cfg->access_log, true);
		if (!r->tk || !r->follow) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (pthread_create(&r->worker, NULL, worker_main, r)) {
		err = -EAGAIN;
		goto out;
	}
	r->worker_started = true;
	pr_info("mirror: %s taking commands from '%s'\n", cfg->agent.pop, hook.controller_cn);
	err = mirror_serve_cmd(&r->acfg, stop, &hook);
out:
	/* A start-up failure stops the worker as SIGTERM does. */
	*stop = 1;
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->worker_started)
		pthread_join(r->worker, NULL);
	/*
	 * The runner, its jobs and counters are left to the process's exit:
	 * mirror_serve_cmd waits only so long for sessions in flight, and one
	 * still running may yet call on_command with them.
	 */
	return err;
}
