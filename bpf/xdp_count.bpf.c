// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for the other XDP programs a POP router runs (a DDoS filter):
 * counts packets and passes them. Used by the coexistence test, loaded with
 * xdp-loader so that it is attached through libxdp's dispatcher like ours.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} other_count SEC(".maps");

/* Run after presage (priority 5) so both see every packet. */
struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(other_xdp);

SEC("xdp")
int other_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&other_count, &zero);

	if (c)
		(*c)++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
