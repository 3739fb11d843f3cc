/* SPDX-License-Identifier: GPL-2.0-only */
/* File helpers shared by every part that keeps state on disk. */
#ifndef PRESAGE_FSUTIL_H
#define PRESAGE_FSUTIL_H

#include <stddef.h>

/*
 * Replace @path with @len bytes from @buf atomically: write a temporary
 * file in the same directory, fsync it, rename it over @path, fsync the
 * directory. A crash at any point leaves either the old or the new file.
 * Returns 0 or a negative errno; the temporary file never survives.
 */
int write_file_atomic(const char *path, const void *buf, size_t len, int mode);

/*
 * Read a whole file into a malloc'd, NUL-terminated buffer.
 * Returns 0 and sets *buf and *len, or a negative errno. Files larger than
 * @max are refused with -EFBIG.
 */
int read_file_all(const char *path, size_t max, char **buf, size_t *len);

/* fsync the directory that holds @path. */
int fsync_parent_dir(const char *path);

/* mkdir -p; 0 or negative errno. */
int mkdir_p(const char *path, int mode);

#endif
