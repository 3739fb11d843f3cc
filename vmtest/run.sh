#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot a kernel in qemu (TCG software emulation: KVM is not needed) and run
# presage's BPF tests inside it, on the host's own binaries: the guest mounts
# the host's root read-only over 9p, and writes its results to a second,
# writable 9p share that this script reads back.
#
# Usage: vmtest/run.sh [options] [TEST...]
#   -k, --kernel VMLINUZ   kernel to boot (default: Debian 12's, the newest
#                          /boot/vmlinuz-6.1.*; also $KERNEL)
#   -m, --modules DIR      its modules (default: /lib/modules/<its version>)
#       --full             run the tests' full variants (default: PRESAGE_QUICK=1)
#   -t, --timeout SEC      the whole VM's time limit (default 600)
#   -h, --help
# TEST: tests/NAME.sh or $BUILD/tests/NAME, run in the guest in this order
# (default: t-bpf-prog t-ihm-netns t-ihm-coexist).
#
# Prints one line per guest test, then
#   "vmtest <guest uname -r>: N passed, N failed, N skipped (T s)"
# Exit status: 0 all passed, 1 a failure (or the VM did not finish),
# 77 nothing to run with (qemu or the kernel missing).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
KERNEL=${KERNEL:-}
MODDIR=
QUICK=1
TIMEOUT=600
PER_TEST=420
TESTS=()

usage() { sed -n '/^# Usage/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) KERNEL=${2:?--kernel needs a path}; shift 2 ;;
	-m|--modules) MODDIR=${2:?--modules needs a directory}; shift 2 ;;
	--full) QUICK=0; shift ;;
	-t|--timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "vmtest: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) TESTS+=("$1"); shift ;;
	esac
done
[ ${#TESTS[@]} -eq 0 ] && TESTS=(t-bpf-prog t-ihm-netns t-ihm-coexist)
case "$TIMEOUT" in ''|*[!0-9]*) echo "vmtest: --timeout takes whole seconds, not '$TIMEOUT'" >&2; exit 2 ;; esac

QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
	echo "vmtest: qemu-system-x86_64 is not installed (Debian: qemu-system-x86; scripts/deps.sh installs it)"
	exit 77
fi
if [ -z "$KERNEL" ]; then
	KERNEL=$(ls /boot/vmlinuz-6.1.* 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$KERNEL" ]; then
		echo "vmtest: no Debian 12 kernel in /boot/vmlinuz-6.1.* (Debian: linux-image-amd64; scripts/deps.sh installs it), or give one with KERNEL=/path/to/vmlinuz"
		exit 77
	fi
fi
if [ ! -r "$KERNEL" ]; then
	echo "vmtest: cannot read the kernel $KERNEL: give a readable bzImage with KERNEL=/path/to/vmlinuz" >&2
	exit 1
fi
# The version is in the bzImage header; file(1) prints it.
KVER=$(file -bL "$KERNEL" | sed -n 's/.*, version \([^ ]*\) .*/\1/p')
if [ -z "$KVER" ]; then
	echo "vmtest: $KERNEL is not an x86 bzImage that file(1) can read a version from" >&2
	exit 1
fi
MODDIR=${MODDIR:-/lib/modules/$KVER}
if [ ! -d "$MODDIR" ]; then
	echo "vmtest: no modules for $KVER in $MODDIR; the guest loads them from there (install them, or give --modules DIR)" >&2
	exit 1
fi
if [ "$MODDIR" != "/lib/modules/$KVER" ] && [ ! -e "/lib/modules/$KVER" ]; then
	# The guest's modprobe looks in /lib/modules/<uname -r> of the host's root.
	echo "vmtest: the guest can only load modules from /lib/modules/$KVER; link $MODDIR there" >&2
	exit 1
fi

OUT=$BUILD/vmtest/$KVER
INITRD=$BUILD/vmtest/initramfs-$KVER.cpio.gz
mkdir -p "$OUT"
# Rebuilt each run: cheap (about a second) and never stale.
vmtest/mkinitramfs.sh "$KVER" "$MODDIR" "$INITRD" >/dev/null || exit 1
RES=$(mktemp -d "$(cd "$OUT" && pwd)/results.XXXXXX")
trap 'rm -rf "$RES"' EXIT

tests_csv=$(IFS=,; echo "${TESTS[*]}")
echo "# vmtest: booting $KERNEL ($KVER) under qemu TCG, 2 vCPUs, 1 GiB; tests: ${TESTS[*]}$([ $QUICK = 1 ] && echo ' (PRESAGE_QUICK=1)')"
t0=$(date +%s)
timeout --kill-after=10 "$TIMEOUT" "$QEMU" -accel tcg -cpu max -smp 2 -m 1G \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 loglevel=4 presage.guest=$ROOT/vmtest/guest.sh presage.tree=$ROOT presage.build=$BUILD presage.tests=$tests_csv presage.quick=$QUICK presage.timeout=$PER_TEST" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$RES,mount_tag=results,security_model=none,multidevs=remap" \
	</dev/null >"$OUT/console.log" 2>&1
qrc=$?
elapsed=$(( $(date +%s) - t0 ))
cp -f "$RES"/*.log "$RES"/dmesg "$OUT"/ 2>/dev/null

guest=$(cat "$RES/uname" 2>/dev/null || echo "$KVER (did not boot)")
if [ ! -e "$RES/done" ]; then
	why="the VM stopped before the tests finished"
	[ $qrc -eq 124 ] && why="the VM did not finish within ${TIMEOUT}s"
	echo "FAIL: vmtest $guest: $why (qemu exit status $qrc); last lines of $OUT/console.log:"
	tail -n 30 "$OUT/console.log" | sed 's/^/    | /'
fi

pass=0 fail=0 skip=0
for name in "${TESTS[@]}"; do
	log=$RES/$name.log
	if [ ! -e "$RES/$name.rc" ]; then
		echo "FAIL: $name: did not run in the VM"
		fail=$((fail + 1))
		continue
	fi
	rc=$(cat "$RES/$name.rc")
	np=$(grep -c '^PASS: ' "$log") nf=$(grep -c '^FAIL: ' "$log") ns=$(grep -c '^SKIP: ' "$log")
	# Same counting as tests/run.sh.
	if [ $((np + nf + ns)) -eq 0 ]; then
		case $rc in 0) np=1 ;; 77) ns=1 ;; *) nf=1 ;; esac
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$nf" -eq 0 ]; then
		nf=1; echo "FAIL: $name: exited with status $rc" >> "$log"
	fi
	pass=$((pass + np)) fail=$((fail + nf)) skip=$((skip + ns))
	if [ "$nf" -gt 0 ]; then status=FAIL; elif [ "$ns" -gt 0 ] && [ "$np" -eq 0 ]; then status=SKIP; else status=ok; fi
	printf '%-6s %-20s %4d passed %3d failed %3d skipped  %6ss   (log: %s)\n' "$status" "$name" "$np" "$nf" "$ns" "$(cat "$RES/$name.time")" "$OUT/$name.log"
	# Sub-results named after their test (the guest's own lines already are).
	awk -v n="$name" '/^(FAIL|SKIP): / { r = substr($0, 7); if (index(r, n ": ") != 1) r = n ": " r; print substr($0, 1, 6) r }' "$log"
	grep '^# ' "$log" | sed 's/^/    /'
	cp -f "$log" "$OUT/$name.log"
done
[ -e "$RES/done" ] || fail=$((fail + 1))
echo "vmtest $guest: $pass passed, $fail failed, $skip skipped (${elapsed}s)"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
