/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Active ICMP echo probes, per interconnect, out of that interconnect.
 *
 * Every target named by a link's `probe ADDR` lines is sent one ICMP (or
 * ICMPv6) echo request every `probe-interval`, leaving by the link's own
 * interface whatever the routing table prefers. The agent's tick asks for the
 * counts with prober_collect(); one thread does all the I/O.
 *
 * Sockets. Raw ICMP sockets, not ICMP datagram ("ping") sockets: the agent
 * runs as root (it loads BPF), and ping sockets depend on
 * net.ipv4.ping_group_range, which is "1 0" (no one, root included) in every
 * new network namespace, so they fail with EACCES exactly where POP routers
 * put interconnects (VRFs, namespaces). Raw sockets see every echo reply in
 * the namespace, so replies are demultiplexed here: ICMP identifier (random,
 * per process), then a payload holding a random 64-bit per-process cookie,
 * the link and target index and a 32-bit sequence number, and the reply's
 * source must be the target. Anything else is ignored (counted as foreign).
 *
 * Out of the interconnect. Each (link, family) has a send socket bound with
 * SO_BINDTOIFINDEX to the link's interface; the route lookup is then limited
 * to routes through it. Replies are read from one unbound receive socket per
 * family (the send sockets filter every ICMP type out), so a reply that comes
 * back by another interface still counts: the question is "does the target
 * answer a probe sent over this interconnect".
 *
 * Kernel time stamps. Send sockets ask for SOF_TIMESTAMPING_TX_SCHED with
 * OPT_ID and OPT_TSONLY: the time stamp is taken as the request enters the
 * interface's qdisc, so the RTT includes the router's own egress queue, the
 * way ping from a host behind the router sees it (TX_SOFTWARE would be taken
 * after the qdisc and miss a bottleneck's queueing). Receive sockets take
 * software RX time stamps. RTT = rx - tx, both kernel clocks. Where the
 * kernel gives none (no RX time stamp, or the TX one is missing or does not
 * fit the send), the user-space clock read just before sendmsg() or just
 * after recvmsg() is used instead and counted (summary logged on stop).
 * OPT_ID keys are a per-socket counter; a send error re-opens the socket so
 * the counter restarts at 0 in step with ours.
 *
 * Deadline. A probe is settled once: a reply whose rx - tx is within
 * probe-timeout, read before the deadline (send + probe-timeout, monotonic),
 * is a reply with an RTT sample; otherwise the probe is lost, counted in the
 * tick in which its deadline passes. A reply after that is "late": logged at
 * debug, counted in the stop summary, never a sample. A probe still in
 * flight when a tick ends is in neither count yet. So in one tick
 * lost + replies need not equal sent.
 *
 * Interface missing or down. A probe that cannot be sent (interface gone,
 * down, no route through it) counts as sent, and as lost when its deadline
 * passes: the question is whether the target is reachable over this
 * interconnect. The sending schedule does not change, so nothing spins. The
 * interface is looked up by name before every send; when it returns, maybe
 * with a new ifindex, the socket is rebound and probing resumes. The first
 * failure and the recovery are logged once each.
 *
 * Rate. One probe per target per probe-interval, exact in the long run: the
 * nominal schedule advances by the interval, each send is at nominal plus a
 * random 0-10 % of the interval, and targets start at evenly spread phases,
 * so targets are not probed in lockstep. If the thread is held up (a busy
 * machine), up to PROBE_CATCH_UP (4) missed probes per target go out at once
 * so the rate stays exact; older ones are skipped (counted), never a burst.
 *
 * Per tick: sent, replies, lost, loss = lost / (lost + replies) (NaN when
 * nothing settled), RTT min, mean, p90 (nearest rank over the exact
 * samples), max (NaN without samples).
 */
#ifndef PRESAGE_PROBE_H
#define PRESAGE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "health.h"

struct prober;

/*
 * Open the sockets and start the probing thread, in the calling thread's
 * network namespace (call after netns_enter). Links without targets cost
 * nothing; with no target at all, no thread is started. NULL with errno
 * set and the reason logged on a real error (e.g. no CAP_NET_RAW).
 */
struct prober *prober_start(const struct ihm_config *cfg);

/*
 * Fill @s's probe_* fields for link @link_idx (index into cfg->links) with
 * what happened since the previous call for that link, and start a new
 * tick. Thread-safe. A NULL prober or a link without targets leaves
 * probes_configured false.
 */
void prober_collect(struct prober *p, int link_idx, struct health_sample *s);

/* Stop and join the thread, close everything, log the summary. NULL is fine. */
void prober_stop(struct prober *p);

/* ---- Pure helpers, exposed for the unit tests. ---- */

struct probe_rtt_stats {
	double min_ms, avg_ms, p90_ms, max_ms;	/* NaN when n == 0 */
};

/*
 * Summary of @n RTT samples (ms). Sorts @ms in place. p90 is the nearest
 * rank: the ceil(0.9 n)-th smallest sample, so always a measured value.
 */
void probe_rtt_stats(double *ms, size_t n, struct probe_rtt_stats *out);

/* What a probe carries after the ICMP header (network byte order). */
struct probe_payload {
	uint64_t cookie;
	uint16_t link;
	uint16_t target;
	uint32_t seq;
	uint8_t pad[40];	/* 56 bytes of data, like ping's default */
} __attribute__((packed));

struct probe_id {
	uint16_t link, target;
	uint32_t seq;
};

/* Reasons a received datagram is not one of our replies (below the errno range). */
enum {
	PROBE_ERR_SHORT = -4096,	/* truncated IP/ICMP header or payload */
	PROBE_ERR_NOT_REPLY,		/* not an echo reply (type/code) */
	PROBE_ERR_CSUM,			/* IPv4 ICMP checksum wrong */
	PROBE_ERR_FOREIGN,		/* another process's echo (identifier or cookie) */
};

/*
 * Parse one datagram read from a raw socket: @family AF_INET (starts with the
 * IPv4 header) or AF_INET6 (starts with the ICMPv6 header). 0 and @id, or a
 * PROBE_ERR_* code. Never reads outside @buf[0..len).
 */
int probe_parse_reply(int family, const void *buf, size_t len, uint16_t ident, uint64_t cookie,
		      struct probe_id *id);

/* Build an echo request (ICMP header + payload) into @buf; returns its length. */
size_t probe_build_request(int family, void *buf, size_t buflen, uint16_t ident, uint64_t cookie,
			   const struct probe_id *id);

#endif
