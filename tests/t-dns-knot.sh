#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# RFC 2136 + TSIG against a real Knot DNS (knotd) on 127.0.0.1, keys from keymgr -t.
SERVER=knot
. "$(dirname "$0")/t-dns-lib.inc"

command -v knotd >/dev/null && command -v keymgr >/dev/null || { echo "knotd or keymgr missing"; exit 77; }

keymgr -t presage-key hmac-sha256 >"$T/k.yaml"
keymgr -t presage-key hmac-sha256 >"$T/kbad.yaml"
keymgr -t unknown-key hmac-sha256 >"$T/kunk.yaml"
keymgr -t key-sha512 hmac-sha512 >"$T/k-sha512.yaml"
mkdir -p "$T/db"
write_zone example.test
write_zone other.test
# keymgr writes a "key:" section; Knot's config merges both includes.
cat >"$T/knot.conf" <<EOF2
server:
    rundir: "$T"
    listen: 127.0.0.1@$PORT
database:
    storage: "$T/db"
log:
  - target: stderr
    any: info
include: "$T/k.yaml"
include: "$T/k-sha512.yaml"
acl:
  - id: upd
    key: [presage-key, key-sha512]
    action: update
template:
  - id: default
    storage: "$T"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: example.test
    acl: upd
  - domain: other.test
    acl: upd
EOF2
knotd -c "$T/knot.conf" >"$T/knotd.log" 2>&1 &
SRV_PID=$!
if ! wait_up; then
	echo "FAIL: knot: knotd did not start"; tail -20 "$T/knotd.log"; exit 1
fi
pass "knotd up on 127.0.0.1@$PORT"

run_scenarios "$T/k.yaml" "$T/kbad.yaml" "$T/kunk.yaml"

if pd update --key "$T/k-sha512.yaml" "add:alg-sha512.example.test:300:A:192.0.2.5" >/dev/null &&
	[ "$(kdigs alg-sha512.example.test A)" = 192.0.2.5 ]; then
	pass "hmac-sha512 key from keymgr -t"
else
	fail "hmac-sha512" "update not applied: $(tail -1 "$T/cli.err")"
fi
[ $nfail -eq 0 ] || { echo "--- knotd log"; tail -30 "$T/knotd.log"; }
exit $((nfail > 0))
