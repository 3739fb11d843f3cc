// SPDX-License-Identifier: GPL-2.0-only
/*
 * Topology, residency policy and the mirror planner. One file format for
 * all three, one fact per line, so the controller and every agent read the
 * same source of truth:
 *
 *   pop  <name> region <r> [free <bytes>] [bw <bytes/s>] [storage_cost <per GB>]
 *   link <pop> <pop> cost <per GB moved>
 *   host <hostname> regions <r1,r2,...>
 *
 * Sizes take K, M, G, T suffixes (powers of 1000 for bw, 1024 for bytes
 * would surprise operators who think of link rates; we use 1000 for both).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "mirror/mirror.h"

void mirror_topology__free(struct mirror_topology *t)
{
	if (!t)
		return;
	free(t->pops);
	free(t->links);
	free(t->hosts);
	memset(t, 0, sizeof(*t));
}

static int parse_size(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0 || !isfinite(v))
		return -MIRROR_ECONFIG;
	switch (*end) {
	case 'K': case 'k': v *= 1e3; end++; break;
	case 'M': case 'm': v *= 1e6; end++; break;
	case 'G': case 'g': v *= 1e9; end++; break;
	case 'T': case 't': v *= 1e12; end++; break;
	default: break;
	}
	if (*end)
		return -MIRROR_ECONFIG;
	*out = v;
	return 0;
}

static int grow(void **v, size_t n, size_t sz)
{
	void *nv;

	if (n & (n - 1))
		return 0;
	nv = realloc(*v, (n ? n * 2 : 1) * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	return 0;
}

static int copy_word(char *dst, size_t cap, const char *w)
{
	if (!w || strlen(w) >= cap || !*w)
		return -MIRROR_ECONFIG;
	strcpy(dst, w);
	return 0;
}

static int parse_line(struct mirror_topology *t, char *line)
{
	char *save = NULL, *w[16];
	int n = 0, err = 0;
	double v;

	for (char *tok = strtok_r(line, " \t", &save); tok && n < 16; tok = strtok_r(NULL, " \t", &save))
		w[n++] = tok;
	if (n == 0 || w[0][0] == '#')
		return 0;
	if (!strcmp(w[0], "pop")) {
		struct mirror_pop *p;

		if (n < 2 || (n % 2) != 0)
			return -MIRROR_ECONFIG;
		err = grow((void **)&t->pops, t->npops, sizeof(*t->pops));
		if (err)
			return err;
		p = &t->pops[t->npops];
		memset(p, 0, sizeof(*p));
		err = copy_word(p->name, sizeof(p->name), w[1]);
		for (int i = 2; i + 1 < n && !err; i += 2) {
			if (!strcmp(w[i], "region")) {
				err = copy_word(p->region, sizeof(p->region), w[i + 1]);
			} else if (!strcmp(w[i], "free")) {
				err = parse_size(w[i + 1], &v);
				p->free_bytes = (uint64_t)v;
			} else if (!strcmp(w[i], "bw")) {
				err = parse_size(w[i + 1], &v);
				p->bw_bps = v;
			} else if (!strcmp(w[i], "storage_cost")) {
				err = parse_size(w[i + 1], &p->storage_cost_gb);
			} else {
				err = -MIRROR_ECONFIG;
			}
		}
		if (!err && !p->region[0])
			err = -MIRROR_ECONFIG;
		if (!err)
			t->npops++;
	} else if (!strcmp(w[0], "link")) {
		struct mirror_link *l;

		if (n != 5 || strcmp(w[3], "cost"))
			return -MIRROR_ECONFIG;
		err = grow((void **)&t->links, t->nlinks, sizeof(*t->links));
		if (err)
			return err;
		l = &t->links[t->nlinks];
		err = copy_word(l->a, sizeof(l->a), w[1]);
		if (!err)
			err = copy_word(l->b, sizeof(l->b), w[2]);
		if (!err)
			err = parse_size(w[4], &l->cost_gb);
		if (!err)
			t->nlinks++;
	} else if (!strcmp(w[0], "host")) {
		struct mirror_hostpol *h;
		char *s2 = NULL;

		if (n != 4 || strcmp(w[2], "regions") || mirror_host_check(w[1]))
			return -MIRROR_ECONFIG;
		err = grow((void **)&t->hosts, t->nhosts, sizeof(*t->hosts));
		if (err)
			return err;
		h = &t->hosts[t->nhosts];
		memset(h, 0, sizeof(*h));
		err = copy_word(h->host, sizeof(h->host), w[1]);
		for (char *r = strtok_r(w[3], ",", &s2); r && !err; r = strtok_r(NULL, ",", &s2)) {
			if (h->nregions >= 8)
				return -MIRROR_ECONFIG;
			err = copy_word(h->regions[h->nregions++], sizeof(h->regions[0]), r);
		}
		if (!err)
			t->nhosts++;
	} else {
		return -MIRROR_ECONFIG;
	}
	return err;
}

int mirror_topology__parse(struct mirror_topology *t, const char *buf, size_t len)
{
	char line[1024];
	size_t off = 0;
	int lineno = 0, err;

	memset(t, 0, sizeof(*t));
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (buf + off)) : len - off;

		lineno++;
		if (ll >= sizeof(line)) {
			err = -MIRROR_ECONFIG;
			goto fail;
		}
		memcpy(line, buf + off, ll);
		line[ll] = '\0';
		off += ll + 1;
		err = parse_line(t, line);
		if (err) {
			pr_err("mirror: topology line %d: %s\n", lineno, mirror_strerror(err));
			goto fail;
		}
	}
	return 0;
fail:
	mirror_topology__free(t);
	return err;
}

int mirror_topology__load(struct mirror_topology *t, const char *path)
{
	char *buf;
	size_t len;
	int err;

	err = read_file_all(path, 16 << 20, &buf, &len);
	if (err) {
		pr_err("mirror: cannot read topology/policy %s: %s\n", path, strerror(-err));
		return err;
	}
	err = mirror_topology__parse(t, buf, len);
	free(buf);
	return err;
}

int mirror_residency_check(const struct mirror_topology *t, const char *host, const char *region)
{
	for (size_t i = 0; i < t->nhosts; i++) {
		if (strcmp(t->hosts[i].host, host))
			continue;
		for (int r = 0; r < t->hosts[i].nregions; r++)
			if (!strcmp(t->hosts[i].regions[r], region))
				return 0;
		return -MIRROR_ERESIDENCY;
	}
	return -MIRROR_ERESIDENCY;
}

static const struct mirror_pop *find_pop(const struct mirror_topology *t, const char *name)
{
	for (size_t i = 0; i < t->npops; i++)
		if (!strcmp(t->pops[i].name, name))
			return &t->pops[i];
	return NULL;
}

static const struct mirror_link *find_link(const struct mirror_topology *t, const char *a,
					   const char *b)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if ((!strcmp(t->links[i].a, a) && !strcmp(t->links[i].b, b)) ||
		    (!strcmp(t->links[i].a, b) && !strcmp(t->links[i].b, a)))
			return &t->links[i];
	return NULL;
}

void mirror_plan__free(struct mirror_plan *p)
{
	if (!p)
		return;
	free(p->cands);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static const struct mirror_plan_item *sort_base;

/* Most request rate per byte first: the greedy order for a knapsack. */
static int density_cmp(const void *a, const void *b)
{
	const struct mirror_plan_item *x = &sort_base[*(const size_t *)a];
	const struct mirror_plan_item *y = &sort_base[*(const size_t *)b];
	double dx = x->rate / (double)(x->size ? x->size : 1);
	double dy = y->rate / (double)(y->size ? y->size : 1);

	if (dx != dy)
		return dx < dy ? 1 : -1;
	return x->rate < y->rate ? 1 : x->rate > y->rate ? -1 : 0;
}

static const char *const WHY_CHOSEN = "chosen: most request rate per byte that fits every budget";
static const char *const WHY_RESIDENCY = "skipped: residency policy forbids the destination's region";
static const char *const WHY_DISK = "skipped: would exceed free disk at the destination";
static const char *const WHY_BYTES = "skipped: would exceed the byte budget";
static const char *const WHY_COST = "skipped: would exceed the cost budget";
static const char *const WHY_TIME = "skipped: transfer would not finish within the lead time";
static const char *const WHY_NODEST = "skipped: no eligible destination";

/*
 * Fill @chosen for @pop; returns covered rate. With @why set, record the
 * reason for each item.
 */
static double plan_for(const struct mirror_topology *t, const struct mirror_plan_req *req,
		       const struct mirror_pop *dst, double link_cost, const size_t *order,
		       struct mirror_plan_item *items, size_t n, struct mirror_plan_cand *c)
{
	double cost_per_byte = (link_cost + dst->storage_cost_gb) / 1e9;
	double time_cap = dst->bw_bps > 0 ? dst->bw_bps * req->lead_s : INFINITY;
	uint64_t bytes = 0;
	double rate = 0, cost = 0;

	for (size_t k = 0; k < n; k++) {
		struct mirror_plan_item *it = &items[order[k]];
		char host[MIRROR_HOST_MAX + 1];
		const char *s = strchr(it->path, '/');
		size_t hl = s ? (size_t)(s - it->path) : strlen(it->path);
		double ncost = cost + cost_per_byte * (double)it->size;

		it->chosen = false;
		if (hl > MIRROR_HOST_MAX)
			hl = MIRROR_HOST_MAX;
		memcpy(host, it->path, hl);
		host[hl] = '\0';
		if (mirror_residency_check(t, host, dst->region)) {
			it->why = WHY_RESIDENCY;
			continue;
		}
		if (bytes + it->size > dst->free_bytes) {
			it->why = WHY_DISK;
			continue;
		}
		if (req->budget_bytes && bytes + it->size > req->budget_bytes) {
			it->why = WHY_BYTES;
			continue;
		}
		if (req->budget_cost > 0 && ncost > req->budget_cost) {
			it->why = WHY_COST;
			continue;
		}
		/* The set shrinks until its estimated time fits the lead time. */
		if ((double)(bytes + it->size) > time_cap) {
			it->why = WHY_TIME;
			continue;
		}
		it->chosen = true;
		it->why = WHY_CHOSEN;
		bytes += it->size;
		rate += it->rate;
		cost = ncost;
		c->nitems++;
	}
	c->rate = rate;
	c->bytes = bytes;
	c->cost = cost;
	c->eta_s = dst->bw_bps > 0 ? (double)bytes / dst->bw_bps : 0;
	return rate;
}

int mirror_plan__make(struct mirror_plan *p, const struct mirror_topology *t,
		      const struct mirror_plan_req *req, const struct mirror_plan_item *in,
		      size_t n)
{
	const struct mirror_pop *src = find_pop(t, req->at_risk);
	size_t *order = NULL, best = (size_t)-1;
	int err = 0;

	memset(p, 0, sizeof(*p));
	if (!src)
		return -MIRROR_ECONFIG;
	p->items = calloc(n ? n : 1, sizeof(*p->items));
	p->cands = calloc(t->npops ? t->npops : 1, sizeof(*p->cands));
	order = calloc(n ? n : 1, sizeof(*order));
	if (!p->items || !p->cands || !order) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(p->items, in, n * sizeof(*in));
	p->nitems = n;
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		p->total_rate += in[i].rate;
	}
	sort_base = p->items;
	qsort(order, n, sizeof(*order), density_cmp);
	for (size_t i = 0; i < t->npops; i++) {
		const struct mirror_pop *d = &t->pops[i];
		struct mirror_plan_cand *c = &p->cands[p->ncands];
		const struct mirror_link *l;

		if (d == src)
			continue;
		p->ncands++;
		snprintf(c->pop, sizeof(c->pop), "%s", d->name);
		l = find_link(t, src->name, d->name);
		if (!l) {
			snprintf(c->why, sizeof(c->why), "no link from %s", src->name);
			continue;
		}
		plan_for(t, req, d, l->cost_gb, order, p->items, n, c);
		if (c->nitems == 0) {
			snprintf(c->why, sizeof(c->why), "no hot item fits (residency or capacity)");
			continue;
		}
		c->eligible = true;
		snprintf(c->why, sizeof(c->why), "covers %.1f req/s with %zu items, %.2f cost, %.0f s",
			 c->rate, c->nitems, c->cost, c->eta_s);
		if (best == (size_t)-1 || c->rate > p->cands[best].rate ||
		    (c->rate == p->cands[best].rate && c->cost < p->cands[best].cost))
			best = p->ncands - 1;
	}
	if (best == (size_t)-1) {
		for (size_t i = 0; i < n; i++) {
			p->items[i].chosen = false;
			p->items[i].why = WHY_NODEST;
		}
		goto out;
	}
	/* Recompute the winner's set so chosen/why describe it. */
	{
		struct mirror_plan_cand *c = &p->cands[best];
		const struct mirror_pop *d = find_pop(t, c->pop);

		c->nitems = 0;
		plan_for(t, req, d, find_link(t, src->name, d->name)->cost_gb, order, p->items, n, c);
		snprintf(c->why, sizeof(c->why),
			 "chosen: most request rate covered (%.1f of %.1f req/s), %.2f cost, %.0f s of %.0f s lead",
			 c->rate, p->total_rate, c->cost, c->eta_s, req->lead_s);
		snprintf(p->destination, sizeof(p->destination), "%s", c->pop);
		p->rate = c->rate;
		p->cost = c->cost;
		p->bytes = c->bytes;
		p->eta_s = c->eta_s;
	}
out:
	free(order);
	if (err)
		mirror_plan__free(p);
	return err;
}
