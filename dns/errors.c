// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one place where RCODEs become codes and codes become words (Knot's
 * errcode.h does the same), so a caller never has to guess what a number
 * meant.
 */
#include <stdio.h>
#include <string.h>

#include "dns/dns.h"

int dns_err_from_rcode(int rcode)
{
	if (rcode == DNS_RCODE_NOERROR)
		return 0;
	return -(DNS_E_RCODE_BASE + rcode);
}

int dns_msg__rcode(const struct dns_msg *m)
{
	struct dns_opt o;

	if (dns_msg__opt(m, &o))
		return dns_msg_rcode(m);
	return o.ext_rcode << 4 | dns_msg_rcode(m);
}

int dns_err_from_reply(const struct dns_msg *m)
{
	struct dns_opt o;

	/* 16 is BADVERS in an OPT (RFC 6891) but BADSIG in a TSIG (RFC 8945) */
	if (!dns_msg__opt(m, &o) && dns_msg__rcode(m) == 16)
		return -DNS_E_EDNS_BADVERS;
	return dns_err_from_rcode(dns_msg__rcode(m));
}

int dns_err_rcode(int err)
{
	if (err <= -DNS_E_RCODE_BASE && err > -(DNS_E_RCODE_BASE + 4096))
		return -err - DNS_E_RCODE_BASE;
	return -1;
}

const char *dns_rcode_name(int rcode, char buf[16])
{
	static const char *const names[] = {
		[0] = "NOERROR",   [1] = "FORMERR", [2] = "SERVFAIL", [3] = "NXDOMAIN",
		[4] = "NOTIMP",	   [5] = "REFUSED", [6] = "YXDOMAIN", [7] = "YXRRSET",
		[8] = "NXRRSET",   [9] = "NOTAUTH", [10] = "NOTZONE", [16] = "BADSIG",
		[17] = "BADKEY",   [18] = "BADTIME", [19] = "BADMODE", [20] = "BADNAME",
		[21] = "BADALG",   [22] = "BADTRUNC", [23] = "BADCOOKIE",
	};

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])) && names[rcode])
		return names[rcode];
	snprintf(buf, 16, "RCODE%d", rcode);
	return buf;
}

static const char *rcode_text(int rcode)
{
	switch (rcode) {
	case DNS_RCODE_FORMERR:
		return "server says FORMERR: it could not parse our message (a bug in presage or a server that does not speak RFC 2136)";
	case DNS_RCODE_SERVFAIL:
		return "server says SERVFAIL: it failed internally (check its log; zone not loaded, journal not writable?)";
	case DNS_RCODE_NXDOMAIN:
		return "server says NXDOMAIN: a name that the prerequisites require to be in use is not";
	case DNS_RCODE_NOTIMP:
		return "server says NOTIMP: it does not implement this opcode (dynamic update off?)";
	case DNS_RCODE_REFUSED:
		return "server says REFUSED: policy forbids this request (update: the zone's allow-update / update-policy does not grant this key; query: the server does not serve that zone)";
	case DNS_RCODE_YXDOMAIN:
		return "server says YXDOMAIN: a name that the prerequisites require to be unused is in use";
	case DNS_RCODE_YXRRSET:
		return "server says YXRRSET: an RRset that the prerequisites require to be absent exists (another writer?)";
	case DNS_RCODE_NXRRSET:
		return "server says NXRRSET: an RRset that the prerequisites require is absent or differs (another writer changed it?)";
	case DNS_RCODE_NOTAUTH:
		return "server says NOTAUTH: it is not authoritative for the zone, or rejected our TSIG";
	case DNS_RCODE_NOTZONE:
		return "server says NOTZONE: a name in the update is outside the zone named in the zone section";
	case DNS_RCODE_BADSIG:
		return "server says BADSIG: our TSIG signature did not verify (wrong secret or algorithm for this key name)";
	case DNS_RCODE_BADKEY:
		return "server says BADKEY: it does not know our TSIG key name (check the key name in the server config)";
	case DNS_RCODE_BADTIME:
		return "server says BADTIME: our clock and the server's differ by more than the fudge (check NTP)";
	case DNS_RCODE_BADTRUNC:
		return "server says BADTRUNC: the MAC was truncated below what it accepts";
	}
	return NULL;
}

const char *dns_strerror(int err)
{
	static __thread char buf[96];
	int rc = dns_err_rcode(err);

	if (rc >= 0) {
		const char *t = rcode_text(rc);
		char nb[16];

		if (t)
			return t;
		snprintf(buf, sizeof(buf), "server returned %s", dns_rcode_name(rc, nb));
		return buf;
	}
	switch (-err) {
	case DNS_E_SHORT_HEADER:
		return "malformed DNS message: shorter than the 12-byte header";
	case DNS_E_TRUNCATED:
		return "malformed DNS message: a count or length runs past the end of the message";
	case DNS_E_LABEL_TOO_LONG:
		return "malformed DNS name: label longer than 63 bytes or of a reserved type";
	case DNS_E_NAME_TOO_LONG:
		return "malformed DNS name: longer than 255 bytes";
	case DNS_E_PTR_FORWARD:
		return "malformed DNS name: compression pointer does not point backwards";
	case DNS_E_PTR_RANGE:
		return "malformed DNS name: compression pointer past the end of the message";
	case DNS_E_PTR_LOOP:
		return "malformed DNS name: compression pointers loop";
	case DNS_E_RDATA:
		return "malformed DNS record: RDATA does not match its type or length";
	case DNS_E_TRAILING:
		return "malformed DNS message: bytes after the last record";
	case DNS_E_TSIG_NOT_LAST:
		return "malformed DNS message: TSIG record is not the last record";
	case DNS_E_TSIG_FORMAT:
		return "malformed TSIG record (class, TTL or RDATA layout)";
	case DNS_E_TSIG_MACLEN:
		return "TSIG MAC length out of range for its algorithm";
	case DNS_E_TSIG_BADSIG:
		return "reply's TSIG MAC does not verify: forged, corrupted, or signed with another secret; reply ignored";
	case DNS_E_TSIG_BADKEY:
		return "reply is signed with a different key name or algorithm than our request; reply ignored";
	case DNS_E_TSIG_BADTIME:
		return "reply's TSIG time is outside our clock +- fudge (check NTP on both ends)";
	case DNS_E_TSIG_BADTRUNC:
		return "reply's TSIG MAC is truncated below what we accept";
	case DNS_E_TSIG_UNSIGNED:
		return "reply to our signed request is not signed: treated as unverified, not as an answer";
	case DNS_E_ID_MISMATCH:
		return "only replies with a wrong message ID arrived (spoofing, or a confused middlebox)";
	case DNS_E_QUESTION_MISMATCH:
		return "reply does not match our question or opcode";
	case DNS_E_NOT_RESPONSE:
		return "received a query where a reply was expected";
	case DNS_E_TOO_BIG:
		return "DNS message larger than 65535 bytes; split the change set";
	case DNS_E_TC_OVER_TCP:
		return "server set TC on a TCP reply";
	case DNS_E_BAD_NAME:
		return "not a valid domain name";
	case DNS_E_BAD_RDATA:
		return "record data not valid for its type";
	case DNS_E_KEYFILE:
		return "key file is not in tsig-keygen (BIND) or keymgr -t (Knot) format, or has no such key";
	case DNS_E_BAD_ALG:
		return "TSIG algorithm not supported (use hmac-sha1/224/256/384/512)";
	case DNS_E_NO_ZONE:
		return "name is not inside any zone we were given";
	case DNS_E_VERIFY:
		return "read-your-write check failed: the server does not show what we wrote";
	case DNS_E_FLAG_FORMAT:
		return "mirroring flag TXT record is not a list of key=value strings";
	case DNS_E_OPT_FORMAT:
		return "malformed EDNS OPT record in a reply (more than one, not owned by the root, or options past its end)";
	case DNS_E_EDNS_BADVERS:
		return "server says BADVERS: it does not support EDNS version 0 (retry with --no-edns)";
	case DNS_E_CONFIG:
		return "DNS configuration file is not valid (the parser's message names the file and line)";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	snprintf(buf, sizeof(buf), "unknown error %d", err);
	return buf;
}
