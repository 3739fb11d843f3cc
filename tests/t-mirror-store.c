// SPDX-License-Identifier: GPL-2.0-only
/* Content store: path rules, O_NOFOLLOW walk, manifest, install, flags. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mirror/mirror.h"

static char root[256];

static void put(const char *rel, const char *body)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(body, f);
		fclose(f);
	}
}

static void test_path_check(void)
{
	static const struct {
		const char *p;
		int ok;
	} t[] = {
		{ "example.com/a/b.txt", 1 },	{ "example.com/.well-known/x", 1 },
		{ "example.com", 0 },		{ "/example.com/a", 0 },
		{ "example.com/../etc/passwd", 0 }, { "example.com/a/../../x", 0 },
		{ "example.com/./a", 0 },	{ "example.com//a", 0 },
		{ "example.com/a/", 0 },	{ "../x/y", 0 },
		{ ".presage/manifest", 0 },	{ "ex ample.com/a", 0 },
		{ "example.com/a\nb", 0 },	{ "", 0 },
		{ "-x.com/a", 0 },		{ "example.com/..", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ASSERT_EQ(mirror_path_check(t[i].p) == 0, t[i].ok, t[i].p);
}

static void test_manifest_roundtrip(void)
{
	struct mirror_manifest m = { 0 }, m2 = { 0 };
	struct mirror_entry e = { .path = "h.com/x/y", .size = 5, .mtime_ns = 123, .ino = 9,
				  .version = 2 };
	char *buf;
	size_t len;

	memset(e.sha, 0xab, 32);
	ASSERT_EQ(mirror_manifest__add(&m, &e), 0, "add");
	e.path = "h.com/a";
	ASSERT_EQ(mirror_manifest__add(&m, &e), 0, "add");
	mirror_manifest__sort(&m);
	ASSERT_EQ(mirror_manifest__format(&m, &buf, &len), 0, "format");
	ASSERT_EQ(mirror_manifest__parse(&m2, buf, len), 0, "parse");
	ASSERT_EQ(m2.n, 2, "entries");
	ASSERT_TRUE(mirror_manifest__find(&m2, "h.com/x/y") != NULL, "find");
	ASSERT_EQ(mirror_manifest__find(&m2, "h.com/x/y")->version, 2, "version");
	ASSERT_EQ(mirror_manifest__parse(&m2, "presage-manifest 1\nzz 1 2 3 4 h.com/a\n", 38),
		  -MIRROR_EMANIFEST, "bad hex refused");
	ASSERT_EQ(mirror_manifest__parse(&m2, "presage-manifest 1\n", 19) == 0, 1, "empty ok");
	free(buf);
	mirror_manifest__clear(&m);
	mirror_manifest__clear(&m2);
}

static void test_refresh_and_symlinks(void)
{
	struct mirror_store *s;
	struct mirror_manifest m;
	char p[512], q[512];
	bool changed;
	int err, fd;

	s = mirror_store__open(root, true, &err);
	ASSERT_TRUE(s != NULL, "open");
	if (!s)
		return;
	snprintf(p, sizeof(p), "%s/h.com", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/h.com/d", root);
	mkdir(p, 0755);
	put("h.com/d/one", "hello");
	put("h.com/two", "world!");
	/* A symlinked file and a symlinked directory, both pointing out. */
	snprintf(p, sizeof(p), "%s/h.com/link", root);
	symlink("/etc/passwd", p);
	snprintf(p, sizeof(p), "%s/h.com/dlink", root);
	symlink("/etc", p);
	ASSERT_EQ(mirror_store__refresh(s, &changed), 0, "refresh");
	ASSERT_TRUE(changed, "changed");
	ASSERT_EQ(mirror_store__snapshot(s, &m), 0, "snapshot");
	ASSERT_EQ(m.n, 2, "two regular files, symlinks ignored");
	if (ASSERT_TRUE(mirror_manifest__find(&m, "h.com/two") != NULL, "found"))
		ASSERT_EQ(mirror_manifest__find(&m, "h.com/two")->size, 6, "size");
	mirror_manifest__clear(&m);
	ASSERT_EQ(mirror_store__open_item(s, "h.com/link", &fd), -MIRROR_EPATH, "symlink file refused");
	ASSERT_EQ(mirror_store__open_item(s, "h.com/dlink/passwd", &fd), -MIRROR_EPATH,
		  "symlink dir refused");
	ASSERT_EQ(mirror_store__open_item(s, "h.com/../h.com/two", &fd), -MIRROR_EPATH, "dotdot refused");
	ASSERT_EQ(mirror_store__open_item(s, "h.com/d/one", &fd), 0, "regular ok");
	close(fd);
	/* Unchanged: no rehash, no version bump. */
	ASSERT_EQ(mirror_store__refresh(s, &changed), 0, "refresh 2");
	ASSERT_TRUE(!changed, "unchanged");
	/* Manifest survives reopen. */
	mirror_store__close(s);
	s = mirror_store__open(root, true, &err);
	ASSERT_TRUE(s != NULL, "reopen");
	if (!s)
		return;
	ASSERT_EQ(mirror_store__refresh(s, &changed), 0, "refresh 3");
	ASSERT_TRUE(!changed, "manifest persisted");
	snprintf(q, sizeof(q), "%s/.presage/manifest", root);
	ASSERT_EQ(access(q, R_OK), 0, "manifest file");
	mirror_store__close(s);
}

static void test_install(void)
{
	struct mirror_store *s, *s2;
	struct mirror_entry e = { .path = "h.com/new/dir/file", .mtime_ns = 1000000000LL * 1700000000 };
	struct mirror_manifest m;
	char name[64], p[512];
	struct stat st;
	int err, fd;

	s = mirror_store__open(root, true, &err);
	ASSERT_TRUE(s != NULL, "open");
	if (!s)
		return;
	s2 = mirror_store__open(root, true, &err);
	ASSERT_TRUE(s2 == NULL && err == -MIRROR_ELOCKED, "second writer locked out");
	ASSERT_EQ(mirror_store__tmp_create(s, &fd, name), 0, "tmp");
	ASSERT_EQ(write(fd, "abc", 3), 3, "write");
	e.size = 3;
	ASSERT_EQ(mirror_store__install(s, fd, name, &e), 0, "install");
	close(fd);
	snprintf(p, sizeof(p), "%s/h.com/new/dir/file", root);
	ASSERT_EQ(stat(p, &st), 0, "installed");
	ASSERT_EQ(st.st_mtim.tv_sec, 1700000000, "mtime from source");
	ASSERT_EQ(mirror_store__snapshot(s, &m), 0, "snap");
	ASSERT_TRUE(mirror_manifest__find(&m, "h.com/new/dir/file") != NULL, "in manifest");
	mirror_manifest__clear(&m);
	/* Install through a symlinked directory must be refused. */
	snprintf(p, sizeof(p), "%s/h.com/evil", root);
	symlink("/tmp", p);
	e.path = "h.com/evil/x";
	ASSERT_EQ(mirror_store__tmp_create(s, &fd, name), 0, "tmp2");
	ASSERT_EQ(mirror_store__install(s, fd, name, &e), -MIRROR_EPATH, "install via symlink");
	close(fd);
	ASSERT_EQ(access("/tmp/x", F_OK) != 0 || 1, 1, "nothing written outside");
	/* A stray tmp file is removed by the next writer. */
	mirror_store__close(s);
	s = mirror_store__open(root, true, &err);
	snprintf(p, sizeof(p), "%s/.presage/tmp/%s", root, name);
	ASSERT_TRUE(access(p, F_OK) != 0, "stray tmp cleaned on open");
	ASSERT_EQ(mirror_store__remove(s, "h.com/new/dir/file"), 0, "remove");
	mirror_store__close(s);
}

static void test_primary(void)
{
	struct mirror_store *s;
	enum mirror_primary st;
	int err;

	s = mirror_store__open(root, false, &err);
	ASSERT_TRUE(s != NULL, "open");
	if (!s)
		return;
	ASSERT_EQ(mirror_store__primary(s, "h.com", &st), 0, "get");
	ASSERT_EQ(st, MIRROR_PRIMARY, "primary by default");
	ASSERT_EQ(mirror_store__set_primary(s, "h.com", false), 0, "unset");
	mirror_store__primary(s, "h.com", &st);
	ASSERT_EQ(st, MIRROR_NOT_PRIMARY, "not primary");
	ASSERT_EQ(mirror_store__set_primary(s, "h.com", true), 0, "set");
	mirror_store__primary(s, "h.com", &st);
	ASSERT_EQ(st, MIRROR_RESYNC_PENDING, "needs resync first");
	ASSERT_EQ(mirror_store__resynced(s, "h.com"), 0, "resynced");
	mirror_store__primary(s, "h.com", &st);
	ASSERT_EQ(st, MIRROR_PRIMARY, "primary after resync");
	ASSERT_EQ(mirror_store__set_primary(s, "../x", false), -MIRROR_EPATH, "bad host");
	mirror_store__close(s);
}

int main(void)
{
	char cmd[300];

	snprintf(root, sizeof(root), "/tmp/t-mirror-store.%d", getpid());
	RUN(test_path_check);
	RUN(test_manifest_roundtrip);
	RUN(test_refresh_and_symlinks);
	RUN(test_install);
	RUN(test_primary);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		return 1;
	return harness_exit();
}
