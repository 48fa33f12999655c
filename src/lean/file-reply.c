/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* File mode of the Lean REPL: the command, the "tactics" records of its
 * reply, whether the reply covers the whole file, and what sits at a
 * position. */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "lean/file-reply.h"

json_object *lean_file_command(const char *path) {
        json_object *cmd;

        assert(path);
        cmd = json_object_new_object();
        if (!cmd)
                return NULL;
        if (json_add(cmd, "path", json_object_new_string(path)) < 0 ||
            json_add(cmd, "allTactics", json_object_new_boolean(true)) < 0)
                return json_object_put(cmd), NULL;
        return cmd;
}

/* A tactic's position is required (lean_pos_parse() takes null as unset). */
static int tactic_pos(json_object *o, const char *key, size_t i, LeanPos *ret, char **ret_error) {
        char what[64]; /* "tactics[N].endPos" */
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
                return lean_shape_error(ret_error, "\"tactics\"[%zu].%s is not a {line, column} position", i, key);
        (void) snprintf(what, sizeof what, "tactics[%zu].%s", i, key);
        return lean_pos_parse(v, what, ret, ret_error);
}

static int tactic_string(json_object *o, const char *key, size_t i, char **ret, char **ret_error) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return lean_shape_error(ret_error, "\"tactics\"[%zu].%s is not a string", i, key);
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

LeanTactic *lean_tactics_free(LeanTactic *t, size_t n) {
        for (size_t i = 0; t && i < n; i++) {
                free(t[i].tactic);
                free(t[i].goals);
        }
        free(t);
        return NULL;
}

int lean_tactics_parse(json_object *tactics, LeanTactic **ret, size_t *ret_n, char **ret_error) {
        LeanTactic *t = NULL;
        size_t n;
        int r;

        assert(ret);
        assert(ret_n);
        *ret = NULL;
        *ret_n = 0;
        if (!tactics)
                return 0;
        if (!json_object_is_type(tactics, json_type_array))
                return lean_shape_error(ret_error, "\"tactics\" is not an array");
        n = json_object_array_length(tactics);
        if (n == 0)
                return 0;
        t = new0(LeanTactic, n);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(tactics, i), *ps;

                t[i].proof_state = -1;
                if (!json_object_is_type(o, json_type_object)) {
                        r = lean_shape_error(ret_error, "\"tactics\"[%zu] is not an object", i);
                        goto fail;
                }
                r = tactic_pos(o, "pos", i, &t[i].pos, ret_error);
                if (r >= 0)
                        r = tactic_pos(o, "endPos", i, &t[i].end_pos, ret_error);
                if (r >= 0)
                        r = tactic_string(o, "tactic", i, &t[i].tactic, ret_error);
                if (r >= 0)
                        r = tactic_string(o, "goals", i, &t[i].goals, ret_error);
                if (r < 0)
                        goto fail;
                /* Option Nat: absent or null when the REPL kept no state */
                if (json_object_object_get_ex(o, "proofState", &ps) && !json_object_is_type(ps, json_type_null)) {
                        int64_t v = json_object_get_int64(ps);

                        if (!json_object_is_type(ps, json_type_int) || v < 0 || v > INT32_MAX) {
                                r = lean_shape_error(ret_error, "\"tactics\"[%zu].proofState is not an index", i);
                                goto fail;
                        }
                        t[i].proof_state = (int) v;
                }
        }
        *ret = t;
        *ret_n = n;
        return 0;
fail:
        lean_tactics_free(t, n);
        return r;
}

json_object *lean_tactic_to_json(const LeanTactic *t) {
        json_object *o = json_object_new_object();

        assert(t);
        if (!o)
                return NULL;
        if (json_add(o, "tactic", json_object_new_string(strempty(t->tactic))) < 0 ||
            json_add(o, "pos", lean_pos_to_json(t->pos)) < 0 ||
            json_add(o, "end_pos", lean_pos_to_json(t->end_pos)) < 0 ||
            json_add(o, "goals", json_object_new_string(strempty(t->goals))) < 0 ||
            (t->proof_state >= 0 && json_add(o, "proof_state", json_object_new_int(t->proof_state)) < 0))
                return json_object_put(o), NULL;
        return o;
}

const char *lean_file_unfinished_reason(const LeanReply *r, size_t *ret_message) {
        assert(r);
        if (ret_message)
                *ret_message = (size_t) -1;
        if (r->repl_error)
                return "repl_error";
        for (size_t i = 0; i < r->n_messages; i++) {
                const LeanMessage *m = &r->messages[i];
                const char *reason = NULL;

                if (m->severity != LEAN_SEVERITY_ERROR || !m->data)
                        continue;
                /* Lean's heartbeat limit (Lean.Core throwMaxHeartbeat) and
                 * recursion limit (throwMaxRecDepthAt): the declaration was
                 * abandoned part way, its later errors were never found.
                 * Anywhere in the text: tactics wrap it ("tactic 'simp'
                 * failed, nested error: (deterministic) timeout at …"). */
                if (strstr(m->data, "(deterministic) timeout at "))
                        reason = "lean_timeout";
                else if (strstr(m->data, "maximum recursion depth has been reached"))
                        reason = "recursion_limit";
                if (reason) {
                        if (ret_message)
                                *ret_message = i;
                        return reason;
                }
        }
        return NULL;
}

static int pos_cmp(unsigned l1, unsigned c1, unsigned l2, unsigned c2) {
        if (l1 != l2)
                return l1 < l2 ? -1 : 1;
        if (c1 != c2)
                return c1 < c2 ? -1 : 1;
        return 0;
}

/* Does [pos, end_pos] contain (line, column)? Both ends inclusive: a cursor
 * just after a tactic's last character is still on it (as in an editor). */
static bool lean_range_contains(LeanPos pos, LeanPos end_pos, unsigned line, unsigned column) {
        if (!pos.set || !end_pos.set)
                return false;
        return pos_cmp(pos.line, pos.column, line, column) <= 0 &&
               pos_cmp(line, column, end_pos.line, end_pos.column) <= 0;
}

int lean_tactic_at(const LeanTactic *t, size_t n, unsigned line, unsigned column) {
        int best = -ENOENT;

        for (size_t i = 0; i < n; i++) {
                if (!lean_range_contains(t[i].pos, t[i].end_pos, line, column))
                        continue;
                if (best >= 0) {
                        const LeanTactic *b = &t[best];
                        int s = pos_cmp(t[i].pos.line, t[i].pos.column, b->pos.line, b->pos.column);

                        if (s < 0 || (s == 0 && pos_cmp(t[i].end_pos.line, t[i].end_pos.column,
                                                        b->end_pos.line, b->end_pos.column) >= 0))
                                continue;
                }
                best = (int) i;
        }
        return best;
}

int lean_sorry_at(const LeanReply *r, unsigned line, unsigned column) {
        assert(r);
        for (size_t i = 0; i < r->n_sorries; i++)
                if (lean_range_contains(r->sorries[i].pos, r->sorries[i].end_pos, line, column))
                        return (int) i;
        return -ENOENT;
}
