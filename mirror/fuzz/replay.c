// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replays the committed seed corpora of the mirror fuzz targets through the
 * same entry points libFuzzer calls, built with the normal compiler (and
 * with ASan/UBSan under SAN=1), so `make test` catches regressions on them.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"

int mirror_fuzz_proto(const uint8_t *data, size_t size);
int mirror_fuzz_delta(const uint8_t *data, size_t size);

static int replay(const char *name, const char *dir, int (*fn)(const uint8_t *, size_t))
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d) {
		printf("FAIL: fuzz_replay_%s: cannot open corpus %s\n", name, dir);
		return 1;
	}
	while ((de = readdir(d))) {
		char path[1024];
		char *buf;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_file_all(path, 1 << 24, &buf, &len))
			continue;
		fn((const uint8_t *)buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	if (n == 0) {
		printf("FAIL: fuzz_replay_%s: empty corpus %s\n", name, dir);
		return 1;
	}
	printf("PASS: fuzz_replay_%s (%d inputs)\n", name, n);
	return 0;
}

int main(void)
{
	const char *root = getenv("PRESAGE_ROOT");
	char a[512], b[512];
	int fails = 0;

	log_set_level(LOG_LVL_ERR);
	snprintf(a, sizeof(a), "%s/mirror/fuzz/corpus-proto", root ? root : ".");
	snprintf(b, sizeof(b), "%s/mirror/fuzz/corpus-delta", root ? root : ".");
	fails += replay("proto", a, mirror_fuzz_proto);
	fails += replay("delta", b, mirror_fuzz_delta);
	return fails ? 1 : 0;
}
