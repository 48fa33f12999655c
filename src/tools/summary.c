/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* content[0].text of a tool result: what a model or a person needs at a
 * glance — the answer (Lean's messages, or the result's small fields), the
 * error, and only notable runtime facts (a restart, a retry, memory near a
 * tier). The full result is in structuredContent and is not repeated. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "tools/envelope.h"

/* Bounds of the text: a summary, never a second copy of the result. */
#define SUMMARY_MAX 4096
#define SUMMARY_MESSAGE_MAX 400
#define SUMMARY_MESSAGES_MAX 20
#define SUMMARY_INLINE_JSON_MAX 600
#define SUMMARY_FIELD_MAX 200
/* Memory at or above this share of the post-job tier is worth a mention. */
#define SUMMARY_MEMORY_NOTABLE_PERCENT 80

typedef struct Text {
        FILE *f;
        char *buf;
        size_t len;
} Text;

static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int64_t member_int(json_object *o, const char *key) {
        json_object *v = member(o, key);

        return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

/* At most max bytes of s, cut on a UTF-8 boundary, with "…" when cut. */
static void put_cut(FILE *f, const char *s, size_t len, size_t max) {
        if (len <= max) {
                fwrite(s, 1, len, f);
                return;
        }
        while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80)
                max--;
        fwrite(s, 1, max, f);
        fputs("…", f);
}

static void put_facts(FILE *f, json_object *body) {
        json_object *rt = member(body, "runtime"), *cr;
        int64_t retries, mem, high;

        if (!rt)
                return;
        if (json_object_get_boolean(member(rt, "worker_restarted"))) {
                cr = member(rt, "call_restart");
                fprintf(f, "\nworker restarted during this call%s%s", cr ? ": " : "",
                        cr ? json_object_get_string(member(cr, "cause")) : "");
        }
        retries = member_int(rt, "retry_count");
        if (retries > 0)
                fprintf(f, "\nretried %" PRIi64 " time%s on a fresh worker", retries, retries == 1 ? "" : "s");
        mem = member_int(rt, "anon_kib");
        if (mem < 0)
                mem = member_int(rt, "rss_kib");
        high = member_int(rt, "memory_high_kib");
        if (mem > 0 && high > 0 && mem * 100 >= high * SUMMARY_MEMORY_NOTABLE_PERCENT)
                fprintf(f, "\nworker memory %" PRIi64 " MiB, near the post-job tier of %" PRIi64
                        " MiB (the worker is recycled past it)", mem / 1024, high / 1024);
}

static bool is_message_list(json_object *a) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return false;
        n = json_object_array_length(a);
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(a, i);
                if (!member(m, "severity") || !member(m, "data"))
                        return false;
        }
        return true;
}

static void put_messages(FILE *f, json_object *result, json_object *body) {
        json_object *msgs = member(result, "messages");
        size_t n = json_object_array_length(msgs), counts[3] = {}, shown = 0;

        for (size_t i = 0; i < n; i++) {
                const char *sev = json_object_get_string(member(json_object_array_get_idx(msgs, i), "severity"));
                counts[streq(sev, "error") ? 0 : streq(sev, "warning") ? 1 : 2]++;
        }
        if (n == 0)
                fputs("ok: no messages", f);
        else
                fprintf(f, "%s: %zu error%s, %zu warning%s, %zu info%s", counts[0] > 0 ? "errors" : "ok",
                        counts[0], counts[0] == 1 ? "" : "s", counts[1], counts[1] == 1 ? "" : "s",
                        counts[2], counts[2] == 1 ? "" : "s");
        if (json_object_get_boolean(member(result, "has_sorry")))
                fputs(", uses sorry", f);
        if (member(result, "proof_status"))
                fprintf(f, ", proof %s", json_object_get_string(member(result, "proof_status")));
        if (json_object_get_boolean(member(body, "truncated")))
                fprintf(f, " (messages cut to %" PRIi64 " of %" PRIi64 ")", member_int(body, "messages_returned"),
                        member_int(body, "messages_total"));

        for (size_t i = 0; i < n && shown < SUMMARY_MESSAGES_MAX && ftell(f) < SUMMARY_MAX; i++, shown++) {
                json_object *m = json_object_array_get_idx(msgs, i), *d = member(m, "data"), *pos = member(m, "pos");

                fprintf(f, "\n%s", json_object_get_string(member(m, "severity")));
                if (pos)
                        fprintf(f, " %" PRIi64 ":%" PRIi64, member_int(pos, "line"), member_int(pos, "column"));
                fputs(": ", f);
                put_cut(f, json_object_get_string(d), (size_t) json_object_get_string_len(d), SUMMARY_MESSAGE_MAX);
        }
        if (shown < n)
                fprintf(f, "\n… %zu more message%s in structuredContent", n - shown, n - shown == 1 ? "" : "s");
}

/* A result of another shape: itself when short, else its small fields. */
static void put_generic(FILE *f, json_object *result) {
        const char *s;
        size_t n;
        bool first = true;

        s = json_object_to_json_string_length(result, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (s && n <= SUMMARY_INLINE_JSON_MAX) {
                fwrite(s, 1, n, f);
                return;
        }
        if (!json_object_is_type(result, json_type_object)) {
                fprintf(f, "result: %zu bytes of JSON in structuredContent", n);
                return;
        }
        json_object_object_foreach(result, key, v) {
                if (ftell(f) >= SUMMARY_MAX / 2)
                        break;
                fprintf(f, "%s%s=", first ? "" : " ", key);
                first = false;
                switch (json_object_get_type(v)) {
                case json_type_array:
                        fprintf(f, "[%zu items]", json_object_array_length(v));
                        break;
                case json_type_object:
                        fputs("{…}", f);
                        break;
                case json_type_string:
                        fputc('"', f);
                        put_cut(f, json_object_get_string(v), (size_t) json_object_get_string_len(v), SUMMARY_FIELD_MAX);
                        fputc('"', f);
                        break;
                default:
                        fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), f);
                }
        }
        fputs("\n(full result in structuredContent)", f);
}

char *tool_result_summary(json_object *body, bool is_error, void *userdata) {
        json_object *err = member(body, "error"), *result = member(body, "result");
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        if (json_object_is_type(err, json_type_object)) {
                int64_t after = member_int(err, "retry_after_ms");

                fprintf(f, "error %s", strna(json_object_get_string(member(err, "code"))));
                if (json_object_get_boolean(member(err, "retryable"))) {
                        fputs(" (retryable", f);
                        if (after > 0)
                                fprintf(f, " after %" PRIi64 " ms", after);
                        fputc(')', f);
                }
                fputs(": ", f);
                json_object *m = member(err, "message");
                if (m)
                        put_cut(f, json_object_get_string(m), (size_t) json_object_get_string_len(m), SUMMARY_MAX / 2);
        } else if (json_object_is_type(result, json_type_object) && is_message_list(member(result, "messages")))
                put_messages(f, result, body);
        else if (result)
                put_generic(f, result);
        else
                put_generic(f, body);
        put_facts(f, body);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
