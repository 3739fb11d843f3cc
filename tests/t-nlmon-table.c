// SPDX-License-Identifier: GPL-2.0-only
/*
 * nltab (the route table) against a reference model, and nlmon's accounting
 * fed crafted rtnetlink messages: multipath, a replace that moves a route,
 * protocols and tables not counted, nexthop objects, bursts, reconciling
 * dumps, link state, and malformed messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "user/config.h"
#include "harness.h"
#include "user/health.h"
#include "user/nlmon.h"
#include "user/nltab.h"

/* ---- nltab ---- */

struct tkey {
	uint32_t a, b;
};

static uint64_t rng = 88172645463325252ULL;
static uint32_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void test_nltab_matches_reference_model(void)
{
	enum { N = 200000, SPACE = 100000 };
	struct nltab *t = nltab__new(sizeof(struct tkey), sizeof(uint32_t));
	uint32_t *ref = calloc(SPACE, sizeof(*ref));	/* 0: absent, else value */
	size_t want = 0;
	int bad = 0;

	ASSERT_TRUE(t && ref, "allocation");
	for (int i = 0; i < N && t && ref; i++) {
		uint32_t k = xr() % SPACE, op = xr() % 3;
		struct tkey key = { k, ~k };

		if (op < 2) {
			bool ins;
			uint32_t *v = nltab__put(t, &key, &ins);

			if (!v || ins != !ref[k])
				bad++;
			if (!ref[k])
				want++;
			ref[k] = i + 1;
			if (v)
				*v = i + 1;
		} else {
			int err = nltab__del(t, &key);

			if (err != (ref[k] ? 0 : -ENOENT))
				bad++;
			if (ref[k])
				want--;
			ref[k] = 0;
		}
	}
	for (uint32_t k = 0; k < SPACE && t && ref; k++) {
		struct tkey key = { k, ~k };
		uint32_t *v = nltab__get(t, &key);

		if (ref[k] ? !v || *v != ref[k] : v != NULL)
			bad++;
	}
	ASSERT_EQ(bad, 0, "operations and lookups that disagreed with the model");
	ASSERT_EQ(t ? nltab__count(t) : 0, want, "count");
	ASSERT_TRUE(t && nltab__count(t) * 4 <= nltab__capacity(t) * 3, "load factor at most 3/4");
	nltab__free(t);
	free(ref);
}

struct sweep_ref {
	int visits, odd_kept;
};

static bool del_odd(void *ctx, const void *key, void *val)
{
	const struct tkey *k = key;
	struct sweep_ref *r = ctx;

	r->visits++;
	return k->a & 1;
}

static void test_nltab_sweep_visits_each_once(void)
{
	/* Many sizes, so clusters wrap around the end of the array. */
	for (int n = 1; n < 3000; n += 97) {
		struct nltab *t = nltab__new(sizeof(struct tkey), 0);
		struct sweep_ref r = { 0, 0 };
		size_t left;
		int missing = 0;

		for (int i = 0; i < n; i++) {
			struct tkey k = { (uint32_t)i, 7 };

			nltab__put(t, &k, NULL);
		}
		left = n - nltab__sweep(t, del_odd, &r);
		ASSERT_EQ(r.visits, n, "entries visited by the sweep");
		ASSERT_EQ(nltab__count(t), left, "count after sweep");
		ASSERT_EQ(left, (size_t)(n + 1) / 2, "even keys left");
		for (int i = 0; i < n; i++) {
			struct tkey k = { (uint32_t)i, 7 };

			if ((nltab__get(t, &k) != NULL) != !(i & 1))
				missing++;
		}
		ASSERT_EQ(missing, 0, "keys wrongly present or absent after sweep");
		nltab__free(t);
	}
}

/* ---- nlmon fed by hand ---- */

static struct ihm_config cfg;
static char buf[16384];
static size_t blen;
static char last_kind[32], last_detail[160];
static int last_link, nevents;

static void on_event(void *ctx, uint64_t ts, const char *kind, int link, const char *detail)
{
	snprintf(last_kind, sizeof(last_kind), "%s", kind);
	snprintf(last_detail, sizeof(last_detail), "%s", detail);
	last_link = link;
	nevents++;
}

static void setup_cfg(void)
{
	config_defaults(&cfg);
	cfg.nlinks = 2;
	snprintf(cfg.links[0].ifname, sizeof(cfg.links[0].ifname), "ic0");
	snprintf(cfg.links[1].ifname, sizeof(cfg.links[1].ifname), "ic1");
}

static void *put(uint16_t type, uint16_t flags, size_t extra, void **payload)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + blen);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	*payload = mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static void end(struct nlmsghdr *nlh)
{
	blen += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void link_msg(int ifindex, const char *name, bool up, uint8_t carrier, uint8_t oper)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = put(RTM_NEWLINK, 0, sizeof(*ifi), (void **)&ifi);

	ifi->ifi_index = ifindex;
	ifi->ifi_flags = up ? IFF_UP : 0;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u8(nlh, IFLA_CARRIER, carrier);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, oper);
	end(nlh);
}

/* A route to 10.0.IDX.0/24; oifs[] > 0 are next hops (more than one: multipath). */
static void route_msg(uint16_t type, int idx, uint8_t proto, uint32_t table, const int *oifs,
		      int n)
{
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = put(type, 0, sizeof(*rtm), (void **)&rtm);
	uint32_t dst = htonl(0x0a000000u | ((uint32_t)idx << 8));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 24;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = proto;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 4, &dst);
	if (table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (n == 1) {
		mnl_attr_put_u32(nlh, RTA_OIF, oifs[0]);
	} else if (n > 1) {
		struct nlattr *mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);

		for (int i = 0; i < n; i++) {
			struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);

			memset(nh, 0, sizeof(*nh));
			nh->rtnh_len = sizeof(*nh);
			nh->rtnh_ifindex = oifs[i];
			nlh->nlmsg_len += RTNH_ALIGN(sizeof(*nh));
		}
		mnl_attr_nest_end(nlh, mp);
	}
	end(nlh);
}

static void feed(struct nlmon *m, uint64_t now_ms)
{
	nlmon__feed(m, buf, blen, now_ms);
	blen = 0;
}

static struct health_sample collect(struct nlmon *m, int link)
{
	struct health_sample s;

	health_sample_init(&s);
	nlmon_collect(m, link, &s);
	return s;
}

static struct nlmon *new_mon(void)
{
	struct nlmon *m;

	setup_cfg();
	m = nlmon__new(&cfg, on_event, NULL);
	link_msg(5, "ic0", true, 1, IF_OPER_UP);
	link_msg(6, "ic1", true, 1, IF_OPER_UP);
	link_msg(7, "lan0", true, 1, IF_OPER_UP);
	feed(m, 0);
	nevents = 0;
	return m;
}

static void test_nlmon_multipath_and_replace(void)
{
	struct nlmon *m = new_mon();
	int both[] = { 5, 6 }, ic1[] = { 6 }, lan[] = { 7 }, ic0_lan[] = { 5, 7 };
	struct health_sample a, b;

	route_msg(RTM_NEWROUTE, 1, RTPROT_BIRD, RT_TABLE_MAIN, both, 2);
	route_msg(RTM_NEWROUTE, 2, RTPROT_BIRD, RT_TABLE_MAIN, ic0_lan, 2);
	route_msg(RTM_NEWROUTE, 3, RTPROT_BIRD, RT_TABLE_MAIN, lan, 1);	/* not an interconnect */
	route_msg(RTM_NEWROUTE, 4, RTPROT_STATIC, RT_TABLE_MAIN, both, 2);	/* not counted */
	route_msg(RTM_NEWROUTE, 5, RTPROT_BIRD, 1000, both, 2);		/* another table */
	feed(m, 10);
	a = collect(m, 0);
	b = collect(m, 1);
	ASSERT_EQ(a.routes, 2, "ic0 routes (multipath counts on each link)");
	ASSERT_EQ(b.routes, 1, "ic1 routes");
	ASSERT_EQ(a.routes_announced, 2, "ic0 announced");
	ASSERT_TRUE(a.routes_known, "routes known");
	/* Replace: route 1 from {ic0, ic1} to {ic1}; repeated message changes nothing. */
	route_msg(RTM_NEWROUTE, 1, RTPROT_BIRD, RT_TABLE_MAIN, ic1, 1);
	route_msg(RTM_NEWROUTE, 1, RTPROT_BIRD, RT_TABLE_MAIN, ic1, 1);
	feed(m, 20);
	a = collect(m, 0);
	b = collect(m, 1);
	ASSERT_EQ(a.routes, 1, "ic0 after the move");
	ASSERT_EQ(a.routes_withdrawn, 1, "ic0 withdrawn by the move");
	ASSERT_EQ(b.routes_announced + b.routes_withdrawn, 0, "ic1 unchanged by the move");
	/* Route 2 replaced by a static route (another protocol): withdrawn. */
	route_msg(RTM_NEWROUTE, 2, RTPROT_STATIC, RT_TABLE_MAIN, ic0_lan, 2);
	route_msg(RTM_DELROUTE, 1, RTPROT_BIRD, RT_TABLE_MAIN, ic1, 1);
	route_msg(RTM_DELROUTE, 9, RTPROT_BIRD, RT_TABLE_MAIN, ic1, 1);	/* unknown: ignored */
	feed(m, 30);
	a = collect(m, 0);
	b = collect(m, 1);
	ASSERT_EQ(a.routes, 0, "ic0 after replace by static");
	ASSERT_EQ(b.routes, 0, "ic1 after delete");
	ASSERT_EQ(b.routes_withdrawn, 1, "ic1 withdrawn");
	nlmon__free(m);
}

static void test_nlmon_table_all_and_nexthop_objects(void)
{
	struct nlmon *m;
	struct nhmsg *nhm;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nexthop_grp grp[2] = { { .id = 1 }, { .id = 2 } };
	uint32_t dst = htonl(0x0a630000u);

	setup_cfg();
	cfg.route_table = CFG_ROUTE_TABLE_ALL;
	m = nlmon__new(&cfg, on_event, NULL);
	link_msg(5, "ic0", true, 1, IF_OPER_UP);
	link_msg(6, "ic1", true, 1, IF_OPER_UP);
	for (uint32_t id = 1; id <= 2; id++) {
		nlh = put(RTM_NEWNEXTHOP, 0, sizeof(*nhm), (void **)&nhm);
		nhm->nh_family = AF_INET;
		mnl_attr_put_u32(nlh, NHA_ID, id);
		mnl_attr_put_u32(nlh, NHA_OIF, id + 4);
		end(nlh);
	}
	nlh = put(RTM_NEWNEXTHOP, 0, sizeof(*nhm), (void **)&nhm);
	mnl_attr_put_u32(nlh, NHA_ID, 10);
	mnl_attr_put(nlh, NHA_GROUP, sizeof(grp), grp);
	end(nlh);
	nlh = put(RTM_NEWROUTE, 0, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 16;
	rtm->rtm_protocol = RTPROT_ZEBRA;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_table = 200;
	mnl_attr_put(nlh, RTA_DST, 4, &dst);
	mnl_attr_put_u32(nlh, RTA_NH_ID, 10);
	end(nlh);
	feed(m, 0);
	ASSERT_EQ(collect(m, 0).routes, 1, "ic0: route through a nexthop group, table 200");
	ASSERT_EQ(collect(m, 1).routes, 1, "ic1: same route");
	nlmon__free(m);
}

static void test_nlmon_bursts(void)
{
	struct nlmon *m = new_mon();
	int ic0[] = { 5 };
	struct health_sample a;

	for (int i = 0; i < 30; i++)
		route_msg(RTM_NEWROUTE, i, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 1);
	feed(m, 0);
	collect(m, 0);
	/* 12 withdrawals 100 ms apart: one burst (window 1 s). */
	for (int i = 0; i < 12; i++) {
		route_msg(RTM_DELROUTE, i, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 1);
		feed(m, 1000 + 100 * i);
	}
	a = collect(m, 0);
	ASSERT_EQ(a.withdraw_burst_max, 12, "burst so far in the tick");
	ASSERT_EQ(nevents, 0, "no event while the burst runs");
	nlmon__tick_bursts(m, 1000 + 1100 + 999);
	ASSERT_EQ(nevents, 0, "no event before the window passed");
	nlmon__tick_bursts(m, 1000 + 1100 + 1000);
	ASSERT_EQ(nevents, 1, "one event when the burst ends");
	ASSERT_STREQ(last_kind, "withdrawal-burst", "event kind");
	ASSERT_STREQ(last_detail, "12 routes in 1100 ms", "event detail");
	ASSERT_EQ(last_link, 0, "event link");
	a = collect(m, 0);
	ASSERT_EQ(a.withdraw_burst_max, 12, "the burst ran into this tick too");
	/* Two withdrawals 2 s apart: two bursts of 1, no event. */
	route_msg(RTM_DELROUTE, 20, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 1);
	feed(m, 10000);
	route_msg(RTM_DELROUTE, 21, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 1);
	feed(m, 12000);
	nlmon__tick_bursts(m, 20000);
	a = collect(m, 0);
	ASSERT_EQ(a.withdraw_burst_max, 1, "separate withdrawals");
	ASSERT_EQ(a.routes_withdrawn, 2, "withdrawn");
	ASSERT_EQ(nevents, 1, "no further event");
	nlmon__free(m);
}

static void test_nlmon_dump_reconciles(void)
{
	struct nlmon *m = new_mon();
	int ic0[] = { 5 }, ic1[] = { 6 };
	struct health_sample a, b;

	for (int i = 0; i < 10; i++)
		route_msg(RTM_NEWROUTE, i, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 1);
	feed(m, 0);
	collect(m, 0);
	/* The kernel now has routes 5..14, 5 of them moved to ic1 (events lost). */
	nlmon__dump_begin(m);
	for (int i = 5; i < 15; i++)
		route_msg(RTM_NEWROUTE, i, RTPROT_BIRD, RT_TABLE_MAIN, i < 10 ? ic1 : ic0, 1);
	feed(m, 100);
	nlmon__dump_end(m, 100);
	a = collect(m, 0);
	b = collect(m, 1);
	ASSERT_EQ(a.routes, 5, "ic0 after the dump (10..14)");
	ASSERT_EQ(b.routes, 5, "ic1 after the dump (5..9)");
	ASSERT_EQ(a.routes_withdrawn, 10, "ic0 withdrawn: 0..4 gone, 5..9 moved");
	ASSERT_EQ(a.routes_announced, 5, "ic0 announced: 10..14");
	ASSERT_EQ(b.routes_announced, 5, "ic1 announced: 5..9");
	nlmon__free(m);
}

static void test_nlmon_link_state_and_linkdown(void)
{
	struct nlmon *m = new_mon();
	int ic0[] = { 5 };
	struct health_sample a;

	a = collect(m, 0);
	ASSERT_EQ(a.carrier, 1, "carrier");
	ASSERT_STREQ(a.operstate, "up", "operstate");
	link_msg(5, "ic0", true, 0, IF_OPER_LOWERLAYERDOWN);
	feed(m, 0);
	ASSERT_STREQ(last_kind, "link-down", "event on carrier loss");
	a = collect(m, 0);
	ASSERT_EQ(a.carrier, 0, "carrier after loss");
	ASSERT_STREQ(a.operstate, "lowerlayerdown", "operstate after loss");
	ASSERT_EQ(a.link_changes, 1, "changes");
	link_msg(9, "ic0", true, 1, IF_OPER_UP);	/* recreated with a new ifindex */
	feed(m, 0);
	ASSERT_STREQ(last_kind, "link-up", "event on the new interface");
	route_msg(RTM_NEWROUTE, 1, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 1);	/* old ifindex 5 */
	feed(m, 0);
	ASSERT_EQ(collect(m, 0).routes, 0, "a route via the old ifindex is not counted");
	{
		struct ifinfomsg *ifi;
		struct nlmsghdr *nlh = put(RTM_DELLINK, 0, sizeof(*ifi), (void **)&ifi);

		ifi->ifi_index = 9;
		end(nlh);
	}
	feed(m, 0);
	a = collect(m, 0);
	ASSERT_STREQ(last_kind, "link-down", "event when the interface goes away");
	ASSERT_EQ(a.carrier, -1, "carrier unknown while absent");
	ASSERT_STREQ(a.operstate, "notpresent", "operstate while absent");
	nlmon__free(m);
}

static void test_nlmon_malformed_messages_are_skipped(void)
{
	struct nlmon *m = new_mon();
	int ic0[] = { 5, 6 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t dst = 0;

	/* A multipath attribute whose rtnh_len runs past its end. */
	route_msg(RTM_NEWROUTE, 1, RTPROT_BIRD, RT_TABLE_MAIN, ic0, 2);
	{
		struct nlattr *mp = (void *)(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg)) + 8);
		struct rtnexthop *nh = mnl_attr_get_payload(mp);

		nh->rtnh_len = 200;
	}
	feed(m, 0);
	ASSERT_EQ(collect(m, 0).routes, 0, "route with a broken multipath attribute");
	/* RTA_DST of the wrong size; a header shorter than struct rtmsg. */
	nlh = put(RTM_NEWROUTE, 0, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 24;
	rtm->rtm_protocol = RTPROT_BIRD;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_table = RT_TABLE_MAIN;
	mnl_attr_put(nlh, RTA_DST, 2, &dst);
	mnl_attr_put_u32(nlh, RTA_OIF, 5);
	end(nlh);
	nlh = mnl_nlmsg_put_header(buf + blen);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;
	blen += NLMSG_ALIGN(nlh->nlmsg_len);
	feed(m, 0);
	/* Random bytes. */
	for (int r = 0; r < 2000; r++) {
		size_t n = xr() % 512;

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)xr();
		nlh = (void *)buf;
		if (n >= sizeof(*nlh)) {
			nlh->nlmsg_type = RTM_NEWLINK + xr() % 12;
			nlh->nlmsg_len = n;
		}
		nlmon__feed(m, buf, n, 0);
	}
	ASSERT_TRUE(collect(m, 0).routes < 1000, "still running after malformed input");
	nlmon__free(m);
}

int main(void)
{
	RUN(test_nltab_matches_reference_model);
	RUN(test_nltab_sweep_visits_each_once);
	RUN(test_nlmon_multipath_and_replace);
	RUN(test_nlmon_table_all_and_nexthop_objects);
	RUN(test_nlmon_bursts);
	RUN(test_nlmon_dump_reconciles);
	RUN(test_nlmon_link_state_and_linkdown);
	RUN(test_nlmon_malformed_messages_are_skipped);
	return harness_exit();
}
