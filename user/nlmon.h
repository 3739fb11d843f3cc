/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nlmon: link state and BGP routes of every interconnect, from rtnetlink
 * (libmnl, NETLINK_ROUTE), on a thread of its own.
 *
 * Link state. RTM_NEWLINK/DELLINK keep ifindex <-> name current (an
 * interconnect may appear later or be recreated with a new ifindex) and give
 * carrier (IFLA_CARRIER), operstate (IFLA_OPERSTATE) and IFF_UP. A link is
 * "up" when it is administratively up, has carrier and its operstate is up
 * (or unknown, as for drivers that never set it). Each change of that verdict
 * raises "link-up"/"link-down" with ts_ms = CLOCK_REALTIME when the message
 * was read; every change of carrier, operstate or IFF_UP counts in
 * link_changes.
 *
 * Routes. Counted: unicast routes whose rtm_protocol is one of the config's
 * route-protocols, in the config's route-table (RTA_TABLE overrides
 * rtm_table; "all" takes every table), IPv4 and IPv6, not cache clones. A
 * route is keyed by (family, table, prefix, length, priority, tos) and maps
 * to the set of interconnects its live next hops leave by: RTA_OIF, every
 * rtnexthop of RTA_MULTIPATH, or the nexthop object named by RTA_NH_ID
 * (RTM_GETNEXTHOP dump and RTNLGRP_NEXTHOP events; a group is resolved to
 * its members). A next hop flagged dead or linkdown does not count (the
 * kernel keeps such IPv4 routes after a carrier loss, but they carry no
 * traffic). A route counts once on each interconnect it uses; routes via
 * other interfaces are not stored. Every RTM_NEWROUTE is the full state of
 * its key (the kernel sends multipath routes whole, also on NLM_F_APPEND),
 * so a message that moves a route from X to Y is a withdrawal on X and an
 * announcement on Y, and replaying a message twice changes nothing.
 *
 * Dumps and resync. At start: RTM_GETLINK, RTM_GETNEXTHOP, RTM_GETROUTE
 * (both families) on a dump socket, while the event socket (RTMGRP_LINK,
 * RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE, RTNLGRP_NEXTHOP) already queues
 * changes. The first dump's routes are the baseline, not announcements.
 * The event socket's receive buffer is 32 MiB (SO_RCVBUFFORCE, else
 * SO_RCVBUF). Multicast notifications carry no sequence numbers, so the
 * kernel's only loss signal is ENOBUFS on the event socket; an interrupted
 * dump (NLM_F_DUMP_INTR: the table changed during it) is the other lost
 * sequence. Either way nlmon discards what is queued on the event socket and
 * dumps again: routes missing from the new dump are withdrawals, new ones
 * announcements, moved ones both, and afterwards the counts are the
 * kernel's; a "netlink-resync" event says what was reconciled.
 *
 * Silent flushes. The kernel removes IPv4 routes of an interface that goes
 * down, and flags the next hops of one that loses carrier, without a
 * RTM_DELROUTE; a nexthop object's deletion takes its routes with it the same
 * way. So any state change of an interconnect (and any nexthop change)
 * schedules a route re-dump 50 ms later (coalescing flaps, and after the
 * kernel's notifier chain has finished), reconciled as above but without an
 * event. At a million routes such a dump costs about a second of this
 * thread's CPU time.
 *
 * Withdrawal bursts. A burst is a run of withdrawals on one interconnect in
 * which each follows the previous one by less than the config's
 * burst-window. withdraw_burst_max is the largest burst that ran or ended in
 * the tick (a burst that spans ticks shows its size so far in each); a burst
 * of at least burst-event withdrawals raises "withdrawal-burst" when it ends
 * (burst-window after its last withdrawal), detail "N routes in D ms".
 *
 * Test knob: the environment variable PRESAGE_NL_RCVBUF (bytes, at least
 * 1024) replaces the 32 MiB receive buffer, so a test can force ENOBUFS with
 * a burst of route changes.
 */
#ifndef PRESAGE_NLMON_H
#define PRESAGE_NLMON_H

#include <stdint.h>

#include "config.h"
#include "health.h"

struct nlmon;

/*
 * Called on nlmon's thread for each event; must be cheap and must not call
 * back into nlmon. @link_idx is the config's interconnect index, or -1 for an
 * event of the whole monitor ("netlink-resync"). Kinds: "link-up",
 * "link-down", "withdrawal-burst", "netlink-resync".
 */
typedef void (*nlmon_event_fn)(void *ctx, uint64_t ts_ms, const char *kind, int link_idx,
			       const char *detail);

/*
 * Open the sockets, dump links, nexthops and routes, and start the thread.
 * Call after entering the agent's network namespace. @cfg must outlive the
 * monitor. NULL with a message logged on a real error (no netlink, no
 * memory, no thread).
 */
struct nlmon *nlmon_start(const struct ihm_config *cfg, nlmon_event_fn fn, void *ctx);

/*
 * Fill @s's link-state and route fields for interconnect @link_idx for the
 * tick just ended, and reset that link's per-tick counters. Thread-safe.
 */
void nlmon_collect(struct nlmon *m, int link_idx, struct health_sample *s);

/* Stop the thread and free everything; NULL is fine. */
void nlmon_stop(struct nlmon *m);

/*
 * For unit tests: a monitor without sockets or thread, fed netlink messages
 * by hand (nlmon__feed), with the event callback run inline. @now_ms is the
 * monotonic time the messages are taken to arrive at (bursts).
 */
struct nlmon *nlmon__new(const struct ihm_config *cfg, nlmon_event_fn fn, void *ctx);
void nlmon__feed(struct nlmon *m, const void *buf, size_t len, uint64_t now_ms);
/* Mark the start and the end of a (re)dump fed by hand: routes not seen
 * between them are withdrawn at the end. */
void nlmon__dump_begin(struct nlmon *m);
void nlmon__dump_end(struct nlmon *m, uint64_t now_ms);
/* End the bursts idle since before @now_ms (the thread does it on a timer). */
void nlmon__tick_bursts(struct nlmon *m, uint64_t now_ms);
void nlmon__free(struct nlmon *m);

#endif
