/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small streaming JSON writer for -j/--json output and the HTTP API:
 * objects and arrays nest, commas are placed for the caller, strings are
 * escaped. Output goes to a FILE (a memstream for the API).
 */
#ifndef PRESAGE_JSON_H
#define PRESAGE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json_writer *w, FILE *f);
void json_obj_open(struct json_writer *w, const char *key);	/* key NULL inside arrays */
void json_obj_close(struct json_writer *w);
void json_arr_open(struct json_writer *w, const char *key);
void json_arr_close(struct json_writer *w);
void json_str(struct json_writer *w, const char *key, const char *val);
void json_u64(struct json_writer *w, const char *key, uint64_t val);
void json_i64(struct json_writer *w, const char *key, int64_t val);
/* NaN and infinities become null: JSON has no such numbers. */
void json_dbl(struct json_writer *w, const char *key, double val);
void json_bool(struct json_writer *w, const char *key, bool val);
void json_null(struct json_writer *w, const char *key);

#endif
