#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole mission on the three-POP lab (scripts/lab3), end to end:
#   healthy traffic; POP A's transit degrades gradually and for real (a
#   shrinking TBF bottleneck under load, rising loss, route withdrawals);
#   the controller's prediction rises; A's hot content is staged at B and
#   verified; DNS steers A's hostnames to B with the mirroring flag; A's
#   link is cut: failover; A recovers, re-syncs and takes its hostnames back.
#
# `make demo` runs it with a live timeline and an HTML report; tests/t-e2e.sh
# runs it and checks the outcome (scripts/scenario-check.py), once as is and
# once with the controller killed (kill -9) at random points and restarted.
#
# Usage: scripts/scenario.sh [--kill9 N] [--report FILE] [--keep] [--quiet]
# Writes $LAB3_DIR/scenario.json (the times of each phase); the controller's
# database, the clients' log and BIND's log stay in $LAB3_DIR until `down`
# (or are copied to $SCENARIO_OUT when set).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
export LAB3_PREFIX=${LAB3_PREFIX:-demo3}
export LAB3_DIR=${LAB3_DIR:-/run/presage-lab3-$LAB3_PREFIX}
D=$LAB3_DIR
LAB=scripts/lab3
CLI=$BUILD/presage
export PRESAGE_SOCKET=$D/cmmd.sock
KILL9=0 REPORT= KEEP=0 QUIET=0
STEP=${SCENARIO_STEP:-6}	# seconds between degradation steps
WARM=${SCENARIO_WARM:-20}	# healthy seconds before the degradation
HOLD=${SCENARIO_HOLD:-10}	# seconds failed over before A recovers

while [ $# -gt 0 ]; do
	case "$1" in
	--kill9) KILL9=$2; shift ;;
	--report) REPORT=$2; shift ;;
	--keep) KEEP=1 ;;
	--quiet) QUIET=1 ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "scenario: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

A=popA B=popB
A_HOSTS="www.cdn.test img.cdn.test"
A_ADDR=198.18.1.80
FOLLOW= KILLER=
T0=$(date +%s.%N)

say() { [ "$QUIET" = 1 ] || printf '%s  == %s\n' "$(date +%T)" "$*"; }
die() { echo "scenario: $*" >&2; exit 1; }
now() { date +%s.%N; }
# mark NAME: the time of a phase, for the checks and the report.
mark() { printf '%s %s\n' "$1" "$(now)" >>"$D/scenario.marks"; }

# state HOST: the hostname's state in the controller (empty if unknown).
state() {
	"$CLI" -j status 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(next((h["state"] for h in d.get("hostnames", []) if h["name"] == sys.argv[1]), ""))' "$1" 2>/dev/null
}
# wait_state TIMEOUT STATE HOST...: every HOST in STATE (one of a|b|c).
wait_state() {
	local t=$1 want=$2 h ok; shift 2
	for _ in $(seq 0 $((t * 4))); do
		ok=1
		for h in "$@"; do [[ "|$want|" == *"|$(state "$h")|"* ]] || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.25
	done
	return 1
}
# answer HOST: what the authoritative server answers now (from the controller's namespace).
answer() { ip netns exec "$LAB3_PREFIX-ctl" dig +short +norec +time=1 +tries=1 @10.77.0.53 "$1" A | sort | tr '\n' ' '; }

finish() {
	local rc=$?
	[ -n "$KILLER" ] && kill "$KILLER" 2>/dev/null
	[ -n "$FOLLOW" ] && kill "$FOLLOW" 2>/dev/null
	wait 2>/dev/null
	if [ -n "${SCENARIO_OUT:-}" ] && [ -d "$D" ]; then
		mkdir -p "$SCENARIO_OUT"
		cp -f "$D/scenario.marks" "$D/clients.jsonl" "$D/log/named.log" "$D/log/cmmd.log" \
			"$D/cmmd.conf" "$D/notprimary.during" "$SCENARIO_OUT/" 2>/dev/null
		[ -f "$D/cmmd/cmmd.db" ] && sqlite3 "$D/cmmd/cmmd.db" ".backup '$SCENARIO_OUT/cmmd.db'" 2>/dev/null
	fi
	if [ "$KEEP" = 1 ]; then
		echo "scenario: the lab stays up (scripts/lab3 down removes it; LAB3_PREFIX=$LAB3_PREFIX)"
	else
		say "tearing the lab down"
		$LAB down >/dev/null 2>&1
	fi
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

say "lab up: 3 POPs (BIRD, ihmd, nginx, presage-mirrord), the Internet (BIRD), BIND, clients, controller"
$LAB down >/dev/null 2>&1
$LAB up >"$D.up.log" 2>&1 || { cat "$D.up.log" >&2; die "the lab did not come up"; }
: >"$D/scenario.marks"
mark up
for _ in $(seq 1 100); do [ -S "$PRESAGE_SOCKET" ] && "$CLI" status >/dev/null 2>&1 && break; sleep 0.2; done
"$CLI" status >/dev/null 2>&1 || die "the controller does not answer on $PRESAGE_SOCKET"

# The controller's decisions as they happen.
if [ "$QUIET" = 0 ]; then
	"$CLI" events --follow &
	FOLLOW=$!
fi

# kill -9 the controller N times at random points of the scenario, restart it at once.
if [ "$KILL9" -gt 0 ]; then
	(
		for _ in $(seq 1 "$KILL9"); do
			sleep "$((WARM + RANDOM % (STEP * 8)))"
			echo "$(date +%T)  == kill -9 the controller" >&2
			printf 'kill9 %s\n' "$(now)" >>"$D/scenario.marks"
			$LAB cmmd kill >/dev/null 2>&1
			sleep 0.5
			$LAB cmmd start >/dev/null 2>&1 || $LAB cmmd start >/dev/null 2>&1
		done
	) &
	KILLER=$!
fi

say "healthy: clients resolve through BIND and fetch from $A ($A_ADDR), checking every body's SHA-256"
sleep "$WARM"
mark degrade
say "degrading $A's transit for real, step by step"
# withdraw N withdraws N more of the 200 test prefixes the net announces to A.
steps=("load on" "rate 60" "rate 30" "loss 1" "rate 15" "withdraw 20" "loss 2" "rate 8" "withdraw 20"
	"loss 4" "rate 4" "withdraw 40" "loss 8" "withdraw 40")
staged=0
for s in "${steps[@]}"; do
	say "  $A transit: $s"
	# shellcheck disable=SC2086
	$LAB degrade popa $s >/dev/null || die "degrade popa $s failed"
	for _ in $(seq 1 $((STEP * 2))); do
		if wait_state 0 STAGED $A_HOSTS 2>/dev/null; then staged=1; break 2; fi
		sleep 0.5
	done
done
[ $staged = 1 ] || wait_state 60 STAGED $A_HOSTS || die "the hostnames were not staged at $B in time (states: $(for h in $A_HOSTS; do printf '%s=%s ' "$h" "$(state "$h")"; done))"
mark staged
say "staged: $A_HOSTS verified at $B; DNS answers: $(for h in $A_HOSTS; do printf '%s -> %s ' "$h" "$(answer "$h")"; done)"
sleep 3
mark cut
say "$A's transit is cut"
$LAB degrade popa cut >/dev/null
wait_state 20 FAILED_OVER $A_HOSTS || die "no failover after the cut"
mark failed_over
ls "$D/popa/store/.presage/notprimary/" >"$D/notprimary.during" 2>/dev/null
say "failed over: $A marked not primary for: $(tr '\n' ' ' <"$D/notprimary.during")"
sleep "$HOLD"
mark restore
say "$A recovers (every degradation undone); waiting for the healthy dwell and the re-sync"
$LAB degrade popa restore >/dev/null
wait_state 120 NORMAL $A_HOSTS || die "failback did not complete (states: $(for h in $A_HOSTS; do printf '%s=%s ' "$h" "$(state "$h")"; done))"
mark normal
say "back to normal: $(for h in $A_HOSTS; do printf '%s -> %s ' "$h" "$(answer "$h")"; done)"
sleep 4
mark end
$LAB clients stop >/dev/null 2>&1
if [ "$KILL9" -gt 0 ]; then kill "$KILLER" 2>/dev/null; wait "$KILLER" 2>/dev/null; KILLER=; fi
[ -n "$FOLLOW" ] && { kill "$FOLLOW" 2>/dev/null; FOLLOW=; }
say "clients: $($LAB clients stats 2>/dev/null | tail -n 1)"
if [ -n "$REPORT" ]; then
	python3 scripts/report.py --db "$D/cmmd/cmmd.db" --clients "$D/clients.jsonl" -o "$REPORT" &&
		say "report: $REPORT"
fi
say "done in $(python3 -c "print(round($(now) - $T0))") s"
