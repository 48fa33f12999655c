/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

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
                                return decoder_fail(d, -EMSGSIZE, "reply larger than %zu bytes", d->max_reply_bytes);
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

size_t repl_decoder_pending(const ReplDecoder *d) {
        return d->in_value;
}
