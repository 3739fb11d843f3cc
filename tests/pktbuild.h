/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Crafted packets for BPF_PROG_TEST_RUN tables: Ethernet with optional VLAN
 * tags, IPv4 (with options, fragments) or IPv6 (with extension headers), and
 * TCP with options and payload, or UDP/ICMP/ARP. Each field can be made wrong
 * on purpose to build the hostile cases.
 */
#ifndef PRESAGE_PKTBUILD_H
#define PRESAGE_PKTBUILD_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#define PB_MAX 2048

struct pkt_spec {
	int nvlan;			/* VLAN tags */
	uint16_t vlan_tpid[3];		/* 0x8100 or 0x88a8 */
	uint16_t ethertype;		/* 0 = from v6 */
	int v6;
	/* IPv4 */
	int ihl;			/* 0 = 5 + opts */
	int ip_opt_len;			/* bytes of IPv4 options (multiple of 4) */
	uint16_t frag_off;		/* host order: flags|offset */
	int tot_len_delta;		/* added to the right total length */
	int ip_version;			/* 0 = right */
	/* IPv6 extension headers, in order: type and length in bytes (multiple of 8) */
	int next6;
	uint8_t ext_type[10];
	int ext_len[10];
	uint16_t frag6_off;		/* fragment header's frag_off field (host order) */
	int plen_delta;
	/* L4 */
	uint8_t proto;			/* 6 TCP (default), 17 UDP, 1 ICMP */
	int out;			/* 1: local -> remote, 0: remote -> local */
	uint16_t lport, rport;
	uint32_t seq, ack;
	uint8_t flags;			/* TCP flags byte */
	int doff;			/* 0 = right */
	uint8_t opts[40];
	int optlen;			/* multiple of 4 unless doff is forced */
	int payload;
	int truncate;			/* >0: cut the packet to this many bytes */
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* The timestamp option padded to 12 bytes: NOP NOP TS. */
static inline void pb_ts_opt(struct pkt_spec *s, uint32_t tsval, uint32_t tsecr)
{
	uint32_t v = htonl(tsval), e = htonl(tsecr);

	s->opts[0] = 1;
	s->opts[1] = 1;
	s->opts[2] = 8;
	s->opts[3] = 10;
	memcpy(s->opts + 4, &v, 4);
	memcpy(s->opts + 8, &e, 4);
	s->optlen = 12;
}

static const uint8_t pb_local4[4] = { 10, 0, 0, 1 }, pb_remote4[4] = { 192, 0, 2, 1 };
static const uint8_t pb_local6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t pb_remote6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 2 };

static inline uint16_t pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return v;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * The Internet checksum of @len bytes (RFC 1071), in host order: store it
 * with pb_put16(), or htons() it into a header struct. Deliberately separate
 * from user/probe.c's, so the tests check that one against another.
 */
static inline uint16_t pb_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Build the packet into @buf; returns its length. */
static inline int pb_build(const struct pkt_spec *s, uint8_t *buf)
{
	uint8_t *p = buf, *l3, *l4;
	int i, l4len, hl, tcphl;
	uint8_t proto = s->proto ? s->proto : 6;
	uint16_t et = s->ethertype ? s->ethertype : (s->v6 ? 0x86dd : 0x0800);

	memset(buf, 0, PB_MAX);
	/* Ethernet: dst, src, then tags. */
	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	p += 12;
	for (i = 0; i < s->nvlan; i++) {
		pb_put16(p, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		pb_put16(p + 2, 100 + i);
		p += 4;
	}
	pb_put16(p, et);
	p += 2;
	if (et != 0x0800 && et != 0x86dd) {
		/* ARP-sized filler. */
		memset(p, 0xab, 28);
		p += 28;
		return s->truncate > 0 ? s->truncate : (int)(p - buf);
	}

	tcphl = s->doff ? s->doff * 4 : 20 + s->optlen;
	if (proto == 6)
		l4len = (s->doff ? 20 + s->optlen : tcphl) + s->payload;
	else
		l4len = 8 + s->payload;

	l3 = p;
	if (!s->v6) {
		hl = 20 + s->ip_opt_len;
		p[0] = ((s->ip_version ? s->ip_version : 4) << 4) | (s->ihl ? s->ihl : hl / 4);
		pb_put16(p + 2, (uint16_t)(hl + l4len + s->tot_len_delta));
		pb_put16(p + 6, s->frag_off);
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, s->out ? pb_local4 : pb_remote4, 4);
		memcpy(p + 16, s->out ? pb_remote4 : pb_local4, 4);
		for (i = 0; i < s->ip_opt_len; i++)
			p[20 + i] = 1; /* NOP options */
		p += hl;
	} else {
		int ext_total = 0;

		for (i = 0; i < s->next6; i++)
			ext_total += s->ext_len[i];
		p[0] = (s->ip_version ? s->ip_version : 6) << 4;
		pb_put16(p + 4, (uint16_t)(ext_total + l4len + s->plen_delta));
		p[6] = s->next6 ? s->ext_type[0] : proto;
		p[7] = 64;
		memcpy(p + 8, s->out ? pb_local6 : pb_remote6, 16);
		memcpy(p + 24, s->out ? pb_remote6 : pb_local6, 16);
		p += 40;
		for (i = 0; i < s->next6; i++) {
			p[0] = i + 1 < s->next6 ? s->ext_type[i + 1] : proto;
			if (s->ext_type[i] == 44) {
				pb_put16(p + 2, s->frag6_off);
			} else if (s->ext_type[i] == 51) {
				p[1] = s->ext_len[i] / 4 - 2;
			} else {
				p[1] = s->ext_len[i] / 8 - 1;
			}
			p += s->ext_len[i];
		}
	}
	(void)l3;
	l4 = p;
	if (proto == 6) {
		pb_put16(l4, s->out ? s->lport : s->rport);
		pb_put16(l4 + 2, s->out ? s->rport : s->lport);
		pb_put32(l4 + 4, s->seq);
		pb_put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((s->doff ? s->doff : tcphl / 4) << 4);
		l4[13] = s->flags;
		pb_put16(l4 + 14, 65535);
		memcpy(l4 + 20, s->opts, s->optlen);
		p += 20 + s->optlen;
	} else {
		pb_put16(l4, 40000);
		pb_put16(l4 + 2, 53);
		pb_put16(l4 + 4, (uint16_t)l4len);
		p += 8;
	}
	for (i = 0; i < s->payload; i++)
		*p++ = (uint8_t)i;
	return s->truncate > 0 ? s->truncate : (int)(p - buf);
}

#endif
