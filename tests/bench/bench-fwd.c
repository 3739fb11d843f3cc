// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forwarded packets/s through a router namespace with presage's programs
 * attached (XDP native on the ingress veth, tc egress on the egress veth)
 * against the empty programs attached the same way, in one run.
 *
 * scripts/bench-fwd.sh builds   gen --veth-- router --veth-- sink   and runs
 * this. Every forwarded packet goes through XDP on the way in and tc on the
 * way out, as a packet that arrives by one interconnect and leaves by
 * another. The generator sends TCP segments of --flows flows (NOP NOP TS,
 * 64 bytes of payload, sequence advancing) from an AF_PACKET socket; the
 * sink has no address for them and forwarding off, so it drops them without
 * answering. Throughput is what left the router (tx_packets of its egress
 * veth) over a window that starts after a warm-up. ours and empty alternate,
 * --trials times each; the medians are compared.
 *
 * With veth, the generator's send, the router's forwarding and both programs
 * run one after another on the sending CPU, so the ratio is of whole-path
 * costs; "extra ns/packet" is the programs' cost on that path.
 *
 * A third contestant, the floor (bpf/bench_floor.bpf.c), does on the same
 * hooks only what any program keeping per-flow state in an LRU hash like
 * `flows` must: parse to the TCP ports, look the flow up, insert it the first
 * time. Its ratio is the most such a design can keep on this path.
 */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "presage.h"
#include "netns.h"
#include "ihm.skel.h"
#include "empty.skel.h"
#include "bench_floor.skel.h"
#include "../pktbuild.h"
#include "bench.h"

#define MAX_TRIALS 31
#define BATCH 64

static const char *ns_gen, *ns_router, *if_gen, *if_in, *if_out;
static unsigned char dst_mac[6], src_mac[6];
static int flows = 1000, trials = 5;
static double seconds = 2.0;
static bool json;
static uint32_t round0;		/* first round of the next generator (see trial()) */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_mac(const char *s, unsigned char *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		      &m[5]) == 6 ? 0 : -1;
}

/* The generator: runs in the gen namespace until killed. */
static void generate(void)
{
	int len = 0, ifindex, fd, one = 1;
	uint8_t *frames = calloc(flows, PB_MAX);
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint32_t round = round0;

	if (!frames || netns_enter(ns_gen))
		exit(1);
	ifindex = if_nametoindex(if_gen);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (!ifindex || fd < 0) {
		fprintf(stderr, "bench-fwd: generator socket on %s: %s\n", if_gen, strerror(errno));
		exit(1);
	}
	/* Skip the generator's own qdisc: the router is what is measured. */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	sll.sll_ifindex = ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dst_mac, 6);
	for (int f = 0; f < flows; f++) {
		/* 10.0.0.1:port -> 192.0.2.1:80 (pktbuild's "out" direction). */
		struct pkt_spec s = { .out = 1, .lport = (uint16_t)(10000 + f), .rport = 80,
				      .flags = TH_ACK, .seq = 1, .payload = 64 };
		uint8_t *p = frames + (size_t)f * PB_MAX;

		pb_ts_opt(&s, 1, 1);
		len = pb_build(&s, p);
		memcpy(p, dst_mac, 6);
		memcpy(p + 6, src_mac, 6);
		pb_put16(p + 24, pb_csum(p + 14, 20));
	}
	for (;;) {
		for (int f = 0; f < flows; f += BATCH) {
			int n = flows - f < BATCH ? flows - f : BATCH;

			for (int i = 0; i < n; i++) {
				uint8_t *p = frames + (size_t)(f + i) * PB_MAX;

				/* Next segment of the flow, next TSval: known-flow work, no retransmission. */
				pb_put32(p + 14 + 20 + 4, 1 + round * 64);
				pb_put32(p + 14 + 20 + 24, round);
				iov[i] = (struct iovec){ .iov_base = p, .iov_len = len };
				msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &sll,
									 .msg_namelen = sizeof(sll),
									 .msg_iov = &iov[i],
									 .msg_iovlen = 1 } };
			}
			if (sendmmsg(fd, msgs, n, 0) < 0 && errno != ENOBUFS && errno != EAGAIN) {
				fprintf(stderr, "bench-fwd: sendmmsg: %s\n", strerror(errno));
				exit(1);
			}
		}
		round++;
	}
}

static long long tx_packets(const char *ifname)
{
	struct ifaddrs *ifa, *i;
	long long v = -1;

	if (getifaddrs(&ifa))
		return -1;
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
		    !strcmp(i->ifa_name, ifname))
			v = ((struct rtnl_link_stats *)i->ifa_data)->tx_packets;
	}
	freeifaddrs(ifa);
	return v;
}

/* Attach @xdp_fd natively on the ingress veth and @tc_fd on the egress veth. */
static int attach(int xdp_fd, int tc_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = if_nametoindex(if_out),
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1, .prog_fd = tc_fd);
	int err;

	err = bpf_xdp_attach(if_nametoindex(if_in), xdp_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "bench-fwd: attaching XDP (native) to %s: %s\n", if_in, strerror(-err));
		return err;
	}
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	opts.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		fprintf(stderr, "bench-fwd: attaching tc egress to %s: %s\n", if_out, strerror(-err));
	return err;
}

static void detach(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = if_nametoindex(if_out),
		    .attach_point = BPF_TC_EGRESS);

	bpf_xdp_detach(if_nametoindex(if_in), XDP_FLAGS_DRV_MODE, NULL);
	bpf_tc_hook_destroy(&hook);
}

/*
 * One trial: packets that left the router per second of wall time, and per
 * second of the generator's CPU time (*cpu_pps). With veth, the router's
 * forwarding and both programs run in the sender's context (softirq on its
 * CPU), so the second figure is what one CPU of its own would forward, and it
 * holds still while other work on the machine takes the CPU away.
 */
static double trial(int xdp_fd, int tc_fd, double *cpu_pps)
{
	struct rusage ru;
	long long a, b, a0;
	double t0, t1, cpu;
	pid_t pid;

	if (attach(xdp_fd, tc_fd))
		exit(1);
	a0 = tx_packets(if_out);
	/*
	 * Each generator takes the flows' sequence on from where the last one
	 * could have reached (2^20 rounds, far above what a trial sends), or
	 * every trial after the first would replay sequence numbers already
	 * seen and be counted as retransmissions.
	 */
	pid = fork();
	if (pid > 0)
		round0 += 1u << 20;
	if (pid == 0)
		generate();
	usleep(300000); /* warm-up: flows created, caches filled */
	a = tx_packets(if_out);
	t0 = now_s();
	usleep((useconds_t)(seconds * 1e6));
	b = tx_packets(if_out);
	t1 = now_s();
	kill(pid, SIGKILL);
	wait4(pid, NULL, 0, &ru);
	detach();
	if (a0 < 0 || a < 0 || b < 0) {
		fprintf(stderr, "bench-fwd: reading the counters of %s failed\n", if_out);
		exit(1);
	}
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	      ru.ru_stime.tv_usec / 1e6;
	/* Everything the generator sent, over all the CPU it used (warm-up included). */
	*cpu_pps = (tx_packets(if_out) - a0) / cpu;
	return (b - a) / (t1 - t0);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-fwd --gen-ns NS --router-ns NS --gen-if IF --in IF --out IF\n"
		"                 --dst-mac MAC --src-mac MAC [--flows N] [--trials N] [--seconds S] [-j]\n"
		"Forwarded packets/s through the router namespace with presage's XDP (native, on\n"
		"--in) and tc (egress, on --out) programs against empty programs attached the\n"
		"same way, and against a floor that only looks each packet's flow up in an LRU\n"
		"hash like presage's; the three alternate --trials times each (default 5), medians.\n"
		"scripts/bench-fwd.sh builds the namespaces and runs this.\n"
		"  --dst-mac   MAC of --in (the router's ingress veth)\n"
		"  --src-mac   MAC of --gen-if\n"
		"  --flows N   concurrent TCP flows in the generated traffic (default 1000)\n"
		"  --seconds S measuring window per trial (default 2)\n"
		"  -j, --json  one JSON object\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "gen-ns", 1, 0, 'G' }, { "router-ns", 1, 0, 'R' }, { "gen-if", 1, 0, 'g' },
		{ "in", 1, 0, 'i' },	 { "out", 1, 0, 'o' },	     { "dst-mac", 1, 0, 'd' },
		{ "src-mac", 1, 0, 's' }, { "flows", 1, 0, 'f' },    { "trials", 1, 0, 't' },
		{ "seconds", 1, 0, 'S' }, { "json", 0, 0, 'j' },     { "help", 0, 0, 'h' },
		{}
	};
	double ours[MAX_TRIALS], empty[MAX_TRIALS], floor_[MAX_TRIALS], cours[MAX_TRIALS],
		cempty[MAX_TRIALS], cfloor[MAX_TRIALS], po, pe, pf, co, ce, cf;
	struct ihm_bpf *skel;
	struct empty_bpf *e;
	struct bench_floor_bpf *fl;
	struct bpf_map *m;
	int c, err;

	while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		switch (c) {
		case 'G': ns_gen = optarg; break;
		case 'R': ns_router = optarg; break;
		case 'g': if_gen = optarg; break;
		case 'i': if_in = optarg; break;
		case 'o': if_out = optarg; break;
		case 'd': if (parse_mac(optarg, dst_mac)) goto bad; break;
		case 's': if (parse_mac(optarg, src_mac)) goto bad; break;
		case 'f': flows = atoi(optarg); break;
		case 't': trials = atoi(optarg); break;
		case 'S': seconds = atof(optarg); break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (!ns_gen || !ns_router || !if_gen || !if_in || !if_out || flows < 1 || trials < 1 ||
	    trials > MAX_TRIALS || seconds <= 0)
		goto bad;
	if (netns_enter(ns_router))
		return 1;
	libbpf_set_print(NULL);
	skel = ihm_bpf__open();
	if (!skel) {
		fprintf(stderr, "bench-fwd: opening the presage object: %s\n", strerror(errno));
		return 1;
	}
	/* Private maps: nothing shared with an agent that may run on this host. */
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	err = ihm_bpf__load(skel);
	e = empty_bpf__open_and_load();
	fl = bench_floor_bpf__open_and_load();
	if (err || !e || !fl) {
		fprintf(stderr, "bench-fwd: loading the programs failed: %s\n",
			strerror(err ? -err : errno));
		return 1;
	}
	/* Both veths are interconnects, as the agent would configure them. */
	for (int l = 0; l < 2; l++) {
		__u32 ifindex = if_nametoindex(l ? if_out : if_in), slot = link_slot_of(ifindex);
		struct link_cfg lc = { .link_id = l };
		struct link_slot ls = { .ifindex = ifindex, .link_id = l };

		if (!ifindex ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.links_cfg), &ifindex, &lc, BPF_ANY) ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.link_slots), &slot, &ls, BPF_ANY)) {
			fprintf(stderr, "bench-fwd: configuring %s: %s\n", l ? if_out : if_in,
				strerror(errno));
			return 1;
		}
	}
	for (int t = 0; t < trials; t++) {
		/* Rotate which goes first, so a drift in load hits all alike. */
		for (int k = 0; k < 3; k++) {
			switch ((t + k) % 3) {
			case 0:
				ours[t] = trial(bpf_program__fd(skel->progs.presage_xdp),
						bpf_program__fd(skel->progs.presage_tc), &cours[t]);
				break;
			case 1:
				empty[t] = trial(bpf_program__fd(e->progs.empty_xdp),
						 bpf_program__fd(e->progs.empty_tc), &cempty[t]);
				break;
			default:
				floor_[t] = trial(bpf_program__fd(fl->progs.floor_fwd_xdp),
						  bpf_program__fd(fl->progs.floor_fwd_tc), &cfloor[t]);
			}
		}
	}
	/* The programs must have seen the traffic as known flows, or the figure means nothing. */
	{
		int ncpu = libbpf_num_possible_cpus();
		struct link_stats *v = calloc(ncpu, sizeof(*v)), sum[2] = {};

		for (__u32 l = 0; v && l < 2; l++) {
			if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.link_stats), &l, v))
				break;
			for (int k = 0; k < ncpu; k++) {
				sum[l].rx_packets += v[k].rx_packets;
				sum[l].tx_packets += v[k].tx_packets;
				sum[l].flows_created += v[k].flows_created;
				sum[l].rx_tcp_data += v[k].rx_tcp_data;
				sum[l].tx_tcp_retrans += v[k].tx_tcp_retrans;
				sum[l].flow_insert_fail += v[k].flow_insert_fail;
			}
		}
		free(v);
		fprintf(stderr, "# seen: XDP %llu packets (%llu TCP data), tc %llu; flows created %llu, "
			"insert failures %llu, retransmissions %llu\n",
			(unsigned long long)sum[0].rx_packets, (unsigned long long)sum[0].rx_tcp_data,
			(unsigned long long)sum[1].tx_packets,
			(unsigned long long)(sum[0].flows_created + sum[1].flows_created),
			(unsigned long long)(sum[0].flow_insert_fail + sum[1].flow_insert_fail),
			(unsigned long long)sum[1].tx_tcp_retrans);
	}
	po = median(ours, trials);
	pe = median(empty, trials);
	pf = median(floor_, trials);
	co = median(cours, trials);
	ce = median(cempty, trials);
	cf = median(cfloor, trials);
	if (json)
		printf("{\"flows\": %d, \"trials\": %d, \"presage_pps\": %.0f, \"empty_pps\": %.0f, "
		       "\"ratio\": %.3f, \"presage_pps_per_cpu\": %.0f, \"empty_pps_per_cpu\": %.0f, "
		       "\"ratio_per_cpu\": %.3f, \"extra_cpu_ns_per_packet\": %.1f, "
		       "\"floor_pps\": %.0f, \"floor_ratio\": %.3f, \"floor_pps_per_cpu\": %.0f, "
		       "\"floor_ratio_per_cpu\": %.3f, \"floor_extra_cpu_ns_per_packet\": %.1f}\n",
		       flows, trials, po, pe, po / pe, co, ce, co / ce, 1e9 / co - 1e9 / ce, pf,
		       pf / pe, cf, cf / ce, 1e9 / cf - 1e9 / ce);
	else {
		printf("%-44s %10s %10s %8s\n", "case (forwarded packets/s)", "presage", "empty",
		       "ratio");
		printf("%-44s %10.0f %10.0f %7.3fx\n", "router netns, XDP in + tc out: wall clock", po,
		       pe, po / pe);
		printf("%-44s %10.0f %10.0f %7.3fx   (%.0f ns of CPU more per packet)\n",
		       "  the same per second of sender CPU", co, ce, co / ce, 1e9 / co - 1e9 / ce);
		printf("%-44s %10.0f %10.0f %7.3fx\n", "floor (LRU-hash flow look-up only): wall", pf,
		       pe, pf / pe);
		printf("%-44s %10.0f %10.0f %7.3fx   (%.0f ns of CPU more per packet)\n",
		       "  the same per second of sender CPU", cf, ce, cf / ce, 1e9 / cf - 1e9 / ce);
		printf("(%d concurrent TCP flows, medians of %d alternating trials of %.1f s; target "
		       ">= 0.97x)\n", flows, trials, seconds);
	}
	ihm_bpf__destroy(skel);
	empty_bpf__destroy(e);
	bench_floor_bpf__destroy(fl);
	return 0;
bad:
	usage(stderr);
	return 2;
}
