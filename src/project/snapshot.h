/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-project facts snapshot, recomputed only when a fact changed (the
 * actor invalidates it). Owned by snapshot.c. */

#include <stdint.h>

#include "project/facts.h"

typedef struct FactsCache {
        uint64_t version, cached_version; /* recomputed when they differ */
        uint64_t budget_version;          /* the pool budget's (registry-wide) it was computed with */
        uint64_t computed;                /* snapshots computed (tests) */
        LhFacts facts;
} FactsCache;

void facts_cache_init(FactsCache *c);
void facts_cache_invalidate(FactsCache *c);
