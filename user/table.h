/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Aligned text tables for the CLI, as ip and bpftool print them: a header
 * row, columns two spaces apart, the last one not padded (user/table.c).
 *
 *   struct tbl t;
 *   tbl_init(&t, "NAME >RISK");       // '>' right-aligns a column
 *   tbl_add(&t, "popA"); tbl_add(&t, "0.71");
 *   tbl_print(&t, false);             // prints and frees
 */
#ifndef PRESAGE_TABLE_H
#define PRESAGE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#define TBL_MAX_COLS 16

struct tbl {
	int ncols;
	char *spec;
	const char *hdr[TBL_MAX_COLS];
	bool right[TBL_MAX_COLS];
	char **cells;
	size_t n, cap;
	bool oom;
};

/* spec: space-separated headers; a leading '>' right-aligns the column. */
void tbl_init(struct tbl *t, const char *spec);
/* The next cell, row by row; NULL or "" prints as "-". */
void tbl_add(struct tbl *t, const char *s);
/* Print (the header unless no_header) and free. 0, or -ENOMEM (said on stderr). */
int tbl_print(struct tbl *t, bool no_header);

#endif
