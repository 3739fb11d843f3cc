#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: a router namespace between a client and a server, the IHM
# agent on the router's interconnect, live traffic, and a short scripted
# degradation (a TBF bottleneck, then 3 % loss) so the health table moves.
# Everything is torn down at the end, also on Ctrl-C.
# DEMO_SECONDS (default 8) is the length of each phase.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
TAG=demo$$
source tests/lib/topo.sh
PHASE=${DEMO_SECONDS:-8}
L=tests/lib

echo "== presage demo: client -- router [interconnect transit-a: r-ic0] -- server"
topo_up || { echo "demo: cannot build the lab namespaces" >&2; exit 1; }
sed -i 's/^tick .*/tick 1s/' "$TMP/ihmd.conf"
"$BUILD/ihmd" -c "$TMP/ihmd.conf" --netns "$NS_R" 2>"$TMP/agent.log" &
PIDS+=($!)
sleep 1
grep -q "started:" "$TMP/agent.log" || { cat "$TMP/agent.log"; exit 1; }
ip netns exec "$NS_S" python3 $L/tcpload.py sink 5201 & PIDS+=($!)
sleep 0.3
phase() { echo; echo "== $*"; }
phase "healthy: bulk TCP upload through the interconnect"
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 "$PHASE" >/dev/null
phase "congestion: a 20 Mbit/s TBF bottleneck on r-ic0, queueing delay builds"
ip netns exec "$NS_R" tc qdisc add dev r-ic0 root tbf rate 20mbit burst 16kb latency 50ms
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 "$PHASE" >/dev/null
ip netns exec "$NS_R" tc qdisc del dev r-ic0 root
phase "loss: 3 % of data segments dropped after r-ic0 (tc BPF dropper)"
"$BUILD/presage-dropper" --netns "$NS_R" attach r-ic0 3 --tcp-data
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 "$PHASE" >/dev/null
"$BUILD/presage-dropper" --netns "$NS_R" detach r-ic0
sleep 1.5
phase "the maps stay inspectable with bpftool:"
bpftool map dump pinned "$PIN_DIR/link_info" | head -12
echo
echo "== done; tearing the lab down"
