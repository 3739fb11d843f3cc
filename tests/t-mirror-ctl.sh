#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# presage-mirrord run and its command channel, driven by
# `presage mirror ctl` as the controller would: two real agents on
# loopback (popA the source, popB the destination) with real certificates
# from one CA, the controller's certificate (CN "controller") and its
# Ed25519 order key.
#
# Checks: submit -> the job runs -> done, B's store matches A's by SHA-256;
# the same order submitted again is not pulled again; a destination killed
# with -9 mid-pull resumes the journaled job after a restart and completes
# it without moving again what it had installed; commands over a POP's
# certificate are refused (EPEER); primary off/on with signed commands, a
# forged or expired one refused; the hot set of a live access log, ranked,
# with sizes; a host's manifest; SIGTERM exits 0.
#
# Ports 19300-19399 on 127.0.0.1 only.
set -u
cd "$(dirname "$0")/.."
. tests/t-mirror-lib.inc
FAILED=0

T=$(mktemp -d /tmp/tc3-mirror-ctl.XXXXXX)
PKI=$T/pki
PA=19311 PB=19312
ADDR_A=127.0.0.1:$PA ADDR_B=127.0.0.1:$PB
cleanup() {
	for p in "$T"/*.pid; do
		[ -f "$p" ] || continue
		kill -9 "$(cat "$p")" 2>/dev/null
		wait "$(cat "$p")" 2>/dev/null
	done
	[ "${MIRROR_KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

make_pki "$PKI"
(
	cd "$PKI" || exit 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout controller.key -out controller.csr -subj "/CN=controller" 2>/dev/null
	openssl x509 -req -in controller.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-out controller.crt -days 2 2>/dev/null
)
cat > $T/policy <<POL
host h1.test regions eu
host h2.test regions eu
host h3.test regions eu
POL
RA=$T/a RB=$T/b
mkdir -p $RA $RB
python3 tests/t-mirror-gen.py gen $RA/h1.test 40 $((512 << 10)) 7 >/dev/null
# h2.test: 12 items of 512 KiB, pulled at 256 KiB/s: long enough to kill.
mkdir -p $RA/h2.test
for i in $(seq -w 1 12); do head -c $((512 << 10)) /dev/urandom > $RA/h2.test/big$i.bin; done
mkdir -p $RA/h3.test
for i in $(seq -w 1 8); do head -c $((512 << 10)) /dev/urandom > $RA/h3.test/big$i.bin; done
: > $T/access-a.log

ctl() { # ctl CERT-NAME ADDR SUBCOMMAND ARGS...
	local who=$1 addr=$2; shift 2
	local sub=$1; shift
	$PRESAGE mirror ctl "$sub" --addr "$addr" --cert $PKI/$who.crt --key $PKI/$who.key \
		--ca $PKI/ca.crt --order-key $PKI/ctrl.key --timeout 10000 "$@"
}
start_a() {
	$MIRRORD run $(agent_opts popA $RA) --listen $ADDR_A --region eu --policy $T/policy \
		--access-log $T/access-a.log --log-format host >>$T/agent-a.log 2>&1 &
	echo $! > $T/a.pid
	wait_port "" 127.0.0.1 $PA
}
start_b() { # extra options
	$MIRRORD run $(agent_opts popB $RB) --listen $ADDR_B --region eu --policy $T/policy \
		--parallel 1 "$@" >>$T/agent-b.log 2>&1 &
	echo $! > $T/b.pid
	wait_port "" 127.0.0.1 $PB
}
jfield() { # jfield FIELD < json
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
wait_state() { # wait_state ID STATE [tries of 0.2 s]
	local s
	for _ in $(seq 1 ${3:-300}); do
		s=$(ctl controller $ADDR_B status --id $1 -j 2>/dev/null | jfield state)
		[ "$s" = "$2" ] && return 0
		[ "$s" = failed ] && return 1
		sleep 0.2
	done
	return 1
}
sign() { # sign ID HOST [KEY]
	$PRESAGE mirror sign --key ${3:-$PKI/ctrl.key} --source popA --source-addr $ADDR_A \
		--dest popB --host $2 --id $1 --ttl 600 -o $T/$1.order
}

start_a || fail start-a "agent A did not listen"
start_b || fail start-b "agent B did not listen"

# --- submit, run, done, checksums --------------------------------------------
sign job1 h1.test
out=$(ctl controller $ADDR_B submit --order $T/job1.order -j)
st=$(echo "$out" | jfield state)
case $st in queued|running|done) pass submit-accepted ;; *) fail submit-accepted "state '$st' ($out)" ;; esac
[ -f $RB/.presage/jobs/job1 ] && grep -q '^order$' $RB/.presage/jobs/job1 &&
	pass submit-journaled || fail submit-journaled "no journal file for job1"
if wait_state job1 done; then pass submit-done; else
	fail submit-done "$(ctl controller $ADDR_B status --id job1 2>&1)"; fi
if [ "$(tree_sums $RA/h1.test)" = "$(tree_sums $RB/h1.test)" ]; then
	pass submit-sha256-match
else
	fail submit-sha256-match "B's h1.test differs from A's"
fi
n=$(ctl controller $ADDR_B status --id job1 -j | jfield items_done)
[ "$n" = 40 ] && pass status-items-done || fail status-items-done "items_done $n, want 40"
grep -q '^state done$' $RB/.presage/jobs/job1 && pass journal-done || fail journal-done "$(head -4 $RB/.presage/jobs/job1)"

# --- the same order again: answered, not pulled again --------------------------
acc_a=$(grep -c 'order job1 accepted' $T/agent-a.log)
out=$(ctl controller $ADDR_B submit --order $T/job1.order -j)
[ "$(echo "$out" | jfield state)" = done ] && pass resubmit-status-done || fail resubmit-status-done "$out"
sleep 1
pulls=$(grep -c 'order job1: .* items to move' $T/agent-b.log)
[ "$pulls" = 1 ] && pass resubmit-not-rerun || fail resubmit-not-rerun "B pulled job1 $pulls times"
[ "$(grep -c 'order job1 accepted' $T/agent-a.log)" = "$acc_a" ] &&
	pass resubmit-no-transfer || fail resubmit-no-transfer "A saw job1 again"

out=$(ctl controller $ADDR_B status --id nosuch -j)
[ "$(echo "$out" | jfield state)" = unknown ] && pass status-unknown || fail status-unknown "$out"

# --- refusals -----------------------------------------------------------------
out=$(ctl popA $ADDR_B status --id job1 -j 2>$T/err)
rc=$?
if [ $rc = 1 ] && grep -q 'peer certificate names another POP' $T/err &&
	grep -q "certificate names 'popA', not the controller" $T/agent-b.log; then
	pass cmd-from-pop-refused
else
	fail cmd-from-pop-refused "rc $rc: $(cat $T/err)"
fi
ctl popA $ADDR_B primary --pop popB --host h1.test --set off >/dev/null 2>&1
[ ! -e $RB/.presage/notprimary/h1.test ] && pass primary-from-pop-refused ||
	fail primary-from-pop-refused "a POP's certificate changed a flag"
sign forged h1.test $PKI/other.key
ctl controller $ADDR_B submit --order $T/forged.order >/dev/null 2>$T/err
grep -q 'signature does not verify' $T/err && [ ! -e $RB/.presage/jobs/forged ] &&
	pass submit-forged-refused || fail submit-forged-refused "$(cat $T/err)"

# --- primary flags -------------------------------------------------------------
out=$(ctl controller $ADDR_B primary --pop popB --host h1.test --set off -j)
if [ "$(echo "$out" | jfield state)" = not-primary ] &&
	[ "$(cat $RB/.presage/notprimary/h1.test 2>/dev/null)" = not-primary ]; then
	pass primary-off
else
	fail primary-off "$out"
fi
out=$(ctl controller $ADDR_B primary --pop popB --host h1.test --set on -j)
if [ "$(echo "$out" | jfield state)" = resync-pending ] &&
	[ "$(cat $RB/.presage/notprimary/h1.test 2>/dev/null)" = resync-pending ]; then
	pass primary-on-resync-pending
else
	fail primary-on-resync-pending "$out"
fi
ctl controller $ADDR_B primary --pop popB --host h2.test --set off --order-key $PKI/other.key \
	>/dev/null 2>$T/err
grep -q 'signature does not verify' $T/err && [ ! -e $RB/.presage/notprimary/h2.test ] &&
	pass primary-forged-refused || fail primary-forged-refused "$(cat $T/err)"
ctl controller $ADDR_B primary --pop popB --host h2.test --set off --ttl -10 >/dev/null 2>$T/err
grep -q 'order expired' $T/err && [ ! -e $RB/.presage/notprimary/h2.test ] &&
	pass primary-expired-refused || fail primary-expired-refused "$(cat $T/err)"

# --- hot set from A's live access log ----------------------------------------------
now=$(LC_ALL=C date '+%d/%b/%Y:%H:%M:%S %z')
line() { echo "$1 127.0.0.1 - - [$now] \"GET /$2?x=1 HTTP/1.1\" 200 100 \"-\" \"t\""; }
{
	for _ in 1 2 3 4 5; do line h1.test d00/f0000.bin; done
	for _ in 1 2 3; do line h1.test d01/f0001.bin; done
	line h1.test d02/f0002.bin
	for _ in 1 2 3 4 5 6 7 8; do line h1.test not/in/store.bin; done
	for _ in 1 2; do line h2.test big01.bin; done
} >> $T/access-a.log
out=$(ctl controller $ADDR_A hot --host h1.test -n 3 -j)
got=$(echo "$out" | python3 -c '
import json, sys
for it in json.load(sys.stdin)["items"]:
    print(it["path"], it["size"], it["sha256"])')
want=$(for p in d00/f0000.bin d01/f0001.bin d02/f0002.bin; do
	echo "h1.test/$p $(stat -c %s $RA/h1.test/$p) $(sha256sum < $RA/h1.test/$p | cut -d' ' -f1)"; done)
[ "$got" = "$want" ] && pass hot-ranked-sizes-sha || fail hot-ranked-sizes-sha "got: $got; want: $want"
n=$(ctl controller $ADDR_A hot -n 2 -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$n" = 2 ] && pass hot-n-limit || fail hot-n-limit "$n items for -n 2"
out=$(ctl controller $ADDR_A hot --host h2.test -j)
echo "$out" | grep -q '"h2.test/big01.bin"' && ! echo "$out" | grep -q h1.test &&
	pass hot-host-filter || fail hot-host-filter "$out"
# More lines: the live follower sees them and the ranking changes.
for _ in $(seq 1 9); do line h1.test d02/f0002.bin; done >> $T/access-a.log
top=$(ctl controller $ADDR_A hot --host h1.test -n 1 -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["path"])')
[ "$top" = h1.test/d02/f0002.bin ] && pass hot-live || fail hot-live "top is $top"

# --- manifest -------------------------------------------------------------------
out=$(ctl controller $ADDR_A manifest --host h1.test -j)
got=$(echo "$out" | python3 -c '
import json, sys
for e in json.load(sys.stdin): print(e["sha256"] + "  ./" + e["path"].split("/", 1)[1])' | sort)
[ "$got" = "$(tree_sums $RA/h1.test | sort)" ] && pass manifest-host ||
	fail manifest-host "manifest differs from the files of h1.test"
ctl controller $ADDR_A manifest --host ../etc >/dev/null 2>&1
[ $? = 1 ] && pass manifest-bad-host || fail manifest-bad-host "accepted a bad host"

# --- kill -9 mid-pull, restart, resume ----------------------------------------------
kill "$(cat $T/b.pid)"; wait "$(cat $T/b.pid)" 2>/dev/null
start_b --bwlimit $((256 << 10)) || fail restart-b "agent B did not listen"
sign job2 h2.test
ctl controller $ADDR_B submit --order $T/job2.order >/dev/null || fail submit-job2 "refused"
for _ in $(seq 1 150); do
	d=$(ctl controller $ADDR_B status --id job2 -j 2>/dev/null | jfield items_done)
	[ "${d:-0}" -ge 2 ] && break
	sleep 0.2
done
kill -9 "$(cat $T/b.pid)"; wait "$(cat $T/b.pid)" 2>/dev/null
grep -q '^state running$' $RB/.presage/jobs/job2 && pass kill9-journal-running ||
	fail kill9-journal-running "$(head -3 $RB/.presage/jobs/job2)"
before=$(ls $RB/h2.test 2>/dev/null | wc -l)
start_b || fail restart-b2 "agent B did not listen after kill -9"
if wait_state job2 done; then pass kill9-resumed-done; else
	fail kill9-resumed-done "$(ctl controller $ADDR_B status --id job2 2>&1)"; fi
[ "$(tree_sums $RA/h2.test)" = "$(tree_sums $RB/h2.test)" ] && pass kill9-sha256-match ||
	fail kill9-sha256-match "B's h2.test differs from A's"
sk=$(ctl controller $ADDR_B status --id job2 -j | jfield items_skipped)
if [ "$before" -ge 2 ] && [ "$sk" = "$before" ]; then
	pass kill9-no-second-transfer
else
	fail kill9-no-second-transfer "$before items installed before the kill, $sk skipped on resume"
fi
ls $RB/.presage/jobs | grep -q tmp && fail journal-no-temp "temporary journal files left" || pass journal-no-temp

# --- SIGTERM mid-pull: exits 0, the job stays journaled and resumes -------------------
kill "$(cat $T/b.pid)"; wait "$(cat $T/b.pid)" 2>/dev/null
start_b --bwlimit $((256 << 10)) || fail restart-b3 "agent B did not listen"
sign job3 h3.test
ctl controller $ADDR_B submit --order $T/job3.order >/dev/null || fail submit-job3 "refused"
for _ in $(seq 1 150); do
	d=$(ctl controller $ADDR_B status --id job3 -j 2>/dev/null | jfield items_done)
	[ "${d:-0}" -ge 1 ] && break
	sleep 0.2
done
kill -TERM "$(cat $T/b.pid)"
wait "$(cat $T/b.pid)"
rc=$?
[ $rc = 0 ] && pass sigterm-exit-0 || fail sigterm-exit-0 "exit status $rc"
grep -q 'job job3: stopped, resumes on the next start' $T/agent-b.log &&
	grep -q '^state running$' $RB/.presage/jobs/job3 &&
	pass sigterm-job-kept || fail sigterm-job-kept "$(head -3 $RB/.presage/jobs/job3)"
[ -z "$(ls -A $RB/.presage/tmp)" ] && pass sigterm-no-partial || fail sigterm-no-partial "$(ls $RB/.presage/tmp)"
start_b || fail restart-b4 "agent B did not listen"
if wait_state job3 done; then pass sigterm-resumed-done; else
	fail sigterm-resumed-done "$(ctl controller $ADDR_B status --id job3 2>&1)"; fi
[ "$(tree_sums $RA/h3.test)" = "$(tree_sums $RB/h3.test)" ] && pass sigterm-sha256-match ||
	fail sigterm-sha256-match "B's h3.test differs from A's"

exit $FAILED
