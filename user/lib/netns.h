/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PRESAGE_NETNS_H
#define PRESAGE_NETNS_H

/*
 * Enter network namespace @name (/var/run/netns/NAME, as `ip netns add`
 * makes) with setns(). Unlike `ip netns exec`, the mount namespace stays, so
 * the host's bpffs and its pins remain visible. 0 or a negative errno, with
 * the reason logged.
 */
int netns_enter(const char *name);

#endif
