/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IHM agent's configuration file. Line oriented, '#' starts a comment,
 * values may be double-quoted:
 *
 *   tick 1s
 *   pin-dir /sys/fs/bpf/presage
 *   xdp-mode native            # native | skb | auto
 *   ts-sample-interval 10ms    # per-flow RTT sampling limit
 *
 *   interconnect transit-a {
 *       interface eth1
 *       capacity 10G           # bit/s; K M G T are powers of 1000
 *       peer "AS64500 transit"
 *   }
 *
 * Errors name the file, the line and what was expected.
 */
#ifndef PRESAGE_CONFIG_H
#define PRESAGE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#define CFG_MAX_LINKS 256
#define CFG_NAME_MAX 32

enum xdp_mode_cfg {
	XDP_MODE_CFG_NATIVE = 0,
	XDP_MODE_CFG_SKB,
	XDP_MODE_CFG_AUTO,	/* native, falling back to skb where the driver has none */
};

struct link_conf {
	char name[CFG_NAME_MAX];
	char ifname[IF_NAMESIZE];
	uint64_t capacity_bps;
	char peer[128];
	int line;		/* where it was defined, for messages */
};

struct ihm_config {
	uint64_t tick_ns;
	uint64_t ts_interval_ns;
	char pin_dir[256];
	enum xdp_mode_cfg xdp_mode;
	int nlinks;
	struct link_conf links[CFG_MAX_LINKS];
};

void config_defaults(struct ihm_config *cfg);

/*
 * Parse @path into @cfg (defaults first). Returns 0, or -EINVAL with a
 * message "path:line: ..." in @err, or a negative errno if the file cannot
 * be read.
 */
int config_load(const char *path, struct ihm_config *cfg, char *err, size_t errlen);

/* Parse "10G", "100M", "1.5G", "1000000" (bit/s). 0 or -EINVAL. */
int parse_rate(const char *s, uint64_t *out);
/* Parse "1s", "500ms", "250us", "2m". 0 or -EINVAL. */
int parse_duration(const char *s, uint64_t *ns);

#endif
