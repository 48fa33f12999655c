/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Stable 64-bit FNV-1a. Not cryptographic: used for ids (project id = hash of
 * the canonical root) and change detection (manifest hashes), where the value
 * must be the same across runs, builds and machines. */

#define HASH_FNV1A64_INIT UINT64_C(0xcbf29ce484222325)
#define HASH_FNV1A64_PRIME UINT64_C(0x100000001b3)

/* 16 lowercase hex digits + NUL */
#define HASH_HEX16_MAX 17

uint64_t hash_fnv1a64_update(uint64_t h, const void *data, size_t n);
static inline uint64_t hash_fnv1a64(const void *data, size_t n) {
        return hash_fnv1a64_update(HASH_FNV1A64_INIT, data, n);
}
uint64_t hash_string(const char *s);

/* Writes exactly 16 lowercase hex digits (zero padded) and returns buf. */
char *hash_to_hex16(uint64_t h, char buf[static HASH_HEX16_MAX]);

/* Hash of a file's full content (streamed); same as hash_fnv1a64() over the
 * bytes. Negative errno on open/read failure. */
int hash_file(const char *path, uint64_t *ret);
