// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonread.h"

struct json_object *jdoc_parse(const char *p, size_t len, char *why, size_t whylen)
{
	struct json_tokener *tok;
	struct json_object *doc;
	enum json_tokener_error jerr;
	const char *nul;
	size_t end;

	if (!len) {
		snprintf(why, whylen, "an empty answer");
		return NULL;
	}
	nul = memchr(p, '\0', len);
	if (nul) {
		snprintf(why, whylen, "a NUL byte at byte %zu", (size_t)(nul - p));
		return NULL;
	}
	if (len > INT32_MAX) {
		snprintf(why, whylen, "a document of %zu bytes, more than json-c takes", len);
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	/*
	 * Strict: json-c would otherwise take "[1,]" and single quotes. Strict
	 * alone also calls data after the document an "unexpected character";
	 * allowing it here lets the check below say what it is.
	 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	doc = json_tokener_parse_ex(tok, p, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!doc && jerr == json_tokener_continue) {
		snprintf(why, whylen, "the document ends early, at byte %zu", len);
	} else if (!doc) {
		snprintf(why, whylen, "%s at byte %zu", json_tokener_error_desc(jerr), end);
	} else {
		while (end < len && isspace((unsigned char)p[end]))
			end++;
		if (end < len) {
			snprintf(why, whylen, "trailing data after the document at byte %zu", end);
			json_object_put(doc);
			doc = NULL;
		}
	}
	json_tokener_free(tok);
	return doc;
}

int jdoc_schema(struct json_object *doc, const char *schema, char *why, size_t whylen)
{
	const char *s = jstr(doc, "schema");

	if (s && !strcmp(s, schema))
		return 0;
	snprintf(why, whylen, "not a %s document (schema %s)", schema, s ? s : "missing");
	return -1;
}

struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

struct json_object *jobj(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_object) ? v : NULL;
}

struct json_object *jarr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

double jdbl(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return NAN;
	return json_object_get_double(v);
}
