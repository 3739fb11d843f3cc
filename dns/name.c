// SPDX-License-Identifier: GPL-2.0-only
/*
 * Domain names in uncompressed wire form, and their presentation form.
 * Compressed names are only ever read in wire.c; everything else handles
 * names as flat label sequences, so no pointer can escape the parser.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/dns.h"

int dns_name_from_text(struct dns_name *n, const char *text)
{
	uint8_t label[DNS_LABEL_MAX + 1];
	size_t ll = 0, out = 0;
	const char *p = text;

	if (!text || !*text)
		return -DNS_E_BAD_NAME;
	if (!strcmp(text, ".")) {
		n->wire[0] = 0;
		n->len = 1;
		return 0;
	}
	for (;;) {
		int c = (unsigned char)*p;

		if (c == '.' || c == 0) {
			if (ll == 0) {
				/* Empty label: only a single trailing dot is allowed. */
				if (c == 0 && p > text && p[-1] == '.')
					break;
				return -DNS_E_BAD_NAME;
			}
			/* +1 for the length byte, +1 for the root label still to come */
			if (out + 1 + ll + 1 > DNS_NAME_MAX)
				return -DNS_E_BAD_NAME;
			n->wire[out++] = (uint8_t)ll;
			memcpy(n->wire + out, label, ll);
			out += ll;
			ll = 0;
			if (c == 0 || p[1] == 0)
				break;
			p++;
			continue;
		}
		if (c == '\\') {
			p++;
			if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
			    isdigit((unsigned char)p[2])) {
				c = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
				if (c > 255)
					return -DNS_E_BAD_NAME;
				p += 2;
			} else if (*p) {
				c = (unsigned char)*p;
			} else {
				return -DNS_E_BAD_NAME;
			}
		}
		if (ll >= DNS_LABEL_MAX)
			return -DNS_E_BAD_NAME;
		label[ll++] = (uint8_t)c;
		p++;
	}
	n->wire[out++] = 0;
	n->len = (uint8_t)out;
	return 0;
}

int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap)
{
	size_t i = 0, o = 0;

	if (cap < 2)
		return -ENOSPC;
	if (n->len <= 1) {
		strcpy(buf, ".");
		return 0;
	}
	while (i < n->len && n->wire[i]) {
		size_t ll = n->wire[i++];

		for (size_t j = 0; j < ll && i < n->len; j++, i++) {
			unsigned char c = n->wire[i];

			/* 5 = worst case "\DDD" plus the NUL */
			if (o + 5 > cap)
				return -ENOSPC;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '$' || c == '@')
				o += sprintf(buf + o, "\\%c", c);
			else if (c <= ' ' || c >= 0x7f)
				o += sprintf(buf + o, "\\%03u", c);
			else
				buf[o++] = (char)c;
		}
		if (o + 2 > cap)
			return -ENOSPC;
		buf[o++] = '.';
	}
	buf[o] = 0;
	return 0;
}

static inline uint8_t lc(uint8_t c)
{
	/* Only ASCII letters fold (RFC 4343); length bytes are < 64, untouched. */
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (lc(a->wire[i]) != lc(b->wire[i]))
			return false;
	return true;
}

bool dns_name_is_subdomain(const struct dns_name *n, const struct dns_name *zone)
{
	size_t i = 0;

	if (zone->len > n->len)
		return false;
	/* Walk label boundaries of n until the remaining suffix is as long as zone. */
	while (n->len - i > zone->len) {
		if (!n->wire[i])
			return false;
		i += 1 + n->wire[i];
	}
	if (n->len - i != zone->len)
		return false;
	for (size_t j = 0; j < zone->len; j++)
		if (lc(n->wire[i + j]) != lc(zone->wire[j]))
			return false;
	return true;
}

void dns_name_lower(struct dns_name *n)
{
	for (size_t i = 0; i < n->len; i++)
		n->wire[i] = lc(n->wire[i]);
}

int dns_name_prepend(struct dns_name *n, const char *label)
{
	size_t ll = strlen(label);

	if (ll == 0 || ll > DNS_LABEL_MAX)
		return -DNS_E_BAD_NAME;
	if (n->len + 1 + ll > DNS_NAME_MAX)
		return -DNS_E_BAD_NAME;
	memmove(n->wire + 1 + ll, n->wire, n->len);
	n->wire[0] = (uint8_t)ll;
	memcpy(n->wire + 1, label, ll);
	n->len += 1 + ll;
	return 0;
}
