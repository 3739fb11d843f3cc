// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel floors for `make bench` (tests/bench/bench-bpf.c): the flow-table
 * operations presage's programs cannot avoid, alone, on a map of the same
 * type, key, value and size as `flows`. The bench prints them beside our
 * programs so that "over empty" can be split into what the kernel's map
 * costs and what our own code adds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "presage.h"
#include "lib/parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PRESAGE_MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} floor_flows SEC(".maps");

/*
 * The same table with per-CPU LRU lists (BPF_F_NO_COMMON_LRU), which
 * `flows` does not use (see README, Benchmarks): measured beside it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, PRESAGE_MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} floor_flows_pcpu SEC(".maps");

/* A key of 4 bytes (the two ports): what the kernel's hash look-up costs whatever the key. */
struct floor_key4 {
	__be16 port[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PRESAGE_MAX_FLOWS);
	__type(key, struct floor_key4);
	__type(value, struct flow_state);
} floor_flows_k4 SEC(".maps");

/* Both ports of an IPv4 TCP packet without options make the key (bench packets only). */
static __always_inline int floor_key(struct xdp_md *ctx, struct flow_key *k)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 *ports = data + 14 + 20;

	__builtin_memset(k, 0, sizeof(*k));
	if ((void *)(ports + 1) > end)
		return -1;
	__builtin_memcpy(k->port, ports, 4);
	return 0;
}

/* One look-up of the packet's flow: a known flow's unavoidable cost. */
SEC("xdp")
int floor_lookup(struct xdp_md *ctx)
{
	struct flow_key k;

	if (floor_key(ctx, &k))
		return XDP_PASS;
	bpf_map_lookup_elem(&floor_flows, &k);
	return XDP_PASS;
}

/* A look-up that misses, then the insert: a new flow's unavoidable cost. */
SEC("xdp")
int floor_insert(struct xdp_md *ctx)
{
	struct flow_state v = {};
	struct flow_key k;

	if (floor_key(ctx, &k))
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&floor_flows, &k))
		bpf_map_update_elem(&floor_flows, &k, &v, BPF_NOEXIST);
	return XDP_PASS;
}

/* floor_insert on the per-CPU LRU table. */
SEC("xdp")
int floor_insert_pcpu(struct xdp_md *ctx)
{
	struct flow_state v = {};
	struct flow_key k;

	if (floor_key(ctx, &k))
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&floor_flows_pcpu, &k))
		bpf_map_update_elem(&floor_flows_pcpu, &k, &v, BPF_NOEXIST);
	return XDP_PASS;
}

/* A look-up with a 4-byte key, inserting the flow the first time. */
SEC("xdp")
int floor_lookup_k4(struct xdp_md *ctx)
{
	struct flow_key k;
	struct floor_key4 k4;

	if (floor_key(ctx, &k))
		return XDP_PASS;
	__builtin_memcpy(k4.port, k.port, 4);
	if (!bpf_map_lookup_elem(&floor_flows_k4, &k4)) {
		struct flow_state v = {};

		bpf_map_update_elem(&floor_flows_k4, &k4, &v, BPF_NOEXIST);
	}
	return XDP_PASS;
}

/*
 * bench-fwd's floor: on the forwarding path, what any program that keeps
 * per-flow state in an LRU hash like `flows` must do for each packet (parse
 * Ethernet, IPv4 and the TCP ports, build the flow's key, look it up, insert
 * it the first time), once in XDP on the way in and once in tc on the way
 * out, as presage's programs do. Nothing else: no counters, no TCP state.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PRESAGE_MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} floor_fwd_flows SEC(".maps");

static __always_inline void floor_fwd(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct flow_key k = {};
	__be16 *ports;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP_) ||
	    ip->protocol != IPPROTO_TCP_ || ip->ihl < 5)
		return;
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > end)
		return;
	put_v4mapped(k.addr[0], ip->saddr);
	put_v4mapped(k.addr[1], ip->daddr);
	k.port[0] = ports[0];
	k.port[1] = ports[1];
	if (!bpf_map_lookup_elem(&floor_fwd_flows, &k)) {
		struct flow_state v = {};

		bpf_map_update_elem(&floor_fwd_flows, &k, &v, BPF_NOEXIST);
	}
}

SEC("xdp")
int floor_fwd_xdp(struct xdp_md *ctx)
{
	floor_fwd((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int floor_fwd_tc(struct __sk_buff *skb)
{
	floor_fwd((void *)(long)skb->data, (void *)(long)skb->data_end);
	return -1; /* TC_ACT_UNSPEC, as presage_tc and empty_tc */
}

char LICENSE[] SEC("license") = "GPL";
