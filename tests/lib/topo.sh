# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for namespace tests (sourced). Builds, in network namespaces
# of its own (names prefixed with a per-run tag):
#
#   client (10.10.1.2) --veth-- router --veth "interconnect"-- server (10.10.2.2)
#         c0 <-> r-lan                 r-ic0 <-> s0
#
# IPv6 beside IPv4 (fd10:1::/64, fd10:2::/64). The agent runs in the router
# on r-ic0. Everything is removed on exit, also when a test fails.

TAG=${TAG:-p$$}
NS_C=${TAG}-c
NS_R=${TAG}-r
NS_S=${TAG}-s
TMP=$(mktemp -d /tmp/presage-test.XXXXXX)
PIN_DIR=/sys/fs/bpf/presage-test-$TAG
BUILD=${BUILD:-build}
ROOT=${PRESAGE_ROOT:-$(pwd)}
PIDS=()

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
skip() { echo "SKIP: $*"; }
info() { echo "# $*"; }

topo_cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PIN_DIR" "$TMP"
}

topo_up() {
	trap topo_cleanup EXIT
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up
	done
	ip link add c0 netns "$NS_C" type veth peer name r-lan netns "$NS_R" || return 1
	ip link add r-ic0 netns "$NS_R" type veth peer name s0 netns "$NS_S" || return 1
	ip -n "$NS_C" addr add 10.10.1.2/24 dev c0
	ip -n "$NS_C" addr add fd10:1::2/64 dev c0 nodad
	ip -n "$NS_R" addr add 10.10.1.1/24 dev r-lan
	ip -n "$NS_R" addr add fd10:1::1/64 dev r-lan nodad
	ip -n "$NS_R" addr add 10.10.2.1/24 dev r-ic0
	ip -n "$NS_R" addr add fd10:2::1/64 dev r-ic0 nodad
	ip -n "$NS_S" addr add 10.10.2.2/24 dev s0
	ip -n "$NS_S" addr add fd10:2::2/64 dev s0 nodad
	for l in "$NS_C:c0" "$NS_R:r-lan" "$NS_R:r-ic0" "$NS_S:s0"; do
		ip -n "${l%%:*}" link set "${l#*:}" up
	done
	ip -n "$NS_C" route add default via 10.10.1.1
	ip -n "$NS_C" -6 route add default via fd10:1::1
	ip -n "$NS_S" route add default via 10.10.2.1
	ip -n "$NS_S" -6 route add default via fd10:2::1
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	cat > "$TMP/ihmd.conf" <<EOC
tick 500ms
pin-dir $PIN_DIR
xdp-mode native
interconnect transit-a {
	interface r-ic0
	capacity 1G
	peer "test upstream"
}
EOC
}

# Start the agent in the router; JSON samples to $TMP/agent.json.
agent_start() {
	local n0
	# The log is appended to across restarts: count earlier runs' "started:" lines.
	n0=$(grep -c "started:" "$TMP/agent.log" 2>/dev/null)
	"$BUILD/ihmd" -c "$TMP/ihmd.conf" --netns "$NS_R" -j "$@" >>"$TMP/agent.json" 2>>"$TMP/agent.log" &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	# Attached when the log says so: a "started:" line beyond those of earlier
	# runs, or a restart returns at once while the new agent still attaches.
	for _ in $(seq 1 150); do
		[ "$(grep -c "started:" "$TMP/agent.log" 2>/dev/null)" -gt "${n0:-0}" ] && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "agent did not start:"; cat "$TMP/agent.log"
	return 1
}

agent_stop() {
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
}

# Sum of a counter in the pinned link_stats over CPUs, for link id 0.
stats_field() {
	bpftool -j map lookup pinned "$PIN_DIR/link_stats" key 0 0 0 0 |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(c["value"][sys.argv[1]] for c in d["formatted"]["values"]))' "$1"
}
