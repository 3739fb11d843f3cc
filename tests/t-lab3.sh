#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/lab3: up builds the three-POP lab for real: BGP established at
# every POP with the net's prefixes in its kernel, BIND answering and taking
# TSIG-signed updates only, clients resolving per request and fetching
# checked content, the agents' APIs over TLS with client certificates,
# nginx's not-primary check; every degradation does what it says on the real
# namespaces; down removes everything, also after a crash of up itself.
# Prefix t3 (namespaces t3-*); LAB3_CMMD=0: the controller's decisions are
# not this test's subject.
set -u
cd "$(dirname "$0")/.." || exit 1
export BUILD=${BUILD:-build}
export LAB3_PREFIX=t3 LAB3_DIR=/run/presage-lab3-t3 LAB3_CMMD=0
D=$LAB3_DIR
L=scripts/lab3
PKI=$D/pki
FAILED=0
T=$(mktemp -d /tmp/t-lab3.XXXXXX)
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
cleanup() {
	$L down >/dev/null 2>&1
	ip netns del t3-net 2>/dev/null # the foreign namespace of the last check
	rm -rf "$T"
}
trap cleanup EXIT

for c in bird nginx named nsupdate dig curl openssl tsig-keygen; do
	command -v $c >/dev/null || { echo "SKIP: lab3: $c is not installed"; exit 77; }
done

jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
routes() { ip -n "t3-$1" route show proto bird 2>/dev/null | wc -l; }
wait_routes() { # POP N
	for _ in $(seq 1 100); do [ "$(routes "$1")" = "$2" ] && return 0; sleep 0.2; done
	return 1
}
# HTTP status of GET HOST/PATH at ADDR from the clients' namespace (000: no answer)
fetch() { $L exec cl curl -s -o /dev/null -m "${4:-3}" -w '%{http_code}' -H "Host: $2" "http://$1$3"; }
# ok count from ADDR since T
ok_from() { $L clients stats -j --since "$2" | jget "sum(a['ok'] for a in d['addrs'] if a['addr'] == '$1')"; }

$L down >/dev/null 2>&1
t0=$(date +%s.%N)
if $L up >"$T/up.out" 2>&1; then
	pass "lab up ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
else
	cat "$T/up.out"; fail "lab up"; exit 1
fi

chk_up_again() {
	if $L up >/dev/null 2>"$T/err"; then fail "a second up over a running lab succeeded"
	elif grep -q "the lab is already up" "$T/err" && $L status >/dev/null; then pass "up over a running lab: refused, the lab untouched"
	else fail "second up: $(cat "$T/err")"; fi
}
chk_up_again

# -- BGP ----------------------------------------------------------------------
ok=1
for p in popa popb popc; do wait_routes $p 202 || { ok=0; fail "$p has $(routes $p) BGP routes, want 202 (200 test prefixes + clients + DNS)"; }; done
[ $ok = 1 ] && pass "each POP's kernel has the net's 202 routes (proto bird)"
if $L status -j >"$T/st.json" && jget '" ".join(p["name"] + ":" + p["bgp"] + ":" + str(p["routes"]) for p in d["pops"]) + " " + str(d["ok"])' <"$T/st.json" >"$T/st.txt" &&
	[ "$(cat "$T/st.txt")" = "popA:Established:202 popB:Established:202 popC:Established:202 True" ]; then
	pass "status -j: every process running, BGP Established at popA, popB, popC"
else
	cat "$T/st.json" "$T/st.txt"; fail "status -j"
fi
n=$(ip -n t3-net route show proto bird | grep -c '^198\.18\.[123]\.80 via 10\.80\.[123]\.2')
[ "$n" = 3 ] && pass "the net routes each service address to its POP (learned over BGP)" || fail "the net has $n service routes"

# -- DNS and clients --------------------------------------------------------
a=$($L exec cl getent ahostsv4 www.cdn.test | awk 'NR == 1 { print $1 }')
s=$($L exec cl getent ahostsv4 static.cdn.test | awk 'NR == 1 { print $1 }')
[ "$a" = 198.18.1.80 ] && [ "$s" = 198.18.3.80 ] &&
	pass "the clients' system resolver: www.cdn.test -> 198.18.1.80, static.cdn.test -> 198.18.3.80" ||
	fail "resolver in t3-cl: www=$a static=$s"
ttl=$($L exec cl dig +noall +answer @10.53.0.53 www.cdn.test A | awk '{ print $2 }')
[ "$ttl" = 5 ] && pass "www.cdn.test has TTL 5" || fail "TTL $ttl"
since=$(date +%s)
for _ in $(seq 1 50); do [ "$(ok_from 198.18.1.80 "$since")" -gt 5 ] 2>/dev/null && break; sleep 0.2; done
$L clients stats -j --since "$since" >"$T/cs.json"
if [ "$(jget 'd["wrong"]' <"$T/cs.json")" = 0 ] && [ "$(ok_from 198.18.1.80 "$since")" -gt 5 ] &&
	[ "$(jget '[h["host"] for h in d["hosts"] if h["ok"] > 0]' <"$T/cs.json")" != "[]" ]; then
	pass "clients fetch from 198.18.1.80: $(jget 'd["ok"]' <"$T/cs.json") ok, 0 wrong (SHA-256 checked)"
else
	cat "$T/cs.json"; fail "clients stats"
fi
[ "$($L clients stats -j --since $(($(date +%s) + 1000)) | jget 'd["requests"]')" = 0 ] &&
	pass "clients stats --since in the future: 0 requests" || fail "stats --since"

# nsupdate from the controller's namespace: signed works, unsigned is refused
upd() { printf 'server 10.77.0.53\nzone cdn.test\nupdate delete %s A\nupdate add %s 5 A %s\nsend\n' "$1" "$1" "$2"; }
if upd t1.cdn.test 192.0.2.1 | $L exec ctl nsupdate -t 3 -k "$PKI/presage.key" >"$T/nsu" 2>&1 &&
	[ "$($L exec cl dig +short @10.53.0.53 t1.cdn.test A)" = 192.0.2.1 ]; then
	pass "nsupdate with presage-key from t3-ctl to 10.77.0.53: applied"
else
	cat "$T/nsu"; fail "signed nsupdate"
fi
if upd t2.cdn.test 192.0.2.2 | $L exec ctl nsupdate -t 3 >"$T/nsu" 2>&1; then
	fail "unsigned update accepted"
elif grep -q REFUSED "$T/nsu" && [ -z "$($L exec cl dig +short @10.53.0.53 t2.cdn.test A)" ]; then
	pass "unsigned update: REFUSED, record absent"
else
	cat "$T/nsu"; fail "unsigned update"
fi

# The lab's certificates and order key carry a real mirror pull: popB
# pulls www.cdn.test from popA's presage-mirrord over the management net.
"$BUILD/presage" mirror sign --key "$PKI/order.key" --source popA --source-addr 10.77.0.11:7443 \
	--dest popB --host www.cdn.test --ttl 600 -o "$T/order" 2>"$T/err" || fail "mirror sign: $(cat "$T/err")"
$L exec popb "$BUILD/presage" mirror pull --order "$T/order" --root "$D/popb/store" --pop popB --region eu \
	--policy "$D/policy.conf" --cert "$PKI/popB.crt" --key "$PKI/popB.key" --ca "$PKI/ca.crt" \
	--order-pub "$PKI/order.pub" -j >"$T/pull" 2>&1
item=$(awk '$1 ~ /^www.cdn.test\// { print; exit }' "$D/content.manifest")
got=$($L exec cl curl -s -m 5 -H "Host: www.cdn.test" "http://198.18.2.80/$(echo "$item" | awk '{ sub(/^www.cdn.test\//, "", $1); print $1 }')" | sha256sum | cut -d' ' -f1)
if [ "$(tail -n 1 "$T/pull" | jget 'd["finished"] and d["items_failed"] == 0 and d["items_done"]' 2>/dev/null)" = "$(grep -c '^www.cdn.test/' "$D/content.manifest")" ] &&
	[ "$got" = "$(echo "$item" | awk '{ print $2 }')" ]; then
	pass "signed order: popB pulls www.cdn.test (every item) from popA's mirrord over mgmt (mTLS); popB's nginx serves it"
else
	tail -n 3 "$T/pull"; fail "mirror pull popA -> popB (sha $got)"
fi

# The clients resolve for every request: steer www to popB and the clients
# follow within the TTL; then back.
upd www.cdn.test 198.18.2.80 | $L exec ctl nsupdate -t 3 -k "$PKI/presage.key"
since=$(date +%s.%N)
for _ in $(seq 1 75); do [ "$(ok_from 198.18.2.80 "$since")" -gt 3 ] && break; sleep 0.2; done
n=$(ok_from 198.18.2.80 "$since")
[ "$n" -gt 3 ] && pass "www steered to 198.18.2.80 by DNS: the clients follow ($n ok from popB)" || fail "clients did not follow DNS: $n ok from popB"
upd www.cdn.test 198.18.1.80 | $L exec ctl nsupdate -t 3 -k "$PKI/presage.key"

# -- agents' API over TLS ----------------------------------------------------
ok=1
for n in 1 2 3; do
	out=$($L exec ctl curl -s -m 5 --cacert "$PKI/ca.crt" --cert "$PKI/controller.crt" --key "$PKI/controller.key" \
		"https://10.77.0.1$n:9470/v1/health")
	[ "$(echo "$out" | jget 'd["links"][0]["link"]' 2>/dev/null)" = transit ] || { ok=0; fail "agent 10.77.0.1$n with the controller's cert: $out"; }
	code=$($L exec ctl curl -s -m 5 -o "$T/body" -w '%{http_code}' --cacert "$PKI/ca.crt" "https://10.77.0.1$n:9470/v1/health")
	[ "$code" = 403 ] && grep -q "client certificate is required" "$T/body" || { ok=0; fail "agent 10.77.0.1$n without a cert: $code $(cat "$T/body")"; }
done
[ $ok = 1 ] && pass "each agent's /v1/health answers over TLS to the controller's cert from t3-ctl, 403 without a cert"

# -- nginx's not-primary check -------------------------------------------------
path=/$(awk '$1 ~ /^www.cdn.test\// { sub(/^www.cdn.test\//, "", $1); print $1; exit }' "$D/content.manifest")
c1=$(fetch 198.18.1.80 www.cdn.test "$path")
touch "$D/popa/store/.presage/notprimary/www.cdn.test"
c2=$(fetch 198.18.1.80 www.cdn.test "$path")
c3=$(fetch 198.18.1.80 img.cdn.test /nothere)
rm -f "$D/popa/store/.presage/notprimary/www.cdn.test"
c4=$(fetch 198.18.1.80 www.cdn.test "$path")
[ "$c1 $c2 $c3 $c4" = "200 503 404 200" ] && pass "notprimary/www.cdn.test at popA: 503 for www only, 200 again once removed" ||
	fail "notprimary: $c1 $c2 $c3 $c4 (want 200 503 404 200)"
grep -q "^www.cdn.test 10.90.0.10 .*\"GET $path HTTP/1.1\" 200 " "$D/popa/access.log" &&
	pass "popA's access log is in the host format" || fail "access log: $(tail -n 1 "$D/popa/access.log")"

# -- degradations ------------------------------------------------------------------
if $L degrade popa withdraw 50 >/dev/null && wait_routes popa 152 && [ "$(routes popb)" = 202 ]; then
	pass "degrade popa withdraw 50: popA 202 -> 152 routes, popB unchanged"
else
	fail "withdraw: popa $(routes popa), popb $(routes popb)"
fi
$L degrade popa withdraw 500 >/dev/null 2>"$T/err" && fail "withdrawing more than announced accepted" ||
	{ grep -q "announces only 150 prefixes to popa" "$T/err" && pass "withdraw 500: refused with a message" || fail "withdraw 500: $(cat "$T/err")"; }
$L degrade popa announce >/dev/null && wait_routes popa 202 && pass "degrade popa announce: 202 routes again" || fail "announce: $(routes popa)"

rtt() { $L exec cl ping -n -q -c 5 -i 0.2 -W 2 198.18.1.80 | awk -F/ '/^rtt/ { print $5 }'; }
base=$(rtt)
$L degrade popa rate 5 >/dev/null && tc -n t3-popa qdisc show dev transit | grep -q "tbf.*rate 5Mbit" &&
	tc -n t3-net qdisc show dev popa | grep -q "tbf.*rate 5Mbit" && pass "rate 5: TBF 5 Mbit/s at both ends of popA's transit" ||
	fail "rate: $(tc -n t3-popa qdisc show dev transit)"
# The load fills the bottleneck's queue: pings through it wait behind it
# (the base is measured before the bottleneck: the clients alone fill it).
# bytes the load's connection from NS to DST got acknowledged
acked() { ss -N "$1" -Htni state established dst "$2" | grep -o 'bytes_acked:[0-9]*' | cut -d: -f2 | sort -n | tail -n 1; }
$L degrade popa load on >/dev/null
loaded=0 out=0 in=0
for _ in $(seq 1 20); do
	loaded=$(rtt)
	out=$(acked t3-popa 10.90.0.10:5001) in=$(acked t3-cl 198.18.1.80:5000)
	awk -v r="$loaded" -v b="$base" 'BEGIN { exit !(r > 5 && r > 5 * b) }' && [ "${out:-0}" -gt 100000 ] && [ "${in:-0}" -gt 100000 ] && break
	sleep 0.5
done
if awk -v r="$loaded" -v b="$base" 'BEGIN { exit !(r > 5 && r > 5 * b) }' && [ "${out:-0}" -gt 100000 ] && [ "${in:-0}" -gt 100000 ]; then
	pass "load on: bulk TCP both ways through popA's transit (acked $out out, $in in), ping through it $base -> $loaded ms (the queue builds)"
else
	fail "load on: ping $base -> $loaded ms; acked out '$out' in '$in'"
fi
$L degrade popa loss 3 >/dev/null && "$BUILD/presage-dropper" --netns t3-popa show transit 2>&1 | grep -q 3 &&
	pass "loss 3: the dropper is on popA's transit at 3 %" || fail "loss: $("$BUILD/presage-dropper" --netns t3-popa show transit 2>&1)"
$L status -j | jget '[p["degraded"] for p in d["pops"] if p["name"] == "popA"][0]' >"$T/deg"
[ "$(cat "$T/deg")" = "rate=5 loss=3 load=on" ] && pass "status -j shows popA's degradations" || fail "status degraded: $(cat "$T/deg")"

c1=$(fetch 198.18.1.80 www.cdn.test "$path" 5)
$L degrade popa cut >/dev/null
c2=$(fetch 198.18.1.80 www.cdn.test "$path" 2)
c3=$(fetch 198.18.3.80 static.cdn.test "/$(awk '$1 ~ /^static/ { sub(/^static.cdn.test\//, "", $1); print $1; exit }' "$D/content.manifest")")
[ "$c1 $c2 $c3" = "200 000 200" ] && ip -n t3-popa link show transit | grep -q "state DOWN" &&
	pass "cut: popA unreachable from the clients (popC still is)" || fail "cut: $c1 $c2 $c3"
$L degrade popa restore >/dev/null
if wait_routes popa 202 && [ "$(fetch 198.18.1.80 www.cdn.test "$path" 5)" = 200 ] &&
	! tc -n t3-popa qdisc show dev transit | grep -q tbf && ! tc -n t3-net qdisc show dev popa | grep -q tbf &&
	! "$BUILD/presage-dropper" --netns t3-popa show transit >/dev/null 2>&1 && [ ! -e "$D/pid/load-popa-out" ] &&
	[ -z "$(ip netns pids t3-popa | xargs -r ps -o args= -p | grep tcpload)" ]; then
	pass "restore: link up, BGP back with 202 routes, popA reachable, no TBF, dropper or load left"
else
	fail "restore left something: $(routes popa) routes, $(tc -n t3-popa qdisc show dev transit)"
fi

# clients stop: no request logged after it
$L clients stop >/dev/null
sleep 0.5
n1=$(wc -l <"$D/clients.jsonl"); sleep 1.5; n2=$(wc -l <"$D/clients.jsonl")
[ "$n1" = "$n2" ] && ! $L status -j | jget 'd["processes"]["clients"]' | grep -q True &&
	pass "clients stop: the clients log stays at $n1 lines" || fail "clients stop: $n1 -> $n2 lines"
$L clients start >/dev/null && sleep 1.5 && [ "$(wc -l <"$D/clients.jsonl")" -gt "$n2" ] &&
	pass "clients start: requests are logged again" || fail "clients start"

# bad input: precise messages
chk_err() { # WANT ARGS...
	local want=$1; shift
	if $L "$@" >/dev/null 2>"$T/err"; then fail "'$*' accepted"; return; fi
	grep -qF "$want" "$T/err" && pass "'$*': $(cat "$T/err")" || fail "'$*': $(cat "$T/err") (want '$want')"
}
chk_err "unknown POP 'popz'" degrade popz cut
chk_err "rate takes Mbit/s" degrade popa rate fast
chk_err "loss takes a percentage" degrade popa loss 150
chk_err "unknown degradation 'melt'" degrade popb melt
chk_err "unknown namespace 'foo'" exec foo true
$L --help | grep -q "degrade POP STEP" && pass "--help" || fail "--help"

# -- crashes -------------------------------------------------------------------------
# Processes die: status says so, exit non-zero.
kill -9 "$(cat "$D/pid/bird-net")" "$(cat "$D/pid/ihmd-popb")"
sleep 0.3
$L status >"$T/st" 2>&1 && fail "status exit 0 with dead processes" ||
	{ grep -q "bird-net *not running" "$T/st" && pass "status fails and names the dead processes" || fail "status: $(cat "$T/st")"; }
# up over that broken lab: removes it and builds a new one.
if $L up >"$T/up.out" 2>&1 && grep -q "removing what a previous" "$T/up.out" && $L status >/dev/null; then
	pass "up over a lab whose processes died: removed, the lab up again"
else
	cat "$T/up.out"; fail "up over a broken lab"
fi
# up itself is killed part-way; the next up removes the leftovers and works.
$L down >/dev/null
setsid $L up >/dev/null 2>&1 &
upid=$!
for _ in $(seq 1 200); do [ -e "$D/pid/bird-popc" ] && break; sleep 0.05; done
kill -9 -- -$upid 2>/dev/null
wait $upid 2>/dev/null
sleep 0.2
if $L up >"$T/up.out" 2>&1 && grep -q "removing what a previous" "$T/up.out" && $L status >/dev/null; then
	pass "up after an up killed part-way: leftovers removed, the lab up again"
else
	cat "$T/up.out"; fail "up after a crashed up"
fi

$L down >/dev/null
left=$(ip netns list | grep -c '^t3-')
procs=$(pgrep -af "$D" | grep -v "^$$ " | grep -v pgrep)
if [ "$left" = 0 ] && [ ! -e "$D" ] && [ ! -e /etc/netns/t3-cl ] && [ -z "$(ls -d /sys/fs/bpf/presage-t3-* 2>/dev/null)" ] && [ -z "$procs" ]; then
	pass "down: no namespace, process, /etc/netns dir, BPF pin dir or state left"
else
	fail "down left: $left namespaces; $(ls -d "$D" /etc/netns/t3-cl /sys/fs/bpf/presage-t3-* 2>/dev/null); $procs"
fi
chk_err "the lab is not up" degrade popa cut
st=$($L status -j); rc=$?
[ $rc = 3 ] && [ "$(echo "$st" | jget 'd["up"]')" = False ] && pass "status -j when down: {\"up\":false}, exit 3" || fail "status when down: $rc $st"

# A namespace of the lab's name that the lab did not make: up refuses and keeps it.
ip netns add t3-net
if $L up >/dev/null 2>"$T/err"; then
	fail "up over a foreign namespace succeeded"
elif grep -q "namespace t3-net exists but is not recorded" "$T/err" && ip netns list | grep -q '^t3-net' &&
	[ "$(ip netns list | grep -c '^t3-')" = 1 ] && [ ! -e "$D" ]; then
	pass "up over a foreign namespace: refused, the foreign one kept, nothing else left"
else
	cat "$T/err"; fail "up over a foreign namespace"
fi
ip netns del t3-net
exit $FAILED
