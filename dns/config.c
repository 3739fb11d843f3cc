// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DNS steering configuration file (see dns.h, struct dns_config): one
 * "key value" per line, '#' starts a comment, values may be double-quoted.
 * Every error names the file and line and says what was expected, so an
 * operator can fix it without reading code.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "fsutil.h"

#define CONFIG_FILE_MAX (1 << 20)

struct parser {
	const char *path;
	int line;
	char *err;
	size_t errlen;
};

static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -DNS_E_CONFIG;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -DNS_E_CONFIG;
}

/*
 * Split @line in place into at most 3 words: whitespace separates, "..."
 * quotes (\" and \\ escape inside), a word starting with '#' ends the line
 * ('#' inside a word is kept: "server 192.0.2.53#5353").
 * Returns the number of words or an error.
 */
static int split(struct parser *p, char *line, char **w)
{
	char *s = line;
	int n = 0;

	for (;;) {
		char *o;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == 3)
			return perr(p, "too many words: expected 'key value'");
		o = w[n++] = s;
		if (*s == '"') {
			for (s++;; s++) {
				if (!*s)
					return perr(p, "unterminated \"quoted\" value");
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				else if (*s == '"')
					break;
				*o++ = *s;
			}
			s++;
			if (*s && *s != ' ' && *s != '\t' && *s != '\r')
				return perr(p, "text right after a closing quote");
		} else {
			while (*s && *s != ' ' && *s != '\t' && *s != '\r')
				*o++ = *s++;
		}
		if (*s)
			s++;
		*o = 0;
	}
}

/* A decimal in [lo, hi]; 0 or an error naming @what. */
static int number(struct parser *p, const char *key, const char *v, unsigned long lo,
		  unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || *out < lo || *out > hi)
		return perr(p, "%s '%s': expected a whole number from %lu to %lu", key, v, lo, hi);
	return 0;
}

static int server(struct parser *p, struct dns_config *c, const char *v)
{
	const char *hash = strchr(v, '#');
	size_t l = hash ? (size_t)(hash - v) : strlen(v);
	unsigned char a[16];
	unsigned long port;
	int err;

	if (l >= sizeof(c->server))
		return perr(p, "server '%s' is too long", v);
	memcpy(c->server, v, l);
	c->server[l] = 0;
	if (inet_pton(AF_INET, c->server, a) != 1 && inet_pton(AF_INET6, c->server, a) != 1)
		return perr(p, "server '%s': expected a numeric IPv4 or IPv6 address, optionally ADDR#PORT "
			       "(names are not resolved)", v);
	if (hash) {
		if ((err = number(p, "server port", hash + 1, 1, 65535, &port)))
			return err;
		c->port = (uint16_t)port;
	}
	return 0;
}

static int name(struct parser *p, const char *key, const char *v, struct dns_name *n)
{
	if (dns_name_from_text(n, v))
		return perr(p, "%s '%s' is not a valid domain name", key, v);
	dns_name_lower(n);
	return 0;
}

static int one_line(struct parser *p, struct dns_config *c, char **w, int nw)
{
	unsigned long u;
	int err;

	if (nw != 2)
		return perr(p, "'%s' needs exactly one value", w[0]);
	if (!strcmp(w[0], "server"))
		return server(p, c, w[1]);
	if (!strcmp(w[0], "port")) {
		if ((err = number(p, "port", w[1], 1, 65535, &u)))
			return err;
		c->port = (uint16_t)u;
		return 0;
	}
	if (!strcmp(w[0], "zone")) {
		if (c->nzones == DNS_CONFIG_ZONES_MAX)
			return perr(p, "more than %d zones", DNS_CONFIG_ZONES_MAX);
		if ((err = name(p, "zone", w[1], &c->zones[c->nzones])))
			return err;
		for (size_t i = 0; i < c->nzones; i++)
			if (dns_name_equal(&c->zones[i], &c->zones[c->nzones]))
				return perr(p, "zone '%s' is already listed", w[1]);
		c->nzones++;
		return 0;
	}
	if (!strcmp(w[0], "key-file")) {
		if (strlen(w[1]) >= sizeof(c->key_file))
			return perr(p, "key-file path is too long");
		strcpy(c->key_file, w[1]);
		return 0;
	}
	if (!strcmp(w[0], "key-name")) {
		struct dns_name n;

		if ((err = name(p, "key-name", w[1], &n)))
			return err;
		if (strlen(w[1]) >= sizeof(c->key_name))
			return perr(p, "key-name is too long");
		strcpy(c->key_name, w[1]);
		return 0;
	}
	if (!strcmp(w[0], "ttl")) {
		/* RFC 2181: TTLs are 0..2^31-1; steering wants them short, but 0 defeats caching */
		if ((err = number(p, "ttl", w[1], 1, 2147483647UL, &u)))
			return err;
		c->ttl = (uint32_t)u;
		return 0;
	}
	if (!strcmp(w[0], "name")) {
		if (c->nnames == DNS_CONFIG_NAMES_MAX)
			return perr(p, "more than %d names", DNS_CONFIG_NAMES_MAX);
		if ((err = name(p, "name", w[1], &c->names[c->nnames])))
			return err;
		for (size_t i = 0; i < c->nnames; i++)
			if (dns_name_equal(&c->names[i], &c->names[c->nnames]))
				return perr(p, "name '%s' is already listed on line %d", w[1],
					    c->name_line[i]);
		c->name_line[c->nnames++] = p->line;
		return 0;
	}
	return perr(p, "unknown key '%s' (expected server, port, zone, key-file, key-name, ttl or "
		       "name)", w[0]);
}

int dns_config__parse(struct dns_config *c, char *text, const char *path, char *err,
		      size_t errlen)
{
	return dns_config__parse_flags(c, text, path, 0, err, errlen);
}

int dns_config__parse_flags(struct dns_config *c, char *text, const char *path, unsigned flags,
			    char *err, size_t errlen)
{
	struct parser p = { .path = path ? path : "-", .err = err, .errlen = errlen };
	char *line, *next, *w[3];
	int ret;

	memset(c, 0, sizeof(*c));
	if (err && errlen)
		err[0] = 0;
	strcpy(c->server, "127.0.0.1");
	c->port = 53;
	c->ttl = 30;
	for (line = text; line; line = next) {
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		p.line++;
		n = split(&p, line, w);
		if (n < 0)
			return n;
		if (n && (ret = one_line(&p, c, w, n)))
			return ret;
	}
	/* whole-file checks, reported at the line that introduced the problem */
	if (!c->nnames && !(flags & DNS_CONFIG_NAMES_OPTIONAL)) {
		p.line = 0;
		return perr(&p, "no 'name' lines: list the names to steer");
	}
	for (size_t i = 0; i < c->nnames && c->nzones; i++) {
		bool in = false;

		for (size_t z = 0; z < c->nzones && !in; z++)
			in = dns_name_is_subdomain(&c->names[i], &c->zones[z]);
		if (!in) {
			char t[DNS_NAME_TEXT_MAX];

			dns_name_to_text(&c->names[i], t, sizeof(t));
			p.line = c->name_line[i];
			return perr(&p, "name '%s' is in none of the zones listed (add its 'zone' "
					"line, or leave out every 'zone' to look zones up by SOA)", t);
		}
	}
	return 0;
}

int dns_config__read_file(struct dns_config *c, const char *path, char *err, size_t errlen)
{
	return dns_config__read_file_flags(c, path, 0, err, errlen);
}

int dns_config__read_file_flags(struct dns_config *c, const char *path, unsigned flags, char *err,
				size_t errlen)
{
	char *buf = NULL;
	size_t len;
	int ret;

	ret = read_file_all(path, CONFIG_FILE_MAX, &buf, &len);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		return ret;
	}
	if (strlen(buf) != len) {
		struct parser p = { .path = path, .err = err, .errlen = errlen };

		/* find the line with the NUL for the message */
		for (size_t i = 0; i < len && buf[i]; i++)
			p.line += buf[i] == '\n';
		p.line++;
		free(buf);
		return perr(&p, "NUL byte in the file (not a text file?)");
	}
	ret = dns_config__parse_flags(c, buf, path, flags, err, errlen);
	free(buf);
	return ret;
}
