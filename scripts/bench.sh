#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: runs every scripts/bench-*.sh in name order. Each prints a
# table of ratios against a baseline measured in the same run. Benchmarks
# never fail the build on timing; a benchmark that cannot run says why.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} PRESAGE_ROOT=$PWD
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
rc=0
for b in scripts/bench-*.sh; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	"$b" || { echo "   ($b exited with $?)"; rc=1; }
	echo
done
exit $rc
