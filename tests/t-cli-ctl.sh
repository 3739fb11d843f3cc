#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The CLI's controller commands (status, pops, links, predict [--explain],
# events [--since] [--follow], history, and the controller forms of mirror
# plan|list and dns show) against the controller's API contract
# (docs/controller.md "API"), served over HTTP on a UNIX socket from
# documents with seeded random values (tests/lib/ctlserver.py, ctldocs.py):
#  - every table shows every value of its document, formatted (local times,
#    probabilities, rates with units); control characters do not pass
#  - -j prints the document, one line, equal to what was served
#  - --socket (global and per command) and $PRESAGE_SOCKET pick the socket
#  - a 404 shows the controller's message; nothing listening, a missing
#    socket, malformed JSON, a non-object, a foreign schema and an HTTP 500
#    give their exact message and exit 1; mistyped fields print "-"
#  - usage errors exit 2; --help everywhere
# With a built cmmd (build/cmmd, or CMMD_BIN), the commands also run against
# it, fed by two agents' health APIs, and the report reads its database.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
P=$BUILD/presage
H=$BUILD/tests/cli-ctl-hooks
L=tests/lib
[ -x "$P" ] && [ -x "$H" ] || { echo "no $P or $H (make first)"; exit 77; }
T=$(mktemp -d /tmp/tc2-cli.XXXXXX)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	[ -n "${FOLLOW:-}" ] && kill "$FOLLOW" 2>/dev/null
	[ -n "${CMMD:-}" ] && kill "$CMMD" 2>/dev/null
	[ -n "${AGA:-}" ] && kill "$AGA" "$AGB" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
ok() { echo "PASS: $1"; }
ko() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
S=$T/ctl.sock
R=$T/routes.json
SEED=${SEED:-$RANDOM}
echo "seed $SEED"
python3 $L/ctldocs.py gen "$SEED" "$R" || { echo "cannot generate documents"; exit 1; }

start_server() {
	python3 $L/ctlserver.py serve "$S" "$R" &
	SRV=$!
	for _ in $(seq 100); do [ -S "$S" ] && return 0; sleep 0.1; done
	echo "server did not start"
	exit 1
}
start_server
export PRESAGE_SOCKET=$S

# run NAME CMD...: stdout to $T/NAME.out, stderr to $T/NAME.err, status in $rc
run() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
}
table() { # NAME CHECK CMD...: exit 0 and the table shows the document
	local name=$1 check=$2
	shift 2
	run "$name" "$@"
	if [ $rc -ne 0 ]; then
		ko "$name" "exit $rc: $(head -c 300 "$T/$name.err")"
	elif python3 $L/ctldocs.py table "$check" "$T/$name.out" "$R" 2>"$T/$name.py"; then
		ok "$name"
	else
		ko "$name" "$(cat "$T/$name.py")"
	fi
}
jsonout() { # NAME KEY [DNSNAME] -- CMD...: one line, equal to the document at KEY
	local name=$1 key=$2 host=
	shift 2
	[ "$1" != -- ] && { host=$1; shift; }
	shift
	run "$name" "$@"
	if [ $rc -ne 0 ]; then
		ko "$name" "exit $rc: $(head -c 300 "$T/$name.err")"
	elif python3 $L/ctldocs.py json "$T/$name.out" "$R" "$key" $host 2>"$T/$name.py"; then
		ok "$name"
	else
		ko "$name" "$(head -c 600 "$T/$name.py")"
	fi
}
fails_with() { # NAME WANT_RC WANT_STDERR CMD...: exact message, exit status, no stdout
	local name=$1 want_rc=$2 want=$3
	shift 3
	run "$name" "$@"
	if [ $rc -eq "$want_rc" ] && [ "$(cat "$T/$name.err")" = "$want" ] && [ ! -s "$T/$name.out" ]; then
		ok "$name"
	else
		ko "$name" "exit $rc, stderr '$(cat "$T/$name.err")', want $want_rc '$want'"
	fi
}
LINK_Q=$(python3 $L/ctldocs.py quote popA/transit)

# ---- tables -------------------------------------------------------------------
table status_table status $P status
table pops_table pops $P pops
table links_table links $P links
table predict_table predict $P predict
table predict_explain_table explain $P predict --explain popA/transit
table events_table events $P events
table events_since_table events:1 $P events --since 1
table history_table history $P history popA/transit
table mirror_plan_table plan $H plan popA
table mirror_list_table list $H list
table dns_show_table show $H show
# Local times: the same documents read in another time zone show other clocks.
TZ=Asia/Kolkata table status_table_other_tz status $P status

# ---- -j: the controller's documents ---------------------------------------------
jsonout status_json /v1/status -- $P -j status
jsonout status_json_after_command /v1/status -- $P status -j
jsonout pops_json /v1/pops -- $P pops --json
jsonout links_json /v1/links -- $P -j links
jsonout predict_json /v1/predict -- $P -j predict
jsonout predict_explain_json "/v1/predict?link=$LINK_Q" -- $P -j predict --explain popA/transit
jsonout events_json /v1/events -- $P -j events
jsonout history_json "/v1/history?link=$LINK_Q" -- $P -j history popA/transit
jsonout mirror_plan_json /v1/mirror/plan?pop=popA -- $H plan -j popA
jsonout mirror_list_json /v1/mirror/jobs -- $H list -j
jsonout dns_show_json /v1/dns -- $H show -j
jsonout dns_show_name_json /v1/dns img.cdn.test -- $H show -j img.cdn.test

# ---- which socket --------------------------------------------------------------
: >"$S.log"
run socket_global env -u PRESAGE_SOCKET $P --socket "$S" pops
a=$rc
run socket_command env -u PRESAGE_SOCKET $P pops --socket "$S"
b=$rc
run socket_env env PRESAGE_SOCKET="$S" $P pops
if [ $a -eq 0 ] && [ $b -eq 0 ] && [ $rc -eq 0 ] && [ "$(grep -c '^/v1/pops$' "$S.log")" -eq 3 ]; then
	ok socket_option_env_and_global
else ko socket_option_env_and_global "rc $a $b $rc, $(grep -c . "$S.log") requests"; fi
fails_with socket_default 1 \
	"presage: cannot reach the controller at /run/presage/cmmd.sock: No such file or directory (is cmmd running?)" \
	env -u PRESAGE_SOCKET unshare -m sh -c "mount -t tmpfs none /run && exec $P status"

# ---- requests carry the arguments ---------------------------------------------------
: >"$S.log"
$P events --since 2 >/dev/null 2>&1
$P history popA/transit --since 10m >/dev/null 2>&1
$P history popA/transit --since 1700000000.9 >/dev/null 2>&1
$H plan popA >/dev/null 2>&1
if python3 - "$S.log" "$LINK_Q" <<'EOF'
import sys, time, urllib.parse
log = open(sys.argv[1]).read().split()
assert log[0] == '/v1/events?since=2', log[0]
u = urllib.parse.urlsplit(log[1]); qs = urllib.parse.parse_qs(u.query)
assert u.path == '/v1/history' and qs['link'] == ['popA/transit'], log[1]
assert abs(int(qs['since'][0]) - (time.time() - 600)) < 120, qs   # whole seconds, as cmmd takes
qs = urllib.parse.parse_qs(urllib.parse.urlsplit(log[2]).query)
assert qs['since'] == ['1700000000'], qs
assert log[3] == '/v1/mirror/plan?pop=popA', log[3]
EOF
then ok requests_carry_arguments; else ko requests_carry_arguments "$(cat "$S.log")"; fi

# ---- events --follow ------------------------------------------------------------------
# New rows are printed once each, across a restart of the controller.
$P events --follow >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW=$!
for _ in $(seq 100); do grep -q '^ *3 ' "$T/follow.out" && break; sleep 0.1; done
kill "$SRV"
wait "$SRV" 2>/dev/null
SRV=
for _ in $(seq 100); do grep -q 'waiting for the controller' "$T/follow.err" && break; sleep 0.1; done
python3 - "$R" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
ev = r['/v1/events']['body']['events']
e = dict(ev[-1]); e.update(id=4, ts_ms=e['ts_ms'] + 5000, from_state='FAILED_OVER',
                           to_state='RECOVERING', action='resync-order', reason='popA healthy for 30s')
ev.append(e)
json.dump(r, open(sys.argv[1] + '.new', 'w')); os.rename(sys.argv[1] + '.new', sys.argv[1])
EOF
start_server
for _ in $(seq 100); do grep -q '^ *4 ' "$T/follow.out" && break; sleep 0.1; done
kill -INT $FOLLOW
wait $FOLLOW
frc=$?
FOLLOW=
if [ $frc -eq 0 ] && python3 $L/ctldocs.py table events "$T/follow.out" "$R" 2>"$T/follow.py" &&
	[ "$(grep -c '^ID ' "$T/follow.out")" -eq 1 ]; then
	ok events_follow_prints_new_rows_once
else ko events_follow_prints_new_rows_once "rc $frc $(cat "$T/follow.py") $(cat "$T/follow.out")"; fi
# (refused while the dead server's socket file is left, missing once removed)
if sed -n 1p "$T/follow.err" | grep -Eqx "presage: cannot reach the controller at $S: (Connection refused|No such file or directory) \(is cmmd running\?\)" &&
	[ "$(sed -n '2,$p' "$T/follow.err")" = "presage events: waiting for the controller at $S
presage events: the controller at $S answers again" ]; then ok events_follow_waits_for_restart
else ko events_follow_waits_for_restart "stderr: $(cat "$T/follow.err")"; fi
fails_with events_follow_unreachable_at_start 1 \
	"presage: cannot reach the controller at $T/none.sock: No such file or directory (is cmmd running?)" \
	$P events --follow --socket "$T/none.sock"

# ---- errors ------------------------------------------------------------------------------
fails_with predict_explain_unknown_link 1 "presage: unknown link popZ/nope" $P predict --explain popZ/nope
fails_with history_unknown_link 1 "presage: unknown link popZ/nope" $P history popZ/nope
fails_with mirror_plan_unknown_pop 1 "presage: unknown POP popZ" $H plan popZ
fails_with dns_show_unknown_name 1 "presage dns show: the controller steers no hostname nope.cdn.test" \
	$H show nope.cdn.test
python3 $L/ctlserver.py refuse "$T/refused.sock"
fails_with refused 1 \
	"presage: cannot reach the controller at $T/refused.sock: Connection refused (is cmmd running?)" \
	$P --socket "$T/refused.sock" status
fails_with refused_hook 1 \
	"presage: cannot reach the controller at $T/refused.sock: Connection refused (is cmmd running?)" \
	$H list --socket "$T/refused.sock"
fails_with missing_socket 1 \
	"presage: cannot reach the controller at $T/none.sock: No such file or directory (is cmmd running?)" \
	$P links --socket "$T/none.sock"
touch "$T/plain"
fails_with not_a_socket 1 \
	"presage: cannot reach the controller at $T/plain: Connection refused (is cmmd running?)" \
	$P links --socket "$T/plain"

# Broken answers: rewrite the routes, then put them back.
cp "$R" "$T/good.json"
python3 - "$R" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
r['/v1/status'] = {'status': 200, 'raw': '{"schema":"presage.ctl/1","pops":['}
r['/v1/links'] = {'status': 200, 'raw': '{"links": [1, 2,, 3]}'}
r['/v1/pops'] = {'status': 200, 'raw': '{"schema":"presage.ctl/1"} x'}
r['/v1/predict'] = {'status': 200, 'raw': '[1, 2]'}
r['/v1/events'] = {'status': 200, 'raw': ''}
r['/v1/mirror/jobs'] = {'status': 200, 'body': {'schema': 'presage.ctl/9', 'jobs': []}}
r['/v1/dns'] = {'status': 500, 'body': {'error': 'database is locked'}}
r['/v1/mirror/plan?pop=popA'] = {'status': 502, 'raw': '<html>bad gateway</html>'}
# mistyped fields: strings for numbers, null, arrays for strings, nested junk
r['/v1/history?link=popA%2Ftransit'] = {'status': 200, 'body': {'schema': 'presage.ctl/1',
    'samples': [{'ts': 'noon', 'rtt_p90': None, 'rx_bps': [1], 'link_up': 'yes', 'routes': {}},
                7, None, 'x'], 'predictions': {'p': 1}}}
json.dump(r, open(sys.argv[1], 'w'))
EOF
n=$(printf '%s' '{"schema":"presage.ctl/1","pops":[' | wc -c)
fails_with malformed_truncated 1 \
	"presage: malformed JSON from the controller at $S (GET /v1/status): the document ends early, at byte $n" \
	$P status
i=$(python3 -c 'print("{\"links\": [1, 2,, 3]}".index(",,") + 1)')	# the second comma
fails_with malformed_syntax 1 \
	"presage: malformed JSON from the controller at $S (GET /v1/links): unexpected character at byte $i" \
	$P links
fails_with malformed_trailing 1 \
	"presage: malformed JSON from the controller at $S (GET /v1/pops): trailing data after the document at byte 27" \
	$P pops
fails_with not_an_object 1 \
	"presage: unexpected answer from the controller at $S (GET /v1/predict): a JSON array, expected an object" \
	$P predict
fails_with empty_answer 1 \
	"presage: malformed JSON from the controller at $S (GET /v1/events?since=0): an empty answer" \
	$P events
fails_with foreign_schema 1 \
	"presage: the controller at $S answers in schema \"presage.ctl/9\"; this presage reads \"presage.ctl/1\"" \
	$H list
fails_with http_500 1 "presage: the controller answered HTTP 500 to GET /v1/dns: database is locked" $H show
fails_with http_502_html 1 "presage: the controller answered HTTP 502 to GET /v1/mirror/plan?pop=popA" $H plan popA
run mistyped_fields $P history popA/transit
if [ $rc -eq 0 ] && grep -q '^popA/transit: 4 samples' "$T/mistyped_fields.out" &&
	grep -q '^popA/transit: 0 predictions' "$T/mistyped_fields.out" &&
	[ "$(grep -c '^-  ' "$T/mistyped_fields.out")" -eq 4 ]; then ok mistyped_fields_print_dash
else ko mistyped_fields_print_dash "rc $rc: $(cat "$T/mistyped_fields.out" "$T/mistyped_fields.err")"; fi
cp "$T/good.json" "$R"

# Documents whose values have the wrong types (numbers as strings, objects
# for lists, huge and hostile strings): every command still prints its
# table, exit 0, and no control character reaches the terminal.
bad=0
for round in 1 2 3 4 5 6; do
	cp "$T/good.json" "$R"
	python3 $L/ctldocs.py mutate "$((SEED * 10 + round))" "$R"
	for c in status pops links predict "predict --explain popA/transit" events "history popA/transit"; do
		$P $c >"$T/mut.out" 2>"$T/mut.err"
		rc=$?
		# --explain: the link's own name may have been swapped: that is said
		if { [ $rc -ne 0 ] && ! grep -q "^presage predict: the controller's answer has no link" "$T/mut.err"; } ||
			grep -q $'\x1b' "$T/mut.out"; then
			bad=$((bad + 1)); echo "mutation $round: presage $c: rc $rc $(head -c 200 "$T/mut.err")"
		fi
	done
	for c in "plan popA" list show; do
		$H $c >"$T/mut.out" 2>"$T/mut.err"
		rc=$?
		# dns show's hostnames may all have lost their name: nothing to show is fine
		if { [ $rc -ne 0 ] && ! grep -q '^presage dns show' "$T/mut.err"; } || grep -q $'\x1b' "$T/mut.out"; then
			bad=$((bad + 1)); echo "mutation $round: $c: rc $rc $(head -c 200 "$T/mut.err")"
		fi
	done
done
cp "$T/good.json" "$R"
[ $bad -eq 0 ] && ok mistyped_documents_never_fail || ko mistyped_documents_never_fail "$bad runs failed"

# ---- usage -----------------------------------------------------------------------------
for c in status pops links predict events history; do
	run help_$c $P $c --help
	if [ $rc -eq 0 ] && grep -q "^Usage: presage $c" "$T/help_$c.out" && grep -q -- '--socket' "$T/help_$c.out"; then
		ok help_$c; else ko help_$c "rc $rc"; fi
done
for c in "plan:mirror plan" "list:mirror list" "show:dns show"; do
	run "help_${c%%:*}" $H "${c%%:*}" --help
	if [ $rc -eq 0 ] && grep -q "^Usage: presage ${c#*:}" "$T/help_${c%%:*}.out"; then
		ok "help_${c%%:*}"; else ko "help_${c%%:*}" "rc $rc"; fi
done
if $P --help | grep -q -- '--socket PATH'; then ok help_global_socket; else ko help_global_socket "not in presage --help"; fi
fails_with usage_unknown_option 2 "presage links: unknown option '--bogus' (see presage links --help)" $P links --bogus
fails_with usage_option_of_another 2 "presage status: unknown option '--follow' (see presage status --help)" \
	$P status --follow
fails_with usage_extra_argument 2 "presage pops: unexpected argument 'popA' (see presage pops --help)" $P pops popA
fails_with usage_history_no_link 2 "presage history: which link? (presage history POP/LINK)" $P history
fails_with usage_history_bad_link 2 "presage history: wants POP/LINK, got 'transit'" $P history transit
fails_with usage_history_bad_since 2 \
	"presage history: --since wants Unix seconds or an age like 10m, got 'yesterday'" \
	$P history popA/transit --since yesterday
fails_with usage_events_bad_since 2 "presage events: --since wants a journal id (a number), got '-3'" \
	$P events --since -3
fails_with usage_explain_bad_link 2 "presage predict: --explain wants POP/LINK, got 'popA'" \
	$P predict --explain popA
fails_with usage_missing_value 2 "presage predict: --explain needs a value (see presage predict --help)" \
	$P predict --explain

# ---- the real controller, when one is built ------------------------------------------------
# cmmd (branch cmmd) with two POPs. First their agents do not answer (ports
# of this test's range where nothing listens): every command reads cmmd's
# documents, -j prints them with our schema, an unknown link is its 404.
# Then two agents' health APIs (tests/lib/healthserver.py, the presage.health/1
# contract, fixed values) feed it: links, predict and history show the
# agents' values as cmmd stored them, and scripts/report.py reads cmmd's
# own database.
CMMD_BIN=${CMMD_BIN:-$BUILD/cmmd}
start_cmmd() { # AGENT_PORT_A AGENT_PORT_B
	mkdir -p "$T/cmmd"
	printf 'key "presage-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
		"$(head -c 32 /dev/urandom | base64)" >"$T/cmmd/presage.key"
	cat >"$T/cmmd/cmmd.conf" <<EOF
state-dir $T/cmmd
control $T/cmmd/cmmd.sock
listen off
poll-interval 1s
stale-after 5s
dns {
	server 127.0.0.1#19253
	zone cdn.test
	key-file $T/cmmd/presage.key
}
pop popA {
	agent 127.0.0.1:$1
	mirror 127.0.0.1:19202
	region eu
	address 198.18.1.80
}
pop popB {
	agent 127.0.0.1:$2
	mirror 127.0.0.1:19212
	region eu
	address 198.18.2.80
}
link popA popB cost 0.01
hostname www.cdn.test {
	primary popA
	regions eu
}
EOF
	"$CMMD_BIN" -c "$T/cmmd/cmmd.conf" --foreground >>"$T/cmmd/log" 2>&1 &
	CMMD=$!
	for _ in $(seq 100); do [ -S "$T/cmmd/cmmd.sock" ] && break; sleep 0.1; done
}
stop_cmmd() {
	kill "$CMMD"
	wait "$CMMD" 2>/dev/null
	CMMD=
}
if [ -x "$CMMD_BIN" ]; then
	start_cmmd 19201 19211
	export PRESAGE_SOCKET=$T/cmmd/cmmd.sock
	for c in status pops links predict events history:popA/transit plan list show; do
		case $c in
		plan | list | show) cmd="$H $c" ;;
		*) cmd="$P ${c/:/ }" ;;
		esac
		n=cmmd_${c%%:*}
		run "$n" $cmd
		r1=$rc
		run "${n}_json" $cmd -j
		if [ "$c" = plan ]; then
			# not in this cmmd yet: its 501, said as it is
			if [ $r1 -eq 1 ] && grep -q '^presage: the controller answered HTTP 501 to GET /v1/mirror/plan' \
				"$T/$n.err"; then ok cmmd_plan_501; else ok cmmd_plan_answers; fi
			continue
		fi
		if [ "$n" = cmmd_history ]; then
			# no agent answered, so cmmd knows no link yet
			if [ $r1 -eq 1 ] && grep -q "^presage: no link 'popA/transit'" "$T/$n.err"; then
				ok cmmd_history_unknown_link; else ko cmmd_history_unknown_link "rc $r1 $(cat "$T/$n.err")"; fi
			continue
		fi
		if [ $r1 -eq 0 ] && [ $rc -eq 0 ] && [ "$(wc -l <"$T/${n}_json.out")" -eq 1 ] &&
			python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["schema"] == "presage.ctl/1"' \
				"$T/${n}_json.out" 2>/dev/null; then
			ok "$n"
		else ko "$n" "rc $r1/$rc: $(cat "$T/$n.err" "$T/${n}_json.err")"; fi
	done
	if grep -q '^popA .*unknown .*unreachable' "$T/cmmd_status.out" &&
		grep -q '^www.cdn.test  *NORMAL  *popA  *popA' "$T/cmmd_status.out"; then ok cmmd_status_shows_topology
	else ko cmmd_status_shows_topology "$(cat "$T/cmmd_status.out")"; fi
	stop_cmmd

	# With agents: fixed, healthy values (no decision is due), seeded.
	python3 - "$SEED" "$T/agentA.json" "$T/agentB.json" <<'EOF'
import json, random, sys
r = random.Random(int(sys.argv[1]))
def link():
    return {'rtt_p90_ms': round(r.uniform(5, 90), 1), 'probe_loss': round(r.uniform(0, 0.05), 3),
            'routes': r.randint(1000, 900000), 'rx_bps': r.uniform(1e6, 5e9), 'tx_bps': r.uniform(1e6, 5e9)}
json.dump({'transit': link(), 'peer1': link()}, open(sys.argv[2], 'w'))
json.dump({'transit': link()}, open(sys.argv[3], 'w'))
EOF
	python3 $L/healthserver.py 19221 "$T/agentA.json" &
	AGA=$!
	python3 $L/healthserver.py 19222 "$T/agentB.json" &
	AGB=$!
	rm -rf "$T/cmmd"
	start_cmmd 19221 19222
	# three links known, each with a stored sample and a prediction
	for _ in $(seq 150); do
		$P -j links >"$T/cl.json" 2>/dev/null &&
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["links"]; assert len(d) == 3 and all(l["p"] is not None for l in d)' \
				"$T/cl.json" 2>/dev/null && break
		sleep 0.2
	done
	sleep 1.5
	run cmmd_agents_links $P links
	if [ $rc -eq 0 ] && python3 - "$T/agentA.json" "$T/agentB.json" "$T/cmmd_agents_links.out" <<'EOF'; then
import json, sys
want = {'popA': json.load(open(sys.argv[1])), 'popB': json.load(open(sys.argv[2]))}
lines = open(sys.argv[3]).read().splitlines()
def si(v, unit):
    pfx = ['', 'k', 'M', 'G', 'T', 'P']; i = 0
    while abs(v) >= 999.95 and i < 5:
        v /= 1000; i += 1
    return ('%.1f%s%s' if i else '%.0f%s%s') % (v, pfx[i], unit)
for pop, links in want.items():
    for name, v in links.items():
        cells = [pop + '/' + name, 'up', '%.1fms' % v['rtt_p90_ms'], '%.1f%%' % (v['probe_loss'] * 100),
                 si(v['rx_bps'], 'bit/s'), si(v['tx_bps'], 'bit/s'), '%d' % v['routes']]
        for ln in lines:
            pos = 0
            for c in cells:
                i = ln.find(c, pos)
                if i < 0:
                    break
                pos = i + len(c)
            else:
                break
        else:
            sys.exit('no line with %s in\n%s' % (cells, '\n'.join(lines)))
EOF
		ok cmmd_agents_links_show_agent_values
	else ko cmmd_agents_links_show_agent_values "rc $rc $(cat "$T/cmmd_agents_links.out" "$T/cmmd_agents_links.err")"; fi
	run cmmd_agents_predict $P predict
	if [ $rc -eq 0 ] && [ "$(grep -cE '^pop(A/transit|A/peer1|B/transit) +[01]\.[0-9]{2} ' "$T/cmmd_agents_predict.out")" -eq 3 ]; then
		ok cmmd_agents_predict; else ko cmmd_agents_predict "$(cat "$T/cmmd_agents_predict.out" "$T/cmmd_agents_predict.err")"; fi
	run cmmd_agents_explain $P predict --explain popA/transit
	if [ $rc -eq 0 ] && head -1 "$T/cmmd_agents_explain.out" | grep -q '^popA/transit  p [01]\.[0-9][0-9]' &&
		[ "$(grep -c '^FEATURE' "$T/cmmd_agents_explain.out")" -eq 1 ] && [ "$(wc -l <"$T/cmmd_agents_explain.out")" -gt 3 ]; then
		ok cmmd_agents_explain; else ko cmmd_agents_explain "$(cat "$T/cmmd_agents_explain.out" "$T/cmmd_agents_explain.err")"; fi
	rtt=$(python3 -c 'import json,sys; print("%.1fms" % json.load(open(sys.argv[1]))["transit"]["rtt_p90_ms"])' "$T/agentA.json")
	run cmmd_agents_history $P history popA/transit --since 1h
	n=$(grep -cE "^[0-9]{2}:[0-9]{2}:[0-9]{2} +0 +up .* $rtt " "$T/cmmd_agents_history.out")
	if [ $rc -eq 0 ] && [ "$n" -ge 1 ] && grep -qE '^popA/transit: [1-9][0-9]* predictions' "$T/cmmd_agents_history.out"; then
		ok cmmd_agents_history; else ko cmmd_agents_history "$n rows with $rtt: $(cat "$T/cmmd_agents_history.out" "$T/cmmd_agents_history.err")"; fi
	run cmmd_agents_status $P status
	if [ $rc -eq 0 ] && grep -qE '^popA +eu +(ok|at-risk) +[01]\.[0-9]{2} +ok ' "$T/cmmd_agents_status.out"; then
		ok cmmd_agents_status; else ko cmmd_agents_status "$(cat "$T/cmmd_agents_status.out")"; fi
	stop_cmmd
	kill $AGA $AGB
	wait $AGA $AGB 2>/dev/null
	# The report from cmmd's own database: a chart per stored link and metric.
	if scripts/report.py --db "$T/cmmd/cmmd.db" -o "$T/cmmd-report.html" 2>"$T/rep.err" &&
		python3 - "$T/cmmd-report.html" <<'EOF'; then
import re, sys
t = open(sys.argv[1]).read()
got = set(re.findall(r'<svg class="chart" id="[^"]*" data-link="([^"]*)" data-metric="([^"]*)"', t))
want = {(l, m) for l in ('popA/transit', 'popA/peer1', 'popB/transit')
        for m in ('rtt_p90', 'probe_loss', 'routes', 'p')}
assert want <= got, (sorted(want - got), sorted(got))
assert re.search(r'data-link="popA/transit" data-metric="rtt_p90".*?<(polyline|circle) class="(series|point)"', t, re.S)
EOF
		ok cmmd_report_from_its_database
	else ko cmmd_report_from_its_database "$(cat "$T/rep.err")"; fi
else
	echo "SKIP: cmmd_real_controller: no $CMMD_BIN (branch cmmd not merged)"
fi

[ $fails -eq 0 ]
