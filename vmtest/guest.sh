#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Stage 2 of the vmtest guest, PID 1 after switch_root into the host's root
# (read-only over 9p). Gives the tests the writable places they need (tmpfs
# on /run, /tmp, /dev/shm; bpffs; debugfs), mounts the writable 9p share
# "results", runs the tests named on the kernel command line from the
# host's tree, writes each test's log and status there, and powers off.
#
# Kernel command line (set by vmtest/run.sh):
#   presage.tree=DIR      the presage tree as the host sees it
#   presage.build=DIR     its build directory (relative to the tree)
#   presage.tests=A,B     test names (tests/NAME.sh or BUILD/tests/NAME)
#   presage.quick=0|1     exported as PRESAGE_QUICK to the tests
#   presage.timeout=SEC   per-test time limit
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1

off() {
	sync
	echo o > /proc/sysrq-trigger
	sleep 30
}

TREE= BUILDDIR=build TESTS= QUICK=1 PER_TEST=300
for a in $(cat /proc/cmdline); do
	case "$a" in
	presage.tree=*) TREE=${a#*=} ;;
	presage.build=*) BUILDDIR=${a#*=} ;;
	presage.tests=*) TESTS=${a#*=} ;;
	presage.quick=*) QUICK=${a#*=} ;;
	presage.timeout=*) PER_TEST=${a#*=} ;;
	esac
done

# A tree under /tmp or /run (CI clones into /tmp) would be hidden by the
# tmpfs mounts below: hold it on /mnt (an empty directory on Debian's root)
# and bind it back at the same path on the tmpfs.
HOLD=
case "$TREE" in
/tmp/*|/run/*)
	if mount --bind "$TREE" /mnt; then HOLD=/mnt; else echo "vmtest-guest: cannot hold $TREE on /mnt" >&2; fi ;;
esac
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
if [ -n "$HOLD" ]; then
	mkdir -p "$TREE" && mount --bind "$HOLD" "$TREE" ||
		echo "vmtest-guest: cannot bind $TREE back over the tmpfs" >&2
fi
mkdir -p /dev/shm /dev/pts /run/netns /run/lock /run/results
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /run/results; then
	echo "vmtest-guest: cannot mount the 9p share 'results'" >&2
	off
fi
R=/run/results
ip link set lo up
hostname presage-vmtest

uname -r > $R/uname.tmp && mv $R/uname.tmp $R/uname
cat /sys/kernel/security/lockdown > $R/lockdown 2>/dev/null
# Memory and CPUs the tests saw, for the report.
echo "$(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB" > $R/machine

cd "$TREE" || { echo "cd $TREE failed" > $R/error; off; }
export BUILD=$BUILDDIR PRESAGE_ROOT=$TREE PRESAGE_QUICK=$QUICK PRESAGE_VMTEST=1

# DENYLIST: "name reason..." per line; # starts a comment.
deny_reason() {
	awk -v t="$1" '!/^[[:space:]]*(#|$)/ && $1 == t { $1 = ""; sub(/^ /, ""); print; exit }' vmtest/DENYLIST
}

for name in ${TESTS//,/ }; do
	if [ -x "tests/$name.sh" ]; then path=tests/$name.sh
	elif [ -x "$BUILD/tests/$name" ]; then path=$BUILD/tests/$name
	else
		echo "FAIL: $name: no tests/$name.sh or $BUILD/tests/$name in $TREE (build first)" > $R/$name.log
		echo 1 > $R/$name.rc; echo 0 > $R/$name.time
		continue
	fi
	reason=$(deny_reason "$name")
	if [ -n "$reason" ]; then
		echo "SKIP: $name: on the vmtest DENYLIST: $reason" > $R/$name.log
		echo 77 > $R/$name.rc; echo 0 > $R/$name.time
		continue
	fi
	echo "vmtest-guest: running $name" > /dev/console
	t0=$(date +%s.%N)
	timeout --kill-after=10 "$PER_TEST" "$path" > $R/$name.log 2>&1 < /dev/null
	rc=$?
	[ $rc -eq 124 ] && echo "FAIL: $name: timed out after ${PER_TEST}s in the VM" >> $R/$name.log
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' > $R/$name.time
	echo $rc > $R/$name.rc
	echo "vmtest-guest: $name exited with status $rc" > /dev/console
done
dmesg > $R/dmesg
echo ok > $R/done
off
