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
for a in sha1 sha224 sha384 sha512; do tsig-keygen -a hmac-$a key-$a >"$T/k-$a.key"; done
write_zone example.test
write_zone other.test
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
};
controls { };
include "$T/k.key";
include "$T/k-sha1.key"; include "$T/k-sha224.key"; include "$T/k-sha384.key"; include "$T/k-sha512.key";
zone "example.test" { type primary; file "$T/example.test.zone";
	allow-update { key presage-key; key key-sha1; key key-sha224; key key-sha384; key key-sha512; }; };
zone "other.test" { type primary; file "$T/other.test.zone"; allow-update { key presage-key; }; };
EOF2
named -g -c "$T/named.conf" >"$T/named.log" 2>&1 &
SRV_PID=$!
if ! wait_up; then
	echo "FAIL: bind: named did not start"; tail -20 "$T/named.log"; exit 1
fi
pass "named up on 127.0.0.1#$PORT"

run_scenarios "$T/k.key" "$T/kbad.key" "$T/kunk.key"

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
