#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The agent on a real router namespace with real traffic:
#  - byte and packet counters against the interface's own counters (1 %)
#  - RTT under a TBF bottleneck against ping over the same path (20 %)
#  - retransmission rate against a tc BPF dropper's real drop rate
#  - kill -9 and restart: maps reused, counters continue, one attachment
#  - an interface that disappears and comes back
#  - SIGTERM detaches everything
# PRESAGE_QUICK=1 (set by vmtest, where the CPU is emulated) runs the loss
# check at one rate (4 %) for 3 s instead of 1 % and 4 % for 5 s each, and
# skips telling the two rates apart; everything else is the same.
set -u
cd "$(dirname "$0")/.."
source tests/lib/topo.sh
FAILED=0
L=tests/lib
now_ms() { date +%s%3N; }
# iface counter from `ip -s -j link`
ifstat() { ip -n "$1" -s -j link show "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"][sys.argv[1]][sys.argv[2]])' "$3" "$4"; }
# |a-b| <= tol*b ?
within() { python3 -c 'import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b) <= t*b else 1)' "$1" "$2" "$3"; }

topo_up || { echo "FAIL: topology"; exit 1; }
# Second interconnect for the disappearing-interface case.
ip link add r-ic1 netns "$NS_R" type veth peer name s1 netns "$NS_S"
ip -n "$NS_R" link set r-ic1 up; ip -n "$NS_S" link set s1 up
cat >> "$TMP/ihmd.conf" <<EOC
interconnect peer-b {
	interface r-ic1
	capacity 100M
}
EOC
agent_start || { echo "FAIL: agent start"; exit 1; }
pass "agent_starts_and_attaches"

# ---- bytes and packets: UDP both ways, offloads off so skbs are wire packets
for l in "$NS_C:c0" "$NS_R:r-lan" "$NS_R:r-ic0" "$NS_S:s0"; do
	ip netns exec "${l%%:*}" ethtool -K "${l#*:}" tso off gso off gro off >/dev/null 2>&1
done
ip netns exec "$NS_S" python3 $L/tcpload.py udpsink 9000 & PIDS+=($!)
ip netns exec "$NS_C" python3 $L/tcpload.py udpsink 9001 & PIDS+=($!)
wait_listen "$NS_S" 9000 udp; wait_listen "$NS_C" 9001 udp
tx0=$(stats_field tx_bytes); rx0=$(stats_field rx_bytes)
txp0=$(stats_field tx_packets); rxp0=$(stats_field rx_packets)
# Ground truth: the interface's own counters. With an XDP program on a veth,
# the kernel counts received bytes after the Ethernet header is pulled, so
# 14 bytes a packet are added back to rx for a like-for-like comparison.
itx0=$(ifstat "$NS_R" r-ic0 tx bytes); irx0=$(ifstat "$NS_R" r-ic0 rx bytes)
itxp0=$(ifstat "$NS_R" r-ic0 tx packets); irxp0=$(ifstat "$NS_R" r-ic0 rx packets)
ip netns exec "$NS_C" python3 $L/tcpload.py udpsend 10.10.2.2 9000 3000 1000
ip netns exec "$NS_S" python3 $L/tcpload.py udpsend 10.10.1.2 9001 2000 1400
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 1 >/dev/null 2>&1 || true
sleep 0.3
tx1=$(stats_field tx_bytes); rx1=$(stats_field rx_bytes)
txp1=$(stats_field tx_packets); rxp1=$(stats_field rx_packets)
itx1=$(ifstat "$NS_R" r-ic0 tx bytes); irx1=$(ifstat "$NS_R" r-ic0 rx bytes)
itxp1=$(ifstat "$NS_R" r-ic0 tx packets); irxp1=$(ifstat "$NS_R" r-ic0 rx packets)
irx1=$((irx1 + 14 * (irxp1 - irxp0)))
info "tx bytes: presage $((tx1 - tx0)) interface $((itx1 - itx0)); rx bytes: presage $((rx1 - rx0)) interface $((irx1 - irx0))"
info "tx packets: presage $((txp1 - txp0)) interface $((itxp1 - itxp0)); rx packets: presage $((rxp1 - rxp0)) interface $((irxp1 - irxp0))"
# At least the datagrams themselves (42 bytes of headers each), and within 1 % of the interface.
if [ $((tx1 - tx0)) -ge $((3000 * 1042)) ] && within $((tx1 - tx0)) $((itx1 - itx0)) 0.01; then
	pass "tx_bytes_match_interface_within_1pct"
else fail "tx_bytes_match_interface_within_1pct"; fi
if [ $((rx1 - rx0)) -ge $((2000 * 1442)) ] && within $((rx1 - rx0)) $((irx1 - irx0)) 0.01; then
	pass "rx_bytes_match_interface_within_1pct"
else fail "rx_bytes_match_interface_within_1pct"; fi
if within $((txp1 - txp0)) $((itxp1 - itxp0)) 0.01 && within $((rxp1 - rxp0)) $((irxp1 - irxp0)) 0.01; then
	pass "packets_match_interface_within_1pct"
else fail "packets_match_interface_within_1pct"; fi

# ---- RTT under a TBF bottleneck with load, against ping
ip netns exec "$NS_S" taskset -c 0 python3 $L/tcpload.py sink 5201 & PIDS+=($!)
ip netns exec "$NS_R" tc qdisc add dev r-ic0 root tbf rate 20mbit burst 16kb latency 50ms
wait_listen "$NS_S" 5201
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 9 >/dev/null & LOADPID=$!
sleep 2 # let the queue build
t0=$(now_ms)
ip netns exec "$NS_C" ping -c 50 -i 0.1 10.10.2.2 >"$TMP/ping.txt" 2>&1
t1=$(now_ms)
wait $LOADPID
sleep 0.6
ping_med=$(grep -o 'time=[0-9.]*' "$TMP/ping.txt" | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
agent_med=$($L/agentstat.py "$TMP/agent.json" transit-a "$t0" "$t1" rtt_p50_median)
nsamp=$($L/agentstat.py "$TMP/agent.json" transit-a "$t0" "$t1" rtt_samples)
info "RTT under load: ping median ${ping_med} ms, agent median of per-tick p50 ${agent_med} ms over ${nsamp} samples"
if [ "$nsamp" -gt 50 ] && python3 -c 'import sys; a,p=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if p > 5 and abs(a-p) <= 0.2*p else 1)' "$agent_med" "$ping_med"; then
	pass "rtt_under_tbf_load_within_20pct_of_ping"
else fail "rtt_under_tbf_load_within_20pct_of_ping"; fi
ip netns exec "$NS_R" tc qdisc del dev r-ic0 root

# ---- loss: drop data segments after the router's egress hook, at two rates.
# Stated tolerance: the measured retransmission rate is between 0.9x and 1.5x
# the dropper's real drop rate. It runs high, not low: tail-loss probes and
# RTO recovery resend segments that were not lost, and the router sees those
# too. The two rates must also be told apart (4 % reads above twice 1 %).
# And the count itself must equal the sender's own TcpRetransSegs within 3 %
# (seen: 0 to 1.9 %, from the odd packet of a timer that fires on CPU 1).
#
# Sender and sink run on CPU 0. Otherwise the sender also transmits from
# softirq context on the other CPU, the two CPUs' veth backlogs reorder the
# flow before the router, and a late original segment looks exactly like a
# retransmission (measured: +22..34 % over the sender's count on an idle
# machine). A NIC with RSS keeps a flow on one queue; veth does not.
PIN="taskset -c 0"
# nstat's history file is per user, not per namespace: a private one, so a
# concurrent run cannot reset our baseline.
export NSTAT_HISTORY=$TMP/nstat.history
"$BUILD/presage-dropper" --netns "$NS_R" attach r-ic0 1 --tcp-data
declare -A MEAS
RATES="1 4" SEND_S=5
[ "${PRESAGE_QUICK:-0}" = 1 ] && RATES=4 SEND_S=3
for pct in $RATES; do
	"$BUILD/presage-dropper" --netns "$NS_R" set r-ic0 $pct
	d0=$("$BUILD/presage-dropper" --netns "$NS_R" show r-ic0)
	sleep 0.6
	ip netns exec "$NS_C" nstat -n
	r0=$(stats_field tx_tcp_retrans)
	t0=$(now_ms)
	ip netns exec "$NS_C" $PIN python3 $L/tcpload.py send 10.10.2.2 5201 $SEND_S >/dev/null
	sleep 1.2
	t1=$(now_ms)
	r1=$(stats_field tx_tcp_retrans)
	sent=$(ip netns exec "$NS_C" nstat -z TcpRetransSegs | awk '/TcpRetransSegs/ {print $2}')
	d1=$("$BUILD/presage-dropper" --netns "$NS_R" show r-ic0)
	real=$(python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); s=b["seen"]-a["seen"]; print((b["dropped"]-a["dropped"])/s if s else 0)' "$d0" "$d1")
	meas=$($L/agentstat.py "$TMP/agent.json" transit-a "$t0" "$t1" tx_retrans_rate)
	MEAS[$pct]=$meas
	info "loss $pct %: dropper's real drop rate $real; agent tx retransmission rate $meas"
	if python3 -c 'import sys; m,r=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if r > 0.002 and 0.9*r <= m <= 1.5*r else 1)' "$meas" "$real"; then
		pass "retrans_rate_tracks_dropper_${pct}pct"
	else fail "retrans_rate_tracks_dropper_${pct}pct"; fi
	info "loss $pct %: retransmissions counted by presage $((r1 - r0)), by the sender's kernel $sent"
	if [ "${sent:-0}" -gt 0 ] && within $((r1 - r0)) "$sent" 0.03; then
		pass "retrans_count_matches_sender_${pct}pct"
	else fail "retrans_count_matches_sender_${pct}pct"; fi
done
"$BUILD/presage-dropper" --netns "$NS_R" detach r-ic0
if [ -z "${MEAS[1]:-}" ]; then
	skip "retrans_rate_tells_1pct_from_4pct: PRESAGE_QUICK=1 measures one loss rate"
elif python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) > 2*float(sys.argv[1]) else 1)' "${MEAS[1]}" "${MEAS[4]}"; then
	pass "retrans_rate_tells_1pct_from_4pct"
else fail "retrans_rate_tells_1pct_from_4pct"; fi

# ---- kill -9, restart: maps reused, counters continue, one attachment
before=$(stats_field rx_packets)
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
ip netns exec "$NS_C" ping -c 5 -i 0.1 -q 10.10.2.2 >/dev/null
during=$(stats_field rx_packets)
agent_start || fail "restart_after_kill9"
ip netns exec "$NS_C" ping -c 5 -i 0.1 -q 10.10.2.2 >/dev/null
sleep 0.6
after=$(stats_field rx_packets)
ntc=$(ip netns exec "$NS_R" tc filter show dev r-ic0 egress | grep -c "presage_tc")
nxdp=$(ip -n "$NS_R" -d link show r-ic0 | grep -c "prog/xdp")
info "rx_packets: before kill $before, while down $during, after restart $after; tc filters $ntc, xdp $nxdp"
if [ "$during" -gt "$before" ] && [ "$after" -gt "$during" ] && [ "$ntc" -eq 1 ] && [ "$nxdp" -eq 1 ] &&
	grep -q "keeps link id\|replacing the presage XDP" "$TMP/agent.log"; then
	pass "restart_after_kill9_reuses_maps_one_attachment"
else fail "restart_after_kill9_reuses_maps_one_attachment"; fi

# ---- an interface disappears, the agent goes on, and re-attaches on return
# Wait for the event (up to 15 s under load), not a fixed time.
wait_log() { for _ in $(seq 1 150); do [ "$(grep -c "$1" "$TMP/agent.log")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
ip -n "$NS_R" link del r-ic1
wait_log "interface r-ic1 disappeared" 1
sleep 0.6	# one more sample after it
if grep -q "interface r-ic1 disappeared" "$TMP/agent.log" && kill -0 "$AGENT_PID" &&
	grep '"links"' "$TMP/agent.json" | tail -1 | grep -q '"link":"transit-a","interface":"r-ic0","state":"attached"'; then
	pass "interface_disappears_agent_goes_on"
else fail "interface_disappears_agent_goes_on"; fi
ip link add r-ic1 netns "$NS_R" type veth peer name s1 netns "$NS_S"
ip -n "$NS_R" link set r-ic1 up
wait_log 'interconnect peer-b: attached to r-ic1' 2
if [ "$(grep -c 'interconnect peer-b: attached to r-ic1' "$TMP/agent.log")" -ge 2 ]; then
	pass "interface_returns_reattached"
else fail "interface_returns_reattached"; fi

# ---- SIGTERM detaches everything it attached, pins stay
agent_stop
ntc=$(ip netns exec "$NS_R" tc filter show dev r-ic0 egress | grep -c "presage_tc")
nxdp=$(ip -n "$NS_R" -d link show r-ic0 | grep -c "prog/xdp")
if [ "$ntc" -eq 0 ] && [ "$nxdp" -eq 0 ] && [ -e "$PIN_DIR/link_stats" ]; then
	pass "sigterm_detaches_keeps_pins"
else fail "sigterm_detaches_keeps_pins (tc $ntc xdp $nxdp)"; fi

# ---- --quiet prints no sample, also with -j (JSON mode used to print the
# envelope of each tick)
out=$("$BUILD/ihmd" -c "$TMP/ihmd.conf" --netns "$NS_R" -j --quiet --count 2 2>>"$TMP/agent.log"); rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
	pass "quiet_json_prints_nothing"
else fail "quiet_json_prints_nothing (exit $rc, stdout '$out')"; fi
exit $FAILED
