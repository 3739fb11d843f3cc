// SPDX-License-Identifier: GPL-2.0-only
/*
 * librsync signature, delta and patch as streaming jobs. Signature and
 * delta streams come from the network, so they are fed in whatever chunks
 * the frames carry; librsync's jobs keep their own partial state between
 * rs_job_iter() calls, and we add the checks it leaves to the caller:
 * input after the end, a stream that ends early, a job that stops making
 * progress, and copy commands that point outside the basis file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librsync.h>
#include <openssl/evp.h>

#include "log.h"
#include "mirror/mirror.h"

#define OBUF 65536

static void rs_log(rs_loglevel level, char const *msg)
{
	/* librsync's errors are our info: we report the failure ourselves. */
	if (level <= RS_LOG_ERR)
		pr_info("librsync: %s\n", msg);
	else
		pr_debug("librsync: %s\n", msg);
}

void mirror_delta_log_init(void)
{
	rs_trace_to(rs_log);
	rs_trace_set_level(RS_LOG_ERR);
}

/*
 * Crank @job over @len bytes of input (and the end of input if @eof),
 * passing all output to @sink. Sets *done when the job has finished.
 */
static int job_run(rs_job_t *job, const uint8_t *in, size_t len, bool eof, mirror_sink_fn sink,
		   void *arg, bool *done)
{
	rs_buffers_t b = { .next_in = (char *)in, .avail_in = len, .eof_in = eof };
	static __thread uint8_t obuf[OBUF];

	if (*done)
		return len ? -MIRROR_EDELTA : 0;
	for (;;) {
		size_t before = b.avail_in, produced;
		rs_result r;
		int err;

		b.next_out = (char *)obuf;
		b.avail_out = sizeof(obuf);
		r = rs_job_iter(job, &b);
		produced = sizeof(obuf) - b.avail_out;
		if (produced && sink) {
			err = sink(arg, obuf, produced);
			if (err)
				return err;
		}
		if (r == RS_DONE) {
			*done = true;
			/* Bytes after the end of a stream are tampering. */
			return b.avail_in ? -MIRROR_EDELTA : 0;
		}
		if (r != RS_BLOCKED)
			return -MIRROR_EDELTA;
		if (produced == 0 && b.avail_in == before) {
			/* No progress: fine if it waits for input, else stuck. */
			if (b.avail_in == 0 && !eof)
				return 0;
			return -MIRROR_EDELTA;
		}
	}
}

/* ---- signature ---------------------------------------------------------------- */

int mirror_sig_stream(int fd, mirror_sink_fn sink, void *arg)
{
	static __thread uint8_t ibuf[OBUF];
	rs_magic_number magic = 0;
	size_t block_len = 0, strong_len = (size_t)-1;
	off_t size, off = 0;
	bool done = false;
	rs_job_t *job;
	int err = 0;

	size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return -errno;
	if (rs_sig_args(size, &magic, &block_len, &strong_len) != RS_DONE)
		return -EINVAL;
	/*
	 * Blocks of about sqrt(size) in whole KiB, as rsync sizes them:
	 * librsync's default (256 bytes for small files) makes the signature
	 * up to 4 % of the file, more than the change it saves. A 4-byte strong
	 * sum suffices because every result is checked against the manifest's
	 * SHA-256 and a mismatch is fetched whole: a collision costs bandwidth,
	 * never correctness. With both, wire bytes land near rsync's.
	 */
	block_len = 1024;
	while ((off_t)block_len * (off_t)block_len < size && block_len < 128 * 1024)
		block_len += 1024;
	strong_len = 4;
	job = rs_sig_begin(block_len, strong_len, magic);
	if (!job)
		return -ENOMEM;
	while (!done) {
		ssize_t n = pread(fd, ibuf, sizeof(ibuf), off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += n;
		err = job_run(job, ibuf, (size_t)n, n == 0, sink, arg, &done);
		if (err)
			break;
		if (n == 0 && !done) {
			err = -MIRROR_EDELTA;
			break;
		}
	}
	rs_job_free(job);
	return err;
}

struct mirror_sigload {
	rs_job_t *job;
	rs_signature_t *sig;
	bool done, indexed;
};

struct mirror_sigload *mirror_sigload__new(void)
{
	struct mirror_sigload *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->job = rs_loadsig_begin(&l->sig);
	if (!l->job) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

int mirror_sigload__feed(struct mirror_sigload *l, const uint8_t *buf, size_t len)
{
	return job_run(l->job, buf, len, false, NULL, NULL, &l->done);
}

int mirror_sigload__finish(struct mirror_sigload *l, rs_signature_t **sig)
{
	int err;

	if (!l->done) {
		err = job_run(l->job, NULL, 0, true, NULL, NULL, &l->done);
		if (err)
			return err;
		if (!l->done)
			return -MIRROR_EDELTA;
	}
	if (!l->sig)
		return -MIRROR_EDELTA;
	if (!l->indexed) {
		if (rs_build_hash_table(l->sig) != RS_DONE)
			return -MIRROR_EDELTA;
		l->indexed = true;
	}
	*sig = l->sig;
	return 0;
}

void mirror_sigload__free(struct mirror_sigload *l)
{
	if (!l)
		return;
	if (l->job)
		rs_job_free(l->job);
	if (l->sig)
		rs_free_sumset(l->sig);
	free(l);
}

/* ---- delta ------------------------------------------------------------------- */

int mirror_delta_stream(rs_signature_t *sig, int fd, mirror_sink_fn sink, void *arg,
			uint8_t sha[32], uint64_t *size)
{
	static __thread uint8_t ibuf[OBUF];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool done = false;
	uint64_t total = 0;
	rs_job_t *job;
	int err = 0;

	if (!md)
		return -ENOMEM;
	job = rs_delta_begin(sig);
	if (!job) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while (!done) {
		ssize_t n = pread(fd, ibuf, sizeof(ibuf), (off_t)total);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		EVP_DigestUpdate(md, ibuf, (size_t)n);
		total += (uint64_t)n;
		err = job_run(job, ibuf, (size_t)n, n == 0, sink, arg, &done);
		if (err)
			break;
		if (n == 0 && !done) {
			err = -MIRROR_EDELTA;
			break;
		}
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	*size = total;
	rs_job_free(job);
	EVP_MD_CTX_free(md);
	return err;
}

/* ---- patch ------------------------------------------------------------------- */

struct mirror_patch {
	rs_job_t *job;
	int basis_fd, out_fd;
	off_t basis_size;
	EVP_MD_CTX *md;
	uint64_t written;
	bool done;
	int err;	/* I/O error inside a callback, reported over EDELTA */
};

static rs_result copy_cb(void *opaque, rs_long_t pos, size_t *len, void **buf)
{
	struct mirror_patch *p = opaque;
	ssize_t n;

	/* A delta may only copy from inside the basis we signed. */
	if (pos < 0 || pos >= p->basis_size || p->basis_fd < 0)
		return RS_CORRUPT;
	if ((rs_long_t)*len > p->basis_size - pos)
		*len = (size_t)(p->basis_size - pos);
	do {
		n = pread(p->basis_fd, *buf, *len, pos);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		p->err = -errno;
		return RS_IO_ERROR;
	}
	if (n == 0)
		return RS_INPUT_ENDED;
	*len = (size_t)n;
	return RS_DONE;
}

static int patch_sink(void *arg, const uint8_t *buf, size_t len)
{
	struct mirror_patch *p = arg;

	EVP_DigestUpdate(p->md, buf, len);
	while (len) {
		ssize_t n = write(p->out_fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
		p->written += (uint64_t)n;
	}
	return 0;
}

struct mirror_patch *mirror_patch__new(int basis_fd, int out_fd)
{
	struct mirror_patch *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->basis_fd = basis_fd;
	p->out_fd = out_fd;
	p->basis_size = basis_fd >= 0 ? lseek(basis_fd, 0, SEEK_END) : 0;
	if (p->basis_size < 0)
		p->basis_size = 0;
	p->md = EVP_MD_CTX_new();
	p->job = rs_patch_begin(copy_cb, p);
	if (!p->md || !p->job) {
		mirror_patch__free(p);
		errno = ENOMEM;
		return NULL;
	}
	EVP_DigestInit_ex(p->md, EVP_sha256(), NULL);
	return p;
}

int mirror_patch__feed(struct mirror_patch *p, const uint8_t *buf, size_t len)
{
	int err = job_run(p->job, buf, len, false, patch_sink, p, &p->done);

	return err == -MIRROR_EDELTA && p->err ? p->err : err;
}

int mirror_patch__finish(struct mirror_patch *p, uint8_t sha[32], uint64_t *size)
{
	int err;

	if (!p->done) {
		err = job_run(p->job, NULL, 0, true, patch_sink, p, &p->done);
		if (err)
			return err == -MIRROR_EDELTA && p->err ? p->err : err;
		if (!p->done)
			return -MIRROR_EDELTA;
	}
	EVP_DigestFinal_ex(p->md, sha, NULL);
	*size = p->written;
	return 0;
}

void mirror_patch__free(struct mirror_patch *p)
{
	if (!p)
		return;
	if (p->job)
		rs_job_free(p->job);
	EVP_MD_CTX_free(p->md);
	free(p);
}
