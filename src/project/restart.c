/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The restart window. Owns: RestartWindow. Must not know: the policy
 * around it, projects. */
#include "project/restart.h"

int restart_window_init(RestartWindow *w, unsigned limit, usec_t window) {
        *w = (RestartWindow) {
                .limit = limit,
                .window = window,
        };
        if (limit > 0) {
                w->events = new0(usec_t, limit);
                if (!w->events)
                        return -ENOMEM;
        }
        return 0;
}

void restart_window_done(RestartWindow *w) {
        w->events = mfree(w->events);
        w->n = w->head = 0;
}

/* Drop events that left the window (older than now - window). */
static void restart_window_prune(RestartWindow *w, usec_t now) {
        /* an event exactly window old is still inside, as in the reference (elapsed > window drops) */
        while (w->n > 0 && now > w->events[w->head] && now - w->events[w->head] > w->window) {
                w->head = (w->head + 1) % w->limit;
                w->n--;
        }
}

unsigned restart_window_count(RestartWindow *w, usec_t now) {
        restart_window_prune(w, now);
        return w->n;
}

unsigned restart_window_count_const(const RestartWindow *w, usec_t now) {
        unsigned n = 0;

        for (unsigned i = 0; i < w->n; i++) {
                usec_t t = w->events[(w->head + i) % w->limit];

                if (!(now > t && now - t > w->window))
                        n++;
        }
        return n;
}

bool restart_window_is_full(RestartWindow *w, usec_t now) {
        return restart_window_count(w, now) >= w->limit;
}

int restart_window_record(RestartWindow *w, usec_t now) {
        if (restart_window_is_full(w, now))
                return -EBUSY;
        w->events[(w->head + w->n) % w->limit] = now;
        w->n++;
        return 0;
}

usec_t restart_window_retry_after(RestartWindow *w, usec_t now) {
        usec_t oldest;

        if (!restart_window_is_full(w, now) || w->n == 0)
                return 0;
        oldest = w->events[w->head];
        /* the oldest leaves once now - oldest > window */
        return oldest + w->window + 1 > now ? oldest + w->window + 1 - now : 1;
}

void restart_window_reset(RestartWindow *w) {
        w->head = w->n = 0;
}
