// SPDX-License-Identifier: GPL-2.0-only
/*
 * nlmon: link state and routes per interconnect from rtnetlink (see nlmon.h
 * for what is counted and why). One thread reads the event socket; dumps
 * (start, resync, re-dump after a silent flush) run on that thread too, on a
 * second socket, so a dump's replies never mix with events.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "nlmon.h"
#include "nltab.h"

/* Interconnects one route is attributed to at most (distinct links among
 * its next hops; further ones are not counted, with a warning). */
#define NL_MAX_PATHS 8
/* Members of a nexthop group resolved at most. */
#define NH_MAX_GROUP 32
/* Event receive buffer: a full table's worth of churn at BGP session loss
 * (a million withdrawals of about 100 bytes each overflow it, and then the
 * resync repairs the counts). */
#define NL_RCVBUF_DEFAULT (32 << 20)
#define NL_RCVBUF_ENV "PRESAGE_NL_RCVBUF"
/* Read buffer: the kernel fills dump replies up to 32 KiB. */
#define NL_BUF_SIZE (64 << 10)
/* Delay of the route re-dump after an interconnect's state change. */
#define NL_REDUMP_DELAY_NS 50000000ULL
/* Attempts of a dump the kernel reports as interrupted before giving up until the next trigger. */
#define NL_DUMP_TRIES 5
#define NL_MAX_PENDING 512

struct rt_key {
	uint32_t table;
	uint32_t prio;
	uint8_t family, dst_len, tos, pad;
	uint8_t dst[16];
};

struct rt_val {
	uint32_t gen;			/* dump generation that last saw it */
	uint8_t n;			/* links used */
	uint8_t pad[3];
	uint8_t links[NL_MAX_PATHS];	/* config link indices, ascending */
};

struct nh_val {
	int32_t ifindex;
	uint32_t flags;			/* RTNH_F_* */
	uint32_t ngrp;
	uint32_t grp[NH_MAX_GROUP];	/* member ids of a group */
};

struct nl_link {
	char ifname[IF_NAMESIZE];
	int ifindex;			/* 0: interface not present */
	bool seen;			/* in the current link dump */
	int carrier;			/* -1 unknown */
	int operstate;			/* IF_OPER_*, -1 unknown */
	bool admin_up, up;
	uint64_t changes;		/* per tick */
	uint64_t routes, announced, withdrawn;
	uint64_t burst_n, burst_first_ns, burst_last_ns, tick_burst_max;
};

struct pending_ev {
	uint64_t ts_ms;
	const char *kind;
	int link;
	char detail[160];
};

struct nlmon {
	const struct ihm_config *cfg;
	nlmon_event_fn fn;
	void *ctx;
	pthread_mutex_t lock;		/* links[], routes_known; taken per buffer */
	int nlinks;
	struct nl_link links[CFG_MAX_LINKS];
	struct nltab *routes, *nhs;
	bool routes_known;
	bool counting;			/* changes count as announced/withdrawn */
	uint32_t gen;
	bool in_dump;
	uint64_t rc_announced, rc_withdrawn;	/* during the current dump */
	bool warned_oom, warned_paths;
	uint64_t redump_at_ns;		/* CLOCK_MONOTONIC; 0: none scheduled */

	struct pending_ev pend[NL_MAX_PENDING];
	int npend;
	uint64_t pend_dropped;
	struct pending_ev out[NL_MAX_PENDING];	/* the thread's copy while calling fn */

	struct mnl_socket *ev, *dump;
	unsigned int dump_seq;
	int stop_fd;
	pthread_t thr;
	bool thr_started;
	char *buf;
	uint64_t resyncs;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *operstate_name(int op)
{
	static const char *const names[] = {
		[IF_OPER_UNKNOWN] = "unknown",
		[IF_OPER_NOTPRESENT] = "notpresent",
		[IF_OPER_DOWN] = "down",
		[IF_OPER_LOWERLAYERDOWN] = "lowerlayerdown",
		[IF_OPER_TESTING] = "testing",
		[IF_OPER_DORMANT] = "dormant",
		[IF_OPER_UP] = "up",
	};

	if (op < 0 || op >= (int)(sizeof(names) / sizeof(names[0])) || !names[op])
		return "unknown";
	return names[op];
}

/* Called with the lock held; fn runs later, without it (flush_events). */
static void queue_event(struct nlmon *m, const char *kind, int link, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void queue_event(struct nlmon *m, const char *kind, int link, const char *fmt, ...)
{
	struct pending_ev *e;
	va_list ap;

	if (m->npend >= NL_MAX_PENDING) {
		m->pend_dropped++;
		return;
	}
	e = &m->pend[m->npend++];
	e->ts_ms = clock_ns(CLOCK_REALTIME) / 1000000ULL;
	e->kind = kind;
	e->link = link;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

static void flush_events(struct nlmon *m)
{
	int n;
	uint64_t dropped;

	pthread_mutex_lock(&m->lock);
	n = m->npend;
	memcpy(m->out, m->pend, (size_t)n * sizeof(m->pend[0]));
	m->npend = 0;
	dropped = m->pend_dropped;
	m->pend_dropped = 0;
	pthread_mutex_unlock(&m->lock);
	if (dropped)
		pr_warn("netlink: %llu events dropped (more than %d in one read)",
			(unsigned long long)dropped, NL_MAX_PENDING);
	for (int i = 0; i < n; i++)
		if (m->fn)
			m->fn(m->ctx, m->out[i].ts_ms, m->out[i].kind, m->out[i].link,
			      m->out[i].detail);
}

static int link_of_ifindex(const struct nlmon *m, int ifindex)
{
	if (ifindex <= 0)
		return -1;
	for (int i = 0; i < m->nlinks; i++)
		if (m->links[i].ifindex == ifindex)
			return i;
	return -1;
}

static void schedule_redump(struct nlmon *m, uint64_t now)
{
	if (m->routes_known && !m->redump_at_ns)
		m->redump_at_ns = now + NL_REDUMP_DELAY_NS;
}

/* ---- bursts and per-link accounting (lock held) ---- */

static void burst_end(struct nlmon *m, int li)
{
	struct nl_link *l = &m->links[li];

	if (l->burst_n && l->burst_n >= m->cfg->burst_event)
		queue_event(m, "withdrawal-burst", li, "%llu routes in %llu ms",
			    (unsigned long long)l->burst_n,
			    (unsigned long long)((l->burst_last_ns - l->burst_first_ns) / 1000000ULL));
	l->burst_n = 0;
}

/* End the bursts whose last withdrawal is a window or more before @now (ns). */
static void end_idle_bursts(struct nlmon *m, uint64_t now)
{
	for (int i = 0; i < m->nlinks; i++) {
		struct nl_link *l = &m->links[i];

		if (l->burst_n && now >= l->burst_last_ns &&
		    now - l->burst_last_ns >= m->cfg->burst_window_ns)
			burst_end(m, i);
	}
}

void nlmon__tick_bursts(struct nlmon *m, uint64_t now_ms)
{
	pthread_mutex_lock(&m->lock);
	end_idle_bursts(m, now_ms * 1000000ULL);
	pthread_mutex_unlock(&m->lock);
	flush_events(m);
}

static void link_announce(struct nlmon *m, int li)
{
	struct nl_link *l = &m->links[li];

	l->routes++;
	if (!m->counting)
		return;
	l->announced++;
	if (m->in_dump)
		m->rc_announced++;
}

static void link_withdraw(struct nlmon *m, int li, uint64_t now)
{
	struct nl_link *l = &m->links[li];

	if (l->routes)
		l->routes--;
	if (!m->counting)
		return;
	l->withdrawn++;
	if (m->in_dump)
		m->rc_withdrawn++;
	if (l->burst_n && now >= l->burst_last_ns &&
	    now - l->burst_last_ns >= m->cfg->burst_window_ns)
		burst_end(m, li);
	if (!l->burst_n)
		l->burst_first_ns = now;
	l->burst_n++;
	l->burst_last_ns = now;
	if (l->burst_n > l->tick_burst_max)
		l->tick_burst_max = l->burst_n;
}

/* Set the links of route @k to @links[0..n) (ascending; n == 0: gone). */
static void route_set(struct nlmon *m, const struct rt_key *k, const uint8_t *links, int n,
		      uint64_t now)
{
	struct rt_val *v = nltab__get(m->routes, k);
	uint8_t old[NL_MAX_PATHS];
	int nold = 0, i = 0, j = 0;

	if (v) {
		nold = v->n;
		memcpy(old, v->links, nold);
	} else if (n == 0) {
		return;
	}
	/* Both sets are sorted: one merge gives what left and what came. */
	while (i < nold || j < n) {
		if (j >= n || (i < nold && old[i] < links[j])) {
			link_withdraw(m, old[i++], now);
		} else if (i >= nold || links[j] < old[i]) {
			link_announce(m, links[j++]);
		} else {
			i++;
			j++;
		}
	}
	if (n == 0) {
		nltab__del(m->routes, k);
		return;
	}
	if (!v) {
		v = nltab__put(m->routes, k, NULL);
		if (!v) {
			/* Counted above but not stored: undo, and say so once. */
			for (j = 0; j < n; j++)
				if (m->links[links[j]].routes)
					m->links[links[j]].routes--;
			if (!m->warned_oom)
				pr_err("netlink: out of memory for the route table at %zu routes; "
				       "counts are low until memory is freed",
				       nltab__count(m->routes));
			m->warned_oom = true;
			return;
		}
	}
	v->n = (uint8_t)n;
	memcpy(v->links, links, n);
	v->gen = m->gen;
}

/* ---- message parsing (lock held) ---- */

static void add_link(struct nlmon *m, uint8_t *set, int *n, int ifindex, uint32_t flags)
{
	int li, i;

	if (flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN))
		return;
	li = link_of_ifindex(m, ifindex);
	if (li < 0)
		return;
	for (i = 0; i < *n && set[i] < li; i++)
		;
	if (i < *n && set[i] == li)
		return;
	if (*n >= NL_MAX_PATHS) {
		if (!m->warned_paths)
			pr_warn("netlink: a route uses more than %d interconnects; the others are "
				"not counted", NL_MAX_PATHS);
		m->warned_paths = true;
		return;
	}
	memmove(set + i + 1, set + i, (size_t)(*n - i));
	set[i] = (uint8_t)li;
	(*n)++;
}

static void add_nexthop_obj(struct nlmon *m, uint8_t *set, int *n, uint32_t id)
{
	const struct nh_val *nh = nltab__get(m->nhs, &id);

	if (!nh)
		return;
	if (!nh->ngrp) {
		add_link(m, set, n, nh->ifindex, nh->flags);
		return;
	}
	/* Groups hold plain nexthops only (the kernel refuses nested groups). */
	for (uint32_t i = 0; i < nh->ngrp; i++) {
		const struct nh_val *mem = nltab__get(m->nhs, &nh->grp[i]);

		if (mem && !mem->ngrp)
			add_link(m, set, n, mem->ifindex, mem->flags);
	}
}

struct attrs {
	const struct nlattr *tb[128];	/* above IFLA_MAX, RTA_MAX and NHA_MAX */
	int max;
};

/* Keep the attributes we know, each checked for its length; skip others. */
static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	int type = mnl_attr_get_type(a);

	if (type > at->max || type >= (int)(sizeof(at->tb) / sizeof(at->tb[0])))
		return MNL_CB_OK;
	at->tb[type] = a;
	return MNL_CB_OK;
}

static bool attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(a);
	return true;
}

static bool attr_u8(const struct nlattr *a, uint8_t *out)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return false;
	*out = mnl_attr_get_u8(a);
	return true;
}

static bool proto_counted(const struct nlmon *m, uint8_t proto)
{
	for (int i = 0; i < m->cfg->nprotos; i++)
		if (m->cfg->protos[i] == proto)
			return true;
	return false;
}

static void route_msg(struct nlmon *m, const struct nlmsghdr *nlh, uint64_t now)
{
	const struct rtmsg *rtm;
	struct attrs at = { .max = RTA_MAX };
	struct rt_key k;
	uint8_t set[NL_MAX_PATHS];
	int n = 0, alen = 0;
	uint32_t table, u;
	bool counted;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family == AF_INET)
		alen = 4;
	else if (rtm->rtm_family == AF_INET6)
		alen = 16;
	else
		return;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return;
	if (rtm->rtm_dst_len > alen * 8)
		return;
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, &at) < 0)
		return;	/* truncated attribute: a malformed message is skipped whole */
	table = rtm->rtm_table;
	if (attr_u32(at.tb[RTA_TABLE], &u))
		table = u;
	if (m->cfg->route_table != CFG_ROUTE_TABLE_ALL && table != m->cfg->route_table)
		return;

	memset(&k, 0, sizeof(k));
	k.family = rtm->rtm_family;
	k.dst_len = rtm->rtm_dst_len;
	k.tos = rtm->rtm_tos;
	k.table = table;
	if (attr_u32(at.tb[RTA_PRIORITY], &u))
		k.prio = u;
	if (at.tb[RTA_DST]) {
		if (mnl_attr_get_payload_len(at.tb[RTA_DST]) != (uint16_t)alen)
			return;
		memcpy(k.dst, mnl_attr_get_payload(at.tb[RTA_DST]), alen);
	} else if (rtm->rtm_dst_len) {
		return;
	}

	/*
	 * A message for a key we hold that is no longer ours (another protocol
	 * or type replaced it) removes it: the key is unique in the kernel.
	 */
	counted = rtm->rtm_type == RTN_UNICAST && proto_counted(m, rtm->rtm_protocol);
	if (nlh->nlmsg_type == RTM_DELROUTE || !counted) {
		route_set(m, &k, NULL, 0, now);
		return;
	}
	if (at.tb[RTA_MULTIPATH]) {
		const struct nlattr *mp = at.tb[RTA_MULTIPATH];
		const unsigned char *p = mnl_attr_get_payload(mp);
		size_t left = mnl_attr_get_payload_len(mp);

		/* Every rtnh_len is checked against what is left of the attribute. */
		while (left >= sizeof(struct rtnexthop)) {
			const struct rtnexthop *nh = (const void *)p;
			size_t step;

			if (nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > left)
				break;
			add_link(m, set, &n, nh->rtnh_ifindex, nh->rtnh_flags);
			step = RTNH_ALIGN(nh->rtnh_len);
			if (step >= left)
				break;
			p += step;
			left -= step;
		}
	} else if (attr_u32(at.tb[RTA_NH_ID], &u)) {
		add_nexthop_obj(m, set, &n, u);
	} else if (attr_u32(at.tb[RTA_OIF], &u)) {
		add_link(m, set, &n, (int)u, rtm->rtm_flags);
	}
	route_set(m, &k, set, n, now);
}

static void nexthop_msg(struct nlmon *m, const struct nlmsghdr *nlh, uint64_t now)
{
	const struct nhmsg *nhm;
	struct attrs at = { .max = NHA_MAX };
	struct nh_val *v;
	uint32_t id, u;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nhm)))
		return;
	nhm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*nhm), attr_cb, &at) < 0 || !attr_u32(at.tb[NHA_ID], &id))
		return;
	schedule_redump(m, now);
	if (nlh->nlmsg_type == RTM_DELNEXTHOP) {
		nltab__del(m->nhs, &id);
		return;
	}
	v = nltab__put(m->nhs, &id, NULL);
	if (!v)
		return;
	memset(v, 0, sizeof(*v));
	v->flags = nhm->nh_flags;
	if (attr_u32(at.tb[NHA_OIF], &u))
		v->ifindex = (int32_t)u;
	if (at.tb[NHA_GROUP]) {
		const struct nexthop_grp *g = mnl_attr_get_payload(at.tb[NHA_GROUP]);
		size_t cnt = mnl_attr_get_payload_len(at.tb[NHA_GROUP]) / sizeof(*g);

		if (cnt > NH_MAX_GROUP) {
			pr_warn("netlink: nexthop group %u has %zu members; only the first %d are "
				"attributed", id, cnt, NH_MAX_GROUP);
			cnt = NH_MAX_GROUP;
		}
		for (size_t i = 0; i < cnt; i++)
			v->grp[i] = g[i].id;
		v->ngrp = (uint32_t)cnt;
	}
}

/* Set link @li's state; an event when its up/down verdict changes. */
static void link_state(struct nlmon *m, int li, int carrier, int operstate, bool admin_up,
		       uint64_t now)
{
	struct nl_link *l = &m->links[li];
	bool up = admin_up && carrier == 1 &&
		  (operstate == IF_OPER_UP || operstate == IF_OPER_UNKNOWN);

	if (carrier == l->carrier && operstate == l->operstate && admin_up == l->admin_up)
		return;
	l->carrier = carrier;
	l->operstate = operstate;
	l->admin_up = admin_up;
	if (m->counting) {
		l->changes++;
		schedule_redump(m, now);
	}
	if (up != l->up && m->counting)
		queue_event(m, up ? "link-up" : "link-down", li, "%s: carrier %s, operstate %s%s",
			    l->ifname, carrier == 1 ? "on" : carrier == 0 ? "off" : "unknown",
			    operstate_name(operstate), admin_up ? "" : ", admin down");
	l->up = up;
}

static void link_gone(struct nlmon *m, int li, uint64_t now)
{
	m->links[li].ifindex = 0;
	link_state(m, li, -1, IF_OPER_NOTPRESENT, false, now);
	schedule_redump(m, now);
}

static void link_msg(struct nlmon *m, const struct nlmsghdr *nlh, uint64_t now)
{
	const struct ifinfomsg *ifi;
	struct attrs at = { .max = IFLA_MAX };
	const char *name = NULL;
	uint8_t carrier = 0, oper = IF_OPER_UNKNOWN;
	int li, old;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0 || mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &at) < 0)
		return;
	if (at.tb[IFLA_IFNAME] && mnl_attr_validate(at.tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		name = mnl_attr_get_str(at.tb[IFLA_IFNAME]);
	old = link_of_ifindex(m, ifi->ifi_index);

	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (old >= 0)
			link_gone(m, old, now);
		return;
	}
	if (!name)
		return;
	/* Renamed away from an interconnect's name: that interconnect is gone. */
	if (old >= 0 && strcmp(m->links[old].ifname, name))
		link_gone(m, old, now);
	li = -1;
	for (int i = 0; i < m->nlinks; i++)
		if (!strcmp(m->links[i].ifname, name)) {
			li = i;
			break;
		}
	if (li < 0)
		return;
	m->links[li].seen = true;
	if (m->links[li].ifindex != ifi->ifi_index) {
		/* New or recreated: routes of the old ifindex went with it. */
		if (m->links[li].ifindex)
			pr_info("netlink: interface %s is now ifindex %d (was %d)", name,
				ifi->ifi_index, m->links[li].ifindex);
		m->links[li].ifindex = ifi->ifi_index;
		schedule_redump(m, now);
	}
	attr_u8(at.tb[IFLA_OPERSTATE], &oper);
	link_state(m, li, attr_u8(at.tb[IFLA_CARRIER], &carrier) ? carrier : -1, oper,
		   ifi->ifi_flags & IFF_UP, now);
}

static void process_msg(struct nlmon *m, const struct nlmsghdr *nlh, uint64_t now)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		link_msg(m, nlh, now);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		route_msg(m, nlh, now);
		break;
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		nexthop_msg(m, nlh, now);
		break;
	default:
		break;
	}
}

void nlmon__feed(struct nlmon *m, const void *buf, size_t len, uint64_t now_ms)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;

	pthread_mutex_lock(&m->lock);
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		process_msg(m, nlh, now_ms * 1000000ULL);
	pthread_mutex_unlock(&m->lock);
	flush_events(m);
}

/* ---- dumps ---- */

void nlmon__dump_begin(struct nlmon *m)
{
	pthread_mutex_lock(&m->lock);
	m->gen++;
	m->in_dump = true;
	m->rc_announced = m->rc_withdrawn = 0;
	pthread_mutex_unlock(&m->lock);
}

struct sweep_ctx {
	struct nlmon *m;
	uint64_t now;
};

static bool sweep_stale(void *ctx, const void *key, void *val)
{
	struct sweep_ctx *c = ctx;
	struct rt_val *v = val;

	if (v->gen == c->m->gen)
		return false;
	for (int i = 0; i < v->n; i++)
		link_withdraw(c->m, v->links[i], c->now);
	return true;
}

static void dump_end_locked(struct nlmon *m, uint64_t now)
{
	struct sweep_ctx c = { m, now };

	nltab__sweep(m->routes, sweep_stale, &c);
	m->in_dump = false;
}

void nlmon__dump_end(struct nlmon *m, uint64_t now_ms)
{
	pthread_mutex_lock(&m->lock);
	dump_end_locked(m, now_ms * 1000000ULL);
	pthread_mutex_unlock(&m->lock);
	flush_events(m);
}

/*
 * Dump @type (@family) on the dump socket and process the replies, a
 * buffer at a time under the lock. 0, -EINTR when the kernel says the dump
 * was interrupted by a change (it must be redone), or a negative errno.
 */
static int dump_one(struct nlmon *m, uint16_t type, uint8_t family)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	unsigned int seq = ++m->dump_seq, portid = mnl_socket_get_portid(m->dump);
	bool intr = false;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (type == RTM_GETLINK) {
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

		ifi->ifi_family = AF_UNSPEC;
	} else if (type == RTM_GETROUTE) {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = family;
	} else {
		struct nhmsg *nhm = mnl_nlmsg_put_extra_header(nlh, sizeof(*nhm));

		nhm->nh_family = AF_UNSPEC;
	}
	if (mnl_socket_sendto(m->dump, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(m->dump, m->buf, NL_BUF_SIZE);
		const struct nlmsghdr *h = (const void *)m->buf;
		int left, err = 1;
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (int)len;
		pthread_mutex_lock(&m->lock);
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_seq != seq || h->nlmsg_pid != portid)
				continue;	/* a reply to an earlier, abandoned request */
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_DONE) {
				err = 0;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

				err = h->nlmsg_len >= mnl_nlmsg_size(sizeof(*e)) && e->error ?
					      e->error : 0;
				break;
			}
			process_msg(m, h, now);
		}
		pthread_mutex_unlock(&m->lock);
		if (err <= 0)
			return err < 0 ? err : intr ? -EINTR : 0;
	}
}

/* Routes of both families, reconciled against the table. */
static int dump_routes(struct nlmon *m)
{
	int err = -EINTR;

	for (int t = 0; t < NL_DUMP_TRIES && err == -EINTR; t++) {
		nlmon__dump_begin(m);
		err = dump_one(m, RTM_GETROUTE, AF_INET);
		if (!err)
			err = dump_one(m, RTM_GETROUTE, AF_INET6);
		if (!err) {
			pthread_mutex_lock(&m->lock);
			dump_end_locked(m, clock_ns(CLOCK_MONOTONIC));
			pthread_mutex_unlock(&m->lock);
		}
	}
	pthread_mutex_lock(&m->lock);
	m->in_dump = false;
	pthread_mutex_unlock(&m->lock);
	return err;
}

static bool drop_all(void *ctx, const void *key, void *val)
{
	return true;
}

/* Links (interconnects absent from the dump are gone), nexthops, routes. */
static int dump_all(struct nlmon *m)
{
	int err = -EINTR;

	for (int t = 0; t < NL_DUMP_TRIES && err == -EINTR; t++) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		pthread_mutex_lock(&m->lock);
		for (int i = 0; i < m->nlinks; i++)
			m->links[i].seen = false;
		pthread_mutex_unlock(&m->lock);
		err = dump_one(m, RTM_GETLINK, AF_UNSPEC);
		if (err)
			continue;
		pthread_mutex_lock(&m->lock);
		for (int i = 0; i < m->nlinks; i++)
			if (!m->links[i].seen && m->links[i].ifindex)
				link_gone(m, i, now);
		nltab__sweep(m->nhs, drop_all, NULL);
		pthread_mutex_unlock(&m->lock);
		err = dump_one(m, RTM_GETNEXTHOP, AF_UNSPEC);
		/* Kernels before 5.3 have no nexthop objects and refuse the dump. */
		if (err == -EOPNOTSUPP || err == -EINVAL || err == -ENOENT)
			err = 0;
		if (err)
			continue;
		err = dump_routes(m);
	}
	return err;
}

/* ---- the thread ---- */

static void resync(struct nlmon *m, const char *why)
{
	uint64_t before, after;
	int err;

	/* What is queued is older than the dump and possibly incomplete: drop it. */
	while (recv(mnl_socket_get_fd(m->ev), m->buf, NL_BUF_SIZE, MSG_DONTWAIT) > 0 ||
	       errno == ENOBUFS || errno == EINTR)
		;
	pthread_mutex_lock(&m->lock);
	before = nltab__count(m->routes);
	m->redump_at_ns = 0;
	pthread_mutex_unlock(&m->lock);
	err = dump_all(m);
	m->resyncs++;
	pthread_mutex_lock(&m->lock);
	after = nltab__count(m->routes);
	queue_event(m, "netlink-resync", -1,
		    "%s; re-dumped links, nexthops and routes: %llu announced, %llu withdrawn, "
		    "%llu routes before, %llu after%s",
		    why, (unsigned long long)m->rc_announced, (unsigned long long)m->rc_withdrawn,
		    (unsigned long long)before, (unsigned long long)after,
		    err ? " (dump failed, retrying on the next change)" : "");
	pthread_mutex_unlock(&m->lock);
	if (err)
		pr_warn("netlink: resync dump failed: %s", strerror(-err));
	flush_events(m);
}

static int next_timeout_ms(struct nlmon *m, uint64_t now)
{
	uint64_t due = UINT64_MAX;

	pthread_mutex_lock(&m->lock);
	if (m->redump_at_ns)
		due = m->redump_at_ns;
	for (int i = 0; i < m->nlinks; i++)
		if (m->links[i].burst_n) {
			uint64_t end = m->links[i].burst_last_ns + m->cfg->burst_window_ns;

			if (end < due)
				due = end;
		}
	pthread_mutex_unlock(&m->lock);
	if (due == UINT64_MAX)
		return -1;
	if (due <= now)
		return 0;
	return (int)((due - now + 999999ULL) / 1000000ULL);
}

static void *nlmon_thread(void *arg)
{
	struct nlmon *m = arg;
	struct pollfd pfd[2] = {
		{ .fd = mnl_socket_get_fd(m->ev), .events = POLLIN },
		{ .fd = m->stop_fd, .events = POLLIN },
	};

	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		bool lost = false;
		int r = poll(pfd, 2, next_timeout_ms(m, now));

		if (r < 0 && errno != EINTR) {
			pr_err("netlink: poll failed: %s; link and route monitoring stops",
			       strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (r > 0 && pfd[0].revents) {
			for (;;) {
				ssize_t len = recv(pfd[0].fd, m->buf, NL_BUF_SIZE, MSG_DONTWAIT);
				const struct nlmsghdr *h = (const void *)m->buf;
				int left;

				if (len < 0) {
					if (errno == ENOBUFS)
						lost = true;
					else if (errno == EINTR)
						continue;
					else if (errno != EAGAIN)
						pr_warn("netlink: reading events failed: %s",
							strerror(errno));
					break;
				}
				now = clock_ns(CLOCK_MONOTONIC);
				left = (int)len;
				pthread_mutex_lock(&m->lock);
				for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
					process_msg(m, h, now);
				pthread_mutex_unlock(&m->lock);
				flush_events(m);
				if (lost)
					break;
			}
		}
		if (lost) {
			pr_info("netlink: event buffer overrun (ENOBUFS): re-dumping to reconcile");
			resync(m, "events lost (ENOBUFS)");
		}
		now = clock_ns(CLOCK_MONOTONIC);
		pthread_mutex_lock(&m->lock);
		if (m->redump_at_ns && m->redump_at_ns <= now) {
			m->redump_at_ns = 0;
			pthread_mutex_unlock(&m->lock);
			int err = dump_routes(m);
			if (err == -EINTR)
				resync(m, "route dump interrupted repeatedly by changes");
			else if (err)
				pr_warn("netlink: route re-dump failed: %s", strerror(-err));
			pthread_mutex_lock(&m->lock);
		}
		end_idle_bursts(m, now);
		pthread_mutex_unlock(&m->lock);
		flush_events(m);
	}
	return NULL;
}

/* ---- life cycle ---- */

struct nlmon *nlmon__new(const struct ihm_config *cfg, nlmon_event_fn fn, void *ctx)
{
	struct nlmon *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cfg = cfg;
	m->fn = fn;
	m->ctx = ctx;
	m->stop_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	m->nlinks = cfg->nlinks;
	for (int i = 0; i < m->nlinks; i++) {
		snprintf(m->links[i].ifname, sizeof(m->links[i].ifname), "%s",
			 cfg->links[i].ifname);
		m->links[i].carrier = -1;
		m->links[i].operstate = IF_OPER_NOTPRESENT;
	}
	m->routes = nltab__new(sizeof(struct rt_key), sizeof(struct rt_val));
	m->nhs = nltab__new(sizeof(uint32_t), sizeof(struct nh_val));
	if (!m->routes || !m->nhs) {
		nlmon__free(m);
		return NULL;
	}
	m->counting = true;
	m->routes_known = true;
	return m;
}

void nlmon__free(struct nlmon *m)
{
	if (!m)
		return;
	nltab__free(m->routes);
	nltab__free(m->nhs);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct mnl_socket *open_sock(unsigned int groups, const char *what)
{
	struct mnl_socket *s = mnl_socket_open(NETLINK_ROUTE);

	if (!s) {
		pr_err("netlink: cannot open a NETLINK_ROUTE socket for %s: %s", what,
		       strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
		pr_err("netlink: cannot bind the %s socket: %s", what, strerror(errno));
		mnl_socket_close(s);
		return NULL;
	}
	return s;
}

struct nlmon *nlmon_start(const struct ihm_config *cfg, nlmon_event_fn fn, void *ctx)
{
	struct nlmon *m = nlmon__new(cfg, fn, ctx);
	const char *env = getenv(NL_RCVBUF_ENV);
	int rcvbuf = NL_RCVBUF_DEFAULT, grp = RTNLGRP_NEXTHOP, err, fd;

	if (!m) {
		pr_err("netlink: out of memory");
		return NULL;
	}
	m->buf = malloc(NL_BUF_SIZE);
	if (!m->buf) {
		pr_err("netlink: out of memory");
		goto err_free;
	}
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);

		if (*end || v < 1024 || v > (1L << 30)) {
			pr_err("netlink: %s='%s' is not a size in bytes from 1024 to 1G", NL_RCVBUF_ENV,
			       env);
			goto err_free;
		}
		rcvbuf = (int)v;
		pr_info("netlink: event receive buffer %d bytes (%s)", rcvbuf, NL_RCVBUF_ENV);
	}
	m->ev = open_sock(RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE, "events");
	if (!m->ev)
		goto err_free;
	fd = mnl_socket_get_fd(m->ev);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		pr_warn("netlink: cannot set the event buffer to %d bytes (%s); bursts may "
			"overflow it and cost a resync", rcvbuf, strerror(errno));
	/* Nexthop objects have no RTMGRP_ bit; kernels without them refuse this. */
	if (mnl_socket_setsockopt(m->ev, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		pr_debug("netlink: no nexthop object events: %s", strerror(errno));
	m->dump = open_sock(0, "dumps");
	if (!m->dump)
		goto err_free;

	/* The first dump is the baseline: no announcements, no events. */
	m->counting = false;
	m->routes_known = false;
	err = dump_all(m);
	if (err) {
		pr_err("netlink: the initial dump of links and routes failed: %s",
		       err == -EINTR ? "interrupted by changes 5 times; retry" : strerror(-err));
		goto err_free;
	}
	pthread_mutex_lock(&m->lock);
	m->counting = true;
	m->routes_known = true;
	m->redump_at_ns = 0;
	pthread_mutex_unlock(&m->lock);
	flush_events(m);

	m->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (m->stop_fd < 0) {
		pr_err("netlink: eventfd: %s", strerror(errno));
		goto err_free;
	}
	err = pthread_create(&m->thr, NULL, nlmon_thread, m);
	if (err) {
		pr_err("netlink: cannot start the monitor thread: %s", strerror(err));
		goto err_free;
	}
	m->thr_started = true;
	pr_info("netlink: watching %d interconnect(s); %zu routes of the configured protocols via "
		"them", m->nlinks, nltab__count(m->routes));
	return m;

err_free:
	nlmon_stop(m);
	return NULL;
}

void nlmon_collect(struct nlmon *m, int link_idx, struct health_sample *s)
{
	struct nl_link *l;

	if (!m || link_idx < 0 || link_idx >= m->nlinks)
		return;
	l = &m->links[link_idx];
	pthread_mutex_lock(&m->lock);
	s->carrier = l->carrier;
	snprintf(s->operstate, sizeof(s->operstate), "%s", operstate_name(l->operstate));
	s->link_changes = l->changes;
	s->routes_known = m->routes_known;
	s->routes = l->routes;
	s->routes_announced = l->announced;
	s->routes_withdrawn = l->withdrawn;
	s->withdraw_burst_max = l->tick_burst_max;
	l->changes = 0;
	l->announced = l->withdrawn = 0;
	/* A burst still running shows again, with its size so far, next tick. */
	l->tick_burst_max = l->burst_n;
	pthread_mutex_unlock(&m->lock);
}

void nlmon_stop(struct nlmon *m)
{
	if (!m)
		return;
	if (m->thr_started) {
		uint64_t one = 1;

		if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_warn("netlink: cannot signal the monitor thread: %s", strerror(errno));
		pthread_join(m->thr, NULL);
	}
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	if (m->ev)
		mnl_socket_close(m->ev);
	if (m->dump)
		mnl_socket_close(m->dump);
	free(m->buf);
	nlmon__free(m);
}
