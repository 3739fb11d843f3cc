#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The test runner behind `make test`. It runs, in name order:
#   - every executable tests/t-*.sh (shell tests: namespaces, real servers)
#   - every binary $BUILD/tests/t-* (C tests built by the module.mk files)
# A test reports sub-results as lines "PASS: name", "FAIL: name: why" or
# "SKIP: name: why"; a test that prints none of these counts as one result
# by its exit status (0 pass, 77 skip, anything else fail).
# A line "SUMMARY: text" in a test's output is repeated at the end (vmtest
# prints the guest kernel and its counts this way).
# Output of each test goes to $BUILD/test-logs/<test>.log; a failing test's
# log tail is shown. Ends with one line: "N passed, N failed, N skipped".
#
# Usage: tests/run.sh [PATTERN]   (PATTERN: substring of test names to run)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PATTERN=${1:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-900}
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
export BUILD PRESAGE_ROOT=$PWD

if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root (BPF, network namespaces)" >&2
	exit 1
fi
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf || { echo "cannot mount bpffs on /sys/fs/bpf" >&2; exit 1; }
fi

tests=()
for t in tests/t-*.sh "$BUILD"/tests/t-*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue ;; esac
	[ -n "$PATTERN" ] && [[ "$t" != *"$PATTERN"* ]] && continue
	tests+=("$t")
done

pass=0 fail=0 skip=0
failed=() skipped=() summaries=()
start_all=$(date +%s)
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$LOGDIR/$name.log
	t0=$(date +%s.%N)
	timeout --kill-after=10 "$TEST_TIMEOUT" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	np=$(grep -c '^PASS: ' "$log")
	nf=$(grep -c '^FAIL: ' "$log")
	ns=$(grep -c '^SKIP: ' "$log")
	if [ $((np + nf + ns)) -eq 0 ]; then
		case $rc in
		0) np=1 ;;
		77) ns=1; echo "SKIP: $name: $(tail -n 1 "$log")" >>"$log" ;;
		*) nf=1 ;;
		esac
	elif [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "$nf" -eq 0 ]; then
		# Sub-results all passed but the test died afterwards.
		nf=1
		echo "FAIL: $name: exited with status $rc" >>"$log"
	fi
	[ $rc -eq 124 ] && echo "FAIL: $name: timed out after ${TEST_TIMEOUT}s" >>"$log"
	pass=$((pass + np)) fail=$((fail + nf)) skip=$((skip + ns))
	if [ "$nf" -gt 0 ]; then
		status=FAIL
		failed+=("$name")
	elif [ "$ns" -gt 0 ] && [ "$np" -eq 0 ]; then
		status=SKIP
	else
		status=ok
	fi
	printf '%-6s %-34s %4d passed %3d failed %3d skipped  %6ss\n' "$status" "$name" "$np" "$nf" "$ns" "$dt"
	if [ "$nf" -gt 0 ]; then
		grep '^FAIL: ' "$log" | head -n 20 | sed 's/^/         /'
		echo "         --- last lines of $log:"
		tail -n 25 "$log" | sed 's/^/         | /'
	fi
	while IFS= read -r l; do skipped+=("${l#SKIP: }"); done < <(grep '^SKIP: ' "$log")
	# A test's own one-line summary (vmtest: guest kernel and counts).
	while IFS= read -r l; do summaries+=("${l#SUMMARY: }"); done < <(grep '^SUMMARY: ' "$log")
done

echo
if [ ${#skipped[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skipped[@]}"
fi
[ ${#failed[@]} -gt 0 ] && echo "failed tests: ${failed[*]}"
[ ${#summaries[@]} -gt 0 ] && printf '%s\n' "${summaries[@]}"
echo "total time: $(( $(date +%s) - start_all ))s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ $((pass + skip)) -gt 0 ]
