/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Enum <-> string lookups from one table, as systemd's
 * DEFINE_STRING_TABLE_LOOKUP: given
 *
 *   static const char *const foo_table[_FOO_MAX] = { [FOO_A] = "a", ... };
 *   DEFINE_STRING_TABLE_LOOKUP(foo, Foo);
 *
 * defines foo_to_string(Foo) (NULL when out of range) and
 * foo_from_string(const char *) (-EINVAL, as the enum's _FOO_INVALID, when
 * NULL or not in the table; only for enums with a negative _FOO_INVALID).
 * Holes in the table are skipped. */

#include <errno.h>

#include "basic/macro.h"

/* The prototypes, for a header. */
#define DECLARE_STRING_TABLE_LOOKUP(name, type)       \
        const char *name##_to_string(type i);         \
        type name##_from_string(const char *s)

#define _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, scope)        \
        scope const char *name##_to_string(type i) {                    \
                if ((size_t) i >= ELEMENTSOF(name##_table)) /* < 0 too */ \
                        return NULL;                                    \
                return name##_table[i];                                 \
        }

#define _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, scope)      \
        scope type name##_from_string(const char *s) {                  \
                if (!s)                                                 \
                        return (type) -EINVAL;                          \
                for (size_t i = 0; i < ELEMENTSOF(name##_table); i++)   \
                        if (name##_table[i] && streq(name##_table[i], s)) \
                                return (type) i;                        \
                return (type) -EINVAL;                                  \
        }

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type) _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, )
#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type) _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, )
#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(name, type) \
        _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, static)
#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP_FROM_STRING(name, type) \
        _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, static)

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                   \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)         \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP(name, type)           \
        DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(name, type) \
        DEFINE_PRIVATE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
