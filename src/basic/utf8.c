/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/utf8.h"

size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        unsigned char c = s[0];

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
        if (c >= 0xE0 && c <= 0xEF) {
                if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
                        return 0;
                if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
                        return 0;
                return 3;
        }
        if (c >= 0xF0 && c <= 0xF4) {
                if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
                        return 0;
                if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
                        return 0;
                return 4;
        }
        return 0;
}

/* Word at a time: almost all traffic is ASCII, and one AND per 8 bytes
 * tells that no byte has its high bit set. memcpy() keeps it alignment- and
 * aliasing-safe; compilers turn it into one load. */
size_t utf8_ascii_prefix(const char *s, size_t n) {
        const uint64_t high = UINT64_C(0x8080808080808080);
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                uint64_t w;

                memcpy(&w, s + i, sizeof w);
                if (w & high)
                        break;
        }
        while (i < n && (unsigned char) s[i] < 0x80)
                i++;
        return i;
}

size_t utf8_first_invalid(const char *s, size_t n) {
        assert(s || n == 0);

        for (size_t i = 0; i < n;) {
                size_t k;

                i += utf8_ascii_prefix(s + i, n - i);
                if (i >= n)
                        break;
                k = utf8_sequence_length((const unsigned char *) s + i, n - i);
                if (k == 0)
                        return i;
                i += k;
        }
        return n;
}

bool utf8_is_valid_n(const char *s, size_t n, size_t *ret_offset) {
        size_t bad;
        const char *nul;

        assert(s || n == 0);

        bad = utf8_first_invalid(s, n);
        nul = memchr(s, 0, bad);
        if (nul)
                bad = (size_t) (nul - s);
        if (bad == n)
                return true;
        if (ret_offset)
                *ret_offset = bad;
        return false;
}

char *utf8_escape_invalid(const char *s) {
        size_t n = strlen(s), o = 0;
        char *out;

        assert(s);

        out = malloc(n * 4 + 1); /* worst case: every byte escaped */
        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t bad;

                if (utf8_is_valid_n(s + i, n - i, &bad)) {
                        memcpy(out + o, s + i, n - i);
                        o += n - i;
                        break;
                }
                memcpy(out + o, s + i, bad);
                o += bad;
                i += bad;
                o += (size_t) sprintf(out + o, "\\x%02x", (unsigned char) s[i]);
                i++;
        }
        out[o] = 0;
        return out;
}
