// SPDX-License-Identifier: GPL-2.0-only
/*
 * Agent to agent transfer. The destination pulls:
 *
 *   dst                                  src
 *   HELLO(manifest, signed order) ---->  verify order, peer CN == destination
 *                                 <----  MANIFEST ... MANIFEST_END (items in scope)
 *   per item that differs:
 *   GET(delta) SIG ... SIG_END    ---->  load signature, delta against it
 *                                 <----  DATA ... DATA_END(size, sha256)
 *   GET(whole)                    ---->  (no basis at the destination)
 *                                 <----  DATA ... DATA_END
 *   BYE
 *
 * Extra connections (parallel items) send HELLO without the manifest flag
 * and get OK. Each item is written to a temporary file in the store's
 * private tmp directory, checked against the manifest's SHA-256, fsynced and
 * renamed into place, then its directory is fsynced: the content server
 * sees the old file or the new one, never a part. Items already identical
 * are skipped by checksum, so a transfer cut anywhere resumes by running
 * the same order again.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "log.h"
#include "mirror/agent.h"

#define RBUF 65536
#define WBUF (256 * 1024)
#define CHUNK (64 * 1024)
#define IO_TIMEOUT_S 60

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- bandwidth: one token bucket shared by a transfer's connections -------- */

struct bucket {
	pthread_mutex_t lock;
	double rate;	/* bytes/s, 0 = unlimited */
	double tokens;
	double last;
};

static void bucket_take(struct bucket *b, size_t n)
{
	double wait;

	if (!b || b->rate <= 0)
		return;
	pthread_mutex_lock(&b->lock);
	{
		double t = now_s();

		b->tokens += (t - b->last) * b->rate;
		/* At most 100 ms of burst, so the limit holds over short spans. */
		if (b->tokens > b->rate / 10)
			b->tokens = b->rate / 10;
		b->last = t;
		b->tokens -= (double)n;
		wait = b->tokens < 0 ? -b->tokens / b->rate : 0;
	}
	pthread_mutex_unlock(&b->lock);
	if (wait > 0) {
		struct timespec ts = { (time_t)wait, (long)((wait - floor(wait)) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

/* ---- framed connection ------------------------------------------------------ */

struct conn {
	int fd;
	SSL *ssl;
	struct mirror_frame_parser fp;
	uint8_t rbuf[RBUF];
	size_t rlen, roff;
	uint8_t *wbuf;
	size_t wlen;
	struct bucket *bucket;
	char peer[64];
	uint64_t rx, tx;	/* content of frames, for progress */
};

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	mirror_frame_parser__free(&c->fp);
	free(c->wbuf);
	free(c);
}

static struct conn *conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1;

	if (!c)
		return NULL;
	c->fd = fd;
	c->wbuf = malloc(WBUF);
	if (!c->wbuf) {
		free(c);
		return NULL;
	}
	mirror_frame_parser__init(&c->fp, MIRROR_FRAME_MAX);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

static int conn_flush(struct conn *c)
{
	size_t off = 0;

	while (off < c->wlen) {
		int n = SSL_write(c->ssl, c->wbuf + off, (int)(c->wlen - off));

		if (n <= 0) {
			mirror_tls_log_errors("write");
			return -MIRROR_ETLS;
		}
		off += (size_t)n;
	}
	c->wlen = 0;
	return 0;
}

static int conn_send(struct conn *c, uint8_t type, const void *p, size_t len)
{
	int err;

	if (len > MIRROR_FRAME_MAX)
		return -EMSGSIZE;
	if (c->wlen + MIRROR_FRAME_HDR + len > WBUF) {
		err = conn_flush(c);
		if (err)
			return err;
	}
	if (MIRROR_FRAME_HDR + len > WBUF) {
		uint8_t hdr[MIRROR_FRAME_HDR] = { type, len >> 24, len >> 16, len >> 8, len };

		if (SSL_write(c->ssl, hdr, sizeof(hdr)) <= 0 ||
		    (len && SSL_write(c->ssl, p, (int)len) <= 0))
			return -MIRROR_ETLS;
		return 0;
	}
	c->wbuf[c->wlen++] = type;
	c->wbuf[c->wlen++] = (uint8_t)(len >> 24);
	c->wbuf[c->wlen++] = (uint8_t)(len >> 16);
	c->wbuf[c->wlen++] = (uint8_t)(len >> 8);
	c->wbuf[c->wlen++] = (uint8_t)len;
	if (len)
		memcpy(c->wbuf + c->wlen, p, len);
	c->wlen += len;
	c->tx += len;
	return 0;
}

static int conn_send_err(struct conn *c, int err, const char *msg)
{
	uint8_t buf[258];
	size_t ml = strlen(msg) > 256 ? 256 : strlen(msg);
	uint16_t code = mirror_err_to_wire(err);

	buf[0] = (uint8_t)(code >> 8);
	buf[1] = (uint8_t)code;
	memcpy(buf + 2, msg, ml);
	if (conn_send(c, MIRROR_F_ERR, buf, ml + 2))
		return -MIRROR_ETLS;
	return conn_flush(c);
}

/* Next frame; its payload stays valid until the next call. */
static int conn_recv(struct conn *c, uint8_t *type, const uint8_t **payload, size_t *len)
{
	int err;

	err = conn_flush(c);
	if (err)
		return err;
	for (;;) {
		if (c->roff < c->rlen) {
			size_t used = 0;
			int r = mirror_frame_parser__feed(&c->fp, c->rbuf + c->roff,
							  c->rlen - c->roff, &used);

			c->roff += used;
			if (r < 0)
				return r;
			if (r == 1) {
				*type = c->fp.type;
				*payload = c->fp.payload;
				*len = c->fp.len;
				c->rx += c->fp.len;
				return 0;
			}
		}
		{
			int n = SSL_read(c->ssl, c->rbuf, sizeof(c->rbuf));

			if (n <= 0) {
				int e = SSL_get_error(c->ssl, n);

				if (e == SSL_ERROR_ZERO_RETURN)
					return -ECONNRESET;
				mirror_tls_log_errors("read");
				return -MIRROR_ETLS;
			}
			c->rlen = (size_t)n;
			c->roff = 0;
			bucket_take(c->bucket, (size_t)n);
		}
	}
}

/* An ERR frame from the peer becomes its error code. */
static int peer_err(struct conn *c, const uint8_t *p, size_t len)
{
	char msg[257];
	int err;

	if (mirror_wire_get_err(p, len, &err, msg, sizeof(msg)))
		return -MIRROR_EFRAME;
	pr_warn("mirror: %s says: %s (%s)\n", c->peer, msg, mirror_strerror(err));
	return err;
}

static uint64_t conn_wire(struct conn *c, bool rx)
{
	BIO *b = rx ? SSL_get_rbio(c->ssl) : SSL_get_wbio(c->ssl);

	return b ? (rx ? BIO_number_read(b) : BIO_number_written(b)) : 0;
}

/* ---- source side ---------------------------------------------------------- */

struct server {
	const struct mirror_agent_cfg *cfg;
	SSL_CTX *ctx;
	struct mirror_store *store;
	pthread_mutex_t refresh_lock;
	atomic_int active;
	const char *fault;	/* test hook: PRESAGE_MIRROR_FAULT */
	const struct mirror_cmd_hook *hook;	/* run: the command channel */
};

struct sconn {
	struct server *srv;
	struct conn *c;
	char addr[64];
};

static int data_sink(void *arg, const uint8_t *buf, size_t len)
{
	struct sconn *sc = arg;
	const char *f = sc->srv->fault;

	while (len) {
		size_t n = len > CHUNK ? CHUNK : len;
		int err;

		if (f && !strcmp(f, "flip") && n > 0) {
			/* Test hook: one flipped bit in every chunk sent. */
			uint8_t tmp[CHUNK];

			memcpy(tmp, buf, n);
			tmp[n / 2] ^= 0x10;
			err = conn_send(sc->c, MIRROR_F_DATA, tmp, n);
		} else {
			err = conn_send(sc->c, MIRROR_F_DATA, buf, n);
		}
		if (err)
			return err;
		buf += n;
		len -= n;
	}
	return 0;
}

static int send_data_end(struct conn *c, uint64_t size, const uint8_t sha[32])
{
	uint8_t p[40];

	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(size >> (56 - 8 * i));
	memcpy(p + 8, sha, 32);
	return conn_send(c, MIRROR_F_DATA_END, p, sizeof(p));
}

static int serve_whole(struct sconn *sc, int fd)
{
	static __thread uint8_t buf[CHUNK];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t off = 0;
	uint8_t sha[32];
	int err = 0;

	if (!md)
		return -ENOMEM;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += (uint64_t)n;
		err = data_sink(sc, buf, (size_t)n);
		if (err)
			break;
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	return err ? err : send_data_end(sc->c, off, sha);
}

static int serve_get(struct sconn *sc, const struct mirror_order *o, const uint8_t *p, size_t len)
{
	char path[MIRROR_PATH_MAX + 1];
	struct mirror_sigload *sl = NULL;
	uint8_t mode, sha[32];
	int fd = -1, err, item_err = 0;
	uint64_t size;

	err = mirror_wire_get_get(p, len, &mode, path, sizeof(path));
	if (err)
		return err;
	if (!mirror_order__covers(o, path))
		item_err = -MIRROR_EWRONGPOP;
	else
		item_err = mirror_store__open_item(sc->srv->store, path, &fd);
	if (mode == MIRROR_GET_DELTA) {
		struct rs_signature *sig;

		sl = mirror_sigload__new();
		if (!sl) {
			err = -ENOMEM;
			goto out;
		}
		/* Read the whole signature even if the item failed, so the
		 * stream stays in step for the next GET. */
		for (;;) {
			uint8_t t;
			const uint8_t *fp;
			size_t fl;

			err = conn_recv(sc->c, &t, &fp, &fl);
			if (err)
				goto out;
			if (t == MIRROR_F_SIG_END)
				break;
			if (t != MIRROR_F_SIG) {
				err = -MIRROR_EPROTO;
				goto out;
			}
			if (!item_err)
				item_err = mirror_sigload__feed(sl, fp, fl);
		}
		if (!item_err)
			item_err = mirror_sigload__finish(sl, &sig);
		if (!item_err) {
			err = mirror_delta_stream(sig, fd, data_sink, sc, sha, &size);
			if (err == -MIRROR_ETLS)
				goto out;
			item_err = err;
			if (!err)
				err = send_data_end(sc->c, size, sha);
			goto out_item;
		}
	} else if (!item_err) {
		err = serve_whole(sc, fd);
		if (err == -MIRROR_ETLS)
			goto out;
		item_err = err;
	}
out_item:
	if (item_err) {
		pr_warn("mirror: %s: item %s: %s\n", sc->addr, path, mirror_strerror(item_err));
		err = conn_send_err(sc->c, item_err, "item not served");
	}
out:
	mirror_sigload__free(sl);
	if (fd >= 0)
		close(fd);
	return err;
}

static int send_manifest(struct sconn *sc, const struct mirror_order *o)
{
	struct server *srv = sc->srv;
	struct mirror_manifest m;
	uint8_t *buf;
	size_t len = 0;
	int err;

	/* One rescan at a time; concurrent HELLOs share its result. */
	pthread_mutex_lock(&srv->refresh_lock);
	err = mirror_store__refresh(srv->store, NULL);
	pthread_mutex_unlock(&srv->refresh_lock);
	if (err)
		return err;
	err = mirror_store__snapshot(srv->store, &m);
	if (err)
		return err;
	buf = malloc(CHUNK + MIRROR_PATH_MAX + 64);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m.n && !err; i++) {
		size_t n;

		if (!mirror_order__covers(o, m.v[i].path))
			continue;
		err = mirror_wire_put_entry(buf + len, MIRROR_PATH_MAX + 64, &m.v[i], &n);
		if (err)
			break;
		len += n;
		if (len >= CHUNK) {
			err = conn_send(sc->c, MIRROR_F_MANIFEST, buf, len);
			len = 0;
		}
	}
	if (!err && len)
		err = conn_send(sc->c, MIRROR_F_MANIFEST, buf, len);
	if (!err)
		err = conn_send(sc->c, MIRROR_F_MANIFEST_END, NULL, 0);
out:
	free(buf);
	mirror_manifest__clear(&m);
	return err;
}

int mirror_reply__frame(struct mirror_reply *r, uint8_t type, const void *p, size_t len)
{
	if (len > MIRROR_FRAME_MAX)
		return -EMSGSIZE;
	if (r->len + MIRROR_FRAME_HDR + len > r->cap) {
		size_t nc = r->cap ? r->cap : 4096;
		uint8_t *nb;

		while (nc < r->len + MIRROR_FRAME_HDR + len)
			nc *= 2;
		nb = realloc(r->buf, nc);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = nc;
	}
	r->buf[r->len++] = type;
	r->buf[r->len++] = (uint8_t)(len >> 24);
	r->buf[r->len++] = (uint8_t)(len >> 16);
	r->buf[r->len++] = (uint8_t)(len >> 8);
	r->buf[r->len++] = (uint8_t)len;
	if (len)
		memcpy(r->buf + r->len, p, len);
	r->len += len;
	return 0;
}

/* A command frame (run): only from the controller's certificate. */
static void serve_cmd(struct sconn *sc, uint8_t t, const uint8_t *p, size_t len)
{
	const struct mirror_cmd_hook *h = sc->srv->hook;
	struct mirror_reply r = { 0 };
	char msg[256] = "";
	int err;

	if (!h) {
		pr_warn("mirror: %s (%s): command frame %u, but this agent takes no commands (serve, not run): refused\n",
			sc->addr, sc->c->peer, t);
		conn_send_err(sc->c, -MIRROR_EPROTO, "no command channel here");
		return;
	}
	if (strcmp(sc->c->peer, h->controller_cn)) {
		pr_warn("mirror: command %u from %s refused: its certificate names '%s', not the controller '%s'\n",
			t, sc->addr, sc->c->peer, h->controller_cn);
		conn_send_err(sc->c, -MIRROR_EPEER, "commands are taken from the controller only");
		return;
	}
	err = h->fn(h->arg, t, p, len, &r, msg, sizeof(msg));
	if (err) {
		pr_warn("mirror: command %u from %s (%s) refused: %s (%s)\n", t, sc->addr,
			sc->c->peer, mirror_strerror(err), msg);
		conn_send_err(sc->c, err, msg[0] ? msg : mirror_strerror(err));
	} else if (!conn_flush(sc->c)) {
		for (size_t off = 0; off < r.len;) {
			int n = SSL_write(sc->c->ssl, r.buf + off,
					  (int)(r.len - off > (1u << 30) ? (1u << 30) : r.len - off));

			if (n <= 0) {
				mirror_tls_log_errors("write");
				break;
			}
			off += (size_t)n;
		}
	}
	free(r.buf);
}

static void *serve_conn(void *arg)
{
	struct sconn *sc = arg;
	struct server *srv = sc->srv;
	struct mirror_order o = { 0 };
	const uint8_t *p;
	size_t len;
	uint8_t t;
	int err;

	if (SSL_accept(sc->c->ssl) != 1) {
		pr_warn("mirror: TLS handshake with %s failed: refused\n", sc->addr);
		mirror_tls_log_errors(sc->addr);
		goto out;
	}
	err = mirror_tls_peer_name(sc->c->ssl, sc->c->peer, sizeof(sc->c->peer));
	if (err) {
		pr_warn("mirror: %s: no usable peer certificate: refused\n", sc->addr);
		goto out;
	}
	err = conn_recv(sc->c, &t, &p, &len);
	if (!err && t >= MIRROR_F_SUBMIT && t < MIRROR_F_TYPE_MAX) {
		serve_cmd(sc, t, p, len);
		goto out;
	}
	if (err || t != MIRROR_F_HELLO || len < 1) {
		pr_warn("mirror: %s (%s): no HELLO: refused\n", sc->addr, sc->c->peer);
		goto out;
	}
	err = mirror_order__verify(&o, (const char *)p + 1, len - 1, srv->cfg->order_pub,
				   time(NULL));
	if (!err && strcmp(o.source, srv->cfg->pop))
		err = -MIRROR_EWRONGPOP;
	if (!err && strcmp(o.destination, sc->c->peer))
		err = -MIRROR_EPEER;
	if (err) {
		pr_warn("mirror: order from %s (%s) refused: %s\n", sc->addr, sc->c->peer,
			mirror_strerror(err));
		conn_send_err(sc->c, err, "order refused");
		goto out;
	}
	pr_info("mirror: order %s accepted from %s (%s)\n", o.id, sc->addr, sc->c->peer);
	if (p[0] & MIRROR_HELLO_MANIFEST)
		err = send_manifest(sc, &o);
	else
		err = conn_send(sc->c, MIRROR_F_OK, NULL, 0);
	while (!err) {
		err = conn_recv(sc->c, &t, &p, &len);
		if (err)
			break;
		if (t == MIRROR_F_BYE)
			break;
		if (t != MIRROR_F_GET) {
			err = -MIRROR_EPROTO;
			break;
		}
		err = serve_get(sc, &o, p, len);
	}
	if (err && err != -ECONNRESET) {
		pr_warn("mirror: %s (%s): %s\n", sc->addr, sc->c->peer, mirror_strerror(err));
		if (err != -MIRROR_ETLS)
			conn_send_err(sc->c, err, "session ended");
	}
out:
	mirror_order__free(&o);
	conn_free(sc->c);
	atomic_fetch_sub(&srv->active, 1);
	free(sc);
	return NULL;
}

int mirror_split_addr(const char *s, char *host, size_t cap, const char **port)
{
	char *colon;

	if (!s || snprintf(host, cap, "%s", s) >= (int)cap)
		return -EINVAL;
	colon = strrchr(host, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	*port = colon + 1;
	if (host[0] == '[') {
		size_t l = strlen(host);

		if (l < 2 || host[l - 1] != ']')
			return -EINVAL;
		host[l - 1] = '\0';
		memmove(host, host + 1, l - 1);
	}
	return 0;
}

static int parse_addr(const char *s, struct addrinfo **res, bool passive)
{
	char host[128];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0 };
	int r;

	if (mirror_split_addr(s, host, sizeof(host), &port))
		return -EINVAL;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	return r ? -EHOSTUNREACH : 0;
}

int mirror_serve(const struct mirror_agent_cfg *cfg, volatile sig_atomic_t *stop)
{
	return mirror_serve_cmd(cfg, stop, NULL);
}

int mirror_serve_cmd(const struct mirror_agent_cfg *cfg, volatile sig_atomic_t *stop,
		     const struct mirror_cmd_hook *hook)
{
	struct server srv = { .cfg = cfg, .hook = hook };
	struct addrinfo *ai = NULL;
	int lfd = -1, err, one = 1;

	signal(SIGPIPE, SIG_IGN);
	mirror_delta_log_init();
	pthread_mutex_init(&srv.refresh_lock, NULL);
	srv.fault = getenv("PRESAGE_MIRROR_FAULT");
	srv.ctx = mirror_tls_ctx(cfg, true);
	if (!srv.ctx)
		return -MIRROR_ETLS;
	srv.store = mirror_store__open(cfg->root, false, &err);
	if (!srv.store)
		goto out;
	err = mirror_store__refresh(srv.store, NULL);
	if (err)
		goto out;
	err = parse_addr(cfg->listen, &ai, true);
	if (err) {
		pr_err("mirror: bad listen address %s (want host:port)\n", cfg->listen);
		goto out;
	}
	lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(lfd, 64) < 0) {
		err = -errno;
		pr_err("mirror: cannot listen on %s: %s\n", cfg->listen, strerror(-err));
		goto out;
	}
	pr_info("mirror: %s serving %s on %s\n", cfg->pop, cfg->root, cfg->listen);
	while (!*stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sconn *sc;
		pthread_t th;
		int fd;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* Bounded: a flood of connections must not exhaust threads. */
		if (atomic_load(&srv.active) >= 64) {
			close(fd);
			continue;
		}
		sc = calloc(1, sizeof(*sc));
		if (!sc || !(sc->c = conn_new(fd))) {
			free(sc);
			close(fd);
			continue;
		}
		sc->srv = &srv;
		getnameinfo((struct sockaddr *)&ss, sl, sc->addr, sizeof(sc->addr), NULL, 0,
			    NI_NUMERICHOST);
		sc->c->ssl = SSL_new(srv.ctx);
		if (!sc->c->ssl) {
			conn_free(sc->c);
			free(sc);
			continue;
		}
		SSL_set_fd(sc->c->ssl, fd);
		atomic_fetch_add(&srv.active, 1);
		if (pthread_create(&th, NULL, serve_conn, sc)) {
			atomic_fetch_sub(&srv.active, 1);
			conn_free(sc->c);
			free(sc);
			continue;
		}
		pthread_detach(th);
	}
	/* Let sessions in flight finish their frame before tearing down. */
	for (int i = 0; i < 50 && atomic_load(&srv.active) > 0; i++)
		usleep(100000);
	err = 0;
out:
	if (lfd >= 0)
		close(lfd);
	if (ai)
		freeaddrinfo(ai);
	if (atomic_load(&srv.active) == 0) {
		mirror_store__close(srv.store);
		SSL_CTX_free(srv.ctx);
	}
	return err;
}

/* ---- destination side ------------------------------------------------------- */

struct work {
	struct mirror_entry e;	/* source's manifest entry */
	bool have_basis;
};

struct puller {
	const struct mirror_agent_cfg *cfg;
	struct mirror_order order;
	SSL_CTX *ctx;
	struct mirror_store *store;
	struct bucket bucket;
	struct work *work;
	size_t nwork;
	atomic_size_t next;
	atomic_uint_least64_t items_done, items_failed, bytes_done, wire_rx, wire_tx;
	atomic_int workers_alive;
	int first_err;
	pthread_mutex_t lock;
};

static int pull_connect(struct puller *pl, struct conn **out)
{
	struct addrinfo *ai = NULL, *a;
	struct conn *c = NULL;
	int fd = -1, err;

	err = parse_addr(pl->order.source_addr, &ai, false);
	if (err) {
		pr_err("mirror: cannot resolve source %s\n", pl->order.source_addr);
		return err;
	}
	err = -ECONNREFUSED;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		pr_err("mirror: cannot connect to %s: %s\n", pl->order.source_addr,
		       mirror_strerror(err));
		return err;
	}
	c = conn_new(fd);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->bucket = &pl->bucket;
	c->ssl = SSL_new(pl->ctx);
	if (!c->ssl) {
		err = -ENOMEM;
		goto fail;
	}
	SSL_set_fd(c->ssl, fd);
	if (SSL_connect(c->ssl) != 1) {
		pr_err("mirror: TLS handshake with %s failed\n", pl->order.source_addr);
		mirror_tls_log_errors(pl->order.source_addr);
		err = -MIRROR_ETLS;
		goto fail;
	}
	err = mirror_tls_peer_name(c->ssl, c->peer, sizeof(c->peer));
	if (!err && strcmp(c->peer, pl->order.source))
		err = -MIRROR_EPEER;
	if (err) {
		pr_err("mirror: %s presented a certificate for '%s', not the order's source '%s': refused\n",
		       pl->order.source_addr, c->peer, pl->order.source);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	conn_free(c);
	return err;
}

static int pull_hello(struct puller *pl, struct conn *c, bool manifest)
{
	uint8_t *buf = malloc(pl->order.text_len + 1);
	int err;

	if (!buf)
		return -ENOMEM;
	buf[0] = manifest ? MIRROR_HELLO_MANIFEST : 0;
	memcpy(buf + 1, pl->order.text, pl->order.text_len);
	err = conn_send(c, MIRROR_F_HELLO, buf, pl->order.text_len + 1);
	free(buf);
	return err;
}

static int sig_sink(void *arg, const uint8_t *buf, size_t len)
{
	struct conn *c = arg;

	while (len) {
		size_t n = len > CHUNK ? CHUNK : len;
		int err = conn_send(c, MIRROR_F_SIG, buf, n);

		if (err)
			return err;
		buf += n;
		len -= n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One item over @c. Returns 0 when installed; an item-level error (digest,
 * delta, refused by the source) with the connection still usable; or a
 * connection error (-MIRROR_ETLS, -ECONNRESET, -MIRROR_EFRAME).
 */
static int pull_item(struct puller *pl, struct conn *c, const struct mirror_entry *e, bool delta,
		     bool *conn_ok)
{
	uint8_t get[3 + MIRROR_PATH_MAX], sha[32], *rsha = NULL;
	size_t pl_len = strlen(e->path);
	struct mirror_patch *patch = NULL;
	EVP_MD_CTX *md = NULL;
	uint64_t size = 0, rsize = 0, counted = 0;
	int basis = -1, tmp = -1, err, item_err = 0;
	char tmpname[64] = "";

	*conn_ok = false;
	if (delta && mirror_store__open_item(pl->store, e->path, &basis))
		delta = false;
	err = mirror_store__tmp_create(pl->store, &tmp, tmpname);
	if (err)
		goto out;
	get[0] = delta ? MIRROR_GET_DELTA : MIRROR_GET_WHOLE;
	get[1] = (uint8_t)(pl_len >> 8);
	get[2] = (uint8_t)pl_len;
	memcpy(get + 3, e->path, pl_len);
	err = conn_send(c, MIRROR_F_GET, get, pl_len + 3);
	if (err)
		goto out;
	if (delta) {
		err = mirror_sig_stream(basis, sig_sink, c);
		if (err)
			goto out;
		err = conn_send(c, MIRROR_F_SIG_END, NULL, 0);
		if (err)
			goto out;
		patch = mirror_patch__new(basis, tmp);
		if (!patch) {
			err = -ENOMEM;
			goto out;
		}
	} else {
		md = EVP_MD_CTX_new();
		if (!md) {
			err = -ENOMEM;
			goto out;
		}
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	}
	for (;;) {
		const uint8_t *p;
		size_t len;
		uint8_t t;

		err = conn_recv(c, &t, &p, &len);
		if (err)
			goto out;
		if (t == MIRROR_F_DATA) {
			/* Keep reading after an item error so the stream stays in step. */
			if (item_err)
				continue;
			if (patch) {
				/* Counted when installed: delta bytes are not content. */
				item_err = mirror_patch__feed(patch, p, len);
			} else {
				EVP_DigestUpdate(md, p, len);
				item_err = write_all(tmp, p, len);
				size += len;
				counted += len;
				atomic_fetch_add(&pl->bytes_done, len);
			}
		} else if (t == MIRROR_F_DATA_END) {
			if (len != 40) {
				err = -MIRROR_EFRAME;
				goto out;
			}
			for (int i = 0; i < 8; i++)
				rsize = rsize << 8 | p[i];
			rsha = malloc(32);
			if (!rsha) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(rsha, p + 8, 32);
			break;
		} else if (t == MIRROR_F_ERR) {
			*conn_ok = true;
			err = peer_err(c, p, len);
			goto out;
		} else {
			err = -MIRROR_EPROTO;
			goto out;
		}
	}
	*conn_ok = true;
	if (item_err) {
		err = item_err;
		goto out;
	}
	if (patch) {
		err = mirror_patch__finish(patch, sha, &size);
		if (err)
			goto out;
	} else {
		EVP_DigestFinal_ex(md, sha, NULL);
	}
	/*
	 * Verified against the manifest, not just against what the sender
	 * claims at the end: a sender whose file changed since the manifest,
	 * a flipped bit or a tampered delta all fail here.
	 */
	if (size != e->size || memcmp(sha, e->sha, 32) || rsize != e->size ||
	    memcmp(rsha, e->sha, 32)) {
		err = -MIRROR_EDIGEST;
		goto out;
	}
	err = mirror_store__install(pl->store, tmp, tmpname, e);
	if (!err) {
		tmpname[0] = '\0';
		atomic_fetch_add(&pl->bytes_done, e->size - counted);
		counted = 0;
	}
out:
	if (counted)
		atomic_fetch_sub(&pl->bytes_done, counted);
	if (tmpname[0])
		mirror_store__tmp_discard(pl->store, tmpname);
	if (tmp >= 0)
		close(tmp);
	if (basis >= 0)
		close(basis);
	mirror_patch__free(patch);
	EVP_MD_CTX_free(md);
	free(rsha);
	return err;
}

static bool conn_error(int err)
{
	return err == -MIRROR_ETLS || err == -ECONNRESET || err == -MIRROR_EFRAME ||
	       err == -MIRROR_EPROTO || err == -ENOMEM;
}

struct worker {
	struct puller *pl;
	struct conn *c;	/* pre-connected (the manifest connection) or NULL */
	pthread_t th;
	int err;
};

static void *pull_worker(void *arg)
{
	struct worker *w = arg;
	struct puller *pl = w->pl;
	struct conn *c = w->c;
	int err = 0;

	if (!c) {
		const uint8_t *p;
		size_t len;
		uint8_t t;

		err = pull_connect(pl, &c);
		if (!err)
			err = pull_hello(pl, c, false);
		if (!err)
			err = conn_recv(c, &t, &p, &len);
		if (!err && t == MIRROR_F_ERR)
			err = peer_err(c, p, len);
		else if (!err && t != MIRROR_F_OK)
			err = -MIRROR_EPROTO;
		if (err)
			goto out;
	}
	for (;;) {
		size_t i = atomic_fetch_add(&pl->next, 1);
		const struct mirror_entry *e;
		bool ok;

		if (i >= pl->nwork)
			break;
		if (pl->cfg->abort && *pl->cfg->abort) {
			/* Not started: the next run of the order moves it. */
			pthread_mutex_lock(&pl->lock);
			if (!pl->first_err)
				pl->first_err = -ECANCELED;
			pthread_mutex_unlock(&pl->lock);
			break;
		}
		e = &pl->work[i].e;
		err = pull_item(pl, c, e, pl->work[i].have_basis, &ok);
		if (err && ok && pl->work[i].have_basis &&
		    (err == -MIRROR_EDIGEST || err == -MIRROR_EDELTA)) {
			/* A weak-sum collision or a bad delta: try it whole. */
			pr_info("mirror: %s: delta failed (%s), fetching whole\n", e->path,
				mirror_strerror(err));
			err = pull_item(pl, c, e, false, &ok);
		}
		if (err) {
			pr_warn("mirror: %s: %s\n", e->path, mirror_strerror(err));
			atomic_fetch_add(&pl->items_failed, 1);
			pthread_mutex_lock(&pl->lock);
			if (!pl->first_err)
				pl->first_err = err;
			pthread_mutex_unlock(&pl->lock);
			if (!ok || conn_error(err))
				break;
			err = 0;
			continue;
		}
		atomic_fetch_add(&pl->items_done, 1);
	}
	if (!err && c) {
		conn_send(c, MIRROR_F_BYE, NULL, 0);
		conn_flush(c);
	}
out:
	if (c) {
		atomic_fetch_add(&pl->wire_rx, conn_wire(c, true));
		atomic_fetch_add(&pl->wire_tx, conn_wire(c, false));
	}
	conn_free(c);
	w->err = err;
	atomic_fetch_sub(&pl->workers_alive, 1);
	return NULL;
}

static int recv_manifest(struct puller *pl, struct conn *c, struct mirror_manifest *src)
{
	for (;;) {
		const uint8_t *p;
		size_t len, off = 0;
		uint8_t t;
		int err;

		err = conn_recv(c, &t, &p, &len);
		if (err)
			return err;
		if (t == MIRROR_F_MANIFEST_END)
			break;
		if (t == MIRROR_F_ERR)
			return peer_err(c, p, len);
		if (t != MIRROR_F_MANIFEST)
			return -MIRROR_EPROTO;
		while (off < len) {
			struct mirror_entry e;

			err = mirror_wire_get_entry(p, len, &off, &e);
			if (err)
				return err;
			/* The source may only send what the order covers. */
			if (!mirror_order__covers(&pl->order, e.path)) {
				free(e.path);
				return -MIRROR_EPROTO;
			}
			err = mirror_manifest__add(src, &e);
			free(e.path);
			if (err)
				return err;
		}
	}
	mirror_manifest__sort(src);
	return 0;
}

static int check_residency(struct puller *pl)
{
	struct mirror_topology pol = { 0 };
	int err;

	if (!pl->cfg->policy || !pl->cfg->region) {
		pr_err("mirror: no residency policy or region configured: refusing to receive\n");
		return -MIRROR_ECONFIG;
	}
	err = mirror_topology__load(&pol, pl->cfg->policy);
	if (err)
		return err;
	for (size_t i = 0; i < pl->order.nhosts && !err; i++) {
		err = mirror_residency_check(&pol, pl->order.hosts[i], pl->cfg->region);
		if (err)
			pr_err("mirror: order %s: host %s may not be stored in region %s: refused\n",
			       pl->order.id, pl->order.hosts[i], pl->cfg->region);
	}
	for (size_t i = 0; i < pl->order.nitems && !err; i++) {
		char host[MIRROR_HOST_MAX + 1];
		const char *s = strchr(pl->order.items[i], '/');
		size_t hl = (size_t)(s - pl->order.items[i]);

		memcpy(host, pl->order.items[i], hl);
		host[hl] = '\0';
		err = mirror_residency_check(&pol, host, pl->cfg->region);
		if (err)
			pr_err("mirror: order %s: item %s may not be stored in region %s: refused\n",
			       pl->order.id, pl->order.items[i], pl->cfg->region);
	}
	mirror_topology__free(&pol);
	return err;
}

static void fill_progress(struct puller *pl, struct mirror_progress *p, uint64_t bytes_total,
			  double t0, uint64_t skipped)
{
	p->items_total = pl->nwork + skipped;
	p->items_skipped = skipped;
	p->items_done = atomic_load(&pl->items_done);
	p->items_failed = atomic_load(&pl->items_failed);
	p->bytes_total = bytes_total;
	p->bytes_done = atomic_load(&pl->bytes_done);
	if (p->bytes_done > bytes_total)
		p->bytes_done = bytes_total;
	p->elapsed_s = now_s() - t0;
	p->rate_bps = p->elapsed_s > 0 ? p->bytes_done / p->elapsed_s : 0;
	p->eta_s = p->rate_bps > 0 ? (bytes_total - p->bytes_done) / p->rate_bps : 0;
}

static int work_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct work *)a)->e.size, y = ((const struct work *)b)->e.size;

	return x < y ? 1 : x > y ? -1 : 0;
}

int mirror_pull(const struct mirror_agent_cfg *cfg, const char *order, size_t order_len,
		mirror_progress_fn fn, void *arg, struct mirror_progress *result)
{
	struct puller pl = { .cfg = cfg };
	struct mirror_manifest src = { 0 }, local = { 0 };
	struct worker *workers = NULL;
	struct conn *c = NULL;
	uint64_t bytes_total = 0, skipped = 0, deleted = 0;
	int nw = cfg->parallel > 0 ? cfg->parallel : 4, err;
	double t0 = now_s();

	signal(SIGPIPE, SIG_IGN);
	mirror_delta_log_init();
	pthread_mutex_init(&pl.lock, NULL);
	pthread_mutex_init(&pl.bucket.lock, NULL);
	err = mirror_order__verify(&pl.order, order, order_len, cfg->order_pub, time(NULL));
	if (!err && strcmp(pl.order.destination, cfg->pop))
		err = -MIRROR_EWRONGPOP;
	if (err) {
		pr_err("mirror: order refused: %s\n", mirror_strerror(err));
		goto out;
	}
	err = check_residency(&pl);
	if (err)
		goto out;
	pl.bucket.rate = (double)(cfg->bwlimit ? cfg->bwlimit : pl.order.bwlimit);
	pl.bucket.last = now_s();
	pl.ctx = mirror_tls_ctx(cfg, false);
	if (!pl.ctx) {
		err = -MIRROR_ETLS;
		goto out;
	}
	pl.store = mirror_store__open(cfg->root, true, &err);
	if (!pl.store) {
		pr_err("mirror: cannot open store %s: %s\n", cfg->root, mirror_strerror(err));
		goto out;
	}
	err = mirror_store__refresh(pl.store, NULL);
	if (err)
		goto out;
	err = mirror_store__snapshot(pl.store, &local);
	if (err)
		goto out;
	err = pull_connect(&pl, &c);
	if (err)
		goto out;
	err = pull_hello(&pl, c, true);
	if (!err)
		err = recv_manifest(&pl, c, &src);
	if (err) {
		pr_err("mirror: order %s: manifest from %s: %s\n", pl.order.id,
		       pl.order.source_addr, mirror_strerror(err));
		goto out;
	}
	pl.work = calloc(src.n ? src.n : 1, sizeof(*pl.work));
	if (!pl.work) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < src.n; i++) {
		struct mirror_entry *le = mirror_manifest__find(&local, src.v[i].path);

		/* Only items whose checksum differs move. */
		if (le && le->size == src.v[i].size && !memcmp(le->sha, src.v[i].sha, 32)) {
			skipped++;
			continue;
		}
		pl.work[pl.nwork].e = src.v[i];
		pl.work[pl.nwork].have_basis = le != NULL && le->size > 0;
		bytes_total += src.v[i].size;
		pl.nwork++;
	}
	/* Largest first keeps the parallel connections evenly busy. */
	qsort(pl.work, pl.nwork, sizeof(*pl.work), work_cmp);
	pr_info("mirror: order %s: %zu items to move (%llu bytes), %llu already current\n",
		pl.order.id, pl.nwork, (unsigned long long)bytes_total, (unsigned long long)skipped);
	if ((size_t)nw > pl.nwork)
		nw = pl.nwork ? (int)pl.nwork : 1;
	workers = calloc((size_t)nw, sizeof(*workers));
	if (!workers) {
		err = -ENOMEM;
		goto out;
	}
	atomic_store(&pl.workers_alive, nw);
	for (int i = 0; i < nw; i++) {
		workers[i].pl = &pl;
		if (i == 0) {
			workers[i].c = c;
			c = NULL;
		}
		if (pthread_create(&workers[i].th, NULL, pull_worker, &workers[i])) {
			err = -EAGAIN;
			atomic_fetch_sub(&pl.workers_alive, nw - i);
			nw = i;
			break;
		}
	}
	while (atomic_load(&pl.workers_alive) > 0) {
		struct mirror_progress p = { 0 };

		if (fn) {
			fill_progress(&pl, &p, bytes_total, t0, skipped);
			fn(arg, &p);
		}
		usleep(250000);
	}
	{
		int worker_err = 0;

		for (int i = 0; i < nw; i++) {
			pthread_join(workers[i].th, NULL);
			if (workers[i].err && !worker_err)
				worker_err = workers[i].err;
		}
		/* A failed item fails the transfer; an extra connection that
		 * failed does not, as long as the others moved every item. */
		if (!err)
			err = pl.first_err;
		if (!err && atomic_load(&pl.next) < pl.nwork)
			err = worker_err ? worker_err : -MIRROR_ETLS;
	}
	/* Whole hosts: what the source no longer has goes here too (unless kept). */
	if (!err && !pl.order.keep) {
		for (size_t i = 0; i < local.n; i++) {
			const char *path = local.v[i].path;
			const char *slash = strchr(path, '/');
			bool whole = false;

			for (size_t h = 0; h < pl.order.nhosts; h++)
				if (strlen(pl.order.hosts[h]) == (size_t)(slash - path) &&
				    !memcmp(pl.order.hosts[h], path, (size_t)(slash - path)))
					whole = true;
			if (!whole || mirror_manifest__find(&src, path))
				continue;
			err = mirror_store__remove(pl.store, path);
			if (err)
				break;
			deleted++;
		}
	}
	{
		int serr = mirror_store__save(pl.store);

		if (!err)
			err = serr;
	}
	if (!err)
		for (size_t h = 0; h < pl.order.nhosts && !err; h++)
			err = mirror_store__resynced(pl.store, pl.order.hosts[h]);
out:
	if (result) {
		memset(result, 0, sizeof(*result));
		fill_progress(&pl, result, bytes_total, t0, skipped);
		result->items_deleted = deleted;
		result->wire_rx = atomic_load(&pl.wire_rx);
		result->wire_tx = atomic_load(&pl.wire_tx);
		if (c) {
			result->wire_rx += conn_wire(c, true);
			result->wire_tx += conn_wire(c, false);
		}
		result->finished = !err;
	}
	if (fn && result)
		fn(arg, result);
	conn_free(c);
	free(workers);
	free(pl.work);
	mirror_manifest__clear(&src);
	mirror_manifest__clear(&local);
	mirror_store__close(pl.store);
	SSL_CTX_free(pl.ctx);
	mirror_order__free(&pl.order);
	return err;
}
