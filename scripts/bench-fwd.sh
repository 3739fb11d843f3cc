#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Forwarded packets/s through a router namespace with presage's XDP + tc
# programs against empty programs attached the same way, and against floor
# programs that only look each flow up in an LRU hash, 1,000 TCP flows.
# Target (not a gate): >= 0.97x. Builds its own namespaces and removes them.
#
#   gen (g0 10.0.0.1) --veth-- (r-in) router (r-out) --veth-- (s0) sink
#
# The generator's TCP segments go 10.0.0.1 -> 192.0.2.1 (a documentation
# prefix routed to the sink inside these namespaces only); the sink has no
# such address and does not forward, so it drops them without answering.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TAG=pfwd$$
G=$TAG-g R=$TAG-r S=$TAG-s
cleanup() { for ns in $G $R $S; do ip netns del "$ns" 2>/dev/null; done; }
trap cleanup EXIT
set -e
for ns in $G $R $S; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add g0 netns $G type veth peer name r-in netns $R
ip link add r-out netns $R type veth peer name s0 netns $S
ip -n $G addr add 10.0.0.1/24 dev g0
ip -n $R addr add 10.0.0.254/24 dev r-in
ip -n $R addr add 10.0.1.1/24 dev r-out
ip -n $S addr add 10.0.1.2/24 dev s0
for l in $G:g0 $R:r-in $R:r-out $S:s0; do ip -n "${l%%:*}" link set "${l#*:}" up; done
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
ip -n $R route add 192.0.2.0/24 via 10.0.1.2
# No ARP on the measured path.
ip -n $R neigh replace 10.0.1.2 lladdr "$(ip -n $S -br link show s0 | awk '{print $3}')" dev r-out nud permanent
mac_in=$(ip -n $R -br link show r-in | awk '{print $3}')
mac_g=$(ip -n $G -br link show g0 | awk '{print $3}')
set +e
"$BUILD/bench/bench-fwd" --gen-ns $G --router-ns $R --gen-if g0 --in r-in --out r-out \
	--dst-mac "$mac_in" --src-mac "$mac_g" --flows 1000 "$@"
