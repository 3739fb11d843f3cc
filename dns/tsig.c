// SPDX-License-Identifier: GPL-2.0-only
/*
 * TSIG (RFC 8945): sign requests, verify replies. HMAC comes from OpenSSL
 * (EVP_MAC), MACs are compared with CRYPTO_memcmp so the comparison time
 * says nothing about how many bytes matched.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns/dns.h"

static const struct {
	const char *text; /* the algorithm name on the wire, and in key files */
	const char *digest;
	size_t len;
} algs[] = {
	[DNS_TSIG_HMAC_SHA1] = { "hmac-sha1", "SHA1", 20 },
	[DNS_TSIG_HMAC_SHA224] = { "hmac-sha224", "SHA224", 28 },
	[DNS_TSIG_HMAC_SHA256] = { "hmac-sha256", "SHA256", 32 },
	[DNS_TSIG_HMAC_SHA384] = { "hmac-sha384", "SHA384", 48 },
	[DNS_TSIG_HMAC_SHA512] = { "hmac-sha512", "SHA512", 64 },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

int dns_tsig_alg_from_text(const char *s, enum dns_tsig_alg *alg)
{
	for (size_t i = 0; i < NALGS; i++) {
		size_t l = strlen(algs[i].text);

		/* accept "hmac-sha256" and the FQDN "hmac-sha256." */
		if (!strncasecmp(s, algs[i].text, l) && (s[l] == 0 || (s[l] == '.' && !s[l + 1]))) {
			*alg = (enum dns_tsig_alg)i;
			return 0;
		}
	}
	return -DNS_E_BAD_ALG;
}

const char *dns_tsig_alg_text(enum dns_tsig_alg alg)
{
	return (size_t)alg < NALGS ? algs[alg].text : "?";
}

size_t dns_tsig_alg_len(enum dns_tsig_alg alg)
{
	return (size_t)alg < NALGS ? algs[alg].len : 0;
}

static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

struct piece {
	const void *p;
	size_t len;
};

/* HMAC over a list of pieces; the digest is the key's algorithm. */
static int mac_pieces(const struct dns_key *k, const struct piece *pc, size_t npc, uint8_t *out,
		      size_t *outlen)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	int err = -EPROTO;

	pthread_once(&hmac_once, hmac_fetch);
	if (!hmac)
		return -ENOSYS;
	ctx = EVP_MAC_CTX_new(hmac);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)algs[k->alg].digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, k->secret, k->secret_len, params))
		goto out;
	for (size_t i = 0; i < npc; i++)
		if (pc[i].len && !EVP_MAC_update(ctx, pc[i].p, pc[i].len))
			goto out;
	if (!EVP_MAC_final(ctx, out, outlen, DNS_TSIG_MAC_MAX))
		goto out;
	err = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return err;
}

static int alg_name(enum dns_tsig_alg alg, struct dns_name *n)
{
	return dns_name_from_text(n, algs[alg].text);
}

/*
 * The TSIG variables (RFC 8945 4.3.3) in canonical form: key name and
 * algorithm name lower case and uncompressed, class ANY, TTL 0.
 */
static size_t tsig_vars(uint8_t *v, const struct dns_name *key, const struct dns_name *alg,
			uint64_t t, uint16_t fudge, uint16_t error, const uint8_t *other,
			uint16_t other_len)
{
	struct dns_name kn = *key, an = *alg;
	size_t o = 0;

	dns_name_lower(&kn);
	dns_name_lower(&an);
	memcpy(v + o, kn.wire, kn.len);
	o += kn.len;
	v[o++] = 0;
	v[o++] = DNS_C_ANY;
	memset(v + o, 0, 4); /* TTL */
	o += 4;
	memcpy(v + o, an.wire, an.len);
	o += an.len;
	v[o++] = (uint8_t)(t >> 40);
	v[o++] = (uint8_t)(t >> 32);
	v[o++] = (uint8_t)(t >> 24);
	v[o++] = (uint8_t)(t >> 16);
	v[o++] = (uint8_t)(t >> 8);
	v[o++] = (uint8_t)t;
	v[o++] = (uint8_t)(fudge >> 8);
	v[o++] = (uint8_t)fudge;
	v[o++] = (uint8_t)(error >> 8);
	v[o++] = (uint8_t)error;
	v[o++] = (uint8_t)(other_len >> 8);
	v[o++] = (uint8_t)other_len;
	if (other_len) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(v + o, other, other_len);
	o += other_len;
	return o;
}

/* MAC of a message whose TSIG starts at @msglen, as RFC 8945 4.3 lays it out. */
static int tsig_digest(const struct dns_key *k, const uint8_t *req_mac, size_t req_mac_len,
		       const uint8_t *msg, size_t msglen, uint16_t orig_id, uint16_t arcount,
		       const uint8_t *vars, size_t vlen, uint8_t *out, size_t *outlen)
{
	uint8_t prefix[2], hdr[DNS_HDR_LEN];
	struct piece pc[5];
	size_t n = 0;

	if (req_mac) {
		prefix[0] = (uint8_t)(req_mac_len >> 8);
		prefix[1] = (uint8_t)req_mac_len;
		pc[n++] = (struct piece){ prefix, 2 };
		pc[n++] = (struct piece){ req_mac, req_mac_len };
	}
	/* The header as it was before the TSIG was added: original ID, ARCOUNT - 1. */
	memcpy(hdr, msg, DNS_HDR_LEN);
	hdr[0] = (uint8_t)(orig_id >> 8);
	hdr[1] = (uint8_t)orig_id;
	hdr[10] = (uint8_t)(arcount >> 8);
	hdr[11] = (uint8_t)arcount;
	pc[n++] = (struct piece){ hdr, DNS_HDR_LEN };
	pc[n++] = (struct piece){ msg + DNS_HDR_LEN, msglen - DNS_HDR_LEN };
	pc[n++] = (struct piece){ vars, vlen };
	return mac_pieces(k, pc, n, out, outlen);
}

int dns_tsig_sign(uint8_t *buf, size_t *len, size_t cap, const struct dns_key *k, uint64_t now,
		  uint16_t fudge, const uint8_t *req_mac, size_t req_mac_len, uint16_t error,
		  uint8_t *mac_out, size_t *mac_out_len)
{
	uint8_t vars[2 * DNS_NAME_MAX + 32], mac[DNS_TSIG_MAC_MAX];
	struct dns_name an;
	size_t vlen, maclen = 0, o = *len, rdlen;
	uint16_t id, arcount;
	int err;

	if (*len < DNS_HDR_LEN)
		return -EINVAL;
	if ((err = alg_name(k->alg, &an)))
		return err;
	id = (uint16_t)(buf[0] << 8 | buf[1]);
	arcount = (uint16_t)(buf[10] << 8 | buf[11]);
	if (arcount == 0xffff)
		return -DNS_E_TOO_BIG;
	vlen = tsig_vars(vars, &k->name, &an, now, fudge, error, NULL, 0);
	err = tsig_digest(k, req_mac, req_mac_len, buf, *len, id, arcount, vars, vlen, mac, &maclen);
	if (err)
		return err;
	rdlen = an.len + 16 + maclen;
	if (o + k->name.len + 10 + rdlen > cap || o + k->name.len + 10 + rdlen > DNS_MSG_MAX)
		return -DNS_E_TOO_BIG;
	memcpy(buf + o, k->name.wire, k->name.len);
	o += k->name.len;
	buf[o++] = 0;
	buf[o++] = DNS_T_TSIG;
	buf[o++] = 0;
	buf[o++] = DNS_C_ANY;
	memset(buf + o, 0, 4);
	o += 4;
	buf[o++] = (uint8_t)(rdlen >> 8);
	buf[o++] = (uint8_t)rdlen;
	memcpy(buf + o, an.wire, an.len);
	o += an.len;
	/* time signed, fudge: same bytes as in the variables */
	memcpy(buf + o, vars + k->name.len + 6 + an.len, 8); /* after name, class, TTL, alg */
	o += 8;
	buf[o++] = (uint8_t)(maclen >> 8);
	buf[o++] = (uint8_t)maclen;
	memcpy(buf + o, mac, maclen);
	o += maclen;
	buf[o++] = (uint8_t)(id >> 8);
	buf[o++] = (uint8_t)id;
	buf[o++] = (uint8_t)(error >> 8);
	buf[o++] = (uint8_t)error;
	buf[o++] = 0;
	buf[o++] = 0;
	arcount++;
	buf[10] = (uint8_t)(arcount >> 8);
	buf[11] = (uint8_t)arcount;
	*len = o;
	if (mac_out) {
		memcpy(mac_out, mac, maclen);
		*mac_out_len = maclen;
	}
	return 0;
}

int dns_tsig_verify(const struct dns_msg *m, const uint8_t *buf, size_t len,
		    const struct dns_key *k, uint64_t now, const uint8_t *req_mac,
		    size_t req_mac_len)
{
	const struct dns_tsig *t = &m->tsig;
	uint8_t vars[2 * DNS_NAME_MAX + 32 + DNS_TSIG_OTHER_MAX], mac[DNS_TSIG_MAC_MAX];
	struct dns_name an;
	size_t hlen = algs[k->alg].len, minlen, maclen = 0, vlen;
	uint64_t lo, hi;
	int err;

	if (!m->has_tsig)
		return -DNS_E_TSIG_UNSIGNED;
	if (m->tsig_off < DNS_HDR_LEN || m->tsig_off > len)
		return -EINVAL;
	if ((err = alg_name(k->alg, &an)))
		return err;
	if (!dns_name_equal(&t->key, &k->name) || !dns_name_equal(&t->alg, &an))
		return -DNS_E_TSIG_BADKEY;
	/*
	 * BADSIG and BADKEY replies carry no MAC (RFC 8945 5.3.2): the server
	 * could not sign. Report what it says, but nothing in it is verified,
	 * so the caller must not use the reply as an answer.
	 */
	if (t->error == DNS_RCODE_BADSIG || t->error == DNS_RCODE_BADKEY)
		return dns_err_from_rcode(t->error);
	/* RFC 8945 5.2.2.1: shorter than 10 bytes or half the hash is never valid. */
	minlen = hlen / 2 > 10 ? hlen / 2 : 10;
	if (t->mac_len > hlen || t->mac_len < minlen)
		return -DNS_E_TSIG_MACLEN;
	vlen = tsig_vars(vars, &t->key, &t->alg, t->time_signed, t->fudge, t->error, t->other,
			 t->other_len);
	err = tsig_digest(k, req_mac, req_mac_len, buf, m->tsig_off, t->orig_id,
			  (uint16_t)(((buf[10] << 8) | buf[11]) - 1), vars, vlen, mac, &maclen);
	if (err)
		return err;
	if (CRYPTO_memcmp(mac, t->mac, t->mac_len))
		return -DNS_E_TSIG_BADSIG;
	/* Our policy accepts only full-length MACs; a valid but truncated one is BADTRUNC. */
	if (t->mac_len < hlen)
		return -DNS_E_TSIG_BADTRUNC;
	if (t->error)
		return dns_err_from_rcode(t->error);
	lo = t->time_signed > t->fudge ? t->time_signed - t->fudge : 0;
	hi = t->time_signed + t->fudge;
	if (now < lo || now > hi)
		return -DNS_E_TSIG_BADTIME;
	return 0;
}
