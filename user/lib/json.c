// SPDX-License-Identifier: GPL-2.0-only
#include <math.h>
#include <stdlib.h>
#include <inttypes.h>

#include "json.h"

void json_init(struct json_writer *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->need_comma[0] = false;
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void prefix(struct json_writer *w, const char *key)
{
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	w->need_comma[w->depth] = true;
	if (key) {
		put_escaped(w->f, key);
		fputc(':', w->f);
	}
}

static void open_(struct json_writer *w, const char *key, char c)
{
	prefix(w, key);
	fputc(c, w->f);
	if (w->depth < JSON_MAX_DEPTH - 1)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct json_writer *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	fputc(c, w->f);
}

void json_obj_open(struct json_writer *w, const char *key)
{
	open_(w, key, '{');
}

void json_obj_close(struct json_writer *w)
{
	close_(w, '}');
}

void json_arr_open(struct json_writer *w, const char *key)
{
	open_(w, key, '[');
}

void json_arr_close(struct json_writer *w)
{
	close_(w, ']');
}

void json_str(struct json_writer *w, const char *key, const char *val)
{
	prefix(w, key);
	if (val)
		put_escaped(w->f, val);
	else
		fputs("null", w->f);
}

void json_u64(struct json_writer *w, const char *key, uint64_t val)
{
	prefix(w, key);
	fprintf(w->f, "%" PRIu64, val);
}

void json_i64(struct json_writer *w, const char *key, int64_t val)
{
	prefix(w, key);
	fprintf(w->f, "%" PRId64, val);
}

void json_dbl(struct json_writer *w, const char *key, double val)
{
	char buf[32];

	prefix(w, key);
	if (!isfinite(val)) {
		fputs("null", w->f);
		return;
	}
	/*
	 * The fewest digits (6 at least, 15 at most) that read back as @val:
	 * a measured rate stays short, a Unix time in seconds keeps its
	 * milliseconds (%.6g made 1795695131.123 into 1.7957e+09).
	 */
	for (int prec = 6; prec <= 15; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, val);
		if (strtod(buf, NULL) == val)
			break;
	}
	fputs(buf, w->f);
}

void json_bool(struct json_writer *w, const char *key, bool val)
{
	prefix(w, key);
	fputs(val ? "true" : "false", w->f);
}

void json_null(struct json_writer *w, const char *key)
{
	prefix(w, key);
	fputs("null", w->f);
}
