/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dns/: DNS messages (RFC 1035), dynamic UPDATE (RFC 2136), TSIG (RFC 8945)
 * and the client that sends them, for steering CDN clients with DNS.
 *
 * Conventions: int functions return 0 or a negative code. A code is either
 * a negative errno (-ENOMEM, -ETIMEDOUT, ...) or a DNS code from enum
 * dns_err below, which sits below the errno range (Linux errnos end at
 * 4095, MAX_ERRNO). dns_strerror() turns any of them into words an operator
 * can act on. RCODEs that a server returns map onto codes in exactly one
 * place, dns_err_from_rcode().
 */
#ifndef PRESAGE_DNS_H
#define PRESAGE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- error codes ---------------------------------------------------------- */

#define DNS_E_BASE 5000
/* RCODE r (including TSIG's extended ones) is reported as -(DNS_E_RCODE_BASE + r). */
#define DNS_E_RCODE_BASE 5100

enum dns_err {
	/* Malformed messages (from the wire: never trust, always say why). */
	DNS_E_SHORT_HEADER = DNS_E_BASE + 1, /* fewer than 12 bytes */
	DNS_E_TRUNCATED,		     /* a count or length points past the end */
	DNS_E_LABEL_TOO_LONG,		     /* label over 63, or reserved label type */
	DNS_E_NAME_TOO_LONG,		     /* name over 255 bytes in wire form */
	DNS_E_PTR_FORWARD,		     /* compression pointer not strictly backwards */
	DNS_E_PTR_RANGE,		     /* compression pointer past the end */
	DNS_E_PTR_LOOP,			     /* compression pointers form a loop */
	DNS_E_RDATA,			     /* RDATA does not fit its type or its RDLENGTH */
	DNS_E_TRAILING,			     /* bytes after the last record */
	DNS_E_TSIG_NOT_LAST,		     /* TSIG present but not the last record */
	DNS_E_TSIG_FORMAT,		     /* TSIG with bad class/TTL/RDATA */
	DNS_E_TSIG_MACLEN,		     /* MAC length out of range for the algorithm */
	/* TSIG verification done by us on a reply. */
	DNS_E_TSIG_BADSIG,   /* the MAC does not verify: forged or corrupted */
	DNS_E_TSIG_BADKEY,   /* signed with a key or algorithm we did not use */
	DNS_E_TSIG_BADTIME,  /* time signed outside our clock +- fudge */
	DNS_E_TSIG_BADTRUNC, /* MAC truncated below what we accept */
	DNS_E_TSIG_UNSIGNED, /* reply to a signed request carries no valid TSIG */
	/* Transport and matching. */
	DNS_E_ID_MISMATCH,	 /* only replies with a wrong ID arrived */
	DNS_E_QUESTION_MISMATCH, /* reply is for another question/opcode */
	DNS_E_NOT_RESPONSE,	 /* QR bit clear */
	DNS_E_TOO_BIG,		 /* message does not fit 65535 bytes */
	DNS_E_TC_OVER_TCP,	 /* TC set on a TCP reply */
	/* Local input and configuration. */
	DNS_E_BAD_NAME,	   /* text name not valid */
	DNS_E_BAD_RDATA,   /* text RDATA not valid for the type */
	DNS_E_KEYFILE,	   /* key file not in tsig-keygen or keymgr format */
	DNS_E_BAD_ALG,	   /* TSIG algorithm not supported */
	DNS_E_NO_ZONE,	   /* name in none of the configured zones */
	DNS_E_VERIFY,	   /* read-your-write: server does not show what we wrote */
	DNS_E_FLAG_FORMAT, /* mirroring flag TXT not key=value fields */
	DNS_E_CONFIG,	   /* configuration file error; the message names file and line */
	/* EDNS(0) (added after the codes above, which keep their numbers). */
	DNS_E_OPT_FORMAT,  /* reply's OPT: two of them, not root-owned, options overrun */
	DNS_E_EDNS_BADVERS, /* server does not support EDNS version 0 (BADVERS) */
	DNS_E_MAX,
};

/* RCODEs (RFC 1035, 2136, 8945). */
enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_YXDOMAIN = 6,
	DNS_RCODE_YXRRSET = 7,
	DNS_RCODE_NXRRSET = 8,
	DNS_RCODE_NOTAUTH = 9,
	DNS_RCODE_NOTZONE = 10,
	DNS_RCODE_BADSIG = 16,
	DNS_RCODE_BADKEY = 17,
	DNS_RCODE_BADTIME = 18,
	DNS_RCODE_BADTRUNC = 22,
};

/* Returns 0 for NOERROR, else -(DNS_E_RCODE_BASE + rcode). */
int dns_err_from_rcode(int rcode);
/* The RCODE behind a code from dns_err_from_rcode(), or -1. */
int dns_err_rcode(int err);
const char *dns_strerror(int err);
/* Short mnemonic: "NXRRSET", "BADSIG", or "RCODE42". */
const char *dns_rcode_name(int rcode, char buf[16]);

/* ---- names --------------------------------------------------------------- */

#define DNS_NAME_MAX 255
#define DNS_LABEL_MAX 63
#define DNS_NAME_TEXT_MAX 1024 /* worst case with \DDD escapes */

/* A name in uncompressed wire form, root label included. */
struct dns_name {
	uint8_t len;
	uint8_t wire[DNS_NAME_MAX];
};

int dns_name_from_text(struct dns_name *n, const char *text);
int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap);
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);
/* True when @n is @zone or below it. */
bool dns_name_is_subdomain(const struct dns_name *n, const struct dns_name *zone);
void dns_name_lower(struct dns_name *n);
/* Prepend one label ("_presage" + name). */
int dns_name_prepend(struct dns_name *n, const char *label);

/* ---- types, RRs, messages ---------------------------------------------- */

enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_OPT = 41,
	DNS_T_TSIG = 250,
	DNS_T_ANY = 255,
};
enum { DNS_C_IN = 1, DNS_C_NONE = 254, DNS_C_ANY = 255 };
enum { DNS_OP_QUERY = 0, DNS_OP_UPDATE = 5 };
/* Sections; for UPDATE they are zone, prerequisite, update, additional. */
enum { DNS_SEC_QD = 0, DNS_SEC_AN, DNS_SEC_NS, DNS_SEC_AR, DNS_SEC_N };
#define DNS_SEC_ZONE DNS_SEC_QD
#define DNS_SEC_PREREQ DNS_SEC_AN
#define DNS_SEC_UPDATE DNS_SEC_NS

#define DNS_HDR_LEN 12
#define DNS_UDP_MAX 512 /* no EDNS: what every server accepts over UDP */
#define DNS_MSG_MAX 65535

int dns_type_from_text(const char *s);
const char *dns_type_name(int type, char buf[16]);

struct dns_rr {
	struct dns_name name;
	uint16_t type;
	uint16_t class;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t *rdata; /* uncompressed; NULL when rdlen is 0 */
};

/* TSIG RR fields (RFC 8945 section 4.2). */
#define DNS_TSIG_MAC_MAX 64
#define DNS_TSIG_OTHER_MAX 16
struct dns_tsig {
	struct dns_name key;
	struct dns_name alg;
	uint64_t time_signed; /* 48 bits on the wire */
	uint16_t fudge;
	uint16_t mac_len;
	uint8_t mac[DNS_TSIG_MAC_MAX];
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	uint8_t other[DNS_TSIG_OTHER_MAX];
};

struct dns_msg {
	uint16_t id;
	uint16_t flags; /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE as on the wire */
	struct dns_rr *rr[DNS_SEC_N];
	uint16_t n[DNS_SEC_N];
	uint16_t cap[DNS_SEC_N];
	bool has_tsig;
	struct dns_tsig tsig;
	size_t tsig_off; /* where the TSIG RR starts in the parsed buffer */
};

#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
static inline int dns_msg_opcode(const struct dns_msg *m)
{
	return (m->flags >> 11) & 0xf;
}
static inline int dns_msg_rcode(const struct dns_msg *m)
{
	return m->flags & 0xf;
}

struct dns_msg *dns_msg__new(uint16_t id, int opcode);
void dns_msg__free(struct dns_msg *m);
int dns_msg__add_rr(struct dns_msg *m, int sec, const struct dns_name *name, uint16_t type,
		    uint16_t class, uint32_t ttl, const void *rdata, uint16_t rdlen);
/*
 * Parse @len bytes. Names are decompressed (pointers must go strictly
 * backwards, stay in the buffer and not loop); RDATA of types that carry
 * names is decompressed too. A TSIG RR, which must be the last record, is
 * moved out of the additional section into m->tsig.
 */
int dns_msg__parse(const uint8_t *buf, size_t len, struct dns_msg **out);
/* Render with name compression of owner names; TSIG (if any) appended last. */
int dns_msg__render(const struct dns_msg *m, uint8_t *buf, size_t cap, size_t *len);
bool dns_msg__equal(const struct dns_msg *a, const struct dns_msg *b);

/* ---- EDNS(0) (RFC 6891) ---------------------------------------------------- */

/*
 * The UDP payload size presage advertises and, once a server has shown its
 * own in an OPT, the most it sends over UDP: 1232 fits a 1280-byte IPv6 MTU
 * without fragmentation (DNS Flag Day 2020).
 */
#define DNS_EDNS_UDP 1232
#define DNS_OPT_LEN 11 /* an OPT RR without options */

struct dns_opt {
	uint16_t udp_size; /* requestor's/responder's UDP payload size (CLASS) */
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit RCODE */
	uint8_t version;
	uint16_t flags; /* DO and Z */
	uint16_t rdlen; /* bytes of options */
};

/*
 * The OPT of a parsed message: 0, -ENOENT when there is none, or
 * -DNS_E_OPT_FORMAT when there is more than one, one outside the additional
 * section or not owned by the root, or options that overrun its RDATA.
 */
int dns_msg__opt(const struct dns_msg *m, struct dns_opt *o);
/* Append an OPT RR (version 0, no options) to the message in buf[0..*len); bumps ARCOUNT. */
int dns_opt_append(uint8_t *buf, size_t *len, size_t cap, uint16_t udp_size);
/*
 * The code for a reply: its 12-bit RCODE (header + OPT's extended bits)
 * through dns_err_from_rcode(), except BADVERS (16 from an OPT, which is not
 * TSIG's BADSIG) as -DNS_E_EDNS_BADVERS. A malformed OPT counts as none.
 */
int dns_err_from_reply(const struct dns_msg *m);
/* The 12-bit RCODE of a reply (header RCODE when it has no valid OPT). */
int dns_msg__rcode(const struct dns_msg *m);

/* RDATA in presentation form, for the types presage uses. */
int dns_rdata_from_text(int type, const char *text, uint8_t *buf, size_t cap, uint16_t *len);
int dns_rdata_to_text(int type, const uint8_t *rd, uint16_t len, char *buf, size_t cap);
/* SOA serial from SOA RDATA; 0 or -DNS_E_RDATA. */
int dns_soa_serial(const uint8_t *rd, uint16_t len, uint32_t *serial);

/* ---- TSIG ------------------------------------------------------------------ */

enum dns_tsig_alg {
	DNS_TSIG_HMAC_SHA1 = 0,
	DNS_TSIG_HMAC_SHA224,
	DNS_TSIG_HMAC_SHA256,
	DNS_TSIG_HMAC_SHA384,
	DNS_TSIG_HMAC_SHA512,
};

#define DNS_KEY_SECRET_MAX 128
struct dns_key {
	struct dns_name name; /* canonical: lower case */
	enum dns_tsig_alg alg;
	uint8_t secret[DNS_KEY_SECRET_MAX];
	size_t secret_len;
};

/* "hmac-sha256" -> alg; 0 or -DNS_E_BAD_ALG. */
int dns_tsig_alg_from_text(const char *s, enum dns_tsig_alg *alg);
const char *dns_tsig_alg_text(enum dns_tsig_alg alg);
size_t dns_tsig_alg_len(enum dns_tsig_alg alg);
int dns_key_init(struct dns_key *k, const char *name, const char *alg, const char *secret_b64);
/*
 * Read the first key of a file written by `tsig-keygen` (BIND: key "n" {
 * algorithm a; secret "b64"; };) or `keymgr -t` (Knot: YAML key: list, or its
 * "# alg:name:secret" line). @want_name picks a key by name when not NULL.
 */
int dns_key_read_file(struct dns_key *k, const char *path, const char *want_name);

/*
 * Sign the message in buf[0..*len) in place: append a TSIG RR and bump
 * ARCOUNT. @req_mac is the request's MAC when signing a response (NULL for
 * a request). The MAC is copied to @mac_out (may be NULL).
 */
int dns_tsig_sign(uint8_t *buf, size_t *len, size_t cap, const struct dns_key *k, uint64_t now,
		  uint16_t fudge, const uint8_t *req_mac, size_t req_mac_len, uint16_t error,
		  uint8_t *mac_out, size_t *mac_out_len);
/*
 * Verify a parsed reply @m (raw bytes @buf/@len) to a request whose MAC was
 * @req_mac. 0 when the MAC verifies and time is within fudge; otherwise a
 * DNS_E_TSIG_* code, or the server's own TSIG error (BADSIG, BADKEY,
 * BADTIME as -(DNS_E_RCODE_BASE + e)) when it sent one.
 */
int dns_tsig_verify(const struct dns_msg *m, const uint8_t *buf, size_t len,
		    const struct dns_key *k, uint64_t now, const uint8_t *req_mac,
		    size_t req_mac_len);

/* ---- UPDATE (RFC 2136) ------------------------------------------------------ */

enum dns_op_kind {
	DNS_PRE_YXRRSET = 1, /* RRset exists (value independent) */
	DNS_PRE_YXRRSET_VAL, /* RRset exists with exactly these RRs (value dependent) */
	DNS_PRE_NXRRSET,     /* RRset does not exist */
	DNS_PRE_YXDOMAIN,    /* name is in use */
	DNS_PRE_NXDOMAIN,    /* name is not in use */
	DNS_UPD_ADD,	     /* add RR */
	DNS_UPD_DEL_RRSET,   /* delete an RRset */
	DNS_UPD_DEL_NAME,    /* delete all RRsets at a name */
	DNS_UPD_DEL_RR,	     /* delete one RR */
};

/* One prerequisite or update; the RDATA is owned by the caller. */
struct dns_op {
	enum dns_op_kind kind;
	struct dns_name name;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
};

/* Start an UPDATE for @zone (zone section: zone SOA IN). */
struct dns_msg *dns_update__new(uint16_t id, const struct dns_name *zone);
int dns_update__add_op(struct dns_msg *m, const struct dns_op *op);
/*
 * RFC 2136 allows one zone per message. Split @ops over the zones they
 * belong to (longest suffix among @zones); each message keeps the ops' order.
 * Returns the number of messages in *out (caller frees each and the array),
 * or -DNS_E_NO_ZONE naming no zone for an op.
 */
int dns_update__split(const struct dns_op *ops, size_t n, const struct dns_name *zones, size_t nz,
		      struct dns_msg ***out);

/* ---- client --------------------------------------------------------------- */

struct dns_client_opts {
	const char *server; /* numeric IPv4 or IPv6 address */
	uint16_t port;	    /* 0 means 53 */
	const struct dns_key *key; /* NULL: unsigned */
	int timeout_ms;	    /* first try; doubles per retry. 0: 1000 */
	int retries;	    /* extra tries after the first. <0: 0; default via 0 -> 2 */
	int64_t time_offset; /* seconds added to our clock (tests of BADTIME) */
	uint16_t fudge;	    /* 0: 300 */
	bool tcp_only;
	bool no_edns; /* send no OPT (default: EDNS(0), UDP payload DNS_EDNS_UDP) */
};

struct dns_client_stats {
	unsigned udp_sent, tcp_sent, retries, tc_fallbacks, ignored; /* ignored: wrong ID/MAC */
	/*
	 * TCP connections opened. One connection is kept open across messages
	 * (RFC 7766): connects stays 1 for any number of TCP messages unless the
	 * server closes it; reconnects counts the times it had (the message then
	 * went on a new connection).
	 */
	unsigned connects, reconnects;
	/*
	 * EDNS: messages sent with an OPT, verified replies that carried one
	 * (the server saw ours: RFC 6891 7 forbids an OPT in a reply otherwise),
	 * and the times a server answered FORMERR without an OPT, after which the
	 * message went again without EDNS, as does every later message.
	 */
	unsigned edns_sent, edns_replies, edns_fallbacks;
};

struct dns_client;
struct dns_client *dns_client__new(const struct dns_client_opts *o);
void dns_client__free(struct dns_client *c);
/*
 * Send @req (signed when the client has a key), wait for the matching,
 * verified reply. Adds an EDNS(0) OPT (unless opts.no_edns, or after a
 * server answered FORMERR to one). Uses TCP when the message exceeds 512
 * bytes (up to 1232 once the server has shown EDNS support) or the reply is
 * truncated, and keeps that connection for the next messages. Retries with
 * back-off on timeout. Returns 0 for NOERROR,
 * the RCODE's code otherwise (the reply is still in *resp for the caller to
 * look at), or a transport/verification code with *resp NULL.
 */
int dns_client__send(struct dns_client *c, const struct dns_msg *req, struct dns_msg **resp);
/*
 * TESTING ONLY: send @len bytes exactly as given (only the ID is replaced,
 * and a TSIG appended when the client has a key; no OPT is added), so tests
 * can make a real server answer FORMERR or NOTIMP. If the bytes parse and
 * carry OPT records and the server answers FORMERR without an OPT, they are
 * sent again rendered without their OPTs (the EDNS fallback). Everything else goes through
 * dns_client__send(), which only sends what dns_msg__render() produced.
 * Bytes that do not parse are matched to replies by ID and opcode only.
 */
int dns_client__send_wire(struct dns_client *c, const uint8_t *wire, size_t len,
			  struct dns_msg **resp);
/* Query NAME TYPE; RRs of the answer section with that owner and type. */
int dns_client__query(struct dns_client *c, const struct dns_name *name, uint16_t type,
		      struct dns_msg **resp);
/* Find the zone that holds @name by its SOA (answer or authority). */
int dns_client__find_zone(struct dns_client *c, const struct dns_name *name, struct dns_name *zone);
const struct dns_client_stats *dns_client__stats(const struct dns_client *c);
/* Server's TSIG error on the last reply, 0 if none. */
int dns_client__last_tsig_error(const struct dns_client *c);
/* RCODE of the last reply (verified or not), -1 if none arrived. */
int dns_client__last_rcode(const struct dns_client *c);

/* ---- steering records ------------------------------------------------------ */

#define DNS_FLAG_FIELDS_MAX 16
#define DNS_STEER_ADDRS_MAX 32
struct dns_flag_field {
	char key[32];
	char val[224];
};

struct dns_steer {
	struct dns_name name; /* steered name */
	struct dns_name zone;
	uint32_t ttl;
	size_t naddr;
	char addrs[DNS_STEER_ADDRS_MAX][48]; /* text, A or AAAA */
	size_t nflag;
	struct dns_flag_field flag[DNS_FLAG_FIELDS_MAX];
	uint32_t serial; /* SOA serial seen after the write */
	bool flag_present;
};

/* Flag TXT <-> fields ("key=value" character-strings). */
int dns_flag_encode(const struct dns_flag_field *f, size_t n, uint8_t *rd, size_t cap,
		    uint16_t *len);
int dns_flag_decode(const uint8_t *rd, uint16_t len, struct dns_flag_field *f, size_t max,
		    size_t *n);

/*
 * Read what the server holds for a steered name: addresses, flag, serial.
 */
int dns_steer__show(struct dns_client *c, struct dns_steer *s);
/*
 * Replace the addresses and flag of s->name in one UPDATE, guarded by a
 * prerequisite on the flag as it is now (compare-and-set), then read it back.
 * With s->nflag == 0 the same UPDATE removes the flag TXT (_presage.<name>)
 * instead of replacing it: this is how a name is steered back to its primary
 * (addresses replaced, no mirroring flag). Fails with the NXRRSET/YXRRSET
 * code if another writer changed the flag.
 */
int dns_steer__set(struct dns_client *c, struct dns_steer *s);
/* Remove addresses and flag, guarded the same way. */
int dns_steer__clear(struct dns_client *c, struct dns_steer *s);

/* ---- configuration file ------------------------------------------------------ */

/*
 * For the controller: what to steer and where, from a file such as
 *
 *   server 192.0.2.53#53          # numeric address, optional #port
 *   port 53                       # alternative to #port
 *   zone example.com              # repeatable; none: found by SOA
 *   key-file /etc/presage/presage.key
 *   key-name presage-key          # optional: which key in the file
 *   ttl 30                        # TTL of steered records
 *   name www.example.com          # repeatable: the names to steer
 *
 * A word starting with '#' starts a comment ('#' inside a word, as in
 * ADDR#PORT, does not); values may be "double-quoted" (\" and \\ inside).
 * Defaults: server 127.0.0.1, port 53, ttl 30. At least one name is
 * required, and when zones are listed every name must be inside one.
 */
#define DNS_CONFIG_ZONES_MAX 16
#define DNS_CONFIG_NAMES_MAX 256
struct dns_config {
	char server[64];
	uint16_t port;
	struct dns_name zones[DNS_CONFIG_ZONES_MAX]; /* lower case */
	size_t nzones;
	char key_file[4096]; /* "" when not given */
	char key_name[256];  /* "" when not given */
	uint32_t ttl;
	struct dns_name names[DNS_CONFIG_NAMES_MAX]; /* lower case */
	int name_line[DNS_CONFIG_NAMES_MAX];	      /* where each name was given */
	size_t nnames;
};

/*
 * Parse @text (modified in place) as the file @path. 0, or -DNS_E_CONFIG
 * with "PATH:LINE: what is wrong and what was expected" in @err.
 */
int dns_config__parse(struct dns_config *c, char *text, const char *path, char *err,
		      size_t errlen);
/* Read and parse a file; a read failure is a negative errno, also described in @err. */
int dns_config__read_file(struct dns_config *c, const char *path, char *err, size_t errlen);
/*
 * The same with @flags: DNS_CONFIG_NAMES_OPTIONAL accepts a file without
 * 'name' lines (`presage dns --config FILE` takes server, port, zones, key
 * and ttl from it; the name is on the command line).
 */
#define DNS_CONFIG_NAMES_OPTIONAL 1u
int dns_config__parse_flags(struct dns_config *c, char *text, const char *path, unsigned flags,
			    char *err, size_t errlen);
int dns_config__read_file_flags(struct dns_config *c, const char *path, unsigned flags, char *err,
				size_t errlen);

#endif
