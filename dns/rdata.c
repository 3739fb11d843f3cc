// SPDX-License-Identifier: GPL-2.0-only
/* RDATA and type names in presentation form, for the types presage writes and shows. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns.h"

static const struct {
	int type;
	const char *name;
} types[] = {
	{ DNS_T_A, "A" },     { DNS_T_NS, "NS" },   { DNS_T_CNAME, "CNAME" }, { DNS_T_SOA, "SOA" },
	{ DNS_T_PTR, "PTR" }, { DNS_T_MX, "MX" },   { DNS_T_TXT, "TXT" },     { DNS_T_AAAA, "AAAA" },
	{ DNS_T_OPT, "OPT" }, { DNS_T_TSIG, "TSIG" }, { DNS_T_ANY, "ANY" },
};

int dns_type_from_text(const char *s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(s, types[i].name))
			return types[i].type;
	/* RFC 3597 generic form TYPEnnn */
	if (!strncasecmp(s, "TYPE", 4) && isdigit((unsigned char)s[4])) {
		char *end;
		long v = strtol(s + 4, &end, 10);

		if (!*end && v > 0 && v <= 0xffff)
			return (int)v;
	}
	return -DNS_E_BAD_RDATA;
}

const char *dns_type_name(int type, char buf[16])
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	snprintf(buf, 16, "TYPE%d", type);
	return buf;
}

/* TXT: "quoted strings" with \" and \DDD escapes, or bare words. */
static int txt_from_text(const char *s, uint8_t *buf, size_t cap, uint16_t *len)
{
	size_t o = 0;

	while (*s) {
		size_t lenpos, n = 0;
		bool quoted;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		quoted = *s == '"';
		if (quoted)
			s++;
		if (o >= cap)
			return -DNS_E_BAD_RDATA;
		lenpos = o++;
		while (*s && (quoted ? *s != '"' : !isspace((unsigned char)*s))) {
			int c = (unsigned char)*s++;

			if (c == '\\' && *s) {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
					if (c > 255)
						return -DNS_E_BAD_RDATA;
					s += 3;
				} else {
					c = (unsigned char)*s++;
				}
			}
			if (n == 255 || o >= cap)
				return -DNS_E_BAD_RDATA;
			buf[o++] = (uint8_t)c;
			n++;
		}
		if (quoted) {
			if (*s != '"')
				return -DNS_E_BAD_RDATA;
			s++;
		}
		buf[lenpos] = (uint8_t)n;
	}
	if (o == 0 || o > 0xffff)
		return -DNS_E_BAD_RDATA;
	*len = (uint16_t)o;
	return 0;
}

int dns_rdata_from_text(int type, const char *text, uint8_t *buf, size_t cap, uint16_t *len)
{
	struct dns_name n;
	int err;

	if (!strncmp(text, "\\# ", 3)) {
		/* RFC 3597: \# LEN HEX */
		char *end;
		long l = strtol(text + 3, &end, 10);
		size_t o = 0;

		if (l < 0 || l > 0xffff || (size_t)l > cap)
			return -DNS_E_BAD_RDATA;
		for (const char *p = end; *p;) {
			unsigned v;

			if (isspace((unsigned char)*p)) {
				p++;
				continue;
			}
			if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
			    o >= (size_t)l || sscanf(p, "%2x", &v) != 1)
				return -DNS_E_BAD_RDATA;
			buf[o++] = (uint8_t)v;
			p += 2;
		}
		if (o != (size_t)l)
			return -DNS_E_BAD_RDATA;
		*len = (uint16_t)o;
		return 0;
	}
	switch (type) {
	case DNS_T_A:
		if (cap < 4 || inet_pton(AF_INET, text, buf) != 1)
			return -DNS_E_BAD_RDATA;
		*len = 4;
		return 0;
	case DNS_T_AAAA:
		if (cap < 16 || inet_pton(AF_INET6, text, buf) != 1)
			return -DNS_E_BAD_RDATA;
		*len = 16;
		return 0;
	case DNS_T_TXT:
		return txt_from_text(text, buf, cap, len);
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if ((err = dns_name_from_text(&n, text)))
			return err;
		if (n.len > cap)
			return -DNS_E_BAD_RDATA;
		memcpy(buf, n.wire, n.len);
		*len = n.len;
		return 0;
	case DNS_T_MX: {
		char *end;
		long pref = strtol(text, &end, 10);

		if (end == text || pref < 0 || pref > 0xffff || !isspace((unsigned char)*end))
			return -DNS_E_BAD_RDATA;
		while (isspace((unsigned char)*end))
			end++;
		if ((err = dns_name_from_text(&n, end)))
			return err;
		if (2u + n.len > cap)
			return -DNS_E_BAD_RDATA;
		buf[0] = (uint8_t)(pref >> 8);
		buf[1] = (uint8_t)pref;
		memcpy(buf + 2, n.wire, n.len);
		*len = (uint16_t)(2 + n.len);
		return 0;
	}
	}
	return -DNS_E_BAD_RDATA;
}

/* Read an uncompressed name from RDATA (parse already decompressed it). */
static int rd_name(const uint8_t *rd, uint16_t len, size_t *p, struct dns_name *n)
{
	size_t i = *p;

	while (i < len && rd[i]) {
		if (rd[i] > DNS_LABEL_MAX)
			return -DNS_E_RDATA;
		i += 1 + rd[i];
	}
	if (i >= len || i + 1 - *p > DNS_NAME_MAX)
		return -DNS_E_RDATA;
	n->len = (uint8_t)(i + 1 - *p);
	memcpy(n->wire, rd + *p, n->len);
	*p = i + 1;
	return 0;
}

int dns_soa_serial(const uint8_t *rd, uint16_t len, uint32_t *serial)
{
	struct dns_name n;
	size_t p = 0;

	if (rd_name(rd, len, &p, &n) || rd_name(rd, len, &p, &n) || len - p != 20)
		return -DNS_E_RDATA;
	*serial = (uint32_t)rd[p] << 24 | (uint32_t)rd[p + 1] << 16 | (uint32_t)rd[p + 2] << 8 |
		  rd[p + 3];
	return 0;
}

static int generic(const uint8_t *rd, uint16_t len, char *buf, size_t cap)
{
	size_t o;

	if (cap < 16 + 2 * (size_t)len)
		return -ENOSPC;
	o = (size_t)sprintf(buf, "\\# %u", len);
	if (len)
		buf[o++] = ' ';
	for (size_t i = 0; i < len; i++)
		o += (size_t)sprintf(buf + o, "%02x", rd[i]);
	buf[o] = 0;
	return 0;
}

int dns_rdata_to_text(int type, const uint8_t *rd, uint16_t len, char *buf, size_t cap)
{
	char n1[DNS_NAME_TEXT_MAX], n2[DNS_NAME_TEXT_MAX];
	struct dns_name n;
	size_t p = 0, o = 0;

	if (len == 0)
		return generic(rd, len, buf, cap);
	switch (type) {
	case DNS_T_A:
		if (len != 4 || !inet_ntop(AF_INET, rd, buf, (socklen_t)cap))
			break;
		return 0;
	case DNS_T_AAAA:
		if (len != 16 || !inet_ntop(AF_INET6, rd, buf, (socklen_t)cap))
			break;
		return 0;
	case DNS_T_TXT:
		for (size_t i = 0; i < len;) {
			size_t l = rd[i++];

			if (l > len - i)
				return generic(rd, len, buf, cap);
			if (o + 4 > cap)
				return -ENOSPC;
			if (o)
				buf[o++] = ' ';
			buf[o++] = '"';
			for (size_t j = 0; j < l; j++, i++) {
				unsigned char c = rd[i];

				if (o + 6 > cap)
					return -ENOSPC;
				if (c == '"' || c == '\\')
					o += (size_t)sprintf(buf + o, "\\%c", c);
				else if (c < ' ' || c >= 0x7f)
					o += (size_t)sprintf(buf + o, "\\%03u", c);
				else
					buf[o++] = (char)c;
			}
			buf[o++] = '"';
		}
		buf[o] = 0;
		return 0;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (rd_name(rd, len, &p, &n) || p != len)
			break;
		return dns_name_to_text(&n, buf, cap);
	case DNS_T_MX:
		p = 2;
		if (len < 3 || rd_name(rd, len, &p, &n) || p != len || dns_name_to_text(&n, n1, sizeof(n1)))
			break;
		if ((size_t)snprintf(buf, cap, "%u %s", rd[0] << 8 | rd[1], n1) >= cap)
			return -ENOSPC;
		return 0;
	case DNS_T_SOA: {
		struct dns_name m2;
		uint32_t v[5];

		if (rd_name(rd, len, &p, &n) || rd_name(rd, len, &p, &m2) || len - p != 20)
			break;
		for (int k = 0; k < 5; k++, p += 4)
			v[k] = (uint32_t)rd[p] << 24 | (uint32_t)rd[p + 1] << 16 |
			       (uint32_t)rd[p + 2] << 8 | rd[p + 3];
		if (dns_name_to_text(&n, n1, sizeof(n1)) || dns_name_to_text(&m2, n2, sizeof(n2)))
			break;
		if ((size_t)snprintf(buf, cap, "%s %s %u %u %u %u %u", n1, n2, v[0], v[1], v[2], v[3],
				     v[4]) >= cap)
			return -ENOSPC;
		return 0;
	}
	}
	return generic(rd, len, buf, cap);
}
