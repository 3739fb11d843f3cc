# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# BIRD 2 in network namespaces, for tests and the lab (sourced, bash).
#
# Each instance has a NAME unique to the caller (prefix it with your own
# tag: instances of other runs may exist at the same time) and lives in a
# directory of its own, $BIRD_DIR/NAME/ (BIRD_DIR defaults to a temporary
# directory): bird.conf, the control socket, the pid file, the log and, for
# an upstream, the static routes it announces.
#
# Two roles:
#  - an upstream announces a pool of IPv4 /24s over eBGP (static blackhole
#    routes, exported to its peer, which makes itself the next hop);
#    bird_withdraw/bird_announce change how many of the pool it announces,
#    with `birdc configure` (BIRD withdraws or announces just the difference);
#  - a POP router speaks eBGP to one or more upstreams and exports what it
#    learns into the kernel's main table (rtm_protocol "bird"), with ECMP
#    ("merge paths") when two upstreams announce the same prefix.
#
#   source scripts/lib/bird.sh
#   bird_upstream  up-a  NS_UP  10.1.0.2 65001  10.1.0.1 65000  100 300
#   bird_pop       pop   NS_POP 10.1.0.1 65000  "10.1.0.2 65001" "10.2.0.2 65002"
#   bird_start up-a; bird_start pop
#   bird_wait_established pop 2 30
#   bird_withdraw up-a 50        # now announces 250 prefixes
#   bird_announce up-a 50        # 300 again
#   bird_stop_all
#
# Every function returns non-zero with a message on stderr when it fails.
# The pool of an upstream with first octet A is A.(i/256).(i%256).0/24 for
# i = 0..N-1 (at most 65536); it lives only inside the namespaces.

BIRD_DIR=${BIRD_DIR:-}
BIRD_NAMES=()

# Not in a subshell: it may set BIRD_DIR for the caller.
_bird_init() {
	if [ -z "$BIRD_DIR" ]; then
		BIRD_DIR=$(mktemp -d /tmp/presage-bird.XXXXXX) || return 1
	fi
	mkdir -p "$BIRD_DIR/$1"
}

# birdc NAME COMMAND...: run a birdc command against instance NAME.
bird_cmd() {
	local name=$1
	shift
	birdc -s "$BIRD_DIR/$name/bird.ctl" "$@"
}

# bird_upstream NAME NS LOCAL_IP LOCAL_AS PEER_IP PEER_AS FIRST_OCTET COUNT
# Write the config of an upstream announcing COUNT prefixes of its pool.
bird_upstream() {
	local name=$1 ns=$2 lip=$3 las=$4 pip=$5 pas=$6 octet=$7 count=$8 d
	_bird_init "$name" || return 1
	d=$BIRD_DIR/$name
	echo "$ns" >"$d/netns"
	echo "$octet" >"$d/octet"
	cat >"$d/bird.conf" <<EOC
# upstream $name: announces $d/static.conf to $pip over eBGP
log "$d/bird.log" all;
router id $lip;
protocol device { scan time 1; }
protocol static announced {
	ipv4;
	include "$d/static.conf";
}
protocol bgp pop {
	local $lip as $las;
	neighbor $pip as $pas;
	direct;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 5;
	ipv4 { import none; export where proto = "announced"; };
}
EOC
	_bird_static "$name" "$count"
}

# bird_pop NAME NS LOCAL_IP LOCAL_AS "PEER_IP PEER_AS" ...
# Write the config of a POP router with one eBGP session per peer, exporting
# what it learns into the kernel.
bird_pop() {
	local name=$1 ns=$2 lip=$3 las=$4 d i=0 p
	shift 4
	_bird_init "$name" || return 1
	d=$BIRD_DIR/$name
	echo "$ns" >"$d/netns"
	cat >"$d/bird.conf" <<EOC
# POP router $name: eBGP to its upstreams, best routes into the kernel
log "$d/bird.log" all;
router id $lip;
protocol device { scan time 1; }
protocol kernel {
	merge paths on;
	ipv4 { import none; export all; };
}
EOC
	for p in "$@"; do
		set -- $p
		cat >>"$d/bird.conf" <<EOC
protocol bgp up$i {
	local as $las;
	neighbor $1 as $2;
	direct;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 5;
	ipv4 { import all; export none; };
}
EOC
		i=$((i + 1))
	done
}

# The static routes an upstream announces: the first COUNT of its pool.
_bird_static() {
	local name=$1 count=$2 d=$BIRD_DIR/$1
	if [ "$count" -lt 0 ] || [ "$count" -gt 65536 ]; then
		echo "bird: $name: cannot announce $count prefixes (0 to 65536)" >&2
		return 1
	fi
	awk -v o="$(cat "$d/octet")" -v n="$count" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "route %d.%d.%d.0/24 blackhole;\n", o, int(i / 256), i % 256 }' \
		>"$d/static.conf.tmp" && mv "$d/static.conf.tmp" "$d/static.conf" &&
		echo "$count" >"$d/count"
}

# bird_start NAME: start the instance in its namespace; waits until its
# control socket answers (10 s).
bird_start() {
	local name=$1 d=$BIRD_DIR/$1 ns
	ns=$(cat "$d/netns") || return 1
	ip netns exec "$ns" bird -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid" ||
		{ echo "bird: $name did not start (config $d/bird.conf)" >&2; return 1; }
	BIRD_NAMES+=("$name")
	for _ in $(seq 1 100); do
		bird_cmd "$name" show status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bird: $name does not answer on $d/bird.ctl; log:" >&2
	tail -n 20 "$d/bird.log" >&2
	return 1
}

# bird_reconfigure NAME: re-read the config; fails unless BIRD accepted it.
bird_reconfigure() {
	local out
	out=$(bird_cmd "$1" configure 2>&1)
	case "$out" in
	*"Reconfigured"* | *"Reconfiguration in progress"* | *"Reconfiguration confirmed"*) return 0 ;;
	esac
	echo "bird: $1: configure failed: $out" >&2
	return 1
}

# bird_count NAME: how many prefixes the upstream announces now.
bird_count() { cat "$BIRD_DIR/$1/count"; }

# bird_withdraw NAME N: stop announcing the last N announced prefixes.
bird_withdraw() {
	local cur
	cur=$(bird_count "$1") || return 1
	_bird_static "$1" $((cur - $2)) && bird_reconfigure "$1"
}

# bird_announce NAME N: announce the next N prefixes of the pool.
bird_announce() {
	local cur
	cur=$(bird_count "$1") || return 1
	_bird_static "$1" $((cur + $2)) && bird_reconfigure "$1"
}

# bird_wait_established NAME N TIMEOUT_S: wait until N BGP sessions of the
# instance are Established.
bird_wait_established() {
	local name=$1 want=$2 t=${3:-30} n
	for _ in $(seq 1 $((t * 5))); do
		n=$(bird_cmd "$name" show protocols 2>/dev/null | awk '$2 == "BGP" && $NF == "Established"' | wc -l)
		[ "$n" -ge "$want" ] && return 0
		sleep 0.2
	done
	echo "bird: $name: $n of $want BGP sessions established after ${t}s:" >&2
	bird_cmd "$name" show protocols >&2
	return 1
}

# bird_stop NAME: stop the instance (TERM, then KILL after 3 s).
bird_stop() {
	local pidf=$BIRD_DIR/$1/bird.pid pid
	pid=$(cat "$pidf" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# bird_stop_all: stop every instance started here and remove BIRD_DIR if
# this file created it.
bird_stop_all() {
	local n
	for n in "${BIRD_NAMES[@]}"; do bird_stop "$n"; done
	BIRD_NAMES=()
	case "$BIRD_DIR" in /tmp/presage-bird.*) rm -rf "$BIRD_DIR" ;; esac
}
