/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An LRU cache of module-query results: at most max_entries entries and
 * max_bytes of serialized JSON. Keys are strings built by the caller
 * (project id, manifest hash, module, selectors, budgets). */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

typedef struct LeanCache LeanCache;

int lean_cache_new(LeanCache **ret, size_t max_entries, uint64_t max_bytes);
LeanCache *lean_cache_free(LeanCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LeanCache *, lean_cache_free);

/* A new reference to the cached value (and marks it most recently used), or NULL. */
json_object *lean_cache_get(LeanCache *c, const char *key);
/* Stores a reference to value (the caller keeps its own); evicts LRU entries
 * to fit. A value larger than max_bytes alone is not stored (returns 0). */
int lean_cache_put(LeanCache *c, const char *key, json_object *value);

/* for tests: the counters the unit test checks eviction by. */
size_t lean_cache_get_n_entries(const LeanCache *c);
uint64_t lean_cache_get_bytes(const LeanCache *c);
uint64_t lean_cache_get_hits(const LeanCache *c);
uint64_t lean_cache_get_misses(const LeanCache *c);
