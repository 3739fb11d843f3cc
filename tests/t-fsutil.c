// SPDX-License-Identifier: GPL-2.0-only
/* Atomic writes: the file is whole or absent, no temporary survives. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "harness.h"

static char dir[] = "/tmp/presage-fsutil-XXXXXX";

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_write_file_atomic_replaces(void)
{
	char path[256], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/state", dir);
	ASSERT_EQ(write_file_atomic(path, "one", 3, 0600), 0, "first write");
	ASSERT_EQ(write_file_atomic(path, "second", 6, 0600), 0, "second write");
	ASSERT_EQ(read_file_all(path, 1024, &buf, &len), 0, "read back");
	ASSERT_EQ(len, 6, "length");
	ASSERT_STREQ(buf, "second", "content");
	ASSERT_EQ(count_entries(), 1, "no temporary files left");
	free(buf);
}

static void test_write_file_atomic_bad_dir(void)
{
	ASSERT_EQ(write_file_atomic("/nonexistent-dir/x", "a", 1, 0600), -ENOENT, "missing dir");
}

static void test_read_file_all_limit(void)
{
	char path[256], *buf = NULL;
	size_t len;
	char big[10000];

	memset(big, 'x', sizeof(big));
	snprintf(path, sizeof(path), "%s/big", dir);
	ASSERT_EQ(write_file_atomic(path, big, sizeof(big), 0600), 0, "write big");
	ASSERT_EQ(read_file_all(path, 100, &buf, &len), -EFBIG, "over limit refused");
	ASSERT_EQ(read_file_all(path, 20000, &buf, &len), 0, "under limit");
	ASSERT_EQ(len, sizeof(big), "length");
	free(buf);
}

static void test_mkdir_p(void)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ASSERT_EQ(mkdir_p(path, 0700), 0, "mkdir_p");
	ASSERT_EQ(stat(path, &st), 0, "exists");
	ASSERT_EQ(mkdir_p(path, 0700), 0, "mkdir_p again is fine");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_write_file_atomic_replaces);
	RUN(test_write_file_atomic_bad_dir);
	RUN(test_read_file_all_limit);
	RUN(test_mkdir_p);
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return harness_exit();
}
