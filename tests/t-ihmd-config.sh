#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Bad configuration gets a precise message (file, line, what to do) and a
# non-zero exit; nothing is attached.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
FAILED=0

# expect NAME EXIT_CODE PATTERN CONFIG-TEXT
expect() {
	local name=$1 code=$2 pat=$3
	printf '%s' "$4" >"$T/c.conf"
	out=$("$BUILD/ihmd" -c "$T/c.conf" --check 2>&1); rc=$?
	if [ "$rc" -eq "$code" ] && grep -qE -- "$pat" <<<"$out"; then
		echo "PASS: config_$name"
	else
		echo "FAIL: config_$name: exit $rc (want $code), output: $out"
		FAILED=1
	fi
}

expect unknown_key 2 'c.conf:2: unknown key .tikc.' $'# x\ntikc 1s\n'
expect bad_tick 2 'c.conf:1: tick .5x. must be a duration' $'tick 5x\n'
expect bad_capacity 2 'c.conf:3: capacity .10Q. is not a rate' $'interconnect a {\n interface lo\n capacity 10Q\n}\n'
expect unclosed 2 'c.conf:1: interconnect .a. is not closed' $'interconnect a {\n interface lo\n'
expect no_interface 2 'c.conf:3: interconnect .a. \(line 1\) has no interface' $'interconnect a {\n capacity 1G\n}\n'
expect stray_brace 2 'c.conf:1: .}. without an open block' $'}\n'
expect duplicate_link 2 'c.conf:4: interconnect .a. is already defined on line 1' $'interconnect a {\n interface lo\n}\ninterconnect a {\n interface lo\n}\n'
expect duplicate_iface 2 'interface lo is already used by interconnect .a.' $'interconnect a {\n interface lo\n}\ninterconnect b {\n interface lo\n}\n'
expect bad_name 2 'c.conf:1: interconnect name .a/b. must be' $'interconnect a/b {\n interface lo\n}\n'
expect unterminated_quote 2 'c.conf:3: unterminated quoted string' $'interconnect a {\n interface lo\n peer "AS1\n}\n'
expect long_ifname 2 'c.conf:2: interface name .* is longer than 15' $'interconnect a {\n interface abcdefghijklmnopqrstu\n}\n'
expect empty 2 'no interconnect defined' $'# nothing\n'
expect bad_xdp_mode 2 'xdp-mode .fast. is not one of native, skb, auto' $'xdp-mode fast\n'
L=$'interconnect a {\n interface lo\n}\n'
expect bad_probe 2 'c.conf:3: probe target .example.com. is not an IPv4 or IPv6 address' $'interconnect a {\n interface lo\n probe example.com\n}\n'
expect dup_probe 2 'c.conf:4: probe target 10.0.0.1 is listed twice' $'interconnect a {\n interface lo\n probe 10.0.0.1\n probe 10.0.0.1\n}\n'
expect too_many_probes 2 "c.conf:11: interconnect .a. has more than 8 probe targets" "$(printf 'interconnect a {\n interface lo\n'; for i in 1 2 3 4 5 6 7 8 9; do echo " probe 10.0.0.$i"; done; echo '}')"
expect bad_probe_interval 2 'c.conf:1: probe-interval .1ms. must be a duration from 10ms to 60s' $'probe-interval 1ms\n'"$L"
expect bad_route_proto 2 'c.conf:1: route protocol .ospf3. is not a name' $'route-protocols bird ospf3\n'"$L"
expect bad_route_table 2 'c.conf:1: route-table .x. is not main, local, default, all or a table number' $'route-table x\n'"$L"
expect bad_listen 2 'c.conf:1: listen .localhost:80. is not ADDRESS:PORT' $'listen localhost:80\n'"$L"
expect bad_listen_port 2 'c.conf:1: listen .127.0.0.1:70000. is not' $'listen 127.0.0.1:70000\n'"$L"
expect tls_half 2 'tls-cert and tls-key go together' $'tls-cert /x.crt\n'"$L"
expect tls_ca_alone 2 'tls-client-ca needs tls-cert and tls-key' $'tls-client-ca /ca.crt\n'"$L"
expect bad_history 2 'c.conf:1: history .0. must be a number from 1 to 1000000' $'history 0\n'"$L"
expect new_keys_check 0 'a: interface lo \(present\), capacity 0 bit/s, probes 127.0.0.1 ::1' \
	$'probe-interval 200ms\nprobe-timeout 150ms\nroute-protocols bird 186 static\nroute-table all\nburst-window 500ms\nburst-event 5\nlisten [::1]:9471\nhistory 10\ninterconnect a {\n interface lo\n probe 127.0.0.1\n probe ::1\n}\n'
grep -q 'health API: \[::1\]:9471 (HTTP)' <<<"$out" && echo "PASS: config_check_shows_api" || { echo "FAIL: config_check_shows_api: $out"; FAILED=1; }
expect listen_off 0 'health API: off' $'listen off\n'"$L"
printf 'tick 1s\n\000\n' >"$T/nul.conf"
out=$("$BUILD/ihmd" -c "$T/nul.conf" --check 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "contains a NUL byte" <<<"$out"; then
	echo "PASS: config_nul_byte"; else echo "FAIL: config_nul_byte: $out"; FAILED=1; fi
rm -f "$T/c.conf"
out=$("$BUILD/ihmd" -c "$T/nonexistent.conf" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "nonexistent.conf: cannot read: No such file or directory" <<<"$out"; then
	echo "PASS: config_missing_file"; else echo "FAIL: config_missing_file: $out"; FAILED=1; fi
expect valid_config_checks 0 'a: interface lo \(present\), capacity 10000000000 bit/s, peer AS 1' \
	$'tick 500ms\nxdp-mode auto\ninterconnect a {\n interface lo\n capacity 10G\n peer "AS 1"\n}\ninterconnect b {\n interface nosuchif0\n}\n'
if grep -q "b: interface nosuchif0 (missing)" <<<"$out"; then echo "PASS: config_check_names_missing_interface"
else echo "FAIL: config_check_names_missing_interface: $out"; FAILED=1; fi
out=$("$BUILD/ihmd" --help); rc=$?
if [ $rc -eq 0 ] && grep -q -- "--netns" <<<"$out"; then echo "PASS: ihmd_help"; else echo "FAIL: ihmd_help"; FAILED=1; fi
out=$("$BUILD/ihmd" --bogus 2>&1); rc=$?
if [ $rc -eq 2 ]; then echo "PASS: ihmd_unknown_option"; else echo "FAIL: ihmd_unknown_option: $rc"; FAILED=1; fi
exit $FAILED
