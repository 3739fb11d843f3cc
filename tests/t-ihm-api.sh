#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The agent's health API, served by the real agent (ihmd --netns) on the
# router namespace with real traffic:
#  - /v1/health: valid JSON with the configured link; its rates account for
#    the data plane's own byte counter over the same ticks
#  - /v1/history: since= filters, `history` bounds it; link= filters
#  - /v1/events: agent-start, ids for resuming; again after a restart
#  - /metrics: promtool check metrics; counters monotonic across scrapes and
#    equal to the pinned maps; the RTT histogram consistent
#  - hostile requests (404, 405, 400, 100 kB URL and headers, half-sent
#    requests, garbage, a connection flood): 4xx or nothing, and the agent
#    and API go on
#  - many requests in a row while 200 ms ticks run all succeed
#  - TLS with client certificates: right CA accepted, none or another CA refused
#  - a busy port and a mismatched key: a clear message, exit 1, nothing attached
set -u
cd "$(dirname "$0")/.."
TAG=api$$
source tests/lib/topo.sh
FAILED=0
L=tests/lib
R="ip netns exec $NS_R"
A=127.0.0.1:9470
now_ms() { date +%s%3N; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# curl in the router namespace: prints the HTTP status, body to $TMP/body
get() { $R curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$@"; }
jq_py() { python3 -c "import json,sys; d=json.load(open('$TMP/body')); $1"; }
hist_count() {
	bpftool -j map lookup pinned "$PIN_DIR/rtt_hist" key 0 0 0 0 |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(c["value"]["count"] for c in d["formatted"]["values"]))'
}
alive() { kill -0 "$AGENT_PID" 2>/dev/null && [ "$(get "http://$A/v1/health")" = 200 ]; }

command -v promtool >/dev/null || { echo "SKIP: promtool missing (scripts/deps.sh installs prometheus)"; exit 77; }
topo_up || { echo "FAIL: topology"; exit 1; }
for l in "$NS_C:c0" "$NS_R:r-lan" "$NS_R:r-ic0" "$NS_S:s0"; do
	ip netns exec "${l%%:*}" ethtool -K "${l#*:}" tso off gso off gro off >/dev/null 2>&1
done
agent_start -t 200ms --quiet || { echo "FAIL: agent start"; exit 1; }
grep -q "health API on http://127.0.0.1:9470" "$TMP/agent.log"
check agent_logs_api_address test $? -eq 0

# ---- /v1/health
for _ in $(seq 1 50); do [ "$(get "http://$A/v1/health")" = 200 ] && jq_py 'sys.exit(0 if d["links"] else 1)' && break; sleep 0.1; done
check health_200_json_with_configured_link jq_py '
assert d["schema"] == "presage.health/1", d["schema"]
assert [l["link"] for l in d["links"]] == ["transit-a"], d["links"]
assert d["links"][0]["interface"] == "r-ic0" and d["links"][0]["state"] == "attached"
assert d["agent"]["tick_s"] == 0.2 and d["agent"]["history"] == 600 and d["agent"]["started_ms"] > 0
assert d["ts_ms"] == d["links"][0]["ts_ms"]'
check health_content_type_and_newline bash -c "grep -qi '^content-type: application/json' $TMP/hdr && [ \"\$(tail -c 1 $TMP/body | od -An -c | tr -d ' ')\" = '\\n' ]"

# ---- bytes over the API against the data plane's counter, same ticks
ip netns exec "$NS_S" python3 $L/tcpload.py udpsink 9000 & PIDS+=($!)
ip netns exec "$NS_S" python3 $L/tcpload.py sink 5201 & PIDS+=($!)
sleep 0.5
b0=$(stats_field tx_bytes); t0=$(now_ms)
sleep 0.5 # a tick whose read is after t0 and before the traffic
ip netns exec "$NS_C" python3 $L/tcpload.py udpsend 10.10.2.2 9000 2000 1000
sleep 0.7
b1=$(stats_field tx_bytes)
get "http://$A/v1/history?since=$t0&link=transit-a" >/dev/null
# The samples after t0 cover from the first read after t0 to the last read;
# with the link idle around both ends, that is the counter's delta.
api_bytes=$(jq_py 'print(round(sum(s["tx_bps"] * s["interval_s"] for s in d["samples"]) / 8))')
info "tx bytes: data plane $((b1 - b0)), sum of /v1/history rates x intervals $api_bytes"
check history_rates_account_for_dataplane_bytes python3 -c "import sys; a,b=$api_bytes,$((b1 - b0)); sys.exit(0 if b >= 2000*1042 and abs(a-b) <= 0.01*b + 2000 else 1)"

check history_unknown_link_404 test "$(get "http://$A/v1/history?link=nosuch")" = 404
# since: with the default history (600) nothing rolls out between two requests.
get "http://$A/v1/history?since=0" >/dev/null; cp "$TMP/body" "$TMP/hall"
mid=$(jq_py 'print(d["samples"][len(d["samples"]) // 2]["ts_ms"])')
get "http://$A/v1/history?since=$mid" >/dev/null
check history_since_returns_only_newer python3 -c "
import json
a = [s['ts_ms'] for s in json.load(open('$TMP/hall'))['samples']]
b = [s['ts_ms'] for s in json.load(open('$TMP/body'))['samples']]
print('# since=$mid: %d of %d samples, first %s' % (len(b), len(a), b[:1]))
assert b and min(b) > $mid and min(a) <= $mid, 'filter'
assert [t for t in a if t > $mid] == b[:len([t for t in a if t > $mid])], 'newer ones all there'
"

# ---- /v1/events
get "http://$A/v1/events" >/dev/null
check events_agent_start jq_py 'e = d["events"]; assert d["schema"] == "presage.events/1"; assert e[0]["kind"] == "agent-start" and e[0]["id"] == 1 and e[0]["link"] is None, e'
last=$(jq_py 'print(d["last_id"])')
get "http://$A/v1/events?after=$last" >/dev/null
check events_resume_after_last_id jq_py 'sys.exit(0 if d["events"] == [] and d["missed"] is False else 1)'

# ---- /metrics: promtool, monotonic, equal to the maps, histogram
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 2 >/dev/null
get "http://$A/metrics" >/dev/null; cp "$TMP/body" "$TMP/m1"
check metrics_content_type grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/hdr"
promtool check metrics <"$TMP/m1" >"$TMP/promtool.txt" 2>&1
check metrics_promtool_check test $? -eq 0
cat "$TMP/promtool.txt"
ip netns exec "$NS_C" python3 $L/tcpload.py send 10.10.2.2 5201 1 >/dev/null
ip netns exec "$NS_C" python3 $L/tcpload.py udpsend 10.10.2.2 9000 500 1000
sleep 1
# Ground truth around a scrape: the scrape shows the latest tick's read,
# which lies between a read of the maps a second before and one after.
declare -A GT0 GT1
for f in tx_bytes rx_bytes tx_packets tx_tcp_data rx_tcp_data; do GT0[$f]=$(stats_field $f); done
h0=$(hist_count)
sleep 1
get "http://$A/metrics" >/dev/null; cp "$TMP/body" "$TMP/m2"
for f in tx_bytes rx_bytes tx_packets tx_tcp_data rx_tcp_data; do GT1[$f]=$(stats_field $f); done
h1=$(hist_count)
check metrics_counters_monotonic_across_scrapes python3 $L/apiclient.py monotonic "$TMP/m1" "$TMP/m2"
ok=1
for pair in "tx_bytes presage_bytes_total tx" "rx_bytes presage_bytes_total rx" \
	"tx_packets presage_packets_total tx" "tx_tcp_data presage_tcp_data_segments_total tx" \
	"rx_tcp_data presage_tcp_data_segments_total rx"; do
	set -- $pair
	v=$(python3 $L/apiclient.py value "$TMP/m2" "$2" "link=transit-a,interface=r-ic0,direction=$3")
	info "$1: maps ${GT0[$1]} .. ${GT1[$1]}, /metrics $v"
	[ "${v%.*}" -ge "${GT0[$1]}" ] && [ "${v%.*}" -le "${GT1[$1]}" ] || ok=0
done
check metrics_counters_equal_dataplane test $ok -eq 1
hc=$(python3 $L/apiclient.py value "$TMP/m2" presage_rtt_seconds_count "link=transit-a,interface=r-ic0")
info "RTT samples: maps $h0 .. $h1, /metrics _count $hc"
check metrics_rtt_count_equals_dataplane bash -c "[ $hc -gt 0 ] && [ $hc -ge $h0 ] && [ $hc -le $h1 ]"
check metrics_rtt_histogram_consistent python3 $L/apiclient.py histcheck "$TMP/m2"

# ---- hostile requests; after each, a good request works and the agent lives
check unknown_path_404 test "$(get "http://$A/v1/nope")" = 404
check unknown_path_json_error jq_py 'sys.exit(0 if "no such path" in d["error"] else 1)'
check post_405_with_allow bash -c "[ \"\$($R curl -s -o /dev/null -D - -X POST -d x=1 http://$A/v1/health | tee $TMP/h405 | head -1 | cut -d' ' -f2)\" = 405 ] && grep -qi '^allow: GET, HEAD' $TMP/h405"
check get_with_body_400 test "$(get -X GET -d x=1 "http://$A/v1/health")" = 400
check keep_alive_reuses_connection bash -c "$R curl -sv -o /dev/null -o /dev/null http://$A/v1/health http://$A/metrics 2>&1 | grep -q 'Re-using existing connection'"
check delete_405 test "$(get -X DELETE "http://$A/metrics")" = 405
check head_200_no_body bash -c "[ \"\$($R curl -s -I -o /dev/null -w '%{http_code}' http://$A/v1/health)\" = 200 ]"
for q in "since=abc" "since=-1" "since=1e3" "since=99999999999999999999" "since=" "since" "since=1&since=2" "bogus=1"; do
	code=$(get "http://$A/v1/history?$q")
	jq_py 'sys.exit(0 if d["error"] else 1)' 2>/dev/null || code="$code(no json error)"
	info "history?$q -> $code"
	[ "$code" = 400 ] || bad=1
done
check bad_queries_400_with_json_error test "${bad:-0}" = 0
check events_bad_after_400 test "$(get "http://$A/v1/events?after=x")" = 400
check health_rejects_params_400 test "$(get "http://$A/v1/health?since=1")" = 400
big=$(head -c 100000 /dev/zero | tr '\0' a)
code=$(get "http://$A/v1/health?x=$big"); info "100 kB URL -> $code"
check url_100k_4xx bash -c "[ $code -ge 400 ] && [ $code -lt 500 ]"
check after_big_url_alive alive
printf 'X-Big: %s\r\n' "$big" >"$TMP/bighdr"
code=$(get -H @"$TMP/bighdr" "http://$A/v1/health"); info "100 kB header -> $code"
check headers_100k_4xx bash -c "[ $code -ge 400 ] && [ $code -lt 500 ]"
check after_big_headers_alive alive
$R python3 $L/apiclient.py halfsend 127.0.0.1 9470 3 & HALF=$!
sleep 0.3
check good_request_during_half_sent_request alive
wait $HALF
st=$($R python3 $L/apiclient.py garbage 127.0.0.1 9470); info "64 KiB of random bytes -> $st"
check after_garbage_alive alive
$R python3 $L/apiclient.py flood 127.0.0.1 9470 500 3 >"$TMP/flood.txt" & FL=$!
sleep 1.5
check agent_process_alive_during_flood kill -0 "$AGENT_PID"
wait $FL; info "flood: $(cat "$TMP/flood.txt")"
check after_connection_flood_alive alive

# ---- many requests in a row while 200 ms ticks run
out=$($R python3 $L/apiclient.py hammer 127.0.0.1 9470 400 2>"$TMP/hammer.err"); info "400 requests: $out"
check api_up_while_ticks_run bash -c "[[ '$out' == 'ok 400 failed 0'* ]]"

# ---- an event raised by another part of the agent (nlmon's thread) reaches /v1/events
get "http://$A/v1/events" >/dev/null; last=$(jq_py 'print(d["last_id"])')
ip -n "$NS_R" link set r-ic0 down
for _ in $(seq 1 50); do
	get "http://$A/v1/events?after=$last" >/dev/null
	jq_py 'sys.exit(0 if any(e["kind"] == "link-down" for e in d["events"]) else 1)' && break; sleep 0.1
done
check events_link_down_from_netlink jq_py 'e = [x for x in d["events"] if x["kind"] == "link-down"]; print("#", e); sys.exit(0 if e and e[0]["link"] == "transit-a" and e[0]["id"] > '"$last"' else 1)'
# A long poll (wait=MS) with nothing new is held until the next event: the
# link coming back up ends it, long before its 30 s wait would.
get "http://$A/v1/events" >/dev/null; last=$(jq_py 'print(d["last_id"])')
$R curl -s -o "$TMP/poll" -m 20 "http://$A/v1/events?after=$last&wait=30000" & POLL=$!
sleep 1
kill -0 $POLL 2>/dev/null; held=$?
ip -n "$NS_R" link set r-ic0 up
timeout 10 tail --pid=$POLL -f /dev/null; done_in_time=$?
check events_long_poll_held_while_nothing_new test $held -eq 0
check events_long_poll_ends_with_the_event bash -c "[ $done_in_time -eq 0 ] && python3 -c \"import json; d=json.load(open('$TMP/poll')); e=d['events']; print('#', e); assert e and e[0]['kind'] == 'link-up' and e[0]['id'] == $last + 1\""
get "http://$A/v1/events?after=$((last + 1000))&wait=300" >/dev/null
check events_long_poll_wait_runs_out_empty jq_py 'sys.exit(0 if d["events"] == [] else 1)'
check events_bad_wait_400 test "$(get "http://$A/v1/events?wait=600001")" = 400
for _ in $(seq 1 50); do
	get "http://$A/metrics" >/dev/null
	grep -q '^presage_carrier{link="transit-a",interface="r-ic0"} 1$' "$TMP/body" && break; sleep 0.1
done
check metrics_carrier_back_up grep -q '^presage_carrier{link="transit-a",interface="r-ic0"} 1$' "$TMP/body"
promtool check metrics <"$TMP/body" >/dev/null 2>&1
check metrics_promtool_with_link_state test $? -eq 0

# ---- SIGTERM and restart: events start again with agent-start
agent_stop
grep -q "received Terminated" "$TMP/agent.log"
check agent_stops_cleanly test $? -eq 0
sed -i '1i history 5' "$TMP/ihmd.conf"
: >"$TMP/agent.log"
agent_start -t 200ms --quiet || fail "agent_restart"
for _ in $(seq 1 30); do [ "$(get "http://$A/v1/events")" = 200 ] && break; sleep 0.1; done
check events_after_restart_agent_start jq_py 'e = d["events"]; sys.exit(0 if [x["kind"] for x in e] == ["agent-start"] and e[0]["id"] == 1 else 1)'

# ---- /v1/history: since, bound, link
for _ in $(seq 1 50); do get "http://$A/v1/history?since=0" >/dev/null; jq_py 'sys.exit(0 if len(d["samples"]) >= 5 else 1)' && break; sleep 0.2; done
get "http://$A/v1/history?since=0" >/dev/null
check history_bounded_by_history_setting jq_py 'n = len(d["samples"]); print("# samples kept:", n); sys.exit(0 if n == 5 else 1)'
check history_oldest_first jq_py 'ts = [s["ts_ms"] for s in d["samples"]]; sys.exit(0 if ts == sorted(ts) and len(set(ts)) == len(ts) else 1)'

# ---- busy port: a clear message, exit 1, nothing attached
agent_stop
$R python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",9470)); s.listen(); time.sleep(30)' & BUSY=$!; PIDS+=($BUSY)
sleep 0.5
timeout 20 "$BUILD/ihmd" -c "$TMP/ihmd.conf" --netns "$NS_R" --quiet >"$TMP/busy.log" 2>&1; rc=$?
cat "$TMP/busy.log" | sed 's/^/# /'
nxdp=$(ip -n "$NS_R" -d link show r-ic0 | grep -c "prog/xdp")
check busy_port_clear_message_exit_1 bash -c "[ $rc -eq 1 ] && grep -q 'cannot listen on 127.0.0.1:9470: the port is already in use' $TMP/busy.log && [ $nxdp -eq 0 ]"
kill $BUSY 2>/dev/null; wait $BUSY 2>/dev/null

# ---- TLS with client certificates
P=$TMP/pki
mkdir -p "$P"
mkcert() { # NAME CN ISSUER(or self) [server]
	local n=$1 cn=$2 iss=$3 ext
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$n.key" 2>/dev/null
	if [ "$iss" = self ]; then
		openssl req -x509 -new -key "$P/$n.key" -subj "/CN=$cn" -days 2 -out "$P/$n.crt" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	else
		ext="basicConstraints=CA:FALSE"
		[ "${4:-}" = server ] && ext="$ext
subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth" || ext="$ext
extendedKeyUsage=clientAuth"
		openssl req -new -key "$P/$n.key" -subj "/CN=$cn" -out "$P/$n.csr" 2>/dev/null
		openssl x509 -req -in "$P/$n.csr" -CA "$P/$iss.crt" -CAkey "$P/$iss.key" -CAcreateserial \
			-days 2 -extfile <(echo "$ext") -out "$P/$n.crt" 2>/dev/null
	fi
}
mkcert ca "presage test CA" self
mkcert other "another CA" self
mkcert server "agent" ca server
mkcert client "controller" ca
mkcert stranger "controller" other
sed -i "1i listen 127.0.0.1:9471\ntls-cert $P/server.crt\ntls-key $P/server.key\ntls-client-ca $P/ca.crt" "$TMP/ihmd.conf"
: >"$TMP/agent.log"
agent_start -t 200ms --quiet || fail "agent_start_tls"
grep -q "health API on https://127.0.0.1:9471 (client certificates required)" "$TMP/agent.log"
check tls_agent_logs_https test $? -eq 0
S=https://127.0.0.1:9471
for _ in $(seq 1 50); do
	code=$(get --cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key" "$S/v1/health")
	[ "$code" = 200 ] && grep -q '"link":"transit-a"' "$TMP/body" && break; sleep 0.1
done
check tls_client_cert_accepted bash -c "[ $code = 200 ] && python3 -c 'import json; assert json.load(open(\"$TMP/body\"))[\"links\"]'"
code=$(get --cacert "$P/ca.crt" "$S/v1/health"); info "no client certificate -> $code: $(head -c 200 "$TMP/body" 2>/dev/null)"
check tls_no_client_cert_refused bash -c "[ '$code' != 200 ] && ! grep -q links $TMP/body 2>/dev/null"
code=$(get --cacert "$P/ca.crt" --cert "$P/stranger.crt" --key "$P/stranger.key" "$S/v1/health"); info "certificate from another CA -> $code: $(head -c 200 "$TMP/body" 2>/dev/null)"
check tls_other_ca_cert_refused bash -c "[ '$code' != 200 ] && ! grep -q links $TMP/body 2>/dev/null"
code=$(get "http://127.0.0.1:9471/v1/health"); info "plain HTTP to the HTTPS port -> $code"
check tls_plain_http_refused test "$code" != 200
code=$(get --cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key" "$S/metrics")
check tls_metrics_with_client_cert test "$code" = 200
agent_stop

# ---- a key that does not belong to the certificate
sed -i "s|^tls-key .*|tls-key $P/client.key|" "$TMP/ihmd.conf"
timeout 20 "$BUILD/ihmd" -c "$TMP/ihmd.conf" --netns "$NS_R" --quiet >"$TMP/mismatch.log" 2>&1; rc=$?
sed 's/^/# /' "$TMP/mismatch.log"
check tls_mismatched_key_clear_message_exit_1 bash -c "[ $rc -eq 1 ] && grep -qi 'tls-cert .* with tls-key .*do not match' $TMP/mismatch.log"
exit $FAILED
