// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading a full flow table from user space: bpf_map_lookup_batch against
 * bpf_map_get_next_key + bpf_map_lookup_elem per element, on a map of the
 * same type, key and value as `flows` (struct flow_key -> struct flow_state,
 * LRU hash) created by the bench with --entries (default 1 Mi) and filled to
 * the brim. The two sweeps alternate --runs times; medians are compared.
 * Both sweeps must read every entry, or the figure is void. A third column,
 * a BPF iterator over the same map (bpf/flow_dump.bpf.c), shows whether the
 * cost is the syscall interface or the walk over the table itself.
 *
 * Two floor rows sweep maps of the same number of entries that no flow table
 * can beat with these calls: an LRU hash with a 4-byte key and an 8-byte
 * value (the smallest entry), and an array of struct flow_state (no hashing,
 * no buckets). What they take is the least a batch sweep costs on this
 * machine, whatever presage's entry looks like.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "presage.h"
#include "flow_dump.skel.h"
#include "bench.h"

#define MAX_RUNS 15
#define CHUNK 8192		/* entries per batch call, as user/health.c reads */

/* Batch buffers, large enough for every map swept (struct flow_key / flow_state the largest). */
static struct flow_key *keys;
static struct flow_state *vals;

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* This thread's CPU time, kernel time in its syscalls included: what a sweep costs. */
static double cpu_ms(void)
{
	return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

/* Entry i: a distinct IPv4-mapped TCP flow. */
static void make_key(struct flow_key *k, __u32 i)
{
	memset(k, 0, sizeof(*k));
	k->addr[0][10] = k->addr[0][11] = 0xff;
	k->addr[1][10] = k->addr[1][11] = 0xff;
	k->addr[0][12] = 10;
	memcpy(&k->addr[0][13], &i, 3);
	k->addr[1][12] = 192;
	k->addr[1][14] = 2;
	k->port[0] = htobe16((__u16)(1024 + i % 60000));
	k->port[1] = htobe16(443);
}

/* A batch sweep; the batch token (a bucket or index) fits in a __u64 for every map type here. */
static long sweep_batch(int fd, double *ms, double *cms)
{
	__u64 out, in;
	void *inp = NULL;
	long n = 0;
	__u32 count;
	int err;
	double t = now_ms(), c = cpu_ms();

	for (;;) {
		count = CHUNK;
		err = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &count, NULL);
		n += count;
		if (err == -ENOENT)
			break;
		if (err) {
			fprintf(stderr, "bench-flowmap: bpf_map_lookup_batch: %s\n", strerror(-err));
			exit(1);
		}
		in = out;
		inp = &in;
	}
	*ms = now_ms() - t;
	*cms = cpu_ms() - c;
	return n;
}

static long sweep_per_element(int fd, double *ms, double *cms)
{
	struct flow_key k, next;	/* the largest key swept */
	struct flow_state v;		/* the largest value */
	void *prev = NULL;
	long n = 0;
	double t = now_ms(), c = cpu_ms();

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		/* An entry evicted between the two calls is simply skipped. */
		if (!bpf_map_lookup_elem(fd, &next, &v))
			n++;
		memcpy(&k, &next, sizeof(k));
		prev = &k;
	}
	*ms = now_ms() - t;
	*cms = cpu_ms() - c;
	return n;
}

/*
 * Sweep run @r of both kinds into *a (batch: entries, *tb wall ms, *cb CPU
 * ms) and *b (per element: *tp, *cp). Which goes first alternates with @r,
 * so a drift in the machine's load hits both alike.
 */
static void sweep_both(int fd, int r, double *tb, double *cb, double *tp, double *cp, long *a,
		       long *b)
{
	if (r % 2) {
		*b = sweep_per_element(fd, tp, cp);
		*a = sweep_batch(fd, tb, cb);
	} else {
		*a = sweep_batch(fd, tb, cb);
		*b = sweep_per_element(fd, tp, cp);
	}
}

/* A BPF iterator (bpf/flow_dump.bpf.c) writes every entry; read it in 1 MiB chunks. */
static long sweep_iter(struct bpf_link *link, double *ms, double *cms)
{
	static char buf[1 << 20];
	const size_t rec = sizeof(struct flow_key) + sizeof(struct flow_state);
	double t = now_ms(), c = cpu_ms();
	long bytes = 0;
	ssize_t n;
	int fd = bpf_iter_create(bpf_link__fd(link));

	if (fd < 0) {
		fprintf(stderr, "bench-flowmap: bpf_iter_create: %s\n", strerror(errno));
		exit(1);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		bytes += n;
	if (n < 0) {
		fprintf(stderr, "bench-flowmap: reading the iterator: %s\n", strerror(errno));
		exit(1);
	}
	close(fd);
	*ms = now_ms() - t;
	*cms = cpu_ms() - c;
	return bytes / (long)rec;
}

/*
 * A floor row: a map of @type with @ksz-byte keys (entry i's key is i) and
 * @vsz-byte values, filled with @entries entries; batch and per-element
 * sweeps alternate @runs times. Medians of CPU ms in *batch and *per_el.
 */
static int floor_row(enum bpf_map_type type, __u32 ksz, __u32 vsz, long entries, int runs,
		     double *batch, double *per_el)
{
	double tb[MAX_RUNS], tp[MAX_RUNS], cb[MAX_RUNS], cp[MAX_RUNS];
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int fd = bpf_map_create(type, "bench_floor", ksz, vsz, (__u32)entries, NULL);

	if (fd < 0) {
		fprintf(stderr, "bench-flowmap: creating the floor map: %s\n", strerror(errno));
		return -1;
	}
	memset(vals, 0, CHUNK * sizeof(*vals));
	for (long i = 0; i < entries; i += CHUNK) {
		__u32 n = entries - i < CHUNK ? (__u32)(entries - i) : CHUNK;

		for (__u32 j = 0; j < n; j++) {
			__u32 key = (__u32)(i + j);

			memcpy((char *)keys + (size_t)j * ksz, &key, 4);
		}
		if (bpf_map_update_batch(fd, keys, vals, &n, &bo)) {
			fprintf(stderr, "bench-flowmap: filling the floor map: %s\n", strerror(errno));
			close(fd);
			return -1;
		}
	}
	for (int r = 0; r < runs; r++) {
		long a, b;

		sweep_both(fd, r, &tb[r], &cb[r], &tp[r], &cp[r], &a, &b);
		if (a != entries || b != entries) {
			fprintf(stderr, "bench-flowmap: a floor sweep read %ld and %ld of %ld entries\n",
				a, b, entries);
			close(fd);
			return -1;
		}
	}
	close(fd);
	*batch = median(cb, runs);
	*per_el = median(cp, runs);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-flowmap [--entries N] [--runs N] [-j]\n"
		"Full sweep of a flow table (LRU hash, struct flow_key -> struct flow_state, as\n"
		"`flows`) filled with N entries (default 1048576): bpf_map_lookup_batch against\n"
		"get_next_key + lookup per element, alternating, medians of --runs (default 3);\n"
		"and, for reference, a BPF iterator over the same map (bpf/flow_dump.bpf.c).\n"
		"Floor rows sweep, the same ways, an LRU hash with the smallest entry (4-byte key,\n"
		"8-byte value) and an array of struct flow_state, of N entries each.\n"
		"Targets (not gates): batch >= 10x faster, <= 100 ms a sweep.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "entries", 1, 0, 'e' }, { "runs", 1, 0, 'r' },
					     { "json", 0, 0, 'j' }, { "help", 0, 0, 'h' }, {} };
	long entries = 1 << 20, nb = 0, np = 0;
	double tb[MAX_RUNS], tp[MAX_RUNS], cb[MAX_RUNS], cp[MAX_RUNS], ti[MAX_RUNS], ci[MAX_RUNS];
	double mb, mp, mcb, mcp, mi, mci, t, fhb, fhp, fab, fap;
	struct flow_dump_bpf *dump;
	struct bpf_link *link;
	int runs = 3, c, fd, err;
	bool json = false;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		switch (c) {
		case 'e': entries = atol(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (entries < 1 || entries > (1L << 24) || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "bench-flowmap: --entries must be 1..16777216, --runs 1..%d\n",
			MAX_RUNS);
		return 2;
	}
	keys = calloc(CHUNK, sizeof(*keys));
	vals = calloc(CHUNK, sizeof(*vals));
	if (!keys || !vals)
		return 1;
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "bench_flows", sizeof(struct flow_key),
			    sizeof(struct flow_state), entries, NULL);
	if (fd < 0) {
		fprintf(stderr, "bench-flowmap: creating a %ld-entry LRU hash: %s (root, and about "
			"%ld MiB of memory, are needed)\n", entries, strerror(errno),
			entries * 160 >> 20);
		return 1;
	}
	/* Fill in batches; the values are what a live flow would hold. */
	t = now_ms();
	for (long i = 0; i < entries; i += CHUNK) {
		__u32 n = entries - i < CHUNK ? (__u32)(entries - i) : CHUNK;

		for (__u32 j = 0; j < n; j++) {
			make_key(&keys[j], (__u32)(i + j));
			vals[j] = (struct flow_state){ .seq_end = { (__u32)i, j }, .seq_valid = { 1, 1 } };
		}
		err = bpf_map_update_batch(fd, keys, vals, &n, &bo);
		if (err) {
			fprintf(stderr, "bench-flowmap: filling the map: %s\n", strerror(-err));
			return 1;
		}
	}
	t = now_ms() - t;
	/* The iterator, bound to this map. */
	{
		union bpf_iter_link_info li = { .map.map_fd = (__u32)fd };
		LIBBPF_OPTS(bpf_iter_attach_opts, io, .link_info = &li, .link_info_len = sizeof(li));

		libbpf_set_print(NULL);
		dump = flow_dump_bpf__open_and_load();
		link = dump ? bpf_program__attach_iter(dump->progs.dump_flows, &io) : NULL;
		if (!link) {
			fprintf(stderr, "bench-flowmap: loading the flow iterator: %s\n", strerror(errno));
			return 1;
		}
	}
	for (int r = 0; r < runs; r++) {
		long a, b, i;

		sweep_both(fd, r, &tb[r], &cb[r], &tp[r], &cp[r], &a, &b);
		i = sweep_iter(link, &ti[r], &ci[r]);
		if (a != b || a != i) {
			fprintf(stderr, "bench-flowmap: the sweeps disagree: batch read %ld entries, "
				"per element %ld, iterator %ld\n", a, b, i);
			return 1;
		}
		nb = a;
		np = b;
	}
	mb = median(tb, runs);
	mp = median(tp, runs);
	mcb = median(cb, runs);
	mcp = median(cp, runs);
	mi = median(ti, runs);
	mci = median(ci, runs);
	/* The floors, after the flow table is swept (its sweeps saw the machine as before). */
	if (floor_row(BPF_MAP_TYPE_LRU_HASH, 4, 8, entries, runs, &fhb, &fhp) ||
	    floor_row(BPF_MAP_TYPE_ARRAY, 4, sizeof(struct flow_state), entries, runs, &fab, &fap))
		return 1;
	if (json) {
		printf("{\"entries\": %ld, \"live\": %ld, \"batch_ms\": %.1f, \"per_element_ms\": %.1f, "
		       "\"ratio\": %.1f, \"batch_cpu_ms\": %.1f, \"per_element_cpu_ms\": %.1f, "
		       "\"ratio_cpu\": %.1f, \"iter_ms\": %.1f, \"iter_cpu_ms\": %.1f, "
		       "\"floor_lru_small_batch_cpu_ms\": %.1f, \"floor_lru_small_per_element_cpu_ms\": "
		       "%.1f, \"floor_array_batch_cpu_ms\": %.1f, \"floor_array_per_element_cpu_ms\": "
		       "%.1f}\n", entries, nb, mb, mp, mp / mb, mcb, mcp, mcp / mcb, mi, mci, fhb, fhp,
		       fab, fap);
	} else {
		printf("%-44s %10s %12s %8s %10s\n", "case (ms per full sweep)", "batch",
		       "per element", "ratio", "bpf_iter");
		printf("%-44s %10.1f %12.1f %7.1fx %10.1f\n",
		       "flow table, LRU hash like `flows`: wall", mb, mp, mp / mb, mi);
		printf("%-44s %10.1f %12.1f %7.1fx %10.1f\n",
		       "  CPU time of the sweep (kernel included)", mcb, mcp, mcp / mcb, mci);
		printf("%-44s %10.1f %12.1f %7.1fx %10s\n", "floor: LRU hash, 4-byte key, 8-byte value",
		       fhb, fhp, fhp / fhb, "-");
		printf("%-44s %10.1f %12.1f %7.1fx %10s\n", "floor: array of struct flow_state", fab,
		       fap, fap / fab, "-");
		printf("(%ld live of %ld entries, filled in %.0f ms; medians of %d alternating "
		       "sweeps;\n floor rows: CPU ms; targets: >= 10x and <= 100 ms a batch sweep)\n",
		       np, entries, t, runs);
	}
	bpf_link__destroy(link);
	flow_dump_bpf__destroy(dump);
	close(fd);
	return 0;
}
