// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's API (docs/controller.md "API") over its control socket:
 * HTTP/1.1 over a UNIX socket with libcurl, each answer parsed strictly with
 * json-c. Every failure is said once, here, in the words of the CLI's
 * contract ("cannot reach the controller at PATH: ... (is cmmd running?)").
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "capbuf.h"
#include "ctl_client.h"
#include "jsonread.h"

/* The largest answer we hold in memory: history of a busy link for a day at
 * 1 s is ~86k samples of ~400 bytes, well under this. */
#define CTL_MAX_BODY (256u << 20)
#define CTL_TIMEOUT_S 10L

/*
 * GET `path` (with its query) from the controller at `sock`. Returns 0 and
 * the document (a JSON object), or a negative errno after saying on stderr
 * what went wrong: -ENOENT for the controller's 404 (its message is shown),
 * -EPROTO for any other answer that is not a document of ours.
 */
int ctl_get(const char *sock, const char *path, struct json_object **out)
{
	return ctl_get_ex(sock, path, 0, out);
}

int ctl_get_ex(const char *sock, const char *path, unsigned flags, struct json_object **out)
{
	static bool inited;
	struct capbuf b = { .max = CTL_MAX_BODY };
	struct json_object *doc = NULL;
	char url[2048], why[160];
	long status = 0, oserr = 0;
	const char *msg, *schema;
	CURLcode rc;
	CURL *c;
	int err = 0;

	*out = NULL;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_NOTHING)) {
			fprintf(stderr, "presage: cannot initialise libcurl\n");
			return -ENOMEM;
		}
		inited = true;
	}
	c = curl_easy_init();
	if (!c) {
		fprintf(stderr, "presage: cannot initialise libcurl\n");
		return -ENOMEM;
	}
	/* The host name is not looked up: the connection is the socket. */
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, capbuf_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, CTL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "presage");
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		if (b.too_big) {
			fprintf(
			    stderr,
			    "presage: the controller's answer to GET %s is larger than %u MiB\n",
			    path, CTL_MAX_BODY >> 20);
			err = -EFBIG;
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
		/* connect()'s errno says more ("No such file or directory",
		 * "Connection refused", "Permission denied") than curl's text. */
		if (!(flags & CTL_QUIET_UNREACHABLE))
			fprintf(
			    stderr,
			    "presage: cannot reach the controller at %s: %s (is cmmd running?)\n",
			    sock,
			    rc == CURLE_COULDNT_CONNECT && oserr ? strerror((int)oserr)
								 : curl_easy_strerror(rc));
		err = -CTL_E_UNREACHABLE;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	doc = jdoc_parse(b.p, b.len, why, sizeof(why));
	if (status != 200) {
		msg =
		    doc && json_object_is_type(doc, json_type_object) ? jstr(doc, "error") : NULL;
		if (status == 404 && msg)
			fprintf(stderr, "presage: %s\n", msg);
		else if (msg)
			fprintf(stderr, "presage: the controller answered HTTP %ld to GET %s: %s\n",
				status, path, msg);
		else
			fprintf(stderr, "presage: the controller answered HTTP %ld to GET %s\n",
				status, path);
		err = status == 404 ? -CTL_E_NOT_FOUND : -CTL_E_HTTP;
		goto out;
	}
	if (!doc) {
		fprintf(stderr, "presage: malformed JSON from the controller at %s (GET %s): %s\n",
			sock, path, why);
		err = -CTL_E_MALFORMED;
		goto out;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		fprintf(stderr,
			"presage: unexpected answer from the controller at %s (GET %s): a JSON %s, "
			"expected an object\n",
			sock, path, json_type_to_name(json_object_get_type(doc)));
		err = -CTL_E_MALFORMED;
		goto out;
	}
	/* The planner's document has no schema; any other one must be ours. */
	schema = jstr(doc, "schema");
	if (schema && strcmp(schema, CTL_SCHEMA)) {
		fprintf(
		    stderr,
		    "presage: the controller at %s answers in schema \"%s\"; this presage reads "
		    "\"%s\"\n",
		    sock, schema, CTL_SCHEMA);
		err = -CTL_E_MALFORMED;
		goto out;
	}
	*out = doc;
	doc = NULL;
out:
	json_object_put(doc);
	free(b.p);
	curl_easy_cleanup(c);
	return err;
}

/* Append "key=escaped(val)" to a path that already has its '?' or '&'. */
int ctl_path_add(char *path, size_t size, const char *key, const char *val)
{
	char *esc = curl_easy_escape(NULL, val, 0);
	size_t len = strlen(path);
	int n;

	if (!esc)
		return -ENOMEM;
	n = snprintf(path + len, size - len, "%s%s=%s", strchr(path, '?') ? "&" : "?", key, esc);
	curl_free(esc);
	return n < 0 || (size_t)n >= size - len ? -ENAMETOOLONG : 0;
}

/* -j: the controller's document as it came, on one line. */
void ctl_print_doc(struct json_object *doc)
{
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}
