// SPDX-License-Identifier: GPL-2.0-only
/* Frame parser, payload codecs, signed orders, librsync streams. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "mirror/mirror.h"

static char dir[128];

/* Frames split at every possible boundary come out the same. */
static void test_frame_parser_chunks(void)
{
	uint8_t wire[64];
	size_t n = 0;
	const char *a = "hello", *b = "";

	wire[n++] = MIRROR_F_HELLO;
	wire[n++] = 0, wire[n++] = 0, wire[n++] = 0, wire[n++] = 5;
	memcpy(wire + n, a, 5), n += 5;
	wire[n++] = MIRROR_F_BYE;
	wire[n++] = 0, wire[n++] = 0, wire[n++] = 0, wire[n++] = 0;
	(void)b;
	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct mirror_frame_parser p;
		int frames = 0, bad = 0;

		mirror_frame_parser__init(&p, 1024);
		for (size_t off = 0; off < n;) {
			size_t len = n - off < chunk ? n - off : chunk, used = 0;

			while (len) {
				int r = mirror_frame_parser__feed(&p, wire + off, len, &used);

				off += used;
				len -= used;
				if (r < 0)
					bad++;
				if (r == 1) {
					frames++;
					if (frames == 1 && (p.type != MIRROR_F_HELLO || p.len != 5 ||
							    memcmp(p.payload, "hello", 5)))
						bad++;
					if (frames == 2 && (p.type != MIRROR_F_BYE || p.len != 0))
						bad++;
				}
				if (r == 0)
					break;
			}
		}
		ASSERT_EQ(frames, 2, "frames");
		ASSERT_EQ(bad, 0, "bad frames");
		mirror_frame_parser__free(&p);
	}
}

static void test_frame_parser_limits(void)
{
	struct mirror_frame_parser p;
	uint8_t big[] = { MIRROR_F_DATA, 0, 0, 4, 1 };	/* 1025 > max 1024 */
	uint8_t badtype[] = { 0x7f, 0, 0, 0, 0 };
	size_t used;

	mirror_frame_parser__init(&p, 1024);
	ASSERT_EQ(mirror_frame_parser__feed(&p, big, sizeof(big), &used), -MIRROR_EFRAME, "too long");
	mirror_frame_parser__init(&p, 1024);
	ASSERT_EQ(mirror_frame_parser__feed(&p, badtype, sizeof(badtype), &used), -MIRROR_EFRAME,
		  "bad type");
	mirror_frame_parser__free(&p);
}

static void test_entry_codec(void)
{
	struct mirror_entry e = { .path = "h.com/a/b", .size = 77, .mtime_ns = 5, .version = 3 }, d;
	uint8_t buf[256];
	size_t n, off = 0;

	memset(e.sha, 7, 32);
	ASSERT_EQ(mirror_wire_put_entry(buf, sizeof(buf), &e, &n), 0, "put");
	ASSERT_EQ(mirror_wire_get_entry(buf, n, &off, &d), 0, "get");
	ASSERT_STREQ(d.path, "h.com/a/b", "path");
	ASSERT_EQ(d.size, 77, "size");
	free(d.path);
	/* Every truncation is refused, never over-read. */
	for (size_t cut = 0; cut < n; cut++) {
		off = 0;
		ASSERT_TRUE(mirror_wire_get_entry(buf, cut, &off, &d) < 0, "truncated");
	}
	/* A path with ".." inside a well-formed entry is refused. */
	e.path = "h.com/../x";
	mirror_wire_put_entry(buf, sizeof(buf), &e, &n);
	off = 0;
	ASSERT_EQ(mirror_wire_get_entry(buf, n, &off, &d), -MIRROR_EPATH, "dotdot");
}

static void keypair(const char *priv, const char *pub)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fopen(priv, "w");

	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	f = fopen(pub, "w");
	PEM_write_PUBKEY(f, k);
	fclose(f);
	EVP_PKEY_free(k);
}

static void test_order_sign_verify(void)
{
	char priv[256], pub[256], priv2[256], pub2[256];
	char *hosts[] = { "h.com" }, *items[] = { "x.com/a" };
	struct mirror_order o = { .source = "A", .source_addr = "127.0.0.1:1", .destination = "B",
				  .hosts = hosts, .nhosts = 1, .items = items, .nitems = 1 };
	struct mirror_order v;
	char *text;
	size_t len;

	snprintf(priv, sizeof(priv), "%s/k", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	snprintf(priv2, sizeof(priv2), "%s/k2", dir);
	snprintf(pub2, sizeof(pub2), "%s/k2.pub", dir);
	keypair(priv, pub);
	keypair(priv2, pub2);
	o.expires = time(NULL) + 60;
	if (!ASSERT_EQ(mirror_order__sign(&o, priv, &text, &len), 0, "sign"))
		return;
	ASSERT_EQ(mirror_order__verify(&v, text, len, pub, time(NULL)), 0, "verify");
	ASSERT_TRUE(mirror_order__covers(&v, "h.com/any/thing"), "host covered");
	ASSERT_TRUE(mirror_order__covers(&v, "x.com/a"), "item covered");
	ASSERT_TRUE(!mirror_order__covers(&v, "x.com/b"), "other item not covered");
	ASSERT_TRUE(!mirror_order__covers(&v, "h.co/a"), "prefix host not covered");
	mirror_order__free(&v);
	ASSERT_EQ(mirror_order__verify(&v, text, len, pub2, time(NULL)), -MIRROR_ESIG, "other key");
	ASSERT_EQ(mirror_order__verify(&v, text, len, pub, time(NULL) + 120), -MIRROR_EEXPIRED,
		  "expired");
	/* Every single-bit flip in the signed text is refused. */
	{
		int accepted = 0;

		for (size_t i = 0; i < len; i++) {
			text[i] ^= 1;
			if (mirror_order__verify(&v, text, len, pub, time(NULL)) == 0) {
				accepted++;
				mirror_order__free(&v);
			}
			text[i] ^= 1;
		}
		ASSERT_EQ(accepted, 0, "flipped orders accepted");
	}
	free(text);
}

/* ---- librsync streams ---------------------------------------------------- */

struct membuf {
	uint8_t *p;
	size_t len, cap;
};

static int mem_sink(void *arg, const uint8_t *buf, size_t len)
{
	struct membuf *m = arg;

	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static int memfd_with(const uint8_t *p, size_t len)
{
	int fd = memfd_create("t", 0);

	if (write(fd, p, len) != (ssize_t)len)
		return -1;
	return fd;
}

/* basis -> signature -> delta of new -> patch: new comes back, fed in
 * chunks of every awkward size. Returns the delta. */
static int roundtrip(const uint8_t *basis, size_t bl, const uint8_t *nw, size_t nl, size_t chunk,
		     struct membuf *delta, uint8_t sha_out[32])
{
	struct membuf sig = { 0 };
	struct mirror_sigload *l = mirror_sigload__new();
	struct rs_signature *rs;
	struct mirror_patch *p;
	uint8_t sha[32];
	uint64_t size;
	int bfd = memfd_with(basis, bl), nfd = memfd_with(nw, nl), ofd = memfd_create("o", 0), err;

	err = mirror_sig_stream(bfd, mem_sink, &sig);
	for (size_t off = 0; !err && off < sig.len; off += chunk)
		err = mirror_sigload__feed(l, sig.p + off, sig.len - off < chunk ? sig.len - off : chunk);
	if (!err)
		err = mirror_sigload__finish(l, &rs);
	if (!err)
		err = mirror_delta_stream(rs, nfd, mem_sink, delta, sha, &size);
	mirror_sigload__free(l);
	free(sig.p);
	if (err)
		goto out;
	p = mirror_patch__new(bfd, ofd);
	for (size_t off = 0; !err && off < delta->len; off += chunk)
		err = mirror_patch__feed(p, delta->p + off, delta->len - off < chunk ? delta->len - off : chunk);
	if (!err)
		err = mirror_patch__finish(p, sha_out, &size);
	mirror_patch__free(p);
out:
	close(bfd);
	close(nfd);
	close(ofd);
	return err;
}

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

static void test_delta_roundtrip(void)
{
	size_t n = 1 << 20;
	uint8_t *a = malloc(n), *b = malloc(n), want[32], got[32];
	static const size_t chunks[] = { 1, 7, 4096, 1 << 20 };

	srand(1);
	for (size_t i = 0; i < n; i++)
		a[i] = (uint8_t)rand();
	memcpy(b, a, n);
	for (int k = 0; k < 10; k++)
		memset(b + (size_t)rand() % (n - 100), k, 100);
	sha(b, n, want);
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct membuf d = { 0 };

		/* Chunk size 1 is slow on a full MiB; use a smaller file. */
		size_t len = chunks[c] == 1 ? 65536 : n;
		uint8_t w[32];

		sha(b, len, w);
		ASSERT_EQ(roundtrip(a, len, b, len, chunks[c], &d, got), 0, "roundtrip");
		ASSERT_TRUE(!memcmp(got, w, 32), "patched == new");
		if (chunks[c] == 4096)
			ASSERT_TRUE(d.len < n / 10, "delta much smaller than the file");
		free(d.p);
	}
	free(a);
	free(b);
}

/* Every tampered delta is either refused by the patcher or yields a file
 * whose SHA-256 differs: never a silent wrong file. */
static void test_delta_tamper_detected(void)
{
	size_t n = 256 * 1024;
	uint8_t *a = malloc(n), *b = malloc(n), want[32], got[32];
	struct membuf d = { 0 };
	int undetected = 0, trials = 0;

	srand(2);
	for (size_t i = 0; i < n; i++)
		a[i] = (uint8_t)rand();
	memcpy(b, a, n);
	memset(b + 1000, 0xee, 5000);
	sha(b, n, want);
	if (!ASSERT_EQ(roundtrip(a, n, b, n, 65536, &d, got), 0, "clean"))
		return;
	for (int t = 0; t < 300; t++) {
		int bfd = memfd_with(a, n), ofd = memfd_create("o", 0), err;
		size_t pos = (size_t)rand() % d.len;
		uint8_t bit = (uint8_t)(1 << (rand() % 8));
		struct mirror_patch *p = mirror_patch__new(bfd, ofd);
		uint64_t size;

		d.p[pos] ^= bit;
		err = mirror_patch__feed(p, d.p, d.len);
		if (!err)
			err = mirror_patch__finish(p, got, &size);
		if (!err && !memcmp(got, want, 32))
			undetected++;
		trials++;
		d.p[pos] ^= bit;
		mirror_patch__free(p);
		close(bfd);
		close(ofd);
	}
	ASSERT_EQ(undetected, 0, "tampered deltas that produced the right file");
	ASSERT_EQ(trials, 300, "trials");
	free(d.p);
	free(a);
	free(b);
}

int main(void)
{
	char cmd[200];

	mirror_delta_log_init();
	snprintf(dir, sizeof(dir), "/tmp/t-mirror-proto.%d", getpid());
	mkdir(dir, 0700);
	RUN(test_frame_parser_chunks);
	RUN(test_frame_parser_limits);
	RUN(test_entry_codec);
	RUN(test_order_sign_verify);
	RUN(test_delta_roundtrip);
	RUN(test_delta_tamper_detected);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return harness_exit();
}
