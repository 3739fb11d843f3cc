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
#include <stdlib.h>
#include <string.h>

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
