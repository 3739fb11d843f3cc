// SPDX-License-Identifier: GPL-2.0-only
/* PFA model state on disk: the I/O half of serialize.c. */
#include <errno.h>
#include <stdlib.h>

#include "fsutil.h"
#include "pfa/pfa_int.h"

int pfa_model__save(const struct pfa_model *m, const char *path)
{
	void *buf = NULL;
	size_t len = 0;
	int err;

	err = pfa_model__serialize(m, &buf, &len);
	if (err)
		return err;
	err = write_file_atomic(path, buf, len, 0644);
	free(buf);
	return err;
}

int pfa_model__load(struct pfa_model *m, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	/* Larger than any file this model could have written: not ours. */
	err = read_file_all(path, pfa_state__max_bytes(m), &buf, &len);
	if (err == -EFBIG)
		return -PFA_EMAGIC;
	if (err)
		return err;
	err = pfa_model__deserialize(m, buf, len);
	free(buf);
	return err;
}
