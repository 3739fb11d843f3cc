#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/lab: up builds the POP lab (BGP sessions established, the upstreams'
# prefixes in the POP's kernel, agent and traffic running); every degradation
# does what it says on the real namespaces; status -j is JSON; down removes
# everything, also after an up that failed part-way and after processes died.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export LAB_PREFIX=tl$$ LAB_DIR=/tmp/presage-lab-$$ LAB_API_PORT=9471 LAB_TICK=500ms
LABCMD=scripts/lab
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
cleanup() {
	$LABCMD down >/dev/null 2>&1
	ip netns del "$LAB_PREFIX-srv" 2>/dev/null
	rm -rf "$LAB_DIR"
}
trap cleanup EXIT
P=$LAB_PREFIX-pop
routes_via() { ip -n "$P" route show proto bird | grep -c "dev $1"; }
wait_routes() { # IFACE N
	for _ in $(seq 1 100); do [ "$(routes_via "$1")" = "$2" ] && return 0; sleep 0.2; done
	return 1
}

if out=$($LABCMD up 2>&1); then pass "lab up"; else echo "$out"; fail "lab up"; exit 1; fi
wait_routes ic-a 201 && wait_routes ic-b 301 && pass "POP kernel has 200+1 routes via ic-a and 300+1 via ic-b" ||
	fail "routes via ic-a/ic-b: $(routes_via ic-a)/$(routes_via ic-b)"
$LABCMD status >"$LAB_DIR.status" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "bgp_transit_a *Established" "$LAB_DIR.status" && grep -q "bgp_transit_b *Established" "$LAB_DIR.status"; then
	pass "status: everything running, both BGP sessions Established"
else
	cat "$LAB_DIR.status"; fail "status exit $rc"
fi
if $LABCMD status -j | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["up"] and d["ok"] and d["routes_via_ic_a"]==201, d' 2>"$LAB_DIR.err"; then
	pass "status -j is JSON with the route counts"
else
	cat "$LAB_DIR.err"; fail "status -j"
fi
# Live traffic crosses both interconnects.
b1=$(ip netns exec "$P" cat /sys/class/net/ic-a/statistics/tx_bytes /sys/class/net/ic-b/statistics/tx_bytes)
sleep 2
b2=$(ip netns exec "$P" cat /sys/class/net/ic-a/statistics/tx_bytes /sys/class/net/ic-b/statistics/tx_bytes)
if python3 -c "import sys; a=list(map(int,'''$b1'''.split())); b=list(map(int,'''$b2'''.split())); sys.exit(0 if all(y-x > 1000000 for x,y in zip(a,b)) else 1)"; then
	pass "content traffic flows out of both interconnects"
else
	fail "no traffic: $b1 -> $b2"
fi
grep -q "transit-a" "$LAB_DIR/agent.out" && grep -q "transit-b" "$LAB_DIR/agent.out" && pass "agent prints samples of both interconnects" ||
	fail "agent output lacks samples"

$LABCMD degrade transit-a withdraw 50 >/dev/null && wait_routes ic-a 151 && [ "$(routes_via ic-b)" = 301 ] &&
	pass "withdraw 50 at upstream-a: 151 routes via ic-a, ic-b unchanged" || fail "withdraw: $(routes_via ic-a)/$(routes_via ic-b)"
$LABCMD degrade transit-a announce 50 >/dev/null && wait_routes ic-a 201 && pass "announce 50 again: 201 via ic-a" ||
	fail "announce: $(routes_via ic-a)"
$LABCMD degrade transit-a withdraw 500 >/dev/null 2>"$LAB_DIR.err" && fail "withdrawing more than announced accepted" ||
	{ grep -q "announces only 200" "$LAB_DIR.err" && pass "withdraw more than announced: refused with a message" || fail "withdraw 500: $(cat "$LAB_DIR.err")"; }

$LABCMD degrade transit-b loss 10 >/dev/null && "$BUILD/presage-dropper" --netns "$P" show ic-b 2>&1 | grep -q "10" &&
	pass "loss 10 on transit-b: the dropper is attached on ic-b at 10 %" || fail "loss: $("$BUILD/presage-dropper" --netns "$P" show ic-b 2>&1)"
$LABCMD degrade transit-b rate 5mbit >/dev/null && tc -n "$P" qdisc show dev ic-b | grep -q "tbf.*rate 5Mbit" &&
	tc -n "$LAB_PREFIX-ub" qdisc show dev ic-pop | grep -q "tbf.*rate 5Mbit" &&
	pass "rate 5mbit on transit-b: TBF on both ends" || fail "rate: $(tc -n "$P" qdisc show dev ic-b)"
$LABCMD degrade transit-a down >/dev/null && sleep 0.3 && ip -n "$P" link show ic-a | grep -q "NO-CARRIER" &&
	pass "down on transit-a: the POP's ic-a loses carrier" || fail "down: $(ip -n "$P" link show ic-a)"
$LABCMD degrade transit-a clear >/dev/null; $LABCMD degrade transit-b clear >/dev/null
if ! ip -n "$P" link show ic-a | grep -q NO-CARRIER && ! tc -n "$P" qdisc show dev ic-b | grep -q tbf &&
	! "$BUILD/presage-dropper" --netns "$P" show ic-b >/dev/null 2>&1 && wait_routes ic-a 201; then
	pass "clear: carrier back, no TBF, no dropper, BGP re-established with 201 routes"
else
	fail "clear left something: $(routes_via ic-a) routes via ic-a"
fi
$LABCMD degrade transit-z loss 1 >/dev/null 2>"$LAB_DIR.err" && fail "unknown link accepted" ||
	{ grep -q "unknown interconnect 'transit-z'" "$LAB_DIR.err" && pass "unknown link refused with a message" || fail "unknown link: $(cat "$LAB_DIR.err")"; }

# Processes die; down still removes everything.
kill -9 "$(cat "$LAB_DIR/bird-ua.pid")" "$(cat "$LAB_DIR/agent.pid")" 2>/dev/null
sleep 0.3
$LABCMD status >/dev/null 2>&1 && fail "status exit 0 with dead processes" || pass "status fails when processes died"
$LABCMD down >/dev/null
left=$(ip netns list | grep -c "^$LAB_PREFIX-")
if [ "$left" = 0 ] && [ ! -e "$LAB_DIR" ] && [ ! -e "/sys/fs/bpf/presage-$LAB_PREFIX" ] && ! pgrep -f "$LAB_DIR/" >/dev/null; then
	pass "down after kill -9: no namespace, pin dir, state dir or process left"
else
	fail "down left: $left namespaces; $(ls -d "$LAB_DIR" /sys/fs/bpf/presage-$LAB_PREFIX 2>/dev/null); $(pgrep -af "$LAB_DIR/")"
fi
$LABCMD degrade transit-a loss 1 >/dev/null 2>"$LAB_DIR.err" && fail "degrade with the lab down accepted" ||
	{ grep -q "the lab is not up" "$LAB_DIR.err" && pass "degrade with the lab down: refused" || fail "degrade when down: $(cat "$LAB_DIR.err")"; }

# An up that fails part-way (a namespace of the lab's name already exists)
# removes what it made and keeps what it did not make.
ip netns add "$LAB_PREFIX-srv"
if $LABCMD up >/dev/null 2>"$LAB_DIR.err"; then
	fail "up succeeded over an existing namespace"
else
	left=$(ip netns list | grep "^$LAB_PREFIX-" | awk '{print $1}' | tr '\n' ' ')
	if [ "$left" = "$LAB_PREFIX-srv " ] && [ ! -e "$LAB_DIR" ] && grep -q "up failed; removing what was made" "$LAB_DIR.err"; then
		pass "up failing part-way removes what it made, keeps the foreign namespace"
	else
		cat "$LAB_DIR.err"; fail "after failed up: namespaces '$left'"
	fi
fi
rm -f "$LAB_DIR.status" "$LAB_DIR.err"
exit $FAILED
