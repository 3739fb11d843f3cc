#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make bench: RFC 2136 records/s into a local BIND (named on 127.0.0.1,
# random port, temp dir), presage's client against nsupdate on the same
# changes, at 1 and at 100 records per UPDATE. Ratios are against nsupdate
# in the same run. Never fails on timing.
#
# Same work on both sides: one process sends N signed updates over UDP (TCP
# when a message is over 512 bytes), zone given, no SOA lookup, no read-back.
# nsupdate's process start and exit (key load, ISC library set-up, its
# shutdown wait: ~0.1 s, measured here with an input that sends nothing) is
# subtracted, so both sides are timed over their send loop only; the ratio
# over whole processes is printed too. "presage + verify" adds the
# read-your-write queries `presage dns set` does (nsupdate does none).
#
# BIND's per-update cost drifts (its rate here rose 3x over five rounds) and
# the machine may be shared, so each round runs nsupdate, presage, presage,
# nsupdate (ABBA: a linear drift cancels within the round) against the same
# named, and every round's ratio is printed. The summary is the median of
# DNS_BENCH_ROUNDS rounds (default 7) with the lowest and highest round, so
# the spread of the figure is visible next to it.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BENCH=$BUILD/dns/dns-bench
N1=${DNS_BENCH_N1:-500}       # messages at 1 record each
NB=${DNS_BENCH_NB:-20}        # messages at 100 records each
ROUNDS=${DNS_BENCH_ROUNDS:-7}
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

now() { date +%s.%N; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# nsupdate input: one "send" per message, the same names and records as dns-bench
nsup_file() { # nmsg per prefix
	local i j
	echo "server 127.0.0.1 $PORT"
	echo "zone bench.test"
	for ((i = 0; i < $1; i++)); do
		for ((j = 0; j < $2; j++)); do
			echo "update add $3-$i-$j.bench.test 30 A 10.$((i >> 8)).$((i & 255)).$j"
		done
		echo send
	done
}
# nsupdate under bash's `time`: its user+system CPU seconds on stdout
TIMEFORMAT='%U %S'
nsup_cpu() { # file
	local c
	c=$( { time nsupdate -k "$T/k.key" "$1" >/dev/null 2>"$T/ns.err"; } 2>&1) || { cat "$T/ns.err" >&2; return 1; }
	echo "$c" | awk '{ print $1 + $2 }'
}
# prints "loop_secs wall_secs cpu_us_per_msg"
nsup() { # nmsg per prefix
	local f=$T/ns-$3.txt t0 t1 cpu
	nsup_file "$1" "$2" "$3" >"$f"
	t0=$(now)
	cpu=$(nsup_cpu "$f") || return 1
	t1=$(now)
	awk -v a="$t0" -v b="$t1" -v f="$NS_FIXED" -v c="$cpu" -v cf="$NS_FIXED_CPU" -v n="$1" \
		'BEGIN { w = b - a; l = w - f; if (l < 0.001) l = 0.001; printf "%.4f %.4f %.1f\n", l, w, (c - cf) * 1e6 / n }'
}
# prints "loop_secs wall_secs p50 p99 cpu_us"
us() { # nmsg per prefix [verify]
	local t0 t1 out
	t0=$(now)
	out=$("$BENCH" 127.0.0.1 "$PORT" "$T/k.key" bench.test "$@") || return 1
	t1=$(now)
	echo "$(field "$out" secs) $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') $(field "$out" p50_ms) $(field "$out" p99_ms) $(field "$out" cpu_us)"
}

# nsupdate's fixed cost: start, load the key, exit, sending nothing (best of 5)
nsup_file 0 0 x >"$T/empty.txt"
NS_FIXED=9 NS_FIXED_CPU=9
for _ in 1 2 3 4 5; do
	t0=$(now)
	cpu=$(nsup_cpu "$T/empty.txt")
	NS_FIXED=$(awk -v a="$t0" -v b="$(now)" -v m="$NS_FIXED" 'BEGIN { d = b - a; print (d < m ? d : m) }')
	NS_FIXED_CPU=$(awk -v d="$cpu" -v m="$NS_FIXED_CPU" 'BEGIN { print (d < m ? d : m) }')
done
# Warm-up, both clients in turn: named's first seconds after start-up are
# slower (its rate kept rising over the first rounds with 50-message warm-ups,
# which made those rounds' ratios swing from 0.6 to 1.4).
for w in 1 2 3; do
	"$BENCH" 127.0.0.1 $PORT "$T/k.key" bench.test "$N1" 1 "warm$w" >/dev/null 2>&1
	nsupdate -k "$T/k.key" <(nsup_file "$N1" 1 "nwarm$w") >/dev/null 2>&1
done

# the machine may be shared: say how busy it was, next to the figures
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
med() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf 'nsupdate start+exit, subtracted from its loop: %.0f ms wall, %.0f ms CPU\n' \
	"$(awk -v f="$NS_FIXED" 'BEGIN { print f * 1000 }')" "$(awk -v f="$NS_FIXED_CPU" 'BEGIN { print f * 1000 }')"
H='%-6s %-7s %9s %9s %6s %8s %8s %7s %7s %10s %6s\n'
printf "$H" round rec/msg "ns rec/s" "us rec/s" ratio "p50 ms" "p99 ms" "ns cpu" "us cpu" "verify r/s" wall-r
fail=0
for per in 1 100; do
	n=$N1
	[ "$per" = 100 ] && n=$NB
	: >"$T/ratios-$per" >"$T/nsr-$per" >"$T/usr-$per" >"$T/vr-$per" >"$T/wr-$per" >"$T/p50-$per" >"$T/p99-$per" \
		>"$T/nscpu-$per" >"$T/uscpu-$per"
	for r in $(seq 1 "$ROUNDS"); do
		a=$(nsup "$n" "$per" "n$per-$r-a") && b=$(us "$n" "$per" "u$per-$r-b") &&
			c=$(us "$n" "$per" "u$per-$r-c") && d=$(nsup "$n" "$per" "n$per-$r-d") &&
			v=$(us "$n" "$per" "v$per-$r" verify) || { fail=1; break; }
		set -- $a; al=$1 aw=$2 acpu=$3
		set -- $b; bl=$1 bw=$2 bp50=$3 bp99=$4 bcpu=$5
		set -- $c; cl=$1 cw=$2 cp50=$3 cp99=$4 ccpu=$5
		set -- $d; dl=$1 dw=$2 dcpu=$3
		set -- $v; vl=$1
		line=$(awk -v n="$((n * per * 2))" -v nv="$((n * per))" -v al="$al" -v dl="$dl" -v bl="$bl" -v cl="$cl" \
			-v aw="$aw" -v dw="$dw" -v bw="$bw" -v cw="$cw" -v vl="$vl" \
			'BEGIN { ns = n / (al + dl); u = n / (bl + cl);
				printf "%.0f %.0f %.2f %.0f %.2f", ns, u, u / ns, nv / vl, (aw + dw) / (bw + cw) }')
		set -- $line
		echo "$1" >>"$T/nsr-$per"; echo "$2" >>"$T/usr-$per"; echo "$3" >>"$T/ratios-$per"
		echo "$4" >>"$T/vr-$per"; echo "$5" >>"$T/wr-$per"
		echo "$bp50" >>"$T/p50-$per"; echo "$cp50" >>"$T/p50-$per"
		echo "$bp99" >>"$T/p99-$per"; echo "$cp99" >>"$T/p99-$per"
		nscpu=$(awk -v a="$acpu" -v b="$dcpu" 'BEGIN { printf "%.0f", (a + b) / 2 }')
		uscpu=$(awk -v a="$bcpu" -v b="$ccpu" 'BEGIN { printf "%.0f", (a + b) / 2 }')
		echo "$nscpu" >>"$T/nscpu-$per"; echo "$uscpu" >>"$T/uscpu-$per"
		printf "$H" "$r" "$per" "$1" "$2" "$3" "$cp50" "$cp99" "$nscpu" "$uscpu" "$4" "$5"
	done
	[ $fail = 1 ] && break
	printf "$H" median "$per" "$(med <"$T/nsr-$per")" "$(med <"$T/usr-$per")" "$(med <"$T/ratios-$per")" \
		"$(med <"$T/p50-$per")" "$(med <"$T/p99-$per")" "$(med <"$T/nscpu-$per")" "$(med <"$T/uscpu-$per")" \
		"$(med <"$T/vr-$per")" "$(med <"$T/wr-$per")"
	sort -g "$T/ratios-$per" | awk -v per="$per" -v med="$(med <"$T/ratios-$per")" \
		'{ a[NR] = $1 } END { printf "summary %s rec/msg: presage/nsupdate %.2f, median of %d rounds (lowest %.2f, highest %.2f)\n", per, med, NR, a[1], a[NR] }' \
		>>"$T/summary"
done
cat "$T/summary" 2>/dev/null
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ $fail = 1 ] && { echo "bench-dns: a run failed (see above)"; tail -5 "$T/named.log"; exit 0; }
echo "ratio: presage/nsupdate records/s over the send loops; wall-r: the same over whole processes (nsupdate start/exit included)"
echo "p50/p99: presage per-update latency; ns/us cpu: client CPU us per message (user+sys; nsupdate's start/exit CPU subtracted)"
echo "verify r/s: presage with one read-back query per record after each update (nsupdate does no read-back)"
echo "targets: ratio >= 1.00 at 1 rec/msg; >= 5000 records/s at 100 rec/msg"
