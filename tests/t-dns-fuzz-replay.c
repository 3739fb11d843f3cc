// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replays the committed seed corpora of the dns/ fuzz targets through the
 * same entry points, built with the normal compiler (and with ASan/UBSan
 * under make SAN=1), so every seed is checked by make test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

int dns_fuzz_parse(const uint8_t *data, size_t size);
int dns_fuzz_tsig(const uint8_t *data, size_t size);

static int replay(const char *dir, int (*fn)(const uint8_t *, size_t))
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[512], *buf = NULL;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (read_file_all(path, 1 << 20, &buf, &len))
			continue;
		/* an exact-size copy, so a sanitizer build catches overreads */
		uint8_t *exact = malloc(len ? len : 1);

		memcpy(exact, buf, len);
		fn(exact, len);
		free(exact);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

int main(void)
{
	const char *root = getenv("PRESAGE_ROOT");
	char dir[512];
	int n, bad = 0;

	snprintf(dir, sizeof(dir), "%s/dns/fuzz/corpus/parse", root ? root : ".");
	n = replay(dir, dns_fuzz_parse);
	bad |= n <= 0;
	printf("%s: dns-fuzz-parse: %d seeds replayed from %s\n", n > 0 ? "PASS" : "FAIL", n, dir);
	snprintf(dir, sizeof(dir), "%s/dns/fuzz/corpus/tsig", root ? root : ".");
	n = replay(dir, dns_fuzz_tsig);
	bad |= n <= 0;
	printf("%s: dns-fuzz-tsig: %d seeds replayed from %s\n", n > 0 ? "PASS" : "FAIL", n, dir);
	return bad;
}
