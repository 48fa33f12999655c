/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "lean/message-index.h"
#include "worker/repl.h"

/* Lean's info trees nest deeply; json-c's default depth of 32 is too small. */
#define REPL_JSON_DEPTH 1024

struct ReplDecoder {
        json_tokener *tok;
        size_t max_reply_bytes;
        size_t in_value;  /* bytes of the current value fed so far, 0 = between values */
        int error;        /* sticky */
        unsigned utf8_need;           /* continuation bytes still expected */
        unsigned char utf8_lo, utf8_hi; /* allowed range of the next one */
        char error_text[256];
        /* the reply's "messages" array while it is parsed, and its index
         * (borrowed: both belong to the tree the tokener builds) */
        json_object *scan_array;
        LeanMessageIndex *scan_index;
        sd_event *event; /* releases abandoned replies in slices; NULL: at once */
};

int repl_encode_command(json_object *command, char **ret, size_t *ret_len) {
        const char *s;
        size_t len;
        char *buf;

        if (!command || !json_object_is_type(command, json_type_object))
                return -EINVAL;

        /* Compact output never contains a raw newline (strings escape it), so
         * the command is one line and the blank line after it ends it. */
        s = json_object_to_json_string_ext(command, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        len = strlen(s);
        buf = malloc(len + 3);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, s, len);
        memcpy(buf + len, "\n\n", 3);
        *ret = buf;
        if (ret_len)
                *ret_len = len + 2;
        return 0;
}

int repl_decoder_new(ReplDecoder **ret, size_t max_reply_bytes) {
        ReplDecoder *d;

        d = new0(ReplDecoder, 1);
        if (!d)
                return -ENOMEM;
        d->tok = json_tokener_new_ex(REPL_JSON_DEPTH);
        if (!d->tok) {
                free(d);
                return -ENOMEM;
        }
        /* Strict: the REPL emits standard JSON; anything json-c would merely
         * tolerate (trailing commas, single quotes) means we are off track.
         * Not JSON_TOKENER_VALIDATE_UTF8: json-c 0.16 rejects a valid
         * multi-byte sequence split across two parse calls, so we validate
         * ourselves (utf8_feed). */
        json_tokener_set_flags(d->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
        d->max_reply_bytes = max_reply_bytes > 0 ? max_reply_bytes : REPL_REPLY_MAX_DEFAULT;
        *ret = d;
        return 0;
}

void repl_decoder_set_event(ReplDecoder *d, sd_event *event) {
        assert(d);
        d->event = event;
}

ReplDecoder *repl_decoder_free(ReplDecoder *d) {
        if (!d)
                return NULL;
        if (d->tok)
                json_tokener_free(d->tok);
        return mfree(d);
}

_printf_(3, 4)
static int decoder_fail(ReplDecoder *d, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(d->error_text, sizeof d->error_text, fmt, ap);
        va_end(ap);
        d->error = error;
        d->scan_array = NULL;
        d->scan_index = NULL;
        return error;
}

/* Streaming UTF-8 check (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF). */
static bool utf8_feed(ReplDecoder *d, const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++) {
                unsigned char b = (unsigned char) buf[i];

                if (d->utf8_need > 0) {
                        if (b < d->utf8_lo || b > d->utf8_hi)
                                return false;
                        d->utf8_lo = 0x80;
                        d->utf8_hi = 0xbf;
                        d->utf8_need--;
                        continue;
                }
                if (b < 0x80)
                        continue;
                d->utf8_lo = 0x80;
                d->utf8_hi = 0xbf;
                if (b >= 0xc2 && b <= 0xdf)
                        d->utf8_need = 1;
                else if (b >= 0xe0 && b <= 0xef) {
                        d->utf8_need = 2;
                        if (b == 0xe0)
                                d->utf8_lo = 0xa0;
                        else if (b == 0xed)
                                d->utf8_hi = 0x9f;
                } else if (b >= 0xf0 && b <= 0xf4) {
                        d->utf8_need = 3;
                        if (b == 0xf0)
                                d->utf8_lo = 0x90;
                        else if (b == 0xf4)
                                d->utf8_hi = 0x8f;
                } else
                        return false;
        }
        return true;
}

/* Index the messages parsed so far, so that bounding a huge reply later is
 * cheap (src/lean/message-index.h). This looks at json-c's parser stack (the
 * struct is public in json-c 0.16/0.17, marked deprecated): while the value of
 * the reply's member "messages" is parsed, level 0 is the reply object with
 * that field name pending and level 1 is the array, which holds the elements
 * completed so far. Anything else, and no index is made: bounding then
 * classifies at the end, correct but slower. */
static void decoder_scan(ReplDecoder *d) {
        struct json_tokener_srec *top;
        json_object *a;

        if (d->tok->depth < 1)
                return;
        top = &d->tok->stack[0];
        if (!json_object_is_type(top->current, json_type_object) || !top->obj_field_name ||
            !streq(top->obj_field_name, "messages"))
                return;
        a = d->tok->stack[1].current;
        if (!json_object_is_type(a, json_type_array))
                return;
        if (a != d->scan_array || json_object_get_userdata(a) != d->scan_index) {
                if (json_object_get_userdata(a))
                        return;
                d->scan_index = lean_message_index_attach(a);
                d->scan_array = d->scan_index ? a : NULL;
                if (!d->scan_index)
                        return;
        }
        (void) lean_message_index_update(d->scan_index);
}

/* An oversized reply is abandoned: its tree (100k messages and more) is
 * dropped now, the messages array in slices rather than all at once. */
static void decoder_drop_partial(ReplDecoder *d) {
        json_object *a = NULL;

        decoder_scan(d);
        if (d->scan_array)
                a = json_object_get(d->scan_array);
        json_tokener_reset(d->tok);
        if (d->event)
                repl_release_in_slices(d->event, a);
        else
                json_object_put(a);
}

/* The reply is complete: index what the last chunk added. */
static void decoder_scan_finish(ReplDecoder *d, json_object *reply) {
        json_object *a;

        if (d->scan_array && json_object_object_get_ex(reply, "messages", &a) && a == d->scan_array &&
            json_object_get_userdata(a) == d->scan_index)
                (void) lean_message_index_update(d->scan_index);
        d->scan_array = NULL;
        d->scan_index = NULL;
}

static bool is_json_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int repl_decoder_feed(ReplDecoder *d, const char *buf, size_t n, size_t *ret_consumed, json_object **ret_reply) {
        size_t i = 0;

        *ret_consumed = 0;
        *ret_reply = NULL;

        if (d->error < 0)
                return d->error;

        if (d->in_value == 0) {
                /* Between replies: blank lines and indentation only. */
                while (i < n && is_json_space(buf[i]))
                        i++;
                if (i == n) {
                        *ret_consumed = n;
                        return 0;
                }
                if (buf[i] != '{') {
                        unsigned char c = (unsigned char) buf[i];
                        *ret_consumed = i;
                        if (c >= 0x20 && c < 0x7f)
                                return decoder_fail(d, -EPROTO, "expected a JSON object, got '%c'", c);
                        return decoder_fail(d, -EPROTO, "expected a JSON object, got byte 0x%02x", c);
                }
        }

        for (;;) {
                size_t chunk = n - i, used;
                json_object *o;
                enum json_tokener_error jerr;

                if (chunk == 0) {
                        *ret_consumed = n;
                        return 0;
                }
                /* Enforce the cap without ever handing more than it to json-c. */
                if (d->in_value + chunk > d->max_reply_bytes) {
                        chunk = d->max_reply_bytes - d->in_value;
                        if (chunk == 0) {
                                *ret_consumed = i;
                                decoder_drop_partial(d);
                                return decoder_fail(d, -EMSGSIZE, "reply larger than %zu bytes (worker.max_reply_bytes)",
                                                   d->max_reply_bytes);
                        }
                }
                if (chunk > INT32_MAX)
                        chunk = INT32_MAX;

                o = json_tokener_parse_ex(d->tok, buf + i, (int) chunk);
                jerr = json_tokener_get_error(d->tok);
                used = json_tokener_get_parse_end(d->tok);
                if (used > chunk) /* paranoia */
                        used = chunk;

                if (!utf8_feed(d, buf + i, o || jerr != json_tokener_continue ? used : chunk)) {
                        json_object_put(o);
                        *ret_consumed = i;
                        return decoder_fail(d, -EPROTO, "reply is not valid UTF-8");
                }

                if (o) {
                        i += used;
                        d->in_value = 0;
                        json_tokener_reset(d->tok);
                        decoder_scan_finish(d, o);
                        if (!json_object_is_type(o, json_type_object)) {
                                json_object_put(o);
                                *ret_consumed = i;
                                return decoder_fail(d, -EPROTO, "reply is not a JSON object");
                        }
                        *ret_consumed = i;
                        *ret_reply = o;
                        return 1;
                }
                if (jerr == json_tokener_continue) {
                        decoder_scan(d);
                        i += chunk;
                        d->in_value += chunk;
                        continue; /* loop ends or hits the cap check */
                }
                *ret_consumed = i + used;
                return decoder_fail(d, -EPROTO, "invalid JSON in reply: %s", json_tokener_error_desc(jerr));
        }
}

int repl_decoder_finish(ReplDecoder *d) {
        if (d->error < 0)
                return d->error;
        if (d->in_value > 0)
                return decoder_fail(d, -EPROTO, "stream ended inside a reply (%zu bytes)", d->in_value);
        return 0;
}

const char *repl_decoder_error(const ReplDecoder *d) {
        return d->error < 0 ? d->error_text : NULL;
}

/* ---- releasing big trees ---------------------------------------------------- */

#define RELEASE_SLICE 500

static int on_release_slice(sd_event_source *s, void *userdata) {
        json_object *a = userdata;
        size_t n = json_object_array_length(a), k = MIN(n, (size_t) RELEASE_SLICE);

        if (k > 0)
                (void) json_object_array_del_idx(a, n - k, k);
        /* glibc keeps freed pages until a trim; one trim after all 150k
         * messages walks for 40-150 ms, one per slice for well under a
         * millisecond (it sees this slice's chunks). Not on a thread: it would
         * hold the heap lock against the loop's own allocations. */
        (void) malloc_trim(0);
        if (n > k)
                return 0; /* still on: the next slice in a later iteration */
        /* Done. No longer floating, the source drops its last reference:
         * sd-event frees it after this callback, the destroy callback a. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

static void release_destroy(void *userdata) {
        json_object_put(userdata);
}

void repl_release_in_slices(sd_event *e, json_object *a) {
        sd_event_source *s = NULL;

        assert(e);
        if (!a)
                return;
        if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) <= RELEASE_SLICE ||
            sd_event_add_defer(e, &s, on_release_slice, a) < 0) {
                json_object_put(a);
                return;
        }
        (void) sd_event_source_set_destroy_callback(s, release_destroy);
        (void) sd_event_source_set_description(s, "release-reply");
        /* A defer source is one-shot: keep it on until the last slice. It
         * stays pending from its first iteration on, and sd-event dispatches
         * the oldest pending source first: at the default priority it would
         * run before every connection that became ready later (pings waited
         * 0.4-0.8 s). At idle priority every ready source goes first. */
        if (sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IDLE) < 0 ||
            sd_event_source_set_enabled(s, SD_EVENT_ON) < 0 || sd_event_source_set_floating(s, true) < 0) {
                sd_event_source_disable_unref(s); /* the destroy callback releases a at once */
                return;
        }
        /* floating: the loop holds it; a loop freed before the end (exit) still releases a */
        sd_event_source_unref(s);
}
