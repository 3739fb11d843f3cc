// SPDX-License-Identifier: GPL-2.0-only
/*
 * ns/packet of presage's XDP and tc programs against empty programs on the
 * same hook and packet, through BPF_PROG_TEST_RUN, measured in one run.
 * Cases that change state every packet (a new flow, a TS echo that yields a
 * sample) cannot use the kernel's repeat loop; they run one packet per call,
 * and the empty program is measured the same way, so the syscall cost cancels.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "presage.h"
#include "ihm.skel.h"
#include "empty.skel.h"
#include "../pktbuild.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Kernel repeat loop: ns per run as the kernel reports it. */
static double run_repeat(int fd, bool xdp, uint8_t *pkt, int len, int repeat)
{
	struct xdp_md x = { .data_end = len, .ingress_ifindex = 1 };
	struct __sk_buff s = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = repeat);

	o.ctx_in = xdp ? (void *)&x : (void *)&s;
	o.ctx_size_in = xdp ? sizeof(x) : sizeof(s);
	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	return o.duration;
}

static double run_once(int fd, bool xdp, uint8_t *pkt, int len)
{
	struct xdp_md x = { .data_end = len, .ingress_ifindex = 1 };
	struct __sk_buff s = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = 1);

	o.ctx_in = xdp ? (void *)&x : (void *)&s;
	o.ctx_size_in = xdp ? sizeof(x) : sizeof(s);
	return bpf_prog_test_run_opts(fd, &o);
}

static void row(const char *name, double ours, double empty)
{
	printf("%-34s %9.1f %9.1f %9.1f %7.2fx\n", name, ours, empty, ours - empty, ours / empty);
}

int main(void)
{
	struct ihm_bpf *skel;
	struct empty_bpf *e;
	struct bpf_map *m;
	struct link_cfg lc = { 0 };
	__u32 k;
	uint8_t pkt[PB_MAX];
	int len, N = 2000000, M = 20000;
	double a, b;

	if (unshare(CLONE_NEWNET) || system("ip link set lo up")) {
		perror("netns");
		return 1;
	}
	skel = ihm_bpf__open();
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	if (!skel || ihm_bpf__load(skel) || !(e = empty_bpf__open_and_load())) {
		fprintf(stderr, "load failed\n");
		return 1;
	}
	k = 1;
	bpf_map_update_elem(bpf_map__fd(skel->maps.links_cfg), &k, &lc, BPF_ANY);
	int px = bpf_program__fd(skel->progs.presage_xdp), pt = bpf_program__fd(skel->progs.presage_tc);
	int ex = bpf_program__fd(e->progs.empty_xdp), et = bpf_program__fd(e->progs.empty_tc);

	printf("%-34s %9s %9s %9s %8s\n", "case (ns/packet)", "presage", "empty", "over", "ratio");
	struct pkt_spec udp = { .proto = 17, .payload = 64 };
	len = pb_build(&udp, pkt);
	row("xdp: non-TCP (UDP)", run_repeat(px, 1, pkt, len, N), run_repeat(ex, 1, pkt, len, N));
	row("tc:  non-TCP (UDP)", run_repeat(pt, 0, pkt, len, N), run_repeat(et, 0, pkt, len, N));

	struct pkt_spec known = { .lport = 1000, .rport = 80, .flags = 0x10, .seq = 1, .payload = 100 };
	len = pb_build(&known, pkt);
	run_once(px, 1, pkt, len); /* creates the flow */
	row("xdp: TCP, known flow", run_repeat(px, 1, pkt, len, N), run_repeat(ex, 1, pkt, len, N));
	known.out = 1;
	len = pb_build(&known, pkt);
	row("tc:  TCP, known flow", run_repeat(pt, 0, pkt, len, N), run_repeat(et, 0, pkt, len, N));

	/* New flows: one packet per call, a new port each time. */
	a = now();
	for (int i = 0; i < M; i++) {
		struct pkt_spec s = { .lport = (uint16_t)(2000 + i), .rport = (uint16_t)(i >> 16) + 81,
				      .flags = 0x10, .seq = 1, .payload = 100 };
		len = pb_build(&s, pkt);
		run_once(px, 1, pkt, len);
	}
	a = (now() - a) / M;
	b = now();
	for (int i = 0; i < M; i++) {
		struct pkt_spec s = { .lport = (uint16_t)(2000 + i), .rport = 80, .flags = 0x10,
				      .seq = 1, .payload = 100 };
		len = pb_build(&s, pkt);
		run_once(ex, 1, pkt, len);
	}
	b = (now() - b) / M;
	row("xdp: TCP, new flow (per call)", a, b);

	/* TSval out (tc) then its echo in (xdp): one RTT sample per pair. */
	a = now();
	for (int i = 0; i < M; i++) {
		struct pkt_spec o = { .out = 1, .lport = 999, .rport = 80, .flags = 0x10, .seq = 1 };
		struct pkt_spec in = { .lport = 999, .rport = 80, .flags = 0x10, .seq = 1 };
		uint8_t p2[PB_MAX];
		int l2;

		pb_ts_opt(&o, 1000 + i, 5);
		pb_ts_opt(&in, 7, 1000 + i);
		len = pb_build(&o, pkt);
		l2 = pb_build(&in, p2);
		run_once(pt, 0, pkt, len);
		run_once(px, 1, p2, l2);
	}
	a = (now() - a) / M;
	b = now();
	for (int i = 0; i < M; i++) {
		struct pkt_spec o = { .out = 1, .lport = 999, .rport = 80, .flags = 0x10, .seq = 1 };
		uint8_t p2[PB_MAX];

		pb_ts_opt(&o, 1000 + i, 5);
		len = pb_build(&o, pkt);
		pb_build(&o, p2);
		run_once(et, 0, pkt, len);
		run_once(ex, 1, p2, len);
	}
	b = (now() - b) / M;
	row("tc+xdp: TS out + echo (per pair)", a, b);
	printf("(ts-sample-interval is 10 ms by default; the pair loop is faster than that, so\n"
	       " most pairs in it are limited and only the first of each 10 ms is a sample)\n");
	ihm_bpf__destroy(skel);
	empty_bpf__destroy(e);
	return 0;
}
