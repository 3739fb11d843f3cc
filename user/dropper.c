// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage-dropper: random packet loss on an interface's egress, for tests and
 * the lab (the kernel here has no netem). The tc program stays attached after
 * this command exits; `set` changes the rate of the running program.
 *
 *   presage-dropper [--netns NS] attach IFACE PERCENT [--tcp-data]
 *   presage-dropper [--netns NS] set IFACE PERCENT
 *   presage-dropper [--netns NS] show IFACE
 *   presage-dropper [--netns NS] detach IFACE
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "netns.h"
#include "dropper.skel.h"

#define DROP_HANDLE 0xd0
#define DROP_PRIO 10

struct dropper_cfg {
	__u32 drop_ppm;
	__u32 only_tcp_data;
	__u64 seen;
	__u64 dropped;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: presage-dropper [--netns NS] attach IFACE PERCENT [--tcp-data]\n"
		   "       presage-dropper [--netns NS] set IFACE PERCENT\n"
		   "       presage-dropper [--netns NS] show IFACE\n"
		   "       presage-dropper [--netns NS] detach IFACE\n"
		   "Drops PERCENT %% of the packets leaving IFACE, at random (tc egress).\n"
		   "--tcp-data drops only TCP segments that carry payload.\n");
}

static int parse_pct(const char *s, __u32 *ppm)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < 0 || v > 100) {
		pr_err("PERCENT must be a number from 0 to 100, not '%s'", s);
		return -EINVAL;
	}
	*ppm = (__u32)llround(v * 10000);
	return 0;
}

/* The config map of the dropper attached to @ifindex, as an fd. */
static int find_map(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DROP_HANDLE, .priority = DROP_PRIO);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[8], nids = 8;
	int pfd, err;

	err = bpf_tc_query(&hook, &opts);
	if (err) {
		pr_err("no dropper attached to ifindex %d", ifindex);
		return err;
	}
	pfd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (pfd < 0)
		return -errno;
	info.nr_map_ids = nids;
	info.map_ids = (__u64)(unsigned long)ids;
	err = bpf_obj_get_info_by_fd(pfd, &info, &len);
	close(pfd);
	if (err)
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < nids; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &ml) && !strcmp(mi.name, "dropper_cfg"))
			return mfd;
		close(mfd);
	}
	return -ENOENT;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *cmd, *ifname;
	struct dropper_cfg dc = {};
	__u32 zero = 0;
	int ifindex, fd, err, i = 1;

	log_set_ident("presage-dropper");
	log_set_level(LOG_LVL_WARN);
	log_hook_libbpf();
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "--netns")) {
		netns = argv[2];
		i = 3;
	}
	if (argc - i < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[i];
	ifname = argv[i + 1];
	if (netns && netns_enter(netns))
		return 1;
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_err("no interface '%s'", ifname);
		return 1;
	}
	if (!strcmp(cmd, "attach")) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DROP_HANDLE, .priority = DROP_PRIO,
			    .flags = BPF_TC_F_REPLACE);
		struct dropper_bpf *skel;

		if (argc - i < 3 || parse_pct(argv[i + 2], &dc.drop_ppm))
			return 2;
		dc.only_tcp_data = argc - i > 3 && !strcmp(argv[i + 3], "--tcp-data");
		skel = dropper_bpf__open_and_load();
		if (!skel) {
			pr_err("loading the dropper failed: %s", strerror(errno));
			return 1;
		}
		bpf_map_update_elem(bpf_map__fd(skel->maps.dropper_cfg), &zero, &dc, BPF_ANY);
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			pr_err("creating clsact on %s failed: %s", ifname, strerror(-err));
			return 1;
		}
		opts.prog_fd = bpf_program__fd(skel->progs.presage_dropper);
		err = bpf_tc_attach(&hook, &opts);
		dropper_bpf__destroy(skel);
		if (err) {
			pr_err("attaching to %s failed: %s", ifname, strerror(-err));
			return 1;
		}
		return 0;
	}
	if (!strcmp(cmd, "detach")) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DROP_HANDLE, .priority = DROP_PRIO);

		err = bpf_tc_detach(&hook, &opts);
		if (err) {
			pr_err("detaching from %s failed: %s", ifname, strerror(-err));
			return 1;
		}
		return 0;
	}
	fd = find_map(ifindex);
	if (fd < 0)
		return 1;
	if (bpf_map_lookup_elem(fd, &zero, &dc)) {
		pr_err("reading the dropper's state failed: %s", strerror(errno));
		return 1;
	}
	if (!strcmp(cmd, "set")) {
		if (argc - i < 3 || parse_pct(argv[i + 2], &dc.drop_ppm))
			return 2;
		return bpf_map_update_elem(fd, &zero, &dc, BPF_ANY) ? 1 : 0;
	}
	if (!strcmp(cmd, "show")) {
		printf("{\"interface\":\"%s\",\"drop_percent\":%.4f,\"tcp_data_only\":%s,"
		       "\"seen\":%llu,\"dropped\":%llu}\n", ifname, dc.drop_ppm / 10000.0,
		       dc.only_tcp_data ? "true" : "false", (unsigned long long)dc.seen,
		       (unsigned long long)dc.dropped);
		return 0;
	}
	usage(stderr);
	return 2;
}
