#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Link state and BGP routes through the real agent (ihmd -j --netns) against
# real BIRD 2 daemons speaking eBGP across two interconnects:
#
#   upstream A (BIRD, AS65001, 100.x/24 pool) --veth a0|pa0-- POP (BIRD AS65000,
#   upstream B (BIRD, AS65002, 101.x/24 pool) --veth b0|pb0--  exports to kernel)
#
# The agent runs in the POP with interconnects ic-a (pa0) and ic-b (pb0).
# Ground truth is `ip -j route` in the POP, read in the same run: routes of
# protocol bird per device, next hops flagged linkdown/dead left out, a
# multipath route counted once per device.
set -u
cd "$(dirname "$0")/.."
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
info() { echo "# $*"; }

for c in bird birdc ip python3; do
	command -v "$c" >/dev/null || { echo "SKIP: t-ihm-netlink: $c is not installed (scripts/deps.sh installs it)"; exit 77; }
done
BUILD=${BUILD:-build}
TAG=nlm$$
NS_P=$TAG-pop NS_A=$TAG-upa NS_B=$TAG-upb
TMP=$(mktemp -d /tmp/presage-nl.XXXXXX)
PIN_DIR=/sys/fs/bpf/presage-test-$TAG
BIRD_DIR=$TMP/bird
source scripts/lib/bird.sh
AGENT_PID=

cleanup() {
	[ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	bird_stop_all
	for ns in "$NS_P" "$NS_A" "$NS_B"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PIN_DIR" "$TMP"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# ---- the lab
for ns in "$NS_P" "$NS_A" "$NS_B"; do
	ip netns add "$ns" || { echo "FAIL: netns $ns"; exit 1; }
	ip -n "$ns" link set lo up
done
ip link add pa0 netns "$NS_P" type veth peer name a0 netns "$NS_A"
ip link add pb0 netns "$NS_P" type veth peer name b0 netns "$NS_B"
ip -n "$NS_P" addr add 10.201.1.1/30 dev pa0
ip -n "$NS_A" addr add 10.201.1.2/30 dev a0
ip -n "$NS_P" addr add 10.201.2.1/30 dev pb0
ip -n "$NS_B" addr add 10.201.2.2/30 dev b0
ip -n "$NS_P" addr add fd01:1::1/64 dev pa0 nodad
ip -n "$NS_A" addr add fd01:1::2/64 dev a0 nodad
ip -n "$NS_P" addr add fd01:2::1/64 dev pb0 nodad
ip -n "$NS_B" addr add fd01:2::2/64 dev b0 nodad
for l in "$NS_P:pa0" "$NS_P:pb0" "$NS_A:a0" "$NS_B:b0"; do ip -n "${l%%:*}" link set "${l#*:}" up; done

NA=200 NB=300
bird_upstream upa "$NS_A" 10.201.1.2 65001 10.201.1.1 65000 100 $NA &&
	bird_upstream upb "$NS_B" 10.201.2.2 65002 10.201.2.1 65000 101 $NB &&
	bird_pop pop "$NS_P" 10.201.1.1 65000 "10.201.1.2 65001" "10.201.2.2 65002" &&
	bird_start upa && bird_start upb && bird_start pop &&
	bird_wait_established pop 2 60 || { echo "FAIL: bird_lab_up"; exit 1; }

# truth DEV: routes of protocol bird (both families) whose live next hops use DEV
truth() {
	{ ip -n "$NS_P" -j -4 route show proto bird; ip -n "$NS_P" -j -6 route show proto bird; } |
		python3 -c '
import json, sys
dev, n = sys.argv[1], 0
for line in sys.stdin:
    for r in json.loads(line):
        hops = r.get("nexthops") or [r]
        live = lambda h: not {"linkdown", "dead"} & set(h.get("flags", []) + r.get("flags", []) * ("nexthops" not in r))
        n += any(h.get("dev") == dev and live(h) for h in hops)
print(n)' "$1"
}
# wait_truth DEV N [TIMEOUT_S]: until the kernel holds N such routes.
wait_truth() {
	for _ in $(seq 1 $((${3:-60} * 10))); do
		[ "$(truth "$1")" -eq "$2" ] && return 0
		sleep 0.1
	done
	info "kernel: $(truth "$1") routes via $1, expected $2"
	return 1
}

cat > "$TMP/ihmd.conf" <<EOC
tick 500ms
pin-dir $PIN_DIR
xdp-mode native
route-protocols bird
burst-window 1s
burst-event 10
interconnect ic-a {
	interface pa0
}
interconnect ic-b {
	interface pb0
}
EOC

agent_start() {
	: >"$TMP/agent.json"
	env "$@" "$BUILD/ihmd" -c "$TMP/ihmd.conf" --netns "$NS_P" -j >>"$TMP/agent.json" 2>>"$TMP/agent.log" &
	AGENT_PID=$!
	for _ in $(seq 1 100); do
		grep -q '"links"' "$TMP/agent.json" 2>/dev/null && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "agent did not start:"; cat "$TMP/agent.log"
	return 1
}
agent_stop() { kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=; }
mark() { wc -l <"$TMP/agent.json"; }

# q CMD ARGS: questions about the agent's output after line FROM.
#   q last LINK FIELD            field of the last sample (routes.count ...)
#   q sum FROM LINK FIELD        sum over samples after FROM
#   q max FROM LINK FIELD
#   q first_ts FROM LINK FIELD VALUE   ts_ms of the first sample with FIELD == VALUE
#   q event FROM KIND LINK       "ts_ms detail" of the first such event
cat > "$TMP/q.py" <<'EOP'
import json, sys
path, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = open(path).read().splitlines()
def get(s, f):
    for k in f.split("."):
        s = s[k] if s is not None else None
    return s
def samples(frm, link):
    for l in lines[frm:]:
        try: d = json.loads(l)
        except ValueError: continue
        for s in d.get("links", []):
            if s["link"] == link: yield s
if cmd == "last":
    print(get(list(samples(0, args[0]))[-1], args[1]))
elif cmd in ("sum", "max"):
    v = [get(s, args[2]) or 0 for s in samples(int(args[0]), args[1])]
    print(sum(v) if cmd == "sum" else max(v + [0]))
elif cmd == "first_ts":
    print(next((s["ts_ms"] for s in samples(int(args[0]), args[1]) if str(get(s, args[2])) == args[3]), ""))
elif cmd == "event":
    for l in lines[int(args[0]):]:
        try: d = json.loads(l)
        except ValueError: continue
        if d.get("schema") == "presage.event/1" and d["kind"] == args[1] and (args[2] == "-" or d["link"] == args[2]):
            print(d["ts_ms"], d["detail"]); break
EOP
q() { python3 "$TMP/q.py" "$TMP/agent.json" "$@"; }
# settle LINK N [TIMEOUT_S]: until the agent's last sample says N routes on LINK.
settle() {
	for _ in $(seq 1 $((${3:-30} * 10))); do
		[ "$(q last "$1" routes.count)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_truth pa0 $NA && wait_truth pb0 $NB || fail "bird_routes_in_kernel"
agent_start || { echo "FAIL: agent_start"; exit 1; }
sleep 1.2
ta=$(truth pa0) tb=$(truth pb0)
ca=$(q last ic-a routes.count) cb=$(q last ic-b routes.count)
info "initial dump: agent ic-a $ca ic-b $cb; kernel pa0 $ta pb0 $tb"
if [ "$ca" = "$ta" ] && [ "$cb" = "$tb" ] && [ "$ta" -eq $NA ] && [ "$tb" -eq $NB ] &&
	[ "$(q sum 0 ic-a routes.announced)" = 0 ]; then
	pass "initial_dump_counts_equal_kernel"
else fail "initial_dump_counts_equal_kernel"; fi
if [ "$(q last ic-a link_state.carrier)" = True ] && [ "$(q last ic-a link_state.operstate)" = up ]; then
	pass "link_state_up_in_sample"
else fail "link_state_up_in_sample"; fi

# ---- withdraw N at upstream A, then announce them again
N=37
m=$(mark)
bird_withdraw upa $N || fail "bird_withdraw"
wait_truth pa0 $((NA - N)) || fail "kernel_after_withdraw"
t_truth=$(now_ms)
settle ic-a $((NA - N)) 10
sleep 1.2
wa=$(q sum "$m" ic-a routes.withdrawn) aa=$(q sum "$m" ic-a routes.announced)
wb=$(q sum "$m" ic-b routes.withdrawn) cb2=$(q last ic-b routes.count)
t_first=$(q first_ts "$m" ic-a routes.count $((NA - N)))
info "withdraw $N: ic-a count $(q last ic-a routes.count) (kernel $(truth pa0)), withdrawn $wa, announced $aa; ic-b count $cb2 withdrawn $wb; first sample with the new count at ${t_first:-never} (kernel done by $t_truth)"
if [ "$(q last ic-a routes.count)" -eq $((NA - N)) ] && [ "$wa" -eq $N ] && [ "$aa" -eq 0 ] &&
	[ "$cb2" -eq $NB ] && [ "$wb" -eq 0 ]; then
	pass "withdraw_${N}_counted_on_its_link_only"
else fail "withdraw_${N}_counted_on_its_link_only"; fi
# Within one tick: the first sample taken after the kernel was seen in its
# final state already has the final count (samples are 500 ms apart).
if [ -n "$t_first" ] && [ "$t_first" -le $((t_truth + 500 + 100)) ]; then
	pass "withdrawal_visible_within_one_tick"
else fail "withdrawal_visible_within_one_tick"; fi

m=$(mark)
bird_announce upa $N || fail "bird_announce"
wait_truth pa0 $NA || fail "kernel_after_announce"
settle ic-a $NA 10
sleep 1.2
aa=$(q sum "$m" ic-a routes.announced) wa=$(q sum "$m" ic-a routes.withdrawn)
info "announce $N: ic-a count $(q last ic-a routes.count), announced $aa, withdrawn $wa"
if [ "$(q last ic-a routes.count)" -eq $NA ] && [ "$aa" -eq $N ] && [ "$wa" -eq 0 ]; then
	pass "announce_${N}_counted"
else fail "announce_${N}_counted"; fi

# ---- a withdrawal burst: most of upstream B at once
NBURST=250
m=$(mark)
bird_withdraw upb $NBURST || fail "bird_withdraw_burst"
wait_truth pb0 $((NB - NBURST)) || fail "kernel_after_burst"
sleep 2.5 # burst-window (1 s) must pass for the burst to end
bmax=$(q max "$m" ic-b routes.withdraw_burst_max)
ev=$(q event "$m" withdrawal-burst ic-b)
info "burst of $NBURST: withdraw_burst_max $bmax, withdrawn $(q sum "$m" ic-b routes.withdrawn), event: ${ev:-none}"
if [ "$bmax" -eq $NBURST ] && [ "$(q sum "$m" ic-b routes.withdrawn)" -eq $NBURST ]; then
	pass "withdraw_burst_max_equals_burst"
else fail "withdraw_burst_max_equals_burst"; fi
if [[ "$ev" == *" $NBURST routes in "* ]]; then
	pass "withdrawal_burst_event_raised"
else fail "withdrawal_burst_event_raised"; fi
bird_announce upb $NBURST && wait_truth pb0 $NB || fail "kernel_after_burst_reannounce"
settle ic-b $NB 10
sleep 1.2 # let the re-announcements fall into samples before the next mark

# ---- multipath over both interconnects, IPv4 and IPv6; a replace that moves a route
m=$(mark)
ip -n "$NS_P" route add 192.0.2.0/24 proto bird nexthop via 10.201.1.2 dev pa0 nexthop via 10.201.2.2 dev pb0
ip -n "$NS_P" -6 route add 2001:db8:99::/48 proto bird nexthop via fd01:1::2 dev pa0 nexthop via fd01:2::2 dev pb0
ip -n "$NS_P" route add 192.0.3.0/24 proto static via 10.201.1.2 dev pa0 # not a counted protocol
settle ic-a $((NA + 2)) 10; settle ic-b $((NB + 2)) 10
sleep 0.6
info "multipath: ic-a $(q last ic-a routes.count) (kernel $(truth pa0)), ic-b $(q last ic-b routes.count) (kernel $(truth pb0)); announced a $(q sum "$m" ic-a routes.announced) b $(q sum "$m" ic-b routes.announced)"
if [ "$(q last ic-a routes.count)" -eq $((NA + 2)) ] && [ "$(q last ic-b routes.count)" -eq $((NB + 2)) ] &&
	[ "$(truth pa0)" -eq $((NA + 2)) ] && [ "$(q sum "$m" ic-a routes.announced)" -eq 2 ] &&
	[ "$(q sum "$m" ic-b routes.announced)" -eq 2 ]; then
	pass "multipath_counts_once_per_interconnect"
else fail "multipath_counts_once_per_interconnect"; fi
m=$(mark)
ip -n "$NS_P" route replace 192.0.2.0/24 proto bird via 10.201.2.2 dev pb0
settle ic-a $((NA + 1)) 10
sleep 0.6
info "replace {pa0,pb0} -> pb0: ic-a withdrawn $(q sum "$m" ic-a routes.withdrawn), ic-b announced $(q sum "$m" ic-b routes.announced) withdrawn $(q sum "$m" ic-b routes.withdrawn)"
if [ "$(q last ic-a routes.count)" -eq $((NA + 1)) ] && [ "$(q last ic-b routes.count)" -eq $((NB + 2)) ] &&
	[ "$(q sum "$m" ic-a routes.withdrawn)" -eq 1 ] && [ "$(q sum "$m" ic-b routes.announced)" -eq 0 ] &&
	[ "$(q sum "$m" ic-b routes.withdrawn)" -eq 0 ]; then
	pass "replace_moving_a_route_is_withdrawal_on_old_link"
else fail "replace_moving_a_route_is_withdrawal_on_old_link"; fi
ip -n "$NS_P" route del 192.0.2.0/24
ip -n "$NS_P" -6 route del 2001:db8:99::/48
ip -n "$NS_P" route del 192.0.3.0/24
settle ic-a $NA 10 && settle ic-b $NB 10 || fail "multipath_routes_removed (ic-a $(q last ic-a routes.count) ic-b $(q last ic-b routes.count))"

# ---- link down: admin down on the POP's side, then carrier loss from the peer's side
# event_latency FROM LINK KIND T0: ms from T0 to the event's ts_ms (waits 5 s for it)
event_latency() {
	local ev
	for _ in $(seq 1 50); do
		ev=$(q event "$1" "$3" "$2")
		[ -n "$ev" ] && { echo $((${ev%% *} - $4)); return 0; }
		sleep 0.1
	done
	echo never
}
# The kernel's own notification time, seen by an independent listener: for a
# carrier change the kernel sends it from linkwatch, which is rate-limited
# host-wide (at most one non-urgent run a second), so under load from other
# namespaces it can itself come hundreds of ms after the change.
ip netns exec "$NS_P" ip -ts monitor link >"$TMP/mon.txt" 2>/dev/null &
MON_PID=$!
sleep 0.3
# kern_ts FROM_LINE WORD: epoch ms of the first pa0 notification after line FROM containing WORD
kern_ts() {
	python3 -c '
import datetime, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
for l in lines:
    if l.startswith("[") and " pa0@" in l and sys.argv[3] in l:
        t = datetime.datetime.fromisoformat(l[1:l.index("]")])
        print(int(t.timestamp() * 1000)); break' "$TMP/mon.txt" "$1" "$2"
}
LAT_MAX=100
for how in admin carrier; do
	m=$(mark) mm=$(wc -l <"$TMP/mon.txt")
	t0=$(now_ms)
	if [ $how = admin ]; then ip -n "$NS_P" link set pa0 down; else ip -n "$NS_A" link set a0 down; fi
	lat=$(event_latency "$m" ic-a link-down "$t0")
	wait_truth pa0 0 10
	settle ic-a 0 10
	sleep 0.6
	kt=$(kern_ts "$mm" "state DOWN")
	klat=$([ -n "$kt" ] && echo $((kt - t0)) || echo unknown)
	info "$how down: link-down event after $lat ms (kernel notification after $klat ms); sample carrier $(q last ic-a link_state.carrier) operstate $(q last ic-a link_state.operstate) changes $(q sum "$m" ic-a link_state.changes); routes ic-a $(q last ic-a routes.count) (kernel $(truth pa0)) withdrawn $(q sum "$m" ic-a routes.withdrawn); ic-b $(q last ic-b routes.count)"
	if [ "$lat" != never ] && [ "$lat" -le $LAT_MAX ]; then
		pass "link_down_${how}_event_within_${LAT_MAX}ms"
	elif [ "$lat" != never ] && [ "$klat" != unknown ] && [ "$klat" -gt $LAT_MAX ] &&
		[ $((lat - klat)) -le $LAT_MAX ]; then
		# Only when the kernel itself was late, and then the agent must not add more than 100 ms.
		pass "link_down_${how}_event_within_${LAT_MAX}ms_of_the_kernel_notification (kernel late by $klat ms)"
	else fail "link_down_${how}_event_within_${LAT_MAX}ms (agent $lat ms, kernel $klat ms)"; fi
	if [ "$(q last ic-a link_state.carrier)" = False ] && [ "$(q last ic-a link_state.operstate)" != up ] &&
		[ "$(q sum "$m" ic-a link_state.changes)" -ge 1 ]; then
		pass "link_down_${how}_state_in_sample"
	else fail "link_down_${how}_state_in_sample"; fi
	if [ "$(q last ic-a routes.count)" -eq 0 ] && [ "$(truth pa0)" -eq 0 ] &&
		[ "$(q sum "$m" ic-a routes.withdrawn)" -eq $NA ] && [ "$(q last ic-b routes.count)" -eq $NB ]; then
		pass "link_down_${how}_routes_drop_to_zero"
	else fail "link_down_${how}_routes_drop_to_zero"; fi
	m=$(mark)
	t0=$(now_ms)
	if [ $how = admin ]; then ip -n "$NS_P" link set pa0 up; else ip -n "$NS_A" link set a0 up; fi
	lat=$(event_latency "$m" ic-a link-up "$t0")
	wait_truth pa0 $NA 60
	settle ic-a $NA 20
	info "$how up: link-up event after $lat ms; routes ic-a $(q last ic-a routes.count) (kernel $(truth pa0)), announced $(q sum "$m" ic-a routes.announced)"
	if [ "$lat" != never ] && [ "$(q last ic-a routes.count)" -eq $NA ] &&
		[ "$(q sum "$m" ic-a routes.announced)" -eq $NA ]; then
		pass "link_up_${how}_event_and_routes_back"
	else fail "link_up_${how}_event_and_routes_back"; fi
done
kill "$MON_PID" 2>/dev/null

# ---- ENOBUFS: a tiny event buffer and thousands of route changes
agent_stop
NX=4000
agent_start PRESAGE_NL_RCVBUF=4096 || { echo "FAIL: agent_restart"; exit 1; }
m=$(mark)
c0a=$(q last ic-a routes.count)
python3 -c '
import sys
n = int(sys.argv[1])
for i in range(n):
    print("route add 198.18.%d.%d/32 proto bird via 10.201.1.2 dev pa0" % (i // 256, i % 256))
for i in range(0, n, 2):
    print("route del 198.18.%d.%d/32" % (i // 256, i % 256))
' $NX >"$TMP/batch"
# The agent is stopped during the burst so that its 4 KiB buffer surely
# overflows (on an idle machine it could otherwise keep up).
kill -STOP "$AGENT_PID"
ip -n "$NS_P" -batch "$TMP/batch"
kill -CONT "$AGENT_PID"
wait_truth pa0 $((NA + NX / 2)) 10
settle ic-a $((NA + NX / 2)) 20
sleep 1.2
ev=$(q event "$m" netlink-resync -)
ca=$(q last ic-a routes.count) ta=$(truth pa0)
an=$(q sum "$m" ic-a routes.announced) wd=$(q sum "$m" ic-a routes.withdrawn)
info "ENOBUFS: resync event: ${ev:-none}"
info "after $NX adds and $((NX / 2)) deletes: agent $ca, kernel $ta; announced $an withdrawn $wd (net $((an - wd)), count moved $((ca - c0a)))"
if [ -n "$ev" ] && [ "$ca" -eq "$ta" ] && [ "$((an - wd))" -eq "$((ca - c0a))" ] &&
	[ "$(q last ic-b routes.count)" -eq "$(truth pb0)" ]; then
	pass "enobufs_resync_counts_equal_kernel"
else fail "enobufs_resync_counts_equal_kernel"; fi
grep -q "event receive buffer 4096 bytes" "$TMP/agent.log" || info "the test knob was not applied"
agent_stop
exit $FAILED
