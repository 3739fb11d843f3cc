// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's side of the command channel (see mirror/ctl.h): one TLS
 * 1.3 connection per call with the controller's certificate, one command
 * frame out, the answer frames in, close. The agent's side is mirror/run.c.
 *
 * Where the call names the POP it means (a submit's order names its
 * destination, set_primary names @pop), the agent's certificate must name
 * that POP too, so a misconfigured address cannot take a command meant for
 * another POP.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "mirror/agent.h"
#include "mirror/ctl.h"

#define FLAG_TTL_S 60

static const char *const job_names[] = {
	[MIRROR_JOB_UNKNOWN] = "unknown", [MIRROR_JOB_QUEUED] = "queued",
	[MIRROR_JOB_RUNNING] = "running", [MIRROR_JOB_DONE] = "done",
	[MIRROR_JOB_FAILED] = "failed",
};

const char *mirror_job_state_name(enum mirror_job_state s)
{
	return (unsigned)s <= MIRROR_JOB_FAILED ? job_names[s] : "invalid";
}

int mirror_job_state_parse(const char *name)
{
	for (int i = 0; i <= MIRROR_JOB_FAILED; i++)
		if (!strcmp(name, job_names[i]))
			return i;
	return -1;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct ctl_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct mirror_frame_parser fp;
	uint8_t rbuf[16384];
	size_t rlen, roff;
	char peer[64];
	const char *addr;
};

static void ctl_close(struct ctl_conn *cc)
{
	if (cc->ssl) {
		SSL_shutdown(cc->ssl);
		SSL_free(cc->ssl);
	}
	SSL_CTX_free(cc->ctx);
	if (cc->fd >= 0)
		close(cc->fd);
	mirror_frame_parser__free(&cc->fp);
	cc->ssl = NULL;
	cc->ctx = NULL;
	cc->fd = -1;
}

/* Non-blocking connect bounded by @ms, then blocking I/O bounded by @ms. */
static int connect_timeout(const char *addr, int ms, int *fdp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char host[160];
	const char *port;
	int err, one = 1;

	err = mirror_split_addr(addr, host, sizeof(host), &port);
	if (err || !*port)
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EHOSTUNREACH;
	err = -ECONNREFUSED;
	for (a = ai; a; a = a->ai_next) {
		struct pollfd pfd;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		socklen_t sl = sizeof(int);
		int fd, soerr = 0;

		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			continue;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, ms) <= 0) {
			err = -ETIMEDOUT;
			close(fd);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			err = -soerr;
			close(fd);
			continue;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		*fdp = fd;
		err = 0;
		break;
	}
	freeaddrinfo(ai);
	return err;
}

static int ctl_open(const struct mirror_ctl_cfg *c, const char *addr, const char *expect_cn,
		    struct ctl_conn *cc, char *err, size_t errlen)
{
	struct mirror_agent_cfg ac = { .cert = c->cert, .key = c->key, .ca = c->ca };
	int ms = c->timeout_ms > 0 ? c->timeout_ms : 5000, r;

	memset(cc, 0, sizeof(*cc));
	cc->fd = -1;
	cc->addr = addr;
	mirror_frame_parser__init(&cc->fp, MIRROR_FRAME_MAX);
	signal(SIGPIPE, SIG_IGN);
	if (!c->cert || !c->key || !c->ca) {
		seterr(err, errlen, "no controller certificate, key or CA configured");
		return -MIRROR_ECONFIG;
	}
	cc->ctx = mirror_tls_ctx(&ac, false);
	if (!cc->ctx) {
		seterr(err, errlen, "cannot set up TLS with %s, %s, %s", c->cert, c->key, c->ca);
		return -MIRROR_ECONFIG;
	}
	r = connect_timeout(addr, ms, &cc->fd);
	if (r) {
		seterr(err, errlen, "cannot connect to %s: %s", addr, strerror(-r));
		goto fail;
	}
	cc->ssl = SSL_new(cc->ctx);
	if (!cc->ssl) {
		r = -ENOMEM;
		goto fail;
	}
	SSL_set_fd(cc->ssl, cc->fd);
	if (SSL_connect(cc->ssl) != 1) {
		mirror_tls_log_errors(addr);
		seterr(err, errlen, "TLS handshake with %s failed (certificate not from the deployment CA, or timeout)",
		       addr);
		r = -MIRROR_ETLS;
		goto fail;
	}
	r = mirror_tls_peer_name(cc->ssl, cc->peer, sizeof(cc->peer));
	if (!r && expect_cn && strcmp(cc->peer, expect_cn))
		r = -MIRROR_EPEER;
	if (r) {
		seterr(err, errlen, "%s presented a certificate for '%s', not '%s'", addr, cc->peer,
		       expect_cn ? expect_cn : "?");
		goto fail;
	}
	return 0;
fail:
	ctl_close(cc);
	return r;
}

static int ctl_send(struct ctl_conn *cc, uint8_t type, const void *p, size_t len, char *err,
		    size_t errlen)
{
	uint8_t hdr[MIRROR_FRAME_HDR] = { type, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
					  (uint8_t)(len >> 8), (uint8_t)len };

	if (len > MIRROR_FRAME_MAX)
		return -EMSGSIZE;
	if (SSL_write(cc->ssl, hdr, sizeof(hdr)) <= 0 ||
	    (len && SSL_write(cc->ssl, p, (int)len) <= 0)) {
		seterr(err, errlen, "sending to %s failed", cc->addr);
		return -MIRROR_ETLS;
	}
	return 0;
}

/* Next frame; an ERR frame becomes its code, with the agent's message in @err. */
static int ctl_recv(struct ctl_conn *cc, uint8_t *type, const uint8_t **p, size_t *len, char *err,
		    size_t errlen)
{
	for (;;) {
		if (cc->roff < cc->rlen) {
			size_t used = 0;
			int r = mirror_frame_parser__feed(&cc->fp, cc->rbuf + cc->roff,
							  cc->rlen - cc->roff, &used);

			cc->roff += used;
			if (r < 0) {
				seterr(err, errlen, "malformed answer from %s", cc->addr);
				return r;
			}
			if (r == 1)
				break;
			continue;
		}
		{
			int n = SSL_read(cc->ssl, cc->rbuf, sizeof(cc->rbuf));

			if (n <= 0) {
				seterr(err, errlen, "%s closed the connection or timed out before answering",
				       cc->addr);
				return -MIRROR_ETLS;
			}
			cc->rlen = (size_t)n;
			cc->roff = 0;
		}
	}
	*type = cc->fp.type;
	*p = cc->fp.payload;
	*len = cc->fp.len;
	if (*type == MIRROR_F_ERR) {
		char msg[257];
		int code;

		if (mirror_wire_get_err(*p, *len, &code, msg, sizeof(msg))) {
			seterr(err, errlen, "malformed error from %s", cc->addr);
			return -MIRROR_EFRAME;
		}
		seterr(err, errlen, "%s: %s (%s)", cc->addr, mirror_strerror(code), msg);
		return code;
	}
	return 0;
}

/* One command whose answer is a single frame of type @want. */
static int ctl_call(const struct mirror_ctl_cfg *c, const char *addr, const char *expect_cn,
		    uint8_t type, const void *p, size_t len, uint8_t want,
		    int (*decode)(void *arg, const uint8_t *p, size_t len), void *arg, char *err,
		    size_t errlen)
{
	struct ctl_conn cc;
	const uint8_t *rp;
	size_t rl;
	uint8_t t;
	int r;

	r = ctl_open(c, addr, expect_cn, &cc, err, errlen);
	if (r)
		return r;
	r = ctl_send(&cc, type, p, len, err, errlen);
	if (!r)
		r = ctl_recv(&cc, &t, &rp, &rl, err, errlen);
	if (!r && t != want) {
		seterr(err, errlen, "unexpected answer (frame type %u) from %s", t, addr);
		r = -MIRROR_EPROTO;
	}
	if (!r) {
		r = decode(arg, rp, rl);
		if (r)
			seterr(err, errlen, "malformed answer from %s: %s", addr,
			       mirror_strerror(r));
	}
	ctl_close(&cc);
	return r;
}

static int decode_job(void *arg, const uint8_t *p, size_t len)
{
	return mirror_wire_get_job(p, len, arg);
}

int mirror_ctl_submit(const struct mirror_ctl_cfg *c, const char *addr, const char *order,
		      size_t order_len, struct mirror_job_status *st, char *err, size_t errlen)
{
	struct mirror_order o;
	size_t signed_len;
	uint8_t sig[64];
	int r;

	/* Parsed (not verified: the agent does that) to learn its destination. */
	r = mirror_order__parse(&o, order, order_len, &signed_len, sig);
	if (r) {
		seterr(err, errlen, "not a signed order: %s", mirror_strerror(r));
		return r;
	}
	r = ctl_call(c, addr, o.destination, MIRROR_F_SUBMIT, order, order_len, MIRROR_F_JOB,
		     decode_job, st, err, errlen);
	mirror_order__free(&o);
	return r;
}

int mirror_ctl_status(const struct mirror_ctl_cfg *c, const char *addr, const char *order_id,
		      struct mirror_job_status *st, char *err, size_t errlen)
{
	size_t l = order_id ? strlen(order_id) : 0;

	if (l == 0 || l > 64) {
		seterr(err, errlen, "bad order id (1 to 64 characters)");
		return -EINVAL;
	}
	return ctl_call(c, addr, NULL, MIRROR_F_STATUS, order_id, l, MIRROR_F_JOB, decode_job, st,
			err, errlen);
}

static int decode_primary(void *arg, const uint8_t *p, size_t len)
{
	if (len != 1 || p[0] > MIRROR_RESYNC_PENDING)
		return -MIRROR_EFRAME;
	*(enum mirror_primary *)arg = (enum mirror_primary)p[0];
	return 0;
}

int mirror_ctl_send_primary(const struct mirror_ctl_cfg *c, const char *addr, const char *cmd,
			    size_t cmd_len, enum mirror_primary *now, char *err, size_t errlen)
{
	enum mirror_primary st;
	const char *pop = NULL;
	char popbuf[64];
	const char *l = memmem(cmd, cmd_len, "\npop ", 5);
	int r;

	/* The agent's certificate must name the POP the command is for. */
	if (l) {
		const char *v = l + 5, *nl = memchr(v, '\n', cmd_len - (size_t)(v - cmd));

		if (nl && (size_t)(nl - v) < sizeof(popbuf)) {
			memcpy(popbuf, v, (size_t)(nl - v));
			popbuf[nl - v] = '\0';
			pop = popbuf;
		}
	}
	r = ctl_call(c, addr, pop, MIRROR_F_PRIMARY, cmd, cmd_len, MIRROR_F_PRIMARY_STATE,
		     decode_primary, &st, err, errlen);
	if (!r && now)
		*now = st;
	return r;
}

int mirror_ctl_set_primary(const struct mirror_ctl_cfg *c, const char *addr, const char *pop,
			   const char *host, bool primary, enum mirror_primary *now, char *err,
			   size_t errlen)
{
	struct mirror_flagcmd fc = { .primary = primary, .expires = time(NULL) + FLAG_TTL_S };
	char *text;
	size_t len;
	int r;

	if (!c->order_key) {
		seterr(err, errlen, "no order key configured to sign the flag command");
		return -MIRROR_ECONFIG;
	}
	if (!pop || snprintf(fc.pop, sizeof(fc.pop), "%s", pop) >= (int)sizeof(fc.pop) ||
	    !host || snprintf(fc.host, sizeof(fc.host), "%s", host) >= (int)sizeof(fc.host) ||
	    mirror_host_check(fc.host)) {
		seterr(err, errlen, "bad pop or host name");
		return -EINVAL;
	}
	r = mirror_flagcmd__sign(&fc, c->order_key, &text, &len);
	if (r) {
		seterr(err, errlen, "cannot sign with %s: %s", c->order_key, mirror_strerror(r));
		return r;
	}
	r = mirror_ctl_send_primary(c, addr, text, len, now, err, errlen);
	free(text);
	return r;
}

int mirror_ctl_hot(const struct mirror_ctl_cfg *c, const char *addr, const char *host, size_t n,
		   struct mirror_hot_item **items, size_t *nitems, char *err, size_t errlen)
{
	struct mirror_hot_item *v = NULL;
	size_t nv = 0, cap = 0, rl;
	struct ctl_conn cc;
	const uint8_t *rp;
	uint8_t req[4 + MIRROR_HOST_MAX], t;
	int r;

	*items = NULL;
	*nitems = 0;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	r = mirror_wire_put_hotreq(req, sizeof(req), (uint32_t)n, host, &rl);
	if (r) {
		seterr(err, errlen, "bad host name '%s'", host);
		return r;
	}
	r = ctl_open(c, addr, NULL, &cc, err, errlen);
	if (r)
		return r;
	r = ctl_send(&cc, MIRROR_F_HOT, req, rl, err, errlen);
	while (!r) {
		size_t off = 0;

		r = ctl_recv(&cc, &t, &rp, &rl, err, errlen);
		if (r || t == MIRROR_F_HOT_END)
			break;
		if (t != MIRROR_F_HOT_ITEMS) {
			seterr(err, errlen, "unexpected answer (frame type %u) from %s", t, addr);
			r = -MIRROR_EPROTO;
			break;
		}
		while (off < rl) {
			if (nv == cap) {
				struct mirror_hot_item *nvp;

				cap = cap ? cap * 2 : 16;
				nvp = realloc(v, cap * sizeof(*v));
				if (!nvp) {
					r = -ENOMEM;
					break;
				}
				v = nvp;
			}
			r = mirror_wire_get_hot(rp, rl, &off, &v[nv]);
			if (r) {
				seterr(err, errlen, "malformed hot item from %s", addr);
				break;
			}
			nv++;
		}
		/* The agent never sends more than asked for. */
		if (!r && nv > n) {
			seterr(err, errlen, "%s sent %zu hot items, %zu asked for", addr, nv, n);
			r = -MIRROR_EPROTO;
		}
	}
	ctl_close(&cc);
	if (r) {
		free(v);
		return r;
	}
	*items = v;
	*nitems = nv;
	return 0;
}

int mirror_ctl_manifest(const struct mirror_ctl_cfg *c, const char *addr, const char *host,
			struct mirror_manifest *out, char *err, size_t errlen)
{
	struct ctl_conn cc;
	const uint8_t *rp;
	size_t rl, hl = host ? strlen(host) : 0;
	uint8_t t;
	int r;

	memset(out, 0, sizeof(*out));
	if (!hl || mirror_host_check(host)) {
		seterr(err, errlen, "bad host name '%s'", host ? host : "");
		return -MIRROR_EPATH;
	}
	r = ctl_open(c, addr, NULL, &cc, err, errlen);
	if (r)
		return r;
	r = ctl_send(&cc, MIRROR_F_HOSTMAN, host, hl, err, errlen);
	while (!r) {
		size_t off = 0;

		r = ctl_recv(&cc, &t, &rp, &rl, err, errlen);
		if (r || t == MIRROR_F_MANIFEST_END)
			break;
		if (t != MIRROR_F_MANIFEST) {
			seterr(err, errlen, "unexpected answer (frame type %u) from %s", t, addr);
			r = -MIRROR_EPROTO;
			break;
		}
		while (!r && off < rl) {
			struct mirror_entry e;

			r = mirror_wire_get_entry(rp, rl, &off, &e);
			if (r) {
				seterr(err, errlen, "malformed manifest entry from %s", addr);
				break;
			}
			/* Only the host asked for. */
			if (strncmp(e.path, host, hl) || e.path[hl] != '/') {
				seterr(err, errlen, "%s sent %s, not of host %s", addr, e.path, host);
				r = -MIRROR_EPROTO;
			} else {
				r = mirror_manifest__add(out, &e);
			}
			free(e.path);
		}
	}
	ctl_close(&cc);
	if (r)
		mirror_manifest__clear(out);
	else
		mirror_manifest__sort(out);
	return r;
}
