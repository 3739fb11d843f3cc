// SPDX-License-Identifier: GPL-2.0-only
/* Command channel codecs (job, hot request, hot items) and signed flag commands. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "mirror/ctl.h"
#include "mirror/mirror.h"

static char dir[128];

static void test_job_codec_roundtrip(void)
{
	struct mirror_job_status a = { .id = "0123abc", .state = MIRROR_JOB_FAILED,
				       .err = -MIRROR_EDIGEST, .msg = "pull: digest" };
	struct mirror_job_status b;
	uint8_t buf[512];
	size_t n;

	a.progress = (struct mirror_progress){ .items_total = 7, .items_done = 3,
					       .items_failed = 1, .items_skipped = 2,
					       .items_deleted = 4, .bytes_total = 1ull << 40,
					       .bytes_done = 12345, .wire_rx = 99, .wire_tx = 98,
					       .elapsed_s = 1.5, .rate_bps = 8230.25, .eta_s = 3.75,
					       .finished = false };
	if (!ASSERT_EQ(mirror_wire_put_job(buf, sizeof(buf), &a, &n), 0, "put"))
		return;
	if (!ASSERT_EQ(mirror_wire_get_job(buf, n, &b), 0, "get"))
		return;
	ASSERT_STREQ(b.id, a.id, "id");
	ASSERT_EQ(b.state, a.state, "state");
	ASSERT_EQ(b.err, a.err, "err");
	ASSERT_STREQ(b.msg, a.msg, "msg");
	ASSERT_EQ(b.progress.items_total, 7, "items_total");
	ASSERT_EQ(b.progress.items_done, 3, "items_done");
	ASSERT_EQ(b.progress.items_failed, 1, "items_failed");
	ASSERT_EQ(b.progress.items_skipped, 2, "items_skipped");
	ASSERT_EQ(b.progress.items_deleted, 4, "items_deleted");
	ASSERT_EQ(b.progress.bytes_total, 1ull << 40, "bytes_total");
	ASSERT_EQ(b.progress.bytes_done, 12345, "bytes_done");
	ASSERT_EQ(b.progress.wire_rx, 99, "wire_rx");
	ASSERT_EQ(b.progress.wire_tx, 98, "wire_tx");
	ASSERT_NEAR(b.progress.rate_bps, 8230.25, 0, "rate");
	ASSERT_NEAR(b.progress.eta_s, 3.75, 0, "eta");
	/* Every truncation is refused, never read past. */
	for (size_t l = 0; l < n; l++)
		if (!ASSERT_TRUE(mirror_wire_get_job(buf, l, &b) < 0, "truncated job refused"))
			break;
	ASSERT_EQ(mirror_wire_put_job(buf, 20, &a, &n), -ENOSPC, "short buffer");
}

static void test_job_codec_hostile(void)
{
	struct mirror_job_status a = { .id = "x", .state = MIRROR_JOB_DONE }, b;
	uint8_t buf[512];
	size_t n;

	mirror_wire_put_job(buf, sizeof(buf), &a, &n);
	buf[2] = 9; /* state after the 1-byte id */
	ASSERT_EQ(mirror_wire_get_job(buf, n, &b), -MIRROR_EFRAME, "bad state");
	buf[2] = MIRROR_JOB_DONE;
	buf[0] = 70; /* id length past what an id may be */
	ASSERT_EQ(mirror_wire_get_job(buf, n, &b), -MIRROR_EFRAME, "long id");
	buf[0] = 1;
	buf[n - 1] = 5; /* message length says 5, none follow */
	ASSERT_EQ(mirror_wire_get_job(buf, n, &b), -MIRROR_EFRAME, "message length");
	buf[n - 1] = 0;
	ASSERT_EQ(mirror_wire_get_job(buf, n, &b), 0, "restored");
	buf[1] = 0; /* NUL inside the id */
	ASSERT_EQ(mirror_wire_get_job(buf, n, &b), -MIRROR_EFRAME, "NUL in id");
}

static void test_hotreq_codec(void)
{
	uint8_t buf[300];
	char host[MIRROR_HOST_MAX + 1];
	uint32_t n;
	size_t len;

	ASSERT_EQ(mirror_wire_put_hotreq(buf, sizeof(buf), 200, "www.cdn.test", &len), 0, "put");
	ASSERT_EQ(mirror_wire_get_hotreq(buf, len, &n, host, sizeof(host)), 0, "get");
	ASSERT_EQ(n, 200, "n");
	ASSERT_STREQ(host, "www.cdn.test", "host");
	ASSERT_EQ(mirror_wire_put_hotreq(buf, sizeof(buf), 5, NULL, &len), 0, "put, all hosts");
	ASSERT_EQ(mirror_wire_get_hotreq(buf, len, &n, host, sizeof(host)), 0, "get, all hosts");
	ASSERT_STREQ(host, "", "empty host");
	ASSERT_EQ(mirror_wire_put_hotreq(buf, sizeof(buf), 5, "../x", &len), -MIRROR_EPATH,
		  "bad host not sent");
	memcpy(buf + 4, "a/b", 3);
	ASSERT_EQ(mirror_wire_get_hotreq(buf, 7, &n, host, sizeof(host)), -MIRROR_EPATH,
		  "bad host refused");
	ASSERT_EQ(mirror_wire_get_hotreq(buf, 3, &n, host, sizeof(host)), -MIRROR_EFRAME,
		  "short");
}

static void test_hot_codec(void)
{
	struct mirror_hot_item a = { .path = "h.test/a/b.bin", .size = 4096, .rate = 2.5 }, b;
	uint8_t buf[2 * (MIRROR_PATH_MAX + 64)];
	size_t n, n2, off = 0;

	for (int i = 0; i < 32; i++)
		a.sha[i] = (uint8_t)i;
	ASSERT_EQ(mirror_wire_put_hot(buf, sizeof(buf), &a, &n), 0, "put 1");
	strcpy(a.path, "h.test/c");
	ASSERT_EQ(mirror_wire_put_hot(buf + n, sizeof(buf) - n, &a, &n2), 0, "put 2");
	ASSERT_EQ(mirror_wire_get_hot(buf, n + n2, &off, &b), 0, "get 1");
	ASSERT_STREQ(b.path, "h.test/a/b.bin", "path 1");
	ASSERT_EQ(b.size, 4096, "size");
	ASSERT_NEAR(b.rate, 2.5, 0, "rate");
	ASSERT_EQ(b.sha[31], 31, "sha");
	ASSERT_EQ(off, n, "offset after 1");
	ASSERT_EQ(mirror_wire_get_hot(buf, n + n2, &off, &b), 0, "get 2");
	ASSERT_STREQ(b.path, "h.test/c", "path 2");
	for (size_t l = 0; l < n; l++) {
		off = 0;
		if (!ASSERT_TRUE(mirror_wire_get_hot(buf, l, &off, &b) < 0, "truncated item"))
			break;
	}
	/* A rate that is not a finite, non-negative number is refused. */
	{
		double nan_ = NAN;
		uint64_t bits;

		memcpy(&bits, &nan_, 8);
		for (int i = 0; i < 8; i++)
			buf[2 + 14 + 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
		off = 0;
		ASSERT_EQ(mirror_wire_get_hot(buf, n, &off, &b), -MIRROR_EFRAME, "NaN rate");
	}
	memcpy(buf + 2, "h.test/../x/b.b", 14);
	off = 0;
	ASSERT_EQ(mirror_wire_get_hot(buf, n, &off, &b), -MIRROR_EPATH, "unsafe path");
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

static void test_flagcmd_sign_verify(void)
{
	struct mirror_flagcmd c = { .pop = "popB", .host = "www.cdn.test", .primary = false }, v;
	char priv[256], pub[256], priv2[256], pub2[256], *text;
	size_t len;
	int accepted = 0;

	snprintf(priv, sizeof(priv), "%s/k", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	snprintf(priv2, sizeof(priv2), "%s/k2", dir);
	snprintf(pub2, sizeof(pub2), "%s/k2.pub", dir);
	keypair(priv, pub);
	keypair(priv2, pub2);
	c.expires = time(NULL) + 60;
	if (!ASSERT_EQ(mirror_flagcmd__sign(&c, priv, &text, &len), 0, "sign"))
		return;
	ASSERT_EQ(mirror_flagcmd__verify(&v, text, len, pub, time(NULL)), 0, "verify");
	ASSERT_STREQ(v.pop, "popB", "pop");
	ASSERT_STREQ(v.host, "www.cdn.test", "host");
	ASSERT_EQ(v.primary, false, "off");
	ASSERT_EQ(v.expires, c.expires, "expires");
	ASSERT_EQ(mirror_flagcmd__verify(&v, text, len, pub2, time(NULL)), -MIRROR_ESIG,
		  "other key");
	ASSERT_EQ(mirror_flagcmd__verify(&v, text, len, pub, time(NULL) + 120), -MIRROR_EEXPIRED,
		  "expired");
	for (size_t i = 0; i < len; i++) {
		text[i] ^= 1;
		if (mirror_flagcmd__verify(&v, text, len, pub, time(NULL)) == 0)
			accepted++;
		text[i] ^= 1;
	}
	ASSERT_EQ(accepted, 0, "flipped commands accepted");
	for (size_t l = 0; l < len; l++)
		if (!ASSERT_TRUE(mirror_flagcmd__verify(&v, text, l, pub, time(NULL)) < 0,
				 "truncated command refused"))
			break;
	/* An order is not a flag command, and the other way round. */
	{
		struct mirror_order o;

		ASSERT_EQ(mirror_order__verify(&o, text, len, pub, time(NULL)), -MIRROR_EORDER,
			  "flag command as order");
	}
	free(text);
	c.primary = true;
	strcpy(c.host, "bad/host");
	ASSERT_EQ(mirror_flagcmd__sign(&c, priv, &text, &len), -MIRROR_EORDER, "bad host not signed");
}

static void test_job_state_names(void)
{
	for (int s = MIRROR_JOB_UNKNOWN; s <= MIRROR_JOB_FAILED; s++)
		ASSERT_EQ(mirror_job_state_parse(mirror_job_state_name(s)), s, "name round trip");
	ASSERT_EQ(mirror_job_state_parse("bogus"), -1, "unknown name");
	ASSERT_STREQ(mirror_job_state_name(MIRROR_JOB_DONE), "done", "done");
}

int main(void)
{
	char cmd[200];

	snprintf(dir, sizeof(dir), "/tmp/t-mirror-ctl-wire.%d", getpid());
	mkdir(dir, 0700);
	RUN(test_job_codec_roundtrip);
	RUN(test_job_codec_hostile);
	RUN(test_hotreq_codec);
	RUN(test_hot_codec);
	RUN(test_flagcmd_sign_verify);
	RUN(test_job_state_names);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return harness_exit();
}
