/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-project restart window: at most `limit` abnormal restarts within
 * `window`; past it the project cools down until the oldest event leaves the
 * window. Pure (time is passed in) so it is unit-tested without a loop. */

#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"

typedef struct RestartWindow {
        usec_t *events;   /* ring of monotonic timestamps, oldest at head */
        unsigned head, n;
        unsigned limit;
        usec_t window;
} RestartWindow;

int restart_window_init(RestartWindow *w, unsigned limit, usec_t window);
void restart_window_done(RestartWindow *w);

unsigned restart_window_count(RestartWindow *w, usec_t now);
/* The same without pruning (for const snapshots). */
unsigned restart_window_count_const(const RestartWindow *w, usec_t now);
bool restart_window_is_full(RestartWindow *w, usec_t now);

/* Record an abnormal restart at now. 0 if allowed (recorded); -EBUSY if the
 * window is already full: the restart must not happen (not recorded). */
int restart_window_record(RestartWindow *w, usec_t now);

/* While full: time until the oldest event leaves the window (> 0); else 0. */
usec_t restart_window_retry_after(RestartWindow *w, usec_t now);

/* Forget every event (an operator's restart or stop). */
void restart_window_reset(RestartWindow *w);
