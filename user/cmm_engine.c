// SPDX-License-Identifier: GPL-2.0-only
/* The controller's state machine; see cmm_engine.h. No I/O, no clock. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmm_engine.h"

static const char *const state_names[] = {
	[CMM_NORMAL] = "NORMAL", [CMM_AT_RISK] = "AT_RISK", [CMM_STAGED] = "STAGED",
	[CMM_FAILED_OVER] = "FAILED_OVER", [CMM_RECOVERING] = "RECOVERING",
};

static const char *const act_names[] = {
	[CMM_ACT_NONE] = "none", [CMM_ACT_MIRROR_ORDER] = "mirror-order",
	[CMM_ACT_DNS_STEER] = "dns-steer", [CMM_ACT_DNS_RESTORE] = "dns-restore",
	[CMM_ACT_PRIMARY_OFF] = "primary-off", [CMM_ACT_PRIMARY_ON] = "primary-on",
	[CMM_ACT_RESYNC_ORDER] = "resync-order",
};

const char *cmm_state_name(enum cmm_state s)
{
	return (unsigned)s < CMM_NSTATES ? state_names[s] : "?";
}

int cmm_state_from_name(const char *s)
{
	for (int i = 0; i < CMM_NSTATES; i++)
		if (!strcmp(s, state_names[i]))
			return i;
	return -1;
}

const char *cmm_action_name(enum cmm_action a)
{
	return (unsigned)a < CMM_NACTS ? act_names[a] : "?";
}

int cmm_action_from_name(const char *s)
{
	for (int i = 0; i < CMM_NACTS; i++)
		if (!strcmp(s, act_names[i]))
			return i;
	return -1;
}

double cmm_pop_risk(const struct cmm_link_risk *l, size_t n)
{
	double total = 0, r = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += l[i].bytes > 0 ? l[i].bytes : 0;
	for (size_t i = 0; i < n; i++)
		r += (total > 0 ? (l[i].bytes > 0 ? l[i].bytes : 0) / total : 1.0 / n) * l[i].p;
	return r;
}

void cmm_pop_track__unknown(struct cmm_pop_track *t)
{
	t->loss_since_ms = 0;
}

void cmm_pop_assess(const struct cmm_config *c, struct cmm_pop_track *t,
		    const struct cmm_ic_view *v, size_t n, int64_t now, struct cmm_pop_input *out)
{
	struct cmm_link_risk lr[64];
	size_t ndown = 0, nloss = 0, nr = 0, best = 0;
	double routes = 0, hi = 0, minloss = INFINITY;
	bool have_routes = false;
	int64_t bucket = now / 10000;

	memset(out, 0, sizeof(*out));
	out->known = true;
	for (size_t k = 0; k < n; k++) {
		if (v[k].link_up == 0)
			ndown++;
		if (isfinite(v[k].routes)) {
			routes += v[k].routes;
			have_routes = true;
		}
		if (isfinite(v[k].probe_loss)) {
			nloss++;
			minloss = fmin(minloss, v[k].probe_loss);
		}
		if (nr < sizeof(lr) / sizeof(lr[0])) {
			lr[nr].p = v[k].have_p ? v[k].p : 0;
			lr[nr].bytes = v[k].bytes;
			nr++;
		}
		if (v[k].p > v[best].p)
			best = k;
	}
	out->risk = cmm_pop_risk(lr, nr);
	if (n && v[best].have_p)
		snprintf(out->why, sizeof(out->why), "%s p=%.2f (%s %+.1f, %s %+.1f)", v[best].name,
			 v[best].p, v[best].top[0] ? v[best].top[0] : "-", v[best].top_c[0],
			 v[best].top[1] ? v[best].top[1] : "-", v[best].top_c[1]);
	else
		snprintf(out->why, sizeof(out->why), "no prediction yet");
	/* routes: the 5-minute high in 10 s buckets */
	if (bucket != t->routes_bucket) {
		int64_t gap = t->routes_bucket ? bucket - t->routes_bucket : 30;

		for (int64_t b = 1; b <= gap && b <= 30; b++)
			t->routes_hi[(t->routes_bucket + b) % 30] = 0;
		t->routes_bucket = bucket;
	}
	if (have_routes && routes > t->routes_hi[bucket % 30])
		t->routes_hi[bucket % 30] = routes;
	for (int b = 0; b < 30; b++)
		hi = fmax(hi, t->routes_hi[b]);
	if (n && ndown == n) {
		out->failed = true;
		snprintf(out->why, sizeof(out->why), "all %zu interconnects down", n);
	} else if (have_routes && hi > 0 && routes <= hi * (1 - c->routes_fail) + 1e-9 * hi) {
		out->failed = true;
		snprintf(out->why, sizeof(out->why), "routes %.0f from a 5-min high of %.0f (-%.0f%% >= %.0f%%)",
			 routes, hi, 100 * (1 - routes / hi), 100 * c->routes_fail);
	}
	if (nloss && minloss >= c->probe_loss_fail) {
		if (!t->loss_since_ms)
			t->loss_since_ms = now;
		if (!out->failed && now - t->loss_since_ms >= (int64_t)c->probe_loss_for_ms) {
			out->failed = true;
			snprintf(out->why, sizeof(out->why), "probe loss %.0f%% >= %.0f%% for %.0fs",
				 100 * minloss, 100 * c->probe_loss_fail,
				 (double)(now - t->loss_since_ms) / 1000);
		}
	} else {
		t->loss_since_ms = 0;
	}
}

void cmm_engine__init(struct cmm_engine *e, const struct cmm_config *cfg, int64_t now_ms)
{
	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	for (int i = 0; i < cfg->nhosts; i++) {
		e->hosts[i].state = CMM_NORMAL;
		e->hosts[i].since_ms = now_ms;
		e->hosts[i].serving = cfg->hosts[i].primary;
		e->hosts[i].target = -1;
	}
}

void cmm_engine__restore(struct cmm_engine *e, int host, enum cmm_state st, int64_t since_ms,
			 int serving, int target, int64_t last_journal_id)
{
	struct cmm_host_state *h = &e->hosts[host];

	memset(h, 0, sizeof(*h));
	h->state = st;
	h->since_ms = since_ms;
	h->serving = serving >= 0 ? serving : e->cfg->hosts[host].primary;
	h->target = target;
	h->last_journal_id = last_journal_id;
}

void cmm_engine__set_pop(struct cmm_engine *e, int pop, const struct cmm_pop_input *in)
{
	e->pops[pop] = *in;
}

void cmm_engine__job_done(struct cmm_engine *e, int host)
{
	e->hosts[host].job_done = true;
}

int cmm_engine__pick_target(const struct cmm_engine *e, int host)
{
	const struct cmm_config *c = e->cfg;
	int a = c->hosts[host].primary, best = -1;
	double best_risk = 0, best_cost = 0;

	for (int i = 0; i < c->npops; i++) {
		double cost, risk;

		if (i == a || !e->pops[i].known || e->pops[i].failed || !cmm_config_resident(c, host, i))
			continue;
		/* Every POP at or below the exit threshold is healthy alike: cost decides. */
		risk = e->pops[i].risk <= c->exit ? 0 : e->pops[i].risk;
		cost = cmm_config_link_cost(c, a, i);
		if (cost < 0)
			cost = 1e12; /* not linked: only when nothing linked is healthy */
		if (best < 0 || risk < best_risk - 1e-9 ||
		    (risk <= best_risk + 1e-9 && cost < best_cost)) {
			best = i;
			best_risk = risk;
			best_cost = cost;
		}
	}
	return best;
}

static void add_act(struct cmm_decision *d, enum cmm_action a, int pop)
{
	if (d->nacts < CMM_MAX_ACTS) {
		d->act[d->nacts] = a;
		d->act_pop[d->nacts] = pop;
		d->nacts++;
	}
}

static void move(struct cmm_host_state *h, struct cmm_decision *d, int host, enum cmm_state to,
		 int64_t now)
{
	d->host = host;
	d->from = h->state;
	d->to = to;
	h->state = to;
	h->since_ms = now;
	h->enter_since_ms = h->exit_since_ms = h->healthy_since_ms = 0;
	h->job_done = false;
	h->stage_tries = 0;
	h->stage_started_ms = now;
}

static double secs(int64_t ms)
{
	return (double)ms / 1000.0;
}

/* One hostname; true when it made a decision in *d. */
static bool step_host(struct cmm_engine *e, int i, int64_t now, struct cmm_decision *d)
{
	const struct cmm_config *c = e->cfg;
	struct cmm_host_state *h = &e->hosts[i];
	int a = c->hosts[i].primary;
	const struct cmm_pop_input *pa = &e->pops[a];
	bool dwell_ok = now - h->since_ms >= (int64_t)c->dwell_ms;
	int b;

	memset(d, 0, sizeof(*d));
	d->pop = a;
	d->target = -1;
	/* Unknown data is shown, never acted on: freeze and forget the timers. */
	if (!pa->known) {
		h->enter_since_ms = h->exit_since_ms = h->healthy_since_ms = 0;
		return false;
	}
	/* A real failure moves at once, from any state but FAILED_OVER. */
	if (pa->failed && h->state != CMM_FAILED_OVER) {
		enum cmm_state from = h->state;

		b = (from == CMM_STAGED || from == CMM_RECOVERING) && h->target >= 0 &&
				    e->pops[h->target].known && !e->pops[h->target].failed ?
			    h->target :
			    cmm_engine__pick_target(e, i);
		if (b < 0) {
			/* Nowhere healthy to go: keep serving A, say so once per state. */
			return false;
		}
		move(h, d, i, CMM_FAILED_OVER, now);
		h->target = b;
		h->serving = b;
		d->target = b;
		add_act(d, CMM_ACT_DNS_STEER, b);
		add_act(d, CMM_ACT_PRIMARY_OFF, a);
		snprintf(d->reason, sizeof(d->reason), "%s failed: %s; to %s (%s)",
			 c->pops[a].name, pa->why, c->pops[b].name,
			 from == CMM_STAGED ? "staged there" :
			 from == CMM_RECOVERING ? "still serving" : "best healthy pop");
		return true;
	}
	switch (h->state) {
	case CMM_NORMAL:
		if (pa->risk >= c->enter) {
			if (!h->enter_since_ms)
				h->enter_since_ms = now;
		} else {
			h->enter_since_ms = 0;
		}
		if (!h->enter_since_ms || now - h->enter_since_ms < (int64_t)c->confirm_ms ||
		    !dwell_ok)
			return false;
		b = cmm_engine__pick_target(e, i);
		if (b < 0 || cmm_config_link_cost(c, a, b) < 0)
			return false; /* nowhere to stage: wait (a failure still fails over) */
		snprintf(d->reason, sizeof(d->reason), "risk %.2f >= enter %.2f for %.0fs: %s; stage at %s",
			 pa->risk, c->enter, secs(now - h->enter_since_ms), pa->why,
			 c->pops[b].name);
		move(h, d, i, CMM_AT_RISK, now);
		h->target = b;
		d->target = b;
		add_act(d, CMM_ACT_MIRROR_ORDER, b);
		return true;
	case CMM_AT_RISK:
	case CMM_STAGED:
		if (h->target >= 0 && e->pops[h->target].known && e->pops[h->target].failed) {
			/* B itself failed: A still works, so A serves again. */
			enum cmm_state from = h->state;

			snprintf(d->reason, sizeof(d->reason), "%s, where %s was staged, failed: %s; back to %s (risk %.2f)",
				 c->pops[h->target].name, c->hosts[i].name, e->pops[h->target].why,
				 c->pops[a].name, pa->risk);
			d->target = h->target;
			move(h, d, i, CMM_NORMAL, now);
			h->target = -1;
			h->serving = a;
			add_act(d, from == CMM_STAGED ? CMM_ACT_DNS_RESTORE : CMM_ACT_NONE, a);
			return true;
		}
		if (pa->risk <= c->exit) {
			if (!h->exit_since_ms)
				h->exit_since_ms = now;
		} else {
			h->exit_since_ms = 0;
		}
		if (h->exit_since_ms && now - h->exit_since_ms >= (int64_t)c->dwell_ms && dwell_ok) {
			enum cmm_state from = h->state;

			snprintf(d->reason, sizeof(d->reason), "risk %.2f <= exit %.2f for %.0fs: %s; back to %s (false positive)",
				 pa->risk, c->exit, secs(now - h->exit_since_ms), pa->why,
				 c->pops[a].name);
			d->target = h->target;
			move(h, d, i, CMM_NORMAL, now);
			h->target = -1;
			h->serving = a;
			add_act(d, from == CMM_STAGED ? CMM_ACT_DNS_RESTORE : CMM_ACT_NONE, a);
			return true;
		}
		if (h->state == CMM_AT_RISK && h->job_done) {
			b = h->target;
			snprintf(d->reason, sizeof(d->reason), "hot set of %s verified at %s (risk %.2f: %s)",
				 c->hosts[i].name, c->pops[b].name, pa->risk, pa->why);
			move(h, d, i, CMM_STAGED, now);
			h->serving = b;
			d->target = b;
			add_act(d, CMM_ACT_DNS_STEER, b);
			return true;
		}
		if (h->state == CMM_AT_RISK && h->stage_tries < 1 &&
		    now - h->stage_started_ms >= (int64_t)c->stage_timeout_ms) {
			/* One retry of the order; after that AT_RISK stays without staging. */
			h->stage_tries++;
			h->stage_started_ms = now;
			d->host = i;
			d->from = d->to = CMM_AT_RISK;
			d->target = h->target;
			add_act(d, CMM_ACT_MIRROR_ORDER, h->target);
			snprintf(d->reason, sizeof(d->reason), "mirror order to %s not verified after %.0fs: retried once",
				 c->pops[h->target].name, secs((int64_t)c->stage_timeout_ms));
			return true;
		}
		return false;
	case CMM_FAILED_OVER:
		if (e->pops[h->serving].known && e->pops[h->serving].failed) {
			/* A still failed and the POP serving instead failed too: the next one. */
			int old = h->serving;

			b = cmm_engine__pick_target(e, i);
			if (b < 0)
				return false;
			snprintf(d->reason, sizeof(d->reason), "%s, serving instead of %s, failed: %s; to %s (best healthy pop)",
				 c->pops[old].name, c->pops[a].name, e->pops[old].why, c->pops[b].name);
			move(h, d, i, CMM_FAILED_OVER, now);
			h->target = b;
			h->serving = b;
			d->target = b;
			add_act(d, CMM_ACT_DNS_STEER, b);
			return true;
		}
		/* Healthy: no longer failed, and risk at or below exit (a link cut
		 * seen as an event can fail A over before the model's risk rises). */
		if (!pa->failed && pa->risk <= c->exit) {
			if (!h->healthy_since_ms)
				h->healthy_since_ms = now;
		} else {
			h->healthy_since_ms = 0;
		}
		if (!h->healthy_since_ms || now - h->healthy_since_ms < (int64_t)c->healthy_dwell_ms)
			return false;
		b = h->target;
		snprintf(d->reason, sizeof(d->reason), "%s healthy for %.0fs (risk %.2f <= exit %.2f: %s): re-sync %s from %s",
			 c->pops[a].name, secs(now - h->healthy_since_ms), pa->risk, c->exit, pa->why,
			 c->hosts[i].name, c->pops[b].name);
		move(h, d, i, CMM_RECOVERING, now);
		d->target = b;
		add_act(d, CMM_ACT_PRIMARY_ON, a);
		add_act(d, CMM_ACT_RESYNC_ORDER, a);
		return true;
	case CMM_RECOVERING:
		if (!h->job_done && now - h->stage_started_ms >= (int64_t)c->stage_timeout_ms) {
			/* B keeps serving meanwhile; the re-sync is asked again until it is done. */
			h->stage_started_ms = now;
			d->host = i;
			d->from = d->to = CMM_RECOVERING;
			d->target = h->target;
			add_act(d, CMM_ACT_RESYNC_ORDER, a);
			snprintf(d->reason, sizeof(d->reason), "re-sync of %s from %s not verified after %.0fs: ordered again",
				 c->hosts[i].name, c->pops[h->target].name,
				 secs((int64_t)c->stage_timeout_ms));
			return true;
		}
		if (!h->job_done)
			return false;
		snprintf(d->reason, sizeof(d->reason), "%s re-synced from %s: back to %s (risk %.2f: %s)",
			 c->pops[a].name, c->pops[h->target].name, c->pops[a].name, pa->risk,
			 pa->why);
		d->target = h->target;
		move(h, d, i, CMM_NORMAL, now);
		h->target = -1;
		h->serving = a;
		add_act(d, CMM_ACT_DNS_RESTORE, a);
		return true;
	default:
		return false;
	}
}

size_t cmm_engine__step(struct cmm_engine *e, int64_t now_ms, struct cmm_decision *out,
			size_t max)
{
	size_t n = 0;

	for (int i = 0; i < e->cfg->nhosts && n < max; i++)
		if (step_host(e, i, now_ms, &out[n]))
			n++;
	return n;
}
