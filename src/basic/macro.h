/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small, header-only helpers in the spirit of systemd's macro.h. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _fallthrough_ __attribute__((fallthrough))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define STRINGIFY(x) #x
#define XSTRINGIFY(x) STRINGIFY(x)

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || !(s)[0])
#define strna(s) ((s) ?: "n/a")
#define strempty(s) ((s) ?: "")
#define yes_no(b) ((b) ? "yes" : "no")

/* Take ownership: return the pointer and leave NULL behind (for _cleanup_ locals). */
#define TAKE_PTR(p)                          \
        ({                                   \
                typeof(p) _ptr_ = (p);       \
                (p) = NULL;                  \
                _ptr_;                       \
        })
#define TAKE_FD(fd)                          \
        ({                                   \
                int _fd_ = (fd);             \
                (fd) = -EBADF;               \
                _fd_;                        \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)             \
        static inline void func##p(type *p) {               \
                if (*p)                                     \
                        func(*p);                           \
        }

/* Reference counting on an n_ref member, as systemd's DEFINE_TRIVIAL_REF_UNREF_FUNC:
 * name_ref() takes one, name_unref() drops one and calls free_func on the last. */
#define DEFINE_TRIVIAL_REF_FUNC(type, name)                 \
        type *name##_ref(type *p) {                         \
                if (p)                                      \
                        p->n_ref++;                         \
                return p;                                   \
        }
#define DEFINE_TRIVIAL_UNREF_FUNC(type, name, free_func)    \
        type *name##_unref(type *p) {                       \
                if (!p || --p->n_ref > 0)                   \
                        return NULL;                        \
                return free_func(p);                        \
        }
#define DEFINE_TRIVIAL_REF_UNREF_FUNC(type, name, free_func) \
        DEFINE_TRIVIAL_REF_FUNC(type, name)                  \
        DEFINE_TRIVIAL_UNREF_FUNC(type, name, free_func)

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

#define new0(t, n) ((t *) calloc((n) ?: 1, sizeof(t)))
#define new(t, n) ((t *) malloc(((n) ?: 1) * sizeof(t)))

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Negative errno from a libc call that sets errno; never returns 0. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define RET_NERRNO(expr)                     \
        ({                                   \
                int _r_ = (expr);            \
                _r_ < 0 ? negative_errno() : _r_; \
        })

/* Time: everything internal is usec on CLOCK_MONOTONIC, as sd-event. */
typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

#define KIB_PER_MIB UINT64_C(1024)
#define KIB_PER_GIB (UINT64_C(1024) * 1024)
