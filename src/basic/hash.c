/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>

#include "basic/hash.h"
#include "basic/macro.h"

uint64_t hash_fnv1a64_update(uint64_t h, const void *data, size_t n) {
        const uint8_t *p = data;

        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= HASH_FNV1A64_PRIME;
        }
        return h;
}

uint64_t hash_string(const char *s) {
        return hash_fnv1a64(s, strlen(s));
}

char *hash_to_hex16(uint64_t h, char buf[static HASH_HEX16_MAX]) {
        static const char digits[] = "0123456789abcdef";

        for (int i = 15; i >= 0; i--, h >>= 4)
                buf[i] = digits[h & 0xf];
        buf[16] = 0;
        return buf;
}

static int hash_fd(int fd, uint64_t *ret) {
        uint64_t h = HASH_FNV1A64_INIT;
        char buf[64 * 1024];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                h = hash_fnv1a64_update(h, buf, (size_t) n);
        }
        *ret = h;
        return 0;
}

int hash_file(const char *path, uint64_t *ret) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return hash_fd(fd, ret);
}
