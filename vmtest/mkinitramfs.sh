#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the vmtest initramfs for one kernel: busybox-static, vmtest/init, and
# the modules that the guest needs before it can mount the host's root over
# 9p (virtio, 9p and their dependencies, in load order). Everything else the
# guest loads later with the host's own modprobe, from the host's
# /lib/modules/<version>, which the guest sees through 9p.
#
# Usage: vmtest/mkinitramfs.sh KERNEL_VERSION MODULES_DIR OUTPUT.cpio.gz
#   MODULES_DIR is /lib/modules/KERNEL_VERSION for a distribution kernel.
# Built at run time into the build directory; never committed.
set -euo pipefail

KVER=${1:?usage: mkinitramfs.sh KERNEL_VERSION MODULES_DIR OUTPUT}
MODDIR=${2:?usage: mkinitramfs.sh KERNEL_VERSION MODULES_DIR OUTPUT}
OUT=${3:?usage: mkinitramfs.sh KERNEL_VERSION MODULES_DIR OUTPUT}
HERE=$(cd "$(dirname "$0")" && pwd)

# What the guest needs to reach its root. A module the kernel has built in
# (listed in modules.builtin) is simply not loaded.
WANT=(virtio_pci 9pnet_virtio 9p)

BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ! file -bL "$BUSYBOX" | grep -q 'statically linked'; then
	echo "mkinitramfs: a statically linked busybox is needed (Debian: apt-get install busybox-static, or run scripts/deps.sh)" >&2
	exit 1
fi
if [ ! -r "$MODDIR/modules.dep" ]; then
	echo "mkinitramfs: $MODDIR/modules.dep is missing: install the modules of kernel $KVER (Debian: linux-image-$KVER) or pass the right directory" >&2
	exit 1
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/presage-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,dev,proc,sys,newroot,modules}
cp "$BUSYBOX" "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"
cp "$HERE/init" "$STAGE/init"
chmod 755 "$STAGE/init"

# Resolve dependencies from modules.dep (each line: "path: dep dep ..."),
# depth first, so every module follows the ones it needs.
declare -A DEP SEEN
while IFS=: read -r path deps; do
	name=$(basename "$path"); name=${name%%.ko*}
	DEP[$name]="$path:$deps"
done < "$MODDIR/modules.dep"
ORDER=()
add() {
	local m=${1//-/_} entry path d
	[ -n "${SEEN[$m]:-}" ] && return 0
	SEEN[$m]=1
	entry=${DEP[$m]:-}
	if [ -z "$entry" ]; then
		# Built in: nothing to load.
		grep -qE "/${m//_/[-_]}\.ko" "$MODDIR/modules.builtin" 2>/dev/null && return 0
		echo "mkinitramfs: module $m is neither in $MODDIR/modules.dep nor built in; this kernel cannot mount a 9p root" >&2
		exit 1
	fi
	path=${entry%%:*}
	for d in ${entry#*:}; do
		d=$(basename "$d"); add "${d%%.ko*}"
	done
	ORDER+=("$path")
}
for m in "${WANT[@]}"; do add "$m"; done

: > "$STAGE/modules/order"
for path in "${ORDER[@]}"; do
	f=$(basename "$path")
	case "$f" in
	*.ko) cp "$MODDIR/$path" "$STAGE/modules/$f" ;;
	# busybox insmod takes plain .ko files; decompress here.
	*.ko.xz) xz -dc "$MODDIR/$path" > "$STAGE/modules/${f%.xz}"; f=${f%.xz} ;;
	*.ko.zst) zstd -qdc "$MODDIR/$path" > "$STAGE/modules/${f%.zst}"; f=${f%.zst} ;;
	*.ko.gz) gzip -dc "$MODDIR/$path" > "$STAGE/modules/${f%.gz}"; f=${f%.gz} ;;
	*) echo "mkinitramfs: $path: unknown module compression" >&2; exit 1 ;;
	esac
	echo "$f" >> "$STAGE/modules/order"
done

mkdir -p "$(dirname "$OUT")"
(cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "initramfs for $KVER: $OUT ($(du -k "$OUT" | cut -f1) KiB; modules: $(tr '\n' ' ' < "$STAGE/modules/order"))"
