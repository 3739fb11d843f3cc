// SPDX-License-Identifier: GPL-2.0-only
/* The controller's config parser; see cmm_config.h and docs/controller.md. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cmm_config.h"
#include "config.h"
#include "numparse.h"

#define MAX_WORDS 12

void cmm_config_defaults(struct cmm_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/presage/cmmd");
	snprintf(c->control, sizeof(c->control), "/run/presage/cmmd.sock");
	c->poll_ms = 1000;
	c->stale_ms = 5000;
	c->horizon_s = 600;
	c->enter = 0.6;
	c->exit = 0.3;
	c->confirm_ms = 3000;
	c->dwell_ms = 10000;
	c->healthy_dwell_ms = 30000;
	c->probe_loss_fail = 0.5;
	c->probe_loss_for_ms = 3000;
	c->routes_fail = 0.9;
	c->budget_bytes = 10000000000ULL;
	c->budget_cost = 100;
	c->lead_ms = 600000;
	c->stage_timeout_ms = 120000;
	c->hot_items = 200;
	c->dns_port = 53;
	c->dns_ttl = 5;
}

int cmm_parse_duration_ms(const char *s, uint64_t *ms)
{
	char *end;
	double v, mul;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || !isdigit((unsigned char)*s))
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "s"))
		mul = 1e3;
	else if (!strcmp(end, "m"))
		mul = 60e3;
	else if (!strcmp(end, "h"))
		mul = 3600e3;
	else
		return -EINVAL;
	if (v * mul > 30 * 86400e3)
		return -EINVAL;
	*ms = (uint64_t)llround(v * mul);
	return 0;
}

int cmm_parse_size(const char *s, double *out)
{
	char *end;
	double v, mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || !isdigit((unsigned char)*s))
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': mul = 1e3; end++; break;
	case 'M': mul = 1e6; end++; break;
	case 'G': mul = 1e9; end++; break;
	case 'T': mul = 1e12; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end || v * mul > 1e18)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* "50%" or "0.5" into a fraction in (0, 1]. */
static int parse_share(const char *s, double *out)
{
	char buf[32];
	size_t n = strlen(s);
	double v;

	if (n && s[n - 1] == '%') {
		if (n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, n - 1);
		buf[n - 1] = '\0';
		if (parse_dbl(buf, 0, 100, &v) || v <= 0)
			return -EINVAL;
		*out = v / 100;
		return 0;
	}
	if (parse_dbl(s, 0, 1, &v) || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int one_arg(struct config_parser *p, int n, const char *key, const char *what)
{
	if (n != 2)
		return config_perr(p, "'%s' takes %s", key, what);
	return 0;
}

static int set_str(struct config_parser *p, char *dst, size_t cap, const char *key, const char *v)
{
	if (strlen(v) >= cap)
		return config_perr(p, "%s '%s' is too long (at most %zu characters)", key, v, cap - 1);
	snprintf(dst, cap, "%s", v);
	return 0;
}

static int set_dur(struct config_parser *p, uint64_t *dst, const char *key, const char *v,
		   uint64_t min, uint64_t max, const char *range)
{
	if (cmm_parse_duration_ms(v, dst) || *dst < min || *dst > max)
		return config_perr(p, "%s '%s' must be a duration from %s (with ms, s, m or h)", key, v,
				   range);
	return 0;
}

/* host:port with a numeric IPv4 host or [IPv6]:port. */
static bool valid_addr_port(const char *s)
{
	return parse_listen(s, NULL, 0, NULL) == 0;
}

static int global_key(struct config_parser *p, struct cmm_config *c, char **w, int n)
{
	const char *k = w[0];
	int err;

	if (!strcmp(k, "state-dir")) {
		if ((err = one_arg(p, n, k, "one absolute directory path")))
			return err;
		if (w[1][0] != '/')
			return config_perr(p, "state-dir '%s' must be an absolute path", w[1]);
		return set_str(p, c->state_dir, sizeof(c->state_dir), k, w[1]);
	}
	if (!strcmp(k, "control")) {
		if ((err = one_arg(p, n, k, "one absolute UNIX socket path")))
			return err;
		if (w[1][0] != '/')
			return config_perr(p, "control '%s' must be an absolute path", w[1]);
		return set_str(p, c->control, sizeof(c->control), k, w[1]);
	}
	if (!strcmp(k, "listen")) {
		if ((err = one_arg(p, n, k, "ADDRESS:PORT, [IPv6]:PORT or off")))
			return err;
		if (!strcmp(w[1], "off")) {
			c->listen[0] = '\0';
			return 0;
		}
		if (!valid_addr_port(w[1]))
			return config_perr(p, "listen '%s' is not ADDRESS:PORT, [IPv6]:PORT or off", w[1]);
		return set_str(p, c->listen, sizeof(c->listen), k, w[1]);
	}
	if (!strcmp(k, "poll-interval")) {
		if ((err = one_arg(p, n, k, "one duration, e.g. 1s")))
			return err;
		return set_dur(p, &c->poll_ms, k, w[1], 100, 60000, "100ms to 60s");
	}
	if (!strcmp(k, "stale-after")) {
		if ((err = one_arg(p, n, k, "one duration, e.g. 5s")))
			return err;
		return set_dur(p, &c->stale_ms, k, w[1], 200, 3600000, "200ms to 1h");
	}
	if (!strcmp(k, "tls-ca") || !strcmp(k, "tls-cert") || !strcmp(k, "tls-key") ||
	    !strcmp(k, "order-key")) {
		char *dst = !strcmp(k, "tls-ca") ? c->tls_ca : !strcmp(k, "tls-cert") ? c->tls_cert :
			    !strcmp(k, "tls-key") ? c->tls_key : c->order_key;

		if ((err = one_arg(p, n, k, "one file path")))
			return err;
		return set_str(p, dst, CMM_PATH_MAX, k, w[1]);
	}
	return config_perr(p, "unknown key '%s' (expected state-dir, control, listen, poll-interval, stale-after, tls-ca, tls-cert, tls-key, order-key, pfa {, policy {, dns {, pop NAME {, link, or hostname NAME {)",
			   k);
}

static int pfa_key(struct config_parser *p, struct cmm_config *c, char **w, int n)
{
	const char *k = w[0];
	uint64_t ms;
	int err;

	if ((err = one_arg(p, n, k, "one value")))
		return err;
	if (!strcmp(k, "horizon")) {
		if (cmm_parse_duration_ms(w[1], &ms) || ms < 300000 || ms > 1800000 || ms % 1000)
			return config_perr(p, "horizon '%s' must be a duration from 5m to 30m", w[1]);
		c->horizon_s = (uint32_t)(ms / 1000);
		return 0;
	}
	if (!strcmp(k, "config"))
		return set_str(p, c->pfa_config, sizeof(c->pfa_config), k, w[1]);
	if (!strcmp(k, "enter") || !strcmp(k, "exit")) {
		double v;

		if (parse_dbl(w[1], 0, 1, &v) || v <= 0 || v >= 1)
			return config_perr(p, "%s '%s' must be a probability between 0 and 1 (e.g. 0.6)", k,
					   w[1]);
		*(k[1] == 'n' ? &c->enter : &c->exit) = v;
		return 0;
	}
	if (!strcmp(k, "confirm"))
		return set_dur(p, &c->confirm_ms, k, w[1], 0, 3600000, "0s to 1h");
	return config_perr(p, "unknown key '%s' in pfa { } (expected horizon, config, enter, exit or confirm)",
			   k);
}

static int policy_key(struct config_parser *p, struct cmm_config *c, char **w, int n)
{
	const char *k = w[0];
	double v;
	int err;

	if ((err = one_arg(p, n, k, "one value")))
		return err;
	if (!strcmp(k, "dwell"))
		return set_dur(p, &c->dwell_ms, k, w[1], 0, 86400000, "0s to 24h");
	if (!strcmp(k, "healthy-dwell"))
		return set_dur(p, &c->healthy_dwell_ms, k, w[1], 0, 86400000, "0s to 24h");
	if (!strcmp(k, "probe-loss-for"))
		return set_dur(p, &c->probe_loss_for_ms, k, w[1], 0, 3600000, "0s to 1h");
	if (!strcmp(k, "lead"))
		return set_dur(p, &c->lead_ms, k, w[1], 1000, 86400000, "1s to 24h");
	if (!strcmp(k, "stage-timeout"))
		return set_dur(p, &c->stage_timeout_ms, k, w[1], 1000, 86400000, "1s to 24h");
	if (!strcmp(k, "probe-loss-fail") || !strcmp(k, "routes-fail")) {
		if (parse_share(w[1], &v))
			return config_perr(p, "%s '%s' must be a share above 0 and at most 100%% (e.g. 50%%)",
					   k, w[1]);
		*(k[0] == 'p' ? &c->probe_loss_fail : &c->routes_fail) = v;
		return 0;
	}
	if (!strcmp(k, "budget-bytes")) {
		if (cmm_parse_size(w[1], &v))
			return config_perr(p, "budget-bytes '%s' is not a size (e.g. 10G; K M G T are powers of 1000)",
					   w[1]);
		c->budget_bytes = (uint64_t)v;
		return 0;
	}
	if (!strcmp(k, "budget-cost")) {
		if (parse_dbl(w[1], 0, 1e12, &v))
			return config_perr(p, "budget-cost '%s' is not a number >= 0", w[1]);
		c->budget_cost = v;
		return 0;
	}
	if (!strcmp(k, "hot-items")) {
		if (parse_dbl(w[1], 1, 100000, &v) || v != floor(v))
			return config_perr(p, "hot-items '%s' must be a whole number from 1 to 100000", w[1]);
		c->hot_items = (uint32_t)v;
		return 0;
	}
	return config_perr(p, "unknown key '%s' in policy { } (expected dwell, healthy-dwell, probe-loss-fail, probe-loss-for, routes-fail, budget-bytes, budget-cost, lead, stage-timeout or hot-items)",
			   k);
}

static int dns_key(struct config_parser *p, struct cmm_config *c, char **w, int n)
{
	const char *k = w[0];
	double v;
	int err;

	if ((err = one_arg(p, n, k, "one value")))
		return err;
	if (!strcmp(k, "server")) {
		char host[64], *hash;
		unsigned char a[16];

		if (set_str(p, host, sizeof(host), k, w[1]))
			return -EINVAL;
		hash = strchr(host, '#');
		c->dns_port = 53;
		if (hash) {
			*hash++ = '\0';
			if (parse_dbl(hash, 1, 65535, &v) || v != floor(v))
				return config_perr(p, "server '%s': port after '#' must be 1-65535", w[1]);
			c->dns_port = (uint16_t)v;
		}
		if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
			return config_perr(p, "server '%s' is not a numeric IPv4 or IPv6 address with an optional #PORT",
					   w[1]);
		snprintf(c->dns_server, sizeof(c->dns_server), "%s", host);
		return 0;
	}
	if (!strcmp(k, "zone"))
		return set_str(p, c->dns_zone, sizeof(c->dns_zone), k, w[1]);
	if (!strcmp(k, "key-file"))
		return set_str(p, c->key_file, sizeof(c->key_file), k, w[1]);
	if (!strcmp(k, "key-name"))
		return set_str(p, c->key_name, sizeof(c->key_name), k, w[1]);
	if (!strcmp(k, "ttl")) {
		if (parse_dbl(w[1], 1, 86400, &v) || v != floor(v))
			return config_perr(p, "ttl '%s' must be whole seconds from 1 to 86400", w[1]);
		c->dns_ttl = (uint32_t)v;
		return 0;
	}
	return config_perr(p, "unknown key '%s' in dns { } (expected server, zone, key-file, key-name or ttl)",
			   k);
}

static int pop_key(struct config_parser *p, struct cmm_config *c, struct cmm_pop *pop, char **w,
		   int n)
{
	const char *k = w[0];
	double v;
	int err;

	if (!strcmp(k, "address")) {
		unsigned char a[16];

		if ((err = one_arg(p, n, k, "one IPv4 or IPv6 address")))
			return err;
		if (inet_pton(AF_INET, w[1], a) != 1 && inet_pton(AF_INET6, w[1], a) != 1)
			return config_perr(p, "address '%s' is not an IPv4 or IPv6 address", w[1]);
		if (pop->naddr == CMM_MAX_ADDRS)
			return config_perr(p, "pop '%s' has more than %d addresses", pop->name, CMM_MAX_ADDRS);
		snprintf(pop->addrs[pop->naddr++], sizeof(pop->addrs[0]), "%s", w[1]);
		return 0;
	}
	if ((err = one_arg(p, n, k, "one value")))
		return err;
	if (!strcmp(k, "agent") || !strcmp(k, "mirror")) {
		if (!valid_addr_port(w[1]))
			return config_perr(p, "%s '%s' is not ADDRESS:PORT or [IPv6]:PORT", k, w[1]);
		return set_str(p, k[0] == 'a' ? pop->agent : pop->mirror, sizeof(pop->agent), k,
			       w[1]);
	}
	if (!strcmp(k, "region")) {
		if (!config_valid_name(w[1], sizeof(pop->region)))
			return config_perr(p, "region '%s' must be 1-%zu letters, digits, '-', '_', '.'",
					   w[1], sizeof(pop->region) - 1);
		snprintf(pop->region, sizeof(pop->region), "%s", w[1]);
		return 0;
	}
	if (!strcmp(k, "free") || !strcmp(k, "bw")) {
		if (cmm_parse_size(w[1], &v))
			return config_perr(p, "%s '%s' is not a size (e.g. 2T, 200M; powers of 1000)", k,
					   w[1]);
		if (k[0] == 'f')
			pop->free_bytes = (uint64_t)v;
		else
			pop->bw_bps = v;
		return 0;
	}
	if (!strcmp(k, "storage-cost")) {
		if (parse_dbl(w[1], 0, 1e9, &v))
			return config_perr(p, "storage-cost '%s' is not a number >= 0", w[1]);
		pop->storage_cost = v;
		return 0;
	}
	(void)c;
	return config_perr(p, "unknown key '%s' in pop '%s' (expected agent, mirror, region, address, free, bw or storage-cost)",
			   k, pop->name);
}

static int host_key(struct config_parser *p, struct cmm_config *c, struct cmm_host *h, char **w,
		    int n)
{
	const char *k = w[0];
	double v;
	int err;

	if ((err = one_arg(p, n, k, "one value")))
		return err;
	if (!strcmp(k, "primary")) {
		/* resolved after the whole file: a pop may be defined further down */
		if (!config_valid_name(w[1], 32))
			return config_perr(p, "primary '%s' is not a pop name", w[1]);
		snprintf(h->primary_name, sizeof(h->primary_name), "%s", w[1]);
		h->primary_line = p->line;
		return 0;
	}
	if (!strcmp(k, "regions")) {
		char *s = w[1], *tok, *save = NULL;

		h->nregions = 0;
		for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!config_valid_name(tok, sizeof(h->regions[0])))
				return config_perr(p, "region '%s' must be letters, digits, '-', '_', '.' (regions is a comma-separated list, e.g. eu,us)",
						   tok);
			if (h->nregions == CMM_MAX_REGIONS)
				return config_perr(p, "more than %d regions", CMM_MAX_REGIONS);
			snprintf(h->regions[h->nregions++], sizeof(h->regions[0]), "%s", tok);
		}
		if (!h->nregions)
			return config_perr(p, "regions needs at least one region (e.g. eu,us)");
		return 0;
	}
	if (!strcmp(k, "ttl")) {
		if (parse_dbl(w[1], 1, 86400, &v) || v != floor(v))
			return config_perr(p, "ttl '%s' must be whole seconds from 1 to 86400", w[1]);
		h->ttl = (uint32_t)v;
		return 0;
	}
	return config_perr(p, "unknown key '%s' in hostname '%s' (expected primary, regions or ttl)", k,
			   h->name);
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

int cmm_config_pop_index(const struct cmm_config *c, const char *name)
{
	for (int i = 0; i < c->npops; i++)
		if (!strcmp(c->pops[i].name, name))
			return i;
	return -1;
}

double cmm_config_link_cost(const struct cmm_config *c, int a, int b)
{
	for (int i = 0; i < c->nlinks; i++)
		if ((c->links[i].a == a && c->links[i].b == b) ||
		    (c->links[i].a == b && c->links[i].b == a))
			return c->links[i].cost;
	return -1;
}

bool cmm_config_resident(const struct cmm_config *c, int host, int pop)
{
	const struct cmm_host *h = &c->hosts[host];

	if (!h->nregions)
		return true;
	for (int i = 0; i < h->nregions; i++)
		if (!strcmp(h->regions[i], c->pops[pop].region))
			return true;
	return false;
}

enum block { B_NONE, B_PFA, B_POLICY, B_DNS, B_POP, B_HOST };

/* Names of pops in links and primaries, once every pop is known. */
static int resolve(struct config_parser *p, struct cmm_config *c)
{
	for (int i = 0; i < c->nlinks; i++) {
		struct cmm_pop_link *l = &c->links[i];

		p->line = l->line;
		l->a = cmm_config_pop_index(c, l->an);
		l->b = cmm_config_pop_index(c, l->bn);
		if (l->a < 0 || l->b < 0)
			return config_perr(p, "link names unknown pop '%s' (there is no 'pop %s { ... }' in the file)",
					   l->a < 0 ? l->an : l->bn, l->a < 0 ? l->an : l->bn);
		if (l->a == l->b)
			return config_perr(p, "link from pop '%s' to itself", l->an);
		for (int j = 0; j < i; j++)
			if ((c->links[j].a == l->a && c->links[j].b == l->b) ||
			    (c->links[j].a == l->b && c->links[j].b == l->a))
				return config_perr(p, "link %s %s is already defined on line %d", l->an, l->bn,
						   c->links[j].line);
	}
	for (int i = 0; i < c->nhosts; i++) {
		struct cmm_host *h = &c->hosts[i];

		if (!h->primary_name[0])
			continue;
		p->line = h->primary_line;
		h->primary = cmm_config_pop_index(c, h->primary_name);
		if (h->primary < 0)
			return config_perr(p, "hostname '%s': primary '%s' is not a pop (there is no 'pop %s { ... }' in the file)",
					   h->name, h->primary_name, h->primary_name);
	}
	return 0;
}

static int check_all(struct config_parser *p, struct cmm_config *c)
{
	int err;

	if ((err = resolve(p, c)))
		return err;
	p->line = 0;
	if (c->exit >= c->enter)
		return config_perr(p, "pfa exit %.2f must be below enter %.2f (the gap is the hysteresis)",
				   c->exit, c->enter);
	if (c->stale_ms < c->poll_ms)
		return config_perr(p, "stale-after (%llu ms) must be at least poll-interval (%llu ms)",
				   (unsigned long long)c->stale_ms, (unsigned long long)c->poll_ms);
	if (!c->npops)
		return config_perr(p, "no pop defined (add 'pop NAME { agent ADDR:PORT ... }')");
	for (int i = 0; i < c->npops; i++) {
		p->line = c->pops[i].line;
		if (!c->pops[i].agent[0])
			return config_perr(p, "pop '%s' has no 'agent ADDRESS:PORT' (its ihmd health API)",
					   c->pops[i].name);
		if (!c->pops[i].naddr)
			return config_perr(p, "pop '%s' has no 'address' (the client-facing address DNS steers to)",
					   c->pops[i].name);
	}
	for (int i = 0; i < c->nhosts; i++) {
		p->line = c->hosts[i].line;
		if (c->hosts[i].primary < 0)
			return config_perr(p, "hostname '%s' has no 'primary POP'", c->hosts[i].name);
	}
	p->line = 0;
	if (c->nhosts && !c->have_dns)
		return config_perr(p, "hostnames are steered but there is no dns { } block (server, zone, key-file)");
	if (c->have_dns && !c->dns_server[0])
		return config_perr(p, "dns { } has no 'server ADDRESS[#PORT]' (the authoritative primary)");
	if (c->have_dns && !c->dns_zone[0])
		return config_perr(p, "dns { } has no 'zone NAME'");
	if (c->have_dns && !c->key_file[0])
		return config_perr(p, "dns { } has no 'key-file PATH' (TSIG key from tsig-keygen)");
	if ((!c->tls_cert[0]) != (!c->tls_key[0]))
		return config_perr(p, "tls-cert and tls-key go together: give both or neither");
	if (c->tls_cert[0] && !c->tls_ca[0])
		return config_perr(p, "tls-cert needs tls-ca (the CA that signed the agents' certificates)");
	return 0;
}

int cmm_config_parse(struct cmm_config *c, char *text, const char *path, char *err,
		     size_t errlen)
{
	struct config_parser p = { .path = path, .err = err, .errlen = errlen };
	enum block blk = B_NONE;
	int blk_line = 0;
	struct cmm_pop *pop = NULL;
	struct cmm_host *host = NULL;
	char *line, *next, *w[MAX_WORDS];
	int n, ret;

	cmm_config_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		n = config_split_line(&p, line, w, MAX_WORDS);
		if (n < 0)
			return n;
		if (n == 0)
			continue;
		if (!strcmp(w[0], "}")) {
			if (n != 1)
				return config_perr(&p, "text after '}'");
			if (blk == B_NONE)
				return config_perr(&p, "'}' without an open block");
			blk = B_NONE;
			continue;
		}
		switch (blk) {
		case B_PFA: ret = pfa_key(&p, c, w, n); break;
		case B_POLICY: ret = policy_key(&p, c, w, n); break;
		case B_DNS: ret = dns_key(&p, c, w, n); break;
		case B_POP: ret = pop_key(&p, c, pop, w, n); break;
		case B_HOST: ret = host_key(&p, c, host, w, n); break;
		default: ret = 1; break;
		}
		if (ret <= 0) {
			if (ret)
				return ret;
			continue;
		}
		if (!strcmp(w[0], "pfa") || !strcmp(w[0], "policy") || !strcmp(w[0], "dns")) {
			if (n != 2 || strcmp(w[1], "{"))
				return config_perr(&p, "expected '%s {'", w[0]);
			blk = w[0][0] == 'p' ? (w[0][1] == 'f' ? B_PFA : B_POLICY) : B_DNS;
			if (blk == B_DNS)
				c->have_dns = true;
			blk_line = p.line;
			continue;
		}
		if (!strcmp(w[0], "pop")) {
			if (n != 3 || strcmp(w[2], "{"))
				return config_perr(&p, "expected 'pop NAME {'");
			if (!config_valid_name(w[1], 32))
				return config_perr(&p, "pop name '%s' must be 1-31 letters, digits, '-', '_', '.'",
						   w[1]);
			if ((ret = cmm_config_pop_index(c, w[1])) >= 0)
				return config_perr(&p, "pop '%s' is already defined on line %d", w[1],
						   c->pops[ret].line);
			if (c->npops == CMM_MAX_POPS)
				return config_perr(&p, "more than %d pops", CMM_MAX_POPS);
			pop = &c->pops[c->npops++];
			snprintf(pop->name, sizeof(pop->name), "%s", w[1]);
			pop->line = blk_line = p.line;
			blk = B_POP;
			continue;
		}
		if (!strcmp(w[0], "hostname")) {
			if (n != 3 || strcmp(w[2], "{"))
				return config_perr(&p, "expected 'hostname NAME {'");
			if (!valid_hostname(w[1]))
				return config_perr(&p, "hostname '%s' is not a DNS name", w[1]);
			for (int i = 0; i < c->nhosts; i++)
				if (!strcasecmp(c->hosts[i].name, w[1]))
					return config_perr(&p, "hostname '%s' is already defined on line %d",
							   w[1], c->hosts[i].line);
			if (c->nhosts == CMM_MAX_HOSTS)
				return config_perr(&p, "more than %d hostnames", CMM_MAX_HOSTS);
			host = &c->hosts[c->nhosts++];
			snprintf(host->name, sizeof(host->name), "%s", w[1]);
			host->primary = -1;
			host->line = blk_line = p.line;
			blk = B_HOST;
			continue;
		}
		if (!strcmp(w[0], "link")) {
			struct cmm_pop_link *l;
			double v;

			if (n != 5 || strcmp(w[3], "cost"))
				return config_perr(&p, "expected 'link POP POP cost PER-GB'");
			if (!config_valid_name(w[1], 32) || !config_valid_name(w[2], 32))
				return config_perr(&p, "link '%s' '%s': not pop names", w[1], w[2]);
			if (parse_dbl(w[4], 0, 1e9, &v))
				return config_perr(&p, "link cost '%s' is not a number >= 0", w[4]);
			if (c->nlinks == CMM_MAX_POP_LINKS)
				return config_perr(&p, "more than %d links", CMM_MAX_POP_LINKS);
			l = &c->links[c->nlinks++];
			snprintf(l->an, sizeof(l->an), "%s", w[1]);
			snprintf(l->bn, sizeof(l->bn), "%s", w[2]);
			l->a = l->b = -1;
			l->cost = v;
			l->line = p.line;
			continue;
		}
		if ((ret = global_key(&p, c, w, n)))
			return ret;
	}
	if (blk != B_NONE) {
		p.line = blk_line;
		return config_perr(&p, "block opened here is not closed with '}'");
	}
	return check_all(&p, c);
}

int cmm_config_load(const char *path, struct cmm_config *c, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	ret = config_read_text(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = cmm_config_parse(c, buf, path, err, errlen);
	free(buf);
	return ret;
}
