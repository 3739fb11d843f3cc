/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing helpers for presage's programs, in the style of xdp-tools'
 * parsing_helpers.h: each helper takes a cursor, checks its own bounds against
 * data_end before reading, and advances the cursor past what it parsed.
 * Return values: >= 0 is the next protocol (host order) or a length,
 * PARSE_TRUNC means the header runs past the end of the packet, PARSE_BAD
 * means a field is out of range. Nothing is read past data_end, ever.
 */
#ifndef PRESAGE_PARSE_H
#define PRESAGE_PARSE_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "presage.h"

#define PARSE_TRUNC (-1)
#define PARSE_BAD (-2)

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define IPPROTO_TCP_ 6
#define IP_MF_ 0x2000
#define IP_OFFSET_ 0x1FFF

/* IPv6 extension headers that are walked (RFC 8200 section 4). */
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60

struct hdr_cursor {
	void *pos;
};

struct vlan_hdr_ {
	__be16 tci;
	__be16 encap_proto;
};

/*
 * Ethernet plus up to PRESAGE_VLAN_MAX 802.1Q/802.1ad tags. Returns the inner
 * EtherType (host order), PARSE_TRUNC, or PARSE_BAD for a deeper stack.
 */
static __always_inline int parse_eth(struct hdr_cursor *nh, void *data_end)
{
	struct ethhdr *eth = nh->pos;
	struct vlan_hdr_ *vh;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = eth + 1;
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < PRESAGE_VLAN_MAX; i++) {
		if (proto != ETH_P_8021Q_ && proto != ETH_P_8021AD_)
			return proto;
		vh = nh->pos;
		if ((void *)(vh + 1) > data_end)
			return PARSE_TRUNC;
		nh->pos = vh + 1;
		proto = bpf_ntohs(vh->encap_proto);
	}
	if (proto == ETH_P_8021Q_ || proto == ETH_P_8021AD_)
		return PARSE_BAD;
	return proto;
}

/* What the L3 parsers learn about a packet. */
struct l3_info {
	__u32 l4_len;		/* bytes from the L4 header to the end of the IP payload */
	__u8 proto;		/* L4 protocol */
	__u8 is_frag;		/* a fragment: do not parse L4 */
	__u8 ext_overflow;	/* IPv6 chain longer than the bound */
	/*
	 * Set by both parsers, read by no program today (each caller knows
	 * which parser it called). Kept all the same: without these two
	 * stores, presage's programs exceed the verifier's one million
	 * instructions on 6.18 and do not load (tried; the initialized byte
	 * seems to let the verifier prune states it otherwise walks apart).
	 */
	__u8 v6;
	/*
	 * IPv4 addresses are kept as they are, not IPv4-mapped: the flow key
	 * is built from them directly (see make_key() in ihm.bpf.c).
	 */
	__be32 saddr4;		/* v6 == 0 */
	__be32 daddr4;
	__u8 saddr[16];		/* v6 == 1 */
	__u8 daddr[16];
};

/* The IPv4-mapped IPv6 address ::ffff:@a, as flow keys hold IPv4 addresses. */
static __always_inline void put_v4mapped(__u8 *dst, __be32 a)
{
	__u64 zero = 0;
	__u32 ffff = bpf_htonl(0xffff);

	__builtin_memcpy(dst, &zero, 8);
	__builtin_memcpy(dst + 8, &ffff, 4);
	__builtin_memcpy(dst + 12, &a, 4);
}

/*
 * IPv4 header with options. @avail is the number of packet bytes from the IP
 * header to the real end of the packet (for tc, beyond the linear part), so a
 * total length that claims more than the packet holds is caught.
 */
static __always_inline int parse_ipv4(struct hdr_cursor *nh, void *data_end, __u32 avail,
				      struct l3_info *l3)
{
	struct iphdr *iph = nh->pos;
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return PARSE_TRUNC;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_BAD;
	hlen = iph->ihl * 4;
	if (nh->pos + hlen > data_end)
		return PARSE_TRUNC;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen)
		return PARSE_BAD;
	if (tot > avail)
		return PARSE_TRUNC;
	frag = bpf_ntohs(iph->frag_off);
	l3->is_frag = (frag & (IP_MF_ | IP_OFFSET_)) != 0;
	l3->proto = iph->protocol;
	l3->l4_len = tot - hlen;
	l3->v6 = 0;
	l3->ext_overflow = 0;
	l3->saddr4 = iph->saddr;
	l3->daddr4 = iph->daddr;
	nh->pos += hlen;
	return 0;
}

struct ipv6_opt_hdr_ {
	__u8 nexthdr;
	__u8 hdrlen;
};

/*
 * IPv6 header and at most PRESAGE_IPV6_EXT_MAX extension headers. A fragment
 * header with a non-zero offset or the M flag makes the packet a fragment; an
 * atomic fragment (offset 0, M clear) is parsed through.
 */
static __always_inline int parse_ipv6(struct hdr_cursor *nh, void *data_end, __u32 avail,
				      struct l3_info *l3)
{
	struct ipv6hdr *ip6h = nh->pos;
	struct ipv6_opt_hdr_ *oh;
	__u32 plen, used = 0, hl;
	__u8 next;
	int i;

	if ((void *)(ip6h + 1) > data_end)
		return PARSE_TRUNC;
	if (ip6h->version != 6)
		return PARSE_BAD;
	plen = bpf_ntohs(ip6h->payload_len);
	if (plen + sizeof(*ip6h) > avail)
		return PARSE_TRUNC;
	__builtin_memcpy(l3->saddr, &ip6h->saddr, 16);
	__builtin_memcpy(l3->daddr, &ip6h->daddr, 16);
	l3->v6 = 1;
	l3->is_frag = 0;
	l3->ext_overflow = 0;
	next = ip6h->nexthdr;
	nh->pos = ip6h + 1;

#pragma unroll
	for (i = 0; i < PRESAGE_IPV6_EXT_MAX; i++) {
		if (next != NEXTHDR_HOP && next != NEXTHDR_ROUTING && next != NEXTHDR_DEST &&
		    next != NEXTHDR_FRAGMENT && next != NEXTHDR_AUTH)
			goto done;
		oh = nh->pos;
		if ((void *)(oh + 1) > data_end)
			return PARSE_TRUNC;
		if (next == NEXTHDR_FRAGMENT) {
			struct frag_hdr *fh = nh->pos;

			if ((void *)(fh + 1) > data_end)
				return PARSE_TRUNC;
			/* Offset or More-Fragments set: a real fragment. */
			if (bpf_ntohs(fh->frag_off) & 0xFFF9) {
				l3->is_frag = 1;
				l3->proto = fh->nexthdr;
				l3->l4_len = 0;
				return 0;
			}
			hl = 8;
		} else if (next == NEXTHDR_AUTH) {
			hl = ((__u32)oh->hdrlen + 2) * 4;
		} else {
			hl = ((__u32)oh->hdrlen + 1) * 8;
		}
		used += hl;
		if (used > plen)
			return PARSE_BAD;
		next = oh->nexthdr;
		nh->pos += hl;
	}
	/* Still looking at an extension header after the bound. */
	if (next == NEXTHDR_HOP || next == NEXTHDR_ROUTING || next == NEXTHDR_DEST ||
	    next == NEXTHDR_FRAGMENT || next == NEXTHDR_AUTH) {
		l3->ext_overflow = 1;
		l3->proto = next;
		l3->l4_len = 0;
		return 0;
	}
done:
	l3->proto = next;
	l3->l4_len = plen - used;
	return 0;
}

/* TCP option walk result. */
enum {
	TCPOPT_NONE = 0,	/* no timestamp option */
	TCPOPT_TS = 1,		/* timestamp found */
	TCPOPT_BAD = 2,		/* option length out of range */
	TCPOPT_OVERFLOW = 3,	/* walk bound reached */
};

/*
 * Find the timestamp option (kind 8, length 10) in the @olen (<= 40) bytes of
 * options copied to the stack buffer @opt, which is 80 bytes long and fully
 * initialized (the verifier wants every byte the masked index can reach set;
 * what lies past @olen, zeroes or payload, is never interpreted). Working on a stack copy rather than the packet keeps the
 * verifier's work flat: with direct packet access, every distinct header
 * layout before TCP (VLAN depth, IPv6 extension count) made it walk this loop
 * again, and the program hit the one-million-instruction limit.
 */
static __always_inline int parse_tcp_ts(const __u8 *opt, __u32 olen, __u32 *tsval, __u32 *tsecr)
{
	__u32 i = 0, j, v;
	__u8 kind, len;
	int step;

	for (step = 0; step < PRESAGE_TCPOPT_STEPS; step++) {
		if (i >= olen || i >= 40)
			return TCPOPT_NONE;
		/*
		 * Index through a masked copy: clang may keep i in two
		 * registers and bounds-check only one of them, and the
		 * verifier then refuses the read ("invalid variable-offset
		 * read from stack"). j <= 63 and j + 10 <= 73 fit the buffer.
		 */
		j = i;
		asm volatile("" : "+r"(j)); /* hide i's bound so clang keeps the mask */
		j &= 0x3f;
		kind = opt[j];
		if (kind == 0)
			return TCPOPT_NONE;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 2 > olen)
			return TCPOPT_BAD;
		len = opt[j + 1];
		/* A length below 2 would loop forever (zero) or overlap itself. */
		if (len < 2 || i + len > olen)
			return TCPOPT_BAD;
		if (kind == 8) {
			if (len != 10)
				return TCPOPT_BAD;
			__builtin_memcpy(&v, opt + j + 2, 4);
			*tsval = bpf_ntohl(v);
			__builtin_memcpy(&v, opt + j + 6, 4);
			*tsecr = bpf_ntohl(v);
			return TCPOPT_TS;
		}
		i += len;
	}
	return TCPOPT_OVERFLOW;
}

#endif
