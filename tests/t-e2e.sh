#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End to end: the demo's scenario (scripts/scenario.sh) on the three-POP lab
# with the real agents, controller, presage-mirrord, BIND, nginx and clients,
# checked by scripts/scenario-check.py:
#   - the probability crossed the threshold before the cut
#   - each hostname's hot set was verified at B before its DNS changed
#   - DNS answered B before the cut
#   - from the cut on, fewer than 1 % of client requests failed; none ever
#     returned wrong content (every body's SHA-256 is checked)
#   - A's content was marked not primary while B served
#   - failback completed (NORMAL, served by A)
#   - every DNS change in the journal was applied exactly once (BIND's log)
# Then the same with the controller killed (kill -9) at random points and
# restarted: the scenario completes, no DNS change lost or applied twice.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD LAB3_PREFIX=e2e LAB3_DIR=/run/presage-lab3-e2e
OUT=$(mktemp -d /tmp/t-e2e.XXXXXX)
trap 'scripts/lab3 down >/dev/null 2>&1; rm -rf "$OUT"' EXIT
[ -x "$BUILD/cmmd" ] || { echo "SKIP: e2e: $BUILD/cmmd is not built"; exit 77; }

run() { # NAME [scenario options]
	local name=$1; shift
	mkdir -p "$OUT/$name"
	echo "# scenario '$name' $*"
	if SCENARIO_OUT=$OUT/$name scripts/scenario.sh --quiet "$@" >"$OUT/$name.log" 2>&1; then
		echo "PASS: $name: scenario_completed"
	else
		echo "FAIL: $name: scenario_completed: $(tail -n 3 "$OUT/$name.log" | tr '\n' ' ')"
		sed 's/^/# /' "$OUT/$name.log" | tail -n 30
		tail -n 30 "$OUT/$name/cmmd.log" 2>/dev/null | sed 's/^/# cmmd: /'
	fi
	python3 scripts/scenario-check.py --dir "$OUT/$name" --conf "$OUT/$name/cmmd.conf" | sed "s/^\(PASS\|FAIL\): /\1: $name: /"
	grep -c 'kill9' "$OUT/$name/scenario.marks" 2>/dev/null | sed 's/^/# controller kills: /'
}

run plain
run kill9 --kill9 2
