/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bridge's session: stdin lines to the daemon, daemon lines to stdout,
 * and what it takes to ride out a daemon restart (the client's remembered
 * handshake, the ids in flight, reconnecting with backoff). */

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses of lean-host-mcp (also in its --help and man page). */
#define BRIDGE_EXIT_BROKEN 1      /* the stream broke: stdout gone, a line cut at the end */
#define BRIDGE_EXIT_USAGE 2
#define BRIDGE_EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE: no daemon answers at all */
#define BRIDGE_EXIT_LOST 75        /* EX_TEMPFAIL: the daemon went away and did not come back */

/* How long a lost daemon may take to come back (socket activation, a hand
 * restart) before the bridge gives up. */
#define BRIDGE_RECONNECT_USEC (30ULL * 1000 * 1000)

/* The id the bridge gives its replayed initialize, so its answer is never
 * confused with one of the client's. */
#define BRIDGE_REPLAY_ID "lean-host-mcp-replay"

typedef struct Bridge Bridge;

/* sock: a connected socket (taken over); path: where to reconnect. */
int bridge_new(Bridge **ret, int sock, const char *path, unsigned long long reconnect_usec);
Bridge *bridge_free(Bridge *b);

/* Runs until stdin ends and everything was answered, or a failure; returns
 * the exit status. */
int bridge_run(Bridge *b);

/* Prints, on stderr, what is true about a daemon that does not answer at
 * path (err: the connect() errno, 0 when it connected and closed at once)
 * and the command that fixes it. */
void bridge_print_hint(const char *path, bool explicit_path, int err);
