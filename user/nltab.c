// SPDX-License-Identifier: GPL-2.0-only
/* Open-addressing hash table with backward-shift deletion (see nltab.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nltab.h"

#define NLTAB_MIN_CAP 64

struct nltab {
	size_t key_size, val_size;
	size_t slot_size;	/* tag + key + value, rounded up to 4 bytes */
	size_t cap;		/* power of two */
	size_t count;
	unsigned char *slots;
};

static inline uint32_t *slot_tag(const struct nltab *t, size_t i)
{
	return (uint32_t *)(t->slots + i * t->slot_size);
}

static inline void *slot_key(const struct nltab *t, size_t i)
{
	return t->slots + i * t->slot_size + sizeof(uint32_t);
}

static inline void *slot_val(const struct nltab *t, size_t i)
{
	return t->slots + i * t->slot_size + sizeof(uint32_t) + t->key_size;
}

/*
 * 64-bit multiply-xorshift over the key, 8 bytes at a time (the mixing of
 * splitmix64/Murmur3's finalizer), folded to 32 bits. Keys here are short
 * and fixed-size, so this beats a general byte-stream hash.
 */
uint32_t nltab_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	uint32_t r;

	while (len > 0) {
		uint64_t w = 0;
		size_t n = len < 8 ? len : 8;

		memcpy(&w, p, n);
		h ^= w;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		p += n;
		len -= n;
	}
	h ^= h >> 30;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	r = (uint32_t)(h ^ (h >> 32));
	return r ? r : 1;
}

struct nltab *nltab__new(size_t key_size, size_t val_size)
{
	struct nltab *t;

	if (!key_size) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key_size = key_size;
	t->val_size = val_size;
	t->slot_size = (sizeof(uint32_t) + key_size + val_size + 3) & ~(size_t)3;
	t->cap = NLTAB_MIN_CAP;
	t->slots = calloc(t->cap, t->slot_size);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void nltab__free(struct nltab *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

size_t nltab__count(const struct nltab *t)
{
	return t->count;
}

size_t nltab__capacity(const struct nltab *t)
{
	return t->cap;
}

/* The slot holding @key, or the empty slot where it would go. */
static size_t find_slot(const struct nltab *t, const void *key, uint32_t h, bool *found)
{
	size_t mask = t->cap - 1, i = h & mask;

	for (;;) {
		uint32_t tag = *slot_tag(t, i);

		if (!tag) {
			*found = false;
			return i;
		}
		if (tag == h && !memcmp(slot_key(t, i), key, t->key_size)) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

void *nltab__get(const struct nltab *t, const void *key)
{
	bool found;
	size_t i = find_slot(t, key, nltab_hash(key, t->key_size), &found);

	return found ? slot_val(t, i) : NULL;
}

static int grow(struct nltab *t)
{
	struct nltab old = *t;
	size_t ncap = t->cap * 2;

	if (ncap < t->cap || ncap > SIZE_MAX / t->slot_size)
		return -ENOMEM;
	t->slots = calloc(ncap, t->slot_size);
	if (!t->slots) {
		t->slots = old.slots;
		return -ENOMEM;
	}
	t->cap = ncap;
	for (size_t i = 0; i < old.cap; i++) {
		uint32_t tag = *slot_tag(&old, i);
		bool found;
		size_t j;

		if (!tag)
			continue;
		j = find_slot(t, slot_key(&old, i), tag, &found);
		memcpy(t->slots + j * t->slot_size, old.slots + i * t->slot_size, t->slot_size);
	}
	free(old.slots);
	return 0;
}

void *nltab__put(struct nltab *t, const void *key, bool *inserted)
{
	uint32_t h = nltab_hash(key, t->key_size);
	bool found;
	size_t i = find_slot(t, key, h, &found);

	if (found) {
		if (inserted)
			*inserted = false;
		return slot_val(t, i);
	}
	/* Keep the load factor at or below 3/4: probe chains stay short. */
	if ((t->count + 1) * 4 > t->cap * 3) {
		if (grow(t)) {
			errno = ENOMEM;
			return NULL;
		}
		i = find_slot(t, key, h, &found);
	}
	*slot_tag(t, i) = h;
	memcpy(slot_key(t, i), key, t->key_size);
	memset(slot_val(t, i), 0, t->val_size);
	t->count++;
	if (inserted)
		*inserted = true;
	return slot_val(t, i);
}

/*
 * Empty slot @i and pull later entries of the same probe chain back into the
 * hole, so that no lookup ever needs a tombstone to keep probing.
 */
static void remove_slot(struct nltab *t, size_t i)
{
	size_t mask = t->cap - 1, j = i;

	for (;;) {
		uint32_t tag;
		size_t home;

		j = (j + 1) & mask;
		tag = *slot_tag(t, j);
		if (!tag)
			break;
		home = tag & mask;
		/* The entry at j may move to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		memcpy(t->slots + i * t->slot_size, t->slots + j * t->slot_size, t->slot_size);
		i = j;
	}
	*slot_tag(t, i) = 0;
	t->count--;
}

int nltab__del(struct nltab *t, const void *key)
{
	bool found;
	size_t i = find_slot(t, key, nltab_hash(key, t->key_size), &found);

	if (!found)
		return -ENOENT;
	remove_slot(t, i);
	return 0;
}

size_t nltab__sweep(struct nltab *t, nltab_visit_fn fn, void *ctx)
{
	size_t mask = t->cap - 1, deleted = 0, start = 0;

	/*
	 * Walk once around the array starting just after an empty slot (one
	 * exists: the load factor is at most 3/4). A deletion pulls entries of
	 * the same cluster back into the hole; they come from slots still ahead
	 * of us and never across the empty slot we end at, so each entry is
	 * visited exactly once, and the slot just emptied is looked at again.
	 */
	while (*slot_tag(t, start))
		start++;
	for (size_t k = 1; k <= t->cap; k++) {
		size_t i = (start + k) & mask;

		while (*slot_tag(t, i) && fn(ctx, slot_key(t, i), slot_val(t, i))) {
			remove_slot(t, i);
			deleted++;
		}
	}
	return deleted;
}
