// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wire protocol between agents (inside TLS 1.3). Every message is a frame:
 *
 *   type (1 byte) | payload length (4 bytes, big endian) | payload
 *
 * The parser is a resumable state machine in the manner of librsync's
 * job.c: it takes buffers of any size, keeps a partial header or payload
 * across calls, and refuses a length over its limit before allocating.
 * Payload codecs check every length field against the payload they index.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mirror/ctl.h"
#include "mirror/mirror.h"

void mirror_frame_parser__init(struct mirror_frame_parser *p, uint32_t max)
{
	memset(p, 0, sizeof(*p));
	p->max = max ? max : MIRROR_FRAME_MAX;
}

void mirror_frame_parser__free(struct mirror_frame_parser *p)
{
	if (!p)
		return;
	free(p->payload);
	p->payload = NULL;
	p->cap = 0;
}

int mirror_frame_parser__feed(struct mirror_frame_parser *p, const uint8_t *buf, size_t len,
			      size_t *used)
{
	size_t off = 0;

	if (p->state == MIRROR_FP_DONE) {
		p->state = MIRROR_FP_HDR;
		p->have = 0;
	}
	while (off < len || (p->state == MIRROR_FP_BODY && p->have == p->len)) {
		if (p->state == MIRROR_FP_HDR) {
			size_t n = MIRROR_FRAME_HDR - p->have;

			if (n > len - off)
				n = len - off;
			memcpy(p->hdr + p->have, buf + off, n);
			p->have += n;
			off += n;
			if (p->have < MIRROR_FRAME_HDR)
				break;
			p->type = p->hdr[0];
			p->len = (uint32_t)p->hdr[1] << 24 | (uint32_t)p->hdr[2] << 16 |
				 (uint32_t)p->hdr[3] << 8 | p->hdr[4];
			if (p->type == 0 || p->type >= MIRROR_F_TYPE_MAX || p->len > p->max) {
				*used = off;
				return -MIRROR_EFRAME;
			}
			if (p->len > p->cap) {
				uint8_t *nb = realloc(p->payload, p->len);

				if (!nb) {
					*used = off;
					return -ENOMEM;
				}
				p->payload = nb;
				p->cap = p->len;
			}
			p->state = MIRROR_FP_BODY;
			p->have = 0;
		} else {
			size_t n = p->len - p->have;

			if (n > len - off)
				n = len - off;
			if (n)
				memcpy(p->payload + p->have, buf + off, n);
			p->have += n;
			off += n;
			if (p->have == p->len) {
				p->state = MIRROR_FP_DONE;
				*used = off;
				return 1;
			}
		}
	}
	*used = off;
	return 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Entry: u16 path length, path, u64 size, i64 mtime_ns, u32 version, sha. */
#define ENTRY_FIXED (2 + 8 + 8 + 4 + 32)

int mirror_wire_put_entry(uint8_t *buf, size_t cap, const struct mirror_entry *e, size_t *n)
{
	size_t pl = strlen(e->path);

	if (pl > MIRROR_PATH_MAX)
		return -MIRROR_EPATH;
	if (cap < ENTRY_FIXED + pl)
		return -ENOSPC;
	put_be(buf, pl, 2);
	memcpy(buf + 2, e->path, pl);
	put_be(buf + 2 + pl, e->size, 8);
	put_be(buf + 10 + pl, (uint64_t)e->mtime_ns, 8);
	put_be(buf + 18 + pl, e->version, 4);
	memcpy(buf + 22 + pl, e->sha, 32);
	*n = ENTRY_FIXED + pl;
	return 0;
}

int mirror_wire_get_entry(const uint8_t *buf, size_t len, size_t *off, struct mirror_entry *e)
{
	size_t o = *off, pl;

	if (o > len || len - o < 2)
		return -MIRROR_EFRAME;
	pl = get_be(buf + o, 2);
	if (pl == 0 || pl > MIRROR_PATH_MAX || len - o < ENTRY_FIXED + pl)
		return -MIRROR_EFRAME;
	memset(e, 0, sizeof(*e));
	e->path = malloc(pl + 1);
	if (!e->path)
		return -ENOMEM;
	memcpy(e->path, buf + o + 2, pl);
	e->path[pl] = '\0';
	/* An embedded NUL would make the checked string shorter than sent. */
	if (strlen(e->path) != pl || mirror_path_check(e->path)) {
		free(e->path);
		e->path = NULL;
		return -MIRROR_EPATH;
	}
	e->size = get_be(buf + o + 2 + pl, 8);
	e->mtime_ns = (int64_t)get_be(buf + o + 10 + pl, 8);
	e->version = (uint32_t)get_be(buf + o + 18 + pl, 4);
	memcpy(e->sha, buf + o + 22 + pl, 32);
	*off = o + ENTRY_FIXED + pl;
	return 0;
}

/* GET: u8 mode, u16 path length, path. */
int mirror_wire_get_get(const uint8_t *buf, size_t len, uint8_t *mode, char *path, size_t cap)
{
	size_t pl;

	if (len < 3)
		return -MIRROR_EFRAME;
	*mode = buf[0];
	pl = get_be(buf + 1, 2);
	if (*mode > MIRROR_GET_DELTA || pl != len - 3 || pl + 1 > cap)
		return -MIRROR_EFRAME;
	memcpy(path, buf + 3, pl);
	path[pl] = '\0';
	if (strlen(path) != pl)
		return -MIRROR_EPATH;
	return mirror_path_check(path);
}

/* ERR: u16 wire code, message (not NUL-terminated). */
int mirror_wire_get_err(const uint8_t *buf, size_t len, int *err, char *msg, size_t cap)
{
	size_t ml;

	if (len < 2 || cap == 0)
		return -MIRROR_EFRAME;
	*err = mirror_err_from_wire((uint16_t)get_be(buf, 2));
	ml = len - 2;
	if (ml > cap - 1)
		ml = cap - 1;
	memcpy(msg, buf + 2, ml);
	msg[ml] = '\0';
	for (size_t i = 0; i < ml; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = '?';
	return 0;
}

/*
 * The one place where our errors become wire codes and back. Wire codes are
 * stable; errno values differ between systems, so they travel as EIO.
 */
uint16_t mirror_err_to_wire(int err)
{
	if (err < 0)
		err = -err;
	if (err > MIRROR_EBASE && err < MIRROR_EMAX)
		return (uint16_t)(err - MIRROR_EBASE);
	if (err == ENOENT)
		return 100;
	return 101;
}

int mirror_err_from_wire(uint16_t code)
{
	if (code > 0 && code < MIRROR_EMAX - MIRROR_EBASE)
		return -(MIRROR_EBASE + code);
	if (code == 100)
		return -ENOENT;
	return -EIO;
}

/* ---- command channel codecs (mirror/ctl.h) ---------------------------------- */

static uint64_t f64_bits(double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	return v;
}

static double bits_f64(uint64_t v)
{
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

#define JOB_FIXED (1 + 1 + 2 + 9 * 8 + 3 * 8 + 1 + 2)

int mirror_wire_put_job(uint8_t *buf, size_t cap, const struct mirror_job_status *st, size_t *n)
{
	const struct mirror_progress *p = &st->progress;
	const uint64_t c[9] = { p->items_total, p->items_done,	p->items_failed,
				p->items_skipped, p->items_deleted, p->bytes_total,
				p->bytes_done,	p->wire_rx,	p->wire_tx };
	size_t il = strnlen(st->id, sizeof(st->id) - 1);
	size_t ml = strnlen(st->msg, sizeof(st->msg) - 1), o = 0;

	if ((unsigned)st->state > MIRROR_JOB_FAILED)
		return -EINVAL;
	if (cap < JOB_FIXED + il + ml)
		return -ENOSPC;
	buf[o++] = (uint8_t)il;
	memcpy(buf + o, st->id, il);
	o += il;
	buf[o++] = (uint8_t)st->state;
	put_be(buf + o, st->err ? mirror_err_to_wire(st->err) : 0, 2);
	o += 2;
	for (int i = 0; i < 9; i++, o += 8)
		put_be(buf + o, c[i], 8);
	put_be(buf + o, f64_bits(p->elapsed_s), 8);
	put_be(buf + o + 8, f64_bits(p->rate_bps), 8);
	put_be(buf + o + 16, f64_bits(p->eta_s), 8);
	o += 24;
	buf[o++] = p->finished;
	put_be(buf + o, ml, 2);
	o += 2;
	memcpy(buf + o, st->msg, ml);
	*n = o + ml;
	return 0;
}

int mirror_wire_get_job(const uint8_t *buf, size_t len, struct mirror_job_status *st)
{
	struct mirror_progress *p = &st->progress;
	uint64_t c[9];
	size_t il, ml, o = 0;
	uint16_t code;

	memset(st, 0, sizeof(*st));
	if (len < JOB_FIXED)
		return -MIRROR_EFRAME;
	il = buf[o++];
	if (il >= sizeof(st->id) || len < JOB_FIXED + il)
		return -MIRROR_EFRAME;
	memcpy(st->id, buf + o, il);
	o += il;
	if (strlen(st->id) != il || buf[o] > MIRROR_JOB_FAILED)
		return -MIRROR_EFRAME;
	st->state = (enum mirror_job_state)buf[o++];
	code = (uint16_t)get_be(buf + o, 2);
	st->err = code ? mirror_err_from_wire(code) : 0;
	o += 2;
	for (int i = 0; i < 9; i++, o += 8)
		c[i] = get_be(buf + o, 8);
	p->items_total = c[0];
	p->items_done = c[1];
	p->items_failed = c[2];
	p->items_skipped = c[3];
	p->items_deleted = c[4];
	p->bytes_total = c[5];
	p->bytes_done = c[6];
	p->wire_rx = c[7];
	p->wire_tx = c[8];
	p->elapsed_s = bits_f64(get_be(buf + o, 8));
	p->rate_bps = bits_f64(get_be(buf + o + 8, 8));
	p->eta_s = bits_f64(get_be(buf + o + 16, 8));
	o += 24;
	if (buf[o] > 1)
		return -MIRROR_EFRAME;
	p->finished = buf[o++];
	ml = get_be(buf + o, 2);
	o += 2;
	if (ml != len - o || ml >= sizeof(st->msg))
		return -MIRROR_EFRAME;
	memcpy(st->msg, buf + o, ml);
	st->msg[ml] = '\0';
	for (size_t i = 0; i < ml; i++)
		if ((unsigned char)st->msg[i] < 0x20)
			st->msg[i] = '?';
	return 0;
}

int mirror_wire_put_hotreq(uint8_t *buf, size_t cap, uint32_t n, const char *host, size_t *len)
{
	size_t hl = host ? strlen(host) : 0;

	if (hl && mirror_host_check(host))
		return -MIRROR_EPATH;
	if (cap < 4 + hl)
		return -ENOSPC;
	put_be(buf, n, 4);
	memcpy(buf + 4, host, hl);
	*len = 4 + hl;
	return 0;
}

int mirror_wire_get_hotreq(const uint8_t *buf, size_t len, uint32_t *n, char *host, size_t cap)
{
	size_t hl;

	if (len < 4 || cap == 0)
		return -MIRROR_EFRAME;
	hl = len - 4;
	if (hl > MIRROR_HOST_MAX || hl >= cap)
		return -MIRROR_EFRAME;
	*n = (uint32_t)get_be(buf, 4);
	memcpy(host, buf + 4, hl);
	host[hl] = '\0';
	if (hl && (strlen(host) != hl || mirror_host_check(host)))
		return -MIRROR_EPATH;
	return 0;
}

#define HOT_FIXED (2 + 8 + 8 + 32)

int mirror_wire_put_hot(uint8_t *buf, size_t cap, const struct mirror_hot_item *it, size_t *n)
{
	size_t pl = strnlen(it->path, sizeof(it->path));

	if (pl == 0 || pl >= sizeof(it->path))
		return -MIRROR_EPATH;
	if (cap < HOT_FIXED + pl)
		return -ENOSPC;
	put_be(buf, pl, 2);
	memcpy(buf + 2, it->path, pl);
	put_be(buf + 2 + pl, it->size, 8);
	put_be(buf + 10 + pl, f64_bits(it->rate), 8);
	memcpy(buf + 18 + pl, it->sha, 32);
	*n = HOT_FIXED + pl;
	return 0;
}

int mirror_wire_get_hot(const uint8_t *buf, size_t len, size_t *off, struct mirror_hot_item *it)
{
	size_t o = *off, pl;

	if (o > len || len - o < 2)
		return -MIRROR_EFRAME;
	pl = get_be(buf + o, 2);
	if (pl == 0 || pl >= sizeof(it->path) || len - o < HOT_FIXED + pl)
		return -MIRROR_EFRAME;
	memset(it, 0, sizeof(*it));
	memcpy(it->path, buf + o + 2, pl);
	it->path[pl] = '\0';
	if (strlen(it->path) != pl || mirror_path_check(it->path))
		return -MIRROR_EPATH;
	it->size = get_be(buf + o + 2 + pl, 8);
	it->rate = bits_f64(get_be(buf + o + 10 + pl, 8));
	if (!isfinite(it->rate) || it->rate < 0)
		return -MIRROR_EFRAME;
	memcpy(it->sha, buf + o + 18 + pl, 32);
	*off = o + HOT_FIXED + pl;
	return 0;
}
