#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reaction times of the whole system on the three-POP lab (real agents,
# controller, BIND):
#   cut -> DNS     popC's only interconnect is cut; time until the
#                  authoritative server answers static.cdn.test with another
#                  POP (target: <= 300 ms)
#   burst -> order popA's upstream withdraws 150 of its 200 prefixes at once;
#                  time until the controller journals its first mirror order
# The baseline, measured in the same run: one signed RFC 2136 UPDATE and its
# answer (nsupdate from the controller's namespace to the same server), the
# floor under any DNS failover. Never fails on timing.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} LAB3_PREFIX=bfo LAB3_DIR=/run/presage-lab3-bfo
D=$LAB3_DIR
export PRESAGE_SOCKET=$D/cmmd.sock
[ -x "$BUILD/cmmd" ] || { echo "   skipped: $BUILD/cmmd is not built"; exit 0; }
trap 'scripts/lab3 down >/dev/null 2>&1' EXIT
scripts/lab3 down >/dev/null 2>&1
scripts/lab3 up >/tmp/bench-failover.up.log 2>&1 || { echo "   skipped: the lab did not come up (/tmp/bench-failover.up.log)"; exit 0; }
ms() { date +%s%3N; }
div() { python3 -c "print($1 / $2)"; }
ctl() { ip netns exec bfo-ctl "$@"; }
answer() { ctl dig +short +norec +time=1 +tries=1 @10.77.0.53 "$1" A 2>/dev/null | head -1; }

# Every POP known to the controller, and a little history for the predictor.
for _ in $(seq 1 120); do
	n=$("$BUILD/presage" -j status 2>/dev/null | python3 -c 'import json,sys; print(sum(p["state"] == "ok" for p in json.load(sys.stdin)["pops"]))' 2>/dev/null)
	[ "${n:-0}" = 3 ] && break
	sleep 0.25
done
sleep 15

# Baseline: a signed UPDATE round trip, median of 5.
base=$(for i in 1 2 3 4 5; do
	t0=$(date +%s%N)
	printf 'server 10.77.0.53\nzone cdn.test\nupdate delete bench%s.cdn.test A\nupdate add bench%s.cdn.test 5 A 192.0.2.%s\nsend\n' "$i" "$i" "$i" |
		ctl nsupdate -k "$D/pki/presage.key" >/dev/null 2>&1
	echo $((($(date +%s%N) - t0) / 1000))
done | sort -n | sed -n 3p)

# cut -> DNS answer (popC, primary of static.cdn.test)
was=$(answer static.cdn.test)
t0=$(ms)
scripts/lab3 degrade popc cut >/dev/null
cut=
for _ in $(seq 1 2000); do
	a=$(answer static.cdn.test)
	if [ -n "$a" ] && [ "$a" != "$was" ]; then cut=$(($(ms) - t0)); break; fi
	sleep 0.005
done

# withdrawal burst -> first mirror order (popA)
t0=$(ms)
scripts/lab3 degrade popa withdraw 150 >/dev/null
order=
for _ in $(seq 1 600); do
	t=$("$BUILD/presage" -j events 2>/dev/null | python3 -c '
import json, sys
ev = json.load(sys.stdin).get("events", [])
print(next((e["ts_ms"] for e in ev if e.get("action") == "mirror-order" and e.get("pop") == "popA"), ""))' 2>/dev/null)
	if [ -n "$t" ]; then order=$((t - t0)); break; fi
	sleep 0.1
done

printf '   %-44s %12s %10s\n' "" "ms" "x UPDATE"
printf '   %-44s %12.1f %10s\n' "baseline: one signed UPDATE round trip" "$(div "$base" 1000)" "1.00"
if [ -n "$cut" ]; then
	printf '   %-44s %12d %10.1f   (%s -> %s; target <= 300 ms)\n' "link cut -> authoritative answers another POP" "$cut" \
		"$(div $((cut * 1000)) "$base")" "$was" "$(answer static.cdn.test)"
else
	echo "   link cut -> authoritative answers another POP: no change within 10 s"
fi
if [ -n "$order" ]; then
	printf '   %-44s %12d %10.1f\n' "withdrawal burst -> first mirror order" "$order" "$(div $((order * 1000)) "$base")"
else
	echo "   withdrawal burst -> first mirror order: none within 60 s"
fi
