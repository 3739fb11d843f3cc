// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hot content from the content server's access log.
 *
 * Counting: Space-Saving (Metwally et al.) with k counters: a key not
 * counted takes over the smallest counter and inherits its count as its
 * error bound, so memory stays k entries however many distinct paths the
 * log holds, and any key with more than N/k requests is always kept.
 *
 * Decay: instead of multiplying every counter at every tick, each request
 * adds 2^((t - t0)/half_life), a weight that grows with time; reading a
 * count divides by the current weight. Ordering is unchanged by a common
 * factor, so the heap stays valid, and we rescale once the weights near
 * the limit of a double.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mirror/mirror.h"

struct counter {
	char *key;
	double c, err;
	size_t heap;	/* position in the min-heap */
};

struct mirror_topk {
	size_t k, n;
	struct counter *ctr;
	size_t *heap;	/* counter indices, min count at [0] */
	size_t *hash;	/* open addressing: counter index + 1, 0 = empty */
	size_t hmask;
	double half_life, t0, first_t;
	bool have_t0;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

struct mirror_topk *mirror_topk__new(size_t k, double half_life_s)
{
	struct mirror_topk *t = calloc(1, sizeof(*t));
	size_t hs = 16;

	if (!t || k == 0)
		goto fail;
	while (hs < k * 2)
		hs <<= 1;
	t->k = k;
	t->half_life = half_life_s;
	t->ctr = calloc(k, sizeof(*t->ctr));
	t->heap = calloc(k, sizeof(*t->heap));
	t->hash = calloc(hs, sizeof(*t->hash));
	t->hmask = hs - 1;
	if (!t->ctr || !t->heap || !t->hash)
		goto fail;
	return t;
fail:
	mirror_topk__free(t);
	errno = ENOMEM;
	return NULL;
}

void mirror_topk__free(struct mirror_topk *t)
{
	if (!t)
		return;
	if (t->ctr)
		for (size_t i = 0; i < t->n; i++)
			free(t->ctr[i].key);
	free(t->ctr);
	free(t->heap);
	free(t->hash);
	free(t);
}

static size_t *hash_slot(struct mirror_topk *t, const char *key)
{
	size_t i = fnv(key) & t->hmask;

	while (t->hash[i] && strcmp(t->ctr[t->hash[i] - 1].key, key))
		i = (i + 1) & t->hmask;
	return &t->hash[i];
}

/* Linear-probing delete by backward shift: no tombstones to accumulate. */
static void hash_del(struct mirror_topk *t, const char *key)
{
	size_t i = (size_t)(hash_slot(t, key) - t->hash), j = i;

	if (!t->hash[i])
		return;
	t->hash[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & t->hmask;
		if (!t->hash[j])
			return;
		home = fnv(t->ctr[t->hash[j] - 1].key) & t->hmask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->hash[i] = t->hash[j];
			t->hash[j] = 0;
			i = j;
		}
	}
}

static void heap_swap(struct mirror_topk *t, size_t a, size_t b)
{
	size_t x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->ctr[t->heap[a]].heap = a;
	t->ctr[t->heap[b]].heap = b;
}

static void heap_down(struct mirror_topk *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->n && t->ctr[t->heap[l]].c < t->ctr[t->heap[m]].c)
			m = l;
		if (r < t->n && t->ctr[t->heap[r]].c < t->ctr[t->heap[m]].c)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void heap_up(struct mirror_topk *t, size_t i)
{
	while (i > 0 && t->ctr[t->heap[(i - 1) / 2]].c > t->ctr[t->heap[i]].c) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static double weight(struct mirror_topk *t, double now)
{
	if (t->half_life <= 0)
		return 1.0;
	return exp2((now - t->t0) / t->half_life);
}

int mirror_topk__add(struct mirror_topk *t, const char *key, double now)
{
	size_t *slot;
	double w;

	if (!t->have_t0) {
		t->t0 = t->first_t = now;
		t->have_t0 = true;
	}
	w = weight(t, now);
	if (w > 1e250) {
		/* Rescale everything to the present; order is preserved. */
		for (size_t i = 0; i < t->n; i++) {
			t->ctr[i].c /= w;
			t->ctr[i].err /= w;
		}
		t->t0 = now;
		w = 1.0;
	}
	slot = hash_slot(t, key);
	if (*slot) {
		struct counter *c = &t->ctr[*slot - 1];

		c->c += w;
		heap_down(t, c->heap);
		return 0;
	}
	if (t->n < t->k) {
		struct counter *c = &t->ctr[t->n];

		c->key = strdup(key);
		if (!c->key)
			return -ENOMEM;
		c->c = w;
		c->err = 0;
		c->heap = t->n;
		t->heap[t->n] = t->n;
		*slot = t->n + 1;
		t->n++;
		heap_up(t, t->n - 1);
		return 0;
	}
	{
		size_t idx = t->heap[0];
		struct counter *c = &t->ctr[idx];
		char *nk = strdup(key);

		if (!nk)
			return -ENOMEM;
		hash_del(t, c->key);
		free(c->key);
		c->key = nk;
		c->err = c->c;
		c->c += w;
		*hash_slot(t, key) = idx + 1;
		heap_down(t, 0);
	}
	return 0;
}

static int hot_cmp(const void *a, const void *b)
{
	const struct mirror_hot *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

size_t mirror_topk__top(struct mirror_topk *t, double now, struct mirror_hot *out, size_t n)
{
	struct mirror_hot *all;
	double w = weight(t, now), span = now - t->first_t;

	if (t->n == 0)
		return 0;
	all = calloc(t->n, sizeof(*all));
	if (!all)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		all[i].key = t->ctr[i].key;
		all[i].count = t->ctr[i].c / w;
		all[i].err = t->ctr[i].err / w;
		/* Decayed count in steady state is rate * half_life / ln 2. */
		if (t->half_life > 0)
			all[i].rate = all[i].count * M_LN2 / t->half_life;
		else
			all[i].rate = span > 0 ? all[i].count / span : 0;
	}
	qsort(all, t->n, sizeof(*all), hot_cmp);
	if (n > t->n)
		n = t->n;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

/* ---- log formats ------------------------------------------------------------- */

enum var { V_OTHER, V_HOST, V_REQUEST, V_URI, V_STATUS, V_TIME_LOCAL, V_MSEC };

struct mirror_logfmt {
	char *lit[32];	/* lit[i] precedes var[i]; lit[nvar] trails */
	size_t litlen[33];
	enum var var[32];
	int nvar;
	char host[MIRROR_HOST_MAX + 1];
	char *spec;
};

#define COMBINED \
	"$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent " \
	"\"$http_referer\" \"$http_user_agent\""

void mirror_logfmt__free(struct mirror_logfmt *f)
{
	if (!f)
		return;
	free(f->spec);
	free(f);
}

struct mirror_logfmt *mirror_logfmt__new(const char *spec, const char *default_host, int *errp)
{
	struct mirror_logfmt *f = calloc(1, sizeof(*f));
	char *p;

	if (!f) {
		*errp = -ENOMEM;
		return NULL;
	}
	if (!strcmp(spec, "combined"))
		spec = COMBINED;
	else if (!strcmp(spec, "host"))
		spec = "$host " COMBINED;
	f->spec = strdup(spec);
	if (!f->spec)
		goto nomem;
	if (default_host) {
		if (mirror_host_check(default_host))
			goto bad;
		snprintf(f->host, sizeof(f->host), "%s", default_host);
	}
	p = f->spec;
	f->lit[0] = p;
	for (;;) {
		char *d = strchr(p, '$');
		char *e;
		size_t vl;

		if (!d) {
			f->litlen[f->nvar] = strlen(p);
			break;
		}
		f->litlen[f->nvar] = (size_t)(d - p);
		if (f->nvar >= 32)
			goto bad;
		e = d + 1;
		while ((*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '_')
			e++;
		vl = (size_t)(e - d - 1);
		if (vl == 0)
			goto bad;
#define VAR(n) (vl == sizeof(n) - 1 && !memcmp(d + 1, n, vl))
		f->var[f->nvar] = VAR("host")		? V_HOST :
				  VAR("request")	? V_REQUEST :
				  VAR("request_uri")	? V_URI :
				  VAR("status")		? V_STATUS :
				  VAR("time_local")	? V_TIME_LOCAL :
				  VAR("msec")		? V_MSEC :
							  V_OTHER;
#undef VAR
		/* Two variables with nothing between them cannot be split. */
		if (f->nvar > 0 && f->litlen[f->nvar] == 0)
			goto bad;
		f->nvar++;
		f->lit[f->nvar] = e;
		p = e;
	}
	{
		bool has_path = false, has_host = !!default_host;

		for (int i = 0; i < f->nvar; i++) {
			has_path |= f->var[i] == V_REQUEST || f->var[i] == V_URI;
			has_host |= f->var[i] == V_HOST;
		}
		if (!has_path || !has_host)
			goto bad;
	}
	return f;
bad:
	mirror_logfmt__free(f);
	*errp = -MIRROR_ECONFIG;
	return NULL;
nomem:
	mirror_logfmt__free(f);
	*errp = -ENOMEM;
	return NULL;
}

static int month(const char *m)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	for (int i = 0; i < 12; i++)
		if (!memcmp(m, mon[i], 3))
			return i;
	return -1;
}

/* "10/Oct/2000:13:55:36 -0700" */
static double parse_time_local(const char *s, size_t len)
{
	int d, y, H, M, S, tz, mo;
	char mon[4], sign;
	struct tm tm = { 0 };
	char buf[40];

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%2d/%3c/%4d:%2d:%2d:%2d %c%4d", &d, mon, &y, &H, &M, &S, &sign, &tz) != 8)
		return 0;
	mon[3] = '\0';
	mo = month(mon);
	if (mo < 0)
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo;
	tm.tm_mday = d;
	tm.tm_hour = H;
	tm.tm_min = M;
	tm.tm_sec = S;
	return (double)timegm(&tm) - (sign == '-' ? -1 : 1) * ((tz / 100) * 3600 + (tz % 100) * 60);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mirror_logfmt__parse(const struct mirror_logfmt *f, const char *line, size_t len, char *key,
			 size_t cap, double *t)
{
	const char *host = f->host, *uri = NULL;
	size_t hostlen = strlen(f->host), urilen = 0, pos = 0;
	int status = 200;

	*t = 0;
	if (f->litlen[0] > len || memcmp(line, f->lit[0], f->litlen[0]))
		return -MIRROR_ECONFIG;
	pos = f->litlen[0];
	for (int i = 0; i < f->nvar; i++) {
		const char *next = f->lit[i + 1];
		size_t nl = f->litlen[i + 1], vlen;
		const char *v = line + pos;

		if (nl == 0) {
			vlen = len - pos;
		} else {
			const char *m = memmem(v, len - pos, next, nl);

			if (!m)
				return -MIRROR_ECONFIG;
			vlen = (size_t)(m - v);
		}
		switch (f->var[i]) {
		case V_HOST:
			host = v;
			hostlen = vlen;
			break;
		case V_REQUEST: {
			/* "GET /path?q HTTP/1.1" */
			const char *sp = memchr(v, ' ', vlen);

			if (!sp)
				return -MIRROR_ECONFIG;
			uri = sp + 1;
			urilen = vlen - (size_t)(uri - v);
			sp = memchr(uri, ' ', urilen);
			if (sp)
				urilen = (size_t)(sp - uri);
			break;
		}
		case V_URI:
			uri = v;
			urilen = vlen;
			break;
		case V_STATUS:
			status = vlen == 3 ? atoi(v) : 0;
			break;
		case V_TIME_LOCAL:
			*t = parse_time_local(v, vlen);
			break;
		case V_MSEC: {
			char buf[32];

			if (vlen < sizeof(buf)) {
				memcpy(buf, v, vlen);
				buf[vlen] = '\0';
				*t = atof(buf);
			}
			break;
		}
		default:
			break;
		}
		pos += vlen + nl;
	}
	/* Errors and redirects are not content this POP should stage. */
	if (status < 200 || status >= 400 || !uri || urilen < 2 || uri[0] != '/' ||
	    hostlen == 0 || hostlen > MIRROR_HOST_MAX)
		return -MIRROR_ECONFIG;
	{
		size_t o = 0;

		if (hostlen + 2 > cap)
			return -MIRROR_ECONFIG;
		memcpy(key, host, hostlen);
		o = hostlen;
		/* Lower-case the host: Host headers are case-insensitive. */
		for (size_t i = 0; i < hostlen; i++)
			if (key[i] >= 'A' && key[i] <= 'Z')
				key[i] = (char)(key[i] + 32);
		key[o++] = '/';
		for (size_t i = 1; i < urilen && uri[i] != '?' && uri[i] != '#'; i++) {
			char c = uri[i];

			if (c == '%' && i + 2 < urilen && hexval(uri[i + 1]) >= 0 &&
			    hexval(uri[i + 2]) >= 0) {
				c = (char)(hexval(uri[i + 1]) << 4 | hexval(uri[i + 2]));
				i += 2;
			}
			if (o + 1 >= cap)
				return -MIRROR_ECONFIG;
			key[o++] = c;
		}
		key[o] = '\0';
		if (strlen(key) != o)
			return -MIRROR_ECONFIG;	/* %00 */
	}
	return mirror_path_check(key) ? -MIRROR_ECONFIG : 0;
}

/* ---- follower ------------------------------------------------------------------ */

#define LINE_MAX_LEN 16384

struct mirror_follow {
	char *path;
	int fd;
	ino_t ino;
	dev_t dev;
	off_t off;
	char buf[LINE_MAX_LEN];
	size_t len;
	bool skip_line;	/* dropping an over-long line up to its newline */
	bool from_start;
};

struct mirror_follow *mirror_follow__new(const char *path, bool from_start)
{
	struct mirror_follow *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->fd = -1;
	f->from_start = from_start;
	return f;
}

void mirror_follow__free(struct mirror_follow *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

static int follow_open(struct mirror_follow *f, bool at_end)
{
	struct stat st;

	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) < 0) {
		close(f->fd);
		f->fd = -1;
		return -errno;
	}
	f->ino = st.st_ino;
	f->dev = st.st_dev;
	f->off = at_end ? st.st_size : 0;
	f->len = 0;
	f->skip_line = false;
	return 0;
}

static void follow_drain(struct mirror_follow *f, void (*fn)(void *, const char *, size_t),
			 void *arg)
{
	for (;;) {
		ssize_t n = pread(f->fd, f->buf + f->len, sizeof(f->buf) - f->len, f->off);
		size_t start = 0;

		if (n <= 0)
			return;
		f->off += n;
		f->len += (size_t)n;
		for (size_t i = 0; i < f->len; i++) {
			if (f->buf[i] != '\n')
				continue;
			if (!f->skip_line)
				fn(arg, f->buf + start, i - start);
			f->skip_line = false;
			start = i + 1;
		}
		memmove(f->buf, f->buf + start, f->len - start);
		f->len -= start;
		if (f->len == sizeof(f->buf)) {
			/* No newline in 16 KiB: not a log line we can use. */
			f->len = 0;
			f->skip_line = true;
		}
	}
}

int mirror_follow__poll(struct mirror_follow *f, void (*fn)(void *arg, const char *line, size_t len),
			void *arg)
{
	struct stat st;
	int err;

	if (f->fd < 0) {
		err = follow_open(f, !f->from_start);
		f->from_start = true;	/* files that appear later: read whole */
		if (err)
			return err == -ENOENT ? 0 : err;
	}
	/* Truncated in place (copytruncate): start again from the top. */
	if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
		f->off = 0;
		f->len = 0;
	}
	follow_drain(f, fn, arg);
	/* Renamed away and replaced: finish the old file, then the new one. */
	if (stat(f->path, &st) == 0 && (st.st_ino != f->ino || st.st_dev != f->dev)) {
		follow_drain(f, fn, arg);
		close(f->fd);
		f->fd = -1;
		err = follow_open(f, false);
		if (err)
			return err == -ENOENT ? 0 : err;
		follow_drain(f, fn, arg);
	}
	return 0;
}
