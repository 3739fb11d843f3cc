// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replays the CSV fuzz target over every file of the committed seed corpus
 * (pfa/fuzz/corpus) with the normal compiler, so `make test` (and the
 * sanitizer build) re-checks every input the fuzzer ever found interesting.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

/* t-pfa-fuzz-config-replay.c includes this file with its own corpus. */
#ifndef PFA_FUZZ_CORPUS
#define PFA_FUZZ_CORPUS "pfa/fuzz/corpus"
#define PFA_FUZZ_NAME "fuzz_csv_corpus"
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(void)
{
	const char *root = getenv("PRESAGE_ROOT");
	char dir[4096], path[8192];
	struct dirent *de;
	int n = 0, failed = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" PFA_FUZZ_CORPUS, root ? root : ".");
	d = opendir(dir);
	if (!d) {
		printf("FAIL: " PFA_FUZZ_NAME ": cannot open %s\n", dir);
		return 1;
	}
	while ((de = readdir(d))) {
		char *buf = NULL;
		size_t len = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_file_all(path, 1 << 20, &buf, &len)) {
			printf("  cannot read %s\n", path);
			failed++;
			continue;
		}
		LLVMFuzzerTestOneInput((unsigned char *)buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	if (failed || n == 0) {
		printf("FAIL: " PFA_FUZZ_NAME ": %d inputs replayed, %d unreadable\n", n, failed);
		return 1;
	}
	printf("PASS: " PFA_FUZZ_NAME " (%d inputs)\n", n);
	return 0;
}
