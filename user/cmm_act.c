// SPDX-License-Identifier: GPL-2.0-only
/* The controller's actions; see cmm_act.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmm_act.h"
#include "cmm_engine.h"
#include "log.h"

int cmm_act__init(struct cmm_act *a, const struct cmm_config *c, char *err, size_t errlen)
{
	int ret;

	memset(a, 0, sizeof(*a));
	a->cfg = c;
	if (c->have_dns) {
		struct dns_client_opts o = {
			.server = c->dns_server,
			.port = c->dns_port,
			.key = &a->key,
			/* short: a failed row is retried by the journal, and the loop must not stall */
			.timeout_ms = 500,
			.retries = 1,
		};

		ret = dns_key_read_file(&a->key, c->key_file, c->key_name[0] ? c->key_name : NULL);
		if (ret) {
			snprintf(err, errlen, "dns key-file %s: %s", c->key_file, dns_strerror(ret));
			return ret;
		}
		ret = dns_name_from_text(&a->zone, c->dns_zone);
		if (ret) {
			snprintf(err, errlen, "dns zone '%s': %s", c->dns_zone, dns_strerror(ret));
			return ret;
		}
		a->dns = dns_client__new(&o);
		if (!a->dns) {
			ret = -errno;
			snprintf(err, errlen, "dns client for %s: %s", c->dns_server, strerror(errno));
			return ret;
		}
	}
	a->ctl.cert = c->tls_cert;
	a->ctl.key = c->tls_key;
	a->ctl.ca = c->tls_ca;
	a->ctl.order_key = c->order_key;
	a->ctl.timeout_ms = 3000;
	a->mirror_ok = c->tls_cert[0] && c->tls_ca[0] && c->order_key[0];
	return 0;
}

void cmm_act__fini(struct cmm_act *a)
{
	if (a->dns)
		dns_client__free(a->dns);
	a->dns = NULL;
}

static int steer_init(struct cmm_act *a, int host, struct dns_steer *s)
{
	const struct cmm_host *h = &a->cfg->hosts[host];
	int err;

	memset(s, 0, sizeof(*s));
	if ((err = dns_name_from_text(&s->name, h->name)))
		return err;
	s->zone = a->zone;
	s->ttl = h->ttl ? h->ttl : a->cfg->dns_ttl;
	return 0;
}

int cmm_act__dns_show(struct cmm_act *a, int host, struct dns_steer *s)
{
	int err;

	if (!a->dns)
		return -ENOTCONN;
	if ((err = steer_init(a, host, s)))
		return err;
	return dns_steer__show(a->dns, s);
}

static const char *flag_get(const struct dns_steer *s, const char *key)
{
	for (size_t i = 0; i < s->nflag; i++)
		if (!strcmp(s->flag[i].key, key))
			return s->flag[i].val;
	return NULL;
}

static bool same_addrs(const struct dns_steer *s, const struct cmm_pop *p)
{
	if (s->naddr != (size_t)p->naddr)
		return false;
	for (int i = 0; i < p->naddr; i++) {
		bool found = false;

		for (size_t j = 0; j < s->naddr && !found; j++)
			found = !strcmp(s->addrs[j], p->addrs[i]);
		if (!found)
			return false;
	}
	return true;
}

static void add_flag(struct dns_steer *s, const char *k, const char *v)
{
	if (s->nflag >= DNS_FLAG_FIELDS_MAX)
		return;
	snprintf(s->flag[s->nflag].key, sizeof(s->flag[0].key), "%s", k);
	snprintf(s->flag[s->nflag].val, sizeof(s->flag[0].val), "%.200s", v);
	s->nflag++;
}

static int do_dns(struct cmm_act *a, const struct cmm_journal_row *r, int host, bool restore,
		  char *detail, size_t dlen)
{
	const struct cmm_config *c = a->cfg;
	int pop = cmm_config_pop_index(c, restore ? c->pops[c->hosts[host].primary].name : r->target);
	struct dns_steer cur, want;
	char seq[24], at[24];
	const char *have_seq;
	int err;

	if (!a->dns) {
		snprintf(detail, dlen, "no dns { } configured");
		return -ENOTCONN;
	}
	if (pop < 0) {
		snprintf(detail, dlen, "target pop '%s' is not in the config", r->target);
		return -ENOENT;
	}
	snprintf(seq, sizeof(seq), "%lld", (long long)r->id);
	if ((err = cmm_act__dns_show(a, host, &cur))) {
		snprintf(detail, dlen, "reading %s from %s: %s", c->hosts[host].name, c->dns_server,
			 dns_strerror(err));
		return err;
	}
	/* Already applied (a row re-applied after a restart): write nothing. */
	have_seq = flag_get(&cur, "seq");
	if (same_addrs(&cur, &c->pops[pop]) &&
	    (restore ? !cur.flag_present : (have_seq && !strcmp(have_seq, seq)))) {
		a->dns_skipped++;
		snprintf(detail, dlen, "already on the server (serial %u): nothing written", cur.serial);
		return 0;
	}
	if ((err = steer_init(a, host, &want)))
		return err;
	for (int i = 0; i < c->pops[pop].naddr; i++)
		snprintf(want.addrs[want.naddr++], sizeof(want.addrs[0]), "%s", c->pops[pop].addrs[i]);
	if (!restore) {
		snprintf(at, sizeof(at), "%lld", (long long)(r->ts_ms / 1000));
		add_flag(&want, "state", !strcmp(r->to_state, "STAGED") ? "staged" : "failed-over");
		add_flag(&want, "from", c->pops[c->hosts[host].primary].name);
		add_flag(&want, "to", c->pops[pop].name);
		add_flag(&want, "why", r->reason);
		add_flag(&want, "at", at);
		add_flag(&want, "seq", seq);
	}
	err = dns_steer__set(a->dns, &want);
	a->dns_updates++;
	if (err) {
		snprintf(detail, dlen, "UPDATE %s -> %s at %s: %s", c->hosts[host].name,
			 c->pops[pop].name, c->dns_server, dns_strerror(err));
		return err;
	}
	snprintf(detail, dlen, "%s -> %s (%s%s), serial %u", c->hosts[host].name, c->pops[pop].addrs[0],
		 c->pops[pop].name, restore ? ", flag removed" : "", want.serial);
	return 0;
}

static int do_primary(struct cmm_act *a, int host, bool on, char *detail, size_t dlen)
{
	const struct cmm_config *c = a->cfg;
	const struct cmm_pop *p = &c->pops[c->hosts[host].primary];
	enum mirror_primary now;
	char err[256] = "";
	int ret;

	if (!p->mirror[0] || !a->mirror_ok) {
		snprintf(detail, dlen, "skipped: %s", !p->mirror[0] ? "pop has no mirror agent configured" :
			 "tls-cert, tls-ca and order-key are needed to command mirror agents");
		return 0;
	}
	ret = mirror_ctl_set_primary(&a->ctl, p->mirror, p->name, c->hosts[host].name, on, &now,
				     err, sizeof(err));
	if (ret) {
		snprintf(detail, dlen, "%s at %s (%s): %s", on ? "primary on" : "primary off", p->name,
			 p->mirror, err[0] ? err : mirror_strerror(ret));
		return ret;
	}
	snprintf(detail, dlen, "%s at %s: now %s", c->hosts[host].name, p->name,
		 now == MIRROR_PRIMARY ? "primary" : now == MIRROR_NOT_PRIMARY ? "not-primary" :
		 "resync-pending");
	return 0;
}

/* Topology for the planner from the config: every POP; links all, or only src-dst. */
struct topo_buf {
	struct mirror_topology t;
	struct mirror_pop pops[CMM_MAX_POPS];
	struct mirror_link links[CMM_MAX_POP_LINKS];
	struct mirror_hostpol hosts[CMM_MAX_HOSTS];
};

static void build_topology(const struct cmm_config *c, struct topo_buf *b, int src, int dst)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < c->npops; i++) {
		snprintf(b->pops[i].name, sizeof(b->pops[i].name), "%s", c->pops[i].name);
		snprintf(b->pops[i].region, sizeof(b->pops[i].region), "%s", c->pops[i].region);
		b->pops[i].free_bytes = c->pops[i].free_bytes;
		b->pops[i].bw_bps = c->pops[i].bw_bps;
		b->pops[i].storage_cost_gb = c->pops[i].storage_cost;
	}
	for (int i = 0; i < c->nlinks; i++) {
		const struct cmm_pop_link *l = &c->links[i];
		struct mirror_link *m = &b->links[b->t.nlinks];

		/* with a chosen destination: only its link, so the planner plans for it */
		if (dst >= 0 && !((l->a == src && l->b == dst) || (l->a == dst && l->b == src)))
			continue;
		snprintf(m->a, sizeof(m->a), "%s", c->pops[l->a].name);
		snprintf(m->b, sizeof(m->b), "%s", c->pops[l->b].name);
		m->cost_gb = l->cost;
		b->t.nlinks++;
	}
	for (int h = 0; h < c->nhosts; h++) {
		struct mirror_hostpol *hp = &b->hosts[h];

		snprintf(hp->host, sizeof(hp->host), "%s", c->hosts[h].name);
		for (int i = 0; i < c->hosts[h].nregions; i++)
			snprintf(hp->regions[hp->nregions++], sizeof(hp->regions[0]), "%s",
				 c->hosts[h].regions[i]);
		/* no regions listed: anywhere (mirror/ residency is opt-in per region) */
		for (int i = 0; !hp->nregions && i < c->npops; i++) {
			bool dup = false;

			for (int k = 0; k < hp->nregions && !dup; k++)
				dup = !strcmp(hp->regions[k], c->pops[i].region);
			if (!dup && hp->nregions < 8 && c->pops[i].region[0])
				snprintf(hp->regions[hp->nregions++], sizeof(hp->regions[0]), "%s",
					 c->pops[i].region);
		}
	}
	b->t.pops = b->pops;
	b->t.npops = (size_t)c->npops;
	b->t.links = b->links;
	b->t.hosts = b->hosts;
	b->t.nhosts = (size_t)c->nhosts;
}

int cmm_act__plan(struct cmm_act *a, int src, int host, int dst, struct mirror_plan *plan,
		  struct mirror_plan_req *req, char *detail, size_t dlen)
{
	const struct cmm_config *c = a->cfg;
	struct mirror_hot_item *hot = NULL;
	struct mirror_plan_item *pi = NULL;
	struct topo_buf *tb;
	size_t nhot = 0;
	char err[256] = "";
	int ret;

	memset(plan, 0, sizeof(*plan));
	if (!c->pops[src].mirror[0] || !a->mirror_ok) {
		snprintf(detail, dlen, "%s", !c->pops[src].mirror[0] ?
			 "this pop has no mirror agent configured" :
			 "tls-cert, tls-ca and order-key are needed to ask mirror agents");
		return -ENOTCONN;
	}
	ret = mirror_ctl_hot(&a->ctl, c->pops[src].mirror, host >= 0 ? c->hosts[host].name : "",
			     c->hot_items, &hot, &nhot, err, sizeof(err));
	if (ret) {
		snprintf(detail, dlen, "hot set from %s (%s): %s", c->pops[src].name,
			 c->pops[src].mirror, err[0] ? err : mirror_strerror(ret));
		return ret;
	}
	tb = malloc(sizeof(*tb));
	pi = calloc(nhot ? nhot : 1, sizeof(*pi));
	if (!tb || !pi) {
		free(tb);
		free(pi);
		free(hot);
		return -ENOMEM;
	}
	build_topology(c, tb, src, dst);
	for (size_t i = 0; i < nhot; i++) {
		pi[i].path = hot[i].path;
		pi[i].size = hot[i].size;
		pi[i].rate = hot[i].rate;
	}
	memset(req, 0, sizeof(*req));
	req->at_risk = c->pops[src].name;
	req->lead_s = (double)c->lead_ms / 1000;
	req->budget_cost = c->budget_cost;
	req->budget_bytes = c->budget_bytes;
	ret = mirror_plan__make(plan, &tb->t, req, pi, nhot);
	if (ret)
		snprintf(detail, dlen, "planner: %s", mirror_strerror(ret));
	/* the plan's items point at our copies of the paths: keep them in the plan */
	for (size_t i = 0; !ret && i < plan->nitems; i++)
		plan->items[i].path = strdup(plan->items[i].path);
	free(pi);
	free(hot);
	free(tb);
	return ret;
}

/* The items to stage: the planner's choice among the source's hot items. */
static int plan_items(struct cmm_act *a, int host, int src, int dst, char ***items, size_t *nitems,
		      struct cmm_order_ref *ord, char *detail, size_t dlen)
{
	struct mirror_plan plan;
	struct mirror_plan_req req;
	int ret;

	*items = NULL;
	*nitems = 0;
	ret = cmm_act__plan(a, src, host, dst, &plan, &req, detail, dlen);
	if (ret)
		return ret;
	*items = calloc(plan.nitems ? plan.nitems : 1, sizeof(char *));
	for (size_t i = 0; *items && i < plan.nitems; i++)
		if (plan.items[i].chosen)
			(*items)[(*nitems)++] = strdup(plan.items[i].path);
	ord->bytes = plan.bytes;
	ord->cost = plan.cost;
	cmm_act__plan_free(&plan);
	return 0;
}

void cmm_act__plan_free(struct mirror_plan *plan)
{
	for (size_t i = 0; i < plan->nitems; i++)
		free(plan->items[i].path);
	mirror_plan__free(plan);
}

static int do_order(struct cmm_act *a, const struct cmm_journal_row *r, int host, bool resync,
		    struct cmm_order_ref *ord, char *detail, size_t dlen)
{
	const struct cmm_config *c = a->cfg;
	int prim = c->hosts[host].primary;
	int tgt = cmm_config_pop_index(c, r->target);
	int src, dst;
	struct mirror_order o;
	struct mirror_job_status st;
	char *text = NULL, **items = NULL, *hosts[1], err[256] = "";
	size_t len, nitems = 0;
	int ret;

	if (tgt < 0) {
		snprintf(detail, dlen, "pop '%s' is not in the config", r->target);
		return -ENOENT;
	}
	/* A stage order pulls A's hot set into B; a re-sync pulls the host from B into A. */
	src = resync ? tgt : prim;
	dst = resync ? prim : tgt;
	memset(ord, 0, sizeof(*ord));
	ord->src = src;
	ord->dest = dst;
	if (!c->pops[src].mirror[0] || !c->pops[dst].mirror[0] || !a->mirror_ok) {
		ord->done = true;
		snprintf(detail, dlen, "skipped: %s", !a->mirror_ok ?
			 "tls-cert, tls-ca and order-key are needed to order mirrors" :
			 "no mirror agent configured at the source or destination");
		return 0;
	}
	if (!resync && (ret = plan_items(a, host, src, dst, &items, &nitems, ord, detail, dlen)))
		return ret;
	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%lld", (long long)r->id);
	snprintf(o.source, sizeof(o.source), "%s", c->pops[src].name);
	snprintf(o.source_addr, sizeof(o.source_addr), "%s", c->pops[src].mirror);
	snprintf(o.destination, sizeof(o.destination), "%s", c->pops[dst].name);
	o.expires = time(NULL) + (int64_t)(c->stage_timeout_ms / 1000) * 2 + 60;
	if (nitems) {
		o.items = items;
		o.nitems = nitems;
	} else {
		hosts[0] = (char *)c->hosts[host].name;
		o.hosts = hosts;
		o.nhosts = 1;
		/*
		 * The source may hold only part of the host (B was staged with
		 * the hot set): a whole-host pull must not delete the rest.
		 */
		o.keep = true;
	}
	ord->items = nitems;
	ret = mirror_order__sign(&o, c->order_key, &text, &len);
	/* the planned paths stay with the order: its verification checks them */
	ord->paths = nitems ? items : NULL;
	ord->npaths = nitems;
	if (!nitems)
		free(items);
	if (ret) {
		cmm_order_ref__clear(ord);
		snprintf(detail, dlen, "signing order %s with %s: %s", o.id, c->order_key,
			 mirror_strerror(ret));
		return ret;
	}
	ret = mirror_ctl_submit(&a->ctl, c->pops[dst].mirror, text, len, &st, err, sizeof(err));
	free(text);
	if (ret) {
		cmm_order_ref__clear(ord);
		snprintf(detail, dlen, "order %s to %s (%s): %s", o.id, c->pops[dst].name,
			 c->pops[dst].mirror, err[0] ? err : mirror_strerror(ret));
		return ret;
	}
	snprintf(ord->order_id, sizeof(ord->order_id), "%s", o.id);
	ord->done = st.state == MIRROR_JOB_DONE;
	snprintf(detail, dlen, "order %s: %s pulls %s%s from %s: %s", o.id, c->pops[dst].name,
		 nitems ? "hot items of " : "", c->hosts[host].name, c->pops[src].name,
		 mirror_job_state_name(st.state));
	return 0;
}

int cmm_act__apply(struct cmm_act *a, const struct cmm_journal_row *r, int host,
		   struct cmm_order_ref *ord, char *detail, size_t dlen)
{
	int act = cmm_action_from_name(r->action);

	memset(ord, 0, sizeof(*ord));
	ord->dest = -1;
	detail[0] = '\0';
	switch (act) {
	case CMM_ACT_NONE:
		snprintf(detail, dlen, "nothing to do");
		return 0;
	case CMM_ACT_DNS_STEER:
		return do_dns(a, r, host, false, detail, dlen);
	case CMM_ACT_DNS_RESTORE:
		return do_dns(a, r, host, true, detail, dlen);
	case CMM_ACT_PRIMARY_OFF:
		return do_primary(a, host, false, detail, dlen);
	case CMM_ACT_PRIMARY_ON:
		return do_primary(a, host, true, detail, dlen);
	case CMM_ACT_MIRROR_ORDER:
		return do_order(a, r, host, false, ord, detail, dlen);
	case CMM_ACT_RESYNC_ORDER:
		return do_order(a, r, host, true, ord, detail, dlen);
	default:
		snprintf(detail, dlen, "unknown action '%s'", r->action);
		return -EINVAL;
	}
}

void cmm_order_ref__clear(struct cmm_order_ref *o)
{
	for (size_t i = 0; i < o->npaths; i++)
		free(o->paths[i]);
	free(o->paths);
	o->paths = NULL;
	o->npaths = 0;
}

int cmm_act__verify(struct cmm_act *a, int host, const struct cmm_order_ref *o, char *detail,
		    size_t dlen)
{
	const struct cmm_config *c = a->cfg;
	const char *hn = c->hosts[host].name;
	struct mirror_manifest ms = { 0 }, md = { 0 };
	char err[256] = "";
	int ret, ok = 1;
	size_t n;

	ret = mirror_ctl_manifest(&a->ctl, c->pops[o->src].mirror, hn, &ms, err, sizeof(err));
	if (!ret)
		ret = mirror_ctl_manifest(&a->ctl, c->pops[o->dest].mirror, hn, &md, err, sizeof(err));
	if (ret) {
		snprintf(detail, dlen, "manifest of %s: %s", hn, err[0] ? err : mirror_strerror(ret));
		goto out;
	}
	n = o->paths ? o->npaths : ms.n;
	for (size_t i = 0; i < n && ok; i++) {
		const char *path = o->paths ? o->paths[i] : ms.v[i].path;
		struct mirror_entry *s = mirror_manifest__find(&ms, path);
		struct mirror_entry *d = mirror_manifest__find(&md, path);

		if (!s || !d || memcmp(s->sha, d->sha, 32)) {
			snprintf(detail, dlen, "%s: %s", path, !s ? "gone from the source" :
				 !d ? "missing at the destination" : "SHA-256 differs from the source");
			ok = 0;
		}
	}
	if (ok)
		snprintf(detail, dlen, "%zu item%s of %s verified at %s (SHA-256 = %s's)", n,
			 n == 1 ? "" : "s", hn, c->pops[o->dest].name, c->pops[o->src].name);
	ret = ok;
out:
	mirror_manifest__clear(&ms);
	mirror_manifest__clear(&md);
	return ret;
}

int cmm_act__job_status(struct cmm_act *a, int dest, const char *order_id, char *detail,
			size_t dlen)
{
	struct mirror_job_status st;
	char err[256] = "";
	int ret;

	ret = mirror_ctl_status(&a->ctl, a->cfg->pops[dest].mirror, order_id, &st, err, sizeof(err));
	if (ret) {
		snprintf(detail, dlen, "status of order %s at %s: %s", order_id,
			 a->cfg->pops[dest].name, err[0] ? err : mirror_strerror(ret));
		return 0; /* unreachable now: ask again next poll */
	}
	snprintf(detail, dlen, "%s", mirror_job_state_name(st.state));
	if (st.state == MIRROR_JOB_DONE)
		return 1;
	if (st.state == MIRROR_JOB_FAILED || st.state == MIRROR_JOB_UNKNOWN) {
		snprintf(detail, dlen, "order %s at %s: %s%s%s", order_id, a->cfg->pops[dest].name,
			 mirror_job_state_name(st.state), st.msg[0] ? ": " : "", st.msg);
		return -EIO;
	}
	return 0;
}
