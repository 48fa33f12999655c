/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The module-query LRU: a doubly linked list in use order (head = most
 * recent) and a chained hash table for lookup. Entries are few (256 by
 * default), so a table of fixed width is plenty. */

#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/list.h"
#include "lean/cache.h"

#define CACHE_BUCKETS 512

typedef struct CacheEntry CacheEntry;
struct CacheEntry {
        LIST_FIELDS(CacheEntry, lru); /* use order */
        CacheEntry *chain;        /* bucket chain */
        char *key;
        json_object *value;
        uint64_t bytes;           /* key + serialized value */
        unsigned bucket;
};

struct LeanCache {
        size_t max_entries;
        uint64_t max_bytes;
        CacheEntry *buckets[CACHE_BUCKETS];
        CacheEntry *lru, *lru_tail;   /* most and least recently used */
        size_t n_entries;
        uint64_t bytes;
        uint64_t hits, misses;
};

static unsigned cache_bucket(const char *key) {
        return (unsigned) (hash_string(key) % CACHE_BUCKETS);
}

int lean_cache_new(LeanCache **ret, size_t max_entries, uint64_t max_bytes) {
        LeanCache *c;

        if (!ret || max_entries == 0 || max_bytes == 0)
                return -EINVAL;
        c = new0(LeanCache, 1);
        if (!c)
                return -ENOMEM;
        c->max_entries = max_entries;
        c->max_bytes = max_bytes;
        *ret = c;
        return 0;
}

static void cache_unlink(LeanCache *c, CacheEntry *e) {
        if (c->lru_tail == e)
                c->lru_tail = e->lru_prev;
        LIST_REMOVE(lru, c->lru, e);
}

static void cache_push_front(LeanCache *c, CacheEntry *e) {
        LIST_PREPEND(lru, c->lru, e);
        if (!c->lru_tail)
                c->lru_tail = e;
}

static void cache_remove(LeanCache *c, CacheEntry *e) {
        CacheEntry **pp;

        for (pp = &c->buckets[e->bucket]; *pp && *pp != e; pp = &(*pp)->chain)
                ;
        if (*pp)
                *pp = e->chain;
        cache_unlink(c, e);
        c->n_entries--;
        c->bytes -= e->bytes;
        json_object_put(e->value);
        free(e->key);
        free(e);
}

LeanCache *lean_cache_free(LeanCache *c) {
        if (!c)
                return NULL;
        while (c->lru)
                cache_remove(c, c->lru);
        return mfree(c);
}

static CacheEntry *cache_find(LeanCache *c, const char *key) {
        for (CacheEntry *e = c->buckets[cache_bucket(key)]; e; e = e->chain)
                if (streq(e->key, key))
                        return e;
        return NULL;
}

json_object *lean_cache_get(LeanCache *c, const char *key) {
        CacheEntry *e;

        if (!c || !key)
                return NULL;
        e = cache_find(c, key);
        if (!e) {
                c->misses++;
                return NULL;
        }
        c->hits++;
        cache_unlink(c, e);
        cache_push_front(c, e);
        return json_object_get(e->value);
}

int lean_cache_put(LeanCache *c, const char *key, json_object *value) {
        CacheEntry *e, *old;
        const char *text;
        uint64_t bytes;

        if (!c || !key || !value)
                return -EINVAL;
        text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return -ENOMEM;
        bytes = strlen(key) + strlen(text);

        old = cache_find(c, key);
        if (old)
                cache_remove(c, old);
        if (bytes > c->max_bytes)
                return 0; /* would evict everything and still not fit */

        while (c->lru_tail && (c->n_entries + 1 > c->max_entries || c->bytes + bytes > c->max_bytes))
                cache_remove(c, c->lru_tail);

        e = new0(CacheEntry, 1);
        if (!e)
                return -ENOMEM;
        e->key = strdup(key);
        if (!e->key) {
                free(e);
                return -ENOMEM;
        }
        e->value = json_object_get(value);
        e->bytes = bytes;
        e->bucket = cache_bucket(key);
        e->chain = c->buckets[e->bucket];
        c->buckets[e->bucket] = e;
        cache_push_front(c, e);
        c->n_entries++;
        c->bytes += bytes;
        return 0;
}

size_t lean_cache_get_n_entries(const LeanCache *c) {
        return c ? c->n_entries : 0;
}

uint64_t lean_cache_get_bytes(const LeanCache *c) {
        return c ? c->bytes : 0;
}

uint64_t lean_cache_get_hits(const LeanCache *c) {
        return c ? c->hits : 0;
}

uint64_t lean_cache_get_misses(const LeanCache *c) {
        return c ? c->misses : 0;
}
