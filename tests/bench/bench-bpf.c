// SPDX-License-Identifier: GPL-2.0-only
/*
 * ns/packet of presage's XDP and tc programs against empty programs on the
 * same hook and packet, through BPF_PROG_TEST_RUN, measured in one run.
 *
 * Steady cases (a packet that changes nothing lasting: non-TCP, a known flow)
 * use the kernel's repeat loop. Cases that change state every packet (a new
 * flow, a TS echo that yields a sample) run one packet per call and add up
 * the duration the kernel measured around the program, so the syscall and the
 * packet copy stay out of the figure; the empty program is measured the same
 * way, so the timer's own cost cancels in "over".
 *
 * The machine is shared: each case is measured --runs times, ours and the
 * empty program interleaved, and the table shows medians. "over" is the
 * median of the per-run differences.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "presage.h"
#include "ihm.skel.h"
#include "empty.skel.h"
#include "bench_floor.skel.h"
#include "../pktbuild.h"
#include "bench.h"

#define MAX_RUNS 31

static int runs = 7, repeat = 1000000, calls = 20000;
static int px, pt, ex, et, flows_fd, floor_lookup, floor_insert, floor_flows;
static int floor_lookup_k4, floor_insert_pcpu, floor_flows_pcpu;
static bool json;

/* Kernel repeat loop: ns per run as the kernel reports it. */
static double run_repeat(int fd, bool xdp, uint8_t *pkt, int len, int rep)
{
	struct xdp_md x = { .data_end = len, .ingress_ifindex = 1 };
	struct __sk_buff s = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = rep);

	o.ctx_in = xdp ? (void *)&x : (void *)&s;
	o.ctx_size_in = xdp ? sizeof(x) : sizeof(s);
	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "bench-bpf: BPF_PROG_TEST_RUN failed: %s (run as root?)\n",
			strerror(errno));
		exit(1);
	}
	return o.duration;
}

static bool first_row = true;

static void row(const char *name, double *ours, double *empty, int n)
{
	double d[MAX_RUNS], o, e, over;

	for (int i = 0; i < n; i++)
		d[i] = ours[i] - empty[i];
	over = median(d, n);
	o = median(ours, n);
	e = median(empty, n);
	if (json)
		printf("%s\n  {\"case\": \"%s\", \"presage_ns\": %.1f, \"empty_ns\": %.1f, "
		       "\"over_ns\": %.1f, \"ratio\": %.3f}",
		       first_row ? "[" : ",", name, o, e, over, o / e);
	else
		printf("%-36s %9.1f %9.1f %9.1f %7.2fx\n", name, o, e, over, o / e);
	first_row = false;
}

/* Empty a flow table between runs so every run inserts into the same fill. */
static void clear_flows(int fd)
{
	enum { CHUNK = 4096 };
	static struct flow_key keys[CHUNK];
	static struct flow_state vals[CHUNK];
	struct flow_key out;
	__u32 n;

	do {
		n = CHUNK;
		/* From the start each time: what was read is gone. */
		if (bpf_map_lookup_and_delete_batch(fd, NULL, &out, keys, vals, &n, NULL) &&
		    errno != ENOENT) {
			fprintf(stderr, "bench-bpf: emptying the flow table: %s\n", strerror(errno));
			exit(1);
		}
	} while (n);
}

/*
 * A steady case: one packet through program @fd and the empty program of the
 * hook, many times. @setup_fd runs the packet once first (creates the flow).
 */
static void steady(const char *name, int fd, int setup_fd, bool xdp, const struct pkt_spec *s)
{
	uint8_t pkt[PB_MAX];
	double o[MAX_RUNS], e[MAX_RUNS];
	int len = pb_build(s, pkt);

	run_repeat(setup_fd, xdp, pkt, len, 1);
	for (int r = 0; r < runs; r++) {
		o[r] = run_repeat(fd, xdp, pkt, len, repeat);
		e[r] = run_repeat(xdp ? ex : et, xdp, pkt, len, repeat);
	}
	row(name, o, e, runs);
}

/*
 * One packet per call: with @fresh a new port pair each time (each packet
 * creates a flow), else the same flow each time (the control: what one call
 * costs with caches as cold as in the new-flow case).
 */
static void per_call(const char *name, int fd, int table_fd, bool xdp, uint8_t flags, bool fresh)
{
	uint8_t pkt[PB_MAX];
	double o[MAX_RUNS], e[MAX_RUNS];

	for (int r = 0; r < runs; r++) {
		clear_flows(table_fd);
		o[r] = e[r] = 0;
		for (int i = 0; i < calls; i++) {
			struct pkt_spec s = { .out = !xdp, .lport = (uint16_t)(fresh ? 1024 + i % 60000 : 1000),
					      .rport = (uint16_t)(fresh ? 81 + i / 60000 : 80), .flags = flags,
					      .seq = 1, .payload = flags & TH_SYN ? 0 : 100 };
			int len = pb_build(&s, pkt);

			o[r] += run_repeat(fd, xdp, pkt, len, 1);
			e[r] += run_repeat(xdp ? ex : et, xdp, pkt, len, 1);
		}
		o[r] /= calls;
		e[r] /= calls;
	}
	row(name, o, e, runs);
}

/*
 * TSval out by tc (not timed), then its echo in by XDP (timed): with the
 * sampling interval set to 0 for the bench, every echo yields an RTT sample.
 */
static void ts_echo(const char *name)
{
	uint8_t po[PB_MAX], pi[PB_MAX];
	double o[MAX_RUNS], e[MAX_RUNS];

	for (int r = 0; r < runs; r++) {
		o[r] = e[r] = 0;
		for (int i = 0; i < calls; i++) {
			struct pkt_spec so = { .out = 1, .lport = 999, .rport = 80,
					       .flags = TH_ACK, .seq = 1 + i, .payload = 100 };
			struct pkt_spec si = { .lport = 999, .rport = 80, .flags = TH_ACK, .seq = 1 };
			int lo, li;

			pb_ts_opt(&so, 1000 + i, 5);
			pb_ts_opt(&si, 7, 1000 + i);
			lo = pb_build(&so, po);
			li = pb_build(&si, pi);
			run_repeat(pt, false, po, lo, 1);
			o[r] += run_repeat(px, true, pi, li, 1);
			e[r] += run_repeat(ex, true, pi, li, 1);
		}
		o[r] /= calls;
		e[r] /= calls;
	}
	row(name, o, e, runs);
}

/*
 * TSvals out by tc on a known flow whose timed TSval waits for its echo: what
 * nearly every segment of a busy flow costs (a new TSval each time, turned
 * away by the sampling limit).
 */
static void ts_out(const char *name)
{
	uint8_t po[PB_MAX];
	double o[MAX_RUNS], e[MAX_RUNS];

	for (int r = 0; r < runs; r++) {
		o[r] = e[r] = 0;
		for (int i = 0; i < calls; i++) {
			struct pkt_spec so = { .out = 1, .lport = 998, .rport = 80, .flags = TH_ACK,
					       .seq = 1 + 100 * (uint32_t)(r * calls + i), .payload = 100 };
			int lo;

			pb_ts_opt(&so, 1000 + (uint32_t)(r * calls + i), 5);
			lo = pb_build(&so, po);
			o[r] += run_repeat(pt, false, po, lo, 1);
			e[r] += run_repeat(et, false, po, lo, 1);
		}
		o[r] /= calls;
		e[r] /= calls;
	}
	row(name, o, e, runs);
}

/* Set a .rodata variable of an object not opened through its skeleton. */
static int set_rodata_u64(struct bpf_object *obj, const char *var, __u64 v)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec;
	const struct btf_var_secinfo *vs;
	size_t sz;
	char *data;
	int id;

	if (!m || !btf || (id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC)) < 0)
		return -ENOENT;
	data = (char *)bpf_map__initial_value(m, &sz);
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const char *n = btf__name_by_offset(btf, btf__type_by_id(btf, vs->type)->name_off);

		if (!strcmp(n, var) && vs->offset + 8 <= sz) {
			memcpy(data + vs->offset, &v, 8);
			return 0;
		}
	}
	return -ENOENT;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-bpf [--runs N] [--repeat N] [--calls N] [--obj FILE] [-j]\n"
		"ns/packet of presage's XDP and tc programs over empty programs on the same hook\n"
		"and packet (BPF_PROG_TEST_RUN), medians of N runs measured in this run.\n"
		"  --runs N    measurements per case, ours and empty interleaved (default 7)\n"
		"  --repeat N  kernel repeat count for the steady cases (default 1000000)\n"
		"  --calls N   packets per run for the one-packet-per-call cases (default 20000)\n"
		"  --obj FILE  measure this ihm.bpf.o instead of the built-in one (bisection)\n"
		"  -j, --json  one JSON array of rows\n"
		"Targets (not gates): <= 27 ns over empty for a known flow, <= 150 ns for a new one.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "runs", 1, 0, 'r' }, { "repeat", 1, 0, 'n' },
					     { "calls", 1, 0, 'c' }, { "obj", 1, 0, 'o' },
					     { "json", 0, 0, 'j' }, { "help", 0, 0, 'h' }, {} };
	const char *objpath = NULL;
	struct ihm_bpf *skel = NULL;
	struct bpf_object *obj;
	struct empty_bpf *e;
	struct bench_floor_bpf *fl;
	struct bpf_map *m;
	struct link_cfg lc = { 0 };
	__u32 k = 1;
	int c, err;

	while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		switch (c) {
		case 'r': runs = atoi(optarg); break;
		case 'n': repeat = atoi(optarg); break;
		case 'c': calls = atoi(optarg); break;
		case 'o': objpath = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || repeat < 1 || calls < 1) {
		fprintf(stderr, "bench-bpf: --runs must be 1..%d, --repeat and --calls >= 1\n",
			MAX_RUNS);
		return 2;
	}
	/* A namespace of our own: ifindex 1 is our lo, nothing shared with an agent. */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench-bpf: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return 1;
	}
	libbpf_set_print(NULL);
	if (objpath) {
		obj = bpf_object__open_file(objpath, NULL);
		err = obj ? 0 : -errno;
	} else {
		skel = ihm_bpf__open();
		obj = skel ? skel->obj : NULL;
		err = skel ? 0 : -errno;
	}
	if (err) {
		fprintf(stderr, "bench-bpf: opening %s: %s\n", objpath ?: "ihm.bpf.o", strerror(-err));
		return 1;
	}
	bpf_object__for_each_map(m, obj)
		bpf_map__set_pin_path(m, NULL);
	/* Every TS echo is a sample: no per-flow sampling interval. */
	if (set_rodata_u64(obj, "ts_min_interval_ns", 0))
		fprintf(stderr, "bench-bpf: ts_min_interval_ns not found; the echo row may not sample\n");
	err = bpf_object__load(obj);
	e = empty_bpf__open_and_load();
	fl = bench_floor_bpf__open_and_load();
	if (err || !e || !fl) {
		fprintf(stderr, "bench-bpf: loading the programs failed (%s); run "
			"`bpftool prog load` on the object to see the verifier log\n",
			strerror(err ? -err : errno));
		return 1;
	}
	px = bpf_program__fd(bpf_object__find_program_by_name(obj, "presage_xdp"));
	pt = bpf_program__fd(bpf_object__find_program_by_name(obj, "presage_tc"));
	flows_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "flows"));
	ex = bpf_program__fd(e->progs.empty_xdp);
	et = bpf_program__fd(e->progs.empty_tc);
	floor_lookup = bpf_program__fd(fl->progs.floor_lookup);
	floor_insert = bpf_program__fd(fl->progs.floor_insert);
	floor_flows = bpf_map__fd(fl->maps.floor_flows);
	floor_lookup_k4 = bpf_program__fd(fl->progs.floor_lookup_k4);
	floor_insert_pcpu = bpf_program__fd(fl->progs.floor_insert_pcpu);
	floor_flows_pcpu = bpf_map__fd(fl->maps.floor_flows_pcpu);
	err = bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "links_cfg")), &k,
				  &lc, BPF_ANY);
	/* The slot too, as the agent writes it (an older object has no link_slots). */
	m = bpf_object__find_map_by_name(obj, "link_slots");
	if (!err && m) {
		struct link_slot ls = { .ifindex = k, .link_id = 0 };
		__u32 slot = link_slot_of(k);

		err = bpf_map_update_elem(bpf_map__fd(m), &slot, &ls, BPF_ANY);
	}
	if (err) {
		fprintf(stderr, "bench-bpf: configuring ifindex 1: %s\n", strerror(errno));
		return 1;
	}

	/* How much of the verifier's budget the programs use (the 6.1 verifier is less clever). */
	{
		struct bpf_prog_info ix = {}, it = {};
		__u32 lx = sizeof(ix), lt = sizeof(it);

		if (!bpf_obj_get_info_by_fd(px, &ix, &lx) && !bpf_obj_get_info_by_fd(pt, &it, &lt))
			fprintf(stderr, "# verified instructions: presage_xdp %u, presage_tc %u\n",
				ix.verified_insns, it.verified_insns);
	}
	if (!json)
		printf("%-36s %9s %9s %9s %8s   (median of %d runs)\n", "case (ns/packet)",
		       "presage", "empty", "over", "ratio", runs);
	struct pkt_spec udp = { .proto = 17, .payload = 64 };
	steady("xdp: non-TCP (UDP)", px, px, true, &udp);
	udp.out = 1;
	steady("tc:  non-TCP (UDP)", pt, pt, false, &udp);
	struct pkt_spec known = { .lport = 1000, .rport = 80, .flags = TH_ACK, .seq = 1,
				  .payload = 100 };
	steady("xdp: TCP, known flow", px, px, true, &known);
	steady("  floor: flow look-up alone", floor_lookup, floor_insert, true, &known);
	steady("  floor: look-up, 4-byte key", floor_lookup_k4, floor_lookup_k4, true, &known);
	known.out = 1;
	steady("tc:  TCP, known flow", pt, pt, false, &known);
	pb_ts_opt(&known, 1, 2);
	steady("tc:  TCP+TS option, known flow", pt, pt, false, &known);
	per_call("xdp: TCP, known flow, per call", px, flows_fd, true, TH_ACK, false);
	per_call("xdp: TCP data, new flow, per call", px, flows_fd, true, TH_ACK, true);
	per_call("  floor: look-up + LRU insert alone", floor_insert, floor_flows, true, TH_ACK,
		 true);
	per_call("  floor: the same, per-CPU LRU lists", floor_insert_pcpu, floor_flows_pcpu, true,
		 TH_ACK, true);
	per_call("tc:  TCP SYN, new flow, per call", pt, flows_fd, false, TH_SYN, true);
	clear_flows(flows_fd);
	ts_out("tc:  TS out, new TSval, per call");
	ts_echo("xdp: TS echo -> RTT sample, per call");
	if (!json)
		printf("floor rows: the kernel's flow-table operation alone on a map like `flows`;\n"
		       "per call rows: one packet per BPF_PROG_TEST_RUN, caches colder than in a loop.\n");
	if (json)
		printf("\n]\n");
	if (skel)
		ihm_bpf__destroy(skel);
	else
		bpf_object__close(obj);
	empty_bpf__destroy(e);
	bench_floor_bpf__destroy(fl);
	return 0;
}
