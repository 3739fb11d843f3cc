#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two POPs in their own network namespaces joined by a veth pair, each with
# a real nginx serving its content root and a presage-mirrord agent. B pulls
# A's host over TLS 1.3 on a signed order; then A's content changes (1 % of
# the blocks of some files, some added, some deleted) and B syncs again.
# Checks: every SHA-256 matches, bytes on the wire <= 1.1x rsync's for the
# same change, nginx on B serves the new content, invalidation via
# `presage mirror primary` is seen by real HTTP requests.
#
# Size: MIRROR_FULL=1 mirrors 1,000 files with the largest at 64 MiB;
# the default (for `make test`) is 300 files with the largest at 16 MiB.
set -u
cd "$(dirname "$0")/.."
. tests/t-mirror-lib.inc
FAILED=0

if [ "${MIRROR_FULL:-0}" = 1 ]; then NFILES=1000 MAXSIZE=$((64 << 20)); else NFILES=300 MAXSIZE=$((16 << 20)); fi
T=$(mktemp -d /tmp/pmir-sync.XXXXXX)
chmod 755 "$T"
NA=pmir-a-$$ NB=pmir-b-$$
SUB=$(( ($$ % 200) + 20 ))
IPA=10.99.$SUB.1 IPB=10.99.$SUB.2
PKI=$T/pki
cleanup() {
	for p in $T/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	sleep 0.2
	ip netns del $NA 2>/dev/null
	ip netns del $NB 2>/dev/null
	[ "${MIRROR_KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

ip netns add $NA && ip netns add $NB || { echo "SKIP: t-mirror-sync: cannot create namespaces"; exit 77; }
ip link add pmir-va$$ netns $NA type veth peer name pmir-vb$$ netns $NB
ip -n $NA addr add $IPA/24 dev pmir-va$$
ip -n $NB addr add $IPB/24 dev pmir-vb$$
for n in $NA $NB; do ip -n $n link set lo up; done
ip -n $NA link set pmir-va$$ up
ip -n $NB link set pmir-vb$$ up

make_pki "$PKI"
cat > $T/policy <<POL
host h1.test regions eu,us
host h2.test regions us
POL
RA=$T/a RB=$T/b
mkdir -p $RA $RB
echo "generating $NFILES files..."
python3 tests/t-mirror-gen.py gen $RA/h1.test $NFILES $MAXSIZE 1 >/dev/null
mkdir -p $RA/h2.test && echo secret > $RA/h2.test/only-us.txt

start_nginx() { # ns ip root name
	cat > $T/nginx-$4.conf <<NG
user root;
worker_processes 1;
pid $T/nginx-$4.pid;
error_log $T/nginx-$4.err;
events { worker_connections 64; }
http {
	log_format presage '\$host \$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent"';
	access_log $T/access-$4.log presage;
	server {
		listen $2:8080;
		root $3/\$host;
		disable_symlinks on;
		location / {
			if (-f $3/.presage/notprimary/\$host) { return 503; }
			try_files \$uri =404;
		}
	}
}
NG
	ip netns exec $1 nginx -c $T/nginx-$4.conf -p $T || return 1
}
start_nginx $NA $IPA $RA a || fail nginx "nginx A did not start"
start_nginx $NB $IPB $RB b || fail nginx "nginx B did not start"

ip netns exec $NA $MIRRORD serve $(agent_opts popA $RA) --listen $IPA:7443 >$T/agent-a.log 2>&1 &
echo $! > $T/agent-a.pid
wait_port $NA $IPA 7443 || fail agent "agent A not listening"

order() { # extra sign args...
	$PRESAGE mirror sign --key $PKI/ctrl.key --source popA --source-addr $IPA:7443 --dest popB "$@"
}
pullB() { # order-file extra...
	local o=$1; shift
	ip netns exec $NB $MIRRORD pull $(agent_opts popB $RB) --region eu --policy $T/policy --order $o "$@"
}

# 1. First sync: every item moves whole.
order --host h1.test -o $T/o1
if pullB $T/o1 -j > $T/pull1.json 2>$T/pull1.err; then pass first_sync; else fail first_sync "$(tail -3 $T/pull1.err)"; fi
if diff <(tree_sums $RA/h1.test) <(tree_sums $RB/h1.test) >/dev/null; then pass first_sync_sha256; else fail first_sync_sha256 "trees differ"; fi
[ -z "$(ls -A $RB/.presage/tmp)" ] && pass no_tmp_left || fail no_tmp_left "$(ls $RB/.presage/tmp | head)"

# nginx on B serves what was mirrored.
f=$(cd $RB/h1.test && ls d03 | head -1)
got=$(ip netns exec $NB curl -s -H "Host: h1.test" http://$IPB:8080/d03/$f | sha256sum | cut -d' ' -f1)
want=$(sha256sum < $RA/h1.test/d03/$f | cut -d' ' -f1)
[ "$got" = "$want" ] && pass nginx_serves_mirror || fail nginx_serves_mirror "got $got want $want"

# Hot content from nginx B's real access log (the "host" format), then
# after a rotation (rename + reopen) the follower still counts.
get() { ip netns exec $NB curl -s -o /dev/null -H "Host: h1.test" http://$IPB:8080/$1; }
for i in $(seq 1 12); do get d03/$f; done
g=$(cd $RB/h1.test && ls d04 | head -1)
for i in $(seq 1 5); do get d04/$g; done
top=$($PRESAGE mirror top --log $T/access-b.log --format host -n 2 -j)
echo "$top" | python3 -c "import json,sys; d=json.load(sys.stdin); t=d['top']; assert t[0]['key']=='h1.test/d03/$f' and t[1]['key']=='h1.test/d04/$g', t" \
	&& pass top_from_nginx_log || fail top_from_nginx_log "$top"
$PRESAGE mirror top --log $T/access-b.log --format host -n 3 --follow --interval 0.3 --duration 3 -j > $T/follow.out &
fpid=$!
sleep 0.8
mv $T/access-b.log $T/access-b.log.1
kill -USR1 $(cat $T/nginx-b.pid)
sleep 0.3
for i in $(seq 1 20); do get d04/$g; done
wait $fpid
tail -1 $T/follow.out | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['top'][0]['key']=='h1.test/d04/$g', d" \
	&& pass top_follows_rotation || fail top_follows_rotation "$(tail -1 $T/follow.out)"

# 2. Change A, keep a copy of B for rsync, sync again; compare bytes.
cp -a $RB/h1.test $T/rsync-dst
python3 tests/t-mirror-gen.py change $RA/h1.test 2 >/dev/null
order --host h1.test -o $T/o2
t0=$(date +%s.%N)
if pullB $T/o2 -j > $T/pull2.json 2>$T/pull2.err; then pass delta_sync; else fail delta_sync "$(tail -3 $T/pull2.err)"; fi
t1=$(date +%s.%N)
if diff <(tree_sums $RA/h1.test) <(tree_sums $RB/h1.test) >/dev/null; then pass delta_sync_sha256; else fail delta_sync_sha256 "trees differ"; fi
ours=$(tail -1 $T/pull2.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["wire_rx"]+d["wire_tx"])')
rs=$(rsync -a --no-whole-file --delete --stats $RA/h1.test/ $T/rsync-dst/ | awk -F: '/Total bytes sent|Total bytes received/ { gsub(/[ ,]/, "", $2); s += $2 } END { print s }')
if diff <(tree_sums $RA/h1.test) <(tree_sums $T/rsync-dst) >/dev/null; then :; else fail rsync_baseline "rsync copy differs"; fi
ratio=$(awk -v a=$ours -v b=$rs 'BEGIN { printf "%.3f", a / b }')
echo "delta sync: presage $ours bytes on the wire, rsync $rs bytes, ratio $ratio, $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') s"
awk -v r=$ratio 'BEGIN { exit !(r <= 1.1) }' && pass wire_bytes_vs_rsync || fail wire_bytes_vs_rsync "ratio $ratio > 1.1"

# 3. Nothing changed: nothing moves.
order --host h1.test -o $T/o3
pullB $T/o3 -j > $T/pull3.json 2>&1
moved=$(tail -1 $T/pull3.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["items_total"]-d["items_skipped"])' 2>/dev/null)
[ "$moved" = 0 ] && pass unchanged_moves_nothing || fail unchanged_moves_nothing "moved=$moved"

# 4. Refusals.
$PRESAGE mirror sign --key $PKI/other.key --source popA --source-addr $IPA:7443 --dest popB --host h1.test -o $T/bad-key
pullB $T/bad-key >/dev/null 2>$T/e1 && fail unsigned_order_refused "accepted" || { grep -q "signature" $T/e1 && pass unsigned_order_refused || fail unsigned_order_refused "$(cat $T/e1)"; }
order --host h1.test --ttl -5 -o $T/expired
pullB $T/expired >/dev/null 2>$T/e2 && fail expired_order_refused "accepted" || { grep -q "expired" $T/e2 && pass expired_order_refused || fail expired_order_refused "$(cat $T/e2)"; }
order --host h2.test -o $T/resid
pullB $T/resid >/dev/null 2>$T/e3 && fail residency_refused "accepted" || { grep -q "residency\|region" $T/e3 && pass residency_refused || fail residency_refused "$(cat $T/e3)"; }
[ ! -e $RB/h2.test ] && pass residency_nothing_written || fail residency_nothing_written "h2.test exists on B"
# Tampered order text (signature no longer matches).
sed 's/^destination popB/destination popB/; s/^bwlimit 0/bwlimit 1/' $T/o3 > $T/tampered
pullB $T/tampered >/dev/null 2>$T/e4 && fail tampered_order_refused "accepted" || pass tampered_order_refused
# A destination whose certificate comes from another CA.
ip netns exec $NB $MIRRORD pull --root $T/evil --pop popB --cert $PKI/evil.crt --key $PKI/evil.key \
	--ca $PKI/ca.crt --order-pub $PKI/ctrl.pub --region eu --policy $T/policy --order $T/o3 >/dev/null 2>$T/e5 \
	&& fail foreign_ca_refused "accepted" || pass foreign_ca_refused
grep -q "TLS handshake" $T/agent-a.log && pass foreign_ca_logged || fail foreign_ca_logged "not in agent log"
# popC holds a valid certificate but the order names popB.
ip netns exec $NB $MIRRORD pull --root $T/c --pop popB --cert $PKI/popC.crt --key $PKI/popC.key \
	--ca $PKI/ca.crt --order-pub $PKI/ctrl.pub --region eu --policy $T/policy --order $T/o3 >/dev/null 2>$T/e6 \
	&& fail wrong_peer_refused "accepted" || pass wrong_peer_refused
grep -q "refused" $T/agent-a.log && pass refusals_logged || fail refusals_logged "agent log has no refusal"

# 5. Flipped bits in transit: a source that corrupts every chunk.
echo "new content $RANDOM" >> $RA/h1.test/d01/$(ls $RA/h1.test/d01 | head -1)
ip netns exec $NA env PRESAGE_MIRROR_FAULT=flip $MIRRORD serve $(agent_opts popA $RA) --listen $IPA:7444 >$T/agent-flip.log 2>&1 &
echo $! > $T/agent-flip.pid
wait_port $NA $IPA 7444
before=$(tree_sums $RB/h1.test)
$PRESAGE mirror sign --key $PKI/ctrl.key --source popA --source-addr $IPA:7444 --dest popB --host h1.test -o $T/o5
pullB $T/o5 >/dev/null 2>$T/e7 && fail flipped_bits_detected "accepted" || { grep -q "SHA-256\|corrupt" $T/e7 && pass flipped_bits_detected || fail flipped_bits_detected "$(tail -2 $T/e7)"; }
[ "$before" = "$(tree_sums $RB/h1.test)" ] && pass flipped_nothing_installed || fail flipped_nothing_installed "B changed"
[ -z "$(ls -A $RB/.presage/tmp)" ] && pass flipped_no_tmp_left || fail flipped_no_tmp_left "tmp not empty"

# 6. Invalidation: B stops serving h1.test until primary again and re-synced.
url=http://$IPB:8080/d03/$f
code() { ip netns exec $NB curl -s -o /dev/null -w '%{http_code}' -H "Host: h1.test" $url; }
[ "$(code)" = 200 ] && pass serve_before_invalidation || fail serve_before_invalidation "$(code)"
$PRESAGE mirror primary --root $RB --host h1.test --set off >/dev/null
[ "$(code)" = 503 ] && pass not_primary_not_served || fail not_primary_not_served "$(code)"
$PRESAGE mirror primary --root $RB --host h1.test --set on >/dev/null
[ "$(code)" = 503 ] && pass primary_waits_for_resync || fail primary_waits_for_resync "$(code)"
order --host h1.test -o $T/o6
pullB $T/o6 >/dev/null 2>&1
[ "$(code)" = 200 ] && pass served_after_resync || fail served_after_resync "$(code)"

exit $FAILED
