#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The BPF tests on Debian 12's stock kernel (6.1) in a qemu VM: vmtest/run.sh
# with its defaults (t-bpf-prog, t-ihm-netns and t-ihm-coexist in the guest,
# PRESAGE_QUICK=1). Skips when qemu or the Debian kernel is not installed
# (scripts/deps.sh installs both). Prints one PASS or FAIL line for the
# whole VM run, FAIL and SKIP lines for what failed or skipped inside it,
# and a "SUMMARY: vmtest <guest uname -r>: ..." line that tests/run.sh
# repeats at the end of `make test`. Takes about 3 minutes (TCG).
set -u
cd "$(dirname "$0")/.."
OUT=$(mktemp /tmp/presage-vmtest.XXXXXX)
trap 'rm -f "$OUT"' EXIT

vmtest/run.sh "$@" >"$OUT" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
	tail -n 1 "$OUT"
	exit 77
fi
summary=$(grep '^vmtest .*: [0-9]* passed' "$OUT" | tail -n 1)
kver=$(sed -n 's/^vmtest \([^:]*\): .*/\1/p' <<<"$summary")
# The guest's sub-results, named after the kernel they ran on; the rest as
# comments.
sed -e "s/^FAIL: /FAIL: vmtest ${kver:-?}: /" -e "s/^SKIP: /SKIP: vmtest ${kver:-?}: /" \
	-e '/^\(FAIL\|SKIP\): /!s/^/# /' "$OUT"
echo "SUMMARY: ${summary:-vmtest: no result (see above)}"
if [ $rc -eq 0 ]; then
	echo "PASS: vmtest_${kver}"
else
	echo "FAIL: vmtest_${kver:-unknown}: the VM run failed (status $rc)"
fi
exit $rc
