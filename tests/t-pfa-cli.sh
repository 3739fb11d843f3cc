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

[ $fails -eq 0 ]
