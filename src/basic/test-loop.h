/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Driving an sd-event loop from a unit test: run until a condition the
 * callbacks count up, or for a while (to see that nothing more happens). */

#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "basic/tests.h"
#include "basic/time-util.h"

/* Run e until *counter reaches want; abort (fail) after timeout. */
static inline void test_loop_run_until(sd_event *e, const unsigned *counter, unsigned want, const char *what,
                                       usec_t timeout) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;

        while (*counter < want) {
                if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        fprintf(stderr, "timed out waiting for %s\n", what);
                        abort();
                }
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
}

static inline void test_loop_run_for(sd_event *e, usec_t t) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + t;

        while (now_usec(CLOCK_MONOTONIC) < deadline)
                ASSERT_OK(sd_event_run(e, 20 * USEC_PER_MSEC));
}
