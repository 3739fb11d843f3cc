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

/*
 * GET `path` (with its query) from the controller at `sock`. Returns 0 and
 * the document (a JSON object, the caller's to json_object_put), or a
 * negative errno after saying on stderr what went wrong: the connect()
 * errno when nothing answers, -ENOENT for the controller's 404 (its message
 * shown), -EPROTO for any other answer that is not a document of ours.
 */
int ctl_get(const char *sock, const char *path, struct json_object **out);
/* Append "key=escaped(val)" to path, after '?' or '&'. 0 or -ENAMETOOLONG. */
int ctl_path_add(char *path, size_t size, const char *key, const char *val);
/* -j: a document on one line, flushed. */
void ctl_print_doc(struct json_object *doc);

#endif
