// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static const char *cur_ident;
static bool with_time;

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_ident(const char *ident)
{
	cur_ident = ident;
}

void log_set_timestamps(bool on)
{
	with_time = on;
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char ts[40] = "";

	if (lvl > cur_level)
		return;
	if (with_time) {
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ ", now.tv_nsec / 1000000);
	}
	fprintf(stderr, "%s%s%s", ts, cur_ident ? cur_ident : "", cur_ident ? ": " : "");
	if (lvl != LOG_LVL_INFO)
		fprintf(stderr, "%s: ", names[lvl]);
	vfprintf(stderr, fmt, ap);
	/* Callers may or may not end with a newline; libbpf always does. */
	if (fmt[0] && fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* One level down: libbpf warnings are our info, its info our debug. */
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	/* libxdp's run-config section is read by libxdp, not libbpf: not news. */
	if (strstr(fmt, "skipping unrecognized data section"))
		lvl = LOG_LVL_DEBUG;
	log_vmsg(lvl, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBXDP_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	log_vmsg(lvl, fmt, ap);
	return 0;
}

void log_hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
