// SPDX-License-Identifier: GPL-2.0-only
/*
 * DNS messages on the wire (RFC 1035 section 4): parse and render.
 *
 * The parser reads untrusted bytes. Every read is checked against the end of
 * the buffer it indexes (the whole message for pointer targets, the RDATA
 * for names inside RDATA), never against a global maximum. Compression
 * pointers must point strictly backwards, which alone rules out loops; a
 * pointer back into the same name is still reported as a loop so that an
 * operator reading a log sees what the sender did.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/*
 * Read a name at *off. Bytes before the first pointer must lie below @limit
 * (the end of the RR or RDATA being read); after a jump, below @len (the
 * message). On success *off is just after the name where it started.
 * @allow_ptr false refuses compression (TSIG algorithm names, RFC 8945 4.2).
 */
static int name_parse(const uint8_t *buf, size_t len, size_t limit, size_t *off,
		      struct dns_name *n, bool allow_ptr)
{
	/* Each step consumes a label (>= 2 wire bytes of output) or a pointer;
	 * 255 output bytes bound labels, and pointers are strictly decreasing
	 * so at most len/2 of them: 256 steps is plenty and caps the work. */
	size_t visited[256];
	size_t nvisited = 0, pos = *off, end = 0, out = 0;
	bool jumped = false;

	for (;;) {
		size_t bound = jumped ? len : limit;
		uint8_t c;

		if (pos >= bound)
			return -DNS_E_TRUNCATED;
		if (nvisited == sizeof(visited) / sizeof(visited[0]))
			return -DNS_E_PTR_LOOP;
		visited[nvisited++] = pos;
		c = buf[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t t;

			if (!allow_ptr)
				return -DNS_E_TSIG_FORMAT;
			if (pos + 1 >= bound)
				return -DNS_E_TRUNCATED;
			t = (size_t)(c & 0x3f) << 8 | buf[pos + 1];
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			/* No name lives in the 12-byte header; a pointer there would
			 * also change meaning when ARCOUNT changes (signing). */
			if (t >= len || t < DNS_HDR_LEN)
				return -DNS_E_PTR_RANGE;
			for (size_t i = 0; i < nvisited; i++)
				if (visited[i] == t)
					return -DNS_E_PTR_LOOP;
			if (t >= pos)
				return -DNS_E_PTR_FORWARD;
			pos = t;
			continue;
		}
		if (c & 0xc0) /* 0x40 (extended labels) and 0x80 are reserved */
			return -DNS_E_LABEL_TOO_LONG;
		if (c == 0) {
			if (out + 1 > DNS_NAME_MAX)
				return -DNS_E_NAME_TOO_LONG;
			n->wire[out++] = 0;
			pos++;
			break;
		}
		if (c > bound - pos - 1)
			return -DNS_E_TRUNCATED;
		/* the label, its length byte, and the root label that must follow */
		if (out + 1 + c + 1 > DNS_NAME_MAX)
			return -DNS_E_NAME_TOO_LONG;
		memcpy(n->wire + out, buf + pos, 1 + (size_t)c);
		out += 1 + c;
		pos += 1 + c;
	}
	n->len = (uint8_t)out;
	*off = jumped ? end : pos;
	return 0;
}

static int rr_push(struct dns_msg *m, int sec, struct dns_rr **slot)
{
	if (m->n[sec] == 0xffff)
		return -DNS_E_TOO_BIG;
	if (m->n[sec] == m->cap[sec]) {
		size_t ncap = m->cap[sec] ? (size_t)m->cap[sec] * 2 : 4;
		struct dns_rr *r;

		if (ncap > 0xffff)
			ncap = 0xffff;
		r = realloc(m->rr[sec], ncap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		m->rr[sec] = r;
		m->cap[sec] = (uint16_t)ncap;
	}
	*slot = &m->rr[sec][m->n[sec]++];
	memset(*slot, 0, sizeof(**slot));
	return 0;
}

struct dns_msg *dns_msg__new(uint16_t id, int opcode)
{
	struct dns_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->id = id;
	m->flags = (uint16_t)((opcode & 0xf) << 11);
	return m;
}

void dns_msg__free(struct dns_msg *m)
{
	if (!m)
		return;
	for (int s = 0; s < DNS_SEC_N; s++) {
		for (int i = 0; i < m->n[s]; i++)
			free(m->rr[s][i].rdata);
		free(m->rr[s]);
	}
	free(m);
}

int dns_msg__add_rr(struct dns_msg *m, int sec, const struct dns_name *name, uint16_t type,
		    uint16_t class, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	struct dns_rr *r;
	uint8_t *copy = NULL;
	int err;

	if (sec < 0 || sec >= DNS_SEC_N)
		return -EINVAL;
	if (rdlen) {
		copy = malloc(rdlen);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, rdata, rdlen);
	}
	err = rr_push(m, sec, &r);
	if (err) {
		free(copy);
		return err;
	}
	r->name = *name;
	r->type = type;
	r->class = class;
	r->ttl = ttl;
	r->rdlen = rdlen;
	r->rdata = copy;
	return 0;
}

/* Append a name to an RDATA being rebuilt. */
static int rd_put_name(uint8_t *rd, size_t *o, size_t cap, const struct dns_name *n)
{
	if (*o + n->len > cap)
		return -DNS_E_RDATA;
	memcpy(rd + *o, n->wire, n->len);
	*o += n->len;
	return 0;
}

/*
 * Decompress the RDATA at buf[pos..rdend) for the types that carry names,
 * check fixed sizes for the others. Writes a malloc'd copy to r.
 */
static int rdata_parse(const uint8_t *buf, size_t len, size_t pos, size_t rdend, struct dns_rr *r)
{
	/* SOA: two names and 20 bytes is the largest decompressed form here. */
	uint8_t tmp[2 * DNS_NAME_MAX + 20];
	struct dns_name nm;
	size_t o = 0, p = pos, rdlen = rdend - pos;
	const uint8_t *src = buf + pos;
	int err;

	if (rdlen == 0) /* UPDATE uses empty RDATA in deletes and prerequisites */
		goto raw;
	switch (r->type) {
	case DNS_T_A:
		if (rdlen != 4)
			return -DNS_E_RDATA;
		goto raw;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return -DNS_E_RDATA;
		goto raw;
	case DNS_T_TXT:
		/* character-strings must tile the RDATA exactly */
		for (size_t i = 0; i < rdlen; i += 1 + src[i])
			if (src[i] > rdlen - i - 1)
				return -DNS_E_RDATA;
		goto raw;
	case DNS_T_MX:
		if (rdlen < 2)
			return -DNS_E_RDATA;
		memcpy(tmp, src, 2);
		o = 2;
		p += 2;
		/* fall through */
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		err = name_parse(buf, len, rdend, &p, &nm, true);
		if (err)
			return err == -DNS_E_TRUNCATED ? -DNS_E_RDATA : err;
		if ((err = rd_put_name(tmp, &o, sizeof(tmp), &nm)))
			return err;
		break;
	case DNS_T_SOA:
		for (int k = 0; k < 2; k++) {
			err = name_parse(buf, len, rdend, &p, &nm, true);
			if (err)
				return err == -DNS_E_TRUNCATED ? -DNS_E_RDATA : err;
			if ((err = rd_put_name(tmp, &o, sizeof(tmp), &nm)))
				return err;
		}
		if (rdend - p < 20)
			return -DNS_E_RDATA;
		memcpy(tmp + o, buf + p, 20);
		o += 20;
		p += 20;
		break;
	default:
		goto raw;
	}
	if (p != rdend)
		return -DNS_E_RDATA;
	r->rdata = malloc(o);
	if (!r->rdata)
		return -ENOMEM;
	memcpy(r->rdata, tmp, o);
	r->rdlen = (uint16_t)o;
	return 0;
raw:
	r->rdlen = (uint16_t)rdlen;
	if (rdlen) {
		r->rdata = malloc(rdlen);
		if (!r->rdata)
			return -ENOMEM;
		memcpy(r->rdata, src, rdlen);
	}
	return 0;
}

static int tsig_parse(const uint8_t *buf, size_t len, size_t pos, size_t rdend, struct dns_tsig *t)
{
	size_t p = pos;
	int err;

	err = name_parse(buf, len, rdend, &p, &t->alg, false);
	if (err)
		return err == -DNS_E_TRUNCATED ? -DNS_E_TSIG_FORMAT : err;
	/* time (6), fudge (2), MAC size (2) */
	if (rdend - p < 10)
		return -DNS_E_TSIG_FORMAT;
	t->time_signed = (uint64_t)get16(buf + p) << 32 | get32(buf + p + 2);
	t->fudge = get16(buf + p + 6);
	t->mac_len = get16(buf + p + 8);
	p += 10;
	if (t->mac_len > rdend - p)
		return -DNS_E_TSIG_MACLEN;
	if (t->mac_len > DNS_TSIG_MAC_MAX)
		return -DNS_E_TSIG_MACLEN;
	memcpy(t->mac, buf + p, t->mac_len);
	p += t->mac_len;
	/* original ID, error, other len */
	if (rdend - p < 6)
		return -DNS_E_TSIG_FORMAT;
	t->orig_id = get16(buf + p);
	t->error = get16(buf + p + 2);
	t->other_len = get16(buf + p + 4);
	p += 6;
	if (t->other_len > DNS_TSIG_OTHER_MAX || t->other_len != rdend - p)
		return -DNS_E_TSIG_FORMAT;
	memcpy(t->other, buf + p, t->other_len);
	return 0;
}

int dns_msg__parse(const uint8_t *buf, size_t len, struct dns_msg **out)
{
	struct dns_msg *m;
	uint16_t count[DNS_SEC_N];
	size_t pos = DNS_HDR_LEN;
	int err;

	*out = NULL;
	if (len < DNS_HDR_LEN)
		return -DNS_E_SHORT_HEADER;
	if (len > DNS_MSG_MAX)
		return -DNS_E_TOO_BIG;
	m = dns_msg__new(0, 0);
	if (!m)
		return -ENOMEM;
	m->id = get16(buf);
	m->flags = get16(buf + 2);
	for (int s = 0; s < DNS_SEC_N; s++)
		count[s] = get16(buf + 4 + 2 * s);

	for (int s = 0; s < DNS_SEC_N; s++) {
		for (unsigned i = 0; i < count[s]; i++) {
			struct dns_name nm;
			struct dns_rr *r;
			size_t rrstart = pos, rdlen;

			if (m->has_tsig) {
				err = -DNS_E_TSIG_NOT_LAST;
				goto fail;
			}
			err = name_parse(buf, len, len, &pos, &nm, true);
			if (err)
				goto fail;
			if (s == DNS_SEC_QD) {
				if (len - pos < 4) {
					err = -DNS_E_TRUNCATED;
					goto fail;
				}
				if ((err = rr_push(m, s, &r)))
					goto fail;
				r->name = nm;
				r->type = get16(buf + pos);
				r->class = get16(buf + pos + 2);
				pos += 4;
				continue;
			}
			if (len - pos < 10) {
				err = -DNS_E_TRUNCATED;
				goto fail;
			}
			rdlen = get16(buf + pos + 8);
			if (rdlen > len - pos - 10) {
				err = -DNS_E_TRUNCATED;
				goto fail;
			}
			if (get16(buf + pos) == DNS_T_TSIG) {
				/* RFC 8945 5.4.1: TSIG is the last record of the additional section */
				if (s != DNS_SEC_AR || i != count[s] - 1u) {
					err = -DNS_E_TSIG_NOT_LAST;
					goto fail;
				}
				if (get16(buf + pos + 2) != DNS_C_ANY || get32(buf + pos + 4) != 0) {
					err = -DNS_E_TSIG_FORMAT;
					goto fail;
				}
				m->tsig.key = nm;
				err = tsig_parse(buf, len, pos + 10, pos + 10 + rdlen, &m->tsig);
				if (err)
					goto fail;
				m->has_tsig = true;
				m->tsig_off = rrstart;
				pos += 10 + rdlen;
				continue;
			}
			if ((err = rr_push(m, s, &r)))
				goto fail;
			r->name = nm;
			r->type = get16(buf + pos);
			r->class = get16(buf + pos + 2);
			r->ttl = get32(buf + pos + 4);
			pos += 10;
			err = rdata_parse(buf, len, pos, pos + rdlen, r);
			if (err)
				goto fail;
			pos += rdlen;
		}
	}
	if (pos != len) {
		err = -DNS_E_TRAILING;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	dns_msg__free(m);
	return err;
}

/* ---- rendering ---------------------------------------------------------- */

#define COMP_MAX 512
struct comp {
	size_t n;
	struct {
		uint16_t off;
		uint8_t len;
		const uint8_t *sfx;
	} e[COMP_MAX];
};

static bool sfx_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return false;
	}
	return true;
}

/*
 * Remember, as compression targets, the suffixes of @n that start at its
 * labels before offset @upto, written at message offset @base (pointers
 * reach offsets below 0x4000 only).
 */
static void comp_remember(struct comp *c, const struct dns_name *n, size_t base, size_t upto)
{
	for (size_t j = 0; c && j < upto && n->wire[j] && c->n < COMP_MAX; j += 1 + n->wire[j]) {
		if (base + j >= 0x3fff)
			break;
		c->e[c->n].off = (uint16_t)(base + j);
		c->e[c->n].len = (uint8_t)(n->len - j);
		c->e[c->n].sfx = n->wire + j;
		c->n++;
	}
}

static int put_name(uint8_t *buf, size_t cap, size_t *o, const struct dns_name *n, struct comp *c)
{
	size_t i = 0;

	while (c && i < n->len && n->wire[i]) {
		size_t sl = n->len - i;

		for (size_t k = 0; k < c->n; k++) {
			if (c->e[k].len == sl && sfx_equal(c->e[k].sfx, n->wire + i, sl)) {
				if (*o + i + 2 > cap)
					return -DNS_E_TOO_BIG;
				memcpy(buf + *o, n->wire, i);
				put16(buf + *o + i, 0xc000 | c->e[k].off);
				/* Remember the new prefix labels too. */
				comp_remember(c, n, *o, i);
				*o += i + 2;
				return 0;
			}
		}
		i += 1 + n->wire[i];
	}
	if (*o + n->len > cap)
		return -DNS_E_TOO_BIG;
	memcpy(buf + *o, n->wire, n->len);
	comp_remember(c, n, *o, n->len);
	*o += n->len;
	return 0;
}

int dns_msg__render(const struct dns_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct comp *c;
	size_t o = DNS_HDR_LEN;
	int err = 0;

	if (cap < DNS_HDR_LEN)
		return -DNS_E_TOO_BIG;
	if (cap > DNS_MSG_MAX)
		cap = DNS_MSG_MAX;
	if ((size_t)m->n[DNS_SEC_AR] + m->has_tsig > 0xffff)
		return -DNS_E_TOO_BIG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	put16(buf, m->id);
	put16(buf + 2, m->flags);
	for (int s = 0; s < DNS_SEC_N; s++)
		put16(buf + 4 + 2 * s, m->n[s] + (s == DNS_SEC_AR ? m->has_tsig : 0));
	for (int s = 0; s < DNS_SEC_N; s++) {
		for (int i = 0; i < m->n[s]; i++) {
			const struct dns_rr *r = &m->rr[s][i];

			if ((err = put_name(buf, cap, &o, &r->name, c)))
				goto out;
			if (s == DNS_SEC_QD) {
				if (o + 4 > cap) {
					err = -DNS_E_TOO_BIG;
					goto out;
				}
				put16(buf + o, r->type);
				put16(buf + o + 2, r->class);
				o += 4;
				continue;
			}
			if (o + 10 + r->rdlen > cap) {
				err = -DNS_E_TOO_BIG;
				goto out;
			}
			put16(buf + o, r->type);
			put16(buf + o + 2, r->class);
			put32(buf + o + 4, r->ttl);
			put16(buf + o + 8, r->rdlen);
			if (r->rdlen)
				memcpy(buf + o + 10, r->rdata, r->rdlen);
			o += 10 + r->rdlen;
		}
	}
	if (m->has_tsig) {
		const struct dns_tsig *t = &m->tsig;
		size_t rdlen = t->alg.len + 16 + t->mac_len + t->other_len;

		if (o + t->key.len + 10 + rdlen > cap) {
			err = -DNS_E_TOO_BIG;
			goto out;
		}
		memcpy(buf + o, t->key.wire, t->key.len);
		o += t->key.len;
		put16(buf + o, DNS_T_TSIG);
		put16(buf + o + 2, DNS_C_ANY);
		put32(buf + o + 4, 0);
		put16(buf + o + 8, (uint16_t)rdlen);
		o += 10;
		memcpy(buf + o, t->alg.wire, t->alg.len);
		o += t->alg.len;
		put16(buf + o, (uint16_t)(t->time_signed >> 32));
		put32(buf + o + 2, (uint32_t)t->time_signed);
		put16(buf + o + 6, t->fudge);
		put16(buf + o + 8, t->mac_len);
		o += 10;
		memcpy(buf + o, t->mac, t->mac_len);
		o += t->mac_len;
		put16(buf + o, t->orig_id);
		put16(buf + o + 2, t->error);
		put16(buf + o + 4, t->other_len);
		o += 6;
		memcpy(buf + o, t->other, t->other_len);
		o += t->other_len;
	}
	*len = o;
out:
	free(c);
	return err;
}

static bool rr_equal(const struct dns_rr *a, const struct dns_rr *b)
{
	return dns_name_equal(&a->name, &b->name) && a->type == b->type && a->class == b->class &&
	       a->ttl == b->ttl && a->rdlen == b->rdlen &&
	       (!a->rdlen || !memcmp(a->rdata, b->rdata, a->rdlen));
}

bool dns_msg__equal(const struct dns_msg *a, const struct dns_msg *b)
{
	if (a->id != b->id || a->flags != b->flags || a->has_tsig != b->has_tsig)
		return false;
	for (int s = 0; s < DNS_SEC_N; s++) {
		if (a->n[s] != b->n[s])
			return false;
		for (int i = 0; i < a->n[s]; i++)
			if (!rr_equal(&a->rr[s][i], &b->rr[s][i]))
				return false;
	}
	if (a->has_tsig) {
		const struct dns_tsig *x = &a->tsig, *y = &b->tsig;

		if (!dns_name_equal(&x->key, &y->key) || !dns_name_equal(&x->alg, &y->alg) ||
		    x->time_signed != y->time_signed || x->fudge != y->fudge ||
		    x->mac_len != y->mac_len || memcmp(x->mac, y->mac, x->mac_len) ||
		    x->orig_id != y->orig_id || x->error != y->error ||
		    x->other_len != y->other_len || memcmp(x->other, y->other, x->other_len))
			return false;
	}
	return true;
}
