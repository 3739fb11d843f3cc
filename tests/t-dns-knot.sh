#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# RFC 2136 + TSIG against a real Knot DNS (knotd) on 127.0.0.1, keys from keymgr -t.
SERVER=knot
. "$(dirname "$0")/t-dns-lib.inc"

command -v knotd >/dev/null && command -v keymgr >/dev/null || { echo "knotd or keymgr missing"; exit 77; }

keymgr -t presage-key hmac-sha256 >"$T/k.yaml"
keymgr -t presage-key hmac-sha256 >"$T/kbad.yaml"
keymgr -t unknown-key hmac-sha256 >"$T/kunk.yaml"
# a key the server knows, with update rights only on nokey.test
keymgr -t other-key hmac-sha256 >"$T/kother.yaml"
keymgr -t key-sha512 hmac-sha512 >"$T/k-sha512.yaml"
mkdir -p "$T/db"
write_zone example.test
write_zone other.test
write_zone nokey.test
write_zone full.test
# broken.test does not load (unknown type)
write_zone broken.test
echo "bad IN BOGUSTYPE 1" >>"$T/broken.test.zone"
# keymgr writes a "key:" section; Knot's config merges both includes.
cat >"$T/knot.conf" <<EOF2
server:
    rundir: "$T"
    listen: 127.0.0.1@$PORT
    # the TCP reconnect test outlasts it (Knot sweeps idle clients every few s)
    tcp-idle-timeout: 1s
database:
    storage: "$T/db"
log:
  - target: stderr
    # debug: ACL lines name each update's client port (TCP reuse test)
    any: debug
include: "$T/k.yaml"
include: "$T/k-sha512.yaml"
include: "$T/kother.yaml"
# counts requests with an OPT (EDNS test)
mod-stats:
  - id: stats
    edns-presence: on
acl:
  - id: upd
    key: [presage-key, key-sha512]
    action: update
  - id: other
    key: other-key
    action: update
template:
  - id: default
    storage: "$T"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: changes
    global-module: mod-stats/stats
zone:
  - domain: example.test
    acl: upd
  - domain: other.test
    acl: upd
  - domain: nokey.test
    acl: other
  - domain: broken.test
    acl: upd
  # the smallest journal Knot allows, and no flushing to the zone file: it
  # fills up and further updates cannot be written
  - domain: full.test
    acl: upd
    journal-max-usage: 1M
EOF2
knotd -c "$T/knot.conf" >"$T/knotd.log" 2>&1 &
SRV_PID=$!
if ! wait_up; then
	echo "FAIL: knot: knotd did not start"; tail -20 "$T/knotd.log"; exit 1
fi
pass "knotd up on 127.0.0.1@$PORT"

run_scenarios "$T/k.yaml" "$T/kbad.yaml" "$T/kunk.yaml"

run_error_common "$T/k.yaml"

run_config "$T/k.yaml"

srv_edns_requests() {
	knotc -c "$T/knot.conf" stats mod-stats.edns-presence 2>/dev/null | sed -n 's/.*\[request\] = //p' | grep . || echo 0
}
EDNS_UPDATE_REPLIES=0 run_edns "$T/k.yaml"

# debug: "ACL, allowed, action update, remote 127.0.0.1@PORT, key ..."
SRV_LOG=$T/knotd.log SRV_UPD_RE='action update, remote 127\.0\.0\.1@[0-9]*' \
	run_tcp_reuse "$T/k.yaml" 4500

# Knot answers an ACL denial with NOTAUTH + TSIG error BADKEY, never REFUSED
# (knot/nameserver/process_query.c, process_query_acl_check).
if err_update "ACL denies the key" NOTAUTH -5117 "does not know our TSIG key" --key "$T/k.yaml" \
	add:r.nokey.test:300:A:192.0.2.9 && check_absent "ACL denial" r.nokey.test A; then
	pass "ACL grants another key: NOTAUTH/BADKEY (Knot's REFUSED), record absent"
fi
# a zone Knot does not have: NOTAUTH, unsigned even to a signed request
if err_update "NOTAUTH not our zone, unsigned" NOTAUTH rcode "not authoritative" \
	--zone nothere.test add:x.nothere.test:300:A:192.0.2.9; then
	pass "NOTAUTH: update for a zone the server does not serve, code -5109"
fi
if err_update "NOTAUTH not our zone, signed" NOTAUTH -5017 "not signed" --key "$T/k.yaml" \
	--zone nothere.test add:x.nothere.test:300:A:192.0.2.9; then
	pass "NOTAUTH unsigned to a signed update: not taken as the answer, RCODE still shown"
fi
if err_update "SERVFAIL zone not loaded" SERVFAIL rcode "check its log" --key "$T/k.yaml" \
	--zone broken.test add:x.broken.test:300:A:192.0.2.9; then
	pass "SERVFAIL: update to a zone that failed to load, code -5102"
fi
# SERVFAIL: fill full.test's 1 MiB journal with ~50 kB updates over TCP
# until Knot cannot write one; that one must be SERVFAIL and absent
big=$(printf "a%.0s" $(seq 1 250))
full_out=
for i in $(seq 1 60); do
	ops=()
	for j in $(seq 1 200); do ops+=("add:f$i-$j.full.test:300:TXT:\"$big\""); done
	full_out=$(pd update --key "$T/k.yaml" --timeout 3000 "${ops[@]}")
	[ "$(echo "$full_out" | jget 'd["ok"]' 2>/dev/null)" = True ] || break
done
if check_err "SERVFAIL journal full" "$(echo "$full_out" | first_msg)" SERVFAIL rcode "check its log" &&
	check_absent "SERVFAIL journal full" "f$i-1.full.test" TXT; then
	pass "SERVFAIL: journal full after $((i - 1)) updates, code -5102, update absent"
fi
# Knot answers FORMERR and NOTIMP to signed requests unsigned
if err_raw "FORMERR zone type, signed" "$T/k.yaml" example.test zone-type-a FORMERR -5017 "not signed" false; then
	pass "FORMERR (zone section of type A) unsigned to a signed request: RCODE shown, not taken as the answer"
fi
if err_raw "NOTIMP signed" "$T/k.yaml" example.test opcode=3 NOTIMP -5017 "not signed" false; then
	pass "NOTIMP unsigned to a signed request: RCODE shown, not taken as the answer"
fi

if pd update --key "$T/k-sha512.yaml" "add:alg-sha512.example.test:300:A:192.0.2.5" >/dev/null &&
	[ "$(kdigs alg-sha512.example.test A)" = 192.0.2.5 ]; then
	pass "hmac-sha512 key from keymgr -t"
else
	fail "hmac-sha512" "update not applied: $(tail -1 "$T/cli.err")"
fi
[ $nfail -eq 0 ] || { echo "--- knotd log"; tail -30 "$T/knotd.log"; }
exit $((nfail > 0))
