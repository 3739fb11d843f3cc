// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's readers of the agent's documents (user/cmm_poll.c):
 * presage.health/1 and presage.events/1 as ihmd writes them, and the
 * malformed ones a broken or hostile agent could send.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "user/cmm_poll.h"
#include "harness.h"

static struct cmm_events_doc doc;

static int ev(const char *json)
{
	return cmm_events_parse(json, strlen(json), &doc);
}

static void test_events_doc(void)
{
	ASSERT_EQ(ev("{\"schema\": \"presage.events/1\", \"agent\": {\"pop\": \"popA\", \"started_ms\": 1795689228000},"
		     " \"oldest_id\": 1, \"last_id\": 3, \"missed\": false, \"events\": ["
		     "{\"id\": 2, \"ts_ms\": 1795689229001, \"kind\": \"link-down\", \"link\": \"transit\","
		     " \"detail\": \"ic0: carrier off, operstate lowerlayerdown\"},"
		     "{\"id\": 3, \"ts_ms\": 1795689229500, \"kind\": \"netlink-resync\", \"link\": null, \"detail\": \"\"}]}"),
		  0, "a document as ihmd writes it");
	ASSERT_EQ(doc.started_ms, 1795689228000LL, "agent.started_ms");
	ASSERT_EQ(doc.last_id, 3, "last_id");
	ASSERT_EQ(doc.n, 2, "two events");
	ASSERT_STREQ(doc.ev[0].kind, "link-down", "kind");
	ASSERT_STREQ(doc.ev[0].link, "transit", "link");
	ASSERT_EQ(doc.ev[0].ts_ms, 1795689229001LL, "ts_ms");
	ASSERT_STREQ(doc.ev[1].link, "", "null link");
	ASSERT_TRUE(!doc.missed, "not missed");
	ASSERT_EQ(ev("{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 9,"
		     " \"missed\": true, \"events\": []}"),
		  0, "an empty answer (a long poll that timed out)");
	ASSERT_TRUE(doc.missed && doc.n == 0 && doc.last_id == 9, "missed, no events");
}

static void test_events_keep_the_newest(void)
{
	static char big[(CMM_EVENTS_MAX + 10) * 100 + 200];
	size_t n = 0;

	n += (size_t)snprintf(big + n, sizeof(big) - n,
			      "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": %d,"
			      " \"events\": [", CMM_EVENTS_MAX + 10);
	for (int i = 1; i <= CMM_EVENTS_MAX + 10; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
				      "%s{\"id\": %d, \"ts_ms\": %d, \"kind\": \"link-up\", \"link\": \"l%d\"}",
				      i > 1 ? "," : "", i, 1000 + i, i);
	snprintf(big + n, sizeof(big) - n, "]}");
	ASSERT_EQ(ev(big), 0, "more events than kept");
	ASSERT_EQ(doc.n, CMM_EVENTS_MAX, "the newest CMM_EVENTS_MAX kept");
	ASSERT_EQ(doc.ev[0].id, 11, "the oldest ones dropped");
	ASSERT_EQ(doc.ev[CMM_EVENTS_MAX - 1].id, CMM_EVENTS_MAX + 10, "the last one kept");
}

static void test_events_malformed(void)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "", "not JSON: an empty answer" },
		{ "{\"schema\": \"presage.events/1\", \"last_id\": 1",
		  "not JSON: the document ends early, at byte 43" },
		/* Strict parsing: json-c alone would take the next two. */
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 0,"
		  " \"events\": [],}", "not JSON: " },
		{ "{'schema': 'presage.events/1', 'agent': {'started_ms': 5}, 'last_id': 0, 'events': []}",
		  "not JSON: " },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 0,"
		  " \"events\": []} \n{}", "not JSON: trailing data after the document at byte 88" },
		{ "[1, 2]", "not a presage.events/1 document" },
		{ "{\"schema\": \"presage.health/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 0, \"events\": []}",
		  "not a presage.events/1 document (schema presage.health/1)" },
		{ "{\"schema\": \"presage.events/1\", \"last_id\": 0, \"events\": []}", "no agent.started_ms" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": -4, \"events\": []}",
		  "no last_id" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": \"7\", \"events\": []}",
		  "no last_id" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 1, \"events\": {}}",
		  "no \"events\" array" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 1, \"events\": [3]}",
		  "event 0: an object with id, ts_ms and kind expected" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 1,"
		  " \"events\": [{\"id\": 1, \"ts_ms\": 2}]}",
		  "event 0: an object with id, ts_ms and kind expected" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 1,"
		  " \"events\": [{\"id\": 0, \"ts_ms\": 2, \"kind\": \"x\"}]}",
		  "event 0: an object with id, ts_ms and kind expected" },
		{ "{\"schema\": \"presage.events/1\", \"agent\": {\"started_ms\": 5}, \"last_id\": 1,"
		  " \"events\": [{\"id\": 2, \"ts_ms\": 2, \"kind\": \"link-down\"}]}",
		  "event id 2 above last_id 1" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "bad document %zu", i);
		ASSERT_EQ(ev(bad[i].json), -EINVAL, what);
		ASSERT_TRUE(!strncmp(doc.error, bad[i].why, strlen(bad[i].why)), doc.error);
		ASSERT_EQ(doc.n, 0, "no events from a bad document");
	}
}

static void test_health_link_state(void)
{
	static struct cmm_agent_poll p;
	const char *j = "{\"schema\": \"presage.health/1\", \"ts_ms\": 1000, \"links\": ["
			"{\"link\": \"a\", \"ts_ms\": 990, \"link_state\": {\"carrier\": false, \"operstate\": \"up\"}},"
			"{\"link\": \"b\", \"link_state\": {\"operstate\": \"up\"}},"
			"{\"link\": \"c\", \"state\": \"missing\", \"link_state\": {\"carrier\": true}},"
			"{\"link\": \"d\"}, {\"nolink\": 1}]}";

	ASSERT_EQ(cmm_health_parse(j, strlen(j), &p), 0, "health document");
	ASSERT_EQ(p.nic, 4, "four links (the one without a name skipped)");
	ASSERT_EQ(p.ic[0].link_up, 0, "carrier off wins over operstate");
	ASSERT_EQ(p.ic[0].ts_ms, 990, "a link's own ts_ms");
	ASSERT_EQ(p.ic[1].link_up, 1, "operstate up");
	ASSERT_EQ(p.ic[1].ts_ms, 1000, "the document's ts_ms");
	ASSERT_EQ(p.ic[2].link_up, 0, "a missing interface is down");
	ASSERT_EQ(p.ic[3].link_up, -1, "no link state: unknown");
	ASSERT_EQ(cmm_health_parse("{\"schema\": \"presage.health/1\"}", 30, &p), -EINVAL, "no links");
	ASSERT_STREQ(p.error, "no \"links\" array", "why");
}

int main(void)
{
	RUN(test_events_doc);
	RUN(test_events_keep_the_newest);
	RUN(test_events_malformed);
	RUN(test_health_link_state);
	return harness_exit();
}
