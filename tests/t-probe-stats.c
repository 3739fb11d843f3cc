// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the probe module's pure parts: the per-tick RTT summary
 * (exact nearest-rank p90, checked against its definition on random arrays)
 * and the echo request/reply codec, including every truncation and the
 * replies that are not ours.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include "harness.h"
#include "pktbuild.h"
#include "user/probe.h"

static void test_probe_rtt_stats_empty(void)
{
	struct probe_rtt_stats st;

	probe_rtt_stats(NULL, 0, &st);
	ASSERT_TRUE(isnan(st.min_ms) && isnan(st.avg_ms) && isnan(st.p90_ms) && isnan(st.max_ms),
		    "no samples: all NaN");
}

static void test_probe_rtt_stats_known(void)
{
	double ten[] = { 7, 3, 10, 1, 9, 2, 8, 4, 6, 5 };
	double one[] = { 4.25 };
	double three[] = { 3, 1, 2 };
	struct probe_rtt_stats st;

	probe_rtt_stats(ten, 10, &st);
	ASSERT_NEAR(st.min_ms, 1, 0, "min of 1..10");
	ASSERT_NEAR(st.max_ms, 10, 0, "max of 1..10");
	ASSERT_NEAR(st.avg_ms, 5.5, 1e-12, "mean of 1..10");
	ASSERT_NEAR(st.p90_ms, 9, 0, "p90 of 1..10 (rank 9)");
	probe_rtt_stats(one, 1, &st);
	ASSERT_NEAR(st.p90_ms, 4.25, 0, "p90 of one sample");
	ASSERT_NEAR(st.min_ms, 4.25, 0, "min of one sample");
	probe_rtt_stats(three, 3, &st);
	ASSERT_NEAR(st.p90_ms, 3, 0, "p90 of 3 samples (rank ceil(2.7) = 3)");
}

/* p90 by definition: the smallest sample v with #{x <= v} >= 0.9 n. */
static double p90_by_definition(const double *v, size_t n)
{
	double best = INFINITY;

	for (size_t i = 0; i < n; i++) {
		size_t le = 0;

		for (size_t j = 0; j < n; j++)
			le += v[j] <= v[i];
		if (10 * le >= 9 * n && v[i] < best)
			best = v[i];
	}
	return best;
}

static void test_probe_rtt_stats_random(void)
{
	double v[300], copy[300];
	struct probe_rtt_stats st;

	srand(12345);
	for (size_t n = 1; n <= 300; n++) {
		double sum = 0, mn = INFINITY, mx = -INFINITY;
		char what[64];

		for (size_t i = 0; i < n; i++) {
			/* Ties on purpose: values from a small set. */
			v[i] = (double)(rand() % 97) / 7.0;
			sum += v[i];
			mn = fmin(mn, v[i]);
			mx = fmax(mx, v[i]);
		}
		memcpy(copy, v, n * sizeof(*v));
		probe_rtt_stats(copy, n, &st);
		snprintf(what, sizeof(what), "p90 of %zu random samples", n);
		if (!ASSERT_NEAR(st.p90_ms, p90_by_definition(v, n), 0, what))
			return;
		snprintf(what, sizeof(what), "min/avg/max of %zu random samples", n);
		if (!ASSERT_TRUE(st.min_ms == mn && st.max_ms == mx &&
				 fabs(st.avg_ms - sum / (double)n) < 1e-9, what))
			return;
	}
}

enum { IDENT = 0xbeef };
static const uint64_t COOKIE = 0x0123456789abcdefULL;

/* An IPv4 echo reply to @id as the raw socket sees it: IP header with
 * @opt_words words of options, then ICMP. Returns the length. */
static size_t make_v4_reply(uint8_t *buf, size_t cap, const struct probe_id *id, int opt_words)
{
	struct iphdr *ip = (struct iphdr *)buf;
	size_t ihl = sizeof(*ip) + 4 * (size_t)opt_words, n;
	struct icmphdr *h = (struct icmphdr *)(buf + ihl);

	memset(buf, 0, ihl);
	ip->version = 4;
	ip->ihl = (unsigned)(ihl / 4);
	ip->protocol = IPPROTO_ICMP;
	memset(buf + sizeof(*ip), 1, ihl - sizeof(*ip));	/* NOPs */
	n = probe_build_request(AF_INET, buf + ihl, cap - ihl, IDENT, COOKIE, id);
	h->type = ICMP_ECHOREPLY;
	h->checksum = 0;
	h->checksum = htons(pb_csum(h, n));
	return ihl + n;
}

static void test_probe_codec_roundtrip(void)
{
	struct probe_id id = { .link = 3, .target = 7, .seq = 0xfffe1234 }, got;
	uint8_t buf[256];
	size_t n;

	for (int opt = 0; opt <= 10; opt += 5) {
		n = make_v4_reply(buf, sizeof(buf), &id, opt);
		memset(&got, 0, sizeof(got));
		ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE, &got), 0,
			  "IPv4 reply parses (with options)");
		ASSERT_TRUE(got.link == 3 && got.target == 7 && got.seq == 0xfffe1234,
			    "IPv4 reply gives back link, target, seq");
	}
	n = probe_build_request(AF_INET6, buf, sizeof(buf), IDENT, COOKIE, &id);
	ASSERT_EQ(buf[0], ICMP6_ECHO_REQUEST, "ICMPv6 request type");
	ASSERT_EQ(n, 8 + sizeof(struct probe_payload), "request length: header + 56 bytes");
	buf[0] = ICMP6_ECHO_REPLY;
	memset(&got, 0, sizeof(got));
	ASSERT_EQ(probe_parse_reply(AF_INET6, buf, n, IDENT, COOKIE, &got), 0, "IPv6 reply parses");
	ASSERT_TRUE(got.link == 3 && got.target == 7 && got.seq == 0xfffe1234,
		    "IPv6 reply gives back link, target, seq");
	n = probe_build_request(AF_INET, buf, sizeof(buf), IDENT, COOKIE, &id);
	ASSERT_EQ(pb_csum(buf, n), 0, "IPv4 request checksum is valid");
	ASSERT_EQ(probe_build_request(AF_INET, buf, 10, IDENT, COOKIE, &id), 0,
		  "request into a too small buffer: 0");
}

static void test_probe_codec_hostile(void)
{
	struct probe_id id = { .link = 1, .target = 2, .seq = 77 }, got;
	uint8_t buf[256], *cut;
	size_t n = make_v4_reply(buf, sizeof(buf), &id, 2), n6;
	struct icmphdr *h = (struct icmphdr *)(buf + 28);

	/* Every truncation, copied to a buffer of exactly that size (ASan sees
	 * any read past it). */
	for (size_t len = 0; len < n; len++) {
		cut = malloc(len ? len : 1);
		memcpy(cut, buf, len);
		if (!ASSERT_TRUE(probe_parse_reply(AF_INET, cut, len, IDENT, COOKIE, &got) < 0,
				 "truncated IPv4 reply is refused")) {
			free(cut);
			return;
		}
		free(cut);
	}
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE ^ 1, &got), PROBE_ERR_FOREIGN,
		  "other cookie");
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT + 1, COOKIE, &got), PROBE_ERR_FOREIGN,
		  "other identifier");
	buf[n - 1] ^= 0xff;
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE, &got), PROBE_ERR_CSUM,
		  "damaged payload: checksum");
	buf[n - 1] ^= 0xff;
	h->type = ICMP_ECHO;
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE, &got), PROBE_ERR_NOT_REPLY,
		  "an echo request is not a reply");
	h->type = ICMP_ECHOREPLY;
	h->un.echo.sequence = htons(78);
	h->checksum = 0;
	h->checksum = htons(pb_csum(h, n - 28));
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE, &got), PROBE_ERR_FOREIGN,
		  "ICMP sequence disagrees with the payload's");
	buf[0] = 0x44;	/* IHL 4 words: shorter than the IPv4 header */
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE, &got), PROBE_ERR_SHORT,
		  "IHL below 5");
	buf[0] = 0x4f;	/* IHL 15 words = 60 bytes, longer than... */
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, 40, IDENT, COOKIE, &got), PROBE_ERR_SHORT,
		  "IHL past the datagram");
	buf[0] = 0x65;
	ASSERT_EQ(probe_parse_reply(AF_INET, buf, n, IDENT, COOKIE, &got), PROBE_ERR_SHORT,
		  "not IPv4");

	n6 = probe_build_request(AF_INET6, buf, sizeof(buf), IDENT, COOKIE, &id);
	buf[0] = ICMP6_ECHO_REPLY;
	for (size_t len = 0; len < n6; len++) {
		cut = malloc(len ? len : 1);
		memcpy(cut, buf, len);
		if (!ASSERT_TRUE(probe_parse_reply(AF_INET6, cut, len, IDENT, COOKIE, &got) < 0,
				 "truncated IPv6 reply is refused")) {
			free(cut);
			return;
		}
		free(cut);
	}
	buf[1] = 1;
	ASSERT_EQ(probe_parse_reply(AF_INET6, buf, n6, IDENT, COOKIE, &got), PROBE_ERR_NOT_REPLY,
		  "ICMPv6 code 1");
}

int main(void)
{
	RUN(test_probe_rtt_stats_empty);
	RUN(test_probe_rtt_stats_known);
	RUN(test_probe_rtt_stats_random);
	RUN(test_probe_codec_roundtrip);
	RUN(test_probe_codec_hostile);
	return harness_exit();
}
