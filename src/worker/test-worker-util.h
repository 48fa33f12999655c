/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the worker tests record of a worker's callbacks (header only). */

#include <inttypes.h>
#include <stdio.h>

#include "basic/tests.h"
#include "worker/worker.h"

typedef struct Probe {
        unsigned n_ready, n_reply, n_dead, n_sample;
        json_object *reply;
        RestartCause cause;
        char reason[256];
        uint64_t rss_kib, limit_kib;
        bool in_call; /* set around calls that must not call on_dead synchronously */
        char source[16];
} Probe;

static inline void probe_note_reply(Probe *p, json_object *reply) {
        json_object_put(p->reply);
        p->reply = json_object_get(reply);
        p->n_reply++;
}

static inline void probe_note_dead(Probe *p, RestartCause cause, const char *reason, uint64_t rss_kib,
                                   uint64_t limit_kib) {
        p->n_dead++;
        p->cause = cause;
        snprintf(p->reason, sizeof p->reason, "%s", reason ?: "");
        p->rss_kib = rss_kib;
        p->limit_kib = limit_kib;
        fprintf(stderr, "  on_dead: %s (%s) rss=%" PRIu64 " limit=%" PRIu64 "\n", restart_cause_to_string(cause),
                p->reason, rss_kib, limit_kib);
}
