/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly linked lists, as systemd's list.h: a struct that can be on
 * a list named `name` embeds LIST_FIELDS(Type, name), i.e. the members
 * name_next and name_prev; the list itself is a plain `Type *head`. One
 * struct can be on several lists under different names. Removal is O(1) and
 * needs only the head; nothing allocates.
 *
 *   struct Connection { LIST_FIELDS(Connection, connections); ... };
 *   LIST_PREPEND(connections, server->connections, c);
 *   LIST_FOREACH(connections, i, server->connections) ...
 *   LIST_REMOVE(connections, server->connections, c); */

#include <assert.h>
#include <stdbool.h>

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_HEAD_INIT(head)   \
        do {                   \
                (head) = NULL; \
        } while (false)

#define LIST_INIT(name, item)                                               \
        do {                                                                \
                typeof(*(item)) *_item = (item);                            \
                assert(_item);                                              \
                _item->name##_prev = _item->name##_next = NULL;             \
        } while (false)

/* Put item first; returns item. */
#define LIST_PREPEND(name, head, item)                                      \
        ({                                                                  \
                typeof(*(head)) **_head = &(head), *_item = (item);         \
                assert(_item);                                              \
                if ((_item->name##_next = *_head))                          \
                        _item->name##_next->name##_prev = _item;            \
                _item->name##_prev = NULL;                                  \
                *_head = _item;                                             \
                _item;                                                      \
        })

/* Take item off the list (it must be on it); returns item. */
#define LIST_REMOVE(name, head, item)                                       \
        ({                                                                  \
                typeof(*(head)) **_head = &(head), *_item = (item);         \
                assert(_item);                                              \
                if (_item->name##_next)                                     \
                        _item->name##_next->name##_prev = _item->name##_prev; \
                if (_item->name##_prev)                                     \
                        _item->name##_prev->name##_next = _item->name##_next; \
                else {                                                      \
                        assert(*_head == _item);                            \
                        *_head = _item->name##_next;                        \
                }                                                           \
                _item->name##_next = _item->name##_prev = NULL;             \
                _item;                                                      \
        })

/* Is item on a list (it has a neighbour, or it is the head)? */
#define LIST_IS_LINKED(name, head, item) \
        ((item)->name##_next || (item)->name##_prev || (head) == (item))

#define LIST_IS_EMPTY(head) (!(head))

#define LIST_FOREACH(name, i, head) \
        for (typeof(*(head)) *i = (head); i; i = i->name##_next)

/* i may be removed (and freed) in the body. */
#define LIST_FOREACH_SAFE(name, i, n, head) \
        for (typeof(*(head)) *n, *i = (head); i && ((n = i->name##_next), true); i = n)
