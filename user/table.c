// SPDX-License-Identifier: GPL-2.0-only
/* Aligned text tables for the CLI (table.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

void tbl_init(struct tbl *t, const char *spec)
{
	char *save, *tok;

	memset(t, 0, sizeof(*t));
	t->spec = strdup(spec);
	if (!t->spec) {
		t->oom = true;
		return;
	}
	for (tok = strtok_r(t->spec, " ", &save); tok && t->ncols < TBL_MAX_COLS;
	     tok = strtok_r(NULL, " ", &save)) {
		t->right[t->ncols] = *tok == '>';
		t->hdr[t->ncols++] = tok + (*tok == '>');
	}
}

void tbl_add(struct tbl *t, const char *s)
{
	char **nc;

	if (t->oom)
		return;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		nc = realloc(t->cells, t->cap * sizeof(*nc));
		if (!nc) {
			t->oom = true;
			return;
		}
		t->cells = nc;
	}
	t->cells[t->n] = strdup(s && *s ? s : "-");
	if (!t->cells[t->n])
		t->oom = true;
	else
		t->n++;
}

static void tbl_line(const struct tbl *t, const int *w, const char *const *row)
{
	for (int c = 0; c < t->ncols; c++) {
		bool last = c == t->ncols - 1;

		if (t->right[c])
			printf("%*s", w[c], row[c]);
		else
			printf("%-*s", last ? 0 : w[c], row[c]);
		fputs(last ? "\n" : "  ", stdout);
	}
}

/* Print (header unless `no_header`) and free. Returns 0 or -ENOMEM. */
int tbl_print(struct tbl *t, bool no_header)
{
	int w[TBL_MAX_COLS] = {0}, err = t->oom ? -ENOMEM : 0;
	size_t rows = t->ncols ? t->n / t->ncols : 0;

	if (!err) {
		for (int c = 0; c < t->ncols; c++)
			w[c] = (int)strlen(t->hdr[c]);
		for (size_t i = 0; i < rows * t->ncols; i++)
			if ((int)strlen(t->cells[i]) > w[i % t->ncols])
				w[i % t->ncols] = (int)strlen(t->cells[i]);
		if (!no_header)
			tbl_line(t, w, t->hdr);
		for (size_t r = 0; r < rows; r++)
			tbl_line(t, w, (const char *const *)t->cells + r * t->ncols);
	} else {
		fprintf(stderr, "presage: out of memory\n");
	}
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->spec);
	fflush(stdout);
	return err;
}
