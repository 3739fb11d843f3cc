#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make install: PREFIX and DESTDIR honoured, the unit names the installed
# binary and passes systemd-analyze verify, the installed agent accepts the
# example config, and a second install keeps an operator's edited config.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/presage-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }

make -s install BUILD="$BUILD" DESTDIR="$T/stage" PREFIX=/usr >"$T/out" 2>&1 || { cat "$T/out"; fail "make install DESTDIR=... PREFIX=/usr"; exit 1; }
missing=
for f in usr/bin/presage usr/bin/presage-dropper usr/sbin/ihmd usr/sbin/presage-mirrord \
	usr/lib/systemd/system/presage-ihmd.service etc/presage/ihmd.conf \
	usr/share/doc/presage/ihmd.conf.example usr/share/doc/presage/README.md; do
	[ -e "$T/stage/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && pass "DESTDIR install has every file" || fail "DESTDIR install lacks:$missing"
[ -x "$T/stage/usr/sbin/ihmd" ] && [ "$(stat -c %a "$T/stage/etc/presage/ihmd.conf")" = 640 ] &&
	pass "modes: binaries executable, config 0640" || fail "modes wrong"
grep -q '^ExecStart=/usr/sbin/ihmd -c /etc/presage/ihmd.conf' "$T/stage/usr/lib/systemd/system/presage-ihmd.service" &&
	! grep -q "$T" "$T/stage/usr/lib/systemd/system/presage-ihmd.service" &&
	pass "unit runs /usr/sbin/ihmd, no staging path leaked" || fail "unit ExecStart wrong"
grep -q '^After=network-online.target' "$T/stage/usr/lib/systemd/system/presage-ihmd.service" &&
	grep -q '^KillSignal=SIGTERM' "$T/stage/usr/lib/systemd/system/presage-ihmd.service" &&
	pass "unit starts after network-online and stops with SIGTERM" || fail "unit ordering/stop"

# A real prefix, so systemd-analyze can check that the binaries exist.
make -s install BUILD="$BUILD" PREFIX="$T/pfx" UNITDIR="$T/unit" CONFDIR="$T/etc" >"$T/out" 2>&1 || { cat "$T/out"; fail "make install PREFIX=$T/pfx"; }
if command -v systemd-analyze >/dev/null; then
	if systemd-analyze verify "$T/unit/presage-ihmd.service" >"$T/verify" 2>&1; then
		pass "systemd-analyze verify accepts the unit"
	else
		cat "$T/verify"; fail "systemd-analyze verify"
	fi
fi
if "$T/pfx/sbin/ihmd" -c "$T/etc/ihmd.conf" --check >"$T/check" 2>&1 &&
	grep -q '^transit-a: interface eth1' "$T/check"; then
	pass "installed ihmd --check accepts the example config"
else
	cat "$T/check"; fail "installed ihmd rejects the example config"
fi
echo "# edited by the operator" >>"$T/etc/ihmd.conf"
make -s install BUILD="$BUILD" PREFIX="$T/pfx" UNITDIR="$T/unit" CONFDIR="$T/etc" >"$T/out" 2>&1
grep -q '^# edited by the operator' "$T/etc/ihmd.conf" && pass "reinstall keeps the edited config" ||
	fail "reinstall overwrote the config"
if make -s install BUILD="$BUILD" PREFIX=relative/path >"$T/out" 2>&1; then
	fail "relative PREFIX accepted"
else
	grep -q "PREFIX must be an absolute path" "$T/out" && pass "relative PREFIX refused with a message" || fail "relative PREFIX: no clear message"
fi
exit $FAILED
