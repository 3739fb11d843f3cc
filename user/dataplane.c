// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "dataplane.h"
#include "fsutil.h"
#include "log.h"
#include "ihm.skel.h"

#define XDP_PROG_NAME "presage_xdp"

struct dp_link {
	const struct link_conf *conf;
	int id;				/* link id in the maps */
	int ifindex;			/* where it is attached, 0 if not */
	enum link_attach_state state;
	enum xdp_attach_mode mode;
	/*
	 * The XDP program: the one shared by every interface (xdp_own false),
	 * or, where attaching the shared one failed, an object of this
	 * interface's own (maps shared by pin).
	 */
	struct ihm_bpf *xdp_skel;
	struct xdp_program *xdp_prog;
	bool xdp_own;
	bool tc_attached;
	bool warned_missing;
};

struct ihm_dp {
	const struct ihm_config *cfg;
	struct ihm_bpf *skel;		/* owns the maps and the tc program */
	/* One XDP program for all interfaces: loaded (verified) once. */
	struct ihm_bpf *xdp_skel;
	struct xdp_program *xdp_prog;
	int nlinks;
	struct dp_link links[CFG_MAX_LINKS];
};

int ensure_bpffs(void)
{
	struct statfs st;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST) {
		pr_err("/sys/fs/bpf does not exist and cannot be created: %s", strerror(errno));
		return -ENOENT;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_err("bpffs is not mounted at /sys/fs/bpf and mounting it failed: %s; "
		       "mount it with 'mount -t bpf bpf /sys/fs/bpf' (needs root)", strerror(-err));
		return err;
	}
	pr_warn("mounted bpffs at /sys/fs/bpf; if this runs under 'ip netns exec', that mount "
		"is private to this process and the pins will not outlive it: use --netns instead");
	return 0;
}

static int check_btf(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): presage's "
		       "CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y "
		       "(Debian's and Ubuntu's stock kernels have it)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static struct ihm_bpf *open_skel(const struct ihm_config *cfg)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = cfg->pin_dir);
	struct ihm_bpf *skel;

	skel = ihm_bpf__open_opts(&opts);
	if (!skel)
		return NULL;
	skel->rodata->ts_min_interval_ns = cfg->ts_interval_ns;
	return skel;
}

/* Find or allocate the link id of each configured interconnect (see link_info). */
static int assign_ids(struct ihm_dp *dp)
{
	int info_fd = bpf_map__fd(dp->skel->maps.link_info);
	int stats_fd = bpf_map__fd(dp->skel->maps.link_stats);
	int hist_fd = bpf_map__fd(dp->skel->maps.rtt_hist);
	struct link_info infos[PRESAGE_MAX_LINKS];
	bool taken[PRESAGE_MAX_LINKS] = {};
	int ncpu = libbpf_num_possible_cpus();

	for (__u32 k = 0; k < PRESAGE_MAX_LINKS; k++)
		if (bpf_map_lookup_elem(info_fd, &k, &infos[k]))
			memset(&infos[k], 0, sizeof(infos[k]));

	for (int i = 0; i < dp->nlinks; i++) {
		struct dp_link *l = &dp->links[i];

		l->id = -1;
		for (int k = 0; k < PRESAGE_MAX_LINKS; k++) {
			if (!strncmp(infos[k].name, l->conf->name, sizeof(infos[k].name))) {
				l->id = k;
				taken[k] = true;
				pr_debug("interconnect %s keeps link id %d", l->conf->name, k);
				break;
			}
		}
	}
	for (int i = 0; i < dp->nlinks; i++) {
		struct dp_link *l = &dp->links[i];
		int pick = -1;

		if (l->id >= 0)
			continue;
		/* Prefer ids never used, then ids of interconnects gone from the config. */
		for (int k = 0; k < PRESAGE_MAX_LINKS && pick < 0; k++)
			if (!taken[k] && !infos[k].name[0])
				pick = k;
		for (int k = 0; k < PRESAGE_MAX_LINKS && pick < 0; k++)
			if (!taken[k])
				pick = k;
		if (pick < 0)
			return -ENOSPC;
		taken[pick] = true;
		l->id = pick;
		/* A reused id starts from zero, not from another link's counters. */
		{
			size_t ssz = sizeof(struct link_stats) * ncpu;
			size_t hsz = sizeof(struct rtt_hist) * ncpu;
			void *zs = calloc(1, ssz), *zh = calloc(1, hsz);
			__u32 k = pick;

			if (!zs || !zh) {
				free(zs);
				free(zh);
				return -ENOMEM;
			}
			bpf_map_update_elem(stats_fd, &k, zs, BPF_ANY);
			bpf_map_update_elem(hist_fd, &k, zh, BPF_ANY);
			free(zs);
			free(zh);
		}
		pr_debug("interconnect %s gets link id %d", l->conf->name, pick);
	}
	/* Write names; mark ids whose interconnect left the config as unused. */
	for (__u32 k = 0; k < PRESAGE_MAX_LINKS; k++) {
		if (!taken[k] && infos[k].in_use) {
			infos[k].in_use = 0;
			bpf_map_update_elem(info_fd, &k, &infos[k], BPF_ANY);
		}
	}
	for (int i = 0; i < dp->nlinks; i++) {
		struct dp_link *l = &dp->links[i];
		struct link_info li = {};
		__u32 k = l->id;

		snprintf(li.name, sizeof(li.name), "%s", l->conf->name);
		li.in_use = 1;
		li.capacity_bps = l->conf->capacity_bps;
		li.ifindex = if_nametoindex(l->conf->ifname);
		bpf_map_update_elem(info_fd, &k, &li, BPF_ANY);
	}
	return 0;
}

/*
 * Slots left behind by an agent that died name interfaces that may be gone or
 * renumbered: keep only those that links_cfg still backs with the same link.
 */
static void prune_slots(struct ihm_dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.links_cfg);
	int sfd = bpf_map__fd(dp->skel->maps.link_slots);
	struct link_slot ls, empty = {};
	struct link_cfg lc;

	for (__u32 i = 0; i < PRESAGE_LINK_SLOTS; i++) {
		if (bpf_map_lookup_elem(sfd, &i, &ls) || !ls.ifindex)
			continue;
		if (!bpf_map_lookup_elem(fd, &ls.ifindex, &lc) && lc.link_id == ls.link_id)
			continue;
		if (bpf_map_update_elem(sfd, &i, &empty, BPF_ANY))
			pr_warn("clearing stale link slot %u failed: %s", i, strerror(errno));
	}
}

struct ihm_dp *ihm_dp__open(const struct ihm_config *cfg)
{
	struct ihm_dp *dp;
	int err;

	err = ensure_bpffs();
	if (err)
		goto fail_errno;
	err = check_btf();
	if (err)
		goto fail_errno;
	err = mkdir_p(cfg->pin_dir, 0700);
	if (err) {
		pr_err("cannot create pin directory %s: %s", cfg->pin_dir, strerror(-err));
		goto fail_errno;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		err = -ENOMEM;
		goto fail_errno;
	}
	dp->cfg = cfg;
	dp->nlinks = cfg->nlinks;
	for (int i = 0; i < cfg->nlinks; i++)
		dp->links[i].conf = &cfg->links[i];

	dp->skel = open_skel(cfg);
	if (!dp->skel) {
		err = -errno;
		pr_err("cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	/* This instance carries the maps and the tc program; XDP comes per interface. */
	bpf_program__set_autoload(dp->skel->progs.presage_xdp, false);
	err = ihm_bpf__load(dp->skel);
	if (err) {
		if (err == -EINVAL)
			pr_err("loading the BPF programs failed (see above). If the message says "
			       "a pinned map could not be reused, maps pinned by another presage "
			       "version are in %s: remove them with 'ihmd --cleanup -c CONFIG' "
			       "(counters restart from zero)", cfg->pin_dir);
		else
			pr_err("loading the BPF programs failed: %s", strerror(-err));
		goto fail;
	}
	err = assign_ids(dp);
	if (err) {
		pr_err("cannot assign link ids: %s", strerror(-err));
		goto fail;
	}
	prune_slots(dp);
	return dp;
fail:
	ihm_dp__destroy(dp);
fail_errno:
	errno = -err;
	return NULL;
}

/* A presage XDP program left attached by an agent that died: take it off. */
static void detach_stale_xdp(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;
	enum xdp_attach_mode mode;

	if (libxdp_get_error(mp) || !mp)
		return;
	mode = xdp_multiprog__attach_mode(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), XDP_PROG_NAME)) {
			pr_info("replacing the presage XDP program left on ifindex %d", ifindex);
			xdp_program__detach(p, ifindex, mode, 0);
		}
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
			if (strcmp(xdp_program__name(p), XDP_PROG_NAME))
				continue;
			pr_info("replacing the presage XDP program left on ifindex %d", ifindex);
			xdp_program__detach(p, ifindex, mode, 0);
			break;
		}
	}
	xdp_multiprog__close(mp);
}

/* A fresh XDP program object (not loaded: libxdp loads it when it attaches). */
static int new_xdp_prog(const struct ihm_config *cfg, struct ihm_bpf **skel,
			struct xdp_program **prog)
{
	int err;

	*skel = open_skel(cfg);
	if (!*skel)
		return -errno;
	bpf_program__set_autoload((*skel)->progs.presage_tc, false);
	*prog = xdp_program__from_bpf_obj((*skel)->obj, "xdp");
	err = libxdp_get_error(*prog);
	if (err) {
		*prog = NULL;
		ihm_bpf__destroy(*skel);
		*skel = NULL;
	}
	return err;
}

static void attached_xdp(struct dp_link *l, enum xdp_attach_mode mode)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(l->ifindex);

	l->mode = mode;
	if (!libxdp_get_error(mp) && mp && xdp_multiprog__is_legacy(mp))
		pr_warn("%s: libxdp attached presage's XDP program alone (its "
			"dispatcher is unavailable on this kernel, e.g. lockdown "
			"forbids freplace programs): another XDP program cannot "
			"share this interface", l->conf->ifname);
	if (!libxdp_get_error(mp))
		xdp_multiprog__close(mp);
}

/*
 * Attach the shared program (verified once for all interfaces); where that
 * fails, an object of the interface's own, as older libxdp/kernels need
 * when one program cannot join several dispatchers.
 */
static int attach_xdp(struct ihm_dp *dp, struct dp_link *l)
{
	enum xdp_attach_mode modes[2];
	int nmodes = 0, err = -EINVAL;

	switch (dp->cfg->xdp_mode) {
	case XDP_MODE_CFG_NATIVE: modes[nmodes++] = XDP_MODE_NATIVE; break;
	case XDP_MODE_CFG_SKB: modes[nmodes++] = XDP_MODE_SKB; break;
	case XDP_MODE_CFG_AUTO:
		modes[nmodes++] = XDP_MODE_NATIVE;
		modes[nmodes++] = XDP_MODE_SKB;
		break;
	}
	detach_stale_xdp(l->ifindex);
	if (!dp->xdp_prog) {
		err = new_xdp_prog(dp->cfg, &dp->xdp_skel, &dp->xdp_prog);
		if (err)
			return err;
	}
	for (int m = 0; m < nmodes; m++) {
		err = xdp_program__attach(dp->xdp_prog, l->ifindex, modes[m], 0);
		if (!err) {
			l->xdp_prog = dp->xdp_prog;
			l->xdp_own = false;
			attached_xdp(l, modes[m]);
			return 0;
		}
		pr_debug("%s: the shared XDP program did not attach (%s); trying one of its own",
			 l->conf->ifname, strerror(-err));
		err = new_xdp_prog(dp->cfg, &l->xdp_skel, &l->xdp_prog);
		if (err)
			return err;
		err = xdp_program__attach(l->xdp_prog, l->ifindex, modes[m], 0);
		if (!err) {
			l->xdp_own = true;
			attached_xdp(l, modes[m]);
			return 0;
		}
		xdp_program__close(l->xdp_prog);
		ihm_bpf__destroy(l->xdp_skel);
		l->xdp_prog = NULL;
		l->xdp_skel = NULL;
		if (m + 1 < nmodes)
			pr_info("%s: native XDP failed (%s), trying skb mode", l->conf->ifname,
				strerror(-err));
	}
	return err;
}

static int attach_tc(struct ihm_dp *dp, struct dp_link *l)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PRESAGE_TC_HANDLE, .priority = PRESAGE_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE,
		    .prog_fd = bpf_program__fd(dp->skel->progs.presage_tc));
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return err;
	l->tc_attached = true;
	return 0;
}

static void detach_tc(struct dp_link *l)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PRESAGE_TC_HANDLE, .priority = PRESAGE_TC_PRIO);
	int err;

	if (!l->tc_attached)
		return;
	/*
	 * The clsact qdisc stays: other tools may have filters on it, and an
	 * empty clsact costs nothing.
	 */
	err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT && err != -ENODEV)
		pr_warn("%s: detaching the tc program failed: %s", l->conf->ifname, strerror(-err));
	l->tc_attached = false;
}

static void free_xdp(struct dp_link *l, bool detach)
{
	int err;

	if (l->xdp_prog && detach) {
		err = xdp_program__detach(l->xdp_prog, l->ifindex, l->mode, 0);
		if (err && err != -ENODEV && err != -ENOENT)
			pr_warn("%s: detaching the XDP program failed: %s", l->conf->ifname,
				strerror(-err));
	}
	if (l->xdp_own) {
		xdp_program__close(l->xdp_prog);
		ihm_bpf__destroy(l->xdp_skel);
	}
	l->xdp_prog = NULL;
	l->xdp_skel = NULL;
	l->xdp_own = false;
}

/*
 * links_cfg is the authority; link_slots caches it for the programs (see
 * presage.h). Adding writes the authority first, removing clears the cache
 * first, so the programs never see a slot without its links_cfg entry. A slot
 * that already holds another interface is left alone: this one is then read
 * from links_cfg.
 */
static int set_cfg_entry(struct ihm_dp *dp, struct dp_link *l, bool add)
{
	struct link_cfg lc = { .link_id = l->id };
	struct link_slot ls = {}, cur = {};
	__u32 k = l->ifindex, slot = link_slot_of(l->ifindex);
	int fd = bpf_map__fd(dp->skel->maps.links_cfg);
	int sfd = bpf_map__fd(dp->skel->maps.link_slots);
	int err;

	if (bpf_map_lookup_elem(sfd, &slot, &cur))
		return -errno;
	if (!add) {
		if (cur.ifindex == k && bpf_map_update_elem(sfd, &slot, &ls, BPF_ANY))
			return -errno;
		return bpf_map_delete_elem(fd, &k) ? -errno : 0;
	}
	if (bpf_map_update_elem(fd, &k, &lc, BPF_ANY))
		return -errno;
	if (cur.ifindex && cur.ifindex != k)
		return 0;
	ls.ifindex = k;
	ls.link_id = l->id;
	err = bpf_map_update_elem(sfd, &slot, &ls, BPF_ANY);
	return err ? -errno : 0;
}

static int attach_link(struct ihm_dp *dp, struct dp_link *l)
{
	int err;

	l->ifindex = if_nametoindex(l->conf->ifname);
	if (!l->ifindex) {
		l->state = LINK_IFACE_MISSING;
		if (!l->warned_missing)
			pr_warn("interconnect %s: interface %s does not exist; watching the other "
				"interconnects, and %s will be attached when it appears",
				l->conf->name, l->conf->ifname, l->conf->ifname);
		l->warned_missing = true;
		return -ENODEV;
	}
	/* The map entry first, so the first packet the programs see is counted. */
	err = set_cfg_entry(dp, l, true);
	if (err) {
		pr_err("interconnect %s: writing the ifindex -> link id entry for %s failed: %s",
		       l->conf->name, l->conf->ifname, strerror(-err));
		goto fail;
	}
	err = attach_tc(dp, l);
	if (err) {
		pr_err("interconnect %s: attaching tc egress to %s failed: %s", l->conf->name,
		       l->conf->ifname, strerror(-err));
		goto fail;
	}
	err = attach_xdp(dp, l);
	if (err) {
		pr_err("interconnect %s: attaching XDP to %s failed: %s%s", l->conf->name,
		       l->conf->ifname, strerror(-err),
		       dp->cfg->xdp_mode == XDP_MODE_CFG_NATIVE ? " (try 'xdp-mode auto' if the driver has no native XDP)" : "");
		detach_tc(l);
		goto fail;
	}
	l->state = LINK_ATTACHED;
	l->warned_missing = false;
	pr_info("interconnect %s: attached to %s (ifindex %d, XDP %s mode, tc egress), link id %d",
		l->conf->name, l->conf->ifname, l->ifindex, ihm_dp__xdp_mode(dp, l - dp->links),
		l->id);
	return 0;
fail:
	set_cfg_entry(dp, l, false);
	l->state = LINK_ATTACH_FAILED;
	l->ifindex = 0;
	return err;
}

int ihm_dp__attach_all(struct ihm_dp *dp)
{
	int n = 0;

	for (int i = 0; i < dp->nlinks; i++)
		if (!attach_link(dp, &dp->links[i]))
			n++;
	return n;
}

void ihm_dp__recheck(struct ihm_dp *dp)
{
	for (int i = 0; i < dp->nlinks; i++) {
		struct dp_link *l = &dp->links[i];
		int now = if_nametoindex(l->conf->ifname);
		char name[IF_NAMESIZE];

		if (l->state == LINK_ATTACHED) {
			/* Gone, or renamed/recreated under the same name with a new index. */
			if (now == l->ifindex && if_indextoname(l->ifindex, name))
				continue;
			pr_warn("interconnect %s: interface %s disappeared; its programs went with "
				"it. Watching the other interconnects; %s will be attached again "
				"when it returns", l->conf->name, l->conf->ifname, l->conf->ifname);
			set_cfg_entry(dp, l, false);
			free_xdp(l, false);
			l->tc_attached = false;
			l->ifindex = 0;
			l->state = LINK_IFACE_MISSING;
			l->warned_missing = true;
		}
		if (l->state != LINK_ATTACHED && now) {
			if (l->state == LINK_ATTACH_FAILED)
				continue; /* do not retry a failing attach every tick */
			attach_link(dp, l);
		}
	}
}

void ihm_dp__destroy(struct ihm_dp *dp)
{
	if (!dp)
		return;
	for (int i = 0; i < dp->nlinks; i++) {
		struct dp_link *l = &dp->links[i];

		if (l->state == LINK_ATTACHED) {
			free_xdp(l, true);
			detach_tc(l);
			set_cfg_entry(dp, l, false);
			pr_info("interconnect %s: detached from %s", l->conf->name, l->conf->ifname);
		}
		l->state = LINK_DETACHED;
	}
	xdp_program__close(dp->xdp_prog);
	ihm_bpf__destroy(dp->xdp_skel);
	ihm_bpf__destroy(dp->skel);
	free(dp);
}

int ihm_dp__link_id(const struct ihm_dp *dp, int idx)
{
	return dp->links[idx].id;
}

enum link_attach_state ihm_dp__link_state(const struct ihm_dp *dp, int idx)
{
	return dp->links[idx].state;
}

int ihm_dp__link_ifindex(const struct ihm_dp *dp, int idx)
{
	return dp->links[idx].ifindex;
}

const char *ihm_dp__xdp_mode(const struct ihm_dp *dp, int idx)
{
	if (dp->links[idx].state != LINK_ATTACHED)
		return "none";
	return dp->links[idx].mode == XDP_MODE_SKB ? "skb" : "native";
}

int ihm_dp__stats_fd(const struct ihm_dp *dp)
{
	return bpf_map__fd(dp->skel->maps.link_stats);
}

int ihm_dp__hist_fd(const struct ihm_dp *dp)
{
	return bpf_map__fd(dp->skel->maps.rtt_hist);
}

int ihm_dp__flows_fd(const struct ihm_dp *dp)
{
	return bpf_map__fd(dp->skel->maps.flows);
}

int ihm_dp__set_tick_gen(struct ihm_dp *dp, __u64 gen)
{
	struct presage_cfg pc = { .tick_gen = gen };
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.presage_cfg), &zero, &pc, BPF_ANY);
}

int ihm_dp_cleanup(const struct ihm_config *cfg)
{
	static const char *const maps[] = { "links_cfg", "link_slots", "link_info", "link_stats",
					    "rtt_hist", "flows", "presage_cfg" };
	char path[512];
	int removed = 0;

	if (ensure_bpffs())
		return -ENOENT;
	for (int i = 0; i < cfg->nlinks; i++) {
		int ifindex = if_nametoindex(cfg->links[i].ifname);
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PRESAGE_TC_HANDLE,
			    .priority = PRESAGE_TC_PRIO);

		if (!ifindex)
			continue;
		detach_stale_xdp(ifindex);
		if (!bpf_tc_detach(&hook, &opts))
			pr_info("%s: removed the presage tc filter", cfg->links[i].ifname);
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->pin_dir, maps[i]);
		if (!unlink(path))
			removed++;
		else if (errno != ENOENT)
			pr_warn("cannot remove %s: %s", path, strerror(errno));
	}
	if (rmdir(cfg->pin_dir) && errno != ENOENT)
		pr_warn("cannot remove %s: %s", cfg->pin_dir, strerror(errno));
	pr_info("removed %d pinned maps from %s", removed, cfg->pin_dir);
	return 0;
}
