/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller's configuration file (docs/controller.md, "cmmd"). Same
 * lexical rules as ihmd.conf: '#' comments, "quoted" values, { } blocks,
 * errors as "FILE:LINE: what is wrong (expected what)". Durations take
 * ms/s/m/h, sizes K/M/G/T (powers of 1000), shares a trailing '%'.
 */
#ifndef PRESAGE_CMM_CONFIG_H
#define PRESAGE_CMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMM_MAX_POPS 32
#define CMM_MAX_POP_LINKS 256
#define CMM_MAX_HOSTS 256
#define CMM_MAX_ADDRS 8
#define CMM_MAX_REGIONS 8
#define CMM_NAME_MAX 64
#define CMM_PATH_MAX 256

struct cmm_pop {
	char name[CMM_NAME_MAX];
	char agent[128];	/* host:port of ihmd's health API */
	char mirror[128];	/* host:port of presage-mirrord run; "" = none */
	char region[32];
	int naddr;
	char addrs[CMM_MAX_ADDRS][48];
	uint64_t free_bytes;
	double bw_bps;		/* bytes per second */
	double storage_cost;	/* per GB stored */
	int line;
};

struct cmm_pop_link {
	char an[CMM_NAME_MAX], bn[CMM_NAME_MAX];	/* as written (POPs may come later) */
	int a, b;		/* indexes into pops, resolved after the whole file */
	double cost;		/* per GB moved */
	int line;
};

struct cmm_host {
	char name[254];
	int primary;		/* index into pops, resolved after the whole file */
	char primary_name[CMM_NAME_MAX];
	int primary_line;
	int nregions;
	char regions[CMM_MAX_REGIONS][32];
	uint32_t ttl;		/* 0: the dns ttl */
	int line;
};

struct cmm_config {
	char path[CMM_PATH_MAX];
	char state_dir[CMM_PATH_MAX];
	char control[108];	/* sun_path */
	char listen[128];	/* "" = off */
	uint64_t poll_ms, stale_ms;
	char tls_ca[CMM_PATH_MAX], tls_cert[CMM_PATH_MAX], tls_key[CMM_PATH_MAX];
	char order_key[CMM_PATH_MAX];
	/* pfa { } */
	uint32_t horizon_s;
	char pfa_config[CMM_PATH_MAX];
	double enter, exit;
	uint64_t confirm_ms;
	/* policy { } */
	uint64_t dwell_ms, healthy_dwell_ms;
	double probe_loss_fail;	/* fraction 0..1 */
	uint64_t probe_loss_for_ms;
	double routes_fail;	/* fraction 0..1 */
	uint64_t budget_bytes;
	double budget_cost;
	uint64_t lead_ms, stage_timeout_ms;
	uint32_t hot_items;
	/* dns { } */
	char dns_server[64];
	uint16_t dns_port;
	char dns_zone[256];
	char key_file[CMM_PATH_MAX];
	char key_name[256];
	uint32_t dns_ttl;
	bool have_dns;
	/* topology */
	int npops;
	struct cmm_pop pops[CMM_MAX_POPS];
	int nlinks;
	struct cmm_pop_link links[CMM_MAX_POP_LINKS];
	int nhosts;
	struct cmm_host hosts[CMM_MAX_HOSTS];
};

void cmm_config_defaults(struct cmm_config *c);
/* 0, or -EINVAL with "path:line: ..." in @err, or a negative errno (unreadable). */
int cmm_config_load(const char *path, struct cmm_config *c, char *err, size_t errlen);
/* Same, from text (modified in place); @path only names it in messages. */
int cmm_config_parse(struct cmm_config *c, char *text, const char *path, char *err,
		     size_t errlen);
int cmm_config_pop_index(const struct cmm_config *c, const char *name);
/* Link cost between two POPs, or -1 when they are not linked. */
double cmm_config_link_cost(const struct cmm_config *c, int a, int b);
/* May @host's content be stored at @pop (residency)? */
bool cmm_config_resident(const struct cmm_config *c, int host, int pop);

/* "1s", "500ms", "2m", "1h" into ms. 0 or -EINVAL. */
int cmm_parse_duration_ms(const char *s, uint64_t *ms);
/* "10G", "2T", "1000" (powers of 1000). 0 or -EINVAL. */
int cmm_parse_size(const char *s, double *v);

#endif
