#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# cmmd against a broken agent: tests/lib/healthserver.py on loopback stands
# in for ihmd and answers what a broken or hostile agent could (a document of the
# wrong schema, truncated JSON, HTTP 500, events that are not JSON). Each
# must show as a precise error in /v1/status or the log, the POP "unknown"
# (never acted on), and cmmd must keep running.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/t-cmm-badagent.XXXXXX)
PORT=19190
SOCK=$T/cmmd.sock
FAILED=0
PIDS=()
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
cleanup() {
	[ "$FAILED" != 0 ] && [ -s "$T/cmmd.log" ] && tail -n 20 "$T/cmmd.log" | sed 's/^/#   /'
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
for c in python3 curl; do command -v $c >/dev/null || { echo "SKIP: $c missing"; exit 77; }; done
[ -x "$BUILD/cmmd" ] || { echo "FAIL: build cmmd first"; exit 1; }

# The stand-in agent (tests/lib/healthserver.py): what it answers is in
# $T/modes/health and $T/modes/events ("ok", "schema", "truncated", "500",
# "garbage").
mkdir -p "$T/modes"
echo ok >"$T/modes/health"
echo garbage >"$T/modes/events"
echo '{"transit": {"rtt_p90_ms": 10, "probe_loss": 0, "routes": 1000, "rx_bps": 1e6, "tx_bps": 1e6}}' >"$T/values.json"
python3 tests/lib/healthserver.py $PORT "$T/values.json" "$T/modes" >"$T/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/health" && break; sleep 0.1; done
cat >"$T/cmmd.conf" <<EOF
state-dir $T/state
control $SOCK
poll-interval 300ms
stale-after 2s
pop pa {
	agent 127.0.0.1:$PORT
	address 192.0.2.1
}
EOF
"$BUILD/cmmd" -c "$T/cmmd.conf" -v >"$T/cmmd.log" 2>&1 &
CMMD_PID=$!
PIDS+=($CMMD_PID)
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
api() { curl -s --max-time 5 --unix-socket "$SOCK" "http://cmmd$1"; }
# wait_for SECONDS PYTHON-CONDITION on /v1/status's pops[0] as p
wait_for() {
	local deadline=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		api /v1/status | python3 -c "import json,sys; p=json.load(sys.stdin)['pops'][0]; sys.exit(0 if ($2) else 1)" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
status() { api /v1/status | python3 -c "import json,sys; p=json.load(sys.stdin)['pops'][0]; print(p['state'], p['agent'])" 2>&1; }

if wait_for 10 "p['state'] == 'ok'"; then
	pass "a well-formed health document: POP ok"
else
	fail "never ok: $(status)"
fi
for _ in $(seq 1 50); do grep -q "events pa:" "$T/cmmd.log" && break; sleep 0.1; done
grep -q "events pa: not JSON: .*link events wait for the next poll" "$T/cmmd.log" &&
	pass "events that are not JSON: a warning naming the POP and the cause" ||
	fail "no events warning: $(grep 'events pa' "$T/cmmd.log")"
[ "$(status | cut -d' ' -f1)" = ok ] && pass "bad events do not make the POP unknown (health polls still work)" ||
	fail "POP with bad events: $(status)"
echo ok >"$T/modes/events"
for _ in $(seq 1 150); do grep -q "events pa: the agent's events read again" "$T/cmmd.log" && break; sleep 0.1; done
grep -q "events pa: the agent's events read again" "$T/cmmd.log" &&
	pass "events well-formed again: the watcher says so (after its back-off)" || fail "watcher did not recover"
# healthserver.py answers an events poll at once (it holds no ?wait=): asked
# about once a second then, not in a loop (one answer takes a millisecond)
n0=$(grep -c '^/v1/events$' "$T/modes/requests")
sleep 3
n1=$(grep -c '^/v1/events$' "$T/modes/requests")
[ $((n1 - n0)) -le 6 ] && pass "an agent that does not hold long polls is asked about once a second ($((n1 - n0)) in 3 s)" ||
	fail "events asked $((n1 - n0)) times in 3 s"
for m in "schema:not a presage.health/1 document (schema presage.bogus/1)" "truncated:not JSON" "500:HTTP 500"; do
	echo "${m%%:*}" >"$T/modes/health"
	if wait_for 10 "p['state'] == 'unknown' and p['agent']['reachable'] is False and '${m#*:}' in p['agent']['error']"; then
		pass "health answer '${m%%:*}': POP unknown, error '${m#*:}'"
	else
		fail "health answer '${m%%:*}': $(status)"
	fi
	echo ok >"$T/modes/health"
	wait_for 10 "p['state'] == 'ok'" || fail "not ok again after '${m%%:*}': $(status)"
done
api /v1/events | python3 -c "import json,sys; e=json.load(sys.stdin)['events']; assert e == [], e" &&
	pass "nothing decided from a broken agent (journal empty)" || fail "journal: $(api /v1/events)"
kill -TERM "$CMMD_PID"
wait "$CMMD_PID"; rc=$?
[ $rc -eq 0 ] && pass "cmmd ran through it all and stopped on SIGTERM (exit 0)" || fail "cmmd exit $rc"
exit $FAILED
