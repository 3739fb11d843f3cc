// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "config.h"
#include "fsutil.h"
#include "numparse.h"
#include "presage.h"

#define MAX_WORDS 8

void config_defaults(struct ihm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tick_ns = 1000000000ULL;
	cfg->ts_interval_ns = PRESAGE_TS_MIN_INTERVAL_NS;
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", PRESAGE_PIN_DIR);
	cfg->xdp_mode = XDP_MODE_CFG_NATIVE;
	cfg->probe_interval_ns = 1000000000ULL;
	cfg->probe_timeout_ns = 1000000000ULL;
	cfg->nprotos = 3;
	cfg->protos[0] = RTPROT_BIRD;
	cfg->protos[1] = RTPROT_ZEBRA;
	cfg->protos[2] = RTPROT_BGP;
	cfg->route_table = RT_TABLE_MAIN;
	cfg->burst_window_ns = 1000000000ULL;
	cfg->burst_event = 10;
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", CFG_DEFAULT_LISTEN);
	cfg->history = 600;
}

static const struct {
	const char *name;
	unsigned char proto;
} proto_names[] = {
	{ "kernel", RTPROT_KERNEL }, { "boot", RTPROT_BOOT }, { "static", RTPROT_STATIC },
	{ "zebra", RTPROT_ZEBRA }, { "bird", RTPROT_BIRD }, { "bgp", RTPROT_BGP },
	{ "isis", RTPROT_ISIS }, { "ospf", RTPROT_OSPF }, { "rip", RTPROT_RIP },
	{ "babel", RTPROT_BABEL }, { "dhcp", RTPROT_DHCP },
};

int parse_route_proto(const char *s, unsigned char *out)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (!strcmp(s, proto_names[i].name)) {
			*out = proto_names[i].proto;
			return 0;
		}
	if (parse_u64(s, 0, 255, &v))
		return -EINVAL;
	*out = (unsigned char)v;
	return 0;
}

const char *route_proto_name(unsigned char proto)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (proto_names[i].proto == proto)
			return proto_names[i].name;
	return NULL;
}

int parse_rate(const char *s, uint64_t *out)
{
	char *end;
	double v, mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1e3; end++; break;
	case 'm': case 'M': mul = 1e6; end++; break;
	case 'g': case 'G': mul = 1e9; end++; break;
	case 't': case 'T': mul = 1e12; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	/* Accept the unit spelled out: "10Gbit", "10Gbps", "10G". */
	if (*end && strcmp(end, "bit") && strcmp(end, "bps") && strcmp(end, "b"))
		return -EINVAL;
	v *= mul;
	if (v > 1e15)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

int parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v, mul;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -EINVAL;
	if (!strcmp(end, "s") || !*end)
		mul = 1e9;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60e9;
	else
		return -EINVAL;
	if (v * mul > 86400e9)
		return -EINVAL;
	*ns = (uint64_t)(v * mul);
	return 0;
}

int config_perr(struct config_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->line)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->path);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int config_split_words(char *line, char **w, int max, const char **why)
{
	int n = 0;
	char *s = line, *o;

	for (;;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == max) {
			*why = "too many words on one line";
			return -E2BIG;
		}
		if (*s == '"') {
			w[n++] = o = ++s;
			while (*s && *s != '"') {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*o++ = *s++;
			}
			if (*s != '"') {
				*why = "unterminated quoted string";
				return -EINVAL;
			}
			s++;
			*o = '\0';
			if (*s && !isspace((unsigned char)*s)) {
				*why = "text right after a closing quote";
				return -EINVAL;
			}
			if (*s)
				s++;
			continue;
		}
		w[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

int config_split_line(struct config_parser *p, char *line, char **w, int max)
{
	const char *why;
	int n = config_split_words(line, w, max, &why);

	if (n == -E2BIG)
		return config_perr(p, "%s (at most %d)", why, max);
	return n < 0 ? config_perr(p, "%s", why) : n;
}

int config_read_text(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int ret = read_file_all(path, 1 << 20, buf, len);

	if (ret) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		return ret;
	}
	if (memchr(*buf, '\0', *len)) {
		snprintf(err, errlen, "%s: contains a NUL byte: not a text config file", path);
		free(*buf);
		*buf = NULL;
		return -EINVAL;
	}
	return 0;
}

bool config_valid_name(const char *s, size_t max)
{
	if (!*s || strlen(s) >= max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static int need_args(struct config_parser *p, int n, int want, const char *key, const char *what)
{
	if (n - 1 != want)
		return config_perr(p, "'%s' takes %s", key, what);
	return 0;
}

static int link_key(struct config_parser *p, struct link_conf *l, char **w, int n)
{
	int err;

	if (!strcmp(w[0], "interface")) {
		if ((err = need_args(p, n, 1, w[0], "one interface name")))
			return err;
		if (strlen(w[1]) >= IF_NAMESIZE)
			return config_perr(p, "interface name '%s' is longer than %d characters", w[1],
					   IF_NAMESIZE - 1);
		snprintf(l->ifname, sizeof(l->ifname), "%s", w[1]);
	} else if (!strcmp(w[0], "capacity")) {
		if ((err = need_args(p, n, 1, w[0], "one rate, e.g. 10G")))
			return err;
		if (parse_rate(w[1], &l->capacity_bps) || !l->capacity_bps)
			return config_perr(p, "capacity '%s' is not a rate in bit/s (e.g. 10G, 400M)",
					   w[1]);
	} else if (!strcmp(w[0], "peer")) {
		if ((err = need_args(p, n, 1, w[0], "one (quoted) description")))
			return err;
		snprintf(l->peer, sizeof(l->peer), "%s", w[1]);
	} else if (!strcmp(w[0], "probe")) {
		struct probe_target *t;

		if ((err = need_args(p, n, 1, w[0], "one IPv4 or IPv6 address")))
			return err;
		if (l->nprobes == CFG_MAX_PROBES)
			return config_perr(p, "interconnect '%s' has more than %d probe targets", l->name,
					   CFG_MAX_PROBES);
		t = &l->probes[l->nprobes];
		memset(t, 0, sizeof(*t));
		if (inet_pton(AF_INET, w[1], t->addr) == 1)
			t->family = AF_INET;
		else if (inet_pton(AF_INET6, w[1], t->addr) == 1)
			t->family = AF_INET6;
		else
			return config_perr(p, "probe target '%s' is not an IPv4 or IPv6 address", w[1]);
		snprintf(t->text, sizeof(t->text), "%s", w[1]);
		for (int i = 0; i < l->nprobes; i++)
			if (l->probes[i].family == t->family &&
			    !memcmp(l->probes[i].addr, t->addr, 16))
				return config_perr(p, "probe target %s is listed twice", w[1]);
		l->nprobes++;
	} else {
		return config_perr(p, "unknown key '%s' in interconnect '%s' (expected interface, capacity, peer or probe)",
				   w[0], l->name);
	}
	return 0;
}

static int global_key(struct config_parser *p, struct ihm_config *cfg, char **w, int n)
{
	int err;

	if (!strcmp(w[0], "tick")) {
		if ((err = need_args(p, n, 1, w[0], "one duration, e.g. 1s")))
			return err;
		if (parse_duration(w[1], &cfg->tick_ns) || cfg->tick_ns < 10000000ULL ||
		    cfg->tick_ns > 3600000000000ULL)
			return config_perr(p, "tick '%s' must be a duration from 10ms to 1h", w[1]);
	} else if (!strcmp(w[0], "ts-sample-interval")) {
		if ((err = need_args(p, n, 1, w[0], "one duration, e.g. 10ms")))
			return err;
		if (parse_duration(w[1], &cfg->ts_interval_ns) ||
		    cfg->ts_interval_ns > 10000000000ULL)
			return config_perr(p, "ts-sample-interval '%s' must be a duration up to 10s", w[1]);
	} else if (!strcmp(w[0], "pin-dir")) {
		if ((err = need_args(p, n, 1, w[0], "one path under bpffs")))
			return err;
		if (w[1][0] != '/' || strlen(w[1]) >= sizeof(cfg->pin_dir) - 20)
			return config_perr(p, "pin-dir '%s' must be an absolute path (under /sys/fs/bpf)",
					   w[1]);
		snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", w[1]);
	} else if (!strcmp(w[0], "xdp-mode")) {
		if ((err = need_args(p, n, 1, w[0], "native, skb or auto")))
			return err;
		if (!strcmp(w[1], "native"))
			cfg->xdp_mode = XDP_MODE_CFG_NATIVE;
		else if (!strcmp(w[1], "skb"))
			cfg->xdp_mode = XDP_MODE_CFG_SKB;
		else if (!strcmp(w[1], "auto"))
			cfg->xdp_mode = XDP_MODE_CFG_AUTO;
		else
			return config_perr(p, "xdp-mode '%s' is not one of native, skb, auto", w[1]);
	} else if (!strcmp(w[0], "probe-interval") || !strcmp(w[0], "probe-timeout")) {
		uint64_t *v = w[0][6] == 'i' ? &cfg->probe_interval_ns : &cfg->probe_timeout_ns;

		if ((err = need_args(p, n, 1, w[0], "one duration, e.g. 1s")))
			return err;
		if (parse_duration(w[1], v) || *v < 10000000ULL || *v > 60000000000ULL)
			return config_perr(p, "%s '%s' must be a duration from 10ms to 60s", w[0], w[1]);
	} else if (!strcmp(w[0], "route-protocols")) {
		if (n < 2)
			return config_perr(p, "'route-protocols' takes one or more protocol names or numbers (e.g. bird zebra bgp)");
		cfg->nprotos = 0;
		for (int i = 1; i < n; i++) {
			if (parse_route_proto(w[i], &cfg->protos[cfg->nprotos]))
				return config_perr(p, "route protocol '%s' is not a name (bird, zebra, bgp, static, kernel, ...) or a number 0-255",
						   w[i]);
			cfg->nprotos++;
		}
	} else if (!strcmp(w[0], "route-table")) {
		uint64_t v;

		if ((err = need_args(p, n, 1, w[0], "main, local, default, all or a number")))
			return err;
		if (!strcmp(w[1], "main"))
			cfg->route_table = RT_TABLE_MAIN;
		else if (!strcmp(w[1], "local"))
			cfg->route_table = RT_TABLE_LOCAL;
		else if (!strcmp(w[1], "default"))
			cfg->route_table = RT_TABLE_DEFAULT;
		else if (!strcmp(w[1], "all"))
			cfg->route_table = CFG_ROUTE_TABLE_ALL;
		else {
			if (parse_u64(w[1], 1, CFG_ROUTE_TABLE_ALL - 1, &v))
				return config_perr(p, "route-table '%s' is not main, local, default, all or a table number",
						   w[1]);
			cfg->route_table = (uint32_t)v;
		}
	} else if (!strcmp(w[0], "burst-window")) {
		if ((err = need_args(p, n, 1, w[0], "one duration, e.g. 1s")))
			return err;
		if (parse_duration(w[1], &cfg->burst_window_ns) || cfg->burst_window_ns < 1000000ULL ||
		    cfg->burst_window_ns > 60000000000ULL)
			return config_perr(p, "burst-window '%s' must be a duration from 1ms to 60s", w[1]);
	} else if (!strcmp(w[0], "burst-event") || !strcmp(w[0], "history")) {
		uint64_t v;

		if ((err = need_args(p, n, 1, w[0], "one number")))
			return err;
		if (parse_u64(w[1], 1, 1000000, &v))
			return config_perr(p, "%s '%s' must be a number from 1 to 1000000", w[0], w[1]);
		if (w[0][0] == 'b')
			cfg->burst_event = (uint32_t)v;
		else
			cfg->history = (uint32_t)v;
	} else if (!strcmp(w[0], "listen")) {
		if ((err = need_args(p, n, 1, w[0], "ADDRESS:PORT, [IPv6]:PORT or off")))
			return err;
		if (!strcmp(w[1], "off")) {
			cfg->listen[0] = '\0';
		} else {
			if (parse_listen(w[1], NULL, 0, NULL))
				return config_perr(p, "listen '%s' is not ADDRESS:PORT, [IPv6]:PORT or off",
						   w[1]);
			snprintf(cfg->listen, sizeof(cfg->listen), "%s", w[1]);
		}
	} else if (!strcmp(w[0], "tls-cert") || !strcmp(w[0], "tls-key") ||
		   !strcmp(w[0], "tls-client-ca")) {
		char *dst = w[0][4] == 'c' && w[0][5] == 'e' ? cfg->tls_cert :
			    w[0][4] == 'k' ? cfg->tls_key : cfg->tls_client_ca;

		if ((err = need_args(p, n, 1, w[0], "one file path")))
			return err;
		if (strlen(w[1]) >= sizeof(cfg->tls_cert))
			return config_perr(p, "%s path is too long", w[0]);
		snprintf(dst, sizeof(cfg->tls_cert), "%s", w[1]);
	} else {
		return config_perr(p, "unknown key '%s' (expected tick, ts-sample-interval, pin-dir, xdp-mode, probe-interval, probe-timeout, route-protocols, route-table, burst-window, burst-event, listen, tls-cert, tls-key, tls-client-ca, history or interconnect)",
				   w[0]);
	}
	return 0;
}

int parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t v;
	unsigned char addr[16];
	char tmp[64];

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, h, hl);
	tmp[hl] = '\0';
	if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, tmp, addr) != 1)
		return -EINVAL;
	if (parse_u64(colon + 1, 1, 65535, &v))
		return -EINVAL;
	if (host) {
		if (hostlen <= hl)
			return -EINVAL;
		memcpy(host, tmp, hl + 1);
	}
	if (port)
		*port = (uint16_t)v;
	return 0;
}

int listen_sockaddr(const char *s, char *host, size_t hostlen, uint16_t *port,
		    struct sockaddr_storage *ss, socklen_t *sl)
{
	int err = parse_listen(s, host, hostlen, port);

	if (err)
		return err;
	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(*port);
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		*sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(*port);
		inet_pton(AF_INET, host, &s4->sin_addr);
		*sl = sizeof(*s4);
	}
	return 0;
}

int config_load(const char *path, struct ihm_config *cfg, char *err, size_t errlen)
{
	struct config_parser p = { .path = path, .err = err, .errlen = errlen };
	struct link_conf *cur = NULL;
	char *buf, *line, *next, *w[MAX_WORDS];
	size_t len;
	int n, ret = 0;

	config_defaults(cfg);
	ret = config_read_text(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		n = config_split_line(&p, line, w, MAX_WORDS);
		if (n < 0) {
			ret = n;
			break;
		}
		if (n == 0)
			continue;
		if (!strcmp(w[0], "}")) {
			if (n != 1) {
				ret = config_perr(&p, "text after '}'");
				break;
			}
			if (!cur) {
				ret = config_perr(&p, "'}' without an open block");
				break;
			}
			if (!cur->ifname[0]) {
				ret = config_perr(&p, "interconnect '%s' (line %d) has no interface", cur->name,
						  cur->line);
				break;
			}
			cur = NULL;
			continue;
		}
		if (cur) {
			ret = link_key(&p, cur, w, n);
			if (ret)
				break;
			continue;
		}
		if (!strcmp(w[0], "interconnect")) {
			if (n != 3 || strcmp(w[2], "{")) {
				ret = config_perr(&p, "expected 'interconnect NAME {'");
				break;
			}
			if (!config_valid_name(w[1], CFG_NAME_MAX)) {
				ret = config_perr(&p, "interconnect name '%s' must be 1-%d characters of letters, digits, '-', '_', '.'",
						  w[1], CFG_NAME_MAX - 1);
				break;
			}
			for (int i = 0; i < cfg->nlinks; i++) {
				if (!strcmp(cfg->links[i].name, w[1])) {
					ret = config_perr(&p, "interconnect '%s' is already defined on line %d",
							  w[1], cfg->links[i].line);
					goto out;
				}
			}
			if (cfg->nlinks == CFG_MAX_LINKS) {
				ret = config_perr(&p, "more than %d interconnects", CFG_MAX_LINKS);
				break;
			}
			cur = &cfg->links[cfg->nlinks++];
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->name, sizeof(cur->name), "%s", w[1]);
			cur->line = p.line;
			continue;
		}
		ret = global_key(&p, cfg, w, n);
		if (ret)
			break;
	}
	if (!ret && cur) {
		p.line = cur->line;
		ret = config_perr(&p, "interconnect '%s' is not closed with '}'", cur->name);
	}
	if (!ret) {
		for (int i = 0; i < cfg->nlinks && !ret; i++)
			for (int j = 0; j < i; j++)
				if (!strcmp(cfg->links[i].ifname, cfg->links[j].ifname)) {
					p.line = cfg->links[i].line;
					ret = config_perr(&p, "interface %s is already used by interconnect '%s'",
							  cfg->links[i].ifname, cfg->links[j].name);
					break;
				}
	}
	if (!ret && (!cfg->tls_cert[0] != !cfg->tls_key[0])) {
		snprintf(err, errlen, "%s: tls-cert and tls-key go together: give both or neither", path);
		ret = -EINVAL;
	}
	if (!ret && cfg->tls_client_ca[0] && !cfg->tls_cert[0]) {
		snprintf(err, errlen, "%s: tls-client-ca needs tls-cert and tls-key (client certificates are checked over HTTPS only)",
			 path);
		ret = -EINVAL;
	}
	if (!ret && cfg->nlinks == 0) {
		snprintf(err, errlen, "%s: no interconnect defined (add an 'interconnect NAME { interface IFNAME }' block)",
			 path);
		ret = -EINVAL;
	}
out:
	free(buf);
	return ret;
}
