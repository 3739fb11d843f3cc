/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reader of health traces in CSV: a header line naming the columns, then
 * one sample per line. Known columns: ts, link, rtt_ms (taken as the RTT
 * p90), rtt_p50_ms, rtt_p90_ms, rtt_p99_ms, rtt_count, loss (0..1),
 * retrans_in, retrans_out, probe_rtt_ms, probe_loss (0..1), rx_bps,
 * tx_bps, capacity_bps, utilization, routes, announcements, withdrawals,
 * link_up (0/1), maint_in (seconds until planned maintenance). Only ts and
 * link are required; unknown columns are ignored.
 *
 * The reader is a resumable state machine: feed it buffers of any size,
 * split anywhere. A malformed line (wrong field count, bad ts or link, too
 * long) is reported with its number and skipped; a bad value (NaN,
 * negative, out of range, not a number) is reported and dropped, and the
 * rest of its line is kept.
 */
#ifndef PRESAGE_PFA_CSV_H
#define PRESAGE_PFA_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "pfa/pfa.h"

/* Longest line accepted; the widest real row is about 200 bytes. */
#define PFA_CSV_LINE_MAX 1024
#define PFA_CSV_COLS_MAX 32

/* Return nonzero to stop reading (feed returns that value). */
typedef int (*pfa_csv_row_fn)(void *ctx, const struct pfa_sample *s, uint64_t line);
/* A problem on @line (1-based; the header is line 1). */
typedef void (*pfa_csv_err_fn)(void *ctx, uint64_t line, const char *msg);

struct pfa_csv_stats {
	uint64_t lines;
	uint64_t rows; /* samples handed to the row callback */
	uint64_t bad_lines; /* skipped */
	uint64_t bad_fields; /* dropped values */
};

struct pfa_csv;

/* NULL with errno set. @err may be NULL (problems are only counted). */
struct pfa_csv *pfa_csv__new(pfa_csv_row_fn row, pfa_csv_err_fn err, void *ctx);
void pfa_csv__free(struct pfa_csv *c);
/* 0; -EINVAL if the header lacks ts or link (then every later call too). */
int pfa_csv__feed(struct pfa_csv *c, const char *buf, size_t len);
/* End of input: a last line without a newline is parsed. */
int pfa_csv__finish(struct pfa_csv *c);
void pfa_csv__stats(const struct pfa_csv *c, struct pfa_csv_stats *st);

/* The columns pfa_sample__to_csv writes, without a newline. */
extern const char pfa_csv_header[];
/* One sample as a CSV line (with newline) in the column order of the header. */
int pfa_sample__to_csv(const struct pfa_sample *s, char *buf, size_t len);

#endif
