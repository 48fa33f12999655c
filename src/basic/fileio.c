/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/macro.h"

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;
        struct stat st;

        if (max_size == 0)
                max_size = 64 * 1024 * 1024;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        for (;;) {
                ssize_t k;

                if (n + 1 >= allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 4096);
                        char *b;

                        if (a > max_size + 1)
                                a = max_size + 2; /* room to notice one byte too many */
                        b = realloc(buf, a);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = a;
                }
                k = read(fd, buf + n, allocated - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max_size)
                        return -EFBIG;
        }

        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

bool utf8_is_valid_n(const char *s, size_t n, size_t *ret_offset) {
        const unsigned char *p = (const unsigned char *) s;
        size_t i = 0;

        while (i < n) {
                unsigned char c = p[i];
                size_t len;
                uint32_t cp, min;

                if (c == 0)
                        goto bad;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xe0) == 0xc0) {
                        len = 2, cp = c & 0x1f, min = 0x80;
                } else if ((c & 0xf0) == 0xe0) {
                        len = 3, cp = c & 0x0f, min = 0x800;
                } else if ((c & 0xf8) == 0xf0) {
                        len = 4, cp = c & 0x07, min = 0x10000;
                } else
                        goto bad;

                if (n - i < len)
                        goto bad;
                for (size_t k = 1; k < len; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                goto bad;
                        cp = (cp << 6) | (p[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        goto bad;
                i += len;
        }
        return true;

bad:
        if (ret_offset)
                *ret_offset = i;
        return false;
}
