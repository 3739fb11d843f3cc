/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mirror/: moves a POP's hot content to another POP before an interconnect
 * fails. Parts, each in its own file:
 *
 *   store.c   content store under a root, by host and path; manifest kept
 *             crash-safely; every path walked with O_NOFOLLOW from the root
 *   proto.c   framed wire protocol, parsed by a resumable state machine
 *   delta.c   librsync signature/delta/patch as streaming jobs
 *   order.c   transfer orders signed by the controller (Ed25519)
 *   tls.c     TLS 1.3 with mutual certificate authentication
 *   agent.c   the source side (serve) and destination side (pull)
 *   hot.c     access-log follower and decayed Space-Saving top-K
 *   plan.c    planner: residency, cost, capacity, lead time
 *
 * Every int function returns 0 or a negative errno, or a negative MIRROR_E*
 * code for failures that are not system errors. mirror_strerror() names both.
 */
#ifndef PRESAGE_MIRROR_H
#define PRESAGE_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Domain errors. They sit above 4000 so they can never collide with an errno
 * (Linux errnos stop below 150); they are turned into wire codes in exactly
 * one place, mirror_err_to_wire().
 */
enum mirror_err {
	MIRROR_EBASE = 4000,
	MIRROR_EPATH,		/* unsafe path: "..", absolute, symlink, bad host */
	MIRROR_EFRAME,		/* malformed frame on the wire */
	MIRROR_EPROTO,		/* well-formed frame at the wrong time */
	MIRROR_EORDER,		/* malformed order */
	MIRROR_ESIG,		/* order signature does not verify */
	MIRROR_EEXPIRED,	/* order past its expiry */
	MIRROR_EWRONGPOP,	/* order names another source or destination */
	MIRROR_EPEER,		/* TLS peer's certificate names another POP */
	MIRROR_ERESIDENCY,	/* host may not be stored in this region */
	MIRROR_EDIGEST,		/* SHA-256 differs from the source manifest */
	MIRROR_EDELTA,		/* corrupt signature or delta stream */
	MIRROR_EMANIFEST,	/* malformed manifest */
	MIRROR_ETLS,		/* TLS handshake or I/O failure */
	MIRROR_EREFUSED,	/* the peer refused (see its log) */
	MIRROR_ECONFIG,		/* malformed topology, policy or log format */
	MIRROR_ELOCKED,		/* another transfer holds the store */
	MIRROR_EMAX,
};

const char *mirror_strerror(int err);

/* ---- store.c ---------------------------------------------------------- */

#define MIRROR_PATH_MAX 1024
#define MIRROR_NAME_MAX 255
#define MIRROR_HOST_MAX 253

/* One item of a store: "host/path/in/host". */
struct mirror_entry {
	char *path;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t ino;
	uint32_t version;	/* bumped every time the SHA-256 changes */
	uint8_t sha[32];
};

struct mirror_manifest {
	struct mirror_entry *v;
	size_t n, cap;
};

void mirror_manifest__clear(struct mirror_manifest *m);
int mirror_manifest__add(struct mirror_manifest *m, const struct mirror_entry *e);
void mirror_manifest__sort(struct mirror_manifest *m);
struct mirror_entry *mirror_manifest__find(const struct mirror_manifest *m, const char *path);
/* Text form, one item per line; parse checks every field. */
int mirror_manifest__format(const struct mirror_manifest *m, char **buf, size_t *len);
int mirror_manifest__parse(struct mirror_manifest *m, const char *buf, size_t len);

/* 0 if @path is "host/a/b" with a valid host and no ".", "..", empty or
 * over-long component, no control characters; else -MIRROR_EPATH. */
int mirror_path_check(const char *path);
int mirror_host_check(const char *host);

struct mirror_store;

/* Opens (creating if asked) the store at @root. @writer takes the store's
 * lock (one transfer at a time) and removes stray temporary files. */
struct mirror_store *mirror_store__open(const char *root, bool writer, int *errp);
void mirror_store__close(struct mirror_store *s);
/* Rescan the tree; rehash only files whose size, mtime or inode changed;
 * persist the manifest if anything changed. */
int mirror_store__refresh(struct mirror_store *s, bool *changed);
/* Copy of the manifest (caller clears it). */
int mirror_store__snapshot(struct mirror_store *s, struct mirror_manifest *out);
int mirror_store__save(struct mirror_store *s);
/* Open an item for reading; refuses symlinks anywhere on the way. */
int mirror_store__open_item(struct mirror_store *s, const char *path, int *fd);
/* A temporary file in the store's private tmp directory (never served). */
int mirror_store__tmp_create(struct mirror_store *s, int *fd, char name[64]);
void mirror_store__tmp_discard(struct mirror_store *s, const char *name);
/* fsync @fd, rename tmp @name to @path (creating directories), fsync the
 * directory, and record @e in the manifest. */
int mirror_store__install(struct mirror_store *s, int fd, const char *name,
			  const struct mirror_entry *e);
int mirror_store__remove(struct mirror_store *s, const char *path);
const char *mirror_store__root(const struct mirror_store *s);

/* Primary flag per host (invalidation). The content server refuses to serve
 * a host while its flag file exists (see docs/mirror.md for nginx). */
enum mirror_primary {
	MIRROR_PRIMARY = 0,
	MIRROR_NOT_PRIMARY,
	MIRROR_RESYNC_PENDING,	/* primary again, waiting for a full re-sync */
};
int mirror_store__set_primary(struct mirror_store *s, const char *host, bool primary);
int mirror_store__primary(struct mirror_store *s, const char *host, enum mirror_primary *st);
/* Called after a full re-sync of @host: clears a pending flag. */
int mirror_store__resynced(struct mirror_store *s, const char *host);

int mirror_sha256_fd(int fd, uint8_t sha[32], uint64_t *size);
void mirror_hex(const uint8_t *in, size_t n, char *out);

/* ---- proto.c ------------------------------------------------------------ */

/* Frame: type (1 byte), payload length (4 bytes, big endian), payload. */
#define MIRROR_FRAME_HDR 5
#define MIRROR_FRAME_MAX (1u << 20)

enum mirror_frame_type {
	MIRROR_F_HELLO = 1,	/* C->S: u8 flags, signed order text */
	MIRROR_F_OK,		/* S->C: hello accepted */
	MIRROR_F_MANIFEST,	/* S->C: entries (see mirror_wire_entry) */
	MIRROR_F_MANIFEST_END,	/* S->C */
	MIRROR_F_GET,		/* C->S: u8 mode, u16 len, path */
	MIRROR_F_SIG,		/* C->S: chunk of librsync signature */
	MIRROR_F_SIG_END,	/* C->S */
	MIRROR_F_DATA,		/* S->C: chunk of file (whole) or delta */
	MIRROR_F_DATA_END,	/* S->C: u64 size, 32-byte SHA-256 of the file as sent */
	MIRROR_F_ERR,		/* both: u16 wire code, message */
	MIRROR_F_BYE,		/* C->S */
	/*
	 * Command channel (presage-mirrord run): the first frame of a
	 * connection from the controller, one command per connection; the
	 * answer is the frame named, or ERR. Codecs in mirror/ctl.h.
	 */
	MIRROR_F_SUBMIT,	/* C->S: signed order text          -> JOB */
	MIRROR_F_STATUS,	/* C->S: order id                   -> JOB */
	MIRROR_F_JOB,		/* S->C: job status (mirror_wire_put_job) */
	MIRROR_F_PRIMARY,	/* C->S: signed flag command text   -> PRIMARY_STATE */
	MIRROR_F_PRIMARY_STATE,	/* S->C: u8 enum mirror_primary */
	MIRROR_F_HOT,		/* C->S: u32 n, host (may be empty)  -> HOT_ITEMS */
	MIRROR_F_HOT_ITEMS,	/* S->C: items (mirror_wire_put_hot), possibly several frames, then HOT_END */
	MIRROR_F_HOT_END,	/* S->C */
	MIRROR_F_HOSTMAN,	/* C->S: host -> MANIFEST ... MANIFEST_END */
	MIRROR_F_TYPE_MAX,
};

#define MIRROR_HELLO_MANIFEST 0x01
#define MIRROR_GET_WHOLE 0
#define MIRROR_GET_DELTA 1

enum mirror_fp_state { MIRROR_FP_HDR, MIRROR_FP_BODY, MIRROR_FP_DONE };

/* Resumable frame parser: feed it buffers of any size. */
struct mirror_frame_parser {
	enum mirror_fp_state state;
	uint8_t hdr[MIRROR_FRAME_HDR];
	size_t have;
	uint8_t type;
	uint32_t len;
	uint8_t *payload;
	size_t cap;
	uint32_t max;
};

void mirror_frame_parser__init(struct mirror_frame_parser *p, uint32_t max);
void mirror_frame_parser__free(struct mirror_frame_parser *p);
/* Consumes up to @len bytes (*used says how many). Returns 1 when a frame is
 * complete (p->type, p->payload, p->len valid until the next call), 0 when
 * it needs more input, or a negative error. */
int mirror_frame_parser__feed(struct mirror_frame_parser *p, const uint8_t *buf, size_t len,
			      size_t *used);

/* Payload codecs; each checks every length against the payload. */
int mirror_wire_put_entry(uint8_t *buf, size_t cap, const struct mirror_entry *e, size_t *n);
/* Decodes the entry at *off; path is malloc'd. */
int mirror_wire_get_entry(const uint8_t *buf, size_t len, size_t *off, struct mirror_entry *e);
int mirror_wire_get_get(const uint8_t *buf, size_t len, uint8_t *mode, char *path, size_t cap);
int mirror_wire_get_err(const uint8_t *buf, size_t len, int *err, char *msg, size_t cap);
uint16_t mirror_err_to_wire(int err);
int mirror_err_from_wire(uint16_t code);

/* ---- delta.c ------------------------------------------------------------ */

struct rs_signature;
typedef int (*mirror_sink_fn)(void *arg, const uint8_t *buf, size_t len);

/* Signature of @fd (from offset 0) streamed to @sink. */
int mirror_sig_stream(int fd, mirror_sink_fn sink, void *arg);

/* Streaming signature loader: feed chunks, then finish to get the sumset. */
struct mirror_sigload;
struct mirror_sigload *mirror_sigload__new(void);
int mirror_sigload__feed(struct mirror_sigload *l, const uint8_t *buf, size_t len);
/* Ends the stream and indexes it; the signature stays owned by @l. */
int mirror_sigload__finish(struct mirror_sigload *l, struct rs_signature **sig);
void mirror_sigload__free(struct mirror_sigload *l);

/* Delta of @fd against @sig streamed to @sink; SHA-256 of @fd as read. */
int mirror_delta_stream(struct rs_signature *sig, int fd, mirror_sink_fn sink, void *arg,
			uint8_t sha[32], uint64_t *size);

/* Streaming patcher: basis @basis_fd + delta chunks -> @out_fd. */
struct mirror_patch;
struct mirror_patch *mirror_patch__new(int basis_fd, int out_fd);
int mirror_patch__feed(struct mirror_patch *p, const uint8_t *buf, size_t len);
/* Ends the stream; SHA-256 and size of what was written. */
int mirror_patch__finish(struct mirror_patch *p, uint8_t sha[32], uint64_t *size);
void mirror_patch__free(struct mirror_patch *p);

/* Route librsync's own messages through our logger, one level down. */
void mirror_delta_log_init(void);

/* ---- order.c ------------------------------------------------------------ */

struct mirror_order {
	char id[65];
	char source[64];
	char source_addr[128];	/* host:port of the source agent */
	char destination[64];
	int64_t expires;	/* Unix seconds */
	uint64_t bwlimit;	/* bytes per second, 0 = unlimited */
	char **hosts;		/* whole hosts in scope */
	size_t nhosts;
	char **items;		/* single items in scope */
	size_t nitems;
	char *text;		/* exact signed text (for forwarding) */
	size_t text_len;
};

void mirror_order__free(struct mirror_order *o);
/* Serialize @o (without signature), sign it with the PEM private key at
 * @keyfile; the signed text is returned malloc'd. */
int mirror_order__sign(const struct mirror_order *o, const char *keyfile, char **out,
		       size_t *out_len);
/* Parse and verify @text against the PEM public key @pubfile at time @now.
 * Distinct failures: -MIRROR_EORDER, -MIRROR_ESIG, -MIRROR_EEXPIRED. */
int mirror_order__verify(struct mirror_order *o, const char *text, size_t len,
			 const char *pubfile, time_t now);
/* Parse only (for tests and the fuzzer). */
int mirror_order__parse(struct mirror_order *o, const char *text, size_t len, size_t *signed_len,
			uint8_t sig[64]);
bool mirror_order__covers(const struct mirror_order *o, const char *path);

/*
 * Flag command: "make @host (not) primary at @pop", signed with the same
 * Ed25519 key as orders, so only the controller can stop a POP serving a
 * host. Text, like an order:
 *
 *   presage-flag 1
 *   pop <pop>
 *   host <hostname>
 *   primary on|off
 *   expires <unix seconds>
 *   nonce <hex>
 *   sig <base64 Ed25519 signature of every byte before this line>
 */
struct mirror_flagcmd {
	char pop[64];
	char host[MIRROR_HOST_MAX + 1];
	bool primary;
	int64_t expires;
};

int mirror_flagcmd__sign(const struct mirror_flagcmd *c, const char *keyfile, char **out,
			 size_t *out_len);
/* Distinct failures: -MIRROR_EORDER (malformed), -MIRROR_ESIG, -MIRROR_EEXPIRED. */
int mirror_flagcmd__verify(struct mirror_flagcmd *c, const char *text, size_t len,
			   const char *pubfile, time_t now);

/* ---- plan.c (also the residency policy used by agents) ------------------- */

struct mirror_pop {
	char name[64];
	char region[32];
	uint64_t free_bytes;
	double bw_bps;		/* headroom, bytes per second */
	double storage_cost_gb;	/* per GB stored */
};

struct mirror_link {
	char a[64], b[64];
	double cost_gb;		/* per GB moved */
};

struct mirror_hostpol {
	char host[MIRROR_HOST_MAX + 1];
	char regions[8][32];
	int nregions;
};

struct mirror_topology {
	struct mirror_pop *pops;
	size_t npops;
	struct mirror_link *links;
	size_t nlinks;
	struct mirror_hostpol *hosts;
	size_t nhosts;
};

int mirror_topology__load(struct mirror_topology *t, const char *path);
int mirror_topology__parse(struct mirror_topology *t, const char *buf, size_t len);
void mirror_topology__free(struct mirror_topology *t);
/* 0 if @host may be stored in @region, else -MIRROR_ERESIDENCY. A host the
 * policy does not list is refused: residency is opt-in, never by default. */
int mirror_residency_check(const struct mirror_topology *t, const char *host, const char *region);

struct mirror_plan_item {
	char *path;		/* host/path */
	uint64_t size;
	double rate;		/* requests per second */
	bool chosen;
	const char *why;
};

struct mirror_plan_req {
	const char *at_risk;
	double lead_s;		/* seconds until the predicted failure */
	double budget_cost;	/* currency units, <= 0: unlimited */
	uint64_t budget_bytes;	/* 0: unlimited */
};

struct mirror_plan_cand {
	char pop[64];
	bool eligible;
	char why[160];
	double rate;
	uint64_t bytes;
	double cost;
	double eta_s;
	size_t nitems;
};

struct mirror_plan {
	char destination[64];	/* empty if none */
	struct mirror_plan_cand *cands;
	size_t ncands;
	struct mirror_plan_item *items;	/* in the order given, with chosen/why */
	size_t nitems;
	double rate, total_rate, cost, eta_s;
	uint64_t bytes;
};

int mirror_plan__make(struct mirror_plan *p, const struct mirror_topology *t,
		      const struct mirror_plan_req *req, const struct mirror_plan_item *items,
		      size_t nitems);
void mirror_plan__free(struct mirror_plan *p);

/* ---- hot.c --------------------------------------------------------------- */

struct mirror_topk;
/* @k counters; @half_life_s <= 0 disables decay. */
struct mirror_topk *mirror_topk__new(size_t k, double half_life_s);
void mirror_topk__free(struct mirror_topk *t);
int mirror_topk__add(struct mirror_topk *t, const char *key, double now);

struct mirror_hot {
	const char *key;
	double count;		/* decayed count at @now */
	double rate;		/* requests per second (decayed) */
	double err;		/* Space-Saving over-estimate bound */
};
/* Top @n by decayed count at @now; returns how many were written. */
size_t mirror_topk__top(struct mirror_topk *t, double now, struct mirror_hot *out, size_t n);

struct mirror_logfmt;
/* "combined", "host" (combined with $host first) or an nginx log_format
 * string; @default_host names the host when the format has no $host. */
struct mirror_logfmt *mirror_logfmt__new(const char *spec, const char *default_host, int *errp);
void mirror_logfmt__free(struct mirror_logfmt *f);
/* Parse one line: key "host/path" (query stripped) and time (Unix seconds,
 * 0 if the format has none). 0, or -MIRROR_ECONFIG for a line to skip. */
int mirror_logfmt__parse(const struct mirror_logfmt *f, const char *line, size_t len, char *key,
			 size_t cap, double *t);

/* Follows a log file across rotation (rename + new file) and truncation. */
struct mirror_follow;
struct mirror_follow *mirror_follow__new(const char *path, bool from_start);
void mirror_follow__free(struct mirror_follow *f);
/* Reads what is new; calls @fn for every complete line. */
int mirror_follow__poll(struct mirror_follow *f, void (*fn)(void *arg, const char *line, size_t len),
			void *arg);

#endif
