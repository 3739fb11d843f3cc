#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make bench: RFC 2136 records/s into a local BIND (named on 127.0.0.1,
# random port, temp dir), presage's client against nsupdate on the same
# changes, at 1 and at 100 records per UPDATE. Ratios are against nsupdate
# in the same run. Never fails on timing.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BENCH=$BUILD/dns/dns-bench
N1=${DNS_BENCH_N1:-500}   # messages at 1 record each
NB=${DNS_BENCH_NB:-20}    # messages at 100 records each
command -v named >/dev/null && command -v nsupdate >/dev/null || { echo "bench-dns: named/nsupdate missing, skipped"; exit 0; }
[ -x "$BENCH" ] || { echo "bench-dns: $BENCH not built (make bench builds it)"; exit 0; }
T=$(mktemp -d /tmp/presage-bench-dns-XXXXXX)
PORT=$((20000 + RANDOM % 30000))
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
tsig-keygen -a hmac-sha256 bench-key >"$T/k.key"
printf '$TTL 300\n@ IN SOA ns.bench.test. admin.bench.test. 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n' >"$T/bench.test.zone"
cat >"$T/named.conf" <<EOF2
options { directory "$T"; listen-on port $PORT { 127.0.0.1; }; listen-on-v6 { none; };
	pid-file "$T/named.pid"; session-keyfile "$T/s.key"; recursion no; notify no; };
controls { };
include "$T/k.key";
zone "bench.test" { type primary; file "$T/bench.test.zone"; allow-update { key bench-key; }; };
EOF2
named -g -c "$T/named.conf" >"$T/named.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do dig @127.0.0.1 -p $PORT +short bench.test SOA | grep -q . && break; sleep 0.1; done

# nsupdate: one process, one "send" per message, same names and records
nsup() { # nmsg per prefix
	local f=$T/ns-$3.txt i j
	{
		echo "server 127.0.0.1 $PORT"
		echo "zone bench.test"
		for ((i = 0; i < $1; i++)); do
			for ((j = 0; j < $2; j++)); do
				echo "update add $3-$i-$j.bench.test 30 A 10.$((i >> 8)).$((i & 255)).$j"
			done
			echo send
		done
	} >"$f"
	local t0 t1
	t0=$(date +%s.%N)
	nsupdate -k "$T/k.key" "$f" || return 1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v n=$(($1 * $2)) -v m="$1" \
		'BEGIN { s = b - a; printf "records=%d secs=%.3f rps=%.0f mean_ms=%.2f\n", n, s, n / s, s / m * 1000 }'
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

sleep 0.5
# warm-up so neither side pays for the first journal writes
"$BENCH" 127.0.0.1 $PORT "$T/k.key" bench.test 50 1 warm >/dev/null 2>&1
# BIND's per-update cost drifts as its journal grows, so the order alternates:
# nsupdate, presage, presage, nsupdate, and each side's rate is over both runs.
run_us() { "$BENCH" 127.0.0.1 $PORT "$T/k.key" bench.test "$1" "$2" "$3"; }
both() { # per: prints "ns_rps us_rps us_p50 us_p99 ns_mean"
	local a b c d
	a=$(nsup "$1" "$2" "n$2a") && b=$(run_us "$1" "$2" "u$2a") && c=$(run_us "$1" "$2" "u$2b") &&
		d=$(nsup "$1" "$2" "n$2b") || return 1
	awk -v n="$(( $1 * $2 * 2 ))" -v m="$(( $1 * 2 ))" -v as="$(field "$a" secs)" -v ds="$(field "$d" secs)" \
		-v bs="$(field "$b" secs)" -v cs="$(field "$c" secs)" -v p50="$(field "$c" p50_ms)" -v p99="$(field "$c" p99_ms)" \
		'BEGIN { printf "%.0f %.0f %s %s %.2f %.2f\n", n / (as + ds), n / (bs + cs), p50, p99, (as + ds) / m * 1000, (bs + cs) / m * 1000 }'
}
r1=$(both "$N1" 1) || { echo "bench-dns: a run failed (see above)"; exit 0; }
rb=$(both "$NB" 100) || { echo "bench-dns: a run failed (see above)"; exit 0; }
set -- $r1; ns1r=$1 us1r=$2 us1p50=$3 us1p99=$4 ns1m=$5 us1m=$6
set -- $rb; nsbr=$1 usbr=$2 usbp50=$3 usbp99=$4 nsbm=$5 usbm=$6
printf '%-28s %10s %10s %10s %10s %8s\n' "case (BIND 127.0.0.1)" "records/s" "p50 ms" "p99 ms" "mean ms" "ratio"
printf '%-28s %10s %10s %10s %10s %8s\n' "nsupdate, 1 rec/msg" "$ns1r" - - "$ns1m" 1.00
printf '%-28s %10s %10s %10s %10s %8s\n' "presage, 1 rec/msg" "$us1r" "$us1p50" "$us1p99" "$us1m" "$(awk -v a="$us1r" -v b="$ns1r" 'BEGIN { printf "%.2f", a / b }')"
printf '%-28s %10s %10s %10s %10s %8s\n' "nsupdate, 100 rec/msg" "$nsbr" - - "$nsbm" 1.00
printf '%-28s %10s %10s %10s %10s %8s\n' "presage, 100 rec/msg" "$usbr" "$usbp50" "$usbp99" "$usbm" "$(awk -v a="$usbr" -v b="$nsbr" 'BEGIN { printf "%.2f", a / b }')"
echo "targets: presage >= 1.00x nsupdate at 1 rec/msg; >= 5000 records/s batched (p50/p99 from presage's second run)"
