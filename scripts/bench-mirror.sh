#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mirror/ benchmark: bytes on the wire and wall time of presage's delta sync
# against rsync and rdiff on the same files and the same change, and the
# SHA-256 verification throughput of the store against sha256sum, all
# measured in this run (loopback; presage's bytes include TLS 1.3).
#   MIRROR_BENCH_FILES (default 300), MIRROR_BENCH_MAX (default 16 MiB)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/t-mirror-lib.inc
for b in rsync rdiff openssl python3; do
	command -v $b >/dev/null || { echo "bench-mirror: $b not installed, skipping"; exit 0; }
done
[ -x "$MIRRORD" ] || { echo "bench-mirror: build first (make)"; exit 0; }
N=${MIRROR_BENCH_FILES:-300} MAX=${MIRROR_BENCH_MAX:-$((16 << 20))}
T=$(mktemp -d /tmp/pmir-bench.XXXXXX)
PKI=$T/pki PORT=$((40000 + $$ % 20000))
trap '[ -f $T/agent.pid ] && kill $(cat $T/agent.pid) 2>/dev/null; rm -rf $T' EXIT
now() { date +%s.%N; }
dt() { awk -v a=$1 -v b=$2 'BEGIN { printf "%.2f", b - a }'; }

make_pki $PKI
echo "host h1.test regions eu" > $T/policy
total=$(python3 tests/t-mirror-gen.py gen $T/a/h1.test $N $MAX 11)
$MIRRORD serve $(agent_opts popA $T/a) --listen 127.0.0.1:$PORT >$T/agent.log 2>&1 &
echo $! > $T/agent.pid
wait_port "" 127.0.0.1 $PORT
sign() { $PRESAGE mirror sign --key $PKI/ctrl.key --source popA --source-addr 127.0.0.1:$PORT --dest popB --host h1.test -o $1; }
wire() { tail -1 $1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["wire_rx"]+d["wire_tx"])'; }
rsync_bytes() { awk -F: '/Total bytes sent|Total bytes received/ { gsub(/[ ,]/, "", $2); s += $2 } END { print s }' $1; }

# Initial copy.
sign $T/o1
t0=$(now); $MIRRORD pull $(agent_opts popB $T/b) --region eu --policy $T/policy --order $T/o1 -j > $T/p1.json; t1=$(now)
p_full_b=$(wire $T/p1.json) p_full_t=$(dt $t0 $t1)
t0=$(now); rsync -a --stats $T/a/h1.test/ $T/r/ > $T/r1.txt; t1=$(now)
r_full_b=$(rsync_bytes $T/r1.txt) r_full_t=$(dt $t0 $t1)
cp -a $T/b/h1.test $T/rd

# The change: 1 % of the blocks of 10 % of the files, 2 % added, 2 % deleted.
cp -a $T/a/h1.test $T/a-old
python3 tests/t-mirror-gen.py change $T/a/h1.test 12 >/dev/null
sign $T/o2
t0=$(now); $MIRRORD pull $(agent_opts popB $T/b) --region eu --policy $T/policy --order $T/o2 -j > $T/p2.json; t1=$(now)
p_d_b=$(wire $T/p2.json) p_d_t=$(dt $t0 $t1)
t0=$(now); rsync -a --no-whole-file --delete --stats $T/a/h1.test/ $T/r/ > $T/r2.txt; t1=$(now)
r_d_b=$(rsync_bytes $T/r2.txt) r_d_t=$(dt $t0 $t1)

# rdiff: signature of the old file, delta of the new, patch; new files whole.
t0=$(now)
rd_b=$(cd $T/a/h1.test && find . -type f | sort | while read -r f; do
	if [ -f "$T/rd/$f" ]; then
		cmp -s "$f" "$T/rd/$f" && continue
		rdiff -f signature "$T/rd/$f" $T/sig </dev/null && rdiff -f delta $T/sig "$f" $T/delta </dev/null &&
			rdiff -f patch "$T/rd/$f" $T/delta $T/new </dev/null && mv $T/new "$T/rd/$f"
		echo $(( $(stat -c %s $T/sig) + $(stat -c %s $T/delta) ))
	else
		mkdir -p "$(dirname "$T/rd/$f")"; cp "$f" "$T/rd/$f"; stat -c %s "$f"
	fi
done | awk '{ s += $1 } END { print s + 0 }')
t1=$(now)
rd_t=$(dt $t0 $t1)

# SHA-256: a full rehash of the store (manifest dropped) vs sha256sum.
rm -f $T/b/.presage/manifest
sync; t0=$(now); $PRESAGE mirror manifest --root $T/b >/dev/null; t1=$(now)
s_t=$(dt $t0 $t1)
t0=$(now); (cd $T/b/h1.test && find . -type f -print0 | xargs -0 cat | sha256sum >/dev/null); t1=$(now)
c_t=$(dt $t0 $t1)

ratio() { awk -v a=$1 -v b=$2 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
mbps() { awk -v a=$1 -v t=$2 'BEGIN { if (t > 0) printf "%.0f", a / t / 1e6; else print "n/a" }'; }
printf '%d files, %.1f MB; change: %s\n' $N $(awk -v t=$total 'BEGIN{print t/1e6}') "1% of blocks of 10% of files, 2% added, 2% deleted"
printf '%-28s %14s %9s %14s %9s\n' case "wire bytes" "time s" "vs rsync bytes" "vs rsync t"
printf '%-28s %14s %9s %14s %9s\n' "initial: presage (TLS)" $p_full_b $p_full_t $(ratio $p_full_b $r_full_b) $(ratio $p_full_t $r_full_t)
printf '%-28s %14s %9s %14s %9s\n' "initial: rsync" $r_full_b $r_full_t 1.000 1.000
printf '%-28s %14s %9s %14s %9s\n' "delta: presage (TLS)" $p_d_b $p_d_t $(ratio $p_d_b $r_d_b) $(ratio $p_d_t $r_d_t)
printf '%-28s %14s %9s %14s %9s\n' "delta: rsync" $r_d_b $r_d_t 1.000 1.000
printf '%-28s %14s %9s %14s %9s\n' "delta: rdiff (sig+delta)" $rd_b $rd_t $(ratio $rd_b $r_d_b) $(ratio $rd_t $r_d_t)
printf '%-28s %9s MB/s (sha256sum %s MB/s, ratio %s)\n' "SHA-256 store rehash" $(mbps $total $s_t) $(mbps $total $c_t) $(ratio $c_t $s_t)
