#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Numbers on the command lines of `presage mirror` and presage-mirrord: a
# value that is not a number, or is out of range, is refused with exit 2 and
# a message naming the option, the range and the value (atoi()/atof() used to
# turn "abc" into 0 and "-1" into a huge unsigned). A valid value gets past
# option parsing to the next check. No namespaces, no network.
set -u
cd "$(dirname "$0")/.."
. tests/t-mirror-lib.inc
FAILED=0
T=$(mktemp -d /tmp/pmir-args.XXXXXX)
trap 'rm -rf "$T"' EXIT

# refused NAME "expected stderr" command...
refused() {
	local n=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(cat "$T/err")" = "$want" ]; then
		pass "$n"
	else
		fail "$n" "rc $rc, stderr: $(head -c 300 "$T/err")"
	fi
}

M="$PRESAGE mirror"
refused top_n_word "mirror top: -n takes a whole number from 1 to 10000000, not 'ten'" \
	$M top --log /dev/null -n ten
refused top_n_negative "mirror top: -n takes a whole number from 1 to 10000000, not '-1'" \
	$M top --log /dev/null -n -1
refused top_counters_suffix "mirror top: --counters takes a whole number from 1 to 10000000, not '4k'" \
	$M top --log /dev/null --counters 4k
refused top_half_life_negative "mirror top: --half-life takes a number from 0 to 1e+09, not '-5'" \
	$M top --log /dev/null --half-life -5
refused top_interval_zero "mirror top: --interval takes a number from 0.01 to 3600, not '0'" \
	$M top --log /dev/null --follow --interval 0
refused top_duration_nan "mirror top: --duration takes a number from 0 to 1e+09, not 'nan'" \
	$M top --log /dev/null --follow --duration nan
refused plan_lead_word "mirror plan: --lead takes a number from 0 to 86400, not 'soon'" \
	$M plan --topology x --at-risk a --items y --lead soon
refused plan_budget_bytes_negative \
	"mirror plan: --budget-bytes takes a whole number from 0 to 18446744073709551615, not '-1'" \
	$M plan --topology x --at-risk a --items y --budget-bytes -1
refused plan_budget_cost_trailing "mirror plan: --budget-cost takes a number from 0 to 1e+18, not '12EUR'" \
	$M plan --topology x --at-risk a --items y --budget-cost 12EUR
refused sign_ttl_zero "mirror sign: --ttl takes a whole number from 1 to 31536000, not '0'" \
	$M sign --key k --source a --source-addr 127.0.0.1:1 --dest b --host h --ttl 0
refused sign_bwlimit_unit "mirror sign: --bwlimit takes a whole number from 0 to 18446744073709551615, not '10M'" \
	$M sign --key k --source a --source-addr 127.0.0.1:1 --dest b --host h --bwlimit 10M
refused pull_parallel_range "mirror pull: --parallel takes a whole number from 1 to 64, not '65'" \
	$M pull --parallel 65
refused pull_parallel_suffix "mirror pull: --parallel takes a whole number from 1 to 64, not '3x'" \
	$M pull --parallel 3x
refused pull_root_missing "mirror pull: --root needs a value" $M pull --root
refused mirrord_bwlimit_word "presage-mirrord: --bwlimit takes bytes per second (a whole number), not 'fast'" \
	$MIRRORD serve --bwlimit fast

# Valid numbers pass option parsing and are used: a real log is ranked.
for i in 1 2 3; do
	echo "h1.test 127.0.0.1 - - [26/Nov/2026:10:00:0$i +0000] \"GET /a.bin HTTP/1.1\" 200 100 \"-\" \"t\""
done >"$T/access.log"
echo "h1.test 127.0.0.1 - - [26/Nov/2026:10:00:04 +0000] \"GET /b.bin HTTP/1.1\" 200 100 \"-\" \"t\"" >>"$T/access.log"
$M top --log "$T/access.log" --format host -n 1 --counters 50 --half-life 0 -j >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "h1.test/a.bin" "$T/out" && ! grep -q "b.bin" "$T/out"; then
	pass top_valid_numbers_used
else
	fail top_valid_numbers_used "rc $rc, out: $(head -c 300 "$T/out") err: $(head -c 300 "$T/err")"
fi
exit $FAILED
