/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/macro.h"

static int stat_check_regular(const struct stat *st, size_t max_size) {
        if (S_ISREG(st->st_mode))
                return (uint64_t) st->st_size > max_size ? -EFBIG : 0;
        if (S_ISDIR(st->st_mode))
                return -EISDIR;
        if (S_ISFIFO(st->st_mode))
                return -ESPIPE;
        if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
                return -ENODEV;
        if (S_ISSOCK(st->st_mode))
                return -ENXIO;
        return -EBADFD;
}

/* stat, type and size, then a non-blocking open and fstat of what was opened. */
static int open_regular(const char *path, size_t max_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return negative_errno();
        r = stat_check_regular(&st, max_size);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        /* the path may have been replaced between stat() and open() */
        if (fstat(fd, &st) < 0)
                return negative_errno();
        r = stat_check_regular(&st, max_size);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int file_check_readable(const char *path, size_t max_size) {
        int fd;

        if (!path)
                return -EINVAL;
        fd = open_regular(path, max_size ?: READ_FULL_FILE_MAX_DEFAULT);
        if (fd < 0)
                return fd;
        safe_close(fd);
        return 0;
}

const char *file_error_to_string(int error) {
        switch (error < 0 ? -error : error) {
        case EISDIR:
                return "is a directory";
        case ESPIPE:
                return "is a FIFO (named pipe), not a regular file";
        case ENODEV:
                return "is a device, not a regular file";
        case ENXIO:
                return "is a socket, not a regular file";
        case EBADFD:
                return "is not a regular file";
        case EFBIG:
                return "is too large";
        default:
                return strerror(error < 0 ? -error : error);
        }
}

int file_stamp_get(const char *path, FileStamp *ret) {
        struct stat st;

        *ret = (FileStamp) {};
        if (stat(path, &st) < 0)
                return negative_errno();
        *ret = (FileStamp) {
                .valid = true,
                .dev = st.st_dev,
                .ino = st.st_ino,
                .size = st.st_size,
                .mode = st.st_mode,
                .mtime_nsec = (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
                .ctime_nsec = (int64_t) st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec,
        };
        return 0;
}

bool file_stamp_equal(const FileStamp *a, const FileStamp *b) {
        if (!a->valid || !b->valid)
                return a->valid == b->valid;
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mode == b->mode &&
               a->mtime_nsec == b->mtime_nsec && a->ctime_nsec == b->ctime_nsec;
}

static int read_fd_full(int fd, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        /* st_size is only a hint (procfs says 0, the file may grow): the loop
         * below stops one byte past max_size whatever it says */
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

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        if (max_size == 0)
                max_size = READ_FULL_FILE_MAX_DEFAULT;
        fd = open_regular(path, max_size);
        if (fd < 0)
                return fd;
        return read_fd_full(fd, max_size, ret, ret_size);
}

int read_virtual_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        if (max_size == 0)
                max_size = READ_FULL_FILE_MAX_DEFAULT;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_fd_full(fd, max_size, ret, ret_size);
}
