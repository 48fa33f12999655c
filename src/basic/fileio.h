/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Files named by users (project files) may be FIFOs, devices, symlinks to
 * /dev/zero or huge: nothing here may block or spin. Every open is
 * O_NONBLOCK|O_NOCTTY|O_CLOEXEC, preceded by stat() so a device or FIFO is
 * never opened, and followed by fstat() (the path may have been swapped);
 * reads are bounded by max_size. Errors say why:
 *   -EISDIR a directory   -ESPIPE a FIFO   -ENODEV a character/block device
 *   -ENXIO  a socket      -EBADFD anything else not a regular file
 *   -EFBIG  larger than max_size            -EACCES & co. from open()/read() */

/* 64 MiB when 0 is passed as max_size. */
#define READ_FULL_FILE_MAX_DEFAULT ((size_t) 64 * 1024 * 1024)
/* The sane bound for small project files (lean-toolchain, lake-manifest.json). */
#define READ_PROJECT_FILE_MAX ((size_t) 1024 * 1024)

/* Reads a whole regular file into a NUL-terminated malloc'd buffer; *ret_size
 * (optional) excludes the NUL. -EFBIG beyond max_size bytes (0 = 64 MiB). */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* The same for files the kernel makes (/proc, cgroupfs): no stat()/fstat()
 * checks around the open (they say size 0 and cannot be FIFOs), so a sample
 * on the event loop costs open, read, read, close. */
int read_virtual_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* The checks read_full_file() does before reading, without reading: stat,
 * type, size, open (permissions), fstat. 0, -ENOENT, or the error above. */
int file_check_readable(const char *path, size_t max_size);

/* "is a FIFO (named pipe)", "is a device", … for the errors above;
 * strerror() for the rest. Never NULL. */
const char *file_error_to_string(int error);

/* What identifies a file's content cheaply: stat() fields that change when
 * it is replaced or written. valid = false for a missing file. */
typedef struct FileStamp {
        bool valid;
        dev_t dev;
        ino_t ino;
        off_t size;
        mode_t mode;
        int64_t mtime_nsec, ctime_nsec;
} FileStamp;

/* 0 (stamp of the existing file), -ENOENT (stamp invalid) or negative errno. */
int file_stamp_get(const char *path, FileStamp *ret);
bool file_stamp_equal(const FileStamp *a, const FileStamp *b);

/* utf8_is_valid_n() and friends moved to basic/utf8.h; included for their callers. */
#include "basic/utf8.h"
