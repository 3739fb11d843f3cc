/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logging function with levels for every presage program. libbpf's and
 * libxdp's own messages are routed through it one level down (their warnings
 * become our info, their info our debug), as xdp-tools does.
 */
#ifndef PRESAGE_LOG_H
#define PRESAGE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Prefix every line with the program name ("ihmd: ..."). */
void log_set_ident(const char *ident);
/* Prefix every line with an ISO-8601 time stamp (daemons). */
void log_set_timestamps(bool on);
/* Route libbpf and libxdp messages through our logger. */
void log_hook_libbpf(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

#define pr_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
