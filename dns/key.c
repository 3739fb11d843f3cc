// SPDX-License-Identifier: GPL-2.0-only
/*
 * TSIG keys from the files that the servers' own tools write, so an
 * operator hands presage the same file the server includes:
 *
 *   tsig-keygen (BIND):  key "name" { algorithm hmac-sha256; secret "B64"; };
 *   keymgr -t (Knot):    # hmac-sha256:name:B64
 *                        key:
 *                          - id: name
 *                            algorithm: hmac-sha256
 *                            secret: B64
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dns/dns.h"
#include "fsutil.h"

static int b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	char clean[4 * DNS_KEY_SECRET_MAX / 3 + 8];
	uint8_t tmp[sizeof(clean)];
	size_t n = 0, pad = 0;
	int l;

	for (const char *p = in; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (n + 1 >= sizeof(clean))
			return -DNS_E_KEYFILE;
		clean[n++] = *p;
	}
	clean[n] = 0;
	if (n == 0 || n % 4)
		return -DNS_E_KEYFILE;
	if (clean[n - 1] == '=')
		pad++;
	if (clean[n - 2] == '=')
		pad++;
	l = EVP_DecodeBlock(tmp, (const unsigned char *)clean, (int)n);
	if (l < 0 || (size_t)l < pad || (size_t)l - pad > cap)
		return -DNS_E_KEYFILE;
	*outlen = (size_t)l - pad;
	memcpy(out, tmp, *outlen);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

int dns_key_init(struct dns_key *k, const char *name, const char *alg, const char *secret_b64)
{
	int err;

	memset(k, 0, sizeof(*k));
	if ((err = dns_name_from_text(&k->name, name)))
		return err;
	/* RFC 8945 4.3.3: the key name is used in canonical (lower case) form. */
	dns_name_lower(&k->name);
	if ((err = dns_tsig_alg_from_text(alg, &k->alg)))
		return err;
	return b64_decode(secret_b64, k->secret, sizeof(k->secret), &k->secret_len);
}

/* Tokens of named.conf: words, "strings", { } ; with # // and C comments skipped. */
static const char *next_tok(const char *p, char *tok, size_t cap)
{
	size_t n = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			p = e ? e + 2 : p + strlen(p);
		} else {
			break;
		}
	}
	if (!*p)
		return NULL;
	if (*p == '{' || *p == '}' || *p == ';') {
		tok[0] = *p;
		tok[1] = 0;
		return p + 1;
	}
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (n + 1 < cap)
				tok[n++] = *p;
			p++;
		}
		tok[n] = 0;
		return *p ? p + 1 : p;
	}
	while (*p && !isspace((unsigned char)*p) && !strchr("{};\"", *p)) {
		if (n + 1 < cap)
			tok[n++] = *p;
		p++;
	}
	tok[n] = 0;
	return p;
}

static int parse_bind(const char *text, const char *want, struct dns_key *k)
{
	char tok[512], name[512] = "", alg[64] = "", secret[512] = "";
	const char *p = text;
	int depth = 0, err = -DNS_E_KEYFILE;
	bool inkey = false;

	while ((p = next_tok(p, tok, sizeof(tok)))) {
		if (!inkey && depth == 0 && !strcmp(tok, "key")) {
			if (!(p = next_tok(p, name, sizeof(name))))
				break;
			if (!(p = next_tok(p, tok, sizeof(tok))) || strcmp(tok, "{"))
				break;
			inkey = true;
			depth = 1;
			alg[0] = secret[0] = 0;
			continue;
		}
		if (!strcmp(tok, "{")) {
			depth++;
		} else if (!strcmp(tok, "}")) {
			if (--depth == 0 && inkey) {
				inkey = false;
				if (want && strcasecmp(want, name) &&
				    !(strlen(want) == strlen(name) + 1 && !strncasecmp(want, name, strlen(name))))
					continue;
				err = alg[0] && secret[0] ? dns_key_init(k, name, alg, secret)
							  : -DNS_E_KEYFILE;
				break;
			}
		} else if (inkey && depth == 1 && !strcmp(tok, "algorithm")) {
			p = next_tok(p, alg, sizeof(alg));
		} else if (inkey && depth == 1 && !strcmp(tok, "secret")) {
			p = next_tok(p, secret, sizeof(secret));
		}
		if (!p)
			break;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return err;
}

/* Value of "key: value" with surrounding blanks and quotes removed. */
static void yaml_val(const char *v, char *out, size_t cap)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '"' || *v == '\'')
		v++;
	n = strcspn(v, "\"'\r\n#");
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = 0;
}

static int parse_knot(const char *text, const char *want, struct dns_key *k)
{
	char id[512] = "", alg[64] = "", secret[512] = "";
	const char *line = text;
	int err = -DNS_E_KEYFILE;

	for (;;) {
		const char *eol = strchr(line, '\n');
		const char *p = line;
		bool item;

		while (*p == ' ' || *p == '\t')
			p++;
		item = *p == '-';
		if (item) {
			p++;
			while (*p == ' ')
				p++;
		}
		if (!eol || (item && !strncmp(p, "id:", 3))) {
			/* a new list item (or the end): the previous key is complete */
			if (id[0] && alg[0] && secret[0] && (!want || !strcasecmp(want, id))) {
				err = dns_key_init(k, id, alg, secret);
				break;
			}
			id[0] = alg[0] = secret[0] = 0;
		}
		if (!strncmp(p, "id:", 3))
			yaml_val(p + 3, id, sizeof(id));
		else if (!strncmp(p, "algorithm:", 10))
			yaml_val(p + 10, alg, sizeof(alg));
		else if (!strncmp(p, "secret:", 7))
			yaml_val(p + 7, secret, sizeof(secret));
		if (!eol)
			break;
		line = eol + 1;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return err;
}

int dns_key_read_file(struct dns_key *k, const char *path, const char *want_name)
{
	char *text = NULL;
	size_t len;
	int err;

	err = read_file_all(path, 1 << 20, &text, &len);
	if (err)
		return err;
	if (strstr(text, "key:") && strstr(text, "id:"))
		err = parse_knot(text, want_name, k);
	else
		err = parse_bind(text, want_name, k);
	OPENSSL_cleanse(text, len);
	free(text);
	return err;
}
