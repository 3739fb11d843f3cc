#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# RFC 2136 + TSIG against a real BIND (named) on 127.0.0.1, keys from tsig-keygen.
SERVER=bind
. "$(dirname "$0")/t-dns-lib.inc"

command -v named >/dev/null && command -v tsig-keygen >/dev/null || { echo "named or tsig-keygen missing"; exit 77; }

tsig-keygen -a hmac-sha256 presage-key >"$T/k.key"
# same name, another secret: the server must say BADSIG
tsig-keygen -a hmac-sha256 presage-key >"$T/kbad.key"
tsig-keygen -a hmac-sha256 unknown-key >"$T/kunk.key"
# a key the server knows, with update rights only on nokey.test
tsig-keygen -a hmac-sha256 other-key >"$T/kother.key"
for a in sha1 sha224 sha384 sha512; do tsig-keygen -a hmac-$a key-$a >"$T/k-$a.key"; done
# BIND's statistics channel (its own count of EDNS requests), on a free port
# of 19500-19599
STATS_PORT=
for p in $(shuf -i 19500-19599); do
	ss -Hltn "sport = :$p" | grep -q . || { STATS_PORT=$p; break; }
done
[ -n "$STATS_PORT" ] || { echo "FAIL: bind: no free port in 19500-19599 for the statistics channel"; exit 1; }
write_zone example.test
write_zone other.test
write_zone nokey.test
write_zone noupd.test
write_zone jnl.test
# broken.test does not load (unknown type): the server keeps it as a zone it
# cannot serve
write_zone broken.test
echo "bad IN BOGUSTYPE 1" >>"$T/broken.test.zone"
cat >"$T/named.conf" <<EOF2
options {
	directory "$T";
	listen-on port $PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file "$T/named.pid";
	session-keyfile "$T/session.key";
	recursion no;
	notify no;
	dnssec-validation no;
	tcp-idle-timeout 10; // 1 s (units of 100 ms): the TCP reconnect test outlasts it
};
controls { };
statistics-channels { inet 127.0.0.1 port $STATS_PORT allow { 127.0.0.1; }; };
include "$T/k.key";
include "$T/k-sha1.key"; include "$T/k-sha224.key"; include "$T/k-sha384.key"; include "$T/k-sha512.key";
zone "example.test" { type primary; file "$T/example.test.zone";
	allow-update { key presage-key; key key-sha1; key key-sha224; key key-sha384; key key-sha512; }; };
zone "other.test" { type primary; file "$T/other.test.zone"; allow-update { key presage-key; }; };
include "$T/kother.key";
zone "nokey.test" { type primary; file "$T/nokey.test.zone"; allow-update { key other-key; }; };
zone "noupd.test" { type primary; file "$T/noupd.test.zone"; };
zone "broken.test" { type primary; file "$T/broken.test.zone"; allow-update { key presage-key; }; };
zone "jnl.test" { type primary; file "$T/jnl.test.zone"; allow-update { key presage-key; }; };
EOF2
named -g -c "$T/named.conf" >"$T/named.log" 2>&1 &
SRV_PID=$!
if ! wait_up; then
	echo "FAIL: bind: named did not start"; tail -20 "$T/named.log"; exit 1
fi
pass "named up on 127.0.0.1#$PORT"

run_scenarios "$T/k.key" "$T/kbad.key" "$T/kunk.key"

run_error_common "$T/k.key"

run_config "$T/k.key"

srv_edns_requests() {
	python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$STATS_PORT/json/v1/server'))['nsstats'].get('ReqEdns0', 0))"
}
EDNS_UPDATE_REPLIES=1 run_edns "$T/k.key"

# one line per update: "client @0x... 127.0.0.1#PORT/key presage-key: updating zone ..."
SRV_LOG=$T/named.log SRV_UPD_RE='127\.0\.0\.1#[0-9]*/key presage-key: updating zone' \
	run_tcp_reuse "$T/k.key" 2500

# REFUSED: the key is known but the zone's policy does not grant it, or the
# zone takes no updates at all
if err_update "REFUSED other key's zone" REFUSED rcode "policy forbids" --key "$T/k.key" \
	add:r.nokey.test:300:A:192.0.2.9 && check_absent "REFUSED" r.nokey.test A; then
	pass "REFUSED: allow-update grants another key, code -5105, record absent"
fi
if err_update "REFUSED no allow-update" REFUSED rcode "policy forbids" --key "$T/k.key" \
	--zone noupd.test add:r.noupd.test:300:A:192.0.2.9 && check_absent "REFUSED" r.noupd.test A; then
	pass "REFUSED: zone without allow-update, code -5105"
fi
# NOTAUTH without a TSIG error: an update for a zone the server does not have
if err_update "NOTAUTH not our zone" NOTAUTH rcode "not authoritative" --key "$T/k.key" \
	--zone nothere.test add:x.nothere.test:300:A:192.0.2.9; then
	pass "NOTAUTH: update for a zone the server does not serve, code -5109"
fi
# SERVFAIL: a zone that failed to load
if err_update "SERVFAIL zone not loaded" SERVFAIL rcode "check its log" --key "$T/k.key" \
	--zone broken.test add:x.broken.test:300:A:192.0.2.9; then
	pass "SERVFAIL: update to a zone that failed to load, code -5102"
fi
# SERVFAIL: the journal cannot be written (its path is a directory; we are
# root, so permissions would not stop named). Removing the obstacle makes the
# same update succeed, so the journal was the cause.
mkdir "$T/jnl.test.zone.jnl"
if err_update "SERVFAIL journal" SERVFAIL rcode "check its log" --key "$T/k.key" \
	add:j.jnl.test:300:A:192.0.2.9 && check_absent "SERVFAIL journal" j.jnl.test A; then
	rmdir "$T/jnl.test.zone.jnl"
	if pd update --key "$T/k.key" add:j.jnl.test:300:A:192.0.2.9 >/dev/null &&
		[ "$(digs j.jnl.test A)" = 192.0.2.9 ]; then
		pass "SERVFAIL: journal not writable, code -5102; same update applies once it is"
	else
		fail "SERVFAIL journal" "update still fails after the journal path was freed"
	fi
fi
# BIND signs its FORMERR and NOTIMP answers to signed requests
if err_raw "FORMERR zone type" "$T/k.key" example.test zone-type-a FORMERR rcode "could not parse" true; then
	pass "FORMERR: zone section of type A, signed reply, code -5101"
fi
if err_raw "NOTIMP signed" "$T/k.key" example.test opcode=3 NOTIMP rcode "does not implement" true; then
	pass "NOTIMP: unassigned opcode 3, signed reply, code -5104"
fi

# every HMAC algorithm BIND offers, keys as tsig-keygen writes them
for a in sha1 sha224 sha384 sha512; do
	if pd update --key "$T/k-$a.key" "add:alg-$a.example.test:300:A:192.0.2.5" >/dev/null &&
		[ "$(digs alg-$a.example.test A)" = 192.0.2.5 ]; then
		pass "hmac-$a key from tsig-keygen"
	else
		fail "hmac-$a" "update not applied: $(tail -1 "$T/cli.err")"
	fi
done
[ $nfail -eq 0 ] || { echo "--- named log"; tail -30 "$T/named.log"; }
exit $((nfail > 0))
