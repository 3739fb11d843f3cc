// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns/ without a network: names, messages, UPDATE encoding, TSIG, key files,
 * the mirroring flag, and a table of malformed replies, each with the exact
 * error it must produce.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "dns/dns.h"
#include "fsutil.h"
#include "harness.h"

/* Hex with blanks; "ab*32" repeats a byte. Returns the length. */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		unsigned v;
		int rep = 1;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1)
			abort();
		s += 2;
		if (*s == '*') {
			rep = (int)strtol(s + 1, (char **)&s, 10);
		}
		while (rep-- > 0 && n < cap)
			out[n++] = (uint8_t)v;
	}
	return n;
}

/* ---- malformed replies ---------------------------------------------------- */

#define HDR(qd, an, ns, ar) "1234 8000 " qd " " an " " ns " " ar " "
#define Q_A "01 61 00 0001 0001 "
#define ALG256 "0b 686d61632d736861323536 00 "
#define TSIG_RD_OK ALG256 "000000000000 012c 0020 ab*32 1234 0000 0000 "
#define TSIG_RR "01 6b 00 00fa 00ff 00000000 003d " TSIG_RD_OK
#define A_RR "01 61 00 0001 0001 00000e10 0004 c0000201 "
#define L63 "3f 61*63 "

enum stage { PARSE, VERIFY };
static const struct {
	const char *name;
	const char *hex;
	enum stage stage;
	int want;
} bad[] = {
	{ "empty message", "", PARSE, -DNS_E_SHORT_HEADER },
	{ "one byte", "12", PARSE, -DNS_E_SHORT_HEADER },
	{ "header cut at 11 bytes", "1234 8000 0001 0000 0000 00", PARSE, -DNS_E_SHORT_HEADER },
	{ "QDCOUNT 1, no question", HDR("0001", "0000", "0000", "0000"), PARSE, -DNS_E_TRUNCATED },
	{ "question without type and class", HDR("0001", "0000", "0000", "0000") "01 61 00", PARSE,
	  -DNS_E_TRUNCATED },
	{ "question without class", HDR("0001", "0000", "0000", "0000") "01 61 00 0001", PARSE,
	  -DNS_E_TRUNCATED },
	{ "QDCOUNT 2, one question", HDR("0002", "0000", "0000", "0000") Q_A, PARSE, -DNS_E_TRUNCATED },
	{ "ANCOUNT 1, no answer", HDR("0001", "0001", "0000", "0000") Q_A, PARSE, -DNS_E_TRUNCATED },
	{ "RR header cut short", HDR("0000", "0001", "0000", "0000") "01 61 00 0001 0001 0000", PARSE,
	  -DNS_E_TRUNCATED },
	{ "RDLENGTH past the end", HDR("0000", "0001", "0000", "0000") "01 61 00 0001 0001 00000e10 000a c0000201",
	  PARSE, -DNS_E_TRUNCATED },
	{ "RDLENGTH 0xffff", HDR("0000", "0001", "0000", "0000") "01 61 00 0001 0001 00000e10 ffff c0000201",
	  PARSE, -DNS_E_TRUNCATED },
	{ "ARCOUNT 0xffff, one record", HDR("0000", "0000", "0000", "ffff") A_RR, PARSE, -DNS_E_TRUNCATED },
	{ "NSCOUNT past the end", HDR("0000", "0001", "0003", "0000") A_RR, PARSE, -DNS_E_TRUNCATED },
	{ "label runs past the end", HDR("0001", "0000", "0000", "0000") "05 61 62", PARSE, -DNS_E_TRUNCATED },
	{ "name without root label", HDR("0001", "0000", "0000", "0000") "01 61", PARSE, -DNS_E_TRUNCATED },
	{ "label of 64 (0x40 type)", HDR("0001", "0000", "0000", "0000") "40 61*64 00 0001 0001", PARSE,
	  -DNS_E_LABEL_TOO_LONG },
	{ "label length 0x7f", HDR("0001", "0000", "0000", "0000") "7f 61*127 00 0001 0001", PARSE,
	  -DNS_E_LABEL_TOO_LONG },
	{ "label type 0x80", HDR("0001", "0000", "0000", "0000") "80 00 0001 0001", PARSE,
	  -DNS_E_LABEL_TOO_LONG },
	{ "name of 257 bytes", HDR("0001", "0000", "0000", "0000") L63 L63 L63 L63 "00 0001 0001", PARSE,
	  -DNS_E_NAME_TOO_LONG },
	{ "name over 255 through a pointer",
	  HDR("0001", "0001", "0000", "0000") L63 L63 L63 "00 0001 0001 " L63 "c0 0c 0001 0001 00000000 0000",
	  PARSE, -DNS_E_NAME_TOO_LONG },
	{ "name of exactly 255 bytes is fine",
	  HDR("0001", "0000", "0000", "0000") L63 L63 L63 "3d 61*61 00 0001 0001", PARSE, 0 },
	{ "pointer to itself", HDR("0001", "0000", "0000", "0000") "c0 0c 0001 0001", PARSE, -DNS_E_PTR_LOOP },
	{ "label then pointer back to it", HDR("0001", "0000", "0000", "0000") "01 61 c0 0c 0001 0001", PARSE,
	  -DNS_E_PTR_LOOP },
	{ "pointer pair (first hop forward)", HDR("0001", "0000", "0000", "0000") "c0 0e c0 0c 0001 0001", PARSE,
	  -DNS_E_PTR_FORWARD },
	{ "pointer forward", HDR("0001", "0000", "0000", "0000") "c0 12 0001 0001 01 61 00", PARSE,
	  -DNS_E_PTR_FORWARD },
	{ "pointer past the end", HDR("0001", "0000", "0000", "0000") "c0 ff 0001 0001", PARSE,
	  -DNS_E_PTR_RANGE },
	{ "pointer into the header", HDR("0001", "0000", "0000", "0000") "c0 05 0001 0001", PARSE,
	  -DNS_E_PTR_RANGE },
	{ "pointer 0x3fff", HDR("0001", "0000", "0000", "0000") "ff ff 0001 0001", PARSE, -DNS_E_PTR_RANGE },
	{ "pointer cut in half", HDR("0001", "0000", "0000", "0000") "c0", PARSE, -DNS_E_TRUNCATED },
	{ "A with RDLENGTH 3", HDR("0000", "0001", "0000", "0000") "01 61 00 0001 0001 00000e10 0003 c00002",
	  PARSE, -DNS_E_RDATA },
	{ "AAAA with RDLENGTH 4", HDR("0000", "0001", "0000", "0000") "01 61 00 001c 0001 00000e10 0004 20010db8",
	  PARSE, -DNS_E_RDATA },
	{ "TXT string past RDATA", HDR("0000", "0001", "0000", "0000") "01 61 00 0010 0001 00000e10 0003 05 6162",
	  PARSE, -DNS_E_RDATA },
	{ "CNAME name past RDATA", HDR("0000", "0001", "0000", "0000") "01 61 00 0005 0001 00000e10 0002 01 62 00",
	  PARSE, -DNS_E_RDATA },
	{ "CNAME with a byte after the name",
	  HDR("0000", "0001", "0000", "0000") "01 61 00 0005 0001 00000e10 0004 01 62 00 ff", PARSE, -DNS_E_RDATA },
	{ "CNAME RDATA pointing into itself",
	  HDR("0000", "0001", "0000", "0000") "01 61 00 0005 0001 00000e10 0002 c0 19", PARSE, -DNS_E_PTR_LOOP },
	{ "SOA with 19 fixed bytes",
	  HDR("0000", "0001", "0000", "0000") "01 61 00 0006 0001 00000e10 0015 00 00 00*19", PARSE, -DNS_E_RDATA },
	{ "MX with 1 byte", HDR("0000", "0001", "0000", "0000") "01 61 00 000f 0001 00000e10 0001 00", PARSE,
	  -DNS_E_RDATA },
	{ "byte after the last record", HDR("0001", "0000", "0000", "0000") Q_A "00", PARSE, -DNS_E_TRAILING },
	{ "TSIG not last", HDR("0000", "0000", "0000", "0002") TSIG_RR A_RR, PARSE, -DNS_E_TSIG_NOT_LAST },
	{ "TSIG in the answer section", HDR("0000", "0001", "0000", "0000") TSIG_RR, PARSE,
	  -DNS_E_TSIG_NOT_LAST },
	{ "two TSIGs", HDR("0000", "0000", "0000", "0002") TSIG_RR TSIG_RR, PARSE, -DNS_E_TSIG_NOT_LAST },
	{ "TSIG class IN", HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 0001 00000000 003d " TSIG_RD_OK,
	  PARSE, -DNS_E_TSIG_FORMAT },
	{ "TSIG TTL not 0", HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000001 003d " TSIG_RD_OK,
	  PARSE, -DNS_E_TSIG_FORMAT },
	{ "TSIG RDATA without time", HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 0010 " ALG256
	  "0000 00", PARSE, -DNS_E_TSIG_FORMAT },
	{ "TSIG MAC size past RDATA",
	  HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 003d " ALG256
	  "000000000000 012c 0040 ab*32 1234 0000 0000", PARSE, -DNS_E_TSIG_MACLEN },
	{ "TSIG MAC size 65",
	  HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 005e " ALG256
	  "000000000000 012c 0041 ab*65 1234 0000 0000", PARSE, -DNS_E_TSIG_MACLEN },
	{ "TSIG other length wrong",
	  HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 003d " ALG256
	  "000000000000 012c 0020 ab*32 1234 0000 0005", PARSE, -DNS_E_TSIG_FORMAT },
	{ "TSIG algorithm compressed", HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 0012 c0 0c "
	  "000000000000 012c 0000 1234 0000 0000", PARSE, -DNS_E_TSIG_FORMAT },
	{ "TSIG MAC of 5 bytes", HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 0022 " ALG256
	  "000000000000 012c 0005 ab*5 1234 0000 0000", VERIFY, -DNS_E_TSIG_MACLEN },
	{ "TSIG MAC of 15 bytes for SHA-256 (< half)",
	  HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 002c " ALG256
	  "000000000000 012c 000f ab*15 1234 0000 0000", VERIFY, -DNS_E_TSIG_MACLEN },
	{ "TSIG MAC of 33 bytes for SHA-256",
	  HDR("0000", "0000", "0000", "0001") "01 6b 00 00fa 00ff 00000000 003e " ALG256
	  "000000000000 012c 0021 ab*33 1234 0000 0000", VERIFY, -DNS_E_TSIG_MACLEN },
	{ "TSIG MAC wrong", HDR("0000", "0000", "0000", "0001") TSIG_RR, VERIFY, -DNS_E_TSIG_BADSIG },
	{ "TSIG with another key name",
	  HDR("0000", "0000", "0000", "0001") "01 78 00 00fa 00ff 00000000 003d " TSIG_RD_OK, VERIFY,
	  -DNS_E_TSIG_BADKEY },
	{ "reply not signed", HDR("0001", "0000", "0000", "0000") Q_A, VERIFY, -DNS_E_TSIG_UNSIGNED },
};

static void test_malformed_table(void)
{
	struct dns_key k;
	uint8_t buf[2048];
	char name[160];

	if (dns_key_init(&k, "k", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"))
		abort();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = hex(bad[i].hex, buf, sizeof(buf));
		struct dns_msg *m = NULL;
		int err;

		harness_cur_failed = 0;
		/* copy to an exact-size heap buffer so ASan sees any overread */
		uint8_t *exact = malloc(len ? len : 1);

		memcpy(exact, buf, len);
		err = dns_msg__parse(exact, len, &m);
		if (bad[i].stage == VERIFY && !err)
			err = dns_tsig_verify(m, exact, len, &k, 0, NULL, 0);
		if (err != bad[i].want)
			HFAIL("%s: expected %d (%s), got %d (%s)", bad[i].name, bad[i].want,
			      dns_strerror(bad[i].want), err, dns_strerror(err));
		snprintf(name, sizeof(name), "malformed: %s", bad[i].name);
		RESULT(name, harness_cur_failed);
		dns_msg__free(m);
		free(exact);
	}
	printf("# %zu malformed cases\n", sizeof(bad) / sizeof(bad[0]));
}

/* ---- names ----------------------------------------------------------------- */

static void test_names(void)
{
	struct dns_name a, b, z;
	char txt[DNS_NAME_TEXT_MAX], l63[64], l64[65], big[300];

	ASSERT_EQ(dns_name_from_text(&a, "WWW.Example.TEST."), 0, "parse");
	ASSERT_EQ(dns_name_from_text(&b, "www.example.test"), 0, "parse without dot");
	ASSERT_TRUE(dns_name_equal(&a, &b), "case-insensitive equal");
	ASSERT_EQ(dns_name_from_text(&z, "example.test"), 0, "zone");
	ASSERT_TRUE(dns_name_is_subdomain(&a, &z), "subdomain");
	ASSERT_TRUE(dns_name_is_subdomain(&z, &z), "zone is in itself");
	ASSERT_TRUE(!dns_name_is_subdomain(&z, &a), "parent not in child");
	dns_name_from_text(&b, "wexample.test");
	ASSERT_TRUE(!dns_name_is_subdomain(&b, &z), "suffix not on a label boundary");
	dns_name_to_text(&a, txt, sizeof(txt));
	ASSERT_STREQ(txt, "WWW.Example.TEST.", "to text");
	ASSERT_EQ(dns_name_from_text(&a, "a\\.b.c"), 0, "escaped dot");
	ASSERT_EQ(a.wire[0], 3, "label with escaped dot is one label");
	dns_name_to_text(&a, txt, sizeof(txt));
	ASSERT_STREQ(txt, "a\\.b.c.", "escaped dot survives");
	memset(l63, 'x', 63);
	l63[63] = 0;
	memset(l64, 'x', 64);
	l64[64] = 0;
	ASSERT_EQ(dns_name_from_text(&a, l63), 0, "63-byte label");
	ASSERT_EQ(dns_name_from_text(&a, l64), -DNS_E_BAD_NAME, "64-byte label");
	snprintf(big, sizeof(big), "%s.%s.%s.%s", l63, l63, l63, l63);
	ASSERT_EQ(dns_name_from_text(&a, big), -DNS_E_BAD_NAME, "name over 255");
	ASSERT_EQ(dns_name_from_text(&a, "a..b"), -DNS_E_BAD_NAME, "empty label");
	ASSERT_EQ(dns_name_from_text(&a, "."), 0, "root");
	ASSERT_EQ(a.len, 1, "root length");
	dns_name_from_text(&a, "www.example.test");
	ASSERT_EQ(dns_name_prepend(&a, "_presage"), 0, "prepend");
	dns_name_to_text(&a, txt, sizeof(txt));
	ASSERT_STREQ(txt, "_presage.www.example.test.", "flag name");
}

/* ---- messages and UPDATE ----------------------------------------------------- */

static void test_update_encoding(void)
{
	static const struct {
		enum dns_op_kind kind;
		uint16_t type, class;
		uint32_t ttl;
		int sec;
		bool rdata;
	} want[] = {
		/* RFC 2136 2.4 and 2.5, row by row */
		{ DNS_PRE_YXRRSET, DNS_T_A, DNS_C_ANY, 0, DNS_SEC_PREREQ, false },
		{ DNS_PRE_YXRRSET_VAL, DNS_T_A, DNS_C_IN, 0, DNS_SEC_PREREQ, true },
		{ DNS_PRE_NXRRSET, DNS_T_A, DNS_C_NONE, 0, DNS_SEC_PREREQ, false },
		{ DNS_PRE_YXDOMAIN, DNS_T_ANY, DNS_C_ANY, 0, DNS_SEC_PREREQ, false },
		{ DNS_PRE_NXDOMAIN, DNS_T_ANY, DNS_C_NONE, 0, DNS_SEC_PREREQ, false },
		{ DNS_UPD_ADD, DNS_T_A, DNS_C_IN, 60, DNS_SEC_UPDATE, true },
		{ DNS_UPD_DEL_RRSET, DNS_T_A, DNS_C_ANY, 0, DNS_SEC_UPDATE, false },
		{ DNS_UPD_DEL_NAME, DNS_T_ANY, DNS_C_ANY, 0, DNS_SEC_UPDATE, false },
		{ DNS_UPD_DEL_RR, DNS_T_A, DNS_C_NONE, 0, DNS_SEC_UPDATE, true },
	};
	uint8_t rd[4] = { 192, 0, 2, 1 }, buf[1024];
	struct dns_name zone, n;
	struct dns_msg *m, *p = NULL;
	int idx[DNS_SEC_N] = { 0 };
	size_t len;

	dns_name_from_text(&zone, "example.test");
	dns_name_from_text(&n, "a.example.test");
	m = dns_update__new(7, &zone);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct dns_op op = { .kind = want[i].kind, .name = n, .type = DNS_T_A, .ttl = 60,
				     .rdata = rd, .rdlen = 4 };

		ASSERT_EQ(dns_update__add_op(m, &op), 0, "add op");
	}
	ASSERT_EQ(dns_msg__render(m, buf, sizeof(buf), &len), 0, "render");
	ASSERT_EQ(dns_msg__parse(buf, len, &p), 0, "parse back");
	if (!p) {
		dns_msg__free(m);
		return;
	}
	ASSERT_TRUE(dns_msg__equal(m, p), "round trip equal");
	ASSERT_EQ(dns_msg_opcode(p), DNS_OP_UPDATE, "opcode");
	ASSERT_EQ(p->rr[DNS_SEC_ZONE][0].type, DNS_T_SOA, "zone section is SOA");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dns_rr *r = &p->rr[want[i].sec][idx[want[i].sec]++];

		ASSERT_EQ(r->type, want[i].type, "type");
		ASSERT_EQ(r->class, want[i].class, "class");
		ASSERT_EQ(r->ttl, want[i].ttl, "ttl");
		ASSERT_EQ(r->rdlen, want[i].rdata ? 4 : 0, "rdlen");
	}
	/* 9 owner names "a.example.test" but only one written in full */
	ASSERT_TRUE(len < 12 + 16 + 9 * 16, "owner names compressed");
	dns_msg__free(m);
	dns_msg__free(p);
}

static void test_update_split(void)
{
	struct dns_name zones[3];
	struct dns_op ops[4] = { 0 };
	struct dns_msg **msgs = NULL;
	uint8_t rd[4] = { 192, 0, 2, 1 };
	int n;

	dns_name_from_text(&zones[0], "example.test");
	dns_name_from_text(&zones[1], "other.test");
	dns_name_from_text(&zones[2], "sub.example.test");
	const char *names[] = { "a.example.test", "b.other.test", "c.sub.example.test", "d.example.test" };
	for (int i = 0; i < 4; i++) {
		ops[i].kind = DNS_UPD_ADD;
		dns_name_from_text(&ops[i].name, names[i]);
		ops[i].type = DNS_T_A;
		ops[i].rdata = rd;
		ops[i].rdlen = 4;
	}
	n = dns_update__split(ops, 4, zones, 3, &msgs);
	ASSERT_EQ(n, 3, "three zones, three messages");
	if (n == 3) {
		ASSERT_EQ(msgs[0]->n[DNS_SEC_UPDATE], 2, "example.test gets a and d");
		ASSERT_TRUE(dns_name_equal(&msgs[2]->rr[DNS_SEC_ZONE][0].name, &zones[2]),
			    "child zone wins for c.sub");
		for (int i = 0; i < n; i++)
			dns_msg__free(msgs[i]);
	}
	free(msgs);
	dns_name_from_text(&ops[0].name, "elsewhere.invalid");
	ASSERT_EQ(dns_update__split(ops, 1, zones, 3, &msgs), -DNS_E_NO_ZONE, "name in no zone");
}

static void test_rdata_text(void)
{
	uint8_t rd[512];
	uint16_t len;
	char txt[512];

	ASSERT_EQ(dns_rdata_from_text(DNS_T_A, "192.0.2.1", rd, sizeof(rd), &len), 0, "A");
	ASSERT_EQ(len, 4, "A length");
	ASSERT_EQ(dns_rdata_from_text(DNS_T_A, "192.0.2", rd, sizeof(rd), &len), -DNS_E_BAD_RDATA, "bad A");
	ASSERT_EQ(dns_rdata_from_text(DNS_T_AAAA, "2001:db8::1", rd, sizeof(rd), &len), 0, "AAAA");
	ASSERT_EQ(dns_rdata_from_text(DNS_T_TXT, "\"a b\" c \"d\\\"e\"", rd, sizeof(rd), &len), 0, "TXT");
	ASSERT_EQ(len, 1 + 3 + 1 + 1 + 1 + 3, "TXT length");
	dns_rdata_to_text(DNS_T_TXT, rd, len, txt, sizeof(txt));
	ASSERT_STREQ(txt, "\"a b\" \"c\" \"d\\\"e\"", "TXT text");
	ASSERT_EQ(dns_rdata_from_text(DNS_T_MX, "10 mx.example.test", rd, sizeof(rd), &len), 0, "MX");
	dns_rdata_to_text(DNS_T_MX, rd, len, txt, sizeof(txt));
	ASSERT_STREQ(txt, "10 mx.example.test.", "MX text");
	ASSERT_EQ(dns_rdata_from_text(DNS_T_TXT, "\"unterminated", rd, sizeof(rd), &len), -DNS_E_BAD_RDATA,
		  "unterminated TXT");
	ASSERT_EQ(dns_type_from_text("aaaa"), DNS_T_AAAA, "type name");
	ASSERT_EQ(dns_type_from_text("TYPE65"), 65, "generic type");
}

/* ---- TSIG ---------------------------------------------------------------- */

/* Build a signed request and a reply signed over the request's MAC. */
static int make_pair(const struct dns_key *k, uint64_t t, uint8_t *req, size_t *rlen, uint8_t *mac,
		     size_t *maclen, uint8_t *resp, size_t *plen, uint16_t error)
{
	struct dns_name zone;
	struct dns_msg *m;
	int err;

	dns_name_from_text(&zone, "example.test");
	m = dns_update__new(0x4242, &zone);
	err = dns_msg__render(m, req, 4096, rlen);
	if (!err)
		err = dns_tsig_sign(req, rlen, 4096, k, t, 300, NULL, 0, 0, mac, maclen);
	m->flags |= DNS_F_QR;
	if (!err)
		err = dns_msg__render(m, resp, 4096, plen);
	if (!err)
		err = dns_tsig_sign(resp, plen, 4096, k, t, 300, mac, *maclen, error, NULL, NULL);
	dns_msg__free(m);
	return err;
}

static int verify_bytes(const uint8_t *b, size_t len, const struct dns_key *k, uint64_t now,
			const uint8_t *mac, size_t maclen)
{
	struct dns_msg *m;
	int err = dns_msg__parse(b, len, &m);

	if (err)
		return err;
	err = dns_tsig_verify(m, b, len, k, now, mac, maclen);
	dns_msg__free(m);
	return err;
}

static void test_tsig(void)
{
	static const char *algs[] = { "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384",
				      "hmac-sha512" };
	uint8_t req[4096], resp[4096], mac[64];
	size_t rlen, plen, maclen;
	struct dns_key k, other;
	const uint64_t t = 1700000000;

	for (size_t a = 0; a < 5; a++) {
		ASSERT_EQ(dns_key_init(&k, "Presage-Key", algs[a], "c2VjcmV0c2VjcmV0c2VjcmV0"), 0, algs[a]);
		ASSERT_EQ(make_pair(&k, t, req, &rlen, mac, &maclen, resp, &plen, 0), 0, "sign");
		ASSERT_EQ(maclen, dns_tsig_alg_len(k.alg), "full-length MAC");
		ASSERT_EQ(verify_bytes(resp, plen, &k, t + 10, mac, maclen), 0, "verifies");
	}
	dns_key_init(&k, "presage-key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0");
	ASSERT_TRUE(k.name.wire[1] == 'p', "key name canonical (lower case)");
	make_pair(&k, t, req, &rlen, mac, &maclen, resp, &plen, 0);
	ASSERT_EQ(verify_bytes(resp, plen, &k, t + 301, mac, maclen), -DNS_E_TSIG_BADTIME, "past fudge");
	ASSERT_EQ(verify_bytes(resp, plen, &k, t - 301, mac, maclen), -DNS_E_TSIG_BADTIME, "before fudge");
	ASSERT_EQ(verify_bytes(resp, plen, &k, t + 300, mac, maclen), 0, "at fudge");
	/* the request MAC is part of the reply's MAC */
	mac[0] ^= 1;
	ASSERT_EQ(verify_bytes(resp, plen, &k, t, mac, maclen), -DNS_E_TSIG_BADSIG, "other request MAC");
	mac[0] ^= 1;
	resp[3] ^= 0x01; /* flip the RCODE bit */
	ASSERT_EQ(verify_bytes(resp, plen, &k, t, mac, maclen), -DNS_E_TSIG_BADSIG, "tampered reply");
	resp[3] ^= 0x01;
	dns_key_init(&other, "presage-key", "hmac-sha256", "b3RoZXJvdGhlcm90aGVy");
	ASSERT_EQ(verify_bytes(resp, plen, &other, t, mac, maclen), -DNS_E_TSIG_BADSIG, "other secret");
	dns_key_init(&other, "another-key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0");
	ASSERT_EQ(verify_bytes(resp, plen, &other, t, mac, maclen), -DNS_E_TSIG_BADKEY, "other key name");
	dns_key_init(&other, "presage-key", "hmac-sha512", "c2VjcmV0c2VjcmV0c2VjcmV0");
	ASSERT_EQ(verify_bytes(resp, plen, &other, t, mac, maclen), -DNS_E_TSIG_BADKEY, "other algorithm");

	/* a correct MAC truncated to 16 bytes: valid by RFC, below our policy */
	{
		struct dns_msg *m = NULL;
		uint8_t re[4096];
		size_t relen;

		if (!dns_msg__parse(resp, plen, &m)) {
			m->tsig.mac_len = 16;
			dns_msg__render(m, re, sizeof(re), &relen);
			ASSERT_EQ(verify_bytes(re, relen, &k, t, mac, maclen), -DNS_E_TSIG_BADTRUNC,
				  "truncated MAC");
			dns_msg__free(m);
		}
	}
	/* server-side TSIG errors reach the caller as their own codes */
	make_pair(&k, t, req, &rlen, mac, &maclen, resp, &plen, DNS_RCODE_BADTIME);
	ASSERT_EQ(verify_bytes(resp, plen, &k, t, mac, maclen), dns_err_from_rcode(DNS_RCODE_BADTIME),
		  "server BADTIME (signed)");
}

static void test_keyfiles(void)
{
	char dir[] = "/tmp/presage-dnskey-XXXXXX", p[300];
	struct dns_key k;
	const char *bind =
		"# comment\nkey \"other\" {\n\talgorithm hmac-sha1;\n\tsecret \"b3RoZXJvdGhlcm90aGVy\";\n};\n"
		"key \"Presage-Key\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n";
	const char *knot = "# hmac-sha256:presage-key:c2VjcmV0c2VjcmV0c2VjcmV0\nkey:\n"
			   "  - id: presage-key\n    algorithm: hmac-sha256\n"
			   "    secret: c2VjcmV0c2VjcmV0c2VjcmV0\n";

	if (!mkdtemp(dir))
		return;
	snprintf(p, sizeof(p), "%s/bind.key", dir);
	write_file_atomic(p, bind, strlen(bind), 0600);
	ASSERT_EQ(dns_key_read_file(&k, p, NULL), 0, "BIND file, first key");
	ASSERT_EQ(k.alg, DNS_TSIG_HMAC_SHA1, "first key's algorithm");
	ASSERT_EQ(dns_key_read_file(&k, p, "presage-key"), 0, "BIND file, key by name");
	ASSERT_EQ(k.alg, DNS_TSIG_HMAC_SHA512, "algorithm");
	ASSERT_EQ(k.secret_len, 18, "secret length");
	ASSERT_TRUE(!memcmp(k.secret, "secretsecretsecret", 18), "secret");
	ASSERT_TRUE(k.name.wire[1] == 'p', "name lower-cased");
	ASSERT_EQ(dns_key_read_file(&k, p, "nokey"), -DNS_E_KEYFILE, "missing key name");
	unlink(p);
	snprintf(p, sizeof(p), "%s/knot.yaml", dir);
	write_file_atomic(p, knot, strlen(knot), 0600);
	ASSERT_EQ(dns_key_read_file(&k, p, NULL), 0, "Knot file");
	ASSERT_EQ(k.alg, DNS_TSIG_HMAC_SHA256, "Knot algorithm");
	ASSERT_EQ(k.secret_len, 18, "Knot secret length");
	unlink(p);
	snprintf(p, sizeof(p), "%s/junk", dir);
	write_file_atomic(p, "hello\n", 6, 0600);
	ASSERT_EQ(dns_key_read_file(&k, p, NULL), -DNS_E_KEYFILE, "junk file");
	unlink(p);
	ASSERT_EQ(dns_key_read_file(&k, "/nonexistent/key", NULL), -ENOENT, "missing file");
	rmdir(dir);
	ASSERT_EQ(dns_key_init(&k, "k", "hmac-md5", "c2VjcmV0"), -DNS_E_BAD_ALG, "md5 refused");
	ASSERT_EQ(dns_key_init(&k, "k", "hmac-sha256", "c2VjcmV0c"), -DNS_E_KEYFILE, "bad base64");
}

static void test_flag(void)
{
	struct dns_flag_field in[3] = { { "state", "staged" }, { "from", "pop-a" }, { "reason", "rtt x3" } },
			      out[4];
	uint8_t rd[512];
	uint16_t len;
	size_t n;

	ASSERT_EQ(dns_flag_encode(in, 3, rd, sizeof(rd), &len), 0, "encode");
	ASSERT_EQ(rd[0], strlen("state=staged"), "one string per field");
	ASSERT_EQ(dns_flag_decode(rd, len, out, 4, &n), 0, "decode");
	ASSERT_EQ(n, 3, "fields");
	ASSERT_STREQ(out[2].val, "rtt x3", "value with a blank");
	rd[1] = 'x';
	memcpy(rd, "\x05nokey", 6);
	ASSERT_EQ(dns_flag_decode(rd, 6, out, 4, &n), -DNS_E_FLAG_FORMAT, "string without =");
}

/* A reply header (QR, RCODE @rc, one question, @ar additional) for "a." SOA, then @tail. */
static size_t opt_reply(uint8_t *b, int rc, int an, int ar, const uint8_t *tail, size_t tl)
{
	static const uint8_t q[] = { 1, 'a', 0, 0, 6, 0, 1 };
	uint8_t h[12] = { 0x12, 0x34, 0x80, (uint8_t)rc, 0, 1, 0, (uint8_t)an, 0, 0, 0, (uint8_t)ar };

	memcpy(b, h, 12);
	memcpy(b + 12, q, sizeof(q));
	if (tl)
		memcpy(b + 12 + sizeof(q), tail, tl);
	return 12 + sizeof(q) + tl;
}

static void test_edns_opt(void)
{
	/* OPT: root, type 41, class (UDP size), TTL (ext rcode, version, flags), rdlen, options */
#define OPT(ext, rdl) 0, 0, 41, 0x04, 0xd0, (ext), 0, 0x80, 0, 0, (rdl)
	static const uint8_t good[] = { OPT(0, 0) };
	static const uint8_t badvers[] = { OPT(1, 0) };
	static const uint8_t ext_refused[] = { OPT(2, 0) }; /* 2 << 4 | 5 = 37 */
	static const uint8_t two[] = { OPT(0, 0), OPT(0, 0) };
	static const uint8_t nonroot[] = { 1, 'x', 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t overrun[] = { OPT(0, 6), 0, 10, 0, 5, 'a', 'b' };
	static const uint8_t short_opt[] = { OPT(0, 3), 0, 10, 0 };
	static const uint8_t with_cookie[] = { OPT(0, 12), 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const struct {
		const char *what;
		const uint8_t *rr;
		size_t len;
		int rc, an, ar, want_opt, want_err;
	} t[] = {
		{ "no OPT", NULL, 0, 0, 0, 0, -ENOENT, 0 },
		{ "OPT, NOERROR", good, sizeof(good), 0, 0, 1, 0, 0 },
		{ "OPT with a cookie option", with_cookie, sizeof(with_cookie), 0, 0, 1, 0, 0 },
		{ "BADVERS (16 from OPT, not BADSIG)", badvers, sizeof(badvers), 0, 0, 1, 0,
		  -DNS_E_EDNS_BADVERS },
		{ "extended RCODE 37", ext_refused, sizeof(ext_refused), 5, 0, 1, 0,
		  -(DNS_E_RCODE_BASE + 37) },
		{ "two OPTs", two, sizeof(two), 0, 0, 2, -DNS_E_OPT_FORMAT, 0 },
		{ "OPT in the answer section", good, sizeof(good), 0, 1, 0, -DNS_E_OPT_FORMAT, 0 },
		{ "OPT not owned by the root", nonroot, sizeof(nonroot), 0, 0, 1, -DNS_E_OPT_FORMAT, 0 },
		{ "option length past the RDATA", overrun, sizeof(overrun), 0, 0, 1, -DNS_E_OPT_FORMAT,
		  0 },
		{ "option header cut short", short_opt, sizeof(short_opt), 0, 0, 1, -DNS_E_OPT_FORMAT,
		  0 },
	};
#undef OPT
	uint8_t b[128], out[128];
	size_t len;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dns_msg *m = NULL;
		struct dns_opt o;
		int err;

		len = opt_reply(b, t[i].rc, t[i].an, t[i].ar, t[i].rr, t[i].len);
		err = dns_msg__parse(b, len, &m);
		ASSERT_EQ(err, 0, t[i].what);
		if (err)
			continue;
		ASSERT_EQ(dns_msg__opt(m, &o), t[i].want_opt, t[i].what);
		if (t[i].want_opt == 0) {
			ASSERT_EQ(o.udp_size, 1232, t[i].what);
			ASSERT_EQ(o.flags, 0x8000, t[i].what); /* DO */
			ASSERT_EQ(dns_err_from_reply(m), t[i].want_err, t[i].what);
		}
		dns_msg__free(m);
	}
	/* what we append: 11 bytes, ARCOUNT + 1, and it parses back as a valid OPT */
	len = opt_reply(out, 0, 0, 0, NULL, 0);
	out[2] = 0; /* a query */
	ASSERT_EQ(dns_opt_append(out, &len, sizeof(out), DNS_EDNS_UDP), 0, "append");
	{
		struct dns_msg *m = NULL;
		struct dns_opt o = { 0 };

		ASSERT_EQ(dns_msg__parse(out, len, &m), 0, "appended OPT parses");
		ASSERT_EQ(m ? m->n[DNS_SEC_AR] : 0, 1, "ARCOUNT");
		ASSERT_EQ(m ? dns_msg__opt(m, &o) : -1, 0, "appended OPT valid");
		ASSERT_EQ(o.udp_size, DNS_EDNS_UDP, "advertised size");
		ASSERT_EQ(o.version, 0, "version 0");
		dns_msg__free(m);
	}
	ASSERT_EQ(dns_opt_append(out, &len, len + 5, DNS_EDNS_UDP), -DNS_E_TOO_BIG, "no room");
	ASSERT_EQ(dns_opt_append(out, &(size_t){ 5 }, sizeof(out), DNS_EDNS_UDP),
		  -DNS_E_SHORT_HEADER, "no header");
}

static void test_errors_distinct(void)
{
	static const int rcodes[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 22 };
	const char *seen[DNS_E_MAX - DNS_E_BASE + 16];
	size_t n = 0;

	for (int e = DNS_E_BASE + 1; e < DNS_E_MAX; e++)
		seen[n++] = dns_strerror(-e);
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		int err = dns_err_from_rcode(rcodes[i]);

		ASSERT_EQ(dns_err_rcode(err), rcodes[i], "rcode round trip");
		ASSERT_TRUE(err < -4095, "below the errno range");
		seen[n++] = dns_strerror(err);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(seen[i], seen[j]))
				HFAIL("two codes share the message \"%s\"", seen[i]);
	ASSERT_EQ(dns_err_from_rcode(0), 0, "NOERROR is 0");
}

int main(void)
{
	RUN(test_names);
	RUN(test_update_encoding);
	RUN(test_update_split);
	RUN(test_rdata_text);
	RUN(test_tsig);
	RUN(test_keyfiles);
	RUN(test_flag);
	RUN(test_edns_opt);
	RUN(test_errors_distinct);
	test_malformed_table();
	return harness_exit();
}
