// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loss injection for tests and the lab (this kernel has no netem): a tc
 * program that drops a set share of packets at random. Attached with
 * `presage-dropper`; the rate can change while it runs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/parse.h"

struct dropper_cfg {
	__u32 drop_ppm;		/* drop probability in parts per million */
	__u32 only_tcp_data;	/* 1: drop only TCP segments that carry payload */
	__u64 seen;		/* packets considered */
	__u64 dropped;		/* packets dropped */
};

/* One entry, written by presage-dropper, counters by the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dropper_cfg);
} dropper_cfg SEC(".maps");

static __always_inline bool is_tcp_data(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct hdr_cursor nh = { .pos = data };
	struct l3_info l3 = {};
	struct tcphdr *th;
	int proto, err;

	proto = parse_eth(&nh, data_end);
	if (proto == ETH_P_IP_)
		err = parse_ipv4(&nh, data_end, skb->len - (nh.pos - data), &l3);
	else if (proto == ETH_P_IPV6_)
		err = parse_ipv6(&nh, data_end, skb->len - (nh.pos - data), &l3);
	else
		return false;
	if (err < 0 || l3.is_frag || l3.proto != IPPROTO_TCP_)
		return false;
	th = nh.pos;
	if ((void *)(th + 1) > data_end)
		return false;
	return l3.l4_len > th->doff * 4u;
}

SEC("tc")
int presage_dropper(struct __sk_buff *skb)
{
	struct dropper_cfg *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&dropper_cfg, &zero);
	if (!c || !c->drop_ppm)
		return -1;
	if (c->only_tcp_data) {
		bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256);
		if (!is_tcp_data(skb))
			return -1;
	}
	__sync_fetch_and_add(&c->seen, 1);
	if (bpf_get_prandom_u32() % 1000000 < c->drop_ppm) {
		__sync_fetch_and_add(&c->dropped, 1);
		return 2; /* TC_ACT_SHOT */
	}
	return -1;
}

char LICENSE[] SEC("license") = "GPL";
