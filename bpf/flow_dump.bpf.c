// SPDX-License-Identifier: GPL-2.0-only
/*
 * A BPF iterator over a flow table (struct flow_key -> struct flow_state):
 * every entry is written, key then value, as raw bytes to the iterator's
 * seq_file, which user space read()s in large chunks. Measured against
 * bpf_map_lookup_batch by tests/bench/bench-flowmap.c: the batch call pays a
 * bucket lock and two copies to user space per hash bucket, the iterator one
 * program call per entry and a copy per read().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "presage.h"

SEC("iter/bpf_map_elem")
int dump_flows(struct bpf_iter__bpf_map_elem *ctx)
{
	struct flow_key *k = ctx->key;
	struct flow_state *v = ctx->value;

	/* The last call of a walk has no element. */
	if (!k || !v)
		return 0;
	bpf_seq_write(ctx->meta->seq, k, sizeof(*k));
	bpf_seq_write(ctx->meta->seq, v, sizeof(*v));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
