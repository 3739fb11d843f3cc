// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's state machine (user/cmm_engine.c) driven by synthetic
 * per-POP inputs and a fake clock, its decisions journaled into a real
 * SQLite database on a temporary file (user/cmm_journal.c), as cmmd does.
 * The "actions" here only count how often each journal row was applied.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "user/cmm_config.h"
#include "user/cmm_db.h"
#include "user/cmm_engine.h"
#include "user/cmm_journal.h"
#include "harness.h"

static const char conf_text[] =
	"state-dir /tmp/x\n"
	"pfa {\n enter 0.6\n exit 0.3\n confirm 3s\n horizon 10m\n}\n"
	"policy {\n dwell 10s\n healthy-dwell 30s\n stage-timeout 120s\n}\n"
	"dns {\n server 127.0.0.1#53\n zone cdn.test\n key-file /dev/null\n}\n"
	"pop A {\n agent 127.0.0.1:1\n region eu\n address 192.0.2.1\n}\n"
	"pop B {\n agent 127.0.0.1:2\n region eu\n address 192.0.2.2\n}\n"
	"pop C {\n agent 127.0.0.1:3\n region eu\n address 192.0.2.3\n}\n"
	"pop D {\n agent 127.0.0.1:4\n region us\n address 192.0.2.4\n}\n"
	"link A B cost 0.05\n"
	"link A C cost 0.01\n"
	"link A D cost 0.001\n"
	"hostname www.cdn.test {\n primary A\n regions eu\n}\n";

static struct cmm_config cfg;
static struct cmm_engine eng;
static int64_t now;
static char dbpath[64];
static struct cmm_db db;
/* how many times each journal id was applied */
static int applied[1000];

static void setup(void)
{
	char buf[sizeof(conf_text)], err[256];

	memcpy(buf, conf_text, sizeof(conf_text));
	if (cmm_config_parse(&cfg, buf, "engine.conf", err, sizeof(err))) {
		printf("config: %s\n", err);
		exit(1);
	}
	now = 1700000000000LL;
	cmm_engine__init(&eng, &cfg, now);
}

static void pop(int i, bool known, bool failed, double risk)
{
	struct cmm_pop_input in = { .known = known, .failed = failed, .risk = risk };

	snprintf(in.why, sizeof(in.why), "test risk %.2f", risk);
	cmm_engine__set_pop(&eng, i, &in);
}

/* All other POPs healthy and quiet. */
static void others_ok(void)
{
	pop(1, true, false, 0.05);
	pop(2, true, false, 0.02);
	pop(3, true, false, 0.0);
}

/* Advance by @ms in 1 s steps; return the last decision (if any) in *d and how many. */
static size_t run(int64_t ms, struct cmm_decision *last)
{
	struct cmm_decision d[4];
	size_t total = 0;

	for (int64_t t = 0; t < ms; t += 1000) {
		size_t n;

		now += 1000;
		n = cmm_engine__step(&eng, now, d, 4);
		if (n && last)
			*last = d[n - 1];
		total += n;
	}
	return total;
}

static enum cmm_state st(void)
{
	return eng.hosts[0].state;
}

static void test_enter_needs_confirm_and_dwell(void)
{
	struct cmm_decision d;

	setup();
	others_ok();
	pop(0, true, false, 0.1);
	ASSERT_EQ(run(20000, NULL), 0, "quiet A: no decision");
	pop(0, true, false, 0.7);
	ASSERT_EQ(run(2000, NULL), 0, "risk above enter for 2 s < confirm 3 s: nothing");
	ASSERT_EQ(st(), CMM_NORMAL, "still NORMAL");
	pop(0, true, false, 0.5);
	ASSERT_EQ(run(1000, NULL), 0, "dip below enter resets confirm");
	pop(0, true, false, 0.7);
	ASSERT_EQ(run(2000, NULL), 0, "2 s again: not yet");
	ASSERT_EQ(run(2000, &d), 1, "confirm held: one decision");
	ASSERT_EQ(st(), CMM_AT_RISK, "AT_RISK");
	ASSERT_EQ(d.nacts, 1, "one action");
	ASSERT_EQ(d.act[0], CMM_ACT_MIRROR_ORDER, "mirror order");
	/* C: lowest risk among eu POPs linked to A (D is us: residency) */
	ASSERT_STREQ(cfg.pops[d.target].name, "C", "target by risk then cost, residency respected");
	ASSERT_TRUE(strstr(d.reason, "risk 0.70 >= enter 0.60") != NULL, "reason has the numbers");

	/* dwell: fresh from the start, a state change needs 10 s in the state */
	setup();
	others_ok();
	pop(0, true, false, 0.9);
	ASSERT_EQ(run(5000, NULL), 0, "confirm passed but dwell (10 s since start) not");
	ASSERT_EQ(run(5000, NULL), 1, "after dwell: AT_RISK");
}

static void test_hysteresis_and_dwell_back(void)
{
	struct cmm_decision d;

	setup();
	others_ok();
	pop(0, true, false, 0.9);
	run(15000, NULL);
	ASSERT_EQ(st(), CMM_AT_RISK, "AT_RISK");
	pop(0, true, false, 0.45);
	ASSERT_EQ(run(60000, NULL), 0, "between exit and enter for 60 s: stays");
	ASSERT_EQ(st(), CMM_AT_RISK, "hysteresis");
	pop(0, true, false, 0.2);
	ASSERT_EQ(run(9000, NULL), 0, "below exit for 9 s < dwell: stays");
	ASSERT_EQ(run(2000, &d), 1, "below exit for dwell: back");
	ASSERT_EQ(st(), CMM_NORMAL, "NORMAL");
	ASSERT_EQ(d.act[0], CMM_ACT_NONE, "from AT_RISK nothing to undo in DNS");
	ASSERT_TRUE(strstr(d.reason, "false positive") != NULL, "counted as false positive");
}

static void test_staged_then_back_restores_dns(void)
{
	struct cmm_decision d;

	setup();
	others_ok();
	pop(0, true, false, 0.9);
	run(15000, NULL);
	ASSERT_EQ(run(5000, NULL), 0, "job not done: stays AT_RISK");
	cmm_engine__job_done(&eng, 0);
	ASSERT_EQ(run(1000, &d), 1, "job done: STAGED");
	ASSERT_EQ(st(), CMM_STAGED, "STAGED");
	ASSERT_EQ(d.act[0], CMM_ACT_DNS_STEER, "DNS steered to B");
	ASSERT_STREQ(cfg.pops[eng.hosts[0].serving].name, "C", "serving B");
	pop(0, true, false, 0.1);
	run(12000, &d);
	ASSERT_EQ(st(), CMM_NORMAL, "back to NORMAL");
	ASSERT_EQ(d.act[0], CMM_ACT_DNS_RESTORE, "DNS restored");
	ASSERT_STREQ(cfg.pops[eng.hosts[0].serving].name, "A", "serving A");
}

static void test_unknown_never_moves(void)
{
	setup();
	others_ok();
	pop(0, false, true, 0.99);
	ASSERT_EQ(run(60000, NULL), 0, "unknown A, even 'failed' with risk 0.99: nothing");
	ASSERT_EQ(st(), CMM_NORMAL, "NORMAL");
	/* failed over, then A's data goes unknown: no failback from unknown data */
	pop(0, true, true, 0.99);
	ASSERT_EQ(run(1000, NULL), 1, "known failure: fails over");
	pop(0, false, false, 0.0);
	ASSERT_EQ(run(120000, NULL), 0, "unknown A for 2 min: no failback");
	ASSERT_EQ(st(), CMM_FAILED_OVER, "still FAILED_OVER");
	/* AT_RISK with unknown data: confirm timers restart */
	setup();
	others_ok();
	pop(0, true, false, 0.1);
	run(9000, NULL);
	pop(0, true, false, 0.9);
	run(2000, NULL);
	pop(0, false, false, 0.9);
	run(2000, NULL);
	pop(0, true, false, 0.9);
	ASSERT_EQ(run(2000, NULL), 0, "confirm restarts after unknown");
	ASSERT_EQ(run(2000, NULL), 1, "then AT_RISK");
}

static void test_failure_fails_over_at_once(void)
{
	struct cmm_decision d;

	/* from NORMAL: the best healthy POP, at once (no dwell, no confirm) */
	setup();
	others_ok();
	pop(0, true, true, 0.2);
	ASSERT_EQ(run(1000, &d), 1, "failure: one step");
	ASSERT_EQ(st(), CMM_FAILED_OVER, "FAILED_OVER");
	ASSERT_STREQ(cfg.pops[d.target].name, "C", "best healthy (risk, then cost)");
	ASSERT_EQ(d.act[0], CMM_ACT_DNS_STEER, "DNS first");
	ASSERT_EQ(d.act[1], CMM_ACT_PRIMARY_OFF, "then A not primary");
	/* from STAGED: to the staged B even if another is healthier now */
	setup();
	others_ok();
	pop(0, true, false, 0.9);
	run(15000, NULL);
	cmm_engine__job_done(&eng, 0);
	run(1000, NULL);
	ASSERT_EQ(st(), CMM_STAGED, "STAGED at C");
	pop(1, true, false, 0.0);
	pop(2, true, false, 0.01);
	pop(0, true, true, 0.9);
	ASSERT_EQ(run(1000, &d), 1, "failure");
	ASSERT_STREQ(cfg.pops[d.target].name, "C", "to the staged POP");
	/* a failed candidate is never chosen */
	setup();
	pop(1, true, false, 0.5);
	pop(2, true, true, 0.0);
	pop(3, true, false, 0.0);
	pop(0, true, true, 0.2);
	run(1000, &d);
	ASSERT_STREQ(cfg.pops[d.target].name, "B", "C failed, D not resident: B");
}

static void test_failback_after_healthy_dwell_and_resync(void)
{
	struct cmm_decision d;

	setup();
	others_ok();
	pop(0, true, true, 0.9);
	run(1000, NULL);
	pop(0, true, false, 0.1);
	ASSERT_EQ(run(29000, NULL), 0, "healthy 29 s < healthy-dwell 30 s");
	ASSERT_EQ(run(2000, &d), 1, "healthy-dwell passed");
	ASSERT_EQ(st(), CMM_RECOVERING, "RECOVERING");
	ASSERT_EQ(d.act[0], CMM_ACT_PRIMARY_ON, "A primary again (resync pending)");
	ASSERT_EQ(d.act[1], CMM_ACT_RESYNC_ORDER, "re-sync ordered");
	ASSERT_STREQ(cfg.pops[eng.hosts[0].serving].name, "C", "still serving B while re-syncing");
	ASSERT_EQ(run(30000, NULL), 0, "no failback before the re-sync is done");
	ASSERT_EQ(run(95000, &d), 1, "re-sync not done after stage-timeout: ordered again");
	ASSERT_EQ(d.act[0] == CMM_ACT_RESYNC_ORDER && d.to == CMM_RECOVERING, 1, "resync-order, stays RECOVERING");
	cmm_engine__job_done(&eng, 0);
	ASSERT_EQ(run(1000, &d), 1, "re-sync done");
	ASSERT_EQ(st(), CMM_NORMAL, "NORMAL");
	ASSERT_EQ(d.act[0], CMM_ACT_DNS_RESTORE, "DNS back to A");
	/* risk between exit and enter does not count as healthy */
	setup();
	others_ok();
	pop(0, true, true, 0.9);
	run(1000, NULL);
	pop(0, true, false, 0.5);
	ASSERT_EQ(run(60000, NULL), 0, "risk 0.5 > exit: not healthy, no failback");
	/* RECOVERING and A fails again */
	pop(0, true, false, 0.1);
	run(31000, NULL);
	ASSERT_EQ(st(), CMM_RECOVERING, "RECOVERING");
	pop(0, true, true, 0.1);
	ASSERT_EQ(run(1000, &d), 1, "fails again");
	ASSERT_EQ(st(), CMM_FAILED_OVER, "FAILED_OVER again");
	ASSERT_STREQ(cfg.pops[d.target].name, "C", "stays on the POP that serves");
	/* still failed with a low risk (a cut acted on before the model saw it): not healthy */
	setup();
	others_ok();
	pop(0, true, true, 0.1);
	run(1000, NULL);
	ASSERT_EQ(st(), CMM_FAILED_OVER, "failed at risk 0.1: FAILED_OVER");
	ASSERT_EQ(run(60000, NULL), 0, "still failed: no failback whatever the risk");
	ASSERT_EQ(st(), CMM_FAILED_OVER, "still FAILED_OVER");
	pop(0, true, false, 0.1);
	ASSERT_EQ(run(29000, NULL), 0, "healthy-dwell counts from the end of the failure");
	ASSERT_EQ(run(2000, &d), 1, "then the failback starts");
	ASSERT_EQ(st(), CMM_RECOVERING, "RECOVERING");
}

static void test_stage_timeout_retries_once(void)
{
	struct cmm_decision d;

	setup();
	others_ok();
	pop(0, true, false, 0.9);
	run(15000, NULL);
	ASSERT_EQ(run(110000, NULL), 0, "within stage-timeout");
	ASSERT_EQ(run(10000, &d), 1, "timeout: retry");
	ASSERT_EQ(d.act[0], CMM_ACT_MIRROR_ORDER, "order again");
	ASSERT_EQ(d.from == CMM_AT_RISK && d.to == CMM_AT_RISK, 1, "stays AT_RISK");
	ASSERT_EQ(run(300000, NULL), 0, "given up: no more orders, stays AT_RISK");
	ASSERT_EQ(st(), CMM_AT_RISK, "AT_RISK");
}

static void test_target_fails(void)
{
	struct cmm_decision d;

	/* STAGED at C, then C fails while A still works: back to A */
	setup();
	others_ok();
	pop(0, true, false, 0.9);
	run(15000, NULL);
	cmm_engine__job_done(&eng, 0);
	run(1000, NULL);
	ASSERT_EQ(st(), CMM_STAGED, "STAGED at C");
	pop(2, true, true, 0.9);
	ASSERT_EQ(run(1000, &d), 1, "C failed: one decision");
	ASSERT_EQ(st(), CMM_NORMAL, "back to NORMAL");
	ASSERT_EQ(d.act[0], CMM_ACT_DNS_RESTORE, "DNS back to A");
	ASSERT_TRUE(strstr(d.reason, "C, where www.cdn.test was staged, failed") != NULL, d.reason);
	ASSERT_EQ(run(1000, NULL), 0, "and stays (dwell, C still failed)");
	/* FAILED_OVER to C, then C fails: on to B */
	setup();
	others_ok();
	pop(0, true, true, 0.9);
	run(1000, &d);
	ASSERT_STREQ(cfg.pops[d.target].name, "C", "failed over to C");
	pop(2, true, true, 0.9);
	ASSERT_EQ(run(1000, &d), 1, "C failed too");
	ASSERT_EQ(d.to == CMM_FAILED_OVER && d.act[0] == CMM_ACT_DNS_STEER, 1, "steered again");
	ASSERT_STREQ(cfg.pops[d.target].name, "B", "to B");
	ASSERT_STREQ(cfg.pops[eng.hosts[0].serving].name, "B", "serving B");
	/* nowhere left (D is not resident): stays on B even if B fails */
	pop(1, true, true, 0.9);
	ASSERT_EQ(run(2000, NULL), 0, "no healthy pop left: no move");
}

static struct cmm_ic_view ic(const char *name, int up, double routes, double loss, double p,
			     double bytes)
{
	return (struct cmm_ic_view){ .name = name, .link_up = up, .routes = routes,
				     .probe_loss = loss, .p = p, .have_p = true, .bytes = bytes,
				     .top = { "probe_loss", "flapping" }, .top_c = { 2.5, 0.5 } };
}

static void test_pop_real_failure_rules(void)
{
	struct cmm_pop_track t;
	struct cmm_pop_input in;
	struct cmm_ic_view v[2];
	int64_t t0 = 1700000000000LL;

	setup(); /* probe-loss-fail 50% for 3s, routes-fail 90% (defaults) */
	memset(&t, 0, sizeof(t));
	v[0] = ic("transit", 1, NAN, NAN, 0.8, 300);
	v[1] = ic("peer", 1, NAN, NAN, 0.2, 100);
	cmm_pop_assess(&cfg, &t, v, 2, t0, &in);
	ASSERT_EQ(in.known && !in.failed, 1, "healthy");
	ASSERT_NEAR(in.risk, 0.65, 1e-9, "risk by traffic share");
	ASSERT_TRUE(strstr(in.why, "transit p=0.80 (probe_loss +2.5, flapping +0.5)") != NULL, in.why);
	/* one of two interconnects down: not a failure; both: a failure */
	v[0].link_up = 0;
	cmm_pop_assess(&cfg, &t, v, 2, t0, &in);
	ASSERT_EQ(in.failed, 0, "one of two down");
	v[1].link_up = 0;
	cmm_pop_assess(&cfg, &t, v, 2, t0, &in);
	ASSERT_EQ(in.failed, 1, "all down");
	ASSERT_STREQ(in.why, "all 2 interconnects down", "why");
	v[0].link_up = v[1].link_up = -1;
	cmm_pop_assess(&cfg, &t, v, 2, t0, &in);
	ASSERT_EQ(in.failed, 0, "link state unknown is not down");
	cmm_pop_assess(&cfg, &t, v, 0, t0, &in);
	ASSERT_EQ(in.failed, 0, "no fresh interconnect: not failed");

	/* routes: 1000 for a while, then 150 (-85%): not yet; 100 (-90%): failed */
	memset(&t, 0, sizeof(t));
	v[0] = ic("transit", 1, 600, NAN, 0.1, 0);
	v[1] = ic("peer", 1, 400, NAN, 0.1, 0);
	for (int k = 0; k < 60; k++)
		cmm_pop_assess(&cfg, &t, v, 2, t0 + k * 1000, &in);
	ASSERT_EQ(in.failed, 0, "routes steady");
	v[0].routes = 100;
	v[1].routes = 50;
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 61000, &in);
	ASSERT_EQ(in.failed, 0, "routes -85%: below routes-fail 90%");
	v[1].routes = 0;
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 62000, &in);
	ASSERT_EQ(in.failed, 1, "routes -90%");
	ASSERT_TRUE(strstr(in.why, "routes 100 from a 5-min high of 1000") != NULL, in.why);
	/* the high ages out after 5 minutes: the lower count is the new normal */
	for (int k = 63; k < 63 + 310; k++)
		cmm_pop_assess(&cfg, &t, v, 2, t0 + k * 1000, &in);
	ASSERT_EQ(in.failed, 0, "5 minutes later the old high is gone");

	/* probe loss: the lowest over probed links counts, sustained for probe-loss-for */
	memset(&t, 0, sizeof(t));
	v[0] = ic("transit", 1, NAN, 0.6, 0.1, 0);
	v[1] = ic("peer", 1, NAN, NAN, 0.1, 0);
	cmm_pop_assess(&cfg, &t, v, 2, t0, &in);
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 2000, &in);
	ASSERT_EQ(in.failed, 0, "60% loss for 2 s < 3 s");
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 3000, &in);
	ASSERT_EQ(in.failed, 1, "60% loss for 3 s");
	ASSERT_TRUE(strstr(in.why, "probe loss 60% >= 50% for 3s") != NULL, in.why);
	v[1].probe_loss = 0.1;
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 4000, &in);
	ASSERT_EQ(in.failed, 0, "another link's probes get through: not failed");
	v[1].probe_loss = 0.9;
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 5000, &in);
	ASSERT_EQ(in.failed, 0, "the timer restarted");
	cmm_pop_track__unknown(&t);
	cmm_pop_assess(&cfg, &t, v, 2, t0 + 9000, &in);
	ASSERT_EQ(in.failed, 0, "unknown in between restarts it too");
}

static void test_pop_risk_shares(void)
{
	struct cmm_link_risk l[2] = { { .p = 0.8, .bytes = 300 }, { .p = 0.2, .bytes = 100 } };
	struct cmm_link_risk z[2] = { { .p = 0.8, .bytes = 0 }, { .p = 0.2, .bytes = 0 } };

	ASSERT_NEAR(cmm_pop_risk(l, 2), 0.65, 1e-9, "traffic-weighted");
	ASSERT_NEAR(cmm_pop_risk(z, 2), 0.5, 1e-9, "equal shares without traffic");
	ASSERT_NEAR(cmm_pop_risk(l, 0), 0, 1e-9, "no links");
}

/* Apply pending rows as cmmd would; count each id. Stop after @limit (a crash). */
static void apply_rows(struct cmm_journal_row *rows, size_t n, size_t limit)
{
	for (size_t k = 0; k < n && k < limit; k++) {
		applied[rows[k].id]++;
		cmm_db__journal_mark(&db, rows[k].id, "done", now, "test");
	}
}

static void test_restart_from_database(void)
{
	struct cmm_decision d;
	struct cmm_journal_row rows[CMM_MAX_ACTS], *pend;
	char err[256];
	size_t n;
	int64_t since;

	snprintf(dbpath, sizeof(dbpath), "/tmp/t-cmm-engine-%d.db", getpid());
	unlink(dbpath);
	ASSERT_EQ(cmm_db__open(&db, dbpath, err, sizeof(err)), 0, err);
	setup();
	ASSERT_EQ(cmm_journal__recover(&db, &eng, &pend, &n), 0, "recover on an empty db");
	ASSERT_EQ(n, 0, "nothing pending at first");
	free(pend);
	others_ok();
	pop(0, true, true, 0.9);
	ASSERT_EQ(run(1000, &d), 1, "failure");
	ASSERT_EQ(cmm_journal__write(&db, &eng, &d, now, rows), 0, "journaled");
	ASSERT_EQ(d.nacts, 2, "two rows");
	since = eng.hosts[0].since_ms;
	/* kill -9 after the first action: the second stays pending */
	apply_rows(rows, 2, 1);
	cmm_db__close(&db);

	ASSERT_EQ(cmm_db__open(&db, dbpath, err, sizeof(err)), 0, err);
	setup();
	ASSERT_EQ(st(), CMM_NORMAL, "a fresh engine starts NORMAL");
	ASSERT_EQ(cmm_journal__recover(&db, &eng, &pend, &n), 0, "recover");
	ASSERT_EQ(st(), CMM_FAILED_OVER, "state back from the database");
	ASSERT_EQ(eng.hosts[0].since_ms, since, "since back");
	ASSERT_STREQ(cfg.pops[eng.hosts[0].serving].name, "C", "serving back");
	ASSERT_EQ(eng.hosts[0].last_journal_id, rows[1].id, "last journal id back");
	ASSERT_EQ(n, 1, "exactly the unapplied row is pending");
	if (n == 1) {
		ASSERT_EQ(pend[0].id, rows[1].id, "the same row");
		ASSERT_STREQ(pend[0].action, "primary-off", "its action");
		ASSERT_TRUE(strstr(pend[0].reason, "A failed") != NULL, "its reason");
	}
	apply_rows(pend, n, n);
	free(pend);
	/* same inputs after the restart: no new decision, nothing twice */
	others_ok();
	pop(0, true, true, 0.9);
	ASSERT_EQ(run(5000, NULL), 0, "no decision repeated after restart");
	cmm_db__close(&db);
	ASSERT_EQ(cmm_db__open(&db, dbpath, err, sizeof(err)), 0, err);
	setup();
	ASSERT_EQ(cmm_journal__recover(&db, &eng, &pend, &n), 0, "recover again");
	ASSERT_EQ(n, 0, "nothing pending after all were applied");
	free(pend);
	for (int i = 0; i < 1000; i++)
		if (applied[i] > 1)
			HFAIL("journal row %d applied %d times", i, applied[i]);
	ASSERT_EQ(applied[rows[0].id] + applied[rows[1].id], 2, "each row applied once");
	ASSERT_EQ(cmm_db__journal_count(&db, "pending"), 0, "no pending rows");
	cmm_db__close(&db);
	unlink(dbpath);
	snprintf(err, sizeof(err), "%s-wal", dbpath);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", dbpath);
	unlink(err);
}

static void test_later_decision_supersedes_pending(void)
{
	struct cmm_decision d;
	struct cmm_journal_row r1[CMM_MAX_ACTS], r2[CMM_MAX_ACTS], *all;
	char err[256];
	size_t n;

	snprintf(dbpath, sizeof(dbpath), "/tmp/t-cmm-engine-s%d.db", getpid());
	unlink(dbpath);
	ASSERT_EQ(cmm_db__open(&db, dbpath, err, sizeof(err)), 0, err);
	setup();
	others_ok();
	pop(0, true, true, 0.9);
	run(1000, &d);
	ASSERT_EQ(cmm_journal__write(&db, &eng, &d, now, r1), 0, "failover journaled");
	/* its actions failed (still pending); A recovers: a new decision */
	pop(0, true, false, 0.1);
	ASSERT_EQ(run(31000, &d), 1, "RECOVERING");
	ASSERT_EQ(cmm_journal__write(&db, &eng, &d, now, r2), 0, "recovery journaled");
	ASSERT_EQ(cmm_db__journal_list(&db, 0, NULL, 100, &all, &n), 0, "list");
	ASSERT_EQ(n, 4, "four rows");
	for (size_t k = 0; k < n; k++) {
		bool old = all[k].id == r1[0].id || all[k].id == r1[1].id;

		ASSERT_STREQ(all[k].status, old ? "failed" : "pending", all[k].action);
		if (old)
			ASSERT_TRUE(strstr(all[k].detail, "superseded") != NULL, "says superseded");
	}
	free(all);
	ASSERT_EQ(cmm_db__journal_count(&db, "pending"), 2, "only the latest decision pending");
	cmm_db__close(&db);
	unlink(dbpath);
	snprintf(err, sizeof(err), "%s-wal", dbpath);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", dbpath);
	unlink(err);
}

static int64_t count(const char *where)
{
	char sql[256];
	sqlite3_stmt *st;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM samples WHERE %s", where);
	if (sqlite3_prepare_v2(cmm_db__handle(&db), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static double avg_rtt(int tier, int64_t ts)
{
	char sql[256];
	sqlite3_stmt *st;
	double v = -1;

	snprintf(sql, sizeof(sql), "SELECT rtt_p90 FROM samples WHERE tier = %d AND ts = %lld", tier,
		 (long long)ts);
	if (sqlite3_prepare_v2(cmm_db__handle(&db), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_downsampling(void)
{
	char err[256];
	int64_t t0 = 1699999980; /* a multiple of 10 and of 60 */
	int64_t nowsec = t0 + 2 * 86400;

	snprintf(dbpath, sizeof(dbpath), "/tmp/t-cmm-engine-d%d.db", getpid());
	unlink(dbpath);
	ASSERT_EQ(cmm_db__open(&db, dbpath, err, sizeof(err)), 0, err);
	/* 1 s samples: 120 s two days ago, 120 s 2 h ago, 120 s just now */
	cmm_db__begin(&db);
	for (int64_t base = 0; base < 3; base++) {
		int64_t start = base == 0 ? t0 : base == 1 ? nowsec - 7200 : nowsec - 120;

		for (int64_t i = 0; i < 120; i++) {
			struct cmm_sample_row r = { .ts = start + i, .pop = "A", .link = "l",
						    .rtt_p90 = (double)(i % 10), .link_up = 1 };

			r.rtt_p50 = r.rtt_p99 = r.probe_rtt = r.probe_loss = r.retrans_in =
				r.retrans_out = r.rx_bps = r.tx_bps = r.util = r.routes =
					r.announcements = r.withdrawals = 0;
			cmm_db__sample_add(&db, &r);
		}
	}
	cmm_db__commit(&db);
	ASSERT_EQ(count("tier = 0"), 360, "360 rows of 1 s");
	ASSERT_EQ(cmm_db__downsample(&db, nowsec), 0, "downsample");
	ASSERT_EQ(count("tier = 0"), 120, "only the last hour stays at 1 s");
	ASSERT_EQ(count("tier = 1"), 12, "2 h ago: 120 s as 12 means of 10 s");
	ASSERT_EQ(count("tier = 2"), 2, "2 days ago: 120 s as 2 means of 60 s");
	ASSERT_NEAR(avg_rtt(1, nowsec - 7200), 4.5, 1e-9, "a 10 s mean is the mean");
	ASSERT_NEAR(avg_rtt(2, t0), 4.5, 1e-9, "a 60 s mean of 10 s means");
	ASSERT_EQ(cmm_db__downsample(&db, nowsec + 31 * 86400), 0, "31 days later");
	ASSERT_EQ(count("tier = 2"), 0, "60 s rows older than 30 days dropped");
	cmm_db__close(&db);
	unlink(dbpath);
	snprintf(err, sizeof(err), "%s-wal", dbpath);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", dbpath);
	unlink(err);
}

int main(void)
{
	RUN(test_enter_needs_confirm_and_dwell);
	RUN(test_hysteresis_and_dwell_back);
	RUN(test_staged_then_back_restores_dns);
	RUN(test_unknown_never_moves);
	RUN(test_failure_fails_over_at_once);
	RUN(test_failback_after_healthy_dwell_and_resync);
	RUN(test_stage_timeout_retries_once);
	RUN(test_target_fails);
	RUN(test_pop_real_failure_rules);
	RUN(test_pop_risk_shares);
	RUN(test_restart_from_database);
	RUN(test_later_decision_supersedes_pending);
	RUN(test_downsampling);
	return harness_exit();
}
