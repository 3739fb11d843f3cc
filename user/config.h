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
 *   probe-interval 1s          # ICMP echo per target, this often
 *   probe-timeout 1s           # a reply later than this counts as lost
 *   route-protocols bird zebra bgp   # rtm_protocol names or numbers counted as BGP routes
 *   route-table main           # main | local | default | 1..2^32-1 | all
 *   burst-window 1s            # withdrawals closer than this form one burst
 *   burst-event 10             # a burst this large is reported as an event
 *   listen 127.0.0.1:9470      # health API (HTTP); "off" disables it
 *   tls-cert /etc/presage/agent.crt    # with tls-key: HTTPS
 *   tls-key /etc/presage/agent.key
 *   tls-client-ca /etc/presage/ca.crt  # with it, a client certificate is required
 *   history 600                # samples kept per interconnect for /v1/history
 *
 *   interconnect transit-a {
 *       interface eth1
 *       capacity 10G           # bit/s; K M G T are powers of 1000
 *       peer "AS64500 transit"
 *       probe 192.0.2.1        # repeatable, IPv4 or IPv6
 *       probe 2001:db8::1
 *   }
 *
 * Errors name the file, the line and what was expected.
 */
#ifndef PRESAGE_CONFIG_H
#define PRESAGE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <net/if.h>

#define CFG_MAX_LINKS 256
#define CFG_NAME_MAX 32
#define CFG_MAX_PROBES 8
#define CFG_MAX_PROTOS 16
#define CFG_ROUTE_TABLE_ALL 0xffffffffu

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
	int nprobes;
	struct probe_target {
		int family;		/* AF_INET or AF_INET6 */
		char text[64];		/* as written */
		unsigned char addr[16];	/* network order; 4 bytes used for AF_INET */
	} probes[CFG_MAX_PROBES];
	int line;		/* where it was defined, for messages */
};

struct ihm_config {
	uint64_t tick_ns;
	uint64_t ts_interval_ns;
	char pin_dir[256];
	enum xdp_mode_cfg xdp_mode;
	/* Active probes. */
	uint64_t probe_interval_ns;
	uint64_t probe_timeout_ns;
	/* Routes: rtm_protocol values counted, and the table watched. */
	int nprotos;
	unsigned char protos[CFG_MAX_PROTOS];
	uint32_t route_table;		/* CFG_ROUTE_TABLE_ALL: every table */
	uint64_t burst_window_ns;
	uint32_t burst_event;		/* withdrawals in one burst that raise an event */
	/* Health API. listen[0] == '\0': off. */
	char listen[128];
	char tls_cert[256], tls_key[256], tls_client_ca[256];
	uint32_t history;		/* samples kept per interconnect */
	int nlinks;
	struct link_conf links[CFG_MAX_LINKS];
};

#define CFG_DEFAULT_LISTEN "127.0.0.1:9470"

void config_defaults(struct ihm_config *cfg);

/*
 * Parse @path into @cfg (defaults first). Returns 0, or -EINVAL with a
 * message "path:line: ..." in @err, or a negative errno if the file cannot
 * be read.
 */
int config_load(const char *path, struct ihm_config *cfg, char *err, size_t errlen);

/*
 * Split one line of a presage config file (ihmd.conf, cmmd.conf) into at
 * most @max words: whitespace separates, "..." quotes (with \" and \\),
 * '#' outside quotes ends the line. Words point into @line, which is
 * modified. Returns the word count, or -E2BIG (more than @max words) or
 * -EINVAL with the reason in *@why.
 */
int config_split_words(char *line, char **w, int max, const char **why);

/* A config file being parsed (ihmd.conf, cmmd.conf): where its errors point. */
struct config_parser {
	const char *path;
	int line;		/* 0: the error is about the file, not a line */
	char *err;		/* the message: "path:line: ..." or "path: ..." */
	size_t errlen;
};

/* Write the message for @p's current line into p->err; returns -EINVAL. */
int config_perr(struct config_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* config_split_words() with the file and line in front of its reason (config_perr). */
int config_split_line(struct config_parser *p, char *line, char **w, int max);
/*
 * Read the config file @path (at most 1 MiB, no NUL byte) into a malloc'd,
 * NUL-terminated *@buf. 0, or a negative errno with "path: why" in @err.
 */
int config_read_text(const char *path, char **buf, size_t *len, char *err, size_t errlen);
/* 1 to @max - 1 characters of letters, digits, '-', '_', '.'. */
bool config_valid_name(const char *s, size_t max);
/* Parse "10G", "100M", "1.5G", "1000000" (bit/s). 0 or -EINVAL. */
int parse_rate(const char *s, uint64_t *out);
/* Parse "1s", "500ms", "250us", "2m". 0 or -EINVAL. */
int parse_duration(const char *s, uint64_t *ns);
/* "bird", "zebra", "bgp", "static", ... or 0-255. 0 or -EINVAL. */
int parse_route_proto(const char *s, unsigned char *out);
/* The name of an rtm_protocol value, or NULL. */
const char *route_proto_name(unsigned char proto);
/* "ADDR:PORT" or "[IPv6]:PORT" into @host (may be NULL) and @port. 0 or -EINVAL. */
int parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port);
/* parse_listen, and the socket address to bind (host and port are required). */
int listen_sockaddr(const char *s, char *host, size_t hostlen, uint16_t *port,
		    struct sockaddr_storage *ss, socklen_t *sl);

#endif
