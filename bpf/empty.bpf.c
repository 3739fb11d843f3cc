// SPDX-License-Identifier: GPL-2.0-only
/*
 * Baselines for `make bench`: programs that do nothing on the same hooks, so
 * the cost of presage's programs is measured as a ratio to these.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC */
}

char LICENSE[] SEC("license") = "GPL";
