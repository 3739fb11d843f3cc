#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Agent cost at scale: CPU time per tick and resident memory of ihmd with 64
# interconnects, 100,000 live flows and 100,000 routes (proto bird, spread
# over the 64 interconnects), against the same agent with one interconnect,
# no flows and no routes, measured in the same run. Never a gate.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
NLINKS=${BENCH_LINKS:-64}
NFLOWS=${BENCH_FLOWS:-100000}
NROUTES=${BENCH_ROUTES:-100000}
TICKS=${BENCH_TICKS:-10}
NS=bag$$
T=$(mktemp -d /tmp/presage-bench-agent.XXXXXX)
PIN=/sys/fs/bpf/presage-bench-$$
AGENT=

cleanup() {
	[ -n "$AGENT" ] && kill -TERM "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	ip netns del "$NS" 2>/dev/null; ip netns del "$NS-p" 2>/dev/null
	rm -rf "$T" "$PIN"
}
trap cleanup EXIT
ip netns add "$NS" && ip netns add "$NS-p" || { echo "bench-agent: cannot create namespaces"; exit 1; }
ip -n "$NS" link set lo up
{
	for ((k = 0; k < NLINKS; k++)); do
		echo "link add v$k type veth peer name p$k netns $NS-p"
		echo "addr add 172.16.$k.1/30 dev v$k"
		echo "link set v$k up"
	done
} >"$T/links.batch"
ip -n "$NS" -batch "$T/links.batch" || { echo "bench-agent: cannot create $NLINKS veth pairs"; exit 1; }
for ((k = 0; k < NLINKS; k++)); do echo "link set p$k up"; done >"$T/peers.batch"
ip -n "$NS-p" -batch "$T/peers.batch"

cpu_ns() { # PID -> CPU time of all its threads, ns (schedstat: ns resolution)
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}

# run_agent NLINKS FILL_FLOWS LABEL: start, wait for the first sample, fill,
# measure TICKS ticks of CPU, read RSS.
run_agent() {
	local n=$1 fill=$2 label=$3 c0 c1 rss hwm t0 t1
	{
		echo "tick 1s"; echo "pin-dir $PIN"; echo "xdp-mode native"; echo "listen off"
		echo "route-protocols bird"
		for ((k = 0; k < n; k++)); do
			printf 'interconnect ic%d {\n interface v%d\n capacity 10G\n}\n' "$k" "$k"
		done
	} >"$T/ihmd.conf"
	rm -rf "$PIN"
	"$BUILD/ihmd" -c "$T/ihmd.conf" --netns "$NS" -j >"$T/out.$label" 2>"$T/log.$label" &
	AGENT=$!
	t0=$(date +%s.%N)
	for _ in $(seq 1 1800); do grep -q '"links"' "$T/out.$label" 2>/dev/null && break; sleep 0.1; done
	grep -q '"links"' "$T/out.$label" || { echo "bench-agent: the agent did not produce a sample in 180 s"; tail -3 "$T/log.$label"; return 1; }
	t1=$(date +%s.%N)
	START_S=$(python3 -c "print('%.1f' % ($t1 - $t0))")
	if [ "$fill" = 1 ]; then
		vs=$(bpftool map show pinned "$PIN/flows" | sed -n 's/.*value \([0-9]*\)B.*/\1/p')
		python3 - "$NFLOWS" "$PIN/flows" "$vs" >"$T/flows.batch" <<'PY'
import sys
n, path, vs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
val = " ".join(["00"] * vs)
for i in range(n):
    a = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255] + [0] * 12
    b = [192, 0, 2, 1] + [0] * 12
    k = bytes(a + b) + (40000 + i % 20000).to_bytes(2, "big") + (443).to_bytes(2, "big") + bytes(4)
    print("map update pinned %s key hex %s value hex %s" % (path, " ".join("%02x" % x for x in k), val))
PY
		bpftool batch file "$T/flows.batch" >/dev/null || { echo "bench-agent: filling the flow map failed"; return 1; }
	fi
	sleep 1.5
	c0=$(cpu_ns "$AGENT")
	sleep "$TICKS"
	c1=$(cpu_ns "$AGENT")
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$AGENT/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$AGENT/status")
	live=$(tail -n 1 "$T/out.$label" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["links"][0]["flows"]["live"])')
	routes=$(tail -n 1 "$T/out.$label" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); r=[l.get("routes") for l in d["links"]]; print(sum(x["count"] for x in r if x) if any(r) else "n/a")')
	kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null; AGENT=
	CPU_MS=$(python3 -c "print('%.3f' % (($c1 - $c0) / 1e6 / $TICKS))")
	echo "$label $n $live $routes $CPU_MS $rss $hwm $START_S"
}

baseline=$(run_agent 1 0 baseline) || exit 1
ip netns exec "$NS" python3 - "$NROUTES" "$NLINKS" >"$T/routes.batch" <<'PY'
import sys
n, links = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    k = i % links
    print("route add 10.%d.%d.0/24 via 172.16.%d.2 dev v%d proto bird" % ((i >> 8) & 255, i & 255, k, k) if i < 65536
          else "route add 11.%d.%d.0/24 via 172.16.%d.2 dev v%d proto bird" % ((i >> 8) & 255, i & 255, k, k))
PY
ip -n "$NS" -batch "$T/routes.batch" || { echo "bench-agent: installing $NROUTES routes failed"; exit 1; }
scale=$(run_agent "$NLINKS" 1 scale) || exit 1
read -r _ bn bl br bc brss bhwm bst <<<"$baseline"
read -r _ sn sl sr sc srss shwm sst <<<"$scale"
f='%-26s %6s %8s %8s %12s %9s %9s %14s\n'
printf "$f" "agent" "links" "flows" "routes" "CPU ms/tick" "RSS kB" "peak kB" "to 1st sample"
printf "$f" "baseline (1 link, empty)" "$bn" "$bl" "$br" "$bc" "$brss" "$bhwm" "${bst}s"
printf "$f" "at scale" "$sn" "$sl" "$sr" "$sc" "$srss" "$shwm" "${sst}s"
python3 -c "b=$bc; s=$sc; print('CPU per tick at scale: %s x the baseline (%.2f ms vs %.2f ms); %.3f %% of one core at a 1 s tick' % ('%.1f' % (s / b) if b > 0 else 'n/a (baseline below clock resolution)', s, b, s / 10))"
[ "$sr" = "n/a" ] && echo "(routes: this agent does not count routes yet; the $NROUTES routes were installed but not attributed)"
exit 0
