// SPDX-License-Identifier: GPL-2.0-only
/* Planner: residency, cost, capacity, lead time; every choice has a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mirror/mirror.h"

static const char topo[] =
	"# POPs\n"
	"pop A region eu free 1T bw 1G\n"
	"pop B region eu free 100M bw 10M storage_cost 0.01\n"
	"pop C region us free 10G bw 100M storage_cost 0.01\n"
	"pop D region eu free 10G bw 100M\n"
	"link A B cost 0.01\n"
	"link A C cost 0.02\n"
	"host eu.test regions eu\n"
	"host any.test regions eu,us\n";

static struct mirror_plan_item items[] = {
	{ .path = "eu.test/hot", .size = 50000000, .rate = 100 },
	{ .path = "any.test/a", .size = 10000000, .rate = 50 },
	{ .path = "any.test/b", .size = 60000000, .rate = 10 },
	{ .path = "other.test/x", .size = 1000, .rate = 500 },
};

static void test_topology_parse(void)
{
	struct mirror_topology t;

	ASSERT_EQ(mirror_topology__parse(&t, topo, strlen(topo)), 0, "parse");
	ASSERT_EQ(t.npops, 4, "pops");
	ASSERT_EQ(t.pops[1].free_bytes, 100000000, "free");
	ASSERT_EQ(mirror_residency_check(&t, "eu.test", "eu"), 0, "eu ok");
	ASSERT_EQ(mirror_residency_check(&t, "eu.test", "us"), -MIRROR_ERESIDENCY, "us refused");
	ASSERT_EQ(mirror_residency_check(&t, "unknown.test", "eu"), -MIRROR_ERESIDENCY,
		  "unlisted host refused");
	mirror_topology__free(&t);
	ASSERT_EQ(mirror_topology__parse(&t, "pop X\n", 6), -MIRROR_ECONFIG, "pop without region");
	ASSERT_EQ(mirror_topology__parse(&t, "bogus line\n", 11), -MIRROR_ECONFIG, "unknown");
}

static const struct mirror_plan_item *find(const struct mirror_plan *p, const char *path)
{
	for (size_t i = 0; i < p->nitems; i++)
		if (!strcmp(p->items[i].path, path))
			return &p->items[i];
	return NULL;
}

static void test_plan_choices(void)
{
	struct mirror_topology t;
	struct mirror_plan p;
	struct mirror_plan_req req = { .at_risk = "A", .lead_s = 100 };

	mirror_topology__parse(&t, topo, strlen(topo));
	ASSERT_EQ(mirror_plan__make(&p, &t, &req, items, 4), 0, "plan");
	/* B: 100 MB disk, 10 MB/s * 100 s = 1 GB: eu.test/hot + any.test/a = 150 req/s.
	 * C: us, so eu.test is refused; any.test/a + b = 60 req/s. D: no link. */
	ASSERT_STREQ(p.destination, "B", "destination");
	ASSERT_NEAR(p.rate, 150, 0.001, "rate covered");
	ASSERT_TRUE(find(&p, "eu.test/hot")->chosen, "hot chosen");
	ASSERT_TRUE(!find(&p, "any.test/b")->chosen, "b does not fit the disk");
	ASSERT_TRUE(strstr(find(&p, "any.test/b")->why, "free disk") != NULL, "why disk");
	ASSERT_TRUE(strstr(find(&p, "other.test/x")->why, "residency") != NULL, "unlisted host");
	for (size_t i = 0; i < p.ncands; i++)
		if (!strcmp(p.cands[i].pop, "D"))
			ASSERT_TRUE(strstr(p.cands[i].why, "no link") != NULL, "D has no link");
	mirror_plan__free(&p);

	/* Short lead time: the set shrinks to what B can move in 2 s (20 MB). */
	req.lead_s = 2;
	ASSERT_EQ(mirror_plan__make(&p, &t, &req, items, 4), 0, "plan short");
	ASSERT_TRUE(p.eta_s <= 2.0, "eta fits lead time");
	ASSERT_TRUE(strstr(find(&p, "eu.test/hot")->why, "lead time") != NULL ||
			    strcmp(p.destination, "B"),
		    "hot skipped for time at B");
	mirror_plan__free(&p);

	/* Cost budget: nothing fits a zero-ish budget at a paid link. */
	req.lead_s = 100;
	req.budget_cost = 0.0000001;
	ASSERT_EQ(mirror_plan__make(&p, &t, &req, items, 4), 0, "plan cost");
	ASSERT_STREQ(p.destination, "", "no destination within budget");
	mirror_plan__free(&p);
	mirror_topology__free(&t);
}

int main(void)
{
	RUN(test_topology_parse);
	RUN(test_plan_choices);
	return harness_exit();
}
