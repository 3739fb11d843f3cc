// SPDX-License-Identifier: GPL-2.0-only
/*
 * Agent options shared by presage-mirrord and `presage mirror pull`, so
 * both spell every option the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirror/agent.h"
#include "mirror/opts.h"
#include "numparse.h"

const char mirror_cfg_usage[] =
	"  --root DIR          content store (DIR/<host>/<path>)\n"
	"  --pop NAME          this POP (must be the CN of --cert)\n"
	"  --region NAME       this POP's region (residency)\n"
	"  --policy FILE       residency policy: lines 'host NAME regions R1,R2'\n"
	"  --cert FILE --key FILE --ca FILE   TLS 1.3 identity and deployment CA (PEM)\n"
	"  --order-pub FILE    controller's Ed25519 public key (PEM)\n";

int mirror_cfg_opt(struct mirror_agent_cfg *cfg, const char *opt, const char *val, char *why,
		   size_t whylen)
{
	uint64_t u;
	static const struct {
		const char *name;
		size_t off;
	} s[] = {
		{ "--root", offsetof(struct mirror_agent_cfg, root) },
		{ "--pop", offsetof(struct mirror_agent_cfg, pop) },
		{ "--region", offsetof(struct mirror_agent_cfg, region) },
		{ "--policy", offsetof(struct mirror_agent_cfg, policy) },
		{ "--cert", offsetof(struct mirror_agent_cfg, cert) },
		{ "--key", offsetof(struct mirror_agent_cfg, key) },
		{ "--ca", offsetof(struct mirror_agent_cfg, ca) },
		{ "--order-pub", offsetof(struct mirror_agent_cfg, order_pub) },
		{ "--listen", offsetof(struct mirror_agent_cfg, listen) },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (strcmp(opt, s[i].name))
			continue;
		if (!val)
			goto missing;
		*(const char **)((char *)cfg + s[i].off) = val;
		return 1;
	}
	if (!strcmp(opt, "--parallel")) {
		if (!val)
			goto missing;
		if (parse_u64(val, 1, 64, &u)) {
			snprintf(why, whylen, "%s takes a whole number from 1 to 64, not '%s'", opt, val);
			return -1;
		}
		cfg->parallel = (int)u;
		return 1;
	}
	if (!strcmp(opt, "--bwlimit")) {
		if (!val)
			goto missing;
		if (parse_u64(val, 0, UINT64_MAX, &cfg->bwlimit)) {
			snprintf(why, whylen, "%s takes bytes per second (a whole number), not '%s'", opt,
				 val);
			return -1;
		}
		return 1;
	}
	return 0;
missing:
	snprintf(why, whylen, "%s needs a value", opt);
	return -1;
}

int mirror_cfg_check(const struct mirror_agent_cfg *cfg, bool server)
{
	const char *missing = !cfg->root ? "--root" : !cfg->pop ? "--pop" : !cfg->cert ? "--cert" :
			      !cfg->key ? "--key" : !cfg->ca ? "--ca" : !cfg->order_pub ? "--order-pub" :
			      server && !cfg->listen ? "--listen" :
			      !server && !cfg->region ? "--region" :
			      !server && !cfg->policy ? "--policy" : NULL;

	if (missing) {
		fprintf(stderr, "missing %s (see --help)\n", missing);
		return -1;
	}
	return 0;
}

void mirror_progress_print(FILE *f, const struct mirror_progress *p, bool json, bool tty)
{
	if (json) {
		fprintf(f,
			"{\"items_total\":%llu,\"items_done\":%llu,\"items_skipped\":%llu,"
			"\"items_failed\":%llu,\"items_deleted\":%llu,\"bytes_total\":%llu,"
			"\"bytes_done\":%llu,\"rate_bps\":%.0f,\"eta_s\":%.1f,\"elapsed_s\":%.2f,"
			"\"wire_rx\":%llu,\"wire_tx\":%llu,\"finished\":%s}\n",
			(unsigned long long)p->items_total, (unsigned long long)p->items_done,
			(unsigned long long)p->items_skipped, (unsigned long long)p->items_failed,
			(unsigned long long)p->items_deleted, (unsigned long long)p->bytes_total,
			(unsigned long long)p->bytes_done, p->rate_bps, p->eta_s, p->elapsed_s,
			(unsigned long long)p->wire_rx, (unsigned long long)p->wire_tx,
			p->finished ? "true" : "false");
	} else {
		fprintf(f,
			"%sitems %llu/%llu (%llu current, %llu failed)  %.1f/%.1f MB  %.1f MB/s  eta %.0fs%s",
			tty ? "\r" : "",
			(unsigned long long)(p->items_done + p->items_skipped),
			(unsigned long long)p->items_total, (unsigned long long)p->items_skipped,
			(unsigned long long)p->items_failed, p->bytes_done / 1e6, p->bytes_total / 1e6,
			p->rate_bps / 1e6, p->eta_s, tty ? "   " : "\n");
	}
	fflush(f);
}
