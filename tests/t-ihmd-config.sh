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
