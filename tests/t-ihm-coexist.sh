#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Coexistence: another XDP program (a stand-in for a DDoS filter) is already
# attached through libxdp's dispatcher; the agent attaches beside it, both
# see every packet, and the agent's SIGTERM leaves the other one in place.
#
# libxdp's dispatcher needs freplace (BPF_PROG_TYPE_EXT) programs. A kernel
# in lockdown "integrity" mode refuses those with EPERM, and libxdp then
# can only attach one program per interface; the test says so and skips.
set -u
cd "$(dirname "$0")/.."
source tests/lib/topo.sh
FAILED=0
XL() { nsenter --net=/var/run/netns/"$NS_R" xdp-loader "$@"; }

topo_up || { echo "FAIL: topology"; exit 1; }
XL load -vv -m native r-ic0 "$BUILD/xdp_count.bpf.o" >"$TMP/xl.log" 2>&1
if ! XL status r-ic0 2>&1 | grep -q "xdp_dispatcher"; then
	reason="libxdp could not use its dispatcher here"
	grep -q "Compatibility check for dispatcher program failed: Operation not permitted" "$TMP/xl.log" &&
		reason="the kernel refuses freplace programs (EPERM; lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null || echo unknown)), which libxdp's dispatcher needs"
	echo "SKIP: xdp_coexistence_with_libxdp: $reason; see README, Known limits"
	exit 77
fi
agent_start || { echo "FAIL: agent start beside another XDP program"; exit 1; }
status=$(XL status r-ic0 2>&1)
if grep -q "presage_xdp" <<<"$status" && grep -q "other_xdp" <<<"$status"; then
	pass "both_programs_in_dispatcher"
else fail "both_programs_in_dispatcher: $status"; fi
# bpftool -j gives raw bytes in "values" and the BTF-decoded numbers in "formatted".
other() { bpftool -j map dump name other_count | python3 -c 'import json,sys; print(sum(v["value"] for e in json.load(sys.stdin) for v in e["formatted"]["values"]))'; }
# The two counters are read one after the other, and the agent's own probes
# (and ARP) keep arriving: a packet landing between the two reads would make
# them disagree by one. snapshot() reads both twice and takes a pair only when
# neither moved in between.
snapshot() {
	local i o p o2 p2
	for i in $(seq 1 50); do
		o=$(other); p=$(stats_field rx_packets)
		o2=$(other); p2=$(stats_field rx_packets)
		if [ "$o" = "$o2" ] && [ "$p" = "$p2" ]; then echo "$o $p"; return 0; fi
	done
	echo "snapshot: the counters never held still over 50 tries" >&2
	echo "$o2 $p2"
}
s=$(snapshot); o0=${s% *}; p0=${s#* }
ip netns exec "$NS_C" ping -c 20 -i 0.05 -q 10.10.2.2 >/dev/null
s=$(snapshot); o1=${s% *}; p1=${s#* }
info "other program saw $((o1 - o0)) packets, presage $((p1 - p0))"
if [ $((o1 - o0)) -ge 20 ] && [ $((p1 - p0)) -ge 20 ] && [ $((o1 - o0)) -eq $((p1 - p0)) ]; then
	pass "both_programs_see_every_packet"
else fail "both_programs_see_every_packet"; fi
agent_stop
status=$(XL status r-ic0 2>&1)
if grep -q "other_xdp" <<<"$status" && ! grep -q "presage_xdp" <<<"$status"; then
	pass "sigterm_leaves_other_program"
else fail "sigterm_leaves_other_program: $status"; fi
exit $FAILED
