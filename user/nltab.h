/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nltab: an open-addressing hash table of fixed-size keys and values, for
 * nlmon's route table (up to millions of routes) and nexthop objects.
 *
 * Why our own and not a library's: the node-based tables at hand (uthash,
 * GLib's GHashTable) allocate per entry and carry 40-60 bytes of bookkeeping
 * for every route; a full Internet table (about 1M IPv4 + 200k IPv6 routes)
 * would cost more in bookkeeping than in data. Here an entry is a 32-bit hash
 * tag plus the key and value, stored inline in one array: linear probing,
 * a load factor of at most 3/4 (then the array doubles), and deletion by
 * backward shift, so there are no tombstones and lookups never degrade.
 * Keys are compared bytewise: zero any padding in them.
 *
 * Value pointers stay valid until the next insertion or deletion.
 * Not thread-safe; the caller locks.
 */
#ifndef PRESAGE_NLTAB_H
#define PRESAGE_NLTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nltab;

/* A table for @key_size and @val_size bytes; NULL and errno on failure. */
struct nltab *nltab__new(size_t key_size, size_t val_size);
void nltab__free(struct nltab *t);

size_t nltab__count(const struct nltab *t);
/* Slots allocated (a power of two), for memory accounting and tests. */
size_t nltab__capacity(const struct nltab *t);

/* The value stored under @key, or NULL. */
void *nltab__get(const struct nltab *t, const void *key);
/*
 * The value under @key, inserted zero-filled when absent (*@inserted says
 * which). NULL and errno ENOMEM when the table cannot grow.
 */
void *nltab__put(struct nltab *t, const void *key, bool *inserted);
/* 0, or -ENOENT. */
int nltab__del(struct nltab *t, const void *key);

/*
 * Visit every entry; @fn returns true to delete the entry it was given.
 * Every entry present at the start is visited exactly once. Returns the
 * number deleted.
 */
typedef bool (*nltab_visit_fn)(void *ctx, const void *key, void *val);
size_t nltab__sweep(struct nltab *t, nltab_visit_fn fn, void *ctx);

/* The 32-bit hash of @len bytes (never 0: 0 marks an empty slot). */
uint32_t nltab_hash(const void *data, size_t len);

#endif
