#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# cmmd with real parts: two real ihmd agents (one per POP namespace, HTTPS
# with client certificates), a real BIND with a TSIG key, and cmmd in a
# controller namespace that reaches both over management veths:
#
#   tc1-ctl (cmmd, BIND on its 127.0.0.1) --veth-- tc1-pa (ihmd; ic0 --veth-- tc1-net)
#                                         --veth-- tc1-pb (ihmd; ic0 --veth-- tc1-net)
#
# Checks: cmmd polls both agents (/v1/links over the control socket); the
# socket is 0600; /metrics passes promtool; an agent killed makes its POP
# "unknown" within stale-after and nothing is decided from it; popA's
# interconnect set down fails www over to popB (BIND answers popB's address,
# the flag TXT at _presage.www says so with seq=<journal id>); kill -9 and
# restart: state back from the database, a journal row left pending is
# re-applied without a second UPDATE (SOA serial unchanged); failback when
# popA is healthy again; SIGTERM stops cleanly.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
ROOT=$PWD
P=tc1
NS_CTL=$P-ctl NS_A=$P-pa NS_B=$P-pb NS_NET=$P-net
T=$(mktemp -d /tmp/t-cmm-agents.XXXXXX)
DNS_PORT=19153
LISTEN=127.0.0.1:19180
SOCK=$T/cmmd.sock
PIDS=()
declare -A AGENT_PID
FAILED=0
CMMD_PID=
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
info() { echo "# $*"; }

cleanup() {
	if [ "$FAILED" != 0 ]; then
		for f in cmmd.log agent-a.log agent-b.log named.log mirrord-a.log mirrord-b.log; do
			[ -s "$T/$f" ] && { echo "# --- last lines of $f:"; tail -n 25 "$T/$f" | sed 's/^/#   /'; }
		done
	fi
	[ -n "$CMMD_PID" ] && kill -KILL "$CMMD_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 1 30); do
		alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "$NS_CTL" "$NS_A" "$NS_B" "$NS_NET"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "/sys/fs/bpf/presage-test-$P-a" "/sys/fs/bpf/presage-test-$P-b" "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for c in named tsig-keygen dig promtool openssl curl python3; do
	command -v $c >/dev/null || { echo "SKIP: $c missing"; exit 77; }
done
[ -x "$BUILD/cmmd" ] && [ -x "$BUILD/ihmd" ] || { echo "FAIL: build cmmd and ihmd first"; exit 1; }

# ---- namespaces
for ns in "$NS_CTL" "$NS_A" "$NS_B" "$NS_NET"; do
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "FAIL: netns $ns"; exit 1; }
done
i=1
for x in a b; do
	ns=$P-p$x
	ip link add ctl-$x netns "$NS_CTL" type veth peer name mgmt netns "$ns"
	ip -n "$NS_CTL" addr add 10.211.$i.1/30 dev ctl-$x
	ip -n "$ns" addr add 10.211.$i.2/30 dev mgmt
	ip link add ic0 netns "$ns" type veth peer name up-$x netns "$NS_NET"
	ip -n "$ns" addr add 10.212.$i.1/30 dev ic0
	ip -n "$NS_NET" addr add 10.212.$i.2/30 dev up-$x
	for l in "$NS_CTL:ctl-$x" "$ns:mgmt" "$ns:ic0" "$NS_NET:up-$x"; do
		ip -n "${l%%:*}" link set "${l#*:}" up
	done
	# POP to POP (mirror pulls) through the controller's namespace
	ip -n "$ns" route add 10.211.0.0/16 via 10.211.$i.1
	i=$((i + 1))
done
ip netns exec "$NS_CTL" sysctl -qw net.ipv4.ip_forward=1

# ---- certificates: one CA; agents' server certs, the controller's client cert
cert() { # name cn [issuer]
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.key" 2>/dev/null
	if [ -z "${3:-}" ]; then
		openssl req -x509 -new -key "$T/$1.key" -subj "/CN=$2" -days 2 -out "$T/$1.crt" 2>/dev/null
	else
		openssl req -new -key "$T/$1.key" -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null
		openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial \
			-days 2 -out "$T/$1.crt" 2>/dev/null
	fi
}
cert ca presage-test-ca
cert agent-a popA ca
cert agent-b popB ca
cert controller controller ca
openssl genpkey -algorithm ed25519 -out "$T/order.key" 2>/dev/null
openssl pkey -in "$T/order.key" -pubout -out "$T/order.pub" 2>/dev/null

# ---- content agents (presage-mirrord run) in each POP; B holds a newer b.bin
printf 'host www.cdn.test regions eu\nhost www2.cdn.test regions eu\n' >"$T/policy"
mkdir -p "$T/store-a/www.cdn.test" "$T/store-b/www.cdn.test"
for f in a b c; do head -c 200000 /dev/urandom >"$T/store-a/www.cdn.test/$f.bin"; done
head -c 150000 /dev/urandom >"$T/store-b/www.cdn.test/b.bin"
now=$(date '+%d/%b/%Y:%H:%M:%S %z')
line() { echo "$1 127.0.0.1 - - [$now] \"GET /$2 HTTP/1.1\" 200 100 \"-\" \"t\""; }
{ for _ in 1 2 3 4; do line www.cdn.test a.bin; done; line www.cdn.test c.bin; } >"$T/access-a.log"
: >"$T/access-b.log"
tree_sums() { (cd "$1" && find . -path ./.presage -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum); }
i=1
for x in a b; do
	X=$(echo $x | tr a-z A-Z)
	ip netns exec "$P-p$x" "$BUILD/presage-mirrord" run --listen 10.211.$i.2:1911$i --region eu \
		--policy "$T/policy" --root "$T/store-$x" --pop pop$X --cert "$T/agent-$x.crt" \
		--key "$T/agent-$x.key" --ca "$T/ca.crt" --order-pub "$T/order.pub" \
		--access-log "$T/access-$x.log" --log-format host >"$T/mirrord-$x.log" 2>&1 &
	PIDS+=($!)
	i=$((i + 1))
done

# ---- agents
i=1
for x in a b; do
	cat >"$T/ihmd-$x.conf" <<EOF
tick 500ms
probe-interval 200ms
probe-timeout 200ms
pin-dir /sys/fs/bpf/presage-test-$P-$x
listen 10.211.$i.2:1910$i
tls-cert $T/agent-$x.crt
tls-key $T/agent-$x.key
tls-client-ca $T/ca.crt
interconnect transit {
	interface ic0
	capacity 1G
	probe 10.212.$i.2
}
EOF
	i=$((i + 1))
done
agent_start() { # a|b
	local x=$1 n0 deadline
	n0=$(grep -c "started:" "$T/agent-$x.log" 2>/dev/null)
	"$BUILD/ihmd" -c "$T/ihmd-$x.conf" --netns "$P-p$x" --quiet >/dev/null 2>>"$T/agent-$x.log" &
	AGENT_PID[$x]=$!
	PIDS+=($!)
	deadline=$(($(date +%s) + 60))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		[ "$(grep -c "started:" "$T/agent-$x.log" 2>/dev/null)" -gt "${n0:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}
agent_start a && agent_start b || { fail "agents did not start"; exit 1; }

# ---- BIND in the controller's namespace, on its loopback
tsig-keygen -a hmac-sha256 presage-key >"$T/presage.key"
cat >"$T/cdn.test.zone" <<EOF
\$TTL 300
@	IN SOA ns.cdn.test. admin.cdn.test. 1 3600 600 86400 300
@	IN NS ns.cdn.test.
ns	IN A 127.0.0.1
www	5 IN A 198.18.1.80
www2	5 IN A 198.18.2.80
EOF
cat >"$T/named.conf" <<EOF
options {
	directory "$T";
	listen-on port $DNS_PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file "$T/named.pid";
	session-keyfile "$T/session.key";
	recursion no;
	notify no;
	dnssec-validation no;
};
controls { };
include "$T/presage.key";
zone "cdn.test" { type primary; file "$T/cdn.test.zone"; allow-update { key presage-key; }; };
EOF
C="ip netns exec $NS_CTL"
named_start() {
	$C named -g -u root -c "$T/named.conf" >>"$T/named.log" 2>&1 &
	NAMED_PID=$!
	PIDS+=($!)
	for _ in $(seq 1 100); do [ -n "$(serial)" ] && return 0; sleep 0.1; done
	return 1
}
digs() { $C dig @127.0.0.1 -p $DNS_PORT +short +norec +time=1 +tries=2 "$@"; }
serial() { digs cdn.test SOA | awk '{print $3}'; }
named_start || { fail "named did not start"; exit 1; }

# ---- cmmd
cat >"$T/cmmd.conf" <<EOF
state-dir $T/state
control $SOCK
listen $LISTEN
poll-interval 500ms
stale-after 3s
tls-ca $T/ca.crt
tls-cert $T/controller.crt
tls-key $T/controller.key
order-key $T/order.key
pfa {
	enter 0.6
	exit 0.3
	confirm 1s
}
policy {
	dwell 2s
	healthy-dwell 3s
	probe-loss-for 10m
}
dns {
	server 127.0.0.1#$DNS_PORT
	zone cdn.test
	key-file $T/presage.key
	ttl 5
}
pop popA {
	agent 10.211.1.2:19101
	mirror 10.211.1.2:19111
	region eu
	free 1G
	bw 100M
	address 198.18.1.80
}
pop popB {
	agent 10.211.2.2:19102
	mirror 10.211.2.2:19112
	region eu
	free 1G
	bw 100M
	address 198.18.2.80
}
link popA popB cost 0.01
hostname www.cdn.test {
	primary popA
	regions eu
}
hostname www2.cdn.test {
	primary popB
	regions eu
}
EOF
cmmd_start() {
	$C "$ROOT/$BUILD/cmmd" -c "$T/cmmd.conf" -v >>"$T/cmmd.log" 2>&1 &
	CMMD_PID=$!
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
	return 1
}
api() { curl -s --max-time 5 --unix-socket "$SOCK" "http://cmmd$1"; }
py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# wait_for SECONDS PATH PYTHON-CONDITION
wait_for() {
	local deadline=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		api "$2" | py "sys.exit(0 if ($3) else 1)" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
state_of() { api /v1/status | py "print([h['state'] for h in d['hostnames'] if h['name'] == '$1'][0])"; }
pop_state() { api /v1/status | py "print([p['state'] for p in d['pops'] if p['name'] == '$1'][0])"; }

cmmd_start || { fail "cmmd did not create its socket"; exit 1; }
if wait_for 20 /v1/links "sorted((l['pop'], l['link']) for l in d['links'] if not l['stale']) == [('popA', 'transit'), ('popB', 'transit')]"; then
	pass "cmmd polls both agents over HTTPS with its client certificate"
else
	fail "links: $(api /v1/links)"
fi
api /v1/links >"$T/links.json"
if py "l = d['links'][0]; assert d['schema'] == 'presage.ctl/1'; assert l['link_up'] is True and l['horizon_s'] == 600 and 0 <= l['p'] <= 1, l" <"$T/links.json"; then
	pass "/v1/links: link up, a probability per link"
else
	fail "/v1/links fields: $(cat "$T/links.json")"
fi
mode=$(stat -c %a "$SOCK")
[ "$mode" = 600 ] && pass "control socket mode 0600" || fail "control socket mode $mode"
$C curl -s --max-time 5 "http://$LISTEN/metrics" >"$T/metrics"
if promtool check metrics <"$T/metrics" >"$T/promtool.txt" 2>&1 && grep -q '^cmmd_agent_polls_total{pop="popA",result="ok"} [1-9]' "$T/metrics" && grep -q '^cmmd_pfa_labelled_predictions_total{horizon_s="600"} ' "$T/metrics"; then
	pass "/metrics on listen passes promtool check metrics"
else
	fail "/metrics: $(cat "$T/promtool.txt") $(head -5 "$T/metrics")"
fi
if wait_for 5 /v1/status "[p['state'] for p in d['pops']] == ['ok', 'ok'] and [h['state'] for h in d['hostnames']] == ['NORMAL', 'NORMAL']"; then
	pass "both POPs ok, both hostnames NORMAL"
else
	fail "status: $(api /v1/status)"
fi
# every key docs/controller.md promises the CLI
for pth in /v1/status /v1/pops /v1/links /v1/predict /v1/dns /v1/events /v1/mirror/jobs "/v1/history?link=popA/transit"; do
	api "$pth" >"$T/doc-${pth//[\/?=]/_}.json"
done
if python3 - "$T" <<'PYCHECK'
import json, sys, glob, os
T = sys.argv[1]
def doc(p): return json.load(open(os.path.join(T, "doc-" + p.replace("/", "_").replace("?", "_").replace("=", "_") + ".json")))
def has(o, keys, what):
    miss = [k for k in keys if k not in o]
    assert not miss, (what, miss, o)
st = doc("/v1/status")
has(st, ["schema", "version", "started", "now", "pops", "hostnames", "journal_pending"], "status")
for p in st["pops"]:
    has(p, ["name", "region", "state", "risk"], "status.pops"); has(p["agent"], ["reachable", "age_s", "error"], "agent")
for h in st["hostnames"]:
    has(h, ["name", "primary", "serving", "state", "since", "target", "addresses"], "status.hostnames")
for p in doc("/v1/pops")["pops"]:
    has(p, ["name", "region", "state", "risk", "agent", "addresses", "links", "free", "bw", "storage_cost"], "pops")
for l in doc("/v1/links")["links"]:
    has(l, ["pop", "link", "age_s", "stale", "link_up", "rtt_p90_ms", "probe_rtt_ms", "probe_loss", "retrans_out",
            "rx_bps", "tx_bps", "util", "routes", "withdrawals", "p", "horizon_s", "in_failure"], "links")
pr = doc("/v1/predict"); has(pr, ["horizon_s", "links"], "predict")
for l in pr["links"]:
    has(l, ["pop", "link", "p", "logit", "warm", "in_failure", "top"], "predict.links")
    for t in l["top"]: has(t, ["feature", "value", "contribution"], "predict.top")
for h in doc("/v1/dns")["hostnames"]:
    has(h, ["name", "want", "have", "flag", "serial", "in_sync", "error"], "dns")
    assert h["in_sync"] and h["error"] is None, h
has(doc("/v1/events"), ["events"], "events"); has(doc("/v1/mirror/jobs"), ["jobs"], "jobs")
hi = doc("/v1/history?link=popA/transit")
assert hi["samples"] and hi["predictions"], hi
has(hi["samples"][0], ["ts", "pop", "link", "tier", "rtt_p90", "probe_loss", "rx_bps", "link_up"], "history.samples")
has(hi["predictions"][0], ["ts", "horizon_s", "p", "top"], "history.predictions")
assert json.loads(hi["predictions"][0]["top"])[0]["feature"], hi["predictions"][0]
PYCHECK
then pass "every key of the API contract is there (status, pops, links, predict, dns, events, jobs, history)"; else fail "API keys"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket "$SOCK" http://cmmd/v1/status)
[ "$code" = 405 ] && pass "POST: 405" || fail "POST: $code"
code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" http://cmmd/v1/nope)
[ "$code" = 404 ] && py "assert 'no such path' in d['error']" <"$T/body" && pass "unknown path: 404 with a JSON error" || fail "unknown path: $code"
code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" "http://cmmd/v1/predict?link=popZ/x")
[ "$code" = 404 ] && grep -q "popZ/x" "$T/body" && pass "unknown link: 404 naming it" || fail "unknown link: $code $(cat "$T/body")"
api "/v1/predict?link=popA/transit" | py "l = d['links'][0]; assert len(l['features']) == 17 and l['top'], l" &&
	pass "/v1/predict?link= explains every feature" || fail "/v1/predict: $(api '/v1/predict?link=popA/transit')"

api "/v1/mirror/plan?pop=popA" | py "
assert d['at_risk'] == 'popA' and d['destination'] == 'popB', d
assert [i['path'] for i in d['items'] if i['chosen']] == ['www.cdn.test/a.bin', 'www.cdn.test/c.bin'], d['items']" &&
	pass "/v1/mirror/plan: popA's live hot set planned to popB" || fail "plan: $(api '/v1/mirror/plan?pop=popA')"

# ---- prediction: popA's probes lost (link up) -> AT_RISK, hot set staged at popB -> STAGED
s_pred=$(serial)
ip -n "$NS_NET" addr del 10.212.1.2/30 dev up-a
if wait_for 40 /v1/status "[h['state'] for h in d['hostnames'] if h['name'] == 'www.cdn.test'] == ['STAGED']"; then
	pass "popA's probes lost: www.cdn.test AT_RISK, then STAGED at popB"
else
	fail "no staging: $(api /v1/status)"
fi
# kill -9 with the mirror order's row left pending: re-applied, the agent knows the id
kill -KILL "$CMMD_PID"; wait "$CMMD_PID" 2>/dev/null
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE journal SET status='pending' WHERE id=1\"); c.commit()" "$T/state/cmmd.db"
cmmd_start || fail "cmmd restart (staged)"
wait_for 10 /v1/status "d['journal_pending'] == 0" || fail "pending after restart: $(api /v1/status)"
if grep -q "order 1 submitted again: job is done, not started again" "$T/mirrord-b.log" &&
	[ "$(grep -c "order 1 from popA accepted" "$T/mirrord-b.log")" = 1 ] &&
	[ "$(state_of www.cdn.test)" = STAGED ]; then
	pass "kill -9, mirror-order row pending: re-submitted with its id, not pulled again, still STAGED"
else
	fail "re-applied order: $(grep "order 1" "$T/mirrord-b.log"), state $(state_of www.cdn.test)"
fi
ip -n "$NS_NET" addr add 10.212.1.2/30 dev up-a
api /v1/events | py "
e = [x for x in d['events'] if x['hostname'] == 'www.cdn.test']
assert [(x['to_state'], x['action'], x['status']) for x in e[:2]] == [('AT_RISK', 'mirror-order', 'done'), ('STAGED', 'dns-steer', 'done')], e
r = e[0]['reason']; print('# reason:', r)
assert r.startswith('risk ') and '>= enter 0.60 for' in r and 'transit p=' in r and 'probe_loss +' in r, r" &&
	pass "journal: mirror-order then dns-steer, the reason with risk, threshold, link p and top features" ||
	fail "journal: $(api /v1/events)"
if cmp -s "$T/store-a/www.cdn.test/a.bin" "$T/store-b/www.cdn.test/a.bin" &&
	cmp -s "$T/store-a/www.cdn.test/c.bin" "$T/store-b/www.cdn.test/c.bin"; then
	pass "the planned hot items (a.bin, c.bin) are at popB, byte for byte"
else
	fail "staged items missing at popB: $(ls "$T/store-b/www.cdn.test")"
fi
grep -q "order 1: 2 items of www.cdn.test verified at popB (SHA-256 = popA's)" "$T/cmmd.log" &&
	pass "cmmd compared both manifests before STAGED" || fail "no manifest verification in the log"
flag=$(digs _presage.www.cdn.test TXT)
[ "$(digs www.cdn.test A)" = 198.18.2.80 ] && [[ "$flag" == *'"state=staged"'* ]] &&
	pass "staged: BIND answers popB, flag state=staged" || fail "staged DNS: $(digs www.cdn.test A) $flag"
if wait_for 60 /v1/status "[h['state'] for h in d['hostnames'] if h['name'] == 'www.cdn.test'] == ['NORMAL']"; then
	pass "probes back: risk <= exit for dwell, www.cdn.test back to NORMAL"
else
	fail "no return to NORMAL: $(api /v1/status)"
fi
[ "$(digs www.cdn.test A)" = 198.18.1.80 ] && [ -z "$(digs _presage.www.cdn.test TXT)" ] &&
	pass "back: BIND answers popA, flag removed" || fail "after false positive: $(digs www.cdn.test A)"
api /v1/mirror/jobs | py "j = d['jobs']; assert len(j) == 1 and j[0]['dest'] == 'popB' and j[0]['items'] == 2 and j[0]['needed'] == 0, j" &&
	pass "the stage job counted as a false positive (needed = 0)" || fail "jobs: $(api /v1/mirror/jobs)"
s_pred1=$(serial)
[ $((s_pred1 - s_pred)) -eq 2 ] && pass "two UPDATEs for stage and back (serial $s_pred -> $s_pred1)" ||
	fail "serial $s_pred -> $s_pred1"

# ---- an agent killed: its POP unknown within stale-after, nothing decided from it
ev0=$(api /v1/events | py "print(len(d['events']))")
kill -TERM "${AGENT_PID[b]}"; wait "${AGENT_PID[b]}" 2>/dev/null
t0=$(date +%s.%N)
if wait_for 10 /v1/status "[p['state'] for p in d['pops'] if p['name'] == 'popB'] == ['unknown']"; then
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	info "popB unknown after ${dt}s (stale-after 3s, poll 0.5s)"
	# a generous bound for a loaded machine: stale-after + a few polls
	awk -v d="$dt" 'BEGIN { exit !(d <= 6) }' && pass "killed agent: POP unknown within stale-after" ||
		fail "popB unknown only after ${dt}s"
else
	fail "popB never unknown: $(api /v1/status)"
fi
api /v1/status | py "a = [p for p in d['pops'] if p['name'] == 'popB'][0]['agent']; assert a['reachable'] is False and a['error'], a" &&
	pass "unreachable agent reported with its error" || fail "agent fields: $(api /v1/status)"
$C curl -s --max-time 5 "http://$LISTEN/metrics" >"$T/metrics2"
promtool check metrics <"$T/metrics2" >/dev/null 2>&1 && grep -q '^cmmd_pop_unknown{pop="popB"} 1$' "$T/metrics2" &&
	pass "/metrics with an unknown POP: promtool still passes, cmmd_pop_unknown 1" ||
	fail "/metrics while unknown: $(grep popB "$T/metrics2")"
sleep 3
ev1=$(api /v1/events | py "print(len(d['events']))")
if [ "$ev1" = "$ev0" ] && [ "$(state_of www2.cdn.test)" = NORMAL ]; then
	pass "nothing decided from unknown data (www2 on popB stays NORMAL, no journal rows)"
else
	fail "events $ev0 -> $ev1, www2 $(state_of www2.cdn.test)"
fi
agent_start b || fail "agent b restart"
wait_for 15 /v1/status "[p['state'] for p in d['pops'] if p['name'] == 'popB'] == ['ok']" ||
	fail "popB not ok again: $(api /v1/status)"

# ---- a real failure: popA's interconnect down -> www FAILED_OVER, BIND answers popB
s0=$(serial)
# BIND is down when the failure comes: the decision stands, its DNS row stays pending
kill -TERM "$NAMED_PID"; wait "$NAMED_PID" 2>/dev/null
ip -n "$NS_A" link set ic0 down
if wait_for 15 /v1/status "[h['state'] for h in d['hostnames'] if h['name'] == 'www.cdn.test'] == ['FAILED_OVER']"; then
	pass "popA's interconnect down: www.cdn.test FAILED_OVER"
else
	fail "no failover: $(api /v1/status)"
fi
[ "$(pop_state popA)" = failed ] && pass "popA state failed" || fail "popA state $(pop_state popA)"
sleep 1
api /v1/events | py "
e = [x for x in d['events'] if x['hostname'] == 'www.cdn.test' and x['action'] == 'dns-steer'][-1]
print('# while BIND is down:', e['status'], e['detail'])
assert e['status'] == 'pending' and 'www.cdn.test' in e['detail'] and '127.0.0.1' in e['detail'], e" &&
	pass "DNS server down: the dns-steer row stays pending with the error, retried until BIND answers" || fail "pending row: $(api /v1/events)"
named_start || fail "named restart"
for _ in $(seq 1 75); do [ "$(digs www.cdn.test A)" = 198.18.2.80 ] && break; sleep 0.2; done
a=$(digs www.cdn.test A)
[ "$a" = 198.18.2.80 ] && pass "BIND answers popB's address" || fail "dig www: '$a'"
flag=$(digs _presage.www.cdn.test TXT)
info "flag: $flag"
steer_id=$(api /v1/events | py "print([e['id'] for e in d['events'] if e['hostname'] == 'www.cdn.test' and e['action'] == 'dns-steer'][-1])")
ev_fail=$((steer_id - 1))
if [[ "$flag" == *'"state=failed-over"'* && "$flag" == *'"from=popA"'* && "$flag" == *'"to=popB"'* && "$flag" == *"\"seq=$steer_id\""* ]]; then
	pass "flag TXT at _presage.www says failed-over popA -> popB, seq = journal id $steer_id"
else
	fail "flag: $flag (journal id $steer_id)"
fi
api "/v1/events?since=$ev_fail" | py "
e = [x for x in d['events'] if x['hostname'] == 'www.cdn.test']
assert [x['action'] for x in e] == ['dns-steer', 'primary-off'], e
assert all(x['status'] == 'done' and x['to_state'] == 'FAILED_OVER' for x in e), e
assert 'popA failed: all 1 interconnects down' in e[0]['reason'], e[0]['reason']" &&
	pass "journal: dns-steer and primary-off done, reason with the numbers" || fail "journal: $(api /v1/events)"
flagfile=$T/store-a/.presage/notprimary/www.cdn.test
[ "$(cat "$flagfile" 2>/dev/null)" = not-primary ] &&
	pass "popA's mirrord: www.cdn.test not primary (signed flag command)" ||
	fail "popA primary flag: $(cat "$flagfile" 2>&1); $(tail -3 "$T/mirrord-a.log")"
s1=$(serial)
[ "$s1" -gt "$s0" ] && pass "one UPDATE (serial $s0 -> $s1)" || fail "serial $s0 -> $s1"
api /v1/dns | py "h = [x for x in d['hostnames'] if x['name'] == 'www.cdn.test'][0]; assert h['in_sync'] and h['have'] == ['198.18.2.80'] and h['flag']['seq'] == '$steer_id', h" &&
	pass "/v1/dns: in sync, flag read from the server" || fail "/v1/dns: $(api /v1/dns)"

# ---- kill -9, with the steer row left pending as if killed between UPDATE and mark
kill -KILL "$CMMD_PID"; wait "$CMMD_PID" 2>/dev/null
python3 - "$T/state/cmmd.db" "$steer_id" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE journal SET status='pending', done_ts_ms=NULL, detail='' WHERE id=?", (int(sys.argv[2]),))
c.commit()
EOF
upd0=$(grep -c "updating zone 'cdn.test/IN'" "$T/named.log")
cmmd_start || fail "cmmd restart"
if wait_for 10 /v1/status "[h['state'] for h in d['hostnames'] if h['name'] == 'www.cdn.test'] == ['FAILED_OVER'] and d['journal_pending'] == 0"; then
	pass "after kill -9: FAILED_OVER back from the database, nothing pending"
else
	fail "after restart: $(api /v1/status)"
fi
sleep 2
s2=$(serial)
upd1=$(grep -c "updating zone 'cdn.test/IN'" "$T/named.log")
if [ "$s2" = "$s1" ] && [ "$upd1" = "$upd0" ] && grep -q "journal $steer_id .*already on the server" "$T/cmmd.log"; then
	pass "pending row re-applied without a second UPDATE (serial $s2, BIND update lines $upd0 -> $upd1)"
else
	fail "serial $s1 -> $s2, BIND update lines $upd0 -> $upd1"
fi
api /v1/events | py "e = [x for x in d['events'] if x['id'] == $steer_id][0]; assert e['status'] == 'done' and 'already' in e['detail'], e" &&
	pass "the row is done, its detail says nothing was written" || fail "row: $(api /v1/events)"

# ---- failback: popA healthy for healthy-dwell -> RECOVERING -> NORMAL, DNS back
ip -n "$NS_A" link set ic0 up
if wait_for 30 /v1/status "[h['state'] for h in d['hostnames'] if h['name'] == 'www.cdn.test'] == ['NORMAL']"; then
	pass "popA healthy again: www.cdn.test back to NORMAL through RECOVERING"
else
	fail "no failback: $(api /v1/status)"
fi
for _ in $(seq 1 30); do [ "$(digs www.cdn.test A)" = 198.18.1.80 ] && break; sleep 0.2; done
[ "$(digs www.cdn.test A)" = 198.18.1.80 ] && [ -z "$(digs _presage.www.cdn.test TXT)" ] &&
	pass "BIND answers popA's address again, flag removed" ||
	fail "after failback: A=$(digs www.cdn.test A) TXT=$(digs _presage.www.cdn.test TXT)"
api /v1/events | py "
e = [(x['from_state'], x['to_state'], x['action']) for x in d['events'] if x['hostname'] == 'www.cdn.test']
assert ('FAILED_OVER', 'RECOVERING', 'resync-order') in e and ('RECOVERING', 'NORMAL', 'dns-restore') in e, e" &&
	pass "journal: re-sync then dns-restore" || fail "journal: $(api /v1/events)"
if [ "$(tree_sums "$T/store-a/www.cdn.test")" = "$(tree_sums "$T/store-b/www.cdn.test")" ] && [ ! -e "$flagfile" ]; then
	pass "re-sync: popA pulled www.cdn.test from popB (SHA-256 equal), resync-pending cleared"
else
	fail "re-sync: stores differ or flag left: $(cat "$flagfile" 2>&1)"
fi
grep -q "3 items of www.cdn.test verified at popA (SHA-256 = popB's)" "$T/cmmd.log" &&
	pass "re-sync verified by manifests (3 items)" || fail "no re-sync verification in the log"
api /v1/mirror/jobs | py "
j = d['jobs'][-1]; assert len(d['jobs']) == 2 and j['state'] == 'verified' and j['dest'] == 'popA' and j['hostname'] == 'www.cdn.test', j" &&
	pass "/v1/mirror/jobs: the re-sync job, verified" || fail "jobs: $(api /v1/mirror/jobs)"

# ---- SIGTERM: clean stop, socket removed
kill -TERM "$CMMD_PID"
wait "$CMMD_PID"; rc=$?
CMMD_PID=
if [ $rc -eq 0 ] && grep -q "received Terminated" "$T/cmmd.log" && [ ! -e "$SOCK" ] && [ -s "$T/state/pfa.state" ]; then
	pass "SIGTERM: exit 0, socket removed, model saved"
else
	fail "SIGTERM: rc $rc, socket $(ls "$SOCK" 2>&1), pfa.state $(ls -l "$T/state/pfa.state" 2>&1)"
fi
python3 - "$T/state/cmmd.db" <<'PYCHECK' && pass "failures table: popA's outage as a POP (closed) and as its link, one row each across kill -9" || fail "failures table"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT pop, link, onset_ts, end_ts, reason FROM failures ORDER BY id").fetchall()
print("# failures:", rows)
pops = [r for r in rows if r[0] == "popA" and r[1] == "*"]
links = [r for r in rows if r[0] == "popA" and r[1] == "transit"]
# one row each across the kill -9; the POP's closed when its links came back
# (the link's stays open for PFA's clear time, 60 s by default)
assert len(pops) == 1 and len(links) == 1, rows
assert pops[0][3] and pops[0][3] >= pops[0][2], rows
assert "all 1 interconnects down" in pops[0][4] and links[0][4] == "PFA failure definition: link down", rows
PYCHECK

# ---- a link-down event acts at once: with poll-interval 30s, popA's cut fails
# www over from the agent's event, before any second poll
sed -e 's/^poll-interval .*/poll-interval 30s/' -e 's/^stale-after .*/stale-after 90s/' "$T/cmmd.conf" >"$T/cmmd-slow.conf"
: >"$T/cmmd.log"
$C "$ROOT/$BUILD/cmmd" -c "$T/cmmd-slow.conf" -v >>"$T/cmmd.log" 2>&1 &
CMMD_PID=$!
for _ in $(seq 1 100); do grep -q "events popA: watching after id" "$T/cmmd.log" && break; sleep 0.1; done
if wait_for 10 /v1/status "[p['state'] for p in d['pops']] == ['ok', 'ok'] and [h['state'] for h in d['hostnames']] == ['NORMAL', 'NORMAL']" &&
	grep -q "events popA: watching after id" "$T/cmmd.log"; then
	ip -n "$NS_A" link set ic0 down
	if wait_for 10 /v1/status "[h['state'] for h in d['hostnames'] if h['name'] == 'www.cdn.test'] == ['FAILED_OVER']"; then
		$C curl -s --max-time 5 "http://$LISTEN/metrics" >"$T/metrics3"
		polls=$(sed -n 's/^cmmd_agent_polls_total{pop="popA",result="ok"} //p' "$T/metrics3")
		evs=$(sed -n 's/^cmmd_agent_link_events_total{pop="popA"} //p' "$T/metrics3")
		info "FAILED_OVER after $polls poll(s) of popA, $evs link event(s)"
		if [ "$polls" = 1 ] && [ "${evs:-0}" -ge 1 ] && grep -q "event popA/transit: link-down (ic0: carrier off" "$T/cmmd.log"; then
			pass "link-down event: www FAILED_OVER with no poll since the start (poll-interval 30s)"
		else
			fail "failed over, but polls=$polls link events=$evs: $(grep 'event popA' "$T/cmmd.log")"
		fi
	else
		fail "no failover from the link-down event within 10 s: $(api /v1/status)"
	fi
	ip -n "$NS_A" link set ic0 up
else
	fail "slow-poll cmmd: not ready: $(api /v1/status)"
fi
kill -TERM "$CMMD_PID"
wait "$CMMD_PID"; rc=$?
CMMD_PID=
[ $rc -eq 0 ] && grep -q "^.*stopped$" "$T/cmmd.log" && pass "SIGTERM with the event watcher running: exit 0" ||
	fail "SIGTERM: rc $rc, $(tail -3 "$T/cmmd.log")"
exit $FAILED
