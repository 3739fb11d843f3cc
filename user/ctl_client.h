/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A client of the controller's API (docs/controller.md "API") over its
 * control socket (user/ctl_client.c).
 */
#ifndef PRESAGE_CTL_CLIENT_H
#define PRESAGE_CTL_CLIENT_H

#include <stddef.h>

#include <json-c/json.h>

#define CTL_SCHEMA "presage.ctl/1"

/* Failures of a GET, returned negated; below them, -ENOMEM and -EFBIG. */
enum {
	CTL_E_UNREACHABLE = 4096, /* nothing answered: connect, timeout, reset */
	CTL_E_NOT_FOUND,	  /* the controller's 404 (unknown link, POP, path) */
	CTL_E_HTTP,		  /* another HTTP status */
	CTL_E_MALFORMED,	  /* not JSON, not an object, or another schema */
};

/* ctl_get_ex flags */
#define CTL_QUIET_UNREACHABLE (1u << 0) /* say nothing on -CTL_E_UNREACHABLE */

/*
 * GET `path` (with its query) from the controller at `sock`. Returns 0 and
 * the document (a JSON object, the caller's to json_object_put), or a
 * negative CTL_E_* (or -ENOMEM, -EFBIG) after saying on stderr what went
 * wrong (the controller's own message for its 404).
 */
int ctl_get(const char *sock, const char *path, struct json_object **out);
int ctl_get_ex(const char *sock, const char *path, unsigned flags, struct json_object **out);
/* Append "key=escaped(val)" to path, after '?' or '&'. 0 or -ENAMETOOLONG. */
int ctl_path_add(char *path, size_t size, const char *key, const char *val);
/* -j: a document on one line, flushed. */
void ctl_print_doc(struct json_object *doc);

#endif
