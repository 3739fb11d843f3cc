/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's health API over HTTP or HTTPS (libmicrohttpd):
 *
 *   GET /v1/health                 latest sample per interconnect
 *   GET /v1/history?since=MS[&link=NAME]   samples newer than MS (Unix ms), oldest first
 *   GET /v1/events?since=MS&after=ID       recent events (agent start/stop, link up/down, ...)
 *   GET /metrics                   Prometheus text format 0.0.4
 *
 * libmicrohttpd's own threads serve requests; they read the store, which the
 * tick fills, so neither waits on the other beyond a copy. The listening
 * socket is bound here (not by libmicrohttpd) so a busy port gets a precise
 * message. Schema, limits and status codes: docs/health-api.md.
 */
#ifndef PRESAGE_API_H
#define PRESAGE_API_H

#include "config.h"
#include "store.h"

struct api;

/*
 * Serve @st on cfg->listen (TLS when cfg->tls_cert is set, client
 * certificates required when cfg->tls_client_ca is set). NULL after a
 * pr_err() that says what is wrong (port in use, unreadable or mismatched
 * certificate and key, ...). cfg->listen empty: returns NULL with errno 0
 * (API off).
 */
struct api *api_start(const struct ihm_config *cfg, struct store *st);
/* Stop serving (waits for requests in flight); NULL is fine. */
void api_stop(struct api *a);

#endif
