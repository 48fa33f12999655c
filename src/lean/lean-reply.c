/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Lean REPL reply → LeanReply, and LeanReply → the tool-facing JSON. The
 * parser is strict about the types of the members it knows (so tool code
 * never re-checks them) and lenient about members it does not (kept in
 * extra), since newer REPLs add fields. */

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/string-table.h"
#include "basic/strv.h"
#include "basic/json-util.h"
#include "lean/lean-reply.h"
#include "lean/message-index.h"

static const char *const lean_severity_table[_LEAN_SEVERITY_MAX] = {
        [LEAN_SEVERITY_INFO] = "info",
        [LEAN_SEVERITY_WARNING] = "warning",
        [LEAN_SEVERITY_ERROR] = "error",
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(lean_severity, LeanSeverity);

static LeanSeverity lean_severity_from_string(const char *s) {
        if (!s)
                return _LEAN_SEVERITY_INVALID;
        for (LeanSeverity i = 0; i < _LEAN_SEVERITY_MAX; i++)
                if (streq(s, lean_severity_table[i]))
                        return i;
        /* Lean's own MessageSeverity spells info as "information" in some printers */
        if (streq(s, "information"))
                return LEAN_SEVERITY_INFO;
        return _LEAN_SEVERITY_INVALID;
}

int lean_shape_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                free(*ret_error);
                *ret_error = NULL;
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EBADMSG;
}

static bool json_is_int(json_object *v) {
        return json_object_is_type(v, json_type_int);
}

/* A non-negative int member that fits an int. */
static int get_index(json_object *v, const char *what, int *ret, char **ret_error) {
        int64_t i;

        if (!json_is_int(v))
                return lean_shape_error(ret_error, "\"%s\" is not an integer", what);
        i = json_object_get_int64(v);
        if (i < 0 || i > INT32_MAX)
                return lean_shape_error(ret_error, "\"%s\" is out of range: %" PRIi64, what, i);
        *ret = (int) i;
        return 0;
}

int lean_pos_parse(json_object *v, const char *what, LeanPos *ret, char **ret_error) {
        json_object *line, *column;
        int64_t l, c;

        *ret = (LeanPos) {};
        if (!v || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, "line", &line) || !json_is_int(line) ||
            !json_object_object_get_ex(v, "column", &column) || !json_is_int(column))
                return lean_shape_error(ret_error, "\"%s\" is not a {line, column} position", what);
        l = json_object_get_int64(line);
        c = json_object_get_int64(column);
        if (l < 0 || l > INT32_MAX || c < 0 || c > INT32_MAX)
                return lean_shape_error(ret_error, "\"%s\" is out of range", what);
        *ret = (LeanPos) { .line = (unsigned) l, .column = (unsigned) c, .set = true };
        return 0;
}

static int dup_string(json_object *v, const char *what, char **ret, char **ret_error) {
        if (!json_object_is_type(v, json_type_string))
                return lean_shape_error(ret_error, "\"%s\" is not a string", what);
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int parse_strv(json_object *v, const char *what, char ***ret, char **ret_error) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return lean_shape_error(ret_error, "\"%s\" is not an array of strings", what);
        n = json_object_array_length(v);
        l = new0(char *, n + 1);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(v, i);

                if (!json_object_is_type(s, json_type_string))
                        return lean_shape_error(ret_error, "\"%s\"[%zu] is not a string", what, i);
                l[i] = strdup(json_object_get_string(s));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_message(json_object *m, size_t idx, LeanMessage *ret, char **ret_error) {
        json_object *v;
        int r;

        if (!json_object_is_type(m, json_type_object))
                return lean_shape_error(ret_error, "\"messages\"[%zu] is not an object", idx);
        if (!json_object_object_get_ex(m, "severity", &v) || !json_object_is_type(v, json_type_string))
                return lean_shape_error(ret_error, "\"messages\"[%zu] has no \"severity\" string", idx);
        ret->severity = lean_severity_from_string(json_object_get_string(v));
        if (ret->severity < 0)
                return lean_shape_error(ret_error, "\"messages\"[%zu] has unknown severity \"%s\"", idx,
                                        json_object_get_string(v));
        if (!json_object_object_get_ex(m, "pos", &v))
                return lean_shape_error(ret_error, "\"messages\"[%zu] has no \"pos\"", idx);
        r = lean_pos_parse(v, "messages[].pos", &ret->pos, ret_error);
        if (r < 0)
                return r;
        r = lean_pos_parse(json_object_object_get_ex(m, "endPos", &v) ? v : NULL, "messages[].endPos",
                           &ret->end_pos, ret_error);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(m, "data", &v))
                return lean_shape_error(ret_error, "\"messages\"[%zu] has no \"data\"", idx);
        return dup_string(v, "messages[].data", &ret->data, ret_error);
}

static int parse_sorry(json_object *s, size_t idx, LeanSorry *ret, char **ret_error) {
        json_object *v;
        int r;

        ret->proof_state = -1;
        if (!json_object_is_type(s, json_type_object))
                return lean_shape_error(ret_error, "\"sorries\"[%zu] is not an object", idx);
        r = lean_pos_parse(json_object_object_get_ex(s, "pos", &v) ? v : NULL, "sorries[].pos", &ret->pos, ret_error);
        if (r < 0)
                return r;
        r = lean_pos_parse(json_object_object_get_ex(s, "endPos", &v) ? v : NULL, "sorries[].endPos",
                           &ret->end_pos, ret_error);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(s, "proofState", &v) && !json_object_is_type(v, json_type_null)) {
                r = get_index(v, "sorries[].proofState", &ret->proof_state, ret_error);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(s, "goal", &v))
                return dup_string(v, "sorries[].goal", &ret->goal, ret_error);
        ret->goal = strdup("");
        return ret->goal ? 0 : -ENOMEM;
}

static int parse_messages(json_object *v, LeanReply *r, char **ret_error) {
        size_t n;
        int k;

        if (!json_object_is_type(v, json_type_array))
                return lean_shape_error(ret_error, "\"messages\" is not an array");
        n = json_object_array_length(v);
        r->messages = new0(LeanMessage, n);
        if (!r->messages)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r->n_messages = i + 1; /* so done() frees a partial entry */
                k = parse_message(json_object_array_get_idx(v, i), i, &r->messages[i], ret_error);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int parse_sorries(json_object *v, LeanReply *r, char **ret_error) {
        size_t n;
        int k;

        if (!json_object_is_type(v, json_type_array))
                return lean_shape_error(ret_error, "\"sorries\" is not an array");
        n = json_object_array_length(v);
        r->sorries = new0(LeanSorry, n);
        if (!r->sorries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r->n_sorries = i + 1;
                k = parse_sorry(json_object_array_get_idx(v, i), i, &r->sorries[i], ret_error);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int reply_parse_member(LeanReply *r, const char *key, json_object *val, char **ret_error) {
        if (streq(key, "message"))
                return dup_string(val, "message", &r->repl_error, ret_error);
        if (streq(key, "env"))
                return get_index(val, "env", &r->env, ret_error);
        if (streq(key, "proofState"))
                return get_index(val, "proofState", &r->proof_state, ret_error);
        if (streq(key, "proofStatus"))
                return dup_string(val, "proofStatus", &r->proof_status, ret_error);
        if (streq(key, "messages"))
                return parse_messages(val, r, ret_error);
        if (streq(key, "sorries"))
                return parse_sorries(val, r, ret_error);
        if (streq(key, "goals"))
                return parse_strv(val, "goals", &r->goals, ret_error);
        if (streq(key, "traces"))
                return parse_strv(val, "traces", &r->traces, ret_error);
        if (streq(key, "tactics")) {
                if (!json_object_is_type(val, json_type_array))
                        return lean_shape_error(ret_error, "\"tactics\" is not an array");
                r->tactics = json_object_get(val);
                return 0;
        }
        if (streq(key, "infotree")) {
                r->infotree = json_object_get(val);
                return 0;
        }
        return json_object_object_add(r->extra, key, json_object_get(val)) < 0 ? -ENOMEM : 0;
}

int lean_reply_parse(json_object *reply, LeanReply *ret, char **ret_error) {
        static const char lean_error_prefix[] = "Lean error:\n";
        int k;

        assert(ret);

        if (ret_error)
                *ret_error = NULL;
        *ret = (LeanReply) LEAN_REPLY_INIT;
        if (!json_object_is_type(reply, json_type_object))
                return lean_shape_error(ret_error, "the reply is not a JSON object");
        ret->extra = json_object_new_object();
        if (!ret->extra)
                return -ENOMEM;

        json_object_object_foreach(reply, key, val) {
                k = reply_parse_member(ret, key, val, ret_error);
                if (k < 0)
                        return k;
        }
        if (ret->repl_error && strneq(ret->repl_error, lean_error_prefix, strlen(lean_error_prefix)))
                ret->lean_error = ret->repl_error + strlen(lean_error_prefix);
        return 0;
}

void lean_reply_done(LeanReply *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_messages; i++)
                free(r->messages[i].data);
        free(r->messages);
        for (size_t i = 0; i < r->n_sorries; i++)
                free(r->sorries[i].goal);
        free(r->sorries);
        free(r->repl_error);
        free(r->proof_status);
        strv_free(r->goals);
        strv_free(r->traces);
        json_object_put(r->tactics);
        json_object_put(r->infotree);
        json_object_put(r->extra);
        *r = (LeanReply) LEAN_REPLY_INIT;
}

size_t lean_reply_count_severity(const LeanReply *r, LeanSeverity s) {
        size_t n = 0;

        assert(r);

        for (size_t i = 0; i < r->n_messages; i++)
                if (r->messages[i].severity == s)
                        n++;
        return n;
}

bool lean_reply_has_errors(const LeanReply *r) {
        assert(r);

        return r->repl_error || lean_reply_count_severity(r, LEAN_SEVERITY_ERROR) > 0;
}

bool lean_reply_has_sorry(const LeanReply *r) {
        assert(r);

        if (r->n_sorries > 0)
                return true;
        if (r->proof_status && strstr(r->proof_status, "contains sorry"))
                return true;
        /* Lean has quoted it both as 'sorry' and `sorry` over the versions. */
        for (size_t i = 0; i < r->n_messages; i++)
                if (r->messages[i].severity == LEAN_SEVERITY_WARNING &&
                    (strstr(r->messages[i].data, "declaration uses 'sorry'") ||
                     strstr(r->messages[i].data, "declaration uses `sorry`")))
                        return true;
        return false;
}

bool lean_reply_proof_completed(const LeanReply *r) {
        assert(r);

        if (r->repl_error || r->proof_state < 0)
                return false;
        if (r->proof_status)
                return streq(r->proof_status, "Completed");
        return r->goals && strv_isempty(r->goals) && r->n_sorries == 0 &&
               lean_reply_count_severity(r, LEAN_SEVERITY_ERROR) == 0;
}

static bool pos_shift(LeanPos *p, unsigned lines) {
        if (!lean_pos_is_set(*p) || p->line == 0)
                return false;
        if (p->line <= lines) {
                *p = (LeanPos) { .line = 1, .column = 0, .set = true };
                return true;
        }
        p->line -= lines;
        return false;
}

size_t lean_reply_shift_lines(LeanReply *r, unsigned lines) {
        size_t clamped = 0;

        assert(r);

        if (lines == 0)
                return 0;
        for (size_t i = 0; i < r->n_messages; i++) {
                bool c = pos_shift(&r->messages[i].pos, lines);

                c = pos_shift(&r->messages[i].end_pos, lines) || c;
                clamped += c;
        }
        for (size_t i = 0; i < r->n_sorries; i++) {
                bool c = pos_shift(&r->sorries[i].pos, lines);

                c = pos_shift(&r->sorries[i].end_pos, lines) || c;
                clamped += c;
        }
        return clamped;
}

/* ---- tool-facing JSON ---------------------------------------------------- */

json_object *lean_pos_to_json(LeanPos p) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_add(o, "line", json_object_new_int64(p.line)) < 0 ||
            json_add(o, "column", json_object_new_int64(p.column)) < 0)
                return json_object_put(o), NULL;
        return o;
}

json_object *lean_message_to_json(const LeanMessage *m) {
        json_object *o = json_object_new_object();

        assert(m);

        if (!o)
                return NULL;
        if (json_add(o, "severity", json_object_new_string(lean_severity_to_string(m->severity))) < 0 ||
            json_add(o, "pos", lean_pos_to_json(m->pos)) < 0 ||
            (lean_pos_is_set(m->end_pos) && json_add(o, "end_pos", lean_pos_to_json(m->end_pos)) < 0) ||
            json_add(o, "data", json_object_new_string(strempty(m->data))) < 0)
                return json_object_put(o), NULL;
        return o;
}

json_object *lean_sorry_to_json(const LeanSorry *s) {
        json_object *o = json_object_new_object();

        assert(s);

        if (!o)
                return NULL;
        if ((lean_pos_is_set(s->pos) && json_add(o, "pos", lean_pos_to_json(s->pos)) < 0) ||
            (lean_pos_is_set(s->end_pos) && json_add(o, "end_pos", lean_pos_to_json(s->end_pos)) < 0) ||
            json_add(o, "goal", json_object_new_string(strempty(s->goal))) < 0 ||
            (s->proof_state >= 0 && json_add(o, "proof_state", json_object_new_int(s->proof_state)) < 0))
                return json_object_put(o), NULL;
        return o;
}

json_object *lean_reply_to_json(const LeanReply *r) {
        json_object *o = json_object_new_object(), *a;

        assert(r);

        if (!o)
                return NULL;
        if (r->env >= 0 && json_add(o, "env", json_object_new_int(r->env)) < 0)
                goto fail;

        a = json_object_new_array();
        if (json_add(o, "messages", a) < 0)
                goto fail;
        for (size_t i = 0; i < r->n_messages; i++)
                if (json_append(a, lean_message_to_json(&r->messages[i])) < 0)
                        goto fail;

        a = json_object_new_array();
        if (json_add(o, "sorries", a) < 0)
                goto fail;
        for (size_t i = 0; i < r->n_sorries; i++)
                if (json_append(a, lean_sorry_to_json(&r->sorries[i])) < 0)
                        goto fail;

        if (r->goals && json_add(o, "goals", json_strv_new(r->goals)) < 0)
                goto fail;
        if (r->proof_state >= 0 && json_add(o, "proof_state", json_object_new_int(r->proof_state)) < 0)
                goto fail;
        if (r->proof_status && json_add(o, "proof_status", json_object_new_string(r->proof_status)) < 0)
                goto fail;
        if (r->traces && json_add(o, "traces", json_strv_new(r->traces)) < 0)
                goto fail;
        if (r->tactics && json_add(o, "tactics", json_object_get(r->tactics)) < 0)
                goto fail;
        if (r->infotree && json_add(o, "infotree", json_object_get(r->infotree)) < 0)
                goto fail;
        if (r->repl_error && json_add(o, "repl_error", json_object_new_string(r->repl_error)) < 0)
                goto fail;
        if (json_add(o, "has_errors", json_object_new_boolean(lean_reply_has_errors(r))) < 0 ||
            json_add(o, "has_sorry", json_object_new_boolean(lean_reply_has_sorry(r))) < 0)
                goto fail;
        /* members a newer REPL adds pass through, never over ours */
        if (r->extra) {
                json_object_object_foreach(r->extra, key, val)
                        if (!json_object_object_get_ex(o, key, NULL) &&
                            json_object_object_add(o, key, json_object_get(val)) < 0) {
                                json_object_put(val);
                                goto fail;
                        }
        }
        return o;
fail:
        json_object_put(o);
        return NULL;
}

/* ---- the message budget --------------------------------------------------- */

/* Never less than this of a kept message's text, even past the byte budget. */
#define MESSAGE_TEXT_MIN 64

/* The text cut to at most max bytes on a UTF-8 boundary, with a marker. */
static json_object *message_cut(json_object *m, const char *data, size_t len, size_t max) {
        _cleanup_free_ char *t = NULL;
        json_object *copy;
        size_t k = max;

        while (k > 0 && ((unsigned char) data[k] & 0xC0) == 0x80)
                k--;
        if (asprintf(&t, "%.*s… [cut: %zu more bytes]", (int) k, data, len - k) < 0)
                return NULL;
        copy = json_object_new_object();
        if (!copy)
                return NULL;
        json_object_object_foreach(m, key, val)
                if (json_add(copy, key, streq(key, "data") ? json_object_new_string(t) : json_object_get(val)) < 0)
                        return json_object_put(copy), NULL;
        return copy;
}

int lean_reply_bound_messages(json_object *reply, LeanMessageBudget *b, json_object **ret_old) {
        _cleanup_free_ json_object **keep = NULL;
        _cleanup_(lean_message_index_done) LeanMessageIndex local = {};
        LeanMessageIndex *idx;
        json_object *msgs, *out;
        size_t n, kept = 0;
        bool changed = false;

        if (ret_old)
                *ret_old = NULL;
        if (!json_object_object_get_ex(reply, "messages", &msgs) || !json_object_is_type(msgs, json_type_array))
                return 0;
        n = json_object_array_length(msgs);
        b->messages_total += n;
        if (n == 0)
                return 0;
        keep = new0(json_object *, n);
        if (!keep)
                return -ENOMEM;
        /* the decoder indexed it while parsing; else index it now */
        idx = lean_message_index_get(msgs);
        if (!idx) {
                local.array = msgs;
                if (lean_message_index_update(&local) < 0)
                        return -ENOMEM;
                idx = &local;
        }

        /* Only plain arrays are walked here; a message object is touched only when kept. */
        for (int class = 0; class < _LEAN_MESSAGE_CLASS_MAX; class++)
                for (size_t i = 0; i < n; i++) {
                        json_object *m, *v;
                        size_t len, left;

                        if (idx->class[i] != class)
                                continue;
                        if (b->messages_returned >= b->max_messages) {
                                changed = true;
                                continue;
                        }
                        len = idx->len[i];
                        left = b->max_bytes > b->bytes_used ? b->max_bytes - b->bytes_used : 0;
                        m = json_object_array_get_idx(msgs, i);
                        if (len <= left)
                                keep[i] = json_object_get(m);
                        else if (left >= MESSAGE_TEXT_MIN || (class == LEAN_MESSAGE_CLASS_ERROR && b->messages_returned == 0)) {
                                /* the first error always shows, at least its start (len > 0: data is a string) */
                                len = MAX(left, (size_t) MESSAGE_TEXT_MIN);
                                if (!json_object_object_get_ex(m, "data", &v))
                                        goto oom;
                                keep[i] = message_cut(m, json_object_get_string(v), idx->len[i], len);
                                if (!keep[i])
                                        goto oom;
                                b->texts_cut++;
                                changed = true;
                        } else {
                                changed = true;
                                continue;
                        }
                        b->bytes_used += len;
                        b->messages_returned++;
                        kept++;
                }

        /* the index's job is done (json_object_deep_copy() refuses userdata it does not know) */
        if (idx != &local)
                json_object_set_userdata(msgs, NULL, NULL);

        if (!changed)
                goto done;
        b->truncated = true;
        out = json_object_new_array_ext((int) kept);
        if (!out)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                if (!keep[i])
                        continue;
                if (json_object_array_add(out, TAKE_PTR(keep[i])) < 0) {
                        json_object_put(out);
                        goto oom;
                }
                /* what is kept (or a cut copy's parts) leaves the old array,
                 * so the dropped rest shares nothing and may be freed on
                 * another thread (json-c's reference counts are not atomic) */
                if (json_object_array_put_idx(msgs, i, NULL) < 0) {
                        json_object_put(out);
                        goto oom;
                }
        }
        if (ret_old)
                *ret_old = json_object_get(msgs);
        if (json_object_object_add(reply, "messages", out) < 0) {
                json_object_put(out);
                if (ret_old) {
                        json_object_put(*ret_old);
                        *ret_old = NULL;
                }
                goto oom;
        }
done:
        for (size_t i = 0; i < n; i++)
                json_object_put(keep[i]);
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                json_object_put(keep[i]);
        return -ENOMEM;
}
