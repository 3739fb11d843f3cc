#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# cmmd's config parser through `cmmd --check`: every key read (checked in
# the -j output), defaults, and errors that name FILE:LINE and what was
# expected; exit status 1 on a bad file, 2 on bad usage, 0 on --help.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
CMMD=$BUILD/cmmd
T=$(mktemp -d /tmp/t-cmm-config.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }

tsig-keygen -a hmac-sha256 presage-key >"$T/k.key" 2>/dev/null || printf 'key "presage-key" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";\n};\n' >"$T/k.key"
for f in ca.crt c.crt c.key order.key; do echo x >"$T/$f"; done
printf 'link-down = yes\n' >"$T/pfa.conf"
cat >"$T/full.conf" <<EOF
# every key
state-dir /var/tmp/cmmd-state
control /tmp/cmmd-test.sock
listen 127.0.0.1:19180
poll-interval 500ms
stale-after 4s
tls-ca $T/ca.crt
tls-cert $T/c.crt
tls-key $T/c.key
order-key $T/order.key
pfa {
	horizon 15m
	config $T/pfa.conf
	enter 0.7
	exit 0.2
	confirm 5s
}
policy {
	dwell 20s
	healthy-dwell 1m
	probe-loss-fail 40%
	probe-loss-for 2s
	routes-fail 0.8
	budget-bytes 5G
	budget-cost 50
	lead 5m
	stage-timeout 90s
	hot-items 50
}
dns {
	server 127.0.0.1#19153
	zone cdn.test
	key-file $T/k.key
	key-name presage-key
	ttl 7
}
pop popA {
	agent 10.0.0.1:9470
	mirror 10.0.0.1:7443
	region eu
	address 198.18.1.80
	address 2001:db8::80
	free 2T
	bw 200M
	storage-cost 0.02
}
pop "popB" {
	agent [fd00::2]:9470
	region us
	address 198.18.2.80
}
link popA popB cost 0.01
hostname www.cdn.test {
	primary popA
	regions eu,us
	ttl 3
}
EOF
out=$("$CMMD" -c "$T/full.conf" --check -j 2>&1)
if python3 - "$out" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
exp = {"state_dir": "/var/tmp/cmmd-state", "control": "/tmp/cmmd-test.sock", "listen": "127.0.0.1:19180",
       "poll_interval_ms": 500, "stale_after_ms": 4000, "horizon_s": 900, "enter": 0.7, "exit": 0.2,
       "confirm_ms": 5000, "dwell_ms": 20000, "healthy_dwell_ms": 60000}
for k, v in exp.items():
    assert d[k] == v, (k, d[k], v)
a, b = d["pops"]
assert a == {"name": "popA", "agent": "10.0.0.1:9470", "mirror": "10.0.0.1:7443", "region": "eu",
             "addresses": ["198.18.1.80", "2001:db8::80"], "free": 2000000000000, "bw": 200e6,
             "storage_cost": 0.02}, a
assert b["agent"] == "[fd00::2]:9470" and b["mirror"] == "" and b["free"] == 0, b
assert d["links"] == [{"a": "popA", "b": "popB", "cost": 0.01}], d["links"]
assert d["hostnames"] == [{"name": "www.cdn.test", "primary": "popA", "regions": ["eu", "us"], "ttl": 3}], d["hostnames"]
EOF
then pass "every key read"; else fail "every key read: $out"; fi

cat >"$T/min.conf" <<'EOF'
pop a {
	agent 127.0.0.1:1
	address 192.0.2.1
}
EOF
out=$("$CMMD" -c "$T/min.conf" --check -j 2>&1)
if python3 - "$out" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
exp = {"state_dir": "/var/lib/presage/cmmd", "control": "/run/presage/cmmd.sock", "listen": None,
       "poll_interval_ms": 1000, "stale_after_ms": 5000, "horizon_s": 600, "enter": 0.6, "exit": 0.3,
       "confirm_ms": 3000, "dwell_ms": 10000, "healthy_dwell_ms": 30000}
for k, v in exp.items():
    assert d[k] == v, (k, d[k], v)
EOF
then pass "defaults"; else fail "defaults: $out"; fi
"$CMMD" -c "$T/full.conf" --check >"$T/text" 2>&1
if grep -q "ok" "$T/text" && grep -q "hostname www.cdn.test primary popA regions eu,us" "$T/text"; then
	pass "--check prints the topology"
else
	fail "--check text: $(cat "$T/text")"
fi

# One broken line at a time: the message must name file:line and the expectation.
expect_err() { # name, line number, regex, then the config text on stdin
	local name=$1 line=$2 re=$3 out rc
	cat >"$T/bad.conf"
	out=$("$CMMD" -c "$T/bad.conf" --check 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && printf '%s' "$out" | grep -qE "^cmmd: $T/bad.conf:${line}${line:+: }.*$re"; then
		pass "error: $name"
	else
		fail "error: $name (rc $rc): $out"
	fi
}
POP='pop a {
	agent 127.0.0.1:1
	address 192.0.2.1
}'
expect_err "unknown key" 1 "unknown key 'bogus' \(expected state-dir" <<<"bogus 1
$POP"
expect_err "bad duration" 1 "poll-interval '5x' must be a duration from 100ms to 60s" <<<"poll-interval 5x
$POP"
expect_err "duration out of range" 1 "stale-after '1ms' must be a duration" <<<"stale-after 1ms
$POP"
expect_err "hostname primary not a pop" 6 "primary 'nope' is not a pop \\(there is no 'pop nope" <<<"$POP
hostname w.cdn.test {
	primary nope
}"
expect_err "link to unknown pop" 5 "link names unknown pop 'zz' \\(there is no 'pop zz" <<<"$POP
link a zz cost 1"
expect_err "link to itself" 5 "link from pop 'a' to itself" <<<"$POP
link a a cost 1"
expect_err "duplicate link" 10 "link b a is already defined on line 9" <<<"$POP
pop b {
	agent 127.0.0.1:2
	address 192.0.2.2
}
link a b cost 1
link b a cost 2"
expect_err "link without cost" 5 "expected 'link POP POP cost PER-GB'" <<<"$POP
link a a"
expect_err "missing dns server" "" "dns \{ \} has no 'server" <<<"$POP
dns {
	zone cdn.test
	key-file /k
}
hostname w.cdn.test {
	primary a
}"
expect_err "hostnames without dns" "" "no dns \{ \} block" <<<"$POP
hostname w.cdn.test {
	primary a
}"
expect_err "bad dns server" 2 "server '1.2.3#x': port after '#' must be 1-65535" <<<"dns {
	server 1.2.3#x
}
$POP"
expect_err "unknown key in pop" 3 "unknown key 'color' in pop 'a' \(expected agent" <<<"pop a {
	agent 127.0.0.1:1
	color red
}"
expect_err "pop without agent" 1 "pop 'a' has no 'agent" <<<"pop a {
	address 192.0.2.1
}"
expect_err "bad agent address" 2 "agent 'localhost:80' is not ADDRESS:PORT" <<<"pop a {
	agent localhost:80
}"
expect_err "bad address" 3 "address '300.1.1.1' is not an IPv4 or IPv6 address" <<<"pop a {
	agent 127.0.0.1:1
	address 300.1.1.1
}"
expect_err "duplicate pop" 5 "pop 'a' is already defined on line 1" <<<"$POP
pop a {
}"
expect_err "bad share" 2 "probe-loss-fail '150%' must be a share" <<<"policy {
	probe-loss-fail 150%
}
$POP"
expect_err "bad size" 2 "budget-bytes '10Q' is not a size" <<<"policy {
	budget-bytes 10Q
}
$POP"
expect_err "enter out of range" 2 "enter '1.5' must be a probability" <<<"pfa {
	enter 1.5
}
$POP"
expect_err "exit above enter" "" "exit 0.70 must be below enter 0.60" <<<"pfa {
	exit 0.7
}
$POP"
expect_err "horizon out of range" 2 "horizon '1m' must be a duration from 5m to 30m" <<<"pfa {
	horizon 1m
}
$POP"
expect_err "unknown key in policy" 2 "unknown key 'dwel' in policy" <<<"policy {
	dwel 1s
}
$POP"
expect_err "unclosed block" 1 "block opened here is not closed" <<<"pop a {
	agent 127.0.0.1:1
	address 192.0.2.1"
expect_err "stray brace" 5 "'}' without an open block" <<<"$POP
}"
expect_err "tls-cert without key" "" "tls-cert and tls-key go together" <<<"tls-cert /c
tls-ca /a
$POP"
expect_err "no pop" "" "no pop defined" <<<"poll-interval 1s"
expect_err "unreadable key-file" "" "dns key-file $T/none.key: cannot read: No such file or directory" <<<"$POP
dns {
	server 127.0.0.1
	zone cdn.test
	key-file $T/none.key
}"
echo 'not a key' >"$T/bad.key"
expect_err "key-file not a key" "" "dns key-file $T/bad.key: " <<<"$POP
dns {
	server 127.0.0.1
	zone cdn.test
	key-file $T/bad.key
}"
echo 'bogus-key 1' >"$T/badpfa.conf"
expect_err "bad pfa config" "" "pfa config $T/badpfa.conf: line 1" <<<"$POP
pfa {
	config $T/badpfa.conf
}"
expect_err "unterminated quote" 1 "unterminated quoted string" <<<'control "/tmp/x
'

cat >"$T/fwd.conf" <<EOF
pop popA {
	agent 127.0.0.1:1
	address 192.0.2.1
}
link popA popB cost 0.01
hostname w.cdn.test {
	primary popB
}
dns {
	server 127.0.0.1
	zone cdn.test
	key-file $T/k.key
}
pop popB {
	agent 127.0.0.1:2
	address 192.0.2.2
}
EOF
out=$("$CMMD" -c "$T/fwd.conf" --check -j 2>&1)
if echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['links'][0]['b'] == 'popB' and d['hostnames'][0]['primary'] == 'popB'"; then
	pass "a link or primary may name a pop defined further down"
else
	fail "forward reference: $out"
fi

out=$("$CMMD" -c "$T/nonexistent.conf" --check 2>&1); rc=$?
if [ $rc -eq 1 ] && [[ "$out" == *"nonexistent.conf: cannot read: No such file or directory"* ]]; then
	pass "missing file"
else
	fail "missing file (rc $rc): $out"
fi
# Start-up failures: a clear message and exit 1, nothing left behind.
start_fail() { # name regex, config on stdin
	local name=$1 re=$2 rc
	cat >"$T/run.conf"
	timeout 20 "$CMMD" -c "$T/run.conf" >"$T/run.log" 2>&1; rc=$?
	if [ $rc -eq 1 ] && grep -qE "$re" "$T/run.log"; then pass "start-up: $name"; else
		fail "start-up: $name (rc $rc): $(cat "$T/run.log")"; fi
}
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 19181)); s.listen(); time.sleep(30)' &
HOLD=$!
for _ in $(seq 1 50); do ss -Hltn 'sport = :19181' | grep -q . && break; sleep 0.1; done
start_fail "listen port in use" "cannot listen on 127.0.0.1:19181: Address already in use \\(another process has the port" <<EOF
state-dir $T/st1
control $T/c1.sock
listen 127.0.0.1:19181
$POP
EOF
kill $HOLD 2>/dev/null; wait $HOLD 2>/dev/null
[ ! -e "$T/c1.sock" ] && pass "start-up: no socket left after a failed start" || fail "socket left: $T/c1.sock"
start_fail "control directory missing" "control socket $T/nodir/c.sock: No such file or directory" <<EOF
state-dir $T/st2
control $T/nodir/c.sock
$POP
EOF
mkdir -p "$T/st3" && echo "not a database, just text that is long enough to be read as a header" >"$T/st3/cmmd.db"
start_fail "database not SQLite" "database $T/st3/cmmd.db: .*is it a cmmd database" <<EOF
state-dir $T/st3
control $T/c3.sock
$POP
EOF
echo x >"$T/c4.sock"
start_fail "control path is a file" "control $T/c4.sock exists and is not a socket" <<EOF
state-dir $T/st4
control $T/c4.sock
$POP
EOF

cat >"$T/one.conf" <<EOF
state-dir $T/st5
control $T/c5.sock
$POP
EOF
"$CMMD" -c "$T/one.conf" >"$T/first.log" 2>&1 &
FIRST=$!
for _ in $(seq 1 100); do [ -S "$T/c5.sock" ] && break; sleep 0.1; done
sed "s|c5.sock|c6.sock|" "$T/one.conf" >"$T/two.conf"
timeout 20 "$CMMD" -c "$T/two.conf" >"$T/second.log" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "another cmmd runs with this state-dir" "$T/second.log" &&
	grep -q "it is pid $FIRST;" "$T/second.log" && [ -S "$T/c5.sock" ] && kill -0 $FIRST; then
	pass "start-up: a second cmmd on the same state-dir is refused, naming the first"
else
	fail "second cmmd (rc $rc): $(cat "$T/second.log")"
fi
kill -TERM $FIRST; wait $FIRST; rc=$?
[ $rc -eq 0 ] && [ ! -e "$T/c5.sock" ] && pass "SIGTERM without agents: exit 0, socket removed" ||
	fail "first cmmd exit $rc: $(tail -3 "$T/first.log")"

"$CMMD" --help >"$T/help" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q -- "--check" "$T/help"; then pass "--help"; else fail "--help (rc $rc)"; fi
"$CMMD" --bogus >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then pass "bad option exits 2"; else fail "bad option exits $rc"; fi
"$CMMD" --check >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q -- "-c FILE is required" "$T/err"; then pass "no -c"; else fail "no -c: rc $rc"; fi
exit $FAILED
