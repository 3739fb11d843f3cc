#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kill -9 the receiving agent at random points 20 times during a transfer
# (new items and delta updates of old ones, bandwidth-limited so the kills
# land mid-transfer). After every kill, every visible file must be exactly
# the old or the new version; after the final run the tree matches the
# source, no temporary file is left, and items finished by killed runs were
# not moved again.
set -u
cd "$(dirname "$0")/.."
. tests/t-mirror-lib.inc
FAILED=0

T=$(mktemp -d /tmp/pmir-kill.XXXXXX)
PKI=$T/pki
PORT=$((20000 + $$ % 20000))
cleanup() {
	[ -f $T/agent.pid ] && kill "$(cat $T/agent.pid)" 2>/dev/null
	[ "${MIRROR_KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

make_pki $PKI
echo "host h1.test regions eu" > $T/policy
RA=$T/a RB=$T/b
python3 tests/t-mirror-gen.py gen $RA/h1.test 120 $((8 << 20)) 7 >/dev/null
$MIRRORD serve $(agent_opts popA $RA) --listen 127.0.0.1:$PORT >$T/agent.log 2>&1 &
echo $! > $T/agent.pid
wait_port "" 127.0.0.1 $PORT || fail agent "not listening"
sign() { $PRESAGE mirror sign --key $PKI/ctrl.key --source popA --source-addr 127.0.0.1:$PORT --dest popB --host h1.test -o $1; }
pull() { $MIRRORD pull $(agent_opts popB $RB) --region eu --policy $T/policy --order $1 "${@:2}"; }

# Old version at B, then change A: the kill loop moves new and changed items.
sign $T/o0
pull $T/o0 >/dev/null 2>&1 || fail initial_sync "failed"
tree_sums $RB/h1.test > $T/old.sums
# Change half the files outright so there is plenty to move.
python3 tests/t-mirror-gen.py change $RA/h1.test 8 >/dev/null
python3 - $RA/h1.test <<'PY'
import os, random, sys
r = random.Random(9)
files = sorted(os.path.join(p, n) for p, _, ns in os.walk(sys.argv[1]) for n in ns)
for f in r.sample(files, len(files) // 2):
    with open(f, "r+b") as fh:
        fh.seek(0); fh.write(r.randbytes(64))
for i in range(40):
    open(os.path.join(sys.argv[1], "d05", "late%02d.bin" % i), "wb").write(r.randbytes(1 << 20))
PY
tree_sums $RA/h1.test > $T/new.sums
sign $T/o1

bad=0
for i in $(seq 1 20); do
	# The binary itself, not a shell function: $! must be the agent.
	$MIRRORD pull $(agent_opts popB $RB) --region eu --policy $T/policy --order $T/o1 \
		--bwlimit 6000000 >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( RANDOM % 8 + 2 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	# Every visible file is the old or the new version of itself.
	tree_sums $RB/h1.test | while read -r sum path; do
		grep -qx "$sum  $path" $T/old.sums $T/new.sums || grep -q "^$sum  $path\$" $T/old.sums $T/new.sums || echo "$path"
	done > $T/bad.$i
	if [ -s $T/bad.$i ]; then bad=$((bad + 1)); echo "after kill $i: partial or corrupt: $(head -3 $T/bad.$i)"; fi
done
[ $bad -eq 0 ] && pass never_partial_after_kill || fail never_partial_after_kill "$bad of 20 kills left a bad file"

if pull $T/o1 -j > $T/final.json 2>$T/final.err; then pass completes_after_kills; else fail completes_after_kills "$(tail -2 $T/final.err)"; fi
if diff $T/new.sums <(tree_sums $RB/h1.test) >/dev/null; then pass final_sha256_match; else fail final_sha256_match "trees differ"; fi
[ -z "$(ls -A $RB/.presage/tmp)" ] && pass no_stray_tmp || fail no_stray_tmp "$(ls $RB/.presage/tmp | wc -l) left"
# Files whose name looks temporary must never appear in the served tree.
[ -z "$(find $RB/h1.test -name 't????????????????????????' | head -1)" ] && pass no_tmp_in_tree || fail no_tmp_in_tree "found"
changed=$(diff $T/old.sums $T/new.sums | grep -c '^>')
moved=$(tail -1 $T/final.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["items_total"]-d["items_skipped"])')
echo "items changed at the source: $changed; moved by the final run: $moved"
[ "$moved" -lt "$changed" ] && pass finished_items_not_resent || fail finished_items_not_resent "final run moved $moved of $changed"
exit $FAILED
