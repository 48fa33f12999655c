/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LhError, the structured error of a call. Owns: LhError. Must not know:
 * projects, jobs, workers. */
#include <stdarg.h>
#include <stdio.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "project/error.h"

void lh_error_set(LhError *e, const char *code, bool retryable, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        lh_error_setv(e, code, retryable, format, ap);
        va_end(ap);
}

void lh_error_setv(LhError *e, const char *code, bool retryable, const char *format, va_list ap) {
        /* overwrites all of *e, which may be uninitialised: lh_error_done() first if it held details */
        if (!e)
                return;
        /* the table's own string: one spelling, and a typo shows up here */
        if (code) {
                const char *known = lh_error_code_to_string(lh_error_code_from_string(code));
                if (known)
                        code = known;
                else
                        log_warning("BUG: tool error code \"%s\" is not in the error code table.", code);
        }
        *e = (LhError) {
                .code = code,
                .retryable = retryable,
                .restart_cause = _RESTART_CAUSE_INVALID,
        };
        if (format)
                vsnprintf(e->message, sizeof e->message, format, ap);
}

void lh_error_done(LhError *e) {
        if (!e)
                return;
        json_object_put(e->details);
        e->details = NULL;
}

static int add_nullable(json_object *o, const char *k, json_object *v) {
        if (json_object_object_add(o, k, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

json_object *lh_error_to_json(const LhError *e) {
        json_object *o;

        o = json_object_new_object();
        if (!o)
                return NULL;
        if (json_add(o, "code", json_object_new_string(e->code ?: lh_error_code_to_string(LH_ERROR_INTERNAL_ERROR))) < 0 ||
            json_add(o, "retryable", json_object_new_boolean(e->retryable)) < 0 ||
            json_add(o, "message", json_object_new_string(e->message)) < 0)
                goto fail;

        if ((e->restart_cause >= 0 && e->restart_cause < _RESTART_CAUSE_MAX) ||
            (e->code && streq(e->code, "worker_unavailable"))) {
                const char *c = restart_cause_to_string(e->restart_cause);

                if (add_nullable(o, "restart_cause", c ? json_object_new_string(c) : NULL) < 0 ||
                    add_nullable(o, "rss_kib", e->rss_kib > 0 ? json_object_new_uint64(e->rss_kib) : NULL) < 0 ||
                    add_nullable(o, "limit_kib", e->limit_kib > 0 ? json_object_new_uint64(e->limit_kib) : NULL) < 0)
                        goto fail;
        }
        if (e->code && streq(e->code, "worker_unavailable")) {
                if (json_add(o, "retry_after_ms", json_object_new_uint64(e->retry_after_ms)) < 0 ||
                    json_add(o, "restarts_in_window", json_object_new_uint64(e->restarts_in_window)) < 0)
                        goto fail;
        } else if (e->retry_after_ms > 0 &&
                   json_add(o, "retry_after_ms", json_object_new_uint64(e->retry_after_ms)) < 0)
                goto fail;

        if (e->details && json_object_is_type(e->details, json_type_object)) {
                json_object_object_foreach(e->details, k, v) {
                        /* the fixed fields win: details cannot forge the code */
                        if (json_object_object_get_ex(o, k, NULL))
                                continue;
                        if (json_add(o, k, json_object_get(v)) < 0)
                                goto fail;
                }
        }
        return o;
fail:
        json_object_put(o);
        return NULL;
}
