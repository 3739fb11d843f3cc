// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transfer orders. The controller signs; both agents verify before moving a
 * byte. Text, so an operator can read what was ordered:
 *
 *   presage-order 1
 *   id <hex>
 *   source <pop>
 *   source_addr <host:port>
 *   destination <pop>
 *   expires <unix seconds>
 *   bwlimit <bytes per second, 0 = none>
 *   keep 1                     (optional: whole hosts keep what the source lacks)
 *   host <hostname>            (whole host, repeated)
 *   item <host/path>           (one item, repeated)
 *   sig <base64 Ed25519 signature of every byte before this line>
 *
 * Ed25519 because signatures are small and deterministic, and keys come
 * straight from `openssl genpkey -algorithm ed25519`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "log.h"
#include "mirror/mirror.h"

#define ORDER_MAGIC "presage-order 1\n"
#define ORDER_MAX_LIST 1000000

void mirror_order__free(struct mirror_order *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nhosts; i++)
		free(o->hosts[i]);
	for (size_t i = 0; i < o->nitems; i++)
		free(o->items[i]);
	free(o->hosts);
	free(o->items);
	free(o->text);
	memset(o, 0, sizeof(*o));
}

static int list_add(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv;

	if (*n >= ORDER_MAX_LIST)
		return -MIRROR_EORDER;
	if ((*n & (*n - 1)) == 0) {
		nv = realloc(*v, (*n ? *n * 2 : 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[*n] = strndup(s, len);
	if (!(*v)[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int copy_field(char *dst, size_t cap, const char *v, size_t len)
{
	if (len == 0 || len >= cap)
		return -MIRROR_EORDER;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

static int parse_u64(const char *v, size_t len, uint64_t *out)
{
	uint64_t x = 0;

	if (len == 0 || len > 19)
		return -MIRROR_EORDER;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -MIRROR_EORDER;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

int mirror_order__parse(struct mirror_order *o, const char *text, size_t len, size_t *signed_len,
			uint8_t sig[64])
{
	size_t ml = strlen(ORDER_MAGIC), off;
	bool have_sig = false;
	int err = 0;

	memset(o, 0, sizeof(*o));
	if (len < ml || memcmp(text, ORDER_MAGIC, ml))
		return -MIRROR_EORDER;
	off = ml;
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		const char *sp, *v;
		size_t ll, kl, vl;

		if (!nl || have_sig) {
			err = -MIRROR_EORDER;	/* unterminated, or text after sig */
			goto fail;
		}
		ll = (size_t)(nl - line);
		sp = memchr(line, ' ', ll);
		if (!sp) {
			err = -MIRROR_EORDER;
			goto fail;
		}
		kl = (size_t)(sp - line);
		v = sp + 1;
		vl = ll - kl - 1;
		for (size_t i = 0; i < vl; i++) {
			if ((unsigned char)v[i] < 0x20) {
				err = -MIRROR_EORDER;
				goto fail;
			}
		}
#define KEY(k) (kl == sizeof(k) - 1 && !memcmp(line, k, kl))
		if (KEY("id")) {
			err = copy_field(o->id, sizeof(o->id), v, vl);
		} else if (KEY("source")) {
			err = copy_field(o->source, sizeof(o->source), v, vl);
		} else if (KEY("source_addr")) {
			err = copy_field(o->source_addr, sizeof(o->source_addr), v, vl);
		} else if (KEY("destination")) {
			err = copy_field(o->destination, sizeof(o->destination), v, vl);
		} else if (KEY("expires")) {
			uint64_t x = 0;

			err = parse_u64(v, vl, &x);
			o->expires = (int64_t)x;
		} else if (KEY("bwlimit")) {
			err = parse_u64(v, vl, &o->bwlimit);
		} else if (KEY("keep")) {
			if (vl != 1 || (v[0] != '0' && v[0] != '1')) {
				err = -MIRROR_EORDER;
				goto fail;
			}
			o->keep = v[0] == '1';
		} else if (KEY("host")) {
			char h[MIRROR_HOST_MAX + 1];

			err = copy_field(h, sizeof(h), v, vl);
			if (!err)
				err = mirror_host_check(h) ? -MIRROR_EORDER : 0;
			if (!err)
				err = list_add(&o->hosts, &o->nhosts, v, vl);
		} else if (KEY("item")) {
			char p[MIRROR_PATH_MAX + 1];

			err = copy_field(p, sizeof(p), v, vl);
			if (!err)
				err = mirror_path_check(p) ? -MIRROR_EORDER : 0;
			if (!err)
				err = list_add(&o->items, &o->nitems, v, vl);
		} else if (KEY("sig")) {
			uint8_t raw[96];
			int n;

			/* Base64 of 64 bytes is 88 characters with padding. */
			if (vl != 88) {
				err = -MIRROR_EORDER;
				goto fail;
			}
			n = EVP_DecodeBlock(raw, (const unsigned char *)v, (int)vl);
			if (n != 66) {	/* 64 bytes + 2 padding bytes counted */
				err = -MIRROR_EORDER;
				goto fail;
			}
			memcpy(sig, raw, 64);
			*signed_len = off;
			have_sig = true;
		} else {
			err = -MIRROR_EORDER;
		}
#undef KEY
		if (err)
			goto fail;
		off += ll + 1;
	}
	if (!have_sig || !o->id[0] || !o->source[0] || !o->destination[0] || !o->source_addr[0] ||
	    !o->expires || (!o->nhosts && !o->nitems)) {
		err = -MIRROR_EORDER;
		goto fail;
	}
	return 0;
fail:
	mirror_order__free(o);
	return err;
}

static EVP_PKEY *load_key(const char *file, bool priv)
{
	EVP_PKEY *k;
	FILE *f = fopen(file, "r");

	if (!f)
		return NULL;
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/*
 * Sign the @len bytes of @buf (taken over; it has room for the signature
 * line) with the Ed25519 key in @keyfile and append "sig <base64>\n".
 * @what names the text in messages.
 */
static int sign_append(char *buf, size_t len, const char *keyfile, const char *what, char **out,
		       size_t *out_len)
{
	size_t siglen = 64;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *key;
	uint8_t sig[64];
	int err = 0;

	key = load_key(keyfile, true);
	if (!key) {
		pr_err("mirror: cannot read Ed25519 private key %s (make one with: openssl genpkey -algorithm ed25519 -out %s)\n",
		       keyfile, keyfile);
		err = -MIRROR_ECONFIG;
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)buf, len) != 1 || siglen != 64) {
		pr_err("mirror: signing %s with %s failed (is it an Ed25519 key?)\n", what, keyfile);
		err = -MIRROR_ESIG;
		goto out;
	}
	memcpy(buf + len, "sig ", 4);
	len += 4;
	len += (size_t)EVP_EncodeBlock((unsigned char *)buf + len, sig, 64);
	buf[len++] = '\n';
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(buf);
	return err;
}

/* Does @sig sign the first @signed_len bytes of @text under the public key in @pubfile? */
static int verify_sig(const char *text, size_t signed_len, const uint8_t sig[64],
		      const char *pubfile)
{
	EVP_MD_CTX *md;
	EVP_PKEY *key = load_key(pubfile, false);
	int err = 0;

	if (!key) {
		pr_err("mirror: cannot read the controller's public key %s\n", pubfile);
		return -MIRROR_ECONFIG;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestVerify(md, sig, 64, (const unsigned char *)text, signed_len) != 1)
		err = -MIRROR_ESIG;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return err;
}

int mirror_order__sign(const struct mirror_order *o, const char *keyfile, char **out,
		       size_t *out_len)
{
	size_t cap = 4096, len;
	uint8_t rnd[16];
	char *buf, id[65];

	for (size_t i = 0; i < o->nhosts; i++)
		cap += strlen(o->hosts[i]) + 8;
	for (size_t i = 0; i < o->nitems; i++)
		cap += strlen(o->items[i]) + 8;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (o->id[0]) {
		snprintf(id, sizeof(id), "%s", o->id);
	} else {
		RAND_bytes(rnd, sizeof(rnd));
		mirror_hex(rnd, sizeof(rnd), id);
	}
	len = (size_t)snprintf(buf, cap,
			       ORDER_MAGIC "id %s\nsource %s\nsource_addr %s\ndestination %s\n"
					   "expires %" PRId64 "\nbwlimit %" PRIu64 "\n",
			       id, o->source, o->source_addr, o->destination, o->expires, o->bwlimit);
	if (o->keep)
		len += (size_t)snprintf(buf + len, cap - len, "keep 1\n");
	for (size_t i = 0; i < o->nhosts; i++)
		len += (size_t)snprintf(buf + len, cap - len, "host %s\n", o->hosts[i]);
	for (size_t i = 0; i < o->nitems; i++)
		len += (size_t)snprintf(buf + len, cap - len, "item %s\n", o->items[i]);
	return sign_append(buf, len, keyfile, "the order", out, out_len);
}

int mirror_order__verify(struct mirror_order *o, const char *text, size_t len,
			 const char *pubfile, time_t now)
{
	size_t signed_len = 0;
	uint8_t sig[64];
	int err;

	err = mirror_order__parse(o, text, len, &signed_len, sig);
	if (err)
		return err;
	err = verify_sig(text, signed_len, sig, pubfile);
	if (err)
		goto out;
	/* Check expiry only after the signature: an unsigned time means nothing. */
	if (o->expires <= (int64_t)now) {
		err = -MIRROR_EEXPIRED;
		goto out;
	}
	o->text = malloc(len + 1);
	if (!o->text) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(o->text, text, len);
	o->text[len] = '\0';
	o->text_len = len;
out:
	if (err)
		mirror_order__free(o);
	return err;
}

bool mirror_order__covers(const struct mirror_order *o, const char *path)
{
	const char *slash = strchr(path, '/');
	size_t hl = slash ? (size_t)(slash - path) : strlen(path);

	for (size_t i = 0; i < o->nhosts; i++)
		if (strlen(o->hosts[i]) == hl && !memcmp(o->hosts[i], path, hl))
			return true;
	for (size_t i = 0; i < o->nitems; i++)
		if (!strcmp(o->items[i], path))
			return true;
	return false;
}

/* ---- flag commands ------------------------------------------------------------ */

#define FLAG_MAGIC "presage-flag 1\n"

int mirror_flagcmd__sign(const struct mirror_flagcmd *c, const char *keyfile, char **out,
			 size_t *out_len)
{
	size_t cap = 1024, len;
	uint8_t rnd[16];
	char *buf, nonce[33];

	if (mirror_host_check(c->host) || !c->pop[0] || strchr(c->pop, '\n'))
		return -MIRROR_EORDER;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	RAND_bytes(rnd, sizeof(rnd));
	mirror_hex(rnd, sizeof(rnd), nonce);
	len = (size_t)snprintf(buf, cap,
			       FLAG_MAGIC "pop %s\nhost %s\nprimary %s\nexpires %" PRId64
					  "\nnonce %s\n",
			       c->pop, c->host, c->primary ? "on" : "off", c->expires, nonce);
	return sign_append(buf, len, keyfile, "the flag command", out, out_len);
}

static int flagcmd_parse(struct mirror_flagcmd *c, const char *text, size_t len,
			 size_t *signed_len, uint8_t sig[64])
{
	size_t ml = strlen(FLAG_MAGIC), off;
	bool have_sig = false, have_primary = false, have_nonce = false;

	memset(c, 0, sizeof(*c));
	if (len < ml || memcmp(text, FLAG_MAGIC, ml))
		return -MIRROR_EORDER;
	off = ml;
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		const char *sp, *v;
		size_t ll, kl, vl;
		int err = 0;

		if (!nl || have_sig)
			return -MIRROR_EORDER;
		ll = (size_t)(nl - line);
		sp = memchr(line, ' ', ll);
		if (!sp)
			return -MIRROR_EORDER;
		kl = (size_t)(sp - line);
		v = sp + 1;
		vl = ll - kl - 1;
		for (size_t i = 0; i < vl; i++)
			if ((unsigned char)v[i] < 0x20)
				return -MIRROR_EORDER;
#define KEY(k) (kl == sizeof(k) - 1 && !memcmp(line, k, kl))
		if (KEY("pop")) {
			err = copy_field(c->pop, sizeof(c->pop), v, vl);
		} else if (KEY("host")) {
			err = copy_field(c->host, sizeof(c->host), v, vl);
			if (!err && mirror_host_check(c->host))
				err = -MIRROR_EORDER;
		} else if (KEY("primary")) {
			if (vl == 2 && !memcmp(v, "on", 2))
				c->primary = true;
			else if (!(vl == 3 && !memcmp(v, "off", 3)))
				err = -MIRROR_EORDER;
			have_primary = true;
		} else if (KEY("expires")) {
			uint64_t x = 0;

			err = parse_u64(v, vl, &x);
			c->expires = (int64_t)x;
		} else if (KEY("nonce")) {
			have_nonce = vl > 0 && vl <= 64;
		} else if (KEY("sig")) {
			uint8_t raw[96];

			if (vl != 88 || EVP_DecodeBlock(raw, (const unsigned char *)v, (int)vl) != 66)
				return -MIRROR_EORDER;
			memcpy(sig, raw, 64);
			*signed_len = off;
			have_sig = true;
		} else {
			err = -MIRROR_EORDER;
		}
#undef KEY
		if (err)
			return err;
		off += ll + 1;
	}
	if (!have_sig || !have_primary || !have_nonce || !c->pop[0] || !c->host[0] || !c->expires)
		return -MIRROR_EORDER;
	return 0;
}

int mirror_flagcmd__verify(struct mirror_flagcmd *c, const char *text, size_t len,
			   const char *pubfile, time_t now)
{
	size_t signed_len = 0;
	uint8_t sig[64];
	int err;

	err = flagcmd_parse(c, text, len, &signed_len, sig);
	if (err)
		return err;
	err = verify_sig(text, signed_len, sig, pubfile);
	/* Expiry only after the signature: an unsigned time means nothing. */
	if (!err && c->expires <= (int64_t)now)
		err = -MIRROR_EEXPIRED;
	return err;
}
