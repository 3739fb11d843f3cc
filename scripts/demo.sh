#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: the built-in POP lab (scripts/lab: a POP router with two
# interconnects to two BGP upstreams running BIRD, a content server, clients
# fetching content) with the IHM agent on the POP, and a short scripted
# degradation so the health table moves: congestion on transit-b, loss on
# transit-a, a withdrawal burst at upstream-a, transit-b's carrier lost and
# restored. Everything is torn down at the end, also on Ctrl-C.
# DEMO_SECONDS (default 6) is the length of each phase.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export LAB_PREFIX=${LAB_PREFIX:-demo} LAB_DIR=${LAB_DIR:-/run/presage-demo}
PHASE=${DEMO_SECONDS:-6}
LABCMD=scripts/lab
TAILPID=

finish() {
	[ -n "$TAILPID" ] && kill "$TAILPID" 2>/dev/null
	echo; echo "== tearing the lab down"
	$LABCMD down
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "== presage demo: clients -- upstream-a/b (BGP, BIRD) == transit-a/b == POP router (ihmd) -- content server"
$LABCMD up || exit 1
phase() { echo; echo "== $*"; }
# The agent's table, live, beside the script's commentary.
tail -n 0 -f "$LAB_DIR/agent.out" &
TAILPID=$!
phase "healthy: clients fetch content over both interconnects"
sleep "$PHASE"
phase "congestion: transit-b becomes a 8 Mbit/s bottleneck; queueing delay builds (RTT p90/p99 up)"
$LABCMD degrade transit-b rate 8mbit
sleep "$PHASE"
phase "loss: 3 % of the POP's packets out of transit-a are dropped (retransmissions up)"
$LABCMD degrade transit-a loss 3
sleep "$PHASE"
phase "route withdrawal burst: upstream-a withdraws 120 of its 200 prefixes"
$LABCMD degrade transit-a withdraw 120
sleep "$PHASE"
phase "failure: transit-b's carrier is lost"
$LABCMD degrade transit-b down
sleep "$PHASE"
phase "recovery: every degradation cleared"
$LABCMD degrade transit-a clear
$LABCMD degrade transit-b clear
sleep "$PHASE"
kill "$TAILPID" 2>/dev/null; TAILPID=
phase "lab status"
$LABCMD status
phase "the maps stay inspectable with bpftool:"
bpftool map dump pinned "/sys/fs/bpf/presage-$LAB_PREFIX/link_info" | head -14
