// SPDX-License-Identifier: GPL-2.0-only
/* Journal-before-act and restart recovery; see cmm_journal.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmm_journal.h"
#include "log.h"

int cmm_journal__save_host(struct cmm_db *db, const struct cmm_engine *e, int i)
{
	const struct cmm_host_state *h = &e->hosts[i];
	const struct cmm_config *c = e->cfg;

	return cmm_db__host_save(db, c->hosts[i].name, cmm_state_name(h->state), h->since_ms,
				 c->pops[c->hosts[i].primary].name, c->pops[h->serving].name,
				 h->target >= 0 ? c->pops[h->target].name : "", h->last_journal_id);
}

int cmm_journal__write(struct cmm_db *db, struct cmm_engine *e, const struct cmm_decision *x,
		       int64_t now_ms, struct cmm_journal_row *rows)
{
	const struct cmm_config *c = e->cfg;
	int64_t last = e->hosts[x->host].last_journal_id;
	int err;

	if ((err = cmm_db__begin(db)))
		return err;
	/* A new decision replaces what an older one of this hostname still had to do. */
	err = cmm_db__journal_supersede(db, c->hosts[x->host].name);
	for (int a = 0; a < x->nacts && !err; a++) {
		struct cmm_journal_row *r = &rows[a];
		int tp = x->act[a] == CMM_ACT_RESYNC_ORDER ? x->target : x->act_pop[a];

		memset(r, 0, sizeof(*r));
		r->ts_ms = now_ms;
		snprintf(r->hostname, sizeof(r->hostname), "%s", c->hosts[x->host].name);
		snprintf(r->pop, sizeof(r->pop), "%s", c->pops[x->pop].name);
		snprintf(r->from_state, sizeof(r->from_state), "%s", cmm_state_name(x->from));
		snprintf(r->to_state, sizeof(r->to_state), "%s", cmm_state_name(x->to));
		snprintf(r->action, sizeof(r->action), "%s", cmm_action_name(x->act[a]));
		snprintf(r->target, sizeof(r->target), "%s", tp >= 0 ? c->pops[tp].name : "");
		snprintf(r->reason, sizeof(r->reason), "%s", x->reason);
		err = cmm_db__journal_add(db, r);
		if (!err)
			e->hosts[x->host].last_journal_id = r->id;
	}
	if (!err)
		err = cmm_journal__save_host(db, e, x->host);
	if (!err && x->to == CMM_NORMAL && x->from != CMM_RECOVERING)
		err = cmm_db__job_set_needed(db, c->hosts[x->host].name, 0); /* a false positive */
	if (!err && x->to == CMM_FAILED_OVER)
		err = cmm_db__job_set_needed(db, c->hosts[x->host].name, 1);
	if (!err)
		err = cmm_db__commit(db);
	if (err) {
		cmm_db__rollback(db);
		e->hosts[x->host].last_journal_id = last;
	}
	return err;
}

int cmm_journal__recover(struct cmm_db *db, struct cmm_engine *e, struct cmm_journal_row **pending,
			 size_t *n)
{
	const struct cmm_config *c = e->cfg;

	*pending = NULL;
	*n = 0;
	for (int i = 0; i < c->nhosts; i++) {
		char state[16], serving[64], target[64];
		int64_t since, last;
		int st, sv, tg, ret;

		ret = cmm_db__host_load(db, c->hosts[i].name, state, sizeof(state), &since, serving,
					target, sizeof(serving), &last);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			cmm_journal__save_host(db, e, i);
			continue;
		}
		st = cmm_state_from_name(state);
		sv = cmm_config_pop_index(c, serving);
		tg = target[0] ? cmm_config_pop_index(c, target) : -1;
		if (st < 0 || sv < 0 || (target[0] && tg < 0)) {
			pr_warn("%s: database state '%s' serving '%s' target '%s' does not fit the config: starting NORMAL\n",
				c->hosts[i].name, state, serving, target);
			cmm_journal__save_host(db, e, i);
			continue;
		}
		cmm_engine__restore(e, i, st, since, sv, tg, last);
	}
	return cmm_db__journal_list(db, 0, "pending", 1000000, pending, n);
}
