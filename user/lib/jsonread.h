/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading JSON documents with json-c, for every part that takes one from
 * another process (the controller from the agents, the CLI from the
 * controller): one strict parse of a whole buffer that says where it went
 * wrong, the schema check, and typed look-ups that answer NULL or NaN for a
 * member that is absent or of the wrong type, so callers never misread.
 * The writer side is json.h.
 */
#ifndef PRESAGE_JSONREAD_H
#define PRESAGE_JSONREAD_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Parse @len bytes as exactly one JSON document (strict: no trailing commas,
 * single quotes or trailing data; white space after it is allowed). Returns
 * it, or NULL with why in @why: "an empty answer", "the document ends early,
 * at byte N", "<json-c's reason> at byte N", "trailing data after the
 * document at byte N", "a NUL byte at byte N".
 */
struct json_object *jdoc_parse(const char *p, size_t len, char *why, size_t whylen);

/* 0 if @doc is an object whose "schema" is @schema; else -1 and
 * "not a SCHEMA document (schema FOUND|missing)" in @why. */
int jdoc_schema(struct json_object *doc, const char *schema, char *why, size_t whylen);

/* Member @key of object @o (NULL if @o is NULL or not an object). */
struct json_object *jget(struct json_object *o, const char *key);
/* ...only if it is a string / an object / an array, else NULL. */
const char *jstr(struct json_object *o, const char *key);
struct json_object *jobj(struct json_object *o, const char *key);
struct json_object *jarr(struct json_object *o, const char *key);
/* ...a number (integer or not) as a double, else NaN. */
double jdbl(struct json_object *o, const char *key);

#endif
