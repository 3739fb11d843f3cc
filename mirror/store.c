// SPDX-License-Identifier: GPL-2.0-only
/*
 * Content store: <root>/<host>/<path>, served as is by the content server,
 * and <root>/.presage/ for our own state (manifest, lock, tmp, primary
 * flags), which no valid host name can reach because hosts never start
 * with a dot.
 *
 * Every access walks the path one component at a time with openat() and
 * O_NOFOLLOW relative to the parent's descriptor, so a symlink planted
 * anywhere (by a compromised peer or a local user) is never followed, and
 * ".." never appears because mirror_path_check() refuses it first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fsutil.h"
#include "log.h"
#include "mirror/mirror.h"

#define STATE_DIR ".presage"
#define MANIFEST_MAGIC "presage-manifest 1\n"

struct mirror_store {
	char *root;
	int rootfd;
	int statefd;	/* <root>/.presage */
	int tmpfd;	/* <root>/.presage/tmp */
	int lockfd;
	pthread_mutex_t lock;
	struct mirror_manifest man;
	bool dirty;
};

static const char *const errstr[] = {
	[MIRROR_EPATH - MIRROR_EBASE] = "unsafe path (.., absolute, symlink or bad host)",
	[MIRROR_EFRAME - MIRROR_EBASE] = "malformed frame",
	[MIRROR_EPROTO - MIRROR_EBASE] = "protocol violation",
	[MIRROR_EORDER - MIRROR_EBASE] = "malformed order",
	[MIRROR_ESIG - MIRROR_EBASE] = "order signature does not verify",
	[MIRROR_EEXPIRED - MIRROR_EBASE] = "order expired",
	[MIRROR_EWRONGPOP - MIRROR_EBASE] = "order names another POP",
	[MIRROR_EPEER - MIRROR_EBASE] = "peer certificate names another POP",
	[MIRROR_ERESIDENCY - MIRROR_EBASE] = "residency policy forbids this region",
	[MIRROR_EDIGEST - MIRROR_EBASE] = "SHA-256 mismatch against source manifest",
	[MIRROR_EDELTA - MIRROR_EBASE] = "corrupt signature or delta stream",
	[MIRROR_EMANIFEST - MIRROR_EBASE] = "malformed manifest",
	[MIRROR_ETLS - MIRROR_EBASE] = "TLS failure",
	[MIRROR_EREFUSED - MIRROR_EBASE] = "refused by peer",
	[MIRROR_ECONFIG - MIRROR_EBASE] = "malformed configuration",
	[MIRROR_ELOCKED - MIRROR_EBASE] = "store locked by another transfer",
};

const char *mirror_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err > MIRROR_EBASE && err < MIRROR_EMAX && errstr[err - MIRROR_EBASE])
		return errstr[err - MIRROR_EBASE];
	return strerror(err);
}

void mirror_hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* ---- paths ---------------------------------------------------------------- */

int mirror_host_check(const char *host)
{
	size_t n = strnlen(host, MIRROR_HOST_MAX + 1);

	if (n == 0 || n > MIRROR_HOST_MAX || host[0] == '.' || host[0] == '-')
		return -MIRROR_EPATH;
	for (size_t i = 0; i < n; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == ':'))
			return -MIRROR_EPATH;
	}
	return 0;
}

int mirror_path_check(const char *path)
{
	size_t n = strnlen(path, MIRROR_PATH_MAX + 1);
	const char *c = path, *slash;
	char host[MIRROR_HOST_MAX + 1];
	bool first = true;

	if (n == 0 || n > MIRROR_PATH_MAX || path[0] == '/')
		return -MIRROR_EPATH;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return -MIRROR_EPATH;
	for (;;) {
		size_t len;

		slash = strchr(c, '/');
		len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || len > MIRROR_NAME_MAX)
			return -MIRROR_EPATH;
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return -MIRROR_EPATH;
		if (first) {
			if (len > MIRROR_HOST_MAX)
				return -MIRROR_EPATH;
			memcpy(host, c, len);
			host[len] = '\0';
			if (mirror_host_check(host))
				return -MIRROR_EPATH;
			/* A host alone is not an item. */
			if (!slash)
				return -MIRROR_EPATH;
			first = false;
		}
		if (!slash)
			break;
		c = slash + 1;
	}
	return 0;
}

/*
 * Walk to the directory that holds @path's last component. Returns a new
 * descriptor in *dfd and a pointer to the leaf inside @path. ELOOP/ENOTDIR
 * from O_NOFOLLOW on a symlinked component become -MIRROR_EPATH: that is an
 * attack or a misconfiguration, not an I/O error.
 */
static int walk_parent(struct mirror_store *s, const char *path, bool create, int *dfd,
		       const char **leaf)
{
	char comp[MIRROR_NAME_MAX + 1];
	const char *c = path, *slash;
	int fd, err;

	err = mirror_path_check(path);
	if (err)
		return err;
	fd = dup(s->rootfd);
	if (fd < 0)
		return -errno;
	while ((slash = strchr(c, '/'))) {
		size_t len = (size_t)(slash - c);
		int nfd;

		memcpy(comp, c, len);
		comp[len] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				err = -errno;
				goto fail;
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			err = (errno == ELOOP || errno == ENOTDIR) ? -MIRROR_EPATH : -errno;
			goto fail;
		}
		close(fd);
		fd = nfd;
		c = slash + 1;
	}
	*dfd = fd;
	*leaf = c;
	return 0;
fail:
	close(fd);
	return err;
}

int mirror_store__open_item(struct mirror_store *s, const char *path, int *fdp)
{
	const char *leaf;
	struct stat st;
	int dfd, fd, err;

	err = walk_parent(s, path, false, &dfd, &leaf);
	if (err)
		return err;
	fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno == ELOOP ? -MIRROR_EPATH : -errno;
		goto out;
	}
	/* O_NONBLOCK above: a FIFO planted in the tree must not hang us. */
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		err = -MIRROR_EPATH;
		goto out;
	}
	fcntl(fd, F_SETFL, 0);
	*fdp = fd;
out:
	close(dfd);
	return err;
}

/* ---- manifest ------------------------------------------------------------- */

void mirror_manifest__clear(struct mirror_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int mirror_manifest__add(struct mirror_manifest *m, const struct mirror_entry *e)
{
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		struct mirror_entry *nv = realloc(m->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->v = nv;
		m->cap = nc;
	}
	m->v[m->n] = *e;
	m->v[m->n].path = strdup(e->path);
	if (!m->v[m->n].path)
		return -ENOMEM;
	m->n++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mirror_entry *)a)->path, ((const struct mirror_entry *)b)->path);
}

void mirror_manifest__sort(struct mirror_manifest *m)
{
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
}

struct mirror_entry *mirror_manifest__find(const struct mirror_manifest *m, const char *path)
{
	struct mirror_entry key = { .path = (char *)path };

	if (!m->n)
		return NULL;
	return bsearch(&key, m->v, m->n, sizeof(*m->v), entry_cmp);
}

int mirror_manifest__format(const struct mirror_manifest *m, char **bufp, size_t *lenp)
{
	size_t cap = strlen(MANIFEST_MAGIC) + 1, len = 0;
	char *buf;

	for (size_t i = 0; i < m->n; i++)
		cap += strlen(m->v[i].path) + 160;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	len += (size_t)snprintf(buf, cap, "%s", MANIFEST_MAGIC);
	for (size_t i = 0; i < m->n; i++) {
		const struct mirror_entry *e = &m->v[i];
		char hex[65];

		mirror_hex(e->sha, 32, hex);
		len += (size_t)snprintf(buf + len, cap - len, "%s %" PRIu64 " %" PRId64 " %" PRIu64 " %" PRIu32 " %s\n",
					hex, e->size, e->mtime_ns, e->ino, e->version, e->path);
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int mirror_manifest__parse(struct mirror_manifest *m, const char *buf, size_t len)
{
	size_t ml = strlen(MANIFEST_MAGIC), off;
	char line[MIRROR_PATH_MAX + 200];
	int err;

	if (len < ml || memcmp(buf, MANIFEST_MAGIC, ml))
		return -MIRROR_EMANIFEST;
	off = ml;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		struct mirror_entry e = { 0 };
		size_t ll;
		int pos = 0;
		char hex[65];

		if (!nl)
			return -MIRROR_EMANIFEST;
		ll = (size_t)(nl - (buf + off));
		if (ll >= sizeof(line))
			return -MIRROR_EMANIFEST;
		memcpy(line, buf + off, ll);
		line[ll] = '\0';
		off += ll + 1;
		if (sscanf(line, "%64s %" SCNu64 " %" SCNd64 " %" SCNu64 " %" SCNu32 " %n", hex, &e.size,
			   &e.mtime_ns, &e.ino, &e.version, &pos) != 5 || pos <= 0 ||
		    strlen(hex) != 64 || unhex(hex, 32, e.sha))
			return -MIRROR_EMANIFEST;
		e.path = line + pos;
		if (mirror_path_check(e.path))
			return -MIRROR_EMANIFEST;
		err = mirror_manifest__add(m, &e);
		if (err)
			return err;
	}
	mirror_manifest__sort(m);
	return 0;
}

/* ---- hashing ---------------------------------------------------------------- */

int mirror_sha256_fd(int fd, uint8_t sha[32], uint64_t *size)
{
	static __thread uint8_t buf[1 << 17];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t total = 0;
	off_t off = 0;
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
		total += (uint64_t)n;
	}
	EVP_DigestFinal_ex(ctx, sha, NULL);
	if (size)
		*size = total;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

/* ---- open / lock / tmp ------------------------------------------------------ */

static int open_dir_at(int dfd, const char *name, int *out)
{
	int fd;

	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -MIRROR_EPATH : -errno;
	*out = fd;
	return 0;
}

static void clean_tmp(struct mirror_store *s)
{
	int fd = dup(s->tmpfd);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	/* dup() shares the offset: start from the top every time. */
	rewinddir(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(s->tmpfd, de->d_name, 0) == 0)
			pr_info("mirror: removed stray temporary file %s/%s/tmp/%s\n", s->root,
				STATE_DIR, de->d_name);
	}
	closedir(d);
	fsync(s->tmpfd);
}

static int load_manifest(struct mirror_store *s)
{
	char *buf = NULL;
	size_t len;
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s/%s/manifest", s->root, STATE_DIR);
	err = read_file_all(path, (size_t)1 << 30, &buf, &len);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = mirror_manifest__parse(&s->man, buf, len);
	free(buf);
	if (err) {
		/* A corrupt manifest is only a cache of hashes: start over. */
		pr_warn("mirror: %s is corrupt (%s); rehashing the store\n", path,
			mirror_strerror(err));
		mirror_manifest__clear(&s->man);
	}
	return 0;
}

struct mirror_store *mirror_store__open(const char *root, bool writer, int *errp)
{
	struct mirror_store *s = calloc(1, sizeof(*s));
	int err;

	if (!s) {
		*errp = -ENOMEM;
		return NULL;
	}
	s->rootfd = s->statefd = s->tmpfd = s->lockfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->root = strdup(root);
	if (!s->root) {
		err = -ENOMEM;
		goto fail;
	}
	err = mkdir_p(root, 0755);
	if (err)
		goto fail;
	s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		err = -errno;
		goto fail;
	}
	err = open_dir_at(s->rootfd, STATE_DIR, &s->statefd);
	if (err)
		goto fail;
	err = open_dir_at(s->statefd, "tmp", &s->tmpfd);
	if (err)
		goto fail;
	if (mkdirat(s->statefd, "notprimary", 0755) < 0 && errno != EEXIST) {
		err = -errno;
		goto fail;
	}
	if (writer) {
		s->lockfd = openat(s->statefd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s->lockfd < 0) {
			err = -errno;
			goto fail;
		}
		if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
			err = errno == EWOULDBLOCK ? -MIRROR_ELOCKED : -errno;
			goto fail;
		}
		/* Only the lock holder may write here, so anything left is
		 * from a transfer that died: it was never visible, drop it. */
		clean_tmp(s);
	}
	err = load_manifest(s);
	if (err)
		goto fail;
	return s;
fail:
	mirror_store__close(s);
	*errp = err;
	return NULL;
}

void mirror_store__close(struct mirror_store *s)
{
	if (!s)
		return;
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	if (s->statefd >= 0)
		close(s->statefd);
	if (s->rootfd >= 0)
		close(s->rootfd);
	mirror_manifest__clear(&s->man);
	pthread_mutex_destroy(&s->lock);
	free(s->root);
	free(s);
}

const char *mirror_store__root(const struct mirror_store *s)
{
	return s->root;
}

/* ---- refresh ------------------------------------------------------------------ */

struct scan {
	struct mirror_store *s;
	struct mirror_manifest next;
	bool changed;
	int depth;
};

static int scan_dir(struct scan *sc, int dfd, char *prefix, size_t plen)
{
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (++sc->depth > 64) {
		sc->depth--;
		return 0;
	}
	d = fdopendir(dfd);
	if (!d) {
		err = -errno;
		close(dfd);
		sc->depth--;
		return err;
	}
	/* The root's descriptor is dup()ed and shares its offset. */
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		size_t nl = strlen(n);
		struct stat st;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (plen == 0 && (n[0] == '.' || mirror_host_check(n)))
			continue;	/* our state dir, or not a host */
		if (plen + nl + 2 > MIRROR_PATH_MAX)
			continue;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* vanished while we scanned */
		memcpy(prefix + plen, n, nl);
		prefix[plen + nl] = '\0';
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				continue;
			prefix[plen + nl] = '/';
			prefix[plen + nl + 1] = '\0';
			err = scan_dir(sc, sub, prefix, plen + nl + 1);
			if (err)
				break;
		} else if (S_ISREG(st.st_mode) && plen > 0) {
			struct mirror_entry e = { .path = prefix }, *old;

			if (mirror_path_check(prefix))
				continue;
			e.size = (uint64_t)st.st_size;
			e.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			e.ino = st.st_ino;
			old = mirror_manifest__find(&sc->s->man, prefix);
			if (old && old->size == e.size && old->mtime_ns == e.mtime_ns &&
			    old->ino == e.ino) {
				memcpy(e.sha, old->sha, 32);
				e.version = old->version;
			} else {
				int fd = openat(dirfd(d), n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

				if (fd < 0)
					continue;
				err = mirror_sha256_fd(fd, e.sha, &e.size);
				close(fd);
				if (err)
					break;
				e.version = old ? old->version + (memcmp(old->sha, e.sha, 32) != 0) : 1;
				sc->changed = true;
			}
			err = mirror_manifest__add(&sc->next, &e);
			if (err)
				break;
		}
		/* Symlinks, devices, FIFOs: never content, never followed. */
		prefix[plen] = '\0';
	}
	closedir(d);
	sc->depth--;
	return err;
}

int mirror_store__save(struct mirror_store *s)
{
	char path[4096], *buf;
	size_t len;
	int err;

	pthread_mutex_lock(&s->lock);
	err = mirror_manifest__format(&s->man, &buf, &len);
	pthread_mutex_unlock(&s->lock);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s/manifest", s->root, STATE_DIR);
	err = write_file_atomic(path, buf, len, 0644);
	free(buf);
	return err;
}

int mirror_store__refresh(struct mirror_store *s, bool *changed)
{
	struct scan sc = { .s = s };
	char prefix[MIRROR_PATH_MAX + 2] = "";
	int fd, err;

	fd = dup(s->rootfd);
	if (fd < 0)
		return -errno;
	/* Rehashing is slow; hold the lock so readers see old or new. */
	pthread_mutex_lock(&s->lock);
	err = scan_dir(&sc, fd, prefix, 0);
	if (err) {
		pthread_mutex_unlock(&s->lock);
		mirror_manifest__clear(&sc.next);
		return err;
	}
	mirror_manifest__sort(&sc.next);
	if (sc.next.n != s->man.n)
		sc.changed = true;
	mirror_manifest__clear(&s->man);
	s->man = sc.next;
	pthread_mutex_unlock(&s->lock);
	if (changed)
		*changed = sc.changed;
	return sc.changed ? mirror_store__save(s) : 0;
}

int mirror_store__snapshot(struct mirror_store *s, struct mirror_manifest *out)
{
	int err = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->man.n && !err; i++)
		err = mirror_manifest__add(out, &s->man.v[i]);
	pthread_mutex_unlock(&s->lock);
	if (err)
		mirror_manifest__clear(out);
	return err;
}

/* ---- install ----------------------------------------------------------------- */

int mirror_store__tmp_create(struct mirror_store *s, int *fdp, char name[64])
{
	for (int tries = 0; tries < 16; tries++) {
		uint8_t r[12];
		char hex[25];
		int fd;

		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		mirror_hex(r, sizeof(r), hex);
		snprintf(name, 64, "t%s", hex);
		fd = openat(s->tmpfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0) {
			*fdp = fd;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

void mirror_store__tmp_discard(struct mirror_store *s, const char *name)
{
	unlinkat(s->tmpfd, name, 0);
}

static int manifest_put(struct mirror_store *s, const struct mirror_entry *e)
{
	struct mirror_entry *old;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	old = mirror_manifest__find(&s->man, e->path);
	if (old) {
		char *p = old->path;

		*old = *e;
		old->path = p;
	} else {
		err = mirror_manifest__add(&s->man, e);
		if (!err)
			mirror_manifest__sort(&s->man);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int mirror_store__install(struct mirror_store *s, int fd, const char *name,
			  const struct mirror_entry *e)
{
	struct timespec ts[2];
	struct mirror_entry ne = *e;
	const char *leaf;
	struct stat st;
	int dfd, err;

	ts[0].tv_sec = ts[1].tv_sec = e->mtime_ns / 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = e->mtime_ns % 1000000000;
	/* Same mtime as the source, so a later quick look sees no change. */
	if (futimens(fd, ts) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0)
		return -errno;
	err = walk_parent(s, e->path, true, &dfd, &leaf);
	if (err)
		return err;
	if (renameat(s->tmpfd, name, dfd, leaf) < 0) {
		err = -errno;
		goto out;
	}
	/* The rename is durable only once the directory is on disk. */
	if (fsync(dfd) < 0) {
		err = -errno;
		goto out;
	}
	ne.ino = st.st_ino;
	ne.size = (uint64_t)st.st_size;
	ne.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	err = manifest_put(s, &ne);
out:
	close(dfd);
	return err;
}

int mirror_store__remove(struct mirror_store *s, const char *path)
{
	struct mirror_entry *e;
	const char *leaf;
	int dfd, err;

	err = walk_parent(s, path, false, &dfd, &leaf);
	if (err)
		return err;
	if (unlinkat(dfd, leaf, 0) < 0 && errno != ENOENT)
		err = -errno;
	else if (fsync(dfd) < 0)
		err = -errno;
	close(dfd);
	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	e = mirror_manifest__find(&s->man, path);
	if (e) {
		size_t i = (size_t)(e - s->man.v);

		free(e->path);
		memmove(e, e + 1, (s->man.n - i - 1) * sizeof(*e));
		s->man.n--;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ---- primary flags ------------------------------------------------------------ */

/*
 * A host is not served while <root>/.presage/notprimary/<host> exists; the
 * content server checks for that file on every request (see docs). The
 * file's content says why, so "primary again" keeps the file until a full
 * re-sync has replaced what may have gone stale.
 */
int mirror_store__set_primary(struct mirror_store *s, const char *host, bool primary)
{
	char path[4096];
	const char *body = primary ? "resync-pending\n" : "not-primary\n";
	enum mirror_primary st;
	int err;

	err = mirror_host_check(host);
	if (err)
		return err;
	err = mirror_store__primary(s, host, &st);
	if (err)
		return err;
	if (primary && st == MIRROR_PRIMARY)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/notprimary/%s", s->root, STATE_DIR, host);
	return write_file_atomic(path, body, strlen(body), 0644);
}

int mirror_store__primary(struct mirror_store *s, const char *host, enum mirror_primary *st)
{
	char path[4096], *buf;
	size_t len;
	int err;

	err = mirror_host_check(host);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s/notprimary/%s", s->root, STATE_DIR, host);
	err = read_file_all(path, 64, &buf, &len);
	if (err == -ENOENT) {
		*st = MIRROR_PRIMARY;
		return 0;
	}
	if (err)
		return err;
	*st = strncmp(buf, "resync", 6) ? MIRROR_NOT_PRIMARY : MIRROR_RESYNC_PENDING;
	free(buf);
	return 0;
}

int mirror_store__resynced(struct mirror_store *s, const char *host)
{
	enum mirror_primary st;
	char path[4096];
	int err;

	err = mirror_store__primary(s, host, &st);
	if (err || st != MIRROR_RESYNC_PENDING)
		return err;
	snprintf(path, sizeof(path), "%s/%s/notprimary/%s", s->root, STATE_DIR, host);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return fsync_parent_dir(path);
}
