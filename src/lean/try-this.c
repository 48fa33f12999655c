/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* See try-this.h for the two layouts and where they come from. */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/strv.h"
#include "lean/try-this.h"

#define NEST "  "           /* MessageData.nest 2 of both layouts */
#define MARK_APPLY "[apply] " /* the new layout's label before each suggestion */
#define MARK_BULLET "• "     /* the old "Try these:" list item */

static bool has_prefix(const char *s, const char *e, const char *prefix) {
        size_t n = strlen(prefix);

        return (size_t) (e - s) >= n && strneq(s, prefix, n);
}

static bool is_blank(const char *s, const char *e) {
        for (; s < e; s++)
                if (!strchr(" \t\r", *s))
                        return false;
        return true;
}

/* a comment line of the message, not suggestion text: apply?'s
 * "-- Remaining subgoals:" / "-- ⊢ goal" lines */
static bool is_comment(const char *s, const char *e) {
        while (s < e && *s == ' ')
                s++;
        return has_prefix(s, e, "--");
}

/* Appends [s, e) (trailing blanks dropped) to *cur, after a newline unless
 * *cur is empty. */
static int append_line(char **cur, const char *s, const char *e) {
        size_t old = *cur ? strlen(*cur) : 0;
        char *n;

        while (e > s && strchr(" \t\r", e[-1]))
                e--;
        n = realloc(*cur, old + 1 + (e - s) + 1);
        if (!n)
                return -ENOMEM;
        if (old > 0)
                n[old++] = '\n';
        memcpy(n + old, s, e - s);
        n[old + (e - s)] = 0;
        *cur = n;
        return 0;
}

/* Moves *cur (when not empty) to the list; returns 1 when one was added. */
static int flush(char **cur, char ***suggestions) {
        char *s = TAKE_PTR(*cur);
        int r;

        if (isempty(s)) {
                free(s);
                return 0;
        }
        r = strv_consume(suggestions, s);
        return r < 0 ? r : 1;
}

/* The lines after a header ending its line (the new layout, and the old
 * "Try these:" list). *p: the first of them; returns the count found and
 * advances *p past the block. */
static int parse_block(const char **p, char ***suggestions) {
        _cleanup_free_ char *cur = NULL;
        bool open = false;   /* the current suggestion takes continuation lines */
        int n = 0, r;

        while (**p) {
                const char *s = *p, *e = strchrnul(s, '\n');
                const char *item = NULL;

                if (has_prefix(s, e, NEST MARK_APPLY))
                        item = s + strlen(NEST MARK_APPLY);
                else if (has_prefix(s, e, MARK_BULLET))
                        item = s + strlen(MARK_BULLET);

                if (item) {
                        r = flush(&cur, suggestions);
                        if (r < 0)
                                return r;
                        n += r;
                        r = append_line(&cur, item, e);
                        if (r < 0)
                                return r;
                        open = true;
                } else if (has_prefix(s, e, NEST) && !is_blank(s, e)) {
                        if (is_comment(s, e))
                                open = false;
                        else if (open) {
                                r = append_line(&cur, s + strlen(NEST), e);
                                if (r < 0)
                                        return r;
                        }
                } else
                        break;   /* not nested: the block ended */
                *p = *e ? e + 1 : e;
        }
        r = flush(&cur, suggestions);
        if (r < 0)
                return r;
        return n + r;
}

/* "Try this: <suggestion>" (old layout): the rest of the line, and the
 * indented lines after it (a multi-line suggestion), up to a comment line. */
static int parse_inline(const char **p, char ***suggestions) {
        _cleanup_free_ char *cur = NULL;
        const char *s = *p, *e = strchrnul(s, '\n');
        int r;

        r = append_line(&cur, s, e);
        if (r < 0)
                return r;
        *p = *e ? e + 1 : e;
        while (**p) {
                s = *p;
                e = strchrnul(s, '\n');
                if (!has_prefix(s, e, " ") || is_blank(s, e) || is_comment(s, e))
                        break;
                r = append_line(&cur, s, e);
                if (r < 0)
                        return r;
                *p = *e ? e + 1 : e;
        }
        return flush(&cur, suggestions);
}

int lean_try_this_parse(const char *data, char ***suggestions) {
        static const char * const headers[] = { "Try this:", "Try these:" };
        const char *p = data;
        int n = 0, r;

        assert(suggestions);

        while (p && *p) {
                const char *e = strchrnul(p, '\n'), *rest = NULL;

                for (size_t i = 0; i < ELEMENTSOF(headers) && !rest; i++)
                        if (has_prefix(p, e, headers[i]))
                                rest = p + strlen(headers[i]);
                if (!rest) {
                        p = *e ? e + 1 : e;
                        continue;
                }
                if (is_blank(rest, e)) {
                        p = *e ? e + 1 : e;
                        r = parse_block(&p, suggestions);
                } else {
                        while (*rest == ' ')
                                rest++;
                        p = rest;
                        r = parse_inline(&p, suggestions);
                }
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}

int lean_reply_first_suggestion(const LeanReply *r, char **ret) {
        assert(r);
        assert(ret);

        for (size_t i = 0; i < r->n_messages; i++) {
                _cleanup_strv_free_ char **list = NULL;
                int k;

                if (r->messages[i].severity != LEAN_SEVERITY_INFO)
                        continue;
                k = lean_try_this_parse(r->messages[i].data, &list);
                if (k < 0)
                        return k;
                if (k > 0) {
                        *ret = strdup(list[0]);
                        return *ret ? 1 : -ENOMEM;
                }
        }
        return 0;
}

char *lean_suggestion_to_proof(const char *tactic) {
        _cleanup_free_ char *out = NULL;
        const char *p = tactic;
        size_t n = strlen("by\n");

        assert(tactic);

        if (!strchr(tactic, '\n')) {
                if (asprintf(&out, "by %s", tactic) < 0)
                        return NULL;
                return TAKE_PTR(out);
        }
        /* a tactic block on its own lines, its layout kept */
        for (const char *c = tactic; *c; c++)
                n += *c == '\n' ? 3 : 1;
        out = malloc(n + strlen(NEST) + 1);
        if (!out)
                return NULL;
        strcpy(out, "by\n" NEST);
        for (char *o = out + strlen(out); ; p++) {
                *o++ = *p;
                if (!*p)
                        break;
                if (*p == '\n') {
                        memcpy(o, NEST, strlen(NEST));
                        o += strlen(NEST);
                }
        }
        return TAKE_PTR(out);
}
