/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/path-util.h"
#include "basic/tests.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p) < 0 ? -1 : 0;
}

static void write_file(const char *path, const char *text, size_t n) {
        FILE *f = fopen(path, "we");

        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite(text, 1, n, f), n);
        ASSERT_TRUE(fclose(f) == 0);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void test_regular(const char *tmp) {
        _cleanup_free_ char *p = path_join(tmp, "lean-toolchain"), *text = NULL;
        size_t n;

        write_file(p, "leanprover/lean4:v4.9.0\n", 24);
        ASSERT_OK(read_full_file(p, READ_PROJECT_FILE_MAX, &text, &n));
        ASSERT_EQ(n, 24);
        ASSERT_STREQ(text, "leanprover/lean4:v4.9.0\n");
        ASSERT_OK(file_check_readable(p, READ_PROJECT_FILE_MAX));
        /* exactly max_size is fine, one byte more is too large */
        free(text);
        text = NULL;
        ASSERT_OK(read_full_file(p, 24, &text, &n));
        ASSERT_ERROR(read_full_file(p, 23, &text, &n), EFBIG);
        ASSERT_ERROR(file_check_readable(p, 23), EFBIG);
}

/* A FIFO nobody writes to: open() without O_NONBLOCK would hang forever. */
static void test_fifo(const char *tmp) {
        _cleanup_free_ char *p = path_join(tmp, "lake-manifest.json"), *text = NULL;
        uint64_t t0 = now_ms();

        ASSERT_TRUE(mkfifo(p, 0644) == 0);
        ASSERT_ERROR(read_full_file(p, READ_PROJECT_FILE_MAX, &text, NULL), ESPIPE);
        ASSERT_ERROR(file_check_readable(p, READ_PROJECT_FILE_MAX), ESPIPE);
        ASSERT_TRUE(now_ms() - t0 < 1000);
        ASSERT_TRUE(strstr(file_error_to_string(-ESPIPE), "FIFO"));
}

/* A symlink to /dev/zero: reading would never end. */
static void test_device(const char *tmp) {
        _cleanup_free_ char *p = path_join(tmp, "zero"), *text = NULL;

        ASSERT_TRUE(symlink("/dev/zero", p) == 0);
        ASSERT_ERROR(read_full_file(p, READ_PROJECT_FILE_MAX, &text, NULL), ENODEV);
        /* even with the default bound: the type check comes first */
        ASSERT_ERROR(read_full_file(p, 0, &text, NULL), ENODEV);
        ASSERT_ERROR(file_check_readable(p, 0), ENODEV);
        ASSERT_TRUE(strstr(file_error_to_string(-ENODEV), "device"));
}

static void test_dir_and_missing(const char *tmp) {
        _cleanup_free_ char *p = path_join(tmp, "missing"), *text = NULL;

        ASSERT_ERROR(read_full_file(tmp, 0, &text, NULL), EISDIR);
        ASSERT_ERROR(read_full_file(p, 0, &text, NULL), ENOENT);
        ASSERT_ERROR(file_check_readable(p, 0), ENOENT);
}

/* EACCES needs a non-root reader: as root, check it from a child that drops
 * to nobody (65534); as non-root, directly. */
static void test_unreadable(const char *tmp) {
        _cleanup_free_ char *p = path_join(tmp, "secret");
        pid_t pid;
        int status;

        write_file(p, "x", 1);
        ASSERT_TRUE(chmod(p, 0000) == 0);
        if (geteuid() != 0) {
                char *text = NULL;
                ASSERT_ERROR(read_full_file(p, 0, &text, NULL), EACCES);
                ASSERT_ERROR(file_check_readable(p, 0), EACCES);
                return;
        }
        ASSERT_TRUE(chmod(tmp, 0755) == 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char *text = NULL;

                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(77);
                _exit(read_full_file(p, 0, &text, NULL) == -EACCES &&
                      file_check_readable(p, 0) == -EACCES ? 0 : 1);
        }
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                fprintf(stderr, "EACCES check skipped: cannot drop to uid 65534\n");
        else
                ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void test_stamp(const char *tmp) {
        _cleanup_free_ char *p = path_join(tmp, "stamp"), *q = path_join(tmp, "stamp.new");
        FileStamp a, b, c, missing;

        write_file(p, "one", 3);
        ASSERT_OK(file_stamp_get(p, &a));
        ASSERT_OK(file_stamp_get(p, &b));
        ASSERT_TRUE(file_stamp_equal(&a, &b));
        /* replaced by rename (as editors and git do): another inode */
        write_file(q, "two", 3);
        ASSERT_TRUE(rename(q, p) == 0);
        ASSERT_OK(file_stamp_get(p, &c));
        ASSERT_FALSE(file_stamp_equal(&a, &c));
        ASSERT_ERROR(file_stamp_get(q, &missing), ENOENT);
        ASSERT_FALSE(missing.valid);
        ASSERT_FALSE(file_stamp_equal(&a, &missing));
}

static void test_utf8(void) {
        _cleanup_free_ char *a = utf8_escape_invalid("plain/päth"), *b = utf8_escape_invalid("/tmp/x\xc0\x80y"),
                            *c = utf8_escape_invalid("\xff");

        ASSERT_TRUE(utf8_is_valid("/tmp/päth"));
        ASSERT_FALSE(utf8_is_valid("/tmp/\xc0\x80")); /* overlong NUL, which json-c accepts */
        ASSERT_STREQ(a, "plain/päth");
        ASSERT_STREQ(b, "/tmp/x\\xc0\\x80y");
        ASSERT_TRUE(utf8_is_valid(b));
        ASSERT_STREQ(c, "\\xff");
}

/* Kernel files: stat() says size 0, the content is still read whole. */
static void test_virtual(const char *tmp) {
        _cleanup_free_ char *text = NULL, *missing = path_join(tmp, "no-such-file");
        size_t n;

        ASSERT_OK(read_virtual_file("/proc/self/status", 0, &text, &n));
        ASSERT_TRUE(n > 100);
        ASSERT_EQ(strlen(text), n);
        ASSERT_TRUE(strncmp(text, "Name:", 5) == 0);
        ASSERT_TRUE(strstr(text, "\nVmRSS:") || strstr(text, "\nThreads:"));
        free(text);
        text = NULL;
        ASSERT_ERROR(read_virtual_file("/proc/self/status", 16, &text, &n), EFBIG);
        ASSERT_ERROR(read_virtual_file(missing, 0, &text, &n), ENOENT);
}

int main(void) {
        char tmp[] = "/tmp/test-fileio-XXXXXX";

        ASSERT_TRUE(mkdtemp(tmp));
        test_regular(tmp);
        test_fifo(tmp);
        test_device(tmp);
        test_dir_and_missing(tmp);
        test_unreadable(tmp);
        test_stamp(tmp);
        test_utf8();
        test_virtual(tmp);
        (void) nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}
