#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install every build and test dependency of presage with apt-get.
# Idempotent and quiet: when everything is present it prints nothing and
# touches nothing. Usage: scripts/deps.sh [--check]
set -euo pipefail

PKGS=(
	# build
	build-essential clang llvm libbpf-dev libxdp-dev libelf-dev zlib1g-dev
	libmnl-dev libssl-dev libsqlite3-dev librsync-dev libmicrohttpd-dev libgnutls28-dev
	libcurl4-openssl-dev libjson-c-dev sqlite3
	pkg-config bpftool linux-libc-dev
	# run and test
	iproute2 xdp-tools iputils-ping ethtool socat python3 curl
	bind9 bind9-utils bind9-dnsutils knot knot-dnsutils bird2 nginx-light
	rsync rdiff prometheus openssl
	# vmtest
	qemu-system-x86 busybox-static linux-image-amd64 file cpio
)

missing=()
for p in "${PKGS[@]}"; do
	case "$p" in \#*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done

if [ "${1:-}" = "--check" ]; then
	[ ${#missing[@]} -eq 0 ] && exit 0
	echo "missing packages: ${missing[*]}" >&2
	exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Distribution packages start their daemons; presage starts its own
	# instances in namespaces, so keep the system ones out of the way.
	for s in named bind9 knot bird nginx prometheus; do
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
fi

# bpffs: the agent pins its maps under /sys/fs/bpf/presage.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
exit 0
