#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# presage synth and replay from the command line: help, determinism,
# outputs, model state files (good, corrupt, foreign), bad input.
set -u
cd "$(dirname "$0")/.."
P=${BUILD:-build}/presage
[ -x "$P" ] || { echo "no $P"; exit 77; }
T=$(mktemp -d /tmp/t-pfa-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "PASS: $1"; }
ko() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }

for c in synth replay; do
	if $P $c --help | grep -q "Usage: presage $c"; then ok "help_$c"; else ko "help_$c" "no usage"; fi
done

$P synth --seed 9 --links 3 --days 0.5 -o "$T/a.csv" -e "$T/ea.csv" &&
$P synth --seed 9 --links 3 --days 0.5 -o "$T/b.csv"
if cmp -s "$T/a.csv" "$T/b.csv"; then ok synth_same_seed_same_trace; else ko synth_same_seed_same_trace "traces differ"; fi
$P synth --seed 10 --links 3 --days 0.5 -o "$T/c.csv"
if ! cmp -s "$T/a.csv" "$T/c.csv"; then ok synth_other_seed_other_trace; else ko synth_other_seed_other_trace "same trace"; fi
if head -1 "$T/a.csv" | grep -q '^ts,link,rtt_ms,loss,probe_loss,rx_bps,tx_bps,capacity_bps,routes,withdrawals,link_up'; then
	ok synth_header; else ko synth_header "$(head -1 "$T/a.csv")"; fi

$P replay -e "$T/ea.csv" -o "$T/p.csv" --save "$T/m.state" "$T/a.csv" >"$T/sum.txt" 2>"$T/err.txt"
rc=$?
if [ $rc -eq 0 ] && grep -q '^pfa ' "$T/sum.txt" && grep -q '^threshold ' "$T/sum.txt" &&
	grep -q '^zscore ' "$T/sum.txt"; then ok replay_summary_three_detectors
else ko replay_summary_three_detectors "rc $rc: $(head -3 "$T/err.txt")"; fi
n_in=$(($(wc -l <"$T/a.csv") - 1)); n_out=$(($(wc -l <"$T/p.csv") - 1))
if [ "$n_in" -eq "$n_out" ] && head -1 "$T/p.csv" | grep -q '^ts,link,in_failure,p_900,why1_900'; then
	ok replay_one_probability_per_sample; else ko replay_one_probability_per_sample "$n_in in, $n_out out"; fi
[ -s "$T/m.state" ] && ok replay_saves_state || ko replay_saves_state "no state file"

# Same input, same output, bit for bit.
$P replay -e "$T/ea.csv" -o "$T/p2.csv" "$T/a.csv" >/dev/null 2>&1
if cmp -s "$T/p.csv" "$T/p2.csv"; then ok replay_deterministic; else ko replay_deterministic "outputs differ"; fi

# JSON: global -j and -j after the command.
$P -j replay -e "$T/ea.csv" "$T/a.csv" >"$T/sum.json" 2>/dev/null
$P replay -j -e "$T/ea.csv" -o "$T/p.jsonl" "$T/a.csv" >"$T/sum2.json" 2>/dev/null
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert set(d["detectors"])=={"pfa","threshold","zscore"}; json.load(open(sys.argv[2]))' "$T/sum.json" "$T/sum2.json" 2>"$T/py.txt"; then
	ok replay_json_summary; else ko replay_json_summary "$(tail -1 "$T/py.txt")"; fi
if python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d=json.loads(l); assert 0<=d["pred"][0]["p"]<=1 and "why" in d["pred"][0]' "$T/p.jsonl" 2>"$T/py.txt"; then
	ok replay_json_lines; else ko replay_json_lines "$(tail -1 "$T/py.txt")"; fi

# Model state: the saved one loads silently; corrupt and foreign ones are refused, defaults used.
$P replay --model "$T/m.state" "$T/c.csv" >/dev/null 2>"$T/err.txt"
if [ $? -eq 0 ] && ! grep -q refused "$T/err.txt"; then ok replay_loads_state; else ko replay_loads_state "$(cat "$T/err.txt")"; fi
cp "$T/m.state" "$T/bad.state"
printf '\x55' | dd of="$T/bad.state" bs=1 seek=40 conv=notrunc 2>/dev/null
$P replay --model "$T/bad.state" "$T/c.csv" >/dev/null 2>"$T/err.txt"
if [ $? -eq 0 ] && grep -q 'refused (PFA model file is corrupt' "$T/err.txt"; then ok replay_refuses_corrupt_state
else ko replay_refuses_corrupt_state "$(cat "$T/err.txt")"; fi
$P replay --model "$T/a.csv" "$T/c.csv" >/dev/null 2>"$T/err.txt"
if [ $? -eq 0 ] && grep -q 'refused (not a PFA model file' "$T/err.txt"; then ok replay_refuses_foreign_state
else ko replay_refuses_foreign_state "$(cat "$T/err.txt")"; fi

# Bad input: reported with line numbers, skipped, no crash; derived failures without --events.
{
	echo 'ts,link,rtt_ms,loss,link_up'
	echo '1767225600,x,20,0.001,1'
	echo '1767225601,x,20,0.001'
	echo '1767225601,x,nan,0.001,1'
	echo '1767225601,x,21,0.001,1'
	echo '1767225600,x,20,-1,1'
	echo '1767225602,x,20,0.001,0'
} >"$T/bad.csv"
$P replay "$T/bad.csv" >"$T/sum.txt" 2>"$T/err.txt"
rc=$?
if [ $rc -eq 0 ] && grep -q 'bad.csv:3: 4 fields' "$T/err.txt" && grep -q "bad.csv:4: rtt_ms 'nan'" "$T/err.txt" &&
	grep -q 'bad.csv:5: duplicate timestamp' "$T/err.txt" && grep -q 'bad.csv:6: out-of-order' "$T/err.txt" &&
	grep -q '1 bad lines, 1 duplicate and 1 out-of-order' "$T/sum.txt"; then ok replay_reports_bad_input
else ko replay_reports_bad_input "rc $rc: $(cat "$T/err.txt" "$T/sum.txt" | head -12)"; fi
if grep -q 'failures  0 scored' "$T/sum.txt" && grep -q 'from the failure definition' "$T/sum.txt"; then
	ok replay_derives_failures; else ko replay_derives_failures "$(head -2 "$T/sum.txt")"; fi
printf 'rtt_ms,loss\n1,2\n' >"$T/nohdr.csv"
$P replay "$T/nohdr.csv" >/dev/null 2>"$T/err.txt"
if [ $? -ne 0 ] && grep -q 'columns ts and link' "$T/err.txt"; then ok replay_refuses_headerless
else ko replay_refuses_headerless "$(cat "$T/err.txt")"; fi
$P replay --horizon 60 "$T/a.csv" >/dev/null 2>"$T/err.txt"
if [ $? -eq 2 ] && grep -q 'horizon between 300 and 1800' "$T/err.txt"; then ok replay_refuses_bad_horizon
else ko replay_refuses_bad_horizon "$(cat "$T/err.txt")"; fi
$P replay -H 300 -H 1800 -o "$T/p3.csv" "$T/a.csv" >/dev/null 2>&1
if head -1 "$T/p3.csv" | grep -q 'p_300,.*p_1800'; then ok replay_several_horizons; else ko replay_several_horizons "$(head -1 "$T/p3.csv")"; fi

# Every horizon is evaluated: one summary block each, and a JSON array.
$P replay -H 300 -H 1800 -e "$T/ea.csv" "$T/a.csv" >"$T/sumh.txt" 2>/dev/null
if [ "$(grep -c '^failures .*horizon 300 s' "$T/sumh.txt")" -eq 1 ] &&
	[ "$(grep -c '^failures .*horizon 1800 s' "$T/sumh.txt")" -eq 1 ] &&
	[ "$(grep -c '^pfa ' "$T/sumh.txt")" -eq 2 ]; then ok replay_every_horizon_evaluated
else ko replay_every_horizon_evaluated "$(grep '^failures' "$T/sumh.txt")"; fi
$P replay -j -H 300 -H 1800 -e "$T/ea.csv" "$T/a.csv" >"$T/sumh.json" 2>/dev/null
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); h=d["horizons"]
assert [x["horizon_s"] for x in h]==[300,1800], h
assert h[0]["detectors"]==d["detectors"]' "$T/sumh.json" 2>"$T/py.txt"; then ok replay_json_horizons
else ko replay_json_horizons "$(tail -1 "$T/py.txt")"; fi

# A restart loses nothing: first half saved, second half from the state, same output as one run.
cut=$(awk -F, 'NR==2{print $1 + 6 * 3600}' "$T/a.csv")
awk -F, -v c="$cut" 'NR==1 || $1 < c' "$T/a.csv" >"$T/a1.csv"
awk -F, -v c="$cut" 'NR==1 || $1 >= c' "$T/a.csv" >"$T/a2.csv"
$P replay -H 300 -H 900 -o "$T/pf.csv" --save "$T/full.state" "$T/a.csv" >/dev/null 2>&1
$P replay -H 300 -H 900 --save "$T/h1.state" "$T/a1.csv" >/dev/null 2>&1
$P replay -H 300 -H 900 --model "$T/h1.state" -o "$T/p2h.csv" --save "$T/h2.state" "$T/a2.csv" >/dev/null 2>"$T/err.txt"
awk -F, -v c="$cut" 'NR==1 || $1 >= c' "$T/pf.csv" >"$T/pf2.csv"
if [ "$(wc -l <"$T/p2h.csv")" -gt 1000 ] && cmp -s "$T/pf2.csv" "$T/p2h.csv" && cmp -s "$T/full.state" "$T/h2.state"; then
	ok replay_restart_is_seamless
else ko replay_restart_is_seamless "$(cat "$T/err.txt"; cmp "$T/pf2.csv" "$T/p2h.csv"; cmp "$T/full.state" "$T/h2.state")"; fi

# Failure definition file: used, and errors name file and line.
printf '# nothing counts as a failure\nlink-down = no\nprobe-loss = off\nrtt-p90 = off\nroutes-drop = off\nhorizons = 5m 15m\n' >"$T/f.conf"
$P replay -F "$T/f.conf" "$T/a.csv" >"$T/sumf.txt" 2>&1
$P replay "$T/a.csv" >"$T/sumd.txt" 2>&1
nf=$(awk '/^failures .*horizon 300 s/{print $2}' "$T/sumf.txt"); nd=$(awk '/^failures /{print $2}' "$T/sumd.txt")
if [ "$nf" = 0 ] && [ -n "$nd" ] && [ "$nd" -gt 0 ] && grep -q 'horizon 900 s' "$T/sumf.txt"; then
	ok replay_failure_config_used
else ko replay_failure_config_used "file: ${nf:-none} failures, defaults: ${nd:-none}"; fi
printf 'clear = 60s\nprobe-los = 5%% for 10s\n' >"$T/bad.conf"
$P replay --failure-config "$T/bad.conf" "$T/a.csv" >/dev/null 2>"$T/err.txt"
if [ $? -eq 2 ] && grep -q "bad.conf:2: unknown key 'probe-los'" "$T/err.txt"; then ok replay_failure_config_errors
else ko replay_failure_config_errors "$(cat "$T/err.txt")"; fi

# Maintenance calendar: a failure inside a planned window is not scored.
awk -F, 'NR > 1 {print $2 "," $1 - 60 "," $1 + 600}' "$T/ea.csv" >"$T/maint.csv"
echo 'ix0,abc,5' >>"$T/maint.csv"
$P replay -e "$T/ea.csv" "$T/a.csv" >"$T/sum0.txt" 2>/dev/null
$P replay -e "$T/ea.csv" --maintenance "$T/maint.csv" "$T/a.csv" >"$T/summ.txt" 2>"$T/err.txt"
n0=$(awk '/^failures /{print $2}' "$T/sum0.txt"); np=$(sed -n 's/.*; \([0-9]*\) planned.*/\1/p' "$T/summ.txt")
if [ "${n0:-0}" -gt 0 ] && grep -q '^failures  0 scored' "$T/summ.txt" && [ "${np:-0}" -ge "$n0" ] &&
	grep -q "maint.csv:$(wc -l <"$T/maint.csv"): not link,start,end" "$T/err.txt"; then
	ok replay_maintenance_planned_not_scored
else ko replay_maintenance_planned_not_scored "$n0 scored without, planned ${np:-none}: $(head -2 "$T/summ.txt"; cat "$T/err.txt")"; fi

[ $fails -eq 0 ]
