// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "api.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "numparse.h"

#ifndef PRESAGE_VERSION
#define PRESAGE_VERSION "unknown"
#endif

/*
 * Limits. A request is one line and a few headers: 32 KiB of per-connection
 * memory holds any sane one (curl's and Prometheus' are under 1 KiB), and a
 * bigger URL or header block gets 414/431 from libmicrohttpd itself. 64
 * connections and a 10 s idle timeout bound what a flood or a half-sent
 * request can hold; two threads let one slow request (a long history) not
 * hold up a scrape.
 */
#define API_CONN_MEMORY (32 * 1024)
#define API_CONN_LIMIT 64
#define API_CONN_TIMEOUT_S 10
#define API_THREADS 2
#define API_FILE_MAX (1024 * 1024)	/* certificate, key, CA bundle */
#define API_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

#define CT_JSON "application/json"

/*
 * Long polls of /v1/events (wait=MS): a request with nothing new is
 * suspended (libmicrohttpd keeps the connection, no thread waits) until an
 * event is raised or its wait runs out. Few pollers exist (the
 * controllers); beyond API_WAITERS a request is answered at once.
 */
#define API_WAITERS 16
#define API_WAIT_MAX_MS 60000

struct waiter {
	bool used;
	bool resumed;
	struct MHD_Connection *c;
	uint64_t deadline_ms;
};

struct api {
	struct MHD_Daemon *d;
	struct store *st;
	bool verify_client;
	char *cert, *key, *ca;
	char version[64];
	char hostname[256];
	double tick_s;

	pthread_mutex_t wmu;
	pthread_cond_t wcond;		/* the timer thread's: a deadline changed, or stop */
	pthread_t wthread;
	bool wthread_started, wstop;
	struct waiter w[API_WAITERS];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Resume every suspended poll (@all) or those whose wait ran out. Under wmu. */
static void waiters_resume(struct api *a, bool all)
{
	uint64_t now = mono_ms();

	for (int i = 0; i < API_WAITERS; i++) {
		struct waiter *w = &a->w[i];

		if (w->used && !w->resumed && (all || w->deadline_ms <= now)) {
			w->resumed = true;
			MHD_resume_connection(w->c);
		}
	}
}

/* store_event()'s hook: something new for every long poll. */
static void on_event(void *arg)
{
	struct api *a = arg;

	pthread_mutex_lock(&a->wmu);
	waiters_resume(a, true);
	pthread_mutex_unlock(&a->wmu);
}

/* A request ended (answered, or its client went away): free its long-poll slot. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api *a = cls;
	struct waiter *w = *req_cls;

	if (w >= &a->w[0] && w < &a->w[API_WAITERS]) {
		pthread_mutex_lock(&a->wmu);
		w->used = false;
		pthread_mutex_unlock(&a->wmu);
		*req_cls = NULL;
	}
}

/* Ends the long polls whose wait ran out. */
static void *waiter_timer(void *arg)
{
	struct api *a = arg;

	pthread_mutex_lock(&a->wmu);
	while (!a->wstop) {
		uint64_t next = UINT64_MAX;
		struct timespec ts;

		waiters_resume(a, false);
		for (int i = 0; i < API_WAITERS; i++)
			if (a->w[i].used && !a->w[i].resumed && a->w[i].deadline_ms < next)
				next = a->w[i].deadline_ms;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&a->wcond, &a->wmu);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		next -= mono_ms();
		ts.tv_sec += (time_t)(next / 1000);
		ts.tv_nsec += (long)(next % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&a->wcond, &a->wmu, &ts);
	}
	pthread_mutex_unlock(&a->wmu);
	return NULL;
}

/* libmicrohttpd's messages are errors while it starts, debug afterwards (a
 * hostile client must not be able to flood the log). */
static volatile int mhd_starting;

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_msg(mhd_starting ? LOG_LVL_ERR : LOG_LVL_DEBUG, "libmicrohttpd: %s", buf);
}

/* ---- responses ---------------------------------------------------------- */

/* Queue @body (malloc'd, taken over) with @status and @ctype. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *ctype,
			     char *body, size_t len, const char *allow)
{
	static char oom[] = "{\"error\":\"out of memory\"}\n";
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		ctype = CT_JSON;
		r = MHD_create_response_from_buffer(sizeof(oom) - 1, oom, MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A memstream for a body; NULL when out of memory. */
struct body {
	FILE *f;
	char *buf;
	size_t len;
};

static bool body_open(struct body *b)
{
	b->buf = NULL;
	b->len = 0;
	b->f = open_memstream(&b->buf, &b->len);
	return b->f != NULL;
}

/* Close the stream; NULL (and nothing to free) when writing failed. */
static char *body_close(struct body *b)
{
	bool bad = ferror(b->f);

	if (fclose(b->f) || bad) {
		free(b->buf);
		return NULL;
	}
	return b->buf;
}

/* Close the top-level JSON object of @w, end the body with a newline, reply. */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned int status,
				  struct json_writer *w, struct body *b, const char *allow)
{
	char *out;

	json_obj_close(w);
	fputc('\n', b->f);
	out = body_close(b);
	return reply(c, status, CT_JSON, out, b->len, allow);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned int status,
				   const char *allow, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned int status,
				   const char *allow, const char *fmt, ...)
{
	struct json_writer w;
	struct body b;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!body_open(&b))
		return reply(c, status, CT_JSON, NULL, 0, allow);
	json_init(&w, b.f);
	json_obj_open(&w, NULL);
	json_str(&w, "error", msg);
	return reply_json(c, status, &w, &b, allow);
}

static void agent_json(struct json_writer *w, const struct api *a)
{
	json_obj_open(w, "agent");
	json_str(w, "version", a->version);
	json_str(w, "hostname", a->hostname);
	json_u64(w, "started_ms", store_started_ms(a->st));
	json_dbl(w, "tick_s", a->tick_s);
	json_u64(w, "history", store_history_size(a->st));
	json_obj_close(w);
}

/* ---- query strings ------------------------------------------------------ */

struct query {
	void **req_cls;			/* the connection's request state */
	const char *const *allowed;	/* NULL-terminated */
	const char *val[4];		/* by index in allowed */
	char err[256];
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct query *q = cls;
	int i;

	if (q->err[0])
		return MHD_NO;
	for (i = 0; q->allowed[i]; i++)
		if (!strcmp(q->allowed[i], key))
			break;
	if (!q->allowed[i]) {
		snprintf(q->err, sizeof(q->err), "unknown query parameter '%.64s'%s%s%s", key,
			 q->allowed[0] ? " (this path takes: " : " (this path takes none)",
			 q->allowed[0] ? q->allowed[0] : "",
			 q->allowed[0] ? (q->allowed[1] ? ", ...)" : ")") : "");
		return MHD_NO;
	}
	if (q->val[i]) {
		snprintf(q->err, sizeof(q->err), "query parameter '%s' is given twice", key);
		return MHD_NO;
	}
	if (!value || !*value) {
		snprintf(q->err, sizeof(q->err), "query parameter '%s' needs a value", key);
		return MHD_NO;
	}
	q->val[i] = value;
	return MHD_YES;
}

/* ---- endpoints ---------------------------------------------------------- */

static enum MHD_Result ep_health(struct api *a, struct MHD_Connection *c, struct query *q)
{
	int nl = store_nlinks(a->st), n;
	struct health_sample *s = calloc(nl ? nl : 1, sizeof(*s));
	struct json_writer w;
	uint64_t ts = 0;
	struct body b;

	if (!s || !body_open(&b)) {
		free(s);
		return reply(c, 500, CT_JSON, NULL, 0, NULL);
	}
	n = store_latest(a->st, s, &ts);
	json_init(&w, b.f);
	json_obj_open(&w, NULL);
	json_str(&w, "schema", HEALTH_SCHEMA);
	agent_json(&w, a);
	if (n)
		json_u64(&w, "ts_ms", ts);
	else
		json_null(&w, "ts_ms");
	json_arr_open(&w, "links");
	for (int i = 0; i < n; i++)
		health_json(&w, &s[i]);
	json_arr_close(&w);
	free(s);
	return reply_json(c, MHD_HTTP_OK, &w, &b, NULL);
}

static enum MHD_Result ep_history(struct api *a, struct MHD_Connection *c, struct query *q)
{
	struct health_sample *s = NULL;
	uint64_t since = 0;
	struct json_writer w;
	int link = -1;
	struct body b;
	ssize_t n;

	if (q->val[0] && parse_u64(q->val[0], 0, INT64_MAX, &since))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				   "since '%.64s' is not a time in Unix milliseconds (digits only, e.g. since=%llu)",
				   q->val[0], (unsigned long long)store_started_ms(a->st));
	if (q->val[1]) {
		link = store_link_index(a->st, q->val[1]);
		if (link < 0)
			return reply_error(c, MHD_HTTP_NOT_FOUND, NULL,
					   "no interconnect named '%.64s' (see /v1/health for the names)",
					   q->val[1]);
	}
	n = store_history(a->st, since, link, &s);
	if (n < 0 || !body_open(&b)) {
		free(s);
		return reply(c, 500, CT_JSON, NULL, 0, NULL);
	}
	json_init(&w, b.f);
	json_obj_open(&w, NULL);
	json_str(&w, "schema", HEALTH_SCHEMA);
	agent_json(&w, a);
	json_u64(&w, "since", since);
	if (link >= 0)
		json_str(&w, "link", q->val[1]);
	else
		json_null(&w, "link");
	json_arr_open(&w, "samples");
	for (ssize_t i = 0; i < n; i++)
		health_json(&w, &s[i]);
	json_arr_close(&w);
	free(s);
	return reply_json(c, MHD_HTTP_OK, &w, &b, NULL);
}

static enum MHD_Result ep_events(struct api *a, struct MHD_Connection *c, struct query *q)
{
	uint64_t since = 0, after = 0, wait = 0, oldest, last;
	struct waiter *resumed = NULL;
	struct store_event *e = NULL;
	struct json_writer w;
	struct body b;
	ssize_t n;

	/* Back from a long poll: free its slot, answer with what is there. */
	if (*q->req_cls >= (void *)&a->w[0] && *q->req_cls < (void *)&a->w[API_WAITERS]) {
		resumed = *q->req_cls;
		pthread_mutex_lock(&a->wmu);
		resumed->used = false;
		pthread_mutex_unlock(&a->wmu);
		*q->req_cls = NULL; /* the slot is free: on_completed must not free it again */
	}

	if (q->val[0] && parse_u64(q->val[0], 0, INT64_MAX, &since))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				   "since '%.64s' is not a time in Unix milliseconds (digits only)",
				   q->val[0]);
	if (q->val[1] && parse_u64(q->val[1], 0, INT64_MAX, &after))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				   "after '%.64s' is not an event id (digits only; the last id you saw)",
				   q->val[1]);
	if (q->val[2] && parse_u64(q->val[2], 0, API_WAIT_MAX_MS, &wait))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				   "wait '%.64s' is not a time in milliseconds from 0 to %d",
				   q->val[2], API_WAIT_MAX_MS);
	n = store_events(a->st, since, after, &e, &oldest, &last);
	if (n == 0 && wait && !resumed && a->wthread_started) {
		pthread_mutex_lock(&a->wmu);
		/* An event raised since store_events() would not wake us: look again. */
		if (store_last_event_id(a->st) == last) {
			for (int i = 0; i < API_WAITERS; i++) {
				struct waiter *wt = &a->w[i];

				if (wt->used)
					continue;
				*wt = (struct waiter){ .used = true, .c = c,
						       .deadline_ms = mono_ms() + wait };
				*q->req_cls = wt;
				MHD_suspend_connection(c);
				pthread_cond_signal(&a->wcond);
				pthread_mutex_unlock(&a->wmu);
				free(e);
				return MHD_YES;
			}
		}
		pthread_mutex_unlock(&a->wmu);
		if (store_last_event_id(a->st) != last) {
			free(e);
			n = store_events(a->st, since, after, &e, &oldest, &last);
		}
	}
	if (n < 0 || !body_open(&b)) {
		free(e);
		return reply(c, 500, CT_JSON, NULL, 0, NULL);
	}
	json_init(&w, b.f);
	json_obj_open(&w, NULL);
	json_str(&w, "schema", "presage.events/1");
	agent_json(&w, a);
	json_u64(&w, "oldest_id", oldest);
	json_u64(&w, "last_id", last);
	/* Events between the poller's last id and the oldest kept are gone. */
	json_bool(&w, "missed", q->val[1] && oldest && after + 1 < oldest);
	json_arr_open(&w, "events");
	for (ssize_t i = 0; i < n; i++) {
		json_obj_open(&w, NULL);
		json_u64(&w, "id", e[i].id);
		json_u64(&w, "ts_ms", e[i].ts_ms);
		json_str(&w, "kind", e[i].kind);
		if (e[i].link[0])
			json_str(&w, "link", e[i].link);
		else
			json_null(&w, "link");
		json_str(&w, "detail", e[i].detail);
		json_obj_close(&w);
	}
	json_arr_close(&w);
	free(e);
	return reply_json(c, MHD_HTTP_OK, &w, &b, NULL);
}

static enum MHD_Result ep_metrics(struct api *a, struct MHD_Connection *c, struct query *q)
{
	struct store_snapshot *sn = store_snapshot(a->st);
	struct body b;
	char *out;

	if (!sn || !body_open(&b)) {
		store_snapshot_free(sn);
		return reply(c, 500, CT_JSON, NULL, 0, NULL);
	}
	metrics_write(b.f, sn, a->version, a->hostname);
	store_snapshot_free(sn);
	out = body_close(&b);
	return reply(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, out, b.len, NULL);
}

typedef enum MHD_Result (*ep_fn)(struct api *, struct MHD_Connection *, struct query *);

static const char *const no_params[] = { NULL };
static const char *const history_params[] = { "since", "link", NULL };
static const char *const events_params[] = { "since", "after", "wait", NULL };

static const struct route {
	const char *path;
	ep_fn fn;
	const char *const *params;
} routes[] = {
	{ "/v1/health", ep_health, no_params },
	{ "/v1/history", ep_history, history_params },
	{ "/v1/events", ep_events, events_params },
	{ "/metrics", ep_metrics, no_params },
};

/* With tls-client-ca: the client's certificate must verify against it. NULL: fine. */
static const char *client_cert_problem(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t sess;
	unsigned int status = 0;
	gnutls_datum_t txt;
	int rc;

	if (!ci || !ci->tls_session)
		return "no TLS session";
	sess = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_type_get(sess) != GNUTLS_CRT_X509)
		return "the client certificate is not X.509";
	rc = gnutls_certificate_verify_peers2(sess, &status);
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND)
		return "a client certificate is required: present one signed by the agent's tls-client-ca";
	if (rc < 0) {
		snprintf(buf, len, "the client certificate could not be checked: %s",
			 gnutls_strerror(rc));
		return buf;
	}
	if (status) {
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0) ==
		    0) {
			snprintf(buf, len, "the client certificate was rejected: %s", txt.data);
			gnutls_free(txt.data);
		} else {
			snprintf(buf, len, "the client certificate was rejected (status 0x%x)", status);
		}
		return buf;
	}
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct api *a = cls;
	const struct route *rt = NULL;
	struct query q = { 0 };
	char why[512];
	const char *bad;

	static int seen;
	bool first = *req_cls == NULL;

	/* A body (on a method we refuse anyway) is dropped unread. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (first)
		*req_cls = &seen;
	/*
	 * libmicrohttpd closes the connection after a response queued on the
	 * first call (before it knows the request has no body). Good requests
	 * are answered on the second call, so keep-alive works for them; errors
	 * are answered at once and close the connection.
	 */
	if (first && (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)))
		goto answer;
	if (first && (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
		      MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_TRANSFER_ENCODING)))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				   "a %s request has no body: send no Content-Length or Transfer-Encoding",
				   method);
	if (first)
		return MHD_YES;
answer:
	if (a->verify_client && (bad = client_cert_problem(c, why, sizeof(why)))) {
		pr_debug("refused a client: %s", bad);
		return reply_error(c, MHD_HTTP_FORBIDDEN, NULL, "%s", bad);
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(url, routes[i].path))
			rt = &routes[i];
	if (!rt)
		return reply_error(c, MHD_HTTP_NOT_FOUND, NULL,
				   "no such path '%.128s' (paths: /v1/health, /v1/history, /v1/events, /metrics)",
				   url);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
				   "method %.32s is not allowed here: the API is read-only (GET, HEAD)",
				   method);
	q.req_cls = req_cls;
	q.allowed = rt->params;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	if (q.err[0])
		return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL, "%s", q.err);
	return rt->fn(a, c, &q);
}

/* ---- start and stop ----------------------------------------------------- */

static char *read_small_file(const char *what, const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;

	if (!f) {
		pr_err("%s %s: cannot read: %s", what, path, strerror(errno));
		return NULL;
	}
	buf = malloc(API_FILE_MAX + 1);
	if (!buf) {
		pr_err("%s %s: out of memory", what, path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, API_FILE_MAX + 1, f);
	if (ferror(f) || n > API_FILE_MAX || n == 0) {
		pr_err("%s %s: %s", what, path,
		       ferror(f) ? strerror(errno) :
		       n ? "larger than 1 MiB: is it really a PEM file?" : "is empty");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Load the certificate, key and CA as libmicrohttpd will, to name the problem precisely. */
static int tls_load(struct api *a, const struct ihm_config *cfg)
{
	gnutls_certificate_credentials_t cr = NULL;
	gnutls_datum_t dc, dk, da;
	size_t lc, lk, la = 0;
	int rc, ret = -EINVAL;

	a->cert = read_small_file("tls-cert", cfg->tls_cert, &lc);
	a->key = a->cert ? read_small_file("tls-key", cfg->tls_key, &lk) : NULL;
	if (!a->key)
		return -EINVAL;
	if (cfg->tls_client_ca[0] &&
	    !(a->ca = read_small_file("tls-client-ca", cfg->tls_client_ca, &la)))
		return -EINVAL;
	if (gnutls_certificate_allocate_credentials(&cr) < 0) {
		pr_err("TLS: cannot allocate GnuTLS credentials");
		return -ENOMEM;
	}
	dc = (gnutls_datum_t){ (unsigned char *)a->cert, (unsigned int)lc };
	dk = (gnutls_datum_t){ (unsigned char *)a->key, (unsigned int)lk };
	rc = gnutls_certificate_set_x509_key_mem(cr, &dc, &dk, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		pr_err("tls-cert %s with tls-key %s: %s (both must be PEM, the key unencrypted, and the key must belong to the certificate)",
		       cfg->tls_cert, cfg->tls_key, gnutls_strerror(rc));
		goto out;
	}
	if (a->ca) {
		da = (gnutls_datum_t){ (unsigned char *)a->ca, (unsigned int)la };
		rc = gnutls_certificate_set_x509_trust_mem(cr, &da, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			pr_err("tls-client-ca %s: %s", cfg->tls_client_ca,
			       rc < 0 ? gnutls_strerror(rc) : "holds no PEM certificate");
			goto out;
		}
	}
	ret = 0;
out:
	gnutls_certificate_free_credentials(cr);
	return ret;
}

static int bind_listen(const char *listen_s)
{
	char host[64];
	uint16_t port;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, fam;

	if (listen_sockaddr(listen_s, host, sizeof(host), &port, &ss, &sl)) {
		pr_err("listen '%s' is not ADDRESS:PORT or [IPv6]:PORT", listen_s);
		return -EINVAL;
	}
	fam = ss.ss_family;
	fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_err("health API: socket: %s", strerror(errno));
		return -errno;
	}
	/* A restart must not wait for the old connections' TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 128)) {
		int err = -errno;

		if (err == -EADDRINUSE)
			pr_err("health API: cannot listen on %s: the port is already in use by another process (find it with: ss -ltnp 'sport = :%u'); set another 'listen' address in the config, or 'listen off'",
			       listen_s, port);
		else if (err == -EADDRNOTAVAIL)
			pr_err("health API: cannot listen on %s: no interface in this network namespace has address %s; fix 'listen' in the config",
			       listen_s, host);
		else if (err == -EACCES)
			pr_err("health API: cannot listen on %s: ports below 1024 need CAP_NET_BIND_SERVICE; use a higher port",
			       listen_s);
		else
			pr_err("health API: cannot listen on %s: %s", listen_s, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

struct api *api_start(const struct ihm_config *cfg, struct store *st)
{
	struct MHD_OptionItem o[16];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			     MHD_ALLOW_SUSPEND_RESUME;
	struct api *a;
	int fd, k = 0;

	if (!cfg->listen[0]) {
		errno = 0;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		pr_err("health API: out of memory");
		return NULL;
	}
	a->st = st;
	a->tick_s = (double)cfg->tick_ns / 1e9;
	pthread_mutex_init(&a->wmu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&a->wcond, &ca);
		pthread_condattr_destroy(&ca);
	}
	snprintf(a->version, sizeof(a->version), "%s", PRESAGE_VERSION);
	if (gethostname(a->hostname, sizeof(a->hostname) - 1))
		snprintf(a->hostname, sizeof(a->hostname), "unknown");

	/* First, or libmicrohttpd prints its option parsing messages itself. */
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL };
	if (cfg->tls_cert[0]) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			pr_err("health API: tls-cert is set but this libmicrohttpd (%s) was built without HTTPS; install one with GnuTLS or remove tls-cert/tls-key",
			       MHD_get_version());
			goto fail;
		}
		if (tls_load(a, cfg))
			goto fail;
		flags |= MHD_USE_TLS;
		o[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, a->cert };
		o[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, a->key };
		o[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						 (void *)API_TLS_PRIORITIES };
		if (a->ca) {
			/* libmicrohttpd then asks for a client certificate in the
			 * handshake (but does not insist); on_request verifies it. */
			o[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, a->ca };
			a->verify_client = true;
		}
	}
	fd = bind_listen(cfg->listen);
	if (fd < 0)
		goto fail;
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, API_THREADS, NULL };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, API_CONN_LIMIT, NULL };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONN_MEMORY, NULL };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, API_CONN_TIMEOUT_S, NULL };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, a };
	o[k++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	mhd_starting = 1;
	a->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_ARRAY, o,
				MHD_OPTION_END);
	mhd_starting = 0;
	if (!a->d) {
		pr_err("health API: libmicrohttpd could not start on %s (its message is above)",
		       cfg->listen);
		close(fd);
		goto fail;
	}
	if (pthread_create(&a->wthread, NULL, waiter_timer, a) == 0) {
		a->wthread_started = true;
		store_set_event_hook(st, on_event, a);
	} else {
		pr_warn("health API: no long polls of /v1/events (cannot start a thread)");
	}
	pr_info("health API on %s://%s%s", cfg->tls_cert[0] ? "https" : "http", cfg->listen,
		a->verify_client ? " (client certificates required)" : "");
	return a;
fail:
	api_stop(a);
	return NULL;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	if (a->wthread_started) {
		store_set_event_hook(a->st, NULL, NULL);
		pthread_mutex_lock(&a->wmu);
		a->wstop = true;
		/* libmicrohttpd must not be stopped with connections suspended. */
		waiters_resume(a, true);
		pthread_cond_signal(&a->wcond);
		pthread_mutex_unlock(&a->wmu);
		pthread_join(a->wthread, NULL);
	}
	if (a->d)
		MHD_stop_daemon(a->d);
	free(a->cert);
	free(a->key);
	free(a->ca);
	free(a);
}
