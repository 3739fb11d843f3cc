#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make install`: binaries, the example agent config and the systemd unit.
# Honours PREFIX (default /usr/local) and DESTDIR (staging root); UNITDIR and
# CONFDIR override where the unit and the config go. Never
# overwrites an existing /etc/presage/ihmd.conf; never enables the unit.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
case "$PREFIX" in /*) ;; *) echo "install: PREFIX must be an absolute path, not '$PREFIX'" >&2; exit 2 ;; esac

BINDIR=$PREFIX/bin
SBINDIR=$PREFIX/sbin
DOCDIR=$PREFIX/share/doc/presage
# A unit under /usr/local goes to /etc/systemd/system (systemd does not read
# /usr/local/lib/systemd); under /usr, to the vendor directory.
# UNITDIR and CONFDIR may be set to override.
if [ -z "${UNITDIR:-}" ]; then
	if [ "$PREFIX" = /usr ]; then UNITDIR=/usr/lib/systemd/system; else UNITDIR=/etc/systemd/system; fi
fi
CONFDIR=${CONFDIR:-/etc/presage}

for b in presage presage-dropper ihmd presage-mirrord cmmd; do
	[ -x "$BUILD/$b" ] || { echo "install: $BUILD/$b is missing; run make first" >&2; exit 1; }
done
install -d "$DESTDIR$BINDIR" "$DESTDIR$SBINDIR" "$DESTDIR$DOCDIR" "$DESTDIR$UNITDIR" "$DESTDIR$CONFDIR"
install -m 0755 "$BUILD/presage" "$BUILD/presage-dropper" "$DESTDIR$BINDIR/"
install -m 0755 "$BUILD/ihmd" "$BUILD/presage-mirrord" "$BUILD/cmmd" "$DESTDIR$SBINDIR/"
install -m 0644 user/dist/ihmd.conf.example user/dist/cmmd.conf.example "$DESTDIR$DOCDIR/"
install -m 0644 README.md "$DESTDIR$DOCDIR/README.md"
[ -d docs ] && install -m 0644 docs/*.md "$DESTDIR$DOCDIR/"
if [ ! -e "$DESTDIR$CONFDIR/ihmd.conf" ]; then
	install -m 0640 user/dist/ihmd.conf.example "$DESTDIR$CONFDIR/ihmd.conf"
	echo "installed an example config at $DESTDIR$CONFDIR/ihmd.conf: edit its interconnects"
fi
sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@CONFDIR@|$CONFDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" user/dist/presage-ihmd.service.in \
	>"$DESTDIR$UNITDIR/presage-ihmd.service.tmp"
chmod 0644 "$DESTDIR$UNITDIR/presage-ihmd.service.tmp"
mv "$DESTDIR$UNITDIR/presage-ihmd.service.tmp" "$DESTDIR$UNITDIR/presage-ihmd.service"
sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@CONFDIR@|$CONFDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" user/dist/presage-cmmd.service.in \
	>"$DESTDIR$UNITDIR/presage-cmmd.service.tmp"
chmod 0644 "$DESTDIR$UNITDIR/presage-cmmd.service.tmp"
mv "$DESTDIR$UNITDIR/presage-cmmd.service.tmp" "$DESTDIR$UNITDIR/presage-cmmd.service"
echo "installed into ${DESTDIR:-/}: $BINDIR/{presage,presage-dropper} $SBINDIR/{ihmd,presage-mirrord,cmmd} $UNITDIR/presage-{ihmd,cmmd}.service"
[ -n "$DESTDIR" ] || echo "start the agent with: systemctl daemon-reload && systemctl enable --now presage-ihmd"
