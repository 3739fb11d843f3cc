#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# PFA throughput (samples/s through features and scoring, one core) and
# memory per interconnect, against a trivial pass over the same samples
# measured in the same run. Never fails on timing.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}/pfa/bench-pfa
if [ ! -x "$B" ]; then
	echo "bench-pfa: $B not built (make bench builds it)"
	exit 0
fi
# Pin to one core when taskset is there: the figure is per core.
if command -v taskset >/dev/null; then
	exec taskset -c 0 "$B" "${PFA_BENCH_PASSES:-5}"
fi
exec "$B" "${PFA_BENCH_PASSES:-5}"
