/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The content agent: serves its store to destinations that hold a signed
 * order (mirror_serve), and pulls from a source on such an order
 * (mirror_pull). The daemon (presage-mirrord) and `presage mirror` are thin
 * wrappers around these two.
 */
#ifndef PRESAGE_MIRROR_AGENT_H
#define PRESAGE_MIRROR_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mirror/mirror.h"

struct mirror_agent_cfg {
	const char *root;	/* content store */
	const char *pop;	/* this POP's name (= CN of its certificate) */
	const char *region;	/* this POP's region (residency) */
	const char *cert, *key, *ca;	/* PEM: own chain, own key, deployment CA */
	const char *order_pub;	/* controller's Ed25519 public key (PEM) */
	const char *policy;	/* topology/policy file with "host ... regions ..." lines */
	const char *listen;	/* serve: address:port */
	int parallel;		/* pull: connections in parallel (default 4) */
	uint64_t bwlimit;	/* pull: bytes/s; 0 = as the order says */
	/* pull: when set (e.g. by SIGTERM), items in flight finish and no new
	 * item starts; the pull returns -ECANCELED. NULL: never. */
	volatile sig_atomic_t *abort;
};

struct mirror_progress {
	uint64_t items_total, items_done, items_failed, items_skipped, items_deleted;
	uint64_t bytes_total, bytes_done;	/* content bytes */
	uint64_t wire_rx, wire_tx;		/* TLS bytes on the socket */
	double elapsed_s, rate_bps, eta_s;
	bool finished;
};

typedef void (*mirror_progress_fn)(void *arg, const struct mirror_progress *p);

int mirror_serve(const struct mirror_agent_cfg *cfg, volatile sig_atomic_t *stop);
int mirror_pull(const struct mirror_agent_cfg *cfg, const char *order, size_t order_len,
		mirror_progress_fn fn, void *arg, struct mirror_progress *result);

/*
 * serve with a command channel (presage-mirrord run): a connection whose
 * first frame is a command (MIRROR_F_SUBMIT and later types) rather than
 * HELLO is handed to @fn, if the peer's certificate CN is @controller_cn;
 * any other peer gets ERR(MIRROR_EPEER). @fn appends its answer frames to
 * @r with mirror_reply__frame, or returns an error with @msg, which goes
 * back as one ERR frame. One command per connection.
 */
struct mirror_reply {
	uint8_t *buf;
	size_t len, cap;
};
int mirror_reply__frame(struct mirror_reply *r, uint8_t type, const void *p, size_t len);

typedef int (*mirror_cmd_fn)(void *arg, uint8_t type, const uint8_t *p, size_t len,
			     struct mirror_reply *r, char *msg, size_t msglen);
struct mirror_cmd_hook {
	const char *controller_cn;
	mirror_cmd_fn fn;
	void *arg;
};
int mirror_serve_cmd(const struct mirror_agent_cfg *cfg, volatile sig_atomic_t *stop,
		     const struct mirror_cmd_hook *hook);

SSL_CTX *mirror_tls_ctx(const struct mirror_agent_cfg *cfg, bool server);
/*
 * "host:port" or "[v6]:port" into @host (brackets taken off) and @port (a
 * pointer into @host's buffer, maybe empty). 0 or -EINVAL.
 */
int mirror_split_addr(const char *s, char *host, size_t cap, const char **port);
int mirror_tls_peer_name(SSL *ssl, char *name, size_t cap);
void mirror_tls_log_errors(const char *what);

#endif
